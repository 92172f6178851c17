//! Uploaded document photos: refused early when they are not what we take, decoded within
//! limits (a decompression bomb is refused before its pixels are allocated), turned upright
//! by their EXIF orientation, and re-encoded so no metadata (location, device) is kept.
//! Also reads the PDF417 barcode off a licence's back.
//!
//! Everything here is synchronous and CPU-bound: callers run it on the blocking pool.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::error::LimitErrorKind;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{
    DynamicImage, GrayImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Luma, RgbImage,
};
use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::pdf417::{PDF417Reader, PDF417Writer};
use rxing::{
    BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, EncodeHints, Luma8LuminanceSource, Reader,
    Writer,
};
use thiserror::Error;

/// What an upload may be. The numbers come from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    pub max_bytes: usize,
    pub max_width: u32,
    pub max_height: u32,
    pub min_width: u32,
    pub min_height: u32,
}

/// Why an upload was refused; each is something the page can tell the person plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ImageError {
    #[error("the file is larger than allowed")]
    TooLarge,
    #[error("the picture has more pixels than allowed")]
    DimensionsTooLarge,
    #[error("the picture is too small to read")]
    TooSmall,
    #[error("the file is not a JPEG or PNG picture")]
    NotJpegOrPng,
    #[error("the picture could not be read")]
    Unreadable,
}

/// An upload that passed: upright, and re-encoded as a JPEG that carries no metadata.
pub struct CleanImage {
    /// Upright width and height (after the EXIF orientation was applied).
    pub width: u32,
    pub height: u32,
    /// The re-encoded, metadata-free file: this is what may be stored or sent to a vendor.
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    /// The upright pixels, for reading a barcode.
    pub image: DynamicImage,
}

impl std::fmt::Debug for CleanImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.bytes.len())
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// Quality of the re-encoded JPEG: high enough that a vendor's OCR and face match lose
/// nothing they need.
const REENCODE_QUALITY: u8 = 90;

/// Checks, decodes within `limits`, applies the EXIF orientation and re-encodes.
pub fn sanitize(bytes: &[u8], limits: &ImageLimits) -> Result<CleanImage, ImageError> {
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooLarge);
    }
    let format = sniff(bytes).ok_or(ImageError::NotJpegOrPng)?;
    // The decoders are meant never to panic; this makes sure a bug in one turns into a
    // refusal of that upload rather than a failed request.
    let image = catch_unwind(AssertUnwindSafe(|| decode_upright(bytes, format, limits)))
        .unwrap_or(Err(ImageError::Unreadable))?;
    let (width, height) = (image.width(), image.height());

    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, REENCODE_QUALITY)
        .encode_image(&flatten_to_rgb(&image))
        .map_err(|_| ImageError::Unreadable)?;
    Ok(CleanImage {
        width,
        height,
        bytes: out,
        content_type: "image/jpeg",
        image,
    })
}

fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else {
        None
    }
}

fn decode_upright(
    bytes: &[u8],
    format: ImageFormat,
    limits: &ImageLimits,
) -> Result<DynamicImage, ImageError> {
    // The raw image may be stored sideways (the EXIF orientation turns it), so the decoder
    // lets through either way round; the upright size is checked below.
    let longest = limits.max_width.max(limits.max_height);
    // Enough for the largest allowed picture at 16 bits per channel with alpha (PNG can
    // be); no decoder needs more.
    let max_alloc = u64::from(longest) * u64::from(longest) * 8 + (1 << 20);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(longest);
    decoder_limits.max_image_height = Some(longest);
    decoder_limits.max_alloc = Some(max_alloc);

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(map_decode_error)?;
    if decoder.total_bytes() > max_alloc {
        return Err(ImageError::DimensionsTooLarge);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (raw_width, raw_height) = decoder.dimensions();
    let (width, height) = if turns_sideways(orientation) {
        (raw_height, raw_width)
    } else {
        (raw_width, raw_height)
    };
    if width > limits.max_width || height > limits.max_height {
        return Err(ImageError::DimensionsTooLarge);
    }
    if width < limits.min_width || height < limits.min_height {
        return Err(ImageError::TooSmall);
    }
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_decode_error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn turns_sideways(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

fn map_decode_error(error: image::ImageError) -> ImageError {
    match error {
        image::ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError | LimitErrorKind::InsufficientMemory => {
                ImageError::DimensionsTooLarge
            }
            _ => ImageError::Unreadable,
        },
        _ => ImageError::Unreadable,
    }
}

/// JPEG has no alpha: transparent parts become white, as on the page they were shown on.
fn flatten_to_rgb(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = u16::from(px[3]);
        for c in 0..3 {
            let blended = (u16::from(px[c]) * alpha + 255 * (255 - alpha)) / 255;
            out[c] = blended as u8;
        }
    }
    rgb
}

/// True for a small text file (the JSON or YAML fixture the mock document vendor takes in
/// place of a photo), false for an image or any other binary.
pub fn is_probably_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}');
    !text.trim().is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

/// A phone photo's long side is usually 3000–4000 pixels; a licence barcode in it has
/// modules several pixels wide, so this much is plenty and keeps each pass quick.
const DECODE_MAX_SIDE: u32 = 2400;
/// Below this long side an image is upscaled for one more pass: thin modules blur together.
const UPSCALE_BELOW: u32 = 1600;

/// Reads the PDF417 barcode in a photo of a licence's back, `None` when none can be read.
/// Tries the picture as it is, then with another binarizer, enlarged, turned a few degrees
/// either way (phones are rarely held square) and reduced, since real photos need it.
pub fn read_pdf417(image: &DynamicImage) -> Option<String> {
    let mut gray = image.to_luma8();
    let longest = gray.width().max(gray.height());
    if longest == 0 {
        return None;
    }
    if longest > DECODE_MAX_SIDE {
        gray = scale(&gray, DECODE_MAX_SIDE as f32 / longest as f32);
    }
    if let Some(text) = decode_gray(&gray) {
        return Some(text);
    }
    let longest = gray.width().max(gray.height());
    if longest < UPSCALE_BELOW {
        if let Some(text) = decode_gray(&scale(&gray, 2.0)) {
            return Some(text);
        }
    }
    for degrees in [3.0, -3.0, 6.0, -6.0, 10.0, -10.0] {
        if let Some(text) = decode_gray(&rotate_gray(&gray, degrees)) {
            return Some(text);
        }
    }
    if longest >= 800 {
        if let Some(text) = decode_gray(&scale(&gray, 0.5)) {
            return Some(text);
        }
    }
    None
}

/// One pass: the hybrid binarizer (local thresholds, good under uneven light), then the
/// global one (better for small, sharp codes).
fn decode_gray(gray: &GrayImage) -> Option<String> {
    decode_with(gray, |source| {
        decode_bitmap(BinaryBitmap::new(HybridBinarizer::new(source)))
    })
    .or_else(|| {
        decode_with(gray, |source| {
            decode_bitmap(BinaryBitmap::new(GlobalHistogramBinarizer::new(source)))
        })
    })
}

fn decode_with(
    gray: &GrayImage,
    decode: impl Fn(Luma8LuminanceSource) -> Option<String>,
) -> Option<String> {
    let source =
        Luma8LuminanceSource::new(gray.as_raw().clone(), gray.width(), gray.height()).ok()?;
    // The reader is a port of a large Java library; a bug in it must cost this image its
    // barcode, not the request.
    catch_unwind(AssertUnwindSafe(|| decode(source)))
        .ok()
        .flatten()
        .filter(|text| !text.is_empty())
}

fn decode_bitmap<B: Binarizer>(mut bitmap: BinaryBitmap<B>) -> Option<String> {
    let hints = DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some([BarcodeFormat::PDF_417].into_iter().collect()),
        ..Default::default()
    };
    PDF417Reader::new()
        .decode_with_hints(&mut bitmap, &hints)
        .ok()
        .map(|result| result.getText().to_string())
}

fn scale(gray: &GrayImage, factor: f32) -> GrayImage {
    let w = ((gray.width() as f32 * factor).round() as u32).max(1);
    let h = ((gray.height() as f32 * factor).round() as u32).max(1);
    image::imageops::resize(gray, w, h, FilterType::Triangle)
}

/// Turns `gray` by `degrees` (counter-clockwise) about its centre with bilinear sampling,
/// on a canvas grown to hold all of it, the new corners white like paper.
pub(crate) fn rotate_gray(gray: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = (gray.width() as f32, gray.height() as f32);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let new_w = (w * cos.abs() + h * sin.abs()).ceil().max(1.0) as u32;
    let new_h = (w * sin.abs() + h * cos.abs()).ceil().max(1.0) as u32;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ncx, ncy) = (new_w as f32 / 2.0, new_h as f32 / 2.0);
    let sample = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= i64::from(gray.width()) || y >= i64::from(gray.height()) {
            255.0
        } else {
            f32::from(gray.get_pixel(x as u32, y as u32)[0])
        }
    };
    GrayImage::from_fn(new_w, new_h, |x, y| {
        let dx = x as f32 + 0.5 - ncx;
        let dy = y as f32 + 0.5 - ncy;
        // The inverse rotation: where in the source this output pixel comes from.
        let sx = cos * dx - sin * dy + cx - 0.5;
        let sy = sin * dx + cos * dy + cy - 0.5;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let top = sample(x0, y0) * (1.0 - fx) + sample(x0 + 1, y0) * fx;
        let bottom = sample(x0, y0 + 1) * (1.0 - fx) + sample(x0 + 1, y0 + 1) * fx;
        Luma([(top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8])
    })
}

/// Pixels per PDF417 module in rendered barcodes, and the quiet zone around them in
/// modules: sized so the code still reads after being reduced to 60% and JPEG-compressed.
const RENDER_MODULE_PX: u32 = 3;
const RENDER_QUIET_MODULES: u32 = 10;

/// Draws `text` as a PDF417 barcode, black on white with a quiet zone, as a PNG.
///
/// Exists for tests and fixtures (integration tests and browser walks upload a licence's
/// back); nothing in the service draws barcodes.
#[doc(hidden)]
pub fn render_pdf417_png(text: &str) -> anyhow::Result<Vec<u8>> {
    let image = render_pdf417_image(text)?;
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(
        image.as_bytes(),
        image.width(),
        image.height(),
        image.color().into(),
    )?;
    Ok(out)
}

/// The image [`render_pdf417_png`] encodes. For tests and fixtures only.
#[doc(hidden)]
pub fn render_pdf417_image(text: &str) -> anyhow::Result<DynamicImage> {
    let hints = EncodeHints {
        // AAMVA asks for error correction level 3 at least.
        ErrorCorrection: Some("3".to_string()),
        Margin: Some("0".to_string()),
        ..Default::default()
    };
    let matrix = PDF417Writer
        .encode_with_hints(text, &BarcodeFormat::PDF_417, 0, 0, &hints)
        .map_err(|e| anyhow::anyhow!("PDF417 encoding failed: {e}"))?;
    let quiet = RENDER_QUIET_MODULES * RENDER_MODULE_PX;
    let width = matrix.getWidth() * RENDER_MODULE_PX + 2 * quiet;
    let height = matrix.getHeight() * RENDER_MODULE_PX + 2 * quiet;
    let image = GrayImage::from_fn(width, height, |x, y| {
        let (mx, my) = (x.wrapping_sub(quiet), y.wrapping_sub(quiet));
        let inside = x >= quiet && y >= quiet && mx < width - 2 * quiet && my < height - 2 * quiet;
        if inside && matrix.get(mx / RENDER_MODULE_PX, my / RENDER_MODULE_PX) {
            Luma([0])
        } else {
            Luma([255])
        }
    });
    Ok(DynamicImage::ImageLuma8(image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proofing::aamva;
    use crate::proofing::aamva::tests::ALL_FIXTURES;

    fn limits() -> ImageLimits {
        ImageLimits {
            max_bytes: 10 * 1024 * 1024,
            max_width: 8000,
            max_height: 8000,
            min_width: 16,
            min_height: 16,
        }
    }

    fn jpeg_of(image: &DynamicImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&image.to_rgb8())
            .unwrap();
        out
    }

    fn png_of(image: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    /// 40 wide, 20 high: left half red, right half blue.
    fn red_blue() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        }))
    }

    /// A JPEG's APP1 Exif segment: a big-endian TIFF with one IFD holding the orientation
    /// and a camera model string, as phones write them.
    fn exif_segment(orientation: u16) -> Vec<u8> {
        let model = b"SecretPhone 9\0";
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
        tiff.extend_from_slice(&2u16.to_be_bytes()); // two entries
                                                     // Orientation: SHORT, count 1, value in the first two bytes of the field.
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]);
        // Model: ASCII, stored after the IFD.
        let model_offset = 8 + 2 + 2 * 12 + 4;
        tiff.extend_from_slice(&[0x01, 0x10, 0, 2]);
        tiff.extend_from_slice(&(model.len() as u32).to_be_bytes());
        tiff.extend_from_slice(&(model_offset as u32).to_be_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
        tiff.extend_from_slice(model);
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&tiff);
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        segment.extend_from_slice(&payload);
        segment
    }

    fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec(); // SOI
        out.extend_from_slice(&exif_segment(orientation));
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn has_app1(jpeg: &[u8]) -> bool {
        jpeg.windows(2).any(|w| w == [0xFF, 0xE1]) || jpeg.windows(4).any(|w| w == b"Exif")
    }

    #[test]
    fn exif_is_dropped_and_its_orientation_applied_to_the_pixels() {
        let with = with_exif(&jpeg_of(&red_blue(), 95), 6);
        assert!(has_app1(&with), "the upload carries EXIF");
        assert!(with.windows(11).any(|w| w == b"SecretPhone"));

        let clean = sanitize(&with, &limits()).unwrap();
        assert!(!has_app1(&clean.bytes), "no EXIF left");
        assert!(!clean.bytes.windows(11).any(|w| w == b"SecretPhone"));
        assert_eq!(clean.content_type, "image/jpeg");
        // Orientation 6: the stored picture is turned 90° clockwise to be upright, so the
        // red left half ends up on top.
        assert_eq!((clean.width, clean.height), (20, 40));
        let decoded = image::load_from_memory(&clean.bytes).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (20, 40));
        let top = decoded.get_pixel(10, 5);
        let bottom = decoded.get_pixel(10, 35);
        assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
        assert!(
            bottom[2] > 200 && bottom[0] < 60,
            "bottom is blue: {bottom:?}"
        );
    }

    #[test]
    fn without_exif_the_picture_keeps_its_orientation() {
        let clean = sanitize(&jpeg_of(&red_blue(), 95), &limits()).unwrap();
        assert_eq!((clean.width, clean.height), (40, 20));
    }

    #[test]
    fn a_png_is_accepted_and_re_encoded_as_jpeg_with_transparency_on_white() {
        let mut rgba = image::RgbaImage::from_pixel(32, 32, image::Rgba([0, 0, 0, 255]));
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        let clean = sanitize(&png_of(&DynamicImage::ImageRgba8(rgba)), &limits()).unwrap();
        assert_eq!(clean.content_type, "image/jpeg");
        assert!(clean.bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert_eq!((clean.width, clean.height), (32, 32));
    }

    #[test]
    fn an_oversized_file_is_refused_before_it_is_decoded() {
        // JPEG magic then garbage: decoding it would say Unreadable.
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
        bytes.resize(1001, 0x42);
        let small = ImageLimits {
            max_bytes: 1000,
            ..limits()
        };
        assert_eq!(sanitize(&bytes, &small).unwrap_err(), ImageError::TooLarge);
        bytes.truncate(1000);
        assert_eq!(
            sanitize(&bytes, &small).unwrap_err(),
            ImageError::Unreadable
        );
    }

    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA
        let mut crc = flate2::Crc::new();
        crc.update(&ihdr);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc.sum().to_be_bytes());
        png.extend_from_slice(&[0, 0, 0, 0]);
        png.extend_from_slice(b"IEND\xae\x42\x60\x82");
        png
    }

    #[test]
    fn a_png_claiming_huge_dimensions_is_refused_without_allocating() {
        let bomb = png_header_only(100_000, 100_000);
        assert!(bomb.len() < 100);
        assert_eq!(
            sanitize(&bomb, &limits()).unwrap_err(),
            ImageError::DimensionsTooLarge
        );
        // Inside the pixel limits but over one of the configured sides.
        let narrow = ImageLimits {
            max_width: 100,
            ..limits()
        };
        assert_eq!(
            sanitize(&png_of(&DynamicImage::new_rgb8(200, 50)), &narrow).unwrap_err(),
            ImageError::DimensionsTooLarge
        );
        assert!(sanitize(&png_of(&DynamicImage::new_rgb8(100, 50)), &narrow).is_ok());
    }

    #[test]
    fn a_tiny_picture_is_refused_as_too_small() {
        let tiny = png_of(&DynamicImage::new_rgb8(15, 40));
        assert_eq!(
            sanitize(&tiny, &limits()).unwrap_err(),
            ImageError::TooSmall
        );
        assert!(sanitize(&png_of(&DynamicImage::new_rgb8(16, 16)), &limits()).is_ok());
    }

    #[test]
    fn text_and_other_formats_are_refused_as_not_jpeg_or_png() {
        for bytes in [
            &b"{\"document\": \"fixture\"}"[..],
            b"GIF89a\x01\x00\x01\x00",
            b"",
            b"\xFF\xD8",
        ] {
            assert_eq!(
                sanitize(bytes, &limits()).unwrap_err(),
                ImageError::NotJpegOrPng
            );
        }
    }

    #[test]
    fn a_truncated_or_corrupt_file_is_unreadable_and_nothing_panics() {
        let jpeg = jpeg_of(&red_blue(), 90);
        let png = png_of(&red_blue());
        for file in [&jpeg, &png] {
            for cut in [4, 10, 30, file.len() / 3, file.len() / 2] {
                assert_eq!(
                    sanitize(&file[..cut], &limits()).unwrap_err(),
                    ImageError::Unreadable,
                    "cut at {cut} of {}",
                    file.len()
                );
            }
            // Every truncation and some corruptions: any answer but a panic.
            for cut in 0..file.len() {
                let _ = sanitize(&file[..cut], &limits());
            }
            let mut rng = aamva::tests::XorShift(7);
            for _ in 0..300 {
                let mut bytes = file.to_vec();
                let at = 3 + (rng.next() as usize) % (bytes.len() - 3);
                bytes[at] = rng.next() as u8;
                let _ = sanitize(&bytes, &limits());
            }
        }
    }

    #[test]
    fn is_probably_text_tells_a_fixture_from_a_picture() {
        assert!(is_probably_text(b"{\"given_name\": \"Ana\"}\n"));
        assert!(is_probably_text(
            "given_name: Ana\nfamily_name: Núñez\n".as_bytes()
        ));
        assert!(is_probably_text(b"\xEF\xBB\xBFkey: value\r\n"));
        assert!(!is_probably_text(&jpeg_of(&red_blue(), 80)));
        assert!(!is_probably_text(&png_of(&red_blue())));
        assert!(!is_probably_text(b"   \n"));
        assert!(!is_probably_text(b"abc\0def"));
    }

    fn parsed(text: &str) -> aamva::Aamva {
        aamva::parse(text).unwrap()
    }

    #[test]
    fn every_fixture_reads_back_from_its_rendered_barcode_as_is_and_as_a_png_file() {
        for fixture in ALL_FIXTURES {
            let expected = parsed(fixture);
            let png = render_pdf417_png(fixture).unwrap();
            let clean = sanitize(&png, &limits()).unwrap();
            let text = read_pdf417(&clean.image).expect("rendered barcode reads");
            assert_eq!(parsed(&text), expected);
            let rendered = render_pdf417_image(fixture).unwrap();
            assert_eq!(read_pdf417(&rendered).as_deref(), Some(fixture));
        }
    }

    #[test]
    fn a_barcode_turned_a_few_degrees_still_reads() {
        for fixture in ALL_FIXTURES {
            let gray = render_pdf417_image(fixture).unwrap().to_luma8();
            for degrees in [4.0, -3.0] {
                let turned = DynamicImage::ImageLuma8(rotate_gray(&gray, degrees));
                let text = read_pdf417(&turned)
                    .unwrap_or_else(|| panic!("turned {degrees}°: {fixture:?}"));
                assert_eq!(parsed(&text), parsed(fixture));
            }
        }
    }

    #[test]
    fn a_barcode_reduced_to_60_percent_still_reads() {
        for fixture in ALL_FIXTURES {
            let gray = render_pdf417_image(fixture).unwrap().to_luma8();
            let reduced = DynamicImage::ImageLuma8(scale(&gray, 0.6));
            let text = read_pdf417(&reduced).unwrap_or_else(|| panic!("{fixture:?}"));
            assert_eq!(parsed(&text), parsed(fixture));
        }
    }

    #[test]
    fn a_barcode_photo_saved_as_a_quality_60_jpeg_still_reads() {
        for fixture in ALL_FIXTURES {
            let rendered = render_pdf417_image(fixture).unwrap().to_luma8();
            // On a grey card, as a colour JPEG, the way a phone would save it.
            let rgb = DynamicImage::ImageRgb8(RgbImage::from_fn(
                rendered.width(),
                rendered.height(),
                |x, y| {
                    let v = rendered.get_pixel(x, y)[0];
                    let v = 30 + u16::from(v) * 180 / 255;
                    image::Rgb([v as u8, v as u8, (v + 10).min(255) as u8])
                },
            ));
            let jpeg = jpeg_of(&rgb, 60);
            let clean = sanitize(&jpeg, &limits()).unwrap();
            let text = read_pdf417(&clean.image).unwrap_or_else(|| panic!("{fixture:?}"));
            assert_eq!(parsed(&text), parsed(fixture));
        }
    }

    #[test]
    fn a_picture_without_a_barcode_reads_nothing() {
        assert_eq!(read_pdf417(&red_blue()), None);
        assert_eq!(read_pdf417(&DynamicImage::new_luma8(0, 0)), None);
    }
}

//! The files pages load (the vendored U.S. Web Design System and `static/verity.css`),
//! compiled into the binary, and the operator's logo, read once at start. Each is served under
//! a URL that changes when its content does, so browsers may keep it for a year:
//!
//! - bundle files: `/static/<bundle hash>/<path under static/>`. One hash for the whole
//!   bundle keeps the relative `url(../fonts/…)` references inside the USWDS CSS working.
//! - the logo: `/static/<logo hash>/logo.<ext>`.
//!
//! Templates never write these URLs: they call `layout.asset("uswds/css/uswds.min.css")`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{LazyLock, OnceLock};

use anyhow::{bail, Context};
use bytes::Bytes;

/// `(path under static/, content)` for every file served from the bundle. A unit test checks
/// this list against the folder, so a file added there and not here (or the reverse) fails.
macro_rules! embedded {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $path)))),*]
    };
}

const BUNDLE_FILES: &[(&str, &[u8])] = embedded![
    "verity.css",
    "timezone.js",
    "webauthn.js",
    "uswds/css/uswds.min.css",
    "uswds/js/uswds.min.js",
    "uswds/fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2",
    "uswds/fonts/source-sans-pro/sourcesanspro-bold-webfont.woff2",
    "uswds/img/checkbox-indeterminate-alt.svg",
    "uswds/img/checkbox-indeterminate.svg",
    "uswds/img/correct8-alt.svg",
    "uswds/img/correct8.svg",
    "uswds/img/file-excel.svg",
    "uswds/img/file-pdf.svg",
    "uswds/img/file-video.svg",
    "uswds/img/file-word.svg",
    "uswds/img/file.svg",
    "uswds/img/icon-dot-gov.svg",
    "uswds/img/icon-https.svg",
    "uswds/img/loader.svg",
    "uswds/img/us_flag_small.png",
    "uswds/img/usa-icons-bg/check--blue-60v.svg",
    "uswds/img/usa-icons-bg/error--white.svg",
    "uswds/img/usa-icons-bg/launch--white.svg",
    "uswds/img/usa-icons/add.svg",
    "uswds/img/usa-icons/arrow_back.svg",
    "uswds/img/usa-icons/calendar_today.svg",
    "uswds/img/usa-icons/check_circle.svg",
    "uswds/img/usa-icons/close.svg",
    "uswds/img/usa-icons/error.svg",
    "uswds/img/usa-icons/expand_less.svg",
    "uswds/img/usa-icons/expand_more.svg",
    "uswds/img/usa-icons/info.svg",
    "uswds/img/usa-icons/launch.svg",
    "uswds/img/usa-icons/navigate_before.svg",
    "uswds/img/usa-icons/navigate_far_before.svg",
    "uswds/img/usa-icons/navigate_far_next.svg",
    "uswds/img/usa-icons/navigate_next.svg",
    "uswds/img/usa-icons/remove.svg",
    "uswds/img/usa-icons/search.svg",
    "uswds/img/usa-icons/unfold_more.svg",
    "uswds/img/usa-icons/warning.svg",
];

/// The largest logo accepted: a header logo is a few kilobytes; anything near this is a
/// mistake (a photo, the wrong file).
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// Hex digits of SHA-256 in a URL: enough that two versions never share one.
const HASH_HEX_LEN: usize = 12;

/// One file as served.
pub struct Asset {
    pub bytes: Bytes,
    pub content_type: &'static str,
    /// Compressed once, on first request, for text formats only (fonts and PNGs already are).
    gzip: OnceLock<Option<Bytes>>,
}

impl Asset {
    fn new(bytes: Bytes, content_type: &'static str) -> Asset {
        Asset {
            bytes,
            content_type,
            gzip: OnceLock::new(),
        }
    }

    /// Whether the response depends on `Accept-Encoding`.
    pub fn compressible(&self) -> bool {
        self.content_type.starts_with("text/") || self.content_type == "image/svg+xml"
    }

    /// The gzip form, when it is worth sending.
    pub fn gzipped(&self) -> Option<&Bytes> {
        if !self.compressible() {
            return None;
        }
        self.gzip
            .get_or_init(|| {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(&self.bytes).ok()?;
                let out = enc.finish().ok()?;
                (out.len() < self.bytes.len()).then_some(Bytes::from(out))
            })
            .as_ref()
    }
}

/// The content type for a file name, or `None` for kinds that are never served.
pub fn content_type_of(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

fn short_hash(parts: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for p in parts {
        // Length-prefixed, so moving bytes from one file to the next changes the hash.
        all.extend_from_slice(&(p.len() as u64).to_be_bytes());
        all.extend_from_slice(p);
    }
    let mut hex = hex::encode(crate::crypto::sha256(&all));
    hex.truncate(HASH_HEX_LEN);
    hex
}

struct Bundle {
    hash: String,
    files: HashMap<&'static str, Asset>,
}

static BUNDLE: LazyLock<Bundle> = LazyLock::new(|| {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut files = HashMap::new();
    for (path, bytes) in BUNDLE_FILES {
        parts.push(path.as_bytes());
        parts.push(bytes);
        // Every listed name has a known extension (the unit test checks); `octet-stream`
        // would only ever be seen if that test were skipped.
        let content_type = content_type_of(path).unwrap_or("application/octet-stream");
        files.insert(*path, Asset::new(Bytes::from_static(bytes), content_type));
    }
    Bundle {
        hash: short_hash(&parts),
        files,
    }
});

/// The URL of a bundle file, e.g. `url("verity.css")` → `/static/1a2b3c4d5e6f/verity.css`.
pub fn url(path: &str) -> String {
    format!("/static/{}/{}", BUNDLE.hash, path)
}

/// The current bundle's hash (the first segment after `/static/`).
pub fn bundle_hash() -> &'static str {
    &BUNDLE.hash
}

/// A bundle file by its path under `static/`, if it is part of the bundle.
pub fn bundle_file(path: &str) -> Option<&'static Asset> {
    BUNDLE.files.get(path)
}

/// The operator's logo (`site_logo`), checked and read once at start.
pub struct SiteLogo {
    pub hash: String,
    /// `logo.png`, `logo.svg` or `logo.jpg`.
    pub name: String,
    pub asset: Asset,
}

impl SiteLogo {
    /// Reads and checks the file: a PNG, SVG or JPEG by both its name and its content, at most
    /// [`MAX_LOGO_BYTES`]. Any problem stops the start with a message naming the setting.
    pub fn load(path: &Path) -> anyhow::Result<SiteLogo> {
        let shown = path.display();
        let ext = logo_extension(path)?;
        let bytes = std::fs::read(path)
            .with_context(|| format!("site_logo (VERITY_SITE_LOGO): cannot read {shown}"))?;
        if bytes.len() > MAX_LOGO_BYTES {
            bail!(
                "site_logo (VERITY_SITE_LOGO): {shown} is {} bytes; a logo may be at most {} bytes",
                bytes.len(),
                MAX_LOGO_BYTES
            );
        }
        let (looks_right, kind) = match ext {
            "png" => (bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG"),
            "jpg" => (bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG"),
            _ => (
                std::str::from_utf8(&bytes).is_ok_and(|t| t.contains("<svg")),
                "an SVG",
            ),
        };
        if !looks_right {
            bail!("site_logo (VERITY_SITE_LOGO): {shown} is named .{ext} but isn't {kind} image");
        }
        let name = format!("logo.{ext}");
        let content_type = content_type_of(&name).unwrap_or("application/octet-stream");
        Ok(SiteLogo {
            hash: short_hash(&[&bytes]),
            name,
            asset: Asset::new(Bytes::from(bytes), content_type),
        })
    }

    pub fn url(&self) -> String {
        format!("/static/{}/{}", self.hash, self.name)
    }
}

/// `png`, `svg` or `jpg` (for .jpg and .jpeg), from the file name; anything else is refused.
pub fn logo_extension(path: &Path) -> anyhow::Result<&'static str> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok("png"),
        Some("svg") => Ok("svg"),
        Some("jpg") | Some("jpeg") => Ok("jpg"),
        _ => bail!(
            "site_logo (VERITY_SITE_LOGO): {} must be a .png, .svg or .jpg file",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                files_under(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    #[test]
    fn the_bundle_is_exactly_the_static_folder_less_its_notes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut on_disk = Vec::new();
        files_under(&root, "", &mut on_disk);
        // Licence and version notes stay in the repository; they aren't page assets.
        on_disk.retain(|f| !f.ends_with(".md"));
        on_disk.sort();
        let mut listed: Vec<String> = BUNDLE_FILES.iter().map(|(p, _)| p.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "BUNDLE_FILES in src/assets.rs vs static/");
        for (path, _) in BUNDLE_FILES {
            assert!(content_type_of(path).is_some(), "{path} has a served type");
        }
    }

    #[test]
    fn every_asset_a_template_asks_for_is_in_the_bundle() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut asked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("html") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("asset(\"").skip(1) {
                let name = piece.split('"').next().unwrap();
                assert!(
                    bundle_file(name).is_some(),
                    "{} asks for {name}, which isn't in the bundle",
                    path.display()
                );
                asked += 1;
            }
            assert!(
                !text.contains("/static/"),
                "{}: asset URLs come from layout.asset(…)",
                path.display()
            );
        }
        assert!(
            asked >= 2,
            "base.html loads the stylesheets through asset()"
        );
    }

    #[test]
    fn urls_carry_the_bundle_hash_and_text_is_compressed() {
        let hash = bundle_hash();
        assert_eq!(hash.len(), HASH_HEX_LEN);
        assert_eq!(url("verity.css"), format!("/static/{hash}/verity.css"));
        let css = bundle_file("uswds/css/uswds.min.css").unwrap();
        assert!(css.gzipped().unwrap().len() < css.bytes.len() / 4);
        let font = bundle_file("uswds/fonts/source-sans-pro/sourcesanspro-bold-webfont.woff2");
        assert!(
            font.unwrap().gzipped().is_none(),
            "fonts are already compressed"
        );
    }

    #[test]
    fn a_logo_must_be_what_its_name_says() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let svg = write(
            "logo.SVG",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
        );
        let logo = SiteLogo::load(&svg).unwrap();
        assert_eq!(logo.name, "logo.svg");
        assert_eq!(logo.asset.content_type, "image/svg+xml");
        assert!(logo.url().ends_with("/logo.svg"));
        let png = write("a.png", b"\x89PNG\r\n\x1a\nrest");
        assert_eq!(SiteLogo::load(&png).unwrap().name, "logo.png");
        let jpeg = write("a.jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]);
        assert_eq!(SiteLogo::load(&jpeg).unwrap().name, "logo.jpg");

        for (name, bytes, says) in [
            ("logo.gif", &b"GIF89a"[..], "must be a .png, .svg or .jpg"),
            ("fake.png", &b"<svg></svg>"[..], "isn't a PNG image"),
            ("fake.svg", &b"\x89PNG\r\n\x1a\n"[..], "isn't an SVG image"),
        ] {
            let err = SiteLogo::load(&write(name, bytes)).err().unwrap();
            assert!(format!("{err:#}").contains(says), "{name}: {err:#}");
        }
        let big = write("big.svg", &vec![b' '; MAX_LOGO_BYTES + 1]);
        let err = SiteLogo::load(&big).err().unwrap();
        assert!(format!("{err:#}").contains("at most"), "{err:#}");
        let err = SiteLogo::load(&dir.path().join("missing.png"))
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("cannot read"), "{err:#}");
    }
}

//! The verify-by-mail letter as PDF, for a print vendor: one US Letter page per letter, set in
//! the PDF reader's built-in Helvetica (no font is embedded) with WinAnsiEncoding, so the
//! accented letters of Spanish and other Latin-script names print; a character WinAnsi doesn't
//! have prints as `?`. Content streams are left uncompressed (a few hundred bytes a page), so
//! the text can be searched in the file itself.
//!
//! Pure layout: the words come from the caller ([`PrintedLetter`]), already in the person's
//! language.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

/// One letter's words, in the order they are printed.
#[derive(Debug, Clone, Default)]
pub struct PrintedLetter {
    /// Top left: who the letter is from (the site's name).
    pub sender: String,
    /// Top right: the day it is printed, as the person reads dates.
    pub date: String,
    /// The address block, for a window envelope: the name, the street lines, the city line.
    pub address: Vec<String>,
    pub heading: String,
    /// Paragraphs before the code.
    pub intro: Vec<String>,
    /// The code as printed (grouped).
    pub code: String,
    /// Paragraphs after the code: until when it works, where to enter it.
    pub after: Vec<String>,
    /// Where to enter the code, printed in bold on its own line.
    pub link: String,
    /// The last paragraph (for someone who didn't ask for a letter).
    pub footer: String,
}

// US Letter, one-inch margins.
const PAGE_WIDTH: f32 = 612.0;
const PAGE_HEIGHT: f32 = 792.0;
const MARGIN: f32 = 72.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

#[derive(Clone, Copy)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }
    fn widths(self) -> &'static [u16; 224] {
        match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        }
    }
}

/// `text` in WinAnsiEncoding: line breaks and other control characters as spaces, characters
/// it doesn't have as `?`.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| {
            let u = u32::from(c);
            match u {
                0x20..=0x7E | 0xA0..=0xFF => u as u8,
                _ if c.is_control() || c.is_whitespace() => b' ',
                _ => WIN_ANSI_HIGH
                    .iter()
                    .find(|(scalar, _)| *scalar == u)
                    .map_or(b'?', |(_, code)| *code),
            }
        })
        .collect()
}

/// The width of WinAnsi `bytes` at `size` points.
fn width(bytes: &[u8], font: Font, size: f32) -> f32 {
    let table = font.widths();
    let units: u32 = bytes
        .iter()
        .map(|b| {
            usize::from(*b)
                .checked_sub(0x20)
                .and_then(|i| table.get(i))
                .map_or(0, |w| u32::from(*w))
        })
        .sum();
    units as f32 * size / 1000.0
}

/// Greedy line breaking at spaces; a word wider than the line is cut where it must be.
fn wrap(text: &[u8], font: Font, size: f32, max: f32) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split(|b| *b == b' ').filter(|w| !w.is_empty()) {
        let mut candidate = line.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if width(&candidate, font, size) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for b in word {
            line.push(*b);
            if width(&line, font, size) > max && line.len() > 1 {
                let last = line.pop().unwrap_or(b'?');
                lines.push(std::mem::replace(&mut line, vec![last]));
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Writes text downwards from a cursor.
struct Page {
    content: Content,
    y: f32,
}

impl Page {
    fn text_at(&mut self, x: f32, y: f32, font: Font, size: f32, bytes: &[u8]) {
        self.content
            .begin_text()
            .set_font(font.resource(), size)
            .next_line(x, y)
            .show(Str(bytes))
            .end_text();
    }

    /// One line at the left margin, then the cursor moves down by `leading`.
    fn line(&mut self, font: Font, size: f32, leading: f32, text: &str) {
        let bytes = win_ansi(text);
        self.text_at(MARGIN, self.y, font, size, &bytes);
        self.y -= leading;
    }

    /// A paragraph wrapped to the text width, then a blank half line.
    fn paragraph(&mut self, font: Font, size: f32, text: &str) {
        let leading = size * 1.4;
        for line in wrap(&win_ansi(text), font, size, TEXT_WIDTH) {
            self.text_at(MARGIN, self.y, font, size, &line);
            self.y -= leading;
        }
        self.y -= leading / 2.0;
    }
}

/// Lays out one letter's page.
fn page(letter: &PrintedLetter) -> Content {
    let mut p = Page {
        content: Content::new(),
        y: PAGE_HEIGHT - MARGIN,
    };
    // The sender on the left, the date on the right, on the first line.
    let top = p.y;
    p.line(Font::Bold, 14.0, 14.0, &letter.sender);
    let date = win_ansi(&letter.date);
    let date_x = PAGE_WIDTH - MARGIN - width(&date, Font::Regular, 11.0);
    p.text_at(date_x, top, Font::Regular, 11.0, &date);
    // The address where a #10 window envelope shows it (about 2 inches from the top).
    p.y = PAGE_HEIGHT - 150.0;
    for line in &letter.address {
        p.line(Font::Regular, 12.0, 15.0, line);
    }
    p.y = (PAGE_HEIGHT - 290.0).min(p.y - 40.0);
    p.line(Font::Bold, 16.0, 28.0, &letter.heading);
    for text in &letter.intro {
        p.paragraph(Font::Regular, 11.0, text);
    }
    // The code, large and boxed.
    let code = win_ansi(&letter.code);
    let size = 30.0;
    let code_width = width(&code, Font::Bold, size);
    let box_height = size + 24.0;
    p.y -= 6.0;
    p.content
        .set_line_width(1.5)
        .rect(MARGIN, p.y - box_height, TEXT_WIDTH, box_height);
    p.content.stroke();
    let x = MARGIN + ((TEXT_WIDTH - code_width) / 2.0).max(0.0);
    p.text_at(x, p.y - box_height + 14.0, Font::Bold, size, &code);
    p.y -= box_height + 28.0;
    for text in &letter.after {
        p.paragraph(Font::Regular, 11.0, text);
    }
    let link = win_ansi(&letter.link);
    for line in wrap(&link, Font::Bold, 13.0, TEXT_WIDTH) {
        p.text_at(MARGIN, p.y, Font::Bold, 13.0, &line);
        p.y -= 18.0;
    }
    p.y -= 18.0;
    p.paragraph(Font::Regular, 9.0, &letter.footer);
    p.content
}

/// The letters as one PDF, a page each (a PDF without pages when there are none).
pub fn render(letters: &[PrintedLetter], title: &str) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let ids: Vec<(Ref, Ref)> = (0..letters.len() as i32)
        .map(|i| (Ref::new(6 + 2 * i), Ref::new(7 + 2 * i)))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().map(|(page, _)| *page))
        .count(ids.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(pdf_writer::TextStr(title))
        .producer(pdf_writer::TextStr("Verity"));
    for (letter, (page_id, content_id)) in letters.iter().zip(&ids) {
        let mut page_writer = pdf.page(*page_id);
        page_writer
            .parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .contents(*content_id);
        page_writer
            .resources()
            .fonts()
            .pair(Font::Regular.resource(), regular)
            .pair(Font::Bold.resource(), bold);
        drop(page_writer);
        let content = page(letter).finish();
        pdf.stream(*content_id, &content);
    }
    pdf.finish()
}

// Generated from the Adobe AFM metrics (Helvetica, Helvetica-Bold), in 1/1000 em, for the
// WinAnsiEncoding codes 0x20..=0xFF (0 where the code is undefined).
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
    0, 556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, 0, 222, 222,
    333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, 278, 333, 556, 556, 556, 556,
    260, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 578, 537, 278, 333,
    333, 365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667,
    278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667,
    611, 556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, 556, 556,
    556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    0, 556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, 0, 278, 278,
    500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, 278, 333, 556, 556, 556, 556,
    280, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 611, 556, 278, 333,
    333, 365, 556, 834, 834, 834, 611, 722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667,
    278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667,
    611, 556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, 611, 611,
    611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];
/// WinAnsiEncoding's 0x80..=0x9F: (Unicode scalar, code).
const WIN_ANSI_HIGH: [(u32, u8); 27] = [
    (0x20AC, 0x80),
    (0x201A, 0x82),
    (0x0192, 0x83),
    (0x201E, 0x84),
    (0x2026, 0x85),
    (0x2020, 0x86),
    (0x2021, 0x87),
    (0x02C6, 0x88),
    (0x2030, 0x89),
    (0x0160, 0x8A),
    (0x2039, 0x8B),
    (0x0152, 0x8C),
    (0x017D, 0x8E),
    (0x2018, 0x91),
    (0x2019, 0x92),
    (0x201C, 0x93),
    (0x201D, 0x94),
    (0x2022, 0x95),
    (0x2013, 0x96),
    (0x2014, 0x97),
    (0x02DC, 0x98),
    (0x2122, 0x99),
    (0x0161, 0x9A),
    (0x203A, 0x9B),
    (0x0153, 0x9C),
    (0x017E, 0x9E),
    (0x0178, 0x9F),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_letters_print_and_others_become_question_marks() {
        assert_eq!(win_ansi("Peña"), b"Pe\xF1a");
        assert_eq!(win_ansi("¿Ñandú?"), b"\xBF\xD1and\xFA?");
        assert_eq!(win_ansi("“€—”"), b"\x93\x80\x97\x94");
        assert_eq!(win_ansi("Łódź 東"), b"?\xF3d? ?");
        assert_eq!(win_ansi("a\nb\tc"), b"a b c");
    }

    #[test]
    fn widths_follow_helvetica_and_lines_fit() {
        assert_eq!(width(b"A", Font::Regular, 1000.0), 667.0);
        assert_eq!(width(b"A", Font::Bold, 1000.0), 722.0);
        let text = win_ansi(&"palabra ".repeat(60));
        let lines = wrap(&text, Font::Regular, 11.0, TEXT_WIDTH);
        assert!(lines.len() > 3);
        for line in &lines {
            assert!(width(line, Font::Regular, 11.0) <= TEXT_WIDTH);
        }
        let long = vec![b'W'; 200];
        let cut = wrap(&long, Font::Regular, 11.0, TEXT_WIDTH);
        assert!(cut.len() > 1);
        assert_eq!(cut.iter().map(Vec::len).sum::<usize>(), 200);
    }

    #[test]
    fn one_page_per_letter_with_the_text_searchable() {
        let letter = PrintedLetter {
            sender: "Verity".into(),
            date: "5 de enero de 2027".into(),
            address: vec![
                "JOSÉ PEÑA".into(),
                "1 MAIN ST".into(),
                "RICHMOND, VA 23219".into(),
            ],
            heading: "Su código".into(),
            intro: vec!["Texto.".into()],
            code: "ABCDE FGHJK".into(),
            after: vec!["Válido hasta el 4 de febrero de 2027.".into()],
            link: "https://id.example/verify/letter".into(),
            footer: "¿No fue usted?".into(),
        };
        let pdf = render(&[letter.clone(), letter], "Letters");
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.matches("/Type /Page").count() - text.matches("/Type /Pages").count(),
            2
        );
        assert!(text.contains("(ABCDE FGHJK) Tj"));
        // Accented lines are written as hex strings of their WinAnsi bytes.
        assert!(text.contains("<4A4F53C9205045D141> Tj"), "JOSÉ PEÑA");
        assert!(text.contains("/WinAnsiEncoding"));
        assert!(!text.contains("/FlateDecode"));
        assert!(render(&[], "None").starts_with(b"%PDF-"));
    }
}

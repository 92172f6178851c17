//! The text of every OAuth `error_description` Verity sends.
//!
//! RFC 6749 §5.2 / Appendix A.7 allow only `%x20-21 / %x23-5B / %x5D-7E` in it: printable
//! ASCII without `"` and `\`. [`ErrorDescription`] is the only way to make one, and it
//! replaces anything outside that set, so input a client sent (a URI, a scope, a parser's
//! message quoting the body) can't carry other characters out. Descriptions should still name
//! the offending parameter (e.g. `redirect_uris[2]`) rather than quote it.

use serde::Serialize;

/// Longest description sent; a longer one is cut.
const MAX_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorDescription(String);

/// Whether RFC 6749 allows this character in `error_description`.
pub fn allowed(c: char) -> bool {
    matches!(c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl ErrorDescription {
    pub fn new(text: impl AsRef<str>) -> ErrorDescription {
        let clean: String = text
            .as_ref()
            .chars()
            .take(MAX_CHARS)
            .map(|c| match c {
                c if allowed(c) => c,
                '"' => '\'',
                '\\' => '/',
                _ => '?',
            })
            .collect();
        ErrorDescription(clean)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ErrorDescription {
    fn from(text: &str) -> ErrorDescription {
        ErrorDescription::new(text)
    }
}

impl From<String> for ErrorDescription {
    fn from(text: String) -> ErrorDescription {
        ErrorDescription::new(text)
    }
}

impl std::fmt::Display for ErrorDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rfc_6749_characters_get_out() {
        let d = ErrorDescription::new("redirect URI \"https://x/é\\\" \u{7}\n ok");
        assert!(d.as_str().chars().all(allowed), "{d}");
        assert_eq!(d.as_str(), "redirect URI 'https://x/?/' ?? ok");
        assert_eq!(
            ErrorDescription::new("x".repeat(1000)).as_str().len(),
            MAX_CHARS
        );
    }
}

//! Cursor pagination: a cursor is the opaque base64url of the last item's sort key, so a
//! page never shifts when rows are added before it.

use serde::Serialize;

use crate::admin::{Outcome, Problem};
use crate::config::Settings;

/// What the caller asked for, checked.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// The sort key of the last item already seen.
    pub after: Option<Vec<String>>,
    pub limit: i64,
}

/// `limit` and `cursor` as sent (strings, so a bad value is named rather than rejected by
/// the query parser). The OpenAPI document states the configured maximum; above it is a 400.
pub fn page_request(
    settings: &Settings,
    cursor: Option<&str>,
    limit: Option<&str>,
) -> Outcome<PageRequest> {
    let s = &settings.support;
    let max = i64::from(s.page_size_max.max(1));
    let limit = match limit.map(str::trim) {
        None => i64::from(s.page_size_default).clamp(1, max),
        // `?limit=` names no number: malformed, like any other non-number.
        Some("") => {
            return Err(Problem::invalid(
                "limit",
                format!("limit must be a whole number from 1 to {max}"),
            ))
        }
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => {
            // All digits but too long for a number is simply "more than the maximum".
            let n = text.parse::<i64>().unwrap_or(i64::MAX);
            if !(1..=max).contains(&n) {
                return Err(Problem::invalid(
                    "limit",
                    format!("limit must be from 1 to {max}"),
                ));
            }
            n
        }
        Some(_) => {
            return Err(Problem::invalid(
                "limit",
                format!("limit must be a whole number from 1 to {max}"),
            ))
        }
    };
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            Problem::invalid(
                "cursor",
                "cursor is not one this API handed out; start again without it",
            )
        })?),
    };
    Ok(PageRequest { after, limit })
}

pub fn encode_cursor(key: &[&str]) -> String {
    crate::crypto::b64url(serde_json::json!(key).to_string().as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Option<Vec<String>> {
    if cursor.len() > 1024 {
        return None;
    }
    let bytes = crate::crypto::b64url_decode(cursor)?;
    let key: Vec<String> = serde_json::from_slice(&bytes).ok()?;
    // Cursors are ours: ids and timestamps, never control characters.
    let sane = !key.is_empty() && key.iter().all(|k| !k.chars().any(char::is_control));
    sane.then_some(key)
}

/// One page of results.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Builds a page from rows fetched with `limit + 1`: the extra row only says there is more.
pub fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> Vec<String>) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next_cursor = if more {
        rows.last().map(|last| {
            let k = key(last);
            encode_cursor(&k.iter().map(String::as_str).collect::<Vec<_>>())
        })
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_named() {
        let settings = Settings::default();
        let c = encode_cursor(&["2026-01-01T00:00:00", "abc"]);
        let req = page_request(&settings, Some(&c), Some("10")).unwrap();
        assert_eq!(req.after.unwrap(), vec!["2026-01-01T00:00:00", "abc"]);
        assert_eq!(req.limit, 10);
        let nul = crate::crypto::b64url(br#"["a\u0000b"]"#);
        for bad in ["%%%", "bm90IGpzb24", "W10", &nul] {
            match page_request(&settings, Some(bad), None) {
                Err(Problem::Invalid { field, .. }) => assert_eq!(field.as_deref(), Some("cursor")),
                other => panic!("{bad}: {other:?}"),
            }
        }
        for bad in ["0", "-1", "ten", "1.5", "", " "] {
            match page_request(&settings, None, Some(bad)) {
                Err(Problem::Invalid { field, .. }) => assert_eq!(field.as_deref(), Some("limit")),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let max = i64::from(settings.support.page_size_max);
        assert_eq!(
            page_request(&settings, None, Some(&max.to_string()))
                .unwrap()
                .limit,
            max
        );
        for over in [(max + 1).to_string(), "99999999999999999999999".to_string()] {
            match page_request(&settings, None, Some(&over)) {
                Err(Problem::Invalid { field, .. }) => {
                    assert_eq!(field.as_deref(), Some("limit"), "{over}")
                }
                other => panic!("{over}: {other:?}"),
            }
        }
        let default = page_request(&settings, None, None).unwrap();
        assert_eq!(default.limit, i64::from(settings.support.page_size_default));
    }
}

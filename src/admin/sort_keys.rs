//! Sort keys in cursors: timestamps written so they sort and parse back exactly (to the
//! nanosecond on SQLite, the microsecond on PostgreSQL — whatever the row held).

use chrono::NaiveDateTime;

use crate::admin::pagination::PageRequest;
use crate::admin::{Outcome, Problem};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

pub fn time_key(t: NaiveDateTime) -> String {
    t.format(FORMAT).to_string()
}

/// The `(timestamp, id)` a page starts after, if any; a cursor of another shape is refused
/// naming `cursor`.
pub fn time_and_id(page: &PageRequest) -> Outcome<Option<(NaiveDateTime, String)>> {
    let Some(key) = &page.after else {
        return Ok(None);
    };
    let bad = || {
        Problem::invalid(
            "cursor",
            "cursor is not one this API handed out for this list; start again without it",
        )
    };
    match key.as_slice() {
        [at, id] => {
            let at = NaiveDateTime::parse_from_str(at, FORMAT).map_err(|_| bad())?;
            Ok(Some((at, id.clone())))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_exactly() {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 123_456_789)
            .unwrap()
            .naive_utc();
        let page = PageRequest {
            after: Some(vec![time_key(t), "id-1".into()]),
            limit: 10,
        };
        assert_eq!(time_and_id(&page).unwrap(), Some((t, "id-1".to_string())));
        for junk in [vec!["yesterday".to_string(), "x".into()], vec![time_key(t)]] {
            let page = PageRequest {
                after: Some(junk),
                limit: 10,
            };
            assert!(matches!(
                time_and_id(&page),
                Err(Problem::Invalid { field: Some(f), .. }) if f == "cursor"
            ));
        }
    }
}

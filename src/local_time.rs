//! Times as a person reads them: in their time zone (the one their browser reported, else the
//! one remembered on their account, else the site's `default_time_zone`), written the way
//! their language writes dates. Everything is stored in UTC; only pages convert.

use chrono::{Locale, NaiveDateTime};
use chrono_tz::Tz;

use crate::i18n::Lang;

/// An IANA time-zone name (`America/Chicago`) as a zone; None for anything else (a cookie is
/// whatever the client sent).
pub fn parse_zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    name.parse::<Tz>().ok()
}

/// The site's `default_time_zone` (checked at start; UTC should it ever not parse).
pub fn site_default(settings: &crate::config::Settings) -> Tz {
    parse_zone(&settings.default_time_zone).unwrap_or(Tz::UTC)
}

/// How one page writes times: a zone and a language.
#[derive(Clone, Copy, Debug)]
pub struct LocalTime {
    pub zone: Tz,
    pub lang: Lang,
}

impl LocalTime {
    pub fn new(zone: Tz, lang: Lang) -> LocalTime {
        LocalTime { zone, lang }
    }

    fn locale(&self) -> Locale {
        match self.lang {
            Lang::En => Locale::en_US,
            Lang::Es => Locale::es_US,
        }
    }

    /// A moment: "March 5, 2026, 3:04 PM EST" / "5 de marzo de 2026, 3:04 p. m. EST".
    pub fn date_time(&self, utc: NaiveDateTime) -> String {
        let local = utc.and_utc().with_timezone(&self.zone);
        match self.lang {
            Lang::En => local
                .format_localized("%B %-d, %Y, %-I:%M %p %Z", self.locale())
                .to_string(),
            // US Spanish writes a 12-hour clock with "a. m." / "p. m.", which the locale
            // data leaves empty.
            Lang::Es => {
                use chrono::Timelike;
                let half = if local.hour() < 12 { "a. m." } else { "p. m." };
                format!(
                    "{} {half} {}",
                    local.format_localized("%-d de %B de %Y, %-I:%M", self.locale()),
                    local.format("%Z")
                )
            }
        }
    }

    /// A day: "March 5, 2026" / "5 de marzo de 2026".
    pub fn date(&self, utc: NaiveDateTime) -> String {
        let pattern = match self.lang {
            Lang::En => "%B %-d, %Y",
            Lang::Es => "%-d de %B de %Y",
        };
        utc.and_utc()
            .with_timezone(&self.zone)
            .format_localized(pattern, self.locale())
            .to_string()
    }

    /// The zone's IANA name, to say which zone the times are in.
    pub fn zone_name(&self) -> &'static str {
        self.zone.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn times_are_written_in_the_zone_and_the_language() {
        let chicago = parse_zone("America/Chicago").unwrap();
        let utc = at("2026-03-05 21:04:00");
        assert_eq!(
            LocalTime::new(chicago, Lang::En).date_time(utc),
            "March 5, 2026, 3:04 PM CST"
        );
        assert_eq!(
            LocalTime::new(chicago, Lang::Es).date_time(utc),
            "5 de marzo de 2026, 3:04 p. m. CST"
        );
        // Summer time, and a day that differs from UTC's.
        let late = at("2026-07-01 03:30:00");
        assert_eq!(
            LocalTime::new(chicago, Lang::En).date(late),
            "June 30, 2026"
        );
        assert_eq!(
            LocalTime::new(chicago, Lang::Es).date(late),
            "30 de junio de 2026"
        );
        assert_eq!(
            LocalTime::new(chicago, Lang::En).date_time(late),
            "June 30, 2026, 10:30 PM CDT"
        );
        assert_eq!(
            LocalTime::new(chicago, Lang::Es).date_time(at("2026-07-01 14:05:00")),
            "1 de julio de 2026, 9:05 a. m. CDT"
        );
    }

    #[test]
    fn only_iana_zone_names_are_zones() {
        assert_eq!(
            parse_zone(" Europe/Madrid ").map(|z| z.name()),
            Some("Europe/Madrid")
        );
        assert_eq!(parse_zone("UTC").map(|z| z.name()), Some("UTC"));
        for bad in [
            "",
            "Mars/Olympus",
            "EST5EDT;drop",
            "../../etc/passwd",
            &"A".repeat(100),
        ] {
            assert!(parse_zone(bad).is_none(), "{bad}");
        }
    }
}

//! The person's time zone: `static/timezone.js` (a bundle asset) puts the browser's IANA zone in
//! the `verity_tz` cookie; pages that show times read it, check it (`local_time::parse_zone`)
//! and, when signed in, remember it on the account. An unknown or missing zone falls back to
//! the account's, then to the site's `default_time_zone`.

use actix_web::HttpRequest;

use crate::error::AppError;
use crate::local_time::{parse_zone, LocalTime};
use crate::web::browser::Browser;
use crate::Ctx;

/// Set by `static/timezone.js`.
pub const TZ_COOKIE: &str = "verity_tz";

/// The zone the browser reported, if it is a real one. The script may percent-encode it.
pub fn reported_zone(req: &HttpRequest) -> Option<chrono_tz::Tz> {
    let cookie = req.cookie(TZ_COOKIE)?;
    let raw = cookie.value();
    if raw.len() > 200 {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    parse_zone(&decoded)
}

/// How this request's page writes times: its language, and the person's zone.
pub async fn local_time(
    ctx: &Ctx,
    req: &HttpRequest,
    browser: &Browser,
) -> Result<LocalTime, AppError> {
    let user = browser.session.as_ref().map(|s| s.user_id.as_str());
    let zone = crate::accounts::console::time_zone(ctx, user, reported_zone(req)).await?;
    Ok(LocalTime::new(zone, browser.lang))
}

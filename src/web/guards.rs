//! Guards by construction: a handler states what it needs in its arguments, and the extractor
//! refuses before the handler runs.
//!
//! - [`SignedIn`]: a signed-in session, or a redirect to `/login?next=…` that comes back here.
//! - [`CsrfForm<T>`]: a form whose `csrf` field was verified against this browser (and
//!   session) before `T` is even parsed. The only way handlers read forms.
//! - [`SensitiveChange`]: signed in, and [`step_up::check`] passed: a full sign-in within the
//!   step-up window, not confirmed by a phone that can't vouch for the change. Otherwise a
//!   redirect to `/step-up?return_to=…`, the same everywhere ([`step_up_redirect`]).
//! - [`safe_return_path`]: the one parser for every `next` / `return_to` target.
//!
//! `tests/it/routes.rs` walks [`super::ROUTES`] and fails when a POST route lacks the CSRF
//! check or an `/account` route lacks the sign-in guard.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;

use crate::accounts::sessions::Session;
use crate::accounts::step_up::{self, SteppedUp};
use crate::error::AppError;
use crate::web::auth::see_other;
use crate::web::browser::Browser;
use crate::web::common::enc;
use crate::Ctx;

/// The name of the CSRF field in every form.
pub const CSRF_FIELD: &str = "csrf";

fn refuse(response: HttpResponse) -> actix_web::Error {
    InternalError::from_response("refused by a guard", response).into()
}

/// Where to come back to after signing in or stepping up: this page when it is one people can
/// be sent to; for a form post, the nearest page up its path (`/account/phones/change/decision`
/// → `/account/phones/change`, `/account/emails/add` → `/account`).
fn back_here(req: &HttpRequest) -> Option<String> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
        if let Some(back) = safe_return_path(here) {
            return Some(back);
        }
    }
    let mut path = req.path();
    while !path.is_empty() {
        if let Some(back) = safe_return_path(path) {
            return Some(back);
        }
        path = path
            .rsplit_once('/')
            .map(|(parent, _)| parent)
            .unwrap_or("");
    }
    None
}

pub fn sign_in_redirect(next: Option<&str>) -> HttpResponse {
    match next {
        Some(next) => see_other(&format!("/login?next={}", enc(next))),
        None => see_other("/login"),
    }
}

/// The one refusal for a change that needs a (new) step-up.
pub fn step_up_redirect(return_to: &str) -> HttpResponse {
    let back = safe_return_path(return_to).unwrap_or_else(|| "/account".into());
    see_other(&format!("/step-up?return_to={}", enc(&back)))
}

/// A browser with a signed-in session.
pub struct SignedIn {
    pub browser: Browser,
    pub session: Session,
}

impl FromRequest for SignedIn {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<SignedIn, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let browser = Browser::from_request(req, payload);
        let back = back_here(req);
        Box::pin(async move {
            let browser = browser.await?;
            match browser.session.clone() {
                Some(session) => Ok(SignedIn { browser, session }),
                None => Err(refuse(sign_in_redirect(back.as_deref()))),
            }
        })
    }
}

/// Signed in, and allowed to make a sensitive change right now.
pub struct SensitiveChange {
    pub browser: Browser,
    pub stepped_up: SteppedUp,
}

impl SensitiveChange {
    pub fn session(&self) -> &Session {
        self.stepped_up.session()
    }
}

impl FromRequest for SensitiveChange {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<SensitiveChange, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload);
        let ctx = req.app_data::<web::Data<Ctx>>().cloned();
        let back = back_here(req).unwrap_or_else(|| "/account".into());
        Box::pin(async move {
            let SignedIn { browser, session } = signed_in.await?;
            let ctx =
                ctx.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
            match step_up::check(&ctx, &session)
                .await
                .map_err(AppError::Internal)?
            {
                step_up::Check::Allowed(stepped_up) => Ok(SensitiveChange {
                    browser,
                    stepped_up,
                }),
                step_up::Check::NeedsStepUp | step_up::Check::NeedsOtherFactor => {
                    Err(refuse(step_up_redirect(&back)))
                }
            }
        })
    }
}

/// A urlencoded form whose CSRF token was checked before `T` was parsed.
pub struct CsrfForm<T>(pub T);

impl<T> CsrfForm<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for CsrfForm<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<CsrfForm<T>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let browser = Browser::from_request(req, &mut Payload::None);
        // The app's FormConfig applies: size limit, content type, the error page.
        let pairs = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        Box::pin(async move {
            let browser = browser.await?;
            let pairs = pairs.await?.into_inner();
            let presented = pairs
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.as_str());
            browser.check_csrf(presented)?;
            let encoded = serde_urlencoded::to_string(&pairs).map_err(|e| form_unreadable(&e))?;
            let form =
                serde_urlencoded::from_str::<T>(&encoded).map_err(|e| form_unreadable(&e))?;
            Ok(CsrfForm(form))
        })
    }
}

/// A `multipart/form-data` upload (the identity documents and the selfie) whose CSRF field
/// was checked before any file was read: the form puts `csrf` first, and a request whose
/// first part isn't a valid `csrf` is refused without reading further. Sizes are bounded: each
/// file by `proofing.image_max_bytes`, each text field by 4 KiB, at most 8 parts.
pub struct CsrfUpload {
    pub fields: Vec<(String, String)>,
    /// (field name, bytes) of each file part, empty files left out.
    pub files: Vec<(String, Vec<u8>)>,
    /// A file was larger than the limit (its field name): the page says so.
    pub too_large: Option<String>,
}

impl CsrfUpload {
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn take_file(&mut self, name: &str) -> Option<Vec<u8>> {
        let i = self.files.iter().position(|(k, _)| k == name)?;
        Some(self.files.swap_remove(i).1)
    }
}

const UPLOAD_TEXT_MAX: usize = 4096;
const UPLOAD_MAX_PARTS: usize = 8;

impl FromRequest for CsrfUpload {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<CsrfUpload, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        use futures_util::StreamExt;
        let browser = Browser::from_request(req, &mut Payload::None);
        let max_file = req
            .app_data::<web::Data<Ctx>>()
            .map(|c| c.settings.proofing.image_max_bytes)
            .unwrap_or(0);
        let is_multipart = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let mut multipart = actix_multipart::Multipart::new(req.headers(), payload.take());
        Box::pin(async move {
            let browser = browser.await?;
            if !is_multipart {
                // Not an upload form at all: no CSRF token can have come with it.
                browser.check_csrf(None)?;
            }
            let mut csrf_checked = false;
            // Anything unreadable before the token was verified is refused as a CSRF failure.
            let unreadable = |e: &dyn std::fmt::Display, csrf_checked: bool| -> actix_web::Error {
                match (csrf_checked, browser.check_csrf(None)) {
                    (false, Err(csrf)) => csrf.into(),
                    _ => form_unreadable(e).into(),
                }
            };
            let mut out = CsrfUpload {
                fields: Vec::new(),
                files: Vec::new(),
                too_large: None,
            };
            let mut parts = 0;
            // The files of one form together: a licence's two sides.
            let mut budget = max_file.saturating_mul(2);
            while let Some(field) = multipart.next().await {
                let mut field = field.map_err(|e| unreadable(&e, csrf_checked))?;
                parts += 1;
                if parts > UPLOAD_MAX_PARTS {
                    return Err(unreadable(&"too many parts", csrf_checked));
                }
                let name = field.name().unwrap_or("").to_string();
                let is_file = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .is_some();
                if parts == 1 && (name != CSRF_FIELD || is_file) {
                    // No CSRF token first: refused before any file is read.
                    browser.check_csrf(None)?;
                }
                let limit = if is_file {
                    max_file.min(budget)
                } else {
                    UPLOAD_TEXT_MAX
                };
                let mut bytes: Vec<u8> = Vec::new();
                let mut over = false;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| unreadable(&e, csrf_checked))?;
                    if over {
                        continue;
                    }
                    if bytes.len() + chunk.len() > limit {
                        over = true;
                        bytes = Vec::new();
                        continue;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if is_file {
                    budget = budget.saturating_sub(bytes.len());
                    if over {
                        out.too_large.get_or_insert(name);
                    } else if !bytes.is_empty() {
                        out.files.push((name, bytes));
                    }
                } else {
                    if over {
                        return Err(unreadable(&"text field too long", csrf_checked));
                    }
                    let text =
                        String::from_utf8(bytes).map_err(|e| unreadable(&e, csrf_checked))?;
                    if parts == 1 {
                        browser.check_csrf(Some(&text))?;
                        csrf_checked = true;
                    }
                    out.fields.push((name, text));
                }
            }
            if parts == 0 {
                browser.check_csrf(None)?;
            }
            Ok(out)
        })
    }
}

/// The pages a `next` / `return_to` may lead to: the account console, the home page, and
/// back into a relying party's sign-in. Never a page that acts on a GET or carries a token.
fn is_return_target(path: &str) -> bool {
    let allowed = path == "/"
        || path == "/authorize/continue"
        || path == "/verify"
        || path.starts_with("/verify/")
        || path == "/account"
        || (path.starts_with("/account/") && path != "/account/emails/confirm")
        || path == "/referee";
    allowed
        && super::ROUTES
            .iter()
            .any(|(method, p)| *method == "get" && *p == path)
}

fn clean(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        && !s.contains("//")
}

/// The one check for return targets (`next`, `return_to`): parsed, not pattern-matched. A
/// single leading `/`, no second `/` or `\`, no control characters or whitespace (also once
/// percent-decoded), no scheme or authority, and the path must be a known page
/// ([`is_return_target`]). Returns the canonical path and query, or None.
pub fn safe_return_path(raw: &str) -> Option<String> {
    checked_local_path(raw, is_return_target)
}

/// Where the language switcher may go back to: any page a browser GETs, but not the
/// machine endpoints, the authorization endpoint itself (it would start the request again)
/// or the dev outbox. Same parsing as [`safe_return_path`].
pub fn page_return_path(raw: &str) -> Option<String> {
    let path = checked_local_path(raw, |path| {
        !super::is_machine_path(path)
            && path != "/authorize"
            && !path.starts_with("/dev/")
            && !path.starts_with("/static/")
            && super::ROUTES
                .iter()
                .any(|(method, p)| *method == "get" && route_matches(p, path))
    })?;
    // A page opened from a one-time link would be opened again, and say the link was used:
    // go home instead.
    let carries_token =
        url::form_urlencoded::parse(path.split_once('?').map_or("", |(_, q)| q).as_bytes())
            .any(|(k, _)| k == "token");
    (!carries_token).then_some(path)
}

/// Whether a route pattern (`/help/{slug}`) matches a path: `{…}` is one non-empty segment.
fn route_matches(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (pattern.split('/'), path.split('/'));
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') && !s.is_empty() => {}
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

fn checked_local_path(raw: &str, allowed: impl Fn(&str) -> bool) -> Option<String> {
    if raw.len() > 2048 || !raw.starts_with('/') || !clean(raw) {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    if !clean(&decoded) {
        return None;
    }
    let base = url::Url::parse("https://verity.invalid/").ok()?;
    let url = base.join(raw).ok()?;
    if url.origin() != base.origin()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    let path = url.path();
    if !clean(path) || !allowed(path) {
        return None;
    }
    Some(match url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    })
}

/// A form that can't be parsed: the person sees a plain refusal in their language; what was
/// wrong with it goes to the log.
pub fn form_unreadable(e: &dyn std::fmt::Display) -> AppError {
    tracing::debug!(error = %e, "unreadable form");
    AppError::refused("error-form-unreadable")
}

#[cfg(test)]
mod tests {
    use super::{page_return_path, safe_return_path};

    #[test]
    fn the_language_switcher_goes_back_to_pages_but_not_to_one_time_links() {
        assert_eq!(
            page_return_path("/help/scams").as_deref(),
            Some("/help/scams")
        );
        assert_eq!(
            page_return_path("/login?authz=abc").as_deref(),
            Some("/login?authz=abc")
        );
        assert_eq!(page_return_path("/help/").as_deref(), None);
        assert_eq!(page_return_path("/help/a/b").as_deref(), None);
        assert_eq!(page_return_path("/reset-password?token=x").as_deref(), None);
        assert_eq!(page_return_path("/not-me?a=1&token=x").as_deref(), None);
        assert_eq!(page_return_path("/authorize?client_id=x").as_deref(), None);
        assert_eq!(page_return_path("/token").as_deref(), None);
    }

    #[test]
    fn hostile_targets_are_refused() {
        for raw in [
            "/\t/evil.example/phish",
            "/\n/evil.example",
            "//evil.example",
            "/\\evil.example",
            "/%09/evil.example",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            "https://evil.example/account",
            "https:/account",
            "/account/../..//evil.example",
            "/account#x",
            "",
            "account",
        ] {
            assert_eq!(safe_return_path(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn known_pages_pass() {
        assert_eq!(safe_return_path("/").as_deref(), Some("/"));
        assert_eq!(
            safe_return_path("/account/phones/start?phone=abc").as_deref(),
            Some("/account/phones/start?phone=abc")
        );
        assert_eq!(
            safe_return_path("/authorize/continue?authz=x%2By").as_deref(),
            Some("/authorize/continue?authz=x%2By")
        );
        assert_eq!(safe_return_path("/account/emails/confirm?token=t"), None);
        assert_eq!(safe_return_path("/end-session"), None);
    }
}

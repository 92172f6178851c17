//! The `Browser` extractor: who is on the other end (browser id, session, IP, user agent)
//! and the CSRF token bound to them.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::accounts::sessions::{self, Session};
use crate::audit::Actor;
use crate::config::Settings;
use crate::crypto;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::web::pages::Layout;
use crate::Ctx;

/// A random id in a long-lived cookie, set by middleware on the first request. It binds CSRF
/// tokens and in-flight authorization requests to one browser before anyone signs in.
#[derive(Clone, Debug)]
pub struct BrowserId(pub String);

pub struct Browser {
    pub id: String,
    pub session: Option<Session>,
    pub actor: Actor,
    /// The language of the pages this request gets (see [`request_lang`]).
    pub lang: Lang,
    /// The language the request states, if any (see [`stated_lang`]).
    pub stated_lang: Option<Lang>,
    /// Path and query of this request, for the language switcher.
    here: String,
    /// The browser holds the way back to an app's sign-in (`verity_restart`, checked where
    /// it is used).
    pub has_restart: bool,
    ctx: web::Data<Ctx>,
}

impl Browser {
    /// The CSRF token for forms on this page: HMAC of the browser id and the session id, so
    /// signing in or out invalidates old forms.
    pub fn csrf_token(&self) -> String {
        csrf_token_for(&self.ctx, &self.id, self.session.as_ref())
    }

    /// Handlers don't call this: they take a `guards::CsrfForm<T>`, which does.
    /// Only [`crate::web::guards::CsrfForm`] calls this: handlers take a `CsrfForm`.
    pub(super) fn check_csrf(&self, presented: Option<&str>) -> Result<(), AppError> {
        let Some(presented) = presented.filter(|p| !p.is_empty()) else {
            return Err(AppError::Csrf);
        };
        let sid = self.session.as_ref().map(|s| s.id.as_str()).unwrap_or("");
        if crypto::mac_verify(
            &self.ctx.csrf_key,
            format!("csrf|{}|{}", self.id, sid).as_bytes(),
            presented,
        ) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }

    /// The message `key` in this request's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// The page frame, titled with the message `title_key`.
    pub fn layout_for(&self, title_key: &str) -> Layout {
        self.layout(&self.lang.t(title_key))
    }

    /// The page frame with a title already in this request's language.
    pub fn layout(&self, title: &str) -> Layout {
        Layout {
            signed_in: self.session.as_ref().map(|s| s.email.clone()),
            ..Layout::new(
                &self.ctx,
                self.lang,
                title,
                self.here.clone(),
                self.csrf_token(),
            )
        }
    }
}

/// The CSRF token of a browser id and session (see [`Browser::csrf_token`]).
pub fn csrf_token_for(ctx: &Ctx, browser_id: &str, session: Option<&Session>) -> String {
    let sid = session.map(|s| s.id.as_str()).unwrap_or("");
    crypto::mac(&ctx.csrf_key, format!("csrf|{browser_id}|{sid}").as_bytes())
}

/// The client's IP as limits and audit events see it (see [`crate::web::client_ip`]).
pub fn client_ip(req: &HttpRequest, settings: &Settings) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let resolved = if settings.trust_forwarded_for {
        let name = match settings.forwarded_header {
            crate::config::ForwardedHeader::XForwardedFor => "x-forwarded-for",
            crate::config::ForwardedHeader::Forwarded => "forwarded",
        };
        let values: Vec<&str> = req
            .headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect();
        crate::web::client_ip::resolve(
            peer,
            &values,
            settings.forwarded_header,
            &settings.trusted_proxies,
        )
    } else {
        peer
    };
    resolved
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[derive(Clone)]
pub(super) struct LookedUpSession(pub(super) Option<Session>);

/// Set at `/authorize` from the relying party's `ui_locales`: it decides the language of
/// that sign-in's pages, ahead of the person's remembered choice. A browser-session cookie.
pub const UI_LOCALES_COOKIE: &str = "verity_ui_locales";
/// The language the person chose with the switcher.
pub const LANG_COOKIE: &str = "verity_lang";

/// The language of this request's pages: the relying party's `ui_locales` for the sign-in
/// under way, then the person's choice (cookie, then account), then `Accept-Language`, then
/// English.
pub fn request_lang(req: &HttpRequest, session: Option<&Session>) -> Lang {
    stated_lang(req, session).unwrap_or_default()
}

/// The language the request states (see [`request_lang`]); None when nothing does and the
/// pages fall back to English. A sign-up stores only a stated language on the account, since
/// the account's language outranks `Accept-Language` from then on.
pub fn stated_lang(req: &HttpRequest, session: Option<&Session>) -> Option<Lang> {
    let cookie = |name| req.cookie(name).and_then(|c| Lang::parse(c.value()));
    cookie(UI_LOCALES_COOKIE)
        .or_else(|| cookie(LANG_COOKIE))
        .or_else(|| {
            session
                .and_then(|s| s.locale.as_deref())
                .and_then(Lang::parse)
        })
        .or_else(|| {
            req.headers()
                .get(actix_web::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
}

/// Path and query of a request, as a local return path.
pub fn here(req: &HttpRequest) -> String {
    match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{}", req.path(), q),
    }
}

pub fn lang_cookie(settings: &Settings, lang: Lang) -> Cookie<'static> {
    let mut c = base_cookie(settings, LANG_COOKIE, lang.tag().to_string());
    c.set_max_age(CookieDuration::days(400));
    c
}

/// Lives as long as the sign-in it came with may: an abandoned sign-in's language doesn't
/// stay on the person's other pages for the rest of the browser session.
pub fn ui_locales_cookie(settings: &Settings, lang: Lang) -> Cookie<'static> {
    let mut c = base_cookie(settings, UI_LOCALES_COOKIE, lang.tag().to_string());
    c.set_max_age(CookieDuration::seconds(
        settings.security.authorization_request_ttl_secs as i64,
    ));
    c
}

pub fn cleared_ui_locales_cookie(settings: &Settings) -> Cookie<'static> {
    let mut c = base_cookie(settings, UI_LOCALES_COOKIE, String::new());
    c.make_removal();
    c
}

impl FromRequest for Browser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Browser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<Ctx>>().cloned();
        let id = req.extensions().get::<BrowserId>().map(|b| b.0.clone());
        let req = req.clone();
        Box::pin(async move {
            let ctx =
                ctx.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
            let id = id.unwrap_or_default();
            let actor = Actor {
                ip: client_ip(&req, &ctx.settings),
                user_agent: req
                    .headers()
                    .get("user-agent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .chars()
                    .take(512)
                    .collect(),
            };
            // Several extractors of one request (a guard and a form) share one lookup.
            let cached = req.extensions().get::<LookedUpSession>().cloned();
            let session = match cached {
                Some(LookedUpSession(s)) => s,
                None => {
                    let token = req
                        .cookie(ctx.settings.session_cookie_name())
                        .map(|c| c.value().to_string());
                    let session = match token {
                        Some(t) if !t.is_empty() && t.len() <= 100 => {
                            sessions::lookup(&ctx, &t).await?
                        }
                        _ => None,
                    };
                    req.extensions_mut()
                        .insert(LookedUpSession(session.clone()));
                    session
                }
            };
            let stated_lang = stated_lang(&req, session.as_ref());
            let lang = stated_lang.unwrap_or_default();
            let here = here(&req);
            let has_restart = req
                .cookie(RESTART_COOKIE)
                .is_some_and(|c| !c.value().is_empty());
            Ok(Browser {
                id,
                session,
                actor,
                lang,
                stated_lang,
                here,
                has_restart,
                ctx,
            })
        })
    }
}

fn base_cookie(settings: &Settings, name: &'static str, value: String) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(settings.is_https());
    c
}

pub fn session_cookie(settings: &Settings, token: &str) -> Cookie<'static> {
    let mut c = base_cookie(settings, settings.session_cookie_name(), token.to_string());
    c.set_max_age(CookieDuration::seconds(
        settings.security.session_absolute_secs as i64,
    ));
    c
}

pub fn cleared_session_cookie(settings: &Settings) -> Cookie<'static> {
    let mut c = base_cookie(settings, settings.session_cookie_name(), String::new());
    c.make_removal();
    c
}

pub fn browser_cookie(settings: &Settings, id: &str) -> Cookie<'static> {
    let mut c = base_cookie(settings, settings.browser_cookie_name(), id.to_string());
    c.set_max_age(CookieDuration::days(400));
    c
}

pub const LOGIN_COOKIE: &str = "verity_login";
pub const REMEMBER_COOKIE: &str = "verity_remember";

/// Carries the id of a sign-in in progress (between password and second factor).
pub fn login_cookie(settings: &Settings, flow_id: &str) -> Cookie<'static> {
    let mut c = Cookie::new(LOGIN_COOKIE, flow_id.to_string());
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(settings.is_https());
    c.set_max_age(CookieDuration::seconds(
        settings.security.authorization_request_ttl_secs as i64,
    ));
    c
}

pub const RESTART_COOKIE: &str = "verity_restart";

/// Carries the relying party's request of a sign-in in progress, sealed
/// (`oauth::restart`), so the way back to the app survives the sign-in's state.
pub fn restart_cookie(settings: &Settings, sealed: &str) -> Cookie<'static> {
    let mut c = Cookie::new(RESTART_COOKIE, sealed.to_string());
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(settings.is_https());
    c.set_max_age(CookieDuration::seconds(
        settings.security.sign_in_restart_secs as i64,
    ));
    c
}

pub fn cleared_restart_cookie(settings: &Settings) -> Cookie<'static> {
    let mut c = restart_cookie(settings, "");
    c.make_removal();
    c
}

pub fn cleared_login_cookie(settings: &Settings) -> Cookie<'static> {
    let mut c = login_cookie(settings, "");
    c.make_removal();
    c
}

pub fn remember_cookie(settings: &Settings, value: &str) -> Cookie<'static> {
    let mut c = Cookie::new(REMEMBER_COOKIE, value.to_string());
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(settings.is_https());
    c.set_max_age(CookieDuration::days(
        settings.security.remember_browser_days as i64,
    ));
    c
}

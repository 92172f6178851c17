//! Everything that knows HTTP: routes, middleware, extractors, page structs. Handlers parse
//! input, call one flow function, and map its outcome to a page, redirect or JSON.

pub mod account;
pub mod admin;
pub mod auth;
pub mod browser;
pub mod client_ip;
pub mod common;
pub mod guards;
pub mod help;
pub mod keys;
pub mod language;
pub mod logout;
pub mod mfa;
pub mod oidc;
pub mod ops;
pub mod outage;
pub mod page_parts;
pub mod pages;
pub mod recovery;
pub mod referee;
pub mod registration;
pub mod reset;
pub mod ssf;
pub mod support;
pub mod time_zone;
pub mod verify;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpMessage, HttpServer};

use crate::config::AccessLog;
use crate::error::AppError;
use crate::web::browser::{browser_cookie, BrowserId};
use crate::Ctx;

/// Paths used by relying parties and monitors, not browsers: no browser-id cookie there.
pub(crate) fn is_machine_path(path: &str) -> bool {
    matches!(
        path,
        "/token"
            | "/userinfo"
            | "/register"
            | "/jwks.json"
            | "/healthz"
            | "/readyz"
            | "/metrics"
    ) || path.starts_with("/.well-known/")
        || path.starts_with("/admin/api/")
        || path.starts_with("/ssf/")
        // Publicly cached: a cookie there could be stored and handed to others.
        || path.starts_with("/static/")
}

/// Builds [`ROUTES`] and the function that registers them from one list, so the list the
/// route-table test walks (`tests/it/routes.rs`) is exactly what the server serves.
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path,)*) => {
        /// Every route served outside `/admin/api` (that scope has its own bearer-token
        /// extractor), as (lower-case method, path).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

// Browser pages take `SignedIn` / `SensitiveChange` / `CsrfForm<T>` (see `guards`); machine
// endpoints authenticate the client instead. `tests/it/routes.rs` checks every row.
route_table! {
    get "/" => auth::home,
    get "/terms" => auth::terms,
    get "/signup" => auth::signup_page,
    post "/signup" => auth::signup_submit,
    get "/confirm-email" => auth::confirm_email,
    post "/confirm-email" => auth::confirm_email_submit,
    get "/login" => auth::login_page,
    post "/login" => auth::login_submit,
    post "/login/passkey/options" => auth::passkey_options,
    post "/login/passkey" => auth::passkey_sign_in,
    post "/logout" => auth::logout,
    post "/language" => language::switch,
    get "/mfa" => mfa::challenge,
    post "/mfa/send" => mfa::send,
    post "/mfa/verify" => mfa::verify,
    post "/mfa/key/options" => mfa::key_options,
    post "/mfa/key" => mfa::key_verify,
    get "/mfa/setup" => mfa::setup,
    get "/mfa/setup/phone" => mfa::setup_phone_page,
    post "/mfa/setup/phone" => mfa::setup_phone_submit,
    post "/mfa/setup/phone/resend" => mfa::setup_phone_resend,
    post "/mfa/setup/phone/confirm" => mfa::setup_phone_confirm,
    post "/mfa/setup/phone/change" => mfa::setup_phone_change,
    get "/mfa/setup/totp" => mfa::setup_totp_page,
    post "/mfa/setup/totp" => mfa::setup_totp_submit,
    get "/mfa/setup/backup-codes" => mfa::setup_backup_page,
    post "/mfa/setup/backup-codes" => mfa::setup_backup_generate,
    get "/mfa/setup/backup-codes.txt" => mfa::setup_backup_download,
    post "/mfa/setup/backup-codes/done" => mfa::setup_backup_done,
    get "/mfa/setup/key" => mfa::setup_key_page,
    post "/mfa/setup/key/options" => mfa::setup_key_options,
    post "/mfa/setup/key" => mfa::setup_key_submit,
    get "/mfa/another" => mfa::another_page,
    get "/mfa/another/totp" => mfa::another_totp_page_get,
    post "/mfa/another/totp" => mfa::another_totp_submit,
    get "/account" => account::overview,
    get "/step-up" => account::step_up_page,
    post "/step-up" => account::step_up_submit,
    get "/account/phones/start" => account::phone_start,
    get "/account/phones/change" => account::phone_change_page,
    post "/account/phones/change/number" => account::phone_number_submit,
    post "/account/phones/change/resend" => account::phone_resend,
    post "/account/phones/change/code" => account::phone_code_submit,
    post "/account/phones/change/wrong-number" => account::phone_number_change,
    post "/account/phones/change/decision" => account::phone_decision,
    post "/account/phones/remove" => account::phone_remove,
    post "/account/sessions/end" => account::end_session,
    post "/account/sessions/end-others" => account::end_other_sessions,
    post "/account/apps/revoke" => account::revoke_app,
    get "/account/phones/review" => account::phone_review_page,
    post "/account/phones/review" => account::phone_review_submit,
    get "/account/password" => account::password_page_get,
    post "/account/password" => account::password_submit,
    get "/account/profile" => account::profile_get,
    post "/account/profile" => account::profile_submit,
    get "/account/totp/add" => account::totp_add_get,
    post "/account/totp/add" => account::totp_add_submit,
    post "/account/totp/remove" => account::totp_remove,
    get "/account/keys/add" => keys::add_page,
    post "/account/keys/options" => keys::add_options,
    post "/account/keys/add" => keys::add_submit,
    post "/account/keys/rename" => keys::rename,
    post "/account/keys/remove" => keys::remove,
    get "/account/activity" => account::activity,
    post "/account/activity/not-me" => account::activity_not_me,
    post "/account/emails/add" => account::email_add,
    post "/account/emails/primary" => account::email_primary,
    post "/account/emails/remove" => account::email_remove,
    get "/account/emails/confirm" => account::email_confirm,
    post "/account/emails/confirm" => account::email_confirm_submit,
    post "/account/backup-codes" => mfa::regenerate_backup_codes,
    get "/account/backup-codes" => mfa::regenerated_backup_codes,
    get "/account/backup-codes.txt" => mfa::regenerated_backup_codes_download,
    post "/account/identity/remove" => verify::remove,
    get "/verify" => verify::start_page,
    post "/verify/start" => verify::start_submit,
    post "/verify/cancel" => verify::cancel,
    get "/verify/document" => verify::document_page_get,
    post "/verify/document" => verify::document_submit,
    get "/verify/selfie" => verify::selfie_page,
    post "/verify/selfie" => verify::selfie_submit,
    get "/verify/ssn" => verify::ssn_page,
    post "/verify/ssn" => verify::ssn_submit,
    get "/verify/review" => verify::review_get,
    post "/verify/review" => verify::review_submit,
    post "/verify/address" => verify::address_submit,
    get "/verify/phone" => verify::phone_get,
    post "/verify/phone" => verify::phone_submit,
    get "/verify/phone-code" => verify::code_get,
    post "/verify/phone-code" => verify::code_submit,
    post "/verify/phone-code/resend" => verify::code_resend,
    post "/verify/phone-code/other-number" => verify::other_number,
    get "/verify/letter" => verify::letter_get,
    post "/verify/letter" => verify::letter_request,
    post "/verify/letter/code" => verify::letter_code,
    post "/verify/letter/phone-instead" => verify::letter_phone_instead,
    get "/verify/agent" => verify::agent_get,
    post "/verify/agent" => verify::agent_submit,
    post "/verify/agent/new-code" => verify::agent_new_code,
    get "/verify/protect" => verify::protect_get,
    post "/verify/protect" => verify::protect_submit,
    get "/verify/unlock" => verify::unlock_get,
    post "/verify/unlock" => verify::unlock_submit,
    get "/verify/restore" => verify::restore_get,
    post "/verify/restore" => verify::restore_submit,
    post "/verify/personal-key" => verify::new_personal_key,
    get "/verify/personal-key" => verify::personal_key_get,
    post "/verify/personal-key/saved" => verify::personal_key_saved,
    get "/verify/done" => verify::done,
    get "/referee" => referee::desk,
    post "/referee/cases/{id}/claim" => referee::claim,
    get "/referee/cases/{id}" => referee::case,
    post "/referee/cases/{id}/checks" => referee::checks,
    post "/referee/cases/{id}/decision" => referee::decide,
    post "/referee/cases/{id}/release" => referee::release,
    get "/help" => help::index,
    get "/help/{slug}" => help::article,
    get "/support" => support::form,
    post "/support" => support::submit,
    get "/mfa/lost-phone" => mfa::lost_phone,
    post "/mfa/lost-phone/account-reset" => mfa::lost_phone_account_reset,
    get "/account-reset/request" => recovery::request_get,
    post "/account-reset/request" => recovery::request_post,
    get "/account-reset" => recovery::complete_get,
    post "/account-reset" => recovery::complete_post,
    get "/forgot-password" => reset::forgot_page_get,
    post "/forgot-password" => reset::forgot_submit,
    get "/reset-password" => reset::open_link,
    get "/reset-password/new" => reset::new_password_get,
    post "/reset-password/new" => reset::new_password_submit,
    get "/not-me" => mfa::not_me_page,
    post "/not-me" => mfa::not_me_submit,
    get "/authorize" => oidc::authorize_get,
    post "/authorize" => oidc::authorize_post,
    get "/authorize/continue" => oidc::authorize_continue,
    get "/consent" => oidc::consent_page,
    post "/consent" => oidc::consent_submit,
    get "/end-session" => logout::end_session_get,
    post "/end-session" => logout::end_session_post,
    post "/end-session/confirm" => logout::end_session_confirm,
    post "/par" => oidc::par,
    post "/token" => oidc::token,
    post "/revoke" => oidc::revoke,
    post "/introspect" => oidc::introspect,
    post "/register" => registration::register,
    get "/userinfo" => oidc::userinfo,
    post "/userinfo" => oidc::userinfo,
    get "/.well-known/openid-configuration" => oidc::discovery,
    get "/jwks.json" => oidc::jwks,
    get "/.well-known/ssf-configuration" => ssf::configuration,
    post "/ssf/streams" => ssf::create_stream,
    get "/ssf/streams" => ssf::read_stream,
    patch "/ssf/streams" => ssf::update_stream,
    put "/ssf/streams" => ssf::replace_stream,
    delete "/ssf/streams" => ssf::delete_stream,
    get "/ssf/status" => ssf::read_status,
    post "/ssf/status" => ssf::update_status,
    post "/ssf/subjects/add" => ssf::add_subject,
    post "/ssf/subjects/remove" => ssf::remove_subject,
    post "/ssf/verify" => ssf::verify,
    post "/ssf/poll/{stream_id}" => ssf::poll,
    get "/healthz" => ops::healthz,
    get "/readyz" => ops::readyz,
    get "/metrics" => ops::metrics,
    get "/dev/outbox" => ops::dev_outbox,
    get "/static/{hash}/{path:.+}" => ops::static_file,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(64 * 1024)
            .error_handler(|err, _| guards::form_unreadable(&err).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| {
        tracing::debug!(error = %err, "unreadable query");
        AppError::refused("error-address-unreadable").into()
    }))
    .configure(admin::routes)
    .configure(register)
    .default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(AppError::NotFound)
    }));
}

fn security_headers(https: bool) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cache-Control", "no-store"));
    if https {
        h = h.add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ));
    }
    h
}

/// Error pages are written after the handler, by `AppError::error_response`, which can't see
/// the request: here they are rendered again in the request's language, in the site's frame.
fn localise_error_pages<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let fut = srv.call(req);
    async move {
        let res = fut.await?.map_into_boxed_body();
        let Some(err) = res
            .response()
            .error()
            .and_then(|e| e.as_error::<AppError>())
        else {
            return Ok(res);
        };
        let Some(ctx) = res.request().app_data::<web::Data<Ctx>>().cloned() else {
            return Ok(res);
        };
        let session = res
            .request()
            .extensions()
            .get::<browser::LookedUpSession>()
            .and_then(|s| s.0.clone());
        let lang = browser::request_lang(res.request(), session.as_ref());
        let (heading, message) = err.page_text(lang);
        let page = pages::ErrorPage {
            layout: pages::Layout::new(
                &ctx,
                lang,
                &heading,
                browser::here(res.request()),
                browser::csrf_token_for(
                    &ctx,
                    res.request()
                        .extensions()
                        .get::<BrowserId>()
                        .map(|b| b.0.as_str())
                        .unwrap_or(""),
                    session.as_ref(),
                ),
            ),
            heading,
            message,
        };
        let Ok(body) = askama::Template::render(&page) else {
            return Ok(res);
        };
        // Same status, headers and cookies; only the body is new.
        let (req, response) = res.into_parts();
        let response = response.set_body(actix_web::body::BoxBody::new(body));
        Ok(ServiceResponse::new(req, response))
    }
}

/// Counts and times every request in `/metrics` by its route template (never the path a
/// client sent: a path no route matches is `unmatched`), and writes the access log line that
/// `access_log` asks for: the path only, never the query string (it can carry one-time
/// tokens). Outermost, so the time includes every other middleware.
fn observe_requests<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: 'static,
{
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req.match_pattern();
    let ctx = req.app_data::<web::Data<Ctx>>().cloned();
    let span = crate::telemetry::request_span(
        crate::metrics::method_label(&method),
        route.as_deref().unwrap_or(crate::metrics::UNMATCHED),
        req.headers(),
        ctx.as_ref()
            .is_some_and(|c| c.settings.tracing.trust_traceparent),
    );
    let fut = span.in_scope(|| srv.call(req));
    async move {
        let res = fut.instrument(span.clone()).await;
        let Some(ctx) = ctx else {
            return res;
        };
        let took = started.elapsed();
        let status = match &res {
            Ok(r) => r.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        crate::telemetry::record_status(&span, status.as_u16());
        if let Some(level) = access_log_level(ctx.settings.access_log, status.as_u16()) {
            let path = res.as_ref().map(|r| r.request().path()).unwrap_or("-");
            let (method, route) = (
                crate::metrics::method_label(&method),
                route.as_deref().unwrap_or(crate::metrics::UNMATCHED),
            );
            let (status, ms) = (status.as_u16(), took.as_secs_f64() * 1000.0);
            let _in_request = span.enter();
            if level == tracing::Level::WARN {
                tracing::warn!(target: "verity::access", method, route, path, status, ms, "request");
            } else {
                tracing::info!(target: "verity::access", method, route, path, status, ms, "request");
            }
        }
        if let Ok(r) = &res {
            let work = outage::tally_of(r.request());
            ctx.metrics.request_work(
                route.as_deref(),
                &method,
                work.statements,
                work.store_commands,
            );
        }
        ctx.metrics.request(route, &method, status.as_u16(), took);
        res
    }
}

/// Whether an answer with `status` gets an access log line, and at which level: a 5xx at
/// `warn` unless the log is off, anything else at `info` only with `all`.
fn access_log_level(setting: AccessLog, status: u16) -> Option<tracing::Level> {
    match (setting, status >= 500) {
        (AccessLog::Off, _) | (AccessLog::Errors, false) => None,
        (_, true) => Some(tracing::Level::WARN),
        (AccessLog::All, false) => Some(tracing::Level::INFO),
    }
}

/// The separate listener of `metrics.listen`: `/metrics` without a token, nothing else. It
/// runs until the process ends.
fn serve_metrics_listener(data: web::Data<Ctx>, listener: TcpListener) -> anyhow::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(listen = %addr, "metrics listener (no token) is listening");
    }
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(ops::metrics_private))
            .default_service(web::to(actix_web::HttpResponse::NotFound))
    })
    .workers(1)
    .listen(listener)?
    .run();
    actix_web::rt::spawn(server);
    Ok(())
}

/// Starts the HTTP server on an already-bound listener (tests bind port 0).
pub fn serve(ctx: Ctx, listener: TcpListener) -> anyhow::Result<Server> {
    Ok(serve_with_push_worker(ctx, listener)?.0)
}

/// [`serve`], answering the push delivery worker too, so the caller can stop it cleanly once
/// the server has stopped (no Security Event Token cut off mid-send).
pub fn serve_with_push_worker(
    ctx: Ctx,
    listener: TcpListener,
) -> anyhow::Result<(Server, crate::ssf::push::PushWorker)> {
    let workers = match ctx.settings.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    // Bound before anything starts, so a taken address stops the start cleanly.
    let metrics_listener = match &ctx.settings.metrics.listen {
        Some(listen) => Some(
            TcpListener::bind(listen)
                .map_err(|e| anyhow::anyhow!("binding metrics.listen {listen}: {e}"))?,
        ),
        None => None,
    };
    crate::oauth::logout::spawn_delivery_worker(ctx.clone());
    let push = crate::ssf::push::spawn_worker(ctx.clone());
    crate::recovery::account_reset::spawn_worker(ctx.clone());
    crate::support::notices::spawn_worker(ctx.clone());
    crate::proofing::flow::spawn_housekeeping(ctx.clone());
    let data = web::Data::new(ctx);
    if let Some(listener) = metrics_listener {
        serve_metrics_listener(data.clone(), listener)?;
    }
    let server = HttpServer::new(move || {
        let settings = data.settings.clone();
        App::new()
            .app_data(data.clone())
            .wrap_fn(outage::answer_outages)
            .wrap_fn(move |req: ServiceRequest, srv| {
                let cookie_name = settings.browser_cookie_name();
                let existing = req
                    .cookie(cookie_name)
                    .map(|c| c.value().to_string())
                    .filter(|v| {
                        (16..=64).contains(&v.len())
                            && v.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    });
                let machine = is_machine_path(req.path());
                let (id, fresh) = match existing {
                    Some(id) => (id, false),
                    None => (crate::crypto::random_token(24), !machine),
                };
                req.extensions_mut().insert(BrowserId(id.clone()));
                let settings = settings.clone();
                let fut = srv.call(req);
                async move {
                    let mut res: ServiceResponse<_> = fut.await?;
                    if fresh {
                        // Failing to add a cookie only means a new one is minted next time.
                        let _ = res
                            .response_mut()
                            .add_cookie(&browser_cookie(&settings, &id));
                    }
                    Ok::<_, actix_web::Error>(res.map_body(|_, b| b.boxed()))
                }
            })
            .wrap_fn(localise_error_pages)
            .wrap(security_headers(data.settings.is_https()))
            .wrap_fn(observe_requests)
            .configure(routes)
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok((server, push))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_log_writes_what_its_setting_asks_for() {
        use tracing::Level;
        assert_eq!(access_log_level(AccessLog::Errors, 200), None);
        assert_eq!(access_log_level(AccessLog::Errors, 404), None);
        assert_eq!(access_log_level(AccessLog::Errors, 503), Some(Level::WARN));
        assert_eq!(access_log_level(AccessLog::All, 302), Some(Level::INFO));
        assert_eq!(access_log_level(AccessLog::All, 500), Some(Level::WARN));
        assert_eq!(access_log_level(AccessLog::Off, 500), None);
    }
}

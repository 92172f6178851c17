//! Everything that knows HTTP: routes, middleware, extractors, page structs. Handlers parse
//! input, call one flow function, and map its outcome to a page, redirect or JSON.

pub mod account;
pub mod admin;
pub mod auth;
pub mod browser;
pub mod common;
pub mod logout;
pub mod mfa;
pub mod oidc;
pub mod ops;
pub mod pages;
pub mod recovery;
pub mod registration;
pub mod reset;
pub mod support;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Logger};
use actix_web::{web, App, HttpMessage, HttpServer};

use crate::error::AppError;
use crate::web::browser::{browser_cookie, BrowserId};
use crate::Ctx;

/// Paths used by relying parties and monitors, not browsers: no browser-id cookie there.
fn is_machine_path(path: &str) -> bool {
    matches!(
        path,
        "/token" | "/userinfo" | "/register" | "/jwks.json" | "/healthz" | "/readyz"
    ) || path.starts_with("/.well-known/")
        || path.starts_with("/admin/api/")
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(64 * 1024)
            .error_handler(|err, _| {
                AppError::BadRequest(format!("The form could not be read: {err}")).into()
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| {
        AppError::BadRequest(format!("The address could not be read: {err}")).into()
    }))
    .configure(admin::routes)
    .route("/", web::get().to(auth::home))
    .route("/terms", web::get().to(auth::terms))
    .route("/signup", web::get().to(auth::signup_page))
    .route("/signup", web::post().to(auth::signup_submit))
    .route("/confirm-email", web::get().to(auth::confirm_email))
    .route("/confirm-email", web::post().to(auth::confirm_email_submit))
    .route("/login", web::get().to(auth::login_page))
    .route("/login", web::post().to(auth::login_submit))
    .route("/logout", web::post().to(auth::logout))
    .route("/mfa", web::get().to(mfa::challenge))
    .route("/mfa/send", web::post().to(mfa::send))
    .route("/mfa/verify", web::post().to(mfa::verify))
    .route("/mfa/setup", web::get().to(mfa::setup))
    .route("/mfa/setup/phone", web::get().to(mfa::setup_phone_page))
    .route("/mfa/setup/phone", web::post().to(mfa::setup_phone_submit))
    .route(
        "/mfa/setup/phone/resend",
        web::post().to(mfa::setup_phone_resend),
    )
    .route(
        "/mfa/setup/phone/confirm",
        web::post().to(mfa::setup_phone_confirm),
    )
    .route("/mfa/setup/totp", web::get().to(mfa::setup_totp_page))
    .route("/mfa/setup/totp", web::post().to(mfa::setup_totp_submit))
    .route(
        "/mfa/setup/backup-codes",
        web::get().to(mfa::setup_backup_page),
    )
    .route(
        "/mfa/setup/backup-codes",
        web::post().to(mfa::setup_backup_generate),
    )
    .route(
        "/mfa/setup/backup-codes.txt",
        web::get().to(mfa::setup_backup_download),
    )
    .route(
        "/mfa/setup/backup-codes/done",
        web::post().to(mfa::setup_backup_done),
    )
    .route("/account", web::get().to(account::overview))
    .route("/step-up", web::get().to(account::step_up_page))
    .route("/step-up", web::post().to(account::step_up_submit))
    .route("/account/phones/start", web::get().to(account::phone_start))
    .route(
        "/account/phones/change",
        web::get().to(account::phone_change_page),
    )
    .route(
        "/account/phones/change/number",
        web::post().to(account::phone_number_submit),
    )
    .route(
        "/account/phones/change/resend",
        web::post().to(account::phone_resend),
    )
    .route(
        "/account/phones/change/code",
        web::post().to(account::phone_code_submit),
    )
    .route(
        "/account/phones/change/decision",
        web::post().to(account::phone_decision),
    )
    .route(
        "/account/phones/remove",
        web::post().to(account::phone_remove),
    )
    .route(
        "/account/sessions/end",
        web::post().to(account::end_session),
    )
    .route(
        "/account/sessions/end-others",
        web::post().to(account::end_other_sessions),
    )
    .route("/account/apps/revoke", web::post().to(account::revoke_app))
    .route(
        "/account/phones/review",
        web::get().to(account::phone_review_page),
    )
    .route(
        "/account/phones/review",
        web::post().to(account::phone_review_submit),
    )
    .route(
        "/account/password",
        web::get().to(account::password_page_get),
    )
    .route(
        "/account/password",
        web::post().to(account::password_submit),
    )
    .route("/account/profile", web::get().to(account::profile_get))
    .route("/account/profile", web::post().to(account::profile_submit))
    .route("/account/totp/add", web::get().to(account::totp_add_get))
    .route(
        "/account/totp/add",
        web::post().to(account::totp_add_submit),
    )
    .route("/account/totp/remove", web::post().to(account::totp_remove))
    .route("/account/activity", web::get().to(account::activity))
    .route(
        "/account/activity/not-me",
        web::post().to(account::activity_not_me),
    )
    .route("/account/emails/add", web::post().to(account::email_add))
    .route(
        "/account/emails/primary",
        web::post().to(account::email_primary),
    )
    .route(
        "/account/emails/remove",
        web::post().to(account::email_remove),
    )
    .route(
        "/account/emails/confirm",
        web::get().to(account::email_confirm),
    )
    .route(
        "/account/backup-codes",
        web::post().to(mfa::regenerate_backup_codes),
    )
    .route(
        "/account/backup-codes",
        web::get().to(mfa::regenerated_backup_codes),
    )
    .route(
        "/account/backup-codes.txt",
        web::get().to(mfa::regenerated_backup_codes_download),
    )
    .route("/support", web::get().to(support::form))
    .route("/support", web::post().to(support::submit))
    .route("/mfa/lost-phone", web::get().to(mfa::lost_phone))
    .route(
        "/mfa/lost-phone/account-reset",
        web::post().to(mfa::lost_phone_account_reset),
    )
    .route(
        "/account-reset/request",
        web::get().to(recovery::request_get),
    )
    .route(
        "/account-reset/request",
        web::post().to(recovery::request_post),
    )
    .route("/account-reset", web::get().to(recovery::complete_get))
    .route("/account-reset", web::post().to(recovery::complete_post))
    .route("/forgot-password", web::get().to(reset::forgot_page_get))
    .route("/forgot-password", web::post().to(reset::forgot_submit))
    .route("/reset-password", web::get().to(reset::open_link))
    .route(
        "/reset-password/new",
        web::get().to(reset::new_password_get),
    )
    .route(
        "/reset-password/new",
        web::post().to(reset::new_password_submit),
    )
    .route("/not-me", web::get().to(mfa::not_me_page))
    .route("/not-me", web::post().to(mfa::not_me_submit))
    .route("/authorize", web::get().to(oidc::authorize_get))
    .route("/authorize", web::post().to(oidc::authorize_post))
    .route(
        "/authorize/continue",
        web::get().to(oidc::authorize_continue),
    )
    .route("/consent", web::get().to(oidc::consent_page))
    .route("/consent", web::post().to(oidc::consent_submit))
    .route("/end-session", web::get().to(logout::end_session_get))
    .route("/end-session", web::post().to(logout::end_session_post))
    .route(
        "/end-session/confirm",
        web::post().to(logout::end_session_confirm),
    )
    .route("/par", web::post().to(oidc::par))
    .route("/token", web::post().to(oidc::token))
    .route("/revoke", web::post().to(oidc::revoke))
    .route("/introspect", web::post().to(oidc::introspect))
    .route("/register", web::post().to(registration::register))
    .route("/userinfo", web::get().to(oidc::userinfo))
    .route("/userinfo", web::post().to(oidc::userinfo))
    .route(
        "/.well-known/openid-configuration",
        web::get().to(oidc::discovery),
    )
    .route("/jwks.json", web::get().to(oidc::jwks))
    .route("/healthz", web::get().to(ops::healthz))
    .route("/readyz", web::get().to(ops::readyz))
    .route("/dev/outbox", web::get().to(ops::dev_outbox))
    .route("/static/verity.css", web::get().to(ops::stylesheet))
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

/// Starts the HTTP server on an already-bound listener (tests bind port 0).
pub fn serve(ctx: Ctx, listener: TcpListener) -> anyhow::Result<Server> {
    let workers = match ctx.settings.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    crate::oauth::logout::spawn_delivery_worker(ctx.clone());
    crate::recovery::account_reset::spawn_worker(ctx.clone());
    crate::support::notices::spawn_worker(ctx.clone());
    let data = web::Data::new(ctx);
    let server = HttpServer::new(move || {
        let settings = data.settings.clone();
        App::new()
            .app_data(data.clone())
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
            .wrap(security_headers(data.settings.is_https()))
            // The path only: query strings can carry one-time tokens.
            .wrap(
                Logger::new("%{method}xi %U %s %Dms")
                    .custom_request_replace("method", |req| req.method().to_string()),
            )
            .configure(routes)
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}

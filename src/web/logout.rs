//! RP-initiated logout: `/end-session` (GET or POST), with a confirmation page when the
//! request can't be tied to this browser's session.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::accounts::sessions;
use crate::error::PageResult;
use crate::oauth::logout::{self, EndSessionCheck};
use crate::web::browser::{cleared_session_cookie, Browser};
use crate::web::guards::CsrfForm;
use crate::web::pages::*;
use crate::Ctx;

#[derive(Default)]
struct EndSessionParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

fn params(pairs: impl Iterator<Item = (String, String)>) -> EndSessionParams {
    let mut p = EndSessionParams::default();
    for (k, v) in pairs {
        match k.as_str() {
            "id_token_hint" => p.id_token_hint = Some(v),
            "client_id" => p.client_id = Some(v),
            "post_logout_redirect_uri" => p.post_logout_redirect_uri = Some(v),
            "state" => p.state = Some(v),
            _ => {}
        }
    }
    p
}

async fn signed_out(ctx: &Ctx, browser: &Browser, redirect: Option<String>) -> PageResult {
    if let Some(s) = &browser.session {
        sessions::revoke(ctx, &s.id, &browser.actor).await?;
    }
    let mut res = match &redirect {
        Some(url) => {
            let mut r = HttpResponse::SeeOther();
            r.insert_header((header::LOCATION, url.as_str()));
            r
        }
        None => HttpResponse::Ok(),
    };
    res.cookie(cleared_session_cookie(&ctx.settings));
    // The way back to an app sign-in belongs to the person signing out.
    res.cookie(crate::web::browser::cleared_restart_cookie(&ctx.settings));
    if redirect.is_some() {
        return Ok(res.finish());
    }
    let page = EndSessionPage {
        layout: crate::web::pages::Layout {
            signed_in: None,
            ..browser.layout_for("end-session-done-title")
        },
        done: true,
        client_name: None,
        client_id: String::new(),
        post_logout_redirect_uri: String::new(),
        state: String::new(),
    };
    let body =
        askama::Template::render(&page).map_err(|e| crate::error::AppError::Internal(e.into()))?;
    Ok(res.content_type("text/html; charset=utf-8").body(body))
}

async fn handle(ctx: &Ctx, browser: &Browser, p: EndSessionParams, confirmed: bool) -> PageResult {
    let check = logout::check_end_session(
        ctx,
        if confirmed {
            None
        } else {
            p.id_token_hint.as_deref()
        },
        p.client_id.as_deref(),
        p.post_logout_redirect_uri.as_deref(),
        p.state.as_deref(),
        browser.session.as_ref(),
    )
    .await?;
    match check {
        EndSessionCheck::Refused(message_key) => render_status(
            &ErrorPage {
                layout: browser.layout_for("end-session-error-title"),
                heading: browser.t("end-session-error-heading"),
                message: browser.t(message_key),
            },
            StatusCode::BAD_REQUEST,
        ),
        EndSessionCheck::Ok {
            redirect,
            hint_matches_session,
            client_name,
        } => {
            if browser.session.is_none() || hint_matches_session || confirmed {
                return signed_out(ctx, browser, redirect).await;
            }
            // We can't tell the request came from this person's app: ask first.
            render(&EndSessionPage {
                layout: browser.layout_for("end-session-ask-title"),
                done: false,
                client_name,
                client_id: p.client_id.unwrap_or_default(),
                post_logout_redirect_uri: p.post_logout_redirect_uri.unwrap_or_default(),
                state: p.state.unwrap_or_default(),
            })
        }
    }
}

pub async fn end_session_get(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
) -> PageResult {
    let p = params(url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned());
    handle(&ctx, &browser, p, false).await
}

pub async fn end_session_post(
    ctx: web::Data<Ctx>,
    browser: Browser,
    body: web::Bytes,
) -> PageResult {
    let p = params(url::form_urlencoded::parse(&body).into_owned());
    handle(&ctx, &browser, p, false).await
}

/// The confirmation page's button: its CSRF token was checked before this runs.
pub async fn end_session_confirm(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let p = params(form.into_inner().into_iter());
    handle(&ctx, &browser, p, true).await
}

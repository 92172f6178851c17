//! `POST /register`: Dynamic Client Registration (RFC 7591). The rules live in
//! `oauth::registration`; this maps its outcome to JSON.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::audit::Actor;
use crate::oauth::registration::{self, RegistrationError};
use crate::web::browser::client_ip;
use crate::Ctx;

fn error_response(e: RegistrationError) -> HttpResponse {
    if let RegistrationError::Internal(err) = &e {
        tracing::error!(error = %format!("{err:#}"), "client registration failure");
    }
    let mut res =
        HttpResponse::build(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST));
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if matches!(e, RegistrationError::InvalidToken) {
        res.insert_header((
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"verity\", error=\"invalid_token\"",
        ));
    }
    res.json(serde_json::json!({ "error": e.code(), "error_description": e.description() }))
}

pub async fn register(ctx: web::Data<Ctx>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let actor = Actor {
        ip: client_ip(&req, &ctx.settings),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(512)
            .collect(),
    };
    match registration::register(&ctx, bearer.as_deref(), &body, &actor).await {
        Ok(registered) => HttpResponse::Created()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(registered),
        Err(e) => error_response(e),
    }
}

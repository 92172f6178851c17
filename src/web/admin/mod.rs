//! `/admin/api/v1`: the management API over HTTP (JSON). Handlers are thin: authenticate
//! the agent and check its scope ([`extract::AdminAuth`]), parse ([`extract::ApiJson`],
//! `web::Query`), call one flow of `crate::admin`, map the outcome to JSON
//! ([`error::ApiError`]). See README-dev.md for adding a resource.

pub mod audit;
pub mod clients;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod keys;
pub mod notices;
pub mod openapi;
pub mod paging;
pub mod proofing;
pub mod referee;
pub mod ssf;
pub mod support;
pub mod users;

use actix_web::http::StatusCode;
use actix_web::{middleware, web, HttpResponse};

use crate::web::admin::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/api")
            .app_data(web::PayloadConfig::new(extract::BODY_LIMIT))
            .app_data(
                web::JsonConfig::default()
                    .limit(extract::BODY_LIMIT)
                    .error_handler(|err, _| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_request",
                            format!("The body can't be used: {err}."),
                        )
                        .field("body")
                        .into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("The query string can't be used: {err}."),
                )
                .field("query")
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("The address can't be used: {err}."),
                )
                .field("path")
                .into()
            }))
            .route("/openapi.json", web::get().to(openapi_json))
            .service(
                web::scope("/v1")
                    .wrap(middleware::from_fn(idempotency::layer))
                    .configure(keys::routes)
                    .configure(users::routes)
                    .configure(audit::routes)
                    .configure(clients::routes)
                    .configure(support::routes)
                    .configure(notices::routes)
                    .configure(proofing::routes)
                    .configure(referee::routes)
                    .configure(ssf::routes)
                    .default_service(web::to(not_found)),
            )
            .default_service(web::to(not_found)),
    );
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such endpoint; see /admin/api/openapi.json.",
    ))
}

/// Built per request (cheap, rarely fetched): it carries this instance's configured limits.
async fn openapi_json(ctx: web::Data<crate::Ctx>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::document(&ctx.settings))
}

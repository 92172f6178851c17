//! `/keys`: list the signing keys and rotate them.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::admin::auth::Area;
use crate::admin::keys::{self, KeyList, KeyView, RotateRequest};
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(list, rotate))]
pub struct KeysApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys/rotate", web::post().to(rotate));
}

/// Every signing key: the one signing now, the next one, and retired ones still published.
/// Public facts only; key material never leaves the database.
#[utoipa::path(get, path = "/keys", tag = "keys",
    responses((status = 200, description = "The signing keys, oldest first", body = KeyList)),
    security(("bearer" = ["verity:admin:keys"])))]
pub async fn list(ctx: web::Data<Ctx>, auth: AdminAuth) -> ApiResult<HttpResponse> {
    auth.require(Area::Keys)?;
    Ok(HttpResponse::Ok().json(keys::list(&ctx).await?))
}

/// Rotates the signing key: the new key is published at once and signs after
/// `activate_in_secs`; older keys stay published until their tokens have expired.
#[utoipa::path(post, path = "/keys/rotate", tag = "keys",
    request_body(content = Option<RotateRequest>, description = "Optional; `{}` uses the configured lead time"),
    responses((status = 201, description = "The new key", body = KeyView)),
    security(("bearer" = ["verity:admin:keys"])))]
pub async fn rotate(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    body: ApiJson<RotateRequest>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Keys)?;
    Ok(HttpResponse::Created().json(keys::rotate(&ctx, &agent, body.0).await?))
}

//! `/service-notices`: broadcast a notice by email (sent in batches by a background worker)
//! and follow its progress.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::admin::auth::Area;
use crate::support::notices::{self, NewNotice, NoticeList, NoticeView};
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::web::admin::paging::PageQuery;
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(create, list, get))]
pub struct NoticesApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/service-notices", web::post().to(create))
        .route("/service-notices", web::get().to(list))
        .route("/service-notices/{notice_id}", web::get().to(get));
}

/// Queues a notice for every active account matching `audience` (every active account when
/// it is left out). Each person gets it once, by email, within a few batches.
#[utoipa::path(post, path = "/service-notices", tag = "notices", request_body = NewNotice,
    responses((status = 202, description = "Queued; follow it with GET /service-notices/{notice_id}", body = NoticeView)),
    security(("bearer" = ["verity:admin:notices"])))]
pub async fn create(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    body: ApiJson<NewNotice>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Notices)?;
    Ok(HttpResponse::Accepted().json(notices::create(&ctx, &agent, body.0).await?))
}

/// Notices, newest first, with their progress.
#[utoipa::path(get, path = "/service-notices", tag = "notices", params(PageQuery),
    responses((status = 200, description = "A page of notices", body = NoticeList)),
    security(("bearer" = ["verity:admin:notices"])))]
pub async fn list(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Notices)?;
    let page = notices::list(&ctx, q.cursor.as_deref(), q.limit.as_deref()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A notice and how far sending it has got.
#[utoipa::path(get, path = "/service-notices/{notice_id}", tag = "notices",
    params(("notice_id" = String, Path, description = "The notice's id")),
    responses((status = 200, description = "The notice", body = NoticeView)),
    security(("bearer" = ["verity:admin:notices"])))]
pub async fn get(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Notices)?;
    Ok(HttpResponse::Ok().json(notices::get(&ctx, &id).await?))
}

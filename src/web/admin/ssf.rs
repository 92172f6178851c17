//! `/ssf-streams`: every relying party's Shared Signals streams; pause, resume, disable,
//! replay.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::admin::auth::Area;
use crate::admin::ssf::{self, Replayed, StatusRequest, StreamPage, StreamQuery, StreamView};
use crate::ssf::operations::Action;
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(list, get, pause, resume, disable, replay))]
pub struct SsfApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ssf-streams", web::get().to(list))
        .route("/ssf-streams/{stream_id}", web::get().to(get))
        .route("/ssf-streams/{stream_id}/pause", web::post().to(pause))
        .route("/ssf-streams/{stream_id}/resume", web::post().to(resume))
        .route("/ssf-streams/{stream_id}/disable", web::post().to(disable))
        .route("/ssf-streams/{stream_id}/replay", web::post().to(replay));
}

/// Streams of every relying party (or one), oldest first, with status, who set it, backlog
/// and delivery counts.
#[utoipa::path(get, path = "/ssf-streams", tag = "ssf", params(StreamQuery),
    responses((status = 200, description = "A page of streams", body = StreamPage)),
    security(("bearer" = ["verity:admin:ssf"])))]
pub async fn list(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<StreamQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Ssf)?;
    Ok(HttpResponse::Ok().json(ssf::list(&ctx, &q).await?))
}

#[utoipa::path(get, path = "/ssf-streams/{stream_id}", tag = "ssf",
    params(("stream_id" = String, Path, description = "The stream's id")),
    responses((status = 200, description = "The stream", body = StreamView)),
    security(("bearer" = ["verity:admin:ssf"])))]
pub async fn get(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Ssf)?;
    Ok(HttpResponse::Ok().json(ssf::get(&ctx, &id).await?))
}

async fn set_status(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<StatusRequest>,
    action: Action,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Ssf)?;
    Ok(HttpResponse::Ok().json(ssf::set_status(&ctx, &agent, &id, action, body.0).await?))
}

/// Pauses the stream: events are held, not delivered, until it is resumed. The receiver gets
/// a stream-updated event (`paused`, the reason) first, and can't enable the stream itself.
#[utoipa::path(post, path = "/ssf-streams/{stream_id}/pause", tag = "ssf",
    params(("stream_id" = String, Path, description = "The stream's id")),
    request_body(content = Option<StatusRequest>, description = "Optional reason"),
    responses((status = 200, description = "The stream, paused", body = StreamView)),
    security(("bearer" = ["verity:admin:ssf"])))]
pub async fn pause(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<StatusRequest>,
) -> ApiResult<HttpResponse> {
    set_status(ctx, auth, id, body, Action::Pause).await
}

/// Enables the stream again (whoever paused or disabled it): held events are delivered, after
/// a stream-updated event (`enabled`). The receiver may change its status again.
#[utoipa::path(post, path = "/ssf-streams/{stream_id}/resume", tag = "ssf",
    params(("stream_id" = String, Path, description = "The stream's id")),
    request_body(content = Option<StatusRequest>, description = "Optional reason"),
    responses((status = 200, description = "The stream, enabled", body = StreamView)),
    security(("bearer" = ["verity:admin:ssf"])))]
pub async fn resume(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<StatusRequest>,
) -> ApiResult<HttpResponse> {
    set_status(ctx, auth, id, body, Action::Resume).await
}

/// Disables the stream: its queued events are dropped and no new ones are queued. The receiver
/// gets a stream-updated event (`disabled`, the reason), and can't enable the stream itself.
#[utoipa::path(post, path = "/ssf-streams/{stream_id}/disable", tag = "ssf",
    params(("stream_id" = String, Path, description = "The stream's id")),
    request_body(content = Option<StatusRequest>, description = "Optional reason"),
    responses((status = 200, description = "The stream, disabled", body = StreamView)),
    security(("bearer" = ["verity:admin:ssf"])))]
pub async fn disable(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<StatusRequest>,
) -> ApiResult<HttpResponse> {
    set_status(ctx, auth, id, body, Action::Disable).await
}

/// Makes the stream's failed deliveries due again now: events the receiver refused and events
/// still being retried start over (attempts from zero, a full retention period from now).
#[utoipa::path(post, path = "/ssf-streams/{stream_id}/replay", tag = "ssf",
    params(("stream_id" = String, Path, description = "The stream's id")),
    responses((status = 200, description = "How many events were made due, and the stream", body = Replayed)),
    security(("bearer" = ["verity:admin:ssf"])))]
pub async fn replay(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Ssf)?;
    Ok(HttpResponse::Ok().json(ssf::replay(&ctx, &agent, &id).await?))
}

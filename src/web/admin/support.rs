//! `/support-tickets`: the support desk: list, read with replies, reply by email, close.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::admin::auth::Area;
use crate::support::desk::{self, NewReply, ReplyView, TicketDetail, TicketList, TicketView};
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(list, get, reply, close))]
pub struct SupportApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/support-tickets", web::get().to(list))
        .route("/support-tickets/{ticket_id}", web::get().to(get))
        .route(
            "/support-tickets/{ticket_id}/replies",
            web::post().to(reply),
        )
        .route("/support-tickets/{ticket_id}/close", web::post().to(close));
}

/// `?status=&cursor=&limit=`, as strings: the flow parses them, so a bad value is named.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Only tickets in this state.
    #[param(value_type = Option<String>, pattern = "^(open|closed)$")]
    pub status: Option<String>,
    /// `next_cursor` of the previous page; leave out for the first page.
    pub cursor: Option<String>,
    /// Items per page (the default and the maximum are configured; more is lowered to it).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

/// Tickets, oldest first (the order to answer them in).
#[utoipa::path(get, path = "/support-tickets", tag = "support", params(TicketQuery),
    responses((status = 200, description = "A page of tickets", body = TicketList)),
    security(("bearer" = ["verity:admin:support"])))]
pub async fn list(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<TicketQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Support)?;
    let page = desk::list(
        &ctx,
        q.status.as_deref(),
        q.cursor.as_deref(),
        q.limit.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A ticket with the replies sent so far.
#[utoipa::path(get, path = "/support-tickets/{ticket_id}", tag = "support",
    params(("ticket_id" = String, Path, description = "The ticket number, like VT-7K3M9Q2D")),
    responses((status = 200, description = "The ticket and its replies", body = TicketDetail)),
    security(("bearer" = ["verity:admin:support"])))]
pub async fn get(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Support)?;
    Ok(HttpResponse::Ok().json(desk::get(&ctx, &id).await?))
}

/// Emails a reply to the ticket's contact address and keeps it on the ticket (open tickets
/// only).
#[utoipa::path(post, path = "/support-tickets/{ticket_id}/replies", tag = "support",
    params(("ticket_id" = String, Path, description = "The ticket number")),
    request_body = NewReply,
    responses((status = 201, description = "The reply, as sent", body = ReplyView)),
    security(("bearer" = ["verity:admin:support"])))]
pub async fn reply(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<NewReply>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Support)?;
    Ok(HttpResponse::Created().json(desk::reply(&ctx, &agent, &id, body.0).await?))
}

/// Closes the ticket (closing a closed ticket changes nothing).
#[utoipa::path(post, path = "/support-tickets/{ticket_id}/close", tag = "support",
    params(("ticket_id" = String, Path, description = "The ticket number")),
    responses((status = 200, description = "The ticket, closed", body = TicketView)),
    security(("bearer" = ["verity:admin:support"])))]
pub async fn close(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Support)?;
    Ok(HttpResponse::Ok().json(desk::close(&ctx, &agent, &id).await?))
}

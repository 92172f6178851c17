//! `/clients`: relying parties and agents: list, add, read, change, remove, new secret.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::OpenApi;

use crate::admin::auth::Area;
use crate::admin::clients::{
    self, ClientList, ClientView, CreateClient, CreatedClientView, NewSecret, UpdateClient,
};
use crate::web::admin::error::{ApiError, ApiResult};
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::web::admin::idempotency::KeepInstead;
use crate::web::admin::paging::PageQuery;
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(list, create, get, update, delete, rotate_secret))]
pub struct ClientsApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clients", web::get().to(list))
        .route("/clients", web::post().to(create))
        .route("/clients/{client_id}", web::get().to(get))
        .route("/clients/{client_id}", web::patch().to(update))
        .route("/clients/{client_id}", web::delete().to(delete))
        .route("/clients/{client_id}/secret", web::post().to(rotate_secret));
}

/// Every client, in the order they were added.
#[utoipa::path(get, path = "/clients", tag = "clients", params(PageQuery),
    responses((status = 200, description = "A page of clients", body = ClientList)),
    security(("bearer" = ["verity:admin:clients"])))]
pub async fn list(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Clients)?;
    let page = clients::list(&ctx, q.cursor.as_deref(), q.limit.as_deref()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds a client, under the rules `verity client add` applies. Its secret is in this answer
/// only. An admin client (or admin scopes) needs a token with `verity:admin`.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = CreateClient,
    responses((status = 201, description = "The new client, with its secret (shown once)", body = CreatedClientView)),
    security(("bearer" = ["verity:admin:clients"])))]
pub async fn create(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    body: ApiJson<CreateClient>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Clients)?;
    let created = clients::create(&ctx, &agent, body.0).await?;
    shown_once(HttpResponse::Created(), &created)
}

#[utoipa::path(get, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 200, description = "The client", body = ClientView)),
    security(("bearer" = ["verity:admin:clients"])))]
pub async fn get(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Clients)?;
    Ok(HttpResponse::Ok().json(clients::get(&ctx, &id).await?))
}

/// Changes the fields given. An agent can't change its own admin flag or scopes.
#[utoipa::path(patch, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client's id")),
    request_body = UpdateClient,
    responses((status = 200, description = "The client as changed", body = ClientView)),
    security(("bearer" = ["verity:admin:clients"])))]
pub async fn update(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<UpdateClient>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Clients)?;
    Ok(HttpResponse::Ok().json(clients::update(&ctx, &agent, &id, body.0).await?))
}

/// Removes a client with its consents and grants (their tokens stop working). An agent
/// can't remove itself.
#[utoipa::path(delete, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 200, description = "The client as it was before removal", body = ClientView)),
    security(("bearer" = ["verity:admin:clients"])))]
pub async fn delete(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Clients)?;
    Ok(HttpResponse::Ok().json(clients::delete(&ctx, &agent, &id).await?))
}

/// A new secret; the old one stops working at once. Shown in this answer only.
#[utoipa::path(post, path = "/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 200, description = "The new secret (shown once)", body = NewSecret)),
    security(("bearer" = ["verity:admin:clients"])))]
pub async fn rotate_secret(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Clients)?;
    let rotated = clients::rotate_secret(&ctx, &agent, &id).await?;
    shown_once(HttpResponse::Ok(), &rotated)
}

/// An answer carrying a `client_secret`: an idempotent repeat gets it with the secret null,
/// so the secret is never stored.
fn shown_once(
    mut status: actix_web::HttpResponseBuilder,
    body: &impl Serialize,
) -> ApiResult<HttpResponse> {
    let mut kept = serde_json::to_value(body).map_err(|e| ApiError::internal(e.into()))?;
    kept["client_secret"] = serde_json::Value::Null;
    let mut res = status.json(body);
    res.extensions_mut().insert(KeepInstead(kept.to_string()));
    Ok(res)
}

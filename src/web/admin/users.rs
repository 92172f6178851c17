//! `/users`: search, details, disable/enable, unlock, MFA reset, delete, and the
//! support-assisted phone change.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::admin::auth::Area;
use crate::admin::phone_change::{
    self, ConfirmPhoneChange, PhoneChangeDone, PhoneChangeStarted, StartPhoneChange,
};
use crate::admin::users::{self, ResetMfaRequest, SignOutRequest, UserDetail, UserPage, UserQuery};
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(
    search,
    get,
    disable,
    enable,
    unlock,
    reset_mfa,
    sign_out,
    remove_key,
    delete,
    start_phone_change,
    confirm_phone_change
))]
pub struct UsersApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(search))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::delete().to(delete))
        .route("/users/{id}/disable", web::post().to(disable))
        .route("/users/{id}/enable", web::post().to(enable))
        .route("/users/{id}/unlock", web::post().to(unlock))
        .route("/users/{id}/reset-mfa", web::post().to(reset_mfa))
        .route("/users/{id}/sign-out", web::post().to(sign_out))
        .route("/users/{id}/keys/{key_id}", web::delete().to(remove_key))
        .route(
            "/users/{id}/phone-changes",
            web::post().to(start_phone_change),
        )
        .route(
            "/users/{id}/phone-changes/{change_id}/confirm",
            web::post().to(confirm_phone_change),
        );
}

/// Accounts in id order, optionally those with one email address or phone number.
#[utoipa::path(get, path = "/users", tag = "users", params(UserQuery),
    responses((status = 200, description = "One page of accounts", body = UserPage)),
    security(("bearer" = ["verity:admin:users:read"])))]
pub async fn search(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<UserQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::UsersRead)?;
    Ok(HttpResponse::Ok().json(users::search(&ctx, &q).await?))
}

/// One account: emails, masked phones, second factors, live sessions, locks.
#[utoipa::path(get, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The account (a tombstone if deleted)", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:read"])))]
pub async fn get(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::UsersRead)?;
    Ok(HttpResponse::Ok().json(users::detail(&ctx, &id).await?))
}

/// Disables the account: sign-in is refused, every session ends, every grant (and so every
/// refresh and access token) is revoked.
#[utoipa::path(post, path = "/users/{id}/disable", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The account, disabled", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn disable(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    Ok(HttpResponse::Ok().json(users::disable(&ctx, &agent, &id).await?))
}

/// Enables a disabled account.
#[utoipa::path(post, path = "/users/{id}/enable", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The account, enabled", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn enable(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    Ok(HttpResponse::Ok().json(users::enable(&ctx, &agent, &id).await?))
}

/// Lifts the sign-in lock (failure counters) and the second-factor lock (wrong codes).
#[utoipa::path(post, path = "/users/{id}/unlock", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The account, unlocked", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn unlock(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    Ok(HttpResponse::Ok().json(users::unlock(&ctx, &agent, &id).await?))
}

/// Signs the person out everywhere: ends every session, revokes every grant (refresh and
/// access tokens), and sends relying parties a Shared Signals `session-revoked`. The reason
/// goes into the audit trail.
#[utoipa::path(post, path = "/users/{id}/sign-out", tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = SignOutRequest,
    responses((status = 200, description = "The account, with no session left", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn sign_out(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<SignOutRequest>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    Ok(HttpResponse::Ok().json(users::sign_out(&ctx, &agent, &id, body.0).await?))
}

/// Removes every second factor (phones, authenticator apps, backup codes) and ends the
/// sessions; every confirmed address is told. The reason goes into the audit trail.
#[utoipa::path(post, path = "/users/{id}/reset-mfa", tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = ResetMfaRequest,
    responses((status = 200, description = "The account, without second factors", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn reset_mfa(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<ResetMfaRequest>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    Ok(HttpResponse::Ok().json(users::reset_mfa(&ctx, &agent, &id, body.0).await?))
}

/// Removes one security key or passkey. Audited with the agent; the person is told by email
/// and text. The last way to confirm it's them may be removed (as with reset-mfa).
#[utoipa::path(delete, path = "/users/{id}/keys/{key_id}", tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        ("key_id" = String, Path, description = "The key's id (from the account's `keys`)"),
    ),
    responses((status = 200, description = "The account, without the key", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn remove_key(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    let (id, key_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(users::remove_key(&ctx, &agent, &id, &key_id).await?))
}

/// Deletes the account, keeping a tombstone: personal data, methods, emails, consents and
/// sessions go; the audit trail stays.
#[utoipa::path(delete, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The tombstone", body = UserDetail)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn delete(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    Ok(HttpResponse::Ok().json(users::delete(&ctx, &agent, &id).await?))
}

/// Starts a support-assisted phone change: checks the number like self-service does and
/// sends a code to it. The person reads the code to the agent, who confirms with it.
#[utoipa::path(post, path = "/users/{id}/phone-changes", tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = StartPhoneChange,
    responses((status = 201, description = "Code sent to the new number", body = PhoneChangeStarted)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn start_phone_change(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<StartPhoneChange>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    Ok(HttpResponse::Created().json(phone_change::start(&ctx, &agent, &id, body.0).await?))
}

/// Confirms a support-assisted phone change with the code the person received. A wrong
/// code answers 400 with `remaining_tries`; too many lock the second factor (429).
#[utoipa::path(post, path = "/users/{id}/phone-changes/{change_id}/confirm", tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        ("change_id" = String, Path, description = "The id from starting the change"),
    ),
    request_body = ConfirmPhoneChange,
    responses((status = 200, description = "The number is changed; notices sent", body = PhoneChangeDone)),
    security(("bearer" = ["verity:admin:users:write"])))]
pub async fn confirm_phone_change(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    path: web::Path<(String, String)>,
    body: ApiJson<ConfirmPhoneChange>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::UsersWrite)?;
    let (id, change_id) = path.into_inner();
    Ok(
        HttpResponse::Ok()
            .json(phone_change::confirm(&ctx, &agent, &id, &change_id, body.0).await?),
    )
}

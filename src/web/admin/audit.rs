//! `/audit-events`: query the audit trail.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::admin::audit::{self, AuditEventPage, AuditQuery};
use crate::admin::auth::Area;
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::AdminAuth;
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(list))]
pub struct AuditApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit-events", web::get().to(list));
}

/// Audit events, newest first, filtered by person, type and time range.
#[utoipa::path(get, path = "/audit-events", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "One page of events", body = AuditEventPage)),
    security(("bearer" = ["verity:admin:audit"])))]
pub async fn list(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Audit)?;
    Ok(HttpResponse::Ok().json(audit::query(&ctx, &q).await?))
}

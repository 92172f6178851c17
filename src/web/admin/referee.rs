//! `/referee`: verification with an agent (trusted referee). Agents are registered with a
//! certification expiry; the case requests name the acting agent by `agent_id` (the token is
//! the operator's tooling). Scope `verity:admin:referee`, named on the token.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::admin::auth::Area;
use crate::admin::referee::{
    self, ActingAgent, AgentList, AgentView, CaseList, CaseQuery, CaseSummary, ChecksRecorded,
    Decide, Decided, Evidence, NewAgent, RecordChecks,
};
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(
    register_agent,
    list_agents,
    disable_agent,
    release_case,
    reopen_case,
    list_cases,
    claim_case,
    case_evidence,
    record_checks,
    decide_case
))]
pub struct RefereeApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/referee/agents", web::post().to(register_agent))
        .route("/referee/agents", web::get().to(list_agents))
        .route(
            "/referee/agents/{id}/disable",
            web::post().to(disable_agent),
        )
        .route("/referee/cases/{id}/release", web::post().to(release_case))
        .route("/referee/cases/{id}/reopen", web::post().to(reopen_case))
        .route("/referee/cases", web::get().to(list_cases))
        .route("/referee/cases/{id}/claim", web::post().to(claim_case))
        .route("/referee/cases/{id}/evidence", web::get().to(case_evidence))
        .route("/referee/cases/{id}/checks", web::post().to(record_checks))
        .route("/referee/cases/{id}/decision", web::post().to(decide_case));
}

/// Registers an agent with their training/certification expiry. After it they can't claim or
/// decide cases (403).
#[utoipa::path(post, path = "/referee/agents", tag = "referee", request_body = NewAgent,
    responses((status = 200, description = "Registered", body = AgentView)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn register_agent(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    body: ApiJson<NewAgent>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::register_agent(&ctx, &admin, body.0).await?))
}

/// The registered agents, with whether each is certified now.
#[utoipa::path(get, path = "/referee/agents", tag = "referee",
    responses((status = 200, description = "Agents", body = AgentList)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn list_agents(ctx: web::Data<Ctx>, auth: AdminAuth) -> ApiResult<HttpResponse> {
    auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::list_agents(&ctx).await?))
}

/// Disables an agent at once (API and desk). Their claimed cases whose call had not begun go
/// back to their slot or their place in the queue.
#[utoipa::path(post, path = "/referee/agents/{id}/disable", tag = "referee",
    params(("id" = String, Path, description = "Agent id")),
    responses((status = 200, description = "Disabled", body = AgentView)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn disable_agent(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::disable_agent(&ctx, &admin, &id).await?))
}

/// Gives a claimed case back before the call began (the continuation code not confirmed yet;
/// 409 after): it waits again in its slot or its old place in the queue.
#[utoipa::path(post, path = "/referee/cases/{id}/release", tag = "referee",
    params(("id" = String, Path, description = "Case id")), request_body = ActingAgent,
    responses((status = 200, description = "Released", body = CaseSummary)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn release_case(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<ActingAgent>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::release(&ctx, &admin, &id, body.0).await?))
}

/// For operators: puts back a case held by an agent who can no longer work it (disabled, or
/// certification expired), even after the call began; the person's code matches once more.
/// 409 while its agent may still work it.
#[utoipa::path(post, path = "/referee/cases/{id}/reopen", tag = "referee",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "Waiting again", body = CaseSummary)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn reopen_case(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::reopen(&ctx, &admin, &id).await?))
}

/// The queue (in its order, with each case's place) and the scheduled and claimed calls, with
/// the queue length, its expected wait and the longest wait so far. No personal data.
#[utoipa::path(get, path = "/referee/cases", tag = "referee", params(CaseQuery),
    responses((status = 200, description = "Cases", body = CaseList)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn list_cases(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<CaseQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::list_cases(&ctx, &q).await?))
}

/// Claims a scheduled or queued case for the agent named in the body, once (409 if another
/// claim won). A queued person is e-mailed and texted the meeting link at once.
#[utoipa::path(post, path = "/referee/cases/{id}/claim", tag = "referee",
    params(("id" = String, Path, description = "Case id")), request_body = ActingAgent,
    responses((status = 200, description = "Claimed", body = CaseSummary)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn claim_case(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<ActingAgent>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::claim(&ctx, &admin, &id, body.0).await?))
}

/// The evidence of a case the agent (`agent_id` in the query) claimed, while it is open: the
/// document fields and the person as read online (in full), the checks that passed, the last
/// refusal, the vendor attempts (without transcripts), the flags, and the images while they
/// are still kept. Every read is audited.
#[utoipa::path(get, path = "/referee/cases/{id}/evidence", tag = "referee",
    params(("id" = String, Path, description = "Case id"), ActingAgent),
    responses((status = 200, description = "Evidence", body = Evidence)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn case_evidence(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    q: web::Query<ActingAgent>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    let found = referee::evidence(&ctx, &admin, &id, &q.agent_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(found))
}

/// Records the checks done in the call and, first, the continuation code the person read out:
/// checked against the case's (a wrong code 400, a code already used 409; both audited).
#[utoipa::path(post, path = "/referee/cases/{id}/checks", tag = "referee",
    params(("id" = String, Path, description = "Case id")), request_body = RecordChecks,
    responses((status = 200, description = "Recorded", body = ChecksRecorded)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn record_checks(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<RecordChecks>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::record_checks(&ctx, &admin, &id, body.0).await?))
}

/// Decides a case the agent claimed: `verified` (the continuation code confirmed first) moves
/// the verification to the password step, which the person is e-mailed to finish, producing
/// the same IAL2 verification as the online path with the trusted referee in its evidence;
/// `not_verified` ends it; `fraud_suspected` ends it and raises a `referee_fraud` flag that
/// holds. An agent whose certification expired: 403; a case claimed by another agent: 409.
#[utoipa::path(post, path = "/referee/cases/{id}/decision", tag = "referee",
    params(("id" = String, Path, description = "Case id")), request_body = Decide,
    responses((status = 200, description = "Decided", body = Decided)),
    security(("bearer" = ["verity:admin:referee"])))]
pub async fn decide_case(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<Decide>,
) -> ApiResult<HttpResponse> {
    let admin = auth.require(Area::Referee)?;
    Ok(HttpResponse::Ok().json(referee::decide(&ctx, &admin, &id, body.0).await?))
}

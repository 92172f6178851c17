//! `/proofing`: identity verifications (personal data masked unless the token names
//! `verity:admin:proofing:pii`), fraud flags to clear or confirm, removal of a person's
//! identity data, and counts for a period. There is no endpoint for images.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::admin::auth::Area;
use crate::admin::proofing::{
    self, FlagPage, FlagQuery, FlagResolved, LetterPage, LetterQuery, LetterSent, ProofingStats,
    Removal, RemoveRequest, ResolveFlagRequest, StatsQuery, VerificationDetail, VerificationPage,
    VerificationQuery,
};
use crate::proofing::records::FlagDecision;
use crate::web::admin::error::ApiResult;
use crate::web::admin::extract::{AdminAuth, ApiJson};
use crate::Ctx;

#[derive(OpenApi)]
#[openapi(paths(
    list_verifications,
    get_verification,
    remove_verification,
    list_flags,
    clear_flag,
    confirm_flag,
    stats,
    list_letters,
    letters_csv,
    letters_pdf,
    letter_sent
))]
pub struct ProofingApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/proofing/verifications", web::get().to(list_verifications))
        .route(
            "/proofing/verifications/{id}",
            web::get().to(get_verification),
        )
        .route(
            "/proofing/verifications/{id}/remove",
            web::post().to(remove_verification),
        )
        .route("/proofing/flags", web::get().to(list_flags))
        .route(
            "/proofing/flags/{flag_id}/clear",
            web::post().to(clear_flag),
        )
        .route(
            "/proofing/flags/{flag_id}/confirm",
            web::post().to(confirm_flag),
        )
        .route("/proofing/stats", web::get().to(stats))
        .route("/proofing/letters", web::get().to(list_letters))
        .route("/proofing/letters.csv", web::get().to(letters_csv))
        .route("/proofing/letters.pdf", web::get().to(letters_pdf))
        .route("/proofing/letters/{id}/sent", web::post().to(letter_sent));
}

/// Verifications, newest first, by status, person, and whether a flag is open. No personal
/// data in the list.
#[utoipa::path(get, path = "/proofing/verifications", tag = "proofing", params(VerificationQuery),
    responses((status = 200, description = "One page of verifications", body = VerificationPage)),
    security(("bearer" = ["verity:admin:proofing"])))]
pub async fn list_verifications(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<VerificationQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Proofing)?;
    Ok(HttpResponse::Ok().json(proofing::list_verifications(&ctx, &q).await?))
}

/// One verification with its flags and vendor attempts. The person's data is always masked
/// (initials, birth year, state; never the SSN, document number or vendor transcripts), also
/// for `verity:admin:proofing:pii`, which adds only the attempts' IP addresses.
#[utoipa::path(get, path = "/proofing/verifications/{id}", tag = "proofing",
    params(("id" = String, Path, description = "Verification id")),
    responses((status = 200, description = "The verification", body = VerificationDetail)),
    security(("bearer" = ["verity:admin:proofing", "verity:admin:proofing:pii"])))]
pub async fn get_verification(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Proofing)?;
    Ok(HttpResponse::Ok().json(proofing::verification(&ctx, &agent, &id).await?))
}

/// Removes the identity data of the person this verification belongs to: all their
/// verifications, sealed data, images and data key. Their verified identity stops counting
/// at once; they are told by email and text. Already removed: 409.
#[utoipa::path(post, path = "/proofing/verifications/{id}/remove", tag = "proofing",
    params(("id" = String, Path, description = "Verification id")),
    request_body = RemoveRequest,
    responses((status = 200, description = "Removed", body = Removal)),
    security(("bearer" = ["verity:admin:proofing"])))]
pub async fn remove_verification(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<RemoveRequest>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Proofing)?;
    Ok(HttpResponse::Ok().json(proofing::remove(&ctx, &agent, &id, body.0).await?))
}

/// Fraud flags, oldest first (the order to decide them in).
#[utoipa::path(get, path = "/proofing/flags", tag = "proofing", params(FlagQuery),
    responses((status = 200, description = "One page of flags", body = FlagPage)),
    security(("bearer" = ["verity:admin:proofing"])))]
pub async fn list_flags(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<FlagQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Proofing)?;
    Ok(HttpResponse::Ok().json(proofing::list_flags(&ctx, &q).await?))
}

/// Clears an open flag (not fraud). Clearing the last flag that holds a verification lets it
/// count (`verified`), and the person is told. Already decided: 409.
#[utoipa::path(post, path = "/proofing/flags/{flag_id}/clear", tag = "proofing",
    params(("flag_id" = String, Path, description = "Flag id")),
    request_body = ResolveFlagRequest,
    responses((status = 200, description = "Cleared", body = FlagResolved)),
    security(("bearer" = ["verity:admin:proofing"])))]
pub async fn clear_flag(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<ResolveFlagRequest>,
) -> ApiResult<HttpResponse> {
    resolve_flag(ctx, auth, id, body, FlagDecision::Clear).await
}

/// Confirms an open flag (fraud): the verification fails. Already decided: 409.
#[utoipa::path(post, path = "/proofing/flags/{flag_id}/confirm", tag = "proofing",
    params(("flag_id" = String, Path, description = "Flag id")),
    request_body = ResolveFlagRequest,
    responses((status = 200, description = "Confirmed", body = FlagResolved)),
    security(("bearer" = ["verity:admin:proofing"])))]
pub async fn confirm_flag(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<ResolveFlagRequest>,
) -> ApiResult<HttpResponse> {
    resolve_flag(ctx, auth, id, body, FlagDecision::Confirm).await
}

/// Both decisions on a flag: the area's scope, then the rule in `admin::proofing`.
async fn resolve_flag(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
    body: ApiJson<ResolveFlagRequest>,
    decision: FlagDecision,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Proofing)?;
    let done = proofing::resolve_flag(&ctx, &agent, &id, decision, body.0).await?;
    Ok(HttpResponse::Ok().json(done))
}

/// Verifications started in the period by their status now, and vendor attempts made in it
/// by check and outcome.
#[utoipa::path(get, path = "/proofing/stats", tag = "proofing", params(StatsQuery),
    responses((status = 200, description = "Counts for the period", body = ProofingStats)),
    security(("bearer" = ["verity:admin:proofing"])))]
pub async fn stats(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<StatsQuery>,
) -> ApiResult<HttpResponse> {
    auth.require(Area::Proofing)?;
    Ok(HttpResponse::Ok().json(proofing::stats(&ctx, &q).await?))
}

/// Verify-by-mail letters waiting for the printer, oldest first, with the name and address
/// each goes to (not the code). Personal data: only with `verity:admin:proofing:pii`, and
/// every read is audited.
#[utoipa::path(get, path = "/proofing/letters", tag = "proofing", params(LetterQuery),
    responses((status = 200, description = "One page of queued letters", body = LetterPage)),
    security(("bearer" = ["verity:admin:proofing:pii"])))]
pub async fn list_letters(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<LetterQuery>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::ProofingPii)?;
    Ok(HttpResponse::Ok().json(proofing::list_letters(&ctx, &agent, &q).await?))
}

/// The queued letters as CSV for the print vendor: letter id, name, address, the one-time
/// code and the day it stops working; cells a spreadsheet would run as a formula are
/// prefixed with `'`. A page of letters, oldest first; the next page's cursor is in the
/// `Verity-Next-Cursor` header. Mark each letter sent once it is printed: from then on its
/// name, address and code are no longer kept. Only with `verity:admin:proofing:pii`; audited.
#[utoipa::path(get, path = "/proofing/letters.csv", tag = "proofing", params(LetterQuery),
    responses((status = 200, description = "Queued letters", content_type = "text/csv",
        body = String)),
    security(("bearer" = ["verity:admin:proofing:pii"])))]
pub async fn letters_csv(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<LetterQuery>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::ProofingPii)?;
    let (csv, next) = proofing::letters_csv(&ctx, &agent, &q).await?;
    let mut answer = HttpResponse::Ok();
    answer
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"verity-letters.csv\"",
        ));
    if let Some(next) = next {
        answer.insert_header(("Verity-Next-Cursor", next));
    }
    Ok(answer.body(csv))
}

/// The queued letters as PDF for the print vendor: one US Letter page per letter, in the
/// person's language, with the name and address (placed for a window envelope), the date, what
/// the code is for, the code in large grouped characters, until when it works and where to
/// enter it. The same page of letters as the CSV (`cursor`, `limit`; the next page's cursor in
/// `Verity-Next-Cursor`). Only with `verity:admin:proofing:pii`; every letter read is audited.
#[utoipa::path(get, path = "/proofing/letters.pdf", tag = "proofing", params(LetterQuery),
    responses((status = 200, description = "Queued letters, a page each",
        content_type = "application/pdf", body = Vec<u8>)),
    security(("bearer" = ["verity:admin:proofing:pii"])))]
pub async fn letters_pdf(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    q: web::Query<LetterQuery>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::ProofingPii)?;
    let (pdf, next) = proofing::letters_pdf(&ctx, &agent, &q).await?;
    let mut answer = HttpResponse::Ok();
    answer
        .content_type("application/pdf")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"verity-letters.pdf\"",
        ));
    if let Some(next) = next {
        answer.insert_header(("Verity-Next-Cursor", next));
    }
    Ok(answer.body(pdf))
}

/// Marks a letter as handed to the printer: its name, address and code are dropped, the
/// person sees "letter sent on …" and is e-mailed that it was mailed, with the link to the code
/// page. Not queued (already sent, used or cancelled): 409.
#[utoipa::path(post, path = "/proofing/letters/{id}/sent", tag = "proofing",
    params(("id" = String, Path, description = "Letter id")),
    responses((status = 200, description = "Marked sent", body = LetterSent)),
    security(("bearer" = ["verity:admin:proofing"])))]
pub async fn letter_sent(
    ctx: web::Data<Ctx>,
    auth: AdminAuth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let agent = auth.require(Area::Proofing)?;
    Ok(HttpResponse::Ok().json(proofing::mark_letter_sent(&ctx, &agent, &id).await?))
}

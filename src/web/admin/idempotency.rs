//! The `Idempotency-Key` layer around every mutation of `/admin/api/v1`: HTTP plumbing only
//! (read the body, replay or store the answer); the rules are in `admin::idempotency`.

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;

use crate::admin::idempotency::{self, Claim};
use crate::web::admin::error::ApiError;
use crate::web::admin::extract::{agent_of, BODY_LIMIT};
use crate::Ctx;

/// Answers that are kept for a repeat: everything but failures worth retrying as they are
/// (server errors, refused credentials, limits).
fn worth_keeping(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        ))
}

/// Put in a response's extensions by a handler whose answer carries a secret shown once: the
/// body kept for a repeat (the same answer without the secret), so no secret is stored.
pub struct KeepInstead(pub String);

fn answer(req: ServiceRequest, e: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(e.error_response())
}

pub async fn layer(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mutation = matches!(
        *req.method(),
        Method::POST | Method::PATCH | Method::DELETE | Method::PUT
    );
    let raw_key = req
        .headers()
        .get(idempotency::HEADER)
        .map(|v| v.as_bytes().to_vec());
    let (true, Some(raw_key)) = (mutation, raw_key) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(ctx) = req.app_data::<web::Data<Ctx>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // Keys belong to a client: without a usable token the handler refuses (401/403) and
    // nothing is kept. Only an authenticated caller hears about a malformed key.
    let Ok(agent) = agent_of(req.request()).await else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match idempotency::validate_key(&raw_key) {
        Ok(k) => k,
        Err(p) => return Ok(answer(req, p.into())),
    };
    let mut body = web::BytesMut::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                return Ok(answer(
                    req,
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        format!("The body could not be read: {e}"),
                    ),
                ))
            }
        };
        if body.len() + chunk.len() > BODY_LIMIT {
            return Ok(answer(
                req,
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("The body is larger than {} KiB.", BODY_LIMIT / 1024),
                ),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let hash = idempotency::request_hash(req.method().as_str(), &target, &body);
    let claim = match idempotency::claim(&ctx, &agent.client_id, &key, &hash).await {
        Ok(c) => c,
        Err(e) => return Ok(answer(req, ApiError::internal(e))),
    };
    match claim {
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let res = HttpResponse::build(status)
                .content_type("application/json")
                .insert_header(("Idempotent-Replayed", "true"))
                .body(body);
            Ok(req.into_response(res))
        }
        Claim::Mismatch => Ok(answer(
            req,
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "This Idempotency-Key was already used for a different request; use a new key.",
            )
            .field(idempotency::HEADER),
        )),
        Claim::InProgress => Ok(answer(
            req,
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
            .field(idempotency::HEADER),
        )),
        Claim::Proceed => {
            req.set_payload(actix_web::dev::Payload::from(body));
            let res = match next.call(req).await {
                Ok(res) => res,
                Err(e) => {
                    let _ = idempotency::release(&ctx, &agent.client_id, &key).await;
                    return Err(e);
                }
            };
            let (http_req, http_res) = res.into_parts();
            let (head, body) = http_res.into_parts();
            let status = head.status();
            let bytes = match to_bytes(body).await {
                Ok(b) => b,
                Err(_) => {
                    let _ = idempotency::release(&ctx, &agent.client_id, &key).await;
                    let res = ApiError::internal(anyhow::anyhow!("response body unreadable"))
                        .error_response();
                    return Ok(ServiceResponse::new(http_req, res));
                }
            };
            let kept = if worth_keeping(status) {
                let text = match head.extensions().get::<KeepInstead>() {
                    Some(k) => k.0.clone(),
                    None => String::from_utf8_lossy(&bytes).into_owned(),
                };
                idempotency::finish(&ctx, &agent.client_id, &key, status.as_u16(), text).await
            } else {
                idempotency::release(&ctx, &agent.client_id, &key).await
            };
            if let Err(e) = kept {
                // The work is done; failing to remember it only loses the replay.
                tracing::error!(error = %format!("{e:#}"), "could not store an idempotent answer");
            }
            let res = head.set_body(bytes).map_into_boxed_body();
            Ok(ServiceResponse::new(http_req, res))
        }
    }
}

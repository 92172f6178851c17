//! Shared Signals over HTTP: the transmitter metadata and the stream management and poll
//! endpoints. Bearer-token JSON APIs (no cookies, no CSRF: a browser can't send the token);
//! the rules are in `crate::ssf`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::ssf::streams::{self, StreamError};
use crate::ssf::{self as flows, Need, Receiver, Refusal};
use crate::Ctx;

/// Largest request body read.
const BODY_LIMIT: usize = 64 * 1024;

fn error(status: StatusCode, err: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "err": err, "description": description }))
}

fn refused(r: Refusal) -> HttpResponse {
    match r {
        Refusal::MissingToken => HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .json(json!({
                "err": "authentication_failed",
                "description": "Send an access token from the client_credentials grant: Authorization: Bearer <token>."
            })),
        Refusal::InvalidToken(why) => HttpResponse::Unauthorized()
            .insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer error=\"invalid_token\"",
            ))
            .json(json!({
                "err": "authentication_failed",
                "description": format!("The access token can't be used: {why}.")
            })),
        Refusal::Forbidden(why) => error(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!("{why}."),
        ),
    }
}

fn stream_error(e: StreamError) -> HttpResponse {
    match e {
        StreamError::BadRequest(why) => error(StatusCode::BAD_REQUEST, "invalid_request", &why),
        StreamError::NotFound => error(StatusCode::NOT_FOUND, "not_found", "No such stream."),
        StreamError::TooManyStreams => error(
            StatusCode::CONFLICT,
            "too_many_streams",
            "This client holds as many streams as it may; delete one first.",
        ),
        StreamError::TooSoon => error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Verification was asked for too recently; see min_verification_interval.",
        ),
        StreamError::HeldByOperator { status, reason } => error(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!(
                "The transmitter's operator set this stream to {status}{}; only the operator \
                 can change its status. A stream-updated event says when it is enabled again.",
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        ),
    }
}

fn ok_json(status: StatusCode, value: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// The authenticated receiver, or the refusal to answer (boxed: a response is large).
async fn receiver(ctx: &Ctx, req: &HttpRequest, need: Need) -> Result<Receiver, Box<HttpResponse>> {
    let token = crate::web::admin::extract::bearer_token(req);
    match flows::authenticate(ctx, token.as_deref(), need).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(refusal)) => Err(Box::new(refused(refusal))),
        Err(e) => Err(Box::new(internal(e))),
    }
}

/// Parses a JSON body; a body that isn't is a 400 that says why.
fn parse<T: DeserializeOwned + Default>(
    body: &[u8],
    empty_ok: bool,
) -> Result<T, Box<HttpResponse>> {
    if body.len() > BODY_LIMIT {
        return Err(Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "The request body is too large.",
        )));
    }
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("The body is not the JSON object expected: {e}."),
        ))
    })
}

fn internal(e: anyhow::Error) -> HttpResponse {
    tracing::error!(error = %format!("{e:#}"), "shared signals request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side; try again.",
    )
}

macro_rules! flow {
    ($e:expr) => {
        match $e {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return stream_error(e),
            Err(e) => return internal(e),
        }
    };
}

macro_rules! must {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(res) => return *res,
        }
    };
}

/// `GET /.well-known/ssf-configuration` (SSF §7.2).
pub async fn configuration(ctx: web::Data<Ctx>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(flows::metadata(&ctx))
}

#[derive(Deserialize)]
pub struct StreamQuery {
    stream_id: Option<String>,
}

/// `POST /ssf/streams`: create (201).
pub async fn create_stream(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let input: streams::StreamInput = must!(parse(&body, true));
    let config = flow!(streams::create(&ctx, &rx, &input).await);
    ok_json(StatusCode::CREATED, &config)
}

/// `GET /ssf/streams[?stream_id=]`: one stream, or all of the client's.
pub async fn read_stream(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    query: web::Query<StreamQuery>,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Read).await);
    let value = flow!(streams::read(&ctx, &rx, query.stream_id.as_deref()).await);
    ok_json(StatusCode::OK, &value)
}

/// `PATCH /ssf/streams`: update the members sent.
pub async fn update_stream(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let input: streams::StreamInput = must!(parse(&body, false));
    let config = flow!(streams::update(&ctx, &rx, &input, false).await);
    ok_json(StatusCode::OK, &config)
}

/// `PUT /ssf/streams`: replace.
pub async fn replace_stream(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let input: streams::StreamInput = must!(parse(&body, false));
    let config = flow!(streams::update(&ctx, &rx, &input, true).await);
    ok_json(StatusCode::OK, &config)
}

/// `DELETE /ssf/streams?stream_id=` (204).
pub async fn delete_stream(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    query: web::Query<StreamQuery>,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let Some(id) = query.stream_id.as_deref() else {
        return stream_error(StreamError::BadRequest("stream_id is required".into()));
    };
    flow!(streams::delete(&ctx, &rx, id).await);
    HttpResponse::NoContent().finish()
}

/// `GET /ssf/status?stream_id=`.
pub async fn read_status(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    query: web::Query<StreamQuery>,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Read).await);
    let Some(id) = query.stream_id.as_deref() else {
        return stream_error(StreamError::BadRequest("stream_id is required".into()));
    };
    let status = flow!(streams::status(&ctx, &rx, id).await);
    ok_json(StatusCode::OK, &status)
}

/// `POST /ssf/status`: set the status.
pub async fn update_status(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let input: streams::StatusInput = must!(parse(&body, false));
    let status = flow!(streams::set_status(&ctx, &rx, &input).await);
    ok_json(StatusCode::OK, &status)
}

/// `POST /ssf/subjects/add` (200).
pub async fn add_subject(ctx: web::Data<Ctx>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let input: streams::SubjectInput = must!(parse(&body, false));
    flow!(streams::subject(&ctx, &rx, &input, true).await);
    HttpResponse::Ok().finish()
}

/// `POST /ssf/subjects/remove` (204).
pub async fn remove_subject(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let input: streams::SubjectInput = must!(parse(&body, false));
    flow!(streams::subject(&ctx, &rx, &input, false).await);
    HttpResponse::NoContent().finish()
}

/// `POST /ssf/verify` (204; the verification SET is then queued).
pub async fn verify(ctx: web::Data<Ctx>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Manage).await);
    let input: streams::VerifyInput = must!(parse(&body, false));
    flow!(streams::verify(&ctx, &rx, &input).await);
    HttpResponse::NoContent().finish()
}

/// `POST /ssf/poll/{stream_id}` (RFC 8936).
pub async fn poll(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let rx = must!(receiver(&ctx, &req, Need::Read).await);
    let input: crate::ssf::events::PollRequest = must!(parse(&body, true));
    let answer = flow!(crate::ssf::events::poll(&ctx, &rx, &path, input).await);
    ok_json(StatusCode::OK, &answer)
}

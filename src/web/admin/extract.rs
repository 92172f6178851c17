//! Extractors of the management API: the calling agent ([`AdminAuth`]) and JSON bodies
//! ([`ApiJson`]) whose errors name the field at fault.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use crate::admin::auth::{self, Agent, Area};
use crate::web::admin::error::ApiError;
use crate::Ctx;

/// Largest request body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The bearer token of a request, if it sent one with the Bearer scheme.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn ctx_of(req: &HttpRequest) -> Result<web::Data<Ctx>, ApiError> {
    req.app_data::<web::Data<Ctx>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no Ctx registered")))
}

/// Authenticates the agent (once per request: the idempotency layer may already have).
pub async fn agent_of(req: &HttpRequest) -> Result<Agent, ApiError> {
    if let Some(agent) = req.extensions().get::<Agent>() {
        return Ok(agent.clone());
    }
    let ctx = ctx_of(req)?;
    let token = bearer_token(req);
    let agent = auth::authenticate(&ctx, token.as_deref()).await??;
    req.extensions_mut().insert(agent.clone());
    Ok(agent)
}

/// An authenticated admin client. Call [`AdminAuth::require`] with the handler's area.
pub struct AdminAuth(pub Agent);

impl AdminAuth {
    /// 403 unless the token holds the area's scope (or `verity:admin`).
    pub fn require(self, area: Area) -> Result<Agent, ApiError> {
        if self.0.may(area) {
            Ok(self.0)
        } else {
            Err(ApiError::forbidden(format!(
                "This token lacks the scope {} (or verity:admin).",
                area.scope()
            )))
        }
    }
}

impl FromRequest for AdminAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AdminAuth, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { agent_of(&req).await.map(AdminAuth) })
    }
}

/// A JSON body. An empty body reads as `{}` (so bodies whose fields are all optional may be
/// left out); a body that isn't JSON, or doesn't fit, gets a 4xx naming the field.
pub struct ApiJson<T>(pub T);

/// Parses a JSON body, naming the field at fault when it doesn't fit `T`.
pub fn parse_body<T: DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        let essence = content_type
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        let json = essence
            .as_deref()
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON, with Content-Type: application/json.",
            )
            .field("Content-Type"));
        }
        body
    };
    // Every request body is an object. serde would otherwise read a JSON array into a struct
    // by position (`["x"]` as `{"name": "x"}`), which the document doesn't promise.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "The body must be a JSON object.",
        )
        .field("body"));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // "." is the body itself, "?" a place serde couldn't tell (broken JSON).
        let path = match e.path().to_string() {
            p if p == "." || p == "?" => String::new(),
            p => p,
        };
        let inner = e.into_inner();
        let message = inner.to_string();
        // A missing field isn't in the path (its parent is); an unknown one is.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(|f| {
                if path.is_empty() {
                    f.to_string()
                } else {
                    format!("{path}.{f}")
                }
            });
        let field = missing.unwrap_or(if path.is_empty() { "body".into() } else { path });
        let code = if inner.is_syntax() || inner.is_eof() {
            "invalid_request"
        } else {
            "validation_failed"
        };
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code,
            format!("The body can't be used: {message}."),
        )
        .field(field)
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiJson<T>, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes.await.map_err(|e| payload_error(&e))?;
            parse_body(content_type.as_deref(), &body).map(ApiJson)
        })
    }
}

/// A body that couldn't be read (too large, broken transfer).
pub fn payload_error(e: &actix_web::Error) -> ApiError {
    if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The body is larger than {} KiB.", BODY_LIMIT / 1024),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("The body could not be read: {e}"),
        )
    }
}

//! The answer during an outage. Every request runs under [`outage::watch`]; when the database
//! or the store was unavailable while it ran and the handler ended in a server error, the
//! response becomes a 503 with `Retry-After`: a page that says what is safe to do for people,
//! the error format of each API for machines. No handler has to remember this, so an outage is
//! never a 500. The same middleware hands the request's ledger (statements, store commands) to
//! the metrics middleware outside it.

use std::future::Future;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpResponse};
use serde_json::json;

use crate::error::AppError;
use crate::storage::ledger::{self, Tally};
use crate::Ctx;

/// Who is asking, by path: each family has its own error format.
enum Family {
    /// OAuth and OpenID endpoints a relying party calls (RFC 6749 error JSON).
    OAuth,
    /// The management API (`ErrorBody`).
    Admin,
    /// Shared Signals stream management and polling (`err`/`description`).
    SharedSignals,
    /// Everything a browser opens: a page.
    Page,
}

fn family(path: &str) -> Family {
    match path {
        "/token" | "/revoke" | "/introspect" | "/par" | "/register" | "/userinfo" => Family::OAuth,
        _ if path.starts_with("/admin/api/") => Family::Admin,
        _ if path.starts_with("/ssf/") => Family::SharedSignals,
        _ => Family::Page,
    }
}

/// The middleware (innermost, so the page it makes is then written in the person's language
/// by `localise_error_pages`).
pub fn answer_outages<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let fut = srv.call(req);
    async move {
        let (res, tally) = ledger::scope(fut).await;
        let res = res?.map_into_boxed_body();
        // For the metrics middleware outside: what this request cost.
        res.request().extensions_mut().insert(tally);
        let Some(dependency) = tally.outage else {
            return Ok(res);
        };
        if !res.status().is_server_error() {
            return Ok(res);
        }
        let retry_after = res
            .request()
            .app_data::<web::Data<Ctx>>()
            .map(|ctx| ctx.settings.unavailable_retry_after_secs)
            .unwrap_or(30);
        tracing::warn!(
            dependency = dependency.name(),
            path = res.request().path(),
            "answered 503: a dependency is unavailable"
        );
        let (req, _) = res.into_parts();
        let response = unavailable(family(req.path()), retry_after);
        Ok(ServiceResponse::new(req, response))
    }
}

/// What the request cost, as the innermost middleware recorded it (none for a request
/// refused before it, such as an unreadable one).
pub fn tally_of(req: &actix_web::HttpRequest) -> Tally {
    req.extensions().get::<Tally>().copied().unwrap_or_default()
}

fn unavailable(family: Family, retry_after: u64) -> HttpResponse {
    let description = "The server is temporarily unable to handle the request; try again after the Retry-After delay.";
    let mut res = match family {
        Family::OAuth => HttpResponse::ServiceUnavailable().json(json!({
            "error": "temporarily_unavailable",
            "error_description": description,
        })),
        Family::Admin => HttpResponse::ServiceUnavailable().json(json!({
            "error": "unavailable",
            "message": "A service Verity depends on is unavailable. Try again after the Retry-After delay; if this request changed something, read the resource first to see whether the change was made.",
        })),
        Family::SharedSignals => HttpResponse::ServiceUnavailable().json(json!({
            "err": "temporarily_unavailable",
            "description": description,
        })),
        // The error rides along, so the page is written again in the person's language.
        Family::Page => HttpResponse::from_error(AppError::Unavailable),
    };
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

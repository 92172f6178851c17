//! Operations: health, readiness, metrics, the dev outbox, and the static files.

use actix_web::http::header::{self, AcceptEncoding, Encoding};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use crate::config::RunMode;
use crate::error::{AppError, PageResult};
use crate::metrics::ScrapeAccess;
use crate::web::browser::Browser;
use crate::web::pages::*;
use crate::Ctx;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the database and the store both answer, both asked at once and each given
/// `readiness_timeout_ms`: one that fails or doesn't answer in time is `unavailable`, and the
/// answer is a 503. Why is logged (the database's last connection error), not shown.
pub async fn readyz(ctx: web::Data<Ctx>) -> HttpResponse {
    let budget = std::time::Duration::from_millis(ctx.settings.readiness_timeout_ms);
    // The pool gives up at `budget` with its own error; the outer limit catches a query or a
    // store command that hangs on a connection already open.
    let limit = budget + std::time::Duration::from_millis(200);
    let (db, store) = tokio::join!(
        tokio::time::timeout(limit, ctx.db.ping_within(budget)),
        tokio::time::timeout(budget, ctx.store.ping()),
    );
    let state = |name: &str, r: Result<anyhow::Result<()>, tokio::time::error::Elapsed>| match r {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(dependency = name, error = %format!("{e:#}"), "not ready");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!(
                dependency = name,
                waited_ms = budget.as_millis() as u64,
                "not ready: no answer in time"
            );
            "unavailable"
        }
    };
    let (db, store) = (state("database", db), state("store", store));
    let body = serde_json::json!({ "database": db, "store": store });
    if db == "ok" && store == "ok" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `/metrics` on the main listener: only with `metrics.bearer_token` set (404 otherwise), and
/// only for a scraper that sends it (401 with `WWW-Authenticate: Bearer` otherwise).
pub async fn metrics(ctx: web::Data<Ctx>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match crate::metrics::scrape_access(&ctx.settings.metrics, bearer) {
        ScrapeAccess::Off => Err(AppError::NotFound),
        ScrapeAccess::Refused => Ok(HttpResponse::Unauthorized()
            .insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"verity-metrics\", error=\"invalid_token\"",
            ))
            .finish()),
        ScrapeAccess::Allowed => Ok(scrape(&ctx).await),
    }
}

/// `/metrics` on the separate listener (`metrics.listen`): no token, since that address is
/// meant to be reachable by the scraper only.
pub async fn metrics_private(ctx: web::Data<Ctx>) -> HttpResponse {
    scrape(&ctx).await
}

async fn scrape(ctx: &Ctx) -> HttpResponse {
    match crate::metrics::scrape::render(ctx).await {
        Ok(body) => HttpResponse::Ok()
            .content_type(crate::metrics::scrape::CONTENT_TYPE)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "metrics could not be written");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Dev mode only: every message "sent", newest first, with its links clickable.
pub async fn dev_outbox(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    if ctx.settings.env != RunMode::Dev {
        return Err(AppError::NotFound);
    }
    let rows = crate::notify::recent_outbox(&ctx.db, 100).await?;
    let messages = rows
        .into_iter()
        .map(|r| OutboxItem {
            links: r
                .body
                .split_whitespace()
                .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
                .map(str::to_string)
                .collect(),
            channel: r.channel,
            recipient: r.recipient,
            subject: r.subject,
            body: r.body,
            created_at: r.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        })
        .collect();
    render(&OutboxPage {
        layout: browser.layout_for("outbox-title"),
        messages,
    })
}

/// `/static/{hash}/{path}`: a bundle file or the operator's logo, only under the hash of what
/// it is now (see `crate::assets`), so it may be cached for a year. Any other hash is a 404:
/// a page from an older release asks again and gets the current file under its new URL.
pub async fn static_file(
    ctx: web::Data<Ctx>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (hash, name) = path.into_inner();
    let asset = if hash == crate::assets::bundle_hash() {
        crate::assets::bundle_file(&name)
    } else {
        ctx.site_logo
            .as_deref()
            .filter(|logo| logo.hash == hash && logo.name == name)
            .map(|logo| &logo.asset)
    };
    let Some(asset) = asset else {
        return Err(AppError::NotFound);
    };
    let mut res = HttpResponse::Ok();
    res.content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        // Opened on its own (an SVG, say), a file may run nothing and load nothing.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ));
    if !asset.compressible() {
        return Ok(res.body(asset.bytes.clone()));
    }
    res.insert_header((header::VARY, "Accept-Encoding"));
    let wants_gzip = req
        .get_header::<AcceptEncoding>()
        .and_then(|accept| accept.negotiate([Encoding::gzip(), Encoding::identity()].iter()))
        == Some(Encoding::gzip());
    match asset.gzipped() {
        Some(gzip) if wants_gzip => Ok(res
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(gzip.clone())),
        _ => Ok(res.body(asset.bytes.clone())),
    }
}

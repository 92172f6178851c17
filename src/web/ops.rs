//! Operations: health, readiness, the dev outbox, and the stylesheet.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::config::RunMode;
use crate::error::{AppError, PageResult};
use crate::web::browser::Browser;
use crate::web::pages::*;
use crate::Ctx;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the database and the store both answer.
pub async fn readyz(ctx: web::Data<Ctx>) -> HttpResponse {
    let db = ctx.db.ping().await;
    let store = ctx.store.ping().await;
    let status = |r: &anyhow::Result<()>| if r.is_ok() { "ok" } else { "unavailable" };
    let body = serde_json::json!({
        "database": status(&db),
        "store": status(&store),
    });
    if db.is_ok() && store.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
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

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/verity.css"))
}

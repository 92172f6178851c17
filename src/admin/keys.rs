//! Signing keys: list (public facts only, never key material) and rotate.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::auth::Agent;
use crate::admin::{Outcome, Problem};
use crate::keys::SigningKeyRow;
use crate::Ctx;

/// A signing key as operators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// The `kid` in token headers and the JWKS.
    pub kid: String,
    pub alg: String,
    /// `signing`, `published, not yet signing`, `retired, still published` or `expired`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    /// When it starts (or started) signing.
    pub active_from: DateTime<Utc>,
    /// When it stops (or stopped) signing, once a newer key was rotated in.
    pub retired_at: Option<DateTime<Utc>>,
    /// When it leaves the JWKS.
    pub published_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

/// Body of `POST /keys/rotate` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Seconds until the new key signs (default: `key_publish_lead_secs`), so that relying
    /// parties caching the JWKS see it first. At most 30 days.
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub activate_in_secs: Option<u64>,
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn view(row: &SigningKeyRow, now: NaiveDateTime, signing: Option<&str>) -> KeyView {
    KeyView {
        kid: row.id.clone(),
        alg: row.alg.clone(),
        state: row.state(now, signing).to_string(),
        created_at: utc(row.created_at),
        active_from: utc(row.active_from),
        retired_at: row.retired_at.map(utc),
        published_until: row.publish_until.map(utc),
    }
}

fn signing_kid(rows: &[SigningKeyRow], now: NaiveDateTime) -> Option<String> {
    rows.iter()
        .filter(|r| r.active_from <= now)
        .max_by_key(|r| (r.created_at, r.active_from))
        .map(|r| r.id.clone())
}

pub async fn list(ctx: &Ctx) -> Outcome<KeyList> {
    let rows = ctx.db.run(crate::keys::load_rows).await?;
    let now = ctx.clock.now();
    let signing = signing_kid(&rows, now);
    Ok(KeyList {
        items: rows
            .iter()
            .map(|r| view(r, now, signing.as_deref()))
            .collect(),
    })
}

const MAX_LEAD_SECS: u64 = 30 * 86400;

pub async fn rotate(ctx: &Ctx, agent: &Agent, req: RotateRequest) -> Outcome<KeyView> {
    let lead = req
        .activate_in_secs
        .unwrap_or(ctx.settings.security.key_publish_lead_secs);
    if lead > MAX_LEAD_SECS {
        return Err(Problem::invalid(
            "activate_in_secs",
            format!("activate_in_secs must be at most {MAX_LEAD_SECS} (30 days)"),
        ));
    }
    let row = ctx.rotate_keys(Duration::from_secs(lead)).await?;
    let (now, agent_id) = (ctx.clock.now(), agent.client_id.clone());
    let detail =
        serde_json::json!({ "kid": row.id, "alg": row.alg, "active_from": utc(row.active_from) });
    ctx.db
        .run(move |c| {
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::SigningKeyRotated,
                    user_id: None,
                    client_id: Some(&agent_id),
                    detail,
                    actor: None,
                },
            )
        })
        .await?;
    let rows = ctx.db.run(crate::keys::load_rows).await?;
    let signing = signing_kid(&rows, now);
    Ok(view(&row, now, signing.as_deref()))
}

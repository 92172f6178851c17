//! Audit events: query by person, type and time range, newest first, paged.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::keys::utc;
use crate::admin::pagination::{self, page_request};
use crate::admin::{no_control_chars, Outcome, Problem};
use crate::audit::AuditEvent;
use crate::storage::schema::audit_events;
use crate::Ctx;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    /// What happened, e.g. `phone_changed`, `user_disabled`, `signing_key_rotated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The person it concerns.
    pub user_id: Option<String>,
    /// The client that acted (for management-API changes: the agent).
    pub client_id: Option<String>,
    /// Details, as recorded.
    pub detail: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    pub items: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[param(max_length = 64)]
    pub user_id: Option<String>,
    /// Event type, exactly.
    #[serde(rename = "type")]
    #[param(rename = "type", max_length = 64)]
    pub kind: Option<String>,
    /// Events at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Events before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    pub cursor: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

const CURSOR_TIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

fn time_param(field: &str, value: Option<&str>) -> Outcome<Option<NaiveDateTime>> {
    // Present but empty is not "no filter": it's a malformed time.
    match value.map(str::trim) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc).naive_utc()))
            .map_err(|_| {
                Problem::invalid(
                    field,
                    format!("{field} must be an RFC 3339 time, e.g. 2026-11-22T08:00:00Z"),
                )
            }),
    }
}

fn view(e: AuditEvent) -> AuditEventView {
    AuditEventView {
        detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::String(e.detail)),
        id: e.id,
        kind: e.kind,
        user_id: e.user_id,
        client_id: e.client_id,
        ip: e.ip,
        user_agent: e.user_agent,
        created_at: utc(e.created_at),
    }
}

pub async fn query(ctx: &Ctx, q: &AuditQuery) -> Outcome<AuditEventPage> {
    let page = page_request(&ctx.settings, q.cursor.as_deref(), q.limit.as_deref())?;
    let since = time_param("since", q.since.as_deref())?;
    let until = time_param("until", q.until.as_deref())?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(Problem::invalid("since", "since must not be after until"));
        }
    }
    let after = match &page.after {
        None => None,
        Some(key) => match key.as_slice() {
            [at, id] => Some((
                NaiveDateTime::parse_from_str(at, CURSOR_TIME).map_err(|_| {
                    Problem::invalid("cursor", "cursor is not one this API handed out")
                })?,
                id.clone(),
            )),
            _ => {
                return Err(Problem::invalid(
                    "cursor",
                    "cursor is not one this API handed out",
                ))
            }
        },
    };
    for (field, value) in [("user_id", &q.user_id), ("type", &q.kind)] {
        if let Some(v) = value {
            if v.len() > 64 {
                return Err(Problem::invalid(
                    field,
                    format!("{field} is at most 64 characters"),
                ));
            }
            no_control_chars(field, v)?;
        }
    }
    let (user_id, kind, limit) = (
        q.user_id.clone().filter(|v| !v.is_empty()),
        q.kind.clone().filter(|v| !v.is_empty()),
        page.limit,
    );
    let rows = ctx
        .db
        .run(move |c| {
            let mut query = audit_events::table
                .select(AuditEvent::as_select())
                .order((audit_events::created_at.desc(), audit_events::id.desc()))
                .limit(limit + 1)
                .into_boxed();
            if let Some(u) = user_id {
                query = query.filter(audit_events::user_id.eq(u));
            }
            if let Some(k) = kind {
                query = query.filter(audit_events::kind.eq(k));
            }
            if let Some(s) = since {
                query = query.filter(audit_events::created_at.ge(s));
            }
            if let Some(u) = until {
                query = query.filter(audit_events::created_at.lt(u));
            }
            if let Some((at, id)) = after {
                query = query.filter(
                    audit_events::created_at
                        .lt(at)
                        .or(audit_events::created_at.eq(at).and(audit_events::id.lt(id))),
                );
            }
            Ok(query.load(c)?)
        })
        .await?;
    let page = pagination::page(rows, limit, |e: &AuditEvent| {
        vec![e.created_at.format(CURSOR_TIME).to_string(), e.id.clone()]
    });
    Ok(AuditEventPage {
        items: page.items.into_iter().map(view).collect(),
        next_cursor: page.next_cursor,
    })
}

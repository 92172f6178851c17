//! Audit events: every flow outcome that matters to a person or an operator is recorded.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::db::DbConn;
use crate::storage::schema::audit_events;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Who did it and from where.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub ip: String,
    pub user_agent: String,
}

pub fn record(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: Option<&str>,
    client_id: Option<&str>,
    kind: &str,
    detail: serde_json::Value,
    actor: Option<&Actor>,
) -> anyhow::Result<()> {
    let event = AuditEvent {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.map(str::to_string),
        client_id: client_id.map(str::to_string),
        kind: kind.to_string(),
        detail: detail.to_string(),
        ip: actor.map(|a| a.ip.clone()),
        user_agent: actor.map(|a| a.user_agent.clone()),
        created_at: now,
    };
    diesel::insert_into(audit_events::table)
        .values(&event)
        .execute(conn)?;
    Ok(())
}

pub fn for_user(conn: &mut DbConn, user_id: &str, limit: i64) -> anyhow::Result<Vec<AuditEvent>> {
    Ok(audit_events::table
        .filter(audit_events::user_id.eq(user_id))
        .order(audit_events::created_at.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// One page of a person's events, newest first, strictly older than `before` (a cursor: the
/// `created_at` of the last event of the previous page, with its id to break ties).
pub fn page_for_user(
    conn: &mut DbConn,
    user_id: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> anyhow::Result<Vec<AuditEvent>> {
    let mut q = audit_events::table
        .filter(audit_events::user_id.eq(user_id))
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some((at, id)) = before {
        q = q.filter(
            audit_events::created_at
                .lt(at)
                .or(audit_events::created_at.eq(at).and(audit_events::id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

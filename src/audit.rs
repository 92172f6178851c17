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

impl Actor {
    /// What per-IP limits are keyed by: the address itself for IPv4, its /64 network for IPv6
    /// (one subscriber usually holds a whole /64, so per-address limits would be free to dodge).
    pub fn limit_key(&self) -> String {
        match self.ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => v6
                .to_ipv4_mapped()
                .map(|v4| v4.to_string())
                .unwrap_or_default(),
            Ok(std::net::IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Ok(ip) => ip.to_string(),
            Err(_) => self.ip.clone(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::Actor;

    fn key(ip: &str) -> String {
        Actor {
            ip: ip.into(),
            user_agent: String::new(),
        }
        .limit_key()
    }

    #[test]
    fn ipv6_limits_are_keyed_by_the_64_network() {
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}

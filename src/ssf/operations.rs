//! The operator's side of Shared Signals: every relying party's streams with their backlog and
//! delivery counts, pausing, resuming and disabling a stream, replaying its failed deliveries,
//! and the counts for monitoring. Plain functions over a connection, shared by the management
//! API (`admin::ssf`) and the command line (`verity ssf`).
//!
//! Status rules: an operator's change is recorded as the operator's (`status_set_by`), queues a
//! stream-updated event (SSF §8.1.5) that is delivered even though the stream is now paused or
//! disabled, and, while it holds a stream paused or disabled, the receiver can't change the
//! status itself (`streams::set_status` answers 403); the operator resuming it gives the receiver
//! its say back. Disabling drops the stream's queued events except its stream-updated ones.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Map};

use crate::config::SsfSettings;
use crate::ssf::streams::{StreamRow, STATUS_DISABLED, STATUS_ENABLED, STATUS_PAUSED};
use crate::ssf::EVENT_STREAM_UPDATED;
use crate::storage::db::DbConn;
use crate::storage::schema::{ssf_delivery_counts, ssf_events, ssf_streams};

/// `status_set_by`: the receiver, through `POST /ssf/status` (and every new stream).
pub const SET_BY_RECEIVER: &str = "receiver";
/// `status_set_by`: an operator, through the management API or the command line.
pub const SET_BY_OPERATOR: &str = "operator";
/// The agent named for changes made with `verity ssf`.
pub const AGENT_CLI: &str = "cli";

/// The longest reason an operator may give (the receiver's limit too).
pub const MAX_REASON_CHARS: usize = 500;

/// Who acts for the transmitter.
#[derive(Clone, Copy, Debug)]
pub enum Operator<'a> {
    /// An admin client of the management API (its client id).
    Agent(&'a str),
    /// `verity ssf` on a server's command line.
    Cli,
}

impl Operator<'_> {
    fn name(&self) -> &str {
        match self {
            Operator::Agent(id) => id,
            Operator::Cli => AGENT_CLI,
        }
    }

    /// The audit event's `client_id`: the agent client (the command line has none).
    fn audit_client(&self) -> Option<&str> {
        match self {
            Operator::Agent(id) => Some(id),
            Operator::Cli => None,
        }
    }
}

/// What an operator may do to a stream's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    Disable,
}

impl Action {
    pub fn status(self) -> &'static str {
        match self {
            Action::Pause => STATUS_PAUSED,
            Action::Resume => STATUS_ENABLED,
            Action::Disable => STATUS_DISABLED,
        }
    }
}

/// A reason an operator gives: at most [`MAX_REASON_CHARS`], no control characters (it goes
/// into a SET and the database, which refuses NUL).
pub fn check_reason(reason: &str) -> Result<(), String> {
    if reason.is_empty() {
        return Err("reason must not be empty (leave it out instead)".into());
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(format!(
            "reason is longer than {MAX_REASON_CHARS} characters"
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err("reason must not contain control characters".into());
    }
    Ok(())
}

/// Delivery outcomes of a stream (or of all streams), counted since the stream was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Push: answered 2xx. Poll: acknowledged.
    pub delivered: i64,
    /// Refused by the receiver: push 400, poll `setErrs`.
    pub refused: i64,
    /// Push attempts that failed and were retried (5xx, no answer).
    pub failed: i64,
    /// Dropped unacknowledged after `ssf.retention_days`.
    pub expired: i64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.delivered += other.delivered;
        self.refused += other.refused;
        self.failed += other.failed;
        self.expired += other.expired;
    }
}

/// Everything an operator sees of one stream.
#[derive(Clone, Debug)]
pub struct Overview {
    pub stream: StreamRow,
    /// [`SET_BY_RECEIVER`] or [`SET_BY_OPERATOR`].
    pub status_set_by: String,
    /// The operator's agent (admin client id, or [`AGENT_CLI`]); None when the receiver set it.
    pub status_agent: Option<String>,
    /// When the status last changed; None if never since the stream was made.
    pub status_changed_at: Option<NaiveDateTime>,
    /// Events not yet delivered or acknowledged (held, waiting, retrying).
    pub backlog: i64,
    /// When the oldest of them was queued.
    pub oldest_waiting: Option<NaiveDateTime>,
    /// Events a replay would make due again (refused, or retrying after failures).
    pub replayable: i64,
    pub counts: Counts,
}

type Extra = (String, Option<String>, Option<NaiveDateTime>);

fn extra_columns() -> (
    ssf_streams::status_set_by,
    ssf_streams::status_agent,
    ssf_streams::status_changed_at,
) {
    (
        ssf_streams::status_set_by,
        ssf_streams::status_agent,
        ssf_streams::status_changed_at,
    )
}

/// Streams of every relying party (or of `client_id`), oldest first, after the `(created_at,
/// id)` of the previous page, at most `limit`.
pub fn list(
    conn: &mut DbConn,
    client_id: Option<&str>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<Overview>> {
    let mut q = ssf_streams::table
        .order((ssf_streams::created_at.asc(), ssf_streams::id.asc()))
        .limit(limit)
        .select((StreamRow::as_select(), extra_columns()))
        .into_boxed();
    if let Some(client) = client_id {
        q = q.filter(ssf_streams::client_id.eq(client.to_string()));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            ssf_streams::created_at
                .gt(at)
                .or(ssf_streams::created_at.eq(at).and(ssf_streams::id.gt(id))),
        );
    }
    let rows: Vec<(StreamRow, Extra)> = q.load(conn)?;
    overviews(conn, rows, now)
}

/// One stream, whoever it belongs to.
pub fn one(
    conn: &mut DbConn,
    stream_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Overview>> {
    let row: Option<(StreamRow, Extra)> = ssf_streams::table
        .find(stream_id)
        .select((StreamRow::as_select(), extra_columns()))
        .first(conn)
        .optional()?;
    Ok(overviews(conn, row.into_iter().collect(), now)?.pop())
}

fn overviews(
    conn: &mut DbConn,
    rows: Vec<(StreamRow, Extra)>,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<Overview>> {
    let ids: Vec<String> = rows.iter().map(|(r, _)| r.id.clone()).collect();
    let backlog = backlogs(conn, &ids)?;
    let replayable: Vec<(String, i64)> = replayable_events(now)
        .filter(ssf_events::stream_id.eq_any(&ids))
        .group_by(ssf_events::stream_id)
        .select((ssf_events::stream_id, diesel::dsl::count_star()))
        .load(conn)?;
    let counts = counts_of(conn, Some(&ids))?;
    Ok(rows
        .into_iter()
        .map(|(stream, (set_by, agent, changed_at))| {
            let waiting = backlog.iter().find(|(id, _, _)| *id == stream.id);
            Overview {
                status_set_by: set_by,
                status_agent: agent,
                status_changed_at: changed_at,
                backlog: waiting.map_or(0, |w| w.1),
                oldest_waiting: waiting.and_then(|w| w.2),
                replayable: replayable
                    .iter()
                    .find(|(id, _)| *id == stream.id)
                    .map_or(0, |r| r.1),
                counts: counts
                    .iter()
                    .find(|(id, _, _)| *id == stream.id)
                    .map_or_else(Counts::default, |c| c.2),
                stream,
            }
        })
        .collect())
}

/// Per stream: events not yet delivered or acknowledged, and when the oldest was queued.
fn backlogs(
    conn: &mut DbConn,
    ids: &[String],
) -> anyhow::Result<Vec<(String, i64, Option<NaiveDateTime>)>> {
    Ok(ssf_events::table
        .filter(ssf_events::stream_id.eq_any(ids))
        .filter(ssf_events::acked_at.is_null())
        .group_by(ssf_events::stream_id)
        .select((
            ssf_events::stream_id,
            diesel::dsl::count_star(),
            diesel::dsl::min(ssf_events::created_at),
        ))
        .load(conn)?)
}

/// The query type of [`replayable_events`].
type Replayable = diesel::dsl::Filter<
    diesel::dsl::Filter<ssf_events::table, diesel::dsl::IsNotNull<ssf_events::last_error>>,
    diesel::dsl::Or<
        diesel::dsl::IsNull<ssf_events::lease_until>,
        diesel::dsl::LtEq<ssf_events::lease_until, NaiveDateTime>,
    >,
>;

/// What a replay takes: events with an error (refused, or retrying) that no node is sending
/// right now.
fn replayable_events(now: NaiveDateTime) -> Replayable {
    ssf_events::table
        .filter(ssf_events::last_error.is_not_null())
        .filter(
            ssf_events::lease_until
                .is_null()
                .or(ssf_events::lease_until.le(now)),
        )
}

/// Rows of `ssf_delivery_counts` (of `ids`, or all): stream, its client, counts.
fn counts_of(
    conn: &mut DbConn,
    ids: Option<&[String]>,
) -> anyhow::Result<Vec<(String, String, Counts)>> {
    let mut q = ssf_delivery_counts::table
        .select((
            ssf_delivery_counts::stream_id,
            ssf_delivery_counts::client_id,
            ssf_delivery_counts::delivered,
            ssf_delivery_counts::refused,
            ssf_delivery_counts::failed,
            ssf_delivery_counts::expired,
        ))
        .into_boxed();
    if let Some(ids) = ids {
        q = q.filter(ssf_delivery_counts::stream_id.eq_any(ids.to_vec()));
    }
    let rows: Vec<(String, String, i64, i64, i64, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(s, c, delivered, refused, failed, expired)| {
            (
                s,
                c,
                Counts {
                    delivered,
                    refused,
                    failed,
                    expired,
                },
            )
        })
        .collect())
}

/// How an operator's status change went.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    NotFound,
    /// The stream already had this status and reason, set by an operator: nothing was done.
    Unchanged,
    /// Recorded, audited, and a stream-updated event queued.
    Changed,
}

/// An operator pauses, resumes or disables a stream. The change is the operator's (the
/// receiver can't undo a pause or disable), is audited, and queues a stream-updated event with
/// the new status and the reason, delivered whatever the status. Disabling drops the stream's
/// other queued events. Runs under the stream's status lock, like the receiver's change.
pub fn set_status(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    stream_id: &str,
    action: Action,
    reason: Option<&str>,
    by: Operator<'_>,
) -> anyhow::Result<Change> {
    let status = action.status();
    crate::storage::db::write_tx(conn, |c| {
        crate::storage::db::serialize_on(c, &status_lock(stream_id))?;
        let current: Option<(String, String, Option<String>, String)> = ssf_streams::table
            .find(stream_id)
            .select((
                ssf_streams::client_id,
                ssf_streams::status,
                ssf_streams::status_reason,
                ssf_streams::status_set_by,
            ))
            .first(c)
            .optional()?;
        let Some((client_id, was, was_reason, was_set_by)) = current else {
            return Ok(Change::NotFound);
        };
        if was == status && was_reason.as_deref() == reason && was_set_by == SET_BY_OPERATOR {
            return Ok(Change::Unchanged);
        }
        diesel::update(ssf_streams::table.find(stream_id))
            .set((
                ssf_streams::status.eq(status),
                ssf_streams::status_reason.eq(reason),
                ssf_streams::status_set_by.eq(SET_BY_OPERATOR),
                ssf_streams::status_agent.eq(by.name()),
                ssf_streams::status_changed_at.eq(now),
                ssf_streams::updated_at.eq(now),
            ))
            .execute(c)?;
        if status == STATUS_DISABLED {
            // A disabled stream holds nothing, except what tells the receiver about it.
            diesel::delete(
                ssf_events::table
                    .filter(ssf_events::stream_id.eq(stream_id))
                    .filter(ssf_events::event_type.ne(EVENT_STREAM_UPDATED)),
            )
            .execute(c)?;
        }
        queue_stream_updated(c, settings, now, stream_id, status, reason)?;
        crate::audit::record(
            c,
            now,
            crate::audit::Event {
                kind: crate::audit::Kind::SsfStreamStatusChanged,
                user_id: None,
                client_id: by.audit_client(),
                detail: json!({
                    "stream_id": stream_id,
                    "receiver_client_id": client_id,
                    "status": status,
                    "previous_status": was,
                    "reason": reason,
                    "agent": by.name(),
                }),
                actor: None,
            },
        )?;
        Ok::<_, anyhow::Error>(Change::Changed)
    })
}

/// The lock both the operator's and the receiver's status changes take.
pub(crate) fn status_lock(stream_id: &str) -> String {
    format!("ssf-status:{stream_id}")
}

/// Queues SSF §8.1.5's stream-updated event (`status`, optional `reason`; its `sub_id` is the
/// stream, `opaque`, as `events::sign_set` signs every event about no person). Sent whatever
/// events the stream asked for.
pub(crate) fn queue_stream_updated(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    stream_id: &str,
    status: &str,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let mut members = Map::new();
    members.insert("status".into(), json!(status));
    if let Some(reason) = reason {
        members.insert("reason".into(), json!(reason));
    }
    crate::ssf::events::enqueue_stream_event(
        conn,
        settings,
        now,
        stream_id,
        EVENT_STREAM_UPDATED,
        members,
    )
}

fn retention(settings: &SsfSettings) -> chrono::Duration {
    chrono::Duration::days(i64::from(settings.retention_days))
}

/// Makes a stream's failed deliveries due again now: events the receiver refused (push 400,
/// poll `setErrs`: acknowledged with an error) and events still being retried, except one a
/// node is sending this moment. Their attempts start again from zero, and each gets a full
/// `ssf.retention_days` from now (a replay is a new delivery the operator asked for; the SET
/// keeps its `jti` and `iat`, so a receiver that did take it can tell). A paused stream sends
/// them once enabled. Audited; returns how many, or None when there is no such stream.
pub fn replay(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    stream_id: &str,
    by: Operator<'_>,
) -> anyhow::Result<Option<usize>> {
    crate::storage::db::write_tx(conn, |c| {
        let client_id: Option<String> = ssf_streams::table
            .find(stream_id)
            .select(ssf_streams::client_id)
            .first(c)
            .optional()?;
        let Some(client_id) = client_id else {
            return Ok(None);
        };
        let none: Option<NaiveDateTime> = None;
        let nobody: Option<String> = None;
        let replayed =
            diesel::update(replayable_events(now).filter(ssf_events::stream_id.eq(stream_id)))
                .set((
                    ssf_events::acked_at.eq(none),
                    ssf_events::delivered_at.eq(none),
                    ssf_events::attempts.eq(0),
                    ssf_events::next_attempt_at.eq(now),
                    ssf_events::last_error.eq(nobody.clone()),
                    ssf_events::lease_owner.eq(nobody),
                    ssf_events::lease_until.eq(none),
                    ssf_events::expires_at.eq(now + retention(settings)),
                ))
                .execute(c)?;
        crate::audit::record(
            c,
            now,
            crate::audit::Event {
                kind: crate::audit::Kind::SsfStreamReplayed,
                user_id: None,
                client_id: by.audit_client(),
                detail: json!({
                    "stream_id": stream_id,
                    "receiver_client_id": client_id,
                    "replayed": replayed,
                    "agent": by.name(),
                }),
                actor: None,
            },
        )?;
        Ok::<_, anyhow::Error>(Some(replayed))
    })
}

/// Delivery counts for monitoring: the totals over every stream there ever was (they never go
/// down: a deleted stream's counts stay in), and per live stream its counts and backlog.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Metrics {
    pub totals: Counts,
    pub streams: Vec<StreamMetrics>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StreamMetrics {
    pub stream_id: String,
    pub client_id: String,
    pub counts: Counts,
    /// Events not yet delivered or acknowledged.
    pub backlog: i64,
}

/// Every stream's queue at once, for `/metrics`: events not yet delivered or acknowledged, the
/// oldest of them, and how many of them failed their last push.
pub fn queue_state(conn: &mut DbConn) -> anyhow::Result<crate::metrics::scrape::QueueState> {
    // Per stream, as the operator's list counts it (and along the stream's index).
    let ids: Vec<String> = ssf_streams::table.select(ssf_streams::id).load(conn)?;
    let backlog = backlogs(conn, &ids)?;
    let retrying: i64 = ssf_events::table
        .filter(ssf_events::stream_id.eq_any(&ids))
        .filter(ssf_events::acked_at.is_null())
        .filter(ssf_events::last_error.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(crate::metrics::scrape::QueueState {
        depth: backlog.iter().map(|(_, n, _)| n).sum(),
        oldest: backlog.iter().filter_map(|(_, _, oldest)| *oldest).min(),
        retrying,
    })
}

pub fn metrics(conn: &mut DbConn) -> anyhow::Result<Metrics> {
    let counted = counts_of(conn, None)?;
    let mut totals = Counts::default();
    for (_, _, c) in &counted {
        totals.add(c);
    }
    let live: Vec<(String, String)> = ssf_streams::table
        .order((ssf_streams::created_at.asc(), ssf_streams::id.asc()))
        .select((ssf_streams::id, ssf_streams::client_id))
        .load(conn)?;
    let ids: Vec<String> = live.iter().map(|(id, _)| id.clone()).collect();
    let backlog = backlogs(conn, &ids)?;
    let streams = live
        .into_iter()
        .map(|(stream_id, client_id)| StreamMetrics {
            counts: counted
                .iter()
                .find(|(id, _, _)| *id == stream_id)
                .map_or_else(Counts::default, |c| c.2),
            backlog: backlog
                .iter()
                .find(|(id, _, _)| *id == stream_id)
                .map_or(0, |b| b.1),
            stream_id,
            client_id,
        })
        .collect();
    Ok(Metrics { totals, streams })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_bounded_and_printable() {
        assert!(check_reason("maintenance until 18:00 UTC").is_ok());
        assert!(check_reason(&"é".repeat(MAX_REASON_CHARS)).is_ok());
        assert!(check_reason(&"é".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert!(check_reason("").is_err());
        assert!(check_reason("a\u{0}b").is_err());
        assert!(check_reason("line\nbreak").is_err());
    }

    #[test]
    fn each_action_names_its_status() {
        assert_eq!(Action::Pause.status(), STATUS_PAUSED);
        assert_eq!(Action::Resume.status(), STATUS_ENABLED);
        assert_eq!(Action::Disable.status(), STATUS_DISABLED);
        assert_eq!(Operator::Cli.name(), AGENT_CLI);
        assert_eq!(Operator::Cli.audit_client(), None);
        assert_eq!(Operator::Agent("desk").audit_client(), Some("desk"));
    }
}

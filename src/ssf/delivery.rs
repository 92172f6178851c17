//! What push and poll delivery share: the per-stream outcome counters (kept in the database and
//! bumped in the transaction that records each outcome, so every node's deliveries add up),
//! dropping expired events, the events one poll hands out, and long polling (RFC 8936
//! `returnImmediately: false`).

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ssf::events::EventRow;
use crate::ssf::streams::STATUS_ENABLED;
use crate::ssf::EVENT_STREAM_UPDATED;
use crate::storage::db::DbConn;
use crate::storage::schema::{ssf_delivery_counts, ssf_events, ssf_streams};
use crate::storage::store::Store;
use crate::Ctx;

/// What became of a delivery, as counted per stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Push: a 2xx answer. Poll: acknowledged.
    Delivered,
    /// Push: a 400 answer. Poll: named in `setErrs`. Kept with its error, not sent again.
    Refused,
    /// Push: an attempt that failed (5xx, no answer); the event is retried.
    Failed,
    /// Dropped unacknowledged after `ssf.retention_days`.
    Expired,
}

/// Adds `n` to a stream's count of `outcome`. Call it inside the `write_tx` that records the
/// outcome. The stream's row of counts is made at its first outcome, under a lock on the
/// stream, so two nodes can't both insert it.
pub(crate) fn count(
    conn: &mut DbConn,
    stream_id: &str,
    outcome: Outcome,
    n: i64,
) -> anyhow::Result<()> {
    if n <= 0 {
        return Ok(());
    }
    let bump = |c: &mut DbConn| -> QueryResult<usize> {
        use ssf_delivery_counts as t;
        let row = t::table.find(stream_id);
        match outcome {
            Outcome::Delivered => diesel::update(row)
                .set(t::delivered.eq(t::delivered + n))
                .execute(c),
            Outcome::Refused => diesel::update(row)
                .set(t::refused.eq(t::refused + n))
                .execute(c),
            Outcome::Failed => diesel::update(row)
                .set(t::failed.eq(t::failed + n))
                .execute(c),
            Outcome::Expired => diesel::update(row)
                .set(t::expired.eq(t::expired + n))
                .execute(c),
        }
    };
    if bump(conn)? == 1 {
        return Ok(());
    }
    crate::storage::db::serialize_on(conn, &format!("ssf-counts:{stream_id}"))?;
    if bump(conn)? == 1 {
        return Ok(());
    }
    let client_id: String = ssf_streams::table
        .find(stream_id)
        .select(ssf_streams::client_id)
        .first(conn)
        .optional()?
        .unwrap_or_default();
    diesel::insert_into(ssf_delivery_counts::table)
        .values((
            ssf_delivery_counts::stream_id.eq(stream_id),
            ssf_delivery_counts::client_id.eq(client_id),
            ssf_delivery_counts::delivered.eq(0i64),
            ssf_delivery_counts::refused.eq(0i64),
            ssf_delivery_counts::failed.eq(0i64),
            ssf_delivery_counts::expired.eq(0i64),
        ))
        .execute(conn)?;
    bump(conn)?;
    Ok(())
}

/// Drops the events of every stream whose time ran out (`ssf.retention_days`), counting those
/// never acknowledged as expired. Call it inside a `write_tx`. Each stream's count is what its
/// own `DELETE` removed, so two nodes dropping the same events at once count them once. The
/// counts are bumped after every delete, in stream order (as every transaction here takes
/// event rows before count rows), so concurrent outcomes can't deadlock with it.
pub(crate) fn drop_expired(conn: &mut DbConn, now: NaiveDateTime) -> anyhow::Result<()> {
    let unacked = || {
        ssf_events::table
            .filter(ssf_events::expires_at.le(now))
            .filter(ssf_events::acked_at.is_null())
    };
    let streams: Vec<String> = unacked()
        .select(ssf_events::stream_id)
        .distinct()
        .order(ssf_events::stream_id.asc())
        .load(conn)?;
    let mut dropped = Vec::new();
    for stream_id in streams {
        let n =
            diesel::delete(unacked().filter(ssf_events::stream_id.eq(&stream_id))).execute(conn)?;
        dropped.push((stream_id, n));
    }
    // Acknowledged ones: their outcome was counted when it happened.
    diesel::delete(ssf_events::table.filter(ssf_events::expires_at.le(now))).execute(conn)?;
    for (stream_id, n) in dropped {
        count(conn, &stream_id, Outcome::Expired, n as i64)?;
    }
    Ok(())
}

/// The events one poll answers: the oldest not yet acknowledged, stream-updated events first
/// (they are answered whatever the status: an operator's pause or disable must reach the
/// receiver), then, only while the stream is enabled, the others. At most `max`; the second
/// value says whether more wait. Each answered event counts an attempt. Empty when the stream
/// is gone.
pub(crate) fn hand_out(
    conn: &mut DbConn,
    stream_id: &str,
    max: u32,
    now: NaiveDateTime,
) -> anyhow::Result<(Vec<EventRow>, bool)> {
    crate::storage::db::write_tx(conn, |c| {
        let status: Option<String> = ssf_streams::table
            .find(stream_id)
            .select(ssf_streams::status)
            .first(c)
            .optional()?;
        let Some(status) = status else {
            return Ok((Vec::new(), false));
        };
        let waiting = || {
            ssf_events::table
                .filter(ssf_events::stream_id.eq(stream_id))
                .filter(ssf_events::acked_at.is_null())
                .filter(ssf_events::expires_at.gt(now))
                .order((ssf_events::created_at.asc(), ssf_events::id.asc()))
                .select(EventRow::as_select())
        };
        let want = i64::from(max) + 1;
        let mut rows: Vec<EventRow> = waiting()
            .filter(ssf_events::event_type.eq(EVENT_STREAM_UPDATED))
            .limit(want)
            .load(c)?;
        if status == STATUS_ENABLED && (rows.len() as i64) < want {
            let others: Vec<EventRow> = waiting()
                .filter(ssf_events::event_type.ne(EVENT_STREAM_UPDATED))
                .limit(want - rows.len() as i64)
                .load(c)?;
            rows.extend(others);
        }
        let more = rows.len() > max as usize;
        rows.truncate(max as usize);
        let handed: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        diesel::update(ssf_events::table.filter(ssf_events::id.eq_any(&handed)))
            .set((
                ssf_events::attempts.eq(ssf_events::attempts + 1),
                ssf_events::delivered_at.eq(now),
            ))
            .execute(c)?;
        Ok::<_, anyhow::Error>((rows, more))
    })
}

/// Whether a waiting poll should stop waiting: the stream is gone or no longer enabled (an
/// operator or the receiver paused or disabled it), or an event waits. A read, no transaction.
fn wait_is_over(conn: &mut DbConn, stream_id: &str, now: NaiveDateTime) -> anyhow::Result<bool> {
    let status: Option<String> = ssf_streams::table
        .find(stream_id)
        .select(ssf_streams::status)
        .first(conn)
        .optional()?;
    if status.as_deref() != Some(STATUS_ENABLED) {
        return Ok(true);
    }
    let waiting: i64 = ssf_events::table
        .filter(ssf_events::stream_id.eq(stream_id))
        .filter(ssf_events::acked_at.is_null())
        .filter(ssf_events::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok(waiting > 0)
}

/// Waits up to `ssf.long_poll_secs` until [`wait_is_over`], looking every `ssf.push_poll_ms`.
/// Between looks it holds no database connection: each look borrows one and gives it back.
pub(crate) async fn wait_for_events(ctx: &Ctx, stream_id: &str) -> anyhow::Result<()> {
    let settings = &ctx.settings.ssf;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(settings.long_poll_secs);
    let period = Duration::from_millis(settings.push_poll_ms.max(50));
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        tokio::time::sleep(period.min(left)).await;
        let (sid, now) = (stream_id.to_string(), ctx.clock.now());
        if ctx.db.run(move |c| wait_is_over(c, &sid, now)).await? {
            return Ok(());
        }
    }
}

/// The right to wait on a stream: one waiting poll per stream at a time, across every node
/// (a store key: Redis when there are several nodes). A second poll asking to wait while one
/// does is answered at once. The key outlives the longest wait by a margin, so a node that dies
/// while waiting frees it soon; it is given back when the wait ends, also when the receiver
/// hangs up (the request is dropped).
pub(crate) struct WaitSlot {
    store: Arc<dyn Store>,
    key: String,
    token: String,
    held: bool,
}

/// How long a slot outlives the longest wait, for a node that dies while waiting.
const SLOT_MARGIN_SECS: u64 = 30;

impl WaitSlot {
    pub(crate) async fn take(ctx: &Ctx, stream_id: &str) -> anyhow::Result<Option<WaitSlot>> {
        let key = format!("ssf_long_poll:{stream_id}");
        let token = crate::crypto::random_token(12);
        let ttl = Duration::from_secs(ctx.settings.ssf.long_poll_secs + SLOT_MARGIN_SECS);
        if !ctx.store.put_if_absent(&key, &token, ttl).await? {
            return Ok(None);
        }
        Ok(Some(WaitSlot {
            store: ctx.store.clone(),
            key,
            token,
            held: true,
        }))
    }

    pub(crate) async fn release(mut self) -> anyhow::Result<()> {
        self.held = false;
        self.store
            .delete_if_equals(&self.key, &self.token, &[])
            .await?;
        Ok(())
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        // Dropped mid-wait (the receiver hung up): give the slot back in the background.
        let (store, key, token) = (self.store.clone(), self.key.clone(), self.token.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.delete_if_equals(&key, &token, &[]).await {
                    tracing::warn!(error = %format!("{e:#}"), "freeing a long-poll slot failed; it runs out by itself");
                }
            });
        }
    }
}

//! Push delivery (RFC 8935): each node's worker takes due events of enabled push streams (and
//! stream-updated events of any push stream: an operator's pause must reach the receiver) under
//! a lease (`lease_owner`, `lease_until`), so one node at a time sends a given event, signs each
//! into a SET and POSTs it as `application/secevent+jwt` to the receiver's endpoint. A 2xx
//! answer (RFC 8935 says 202) is delivered; a 400 is the receiver's refusal (`{err,
//! description}`, kept, not retried); anything else is retried after
//! `ssf.push_retry_base_secs · 2^attempts` (capped at an hour) until the event expires. The
//! queue is the database, so deliveries survive a restart; a node that dies holding a lease
//! leaves its events to the others once the lease runs out (the receiver may then get a SET
//! twice, with the same `jti`). A node that stops cleanly ([`PushWorker::stop`]) finishes the
//! attempt in flight and hands back the events it took but hadn't tried, so nothing is sent
//! twice and nothing waits for a lease.

use diesel::prelude::*;
use serde::Deserialize;
use tokio::sync::watch;

use crate::ssf::delivery::{self, Outcome};
use crate::ssf::events::{sign_set, EventRow};
use crate::ssf::streams::{StreamRow, STATUS_ENABLED};
use crate::ssf::{DELIVERY_PUSH, EVENT_STREAM_UPDATED};
use crate::storage::schema::{ssf_events, ssf_streams};
use crate::Ctx;

/// The most events one round takes.
const BATCH: i64 = 50;
/// The most of a receiver's answer read.
const ANSWER_CAP: usize = 16 * 1024;

/// RFC 8935 §2.3: a receiver's refusal.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Refusal {
    err: String,
    description: String,
}

/// Takes the due events this node may send, under a lease of `ssf.push_lease_secs`.
async fn claim(ctx: &Ctx, node: &str) -> anyhow::Result<Vec<(EventRow, StreamRow)>> {
    let now = ctx.clock.now();
    let until = now + chrono::Duration::seconds(ctx.settings.ssf.push_lease_secs as i64);
    let node = node.to_string();
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let free = || {
                    ssf_events::lease_until
                        .is_null()
                        .or(ssf_events::lease_until.le(now))
                };
                // Stream-updated events first, whatever the stream's status (an operator's
                // pause or disable must reach the receiver before delivery stops), then the
                // others of enabled streams.
                let due = || {
                    ssf_events::table
                        .inner_join(ssf_streams::table)
                        .filter(ssf_streams::delivery_method.eq(DELIVERY_PUSH))
                        .filter(ssf_events::acked_at.is_null())
                        .filter(ssf_events::expires_at.gt(now))
                        .filter(ssf_events::next_attempt_at.le(now))
                        .filter(free())
                        .order((ssf_events::created_at.asc(), ssf_events::id.asc()))
                        .select(ssf_events::id)
                };
                let mut due_ids: Vec<String> = due()
                    .filter(ssf_events::event_type.eq(EVENT_STREAM_UPDATED))
                    .limit(BATCH)
                    .load(c)?;
                let room = BATCH - due_ids.len() as i64;
                if room > 0 {
                    let others: Vec<String> = due()
                        .filter(ssf_events::event_type.ne(EVENT_STREAM_UPDATED))
                        .filter(ssf_streams::status.eq(STATUS_ENABLED))
                        .limit(room)
                        .load(c)?;
                    due_ids.extend(others);
                }
                let mut taken = Vec::new();
                for id in due_ids {
                    // Compare and set: of nodes racing for one event, one row update wins.
                    let won = diesel::update(
                        ssf_events::table
                            .find(&id)
                            .filter(ssf_events::acked_at.is_null())
                            .filter(free()),
                    )
                    .set((
                        ssf_events::lease_owner.eq(&node),
                        ssf_events::lease_until.eq(until),
                    ))
                    .execute(c)?;
                    if won == 1 {
                        let pair: (EventRow, StreamRow) = ssf_events::table
                            .inner_join(ssf_streams::table)
                            .filter(ssf_events::id.eq(&id))
                            .select((EventRow::as_select(), StreamRow::as_select()))
                            .first(c)?;
                        taken.push(pair);
                    }
                }
                Ok::<_, anyhow::Error>(taken)
            })
        })
        .await
}

/// What became of one attempt.
enum Attempt {
    Delivered,
    Refused(String),
    Failed(String),
}

async fn attempt(ctx: &Ctx, event: &EventRow, stream: &StreamRow) -> Attempt {
    let Some(url) = stream.endpoint_url.as_deref() else {
        return Attempt::Failed("the stream has no endpoint".into());
    };
    let authorization = match crate::ssf::streams::authorization_header(ctx, stream) {
        Ok(h) => h,
        Err(e) => return Attempt::Failed(format!("the stored authorization header: {e}")),
    };
    let set = match sign_set(ctx, stream, event).await {
        Ok(s) => s,
        Err(e) => return Attempt::Failed(format!("signing failed: {e}")),
    };
    match ctx
        .outbound
        .post_set(url, &set, authorization.as_deref(), ANSWER_CAP)
        .await
    {
        Ok((status, _)) if (200..300).contains(&status) => Attempt::Delivered,
        Ok((400, body)) => {
            let r: Refusal = serde_json::from_slice(&body).unwrap_or_default();
            let why: String = format!("refused: {}: {}", r.err, r.description)
                .chars()
                .take(500)
                .collect();
            Attempt::Refused(why)
        }
        Ok((status, _)) => Attempt::Failed(format!("HTTP {status}")),
        Err(e) => Attempt::Failed(e.to_string()),
    }
}

/// One round: drops expired events (of every stream, poll ones too), then claims due events
/// and sends each; returns how many were delivered.
pub async fn deliver_due(ctx: &Ctx, node: &str) -> anyhow::Result<usize> {
    deliver_round(ctx, node, None).await
}

/// [`deliver_due`], stopping early once `stop` is set: the events taken but not yet tried are
/// released (their lease cleared) for the next node or start.
async fn deliver_round(
    ctx: &Ctx,
    node: &str,
    stop: Option<&watch::Receiver<bool>>,
) -> anyhow::Result<usize> {
    let now = ctx.clock.now();
    ctx.db
        .run(move |c| crate::storage::db::write_tx(c, |c| delivery::drop_expired(c, now)))
        .await?;
    let mut delivered = 0;
    let mut taken = claim(ctx, node).await?.into_iter();
    while let Some((event, stream)) = taken.next() {
        if stop.is_some_and(|s| *s.borrow()) {
            let untried: Vec<String> = std::iter::once(event.id)
                .chain(taken.map(|(e, _)| e.id))
                .collect();
            release(ctx, node, untried).await?;
            break;
        }
        let outcome = attempt(ctx, &event, &stream).await;
        let now = ctx.clock.now();
        let base = ctx.settings.ssf.push_retry_base_secs as i64;
        let (id, owner) = (event.id.clone(), node.to_string());
        if matches!(outcome, Attempt::Delivered) {
            delivered += 1;
        }
        if let Attempt::Failed(why) = &outcome {
            tracing::warn!(stream_id = %stream.id, jti = %event.jti, error = %why, "SSF push delivery failed; will retry");
        }
        let stream_id = stream.id.clone();
        ctx.db
            .run(move |c| {
                crate::storage::db::write_tx(c, |c| {
                    let mine = ssf_events::table
                        .filter(ssf_events::id.eq(&id))
                        .filter(ssf_events::lease_owner.eq(&owner));
                    let attempts: i32 = ssf_events::table
                        .find(&id)
                        .select(ssf_events::attempts)
                        .first(c)
                        .optional()?
                        .unwrap_or(0)
                        + 1;
                    let none: Option<chrono::NaiveDateTime> = None;
                    let no_owner: Option<String> = None;
                    let no_error: Option<String> = None;
                    // Counted only when the lease was still ours: a node that lost it to
                    // another doesn't count the same event twice.
                    let (kind, recorded) = match outcome {
                        Attempt::Delivered => (
                            Outcome::Delivered,
                            diesel::update(mine)
                                .set((
                                    ssf_events::delivered_at.eq(now),
                                    ssf_events::acked_at.eq(now),
                                    ssf_events::attempts.eq(attempts),
                                    // Acknowledged with an error means refused: a delivery
                                    // after failed attempts leaves none.
                                    ssf_events::last_error.eq(no_error),
                                    ssf_events::lease_owner.eq(no_owner),
                                    ssf_events::lease_until.eq(none),
                                ))
                                .execute(c)?,
                        ),
                        Attempt::Refused(why) => (
                            Outcome::Refused,
                            diesel::update(mine)
                                .set((
                                    ssf_events::acked_at.eq(now),
                                    ssf_events::attempts.eq(attempts),
                                    ssf_events::last_error.eq(why),
                                    ssf_events::lease_owner.eq(no_owner),
                                    ssf_events::lease_until.eq(none),
                                ))
                                .execute(c)?,
                        ),
                        Attempt::Failed(why) => {
                            let wait = base.saturating_mul(1 << attempts.clamp(0, 20)).min(3600);
                            (
                                Outcome::Failed,
                                diesel::update(mine)
                                    .set((
                                        ssf_events::attempts.eq(attempts),
                                        ssf_events::next_attempt_at
                                            .eq(now + chrono::Duration::seconds(wait)),
                                        ssf_events::last_error.eq(why),
                                        ssf_events::lease_owner.eq(no_owner),
                                        ssf_events::lease_until.eq(none),
                                    ))
                                    .execute(c)?,
                            )
                        }
                    };
                    delivery::count(c, &stream_id, kind, recorded as i64)
                })
            })
            .await?;
    }
    Ok(delivered)
}

/// Clears this node's lease on events it took but didn't try.
async fn release(ctx: &Ctx, node: &str, ids: Vec<String>) -> anyhow::Result<()> {
    let node = node.to_string();
    ctx.db
        .run(move |c| {
            let none: Option<chrono::NaiveDateTime> = None;
            let no_owner: Option<String> = None;
            diesel::update(
                ssf_events::table
                    .filter(ssf_events::id.eq_any(&ids))
                    .filter(ssf_events::lease_owner.eq(&node)),
            )
            .set((
                ssf_events::lease_owner.eq(no_owner),
                ssf_events::lease_until.eq(none),
            ))
            .execute(c)?;
            Ok(())
        })
        .await
}

/// A node's running delivery worker.
pub struct PushWorker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PushWorker {
    /// Stops cleanly: no new attempt starts, the one in flight is finished and recorded (at
    /// most `security.outbound_timeout_secs`), and events taken but not tried are released.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Stops at once, wherever it is, as if the process died: an event in flight keeps its
    /// lease until `ssf.push_lease_secs` runs out, then is sent again (same `jti`).
    pub fn abort(self) {
        self.task.abort();
    }
}

/// Runs [`deliver_due`] at `ssf.push_poll_ms` until stopped, as one node (a random id per
/// process). Dropping the handle leaves it running.
pub fn spawn_worker(ctx: Ctx) -> PushWorker {
    let (stop, mut stopping) = watch::channel(false);
    let task = actix_web::rt::spawn(async move {
        let node = crate::crypto::random_token(12);
        let period = std::time::Duration::from_millis(ctx.settings.ssf.push_poll_ms.max(50));
        while !*stopping.borrow() {
            if let Err(e) = deliver_round(&ctx, &node, Some(&stopping)).await {
                tracing::error!(error = %format!("{e:#}"), "SSF push delivery round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                // A dropped handle (Err) never stops the worker: only `stop` does.
                Ok(()) = stopping.changed() => {}
            }
        }
    });
    PushWorker { stop, task }
}

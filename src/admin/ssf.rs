//! Shared Signals streams, as operators manage them (`verity:admin:ssf`): every relying party's
//! streams with status, backlog and delivery counts; pause, resume, disable with a reason (the
//! receiver hears of it by a stream-updated event and can't undo it); replay failed
//! deliveries. The rules are `ssf::operations`, shared with `verity ssf`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::auth::Agent;
use crate::admin::keys::utc;
use crate::admin::pagination::{self, Page};
use crate::admin::sort_keys::{time_and_id, time_key};
use crate::admin::{no_control_chars, plausible_id, Outcome, Problem};
use crate::config::Settings;
use crate::ssf::operations::{self, Action, Change, Operator, Overview};
use crate::ssf::{DELIVERY_POLL, PATH_POLL};
use crate::Ctx;

/// Delivery outcomes since the stream was made.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryCounts {
    /// Push: answered 2xx. Poll: acknowledged.
    pub delivered: i64,
    /// Refused by the receiver (push 400, poll `setErrs`); kept with its error, not resent.
    pub refused: i64,
    /// Push attempts that failed (5xx, no answer) and were retried.
    pub failed_attempts: i64,
    /// Dropped unacknowledged after `ssf.retention_days`.
    pub expired: i64,
}

/// Events not yet delivered or acknowledged.
#[derive(Debug, Serialize, ToSchema)]
pub struct Backlog {
    pub events: i64,
    /// When the oldest of them was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// How long the oldest has waited, in seconds.
    pub oldest_age_secs: Option<i64>,
    /// Refused or retrying events a replay would make due again.
    pub replayable: i64,
}

/// A stream as operators see it. The receiver's push credential is never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamView {
    pub stream_id: String,
    /// The relying party that owns it.
    pub client_id: String,
    /// `urn:ietf:rfc:8935` (push) or `urn:ietf:rfc:8936` (poll).
    pub delivery_method: String,
    /// Push: the receiver's URL. Poll: Verity's poll URL for the stream.
    pub endpoint_url: String,
    /// The event types the stream delivers.
    pub events_delivered: Vec<String>,
    pub description: Option<String>,
    /// `enabled`, `paused` or `disabled`.
    pub status: String,
    pub status_reason: Option<String>,
    /// `receiver` (its own `POST /ssf/status`) or `operator` (this API or `verity ssf`).
    pub status_set_by: String,
    /// The operator's agent: the admin client's id, or `cli`.
    pub status_agent: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub backlog: Backlog,
    pub deliveries: DeliveryCounts,
}

impl StreamView {
    /// Also what `verity ssf list` prints.
    pub fn of(o: &Overview, settings: &Settings, now: NaiveDateTime) -> StreamView {
        let s = &o.stream;
        let endpoint_url = match s.delivery_method.as_str() {
            DELIVERY_POLL => format!("{}{PATH_POLL}/{}", settings.issuer, s.id),
            _ => s.endpoint_url.clone().unwrap_or_default(),
        };
        StreamView {
            stream_id: s.id.clone(),
            client_id: s.client_id.clone(),
            delivery_method: s.delivery_method.clone(),
            endpoint_url,
            events_delivered: s
                .events_delivered
                .split(' ')
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect(),
            description: s.description.clone(),
            status: s.status.clone(),
            status_reason: s.status_reason.clone(),
            status_set_by: o.status_set_by.clone(),
            status_agent: o.status_agent.clone(),
            status_changed_at: o.status_changed_at.map(utc),
            created_at: utc(s.created_at),
            backlog: Backlog {
                events: o.backlog,
                oldest_queued_at: o.oldest_waiting.map(utc),
                oldest_age_secs: o.oldest_waiting.map(|t| (now - t).num_seconds().max(0)),
                replayable: o.replayable,
            },
            deliveries: DeliveryCounts {
                delivered: o.counts.delivered,
                refused: o.counts.refused,
                failed_attempts: o.counts.failed,
                expired: o.counts.expired,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StreamPage {
    pub items: Vec<StreamView>,
    pub next_cursor: Option<String>,
}

/// `GET /ssf-streams` filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only this relying party's streams.
    #[param(value_type = Option<String>, max_length = 255)]
    pub client_id: Option<String>,
    /// `next_cursor` of the previous page; leave out for the first page.
    pub cursor: Option<String>,
    /// Items per page (the default and the maximum are configured; more is refused).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

/// Body of pause, resume and disable (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// Why: kept as the stream's status reason, sent to the receiver in the stream-updated
    /// event, and audited.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

/// The answer to a replay.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// How many events were made due again.
    pub replayed: usize,
    pub stream: StreamView,
}

pub async fn list(ctx: &Ctx, q: &StreamQuery) -> Outcome<StreamPage> {
    let req = pagination::page_request(&ctx.settings, q.cursor.as_deref(), q.limit.as_deref())?;
    let after = time_and_id(&req)?;
    let client_id = q.client_id.clone();
    if let Some(c) = &client_id {
        no_control_chars("client_id", c)?;
        if c.len() > 255 {
            return Err(Problem::invalid(
                "client_id",
                "client_id is at most 255 characters",
            ));
        }
    }
    let (limit, now) = (req.limit, ctx.clock.now());
    let rows = ctx
        .db
        .run(move |c| operations::list(c, client_id.as_deref(), after, limit + 1, now))
        .await?;
    let Page { items, next_cursor } = pagination::page(rows, limit, |o| {
        vec![time_key(o.stream.created_at), o.stream.id.clone()]
    });
    Ok(StreamPage {
        items: items
            .iter()
            .map(|o| StreamView::of(o, &ctx.settings, now))
            .collect(),
        next_cursor,
    })
}

pub async fn get(ctx: &Ctx, stream_id: &str) -> Outcome<StreamView> {
    if !plausible_id(stream_id) {
        return Err(Problem::NotFound("stream"));
    }
    let (id, now) = (stream_id.to_string(), ctx.clock.now());
    let found = ctx.db.run(move |c| operations::one(c, &id, now)).await?;
    found
        .map(|o| StreamView::of(&o, &ctx.settings, now))
        .ok_or(Problem::NotFound("stream"))
}

/// Pause, resume or disable: audited under the agent's client id; the receiver gets a
/// stream-updated event. Repeating the same change (same status and reason) does nothing.
pub async fn set_status(
    ctx: &Ctx,
    agent: &Agent,
    stream_id: &str,
    action: Action,
    req: StatusRequest,
) -> Outcome<StreamView> {
    if !plausible_id(stream_id) {
        return Err(Problem::NotFound("stream"));
    }
    if let Some(reason) = &req.reason {
        operations::check_reason(reason).map_err(|why| Problem::invalid("reason", why))?;
    }
    let (id, now, settings, agent_id) = (
        stream_id.to_string(),
        ctx.clock.now(),
        ctx.settings.clone(),
        agent.client_id.clone(),
    );
    let change = ctx
        .db
        .run(move |c| {
            operations::set_status(
                c,
                &settings.ssf,
                now,
                &id,
                action,
                req.reason.as_deref(),
                Operator::Agent(&agent_id),
            )
        })
        .await?;
    if change == Change::NotFound {
        return Err(Problem::NotFound("stream"));
    }
    get(ctx, stream_id).await
}

/// Makes the stream's refused and retrying events due again now.
pub async fn replay(ctx: &Ctx, agent: &Agent, stream_id: &str) -> Outcome<Replayed> {
    if !plausible_id(stream_id) {
        return Err(Problem::NotFound("stream"));
    }
    let (id, now, settings, agent_id) = (
        stream_id.to_string(),
        ctx.clock.now(),
        ctx.settings.clone(),
        agent.client_id.clone(),
    );
    let replayed = ctx
        .db
        .run(move |c| operations::replay(c, &settings.ssf, now, &id, Operator::Agent(&agent_id)))
        .await?
        .ok_or(Problem::NotFound("stream"))?;
    Ok(Replayed {
        replayed,
        stream: get(ctx, stream_id).await?,
    })
}

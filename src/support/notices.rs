//! Service notices: a terms-of-service or maintenance message emailed to every active account,
//! or to a filtered set. A worker on each node walks the users in id order from the notice's
//! cursor, a batch at a time. A `notice_deliveries` row is claimed before each email, and its
//! primary key means a person never gets the same notice twice, even when two nodes take the
//! same batch or a node stops between claiming and moving the cursor.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::auth::Agent;
use crate::admin::pagination::{self, Page};
use crate::admin::sort_keys::{time_and_id, time_key};
use crate::admin::{Outcome, Problem};
use crate::i18n::Lang;
use crate::notify::notices::{self as notice_texts, Notice};
use crate::notify::Channel;
use crate::storage::db::DbConn;
use crate::storage::schema::{notice_deliveries, service_notices, users};
use crate::Ctx;

pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_USER_IDS: usize = 1000;

/// Who gets a notice. Every filter given must hold; `{}` is every active account. Deleted,
/// disabled and unconfirmed accounts never get notices.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Only accounts whose email address is at this domain, like `example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 253, pattern = "^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$")]
    pub email_domain: Option<String>,
    /// Only accounts whose email address is confirmed. Always the case: `false` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_only: Option<bool>,
    /// Only accounts created before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<DateTime<Utc>>,
    /// Only these accounts (at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 1000)]
    pub user_ids: Option<Vec<String>>,
}

/// Body of `POST /service-notices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    /// The email subject: one line.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub subject: String,
    /// Plain text.
    #[schema(min_length = 1, pattern = "\\S")]
    pub body: String,
    #[serde(default, deserialize_with = "object_only")]
    pub audience: Audience,
}

/// serde would also read a struct from an array of its fields in order; an audience is an
/// object or nothing.
fn object_only<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Audience, D::Error> {
    struct ObjectOnly;
    impl<'de> serde::de::Visitor<'de> for ObjectOnly {
        type Value = Audience;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(self, map: M) -> Result<Audience, M::Error> {
            Audience::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(ObjectOnly)
}

/// A notice and how far its sending has got.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: String,
    pub subject: String,
    pub body: String,
    pub audience: Audience,
    /// The agent that sent it (an admin client id).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// People it has been emailed to so far.
    pub sent_count: i64,
    /// Every matching account has been handled.
    pub completed: bool,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    pub items: Vec<NoticeView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = service_notices)]
pub struct NoticeRow {
    pub id: String,
    pub subject: String,
    pub body: String,
    pub audience: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub cursor_user_id: Option<String>,
    pub sent_count: i32,
    pub completed_at: Option<NaiveDateTime>,
}

impl NoticeView {
    fn of(n: &NoticeRow) -> NoticeView {
        NoticeView {
            id: n.id.clone(),
            subject: n.subject.clone(),
            body: n.body.clone(),
            audience: serde_json::from_str(&n.audience).unwrap_or_default(),
            created_by: n.created_by.clone(),
            created_at: n.created_at.and_utc(),
            sent_count: i64::from(n.sent_count),
            completed: n.completed_at.is_some(),
            completed_at: n.completed_at.map(|t| t.and_utc()),
        }
    }
}

fn one_line(field: &str, text: &str, max: usize) -> Outcome<String> {
    // Counted before trimming, as the documented maxLength counts.
    if text.chars().count() > max {
        return Err(Problem::invalid(
            field,
            format!("{field} may be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Problem::invalid(
            field,
            format!("{field} must be one line, without control characters"),
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::invalid(field, format!("{field} can't be empty")));
    }
    Ok(text.to_string())
}

fn check_audience(mut a: Audience) -> Outcome<Audience> {
    if let Some(d) = a.email_domain.take() {
        // Exactly what the documented pattern allows: labels of letters, digits and hyphens.
        let d = d.to_ascii_lowercase();
        let domain_like = d.len() <= 253
            && d.split('.').count() >= 2
            && d.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_like {
            return Err(Problem::invalid(
                "audience.email_domain",
                "email_domain must be a domain name, like example.com",
            ));
        }
        a.email_domain = Some(d);
    }
    if a.verified_only == Some(false) {
        return Err(Problem::invalid(
            "audience.verified_only",
            "notices only go to confirmed addresses; leave verified_only out or set it to true",
        ));
    }
    if let Some(ids) = &a.user_ids {
        if ids.is_empty() || ids.len() > MAX_USER_IDS {
            return Err(Problem::invalid(
                "audience.user_ids",
                format!("user_ids must list 1 to {MAX_USER_IDS} accounts"),
            ));
        }
        if ids.iter().any(|id| id.is_empty() || id.len() > 64) {
            return Err(Problem::invalid(
                "audience.user_ids",
                "user_ids must be account ids",
            ));
        }
    }
    Ok(a)
}

/// Stores the notice; the worker sends it.
pub async fn create(ctx: &Ctx, agent: &Agent, req: NewNotice) -> Outcome<NoticeView> {
    let subject = one_line("subject", &req.subject, MAX_SUBJECT_CHARS)?;
    let body = req.body.trim().to_string();
    if body.is_empty() {
        return Err(Problem::invalid("body", "body can't be empty"));
    }
    let max = ctx.settings.support.message_max_chars;
    if body.chars().count() > max {
        return Err(Problem::invalid(
            "body",
            format!("body may be at most {max} characters"),
        ));
    }
    let audience = check_audience(req.audience)?;
    let row = NoticeRow {
        id: uuid::Uuid::new_v4().to_string(),
        subject,
        body,
        audience: serde_json::to_string(&audience).map_err(anyhow::Error::from)?,
        created_by: agent.client_id.clone(),
        created_at: ctx.clock.now(),
        cursor_user_id: None,
        sent_count: 0,
        completed_at: None,
    };
    let stored = row.clone();
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                diesel::insert_into(service_notices::table)
                    .values(&stored)
                    .execute(c)?;
                crate::audit::record(
                    c,
                    stored.created_at,
                    crate::audit::Event {
                        kind: crate::audit::Kind::ServiceNoticeCreated,
                        user_id: None,
                        client_id: Some(&stored.created_by),
                        detail: serde_json::json!({
                            "notice": stored.id,
                            "subject": stored.subject,
                            "audience": audience,
                        }),
                        actor: None,
                    },
                )
            })
        })
        .await?;
    Ok(NoticeView::of(&row))
}

fn by_id(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<NoticeRow>> {
    Ok(service_notices::table
        .find(id)
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()?)
}

pub async fn get(ctx: &Ctx, id: &str) -> Outcome<NoticeView> {
    if id.is_empty() || id.len() > 64 {
        return Err(Problem::NotFound("service notice"));
    }
    let key = id.to_string();
    let row = ctx.db.run(move |c| by_id(c, &key)).await?;
    row.map(|r| NoticeView::of(&r))
        .ok_or(Problem::NotFound("service notice"))
}

/// Notices, newest first.
pub async fn list(ctx: &Ctx, cursor: Option<&str>, limit: Option<&str>) -> Outcome<NoticeList> {
    let req = pagination::page_request(&ctx.settings, cursor, limit)?;
    let before = time_and_id(&req)?;
    let limit = req.limit;
    let rows = ctx
        .db
        .run(move |c| {
            let mut q = service_notices::table
                .order((
                    service_notices::created_at.desc(),
                    service_notices::id.desc(),
                ))
                .limit(limit + 1)
                .select(NoticeRow::as_select())
                .into_boxed();
            if let Some((at, id)) = before {
                q = q.filter(
                    service_notices::created_at
                        .lt(at)
                        .or(service_notices::created_at
                            .eq(at)
                            .and(service_notices::id.lt(id))),
                );
            }
            Ok(q.load(c)?)
        })
        .await?;
    let Page { items, next_cursor } =
        pagination::page(rows, limit, |n| vec![time_key(n.created_at), n.id.clone()]);
    Ok(NoticeList {
        items: items.iter().map(NoticeView::of).collect(),
        next_cursor,
    })
}

/// The next batch of matching accounts after `cursor`: (id, email).
fn audience_batch(
    conn: &mut DbConn,
    audience: &Audience,
    cursor: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
    let mut q = users::table
        .filter(users::deleted_at.is_null())
        .filter(users::disabled.eq(false))
        .filter(users::email_verified.eq(true))
        .order(users::id.asc())
        .limit(limit)
        .select((users::id, users::email, users::locale))
        .into_boxed();
    if let Some(c) = cursor {
        q = q.filter(users::id.gt(c.to_string()));
    }
    if let Some(d) = &audience.email_domain {
        q = q.filter(users::email.like(format!("%@{d}")));
    }
    if let Some(t) = audience.created_before {
        q = q.filter(users::created_at.lt(t.naive_utc()));
    }
    if let Some(ids) = &audience.user_ids {
        q = q.filter(users::id.eq_any(ids.clone()));
    }
    Ok(q.load(conn)?)
}

/// Claims the (notice, person) pair; false if it was claimed before.
fn claim_delivery(
    conn: &mut DbConn,
    notice_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    let inserted = diesel::insert_into(notice_deliveries::table)
        .values((
            notice_deliveries::notice_id.eq(notice_id),
            notice_deliveries::user_id.eq(user_id),
            notice_deliveries::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The notice queue for `/metrics`: unfinished notices and when the oldest was made. A notice
/// is sent once per person (best effort), so none is ever retrying.
pub fn queue_state(conn: &mut DbConn) -> anyhow::Result<crate::metrics::scrape::QueueState> {
    let (depth, oldest): (i64, Option<NaiveDateTime>) = service_notices::table
        .filter(service_notices::completed_at.is_null())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(service_notices::created_at),
        ))
        .first(conn)?;
    Ok(crate::metrics::scrape::QueueState {
        depth,
        oldest,
        retrying: 0,
    })
}

fn next_pending(conn: &mut DbConn) -> anyhow::Result<Option<NoticeRow>> {
    Ok(service_notices::table
        .filter(service_notices::completed_at.is_null())
        .order((service_notices::created_at.asc(), service_notices::id.asc()))
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Handles one batch of the oldest unfinished notice: claims and emails each matching
/// account, then moves the cursor (and marks the notice complete after the last batch).
/// Returns how many accounts the batch covered; 0 when no notice has work left.
pub async fn run_notice_batch(ctx: &Ctx) -> anyhow::Result<usize> {
    let batch = i64::from(ctx.settings.support.notice_batch_size.max(1));
    loop {
        let Some(notice) = ctx.db.run(next_pending).await? else {
            return Ok(0);
        };
        let audience: Audience = match serde_json::from_str(&notice.audience) {
            Ok(a) => a,
            Err(e) => {
                // Never happens for notices stored by `create`; don't retry it forever.
                tracing::error!(notice = %notice.id, error = %e, "service notice audience unreadable; notice abandoned");
                Audience {
                    user_ids: Some(vec![]),
                    ..Default::default()
                }
            }
        };
        let nothing = audience.user_ids.as_ref().is_some_and(Vec::is_empty);
        let (a, cursor) = (audience.clone(), notice.cursor_user_id.clone());
        let people = if nothing {
            Vec::new()
        } else {
            ctx.db
                .run(move |c| audience_batch(c, &a, cursor.as_deref(), batch))
                .await?
        };
        let mut sent = 0;
        for (user_id, email, locale) in &people {
            let (nid, uid, now) = (notice.id.clone(), user_id.clone(), ctx.clock.now());
            if !ctx
                .db
                .run(move |c| claim_delivery(c, &nid, &uid, now))
                .await?
            {
                continue;
            }
            // The operator's words as they wrote them; the footer in the person's language.
            let lang = locale.as_deref().and_then(Lang::parse).unwrap_or_default();
            let text = Notice::Service {
                subject: notice.subject.clone(),
                body: notice.body.clone(),
            };
            notice_texts::send_best_effort(ctx, Channel::Email, email, lang, &text).await;
            sent += 1;
        }
        let done = (people.len() as i64) < batch;
        let last = people.last().map(|(id, _, _)| id.clone());
        let (nid, now) = (notice.id.clone(), ctx.clock.now());
        ctx.db
            .run(move |c| advance(c, &nid, last.as_deref(), sent, done.then_some(now)))
            .await?;
        if !people.is_empty() {
            return Ok(people.len());
        }
        // An empty last batch only completed this notice: look at the next one.
    }
}

fn advance(
    conn: &mut DbConn,
    notice_id: &str,
    last: Option<&str>,
    sent: i32,
    completed: Option<NaiveDateTime>,
) -> anyhow::Result<()> {
    let row = service_notices::table.find(notice_id);
    if sent > 0 {
        diesel::update(row)
            .set(service_notices::sent_count.eq(service_notices::sent_count + sent))
            .execute(conn)?;
    }
    if let Some(last) = last {
        // Only forwards: another node may have moved it further already.
        diesel::update(
            row.filter(
                service_notices::cursor_user_id
                    .is_null()
                    .or(service_notices::cursor_user_id.lt(last)),
            ),
        )
        .set(service_notices::cursor_user_id.eq(last))
        .execute(conn)?;
    }
    if let Some(at) = completed {
        diesel::update(row.filter(service_notices::completed_at.is_null()))
            .set(service_notices::completed_at.eq(at))
            .execute(conn)?;
    }
    Ok(())
}

/// Sends pending notices in the background, every `notice_poll_ms` (at once again while
/// there is work).
pub fn spawn_worker(ctx: Ctx) {
    actix_web::rt::spawn(async move {
        let period = std::time::Duration::from_millis(ctx.settings.support.notice_poll_ms.max(50));
        loop {
            match run_notice_batch(&ctx).await {
                Ok(n) if n > 0 => tokio::task::yield_now().await,
                Ok(_) => tokio::time::sleep(period).await,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "service notice batch failed");
                    tokio::time::sleep(period).await;
                }
            }
        }
    });
}

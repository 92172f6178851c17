//! The support desk: what an agent does with tickets through the management API (list, read
//! with replies, reply by email, close). Tickets are filed by `contact` through
//! [`tickets::create`](crate::support::tickets::create).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::auth::Agent;
use crate::admin::pagination::{self, Page};
use crate::admin::sort_keys::{time_and_id, time_key};
use crate::admin::{Outcome, Problem};
use crate::notify::notices::{self, Notice};
use crate::notify::Channel;
use crate::storage::db::DbConn;
use crate::storage::schema::{support_replies, support_tickets};
use crate::support::tickets::Ticket;
use crate::Ctx;

pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

/// A ticket as agents see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// The ticket number people see, like `VT-7K3M9Q2D`.
    pub id: String,
    /// The account, when the person was signed in.
    pub user_id: Option<String>,
    /// Where replies go.
    pub contact_email: String,
    pub category: String,
    pub message: String,
    /// `open` or `closed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl TicketView {
    fn of(t: &Ticket) -> TicketView {
        TicketView {
            id: t.id.clone(),
            user_id: t.user_id.clone(),
            contact_email: t.contact_email.clone(),
            category: t.category.clone(),
            message: t.message.clone(),
            status: t.status.clone(),
            created_at: t.created_at.and_utc(),
            updated_at: t.updated_at.and_utc(),
            closed_at: t.closed_at.map(|c| c.and_utc()),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = support_replies)]
pub struct Reply {
    pub id: String,
    pub ticket_id: String,
    pub author: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// An agent's reply, as emailed to the contact address.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyView {
    pub id: String,
    /// The agent: the client id of the admin client that sent it.
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl ReplyView {
    fn of(r: &Reply) -> ReplyView {
        ReplyView {
            id: r.id.clone(),
            author: r.author.clone(),
            body: r.body.clone(),
            created_at: r.created_at.and_utc(),
        }
    }
}

/// A ticket with its replies, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub replies: Vec<ReplyView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<TicketView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Body of `POST /support-tickets/{id}/replies`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    /// Plain text, emailed as it is to the ticket's contact address.
    #[schema(min_length = 1, pattern = "\\S")]
    pub body: String,
}

fn by_id(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<Ticket>> {
    Ok(support_tickets::table
        .find(id)
        .select(Ticket::as_select())
        .first(conn)
        .optional()?)
}

async fn load(ctx: &Ctx, id: &str) -> Outcome<Ticket> {
    // Ticket numbers are short; a long id can't be one.
    if id.is_empty() || id.len() > 64 {
        return Err(Problem::NotFound("support ticket"));
    }
    let key = id.to_string();
    ctx.db
        .run(move |c| by_id(c, &key))
        .await?
        .ok_or(Problem::NotFound("support ticket"))
}

/// Tickets oldest first (the queue order), optionally only `open` or `closed` ones.
pub async fn list(
    ctx: &Ctx,
    status: Option<&str>,
    cursor: Option<&str>,
    limit: Option<&str>,
) -> Outcome<TicketList> {
    let status = match status {
        None => None,
        Some(s) if s == OPEN || s == CLOSED => Some(s.to_string()),
        Some(_) => return Err(Problem::invalid("status", "status must be open or closed")),
    };
    let req = pagination::page_request(&ctx.settings, cursor, limit)?;
    let after = time_and_id(&req)?;
    let limit = req.limit;
    let rows = ctx
        .db
        .run(move |c| {
            let mut q = support_tickets::table
                .order((support_tickets::created_at.asc(), support_tickets::id.asc()))
                .limit(limit + 1)
                .select(Ticket::as_select())
                .into_boxed();
            if let Some(s) = status {
                q = q.filter(support_tickets::status.eq(s));
            }
            if let Some((at, id)) = after {
                q = q.filter(
                    support_tickets::created_at
                        .gt(at)
                        .or(support_tickets::created_at
                            .eq(at)
                            .and(support_tickets::id.gt(id))),
                );
            }
            Ok(q.load(c)?)
        })
        .await?;
    let Page { items, next_cursor } =
        pagination::page(rows, limit, |t| vec![time_key(t.created_at), t.id.clone()]);
    Ok(TicketList {
        items: items.iter().map(TicketView::of).collect(),
        next_cursor,
    })
}

pub async fn get(ctx: &Ctx, id: &str) -> Outcome<TicketDetail> {
    let ticket = load(ctx, id).await?;
    let key = ticket.id.clone();
    let replies: Vec<Reply> = ctx
        .db
        .run(move |c| {
            Ok(support_replies::table
                .filter(support_replies::ticket_id.eq(key))
                .order((support_replies::created_at.asc(), support_replies::id.asc()))
                .select(Reply::as_select())
                .load(c)?)
        })
        .await?;
    Ok(TicketDetail {
        ticket: TicketView::of(&ticket),
        replies: replies.iter().map(ReplyView::of).collect(),
    })
}

/// Emails the reply to the ticket's contact address and keeps it on the ticket.
pub async fn reply(ctx: &Ctx, agent: &Agent, id: &str, req: NewReply) -> Outcome<ReplyView> {
    let body = req.body.trim().to_string();
    if body.is_empty() {
        return Err(Problem::invalid("body", "the reply is empty"));
    }
    let max = ctx.settings.support.message_max_chars;
    if body.chars().count() > max {
        return Err(Problem::invalid(
            "body",
            format!("a reply may be at most {max} characters"),
        ));
    }
    let ticket = load(ctx, id).await?;
    if ticket.status != OPEN {
        return Err(Problem::conflict(
            None,
            "this ticket is closed; the person can open a new one",
        ));
    }
    let now = ctx.clock.now();
    let reply = Reply {
        id: uuid::Uuid::new_v4().to_string(),
        ticket_id: ticket.id.clone(),
        author: agent.client_id.clone(),
        body,
        created_at: now,
    };
    let (row, user_id) = (reply.clone(), ticket.user_id.clone());
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                diesel::insert_into(support_replies::table)
                    .values(&row)
                    .execute(c)?;
                diesel::update(support_tickets::table.find(&row.ticket_id))
                    .set(support_tickets::updated_at.eq(now))
                    .execute(c)?;
                crate::audit::record(
                    c,
                    now,
                    crate::audit::Event {
                        kind: crate::audit::Kind::SupportTicketReplied,
                        user_id: user_id.as_deref(),
                        client_id: Some(&row.author),
                        detail: serde_json::json!({ "ticket": row.ticket_id, "reply": row.id }),
                        actor: None,
                    },
                )
            })
        })
        .await?;
    let notice = Notice::SupportReply {
        ticket: ticket.id.clone(),
        reply: reply.body.clone(),
    };
    notices::send_best_effort(
        ctx,
        Channel::Email,
        &ticket.contact_email,
        ticket.lang(),
        &notice,
    )
    .await;
    Ok(ReplyView::of(&reply))
}

/// Closes a ticket; closing a closed one changes nothing.
pub async fn close(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<TicketView> {
    let ticket = load(ctx, id).await?;
    if ticket.status == CLOSED {
        return Ok(TicketView::of(&ticket));
    }
    let (now, key, agent_id, user_id) = (
        ctx.clock.now(),
        ticket.id.clone(),
        agent.client_id.clone(),
        ticket.user_id.clone(),
    );
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                diesel::update(support_tickets::table.find(&key))
                    .set((
                        support_tickets::status.eq(CLOSED),
                        support_tickets::closed_at.eq(Some(now)),
                        support_tickets::updated_at.eq(now),
                    ))
                    .execute(c)?;
                crate::audit::record(
                    c,
                    now,
                    crate::audit::Event {
                        kind: crate::audit::Kind::SupportTicketClosed,
                        user_id: user_id.as_deref(),
                        client_id: Some(&agent_id),
                        detail: serde_json::json!({ "ticket": key }),
                        actor: None,
                    },
                )
            })
        })
        .await?;
    Ok(TicketView::of(&load(ctx, id).await?))
}

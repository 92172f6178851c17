//! Notices to people: email, SMS and voice. Message texts are askama `.txt` templates in
//! `templates/notify/`. The dev outbox stores every message in the database and shows it at
//! `/dev/outbox` in dev mode.

use askama::Template;
use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::db::Db;
use crate::storage::schema::outbox;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Voice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Message {
    pub fn email(to: &str, subject: &str, body: impl Template) -> anyhow::Result<Message> {
        Ok(Message {
            channel: Channel::Email,
            to: to.to_string(),
            subject: subject.to_string(),
            body: body.render()?,
        })
    }
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, message: Message) -> anyhow::Result<()>;
    fn name(&self) -> &'static str;
}

/// Writes each message to the `outbox` table. In dev that table is the inbox a newcomer
/// reads at `/dev/outbox`; real senders (SMTP, SMS gateway) come with the MFA work.
pub struct OutboxNotifier {
    db: Db,
    clock: crate::clock::Clock,
}

impl OutboxNotifier {
    pub fn new(db: Db, clock: crate::clock::Clock) -> OutboxNotifier {
        OutboxNotifier { db, clock }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

#[async_trait]
impl Notifier for OutboxNotifier {
    async fn send(&self, message: Message) -> anyhow::Result<()> {
        let row = OutboxRow {
            id: uuid::Uuid::new_v4().to_string(),
            channel: message.channel.as_str().to_string(),
            recipient: message.to,
            subject: message.subject,
            body: message.body,
            created_at: self.clock.now(),
            sent_at: None,
        };
        tracing::info!(channel = %row.channel, id = %row.id, "notice written to the outbox");
        self.db
            .run(move |c| {
                diesel::insert_into(outbox::table).values(&row).execute(c)?;
                Ok(())
            })
            .await
    }

    fn name(&self) -> &'static str {
        "dev outbox"
    }
}

/// Newest first.
pub async fn recent_outbox(db: &Db, limit: i64) -> anyhow::Result<Vec<OutboxRow>> {
    db.run(move |c| {
        Ok(outbox::table
            .order((outbox::created_at.desc(), outbox::id.desc()))
            .limit(limit)
            .select(OutboxRow::as_select())
            .load(c)?)
    })
    .await
}

// Message texts.

#[derive(Template)]
#[template(path = "notify/confirm_email.txt")]
pub struct ConfirmEmailText<'a> {
    pub site_name: &'a str,
    pub link: &'a str,
    pub valid_hours: u64,
}

#[derive(Template)]
#[template(path = "notify/signup_existing.txt")]
pub struct SignupExistingText<'a> {
    pub site_name: &'a str,
    pub sign_in_link: &'a str,
}

#[derive(Template)]
#[template(path = "notify/account_locked.txt")]
pub struct AccountLockedText<'a> {
    pub site_name: &'a str,
    pub minutes: u64,
    pub until_reset: bool,
    pub ip: &'a str,
}

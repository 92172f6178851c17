//! Notices to people: email, SMS and voice. What is sent, and its words in each language, is
//! [`notices::Notice`] (texts in `locales/<lang>/notices.ftl`). Senders: the dev outbox stores every message in the database and shows
//! it at `/dev/outbox` in dev mode; [`SmtpSender`] sends email, [`GatewaySender`] sends SMS and
//! voice calls through a Twilio-style gateway; [`RoutingNotifier`] picks one per channel as
//! `[notify]` says ([`build_notifier`]).

pub mod gateway;
pub mod notices;
pub mod router;
pub mod smtp;

use std::sync::Arc;

use askama::Template;
use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use gateway::GatewaySender;
pub use router::RoutingNotifier;
pub use smtp::SmtpSender;

use crate::clock::Clock;
use crate::config::{EmailBackend, RunMode, Settings, SmsBackend};
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
    /// The language the text is in: a voice call is read by a voice for it.
    pub lang: crate::i18n::Lang,
}

impl Message {
    pub fn email(to: &str, subject: &str, body: impl Template) -> anyhow::Result<Message> {
        Ok(Message {
            channel: Channel::Email,
            to: to.to_string(),
            subject: subject.to_string(),
            body: body.render()?,
            lang: crate::i18n::Lang::En,
        })
    }
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, message: Message) -> anyhow::Result<()>;
    fn name(&self) -> &'static str;
}

/// The notifier `[notify]` asks for: email by SMTP or to the outbox, SMS and voice by the
/// gateway or to the outbox, behind one [`RoutingNotifier`]. Connects nothing yet, so a relay
/// or gateway that is down doesn't stop Verity from starting; a failed send returns `Err`.
pub fn build_notifier(
    settings: &Settings,
    db: Db,
    clock: Clock,
) -> anyhow::Result<Arc<dyn Notifier>> {
    let connect = std::time::Duration::from_secs(settings.security.outbound_connect_timeout_secs);
    let http = crate::net::outbound::operator_client(connect)?;
    build_notifier_with(settings, db, clock, http)
}

/// [`build_notifier`] with the process's shared outgoing HTTP client (for the gateway).
pub fn build_notifier_with(
    settings: &Settings,
    db: Db,
    clock: Clock,
    http: reqwest::Client,
) -> anyhow::Result<Arc<dyn Notifier>> {
    let n = &settings.notify;
    n.validate()?;
    let outbox =
        || -> Arc<dyn Notifier> { Arc::new(OutboxNotifier::new(db.clone(), clock.clone())) };
    let email: Arc<dyn Notifier> = match n.email {
        EmailBackend::Outbox => outbox(),
        EmailBackend::Smtp => {
            let hello = url::Url::parse(&settings.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "localhost".into());
            Arc::new(SmtpSender::new(n, &hello)?)
        }
    };
    let phone: Arc<dyn Notifier> = match n.sms {
        SmsBackend::Outbox => outbox(),
        SmsBackend::Gateway => Arc::new(GatewaySender::with_client(n, http)?),
    };
    let name = match (n.email, n.sms) {
        (EmailBackend::Outbox, SmsBackend::Outbox) => "dev outbox",
        (EmailBackend::Smtp, SmsBackend::Outbox) => "smtp + dev outbox",
        (EmailBackend::Outbox, SmsBackend::Gateway) => "dev outbox + gateway",
        (EmailBackend::Smtp, SmsBackend::Gateway) => "smtp + gateway",
    };
    if settings.env == RunMode::Production
        && (n.email == EmailBackend::Outbox || n.sms == SmsBackend::Outbox)
    {
        tracing::warn!(
            notifier = name,
            "production mode with an outbox backend: those notices are stored, not delivered \
             (set notify.email = \"smtp\" and notify.sms = \"gateway\")"
        );
    }
    Ok(Arc::new(RoutingNotifier::new(email, phone, name)))
}

/// Writes each message to the `outbox` table. In dev that table is the inbox a newcomer
/// reads at `/dev/outbox`. It is the `outbox` backend of `[notify] email` and `sms`.
pub struct OutboxNotifier {
    db: Db,
    clock: Clock,
}

impl OutboxNotifier {
    pub fn new(db: Db, clock: Clock) -> OutboxNotifier {
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

/// Runs `work` (the lookups, writes and sends behind an answer that must not reveal whether an
/// account exists) as a detached task: the request does the same work in every case and
/// never waits on a mail relay. A failure is logged, never shown.
pub fn spawn_detached<F>(what: &'static str, work: F)
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::warn!(task = what, error = %format!("{e:#}"), "background notice failed");
        }
    });
}

//! Email over SMTP (lettre on tokio, rustls with aws-lc-rs). One connection per message:
//! notices are few, and a fresh connection never trips over a relay that dropped an idle one.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Channel, Message, Notifier};
use crate::config::{NotifySettings, SmtpTls};

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for error messages.
    relay: String,
    /// Domain of `Message-ID`s: the sender address's domain.
    id_domain: String,
}

impl SmtpSender {
    /// `hello_host` is the name Verity gives in `EHLO`: the issuer's host. Connects nothing
    /// yet; each [`Notifier::send`] opens its own connection.
    pub fn new(settings: &NotifySettings, hello_host: &str) -> anyhow::Result<SmtpSender> {
        let host = settings
            .smtp_host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .context("notify.smtp_host is not set")?;
        let from: Mailbox = settings
            .email_from
            .parse()
            .map_err(|e| anyhow!("notify.email_from is not a valid mailbox: {e}"))?;
        let builder = match settings.smtp_tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .context("preparing SMTP with STARTTLS")?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .context("preparing SMTP over TLS")?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(settings.smtp_port)
            .timeout(Some(Duration::from_secs(settings.smtp_timeout_secs.max(1))))
            .hello_name(client_id(hello_host));
        let set = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        match (set(&settings.smtp_username), set(&settings.smtp_password)) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user, password));
            }
            (None, None) => {}
            _ => bail!("notify.smtp_username and notify.smtp_password go together"),
        }
        Ok(SmtpSender {
            transport: builder.build(),
            id_domain: from.email.domain().to_string(),
            from,
            relay: format!("{host}:{}", settings.smtp_port),
        })
    }

    fn mail(&self, message: Message) -> anyhow::Result<lettre::Message> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|e| anyhow!("the recipient is not a valid email address: {e}"))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject)
            .message_id(Some(format!(
                "<{}@{}>",
                uuid::Uuid::new_v4().simple(),
                self.id_domain
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body)
            .context("building the email")
    }
}

/// The `EHLO` argument: a domain, or an address literal for an IP issuer.
fn client_id(host: &str) -> ClientId {
    match url::Host::parse(host) {
        Ok(url::Host::Domain(d)) => ClientId::Domain(d),
        Ok(url::Host::Ipv4(ip)) => ClientId::Ipv4(ip),
        Ok(url::Host::Ipv6(ip)) => ClientId::Ipv6(ip),
        Err(_) => ClientId::Domain("localhost".into()),
    }
}

#[async_trait]
impl Notifier for SmtpSender {
    async fn send(&self, message: Message) -> anyhow::Result<()> {
        if message.channel != Channel::Email {
            bail!(
                "the SMTP sender sends email, not {}",
                message.channel.as_str()
            );
        }
        let to = message.to.clone();
        let mail = self.mail(message)?;
        let response = self.transport.send(mail).await.map_err(|e| {
            // Relays often quote the address they refuse; keep it out of logs.
            let reason = e.to_string().replace(to.trim(), "[recipient]");
            anyhow!("SMTP relay {} refused or failed: {reason}", self.relay)
        })?;
        tracing::info!(relay = %self.relay, code = %response.code(), "email handed to the SMTP relay");
        Ok(())
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}

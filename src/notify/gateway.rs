//! SMS and voice calls through a Twilio-style HTTP gateway, over the shared outgoing client
//! ([`crate::net::outbound`]: rustls with aws-lc-rs, no redirects):
//!
//! - SMS: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with `To`, `From`, `Body`;
//! - voice: `POST {base}/2010-04-01/Accounts/{sid}/Calls.json` with `To`, `From` and
//!   `Twiml` = `<Response><Say language="en-US|es-MX">{body}</Say></Response>`;
//!
//! both form-encoded, with HTTP Basic auth `sid:token`. Errors name the HTTP status and the
//! gateway's numeric error code, never the token, the recipient or the text.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use async_trait::async_trait;

use super::{Channel, Message, Notifier};
use crate::config::NotifySettings;

/// The most of an error answer read to find the gateway's error code.
const MAX_ERROR_BODY: usize = 16 * 1024;

pub struct GatewaySender {
    client: reqwest::Client,
    messages_url: String,
    calls_url: String,
    account_sid: String,
    auth_token: String,
    from: String,
    timeout_secs: u64,
}

impl GatewaySender {
    /// With a client of its own (tests, tools); Verity itself shares one ([`Self::with_client`]).
    pub fn new(settings: &NotifySettings) -> anyhow::Result<GatewaySender> {
        let timeout = Duration::from_secs(settings.gateway_timeout_secs.max(1));
        let client = crate::net::outbound::operator_client(timeout)
            .context("building the gateway HTTP client")?;
        Self::with_client(settings, client)
    }

    /// Over the shared outgoing client ([`crate::net::outbound`]); each call carries the
    /// gateway's own timeout.
    pub fn with_client(
        settings: &NotifySettings,
        client: reqwest::Client,
    ) -> anyhow::Result<GatewaySender> {
        let value = |v: &Option<String>, name: &str| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .with_context(|| format!("notify.{name} is not set"))
        };
        let account_sid = value(&settings.gateway_account_sid, "gateway_account_sid")?;
        if !account_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("notify.gateway_account_sid must be letters and digits only");
        }
        let auth_token = value(&settings.gateway_auth_token, "gateway_auth_token")?;
        let from = value(&settings.gateway_from_number, "gateway_from_number")?;
        let base = settings.gateway_base_url.trim().trim_end_matches('/');
        url::Url::parse(base).context("notify.gateway_base_url is not a URL")?;
        let account = format!("{base}/2010-04-01/Accounts/{account_sid}");
        let timeout_secs = settings.gateway_timeout_secs.max(1);
        Ok(GatewaySender {
            client,
            messages_url: format!("{account}/Messages.json"),
            calls_url: format!("{account}/Calls.json"),
            account_sid,
            auth_token,
            from,
            timeout_secs,
        })
    }

    async fn post(&self, what: &str, url: &str, form: &[(&str, &str)]) -> anyhow::Result<()> {
        let response = self
            .client
            .post(url)
            .timeout(Duration::from_secs(self.timeout_secs))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(form)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    anyhow!(
                        "{what} gateway did not answer within {} s",
                        self.timeout_secs
                    )
                } else {
                    anyhow::Error::new(e.without_url())
                        .context(format!("{what} gateway request failed"))
                }
            })?;
        let status = response.status();
        if status.is_success() {
            tracing::info!(status = status.as_u16(), "{what} handed to the gateway");
            return Ok(());
        }
        let code = error_code(response).await;
        match code {
            Some(code) => bail!("{what} gateway answered {status} (gateway error code {code})"),
            None => bail!("{what} gateway answered {status}"),
        }
    }
}

#[async_trait]
impl Notifier for GatewaySender {
    async fn send(&self, message: Message) -> anyhow::Result<()> {
        match message.channel {
            Channel::Sms => {
                let form = [
                    ("To", message.to.as_str()),
                    ("From", self.from.as_str()),
                    ("Body", message.body.as_str()),
                ];
                self.post("SMS", &self.messages_url, &form).await
            }
            Channel::Voice => {
                let twiml = say_twiml(&message.body, message.lang);
                let form = [
                    ("To", message.to.as_str()),
                    ("From", self.from.as_str()),
                    ("Twiml", twiml.as_str()),
                ];
                self.post("voice call", &self.calls_url, &form).await
            }
            Channel::Email => bail!("the SMS gateway does not send email"),
        }
    }

    fn name(&self) -> &'static str {
        "gateway"
    }
}

/// `<Response><Say language="…">text</Say></Response>`, with the text XML-escaped, so a
/// Spanish script is read by a Spanish voice (es-MX: the Spanish every gateway voice set has).
pub fn say_twiml(text: &str, lang: crate::i18n::Lang) -> String {
    let language = match lang {
        crate::i18n::Lang::En => "en-US",
        crate::i18n::Lang::Es => "es-MX",
    };
    format!(
        "<Response><Say language=\"{language}\">{}</Say></Response>",
        xml_escape(text)
    )
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids (control characters other than tab and newlines).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The gateway's numeric error code from a Twilio-style JSON error (`{"code": 21211, …}`).
/// The free-text message is left out: it can quote the phone number.
async fn error_code(mut response: reqwest::Response) -> Option<i64> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ERROR_BODY {
            return None;
        }
    }
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()?
        .get("code")?
        .as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twiml_escapes_the_text() {
        assert_eq!(
            say_twiml("1, 2 <3> & \"4\" 'x'\u{7}", crate::i18n::Lang::En),
            "<Response><Say language=\"en-US\">1, 2 &lt;3&gt; &amp; &quot;4&quot; &apos;x&apos; </Say></Response>"
        );
    }
}

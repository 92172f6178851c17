//! Sends each message through the backend configured for its channel: email to one, SMS and
//! voice to the other. A failure is logged at warn (channel and backend, never the recipient,
//! the text or a credential) and returned, so the flow decides what the person sees.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Channel, Message, Notifier};

pub struct RoutingNotifier {
    email: Arc<dyn Notifier>,
    phone: Arc<dyn Notifier>,
    name: &'static str,
}

impl RoutingNotifier {
    /// `email` carries [`Channel::Email`]; `phone` carries [`Channel::Sms`] and
    /// [`Channel::Voice`]. `name` describes both, e.g. `"smtp + gateway"`.
    pub fn new(
        email: Arc<dyn Notifier>,
        phone: Arc<dyn Notifier>,
        name: &'static str,
    ) -> RoutingNotifier {
        RoutingNotifier { email, phone, name }
    }
}

#[async_trait]
impl Notifier for RoutingNotifier {
    async fn send(&self, message: Message) -> anyhow::Result<()> {
        let channel = message.channel;
        let backend = match channel {
            Channel::Email => &self.email,
            Channel::Sms | Channel::Voice => &self.phone,
        };
        let result = backend.send(message).await;
        if let Err(e) = &result {
            tracing::warn!(
                channel = channel.as_str(),
                backend = backend.name(),
                error = %format!("{e:#}"),
                "notice not sent"
            );
        }
        result
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

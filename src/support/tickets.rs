//! Support tickets (table `support_tickets`). The id is the ticket number people see.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::schema::support_tickets;
use crate::Ctx;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = support_tickets)]
pub struct Ticket {
    pub id: String,
    pub user_id: Option<String>,
    pub contact_email: String,
    pub category: String,
    pub message: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    /// The language the ticket was written in (`en`, `es`): replies use it.
    pub locale: Option<String>,
}

impl Ticket {
    /// The language of e-mails about this ticket: the one it was written in, else English.
    pub fn lang(&self) -> crate::i18n::Lang {
        self.locale
            .as_deref()
            .and_then(crate::i18n::Lang::parse)
            .unwrap_or_default()
    }
}

/// A ticket number: `VT-` and 8 Crockford base32 characters (no I, L, O, U to misread).
fn ticket_number() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes = crate::crypto::random_bytes(8);
    let code: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % 32] as char)
        .collect();
    format!("VT-{code}")
}

/// Stores a new open ticket. Validation and rate limits are the caller's (see `contact`).
pub async fn create(
    ctx: &Ctx,
    user_id: Option<&str>,
    contact_email: &str,
    category: &str,
    message: &str,
    lang: crate::i18n::Lang,
) -> anyhow::Result<Ticket> {
    let now = ctx.clock.now();
    let ticket = Ticket {
        id: ticket_number(),
        user_id: user_id.map(str::to_string),
        contact_email: contact_email.to_string(),
        category: category.to_string(),
        message: message.to_string(),
        status: "open".to_string(),
        created_at: now,
        updated_at: now,
        closed_at: None,
        locale: Some(lang.tag().to_string()),
    };
    let row = ticket.clone();
    ctx.db
        .run(move |c| {
            diesel::insert_into(support_tickets::table)
                .values((
                    support_tickets::id.eq(&row.id),
                    support_tickets::user_id.eq(&row.user_id),
                    support_tickets::contact_email.eq(&row.contact_email),
                    support_tickets::category.eq(&row.category),
                    support_tickets::message.eq(&row.message),
                    support_tickets::status.eq(&row.status),
                    support_tickets::created_at.eq(row.created_at),
                    support_tickets::updated_at.eq(row.updated_at),
                    support_tickets::locale.eq(&row.locale),
                ))
                .execute(c)?;
            Ok(())
        })
        .await?;
    Ok(ticket)
}

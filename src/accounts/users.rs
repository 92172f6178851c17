use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::db::DbConn;
use crate::storage::schema::users;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub password_hash: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set when an operator deleted the account: the row stays as a tombstone.
    pub deleted_at: Option<NaiveDateTime>,
    /// Set by an account reset: identity proofing must verify the person again.
    pub identity_reverify_at: Option<NaiveDateTime>,
    /// The language pages and later notices use (`en`, `es`); NULL until the person chose one.
    pub locale: Option<String>,
    /// The IANA time zone the person's browser reported, for showing times.
    pub time_zone: Option<String>,
}

impl User {
    pub fn display_name(&self) -> Option<String> {
        match (&self.given_name, &self.family_name) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (Some(g), None) => Some(g.clone()),
            (None, Some(f)) => Some(f.clone()),
            (None, None) => None,
        }
    }
}

/// Emails are compared trimmed and lower-cased.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A plain shape check; the confirmation link is the real proof.
pub fn email_is_plausible(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

pub fn by_email(conn: &mut DbConn, email: &str) -> anyhow::Result<Option<User>> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn by_id(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Remembers the language the person chose, so pages on a new browser and notices sent later
/// use it.
pub async fn set_locale(
    ctx: &crate::Ctx,
    user_id: &str,
    lang: crate::i18n::Lang,
) -> anyhow::Result<()> {
    let id = user_id.to_string();
    ctx.db
        .run(move |c| {
            diesel::update(users::table.find(&id))
                .set(users::locale.eq(lang.tag()))
                .execute(c)?;
            Ok(())
        })
        .await
}

/// The language for a notice to this person: the one they chose, else English.
pub fn lang_of(user: &User) -> crate::i18n::Lang {
    user.locale
        .as_deref()
        .and_then(crate::i18n::Lang::parse)
        .unwrap_or_default()
}

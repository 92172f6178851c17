//! Consents (a person's standing "yes" to an app for some scopes) and grants (one record per
//! authorization-code exchange; every token carries its grant id, so revoking the grant
//! revokes the tokens).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::oauth::scopes;
use crate::storage::db::DbConn;
use crate::storage::schema::{consents, grants, refresh_tokens};

pub fn consented_scopes(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
) -> anyhow::Result<Vec<String>> {
    let found: Option<String> = consents::table
        .filter(consents::user_id.eq(user_id))
        .filter(consents::client_id.eq(client_id))
        .select(consents::scopes)
        .first(conn)
        .optional()?;
    Ok(found.map(|s| scopes::parse(&s)).unwrap_or_default())
}

/// Records consent; scopes accumulate, so an app asking again for a subset isn't re-asked.
pub fn record_consent(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    client_id: &str,
    granted: &[String],
) -> anyhow::Result<()> {
    crate::storage::db::write_tx(conn, |conn| {
        let mut all = consented_scopes(conn, user_id, client_id)?;
        for s in granted {
            if !all.contains(s) {
                all.push(s.clone());
            }
        }
        let updated = diesel::update(
            consents::table
                .filter(consents::user_id.eq(user_id))
                .filter(consents::client_id.eq(client_id)),
        )
        .set((
            consents::scopes.eq(scopes::join(&all)),
            consents::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(consents::table)
                .values((
                    consents::id.eq(uuid::Uuid::new_v4().to_string()),
                    consents::user_id.eq(user_id),
                    consents::client_id.eq(client_id),
                    consents::scopes.eq(scopes::join(&all)),
                    consents::created_at.eq(now),
                    consents::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = grants)]
pub struct Grant {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub session_id: Option<String>,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
    /// `offline_access`: the family outlives the browser session.
    pub offline_access: bool,
    pub auth_time: Option<NaiveDateTime>,
    pub acr: String,
    pub amr: String,
    /// What the authorization asked of verified data ([`crate::proofing::claims::Remembered`]
    /// as JSON); None when it asked for none.
    pub claims_request: Option<String>,
}

impl Grant {
    /// The verified-data request this grant remembers (empty when none, or unreadable).
    pub fn remembered(&self) -> crate::proofing::claims::Remembered {
        self.claims_request
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

pub fn insert(conn: &mut DbConn, grant: &Grant) -> anyhow::Result<()> {
    diesel::insert_into(grants::table)
        .values(grant)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<Grant>> {
    Ok(grants::table
        .find(id)
        .select(Grant::as_select())
        .first(conn)
        .optional()?)
}

pub fn revoke(
    conn: &mut DbConn,
    now: NaiveDateTime,
    id: &str,
    reason: &str,
) -> anyhow::Result<bool> {
    Ok(
        diesel::update(grants::table.find(id).filter(grants::revoked_at.is_null()))
            .set((
                grants::revoked_at.eq(now),
                grants::revoked_reason.eq(reason),
            ))
            .execute(conn)?
            == 1,
    )
}

/// Ends the token families issued in a browser session, except `offline_access` ones.
pub fn revoke_for_session(
    conn: &mut DbConn,
    now: NaiveDateTime,
    session_id: &str,
) -> anyhow::Result<Vec<Grant>> {
    let affected: Vec<Grant> = grants::table
        .filter(grants::session_id.eq(session_id))
        .filter(grants::revoked_at.is_null())
        .select(Grant::as_select())
        .load(conn)?;
    diesel::update(
        grants::table
            .filter(grants::session_id.eq(session_id))
            .filter(grants::revoked_at.is_null())
            .filter(grants::offline_access.eq(false)),
    )
    .set((
        grants::revoked_at.eq(now),
        grants::revoked_reason.eq("session ended"),
    ))
    .execute(conn)?;
    Ok(affected)
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: String,
    pub token_hash: String,
    pub grant_id: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// A new refresh token in the grant's family; returns the token (only its hash is stored).
pub fn issue_refresh_token(
    conn: &mut DbConn,
    now: NaiveDateTime,
    grant_id: &str,
    scopes: &str,
    ttl: chrono::Duration,
) -> anyhow::Result<String> {
    let token = crate::crypto::random_token(32);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(uuid::Uuid::new_v4().to_string()),
            refresh_tokens::token_hash.eq(crate::crypto::token_hash(&token)),
            refresh_tokens::grant_id.eq(grant_id),
            refresh_tokens::scopes.eq(scopes),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

pub fn find_refresh_token(
    conn: &mut DbConn,
    token: &str,
) -> anyhow::Result<Option<(RefreshToken, Grant)>> {
    let hash = crate::crypto::token_hash(token);
    Ok(refresh_tokens::table
        .inner_join(grants::table)
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((RefreshToken::as_select(), Grant::as_select()))
        .first(conn)
        .optional()?)
}

/// Marks a refresh token used; false if another request already did (a reuse).
pub fn use_refresh_token(conn: &mut DbConn, now: NaiveDateTime, id: &str) -> anyhow::Result<bool> {
    Ok(diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?
        == 1)
}

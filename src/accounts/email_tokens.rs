//! Single-use links sent by email (confirmations, resets, "this wasn't me"): a random token,
//! stored only as its hash in `email_tokens` with a purpose and an expiry.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::crypto;
use crate::storage::db::DbConn;
use crate::storage::schema::email_tokens;

/// Longest token accepted from a request (ours are 43 characters).
const MAX_TOKEN_LEN: usize = 100;

/// Stores a new link for `user_id` and returns the token to put in the URL.
pub fn issue(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ttl: chrono::Duration,
    user_id: &str,
    email: &str,
    purpose: &str,
) -> anyhow::Result<String> {
    let token = crypto::random_token(32);
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::token_hash.eq(crypto::token_hash(&token)),
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose),
            email_tokens::email.eq(email),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Uses up a valid link (unused, unexpired, of this purpose): returns its (user id, email), or
/// None. The update is the claim, so two requests racing with one link can't both succeed.
pub fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    token: &str,
    purpose: &str,
) -> anyhow::Result<Option<(String, String)>> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    let hash = crypto::token_hash(token);
    let claimed = diesel::update(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(&hash))
            .filter(email_tokens::purpose.eq(purpose))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    if claimed != 1 {
        return Ok(None);
    }
    Ok(Some(
        email_tokens::table
            .find(&hash)
            .select((email_tokens::user_id, email_tokens::email))
            .first(conn)?,
    ))
}

/// The account of a valid link, without using it up (for a page that asks to confirm).
pub fn peek(
    conn: &mut DbConn,
    now: NaiveDateTime,
    token: &str,
    purpose: &str,
) -> anyhow::Result<Option<String>> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    Ok(email_tokens::table
        .filter(email_tokens::token_hash.eq(crypto::token_hash(token)))
        .filter(email_tokens::purpose.eq(purpose))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select(email_tokens::user_id)
        .first(conn)
        .optional()?)
}

/// The (account, address) of a valid link, without using it up.
pub fn peek_address(
    conn: &mut DbConn,
    now: NaiveDateTime,
    token: &str,
    purpose: &str,
) -> anyhow::Result<Option<(String, String)>> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    Ok(email_tokens::table
        .filter(email_tokens::token_hash.eq(crypto::token_hash(token)))
        .filter(email_tokens::purpose.eq(purpose))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select((email_tokens::user_id, email_tokens::email))
        .first(conn)
        .optional()?)
}

//! `Idempotency-Key` on mutations: the first answer to a (client, key) is stored with a hash
//! of the request; a repeat gets that answer back without acting again, and the same key on
//! another request is refused. A row is claimed before the work starts (status 0), so two
//! concurrent repeats can't both act.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::admin::{Outcome, Problem};
use crate::storage::db::DbConn;
use crate::storage::schema::idempotency_keys;
use crate::Ctx;

pub const HEADER: &str = "Idempotency-Key";

/// A key is 1..=255 printable ASCII characters.
pub fn validate_key(raw: &[u8]) -> Outcome<String> {
    let printable = raw.iter().all(|b| (0x20..0x7f).contains(b));
    if raw.is_empty() || raw.len() > 255 || !printable {
        return Err(Problem::invalid(
            HEADER,
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(String::from_utf8_lossy(raw).into_owned())
}

/// What the key says about the request.
pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut data = Vec::with_capacity(method.len() + path_and_query.len() + body.len() + 2);
    data.extend_from_slice(method.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(path_and_query.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(body);
    hex::encode(crate::crypto::sha256(&data))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use: do the work, then [`finish`] (or [`release`] if the answer isn't kept).
    Proceed,
    /// Seen before: answer this.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

const IN_PROGRESS: i32 = 0;

pub async fn claim(ctx: &Ctx, client_id: &str, key: &str, hash: &str) -> anyhow::Result<Claim> {
    let (client_id, key, hash) = (client_id.to_string(), key.to_string(), hash.to_string());
    let now = ctx.clock.now();
    let ttl = Duration::seconds(ctx.settings.support.idempotency_ttl_secs as i64);
    ctx.db
        .run(move |c| claim_in(c, now, ttl, &client_id, &key, &hash))
        .await
}

fn claim_in(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ttl: Duration,
    client_id: &str,
    key: &str,
    hash: &str,
) -> anyhow::Result<Claim> {
    // Keys past their lifetime are forgotten: this client's old ones go now.
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::client_id.eq(client_id))
            .filter(idempotency_keys::created_at.lt(now - ttl)),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::client_id.eq(client_id),
            idempotency_keys::idem_key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::status.eq(IN_PROGRESS),
            idempotency_keys::response.eq(""),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => return Ok(Claim::Proceed),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {}
        Err(e) => return Err(e.into()),
    }
    let row: Option<(String, i32, String)> = idempotency_keys::table
        .find((client_id, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        // Released between our insert and read: the caller may simply retry.
        None => Claim::InProgress,
        Some((stored, _, _)) if stored != hash => Claim::Mismatch,
        Some((_, IN_PROGRESS, _)) => Claim::InProgress,
        Some((_, status, body)) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
        },
    })
}

/// Keeps the first answer.
pub async fn finish(
    ctx: &Ctx,
    client_id: &str,
    key: &str,
    status: u16,
    body: String,
) -> anyhow::Result<()> {
    let (client_id, key) = (client_id.to_string(), key.to_string());
    ctx.db
        .run(move |c| {
            diesel::update(idempotency_keys::table.find((&client_id, &key)))
                .set((
                    idempotency_keys::status.eq(i32::from(status)),
                    idempotency_keys::response.eq(body),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
}

/// Forgets a claim whose answer isn't worth keeping (a failure the caller should retry).
pub async fn release(ctx: &Ctx, client_id: &str, key: &str) -> anyhow::Result<()> {
    let (client_id, key) = (client_id.to_string(), key.to_string());
    ctx.db
        .run(move |c| {
            diesel::delete(idempotency_keys::table.find((&client_id, &key))).execute(c)?;
            Ok(())
        })
        .await
}

//! `verity dev seed`: many confirmed accounts at once, for benchmarks and capacity tests. Every
//! seeded account has the same known password and the same authenticator-app secret, so a load
//! driver can sign any of them in. Rows go in with `COPY` on PostgreSQL and in large batched
//! inserts on SQLite, a batch per transaction. Refused outside dev mode (the CLI checks).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::crypto::MasterKey;
use crate::mfa::methods::TotpRow;
use crate::storage::db::{write_tx, DbConn};
use crate::storage::schema::{totp_credentials, users};

/// The password of every seeded account.
pub const SEED_PASSWORD: &str = "seeded plum tractor gazebo";
/// The authenticator-app secret of every seeded account (20 bytes, as apps use).
pub const SEED_TOTP_SECRET: &[u8; 20] = b"verity-seed-totp-key";
/// Seeded addresses are `seed<n>@` this domain (a reserved name: no mail can go there).
pub const SEED_DOMAIN: &str = "seed.verity.test";

const BATCH: u64 = 5_000;

pub fn seed_email(n: u64) -> String {
    format!("seed{n}@{SEED_DOMAIN}")
}

/// How many accounts exist that were not seeded (real people, or a benchmark's own).
pub fn other_accounts(conn: &mut DbConn) -> anyhow::Result<u64> {
    let n: i64 = users::table
        .filter(users::email.not_like(format!("seed%@{SEED_DOMAIN}")))
        .count()
        .get_result(conn)?;
    Ok(n.max(0) as u64)
}

/// How many seeded accounts exist (the next one is `seed<that>`).
pub fn seeded(conn: &mut DbConn) -> anyhow::Result<u64> {
    let n: i64 = users::table
        .filter(users::email.like(format!("seed%@{SEED_DOMAIN}")))
        .count()
        .get_result(conn)?;
    Ok(n.max(0) as u64)
}

/// Adds `count` accounts after those already seeded, `password_hash` (of [`SEED_PASSWORD`])
/// on each; returns the number of the first one added.
pub fn seed(
    conn: &mut DbConn,
    master: &MasterKey,
    password_hash: &str,
    count: u64,
    now: NaiveDateTime,
) -> anyhow::Result<u64> {
    let first = seeded(conn)?;
    let mut n = first;
    while n < first + count {
        let end = (n + BATCH).min(first + count);
        let mut people = Vec::with_capacity((end - n) as usize);
        let mut apps = Vec::with_capacity((end - n) as usize);
        for i in n..end {
            let id = uuid::Uuid::new_v4().to_string();
            let app_id = uuid::Uuid::new_v4().to_string();
            apps.push(TotpRow {
                secret_enc: master
                    .encrypt(SEED_TOTP_SECRET, &format!("totp_credentials:{app_id}"))?,
                id: app_id,
                user_id: id.clone(),
                name: "Seeded app".into(),
                last_step: 0,
                created_at: now,
            });
            people.push((id, seed_email(i)));
        }
        write_tx(conn, |c| {
            insert_batch(c, &people, &apps, password_hash, now)
        })?;
        n = end;
    }
    Ok(first)
}

fn copy_failed(e: std::io::Error) -> diesel::result::Error {
    diesel::result::Error::SerializationError(Box::new(e))
}

fn insert_batch(
    conn: &mut DbConn,
    people: &[(String, String)],
    apps: &[TotpRow],
    password_hash: &str,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    match conn {
        DbConn::Postgres(c) => {
            use diesel::pg::CopyFormat;
            let at = now.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
            let columns = (
                users::id,
                users::email,
                users::email_verified,
                users::password_hash,
                users::disabled,
                users::created_at,
                users::updated_at,
            );
            diesel::copy_from(users::table)
                .from_raw_data(columns, |out| {
                    for (id, email) in people {
                        writeln!(out, "{id},{email},t,\"{password_hash}\",f,{at},{at}")
                            .map_err(copy_failed)?;
                    }
                    Ok::<(), diesel::result::Error>(())
                })
                .with_format(CopyFormat::Csv)
                .execute(c)?;
            let columns = (
                totp_credentials::id,
                totp_credentials::user_id,
                totp_credentials::name,
                totp_credentials::secret_enc,
                totp_credentials::last_step,
                totp_credentials::created_at,
            );
            diesel::copy_from(totp_credentials::table)
                .from_raw_data(columns, |out| {
                    for a in apps {
                        writeln!(
                            out,
                            "{},{},{},{},{},{at}",
                            a.id, a.user_id, a.name, a.secret_enc, a.last_step
                        )
                        .map_err(copy_failed)?;
                    }
                    Ok::<(), diesel::result::Error>(())
                })
                .with_format(CopyFormat::Csv)
                .execute(c)?;
        }
        DbConn::Sqlite(c) => {
            // SQLite allows 32766 bound values a statement: 500 rows of 7 columns.
            for chunk in people.chunks(500) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|(id, email)| {
                        (
                            users::id.eq(id),
                            users::email.eq(email),
                            users::email_verified.eq(true),
                            users::password_hash.eq(password_hash),
                            users::disabled.eq(false),
                            users::created_at.eq(now),
                            users::updated_at.eq(now),
                        )
                    })
                    .collect();
                diesel::insert_into(users::table).values(&rows).execute(c)?;
            }
            for chunk in apps.chunks(500) {
                diesel::insert_into(totp_credentials::table)
                    .values(chunk)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

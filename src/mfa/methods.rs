//! Enrolled second factors in the database: phones (number encrypted, HMAC fingerprint for
//! lookups), authenticator apps (secret encrypted), backup codes (keyed hashes).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::crypto::MasterKey;
use crate::storage::db::DbConn;
use crate::storage::schema::{backup_codes, phones, totp_credentials};

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = phones)]
pub struct PhoneRow {
    pub id: String,
    pub user_id: String,
    pub number_enc: String,
    pub fingerprint: String,
    pub masked: String,
    pub channel: String,
    pub is_default: bool,
    pub confirmed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    /// Last replacement of the number: the SIM-swap cooldown runs from here.
    pub changed_at: Option<NaiveDateTime>,
    pub reviewed_at: Option<NaiveDateTime>,
}

impl PhoneRow {
    /// Within the SIM-swap cooldown after being added or replaced.
    pub fn recently_changed(&self, now: NaiveDateTime, cooldown_hours: u64) -> bool {
        let since = self.changed_at.unwrap_or(self.created_at);
        now - since < chrono::Duration::hours(cooldown_hours as i64)
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = totp_credentials)]
pub struct TotpRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub secret_enc: String,
    pub last_step: i64,
    pub created_at: NaiveDateTime,
}

/// How a code reaches a phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhoneChannel {
    Sms,
    Voice,
}

impl PhoneChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneChannel::Sms => "sms",
            PhoneChannel::Voice => "voice",
        }
    }
    pub fn parse(s: &str) -> Option<PhoneChannel> {
        match s {
            "sms" => Some(PhoneChannel::Sms),
            "voice" => Some(PhoneChannel::Voice),
            _ => None,
        }
    }
    /// RFC 8176 method reference.
    pub fn amr(self) -> &'static str {
        match self {
            PhoneChannel::Sms => crate::accounts::sessions::AMR_SMS,
            PhoneChannel::Voice => crate::accounts::sessions::AMR_VOICE,
        }
    }
}

/// What a person has enrolled, for choosing and listing methods.
#[derive(Clone, Debug, Default)]
pub struct Enrolled {
    pub phones: Vec<PhoneRow>,
    pub totp: Vec<TotpRow>,
    pub backup_codes_left: i64,
    /// Security keys and passkeys.
    pub keys: Vec<crate::mfa::webauthn::KeyRow>,
}

impl Enrolled {
    pub fn any(&self) -> bool {
        self.count() > 0
    }

    /// Ways to confirm it's you: each phone, app and key, and backup codes while any are left.
    /// "Never the last one" counts these.
    pub fn count(&self) -> usize {
        self.phones.len()
            + self.totp.len()
            + self.keys.len()
            + usize::from(self.backup_codes_left > 0)
    }
}

pub fn enrolled(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Enrolled> {
    use diesel::dsl::count_star;
    let phones = phones::table
        .filter(phones::user_id.eq(user_id))
        .order((phones::is_default.desc(), phones::created_at.asc()))
        .select(PhoneRow::as_select())
        .load(conn)?;
    let totp = totp_credentials::table
        .filter(totp_credentials::user_id.eq(user_id))
        .order(totp_credentials::created_at.asc())
        .select(TotpRow::as_select())
        .load(conn)?;
    let backup_codes_left = backup_codes::table
        .filter(backup_codes::user_id.eq(user_id))
        .filter(backup_codes::used_at.is_null())
        .select(count_star())
        .first(conn)?;
    let keys = crate::mfa::webauthn::keys_of(conn, user_id)?;
    Ok(Enrolled {
        phones,
        totp,
        backup_codes_left,
        keys,
    })
}

/// Keyed fingerprint of an E.164 number: lets us find "accounts using this number" without
/// storing it in the clear.
pub fn phone_fingerprint(master: &MasterKey, e164: &str) -> String {
    crate::crypto::mac(
        &master.derive("verity/phone-fingerprint/v1"),
        e164.as_bytes(),
    )
}

pub fn decrypt_phone(master: &MasterKey, row: &PhoneRow) -> anyhow::Result<String> {
    let bytes = master.decrypt(&row.number_enc, &format!("phones:{}", row.id))?;
    Ok(String::from_utf8(bytes.to_vec())?)
}

pub fn add_phone(
    conn: &mut DbConn,
    master: &MasterKey,
    now: NaiveDateTime,
    user_id: &str,
    e164: &str,
    channel: PhoneChannel,
) -> anyhow::Result<PhoneRow> {
    let id = uuid::Uuid::new_v4().to_string();
    let has_default: bool = diesel::select(diesel::dsl::exists(
        phones::table
            .filter(phones::user_id.eq(user_id))
            .filter(phones::is_default.eq(true)),
    ))
    .get_result(conn)?;
    let row = PhoneRow {
        number_enc: master.encrypt(e164.as_bytes(), &format!("phones:{id}"))?,
        fingerprint: phone_fingerprint(master, e164),
        masked: crate::mfa::phone::mask(e164),
        id,
        user_id: user_id.to_string(),
        channel: channel.as_str().to_string(),
        is_default: !has_default,
        confirmed_at: now,
        created_at: now,
        changed_at: Some(now),
        reviewed_at: Some(now),
    };
    diesel::insert_into(phones::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn phone_count(conn: &mut DbConn, user_id: &str) -> anyhow::Result<i64> {
    use diesel::dsl::count_star;
    Ok(phones::table
        .filter(phones::user_id.eq(user_id))
        .select(count_star())
        .first(conn)?)
}

/// Adds an authenticator app unless the account already has `max`; `None` then. Call inside
/// a write transaction: the count is taken under the account's lock, so concurrent additions
/// can't pass the limit together.
#[allow(clippy::too_many_arguments)]
pub fn add_totp(
    conn: &mut DbConn,
    master: &MasterKey,
    now: NaiveDateTime,
    user_id: &str,
    name: &str,
    secret: &[u8],
    step: u64,
    max: u32,
) -> anyhow::Result<Option<TotpRow>> {
    crate::storage::db::serialize_on(conn, &format!("authenticator-apps-of:{user_id}"))?;
    let count: i64 = totp_credentials::table
        .filter(totp_credentials::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    if count >= i64::from(max) {
        return Ok(None);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let row = TotpRow {
        secret_enc: master.encrypt(secret, &format!("totp_credentials:{id}"))?,
        id,
        user_id: user_id.to_string(),
        name: name.to_string(),
        last_step: step as i64,
        created_at: now,
    };
    diesel::insert_into(totp_credentials::table)
        .values(&row)
        .execute(conn)?;
    Ok(Some(row))
}

/// Records `step` as used if it is newer than the last one: the single gate that makes a
/// TOTP code (and any earlier one) unusable twice, even across nodes.
pub fn claim_totp_step(conn: &mut DbConn, id: &str, step: u64) -> anyhow::Result<bool> {
    Ok(diesel::update(
        totp_credentials::table
            .find(id)
            .filter(totp_credentials::last_step.lt(step as i64)),
    )
    .set(totp_credentials::last_step.eq(step as i64))
    .execute(conn)?
        == 1)
}

/// Replaces the whole set: regenerating voids every old code.
pub fn replace_backup_codes(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    hashes: &[String],
) -> anyhow::Result<()> {
    crate::storage::db::write_tx(conn, |conn| {
        diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(user_id)))
            .execute(conn)?;
        for h in hashes {
            diesel::insert_into(backup_codes::table)
                .values((
                    backup_codes::id.eq(uuid::Uuid::new_v4().to_string()),
                    backup_codes::user_id.eq(user_id),
                    backup_codes::code_hash.eq(h),
                    backup_codes::created_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Marks a backup code used; true only for the one request that flips it.
pub fn use_backup_code(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    hash: &str,
) -> anyhow::Result<bool> {
    Ok(diesel::update(
        backup_codes::table
            .filter(backup_codes::user_id.eq(user_id))
            .filter(backup_codes::code_hash.eq(hash))
            .filter(backup_codes::used_at.is_null()),
    )
    .set(backup_codes::used_at.eq(now))
    .execute(conn)?
        >= 1)
}

/// (codes in the current set, codes still unused).
pub fn backup_code_status(conn: &mut DbConn, user_id: &str) -> anyhow::Result<(i64, i64)> {
    use diesel::dsl::count_star;
    let total = backup_codes::table
        .filter(backup_codes::user_id.eq(user_id))
        .select(count_star())
        .first(conn)?;
    let left = backup_codes::table
        .filter(backup_codes::user_id.eq(user_id))
        .filter(backup_codes::used_at.is_null())
        .select(count_star())
        .first(conn)?;
    Ok((total, left))
}

/// Replaces a phone's number in place (same id, same default flag): one statement, so a
/// crash leaves either the old number or the new one.
pub fn replace_phone(
    conn: &mut DbConn,
    master: &MasterKey,
    now: NaiveDateTime,
    phone_id: &str,
    e164: &str,
    channel: PhoneChannel,
) -> anyhow::Result<bool> {
    Ok(diesel::update(phones::table.find(phone_id))
        .set((
            phones::number_enc.eq(master.encrypt(e164.as_bytes(), &format!("phones:{phone_id}"))?),
            phones::fingerprint.eq(phone_fingerprint(master, e164)),
            phones::masked.eq(crate::mfa::phone::mask(e164)),
            phones::channel.eq(channel.as_str()),
            phones::confirmed_at.eq(now),
            phones::changed_at.eq(now),
            phones::reviewed_at.eq(now),
        ))
        .execute(conn)?
        == 1)
}

/// How many other accounts have this number confirmed.
pub fn accounts_using_number(
    conn: &mut DbConn,
    master: &MasterKey,
    e164: &str,
    except_user: &str,
) -> anyhow::Result<i64> {
    let users: Vec<String> = phones::table
        .filter(phones::fingerprint.eq(phone_fingerprint(master, e164)))
        .filter(phones::user_id.ne(except_user))
        .select(phones::user_id)
        .distinct()
        .load(conn)?;
    Ok(users.len() as i64)
}

pub fn remove_phone(
    conn: &mut DbConn,
    user_id: &str,
    phone_id: &str,
) -> anyhow::Result<Option<PhoneRow>> {
    crate::storage::db::write_tx(conn, |conn| {
        let row: Option<PhoneRow> = phones::table
            .find(phone_id)
            .filter(phones::user_id.eq(user_id))
            .select(PhoneRow::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        diesel::delete(phones::table.find(phone_id)).execute(conn)?;
        if row.is_default {
            // Another phone, if any, becomes the default.
            let next: Option<String> = phones::table
                .filter(phones::user_id.eq(user_id))
                .order(phones::created_at.asc())
                .select(phones::id)
                .first(conn)
                .optional()?;
            if let Some(next) = next {
                diesel::update(phones::table.find(next))
                    .set(phones::is_default.eq(true))
                    .execute(conn)?;
            }
        }
        Ok(Some(row))
    })
}

pub fn mark_phone_reviewed(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    phone_id: &str,
) -> anyhow::Result<()> {
    diesel::update(
        phones::table
            .find(phone_id)
            .filter(phones::user_id.eq(user_id)),
    )
    .set(phones::reviewed_at.eq(now))
    .execute(conn)?;
    Ok(())
}

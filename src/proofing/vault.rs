//! Verified data only the person can unlock.
//!
//! A finished verification's personal data is sealed under a vault key of its own. The vault
//! key is stored only wrapped: under a key derived from the person's password and under one
//! derived from their personal key (16 Crockford characters, shown once), each Argon2id with a
//! salt of its own (`identity_vaults`). Neither the database nor the master key opens it.
//!
//! Where an unlocked vault key lives, always sealed and always for a bounded time:
//! - a sign-in in progress (`vault:login:{flow}`), from the password until the second factor;
//! - the browser session (`vault:session:{id}`), sealed under a key derived from the session
//!   cookie, which the server stores only as a hash;
//! - an authorization code (sealed under a key derived from the code itself);
//! - a token grant (`vault:grant:{id}`), for `proofing.released_claims_ttl_secs`, so
//!   `/userinfo` and refreshed ID tokens can carry the verified claims for a while.
//!
//! A password reset can't unwrap it: the vault is suspended (the verification stops counting)
//! until the personal key re-wraps it under the new password, or the person verifies again.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::accounts::sessions::Session;
use crate::accounts::signin::SignInOutcome;
use crate::audit::{self, Actor};
use crate::crypto::{self, MasterKey};
use crate::proofing::records::{self, Verification};
use crate::storage::db::DbConn;
use crate::storage::schema::identity_vaults;
use crate::Ctx;

/// Characters of a personal key (Crockford base32: 80 bits).
pub const PERSONAL_KEY_LEN: usize = 16;

/// A new personal key, canonical (no hyphens).
pub fn new_personal_key() -> Zeroizing<String> {
    Zeroizing::new(
        crate::mfa::backup_codes::generate(1, PERSONAL_KEY_LEN)
            .pop()
            .unwrap_or_default(),
    )
}

/// What a person typed, canonical; None unless it can be a personal key.
pub fn normalize_personal_key(typed: &str) -> Option<Zeroizing<String>> {
    crate::mfa::backup_codes::normalize(typed, PERSONAL_KEY_LEN).map(Zeroizing::new)
}

/// "ABCD-EFGH-JKMN-PQRS".
pub fn display_personal_key(key: &str) -> String {
    crate::mfa::backup_codes::display(key)
}

// ---- unlocked keys ------------------------------------------------------------------------------

/// Vault keys unlocked for one session or grant: verification id → key (base64).
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Unlocked {
    keys: BTreeMap<String, String>,
}

impl Drop for Unlocked {
    fn drop(&mut self) {
        for key in self.keys.values_mut() {
            key.zeroize();
        }
    }
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Unlocked({} keys)", self.keys.len())
    }
}

impl Unlocked {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn has(&self, verification_id: &str) -> bool {
        self.keys.contains_key(verification_id)
    }

    /// The vault key of one verification, if unlocked here.
    pub fn key_for(&self, verification_id: &str) -> Option<MasterKey> {
        self.keys
            .get(verification_id)
            .and_then(|k| MasterKey::from_base64(k).ok())
    }

    pub fn insert(&mut self, verification_id: &str, key: &MasterKey) {
        self.keys
            .insert(verification_id.to_string(), key.to_base64());
    }

    /// Only the key of `verification_id` (what an authorization releases).
    pub fn only(&self, verification_id: &str) -> Unlocked {
        let mut out = Unlocked::default();
        if let Some(k) = self.keys.get(verification_id) {
            out.keys.insert(verification_id.to_string(), k.clone());
        }
        out
    }

    fn merge(&mut self, other: &Unlocked) {
        for (k, v) in &other.keys {
            self.keys.insert(k.clone(), v.clone());
        }
    }

    fn seal(&self, key: &MasterKey, context: &str) -> anyhow::Result<String> {
        let json = Zeroizing::new(serde_json::to_vec(self)?);
        key.encrypt(&json, context)
    }

    /// Empty when it can't be opened (another key, tampered): nothing is unlocked then.
    fn open(sealed: &str, key: &MasterKey, context: &str) -> Unlocked {
        key.decrypt(sealed, context)
            .ok()
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .unwrap_or_default()
    }
}

/// A key derived from a bearer secret the server keeps only as a hash (a session cookie, an
/// authorization code): what is sealed under it can't be opened from the store and the
/// database, even with the master key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BearerSecret([u8; 32]);

impl std::fmt::Debug for BearerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerSecret(..)")
    }
}

impl BearerSecret {
    pub fn of(bearer: &str, purpose: &str) -> BearerSecret {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bearer.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, purpose.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        BearerSecret(out)
    }

    /// The secret of a browser session, from its cookie value.
    pub fn of_session_token(token: &str) -> BearerSecret {
        BearerSecret::of(token, "verity/vault/session/v1")
    }

    fn key(&self) -> MasterKey {
        MasterKey::from_bytes(&self.0)
    }
}

// ---- the vault rows -----------------------------------------------------------------------------

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = identity_vaults)]
pub struct VaultRow {
    pub verification_id: String,
    pub user_id: String,
    pub kdf: String,
    pub password_salt: Option<String>,
    pub password_wrapped: Option<String>,
    pub personal_salt: Option<String>,
    pub personal_wrapped: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub suspended_at: Option<NaiveDateTime>,
    /// A personal key just made, sealed for the session that made it ([`seal_shown`]).
    pub shown_key: Option<String>,
}

impl std::fmt::Debug for VaultRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultRow")
            .field("verification_id", &self.verification_id)
            .field("suspended_at", &self.suspended_at)
            .field("has_personal_key", &self.personal_wrapped.is_some())
            .finish()
    }
}

pub fn vault_of(conn: &mut DbConn, verification_id: &str) -> anyhow::Result<Option<VaultRow>> {
    Ok(identity_vaults::table
        .find(verification_id)
        .select(VaultRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConn, row: &VaultRow) -> anyhow::Result<()> {
    diesel::insert_into(identity_vaults::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A password reset: every vault of the person loses its password wrap and is suspended.
/// Returns how many were suspended now.
pub fn suspend_all(conn: &mut DbConn, user_id: &str, now: NaiveDateTime) -> anyhow::Result<usize> {
    Ok(diesel::update(
        identity_vaults::table
            .filter(identity_vaults::user_id.eq(user_id))
            .filter(identity_vaults::suspended_at.is_null()),
    )
    .set((
        identity_vaults::password_salt.eq(None::<String>),
        identity_vaults::password_wrapped.eq(None::<String>),
        identity_vaults::shown_key.eq(None::<String>),
        identity_vaults::suspended_at.eq(now),
        identity_vaults::updated_at.eq(now),
    ))
    .execute(conn)?)
}

pub fn delete_all(conn: &mut DbConn, user_id: &str) -> anyhow::Result<()> {
    diesel::delete(identity_vaults::table.filter(identity_vaults::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}

fn password_context(verification_id: &str) -> String {
    format!("identity_vaults.password_wrapped:{verification_id}")
}

fn personal_context(verification_id: &str) -> String {
    format!("identity_vaults.personal_wrapped:{verification_id}")
}

/// A wrap of the vault key: (salt, wrapped), under a key derived from `secret`.
async fn wrap(
    ctx: &Ctx,
    vault_key: &MasterKey,
    secret: Zeroizing<String>,
    kdf: &str,
    context: &str,
) -> anyhow::Result<(String, String)> {
    let salt = crypto::random_bytes(16);
    let kek = ctx.passwords.derive_key(secret, salt.clone(), kdf).await?;
    let wrapped = MasterKey::from_bytes(&kek).encrypt(vault_key.to_base64().as_bytes(), context)?;
    Ok((crypto::b64url(&salt), wrapped))
}

/// The vault key, if `secret` opens this wrap (None: wrong secret, or no wrap).
async fn unwrap(
    ctx: &Ctx,
    salt: Option<&str>,
    wrapped: Option<&str>,
    secret: Zeroizing<String>,
    kdf: &str,
    context: &str,
) -> anyhow::Result<Option<MasterKey>> {
    let (Some(salt), Some(wrapped)) = (salt.and_then(crypto::b64url_decode), wrapped) else {
        return Ok(None);
    };
    let kek = ctx.passwords.derive_key(secret, salt, kdf).await?;
    let Ok(plain) = MasterKey::from_bytes(&kek).decrypt(wrapped, context) else {
        return Ok(None);
    };
    let text = Zeroizing::new(String::from_utf8(plain.to_vec())?);
    Ok(Some(MasterKey::from_base64(&text)?))
}

/// A new vault for a verification: its key, wrapped under the password and under a new
/// personal key (returned, to be shown once).
pub struct NewVault {
    pub key: MasterKey,
    pub row: VaultRow,
    pub personal_key: Option<Zeroizing<String>>,
}

pub async fn new_vault(
    ctx: &Ctx,
    user_id: &str,
    verification_id: &str,
    password: Zeroizing<String>,
    with_personal_key: bool,
    now: NaiveDateTime,
) -> anyhow::Result<NewVault> {
    let key = MasterKey::generate();
    let kdf = ctx.passwords.kdf_params();
    let (password_salt, password_wrapped) = wrap(
        ctx,
        &key,
        password,
        &kdf,
        &password_context(verification_id),
    )
    .await?;
    let (mut personal_salt, mut personal_wrapped, mut personal_key) = (None, None, None);
    if with_personal_key {
        let fresh = new_personal_key();
        let (salt, wrapped) = wrap(
            ctx,
            &key,
            fresh.clone(),
            &kdf,
            &personal_context(verification_id),
        )
        .await?;
        (personal_salt, personal_wrapped, personal_key) = (Some(salt), Some(wrapped), Some(fresh));
    }
    Ok(NewVault {
        key,
        row: VaultRow {
            verification_id: verification_id.to_string(),
            user_id: user_id.to_string(),
            kdf,
            password_salt: Some(password_salt),
            password_wrapped: Some(password_wrapped),
            personal_salt,
            personal_wrapped,
            created_at: now,
            updated_at: now,
            suspended_at: None,
            shown_key: None,
        },
        personal_key,
    })
}

/// The vault key of `row`, opened with the password (None: wrong password, or suspended).
pub async fn open_with_password(
    ctx: &Ctx,
    row: &VaultRow,
    password: Zeroizing<String>,
) -> anyhow::Result<Option<MasterKey>> {
    unwrap(
        ctx,
        row.password_salt.as_deref(),
        row.password_wrapped.as_deref(),
        password,
        &row.kdf,
        &password_context(&row.verification_id),
    )
    .await
}

/// The vault key of `row`, opened with a personal key (None: wrong key, or none was made).
pub async fn open_with_personal_key(
    ctx: &Ctx,
    row: &VaultRow,
    personal_key: Zeroizing<String>,
) -> anyhow::Result<Option<MasterKey>> {
    unwrap(
        ctx,
        row.personal_salt.as_deref(),
        row.personal_wrapped.as_deref(),
        personal_key,
        &row.kdf,
        &personal_context(&row.verification_id),
    )
    .await
}

/// New wraps of `key` for `row`: under `password`, and under a new personal key when `personal`
/// (returned). The row's other wrap is kept when not renewed.
pub async fn rewrapped(
    ctx: &Ctx,
    row: &VaultRow,
    key: &MasterKey,
    password: Zeroizing<String>,
    personal: bool,
    now: NaiveDateTime,
) -> anyhow::Result<(VaultRow, Option<Zeroizing<String>>)> {
    let kdf = ctx.passwords.kdf_params();
    let mut out = row.clone();
    // One parameter set per row: renewing one wrap with today's parameters means renewing
    // the other too, which needs its secret. Keep the row's own unless both are renewed.
    let kdf_used = if personal { kdf } else { row.kdf.clone() };
    let (salt, wrapped) = wrap(
        ctx,
        key,
        password,
        &kdf_used,
        &password_context(&row.verification_id),
    )
    .await?;
    out.password_salt = Some(salt);
    out.password_wrapped = Some(wrapped);
    let mut shown = None;
    if personal {
        let personal_key = new_personal_key();
        let (salt, wrapped) = wrap(
            ctx,
            key,
            personal_key.clone(),
            &kdf_used,
            &personal_context(&row.verification_id),
        )
        .await?;
        out.personal_salt = Some(salt);
        out.personal_wrapped = Some(wrapped);
        shown = Some(personal_key);
    }
    out.kdf = kdf_used;
    out.suspended_at = None;
    out.updated_at = now;
    Ok((out, shown))
}

/// Writes new wraps if the row is still as `before` (compare and swap on both wraps). False:
/// it changed meanwhile (another reset, another restore); nothing written.
pub fn replace_wraps(
    conn: &mut DbConn,
    before: &VaultRow,
    after: &VaultRow,
) -> anyhow::Result<bool> {
    let mut q = diesel::update(identity_vaults::table)
        .filter(identity_vaults::verification_id.eq(&before.verification_id))
        .into_boxed();
    q = match &before.password_wrapped {
        Some(w) => q.filter(identity_vaults::password_wrapped.eq(w.clone())),
        None => q.filter(identity_vaults::password_wrapped.is_null()),
    };
    q = match &before.personal_wrapped {
        Some(w) => q.filter(identity_vaults::personal_wrapped.eq(w.clone())),
        None => q.filter(identity_vaults::personal_wrapped.is_null()),
    };
    let n = q
        .set((
            identity_vaults::kdf.eq(&after.kdf),
            identity_vaults::password_salt.eq(&after.password_salt),
            identity_vaults::password_wrapped.eq(&after.password_wrapped),
            identity_vaults::personal_salt.eq(&after.personal_salt),
            identity_vaults::personal_wrapped.eq(&after.personal_wrapped),
            identity_vaults::suspended_at.eq(after.suspended_at),
            identity_vaults::updated_at.eq(after.updated_at),
            identity_vaults::shown_key.eq(&after.shown_key),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

// ---- where unlocked keys are kept ---------------------------------------------------------------

fn login_key(flow_id: &str) -> String {
    format!("vault:login:{flow_id}")
}

fn session_key(session_id: &str) -> String {
    format!("vault:session:{session_id}")
}

fn grant_key(grant_id: &str) -> String {
    format!("vault:grant:{grant_id}")
}

fn shown_context(verification_id: &str) -> String {
    format!("identity_vaults.shown_key:{verification_id}")
}

/// A personal key just made, sealed for the session that made it: kept on the vault row (in
/// the same transaction that makes the key count) until the person says they saved it, so a
/// double submit, a reload or an error after the commit can't lose it, on any node. Only that
/// session's cookie opens it. `next`: where "I saved it" leads.
pub fn seal_shown(
    session: &Session,
    verification_id: &str,
    personal_key: &str,
    next: &str,
) -> anyhow::Result<String> {
    let json = Zeroizing::new(serde_json::to_vec(&(personal_key, next))?);
    session
        .vault_secret
        .key()
        .encrypt(&json, &shown_context(verification_id))
}

/// The person's vault rows holding a personal key shown to this session and not yet saved.
fn shown_rows(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Vec<(String, String)>> {
    Ok(identity_vaults::table
        .filter(identity_vaults::user_id.eq(user_id))
        .filter(identity_vaults::shown_key.is_not_null())
        .select((
            identity_vaults::verification_id,
            identity_vaults::shown_key.assume_not_null(),
        ))
        .load(conn)?)
}

/// The personal key this session was shown and hasn't confirmed saving, with where to go next.
pub async fn shown(
    ctx: &Ctx,
    session: &Session,
) -> anyhow::Result<Option<(Zeroizing<String>, String)>> {
    let uid = session.user_id.clone();
    let rows = ctx.db.run(move |c| shown_rows(c, &uid)).await?;
    let key = session.vault_secret.key();
    for (vid, sealed) in rows {
        let Ok(plain) = key.decrypt(&sealed, &shown_context(&vid)) else {
            continue;
        };
        if let Ok((personal_key, next)) = serde_json::from_slice::<(String, String)>(&plain) {
            return Ok(Some((Zeroizing::new(personal_key), next)));
        }
    }
    Ok(None)
}

/// "I saved my personal key": what this session was shown is dropped; where to go next.
pub async fn saved(ctx: &Ctx, session: &Session) -> anyhow::Result<Option<String>> {
    let uid = session.user_id.clone();
    let rows = ctx.db.run(move |c| shown_rows(c, &uid)).await?;
    let key = session.vault_secret.key();
    let mut next = None;
    let mut mine = Vec::new();
    for (vid, sealed) in rows {
        if let Ok(plain) = key.decrypt(&sealed, &shown_context(&vid)) {
            if let Ok((_, n)) = serde_json::from_slice::<(String, String)>(&plain) {
                next = Some(n);
            }
            mine.push((vid, sealed));
        }
    }
    ctx.db
        .run(move |c| {
            for (vid, sealed) in &mine {
                diesel::update(
                    identity_vaults::table
                        .filter(identity_vaults::verification_id.eq(vid))
                        .filter(identity_vaults::shown_key.eq(sealed)),
                )
                .set(identity_vaults::shown_key.eq(None::<String>))
                .execute(c)?;
            }
            Ok(())
        })
        .await?;
    Ok(next)
}

/// From the password step of a sign-in until its session exists (the sign-in's own lifetime).
pub async fn carry_for_login(ctx: &Ctx, flow_id: &str, unlocked: &Unlocked) -> anyhow::Result<()> {
    if unlocked.is_empty() {
        return Ok(());
    }
    let key = login_key(flow_id);
    let sealed = unlocked.seal(&ctx.master, &key)?;
    let ttl = Duration::from_secs(ctx.settings.security.authorization_request_ttl_secs);
    ctx.store.put(&key, &sealed, ttl).await
}

/// The sign-in is complete: what its password unlocked moves to the new session.
pub async fn carry_to_session(
    ctx: &Ctx,
    flow_id: &str,
    session_id: &str,
    session_token: &str,
) -> anyhow::Result<()> {
    let key = login_key(flow_id);
    let Some(sealed) = ctx.store.take(&key).await? else {
        return Ok(());
    };
    let unlocked = Unlocked::open(&sealed, &ctx.master, &key);
    keep_for_session(
        ctx,
        session_id,
        &BearerSecret::of_session_token(session_token),
        &unlocked,
    )
    .await
}

/// Adds to what the session has unlocked, for the session's absolute lifetime at most.
pub async fn keep_for_session(
    ctx: &Ctx,
    session_id: &str,
    secret: &BearerSecret,
    unlocked: &Unlocked,
) -> anyhow::Result<()> {
    if unlocked.is_empty() {
        return Ok(());
    }
    let mut all = session_unlocked(ctx, session_id, secret).await?;
    all.merge(unlocked);
    let key = session_key(session_id);
    let sealed = all.seal(&secret.key(), &key)?;
    let ttl = Duration::from_secs(ctx.settings.security.session_absolute_secs);
    ctx.store.put(&key, &sealed, ttl).await
}

pub async fn session_unlocked(
    ctx: &Ctx,
    session_id: &str,
    secret: &BearerSecret,
) -> anyhow::Result<Unlocked> {
    let key = session_key(session_id);
    Ok(match ctx.store.get(&key).await? {
        Some(sealed) => Unlocked::open(&sealed, &secret.key(), &key),
        None => Unlocked::default(),
    })
}

/// Forgets what a session unlocked (sign-out).
pub async fn forget_session(ctx: &Ctx, session_id: &str) -> anyhow::Result<()> {
    ctx.store.delete(&session_key(session_id)).await
}

/// Sealed into an authorization code's record, under a key only the code opens.
pub fn seal_for_code(code: &str, unlocked: &Unlocked) -> anyhow::Result<Option<String>> {
    if unlocked.is_empty() {
        return Ok(None);
    }
    let secret = BearerSecret::of(code, "verity/vault/code/v1");
    Ok(Some(unlocked.seal(&secret.key(), "vault:code")?))
}

pub fn open_for_code(code: &str, sealed: Option<&str>) -> Unlocked {
    match sealed {
        Some(s) => Unlocked::open(
            s,
            &BearerSecret::of(code, "verity/vault/code/v1").key(),
            "vault:code",
        ),
        None => Unlocked::default(),
    }
}

/// Kept for a token grant for `proofing.released_claims_ttl_secs`: `/userinfo` and refreshed
/// ID tokens read it.
pub async fn keep_for_grant(ctx: &Ctx, grant_id: &str, unlocked: &Unlocked) -> anyhow::Result<()> {
    if unlocked.is_empty() {
        return Ok(());
    }
    let key = grant_key(grant_id);
    let sealed = unlocked.seal(&ctx.master, &key)?;
    let ttl = Duration::from_secs(ctx.settings.proofing.released_claims_ttl_secs);
    ctx.store.put(&key, &sealed, ttl).await
}

pub async fn grant_unlocked(ctx: &Ctx, grant_id: &str) -> anyhow::Result<Unlocked> {
    let key = grant_key(grant_id);
    Ok(match ctx.store.get(&key).await? {
        Some(sealed) => Unlocked::open(&sealed, &ctx.master, &key),
        None => Unlocked::default(),
    })
}

// ---- the flows --------------------------------------------------------------------------------

/// A write that lost a race with another change of the same vault: rolls its transaction back.
#[derive(Debug)]
pub struct Moved;

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the vault changed meanwhile")
    }
}

impl std::error::Error for Moved {}

/// The password hash stored now, read before a password is checked and compared again under
/// the person's lock when what the check allowed is written ([`password_is`]).
pub async fn password_hash_now(ctx: &Ctx, user_id: &str) -> anyhow::Result<Option<String>> {
    let uid = user_id.to_string();
    ctx.db
        .run(move |c| {
            use crate::storage::schema::users;
            Ok(users::table
                .find(&uid)
                .select(users::password_hash)
                .first::<String>(c)
                .optional()?)
        })
        .await
}

/// Whether the password is still the one whose hash was read (see [`password_hash_now`]).
pub fn password_is(conn: &mut DbConn, user_id: &str, hash: Option<&str>) -> anyhow::Result<bool> {
    use crate::storage::schema::users;
    let now: Option<String> = users::table
        .find(user_id)
        .select(users::password_hash)
        .first(conn)
        .optional()?;
    Ok(hash.is_some() && now.as_deref() == hash)
}

/// The vault of the person's counting verification (None: none counts, or it has no vault
/// because it was finished before vaults existed) with that verification.
fn counting_vault(
    conn: &mut DbConn,
    user_id: &str,
) -> anyhow::Result<Option<(Verification, Option<VaultRow>)>> {
    use crate::storage::schema::identity_verifications as iv;
    // Most people never verified: one indexed look settles it (this runs at every sign-in).
    let any_verified = iv::table
        .filter(iv::user_id.eq(user_id))
        .filter(iv::status.eq(records::Status::Verified.as_str()))
        .select(iv::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if !any_verified {
        return Ok(None);
    }
    let Some((v, _)) = records::counting_verification(conn, user_id)? else {
        return Ok(None);
    };
    let row = vault_of(conn, &v.id)?;
    Ok(Some((v, row)))
}

/// After a right password at sign-in (or step-up): opens the counting verification's vault.
/// A verification finished before vaults existed is moved into one now, wrapped under this
/// password (the person makes a personal key from the console). Empty: nothing to open.
pub async fn unlock_at_sign_in(
    ctx: &Ctx,
    user_id: &str,
    password: Zeroizing<String>,
) -> anyhow::Result<Unlocked> {
    let uid = user_id.to_string();
    let Some((v, row)) = ctx.db.run(move |c| counting_vault(c, &uid)).await? else {
        return Ok(Unlocked::default());
    };
    let mut unlocked = Unlocked::default();
    match row {
        Some(row) => {
            if let Some(key) = open_with_password(ctx, &row, password).await? {
                unlocked.insert(&v.id, &key);
            }
        }
        None => {
            if let Some(key) = move_into_vault(ctx, user_id, &v, password).await? {
                unlocked.insert(&v.id, &key);
            }
        }
    }
    Ok(unlocked)
}

/// A verification from before vaults: its data (under the person's data key) is sealed again
/// under a new vault key wrapped by the password, and what the server could read goes.
async fn move_into_vault(
    ctx: &Ctx,
    user_id: &str,
    v: &Verification,
    password: Zeroizing<String>,
) -> anyhow::Result<Option<MasterKey>> {
    let now = ctx.clock.now();
    let hash_checked = password_hash_now(ctx, user_id).await?;
    let fresh = new_vault(ctx, user_id, &v.id, password, false, now).await?;
    let (uid, vid, master) = (user_id.to_string(), v.id.clone(), ctx.master.clone());
    let key = MasterKey::from_base64(&fresh.key.to_base64())?;
    let row = fresh.row;
    let moved = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                records::lock_person(c, &uid)?;
                let Some(mut v) = records::by_id(c, &vid)? else {
                    return Ok(false);
                };
                if vault_of(c, &vid)?.is_some() || !password_is(c, &uid, hash_checked.as_deref())? {
                    return Ok(false);
                }
                let pii = records::read_pii(c, &master, &v)?;
                v.pii = Some(records::seal_vault_pii(&key, &v.id, &pii)?);
                if !records::save_if_unchanged(c, &v, now)? {
                    return Ok(false);
                }
                insert(c, &row)?;
                records::drop_evidence(c, &uid, &v.id)?;
                Ok(true)
            })
        })
        .await?;
    // Another sign-in moved it first: its vault holds the data, this key opens nothing.
    Ok(moved.then_some(fresh.key))
}

/// What a password check on a vault page came to.
#[derive(Debug)]
pub enum PasswordCheck {
    Right,
    Wrong,
    /// A lock or wait from the sign-in throttling: the same lock pages as signing in.
    Locked(SignInOutcome),
}

/// The password of the signed-in person, with the same throttling as signing in.
pub async fn check_password(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    password: Zeroizing<String>,
    actor: &Actor,
) -> anyhow::Result<PasswordCheck> {
    if crate::accounts::password::too_long_to_check(&ctx.settings.security, &password) {
        return Ok(PasswordCheck::Wrong);
    }
    Ok(
        match crate::accounts::signin::sign_in(ctx, email, password.to_string(), actor).await? {
            SignInOutcome::PasswordAccepted { user_id: who, .. } if who == user_id => {
                PasswordCheck::Right
            }
            outcome @ (SignInOutcome::TryAgainLater { .. }
            | SignInOutcome::AccountLocked { .. }
            | SignInOutcome::LockedUntilRecovered) => PasswordCheck::Locked(outcome),
            _ => PasswordCheck::Wrong,
        },
    )
}

/// "Enter your password to share your verified information" (a session that signed in
/// without a password: a passkey, or before the verification was finished elsewhere).
#[derive(Debug)]
pub enum UnlockOutcome {
    Unlocked,
    /// Nothing of this person is locked (no vault counts, or it is open already).
    NothingLocked,
    /// The password is right, yet it doesn't open the counting verification's vault.
    CantOpen,
    Password(PasswordCheck),
}

pub async fn unlock_session(
    ctx: &Ctx,
    session: &Session,
    password: Zeroizing<String>,
    actor: &Actor,
) -> anyhow::Result<UnlockOutcome> {
    let check = check_password(
        ctx,
        &session.user_id,
        &session.email,
        password.clone(),
        actor,
    )
    .await?;
    if !matches!(check, PasswordCheck::Right) {
        return Ok(UnlockOutcome::Password(check));
    }
    let unlocked = unlock_at_sign_in(ctx, &session.user_id, password).await?;
    if unlocked.is_empty() {
        return Ok(if session_can_open(ctx, session).await? {
            UnlockOutcome::NothingLocked
        } else {
            UnlockOutcome::CantOpen
        });
    }
    keep_for_session(ctx, &session.id, &session.vault_secret, &unlocked).await?;
    Ok(UnlockOutcome::Unlocked)
}

/// Whether the session can open the counting verification's data (true when none counts, or
/// it has no vault).
pub async fn session_can_open(ctx: &Ctx, session: &Session) -> anyhow::Result<bool> {
    let uid = session.user_id.clone();
    let Some((v, row)) = ctx.db.run(move |c| counting_vault(c, &uid)).await? else {
        return Ok(true);
    };
    if row.is_none() {
        return Ok(true);
    }
    Ok(session_unlocked(ctx, &session.id, &session.vault_secret)
        .await?
        .has(&v.id))
}

/// The person's newest suspended vault (a password reset), with its verification.
/// The vault of the verification that would count if a password reset hadn't suspended it.
fn suspended_vault(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Option<VaultRow>> {
    let Some(v) = records::newest_verified(conn, user_id)? else {
        return Ok(None);
    };
    Ok(vault_of(conn, &v.id)?.filter(|row| row.suspended_at.is_some()))
}

/// Whether a password reset suspended the person's verified identity (the console and
/// `/verify` offer the personal key then).
pub async fn suspended(ctx: &Ctx, user_id: &str) -> anyhow::Result<bool> {
    let uid = user_id.to_string();
    Ok(ctx
        .db
        .run(move |c| suspended_vault(c, &uid))
        .await?
        .is_some_and(|row| row.personal_wrapped.is_some()))
}

/// (No `Debug`: it holds the personal key.)
pub enum RestoreOutcome {
    /// Wrapped again under the current password; the new personal key is shown once.
    Restored {
        personal_key: Zeroizing<String>,
    },
    NothingSuspended,
    Malformed,
    WrongPersonalKey,
    /// `proofing.personal_key_max_tries` used in the window.
    TooManyTries,
    Password(PasswordCheck),
    /// Another request restored it first.
    Busy,
}

/// After a password reset: the personal key opens the vault, which is wrapped again under the
/// (new) password with a new personal key, and the verification counts again.
pub async fn restore_with_personal_key(
    ctx: &Ctx,
    session: &Session,
    typed_key: &str,
    password: Zeroizing<String>,
    actor: &Actor,
) -> anyhow::Result<RestoreOutcome> {
    let uid = session.user_id.clone();
    let Some(row) = ctx.db.run(move |c| suspended_vault(c, &uid)).await? else {
        return Ok(RestoreOutcome::NothingSuspended);
    };
    let Some(personal_key) = normalize_personal_key(typed_key) else {
        return Ok(RestoreOutcome::Malformed);
    };
    let hash_checked = password_hash_now(ctx, &session.user_id).await?;
    match check_password(
        ctx,
        &session.user_id,
        &session.email,
        password.clone(),
        actor,
    )
    .await?
    {
        PasswordCheck::Right => {}
        other => return Ok(RestoreOutcome::Password(other)),
    }
    // Counted before the key is checked, so a burst can't try more than the limit.
    let p = &ctx.settings.proofing;
    let tries_key = format!("vault:personal-key-tries:{}", session.user_id);
    let admitted = ctx
        .store
        .incr_below(
            &tries_key,
            i64::from(p.personal_key_max_tries),
            Duration::from_secs(p.personal_key_window_secs),
        )
        .await?;
    if admitted.is_none() {
        return Ok(RestoreOutcome::TooManyTries);
    }
    let Some(key) = open_with_personal_key(ctx, &row, personal_key).await? else {
        return Ok(RestoreOutcome::WrongPersonalKey);
    };
    let now = ctx.clock.now();
    let (mut after, shown) = rewrapped(ctx, &row, &key, password, true, now).await?;
    let Some(shown) = shown else {
        return Ok(RestoreOutcome::Busy);
    };
    after.shown_key = Some(seal_shown(
        session,
        &after.verification_id,
        &shown,
        "/account",
    )?);
    let (uid, a, ssf) = (
        session.user_id.clone(),
        actor.clone(),
        ctx.settings.ssf.clone(),
    );
    let verification_id = after.verification_id.clone();
    let restored = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                records::lock_person(c, &uid)?;
                let was_verified = crate::ssf::signals::identity_verified(c, &uid)?;
                if !password_is(c, &uid, hash_checked.as_deref())?
                    || !replace_wraps(c, &row, &after)?
                {
                    return Ok(false);
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::IdentityRestored,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({ "verification": row.verification_id }),
                        actor: Some(&a),
                    },
                )?;
                crate::ssf::signals::identity_assurance_since(
                    c,
                    &ssf,
                    now,
                    &uid,
                    crate::ssf::signals::By::Person,
                    was_verified,
                )?;
                Ok(true)
            })
        })
        .await?;
    if !restored {
        return Ok(RestoreOutcome::Busy);
    }
    ctx.store.delete(&tries_key).await?;
    let mut unlocked = Unlocked::default();
    unlocked.insert(&verification_id, &key);
    keep_for_session(ctx, &session.id, &session.vault_secret, &unlocked).await?;
    Ok(RestoreOutcome::Restored {
        personal_key: shown,
    })
}

/// A new personal key for the counting verification, from what this session unlocked (the
/// old one stops working). None: nothing unlocked here to wrap.
pub async fn replace_personal_key(
    ctx: &Ctx,
    session: &Session,
    actor: &Actor,
) -> anyhow::Result<Option<Zeroizing<String>>> {
    let uid = session.user_id.clone();
    let Some((v, Some(row))) = ctx.db.run(move |c| counting_vault(c, &uid)).await? else {
        return Ok(None);
    };
    let Some(key) = session_unlocked(ctx, &session.id, &session.vault_secret)
        .await?
        .key_for(&v.id)
    else {
        return Ok(None);
    };
    let personal_key = new_personal_key();
    let (salt, wrapped) = wrap(
        ctx,
        &key,
        personal_key.clone(),
        &row.kdf,
        &personal_context(&row.verification_id),
    )
    .await?;
    let now = ctx.clock.now();
    let mut after = row.clone();
    after.personal_salt = Some(salt);
    after.personal_wrapped = Some(wrapped);
    after.updated_at = now;
    after.shown_key = Some(seal_shown(
        session,
        &row.verification_id,
        &personal_key,
        "/account",
    )?);
    let (uid, a) = (session.user_id.clone(), actor.clone());
    let done = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                if !replace_wraps(c, &row, &after)? {
                    return Ok(false);
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::PersonalKeyReplaced,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({ "verification": row.verification_id }),
                        actor: Some(&a),
                    },
                )?;
                Ok(true)
            })
        })
        .await?;
    Ok(done.then_some(personal_key))
}

/// Whether the counting verification's vault has a personal key (one moved in from before
/// vaults has none until the person makes one).
pub async fn has_personal_key(ctx: &Ctx, user_id: &str) -> anyhow::Result<bool> {
    let uid = user_id.to_string();
    Ok(match ctx.db.run(move |c| counting_vault(c, &uid)).await? {
        Some((_, Some(row))) => row.personal_wrapped.is_some(),
        _ => true,
    })
}

/// A password change (the old password is known): every vault it opens is wrapped under the
/// new one. Computed before the change's transaction; [`apply_rewraps`] writes them in it.
pub async fn rewraps_for_password_change(
    ctx: &Ctx,
    user_id: &str,
    old_password: Zeroizing<String>,
    new_password: Zeroizing<String>,
) -> anyhow::Result<Vec<(VaultRow, VaultRow)>> {
    let uid = user_id.to_string();
    let rows: Vec<VaultRow> = ctx
        .db
        .run(move |c| {
            Ok(identity_vaults::table
                .filter(identity_vaults::user_id.eq(&uid))
                .filter(identity_vaults::suspended_at.is_null())
                .select(VaultRow::as_select())
                .load(c)?)
        })
        .await?;
    let now = ctx.clock.now();
    let mut out = Vec::new();
    for row in rows {
        let Some(key) = open_with_password(ctx, &row, old_password.clone()).await? else {
            continue;
        };
        let (after, _) = rewrapped(ctx, &row, &key, new_password.clone(), false, now).await?;
        out.push((row, after));
    }
    Ok(out)
}

/// False: a vault changed since the new wraps were made (another password change, a new
/// personal key); the caller must roll back, or the vault would stay under the old password.
pub fn apply_rewraps(conn: &mut DbConn, rewraps: &[(VaultRow, VaultRow)]) -> anyhow::Result<bool> {
    for (before, after) in rewraps {
        if !replace_wraps(conn, before, after)? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_keys_are_16_crockford_characters_read_forgivingly() {
        let key = new_personal_key();
        assert_eq!(key.len(), PERSONAL_KEY_LEN);
        let shown = display_personal_key(&key);
        assert_eq!(shown.len(), 19);
        assert_eq!(
            normalize_personal_key(&shown.to_lowercase()).map(|k| k.to_string()),
            Some(key.to_string())
        );
        assert!(normalize_personal_key("ABCD-EFGH").is_none());
        assert!(normalize_personal_key("ABCD-EFGH-JKMN-PQRU").is_none());
    }

    #[test]
    fn what_a_bearer_secret_seals_only_it_opens() {
        let vault_key = MasterKey::generate();
        let mut unlocked = Unlocked::default();
        unlocked.insert("v1", &vault_key);
        let sealed = seal_for_code("code-a", &unlocked).unwrap().unwrap();
        let opened = open_for_code("code-a", Some(&sealed));
        assert_eq!(
            opened.key_for("v1").unwrap().to_base64(),
            vault_key.to_base64()
        );
        assert!(open_for_code("code-b", Some(&sealed)).is_empty());
        assert!(seal_for_code("code-a", &Unlocked::default())
            .unwrap()
            .is_none());
    }
}

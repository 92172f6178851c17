//! Security keys and passkeys (WebAuthn, with `webauthn-rs`).
//!
//! - A **security key** is a second factor after the password (user presence is enough).
//! - A **passkey** is a discoverable credential with user verification: on its own it signs a
//!   person in at AAL2, phishing-resistant; after a password it is a second factor too.
//!
//! Every ceremony has two requests: the options (a challenge) and the authenticator's answer.
//! Between them its state lives in the store under a random id for
//! `webauthn.ceremony_ttl_secs`, bound to the browser and to what it is for (a sign-in flow or a
//! session), and is taken once (GETDEL): an answer can't be replayed against it, on any node.
//! Credentials live in `webauthn_credentials` with webauthn-rs's record (public key, counter,
//! backup flags); a credential id belongs to one account only.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Credential, CredentialID, DiscoverableAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication, SecurityKeyRegistration,
    Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::audit::{self, Actor, Kind};
use crate::config::Settings;
use crate::ssf::signals;
use crate::storage::db::{serialize_on, write_tx, DbConn};
use crate::storage::schema::webauthn_credentials;
use crate::Ctx;

/// What kind of authenticator a credential is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyKind {
    /// A roaming key (USB, NFC): a second factor.
    SecurityKey,
    /// Face or touch unlock, or a synced passkey: signs in on its own.
    Passkey,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::SecurityKey => "security_key",
            KeyKind::Passkey => "passkey",
        }
    }
    pub fn parse(s: &str) -> Option<KeyKind> {
        match s {
            "security_key" => Some(KeyKind::SecurityKey),
            "passkey" => Some(KeyKind::Passkey),
            _ => None,
        }
    }
}

/// Longest name a person may give a key.
pub const NAME_MAX_CHARS: usize = 64;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = webauthn_credentials)]
pub struct KeyRow {
    pub id: String,
    pub user_id: String,
    /// The credential id, base64url.
    pub credential_id: String,
    pub kind: String,
    pub name: String,
    /// webauthn-rs's credential record, JSON.
    pub credential: String,
    pub aaguid: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

impl KeyRow {
    pub fn kind(&self) -> KeyKind {
        KeyKind::parse(&self.kind).unwrap_or(KeyKind::SecurityKey)
    }

    fn record(&self) -> anyhow::Result<Credential> {
        Ok(serde_json::from_str(&self.credential)?)
    }

    /// RFC 8176: `swk` when the private key may leave the device (a synced passkey: backup
    /// eligible), `hwk` when it is bound to the hardware.
    pub fn amr(&self) -> &'static str {
        match self.record() {
            Ok(c) if c.backup_eligible => AMR_SOFTWARE_KEY,
            _ => AMR_HARDWARE_KEY,
        }
    }
}

pub const AMR_HARDWARE_KEY: &str = "hwk";
pub const AMR_SOFTWARE_KEY: &str = "swk";
/// RFC 8176 `user`: the authenticator verified the person (PIN or biometric).
pub const AMR_USER_VERIFIED: &str = "user";

/// The relying party as configured: the issuer's origin, and its host as RP id (or
/// `webauthn.rp_id`). None when the issuer's host is an IP address and no RP id is set:
/// browsers refuse WebAuthn there, so keys are not offered.
pub fn relying_party(settings: &Settings) -> anyhow::Result<Option<Webauthn>> {
    let issuer = Url::parse(&settings.issuer)?;
    let origin = Url::parse(&issuer.origin().ascii_serialization())?;
    let rp_id = match (&settings.webauthn.rp_id, issuer.domain()) {
        (Some(id), _) => id.clone(),
        (None, Some(host)) => host.to_string(),
        (None, None) => return Ok(None),
    };
    let rp = WebauthnBuilder::new(&rp_id, &origin)
        .map_err(|e| {
            anyhow::anyhow!("webauthn.rp_id {rp_id:?} doesn't fit the issuer's origin: {e}")
        })?
        .rp_name(&settings.site_name)
        .timeout(Duration::from_secs(settings.webauthn.ceremony_ttl_secs))
        .build()?;
    Ok(Some(rp))
}

/// The user handle an authenticator keeps for this account: the account id when it is a UUID
/// (it always is for accounts Verity creates), else a hash of it. No personal data.
pub fn user_handle(user_id: &str) -> Uuid {
    Uuid::parse_str(user_id).unwrap_or_else(|_| {
        let digest = crate::crypto::sha256(format!("verity/webauthn-handle/{user_id}").as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    })
}

// ---- ceremonies ----------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
enum State {
    RegisterSecurityKey(SecurityKeyRegistration),
    RegisterPasskey(PasskeyRegistration),
    /// A second factor (or step-up) with the account's keys.
    Assert(SecurityKeyAuthentication),
    /// A passkey sign-in: the authenticator says whose it is.
    Discover(DiscoverableAuthentication),
}

#[derive(Serialize, Deserialize)]
struct Ceremony {
    browser_id: String,
    /// The account it is for; None for a passkey sign-in.
    user_id: Option<String>,
    /// What it belongs to: a sign-in flow, a session, or the sign-in page.
    bound_to: String,
    state: State,
}

fn ceremony_key(id: &str) -> String {
    format!("webauthn:{id}")
}

async fn open_ceremony(ctx: &Ctx, ceremony: &Ceremony) -> anyhow::Result<String> {
    let id = crate::crypto::random_token(24);
    crate::storage::store::put_json(
        &*ctx.store,
        &ceremony_key(&id),
        ceremony,
        Duration::from_secs(ctx.settings.webauthn.ceremony_ttl_secs),
    )
    .await?;
    Ok(id)
}

/// Takes the ceremony (once, on any node) if it belongs to this browser, account and purpose.
async fn take_ceremony(
    ctx: &Ctx,
    id: &str,
    browser_id: &str,
    user_id: Option<&str>,
    bound_to: &str,
) -> anyhow::Result<Option<State>> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let Some(c) =
        crate::storage::store::take_json::<Ceremony>(&*ctx.store, &ceremony_key(id)).await?
    else {
        return Ok(None);
    };
    let same = |a: &str, b: &str| crate::crypto::ct_eq(a.as_bytes(), b.as_bytes());
    let ok = same(&c.browser_id, browser_id)
        && same(&c.bound_to, bound_to)
        && match (c.user_id.as_deref(), user_id) {
            (Some(a), Some(b)) => same(a, b),
            (None, None) => true,
            _ => false,
        };
    Ok(ok.then_some(c.state))
}

/// Options for the browser, as `navigator.credentials` takes them (JSON).
pub type Options = serde_json::Value;

// ---- the account's keys --------------------------------------------------------------------

pub fn keys_of(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Vec<KeyRow>> {
    Ok(webauthn_credentials::table
        .filter(webauthn_credentials::user_id.eq(user_id))
        .order(webauthn_credentials::created_at.asc())
        .select(KeyRow::as_select())
        .load(conn)?)
}

pub async fn keys(ctx: &Ctx, user_id: &str) -> anyhow::Result<Vec<KeyRow>> {
    let uid = user_id.to_string();
    ctx.db.run(move |c| keys_of(c, &uid)).await
}

fn key_by_credential_id(conn: &mut DbConn, credential_id: &str) -> anyhow::Result<Option<KeyRow>> {
    Ok(webauthn_credentials::table
        .filter(webauthn_credentials::credential_id.eq(credential_id))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Held (inside a write transaction) by every change to an account's second factors, so
/// "never the last one" and "at most N" hold for concurrent requests on any node.
pub fn hold_factors(conn: &mut DbConn, user_id: &str) -> diesel::QueryResult<()> {
    serialize_on(conn, &format!("factors-of:{user_id}"))
}

// ---- registration --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// WebAuthn isn't available on this deployment (the issuer is an IP address).
    Unavailable,
    TooMany {
        max: u32,
    },
}

/// Starts adding a key to `user_id`: the creation options for the browser, and the ceremony id
/// to send back with the answer. Keys already on the account are excluded.
pub async fn begin_registration(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    kind: KeyKind,
    browser_id: &str,
    bound_to: &str,
) -> anyhow::Result<Result<(String, Options), RegisterRefusal>> {
    let Some(rp) = ctx.webauthn.as_deref() else {
        return Ok(Err(RegisterRefusal::Unavailable));
    };
    let existing = keys(ctx, user_id).await?;
    let max = ctx.settings.webauthn.max_keys_per_account;
    if existing.len() as u32 >= max {
        return Ok(Err(RegisterRefusal::TooMany { max }));
    }
    let exclude: Vec<CredentialID> = existing
        .iter()
        .filter_map(|k| k.record().ok().map(|c| c.cred_id))
        .collect();
    let handle = user_handle(user_id);
    let (mut options, state) = match kind {
        KeyKind::SecurityKey => {
            let (ccr, st) =
                rp.start_securitykey_registration(handle, email, email, Some(exclude), None, None)?;
            (ccr, State::RegisterSecurityKey(st))
        }
        KeyKind::Passkey => {
            let (mut ccr, st) =
                rp.start_passkey_registration(handle, email, email, Some(exclude))?;
            // A passkey must be discoverable: it is found by the browser, with no email typed.
            if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
                sel.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
                sel.require_resident_key = true;
            }
            (ccr, State::RegisterPasskey(st))
        }
    };
    options.public_key.timeout = Some(ctx.settings.webauthn.ceremony_ttl_secs as u32 * 1000);
    let ceremony = Ceremony {
        browser_id: browser_id.to_string(),
        user_id: Some(user_id.to_string()),
        bound_to: bound_to.to_string(),
        state,
    };
    let id = open_ceremony(ctx, &ceremony).await?;
    Ok(Ok((id, serde_json::to_value(&options)?)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterProblem {
    /// No such ceremony for this browser (expired, already answered, or someone else's).
    Expired,
    /// The answer isn't a WebAuthn registration.
    Malformed,
    /// The authenticator's answer didn't verify (wrong origin, challenge, or RP id).
    Refused,
    /// `webauthn.allowed_aaguids` doesn't list this authenticator.
    ModelNotAllowed,
    /// This credential is already registered (to this or another account).
    AlreadyRegistered,
    TooMany {
        max: u32,
    },
}

/// Finishes adding a key: verifies the authenticator's answer, stores the credential under the
/// account's factor lock, audits it, and tells the person (email and a text).
#[allow(clippy::too_many_arguments)]
pub async fn finish_registration(
    ctx: &Ctx,
    user_id: &str,
    browser_id: &str,
    bound_to: &str,
    ceremony_id: &str,
    answer: &str,
    name: &str,
    actor: &Actor,
) -> anyhow::Result<Result<KeyRow, RegisterProblem>> {
    let Some(rp) = ctx.webauthn.as_deref() else {
        return Ok(Err(RegisterProblem::Expired));
    };
    let Some(state) = take_ceremony(ctx, ceremony_id, browser_id, Some(user_id), bound_to).await?
    else {
        return Ok(Err(RegisterProblem::Expired));
    };
    let Ok(reg) = serde_json::from_str::<RegisterPublicKeyCredential>(answer) else {
        return Ok(Err(RegisterProblem::Malformed));
    };
    let (credential, kind) = match state {
        State::RegisterSecurityKey(st) => match rp.finish_securitykey_registration(&reg, &st) {
            Ok(k) => (Credential::from(k), KeyKind::SecurityKey),
            Err(e) => return Ok(Err(refused_registration(e))),
        },
        State::RegisterPasskey(st) => match rp.finish_passkey_registration(&reg, &st) {
            Ok(k) => (Credential::from(k), KeyKind::Passkey),
            Err(e) => return Ok(Err(refused_registration(e))),
        },
        State::Assert(_) | State::Discover(_) => return Ok(Err(RegisterProblem::Expired)),
    };
    let aaguid = aaguid_of(reg.response.attestation_object.as_ref());
    let allowed = &ctx.settings.webauthn.allowed_aaguids;
    if !allowed.is_empty() && !aaguid.is_some_and(|a| allowed.contains(&a)) {
        return Ok(Err(RegisterProblem::ModelNotAllowed));
    }
    let now = ctx.clock.now();
    let row = KeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_string(),
        credential_id: crate::crypto::b64url(credential.cred_id.as_ref()),
        kind: kind.as_str().to_string(),
        name: clean_name(name, kind),
        credential: serde_json::to_string(&credential)?,
        aaguid: aaguid.map(|a| a.to_string()),
        created_at: now,
        last_used_at: None,
    };
    let max = ctx.settings.webauthn.max_keys_per_account;
    let (stored, a, ssf) = (row.clone(), actor.clone(), ctx.settings.ssf.clone());
    let outcome = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| {
                hold_factors(c, &stored.user_id)?;
                if key_by_credential_id(c, &stored.credential_id)?.is_some() {
                    return Ok(Err(RegisterProblem::AlreadyRegistered));
                }
                if keys_of(c, &stored.user_id)?.len() as u32 >= max {
                    return Ok(Err(RegisterProblem::TooMany { max }));
                }
                diesel::insert_into(webauthn_credentials::table)
                    .values(&stored)
                    .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::MfaKeyAdded,
                        user_id: Some(&stored.user_id),
                        client_id: None,
                        detail: serde_json::json!({ "key": stored.id, "kind": stored.kind }),
                        actor: Some(&a),
                    },
                )?;
                signals::second_factor(
                    c,
                    &ssf,
                    now,
                    &stored.user_id,
                    signals::By::Person,
                    signals::FactorChange {
                        credential: signals::Credential::of_key(stored.kind()),
                        change: signals::ChangeType::Create,
                        aaguid: stored.aaguid.as_deref(),
                    },
                )?;
                anyhow::Ok(Ok(()))
            })
        })
        .await?;
    if let Err(problem) = outcome {
        return Ok(Err(problem));
    }
    announce(ctx, user_id, KeyChange::Added, kind, &row.name).await?;
    Ok(Ok(row))
}

fn refused_registration(e: WebauthnError) -> RegisterProblem {
    tracing::info!(error = %e, "a key's registration didn't verify");
    RegisterProblem::Refused
}

fn clean_name(name: &str, kind: KeyKind) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .take(NAME_MAX_CHARS)
        .collect::<String>()
        .trim()
        .to_string();
    if name.is_empty() {
        // Stored as the kind; pages show it in the reader's language.
        kind.as_str().to_string()
    } else {
        name
    }
}

/// Zero-width and direction-changing characters: a name shown in an email or the console must
/// read as what it is.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The authenticator model's AAGUID from the attestation object's authenticator data (bytes
/// 37..53 when attested credential data is present). Without attestation it is the
/// authenticator's own claim.
fn aaguid_of(attestation_object: &[u8]) -> Option<Uuid> {
    let value: serde_cbor_2::Value = serde_cbor_2::from_slice(attestation_object).ok()?;
    let serde_cbor_2::Value::Map(map) = value else {
        return None;
    };
    let auth_data = map.iter().find_map(|(k, v)| match (k, v) {
        (serde_cbor_2::Value::Text(k), serde_cbor_2::Value::Bytes(b)) if k == "authData" => Some(b),
        _ => None,
    })?;
    const ATTESTED_CREDENTIAL_DATA: u8 = 0x40;
    if auth_data.len() < 53 || auth_data[32] & ATTESTED_CREDENTIAL_DATA == 0 {
        return None;
    }
    Uuid::from_slice(&auth_data[37..53]).ok()
}

// ---- proving a key -------------------------------------------------------------------------

/// Starts proving one of the account's keys (a second factor or a step-up): request options
/// listing them. None when the account has none (or WebAuthn isn't available).
pub async fn begin_assertion(
    ctx: &Ctx,
    user_id: &str,
    browser_id: &str,
    bound_to: &str,
) -> anyhow::Result<Option<(String, Options)>> {
    let Some(rp) = ctx.webauthn.as_deref() else {
        return Ok(None);
    };
    let rows = keys(ctx, user_id).await?;
    let any_passkey = rows.iter().any(|k| k.kind() == KeyKind::Passkey);
    let creds: Vec<SecurityKey> = rows
        .iter()
        .filter_map(|k| k.record().ok())
        .map(SecurityKey::from)
        .collect();
    if creds.is_empty() {
        return Ok(None);
    }
    let (mut options, state) = rp.start_securitykey_authentication(&creds)?;
    if any_passkey {
        // The "security key" hint would steer browsers away from a phone's or laptop's passkey.
        options.public_key.hints = None;
    }
    options.public_key.timeout = Some(ctx.settings.webauthn.ceremony_ttl_secs as u32 * 1000);
    let ceremony = Ceremony {
        browser_id: browser_id.to_string(),
        user_id: Some(user_id.to_string()),
        bound_to: bound_to.to_string(),
        state: State::Assert(state),
    };
    let id = open_ceremony(ctx, &ceremony).await?;
    Ok(Some((id, serde_json::to_value(&options)?)))
}

#[derive(Debug, Clone)]
pub enum AssertionOutcome {
    /// The key is proven. `user_verified`: the authenticator checked a PIN or biometric.
    Accepted {
        key: KeyRow,
        user_verified: bool,
    },
    /// No such ceremony for this browser (expired, already answered, or someone else's).
    Expired,
    Malformed,
    /// The answer didn't verify (wrong origin, challenge, key or signature).
    Refused,
    /// The key's signature counter went backwards: it may have been cloned. Refused, audited,
    /// and the person told.
    PossibleClone,
    /// A passkey sign-in with a key that is no longer on any account.
    UnknownKey,
    /// A passkey sign-in for an account that is disabled.
    Disabled,
}

/// Checks the answer to [`begin_assertion`]'s options for `user_id`.
pub async fn finish_assertion(
    ctx: &Ctx,
    user_id: &str,
    browser_id: &str,
    bound_to: &str,
    ceremony_id: &str,
    answer: &str,
    actor: &Actor,
) -> anyhow::Result<AssertionOutcome> {
    let outcome = check_assertion(
        ctx,
        user_id,
        browser_id,
        bound_to,
        ceremony_id,
        answer,
        actor,
    )
    .await?;
    ctx.metrics
        .key_check(crate::metrics::FactorMethod::SecurityKey, &outcome);
    Ok(outcome)
}

async fn check_assertion(
    ctx: &Ctx,
    user_id: &str,
    browser_id: &str,
    bound_to: &str,
    ceremony_id: &str,
    answer: &str,
    actor: &Actor,
) -> anyhow::Result<AssertionOutcome> {
    let Some(rp) = ctx.webauthn.as_deref() else {
        return Ok(AssertionOutcome::Expired);
    };
    let Some(State::Assert(state)) =
        take_ceremony(ctx, ceremony_id, browser_id, Some(user_id), bound_to).await?
    else {
        return Ok(AssertionOutcome::Expired);
    };
    let Ok(pkc) = serde_json::from_str::<PublicKeyCredential>(answer) else {
        return Ok(AssertionOutcome::Malformed);
    };
    let credential_id = crate::crypto::b64url(pkc.raw_id.as_ref());
    match rp.finish_securitykey_authentication(&pkc, &state) {
        Ok(result) => match record_use(ctx, Some(user_id), &credential_id, &result).await? {
            Use::Recorded(key) => Ok(AssertionOutcome::Accepted {
                key,
                user_verified: result.user_verified(),
            }),
            Use::Gone => Ok(AssertionOutcome::Refused),
            Use::CounterBehind => {
                let e = WebauthnError::CredentialPossibleCompromise;
                refused_assertion(ctx, e, &credential_id, actor).await
            }
        },
        Err(e) => refused_assertion(ctx, e, &credential_id, actor).await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    Unavailable,
    /// This address started `sign_in_ceremonies_per_ip_per_minute` already: wait.
    TooMany {
        wait_secs: u64,
    },
}

/// Starts a passkey sign-in from the sign-in page: options with no account named (the
/// authenticator offers its passkeys for this site). `autofill`: for the browser's autofill on
/// the email field (conditional mediation) rather than a button. Limited per address (the slot
/// is taken before the ceremony is stored), since nothing else is known yet.
pub async fn begin_passkey_sign_in(
    ctx: &Ctx,
    browser_id: &str,
    autofill: bool,
    actor: &Actor,
) -> anyhow::Result<Result<(String, Options), SignInRefusal>> {
    let Some(rp) = ctx.webauthn.as_deref() else {
        return Ok(Err(SignInRefusal::Unavailable));
    };
    let key = format!("webauthn:sign-ins:{}", actor.limit_key());
    let limit = i64::from(ctx.settings.webauthn.sign_in_ceremonies_per_ip_per_minute);
    if ctx
        .store
        .incr_below(&key, limit, Duration::from_secs(60))
        .await?
        .is_none()
    {
        let wait_secs = ctx
            .store
            .ttl(&key)
            .await?
            .map(|d| d.as_secs().max(1))
            .unwrap_or(60);
        return Ok(Err(SignInRefusal::TooMany { wait_secs }));
    }
    let (mut options, state) = rp.start_discoverable_authentication()?;
    if !autofill {
        options.mediation = None;
    }
    options.public_key.timeout = Some(ctx.settings.webauthn.ceremony_ttl_secs as u32 * 1000);
    let ceremony = Ceremony {
        browser_id: browser_id.to_string(),
        user_id: None,
        bound_to: PASSKEY_SIGN_IN.to_string(),
        state: State::Discover(state),
    };
    let id = open_ceremony(ctx, &ceremony).await?;
    Ok(Ok((id, serde_json::to_value(&options)?)))
}

const PASSKEY_SIGN_IN: &str = "passkey-sign-in";

/// Who signed in with a passkey.
#[derive(Debug, Clone)]
pub struct PasskeyHolder {
    pub user_id: String,
    pub email: String,
}

/// Checks a passkey sign-in: the authenticator names the account (its user handle) and the
/// credential; both must match a key on that account, with the person verified.
pub async fn finish_passkey_sign_in(
    ctx: &Ctx,
    browser_id: &str,
    ceremony_id: &str,
    answer: &str,
    actor: &Actor,
) -> anyhow::Result<(AssertionOutcome, Option<PasskeyHolder>)> {
    let checked = check_passkey_sign_in(ctx, browser_id, ceremony_id, answer, actor).await?;
    ctx.metrics
        .key_check(crate::metrics::FactorMethod::Passkey, &checked.0);
    Ok(checked)
}

async fn check_passkey_sign_in(
    ctx: &Ctx,
    browser_id: &str,
    ceremony_id: &str,
    answer: &str,
    actor: &Actor,
) -> anyhow::Result<(AssertionOutcome, Option<PasskeyHolder>)> {
    let Some(rp) = ctx.webauthn.as_deref() else {
        return Ok((AssertionOutcome::Expired, None));
    };
    let Some(State::Discover(state)) =
        take_ceremony(ctx, ceremony_id, browser_id, None, PASSKEY_SIGN_IN).await?
    else {
        return Ok((AssertionOutcome::Expired, None));
    };
    let Ok(pkc) = serde_json::from_str::<PublicKeyCredential>(answer) else {
        return Ok((AssertionOutcome::Malformed, None));
    };
    let Ok((handle, raw_id)) = rp.identify_discoverable_authentication(&pkc) else {
        return Ok((AssertionOutcome::Malformed, None));
    };
    let credential_id = crate::crypto::b64url(raw_id);
    let lookup = credential_id.clone();
    let Some(row) = ctx
        .db
        .run(move |c| key_by_credential_id(c, &lookup))
        .await?
    else {
        return Ok((AssertionOutcome::UnknownKey, None));
    };
    // Only a passkey signs in without a password; a security key is a second factor even if
    // the authenticator happens to keep its credential.
    if user_handle(&row.user_id) != handle || row.kind() != KeyKind::Passkey {
        return Ok((AssertionOutcome::Refused, None));
    }
    let credential = row.record()?;
    let result = match rp.finish_discoverable_authentication_v2(&pkc, state, &credential) {
        Ok(r) => r,
        Err(e) => {
            return Ok((
                refused_assertion(ctx, e, &credential_id, actor).await?,
                None,
            ))
        }
    };
    if !result.user_verified() {
        return Ok((AssertionOutcome::Refused, None));
    }
    let uid = row.user_id.clone();
    let Some(user) = ctx
        .db
        .run(move |c| crate::accounts::users::by_id(c, &uid))
        .await?
    else {
        return Ok((AssertionOutcome::UnknownKey, None));
    };
    // A disabled account signs in no way; an unconfirmed one never had a session to add a key
    // with. Password-guessing locks don't apply: no password is checked, and they would let
    // anyone lock a passkey holder out by guessing.
    if user.disabled || !user.email_verified {
        return Ok((AssertionOutcome::Disabled, None));
    }
    let key = match record_use(ctx, Some(&user.id), &credential_id, &result).await? {
        Use::Recorded(key) => key,
        Use::Gone => return Ok((AssertionOutcome::UnknownKey, None)),
        Use::CounterBehind => {
            let e = WebauthnError::CredentialPossibleCompromise;
            return Ok((
                refused_assertion(ctx, e, &credential_id, actor).await?,
                None,
            ));
        }
    };
    Ok((
        AssertionOutcome::Accepted {
            key,
            user_verified: true,
        },
        Some(PasskeyHolder {
            user_id: user.id,
            email: user.email,
        }),
    ))
}

/// A refused answer: a counter that went backwards is a possible clone (audited, and the
/// person is told); anything else is simply refused.
async fn refused_assertion(
    ctx: &Ctx,
    e: WebauthnError,
    credential_id: &str,
    actor: &Actor,
) -> anyhow::Result<AssertionOutcome> {
    if !matches!(e, WebauthnError::CredentialPossibleCompromise) {
        tracing::info!(error = %e, "a key's answer didn't verify");
        return Ok(AssertionOutcome::Refused);
    }
    let (cid, now, a) = (credential_id.to_string(), ctx.clock.now(), actor.clone());
    let key = ctx
        .db
        .run(move |c| {
            let key = key_by_credential_id(c, &cid)?;
            if let Some(k) = &key {
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::MfaKeyPossibleClone,
                        user_id: Some(&k.user_id),
                        client_id: None,
                        detail: serde_json::json!({ "key": k.id, "kind": k.kind }),
                        actor: Some(&a),
                    },
                )?;
            }
            Ok(key)
        })
        .await?;
    if let Some(key) = key {
        tracing::warn!(key = %key.id, "a key's signature counter went backwards");
        let notice = crate::notify::notices::Notice::KeyPossiblyCloned {
            name: key.name.clone(),
            at: now,
        };
        crate::notify::notices::tell_account(
            ctx,
            &key.user_id,
            None,
            crate::notify::notices::Texts::None,
            &notice,
        )
        .await?;
    }
    Ok(AssertionOutcome::PossibleClone)
}

enum Use {
    Recorded(KeyRow),
    /// The key is no longer on the account.
    Gone,
    /// The answer's counter isn't past the stored one: checked again here because webauthn-rs
    /// compared it with the copy read when the ceremony began, and another sign-in may have
    /// moved it on since (a copied key answering an old ceremony).
    CounterBehind,
}

/// After a verified answer: keeps the new counter and backup state, and when it was used. Under
/// a lock on the credential, so two sign-ins at once can't put an older counter back.
async fn record_use(
    ctx: &Ctx,
    user_id: Option<&str>,
    credential_id: &str,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> anyhow::Result<Use> {
    let (cid, uid, now, result) = (
        credential_id.to_string(),
        user_id.map(str::to_string),
        ctx.clock.now(),
        result.clone(),
    );
    ctx.db
        .run(move |c| {
            write_tx(c, |c| {
                serialize_on(c, &format!("webauthn-credential:{cid}"))?;
                let Some(mut row) = key_by_credential_id(c, &cid)? else {
                    return Ok(Use::Gone);
                };
                if uid.as_deref().is_some_and(|u| u != row.user_id) {
                    return Ok(Use::Gone);
                }
                let stored = row.record()?;
                let counter = result.counter();
                if (counter > 0 || stored.counter > 0) && counter <= stored.counter {
                    return Ok(Use::CounterBehind);
                }
                let mut key = SecurityKey::from(stored);
                if key.update_credential(&result).is_some() {
                    row.credential = serde_json::to_string(&Credential::from(key))?;
                }
                row.last_used_at = Some(now);
                diesel::update(webauthn_credentials::table.find(&row.id))
                    .set((
                        webauthn_credentials::credential.eq(&row.credential),
                        webauthn_credentials::last_used_at.eq(now),
                    ))
                    .execute(c)?;
                Ok(Use::Recorded(row))
            })
        })
        .await
}

// ---- the console ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveKey {
    Removed,
    /// It is the account's last way to confirm it's them.
    LastMethod,
    Unknown,
}

/// Who removes a key.
#[derive(Debug, Clone)]
pub enum Remover {
    /// The person, from the console (after a step-up): never their last way to confirm it's
    /// them.
    Person(Actor),
    /// An operator through the management API (its client id): may remove the last one, as
    /// resetting the second factors does.
    Operator(String),
}

/// Removes one of the account's keys. Audited, and the person is told.
pub async fn remove(
    ctx: &Ctx,
    user_id: &str,
    key_id: &str,
    by: Remover,
) -> anyhow::Result<RemoveKey> {
    let (uid, kid, now) = (user_id.to_string(), key_id.to_string(), ctx.clock.now());
    let ssf = ctx.settings.ssf.clone();
    let removed = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| {
                hold_factors(c, &uid)?;
                let enrolled = crate::mfa::methods::enrolled(c, &uid)?;
                let Some(key) = enrolled.keys.iter().find(|k| k.id == kid).cloned() else {
                    return Ok(Err(RemoveKey::Unknown));
                };
                if matches!(by, Remover::Person(_)) && enrolled.count() <= 1 {
                    return Ok(Err(RemoveKey::LastMethod));
                }
                diesel::delete(
                    webauthn_credentials::table
                        .find(&kid)
                        .filter(webauthn_credentials::user_id.eq(&uid)),
                )
                .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::MfaKeyRemoved,
                        user_id: Some(&uid),
                        client_id: match &by {
                            Remover::Operator(agent) => Some(agent.as_str()),
                            Remover::Person(_) => None,
                        },
                        detail: serde_json::json!({ "key": key.id, "kind": key.kind }),
                        actor: match &by {
                            Remover::Person(actor) => Some(actor),
                            Remover::Operator(_) => None,
                        },
                    },
                )?;
                let who = match &by {
                    Remover::Person(_) => signals::By::Person,
                    Remover::Operator(_) => {
                        signals::By::Operator("security key removed by support")
                    }
                };
                signals::second_factor(
                    c,
                    &ssf,
                    now,
                    &uid,
                    who,
                    signals::FactorChange {
                        credential: signals::Credential::of_key(key.kind()),
                        change: signals::ChangeType::Delete,
                        aaguid: key.aaguid.as_deref(),
                    },
                )?;
                anyhow::Ok(Ok(key))
            })
        })
        .await?;
    match removed {
        Ok(key) => {
            announce(ctx, user_id, KeyChange::Removed, key.kind(), &key.name).await?;
            Ok(RemoveKey::Removed)
        }
        Err(why) => Ok(why),
    }
}

/// Renames one of the account's keys. False: no such key on this account.
pub async fn rename(ctx: &Ctx, user_id: &str, key_id: &str, name: &str) -> anyhow::Result<bool> {
    let (uid, kid) = (user_id.to_string(), key_id.to_string());
    let rows = keys(ctx, user_id).await?;
    let Some(key) = rows.iter().find(|k| k.id == key_id) else {
        return Ok(false);
    };
    let name = clean_name(name, key.kind());
    ctx.db
        .run(move |c| {
            Ok(diesel::update(
                webauthn_credentials::table
                    .find(&kid)
                    .filter(webauthn_credentials::user_id.eq(&uid)),
            )
            .set(webauthn_credentials::name.eq(&name))
            .execute(c)?
                == 1)
        })
        .await
}

/// Email and a text to the default phone: a key was added or removed.
async fn announce(
    ctx: &Ctx,
    user_id: &str,
    change: KeyChange,
    kind: KeyKind,
    name: &str,
) -> anyhow::Result<()> {
    let user = {
        let uid = user_id.to_string();
        ctx.db
            .run(move |c| crate::accounts::users::by_id(c, &uid))
            .await?
    };
    let Some(user) = user else { return Ok(()) };
    let notice = crate::notify::notices::Notice::SecurityKey {
        change,
        kind,
        name: name.to_string(),
        at: ctx.clock.now(),
        not_me_link: crate::accounts::login::not_me_link(ctx, &user.id, &user.email).await?,
    };
    crate::notify::notices::tell_account(
        ctx,
        user_id,
        None,
        crate::notify::notices::Texts::DefaultPhone,
        &notice,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_and_default_to_the_kind() {
        assert_eq!(
            clean_name("  Blue key \n", KeyKind::SecurityKey),
            "Blue key"
        );
        assert_eq!(clean_name("", KeyKind::Passkey), "passkey");
        assert_eq!(
            clean_name("Blue\u{202E}yek\u{200B}", KeyKind::SecurityKey),
            "Blueyek"
        );
        assert_eq!(
            clean_name(&"x".repeat(200), KeyKind::Passkey).len(),
            NAME_MAX_CHARS
        );
    }

    #[test]
    fn a_uuid_account_id_is_its_own_handle_and_others_hash_stably() {
        let id = "6f1c2a3e-93a4-4d8e-8a55-0d6f4f8c9b10";
        assert_eq!(user_handle(id).to_string(), id);
        assert_eq!(user_handle("legacy-7"), user_handle("legacy-7"));
        assert_ne!(user_handle("legacy-7"), user_handle("legacy-8"));
    }

    #[test]
    fn an_ip_issuer_has_no_relying_party_and_a_domain_has_one() {
        let mut s = Settings {
            issuer: "http://127.0.0.1:8080".into(),
            ..Settings::default()
        };
        assert!(relying_party(&s).unwrap().is_none());
        s.issuer = "http://localhost:8080".into();
        assert!(relying_party(&s).unwrap().is_some());
        s.webauthn.rp_id = Some("example.org".into());
        assert!(relying_party(&s).is_err());
    }

    #[test]
    fn the_aaguid_is_read_from_attested_credential_data() {
        let mut auth_data = vec![0u8; 37];
        auth_data[32] = 0x41;
        let aaguid = Uuid::parse_str("cb69481e-8ff7-4039-93ec-0a2729a154a8").unwrap();
        auth_data.extend_from_slice(aaguid.as_bytes());
        auth_data.extend_from_slice(&[0, 0]);
        let object = serde_cbor_2::Value::Map(
            [(
                serde_cbor_2::Value::Text("authData".into()),
                serde_cbor_2::Value::Bytes(auth_data.clone()),
            )]
            .into_iter()
            .collect(),
        );
        let bytes = serde_cbor_2::to_vec(&object).unwrap();
        assert_eq!(aaguid_of(&bytes), Some(aaguid));
        auth_data[32] = 0x01;
        let object = serde_cbor_2::Value::Map(
            [(
                serde_cbor_2::Value::Text("authData".into()),
                serde_cbor_2::Value::Bytes(auth_data),
            )]
            .into_iter()
            .collect(),
        );
        assert_eq!(aaguid_of(&serde_cbor_2::to_vec(&object).unwrap()), None);
        assert_eq!(aaguid_of(b"not cbor"), None);
    }
}

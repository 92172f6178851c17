//! The durable side of proofing: verification records, the person's data key, uploaded
//! images, vendor attempts and fraud flags. Synchronous diesel over one connection; the
//! flow (`proofing::flow`) calls these inside `Db::run`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::MasterKey;
use crate::proofing::document::{Address, DocumentFields, DocumentType};
use crate::storage::db::{serialize_on, write_tx, DbConn};
use crate::storage::schema::{
    identity_data_keys, identity_verifications, proofing_attempts, proofing_flags, proofing_images,
    proofing_letters,
};

/// Where a verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InProgress,
    Verified,
    /// A fraud flag waits for an operator; the verification does not count meanwhile.
    Held,
    /// An operator confirmed fraud.
    Failed,
    Removed,
    /// Not finished within `proofing.unfinished_ttl_days`.
    Abandoned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Verified => "verified",
            Status::Held => "held",
            Status::Failed => "failed",
            Status::Removed => "removed",
            Status::Abandoned => "abandoned",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "in_progress" => Status::InProgress,
            "verified" => Status::Verified,
            "held" => Status::Held,
            "failed" => Status::Failed,
            "removed" => Status::Removed,
            "abandoned" => Status::Abandoned,
            _ => return None,
        })
    }
    pub const ALL: [Status; 6] = [
        Status::InProgress,
        Status::Verified,
        Status::Held,
        Status::Failed,
        Status::Removed,
        Status::Abandoned,
    ];
}

/// The page an unfinished verification is on. Each step accepts only its own submission, so
/// steps can't be skipped or replayed. The later paths (a trusted referee, a letter by mail)
/// are further steps after `Review` beside `Phone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Document,
    Selfie,
    Ssn,
    Review,
    Phone,
    PhoneCode,
    /// A letter with a code is on its way to the verified address.
    Letter,
    /// Waiting for a video call with an agent (a trusted referee case is open).
    Referee,
    /// The last check passed: the password seals the data in the person's vault.
    Protect,
    Done,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Document => "document",
            Step::Selfie => "selfie",
            Step::Ssn => "ssn",
            Step::Review => "review",
            Step::Phone => "phone",
            Step::PhoneCode => "phone_code",
            Step::Letter => "letter",
            Step::Referee => "referee",
            Step::Protect => "protect",
            Step::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Option<Step> {
        Some(match s {
            "document" => Step::Document,
            "selfie" => Step::Selfie,
            "ssn" => Step::Ssn,
            "review" => Step::Review,
            "phone" => Step::Phone,
            "phone_code" => Step::PhoneCode,
            "letter" => Step::Letter,
            "referee" => Step::Referee,
            "protect" => Step::Protect,
            "done" => Step::Done,
            _ => return None,
        })
    }
}

/// The vendor checks, each limited to `proofing.max_attempts` per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Document,
    Selfie,
    Records,
    StateId,
    Phone,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Document => "document",
            CheckKind::Selfie => "selfie",
            CheckKind::Records => "records",
            CheckKind::StateId => "state_id",
            CheckKind::Phone => "phone",
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = identity_verifications)]
pub struct Verification {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub step: String,
    pub version: i32,
    pub origin_client_id: Option<String>,
    pub consent_at: NaiveDateTime,
    pub consent_version: String,
    pub document_type: Option<String>,
    pub document_issuer: Option<String>,
    pub document_expiry: Option<String>,
    pub document_number_hash: Option<String>,
    pub ssn_hash: Option<String>,
    pub pii: Option<String>,
    pub checks: String,
    pub last_failure: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub verified_at: Option<NaiveDateTime>,
    pub expires_at: NaiveDateTime,
    pub removed_at: Option<NaiveDateTime>,
    pub removed_by: Option<String>,
    pub removed_reason: Option<String>,
}

impl Verification {
    pub fn status(&self) -> Option<Status> {
        Status::parse(&self.status)
    }
    pub fn step(&self) -> Option<Step> {
        Step::parse(&self.step)
    }
    pub fn document_type(&self) -> Option<DocumentType> {
        self.document_type
            .as_deref()
            .and_then(DocumentType::from_ida_name)
    }
    pub fn document_expiry(&self) -> Option<NaiveDate> {
        self.document_expiry
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    }
    /// The checks that passed, as `{check: vendor}`.
    pub fn passed_checks(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&self.checks).unwrap_or_default()
    }
}

/// The personal data of one verification, sealed under the person's data key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pii {
    /// The document's fields as cross-checked (barcode or MRZ against the vendor's reading).
    #[serde(default)]
    pub document: Option<DocumentFields>,
    /// Where the person lives: the document's address unless they corrected it.
    #[serde(default)]
    pub address: Option<Address>,
    /// Nine digits.
    #[serde(default)]
    pub ssn: Option<String>,
    /// E.164, once the phone step has confirmed it.
    #[serde(default)]
    pub phone: Option<String>,
    /// The number the phone step is confirming.
    #[serde(default)]
    pub pending_phone: Option<String>,
}

// ---- the person's data key -------------------------------------------------------------

fn data_key_context(user_id: &str) -> String {
    format!("identity_data_keys.wrapped_key:{user_id}")
}

/// The person's data key, made on first use. Under the person's lock in its own transaction
/// (a savepoint inside the caller's): two first steps at once must not both create one.
pub fn data_key_or_create(
    conn: &mut DbConn,
    master: &MasterKey,
    user_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<MasterKey> {
    write_tx(conn, |conn| {
        lock_person(conn, user_id)?;
        if let Some(key) = data_key(conn, master, user_id)? {
            return Ok(key);
        }
        create_data_key(conn, master, user_id, now)
    })
}

fn create_data_key(
    conn: &mut DbConn,
    master: &MasterKey,
    user_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<MasterKey> {
    let key = MasterKey::generate();
    let wrapped = master.encrypt(key.to_base64().as_bytes(), &data_key_context(user_id))?;
    diesel::insert_into(identity_data_keys::table)
        .values((
            identity_data_keys::user_id.eq(user_id),
            identity_data_keys::wrapped_key.eq(wrapped),
            identity_data_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(key)
}

pub fn data_key(
    conn: &mut DbConn,
    master: &MasterKey,
    user_id: &str,
) -> anyhow::Result<Option<MasterKey>> {
    let wrapped: Option<String> = identity_data_keys::table
        .find(user_id)
        .select(identity_data_keys::wrapped_key)
        .first(conn)
        .optional()?;
    let Some(wrapped) = wrapped else {
        return Ok(None);
    };
    let plain = master.decrypt(&wrapped, &data_key_context(user_id))?;
    let text = Zeroizing::new(String::from_utf8(plain.to_vec())?);
    Ok(Some(MasterKey::from_base64(&text)?))
}

/// Which key a verification's `pii` is sealed under: the person's data key while it is under
/// way (or from before vaults), its vault key once finished. Each has its own context, so one
/// can never be opened as the other.
#[derive(Clone, Copy)]
enum SealedBy {
    DataKey,
    Vault,
}

fn pii_context(by: SealedBy, verification_id: &str) -> String {
    match by {
        SealedBy::DataKey => format!("identity_verifications.pii:{verification_id}"),
        SealedBy::Vault => format!("identity_verifications.pii.vault:{verification_id}"),
    }
}

fn seal(by: SealedBy, key: &MasterKey, verification_id: &str, pii: &Pii) -> anyhow::Result<String> {
    let json = Zeroizing::new(serde_json::to_vec(pii)?);
    key.encrypt(&json, &pii_context(by, verification_id))
}

fn open(by: SealedBy, key: &MasterKey, v: &Verification) -> anyhow::Result<Pii> {
    match &v.pii {
        None => Ok(Pii::default()),
        Some(sealed) => {
            let plain = key.decrypt(sealed, &pii_context(by, &v.id))?;
            Ok(serde_json::from_slice(&plain)?)
        }
    }
}

pub fn seal_pii(key: &MasterKey, verification_id: &str, pii: &Pii) -> anyhow::Result<String> {
    seal(SealedBy::DataKey, key, verification_id, pii)
}

pub fn open_pii(key: &MasterKey, v: &Verification) -> anyhow::Result<Pii> {
    open(SealedBy::DataKey, key, v)
}

/// Reads a verification's personal data (empty when the key is gone).
pub fn read_pii(conn: &mut DbConn, master: &MasterKey, v: &Verification) -> anyhow::Result<Pii> {
    match data_key(conn, master, &v.user_id)? {
        Some(key) => open_pii(&key, v),
        None => Ok(Pii::default()),
    }
}

// ---- verifications ------------------------------------------------------------------------

pub fn by_id(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<Verification>> {
    Ok(identity_verifications::table
        .find(id)
        .select(Verification::as_select())
        .first(conn)
        .optional()?)
}

/// The person's newest verification, whatever its status.
pub fn latest_for(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Option<Verification>> {
    Ok(identity_verifications::table
        .filter(identity_verifications::user_id.eq(user_id))
        .order(identity_verifications::created_at.desc())
        .select(Verification::as_select())
        .first(conn)
        .optional()?)
}

/// The person's unfinished verification, if one is under way and not yet abandoned.
pub fn unfinished_for(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Verification>> {
    Ok(identity_verifications::table
        .filter(identity_verifications::user_id.eq(user_id))
        .filter(identity_verifications::status.eq(Status::InProgress.as_str()))
        .filter(identity_verifications::expires_at.gt(now))
        .order(identity_verifications::created_at.desc())
        .select(Verification::as_select())
        .first(conn)
        .optional()?)
}

/// Serialises everything that reads-then-writes one person's proofing state (PostgreSQL
/// advisory lock; SQLite's `BEGIN IMMEDIATE` already does). Call inside a write transaction.
pub fn lock_person(conn: &mut DbConn, user_id: &str) -> diesel::QueryResult<()> {
    serialize_on(conn, &format!("proofing:{user_id}"))
}

/// Starts a verification, or returns the one already under way (one at a time per person).
pub fn start(
    conn: &mut DbConn,
    user_id: &str,
    origin_client_id: Option<&str>,
    consent_version: &str,
    now: NaiveDateTime,
    unfinished_ttl: chrono::Duration,
) -> anyhow::Result<Verification> {
    write_tx(conn, |conn| {
        lock_person(conn, user_id)?;
        // Older unfinished ones that ran out of time are marked, so operators see them, and
        // their agent cases end with them.
        let ran_out: Vec<String> = identity_verifications::table
            .filter(identity_verifications::user_id.eq(user_id))
            .filter(identity_verifications::status.eq(Status::InProgress.as_str()))
            .filter(identity_verifications::expires_at.le(now))
            .select(identity_verifications::id)
            .load(conn)?;
        diesel::update(
            identity_verifications::table.filter(identity_verifications::id.eq_any(&ran_out)),
        )
        .set((
            identity_verifications::status.eq(Status::Abandoned.as_str()),
            identity_verifications::updated_at.eq(now),
        ))
        .execute(conn)?;
        crate::proofing::referee::cancel_cases(conn, &ran_out)?;
        if let Some(v) = unfinished_for(conn, user_id, now)? {
            return Ok(v);
        }
        let v = Verification {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_string(),
            status: Status::InProgress.as_str().into(),
            step: Step::Document.as_str().into(),
            version: 0,
            origin_client_id: origin_client_id.map(str::to_string),
            consent_at: now,
            consent_version: consent_version.to_string(),
            document_type: None,
            document_issuer: None,
            document_expiry: None,
            document_number_hash: None,
            ssn_hash: None,
            pii: None,
            checks: "{}".into(),
            last_failure: None,
            created_at: now,
            updated_at: now,
            verified_at: None,
            expires_at: now + unfinished_ttl,
            removed_at: None,
            removed_by: None,
            removed_reason: None,
        };
        diesel::insert_into(identity_verifications::table)
            .values(&v)
            .execute(conn)?;
        Ok(v)
    })
}

/// Writes `v` back only if nobody moved it since it was read (same `version`), bumping the
/// version. False: another request advanced it first; nothing was written.
pub fn save_if_unchanged(
    conn: &mut DbConn,
    v: &Verification,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    let n = diesel::update(
        identity_verifications::table
            .filter(identity_verifications::id.eq(&v.id))
            .filter(identity_verifications::version.eq(v.version)),
    )
    .set((
        identity_verifications::status.eq(&v.status),
        identity_verifications::step.eq(&v.step),
        identity_verifications::version.eq(v.version + 1),
        identity_verifications::document_type.eq(&v.document_type),
        identity_verifications::document_issuer.eq(&v.document_issuer),
        identity_verifications::document_expiry.eq(&v.document_expiry),
        identity_verifications::document_number_hash.eq(&v.document_number_hash),
        identity_verifications::ssn_hash.eq(&v.ssn_hash),
        identity_verifications::pii.eq(&v.pii),
        identity_verifications::checks.eq(&v.checks),
        identity_verifications::last_failure.eq(&v.last_failure),
        identity_verifications::updated_at.eq(now),
        identity_verifications::verified_at.eq(v.verified_at),
        identity_verifications::removed_at.eq(v.removed_at),
        identity_verifications::removed_by.eq(&v.removed_by),
        identity_verifications::removed_reason.eq(&v.removed_reason),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records only why a step refused (does not move the version: a refusal advances nothing).
pub fn note_failure(
    conn: &mut DbConn,
    verification_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    diesel::update(identity_verifications::table.find(verification_id))
        .set((
            identity_verifications::last_failure.eq(reason),
            identity_verifications::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

// ---- the verified identity relying parties receive ----------------------------------------

/// An IAL2 verification that counts: what the `verified_claims` builder reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub verification_id: String,
    /// UTC.
    pub verified_at: NaiveDateTime,
    pub document_type: DocumentType,
    pub document_issuer: String,
    pub document_expiry: Option<NaiveDate>,
    pub given_name: String,
    pub middle_name: Option<String>,
    pub family_name: String,
    pub birthdate: NaiveDate,
    pub address: Address,
    pub ssn: String,
    pub phone: Option<String>,
    /// `{check: vendor}` of every check that passed.
    pub checks: serde_json::Map<String, serde_json::Value>,
}

pub const TRUST_FRAMEWORK: &str = "nist_800_63A";
pub const ASSURANCE_LEVEL: &str = "ial2";

/// The verification that counts now (see [`current_verified`]) and when it was verified,
/// without opening its personal data.
pub fn counting_verification(
    conn: &mut DbConn,
    user_id: &str,
) -> anyhow::Result<Option<(Verification, NaiveDateTime)>> {
    let reverify_at: Option<Option<NaiveDateTime>> = crate::storage::schema::users::table
        .find(user_id)
        .select(crate::storage::schema::users::identity_reverify_at)
        .first(conn)
        .optional()?;
    let Some(reverify_at) = reverify_at else {
        return Ok(None);
    };
    let v: Option<Verification> = identity_verifications::table
        .filter(identity_verifications::user_id.eq(user_id))
        .filter(identity_verifications::status.eq(Status::Verified.as_str()))
        .filter(identity_verifications::removed_at.is_null())
        .order(identity_verifications::verified_at.desc())
        .select(Verification::as_select())
        .first(conn)
        .optional()?;
    let Some(v) = v else { return Ok(None) };
    let Some(verified_at) = v.verified_at else {
        return Ok(None);
    };
    if reverify_at.is_some_and(|r| r >= verified_at) {
        return Ok(None);
    }
    // A password reset suspended it: it counts again once the personal key restores it.
    let suspended: Option<Option<NaiveDateTime>> = crate::storage::schema::identity_vaults::table
        .find(&v.id)
        .select(crate::storage::schema::identity_vaults::suspended_at)
        .first(conn)
        .optional()?;
    if matches!(suspended, Some(Some(_))) {
        return Ok(None);
    }
    Ok(Some((v, verified_at)))
}

/// The counting verification's data, as far as this caller can open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// No verification counts now.
    None,
    /// One counts, but its data is in the person's vault and not unlocked here (a passkey
    /// sign-in, a grant past `proofing.released_claims_ttl_secs`).
    Locked {
        verification_id: String,
    },
    Open(Box<VerifiedIdentity>),
}

impl Verified {
    pub fn counts(&self) -> bool {
        !matches!(self, Verified::None)
    }
    pub fn identity(self) -> Option<VerifiedIdentity> {
        match self {
            Verified::Open(i) => Some(*i),
            _ => None,
        }
    }
}

/// An agent suspected fraud on a call and no operator has cleared it (the flag is open or was
/// confirmed): the person can't start verifying again meanwhile.
pub fn held_for_fraud(conn: &mut DbConn, user_id: &str) -> anyhow::Result<bool> {
    Ok(proofing_flags::table
        .filter(proofing_flags::user_id.eq(user_id))
        .filter(proofing_flags::kind.eq(FlagKind::RefereeFraud.as_str()))
        .filter(proofing_flags::status.eq_any(["open", "confirmed"]))
        .select(proofing_flags::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The person's newest verified verification that wasn't removed, whether or not it counts
/// now (an account reset may ask for it to be redone; a password reset may suspend it).
pub fn newest_verified(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Option<Verification>> {
    Ok(identity_verifications::table
        .filter(identity_verifications::user_id.eq(user_id))
        .filter(identity_verifications::status.eq(Status::Verified.as_str()))
        .filter(identity_verifications::removed_at.is_null())
        .order(identity_verifications::verified_at.desc())
        .select(Verification::as_select())
        .first(conn)
        .optional()?)
}

/// The person's verification if one counts now (verified, not removed, not on hold, not
/// suspended by a password reset, newer than an account reset that asked for it to be redone),
/// with its data opened with the vault keys in `unlocked`. A verification finished before
/// vaults existed is still sealed under the person's data key and opens without one.
pub fn current_verified(
    conn: &mut DbConn,
    master: &MasterKey,
    user_id: &str,
    unlocked: &crate::proofing::vault::Unlocked,
) -> anyhow::Result<Verified> {
    let Some((v, verified_at)) = counting_verification(conn, user_id)? else {
        return Ok(Verified::None);
    };
    let pii = if crate::proofing::vault::vault_of(conn, &v.id)?.is_some() {
        let opened = unlocked
            .key_for(&v.id)
            .and_then(|key| open_vault_pii(&key, &v).ok());
        match opened {
            Some(pii) => pii,
            None => {
                return Ok(Verified::Locked {
                    verification_id: v.id,
                })
            }
        }
    } else {
        read_pii(conn, master, &v)?
    };
    let (Some(doc), Some(ssn)) = (pii.document, pii.ssn) else {
        return Ok(Verified::None);
    };
    let Some(document_type) = v.document_type() else {
        return Ok(Verified::None);
    };
    Ok(Verified::Open(Box::new(VerifiedIdentity {
        verification_id: v.id.clone(),
        verified_at,
        document_type,
        document_issuer: v.document_issuer.clone().unwrap_or_default(),
        document_expiry: v.document_expiry(),
        given_name: doc.given_name,
        middle_name: doc.middle_name,
        family_name: doc.family_name,
        birthdate: doc.birthdate,
        address: pii.address.or(doc.address).unwrap_or_default(),
        ssn,
        phone: pii.phone,
        checks: v.passed_checks(),
    })))
}

/// A finished verification's data, sealed under its vault key.
pub fn seal_vault_pii(key: &MasterKey, verification_id: &str, pii: &Pii) -> anyhow::Result<String> {
    seal(SealedBy::Vault, key, verification_id, pii)
}

pub fn open_vault_pii(key: &MasterKey, v: &Verification) -> anyhow::Result<Pii> {
    open(SealedBy::Vault, key, v)
}

/// Once a verification counts, everything the server's keys could still open about the person
/// goes: every vendor transcript of their attempts (they hold what was sent, the SSN among
/// it), the photos, the data collected by their other verifications (abandoned, cancelled,
/// failed, superseded) and superseded vaults. A verification held for an operator keeps its
/// evidence. Unless one is held, the person's data key itself is deleted too, which also
/// crypto-shreds the copies left in database pages, WAL and backups; a later verification
/// makes a new one.
pub fn drop_evidence(conn: &mut DbConn, user_id: &str, counting: &str) -> anyhow::Result<()> {
    let held: Vec<String> = identity_verifications::table
        .filter(identity_verifications::user_id.eq(user_id))
        .filter(identity_verifications::status.eq(Status::Held.as_str()))
        .filter(identity_verifications::id.ne(counting))
        .select(identity_verifications::id)
        .load(conn)?;
    let others: Vec<String> = identity_verifications::table
        .filter(identity_verifications::user_id.eq(user_id))
        .filter(identity_verifications::id.ne(counting))
        .filter(identity_verifications::id.ne_all(&held))
        .select(identity_verifications::id)
        .load(conn)?;
    let mut mine = others.clone();
    mine.push(counting.to_string());
    diesel::delete(proofing_images::table.filter(proofing_images::verification_id.eq_any(&mine)))
        .execute(conn)?;
    diesel::update(
        proofing_attempts::table
            .filter(proofing_attempts::user_id.eq(user_id))
            .filter(proofing_attempts::verification_id.ne_all(&held)),
    )
    .set(proofing_attempts::transcript.eq(None::<String>))
    .execute(conn)?;
    diesel::update(
        identity_verifications::table.filter(identity_verifications::id.eq_any(&others)),
    )
    .set(identity_verifications::pii.eq(None::<String>))
    .execute(conn)?;
    diesel::delete(
        crate::storage::schema::identity_vaults::table
            .filter(crate::storage::schema::identity_vaults::verification_id.eq_any(&others)),
    )
    .execute(conn)?;
    if held.is_empty() {
        diesel::delete(identity_data_keys::table.find(user_id)).execute(conn)?;
    }
    Ok(())
}

// ---- images ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Front,
    Back,
    Selfie,
}

impl ImageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Front => "front",
            ImageKind::Back => "back",
            ImageKind::Selfie => "selfie",
        }
    }
}

fn image_context(verification_id: &str, kind: ImageKind) -> String {
    format!("proofing_images:{verification_id}:{}", kind.as_str())
}

/// Keeps one image (replacing an earlier one of the same kind), sealed under the data key.
pub fn store_image(
    conn: &mut DbConn,
    key: &MasterKey,
    verification_id: &str,
    kind: ImageKind,
    content_type: &str,
    bytes: &[u8],
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let sealed = key.encrypt(bytes, &image_context(verification_id, kind))?;
    // One image per kind: the replace runs under a lock, so two uploads at once keep one.
    write_tx(conn, |conn| {
        serialize_on(conn, &format!("proofing-images:{verification_id}"))?;
        replace_image(conn, verification_id, kind, content_type, &sealed, now)
    })
}

fn replace_image(
    conn: &mut DbConn,
    verification_id: &str,
    kind: ImageKind,
    content_type: &str,
    sealed: &str,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    diesel::delete(
        proofing_images::table
            .filter(proofing_images::verification_id.eq(verification_id))
            .filter(proofing_images::kind.eq(kind.as_str())),
    )
    .execute(conn)?;
    diesel::insert_into(proofing_images::table)
        .values((
            proofing_images::id.eq(uuid::Uuid::new_v4().to_string()),
            proofing_images::verification_id.eq(verification_id),
            proofing_images::kind.eq(kind.as_str()),
            proofing_images::content_type.eq(content_type),
            proofing_images::sealed.eq(sealed),
            proofing_images::created_at.eq(now),
            proofing_images::discard_after.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// An image kept for a later check: (content type, bytes).
pub fn load_image(
    conn: &mut DbConn,
    key: &MasterKey,
    verification_id: &str,
    kind: ImageKind,
) -> anyhow::Result<Option<(String, Zeroizing<Vec<u8>>)>> {
    let row: Option<(String, String)> = proofing_images::table
        .filter(proofing_images::verification_id.eq(verification_id))
        .filter(proofing_images::kind.eq(kind.as_str()))
        .filter(proofing_images::discard_after.is_null())
        .select((proofing_images::content_type, proofing_images::sealed))
        .first(conn)
        .optional()?;
    let Some((content_type, sealed)) = row else {
        return Ok(None);
    };
    let bytes = key.decrypt(&sealed, &image_context(verification_id, kind))?;
    Ok(Some((content_type, bytes)))
}

/// Its check has run: the images go now (retention 0) or after the retention days.
pub fn retire_images(
    conn: &mut DbConn,
    verification_id: &str,
    retention_days: u64,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    if retention_days == 0 {
        diesel::delete(
            proofing_images::table.filter(proofing_images::verification_id.eq(verification_id)),
        )
        .execute(conn)?;
    } else {
        diesel::update(
            proofing_images::table
                .filter(proofing_images::verification_id.eq(verification_id))
                .filter(proofing_images::discard_after.is_null()),
        )
        .set(proofing_images::discard_after.eq(now + chrono::Duration::days(retention_days as i64)))
        .execute(conn)?;
    }
    Ok(())
}

/// Deletes retired images whose retention has run out; returns how many.
pub fn purge_retired_images(conn: &mut DbConn, now: NaiveDateTime) -> anyhow::Result<usize> {
    Ok(diesel::delete(
        proofing_images::table
            .filter(proofing_images::discard_after.is_not_null())
            .filter(proofing_images::discard_after.le(now)),
    )
    .execute(conn)?)
}

// ---- vendor attempts -----------------------------------------------------------------------

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = proofing_attempts)]
pub struct Attempt {
    pub id: String,
    pub verification_id: String,
    pub user_id: String,
    pub ip: Option<String>,
    pub check_kind: String,
    pub vendor: String,
    pub outcome: String,
    pub charged: bool,
    pub identity_hash: Option<String>,
    pub transcript: Option<String>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// Why an attempt can't start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `proofing.max_attempts` used in the window; the oldest counted frees up at `retry_at`.
    OutOfAttempts { retry_at: NaiveDateTime },
    /// The same check of this verification is running right now (a double submit).
    AlreadyRunning,
}

/// Reserves one charged attempt of `check` before the vendor is called, so the limit holds for
/// concurrent requests on every node: the count and the insert happen under the person's lock.
#[allow(clippy::too_many_arguments)]
pub fn reserve_attempt(
    conn: &mut DbConn,
    verification_id: &str,
    user_id: &str,
    ip: Option<&str>,
    check: CheckKind,
    vendor: &str,
    identity_hash: Option<&str>,
    max_attempts: u32,
    window: chrono::Duration,
    running_for_at_most: chrono::Duration,
    now: NaiveDateTime,
) -> anyhow::Result<Result<String, Refusal>> {
    write_tx(conn, |conn| {
        lock_person(conn, user_id)?;
        let running: i64 = proofing_attempts::table
            .filter(proofing_attempts::verification_id.eq(verification_id))
            .filter(proofing_attempts::check_kind.eq(check.as_str()))
            .filter(proofing_attempts::outcome.eq("running"))
            .filter(proofing_attempts::created_at.gt(now - running_for_at_most))
            .count()
            .get_result(conn)?;
        if running > 0 {
            return Ok(Err(Refusal::AlreadyRunning));
        }
        let counted: Vec<NaiveDateTime> = proofing_attempts::table
            .filter(proofing_attempts::user_id.eq(user_id))
            .filter(proofing_attempts::check_kind.eq(check.as_str()))
            .filter(proofing_attempts::charged.eq(true))
            .filter(proofing_attempts::created_at.gt(now - window))
            .order(proofing_attempts::created_at.asc())
            .select(proofing_attempts::created_at)
            .load(conn)?;
        if counted.len() as u64 >= u64::from(max_attempts) {
            let oldest = counted.first().copied().unwrap_or(now);
            return Ok(Err(Refusal::OutOfAttempts {
                retry_at: oldest + window,
            }));
        }
        let id = uuid::Uuid::new_v4().to_string();
        diesel::insert_into(proofing_attempts::table)
            .values((
                proofing_attempts::id.eq(&id),
                proofing_attempts::verification_id.eq(verification_id),
                proofing_attempts::user_id.eq(user_id),
                proofing_attempts::ip.eq(ip),
                proofing_attempts::check_kind.eq(check.as_str()),
                proofing_attempts::vendor.eq(vendor),
                proofing_attempts::outcome.eq("running"),
                proofing_attempts::charged.eq(true),
                proofing_attempts::identity_hash.eq(identity_hash),
                proofing_attempts::transcript.eq(None::<String>),
                proofing_attempts::created_at.eq(now),
                proofing_attempts::finished_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(Ok(id))
    })
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Passed,
    Failed,
    /// No answer from the vendor: given back, not charged.
    Unavailable,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Passed => "passed",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Unavailable => "unavailable",
        }
    }
}

fn transcript_context(attempt_id: &str) -> String {
    format!("proofing_attempts.transcript:{attempt_id}")
}

/// Closes an attempt with its sealed transcript.
pub fn finish_attempt(
    conn: &mut DbConn,
    key: &MasterKey,
    attempt_id: &str,
    outcome: AttemptOutcome,
    transcript: &serde_json::Value,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let sealed = key.encrypt(
        transcript.to_string().as_bytes(),
        &transcript_context(attempt_id),
    )?;
    diesel::update(proofing_attempts::table.find(attempt_id))
        .set((
            proofing_attempts::outcome.eq(outcome.as_str()),
            proofing_attempts::charged.eq(outcome != AttemptOutcome::Unavailable),
            proofing_attempts::transcript.eq(sealed),
            proofing_attempts::finished_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn open_transcript(key: &MasterKey, attempt: &Attempt) -> Option<serde_json::Value> {
    let sealed = attempt.transcript.as_deref()?;
    let plain = key.decrypt(sealed, &transcript_context(&attempt.id)).ok()?;
    serde_json::from_slice(&plain).ok()
}

pub fn attempts_of(conn: &mut DbConn, verification_id: &str) -> anyhow::Result<Vec<Attempt>> {
    Ok(proofing_attempts::table
        .filter(proofing_attempts::verification_id.eq(verification_id))
        .order(proofing_attempts::created_at.asc())
        .select(Attempt::as_select())
        .load(conn)?)
}

/// Distinct identities (SSN or document hashes) tried by this person, and from this IP,
/// within the window.
pub fn identities_tried(
    conn: &mut DbConn,
    user_id: &str,
    ip: Option<&str>,
    since: NaiveDateTime,
) -> anyhow::Result<(usize, usize)> {
    let by_user: Vec<Option<String>> = proofing_attempts::table
        .filter(proofing_attempts::user_id.eq(user_id))
        .filter(proofing_attempts::created_at.gt(since))
        .filter(proofing_attempts::identity_hash.is_not_null())
        .select(proofing_attempts::identity_hash)
        .distinct()
        .load(conn)?;
    let by_ip = match ip {
        None => 0,
        Some(ip) => {
            let v: Vec<Option<String>> = proofing_attempts::table
                .filter(proofing_attempts::ip.eq(ip))
                .filter(proofing_attempts::created_at.gt(since))
                .filter(proofing_attempts::identity_hash.is_not_null())
                .select(proofing_attempts::identity_hash)
                .distinct()
                .load(conn)?;
            v.len()
        }
    };
    Ok((by_user.len(), by_ip))
}

// ---- fraud flags -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The SSN is already verified on another account.
    DuplicateSsn,
    /// The document number is already verified on another account.
    DuplicateDocument,
    /// Many different identities tried from one account or one IP.
    ManyIdentities,
    /// The phone offered was added or replaced within the SIM-swap cooldown.
    SimSwapPhone,
    /// A trusted referee (an agent on a video call) suspected fraud.
    RefereeFraud,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::DuplicateSsn => "duplicate_ssn",
            FlagKind::DuplicateDocument => "duplicate_document",
            FlagKind::ManyIdentities => "many_identities",
            FlagKind::SimSwapPhone => "sim_swap_phone",
            FlagKind::RefereeFraud => "referee_fraud",
        }
    }
    /// Duplicates are held for review, never silently accepted; the others are signals.
    pub fn holds(self) -> bool {
        matches!(
            self,
            FlagKind::DuplicateSsn | FlagKind::DuplicateDocument | FlagKind::RefereeFraud
        )
    }
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq, Eq)]
#[diesel(table_name = proofing_flags)]
pub struct Flag {
    pub id: String,
    pub verification_id: String,
    pub user_id: String,
    pub kind: String,
    pub detail: String,
    pub holds: bool,
    pub status: String,
    pub resolution_reason: Option<String>,
    pub resolved_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
}

/// Raises a flag unless the same kind is already open on this verification.
pub fn raise_flag(
    conn: &mut DbConn,
    verification_id: &str,
    user_id: &str,
    kind: FlagKind,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    // Counted under the person's lock: two requests at once raise one flag.
    write_tx(conn, |conn| {
        lock_person(conn, user_id)?;
        let open: i64 = proofing_flags::table
            .filter(proofing_flags::verification_id.eq(verification_id))
            .filter(proofing_flags::kind.eq(kind.as_str()))
            .filter(proofing_flags::status.eq("open"))
            .count()
            .get_result(conn)?;
        if open > 0 {
            return Ok(false);
        }
        insert_flag(conn, verification_id, user_id, kind, &detail, now)?;
        Ok(true)
    })
}

fn insert_flag(
    conn: &mut DbConn,
    verification_id: &str,
    user_id: &str,
    kind: FlagKind,
    detail: &serde_json::Value,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    diesel::insert_into(proofing_flags::table)
        .values((
            proofing_flags::id.eq(uuid::Uuid::new_v4().to_string()),
            proofing_flags::verification_id.eq(verification_id),
            proofing_flags::user_id.eq(user_id),
            proofing_flags::kind.eq(kind.as_str()),
            proofing_flags::detail.eq(detail.to_string()),
            proofing_flags::holds.eq(kind.holds()),
            proofing_flags::status.eq("open"),
            proofing_flags::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn flags_of(conn: &mut DbConn, verification_id: &str) -> anyhow::Result<Vec<Flag>> {
    Ok(proofing_flags::table
        .filter(proofing_flags::verification_id.eq(verification_id))
        .order(proofing_flags::created_at.asc())
        .select(Flag::as_select())
        .load(conn)?)
}

/// Other accounts whose counting verification carries this SSN hash or document hash.
pub fn verified_elsewhere(
    conn: &mut DbConn,
    user_id: &str,
    ssn_hash: Option<&str>,
    document_number_hash: Option<&str>,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let counting = [Status::Verified.as_str(), Status::Held.as_str()];
    let by_ssn = match ssn_hash {
        None => Vec::new(),
        Some(h) => identity_verifications::table
            .filter(identity_verifications::ssn_hash.eq(h))
            .filter(identity_verifications::user_id.ne(user_id))
            .filter(identity_verifications::status.eq_any(counting))
            .select(identity_verifications::user_id)
            .distinct()
            .load(conn)?,
    };
    let by_doc = match document_number_hash {
        None => Vec::new(),
        Some(h) => identity_verifications::table
            .filter(identity_verifications::document_number_hash.eq(h))
            .filter(identity_verifications::user_id.ne(user_id))
            .filter(identity_verifications::status.eq_any(counting))
            .select(identity_verifications::user_id)
            .distinct()
            .load(conn)?,
    };
    Ok((by_ssn, by_doc))
}

/// Keyed hashes, so duplicates are found without keeping the numbers.
pub fn ssn_hash(master: &MasterKey, ssn: &str) -> String {
    crate::crypto::mac(&master.derive("verity/proofing/ssn"), ssn.as_bytes())
}

pub fn document_number_hash(master: &MasterKey, doc: &DocumentFields) -> String {
    let normalised: String = doc
        .document_number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    crate::crypto::mac(
        &master.derive("verity/proofing/document"),
        format!(
            "{}|{}|{}",
            doc.document_type.ida_name(),
            doc.issuer.to_ascii_uppercase(),
            normalised
        )
        .as_bytes(),
    )
}

// ---- letters (verify by mail) ---------------------------------------------------------------

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = proofing_letters)]
pub struct Letter {
    pub id: String,
    pub verification_id: String,
    pub user_id: String,
    pub code_hash: String,
    pub mailing: Option<String>,
    pub status: String,
    pub tries: i32,
    pub requested_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub sent_by: Option<String>,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    /// The "letter sent" e-mail was claimed (just before it went out).
    pub sent_notice_at: Option<NaiveDateTime>,
    /// The reminder e-mail was claimed (just before it went out).
    pub reminded_at: Option<NaiveDateTime>,
}

/// A letter's state.
pub mod letter_status {
    pub const QUEUED: &str = "queued";
    pub const SENT: &str = "sent";
    pub const USED: &str = "used";
    /// Too many wrong codes: this letter's code no longer works.
    pub const VOID: &str = "void";
    /// The verification ended some other way (finished, abandoned, removed).
    pub const CANCELLED: &str = "cancelled";
    /// Waiting for its code to be entered.
    pub const LIVE: [&str; 2] = [QUEUED, SENT];
}

/// What the printer needs, sealed under the person's data key until the letter is sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mailing {
    pub name: String,
    pub address: Address,
    /// The one-time code as printed (the row keeps only its keyed hash).
    pub code: String,
}

fn mailing_context(letter_id: &str) -> String {
    format!("proofing_letters.mailing:{letter_id}")
}

pub fn open_mailing(key: &MasterKey, letter: &Letter) -> anyhow::Result<Option<Mailing>> {
    match &letter.mailing {
        None => Ok(None),
        Some(sealed) => {
            let plain = Zeroizing::new(key.decrypt(sealed, &mailing_context(&letter.id))?.to_vec());
            Ok(Some(serde_json::from_slice(&plain)?))
        }
    }
}

/// Why a letter can't be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterRefusal {
    /// `proofing.letters_per_window` requested in the window; the oldest counted frees up then.
    TooMany { retry_at: NaiveDateTime },
    /// The verification moved meanwhile (a double submit).
    Moved,
}

/// The times of the person's letters counted against `proofing.letters_per_window`, oldest
/// first (every letter requested in the window counts, whatever became of it).
pub fn letters_in_window(
    conn: &mut DbConn,
    user_id: &str,
    window: chrono::Duration,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<NaiveDateTime>> {
    Ok(proofing_letters::table
        .filter(proofing_letters::user_id.eq(user_id))
        .filter(proofing_letters::requested_at.gt(now - window))
        .order(proofing_letters::requested_at.asc())
        .select(proofing_letters::requested_at)
        .load(conn)?)
}

/// Queues a letter and moves the verification (`v`, already on its next step) forward, under
/// the person's lock so `per_window` holds for concurrent requests. The verification's
/// `expires_at` is pushed to the letter's, so it waits for the letter instead of being
/// abandoned.
#[allow(clippy::too_many_arguments)]
pub fn queue_letter(
    conn: &mut DbConn,
    key: &MasterKey,
    v: &Verification,
    mailing: &Mailing,
    code_hash: &str,
    per_window: u32,
    window: chrono::Duration,
    valid: chrono::Duration,
    now: NaiveDateTime,
) -> anyhow::Result<Result<Letter, LetterRefusal>> {
    write_tx(conn, |conn| {
        lock_person(conn, &v.user_id)?;
        let counted = letters_in_window(conn, &v.user_id, window, now)?;
        if counted.len() as u64 >= u64::from(per_window) {
            let oldest = counted.first().copied().unwrap_or(now);
            return Ok(Err(LetterRefusal::TooMany {
                retry_at: oldest + window,
            }));
        }
        if !save_if_unchanged(conn, v, now)? {
            return Ok(Err(LetterRefusal::Moved));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let json = Zeroizing::new(serde_json::to_vec(mailing)?);
        let letter = Letter {
            mailing: Some(key.encrypt(&json, &mailing_context(&id))?),
            id,
            verification_id: v.id.clone(),
            user_id: v.user_id.clone(),
            code_hash: code_hash.to_string(),
            status: letter_status::QUEUED.into(),
            tries: 0,
            requested_at: now,
            sent_at: None,
            sent_by: None,
            expires_at: now + valid,
            used_at: None,
            sent_notice_at: None,
            reminded_at: None,
        };
        diesel::insert_into(proofing_letters::table)
            .values((
                proofing_letters::id.eq(&letter.id),
                proofing_letters::verification_id.eq(&letter.verification_id),
                proofing_letters::user_id.eq(&letter.user_id),
                proofing_letters::code_hash.eq(&letter.code_hash),
                proofing_letters::mailing.eq(&letter.mailing),
                proofing_letters::status.eq(&letter.status),
                proofing_letters::tries.eq(0),
                proofing_letters::requested_at.eq(now),
                proofing_letters::expires_at.eq(letter.expires_at),
            ))
            .execute(conn)?;
        diesel::update(
            identity_verifications::table
                .filter(identity_verifications::id.eq(&v.id))
                .filter(identity_verifications::expires_at.lt(letter.expires_at)),
        )
        .set(identity_verifications::expires_at.eq(letter.expires_at))
        .execute(conn)?;
        Ok(Ok(letter))
    })
}

/// The letters of a verification, newest first.
pub fn letters_of(conn: &mut DbConn, verification_id: &str) -> anyhow::Result<Vec<Letter>> {
    Ok(proofing_letters::table
        .filter(proofing_letters::verification_id.eq(verification_id))
        .order(proofing_letters::requested_at.desc())
        .select(Letter::as_select())
        .load(conn)?)
}

pub fn letter_by_id(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<Letter>> {
    Ok(proofing_letters::table
        .find(id)
        .select(Letter::as_select())
        .first(conn)
        .optional()?)
}

/// The letters whose code may still be entered: queued or sent, not expired, tries left.
pub fn live_letters(
    conn: &mut DbConn,
    verification_id: &str,
    max_tries: u32,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<Letter>> {
    Ok(proofing_letters::table
        .filter(proofing_letters::verification_id.eq(verification_id))
        .filter(proofing_letters::status.eq_any(letter_status::LIVE))
        .filter(proofing_letters::expires_at.gt(now))
        .filter(proofing_letters::tries.lt(max_tries as i32))
        .order(proofing_letters::requested_at.desc())
        .select(Letter::as_select())
        .load(conn)?)
}

/// A wrong code: every live letter of the verification counts it; those at `max_tries` are
/// void: their codes stop working and a letter not yet printed is not printed. Call under the
/// person's lock. Returns the tries left on the best remaining letter (0: a new one is needed).
pub fn count_wrong_letter_code(
    conn: &mut DbConn,
    verification_id: &str,
    max_tries: u32,
    now: NaiveDateTime,
) -> anyhow::Result<u32> {
    let live = live_letters(conn, verification_id, max_tries, now)?;
    let ids: Vec<&str> = live.iter().map(|l| l.id.as_str()).collect();
    diesel::update(proofing_letters::table.filter(proofing_letters::id.eq_any(&ids)))
        .set(proofing_letters::tries.eq(proofing_letters::tries + 1))
        .execute(conn)?;
    diesel::update(
        proofing_letters::table
            .filter(proofing_letters::id.eq_any(&ids))
            .filter(proofing_letters::tries.ge(max_tries as i32)),
    )
    .set((
        proofing_letters::status.eq(letter_status::VOID),
        proofing_letters::mailing.eq(None::<String>),
    ))
    .execute(conn)?;
    let left = live
        .iter()
        .map(|l| max_tries.saturating_sub(l.tries.max(0) as u32 + 1))
        .max()
        .unwrap_or(0);
    Ok(left)
}

/// The letter's code was accepted: it is used, and the verification's other waiting letters
/// are cancelled. False: it was no longer waiting (a concurrent submission used it).
pub fn use_letter(
    conn: &mut DbConn,
    letter_id: &str,
    verification_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    let n = diesel::update(
        proofing_letters::table
            .filter(proofing_letters::id.eq(letter_id))
            .filter(proofing_letters::status.eq_any(letter_status::LIVE)),
    )
    .set((
        proofing_letters::status.eq(letter_status::USED),
        proofing_letters::used_at.eq(now),
        proofing_letters::mailing.eq(None::<String>),
    ))
    .execute(conn)?;
    if n != 1 {
        return Ok(false);
    }
    cancel_letters(conn, &[verification_id.to_string()])?;
    Ok(true)
}

/// Cancels the waiting letters of these verifications and drops what was sealed for the
/// printer. The rows stay (without personal data) so they keep counting against
/// `proofing.letters_per_window`.
pub fn cancel_letters(conn: &mut DbConn, verification_ids: &[String]) -> anyhow::Result<usize> {
    Ok(diesel::update(
        proofing_letters::table
            .filter(proofing_letters::verification_id.eq_any(verification_ids))
            .filter(proofing_letters::status.eq_any(letter_status::LIVE)),
    )
    .set((
        proofing_letters::status.eq(letter_status::CANCELLED),
        proofing_letters::mailing.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// Letters waiting for the printer, oldest first (a page of them).
pub fn queued_letters(
    conn: &mut DbConn,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<Letter>, i64)> {
    let total: i64 = proofing_letters::table
        .filter(proofing_letters::status.eq(letter_status::QUEUED))
        .count()
        .get_result(conn)?;
    let rows = proofing_letters::table
        .filter(proofing_letters::status.eq(letter_status::QUEUED))
        .order((
            proofing_letters::requested_at.asc(),
            proofing_letters::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(Letter::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The printer has it: the sealed name, address and code are dropped. False: not queued.
pub fn mark_letter_sent(
    conn: &mut DbConn,
    letter_id: &str,
    by: &str,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    let n = diesel::update(
        proofing_letters::table
            .filter(proofing_letters::id.eq(letter_id))
            .filter(proofing_letters::status.eq(letter_status::QUEUED)),
    )
    .set((
        proofing_letters::status.eq(letter_status::SENT),
        proofing_letters::sent_at.eq(now),
        proofing_letters::sent_by.eq(by),
        proofing_letters::mailing.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The e-mails a letter's person gets: "your letter was mailed" once it is marked sent, and
/// one reminder when its code is still unused a while later. Each is claimed on the letter's
/// row (a conditional UPDATE), so only one node sends it, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterMail {
    Sent,
    Reminder,
}

/// Letters owing their "letter sent" e-mail: marked sent, still waiting for their code, the
/// e-mail not claimed (the node that marked it stopped before sending, or the send failed and
/// was given back). Oldest first, at most `limit`.
pub fn letters_owing_sent_mail(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> anyhow::Result<Vec<Letter>> {
    Ok(proofing_letters::table
        .filter(proofing_letters::status.eq(letter_status::SENT))
        .filter(proofing_letters::sent_notice_at.is_null())
        .filter(proofing_letters::expires_at.gt(now))
        .order((proofing_letters::sent_at.asc(), proofing_letters::id.asc()))
        .limit(limit)
        .select(Letter::as_select())
        .load(conn)?)
}

/// Letters owing their reminder: sent at or before `sent_by`, the code still unused and
/// usable (sent, not expired, tries left), no reminder claimed. Oldest first, at most `limit`.
pub fn letters_owing_reminder(
    conn: &mut DbConn,
    sent_by: NaiveDateTime,
    max_tries: u32,
    now: NaiveDateTime,
    limit: i64,
) -> anyhow::Result<Vec<Letter>> {
    Ok(proofing_letters::table
        .filter(proofing_letters::status.eq(letter_status::SENT))
        .filter(proofing_letters::sent_at.le(sent_by))
        .filter(proofing_letters::reminded_at.is_null())
        .filter(proofing_letters::expires_at.gt(now))
        .filter(proofing_letters::tries.lt(max_tries as i32))
        .order((proofing_letters::sent_at.asc(), proofing_letters::id.asc()))
        .limit(limit)
        .select(Letter::as_select())
        .load(conn)?)
}

/// Claims the letter's e-mail `which` for sending now: true for exactly one caller, and only
/// while the letter is sent and its code still usable (a reminder also only from `sent_by` on).
/// The letter as claimed comes back.
pub fn claim_letter_mail(
    conn: &mut DbConn,
    letter_id: &str,
    which: LetterMail,
    sent_by: NaiveDateTime,
    max_tries: u32,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Letter>> {
    let waiting = proofing_letters::table
        .filter(proofing_letters::id.eq(letter_id))
        .filter(proofing_letters::status.eq(letter_status::SENT))
        .filter(proofing_letters::expires_at.gt(now))
        .filter(proofing_letters::tries.lt(max_tries as i32));
    let n = match which {
        LetterMail::Sent => {
            diesel::update(waiting.filter(proofing_letters::sent_notice_at.is_null()))
                .set(proofing_letters::sent_notice_at.eq(now))
                .execute(conn)?
        }
        LetterMail::Reminder => diesel::update(
            waiting
                .filter(proofing_letters::reminded_at.is_null())
                .filter(proofing_letters::sent_at.le(sent_by)),
        )
        .set(proofing_letters::reminded_at.eq(now))
        .execute(conn)?,
    };
    if n != 1 {
        return Ok(None);
    }
    letter_by_id(conn, letter_id)
}

/// Gives a claimed e-mail back (no address took it), so housekeeping tries it again.
pub fn release_letter_mail(
    conn: &mut DbConn,
    letter_id: &str,
    which: LetterMail,
) -> anyhow::Result<()> {
    let row = proofing_letters::table.filter(proofing_letters::id.eq(letter_id));
    match which {
        LetterMail::Sent => diesel::update(row)
            .set(proofing_letters::sent_notice_at.eq(None::<NaiveDateTime>))
            .execute(conn)?,
        LetterMail::Reminder => diesel::update(row)
            .set(proofing_letters::reminded_at.eq(None::<NaiveDateTime>))
            .execute(conn)?,
    };
    Ok(())
}

// ---- removal and review ----------------------------------------------------------------------

/// Removes every verification of the person and their personal data: the data key is deleted
/// (so sealed transcripts left on attempts can no longer be read), images and sealed fields are
/// dropped, keyed hashes cleared. `by` is `person` or an operator's client id. Returns how many
/// verifications were removed (0: nothing to remove).
pub fn remove_all(
    conn: &mut DbConn,
    user_id: &str,
    by: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    write_tx(conn, |conn| {
        lock_person(conn, user_id)?;
        let ids: Vec<String> = identity_verifications::table
            .filter(identity_verifications::user_id.eq(user_id))
            .filter(identity_verifications::removed_at.is_null())
            .select(identity_verifications::id)
            .load(conn)?;
        diesel::delete(
            proofing_images::table.filter(proofing_images::verification_id.eq_any(&ids)),
        )
        .execute(conn)?;
        cancel_letters(conn, &ids)?;
        crate::proofing::referee::cancel_cases(conn, &ids)?;
        crate::proofing::referee::forget_agents_notes(conn, user_id)?;
        diesel::update(proofing_attempts::table.filter(proofing_attempts::user_id.eq(user_id)))
            .set((
                proofing_attempts::transcript.eq(None::<String>),
                proofing_attempts::identity_hash.eq(None::<String>),
            ))
            .execute(conn)?;
        let n = diesel::update(
            identity_verifications::table.filter(identity_verifications::id.eq_any(&ids)),
        )
        .set((
            identity_verifications::status.eq(Status::Removed.as_str()),
            identity_verifications::pii.eq(None::<String>),
            identity_verifications::ssn_hash.eq(None::<String>),
            identity_verifications::document_number_hash.eq(None::<String>),
            identity_verifications::removed_at.eq(now),
            identity_verifications::removed_by.eq(by),
            identity_verifications::removed_reason.eq(reason),
            identity_verifications::updated_at.eq(now),
            identity_verifications::version.eq(identity_verifications::version + 1),
        ))
        .execute(conn)?;
        diesel::delete(identity_data_keys::table.find(user_id)).execute(conn)?;
        crate::proofing::vault::delete_all(conn, user_id)?;
        Ok(n)
    })
}

/// An operator's decision on a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagDecision {
    /// Not fraud: the flag stops holding the verification.
    Clear,
    /// Fraud: the verification fails.
    Confirm,
}

// Made once per operator decision and matched at once: the size doesn't matter here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagResolution {
    /// The verification's status afterwards.
    Resolved {
        flag: Flag,
        verification_status: Status,
    },
    NotFound,
    AlreadyResolved,
}

/// Clears or confirms an open flag. Clearing the last holding flag of a held verification
/// lets it count (verified); confirming fails it.
pub fn resolve_flag(
    conn: &mut DbConn,
    flag_id: &str,
    decision: FlagDecision,
    reason: &str,
    by: &str,
    now: NaiveDateTime,
) -> anyhow::Result<FlagResolution> {
    write_tx(conn, |conn| {
        let flag: Option<Flag> = proofing_flags::table
            .find(flag_id)
            .select(Flag::as_select())
            .first(conn)
            .optional()?;
        let Some(flag) = flag else {
            return Ok(FlagResolution::NotFound);
        };
        lock_person(conn, &flag.user_id)?;
        let new_status = match decision {
            FlagDecision::Clear => "cleared",
            FlagDecision::Confirm => "confirmed",
        };
        let n = diesel::update(
            proofing_flags::table
                .filter(proofing_flags::id.eq(flag_id))
                .filter(proofing_flags::status.eq("open")),
        )
        .set((
            proofing_flags::status.eq(new_status),
            proofing_flags::resolution_reason.eq(reason),
            proofing_flags::resolved_by.eq(by),
            proofing_flags::resolved_at.eq(now),
        ))
        .execute(conn)?;
        if n == 0 {
            return Ok(FlagResolution::AlreadyResolved);
        }
        let Some(mut v) = by_id(conn, &flag.verification_id)? else {
            return Ok(FlagResolution::NotFound);
        };
        let still_holding: i64 = proofing_flags::table
            .filter(proofing_flags::verification_id.eq(&v.id))
            .filter(proofing_flags::status.eq("open"))
            .filter(proofing_flags::holds.eq(true))
            .count()
            .get_result(conn)?;
        let status = v.status().unwrap_or(Status::Failed);
        let next = match (decision, status) {
            (FlagDecision::Confirm, Status::Held | Status::Verified | Status::InProgress) => {
                Status::Failed
            }
            (FlagDecision::Clear, Status::Held) if still_holding == 0 => Status::Verified,
            (_, s) => s,
        };
        if next != status {
            v.status = next.as_str().into();
            if next == Status::Verified && v.verified_at.is_none() {
                v.verified_at = Some(now);
            }
            if save_if_unchanged(conn, &v, now)? {
                match next {
                    Status::Verified => drop_evidence(conn, &v.user_id, &v.id)?,
                    // Fraud confirmed: an agent case still open for it ends too.
                    Status::Failed => {
                        crate::proofing::referee::cancel_cases(conn, std::slice::from_ref(&v.id))?;
                    }
                    _ => {}
                }
            }
        }
        let flag = proofing_flags::table
            .find(flag_id)
            .select(Flag::as_select())
            .first(conn)?;
        Ok(FlagResolution::Resolved {
            flag,
            verification_status: next,
        })
    })
}

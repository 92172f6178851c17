//! Signing keys: generated with aws-lc-rs, stored as encrypted PKCS#8 in the database, cached
//! in memory as a [`KeyRing`] with the JWKS pre-serialised.
//!
//! Rotation publishes the new key `key_publish_lead_secs` before it signs anything, and keeps
//! the old key in the JWKS until every token it signed has expired.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use openidconnect::core::{CoreJsonCurveType, CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKeyId, PrivateSigningKey, SigningError};
use zeroize::Zeroizing;

use crate::config::SigningAlg;
use crate::crypto::{self, MasterKey};
use crate::storage::db::{Db, DbConn};
use crate::storage::schema::signing_keys;

enum KeyMaterial {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One parsed key pair with everything needed to sign ID tokens and access tokens (both with
/// the cached aws-lc-rs key pair), and to verify our own access tokens (jsonwebtoken).
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    material: KeyMaterial,
    jwk: CoreJsonWebKey,
    jwt_decoding: jsonwebtoken::DecodingKey,
}

impl SigningKey {
    /// Generates a new key pair; returns its PKCS#8 DER, wiped from memory when dropped.
    pub fn generate_pkcs8(alg: SigningAlg) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let der = Zeroizing::new(match alg {
            SigningAlg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| anyhow!("RSA key generation failed"))?
                .as_der()
                .map_err(|_| anyhow!("RSA key encoding failed"))?
                .as_ref()
                .to_vec(),
            SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| anyhow!("EC key generation failed"))?
                .to_pkcs8v1()
                .map_err(|_| anyhow!("EC key encoding failed"))?
                .as_ref()
                .to_vec(),
            SigningAlg::EdDSA => Ed25519KeyPair::generate()
                .map_err(|_| anyhow!("Ed25519 key generation failed"))?
                .to_pkcs8()
                .map_err(|_| anyhow!("Ed25519 key encoding failed"))?
                .as_ref()
                .to_vec(),
        });
        Ok(der)
    }

    pub fn from_pkcs8(kid: &str, alg: SigningAlg, der: &[u8]) -> anyhow::Result<SigningKey> {
        let kid_opt = Some(JsonWebKeyId::new(kid.to_string()));
        let (material, jwk, jwt_decoding) = match alg {
            SigningAlg::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| anyhow!("bad RSA key: {e}"))?;
                let public = pair.public_key();
                let n = public.modulus().big_endian_without_leading_zero().to_vec();
                let e = public.exponent().big_endian_without_leading_zero().to_vec();
                let dec = jsonwebtoken::DecodingKey::from_rsa_components(
                    &crypto::b64url(&n),
                    &crypto::b64url(&e),
                )?;
                let jwk = CoreJsonWebKey::new_rsa(n, e, kid_opt);
                (KeyMaterial::Rsa(pair), jwk, dec)
            }
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| anyhow!("bad EC key: {e}"))?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 0x04 {
                    bail!("unexpected EC public key encoding");
                }
                let (x, y) = (point[1..33].to_vec(), point[33..65].to_vec());
                let dec = jsonwebtoken::DecodingKey::from_ec_components(
                    &crypto::b64url(&x),
                    &crypto::b64url(&y),
                )?;
                let jwk = CoreJsonWebKey::new_ec(x, y, CoreJsonCurveType::P256, kid_opt);
                (KeyMaterial::Ec(pair), jwk, dec)
            }
            SigningAlg::EdDSA => {
                let pair =
                    Ed25519KeyPair::from_pkcs8(der).map_err(|e| anyhow!("bad Ed25519 key: {e}"))?;
                let x = pair.public_key().as_ref().to_vec();
                let dec = jsonwebtoken::DecodingKey::from_ed_components(&crypto::b64url(&x))?;
                let jwk = CoreJsonWebKey::new_okp(x, CoreJsonCurveType::Ed25519, kid_opt);
                (KeyMaterial::Ed(pair), jwk, dec)
            }
        };
        Ok(SigningKey {
            kid: kid.to_string(),
            alg,
            material,
            jwk,
            jwt_decoding,
        })
    }

    pub fn jws_alg(&self) -> CoreJwsSigningAlgorithm {
        match self.alg {
            SigningAlg::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            SigningAlg::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            SigningAlg::EdDSA => CoreJwsSigningAlgorithm::EdDsa,
        }
    }

    pub fn jwt_alg(&self) -> jsonwebtoken::Algorithm {
        match self.alg {
            SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    pub fn decoding_key(&self) -> &jsonwebtoken::DecodingKey {
        &self.jwt_decoding
    }

    /// Signs a compact JWT with the cached key pair. (jsonwebtoken 11's aws-lc backend parses
    /// the DER key again for every signature, which halves RS256 throughput; verification
    /// still goes through jsonwebtoken.)
    pub fn sign_jwt(&self, typ: &str, claims: &impl serde::Serialize) -> anyhow::Result<String> {
        let header = serde_json::json!({ "alg": self.alg.as_str(), "typ": typ, "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            crypto::b64url(&serde_json::to_vec(&header)?),
            crypto::b64url(&serde_json::to_vec(claims)?)
        );
        let signature = PrivateSigningKey::sign(self, &self.jws_alg(), signing_input.as_bytes())
            .map_err(|e| anyhow!("signing failed: {e:?}"))?;
        Ok(format!("{signing_input}.{}", crypto::b64url(&signature)))
    }

    /// The public JWK, with `alg` added (openidconnect's type leaves it out).
    pub fn public_jwk_json(&self) -> anyhow::Result<serde_json::Value> {
        let mut v = serde_json::to_value(&self.jwk)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("alg".into(), self.alg.as_str().into());
        }
        Ok(v)
    }
}

impl PrivateSigningKey for SigningKey {
    type VerificationKey = CoreJsonWebKey;

    fn sign(
        &self,
        signature_alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, SigningError> {
        if *signature_alg != self.jws_alg() {
            return Err(SigningError::UnsupportedAlg(format!("{signature_alg:?}")));
        }
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.material {
            KeyMaterial::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| SigningError::CryptoError)?;
                Ok(sig)
            }
            KeyMaterial::Ec(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(|_| SigningError::CryptoError)?
                .as_ref()
                .to_vec()),
            KeyMaterial::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.jwk.clone()
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub id: String,
    pub alg: String,
    pub private_key: String,
    pub public_jwk: String,
    pub created_at: NaiveDateTime,
    pub active_from: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
    pub publish_until: Option<NaiveDateTime>,
}

impl SigningKeyRow {
    pub fn state(&self, now: NaiveDateTime, signing_kid: Option<&str>) -> &'static str {
        if signing_kid == Some(self.id.as_str()) {
            "signing"
        } else if self.publish_until.is_some_and(|t| t <= now) {
            "expired"
        } else if self.retired_at.is_some_and(|t| t <= now) {
            "retired, still published"
        } else if self.active_from > now {
            "published, not yet signing"
        } else {
            "retired, still published"
        }
    }
}

/// The in-memory view of the keys: who signs now, who verifies, and the JWKS bytes.
pub struct KeyRing {
    keys: Vec<(SigningKeyRow, Arc<SigningKey>)>,
    by_kid: HashMap<String, Arc<SigningKey>>,
    pub jwks_json: bytes::Bytes,
    pub algs: Vec<SigningAlg>,
}

impl KeyRing {
    /// The newest key whose activation time has passed.
    pub fn signer(&self, now: NaiveDateTime) -> Option<Arc<SigningKey>> {
        // The most recent rotation wins, even over an older rotation still in its lead time.
        self.keys
            .iter()
            .filter(|(row, _)| row.active_from <= now)
            .max_by_key(|(row, _)| (row.created_at, row.active_from))
            .map(|(_, k)| k.clone())
    }

    pub fn verifier(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.by_kid.get(kid).cloned()
    }
}

fn publishable(row: &SigningKeyRow, now: NaiveDateTime) -> bool {
    row.publish_until.is_none_or(|t| t > now)
}

pub fn load_rows(conn: &mut DbConn) -> anyhow::Result<Vec<SigningKeyRow>> {
    Ok(signing_keys::table
        .order(signing_keys::active_from.asc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

fn build_ring(
    master: &MasterKey,
    rows: Vec<SigningKeyRow>,
    now: NaiveDateTime,
) -> anyhow::Result<KeyRing> {
    let mut keys = Vec::new();
    let mut by_kid = HashMap::new();
    let mut jwks = Vec::new();
    let mut algs = Vec::new();
    for row in rows.into_iter().filter(|r| publishable(r, now)) {
        let alg = SigningAlg::parse(&row.alg)
            .ok_or_else(|| anyhow!("key {} has unknown alg {}", row.id, row.alg))?;
        let der = master
            .decrypt(&row.private_key, &format!("signing_keys:{}", row.id))
            .with_context(|| format!("decrypting signing key {}", row.id))?;
        let key = Arc::new(SigningKey::from_pkcs8(&row.id, alg, &der)?);
        jwks.push(key.public_jwk_json()?);
        if !algs.contains(&alg) {
            algs.push(alg);
        }
        by_kid.insert(row.id.clone(), key.clone());
        keys.push((row, key));
    }
    let jwks_json = serde_json::to_vec(&serde_json::json!({ "keys": jwks }))?;
    Ok(KeyRing {
        keys,
        by_kid,
        jwks_json: jwks_json.into(),
        algs,
    })
}

fn insert_new_key(
    conn: &mut DbConn,
    master: &MasterKey,
    alg: SigningAlg,
    now: NaiveDateTime,
    active_from: NaiveDateTime,
) -> anyhow::Result<SigningKeyRow> {
    let kid = crypto::random_token(12);
    let der = SigningKey::generate_pkcs8(alg)?;
    let key = SigningKey::from_pkcs8(&kid, alg, &der)?;
    let row = SigningKeyRow {
        id: kid.clone(),
        alg: alg.as_str().to_string(),
        private_key: master.encrypt(&der, &format!("signing_keys:{kid}"))?,
        public_jwk: key.public_jwk_json()?.to_string(),
        created_at: now,
        active_from,
        retired_at: None,
        publish_until: None,
    };
    diesel::insert_into(signing_keys::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Makes sure a key of the configured algorithm exists. On a fresh database the first key
/// signs at once; if only keys of another algorithm exist, a normal rotation is started.
pub fn ensure_key(
    conn: &mut DbConn,
    master: &MasterKey,
    alg: SigningAlg,
    now: NaiveDateTime,
    lead: Duration,
    token_lifetime: Duration,
) -> anyhow::Result<()> {
    let rows = load_rows(conn)?;
    let live: Vec<_> = rows.iter().filter(|r| publishable(r, now)).collect();
    if live.is_empty() {
        insert_new_key(conn, master, alg, now, now)?;
        tracing::info!(alg = alg.as_str(), "generated the first signing key");
    } else if !live.iter().any(|r| r.alg == alg.as_str()) {
        let row = rotate(conn, master, alg, now, lead, token_lifetime)?;
        tracing::warn!(alg = alg.as_str(), kid = %row.id, active_from = %row.active_from,
            "configured signing algorithm changed: new key published, signs from active_from");
    }
    Ok(())
}

/// Rotation: a new key signs from `now + lead`; every older key stays published until the
/// tokens it may still sign have expired.
pub fn rotate(
    conn: &mut DbConn,
    master: &MasterKey,
    alg: SigningAlg,
    now: NaiveDateTime,
    lead: Duration,
    token_lifetime: Duration,
) -> anyhow::Result<SigningKeyRow> {
    let active_from = now + chrono::Duration::from_std(lead)?;
    let keep_until = active_from + chrono::Duration::from_std(token_lifetime)?;
    crate::storage::db::write_tx(conn, |conn| {
        let row = insert_new_key(conn, master, alg, now, active_from)?;
        // Every older key stops signing when the new one starts, and stays published until
        // the tokens it may have signed by then have expired (never longer than before).
        for old in load_rows(conn)?.into_iter().filter(|r| r.id != row.id) {
            let until = old.publish_until.map_or(keep_until, |t| t.min(keep_until));
            let retired = old.retired_at.map_or(active_from, |t| t.min(active_from));
            diesel::update(signing_keys::table.find(&old.id))
                .set((
                    signing_keys::publish_until.eq(until),
                    signing_keys::retired_at.eq(retired),
                ))
                .execute(conn)?;
        }
        Ok(row)
    })
}

/// The shared, refreshable key cache of one node.
pub struct Keys {
    db: Db,
    master: Arc<MasterKey>,
    ring: RwLock<Arc<KeyRing>>,
}

impl Keys {
    pub async fn load(db: Db, master: Arc<MasterKey>, now: NaiveDateTime) -> anyhow::Result<Keys> {
        let ring = Self::read_ring(&db, &master, now).await?;
        Ok(Keys {
            db,
            master,
            ring: RwLock::new(Arc::new(ring)),
        })
    }

    async fn read_ring(
        db: &Db,
        master: &Arc<MasterKey>,
        now: NaiveDateTime,
    ) -> anyhow::Result<KeyRing> {
        let rows = db.run(load_rows).await?;
        let master = master.clone();
        tokio::task::spawn_blocking(move || build_ring(&master, rows, now)).await?
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub async fn reload(&self, now: NaiveDateTime) -> anyhow::Result<()> {
        let ring = Self::read_ring(&self.db, &self.master, now).await?;
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
        Ok(())
    }
}

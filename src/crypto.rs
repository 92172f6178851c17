//! Small, well-named wrappers over aws-lc-rs: random tokens, SHA-256, HMAC, constant-time
//! comparison, and AES-256-GCM encryption at rest under the master key.

use anyhow::{anyhow, bail, Context};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::{digest, hmac, rand};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::config::{RunMode, Settings};

/// `n` random bytes as unpadded base64url: for session tokens, codes, client secrets.
pub fn random_token(n: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(n))
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The system RNG failing means the OS is broken; nothing sensible can continue.
    #[allow(clippy::expect_used)]
    rand::fill(&mut buf).expect("system random number generator failed");
    buf
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// SHA-256 as hex: how bearer secrets (session tokens, client secrets, email links) are
/// stored. They carry full entropy, so a fast hash is enough.
pub fn token_hash(token: &str) -> String {
    hex::encode(sha256(token.as_bytes()))
}

pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The master key: encrypts secrets at rest and derives purpose-bound subkeys. Not `Clone`:
/// one copy per process, shared as `Arc<MasterKey>`, wiped from memory when dropped.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_base64(text: &str) -> anyhow::Result<MasterKey> {
        let raw = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
                .context("master key is not base64")?,
        );
        if raw.len() != 32 {
            bail!("master key must be exactly 32 bytes");
        }
        let mut key = MasterKey { bytes: [0u8; 32] };
        key.bytes.copy_from_slice(&raw);
        Ok(key)
    }

    /// A key made elsewhere (derived, or unwrapped): the same sealing as the master key's.
    pub fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        let mut key = MasterKey { bytes: [0u8; 32] };
        key.bytes.copy_from_slice(bytes);
        key
    }

    pub fn generate() -> MasterKey {
        let mut key = MasterKey { bytes: [0u8; 32] };
        key.bytes.copy_from_slice(&Zeroizing::new(random_bytes(32)));
        key
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.bytes[..])
    }

    /// The configured key; in dev, one generated into `{data_dir}/master.key` when absent.
    pub fn load(settings: &Settings) -> anyhow::Result<MasterKey> {
        if let Some(text) = &settings.master_key {
            return MasterKey::from_base64(text);
        }
        if settings.env == RunMode::Production {
            bail!("production mode needs VERITY_MASTER_KEY");
        }
        let path = settings.data_dir.join("master.key");
        if path.exists() {
            let text = Zeroizing::new(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
            );
            return MasterKey::from_base64(&text);
        }
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
        let key = MasterKey::generate();
        write_private_file(&path, &Zeroizing::new(key.to_base64()))?;
        tracing::warn!(path = %path.display(), "generated a dev master key; production must set VERITY_MASTER_KEY");
        Ok(key)
    }

    /// A subkey for one purpose, so a CSRF key can never be used to decrypt anything.
    pub fn derive(&self, purpose: &str) -> hmac::Key {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &self.bytes),
            purpose.as_bytes(),
        );
        hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref())
    }

    fn aead_key(&self) -> LessSafeKey {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &self.bytes),
            b"verity/aead/v1",
        );
        // 32 bytes of HMAC output is always a valid AES-256 key.
        #[allow(clippy::expect_used)]
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, tag.as_ref()).expect("AES-256 key length"))
    }

    /// AES-256-GCM with a random nonce; `context` is bound as associated data so a value
    /// can't be moved to another row or column.
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> anyhow::Result<String> {
        let nonce_bytes = random_bytes(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes).map_err(|_| anyhow!("nonce"))?;
        let mut buf = plaintext.to_vec();
        self.aead_key()
            .seal_in_place_append_tag(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| anyhow!("encryption failed"))?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&buf);
        Ok(format!("v1.{}", b64url(&out)))
    }

    /// The plaintext is wiped from memory when the returned buffer is dropped.
    pub fn decrypt(&self, sealed: &str, context: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let body = sealed
            .strip_prefix("v1.")
            .ok_or_else(|| anyhow!("unknown ciphertext version"))?;
        let raw = b64url_decode(body).ok_or_else(|| anyhow!("ciphertext is not base64"))?;
        if raw.len() < NONCE_LEN + 16 {
            bail!("ciphertext too short");
        }
        let (nonce_bytes, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| anyhow!("nonce"))?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let plain_len = self
            .aead_key()
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| anyhow!("decryption failed: wrong master key or tampered data"))?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

/// HMAC-SHA256 of `data` under `key`, base64url.
pub fn mac(key: &hmac::Key, data: &[u8]) -> String {
    b64url(hmac::sign(key, data).as_ref())
}

pub fn mac_verify(key: &hmac::Key, data: &[u8], tag_b64: &str) -> bool {
    match b64url_decode(tag_b64) {
        Some(tag) => hmac::verify(key, data, &tag).is_ok(),
        None => false,
    }
}

fn write_private_file(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_binds_context() {
        let key = MasterKey::generate();
        let sealed = key.encrypt(b"secret", "signing_keys:k1").unwrap();
        assert_eq!(
            key.decrypt(&sealed, "signing_keys:k1").unwrap().as_slice(),
            b"secret"
        );
        let refused = "decryption failed: wrong master key or tampered data";
        let err = key.decrypt(&sealed, "signing_keys:k2").unwrap_err();
        assert_eq!(err.to_string(), refused, "bound to its context");
        let err = MasterKey::generate()
            .decrypt(&sealed, "signing_keys:k1")
            .unwrap_err();
        assert_eq!(err.to_string(), refused, "bound to its key");
    }

    #[test]
    fn master_key_wipes_its_bytes() {
        let mut key = MasterKey::from_base64(&MasterKey::generate().to_base64()).unwrap();
        assert_ne!(key.bytes, [0u8; 32]);
        // What drop does (ZeroizeOnDrop calls zeroize).
        key.zeroize();
        assert_eq!(key.bytes, [0u8; 32]);
    }
}

//! Password hashing (Argon2id behind a semaphore sized to the cores) and the strength rules.

use std::sync::Arc;

use anyhow::anyhow;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Security;

pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified against when the account doesn't exist, so both answers take the same time.
    dummy_hash: String,
}

impl Passwords {
    pub fn new(security: &Security, permits: usize) -> anyhow::Result<Passwords> {
        let params = Params::new(
            security.argon2_memory_kib,
            security.argon2_iterations,
            security.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow!("invalid Argon2 parameters: {e}"))?;
        let dummy_hash = hash_with(&params, "verity-dummy-password-for-timing")?;
        Ok(Passwords {
            params,
            permits: Arc::new(Semaphore::new(permits.max(1))),
            dummy_hash,
        })
    }

    /// Hashes on the blocking pool. A burst of logins queues on the semaphore instead of
    /// allocating 19 MiB per concurrent hash.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.clone().acquire_owned().await?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || hash_with(&params, &password)).await?
    }

    /// `None` verifies against a dummy hash and returns false: same work, same timing.
    pub async fn verify(&self, stored: Option<String>, password: String) -> anyhow::Result<bool> {
        let _permit = self.permits.clone().acquire_owned().await?;
        let (stored, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy_hash.clone(), false),
        };
        let ok = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&stored).map_err(|e| anyhow!("bad stored hash: {e}"))?;
            // Parameters come from the stored hash, so old hashes keep verifying after a change.
            Ok::<bool, anyhow::Error>(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await??;
        Ok(ok && real)
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let salt_bytes = crate::crypto::random_bytes(16);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow!("salt: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("hashing failed: {e}"))?
        .to_string())
}

/// Far past the maximum length: refuse before hashing, so a huge body can't tie up Argon2.
pub fn too_long_to_check(security: &Security, password: &str) -> bool {
    password.len() > 4 * security.password_max_length
}

/// Why a password was refused, in words a person can act on. `None` means it's acceptable.
/// NIST 63B: length and a blocklist-style strength check (zxcvbn), no composition rules.
pub fn refusal_reason(security: &Security, password: &str, user_inputs: &[&str]) -> Option<String> {
    let length = password.chars().count();
    if length < security.password_min_length {
        return Some(format!(
            "Your password must be at least {} characters long.",
            security.password_min_length
        ));
    }
    if length > security.password_max_length {
        return Some(format!(
            "Your password can be at most {} characters long.",
            security.password_max_length
        ));
    }
    let entropy = zxcvbn::zxcvbn(password, user_inputs);
    if u8::from(entropy.score()) < security.password_min_score {
        let mut reason = String::from("This password is too easy to guess.");
        if let Some(feedback) = entropy.feedback() {
            if let Some(warning) = feedback.warning() {
                reason.push(' ');
                reason.push_str(&warning.to_string());
                if !reason.ends_with('.') {
                    reason.push('.');
                }
            }
            for suggestion in feedback.suggestions() {
                reason.push(' ');
                reason.push_str(&suggestion.to_string());
            }
        }
        if !reason.contains("Add") {
            reason.push_str(" Try a longer phrase of several unrelated words.");
        }
        return Some(reason);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_short_common_and_personal_passwords() {
        let s = Security::default();
        assert!(refusal_reason(&s, "short", &[])
            .unwrap()
            .contains("at least 8"));
        assert!(refusal_reason(&s, "password123", &[])
            .unwrap()
            .contains("too easy"));
        assert!(
            refusal_reason(&s, "alice.smith@example.com", &["alice.smith@example.com"]).is_some()
        );
        assert!(refusal_reason(&s, &"x".repeat(129), &[])
            .unwrap()
            .contains("at most 128"));
        assert_eq!(
            refusal_reason(&s, "correct horse battery staple", &[]),
            None
        );
    }
}

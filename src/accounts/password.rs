//! Password hashing (Argon2id behind a semaphore sized to the cores, over a fixed pool of
//! memory blocks) and the strength rules.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Security;
use crate::i18n::{FluentValue, Lang};

/// Argon2's working memory (19 MiB at the default parameters), allocated once per permit and
/// reused. Allocating it per hash on many blocking threads let the allocator keep hundreds of
/// megabytes after a burst of sign-ins.
struct MemoryPool {
    blocks_per_hash: usize,
    /// At most one buffer per permit is kept.
    capacity: usize,
    free: Mutex<Vec<Vec<Block>>>,
}

impl MemoryPool {
    fn take(&self, needed: usize) -> Vec<Block> {
        let pooled = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(blocks) if blocks.len() >= needed => blocks,
            // A hash stored under other parameters: a one-off buffer of its own size.
            other => {
                if let Some(blocks) = other {
                    self.give_back(blocks);
                }
                vec![Block::default(); needed.max(self.blocks_per_hash)]
            }
        }
    }

    fn give_back(&self, blocks: Vec<Block>) {
        if blocks.len() != self.blocks_per_hash {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.capacity {
            free.push(blocks);
        }
    }
}

pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    pool: Arc<MemoryPool>,
    /// Verified against when the account doesn't exist, so both answers take the same time.
    dummy_hash: String,
    /// Stored for an account that has no password yet (an unconfirmed sign-up): a hash of
    /// random bytes thrown away at startup, so no password matches it, made once instead of
    /// once per sign-up.
    unusable_hash: String,
    /// Told how long each hash waited for its permit (`/metrics`).
    wait_observer: Option<crate::metrics::WaitObserver>,
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
        let pool = Arc::new(MemoryPool {
            blocks_per_hash: params.block_count(),
            capacity: permits.max(1),
            free: Mutex::new(Vec::new()),
        });
        // Both made with one buffer of their own that is freed again: the pool fills on the
        // first real sign-in, so an idle server doesn't hold Argon2 memory. (One buffer, not
        // two: after the first large free the allocator keeps the next one.)
        let startup_only = MemoryPool {
            blocks_per_hash: params.block_count(),
            capacity: 1,
            free: Mutex::new(Vec::new()),
        };
        let dummy_hash = hash_with(&params, &startup_only, "verity-dummy-password-for-timing")?;
        let unusable_hash = hash_with(
            &params,
            &startup_only,
            &crate::crypto::b64url(&crate::crypto::random_bytes(32)),
        )?;
        Ok(Passwords {
            params,
            permits: Arc::new(Semaphore::new(permits.max(1))),
            pool,
            dummy_hash,
            unusable_hash,
            wait_observer: None,
        })
    }

    /// From now on, every hash and check tells `observer` how long it waited for a permit.
    pub fn observe_waits(mut self, observer: crate::metrics::WaitObserver) -> Passwords {
        self.wait_observer = Some(observer);
        self
    }

    async fn permit(&self) -> anyhow::Result<tokio::sync::OwnedSemaphorePermit> {
        let asked = std::time::Instant::now();
        let permit = self.permits.clone().acquire_owned().await?;
        if let Some(observe) = &self.wait_observer {
            observe(asked.elapsed());
        }
        Ok(permit)
    }

    /// A well-formed hash no password matches (its input was random and is gone).
    pub fn unusable_hash(&self) -> String {
        self.unusable_hash.clone()
    }

    /// Hashes on the blocking pool. A burst of logins queues on the semaphore instead of
    /// allocating 19 MiB per concurrent hash.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let permit = self.permit().await?;
        let (params, pool) = (self.params.clone(), self.pool.clone());
        // The permit moves into the blocking task: if the request is dropped meanwhile, the
        // hash still holds its permit (and its buffer) until it ends.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_with(&params, &pool, &password)
        })
        .await?
    }

    /// `None` verifies against a dummy hash and returns false: same work, same timing.
    pub async fn verify(&self, stored: Option<String>, password: String) -> anyhow::Result<bool> {
        let permit = self.permit().await?;
        let (stored, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy_hash.clone(), false),
        };
        let pool = self.pool.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_with(&pool, &stored, &password)
        })
        .await??;
        Ok(ok && real)
    }

    /// Today's Argon2id parameters, as stored beside a key derived with them.
    pub fn kdf_params(&self) -> String {
        format!(
            "argon2id;m={},t={},p={}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        )
    }

    /// A 32-byte key from a secret (a password, a personal key) and a salt, with the Argon2id
    /// parameters `kdf` names (those of [`Passwords::kdf_params`] when it was made). On the
    /// blocking pool, behind the same permits as password checks.
    pub async fn derive_key(
        &self,
        secret: zeroize::Zeroizing<String>,
        salt: Vec<u8>,
        kdf: &str,
    ) -> anyhow::Result<zeroize::Zeroizing<[u8; 32]>> {
        let params = parse_kdf(kdf)?;
        let permit = self.permit().await?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
            let mut out = zeroize::Zeroizing::new([0u8; 32]);
            let mut blocks = pool.take(params.block_count());
            let result = argon.hash_password_into_with_memory(
                secret.as_bytes(),
                &salt,
                &mut out[..],
                &mut blocks,
            );
            pool.give_back(blocks);
            result.map_err(|e| anyhow!("key derivation failed: {e}"))?;
            Ok(out)
        })
        .await?
    }

    /// Whether a stored hash was made with other parameters than today's (so a successful
    /// sign-in should store a fresh one).
    pub fn is_outdated(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        let same = Algorithm::try_from(parsed.algorithm).ok() == Some(Algorithm::Argon2id)
            && parsed.version == Some(Version::V0x13.into())
            && Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() == self.params.m_cost()
                    && p.t_cost() == self.params.t_cost()
                    && p.p_cost() == self.params.p_cost()
            });
        !same
    }
}

/// `argon2id;m=..,t=..,p=..` back into parameters.
fn parse_kdf(kdf: &str) -> anyhow::Result<Params> {
    let rest = kdf
        .strip_prefix("argon2id;")
        .ok_or_else(|| anyhow!("unknown key derivation: {kdf}"))?;
    let (mut m, mut t, mut p) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| anyhow!("bad key derivation parameters: {kdf}"))?;
        let value: u32 = value
            .parse()
            .map_err(|_| anyhow!("bad key derivation parameters: {kdf}"))?;
        match name {
            "m" => m = Some(value),
            "t" => t = Some(value),
            "p" => p = Some(value),
            _ => return Err(anyhow!("bad key derivation parameters: {kdf}")),
        }
    }
    let (Some(m), Some(t), Some(p)) = (m, t, p) else {
        return Err(anyhow!("bad key derivation parameters: {kdf}"));
    };
    Params::new(m, t, p, Some(32)).map_err(|e| anyhow!("invalid Argon2 parameters: {e}"))
}

fn hash_with(params: &Params, pool: &MemoryPool, password: &str) -> anyhow::Result<String> {
    let salt_bytes = crate::crypto::random_bytes(16);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow!("salt: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let mut blocks = pool.take(params.block_count());
    let result = argon.hash_password_into_with_memory(
        password.as_bytes(),
        &salt_bytes,
        &mut out,
        &mut blocks,
    );
    pool.give_back(blocks);
    result.map_err(|e| anyhow!("hashing failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Parameters, salt and algorithm come from the stored hash, so old hashes keep verifying
/// after a parameter change.
fn verify_with(pool: &MemoryPool, stored: &str, password: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow!("bad stored hash: {e}"))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow!("bad stored hash: {e}"))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| anyhow!("bad stored hash: {e}"))?,
        None => Version::default(),
    };
    let expected = parsed
        .hash
        .ok_or_else(|| anyhow!("bad stored hash: no output"))?;
    let params = Params::try_from(&parsed).map_err(|e| anyhow!("bad stored hash: {e}"))?;
    let salt = parsed
        .salt
        .ok_or_else(|| anyhow!("bad stored hash: no salt"))?;
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow!("bad stored hash: {e}"))?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let mut blocks = pool.take(params.block_count());
    let result = argon.hash_password_into_with_memory(
        password.as_bytes(),
        salt_bytes,
        &mut out,
        &mut blocks,
    );
    pool.give_back(blocks);
    if result.is_err() {
        return Ok(false);
    }
    Ok(crate::crypto::ct_eq(&out, expected.as_bytes()))
}

/// Far past the maximum length: refuse before hashing, so a huge body can't tie up Argon2.
pub fn too_long_to_check(security: &Security, password: &str) -> bool {
    password.len() > 4 * security.password_max_length
}

/// Why a password can't be used. [`PasswordRefusal::in_lang`] puts it in words a person can
/// act on.
#[derive(Clone, Debug, PartialEq)]
pub enum PasswordRefusal {
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// zxcvbn's score is under `password_min_score`; its feedback, when it has some.
    TooEasy {
        warning: Option<zxcvbn::feedback::Warning>,
        suggestions: Vec<zxcvbn::feedback::Suggestion>,
    },
}

impl PasswordRefusal {
    /// The reason in `lang` (keys `password-refusal-*` in `locales/*/console.ftl`).
    pub fn in_lang(&self, lang: Lang) -> String {
        use zxcvbn::feedback::Suggestion;
        match self {
            PasswordRefusal::TooShort { min } => lang.t_args(
                "password-refusal-too-short",
                &[("count", FluentValue::from(*min))],
            ),
            PasswordRefusal::TooLong { max } => lang.t_args(
                "password-refusal-too-long",
                &[("count", FluentValue::from(*max))],
            ),
            PasswordRefusal::TooEasy {
                warning,
                suggestions,
            } => {
                let mut words = vec![lang.t("password-refusal-too-easy")];
                words.extend(warning.map(|w| lang.t(warning_key(w))));
                words.extend(suggestions.iter().map(|s| lang.t(suggestion_key(*s))));
                if !suggestions.contains(&Suggestion::AddAnotherWordOrTwo) {
                    words.push(lang.t("password-refusal-try-a-phrase"));
                }
                words.join(" ")
            }
        }
    }
}

fn warning_key(w: zxcvbn::feedback::Warning) -> &'static str {
    use zxcvbn::feedback::Warning::*;
    match w {
        StraightRowsOfKeysAreEasyToGuess => "password-refusal-warning-key-rows",
        ShortKeyboardPatternsAreEasyToGuess => "password-refusal-warning-keyboard-patterns",
        RepeatsLikeAaaAreEasyToGuess => "password-refusal-warning-repeats",
        RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => "password-refusal-warning-repeated-groups",
        ThisIsATop10Password => "password-refusal-warning-top-10",
        ThisIsATop100Password => "password-refusal-warning-top-100",
        ThisIsACommonPassword => "password-refusal-warning-common",
        ThisIsSimilarToACommonlyUsedPassword => "password-refusal-warning-similar-to-common",
        SequencesLikeAbcAreEasyToGuess => "password-refusal-warning-sequences",
        RecentYearsAreEasyToGuess => "password-refusal-warning-recent-years",
        AWordByItselfIsEasyToGuess => "password-refusal-warning-single-word",
        DatesAreOftenEasyToGuess => "password-refusal-warning-dates",
        NamesAndSurnamesByThemselvesAreEasyToGuess => "password-refusal-warning-names",
        CommonNamesAndSurnamesAreEasyToGuess => "password-refusal-warning-common-names",
    }
}

fn suggestion_key(s: zxcvbn::feedback::Suggestion) -> &'static str {
    use zxcvbn::feedback::Suggestion::*;
    match s {
        UseAFewWordsAvoidCommonPhrases => "password-refusal-suggest-few-words",
        NoNeedForSymbolsDigitsOrUppercaseLetters => "password-refusal-suggest-no-symbols-needed",
        AddAnotherWordOrTwo => "password-refusal-suggest-another-word",
        CapitalizationDoesntHelpVeryMuch => "password-refusal-suggest-capitals",
        AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => "password-refusal-suggest-all-capitals",
        ReversedWordsArentMuchHarderToGuess => "password-refusal-suggest-reversed",
        PredictableSubstitutionsDontHelpVeryMuch => "password-refusal-suggest-substitutions",
        UseALongerKeyboardPatternWithMoreTurns => "password-refusal-suggest-longer-pattern",
        AvoidRepeatedWordsAndCharacters => "password-refusal-suggest-avoid-repeats",
        AvoidSequences => "password-refusal-suggest-avoid-sequences",
        AvoidRecentYears => "password-refusal-suggest-avoid-recent-years",
        AvoidYearsThatAreAssociatedWithYou => "password-refusal-suggest-avoid-your-years",
        AvoidDatesAndYearsThatAreAssociatedWithYou => "password-refusal-suggest-avoid-your-dates",
    }
}

/// Why a password can't be used; `None` means it's acceptable. NIST 63B: length and a
/// blocklist-style strength check (zxcvbn), no composition rules.
pub fn refusal(
    security: &Security,
    password: &str,
    user_inputs: &[&str],
) -> Option<PasswordRefusal> {
    let length = password.chars().count();
    if length < security.password_min_length {
        return Some(PasswordRefusal::TooShort {
            min: security.password_min_length,
        });
    }
    if length > security.password_max_length {
        return Some(PasswordRefusal::TooLong {
            max: security.password_max_length,
        });
    }
    let entropy = zxcvbn::zxcvbn(password, user_inputs);
    if u8::from(entropy.score()) < security.password_min_score {
        let feedback = entropy.feedback();
        return Some(PasswordRefusal::TooEasy {
            warning: feedback.and_then(|f| f.warning()),
            suggestions: feedback
                .map(|f| f.suggestions().to_vec())
                .unwrap_or_default(),
        });
    }
    None
}

/// [`refusal`] in English words, for the flows that don't yet hand the refusal to their page
/// (sign-up, password reset): prefer `refusal` and `PasswordRefusal::in_lang`.
pub fn refusal_reason(security: &Security, password: &str, user_inputs: &[&str]) -> Option<String> {
    refusal(security, password, user_inputs).map(|r| r.in_lang(Lang::En))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light() -> Security {
        Security {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..Security::default()
        }
    }

    #[tokio::test]
    async fn pooled_hashes_verify_and_match_the_reference_implementation() {
        let passwords = Passwords::new(&light(), 2).unwrap();
        let stored = passwords.hash("a long passphrase".into()).await.unwrap();
        assert!(passwords
            .verify(Some(stored.clone()), "a long passphrase".into())
            .await
            .unwrap());
        assert!(!passwords
            .verify(Some(stored.clone()), "another passphrase".into())
            .await
            .unwrap());
        assert!(!passwords
            .verify(None, "a long passphrase".into())
            .await
            .unwrap());
        // The PHC string is the standard one: the crate's own verifier accepts it.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&stored).unwrap();
        assert_eq!(
            Argon2::default().verify_password(b"a long passphrase", &parsed),
            Ok(())
        );
        assert_eq!(
            Argon2::default().verify_password(b"another passphrase", &parsed),
            Err(argon2::password_hash::Error::Password)
        );
        // And a hash made by the crate's own hasher verifies here.
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let other = Argon2::default()
            .hash_password(b"a long passphrase", &salt)
            .unwrap()
            .to_string();
        assert!(passwords
            .verify(Some(other.clone()), "a long passphrase".into())
            .await
            .unwrap());
        assert!(passwords.is_outdated(&other));
        assert!(!passwords.is_outdated(&stored));
        // The pool holds at most one buffer per permit, reused.
        assert!(passwords.pool.free.lock().unwrap().len() <= 2);
    }

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

    #[test]
    fn refusals_are_worded_in_the_language_asked_for() {
        let s = Security::default();
        let es = refusal(&s, "short", &[]).unwrap().in_lang(Lang::Es);
        assert_eq!(es, "Su contraseña debe tener al menos 8 caracteres.");
        let es = refusal(&s, "password123", &[]).unwrap().in_lang(Lang::Es);
        assert!(
            es.starts_with("Esta contraseña es demasiado fácil de adivinar."),
            "{es}"
        );
        assert!(!es.contains("password"), "no English left: {es}");
        let en = refusal(&s, "password123", &[]).unwrap().in_lang(Lang::En);
        assert!(en.contains("This is a very common password."), "{en}");
    }
}

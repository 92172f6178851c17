//! Verity: an OpenID Connect identity provider.
//!
//! Data flows one way: `web` (HTTP: extract, CSRF, session, render) → the flow modules
//! (`accounts`, `oauth`: the rules, plain Rust) → `storage` (database, short-lived store) and
//! `notify` (email, SMS, voice).

pub mod accounts;
pub mod admin;
pub mod assets;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod help;
pub mod i18n;
pub mod keys;
pub mod local_time;
pub mod metrics;
pub mod mfa;
pub mod net;
pub mod notify;
pub mod oauth;
pub mod proofing;
pub mod recovery;
pub mod ssf;
pub mod storage;
pub mod support;
pub mod telemetry;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::accounts::password::Passwords;
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::keys::Keys;
use crate::notify::Notifier;
use crate::oauth::clients::ClientCache;
use crate::storage::db::Db;
use crate::storage::store::{MemoryStore, RedisStore, Store};

/// Everything a flow needs. Cheap to clone; shared by every request.
#[derive(Clone)]
pub struct Ctx {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Clock,
    /// One copy of the key per process (not `Clone`; wiped on drop), shared by reference.
    pub master: Arc<MasterKey>,
    pub keys: Arc<Keys>,
    pub passwords: Arc<Passwords>,
    pub clients: Arc<ClientCache>,
    pub csrf_key: Arc<aws_lc_rs::hmac::Key>,
    /// The discovery document, serialised once; rebuilt when the key set changes.
    pub discovery: Arc<std::sync::RwLock<bytes::Bytes>>,
    /// Every outgoing HTTP request (back-channel logout, jwks_uri, the SMS gateway).
    pub outbound: Arc<net::outbound::Outbound>,
    /// The operator's logo (`site_logo`), read once at start.
    pub site_logo: Option<Arc<assets::SiteLogo>>,
    /// The identity-proofing checks as `[proofing]` configures them.
    pub vendors: Arc<proofing::vendors::Vendors>,
    /// The WebAuthn relying party; None when the issuer is an IP address (browsers refuse
    /// WebAuthn there), and keys are then not offered.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// This server's Prometheus figures (`/metrics`); its own, never shared with another `Ctx`.
    pub metrics: Arc<metrics::Metrics>,
}

impl Ctx {
    /// Connects the database (running migrations), the store and the notifier, and loads or
    /// creates the signing keys.
    pub async fn build(settings: Settings) -> anyhow::Result<Ctx> {
        Self::build_with_clock(settings, Clock::default()).await
    }

    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Ctx> {
        // First: a wrong logo path is a typo to fix before anything else is set up.
        let site_logo = match &settings.site_logo {
            Some(path) => Some(Arc::new(assets::SiteLogo::load(path)?)),
            None => None,
        };
        let master = Arc::new(MasterKey::load(&settings)?);
        let metrics = Arc::new(metrics::Metrics::new(settings.signing_alg.as_str()));
        let mut db = Db::connect_with(
            &settings.database_url(),
            settings.db_pool_size,
            Some(settings.db_pool_min_idle),
            Duration::from_millis(settings.db_acquire_timeout_ms),
            Some(Duration::from_millis(settings.db_work_timeout_ms)),
        )?;
        db.observe_checkouts(metrics.db_checkout_observer());
        let migrator = db.clone();
        let applied = tokio::task::spawn_blocking(move || migrator.migrate()).await??;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
        // Both kinds are counted: commands per request are a capacity figure either way.
        let store: Arc<dyn Store> = Arc::new(metrics::CountingStore::new(
            match &settings.redis_url {
                Some(url) => Arc::new(
                    RedisStore::connect(
                        url,
                        &settings.redis_prefix,
                        clock.clone(),
                        Duration::from_millis(settings.redis_timeout_ms),
                    )
                    .await?,
                ),
                None => Arc::new(MemoryStore::new(clock.clone())),
            },
            metrics.clone(),
        ));
        let outbound = Arc::new(net::outbound::Outbound::new(Arc::new(settings.clone()))?);
        let notifier: Arc<dyn Notifier> = notify::build_notifier_with(
            &settings,
            db.clone(),
            clock.clone(),
            outbound.operator().clone(),
        )?;
        let sec = &settings.security;
        let (m, alg, now) = (master.clone(), settings.signing_alg, clock.now());
        let lead = Duration::from_secs(sec.key_publish_lead_secs);
        let lifetime = token_lifetime(&settings);
        db.run(move |c| keys::ensure_key(c, &m, alg, now, lead, lifetime))
            .await
            .context("preparing signing keys")?;
        let keys = Arc::new(Keys::load(db.clone(), master.clone(), clock.now()).await?);
        let passwords = Arc::new(
            Passwords::new(sec, settings.argon2_permits())?
                .observe_waits(metrics.argon2_wait_observer()),
        );
        let discovery = oauth::discovery::build(&settings, &keys.ring().algs)?;
        let vendors = Arc::new(proofing::vendors::build(
            &settings.proofing,
            outbound.operator().clone(),
        )?);
        let webauthn = mfa::webauthn::relying_party(&settings)
            .context("setting up security keys and passkeys")?
            .map(Arc::new);
        if webauthn.is_none() {
            tracing::warn!(
                issuer = %settings.issuer,
                "the issuer is an IP address: security keys and passkeys are off (set webauthn.rp_id, or use a host name)"
            );
        }
        Ok(Ctx {
            clients: Arc::new(ClientCache::new(db.clone(), Duration::from_secs(30))),
            csrf_key: Arc::new(master.derive("verity/csrf/v1")),
            settings: Arc::new(settings),
            db,
            store,
            notifier,
            clock,
            master,
            keys,
            passwords,
            discovery: Arc::new(std::sync::RwLock::new(discovery)),
            outbound,
            site_logo,
            vendors,
            webauthn,
            metrics,
        })
    }

    /// Reloads signing keys from the database (rotation by the CLI or another node).
    pub async fn reload_keys(&self) -> anyhow::Result<()> {
        self.keys.reload(self.clock.now()).await?;
        let doc = oauth::discovery::build(&self.settings, &self.keys.ring().algs)?;
        *self.discovery.write().unwrap_or_else(|e| e.into_inner()) = doc;
        Ok(())
    }

    /// Rotates the signing key; the new one signs after `lead`.
    pub async fn rotate_keys(&self, lead: Duration) -> anyhow::Result<keys::SigningKeyRow> {
        let (m, alg, now) = (
            self.master.clone(),
            self.settings.signing_alg,
            self.clock.now(),
        );
        let lifetime = token_lifetime(&self.settings);
        let row = self
            .db
            .run(move |c| keys::rotate(c, &m, alg, now, lead, lifetime))
            .await?;
        self.reload_keys().await?;
        Ok(row)
    }
}

/// How long a signature may still need verifying after the key stops signing.
pub fn token_lifetime(settings: &Settings) -> Duration {
    let s = &settings.security;
    Duration::from_secs(s.id_token_ttl_secs.max(s.access_token_ttl_secs) + 300)
}

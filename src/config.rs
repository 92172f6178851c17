//! Every setting Verity reads, with its default. Every security number lives in [`Security`].
//!
//! Precedence: built-in defaults, then an optional TOML file (`verity.toml` in the working
//! directory, or the file named by `VERITY_CONFIG`), then `VERITY_*` environment variables.
//! Nested keys use a double underscore: `VERITY_SECURITY__SESSION_IDLE_SECS=900`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    Dev,
    Production,
}

/// The algorithm new ID-token and access-token signing keys use.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(SigningAlg::RS256),
            "ES256" => Some(SigningAlg::ES256),
            "EdDSA" => Some(SigningAlg::EdDSA),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    XForwardedFor,
    Forwarded,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Which requests get an access log line. Request counts and latencies are in `/metrics`
/// either way; the line is for reading one request after the fact.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AccessLog {
    /// Every request, at `info` (5xx at `warn`). Costs a good share of a cheap request.
    All,
    /// Only answers with a 5xx status, at `warn`.
    Errors,
    Off,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `dev` or `production`. Production refuses the dev outbox page, needs an https issuer
    /// and an explicit master key.
    pub env: RunMode,
    /// Address and port to listen on.
    pub listen: String,
    /// The issuer URL relying parties see. No trailing slash.
    pub issuer: String,
    /// Where the default SQLite file and the dev master key live.
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://…`. Defaults to `sqlite://{data_dir}/verity.db`.
    pub database_url: Option<String>,
    /// `redis://…`, `redis+sentinel://host:port[,host:port…]/master-name` to follow a
    /// Sentinel-managed primary through failovers, or `redis+cluster://host:port[,…]` for a
    /// Redis Cluster. Without it, short-lived state lives in process memory (one node only).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments can share one Redis.
    pub redis_prefix: String,
    /// 32 bytes, base64. Encrypts signing keys at rest and derives the CSRF and cookie keys.
    pub master_key: Option<String>,
    pub signing_alg: SigningAlg,
    pub log_format: LogFormat,
    /// Connections in the database pool.
    pub db_pool_size: u32,
    /// Connections kept open while idle (at most `db_pool_size`). 0 opens connections only on
    /// demand (the test harness uses it, so pools of finished tests stay quiet).
    pub db_pool_min_idle: u32,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// How long `/readyz` waits for each dependency before calling it down, in milliseconds
    /// (100–10000). A probe must hear "not ready" promptly, not wait out an outage. `/metrics`
    /// gives its database and store figures the same time.
    pub readiness_timeout_ms: u64,
    /// How long a request waits for a database connection before the database counts as
    /// unavailable and the request is answered 503, in milliseconds (100–30000).
    pub db_acquire_timeout_ms: u64,
    /// How long one unit of database work may take once it has its connection, in
    /// milliseconds (100–60000). A request whose work takes longer (a database that stopped
    /// answering on an open connection) is answered 503 at this time; on PostgreSQL it is also
    /// each connection's `statement_timeout`, so the server cancels the statement.
    pub db_work_timeout_ms: u64,
    /// How long a request waits for any one Redis command (and for a connection to Redis)
    /// before the store counts as unavailable, in milliseconds (100–30000). A command on a
    /// connection that broke is tried once more on a fresh one, within the same time.
    pub redis_timeout_ms: u64,
    /// The `Retry-After` (seconds) of a 503 answered during an outage (1–3600).
    pub unavailable_retry_after_secs: u64,
    /// Access log lines: `all`, `errors` (5xx only, the default) or `off`. Counts and
    /// latencies per route are in `/metrics`; the query string is never logged.
    pub access_log: AccessLog,
    /// Take the client IP from the forwarding header (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The proxies whose forwarding entries are believed (CIDRs). The client IP is the
    /// rightmost entry that isn't one of them; a request that doesn't come from one of them
    /// is judged by its own address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Which header the proxy sets: `x-forwarded-for` or `forwarded` (RFC 7239). Only that
    /// one is read, so a client can't slip in the other.
    pub forwarded_header: ForwardedHeader,
    /// Product name shown on pages and in messages.
    pub site_name: String,
    /// The operator's logo in the page header: a `.png`, `.svg` or `.jpg` file (at most 1 MiB),
    /// read once at start. Without it the header shows the site name alone.
    pub site_logo: Option<PathBuf>,
    /// Show the U.S. Web Design System's "An official website of the United States government"
    /// banner on every page. Only for deployments run by a U.S. government agency.
    pub official_banner: bool,
    /// Region (ISO 3166 code) assumed for phone numbers typed without a leading `+`.
    pub default_phone_region: String,
    /// The IANA time zone pages show times in until a person's browser has reported theirs
    /// (and for people whose browser doesn't run scripts).
    pub default_time_zone: String,
    /// Dynamic Client Registration (RFC 7591) at `POST /register`. Off by default; when on,
    /// `registration_initial_access_token` must be set.
    pub dynamic_registration: bool,
    /// The initial access token a relying party must send (`Authorization: Bearer …`) to
    /// register itself. At least 32 characters; required when `dynamic_registration` is on.
    pub registration_initial_access_token: Option<String>,
    pub security: Security,
    /// How notices are sent: email by SMTP or to the dev outbox, SMS and voice by a gateway or
    /// to the dev outbox.
    pub notify: NotifySettings,
    /// Support tickets and the management API (`/admin/api/v1`).
    pub support: SupportSettings,
    /// Identity verification (IAL2): vendors, limits, retention.
    pub proofing: ProofingSettings,
    /// Verification with an agent by video (trusted referee): availability, limits, links.
    pub referee: RefereeSettings,
    /// Security keys and passkeys (WebAuthn).
    pub webauthn: WebauthnSettings,
    /// Shared Signals (SSF 1.0 transmitter): event streams to relying parties.
    pub ssf: SsfSettings,
    /// Prometheus metrics at `/metrics`.
    pub metrics: MetricsSettings,
    /// OpenTelemetry export of request spans (OTLP).
    pub tracing: TracingSettings,
}

/// Every security number of DESIGN.md, with its default.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Security {
    pub password_min_length: usize,
    pub password_max_length: usize,
    /// Minimum zxcvbn score (0–4).
    pub password_min_score: u8,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Concurrent Argon2 hashes; 0 means one per CPU core.
    pub argon2_max_concurrent: usize,
    /// Failures allowed per (account, IP) before backoff starts.
    pub password_failures_per_ip: u32,
    /// First backoff after the per-(account, IP) allowance; doubles on each further failure.
    pub password_backoff_base_secs: u64,
    /// Longest single backoff.
    pub password_backoff_max_secs: u64,
    /// Consecutive failures on one account that lock it for `account_lock_secs`.
    pub password_failures_account_lock: u32,
    pub account_lock_secs: u64,
    /// Consecutive failures after which the account stays locked until the owner resets it.
    pub password_failures_hard_limit: u32,
    /// How long failure counters are kept since the last failure.
    pub password_failure_memory_secs: u64,
    /// A wait or lock taken before a password is checked outlasts its own length by this much
    /// until the check's verdict sets the exact length, so it can't expire while its holder is
    /// still queued for Argon2.
    pub password_check_in_flight_secs: u64,
    pub otp_digits: u32,
    pub otp_ttl_secs: u64,
    pub otp_sends_per_short_window: u32,
    pub otp_short_window_secs: u64,
    pub otp_sends_per_long_window: u32,
    pub otp_long_window_secs: u64,
    pub mfa_max_failures: u32,
    pub mfa_lock_secs: u64,
    pub mfa_warn_remaining: u32,
    pub totp_step_secs: u64,
    pub totp_skew_steps: u8,
    pub backup_code_count: usize,
    pub backup_code_length: usize,
    /// Step-up (reauthentication) window for sensitive changes.
    pub step_up_window_secs: u64,
    pub session_idle_secs: u64,
    pub session_absolute_secs: u64,
    pub remember_browser_days: u64,
    /// A sign-in from a browser the account knows still gets a new-sign-in alert when it comes
    /// from a network the account hasn't signed in from for this many days…
    pub new_network_days: u64,
    /// …where a network is the address's first this many bits for IPv4 (24: a /24)…
    pub new_network_ipv4_prefix: u8,
    /// …and for IPv6 (48: a /48, what one site is usually given).
    pub new_network_ipv6_prefix: u8,
    pub auth_code_ttl_secs: u64,
    pub id_token_ttl_secs: u64,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u64,
    /// Random bytes in a generated client secret (≥ 32 = 256 bits).
    pub client_secret_bytes: usize,
    pub max_phones_per_account: u32,
    /// Authenticator apps per account.
    pub max_authenticator_apps: u32,
    /// A number already confirmed on more than this many other accounts is refused.
    pub max_accounts_per_phone: u32,
    /// Ask "is this still your number?" when a phone wasn't confirmed or reviewed for this long.
    pub phone_review_days: u64,
    pub sim_swap_cooldown_hours: u64,
    /// Lifetime of an email confirmation link.
    pub email_confirmation_ttl_secs: u64,
    /// How long a relying party's authorization request waits for the user to sign in and consent.
    pub authorization_request_ttl_secs: u64,
    /// How long the browser keeps the way back to the app of a sign-in in progress, so a
    /// sign-in lost to a store restart (or left past its lifetime) can start again there.
    pub sign_in_restart_secs: u64,
    /// A rotated-in signing key is published this long before it signs anything.
    pub key_publish_lead_secs: u64,
    /// How often each node reloads signing keys from the database.
    pub key_refresh_secs: u64,
    /// Sign-up attempts per IP per hour.
    pub signups_per_ip_per_hour: u32,
    /// Email addresses one account may add per day (each add mails a confirmation link).
    pub email_adds_per_account_per_day: u32,
    /// Times one address may be added (by any accounts) per day: caps mail to one mailbox.
    pub email_adds_per_address_per_day: u32,
    /// Lifetime of a password-reset link (single use).
    pub password_reset_ttl_secs: u64,
    /// Password-reset requests per hour, per account and per IP.
    pub password_resets_per_hour: u32,
    /// Back-channel logout: first retry delay (doubles per attempt, capped at an hour).
    pub backchannel_retry_base_secs: u64,
    /// Back-channel logout: attempts before a delivery is given up.
    pub backchannel_max_attempts: u32,
    /// How often each node looks for due back-channel deliveries.
    pub backchannel_poll_ms: u64,
    /// Back-channel logout: how long a node holds a delivery it claimed before another node may
    /// try it (a node that died mid-send); longer than one call may take.
    pub backchannel_lease_secs: u64,
    /// Outgoing HTTP to relying parties (back-channel logout, `jwks_uri`): whole-request
    /// timeout.
    pub outbound_timeout_secs: u64,
    /// Outgoing HTTP: time allowed to open the connection (every outgoing client).
    pub outbound_connect_timeout_secs: u64,
    /// Largest JWK set read from a client's `jwks_uri`; a longer answer is refused.
    pub jwks_max_bytes: usize,
    /// Lifetime of a pushed authorization request's request_uri (single use).
    pub par_ttl_secs: u64,
    /// Require PAR from every client (it can also be required per client).
    pub require_par: bool,
    /// DPoP proofs must be issued within this many seconds of now.
    pub dpop_iat_window_secs: u64,
    /// Demand a server-provided nonce in DPoP proofs (`use_dpop_nonce`).
    pub dpop_require_nonce: bool,
    /// Account reset (every second factor lost): the wait between the request and the link
    /// that lets the person remove all sign-in methods. Signing in normally cancels it.
    pub account_reset_wait_secs: u64,
    /// Lifetime of the emailed links of an account reset (to confirm the request, and the
    /// one sent when the wait is over).
    pub account_reset_link_ttl_secs: u64,
    /// How often each node looks for account resets whose wait is over.
    pub account_reset_poll_ms: u64,
    /// "Contact support" tickets per hour, per IP and per contact email.
    pub support_tickets_per_hour: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            env: RunMode::Dev,
            listen: "127.0.0.1:8080".into(),
            issuer: "http://localhost:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "verity".into(),
            master_key: None,
            signing_alg: SigningAlg::RS256,
            log_format: LogFormat::Text,
            db_pool_size: 8,
            db_pool_min_idle: 8,
            workers: 0,
            readiness_timeout_ms: 1000,
            db_acquire_timeout_ms: 3000,
            db_work_timeout_ms: 5000,
            redis_timeout_ms: 2000,
            unavailable_retry_after_secs: 30,
            access_log: AccessLog::Errors,
            trust_forwarded_for: false,
            trusted_proxies: vec![
                ipnet::IpNet::from(std::net::IpAddr::from([127, 0, 0, 1])),
                ipnet::IpNet::from(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
            forwarded_header: ForwardedHeader::XForwardedFor,
            site_name: "Verity".into(),
            site_logo: None,
            official_banner: false,
            default_phone_region: "US".into(),
            default_time_zone: "America/New_York".into(),
            dynamic_registration: false,
            registration_initial_access_token: None,
            security: Security::default(),
            notify: NotifySettings::default(),
            support: SupportSettings::default(),
            proofing: ProofingSettings::default(),
            referee: RefereeSettings::default(),
            webauthn: WebauthnSettings::default(),
            ssf: SsfSettings::default(),
            metrics: MetricsSettings::default(),
            tracing: TracingSettings::default(),
        }
    }
}

impl Default for Security {
    fn default() -> Self {
        Security {
            password_min_length: 8,
            password_max_length: 128,
            password_min_score: 3,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            argon2_max_concurrent: 0,
            password_failures_per_ip: 5,
            password_backoff_base_secs: 60,
            password_backoff_max_secs: 3600,
            password_failures_account_lock: 20,
            account_lock_secs: 900,
            password_failures_hard_limit: 100,
            password_failure_memory_secs: 86400,
            password_check_in_flight_secs: 300,
            otp_digits: 6,
            otp_ttl_secs: 600,
            otp_sends_per_short_window: 2,
            otp_short_window_secs: 10,
            otp_sends_per_long_window: 10,
            otp_long_window_secs: 300,
            mfa_max_failures: 10,
            mfa_lock_secs: 600,
            mfa_warn_remaining: 3,
            totp_step_secs: 30,
            totp_skew_steps: 1,
            backup_code_count: 10,
            backup_code_length: 12,
            step_up_window_secs: 900,
            session_idle_secs: 1800,
            session_absolute_secs: 43200,
            remember_browser_days: 30,
            new_network_days: 90,
            new_network_ipv4_prefix: 24,
            new_network_ipv6_prefix: 48,
            auth_code_ttl_secs: 60,
            id_token_ttl_secs: 600,
            access_token_ttl_secs: 600,
            refresh_token_ttl_days: 30,
            client_secret_bytes: 32,
            max_phones_per_account: 5,
            max_authenticator_apps: 2,
            max_accounts_per_phone: 2,
            phone_review_days: 365,
            sim_swap_cooldown_hours: 72,
            email_confirmation_ttl_secs: 86400,
            authorization_request_ttl_secs: 1800,
            sign_in_restart_secs: 7200,
            key_publish_lead_secs: 3600,
            key_refresh_secs: 60,
            signups_per_ip_per_hour: 20,
            email_adds_per_account_per_day: 10,
            email_adds_per_address_per_day: 3,
            password_reset_ttl_secs: 1800,
            password_resets_per_hour: 20,
            backchannel_retry_base_secs: 5,
            backchannel_max_attempts: 12,
            backchannel_poll_ms: 1000,
            backchannel_lease_secs: 120,
            outbound_timeout_secs: 10,
            outbound_connect_timeout_secs: 5,
            jwks_max_bytes: 64 * 1024,
            par_ttl_secs: 60,
            require_par: false,
            dpop_iat_window_secs: 60,
            dpop_require_nonce: false,
            account_reset_wait_secs: 86400,
            account_reset_link_ttl_secs: 86400,
            account_reset_poll_ms: 5000,
            support_tickets_per_hour: 5,
        }
    }
}

impl Settings {
    /// Defaults, then the TOML file, then `VERITY_*` variables from `vars`.
    pub fn load_from(vars: impl Iterator<Item = (String, String)>) -> anyhow::Result<Settings> {
        let vars: Vec<(String, String)> = vars.collect();
        let file = vars
            .iter()
            .find(|(k, _)| k == "VERITY_CONFIG")
            .map(|(_, v)| PathBuf::from(v));
        let mut table = match file {
            Some(path) => read_table(&path)?,
            None if std::path::Path::new("verity.toml").exists() => {
                read_table(std::path::Path::new("verity.toml"))?
            }
            None => toml::Table::new(),
        };
        let defaults =
            toml::Value::try_from(Settings::default()).context("serialising defaults")?;
        for (key, value) in &vars {
            let Some(name) = key.strip_prefix("VERITY_") else {
                continue;
            };
            // Not settings: the config file path, the log filter, and the test harness's URLs.
            if name == "CONFIG" || name == "LOG" || name.starts_with("TEST_") {
                continue;
            }
            let path: Vec<String> = if name == "METRICS_TOKEN" {
                // The usual name of a scrape token, besides VERITY_METRICS__BEARER_TOKEN.
                vec!["metrics".into(), "bearer_token".into()]
            } else {
                name.split("__").map(|p| p.to_ascii_lowercase()).collect()
            };
            insert_path(
                &mut table,
                &path,
                env_value(value, lookup(&defaults, &path)),
            );
        }
        let settings: Settings = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration (check verity.toml and VERITY_* variables)")?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn load() -> anyhow::Result<Settings> {
        Self::load_from(std::env::vars())
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let issuer = url::Url::parse(&self.issuer).context("issuer is not a URL")?;
        if !(100..=10_000).contains(&self.readiness_timeout_ms) {
            bail!("readiness_timeout_ms must be between 100 and 10000");
        }
        if !(100..=30_000).contains(&self.db_acquire_timeout_ms) {
            bail!("db_acquire_timeout_ms must be between 100 and 30000");
        }
        if self.redis_prefix.contains(['{', '}']) {
            // A brace would become the keys' Redis Cluster hash tag and split keys that must
            // share one slot.
            bail!("redis_prefix must not contain '{{' or '}}'");
        }
        if !(100..=60_000).contains(&self.db_work_timeout_ms) {
            bail!("db_work_timeout_ms must be between 100 and 60000");
        }
        if !(100..=30_000).contains(&self.redis_timeout_ms) {
            bail!("redis_timeout_ms must be between 100 and 30000");
        }
        if !(1..=3600).contains(&self.unavailable_retry_after_secs) {
            bail!("unavailable_retry_after_secs must be between 1 and 3600");
        }
        if self.issuer.ends_with('/') {
            bail!("issuer must not end with '/'");
        }
        if self.env == RunMode::Production {
            if issuer.scheme() != "https" {
                bail!("production mode needs an https issuer (VERITY_ISSUER)");
            }
            if self.master_key.is_none() {
                bail!("production mode needs VERITY_MASTER_KEY (32 random bytes, base64)");
            }
        }
        if let Some(logo) = &self.site_logo {
            crate::assets::logo_extension(logo)?;
        }
        if self.dynamic_registration {
            match &self.registration_initial_access_token {
                None => bail!(
                    "dynamic_registration needs registration_initial_access_token \
                     (VERITY_REGISTRATION_INITIAL_ACCESS_TOKEN)"
                ),
                Some(t) if t.chars().count() < 32 => {
                    bail!("registration_initial_access_token must be at least 32 characters")
                }
                Some(_) => {}
            }
        }
        if crate::local_time::parse_zone(&self.default_time_zone).is_none() {
            bail!(
                "default_time_zone must be an IANA time zone such as America/Chicago (VERITY_DEFAULT_TIME_ZONE)"
            );
        }
        let s = &self.security;
        if s.client_secret_bytes < 32 {
            bail!("security.client_secret_bytes must be at least 32 (256 bits)");
        }
        if s.password_min_length < 8 || s.password_max_length < s.password_min_length {
            bail!("password length limits are inconsistent (minimum is at least 8)");
        }
        if !argon2_meets_owasp_floor(s.argon2_memory_kib, s.argon2_iterations) {
            bail!(
                "security.argon2_memory_kib / argon2_iterations are below the OWASP minimum for \
                 Argon2id (m=47104 t=1, m=19456 t=2, m=12288 t=3, m=9216 t=4 or m=7168 t=5)"
            );
        }
        if s.argon2_parallelism == 0 {
            bail!("security.argon2_parallelism must be at least 1");
        }
        if !(61..=3600).contains(&s.backchannel_lease_secs) {
            bail!("security.backchannel_lease_secs must be between 61 and 3600");
        }
        if !(1..=60).contains(&s.outbound_timeout_secs)
            || !(1..=60).contains(&s.outbound_connect_timeout_secs)
        {
            bail!(
                "security.outbound_timeout_secs and outbound_connect_timeout_secs must be 1 to 60"
            );
        }
        if !(1024..=1024 * 1024).contains(&s.jwks_max_bytes) {
            bail!("security.jwks_max_bytes must be between 1024 and 1048576");
        }
        if s.email_adds_per_account_per_day == 0 || s.email_adds_per_address_per_day == 0 {
            bail!(
                "security.email_adds_per_account_per_day and email_adds_per_address_per_day must be \
                 at least 1"
            );
        }
        if !(8..=32).contains(&s.new_network_ipv4_prefix)
            || !(16..=128).contains(&s.new_network_ipv6_prefix)
            || !(1..=3650).contains(&s.new_network_days)
        {
            bail!(
                "security.new_network_ipv4_prefix must be 8 to 32, new_network_ipv6_prefix 16 to \
                 128 and new_network_days 1 to 3650"
            );
        }
        if s.password_failures_hard_limit > 100 {
            bail!("security.password_failures_hard_limit may not exceed 100 (NIST 63B)");
        }
        self.notify.validate()?;
        self.proofing.validate(self.env)?;
        self.referee.validate()?;
        self.webauthn.validate()?;
        self.ssf.validate()?;
        self.metrics.validate(&self.listen)?;
        self.tracing.validate()?;
        Ok(())
    }

    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("verity.db").display()),
        }
    }

    /// Name of the browser-session cookie: `__Host-` prefixed when served over https.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.is_https() {
            "__Host-verity_session"
        } else {
            "verity_session"
        }
    }

    /// Name of the long-lived browser-id cookie (binds CSRF tokens before sign-in).
    pub fn browser_cookie_name(&self) -> &'static str {
        if self.is_https() {
            "__Host-verity_browser"
        } else {
            "verity_browser"
        }
    }

    pub fn argon2_permits(&self) -> usize {
        match self.security.argon2_max_concurrent {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        }
    }
}

fn read_table(path: &std::path::Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

/// The default's value at a dotted path, to know what type an env value should have.
fn lookup<'a>(root: &'a toml::Value, path: &[String]) -> Option<&'a toml::Value> {
    path.iter().try_fold(root, |v, key| v.get(key.as_str()))
}

/// Env values are typed by the setting's default: numbers and booleans are parsed, strings
/// (and unset optional strings) stay strings even when they look like numbers
/// (`VERITY_NOTIFY__SMTP_PASSWORD=123456`, phone numbers).
fn env_value(raw: &str, default: Option<&toml::Value>) -> toml::Value {
    match default {
        Some(toml::Value::Integer(_)) => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(raw.to_string())),
        Some(toml::Value::Float(_)) => raw
            .trim()
            .parse::<f64>()
            .map(toml::Value::Float)
            .unwrap_or_else(|_| toml::Value::String(raw.to_string())),
        Some(toml::Value::Boolean(_)) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
            "false" | "0" | "no" | "off" => toml::Value::Boolean(false),
            _ => toml::Value::String(raw.to_string()),
        },
        Some(toml::Value::Array(_)) => toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        _ => toml::Value::String(raw.to_string()),
    }
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                insert_path(t, rest, value);
            }
        }
    }
}

/// Where email goes: the dev outbox table, or an SMTP relay.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailBackend {
    Outbox,
    Smtp,
}

/// Where SMS and voice calls go: the dev outbox table, or a Twilio-style HTTP gateway.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsBackend {
    Outbox,
    Gateway,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption at all: only to a relay on this machine (localhost), e.g. in tests.
    None,
}

/// `[support]`: support tickets and the management API.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupportSettings {
    /// The categories a "Contact support" ticket can have.
    pub ticket_categories: Vec<String>,
    /// Longest ticket message or reply, in characters.
    pub message_max_chars: usize,
    /// How a support agent may have checked a person's identity before a support-assisted
    /// phone change (the agent must name one of these).
    pub identity_checks: Vec<String>,
    /// How long the management API remembers an `Idempotency-Key`.
    pub idempotency_ttl_secs: u64,
    /// Page size of management-API lists when the caller gives none, and the most it may ask.
    pub page_size_default: u32,
    pub page_size_max: u32,
    /// Service notices: users handled per batch, and how often each node looks for work.
    pub notice_batch_size: u32,
    pub notice_poll_ms: u64,
    /// Support's phone number as people should dial it. Shown on the help centre, the support
    /// form and every lock or error page; empty: not shown.
    pub phone: String,
    /// Opening hours, per language (`[support.hours] en = "…", es = "…"`); a language
    /// without an entry shows the English one.
    pub hours: std::collections::BTreeMap<String, String>,
    /// A current status message (say, a known outage), per language like `hours`.
    pub status_message: std::collections::BTreeMap<String, String>,
}

impl Default for SupportSettings {
    fn default() -> Self {
        SupportSettings {
            ticket_categories: ["sign_in", "lost_phone", "account_security", "other"]
                .map(String::from)
                .to_vec(),
            message_max_chars: 5000,
            identity_checks: ["knowledge_questions", "document_video_call", "in_person"]
                .map(String::from)
                .to_vec(),
            idempotency_ttl_secs: 86400,
            page_size_default: 50,
            page_size_max: 200,
            notice_batch_size: 100,
            notice_poll_ms: 2000,
            phone: String::new(),
            hours: Default::default(),
            status_message: Default::default(),
        }
    }
}

/// Which implementation one proofing check uses.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum VendorKind {
    /// Deterministic stand-in: "magic" inputs choose the branch (README, "Mock vendors").
    Mock,
    /// The JSON contract to a vendor gateway (README, "Vendor gateway contract").
    Http,
}

/// `[webauthn]`: security keys and passkeys. Env: `VERITY_WEBAUTHN__MAX_KEYS_PER_ACCOUNT=5`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebauthnSettings {
    /// The relying party id keys are bound to. Defaults to the issuer's host, which must then
    /// be a domain name (browsers refuse an IP address; `localhost` works in dev).
    pub rp_id: Option<String>,
    /// How long a registration or sign-in ceremony may take, from the options to the answer.
    /// Its state is taken once, so an answer can't be replayed.
    pub ceremony_ttl_secs: u64,
    /// Security keys and passkeys one account may hold.
    pub max_keys_per_account: u32,
    /// Passkey sign-ins one address (IPv6: its /64) may start per minute: each keeps a ceremony
    /// in the store until it expires, and no account is known yet to limit instead.
    pub sign_in_ceremonies_per_ip_per_minute: u32,
    /// When not empty, only authenticators whose AAGUID is listed may be registered. Without
    /// attestation the AAGUID is what the authenticator says of itself (see the README).
    pub allowed_aaguids: Vec<uuid::Uuid>,
}

impl Default for WebauthnSettings {
    fn default() -> Self {
        WebauthnSettings {
            rp_id: None,
            ceremony_ttl_secs: 300,
            max_keys_per_account: 10,
            sign_in_ceremonies_per_ip_per_minute: 300,
            allowed_aaguids: Vec::new(),
        }
    }
}

impl WebauthnSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(30..=900).contains(&self.ceremony_ttl_secs) {
            bail!("webauthn.ceremony_ttl_secs must be between 30 and 900");
        }
        if !(1..=50).contains(&self.max_keys_per_account) {
            bail!("webauthn.max_keys_per_account must be between 1 and 50");
        }
        if self.sign_in_ceremonies_per_ip_per_minute == 0 {
            bail!("webauthn.sign_in_ceremonies_per_ip_per_minute must be at least 1");
        }
        Ok(())
    }
}

/// `[tracing]`: request spans exported to an OpenTelemetry collector over OTLP/HTTP
/// (protobuf). Env: `VERITY_TRACING__OTLP_ENDPOINT=http://127.0.0.1:4318`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingSettings {
    /// The collector's OTLP/HTTP address (`http://collector:4318`; `/v1/traces` is added to an
    /// address without a path). Unset: nothing is exported; log lines still carry a trace id.
    pub otlp_endpoint: Option<String>,
    /// The share of new traces exported (0.0–1.0). A request whose `traceparent` says whether
    /// its trace is sampled follows the caller's choice.
    pub sample_ratio: f64,
    /// The spans' `service.name`.
    pub service_name: String,
    /// How long one export may take before it is dropped, in milliseconds (100–30000).
    pub export_timeout_ms: u64,
    /// Continue the caller's trace from its `traceparent` (its trace id, and its choice to
    /// sample). Only behind a gateway that sets or cleans the header: anyone on the internet can
    /// send one. Off: each request starts its own trace, linked to the caller's.
    pub trust_traceparent: bool,
}

impl Default for TracingSettings {
    fn default() -> Self {
        TracingSettings {
            otlp_endpoint: None,
            sample_ratio: 1.0,
            service_name: "verity".into(),
            export_timeout_ms: 5000,
            trust_traceparent: false,
        }
    }
}

impl TracingSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(endpoint) = &self.otlp_endpoint {
            let url = url::Url::parse(endpoint)
                .context("tracing.otlp_endpoint must be a URL such as http://127.0.0.1:4318")?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("tracing.otlp_endpoint must be an http:// or https:// URL");
            }
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            bail!("tracing.sample_ratio must be between 0.0 and 1.0");
        }
        if self.service_name.trim().is_empty() {
            bail!("tracing.service_name must not be empty");
        }
        if !(100..=30_000).contains(&self.export_timeout_ms) {
            bail!("tracing.export_timeout_ms must be between 100 and 30000");
        }
        Ok(())
    }

    /// The URL spans are posted to.
    pub fn traces_url(&self) -> Option<String> {
        let endpoint = self.otlp_endpoint.as_deref()?;
        let url = url::Url::parse(endpoint).ok()?;
        Some(if url.path() == "/" || url.path().is_empty() {
            format!("{}/v1/traces", endpoint.trim_end_matches('/'))
        } else {
            endpoint.to_string()
        })
    }
}

/// `[metrics]`: Prometheus metrics at `/metrics`. Env: `VERITY_METRICS_TOKEN` (or
/// `VERITY_METRICS__BEARER_TOKEN`), `VERITY_METRICS__LISTEN`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// The token a scraper sends (`Authorization: Bearer …`) to read `/metrics` on the main
    /// listener; at least 32 characters. Unset: `/metrics` is a 404 there.
    pub bearer_token: Option<String>,
    /// A second listener (`127.0.0.1:9464`, say) that serves only `/metrics`, without a token:
    /// bind it to an address only the scraper can reach.
    pub listen: Option<String>,
}

impl MetricsSettings {
    pub fn validate(&self, main_listen: &str) -> anyhow::Result<()> {
        if let Some(token) = &self.bearer_token {
            if token.chars().count() < 32 {
                bail!("metrics.bearer_token must be at least 32 characters (VERITY_METRICS_TOKEN)");
            }
        }
        if let Some(listen) = &self.listen {
            if listen.parse::<std::net::SocketAddr>().is_err() {
                bail!("metrics.listen must be an address:port such as 127.0.0.1:9464");
            }
            if listen == main_listen {
                bail!("metrics.listen must differ from listen");
            }
        }
        Ok(())
    }
}

/// `[ssf]`: Shared Signals (SSF 1.0 transmitter). Env: `VERITY_SSF__RETENTION_DAYS=14`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsfSettings {
    /// An event not acknowledged (poll) or delivered (push) within this many days is dropped.
    pub retention_days: u32,
    /// The most SETs one poll answers (RFC 8936 `maxEvents` is capped at this); also the
    /// number answered when the receiver doesn't say.
    pub poll_max_events: u32,
    /// Streams one relying party may hold at once.
    pub max_streams_per_client: u32,
    /// Who a new stream is about: `all` (everyone who consented to the relying party; the
    /// receiver may remove some) or `none` (only the people the receiver adds, among those
    /// who consented). Discovery says it as `default_subjects` `ALL` / `NONE`.
    pub default_subjects: DefaultSubjects,
    /// The shortest time, in seconds, a receiver must leave between two verification requests
    /// on one stream (`min_verification_interval`).
    pub min_verification_interval_secs: u64,
    /// Push: the wait before the first retry of a failed delivery, doubling per attempt
    /// (capped at an hour); retries go on until the event expires (`retention_days`).
    pub push_retry_base_secs: u64,
    /// Push: how often each node looks for deliveries that are due.
    pub push_poll_ms: u64,
    /// Push: how long a node holds a delivery it took (the lease); another node may take it
    /// only after this, so each event is sent by one node at a time.
    pub push_lease_secs: u64,
    /// Poll: how long a poll with `returnImmediately: false` waits for events when none are
    /// there (RFC 8936 long polling), checking the database every `push_poll_ms`.
    pub long_poll_secs: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DefaultSubjects {
    All,
    None,
}

impl Default for SsfSettings {
    fn default() -> Self {
        SsfSettings {
            retention_days: 7,
            poll_max_events: 100,
            max_streams_per_client: 3,
            default_subjects: DefaultSubjects::All,
            min_verification_interval_secs: 30,
            push_retry_base_secs: 5,
            push_poll_ms: 1000,
            push_lease_secs: 120,
            long_poll_secs: 15,
        }
    }
}

impl SsfSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=90).contains(&self.retention_days) {
            bail!("ssf.retention_days must be between 1 and 90");
        }
        if !(1..=1000).contains(&self.poll_max_events) {
            bail!("ssf.poll_max_events must be between 1 and 1000");
        }
        if !(1..=20).contains(&self.max_streams_per_client) {
            bail!("ssf.max_streams_per_client must be between 1 and 20");
        }
        if self.min_verification_interval_secs > 3600 {
            bail!("ssf.min_verification_interval_secs may not exceed 3600");
        }
        if !(1..=3600).contains(&self.push_retry_base_secs) {
            bail!("ssf.push_retry_base_secs must be between 1 and 3600");
        }
        if !(50..=60_000).contains(&self.push_poll_ms) {
            bail!("ssf.push_poll_ms must be between 50 and 60000");
        }
        // Longer than one call may take (security.outbound_timeout_secs is at most 60).
        if !(61..=3600).contains(&self.push_lease_secs) {
            bail!("ssf.push_lease_secs must be between 61 and 3600");
        }
        // A waiting poll holds a request (and a proxy's connection) open: a minute at most.
        if !(1..=60).contains(&self.long_poll_secs) {
            bail!("ssf.long_poll_secs must be between 1 and 60");
        }
        Ok(())
    }
}

/// `[referee]`: verification with an agent by video (a trusted referee, NIST 800-63A) for
/// people whose online check failed or ran out of tries. The call happens in the operator's
/// own video tool; Verity runs the case. Env: `VERITY_REFEREE__AGENTS_PER_SLOT=3`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefereeSettings {
    /// Offer it at all (the link on the failure pages, `/verify/agent`).
    pub enabled: bool,
    /// Opening hours per weekday, Monday first, in the site's `default_time_zone`: seven
    /// entries of `"HH:MM-HH:MM"` (`24:00` for midnight at the end), `""` closed.
    pub weekly_hours: Vec<String>,
    /// Length of one booking slot.
    pub slot_minutes: u32,
    /// Calls one slot holds (the agents on duty): bookings beyond it are refused.
    pub agents_per_slot: u32,
    /// How far ahead slots are offered, and how many at most.
    pub booking_days_ahead: u32,
    pub slots_shown: usize,
    /// A case not decided by then expires (the person may ask again).
    pub case_ttl_days: u64,
    /// A booked slot nobody claimed this long after it started expires (no-show).
    pub no_show_grace_minutes: u64,
    /// The link to the operator's video tool, `{case}` replaced by the case id.
    pub meeting_link_template: String,
    /// The reminder (e-mail and SMS, with the link) goes this long before a booked slot.
    pub reminder_minutes_before: u64,
    /// The queue's expected wait is the place in the queue times this.
    pub average_handling_minutes: u64,
    /// Characters of the continuation code (Crockford base32, 5 bits each: 16 is 80 bits).
    pub continuation_code_length: usize,
    /// The version of the video notice shown before consent (recorded with the consent).
    pub consent_version: String,
    /// Claimed cases one agent may hold at once: each claim tells a queued person an agent is
    /// ready, so nobody hoards the queue.
    pub max_open_claims_per_agent: u32,
}

impl Default for RefereeSettings {
    fn default() -> Self {
        let weekday = "09:00-17:00".to_string();
        RefereeSettings {
            enabled: true,
            weekly_hours: vec![
                weekday.clone(),
                weekday.clone(),
                weekday.clone(),
                weekday.clone(),
                weekday,
                String::new(),
                String::new(),
            ],
            slot_minutes: 30,
            agents_per_slot: 2,
            booking_days_ahead: 14,
            slots_shown: 12,
            case_ttl_days: 14,
            no_show_grace_minutes: 15,
            meeting_link_template: "https://meet.example/{case}".into(),
            reminder_minutes_before: 60,
            average_handling_minutes: 20,
            continuation_code_length: 16,
            consent_version: "2026-12".into(),
            max_open_claims_per_agent: 3,
        }
    }
}

/// Opening hours `"HH:MM-HH:MM"` as minutes after midnight; `""`: closed (None).
pub fn parse_hours(raw: &str) -> Result<Option<(u32, u32)>, &'static str> {
    const BAD: &str = "opening hours must be \"HH:MM-HH:MM\", the start before the end";
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let minutes = |t: &str| -> Result<u32, &'static str> {
        let (h, m) = t.trim().split_once(':').ok_or(BAD)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| BAD)?, m.parse().map_err(|_| BAD)?);
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(BAD);
        }
        Ok(h * 60 + m)
    };
    let (from, to) = raw.split_once('-').ok_or(BAD)?;
    let (from, to) = (minutes(from)?, minutes(to)?);
    if from >= to {
        return Err(BAD);
    }
    Ok(Some((from, to)))
}

impl RefereeSettings {
    fn validate(&self) -> anyhow::Result<()> {
        if self.weekly_hours.len() != 7 || self.weekly_hours.iter().any(|h| parse_hours(h).is_err())
        {
            bail!(
                "referee.weekly_hours must be seven entries, Monday first, each \"HH:MM-HH:MM\" or \"\" (closed)"
            );
        }
        if !(5..=480).contains(&self.slot_minutes) || !(1..=1000).contains(&self.agents_per_slot) {
            bail!("referee.slot_minutes must be 5 to 480 and agents_per_slot 1 to 1000");
        }
        if self.booking_days_ahead == 0 || self.slots_shown == 0 || self.case_ttl_days == 0 {
            bail!("referee.booking_days_ahead, slots_shown and case_ttl_days must be at least 1");
        }
        if self.continuation_code_length < 13 || self.continuation_code_length > 32 {
            bail!("referee.continuation_code_length must be 13 to 32 (at least 64 bits)");
        }
        if !self.meeting_link_template.starts_with("https://")
            && !self.meeting_link_template.starts_with("http://")
        {
            bail!("referee.meeting_link_template must be an http(s) URL");
        }
        if self.max_open_claims_per_agent == 0 {
            bail!("referee.max_open_claims_per_agent must be at least 1");
        }
        if self.consent_version.trim().is_empty() || self.average_handling_minutes == 0 {
            bail!("referee.consent_version must be set and average_handling_minutes at least 1");
        }
        Ok(())
    }
}

/// `[proofing]`: identity verification. Env: `VERITY_PROOFING__MAX_ATTEMPTS=3`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProofingSettings {
    /// Offer identity verification at all (`acr_values` IAL2, `verified_claims`, the console).
    pub enabled: bool,
    pub document_vendor: VendorKind,
    pub selfie_vendor: VendorKind,
    pub records_vendor: VendorKind,
    pub state_id_vendor: VendorKind,
    pub phone_vendor: VendorKind,
    /// Base URL of the vendor gateway (`http` checks POST to `{base}/document`, `/selfie`,
    /// `/records`, `/state-id`, `/phone`).
    pub http_base_url: Option<String>,
    /// Sent as `Authorization: Bearer …` to the gateway.
    pub http_api_key: Option<String>,
    /// Whole-request timeout of one gateway call.
    pub http_timeout_secs: u64,
    /// Extra tries after a network error or timeout (never after an answer, good or bad).
    pub http_retries: u32,
    /// Vendor attempts charged per person per `attempt_window_hours`.
    pub max_attempts: u32,
    pub attempt_window_hours: u64,
    /// Different identities (SSN or document number) tried from one account or one IP within
    /// `attempt_window_hours` before a fraud flag is raised.
    pub identities_per_window: u32,
    /// Largest upload accepted, in bytes, and the pixel bounds of a photo.
    pub image_max_bytes: usize,
    pub image_max_pixels_side: u32,
    pub image_min_pixels_side: u32,
    /// Days document images and the selfie are kept after their check (0: deleted as soon as
    /// the check has run).
    pub image_retention_days: u64,
    /// An unfinished verification is abandoned after this many days.
    pub unfinished_ttl_days: u64,
    /// The version of the consent text shown on the start page (recorded with the consent).
    pub consent_version: String,
    /// Verify by mail: letters a person may request per `letter_window_days`.
    pub letters_per_window: u32,
    pub letter_window_days: u64,
    /// A letter's code works this many days after it was requested.
    pub letter_valid_days: u64,
    /// Wrong letter codes accepted before every waiting letter's code is void (a new letter
    /// is then needed).
    pub letter_code_max_tries: u32,
    /// Characters of a letter's code (Crockford base32, 5 bits each).
    pub letter_code_length: usize,
    /// Wrong personal keys accepted per person per `personal_key_window_secs` (restoring a
    /// verification after a password reset), counted before each is checked.
    pub personal_key_max_tries: u32,
    pub personal_key_window_secs: u64,
    /// How long after a sign-in a relying party can still read verified data through
    /// `/userinfo` or a refreshed ID token: the unlocked vault key is kept for the grant this
    /// long (sealed, in the store), then the person must sign in again.
    pub released_claims_ttl_secs: u64,
    /// One reminder e-mail (with the link to the code page) when a sent letter's code is still
    /// unused this many days after it was sent; 0: no reminder. Below `letter_valid_days`.
    pub letter_reminder_days: u64,
}

impl Default for ProofingSettings {
    fn default() -> Self {
        ProofingSettings {
            enabled: true,
            document_vendor: VendorKind::Mock,
            selfie_vendor: VendorKind::Mock,
            records_vendor: VendorKind::Mock,
            state_id_vendor: VendorKind::Mock,
            phone_vendor: VendorKind::Mock,
            http_base_url: None,
            http_api_key: None,
            http_timeout_secs: 15,
            http_retries: 2,
            max_attempts: 5,
            attempt_window_hours: 24,
            identities_per_window: 3,
            image_max_bytes: 10 * 1024 * 1024,
            image_max_pixels_side: 8000,
            image_min_pixels_side: 300,
            image_retention_days: 0,
            unfinished_ttl_days: 30,
            consent_version: "2026-11".into(),
            letters_per_window: 3,
            letter_window_days: 30,
            letter_valid_days: 30,
            letter_code_max_tries: 5,
            letter_code_length: 10,
            personal_key_max_tries: 5,
            personal_key_window_secs: 3600,
            released_claims_ttl_secs: 900,
            letter_reminder_days: 10,
        }
    }
}

impl ProofingSettings {
    pub fn kinds(&self) -> [VendorKind; 5] {
        [
            self.document_vendor,
            self.selfie_vendor,
            self.records_vendor,
            self.state_id_vendor,
            self.phone_vendor,
        ]
    }

    /// Mock checks pass for made-up people: never in production.
    pub fn validate(&self, env: RunMode) -> anyhow::Result<()> {
        if self.enabled && env == RunMode::Production && self.kinds().contains(&VendorKind::Mock) {
            bail!(
                "production mode can't use mock proofing vendors: set proofing.*_vendor = \"http\" \
                 or proofing.enabled = false"
            );
        }
        if self.kinds().contains(&VendorKind::Http) {
            let Some(base) = self.http_base_url.as_deref() else {
                bail!("an http proofing vendor needs proofing.http_base_url");
            };
            let url = url::Url::parse(base).context("proofing.http_base_url is not a URL")?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("proofing.http_base_url must be http or https");
            }
            if env == RunMode::Production && url.scheme() != "https" {
                bail!("production mode needs an https proofing.http_base_url");
            }
        }
        if !(1..=120).contains(&self.http_timeout_secs) || self.http_retries > 5 {
            bail!("proofing.http_timeout_secs must be 1 to 120 and http_retries at most 5");
        }
        if self.max_attempts == 0
            || self.attempt_window_hours == 0
            || self.identities_per_window == 0
        {
            bail!(
                "proofing.max_attempts, attempt_window_hours and identities_per_window must be at \
                 least 1"
            );
        }
        if self.image_max_bytes < 64 * 1024
            || self.image_min_pixels_side == 0
            || self.image_max_pixels_side < self.image_min_pixels_side
        {
            bail!(
                "proofing.image_max_bytes must be at least 65536, and image_min_pixels_side at \
                 least 1 and below image_max_pixels_side"
            );
        }
        if self.letters_per_window == 0
            || self.letter_window_days == 0
            || !(1..=365).contains(&self.letter_valid_days)
            || !(1..=10).contains(&self.letter_code_max_tries)
            || !(10..=32).contains(&self.letter_code_length)
        {
            bail!(
                "proofing.letters_per_window and letter_window_days must be at least 1, \
                 letter_valid_days 1 to 365, letter_code_max_tries 1 to 10 and letter_code_length \
                 10 to 32"
            );
        }
        if !(1..=20).contains(&self.personal_key_max_tries)
            || self.personal_key_window_secs == 0
            || !(60..=86_400).contains(&self.released_claims_ttl_secs)
        {
            bail!(
                "proofing.personal_key_max_tries must be 1 to 20, personal_key_window_secs at \
                 least 1 and released_claims_ttl_secs 60 to 86400"
            );
        }
        if self.letter_reminder_days >= self.letter_valid_days {
            bail!(
                "proofing.letter_reminder_days must be below letter_valid_days (0 sends no \
                 reminder)"
            );
        }
        if self.unfinished_ttl_days == 0 || self.consent_version.trim().is_empty() {
            bail!("proofing.unfinished_ttl_days must be at least 1 and consent_version set");
        }
        Ok(())
    }
}

/// `[notify]`: how notices leave Verity. Env: `VERITY_NOTIFY__SMTP_HOST=…`.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// `outbox` (default) or `smtp`.
    pub email: EmailBackend,
    /// `outbox` (default) or `gateway`: SMS and voice calls.
    pub sms: SmsBackend,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// `starttls` (default), `tls` or `none` (localhost only).
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    /// Connect and per-command timeout of the SMTP conversation.
    pub smtp_timeout_secs: u64,
    /// `From:` of every email, e.g. `Verity <no-reply@id.example.gov>`.
    pub email_from: String,
    /// Twilio-style gateway: `{base}/2010-04-01/Accounts/{sid}/Messages.json` and `Calls.json`.
    pub gateway_base_url: String,
    pub gateway_account_sid: Option<String>,
    pub gateway_auth_token: Option<String>,
    /// The number (E.164) or sender id that texts and calls come from. An env value such as
    /// `+15005550006` reads as a TOML number; it is taken back as `"+15005550006"`.
    #[serde(deserialize_with = "phone_number_or_text")]
    pub gateway_from_number: Option<String>,
    /// Whole-request timeout of one gateway call.
    pub gateway_timeout_secs: u64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            email: EmailBackend::Outbox,
            sms: SmsBackend::Outbox,
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_timeout_secs: 10,
            email_from: "Verity <no-reply@localhost>".into(),
            gateway_base_url: "https://api.twilio.com".into(),
            gateway_account_sid: None,
            gateway_auth_token: None,
            gateway_from_number: None,
            gateway_timeout_secs: 10,
        }
    }
}

/// Secrets (SMTP password, gateway token) never appear in `{:?}`.
impl std::fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("NotifySettings")
            .field("email", &self.email)
            .field("sms", &self.sms)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_username", &self.smtp_username)
            .field("smtp_password", &redact(&self.smtp_password))
            .field("smtp_timeout_secs", &self.smtp_timeout_secs)
            .field("email_from", &self.email_from)
            .field("gateway_base_url", &self.gateway_base_url)
            .field("gateway_account_sid", &self.gateway_account_sid)
            .field("gateway_auth_token", &redact(&self.gateway_auth_token))
            .field("gateway_from_number", &self.gateway_from_number)
            .field("gateway_timeout_secs", &self.gateway_timeout_secs)
            .finish()
    }
}

impl NotifySettings {
    /// Checks only the settings of the backends in use, so the dev defaults need nothing.
    pub fn validate(&self) -> anyhow::Result<()> {
        fn present(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        if self.email == EmailBackend::Smtp {
            let Some(host) = present(&self.smtp_host) else {
                bail!("notify.email = \"smtp\" needs notify.smtp_host");
            };
            if self.smtp_port == 0 {
                bail!("notify.smtp_port must not be 0");
            }
            if self.smtp_tls == SmtpTls::None && !is_loopback_host(host) {
                bail!(
                    "notify.smtp_tls = \"none\" is only allowed for a relay on localhost; \
                     use \"starttls\" or \"tls\""
                );
            }
            if present(&self.smtp_username).is_some() != present(&self.smtp_password).is_some() {
                bail!("notify.smtp_username and notify.smtp_password go together: set both or neither");
            }
            if self.smtp_timeout_secs == 0 {
                bail!("notify.smtp_timeout_secs must be at least 1");
            }
            self.email_from
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| anyhow::anyhow!("notify.email_from is not a valid mailbox: {e}"))?;
        }
        if self.sms == SmsBackend::Gateway {
            let base = url::Url::parse(&self.gateway_base_url)
                .context("notify.gateway_base_url is not a URL")?;
            let host = base.host_str().unwrap_or_default();
            match base.scheme() {
                "https" => {}
                "http" if is_loopback_host(host) => {}
                _ => bail!("notify.gateway_base_url must be https (http only for localhost)"),
            }
            if base.query().is_some() || base.fragment().is_some() {
                bail!("notify.gateway_base_url must not carry a query or fragment");
            }
            let Some(sid) = present(&self.gateway_account_sid) else {
                bail!("notify.sms = \"gateway\" needs notify.gateway_account_sid");
            };
            if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
                bail!("notify.gateway_account_sid must be letters and digits only");
            }
            if present(&self.gateway_auth_token).is_none() {
                bail!("notify.sms = \"gateway\" needs notify.gateway_auth_token");
            }
            if present(&self.gateway_from_number).is_none() {
                bail!("notify.sms = \"gateway\" needs notify.gateway_from_number");
            }
            if self.gateway_timeout_secs == 0 {
                bail!("notify.gateway_timeout_secs must be at least 1");
            }
        }
        Ok(())
    }
}

fn phone_number_or_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Text(s)) => Some(s),
        Some(Raw::Number(n)) => Some(format!("+{n}")),
    })
}

/// OWASP's Argon2id settings (Password Storage Cheat Sheet), each equally strong: more
/// passes may stand in for memory down to 7 MiB, never below.
pub fn argon2_meets_owasp_floor(memory_kib: u32, iterations: u32) -> bool {
    let floor = match iterations {
        0 => return false,
        1 => 47104,
        2 => 19456,
        3 => 12288,
        4 => 9216,
        _ => 7168,
    };
    memory_kib >= floor
}

/// `localhost`, or a loopback IP address (`127.0.0.1`, `::1`, `[::1]`).
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {

    #[test]
    fn referee_hours_are_checked_and_the_defaults_hold() {
        assert_eq!(parse_hours(""), Ok(None));
        assert_eq!(parse_hours("09:00-17:30"), Ok(Some((540, 1050))));
        assert_eq!(parse_hours("00:00-24:00"), Ok(Some((0, 1440))));
        for bad in ["9-5", "17:00-09:00", "09:00-24:30", "09:60-10:00", "x"] {
            assert!(parse_hours(bad).is_err(), "{bad}");
        }
        assert!(RefereeSettings::default().validate().is_ok());
        let short = RefereeSettings {
            continuation_code_length: 12,
            ..RefereeSettings::default()
        };
        assert!(short.validate().is_err(), "under 64 bits");
        let mut six = RefereeSettings::default();
        six.weekly_hours.pop();
        assert!(six.validate().is_err());
    }

    use super::*;

    fn vars(list: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The `VERITY_*` settings the container image and the compose file set are settings
    /// Verity accepts (unknown ones stop the start), so a typo there can't ship.
    #[test]
    fn the_deploy_files_set_only_valid_settings() {
        let mut set = Vec::new();
        for file in ["Dockerfile", "deploy/docker-compose.yml"] {
            let text = std::fs::read_to_string(file).unwrap();
            for line in text.lines() {
                let line = line
                    .trim()
                    .trim_start_matches("ENV ")
                    .trim_end_matches(" \\");
                let Some((name, value)) = line.split_once([':', '=']) else {
                    continue;
                };
                if !name.starts_with("VERITY_") || name.contains(' ') {
                    continue;
                }
                let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
                let value = if value.starts_with("${VERITY_MASTER_KEY") {
                    crate::crypto::MasterKey::generate().to_base64()
                } else {
                    value.to_string()
                };
                set.push((name.to_string(), value));
            }
        }
        let names: Vec<&str> = set.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "VERITY_LISTEN",
            "VERITY_MASTER_KEY",
            "VERITY_DATABASE_URL",
            "VERITY_REDIS_URL",
            "VERITY_TRUST_FORWARDED_FOR",
            "VERITY_TRUSTED_PROXIES",
        ] {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
        let settings = Settings::load_from(set.into_iter()).expect("valid settings");
        assert!(settings.trust_forwarded_for);
        assert_eq!(settings.trusted_proxies.len(), 1);
    }

    #[test]
    fn metrics_settings_come_from_the_environment_and_are_checked() {
        let token = "a-scrape-token-of-at-least-32-characters";
        let s = Settings::load_from(vars(&[
            ("VERITY_METRICS_TOKEN", token),
            ("VERITY_METRICS__LISTEN", "127.0.0.1:9464"),
            ("VERITY_ACCESS_LOG", "all"),
        ]))
        .unwrap();
        assert_eq!(s.metrics.bearer_token.as_deref(), Some(token));
        assert_eq!(s.metrics.listen.as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(s.access_log, AccessLog::All);
        let s = Settings::load_from(vars(&[("VERITY_METRICS__BEARER_TOKEN", token)])).unwrap();
        assert_eq!(s.metrics.bearer_token.as_deref(), Some(token));
        assert_eq!(Settings::default().access_log, AccessLog::Errors);
        assert!(Settings::default().metrics.bearer_token.is_none());
        for bad in [
            vec![("VERITY_METRICS_TOKEN", "short")],
            vec![("VERITY_METRICS__LISTEN", "localhost")],
            vec![
                ("VERITY_LISTEN", "127.0.0.1:9000"),
                ("VERITY_METRICS__LISTEN", "127.0.0.1:9000"),
            ],
            vec![("VERITY_ACCESS_LOG", "some")],
        ] {
            assert!(Settings::load_from(vars(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn env_overrides_defaults_including_nested_security_numbers() {
        let s = Settings::load_from(vars(&[
            ("VERITY_LISTEN", "0.0.0.0:9000"),
            ("VERITY_SIGNING_ALG", "ES256"),
            ("VERITY_SECURITY__SESSION_IDLE_SECS", "600"),
            ("VERITY_TEST_DATABASE_URL", "ignored"),
        ]))
        .unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert_eq!(s.signing_alg, SigningAlg::ES256);
        assert_eq!(s.security.session_idle_secs, 600);
        assert_eq!(s.security.auth_code_ttl_secs, 60);
    }

    #[test]
    fn production_requires_https_issuer_and_master_key() {
        let err = Settings::load_from(vars(&[("VERITY_ENV", "production")])).unwrap_err();
        assert!(format!("{err:#}").contains("https"));
        let err = Settings::load_from(vars(&[
            ("VERITY_ENV", "production"),
            ("VERITY_ISSUER", "https://id.example.gov"),
        ]))
        .unwrap_err();
        assert!(format!("{err:#}").contains("MASTER_KEY"));
    }

    #[test]
    fn shared_signals_settings_are_read_and_checked() {
        let s = Settings::load_from(vars(&[
            ("VERITY_SSF__RETENTION_DAYS", "14"),
            ("VERITY_SSF__DEFAULT_SUBJECTS", "none"),
        ]))
        .unwrap();
        assert_eq!(s.ssf.retention_days, 14);
        assert_eq!(s.ssf.default_subjects, DefaultSubjects::None);
        assert_eq!(s.ssf.poll_max_events, 100);
        assert_eq!(s.ssf.long_poll_secs, 15);
        for (name, value) in [
            ("VERITY_SSF__RETENTION_DAYS", "0"),
            ("VERITY_SSF__POLL_MAX_EVENTS", "0"),
            ("VERITY_SSF__MAX_STREAMS_PER_CLIENT", "0"),
            ("VERITY_SSF__MIN_VERIFICATION_INTERVAL_SECS", "7200"),
            ("VERITY_SSF__DEFAULT_SUBJECTS", "some"),
            ("VERITY_SSF__LONG_POLL_SECS", "0"),
            ("VERITY_SSF__LONG_POLL_SECS", "61"),
        ] {
            let err = Settings::load_from(vars(&[(name, value)])).unwrap_err();
            assert!(
                format!("{err:#}").contains("ssf"),
                "{name}={value}: {err:#}"
            );
        }
    }

    #[test]
    fn env_values_take_the_type_of_the_setting() {
        let s = Settings::load_from(vars(&[
            ("VERITY_SITE_NAME", "1234"),
            ("VERITY_TRUST_FORWARDED_FOR", "true"),
            ("VERITY_MASTER_KEY", "12345"),
        ]))
        .unwrap();
        assert_eq!(s.site_name, "1234");
        assert!(s.trust_forwarded_for);
        assert_eq!(s.master_key.as_deref(), Some("12345"));
        let err = Settings::load_from(vars(&[("VERITY_WORKERS", "many")])).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("invalid type: string \"many\", expected usize\nin `workers`"),
            "{text}"
        );
    }

    #[test]
    fn argon2_parameters_below_the_owasp_floor_are_refused() {
        let weak = Settings::load_from(vars(&[("VERITY_SECURITY__ARGON2_MEMORY_KIB", "4096")]))
            .and_then(|s| s.validate());
        assert!(format!("{:#}", weak.unwrap_err()).contains("OWASP"));
        let traded = Settings::load_from(vars(&[
            ("VERITY_SECURITY__ARGON2_MEMORY_KIB", "12288"),
            ("VERITY_SECURITY__ARGON2_ITERATIONS", "3"),
        ]))
        .unwrap();
        traded.validate().unwrap();
        Settings::default().validate().unwrap();
    }

    #[test]
    fn a_letter_reminder_must_come_before_the_code_expires() {
        let s =
            Settings::load_from(vars(&[("VERITY_PROOFING__LETTER_REMINDER_DAYS", "3")])).unwrap();
        assert_eq!(s.proofing.letter_reminder_days, 3);
        s.validate().unwrap();
        let off = Settings::load_from(vars(&[("VERITY_PROOFING__LETTER_REMINDER_DAYS", "0")]));
        off.and_then(|s| s.validate()).unwrap();
        let late = Settings::load_from(vars(&[("VERITY_PROOFING__LETTER_REMINDER_DAYS", "30")]))
            .and_then(|s| s.validate());
        assert!(format!("{:#}", late.unwrap_err()).contains("letter_reminder_days"));
    }

    #[test]
    fn trusted_proxies_are_read_as_cidrs() {
        let s = Settings::load_from(vars(&[
            (
                "VERITY_TRUSTED_PROXIES",
                r#"["10.0.0.0/8", "2001:db8::/32"]"#,
            ),
            ("VERITY_FORWARDED_HEADER", "forwarded"),
        ]))
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.forwarded_header, ForwardedHeader::Forwarded);
        let err =
            Settings::load_from(vars(&[("VERITY_TRUSTED_PROXIES", r#"["nope"]"#)])).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("invalid IP address syntax\nin `trusted_proxies`"),
            "{text}"
        );
    }

    #[test]
    fn the_logo_and_the_official_banner_are_read_from_the_environment() {
        let s = Settings::load_from(vars(&[
            ("VERITY_SITE_LOGO", "/etc/verity/logo.svg"),
            ("VERITY_OFFICIAL_BANNER", "true"),
        ]))
        .unwrap();
        assert_eq!(s.site_logo, Some(PathBuf::from("/etc/verity/logo.svg")));
        assert!(s.official_banner);
        assert!(!Settings::default().official_banner, "off unless asked for");
        let err =
            Settings::load_from(vars(&[("VERITY_SITE_LOGO", "/etc/verity/logo.gif")])).unwrap_err();
        assert!(
            format!("{err:#}").contains("must be a .png, .svg or .jpg"),
            "{err:#}"
        );
    }

    #[test]
    fn unknown_setting_is_an_error() {
        let err = Settings::load_from(vars(&[("VERITY_LISTNE", "x")])).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"));
    }
}

//! Prometheus figures, served at `/metrics` (README, "Metrics"). One [`Metrics`] per [`Ctx`],
//! never a global recorder: several servers in one process (the integration tests) each keep
//! their own figures. Flows record through `ctx.metrics`; what is read at scrape time (queues,
//! the database pool, memory) is in [`scrape`].
//!
//! Labels come only from fixed lists (outcomes, methods, channels) or from the route table
//! (the template, never the path a client sent), so no request can add a series.

pub mod scrape;
mod store;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use store::CountingStore;

use crate::accounts::signin::SignInOutcome;
use crate::mfa::challenge::CodeOutcome;
use crate::mfa::webauthn::AssertionOutcome;
use crate::notify::Channel;

/// Told how long something waited (a database connection, an Argon2 permit). Lets
/// `storage::db` and `accounts::password` report without knowing about Prometheus.
pub type WaitObserver = Arc<dyn Fn(Duration) + Send + Sync>;

const SIGN_IN_OUTCOMES: [&str; 6] = [
    "success",
    "wrong_password",
    "throttled",
    "locked",
    "email_not_confirmed",
    "disabled",
];

/// The label of the requests no route matched: the path itself is never a label.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The route template (`/help/{slug}`), or [`UNMATCHED`].
    pub route: String,
    pub method: &'static str,
    /// `2xx` … `5xx`.
    pub status: &'static str,
}

/// The work one request asked of the database and the store, per route template and method.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkLabels {
    pub route: String,
    pub method: &'static str,
}

fn work_buckets() -> Histogram {
    Histogram::new([0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FactorLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoticeLabels {
    channel: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    grant_type: &'static str,
    alg: &'static str,
}

/// How a second factor was proven (the `method` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorMethod {
    Sms,
    Voice,
    Totp,
    BackupCode,
    /// A security key or passkey answering as the second factor (or a step-up).
    SecurityKey,
    /// A passkey signing in on its own, without a password.
    Passkey,
}

impl FactorMethod {
    fn label(self) -> &'static str {
        match self {
            FactorMethod::Sms => "sms",
            FactorMethod::Voice => "voice",
            FactorMethod::Totp => "totp",
            FactorMethod::BackupCode => "backup_code",
            FactorMethod::SecurityKey => "security_key",
            FactorMethod::Passkey => "passkey",
        }
    }
}

fn latency_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// Waits for a pooled resource: mostly nothing, sometimes seconds.
fn wait_buckets() -> Histogram {
    Histogram::new([
        0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every figure one server keeps. Cheap to share (`Arc<Metrics>` in `Ctx`); recording is an
/// atomic add (a histogram takes a short lock).
pub struct Metrics {
    registry: Registry,
    /// What the scrape-time collector reports, filled just before encoding.
    live: Arc<scrape::LiveFigures>,
    /// One scrape at a time: the live figures are filled, then encoded.
    scraping: tokio::sync::Mutex<()>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<HttpLabels>,
    sign_ins: Family<OutcomeLabels, Counter>,
    second_factor: Family<FactorLabels, Counter>,
    notices_sent: Family<NoticeLabels, Counter>,
    notice_failures: Family<NoticeLabels, Counter>,
    tokens_issued: Family<TokenLabels, Counter>,
    refresh_reuses: Counter,
    code_replays: Counter,
    logout_failures: Counter,
    argon2_wait: Histogram,
    db_checkout_wait: Histogram,
    store_errors: Counter,
    db_statements: Histograms<WorkLabels>,
    store_commands: Histograms<WorkLabels>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// `signing_alg`: the algorithm new keys use, whose token counts start at 0.
    pub fn new(signing_alg: &'static str) -> Metrics {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "verity_http_requests",
            "HTTP requests answered, by route template, method and status class",
            http_requests.clone(),
        );
        let http_duration: Histograms<HttpLabels> = Family::new_with_constructor(latency_buckets);
        registry.register(
            "verity_http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route template, method and status class",
            http_duration.clone(),
        );
        let sign_ins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "verity_sign_ins",
            "Password sign-ins by outcome: success, wrong_password (also an unknown account), \
             throttled, locked, email_not_confirmed, disabled",
            sign_ins.clone(),
        );
        let second_factor = Family::<FactorLabels, Counter>::default();
        registry.register(
            "verity_second_factor_checks",
            "Second-factor checks by method (sms, voice, totp, backup_code, security_key, \
             passkey) and outcome (success, failure, locked)",
            second_factor.clone(),
        );
        let notices_sent = Family::<NoticeLabels, Counter>::default();
        registry.register(
            "verity_notices_sent",
            "Notices handed to the email relay or SMS/voice gateway (or the dev outbox), by \
             channel and kind (security_code is a one-time code)",
            notices_sent.clone(),
        );
        let notice_failures = Family::<NoticeLabels, Counter>::default();
        registry.register(
            "verity_notice_send_failures",
            "Notices the relay or gateway did not take, by channel and kind",
            notice_failures.clone(),
        );
        let tokens_issued = Family::<TokenLabels, Counter>::default();
        registry.register(
            "verity_tokens_issued",
            "Token responses from /token, by grant type and signing algorithm",
            tokens_issued.clone(),
        );
        let refresh_reuses = Counter::default();
        registry.register(
            "verity_refresh_token_reuses",
            "Rotated refresh tokens presented again (the family is revoked)",
            refresh_reuses.clone(),
        );
        let code_replays = Counter::default();
        registry.register(
            "verity_authorization_code_replays",
            "Authorization codes presented a second time (tokens from the first use revoked)",
            code_replays.clone(),
        );
        let logout_failures = Counter::default();
        registry.register(
            "verity_backchannel_logout_failures",
            "Back-channel logout deliveries that failed (each is retried)",
            logout_failures.clone(),
        );
        let argon2_wait = wait_buckets();
        registry.register(
            "verity_argon2_wait_seconds",
            "Time a password check or hash waited for an Argon2 permit",
            argon2_wait.clone(),
        );
        let db_checkout_wait = wait_buckets();
        registry.register(
            "verity_db_checkout_wait_seconds",
            "Time a database task waited for a pooled connection",
            db_checkout_wait.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "verity_store_errors",
            "Short-lived store (Redis) commands that failed (the log says which and why)",
            store_errors.clone(),
        );
        let db_statements: Histograms<WorkLabels> = Family::new_with_constructor(work_buckets);
        registry.register(
            "verity_db_statements_per_request",
            "Database statements one request ran (the pool's connection check included), by \
             route template and method",
            db_statements.clone(),
        );
        let store_commands: Histograms<WorkLabels> = Family::new_with_constructor(work_buckets);
        registry.register(
            "verity_store_commands_per_request",
            "Short-lived store (Redis) commands one request sent, by route template and method",
            store_commands.clone(),
        );
        let live = Arc::new(scrape::LiveFigures::default());
        registry.register_collector(Box::new(live.clone()));
        let metrics = Metrics {
            registry,
            live,
            scraping: tokio::sync::Mutex::new(()),
            http_requests,
            http_duration,
            sign_ins,
            second_factor,
            notices_sent,
            notice_failures,
            tokens_issued,
            refresh_reuses,
            code_replays,
            logout_failures,
            argon2_wait,
            db_checkout_wait,
            store_errors,
            db_statements,
            store_commands,
        };
        metrics.start_at_zero(signing_alg);
        metrics
    }

    /// The series alerts and panels divide by exist from the start, at 0, instead of
    /// appearing with their first event (a family without a series isn't exported at all).
    fn start_at_zero(&self, signing_alg: &'static str) {
        for outcome in SIGN_IN_OUTCOMES {
            self.sign_ins
                .get_or_create_owned(&OutcomeLabels { outcome });
        }
        for method in [
            FactorMethod::Sms,
            FactorMethod::Voice,
            FactorMethod::Totp,
            FactorMethod::BackupCode,
            FactorMethod::SecurityKey,
            FactorMethod::Passkey,
        ] {
            let keys = matches!(method, FactorMethod::SecurityKey | FactorMethod::Passkey);
            for outcome in ["success", "failure", "locked"] {
                if !(keys && outcome == "locked") {
                    self.second_factor.get_or_create_owned(&FactorLabels {
                        method: method.label(),
                        outcome,
                    });
                }
            }
        }
        for (channel, kind) in [
            (Channel::Sms, "security_code"),
            (Channel::Voice, "security_code"),
            (Channel::Email, "confirm_email"),
        ] {
            let labels = NoticeLabels {
                channel: channel.as_str(),
                kind,
            };
            self.notices_sent.get_or_create_owned(&labels);
            self.notice_failures.get_or_create_owned(&labels);
        }
        for grant_type in crate::oauth::clients::GRANT_TYPES {
            self.tokens_issued.get_or_create_owned(&TokenLabels {
                grant_type,
                alg: signing_alg,
            });
        }
    }

    /// One answered request. `route` is the template the router matched, None for no route.
    pub fn request(
        &self,
        route: Option<String>,
        method: &actix_web::http::Method,
        status: u16,
        took: Duration,
    ) {
        let labels = HttpLabels {
            route: route.unwrap_or_else(|| UNMATCHED.to_string()),
            method: method_label(method),
            status: status_class(status),
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// What one answered request cost the database and the store.
    pub fn request_work(
        &self,
        route: Option<&str>,
        method: &actix_web::http::Method,
        statements: u64,
        store_commands: u64,
    ) {
        let labels = WorkLabels {
            route: route.unwrap_or(UNMATCHED).to_string(),
            method: method_label(method),
        };
        self.db_statements
            .get_or_create(&labels)
            .observe(statements as f64);
        self.store_commands
            .get_or_create(&labels)
            .observe(store_commands as f64);
    }

    /// The password step's verdict. An unknown account is `wrong_password`, like a wrong
    /// password: the figures must not tell them apart either.
    pub fn sign_in(&self, outcome: &SignInOutcome) {
        let outcome: &'static str = match outcome {
            SignInOutcome::PasswordAccepted { .. } => "success",
            SignInOutcome::InvalidCredentials => "wrong_password",
            SignInOutcome::TryAgainLater { .. } => "throttled",
            SignInOutcome::AccountLocked { .. } | SignInOutcome::LockedUntilRecovered => "locked",
            SignInOutcome::EmailNotConfirmed => "email_not_confirmed",
            SignInOutcome::Disabled => "disabled",
        };
        self.sign_ins
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// A code typed for a second factor.
    pub fn code_check(&self, method: FactorMethod, outcome: &CodeOutcome) {
        let outcome = match outcome {
            CodeOutcome::Accepted => "success",
            CodeOutcome::Locked { .. } => "locked",
            CodeOutcome::Wrong { .. } | CodeOutcome::Expired | CodeOutcome::NoCodeSent => "failure",
        };
        self.factor(method, outcome);
    }

    /// A security key's or passkey's answer.
    pub fn key_check(&self, method: FactorMethod, outcome: &AssertionOutcome) {
        let outcome = match outcome {
            AssertionOutcome::Accepted { .. } => "success",
            _ => "failure",
        };
        self.factor(method, outcome);
    }

    fn factor(&self, method: FactorMethod, outcome: &'static str) {
        self.second_factor
            .get_or_create(&FactorLabels {
                method: method.label(),
                outcome,
            })
            .inc();
    }

    /// A notice handed to its sender (`kind`: `Notice::kind`), and whether it was taken.
    pub fn notice(&self, channel: Channel, kind: &'static str, sent: bool) {
        let labels = NoticeLabels {
            channel: channel.as_str(),
            kind,
        };
        if sent {
            self.notices_sent.get_or_create(&labels).inc();
        } else {
            self.notice_failures.get_or_create(&labels).inc();
        }
    }

    /// Tokens handed out by `/token`.
    pub fn tokens_issued(&self, grant_type: &'static str, alg: &'static str) {
        self.tokens_issued
            .get_or_create(&TokenLabels { grant_type, alg })
            .inc();
    }

    pub fn refresh_token_reused(&self) {
        self.refresh_reuses.inc();
    }

    pub fn authorization_code_replayed(&self) {
        self.code_replays.inc();
    }

    pub fn backchannel_logout_failed(&self) {
        self.logout_failures.inc();
    }

    pub fn store_error(&self) {
        self.store_errors.inc();
    }

    /// For `Passwords`: how long each hash waited for its permit.
    pub fn argon2_wait_observer(&self) -> WaitObserver {
        let h = self.argon2_wait.clone();
        Arc::new(move |waited: Duration| h.observe(waited.as_secs_f64()))
    }

    /// For `Db`: how long each task waited for a connection.
    pub fn db_checkout_observer(&self) -> WaitObserver {
        let h = self.db_checkout_wait.clone();
        Arc::new(move |waited: Duration| h.observe(waited.as_secs_f64()))
    }
}

/// The method as a label: the common ones by name, anything else `other`, so a client can't
/// add series by inventing methods.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Who may read `/metrics` on the main listener.
#[derive(Debug, PartialEq, Eq)]
pub enum ScrapeAccess {
    /// No token is configured: the endpoint isn't there (404).
    Off,
    /// Missing or wrong token (401).
    Refused,
    Allowed,
}

/// The scraper's bearer token against `metrics.bearer_token`. Both sides are hashed first, so
/// the comparison is constant-time and says nothing about the token's length.
pub fn scrape_access(
    settings: &crate::config::MetricsSettings,
    bearer: Option<&str>,
) -> ScrapeAccess {
    let Some(expected) = settings.bearer_token.as_deref().filter(|t| !t.is_empty()) else {
        return ScrapeAccess::Off;
    };
    let Some(presented) = bearer.filter(|t| !t.is_empty()) else {
        return ScrapeAccess::Refused;
    };
    let same = crate::crypto::ct_eq(
        crate::crypto::token_hash(presented).as_bytes(),
        crate::crypto::token_hash(expected).as_bytes(),
    );
    if same {
        ScrapeAccess::Allowed
    } else {
        ScrapeAccess::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
        let odd = actix_web::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }

    #[test]
    fn the_scrape_token_is_compared_whole() {
        let mut s = crate::config::MetricsSettings::default();
        assert_eq!(scrape_access(&s, Some("anything")), ScrapeAccess::Off);
        s.bearer_token = Some("t".repeat(40));
        assert_eq!(scrape_access(&s, None), ScrapeAccess::Refused);
        assert_eq!(scrape_access(&s, Some("")), ScrapeAccess::Refused);
        assert_eq!(
            scrape_access(&s, Some(&"t".repeat(39))),
            ScrapeAccess::Refused
        );
        assert_eq!(
            scrape_access(&s, Some(&"t".repeat(40))),
            ScrapeAccess::Allowed
        );
    }

    #[test]
    fn servers_keep_their_own_figures() {
        let (a, b) = (Metrics::new("ES256"), Metrics::new("ES256"));
        a.refresh_token_reused();
        assert_eq!(a.refresh_reuses.get(), 1);
        assert_eq!(b.refresh_reuses.get(), 0);
    }
}

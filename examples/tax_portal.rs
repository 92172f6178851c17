//! Tax Portal: a small example relying party that signs users in with Verity.
//!
//! It uses the OpenID Connect authorization code flow with PKCE (S256), a nonce and a state
//! parameter, authenticates to the token endpoint with `client_secret_basic`, verifies the ID
//! token (signature, issuer, audience, expiry, nonce and `at_hash`) and then calls the userinfo
//! endpoint. Sessions are kept in memory only, so restarting the portal signs everybody out.
//!
//! # Running it next to Verity
//!
//! In one terminal, start Verity with the demo data (which registers the `tax-portal` client):
//!
//! ```text
//! cargo run -- serve --dev-demo
//! ```
//!
//! In another terminal, start the portal:
//!
//! ```text
//! cargo run --example tax_portal
//! ```
//!
//! Then open <http://localhost:8081> and click "Sign in with Verity".
//!
//! "Verify with Verity (IAL2)" asks for identity-verified assurance (`acr_values`
//! `urn:verity:ial2`) and for `verified_claims` (OpenID Connect for Identity Assurance 1.0)
//! in the ID token and at userinfo; `/verified` shows what came back. A person who hasn't
//! verified their identity yet is taken through Verity's verification first.
//!
//! # Shared Signals: signed out when something changes at Verity
//!
//! The portal is also a Shared Signals (SSF 1.0) receiver. At start-up it takes an access token
//! from its own `client_credentials` grant with scope `ssf.manage`, reads Verity's
//! `/.well-known/ssf-configuration`, and registers a push stream (RFC 8935) to its receiver
//! endpoint `POST /ssf/events` for CAEP `session-revoked` and `credential-change`. A stream it
//! registered before (same description) is replaced, so restarts don't add streams; it then
//! asks Verity for a verification event, and the start page says when that arrived.
//!
//! Each Security Event Token pushed to it is checked before anything happens: the
//! `Authorization` header it gave Verity for the stream, `Content-Type:
//! application/secevent+jwt`, header `typ` `secevent+jwt`, the signature against Verity's JWKS
//! (from discovery's `jwks_uri`, fetched again when a token names a key it doesn't know),
//! `iss` = Verity's issuer, `aud` = the portal's client id, no `sub` and no `exp` claim, a
//! `jti`, an `iat` and exactly one event. A good one is answered `202`; any other `400` with an
//! RFC 8935 error (`invalid_request`, `invalid_key`, `invalid_issuer`, `invalid_audience`,
//! `authentication_failed`, and `invalid_state` for a verification event it didn't ask for).
//! A `jti` seen before is answered `202` and not acted on again.
//!
//! When a `session-revoked` or `credential-change` event names a person signed in to the portal
//! (its `sub_id` is `{format: iss_sub, iss: <Verity>, sub: <the sub of their ID token>}`), the
//! portal ends their session(s); their next page view says why ("You were signed out because
//! your password changed at Verity", "... because your sessions were ended at Verity").
//! To see it: sign in to the portal, then change your password at Verity (Account → Password),
//! or choose "This wasn't me" on Verity's activity page.
//!
//! The push secret (`Authorization: Bearer …`) is derived from the client secret, so it stays
//! the same across restarts. When Verity's `default_subjects` is `NONE`, the portal adds each
//! person who signs in to its stream. If the stream can't be set up (say, the client lacks the
//! `client_credentials` grant or the `ssf.manage` scope), the portal still signs people in and
//! its start page says why signals are off.
//!
//! # Configuration (environment variables)
//!
//! | Variable                    | Default                            |
//! |-----------------------------|------------------------------------|
//! | `VERITY_ISSUER`             | `http://localhost:8080`            |
//! | `TAX_PORTAL_CLIENT_ID`      | `tax-portal`                       |
//! | `TAX_PORTAL_CLIENT_SECRET`  | `tax-portal-dev-secret`            |
//! | `TAX_PORTAL_LISTEN`         | `127.0.0.1:8081`                   |
//! | `TAX_PORTAL_REDIRECT_URI`   | `http://localhost:8081/callback`   |
//! | `TAX_PORTAL_RECEIVER_URL`   | `http://localhost:8081/ssf/events` |
//!
//! `TAX_PORTAL_RECEIVER_URL` is where Verity pushes events: the portal's receiver as Verity
//! reaches it. Verity in dev mode may push to `http://localhost`; in production it pushes only
//! to `https` URLs on public addresses.
//!
//! The defaults match the client that `verity serve --dev-demo` registers (with the
//! `client_credentials` grant and the `ssf.manage` scope).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    reqwest, AccessTokenHash, AuthenticationContextClass, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse,
};
use serde_json::{json, Value};

/// Name of the portal's session cookie. Cookies are not isolated by port, so this must not clash
/// with any cookie Verity itself sets on `localhost`.
const SESSION_COOKIE: &str = "tax_portal_session";

/// The identity-verified level the "Verify with Verity" button asks for.
const ACR_IAL2: &str = "urn:verity:ial2";

/// The `claims` request of the IAL2 sign-in: the verified name and birth date in the ID
/// token; everything the portal is allowed, with the document evidence, at userinfo.
const VERIFIED_CLAIMS_REQUEST: &str = r#"{
  "id_token": {
    "verified_claims": {
      "verification": { "trust_framework": null, "assurance_level": null, "time": null },
      "claims": { "given_name": null, "family_name": null, "birthdate": null }
    }
  },
  "userinfo": {
    "verified_claims": {
      "verification": {
        "trust_framework": null,
        "assurance_level": null,
        "time": null,
        "evidence": [{
          "type": { "value": "document" },
          "check_details": [{ "check_method": null }],
          "document_details": { "type": null, "issuer": null, "date_of_expiry": null }
        }]
      },
      "claims": {
        "given_name": null,
        "family_name": null,
        "birthdate": null,
        "address": null,
        "social_security_number": null
      }
    }
  }
}"#;

/// Where Verity pushes Security Event Tokens (RFC 8935).
const RECEIVER_PATH: &str = "/ssf/events";
/// How the portal recognises its own stream among its client's streams at Verity.
const STREAM_DESCRIPTION: &str = "Tax Portal sign-out signals (examples/tax_portal.rs)";
const DELIVERY_PUSH: &str = "urn:ietf:rfc:8935";
const SET_TYPE: &str = "secevent+jwt";
const EVENT_SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const EVENT_CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const EVENT_VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const WAITING_FOR_VERIFICATION: &str = "waiting for the verification event";
/// The largest SET read.
const MAX_SET_BYTES: usize = 64 * 1024;
/// A token naming an unknown key fetches the JWKS again, at most this often.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How many recent `jti`s are remembered, to act on a SET sent twice only once.
const SEEN_JTIS: usize = 10_000;
/// How long "you were signed out because..." waits for the person's next page view.
const ENDED_NOTICE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a started-but-unfinished sign-in is remembered.
const PENDING_LOGIN_TTL: Duration = Duration::from_secs(10 * 60);

/// How often (and how patiently) discovery is attempted at start-up.
const DISCOVERY_ATTEMPTS: u32 = 10;
const DISCOVERY_RETRY_DELAY: Duration = Duration::from_secs(1);

/// `CoreClient` in the typestate produced by `CoreClient::from_provider_metadata`: the
/// authorization endpoint is always set, token and userinfo endpoints may or may not be.
type TaxClient = CoreClient<
    EndpointSet,      // authorization endpoint
    EndpointNotSet,   // device authorization endpoint
    EndpointNotSet,   // introspection endpoint
    EndpointNotSet,   // revocation endpoint
    EndpointMaybeSet, // token endpoint
    EndpointMaybeSet, // userinfo endpoint
>;

struct Config {
    issuer: String,
    client_id: String,
    client_secret: String,
    listen: String,
    redirect_uri: String,
    receiver_url: String,
}

impl Config {
    fn from_env() -> Self {
        fn var(name: &str, default: &str) -> String {
            match std::env::var(name) {
                Ok(value) if !value.trim().is_empty() => value.trim().to_string(),
                _ => default.to_string(),
            }
        }
        Config {
            issuer: var("VERITY_ISSUER", "http://localhost:8080"),
            client_id: var("TAX_PORTAL_CLIENT_ID", "tax-portal"),
            client_secret: var("TAX_PORTAL_CLIENT_SECRET", "tax-portal-dev-secret"),
            listen: var("TAX_PORTAL_LISTEN", "127.0.0.1:8081"),
            redirect_uri: var("TAX_PORTAL_REDIRECT_URI", "http://localhost:8081/callback"),
            receiver_url: var(
                "TAX_PORTAL_RECEIVER_URL",
                &format!("http://localhost:8081{RECEIVER_PATH}"),
            ),
        }
    }
}

/// A sign-in that has been started (the browser was sent to Verity) but not yet completed.
struct PendingLogin {
    csrf_state: CsrfToken,
    nonce: Nonce,
    pkce_verifier: PkceCodeVerifier,
    started: Instant,
    /// The IAL2 sign-in ("Verify with Verity").
    ial2: bool,
}

/// What we know about a signed-in user.
struct SignedIn {
    subject: String,
    email: Option<String>,
    name: Option<String>,
    /// Verified ID token claims, as (claim, display value) rows.
    id_token_rows: Vec<(String, String)>,
    /// The ID token payload (middle part of the JWT), pretty-printed.
    id_token_payload: String,
    /// Claims returned by the userinfo endpoint, pretty-printed.
    userinfo_json: String,
    /// After an IAL2 sign-in: the `verified_claims` of the ID token and of userinfo.
    verified: Option<Verified>,
}

struct Verified {
    acr: Option<String>,
    id_token: Option<serde_json::Value>,
    userinfo: Option<serde_json::Value>,
}

/// A session Verity's signal ended, kept until the person's next page view says why.
struct Ended {
    subject: String,
    reason: SignOutReason,
    at: Instant,
}

enum Session {
    Pending(PendingLogin),
    SignedIn(Box<SignedIn>),
    Ended(Ended),
}

/// Why a signal from Verity ended a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SignOutReason {
    PasswordChanged,
    CredentialChanged,
    SessionsEnded,
    SessionsEndedByAdmin,
}

impl SignOutReason {
    fn message(self) -> &'static str {
        match self {
            SignOutReason::PasswordChanged => {
                "You were signed out because your password changed at Verity."
            }
            SignOutReason::CredentialChanged => {
                "You were signed out because your sign-in details changed at Verity."
            }
            SignOutReason::SessionsEnded => {
                "You were signed out because your sessions were ended at Verity."
            }
            SignOutReason::SessionsEndedByAdmin => {
                "You were signed out because an administrator at Verity ended your sessions."
            }
        }
    }

    /// A changed credential says more than "sessions ended" (Verity sends both when a password
    /// is reset): it wins when both arrive before the person comes back.
    fn says_more_than(self, other: SignOutReason) -> bool {
        let credential = |r| {
            matches!(
                r,
                SignOutReason::PasswordChanged | SignOutReason::CredentialChanged
            )
        };
        credential(self) && !credential(other)
    }
}

/// Where the portal's Shared Signals stream stands, for the start page.
enum SignalsStatus {
    Connecting,
    Connected,
    Off(String),
}

/// The portal's stream at Verity.
struct Signals {
    status: SignalsStatus,
    stream_id: Option<String>,
    /// The `state` of the verification the portal asked for, until its event arrives.
    verify_state: Option<String>,
    /// Where the verification stands, as the start page says it.
    verification: String,
    /// Set when Verity's `default_subjects` is `NONE`: each person who signs in is added.
    add_subject_endpoint: Option<String>,
}

/// Verity's signing keys, as last fetched from its `jwks_uri`.
#[derive(Default)]
struct JwksCache {
    keys: Option<jsonwebtoken::jwk::JwkSet>,
    fetched: Option<Instant>,
}

/// The `jti`s of SETs already acted on, oldest first, bounded.
#[derive(Default)]
struct SeenJtis {
    order: std::collections::VecDeque<String>,
    set: std::collections::HashSet<String>,
}

impl SeenJtis {
    fn contains(&self, jti: &str) -> bool {
        self.set.contains(jti)
    }

    fn insert(&mut self, jti: &str) {
        if self.set.insert(jti.to_string()) {
            self.order.push_back(jti.to_string());
            while self.order.len() > SEEN_JTIS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

struct AppState {
    client: TaxClient,
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    client_secret: String,
    userinfo_url: Option<String>,
    token_url: Option<String>,
    jwks_uri: String,
    receiver_url: String,
    /// The `Authorization` value Verity must send with each SET.
    push_authorization: String,
    sessions: Mutex<HashMap<String, Session>>,
    signals: Mutex<Signals>,
    jwks: tokio::sync::Mutex<JwksCache>,
    seen_jtis: Mutex<SeenJtis>,
}

/// Locks a mutex; a poisoned lock only means another handler panicked mid-update, and the data
/// is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        lock(&self.sessions)
    }

    fn signals(&self) -> MutexGuard<'_, Signals> {
        lock(&self.signals)
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// Escapes text for use in HTML element content and double-quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Compares two secrets without an early exit on the first differing byte.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Renders an error together with all of its sources ("a: b: c").
fn error_chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(out, ": {cause}");
        source = cause.source();
    }
    out
}

/// Shows at most a few hundred bytes of a server response body.
fn body_snippet(body: &[u8]) -> String {
    const MAX: usize = 500;
    let text = String::from_utf8_lossy(body);
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text.into_owned()
    }
}

fn new_session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn session_cookie(id: &str) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, id.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish()
}

fn removal_cookie() -> Cookie<'static> {
    let mut cookie = session_cookie("");
    cookie.make_removal();
    cookie
}

fn session_id(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// Wraps `body` (already-escaped HTML) into a complete page.
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; color: #1d2733; }}
  header {{ border-bottom: 3px solid #2d6a4f; margin-bottom: 1.5rem; }}
  h1 {{ color: #2d6a4f; margin-bottom: .3rem; }}
  table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }}
  th, td {{ text-align: left; border: 1px solid #ccd; padding: .35rem .6rem; vertical-align: top; }}
  th {{ background: #eef3f0; width: 12rem; }}
  pre {{ background: #f5f6f8; border: 1px solid #ccd; padding: .8rem; overflow-x: auto; }}
  .button {{ display: inline-block; background: #2d6a4f; color: #fff; border: 0; border-radius: 4px;
             padding: .6rem 1.2rem; font-size: 1rem; text-decoration: none; cursor: pointer; }}
  .error {{ border-left: 4px solid #b00020; background: #fdecee; padding: .8rem 1rem; }}
  .notice {{ border-left: 4px solid #b26a00; background: #fff4e0; padding: .8rem 1rem; margin-bottom: 1rem; }}
  .muted {{ color: #667; font-size: .9rem; }}
</style>
</head>
<body>
<header><h1>Tax Portal</h1><p class="muted">An example relying party for Verity</p></header>
{body}
</body>
</html>
"#,
        title = esc(title),
        body = body,
    )
}

fn html(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page(title, body))
}

fn error_page(
    status: actix_web::http::StatusCode,
    heading: &str,
    details: &[(&str, String)],
) -> HttpResponse {
    let mut body = format!(r#"<h2>{}</h2><div class="error"><dl>"#, esc(heading));
    for (term, detail) in details {
        let _ = write!(
            body,
            "<dt><strong>{}</strong></dt><dd>{}</dd>",
            esc(term),
            esc(detail)
        );
    }
    body.push_str(r#"</dl></div><p><a class="button" href="/login">Try again</a> <a href="/">Back to the start page</a></p>"#);
    html(status, heading, &body)
}

fn redirect_to(location: &str) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::SeeOther();
    builder
        .insert_header((header::LOCATION, location.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

#[get("/")]
async fn index(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut sessions = state.sessions();
    let id = session_id(&req);
    // A session a signal from Verity ended: say why, once.
    let ended = match id.as_ref().and_then(|id| sessions.get(id)) {
        Some(Session::Ended(ended)) => Some(ended.reason),
        _ => None,
    };
    if ended.is_some() {
        if let Some(id) = &id {
            sessions.remove(id);
        }
    }
    let signed_in = id.as_ref().and_then(|id| match sessions.get(id) {
        Some(Session::SignedIn(user)) => Some(user),
        _ => None,
    });

    let mut body = match signed_in {
        None => format!(
            r#"{notice}<p>Welcome! File your taxes, check your refund and update your details.</p>
<p>You are not signed in.</p>
<p><a class="button" href="/login">Sign in with Verity</a>
   <a class="button" href="/verify-identity">Verify with Verity (IAL2)</a></p>
<p class="muted">Filing needs your verified identity: the second button asks Verity for it.</p>
<p class="muted">Identity provider: {issuer} &middot; client: {client}</p>"#,
            notice = ended
                .map(|reason| format!(
                    r#"<div class="notice" role="status"><strong>{}</strong></div>"#,
                    esc(reason.message())
                ))
                .unwrap_or_default(),
            issuer = esc(&state.issuer),
            client = esc(&state.client_id),
        ),
        Some(user) => {
            let who = user.name.as_deref().unwrap_or(&user.subject);
            let mut body = format!(
                r#"<h2>Welcome, {who}</h2>
<table>
<tr><th>Subject (sub)</th><td><code>{sub}</code></td></tr>
<tr><th>Email</th><td>{email}</td></tr>
</table>
<p>{verify}</p>
<form method="post" action="/logout"><button class="button" type="submit">Sign out</button></form>
<h3>ID token claims (verified)</h3>
<table>"#,
                who = esc(who),
                sub = esc(&user.subject),
                email = esc(user.email.as_deref().unwrap_or("(not provided)")),
                verify = if user.verified.is_some() {
                    r#"<a class="button" href="/verified">Your verified identity</a>"#
                } else {
                    r#"<a class="button" href="/verify-identity">Verify with Verity (IAL2)</a>"#
                },
            );
            for (claim, value) in &user.id_token_rows {
                let _ = write!(
                    body,
                    "<tr><th><code>{}</code></th><td>{}</td></tr>",
                    esc(claim),
                    esc(value)
                );
            }
            let _ = write!(
                body,
                r#"</table>
<h3>ID token payload</h3>
<pre>{payload}</pre>
<h3>Userinfo response</h3>
<pre>{userinfo}</pre>
<p class="muted">Signing out only ends the session with the Tax Portal; you may still be signed in at Verity.</p>"#,
                payload = esc(&user.id_token_payload),
                userinfo = esc(&user.userinfo_json),
            );
            body
        }
    };
    drop(sessions);
    body.push_str(&signals_footer(&state));
    let mut res = html(actix_web::http::StatusCode::OK, "Tax Portal", &body);
    if ended.is_some() {
        let _ = res.add_removal_cookie(&removal_cookie());
    }
    res
}

/// One line on where the Shared Signals stream stands.
fn signals_footer(state: &AppState) -> String {
    let signals = state.signals();
    let line = match &signals.status {
        SignalsStatus::Connecting => "Shared Signals: connecting to Verity…".to_string(),
        SignalsStatus::Off(why) => format!("Shared Signals: off ({why})"),
        SignalsStatus::Connected => format!(
            "Shared Signals: connected (stream {}; Verity pushes to {}; {})",
            signals.stream_id.as_deref().unwrap_or("?"),
            state.receiver_url,
            signals.verification
        ),
    };
    format!(r#"<p class="muted" id="signals">{}</p>"#, esc(&line))
}

#[get("/login")]
async fn login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    start_sign_in(&req, &state, false)
}

/// The IAL2 sign-in: `acr_values=urn:verity:ial2` and a `claims` request for
/// `verified_claims`.
#[get("/verify-identity")]
async fn verify_identity(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    start_sign_in(&req, &state, true)
}

fn start_sign_in(req: &HttpRequest, state: &AppState, ial2: bool) -> HttpResponse {
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = state
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_string()))
        .add_scope(Scope::new("email".to_string()))
        .add_scope(Scope::new("phone".to_string()))
        .set_pkce_challenge(pkce_challenge);
    if ial2 {
        request = request
            .add_auth_context_value(AuthenticationContextClass::new(ACR_IAL2.to_string()))
            .add_extra_param("claims", VERIFIED_CLAIMS_REQUEST);
    }
    let (auth_url, csrf_state, nonce) = request.url();

    let id = new_session_id();
    {
        let mut sessions = state.sessions();
        // Forget abandoned sign-ins so the map cannot grow without bound.
        sessions.retain(|_, session| match session {
            Session::Pending(pending) => pending.started.elapsed() < PENDING_LOGIN_TTL,
            Session::SignedIn(_) => true,
            Session::Ended(ended) => ended.at.elapsed() < ENDED_NOTICE_TTL,
        });
        // Starting a new sign-in replaces whatever session this browser had.
        if let Some(old) = session_id(req) {
            sessions.remove(&old);
        }
        sessions.insert(
            id.clone(),
            Session::Pending(PendingLogin {
                csrf_state,
                nonce,
                pkce_verifier,
                started: Instant::now(),
                ial2,
            }),
        );
    }

    redirect_to(auth_url.as_str())
        .cookie(session_cookie(&id))
        .finish()
}

#[get("/callback")]
async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    use actix_web::http::StatusCode;

    let params: HashMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();

    // Take the pending sign-in out of the map: a state/nonce/verifier triple is single-use.
    let pending = session_id(&req).and_then(|id| {
        let mut sessions = state.sessions();
        match sessions.remove(&id) {
            Some(Session::Pending(pending)) => Some(pending),
            Some(other) => {
                sessions.insert(id, other);
                None
            }
            None => None,
        }
    });

    let state_matches = match (&pending, params.get("state")) {
        (Some(pending), Some(returned)) => constant_time_eq(pending.csrf_state.secret(), returned),
        _ => false,
    };

    if let Some(error) = params.get("error") {
        let mut details = vec![("error", error.clone())];
        if let Some(description) = params.get("error_description") {
            details.push(("error_description", description.clone()));
        }
        if let Some(uri) = params.get("error_uri") {
            details.push(("error_uri", uri.clone()));
        }
        if !state_matches {
            details.push((
                "note",
                "this response did not match a sign-in started by this browser".to_string(),
            ));
        }
        eprintln!("tax_portal: provider returned error {error:?}");
        return error_page(
            StatusCode::BAD_REQUEST,
            "Verity did not sign you in",
            &details,
        );
    }

    let Some(pending) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "No sign-in in progress",
            &[(
                "details",
                "The session cookie is missing or the sign-in expired (or was already completed). \
                 Please start again."
                    .to_string(),
            )],
        );
    };
    if !state_matches {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid state",
            &[(
                "details",
                "The state parameter returned by the provider does not match the one we sent. \
                 This can indicate a CSRF attempt or a stale browser tab."
                    .to_string(),
            )],
        );
    }
    let Some(code) = params.get("code") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Missing authorization code",
            &[(
                "details",
                "The provider redirected back without a code.".to_string(),
            )],
        );
    };

    match complete_sign_in(&state, code, pending).await {
        Ok(user) => {
            // With `default_subjects` NONE, Verity tells the portal only about people added to
            // its stream.
            let add_subject = state.signals().add_subject_endpoint.clone();
            if let Some(endpoint) = add_subject {
                if let Err(why) = add_subject_to_stream(&state, &endpoint, &user.subject).await {
                    eprintln!("tax_portal: adding the person to the stream failed: {why}");
                }
            }
            let id = new_session_id();
            state
                .sessions()
                .insert(id.clone(), Session::SignedIn(Box::new(user)));
            redirect_to("/").cookie(session_cookie(&id)).finish()
        }
        Err(failure) => {
            eprintln!("tax_portal: sign-in failed: {}: {}", failure.0, failure.1);
            error_page(
                StatusCode::BAD_GATEWAY,
                "Sign-in failed",
                &[("step", failure.0.to_string()), ("details", failure.1)],
            )
        }
    }
}

/// What the IAL2 sign-in received: the verification and the verified claims.
#[get("/verified")]
async fn verified_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let sessions = state.sessions();
    let user = session_id(&req).and_then(|id| match sessions.get(&id) {
        Some(Session::SignedIn(user)) => Some(user),
        _ => None,
    });
    let Some(verified) = user.and_then(|u| u.verified.as_ref()) else {
        drop(sessions);
        return redirect_to("/").finish();
    };
    let mut body = format!(
        r#"<h2>Your verified identity</h2>
<p>Verity verified this identity (<code>acr</code> {acr}). Only what the Tax Portal asked for and
you allowed is shown.</p>"#,
        acr = esc(verified.acr.as_deref().unwrap_or("(not present)")),
    );
    // Userinfo has the full request (with the evidence); the ID token the short one.
    match verified.userinfo.as_ref().or(verified.id_token.as_ref()) {
        None => body.push_str(
            r#"<div class="error">Verity returned no verified claims: the verification may not
meet the request, or you didn't allow them.</div>"#,
        ),
        Some(vc) => {
            // One object, or an array of them.
            let elements: Vec<&serde_json::Value> = match vc {
                serde_json::Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for element in elements {
                body.push_str(&verified_tables(element));
            }
        }
    }
    let pretty = |v: &Option<serde_json::Value>| match v {
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        None => "(none)".to_string(),
    };
    let _ = write!(
        body,
        r#"<h3><code>verified_claims</code> in the ID token</h3><pre>{}</pre>
<h3><code>verified_claims</code> at userinfo</h3><pre>{}</pre>
<p><a href="/">Back</a></p>"#,
        esc(&mask_ssn(&pretty(&verified.id_token))),
        esc(&mask_ssn(&pretty(&verified.userinfo))),
    );
    drop(sessions);
    html(
        actix_web::http::StatusCode::OK,
        "Your verified identity",
        &body,
    )
}

/// The claims and the verification of one `verified_claims` object, as tables.
fn verified_tables(element: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::from("<h3>Verified claims</h3><table>");
    let claims = element["claims"].as_object().cloned().unwrap_or_default();
    for (label, key) in [
        ("Given name", "given_name"),
        ("Family name", "family_name"),
        ("Date of birth", "birthdate"),
        ("Address", "address"),
        ("Social Security number", "social_security_number"),
    ] {
        let value = match claims.get(key) {
            None => continue,
            Some(serde_json::Value::Object(a)) => a
                .get("formatted")
                .map(text)
                .unwrap_or_else(|| serde_json::Value::Object(a.clone()).to_string()),
            // Shown masked: the portal keeps the number, a screen doesn't need it.
            Some(v) if key == "social_security_number" => mask(&text(v)),
            Some(v) => text(v),
        };
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(label),
            esc(&value).replace('\n', "<br>")
        );
    }
    out.push_str("</table><h3>How it was verified</h3><table>");
    let v = &element["verification"];
    let evidence = &v["evidence"][0];
    let document = &evidence["document_details"];
    for (label, value) in [
        ("Trust framework", &v["trust_framework"]),
        ("Assurance level", &v["assurance_level"]),
        ("Verified at", &v["time"]),
        ("Evidence", &evidence["type"]),
        ("Document", &document["type"]),
        ("Issued by", &document["issuer"]),
        ("Document expires", &document["date_of_expiry"]),
    ] {
        if !value.is_null() {
            let _ = write!(
                out,
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(label),
                esc(&text(value))
            );
        }
    }
    out.push_str("</table>");
    out
}

/// `123456789` → `***-**-6789`.
fn mask(ssn: &str) -> String {
    let digits: String = ssn.chars().filter(char::is_ascii_digit).collect();
    let last4 = digits.get(digits.len().saturating_sub(4)..).unwrap_or("");
    format!("***-**-{last4}")
}

/// Masks the SSN inside pretty-printed JSON.
fn mask_ssn(json: &str) -> String {
    json.lines()
        .map(
            |line| match line.split_once("\"social_security_number\": \"") {
                Some((head, rest)) => {
                    let (number, tail) = rest.split_once('"').unwrap_or((rest, ""));
                    format!(
                        "{head}\"social_security_number\": \"{}\"{tail}",
                        mask(number)
                    )
                }
                None => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[post("/logout")]
async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(id) = session_id(&req) {
        state.sessions().remove(&id);
    }
    redirect_to("/").cookie(removal_cookie()).finish()
}

// ---------------------------------------------------------------------------------------------
// The actual OpenID Connect work
// ---------------------------------------------------------------------------------------------

/// A failed sign-in step: (which step, human-readable details).
struct Failure(&'static str, String);

async fn complete_sign_in(
    state: &AppState,
    code: &str,
    pending: PendingLogin,
) -> Result<SignedIn, Failure> {
    // 1. Exchange the code (client_secret_basic is the default auth type) with the PKCE verifier.
    let token_response = state
        .client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| Failure("token request", error_chain(&e)))?
        .set_pkce_verifier(pending.pkce_verifier)
        .request_async(&state.http)
        .await
        .map_err(|e| {
            let mut details = error_chain(&e);
            if let RequestTokenError::Parse(_, body) = &e {
                let _ = write!(details, " (response body: {})", body_snippet(body));
            }
            Failure("token request", details)
        })?;

    // 2. Verify the ID token: signature, iss, aud, exp/iat and nonce.
    let id_token = token_response.id_token().ok_or_else(|| {
        Failure(
            "ID token",
            "the token response contained no id_token".to_string(),
        )
    })?;
    let verifier = state.client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &pending.nonce)
        .map_err(|e| Failure("ID token verification", error_chain(&e)))?;

    // 3. Check at_hash so the access token cannot have been swapped for another one.
    let mut at_hash_status = "not present";
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| Failure("at_hash check", error_chain(&e)))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| Failure("at_hash check", error_chain(&e)))?;
        let actual = AccessTokenHash::from_token(token_response.access_token(), alg, key)
            .map_err(|e| Failure("at_hash check", error_chain(&e)))?;
        if !constant_time_eq(actual.as_str(), expected.as_str()) {
            return Err(Failure(
                "at_hash check",
                "the at_hash claim does not match the access token".to_string(),
            ));
        }
        at_hash_status = "present, matches the access token";
    }

    let payload = decode_jwt_payload(id_token);
    let id_token_rows = claim_rows(claims, payload.as_ref().ok(), at_hash_status);
    let id_token_payload = match &payload {
        Ok(value) => serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("(could not format payload: {e})")),
        Err(e) => format!("(could not decode payload: {e})"),
    };

    // 4. Call userinfo; the library checks that its `sub` matches the ID token's.
    let userinfo: CoreUserInfoClaims = state
        .client
        .user_info(
            token_response.access_token().to_owned(),
            Some(claims.subject().clone()),
        )
        .map_err(|e| Failure("userinfo request", error_chain(&e)))?
        .request_async(&state.http)
        .await
        .map_err(|e| Failure("userinfo request", error_chain(&e)))?;
    let userinfo_json = serde_json::to_string_pretty(&userinfo)
        .unwrap_or_else(|e| format!("(could not format userinfo: {e})"));

    // 5. After the IAL2 sign-in: the acr and verified_claims, read raw (the library doesn't
    //    model OpenID Connect for Identity Assurance).
    let verified = if pending.ial2 {
        let userinfo_raw = match &state.userinfo_url {
            Some(url) => fetch_json(state, url, token_response.access_token().secret()).await?,
            None => serde_json::Value::Null,
        };
        Some(Verified {
            acr: claims.auth_context_ref().map(|a| a.as_str().to_string()),
            id_token: payload
                .as_ref()
                .ok()
                .and_then(|p| p.get("verified_claims").cloned()),
            userinfo: userinfo_raw.get("verified_claims").cloned(),
        })
    } else {
        None
    };

    let email = claims
        .email()
        .or_else(|| userinfo.email())
        .map(|email| email.as_str().to_string());
    let name = claims
        .name()
        .or_else(|| userinfo.name())
        .and_then(|name| name.get(None))
        .map(|name| name.as_str().to_string());

    Ok(SignedIn {
        subject: claims.subject().as_str().to_string(),
        email,
        name,
        id_token_rows,
        id_token_payload,
        userinfo_json,
        verified,
    })
}

/// GETs a JSON resource with the access token.
async fn fetch_json(
    state: &AppState,
    url: &str,
    access_token: &str,
) -> Result<serde_json::Value, Failure> {
    let res = state
        .http
        .get(url)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| Failure("userinfo request", error_chain(&e)))?;
    let body = res
        .bytes()
        .await
        .map_err(|e| Failure("userinfo request", error_chain(&e)))?;
    serde_json::from_slice(&body).map_err(|e| {
        Failure(
            "userinfo request",
            format!("{e} (body: {})", body_snippet(&body)),
        )
    })
}

/// Decodes the (already verified) ID token's payload, i.e. the middle base64url part of the JWT,
/// so that claims the library does not model (such as `sid`) can be shown too.
fn decode_jwt_payload(id_token: &CoreIdToken) -> Result<serde_json::Value, String> {
    let compact = id_token.to_string();
    let part = compact
        .split('.')
        .nth(1)
        .ok_or_else(|| "the ID token is not a compact JWS".to_string())?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("invalid base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("invalid JSON: {e}"))
}

fn claim_rows(
    claims: &CoreIdTokenClaims,
    payload: Option<&serde_json::Value>,
    at_hash_status: &str,
) -> Vec<(String, String)> {
    let none = || "(not present)".to_string();
    let raw_number = |name: &str| {
        payload
            .and_then(|p| p.get(name))
            .and_then(serde_json::Value::as_i64)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    };
    let mut rows = vec![
        ("iss".to_string(), claims.issuer().as_str().to_string()),
        ("sub".to_string(), claims.subject().as_str().to_string()),
        (
            "aud".to_string(),
            claims
                .audiences()
                .iter()
                .map(|aud| aud.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "azp".to_string(),
            claims
                .authorized_party()
                .map(|azp| azp.as_str().to_string())
                .unwrap_or_else(none),
        ),
        (
            "exp".to_string(),
            format!("{}{}", claims.expiration().to_rfc3339(), raw_number("exp")),
        ),
        (
            "iat".to_string(),
            format!("{}{}", claims.issue_time().to_rfc3339(), raw_number("iat")),
        ),
        (
            "auth_time".to_string(),
            claims
                .auth_time()
                .map(|t| format!("{}{}", t.to_rfc3339(), raw_number("auth_time")))
                .unwrap_or_else(none),
        ),
        (
            "acr".to_string(),
            claims
                .auth_context_ref()
                .map(|acr| acr.as_str().to_string())
                .unwrap_or_else(none),
        ),
        (
            "amr".to_string(),
            claims
                .auth_method_refs()
                .map(|amr| {
                    amr.iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(none),
        ),
        (
            "nonce".to_string(),
            if claims.nonce().is_some() {
                "present, matches the one we sent".to_string()
            } else {
                none()
            },
        ),
        ("at_hash".to_string(), at_hash_status.to_string()),
    ];
    let sid = payload
        .and_then(|p| p.get("sid"))
        .map(|sid| match sid {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_else(none);
    rows.push(("sid".to_string(), sid));
    rows.push((
        "email".to_string(),
        claims
            .email()
            .map(|e| e.as_str().to_string())
            .unwrap_or_else(none),
    ));
    rows
}

/// Fetches the provider metadata (and JWKS), retrying while Verity is still starting up.
async fn discover(
    issuer: &IssuerUrl,
    http: &reqwest::Client,
) -> Result<CoreProviderMetadata, String> {
    let mut attempt = 1;
    loop {
        match CoreProviderMetadata::discover_async(issuer.clone(), http).await {
            Ok(metadata) => return Ok(metadata),
            Err(err) => {
                // Only connection problems and odd HTTP statuses are worth waiting for; a document
                // that does not parse or validate will not fix itself.
                let retryable = matches!(
                    err,
                    DiscoveryError::Request(_) | DiscoveryError::Response(..)
                );
                let message = match &err {
                    DiscoveryError::Response(status, body, msg) => {
                        format!("HTTP {status}: {msg} (body: {})", body_snippet(body))
                    }
                    other => error_chain(other),
                };
                if !retryable || attempt >= DISCOVERY_ATTEMPTS {
                    return Err(message);
                }
                eprintln!(
                    "tax_portal: discovery attempt {attempt}/{DISCOVERY_ATTEMPTS} failed ({message}); retrying..."
                );
                attempt += 1;
                tokio::time::sleep(DISCOVERY_RETRY_DELAY).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared Signals: the portal's stream at Verity, and the push receiver
// ---------------------------------------------------------------------------------------------

/// The `Authorization` value Verity sends with each push. Derived from the client secret, so
/// it is the same after a restart (a SET already on its way with the old value isn't refused)
/// and nobody without the secret can work it out.
fn push_authorization(client_secret: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, client_secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, b"tax-portal/ssf-push-authorization");
    format!("Bearer {}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Sends a request with the bearer token and an optional JSON body; answers the status and
/// the JSON body (Null when empty).
async fn call_json(
    state: &AppState,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let mut req = state
        .http
        .request(method.clone(), url)
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(body) = body {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {}", error_chain(&e)))?;
    let status = res.status().as_u16();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| format!("{method} {url}: {}", error_chain(&e)))?;
    let value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(body_snippet(&bytes)))
    };
    Ok((status, value))
}

/// What an error answer says: `{err, description}` (SSF) or `{error, error_description}`
/// (OAuth).
fn refusal_text(status: u16, body: &Value) -> String {
    let field = |a: &str, b: &str| {
        body.get(a)
            .or_else(|| body.get(b))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (err, description) = (
        field("err", "error"),
        field("description", "error_description"),
    );
    match (err.is_empty(), description.is_empty()) {
        (true, true) => format!("HTTP {status}: {body}"),
        _ => format!("HTTP {status}: {err}: {description}"),
    }
}

/// An access token from the portal's own `client_credentials` grant, with `ssf.manage`.
async fn manage_token(state: &AppState) -> Result<String, String> {
    let url = state
        .token_url
        .as_deref()
        .ok_or("Verity's discovery names no token endpoint")?;
    let res = state
        .http
        .post(url)
        .basic_auth(&state.client_id, Some(&state.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "ssf.manage"),
        ])
        .send()
        .await
        .map_err(|e| format!("token request: {}", error_chain(&e)))?;
    let status = res.status().as_u16();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| format!("token request: {}", error_chain(&e)))?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match body.get("access_token").and_then(Value::as_str) {
        Some(token) if status == 200 => Ok(token.to_string()),
        _ => Err(format!(
            "Verity refused a client_credentials token with scope ssf.manage ({}); check the \
             client id and secret, and that the client has that grant and scope (`verity serve \
             --dev-demo` registers tax-portal with both)",
            refusal_text(status, &body)
        )),
    }
}

/// The endpoints of Verity's transmitter configuration (SSF §7) the portal uses.
struct SsfEndpoints {
    configuration: String,
    status: String,
    verification: String,
    add_subject: String,
    default_subjects_none: bool,
}

/// Reads `/.well-known/ssf-configuration` (placed before the issuer's path, SSF §7.2).
async fn ssf_configuration(state: &AppState) -> Result<SsfEndpoints, String> {
    let issuer = url::Url::parse(&state.issuer).map_err(|e| e.to_string())?;
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/ssf-configuration{path}"));
    let res = state
        .http
        .get(url.as_str())
        .send()
        .await
        .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
    let status = res.status().as_u16();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
    if status != 200 {
        return Err(format!(
            "{url} answered HTTP {status}: Verity's Shared Signals aren't available"
        ));
    }
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{url}: {e}"))?;
    if doc["issuer"].as_str() != Some(state.issuer.as_str()) {
        return Err(format!(
            "the SSF configuration names issuer {}, not {}",
            doc["issuer"], state.issuer
        ));
    }
    let pushes = doc["delivery_methods_supported"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m == DELIVERY_PUSH));
    if !pushes {
        return Err("Verity doesn't offer push delivery".to_string());
    }
    let endpoint = |name: &str| {
        doc[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("the SSF configuration has no {name}"))
    };
    Ok(SsfEndpoints {
        configuration: endpoint("configuration_endpoint")?,
        status: endpoint("status_endpoint")?,
        verification: endpoint("verification_endpoint")?,
        add_subject: endpoint("add_subject_endpoint")?,
        default_subjects_none: doc["default_subjects"] == "NONE",
    })
}

/// `url?stream_id=<id>`.
fn with_stream_id(url: &str, stream_id: &str) -> Result<String, String> {
    url::Url::parse_with_params(url, &[("stream_id", stream_id)])
        .map(String::from)
        .map_err(|e| format!("{url}: {e}"))
}

/// Runs at start-up, next to the server: sets up the stream, or says on the start page why
/// signals are off.
async fn connect_shared_signals(state: web::Data<AppState>) {
    if let Err(why) = set_up_stream(&state).await {
        eprintln!("tax_portal: Shared Signals are off: {why}");
        state.signals().status = SignalsStatus::Off(why);
    }
}

/// Creates the portal's push stream, or replaces the one it registered before (and deletes
/// any more of them), makes sure it is enabled, and asks for a verification event.
async fn set_up_stream(state: &AppState) -> Result<(), String> {
    let ssf = ssf_configuration(state).await?;
    let token = manage_token(state).await?;
    let (status, existing) = call_json(
        state,
        reqwest::Method::GET,
        &ssf.configuration,
        &token,
        None,
    )
    .await?;
    if status != 200 {
        return Err(format!(
            "reading the client's streams: {}",
            refusal_text(status, &existing)
        ));
    }
    let streams = match existing {
        Value::Array(streams) => streams,
        Value::Null => Vec::new(),
        one => vec![one],
    };
    let mut ours = streams
        .into_iter()
        .filter(|s| s["description"] == STREAM_DESCRIPTION);
    let previous = ours.next();
    for extra in ours {
        if let Some(id) = extra["stream_id"].as_str() {
            let url = with_stream_id(&ssf.configuration, id)?;
            let (status, body) =
                call_json(state, reqwest::Method::DELETE, &url, &token, None).await?;
            if status != 204 {
                eprintln!(
                    "tax_portal: deleting an extra stream {id}: {}",
                    refusal_text(status, &body)
                );
            }
        }
    }
    let mut config = json!({
        "delivery": {
            "method": DELIVERY_PUSH,
            "endpoint_url": state.receiver_url,
            "authorization_header": state.push_authorization,
        },
        "events_requested": [EVENT_SESSION_REVOKED, EVENT_CREDENTIAL_CHANGE],
        "description": STREAM_DESCRIPTION,
    });
    let previous_id = previous
        .as_ref()
        .and_then(|s| s["stream_id"].as_str())
        .map(str::to_string);
    let (status, stream) = match &previous_id {
        Some(id) => {
            config["stream_id"] = json!(id);
            call_json(
                state,
                reqwest::Method::PUT,
                &ssf.configuration,
                &token,
                Some(&config),
            )
            .await?
        }
        None => {
            call_json(
                state,
                reqwest::Method::POST,
                &ssf.configuration,
                &token,
                Some(&config),
            )
            .await?
        }
    };
    if status == 409 {
        return Err(format!(
            "the client holds as many streams as Verity allows; delete one \
             (DELETE {}?stream_id=…) and restart the portal",
            ssf.configuration
        ));
    }
    if !matches!(status, 200 | 201) {
        return Err(format!(
            "setting up the stream: {}",
            refusal_text(status, &stream)
        ));
    }
    let stream_id = stream["stream_id"]
        .as_str()
        .ok_or("Verity's answer names no stream_id")?
        .to_string();
    // The receiver accepts SETs addressed to the client id only.
    if stream["aud"] != state.client_id.as_str() {
        return Err(format!(
            "the stream's aud is {}, not the client id {}",
            stream["aud"], state.client_id
        ));
    }

    let status_url = with_stream_id(&ssf.status, &stream_id)?;
    let (status, current) =
        call_json(state, reqwest::Method::GET, &status_url, &token, None).await?;
    if status == 200 && current["status"] != "enabled" {
        println!(
            "Tax Portal: stream {stream_id} was {}; enabling it",
            current["status"]
        );
        let body = json!({ "stream_id": stream_id, "status": "enabled" });
        let (status, answer) = call_json(
            state,
            reqwest::Method::POST,
            &ssf.status,
            &token,
            Some(&body),
        )
        .await?;
        if status != 200 {
            return Err(format!(
                "enabling the stream: {}",
                refusal_text(status, &answer)
            ));
        }
    }

    let verify_state = new_session_id();
    {
        let mut signals = state.signals();
        signals.stream_id = Some(stream_id.clone());
        signals.status = SignalsStatus::Connected;
        signals.verification = WAITING_FOR_VERIFICATION.to_string();
        signals.verify_state = Some(verify_state.clone());
        signals.add_subject_endpoint = ssf.default_subjects_none.then(|| ssf.add_subject.clone());
    }
    println!(
        "Tax Portal: Shared Signals stream {stream_id} ({}) pushes to {}",
        if previous_id.is_some() {
            "replaced"
        } else {
            "created"
        },
        state.receiver_url
    );
    let body = json!({ "stream_id": stream_id, "state": verify_state });
    let (status, answer) = call_json(
        state,
        reqwest::Method::POST,
        &ssf.verification,
        &token,
        Some(&body),
    )
    .await?;
    if status != 204 {
        // Not fatal: events still arrive (a 429 when restarted within
        // min_verification_interval).
        let why = refusal_text(status, &answer);
        eprintln!("tax_portal: asking for a verification event: {why}");
        let mut signals = state.signals();
        signals.verify_state = None;
        signals.verification = format!("not verified this time: {why}");
    }
    Ok(())
}

/// Adds a person who just signed in to the stream (Verity's `default_subjects` is `NONE`).
async fn add_subject_to_stream(
    state: &AppState,
    endpoint: &str,
    subject: &str,
) -> Result<(), String> {
    let stream_id = state
        .signals()
        .stream_id
        .clone()
        .ok_or("there is no stream")?;
    let token = manage_token(state).await?;
    let body = json!({
        "stream_id": stream_id,
        "subject": { "format": "iss_sub", "iss": state.issuer, "sub": subject },
    });
    let (status, answer) =
        call_json(state, reqwest::Method::POST, endpoint, &token, Some(&body)).await?;
    if status == 200 {
        Ok(())
    } else {
        Err(refusal_text(status, &answer))
    }
}

/// Why a pushed SET is refused (RFC 8935 §2.3): `400` with `{err, description}`.
#[derive(Debug)]
struct SetRefusal {
    err: &'static str,
    description: String,
}

fn refuse(err: &'static str, description: impl Into<String>) -> SetRefusal {
    SetRefusal {
        err,
        description: description.into(),
    }
}

/// `POST /ssf/events`: the push receiver (RFC 8935).
#[post("/ssf/events")]
async fn receive_set(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    match accept_set(&req, &body, &state).await {
        Ok(()) => HttpResponse::Accepted().finish(),
        Err(refusal) => {
            eprintln!(
                "tax_portal: refused a SET: {}: {}",
                refusal.err, refusal.description
            );
            HttpResponse::BadRequest()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(json!({ "err": refusal.err, "description": refusal.description }))
        }
    }
}

async fn accept_set(req: &HttpRequest, body: &[u8], state: &AppState) -> Result<(), SetRefusal> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !constant_time_eq(presented, &state.push_authorization) {
        return Err(refuse(
            "authentication_failed",
            "the Authorization header is missing or isn't the one given for this stream",
        ));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if content_type.as_deref() != Some("application/secevent+jwt") {
        return Err(refuse(
            "invalid_request",
            "the body must be a SET sent as application/secevent+jwt",
        ));
    }
    let token = std::str::from_utf8(body)
        .map_err(|_| refuse("invalid_request", "the body is not text"))?
        .trim();
    let claims = verify_set(state, token).await?;
    let jti = claims["jti"].as_str().unwrap_or_default();
    // RFC 8935: a SET may come twice (the transmitter retries when it saw no answer).
    if lock(&state.seen_jtis).contains(jti) {
        return Ok(());
    }
    act_on(state, &claims)?;
    lock(&state.seen_jtis).insert(jti);
    Ok(())
}

/// The signature against Verity's JWKS, then the claims an SSF SET must (and must not) have.
/// Returns the claims.
async fn verify_set(state: &AppState, token: &str) -> Result<Value, SetRefusal> {
    use jsonwebtoken::errors::ErrorKind;
    use jsonwebtoken::Algorithm;

    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| refuse("invalid_request", format!("not a signed JWT: {e}")))?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(SET_TYPE))
    {
        return Err(refuse(
            "invalid_request",
            format!("the header's typ must be {SET_TYPE}"),
        ));
    }
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(refuse(
            "invalid_request",
            format!("alg {:?} is not accepted (RS256 or ES256)", header.alg),
        ));
    }
    let kid = header
        .kid
        .as_deref()
        .ok_or_else(|| refuse("invalid_key", "the header names no key (kid)"))?;
    let jwk = signing_key(state, kid)
        .await
        .ok_or_else(|| refuse("invalid_key", format!("key {kid} is not in Verity's JWKS")))?;
    if let Some(alg) = jwk.common.key_algorithm {
        if Algorithm::try_from(alg).ok() != Some(header.alg) {
            return Err(refuse(
                "invalid_key",
                format!("key {kid} is not a {:?} key", header.alg),
            ));
        }
    }
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk)
        .map_err(|e| refuse("invalid_key", format!("key {kid}: {e}")))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    // SETs carry no exp (SSF §4.1.9); refused below if one does.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.set_issuer(&[&state.issuer]);
    validation.set_audience(&[&state.client_id]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidIssuer => refuse("invalid_issuer", "iss is not Verity's issuer"),
            ErrorKind::MissingRequiredClaim(c) if c == "iss" => {
                refuse("invalid_issuer", "the SET has no iss")
            }
            ErrorKind::InvalidAudience => refuse(
                "invalid_audience",
                "aud is not this portal's client id (the stream's audience)",
            ),
            ErrorKind::MissingRequiredClaim(c) if c == "aud" => {
                refuse("invalid_audience", "the SET has no aud")
            }
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEcdsaKey => refuse(
                "invalid_key",
                format!("the signature doesn't verify with Verity's key {kid}"),
            ),
            _ => refuse("invalid_request", format!("the SET can't be read: {e}")),
        })?
        .claims;
    // SSF 1.0 §4.1: a SET is told apart from other JWTs by having neither.
    for forbidden in ["sub", "exp"] {
        if claims.get(forbidden).is_some() {
            return Err(refuse(
                "invalid_request",
                format!("a SET must not carry {forbidden} (the subject is in sub_id)"),
            ));
        }
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(refuse("invalid_request", "the SET has no jti"));
    }
    if !claims["iat"].is_number() {
        return Err(refuse("invalid_request", "the SET has no iat"));
    }
    if claims["events"].as_object().map(|e| e.len()) != Some(1) {
        return Err(refuse("invalid_request", "a SET carries exactly one event"));
    }
    if !claims["sub_id"].is_object() {
        return Err(refuse("invalid_request", "the SET has no sub_id"));
    }
    Ok(claims)
}

/// Verity's key `kid`, fetching the JWKS again (at most every `JWKS_REFETCH_INTERVAL`) when
/// it isn't known: Verity publishes a new key before it signs with it.
async fn signing_key(state: &AppState, kid: &str) -> Option<jsonwebtoken::jwk::Jwk> {
    let mut cache = state.jwks.lock().await;
    if let Some(jwk) = cache.keys.as_ref().and_then(|k| k.find(kid)) {
        return Some(jwk.clone());
    }
    if cache
        .fetched
        .is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL)
    {
        return None;
    }
    cache.fetched = Some(Instant::now());
    match fetch_jwks(state).await {
        Ok(keys) => cache.keys = Some(keys),
        Err(why) => eprintln!("tax_portal: fetching Verity's JWKS: {why}"),
    }
    cache.keys.as_ref().and_then(|k| k.find(kid)).cloned()
}

async fn fetch_jwks(state: &AppState) -> Result<jsonwebtoken::jwk::JwkSet, String> {
    let res = state
        .http
        .get(&state.jwks_uri)
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    if !res.status().is_success() {
        return Err(format!("HTTP {}", res.status()));
    }
    let bytes = res.bytes().await.map_err(|e| error_chain(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// What a valid SET makes the portal do.
fn act_on(state: &AppState, claims: &Value) -> Result<(), SetRefusal> {
    let Some((event_type, event)) = claims["events"].as_object().and_then(|e| e.iter().next())
    else {
        return Err(refuse("invalid_request", "the SET has no event"));
    };
    let sub_id = &claims["sub_id"];
    match event_type.as_str() {
        EVENT_VERIFICATION => {
            let mut signals = state.signals();
            let ours = sub_id["format"] == "opaque"
                && sub_id["id"].as_str().is_some() // a verification names its stream
                && sub_id["id"].as_str() == signals.stream_id.as_deref();
            if !ours {
                return Err(refuse(
                    "invalid_request",
                    "the verification event names another stream",
                ));
            }
            let expected = signals.verify_state.as_deref();
            if expected.is_none() || event["state"].as_str() != expected {
                return Err(refuse(
                    "invalid_state",
                    "not the state of a verification this portal asked for",
                ));
            }
            signals.verify_state = None;
            signals.verification = "verified".to_string();
            println!("Tax Portal: Verity's verification event arrived: push delivery works");
        }
        EVENT_SESSION_REVOKED | EVENT_CREDENTIAL_CHANGE => {
            // Only the portal's own subjects at this issuer can be anyone signed in here.
            let subject = match (
                sub_id["format"].as_str(),
                sub_id["iss"].as_str(),
                sub_id["sub"].as_str(),
            ) {
                (Some("iss_sub"), Some(iss), Some(sub)) if iss == state.issuer => sub,
                _ => {
                    println!("Tax Portal: {event_type} about a subject it doesn't know by iss_sub; nothing to do");
                    return Ok(());
                }
            };
            let reason = if event_type == EVENT_CREDENTIAL_CHANGE {
                if event["credential_type"] == "password" {
                    SignOutReason::PasswordChanged
                } else {
                    SignOutReason::CredentialChanged
                }
            } else if event["initiating_entity"] == "admin" {
                SignOutReason::SessionsEndedByAdmin
            } else {
                SignOutReason::SessionsEnded
            };
            let ended = end_sessions(state, subject, reason);
            println!("Tax Portal: {event_type} for sub {subject}: ended {ended} portal session(s)");
        }
        other => println!("Tax Portal: {other}: nothing to do"),
    }
    Ok(())
}

/// Ends every portal session of `subject`; returns how many. A session already ended by an
/// earlier signal takes the new reason if it says more.
fn end_sessions(state: &AppState, subject: &str, reason: SignOutReason) -> usize {
    let mut sessions = state.sessions();
    let mut ended = 0;
    for session in sessions.values_mut() {
        match session {
            Session::SignedIn(user) if user.subject == subject => {
                *session = Session::Ended(Ended {
                    subject: subject.to_string(),
                    reason,
                    at: Instant::now(),
                });
                ended += 1;
            }
            Session::Ended(earlier)
                if earlier.subject == subject && reason.says_more_than(earlier.reason) =>
            {
                earlier.reason = reason;
            }
            _ => {}
        }
    }
    ended
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("tax_portal: {message}");
    std::process::exit(1);
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let config = Config::from_env();

    let issuer = IssuerUrl::new(config.issuer.clone()).unwrap_or_else(|e| {
        fail(format!(
            "VERITY_ISSUER {:?} is not a URL: {e}",
            config.issuer
        ))
    });
    let redirect_uri = RedirectUrl::new(config.redirect_uri.clone()).unwrap_or_else(|e| {
        fail(format!(
            "TAX_PORTAL_REDIRECT_URI {:?} is not a URL: {e}",
            config.redirect_uri
        ))
    });

    // reqwest is built without a TLS crypto provider of its own (Verity's choice: aws-lc-rs, not
    // ring); name the process default before the first client is built.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    // Never follow redirects on back-channel requests (SSRF protection).
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| fail(format!("cannot build the HTTP client: {e}")));

    println!(
        "Tax Portal: discovering OpenID Provider at {}",
        config.issuer
    );
    let metadata = discover(&issuer, &http).await.unwrap_or_else(|message| {
        fail(format!(
            "OpenID Connect discovery at {} failed: {message}\n\
             Is Verity running? Start it with `cargo run -- serve --dev-demo`, \
             or point VERITY_ISSUER at it.",
            config.issuer
        ))
    });

    let userinfo_url = metadata.userinfo_endpoint().map(|u| u.url().to_string());
    let token_url = metadata.token_endpoint().map(|u| u.url().to_string());
    let jwks_uri = metadata.jwks_uri().url().to_string();
    let client: TaxClient = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(redirect_uri);

    let state = web::Data::new(AppState {
        client,
        http,
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone(),
        userinfo_url,
        token_url,
        jwks_uri,
        receiver_url: config.receiver_url.clone(),
        push_authorization: push_authorization(&config.client_secret),
        sessions: Mutex::new(HashMap::new()),
        signals: Mutex::new(Signals {
            status: SignalsStatus::Connecting,
            stream_id: None,
            verify_state: None,
            verification: WAITING_FOR_VERIFICATION.to_string(),
            add_subject_endpoint: None,
        }),
        jwks: tokio::sync::Mutex::new(JwksCache::default()),
        seen_jtis: Mutex::new(SeenJtis::default()),
    });

    println!("Tax Portal listening on http://{}", config.listen);
    println!(
        "  issuer: {}\n  client_id: {}\n  redirect_uri: {}\n  Shared Signals receiver: {}",
        config.issuer, config.client_id, config.redirect_uri, config.receiver_url
    );

    let signals_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_SET_BYTES))
            .service(index)
            .service(login)
            .service(verify_identity)
            .service(verified_page)
            .service(callback)
            .service(logout)
            .service(receive_set)
    })
    .bind(config.listen.as_str())?
    .run();
    // The receiver is listening before the stream exists, so the verification event (and
    // every event after it) finds it.
    actix_web::rt::spawn(connect_shared_signals(signals_state));
    server.await
}

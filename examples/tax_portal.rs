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
//! # Configuration (environment variables)
//!
//! | Variable                    | Default                          |
//! |-----------------------------|----------------------------------|
//! | `VERITY_ISSUER`             | `http://localhost:8080`          |
//! | `TAX_PORTAL_CLIENT_ID`      | `tax-portal`                     |
//! | `TAX_PORTAL_CLIENT_SECRET`  | `tax-portal-dev-secret`          |
//! | `TAX_PORTAL_LISTEN`         | `127.0.0.1:8081`                 |
//! | `TAX_PORTAL_REDIRECT_URI`   | `http://localhost:8081/callback` |
//!
//! The defaults match the client that `verity serve --dev-demo` registers.

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

enum Session {
    Pending(PendingLogin),
    SignedIn(Box<SignedIn>),
}

struct AppState {
    client: TaxClient,
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    userinfo_url: Option<String>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl AppState {
    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // A poisoned lock only means another handler panicked mid-update; the map is still usable.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    let sessions = state.sessions();
    let signed_in = session_id(&req).and_then(|id| match sessions.get(&id) {
        Some(Session::SignedIn(user)) => Some(user),
        _ => None,
    });

    let body = match signed_in {
        None => format!(
            r#"<p>Welcome! File your taxes, check your refund and update your details.</p>
<p>You are not signed in.</p>
<p><a class="button" href="/login">Sign in with Verity</a>
   <a class="button" href="/verify-identity">Verify with Verity (IAL2)</a></p>
<p class="muted">Filing needs your verified identity: the second button asks Verity for it.</p>
<p class="muted">Identity provider: {issuer} &middot; client: {client}</p>"#,
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
    html(actix_web::http::StatusCode::OK, "Tax Portal", &body)
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
        userinfo_url,
        sessions: Mutex::new(HashMap::new()),
    });

    println!("Tax Portal listening on http://{}", config.listen);
    println!(
        "  issuer: {}\n  client_id: {}\n  redirect_uri: {}",
        config.issuer, config.client_id, config.redirect_uri
    );

    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .service(index)
            .service(login)
            .service(verify_identity)
            .service(verified_page)
            .service(callback)
            .service(logout)
    })
    .bind(config.listen.as_str())?
    .run()
    .await
}

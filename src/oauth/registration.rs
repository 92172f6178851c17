//! Dynamic Client Registration (RFC 7591), off by default. A relying party POSTs its metadata
//! as JSON with the operator's initial access token (`Authorization: Bearer …`) and gets a
//! client id (and a secret, for confidential clients) back. The metadata is checked here and
//! then registered through [`clients::add`], the same function the CLI uses; dynamically
//! registered clients are never admin clients and never get `verity:admin` scopes.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audit::{self, Actor};
use crate::config::Settings;
use crate::crypto;
use crate::oauth::clients::{self, CreatedClient, NewClient};
use crate::oauth::error::ErrorDescription;
use crate::oauth::scopes;
use crate::Ctx;

/// Largest registration request read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_URIS: usize = 20;
const MAX_URI_LEN: usize = 2048;
const MAX_NAME_CHARS: usize = 200;
const MAX_SCOPES: usize = 50;

/// Why a registration request was refused. Each maps to one HTTP answer.
#[derive(Debug)]
pub enum RegistrationError {
    /// Registration is switched off: the endpoint doesn't exist (404).
    Disabled,
    /// The initial access token is missing or wrong (401).
    InvalidToken,
    /// RFC 7591 §3.2.2 `invalid_redirect_uri` (400).
    InvalidRedirectUri(String),
    /// RFC 7591 §3.2.2 `invalid_client_metadata` (400).
    InvalidClientMetadata(String),
    /// Something failed on our side (500); logged, never shown.
    Internal(anyhow::Error),
}

impl RegistrationError {
    pub fn status(&self) -> u16 {
        match self {
            RegistrationError::Disabled => 404,
            RegistrationError::InvalidToken => 401,
            RegistrationError::InvalidRedirectUri(_)
            | RegistrationError::InvalidClientMetadata(_) => 400,
            RegistrationError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            RegistrationError::Disabled => "not_found",
            RegistrationError::InvalidToken => "invalid_token",
            RegistrationError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            RegistrationError::InvalidClientMetadata(_) => "invalid_client_metadata",
            RegistrationError::Internal(_) => "server_error",
        }
    }

    /// Only RFC 6749's characters, whatever the message quoted.
    pub fn description(&self) -> ErrorDescription {
        ErrorDescription::new(match self {
            RegistrationError::Disabled => "dynamic client registration is not enabled".into(),
            RegistrationError::InvalidToken => {
                "a valid initial access token is required (Authorization: Bearer)".into()
            }
            RegistrationError::InvalidRedirectUri(m)
            | RegistrationError::InvalidClientMetadata(m) => m.clone(),
            RegistrationError::Internal(_) => {
                "the server could not complete the request; try again".into()
            }
        })
    }
}

fn metadata_error(message: impl Into<String>) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(message.into())
}

fn redirect_error(message: impl Into<String>) -> RegistrationError {
    RegistrationError::InvalidRedirectUri(message.into())
}

/// The client metadata Verity reads (RFC 7591 §2, OIDC Dynamic Client Registration §2).
/// Members not listed here are ignored, as RFC 7591 asks.
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct Metadata {
    redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    scope: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    subject_type: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    backchannel_logout_uri: Option<String>,
    /// Refused: honouring it means fetching the document it names.
    sector_identifier_uri: Option<Value>,
}

/// The checked request: what to register, and what to echo back beside [`CreatedClient`].
#[derive(Debug)]
pub struct Checked {
    pub new: NewClient,
    pub response_types: Vec<String>,
    /// The JWK set as sent, echoed in the response.
    pub jwks: Option<Value>,
}

/// RFC 7591 §3.2.1: the client information response.
#[derive(Serialize, Debug)]
pub struct Registered {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// 0: the secret doesn't expire. Present only with a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    pub subject_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

/// Registration must be on, and the bearer token must equal the configured initial access
/// token. Both sides are hashed first, so the comparison is constant-time and reveals
/// nothing about the token's length either.
pub fn check_access(settings: &Settings, bearer: Option<&str>) -> Result<(), RegistrationError> {
    if !settings.dynamic_registration {
        return Err(RegistrationError::Disabled);
    }
    // Without a configured token nothing matches: registration is never open to everyone.
    let (Some(expected), Some(presented)) = (
        settings.registration_initial_access_token.as_deref(),
        bearer,
    ) else {
        return Err(RegistrationError::InvalidToken);
    };
    if expected.is_empty() || presented.is_empty() {
        return Err(RegistrationError::InvalidToken);
    }
    let same = crypto::ct_eq(
        crypto::token_hash(presented).as_bytes(),
        crypto::token_hash(expected).as_bytes(),
    );
    if same {
        Ok(())
    } else {
        Err(RegistrationError::InvalidToken)
    }
}

/// A URL Verity's server calls or fetches (backchannel logout, jwks_uri): the rule of
/// [`crate::net::outbound::check_server_url`] (https to a public host in production).
fn check_server_url(settings: &Settings, field: &str, uri: &str) -> Result<(), RegistrationError> {
    if uri.len() > MAX_URI_LEN {
        return Err(metadata_error(format!("{field} is too long")));
    }
    crate::net::outbound::check_server_url(settings, uri)
        .map(|_| ())
        .map_err(|problem| metadata_error(format!("{field} {problem}")))
}

/// Redirect URIs; a bad one is named by its position (`redirect_uris[2]`), never quoted.
fn check_redirect_uris(
    settings: &Settings,
    field: &str,
    uris: &[String],
) -> Result<(), RegistrationError> {
    if uris.len() > MAX_URIS {
        return Err(redirect_error(format!(
            "at most {MAX_URIS} {field} may be registered"
        )));
    }
    for (i, uri) in uris.iter().enumerate() {
        if uri.len() > MAX_URI_LEN {
            return Err(redirect_error(format!("{field}[{i}] is too long")));
        }
        if let Some(problem) = clients::redirect_uri_problem(settings, uri) {
            return Err(redirect_error(format!("{field}[{i}] {problem}")));
        }
    }
    Ok(())
}

/// A JWK set of public keys: an object with a non-empty `keys` array and no private or
/// symmetric key material.
fn check_jwks(jwks: &Value) -> Result<(), RegistrationError> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return Err(metadata_error(
            "jwks must be a JWK set: an object with a \"keys\" array",
        ));
    };
    if keys.is_empty() {
        return Err(metadata_error("jwks must hold at least one key"));
    }
    for key in keys {
        let Some(key) = key.as_object() else {
            return Err(metadata_error("every key in jwks must be a JSON object"));
        };
        if key.get("kty").and_then(Value::as_str).is_none() {
            return Err(metadata_error("every key in jwks needs a \"kty\""));
        }
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|m| key.contains_key(*m))
        {
            return Err(metadata_error(
                "jwks must hold public keys only (no private or symmetric key material)",
            ));
        }
    }
    Ok(())
}

/// Reads and checks a registration request body. Pure: no database, no clock.
pub fn check_metadata(settings: &Settings, body: &[u8]) -> Result<Checked, RegistrationError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(metadata_error("the registration request is too large"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| metadata_error("the body must be a JSON object of client metadata"))?;
    if !value.is_object() {
        return Err(metadata_error(
            "the body must be a JSON object of client metadata",
        ));
    }
    let m: Metadata = serde_json::from_value(value)
        .map_err(|e| metadata_error(format!("the client metadata could not be read: {e}")))?;

    if m.sector_identifier_uri
        .as_ref()
        .is_some_and(|v| !v.is_null())
    {
        return Err(metadata_error("sector_identifier_uri is not supported"));
    }

    // Grant types (default authorization_code), without repeats.
    let mut grant_types: Vec<String> = Vec::new();
    for (i, g) in m.grant_types.unwrap_or_default().into_iter().enumerate() {
        if !clients::GRANT_TYPES.contains(&g.as_str()) {
            return Err(metadata_error(format!(
                "grant_types[{i}] is not supported; supported: {}",
                clients::GRANT_TYPES.join(", ")
            )));
        }
        if !grant_types.contains(&g) {
            grant_types.push(g);
        }
    }
    if grant_types.is_empty() {
        grant_types.push(clients::GRANT_AUTHORIZATION_CODE.into());
    }
    let interactive = grant_types
        .iter()
        .any(|g| g == clients::GRANT_AUTHORIZATION_CODE);

    // Response types: only the code flow exists, and it needs the authorization_code grant.
    let response_types = match m.response_types {
        None if interactive => vec!["code".to_string()],
        None => vec![],
        Some(types) => {
            if let Some(i) = types.iter().position(|t| t.as_str() != "code") {
                return Err(metadata_error(format!(
                    "response_types[{i}] is not supported; only code is"
                )));
            }
            if types.is_empty() && interactive {
                return Err(metadata_error(
                    "the authorization_code grant goes with the \"code\" response type",
                ));
            }
            if !types.is_empty() && !interactive {
                return Err(metadata_error(
                    "response type \"code\" needs the authorization_code grant type",
                ));
            }
            if types.is_empty() {
                vec![]
            } else {
                vec!["code".to_string()]
            }
        }
    };

    // Client authentication (RFC 7591 default: client_secret_basic).
    let auth_method = m
        .token_endpoint_auth_method
        .unwrap_or_else(|| "client_secret_basic".into());
    if !clients::AUTH_METHODS.contains(&auth_method.as_str()) {
        return Err(metadata_error(format!(
            "token_endpoint_auth_method is not supported; supported: {}",
            clients::AUTH_METHODS.join(", ")
        )));
    }
    let public = auth_method == "none";
    if public
        && grant_types
            .iter()
            .any(|g| g == clients::GRANT_CLIENT_CREDENTIALS)
    {
        return Err(metadata_error(
            "a public client (token_endpoint_auth_method \"none\") can't use client_credentials",
        ));
    }

    // Redirect URIs.
    let redirect_uris = m.redirect_uris.unwrap_or_default();
    if interactive && redirect_uris.is_empty() {
        return Err(redirect_error(
            "redirect_uris is required with the authorization_code grant type",
        ));
    }
    check_redirect_uris(settings, "redirect_uris", &redirect_uris)?;
    let post_logout_redirect_uris = m.post_logout_redirect_uris.unwrap_or_default();
    check_redirect_uris(
        settings,
        "post_logout_redirect_uris",
        &post_logout_redirect_uris,
    )?;
    if let Some(uri) = &m.backchannel_logout_uri {
        check_server_url(settings, "backchannel_logout_uri", uri)?;
    }

    // Name: shown on the consent page.
    let client_name = match m.client_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => redirect_uris
            .first()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "Unnamed client".to_string()),
    };
    if client_name.chars().count() > MAX_NAME_CHARS {
        return Err(metadata_error(format!(
            "client_name may be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if client_name.chars().any(char::is_control) {
        return Err(metadata_error(
            "client_name must not contain control characters",
        ));
    }

    // Scopes: well-formed, and never Verity's own management scopes.
    let scopes = scopes::parse(m.scope.as_deref().unwrap_or(""));
    if scopes.len() > MAX_SCOPES {
        return Err(metadata_error(format!(
            "at most {MAX_SCOPES} scopes may be registered"
        )));
    }
    for (i, s) in scopes.iter().enumerate() {
        let well_formed = s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":._-/".contains(&b));
        if !well_formed {
            return Err(metadata_error(format!(
                "scope value {} has characters a scope can't have",
                i + 1
            )));
        }
        if clients::is_admin_scope(s) {
            return Err(metadata_error(format!(
                "scope {s} can't be registered dynamically"
            )));
        }
    }

    // Keys for private_key_jwt.
    if m.jwks.is_some() && m.jwks_uri.is_some() {
        return Err(metadata_error("send jwks or jwks_uri, not both"));
    }
    if let Some(jwks) = &m.jwks {
        check_jwks(jwks)?;
    }
    if let Some(uri) = &m.jwks_uri {
        check_server_url(settings, "jwks_uri", uri)?;
    }
    if auth_method == "private_key_jwt" && m.jwks.is_none() && m.jwks_uri.is_none() {
        return Err(metadata_error("private_key_jwt needs jwks or jwks_uri"));
    }
    let jwks_text = match &m.jwks {
        Some(j) => {
            Some(serde_json::to_string(j).map_err(|e| RegistrationError::Internal(e.into()))?)
        }
        None => None,
    };

    // Subject type.
    let subject_type = m.subject_type.unwrap_or_else(|| "public".into());
    if subject_type != "public" && subject_type != "pairwise" {
        return Err(metadata_error(
            "subject_type must be \"public\" or \"pairwise\"",
        ));
    }
    if subject_type == "pairwise" {
        let hosts: std::collections::BTreeSet<String> = redirect_uris
            .iter()
            .filter_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_string))
            .collect();
        if hosts.len() > 1 {
            return Err(metadata_error(
                "a pairwise client needs all its redirect_uris on one host \
                 (sector_identifier_uri is not supported)",
            ));
        }
    }

    Ok(Checked {
        new: NewClient {
            name: client_name,
            redirect_uris,
            public,
            scopes,
            grant_types,
            admin: false,
            post_logout_redirect_uris,
            backchannel_logout_uri: m.backchannel_logout_uri,
            token_endpoint_auth_method: Some(auth_method),
            jwks: jwks_text,
            jwks_uri: m.jwks_uri,
            subject_type: Some(subject_type),
            registered_dynamically: true,
            ..Default::default()
        },
        response_types,
        jwks: m.jwks,
    })
}

/// Inserts the client and records the audit event, in one transaction. The outer error is
/// ours (database); the inner one is `clients::add` refusing the metadata.
fn insert(
    conn: &mut crate::storage::db::DbConn,
    settings: &Settings,
    now: NaiveDateTime,
    new: NewClient,
    actor: &Actor,
) -> anyhow::Result<Result<CreatedClient, String>> {
    crate::storage::db::write_tx(conn, |c| {
        let detail = json!({
            "name": new.name,
            "redirect_uris": new.redirect_uris,
            "grant_types": new.grant_types,
            "token_endpoint_auth_method": new.token_endpoint_auth_method,
        });
        let created = match clients::add(c, settings, now, new) {
            Ok(created) => created,
            // Database and serialisation failures are ours; anything else is a refusal.
            Err(e)
                if e.downcast_ref::<diesel::result::Error>().is_some()
                    || e.downcast_ref::<serde_json::Error>().is_some() =>
            {
                return Err(e)
            }
            Err(e) => return Ok(Err(format!("{e:#}"))),
        };
        audit::record(
            c,
            now,
            audit::Event {
                kind: audit::Kind::ClientRegistered,
                user_id: None,
                client_id: Some(&created.client_id),
                detail,
                actor: Some(actor),
            },
        )?;
        Ok(Ok(created))
    })
}

/// POST /register: checks the initial access token and the metadata, registers the client.
pub async fn register(
    ctx: &Ctx,
    bearer: Option<&str>,
    body: &[u8],
    actor: &Actor,
) -> Result<Registered, RegistrationError> {
    check_access(&ctx.settings, bearer)?;
    let checked = check_metadata(&ctx.settings, body)?;
    let response_types = checked.response_types;
    let jwks = checked.jwks;
    let new = checked.new;
    let auth_method = new
        .token_endpoint_auth_method
        .clone()
        .unwrap_or_else(|| "client_secret_basic".into());
    let subject_type = new.subject_type.clone().unwrap_or_else(|| "public".into());
    let post_logout_redirect_uris = new.post_logout_redirect_uris.clone();
    let backchannel_logout_uri = new.backchannel_logout_uri.clone();
    let jwks_uri = new.jwks_uri.clone();

    let settings = ctx.settings.clone();
    let now = ctx.clock.now();
    let actor = actor.clone();
    let created = ctx
        .db
        .run(move |c| insert(c, &settings, now, new, &actor))
        .await
        .map_err(RegistrationError::Internal)?
        .map_err(metadata_error)?;
    tracing::info!(client_id = %created.client_id, "client registered dynamically");

    let has_secret = created.client_secret.is_some();
    Ok(Registered {
        client_id: created.client_id,
        client_secret: created.client_secret,
        client_id_issued_at: now.and_utc().timestamp(),
        client_secret_expires_at: has_secret.then_some(0),
        client_name: created.name,
        redirect_uris: created.redirect_uris,
        grant_types: created.grant_types,
        response_types,
        token_endpoint_auth_method: auth_method,
        scope: scopes::join(&created.scopes),
        subject_type,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        jwks,
        jwks_uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunMode;

    fn enabled(env: RunMode) -> Settings {
        Settings {
            env,
            dynamic_registration: true,
            registration_initial_access_token: Some("t".repeat(40)),
            ..Settings::default()
        }
    }

    fn check(settings: &Settings, body: Value) -> Result<Checked, RegistrationError> {
        check_metadata(settings, body.to_string().as_bytes())
    }

    #[test]
    fn access_needs_the_switch_and_the_exact_token() {
        let off = Settings::default();
        assert!(matches!(
            check_access(&off, Some("anything")),
            Err(RegistrationError::Disabled)
        ));
        let on = enabled(RunMode::Dev);
        let token = "t".repeat(40);
        assert!(check_access(&on, Some(&token)).is_ok());
        for wrong in [None, Some(""), Some("t"), Some(&*"t".repeat(41))] {
            assert!(matches!(
                check_access(&on, wrong),
                Err(RegistrationError::InvalidToken)
            ));
        }
        let no_token = Settings {
            registration_initial_access_token: None,
            ..on
        };
        assert!(matches!(
            check_access(&no_token, Some("")),
            Err(RegistrationError::InvalidToken)
        ));
    }

    #[test]
    fn settings_need_a_long_token_when_registration_is_on() {
        assert!(enabled(RunMode::Dev).validate().is_ok());
        let missing = Settings {
            registration_initial_access_token: None,
            ..enabled(RunMode::Dev)
        };
        assert_eq!(
            missing.validate().unwrap_err().to_string(),
            "dynamic_registration needs registration_initial_access_token \
             (VERITY_REGISTRATION_INITIAL_ACCESS_TOKEN)"
        );
        let short = Settings {
            registration_initial_access_token: Some("t".repeat(31)),
            ..enabled(RunMode::Dev)
        };
        assert_eq!(
            short.validate().unwrap_err().to_string(),
            "registration_initial_access_token must be at least 32 characters"
        );
        assert!(Settings::default().validate().is_ok(), "off needs no token");
    }

    #[test]
    fn http_redirect_uri_is_refused_in_production_except_loopback() {
        let prod = enabled(RunMode::Production);
        let err = check(
            &prod,
            json!({ "redirect_uris": ["http://rp.example.com/cb"] }),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_redirect_uri", "{}", err.description());
        for allowed in ["http://127.0.0.1:8000/cb", "https://rp.example.com/cb"] {
            let checked = check(&prod, json!({ "redirect_uris": [allowed] }))
                .unwrap_or_else(|e| panic!("{allowed}: {}", e.description()));
            assert_eq!(checked.new.redirect_uris, vec![allowed.to_string()]);
        }
        let err = check(
            &prod,
            json!({ "redirect_uris": ["https://rp.example.com/cb"],
                    "backchannel_logout_uri": "http://rp.example.com/logout" }),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_client_metadata");
    }

    #[test]
    fn defaults_follow_rfc_7591() {
        let checked = check(
            &enabled(RunMode::Dev),
            json!({ "redirect_uris": ["https://rp.example.com/cb"], "unknown_member": 1 }),
        )
        .unwrap();
        assert_eq!(checked.new.name, "rp.example.com");
        assert_eq!(checked.new.grant_types, vec!["authorization_code"]);
        assert_eq!(checked.response_types, vec!["code"]);
        assert_eq!(
            checked.new.token_endpoint_auth_method.as_deref(),
            Some("client_secret_basic")
        );
        assert!(!checked.new.public && !checked.new.admin);
        assert!(checked.new.registered_dynamically);
    }

    #[test]
    fn metadata_problems_are_invalid_client_metadata() {
        let s = enabled(RunMode::Dev);
        let cb = "https://rp.example.com/cb";
        let cases = [
            json!({ "redirect_uris": [cb], "sector_identifier_uri": "https://rp.example.com/s.json" }),
            json!({ "redirect_uris": [cb], "grant_types": ["implicit"] }),
            json!({ "redirect_uris": [cb], "response_types": ["code id_token"] }),
            json!({ "grant_types": ["client_credentials"], "response_types": ["code"] }),
            json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none" }),
            json!({ "redirect_uris": [cb], "scope": "openid verity:admin:clients" }),
            json!({ "redirect_uris": [cb], "scope": "openid <script>" }),
            json!({ "redirect_uris": [cb], "subject_type": "secret" }),
            json!({ "redirect_uris": [cb, "https://other.example.com/cb"], "subject_type": "pairwise" }),
            json!({ "redirect_uris": [cb], "token_endpoint_auth_method": "private_key_jwt" }),
            json!({ "redirect_uris": [cb], "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": { "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] } }),
            json!({ "redirect_uris": [cb], "jwks": { "keys": [] } }),
            json!({ "redirect_uris": [cb], "client_name": 5 }),
            json!({ "redirect_uris": [cb], "client_name": "a\u{7}b" }),
            json!(["not", "an", "object"]),
        ];
        for case in cases {
            let err = check(&s, case.clone()).unwrap_err();
            assert_eq!(err.code(), "invalid_client_metadata", "{case}: {err:?}");
        }
        let err = check_metadata(&s, b"not json").unwrap_err();
        assert_eq!(err.code(), "invalid_client_metadata");
    }

    #[test]
    fn client_credentials_clients_need_no_redirect_uri() {
        let checked = check(
            &enabled(RunMode::Dev),
            json!({ "grant_types": ["client_credentials"], "scope": "reports:read" }),
        )
        .unwrap();
        assert!(checked.response_types.is_empty());
        assert_eq!(checked.new.scopes, vec!["reports:read"]);
    }
}

//! Registered relying parties. Secrets are random 256-bit values stored as SHA-256 and
//! compared in constant time: full entropy needs no slow hash on the token path.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::config::Settings;
use crate::crypto;
use crate::oauth::scopes;
use crate::storage::db::{Db, DbConn};
use crate::storage::schema::clients;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: String,
    pub allowed_scopes: String,
    pub is_public: bool,
    pub created_at: NaiveDateTime,
    pub grant_types: String,
    pub is_admin: bool,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub token_endpoint_auth_method: String,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub require_par: bool,
    pub subject_type: String,
    pub sector_identifier: Option<String>,
    pub registered_dynamically: bool,
    pub ial2_allowed: bool,
    /// Space-separated names from [`crate::proofing::claims::CLAIM_NAMES`].
    pub verified_claims: String,
}

pub const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "none",
    "private_key_jwt",
];

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_TYPES: &[&str] = &[
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
];

/// Scopes of Verity's own management API: only admin clients may hold them.
pub fn is_admin_scope(scope: &str) -> bool {
    scope == "verity:admin" || scope.starts_with("verity:admin:")
}

#[derive(Clone, Debug, Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub public: bool,
    pub created_at: NaiveDateTime,
    pub grant_types: Vec<String>,
    pub admin: bool,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub token_endpoint_auth_method: String,
    /// private_key_jwt: inline JWKS (JSON text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    pub require_par: bool,
    /// "public" or "pairwise".
    pub subject_type: String,
    /// The host pairwise subjects are computed for (the redirect URIs' host unless set).
    pub sector_identifier: Option<String>,
    pub registered_dynamically: bool,
    /// May ask for identity-verified assurance (`acr_values` IAL2).
    pub ial2_allowed: bool,
    /// The verified claims it may receive (`verified_claims`, and the verified values of the
    /// plain `given_name`, `family_name`, `birthdate`, `address` claims);
    /// `social_security_number` only when named.
    pub verified_claims: Vec<String>,
}

impl Client {
    pub fn pairwise(&self) -> bool {
        self.subject_type == "pairwise"
    }

    /// OIDC Core §8.1: the sector is the sector_identifier if set, else the host of the
    /// (single-host) redirect URIs.
    pub fn sector(&self) -> String {
        if let Some(s) = &self.sector_identifier {
            return s.clone();
        }
        self.redirect_uris
            .first()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| self.client_id.clone())
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// The verified claims it may receive now: none while proofing is off.
    pub fn verified_claims_allowed(&self, proofing_enabled: bool) -> &[String] {
        if proofing_enabled {
            &self.verified_claims
        } else {
            &[]
        }
    }

    /// The scopes it may request. The proofing scopes follow from its verified-claims
    /// permission, never from its scope list (so a client can't register its way to them):
    /// `verified_claims` with any permitted claim, `address` when `address` is permitted.
    pub fn effective_scopes(&self, proofing_enabled: bool) -> Vec<String> {
        let mut out: Vec<String> = self
            .scopes
            .iter()
            .filter(|s| !scopes::PROOFING_SCOPES.contains(&s.as_str()))
            .cloned()
            .collect();
        let permitted = self.verified_claims_allowed(proofing_enabled);
        if permitted.iter().any(|c| c == "address") {
            out.push("address".into());
        }
        if !permitted.is_empty() {
            out.push("verified_claims".into());
        }
        out
    }

    /// IAL2 is available to it: proofing is on and the client is allowed.
    pub fn may_use_ial2(&self, proofing_enabled: bool) -> bool {
        proofing_enabled && self.ial2_allowed
    }

    fn from_row(row: ClientRow) -> Client {
        Client {
            client_id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            redirect_uris: serde_json::from_str(&row.redirect_uris).unwrap_or_default(),
            scopes: scopes::parse(&row.allowed_scopes),
            public: row.is_public,
            created_at: row.created_at,
            grant_types: scopes::parse(&row.grant_types),
            admin: row.is_admin,
            post_logout_redirect_uris: serde_json::from_str(&row.post_logout_redirect_uris)
                .unwrap_or_default(),
            backchannel_logout_uri: row.backchannel_logout_uri,
            token_endpoint_auth_method: row.token_endpoint_auth_method,
            jwks: row.jwks,
            jwks_uri: row.jwks_uri,
            require_par: row.require_par,
            subject_type: row.subject_type,
            sector_identifier: row.sector_identifier,
            registered_dynamically: row.registered_dynamically,
            ial2_allowed: row.ial2_allowed,
            verified_claims: scopes::parse(&row.verified_claims),
        }
    }

    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(stored) => {
                crypto::ct_eq(crypto::token_hash(presented).as_bytes(), stored.as_bytes())
            }
            None => false,
        }
    }
}

#[derive(Default, Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub scopes: Vec<String>,
    /// Default: authorization_code.
    pub grant_types: Vec<String>,
    /// May be granted `verity:admin` scopes (management API).
    pub admin: bool,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Default: client_secret_basic (client_secret_post is accepted too), none when public.
    pub token_endpoint_auth_method: Option<String>,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub require_par: bool,
    /// Default: public.
    pub subject_type: Option<String>,
    pub sector_identifier: Option<String>,
    pub registered_dynamically: bool,
    /// May ask for IAL2 (`acr_values`).
    pub ial2_allowed: bool,
    /// Verified claims it may receive (names from `proofing::claims::CLAIM_NAMES`).
    pub verified_claims: Vec<String>,
    /// Only for the dev demo: a fixed id and secret.
    pub fixed_id: Option<String>,
    pub fixed_secret: Option<String>,
}

/// What `verity client add` prints: the secret appears here once and is never stored.
#[derive(Serialize, Debug)]
pub struct CreatedClient {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub admin: bool,
    pub ial2_allowed: bool,
    pub verified_claims: Vec<String>,
}

/// Why a redirect URI can't be registered, in words that never quote it (they end up in
/// OAuth error descriptions): None when it is fine. Exact-match redirect URIs: absolute, no
/// fragment; https unless it's a loopback address (native apps, local development) or the
/// instance runs in dev mode; or a private-use scheme with a dot (RFC 8252 §7.1).
pub fn redirect_uri_problem(settings: &Settings, uri: &str) -> Option<&'static str> {
    let Ok(parsed) = url::Url::parse(uri) else {
        return Some("is not an absolute URL");
    };
    if parsed.fragment().is_some() {
        return Some("must not contain a fragment");
    }
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => None,
        "http" if loopback || settings.env == crate::config::RunMode::Dev => None,
        "http" => Some("must use https (http is allowed only for loopback)"),
        scheme if scheme.contains('.') => None,
        _ => Some("has a scheme that is not allowed"),
    }
}

/// [`redirect_uri_problem`] as an error (for callers with one URI and no position).
pub fn validate_redirect_uri(settings: &Settings, uri: &str) -> anyhow::Result<()> {
    match redirect_uri_problem(settings, uri) {
        Some(problem) => bail!("redirect URI {problem}"),
        None => Ok(()),
    }
}

/// A client setting that can't be used: which field, and why. The CLI prints the message;
/// the management API names the field.
#[derive(Debug)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

fn refuse(field: &'static str, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(FieldError {
        field,
        message: message.into(),
    })
}

/// What [`prepare`] settled: the values a client row gets beyond those given as they are.
struct Prepared {
    name: String,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    auth_method: String,
    subject_type: String,
    verified_claims: Vec<String>,
}

/// The rules every client obeys, whether added or changed.
fn prepare(settings: &Settings, new: &NewClient) -> anyhow::Result<Prepared> {
    if new.name.trim().is_empty() {
        return Err(refuse("name", "a client needs a name"));
    }
    let mut grant_types = new.grant_types.clone();
    if grant_types.is_empty() {
        grant_types.push(GRANT_AUTHORIZATION_CODE.into());
    }
    for (i, g) in grant_types.iter().enumerate() {
        if !GRANT_TYPES.contains(&g.as_str()) {
            return Err(refuse(
                "grant_types",
                format!(
                    "grant_types[{i}] is not a supported grant type; supported: {}",
                    GRANT_TYPES.join(", ")
                ),
            ));
        }
    }
    let interactive = grant_types.iter().any(|g| g == GRANT_AUTHORIZATION_CODE);
    if new.public && grant_types.iter().any(|g| g == GRANT_CLIENT_CREDENTIALS) {
        return Err(refuse(
            "grant_types",
            "a public client can't use client_credentials (it has no secret)",
        ));
    }
    if interactive && new.redirect_uris.is_empty() {
        return Err(refuse(
            "redirect_uris",
            "a client using authorization_code needs at least one redirect URI",
        ));
    }
    let uri_fields = [
        ("redirect_uris", &new.redirect_uris),
        ("post_logout_redirect_uris", &new.post_logout_redirect_uris),
    ];
    for (field, uris) in uri_fields {
        for (i, uri) in uris.iter().enumerate() {
            if let Some(problem) = redirect_uri_problem(settings, uri) {
                return Err(refuse(field, format!("{field}[{i}] {problem}")));
            }
        }
    }
    // URLs Verity's server calls: in production https to a public host (and checked again
    // after DNS resolution when called, see crate::net::outbound).
    let server_urls = [
        ("backchannel_logout_uri", &new.backchannel_logout_uri),
        ("jwks_uri", &new.jwks_uri),
    ];
    for (field, uri) in server_urls {
        if let Some(uri) = uri {
            crate::net::outbound::check_server_url(settings, uri)
                .map_err(|problem| refuse(field, format!("{field} {problem}")))?;
        }
    }
    let mut scopes = new.scopes.clone();
    if scopes.is_empty() && interactive {
        scopes = scopes::SUPPORTED.iter().map(|s| s.to_string()).collect();
    }
    for (i, s) in scopes.iter().enumerate() {
        let well_formed = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":._-/".contains(&b));
        if !well_formed {
            return Err(refuse(
                "scopes",
                format!("scopes[{i}] has characters a scope can't have"),
            ));
        }
        if is_admin_scope(s) && !new.admin {
            return Err(refuse(
                "scopes",
                format!("scope {s} needs an admin client (--admin)"),
            ));
        }
    }
    if interactive && !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    let auth_method = match (&new.token_endpoint_auth_method, new.public) {
        (Some(m), _) => m.clone(),
        (None, true) => "none".to_string(),
        (None, false) => "client_secret_basic".to_string(),
    };
    if !AUTH_METHODS.contains(&auth_method.as_str()) {
        return Err(refuse(
            "token_endpoint_auth_method",
            format!(
                "token_endpoint_auth_method is not supported; supported: {}",
                AUTH_METHODS.join(", ")
            ),
        ));
    }
    if new.public != (auth_method == "none") {
        return Err(refuse(
            "token_endpoint_auth_method",
            "token_endpoint_auth_method \"none\" goes with public clients, and only with them",
        ));
    }
    if auth_method == "private_key_jwt" {
        match (&new.jwks, &new.jwks_uri) {
            (Some(j), None) => {
                let set: serde_json::Value =
                    serde_json::from_str(j).map_err(|_| refuse("jwks", "jwks is not JSON"))?;
                if set["keys"].as_array().is_none_or(|k| k.is_empty()) {
                    return Err(refuse(
                        "jwks",
                        "jwks must be a JWK set with at least one key",
                    ));
                }
            }
            // Checked with the other server URLs above.
            (None, Some(_)) => {}
            _ => {
                return Err(refuse(
                    "jwks",
                    "private_key_jwt needs exactly one of jwks or jwks_uri",
                ))
            }
        }
    }
    let subject_type = new.subject_type.clone().unwrap_or_else(|| "public".into());
    if subject_type != "public" && subject_type != "pairwise" {
        return Err(refuse(
            "subject_type",
            "subject_type must be public or pairwise",
        ));
    }
    if subject_type == "pairwise" && new.sector_identifier.is_none() {
        let hosts: std::collections::BTreeSet<String> = new
            .redirect_uris
            .iter()
            .filter_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_string))
            .collect();
        if hosts.len() > 1 {
            return Err(refuse(
                "sector_identifier",
                "a pairwise client with redirect URIs on several hosts needs a sector identifier",
            ));
        }
    }
    let mut verified_claims: Vec<String> = Vec::new();
    for (i, c) in new.verified_claims.iter().enumerate() {
        if !crate::proofing::claims::is_claim_name(c) {
            return Err(refuse(
                "verified_claims",
                format!(
                    "verified_claims[{i}] is not a verified claim Verity releases; known: {}",
                    crate::proofing::claims::CLAIM_NAMES.join(", ")
                ),
            ));
        }
        if !verified_claims.contains(c) {
            verified_claims.push(c.clone());
        }
    }
    if (new.ial2_allowed || !verified_claims.is_empty()) && !interactive {
        return Err(refuse(
            if new.ial2_allowed {
                "ial2_allowed"
            } else {
                "verified_claims"
            },
            "IAL2 and verified claims are for clients that sign people in (authorization_code)",
        ));
    }
    Ok(Prepared {
        name: new.name.trim().to_string(),
        grant_types,
        scopes,
        auth_method,
        subject_type,
        verified_claims,
    })
}

pub fn add(
    conn: &mut DbConn,
    settings: &Settings,
    now: NaiveDateTime,
    new: NewClient,
) -> anyhow::Result<CreatedClient> {
    let Prepared {
        name,
        grant_types,
        scopes,
        auth_method,
        subject_type,
        verified_claims,
    } = prepare(settings, &new)?;
    let id = new
        .fixed_id
        .clone()
        .unwrap_or_else(|| crypto::random_token(18));
    let secret = if new.public || auth_method == "private_key_jwt" {
        None
    } else {
        Some(
            new.fixed_secret
                .clone()
                .unwrap_or_else(|| crypto::random_token(settings.security.client_secret_bytes)),
        )
    };
    let row = ClientRow {
        id: id.clone(),
        name,
        secret_hash: secret.as_deref().map(crypto::token_hash),
        redirect_uris: serde_json::to_string(&new.redirect_uris)?,
        allowed_scopes: scopes::join(&scopes),
        is_public: new.public,
        created_at: now,
        grant_types: grant_types.join(" "),
        is_admin: new.admin,
        post_logout_redirect_uris: serde_json::to_string(&new.post_logout_redirect_uris)?,
        backchannel_logout_uri: new.backchannel_logout_uri.clone(),
        token_endpoint_auth_method: auth_method,
        jwks: new.jwks.clone(),
        jwks_uri: new.jwks_uri.clone(),
        require_par: new.require_par,
        subject_type,
        sector_identifier: new.sector_identifier.clone(),
        registered_dynamically: new.registered_dynamically,
        ial2_allowed: new.ial2_allowed,
        verified_claims: verified_claims.join(" "),
    };
    diesel::insert_into(clients::table)
        .values(&row)
        .execute(conn)?;
    Ok(CreatedClient {
        client_id: id,
        client_secret: secret,
        name: row.name,
        redirect_uris: new.redirect_uris,
        scopes,
        public: new.public,
        grant_types,
        admin: new.admin,
        ial2_allowed: new.ial2_allowed,
        verified_claims,
    })
}

impl NewClient {
    /// The settings of an existing client, to change some and [`update`] it.
    pub fn from_client(c: &Client) -> NewClient {
        NewClient {
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            public: c.public,
            scopes: c.scopes.clone(),
            grant_types: c.grant_types.clone(),
            admin: c.admin,
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            token_endpoint_auth_method: Some(c.token_endpoint_auth_method.clone()),
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            require_par: c.require_par,
            subject_type: Some(c.subject_type.clone()),
            sector_identifier: c.sector_identifier.clone(),
            registered_dynamically: c.registered_dynamically,
            ial2_allowed: c.ial2_allowed,
            verified_claims: c.verified_claims.clone(),
            fixed_id: None,
            fixed_secret: None,
        }
    }
}

/// Changes a client's settings (not its id, secret, grant types or authentication method),
/// under the same rules as [`add`]. False if there is no such client. Callers invalidate
/// the [`ClientCache`].
pub fn update(
    conn: &mut DbConn,
    settings: &Settings,
    id: &str,
    changed: &NewClient,
) -> anyhow::Result<bool> {
    let p = prepare(settings, changed)?;
    let n = diesel::update(clients::table.find(id))
        .set((
            clients::name.eq(p.name),
            clients::redirect_uris.eq(serde_json::to_string(&changed.redirect_uris)?),
            clients::post_logout_redirect_uris
                .eq(serde_json::to_string(&changed.post_logout_redirect_uris)?),
            clients::backchannel_logout_uri.eq(&changed.backchannel_logout_uri),
            clients::allowed_scopes.eq(scopes::join(&p.scopes)),
            clients::is_admin.eq(changed.admin),
            clients::require_par.eq(changed.require_par),
            clients::subject_type.eq(p.subject_type),
            clients::sector_identifier.eq(&changed.sector_identifier),
            clients::ial2_allowed.eq(changed.ial2_allowed),
            clients::verified_claims.eq(p.verified_claims.join(" ")),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// A new secret for a confidential client (the old one stops working at once); returned
/// here once, only its hash is kept. None if there is no such client or it has no secret
/// (public, private_key_jwt).
pub fn rotate_secret(
    conn: &mut DbConn,
    settings: &Settings,
    id: &str,
) -> anyhow::Result<Option<String>> {
    let secret = crypto::random_token(settings.security.client_secret_bytes);
    let n = diesel::update(
        clients::table
            .find(id)
            .filter(clients::secret_hash.is_not_null()),
    )
    .set(clients::secret_hash.eq(crypto::token_hash(&secret)))
    .execute(conn)?;
    Ok((n == 1).then_some(secret))
}

pub fn list(conn: &mut DbConn) -> anyhow::Result<Vec<Client>> {
    Ok(clients::table
        .order(clients::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Client::from_row)
        .collect())
}

/// One page of clients in the order they were added, strictly after `(created_at, id)`.
pub fn page(
    conn: &mut DbConn,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> anyhow::Result<Vec<Client>> {
    let mut q = clients::table
        .order((clients::created_at.asc(), clients::id.asc()))
        .limit(limit)
        .select(ClientRow::as_select())
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            clients::created_at
                .gt(at)
                .or(clients::created_at.eq(at).and(clients::id.gt(id))),
        );
    }
    Ok(q.load(conn)?.into_iter().map(Client::from_row).collect())
}

pub fn get(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<Client>> {
    Ok(clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(Client::from_row))
}

pub fn remove(conn: &mut DbConn, id: &str) -> anyhow::Result<bool> {
    Ok(diesel::delete(clients::table.find(id)).execute(conn)? == 1)
}

/// Client records cached in memory: the token endpoint reads no database row for the
/// client. Entries expire after `ttl`, so a change made by the CLI from another process
/// reaches every node within that time.
/// A looked-up client (or its absence) and when it was fetched.
type CachedClient = (Option<Arc<Client>>, Instant);

pub struct ClientCache {
    db: Db,
    ttl: Duration,
    entries: RwLock<HashMap<String, CachedClient>>,
}

impl ClientCache {
    pub fn new(db: Db, ttl: Duration) -> ClientCache {
        ClientCache {
            db,
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub async fn get(&self, id: &str) -> anyhow::Result<Option<Arc<Client>>> {
        // Client ids come from requests: bound the length so junk can't bloat the cache.
        if id.is_empty() || id.len() > 128 {
            return Ok(None);
        }
        if let Some((client, at)) = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            if at.elapsed() < self.ttl {
                return Ok(client.clone());
            }
        }
        let key = id.to_string();
        let client = self.db.run(move |c| get(c, &key)).await?.map(Arc::new);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(id.to_string(), (client.clone(), Instant::now()));
        Ok(client)
    }

    pub fn invalidate(&self, id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

//! Clients through the management API: list, add, read, change, remove, new secret. The rules
//! a client obeys are `oauth::clients`' (the CLI's); this adds who may do what, the audit
//! trail, and the cache invalidation every change needs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::admin::auth::{Agent, SCOPE_ALL};
use crate::admin::pagination::{self, Page};
use crate::admin::sort_keys::{time_and_id, time_key};
use crate::admin::{Outcome, Problem};
use crate::oauth::clients::{self, is_admin_scope, Client, FieldError, NewClient};
use crate::Ctx;

/// Bounds on what a client may carry (the same as dynamic registration's).
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_URIS: usize = 20;
pub const MAX_URI_LEN: usize = 2048;
pub const MAX_SCOPES: usize = 50;
pub const MAX_SCOPE_LEN: usize = 128;
pub const MAX_JWKS_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => clients::GRANT_AUTHORIZATION_CODE,
            GrantType::RefreshToken => clients::GRANT_REFRESH_TOKEN,
            GrantType::ClientCredentials => clients::GRANT_CLIENT_CREDENTIALS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    /// Every client sees the same `sub` for a person.
    Public,
    /// Each sector sees its own `sub` for a person.
    Pairwise,
}

impl SubjectType {
    fn as_str(self) -> &'static str {
        match self {
            SubjectType::Public => "public",
            SubjectType::Pairwise => "pairwise",
        }
    }
}

/// A verified claim a client may receive (OpenID Connect for Identity Assurance 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedClaim {
    GivenName,
    FamilyName,
    Birthdate,
    Address,
    /// Only to clients that name it.
    SocialSecurityNumber,
}

impl VerifiedClaim {
    fn as_str(self) -> &'static str {
        match self {
            VerifiedClaim::GivenName => "given_name",
            VerifiedClaim::FamilyName => "family_name",
            VerifiedClaim::Birthdate => "birthdate",
            VerifiedClaim::Address => "address",
            VerifiedClaim::SocialSecurityNumber => crate::proofing::claims::SSN,
        }
    }
}

fn claim_names(claims: &[VerifiedClaim]) -> Vec<String> {
    claims.iter().map(|c| c.as_str().to_string()).collect()
}

/// A registered client (relying party or agent). Never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    /// No secret (browser or native app).
    pub public: bool,
    /// May hold `verity:admin` scopes: a management-API agent.
    pub admin: bool,
    /// Must use pushed authorization requests.
    pub require_par: bool,
    /// `public` or `pairwise`.
    pub subject_type: String,
    /// The host pairwise subjects are computed for, when not the redirect URIs' host.
    pub sector_identifier: Option<String>,
    pub token_endpoint_auth_method: String,
    /// private_key_jwt: the client's public JWK set, inline.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// private_key_jwt: where the client publishes its JWK set.
    pub jwks_uri: Option<String>,
    /// Added through dynamic registration (`/register`) rather than by an operator.
    pub registered_dynamically: bool,
    /// May ask for identity-verified assurance (`acr_values` IAL2).
    pub ial2_allowed: bool,
    /// The verified claims it may receive (`verified_claims`, and the verified values of
    /// `given_name`, `family_name`, `birthdate`, `address`).
    pub verified_claims: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl ClientView {
    fn of(c: &Client) -> ClientView {
        ClientView {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            scopes: c.scopes.clone(),
            grant_types: c.grant_types.clone(),
            public: c.public,
            admin: c.admin,
            require_par: c.require_par,
            subject_type: c.subject_type.clone(),
            sector_identifier: c.sector_identifier.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method.clone(),
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri.clone(),
            registered_dynamically: c.registered_dynamically,
            ial2_allowed: c.ial2_allowed,
            verified_claims: c.verified_claims.clone(),
            created_at: c.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub items: Vec<ClientView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A new client, with its secret: shown this once, only its hash is kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClientView {
    #[serde(flatten)]
    pub client: ClientView,
    /// Null for public and private_key_jwt clients, and when an idempotent repeat replays
    /// this answer (the secret is never stored).
    pub client_secret: Option<String>,
}

/// A client's new secret: shown this once; the old one no longer works.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub client_id: String,
    /// Null only when an idempotent repeat replays this answer: the secret is never stored.
    pub client_secret: Option<String>,
}

/// Body of `POST /clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// Exact-match redirect URIs: https (http only for loopback or in dev mode), or a
    /// private-use scheme with a dot. Needed for authorization_code.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Default for authorization_code clients: every scope Verity supports.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub scopes: Vec<String>,
    /// Default: authorization_code.
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub public: bool,
    /// An agent of this API (needs the caller to hold `verity:admin`).
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub require_par: bool,
    /// Default: public.
    pub subject_type: Option<SubjectType>,
    pub sector_identifier: Option<String>,
    /// Default: client_secret_basic, or none for public clients.
    pub token_endpoint_auth_method: Option<AuthMethod>,
    /// private_key_jwt: the client's public JWK set (`{"keys": [...]}`).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// May ask for identity-verified assurance (IAL2). Needs authorization_code.
    #[serde(default)]
    pub ial2_allowed: bool,
    /// Verified claims it may receive. Needs authorization_code.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub verified_claims: Vec<VerifiedClaim>,
}

/// Present-but-null is "clear it"; absent is "leave it".
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Body of `PATCH /clients/{id}`: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    #[schema(max_items = 20)]
    pub redirect_uris: Option<Vec<String>>,
    #[schema(max_items = 20)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub backchannel_logout_uri: Option<Option<String>>,
    #[schema(max_items = 50)]
    pub scopes: Option<Vec<String>>,
    /// Needs the caller to hold `verity:admin`; an agent can't change its own.
    pub admin: Option<bool>,
    pub require_par: Option<bool>,
    pub subject_type: Option<SubjectType>,
    /// null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub sector_identifier: Option<Option<String>>,
    pub ial2_allowed: Option<bool>,
    /// Replaces the list (`[]` for none).
    #[schema(max_items = 5)]
    pub verified_claims: Option<Vec<VerifiedClaim>>,
}

fn field_problem(e: anyhow::Error) -> Problem {
    match e.downcast::<FieldError>() {
        Ok(f) => Problem::invalid(f.field, f.message),
        Err(e) => Problem::Internal(e),
    }
}

fn check_name(name: &str) -> Outcome<()> {
    if name.trim().is_empty() {
        return Err(Problem::invalid("name", "name can't be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Problem::invalid(
            "name",
            format!("name may be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Problem::invalid(
            "name",
            "name must not contain control characters",
        ));
    }
    Ok(())
}

fn check_uris(field: &str, uris: &[String]) -> Outcome<()> {
    if uris.len() > MAX_URIS {
        return Err(Problem::invalid(
            field,
            format!("{field} may list at most {MAX_URIS} URIs"),
        ));
    }
    check_uri_lengths(field, uris.iter())
}

fn check_uri_lengths<'a>(field: &str, uris: impl Iterator<Item = &'a String>) -> Outcome<()> {
    for uri in uris {
        if uri.len() > MAX_URI_LEN {
            return Err(Problem::invalid(
                field,
                format!("a URI may be at most {MAX_URI_LEN} bytes"),
            ));
        }
    }
    Ok(())
}

fn check_scopes(scopes: &[String]) -> Outcome<()> {
    if scopes.len() > MAX_SCOPES {
        return Err(Problem::invalid(
            "scopes",
            format!("at most {MAX_SCOPES} scopes"),
        ));
    }
    if scopes.iter().any(|s| s.len() > MAX_SCOPE_LEN) {
        return Err(Problem::invalid(
            "scopes",
            format!("a scope may be at most {MAX_SCOPE_LEN} characters"),
        ));
    }
    Ok(())
}

fn check_sector(sector: Option<&str>) -> Outcome<()> {
    if let Some(s) = sector {
        let host_like = !s.is_empty()
            && s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !host_like {
            return Err(Problem::invalid(
                "sector_identifier",
                "sector_identifier must be a host name, like rp.example.com",
            ));
        }
    }
    Ok(())
}

/// Making or changing an agent of this API is for agents holding all of it: otherwise a
/// `verity:admin:clients` token could mint itself a `verity:admin` client.
fn require_full_admin(agent: &Agent, why: &str) -> Outcome<()> {
    if agent.scopes.iter().any(|s| s == SCOPE_ALL) {
        Ok(())
    } else {
        Err(Problem::Forbidden(format!(
            "{why} needs a token with the scope {SCOPE_ALL}"
        )))
    }
}

fn touches_admin(c: &NewClient) -> bool {
    c.admin || c.scopes.iter().any(|s| is_admin_scope(s))
}

async fn record(
    ctx: &Ctx,
    agent: &Agent,
    kind: crate::audit::Kind,
    detail: serde_json::Value,
) -> Outcome<()> {
    let (now, agent_id) = (ctx.clock.now(), agent.client_id.clone());
    ctx.db
        .run(move |c| {
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind,
                    user_id: None,
                    client_id: Some(&agent_id),
                    detail,
                    actor: None,
                },
            )
        })
        .await?;
    Ok(())
}

async fn load(ctx: &Ctx, id: &str) -> Outcome<Client> {
    // Ids are random tokens; anything else can't name a client.
    if id.is_empty() || id.len() > 128 {
        return Err(Problem::NotFound("client"));
    }
    let key = id.to_string();
    ctx.db
        .run(move |c| clients::get(c, &key))
        .await?
        .ok_or(Problem::NotFound("client"))
}

pub async fn list(ctx: &Ctx, cursor: Option<&str>, limit: Option<&str>) -> Outcome<ClientList> {
    let req = pagination::page_request(&ctx.settings, cursor, limit)?;
    let after = time_and_id(&req)?;
    let limit = req.limit;
    let rows = ctx
        .db
        .run(move |c| clients::page(c, after, limit + 1))
        .await?;
    let Page { items, next_cursor } = pagination::page(rows, limit, |c| {
        vec![time_key(c.created_at), c.client_id.clone()]
    });
    Ok(ClientList {
        items: items.iter().map(ClientView::of).collect(),
        next_cursor,
    })
}

pub async fn get(ctx: &Ctx, id: &str) -> Outcome<ClientView> {
    Ok(ClientView::of(&load(ctx, id).await?))
}

pub async fn create(ctx: &Ctx, agent: &Agent, req: CreateClient) -> Outcome<CreatedClientView> {
    check_name(&req.name)?;
    check_uris("redirect_uris", &req.redirect_uris)?;
    check_uris("post_logout_redirect_uris", &req.post_logout_redirect_uris)?;
    check_uri_lengths("backchannel_logout_uri", req.backchannel_logout_uri.iter())?;
    check_uri_lengths("jwks_uri", req.jwks_uri.iter())?;
    check_scopes(&req.scopes)?;
    check_sector(req.sector_identifier.as_deref())?;
    let jwks = match &req.jwks {
        None => None,
        Some(j) => {
            let text = j.to_string();
            if !j.is_object() || text.len() > MAX_JWKS_BYTES {
                return Err(Problem::invalid(
                    "jwks",
                    format!("jwks must be a JWK set object of at most {MAX_JWKS_BYTES} bytes"),
                ));
            }
            Some(text)
        }
    };
    let new = NewClient {
        name: req.name,
        redirect_uris: req.redirect_uris,
        public: req.public,
        scopes: req.scopes,
        grant_types: req
            .grant_types
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        admin: req.admin,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        backchannel_logout_uri: req.backchannel_logout_uri,
        token_endpoint_auth_method: req.token_endpoint_auth_method.map(|m| m.as_str().into()),
        jwks,
        jwks_uri: req.jwks_uri,
        require_par: req.require_par,
        subject_type: req.subject_type.map(|s| s.as_str().into()),
        sector_identifier: req.sector_identifier,
        registered_dynamically: false,
        ial2_allowed: req.ial2_allowed,
        verified_claims: claim_names(&req.verified_claims),
        fixed_id: None,
        fixed_secret: None,
    };
    if touches_admin(&new) {
        require_full_admin(agent, "adding an admin client")?;
    }
    let (settings, now) = (ctx.settings.clone(), ctx.clock.now());
    let created = ctx
        .db
        .run(move |c| Ok(clients::add(c, &settings, now, new)))
        .await?
        .map_err(field_problem)?;
    ctx.clients.invalidate(&created.client_id);
    let client = load(ctx, &created.client_id).await?;
    record(
        ctx,
        agent,
        crate::audit::Kind::ClientCreated,
        serde_json::json!({
            "client": client.client_id,
            "name": client.name,
            "admin": client.admin,
            "ial2_allowed": client.ial2_allowed,
            "verified_claims": client.verified_claims,
        }),
    )
    .await?;
    Ok(CreatedClientView {
        client: ClientView::of(&client),
        client_secret: created.client_secret,
    })
}

pub async fn update(ctx: &Ctx, agent: &Agent, id: &str, req: UpdateClient) -> Outcome<ClientView> {
    let current = load(ctx, id).await?;
    let mut changed = NewClient::from_client(&current);
    let mut fields: Vec<&str> = Vec::new();
    if let Some(name) = req.name {
        check_name(&name)?;
        changed.name = name;
        fields.push("name");
    }
    if let Some(uris) = req.redirect_uris {
        check_uris("redirect_uris", &uris)?;
        changed.redirect_uris = uris;
        fields.push("redirect_uris");
    }
    if let Some(uris) = req.post_logout_redirect_uris {
        check_uris("post_logout_redirect_uris", &uris)?;
        changed.post_logout_redirect_uris = uris;
        fields.push("post_logout_redirect_uris");
    }
    if let Some(uri) = req.backchannel_logout_uri {
        check_uri_lengths("backchannel_logout_uri", uri.iter())?;
        changed.backchannel_logout_uri = uri;
        fields.push("backchannel_logout_uri");
    }
    if let Some(scopes) = req.scopes {
        check_scopes(&scopes)?;
        changed.scopes = scopes;
        fields.push("scopes");
    }
    if let Some(admin) = req.admin {
        changed.admin = admin;
        fields.push("admin");
    }
    if let Some(par) = req.require_par {
        changed.require_par = par;
        fields.push("require_par");
    }
    if let Some(st) = req.subject_type {
        changed.subject_type = Some(st.as_str().into());
        fields.push("subject_type");
    }
    if let Some(sector) = req.sector_identifier {
        check_sector(sector.as_deref())?;
        changed.sector_identifier = sector;
        fields.push("sector_identifier");
    }
    if let Some(ial2) = req.ial2_allowed {
        changed.ial2_allowed = ial2;
        fields.push("ial2_allowed");
    }
    if let Some(claims) = req.verified_claims {
        changed.verified_claims = claim_names(&claims);
        fields.push("verified_claims");
    }
    if current.client_id == agent.client_id
        && (changed.admin != current.admin || changed.scopes != current.scopes)
    {
        return Err(Problem::conflict(
            Some(if changed.admin != current.admin {
                "admin"
            } else {
                "scopes"
            }),
            "an agent can't change its own admin flag or scopes; use another admin client",
        ));
    }
    if touches_admin(&changed) || current.admin {
        require_full_admin(agent, "changing an admin client")?;
    }
    // Who may receive verified data (the SSN above all) is kept in the audit trail as set.
    let permissions = serde_json::json!({
        "ial2_allowed": changed.ial2_allowed,
        "verified_claims": changed.verified_claims,
    });
    let (settings, key, new) = (ctx.settings.clone(), id.to_string(), changed);
    let found = ctx
        .db
        .run(move |c| Ok(clients::update(c, &settings, &key, &new)))
        .await?
        .map_err(field_problem)?;
    ctx.clients.invalidate(id);
    if !found {
        return Err(Problem::NotFound("client"));
    }
    if !fields.is_empty() {
        record(
            ctx,
            agent,
            crate::audit::Kind::ClientUpdated,
            if fields.contains(&"ial2_allowed") || fields.contains(&"verified_claims") {
                serde_json::json!({ "client": id, "fields": fields, "permissions": permissions })
            } else {
                serde_json::json!({ "client": id, "fields": fields })
            },
        )
        .await?;
    }
    get(ctx, id).await
}

pub async fn delete(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<ClientView> {
    let current = load(ctx, id).await?;
    if current.client_id == agent.client_id {
        return Err(Problem::conflict(
            None,
            "an agent can't remove the client it is signed in as; use another admin client",
        ));
    }
    if current.admin {
        require_full_admin(agent, "removing an admin client")?;
    }
    let key = id.to_string();
    // Its consents and grants (and so the refresh tokens and access tokens they back) go too.
    let removed = ctx.db.run(move |c| clients::remove(c, &key)).await?;
    ctx.clients.invalidate(id);
    if !removed {
        return Err(Problem::NotFound("client"));
    }
    record(
        ctx,
        agent,
        crate::audit::Kind::ClientDeleted,
        serde_json::json!({ "client": id, "name": current.name }),
    )
    .await?;
    Ok(ClientView::of(&current))
}

pub async fn rotate_secret(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<NewSecret> {
    let current = load(ctx, id).await?;
    if current.admin {
        require_full_admin(agent, "a new secret for an admin client")?;
    }
    if current.secret_hash.is_none() {
        return Err(Problem::conflict(
            None,
            "this client authenticates without a secret (public or private_key_jwt)",
        ));
    }
    let (settings, key) = (ctx.settings.clone(), id.to_string());
    let secret = ctx
        .db
        .run(move |c| clients::rotate_secret(c, &settings, &key))
        .await?;
    ctx.clients.invalidate(id);
    let Some(secret) = secret else {
        return Err(Problem::NotFound("client"));
    };
    record(
        ctx,
        agent,
        crate::audit::Kind::ClientSecretRotated,
        serde_json::json!({ "client": id }),
    )
    .await?;
    Ok(NewSecret {
        client_id: id.to_string(),
        client_secret: Some(secret),
    })
}

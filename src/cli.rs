//! The `verity` command line: serve, migrate, clients, keys, Shared Signals streams.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::config::{RunMode, Settings};
use crate::crypto::MasterKey;
use crate::oauth::clients::{self, NewClient};
use crate::storage::db::Db;
use crate::{keys, Ctx};

#[derive(Parser, Debug)]
#[command(
    name = "verity",
    version,
    about = "Verity: an OpenID Connect identity provider"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once per process: the size of the biggest variant doesn't matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve {
        /// Dev mode only: register the example "Tax Portal" client (examples/tax_portal.rs).
        #[arg(long)]
        dev_demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage relying-party clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Operate relying parties' Shared Signals streams (as the management API's /ssf-streams).
    Ssf {
        #[command(subcommand)]
        command: SsfCommand,
    },
    /// Development and benchmarking tools (refused in production).
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum DevCommand {
    /// Bulk-create confirmed accounts `seed<n>@seed.verity.test`, all with one known password and
    /// one authenticator-app secret (printed as JSON), for benchmarks at scale.
    Seed {
        /// How many accounts to add after those already seeded.
        #[arg(long)]
        users: u64,
        /// Seed even though the database has accounts that were not seeded (a copy of a real
        /// database, say). Without it, such a database is refused: dev mode on the command
        /// line says nothing about the database it points at.
        #[arg(long)]
        alongside_other_accounts: bool,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Register a client; prints its client_id (and secret, once) as JSON.
    Add {
        #[arg(long)]
        name: String,
        /// Exact redirect URI; repeat for several (needed for authorization_code).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Allowed scopes, repeatable or space-separated (default for interactive clients:
        /// openid profile email phone offline_access).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Grant types, repeatable: authorization_code (default), refresh_token, client_credentials.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// May be granted `verity:admin` scopes (the management API).
        #[arg(long)]
        admin: bool,
        /// Where RP-initiated logout may send the browser back; repeat for several.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Receives back-channel logout tokens (OIDC Back-Channel Logout 1.0).
        #[arg(long = "backchannel-logout-uri")]
        backchannel_logout_uri: Option<String>,
        /// client_secret_basic (default; client_secret_post works too), private_key_jwt, none.
        #[arg(long = "auth-method")]
        auth_method: Option<String>,
        /// private_key_jwt: a file holding the client's public JWK set.
        #[arg(long = "jwks-file")]
        jwks_file: Option<std::path::PathBuf>,
        /// private_key_jwt: where the client publishes its JWK set.
        #[arg(long = "jwks-uri")]
        jwks_uri: Option<String>,
        /// The client must use pushed authorization requests (RFC 9126).
        #[arg(long)]
        require_par: bool,
        /// Pairwise subject identifiers (OIDC Core §8.1).
        #[arg(long)]
        pairwise: bool,
        /// Sector for pairwise subjects (default: the redirect URIs' host).
        #[arg(long = "sector-identifier")]
        sector_identifier: Option<String>,
        /// May ask for identity-verified assurance (acr_values urn:verity:ial2 or Login.gov's
        /// http://idmanagement.gov/ns/assurance/ial/2).
        #[arg(long)]
        ial2: bool,
        /// Verified claims it may receive, comma-separated: given_name, family_name,
        /// birthdate, address, social_security_number (the SSN only when named).
        #[arg(long = "verified-claims", value_name = "LIST")]
        verified_claims: Option<String>,
    },
    /// Change a client's identity-verification permissions; prints the client as JSON.
    Update {
        client_id: String,
        /// Allow (true) or stop (false) identity-verified assurance (IAL2).
        #[arg(long, value_name = "true|false")]
        ial2: Option<bool>,
        /// The verified claims it may receive, comma-separated ("" for none); replaces the
        /// current list.
        #[arg(long = "verified-claims", value_name = "LIST")]
        verified_claims: Option<String>,
    },
    /// List clients as JSON.
    List,
    /// Remove a client (its consents and grants go with it).
    Remove { client_id: String },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List signing keys and their state as JSON.
    List,
    /// Create a new signing key. It is published at once and signs after the lead time.
    Rotate {
        /// Seconds until the new key signs (default: security.key_publish_lead_secs).
        #[arg(long)]
        activate_in_secs: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SsfCommand {
    /// List streams as JSON: status and who set it, backlog, delivery counts.
    List {
        /// Only this relying party's streams.
        #[arg(long = "client")]
        client_id: Option<String>,
    },
    /// Pause a stream: events are held until it is resumed; the receiver is told
    /// (stream-updated) and can't enable it itself.
    Pause {
        stream_id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Enable a stream again; held events are delivered after a stream-updated event.
    Resume {
        stream_id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Disable a stream: queued events are dropped; the receiver is told and can't enable it.
    Disable {
        stream_id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Make a stream's refused and retrying events due again now.
    Replay { stream_id: String },
    /// Delivery counts as JSON: totals and per stream (with backlog).
    Metrics,
}

fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url(), 2)?;
    db.migrate()?;
    Ok(db)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let telemetry = crate::telemetry::init(&settings)?;
    let outcome = match cli.command.unwrap_or(Command::Serve { dev_demo: false }) {
        Command::Serve { dev_demo } => serve(settings, dev_demo).await,
        Command::Migrate => {
            let db = Db::connect(&settings.database_url(), 2)?;
            let n = tokio::task::spawn_blocking(move || db.migrate()).await??;
            println!("{n} migration(s) applied");
            Ok(())
        }
        Command::Client { command } => {
            tokio::task::spawn_blocking(move || client_command(&settings, command)).await?
        }
        Command::Keys { command } => {
            tokio::task::spawn_blocking(move || keys_command(&settings, command)).await?
        }
        Command::Ssf { command } => {
            tokio::task::spawn_blocking(move || ssf_command(&settings, command)).await?
        }
        Command::Dev {
            command:
                DevCommand::Seed {
                    users,
                    alongside_other_accounts,
                },
        } => seed_command(settings, users, alongside_other_accounts).await,
    };
    // Blocking, bounded by the export timeout: the last spans go out as the process ends.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    outcome
}

async fn seed_command(
    settings: Settings,
    users: u64,
    alongside_other_accounts: bool,
) -> anyhow::Result<()> {
    use crate::accounts::seed;
    if settings.env != RunMode::Dev {
        bail!("`verity dev seed` creates accounts with a well-known password; it is refused outside dev mode");
    }
    let started = std::time::Instant::now();
    let passwords = crate::accounts::password::Passwords::new(&settings.security, 1)?;
    let hash = passwords.hash(seed::SEED_PASSWORD.to_string()).await?;
    let master = MasterKey::load(&settings)?;
    let db = open_db(&settings)?;
    let now = chrono::Utc::now().naive_utc();
    let first = tokio::task::spawn_blocking(move || {
        let mut conn = db.conn()?;
        let others = seed::other_accounts(&mut conn)?;
        if others > 0 && !alongside_other_accounts {
            bail!(
                "this database has {others} account(s) that were not seeded; refusing to add \
                 accounts with a published password (--alongside-other-accounts to do it anyway)"
            );
        }
        seed::seed(&mut conn, &master, &hash, users, now)
    })
    .await??;
    print_json(&serde_json::json!({
        "created": users,
        "emails": format!(
            "seed{first}@{0} … seed{1}@{0}",
            seed::SEED_DOMAIN,
            first + users.saturating_sub(1)
        ),
        "password": seed::SEED_PASSWORD,
        "totp_secret_base32": crate::mfa::totp::secret_base32(seed::SEED_TOTP_SECRET),
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

fn client_command(settings: &Settings, command: ClientCommand) -> anyhow::Result<()> {
    let db = open_db(settings)?;
    let mut conn = db.conn()?;
    let now = chrono::Utc::now().naive_utc();
    match command {
        ClientCommand::Add {
            name,
            redirect_uris,
            public,
            scopes,
            grant_types,
            admin,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            auth_method,
            jwks_file,
            jwks_uri,
            require_par,
            pairwise,
            sector_identifier,
            ial2,
            verified_claims,
        } => {
            let jwks = match jwks_file {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                ),
                None => None,
            };
            let scopes = scopes
                .iter()
                .flat_map(|s| crate::oauth::scopes::parse(s))
                .collect();
            let grant_types = grant_types
                .iter()
                .flat_map(|s| crate::oauth::scopes::parse(s))
                .collect();
            let created = clients::add(
                &mut conn,
                settings,
                now,
                NewClient {
                    name,
                    redirect_uris,
                    public,
                    scopes,
                    grant_types,
                    admin,
                    post_logout_redirect_uris,
                    backchannel_logout_uri,
                    token_endpoint_auth_method: auth_method,
                    jwks,
                    jwks_uri,
                    require_par,
                    subject_type: pairwise.then(|| "pairwise".to_string()),
                    sector_identifier,
                    ial2_allowed: ial2,
                    verified_claims: claim_list(verified_claims.as_deref()),
                    ..Default::default()
                },
            )?;
            print_json(&created)
        }
        ClientCommand::Update {
            client_id,
            ial2,
            verified_claims,
        } => {
            let Some(current) = clients::get(&mut conn, &client_id)? else {
                bail!("no client with id {client_id}");
            };
            let mut changed = NewClient::from_client(&current);
            if let Some(ial2) = ial2 {
                changed.ial2_allowed = ial2;
            }
            if let Some(list) = verified_claims {
                changed.verified_claims = claim_list(Some(&list));
            }
            clients::update(&mut conn, settings, &client_id, &changed)?;
            // Running servers pick the change up when their client cache entry expires.
            match clients::get(&mut conn, &client_id)? {
                Some(updated) => print_json(&updated),
                None => bail!("no client with id {client_id}"),
            }
        }
        ClientCommand::List => print_json(&clients::list(&mut conn)?),
        ClientCommand::Remove { client_id } => {
            if clients::remove(&mut conn, &client_id)? {
                print_json(&serde_json::json!({ "removed": client_id }))
            } else {
                bail!("no client with id {client_id}")
            }
        }
    }
}

fn ssf_command(settings: &Settings, command: SsfCommand) -> anyhow::Result<()> {
    use crate::admin::ssf::StreamView;
    use crate::ssf::operations::{self, Action, Change, Operator};
    let db = open_db(settings)?;
    let mut conn = db.conn()?;
    let now = chrono::Utc::now().naive_utc();
    let show = |conn: &mut crate::storage::db::DbConn, id: &str| -> anyhow::Result<()> {
        match operations::one(conn, id, now)? {
            Some(o) => print_json(&StreamView::of(&o, settings, now)),
            None => bail!("no stream with id {id}"),
        }
    };
    let (stream_id, action, reason) = match command {
        SsfCommand::List { client_id } => {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = operations::list(&mut conn, client_id.as_deref(), after, 500, now)?;
                after = page
                    .last()
                    .map(|o| (o.stream.created_at, o.stream.id.clone()));
                let done = page.len() < 500;
                all.extend(page.iter().map(|o| StreamView::of(o, settings, now)));
                if done {
                    break;
                }
            }
            return print_json(&all);
        }
        SsfCommand::Metrics => return print_json(&operations::metrics(&mut conn)?),
        SsfCommand::Replay { stream_id } => {
            let Some(n) =
                operations::replay(&mut conn, &settings.ssf, now, &stream_id, Operator::Cli)?
            else {
                bail!("no stream with id {stream_id}");
            };
            eprintln!("{n} event(s) made due again");
            return show(&mut conn, &stream_id);
        }
        SsfCommand::Pause { stream_id, reason } => (stream_id, Action::Pause, reason),
        SsfCommand::Resume { stream_id, reason } => (stream_id, Action::Resume, reason),
        SsfCommand::Disable { stream_id, reason } => (stream_id, Action::Disable, reason),
    };
    if let Some(r) = &reason {
        operations::check_reason(r).map_err(anyhow::Error::msg)?;
    }
    let change = operations::set_status(
        &mut conn,
        &settings.ssf,
        now,
        &stream_id,
        action,
        reason.as_deref(),
        Operator::Cli,
    )?;
    match change {
        Change::NotFound => bail!("no stream with id {stream_id}"),
        Change::Unchanged => eprintln!("the stream already had this status and reason"),
        Change::Changed => eprintln!("done; the receiver is sent a stream-updated event"),
    }
    show(&mut conn, &stream_id)
}

/// `a,b c` → ["a", "b", "c"].
fn claim_list(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or("")
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn keys_command(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    let db = open_db(settings)?;
    let master = MasterKey::load(settings)?;
    let mut conn = db.conn()?;
    let now = chrono::Utc::now().naive_utc();
    let lifetime = crate::token_lifetime(settings);
    keys::ensure_key(
        &mut conn,
        &master,
        settings.signing_alg,
        now,
        Duration::from_secs(settings.security.key_publish_lead_secs),
        lifetime,
    )?;
    match command {
        KeysCommand::List => {}
        KeysCommand::Rotate { activate_in_secs } => {
            let lead = Duration::from_secs(
                activate_in_secs.unwrap_or(settings.security.key_publish_lead_secs),
            );
            let row = keys::rotate(
                &mut conn,
                &master,
                settings.signing_alg,
                now,
                lead,
                lifetime,
            )?;
            eprintln!(
                "new key {} ({}) is published now and signs from {} UTC; running nodes pick it up within {} s",
                row.id, row.alg, row.active_from, settings.security.key_refresh_secs
            );
        }
    }
    let rows = keys::load_rows(&mut conn)?;
    let signing = rows
        .iter()
        .filter(|r| r.active_from <= now)
        .max_by_key(|r| (r.created_at, r.active_from))
        .map(|r| r.id.clone());
    let list: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "kid": r.id,
                "alg": r.alg,
                "state": r.state(now, signing.as_deref()),
                "created_at": r.created_at.to_string(),
                "active_from": r.active_from.to_string(),
                "published_until": r.publish_until.map(|t| t.to_string()),
            })
        })
        .collect();
    print_json(&list)
}

/// The fixed client `verity serve --dev-demo` registers for examples/tax_portal.rs.
pub const DEMO_CLIENT_ID: &str = "tax-portal";
pub const DEMO_CLIENT_SECRET: &str = "tax-portal-dev-secret";
pub const DEMO_REDIRECT_URI: &str = "http://localhost:8081/callback";

/// The demo client: signs people in (IAL2 and every verified claim allowed, for the portal's
/// "Verify with Verity (IAL2)" button) and, with its own `client_credentials` grant and
/// `ssf.manage`, registers the portal's Shared Signals push stream.
pub fn demo_client() -> NewClient {
    let mut scopes: Vec<String> = crate::oauth::scopes::SUPPORTED
        .iter()
        .map(|s| s.to_string())
        .collect();
    scopes.push(crate::ssf::SCOPE_MANAGE.into());
    NewClient {
        name: "Tax Portal (demo)".into(),
        redirect_uris: vec![DEMO_REDIRECT_URI.into()],
        public: false,
        scopes,
        grant_types: vec![
            clients::GRANT_AUTHORIZATION_CODE.into(),
            clients::GRANT_REFRESH_TOKEN.into(),
            clients::GRANT_CLIENT_CREDENTIALS.into(),
        ],
        admin: false,
        post_logout_redirect_uris: vec!["http://localhost:8081/".into()],
        backchannel_logout_uri: None,
        fixed_id: Some(DEMO_CLIENT_ID.into()),
        fixed_secret: Some(DEMO_CLIENT_SECRET.into()),
        ial2_allowed: true,
        verified_claims: crate::proofing::claims::CLAIM_NAMES
            .iter()
            .map(|c| c.to_string())
            .collect(),
        ..Default::default()
    }
}

/// Registers the demo client, or brings one registered by an older version (a data directory
/// kept from before) up to the grant types and scopes the portal now uses.
fn seed_demo_client(
    conn: &mut crate::storage::db::DbConn,
    settings: &Settings,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    let demo = demo_client();
    match clients::get(conn, DEMO_CLIENT_ID)? {
        None => {
            clients::add(conn, settings, now, demo)?;
        }
        Some(existing) => {
            let lacks = |have: &[String], want: &[String]| want.iter().any(|w| !have.contains(w));
            if lacks(&existing.grant_types, &demo.grant_types)
                || lacks(&existing.scopes, &demo.scopes)
            {
                // `clients::update` keeps grant types as registered; this is the dev demo's
                // fixed client, set straight to what `demo_client` registers.
                use crate::storage::schema::clients as table;
                use diesel::prelude::*;
                diesel::update(table::table.find(DEMO_CLIENT_ID))
                    .set((
                        table::grant_types.eq(demo.grant_types.join(" ")),
                        table::allowed_scopes.eq(crate::oauth::scopes::join(&demo.scopes)),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

async fn serve(settings: Settings, dev_demo: bool) -> anyhow::Result<()> {
    if dev_demo && settings.env != RunMode::Dev {
        bail!("--dev-demo registers a client with a well-known secret; it is refused outside dev mode");
    }
    let listen = settings.listen.clone();
    let ctx = Ctx::build(settings).await?;
    if dev_demo {
        let s = ctx.settings.clone();
        let now = ctx.clock.now();
        ctx.db.run(move |c| seed_demo_client(c, &s, now)).await?;
        ctx.clients.invalidate(DEMO_CLIENT_ID);
        tracing::info!(
            client_id = DEMO_CLIENT_ID,
            redirect_uri = DEMO_REDIRECT_URI,
            "demo client registered: run `cargo run --example tax_portal`"
        );
    }
    let listener = TcpListener::bind(&listen).with_context(|| format!("binding {listen}"))?;
    tracing::info!(
        listen = %listen,
        issuer = %ctx.settings.issuer,
        env = ?ctx.settings.env,
        database = ctx.db.backend().name(),
        store = ctx.store.backend_name(),
        notifier = ctx.notifier.name(),
        signing_alg = ctx.settings.signing_alg.as_str(),
        "Verity is listening"
    );
    if ctx.settings.env == RunMode::Dev {
        tracing::info!(
            "dev mode: sent messages appear at {}/dev/outbox",
            ctx.settings.issuer
        );
    }
    spawn_key_refresh(ctx.clone());
    let (server, push) = crate::web::serve_with_push_worker(ctx, listener)?;
    let served = server.await;
    // After the server has stopped (SIGTERM, Ctrl-C): let a Security Event Token in flight
    // finish, so the next start doesn't send it again.
    push.stop().await;
    served?;
    Ok(())
}

/// Picks up keys rotated by the CLI or another node, and activations that came due.
pub fn spawn_key_refresh(ctx: Ctx) {
    tokio::spawn(async move {
        let period = Duration::from_secs(ctx.settings.security.key_refresh_secs.max(1));
        loop {
            tokio::time::sleep(period).await;
            if let Err(e) = ctx.reload_keys().await {
                tracing::error!(error = %format!("{e:#}"), "reloading signing keys failed; keeping the current ones");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_identity_flags_parse() {
        let cli = Cli::try_parse_from([
            "verity",
            "client",
            "add",
            "--name",
            "Tax Office",
            "--ial2",
            "--verified-claims",
            "given_name, family_name,social_security_number",
        ])
        .unwrap();
        let Some(Command::Client {
            command:
                ClientCommand::Add {
                    ial2,
                    verified_claims,
                    ..
                },
        }) = cli.command
        else {
            panic!("client add");
        };
        assert!(ial2);
        assert_eq!(
            claim_list(verified_claims.as_deref()),
            vec!["given_name", "family_name", "social_security_number"]
        );
        let cli = Cli::try_parse_from([
            "verity",
            "client",
            "update",
            "abc",
            "--ial2",
            "false",
            "--verified-claims",
            "",
        ])
        .unwrap();
        let Some(Command::Client {
            command:
                ClientCommand::Update {
                    ial2,
                    verified_claims,
                    ..
                },
        }) = cli.command
        else {
            panic!("client update");
        };
        assert_eq!(ial2, Some(false));
        assert!(claim_list(verified_claims.as_deref()).is_empty());
    }

    #[test]
    fn ssf_commands_parse() {
        let parse = |args: &[&str]| {
            let mut all = vec!["verity", "ssf"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all).map(|c| c.command) {
                Ok(Some(Command::Ssf { command })) => Ok(command),
                Ok(other) => panic!("{args:?}: {other:?}"),
                Err(e) => Err(e),
            }
        };
        assert!(matches!(
            parse(&["list"]).unwrap(),
            SsfCommand::List { client_id: None }
        ));
        assert!(matches!(
            parse(&["list", "--client", "tax-portal"]).unwrap(),
            SsfCommand::List { client_id: Some(c) } if c == "tax-portal"
        ));
        assert!(matches!(
            parse(&["pause", "s-1", "--reason", "receiver is down"]).unwrap(),
            SsfCommand::Pause { stream_id, reason: Some(r) } if stream_id == "s-1" && r == "receiver is down"
        ));
        assert!(matches!(
            parse(&["resume", "s-1"]).unwrap(),
            SsfCommand::Resume { reason: None, .. }
        ));
        assert!(matches!(
            parse(&["disable", "s-1", "--reason", "abuse"]).unwrap(),
            SsfCommand::Disable { .. }
        ));
        assert!(matches!(
            parse(&["replay", "s-1"]).unwrap(),
            SsfCommand::Replay { stream_id } if stream_id == "s-1"
        ));
        assert!(matches!(parse(&["metrics"]).unwrap(), SsfCommand::Metrics));
        assert!(parse(&["pause"]).is_err(), "a stream id is needed");
        assert!(parse(&["restart", "s-1"]).is_err());
    }
}

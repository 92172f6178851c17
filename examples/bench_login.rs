//! Load driver of `scripts/bench-login.sh`: returning people who ticked "remember this
//! browser" and already consented sign in to a relying party, `/authorize` → password →
//! code → `/token`, as fast as the server lets them.
//!
//! ```text
//! bench_login setup --base URL --client-id ID --client-secret SECRET --users 64 --state FILE
//! bench_login run --state FILE --concurrency 16 --duration 20 --warmup 3
//! ```
//!
//! `setup` (not measured) creates the people through the real pages: sign-up and the emailed
//! confirmation link (read from the dev outbox), a first sign-in that enrols backup codes, a
//! sign-in with a backup code and "remember this browser", and one authorization with consent
//! for the bench client. It keeps each person's long-lived cookies (browser id and remembered
//! browser) in the state file.
//!
//! `run` starts `concurrency` workers, each with a person of its own. A worker repeats the
//! flow, every time from those long-lived cookies only (no session), without a pause for
//! `warmup` + `duration` seconds; the flows that complete in the last `duration` seconds are
//! measured. It prints one line for the script:
//! `BENCH_RESULT <concurrency> <flows> <window s> <flows/s> <p50 ms> <p99 ms> <errors> <driver CPU s>`.
//! A flow is an error when any answer is not the expected one (status, redirect target,
//! state, token response). `errors` counts every failed flow, warm-up included; failed flows
//! don't count in flows/s or the percentiles.
//!
//! The driver runs on a single-threaded tokio runtime: the server is CPU-bound (Argon2id) on
//! the same machine, so the driver must take as little CPU from it as possible. One thread
//! of async HTTP is plenty for 64 flows that each wait tens of milliseconds on the server;
//! the driver prints the CPU time it used so that this can be checked.
//!
//! Cookies are kept by hand per person (name → value from `Set-Cookie`), not with reqwest's
//! cookie store, so a measured flow provably starts from only the long-lived cookies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde::{Deserialize, Serialize};

/// Password of every bench account (zxcvbn score 4, as in the integration tests).
const PASSWORD: &str = "plum tractor gazebo lantern";
/// Cookies that outlive a session: the browser id (plain and `__Host-` names, http and https)
/// and the remembered-browser cookie. A measured flow starts with these and nothing else.
const LONG_LIVED_COOKIES: &[&str] = &["verity_browser", "__Host-verity_browser", "verity_remember"];
const REMEMBER_COOKIE: &str = "verity_remember";

#[derive(Parser)]
#[command(about = "Load driver for scripts/bench-login.sh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the people (not measured) and write the state file.
    Setup {
        /// Verity's base URL (the issuer), e.g. http://127.0.0.1:18080.
        #[arg(long)]
        base: String,
        /// Generated ids and secrets are base64url and may start with `-`.
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
        #[arg(long, allow_hyphen_values = true)]
        client_secret: String,
        #[arg(long, default_value = "http://localhost:9999/callback")]
        redirect_uri: String,
        #[arg(long, default_value = "openid email")]
        scope: String,
        #[arg(long, default_value_t = 64)]
        users: usize,
        /// People set up at the same time.
        #[arg(long, default_value_t = 4)]
        parallel: usize,
        #[arg(long)]
        state: std::path::PathBuf,
    },
    /// Run the measured loop at one concurrency.
    Run {
        #[arg(long)]
        state: std::path::PathBuf,
        #[arg(long)]
        concurrency: usize,
        /// Seconds measured.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Seconds of the same load before, not recorded.
        #[arg(long, default_value_t = 3)]
        warmup: u64,
    },
}

#[derive(Serialize, Deserialize)]
struct State {
    base: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    scope: String,
    users: Vec<Person>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Person {
    email: String,
    password: String,
    /// Long-lived cookies only.
    cookies: BTreeMap<String, String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // reqwest is built without a TLS provider of its own (Verity hands it aws-lc-rs, so ring
    // isn't compiled); it wants one even for plain HTTP.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Single-threaded on purpose: see the module comment.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        match cli.command {
            Command::Setup {
                base,
                client_id,
                client_secret,
                redirect_uri,
                scope,
                users,
                parallel,
                state,
            } => {
                let client = Client {
                    base: base.trim_end_matches('/').to_string(),
                    client_id,
                    client_secret,
                    redirect_uri,
                    scope,
                };
                let people = setup(&client, users, parallel).await?;
                let out = State {
                    base: client.base,
                    client_id: client.client_id,
                    client_secret: client.client_secret,
                    redirect_uri: client.redirect_uri,
                    scope: client.scope,
                    users: people,
                };
                std::fs::write(&state, serde_json::to_vec_pretty(&out)?)
                    .with_context(|| format!("writing {}", state.display()))?;
                Ok(())
            }
            Command::Run {
                state,
                concurrency,
                duration,
                warmup,
            } => {
                let text = std::fs::read(&state)
                    .with_context(|| format!("reading {}", state.display()))?;
                let state: State = serde_json::from_slice(&text)?;
                run(state, concurrency, duration, warmup).await
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP with a hand-kept cookie jar

/// One person's cookies, name → value, filled from `Set-Cookie`.
#[derive(Clone, Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Applies every `Set-Cookie`: an empty value or `Max-Age=0` removes the cookie. All of
    /// Verity's cookies have `Path=/` and no domain, so name → value is the whole story.
    fn absorb(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim().trim_matches('"'));
            let removed = value.is_empty()
                || parts.any(|a| {
                    let a = a.trim().to_ascii_lowercase();
                    a == "max-age=0" || a.starts_with("max-age=-")
                });
            if removed {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn long_lived(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter(|(k, _)| LONG_LIVED_COOKIES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

struct Answer {
    status: StatusCode,
    /// The request's URL.
    url: String,
    location: Option<String>,
    body: String,
}

impl Answer {
    fn expect(&self, status: u16, step: &str) -> anyhow::Result<()> {
        if self.status.as_u16() != status {
            bail!(
                "{step}: HTTP {} from {} (expected {status}){}",
                self.status,
                path_of(&self.url),
                snippet(&self.body)
            );
        }
        Ok(())
    }

    /// The redirect target, made absolute.
    fn redirect(&self, step: &str) -> anyhow::Result<String> {
        self.expect(303, step).or_else(|e| {
            if self.status.is_redirection() {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        let location = self
            .location
            .as_deref()
            .ok_or_else(|| anyhow!("{step}: redirect without Location"))?;
        Ok(url::Url::parse(&self.url)?.join(location)?.to_string())
    }
}

fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| url.to_string())
}

/// The page's heading or error text, to make a failure readable.
fn snippet(body: &str) -> String {
    if body.is_empty() {
        return String::new();
    }
    let doc = Html::parse_document(body);
    for sel in [".error", "[role=alert]", "h1", "title"] {
        let Ok(sel) = Selector::parse(sel) else {
            continue;
        };
        if let Some(e) = doc.select(&sel).next() {
            let text: String = e
                .text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if !text.is_empty() {
                return format!(": {}", text.chars().take(160).collect::<String>());
            }
        }
    }
    format!(": {}", body.chars().take(160).collect::<String>())
}

#[derive(Clone)]
struct Agent {
    http: reqwest::Client,
    base: String,
}

impl Agent {
    fn new(base: &str) -> anyhow::Result<Agent> {
        Ok(Agent {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .user_agent("VerityBench/1.0 (bench-login)")
                .build()?,
            base: base.to_string(),
        })
    }

    fn abs(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.base, path_or_url)
        }
    }

    async fn send(
        &self,
        jar: &mut Jar,
        req: reqwest::RequestBuilder,
        url: String,
    ) -> anyhow::Result<Answer> {
        let req = if jar.0.is_empty() {
            req
        } else {
            req.header(header::COOKIE, jar.header())
        };
        let res = req
            .send()
            .await
            .with_context(|| format!("request to {}", path_of(&url)))?;
        jar.absorb(res.headers());
        let status = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = res.text().await?;
        Ok(Answer {
            status,
            url,
            location,
            body,
        })
    }

    async fn get(&self, jar: &mut Jar, path_or_url: &str) -> anyhow::Result<Answer> {
        let url = self.abs(path_or_url);
        self.send(jar, self.http.get(&url), url.clone()).await
    }

    async fn post(
        &self,
        jar: &mut Jar,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        let url = self.abs(path);
        self.send(jar, self.http.post(&url).form(form), url.clone())
            .await
    }

    /// Follows redirects inside Verity; stops at the first answer that isn't a redirect or
    /// at a redirect that leaves Verity (to the relying party), whose URL it returns.
    async fn follow(
        &self,
        jar: &mut Jar,
        mut answer: Answer,
        step: &str,
    ) -> anyhow::Result<Followed> {
        for _ in 0..10 {
            if !answer.status.is_redirection() {
                return Ok(Followed::Page(answer));
            }
            let next = answer.redirect(step)?;
            if !next.starts_with(&self.base) {
                return Ok(Followed::Left(next));
            }
            answer = self.get(jar, &next).await?;
        }
        bail!("{step}: more than 10 redirects")
    }
}

enum Followed {
    Page(Answer),
    Left(String),
}

fn field(html: &str, name: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(&format!("input[name={name}]")).ok()?;
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_string)
}

fn has_input(html: &str, name: &str) -> bool {
    let doc = Html::parse_document(html);
    Selector::parse(&format!("input[name={name}]"))
        .map(|sel| doc.select(&sel).next().is_some())
        .unwrap_or(false)
}

fn csrf_of(answer: &Answer, step: &str) -> anyhow::Result<String> {
    field(&answer.body, "csrf")
        .ok_or_else(|| anyhow!("{step}: no csrf field on {}", path_of(&answer.url)))
}

// ---------------------------------------------------------------------------------------------
// The relying party's side

struct Client {
    base: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    scope: String,
}

struct AuthRequest {
    url: String,
    state: String,
    verifier: String,
}

impl Client {
    /// An authorization request with PKCE (S256), state and nonce, as an RP would send.
    fn auth_request(&self) -> AuthRequest {
        let verifier = verity::crypto::random_token(32);
        let challenge = verity::crypto::b64url(&verity::crypto::sha256(verifier.as_bytes()));
        let state = verity::crypto::random_token(16);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", &state)
            .append_pair("nonce", &verity::crypto::random_token(16))
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        AuthRequest {
            url: format!("{}/authorize?{query}", self.base),
            state,
            verifier,
        }
    }

    /// The code from the callback URL, after checking `state`.
    fn code_from(&self, callback: &str, req: &AuthRequest, step: &str) -> anyhow::Result<String> {
        if !callback.starts_with(&self.redirect_uri) {
            bail!("{step}: sent to {callback}, not to the redirect URI");
        }
        let url = url::Url::parse(callback)?;
        let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        if let Some(error) = q.get("error") {
            bail!(
                "{step}: authorization error {error}: {}",
                q.get("error_description").map(String::as_str).unwrap_or("")
            );
        }
        if q.get("state") != Some(&req.state) {
            bail!("{step}: state doesn't match");
        }
        q.get("code")
            .cloned()
            .ok_or_else(|| anyhow!("{step}: no code in the callback"))
    }

    /// The token request (client_secret_basic, PKCE verifier); expects an ID token.
    async fn exchange(&self, agent: &Agent, code: &str, req: &AuthRequest) -> anyhow::Result<()> {
        let res = agent
            .http
            .post(format!("{}/token", self.base))
            .basic_auth(
                url::form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect::<String>(),
                Some(
                    url::form_urlencoded::byte_serialize(self.client_secret.as_bytes())
                        .collect::<String>(),
                ),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", &req.verifier),
            ])
            .send()
            .await
            .context("token request")?;
        let status = res.status();
        let body = res.text().await?;
        if status != StatusCode::OK {
            bail!(
                "token: HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            );
        }
        let json: serde_json::Value = serde_json::from_str(&body).context("token response")?;
        if json.get("access_token").and_then(|v| v.as_str()).is_none()
            || json.get("id_token").and_then(|v| v.as_str()).is_none()
        {
            bail!("token: no access_token or id_token in {body}");
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Setup: people who have an account, backup codes, a remembered browser and a consent

async fn setup(client: &Client, users: usize, parallel: usize) -> anyhow::Result<Vec<Person>> {
    let agent = Agent::new(&client.base)?;
    let run_id = verity::crypto::random_token(6)
        .to_lowercase()
        .replace(['-', '_'], "x");
    let client = Arc::new(Client {
        base: client.base.clone(),
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.clone(),
        redirect_uri: client.redirect_uri.clone(),
        scope: client.scope.clone(),
    });
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for i in 0..users {
        let (agent, client, permits) = (agent.clone(), client.clone(), permits.clone());
        let email = format!("bench-{run_id}-{i:03}@example.com");
        tasks.spawn_local(async move {
            let _permit = permits.acquire_owned().await?;
            let person = set_up_person(&agent, &client, &email)
                .await
                .with_context(|| format!("setting up {email}"))?;
            anyhow::Ok((i, person))
        });
    }
    let mut people = Vec::with_capacity(users);
    while let Some(done) = tasks.join_next().await {
        people.push(done??);
        if people.len() % 16 == 0 {
            eprintln!("bench-login:   {} of {users} people set up", people.len());
        }
    }
    people.sort_by_key(|(i, _)| *i);
    eprintln!(
        "bench-login:   {users} people set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(people.into_iter().map(|(_, p)| p).collect())
}

async fn set_up_person(agent: &Agent, client: &Client, email: &str) -> anyhow::Result<Person> {
    let mut jar = Jar::default();
    create_account(agent, &mut jar, email, PASSWORD).await?;

    // First sign-in: enrol backup codes as the second factor.
    let res = sign_in(agent, &mut jar, email, PASSWORD).await?;
    let next = res.redirect("first sign-in")?;
    if path_of(&next) != "/mfa/setup" {
        bail!("first sign-in: sent to {next}, expected the second-factor enrolment");
    }
    let page = agent.get(&mut jar, "/mfa/setup").await?;
    page.expect(200, "enrolment page")?;
    let res = agent
        .post(
            &mut jar,
            "/mfa/setup/backup-codes",
            &[("csrf", &csrf_of(&page, "enrolment page")?)],
        )
        .await?;
    res.redirect("choose backup codes")?;
    let page = agent.get(&mut jar, "/mfa/setup/backup-codes").await?;
    page.expect(200, "backup codes page")?;
    let mut codes = {
        let doc = Html::parse_document(&page.body);
        let sel = Selector::parse("ol.codes code").map_err(|e| anyhow!("selector: {e}"))?;
        doc.select(&sel)
            .map(|e| e.text().collect::<String>())
            .collect::<Vec<_>>()
    };
    let res = agent
        .post(
            &mut jar,
            "/mfa/setup/backup-codes/done",
            &[("csrf", &csrf_of(&page, "backup codes page")?)],
        )
        .await?;
    res.redirect("backup codes saved")?;
    sign_out(agent, &mut jar).await?;

    // Second sign-in: a backup code, and "remember this browser".
    let res = sign_in(agent, &mut jar, email, PASSWORD).await?;
    let next = res.redirect("second sign-in")?;
    if path_of(&next) != "/mfa" {
        bail!("second sign-in: sent to {next}, expected the second-factor page");
    }
    let page = agent.get(&mut jar, "/mfa?method=backup").await?;
    page.expect(200, "second-factor page")?;
    let code = codes
        .pop()
        .ok_or_else(|| anyhow!("no backup codes were shown"))?;
    let res = agent
        .post(
            &mut jar,
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page, "second-factor page")?),
                ("method", "backup"),
                ("code", &code),
                ("remember", "yes"),
            ],
        )
        .await?;
    res.redirect("backup code")?;
    if !jar.0.contains_key(REMEMBER_COOKIE) {
        bail!("no {REMEMBER_COOKIE} cookie after \"remember this browser\"");
    }

    // One authorization with consent approved, and its code exchanged.
    let req = client.auth_request();
    let res = agent.get(&mut jar, &req.url).await?;
    let callback = match agent.follow(&mut jar, res, "first authorization").await? {
        Followed::Left(url) => url,
        Followed::Page(page) => {
            page.expect(200, "consent page")?;
            let authz = field(&page.body, "authz")
                .ok_or_else(|| anyhow!("consent page: no authz field{}", snippet(&page.body)))?;
            let res = agent
                .post(
                    &mut jar,
                    "/consent",
                    &[
                        ("csrf", &csrf_of(&page, "consent page")?),
                        ("authz", &authz),
                        ("decision", "allow"),
                    ],
                )
                .await?;
            match agent.follow(&mut jar, res, "consent").await? {
                Followed::Left(url) => url,
                Followed::Page(p) => {
                    bail!("consent: ended on {}{}", path_of(&p.url), snippet(&p.body))
                }
            }
        }
    };
    let code = client.code_from(&callback, &req, "first authorization")?;
    client.exchange(agent, &code, &req).await?;
    sign_out(agent, &mut jar).await?;

    let cookies = jar.long_lived();
    if !cookies.contains_key(REMEMBER_COOKIE) || cookies.len() < 2 {
        bail!(
            "long-lived cookies missing after setup: have {:?}",
            cookies.keys().collect::<Vec<_>>()
        );
    }
    Ok(Person {
        email: email.to_string(),
        password: PASSWORD.to_string(),
        cookies,
    })
}

/// Sign-up through the pages, then the emailed confirmation link. The only place that knows
/// how an account comes to be. It handles both sign-up flows: the password on the sign-up
/// form (until 4b3a8e5), and Login.gov's order (email first, the password chosen on the page
/// the link opens): the password fields are sent with the email, where the newer form ignores
/// them, and a password form behind the link is filled in.
async fn create_account(
    agent: &Agent,
    jar: &mut Jar,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let page = agent.get(jar, "/signup").await?;
    page.expect(200, "sign-up page")?;
    let with_password = has_input(&page.body, "password");
    let csrf = csrf_of(&page, "sign-up page")?;
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("email", email),
        ("terms", "accepted"),
        ("authz", ""),
    ];
    if with_password {
        form.extend([("password", password), ("password_confirmation", password)]);
    }
    let res = agent.post(jar, "/signup", &form).await?;
    res.expect(200, "sign-up")?;
    let link = confirmation_link(agent, email).await?;
    let res = agent.get(jar, &link).await?;
    res.expect(200, "confirmation link")?;
    if !has_input(&res.body, "password") {
        return Ok(());
    }
    // Email first: the link's page asks for the password.
    let token = field(&res.body, "token").unwrap_or_default();
    let authz = field(&res.body, "authz").unwrap_or_default();
    let done = agent
        .post(
            jar,
            "/confirm-email",
            &[
                ("csrf", &csrf_of(&res, "password page")?),
                ("token", &token),
                ("authz", &authz),
                ("password", password),
                ("password_confirmation", password),
            ],
        )
        .await?;
    done.expect(200, "choosing the password")?;
    Ok(())
}

/// The link in the newest "Confirm your email" message to `email` on the dev outbox page.
/// Retries for a while: sending may happen after the sign-up answer.
async fn confirmation_link(agent: &Agent, email: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = agent.get(&mut Jar::default(), "/dev/outbox").await?;
        page.expect(200, "dev outbox")?;
        let found = {
            let doc = Html::parse_document(&page.body);
            let message = Selector::parse("article.message").expect("static selector");
            let recipient = Selector::parse("p.meta strong").expect("static selector");
            let subject = Selector::parse("h2").expect("static selector");
            let link = Selector::parse("a[href]").expect("static selector");
            doc.select(&message)
                .find(|m| {
                    let text = |sel: &Selector| {
                        m.select(sel)
                            .next()
                            .map(|e| e.text().collect::<String>())
                            .unwrap_or_default()
                    };
                    text(&recipient).trim() == email
                        && text(&subject).contains("Confirm your email")
                })
                .and_then(|m| m.select(&link).next())
                .and_then(|a| a.value().attr("href"))
                .map(str::to_string)
        };
        if let Some(link) = found {
            return Ok(link);
        }
        if Instant::now() > deadline {
            bail!("no \"Confirm your email\" message to {email} on /dev/outbox");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The password form without an authorization request (setup only).
async fn sign_in(
    agent: &Agent,
    jar: &mut Jar,
    email: &str,
    password: &str,
) -> anyhow::Result<Answer> {
    let page = agent.get(jar, "/login").await?;
    page.expect(200, "sign-in page")?;
    agent
        .post(
            jar,
            "/login",
            &[
                ("csrf", &csrf_of(&page, "sign-in page")?),
                ("email", email),
                ("password", password),
                ("authz", ""),
            ],
        )
        .await
}

async fn sign_out(agent: &Agent, jar: &mut Jar) -> anyhow::Result<()> {
    let home = agent.get(jar, "/").await?;
    home.expect(200, "home page")?;
    let res = agent
        .post(jar, "/logout", &[("csrf", &csrf_of(&home, "home page")?)])
        .await?;
    res.redirect("sign-out")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The measured flow

/// `/authorize` → sign-in page → password (the remembered browser stands in for the second
/// factor, consent is on file) → code → `/token`. Starts from the long-lived cookies only.
async fn returning_sign_in(agent: &Agent, client: &Client, person: &Person) -> anyhow::Result<()> {
    let mut jar = Jar(person.cookies.clone());
    let req = client.auth_request();
    let res = agent.get(&mut jar, &req.url).await?;
    let page = match agent.follow(&mut jar, res, "authorize").await? {
        Followed::Page(page) => page,
        Followed::Left(url) => bail!("authorize: sent to {url} without signing in"),
    };
    page.expect(200, "sign-in page")?;
    if path_of(&page.url) != "/login" {
        bail!(
            "authorize: ended on {}, expected the sign-in page",
            path_of(&page.url)
        );
    }
    let authz = field(&page.body, "authz").unwrap_or_default();
    if authz.is_empty() {
        bail!("sign-in page: no authorization request attached");
    }
    let res = agent
        .post(
            &mut jar,
            "/login",
            &[
                ("csrf", &csrf_of(&page, "sign-in page")?),
                ("email", &person.email),
                ("password", &person.password),
                ("authz", &authz),
            ],
        )
        .await?;
    let next = res.redirect("password")?;
    if path_of(&next).starts_with("/mfa") {
        bail!(
            "password: sent to {} (the remembered browser wasn't honoured)",
            path_of(&next)
        );
    }
    let callback = match agent.follow(&mut jar, res, "password").await? {
        Followed::Left(url) => url,
        Followed::Page(p) => bail!(
            "password: ended on {} with HTTP {}{}",
            path_of(&p.url),
            p.status,
            snippet(&p.body)
        ),
    };
    let code = client.code_from(&callback, &req, "authorize")?;
    client.exchange(agent, &code, &req).await
}

/// What the workers saw. Load runs without a pause from the start of the warm-up to the end
/// of the window, so the window sees steady state (no ramp-up between warm-up and
/// measurement); a flow counts when it completes inside the window.
struct Load {
    /// Latencies of the flows completed inside the window.
    latencies_us: Vec<u64>,
    /// Every failed flow, warm-up and tail included: errors must be 0.
    errors: Vec<String>,
    /// Failed flows completed inside the window.
    window_errors: usize,
    /// Flows completed during the warm-up.
    warmup_flows: usize,
}

async fn load(
    agent: &Agent,
    client: &Arc<Client>,
    people: &[Person],
    window_start: Instant,
    window_end: Instant,
) -> Load {
    let mut tasks = tokio::task::JoinSet::new();
    for person in people {
        let (agent, client, person) = (agent.clone(), client.clone(), person.clone());
        tasks.spawn_local(async move {
            let mut seen = Load {
                latencies_us: Vec::new(),
                errors: Vec::new(),
                window_errors: 0,
                warmup_flows: 0,
            };
            while Instant::now() < window_end {
                let t0 = Instant::now();
                let result = returning_sign_in(&agent, &client, &person).await;
                let done = Instant::now();
                let in_window = done >= window_start && done <= window_end;
                match result {
                    Ok(()) if in_window => seen.latencies_us.push((done - t0).as_micros() as u64),
                    Ok(()) if done < window_start => seen.warmup_flows += 1,
                    Ok(()) => {}
                    Err(e) => {
                        seen.window_errors += usize::from(in_window);
                        seen.errors.push(format!("{e:#}"));
                    }
                }
            }
            seen
        });
    }
    let mut all = Load {
        latencies_us: Vec::new(),
        errors: Vec::new(),
        window_errors: 0,
        warmup_flows: 0,
    };
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(seen) => {
                all.latencies_us.extend(seen.latencies_us);
                all.errors.extend(seen.errors);
                all.window_errors += seen.window_errors;
                all.warmup_flows += seen.warmup_flows;
            }
            Err(e) => all.errors.push(format!("worker failed: {e}")),
        }
    }
    all
}

fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which may hold spaces) start at state = field 3.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15; clock ticks are 100 per second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

async fn run(state: State, concurrency: usize, duration: u64, warmup: u64) -> anyhow::Result<()> {
    if concurrency == 0 || state.users.len() < concurrency {
        bail!(
            "concurrency {concurrency} needs that many people; the state file has {}",
            state.users.len()
        );
    }
    let agent = Agent::new(&state.base)?;
    let client = Arc::new(Client {
        base: state.base.clone(),
        client_id: state.client_id.clone(),
        client_secret: state.client_secret.clone(),
        redirect_uri: state.redirect_uri.clone(),
        scope: state.scope.clone(),
    });
    let people = &state.users[..concurrency];
    let window_start = Instant::now() + Duration::from_secs(warmup);
    let window_end = window_start + Duration::from_secs(duration);
    // CPU time from the warm-up on: the driver's share during the whole load.
    let (cpu_before, began) = (cpu_seconds(), Instant::now());
    let mut seen = load(&agent, &client, people, window_start, window_end).await;
    let driver_cpu = cpu_seconds() - cpu_before;
    let load_secs = began.elapsed().as_secs_f64();
    eprintln!(
        "bench-login:   warm-up: {} flows in {warmup} s",
        seen.warmup_flows
    );
    seen.latencies_us.sort_unstable();
    let flows = seen.latencies_us.len();
    let secs = duration as f64;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &seen.errors {
        *kinds.entry(e.chars().take(300).collect()).or_default() += 1;
    }
    for (e, n) in kinds.iter().take(10) {
        eprintln!("bench-login:   error ×{n}: {e}");
    }
    if !seen.errors.is_empty() {
        eprintln!(
            "bench-login:   {} failed flows, {} of them inside the measured window",
            seen.errors.len(),
            seen.window_errors
        );
    }
    println!(
        "BENCH_RESULT {concurrency} {flows} {secs:.3} {:.2} {:.2} {:.2} {} {:.2}",
        flows as f64 / secs,
        percentile_ms(&seen.latencies_us, 50.0),
        percentile_ms(&seen.latencies_us, 99.0),
        seen.errors.len(),
        // Scaled to the measured window, so the script's "CPU ÷ window" is the driver's share.
        driver_cpu / load_secs * secs
    );
    Ok(())
}

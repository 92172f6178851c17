//! Load driver of `scripts/bench-login.sh` and `scripts/soak.sh`: returning people who
//! ticked "remember this browser" and already consented sign in to a relying party,
//! `/authorize` → password → code → `/token`, as fast as the server lets them; for the soak,
//! also `/userinfo` and refresh-token grants after each exchange, and paced phone changes.
//!
//! ```text
//! bench_login setup --base URL --client-id ID --client-secret SECRET --users 64 --state FILE
//!                   [--phone-people 12]
//! bench_login run --state FILE --concurrency 16 --duration 20 --warmup 3
//!                 [--tokens] [--phone-every 10 --phone-offset 0 --phone-share 0/2]
//! ```
//!
//! `setup` (not measured) creates the people through the real pages: sign-up and the emailed
//! confirmation link (read from the dev outbox), a first sign-in that enrols backup codes, a
//! sign-in with a backup code and "remember this browser", and one authorization with consent
//! for the bench client. It keeps each person's long-lived cookies (browser id and remembered
//! browser) in the state file. The last `--phone-people` people also add, in that signed-in
//! session, an authenticator app (its key goes to the state file) and a phone number of
//! their own (+1 201 555-01xx; the texted code is read from the dev outbox).
//!
//! `run` starts `concurrency` workers, each with a person of its own. A worker repeats the
//! flow, every time from those long-lived cookies only (no session), without a pause for
//! `warmup` + `duration` seconds; the flows that complete in the last `duration` seconds are
//! measured. It prints one line for the scripts:
//! `BENCH_RESULT <concurrency> <flows> <window s> <flows/s> <p50 ms> <p99 ms> <errors> <driver CPU s>`.
//! A flow is an error when any answer is not the expected one (status, redirect target,
//! state, token response). `errors` counts every failed flow, warm-up included; failed flows
//! don't count in flows/s or the percentiles.
//!
//! With `--tokens` (the client must be allowed the `refresh_token` grant), each successful
//! exchange is followed by a `/userinfo` call with its access token (the email address must be
//! the person's) and a `refresh_token` grant (a new access token and a rotated refresh token
//! expected). With `--phone-every S`, one more task changes a phone every S seconds (from
//! `--phone-offset` on), taking this driver's share of the phone people in turn: sign-in from
//! the remembered browser, the account page's "Change", the step-up it demands (password and
//! the authenticator app: a remembered browser's sign-in is not a full one), the person's other
//! number, the texted code, review, confirm, sign-out — the console pages with their CSRF
//! tokens, as a browser sends them. A person's app code is used once per 30 s step; when the
//! turn comes too early the task waits for the next step before the change is timed. Each of
//! these kinds prints its own line, measured and counted like the flows:
//! `KIND_RESULT <userinfo|refresh|phone_change> <count> <errors> <p50 ms> <p99 ms>`.
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
        /// The last N people also get an authenticator app and a phone (for `--phone-every`).
        #[arg(long, default_value_t = 0)]
        phone_people: usize,
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
        /// After each code exchange, a `/userinfo` call and a `refresh_token` grant, each
        /// measured on its own.
        #[arg(long)]
        tokens: bool,
        /// A phone change every this many seconds (0: none), by the people set up with
        /// `--phone-people`, in turn.
        #[arg(long, default_value_t = 0.0)]
        phone_every: f64,
        /// Seconds before the first phone change.
        #[arg(long, default_value_t = 0.0)]
        phone_offset: f64,
        /// `I/N`: this driver changes the phones of the I-th of N equal shares of the phone
        /// people (so that drivers running at once never share a person).
        #[arg(long, default_value = "0/1")]
        phone_share: String,
    },
}

/// What a run does besides the sign-ins.
struct Extras {
    tokens: bool,
    phone_every: f64,
    phone_offset: f64,
    phone_share: (usize, usize),
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
    /// For the phone changes: set up with `--phone-people`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<PhoneSetup>,
}

/// A person whose phone number the soak changes back and forth.
#[derive(Clone, Serialize, Deserialize)]
struct PhoneSetup {
    /// The authenticator app's key (base32), the second factor of the step-up.
    totp_secret: String,
    /// The TOTP step last used: a code is accepted once, so the next must be from a later step.
    totp_last_step: u64,
    /// The two numbers (E.164) the phone alternates between; the first is on file after setup.
    numbers: [String; 2],
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
                phone_people,
                state,
            } => {
                let client = Client {
                    base: base.trim_end_matches('/').to_string(),
                    client_id,
                    client_secret,
                    redirect_uri,
                    scope,
                };
                let people = setup(&client, users, parallel, phone_people).await?;
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
                tokens,
                phone_every,
                phone_offset,
                phone_share,
            } => {
                let text = std::fs::read(&state)
                    .with_context(|| format!("reading {}", state.display()))?;
                let state: State = serde_json::from_slice(&text)?;
                let phone_share = phone_share
                    .split_once('/')
                    .and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)))
                    .filter(|&(i, n): &(usize, usize)| i < n)
                    .ok_or_else(|| anyhow!("--phone-share wants I/N with I < N"))?;
                let extras = Extras {
                    tokens,
                    phone_every,
                    phone_offset,
                    phone_share,
                };
                run(state, concurrency, duration, warmup, extras).await
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

    /// A token request with client_secret_basic; the JSON of a 200 answer.
    async fn token_request(
        &self,
        agent: &Agent,
        form: &[(&str, &str)],
        step: &str,
    ) -> anyhow::Result<serde_json::Value> {
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
            .form(form)
            .send()
            .await
            .with_context(|| format!("{step} request"))?;
        let status = res.status();
        let body = res.text().await?;
        if status != StatusCode::OK {
            bail!(
                "{step}: HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            );
        }
        serde_json::from_str(&body).with_context(|| format!("{step} response"))
    }

    /// The code exchange (PKCE verifier); expects an access token and an ID token.
    async fn exchange(
        &self,
        agent: &Agent,
        code: &str,
        req: &AuthRequest,
    ) -> anyhow::Result<Tokens> {
        let json = self
            .token_request(
                agent,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.redirect_uri),
                    ("code_verifier", &req.verifier),
                ],
                "token",
            )
            .await?;
        let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(access_token), Some(_)) = (text("access_token"), text("id_token")) else {
            bail!("token: no access_token or id_token in {json}");
        };
        Ok(Tokens {
            access_token,
            refresh_token: text("refresh_token"),
        })
    }

    /// `/userinfo` with the access token; expects the person's email address (scope `email`).
    async fn userinfo(&self, agent: &Agent, tokens: &Tokens, email: &str) -> anyhow::Result<()> {
        let res = agent
            .http
            .get(format!("{}/userinfo", self.base))
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .context("userinfo request")?;
        let status = res.status();
        let body = res.text().await?;
        if status != StatusCode::OK {
            bail!(
                "userinfo: HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            );
        }
        let json: serde_json::Value = serde_json::from_str(&body).context("userinfo response")?;
        if json.get("sub").and_then(|v| v.as_str()).is_none() {
            bail!("userinfo: no sub in {body}");
        }
        if self.scope.split_whitespace().any(|s| s == "email")
            && json.get("email").and_then(|v| v.as_str()) != Some(email)
        {
            bail!("userinfo: email is not {email} in {body}");
        }
        Ok(())
    }

    /// A `refresh_token` grant; expects a new access token and a rotated refresh token.
    async fn refresh(&self, agent: &Agent, tokens: &Tokens) -> anyhow::Result<()> {
        let Some(refresh_token) = tokens.refresh_token.as_deref() else {
            bail!("token: no refresh_token (is the client allowed the refresh_token grant?)");
        };
        let json = self
            .token_request(
                agent,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
                "refresh",
            )
            .await?;
        let text = |k: &str| json.get(k).and_then(|v| v.as_str());
        if text("access_token").is_none() {
            bail!("refresh: no access_token in {json}");
        }
        match text("refresh_token") {
            Some(next) if next != refresh_token => Ok(()),
            Some(_) => bail!("refresh: the refresh token was not rotated"),
            None => bail!("refresh: no refresh_token in {json}"),
        }
    }
}

/// What a code exchange gave the relying party.
struct Tokens {
    access_token: String,
    refresh_token: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Setup: people who have an account, backup codes, a remembered browser and a consent

async fn setup(
    client: &Client,
    users: usize,
    parallel: usize,
    phone_people: usize,
) -> anyhow::Result<Vec<Person>> {
    if phone_people > users || phone_people > MAX_PHONE_PEOPLE {
        bail!("--phone-people must be at most --users and at most {MAX_PHONE_PEOPLE}");
    }
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
        // The last `phone_people` people, numbered from 0.
        let phone = (i + phone_people).checked_sub(users);
        tasks.spawn_local(async move {
            let _permit = permits.acquire_owned().await?;
            let person = set_up_person(&agent, &client, &email, phone)
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

/// `phone`: this person's number among the phone people, if one.
async fn set_up_person(
    agent: &Agent,
    client: &Client,
    email: &str,
    phone: Option<usize>,
) -> anyhow::Result<Person> {
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
    // A full sign-in just now: inside the step-up window for adding an app and a phone.
    let phone = match phone {
        Some(k) => Some(set_up_phone(agent, &mut jar, k).await?),
        None => None,
    };

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
        phone,
    })
}

/// Phone people are numbered into +1 201 555-0100 … 0199, two numbers each.
const MAX_PHONE_PEOPLE: usize = 50;

/// In a session just signed in with both factors: an authenticator app (the second factor
/// of later step-ups: it is never in a SIM-swap cooldown) and the first of the person's two
/// numbers, both through the console pages.
async fn set_up_phone(agent: &Agent, jar: &mut Jar, k: usize) -> anyhow::Result<PhoneSetup> {
    let page = agent.get(jar, "/account/totp/add").await?;
    page.expect(200, "authenticator app page")?;
    let shown = {
        let doc = Html::parse_document(&page.body);
        let sel = Selector::parse("code.secret").map_err(|e| anyhow!("selector: {e}"))?;
        doc.select(&sel)
            .next()
            .map(|e| e.text().collect::<String>())
            .ok_or_else(|| anyhow!("authenticator app page: no key shown"))?
    };
    let totp_secret: String = shown.split_whitespace().collect();
    let secret = totp_key(&totp_secret)?;
    let step = unix_now() / verity::mfa::totp::STEP_SECS;
    let code = verity::mfa::totp::code_at(
        &secret,
        step * verity::mfa::totp::STEP_SECS,
        verity::mfa::totp::STEP_SECS,
    );
    let res = agent
        .post(
            jar,
            "/account/totp/add",
            &[
                ("csrf", &csrf_of(&page, "authenticator app page")?),
                ("code", &code),
            ],
        )
        .await?;
    if path_of(&res.redirect("authenticator app code")?) != "/account" {
        bail!("authenticator app code: not back on the account page");
    }

    let numbers = [
        format!("+12015550{}", 100 + 2 * k),
        format!("+12015550{}", 101 + 2 * k),
    ];
    let res = agent.get(jar, "/account/phones/start").await?;
    let page = match agent.follow(jar, res, "add a phone").await? {
        Followed::Page(page) => page,
        Followed::Left(url) => bail!("add a phone: sent to {url}"),
    };
    page.expect(200, "phone number page")?;
    if path_of(&page.url) != "/account/phones/change" {
        bail!("add a phone: ended on {}", path_of(&page.url));
    }
    enter_number_and_confirm(agent, jar, &page, &numbers[0], None).await?;
    Ok(PhoneSetup {
        totp_secret,
        totp_last_step: step,
        numbers,
    })
}

/// On the phone change's number page: the new number, the texted code (from the dev outbox),
/// the review, confirm. `previous` is the last code text seen for that number (it must not
/// be taken for the new one). Returns the code text read, for the next time.
async fn enter_number_and_confirm(
    agent: &Agent,
    jar: &mut Jar,
    page: &Answer,
    number: &str,
    previous: Option<&str>,
) -> anyhow::Result<String> {
    let res = agent
        .post(
            jar,
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(page, "phone number page")?),
                ("phone", number),
                ("channel", "sms"),
            ],
        )
        .await?;
    if path_of(&res.redirect("new number")?) != "/account/phones/change" {
        bail!("new number: not sent on to the code");
    }
    let page = agent.get(jar, "/account/phones/change").await?;
    page.expect(200, "phone code page")?;
    if !has_input(&page.body, "code") {
        bail!("phone code page: no code field{}", snippet(&page.body));
    }
    let (code, seen) = texted_code(agent, number, previous).await?;
    let res = agent
        .post(
            jar,
            "/account/phones/change/code",
            &[
                ("csrf", &csrf_of(&page, "phone code page")?),
                ("code", &code),
            ],
        )
        .await?;
    if path_of(&res.redirect("phone code")?) != "/account/phones/change" {
        bail!("phone code: not sent on to the review");
    }
    let review = agent.get(jar, "/account/phones/change").await?;
    review.expect(200, "phone review page")?;
    let res = agent
        .post(
            jar,
            "/account/phones/change/decision",
            &[
                ("csrf", &csrf_of(&review, "phone review page")?),
                ("decision", "confirm"),
            ],
        )
        .await?;
    res.expect(200, "confirm the number")?;
    if has_input(&res.body, "code") || has_input(&res.body, "phone") {
        bail!("confirm the number: a form again{}", snippet(&res.body));
    }
    Ok(seen)
}

/// Decodes an authenticator key as the page shows it (base32, spaces removed).
fn totp_key(base32: &str) -> anyhow::Result<Vec<u8>> {
    totp_rs::Secret::try_from_base32(base32)
        .map(|s| s.as_bytes().to_vec())
        .map_err(|e| anyhow!("authenticator key: {e:?}"))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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

/// One message on the dev outbox page.
struct OutboxMessage {
    recipient: String,
    subject: String,
    /// Channel, recipient and time as the page shows them.
    meta: String,
    body: String,
    link: Option<String>,
}

/// The dev outbox page's messages (the newest 100), newest first.
async fn outbox(agent: &Agent) -> anyhow::Result<Vec<OutboxMessage>> {
    let page = agent.get(&mut Jar::default(), "/dev/outbox").await?;
    page.expect(200, "dev outbox")?;
    let doc = Html::parse_document(&page.body);
    let sel = |s: &str| Selector::parse(s).map_err(|e| anyhow!("selector {s}: {e}"));
    let (message, recipient, meta) = (
        sel("article.message")?,
        sel("p.meta strong")?,
        sel("p.meta")?,
    );
    let (subject, body, link) = (sel("h2")?, sel("pre")?, sel("a[href]")?);
    Ok(doc
        .select(&message)
        .map(|m| {
            let text = |sel: &Selector| {
                m.select(sel)
                    .next()
                    .map(|e| e.text().collect::<String>())
                    .unwrap_or_default()
            };
            OutboxMessage {
                recipient: text(&recipient).trim().to_string(),
                subject: text(&subject),
                meta: text(&meta),
                body: text(&body),
                link: m
                    .select(&link)
                    .next()
                    .and_then(|a| a.value().attr("href"))
                    .map(str::to_string),
            }
        })
        .collect())
}

/// The link in the newest "Confirm your email" message to `email` on the dev outbox page.
/// Retries for a while: sending may happen after the sign-up answer.
async fn confirmation_link(agent: &Agent, email: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = outbox(agent)
            .await?
            .into_iter()
            .find(|m| m.recipient == email && m.subject.contains("Confirm your email"))
            .and_then(|m| m.link);
        if let Some(link) = found {
            return Ok(link);
        }
        if Instant::now() > deadline {
            bail!("no \"Confirm your email\" message to {email} on /dev/outbox");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The security code in the newest text to `number` on the dev outbox page, once that text is
/// a security code (it starts with the code) other than `previous` (meta and body of the code
/// read last time for that number). Returns the code and what to pass as `previous` next time.
async fn texted_code(
    agent: &Agent,
    number: &str,
    previous: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let newest = outbox(agent)
            .await?
            .into_iter()
            .find(|m| m.recipient == number);
        if let Some(m) = newest {
            // Placeables may come wrapped in Unicode isolation marks: skip to the first digit
            // or letter.
            let start = m.body.trim_start_matches(|c: char| !c.is_alphanumeric());
            let code: String = start.chars().take_while(char::is_ascii_digit).collect();
            let seen = format!("{} {}", m.meta.trim(), m.body.trim());
            if code.len() >= 6 && previous != Some(seen.as_str()) {
                return Ok((code, seen));
            }
        }
        if Instant::now() > deadline {
            bail!("no new security code texted to {number} on /dev/outbox");
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
async fn returning_sign_in(
    agent: &Agent,
    client: &Client,
    person: &Person,
) -> anyhow::Result<Tokens> {
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

/// A phone person as the phone changes go: the app's key and the last TOTP step used.
struct PhoneRun {
    person: Person,
    secret: Vec<u8>,
    last_step: u64,
    numbers: [String; 2],
    /// Per number, the last code text read for it (see `texted_code`).
    codes_seen: [Option<String>; 2],
}

impl PhoneRun {
    fn new(person: &Person) -> anyhow::Result<Option<PhoneRun>> {
        let Some(phone) = &person.phone else {
            return Ok(None);
        };
        Ok(Some(PhoneRun {
            person: person.clone(),
            secret: totp_key(&phone.totp_secret)?,
            last_step: phone.totp_last_step,
            numbers: phone.numbers.clone(),
            codes_seen: [None, None],
        }))
    }

    /// An app's code is taken once per step: waits (outside the measured time) until the
    /// clock is past the step used last.
    async fn wait_for_a_new_totp_step(&self) {
        let next = (self.last_step + 1) * verity::mfa::totp::STEP_SECS;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        if (next as f64) > now {
            tokio::time::sleep(Duration::from_secs_f64(next as f64 - now + 0.2)).await;
        }
    }
}

/// The console's phone change as a browser does it, from the long-lived cookies: sign in (a
/// remembered browser: no second factor, so not a full sign-in), the account page, "Change"
/// on the phone, the step-up it demands (password, then the authenticator app), the number
/// the phone doesn't have now (of the person's two), the texted code from the dev outbox,
/// review, confirm, sign out.
async fn change_phone(agent: &Agent, run: &mut PhoneRun) -> anyhow::Result<()> {
    let person = run.person.clone();
    let mut jar = Jar(person.cookies.clone());
    let res = sign_in(agent, &mut jar, &person.email, &person.password).await?;
    let next = res.redirect("sign-in")?;
    if path_of(&next).starts_with("/mfa") {
        bail!(
            "sign-in: sent to {} (the remembered browser wasn't honoured)",
            path_of(&next)
        );
    }
    let account = agent.get(&mut jar, "/account").await?;
    account.expect(200, "account page")?;
    let (start, shown) = {
        let doc = Html::parse_document(&account.body);
        let item = Selector::parse("li.phone").map_err(|e| anyhow!("selector: {e}"))?;
        let change = Selector::parse(r#"a[href^="/account/phones/start?phone="]"#)
            .map_err(|e| anyhow!("selector: {e}"))?;
        let strong = Selector::parse("strong").map_err(|e| anyhow!("selector: {e}"))?;
        doc.select(&item)
            .find_map(|li| {
                let href = li.select(&change).next()?.value().attr("href")?.to_string();
                let shown = li.select(&strong).next()?.text().collect::<String>();
                Some((href, shown))
            })
            .ok_or_else(|| anyhow!("account page: no phone with a \"Change\" link"))?
    };
    // The masked number ends in its last four digits: move to the other number.
    let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
    let last4 = &digits[digits.len().saturating_sub(4)..];
    let target = match run.numbers.iter().position(|n| n.ends_with(last4)) {
        Some(now) if last4.len() == 4 => 1 - now,
        _ => bail!("account page: the phone shown as {shown:?} is neither of this person's"),
    };
    let res = agent.get(&mut jar, &start).await?;
    let step_up = res.redirect("change the phone")?;
    if path_of(&step_up) != "/step-up" {
        bail!(
            "change the phone: sent to {}, expected the step-up",
            path_of(&step_up)
        );
    }
    let page = agent.get(&mut jar, &step_up).await?;
    page.expect(200, "step-up page")?;
    let res = agent
        .post(
            &mut jar,
            "/step-up",
            &[
                ("csrf", &csrf_of(&page, "step-up page")?),
                ("password", &person.password),
                (
                    "return_to",
                    &field(&page.body, "return_to").unwrap_or_default(),
                ),
            ],
        )
        .await?;
    if path_of(&res.redirect("step-up password")?) != "/mfa" {
        bail!("step-up password: not sent on to the second factor");
    }
    let mfa = agent.get(&mut jar, "/mfa?method=totp").await?;
    mfa.expect(200, "second-factor page")?;
    let step = unix_now() / verity::mfa::totp::STEP_SECS;
    if step <= run.last_step {
        bail!("the authenticator app's step {step} was used already");
    }
    let code = verity::mfa::totp::code_at(
        &run.secret,
        step * verity::mfa::totp::STEP_SECS,
        verity::mfa::totp::STEP_SECS,
    );
    let res = agent
        .post(
            &mut jar,
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&mfa, "second-factor page")?),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await?;
    run.last_step = step;
    let page = match agent.follow(&mut jar, res, "step-up code").await? {
        Followed::Page(page) => page,
        Followed::Left(url) => bail!("step-up code: sent to {url}"),
    };
    page.expect(200, "phone number page")?;
    if path_of(&page.url) != "/account/phones/change" || !has_input(&page.body, "phone") {
        bail!(
            "step-up code: ended on {}, expected the phone number page{}",
            path_of(&page.url),
            snippet(&page.body)
        );
    }
    let number = run.numbers[target].clone();
    let previous = run.codes_seen[target].take();
    let seen =
        enter_number_and_confirm(agent, &mut jar, &page, &number, previous.as_deref()).await?;
    run.codes_seen[target] = Some(seen);
    sign_out(agent, &mut jar).await
}

/// The measured window.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// What one kind of request saw. A request counts when it completes inside the window.
#[derive(Default)]
struct Seen {
    /// Latencies of the successes completed inside the window.
    latencies_us: Vec<u64>,
    /// Every failure, warm-up and tail included: errors must be 0.
    errors: Vec<String>,
    /// Failures completed inside the window.
    window_errors: usize,
    /// Successes completed during the warm-up.
    warmup: usize,
}

impl Seen {
    /// Records what the request begun at `t0` gave; its value on success.
    fn record<T>(&mut self, t0: Instant, result: anyhow::Result<T>, w: Window) -> Option<T> {
        let done = Instant::now();
        let in_window = done >= w.start && done <= w.end;
        match result {
            Ok(v) => {
                if in_window {
                    self.latencies_us.push((done - t0).as_micros() as u64);
                } else if done < w.start {
                    self.warmup += 1;
                }
                Some(v)
            }
            Err(e) => {
                self.window_errors += usize::from(in_window);
                self.errors.push(format!("{e:#}"));
                None
            }
        }
    }

    fn absorb(&mut self, other: Seen) {
        self.latencies_us.extend(other.latencies_us);
        self.errors.extend(other.errors);
        self.window_errors += other.window_errors;
        self.warmup += other.warmup;
    }
}

/// What the workers saw. Load runs without a pause from the start of the warm-up to the end
/// of the window, so the window sees steady state (no ramp-up between warm-up and
/// measurement).
#[derive(Default)]
struct Load {
    /// Sign-in + code exchange.
    sign_in: Seen,
    userinfo: Seen,
    refresh: Seen,
    phone_change: Seen,
}

impl Load {
    fn absorb(&mut self, other: Load) {
        self.sign_in.absorb(other.sign_in);
        self.userinfo.absorb(other.userinfo);
        self.refresh.absorb(other.refresh);
        self.phone_change.absorb(other.phone_change);
    }
}

async fn load(
    agent: &Agent,
    client: &Arc<Client>,
    people: &[Person],
    phone_people: Vec<PhoneRun>,
    extras: &Extras,
    w: Window,
) -> Load {
    let mut tasks = tokio::task::JoinSet::new();
    for person in people {
        let (agent, client, person) = (agent.clone(), client.clone(), person.clone());
        let tokens = extras.tokens;
        tasks.spawn_local(async move {
            let mut seen = Load::default();
            while Instant::now() < w.end {
                let t0 = Instant::now();
                let result = returning_sign_in(&agent, &client, &person).await;
                let Some(got) = seen.sign_in.record(t0, result, w) else {
                    continue;
                };
                if tokens {
                    let t0 = Instant::now();
                    let result = client.userinfo(&agent, &got, &person.email).await;
                    seen.userinfo.record(t0, result, w);
                    let t0 = Instant::now();
                    let result = client.refresh(&agent, &got).await;
                    seen.refresh.record(t0, result, w);
                }
            }
            seen
        });
    }
    if extras.phone_every > 0.0 && !phone_people.is_empty() {
        let agent = agent.clone();
        let (every, offset) = (extras.phone_every, extras.phone_offset.max(0.0));
        let mut phone_people = phone_people;
        tasks.spawn_local(async move {
            let mut seen = Load::default();
            let mut next = Instant::now() + Duration::from_secs_f64(offset);
            let mut turn = 0;
            while next < w.end {
                tokio::time::sleep_until(next.into()).await;
                let i = turn % phone_people.len();
                turn += 1;
                let run = &mut phone_people[i];
                run.wait_for_a_new_totp_step().await;
                if Instant::now() >= w.end {
                    break;
                }
                let t0 = Instant::now();
                let result = change_phone(&agent, run).await;
                seen.phone_change.record(t0, result, w);
                // On schedule; a change that took longer than the period delays the next.
                next = (next + Duration::from_secs_f64(every)).max(Instant::now());
            }
            seen
        });
    }
    let mut all = Load::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(seen) => all.absorb(seen),
            Err(e) => all.sign_in.errors.push(format!("worker failed: {e}")),
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

async fn run(
    state: State,
    concurrency: usize,
    duration: u64,
    warmup: u64,
    extras: Extras,
) -> anyhow::Result<()> {
    if concurrency == 0 || state.users.len() < concurrency {
        bail!(
            "concurrency {concurrency} needs that many people; the state file has {}",
            state.users.len()
        );
    }
    let people = &state.users[..concurrency];
    let mut phone_people = Vec::new();
    if extras.phone_every > 0.0 {
        if people.iter().any(|p| p.phone.is_some()) {
            bail!("the sign-in workers' people must not be phone people: set up fewer of those");
        }
        let all: Vec<&Person> = state.users.iter().filter(|p| p.phone.is_some()).collect();
        let (share, shares) = extras.phone_share;
        let per = all.len() / shares;
        for person in &all[share * per..(share + 1) * per] {
            phone_people.extend(PhoneRun::new(person)?);
        }
        if phone_people.is_empty() {
            bail!(
                "--phone-every needs phone people: the state file has {}, in {shares} shares",
                all.len()
            );
        }
    }
    let agent = Agent::new(&state.base)?;
    let client = Arc::new(Client {
        base: state.base.clone(),
        client_id: state.client_id.clone(),
        client_secret: state.client_secret.clone(),
        redirect_uri: state.redirect_uri.clone(),
        scope: state.scope.clone(),
    });
    let start = Instant::now() + Duration::from_secs(warmup);
    let w = Window {
        start,
        end: start + Duration::from_secs(duration),
    };
    // CPU time from the warm-up on: the driver's share during the whole load.
    let (cpu_before, began) = (cpu_seconds(), Instant::now());
    let mut seen = load(&agent, &client, people, phone_people, &extras, w).await;
    let driver_cpu = cpu_seconds() - cpu_before;
    let load_secs = began.elapsed().as_secs_f64();
    eprintln!(
        "bench-login:   warm-up: {} flows in {warmup} s",
        seen.sign_in.warmup
    );
    for (name, kind) in [
        ("sign-in", &seen.sign_in),
        ("userinfo", &seen.userinfo),
        ("refresh", &seen.refresh),
        ("phone change", &seen.phone_change),
    ] {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for e in &kind.errors {
            *kinds.entry(e.chars().take(300).collect()).or_default() += 1;
        }
        for (e, n) in kinds.iter().take(10) {
            eprintln!("bench-login:   {name} error ×{n}: {e}");
        }
        if !kind.errors.is_empty() {
            eprintln!(
                "bench-login:   {} failed {name} requests, {} of them inside the measured window",
                kind.errors.len(),
                kind.window_errors
            );
        }
    }
    let secs = duration as f64;
    let sign_in = &mut seen.sign_in;
    sign_in.latencies_us.sort_unstable();
    let flows = sign_in.latencies_us.len();
    println!(
        "BENCH_RESULT {concurrency} {flows} {secs:.3} {:.2} {:.2} {:.2} {} {:.2}",
        flows as f64 / secs,
        percentile_ms(&sign_in.latencies_us, 50.0),
        percentile_ms(&sign_in.latencies_us, 99.0),
        sign_in.errors.len(),
        // Scaled to the measured window, so the script's "CPU ÷ window" is the driver's share.
        driver_cpu / load_secs * secs
    );
    let mut kinds = Vec::new();
    if extras.tokens {
        kinds.push(("userinfo", &mut seen.userinfo));
        kinds.push(("refresh", &mut seen.refresh));
    }
    if extras.phone_every > 0.0 {
        kinds.push(("phone_change", &mut seen.phone_change));
    }
    for (name, kind) in kinds {
        kind.latencies_us.sort_unstable();
        println!(
            "KIND_RESULT {name} {} {} {:.2} {:.2}",
            kind.latencies_us.len(),
            kind.errors.len(),
            percentile_ms(&kind.latencies_us, 50.0),
            percentile_ms(&kind.latencies_us, 99.0),
        );
    }
    Ok(())
}

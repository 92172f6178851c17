//! One harness for every integration test: a real Verity on a free port with a fresh
//! database (SQLite file, or a new PostgreSQL database when VERITY_TEST_DATABASE_URL is set)
//! and a fresh store (memory, or a unique Redis prefix when VERITY_TEST_REDIS_URL is set).
//! It plays the browser (cookies, forms, CSRF tokens) and the relying party (openidconnect).

#![allow(dead_code)]

use std::net::TcpListener;

use diesel::Connection;
use diesel::RunQueryDsl;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use scraper::{Html, Selector};
use verity::config::Settings;
use verity::oauth::clients::{self, NewClient};
use verity::Ctx;

pub const PASSWORD: &str = "plum tractor gazebo lantern";
pub const RP_REDIRECT: &str = "http://localhost:9999/callback";
pub const RP_LOGOUT_REDIRECT: &str = "http://localhost:9999/signed-out";

pub struct TestServer {
    pub base: String,
    pub ctx: Ctx,
    /// Backup codes enrolled per email, so later sign-ins can pass the second factor.
    backup_codes: std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>,
    handle: actix_web::dev::ServerHandle,
    /// The push delivery worker, for [`TestServer::stop`].
    push: Option<verity::ssf::push::PushWorker>,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

fn random_name() -> String {
    verity::crypto::random_token(9)
        .to_lowercase()
        .replace(['-', '_'], "x")
}

/// A fresh PostgreSQL database for one test; returns (admin URL, database URL).
fn fresh_postgres(admin_url: &str) -> (String, String) {
    // Without an explicit sslmode, libpq negotiates TLS through the system's OpenSSL; a
    // connection attempt racing the process's exit-time OpenSSL cleanup once crashed the test
    // binary after every test had passed. The test server is local: plain TCP.
    let admin_url = if admin_url.contains("sslmode=") {
        admin_url.to_string()
    } else if admin_url.contains('?') {
        format!("{admin_url}&sslmode=disable")
    } else {
        format!("{admin_url}?sslmode=disable")
    };
    let admin_url = admin_url.as_str();
    let name = format!("verity_test_{}", random_name());
    let mut conn =
        diesel::PgConnection::establish(admin_url).expect("connect to VERITY_TEST_DATABASE_URL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    let mut url = url::Url::parse(admin_url).expect("VERITY_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    (admin_url.to_string(), url.to_string())
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> TestServer {
        Self::start_with_notifier(configure, |n| n).await
    }

    /// Like [`TestServer::start_with`], with the notifier replaced by `wrap(notifier)`: for
    /// stubs that delay or fail sends.
    pub async fn start_with_notifier(
        configure: impl FnOnce(&mut Settings),
        wrap: impl FnOnce(
            std::sync::Arc<dyn verity::notify::Notifier>,
        ) -> std::sync::Arc<dyn verity::notify::Notifier>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut settings = Settings {
            issuer: format!("http://127.0.0.1:{port}"),
            listen: format!("127.0.0.1:{port}"),
            data_dir: dir.path().to_path_buf(),
            master_key: Some(verity::crypto::MasterKey::generate().to_base64()),
            workers: 2,
            db_pool_size: 4,
            // Open connections on demand only: a finished test's pool must not keep reconnecting
            // to its dropped database in the background while the process exits.
            db_pool_min_idle: 0,
            ..Settings::default()
        };
        let mut pg = None;
        if let Ok(admin) = std::env::var("VERITY_TEST_DATABASE_URL") {
            let (admin, url) = tokio::task::spawn_blocking(move || fresh_postgres(&admin))
                .await
                .expect("pg");
            settings.database_url = Some(url.clone());
            pg = Some((admin, url));
        }
        if let Ok(redis) = std::env::var("VERITY_TEST_REDIS_URL") {
            settings.redis_url = Some(redis);
            settings.redis_prefix = format!("verity-test-{}", random_name());
        }
        configure(&mut settings);
        let mut ctx = Ctx::build(settings).await.expect("build context");
        ctx.notifier = wrap(ctx.notifier.clone());
        let (server, push) =
            verity::web::serve_with_push_worker(ctx.clone(), listener).expect("serve");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            ctx,
            backup_codes: Default::default(),
            handle,
            push: Some(push),
            _dir: dir,
            pg,
        }
    }

    /// Stops this server: `Clean` as `verity serve` does on SIGTERM (the push worker finishes
    /// the SET in flight and hands back what it took), `Crash` as a process that dies (the
    /// push worker is cut off wherever it is, before the HTTP server stops). The database,
    /// store, keys and settings stay for [`StoppedServer::start`].
    pub async fn stop(mut self, how: Stop) -> StoppedServer {
        let push = self.push.take();
        match (how, push) {
            (Stop::Clean, Some(push)) => {
                push.stop().await;
                self.handle.stop(true).await;
            }
            (Stop::Crash, Some(push)) => {
                push.abort();
                self.handle.stop(false).await;
            }
            (_, None) => self.handle.stop(true).await,
        }
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().expect("tempdir"));
        StoppedServer {
            ctx: self.ctx.clone(),
            backup_codes: std::mem::take(&mut *self.backup_codes.lock().unwrap()),
            dir: Some(dir),
            pg: self.pg.take(),
        }
    }

    /// The test database's URL on the PostgreSQL pass (None on SQLite).
    pub fn postgres_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|(_, url)| url.as_str())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// Registers a client straight through the flow function the CLI uses.
    pub async fn add_client(&self, public: bool) -> (String, Option<String>) {
        self.add_client_with(public, vec![RP_REDIRECT.to_string()])
            .await
    }

    pub async fn add_client_with(
        &self,
        public: bool,
        redirect_uris: Vec<String>,
    ) -> (String, Option<String>) {
        let settings = self.ctx.settings.clone();
        let now = self.ctx.clock.now();
        let created = self
            .ctx
            .db
            .run(move |c| {
                clients::add(
                    c,
                    &settings,
                    now,
                    NewClient {
                        name: "Tax Portal".into(),
                        redirect_uris,
                        public,
                        scopes: vec![],
                        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                        admin: false,
                        post_logout_redirect_uris: vec![RP_LOGOUT_REDIRECT.to_string()],
                        backchannel_logout_uri: None,
                        ..Default::default()
                    },
                )
            })
            .await
            .expect("add client");
        (created.client_id, created.client_secret)
    }

    /// Registers any client, as the CLI would.
    pub async fn register(&self, new: NewClient) -> verity::oauth::clients::CreatedClient {
        let settings = self.ctx.settings.clone();
        let now = self.ctx.clock.now();
        self.ctx
            .db
            .run(move |c| clients::add(c, &settings, now, new))
            .await
            .expect("add client")
    }

    /// All outbox messages to `to`, newest first.
    pub async fn outbox_for(&self, to: &str) -> Vec<verity::notify::OutboxRow> {
        let to = to.to_string();
        verity::notify::recent_outbox(&self.ctx.db, 500)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|m| m.recipient == to)
            .collect()
    }

    /// Waits (up to 10 s) until at least `n` messages to `to` have `subject` in their subject,
    /// and returns them, newest first. Notices go out from a detached task, so they can land
    /// just after the response that caused them.
    pub async fn wait_for_messages(
        &self,
        to: &str,
        subject: &str,
        n: usize,
    ) -> Vec<verity::notify::OutboxRow> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let found: Vec<_> = self
                .outbox_for(to)
                .await
                .into_iter()
                .filter(|m| m.subject.contains(subject))
                .collect();
            if found.len() >= n || std::time::Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The first link in the newest message to `to` whose subject contains `subject` (waiting
    /// for it to arrive, see [`TestServer::wait_for_messages`]).
    pub async fn link_from_outbox(&self, to: &str, subject: &str) -> String {
        let messages = self.wait_for_messages(to, subject, 1).await;
        let Some(message) = messages.first() else {
            panic!(
                "no message {subject:?} to {to}; have {:?}",
                self.outbox_for(to)
                    .await
                    .iter()
                    .map(|m| m.subject.clone())
                    .collect::<Vec<_>>()
            )
        };
        message
            .body
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .expect("a link in the message")
            .to_string()
    }

    /// Submits the sign-up form (email and terms) with this browser; returns the response.
    pub async fn submit_sign_up(&self, browser: &Browser, email: &str) -> reqwest::Response {
        let page = browser.get_ok("/signup").await;
        browser
            .post(
                "/signup",
                &[
                    ("csrf", csrf_of(&page).as_str()),
                    ("email", email),
                    ("terms", "accepted"),
                    ("authz", ""),
                ],
            )
            .await
    }

    /// Opens an emailed confirmation link and chooses `password` on the page it leads to.
    /// Returns the status and HTML of the last page (the "Email confirmed" page on success).
    pub async fn open_confirmation_link(
        &self,
        browser: &Browser,
        link: &str,
        password: &str,
    ) -> (reqwest::StatusCode, String) {
        let res = browser.get_abs(link).await;
        let status = res.status();
        let page = res.text().await.expect("body");
        if status != 200 || !page.contains("name=\"password\"") {
            return (status, page);
        }
        let res = browser
            .post(
                "/confirm-email",
                &[
                    ("csrf", csrf_of(&page).as_str()),
                    ("token", hidden(&page, "token").as_str()),
                    ("authz", hidden(&page, "authz").as_str()),
                    ("password", password),
                    ("password_confirmation", password),
                ],
            )
            .await;
        (res.status(), res.text().await.expect("body"))
    }

    /// Sign up, confirm the email and choose the password [`PASSWORD`], as a person would.
    pub async fn create_account(&self, browser: &Browser, email: &str) {
        let earlier = self
            .wait_for_messages(email, "Confirm your email", 0)
            .await
            .len();
        let res = self.submit_sign_up(browser, email).await;
        assert_eq!(res.status(), 200, "sign-up accepted");
        // The link of this sign-up (the address may have had an account before).
        self.wait_for_messages(email, "Confirm your email", earlier + 1)
            .await;
        let link = self.link_from_outbox(email, "Confirm your email").await;
        let (status, page) = self.open_confirmation_link(browser, &link, PASSWORD).await;
        assert_eq!(status, 200, "confirmation link works: {page}");
        assert!(page.contains("Email confirmed"), "{page}");
    }

    /// Sign in with email and password; returns the response to the form post.
    pub async fn sign_in(
        &self,
        browser: &Browser,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = browser.get_text("/login").await;
        browser
            .post(
                "/login",
                &[
                    ("csrf", csrf_of(&page).as_str()),
                    ("email", email),
                    ("password", password),
                    ("authz", ""),
                ],
            )
            .await
    }

    /// Signs in all the way: password, then the second factor (enrolling backup codes on
    /// the first sign-in, using one of them afterwards).
    pub async fn sign_in_fully(&self, browser: &Browser, email: &str) {
        let res = self.sign_in(browser, email, PASSWORD).await;
        let res = self.pass_second_factor(browser, email, res).await;
        assert_eq!(res.status(), 303, "second factor accepted");
    }

    /// Given the response to the password form, passes the second factor and returns the
    /// response that carries the session cookie (a redirect onwards).
    pub async fn pass_second_factor(
        &self,
        browser: &Browser,
        email: &str,
        res: reqwest::Response,
    ) -> reqwest::Response {
        assert_eq!(res.status(), 303, "password accepted");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        if location == "/mfa/setup" {
            let setup = browser.get_ok("/mfa/setup").await;
            let res = browser
                .post("/mfa/setup/backup-codes", &[("csrf", &csrf_of(&setup))])
                .await;
            assert_eq!(res.status(), 303);
            let page = browser.get_ok("/mfa/setup/backup-codes").await;
            let codes = codes_of(&page);
            assert_eq!(codes.len(), 10, "ten backup codes shown");
            self.backup_codes
                .lock()
                .unwrap()
                .insert(email.to_string(), codes);
            browser
                .post("/mfa/setup/backup-codes/done", &[("csrf", &csrf_of(&page))])
                .await
        } else {
            assert_eq!(location, "/mfa", "sent to the second-factor page");
            let code = self
                .backup_codes
                .lock()
                .unwrap()
                .get_mut(email)
                .and_then(|c| c.pop())
                .expect("a backup code left for this account");
            let page = browser.get_ok("/mfa?method=backup").await;
            browser
                .post(
                    "/mfa/verify",
                    &[
                        ("csrf", &csrf_of(&page)),
                        ("method", "backup"),
                        ("code", &code),
                    ],
                )
                .await
        }
    }

    /// One unused backup code of an account the harness enrolled.
    pub fn take_backup_code(&self, email: &str) -> String {
        self.backup_codes
            .lock()
            .unwrap()
            .get_mut(email)
            .and_then(|c| c.pop())
            .expect("a backup code left for this account")
    }

    pub async fn signed_in_browser(&self, email: &str) -> Browser {
        let browser = self.browser();
        self.create_account(&browser, email).await;
        self.sign_in_fully(&browser, email).await;
        browser
    }

    pub async fn rp(&self, client_id: &str, secret: Option<&str>) -> Rp {
        Rp::discover(&self.base, client_id, secret).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Stop the workers without waiting, then drop the test database (FORCE closes the
        // pool's connections). Blocking here is fine: the test is over.
        let handle = self.handle.clone();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(handle.stop(false));
            }
        });
        if let Some((admin, url)) = self.pg.take() {
            let name = url::Url::parse(&url)
                .map(|u| u.path().trim_start_matches('/').to_string())
                .unwrap_or_default();
            if let Ok(mut conn) = diesel::PgConnection::establish(&admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

/// A second node of a test server: its own process state (caches, key ring, workers, port),
/// sharing the first node's database and store, issuer and keys, as two nodes behind a load
/// balancer do. On SQLite + memory it shares the SQLite file and the store instance; on
/// PostgreSQL + Redis it connects to both itself.
pub struct Node {
    pub base: String,
    pub ctx: Ctx,
    handle: actix_web::dev::ServerHandle,
    push: Option<verity::ssf::push::PushWorker>,
}

impl TestServer {
    pub async fn second_node(&self) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let settings = (*self.ctx.settings).clone();
        let mut ctx = Ctx::build_with_clock(settings, self.ctx.clock.clone())
            .await
            .expect("build the second node's context");
        if ctx.settings.redis_url.is_none() {
            // The memory store is one process's: the nodes share the instance, as they would
            // share a Redis.
            ctx.store = self.ctx.store.clone();
        }
        let (server, push) =
            verity::web::serve_with_push_worker(ctx.clone(), listener).expect("serve");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Node {
            base,
            ctx,
            handle,
            push: Some(push),
        }
    }
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn stop(mut self) {
        if let Some(push) = self.push.take() {
            push.stop().await;
        }
        self.handle.stop(true).await;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(push) = self.push.take() {
            push.abort();
        }
        let handle = self.handle.clone();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(handle.stop(false));
            }
        });
    }
}

/// How [`TestServer::stop`] stops a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Clean,
    Crash,
}

/// A stopped server's database, store, keys and settings, to start again.
pub struct StoppedServer {
    /// The stopped node's context: its database pool still answers, for a look at the rows.
    pub ctx: Ctx,
    backup_codes: std::collections::HashMap<String, Vec<String>>,
    dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl StoppedServer {
    /// A new server process on the same database, store, keys, settings and port (so the
    /// same issuer), with a clock of its own starting now.
    pub async fn start(mut self) -> TestServer {
        let settings = (*self.ctx.settings).clone();
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(&settings.listen) {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        let listener = listener.expect("the stopped server's port is free again");
        let ctx = Ctx::build(settings).await.expect("build context");
        let (server, push) =
            verity::web::serve_with_push_worker(ctx.clone(), listener).expect("serve");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestServer {
            base: ctx.settings.issuer.clone(),
            ctx,
            backup_codes: std::sync::Mutex::new(std::mem::take(&mut self.backup_codes)),
            handle,
            push: Some(push),
            _dir: self.dir.take().expect("the data directory"),
            pg: self.pg.take(),
        }
    }
}

impl Drop for StoppedServer {
    fn drop(&mut self) {
        if let Some((admin, url)) = self.pg.take() {
            drop_postgres(&admin, &url);
        }
    }
}

fn drop_postgres(admin: &str, url: &str) {
    let name = url::Url::parse(url)
        .map(|u| u.path().trim_start_matches('/').to_string())
        .unwrap_or_default();
    if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}

/// A redirect that set a (non-empty) session cookie: the person is signed in.
pub fn is_signed_in(res: &reqwest::Response) -> bool {
    res.status() == 303
        && res.headers().get_all("set-cookie").iter().any(|c| {
            let c = c.to_str().unwrap_or("");
            c.starts_with("verity_session=") && !c.starts_with("verity_session=;")
        })
}

pub fn csrf_of(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("input[name=csrf]").expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no csrf field in page:\n{html}"))
}

/// Backup codes as shown on the enrolment page.
pub fn codes_of(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("ol.codes code").expect("selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<String>())
        .collect()
}

pub fn hidden(html: &str, name: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(&format!("input[name={name}]")).expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_string)
        .unwrap_or_default()
}

/// Text of the first element matching `selector`.
pub fn text_of(html: &str, selector: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_string())
}

/// A browser: a cookie jar, no automatic redirects (tests follow them on purpose).
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser::with_jar(
            base,
            "VerityTest/1.0 (integration)",
            std::sync::Arc::new(reqwest::cookie::Jar::default()),
        )
    }

    /// A browser sending `user_agent`, whose cookies live in `jar` (so a test can set one, as
    /// a page's script would).
    pub fn with_jar(
        base: &str,
        user_agent: &str,
        jar: std::sync::Arc<reqwest::cookie::Jar>,
    ) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_provider(jar)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(user_agent)
                .build()
                .expect("client"),
            base: base.to_string(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_abs(&format!("{}{}", self.base, path)).await
    }

    pub async fn get_abs(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    pub async fn get_ok(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.expect("body")
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.base, path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// A form post that arrives through the (trusted, loopback) proxy for `client_ip`.
    pub async fn post_via_proxy(
        &self,
        path: &str,
        form: &[(&str, &str)],
        forwarded_for: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.base, path))
            .header("x-forwarded-for", forwarded_for)
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// Follows redirects inside Verity; stops at the first one that leaves it (to the RP).
    /// Returns the final URL and response.
    pub async fn follow(&self, mut res: reqwest::Response) -> (String, reqwest::Response) {
        let mut url = res.url().to_string();
        for _ in 0..10 {
            if !res.status().is_redirection() {
                return (url, res);
            }
            let location = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .expect("Location header")
                .to_string();
            let next = url::Url::parse(&url)
                .expect("url")
                .join(&location)
                .expect("join")
                .to_string();
            if !next.starts_with(&self.base) {
                return (next, res);
            }
            url = next.clone();
            res = self.get_abs(&next).await;
        }
        panic!("too many redirects");
    }
}

/// Query parameters of a URL.
pub fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub type RpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A relying party built on the openidconnect crate, as a real RP would be.
pub struct Rp {
    pub client: RpClient,
    pub http: reqwest::Client,
}

pub struct AuthRequest {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

impl Rp {
    pub async fn discover(base: &str, client_id: &str, secret: Option<&str>) -> Rp {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(base.to_string()).expect("issuer"),
            &http,
        )
        .await
        .expect("discovery");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_string()),
            secret.map(|s| ClientSecret::new(s.to_string())),
        )
        .set_redirect_uri(RedirectUrl::new(RP_REDIRECT.to_string()).expect("redirect"));
        Rp { client, http }
    }

    pub fn auth_request(&self, scopes: &[&str]) -> AuthRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in scopes {
            req = req.add_scope(Scope::new(s.to_string()));
        }
        let (url, state, nonce) = req.url();
        AuthRequest {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    pub async fn exchange(
        &self,
        code: &str,
        verifier: PkceCodeVerifier,
    ) -> Result<CoreTokenResponse, String> {
        self.client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| e.to_string())?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => r.error().to_string(),
                other => format!("{other:?}"),
            })
    }

    /// Verifies the ID token as an RP must: signature, issuer, audience, expiry, nonce, at_hash.
    pub fn verify(
        &self,
        tokens: &CoreTokenResponse,
        nonce: &Nonce,
    ) -> openidconnect::core::CoreIdTokenClaims {
        let id_token = tokens.id_token().expect("id_token in response");
        let verifier = self.client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, nonce)
            .expect("ID token verifies")
            .clone();
        let expected = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().expect("alg"),
            id_token.signing_key(&verifier).expect("key"),
        )
        .expect("at_hash");
        assert_eq!(
            claims.access_token_hash(),
            Some(&expected),
            "at_hash matches the access token"
        );
        claims
    }
}

/// Submits the sign-in page `page` (its HTML, for the CSRF token and the pending request) with
/// `email` and `password`.
pub async fn submit_password(
    browser: &Browser,
    page: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    browser
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(page)),
                ("email", email),
                ("password", password),
                ("authz", &hidden(page, "authz")),
            ],
        )
        .await
}

/// Follows `res` (the end of a sign-in at an app) back to the app, allowing on the consent
/// page if it is asked; returns the app's callback URL.
pub async fn back_to_the_app(browser: &Browser, res: reqwest::Response) -> String {
    let (url, res) = browser.follow(res).await;
    if url.starts_with(RP_REDIRECT) {
        return url;
    }
    let html = res.text().await.expect("body");
    assert!(
        html.contains("Allow"),
        "expected the consent page, got:\n{html}"
    );
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&html)),
                ("authz", &hidden(&html, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    let (url, _) = browser.follow(res).await;
    assert!(url.starts_with(RP_REDIRECT), "back at the RP: {url}");
    url
}

/// Drives the browser through /authorize (sign-in and consent already done or not needed)
/// and returns the RP callback URL.
pub async fn authorize_to_callback(browser: &Browser, auth_url: &str) -> String {
    let res = browser.get_abs(auth_url).await;
    back_to_the_app(browser, res).await
}

// People with a phone as second factor (phone change and recovery tests).

pub const TEST_PHONE_TYPED: &str = "(201) 555-0123";
pub const TEST_PHONE: &str = "+12015550123";

pub async fn newest_code(server: &TestServer, number: &str) -> String {
    let body = server
        .outbox_for(number)
        .await
        .first()
        .expect("a message")
        .body
        .clone();
    body.chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect()
}

/// A signed-in person whose only second factor is the phone TEST_PHONE.
pub async fn person_with_phone(server: &TestServer, email: &str) -> Browser {
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
    let page = browser.get_ok("/mfa/setup/phone").await;
    browser
        .post(
            "/mfa/setup/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", TEST_PHONE_TYPED),
                ("channel", "sms"),
            ],
        )
        .await;
    let page = browser.get_ok("/mfa/setup/phone").await;
    let code = newest_code(server, TEST_PHONE).await;
    let res = browser
        .post(
            "/mfa/setup/phone/confirm",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    browser
}

pub async fn phone_id(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            let user = verity::accounts::users::by_email(c, &email)?.unwrap();
            Ok(verity::mfa::methods::enrolled(c, &user.id)?.phones[0]
                .id
                .clone())
        })
        .await
        .unwrap()
}

pub async fn sign_in_with_phone(server: &TestServer, email: &str) -> (Browser, reqwest::Response) {
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = b.get_ok("/mfa").await;
    let id = hidden(&page, "phone");
    let res = pass_phone_factor(server, &b, &id).await;
    (b, res)
}

/// On the second-factor page: texts a code to TEST_PHONE (enrolled as `phone_id`) and enters
/// it. Returns the response to the code.
pub async fn pass_phone_factor(
    server: &TestServer,
    b: &Browser,
    phone_id: &str,
) -> reqwest::Response {
    let page = b.get_ok("/mfa").await;
    let res = b
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", phone_id),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "code sent");
    let page = b
        .get_text(res.headers()["location"].to_str().unwrap())
        .await;
    let code = newest_code(server, TEST_PHONE).await;
    b.post(
        "/mfa/verify",
        &[
            ("csrf", &csrf_of(&page)),
            ("method", "phone"),
            ("phone", phone_id),
            ("code", &code),
        ],
    )
    .await
}

/// Decodes the key an authenticator page shows (grouped in fours: the spaces don't count).
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut n, mut out) = (0u64, 0, Vec::new());
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            out.push((bits >> (n - 8)) as u8);
            n -= 8;
        }
    }
    out
}

/// The authenticator-app code for now. Freezes the server's clock first (it moves only when
/// the test advances it), so a time-step boundary can't fall between this and the check.
pub fn totp_code(server: &TestServer, secret: &[u8]) -> String {
    server.ctx.clock.freeze();
    verity::mfa::totp::code_at(
        secret,
        server.ctx.clock.unix_now() as u64,
        server.ctx.settings.security.totp_step_secs,
    )
}

// ---- h-ci: a database on its own (no server), following VERITY_TEST_DATABASE_URL like
// TestServer does. Also used by tests/notify_senders.rs.

/// A fresh, migrated database: a SQLite file, or a new PostgreSQL database when
/// VERITY_TEST_DATABASE_URL is set (dropped again with this value).
pub struct TestDb {
    pub db: verity::storage::db::Db,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn fresh() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("verity.db").display());
        let (db, pg) = tokio::task::spawn_blocking(move || {
            let pg = std::env::var("VERITY_TEST_DATABASE_URL")
                .ok()
                .map(|admin| fresh_postgres(&admin));
            let url = pg.as_ref().map_or(sqlite, |(_, url)| url.clone());
            // No idle connections: nothing reconnects to the database after it is dropped.
            let db = verity::storage::db::Db::connect_with(
                &url,
                2,
                Some(0),
                std::time::Duration::from_secs(10),
                None,
            )
            .expect("connect");
            db.migrate().expect("migrate");
            (db, pg)
        })
        .await
        .expect("fresh database");
        TestDb { db, _dir: dir, pg }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, url)) = self.pg.take() {
            let name = url::Url::parse(&url)
                .map(|u| u.path().trim_start_matches('/').to_string())
                .unwrap_or_default();
            if let Ok(mut conn) = diesel::PgConnection::establish(&admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

/// A relying party's back-channel endpoint: answers with the queued statuses (then
/// `then_status`) and records every body it receives. Returns its URL and the bodies.
pub async fn start_backchannel_listener(
    statuses: Vec<u16>,
    then_status: u16,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    actix_web::rt::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = sock.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        log.lock()
                            .unwrap()
                            .push(text[end + 4..end + 4 + len].to_string());
                        break;
                    }
                }
            }
            let status = statuses.lock().unwrap().next().unwrap_or(then_status);
            let reply =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (url, received)
}

/// Everything the process logs (through `tracing`, and `log` records bridged into it), from
/// the moment [`capture_logs`] is first called. One global subscriber for the test binary.
pub static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

pub struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(|| LogSink)
            .try_init()
            .expect("no other global log subscriber in the test binary");
    });
}

pub fn logged() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).to_string()
}

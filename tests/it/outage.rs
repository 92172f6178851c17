//! Outages answer promptly and honestly: a node whose database or store can't be reached
//! answers 503 with `Retry-After` (a page saying what is safe to do for people, each API's
//! own error format for machines) within its configured wait, never a 500; and a Redis
//! connection that broke is replaced without costing the next request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use verity::Ctx;

use crate::admin_harness::admin_token;
use crate::harness::*;

/// A second node on `ctx` (the same keys and settings as the test server, with whatever the
/// test replaced), on its own port.
fn serve_node(ctx: Ctx) -> (String, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let node = verity::web::serve(ctx, listener).expect("serve");
    let handle = node.handle();
    actix_web::rt::spawn(node);
    (base, handle)
}

/// A client (with its own cookies, like a browser) that gives up well before any of the old
/// 10-second waits: an answer that waited out the outage fails the test.
fn impatient() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(8))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Opens the sign-in page and submits it with `password`, in `lang`.
async fn sign_in_at(base: &str, email: &str, password: &str, lang: &str) -> reqwest::Response {
    let browser = impatient();
    let page = browser
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("sign-in page")
        .text()
        .await
        .expect("page");
    browser
        .post(format!("{base}/login"))
        .header("accept-language", lang)
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("an answer before the old 10-second wait")
}

fn with_settings(ctx: &mut Ctx, change: impl FnOnce(&mut verity::config::Settings)) {
    let mut settings = (*ctx.settings).clone();
    change(&mut settings);
    ctx.settings = Arc::new(settings);
}

/// A node whose database refuses connections (a stopped PostgreSQL): every kind of caller
/// gets a 503 that says so, within the acquire timeout.
#[actix_web::test]
async fn a_database_that_refuses_gets_people_a_page_and_machines_a_503_with_retry_after() {
    let server = TestServer::start().await;
    server
        .create_account(&server.browser(), "dora@example.com")
        .await;
    let (_, admin) = admin_token(&server).await;

    let mut ctx = server.ctx.clone();
    ctx.db = verity::storage::db::Db::connect_with(
        "postgres://verity@127.0.0.1:1/verity?sslmode=disable&connect_timeout=1",
        1,
        Some(0),
        Duration::from_millis(500),
        None,
    )
    .expect("a pool that connects on demand");
    ctx.clients = Arc::new(verity::oauth::clients::ClientCache::new(
        ctx.db.clone(),
        Duration::from_secs(30),
    ));
    with_settings(&mut ctx, |s| s.unavailable_retry_after_secs = 45);
    let (base, handle) = serve_node(ctx);
    let client = impatient();

    // A person signing in: the sign-in page itself needs nothing, the password check needs
    // the database.
    for (lang, heading) in [
        ("en", "We're having trouble right now"),
        ("es", "Tenemos problemas en este momento"),
    ] {
        let res = sign_in_at(&base, "dora@example.com", PASSWORD, lang).await;
        assert_eq!(res.status(), 503, "{lang}");
        assert_eq!(res.headers()["retry-after"], "45");
        let html = res.text().await.unwrap();
        assert_eq!(text_of(&html, "h1").as_deref(), Some(heading), "{html}");
        assert!(!is_signed_in_html(&html));
    }

    // A relying party at the token endpoint (an unknown client must be looked up).
    let res = client
        .post(format!("{base}/token"))
        .basic_auth("some-client", Some("secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token answer");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "45");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");

    // An operator's tool on the management API.
    let res = client
        .get(format!("{base}/admin/api/v1/users"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("API answer");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "45");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unavailable", "{body}");

    // The healthy node answers the same requests as usual.
    let res = reqwest::Client::new()
        .get(server.url("/admin/api/v1/users"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    handle.stop(false).await;
}

fn is_signed_in_html(html: &str) -> bool {
    html.contains("action=\"/logout\"")
}

/// A TCP proxy in front of Redis or PostgreSQL that the test can cut, as a restart or a
/// network fault would: `drop_connections` ends every open connection (what a restart does to
/// clients), `refuse` closes new ones at once until `accept` again, and `freeze` keeps every
/// connection open but passes nothing on (a server that stopped answering) until `thaw`.
struct TcpProxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    frozen: tokio::sync::watch::Sender<bool>,
    generation: tokio::sync::watch::Sender<u64>,
}

/// Copies `from` to `to`, holding whatever arrives while the proxy is frozen until it thaws.
async fn pass_on(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl TcpProxy {
    async fn start(target: SocketAddr) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let open = Arc::new(AtomicBool::new(true));
        let (frozen, _) = tokio::sync::watch::channel(false);
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let (accepting, cut, held) = (open.clone(), generation.clone(), frozen.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (mut cut, held) = (cut.subscribe(), held.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    tokio::select! {
                        _ = pass_on(in_read, out_write, held.subscribe()) => {}
                        _ = pass_on(out_read, in_write, held.subscribe()) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        TcpProxy {
            addr,
            open,
            frozen,
            generation,
        }
    }

    fn redis_url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn drop_connections(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    fn refuse(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.drop_connections();
    }

    fn accept(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

/// The Redis the PostgreSQL + Redis pass uses; these tests need a real Redis to cut.
fn test_redis() -> Option<SocketAddr> {
    let url = url::Url::parse(&std::env::var("VERITY_TEST_REDIS_URL").ok()?).ok()?;
    let host = url.host_str()?.to_string();
    let port = url.port().unwrap_or(6379);
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .ok()?
        .next()
}

/// A node whose store goes through the proxy, with a short store timeout.
async fn node_behind(
    server: &TestServer,
    proxy: &TcpProxy,
) -> (String, actix_web::dev::ServerHandle) {
    let mut ctx = server.ctx.clone();
    ctx.store = Arc::new(
        verity::storage::store::RedisStore::connect(
            &proxy.redis_url(),
            &server.ctx.settings.redis_prefix,
            server.ctx.clock.clone(),
            Duration::from_millis(500),
        )
        .await
        .expect("Redis through the proxy"),
    );
    serve_node(ctx)
}

/// A server with an account, and a second node whose store goes through a proxy the test can
/// cut; None (the test is skipped) without a Redis to cut.
async fn server_with_node_behind_a_proxy(
) -> Option<(TestServer, TcpProxy, String, actix_web::dev::ServerHandle)> {
    let Some(redis) = test_redis() else {
        eprintln!("skipped: needs VERITY_TEST_REDIS_URL (the PostgreSQL + Redis pass)");
        return None;
    };
    let server = TestServer::start().await;
    server
        .create_account(&server.browser(), "rhea@example.com")
        .await;
    let proxy = TcpProxy::start(redis).await;
    let (base, handle) = node_behind(&server, &proxy).await;
    assert_eq!(wrong_password(&base).await.status(), 401);
    Some((server, proxy, base, handle))
}

/// A wrong password: the sign-in flow counts it in the store, so the store must answer.
async fn wrong_password(base: &str) -> reqwest::Response {
    sign_in_at(base, "rhea@example.com", "not the password at all", "en").await
}

#[actix_web::test]
async fn the_first_request_after_redis_dropped_its_connections_succeeds() {
    let Some((_server, proxy, base, handle)) = server_with_node_behind_a_proxy().await else {
        return;
    };

    // Redis restarts: every client connection is cut, and it is back at once.
    proxy.drop_connections();
    let res = wrong_password(&base).await;
    assert_eq!(
        res.status(),
        401,
        "the broken connection is replaced and the command tried again"
    );
    let res = impatient()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    handle.stop(false).await;
}

#[actix_web::test]
async fn a_store_that_is_down_answers_503_promptly_and_service_resumes_when_it_is_back() {
    let Some((server, proxy, base, handle)) = server_with_node_behind_a_proxy().await else {
        return;
    };
    let (client_id, secret) = server.add_client(false).await;

    proxy.refuse();
    let res = wrong_password(&base).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "30");
    let html = res.text().await.unwrap();
    assert_eq!(
        text_of(&html, "h1").as_deref(),
        Some("We're having trouble right now")
    );
    // A relying party redeeming a code: codes live in the store.
    let res = impatient()
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "a-code-from-before-the-outage"),
            ("redirect_uri", RP_REDIRECT),
        ])
        .basic_auth(&client_id, secret.as_deref())
        .send()
        .await
        .expect("token answer");
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    let res = impatient()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);

    proxy.accept();
    assert_eq!(wrong_password(&base).await.status(), 401, "back at once");
    handle.stop(false).await;
}

/// The store a restarted Redis (or memory store) comes back as: empty.
async fn empty_store(server: &TestServer) -> Arc<dyn verity::storage::store::Store> {
    match &server.ctx.settings.redis_url {
        Some(url) => Arc::new(
            verity::storage::store::RedisStore::connect(
                url,
                &format!("{}-after-restart", server.ctx.settings.redis_prefix),
                server.ctx.clock.clone(),
                Duration::from_secs(5),
            )
            .await
            .expect("Redis"),
        ),
        None => Arc::new(verity::storage::store::MemoryStore::new(
            server.ctx.clock.clone(),
        )),
    }
}

/// A sign-in at an app loses its state to a store restart between the password and the second
/// factor. The person is told what happened and led back into the app's request, which then
/// completes with a code the app can redeem.
#[actix_web::test]
async fn a_sign_in_lost_to_a_store_restart_keeps_the_way_back_to_the_app() {
    let server = TestServer::start().await;
    let email = "ines@example.com";
    server.create_account(&server.browser(), email).await;
    server.sign_in_fully(&server.browser(), email).await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let request = rp.auth_request(&["openid", "email"]);

    let jar = Arc::new(reqwest::cookie::Jar::default());
    let before = Browser::with_jar(&server.base, "VerityTest/1.0", jar.clone());
    let res = before.get_abs(&request.url).await;
    let login = res.headers()["location"].to_str().unwrap().to_string();
    assert!(login.starts_with("/login?authz="), "{login}");
    let page = before.get_ok(&login).await;
    let res = submit_password(&before, &page, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");

    // The store restarts, empty; the same browser carries on at a node that uses it.
    let mut ctx = server.ctx.clone();
    ctx.store = empty_store(&server).await;
    let (base, handle) = serve_node(ctx);
    let after = Browser::with_jar(&base, "VerityTest/1.0", jar);
    let res = after.get("/mfa").await;
    assert_eq!(res.headers()["location"], "/login?expired=1");
    let page = after.get_ok("/login?expired=1").await;
    assert_eq!(
        text_of(&page, "h1").as_deref(),
        Some("Your sign-in was interrupted")
    );
    assert!(
        page.contains("Your sign-in to Tax Portal"),
        "names the app: {page}"
    );
    let restart = href_of(&page, "a.usa-button");
    assert!(restart.starts_with("/authorize?"), "{restart}");

    // Starting again: the app's own request, then the usual sign-in, then back to the app.
    let res = after.get(&restart).await;
    let login = res.headers()["location"].to_str().unwrap().to_string();
    assert!(login.starts_with("/login?authz="), "{login}");
    let page = after.get_ok(&login).await;
    assert!(page.contains("to continue to Tax Portal"), "{page}");
    let res = submit_password(&after, &page, email, PASSWORD).await;
    let res = server.pass_second_factor(&after, email, res).await;
    // The app asks for the first time: consent, then back at the app.
    let url = back_to_the_app(&after, res).await;
    let query = query_of(&url);
    assert_eq!(
        query["state"],
        *request.state.secret(),
        "the app's own state"
    );
    // The app redeems the code with its own PKCE verifier (at the node on the restarted
    // store, where the code lives), and gets the person's claims.
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/token"))
        .basic_auth(&client_id, secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query["code"].as_str()),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", request.verifier.secret().as_str()),
        ])
        .send()
        .await
        .unwrap();
    let tokens: Value = res.json().await.unwrap();
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let claims: Value = http
        .get(format!("{base}/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(claims["email"], email);
    handle.stop(false).await;
}

/// Without the way back (a browser that never started at an app), the sign-in page still says
/// what happened.
#[actix_web::test]
async fn a_lost_sign_in_without_an_app_says_what_happened() {
    let server = TestServer::start().await;
    let page = server.browser().get_ok("/login?expired=1").await;
    assert!(
        page.contains("Your sign-in was interrupted or took too long"),
        "{page}"
    );
    // A forged or altered way back is ignored, not followed.
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let url: url::Url = server.base.parse().unwrap();
    let forged = format!(
        "verity_restart={}.AAAA",
        verity::crypto::b64url(b"client_id=evil&redirect_uri=https://evil.example/")
    );
    jar.add_cookie_str(&forged, &url);
    let browser = Browser::with_jar(&server.base, "VerityTest/1.0", jar);
    let page = browser.get_ok("/login?expired=1").await;
    assert!(!page.contains("evil"), "{page}");
    assert!(page.contains("Your sign-in was interrupted or took too long"));
}

fn href_of(html: &str, selector: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("a link")
        .to_string()
}

/// Lost at the consent page: the answer finds no request, and the person is led back to the
/// app's; a request that was answered (denied here) leaves no way back, only "it's over".
#[actix_web::test]
async fn a_request_lost_at_consent_leads_back_to_the_app_and_an_answered_one_does_not() {
    let server = TestServer::start().await;
    let email = "joan@example.com";
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let before = Browser::with_jar(&server.base, "VerityTest/1.0", jar.clone());
    server.create_account(&before, email).await;
    server.sign_in_fully(&before, email).await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let request = rp.auth_request(&["openid", "email"]);
    let (_, res) = before.follow(before.get_abs(&request.url).await).await;
    let consent = res.text().await.unwrap();
    assert!(consent.contains("Allow"), "{consent}");

    let mut ctx = server.ctx.clone();
    ctx.store = empty_store(&server).await;
    let (base, handle) = serve_node(ctx);
    let after = Browser::with_jar(&base, "VerityTest/1.0", jar);
    let res = after
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/login?expired=1");
    let page = after.get_ok("/login?expired=1").await;
    assert!(page.contains("Your sign-in to Tax Portal"), "{page}");

    // Denied at the healthy node: answered, so the way back is gone.
    let (_, res) = before.follow(before.get_abs(&request.url).await).await;
    let consent = res.text().await.unwrap();
    let res = before
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(res.status(), 302, "back at the app with access_denied");
    let res = before
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400, "over: nothing to go back to");
    handle.stop(false).await;
}

/// The way back is sealed to the browser it was made in: the same cookie in another browser
/// (copied, or planted by a sibling site) names no app.
#[actix_web::test]
async fn the_way_back_works_only_in_the_browser_it_was_made_in() {
    use reqwest::cookie::CookieStore;
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let request = rp.auth_request(&["openid"]);
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let mine = Browser::with_jar(&server.base, "VerityTest/1.0", jar.clone());
    mine.get_abs(&request.url).await;
    let page = mine.get_ok("/login?expired=1").await;
    assert!(page.contains("Your sign-in to Tax Portal"), "{page}");

    let url: url::Url = server.base.parse().unwrap();
    let cookies = jar.cookies(&url).expect("cookies");
    let sealed = cookies
        .to_str()
        .unwrap()
        .split("; ")
        .find(|c| c.starts_with("verity_restart="))
        .expect("the way back is kept")
        .to_string();
    let other_jar = Arc::new(reqwest::cookie::Jar::default());
    other_jar.add_cookie_str(&sealed, &url);
    let other = Browser::with_jar(&server.base, "VerityTest/1.0", other_jar);
    let page = other.get_ok("/login?expired=1").await;
    assert!(!page.contains("Tax Portal"), "{page}");
    assert!(page.contains("Your sign-in was interrupted or took too long"));

    // Signing out ends it in the browser that had it.
    let signed_in = server.signed_in_browser("pia@example.com").await;
    signed_in.get_abs(&request.url).await;
    let home = signed_in.get_ok("/").await;
    signed_in
        .post("/logout", &[("csrf", &csrf_of(&home))])
        .await;
    let page = signed_in.get_ok("/login?expired=1").await;
    assert!(!page.contains("Tax Portal"), "{page}");
}

/// The test server's PostgreSQL database reached through a proxy the test can freeze: (the
/// proxy, the database URL through it). None (the test is skipped) on the SQLite pass.
async fn postgres_behind_a_proxy(server: &TestServer) -> Option<(TcpProxy, String)> {
    let Some(url) = server.postgres_url() else {
        eprintln!("skipped: needs VERITY_TEST_DATABASE_URL (the PostgreSQL + Redis pass)");
        return None;
    };
    let mut url = url::Url::parse(url).expect("database URL");
    let host = url.host_str().expect("database host").to_string();
    let target =
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), url.port().unwrap_or(5432)))
            .expect("database address")
            .next()
            .expect("an address");
    let proxy = TcpProxy::start(target).await;
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(proxy.addr.port())).expect("port");
    Some((proxy, url.to_string()))
}

/// A node on `database_url` with a pool of two, a 500 ms acquire time and `work` ms of work
/// time; its clients are looked up through the same pool.
fn node_on_database(
    server: &TestServer,
    database_url: &str,
    work: u64,
) -> (String, actix_web::dev::ServerHandle) {
    let mut ctx = server.ctx.clone();
    ctx.db = verity::storage::db::Db::connect_with(
        database_url,
        2,
        Some(0),
        Duration::from_millis(500),
        Some(Duration::from_millis(work)),
    )
    .expect("a pool that connects on demand");
    ctx.clients = Arc::new(verity::oauth::clients::ClientCache::new(
        ctx.db.clone(),
        Duration::from_secs(30),
    ));
    with_settings(&mut ctx, |s| s.unavailable_retry_after_secs = 45);
    serve_node(ctx)
}

/// Asks until the node answers a wrong password as one again (401), for at most ~10 s.
async fn until_serving(base: &str) {
    for _ in 0..50 {
        if wrong_password(base).await.status() == 401 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the node did not serve again after the database came back");
}

/// A PostgreSQL that stops answering on connections it already has open (a hung server or a
/// silent network fault, not a refusal): every request, even a burst larger than the pool,
/// answers 503 with Retry-After within the acquire and work times, none waits it out; and
/// when the database answers again, so does the node.
#[actix_web::test]
async fn a_database_that_stops_answering_gets_a_burst_503_promptly_and_service_resumes() {
    let server = TestServer::start().await;
    let Some((proxy, url)) = postgres_behind_a_proxy(&server).await else {
        return;
    };
    server
        .create_account(&server.browser(), "rhea@example.com")
        .await;
    let (base, handle) = node_on_database(&server, &url, 1000);
    // The pool now holds an open connection through the proxy.
    assert_eq!(wrong_password(&base).await.status(), 401);

    proxy.freeze();
    // A person signing in, and a burst of relying parties at the token endpoint (an unknown
    // client must be looked up), ten times the pool.
    let res = wrong_password(&base).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "45");
    let html = res.text().await.unwrap();
    assert_eq!(
        text_of(&html, "h1").as_deref(),
        Some("We're having trouble right now"),
        "{html}"
    );
    let client = impatient();
    let answers = futures_util::future::join_all((0..20).map(|i| {
        client
            .post(format!("{base}/token"))
            .basic_auth(format!("client-{i}"), Some("secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
    }))
    .await;
    for res in answers {
        let res = res.expect("an answer before the client gives up");
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()["retry-after"], "45");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    }
    let ready = impatient()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("a prompt readiness answer");
    assert_eq!(ready.status(), 503);

    proxy.thaw();
    until_serving(&base).await;
    handle.stop(false).await;
}

/// A statement stuck behind another session's lock (a long migration, a stuck transaction) is
/// cancelled by PostgreSQL at the work time: the request answers 503, not 500, and the
/// connection serves the next request once the lock is gone.
#[actix_web::test]
async fn a_statement_stuck_behind_a_lock_answers_503_and_the_connection_serves_again() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let server = TestServer::start().await;
    let Some(url) = server.postgres_url().map(str::to_string) else {
        eprintln!("skipped: needs VERITY_TEST_DATABASE_URL (the PostgreSQL + Redis pass)");
        return;
    };
    server
        .create_account(&server.browser(), "rhea@example.com")
        .await;
    let (base, handle) = node_on_database(&server, &url, 800);
    assert_eq!(wrong_password(&base).await.status(), 401);

    let (locked_tx, locked) = tokio::sync::oneshot::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let locker_url = url.clone();
    let locker = tokio::task::spawn_blocking(move || {
        let mut conn = diesel::pg::PgConnection::establish(&locker_url).expect("locker");
        conn.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .expect("lock");
        let _ = locked_tx.send(());
        let _ = release_rx.recv_timeout(Duration::from_secs(30));
        conn.batch_execute("ROLLBACK").expect("unlock");
    });
    locked.await.expect("the lock is held");

    let res = wrong_password(&base).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "45");

    release.send(()).expect("release");
    locker.await.expect("locker");
    assert_eq!(wrong_password(&base).await.status(), 401);
    handle.stop(false).await;
}

//! examples/tax_portal.rs run as its operator would run it: the real example process against a
//! test Verity, configured by its environment variables, with the client `verity serve
//! --dev-demo` registers. A person signs in to it through the real OpenID Connect flow, changes
//! their password (or signs out everywhere) at Verity, and the portal, told by a pushed
//! Security Event Token, signs them out and says why. Its receiver refuses SETs it must not
//! trust, each with the RFC 8935 error a transmitter would read.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;
use serde_json::{json, Value};

const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const PASSWORD_CHANGED_NOTICE: &str =
    "You were signed out because your password changed at Verity.";
const SESSIONS_ENDED_NOTICE: &str =
    "You were signed out because your sessions were ended at Verity.";

/// The example's binary next to this test binary (target/<profile>/deps/it-…), built first
/// when it is missing or older than its source (`cargo test --test it` doesn't build
/// examples; a plain `cargo test` does).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let binary = profile_dir
        .join("examples")
        .join(format!("tax_portal{}", std::env::consts::EXE_SUFFIX));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tax_portal.rs");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (modified(&binary), modified(&source)) {
        (Some(built), Some(written)) => built < written,
        _ => true,
    };
    if stale {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet", "--example", "tax_portal"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if let Some(target_dir) = profile_dir.parent() {
            cargo.arg("--target-dir").arg(target_dir);
        }
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                cargo.arg("--release");
            }
            Some(other) => {
                cargo.args(["--profile", other]);
            }
        }
        let status = cargo
            .status()
            .expect("run cargo build --example tax_portal");
        assert!(status.success(), "cargo build --example tax_portal failed");
    }
    binary
}

/// The example, running as a child process with its output kept; killed on drop.
struct Portal {
    base: String,
    child: Mutex<Child>,
    output: Arc<Mutex<String>>,
}

impl Drop for Portal {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Portal {
    /// Starts the portal on a free port against `server`, as the demo client.
    async fn start(server: &TestServer) -> Portal {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("addr").port()
        };
        let base = format!("http://127.0.0.1:{port}");
        let mut client = verity::cli::demo_client();
        client.redirect_uris = vec![format!("{base}/callback")];
        client.post_logout_redirect_uris = vec![format!("{base}/")];
        server.register(client).await;

        let binary = tokio::task::spawn_blocking(example_binary)
            .await
            .expect("the example's binary");
        let mut child = Command::new(binary)
            .env("VERITY_ISSUER", &server.base)
            .env("TAX_PORTAL_CLIENT_ID", verity::cli::DEMO_CLIENT_ID)
            .env("TAX_PORTAL_CLIENT_SECRET", verity::cli::DEMO_CLIENT_SECRET)
            .env("TAX_PORTAL_LISTEN", format!("127.0.0.1:{port}"))
            .env("TAX_PORTAL_REDIRECT_URI", format!("{base}/callback"))
            .env("TAX_PORTAL_RECEIVER_URL", format!("{base}/ssf/events"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start examples/tax_portal");
        let output = Arc::new(Mutex::new(String::new()));
        let pipes: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("stdout")),
            Box::new(child.stderr.take().expect("stderr")),
        ];
        for pipe in pipes {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Portal {
            base,
            child: Mutex::new(child),
            output,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until `page` (the start page as `browser` sees it) satisfies `done`; panics with
    /// the page and the portal's output at the deadline.
    async fn wait_for_page(
        &self,
        browser: &Browser,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let page = match browser.http.get(self.url("/")).send().await {
                Ok(res) if res.status() == 200 => res.text().await.ok(),
                _ => None,
            };
            if let Some(page) = page.as_deref().filter(|p| done(p)) {
                return page.to_string();
            }
            let exited = self.child.lock().unwrap().try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "the portal never showed {what} ({exited:?}); last page:\n{page:?}\n\
                 portal output:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs the person `browser` holds at Verity in to the portal through the OIDC flow
    /// (allowing on the consent page when asked); returns the portal's page.
    async fn sign_in(&self, browser: &Browser) -> String {
        let mut url = self.url("/login");
        let mut res = browser.get_abs(&url).await;
        for _ in 0..20 {
            if res.status().is_redirection() {
                let location = res.headers()["location"].to_str().unwrap().to_string();
                url = url::Url::parse(&url)
                    .unwrap()
                    .join(&location)
                    .unwrap()
                    .to_string();
                res = browser.get_abs(&url).await;
                continue;
            }
            let status = res.status();
            let html = res.text().await.unwrap();
            if url.starts_with(browser.base()) && html.contains(r#"name="decision""#) {
                res = browser
                    .post(
                        "/consent",
                        &[
                            ("csrf", &csrf_of(&html)),
                            ("authz", &hidden(&html, "authz")),
                            ("decision", "allow"),
                        ],
                    )
                    .await;
                url = format!("{}/consent", browser.base());
                continue;
            }
            assert!(
                status == 200 && url.starts_with(&self.base),
                "signing in ended at {url} ({status}):\n{html}\nportal output:\n{}",
                self.output()
            );
            return html;
        }
        panic!("too many redirects signing in to the portal");
    }
}

/// POSTs `body` to the portal's receiver as Verity would; answers status and JSON body.
async fn push(
    portal: &Portal,
    body: &str,
    authorization: Option<&str>,
    content_type: &str,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(portal.url("/ssf/events"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(auth) = authorization {
        req = req.header("authorization", auth);
    }
    let res = req.send().await.expect("POST to the receiver");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The `Authorization` header Verity stores for the portal's stream (decrypted).
async fn stream_authorization(server: &TestServer) -> String {
    let row = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::ssf::streams::StreamRow;
            use verity::storage::schema::ssf_streams;
            Ok(ssf_streams::table
                .filter(ssf_streams::client_id.eq(verity::cli::DEMO_CLIENT_ID))
                .select(StreamRow::as_select())
                .load::<StreamRow>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(row.len(), 1, "the portal holds one stream");
    verity::ssf::streams::authorization_header(&server.ctx, &row[0])
        .unwrap()
        .expect("the portal gave an Authorization header")
}

#[actix_web::test]
async fn the_example_portal_signs_a_person_out_when_verity_says_so() {
    // NONE: the portal must add each person who signs in to its stream to hear about them.
    let server = TestServer::start_with(|s| {
        s.ssf.push_poll_ms = 50;
        s.ssf.default_subjects = verity::config::DefaultSubjects::None;
    })
    .await;
    let portal = Portal::start(&server).await;
    // Its stream is set up and Verity's verification event reached its receiver.
    let page = portal
        .wait_for_page(&server.browser(), "a verified stream", |p| {
            p.contains("Shared Signals: connected") && p.contains("; verified)")
        })
        .await;
    assert!(page.contains("You are not signed in."), "{page}");

    let email = "ines@example.com";
    let browser = server.signed_in_browser(email).await;
    let page = portal.sign_in(&browser).await;
    assert!(page.contains("Welcome,"), "{page}");

    // The password changes at Verity: credential-change is pushed, the portal session ends.
    let form = browser.get_ok("/account/password").await;
    let new = "copper lantern orchard violet";
    let res = browser
        .post(
            "/account/password",
            &[
                ("csrf", &csrf_of(&form)),
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "password changed at Verity");
    let page = portal
        .wait_for_page(&browser, "the password-change sign-out", |p| {
            !p.contains("Welcome,")
        })
        .await;
    assert!(
        page.contains(PASSWORD_CHANGED_NOTICE),
        "signed out, with the reason:\n{page}"
    );
    assert!(page.contains("You are not signed in."), "{page}");
    let again = browser
        .get_abs(&portal.url("/"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !again.contains(PASSWORD_CHANGED_NOTICE),
        "said once: {again}"
    );
    assert!(again.contains("You are not signed in."), "{again}");

    // Signed in again (the consent stands), then "This wasn't me" at Verity ends every
    // session: session-revoked.
    let page = portal.sign_in(&browser).await;
    assert!(page.contains("Welcome,"), "{page}");
    let activity = browser.get_ok("/account/activity").await;
    let res = browser
        .post("/account/activity/not-me", &[("csrf", &csrf_of(&activity))])
        .await;
    assert_eq!(res.status(), 200);
    let page = portal
        .wait_for_page(&browser, "the sessions-ended sign-out", |p| {
            !p.contains("Welcome,")
        })
        .await;
    assert!(
        page.contains(SESSIONS_ENDED_NOTICE),
        "signed out, with the reason:\n{page}"
    );
}

#[actix_web::test]
async fn the_example_receiver_refuses_sets_it_must_not_trust() {
    let server = TestServer::start_with(|s| s.ssf.push_poll_ms = 50).await;
    let portal = Portal::start(&server).await;
    portal
        .wait_for_page(&server.browser(), "a verified stream", |p| {
            p.contains("; verified)")
        })
        .await;
    let authorization = stream_authorization(&server).await;

    let verity_key = server
        .ctx
        .keys
        .ring()
        .signer(server.ctx.clock.now())
        .expect("Verity's signing key");
    let alg = verity_key.alg;
    let der = verity::keys::SigningKey::generate_pkcs8(alg).unwrap();
    let stranger = verity::keys::SigningKey::from_pkcs8("not-verity", alg, &der).unwrap();
    let impostor = verity::keys::SigningKey::from_pkcs8(&verity_key.kid, alg, &der).unwrap();

    let claims = |jti: &str| {
        json!({
            "iss": server.base,
            "jti": jti,
            "iat": server.ctx.clock.unix_now(),
            "aud": verity::cli::DEMO_CLIENT_ID,
            "sub_id": { "format": "iss_sub", "iss": server.base, "sub": "nobody-signed-in" },
            "events": { SESSION_REVOKED: { "initiating_entity": "user", "event_timestamp": 0 } },
        })
    };
    let set_type = "application/secevent+jwt";
    let sign = |key: &verity::keys::SigningKey, typ: &str, claims: &Value| {
        key.sign_jwt(typ, claims).unwrap()
    };

    // The control: well formed and signed by Verity, about no one signed in.
    let good = sign(&verity_key, "secevent+jwt", &claims("good-1"));
    let (status, body) = push(&portal, &good, Some(&authorization), set_type).await;
    assert_eq!(status, 202, "{body}");
    // The same jti again (a transmitter's retry): accepted, acted on once.
    let (status, _) = push(&portal, &good, Some(&authorization), set_type).await;
    assert_eq!(status, 202);

    let with = |member: &str, value: Value| {
        let mut c = claims(&format!("bad-{member}"));
        c[member] = value;
        c
    };
    let two_events = with(
        "events",
        json!({
            SESSION_REVOKED: {},
            "https://schemas.openid.net/secevent/caep/event-type/credential-change": {},
        }),
    );
    let cases: Vec<(&str, String, Option<&str>, &str, &str)> = vec![
        (
            "no Authorization header",
            good.clone(),
            None,
            set_type,
            "authentication_failed",
        ),
        (
            "another Authorization header",
            good.clone(),
            Some("Bearer guessed"),
            set_type,
            "authentication_failed",
        ),
        (
            "not sent as a SET",
            good.clone(),
            Some(&authorization),
            "application/jwt",
            "invalid_request",
        ),
        (
            "signed by a key Verity never published",
            sign(&stranger, "secevent+jwt", &claims("k1")),
            Some(&authorization),
            set_type,
            "invalid_key",
        ),
        (
            "signed by another key under Verity's kid",
            sign(&impostor, "secevent+jwt", &claims("k2")),
            Some(&authorization),
            set_type,
            "invalid_key",
        ),
        (
            "for another audience",
            sign(
                &verity_key,
                "secevent+jwt",
                &with("aud", json!("someone-else")),
            ),
            Some(&authorization),
            set_type,
            "invalid_audience",
        ),
        (
            "from another issuer",
            sign(
                &verity_key,
                "secevent+jwt",
                &with("iss", json!("https://elsewhere.example")),
            ),
            Some(&authorization),
            set_type,
            "invalid_issuer",
        ),
        (
            "carrying sub",
            sign(
                &verity_key,
                "secevent+jwt",
                &with("sub", json!("nobody-signed-in")),
            ),
            Some(&authorization),
            set_type,
            "invalid_request",
        ),
        (
            "carrying exp",
            sign(
                &verity_key,
                "secevent+jwt",
                &with("exp", json!(server.ctx.clock.unix_now() + 3600)),
            ),
            Some(&authorization),
            set_type,
            "invalid_request",
        ),
        (
            "typed as a plain JWT",
            sign(&verity_key, "JWT", &claims("t1")),
            Some(&authorization),
            set_type,
            "invalid_request",
        ),
        (
            "with two events",
            sign(&verity_key, "secevent+jwt", &two_events),
            Some(&authorization),
            set_type,
            "invalid_request",
        ),
    ];
    for (what, set, auth, content_type, err) in cases {
        let (status, body) = push(&portal, &set, auth, content_type).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["err"], err, "{what}: {body}");
        assert!(
            body["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}: {body}"
        );
    }
}

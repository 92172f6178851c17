//! Single-use things used many times at once, over real HTTP: an authorization code, a refresh
//! token, and a management-API Idempotency-Key. Each burst is one `join_all`, so the requests
//! really overlap on the server's workers. On PostgreSQL + Redis these run against the shared
//! database and store, as several nodes would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::admin_harness::*;
use crate::harness::*;

const BURST: usize = 20;

// Each test sends everything through one `reqwest::Client`. (A client per request loads its TLS
// roots each time: on a busy machine twenty of those in a row delayed the first request's head
// past the server's 5 s read timeout, and it got a 408.)

/// A form POST to `/token`; (status, JSON).
async fn token_request(
    http: &reqwest::Client,
    server: &TestServer,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = http
        .post(server.url("/token"))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from /token: {text}")),
    )
}

async fn userinfo_status(http: &reqwest::Client, server: &TestServer, access_token: &str) -> u16 {
    http.get(server.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
        .status()
        .as_u16()
}

/// A management-API POST with an Idempotency-Key, over the shared client.
async fn admin_post(
    http: &reqwest::Client,
    server: &TestServer,
    path: &str,
    token: &str,
    body: &Value,
    key: &str,
) -> Reply {
    let res = http
        .post(server.url(&format!("/admin/api/v1{path}")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("admin API request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON answer, got {status}: {text}"));
    Reply {
        status,
        headers,
        body,
    }
}

async fn count_events(server: &TestServer, kind: &str) -> usize {
    audit_events_of_kind(server, kind).await.len()
}

/// A confidential client (client_secret_post) and a signed-in person, to get codes and
/// exchange them.
struct CodeFlow {
    http: reqwest::Client,
    client_id: String,
    secret: String,
    browser: Browser,
    rp: Rp,
}

impl CodeFlow {
    async fn new(server: &TestServer, email: &str) -> CodeFlow {
        let (client_id, secret) = server.add_client(false).await;
        let secret = secret.expect("a confidential client");
        let rp = server.rp(&client_id, Some(&secret)).await;
        let browser = server.signed_in_browser(email).await;
        CodeFlow {
            http: reqwest::Client::new(),
            client_id,
            secret,
            browser,
            rp,
        }
    }

    /// A fresh code and its PKCE verifier.
    async fn code(&self) -> (String, String) {
        let req = self.rp.auth_request(&["email"]);
        let callback = authorize_to_callback(&self.browser, &req.url).await;
        (
            query_of(&callback)["code"].clone(),
            req.verifier.secret().clone(),
        )
    }

    async fn exchange(&self, server: &TestServer, code: &str, verifier: &str) -> (u16, Value) {
        token_request(
            &self.http,
            server,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", RP_REDIRECT),
                ("code_verifier", verifier),
                ("client_id", &self.client_id),
                ("client_secret", &self.secret),
            ],
        )
        .await
    }

    async fn refresh(&self, server: &TestServer, refresh_token: &str) -> (u16, Value) {
        token_request(
            &self.http,
            server,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client_id),
                ("client_secret", &self.secret),
            ],
        )
        .await
    }
}

fn str_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {body}"))
}

#[actix_web::test]
async fn a_code_exchanged_twenty_times_at_once_gives_at_most_one_answer_tokens_and_its_grant_is_revoked(
) {
    let server = TestServer::start().await;
    let flow = CodeFlow::new(&server, "cora@example.com").await;

    // Positive control: a code exchanged once keeps its tokens working.
    let (code, verifier) = flow.code().await;
    let (status, control) = flow.exchange(&server, &code, &verifier).await;
    assert_eq!(status, 200, "{control}");
    let control_access = str_of(&control, "access_token").to_string();

    let issued_before = count_events(&server, "tokens_issued").await;
    let (code, verifier) = flow.code().await;
    let results = join_all((0..BURST).map(|_| flow.exchange(&server, &code, &verifier))).await;

    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    // The exchange that took the code hands out tokens only if no replay overlapped it; one
    // that did makes it refuse too (an ID token can't be revoked).
    assert!(
        winners.len() <= 1,
        "at most one exchange gets tokens: {results:?}"
    );
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    assert_eq!(
        count_events(&server, "tokens_issued").await,
        issued_before + 1,
        "one grant was created"
    );

    // The other presentations were uses of a used code: the grant the exchange created is
    // revoked, once, and any tokens that left with it are dead.
    if let Some(winner) = winners.first() {
        let access = str_of(winner, "access_token");
        let refresh = str_of(winner, "refresh_token");
        assert_eq!(
            userinfo_status(&flow.http, &server, access).await,
            401,
            "the winner's access token stops working"
        );
        let (status, body) = flow.refresh(&server, refresh).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "the winner's refresh token is dead too: {body}"
        );
    }
    assert_eq!(count_events(&server, "code_replay_revoked_grant").await, 1);

    // Only that grant: the control's tokens still work.
    assert_eq!(
        userinfo_status(&flow.http, &server, &control_access).await,
        200
    );
}

#[actix_web::test]
async fn a_refresh_token_rotated_twenty_times_at_once_gives_one_pair_and_the_family_dies() {
    let server = TestServer::start().await;
    let flow = CodeFlow::new(&server, "rafe@example.com").await;

    // Positive control: another family, refreshed once, keeps working afterwards.
    let (code, verifier) = flow.code().await;
    let (_, control) = flow.exchange(&server, &code, &verifier).await;
    let (status, control) = flow
        .refresh(&server, str_of(&control, "refresh_token"))
        .await;
    assert_eq!(status, 200, "a single refresh works: {control}");

    let (code, verifier) = flow.code().await;
    let (status, tokens) = flow.exchange(&server, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let first_access = str_of(&tokens, "access_token").to_string();
    let refresh = str_of(&tokens, "refresh_token").to_string();
    let results = join_all((0..BURST).map(|_| flow.refresh(&server, &refresh))).await;

    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one new pair: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }

    // The others presented a rotated token: the whole family is revoked, the new pair too,
    // and the reuse is audited once (one family, one revocation).
    let new_refresh = str_of(winners[0], "refresh_token");
    assert_ne!(new_refresh, refresh, "the winner got a rotated token");
    let (status, body) = flow.refresh(&server, new_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest refresh token of the family is dead: {body}"
    );
    for access in [str_of(winners[0], "access_token"), first_access.as_str()] {
        assert_eq!(userinfo_status(&flow.http, &server, access).await, 401);
    }
    assert_eq!(
        count_events(&server, "refresh_token_reuse_revoked_family").await,
        1
    );

    // The control family is untouched.
    assert_eq!(
        userinfo_status(&flow.http, &server, str_of(&control, "access_token")).await,
        200
    );
    let (status, body) = flow
        .refresh(&server, str_of(&control, "refresh_token"))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A notifier whose SMS wait until the test lets them go: a slow gateway.
struct HeldSms {
    inner: Arc<dyn verity::notify::Notifier>,
    release: Arc<tokio::sync::Semaphore>,
    waiting: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl verity::notify::Notifier for HeldSms {
    async fn send(&self, message: verity::notify::Message) -> anyhow::Result<()> {
        if message.channel == verity::notify::Channel::Sms {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let _go = self.release.acquire().await?;
        }
        self.inner.send(message).await
    }

    fn name(&self) -> &'static str {
        "held sms"
    }
}

async fn user_id_of(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::accounts::users::by_email(c, &email)?
                .expect("account")
                .id)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_idempotency_key_repeated_while_the_first_request_runs_gets_409_and_acts_once() {
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let waiting = Arc::new(AtomicUsize::new(0));
    let (r, w) = (release.clone(), waiting.clone());
    let server = TestServer::start_with_notifier(
        |_| {},
        move |inner| {
            Arc::new(HeldSms {
                inner,
                release: r,
                waiting: w,
            })
        },
    )
    .await;
    let (_, token) = admin_token(&server).await;
    let http = reqwest::Client::new();
    let email = "iva@example.com";
    server.create_account(&server.browser(), email).await;
    let uid = user_id_of(&server, email).await;
    let new_number = "+12015550177";
    let path = format!("/users/{uid}/phone-changes");
    let body = json!({
        "new_number": new_number,
        "channel": "sms",
        "identity_check": "document_video_call",
        "note": "VT-CONCUR01: passport checked on video call",
    });
    let key = "change-iva-1";
    let started_before = count_events(&server, "support_phone_change_started").await;

    // The phone-number metadata loads on first use, synchronously: seconds in a debug build,
    // during which the worker that runs it reads no other request (past 5 s, actix answers
    // 408 to a connection whose request it hasn't read). Load it here, not inside the burst.
    verity::mfa::phone::normalize(new_number, "US").expect("a valid number");

    // Twenty at once. The one that gets to act is held at the SMS gateway until the other
    // nineteen have their answers: those all arrive while the first is still running.
    let answered = AtomicUsize::new(0);
    let burst = join_all((0..BURST).map(|_| async {
        let reply = admin_post(&http, &server, &path, &token, &body, key).await;
        answered.fetch_add(1, Ordering::SeqCst);
        reply
    }));
    let gate = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while (answered.load(Ordering::SeqCst) < BURST - 1 || waiting.load(Ordering::SeqCst) < 1)
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Let everything go (several, should more than one have got through).
        release.add_permits(BURST);
    };
    let (replies, ()) = futures_util::future::join(burst, gate).await;

    assert_eq!(waiting.load(Ordering::SeqCst), 1, "one code was sent");
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "one request acted");
    assert!(created[0].headers.get("idempotent-replayed").is_none());
    for reply in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(reply.status, 409, "{}", reply.body);
        assert_eq!(reply.error(), "conflict", "{}", reply.body);
        assert_eq!(reply.field(), "Idempotency-Key", "{}", reply.body);
    }
    assert_eq!(server.outbox_for(new_number).await.len(), 1, "one SMS");
    assert_eq!(
        count_events(&server, "support_phone_change_started").await,
        started_before + 1,
        "one change started"
    );

    // Once it is done, a repeat gets the stored answer and still acts no more.
    let again = admin_post(&http, &server, &path, &token, &body, key).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, created[0].body);
    assert_eq!(server.outbox_for(new_number).await.len(), 1);
    assert_eq!(
        count_events(&server, "support_phone_change_started").await,
        started_before + 1
    );
}

#[actix_web::test]
async fn an_idempotency_key_sent_twenty_times_at_once_rotates_the_key_once() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let http = reqwest::Client::new();
    let keys_before = server
        .ctx
        .db
        .run(verity::keys::load_rows)
        .await
        .unwrap()
        .len();
    let rotated_before = count_events(&server, "signing_key_rotated").await;
    let body = json!({"activate_in_secs": 60});
    let replies = join_all((0..BURST).map(|_| {
        admin_post(
            &http,
            &server,
            "/keys/rotate",
            &token,
            &body,
            "rotate-at-once",
        )
    }))
    .await;

    // Each answer is the first one, the first one replayed, or "still running".
    let first: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == 201 && r.headers.get("idempotent-replayed").is_none())
        .collect();
    assert_eq!(first.len(), 1, "one request acted");
    for reply in &replies {
        match reply.status {
            201 => assert_eq!(reply.body, first[0].body, "a replay is the same answer"),
            409 => assert_eq!(reply.field(), "Idempotency-Key", "{}", reply.body),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    let keys_after = server
        .ctx
        .db
        .run(verity::keys::load_rows)
        .await
        .unwrap()
        .len();
    assert_eq!(keys_after, keys_before + 1, "rotated once");
    assert_eq!(
        count_events(&server, "signing_key_rotated").await,
        rotated_before + 1
    );
}

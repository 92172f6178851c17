//! README promises of the management API, deletion and back-channel logout that had no test
//! (issue 11 §3): what deleting a person removes, back-channel logout on disable and who
//! receives it, deliveries that survive a restart and stop at the configured maximum, the
//! support-assisted phone change's send and number limits and a failing gateway, which answers
//! an `Idempotency-Key` never keeps, and the support-ticket limit per contact address.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use openidconnect::OAuth2TokenResponse;
use reqwest::Method;
use serde_json::{json, Value};
use verity::oauth::clients::NewClient;

use crate::admin_harness::*;
use crate::harness::*;

/// Long enough that the server's own back-channel worker, after its first pass at start-up,
/// stays asleep for the whole test: the test drives `deliver_due` itself.
const WORKER_ASLEEP_MS: u64 = 3_600_000;

async fn user_id_of(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::accounts::users::by_email(c, &email)?
                .expect("user")
                .id)
        })
        .await
        .unwrap()
}

/// A confidential RP with the refresh grant and, if given, a back-channel logout URI.
async fn rp_client(
    server: &TestServer,
    name: &str,
    backchannel: Option<String>,
) -> (String, String) {
    let created = server
        .register(NewClient {
            name: name.into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            post_logout_redirect_uris: vec![RP_LOGOUT_REDIRECT.into()],
            backchannel_logout_uri: backchannel,
            ..Default::default()
        })
        .await;
    (created.client_id, created.client_secret.expect("secret"))
}

/// What an RP got from one code flow: tokens and the ID token's claims (verified).
struct Signed {
    access: String,
    refresh: Option<String>,
    id_claims: Value,
}

async fn sign_in_at_rp(
    server: &TestServer,
    browser: &Browser,
    client_id: &str,
    secret: &str,
    scopes: &[&str],
) -> Signed {
    use openidconnect::TokenResponse;
    let rp = server.rp(client_id, Some(secret)).await;
    let req = rp.auth_request(scopes);
    let callback = authorize_to_callback(browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("code exchange");
    rp.verify(&tokens, &req.nonce);
    let raw = tokens.id_token().expect("id token").to_string();
    let payload = raw.split('.').nth(1).unwrap();
    Signed {
        access: tokens.access_token().secret().to_string(),
        refresh: tokens.refresh_token().map(|r| r.secret().to_string()),
        id_claims: serde_json::from_slice(&verity::crypto::b64url_decode(payload).unwrap())
            .unwrap(),
    }
}

/// `POST /token` with a refresh token: the status and the JSON answer.
async fn refresh(server: &TestServer, client_id: &str, secret: &str, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn userinfo_status(server: &TestServer, access: &str) -> u16 {
    reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn count_rows(server: &TestServer, sql_table: &'static str, user: &str) -> i64 {
    let user = user.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::{account_resets, consents, user_emails};
            Ok(match sql_table {
                "consents" => consents::table
                    .filter(consents::user_id.eq(&user))
                    .count()
                    .get_result(c)?,
                "user_emails" => user_emails::table
                    .filter(user_emails::user_id.eq(&user))
                    .count()
                    .get_result(c)?,
                "account_resets" => account_resets::table
                    .filter(account_resets::user_id.eq(&user))
                    .count()
                    .get_result(c)?,
                other => panic!("no such table {other}"),
            })
        })
        .await
        .unwrap()
}

/// Adds `email` as an extra address in the console and confirms it from the emailed link.
async fn add_confirmed_address(server: &TestServer, browser: &Browser, email: &str) {
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", email)],
        )
        .await;
    assert_eq!(res.status(), 303, "address added");
    let link = server
        .link_from_outbox(email, "Confirm your new email")
        .await;
    let page = browser.get_abs(&link).await.text().await.unwrap();
    let res = browser
        .post(
            "/account/emails/confirm",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "address confirmed");
}

/// A person with only a phone asks for an account reset (password, "I don't have my phone",
/// the emailed link, Confirm) and it is filed.
async fn file_account_reset(server: &TestServer, email: &str) {
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let lost = b.get_ok("/mfa/lost-phone").await;
    let res = b
        .post(
            "/mfa/lost-phone/account-reset",
            &[("csrf", &csrf_of(&lost))],
        )
        .await;
    assert_eq!(res.status(), 200);
    let link = server
        .link_from_outbox(email, "Confirm your Verity account reset")
        .await;
    let page = b.get_ok(link.trim_start_matches(&server.base)).await;
    let res = b
        .post(
            "/account-reset/request",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your account reset is waiting"));
}

async fn delete_user(server: &TestServer, token: &str, uid: &str) {
    let r = call(
        server,
        Method::DELETE,
        &format!("/users/{uid}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["deleted"], true);
}

async fn found_by_email(server: &TestServer, token: &str, email: &str) -> Vec<String> {
    let r = call(
        server,
        Method::GET,
        &format!("/users?email={email}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn deleting_a_person_removes_consents_tokens_extra_addresses_and_a_waiting_reset() {
    // The test runs the reset worker's pass itself.
    let server =
        TestServer::start_with(|s| s.security.account_reset_poll_ms = WORKER_ASLEEP_MS).await;
    let (_, token) = admin_token(&server).await;
    let (client_id, secret) = rp_client(&server, "Tax Portal", None).await;
    let browser = person_with_phone(&server, "pia@example.com").await;
    let uid = user_id_of(&server, "pia@example.com").await;
    let signed = sign_in_at_rp(
        &server,
        &browser,
        &client_id,
        &secret,
        &["email", "offline_access"],
    )
    .await;
    add_confirmed_address(&server, &browser, "pia@work.example").await;
    file_account_reset(&server, "pia@example.com").await;

    // Before: everything works, and the extra address belongs to the account.
    let (status, body) = refresh(
        &server,
        &client_id,
        &secret,
        signed.refresh.as_deref().expect("an offline refresh token"),
    )
    .await;
    assert_eq!(status, 200, "the refresh token works before: {body}");
    let refresh_token = body["refresh_token"].as_str().unwrap().to_string();
    let access = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo_status(&server, &access).await, 200);
    assert_eq!(userinfo_status(&server, &signed.access).await, 200);
    assert_eq!(count_rows(&server, "consents", &uid).await, 1);
    assert_eq!(
        count_rows(&server, "user_emails", &uid).await,
        1,
        "the extra address"
    );
    assert_eq!(count_rows(&server, "account_resets", &uid).await, 1);
    assert_eq!(
        found_by_email(&server, &token, "pia@work.example").await,
        vec![uid.clone()]
    );
    // A sign-up with the extra address only tells its owner someone tried.
    let res = server
        .submit_sign_up(&server.browser(), "pia@work.example")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        server
            .wait_for_messages("pia@work.example", "Someone tried to sign up", 1)
            .await
            .len(),
        1
    );
    assert!(server
        .wait_for_messages("pia@work.example", "Confirm your email", 0)
        .await
        .is_empty());

    delete_user(&server, &token, &uid).await;

    // Consents, extra addresses and the waiting reset are gone.
    assert_eq!(count_rows(&server, "consents", &uid).await, 0);
    assert_eq!(count_rows(&server, "user_emails", &uid).await, 0);
    assert_eq!(count_rows(&server, "account_resets", &uid).await, 0);
    // The RP's tokens are dead: refresh is invalid_grant, access tokens are refused.
    let (status, body) = refresh(&server, &client_id, &secret, &refresh_token).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(userinfo_status(&server, &access).await, 401);
    assert_eq!(userinfo_status(&server, &signed.access).await, 401);

    // The extra address no longer finds the tombstone and is free for a new account.
    assert!(found_by_email(&server, &token, "pia@work.example")
        .await
        .is_empty());
    server
        .create_account(&server.browser(), "pia@work.example")
        .await;
    let new_owner = user_id_of(&server, "pia@work.example").await;
    assert_ne!(new_owner, uid);
    assert_eq!(
        found_by_email(&server, &token, "pia@work.example").await,
        vec![new_owner]
    );

    // No removal link comes after the wait, and nothing is removed or announced.
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.account_reset_wait_secs as i64 + 3600);
    let sent = verity::recovery::account_reset::send_due_links(&server.ctx)
        .await
        .unwrap();
    assert_eq!(sent, 0, "no removal link for a deleted account");
    assert!(!server
        .outbox_for("pia@example.com")
        .await
        .iter()
        .any(|m| m.subject.contains("You can now reset")));
    assert!(audit_events_of_kind(&server, "account_reset_completed")
        .await
        .is_empty());
}

#[actix_web::test]
async fn a_reset_link_mailed_before_the_deletion_does_nothing_after_it() {
    let server =
        TestServer::start_with(|s| s.security.account_reset_poll_ms = WORKER_ASLEEP_MS).await;
    let (agent, agent_secret) = admin_client(&server, &["verity:admin"]).await;
    person_with_phone(&server, "quin@example.com").await;
    let uid = user_id_of(&server, "quin@example.com").await;
    file_account_reset(&server, "quin@example.com").await;
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.account_reset_wait_secs as i64 + 1);
    let sent = verity::recovery::account_reset::send_due_links(&server.ctx)
        .await
        .unwrap();
    assert_eq!(sent, 1, "the wait is over: the removal link is mailed");
    let link = server
        .link_from_outbox("quin@example.com", "You can now reset")
        .await;
    let path = link.trim_start_matches(&server.base).to_string();
    assert_eq!(
        server.browser().get(&path).await.status(),
        200,
        "the link works before the deletion"
    );

    let token = client_token(&server, &agent, &agent_secret, None).await;
    delete_user(&server, &token, &uid).await;

    assert_eq!(server.browser().get(&path).await.status(), 400);
    let token_value = query_of(&link)["token"].clone();
    let actor = verity::audit::Actor {
        ip: "192.0.2.7".into(),
        user_agent: "t".into(),
    };
    let outcome = verity::recovery::account_reset::complete(&server.ctx, &token_value, &actor)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        verity::recovery::account_reset::Completed::InvalidLink
    );
    assert!(audit_events_of_kind(&server, "account_reset_completed")
        .await
        .is_empty());
    assert!(!server
        .outbox_for("quin@example.com")
        .await
        .iter()
        .any(|m| m.subject.contains("sign-in methods were removed")));
}

/// A relying party's back-channel endpoint: answers with the queued statuses (then
/// `then_status`) and records every body it receives.
struct Listener {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
}

impl Listener {
    async fn start(statuses: Vec<u16>, then_status: u16) -> Listener {
        let (url, received) = start_backchannel_listener(statuses, then_status).await;
        Listener { url, received }
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The logout tokens received so far.
    fn tokens(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|body| {
                url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned())
                    .expect("logout_token in the form body")
            })
            .collect()
    }

    /// Waits (up to 10 s) for `n` requests.
    async fn wait_for(&self, n: usize) -> bool {
        for _ in 0..100 {
            if self.count() >= n {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }
}

/// Verifies a logout token as the RP `client_id` must (signature against the JWKS at
/// `jwks_from`, issuer, audience, type) and returns its claims.
async fn verify_logout_token(jwks_from: &str, issuer: &str, client_id: &str, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{jwks_from}/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("key in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[issuer]);
    validation.validate_exp = false; // the test clock may have moved
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the logout token verifies")
        .claims;
    assert!(claims["events"][verity::oauth::logout::BACKCHANNEL_EVENT].is_object());
    assert!(claims.get("nonce").is_none());
    claims
}

#[derive(Debug, PartialEq)]
struct DeliveryRow {
    client_id: String,
    attempts: i32,
    delivered: bool,
    last_error: Option<String>,
}

async fn deliveries(server: &TestServer) -> Vec<DeliveryRow> {
    server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::logout_deliveries as d;
            let rows: Vec<(String, i32, Option<chrono::NaiveDateTime>, Option<String>)> = d::table
                .order(d::created_at.asc())
                .select((d::client_id, d::attempts, d::delivered_at, d::last_error))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(client_id, attempts, at, last_error)| DeliveryRow {
                    client_id,
                    attempts,
                    delivered: at.is_some(),
                    last_error,
                })
                .collect())
        })
        .await
        .unwrap()
}

async fn sign_out(browser: &Browser) {
    let home = browser.get_ok("/").await;
    let res = browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    assert_eq!(res.status(), 303);
    assert!(!browser.get_ok("/").await.contains("Signed in as"));
}

#[actix_web::test]
async fn disabling_a_person_logs_them_out_at_each_rp_they_used_and_nowhere_else() {
    let server =
        TestServer::start_with(|s| s.security.backchannel_poll_ms = WORKER_ASLEEP_MS).await;
    let (_, token) = admin_token(&server).await;
    let (a, b, c) = (
        Listener::start(vec![], 200).await,
        Listener::start(vec![], 200).await,
        Listener::start(vec![], 200).await,
    );
    let (rp_a, secret_a) = rp_client(&server, "Tax Portal", Some(a.url.clone())).await;
    let (rp_b, secret_b) = rp_client(&server, "Benefits", Some(b.url.clone())).await;
    // Registered with a back-channel URI, but this person never signed in to it.
    let (rp_c, secret_c) = rp_client(&server, "Licences", Some(c.url.clone())).await;
    // Used by the person, but without a back-channel URI.
    let (rp_d, secret_d) = rp_client(&server, "Parking", None).await;

    let browser = server.signed_in_browser("rae@example.com").await;
    let uid = user_id_of(&server, "rae@example.com").await;
    let at_a = sign_in_at_rp(&server, &browser, &rp_a, &secret_a, &["email"]).await;
    let at_b = sign_in_at_rp(&server, &browser, &rp_b, &secret_b, &["email"]).await;
    sign_in_at_rp(&server, &browser, &rp_d, &secret_d, &["email"]).await;
    // Someone else uses the third RP: their session is not this person's.
    let other = server.signed_in_browser("sol@example.com").await;
    sign_in_at_rp(&server, &other, &rp_c, &secret_c, &["email"]).await;
    assert!(deliveries(&server).await.is_empty());

    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/disable"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active_sessions"], 0);

    // One delivery queued per RP that took part and has a URI; one worker pass sends them.
    let queued = deliveries(&server).await;
    let mut queued_for: Vec<&str> = queued.iter().map(|d| d.client_id.as_str()).collect();
    queued_for.sort();
    let mut expected = vec![rp_a.as_str(), rp_b.as_str()];
    expected.sort();
    assert_eq!(queued_for, expected);
    let sent = verity::oauth::logout::deliver_due(&server.ctx)
        .await
        .unwrap();
    assert_eq!(sent, 2);
    assert!(deliveries(&server)
        .await
        .iter()
        .all(|d| d.delivered && d.attempts == 1));

    // Each RP that was used gets one valid logout token for this person's sub and session.
    for (listener, rp, at) in [(&a, &rp_a, &at_a), (&b, &rp_b, &at_b)] {
        let tokens = listener.tokens();
        assert_eq!(tokens.len(), 1, "one logout token for {rp}");
        let claims = verify_logout_token(&server.base, &server.base, rp, &tokens[0]).await;
        assert_eq!(claims["sub"], at.id_claims["sub"]);
        assert_eq!(claims["sid"], at.id_claims["sid"]);
    }
    assert_eq!(c.count(), 0, "an RP the person never used hears nothing");

    // Their sessions are over; the other person's is not.
    let res = browser.get("/account").await;
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    assert!(other.get_ok("/").await.contains("Signed in as"));
    assert_eq!(
        audit_events_of_kind(&server, "user_disabled").await.len(),
        1
    );
}

#[actix_web::test]
async fn a_pending_back_channel_delivery_is_sent_by_a_new_server_on_the_same_database() {
    let listener = Listener::start(vec![], 200).await;
    let first = TestServer::start_with(|s| s.security.backchannel_poll_ms = WORKER_ASLEEP_MS).await;
    let (rp, secret) = rp_client(&first, "Tax Portal", Some(listener.url.clone())).await;
    let browser = first.signed_in_browser("tia@example.com").await;
    let at_rp = sign_in_at_rp(&first, &browser, &rp, &secret, &["email"]).await;
    sign_out(&browser).await;
    assert_eq!(
        deliveries(&first).await,
        vec![DeliveryRow {
            client_id: rp.clone(),
            attempts: 0,
            delivered: false,
            last_error: None,
        }],
        "queued, not yet sent"
    );
    assert_eq!(listener.count(), 0);

    // A new server (new process state: store, caches, workers) on the same database and
    // configuration picks the delivery up.
    let url = first.ctx.settings.database_url();
    let master = first.ctx.settings.master_key.clone();
    let issuer = first.base.clone();
    let second = TestServer::start_with(move |s| {
        s.database_url = Some(url);
        s.master_key = master;
        s.issuer = issuer;
        s.security.backchannel_poll_ms = 100;
    })
    .await;
    assert!(listener.wait_for(1).await, "delivered by the new server");
    let claims = verify_logout_token(&second.base, &first.base, &rp, &listener.tokens()[0]).await;
    assert_eq!(claims["sub"], at_rp.id_claims["sub"]);
    assert_eq!(claims["sid"], at_rp.id_claims["sid"]);
    let rows = deliveries(&second).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].delivered);
    assert_eq!(rows[0].attempts, 1);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(listener.count(), 1, "delivered once");
}

#[actix_web::test]
async fn a_failing_delivery_stops_at_the_configured_maximum_of_attempts() {
    let listener = Listener::start(vec![], 500).await;
    let max = 3;
    let server = TestServer::start_with(|s| {
        s.security.backchannel_poll_ms = WORKER_ASLEEP_MS;
        s.security.backchannel_retry_base_secs = 5;
        s.security.backchannel_max_attempts = max;
    })
    .await;
    let (rp, secret) = rp_client(&server, "Tax Portal", Some(listener.url.clone())).await;
    let browser = server.signed_in_browser("uma@example.com").await;
    sign_in_at_rp(&server, &browser, &rp, &secret, &["email"]).await;
    sign_out(&browser).await;

    for attempt in 1..=max {
        let sent = verity::oauth::logout::deliver_due(&server.ctx)
            .await
            .unwrap();
        assert_eq!(sent, 0, "the RP answers 500");
        assert_eq!(listener.count(), attempt as usize, "attempt {attempt} made");
        let row = &deliveries(&server).await[0];
        assert_eq!(row.attempts, attempt as i32);
        assert!(!row.delivered);
        assert!(
            row.last_error.as_deref().unwrap_or("").contains("HTTP 500"),
            "{row:?}"
        );
        // Not again before the backoff is over.
        verity::oauth::logout::deliver_due(&server.ctx)
            .await
            .unwrap();
        assert_eq!(
            listener.count(),
            attempt as usize,
            "no retry within the backoff"
        );
        server.ctx.clock.advance(3601);
    }
    // Given up: however long we wait, no further request, and the row stays as it was.
    for _ in 0..3 {
        server.ctx.clock.advance(86400);
        verity::oauth::logout::deliver_due(&server.ctx)
            .await
            .unwrap();
    }
    assert_eq!(listener.count(), max as usize);
    let row = &deliveries(&server).await[0];
    assert_eq!(row.attempts, max as i32);
    assert!(!row.delivered);
}

const OLD: &str = "+12015550123";
const N1: &str = "+12015550146";
const N2: &str = "+12015550147";
const N3: &str = "+12015550148";
const N4: &str = "+12015550149";

/// An account with a confirmed email and the phone OLD (no sign-in yet).
async fn account_with_phone(server: &TestServer, email: &str) -> String {
    server.create_account(&server.browser(), email).await;
    let uid = user_id_of(server, email).await;
    add_phone(server, &uid, OLD).await;
    uid
}

async fn add_phone(server: &TestServer, uid: &str, number: &str) -> String {
    let (uid, master, now, number) = (
        uid.to_string(),
        server.ctx.master.clone(),
        server.ctx.clock.now(),
        number.to_string(),
    );
    server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::mfa::methods::add_phone(
                c,
                &master,
                now,
                &uid,
                &number,
                verity::mfa::methods::PhoneChannel::Sms,
            )?
            .id)
        })
        .await
        .unwrap()
}

fn change_to(number: &str) -> Value {
    json!({
        "new_number": number,
        "channel": "sms",
        "identity_check": "in_person",
        "note": "VT-AB12CD34: at the desk",
    })
}

async fn start_change(server: &TestServer, token: &str, uid: &str, number: &str) -> Reply {
    call(
        server,
        Method::POST,
        &format!("/users/{uid}/phone-changes"),
        Some(token),
        Some(change_to(number)),
    )
    .await
}

#[actix_web::test]
async fn support_phone_change_codes_obey_the_send_limits_per_account_and_per_number() {
    // Windows long enough that none runs out during the test (they live in the store).
    let server = TestServer::start_with(|s| {
        s.security.otp_sends_per_short_window = 2;
        s.security.otp_short_window_secs = 3600;
    })
    .await;
    let (_, token) = admin_token(&server).await;
    let ana = account_with_phone(&server, "ana@example.com").await;
    let bo = account_with_phone(&server, "bo@example.com").await;
    let cy = account_with_phone(&server, "cy@example.com").await;

    // Per account: two codes, then the third is refused and not sent.
    for number in [N1, N2] {
        let r = start_change(&server, &token, &ana, number).await;
        assert_eq!(r.status, 201, "{number}: {}", r.body);
    }
    let r = start_change(&server, &token, &ana, N3).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error(), "too_many_requests");
    assert!(!r.body["message"].as_str().unwrap().is_empty());
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    assert!(server.outbox_for(N3).await.is_empty(), "no code sent");

    // Per number: N1 had one code (for ana); bo's is the second; cy, a fresh account, is
    // refused for N1 but may use another number.
    let r = start_change(&server, &token, &bo, N1).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = start_change(&server, &token, &cy, N1).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error(), "too_many_requests");
    assert_eq!(server.outbox_for(N1).await.len(), 2, "two codes to N1");
    let r = start_change(&server, &token, &cy, N4).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(server.outbox_for(N4).await.len(), 1);
    assert_eq!(
        audit_events_of_kind(&server, "support_phone_change_started")
            .await
            .len(),
        4,
        "only the changes whose code went out were started"
    );
}

#[actix_web::test]
async fn support_phone_change_refuses_a_number_shared_by_too_many_accounts_and_a_phone_too_many() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let sec = server.ctx.settings.security.clone();
    let target = account_with_phone(&server, "dee@example.com").await;

    // The number is confirmed on one account fewer than the limit: accepted.
    let mut others = vec![];
    for i in 0..sec.max_accounts_per_phone {
        let email = format!("other{i}@example.com");
        server.create_account(&server.browser(), &email).await;
        others.push(user_id_of(&server, &email).await);
    }
    for uid in &others[..others.len() - 1] {
        add_phone(&server, uid, N1).await;
    }
    let r = start_change(&server, &token, &target, N1).await;
    assert_eq!(r.status, 201, "inside the limit: {}", r.body);
    // One more account confirms it: now refused, naming the field, and no code goes out.
    add_phone(&server, others.last().unwrap(), N1).await;
    let codes_to_n1 = server.outbox_for(N1).await.len();
    let r = start_change(&server, &token, &target, N1).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error(), "validation_failed");
    assert_eq!(r.field(), "new_number");
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("used by several other accounts"));
    assert_eq!(server.outbox_for(N1).await.len(), codes_to_n1);

    // Per account: adding a phone past the most an account may have is refused; replacing one
    // is still possible.
    let numbers = [
        "+12015550161",
        "+12015550162",
        "+12015550163",
        "+12015550164",
    ];
    for n in numbers.iter().take(sec.max_phones_per_account as usize - 1) {
        add_phone(&server, &target, n).await;
    }
    let r = start_change(&server, &token, &target, N2).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.field(), "new_number");
    assert!(r.body["message"].as_str().unwrap().contains("the most"));
    assert!(server.outbox_for(N2).await.is_empty());
    let detail = call(
        &server,
        Method::GET,
        &format!("/users/{target}"),
        Some(&token),
        None,
    )
    .await;
    let replace = detail.body["phones"][0]["id"].as_str().unwrap().to_string();
    let mut body = change_to(N2);
    body["replace_phone_id"] = json!(replace);
    let r = call(
        &server,
        Method::POST,
        &format!("/users/{target}/phone-changes"),
        Some(&token),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "replacing is fine: {}", r.body);
}

/// An SMS/voice gateway that can be taken down and brought back; email is unaffected.
struct SwitchableGateway {
    inner: Arc<dyn verity::notify::Notifier>,
    down: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl verity::notify::Notifier for SwitchableGateway {
    async fn send(&self, message: verity::notify::Message) -> anyhow::Result<()> {
        if message.channel != verity::notify::Channel::Email && self.down.load(Ordering::SeqCst) {
            anyhow::bail!("gateway answered 503");
        }
        self.inner.send(message).await
    }

    fn name(&self) -> &'static str {
        "switchable gateway"
    }
}

async fn idempotency_rows(server: &TestServer) -> i64 {
    server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::idempotency_keys;
            Ok(idempotency_keys::table.count().get_result(c)?)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_failing_gateway_gets_503_which_is_not_kept_for_the_idempotency_key() {
    let down = Arc::new(AtomicBool::new(true));
    let switch = down.clone();
    let server = TestServer::start_with_notifier(
        |s| s.security.otp_short_window_secs = 3600,
        move |inner| {
            Arc::new(SwitchableGateway {
                inner,
                down: switch,
            })
        },
    )
    .await;
    let (_, token) = admin_token(&server).await;
    let uid = account_with_phone(&server, "eli@example.com").await;
    let path = format!("/users/{uid}/phone-changes");
    let key = [("Idempotency-Key", "eli-phone-1")];
    let sends = server.ctx.settings.security.otp_sends_per_short_window;

    // More failures than the send limit allows: each is a 503 with a JSON error, none is
    // replayed, none costs a send slot, nothing is kept.
    for _ in 0..=sends {
        let r = call_with(
            &server,
            Method::POST,
            &path,
            Some(&token),
            Some(change_to(N1)),
            &key,
        )
        .await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.error(), "unavailable");
        assert!(r.body["message"].as_str().unwrap().contains("gateway"));
        assert!(r.headers.get("idempotent-replayed").is_none());
    }
    assert_eq!(idempotency_rows(&server).await, 0);
    assert!(server.outbox_for(N1).await.is_empty());
    assert!(
        audit_events_of_kind(&server, "support_phone_change_started")
            .await
            .is_empty()
    );

    // The gateway is back: the same key and request act.
    down.store(false, Ordering::SeqCst);
    let started = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(change_to(N1)),
        &key,
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.body["status"], "code_sent");
    assert_eq!(server.outbox_for(N1).await.len(), 1);
    // A repeat is the stored answer; another request with the key is a conflict.
    let again = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(change_to(N1)),
        &key,
    )
    .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, started.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(change_to(N2)),
        &key,
    )
    .await;
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.error(), "conflict");
    assert_eq!(other.field(), "Idempotency-Key");
    assert_eq!(server.outbox_for(N1).await.len(), 1, "one code");
    assert!(server.outbox_for(N2).await.is_empty());
    assert_eq!(
        audit_events_of_kind(&server, "support_phone_change_started")
            .await
            .len(),
        1
    );
    assert_eq!(idempotency_rows(&server).await, 1);
}

#[actix_web::test]
async fn idempotency_never_keeps_a_401_403_or_429_so_the_fixed_retry_acts() {
    let server = TestServer::start().await;
    let (agent, secret) = admin_client(&server, &["verity:admin"]).await;
    let expired = client_token(&server, &agent, &secret, None).await;
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.access_token_ttl_secs as i64 + 1);
    let token = client_token(&server, &agent, &secret, None).await;
    let keys_only = client_token(&server, &agent, &secret, Some("verity:admin:keys")).await;
    let uid = account_with_phone(&server, "fox@example.com").await;
    let disable = format!("/users/{uid}/disable");

    // 401 (expired token), then 403 (this agent's token without the users scope), with one key.
    let key = [("Idempotency-Key", "disable-fox")];
    let r = call_with(&server, Method::POST, &disable, Some(&expired), None, &key).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = call_with(
        &server,
        Method::POST,
        &disable,
        Some(&keys_only),
        None,
        &key,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.error(), "forbidden");
    assert_eq!(idempotency_rows(&server).await, 0);
    assert!(audit_events_of_kind(&server, "user_disabled")
        .await
        .is_empty());
    // With the right token the same key acts, and is kept from then on.
    let r = call_with(&server, Method::POST, &disable, Some(&token), None, &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.get("idempotent-replayed").is_none());
    assert_eq!(r.body["disabled"], true);
    assert_eq!(
        audit_events_of_kind(&server, "user_disabled").await.len(),
        1
    );
    let r = call_with(&server, Method::POST, &disable, Some(&token), None, &key).await;
    assert_eq!(r.headers["idempotent-replayed"], "true");
    assert_eq!(
        audit_events_of_kind(&server, "user_disabled").await.len(),
        1
    );
    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/enable"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200);

    // 429: the right code while the second factor is locked; after an unlock the same key acts.
    let started = start_change(&server, &token, &uid, N1).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let code: String = server.outbox_for(N1).await[0]
        .body
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = format!(
        "/users/{uid}/phone-changes/{}/confirm",
        started.body["id"].as_str().unwrap()
    );
    for _ in 0..server.ctx.settings.security.mfa_max_failures {
        call(
            &server,
            Method::POST,
            &confirm,
            Some(&token),
            Some(json!({"code": wrong})),
        )
        .await;
    }
    let key = [("Idempotency-Key", "confirm-fox")];
    let body = Some(json!({"code": code}));
    let r = call_with(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        body.clone(),
        &key,
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error(), "too_many_requests");
    assert!(audit_events_of_kind(&server, "phone_added")
        .await
        .is_empty());
    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/unlock"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call_with(&server, Method::POST, &confirm, Some(&token), body, &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.get("idempotent-replayed").is_none());
    assert_eq!(r.body["status"], "completed");
    assert_eq!(audit_events_of_kind(&server, "phone_added").await.len(), 1);
}

async fn tickets_for(server: &TestServer, email: &str) -> i64 {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::support_tickets as t;
            Ok(t::table
                .filter(t::contact_email.eq(email))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap()
}

/// Submits "Contact support" as a visitor at `ip` (through the trusted local proxy).
async fn contact_from(server: &TestServer, ip: &str, email: &str) -> u16 {
    let browser = server.browser();
    let page = browser.get_ok("/support").await;
    browser
        .post_via_proxy(
            "/support",
            &[
                ("csrf", &csrf_of(&page)),
                ("category", "other"),
                ("contact_email", email),
                ("message", "Please help me get back in."),
            ],
            ip,
        )
        .await
        .status()
        .as_u16()
}

#[actix_web::test]
async fn support_tickets_are_limited_per_contact_address_whatever_the_ip() {
    let server = TestServer::start_with(|s| {
        s.trust_forwarded_for = true;
        s.security.support_tickets_per_hour = 2;
    })
    .await;
    let target = "vic@example.com";
    assert_eq!(contact_from(&server, "203.0.113.1", target).await, 200);
    assert_eq!(contact_from(&server, "203.0.113.2", target).await, 200);
    // The third for the same address (however it is written), from yet another IP: refused.
    assert_eq!(
        contact_from(&server, "203.0.113.3", " Vic@Example.COM ").await,
        429
    );
    assert_eq!(tickets_for(&server, target).await, 2);
    assert_eq!(
        server
            .wait_for_messages(target, "We received your message", 2)
            .await
            .len(),
        2,
        "two acknowledgements, not three"
    );
    // Positive control: that IP may still write about another address.
    assert_eq!(
        contact_from(&server, "203.0.113.3", "wyn@example.com").await,
        200
    );
    assert_eq!(tickets_for(&server, "wyn@example.com").await, 1);
}

//! Two nodes on one database and one store, as behind a load balancer: a sign-in moves between
//! them, a refresh works on either, a key rotated on one is used by the other, and each
//! back-channel logout and service notice is delivered once with both nodes' workers running.
//! On SQLite + memory the nodes share the file and the store instance; on PostgreSQL + Redis
//! each connects itself.

use std::time::Duration;

use serde_json::{json, Value};

use crate::admin_harness::admin_token;
use crate::admin_notices::{progress, received, seed_people, send, EVERYONE, SUBJECT};
use crate::harness::*;
use crate::keys::{jwks_kids_at, kid_of};
use crate::logout::{add_client_with_logout, deliveries, id_token_for};

async fn token_at(
    base: &str,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = res.status().as_u16();
    (status, res.json().await.expect("token JSON"))
}

async fn userinfo_at(base: &str, access_token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn a_sign_in_started_on_one_node_finishes_on_the_other_and_refresh_works_on_both() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let email = "kai@example.com";
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let on_a = Browser::with_jar(&a.base, "VerityTest/1.0", jar.clone());
    let on_b = Browser::with_jar(&b.base, "VerityTest/1.0", jar);
    a.create_account(&on_a, email).await;
    let (client_id, secret) = a.add_client(false).await;
    let secret = secret.expect("a confidential client");
    let rp = a.rp(&client_id, Some(&secret)).await;
    let request = rp.auth_request(&["openid", "email", "offline_access"]);

    // /authorize on A, the password on B, the second factor on A, consent on B.
    let res = on_a.get_abs(&request.url).await;
    let login = res.headers()["location"].to_str().unwrap().to_string();
    let page = on_b.get_ok(&login).await;
    assert!(
        page.contains("to continue to Tax Portal"),
        "B knows A's request"
    );
    let res = submit_password(&on_b, &page, email, PASSWORD).await;
    let res = a.pass_second_factor(&on_a, email, res).await;
    assert!(is_signed_in(&res), "A finishes B's sign-in");
    let next = res.headers()["location"].to_str().unwrap().to_string();
    let url = back_to_the_app(&on_b, on_b.get(&next).await).await;
    let query = query_of(&url);
    assert_eq!(query["state"], *request.state.secret());

    // The code is redeemed at B; the ID token verifies as the RP would check it.
    let (status, tokens) = token_at(
        &b.base,
        &client_id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", request.verifier.secret()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("offline access")
        .to_string();

    // Refresh at A, then at B with the rotated token; the first token again (at either node)
    // is a reuse: the family is revoked everywhere.
    let (status, at_a) = token_at(
        &a.base,
        &client_id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "{at_a}");
    let rotated = at_a["refresh_token"].as_str().unwrap().to_string();
    let (status, at_b) = token_at(
        &b.base,
        &client_id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &rotated)],
    )
    .await;
    assert_eq!(status, 200, "{at_b}");
    let (status, userinfo) = userinfo_at(&a.base, at_b["access_token"].as_str().unwrap()).await;
    assert_eq!((status, userinfo["email"].as_str()), (200, Some(email)));
    let (status, reuse) = token_at(
        &b.base,
        &client_id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, reuse["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let latest = at_b["refresh_token"].as_str().unwrap();
    let (status, _) = token_at(
        &a.base,
        &client_id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", latest)],
    )
    .await;
    assert_eq!(
        status, 400,
        "the whole family is revoked, on the other node too"
    );
    b.stop().await;
}

#[actix_web::test]
async fn a_key_rotated_on_one_node_is_published_and_trusted_by_the_other() {
    let a = TestServer::start_with(|s| s.security.key_refresh_secs = 1).await;
    let b = a.second_node().await;
    verity::cli::spawn_key_refresh(b.ctx.clone());
    let before = jwks_kids_at(&b.base).await;
    assert_eq!(before.len(), 1);

    // Rotated on A to sign at once (an operator's emergency rotation).
    let row = a.ctx.rotate_keys(Duration::ZERO).await.expect("rotate");
    assert!(jwks_kids_at(&a.base).await.contains(&row.id));
    // B picks it up on its next refresh (bounded wait: the refresh runs every second).
    let mut waited = 0;
    while !jwks_kids_at(&b.base).await.contains(&row.id) {
        assert!(waited < 150, "B published the new key within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }

    // A token A signs with the new key is accepted by B.
    let browser = a.signed_in_browser("lea@example.com").await;
    let (client_id, secret) = a.add_client(false).await;
    let rp = a.rp(&client_id, secret.as_deref()).await;
    let req = rp.auth_request(&["openid", "email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("exchange");
    let access = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .to_string();
    assert_eq!(kid_of(&access), row.id, "signed with the new key");
    let (status, claims) = userinfo_at(&b.base, &access).await;
    assert_eq!(
        (status, claims["email"].as_str()),
        (200, Some("lea@example.com"))
    );
    b.stop().await;
}

#[actix_web::test]
async fn each_back_channel_logout_is_delivered_once_with_both_nodes_delivering() {
    let (url, received_bodies) = start_backchannel_listener(vec![], 200).await;
    let a = TestServer::start_with(|s| s.security.backchannel_poll_ms = 20).await;
    let b = a.second_node().await;
    let mut expected = 0;
    for n in 0..3 {
        let (client_id, secret) = add_client_with_logout(&a, Some(url.clone())).await;
        let browser = a.signed_in_browser(&format!("mo{n}@example.com")).await;
        id_token_for(&a, &browser, &client_id, &secret).await;
        let home = browser.get_ok("/").await;
        browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
        expected += 1;
        // Both nodes' passes race for the same delivery, besides their workers.
        let (x, y) = tokio::join!(
            verity::oauth::logout::deliver_due(&a.ctx),
            verity::oauth::logout::deliver_due(&b.ctx)
        );
        let _ = (x.expect("pass on A"), y.expect("pass on B"));
    }
    let mut waited = 0;
    while deliveries(&a).await.iter().any(|d| !d.2) {
        assert!(waited < 200, "every delivery done within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    // A few more passes of both workers find nothing left to send.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(received_bodies.lock().unwrap().len(), expected, "once each");
    b.stop().await;
}

#[actix_web::test]
async fn a_service_notice_reaches_each_person_once_with_both_nodes_sending() {
    let a = TestServer::start_with(|s| {
        s.support.notice_batch_size = 1;
        s.support.notice_poll_ms = 20;
    })
    .await;
    let b = a.second_node().await;
    let (_, token) = admin_token(&a).await;
    seed_people(&a).await;
    let notice = send(&a, &token, json!({ "subject": SUBJECT, "body": "Hello." })).await;
    let id = notice["id"].as_str().unwrap();
    // Both nodes' batch runners race, besides their workers.
    for _ in 0..4 {
        let (x, y) = tokio::join!(
            verity::support::notices::run_notice_batch(&a.ctx),
            verity::support::notices::run_notice_batch(&b.ctx)
        );
        let _ = (x.expect("batch on A"), y.expect("batch on B"));
    }
    let mut waited = 0;
    while progress(&a, &token, id).await["completed"] != true {
        assert!(waited < 200, "the notice finished within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    for to in EVERYONE {
        assert_eq!(received(&a, to, SUBJECT).await, 1, "{to}");
    }
    b.stop().await;
}

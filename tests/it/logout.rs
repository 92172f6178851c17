//! RP-initiated logout and back-channel logout.

use crate::harness::*;
use openidconnect::TokenResponse;

pub(crate) async fn add_client_with_logout(
    server: &TestServer,
    backchannel: Option<String>,
) -> (String, String) {
    let settings = server.ctx.settings.clone();
    let now = server.ctx.clock.now();
    let created = server
        .ctx
        .db
        .run(move |c| {
            verity::oauth::clients::add(
                c,
                &settings,
                now,
                verity::oauth::clients::NewClient {
                    name: "Benefits".into(),
                    redirect_uris: vec![RP_REDIRECT.into()],
                    public: false,
                    scopes: vec![],
                    grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                    admin: false,
                    post_logout_redirect_uris: vec![RP_LOGOUT_REDIRECT.into()],
                    backchannel_logout_uri: backchannel,
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap();
    (created.client_id, created.client_secret.unwrap())
}

pub(crate) async fn id_token_for(
    server: &TestServer,
    browser: &Browser,
    client_id: &str,
    secret: &str,
) -> (String, serde_json::Value) {
    let rp = server.rp(client_id, Some(secret)).await;
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    rp.verify(&tokens, &req.nonce);
    let raw = tokens.id_token().unwrap().to_string();
    let payload = raw.split('.').nth(1).unwrap();
    let claims = serde_json::from_slice(&verity::crypto::b64url_decode(payload).unwrap()).unwrap();
    (raw, claims)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn rp_initiated_logout_with_a_matching_hint_signs_out_and_returns_with_state() {
    let server = TestServer::start().await;
    let (client_id, secret) = add_client_with_logout(&server, None).await;
    let browser = server.signed_in_browser("eva@example.com").await;
    let (id_token, _) = id_token_for(&server, &browser, &client_id, &secret).await;

    // An unregistered post_logout_redirect_uri: an error page, no redirect, still signed in.
    let res = browser
        .get(&format!(
            "/end-session?id_token_hint={}&post_logout_redirect_uri={}&state=s1",
            enc(&id_token),
            enc("https://evil.example/after")
        ))
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    assert!(browser.get_ok("/").await.contains("Signed in as"));

    let res = browser
        .get(&format!(
            "/end-session?id_token_hint={}&post_logout_redirect_uri={}&state=s2",
            enc(&id_token),
            enc(RP_LOGOUT_REDIRECT)
        ))
        .await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(RP_LOGOUT_REDIRECT));
    assert_eq!(query_of(&location)["state"], "s2");
    assert!(!browser.get_ok("/").await.contains("Signed in as"));
}

#[actix_web::test]
async fn rp_initiated_logout_without_a_hint_asks_first() {
    let server = TestServer::start().await;
    let (client_id, _) = add_client_with_logout(&server, None).await;
    let browser = server.signed_in_browser("fin@example.com").await;
    let res = browser
        .get(&format!(
            "/end-session?client_id={client_id}&post_logout_redirect_uri={}",
            enc(RP_LOGOUT_REDIRECT)
        ))
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Sign out of Verity?"));
    assert!(page.contains("Benefits"));
    assert!(
        browser.get_ok("/").await.contains("Signed in as"),
        "nothing happens without confirmation"
    );
    let missing_csrf = browser
        .post(
            "/end-session/confirm",
            &[
                ("client_id", &client_id),
                ("post_logout_redirect_uri", RP_LOGOUT_REDIRECT),
            ],
        )
        .await;
    assert_eq!(missing_csrf.status(), 403);
    let res = browser
        .post(
            "/end-session/confirm",
            &[
                ("csrf", &csrf_of(&page)),
                ("client_id", &client_id),
                ("post_logout_redirect_uri", RP_LOGOUT_REDIRECT),
                ("state", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(!browser.get_ok("/").await.contains("Signed in as"));
    // A forged hint is refused outright.
    let res = browser
        .get("/end-session?id_token_hint=eyJhbGciOiJSUzI1NiJ9.e30.AAAA")
        .await;
    assert_eq!(res.status(), 400);
}

/// The queued back-channel deliveries: (attempts, next_attempt_at, delivered, last_error).
pub(crate) async fn deliveries(
    server: &TestServer,
) -> Vec<(i32, chrono::NaiveDateTime, bool, Option<String>)> {
    server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::logout_deliveries as d;
            Ok(d::table
                .select((
                    d::attempts,
                    d::next_attempt_at,
                    d::delivered_at,
                    d::last_error,
                ))
                .load::<(
                    i32,
                    chrono::NaiveDateTime,
                    Option<chrono::NaiveDateTime>,
                    Option<String>,
                )>(c)?
                .into_iter()
                .map(|(a, n, done, e)| (a, n, done.is_some(), e))
                .collect())
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn backchannel_logout_token_is_delivered_verified_retried_after_the_backoff_and_only_once() {
    let (url, received) = start_backchannel_listener(vec![500], 200).await;
    // The background worker makes its first pass at start and then sleeps for an hour: this
    // test runs the passes itself.
    let server = TestServer::start_with(|s| {
        s.security.backchannel_poll_ms = 3_600_000;
        s.security.backchannel_retry_base_secs = 5;
    })
    .await;
    let (client_id, secret) = add_client_with_logout(&server, Some(url)).await;
    let browser = server.signed_in_browser("gus@example.com").await;
    let (_, id_claims) = id_token_for(&server, &browser, &client_id, &secret).await;
    let home = browser.get_ok("/").await;
    browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    let queued = deliveries(&server).await;
    assert_eq!(queued.len(), 1, "one delivery queued for the one RP");
    assert_eq!((queued[0].0, queued[0].2), (0, false));
    assert!(received.lock().unwrap().is_empty(), "nothing sent yet");

    // First attempt fails (the listener answers 500): retried after base · 2^1 = 10 s.
    let pass = || verity::oauth::logout::deliver_due(&server.ctx);
    // (Less a millisecond: PostgreSQL keeps microseconds.)
    let before = server.ctx.clock.now() - chrono::Duration::milliseconds(1);
    assert_eq!(pass().await.unwrap(), 0, "the first attempt failed");
    let after = server.ctx.clock.now();
    assert_eq!(
        received.lock().unwrap().len(),
        1,
        "first delivery attempted"
    );
    let row = &deliveries(&server).await[0];
    assert_eq!((row.0, row.2), (1, false));
    let backoff = chrono::Duration::seconds(10);
    assert!(
        row.1 >= before + backoff && row.1 <= after + backoff,
        "next attempt 10 s after the failure: {:?} not in [{:?}, {:?}]",
        row.1,
        before + backoff,
        after + backoff
    );
    assert!(
        row.3.as_deref().is_some_and(|e| e.contains("500")),
        "{:?}",
        row.3
    );

    // No retry before the backoff has passed, even 9 s later.
    server.ctx.clock.advance(9);
    assert_eq!(pass().await.unwrap(), 0);
    assert_eq!(
        received.lock().unwrap().len(),
        1,
        "no retry before the backoff"
    );
    assert_eq!(deliveries(&server).await[0].0, 1, "no attempt counted");

    // ...and it is redelivered once the backoff has passed.
    server.ctx.clock.advance(2);
    assert_eq!(pass().await.unwrap(), 1, "redelivered after the failure");
    assert_eq!(received.lock().unwrap().len(), 2);
    let row = &deliveries(&server).await[0];
    assert_eq!((row.0, row.2), (2, true), "delivered at the second attempt");

    let body = received.lock().unwrap()[1].clone();
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("logout_token in the form body");
    // Verify it as an RP would: signature against the published JWKS, then the claims.
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(server.url("/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("key in JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[&client_id]);
    validation.set_issuer(&[&server.base]);
    validation.validate_exp = false; // the test clock moved; exp is checked relative to iat below
    let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(
        claims.get("nonce").is_none(),
        "logout tokens never carry a nonce"
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // Delivered: never sent again, however much later.
    server.ctx.clock.advance(86_400);
    assert_eq!(pass().await.unwrap(), 0);
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "delivered once, not again"
    );
    let row = &deliveries(&server).await[0];
    assert_eq!((row.0, row.2), (2, true));
}

//! Issue 10, the relying-party side: claims released only with scope and consent, the
//! client's own `sub` everywhere, `id_token_hint` only from our ID tokens, OAuth error
//! descriptions in RFC 6749's character set, and server-side URLs that can't reach inside.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::admin_harness::{admin_token, call};
use crate::harness::*;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::Method;
use serde_json::{json, Value};
use verity::oauth::clients::NewClient;

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&verity::crypto::b64url_decode(part).unwrap()).unwrap()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn client_with(server: &TestServer, scopes: &[&str], subject_type: &str) -> (String, String) {
    let created = server
        .register(NewClient {
            name: "Pension Office".into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            post_logout_redirect_uris: vec![RP_LOGOUT_REDIRECT.into()],
            subject_type: Some(subject_type.into()),
            ..Default::default()
        })
        .await;
    (created.client_id, created.client_secret.unwrap())
}

async fn userinfo(server: &TestServer, access: &str) -> Value {
    reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn user_id(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| verity::accounts::users::by_email(c, &email))
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn post_form(
    server: &TestServer,
    path: &str,
    basic: (&str, &str),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(server.url(path))
        .basic_auth(basic.0, Some(basic.1))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Finding 1: a client allowed `openid` only asks for email and phone by name.
#[actix_web::test]
async fn the_claims_parameter_releases_nothing_the_scopes_and_consent_do_not() {
    let server = TestServer::start().await;
    let (client_id, secret) = client_with(&server, &["openid"], "public").await;
    let browser = person_with_phone(&server, "ivy@example.com").await;
    let rp = server.rp(&client_id, Some(&secret)).await;
    let req = rp.auth_request(&[]);
    let claims = r#"{"id_token":{"email":null,"phone_number":null,"name":null},"userinfo":{"email":null,"phone_number":null}}"#;
    let url = format!("{}&claims={}", req.url, enc(claims));

    let res = browser.get_abs(&url).await;
    let (at, res) = browser.follow(res).await;
    assert!(at.contains("/consent"), "{at}");
    let consent = res.text().await.unwrap();
    assert!(consent.contains("A stable identifier"));
    assert!(!consent.contains("email address") && !consent.contains("phone number"));
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    let (callback, _) = browser.follow(res).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let id = payload(&tokens.id_token().unwrap().to_string());
    for claim in ["email", "email_verified", "phone_number", "name"] {
        assert!(id.get(claim).is_none(), "{claim} leaked into {id}");
    }
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert!(info["sub"].is_string());
    for claim in ["email", "email_verified", "phone_number", "name"] {
        assert!(info.get(claim).is_none(), "{claim} leaked into {info}");
    }
}

/// Finding 1: a claim the client may have, asked for by name, is shown on the consent page
/// and released once allowed; a claim the person didn't consent to stays out.
#[actix_web::test]
async fn a_claim_asked_for_by_name_is_listed_on_the_consent_page_then_released() {
    let server = TestServer::start().await;
    let (client_id, secret) = client_with(&server, &["openid", "email"], "public").await;
    let browser = person_with_phone(&server, "kit@example.com").await;
    let rp = server.rp(&client_id, Some(&secret)).await;
    let req = rp.auth_request(&[]);
    let claims = r#"{"id_token":{"email":{"essential":true},"phone_number":null}}"#;
    let url = format!("{}&claims={}", req.url, enc(claims));
    let res = browser.get_abs(&url).await;
    let (at, res) = browser.follow(res).await;
    assert!(at.contains("/consent"), "{at}");
    let consent = res.text().await.unwrap();
    assert!(consent.contains("Your email address"), "{consent}");
    assert!(!consent.contains("phone number"));
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    let (callback, _) = browser.follow(res).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let id = payload(&tokens.id_token().unwrap().to_string());
    assert_eq!(id["email"], "kit@example.com");
    assert!(id.get("phone_number").is_none(), "{id}");

    // The operator narrows the client afterwards (management API): what it may no longer
    // have isn't released, at once.
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(
        info["email"], "kit@example.com",
        "released before the change"
    );
    let (_, admin) = admin_token(&server).await;
    let r = call(
        &server,
        Method::PATCH,
        &format!("/clients/{client_id}"),
        Some(&admin),
        Some(json!({ "scopes": ["openid"] })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert!(info["sub"].is_string(), "{info}");
    assert!(info.get("email").is_none(), "{info}");
}

/// Finding 5: a pairwise client sees its own `sub` everywhere, introspection included.
#[actix_web::test]
async fn a_pairwise_client_never_sees_the_account_id() {
    let server = TestServer::start().await;
    let (client_id, secret) = client_with(&server, &[], "pairwise").await;
    let browser = server.signed_in_browser("pia@example.com").await;
    let account = user_id(&server, "pia@example.com").await;
    let rp = server.rp(&client_id, Some(&secret)).await;
    let req = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let sub = rp.verify(&tokens, &req.nonce).subject().to_string();
    assert_ne!(sub, account);
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    assert_eq!(userinfo(&server, &access).await["sub"], sub.as_str());
    for token in [&access, &refresh] {
        let (status, body) = post_form(
            &server,
            "/introspect",
            (&client_id, &secret),
            &[("token", token)],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["active"], true);
        assert_eq!(body["sub"], sub.as_str(), "{body}");
    }
    // An admin client introspecting the refresh token sees the token's client's subject too.
    let admin = server
        .register(NewClient {
            name: "Desk".into(),
            admin: true,
            scopes: vec!["verity:admin".into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let (_, body) = post_form(
        &server,
        "/introspect",
        (&admin.client_id, admin.client_secret.as_deref().unwrap()),
        &[("token", &refresh)],
    )
    .await;
    assert_eq!(body["sub"], sub.as_str(), "{body}");

    // A pairwise ID token as id_token_hint still recognises this browser's session.
    let id_token = tokens.id_token().unwrap().to_string();
    let res = browser
        .get(&format!(
            "/end-session?id_token_hint={}&post_logout_redirect_uri={}",
            enc(&id_token),
            enc(RP_LOGOUT_REDIRECT)
        ))
        .await;
    assert_eq!(res.status(), 303);
}

/// Finding 10: only an ID token we issued, to that client, is a hint.
#[actix_web::test]
async fn id_token_hint_accepts_only_our_id_tokens_for_that_client() {
    let server = TestServer::start().await;
    let (client_id, secret) = client_with(&server, &[], "public").await;
    let (other_id, _) = client_with(&server, &[], "public").await;
    let browser = server.signed_in_browser("ola@example.com").await;
    let account = user_id(&server, "ola@example.com").await;
    let rp = server.rp(&client_id, Some(&secret)).await;
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap().to_string();
    let access = tokens.access_token().secret().clone();
    let sid = payload(&id_token)["sid"].as_str().unwrap().to_string();

    // A logout token signed by our key for the same session.
    let signer = server
        .ctx
        .keys
        .ring()
        .signer(server.ctx.clock.now())
        .unwrap();
    let now = server.ctx.clock.unix_now();
    let logout_token = signer
        .sign_jwt(
            "logout+jwt",
            &json!({ "iss": server.base, "aud": client_id, "iat": now, "exp": now + 120,
                     "jti": "j1", "sub": account, "sid": sid,
                     "events": { "http://schemas.openid.net/event/backchannel-logout": {} } }),
        )
        .unwrap();
    // The same, dressed as a plain JWT.
    let disguised = signer
        .sign_jwt(
            "JWT",
            &json!({ "iss": server.base, "aud": client_id, "iat": now, "exp": now + 120,
                     "jti": "j2", "sub": account, "sid": sid,
                     "events": { "http://schemas.openid.net/event/backchannel-logout": {} } }),
        )
        .unwrap();
    for (what, hint) in [
        ("access token", access.as_str()),
        ("logout token", logout_token.as_str()),
        ("JWT with events", disguised.as_str()),
    ] {
        let res = browser
            .get(&format!(
                "/end-session?id_token_hint={}&post_logout_redirect_uri={}",
                enc(hint),
                enc(RP_LOGOUT_REDIRECT)
            ))
            .await;
        assert_eq!(res.status(), 400, "{what} refused as a hint");
        assert!(
            browser.get_ok("/").await.contains("Signed in as"),
            "{what}: still signed in"
        );
    }
    // Our ID token, named for another client.
    let res = browser
        .get(&format!(
            "/end-session?id_token_hint={}&client_id={other_id}",
            enc(&id_token)
        ))
        .await;
    assert_eq!(res.status(), 400);
    assert!(browser.get_ok("/").await.contains("Signed in as"));

    // An expired ID token of ours is still a hint (RP-Initiated Logout §2).
    server.ctx.clock.advance(7 * 86400);
    let res = browser
        .get(&format!(
            "/end-session?id_token_hint={}&post_logout_redirect_uri={}",
            enc(&id_token),
            enc(RP_LOGOUT_REDIRECT)
        ))
        .await;
    assert_eq!(res.status(), 303);
    assert!(!browser.get_ok("/").await.contains("Signed in as"));
}

fn assert_rfc6749_description(body: &Value) {
    let d = body["error_description"]
        .as_str()
        .unwrap_or_else(|| panic!("error_description in {body}"));
    assert!(!d.is_empty());
    assert!(
        d.bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
        "outside RFC 6749's set: {d:?}"
    );
}

/// Finding 15: descriptions never quote input; they say which URI by position.
#[actix_web::test]
async fn oauth_error_descriptions_stay_in_the_rfc_6749_set() {
    let server = TestServer::start_with(|s| {
        s.dynamic_registration = true;
        s.registration_initial_access_token = Some("x".repeat(40));
    })
    .await;
    let bad = "https://rp.example.com/cb\"é\\#frag";
    for body in [
        json!({ "redirect_uris": ["https://rp.example.com/ok", bad] }),
        json!({ "redirect_uris": ["https://rp.example.com/ok"], "post_logout_redirect_uris": [bad] }),
        json!({ "redirect_uris": ["https://rp.example.com/ok"], "backchannel_logout_uri": bad }),
        json!({ "redirect_uris": ["https://rp.example.com/ok"], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": bad }),
        json!({ "redirect_uris": ["https://rp.example.com/ok"], "scope": "openid \"é\"" }),
        json!({ "redirect_uris": ["https://rp.example.com/ok"], "grant_types": ["\"é\""] }),
        json!({ "redirect_uris": ["https://rp.example.com/ok"], "token_endpoint_auth_method": "\"é\"" }),
        json!({ "redirect_uris": ["é\"\\"] }),
    ] {
        let res = reqwest::Client::new()
            .post(server.url("/register"))
            .bearer_auth("x".repeat(40))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let json: Value = res.json().await.unwrap();
        assert_rfc6749_description(&json);
    }
    let res = reqwest::Client::new()
        .post(server.url("/register"))
        .bearer_auth("x".repeat(40))
        .json(&json!({ "redirect_uris": ["https://rp.example.com/ok", bad] }))
        .send()
        .await
        .unwrap();
    let json: Value = res.json().await.unwrap();
    let d = json["error_description"].as_str().unwrap();
    assert!(d.contains("redirect_uris[1]"), "{d}");

    // The token endpoint, with a bad grant type.
    let (client_id, secret) = client_with(&server, &[], "public").await;
    let (status, body) = post_form(
        &server,
        "/token",
        (&client_id, &secret),
        &[("grant_type", "urn:\"é\\")],
    )
    .await;
    assert_eq!(status, 400);
    assert_rfc6749_description(&body);
    // The authorization endpoint's error redirect, with a bad prompt value.
    let rp = server.rp(&client_id, Some(&secret)).await;
    let req = rp.auth_request(&[]);
    let browser = server.signed_in_browser("uma@example.com").await;
    let res = browser
        .get_abs(&format!("{}&prompt={}", req.url, enc("\"é\\")))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let q = query_of(&location);
    assert_rfc6749_description(&json!({ "error_description": q["error_description"] }));
}

const SERVER_URL_FIELDS: [&str; 2] = ["backchannel_logout_uri", "jwks_uri"];

fn inner_urls() -> Vec<&'static str> {
    vec![
        "http://rp.example.com/x",
        "https://localhost/x",
        "https://app.localhost/x",
        "https://127.0.0.1/x",
        "https://127.9.9.9:8443/x",
        "https://0.0.0.0/x",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/x",
        "https://255.255.255.255/x",
        "https://[::1]/x",
        "https://[::]/x",
        "https://[fd00::1]/x",
        "https://[fe80::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[::ffff:10.0.0.1]/x",
    ]
}

fn metadata(field: &str, url: &str) -> Value {
    let mut body = json!({ "redirect_uris": ["https://rp.example.com/cb"] });
    body[field] = json!(url);
    if field == "jwks_uri" {
        body["token_endpoint_auth_method"] = json!("private_key_jwt");
    }
    body
}

/// Finding 12: in production, server-side URLs are https and public, at every way in.
#[actix_web::test]
async fn production_refuses_server_urls_that_reach_inside() {
    let server = TestServer::start_with(|s| {
        s.env = verity::config::RunMode::Production;
        s.dynamic_registration = true;
        s.registration_initial_access_token = Some("x".repeat(40));
    })
    .await;
    let (_, admin) = admin_token(&server).await;
    for field in SERVER_URL_FIELDS {
        for url in inner_urls() {
            let res = reqwest::Client::new()
                .post(server.url("/register"))
                .bearer_auth("x".repeat(40))
                .json(&metadata(field, url))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "/register {field} {url}");
            let json: Value = res.json().await.unwrap();
            assert_eq!(json["error"], "invalid_client_metadata", "{json}");
            assert_rfc6749_description(&json);

            let mut body = metadata(field, url);
            body["name"] = json!("Inside");
            let created = call(&server, Method::POST, "/clients", Some(&admin), Some(body)).await;
            assert_eq!(created.status, 400, "API {field} {url}: {}", created.body);
            assert_eq!(created.field(), field, "{}", created.body);
        }
        // A public https host is fine.
        let res = reqwest::Client::new()
            .post(server.url("/register"))
            .bearer_auth("x".repeat(40))
            .json(&metadata(field, "https://rp.example.com/hook"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{field}");
    }
    // Changing a client through the API is held to the same rule.
    let created = call(
        &server,
        Method::POST,
        "/clients",
        Some(&admin),
        Some(json!({ "name": "Ok", "redirect_uris": ["https://rp.example.com/cb"] })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["client_id"].as_str().unwrap();
    let changed = call(
        &server,
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(&admin),
        Some(json!({ "backchannel_logout_uri": "https://192.168.0.10/logout" })),
    )
    .await;
    assert_eq!(changed.status, 400, "{}", changed.body);
}

/// Counts TCP connections; never answers.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    actix_web::rt::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    (port, count)
}

/// Finding 12: a name that resolves to loopback is refused after resolution, before any
/// connection, in production; in dev the same call connects.
#[actix_web::test]
async fn production_refuses_to_connect_where_a_name_resolves_inside() {
    let (port, connections) = counting_listener().await;
    let server = TestServer::start_with(|s| s.env = verity::config::RunMode::Production).await;
    let url = format!("https://localhost:{port}/jwks");
    let err = server
        .ctx
        .outbound
        .fetch_capped(&url, 1024)
        .await
        .expect_err("refused");
    assert!(format!("{err:#}").contains("public host"), "{err:#}");
    // The same through the flow: a client whose jwks_uri was stored before the rule.
    let created = server
        .register(NewClient {
            name: "Keys".into(),
            grant_types: vec!["client_credentials".into()],
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks_uri: Some("https://rp.example.com/jwks".into()),
            ..Default::default()
        })
        .await;
    let id = created.client_id.clone();
    let stored = url.clone();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::clients;
            diesel::update(clients::table.find(&id))
                .set(clients::jwks_uri.eq(Some(stored)))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let assertion = format!(
        "eyJhbGciOiJFUzI1NiJ9.{}.AAAA",
        verity::crypto::b64url(
            json!({ "iss": created.client_id, "sub": created.client_id, "aud": server.base })
                .to_string()
                .as_bytes()
        )
    );
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", created.client_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection made");

    // Dev mode: the same name connects (the listener sees it; TLS then fails).
    let dev = TestServer::start().await;
    let _ = dev.ctx.outbound.fetch_capped(&url, 1024).await;
    // Awaited, not slept: the listener counts the connection on its own task.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while connections.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(connections.load(Ordering::SeqCst) >= 1, "dev connects");
}

/// Finding 12, back-channel logout in production: a stored URL whose name resolves to
/// loopback gets no connection; the delivery records why.
#[actix_web::test]
async fn production_backchannel_logout_never_connects_inside() {
    let (port, connections) = counting_listener().await;
    let server = TestServer::start_with(|s| {
        s.env = verity::config::RunMode::Production;
        s.security.backchannel_poll_ms = 100;
    })
    .await;
    let (client_id, secret) = client_with(&server, &[], "public").await;
    let id = client_id.clone();
    let stored = format!("https://localhost:{port}/logout");
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::clients;
            diesel::update(clients::table.find(&id))
                .set(clients::backchannel_logout_uri.eq(Some(stored)))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    server.ctx.clients.invalidate(&client_id);
    let browser = server.signed_in_browser("ned@example.com").await;
    let rp = server.rp(&client_id, Some(&secret)).await;
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    rp.exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let home = browser.get_ok("/").await;
    browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;

    let mut last_error = None;
    for _ in 0..50 {
        let errors: Vec<Option<String>> = server
            .ctx
            .db
            .run(|c| {
                use diesel::prelude::*;
                use verity::storage::schema::logout_deliveries;
                Ok(logout_deliveries::table
                    .select(logout_deliveries::last_error)
                    .load(c)?)
            })
            .await
            .unwrap();
        last_error = errors.into_iter().flatten().next();
        if last_error.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let last_error = last_error.expect("a failed attempt recorded");
    assert!(last_error.contains("public host"), "{last_error}");
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection made");
}

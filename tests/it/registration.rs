//! Dynamic Client Registration (RFC 7591): off by default, gated by the initial access
//! token, and a registered client works for a real code flow.

use crate::harness::*;
use openidconnect::OAuth2TokenResponse;
use serde_json::{json, Value};

fn token() -> String {
    "x".repeat(40)
}

async fn enabled_server() -> TestServer {
    TestServer::start_with(|s| {
        s.dynamic_registration = true;
        s.registration_initial_access_token = Some(token());
    })
    .await
}

/// POSTs `body` (raw) to /register; returns status, WWW-Authenticate, Cache-Control, JSON.
async fn post_raw(
    server: &TestServer,
    bearer: Option<&str>,
    body: &str,
) -> (u16, Option<String>, Option<String>, Value) {
    let mut req = reqwest::Client::new()
        .post(server.url("/register"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (www, cache) = (header("www-authenticate"), header("cache-control"));
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "JSON answer"
    );
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no browser cookie on a machine endpoint"
    );
    let text = res.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, www, cache, json)
}

async fn register(server: &TestServer, body: Value) -> (u16, Value) {
    let (status, _, _, json) = post_raw(server, Some(&token()), &body.to_string()).await;
    (status, json)
}

#[actix_web::test]
async fn registration_is_off_by_default() {
    let server = TestServer::start().await;
    let (status, _, _, body) = post_raw(
        &server,
        Some(&token()),
        &json!({ "redirect_uris": [RP_REDIRECT] }).to_string(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    let clients = server
        .ctx
        .db
        .run(verity::oauth::clients::list)
        .await
        .unwrap();
    assert!(clients.is_empty(), "nothing registered");
}

#[actix_web::test]
async fn a_missing_or_wrong_initial_access_token_is_refused() {
    let server = enabled_server().await;
    let body = json!({ "redirect_uris": [RP_REDIRECT] }).to_string();
    let wrong = "y".repeat(40);
    let longer = format!("{}x", token());
    for bearer in [None, Some(wrong.as_str()), Some(longer.as_str()), Some("x")] {
        let (status, www, _, json) = post_raw(&server, bearer, &body).await;
        assert_eq!(status, 401, "{bearer:?}");
        assert!(
            www.as_deref()
                .is_some_and(|w| w.starts_with("Bearer") && w.contains("error=\"invalid_token\"")),
            "{www:?}"
        );
        assert_eq!(json["error"], "invalid_token");
    }
    // Basic auth with the token as password is not a bearer token.
    let res = reqwest::Client::new()
        .post(server.url("/register"))
        .basic_auth("x", Some(token()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let clients = server
        .ctx
        .db
        .run(verity::oauth::clients::list)
        .await
        .unwrap();
    assert!(clients.is_empty(), "nothing registered");
}

#[actix_web::test]
async fn bad_redirect_uris_are_invalid_redirect_uri() {
    let server = enabled_server().await;
    for body in [
        json!({ "redirect_uris": ["https://rp.example.com/cb#frag"] }),
        json!({ "redirect_uris": ["/callback"] }),
        json!({ "redirect_uris": [] }),
        json!({ "client_name": "No URIs" }),
        json!({ "redirect_uris": [RP_REDIRECT], "post_logout_redirect_uris": ["signed-out"] }),
    ] {
        let (status, json) = register(&server, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(json["error"], "invalid_redirect_uri", "{body}: {json}");
        assert!(json["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    }
}

#[actix_web::test]
async fn bad_metadata_is_invalid_client_metadata() {
    let server = enabled_server().await;
    for body in [
        json!({ "redirect_uris": [RP_REDIRECT], "response_types": ["token"] }),
        json!({ "redirect_uris": [RP_REDIRECT], "token_endpoint_auth_method": "client_secret_jwt" }),
        json!({ "redirect_uris": [RP_REDIRECT], "scope": "openid verity:admin" }),
        json!({ "redirect_uris": [RP_REDIRECT], "scope": "openid verity:admin:clients" }),
        json!({ "redirect_uris": [RP_REDIRECT], "grant_types": ["implicit"] }),
        json!({ "redirect_uris": [RP_REDIRECT], "sector_identifier_uri": "https://rp.example.com/s.json" }),
        json!({ "redirect_uris": [RP_REDIRECT], "jwks": "not an object" }),
        json!({ "redirect_uris": "not a list" }),
    ] {
        let (status, json) = register(&server, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(json["error"], "invalid_client_metadata", "{body}: {json}");
    }
    for raw in ["not json", "", "[1, 2]", "{\"redirect_uris\": ["] {
        let (status, _, _, json) = post_raw(&server, Some(&token()), raw).await;
        assert_eq!(status, 400, "{raw:?}");
        assert_eq!(json["error"], "invalid_client_metadata", "{raw:?}");
    }
    let clients = server
        .ctx
        .db
        .run(verity::oauth::clients::list)
        .await
        .unwrap();
    assert!(clients.is_empty(), "nothing registered");
}

#[actix_web::test]
async fn a_registered_client_completes_a_code_flow() {
    let server = enabled_server().await;
    let (status, _, cache, reg) = post_raw(
        &server,
        Some(&token()),
        &json!({
            "redirect_uris": [RP_REDIRECT],
            "client_name": "Benefits Portal",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "openid email",
            "post_logout_redirect_uris": [RP_LOGOUT_REDIRECT],
            "logo_uri": "https://rp.example.com/logo.png",
            "software_statement": "ignored",
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    let client_id = reg["client_id"].as_str().expect("client_id").to_string();
    let secret = reg["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_string();
    assert_eq!(reg["client_secret_expires_at"], 0);
    let issued = reg["client_id_issued_at"].as_i64().expect("issued at");
    assert!((issued - server.ctx.clock.unix_now()).abs() < 60);
    assert_eq!(reg["client_name"], "Benefits Portal");
    assert_eq!(reg["redirect_uris"], json!([RP_REDIRECT]));
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["response_types"], json!(["code"]));
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(reg["scope"], "openid email");
    assert_eq!(reg["subject_type"], "public");
    assert_eq!(
        reg["post_logout_redirect_uris"],
        json!([RP_LOGOUT_REDIRECT])
    );
    assert!(reg.get("logo_uri").is_none(), "unknown members are ignored");

    // Stored as a dynamically registered, non-admin client, with an audit event.
    let id = client_id.clone();
    let stored = server
        .ctx
        .db
        .run(move |c| verity::oauth::clients::get(c, &id))
        .await
        .unwrap()
        .expect("stored");
    assert!(stored.registered_dynamically && !stored.admin && !stored.public);
    let id = client_id.clone();
    let events: i64 = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events::dsl as a;
            Ok(a::audit_events
                .filter(a::kind.eq("client_registered"))
                .filter(a::client_id.eq(id))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(events, 1, "client_registered audited");

    // The new client signs someone in through a real code flow.
    let rp = server.rp(&client_id, Some(&secret)).await;
    let browser = server.signed_in_browser("dana@example.com").await;
    let req = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let params = query_of(&callback);
    assert_eq!(params["state"], *req.state.secret());
    let tokens = rp
        .exchange(&params["code"], req.verifier)
        .await
        .expect("code exchange works");
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(claims.audiences()[0].as_str(), client_id);
    let info: Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims.subject().as_str());
    assert_eq!(info["email"], "dana@example.com");

    // A wrong secret for it is still refused.
    let bad = server.rp(&client_id, Some("not-the-secret")).await;
    let req = bad.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let err = bad
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap_err();
    assert_eq!(err, "invalid_client");
}

#[actix_web::test]
async fn a_public_client_gets_no_secret() {
    let server = enabled_server().await;
    let (status, reg) = register(
        &server,
        json!({ "redirect_uris": [RP_REDIRECT], "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(status, 201, "{reg}");
    assert!(reg.get("client_secret").is_none());
    assert!(reg.get("client_secret_expires_at").is_none());
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(
        reg["client_name"], "localhost",
        "named after the redirect host"
    );

    // PKCE code flow as a public client.
    let client_id = reg["client_id"].as_str().unwrap().to_string();
    let rp = server.rp(&client_id, None).await;
    let browser = server.signed_in_browser("eve@example.com").await;
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("public client exchange");
    rp.verify(&tokens, &req.nonce);
}

#[actix_web::test]
async fn discovery_lists_the_registration_endpoint_only_when_on() {
    let off: Value = reqwest::get(
        TestServer::start()
            .await
            .url("/.well-known/openid-configuration"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(off.get("registration_endpoint").is_none());
    let server = enabled_server().await;
    let on: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(on["registration_endpoint"], server.url("/register"));
    let methods = on["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&"private_key_jwt".into()));
    assert_eq!(
        on["pushed_authorization_request_endpoint"],
        server.url("/par")
    );
    assert_eq!(
        on["subject_types_supported"],
        serde_json::json!(["public", "pairwise"])
    );
    assert_eq!(on["end_session_endpoint"], server.url("/end-session"));
}

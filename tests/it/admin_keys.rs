//! Management API: the framework (auth, errors, idempotency, OpenAPI) and the keys area.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_harness::*;
use crate::harness::*;

async fn key_count(server: &TestServer) -> usize {
    server
        .ctx
        .db
        .run(verity::keys::load_rows)
        .await
        .unwrap()
        .len()
}

#[actix_web::test]
async fn keys_list_and_rotate_with_audit() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;

    let list = call(&server, Method::GET, "/keys", Some(&token), None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["state"], "signing");
    let text = list.body.to_string();
    assert!(
        !text.contains("private") && !text.contains("\"d\""),
        "no key material: {text}"
    );

    let rotated = call(
        &server,
        Method::POST,
        "/keys/rotate",
        Some(&token),
        Some(json!({"activate_in_secs": 0})),
    )
    .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let kid = rotated.body["kid"].as_str().unwrap().to_string();
    assert_eq!(rotated.body["state"], "signing");
    // The new key is in the JWKS at once.
    let jwks: Value = reqwest::get(server.url("/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jwks.to_string().contains(&kid));

    let list = call(&server, Method::GET, "/keys", Some(&token), None).await;
    let states: Vec<(String, String)> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().into(),
                k["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(states.len(), 2);
    assert!(
        states.contains(&(kid.clone(), "signing".into())),
        "{states:?}"
    );
    assert!(
        states
            .iter()
            .any(|(k, s)| k != &kid && s == "retired, still published"),
        "{states:?}"
    );

    // No body at all: the configured lead time, so the key is published but not signing yet.
    let later = call(&server, Method::POST, "/keys/rotate", Some(&token), None).await;
    assert_eq!(later.status, 201, "{}", later.body);
    assert_eq!(later.body["state"], "published, not yet signing");

    let events: Vec<verity::audit::AuditEvent> = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events::dsl::*;
            Ok(audit_events
                .filter(kind.eq("signing_key_rotated"))
                .select(verity::audit::AuditEvent::as_select())
                .load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| e.client_id.as_deref() == Some(agent.as_str())));
}

#[actix_web::test]
async fn keys_refuse_every_caller_but_an_admin_with_the_scope() {
    let server = TestServer::start().await;
    let tokens = Tokens::new(&server).await;
    assert_refusals(
        &server,
        &tokens,
        Method::GET,
        "/keys",
        None,
        &tokens.notices_only,
    )
    .await;
    assert_refusals(
        &server,
        &tokens,
        Method::POST,
        "/keys/rotate",
        empty(),
        &tokens.notices_only,
    )
    .await;
    assert_eq!(
        key_count(&server).await,
        1,
        "no refused call rotated anything"
    );
    // The per-area scope is enough; verity:admin too.
    let ok = call(&server, Method::GET, "/keys", Some(&tokens.keys_only), None).await;
    assert_eq!(ok.status, 200);
    let ok = call(&server, Method::GET, "/keys", Some(&tokens.admin), None).await;
    assert_eq!(ok.status, 200);
    // An admin client demoted (through the management API, by another admin) after its token
    // was issued is refused at once: its cached client record doesn't outlive the change.
    let (_, other_admin) = admin_token(&server).await;
    let r = call(
        &server,
        Method::PATCH,
        &format!("/clients/{}", tokens.admin_client_id),
        Some(&other_admin),
        Some(serde_json::json!({ "admin": false, "scopes": [] })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["admin"], false);
    let demoted = call(&server, Method::GET, "/keys", Some(&tokens.admin), None).await;
    assert_eq!(demoted.status, 403, "{}", demoted.body);
    assert_eq!(demoted.error(), "forbidden");
    let demoted = call(&server, Method::GET, "/keys", Some(&tokens.keys_only), None).await;
    assert_eq!(demoted.status, 403, "{}", demoted.body);
}

#[actix_web::test]
async fn bad_input_gets_json_errors_naming_the_field() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let raw = |body: &'static str, content_type: &'static str| {
        let token = token.clone();
        let url = server.url("/admin/api/v1/keys/rotate");
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("a JSON error");
            (status, body)
        }
    };
    let cases = [
        (
            "{not json",
            "application/json",
            400,
            "invalid_request",
            "body",
        ),
        (
            r#"{"activate_in_secs": "soon"}"#,
            "application/json",
            400,
            "validation_failed",
            "activate_in_secs",
        ),
        (
            r#"{"activate_in_secs": -5}"#,
            "application/json",
            400,
            "validation_failed",
            "activate_in_secs",
        ),
        (
            r#"{"activate_in_secs": 1e300}"#,
            "application/json",
            400,
            "validation_failed",
            "activate_in_secs",
        ),
        (
            r#"{"activate_in_secs": 99999999999999999999999}"#,
            "application/json",
            400,
            "validation_failed",
            "activate_in_secs",
        ),
        (
            r#"{"activate_in_secs": 2592001}"#,
            "application/json",
            400,
            "validation_failed",
            "activate_in_secs",
        ),
        (
            "[3600]",
            "application/json",
            400,
            "validation_failed",
            "body",
        ),
        (
            r#"{"bogus": 1}"#,
            "application/json",
            400,
            "validation_failed",
            "bogus",
        ),
        (
            r#""just a string""#,
            "application/json",
            400,
            "validation_failed",
            "body",
        ),
        (
            r#"{"activate_in_secs": 5}"#,
            "text/plain",
            415,
            "unsupported_media_type",
            "Content-Type",
        ),
    ];
    for (body, ct, status, error, field) in cases {
        let (got, json) = raw(body, ct).await;
        assert_eq!(got, status, "{body}: {json}");
        assert_eq!(json["error"], error, "{body}: {json}");
        assert_eq!(json["field"], field, "{body}: {json}");
    }
    assert_eq!(key_count(&server).await, 1, "nothing rotated by bad input");

    let huge = format!(
        r#"{{"activate_in_secs": 1, "pad": "{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let res = reqwest::Client::new()
        .post(server.url("/admin/api/v1/keys/rotate"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");

    let missing = call(&server, Method::GET, "/no-such-thing", Some(&token), None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error(), "not_found");
    // Admin answers carry no browser cookie.
    let res = reqwest::get(server.url("/admin/api/v1/keys"))
        .await
        .unwrap();
    assert!(res.headers().get("set-cookie").is_none());
}

#[actix_web::test]
async fn idempotency_key_replays_the_first_answer_and_refuses_reuse() {
    let server = TestServer::start().await;
    let (id, secret) = admin_client(&server, &["verity:admin"]).await;
    let token = client_token(&server, &id, &secret, None).await;
    let key = [("Idempotency-Key", "rotate-2026-11-22")];
    let body = Some(json!({"activate_in_secs": 60}));
    let first = call_with(
        &server,
        Method::POST,
        "/keys/rotate",
        Some(&token),
        body.clone(),
        &key,
    )
    .await;
    assert_eq!(first.status, 201);
    let again = call_with(
        &server,
        Method::POST,
        "/keys/rotate",
        Some(&token),
        body.clone(),
        &key,
    )
    .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "the same answer");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(key_count(&server).await, 2, "rotated once, not twice");

    let other = call_with(
        &server,
        Method::POST,
        "/keys/rotate",
        Some(&token),
        Some(json!({"activate_in_secs": 61})),
        &key,
    )
    .await;
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.field(), "Idempotency-Key");
    assert_eq!(key_count(&server).await, 2);

    // Keys belong to a client: another agent's same key is its own.
    let (_, token2) = admin_token(&server).await;
    let theirs = call_with(
        &server,
        Method::POST,
        "/keys/rotate",
        Some(&token2),
        body.clone(),
        &key,
    )
    .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["kid"], first.body["kid"]);
    assert_eq!(key_count(&server).await, 3);

    // After the configured lifetime the key is forgotten: the same request acts again.
    server
        .ctx
        .clock
        .advance(server.ctx.settings.support.idempotency_ttl_secs as i64 + 1);
    let token = client_token(&server, &id, &secret, None).await;
    let later = call_with(
        &server,
        Method::POST,
        "/keys/rotate",
        Some(&token),
        body.clone(),
        &key,
    )
    .await;
    assert_eq!(later.status, 201);
    assert_ne!(later.body["kid"], first.body["kid"]);
    assert_eq!(key_count(&server).await, 4);

    for bad in ["", &"k".repeat(256), "tab\there"] {
        let res = reqwest::Client::new()
            .post(server.url("/admin/api/v1/keys/rotate"))
            .bearer_auth(&token)
            .json(&json!({}))
            .header("Idempotency-Key", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "key {bad:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["field"], "Idempotency-Key");
    }
    assert_eq!(key_count(&server).await, 4);
    // Without a token, the answer is 401 whatever the key.
    let res = reqwest::Client::new()
        .post(server.url("/admin/api/v1/keys/rotate"))
        .json(&json!({}))
        .header("Idempotency-Key", "tab\there")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[actix_web::test]
async fn openapi_document_describes_the_api() {
    let server = TestServer::start().await;
    let doc: Value = reqwest::get(server.url("/admin/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    assert!(
        paths.contains_key("/admin/api/v1/keys"),
        "{:?}",
        paths.keys()
    );
    let rotate = &doc["paths"]["/admin/api/v1/keys/rotate"]["post"];
    for status in ["201", "400", "401", "403", "409"] {
        assert!(
            rotate["responses"][status].is_object(),
            "{status} documented"
        );
    }
    assert!(rotate["parameters"].to_string().contains("Idempotency-Key"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert_eq!(
        doc["components"]["schemas"]["StartPhoneChange"]["properties"]["identity_check"]["enum"],
        json!(server.ctx.settings.support.identity_checks)
    );
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let params = op.get("parameters");
            assert!(
                params.is_none_or(|p| p.is_array()),
                "{method} {path}: {params:?}"
            );
            for p in params.and_then(|p| p.as_array()).into_iter().flatten() {
                if p["name"] == "limit" {
                    assert_eq!(
                        p["schema"]["maximum"],
                        server.ctx.settings.support.page_size_max
                    );
                }
            }
        }
    }
}

#[actix_web::test]
async fn the_token_endpoint_narrows_admin_scopes_but_never_widens_them() {
    let server = TestServer::start().await;
    let ask = |id: String, secret: String, scope: &'static str| {
        let url = server.url("/token");
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }
    };
    // Allowed verity:admin: any per-area scope may be asked for.
    let (id, secret) = admin_client(&server, &["verity:admin"]).await;
    let (status, body) = ask(
        id.clone(),
        secret.clone(),
        "verity:admin:users:read verity:admin:audit",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "verity:admin:users:read verity:admin:audit");
    // Allowed only keys: nothing wider, nothing else.
    let (id, secret) = admin_client(&server, &["verity:admin:keys"]).await;
    for scope in ["verity:admin", "verity:admin:users:read"] {
        let (status, body) = ask(id.clone(), secret.clone(), scope).await;
        assert_eq!(status, 400, "{scope}: {body}");
        assert_eq!(body["error"], "invalid_scope");
    }
    let (status, _) = ask(id, secret, "verity:admin:keys").await;
    assert_eq!(status, 200);
}

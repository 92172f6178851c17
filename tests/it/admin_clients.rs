//! Management API: clients (list, add, read, change, remove, new secret).

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_harness::*;
use crate::harness::*;

/// What the token endpoint says to a client_credentials request with this id and secret.
async fn token_status(server: &TestServer, id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn client_count(server: &TestServer) -> usize {
    server
        .ctx
        .db
        .run(verity::oauth::clients::list)
        .await
        .unwrap()
        .len()
}

fn batch_job() -> Value {
    json!({
        "name": "Nightly export",
        "grant_types": ["client_credentials"],
        "scopes": ["reports"],
    })
}

#[actix_web::test]
async fn clients_add_read_change_rotate_and_remove() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;

    let created = call(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(json!({
            "name": "Benefits portal",
            "redirect_uris": ["https://benefits.example.gov/callback"],
            "post_logout_redirect_uris": ["https://benefits.example.gov/bye"],
            "grant_types": ["authorization_code", "refresh_token"],
            "require_par": true,
            "subject_type": "pairwise",
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["client_id"].as_str().unwrap().to_string();
    let secret = created.body["client_secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 43, "256 bits at least: {secret}");
    assert_eq!(created.body["require_par"], true);
    assert_eq!(created.body["subject_type"], "pairwise");
    assert_eq!(created.body["scopes"][0], "openid");
    // Only the hash is stored.
    let row = server
        .ctx
        .db
        .run({
            let id = id.clone();
            move |c| verity::oauth::clients::get(c, &id)
        })
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.secret_hash.as_deref(), Some(secret.as_str()));
    assert!(row.secret_matches(&secret));

    let got = call(
        &server,
        Method::GET,
        &format!("/clients/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["name"], "Benefits portal");
    assert!(got.body.get("client_secret").is_none(), "never shown again");
    assert!(!got.body.to_string().contains(&secret));

    let changed = call(
        &server,
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(&token),
        Some(json!({
            "name": "Benefits portal (new)",
            "redirect_uris": ["https://benefits.example.gov/cb2"],
            "backchannel_logout_uri": "https://benefits.example.gov/bcl",
            "require_par": false,
        })),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["name"], "Benefits portal (new)");
    assert_eq!(
        changed.body["redirect_uris"],
        json!(["https://benefits.example.gov/cb2"])
    );
    assert_eq!(changed.body["require_par"], false);
    assert_eq!(changed.body["subject_type"], "pairwise", "untouched");
    assert_eq!(
        changed.body["backchannel_logout_uri"],
        "https://benefits.example.gov/bcl"
    );
    // The token endpoint's cache sees the change at once: PAR no longer required.
    let cached = server.ctx.clients.get(&id).await.unwrap().unwrap();
    assert!(!cached.require_par);
    // null clears.
    let cleared = call(
        &server,
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(&token),
        Some(json!({ "backchannel_logout_uri": null })),
    )
    .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.body["backchannel_logout_uri"], Value::Null);
    assert_eq!(cleared.body["name"], "Benefits portal (new)");

    // A client_credentials client: the new secret works, the old one stops at once.
    let job = call(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(batch_job()),
    )
    .await;
    assert_eq!(job.status, 201, "{}", job.body);
    let job_id = job.body["client_id"].as_str().unwrap().to_string();
    let old = job.body["client_secret"].as_str().unwrap().to_string();
    assert_eq!(token_status(&server, &job_id, &old).await, 200);
    let rotated = call(
        &server,
        Method::POST,
        &format!("/clients/{job_id}/secret"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(token_status(&server, &job_id, &old).await, 401);
    assert_eq!(token_status(&server, &job_id, &new).await, 200);

    // A public client has no secret to rotate.
    let spa = call(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(json!({
            "name": "Mobile app",
            "public": true,
            "redirect_uris": ["com.example.app:/cb"],
        })),
    )
    .await;
    assert_eq!(spa.status, 201, "{}", spa.body);
    assert_eq!(spa.body["client_secret"], Value::Null);
    assert_eq!(spa.body["token_endpoint_auth_method"], "none");
    let spa_id = spa.body["client_id"].as_str().unwrap();
    let none = call(
        &server,
        Method::POST,
        &format!("/clients/{spa_id}/secret"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(none.status, 409, "{}", none.body);

    let removed = call(
        &server,
        Method::DELETE,
        &format!("/clients/{job_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["client_id"], job_id.as_str());
    assert_eq!(token_status(&server, &job_id, &new).await, 401);
    let gone = call(
        &server,
        Method::GET,
        &format!("/clients/{job_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.error(), "not_found");
    let again = call(
        &server,
        Method::DELETE,
        &format!("/clients/{job_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(again.status, 404);

    // Every change is audited under the agent's client id.
    for (kind, n) in [
        ("client_created", 3),
        ("client_updated", 2),
        ("client_secret_rotated", 1),
        ("client_deleted", 1),
    ] {
        let found = audit_events_of_kind(&server, kind).await;
        assert_eq!(found.len(), n, "{kind}");
        assert!(found
            .iter()
            .all(|e| e.client_id.as_deref() == Some(agent.as_str())));
    }
}

#[actix_web::test]
async fn clients_list_pages_with_cursors() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    for i in 0..4 {
        let mut body = batch_job();
        body["name"] = json!(format!("Job {i}"));
        let r = call(&server, Method::POST, "/clients", Some(&token), Some(body)).await;
        assert_eq!(r.status, 201);
    }
    // The agent itself and the four jobs, in the order they were added, two per page.
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/clients?limit=2&cursor={c}"),
            None => "/clients?limit=2".to_string(),
        };
        let page = call(&server, Method::GET, &path, Some(&token), None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(
            items
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string()),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        ["Support desk", "Job 0", "Job 1", "Job 2", "Job 3"],
        "every client once, oldest first"
    );
    let all = call(&server, Method::GET, "/clients", Some(&token), None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(all.body["next_cursor"], Value::Null);
    assert_eq!(all.body["items"][0]["client_id"], agent.as_str());

    for (query, field) in [
        ("?cursor=not-a-cursor", "cursor"),
        ("?cursor=WyJ4Il0", "cursor"),
        ("?limit=0", "limit"),
        ("?limit=lots", "limit"),
    ] {
        let r = call(
            &server,
            Method::GET,
            &format!("/clients{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.field(), field, "{query}");
    }
}

#[actix_web::test]
async fn clients_refuse_bad_input_naming_the_field() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let before = client_count(&server).await;
    let cases = [
        (json!({}), "name"),
        (json!({ "name": "  " }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "name": "A", "bogus": 1 }), "bogus"),
        (
            json!({ "name": "A", "redirect_uris": "https://a.example/cb" }),
            "redirect_uris",
        ),
        (
            json!({ "name": "A", "redirect_uris": ["javascript:alert(1)"] }),
            "redirect_uris",
        ),
        (
            json!({ "name": "A", "redirect_uris": ["/relative"] }),
            "redirect_uris",
        ),
        (
            json!({ "name": "A", "redirect_uris": ["https://a.example/cb#frag"] }),
            "redirect_uris",
        ),
        (json!({ "name": "A" }), "redirect_uris"),
        (
            json!({ "name": "A", "redirect_uris": ["https://a.example/cb"], "post_logout_redirect_uris": ["ftp://x"] }),
            "post_logout_redirect_uris",
        ),
        (
            json!({ "name": "A", "grant_types": ["client_credentials"], "backchannel_logout_uri": "nope" }),
            "backchannel_logout_uri",
        ),
        (
            json!({ "name": "A", "grant_types": ["password"] }),
            "grant_types[0]",
        ),
        (
            json!({ "name": "A", "public": true, "grant_types": ["client_credentials"] }),
            "grant_types",
        ),
        (
            json!({ "name": "A", "grant_types": ["client_credentials"], "scopes": ["bad scope"] }),
            "scopes",
        ),
        (
            json!({ "name": "A", "grant_types": ["client_credentials"], "scopes": ["verity:admin"] }),
            "scopes",
        ),
        (
            json!({ "name": "A", "redirect_uris": ["https://a.example/cb"], "subject_type": "secret" }),
            "subject_type",
        ),
        (
            json!({ "name": "A", "redirect_uris": ["https://a.example/cb", "https://b.example/cb"], "subject_type": "pairwise" }),
            "sector_identifier",
        ),
        (
            json!({ "name": "A", "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt" }),
            "jwks",
        ),
        (json!({ "name": "A", "require_par": "yes" }), "require_par"),
    ];
    for (body, field) in cases {
        let r = call(
            &server,
            Method::POST,
            "/clients",
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.field(), field, "{body}: {}", r.body);
        assert!(!r.body["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(client_count(&server).await, before, "nothing added");

    let job = call(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(batch_job()),
    )
    .await;
    let id = job.body["client_id"].as_str().unwrap().to_string();
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "scopes": ["verity:admin:users:read"] }), "scopes"),
        (
            json!({ "backchannel_logout_uri": "data:text/plain,x" }),
            "backchannel_logout_uri",
        ),
        (
            json!({ "sector_identifier": "not a host" }),
            "sector_identifier",
        ),
        (
            json!({ "grant_types": ["client_credentials"] }),
            "grant_types",
        ),
    ] {
        let r = call(
            &server,
            Method::PATCH,
            &format!("/clients/{id}"),
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.field(), field, "{body}");
    }
    let unchanged = call(
        &server,
        Method::GET,
        &format!("/clients/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(unchanged.body["name"], "Nightly export");
    for (method, path) in [
        (Method::GET, "/clients/nope"),
        (Method::PATCH, "/clients/nope"),
        (Method::DELETE, "/clients/nope"),
        (Method::POST, "/clients/nope/secret"),
    ] {
        let r = call(&server, method.clone(), path, Some(&token), Some(json!({}))).await;
        assert_eq!(r.status, 404, "{method} {path}");
    }
}

#[actix_web::test]
async fn clients_refuse_callers_without_the_scope() {
    let server = TestServer::start().await;
    let tokens = Tokens::new(&server).await;
    let job = call(
        &server,
        Method::POST,
        "/clients",
        Some(&tokens.admin),
        Some(batch_job()),
    )
    .await;
    let id = job.body["client_id"].as_str().unwrap().to_string();
    let before = client_count(&server).await;
    let cases = [
        (Method::GET, "/clients".to_string(), None),
        (Method::POST, "/clients".to_string(), Some(batch_job())),
        (Method::GET, format!("/clients/{id}"), None),
        (
            Method::PATCH,
            format!("/clients/{id}"),
            Some(json!({"name": "Pwned"})),
        ),
        (Method::DELETE, format!("/clients/{id}"), None),
        (Method::POST, format!("/clients/{id}/secret"), empty()),
    ];
    for (method, path, body) in cases {
        assert_refusals(&server, &tokens, method, &path, body, &tokens.notices_only).await;
    }
    assert_eq!(
        client_count(&server).await,
        before,
        "nothing added or removed"
    );
    let still = call(
        &server,
        Method::GET,
        &format!("/clients/{id}"),
        Some(&tokens.admin),
        None,
    )
    .await;
    assert_eq!(still.body["name"], "Nightly export");
    assert_eq!(
        audit_events_of_kind(&server, "client_secret_rotated")
            .await
            .len(),
        0
    );
}

#[actix_web::test]
async fn agents_cannot_remove_or_demote_themselves_or_mint_admins_without_full_scope() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let me = call(
        &server,
        Method::DELETE,
        &format!("/clients/{agent}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(me.status, 409, "{}", me.body);
    let demote = call(
        &server,
        Method::PATCH,
        &format!("/clients/{agent}"),
        Some(&token),
        Some(json!({ "admin": false })),
    )
    .await;
    assert_eq!(demote.status, 409, "{}", demote.body);
    assert_eq!(demote.field(), "admin");
    // Renaming itself is fine.
    let rename = call(
        &server,
        Method::PATCH,
        &format!("/clients/{agent}"),
        Some(&token),
        Some(json!({ "name": "Support desk (EU)" })),
    )
    .await;
    assert_eq!(rename.status, 200, "{}", rename.body);

    // A token for the clients area alone manages relying parties, not agents.
    let (id, secret) = admin_client(&server, &["verity:admin"]).await;
    let narrow = client_token(&server, &id, &secret, Some("verity:admin:clients")).await;
    let rp = call(
        &server,
        Method::POST,
        "/clients",
        Some(&narrow),
        Some(batch_job()),
    )
    .await;
    assert_eq!(rp.status, 201, "{}", rp.body);
    let mut admin_body = batch_job();
    admin_body["admin"] = json!(true);
    admin_body["scopes"] = json!(["verity:admin"]);
    let escalate = call(
        &server,
        Method::POST,
        "/clients",
        Some(&narrow),
        Some(admin_body.clone()),
    )
    .await;
    assert_eq!(escalate.status, 403, "{}", escalate.body);
    let rp_id = rp.body["client_id"].as_str().unwrap();
    let promote = call(
        &server,
        Method::PATCH,
        &format!("/clients/{rp_id}"),
        Some(&narrow),
        Some(json!({ "admin": true, "scopes": ["verity:admin"] })),
    )
    .await;
    assert_eq!(promote.status, 403, "{}", promote.body);
    let steal = call(
        &server,
        Method::POST,
        &format!("/clients/{agent}/secret"),
        Some(&narrow),
        None,
    )
    .await;
    assert_eq!(steal.status, 403, "{}", steal.body);
    // With verity:admin it works.
    let minted = call(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(admin_body),
    )
    .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    assert_eq!(minted.body["admin"], true);
}

#[actix_web::test]
async fn adding_a_client_twice_with_one_idempotency_key_adds_it_once() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let key = [("Idempotency-Key", "add-nightly-export")];
    let first = call_with(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(batch_job()),
        &key,
    )
    .await;
    assert_eq!(first.status, 201);
    let count = client_count(&server).await;
    let again = call_with(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(batch_job()),
        &key,
    )
    .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["client_id"], first.body["client_id"]);
    assert_eq!(client_count(&server).await, count, "added once");
    // The secret is shown once: the stored answer doesn't keep it.
    assert!(first.body["client_secret"].is_string());
    assert_eq!(again.body["client_secret"], Value::Null);
    let stored: Vec<String> = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::idempotency_keys::dsl::*;
            Ok(idempotency_keys.select(response).load(c)?)
        })
        .await
        .unwrap();
    let secret = first.body["client_secret"].as_str().unwrap();
    assert!(stored.iter().all(|r| !r.contains(secret)), "{stored:?}");

    // A repeated rotation rotates once; the secret it handed out is the one that works.
    let id = first.body["client_id"].as_str().unwrap().to_string();
    let path = format!("/clients/{id}/secret");
    let key = [("Idempotency-Key", "rotate-nightly-export")];
    let rotated = call_with(&server, Method::POST, &path, Some(&token), None, &key).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let repeat = call_with(&server, Method::POST, &path, Some(&token), None, &key).await;
    assert_eq!(repeat.status, 200);
    assert_eq!(repeat.body["client_id"], id.as_str());
    assert_eq!(repeat.body["client_secret"], Value::Null);
    let new_secret = rotated.body["client_secret"].as_str().unwrap();
    assert_eq!(token_status(&server, &id, new_secret).await, 200);
    assert_eq!(
        audit_events_of_kind(&server, "client_secret_rotated")
            .await
            .len(),
        1
    );
}

//! Refresh tokens, client_credentials, revocation and introspection, as an RP sees them.

use crate::harness::*;
use openidconnect::{OAuth2TokenResponse, Scope, TokenResponse};

async fn post_form(
    server: &TestServer,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().post(server.url(path)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("ben@example.com").await;
    let req = rp.auth_request(&["email", "offline_access"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    rp.verify(&tokens, &req.nonce);
    let first = tokens.refresh_token().expect("a refresh token").clone();

    // Rotation through the openidconnect client: a new refresh token and a fresh ID token.
    let refreshed = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("refresh works");
    let second = refreshed.refresh_token().expect("rotated").clone();
    assert_ne!(first.secret(), second.secret());
    assert!(refreshed.id_token().is_some());

    // Narrowing is fine; widening is refused.
    let narrowed = rp
        .client
        .exchange_refresh_token(&second)
        .unwrap()
        .add_scope(Scope::new("openid".into()))
        .request_async(&rp.http)
        .await
        .expect("narrower scope");
    assert_eq!(
        narrowed
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        vec!["openid"]
    );
    let third = narrowed.refresh_token().unwrap().clone();
    let secret = secret.unwrap();
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&client_id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", third.secret()),
            ("scope", "openid email phone"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // Reusing an already-rotated token revokes the whole family, including the newest token.
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&client_id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first.secret()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&client_id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", third.secret()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest token of the family is dead too: {body}"
    );
    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(narrowed.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        401,
        "access tokens of the family stop working"
    );
    let audited = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events;
            Ok(audit_events::table
                .filter(audit_events::kind.eq("refresh_token_reuse_revoked_family"))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[actix_web::test]
async fn signing_out_ends_online_families_but_not_offline_access() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    let browser = server.signed_in_browser("cal@example.com").await;
    let online = {
        let req = rp.auth_request(&[]);
        let callback = authorize_to_callback(&browser, &req.url).await;
        rp.exchange(&query_of(&callback)["code"], req.verifier)
            .await
            .unwrap()
    };
    let offline = {
        let req = rp.auth_request(&["offline_access"]);
        let callback = authorize_to_callback(&browser, &req.url).await;
        rp.exchange(&query_of(&callback)["code"], req.verifier)
            .await
            .unwrap()
    };
    let home = browser.get_ok("/").await;
    browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    let refresh = |t: String| {
        let (id, sec) = (client_id.clone(), secret.clone());
        let server = &server;
        async move {
            post_form(
                server,
                "/token",
                Some((&id, &sec)),
                &[("grant_type", "refresh_token"), ("refresh_token", &t)],
            )
            .await
            .0
        }
    };
    assert_eq!(
        refresh(online.refresh_token().unwrap().secret().clone()).await,
        400,
        "online family ended with the session"
    );
    assert_eq!(
        refresh(offline.refresh_token().unwrap().secret().clone()).await,
        200,
        "offline_access survives sign-out"
    );
}

#[actix_web::test]
async fn client_credentials_for_confidential_clients_with_allowed_scopes() {
    let server = TestServer::start().await;
    let settings = server.ctx.settings.clone();
    let now = server.ctx.clock.now();
    let add = |admin: bool, scopes: Vec<String>| {
        let (settings, db) = (settings.clone(), server.ctx.db.clone());
        async move {
            db.run(move |c| {
                verity::oauth::clients::add(
                    c,
                    &settings,
                    now,
                    verity::oauth::clients::NewClient {
                        name: "Batch job".into(),
                        redirect_uris: vec![],
                        public: false,
                        scopes,
                        grant_types: vec!["client_credentials".into()],
                        admin,
                        post_logout_redirect_uris: vec![],
                        backchannel_logout_uri: None,
                        ..Default::default()
                    },
                )
            })
            .await
        }
    };
    let refused = add(false, vec!["verity:admin".into()])
        .await
        .expect_err("admin scopes need an admin client");
    let field = refused
        .downcast_ref::<verity::oauth::clients::FieldError>()
        .unwrap_or_else(|| panic!("a field error, got {refused:#}"));
    assert_eq!(
        (field.field, field.message.as_str()),
        (
            "scopes",
            "scope verity:admin needs an admin client (--admin)"
        )
    );
    let job = add(false, vec!["reports:read".into(), "reports:write".into()])
        .await
        .unwrap();
    let (id, secret) = (
        job.client_id.as_str(),
        job.client_secret.as_deref().unwrap(),
    );

    let (status, body) = post_form(
        &server,
        "/token",
        Some((id, secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports:read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "reports:read");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap().to_string();

    let (status, body) = post_form(
        &server,
        "/token",
        Some((id, secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "verity:admin"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = post_form(
        &server,
        "/token",
        Some((id, "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // An interactive client isn't allowed this grant.
    let (web_id, web_secret) = server.add_client(false).await;
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&web_id, web_secret.as_deref().unwrap())),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // A client token is not a person's: userinfo refuses it.
    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let admin = add(true, vec!["verity:admin".into()]).await.unwrap();
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&admin.client_id, admin.client_secret.as_deref().unwrap())),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "verity:admin"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn revoke_then_introspect() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    let browser = server.signed_in_browser("dee@example.com").await;
    let req = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let me = Some((client_id.as_str(), secret.as_str()));

    let (status, body) = post_form(&server, "/introspect", me, &[("token", &access)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(body["scope"], "openid email");
    let (_, body) = post_form(&server, "/introspect", me, &[("token", &refresh)]).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");

    // Another client sees nothing; without authentication there's no answer at all.
    let (other_id, other_secret) = server.add_client(false).await;
    let (_, body) = post_form(
        &server,
        "/introspect",
        Some((&other_id, other_secret.as_deref().unwrap())),
        &[("token", &access)],
    )
    .await;
    assert_eq!(body, serde_json::json!({ "active": false }));
    let (status, _) = post_form(&server, "/introspect", None, &[("token", &access)]).await;
    assert_eq!(status, 401);
    let (_, body) = post_form(&server, "/introspect", me, &[("token", "not-a-token")]).await;
    assert_eq!(body, serde_json::json!({ "active": false }));

    // Revoke the access token: introspection and userinfo turn it away.
    let (status, _) = post_form(
        &server,
        "/revoke",
        me,
        &[("token", &access), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = post_form(&server, "/introspect", me, &[("token", &access)]).await;
    assert_eq!(body["active"], false);
    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Revoke the refresh token: its family ends.
    let (status, _) = post_form(&server, "/revoke", me, &[("token", &refresh)]).await;
    assert_eq!(status, 200);
    let (_, body) = post_form(&server, "/introspect", me, &[("token", &refresh)]).await;
    assert_eq!(body["active"], false);
    let (status, body) = post_form(
        &server,
        "/token",
        me,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Unknown tokens are accepted silently (RFC 7009 §2.2).
    let (status, _) = post_form(&server, "/revoke", me, &[("token", "unknown")]).await;
    assert_eq!(status, 200);
}

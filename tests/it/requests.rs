//! Pushed authorization requests and pairwise subjects.

use crate::harness::*;
use verity::oauth::clients::NewClient;

fn web_client(name: &str, redirect: &str) -> NewClient {
    NewClient {
        name: name.into(),
        redirect_uris: vec![redirect.into()],
        grant_types: vec!["authorization_code".into()],
        ..Default::default()
    }
}

async fn push(
    server: &TestServer,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(server.url("/par"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[actix_web::test]
async fn pushed_authorization_requests_are_single_use_and_can_be_required() {
    let server = TestServer::start().await;
    let created = server
        .register(NewClient {
            require_par: true,
            ..web_client("Benefits", RP_REDIRECT)
        })
        .await;
    let (id, secret) = (
        created.client_id.clone(),
        created.client_secret.clone().unwrap(),
    );
    let rp = server.rp(&id, Some(&secret)).await;
    let browser = server.signed_in_browser("hal@example.com").await;

    // Without PAR this client is refused, back at the RP.
    let req = rp.auth_request(&[]);
    let (url, _) = browser.follow(browser.get_abs(&req.url).await).await;
    assert_eq!(query_of(&url)["error"], "invalid_request");

    // Push the same parameters the openidconnect client built.
    let req = rp.auth_request(&["email"]);
    let pairs: Vec<(String, String)> = url::Url::parse(&req.url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) = push(&server, &id, &secret, &form).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_string();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(body["expires_in"], 60);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let authorize = format!(
        "/authorize?client_id={id}&request_uri={}",
        enc(&request_uri)
    );
    let callback = authorize_to_callback(&browser, &server.url(&authorize)).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    rp.verify(&tokens, &req.nonce);

    // Reusing the request_uri: refused, no redirect.
    let res = browser.get(&authorize).await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());

    // A push with an unregistered redirect URI, or by a client that can't authenticate.
    let (status, body) = push(
        &server,
        &id,
        &secret,
        &[
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _) = push(&server, &id, "wrong", &form).await;
    assert_eq!(status, 401);
}

async fn subject_for(
    server: &TestServer,
    browser: &Browser,
    client_id: &str,
    secret: &str,
    redirect: &str,
) -> String {
    // The harness RP always uses RP_REDIRECT; these clients register it too.
    let _ = redirect;
    let rp = server.rp(client_id, Some(secret)).await;
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let claims = rp.verify(&tokens, &req.nonce);
    let info: serde_json::Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(openidconnect::OAuth2TokenResponse::access_token(&tokens).secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        info["sub"],
        claims.subject().as_str(),
        "userinfo and ID token agree"
    );
    claims.subject().to_string()
}

#[actix_web::test]
async fn pairwise_subjects_differ_across_sectors_and_match_within_one() {
    let server = TestServer::start().await;
    let pairwise = |name: &str, sector: &str| NewClient {
        subject_type: Some("pairwise".into()),
        sector_identifier: Some(sector.into()),
        redirect_uris: vec![RP_REDIRECT.into()],
        ..web_client(name, RP_REDIRECT)
    };
    let tax_a = server.register(pairwise("Tax A", "tax.example.gov")).await;
    let tax_b = server.register(pairwise("Tax B", "tax.example.gov")).await;
    let bank = server.register(pairwise("Bank", "bank.example.com")).await;
    let public = server.register(web_client("Plain", RP_REDIRECT)).await;
    let loaded = server
        .ctx
        .clients
        .get(&tax_a.client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(loaded.pairwise(), "{loaded:?}");
    let browser = server.signed_in_browser("ivy@example.com").await;
    let sub = |c: &verity::oauth::clients::CreatedClient| {
        let (id, secret) = (c.client_id.clone(), c.client_secret.clone().unwrap());
        let (server, browser) = (&server, &browser);
        async move { subject_for(server, browser, &id, &secret, RP_REDIRECT).await }
    };
    let (a, b, bank_sub, public_sub) = (
        sub(&tax_a).await,
        sub(&tax_b).await,
        sub(&bank).await,
        sub(&public).await,
    );
    assert_eq!(a, b, "same sector, same subject");
    assert_ne!(a, bank_sub, "different sectors can't correlate");
    assert_ne!(a, public_sub);
    let user_id = server
        .ctx
        .db
        .run(|c| {
            Ok(verity::accounts::users::by_email(c, "ivy@example.com")?
                .unwrap()
                .id)
        })
        .await
        .unwrap();
    assert_eq!(public_sub, user_id, "public clients see the account id");
    // Several hosts without a sector identifier: refused at registration.
    let settings = server.ctx.settings.clone();
    let now = server.ctx.clock.now();
    let bad = server
        .ctx
        .db
        .run(move |c| {
            verity::oauth::clients::add(
                c,
                &settings,
                now,
                NewClient {
                    subject_type: Some("pairwise".into()),
                    redirect_uris: vec![
                        "https://a.example/cb".into(),
                        "https://b.example/cb".into(),
                    ],
                    ..web_client("Two hosts", "https://a.example/cb")
                },
            )
        })
        .await;
    let err = bad.expect_err("several hosts without a sector identifier are refused");
    let field = err
        .downcast_ref::<verity::oauth::clients::FieldError>()
        .unwrap_or_else(|| panic!("a field error, got {err:#}"));
    assert_eq!(field.field, "sector_identifier");
    assert_eq!(
        field.message,
        "a pairwise client with redirect URIs on several hosts needs a sector identifier"
    );
}

/// Drives the code flow of `client` with `redirect` (any host) and returns the `sub` of the
/// ID token, checked against userinfo.
async fn subject_via(
    server: &TestServer,
    browser: &Browser,
    client: &verity::oauth::clients::CreatedClient,
    redirect: &str,
) -> String {
    let mut rp = server
        .rp(&client.client_id, client.client_secret.as_deref())
        .await;
    rp.client = rp
        .client
        .set_redirect_uri(openidconnect::RedirectUrl::new(redirect.to_string()).unwrap());
    let req = rp.auth_request(&[]);
    let (mut url, res) = browser.follow(browser.get_abs(&req.url).await).await;
    if !url.starts_with(redirect) {
        let html = res.text().await.unwrap();
        assert!(html.contains("Allow"), "the consent page: {html}");
        let res = browser
            .post(
                "/consent",
                &[
                    ("csrf", &csrf_of(&html)),
                    ("authz", &hidden(&html, "authz")),
                    ("decision", "allow"),
                ],
            )
            .await;
        url = browser.follow(res).await.0;
    }
    assert!(url.starts_with(redirect), "back at {redirect}: {url}");
    let tokens = rp
        .exchange(&query_of(&url)["code"], req.verifier)
        .await
        .unwrap();
    let claims = rp.verify(&tokens, &req.nonce);
    let info: serde_json::Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(openidconnect::OAuth2TokenResponse::access_token(&tokens).secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims.subject().as_str());
    claims.subject().to_string()
}

#[actix_web::test]
async fn pairwise_sector_without_an_identifier_is_the_redirect_host() {
    let server = TestServer::start().await;
    // No sector identifier: the sector is the host of the redirect URIs (the port and path
    // don't count).
    let pairwise = |name: &str, redirect: &str| NewClient {
        subject_type: Some("pairwise".into()),
        ..web_client(name, redirect)
    };
    const SAME_HOST: &str = "http://localhost:7777/other/callback";
    const OTHER_HOST: &str = "http://127.0.0.1:9999/callback";
    let a = server.register(pairwise("Tax A", RP_REDIRECT)).await;
    let b = server.register(pairwise("Tax B", SAME_HOST)).await;
    let c = server.register(pairwise("Bank", OTHER_HOST)).await;
    // The same sector named explicitly.
    let named = server
        .register(NewClient {
            sector_identifier: Some("localhost".into()),
            ..pairwise("Named", OTHER_HOST)
        })
        .await;
    let browser = server.signed_in_browser("ola@example.com").await;
    let user_id = server
        .ctx
        .db
        .run(|c| {
            Ok(verity::accounts::users::by_email(c, "ola@example.com")?
                .unwrap()
                .id)
        })
        .await
        .unwrap();

    let sub_a = subject_via(&server, &browser, &a, RP_REDIRECT).await;
    let sub_b = subject_via(&server, &browser, &b, SAME_HOST).await;
    let sub_c = subject_via(&server, &browser, &c, OTHER_HOST).await;
    let sub_named = subject_via(&server, &browser, &named, OTHER_HOST).await;
    assert_eq!(sub_a, sub_b, "one redirect host, one sector, one subject");
    assert_ne!(sub_a, sub_c, "another host is another sector");
    assert_eq!(
        sub_named, sub_a,
        "the sector identifier \"localhost\" is the sector the host gave"
    );
    for sub in [&sub_a, &sub_c] {
        assert_ne!(sub, &user_id, "pairwise clients never see the account id");
    }
}

/// A browser signed in with the password only: a remembered browser stood in for the second
/// factor, so its session is AAL1.
async fn remembered_browser_session(server: &TestServer, email: &str) -> Browser {
    let browser = server.browser();
    server.create_account(&browser, email).await;
    server.sign_in_fully(&browser, email).await;
    let home = browser.get_ok("/").await;
    browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = browser.get_ok("/mfa?method=backup").await;
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &server.take_backup_code(email)),
                ("remember", "yes"),
            ],
        )
        .await;
    assert!(
        is_signed_in(&res),
        "second factor passed, browser remembered"
    );
    let home = browser.get_ok("/").await;
    browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert!(
        is_signed_in(&res),
        "password only: the remembered browser stands in for the second factor"
    );
    browser
}

#[actix_web::test]
async fn the_claims_parameter_releases_named_claims_and_essential_acr_demands_the_second_factor() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = remembered_browser_session(&server, "kay@example.com").await;

    // Positive control: an ordinary request is satisfied by this AAL1 session.
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let id = rp.verify(&tokens, &req.nonce);
    assert_eq!(id.auth_context_ref().unwrap().as_str(), "urn:verity:aal1");

    let claims = serde_json::json!({
        "id_token": {
            "email": { "essential": true },
            "acr": { "essential": true, "values": ["urn:verity:aal2"] }
        },
        "userinfo": { "email_verified": null }
    })
    .to_string();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();

    // The essential acr asks for AAL2: the AAL1 session isn't enough, and the remembered
    // browser doesn't skip the second factor: password, then the second factor is demanded.
    let req = rp.auth_request(&[]);
    let url = format!("{}&claims={}", req.url, enc(&claims));
    let (url, res) = browser.follow(browser.get_abs(&url).await).await;
    assert!(url.contains("/login"), "a fresh sign-in is demanded: {url}");
    let login = res.text().await.unwrap();
    let res = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&login)),
                ("email", "kay@example.com"),
                ("password", PASSWORD),
                ("authz", &hidden(&login, "authz")),
            ],
        )
        .await;
    assert_eq!(
        res.headers()["location"],
        "/mfa",
        "the second factor is demanded despite the remembered browser"
    );
    assert!(!is_signed_in(&res));
    let page = browser.get_ok("/mfa?method=backup").await;
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &server.take_backup_code("kay@example.com")),
            ],
        )
        .await;
    assert!(is_signed_in(&res));

    // Only `openid` as scope: the named claims still come, after consent that names them.
    let (_, res) = browser.follow(res).await;
    let consent = res.text().await.unwrap();
    assert!(
        consent.contains("Your email address"),
        "consent lists what the claims release"
    );
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
    let id = rp.verify(&tokens, &req.nonce);
    assert_eq!(id.email().map(|e| e.as_str()), Some("kay@example.com"));
    assert_eq!(id.auth_context_ref().unwrap().as_str(), "urn:verity:aal2");
    let info: serde_json::Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(openidconnect::OAuth2TokenResponse::access_token(&tokens).secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email_verified"], true);

    // Malformed claims, and an essential acr no one can reach, go back as errors with state.
    for (bad, error) in [
        ("{not json", "invalid_request"),
        (
            r#"{"id_token":{"acr":{"essential":true,"values":["urn:verity:ial2"]}}}"#,
            "unmet_authentication_requirements",
        ),
    ] {
        let req = rp.auth_request(&[]);
        let res = browser
            .get_abs(&format!("{}&claims={}", req.url, enc(bad)))
            .await;
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(query_of(&location)["error"], error, "{bad}");
        assert_eq!(&query_of(&location)["state"], req.state.secret());
    }
}

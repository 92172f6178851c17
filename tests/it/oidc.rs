//! The relying party's view: the code flow with PKCE through the openidconnect crate, and
//! every way it should fail.

use crate::harness::*;
use openidconnect::OAuth2TokenResponse;

#[actix_web::test]
async fn full_flow_sign_up_to_userinfo() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.browser();
    let req = rp.auth_request(&["email", "profile"]);

    // Not signed in: the RP's request leads to the sign-in page, naming the app.
    let res = browser.get_abs(&req.url).await;
    let (url, res) = browser.follow(res).await;
    assert!(url.contains("/login?authz="), "{url}");
    let login = res.text().await.unwrap();
    assert_eq!(
        text_of(&login, ".context").as_deref(),
        Some("to continue to Tax Portal")
    );
    let authz = hidden(&login, "authz");

    // New here: sign up from there, confirm the email, come back through the link.
    let signup = browser.get_ok(&format!("/signup?authz={authz}")).await;
    let res = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf_of(&signup)),
                ("email", "mia@example.com"),
                ("terms", "accepted"),
                ("authz", &authz),
            ],
        )
        .await;
    assert!(res.text().await.unwrap().contains("Check your email"));
    let link = server
        .link_from_outbox("mia@example.com", "Confirm your email")
        .await;
    let (_, confirmed) = server
        .open_confirmation_link(&browser, &link, PASSWORD)
        .await;
    assert!(confirmed.contains("Email confirmed"));
    let continue_link = format!("/login?authz={authz}");
    assert!(
        confirmed.contains(&continue_link),
        "the confirmation page leads back into the request"
    );

    let login = browser.get_ok(&continue_link).await;
    let res = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&login)),
                ("email", "mia@example.com"),
                ("password", PASSWORD),
                ("authz", &authz),
            ],
        )
        .await;
    let res = server
        .pass_second_factor(&browser, "mia@example.com", res)
        .await;
    let (url, res) = browser.follow(res).await;
    assert!(url.contains("/consent"), "{url}");
    let consent = res.text().await.unwrap();
    assert!(consent.contains("Allow Tax Portal to use your"));
    assert!(consent.contains("Your email address"));
    assert!(consent.contains("Your name"));
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &authz),
                ("decision", "allow"),
            ],
        )
        .await;
    let (callback, _) = browser.follow(res).await;
    assert!(callback.starts_with(RP_REDIRECT));
    let q = query_of(&callback);
    assert_eq!(
        q.get("state").map(String::as_str),
        Some(req.state.secret().as_str())
    );
    assert_eq!(q.get("iss").map(String::as_str), Some(server.base.as_str()));

    let tokens = rp.exchange(&q["code"], req.verifier).await.expect("tokens");
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(claims.issuer().as_str(), server.base);
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:verity:aal2")
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        amr,
        vec!["pwd", "mfa"],
        "password, then backup codes set up as the second factor"
    );

    // sid and the access token's type, read raw as any RP could.
    let raw_id: serde_json::Value = jwt_payload(&tokens.extra_fields_id_token());
    assert!(raw_id["sid"].as_str().is_some_and(|s| !s.is_empty()));
    let at_header = jwt_header(tokens.access_token().secret());
    assert_eq!(at_header["typ"], "at+jwt");

    let info: serde_json::Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims.subject().as_str());
    assert_eq!(info["email"], "mia@example.com");
    assert_eq!(info["email_verified"], true);

    // Consent is remembered: the next request for the same scopes goes straight back.
    let again = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &again.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], again.verifier)
        .await
        .expect("tokens");
    rp.verify(&tokens, &again.nonce);
}

trait IdTokenRaw {
    fn extra_fields_id_token(&self) -> String;
}
impl IdTokenRaw for openidconnect::core::CoreTokenResponse {
    fn extra_fields_id_token(&self) -> String {
        use openidconnect::TokenResponse;
        self.id_token().unwrap().to_string()
    }
}

fn jwt_part(jwt: &str, i: usize) -> serde_json::Value {
    let part = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&verity::crypto::b64url_decode(part).unwrap()).unwrap()
}
fn jwt_payload(jwt: &str) -> serde_json::Value {
    jwt_part(jwt, 1)
}
fn jwt_header(jwt: &str) -> serde_json::Value {
    jwt_part(jwt, 0)
}

#[actix_web::test]
async fn prompt_none_answers_without_showing_pages() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;

    // Without a session: login_required, with the state.
    let browser = server.browser();
    let req = rp.auth_request(&[]);
    let res = browser.get_abs(&format!("{}&prompt=none", req.url)).await;
    let (url, _) = browser.follow(res).await;
    let q = query_of(&url);
    assert!(url.starts_with(RP_REDIRECT));
    assert_eq!(q["error"], "login_required");
    assert_eq!(&q["state"], req.state.secret());

    // Signed in but never consented: consent_required.
    let browser = server.signed_in_browser("ned@example.com").await;
    let req = rp.auth_request(&[]);
    let (url, _) = browser
        .follow(browser.get_abs(&format!("{}&prompt=none", req.url)).await)
        .await;
    assert_eq!(query_of(&url)["error"], "consent_required");

    // Signed in and consented: a code, silently.
    let req = rp.auth_request(&[]);
    authorize_to_callback(&browser, &req.url).await;
    let req = rp.auth_request(&[]);
    let (url, _) = browser
        .follow(browser.get_abs(&format!("{}&prompt=none", req.url)).await)
        .await;
    let q = query_of(&url);
    assert!(q.contains_key("code"), "{url}");
    let tokens = rp.exchange(&q["code"], req.verifier).await.expect("tokens");
    rp.verify(&tokens, &req.nonce);
}

#[actix_web::test]
async fn prompt_login_and_max_age_force_a_fresh_sign_in() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("ola@example.com").await;
    authorize_to_callback(&browser, &rp.auth_request(&[]).url).await;

    let req = rp.auth_request(&[]);
    let (url, _) = browser
        .follow(browser.get_abs(&format!("{}&prompt=login", req.url)).await)
        .await;
    assert!(
        url.contains("/login?authz="),
        "prompt=login shows the sign-in form: {url}"
    );

    server.ctx.clock.advance(120);
    let req = rp.auth_request(&[]);
    let (url, res) = browser
        .follow(browser.get_abs(&format!("{}&max_age=60", req.url)).await)
        .await;
    assert!(url.contains("/login?authz="), "max_age exceeded: {url}");
    let login = res.text().await.unwrap();
    let res = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&login)),
                ("email", "ola@example.com"),
                ("password", PASSWORD),
                ("authz", &hidden(&login, "authz")),
            ],
        )
        .await;
    let res = server
        .pass_second_factor(&browser, "ola@example.com", res)
        .await;
    let (callback, _) = browser.follow(res).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
    let claims = rp.verify(&tokens, &req.nonce);
    let auth_time = claims.auth_time().unwrap().timestamp();
    assert!(
        server.ctx.clock.unix_now() - auth_time < 30,
        "auth_time is the fresh sign-in"
    );
}

#[actix_web::test]
async fn denying_consent_returns_access_denied() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("pat@example.com").await;
    let req = rp.auth_request(&["email"]);
    let (_, res) = browser.follow(browser.get_abs(&req.url).await).await;
    let html = res.text().await.unwrap();
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&html)),
                ("authz", &hidden(&html, "authz")),
                ("decision", "deny"),
            ],
        )
        .await;
    let (url, _) = browser.follow(res).await;
    let q = query_of(&url);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(&q["state"], req.state.secret());
    // The request is finished: replaying the consent form does nothing.
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
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn bad_client_or_redirect_uri_never_redirects() {
    let server = TestServer::start().await;
    let (client_id, _) = server.add_client(false).await;
    let browser = server.browser();
    let cases = [
        format!("/authorize?client_id={client_id}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=openid&state=s"),
        format!("/authorize?client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9999%2Fcallback%2Fextra&response_type=code&scope=openid"),
        format!("/authorize?client_id={client_id}&response_type=code&scope=openid"),
        "/authorize?client_id=nope&redirect_uri=http%3A%2F%2Flocalhost%3A9999%2Fcallback&response_type=code&scope=openid".to_string(),
        "/authorize?response_type=code&scope=openid".to_string(),
    ];
    for path in cases {
        let res = browser.get(&path).await;
        assert_eq!(res.status(), 400, "{path}");
        assert!(
            res.headers().get("location").is_none(),
            "no redirect for {path}"
        );
        let html = res.text().await.unwrap();
        assert_eq!(
            text_of(&html, "h1").as_deref(),
            Some("We can't continue this sign-in"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn other_request_errors_go_back_to_the_rp_with_state() {
    let server = TestServer::start().await;
    let (public_id, _) = server.add_client(true).await;
    let browser = server.browser();
    let redirect = "http%3A%2F%2Flocalhost%3A9999%2Fcallback";
    let cases = [
        ("response_type=token&scope=openid".to_string(), "unsupported_response_type"),
        ("response_type=code&scope=profile".to_string(), "invalid_scope"),
        ("response_type=code&scope=openid%20admin".to_string(), "invalid_scope"),
        ("response_type=code&scope=openid".to_string(), "invalid_request"), // public client without PKCE
        (
            "response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain".to_string(),
            "invalid_request",
        ),
        (
            "response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&prompt=none%20login".to_string(),
            "invalid_request",
        ),
    ];
    for (query, error) in cases {
        let res = browser
            .get(&format!(
                "/authorize?client_id={public_id}&redirect_uri={redirect}&state=xyz&{query}"
            ))
            .await;
        assert_eq!(res.status(), 302, "{query}");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        let q = query_of(&location);
        assert!(location.starts_with(RP_REDIRECT));
        assert_eq!(q["error"], error, "{query}");
        assert_eq!(q["state"], "xyz");
    }
}

#[actix_web::test]
async fn token_endpoint_refuses_wrong_verifier_wrong_secret_and_replays() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    let browser = server.signed_in_browser("quinn@example.com").await;

    // Wrong PKCE verifier.
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let wrong = openidconnect::PkceCodeVerifier::new("x".repeat(50));
    assert_eq!(
        rp.exchange(&query_of(&callback)["code"], wrong)
            .await
            .unwrap_err(),
        "invalid_grant"
    );

    // Wrong client secret: 401 invalid_client with a Basic challenge.
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client_id, Some("not-the-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", req.verifier.secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    // The right secret through client_secret_post works once...
    let exchange = || async {
        reqwest::Client::new()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", RP_REDIRECT),
                ("code_verifier", req.verifier.secret().as_str()),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap()
    };
    let first = exchange().await;
    assert_eq!(first.status(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    let access_token = first["access_token"].as_str().unwrap().to_string();
    let userinfo = |token: String| {
        let url = server.url("/userinfo");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(userinfo(access_token.clone()).await.status(), 200);

    // ...and a replay fails and revokes what the first exchange issued.
    let replay = exchange().await;
    assert_eq!(replay.status(), 400);
    let body: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let res = userinfo(access_token).await;
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
}

#[actix_web::test]
async fn public_clients_use_pkce_without_a_secret() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(true).await;
    assert!(secret.is_none(), "public clients get no secret");
    let rp = server.rp(&client_id, None).await;
    let browser = server.signed_in_browser("sam@example.com").await;
    let req = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();

    // A redirect_uri that differs from the one in the request is refused.
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://localhost:9999/other"),
            ("code_verifier", req.verifier.secret().as_str()),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // That attempt consumed the code (it was presented); a fresh one works with PKCE only.
    let req = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
    rp.verify(&tokens, &req.nonce);
}

#[actix_web::test]
async fn token_and_userinfo_errors_are_precise() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let http = reqwest::Client::new();
    let post = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = server.url("/token");
        async move { http.post(url).form(&form).send().await.unwrap() }
    };
    let res = post(vec![
        ("grant_type", "password".into()),
        ("client_id", client_id.clone()),
        ("client_secret", secret.clone()),
    ])
    .await;
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let res = post(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", client_id.clone()),
        ("client_secret", secret.clone()),
    ])
    .await;
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let res = post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", "forged".into()),
        ("client_id", client_id.clone()),
        ("client_secret", secret.clone()),
        ("redirect_uri", RP_REDIRECT.into()),
    ])
    .await;
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let res = post(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", "unknown".into()),
    ])
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let res = http
        .post(server.url("/token"))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let res = http.get(server.url("/userinfo")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = http
        .get(server.url("/userinfo"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_token"
    );
}

//! Health, readiness, discovery, headers, the dev outbox, and bad input.

use crate::harness::*;

#[actix_web::test]
async fn health_and_readiness_answer() {
    let server = TestServer::start().await;
    let res = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let res = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "database": "ok", "store": "ok" }));
}

#[actix_web::test]
async fn discovery_lists_what_is_supported() {
    let server = TestServer::start().await;
    let res = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d: serde_json::Value = res.json().await.unwrap();
    assert_eq!(d["issuer"], server.base);
    assert_eq!(d["authorization_endpoint"], server.url("/authorize"));
    assert_eq!(d["token_endpoint"], server.url("/token"));
    assert_eq!(d["userinfo_endpoint"], server.url("/userinfo"));
    assert_eq!(d["jwks_uri"], server.url("/jwks.json"));
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let methods = d["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&"client_secret_basic".into()) && methods.contains(&"none".into()));
    assert!(d["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&"email".into()));

    let jwks: serde_json::Value = reqwest::get(server.url("/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "no private parts in the JWKS");
}

#[actix_web::test]
async fn pages_carry_the_security_headers() {
    let server = TestServer::start().await;
    for path in ["/", "/login", "/signup", "/no-such-page"] {
        let res = reqwest::get(server.url(path)).await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS on an http issuer"
        );
    }
    let res = reqwest::get(server.url("/no-such-page")).await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

#[actix_web::test]
async fn every_form_field_has_a_label() {
    let server = TestServer::start().await;
    let browser = server.browser();
    for path in ["/login", "/signup"] {
        let html = browser.get_ok(path).await;
        let doc = scraper::Html::parse_document(&html);
        let inputs = scraper::Selector::parse("input:not([type=hidden])").unwrap();
        for input in doc.select(&inputs) {
            let id = input
                .value()
                .attr("id")
                .expect("every visible input has an id");
            let label = scraper::Selector::parse(&format!("label[for={id}]")).unwrap();
            assert!(
                doc.select(&label).next().is_some(),
                "{path}: input {id} has a label"
            );
        }
    }
}

#[actix_web::test]
async fn dev_outbox_shows_messages_in_dev_and_is_refused_in_production() {
    let server = TestServer::start().await;
    let browser = server.browser();
    server.create_account(&browser, "wes@example.com").await;
    let html = browser.get_ok("/dev/outbox").await;
    assert!(html.contains("wes@example.com"));
    assert!(html.contains("Confirm your email"));

    let production = TestServer::start_with(|s| s.env = verity::config::RunMode::Production).await;
    let res = reqwest::get(production.url("/dev/outbox")).await.unwrap();
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn malformed_input_gets_a_clear_page_not_a_500() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.get_ok("/login").await;
    let csrf = csrf_of(&page);
    let res = browser
        .http
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={csrf}&email=a%40b.c&email=d%40e.f&password=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("read that form. Go back, reload the page"));
    // In the person's language, and the parser's own words stay in the log.
    let res = browser
        .http
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-language", "es")
        .body(format!(
            "csrf={csrf}&email=a%40b.c&email=d%40e.f&password=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("No pudimos leer ese formulario"), "{body}");
    assert!(!body.contains("duplicate field"), "{body}");

    let res = browser
        .get("/authorize?client_id=%FF%FE&redirect_uri=%00")
        .await;
    assert_eq!(res.status(), 400);
    let res = browser.get("/consent?authz=does-not-exist").await;
    assert_eq!(res.status(), 400);
    let res = browser.get("/authorize/continue?authz=").await;
    assert_eq!(res.status(), 400);
    let long = "x".repeat(5000);
    let res = browser
        .post(
            "/login",
            &[("csrf", &csrf), ("email", "a@b.c"), ("password", &long)],
        )
        .await;
    assert_eq!(res.status(), 400);
}

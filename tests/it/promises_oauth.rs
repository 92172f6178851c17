//! Issue 11 §3: README promises about OAuth/OIDC and HTTP that had no test. Each test asserts
//! what the relying party or the person would notice, with a positive control.

use std::sync::{Arc, Mutex};

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::cookie::CookieStore;
use reqwest::Method;
use serde_json::{json, Value};
use verity::oauth::clients::NewClient;

use crate::admin_harness::{call, client_token};
use crate::harness::*;

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&verity::crypto::b64url_decode(part).expect("base64url")).expect("JSON")
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A browser whose cookie jar the test can read and write (to copy a cookie elsewhere).
fn browser_with_jar(server: &TestServer) -> (Browser, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let mut browser = server.browser();
    browser.http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("VerityTest/1.0 (integration)")
        .build()
        .expect("client");
    (browser, jar)
}

/// The value of cookie `name` in `jar` for the server.
fn cookie_in(jar: &reqwest::cookie::Jar, server: &TestServer, name: &str) -> Option<String> {
    let url = url::Url::parse(&server.base).expect("url");
    let header = jar.cookies(&url)?;
    header
        .to_str()
        .ok()?
        .split("; ")
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
}

async fn sign_out(browser: &Browser) {
    let home = browser.get_ok("/").await;
    let res = browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    assert_eq!(res.status(), 303, "signed out");
}

/// Password, then a backup code with "remember this browser" ticked. Returns the response to
/// the second factor (the one that sets the remember cookie).
async fn sign_in_remembering(
    server: &TestServer,
    browser: &Browser,
    email: &str,
) -> reqwest::Response {
    let res = server.sign_in(browser, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa", "second factor asked");
    let page = browser.get_ok("/mfa?method=backup").await;
    let code = server.take_backup_code(email);
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &code),
                ("remember", "yes"),
            ],
        )
        .await;
    assert!(is_signed_in(&res), "backup code accepted");
    res
}

/// The response to the password form, for a sign-in on the plain /login page.
async fn password_only(server: &TestServer, browser: &Browser, email: &str) -> reqwest::Response {
    server.sign_in(browser, email, PASSWORD).await
}

/// Follows the RP's request in `browser` and returns where it left Verity and the page.
async fn visit(browser: &Browser, url: &str) -> (String, String) {
    let res = browser.get_abs(url).await;
    let (url, res) = browser.follow(res).await;
    (url, res.text().await.expect("body"))
}

async fn allow(browser: &Browser, consent: &str) -> String {
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(consent)),
                ("authz", &hidden(consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    let (url, _) = browser.follow(res).await;
    assert!(url.starts_with(RP_REDIRECT), "back at the RP: {url}");
    url
}

/// The items listed on a consent page.
fn consent_list(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("ul.scopes li").expect("selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

async fn post_form(
    server: &TestServer,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(server.url(path)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.expect("POST");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn userinfo_status(server: &TestServer, access: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("GET /userinfo");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Tokens for `client` after sign-in and consent in `browser` (scopes besides openid).
async fn tokens_for(
    server: &TestServer,
    browser: &Browser,
    client_id: &str,
    secret: Option<&str>,
    scopes: &[&str],
) -> (openidconnect::core::CoreTokenResponse, Value) {
    let rp = server.rp(client_id, secret).await;
    let req = rp.auth_request(scopes);
    let callback = authorize_to_callback(browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
    rp.verify(&tokens, &req.nonce);
    let id = payload(&tokens.id_token().expect("id_token").to_string());
    (tokens, id)
}

// 1. Consent: new scopes ask again; prompt=consent always asks.

#[actix_web::test]
async fn new_scopes_show_the_consent_page_again_and_prompt_consent_always_asks() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = person_with_phone(&server, "ada@example.com").await;

    // First visit for openid + email: the consent page, naming the email address.
    let req = rp.auth_request(&["email"]);
    let (at, consent) = visit(&browser, &req.url).await;
    assert!(at.contains("/consent"), "{at}");
    let items = consent_list(&consent);
    assert!(items.iter().any(|i| i == "Your email address"), "{items:?}");
    assert!(!items.iter().any(|i| i == "Your phone number"), "{items:?}");
    allow(&browser, &consent).await;

    // Positive control: the same scopes again go straight back with a code.
    let req = rp.auth_request(&["email"]);
    let (at, _) = visit(&browser, &req.url).await;
    assert!(at.starts_with(RP_REDIRECT), "no consent page again: {at}");
    assert!(query_of(&at).contains_key("code"));

    // openid + email + phone: the consent page again, now listing the phone number.
    let req = rp.auth_request(&["email", "phone"]);
    let (at, consent) = visit(&browser, &req.url).await;
    assert!(at.contains("/consent"), "a new scope asks again: {at}");
    let items = consent_list(&consent);
    assert!(items.iter().any(|i| i == "Your phone number"), "{items:?}");
    let callback = allow(&browser, &consent).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
    rp.verify(&tokens, &req.nonce);
    let (status, info) = userinfo_status(&server, tokens.access_token().secret()).await;
    assert_eq!(status, 200);
    assert_eq!(
        info["phone_number"], TEST_PHONE,
        "the new scope was granted"
    );

    // Everything already granted, but prompt=consent: the consent page all the same.
    let req = rp.auth_request(&["email"]);
    let (at, consent) = visit(&browser, &format!("{}&prompt=consent", req.url)).await;
    assert!(at.contains("/consent"), "prompt=consent asks: {at}");
    assert!(consent_list(&consent)
        .iter()
        .any(|i| i == "Your email address"));
    // And without it, the same request is answered silently (control).
    let req = rp.auth_request(&["email", "phone"]);
    let (at, _) = visit(&browser, &req.url).await;
    assert!(at.starts_with(RP_REDIRECT), "{at}");
}

// 2. acr_values=urn:verity:aal2 against a remembered-browser (AAL1) session.

#[actix_web::test]
async fn acr_aal2_makes_a_remembered_browser_session_pass_the_second_factor() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let email = "bea@example.com";
    let browser = server.signed_in_browser(email).await;
    sign_out(&browser).await;
    sign_in_remembering(&server, &browser, email).await;
    sign_out(&browser).await;
    // Password only: the remembered browser stands in for the second factor (AAL1).
    let res = password_only(&server, &browser, email).await;
    assert!(is_signed_in(&res), "remembered browser: no second factor");

    // Control: an ordinary request is answered from the AAL1 session, with acr aal1.
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:verity:aal1")
    );

    // acr_values=urn:verity:aal2 with prompt=none: login_required, with state and iss, no code.
    let aal2 = enc("urn:verity:aal2");
    let req = rp.auth_request(&[]);
    let (at, _) = visit(
        &browser,
        &format!("{}&acr_values={aal2}&prompt=none", req.url),
    )
    .await;
    assert!(at.starts_with(RP_REDIRECT), "{at}");
    let q = query_of(&at);
    assert_eq!(q["error"], "login_required");
    assert_eq!(&q["state"], req.state.secret());
    assert_eq!(q["iss"], server.base);
    assert!(!q.contains_key("code"), "{at}");

    // Interactive: sign in again, and the remembered browser doesn't skip the second factor.
    let req = rp.auth_request(&[]);
    let (at, login) = visit(&browser, &format!("{}&acr_values={aal2}", req.url)).await;
    assert!(at.contains("/login?authz="), "{at}");
    let res = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&login)),
                ("email", email),
                ("password", PASSWORD),
                ("authz", &hidden(&login, "authz")),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/mfa", "second factor demanded");
    let res = server.pass_second_factor(&browser, email, res).await;
    let (callback, _) = browser.follow(res).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:verity:aal2")
    );

    // Now the session is AAL2: the same prompt=none request gets a code, acr aal2.
    let req = rp.auth_request(&[]);
    let (at, _) = visit(
        &browser,
        &format!("{}&acr_values={aal2}&prompt=none", req.url),
    )
    .await;
    let q = query_of(&at);
    assert!(q.contains_key("code"), "{at}");
    let tokens = rp.exchange(&q["code"], req.verifier).await.expect("tokens");
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:verity:aal2")
    );
}

// 3. Remember-browser: bound to the account and the browser, and it expires.

#[actix_web::test]
async fn a_remember_cookie_counts_only_for_its_account_in_its_browser() {
    let server = TestServer::start().await;
    let (ann_browser, ann_jar) = browser_with_jar(&server);
    server.create_account(&ann_browser, "ann@example.com").await;
    server.sign_in_fully(&ann_browser, "ann@example.com").await;
    sign_out(&ann_browser).await;
    sign_in_remembering(&server, &ann_browser, "ann@example.com").await;
    sign_out(&ann_browser).await;
    let remember = cookie_in(&ann_jar, &server, "verity_remember").expect("remember cookie set");

    // Control: in Ann's browser, Ann's password alone signs her in.
    let res = password_only(&server, &ann_browser, "ann@example.com").await;
    assert!(is_signed_in(&res), "remembered: no second factor");
    sign_out(&ann_browser).await;

    // Bob, in his own browser, with Ann's cookie copied in: the second factor is demanded.
    let (bob_browser, bob_jar) = browser_with_jar(&server);
    server.create_account(&bob_browser, "bob@example.com").await;
    server.sign_in_fully(&bob_browser, "bob@example.com").await;
    sign_out(&bob_browser).await;
    bob_jar.add_cookie_str(
        &format!("verity_remember={remember}; Path=/"),
        &url::Url::parse(&server.base).unwrap(),
    );
    assert_eq!(
        cookie_in(&bob_jar, &server, "verity_remember").as_deref(),
        Some(remember.as_str()),
        "the copied cookie is sent"
    );
    let res = password_only(&server, &bob_browser, "bob@example.com").await;
    assert_eq!(res.headers()["location"], "/mfa", "Bob must pass a factor");
    // Ann's own account in that other browser: still demanded (bound to the browser).
    let (other, other_jar) = browser_with_jar(&server);
    other_jar.add_cookie_str(
        &format!("verity_remember={remember}; Path=/"),
        &url::Url::parse(&server.base).unwrap(),
    );
    let res = password_only(&server, &other, "ann@example.com").await;
    assert_eq!(
        res.headers()["location"],
        "/mfa",
        "a copied cookie doesn't travel to another browser"
    );
    // Bob in Ann's browser, which holds her valid cookie: demanded (bound to the account).
    let res = password_only(&server, &ann_browser, "bob@example.com").await;
    assert_eq!(
        res.headers()["location"],
        "/mfa",
        "the cookie names Ann, not Bob"
    );
}

#[actix_web::test]
async fn a_remember_cookie_expires_after_remember_browser_days() {
    let server = TestServer::start().await;
    let email = "cal@example.com";
    let browser = server.signed_in_browser(email).await;
    sign_out(&browser).await;
    sign_in_remembering(&server, &browser, email).await;
    sign_out(&browser).await;
    let lifetime = server.ctx.settings.security.remember_browser_days as i64 * 86400;

    // Just inside the lifetime: the password alone signs in.
    server.ctx.clock.advance(lifetime - 60);
    let res = password_only(&server, &browser, email).await;
    assert!(
        is_signed_in(&res),
        "still remembered a minute before expiry"
    );
    sign_out(&browser).await;

    // Just past it: the second factor again.
    server.ctx.clock.advance(120);
    let res = password_only(&server, &browser, email).await;
    assert_eq!(
        res.headers()["location"],
        "/mfa",
        "the remembered browser expired"
    );
}

// 4. Revocation and introspection between clients.

#[actix_web::test]
async fn revoking_another_clients_tokens_changes_nothing() {
    let server = TestServer::start().await;
    let (owner, owner_secret) = server.add_client(false).await;
    let owner_secret = owner_secret.unwrap();
    let (other, other_secret) = server.add_client(false).await;
    let other_secret = other_secret.unwrap();
    let browser = server.signed_in_browser("dot@example.com").await;
    let (tokens, _) = tokens_for(&server, &browser, &owner, Some(&owner_secret), &["email"]).await;
    let access = tokens.access_token().secret().clone();
    let refresh = tokens
        .refresh_token()
        .expect("refresh token")
        .secret()
        .clone();
    let me = Some((owner.as_str(), owner_secret.as_str()));
    let them = Some((other.as_str(), other_secret.as_str()));

    // The other client tries to revoke both tokens: refused, and nothing happens.
    for token in [&access, &refresh] {
        let (status, body) = post_form(&server, "/revoke", them, &[("token", token)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, info) = userinfo_status(&server, &access).await;
    assert_eq!(status, 200, "the access token still works: {info}");
    assert_eq!(info["email"], "dot@example.com");
    for token in [&access, &refresh] {
        let (_, body) = post_form(&server, "/introspect", me, &[("token", token)]).await;
        assert_eq!(body["active"], true, "{body}");
    }
    let (status, body) = post_form(
        &server,
        "/token",
        me,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "the refresh token still works: {body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_string();

    // Control: the owner revokes them, and they stop working.
    let (status, _) = post_form(&server, "/revoke", me, &[("token", &access)]).await;
    assert_eq!(status, 200);
    let (status, _) = userinfo_status(&server, &access).await;
    assert_eq!(status, 401);
    let (status, _) = post_form(&server, "/revoke", me, &[("token", &refresh)]).await;
    assert_eq!(status, 200);
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
}

#[actix_web::test]
async fn introspection_refuses_public_clients_and_shows_admin_clients_every_token() {
    let server = TestServer::start().await;
    let (owner, owner_secret) = server.add_client(false).await;
    let owner_secret = owner_secret.unwrap();
    let (public_id, _) = server.add_client(true).await;
    let browser = server.signed_in_browser("eve@example.com").await;
    let (tokens, id) = tokens_for(&server, &browser, &owner, Some(&owner_secret), &[]).await;
    let access = tokens.access_token().secret().clone();

    // The public client's own token, introspected by it: 401 invalid_client.
    let (public_tokens, _) = tokens_for(&server, &browser, &public_id, None, &[]).await;
    let public_access = public_tokens.access_token().secret().clone();
    for token in [&public_access, &access] {
        let (status, body) = post_form(
            &server,
            "/introspect",
            None,
            &[("client_id", &public_id), ("token", token)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{body}"
        );
        assert!(body.get("active").is_none(), "{body}");
    }

    // Another ordinary client sees nothing; the owner sees its token (controls).
    let (other, other_secret) = server.add_client(false).await;
    let (_, body) = post_form(
        &server,
        "/introspect",
        Some((&other, other_secret.as_deref().unwrap())),
        &[("token", &access)],
    )
    .await;
    assert_eq!(body, json!({ "active": false }));
    let (_, body) = post_form(
        &server,
        "/introspect",
        Some((&owner, &owner_secret)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(body["active"], true);

    // An admin client sees every client's tokens, with their owner and subject.
    let admin = server
        .register(NewClient {
            name: "Desk".into(),
            admin: true,
            scopes: vec!["verity:admin".into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let admin_auth = Some((
        admin.client_id.as_str(),
        admin.client_secret.as_deref().unwrap(),
    ));
    for (token, client) in [(&access, &owner), (&public_access, &public_id)] {
        let (status, body) =
            post_form(&server, "/introspect", admin_auth, &[("token", token)]).await;
        assert_eq!(status, 200);
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["client_id"], client.as_str());
        assert_eq!(body["token_type"], "Bearer");
    }
    let (_, body) = post_form(&server, "/introspect", admin_auth, &[("token", &access)]).await;
    assert_eq!(body["sub"], id["sub"]);
}

#[actix_web::test]
async fn a_revoked_admin_token_gets_401_at_the_management_api() {
    let server = TestServer::start().await;
    let admin = server
        .register(NewClient {
            name: "Desk".into(),
            admin: true,
            scopes: vec!["verity:admin".into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let secret = admin.client_secret.clone().unwrap();
    let token = client_token(&server, &admin.client_id, &secret, None).await;
    let spare = client_token(&server, &admin.client_id, &secret, None).await;
    let before = call(&server, Method::GET, "/keys", Some(&token), None).await;
    assert_eq!(before.status, 200, "{}", before.body);

    let (status, _) = post_form(
        &server,
        "/revoke",
        Some((&admin.client_id, &secret)),
        &[("token", &token), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(status, 200);
    let after = call(&server, Method::GET, "/keys", Some(&token), None).await;
    assert_eq!(after.status, 401, "{}", after.body);
    let challenge = after
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    // Another token of the same client is untouched.
    let spare = call(&server, Method::GET, "/keys", Some(&spare), None).await;
    assert_eq!(spare.status, 200);
}

// 5. Deleting a client ends its tokens.

#[actix_web::test]
async fn deleting_a_client_ends_its_access_and_refresh_tokens() {
    let server = TestServer::start().await;
    let (gone, gone_secret) = server.add_client(false).await;
    let gone_secret = gone_secret.unwrap();
    let (kept, kept_secret) = server.add_client(false).await;
    let kept_secret = kept_secret.unwrap();
    let browser = server.signed_in_browser("fay@example.com").await;
    let (tokens, _) = tokens_for(&server, &browser, &gone, Some(&gone_secret), &["email"]).await;
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let (kept_tokens, _) = tokens_for(&server, &browser, &kept, Some(&kept_secret), &[]).await;
    let desk = server
        .register(NewClient {
            name: "Desk".into(),
            admin: true,
            scopes: vec!["verity:admin".into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let desk_secret = desk.client_secret.clone().unwrap();
    let desk_auth = Some((desk.client_id.as_str(), desk_secret.as_str()));
    let admin = client_token(&server, &desk.client_id, &desk_secret, None).await;

    // Controls: before the deletion both tokens are alive.
    assert_eq!(userinfo_status(&server, &access).await.0, 200);
    for token in [&access, &refresh] {
        let (_, body) = post_form(&server, "/introspect", desk_auth, &[("token", token)]).await;
        assert_eq!(body["active"], true, "{body}");
    }
    let removed = call(
        &server,
        Method::DELETE,
        &format!("/clients/{gone}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(removed.status, 200, "{}", removed.body);

    let (status, body) = userinfo_status(&server, &access).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    // The RP can't refresh: its credentials went with it (invalid_client, RFC 6749 §5.2).
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&gone, &gone_secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // And the tokens themselves are dead, as an admin client's introspection shows.
    for token in [&access, &refresh] {
        let (_, body) = post_form(&server, "/introspect", desk_auth, &[("token", token)]).await;
        assert_eq!(body, json!({ "active": false }));
    }
    // The other client's tokens are untouched.
    let (status, _) = userinfo_status(&server, kept_tokens.access_token().secret()).await;
    assert_eq!(status, 200);
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&kept, &kept_secret)),
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                kept_tokens.refresh_token().unwrap().secret(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

// 6. DPoP proofs at the token endpoint: the server nonce, and proofs refused for htm, typ, alg.

struct DpopKey {
    pkcs8: Vec<u8>,
    jwk: jsonwebtoken::jwk::Jwk,
}

fn dpop_key() -> DpopKey {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
    let point = pair.public_key().as_ref().to_vec();
    let jwk = serde_json::from_value(json!({
        "kty": "EC", "crv": "P-256",
        "x": verity::crypto::b64url(&point[1..33]),
        "y": verity::crypto::b64url(&point[33..65]),
    }))
    .expect("jwk");
    DpopKey {
        pkcs8: pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec(),
        jwk,
    }
}

/// One proof; every field can be made wrong on its own.
struct Proof<'a> {
    typ: &'a str,
    htm: &'a str,
    htu: String,
    jti: &'a str,
    iat: i64,
    nonce: Option<String>,
    /// Sign with HS256 (a symmetric alg, not allowed) instead of ES256.
    hs256: bool,
}

fn sign_proof(key: &DpopKey, p: &Proof) -> String {
    let alg = if p.hs256 {
        jsonwebtoken::Algorithm::HS256
    } else {
        jsonwebtoken::Algorithm::ES256
    };
    let mut header = jsonwebtoken::Header::new(alg);
    header.typ = Some(p.typ.into());
    header.jwk = Some(key.jwk.clone());
    let mut claims = json!({ "jti": p.jti, "htm": p.htm, "htu": p.htu, "iat": p.iat });
    if let Some(n) = &p.nonce {
        claims["nonce"] = json!(n);
    }
    let encoding = if p.hs256 {
        jsonwebtoken::EncodingKey::from_secret(b"a shared secret the server can't know")
    } else {
        jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8)
    };
    jsonwebtoken::encode(&header, &claims, &encoding).expect("proof")
}

#[actix_web::test]
async fn dpop_nonce_is_demanded_then_accepted_and_bad_htm_typ_alg_are_refused() {
    let server = TestServer::start_with(|s| s.security.dpop_require_nonce = true).await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    let browser = server.signed_in_browser("gil@example.com").await;
    let key = dpop_key();
    let token_url = server.url("/token");
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();
    let verifier = req.verifier.secret().clone();
    // A refused proof is judged before the code is looked at, so one code serves every try.
    let exchange = |proof: String| {
        let (url, id, secret, code, verifier) = (
            token_url.clone(),
            client_id.clone(),
            secret.clone(),
            code.clone(),
            verifier.clone(),
        );
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .header("DPoP", proof)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", RP_REDIRECT),
                    ("code_verifier", verifier.as_str()),
                ])
                .send()
                .await
                .expect("POST /token");
            let status = res.status().as_u16();
            let nonce = res
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            (status, res.json::<Value>().await.expect("JSON"), nonce)
        }
    };
    let now = server.ctx.clock.unix_now();
    let good = |jti: &'static str, nonce: Option<String>| Proof {
        typ: "dpop+jwt",
        htm: "POST",
        htu: token_url.clone(),
        jti,
        iat: now,
        nonce,
        hs256: false,
    };

    // No nonce: use_dpop_nonce, with the nonce to use in DPoP-Nonce.
    let (status, body, nonce) = exchange(sign_proof(&key, &good("n1", None))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce")),
        "{body}"
    );
    let nonce = nonce.expect("a DPoP-Nonce header");
    // A made-up nonce: the same answer.
    let (_, body, _) = exchange(sign_proof(&key, &good("n2", Some("made-up".into())))).await;
    assert_eq!(body["error"], "use_dpop_nonce");

    // With the nonce, but each with one thing wrong: invalid_dpop_proof.
    let wrong_htm = Proof {
        htm: "GET",
        ..good("h1", Some(nonce.clone()))
    };
    let wrong_typ = Proof {
        typ: "JWT",
        ..good("t1", Some(nonce.clone()))
    };
    let hmac = Proof {
        hs256: true,
        ..good("a1", Some(nonce.clone()))
    };
    for (what, proof, why) in [
        (
            "htm GET",
            wrong_htm,
            "htm does not match the request method",
        ),
        ("typ JWT", wrong_typ, "typ must be dpop+jwt"),
        ("alg HS256", hmac, "unsupported alg"),
    ] {
        let (status, body, _) = exchange(sign_proof(&key, &proof)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{what}: {body}"
        );
        assert_eq!(body["error_description"], why, "{what}");
        assert!(body.get("access_token").is_none());
    }

    // The right proof with the nonce: a DPoP-bound token.
    let (status, body, _) = exchange(sign_proof(&key, &good("ok", Some(nonce)))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap();
    let jwk = serde_json::to_value(&key.jwk).unwrap();
    assert_eq!(
        payload(access)["cnf"]["jkt"],
        verity::oauth::dpop::thumbprint(&jwk).unwrap()
    );
}

// 7. private_key_jwt with the client's keys at its jwks_uri.

/// Serves `body` on every request and counts the requests.
async fn jwks_listener(body: String) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/jwks", listener.local_addr().expect("addr"));
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = hits.clone();
    actix_web::rt::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (url, hits)
}

fn client_assertion(
    key: &DpopKey,
    kid: &str,
    client_id: &str,
    aud: &str,
    jti: &str,
    exp: i64,
) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.into());
    let claims = json!({ "iss": client_id, "sub": client_id, "aud": aud, "jti": jti, "exp": exp, "iat": exp - 60 });
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
    )
    .expect("assertion")
}

#[actix_web::test]
async fn private_key_jwt_with_keys_at_a_jwks_uri_redeems_a_code_and_refuses_other_keys() {
    let key = dpop_key();
    let mut jwk = serde_json::to_value(&key.jwk).unwrap();
    jwk["kid"] = json!("rp-1");
    jwk["alg"] = json!("ES256");
    jwk["use"] = json!("sig");
    let (jwks_uri, hits) = jwks_listener(json!({ "keys": [jwk] }).to_string()).await;
    let server = TestServer::start().await;
    let created = server
        .register(NewClient {
            name: "Signed portal".into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into()],
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks_uri: Some(jwks_uri),
            ..Default::default()
        })
        .await;
    assert!(created.client_secret.is_none());
    let client_id = created.client_id;
    let rp = server.rp(&client_id, None).await;
    let browser = server.signed_in_browser("max@example.com").await;
    let token_url = server.url("/token");
    let redeem = |code: String, verifier: String, assertion: String| {
        let url = token_url.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", RP_REDIRECT),
                    ("code_verifier", verifier.as_str()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .expect("POST /token");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("JSON"))
        }
    };
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();
    let verifier = req.verifier.secret().clone();
    let exp = server.ctx.clock.unix_now() + 120;

    // Another key under the same kid: invalid_client, and the code is still unused.
    let impostor = dpop_key();
    let (status, body) = redeem(
        code.clone(),
        verifier.clone(),
        client_assertion(&impostor, "rp-1", &client_id, &token_url, "a1", exp),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // The registered key: tokens, with an ID token for this client.
    let (status, body) = redeem(
        code,
        verifier,
        client_assertion(&key, "rp-1", &client_id, &token_url, "a2", exp),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = payload(body["id_token"].as_str().expect("id_token"));
    assert_eq!(id["aud"], json!([client_id]));
    assert_eq!(id["nonce"], req.nonce.secret().as_str());
    // The key set was fetched once and then served from the cache.
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

// 8. Pairwise subjects in access tokens and logout tokens.

/// A relying party's back-channel endpoint: answers 200 and records each request body.
async fn backchannel_listener() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/backchannel",
        listener.local_addr().expect("addr")
    );
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    actix_web::rt::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = sock.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        log.lock()
                            .unwrap()
                            .push(text[end + 4..end + 4 + len].to_string());
                        break;
                    }
                }
            }
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    (url, received)
}

#[actix_web::test]
async fn a_pairwise_sub_is_the_same_in_the_access_token_and_the_logout_token() {
    let (backchannel, received) = backchannel_listener().await;
    let server = TestServer::start_with(|s| s.security.backchannel_poll_ms = 100).await;
    let created = server
        .register(NewClient {
            name: "Pension Office".into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            subject_type: Some("pairwise".into()),
            backchannel_logout_uri: Some(backchannel),
            ..Default::default()
        })
        .await;
    let (client_id, secret) = (created.client_id, created.client_secret.unwrap());
    let browser = server.signed_in_browser("hal@example.com").await;
    let account = {
        server
            .ctx
            .db
            .run(|c| verity::accounts::users::by_email(c, "hal@example.com"))
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let (tokens, id) = tokens_for(&server, &browser, &client_id, Some(&secret), &[]).await;
    let sub = id["sub"].as_str().expect("sub").to_string();
    assert_ne!(sub, account, "pairwise: not the account id");

    // The access token (a JWT any resource server reads) carries the same pairwise sub.
    let access = tokens.access_token().secret().clone();
    assert_eq!(payload(&access)["sub"], sub.as_str());
    // So does its introspection by the client.
    let (_, body) = post_form(
        &server,
        "/introspect",
        Some((&client_id, &secret)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(body["sub"], sub.as_str(), "{body}");

    // Signing out: the logout token names the person by the same pairwise sub.
    sign_out(&browser).await;
    for _ in 0..100 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let body = received
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("a logout token delivered");
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("logout_token in the body");
    let claims = payload(&token);
    assert_eq!(claims["sub"], sub.as_str(), "{claims}");
    assert_eq!(claims["sid"], id["sid"]);
    assert_eq!(claims["aud"], client_id.as_str());
}

// 9. Endpoints and headers.

#[actix_web::test]
async fn readyz_answers_503_naming_the_database_when_it_is_down() {
    capture_logs();
    let server = TestServer::start().await;
    // Control: this node's database and store both answer.
    let res = reqwest::get(server.url("/readyz")).await.expect("GET");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "database": "ok", "store": "ok" })
    );

    // A second node on the same store whose database is unreachable: a port nothing listens
    // on any more, its own, so its log line can't be another test's.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut ctx = server.ctx.clone();
    ctx.db = verity::storage::db::Db::connect_with(
        &format!("postgres://verity@127.0.0.1:{closed}/verity?sslmode=disable&connect_timeout=1"),
        1,
        Some(0),
        std::time::Duration::from_secs(10),
        None,
    )
    .expect("a pool that connects on demand");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let node = verity::web::serve(ctx, listener).expect("serve");
    let handle = node.handle();
    actix_web::rt::spawn(node);
    let res = reqwest::get(format!("{base}/readyz")).await.expect("GET");
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "database": "unavailable", "store": "ok" })
    );
    // The process itself is up.
    let res = reqwest::get(format!("{base}/healthz")).await.expect("GET");
    assert_eq!(res.status(), 200);
    // The operator reads the real reason, not r2d2's "Invalid connection url for
    // multiconnection".
    let logs = logged();
    assert!(
        logs.lines()
            .any(|l| l.contains("database connection failed")
                && l.contains(&format!("127.0.0.1\", port {closed}"))),
        "the driver's own error is logged: {logs}"
    );
    assert!(!logs.contains("multiconnection"), "{logs}");
    handle.stop(false).await;
}

#[actix_web::test]
async fn readyz_answers_503_at_its_own_timeout_for_a_database_that_never_answers() {
    let server = TestServer::start().await;
    // A "database" that accepts connections and then says nothing: connecting would wait for
    // the pool's own 10-second limit.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for conn in silent.incoming().flatten() {
            keep.lock().unwrap().push(conn);
        }
    });
    let mut ctx = server.ctx.clone();
    ctx.db = verity::storage::db::Db::connect_with(
        &format!("postgres://verity@127.0.0.1:{silent_port}/verity?sslmode=disable"),
        1,
        Some(0),
        std::time::Duration::from_secs(10),
        None,
    )
    .expect("a pool that connects on demand");
    let mut settings = (*ctx.settings).clone();
    settings.readiness_timeout_ms = 300;
    ctx.settings = std::sync::Arc::new(settings);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let node = verity::web::serve(ctx, listener).expect("serve");
    let handle = node.handle();
    actix_web::rt::spawn(node);
    // Well inside the pool's own 10 s: a probe that waited for the pool would fail here.
    let probe = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(8))
        .build()
        .unwrap();
    let res = probe
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("an answer before the pool's own limit");
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "database": "unavailable", "store": "ok" })
    );
    assert!(!held.lock().unwrap().is_empty(), "it did try the database");
    handle.stop(false).await;
}

#[actix_web::test]
async fn request_logs_carry_the_path_but_never_the_query_string() {
    capture_logs();
    let server = TestServer::start_with(|s| s.access_log = verity::config::AccessLog::All).await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let marker = verity::crypto::random_token(16).replace(['-', '_'], "x");
    let browser = server.browser();

    // An RP's request (state and nonce in the query) and an emailed link's one-time token.
    let req = rp.auth_request(&[]);
    let res = browser
        .get_abs(&format!("{}&login_hint=q{marker}a%40example.com", req.url))
        .await;
    assert_eq!(res.status(), 303);
    let res = browser
        .get(&format!("/confirm-email?token=q{marker}b"))
        .await;
    assert_eq!(res.status(), 400, "an unknown link");
    // A path no other test uses, so its log line can be found.
    let unique = format!("/no-such-page-{marker}");
    let res = browser.get(&format!("{unique}?token=q{marker}c")).await;
    assert_eq!(res.status(), 404);

    // The line is written before the answer leaves.
    let line = format!("route=\"unmatched\" path=\"{unique}\" status=404");
    assert!(
        logged().contains(&line),
        "the request line is logged with its path"
    );
    let logs = logged();
    assert!(
        !logs.contains(&format!("q{marker}")),
        "a query value reached the logs"
    );
    assert!(
        !logs.contains(req.state.secret().as_str()),
        "state was logged"
    );
}

#[actix_web::test]
async fn access_tokens_are_for_the_userinfo_audience_and_name_their_grant() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let browser = server.signed_in_browser("ida@example.com").await;
    let (tokens, _) = tokens_for(&server, &browser, &client_id, Some(&secret), &[]).await;
    let access = tokens.access_token().secret().clone();
    let claims = payload(&access);
    assert_eq!(claims["aud"], format!("{}/userinfo", server.base));
    let gid = claims["gid"].as_str().expect("gid").to_string();
    let lookup = gid.clone();
    let grant = server
        .ctx
        .db
        .run(move |c| verity::oauth::grants::get(c, &lookup))
        .await
        .unwrap()
        .expect("gid names a grant");
    assert_eq!(grant.client_id, client_id);
    let user = server
        .ctx
        .db
        .run(|c| verity::accounts::users::by_email(c, "ida@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.user_id, user.id);
    // The refreshed access token belongs to the same grant.
    let (status, body) = post_form(
        &server,
        "/token",
        Some((&client_id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh_token().unwrap().secret()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        payload(body["access_token"].as_str().unwrap())["gid"],
        gid.as_str()
    );
    // A client_credentials token stands for the client itself: no grant.
    let desk = server
        .register(NewClient {
            name: "Batch".into(),
            scopes: vec!["reports:read".into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let token = client_token(
        &server,
        &desk.client_id,
        desk.client_secret.as_deref().unwrap(),
        None,
    )
    .await;
    let claims = payload(&token);
    assert_eq!(claims["aud"], format!("{}/userinfo", server.base));
    assert!(claims.get("gid").is_none(), "{claims}");
}

#[actix_web::test]
async fn authorize_and_userinfo_accept_post() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("jo@example.com").await;
    // Consent once (through GET), then the same request as a form POST.
    let req = rp.auth_request(&["email"]);
    authorize_to_callback(&browser, &req.url).await;
    let req = rp.auth_request(&["email"]);
    let pairs: Vec<(String, String)> = url::Url::parse(&req.url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = browser.post("/authorize", &form).await;
    assert_eq!(res.status(), 302);
    let callback = res.headers()["location"].to_str().unwrap().to_string();
    assert!(callback.starts_with(RP_REDIRECT), "{callback}");
    let q = query_of(&callback);
    assert_eq!(&q["state"], req.state.secret());
    let tokens = rp.exchange(&q["code"], req.verifier).await.expect("tokens");
    rp.verify(&tokens, &req.nonce);
    let access = tokens.access_token().secret();

    let (status, by_get) = userinfo_status(&server, access).await;
    assert_eq!(status, 200);
    let res = reqwest::Client::new()
        .post(server.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let by_post: Value = res.json().await.unwrap();
    assert_eq!(by_post, by_get);
    assert_eq!(by_post["email"], "jo@example.com");
    // Without the token, POST is refused like GET.
    let res = reqwest::Client::new()
        .post(server.url("/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[actix_web::test]
async fn login_hint_fills_in_the_sign_in_email() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let email_field = |html: &str| {
        let doc = scraper::Html::parse_document(html);
        let sel = scraper::Selector::parse("input#email").unwrap();
        doc.select(&sel)
            .next()
            .and_then(|e| e.value().attr("value"))
            .unwrap_or("")
            .to_string()
    };
    let browser = server.browser();
    let req = rp.auth_request(&[]);
    let (at, login) = visit(
        &browser,
        &format!("{}&login_hint={}", req.url, enc("kim@example.com")),
    )
    .await;
    assert!(at.contains("/login?authz="), "{at}");
    assert_eq!(email_field(&login), "kim@example.com");
    // Control: without the hint the field is empty.
    let req = rp.auth_request(&[]);
    let (_, login) = visit(&browser, &req.url).await;
    assert_eq!(email_field(&login), "");
}

#[actix_web::test]
async fn error_redirects_carry_iss_and_state() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let check = |url: &str, error: &str, state: &str| {
        assert!(url.starts_with(RP_REDIRECT), "{url}");
        let q = query_of(url);
        assert_eq!(q["error"], error, "{url}");
        assert_eq!(q["state"], state, "{url}");
        assert_eq!(q["iss"], server.base, "RFC 9207 iss: {url}");
        assert!(!q.contains_key("code"));
    };

    // Not signed in, prompt=none: login_required.
    let browser = server.browser();
    let req = rp.auth_request(&[]);
    let (at, _) = visit(&browser, &format!("{}&prompt=none", req.url)).await;
    check(&at, "login_required", req.state.secret());
    // A scope no one supports: invalid_scope.
    let req = rp.auth_request(&["bogus"]);
    let (at, _) = visit(&browser, &req.url).await;
    check(&at, "invalid_scope", req.state.secret());
    // The person denies consent: access_denied.
    let browser = server.signed_in_browser("lou@example.com").await;
    let req = rp.auth_request(&["email"]);
    let (at, consent) = visit(&browser, &req.url).await;
    assert!(at.contains("/consent"), "{at}");
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "deny"),
            ],
        )
        .await;
    let (at, _) = browser.follow(res).await;
    check(&at, "access_denied", req.state.secret());
    // Control: success carries iss too.
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    assert_eq!(query_of(&callback)["iss"], server.base);
}

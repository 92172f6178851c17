//! Security keys and passkeys, driven by a software authenticator (webauthn-authenticator-rs
//! `SoftPasskey`) through the same HTTP requests a browser's `static/webauthn.js` makes.
//! WebAuthn needs a host name, so these servers' issuer is `http://localhost:PORT`.

use url::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

use crate::admin_harness::{admin_token, audit_events_of_kind, call};
use crate::harness::*;

const PHISHING_RESISTANT: &str = "urn:verity:aal2:phishing-resistant";

pub(crate) async fn keys_server_with(
    configure: impl FnOnce(&mut verity::config::Settings),
) -> TestServer {
    let mut server = TestServer::start_with(|s| {
        s.issuer = s.issuer.replace("127.0.0.1", "localhost");
        configure(s);
    })
    .await;
    server.base = server.base.replace("127.0.0.1", "localhost");
    server
}

pub(crate) async fn keys_server() -> TestServer {
    keys_server_with(|_| {}).await
}

fn origin(server: &TestServer) -> Url {
    Url::parse(&server.base).unwrap()
}

/// A passkey authenticator (it verifies the person) or a plain security key.
pub(crate) fn authenticator(passkey: bool) -> SoftPasskey {
    SoftPasskey::new(passkey)
}

/// Creation options as SoftPasskey takes them: it can't store discoverable credentials, so
/// the passkey's "resident key required" is dropped on this side (the server doesn't depend on
/// it; the Chromium walk creates real discoverable ones).
fn soft_creation_options(options: serde_json::Value) -> CreationChallengeResponse {
    let mut ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        sel.require_resident_key = false;
        sel.resident_key = None;
    }
    ccr
}

/// Posts to an options endpoint as static/webauthn.js does: (ceremony id, options JSON).
async fn options(
    browser: &Browser,
    path: &str,
    csrf: &str,
    extra: &[(&str, &str)],
) -> (String, serde_json::Value) {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(extra);
    let res = browser.post(path, &form).await;
    assert_eq!(res.status(), 200, "options from {path}");
    let v: serde_json::Value = res.json().await.unwrap();
    (
        v["ceremony"].as_str().unwrap().to_string(),
        v["options"].clone(),
    )
}

/// Adds a key from the console (the browser is signed in, within its step-up window).
pub(crate) async fn add_key(
    server: &TestServer,
    browser: &Browser,
    auth: &mut SoftPasskey,
    kind: &str,
    name: &str,
) -> reqwest::Response {
    let page = browser
        .get_ok(&format!("/account/keys/add?kind={kind}"))
        .await;
    let csrf = csrf_of(&page);
    let (ceremony, opts) =
        options(browser, "/account/keys/options", &csrf, &[("kind", kind)]).await;
    let ccr = soft_creation_options(opts);
    let reg = auth
        .do_registration(origin(server), ccr)
        .expect("registers");
    browser
        .post(
            "/account/keys/add",
            &[
                ("csrf", &csrf),
                ("kind", kind),
                ("name", name),
                ("ceremony", &ceremony),
                ("credential", &serde_json::to_string(&reg).unwrap()),
            ],
        )
        .await
}

/// The account's stored keys: (id, credential id).
pub(crate) async fn keys_of(
    server: &TestServer,
    email: &str,
) -> Vec<verity::mfa::webauthn::KeyRow> {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            let user = verity::accounts::users::by_email(c, &email)?.unwrap();
            verity::mfa::webauthn::keys_of(c, &user.id)
        })
        .await
        .unwrap()
}

async fn user_id_of(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(verity::accounts::users::by_email(c, &email)?.unwrap().id))
        .await
        .unwrap()
}

/// Answers the second-factor key challenge of the sign-in under way in `browser`: the
/// options, then the authenticator's answer as JSON, and the page's CSRF token.
async fn key_answer(
    server: &TestServer,
    browser: &Browser,
    auth: &mut SoftPasskey,
    at: &Url,
) -> (String, String, String) {
    let page = browser.get_ok("/mfa?method=key").await;
    let csrf = csrf_of(&page);
    let (ceremony, opts) = options(browser, "/mfa/key/options", &csrf, &[]).await;
    let rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let _ = server;
    let answer = auth.do_authentication(at.clone(), rcr).expect("signs");
    (csrf, ceremony, serde_json::to_string(&answer).unwrap())
}

async fn post_key_answer(
    browser: &Browser,
    csrf: &str,
    ceremony: &str,
    answer: &str,
) -> reqwest::Response {
    browser
        .post(
            "/mfa/key",
            &[
                ("csrf", csrf),
                ("ceremony", ceremony),
                ("credential", answer),
            ],
        )
        .await
}

/// A person signed in (backup codes enrolled) who then added one key in the console.
async fn person_with_key(
    server: &TestServer,
    email: &str,
    passkey: bool,
) -> (Browser, SoftPasskey) {
    let browser = server.signed_in_browser(email).await;
    let mut auth = authenticator(passkey);
    let kind = if passkey { "passkey" } else { "security_key" };
    let res = add_key(server, &browser, &mut auth, kind, "Blue key").await;
    assert_eq!(res.status(), 303, "key added");
    assert_eq!(res.headers()["location"], "/account#keys");
    (browser, auth)
}

/// A passkey sign-in from the sign-in page. SoftPasskey can't discover its own credentials,
/// so the test names the credential and the user handle, as a real authenticator would.
async fn passkey_sign_in(
    server: &TestServer,
    browser: &Browser,
    auth: &mut SoftPasskey,
    email: &str,
    login_path: &str,
) -> reqwest::Response {
    let page = browser.get_ok(login_path).await;
    assert!(page.contains("Sign in with a passkey"), "{page}");
    let csrf = csrf_of(&page);
    let (ceremony, opts) = options(browser, "/login/passkey/options", &csrf, &[]).await;
    let mut rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    assert!(
        rcr.public_key.allow_credentials.is_empty(),
        "no account is named before the passkey answers"
    );
    let key = keys_of(server, email).await.remove(0);
    rcr.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: verity::crypto::b64url_decode(&key.credential_id).unwrap(),
        transports: None,
    }];
    let mut answer: PublicKeyCredential =
        auth.do_authentication(origin(server), rcr).expect("signs");
    let handle = verity::mfa::webauthn::user_handle(&user_id_of(server, email).await);
    answer.response.user_handle = Some(handle.as_bytes().to_vec());
    browser
        .post(
            "/login/passkey",
            &[
                ("csrf", &csrf),
                ("ceremony", &ceremony),
                ("credential", &serde_json::to_string(&answer).unwrap()),
                ("authz", &hidden(&page, "authz")),
                ("next", ""),
            ],
        )
        .await
}

#[actix_web::test]
async fn a_security_key_added_in_the_console_is_then_the_second_factor() {
    let server = keys_server().await;
    let email = "key@example.com";
    let (browser, mut auth) = person_with_key(&server, email, false).await;
    let console = browser.get_ok("/account").await;
    assert!(console.contains("Blue key"), "listed by name");
    assert!(console.contains("Security key"), "and kind");
    assert!(console.contains("Not used yet"));
    let mail = server
        .wait_for_messages(email, "sign-in methods changed", 1)
        .await;
    assert!(
        mail[0]
            .body
            .contains("A security key (\"Blue key\") was added"),
        "{}",
        mail[0].body
    );
    assert_eq!(
        audit_events_of_kind(&server, "mfa_key_added").await.len(),
        1
    );

    // A new browser: password, then the key (offered first).
    let other = server.browser();
    let res = server.sign_in(&other, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = other.get_ok("/mfa").await;
    assert!(page.contains("Use my security key or passkey"), "{page}");
    let (csrf, ceremony, answer) = key_answer(&server, &other, &mut auth, &origin(&server)).await;
    let res = post_key_answer(&other, &csrf, &ceremony, &answer).await;
    assert!(is_signed_in(&res), "the key is the second factor");
    let console = other.get_ok("/account").await;
    assert!(console.contains("Last used"), "its use is shown");
}

#[actix_web::test]
async fn a_passkey_signs_in_without_a_password_and_the_rp_gets_the_phishing_resistant_acr() {
    let server = keys_server().await;
    let email = "passkey@example.com";
    let (_, mut auth) = person_with_key(&server, email, true).await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let req = rp.auth_request(&["openid"]);
    let url = format!("{}&acr_values={}", req.url, PHISHING_RESISTANT);

    let browser = server.browser();
    let res = browser.get_abs(&url).await;
    let (login, _) = browser.follow(res).await;
    let login_path = login.trim_start_matches(&server.base).to_string();
    assert!(login_path.starts_with("/login"), "{login_path}");
    let res = passkey_sign_in(&server, &browser, &mut auth, email, &login_path).await;
    assert!(is_signed_in(&res), "signed in with the passkey alone");
    let callback = authorize_to_callback(&browser, &url).await;
    let code = query_of(&callback)["code"].clone();
    let tokens = rp.exchange(&code, req.verifier).await.unwrap();
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(
        claims.auth_context_ref().unwrap().as_str(),
        PHISHING_RESISTANT
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    assert!(amr.contains(&"hwk".to_string()), "{amr:?}");
    assert!(amr.contains(&"user".to_string()), "{amr:?}");
    assert!(amr.contains(&"mfa".to_string()), "{amr:?}");
    assert!(
        !amr.contains(&"pwd".to_string()),
        "no password took part: {amr:?}"
    );

    // An RP that asks for plain AAL2 gets the AAL2 value it knows, from the same session.
    let req = rp.auth_request(&["openid"]);
    let url = format!("{}&acr_values=urn:verity:aal2", req.url);
    let callback = authorize_to_callback(&browser, &url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(
        claims.auth_context_ref().unwrap().as_str(),
        "urn:verity:aal2"
    );
}

#[actix_web::test]
async fn a_phishing_resistant_request_takes_no_code_and_a_person_without_a_key_is_told_to_add_one()
{
    let server = keys_server().await;
    let email = "codes@example.com";
    let console = server.signed_in_browser(email).await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let req = rp.auth_request(&["openid"]);
    let url = format!(
        "{}&acr_values={}",
        req.url,
        "http%3A%2F%2Fidmanagement.gov%2Fns%2Fassurance%2Faal%2F2%3Fphishing_resistant%3Dtrue"
    );

    let browser = server.browser();
    let res = browser.get_abs(&url).await;
    let (login, _) = browser.follow(res).await;
    let page = browser.get_ok(login.trim_start_matches(&server.base)).await;
    let res = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&page)),
                ("email", email),
                ("password", PASSWORD),
                ("authz", &hidden(&page, "authz")),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = browser.get_ok("/mfa").await;
    assert!(
        page.contains("your account doesn&#39;t have one yet"),
        "told to add a key: {page}"
    );
    assert!(!page.contains("name=\"code\""), "no code field is offered");
    let code = server.take_backup_code(email);
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &code),
            ],
        )
        .await;
    assert!(
        !is_signed_in(&res),
        "a backup code doesn't stand in for a key"
    );
    assert!(res.status().is_client_error(), "{}", res.status());

    // With a key added, the same request goes through, and the Login.gov name comes back.
    let mut auth = authenticator(false);
    let res = add_key(&server, &console, &mut auth, "security_key", "Desk key").await;
    assert_eq!(res.status(), 303);
    let browser = server.browser();
    let res = browser.get_abs(&url).await;
    let (login, _) = browser.follow(res).await;
    let page = browser.get_ok(login.trim_start_matches(&server.base)).await;
    browser
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&page)),
                ("email", email),
                ("password", PASSWORD),
                ("authz", &hidden(&page, "authz")),
            ],
        )
        .await;
    let (csrf, ceremony, answer) = key_answer(&server, &browser, &mut auth, &origin(&server)).await;
    let res = post_key_answer(&browser, &csrf, &ceremony, &answer).await;
    assert!(is_signed_in(&res));
    let callback = authorize_to_callback(&browser, &url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let claims = rp.verify(&tokens, &req.nonce);
    assert_eq!(
        claims.auth_context_ref().unwrap().as_str(),
        "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true"
    );
}

#[actix_web::test]
async fn a_counter_that_goes_backwards_is_refused_audited_and_emailed() {
    let server = keys_server().await;
    let email = "clone@example.com";
    let (_, mut auth) = person_with_key(&server, email, false).await;
    let browser = server.browser();
    server.sign_in(&browser, email, PASSWORD).await;
    let (csrf, ceremony, answer) = key_answer(&server, &browser, &mut auth, &origin(&server)).await;
    assert!(is_signed_in(
        &post_key_answer(&browser, &csrf, &ceremony, &answer).await
    ));

    // As if a copy of the key had signed many times: the stored counter is far ahead.
    let key = keys_of(&server, email).await.remove(0);
    let mut record: serde_json::Value = serde_json::from_str(&key.credential).unwrap();
    record["counter"] = serde_json::json!(1000);
    let (id, text) = (key.id.clone(), record.to_string());
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::webauthn_credentials as w;
            diesel::update(w::table.find(&id))
                .set(w::credential.eq(&text))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();

    let browser = server.browser();
    server.sign_in(&browser, email, PASSWORD).await;
    let (csrf, ceremony, answer) = key_answer(&server, &browser, &mut auth, &origin(&server)).await;
    let res = post_key_answer(&browser, &csrf, &ceremony, &answer).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("may have been copied"), "{page}");
    assert_eq!(
        audit_events_of_kind(&server, "mfa_key_possible_clone")
            .await
            .len(),
        1
    );
    let mail = server
        .wait_for_messages(email, "may have been copied", 1)
        .await;
    assert!(mail[0].body.contains("Blue key"), "{}", mail[0].body);
}

#[actix_web::test]
async fn replayed_cross_account_and_wrong_origin_answers_are_refused() {
    let server = keys_server().await;
    let (a, b) = ("ann@example.com", "bob@example.com");
    let (_, mut ann_key) = person_with_key(&server, a, false).await;
    let (_, mut bob_key) = person_with_key(&server, b, false).await;

    // Ann signs in; her answer is kept.
    let browser = server.browser();
    server.sign_in(&browser, a, PASSWORD).await;
    let (csrf, first_ceremony, first_answer) =
        key_answer(&server, &browser, &mut ann_key, &origin(&server)).await;
    assert!(is_signed_in(
        &post_key_answer(&browser, &csrf, &first_ceremony, &first_answer).await
    ));

    // Replayed against its own (used) ceremony, and against a fresh one: refused.
    let browser = server.browser();
    server.sign_in(&browser, a, PASSWORD).await;
    let page = browser.get_ok("/mfa?method=key").await;
    let csrf = csrf_of(&page);
    let res = post_key_answer(&browser, &csrf, &first_ceremony, &first_answer).await;
    assert_eq!(res.status(), 422, "a used ceremony is gone");
    assert!(res.text().await.unwrap().contains("already used"));
    let (fresh, _) = options(&browser, "/mfa/key/options", &csrf, &[]).await;
    let res = post_key_answer(&browser, &csrf, &fresh, &first_answer).await;
    assert_eq!(
        res.status(),
        422,
        "an old answer doesn't fit a new challenge"
    );
    assert!(!is_signed_in(&res));

    // From another origin (a phishing site on another port): refused.
    let (csrf, ceremony, answer) = key_answer(
        &server,
        &browser,
        &mut ann_key,
        &Url::parse("http://localhost:1").unwrap(),
    )
    .await;
    let res = post_key_answer(&browser, &csrf, &ceremony, &answer).await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("couldn&#39;t be checked"));

    // Bob's sign-in answered with Ann's key (her credential slipped into his options).
    let browser = server.browser();
    server.sign_in(&browser, b, PASSWORD).await;
    let page = browser.get_ok("/mfa?method=key").await;
    let csrf = csrf_of(&page);
    let (ceremony, opts) = options(&browser, "/mfa/key/options", &csrf, &[]).await;
    let mut rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let ann = keys_of(&server, a).await.remove(0);
    rcr.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: verity::crypto::b64url_decode(&ann.credential_id).unwrap(),
        transports: None,
    }];
    let answer = ann_key.do_authentication(origin(&server), rcr).unwrap();
    let res = post_key_answer(
        &browser,
        &csrf,
        &ceremony,
        &serde_json::to_string(&answer).unwrap(),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(!is_signed_in(&res), "Ann's key doesn't sign Bob in");
    // Bob's own key still works.
    let (csrf, ceremony, answer) =
        key_answer(&server, &browser, &mut bob_key, &origin(&server)).await;
    assert!(is_signed_in(
        &post_key_answer(&browser, &csrf, &ceremony, &answer).await
    ));
}

#[actix_web::test]
async fn one_answer_sent_many_times_at_once_signs_in_once() {
    let server = keys_server().await;
    let email = "burst@example.com";
    let (_, mut auth) = person_with_key(&server, email, false).await;
    let browser = server.browser();
    server.sign_in(&browser, email, PASSWORD).await;
    let (csrf, ceremony, answer) = key_answer(&server, &browser, &mut auth, &origin(&server)).await;
    let sends = (0..10).map(|_| post_key_answer(&browser, &csrf, &ceremony, &answer));
    let results = futures_util::future::join_all(sends).await;
    let signed_in = results.iter().filter(|r| is_signed_in(r)).count();
    assert_eq!(signed_in, 1, "the ceremony is taken once");
    assert!(results.iter().all(|r| r.status() != 500));
}

#[actix_web::test]
async fn a_key_enrolled_at_first_sign_in_is_the_last_factor_and_cant_be_removed_until_another_exists(
) {
    let server = keys_server().await;
    let email = "first@example.com";
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
    let setup = browser.get_ok("/mfa/setup").await;
    assert!(setup.contains("/mfa/setup/key?kind=passkey"), "{setup}");
    let page = browser.get_ok("/mfa/setup/key?kind=passkey").await;
    let csrf = csrf_of(&page);
    let (ceremony, opts) = options(
        &browser,
        "/mfa/setup/key/options",
        &csrf,
        &[("kind", "passkey")],
    )
    .await;
    let ccr: CreationChallengeResponse = serde_json::from_value(opts).unwrap();
    let selection = ccr.public_key.authenticator_selection.clone().unwrap();
    assert!(selection.require_resident_key, "a passkey is discoverable");
    let ccr = soft_creation_options(serde_json::to_value(&ccr).unwrap());
    let mut auth = authenticator(true);
    let reg = auth.do_registration(origin(&server), ccr).unwrap();
    let res = browser
        .post(
            "/mfa/setup/key",
            &[
                ("csrf", &csrf),
                ("kind", "passkey"),
                ("name", ""),
                ("ceremony", &ceremony),
                ("credential", &serde_json::to_string(&reg).unwrap()),
            ],
        )
        .await;
    assert!(is_signed_in(&res), "enrolled and signed in");
    // Registering a key proves only the password (the key could be anyone's): plain AAL2.
    let uid = user_id_of(&server, email).await;
    let acr: String = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::browser_sessions as b;
            Ok(b::table
                .filter(b::user_id.eq(&uid))
                .select(b::acr)
                .first(c)?)
        })
        .await
        .unwrap();
    assert_eq!(acr, "urn:verity:aal2");
    let key = keys_of(&server, email).await.remove(0);
    assert_eq!(key.name, "Passkey", "an empty name becomes the kind's name");

    let console = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/keys/remove",
            &[("csrf", &csrf_of(&console)), ("id", &key.id)],
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(res.text().await.unwrap().contains("only way to confirm it"));
    assert_eq!(keys_of(&server, email).await.len(), 1, "still there");

    // Rename it; then with backup codes as another way, it can go (and the person is told).
    let res = browser
        .post(
            "/account/keys/rename",
            &[
                ("csrf", &csrf_of(&console)),
                ("id", &key.id),
                ("name", "Phone"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(keys_of(&server, email).await[0].name, "Phone");
    let res = browser
        .post("/account/backup-codes", &[("csrf", &csrf_of(&console))])
        .await;
    assert_eq!(res.status(), 303);
    let res = browser
        .post(
            "/account/keys/remove",
            &[("csrf", &csrf_of(&console)), ("id", &key.id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(keys_of(&server, email).await.is_empty());
    let mail = server
        .wait_for_messages(email, "sign-in methods changed", 2)
        .await;
    assert!(
        mail.iter()
            .any(|m| m.body.contains("A passkey (\"Phone\") was removed")),
        "told of the removal"
    );
    // Someone else's key id is refused, not removed.
    let res = browser
        .post(
            "/account/keys/remove",
            &[("csrf", &csrf_of(&console)), ("id", "not-a-key")],
        )
        .await;
    assert!(res.status().is_client_error());
}

#[actix_web::test]
async fn a_step_up_can_be_passed_with_a_key() {
    let server = keys_server().await;
    let email = "stepup@example.com";
    let (browser, mut auth) = person_with_key(&server, email, false).await;
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let res = browser.get("/account/keys/add?kind=passkey").await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/step-up?"), "{location}");
    let page = browser.get_ok(&location).await;
    let res = browser
        .post(
            "/step-up",
            &[
                ("csrf", &csrf_of(&page)),
                ("password", PASSWORD),
                ("return_to", &hidden(&page, "return_to")),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/mfa");
    let (csrf, ceremony, answer) = key_answer(&server, &browser, &mut auth, &origin(&server)).await;
    let res = post_key_answer(&browser, &csrf, &ceremony, &answer).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/account/keys/add?kind=passkey");
    browser.get_ok("/account/keys/add?kind=passkey").await;
}

#[actix_web::test]
async fn keys_are_not_offered_where_webauthn_cant_work() {
    // The usual test issuer is an IP address: browsers refuse WebAuthn there.
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("ip@example.com").await;
    let login = server.browser().get_ok("/login").await;
    assert!(!login.contains("Sign in with a passkey"));
    let console = browser.get_ok("/account").await;
    assert!(!console.contains("/account/keys/add"));
    let page = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/keys/options",
            &[("csrf", &csrf_of(&page)), ("kind", "passkey")],
        )
        .await;
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn operators_see_a_persons_keys_without_key_material_and_can_remove_one() {
    let server = keys_server().await;
    let (email, other) = ("ops@example.com", "other@example.com");
    person_with_key(&server, email, true).await;
    person_with_key(&server, other, false).await;
    let (agent, token) = admin_token(&server).await;
    let uid = user_id_of(&server, email).await;
    let key = keys_of(&server, email).await.remove(0);
    let foreign = keys_of(&server, other).await.remove(0);

    let r = call(
        &server,
        reqwest::Method::GET,
        &format!("/users/{uid}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let keys = r.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["name"], "Blue key");
    assert_eq!(keys[0]["kind"], "passkey");
    assert!(keys[0]["added_at"].is_string());
    assert!(keys[0]["last_used_at"].is_null());
    assert_eq!(r.body["mfa"]["keys"], 1);
    let text = r.body.to_string();
    assert!(!text.contains(&key.credential_id), "no credential id");
    assert!(
        !text.contains("counter") && !text.contains("cred_id"),
        "no key material: {text}"
    );

    // Someone else's key through this account: not found, and kept.
    let r = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/users/{uid}/keys/{}", foreign.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(keys_of(&server, other).await.len(), 1);

    let r = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/users/{uid}/keys/{}", key.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["keys"].as_array().unwrap().is_empty());
    let removed = audit_events_of_kind(&server, "mfa_key_removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].client_id.as_deref(), Some(agent.as_str()));
    let mail = server
        .wait_for_messages(email, "sign-in methods changed", 2)
        .await;
    assert!(mail.iter().any(|m| m.body.contains("was removed")));
    let again = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/users/{uid}/keys/{}", key.id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(again.status, 404);
}

#[actix_web::test]
async fn a_key_is_the_second_factor_of_a_password_reset() {
    let server = keys_server().await;
    let email = "reset@example.com";
    let (_, mut auth) = person_with_key(&server, email, false).await;
    let browser = server.browser();
    let page = browser.get_ok("/forgot-password").await;
    browser
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await;
    let link = server.link_from_outbox(email, "Reset your").await;
    let link = link.replace("127.0.0.1", "localhost");
    let res = browser.get_abs(&link).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let (csrf, ceremony, answer) = key_answer(&server, &browser, &mut auth, &origin(&server)).await;
    let res = post_key_answer(&browser, &csrf, &ceremony, &answer).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/reset-password/new",
        "on to the new password"
    );
    assert!(
        !is_signed_in(&res),
        "a reset's second factor makes no session"
    );
    browser.get_ok("/reset-password/new").await;
}

#[actix_web::test]
async fn passkey_sign_ins_started_at_once_from_one_address_stop_at_the_limit() {
    let server = keys_server_with(|s| s.webauthn.sign_in_ceremonies_per_ip_per_minute = 5).await;
    let browser = server.browser();
    let page = browser.get_ok("/login").await;
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str())];
    let sends = (0..20).map(|_| browser.post("/login/passkey/options", &form));
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    let res = browser
        .post("/login/passkey/options", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Try again in"));
    server.ctx.clock.advance(61);
    let res = browser
        .post("/login/passkey/options", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 200, "a minute later it works again");
}

#[actix_web::test]
async fn an_aaguid_allow_list_refuses_other_models_and_discovery_lists_the_phishing_resistant_acr()
{
    let server = keys_server_with(|s| {
        s.webauthn.allowed_aaguids = vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".parse().unwrap()]
    })
    .await;
    let browser = server.signed_in_browser("model@example.com").await;
    let mut auth = authenticator(false);
    let res = add_key(&server, &browser, &mut auth, "security_key", "Other model").await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("accepts only certain models"));
    assert!(keys_of(&server, "model@example.com").await.is_empty());

    let discovery: serde_json::Value = browser
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let acr = discovery["acr_values_supported"].as_array().unwrap();
    for value in [
        PHISHING_RESISTANT,
        "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true",
    ] {
        assert!(acr.iter().any(|a| a == value), "{value} in {acr:?}");
    }
}

#[actix_web::test]
async fn an_old_answer_with_a_counter_behind_a_newer_sign_in_is_refused_as_a_possible_copy() {
    let server = keys_server().await;
    let email = "race@example.com";
    let (_, mut auth) = person_with_key(&server, email, false).await;
    // Two sign-ins under way; the authenticator signs the first one's challenge first.
    let first = server.browser();
    server.sign_in(&first, email, PASSWORD).await;
    let page = first.get_ok("/mfa?method=key").await;
    let first_csrf = csrf_of(&page);
    let (first_ceremony, opts) = options(&first, "/mfa/key/options", &first_csrf, &[]).await;
    let rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let older = auth.do_authentication(origin(&server), rcr).unwrap();
    let second = server.browser();
    server.sign_in(&second, email, PASSWORD).await;
    let (csrf, ceremony, newer) = key_answer(&server, &second, &mut auth, &origin(&server)).await;
    assert!(is_signed_in(
        &post_key_answer(&second, &csrf, &ceremony, &newer).await
    ));
    let res = post_key_answer(
        &first,
        &first_csrf,
        &first_ceremony,
        &serde_json::to_string(&older).unwrap(),
    )
    .await;
    assert_eq!(res.status(), 422, "the stored counter moved past it");
    assert!(res.text().await.unwrap().contains("may have been copied"));
    assert_eq!(
        audit_events_of_kind(&server, "mfa_key_possible_clone")
            .await
            .len(),
        1
    );
}

#[actix_web::test]
async fn a_security_key_cant_sign_in_without_the_password() {
    let server = keys_server().await;
    let email = "notpasskey@example.com";
    let browser = server.signed_in_browser(email).await;
    // This authenticator verifies the person, so only the key's kind stands in the way.
    let mut auth = SoftPasskey::new(true);
    let res = add_key(&server, &browser, &mut auth, "security_key", "USB key").await;
    assert_eq!(res.status(), 303);
    let res = passkey_sign_in(&server, &server.browser(), &mut auth, email, "/login").await;
    assert!(!is_signed_in(&res));
    assert_eq!(res.status(), 401);
}

#[actix_web::test]
async fn with_a_key_a_step_up_doesnt_offer_a_phone_in_its_sim_swap_cooldown() {
    let server = keys_server().await;
    let email = "cooldown@example.com";
    // The phone was just added: within its cooldown, it may not confirm a sensitive change
    // while something else can.
    let browser = person_with_phone(&server, email).await;
    let mut auth = authenticator(false);
    let res = add_key(&server, &browser, &mut auth, "security_key", "Desk key").await;
    assert_eq!(res.status(), 303);
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let res = browser.get("/account/keys/add?kind=passkey").await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let page = browser.get_ok(&location).await;
    browser
        .post(
            "/step-up",
            &[
                ("csrf", &csrf_of(&page)),
                ("password", PASSWORD),
                ("return_to", &hidden(&page, "return_to")),
            ],
        )
        .await;
    let mfa = browser.get_ok("/mfa").await;
    assert!(mfa.contains("Use my security key or passkey"), "{mfa}");
    assert!(
        !mfa.contains("Text a code to"),
        "the phone isn't offered: {mfa}"
    );
    let phone = phone_id(&server, email).await;
    let res = browser
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&mfa)),
                ("phone", &phone),
                ("channel", "sms"),
            ],
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let (csrf, ceremony, answer) = key_answer(&server, &browser, &mut auth, &origin(&server)).await;
    let res = post_key_answer(&browser, &csrf, &ceremony, &answer).await;
    assert_eq!(res.headers()["location"], "/account/keys/add?kind=passkey");
}

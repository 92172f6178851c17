//! Every row of the README's Shared Signals event table: the account change, made the way a
//! person or an operator makes it, reaches a relying party that consented as a SET that
//! validates against the JWKS, with the event type, members and subject the specs name.

use crate::admin_harness::{admin_token, call as admin_call};
use crate::harness::*;
use crate::ssf::{
    consenting_person, create_poll_stream, event_of, poll, receiver_client, token, user_id_of,
    validate_set,
};
use reqwest::Method;
use serde_json::{json, Value};

const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const ASSURANCE_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change";
const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const ACCOUNT_ENABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
const ACCOUNT_PURGED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-purged";
const IDENTIFIER_CHANGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/identifier-changed";
const RECOVERY_INFORMATION_CHANGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/recovery-information-changed";

const ALL: &[&str] = &[
    SESSION_REVOKED,
    CREDENTIAL_CHANGE,
    ASSURANCE_LEVEL_CHANGE,
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    ACCOUNT_PURGED,
    IDENTIFIER_CHANGED,
    RECOVERY_INFORMATION_CHANGED,
];

/// A relying party polling a stream of every event, and the `sub` it knows the person by.
struct Listener {
    id: String,
    manage: String,
    stream: Value,
    sub: String,
}

impl Listener {
    /// A relying party the person (signed in in `browser`) consents to with `scopes`.
    async fn consented(
        server: &TestServer,
        browser: &Browser,
        name: &str,
        scopes: &[&str],
    ) -> Self {
        let (id, secret) = receiver_client(server, name, false).await;
        let manage = token(server, &id, &secret, "ssf.manage").await;
        let stream = create_poll_stream(server, &manage, ALL).await;
        let rp = server.rp(&id, Some(&secret)).await;
        let req = rp.auth_request(scopes);
        let callback = authorize_to_callback(browser, &req.url).await;
        let code = query_of(&callback)["code"].clone();
        let tokens = rp.exchange(&code, req.verifier).await.unwrap();
        let sub = rp.verify(&tokens, &req.nonce).subject().to_string();
        Listener {
            id,
            manage,
            stream,
            sub,
        }
    }

    /// Everything queued for this relying party since the last call, validated, in the order
    /// it happened, and acknowledged: (event type, event members, whole claims).
    async fn received(&self, server: &TestServer) -> Vec<(String, Value, Value)> {
        let answer = poll(
            server,
            &self.manage,
            &self.stream,
            json!({ "maxEvents": 100 }),
        )
        .await;
        let mut got = Vec::new();
        let mut jtis = Vec::new();
        for (jti, set) in answer["sets"].as_object().unwrap() {
            let claims = validate_set(server, set.as_str().unwrap(), &self.id).await;
            let (kind, event) = event_of(&claims);
            jtis.push(jti.clone());
            got.push((kind, event, claims));
        }
        got.sort_by_key(|(_, e, c)| {
            (
                e["event_timestamp"].as_i64().unwrap_or_default(),
                c["iat"].as_i64().unwrap_or_default(),
            )
        });
        if !jtis.is_empty() {
            poll(
                server,
                &self.manage,
                &self.stream,
                json!({ "ack": jtis, "returnImmediately": true, "maxEvents": 0 }),
            )
            .await;
        }
        got
    }

    /// Asserts the subject is this relying party's own `sub` for the person.
    fn names_the_person(&self, claims: &Value, server: &TestServer) {
        assert_eq!(claims["sub_id"]["format"], "iss_sub", "{claims}");
        assert_eq!(claims["sub_id"]["iss"], server.base.as_str(), "{claims}");
        assert_eq!(claims["sub_id"]["sub"], self.sub.as_str(), "{claims}");
    }
}

/// Asserts the event types received, in any order.
fn assert_kinds(got: &[(String, Value, Value)], expected: &[&str]) {
    let mut k: Vec<&str> = got.iter().map(|(t, _, _)| t.as_str()).collect();
    k.sort();
    let mut e = expected.to_vec();
    e.sort();
    assert_eq!(k, e, "{got:?}");
}

/// The one event of `kind` among `got`.
fn the<'a>(got: &'a [(String, Value, Value)], kind: &str) -> (&'a Value, &'a Value) {
    let found: Vec<_> = got.iter().filter(|(t, _, _)| t == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}: {got:?}");
    (&found[0].1, &found[0].2)
}

fn by_person_now(server: &TestServer, event: &Value) {
    assert_eq!(event["initiating_entity"], "user", "{event}");
    assert!(event.get("reason_admin").is_none(), "{event}");
    // When the change happened: moments ago by the server's clock.
    let now = server.ctx.clock.now().and_utc().timestamp();
    let at = event["event_timestamp"].as_i64().unwrap_or_default();
    assert!(at <= now && at > now - 60, "{event}");
}

fn by_operator(event: &Value) {
    assert_eq!(event["initiating_entity"], "admin", "{event}");
    let reason = event["reason_admin"]["en"].as_str().unwrap_or_default();
    assert!(
        !reason.is_empty(),
        "reason_admin is a language map: {event}"
    );
    assert!(event["event_timestamp"].as_i64().is_some(), "{event}");
}

/// Walks the console's phone flow (add when `replacing` is None) to the confirmed change.
async fn change_phone(
    server: &TestServer,
    browser: &Browser,
    replacing: Option<&str>,
    number: &str,
    channel: &str,
) {
    let start = match replacing {
        Some(id) => format!("/account/phones/start?phone={id}"),
        None => "/account/phones/start".to_string(),
    };
    let res = browser.get(&start).await;
    assert_eq!(res.headers()["location"], "/account/phones/change");
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", number),
                ("channel", channel),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let code = newest_code(server, number).await;
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let review = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&review)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// The value of the input `name` in the first form posting to `action`.
fn form_value(html: &str, action: &str, name: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel =
        scraper::Selector::parse(&format!("form[action='{action}'] input[name={name}]")).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap_or_else(|| panic!("a form to {action}"))
        .to_string()
}

fn assert_phone_change(
    server: &TestServer,
    rp: &Listener,
    got: &[(String, Value, Value)],
    credential_type: &str,
    change_type: &str,
) {
    assert_kinds(got, &[CREDENTIAL_CHANGE, RECOVERY_INFORMATION_CHANGED]);
    let (event, claims) = the(got, CREDENTIAL_CHANGE);
    rp.names_the_person(claims, server);
    assert_eq!(event["credential_type"], credential_type, "{event}");
    assert_eq!(event["change_type"], change_type, "{event}");
    by_person_now(server, event);
    let (event, claims) = the(got, RECOVERY_INFORMATION_CHANGED);
    rp.names_the_person(claims, server);
    by_person_now(server, event);
}

#[actix_web::test]
async fn phones_added_changed_and_removed_in_the_console_send_credential_change_and_recovery_information_changed(
) {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "pia@example.com";
    let browser = person_with_phone(&server, email).await;
    let rp = Listener::consented(&server, &browser, "Tax Portal", &["openid"]).await;
    let first = phone_id(&server, email).await;

    change_phone(&server, &browser, Some(&first), "+12015550146", "sms").await;
    let got = rp.received(&server).await;
    assert_phone_change(&server, &rp, &got, "phone-sms", "update");

    server.ctx.clock.advance(5);
    change_phone(&server, &browser, None, "+12015550147", "voice").await;
    let got = rp.received(&server).await;
    assert_phone_change(&server, &rp, &got, "phone-voice", "create");

    server.ctx.clock.advance(5);
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/phones/remove",
            &[("csrf", &csrf_of(&account)), ("phone", &first)],
        )
        .await;
    assert_eq!(res.status(), 200, "the removal's receipt");
    let got = rp.received(&server).await;
    assert_phone_change(&server, &rp, &got, "phone-sms", "delete");
}

#[actix_web::test]
async fn a_phone_changed_by_support_is_initiated_by_admin() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "rio@example.com";
    let browser = person_with_phone(&server, email).await;
    let rp = Listener::consented(&server, &browser, "Tax Portal", &["openid"]).await;
    let uid = user_id_of(&server, email).await;
    let phone = phone_id(&server, email).await;
    let (_agent, admin) = admin_token(&server).await;
    let started = admin_call(
        &server,
        Method::POST,
        &format!("/users/{uid}/phone-changes"),
        Some(&admin),
        Some(json!({
            "new_number": "(201) 555-0146",
            "channel": "voice",
            "identity_check": "document_video_call",
            "note": "VT-AB12CD34: passport checked on video call",
            "replace_phone_id": phone,
        })),
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let change = started.body["id"].as_str().unwrap().to_string();
    let code: String = server.outbox_for("+12015550146").await[0]
        .body
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect();
    let done = admin_call(
        &server,
        Method::POST,
        &format!("/users/{uid}/phone-changes/{change}/confirm"),
        Some(&admin),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);

    let got = rp.received(&server).await;
    assert_kinds(&got, &[CREDENTIAL_CHANGE, RECOVERY_INFORMATION_CHANGED]);
    let (event, claims) = the(&got, CREDENTIAL_CHANGE);
    rp.names_the_person(claims, &server);
    assert_eq!(event["credential_type"], "phone-voice");
    assert_eq!(event["change_type"], "update");
    by_operator(event);
    let (event, _) = the(&got, RECOVERY_INFORMATION_CHANGED);
    by_operator(event);
    assert!(
        !event.to_string().contains("VT-AB12CD34"),
        "the agent's note stays inside: {event}"
    );
}

#[actix_web::test]
async fn email_addresses_send_recovery_information_changed_and_the_primary_identifier_changed_only_to_apps_granted_email(
) {
    let server = TestServer::start().await;
    let email = "eve@example.com";
    let browser = server.signed_in_browser(email).await;
    let with_email =
        Listener::consented(&server, &browser, "Tax Portal", &["openid", "email"]).await;
    let without = Listener::consented(&server, &browser, "Benefits", &["openid"]).await;

    // Added: nothing is said until the address is confirmed (it is no way back in before).
    crate::emails::add_address(&browser, "eve@work.example").await;
    assert!(with_email.received(&server).await.is_empty());
    let link = server
        .link_from_outbox("eve@work.example", "Confirm your new email")
        .await;
    assert_eq!(crate::emails::confirm_via_page(&browser, &link).await, 200);
    for rp in [&with_email, &without] {
        let got = rp.received(&server).await;
        assert_kinds(&got, &[RECOVERY_INFORMATION_CHANGED]);
        rp.names_the_person(&got[0].2, &server);
        by_person_now(&server, &got[0].1);
    }

    // Made primary: identifier-changed names the old address and carries the new one, to the
    // app that holds the email claim only.
    let account = browser.get_ok("/account").await;
    let id = form_value(&account, "/account/emails/primary", "id");
    let res = browser
        .post(
            "/account/emails/primary",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let got = with_email.received(&server).await;
    assert_kinds(&got, &[IDENTIFIER_CHANGED, RECOVERY_INFORMATION_CHANGED]);
    let (event, claims) = the(&got, IDENTIFIER_CHANGED);
    assert_eq!(
        claims["sub_id"],
        json!({ "format": "email", "email": email }),
        "RISC: the old value as an email subject"
    );
    assert_eq!(event["new-value"], "eve@work.example");
    by_person_now(&server, event);
    let got = without.received(&server).await;
    assert_kinds(&got, &[RECOVERY_INFORMATION_CHANGED]);
    assert!(
        !got[0].2.to_string().contains("eve@"),
        "no address reaches an app without the email claim: {}",
        got[0].2
    );

    // Removed (the old one, now secondary).
    let account = browser.get_ok("/account").await;
    let id = form_value(&account, "/account/emails/remove", "id");
    let res = browser
        .post(
            "/account/emails/remove",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let got = without.received(&server).await;
    assert_kinds(&got, &[RECOVERY_INFORMATION_CHANGED]);
}

#[actix_web::test]
async fn authenticator_apps_send_credential_change_app() {
    let server = TestServer::start().await;
    let email = "tam@example.com";
    let browser = server.signed_in_browser(email).await;
    let rp = Listener::consented(&server, &browser, "Tax Portal", &["openid"]).await;
    let page = browser.get_ok("/account/totp/add").await;
    let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
    let code = totp_code(&server, &secret);
    let res = browser
        .post(
            "/account/totp/add",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    let got = rp.received(&server).await;
    assert_kinds(&got, &[CREDENTIAL_CHANGE]);
    rp.names_the_person(&got[0].2, &server);
    assert_eq!(got[0].1["credential_type"], "app");
    assert_eq!(got[0].1["change_type"], "create");
    by_person_now(&server, &got[0].1);

    let account = browser.get_ok("/account").await;
    let id = form_value(&account, "/account/totp/remove", "id");
    let res = browser
        .post(
            "/account/totp/remove",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let got = rp.received(&server).await;
    assert_kinds(&got, &[CREDENTIAL_CHANGE]);
    assert_eq!(got[0].1["credential_type"], "app");
    assert_eq!(got[0].1["change_type"], "delete");
}

#[actix_web::test]
async fn security_keys_and_passkeys_send_credential_change_fido2() {
    let server = crate::webauthn::keys_server().await;
    let email = "kai@example.com";
    let browser = server.signed_in_browser(email).await;
    let rp = Listener::consented(&server, &browser, "Tax Portal", &["openid"]).await;
    for (kind, passkey, credential_type) in [
        ("security_key", false, "fido2-roaming"),
        ("passkey", true, "fido2-platform"),
    ] {
        let mut auth = crate::webauthn::authenticator(passkey);
        let res = crate::webauthn::add_key(&server, &browser, &mut auth, kind, "Blue key").await;
        assert_eq!(res.status(), 303, "{kind} added");
        let got = rp.received(&server).await;
        assert_kinds(&got, &[CREDENTIAL_CHANGE]);
        rp.names_the_person(&got[0].2, &server);
        assert_eq!(got[0].1["credential_type"], credential_type);
        assert_eq!(got[0].1["change_type"], "create");
        by_person_now(&server, &got[0].1);
    }
    // One removed by the person, one by an operator.
    let keys = crate::webauthn::keys_of(&server, email).await;
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/keys/remove",
            &[("csrf", &csrf_of(&account)), ("id", &keys[0].id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let got = rp.received(&server).await;
    assert_kinds(&got, &[CREDENTIAL_CHANGE]);
    assert_eq!(got[0].1["change_type"], "delete");
    by_person_now(&server, &got[0].1);
    let uid = user_id_of(&server, email).await;
    let (_agent, admin) = admin_token(&server).await;
    let r = admin_call(
        &server,
        Method::DELETE,
        &format!("/users/{uid}/keys/{}", keys[1].id),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = rp.received(&server).await;
    assert_kinds(&got, &[CREDENTIAL_CHANGE]);
    assert_eq!(got[0].1["change_type"], "delete");
    by_operator(&got[0].1);
}

#[actix_web::test]
async fn an_operator_disabling_enabling_and_deleting_sends_the_risc_account_events() {
    let server = TestServer::start().await;
    let email = "ada@example.com";
    let (id, secret) = receiver_client(&server, "Tax Portal", true).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, ALL).await;
    let (_browser, sub) = consenting_person(&server, &id, &secret, email).await;
    let rp = Listener {
        id,
        manage,
        stream,
        sub,
    };
    let uid = user_id_of(&server, email).await;
    assert_ne!(rp.sub, uid, "pairwise: the app's own subject");
    let (_agent, admin) = admin_token(&server).await;
    let act = |path: String, method: Method| {
        let (server, admin) = (&server, admin.clone());
        async move {
            let r = admin_call(server, method, &path, Some(&admin), None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
        }
    };

    act(format!("/users/{uid}/disable"), Method::POST).await;
    let got = rp.received(&server).await;
    assert_kinds(&got, &[ACCOUNT_DISABLED, SESSION_REVOKED]);
    let (event, claims) = the(&got, ACCOUNT_DISABLED);
    rp.names_the_person(claims, &server);
    by_operator(event);
    assert!(
        event.get("reason").is_none(),
        "RISC's reason is hijacking or bulk-account only, and Verity knows neither: {event}"
    );
    // Disabling again changes nothing and says nothing new.
    act(format!("/users/{uid}/disable"), Method::POST).await;
    assert!(rp.received(&server).await.is_empty());

    act(format!("/users/{uid}/enable"), Method::POST).await;
    let got = rp.received(&server).await;
    assert_kinds(&got, &[ACCOUNT_ENABLED]);
    rp.names_the_person(&got[0].2, &server);
    by_operator(&got[0].1);

    act(format!("/users/{uid}"), Method::DELETE).await;
    let got = rp.received(&server).await;
    assert!(got.iter().any(|(t, _, _)| t == ACCOUNT_PURGED), "{got:?}");
    let (event, claims) = the(&got, ACCOUNT_PURGED);
    rp.names_the_person(claims, &server);
    by_operator(event);
}

#[actix_web::test]
async fn a_second_factor_reset_by_support_sends_a_delete_per_factor() {
    let server = TestServer::start().await;
    let email = "bo@example.com";
    let browser = person_with_phone(&server, email).await;
    let rp = Listener::consented(&server, &browser, "Tax Portal", &["openid"]).await;
    let uid = user_id_of(&server, email).await;
    let (_agent, admin) = admin_token(&server).await;
    let r = admin_call(
        &server,
        Method::POST,
        &format!("/users/{uid}/reset-mfa"),
        Some(&admin),
        Some(json!({ "reason": "lost phone, identity checked on video call" })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = rp.received(&server).await;
    assert_kinds(
        &got,
        &[
            CREDENTIAL_CHANGE,
            RECOVERY_INFORMATION_CHANGED,
            SESSION_REVOKED,
        ],
    );
    let (event, _) = the(&got, CREDENTIAL_CHANGE);
    assert_eq!(event["credential_type"], "phone-sms");
    assert_eq!(event["change_type"], "delete");
    by_operator(event);
}

#[actix_web::test]
async fn identity_verified_and_removed_send_assurance_level_change() {
    let server = TestServer::start().await;
    let email = "ivy@example.com";
    let browser = person_with_phone(&server, email).await;
    let rp = Listener::consented(&server, &browser, "Tax Portal", &["openid"]).await;
    crate::verify_flow::start(&browser).await;
    crate::verify_flow::good_document(&browser).await;
    crate::verify_flow::good_selfie(&browser).await;
    crate::verify_flow::good_ssn(&browser, "900-22-3456").await;
    let res = crate::verify_flow::press_verify(&browser).await;
    assert_eq!(res.headers()["location"], "/verify/phone");
    assert!(
        rp.received(&server).await.is_empty(),
        "nothing before the last step"
    );
    let res = crate::verify_flow::finish_with_phone(&server, &browser).await;
    assert_eq!(res.location, "/verify/done");
    let got = rp.received(&server).await;
    assert_kinds(&got, &[ASSURANCE_LEVEL_CHANGE]);
    rp.names_the_person(&got[0].2, &server);
    let event = &got[0].1;
    assert_eq!(event["namespace"], "NIST-IAL");
    assert_eq!(event["current_level"], "nist-ial2");
    assert_eq!(event["previous_level"], "nist-ial1");
    assert_eq!(event["change_direction"], "increase");
    by_person_now(&server, event);

    let console = browser.get_ok("/account").await;
    let res = browser
        .post("/account/identity/remove", &[("csrf", &csrf_of(&console))])
        .await;
    assert_eq!(res.status(), 303);
    let got = rp.received(&server).await;
    assert_kinds(&got, &[ASSURANCE_LEVEL_CHANGE]);
    let event = &got[0].1;
    assert_eq!(event["current_level"], "nist-ial1");
    assert_eq!(event["previous_level"], "nist-ial2");
    assert_eq!(event["change_direction"], "decrease");
    by_person_now(&server, event);
}

#[actix_web::test]
async fn a_person_who_never_consented_is_never_the_subject_of_any_event() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, ALL).await;
    // Someone else consented, so the stream is live and hears about them.
    let (_b, _sub) = consenting_person(&server, &id, &secret, "yes@example.com").await;
    let browser = server.signed_in_browser("no@example.com").await;
    let uid = user_id_of(&server, "no@example.com").await;
    crate::emails::add_address(&browser, "no@work.example").await;
    let link = server
        .link_from_outbox("no@work.example", "Confirm your new email")
        .await;
    assert_eq!(crate::emails::confirm_via_page(&browser, &link).await, 200);
    let (_agent, admin) = admin_token(&server).await;
    for path in [
        format!("/users/{uid}/disable"),
        format!("/users/{uid}/enable"),
    ] {
        let r = admin_call(&server, Method::POST, &path, Some(&admin), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let answer = poll(&server, &manage, &stream, json!({})).await;
    assert_eq!(answer["sets"], json!({}), "{answer}");
}

#[actix_web::test]
async fn an_operator_signing_the_person_out_everywhere_sends_session_revoked_even_with_no_session_left(
) {
    let server = TestServer::start().await;
    let email = "sam@example.com";
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, ALL).await;
    let (browser, sub) = consenting_person(&server, &id, &secret, email).await;
    let rp = Listener {
        id,
        manage,
        stream,
        sub,
    };
    let uid = user_id_of(&server, email).await;
    let (_agent, admin) = admin_token(&server).await;
    let path = format!("/users/{uid}/sign-out");
    let r = admin_call(&server, Method::POST, &path, Some(&admin), Some(json!({}))).await;
    assert_eq!(r.status, 400, "a reason is required: {}", r.body);
    let r = admin_call(
        &server,
        Method::POST,
        &path,
        Some(&admin),
        Some(json!({ "reason": "ticket VT-9: phone stolen" })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active_sessions"], 0, "{}", r.body);
    let res = browser.get("/account").await;
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "signed out"
    );
    let got = rp.received(&server).await;
    assert_kinds(&got, &[SESSION_REVOKED]);
    rp.names_the_person(&got[0].2, &server);
    by_operator(&got[0].1);
    assert!(!got[0].1.to_string().contains("VT-9"), "{}", got[0].1);

    // Again, with nothing left to end at Verity: the relying party may still hold a session.
    let r = admin_call(
        &server,
        Method::POST,
        &path,
        Some(&admin),
        Some(json!({ "reason": "ticket VT-9 again" })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_kinds(&rp.received(&server).await, &[SESSION_REVOKED]);
    let audited = crate::admin_harness::audit_events_of_kind(&server, "sessions_ended").await;
    assert_eq!(audited.len(), 2, "{audited:?}");
}

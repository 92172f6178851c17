//! The guards: a session confirmed with a phone in its SIM-swap cooldown can't touch another
//! factor or recovery channel (finding 3), step-up derives on the server which phone must not
//! count (finding 11), return targets are parsed (finding 6), signing in comes back to the page
//! that asked for it, and first-sign-in enrolment keeps `max_accounts_per_phone` (finding 9).

use crate::harness::*;

const OTHER: &str = "+12015550177";

async fn user_id(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(verity::accounts::users::by_email(c, &email)?.unwrap().id))
        .await
        .unwrap()
}

/// Adds a phone straight into the store (as a change made just now would).
async fn add_phone_now(server: &TestServer, email: &str, e164: &str) -> String {
    let uid = user_id(server, email).await;
    let (master, now, number) = (
        server.ctx.master.clone(),
        server.ctx.clock.now(),
        e164.to_string(),
    );
    server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::mfa::methods::add_phone(
                c,
                &master,
                now,
                &uid,
                &number,
                verity::mfa::methods::PhoneChannel::Sms,
            )?
            .id)
        })
        .await
        .unwrap()
}

/// Password, then a code texted to `number` (enrolled as `phone_id`).
async fn sign_in_with(server: &TestServer, email: &str, phone_id: &str, number: &str) -> Browser {
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = b.get_ok("/mfa").await;
    let res = b
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", phone_id),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "code sent");
    let page = b
        .get_text(res.headers()["location"].to_str().unwrap())
        .await;
    let code = newest_code(server, number).await;
    let res = b
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "phone"),
                ("phone", phone_id),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "signed in");
    b
}

/// A person with TEST_PHONE and an authenticator app; returns the app's secret.
async fn person_with_phone_and_app(server: &TestServer, email: &str) -> Vec<u8> {
    let browser = person_with_phone(server, email).await;
    let page = browser.get_ok("/account/totp/add").await;
    let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
    let code = totp_code(server, &secret);
    let res = browser
        .post(
            "/account/totp/add",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    secret
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_else(|| format!("(no redirect, status {})", res.status()))
}

async fn backup_codes_left(server: &TestServer, uid: &str) -> i64 {
    let uid = uid.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(verity::mfa::methods::enrolled(c, &uid)?.backup_codes_left))
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_session_confirmed_with_a_cooldown_phone_changes_no_other_factor_or_recovery_channel() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "cora@example.com";
    let secret = person_with_phone_and_app(&server, email).await;
    let uid = user_id(&server, email).await;
    let old_phone = phone_id(&server, email).await;
    // The first phone is past its cooldown; a second one was added just now.
    server.ctx.clock.advance(73 * 3600);
    let new_phone = add_phone_now(&server, email, OTHER).await;
    let b = sign_in_with(&server, email, &new_phone, OTHER).await;
    let account = b.get_ok("/account").await;
    let csrf = csrf_of(&account);

    let mut refused = Vec::new();
    let res = b
        .get(&format!("/account/phones/start?phone={old_phone}"))
        .await;
    refused.push(("replace the other phone", location(&res)));
    let res = b.get("/account/phones/start").await;
    refused.push(("add a phone", location(&res)));
    let res = b
        .post(
            "/account/phones/remove",
            &[("csrf", &csrf), ("phone", &old_phone)],
        )
        .await;
    refused.push(("remove the other phone", location(&res)));
    let res = b.post("/account/backup-codes", &[("csrf", &csrf)]).await;
    refused.push(("regenerate backup codes", location(&res)));
    let res = b
        .post(
            "/account/emails/add",
            &[("csrf", &csrf), ("email", "cora.new@example.com")],
        )
        .await;
    refused.push(("add an email address", location(&res)));
    for path in ["/account/emails/primary", "/account/emails/remove"] {
        let res = b.post(path, &[("csrf", &csrf), ("id", "any")]).await;
        refused.push((path, location(&res)));
    }
    let res = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("password", "a brand new passphrase 2026"),
                ("password_confirmation", "a brand new passphrase 2026"),
            ],
        )
        .await;
    refused.push(("change the password", location(&res)));
    let res = b.get("/account/totp/add").await;
    refused.push(("add an authenticator app", location(&res)));
    let res = b
        .post("/account/totp/add", &[("csrf", &csrf), ("code", "123456")])
        .await;
    refused.push(("confirm an authenticator app", location(&res)));
    let app = hidden(&account, "id");
    let res = b
        .post("/account/totp/remove", &[("csrf", &csrf), ("id", &app)])
        .await;
    refused.push(("remove the authenticator app", location(&res)));
    let res = b
        .post("/account/sessions/end-others", &[("csrf", &csrf)])
        .await;
    refused.push(("sign out other sessions", location(&res)));
    let wrong: Vec<_> = refused
        .iter()
        .filter(|(_, to)| !to.starts_with("/step-up?return_to="))
        .collect();
    assert!(wrong.is_empty(), "not sent to step-up: {wrong:?}");

    // Nothing changed.
    assert_eq!(backup_codes_left(&server, &uid).await, 0);
    let res = server.sign_in(&server.browser(), email, PASSWORD).await;
    assert_eq!(
        res.headers()["location"],
        "/mfa",
        "the password still works"
    );
    let (phones, emails) = {
        let uid = uid.clone();
        server
            .ctx
            .db
            .run(move |c| {
                use diesel::prelude::*;
                use verity::storage::schema::user_emails;
                let phones = verity::mfa::methods::enrolled(c, &uid)?.phones.len();
                let emails: i64 = user_emails::table
                    .filter(user_emails::user_id.eq(&uid))
                    .count()
                    .get_result(c)?;
                Ok((phones, emails))
            })
            .await
            .unwrap()
    };
    assert_eq!(phones, 2);
    assert!(emails <= 1, "no address added: {emails}");

    // Step-up with the authenticator app: now it may.
    let step_up = refused[3].1.clone();
    let page = b.get_ok(&step_up).await;
    let res = b
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
    let mfa = b.get_ok("/mfa").await;
    let res = b
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&mfa)),
                ("phone", &new_phone),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400, "the cooldown phone can't confirm it");
    let code = totp_code(&server, &secret);
    let res = b
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&mfa)),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let account = b.get_ok("/account").await;
    let res = b
        .post("/account/backup-codes", &[("csrf", &csrf_of(&account))])
        .await;
    assert_eq!(res.headers()["location"], "/account/backup-codes");
    assert!(backup_codes_left(&server, &uid).await > 0);
}

#[actix_web::test]
async fn the_phone_being_replaced_never_confirms_its_own_replacement() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "dina@example.com";
    person_with_phone_and_app(&server, email).await;
    let phone = phone_id(&server, email).await;
    server.ctx.clock.advance(73 * 3600);

    // Freshly signed in with that very phone: replacing it asks for another method.
    let (b, _) = sign_in_with_phone(&server, email).await;
    let res = b.get(&format!("/account/phones/start?phone={phone}")).await;
    let step_up = location(&res);
    assert!(step_up.starts_with("/step-up?return_to="), "{step_up}");
    let page = b.get_ok(&step_up).await;
    assert!(!page.contains("exclude_phone"), "no such field any more");
    // A forged or omitted exclude_phone makes no difference.
    for forged in ["", "someone-else"] {
        let page = b.get_ok(&step_up).await;
        let res = b
            .post(
                "/step-up",
                &[
                    ("csrf", &csrf_of(&page)),
                    ("password", PASSWORD),
                    ("return_to", &hidden(&page, "return_to")),
                    ("exclude_phone", forged),
                ],
            )
            .await;
        assert_eq!(res.headers()["location"], "/mfa");
        let mfa = b.get_ok("/mfa").await;
        let res = b
            .post(
                "/mfa/send",
                &[
                    ("csrf", &csrf_of(&mfa)),
                    ("phone", &phone),
                    ("channel", "sms"),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            400,
            "the phone being replaced isn't offered (exclude_phone={forged:?})"
        );
    }
}

#[actix_web::test]
async fn first_sign_in_enrolment_keeps_the_accounts_per_phone_limit() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    person_with_phone(&server, "e1@example.com").await;
    person_with_phone(&server, "e2@example.com").await;
    let sent_before = server.outbox_for(TEST_PHONE).await.len();
    let b = server.browser();
    server.create_account(&b, "e3@example.com").await;
    let res = server.sign_in(&b, "e3@example.com", PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
    let page = b.get_ok("/mfa/setup/phone").await;
    let res = b
        .post(
            "/mfa/setup/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", TEST_PHONE_TYPED),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Contact support"));
    assert_eq!(
        server.outbox_for(TEST_PHONE).await.len(),
        sent_before,
        "no code sent"
    );
}

const HOSTILE_TARGETS: &[&str] = &[
    "/\t/evil.example/phish",
    "/\n/evil.example/phish",
    "/\r/evil.example",
    "//evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example",
    "/%09/evil.example/phish",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    " /account",
    "/account /x",
    "/account\u{0}",
    "/account/../..//evil.example",
    "/nowhere-we-know",
];

#[actix_web::test]
async fn return_targets_are_parsed_not_pattern_matched() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    person_with_phone(&server, "fay@example.com").await;
    let phone = phone_id(&server, "fay@example.com").await;
    let (b, _) = sign_in_with_phone(&server, "fay@example.com").await;
    for target in HOSTILE_TARGETS {
        let q = format!("phone={phone}&next={}", urlencode(target));
        let page = b.get_ok(&format!("/account/phones/review?{q}")).await;
        assert_eq!(hidden(&page, "next"), "/", "GET {target:?}");
        let res = b
            .post(
                "/account/phones/review",
                &[
                    ("csrf", &csrf_of(&page)),
                    ("phone", &phone),
                    ("next", target),
                ],
            )
            .await;
        assert_eq!(location(&res), "/", "POST {target:?}");
        let res = b
            .get(&format!(
                "/account/phones/review?phone=unknown&next={}",
                urlencode(target)
            ))
            .await;
        assert_eq!(location(&res), "/", "GET unknown phone {target:?}");
        let page = b
            .get_ok(&format!("/step-up?return_to={}", urlencode(target)))
            .await;
        assert_eq!(hidden(&page, "return_to"), "/account", "step-up {target:?}");
        let res = server
            .browser()
            .get(&format!("/login?next={}", urlencode(target)))
            .await;
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        assert_eq!(hidden(&page, "next"), "", "login {target:?}");
    }
    // Known pages pass, with their query.
    let page = b
        .get_ok(&format!(
            "/account/phones/review?phone={phone}&next={}",
            urlencode("/authorize/continue?authz=abc")
        ))
        .await;
    assert_eq!(hidden(&page, "next"), "/authorize/continue?authz=abc");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn signing_in_comes_back_to_the_page_that_asked() {
    let server = TestServer::start().await;
    server.signed_in_browser("gus@example.com").await;
    let b = server.browser();
    let res = b.get("/account/password").await;
    let to_login = location(&res);
    assert_eq!(to_login, "/login?next=%2Faccount%2Fpassword");
    let page = b.get_ok(&to_login).await;
    assert_eq!(hidden(&page, "next"), "/account/password");
    let res = b
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&page)),
                ("email", "gus@example.com"),
                ("password", PASSWORD),
                ("authz", ""),
                ("next", &hidden(&page, "next")),
            ],
        )
        .await;
    let res = server.pass_second_factor(&b, "gus@example.com", res).await;
    assert_eq!(location(&res), "/account/password");
    // A POST without a session goes to sign-in too, and back to the account page.
    let fresh = server.browser();
    let page = fresh.get_ok("/login").await;
    let res = fresh
        .post(
            "/account/profile",
            &[("csrf", &csrf_of(&page)), ("given_name", "X")],
        )
        .await;
    assert_eq!(location(&res), "/login?next=%2Faccount%2Fprofile");
}

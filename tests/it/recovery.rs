//! Recovery when the phone is gone: the SIM-swap cooldown in password resets, sign-in without
//! the phone, the time-delayed account reset and its cancellation, and what a reset ends.

use crate::harness::*;
use openidconnect::OAuth2TokenResponse;

const NEW_PASSWORD: &str = "velvet harbour quinoa mosaic";

async fn open_reset_link(server: &TestServer, browser: &Browser, email: &str) -> reqwest::Response {
    let earlier = server.wait_for_messages(email, "Reset your", 0).await.len();
    let page = browser.get_ok("/forgot-password").await;
    let res = browser
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await;
    assert_eq!(res.status(), 200);
    // The link is sent in the background: wait for this request's one.
    server
        .wait_for_messages(email, "Reset your", earlier + 1)
        .await;
    let link = server.link_from_outbox(email, "Reset your").await;
    browser.get_abs(&link).await
}

async fn choose_new_password(browser: &Browser) -> reqwest::Response {
    let form = browser.get_ok("/reset-password/new").await;
    browser
        .post(
            "/reset-password/new",
            &[
                ("csrf", &csrf_of(&form)),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await
}

async fn user_id(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(verity::accounts::users::by_email(c, &email)?.unwrap().id))
        .await
        .unwrap()
}

fn hours(h: i64) -> i64 {
    h * 3600
}

#[actix_web::test]
async fn reset_without_a_second_factor_needs_only_the_link_and_enrolment_follows() {
    let server = TestServer::start().await;
    let browser = server.browser();
    // Signed up and confirmed, but never finished a first sign-in: nothing enrolled.
    server.create_account(&browser, "nia@example.com").await;
    let res = open_reset_link(&server, &browser, "nia@example.com").await;
    assert_eq!(res.headers()["location"], "/reset-password/new");
    let res = choose_new_password(&browser).await;
    assert_eq!(res.status(), 200);
    let res = server
        .sign_in(&server.browser(), "nia@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(
        res.headers()["location"],
        "/mfa/setup",
        "a second factor is still required after the reset"
    );
}

#[actix_web::test]
async fn a_phone_in_its_cooldown_cannot_be_the_only_factor_of_a_reset() {
    let server = TestServer::start().await;
    person_with_phone(&server, "ola@example.com").await;
    let phone = phone_id(&server, "ola@example.com").await;

    let browser = server.browser();
    let res = open_reset_link(&server, &browser, "ola@example.com").await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = browser.get_ok("/mfa").await;
    assert!(
        text_of(&page, ".notice")
            .unwrap()
            .contains("can't be used on its own to reset your password"),
        "the page says why the phone isn't offered"
    );
    assert!(
        !page.contains("Text a code"),
        "no code can be sent to it here"
    );
    let texts_before = server.outbox_for(TEST_PHONE).await.len();
    // A hand-made request (the page has no such form): any page of this browser has its token.
    let csrf = csrf_of(&browser.get_ok("/forgot-password").await);
    let res = browser
        .post(
            "/mfa/send",
            &[("csrf", &csrf), ("phone", &phone), ("channel", "sms")],
        )
        .await;
    assert_eq!(
        res.status(),
        422,
        "sending to the cooldown phone is refused"
    );
    assert!(text_of(&res.text().await.unwrap(), ".alert")
        .unwrap()
        .contains("can't be used to reset your password yet"));
    assert_eq!(server.outbox_for(TEST_PHONE).await.len(), texts_before);
    assert_eq!(
        browser.get("/reset-password/new").await.headers()["location"],
        "/forgot-password",
        "and the new-password step stays closed"
    );

    // After the cooldown the same phone is a second factor like any other.
    server.ctx.clock.advance(hours(73));
    let browser = server.browser();
    open_reset_link(&server, &browser, "ola@example.com").await;
    let page = browser.get_ok("/mfa").await;
    assert!(page.contains("Text a code"));
    let res = pass_phone_factor(&server, &browser, &phone).await;
    assert_eq!(res.headers()["location"], "/reset-password/new");
    assert_eq!(choose_new_password(&browser).await.status(), 200);
}

#[actix_web::test]
async fn with_a_cooldown_phone_and_backup_codes_the_reset_asks_for_a_backup_code() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "pia@example.com").await;
    // Backup codes as well (from the console).
    let account = browser.get_ok("/account").await;
    let res = browser
        .post("/account/backup-codes", &[("csrf", &csrf_of(&account))])
        .await;
    assert_eq!(res.status(), 303);
    let codes = codes_of(&browser.get_ok("/account/backup-codes").await);
    assert_eq!(codes.len(), 10);

    let reset = server.browser();
    open_reset_link(&server, &reset, "pia@example.com").await;
    let page = reset.get_ok("/mfa").await;
    assert!(page.contains("backup code"), "backup code asked for");
    assert!(!page.contains("Text a code"), "the new phone isn't offered");
    let page = reset.get_ok("/mfa?method=phone").await;
    assert!(!page.contains("Text a code"), "not even when asked for");
    let res = reset
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &codes[0]),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/reset-password/new");
}

#[actix_web::test]
async fn a_reset_ends_every_session_and_refresh_token_and_tells_every_channel() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "quin@example.com").await;
    // A second confirmed address.
    let account = browser.get_ok("/account").await;
    browser
        .post(
            "/account/emails/add",
            &[
                ("csrf", &csrf_of(&account)),
                ("email", "quin.work@example.com"),
            ],
        )
        .await;
    let link = server
        .link_from_outbox("quin.work@example.com", "Confirm")
        .await;
    // The link's page confirms nothing; its button does, from this account's session.
    let page = browser.get_abs(&link).await.text().await.unwrap();
    let res = browser
        .post(
            "/account/emails/confirm",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);

    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    let req = rp.auth_request(&["email", "offline_access"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let refresh = tokens.refresh_token().unwrap().secret().clone();

    server.ctx.clock.advance(hours(73));
    let reset = server.browser();
    open_reset_link(&server, &reset, "quin@example.com").await;
    let page = reset.get_ok("/mfa").await;
    let res = pass_phone_factor(&server, &reset, &hidden(&page, "phone")).await;
    assert_eq!(res.headers()["location"], "/reset-password/new");
    assert_eq!(choose_new_password(&reset).await.status(), 200);

    assert!(
        !browser.get_ok("/").await.contains("Signed in as"),
        "the old session is over"
    );
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "even the offline refresh token is dead");
    for address in ["quin@example.com", "quin.work@example.com"] {
        assert!(
            server.outbox_for(address).await[0]
                .subject
                .contains("password was changed"),
            "{address} told"
        );
    }
    assert!(server.outbox_for(TEST_PHONE).await[0]
        .body
        .contains("password was reset"));
}

#[actix_web::test]
async fn without_the_phone_a_backup_code_signs_in_and_leads_to_replacing_it() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "ray@example.com").await;
    let account = browser.get_ok("/account").await;
    browser
        .post("/account/backup-codes", &[("csrf", &csrf_of(&account))])
        .await;
    let codes = codes_of(&browser.get_ok("/account/backup-codes").await);
    let phone = phone_id(&server, "ray@example.com").await;

    let b = server.browser();
    let res = server.sign_in(&b, "ray@example.com", PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = b.get_ok("/mfa").await;
    assert!(
        page.contains("href=\"/mfa/lost-phone\""),
        "the way out is offered"
    );
    let lost = b.get_ok("/mfa/lost-phone").await;
    assert!(lost.contains("Use a backup code"));
    let page = b.get_ok("/mfa?method=backup").await;
    let res = b
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &codes[0]),
            ],
        )
        .await;
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/account/phones/start?phone={phone}")
    );
    let (url, _) = b.follow(res).await;
    assert!(
        url.ends_with("/account/phones/change"),
        "straight into the phone change, no second step-up: {url}"
    );
}

async fn request_account_reset(server: &TestServer, email: &str) -> Browser {
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let lost = b.get_ok("/mfa/lost-phone").await;
    assert!(
        !lost.contains("Use a backup code"),
        "no other factor on file"
    );
    let missing_csrf = b.post("/mfa/lost-phone/account-reset", &[]).await;
    assert_eq!(missing_csrf.status(), 403);
    let res = b
        .post(
            "/mfa/lost-phone/account-reset",
            &[("csrf", &csrf_of(&lost))],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(text_of(&res.text().await.unwrap(), ".notice")
        .unwrap()
        .contains("We've emailed a link"));
    let link = server
        .link_from_outbox(email, "Confirm your Verity account reset")
        .await;
    let page = b.get_ok(link.trim_start_matches(&server.base)).await;
    assert!(page.contains("Confirm the account reset"));
    let uid = user_id(server, email).await;
    let pending = || verity::recovery::account_reset::pending(&server.ctx, &uid);
    assert!(
        pending().await.unwrap().is_none(),
        "opening the link alone files nothing; the POST does"
    );
    let res = b
        .post(
            "/account-reset/request",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your account reset is waiting"));
    assert!(pending().await.unwrap().is_some());
    // The link works once.
    let again = b.get(link.trim_start_matches(&server.base)).await;
    assert_eq!(again.status(), 400);
    b
}

#[actix_web::test]
async fn account_reset_waits_then_removes_every_method_and_enrolment_follows() {
    // Sessions long enough to outlive the wait, so "every session ended" is the reset's doing.
    let server = TestServer::start_with(|s| {
        s.security.session_absolute_secs = 3 * 86400;
        s.security.session_idle_secs = 3 * 86400;
    })
    .await;
    let old_session = person_with_phone(&server, "sal@example.com").await;
    let uid = user_id(&server, "sal@example.com").await;
    // A security key too (stored as registration would store it): the reset removes keys.
    let key_owner = uid.clone();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::webauthn_credentials as w;
            diesel::insert_into(w::table)
                .values((
                    w::id.eq("key-1"),
                    w::user_id.eq(&key_owner),
                    w::credential_id.eq("Y3JlZGVudGlhbA"),
                    w::kind.eq("security_key"),
                    w::name.eq("Blue key"),
                    w::credential.eq("{}"),
                    w::created_at.eq(chrono::Utc::now().naive_utc()),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let b = request_account_reset(&server, "sal@example.com").await;

    // Announced on every channel.
    assert!(server.outbox_for("sal@example.com").await[0]
        .subject
        .contains("Account reset requested"));
    assert!(server.outbox_for(TEST_PHONE).await[0]
        .body
        .contains("reset your account's sign-in methods"));

    // Before the wait is over, no link.
    server.ctx.clock.advance(hours(23));
    verity::recovery::account_reset::send_due_links(&server.ctx)
        .await
        .unwrap();
    assert!(!server.outbox_for("sal@example.com").await[0]
        .subject
        .contains("You can now reset"));

    server.ctx.clock.advance(hours(1) + 1);
    verity::recovery::account_reset::send_due_links(&server.ctx)
        .await
        .unwrap();
    verity::recovery::account_reset::send_due_links(&server.ctx)
        .await
        .unwrap();
    let sent: Vec<_> = server
        .outbox_for("sal@example.com")
        .await
        .into_iter()
        .filter(|m| m.subject.contains("You can now reset"))
        .collect();
    assert_eq!(sent.len(), 1, "the link is mailed exactly once");
    let link = server
        .link_from_outbox("sal@example.com", "You can now reset")
        .await;
    let path = link.trim_start_matches(&server.base).to_string();
    let page = b.get_ok(&path).await;
    assert!(old_session.get_ok("/").await.contains("Signed in as"));
    let missing_csrf = b
        .post("/account-reset", &[("token", &hidden(&page, "token"))])
        .await;
    assert_eq!(missing_csrf.status(), 403);
    let res = b
        .post(
            "/account-reset",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("old sign-in methods are removed"));
    assert_eq!(b.get(&path).await.status(), 400, "the link works once");

    let uid2 = uid.clone();
    let (enrolled, reverify) = server
        .ctx
        .db
        .run(move |c| {
            let e = verity::mfa::methods::enrolled(c, &uid2)?;
            let u = verity::accounts::users::by_id(c, &uid2)?.unwrap();
            Ok((e.any(), u.identity_reverify_at.is_some()))
        })
        .await
        .unwrap();
    assert!(!enrolled, "no phone, app, key or backup code left");
    assert!(
        !old_session.get_ok("/").await.contains("Signed in as"),
        "every session ended"
    );
    assert!(reverify, "identity data marked for re-verification");
    assert!(server.outbox_for(TEST_PHONE).await[0]
        .body
        .contains("removed from an account"));
    let res = server
        .sign_in(&server.browser(), "sal@example.com", PASSWORD)
        .await;
    assert_eq!(res.headers()["location"], "/mfa/setup", "new methods next");
}

#[actix_web::test]
async fn signing_in_normally_during_the_wait_cancels_the_reset() {
    let server = TestServer::start().await;
    person_with_phone(&server, "tam@example.com").await;
    request_account_reset(&server, "tam@example.com").await;

    // The owner, who still has the phone, signs in as usual.
    server.ctx.clock.advance(hours(2));
    let (_, res) = sign_in_with_phone(&server, "tam@example.com").await;
    assert_eq!(res.status(), 303);
    assert!(server.outbox_for("tam@example.com").await[0]
        .subject
        .contains("account reset was cancelled"));
    assert!(server.outbox_for(TEST_PHONE).await[0]
        .body
        .contains("was cancelled because you signed in"));

    server.ctx.clock.advance(hours(24));
    verity::recovery::account_reset::send_due_links(&server.ctx)
        .await
        .unwrap();
    assert!(
        !server
            .outbox_for("tam@example.com")
            .await
            .iter()
            .any(|m| m.subject.contains("You can now reset")),
        "no removal link after a cancellation"
    );
    let uid = user_id(&server, "tam@example.com").await;
    let still = server
        .ctx
        .db
        .run(move |c| Ok(verity::mfa::methods::enrolled(c, &uid)?.phones.len()))
        .await
        .unwrap();
    assert_eq!(still, 1, "the phone stays");
}

#[actix_web::test]
async fn a_session_confirmed_with_a_cooldown_phone_cannot_remove_another_factor() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "uli@example.com").await;
    let phone = phone_id(&server, "uli@example.com").await;
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

    // Signed in with the new phone (still in its cooldown): the app can't be removed that way.
    let (b, _) = sign_in_with_phone(&server, "uli@example.com").await;
    let account = b.get_ok("/account").await;
    let app = hidden(&account, "id");
    let res = b
        .post(
            "/account/totp/remove",
            &[("csrf", &csrf_of(&account)), ("id", &app)],
        )
        .await;
    let step_up = res.headers()["location"].to_str().unwrap().to_string();
    // Which phone must not count is the server's business, not the address's.
    assert!(
        step_up.starts_with("/step-up") && !step_up.contains(&phone),
        "step-up is asked for: {step_up}"
    );
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
    assert!(
        !mfa.contains("Text a code"),
        "the cooldown phone isn't offered"
    );
    server.ctx.clock.advance(30);
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
    assert_eq!(res.headers()["location"], "/account");
    let account = b.get_ok("/account").await;
    let res = b
        .post(
            "/account/totp/remove",
            &[("csrf", &csrf_of(&account)), ("id", &app)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account", "now it can go");
}

#[actix_web::test]
async fn a_disabled_account_gets_no_removal_link() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "val@example.com").await;
    request_account_reset(&server, "val@example.com").await;
    let uid = user_id(&server, "val@example.com").await;
    assert_eq!(browser.get("/account").await.status(), 200, "signed in");
    // An agent disables the account through the management API: the person's session stops
    // working at once.
    let (_, token) = crate::admin_harness::admin_token(&server).await;
    let r = crate::admin_harness::call(
        &server,
        reqwest::Method::POST,
        &format!("/users/{uid}/disable"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    let res = browser.get("/account").await;
    assert_eq!(res.status(), 303, "the session ended with the disabling");
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        res.headers()["location"]
    );
    server.ctx.clock.advance(hours(25));
    verity::recovery::account_reset::send_due_links(&server.ctx)
        .await
        .unwrap();
    assert!(!server
        .outbox_for("val@example.com")
        .await
        .iter()
        .any(|m| m.subject.contains("You can now reset")));
}

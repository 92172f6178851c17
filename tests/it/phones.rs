//! Changing, adding and removing phone numbers from the account console.

use crate::harness::*;

const OLD_TYPED: &str = TEST_PHONE_TYPED;
const OLD: &str = TEST_PHONE;
const NEW: &str = "+12015550146";

#[actix_web::test]
async fn changing_a_number_end_to_end_with_notices_on_every_channel() {
    // Several sends to the same numbers within seconds in this test.
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let browser = person_with_phone(&server, "lea@example.com").await;
    let id = phone_id(&server, "lea@example.com").await;

    // Inside the step-up window: straight to the number form.
    let res = browser
        .get(&format!("/account/phones/start?phone={id}"))
        .await;
    assert_eq!(res.headers()["location"], "/account/phones/change");
    let page = browser.get_ok("/account/phones/change").await;
    assert!(page.contains("Change +1 ••• ••• 0123"), "{page}");
    assert!(!page.contains("2015550123"), "never the full number");

    // Skipping ahead is refused.
    let early = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&page)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(early.status(), 400);
    let early = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", "123456")],
        )
        .await;
    assert_eq!(early.status(), 400);

    let res = browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", NEW),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let first_code = newest_code(&server, NEW).await;
    assert_eq!(server.outbox_for(NEW).await.len(), 1, "one text so far");
    // Resend: a second text with a new code, and the old code stops working.
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/resend",
            &[("csrf", &csrf_of(&page)), ("channel", "sms")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let resent = res.text().await.unwrap();
    assert_eq!(
        text_of(&resent, ".notice").as_deref(),
        Some("We've sent a new code."),
        "{resent}"
    );
    let texts = server.outbox_for(NEW).await;
    assert_eq!(texts.len(), 2, "the resend sent a second text");
    assert_ne!(texts[0].id, texts[1].id);
    let code = newest_code(&server, NEW).await;
    // (A fresh random code equals the old one once in a million resends.)
    assert_ne!(code, first_code, "the second text carries a new code");
    assert_ne!(texts[0].body, texts[1].body);
    let res = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", &first_code)],
        )
        .await;
    assert_eq!(res.status(), 422, "the code the resend replaced is refused");
    let refused = res.text().await.unwrap();
    assert_eq!(
        text_of(&refused, ".alert").as_deref(),
        Some("That code didn't work. Check it and try again."),
        "{refused}"
    );
    let res = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);

    // Review shows old and new, masked.
    let review = browser.get_ok("/account/phones/change").await;
    assert!(review.contains("Check and confirm"));
    assert!(review.contains("0123") && review.contains("0146"));
    assert!(!review.contains("2015550146"), "never the full number");
    let res = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&review)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let receipt = res.text().await.unwrap();
    assert!(receipt.contains("Phone number updated"));

    // Notices: the old number, the email address, the new number.
    let old_sms = &server.outbox_for(OLD).await[0];
    assert!(old_sms.body.contains("was changed on"), "{}", old_sms.body);
    let email = &server.outbox_for("lea@example.com").await[0];
    assert!(email.subject.contains("phone numbers changed"));
    assert!(
        email.body.contains("/not-me?token="),
        "a 'this wasn't me' link"
    );
    let new_sms = &server.outbox_for(NEW).await[0];
    assert!(new_sms.body.contains("is now on your"));

    // Stored encrypted, audited, and the new number now receives sign-in codes.
    let (enc, audited) = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::{audit_events, phones};
            let enc: String = phones::table.select(phones::number_enc).first(c)?;
            let n: i64 = audit_events::table
                .filter(audit_events::kind.eq("phone_changed"))
                .count()
                .get_result(c)?;
            Ok((enc, n))
        })
        .await
        .unwrap();
    assert!(enc.starts_with("v1.") && !enc.contains("2015550146"));
    assert_eq!(audited, 1);
    let b = server.browser();
    let res = server.sign_in(&b, "lea@example.com", PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = b.get_ok("/mfa").await;
    // The visible text only: hidden ids and tokens are random and may contain any digits.
    let shown = text_of(&page, "main").unwrap_or_default();
    assert!(
        shown.contains("0146") && !shown.contains("0123"),
        "codes go to the new number now: {shown}"
    );
}

#[actix_web::test]
async fn step_up_is_demanded_outside_the_window() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let browser = person_with_phone(&server, "max@example.com").await;
    let id = phone_id(&server, "max@example.com").await;
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let res = browser
        .get(&format!("/account/phones/start?phone={id}"))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/step-up?"), "{location}");
    let page = browser.get_ok(&location).await;
    let missing_csrf = browser.post("/step-up", &[("password", PASSWORD)]).await;
    assert_eq!(missing_csrf.status(), 403);
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
    // The phone being replaced is the only method, so it may be the second factor here.
    let page = browser.get_ok("/mfa").await;
    let res = browser
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", &id),
                ("channel", "sms"),
            ],
        )
        .await;
    let page = browser
        .get_text(res.headers()["location"].to_str().unwrap())
        .await;
    let code = newest_code(&server, OLD).await;
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "phone"),
                ("phone", &id),
                ("code", &code),
            ],
        )
        .await;
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with("/account/phones/start"),
        "back where the person was: {back}"
    );
    let res = browser.get(&back).await;
    assert_eq!(
        res.headers()["location"],
        "/account/phones/change",
        "inside the window now"
    );
}

#[actix_web::test]
async fn cancelling_keeps_the_old_number_and_the_last_method_cannot_be_removed() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let browser = person_with_phone(&server, "ned@example.com").await;
    let id = phone_id(&server, "ned@example.com").await;
    browser
        .get(&format!("/account/phones/start?phone={id}"))
        .await;
    let page = browser.get_ok("/account/phones/change").await;
    browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", NEW),
                ("channel", "sms"),
            ],
        )
        .await;
    let page = browser.get_ok("/account/phones/change").await;
    let code = newest_code(&server, NEW).await;
    browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    let review = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&review)), ("decision", "cancel")],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    let account = browser.get_ok("/account").await;
    // The phone list (the activity below it names the number a code went to).
    let shown: String = scraper::Html::parse_document(&account)
        .select(&scraper::Selector::parse("li.phone").unwrap())
        .flat_map(|li| li.text().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert!(
        shown.contains("0123") && !shown.contains("0146"),
        "old number kept: {shown}"
    );
    assert!(server
        .outbox_for(OLD)
        .await
        .iter()
        .all(|m| !m.body.contains("was changed")));

    let res = browser
        .post(
            "/account/phones/remove",
            &[("csrf", &csrf_of(&account)), ("phone", &id)],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("only way to confirm"));
    let res = browser
        .post("/account/phones/remove", &[("phone", &id)])
        .await;
    assert_eq!(res.status(), 403, "CSRF missing");
}

#[actix_web::test]
async fn a_number_shared_by_too_many_accounts_is_refused() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let _a = person_with_phone(&server, "ona@example.com").await;
    let _b = person_with_phone(&server, "ola@example.com").await;
    let browser = server.signed_in_browser("oz@example.com").await;
    browser.get("/account/phones/start").await;
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", OLD_TYPED),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Contact support"));
}

#[actix_web::test]
async fn a_phone_not_reviewed_for_a_year_gets_the_interstitial() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    person_with_phone(&server, "rex@example.com").await;
    let (_, res) = sign_in_with_phone(&server, "rex@example.com").await;
    assert_eq!(
        res.headers()["location"],
        "/",
        "no interstitial for a fresh number"
    );

    server.ctx.clock.advance(366 * 86400);
    let (b, res) = sign_in_with_phone(&server, "rex@example.com").await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("/account/phones/review?"),
        "{location}"
    );
    let page = b.get_ok(&location).await;
    assert!(page.contains("still your number"));
    assert!(page.contains("0123") && page.contains("Update it"));
    let res = b
        .post(
            "/account/phones/review",
            &[
                ("phone", &hidden(&page, "phone")),
                ("next", &hidden(&page, "next")),
            ],
        )
        .await;
    assert_eq!(res.status(), 403, "CSRF missing");
    let res = b
        .post(
            "/account/phones/review",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", &hidden(&page, "phone")),
                ("next", &hidden(&page, "next")),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/");
    let (_, res) = sign_in_with_phone(&server, "rex@example.com").await;
    assert_eq!(res.headers()["location"], "/", "reviewed: not asked again");
}

#[actix_web::test]
async fn wrong_and_expired_codes_and_the_per_account_limit() {
    let server = TestServer::start_with(|s| {
        s.security.otp_sends_per_short_window = 10;
        s.security.max_phones_per_account = 1;
    })
    .await;
    let browser = person_with_phone(&server, "sal@example.com").await;
    let id = phone_id(&server, "sal@example.com").await;

    // Adding a second number is past the per-account limit (1 here).
    browser.get("/account/phones/start").await;
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", NEW),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("the most an account can have"));

    // Replacing is fine; a wrong code, then an expired one, are refused.
    browser
        .get(&format!("/account/phones/start?phone={id}"))
        .await;
    let page = browser.get_ok("/account/phones/change").await;
    browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", NEW),
                ("channel", "sms"),
            ],
        )
        .await;
    let code = newest_code(&server, NEW).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", wrong)],
        )
        .await;
    assert_eq!(res.status(), 422);
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.otp_ttl_secs as i64 + 1);
    let res = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("expired"));
}

#[actix_web::test]
async fn every_console_post_refuses_a_missing_csrf_token() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("tom@example.com").await;
    for path in [
        "/account/phones/change/number",
        "/account/phones/change/resend",
        "/account/phones/change/code",
        "/account/phones/change/decision",
        "/account/phones/remove",
        "/account/phones/review",
        "/account/sessions/end",
        "/account/sessions/end-others",
        "/account/apps/revoke",
        "/account/password",
        "/account/profile",
        "/account/totp/add",
        "/account/totp/remove",
        "/account/emails/add",
        "/account/emails/primary",
        "/account/emails/remove",
        "/account/activity/not-me",
        "/account/backup-codes",
        "/step-up",
    ] {
        let res = browser.post(path, &[("x", "y")]).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    assert!(
        browser.get_ok("/").await.contains("Signed in as"),
        "nothing happened"
    );
}

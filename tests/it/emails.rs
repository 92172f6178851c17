//! Email addresses in the account console.

use crate::harness::*;

#[actix_web::test]
async fn adding_confirming_making_primary_and_removing_an_address() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("vee@example.com").await;
    let account = browser.get_ok("/account").await;
    assert_eq!(
        browser
            .post("/account/emails/add", &[("email", "vee@work.example")])
            .await
            .status(),
        403,
        "CSRF missing"
    );
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "Vee@Work.example")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(browser
        .get_ok("/account")
        .await
        .contains("waiting for confirmation"));
    assert!(
        server.outbox_for("vee@example.com").await[0]
            .subject
            .contains("email address was added"),
        "the existing address is told"
    );

    let link = server
        .link_from_outbox("vee@work.example", "Confirm your new email")
        .await;
    assert_eq!(browser.get_abs(&link).await.status(), 200);
    assert_eq!(
        browser.get_abs(&link).await.status(),
        400,
        "the link works once"
    );
    let account = browser.get_ok("/account").await;
    assert!(!account.contains("waiting for confirmation"));

    // Make it primary: signing in now uses it; both addresses hear about it.
    let doc = scraper::Html::parse_document(&account);
    let id = doc
        .select(
            &scraper::Selector::parse("form[action='/account/emails/primary'] input[name=id]")
                .unwrap(),
        )
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string();
    let res = browser
        .post(
            "/account/emails/primary",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(server.outbox_for("vee@example.com").await[0]
        .subject
        .contains("sign-in email changed"));
    assert!(server.outbox_for("vee@work.example").await[0]
        .subject
        .contains("sign-in email changed"));
    assert_eq!(
        server
            .sign_in(&server.browser(), "vee@work.example", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        server
            .sign_in(&server.browser(), "vee@example.com", PASSWORD)
            .await
            .status(),
        401
    );

    // Remove the old one (now secondary); it is told too.
    let account = browser.get_ok("/account").await;
    let doc = scraper::Html::parse_document(&account);
    let id = doc
        .select(
            &scraper::Selector::parse("form[action='/account/emails/remove'] input[name=id]")
                .unwrap(),
        )
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string();
    let res = browser
        .post(
            "/account/emails/remove",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(server.outbox_for("vee@example.com").await[0]
        .subject
        .contains("was removed"));
    assert!(!browser.get_ok("/account").await.contains("vee@example.com"));
}

#[actix_web::test]
async fn email_changes_need_a_recent_sign_in_and_addresses_stay_unique() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("wyn@example.com").await;
    let _other = server.signed_in_browser("xan@example.com").await;
    let account = browser.get_ok("/account").await;
    // Someone else's address: the same answer, nothing added, nothing sent to it.
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "xan@example.com")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(!browser.get_ok("/account").await.contains("xan@example.com"));
    assert!(server
        .outbox_for("xan@example.com")
        .await
        .iter()
        .all(|m| !m.subject.contains("Confirm your new email")));

    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "wyn@home.example")],
        )
        .await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/step-up"));
    assert!(server.outbox_for("wyn@home.example").await.is_empty());
}

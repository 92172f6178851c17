//! Forgot password: emailed link plus the second factor, then everything signed out.

use crate::harness::*;

const NEW_PASSWORD: &str = "velvet harbour quinoa mosaic";

async fn request_reset(browser: &Browser, email: &str) -> reqwest::Response {
    let page = browser.get_ok("/forgot-password").await;
    browser
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await
}

#[actix_web::test]
async fn reset_needs_the_link_and_the_second_factor_and_signs_out_everywhere() {
    let server = TestServer::start().await;
    let old_browser = server.signed_in_browser("ada@example.com").await;

    // Same answer for an unknown email; only the real account gets a link.
    let browser = server.browser();
    let known = request_reset(&browser, "ada@example.com").await;
    let unknown = request_reset(&browser, "nobody@example.com").await;
    assert_eq!(known.status(), unknown.status());
    let a = text_of(&known.text().await.unwrap(), ".notice").unwrap();
    let b = text_of(&unknown.text().await.unwrap(), ".notice").unwrap();
    assert_eq!(
        a.replace("ada@example.com", "X"),
        b.replace("nobody@example.com", "X")
    );
    assert!(server.outbox_for("nobody@example.com").await.is_empty());
    let link = server
        .link_from_outbox("ada@example.com", "Reset your")
        .await;

    // The link alone isn't enough: the second factor comes first.
    let res = browser.get_abs(&link).await;
    assert_eq!(res.headers()["location"], "/mfa");
    assert_eq!(
        browser.get("/reset-password/new").await.headers()["location"],
        "/forgot-password",
        "can't skip the second factor"
    );
    let page = browser.get_ok("/mfa?method=backup").await;
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", "0000-0000-0000"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422, "a wrong code doesn't pass");
    let code = server.take_backup_code("ada@example.com");
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
    assert_eq!(res.headers()["location"], "/reset-password/new");

    let form = browser.get_ok("/reset-password/new").await;
    let res = browser
        .post(
            "/reset-password/new",
            &[
                ("csrf", &csrf_of(&form)),
                ("password", "password1"),
                ("password_confirmation", "password1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(text_of(&res.text().await.unwrap(), ".alert")
        .unwrap()
        .contains("too easy"));
    let res = browser
        .post(
            "/reset-password/new",
            &[
                ("csrf", &csrf_of(&form)),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Password changed"));
    assert!(server.outbox_for("ada@example.com").await[0]
        .subject
        .contains("password was changed"));

    // Every session ended; the old password is gone; the new one works (with MFA).
    assert!(!old_browser.get_ok("/").await.contains("Signed in as"));
    assert_eq!(
        server
            .sign_in(&server.browser(), "ada@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    let fresh = server.browser();
    let res = server
        .sign_in(&fresh, "ada@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(
        res.headers()["location"],
        "/mfa",
        "signing in afterwards still asks for MFA"
    );

    // The link works once.
    let again = server.browser().get_abs(&link).await;
    assert_eq!(again.status(), 400);
}

#[actix_web::test]
async fn reset_requests_are_rate_limited() {
    let server = TestServer::start_with(|s| s.security.password_resets_per_hour = 2).await;
    let browser = server.browser();
    server.create_account(&browser, "bea@example.com").await;
    assert_eq!(
        request_reset(&browser, "bea@example.com").await.status(),
        200
    );
    assert_eq!(
        request_reset(&browser, "bea@example.com").await.status(),
        200
    );
    let res = request_reset(&browser, "bea@example.com").await;
    assert_eq!(res.status(), 429);
    assert_eq!(
        server
            .outbox_for("bea@example.com")
            .await
            .iter()
            .filter(|m| m.subject.contains("Reset"))
            .count(),
        2
    );
}

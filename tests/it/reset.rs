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
    let link = server
        .link_from_outbox("ada@example.com", "Reset your")
        .await;
    assert!(server.outbox_for("nobody@example.com").await.is_empty());

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
            .wait_for_messages("bea@example.com", "Reset", 3)
            .await
            .len(),
        2
    );
}

/// A notifier whose reset emails wait until the test lets them go: a slow SMTP relay.
struct HeldResetMail {
    inner: std::sync::Arc<dyn verity::notify::Notifier>,
    release: std::sync::Arc<tokio::sync::Semaphore>,
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait::async_trait]
impl verity::notify::Notifier for HeldResetMail {
    async fn send(&self, message: verity::notify::Message) -> anyhow::Result<()> {
        if message.subject.contains("Reset your") {
            self.waiting
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _go = self.release.acquire().await?;
        }
        self.inner.send(message).await
    }

    fn name(&self) -> &'static str {
        "held reset mail"
    }
}

#[actix_web::test]
async fn forgot_password_answers_before_the_mail_is_sent() {
    let release = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let waiting = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (r, w) = (release.clone(), waiting.clone());
    let server = TestServer::start_with_notifier(
        |_| {},
        move |inner| {
            std::sync::Arc::new(HeldResetMail {
                inner,
                release: r,
                waiting: w,
            })
        },
    )
    .await;
    let browser = server.browser();
    server.create_account(&browser, "ora@example.com").await;

    // The answer for an existing account comes back while its email is still stuck in the
    // relay: the request does the same work whether or not the account exists.
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        request_reset(&server.browser(), "ora@example.com"),
    )
    .await
    .expect("the answer doesn't wait for the mail to be sent");
    assert_eq!(answer.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while waiting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the reset mail is being sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        server
            .outbox_for("ora@example.com")
            .await
            .iter()
            .all(|m| !m.subject.contains("Reset your")),
        "not delivered yet"
    );

    // Once the relay answers, the link arrives.
    release.add_permits(1);
    let sent = server
        .wait_for_messages("ora@example.com", "Reset your", 1)
        .await;
    assert_eq!(sent.len(), 1, "the link is sent afterwards");
}

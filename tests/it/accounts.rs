//! Sign-up, email confirmation, sign-in, throttling and sessions, as a person sees them.

use crate::harness::*;

#[actix_web::test]
async fn sign_up_refuses_weak_passwords_with_a_reason() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.get_ok("/signup").await;
    let res = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf_of(&page)),
                ("email", "weak@example.com"),
                ("password", "password1"),
                ("password_confirmation", "password1"),
                ("terms", "accepted"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    let reason = text_of(&html, "#password-error").expect("a reason next to the password field");
    assert!(reason.contains("too easy to guess"), "{reason}");

    let res = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf_of(&html)),
                ("email", "weak@example.com"),
                ("password", "short"),
                ("password_confirmation", "short"),
            ],
        )
        .await;
    let html = res.text().await.unwrap();
    assert!(text_of(&html, "#password-error")
        .unwrap()
        .contains("at least 8 characters"));
    assert!(text_of(&html, "#terms-error")
        .unwrap()
        .contains("accept the terms"));
    assert!(
        server.outbox_for("weak@example.com").await.is_empty(),
        "nothing sent for a refused sign-up"
    );
}

#[actix_web::test]
async fn duplicate_sign_up_answers_like_a_new_one_and_warns_the_owner() {
    let server = TestServer::start().await;
    let owner = server.browser();
    server.create_account(&owner, "dana@example.com").await;

    let stranger = server.browser();
    let sign_up = |email: &'static str| {
        let stranger = &stranger;
        async move {
            let page = stranger.get_ok("/signup").await;
            let res = stranger
                .post(
                    "/signup",
                    &[
                        ("csrf", &csrf_of(&page)),
                        ("email", email),
                        ("password", "another long passphrase here"),
                        ("password_confirmation", "another long passphrase here"),
                        ("terms", "accepted"),
                    ],
                )
                .await;
            (
                res.status(),
                text_of(&res.text().await.unwrap(), "main").unwrap(),
            )
        }
    };
    let (status_dup, text_dup) = sign_up("dana@example.com").await;
    let (status_new, text_new) = sign_up("erin@example.com").await;
    assert_eq!(status_dup, status_new);
    assert_eq!(
        text_dup.replace("dana@example.com", "X"),
        text_new.replace("erin@example.com", "X"),
        "same page for a registered and a new email"
    );
    let to_owner = server.outbox_for("dana@example.com").await;
    assert!(
        to_owner[0].subject.contains("tried to sign up"),
        "owner is told: {:?}",
        to_owner[0].subject
    );
    // The original password still works: the duplicate changed nothing.
    let res = server.sign_in(&owner, "dana@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/mfa/setup",
        "on to the second factor"
    );
}

#[actix_web::test]
async fn unconfirmed_accounts_cannot_sign_in_and_links_are_single_use() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.get_ok("/signup").await;
    let res = browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf_of(&page)),
                ("email", "Fay@Example.com"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
                ("terms", "accepted"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);

    let res = server.sign_in(&browser, "fay@example.com", PASSWORD).await;
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("confirm your email address first"));
    assert_eq!(
        server
            .outbox_for("fay@example.com")
            .await
            .iter()
            .filter(|m| m.subject.contains("Confirm"))
            .count(),
        2,
        "a fresh link was sent"
    );

    let link = server
        .link_from_outbox("fay@example.com", "Confirm your email")
        .await;
    assert_eq!(browser.get_abs(&link).await.status(), 200);
    let again = browser.get_abs(&link).await;
    assert_eq!(again.status(), 400, "a used link is refused");
    assert!(again.text().await.unwrap().contains("isn't valid"));
    assert_eq!(
        browser.get("/confirm-email?token=forged").await.status(),
        400
    );

    let res = server.sign_in(&browser, "FAY@example.com ", PASSWORD).await;
    assert_eq!(
        res.status(),
        303,
        "email is case-insensitive once confirmed"
    );
    server
        .pass_second_factor(&browser, "fay@example.com", res)
        .await;
    let home = browser.get_ok("/").await;
    assert!(
        home.contains("signed in as <strong>fay@example.com</strong>"),
        "{home}"
    );
}

#[actix_web::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let server = TestServer::start().await;
    let browser = server.browser();
    server.create_account(&browser, "gil@example.com").await;

    let wrong = server
        .sign_in(&browser, "gil@example.com", "not the password at all")
        .await;
    let unknown = server
        .sign_in(&browser, "nobody@example.com", "not the password at all")
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let a = text_of(&wrong.text().await.unwrap(), ".alert").unwrap();
    let b = text_of(&unknown.text().await.unwrap(), ".alert").unwrap();
    assert_eq!(a, b);
    assert!(a.contains("don't match an account"));
}

#[actix_web::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let server = TestServer::start().await;
    let browser = server.browser();
    server.create_account(&browser, "hal@example.com").await;
    browser.get_ok("/login").await;

    let missing = browser
        .post(
            "/login",
            &[("email", "hal@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(missing.status(), 403);
    assert!(missing
        .text()
        .await
        .unwrap()
        .contains("This form has expired"));

    // A token minted for another browser doesn't work here.
    let other = server.browser();
    let foreign = csrf_of(&other.get_ok("/login").await);
    let res = browser
        .post(
            "/login",
            &[
                ("csrf", &foreign),
                ("email", "hal@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        browser
            .post("/signup", &[("email", "x@example.com")])
            .await
            .status(),
        403
    );
    assert_eq!(browser.post("/logout", &[]).await.status(), 403);
    // Nothing signed in on the way.
    assert!(!browser.get_ok("/").await.contains("Signed in as"));
}

#[actix_web::test]
async fn repeated_wrong_passwords_from_one_ip_trigger_backoff_even_for_the_right_password() {
    let server = TestServer::start().await;
    let browser = server.browser();
    server.create_account(&browser, "ivy@example.com").await;
    let allowed = server.ctx.settings.security.password_failures_per_ip;
    for attempt in 1..allowed {
        let res = server
            .sign_in(&browser, "ivy@example.com", "wrong wrong wrong")
            .await;
        assert_eq!(res.status(), 401, "attempt {attempt} is a plain failure");
    }
    let res = server
        .sign_in(&browser, "ivy@example.com", "wrong wrong wrong")
        .await;
    assert_eq!(res.status(), 429, "failure {allowed} starts the backoff");
    let html = res.text().await.unwrap();
    assert!(html.contains("wait 1 minute"), "{html}");

    let res = server.sign_in(&browser, "ivy@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429, "the right password waits too");
    // An unknown email is throttled the same way: no enumeration through the lock.
    for _ in 0..allowed {
        server
            .sign_in(&browser, "ghost@example.com", "wrong wrong wrong")
            .await;
    }
    assert_eq!(
        server
            .sign_in(&browser, "ghost@example.com", "x")
            .await
            .status(),
        429
    );
}

#[actix_web::test]
async fn consecutive_failures_lock_the_account_and_email_the_owner() {
    let server = TestServer::start_with(|s| {
        s.security.password_failures_per_ip = 50;
        s.security.password_failures_account_lock = 4;
    })
    .await;
    let browser = server.browser();
    server.create_account(&browser, "jay@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            server
                .sign_in(&browser, "jay@example.com", "bad guess here")
                .await
                .status(),
            401
        );
    }
    let res = server
        .sign_in(&browser, "jay@example.com", "bad guess here")
        .await;
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    assert!(html.contains("Sign-in paused"));
    assert!(html.contains("15 minutes"));
    assert!(html.contains("What you can do"));
    let notices = server.outbox_for("jay@example.com").await;
    assert!(
        notices[0].subject.contains("paused"),
        "owner emailed: {}",
        notices[0].subject
    );

    // Another browser (same IP here, but the lock is per account) with the right password.
    let other = server.browser();
    assert_eq!(
        server
            .sign_in(&other, "jay@example.com", PASSWORD)
            .await
            .status(),
        429
    );
}

#[actix_web::test]
async fn sessions_end_after_idle_and_absolute_timeouts_and_on_sign_out() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("kim@example.com").await;
    assert!(browser.get_ok("/").await.contains("Signed in as"));

    let idle = server.ctx.settings.security.session_idle_secs as i64;
    server.ctx.clock.advance(idle - 120);
    assert!(
        browser.get_ok("/").await.contains("Signed in as"),
        "still active inside the idle window"
    );
    server.ctx.clock.advance(idle + 1);
    assert!(
        !browser.get_ok("/").await.contains("Signed in as"),
        "idle timeout"
    );

    let browser = server.browser();
    server.sign_in_fully(&browser, "kim@example.com").await;
    let absolute = server.ctx.settings.security.session_absolute_secs as i64;
    let mut elapsed = 0;
    while elapsed + 600 < absolute {
        server.ctx.clock.advance(600);
        elapsed += 600;
        assert!(browser.get_ok("/").await.contains("Signed in as"));
    }
    server.ctx.clock.advance(absolute - elapsed + 1);
    assert!(
        !browser.get_ok("/").await.contains("Signed in as"),
        "absolute timeout"
    );

    let browser = server.browser();
    server.sign_in_fully(&browser, "kim@example.com").await;
    let home = browser.get_ok("/").await;
    let res = browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    assert_eq!(res.status(), 303);
    assert!(!browser.get_ok("/").await.contains("Signed in as"));
}

#[actix_web::test]
async fn session_cookie_has_the_right_flags() {
    let server = TestServer::start().await;
    let browser = server.browser();
    server.create_account(&browser, "lee@example.com").await;
    let res = server.sign_in(&browser, "lee@example.com", PASSWORD).await;
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("verity_session=")),
        "no session before the second factor"
    );
    let res = server
        .pass_second_factor(&browser, "lee@example.com", res)
        .await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("verity_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    // http issuer in tests: no Secure flag; https issuers get Secure and the __Host- prefix.
    assert!(!cookie.contains("Secure"), "{cookie}");
}

//! Sign-up, email confirmation, sign-in, throttling and sessions, as a person sees them.

use crate::harness::*;

#[actix_web::test]
async fn sign_up_and_choosing_the_password_refuse_bad_input_with_a_reason() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.get_ok("/signup").await;
    assert!(
        !page.contains("name=\"password\""),
        "the password is chosen after the email is confirmed"
    );
    let res = browser
        .post(
            "/signup",
            &[("csrf", &csrf_of(&page)), ("email", "not an address")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(text_of(&html, "#email-error")
        .unwrap()
        .contains("like name@example.com"));
    assert!(text_of(&html, "#terms-error")
        .unwrap()
        .contains("accept the terms"));

    assert_eq!(
        server
            .submit_sign_up(&browser, "weak@example.com")
            .await
            .status(),
        200
    );
    let link = server
        .link_from_outbox("weak@example.com", "Confirm your email")
        .await;
    let page = browser.get_ok(&link.replace(&server.base, "")).await;
    assert!(
        page.contains("weak@example.com"),
        "the page names the address"
    );
    let choose = |password: &'static str, again: &'static str, page: String| {
        let browser = &browser;
        async move {
            browser
                .post(
                    "/confirm-email",
                    &[
                        ("csrf", &csrf_of(&page)),
                        ("token", &hidden(&page, "token")),
                        ("authz", ""),
                        ("password", password),
                        ("password_confirmation", again),
                    ],
                )
                .await
        }
    };
    let res = choose("password1", "password1", page.clone()).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    let reason = text_of(&html, "#password-error").expect("a reason next to the password field");
    assert!(reason.contains("too easy to guess"), "{reason}");
    let res = choose("short", "short", html).await;
    let html = res.text().await.unwrap();
    assert!(text_of(&html, "#password-error")
        .unwrap()
        .contains("at least 8 characters"));
    let res = choose(PASSWORD, "something else entirely", html).await;
    let html = res.text().await.unwrap();
    assert!(text_of(&html, "#confirmation-error")
        .unwrap()
        .contains("don't match"));
    // A refused password leaves the link usable.
    let res = choose(PASSWORD, PASSWORD, html).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Email confirmed"));
    assert_eq!(
        server
            .sign_in(&browser, "weak@example.com", PASSWORD)
            .await
            .status(),
        303
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
    let to_owner = server
        .wait_for_messages("dana@example.com", "tried to sign up", 1)
        .await;
    assert_eq!(to_owner.len(), 1, "the owner is told");
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
async fn unconfirmed_accounts_have_no_password_and_links_are_single_use() {
    let server = TestServer::start().await;
    let browser = server.browser();
    assert_eq!(
        server
            .submit_sign_up(&browser, "Fay@Example.com")
            .await
            .status(),
        200
    );
    let link = server
        .link_from_outbox("fay@example.com", "Confirm your email")
        .await;

    // Before the link is used there is no password to sign in with: the same answer as for
    // an unknown address.
    let res = server.sign_in(&browser, "fay@example.com", PASSWORD).await;
    assert_eq!(res.status(), 401);

    // Opening the link (a mail scanner does too) uses nothing up; choosing the password does.
    assert_eq!(browser.get_abs(&link).await.status(), 200);
    let (status, page) = server
        .open_confirmation_link(&browser, &link, PASSWORD)
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Email confirmed"));
    let again = browser.get_abs(&link).await;
    assert_eq!(again.status(), 400, "a used link is refused");
    let html = again.text().await.unwrap();
    assert!(
        text_of(&html, "h1").unwrap().contains("isn't valid"),
        "{html}"
    );
    assert_eq!(
        browser.get("/confirm-email?token=forged").await.status(),
        400
    );
    let page = browser.get_ok("/login").await;
    let forged = browser
        .post(
            "/confirm-email",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", "forged"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status(), 400);

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
        text_of(&home, "main")
            .unwrap()
            .contains("You're signed in as fay@example.com."),
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
async fn wrong_passwords_from_one_ip_back_off_doubling_and_the_wait_lifts_exactly_at_its_end() {
    let server = TestServer::start().await;
    server.ctx.clock.freeze();
    let base = server.ctx.settings.security.password_backoff_base_secs;
    let advance = |secs: u64| server.ctx.clock.advance(secs as i64);
    let browser = server.browser();
    server.create_account(&browser, "ivy@example.com").await;
    let attempt = |password: &'static str| server.sign_in(&browser, "ivy@example.com", password);
    let allowed = server.ctx.settings.security.password_failures_per_ip;
    for n in 1..allowed {
        assert_eq!(
            attempt("wrong wrong wrong").await.status(),
            401,
            "attempt {n} is a plain failure"
        );
    }
    let res = attempt("wrong wrong wrong").await;
    assert_eq!(res.status(), 429, "failure {allowed} starts the backoff");
    let html = res.text().await.unwrap();
    assert!(html.contains("wait 1 minute"), "{html}");
    assert_eq!(
        attempt(PASSWORD).await.status(),
        429,
        "the right password waits too"
    );

    // The wait holds to its last second; the next failure after it waits twice as long.
    advance(base - 1);
    assert_eq!(
        attempt(PASSWORD).await.status(),
        429,
        "one second before the end"
    );
    advance(1);
    let res = attempt("wrong wrong wrong").await;
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    assert!(html.contains("wait 2 minutes"), "doubled: {html}");
    advance(2 * base - 1);
    assert_eq!(
        attempt("wrong wrong wrong").await.status(),
        429,
        "still waiting"
    );
    advance(1);
    let res = attempt("wrong wrong wrong").await;
    let html = res.text().await.unwrap();
    assert!(html.contains("wait 4 minutes"), "doubled again: {html}");

    // Once the wait is over the right password is checked and accepted.
    advance(4 * base);
    let res = attempt(PASSWORD).await;
    assert_eq!(res.status(), 303, "accepted after the wait");

    // An unknown email is throttled the same way: no enumeration through the lock.
    for _ in 0..allowed {
        server
            .sign_in(&browser, "ghost@example.com", "wrong wrong wrong")
            .await;
    }
    let res = server.sign_in(&browser, "ghost@example.com", "x").await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("wait 1 minute"));
}

#[actix_web::test]
async fn consecutive_failures_lock_the_account_until_the_lock_period_ends_and_email_the_owner() {
    let server = TestServer::start_with(|s| {
        s.security.password_failures_per_ip = 50;
        s.security.password_failures_account_lock = 4;
    })
    .await;
    server.ctx.clock.freeze();
    let lock_secs = server.ctx.settings.security.account_lock_secs;
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
    let notices = server
        .wait_for_messages("jay@example.com", "paused", 1)
        .await;
    assert_eq!(notices.len(), 1, "the owner is emailed once");

    // Another browser (same IP here, but the lock is per account) with the right password:
    // refused until the last second of the lock, accepted at its end.
    let other = server.browser();
    assert_eq!(
        server
            .sign_in(&other, "jay@example.com", PASSWORD)
            .await
            .status(),
        429
    );
    server.ctx.clock.advance(lock_secs as i64 - 1);
    let res = server.sign_in(&other, "jay@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429, "one second before the lock ends");
    assert!(res.text().await.unwrap().contains("Sign-in paused"));
    server.ctx.clock.advance(1);
    let res = server.sign_in(&other, "jay@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303, "the lock lifted at its end");
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

/// Posts the sign-up form as someone who also sends a password (the form doesn't ask for one
/// any more; an attacker can still send the field).
async fn sign_up_with_password(browser: &Browser, email: &str, password: &str) -> u16 {
    let page = browser.get_ok("/signup").await;
    browser
        .post(
            "/signup",
            &[
                ("csrf", &csrf_of(&page)),
                ("email", email),
                ("password", password),
                ("password_confirmation", password),
                ("terms", "accepted"),
            ],
        )
        .await
        .status()
        .as_u16()
}

#[actix_web::test]
async fn a_pre_registered_address_cannot_be_hijacked_the_mailbox_owner_chooses_the_password() {
    let server = TestServer::start().await;
    const ATTACKER_PASSWORD: &str = "attacker chosen passphrase";
    // The attacker signs up first with the victim's address and a password of their own,
    // and never confirms (the link went to the victim's mailbox).
    let attacker = server.browser();
    assert_eq!(
        sign_up_with_password(&attacker, "vic@example.com", ATTACKER_PASSWORD).await,
        200
    );
    server
        .wait_for_messages("vic@example.com", "Confirm your email", 1)
        .await;
    // The victim signs up later and opens the link they were sent.
    let victim = server.browser();
    assert_eq!(
        sign_up_with_password(&victim, "vic@example.com", PASSWORD).await,
        200
    );
    let links = server
        .wait_for_messages("vic@example.com", "Confirm your email", 2)
        .await;
    assert_eq!(links.len(), 2, "each sign-up sends a link to the mailbox");
    let link = server
        .link_from_outbox("vic@example.com", "Confirm your email")
        .await;
    let (status, page) = server
        .open_confirmation_link(&victim, &link, PASSWORD)
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Email confirmed"), "{page}");

    // The mailbox owner's password is the only one that works.
    let res = server.sign_in(&victim, "vic@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303, "the victim signs in with their password");
    let res = server
        .sign_in(&attacker, "vic@example.com", ATTACKER_PASSWORD)
        .await;
    assert_eq!(res.status(), 401, "the attacker's password is refused");
    // The first sign-up's link is void now that the address is confirmed.
    let first = links[1]
        .body
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap()
        .to_string();
    assert_eq!(attacker.get_abs(&first).await.status(), 400);
}

#[actix_web::test]
async fn a_sign_up_stores_the_one_unusable_hash_made_at_startup() {
    let server = TestServer::start().await;
    for email in ["una@example.com", "uri@example.com"] {
        assert_eq!(
            server
                .submit_sign_up(&server.browser(), email)
                .await
                .status(),
            200
        );
        server.link_from_outbox(email, "Confirm your email").await;
    }
    let hashes: Vec<String> = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::users;
            Ok(users::table
                .filter(users::email.eq_any(["una@example.com", "uri@example.com"]))
                .select(users::password_hash)
                .load(c)?)
        })
        .await
        .unwrap();
    // No Argon2 run per sign-up: both hold the same startup hash, and no password opens it.
    assert_eq!(hashes.len(), 2);
    let unusable = server.ctx.passwords.unusable_hash();
    assert!(hashes.iter().all(|h| *h == unusable), "{hashes:?}");
    assert!(unusable.starts_with("$argon2id$"));
    assert_eq!(
        server
            .sign_in(&server.browser(), "una@example.com", PASSWORD)
            .await
            .status(),
        401
    );
}

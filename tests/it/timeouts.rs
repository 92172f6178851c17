//! Every lifetime, lock and window, tested by moving the clock: nothing sleeps. Each test
//! freezes the clock first, so "one second before the deadline" and "at the deadline" are
//! exact, and a positive control inside the lifetime shows the refusal is the clock's doing.

use crate::harness::*;
use openidconnect::OAuth2TokenResponse;

fn freeze(server: &TestServer) {
    server.ctx.clock.freeze();
}

fn advance(server: &TestServer, secs: u64) {
    server.ctx.clock.advance(secs as i64);
}

/// An account that has just enrolled an authenticator app; returns its secret.
async fn person_with_app(server: &TestServer, email: &str) -> Vec<u8> {
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
    let page = browser.get_ok("/mfa/setup/totp").await;
    let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
    let res = browser
        .post(
            "/mfa/setup/totp",
            &[
                ("csrf", &csrf_of(&page)),
                ("code", &totp_code(server, &secret)),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "app enrolled");
    secret
}

#[actix_web::test]
async fn an_authorization_code_is_exchanged_until_its_lifetime_and_refused_at_it() {
    let server = TestServer::start().await;
    freeze(&server);
    let ttl = server.ctx.settings.security.auth_code_ttl_secs;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("ria@example.com").await;
    let inside = rp.auth_request(&[]);
    let inside_code = query_of(&authorize_to_callback(&browser, &inside.url).await)["code"].clone();
    let late = rp.auth_request(&[]);
    let late_code = query_of(&authorize_to_callback(&browser, &late.url).await)["code"].clone();

    advance(&server, ttl - 1);
    let tokens = rp
        .exchange(&inside_code, inside.verifier)
        .await
        .expect("a code one second before its end is exchanged");
    assert!(!tokens.access_token().secret().is_empty());
    advance(&server, 1);
    assert_eq!(
        rp.exchange(&late_code, late.verifier).await.unwrap_err(),
        "invalid_grant",
        "at its lifetime the code is gone"
    );
}

/// Pushes the parameters of `req` to /par; returns the authorize path for the request_uri.
async fn push(server: &TestServer, id: &str, secret: &str, req: &AuthRequest) -> String {
    let pairs: Vec<(String, String)> = url::Url::parse(&req.url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let res = reqwest::Client::new()
        .post(server.url("/par"))
        .basic_auth(id, Some(secret))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["expires_in"].as_u64(),
        Some(server.ctx.settings.security.par_ttl_secs)
    );
    let uri = body["request_uri"].as_str().unwrap();
    let enc: String = url::form_urlencoded::byte_serialize(uri.as_bytes()).collect();
    format!("/authorize?client_id={id}&request_uri={enc}")
}

#[actix_web::test]
async fn a_pushed_request_is_usable_until_its_lifetime_and_refused_at_it() {
    let server = TestServer::start().await;
    freeze(&server);
    let ttl = server.ctx.settings.security.par_ttl_secs;
    let (id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&id, Some(&secret)).await;
    let browser = server.signed_in_browser("pia@example.com").await;
    let inside = rp.auth_request(&[]);
    let inside_path = push(&server, &id, &secret, &inside).await;
    let late = rp.auth_request(&[]);
    let late_path = push(&server, &id, &secret, &late).await;

    advance(&server, ttl - 1);
    let callback = authorize_to_callback(&browser, &server.url(&inside_path)).await;
    rp.exchange(&query_of(&callback)["code"], inside.verifier)
        .await
        .expect("a request_uri one second before its end works");
    advance(&server, 1);
    let res = browser.get(&late_path).await;
    assert_eq!(res.status(), 400, "at its lifetime the request_uri is gone");
    assert!(
        res.headers().get("location").is_none(),
        "and nothing goes back to the RP"
    );
}

async fn request_reset(browser: &Browser, email: &str) {
    let page = browser.get_ok("/forgot-password").await;
    let res = browser
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_password_reset_link_works_until_its_lifetime_and_not_at_it() {
    let server = TestServer::start().await;
    freeze(&server);
    let ttl = server.ctx.settings.security.password_reset_ttl_secs;
    let email = "rex@example.com";
    server.signed_in_browser(email).await;

    let browser = server.browser();
    request_reset(&browser, email).await;
    let inside = server.link_from_outbox(email, "Reset your").await;
    advance(&server, ttl - 1);
    let res = browser.get_abs(&inside).await;
    assert_eq!(
        res.headers()["location"],
        "/mfa",
        "one second before its end the link leads on to the second factor"
    );

    let browser = server.browser();
    let earlier = server.wait_for_messages(email, "Reset your", 0).await.len();
    request_reset(&browser, email).await;
    server
        .wait_for_messages(email, "Reset your", earlier + 1)
        .await;
    let late = server.link_from_outbox(email, "Reset your").await;
    assert_ne!(late, inside);
    advance(&server, ttl);
    let res = browser.get_abs(&late).await;
    assert_eq!(res.status(), 400, "at its lifetime the link is refused");
    let page = res.text().await.unwrap();
    assert!(page.contains("expired"), "{page}");
}

#[actix_web::test]
async fn a_confirmation_link_opened_in_time_but_submitted_after_its_lifetime_is_refused() {
    let server = TestServer::start().await;
    freeze(&server);
    let ttl = server.ctx.settings.security.email_confirmation_ttl_secs;

    // Inside the lifetime: opened and submitted one second before the end.
    let browser = server.browser();
    assert_eq!(
        server
            .submit_sign_up(&browser, "cy@example.com")
            .await
            .status(),
        200
    );
    let link = server
        .link_from_outbox("cy@example.com", "Confirm your email")
        .await;
    advance(&server, ttl - 1);
    let (status, page) = server
        .open_confirmation_link(&browser, &link, PASSWORD)
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Email confirmed"), "{page}");

    // Opened one second before the end, submitted at it.
    let browser = server.browser();
    server.submit_sign_up(&browser, "di@example.com").await;
    let link = server
        .link_from_outbox("di@example.com", "Confirm your email")
        .await;
    advance(&server, ttl - 1);
    let page = browser.get_ok(link.trim_start_matches(&server.base)).await;
    assert!(
        page.contains("name=\"password\""),
        "the password form is shown"
    );
    advance(&server, 1);
    let res = browser
        .post(
            "/confirm-email",
            &[
                ("csrf", csrf_of(&page).as_str()),
                ("token", hidden(&page, "token").as_str()),
                ("authz", ""),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("expired"));
    assert_eq!(
        server
            .sign_in(&browser, "di@example.com", PASSWORD)
            .await
            .status(),
        401,
        "no password was set"
    );
    // And opening it now shows the same refusal.
    let res = browser.get_abs(&link).await;
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn a_refresh_token_works_until_its_lifetime_and_not_at_it() {
    let server = TestServer::start().await;
    freeze(&server);
    let ttl = server.ctx.settings.security.refresh_token_ttl_days * 86400;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("ray@example.com").await;
    let mut refresh = Vec::new();
    for _ in 0..2 {
        let req = rp.auth_request(&["offline_access"]);
        let callback = authorize_to_callback(&browser, &req.url).await;
        let tokens = rp
            .exchange(&query_of(&callback)["code"], req.verifier)
            .await
            .unwrap();
        refresh.push(tokens.refresh_token().expect("offline access").clone());
    }

    advance(&server, ttl - 1);
    rp.client
        .exchange_refresh_token(&refresh[0])
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("one second before its end the refresh token works");
    advance(&server, 1);
    let err = rp
        .client
        .exchange_refresh_token(&refresh[1])
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("invalid_grant"),
        "at its lifetime: {err:?}"
    );
}

#[actix_web::test]
async fn the_second_factor_lock_holds_until_its_last_second_and_lifts_at_its_end() {
    let server = TestServer::start().await;
    freeze(&server);
    let sec = &server.ctx.settings.security;
    let secret = person_with_app(&server, "val@example.com").await;
    let b = server.browser();
    let res = server.sign_in(&b, "val@example.com", PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let csrf = csrf_of(&b.get_ok("/mfa").await);
    let verify = |code: String| {
        let (b, csrf) = (&b, csrf.clone());
        async move {
            b.post(
                "/mfa/verify",
                &[("csrf", &csrf), ("method", "totp"), ("code", &code)],
            )
            .await
        }
    };
    for _ in 0..sec.mfa_max_failures {
        verify("000000".into()).await;
    }
    let res = verify(totp_code(&server, &secret)).await;
    assert_eq!(res.status(), 429, "locked at once");

    advance(&server, sec.mfa_lock_secs - 1);
    let res = verify(totp_code(&server, &secret)).await;
    assert_eq!(
        res.status(),
        429,
        "the right code waits until the last second"
    );
    assert!(res.text().await.unwrap().contains("locked"));
    advance(&server, 1);
    let res = verify(totp_code(&server, &secret)).await;
    assert!(is_signed_in(&res), "the lock lifts at its end");
}

#[actix_web::test]
async fn a_totp_code_is_accepted_in_its_step_and_the_skew_but_not_beyond() {
    let server = TestServer::start().await;
    freeze(&server);
    let sec = &server.ctx.settings.security;
    let (step, skew) = (sec.totp_step_secs, u64::from(sec.totp_skew_steps));
    let secret = person_with_app(&server, "tia@example.com").await;
    let server = &server;
    let sign_in_with = |code: String| async move {
        let b = server.browser();
        let res = server.sign_in(&b, "tia@example.com", PASSWORD).await;
        assert_eq!(res.headers()["location"], "/mfa");
        let csrf = csrf_of(&b.get_ok("/mfa").await);
        b.post(
            "/mfa/verify",
            &[("csrf", &csrf), ("method", "totp"), ("code", &code)],
        )
        .await
    };
    // A code from `skew + 1` steps ago is refused; one from `skew` steps ago is accepted.
    advance(server, 10 * step);
    let now = server.ctx.clock.unix_now() as u64;
    let too_old = verity::mfa::totp::code_at(&secret, now - (skew + 1) * step, step);
    let oldest = verity::mfa::totp::code_at(&secret, now - skew * step, step);
    assert_eq!(sign_in_with(too_old).await.status(), 422);
    assert!(is_signed_in(&sign_in_with(oldest).await));
}

async fn resend(browser: &Browser) -> reqwest::Response {
    let page = browser.get_ok("/mfa/setup/phone").await;
    browser
        .post(
            "/mfa/setup/phone/resend",
            &[("csrf", &csrf_of(&page)), ("channel", "sms")],
        )
        .await
}

#[actix_web::test]
async fn the_send_windows_reopen_exactly_when_they_end() {
    let server = TestServer::start().await;
    freeze(&server);
    let sec = server.ctx.settings.security.clone();
    let browser = server.browser();
    server.create_account(&browser, "sol@example.com").await;
    let res = server.sign_in(&browser, "sol@example.com", PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
    let page = browser.get_ok("/mfa/setup/phone").await;
    let res = browser
        .post(
            "/mfa/setup/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", TEST_PHONE_TYPED),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let first_send = server.ctx.clock.unix_now();
    let mut sent = 1;
    let texts = || async { server.outbox_for(TEST_PHONE).await.len() };

    // The short window.
    while sent < sec.otp_sends_per_short_window {
        assert_eq!(resend(&browser).await.status(), 200);
        sent += 1;
    }
    assert_eq!(resend(&browser).await.status(), 429);
    advance(&server, sec.otp_short_window_secs - 1);
    let res = resend(&browser).await;
    assert_eq!(res.status(), 429, "one second before the short window ends");
    assert!(res.text().await.unwrap().contains("Please wait"));
    assert_eq!(texts().await, sent as usize, "nothing sent while refused");
    advance(&server, 1);
    assert_eq!(
        resend(&browser).await.status(),
        200,
        "the short window reopened"
    );
    sent += 1;

    // The long window: keep each short window open by moving past it between sends.
    while sent < sec.otp_sends_per_long_window {
        advance(&server, sec.otp_short_window_secs);
        assert_eq!(resend(&browser).await.status(), 200, "send {}", sent + 1);
        sent += 1;
    }
    advance(&server, sec.otp_short_window_secs);
    assert_eq!(
        resend(&browser).await.status(),
        429,
        "the long window is full"
    );
    assert_eq!(texts().await, sent as usize);
    // Move to one second before the long window (opened by the first send) ends.
    let long_ends = first_send + sec.otp_long_window_secs as i64;
    let now = server.ctx.clock.unix_now();
    assert!(now < long_ends - 1, "the test stays inside the long window");
    server.ctx.clock.advance(long_ends - 1 - now);
    assert_eq!(
        resend(&browser).await.status(),
        429,
        "one second before the long window ends"
    );
    advance(&server, 1);
    assert_eq!(
        resend(&browser).await.status(),
        200,
        "the long window reopened"
    );
    assert_eq!(texts().await, sent as usize + 1);
}

/// Signs in with the password, says the phone is lost and asks for an account reset; returns
/// the browser and the emailed link.
async fn ask_for_account_reset(server: &TestServer, email: &str) -> (Browser, String) {
    let earlier = server
        .wait_for_messages(email, "Confirm your Verity account reset", 0)
        .await
        .len();
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let lost = b.get_ok("/mfa/lost-phone").await;
    let res = b
        .post(
            "/mfa/lost-phone/account-reset",
            &[("csrf", &csrf_of(&lost))],
        )
        .await;
    assert_eq!(res.status(), 200);
    server
        .wait_for_messages(email, "Confirm your Verity account reset", earlier + 1)
        .await;
    let link = server
        .link_from_outbox(email, "Confirm your Verity account reset")
        .await;
    (b, link)
}

#[actix_web::test]
async fn an_account_reset_link_works_until_its_lifetime_and_not_at_it() {
    let server = TestServer::start().await;
    freeze(&server);
    let ttl = server.ctx.settings.security.account_reset_link_ttl_secs;
    let email = "ari@example.com";
    person_with_phone(&server, email).await;

    let (b, inside) = ask_for_account_reset(&server, email).await;
    advance(&server, ttl - 1);
    let page = b.get_ok(inside.trim_start_matches(&server.base)).await;
    assert!(
        page.contains("Confirm the account reset"),
        "one second before its end the link opens"
    );

    let (b, late) = ask_for_account_reset(&server, email).await;
    assert_ne!(late, inside);
    advance(&server, ttl);
    let res = b.get(late.trim_start_matches(&server.base)).await;
    assert_eq!(res.status(), 400, "at its lifetime the link is refused");
}

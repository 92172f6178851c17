//! Limits under concurrent load: bursts of real requests at a real server. Every limited
//! action reserves its slot in the store before it acts, so a burst gets no more checks or
//! sends than the limit allows, and a right answer inside a burst that crossed a limit is
//! refused. On PostgreSQL + Redis these run against the shared store, as several nodes would.

use futures_util::future::join_all;

use crate::admin_harness::audit_events_of_kind;
use crate::harness::*;

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A server that believes X-Forwarded-For from the loopback proxy (the test client), so one
/// test can speak from many client addresses.
async fn server_behind_proxy() -> TestServer {
    TestServer::start_with(|s| s.trust_forwarded_for = true).await
}

async fn password_burst(
    server: &TestServer,
    email: &str,
    attempts: &[(&str, &str)],
) -> Vec<reqwest::Response> {
    let browser = server.browser();
    let csrf = csrf_of(&browser.get_ok("/login").await);
    let (browser, csrf) = (&browser, &csrf);
    join_all(attempts.iter().map(|(password, ip)| async move {
        browser
            .post_via_proxy(
                "/login",
                &[
                    ("csrf", csrf.as_str()),
                    ("email", email),
                    ("password", password),
                    ("authz", ""),
                ],
                ip,
            )
            .await
    }))
    .await
}

#[actix_web::test]
async fn a_password_burst_from_one_address_gets_only_the_allowance_checked() {
    let server = server_behind_proxy().await;
    let email = "burst@example.com";
    server.create_account(&server.browser(), email).await;
    let per_ip = server.ctx.settings.security.password_failures_per_ip as usize;

    // 39 wrong guesses and the right one, all at once, from one address.
    let mut attempts = vec![(PASSWORD, "203.0.113.5")];
    attempts.extend(std::iter::repeat_n(
        ("wrong guess number", "203.0.113.5"),
        39,
    ));
    let results = password_burst(&server, email, &attempts).await;

    for res in &results {
        assert!(res.status().as_u16() < 500, "no server error in a burst");
        assert!(
            !location(res).starts_with("/mfa"),
            "a right password inside a burst that crossed the limit is refused"
        );
    }
    let refused = results.iter().filter(|r| r.status() == 429).count();
    assert!(refused >= 40 - per_ip, "{refused} refused");
    let checked = audit_events_of_kind(&server, "signin_failed").await.len();
    assert!(
        checked <= per_ip,
        "{checked} wrong passwords were checked; the allowance is {per_ip}"
    );

    // The limit is per (account, address): the owner elsewhere is not locked out...
    let res = password_burst(&server, email, &[(PASSWORD, "198.51.100.9")]).await;
    assert_eq!(
        location(&res[0]),
        "/mfa/setup",
        "the right password elsewhere"
    );
    // ...and the throttled client can't claim that address by writing it into the header:
    // the proxy appends the address it saw, and that is the one believed.
    let res = password_burst(&server, email, &[(PASSWORD, "198.51.100.77, 203.0.113.5")]).await;
    assert_eq!(res[0].status(), 429, "the spoofed entry is ignored");
}

#[actix_web::test]
async fn a_password_burst_from_many_addresses_stops_at_the_account_lock() {
    let server = server_behind_proxy().await;
    let email = "spread@example.com";
    server.create_account(&server.browser(), email).await;
    let lock_at = server.ctx.settings.security.password_failures_account_lock as usize;

    // 25 addresses, 4 guesses each: under every per-address allowance.
    let ips: Vec<String> = (1..=25).map(|i| format!("192.0.2.{i}")).collect();
    let attempts: Vec<(&str, &str)> = ips
        .iter()
        .flat_map(|ip| std::iter::repeat_n(("wrong guess number", ip.as_str()), 4))
        .collect();
    let results = password_burst(&server, email, &attempts).await;
    assert!(results.iter().all(|r| r.status().as_u16() < 500));
    let checked = audit_events_of_kind(&server, "signin_failed").await.len();
    assert!(
        checked <= lock_at,
        "{checked} wrong passwords were checked; the account locks at {lock_at}"
    );
    assert_eq!(checked, lock_at, "the lock was reached");

    let res = password_burst(&server, email, &[(PASSWORD, "198.51.100.1")]).await;
    assert_eq!(res[0].status(), 429, "the account is locked for everyone");
    let notices = server
        .outbox_for(email)
        .await
        .into_iter()
        .filter(|m| m.subject.contains("is paused"))
        .count();
    assert_eq!(notices, 1, "the owner is told once");
}

/// Signs up and enrols an authenticator app; returns its secret.
async fn person_with_totp(server: &TestServer, email: &str) -> Vec<u8> {
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(location(&res), "/mfa/setup");
    let page = browser.get_ok("/mfa/setup/totp").await;
    let secret = base32_decode(&text_of(&page, "code.secret").expect("the secret is shown"));
    let code = totp_code(server, &secret);
    let res = browser
        .post(
            "/mfa/setup/totp",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303, "app enrolled");
    secret
}

#[actix_web::test]
async fn a_burst_of_authenticator_codes_gets_at_most_ten_checked() {
    let server = TestServer::start().await;
    let email = "guesser@example.com";
    let secret = person_with_totp(&server, email).await;
    server.ctx.clock.advance(60);
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(location(&res), "/mfa");
    let csrf = csrf_of(&b.get_ok("/mfa").await);
    let max = server.ctx.settings.security.mfa_max_failures as usize;

    let right = totp_code(&server, &secret);
    let mut codes: Vec<String> = (0..99)
        .map(|i| format!("{:06}", (i * 7919) % 1_000_000))
        .collect();
    codes.retain(|c| *c != right);
    let (b, csrf) = (&b, &csrf);
    let burst = |codes: Vec<String>| async move {
        join_all(codes.iter().map(|code| async move {
            b.post(
                "/mfa/verify",
                &[("csrf", csrf.as_str()), ("method", "totp"), ("code", code)],
            )
            .await
        }))
        .await
    };
    // The guesses at once, then, while more of them arrive, the right code: the burst has
    // crossed the limit, so it is refused. (Sent together with the first wave, a right code
    // that happens to be judged before the tenth wrong one would be accepted: no limit was
    // crossed yet.)
    let mut results = burst(codes[..90].to_vec()).await;
    let mut second_wave = codes[90..].to_vec();
    second_wave.push(right.clone());
    results.extend(burst(second_wave).await);
    assert!(results.iter().all(|r| r.status().as_u16() < 500));
    assert!(
        !results.iter().any(is_signed_in),
        "a right code inside a burst that crossed the limit is refused"
    );
    let checked = audit_events_of_kind(&server, "mfa_code_wrong").await.len();
    assert!(
        checked <= max,
        "{checked} wrong codes checked; the limit is {max}"
    );
    let locks = audit_events_of_kind(&server, "mfa_locked").await.len();
    assert_eq!(locks, 1, "the second factor locked once");
}

#[actix_web::test]
async fn a_burst_of_backup_codes_gets_at_most_ten_checked() {
    let server = TestServer::start().await;
    let email = "backup@example.com";
    let browser = server.browser();
    server.create_account(&browser, email).await;
    server.sign_in_fully(&browser, email).await;
    let right = server.take_backup_code(email);
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(location(&res), "/mfa");
    let csrf = csrf_of(&b.get_ok("/mfa?method=backup").await);
    let max = server.ctx.settings.security.mfa_max_failures as usize;

    let codes: Vec<String> = (0..60).map(|i| format!("AAAA-BBBB-{i:04}")).collect();
    let (b, csrf) = (&b, &csrf);
    let burst = |codes: Vec<String>| async move {
        join_all(codes.iter().map(|code| async move {
            b.post(
                "/mfa/verify",
                &[
                    ("csrf", csrf.as_str()),
                    ("method", "backup"),
                    ("code", code),
                ],
            )
            .await
        }))
        .await
    };
    // As for authenticator codes: the guesses at once, then the right code among the last ones.
    let mut results = burst(codes[..50].to_vec()).await;
    let mut second_wave = codes[50..].to_vec();
    second_wave.push(right.clone());
    results.extend(burst(second_wave).await);
    assert!(results.iter().all(|r| r.status().as_u16() < 500));
    assert!(!results.iter().any(is_signed_in));
    let checked = audit_events_of_kind(&server, "mfa_code_wrong").await.len();
    assert!(
        checked <= max,
        "{checked} wrong codes checked; the limit is {max}"
    );

    // The refused right code was not used up: once the lock passes it still works.
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.mfa_lock_secs as i64 + 1);
    let res = b
        .post(
            "/mfa/verify",
            &[
                ("csrf", csrf.as_str()),
                ("method", "backup"),
                ("code", &right),
            ],
        )
        .await;
    let status = res.status();
    let body = if is_signed_in(&res) {
        String::new()
    } else {
        res.text().await.unwrap_or_default()
    };
    assert!(
        status == 303 && body.is_empty(),
        "the right code works after the lock: {status} {body}"
    );
}

#[actix_web::test]
async fn a_burst_of_code_requests_at_enrolment_sends_at_most_the_window() {
    let server = TestServer::start().await;
    let email = "texts@example.com";
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(location(&res), "/mfa/setup");
    let csrf = csrf_of(&browser.get_ok("/mfa/setup/phone").await);
    let (browser, csrf) = (&browser, &csrf);
    let results = join_all((0..19).map(|_| async move {
        browser
            .post(
                "/mfa/setup/phone",
                &[
                    ("csrf", csrf.as_str()),
                    ("phone", TEST_PHONE_TYPED),
                    ("channel", "sms"),
                ],
            )
            .await
    }))
    .await;
    assert!(results.iter().all(|r| r.status().as_u16() < 500));
    let limit = server.ctx.settings.security.otp_sends_per_short_window as usize;
    let sent = server.outbox_for(TEST_PHONE).await.len();
    assert!(sent >= 1, "the first request sends");
    assert!(
        sent <= limit,
        "{sent} texts sent; the limit is {limit} per window"
    );
}

#[actix_web::test]
async fn sixty_four_concurrent_sign_ins_all_complete() {
    let server = TestServer::start_with(|s| s.security.signups_per_ip_per_hour = 100).await;
    let people: Vec<String> = (0..64).map(|i| format!("p{i}@example.com")).collect();
    for email in &people {
        let b = server.browser();
        server.create_account(&b, email).await;
        server.sign_in_fully(&b, email).await;
    }
    // Returning people: password, then a backup code, all at once. Each sign-in writes a
    // session, uses a code and records audit events.
    let browsers: Vec<Browser> = people.iter().map(|_| server.browser()).collect();
    let results = join_all(people.iter().zip(&browsers).map(|(email, b)| async {
        let res = server.sign_in(b, email, PASSWORD).await;
        let status = res.status();
        if status != 303 {
            return status.as_u16();
        }
        let res = server.pass_second_factor(b, email, res).await;
        res.status().as_u16()
    }))
    .await;
    let failed: Vec<&u16> = results.iter().filter(|s| **s != 303).collect();
    assert!(failed.is_empty(), "every sign-in completes: {failed:?}");
}

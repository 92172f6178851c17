//! Account console: connected apps and sessions.

use crate::harness::*;
use openidconnect::OAuth2TokenResponse;

#[actix_web::test]
async fn disconnecting_an_app_kills_its_refresh_and_access_tokens() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    let browser = server.signed_in_browser("pam@example.com").await;
    let req = rp.auth_request(&["email", "offline_access"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let account = browser.get_ok("/account").await;
    assert!(account.contains("Tax Portal"), "the app is listed");

    let missing_csrf = browser
        .post("/account/apps/revoke", &[("client", &client_id)])
        .await;
    assert_eq!(missing_csrf.status(), 403);
    let res = browser
        .post(
            "/account/apps/revoke",
            &[("csrf", &csrf_of(&account)), ("client", &client_id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let apps = |html: &str| {
        scraper::Html::parse_document(html)
            .select(&scraper::Selector::parse("li.app").unwrap())
            .map(|li| li.text().collect::<String>())
            .collect::<Vec<_>>()
    };
    assert_eq!(apps(&account).len(), 1);
    assert!(
        apps(&browser.get_ok("/account").await).is_empty(),
        "no longer listed"
    );

    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "access token refused");
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                tokens.refresh_token().unwrap().secret().as_str(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "refresh token fails");
    // The next authorization asks for consent again.
    let req = rp.auth_request(&["email"]);
    let (url, _) = browser.follow(browser.get_abs(&req.url).await).await;
    assert!(url.contains("/consent"), "{url}");
}

#[actix_web::test]
async fn sign_out_other_sessions_really_ends_them() {
    let server = TestServer::start().await;
    let here = server.signed_in_browser("quy@example.com").await;
    let there = server.browser();
    server.sign_in_fully(&there, "quy@example.com").await;
    let elsewhere = server.browser();
    server.sign_in_fully(&elsewhere, "quy@example.com").await;
    let account = here.get_ok("/account").await;
    assert_eq!(
        account.matches("last seen").count(),
        3,
        "three sessions listed"
    );

    let res = here.post("/account/sessions/end-others", &[]).await;
    assert_eq!(res.status(), 403, "CSRF missing");
    let res = here
        .post(
            "/account/sessions/end-others",
            &[("csrf", &csrf_of(&account))],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(!there.get_ok("/").await.contains("Signed in as"));
    assert!(!elsewhere.get_ok("/").await.contains("Signed in as"));
    assert!(
        here.get_ok("/").await.contains("Signed in as"),
        "this browser stays signed in"
    );
    assert_eq!(
        here.get_ok("/account").await.matches("last seen").count(),
        1
    );

    // Outside the step-up window, it's a sensitive change: step-up first.
    let again = server.browser();
    server.sign_in_fully(&again, "quy@example.com").await;
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let account = here.get_ok("/account").await;
    let res = here
        .post(
            "/account/sessions/end-others",
            &[("csrf", &csrf_of(&account))],
        )
        .await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/step-up"));
    assert!(
        again.get_ok("/").await.contains("Signed in as"),
        "nothing ended without step-up"
    );
}

#[actix_web::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let server = TestServer::start().await;
    let here = server.signed_in_browser("ros@example.com").await;
    let there = server.browser();
    server.sign_in_fully(&there, "ros@example.com").await;
    let page = here.get_ok("/account/password").await;
    let new = "saffron tugboat meadow ledger";
    let post = |fields: Vec<(&'static str, String)>| {
        let here = &here;
        async move {
            let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            here.post("/account/password", &form).await
        }
    };
    let res = post(vec![
        ("current_password", PASSWORD.into()),
        ("password", new.into()),
        ("password_confirmation", new.into()),
    ])
    .await;
    assert_eq!(res.status(), 403, "CSRF missing");
    let csrf = csrf_of(&page);
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("current_password", "not it at all".into()),
        ("password", new.into()),
        ("password_confirmation", new.into()),
    ])
    .await;
    assert_eq!(res.status(), 401);
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("current_password", PASSWORD.into()),
        ("password", "password1".into()),
        ("password_confirmation", "password1".into()),
    ])
    .await;
    assert_eq!(res.status(), 422);
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("current_password", PASSWORD.into()),
        ("password", new.into()),
        ("password_confirmation", new.into()),
    ])
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Password changed"));

    assert!(
        here.get_ok("/").await.contains("Signed in as"),
        "this session stays"
    );
    assert!(
        !there.get_ok("/").await.contains("Signed in as"),
        "other sessions end"
    );
    assert!(server.outbox_for("ros@example.com").await[0]
        .subject
        .contains("password was changed"));
    assert_eq!(
        server
            .sign_in(&server.browser(), "ros@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        server
            .sign_in(&server.browser(), "ros@example.com", new)
            .await
            .status(),
        303
    );
}

#[actix_web::test]
async fn the_profile_name_reaches_relying_parties() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("sue@example.com").await;
    let page = browser.get_ok("/account/profile").await;
    assert_eq!(
        browser
            .post("/account/profile", &[("given_name", "Sue")])
            .await
            .status(),
        403,
        "CSRF missing"
    );
    let long = "x".repeat(101);
    let res = browser
        .post(
            "/account/profile",
            &[
                ("csrf", &csrf_of(&page)),
                ("given_name", &long),
                ("family_name", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = browser
        .post(
            "/account/profile",
            &[
                ("csrf", &csrf_of(&page)),
                ("given_name", " Sue "),
                ("family_name", "Ortega"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let req = rp.auth_request(&["profile"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let info: serde_json::Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["given_name"], "Sue");
    assert_eq!(info["family_name"], "Ortega");
    assert_eq!(info["name"], "Sue Ortega");
}

#[actix_web::test]
async fn authenticator_apps_can_be_added_and_removed_from_the_console() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("tia@example.com").await;
    let page = browser.get_ok("/account/totp/add").await;
    let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
    assert_eq!(
        browser
            .post("/account/totp/add", &[("code", "123456")])
            .await
            .status(),
        403,
        "CSRF missing"
    );
    let res = browser
        .post(
            "/account/totp/add",
            &[("csrf", &csrf_of(&page)), ("code", "000000")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let code = totp_code(&server, &secret);
    let res = browser
        .post(
            "/account/totp/add",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    let account = browser.get_ok("/account").await;
    assert!(account.contains("Authenticator app · added"));
    assert!(server.outbox_for("tia@example.com").await[0]
        .subject
        .contains("sign-in methods changed"));

    // The new app works at the next sign-in.
    server.ctx.clock.advance(30);
    let b = server.browser();
    server.sign_in(&b, "tia@example.com", PASSWORD).await;
    let mfa = b.get_ok("/mfa?method=totp").await;
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

    // Removing it (backup codes remain) needs a recent sign-in.
    let id = hidden(&account, "id");
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let account = b.get_ok("/account").await;
    let res = b
        .post(
            "/account/totp/remove",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/step-up"));
    let fresh = server.browser();
    server.sign_in_fully(&fresh, "tia@example.com").await;
    let account = fresh.get_ok("/account").await;
    let res = fresh
        .post(
            "/account/totp/remove",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    assert!(!fresh
        .get_ok("/account")
        .await
        .contains("Authenticator app · added"));
}

#[actix_web::test]
async fn activity_is_paged_newest_first_and_each_entry_can_be_disowned() {
    let server = TestServer::start_with(|s| s.security.password_failures_per_ip = 50).await;
    let browser = server.signed_in_browser("uma@example.com").await;
    let mut other = server.browser();
    for _ in 0..8 {
        other = server.browser();
        server.sign_in_fully(&other, "uma@example.com").await;
    }
    // The wrong passwords come ten minutes after the sign-ins (the page shows minutes).
    server.ctx.clock.advance(600);
    for _ in 0..10 {
        server
            .sign_in(
                &server.browser(),
                "uma@example.com",
                "wrong password entirely",
            )
            .await;
    }
    let total = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events;
            Ok(audit_events::table.count().get_result::<i64>(c)?)
        })
        .await
        .unwrap();
    assert!(total > 20, "enough events for two pages ({total})");
    let first = browser.get_ok("/account/activity").await;
    let rows = |html: &str| {
        scraper::Html::parse_document(html)
            .select(&scraper::Selector::parse("table.activity tbody tr").unwrap())
            .count()
    };
    assert_eq!(rows(&first), 20);
    let doc = scraper::Html::parse_document(&first);
    let next = doc
        .select(&scraper::Selector::parse("a").unwrap())
        .find(|a| a.text().collect::<String>().contains("Older activity"))
        .and_then(|a| a.value().attr("href"))
        .expect("a link to older activity")
        .to_string();
    let second = browser.get_ok(&next).await;
    assert_eq!(rows(&second) as i64, total - 20, "the rest, no overlap");

    // Newest first: the times never go up down the pages, the failed sign-ins (ten minutes
    // later) come first, the sign-up last.
    let entries = |html: &str| {
        let doc = scraper::Html::parse_document(html);
        let cell = scraper::Selector::parse("td").unwrap();
        doc.select(&scraper::Selector::parse("table.activity tbody tr").unwrap())
            .map(|tr| {
                let cells: Vec<String> = tr
                    .select(&cell)
                    .map(|td| td.text().collect::<String>().trim().to_string())
                    .collect();
                // "November 30, 2026, 3:04 PM EST": the zone's abbreviation aside.
                let without_zone = cells[0].rsplit_once(' ').map(|(t, _)| t).unwrap_or("");
                let at = chrono::NaiveDateTime::parse_from_str(without_zone, "%B %d, %Y, %I:%M %p")
                    .unwrap_or_else(|e| panic!("a time in {:?}: {e}", cells[0]));
                (at, cells[1].clone())
            })
            .collect::<Vec<_>>()
    };
    let all: Vec<_> = entries(&first)
        .into_iter()
        .chain(entries(&second))
        .collect();
    assert!(
        all.windows(2).all(|w| w[0].0 >= w[1].0),
        "newest first: {all:#?}"
    );
    let kinds: Vec<&str> = all.iter().map(|(_, k)| k.as_str()).collect();
    let failed = "Someone tried to sign in with a wrong password";
    assert_eq!(kinds[..10], [failed; 10], "{kinds:?}");
    assert!(kinds[10..].iter().all(|k| *k != failed), "{kinds:?}");
    assert!(
        all[9].0 >= all[10].0 + chrono::Duration::minutes(9),
        "ten minutes between the last sign-in and the first failure: {all:#?}"
    );
    assert_eq!(kinds.last(), Some(&"You created your account"), "{kinds:?}");
    assert!(first.contains("You signed in"));

    assert_eq!(
        browser.post("/account/activity/not-me", &[]).await.status(),
        403,
        "CSRF missing"
    );
    let res = browser
        .post("/account/activity/not-me", &[("csrf", &csrf_of(&first))])
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        !other.get_ok("/").await.contains("Signed in as"),
        "signed out everywhere"
    );
    assert!(!browser.get_ok("/").await.contains("Signed in as"));
    assert!(server.outbox_for("uma@example.com").await[0]
        .subject
        .contains("Reset your"));
}

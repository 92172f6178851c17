//! Management API: users (search, get, disable/enable, unlock, MFA reset, delete) and the
//! support-assisted phone change.

use openidconnect::OAuth2TokenResponse;
use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_harness::*;
use crate::harness::*;

const OLD: &str = "+12015550123";
const NEW: &str = "+12015550146";

async fn user_id_of(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::accounts::users::by_email(c, &email)?
                .expect("user")
                .id)
        })
        .await
        .unwrap()
}

/// An account with a confirmed email and nothing else (no sign-in yet).
async fn account(server: &TestServer, email: &str) -> String {
    server.create_account(&server.browser(), email).await;
    user_id_of(server, email).await
}

/// Gives an account the phone OLD, an authenticator app and ten backup codes.
async fn enrol_everything(server: &TestServer, user_id: &str) -> String {
    let (uid, master, now) = (
        user_id.to_string(),
        server.ctx.master.clone(),
        server.ctx.clock.now(),
    );
    server
        .ctx
        .db
        .run(move |c| {
            use verity::mfa::methods;
            let phone = methods::add_phone(c, &master, now, &uid, OLD, methods::PhoneChannel::Sms)?;
            methods::add_totp(c, &master, now, &uid, "Phone app", &[7u8; 20], 0, 2)?;
            let hashes: Vec<String> = (0..10).map(|i| format!("hash-{i}")).collect();
            methods::replace_backup_codes(c, now, &uid, &hashes)?;
            Ok(phone.id)
        })
        .await
        .unwrap()
}

fn code_in(body: &str) -> String {
    body.chars()
        .filter(|c| c.is_ascii_digit())
        .take(6)
        .collect()
}

#[actix_web::test]
async fn user_endpoints_refuse_every_caller_but_an_agent_with_the_scope() {
    let server = TestServer::start().await;
    let tokens = Tokens::new(&server).await;
    let uid = account(&server, "ola@example.com").await;
    let user = format!("/users/{uid}");
    let reads = [("/users?limit=5".to_string()), user.clone()];
    for path in &reads {
        assert_refusals(&server, &tokens, Method::GET, path, None, &tokens.keys_only).await;
    }
    let writes = [
        (Method::POST, format!("{user}/disable"), empty()),
        (Method::POST, format!("{user}/enable"), empty()),
        (Method::POST, format!("{user}/unlock"), empty()),
        (
            Method::POST,
            format!("{user}/reset-mfa"),
            Some(json!({"reason": "ticket VT-1"})),
        ),
        (
            Method::POST,
            format!("{user}/sign-out"),
            Some(json!({"reason": "ticket VT-1"})),
        ),
        (Method::DELETE, user.clone(), None),
        (Method::DELETE, format!("{user}/keys/x"), None),
        (
            Method::POST,
            format!("{user}/phone-changes"),
            Some(
                json!({"new_number": NEW, "channel": "sms", "identity_check": "in_person", "note": "n"}),
            ),
        ),
        (
            Method::POST,
            format!("{user}/phone-changes/x/confirm"),
            Some(json!({"code": "123456"})),
        ),
    ];
    for (method, path, body) in &writes {
        assert_refusals(
            &server,
            &tokens,
            method.clone(),
            path,
            body.clone(),
            &tokens.keys_only,
        )
        .await;
    }
    // Read-only agents can look but not touch; users:write includes reading.
    let (id, secret) = admin_client(&server, &["verity:admin"]).await;
    let reader = client_token(&server, &id, &secret, Some("verity:admin:users:read")).await;
    let writer = client_token(&server, &id, &secret, Some("verity:admin:users:write")).await;
    assert_eq!(
        call(&server, Method::GET, &user, Some(&reader), None)
            .await
            .status,
        200
    );
    for (method, path, body) in &writes {
        let r = call(&server, method.clone(), path, Some(&reader), body.clone()).await;
        assert_eq!(r.status, 403, "{method} {path} with users:read");
    }
    assert_eq!(
        call(&server, Method::GET, &user, Some(&writer), None)
            .await
            .status,
        200
    );
    // Nothing happened to the account through all of that.
    let detail = call(&server, Method::GET, &user, Some(&tokens.admin), None).await;
    assert_eq!(detail.body["disabled"], false);
    assert_eq!(detail.body["deleted"], false);
    assert!(server.outbox_for(NEW).await.is_empty(), "no code was sent");
}

#[actix_web::test]
async fn search_by_email_and_phone_with_cursor_pages() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let mut ids = vec![];
    for email in ["ana@example.com", "bo@example.com", "cy@example.com"] {
        ids.push(account(&server, email).await);
    }
    enrol_everything(&server, &ids[1]).await;

    let found = call(
        &server,
        Method::GET,
        "/users?email=BO@Example.com",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], ids[1]);
    assert_eq!(items[0]["email"], "bo@example.com");
    assert!(found.body["next_cursor"].is_null());

    // Any usual notation of the number finds its owner, through the fingerprint.
    let found = call(
        &server,
        Method::GET,
        "/users?phone=(201)%20555-0123",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(found.body["items"][0]["id"], ids[1]);
    let none = call(
        &server,
        Method::GET,
        "/users?email=nobody@example.com",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);

    // Two per page: every account exactly once, in a stable order.
    let mut seen = vec![];
    let mut path = "/users?limit=2".to_string();
    loop {
        let page = call(&server, Method::GET, &path, Some(&token), None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/users?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected);

    for (query, field) in [
        ("cursor=garbage!", "cursor"),
        ("cursor=eyJub3QiOiJhIGN1cnNvciJ9", "cursor"),
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("limit=201", "limit"),
        ("phone=call-me", "phone"),
        ("phone=%2B19005550123", "phone"),
        ("email=not-an-address", "email"),
        ("email=bo@example.com&phone=2015550123", "phone"),
    ] {
        let bad = call(
            &server,
            Method::GET,
            &format!("/users?{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(bad.status, 400, "{query}: {}", bad.body);
        assert_eq!(bad.field(), field, "{query}: {}", bad.body);
    }
}

#[actix_web::test]
async fn get_shows_the_account_without_secrets() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let _browser = server.signed_in_browser("dee@example.com").await;
    let uid = user_id_of(&server, "dee@example.com").await;
    let phone_id = enrol_everything(&server, &uid).await;
    let r = call(
        &server,
        Method::GET,
        &format!("/users/{uid}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let u = &r.body;
    assert_eq!(u["email"], "dee@example.com");
    assert_eq!(
        u["emails"][0],
        json!({"email": "dee@example.com", "verified": true, "primary": true})
    );
    assert_eq!(u["phones"][0]["id"], phone_id);
    assert_eq!(u["phones"][0]["masked"], verity::mfa::phone::mask(OLD));
    assert_eq!(u["mfa"]["phones"], 1);
    assert_eq!(u["mfa"]["authenticator_apps"], 1);
    // The sign-in enrolled ten codes (one used), then enrol_everything replaced them.
    assert_eq!(u["mfa"]["backup_codes_left"], 10);
    assert_eq!(u["active_sessions"], 1);
    let text = u.to_string();
    assert!(
        !text.contains(OLD) && !text.contains("password") && !text.contains("secret"),
        "{text}"
    );

    let missing = call(
        &server,
        Method::GET,
        "/users/no-such-user",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error(), "not_found");
}

#[actix_web::test]
async fn disable_ends_sessions_and_tokens_and_enable_lets_the_person_back() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let (client_id, secret) = server.add_client(false).await;
    let browser = server.signed_in_browser("eve@example.com").await;
    let uid = user_id_of(&server, "eve@example.com").await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let req = rp.auth_request(&["email", "offline_access"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();

    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/disable"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(r.body["active_sessions"], 0);

    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the access token is dead");
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&client_id, secret.as_deref())
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
    assert_eq!(res.status(), 400, "the (offline) refresh token is dead");
    let res = browser.get("/account").await;
    assert_eq!(res.status(), 303, "the browser session is over");
    let res = server
        .sign_in(&server.browser(), "eve@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 400, "sign-in is refused");
    assert!(!is_signed_in(&res));
    let page = res.text().await.unwrap();
    assert_eq!(
        text_of(&page, "main p").as_deref(),
        Some("This account has been disabled. Contact support if you think this is a mistake."),
        "{page}"
    );

    let events = audit_events_of_kind(&server, "user_disabled").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some(agent.as_str()));
    assert_eq!(events[0].user_id.as_deref(), Some(uid.as_str()));

    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/enable"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["disabled"], false);
    let res = server
        .sign_in(&server.browser(), "eve@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 303, "password accepted again");
    assert_eq!(events_len(&server, "user_enabled").await, 1);

    let r = call(
        &server,
        Method::POST,
        "/users/nobody/disable",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

async fn events_len(server: &TestServer, kind: &str) -> usize {
    audit_events_of_kind(server, kind).await.len()
}

#[actix_web::test]
async fn unlock_lifts_the_sign_in_lock() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let uid = account(&server, "fay@example.com").await;
    let lock_at = server.ctx.settings.security.password_failures_account_lock;
    for i in 0..lock_at {
        let actor = verity::audit::Actor {
            ip: format!("10.0.0.{i}"),
            user_agent: "t".into(),
        };
        verity::accounts::signin::sign_in(
            &server.ctx,
            "fay@example.com",
            "wrong password".into(),
            &actor,
        )
        .await
        .unwrap();
    }
    let actor = verity::audit::Actor {
        ip: "10.9.9.9".into(),
        user_agent: "t".into(),
    };
    let locked =
        verity::accounts::signin::sign_in(&server.ctx, "fay@example.com", PASSWORD.into(), &actor)
            .await
            .unwrap();
    assert!(
        matches!(
            locked,
            verity::accounts::signin::SignInOutcome::AccountLocked { .. }
        ),
        "{locked:?}"
    );

    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/unlock"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let open =
        verity::accounts::signin::sign_in(&server.ctx, "fay@example.com", PASSWORD.into(), &actor)
            .await
            .unwrap();
    assert!(
        matches!(
            open,
            verity::accounts::signin::SignInOutcome::PasswordAccepted { .. }
        ),
        "{open:?}"
    );
    let events = audit_events_of_kind(&server, "user_unlocked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some(agent.as_str()));
}

#[actix_web::test]
async fn reset_mfa_needs_a_reason_removes_every_factor_and_acts_once() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let browser = server.signed_in_browser("gus@example.com").await;
    let uid = user_id_of(&server, "gus@example.com").await;
    enrol_everything(&server, &uid).await;
    let path = format!("/users/{uid}/reset-mfa");

    for (body, field) in [
        (json!({}), "reason"),
        (json!({"reason": "   "}), "reason"),
        (json!({"reason": 42}), "reason"),
        (json!({"reason": "x".repeat(5001)}), "reason"),
        (json!({"reason": "ok", "also": 1}), "also"),
    ] {
        let r = call(
            &server,
            Method::POST,
            &path,
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.field(), field, "{body}: {}", r.body);
    }
    assert_eq!(events_len(&server, "mfa_reset").await, 0);

    let key = [("Idempotency-Key", "VT-7Q2M9K4D reset")];
    let body = Some(json!({"reason": "VT-7Q2M9K4D: lost phone, verified by video call"}));
    let first = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        body.clone(),
        &key,
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["mfa"]["phones"], 0);
    assert_eq!(first.body["mfa"]["authenticator_apps"], 0);
    assert_eq!(first.body["mfa"]["backup_codes_left"], 0);
    assert_eq!(first.body["active_sessions"], 0);
    assert_eq!(browser.get("/account").await.status(), 303, "signed out");
    let again = call_with(&server, Method::POST, &path, Some(&token), body, &key).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);

    let resets = audit_events_of_kind(&server, "mfa_reset").await;
    assert_eq!(resets.len(), 1, "acted once");
    assert_eq!(resets[0].client_id.as_deref(), Some(agent.as_str()));
    let detail: Value = serde_json::from_str(&resets[0].detail).unwrap();
    assert_eq!(
        detail["reason"],
        "VT-7Q2M9K4D: lost phone, verified by video call"
    );
    let notices: Vec<_> = server
        .outbox_for("gus@example.com")
        .await
        .into_iter()
        .filter(|m| m.subject.contains("second factors"))
        .collect();
    assert_eq!(notices.len(), 1, "one notice, not two");

    // The next sign-in asks to enrol a new second factor.
    let res = server
        .sign_in(&server.browser(), "gus@example.com", PASSWORD)
        .await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
}

#[actix_web::test]
async fn delete_leaves_a_scrubbed_tombstone_and_keeps_the_audit_trail() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let browser = server.signed_in_browser("hal@example.com").await;
    let uid = user_id_of(&server, "hal@example.com").await;
    enrol_everything(&server, &uid).await;
    let before = {
        let u = uid.clone();
        server
            .ctx
            .db
            .run(move |c| Ok(verity::audit::for_user(c, &u, 1000)?.len()))
            .await
            .unwrap()
    };
    assert!(before > 0);

    let r = call(
        &server,
        Method::DELETE,
        &format!("/users/{uid}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["deleted"], true);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(r.body["email"], format!("deleted+{uid}@invalid"));
    assert!(r.body["given_name"].is_null());
    assert_eq!(r.body["phones"], json!([]));
    assert_eq!(r.body["mfa"]["authenticator_apps"], 0);
    assert_eq!(r.body["mfa"]["backup_codes_left"], 0);
    assert_eq!(r.body["active_sessions"], 0);
    assert_eq!(browser.get("/account").await.status(), 303);

    let after = {
        let u = uid.clone();
        server
            .ctx
            .db
            .run(move |c| verity::audit::for_user(c, &u, 1000))
            .await
            .unwrap()
    };
    assert_eq!(
        after.len(),
        before + 1,
        "the trail stays, plus the deletion"
    );
    assert!(after
        .iter()
        .any(|e| e.kind == "user_deleted" && e.client_id.as_deref() == Some(agent.as_str())));
    let res = server
        .sign_in(&server.browser(), "hal@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 401, "the old address no longer signs in");
    assert!(!is_signed_in(&res));
    let page = res.text().await.unwrap();
    assert_eq!(
        text_of(&page, ".alert").as_deref(),
        Some("That email and password don't match an account. Check them and try again."),
        "{page}"
    );
    let notice = server.outbox_for("hal@example.com").await;
    assert!(notice.iter().any(|m| m.subject.contains("deleted")));

    // The tombstone can be read, not changed.
    let r = call(
        &server,
        Method::GET,
        &format!("/users/{uid}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    for (method, path) in [
        (Method::DELETE, format!("/users/{uid}")),
        (Method::POST, format!("/users/{uid}/enable")),
    ] {
        let r = call(&server, method, &path, Some(&token), None).await;
        assert_eq!(r.status, 409, "{path}: {}", r.body);
    }
    // The address is free for a new account.
    server
        .create_account(&server.browser(), "hal@example.com")
        .await;
}

async fn start_change(server: &TestServer, token: &str, uid: &str, body: Value) -> Reply {
    call(
        server,
        Method::POST,
        &format!("/users/{uid}/phone-changes"),
        Some(token),
        Some(body),
    )
    .await
}

#[actix_web::test]
async fn support_assisted_phone_change_end_to_end() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let (agent, token) = admin_token(&server).await;
    let uid = account(&server, "ida@example.com").await;
    let phone_id = enrol_everything(&server, &uid).await;
    let good = json!({
        "new_number": "(201) 555-0146",
        "channel": "sms",
        "identity_check": "document_video_call",
        "note": "VT-AB12CD34: passport checked on video call",
        "replace_phone_id": phone_id,
    });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, status, field) in [
        (
            with("identity_check", json!("vibes")),
            400,
            "identity_check",
        ),
        (with("note", json!("  ")), 400, "note"),
        (with("channel", json!("pigeon")), 400, "channel"),
        (
            with("new_number", json!("call me maybe")),
            400,
            "new_number",
        ),
        (
            with("new_number", json!("+1 900 555 0123")),
            400,
            "new_number",
        ),
        (with("new_number", json!(OLD)), 400, "new_number"),
        (
            with("replace_phone_id", json!("not-theirs")),
            400,
            "replace_phone_id",
        ),
    ] {
        let r = start_change(&server, &token, &uid, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.field(), field, "{body}: {}", r.body);
    }
    let r = start_change(&server, &token, "no-such-user", good.clone()).await;
    assert_eq!(r.status, 404);
    assert!(
        server.outbox_for(NEW).await.is_empty(),
        "no code for refused requests"
    );

    // Started twice with the same key: one code, one pending change.
    let key = [("Idempotency-Key", "change-ida-1")];
    let path = format!("/users/{uid}/phone-changes");
    let started = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(good.clone()),
        &key,
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let again = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(good.clone()),
        &key,
    )
    .await;
    assert_eq!(again.body, started.body);
    assert_eq!(server.outbox_for(NEW).await.len(), 1, "one code sent");
    assert_eq!(started.body["status"], "code_sent");
    assert_eq!(
        started.body["masked_new_number"],
        verity::mfa::phone::mask(NEW)
    );
    assert!(started.body["expires_at"].as_str().unwrap().ends_with('Z'));
    let change = started.body["id"].as_str().unwrap().to_string();
    let code = code_in(&server.outbox_for(NEW).await[0].body);
    let confirm = format!("/users/{uid}/phone-changes/{change}/confirm");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = call(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        Some(json!({"code": wrong})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.field(), "code");
    assert_eq!(
        r.body["remaining_tries"],
        server.ctx.settings.security.mfa_max_failures - 1
    );
    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/phone-changes/other/confirm"),
        Some(&token),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(r.status, 404, "unknown change");

    let done = call(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(
        done.body["masked_old_number"],
        verity::mfa::phone::mask(OLD)
    );
    let replay = call(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(replay.status, 404, "a change applies once");

    let detail = call(
        &server,
        Method::GET,
        &format!("/users/{uid}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(detail.body["phones"].as_array().unwrap().len(), 1);
    assert_eq!(
        detail.body["phones"][0]["masked"],
        verity::mfa::phone::mask(NEW)
    );
    // The same notices as self-service: old number, every email (with "this wasn't me"), new number.
    let old_sms = server.outbox_for(OLD).await;
    assert!(
        old_sms.iter().any(|m| m.body.contains("/not-me?token=")),
        "SMS to the old number"
    );
    let email = server.outbox_for("ida@example.com").await;
    let notice = email
        .iter()
        .find(|m| m.subject.contains("phone numbers changed"))
        .expect("email notice");
    assert!(notice.body.contains("/not-me?token="));
    assert!(
        server
            .outbox_for(NEW)
            .await
            .iter()
            .any(|m| m.body.contains("now on your")),
        "SMS to the new number"
    );
    // The audit event names the agent, the identity check and the note.
    let changed = audit_events_of_kind(&server, "phone_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].client_id.as_deref(), Some(agent.as_str()));
    let detail: Value = serde_json::from_str(&changed[0].detail).unwrap();
    assert_eq!(detail["identity_check"], "document_video_call");
    assert_eq!(
        detail["note"],
        "VT-AB12CD34: passport checked on video call"
    );
}

#[actix_web::test]
async fn wrong_codes_lock_the_change_and_unlock_lifts_it() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let uid = account(&server, "jon@example.com").await;
    let started = start_change(&server, &token, &uid, json!({
        "new_number": NEW, "channel": "voice", "identity_check": "in_person", "note": "at the desk",
    }))
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let code = code_in(&server.outbox_for(NEW).await[0].body);
    let confirm = format!(
        "/users/{uid}/phone-changes/{}/confirm",
        started.body["id"].as_str().unwrap()
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = server.ctx.settings.security.mfa_max_failures;
    for _ in 1..max {
        let r = call(
            &server,
            Method::POST,
            &confirm,
            Some(&token),
            Some(json!({"code": wrong})),
        )
        .await;
        assert_eq!(r.status, 400);
    }
    let r = call(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        Some(json!({"code": wrong})),
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.headers.get("retry-after").is_some());
    let r = call(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(r.status, 429, "even the right code waits out the lock");
    let detail = call(
        &server,
        Method::GET,
        &format!("/users/{uid}"),
        Some(&token),
        None,
    )
    .await;
    assert!(detail.body["mfa"]["locked_for_secs"].as_u64().unwrap() > 0);

    let r = call(
        &server,
        Method::POST,
        &format!("/users/{uid}/unlock"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body["mfa"]["locked_for_secs"].is_null());
    let r = call(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(server.outbox_for(NEW).await[0].body.contains("now on your"));
}

#[actix_web::test]
async fn hostile_input_gets_a_json_4xx_on_every_backend() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let uid = account(&server, "kai@example.com").await;
    let nul_cursor = verity::admin::pagination::encode_cursor(&["a\u{0}b"]);
    let long_id = "x".repeat(300);
    let gets = [
        ("/users/abc%00def".to_string(), 404, ""),
        (format!("/users/{long_id}"), 404, ""),
        ("/users/%E2%82%AC".to_string(), 404, ""),
        ("/users?email=a%00b@example.com".to_string(), 400, "email"),
        (format!("/users?cursor={nul_cursor}"), 400, "cursor"),
        ("/audit-events?user_id=%00".to_string(), 400, "user_id"),
        ("/audit-events?type=a%01b".to_string(), 400, "type"),
        ("/audit-events?since=%00".to_string(), 400, "since"),
    ];
    for (path, status, field) in gets {
        let r = call(&server, Method::GET, &path, Some(&token), None).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(r.field(), field, "{path}: {}", r.body);
    }
    let posts = [
        ("/users/a%00b/disable".to_string(), json!({}), 404),
        (
            format!("/users/{uid}/phone-changes/a%00b/confirm"),
            json!({"code": "123456"}),
            404,
        ),
        (
            format!("/users/{uid}/phone-changes"),
            json!({"new_number": "\u{0}", "channel": "sms", "identity_check": "in_person", "note": "n"}),
            400,
        ),
        (
            format!("/users/{uid}/reset-mfa"),
            json!({"reason": "a\u{0}b"}),
            200,
        ),
    ];
    for (path, body, status) in posts {
        let r = call(
            &server,
            Method::POST,
            &path,
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, status, "{path} {body}: {}", r.body);
    }
    // The reason is kept as written, NUL and all, in the audit event.
    let reset = audit_events_of_kind(&server, "mfa_reset").await;
    let detail: Value = serde_json::from_str(&reset[0].detail).unwrap();
    assert_eq!(detail["reason"], "a\u{0}b");
}

#[actix_web::test]
async fn a_change_whose_phone_was_removed_meanwhile_changes_nothing() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let uid = account(&server, "lin@example.com").await;
    let phone_id = enrol_everything(&server, &uid).await;
    let started = start_change(
        &server,
        &token,
        &uid,
        json!({
            "new_number": NEW, "channel": "sms", "identity_check": "in_person", "note": "desk",
            "replace_phone_id": phone_id,
        }),
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let code = code_in(&server.outbox_for(NEW).await[0].body);
    // The person removes that phone before the agent confirms.
    let (u, p) = (uid.clone(), phone_id.clone());
    server
        .ctx
        .db
        .run(move |c| Ok(verity::mfa::methods::remove_phone(c, &u, &p)?.is_some()))
        .await
        .unwrap();
    let confirm = format!(
        "/users/{uid}/phone-changes/{}/confirm",
        started.body["id"].as_str().unwrap()
    );
    let r = call(
        &server,
        Method::POST,
        &confirm,
        Some(&token),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.field(), "replace_phone_id");
    let detail = call(
        &server,
        Method::GET,
        &format!("/users/{uid}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(detail.body["phones"], json!([]), "nothing added");
    assert!(audit_events_of_kind(&server, "phone_changed")
        .await
        .is_empty());
    assert!(!server
        .outbox_for("lin@example.com")
        .await
        .iter()
        .any(|m| m.subject.contains("phone numbers changed")));
}

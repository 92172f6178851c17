//! Management API: querying the audit trail.

use reqwest::Method;
use serde_json::json;

use crate::admin_harness::*;
use crate::harness::*;

/// Records an event at the server's current time.
async fn record(server: &TestServer, user: Option<&str>, kind: &'static str) {
    let kind = verity::audit::Kind::parse(kind).expect("a known kind");
    let (now, user) = (server.ctx.clock.now(), user.map(str::to_string));
    server
        .ctx
        .db
        .run(move |c| {
            verity::audit::record(
                c,
                now,
                verity::audit::Event {
                    kind,
                    user_id: user.as_deref(),
                    client_id: None,
                    detail: json!({"n": 1}),
                    actor: None,
                },
            )
        })
        .await
        .unwrap();
}

#[actix_web::test]
async fn audit_events_refuse_every_caller_but_an_agent_with_the_scope() {
    let server = TestServer::start().await;
    let tokens = Tokens::new(&server).await;
    assert_refusals(
        &server,
        &tokens,
        Method::GET,
        "/audit-events",
        None,
        &tokens.keys_only,
    )
    .await;
    let (id, secret) = admin_client(&server, &["verity:admin"]).await;
    let auditor = client_token(&server, &id, &secret, Some("verity:admin:audit")).await;
    let r = call(&server, Method::GET, "/audit-events", Some(&auditor), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[actix_web::test]
async fn audit_events_filter_by_person_type_and_time_newest_first() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let t0 = server.ctx.clock.now().and_utc();
    record(&server, Some("u-1"), "phone_added").await;
    server.ctx.clock.advance(60);
    record(&server, Some("u-1"), "phone_changed").await;
    server.ctx.clock.advance(60);
    record(&server, Some("u-2"), "phone_changed").await;
    server.ctx.clock.advance(60);
    record(&server, Some("u-1"), "phone_removed").await;

    let r = call(
        &server,
        Method::GET,
        "/audit-events?user_id=u-1",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let kinds: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["phone_removed", "phone_changed", "phone_added"],
        "newest first"
    );
    assert_eq!(r.body["items"][0]["detail"], json!({"n": 1}));

    let r = call(
        &server,
        Method::GET,
        "/audit-events?type=phone_changed",
        Some(&token),
        None,
    )
    .await;
    let users: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["u-2", "u-1"]);

    // [t0 + 30 s, t0 + 150 s): the two events in between.
    let since = (t0 + chrono::Duration::seconds(30)).to_rfc3339();
    let until = (t0 + chrono::Duration::seconds(150)).to_rfc3339();
    let q = format!(
        "/audit-events?since={}&until={}",
        urlencode(&since),
        urlencode(&until)
    );
    let r = call(&server, Method::GET, &q, Some(&token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let kinds: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["phone_changed", "phone_changed"]);

    // One per page through u-1's events: each exactly once, in order.
    let mut seen = vec![];
    let mut path = "/audit-events?user_id=u-1&limit=1".to_string();
    loop {
        let page = call(&server, Method::GET, &path, Some(&token), None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["type"].as_str().unwrap().to_string()),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/audit-events?user_id=u-1&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["phone_removed", "phone_changed", "phone_added"]);

    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=", "until"),
        ("until=2026-13-01T00:00:00Z", "until"),
        (
            &format!("since={}&until={}", urlencode(&until), urlencode(&since)) as &str,
            "since",
        ),
        ("cursor=WyJub3QgYSB0aW1lIiwiaWQiXQ", "cursor"),
        ("cursor=%25%25", "cursor"),
        (&format!("user_id={}", "u".repeat(65)), "user_id"),
        ("limit=0", "limit"),
    ] {
        let r = call(
            &server,
            Method::GET,
            &format!("/audit-events?{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.field(), field, "{query}: {}", r.body);
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

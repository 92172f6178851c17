//! Management API: service notices, and the worker that emails them in batches, once per
//! person, resuming where it stopped.

use chrono::NaiveDateTime;
use reqwest::Method;
use serde_json::{json, Value};
use verity::accounts::users::User;
use verity::support::notices::run_notice_batch;

use crate::admin_harness::*;
use crate::harness::*;

pub(crate) const SUBJECT: &str = "Our terms of service change on 1 January";

/// A server whose own worker stays idle (the test drives the batches), two people a batch.
async fn quiet_server() -> TestServer {
    TestServer::start_with(|s| {
        s.support.notice_batch_size = 2;
        s.support.notice_poll_ms = 3_600_000;
    })
    .await
}

#[derive(Clone, Copy)]
enum State {
    Active,
    Unconfirmed,
    Disabled,
    Deleted,
}

async fn add_user(server: &TestServer, id: &str, email: &str, state: State, days_old: i64) {
    let now = server.ctx.clock.now();
    let created: NaiveDateTime = now - chrono::Duration::days(days_old);
    let user = User {
        id: id.to_string(),
        email: email.to_string(),
        email_verified: !matches!(state, State::Unconfirmed),
        password_hash: "unused".into(),
        given_name: None,
        family_name: None,
        disabled: matches!(state, State::Disabled | State::Deleted),
        created_at: created,
        updated_at: created,
        deleted_at: matches!(state, State::Deleted).then_some(now),
        identity_reverify_at: None,
        locale: None,
        time_zone: None,
    };
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            diesel::insert_into(verity::storage::schema::users::table)
                .values(&user)
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

/// Seven accounts: four that should get an unfiltered notice, three that never should.
pub(crate) async fn seed_people(server: &TestServer) {
    add_user(server, "u1", "ana@example.com", State::Active, 400).await;
    add_user(server, "u2", "bo@agency.gov", State::Active, 300).await;
    add_user(server, "u3", "cy@example.com", State::Unconfirmed, 200).await;
    add_user(server, "u4", "di@example.com", State::Disabled, 100).await;
    add_user(server, "u5", "ed@example.com", State::Active, 50).await;
    add_user(server, "u6", "fa@example.com", State::Deleted, 40).await;
    add_user(server, "u7", "gu@example.com", State::Active, 1).await;
}

pub(crate) const EVERYONE: [&str; 4] = [
    "ana@example.com",
    "bo@agency.gov",
    "ed@example.com",
    "gu@example.com",
];
const NEVER: [&str; 3] = ["cy@example.com", "di@example.com", "fa@example.com"];

/// How many messages with `subject` each address got.
pub(crate) async fn received(server: &TestServer, to: &str, subject: &str) -> usize {
    server
        .outbox_for(to)
        .await
        .iter()
        .filter(|m| m.subject == subject)
        .count()
}

/// Runs batches until there is no work; returns the sizes of the batches.
pub(crate) async fn drain(ctx: &verity::Ctx) -> Vec<usize> {
    let mut sizes = Vec::new();
    loop {
        let n = run_notice_batch(ctx).await.expect("batch");
        if n == 0 {
            return sizes;
        }
        sizes.push(n);
        assert!(sizes.len() < 50, "the batches end");
    }
}

pub(crate) async fn send(server: &TestServer, token: &str, body: Value) -> Value {
    let r = call(
        server,
        Method::POST,
        "/service-notices",
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body
}

pub(crate) async fn progress(server: &TestServer, token: &str, id: &str) -> Value {
    let r = call(
        server,
        Method::GET,
        &format!("/service-notices/{id}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[actix_web::test]
async fn a_notice_reaches_each_active_account_once_in_batches() {
    let server = quiet_server().await;
    let (agent, token) = admin_token(&server).await;
    seed_people(&server).await;

    let notice = send(
        &server,
        &token,
        json!({ "subject": SUBJECT, "body": "Read them at https://verity.example/terms." }),
    )
    .await;
    let id = notice["id"].as_str().unwrap().to_string();
    assert_eq!(notice["sent_count"], 0);
    assert_eq!(notice["completed"], false);
    assert_eq!(notice["created_by"], agent.as_str());
    assert_eq!(notice["audience"], json!({}));

    // Two per batch: four accounts qualify, so two full batches, then an empty one ends it.
    assert_eq!(drain(&server.ctx).await, [2, 2]);
    for to in EVERYONE {
        assert_eq!(received(&server, to, SUBJECT).await, 1, "{to}");
        let mail = server.outbox_for(to).await;
        assert!(mail[0].body.contains("https://verity.example/terms"));
    }
    for to in NEVER {
        assert_eq!(received(&server, to, SUBJECT).await, 0, "{to}");
    }
    let done = progress(&server, &token, &id).await;
    assert_eq!(done["sent_count"], 4);
    assert_eq!(done["completed"], true);
    assert!(done["completed_at"].is_string());

    // Running again (another node, a later poll) sends nothing more.
    assert_eq!(drain(&server.ctx).await, Vec::<usize>::new());
    for to in EVERYONE {
        assert_eq!(received(&server, to, SUBJECT).await, 1, "{to}");
    }
    let events: Vec<verity::audit::AuditEvent> = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events::dsl::*;
            Ok(audit_events
                .filter(kind.eq("service_notice_created"))
                .select(verity::audit::AuditEvent::as_select())
                .load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some(agent.as_str()));
}

#[actix_web::test]
async fn a_filtered_notice_reaches_only_its_audience() {
    let server = quiet_server().await;
    let (_, token) = admin_token(&server).await;
    seed_people(&server).await;
    let cutoff = (server.ctx.clock.now() - chrono::Duration::days(100))
        .and_utc()
        .to_rfc3339();
    let by_domain = send(
        &server,
        &token,
        json!({
            "subject": "Maintenance for example.com accounts",
            "body": "Sunday 02:00-03:00 UTC.",
            "audience": { "email_domain": "Example.COM", "created_before": cutoff, "verified_only": true },
        }),
    )
    .await;
    assert_eq!(by_domain["audience"]["email_domain"], "example.com");
    let by_id = send(
        &server,
        &token,
        json!({
            "subject": "About your case",
            "body": "Hello.",
            "audience": { "user_ids": ["u2", "u4", "u7", "nobody"] },
        }),
    )
    .await;
    drain(&server.ctx).await;
    // example.com, confirmed, active, older than 100 days: only ana (cy is unconfirmed, di
    // disabled, ed and gu too new, bo on another domain).
    for (to, n) in [
        ("ana@example.com", 1),
        ("bo@agency.gov", 0),
        ("cy@example.com", 0),
        ("di@example.com", 0),
        ("ed@example.com", 0),
        ("gu@example.com", 0),
    ] {
        assert_eq!(
            received(&server, to, "Maintenance for example.com accounts").await,
            n,
            "{to}"
        );
    }
    // Listed accounts only, and still never a disabled one.
    for (to, n) in [
        ("ana@example.com", 0),
        ("bo@agency.gov", 1),
        ("di@example.com", 0),
        ("gu@example.com", 1),
    ] {
        assert_eq!(received(&server, to, "About your case").await, n, "{to}");
    }
    let a = progress(&server, &token, by_domain["id"].as_str().unwrap()).await;
    assert_eq!(
        (a["sent_count"].clone(), a["completed"].clone()),
        (json!(1), json!(true))
    );
    let b = progress(&server, &token, by_id["id"].as_str().unwrap()).await;
    assert_eq!(
        (b["sent_count"].clone(), b["completed"].clone()),
        (json!(2), json!(true))
    );

    // Newest first, paged.
    let page = call(
        &server,
        Method::GET,
        "/service-notices?limit=1",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["items"][0]["id"], by_id["id"]);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = call(
        &server,
        Method::GET,
        &format!("/service-notices?limit=1&cursor={cursor}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(next.body["items"][0]["id"], by_domain["id"]);
    assert_eq!(next.body["next_cursor"], Value::Null);
}

#[actix_web::test]
async fn a_restarted_sender_resumes_and_never_sends_twice() {
    let server = quiet_server().await;
    let (_, token) = admin_token(&server).await;
    seed_people(&server).await;
    let notice = send(
        &server,
        &token,
        json!({ "subject": SUBJECT, "body": "Hello." }),
    )
    .await;
    let id = notice["id"].as_str().unwrap().to_string();

    assert_eq!(run_notice_batch(&server.ctx).await.unwrap(), 2);
    assert_eq!(received(&server, "ana@example.com", SUBJECT).await, 1);
    assert_eq!(received(&server, "bo@agency.gov", SUBJECT).await, 1);
    assert_eq!(received(&server, "ed@example.com", SUBJECT).await, 0);
    let half = progress(&server, &token, &id).await;
    assert_eq!(
        (half["sent_count"].clone(), half["completed"].clone()),
        (json!(2), json!(false))
    );

    // The node stops after sending a batch but before saving its cursor.
    let nid = id.clone();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::service_notices::dsl::*;
            diesel::update(service_notices.find(&nid))
                .set(cursor_user_id.eq(None::<String>))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    // A new process on the same database picks the notice up.
    let restarted = verity::Ctx::build((*server.ctx.settings).clone())
        .await
        .expect("a second node");
    assert_eq!(
        drain(&restarted).await,
        [2, 2],
        "it walks from the start again"
    );
    for to in EVERYONE {
        assert_eq!(received(&server, to, SUBJECT).await, 1, "{to}: never twice");
    }
    let done = progress(&server, &token, &id).await;
    assert_eq!(done["sent_count"], 4, "each person counted once");
    assert_eq!(done["completed"], true);
}

#[actix_web::test]
async fn the_background_worker_sends_notices_by_itself() {
    let server = TestServer::start_with(|s| {
        s.support.notice_batch_size = 2;
        s.support.notice_poll_ms = 50;
    })
    .await;
    let (_, token) = admin_token(&server).await;
    seed_people(&server).await;
    let notice = send(
        &server,
        &token,
        json!({ "subject": SUBJECT, "body": "Hello." }),
    )
    .await;
    let id = notice["id"].as_str().unwrap();
    let mut waited = 0;
    while progress(&server, &token, id).await["completed"] != true {
        assert!(waited < 200, "the worker finished within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    for to in EVERYONE {
        assert_eq!(received(&server, to, SUBJECT).await, 1, "{to}");
    }
}

#[actix_web::test]
async fn notices_with_bad_input_are_refused_naming_the_field() {
    let server = quiet_server().await;
    let (_, token) = admin_token(&server).await;
    let max = server.ctx.settings.support.message_max_chars;
    let cases = [
        (json!({ "body": "x" }), "subject"),
        (json!({ "subject": " ", "body": "x" }), "subject"),
        (json!({ "subject": "Two\nlines", "body": "x" }), "subject"),
        (
            json!({ "subject": "s".repeat(201), "body": "x" }),
            "subject",
        ),
        (json!({ "subject": "S" }), "body"),
        (json!({ "subject": "S", "body": "" }), "body"),
        (
            json!({ "subject": "S", "body": "b".repeat(max + 1) }),
            "body",
        ),
        (json!({ "subject": "S", "body": "b", "from": "x" }), "from"),
        (
            json!({ "subject": "S", "body": "b", "audience": [] }),
            "audience",
        ),
        (
            json!({ "subject": "S", "body": "b", "audience": { "email_domain": "not a domain" } }),
            "audience.email_domain",
        ),
        (
            json!({ "subject": "S", "body": "b", "audience": { "email_domain": "@example.com" } }),
            "audience.email_domain",
        ),
        (
            json!({ "subject": "S", "body": "b", "audience": { "email_domain": "example..com" } }),
            "audience.email_domain",
        ),
        (
            json!({ "subject": format!(" {}", "s".repeat(200)), "body": "x" }),
            "subject",
        ),
        (
            json!({ "subject": "S", "body": "b", "audience": { "verified_only": false } }),
            "audience.verified_only",
        ),
        (
            json!({ "subject": "S", "body": "b", "audience": { "user_ids": [] } }),
            "audience.user_ids",
        ),
        (
            json!({ "subject": "S", "body": "b", "audience": { "created_before": "last week" } }),
            "audience.created_before",
        ),
        (
            json!({ "subject": "S", "body": "b", "audience": { "country": "NZ" } }),
            "audience.country",
        ),
    ];
    for (body, field) in cases {
        let r = call(
            &server,
            Method::POST,
            "/service-notices",
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.field(), field, "{body}: {}", r.body);
    }
    let list = call(&server, Method::GET, "/service-notices", Some(&token), None).await;
    assert_eq!(list.body["items"], json!([]), "nothing queued");
    for (query, field) in [("?cursor=abc", "cursor"), ("?limit=0", "limit")] {
        let r = call(
            &server,
            Method::GET,
            &format!("/service-notices{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(r.field(), field);
    }
    let missing = call(
        &server,
        Method::GET,
        "/service-notices/00000000-0000-0000-0000-000000000000",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error(), "not_found");
}

#[actix_web::test]
async fn a_repeated_notice_with_one_idempotency_key_is_queued_once() {
    let server = quiet_server().await;
    let (_, token) = admin_token(&server).await;
    seed_people(&server).await;
    let body = Some(json!({ "subject": SUBJECT, "body": "Hello." }));
    let key = [("Idempotency-Key", "tos-2027")];
    let first = call_with(
        &server,
        Method::POST,
        "/service-notices",
        Some(&token),
        body.clone(),
        &key,
    )
    .await;
    let again = call_with(
        &server,
        Method::POST,
        "/service-notices",
        Some(&token),
        body,
        &key,
    )
    .await;
    assert_eq!((first.status, again.status), (202, 202));
    assert_eq!(again.body["id"], first.body["id"]);
    let list = call(&server, Method::GET, "/service-notices", Some(&token), None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    drain(&server.ctx).await;
    assert_eq!(received(&server, "ana@example.com", SUBJECT).await, 1);
}

#[actix_web::test]
async fn notices_refuse_callers_without_the_notices_scope() {
    let server = quiet_server().await;
    let tokens = Tokens::new(&server).await;
    let queued = send(
        &server,
        &tokens.admin,
        json!({ "subject": "Queued", "body": "b" }),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    let cases = [
        (
            Method::POST,
            "/service-notices".to_string(),
            Some(json!({ "subject": SUBJECT, "body": "b" })),
        ),
        (Method::GET, "/service-notices".to_string(), None),
        (Method::GET, format!("/service-notices/{id}"), None),
    ];
    for (method, path, body) in cases {
        assert_refusals(&server, &tokens, method, &path, body, &tokens.keys_only).await;
    }
    let list = call(
        &server,
        Method::GET,
        "/service-notices",
        Some(&tokens.notices_only),
        None,
    )
    .await;
    assert_eq!(list.status, 200, "the per-area scope is enough");
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "no refused call queued a notice"
    );
}

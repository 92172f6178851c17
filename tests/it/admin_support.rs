//! Management API: support tickets (list, read, reply by email, close).

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_harness::*;
use crate::harness::*;

/// Files a ticket the way the "Contact support" form does.
async fn file_ticket(server: &TestServer, email: &str, message: &str) -> String {
    let ticket = verity::support::tickets::create(
        &server.ctx,
        None,
        email,
        "lost_phone",
        message,
        verity::i18n::Lang::En,
    )
    .await
    .expect("ticket filed");
    ticket.id
}

async fn reply_count(server: &TestServer) -> i64 {
    server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::support_replies::dsl::*;
            Ok(support_replies.count().get_result(c)?)
        })
        .await
        .unwrap()
}

fn ids(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn tickets_are_listed_read_answered_by_email_and_closed() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let first = file_ticket(&server, "ana@example.com", "I lost my phone.").await;
    let second = file_ticket(&server, "bo@example.com", "Can't sign in.").await;
    let third = file_ticket(&server, "cy@example.com", "Change my name please.").await;
    assert!(
        first.starts_with("VT-")
            && first.len() == 11
            && first[3..]
                .chars()
                .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)),
        "{first}"
    );

    let all = call(&server, Method::GET, "/support-tickets", Some(&token), None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(
        ids(&all.body),
        [first.clone(), second.clone(), third.clone()],
        "oldest first"
    );
    assert_eq!(all.body["items"][0]["contact_email"], "ana@example.com");
    assert_eq!(all.body["items"][0]["status"], "open");

    // Paged, two at a time.
    let page1 = call(
        &server,
        Method::GET,
        "/support-tickets?limit=2",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(ids(&page1.body), [first.clone(), second.clone()]);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = call(
        &server,
        Method::GET,
        &format!("/support-tickets?limit=2&cursor={cursor}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(ids(&page2.body), vec![third.clone()]);
    assert_eq!(page2.body["next_cursor"], Value::Null);

    let detail = call(
        &server,
        Method::GET,
        &format!("/support-tickets/{first}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["message"], "I lost my phone.");
    assert_eq!(detail.body["replies"], json!([]));

    let replied = call(
        &server,
        Method::POST,
        &format!("/support-tickets/{first}/replies"),
        Some(&token),
        Some(json!({ "body": "We can change your number by video call. Reply with a time." })),
    )
    .await;
    assert_eq!(replied.status, 201, "{}", replied.body);
    assert_eq!(replied.body["author"], agent.as_str());
    let mail = server.outbox_for("ana@example.com").await;
    assert_eq!(mail.len(), 1, "the reply went out by email");
    assert!(mail[0].subject.contains(&first), "{}", mail[0].subject);
    assert!(mail[0].body.contains("by video call"));
    assert!(server.outbox_for("bo@example.com").await.is_empty());

    let detail = call(
        &server,
        Method::GET,
        &format!("/support-tickets/{first}"),
        Some(&token),
        None,
    )
    .await;
    let replies = detail.body["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["id"], replied.body["id"]);
    assert_eq!(replies[0]["author"], agent.as_str());

    let closed = call(
        &server,
        Method::POST,
        &format!("/support-tickets/{first}/close"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(closed.body["status"], "closed");
    assert!(closed.body["closed_at"].is_string());
    let open = call(
        &server,
        Method::GET,
        "/support-tickets?status=open",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(ids(&open.body), [second.clone(), third.clone()]);
    let done = call(
        &server,
        Method::GET,
        "/support-tickets?status=closed",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(ids(&done.body), vec![first.clone()]);

    // A closed ticket takes no more replies; closing it again changes nothing.
    let late = call(
        &server,
        Method::POST,
        &format!("/support-tickets/{first}/replies"),
        Some(&token),
        Some(json!({ "body": "One more thing" })),
    )
    .await;
    assert_eq!(late.status, 409, "{}", late.body);
    let again = call(
        &server,
        Method::POST,
        &format!("/support-tickets/{first}/close"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["closed_at"], closed.body["closed_at"]);
    assert_eq!(server.outbox_for("ana@example.com").await.len(), 1);

    let replied_events = audit_events_of_kind(&server, "support_ticket_replied").await;
    assert_eq!(replied_events.len(), 1);
    assert_eq!(replied_events[0].client_id.as_deref(), Some(agent.as_str()));
    assert!(replied_events[0].detail.contains(&first));
    let closed_events = audit_events_of_kind(&server, "support_ticket_closed").await;
    assert_eq!(closed_events.len(), 1, "closing twice is one change");
    assert_eq!(closed_events[0].client_id.as_deref(), Some(agent.as_str()));
}

#[actix_web::test]
async fn ticket_requests_with_bad_input_are_refused_naming_the_field() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let id = file_ticket(&server, "ana@example.com", "Help").await;
    let reply_path = format!("/support-tickets/{id}/replies");
    let too_long = "x".repeat(server.ctx.settings.support.message_max_chars + 1);
    for (body, field) in [
        (json!({}), "body"),
        (json!({ "body": "   " }), "body"),
        (json!({ "body": too_long }), "body"),
        (json!({ "body": 42 }), "body"),
        (json!({ "body": "Hi", "cc": "x@example.com" }), "cc"),
    ] {
        let r = call(
            &server,
            Method::POST,
            &reply_path,
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.field(), field, "{body}");
    }
    assert_eq!(reply_count(&server).await, 0);
    assert!(server.outbox_for("ana@example.com").await.is_empty());

    for (query, field) in [
        ("?status=pending", "status"),
        ("?status=", "status"),
        ("?cursor=%%%", "cursor"),
        ("?cursor=WyJhIiwiYiJd", "cursor"),
        ("?limit=-1", "limit"),
    ] {
        let r = call(
            &server,
            Method::GET,
            &format!("/support-tickets{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.field(), field, "{query}");
    }
    for (method, path) in [
        (Method::GET, "/support-tickets/VT-00000000"),
        (Method::POST, "/support-tickets/VT-00000000/replies"),
        (Method::POST, "/support-tickets/VT-00000000/close"),
        (Method::GET, "/support-tickets/%E2%98%83"),
    ] {
        let r = call(
            &server,
            method.clone(),
            path,
            Some(&token),
            Some(json!({ "body": "Hello" })),
        )
        .await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert_eq!(r.error(), "not_found");
    }
}

#[actix_web::test]
async fn a_repeated_reply_with_one_idempotency_key_is_sent_once() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let id = file_ticket(&server, "ana@example.com", "Help").await;
    let path = format!("/support-tickets/{id}/replies");
    let body = Some(json!({ "body": "Done: your number is changed." }));
    let key = [("Idempotency-Key", "reply-1")];
    let first = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        body.clone(),
        &key,
    )
    .await;
    assert_eq!(first.status, 201);
    let again = call_with(&server, Method::POST, &path, Some(&token), body, &key).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(reply_count(&server).await, 1);
    assert_eq!(
        server.outbox_for("ana@example.com").await.len(),
        1,
        "one email"
    );
    let other = call_with(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(json!({ "body": "Something else" })),
        &key,
    )
    .await;
    assert_eq!(other.status, 409);
    assert_eq!(other.field(), "Idempotency-Key");
    assert_eq!(reply_count(&server).await, 1);
}

#[actix_web::test]
async fn tickets_refuse_callers_without_the_support_scope() {
    let server = TestServer::start().await;
    let tokens = Tokens::new(&server).await;
    let id = file_ticket(&server, "ana@example.com", "Help").await;
    let cases = [
        (Method::GET, "/support-tickets".to_string(), None),
        (Method::GET, format!("/support-tickets/{id}"), None),
        (
            Method::POST,
            format!("/support-tickets/{id}/replies"),
            Some(json!({ "body": "Hello" })),
        ),
        (
            Method::POST,
            format!("/support-tickets/{id}/close"),
            empty(),
        ),
    ];
    for (method, path, body) in cases {
        assert_refusals(&server, &tokens, method, &path, body, &tokens.keys_only).await;
    }
    assert_eq!(reply_count(&server).await, 0, "no reply stored");
    assert!(
        server.outbox_for("ana@example.com").await.is_empty(),
        "none sent"
    );
    let ticket = call(
        &server,
        Method::GET,
        &format!("/support-tickets/{id}"),
        Some(&tokens.admin),
        None,
    )
    .await;
    assert_eq!(ticket.body["status"], "open", "not closed");
    // The per-area scope is enough.
    let (cid, secret) = admin_client(&server, &["verity:admin"]).await;
    let support = client_token(&server, &cid, &secret, Some("verity:admin:support")).await;
    let ok = call(
        &server,
        Method::GET,
        "/support-tickets",
        Some(&support),
        None,
    )
    .await;
    assert_eq!(ok.status, 200);
}

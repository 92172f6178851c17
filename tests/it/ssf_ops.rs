//! Shared Signals, the operator's side: listing every relying party's streams with backlog and
//! delivery counts, pausing, resuming, disabling and replaying through the management API (and
//! the command line's functions), the stream-updated events a receiver gets for it by poll and
//! by push, the receiver refused when it tries to undo an operator's pause, and long polling.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_harness::{self as admin, admin_client, assert_refusals, client_token, Tokens};
use crate::harness::*;
use crate::ssf::{
    call, consenting_person, create_poll_stream, event_of, poll, push_stream, receiver_client,
    start_receiver, token, user_id_of, validate_set, wait_for, SESSION_REVOKED,
};

const STREAM_UPDATED: &str = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";

/// An agent's token holding only `verity:admin:ssf`; returns (agent client id, token).
async fn ssf_agent(server: &TestServer) -> (String, String) {
    let (id, secret) = admin_client(server, &["verity:admin"]).await;
    let token = client_token(server, &id, &secret, Some("verity:admin:ssf")).await;
    (id, token)
}

/// The person signs out everywhere from their activity page: a session-revoked event.
async fn not_me(browser: &Browser) {
    let activity = browser.get_ok("/account/activity").await;
    let res = browser
        .post("/account/activity/not-me", &[("csrf", &csrf_of(&activity))])
        .await;
    assert_eq!(res.status(), 200);
}

/// Queues `n` session-revoked events about `email` as flows queue them.
async fn queue_events(server: &TestServer, email: &str, n: usize) {
    let uid = user_id_of(server, email).await;
    let settings = server.ctx.settings.clone();
    let now = server.ctx.clock.now();
    server
        .ctx
        .db
        .run(move |c| {
            for _ in 0..n {
                let signal = verity::ssf::events::session_revoked(
                    now,
                    verity::ssf::events::Initiator::User,
                    None,
                );
                verity::ssf::events::enqueue(c, &settings.ssf, now, &uid, &signal)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

/// The events of a poll answer, validated as a receiver would: (jti, type, members, claims).
async fn polled(server: &TestServer, answer: &Value, aud: &str) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (jti, set) in answer["sets"].as_object().unwrap() {
        let claims = validate_set(server, set.as_str().unwrap(), aud).await;
        let (kind, event) = event_of(&claims);
        if kind == STREAM_UPDATED {
            assert_stream_updated_claims(&claims);
        }
        out.push((jti.clone(), kind, event));
    }
    out
}

/// SSF §8.1.5: `sub_id` is the stream, format `opaque`; the event holds `status`.
fn assert_stream_updated_claims(claims: &Value) {
    let (_, event) = event_of(claims);
    assert!(event["status"].is_string(), "{claims}");
    assert_eq!(claims["sub_id"]["format"], "opaque", "{claims}");
    assert!(claims["sub_id"]["id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
}

/// The typ header of a SET (validate_set checks it too; this says it plainly).
fn typ_of(set: &str) -> String {
    jsonwebtoken::decode_header(set)
        .unwrap()
        .typ
        .unwrap_or_default()
}

async fn operator(
    server: &TestServer,
    agent: &str,
    stream_id: &str,
    action: &str,
    body: Option<Value>,
) -> admin::Reply {
    admin::call(
        server,
        Method::POST,
        &format!("/ssf-streams/{stream_id}/{action}"),
        Some(agent),
        body,
    )
    .await
}

async fn listed(server: &TestServer, agent: &str, query: &str) -> Vec<Value> {
    let reply = admin::call(
        server,
        Method::GET,
        &format!("/ssf-streams{query}"),
        Some(agent),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

async fn receiver_status(
    server: &TestServer,
    manage: &str,
    sid: &str,
    status: &str,
) -> (u16, Value) {
    let (code, body, _) = call(
        server,
        Method::POST,
        "/ssf/status",
        Some(manage),
        Some(json!({ "stream_id": sid, "status": status })),
    )
    .await;
    (code, body)
}

#[actix_web::test]
async fn an_operator_pauses_resumes_and_disables_a_poll_stream_and_the_receiver_hears_of_it() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let (other_id, _) = receiver_client(&server, "Library", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    let email = "oda@example.com";
    let (browser, _) = consenting_person(&server, &id, &secret, email).await;
    let (_, agent) = ssf_agent(&server).await;

    // Listed with what the receiver set up, nothing waiting.
    let items = listed(&server, &agent, "").await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["stream_id"], sid.as_str());
    assert_eq!(item["client_id"], id.as_str());
    assert_eq!(item["delivery_method"], "urn:ietf:rfc:8936");
    assert_eq!(item["endpoint_url"], stream["delivery"]["endpoint_url"]);
    assert_eq!(item["events_delivered"], json!([SESSION_REVOKED]));
    assert_eq!(item["status"], "enabled");
    assert_eq!(item["status_set_by"], "receiver");
    assert_eq!(item["backlog"]["events"], 0);
    assert_eq!(item["backlog"]["oldest_age_secs"], Value::Null);
    assert_eq!(
        item["deliveries"],
        json!({ "delivered": 0, "refused": 0, "failed_attempts": 0, "expired": 0 })
    );
    assert!(listed(&server, &agent, &format!("?client_id={other_id}"))
        .await
        .is_empty());
    assert_eq!(
        listed(&server, &agent, &format!("?client_id={id}"))
            .await
            .len(),
        1
    );

    // An event waits; an hour later the backlog says how old it is.
    not_me(&browser).await;
    server.ctx.clock.advance(3600);
    let (agent_id, agent) = ssf_agent(&server).await;
    let item = listed(&server, &agent, "").await.remove(0);
    assert_eq!(item["backlog"]["events"], 1);
    assert_eq!(item["backlog"]["oldest_age_secs"], 3600);

    // Paused by the operator: the receiver's next poll gets the stream-updated event, and only
    // that; the other event is held.
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let reply = operator(
        &server,
        &agent,
        &sid,
        "pause",
        Some(json!({ "reason": "receiver flooding us" })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "paused");
    assert_eq!(reply.body["status_reason"], "receiver flooding us");
    assert_eq!(reply.body["status_set_by"], "operator");
    assert_eq!(reply.body["status_agent"], agent_id.as_str());
    let answer = poll(&server, &manage, &stream, json!({})).await;
    let sets = answer["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{answer}");
    let set = sets.values().next().unwrap().as_str().unwrap();
    assert_eq!(typ_of(set), "secevent+jwt");
    let claims = validate_set(&server, set, &id).await;
    assert_eq!(
        claims["sub_id"],
        json!({ "format": "opaque", "id": sid }),
        "the stream is the subject"
    );
    let (kind, event) = event_of(&claims);
    assert_eq!(kind, STREAM_UPDATED);
    assert_eq!(
        event,
        json!({ "status": "paused", "reason": "receiver flooding us" })
    );
    let jti = claims["jti"].as_str().unwrap();
    let answer = poll(&server, &manage, &stream, json!({ "ack": [jti] })).await;
    assert_eq!(answer["sets"], json!({}), "held while paused");

    // The receiver can't undo the operator's pause, and reads why.
    for status in ["enabled", "disabled", "paused"] {
        let (code, body) = receiver_status(&server, &manage, &sid, status).await;
        assert_eq!(code, 403, "{status}: {body}");
        assert_eq!(body["err"], "access_denied");
        let description = body["description"].as_str().unwrap();
        assert!(
            description.contains("operator") && description.contains("receiver flooding us"),
            "{description}"
        );
    }
    let (code, body, _) = call(
        &server,
        Method::GET,
        &format!("/ssf/status?stream_id={sid}"),
        Some(&manage),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        json!({ "stream_id": sid, "status": "paused", "reason": "receiver flooding us" })
    );

    // Repeating the same pause changes nothing and tells the receiver nothing new.
    let reply = operator(
        &server,
        &agent,
        &sid,
        "pause",
        Some(json!({ "reason": "receiver flooding us" })),
    )
    .await;
    assert_eq!(reply.status, 200);
    let audits = admin::audit_events_of_kind(&server, "ssf_stream_status_changed").await;
    assert_eq!(audits.len(), 1, "one change audited");
    let detail: Value = serde_json::from_str(&audits[0].detail).unwrap();
    assert_eq!(audits[0].client_id.as_deref(), Some(agent_id.as_str()));
    assert_eq!(detail["stream_id"], sid.as_str());
    assert_eq!(detail["receiver_client_id"], id.as_str());
    assert_eq!(detail["status"], "paused");
    assert_eq!(detail["agent"], agent_id.as_str());

    // Resumed: stream-updated `enabled`, then the held event.
    let reply = operator(&server, &agent, &sid, "resume", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "enabled");
    assert_eq!(reply.body["status_reason"], Value::Null);
    let answer = poll(&server, &manage, &stream, json!({})).await;
    let events = polled(&server, &answer, &id).await;
    let mut kinds: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, vec![SESSION_REVOKED, STREAM_UPDATED], "{answer}");
    let updated = events.iter().find(|e| e.1 == STREAM_UPDATED).unwrap();
    assert_eq!(updated.2, json!({ "status": "enabled" }));
    let jtis: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    poll(&server, &manage, &stream, json!({ "ack": jtis })).await;

    // The receiver has its say again once the operator enabled the stream.
    assert_eq!(
        receiver_status(&server, &manage, &sid, "paused").await.0,
        200
    );
    assert_eq!(
        receiver_status(&server, &manage, &sid, "enabled").await.0,
        200
    );
    let item = listed(&server, &agent, "").await.remove(0);
    assert_eq!(item["status_set_by"], "receiver");
    assert_eq!(item["status_agent"], Value::Null);

    // Disabled: queued events are dropped, the stream-updated event is still answered, and
    // nothing more is queued.
    server.sign_in_fully(&browser, email).await;
    not_me(&browser).await;
    server.sign_in_fully(&browser, email).await;
    let reply = operator(
        &server,
        &agent,
        &sid,
        "disable",
        Some(json!({ "reason": "contract ended" })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "disabled");
    assert_eq!(
        reply.body["backlog"]["events"], 1,
        "only the stream-updated event"
    );
    not_me(&browser).await;
    let answer = poll(&server, &manage, &stream, json!({})).await;
    let events = polled(&server, &answer, &id).await;
    assert_eq!(events.len(), 1, "{answer}");
    assert_eq!(events[0].1, STREAM_UPDATED);
    assert_eq!(
        events[0].2,
        json!({ "status": "disabled", "reason": "contract ended" })
    );
    assert_eq!(
        receiver_status(&server, &manage, &sid, "enabled").await.0,
        403
    );

    // The command line acts through the same rules, as the agent `cli`.
    let settings = server.ctx.settings.clone();
    let now = server.ctx.clock.now();
    let stream_id = sid.clone();
    let change = server
        .ctx
        .db
        .run(move |c| {
            verity::ssf::operations::set_status(
                c,
                &settings.ssf,
                now,
                &stream_id,
                verity::ssf::operations::Action::Resume,
                Some("contract renewed"),
                verity::ssf::operations::Operator::Cli,
            )
        })
        .await
        .unwrap();
    assert_eq!(change, verity::ssf::operations::Change::Changed);
    let item = listed(&server, &agent, "").await.remove(0);
    assert_eq!(item["status"], "enabled");
    assert_eq!(item["status_agent"], "cli");
    let audits = admin::audit_events_of_kind(&server, "ssf_stream_status_changed").await;
    let by_cli = audits
        .iter()
        .find(|a| a.detail.contains("contract renewed"))
        .expect("audited");
    assert_eq!(by_cli.client_id, None);
    assert!(
        by_cli.detail.contains("\"agent\":\"cli\""),
        "{}",
        by_cli.detail
    );
}

#[actix_web::test]
async fn a_push_receiver_hears_of_a_pause_before_delivery_stops_and_of_the_resume() {
    // The server's own worker polls rarely; the test runs delivery rounds itself.
    let server = TestServer::start_with(|s| s.ssf.push_poll_ms = 60_000).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let (url, received) = start_receiver(vec![], 202).await;
    let stream = push_stream(&server, &manage, &url, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    let email = "pia@example.com";
    consenting_person(&server, &id, &secret, email).await;
    let (_, agent) = ssf_agent(&server).await;

    let reply = operator(
        &server,
        &agent,
        &sid,
        "pause",
        Some(json!({ "reason": "maintenance" })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    queue_events(&server, email, 1).await;
    let sent = verity::ssf::push::deliver_due(&server.ctx, "node-a")
        .await
        .unwrap();
    assert_eq!(sent, 1, "the stream-updated event, not the held one");
    let got = wait_for(&received, 1).await;
    let (content_type, authorization, set) = &got[0];
    assert_eq!(content_type, "application/secevent+jwt");
    assert_eq!(authorization, "Bearer receiver-secret");
    assert_eq!(typ_of(set), "secevent+jwt");
    let claims = validate_set(&server, set, &id).await;
    assert_eq!(claims["sub_id"], json!({ "format": "opaque", "id": sid }));
    assert_eq!(
        event_of(&claims),
        (
            STREAM_UPDATED.to_string(),
            json!({ "status": "paused", "reason": "maintenance" })
        )
    );
    verity::ssf::push::deliver_due(&server.ctx, "node-a")
        .await
        .unwrap();
    assert_eq!(received.lock().unwrap().len(), 1, "held while paused");

    // Resumed: first the stream-updated event, then what was held.
    let reply = operator(
        &server,
        &agent,
        &sid,
        "resume",
        Some(json!({ "reason": "maintenance over" })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let sent = verity::ssf::push::deliver_due(&server.ctx, "node-a")
        .await
        .unwrap();
    assert_eq!(sent, 2);
    let got = wait_for(&received, 3).await;
    let first = validate_set(&server, &got[1].2, &id).await;
    assert_eq!(
        event_of(&first),
        (
            STREAM_UPDATED.to_string(),
            json!({ "status": "enabled", "reason": "maintenance over" })
        )
    );
    let second = validate_set(&server, &got[2].2, &id).await;
    assert_eq!(event_of(&second).0, SESSION_REVOKED);

    // Disabled: the receiver is told; the events queued before are dropped, never sent.
    queue_events(&server, email, 2).await;
    let reply = operator(&server, &agent, &sid, "disable", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let sent = verity::ssf::push::deliver_due(&server.ctx, "node-a")
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let got = wait_for(&received, 4).await;
    let last = validate_set(&server, &got[3].2, &id).await;
    assert_eq!(
        event_of(&last),
        (STREAM_UPDATED.to_string(), json!({ "status": "disabled" }))
    );
    let item = operator_view(&server, &agent, &sid).await;
    assert_eq!(item["backlog"]["events"], 0);
    assert_eq!(item["deliveries"]["delivered"], 4);
}

async fn operator_view(server: &TestServer, agent: &str, sid: &str) -> Value {
    let reply = admin::call(
        server,
        Method::GET,
        &format!("/ssf-streams/{sid}"),
        Some(agent),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[actix_web::test]
async fn replay_sends_refused_and_retrying_deliveries_again() {
    let server = TestServer::start_with(|s| s.ssf.push_poll_ms = 60_000).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    // The first event is refused (400), the second fails (503) and waits for its retry.
    let (url, received) = start_receiver(vec![400, 503], 202).await;
    let stream = push_stream(&server, &manage, &url, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    let email = "rui@example.com";
    consenting_person(&server, &id, &secret, email).await;
    let (agent_id, agent) = ssf_agent(&server).await;
    queue_events(&server, email, 2).await;
    let sent = verity::ssf::push::deliver_due(&server.ctx, "node-a")
        .await
        .unwrap();
    assert_eq!(sent, 0);
    assert_eq!(received.lock().unwrap().len(), 2);
    let item = operator_view(&server, &agent, &sid).await;
    assert_eq!(
        item["deliveries"],
        json!({ "delivered": 0, "refused": 1, "failed_attempts": 1, "expired": 0 })
    );
    assert_eq!(item["backlog"]["events"], 1, "the retrying one");
    assert_eq!(item["backlog"]["replayable"], 2);

    // Nothing is due before the retry wait, until the operator replays.
    verity::ssf::push::deliver_due(&server.ctx, "node-a")
        .await
        .unwrap();
    assert_eq!(received.lock().unwrap().len(), 2);
    let reply = operator(&server, &agent, &sid, "replay", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["replayed"], 2);
    assert_eq!(reply.body["stream"]["backlog"]["events"], 2);
    assert_eq!(reply.body["stream"]["backlog"]["replayable"], 0);
    let sent = verity::ssf::push::deliver_due(&server.ctx, "node-a")
        .await
        .unwrap();
    assert_eq!(sent, 2, "both delivered now");
    let got = wait_for(&received, 4).await;
    let mut jtis = Vec::new();
    for (_, _, set) in &got {
        let claims = validate_set(&server, set, &id).await;
        jtis.push(claims["jti"].as_str().unwrap().to_string());
    }
    let mut first = jtis[..2].to_vec();
    let mut again = jtis[2..].to_vec();
    first.sort();
    again.sort();
    assert_eq!(first, again, "the same SETs (same jti)");
    let item = operator_view(&server, &agent, &sid).await;
    assert_eq!(item["deliveries"]["delivered"], 2);
    assert_eq!(item["backlog"]["events"], 0);
    let audits = admin::audit_events_of_kind(&server, "ssf_stream_replayed").await;
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].client_id.as_deref(), Some(agent_id.as_str()));
    let detail: Value = serde_json::from_str(&audits[0].detail).unwrap();
    assert_eq!(
        (detail["stream_id"].clone(), detail["replayed"].clone()),
        (json!(sid), json!(2))
    );

    // A poll receiver's refusal (setErrs) is answered again after a replay.
    let poll_stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let poll_sid = poll_stream["stream_id"].as_str().unwrap();
    queue_events(&server, email, 1).await;
    let answer = poll(&server, &manage, &poll_stream, json!({})).await;
    let jti = answer["sets"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let answer = poll(
        &server,
        &manage,
        &poll_stream,
        json!({ "setErrs": { jti.clone(): { "err": "invalid_key", "description": "unknown kid" } } }),
    )
    .await;
    assert_eq!(answer["sets"], json!({}));
    let reply = operator(&server, &agent, poll_sid, "replay", None).await;
    assert_eq!(reply.body["replayed"], 1, "{}", reply.body);
    let answer = poll(&server, &manage, &poll_stream, json!({})).await;
    assert!(answer["sets"].get(&jti).is_some(), "{answer}");
}

#[actix_web::test]
async fn the_stream_api_wants_the_ssf_scope_and_an_existing_stream() {
    let server = TestServer::start().await;
    let tokens = Tokens::new(&server).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    let paths = [
        (Method::GET, "/ssf-streams".to_string()),
        (Method::GET, format!("/ssf-streams/{sid}")),
        (Method::POST, format!("/ssf-streams/{sid}/pause")),
        (Method::POST, format!("/ssf-streams/{sid}/resume")),
        (Method::POST, format!("/ssf-streams/{sid}/disable")),
        (Method::POST, format!("/ssf-streams/{sid}/replay")),
    ];
    for (method, path) in &paths {
        let body = (*method == Method::POST).then(|| json!({}));
        assert_refusals(
            &server,
            &tokens,
            method.clone(),
            path,
            body,
            &tokens.keys_only,
        )
        .await;
    }
    let (code, body, _) = call(
        &server,
        Method::GET,
        &format!("/ssf/status?stream_id={sid}"),
        Some(&manage),
        None,
    )
    .await;
    assert_eq!((code, body["status"].clone()), (200, json!("enabled")));

    // verity:admin includes the area; unknown or impossible stream ids are 404.
    for missing in ["5b1d0f5e-0000-4000-8000-000000000000", "not%20an%20id"] {
        for (method, path) in &paths[1..] {
            let path = path.replace(&sid, missing);
            let body = (*method == Method::POST).then(|| json!({}));
            let reply =
                admin::call(&server, method.clone(), &path, Some(&tokens.admin), body).await;
            assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
            assert_eq!(reply.error(), "not_found");
        }
    }
    // A reason that can't be used is named.
    for reason in [json!(""), json!("x".repeat(501)), json!("a\u{0}b")] {
        let reply = operator(
            &server,
            &tokens.admin,
            &sid,
            "pause",
            Some(json!({ "reason": reason })),
        )
        .await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(reply.field(), "reason");
    }
    let reply = operator(
        &server,
        &tokens.admin,
        &sid,
        "pause",
        Some(json!({ "why": "x" })),
    )
    .await;
    assert_eq!(reply.status, 400);
    let reply = admin::call(
        &server,
        Method::GET,
        "/ssf-streams?client_id=a%00b",
        Some(&tokens.admin),
        None,
    )
    .await;
    assert_eq!((reply.status, reply.field()), (400, "client_id"));
    let (code, body, _) = call(
        &server,
        Method::GET,
        &format!("/ssf/status?stream_id={sid}"),
        Some(&manage),
        None,
    )
    .await;
    assert_eq!(
        (code, body["status"].clone()),
        (200, json!("enabled")),
        "nothing refused changed the stream"
    );
}

#[actix_web::test]
async fn delivery_counts_add_up_delivered_refused_and_expired() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    let email = "sam@example.com";
    consenting_person(&server, &id, &secret, email).await;
    queue_events(&server, email, 3).await;
    let answer = poll(&server, &manage, &stream, json!({})).await;
    let jtis: Vec<String> = answer["sets"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(jtis.len(), 3);
    // One acknowledged, one refused, one left unacknowledged until it expires.
    poll(
        &server,
        &manage,
        &stream,
        json!({
            "ack": [jtis[0]],
            "setErrs": { jtis[1].clone(): { "err": "invalid_request", "description": "no" } },
            "maxEvents": 0,
        }),
    )
    .await;
    let days = i64::from(server.ctx.settings.ssf.retention_days);
    server.ctx.clock.advance(days * 86_400);
    let fresh = token(&server, &id, &secret, "ssf.read").await;
    let answer = poll(&server, &fresh, &stream, json!({})).await;
    assert_eq!(answer["sets"], json!({}), "expired");
    // Another node's worker finds nothing more to drop: counted once.
    verity::ssf::push::deliver_due(&server.ctx, "node-b")
        .await
        .unwrap();

    let expected = verity::ssf::operations::Counts {
        delivered: 1,
        refused: 1,
        failed: 0,
        expired: 1,
    };
    let metrics = server
        .ctx
        .db
        .run(verity::ssf::operations::metrics)
        .await
        .unwrap();
    assert_eq!(metrics.totals, expected);
    assert_eq!(metrics.streams.len(), 1);
    assert_eq!(metrics.streams[0].stream_id, sid);
    assert_eq!(metrics.streams[0].client_id, id);
    assert_eq!(metrics.streams[0].counts, expected);
    assert_eq!(metrics.streams[0].backlog, 0);
    let (_, agent) = ssf_agent(&server).await;
    let item = operator_view(&server, &agent, &sid).await;
    assert_eq!(
        item["deliveries"],
        json!({ "delivered": 1, "refused": 1, "failed_attempts": 0, "expired": 1 })
    );

    // A deleted stream leaves the per-stream list, not the totals.
    let (code, _, _) = call(
        &server,
        Method::DELETE,
        &format!("/ssf/streams?stream_id={sid}"),
        Some(&token(&server, &id, &secret, "ssf.manage").await),
        None,
    )
    .await;
    assert_eq!(code, 204);
    let metrics = server
        .ctx
        .db
        .run(verity::ssf::operations::metrics)
        .await
        .unwrap();
    assert_eq!(metrics.totals, expected);
    assert!(metrics.streams.is_empty());
}

/// Waits until a long poll holds the stream's waiting slot (so what the test does next happens
/// during the wait).
async fn until_waiting(server: &TestServer, sid: &str) {
    let key = format!("ssf_long_poll:{sid}");
    for _ in 0..600 {
        if server.ctx.store.get(&key).await.unwrap().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no poll is waiting on {sid}");
}

fn long_poll_server(secs: u64) -> impl FnOnce(&mut verity::config::Settings) {
    move |s| {
        s.ssf.long_poll_secs = secs;
        s.ssf.push_poll_ms = 50;
    }
}

#[actix_web::test]
async fn a_long_poll_answers_as_soon_as_an_event_is_queued() {
    let server = TestServer::start_with(long_poll_server(60)).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    let email = "tao@example.com";
    consenting_person(&server, &id, &secret, email).await;

    let waiting = poll(
        &server,
        &manage,
        &stream,
        json!({ "returnImmediately": false }),
    );
    let meanwhile = async {
        until_waiting(&server, &sid).await;
        // A second poll asking to wait while one does is answered at once.
        let second = poll(
            &server,
            &manage,
            &stream,
            json!({ "returnImmediately": false }),
        )
        .await;
        queue_events(&server, email, 1).await;
        second
    };
    // Half the configured wait: the answer came because of the event, not the timeout.
    let (answer, second) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(waiting, meanwhile)
    })
    .await
    .expect("the waiting poll answered when the event arrived");
    assert_eq!(second, json!({ "sets": {}, "moreAvailable": false }));
    let events = polled(&server, &answer, &id).await;
    assert_eq!(events.len(), 1, "{answer}");
    assert_eq!(events[0].1, SESSION_REVOKED);
    assert!(
        server
            .ctx
            .store
            .get(&format!("ssf_long_poll:{sid}"))
            .await
            .unwrap()
            .is_none(),
        "the slot is given back"
    );
}

#[actix_web::test]
async fn an_operator_pausing_ends_a_long_poll() {
    let server = TestServer::start_with(long_poll_server(60)).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    let (_, agent) = ssf_agent(&server).await;
    let waiting = poll(
        &server,
        &manage,
        &stream,
        json!({ "returnImmediately": false }),
    );
    let meanwhile = async {
        until_waiting(&server, &sid).await;
        let reply = operator(&server, &agent, &sid, "pause", None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    let (answer, ()) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(waiting, meanwhile)
    })
    .await
    .expect("the pause ended the wait");
    let events = polled(&server, &answer, &id).await;
    assert_eq!(events.len(), 1, "{answer}");
    assert_eq!(events[0].1, STREAM_UPDATED);
    assert_eq!(events[0].2, json!({ "status": "paused" }));
}

#[actix_web::test]
async fn a_long_poll_with_nothing_to_say_answers_empty_after_the_wait() {
    let server = TestServer::start_with(long_poll_server(1)).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let answer = poll(
            &server,
            &manage,
            &stream,
            json!({ "returnImmediately": false }),
        )
        .await;
        assert_eq!(answer, json!({ "sets": {}, "moreAvailable": false }));
        assert!(
            server
                .ctx
                .store
                .get(&format!("ssf_long_poll:{sid}"))
                .await
                .unwrap()
                .is_none(),
            "the slot is given back, so the next poll may wait too"
        );
    }
    // Asking to return at once (or not saying) never waits; a paused stream doesn't either.
    let answer = poll(
        &server,
        &manage,
        &stream,
        json!({ "returnImmediately": true }),
    )
    .await;
    assert_eq!(answer["sets"], json!({}));
}

#[actix_web::test]
async fn the_openapi_document_describes_the_stream_routes() {
    let server = TestServer::start().await;
    let doc: Value = reqwest::get(server.url("/admin/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method, status) in [
        ("/admin/api/v1/ssf-streams", "get", "200"),
        ("/admin/api/v1/ssf-streams/{stream_id}", "get", "200"),
        ("/admin/api/v1/ssf-streams/{stream_id}/pause", "post", "200"),
        (
            "/admin/api/v1/ssf-streams/{stream_id}/resume",
            "post",
            "200",
        ),
        (
            "/admin/api/v1/ssf-streams/{stream_id}/disable",
            "post",
            "200",
        ),
        (
            "/admin/api/v1/ssf-streams/{stream_id}/replay",
            "post",
            "200",
        ),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op["responses"][status].is_object(), "{method} {path}");
        assert!(op["responses"]["404"].is_object(), "{method} {path}");
        assert_eq!(op["tags"], json!(["ssf"]), "{method} {path}");
        assert_eq!(
            op["security"],
            json!([{ "bearer": ["verity:admin:ssf"] }]),
            "{method} {path}"
        );
    }
    let view = &doc["components"]["schemas"]["StreamView"]["properties"];
    for field in ["status_set_by", "backlog", "deliveries", "endpoint_url"] {
        assert!(view[field].is_object(), "StreamView.{field}");
    }
}

//! Push delivery (RFC 8935) across a restart of the server, on the same database: events
//! queued for a slow or unreachable receiver all arrive, each once by `jti` when the server
//! stops cleanly. A server that dies mid-send may send the SET it was sending again after its
//! lease runs out (it can't know whether the receiver processed it): only that one, with the
//! same `jti` and claims, which an RFC 8935 receiver deduplicates on.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::harness::*;
use verity::oauth::clients::NewClient;

const PUSH: &str = "urn:ietf:rfc:8935";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// A push receiver. Each SET is recorded as it arrives (a receiver that acts before it
/// answers), then held while the gate is closed, then answered with the current status.
struct Receiver {
    url: String,
    arrived: Arc<Mutex<Vec<String>>>,
    gate: watch::Sender<bool>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Receiver {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let arrived: Arc<Mutex<Vec<String>>> = Default::default();
        let (gate, _) = watch::channel(true);
        let status = Arc::new(AtomicU16::new(202));
        let (log, open, answer) = (arrived.clone(), gate.clone(), status.clone());
        let server = HttpServer::new(move || {
            let (log, open, answer) = (log.clone(), open.clone(), answer.clone());
            App::new().route(
                "/events",
                web::post().to(move |body: web::Bytes| {
                    let (log, mut open, answer) = (log.clone(), open.subscribe(), answer.clone());
                    async move {
                        log.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&body).to_string());
                        let _ = open.wait_for(|open| *open).await;
                        let code = answer.load(Ordering::SeqCst);
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                            .finish()
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Receiver {
            url,
            arrived,
            gate,
            status,
        }
    }

    fn hold(&self) {
        self.gate.send_replace(false);
    }

    fn release(&self) {
        self.gate.send_replace(true);
    }

    /// The claims of every SET received, in order of arrival.
    fn received(&self) -> Vec<Value> {
        self.arrived
            .lock()
            .unwrap()
            .iter()
            .map(|set| claims_of(set))
            .collect()
    }

    async fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.arrived.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "the receiver got {} of {n} SETs",
                self.arrived.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A SET's claims, read without checking (tests/it/ssf.rs checks signatures).
fn claims_of(set: &str) -> Value {
    let part = set.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn state_of(claims: &Value) -> String {
    claims["events"][VERIFICATION]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A server whose push worker looks often, with verification asked as often as wanted (each
/// request queues one event: the test's queued events).
async fn server() -> TestServer {
    TestServer::start_with(|s| {
        s.ssf.push_poll_ms = 50;
        s.ssf.min_verification_interval_secs = 0;
    })
    .await
}

/// Registers a receiver client, creates its push stream to `url`; returns (token, stream id).
async fn push_stream(server: &TestServer, url: &str) -> (String, String) {
    let created = server
        .register(NewClient {
            name: "Tax Portal".into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            scopes: vec!["openid".into(), "ssf.manage".into()],
            grant_types: vec!["authorization_code".into(), "client_credentials".into()],
            ..Default::default()
        })
        .await;
    let secret = created.client_secret.expect("secret");
    let answer: Value = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&created.client_id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "ssf.manage"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["access_token"]
        .as_str()
        .expect("a token")
        .to_string();
    let res = reqwest::Client::new()
        .post(server.url("/ssf/streams"))
        .bearer_auth(&token)
        .json(&json!({ "delivery": { "method": PUSH, "endpoint_url": url } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let stream: Value = res.json().await.unwrap();
    (token, stream["stream_id"].as_str().unwrap().to_string())
}

/// Queues `n` events (verification events with states `event-0`, `event-1`, …).
async fn queue(server: &TestServer, token: &str, stream_id: &str, n: usize) -> Vec<String> {
    let mut states = Vec::new();
    for i in 0..n {
        let state = format!("event-{i}");
        let res = reqwest::Client::new()
            .post(server.url("/ssf/verify"))
            .bearer_auth(token)
            .json(&json!({ "stream_id": stream_id, "state": state }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        states.push(state);
    }
    states
}

/// The queued events of the stream: (jti, acknowledged, lease held).
async fn rows(ctx: &verity::Ctx, stream_id: &str) -> Vec<(String, bool, bool)> {
    let sid = stream_id.to_string();
    ctx.db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::ssf_events;
            let rows: Vec<(String, Option<chrono::NaiveDateTime>, Option<String>)> =
                ssf_events::table
                    .filter(ssf_events::stream_id.eq(&sid))
                    .select((
                        ssf_events::jti,
                        ssf_events::acked_at,
                        ssf_events::lease_owner,
                    ))
                    .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(jti, acked, owner)| (jti, acked.is_some(), owner.is_some()))
                .collect())
        })
        .await
        .unwrap()
}

/// Waits until every queued event of the stream is acknowledged.
async fn wait_all_delivered(server: &TestServer, stream_id: &str, receiver: &Receiver) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = rows(&server.ctx, stream_id).await;
        if rows.iter().all(|(_, acked, _)| *acked) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not all delivered: {rows:?}; received {:?}",
            receiver.received()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Nothing is left to send, however much later another round runs.
async fn nothing_left(server: &TestServer) {
    server.ctx.clock.advance(86_400);
    let sent = verity::ssf::push::deliver_due(&server.ctx, "later")
        .await
        .unwrap();
    assert_eq!(sent, 0, "nothing more to send");
}

#[actix_web::test]
async fn a_clean_stop_mid_delivery_loses_nothing_and_sends_nothing_twice() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let (token, sid) = push_stream(&server, &receiver.url).await;
    // The receiver is slow: it holds the first SET while the server is asked to stop.
    receiver.hold();
    let states = queue(&server, &token, &sid, 5).await;
    receiver.wait_for(1).await;

    let (stopped, ()) = tokio::join!(server.stop(Stop::Clean), async { receiver.release() });
    // The SET in flight was answered and recorded; the rest were handed back, not left
    // under a lease.
    assert_eq!(
        receiver.received().len(),
        1,
        "only the SET in flight went out"
    );
    let left = rows(&stopped.ctx, &sid).await;
    assert_eq!(left.len(), 5);
    assert_eq!(left.iter().filter(|(_, acked, _)| *acked).count(), 1);
    assert!(
        left.iter().all(|(_, _, leased)| !leased),
        "no lease outlives a clean stop: {left:?}"
    );

    // Started again on the same database: the rest go out at once.
    let server = stopped.start().await;
    wait_all_delivered(&server, &sid, &receiver).await;
    nothing_left(&server).await;
    let received = receiver.received();
    let mut jtis: Vec<&str> = received
        .iter()
        .map(|c| c["jti"].as_str().unwrap())
        .collect();
    jtis.sort();
    jtis.dedup();
    assert_eq!(received.len(), 5, "each event sent once: {received:?}");
    assert_eq!(jtis.len(), 5, "five distinct jti");
    let mut got: Vec<String> = received.iter().map(state_of).collect();
    got.sort();
    assert_eq!(got, states, "none lost");
    assert!(received.iter().all(|c| c["iss"] == server.base));
}

#[actix_web::test]
async fn a_crash_mid_delivery_resends_only_the_set_in_flight_with_its_jti() {
    let server = server().await;
    let lease = server.ctx.settings.ssf.push_lease_secs as i64;
    let receiver = Receiver::start().await;
    let (token, sid) = push_stream(&server, &receiver.url).await;
    receiver.hold();
    let states = queue(&server, &token, &sid, 5).await;
    receiver.wait_for(1).await;
    let in_flight = receiver.received()[0].clone();

    // The process dies while the receiver is acting on the SET: no answer reaches the server.
    let stopped = server.stop(Stop::Crash).await;
    receiver.release();
    let left = rows(&stopped.ctx, &sid).await;
    let row = left
        .iter()
        .find(|(jti, _, _)| in_flight["jti"] == jti.as_str())
        .expect("the event in flight");
    assert!(
        !row.1 && row.2,
        "still queued, under the dead node's lease: {row:?}"
    );

    let server = stopped.start().await;
    // The lease runs out (no node can tell whether the receiver processed that SET).
    server.ctx.clock.advance(lease + 1);
    wait_all_delivered(&server, &sid, &receiver).await;
    nothing_left(&server).await;

    let received = receiver.received();
    let mut by_jti: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for claims in &received {
        by_jti
            .entry(claims["jti"].as_str().unwrap().to_string())
            .or_default()
            .push(claims.clone());
    }
    assert_eq!(by_jti.len(), 5, "none lost: {received:?}");
    let mut got: Vec<String> = by_jti.values().map(|c| state_of(&c[0])).collect();
    got.sort();
    assert_eq!(got, states);
    for (jti, copies) in &by_jti {
        if in_flight["jti"] == jti.as_str() {
            assert_eq!(copies.len(), 2, "the SET in flight is sent again");
            assert_eq!(copies[0], copies[1], "with the same jti and claims");
        } else {
            assert_eq!(copies.len(), 1, "{jti}: any other SET once");
        }
    }
}

#[actix_web::test]
async fn events_queued_while_the_receiver_is_down_arrive_once_after_a_restart() {
    let server = server().await;
    let receiver = Receiver::start().await;
    receiver.status.store(503, Ordering::SeqCst);
    let (token, sid) = push_stream(&server, &receiver.url).await;
    let states = queue(&server, &token, &sid, 3).await;
    // Each was tried and refused by the outage, and waits for its retry.
    receiver.wait_for(3).await;
    let stopped = server.stop(Stop::Clean).await;
    let tried = receiver.received().len();
    assert!(
        rows(&stopped.ctx, &sid)
            .await
            .iter()
            .all(|(_, acked, leased)| !acked && !leased),
        "queued, no lease held"
    );

    receiver.status.store(202, Ordering::SeqCst);
    let server = stopped.start().await;
    // Past the retry wait.
    server.ctx.clock.advance(3600);
    wait_all_delivered(&server, &sid, &receiver).await;
    nothing_left(&server).await;
    let delivered: Vec<Value> = receiver.received().split_off(tried);
    let mut got: Vec<String> = delivered.iter().map(state_of).collect();
    got.sort();
    assert_eq!(got, states, "each once after the restart: {delivered:?}");
}

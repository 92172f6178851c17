//! Shared Signals (SSF 1.0 transmitter): discovery, stream management and its refusals,
//! verification, poll delivery (RFC 8936) of SETs a receiver validates against the JWKS, and
//! the events a person's changes send to the relying parties they consented to.

use crate::harness::*;
use openidconnect::TokenResponse;
use serde_json::{json, Value};
use verity::oauth::clients::NewClient;

pub(crate) const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
pub(crate) const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
pub(crate) const VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
pub(crate) const POLL: &str = "urn:ietf:rfc:8936";

/// A relying party that signs people in and may manage streams.
pub(crate) async fn receiver_client(
    server: &TestServer,
    name: &str,
    pairwise: bool,
) -> (String, String) {
    let created = server
        .register(NewClient {
            name: name.into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            scopes: ["openid", "profile", "email", "ssf.manage", "ssf.read"]
                .map(String::from)
                .to_vec(),
            grant_types: vec!["authorization_code".into(), "client_credentials".into()],
            subject_type: pairwise.then(|| "pairwise".to_string()),
            ..Default::default()
        })
        .await;
    (created.client_id, created.client_secret.expect("secret"))
}

pub(crate) async fn token(server: &TestServer, id: &str, secret: &str, scope: &str) -> String {
    let res: Value = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token: {res}"))
        .to_string()
}

/// Sends a request with an optional bearer token and JSON body; returns status and JSON body
/// (Null when empty).
pub(crate) async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().request(method, server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value, headers)
}

pub(crate) async fn create_poll_stream(server: &TestServer, token: &str, events: &[&str]) -> Value {
    let (status, body, _) = call(
        server,
        reqwest::Method::POST,
        "/ssf/streams",
        Some(token),
        Some(json!({
            "delivery": { "method": POLL },
            "events_requested": events,
            "description": "tax portal",
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

pub(crate) async fn poll(server: &TestServer, token: &str, stream: &Value, body: Value) -> Value {
    let url = stream["delivery"]["endpoint_url"].as_str().unwrap();
    let path = url
        .strip_prefix(&server.base)
        .expect("poll URL on the issuer");
    let (status, answer, _) =
        call(server, reqwest::Method::POST, path, Some(token), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Validates a SET as a receiver must: signature against the published JWKS, `typ`, `iss`,
/// `aud`; no `sub` or `exp`; one event. Returns the claims.
pub(crate) async fn validate_set(server: &TestServer, set: &str, audience: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(server.url("/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(set).unwrap();
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("key in JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[&server.base]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(set, &key, &validation)
        .expect("SET verifies")
        .claims;
    assert!(claims.get("sub").is_none(), "never sub: {claims}");
    assert!(claims.get("exp").is_none(), "never exp: {claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["iat"].as_i64().is_some());
    assert_eq!(
        claims["events"].as_object().map(|e| e.len()),
        Some(1),
        "one event per SET: {claims}"
    );
    claims
}

/// The single event of a SET: (type, members).
pub(crate) fn event_of(claims: &Value) -> (String, Value) {
    let (k, v) = claims["events"].as_object().unwrap().iter().next().unwrap();
    (k.clone(), v.clone())
}

#[actix_web::test]
async fn discovery_names_the_endpoints_and_delivery_methods() {
    let server = TestServer::start().await;
    let (status, doc, headers) = call(
        &server,
        reqwest::Method::GET,
        "/.well-known/ssf-configuration",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(doc["issuer"], server.base);
    assert_eq!(doc["spec_version"], "1_0");
    assert_eq!(doc["jwks_uri"], server.url("/jwks.json"));
    assert_eq!(
        doc["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935", POLL])
    );
    for (member, path) in [
        ("configuration_endpoint", "/ssf/streams"),
        ("status_endpoint", "/ssf/status"),
        ("add_subject_endpoint", "/ssf/subjects/add"),
        ("remove_subject_endpoint", "/ssf/subjects/remove"),
        ("verification_endpoint", "/ssf/verify"),
    ] {
        assert_eq!(doc[member], server.url(path), "{member}");
    }
    assert_eq!(
        doc["authorization_schemes"],
        json!([{ "spec_urn": "urn:ietf:rfc:6749" }])
    );
    assert_eq!(doc["default_subjects"], "ALL");
}

#[actix_web::test]
async fn every_ssf_route_wants_a_bearer_token() {
    let server = TestServer::start().await;
    let mut checked = 0;
    for (method, path) in verity::web::ROUTES {
        if !path.starts_with("/ssf/") {
            continue;
        }
        checked += 1;
        let path = path.replace("{stream_id}", "x");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body, headers) = call(&server, method.clone(), &path, None, None).await;
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(headers["www-authenticate"], "Bearer", "{method} {path}");
        let (status, _, headers) =
            call(&server, method.clone(), &path, Some("not-a-token"), None).await;
        assert_eq!(status, 401, "{method} {path} with a bad token");
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
    }
    assert_eq!(checked, 11, "every /ssf/ route walked");
}

#[actix_web::test]
async fn streams_are_managed_by_their_own_client_only() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let (other_id, other_secret) = receiver_client(&server, "Library", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let read = token(&server, &id, &secret, "ssf.read").await;
    let other = token(&server, &other_id, &other_secret, "ssf.manage").await;
    use reqwest::Method as M;

    // Create: poll by default URL of Verity's own, events delivered = requested ∩ supported.
    let stream = create_poll_stream(
        &server,
        &manage,
        &[SESSION_REVOKED, "https://example.com/not-an-event"],
    )
    .await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    assert_eq!(stream["iss"], server.base);
    assert_eq!(stream["aud"], id.as_str());
    assert_eq!(stream["delivery"]["method"], POLL);
    assert_eq!(
        stream["delivery"]["endpoint_url"],
        server.url(&format!("/ssf/poll/{sid}"))
    );
    assert_eq!(
        stream["events_requested"],
        json!([SESSION_REVOKED, "https://example.com/not-an-event"])
    );
    assert_eq!(stream["events_delivered"], json!([SESSION_REVOKED]));
    let supported = stream["events_supported"].as_array().unwrap();
    assert_eq!(supported.len(), 8, "{supported:?}");
    for e in [SESSION_REVOKED, CREDENTIAL_CHANGE] {
        assert!(supported.contains(&json!(e)), "{e}");
    }

    // A read-only token reads, and may not write.
    let q = format!("/ssf/streams?stream_id={sid}");
    let (status, body, _) = call(&server, M::GET, &q, Some(&read), None).await;
    assert_eq!(status, 200);
    assert_eq!(body, stream);
    let (status, all, _) = call(&server, M::GET, "/ssf/streams", Some(&read), None).await;
    assert_eq!(status, 200);
    assert_eq!(all, json!([stream.clone()]));
    let (status, body, _) = call(
        &server,
        M::POST,
        "/ssf/streams",
        Some(&read),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = call(&server, M::DELETE, &q, Some(&read), None).await;
    assert_eq!(status, 403);

    // Another client's stream doesn't exist for it: 404 everywhere, and nothing changes.
    let (status, _, _) = call(&server, M::GET, &q, Some(&other), None).await;
    assert_eq!(status, 404);
    let (status, all, _) = call(&server, M::GET, "/ssf/streams", Some(&other), None).await;
    assert_eq!((status, all), (200, json!([])));
    for (method, path, body) in [
        (
            M::PATCH,
            "/ssf/streams",
            json!({ "stream_id": sid, "description": "x" }),
        ),
        (M::PUT, "/ssf/streams", json!({ "stream_id": sid })),
        (
            M::POST,
            "/ssf/status",
            json!({ "stream_id": sid, "status": "paused" }),
        ),
        (M::POST, "/ssf/verify", json!({ "stream_id": sid })),
        (
            M::POST,
            "/ssf/subjects/remove",
            json!({ "stream_id": sid, "subject": { "format": "email", "email": "a@example.com" } }),
        ),
    ] {
        let (status, _, _) = call(&server, method.clone(), path, Some(&other), Some(body)).await;
        assert_eq!(status, 404, "{method} {path}");
    }
    let (status, _, _) = call(&server, M::DELETE, &q, Some(&other), None).await;
    assert_eq!(status, 404);
    let path = format!("/ssf/poll/{sid}");
    let (status, _, _) = call(&server, M::POST, &path, Some(&other), Some(json!({}))).await;
    assert_eq!(status, 404);

    // Malformed JSON: 400 that says so.
    let res = reqwest::Client::new()
        .post(server.url("/ssf/streams"))
        .bearer_auth(&manage)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["err"], "invalid_request");
    assert!(
        body["description"].as_str().unwrap().contains("JSON"),
        "{body}"
    );
    let (status, body, _) = call(
        &server,
        M::POST,
        "/ssf/streams",
        Some(&manage),
        Some(json!({ "delivery": { "method": "urn:example:carrier-pigeon" } })),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Update (PATCH) changes what was sent; replace (PUT) resets the rest.
    let (status, patched, _) = call(
        &server,
        M::PATCH,
        "/ssf/streams",
        Some(&manage),
        Some(json!({ "stream_id": sid, "events_requested": [SESSION_REVOKED, CREDENTIAL_CHANGE] })),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["events_delivered"],
        json!([SESSION_REVOKED, CREDENTIAL_CHANGE])
    );
    assert_eq!(patched["description"], "tax portal", "kept");
    let (status, replaced, _) = call(
        &server,
        M::PUT,
        "/ssf/streams",
        Some(&manage),
        Some(json!({ "stream_id": sid, "delivery": { "method": POLL }, "events_requested": [CREDENTIAL_CHANGE] })),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["events_delivered"], json!([CREDENTIAL_CHANGE]));
    assert!(
        replaced.get("description").is_none(),
        "replaced: {replaced}"
    );

    // Status: read, pause, read again.
    let sq = format!("/ssf/status?stream_id={sid}");
    let (status, st, _) = call(&server, M::GET, &sq, Some(&read), None).await;
    assert_eq!(
        (status, st),
        (200, json!({ "stream_id": sid, "status": "enabled" }))
    );
    let (status, st, _) = call(
        &server,
        M::POST,
        "/ssf/status",
        Some(&manage),
        Some(json!({ "stream_id": sid, "status": "paused", "reason": "maintenance" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        st,
        json!({ "stream_id": sid, "status": "paused", "reason": "maintenance" })
    );
    let (_, st, _) = call(&server, M::GET, &sq, Some(&read), None).await;
    assert_eq!(st["status"], "paused");
    let (status, _, _) = call(
        &server,
        M::POST,
        "/ssf/status",
        Some(&manage),
        Some(json!({ "stream_id": sid, "status": "asleep" })),
    )
    .await;
    assert_eq!(status, 400);

    // Subjects: add is 200, remove 204; an unknown format is 400.
    let subject = json!({ "format": "email", "email": "nobody@example.com" });
    let (status, _, _) = call(
        &server,
        M::POST,
        "/ssf/subjects/add",
        Some(&manage),
        Some(json!({ "stream_id": sid, "subject": subject })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &server,
        M::POST,
        "/ssf/subjects/remove",
        Some(&manage),
        Some(json!({ "stream_id": sid, "subject": subject })),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &server,
        M::POST,
        "/ssf/subjects/add",
        Some(&manage),
        Some(json!({ "stream_id": sid, "subject": { "format": "aliases", "identifiers": [] } })),
    )
    .await;
    assert_eq!(status, 400);

    // The per-client limit: 409 once it holds ssf.max_streams_per_client.
    let max = server.ctx.settings.ssf.max_streams_per_client as usize;
    for _ in 1..max {
        create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    }
    let (status, _, _) = call(
        &server,
        M::POST,
        "/ssf/streams",
        Some(&manage),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409);

    // Delete: 204, then it's gone.
    let (status, _, _) = call(&server, M::DELETE, &q, Some(&manage), None).await;
    assert_eq!(status, 204);
    let (status, _, _) = call(&server, M::GET, &q, Some(&manage), None).await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn a_person_token_or_a_token_without_ssf_scope_is_forbidden() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let browser = server.signed_in_browser("pia@example.com").await;
    let rp = server.rp(&id, Some(&secret)).await;
    let req = rp.auth_request(&["openid"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();
    let tokens = rp.exchange(&code, req.verifier).await.unwrap();
    let person = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    let (status, body, _) = call(
        &server,
        reqwest::Method::GET,
        "/ssf/streams",
        Some(&person),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");

    let plain = server
        .register(NewClient {
            name: "No signals".into(),
            scopes: vec!["reports.read".into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let t = token(
        &server,
        &plain.client_id,
        plain.client_secret.as_deref().unwrap(),
        "reports.read",
    )
    .await;
    let (status, _, _) = call(
        &server,
        reqwest::Method::GET,
        "/ssf/streams",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn verification_is_polled_as_a_set_that_validates_against_the_jwks() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let read = token(&server, &id, &secret, "ssf.read").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap();

    let (status, body, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/verify",
        Some(&manage),
        Some(json!({ "stream_id": sid, "state": "VGhpcyBpcyBhbiBleGFtcGxl" })),
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));
    // Again at once: too soon.
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/verify",
        Some(&manage),
        Some(json!({ "stream_id": sid })),
    )
    .await;
    assert_eq!(status, 429);

    let answer = poll(
        &server,
        &read,
        &stream,
        json!({ "returnImmediately": true }),
    )
    .await;
    assert_eq!(answer["moreAvailable"], false);
    let sets = answer["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{answer}");
    let (jti, set) = sets.iter().next().unwrap();
    let claims = validate_set(&server, set.as_str().unwrap(), &id).await;
    assert_eq!(claims["jti"], jti.as_str());
    assert_eq!(claims["sub_id"], json!({ "format": "opaque", "id": sid }));
    let (kind, event) = event_of(&claims);
    assert_eq!(kind, VERIFICATION);
    assert_eq!(event, json!({ "state": "VGhpcyBpcyBhbiBleGFtcGxl" }));

    // Not acknowledged: answered again. Acknowledged: gone.
    let again = poll(&server, &read, &stream, json!({})).await;
    assert!(again["sets"].get(jti).is_some());
    let after = poll(&server, &read, &stream, json!({ "ack": [jti] })).await;
    assert_eq!(after, json!({ "sets": {}, "moreAvailable": false }));
}

#[actix_web::test]
async fn a_persons_changes_reach_only_the_apps_they_consented_to() {
    let server = TestServer::start().await;
    // The consented app is pairwise: its SETs name the person by the `sub` it knows.
    let (id, secret) = receiver_client(&server, "Tax Portal", true).await;
    let (stranger_id, stranger_secret) = receiver_client(&server, "Library", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stranger_token = token(&server, &stranger_id, &stranger_secret, "ssf.manage").await;
    let events = [SESSION_REVOKED, CREDENTIAL_CHANGE];
    let stream = create_poll_stream(&server, &manage, &events).await;
    let stranger_stream = create_poll_stream(&server, &stranger_token, &events).await;

    let email = "quinn@example.com";
    let browser = server.signed_in_browser(email).await;
    let rp = server.rp(&id, Some(&secret)).await;
    let req = rp.auth_request(&["openid"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();
    let tokens = rp.exchange(&code, req.verifier).await.unwrap();
    let sub = rp.verify(&tokens, &req.nonce).subject().to_string();
    assert!(tokens.id_token().is_some());

    // The password changes: credential-change.
    let page = browser.get_ok("/account/password").await;
    let new = "saffron tugboat meadow ledger";
    let res = browser
        .post(
            "/account/password",
            &[
                ("csrf", &csrf_of(&page)),
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
    assert!(
        res.status().is_redirection() || res.status() == 200,
        "{}",
        res.status()
    );

    // "This wasn't me": every session ends, session-revoked.
    let activity = browser.get_ok("/account/activity").await;
    let res = browser
        .post("/account/activity/not-me", &[("csrf", &csrf_of(&activity))])
        .await;
    assert_eq!(res.status(), 200);

    // One at a time: moreAvailable while another waits.
    let first = poll(&server, &manage, &stream, json!({ "maxEvents": 1 })).await;
    assert_eq!(first["moreAvailable"], true, "{first}");
    let sets = first["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1);
    let (jti1, set1) = sets.iter().next().unwrap();
    let claims = validate_set(&server, set1.as_str().unwrap(), &id).await;
    assert_eq!(
        claims["sub_id"],
        json!({ "format": "iss_sub", "iss": server.base, "sub": sub })
    );
    let (kind, event) = event_of(&claims);
    assert_eq!(kind, CREDENTIAL_CHANGE);
    assert_eq!(event["credential_type"], "password");
    assert_eq!(event["change_type"], "update");
    assert_eq!(event["initiating_entity"], "user");
    assert!(event["event_timestamp"].as_i64().is_some());

    let second = poll(
        &server,
        &manage,
        &stream,
        json!({ "ack": [jti1], "maxEvents": 1 }),
    )
    .await;
    assert_eq!(second["moreAvailable"], false, "{second}");
    let (jti2, set2) = second["sets"].as_object().unwrap().iter().next().unwrap();
    assert_ne!(jti2, jti1, "the acknowledged one isn't sent again");
    let claims = validate_set(&server, set2.as_str().unwrap(), &id).await;
    assert_eq!(claims["sub_id"]["sub"], sub.as_str());
    let (kind, event) = event_of(&claims);
    assert_eq!(kind, SESSION_REVOKED);
    assert_eq!(event["initiating_entity"], "user");
    let done = poll(&server, &manage, &stream, json!({ "ack": [jti2] })).await;
    assert_eq!(done, json!({ "sets": {}, "moreAvailable": false }));

    // The app the person never used hears nothing about them.
    let nothing = poll(&server, &stranger_token, &stranger_stream, json!({})).await;
    assert_eq!(nothing, json!({ "sets": {}, "moreAvailable": false }));
}

#[actix_web::test]
async fn a_removed_subject_and_a_paused_stream_get_nothing_now() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap();
    let email = "rex@example.com";
    let browser = server.signed_in_browser(email).await;
    let rp = server.rp(&id, Some(&secret)).await;
    let req = rp.auth_request(&["openid"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();
    let tokens = rp.exchange(&code, req.verifier).await.unwrap();
    let sub = rp.verify(&tokens, &req.nonce).subject().to_string();

    // Removed: their sign-out everywhere isn't queued.
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/subjects/remove",
        Some(&manage),
        Some(json!({ "stream_id": sid, "subject": { "format": "iss_sub", "iss": server.base, "sub": sub } })),
    )
    .await;
    assert_eq!(status, 204);
    let activity = browser.get_ok("/account/activity").await;
    let res = browser
        .post("/account/activity/not-me", &[("csrf", &csrf_of(&activity))])
        .await;
    assert_eq!(res.status(), 200);
    let nothing = poll(&server, &manage, &stream, json!({})).await;
    assert_eq!(nothing["sets"], json!({}));

    // Added back, and the stream paused: the event waits until it is enabled.
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/subjects/add",
        Some(&manage),
        Some(json!({ "stream_id": sid, "subject": { "format": "email", "email": email } })),
    )
    .await;
    assert_eq!(status, 200);
    let set_status = |status: &'static str| {
        let manage = manage.clone();
        let server = &server;
        async move {
            let (code, _, _) = call(
                server,
                reqwest::Method::POST,
                "/ssf/status",
                Some(&manage),
                Some(json!({ "stream_id": sid, "status": status })),
            )
            .await;
            assert_eq!(code, 200);
        }
    };
    set_status("paused").await;
    server.sign_in_fully(&browser, email).await;
    let activity = browser.get_ok("/account/activity").await;
    let res = browser
        .post("/account/activity/not-me", &[("csrf", &csrf_of(&activity))])
        .await;
    assert_eq!(res.status(), 200);
    let held = poll(&server, &manage, &stream, json!({})).await;
    assert_eq!(held["sets"], json!({}), "paused: held");
    set_status("enabled").await;
    let now = poll(&server, &manage, &stream, json!({})).await;
    let sets = now["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{now}");
    let claims = validate_set(
        &server,
        sets.values().next().unwrap().as_str().unwrap(),
        &id,
    )
    .await;
    assert_eq!(event_of(&claims).0, SESSION_REVOKED);
}

/// A person who signed in to the client and consented; returns their browser and the `sub`
/// the client knows them by.
pub(crate) async fn consenting_person(
    server: &TestServer,
    id: &str,
    secret: &str,
    email: &str,
) -> (Browser, String) {
    let browser = server.signed_in_browser(email).await;
    let rp = server.rp(id, Some(secret)).await;
    let req = rp.auth_request(&["openid"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let code = query_of(&callback)["code"].clone();
    let tokens = rp.exchange(&code, req.verifier).await.unwrap();
    let sub = rp.verify(&tokens, &req.nonce).subject().to_string();
    (browser, sub)
}

pub(crate) async fn user_id_of(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| verity::accounts::users::by_email(c, &email))
        .await
        .unwrap()
        .expect("the account")
        .id
}

#[actix_web::test]
async fn an_operator_disabling_the_account_sends_session_revoked_by_admin() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let email = "sol@example.com";
    let (_browser, sub) = consenting_person(&server, &id, &secret, email).await;
    let uid = user_id_of(&server, email).await;
    let (admin_id, admin_secret) =
        crate::admin_harness::admin_client(&server, &["verity:admin"]).await;
    let admin = crate::admin_harness::client_token(&server, &admin_id, &admin_secret, None).await;
    let (status, body, _) = call(
        &server,
        reqwest::Method::POST,
        &format!("/admin/api/v1/users/{uid}/disable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let answer = poll(&server, &manage, &stream, json!({})).await;
    let sets = answer["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{answer}");
    let claims = validate_set(
        &server,
        sets.values().next().unwrap().as_str().unwrap(),
        &id,
    )
    .await;
    assert_eq!(claims["sub_id"]["sub"], sub.as_str());
    let (kind, event) = event_of(&claims);
    assert_eq!(kind, SESSION_REVOKED);
    assert_eq!(event["initiating_entity"], "admin");
    assert_eq!(event["reason_admin"], json!({ "en": "account disabled" }));
}

#[actix_web::test]
async fn with_default_subjects_none_only_added_people_are_heard_about() {
    let server = TestServer::start_with(|s| {
        s.ssf.default_subjects = verity::config::DefaultSubjects::None;
    })
    .await;
    let (status, doc, _) = call(
        &server,
        reqwest::Method::GET,
        "/.well-known/ssf-configuration",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, doc["default_subjects"].clone()),
        (200, json!("NONE"))
    );
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap();
    let (ann, _) = consenting_person(&server, &id, &secret, "ann@example.com").await;
    let (bo, bo_sub) = consenting_person(&server, &id, &secret, "bo@example.com").await;
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/subjects/add",
        Some(&manage),
        Some(json!({ "stream_id": sid, "subject": { "format": "iss_sub", "iss": server.base, "sub": bo_sub } })),
    )
    .await;
    assert_eq!(status, 200);
    for browser in [&ann, &bo] {
        let activity = browser.get_ok("/account/activity").await;
        let res = browser
            .post("/account/activity/not-me", &[("csrf", &csrf_of(&activity))])
            .await;
        assert_eq!(res.status(), 200);
    }
    let answer = poll(&server, &manage, &stream, json!({})).await;
    let sets = answer["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "only the added person: {answer}");
    let claims = validate_set(
        &server,
        sets.values().next().unwrap().as_str().unwrap(),
        &id,
    )
    .await;
    assert_eq!(claims["sub_id"]["sub"], bo_sub.as_str());
}

#[actix_web::test]
async fn unacknowledged_events_expire_and_expired_tokens_are_refused() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap();
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/verify",
        Some(&manage),
        Some(json!({ "stream_id": sid })),
    )
    .await;
    assert_eq!(status, 204);
    let days = i64::from(server.ctx.settings.ssf.retention_days);
    server.ctx.clock.advance(days * 86_400);
    // The token is long expired now.
    let path = format!("/ssf/poll/{sid}");
    let (status, _, headers) = call(
        &server,
        reqwest::Method::POST,
        &path,
        Some(&manage),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let fresh = token(&server, &id, &secret, "ssf.read").await;
    let answer = poll(&server, &fresh, &stream, json!({})).await;
    assert_eq!(
        answer,
        json!({ "sets": {}, "moreAvailable": false }),
        "expired"
    );
}

/// What a push receiver was sent: content type, authorization header, body.
pub(crate) type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

/// A push receiver on a real port: answers each POST with the next status of `statuses`, then
/// `then` (a 400 carries an RFC 8935 error body).
pub(crate) async fn start_receiver(statuses: Vec<u16>, then: u16) -> (String, Received) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let received: Received = Default::default();
    let log = received.clone();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(statuses.into_iter()));
    let server = HttpServer::new(move || {
        let (log, queue) = (log.clone(), queue.clone());
        App::new().route(
            "/events",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let (log, queue) = (log.clone(), queue.clone());
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    log.lock().unwrap().push((
                        header("content-type"),
                        header("authorization"),
                        String::from_utf8_lossy(&body).to_string(),
                    ));
                    let status = queue.lock().unwrap().next().unwrap_or(then);
                    let code = actix_web::http::StatusCode::from_u16(status).unwrap();
                    if status == 400 {
                        HttpResponse::build(code).json(json!({
                            "err": "invalid_audience", "description": "not for us"
                        }))
                    } else {
                        HttpResponse::build(code).finish()
                    }
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    (url, received)
}

/// Waits (up to 15 s) until the receiver holds `n` requests; returns them.
pub(crate) async fn wait_for(received: &Received, n: usize) -> Vec<(String, String, String)> {
    for _ in 0..300 {
        let got = received.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the receiver got {} of {n} SETs",
        received.lock().unwrap().len()
    );
}

/// Waits (up to 15 s) until the stream's event shows `n` failed attempts.
async fn failures_recorded(server: &TestServer, stream_id: &str, n: i32) {
    for _ in 0..300 {
        let sid = stream_id.to_string();
        let attempts: Vec<i32> = server
            .ctx
            .db
            .run(move |c| {
                use diesel::prelude::*;
                use verity::storage::schema::ssf_events;
                Ok(ssf_events::table
                    .filter(ssf_events::stream_id.eq(sid))
                    .filter(ssf_events::last_error.is_not_null())
                    .select(ssf_events::attempts)
                    .load(c)?)
            })
            .await
            .unwrap();
        if attempts.iter().any(|a| *a >= n) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the worker never recorded {n} failed attempts");
}

pub(crate) async fn push_stream(
    server: &TestServer,
    token: &str,
    url: &str,
    events: &[&str],
) -> Value {
    let (status, body, _) = call(
        server,
        reqwest::Method::POST,
        "/ssf/streams",
        Some(token),
        Some(json!({
            "delivery": {
                "method": "urn:ietf:rfc:8935",
                "endpoint_url": url,
                "authorization_header": "Bearer receiver-secret",
            },
            "events_requested": events,
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["delivery"]["endpoint_url"], url);
    assert!(
        body["delivery"].get("authorization_header").is_none(),
        "never read back"
    );
    body
}

#[actix_web::test]
async fn push_delivers_a_set_with_retries_after_an_outage() {
    let server = TestServer::start_with(|s| s.ssf.push_poll_ms = 50).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    // Down twice, then up.
    let (url, received) = start_receiver(vec![503, 503], 202).await;
    let stream = push_stream(&server, &manage, &url, &[CREDENTIAL_CHANGE]).await;
    let sid = stream["stream_id"].as_str().unwrap();
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/verify",
        Some(&manage),
        Some(json!({ "stream_id": sid, "state": "abc" })),
    )
    .await;
    assert_eq!(status, 204);
    wait_for(&received, 1).await;
    // Retries wait with backoff; move the clock past each wait, once the worker has recorded
    // the failed attempt (moving it earlier would only set the next attempt later).
    for n in 2..=3 {
        failures_recorded(&server, sid, n as i32 - 1).await;
        server.ctx.clock.advance(3600);
        wait_for(&received, n).await;
    }
    let got = wait_for(&received, 3).await;
    let (content_type, authorization, set) = &got[2];
    assert_eq!(content_type, "application/secevent+jwt");
    assert_eq!(authorization, "Bearer receiver-secret");
    let claims = validate_set(&server, set, &id).await;
    let (kind, event) = event_of(&claims);
    assert_eq!(kind, VERIFICATION);
    assert_eq!(event["state"], "abc");
    let claims_part = |set: &str| set.split('.').nth(1).unwrap_or("").to_string();
    assert_eq!(
        claims_part(&got[0].2),
        claims_part(&got[2].2),
        "the same SET each time"
    );
    // Delivered: never sent again, however much later.
    server.ctx.clock.advance(86_400);
    let again = verity::ssf::push::deliver_due(&server.ctx, "test-node")
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(received.lock().unwrap().len(), 3);
}

#[actix_web::test]
async fn push_sends_each_event_once_when_several_nodes_race() {
    // The server's own worker polls rarely; the test plays three more nodes at once.
    let server = TestServer::start_with(|s| s.ssf.push_poll_ms = 60_000).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let (url, received) = start_receiver(vec![], 202).await;
    push_stream(&server, &manage, &url, &[SESSION_REVOKED]).await;
    let email = "tia@example.com";
    let (_, sub) = consenting_person(&server, &id, &secret, email).await;
    // Five events about the person queued at once, as flows queue them.
    let uid = user_id_of(&server, email).await;
    let settings = server.ctx.settings.clone();
    let now = server.ctx.clock.now();
    server
        .ctx
        .db
        .run(move |c| {
            for _ in 0..5 {
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
    let (a, b, c) = tokio::join!(
        verity::ssf::push::deliver_due(&server.ctx, "node-a"),
        verity::ssf::push::deliver_due(&server.ctx, "node-b"),
        verity::ssf::push::deliver_due(&server.ctx, "node-c"),
    );
    assert_eq!(
        a.unwrap() + b.unwrap() + c.unwrap(),
        5,
        "each delivered once"
    );
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 5, "five POSTs, no duplicates");
    let mut jtis = std::collections::BTreeSet::new();
    for (_, _, set) in &got {
        let claims = validate_set(&server, set, &id).await;
        assert_eq!(claims["sub_id"]["sub"], sub.as_str());
        jtis.insert(claims["jti"].as_str().unwrap().to_string());
    }
    assert_eq!(jtis.len(), 5);
}

#[actix_web::test]
async fn a_receivers_400_is_kept_and_not_retried() {
    let server = TestServer::start_with(|s| s.ssf.push_poll_ms = 60_000).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let (url, received) = start_receiver(vec![400], 202).await;
    let stream = push_stream(&server, &manage, &url, &[SESSION_REVOKED]).await;
    let sid = stream["stream_id"].as_str().unwrap().to_string();
    // The receiver's credential is stored sealed, and a change that doesn't touch delivery
    // keeps it.
    let id_for_db = sid.clone();
    let stored: Option<String> = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::ssf_streams;
            Ok(ssf_streams::table
                .find(&id_for_db)
                .select(ssf_streams::authorization_header)
                .first(c)?)
        })
        .await
        .unwrap();
    assert!(stored.is_some_and(|h| !h.contains("receiver-secret")));
    let (status, _, _) = call(
        &server,
        reqwest::Method::PATCH,
        "/ssf/streams",
        Some(&manage),
        Some(json!({ "stream_id": sid, "description": "renamed" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &server,
        reqwest::Method::POST,
        "/ssf/verify",
        Some(&manage),
        Some(json!({ "stream_id": sid })),
    )
    .await;
    assert_eq!(status, 204);
    let n = verity::ssf::push::deliver_due(&server.ctx, "n")
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(received.lock().unwrap().len(), 1);
    assert_eq!(received.lock().unwrap()[0].1, "Bearer receiver-secret");
    server.ctx.clock.advance(86_400);
    verity::ssf::push::deliver_due(&server.ctx, "n")
        .await
        .unwrap();
    assert_eq!(received.lock().unwrap().len(), 1, "not retried");
    let error: Option<String> = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::ssf_events;
            Ok(ssf_events::table
                .filter(ssf_events::stream_id.eq(&sid))
                .select(ssf_events::last_error)
                .first(c)?)
        })
        .await
        .unwrap();
    assert_eq!(
        error.as_deref(),
        Some("refused: invalid_audience: not for us")
    );
}

#[actix_web::test]
async fn a_password_reset_sends_credential_change_and_session_revoked() {
    let server = TestServer::start().await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let stream = create_poll_stream(&server, &manage, &[SESSION_REVOKED, CREDENTIAL_CHANGE]).await;
    let email = "uma@example.com";
    let (_signed_in, sub) = consenting_person(&server, &id, &secret, email).await;

    let browser = server.browser();
    let page = browser.get_ok("/forgot-password").await;
    browser
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await;
    let link = server.link_from_outbox(email, "Reset your").await;
    let res = browser.get_abs(&link).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = browser.get_ok("/mfa?method=backup").await;
    let code = server.take_backup_code(email);
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/reset-password/new");
    let form = browser.get_ok("/reset-password/new").await;
    let new = "velvet harbour quinoa mosaic";
    let res = browser
        .post(
            "/reset-password/new",
            &[
                ("csrf", &csrf_of(&form)),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);

    let answer = poll(&server, &manage, &stream, json!({})).await;
    let mut kinds = Vec::new();
    for set in answer["sets"].as_object().unwrap().values() {
        let claims = validate_set(&server, set.as_str().unwrap(), &id).await;
        assert_eq!(claims["sub_id"]["sub"], sub.as_str());
        let (kind, event) = event_of(&claims);
        assert_eq!(event["initiating_entity"], "user");
        kinds.push(kind);
    }
    kinds.sort();
    let mut expected = vec![CREDENTIAL_CHANGE.to_string(), SESSION_REVOKED.to_string()];
    expected.sort();
    assert_eq!(kinds, expected, "{answer}");
}

#[actix_web::test]
async fn creations_and_subject_adds_sent_at_once_keep_the_limits() {
    let server = TestServer::start_with(|s| s.ssf.max_streams_per_client = 2).await;
    let (id, secret) = receiver_client(&server, "Tax Portal", false).await;
    let manage = token(&server, &id, &secret, "ssf.manage").await;
    let body = json!({ "delivery": { "method": POLL }, "events_requested": [SESSION_REVOKED] });
    let creates = (0..10).map(|_| {
        call(
            &server,
            reqwest::Method::POST,
            "/ssf/streams",
            Some(&manage),
            Some(body.clone()),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(creates)
        .await
        .into_iter()
        .map(|(status, _, _)| status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        8,
        "{statuses:?}"
    );

    let (status, streams, _) = call(
        &server,
        reqwest::Method::GET,
        "/ssf/streams",
        Some(&manage),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let first = if streams.is_array() {
        streams[0].clone()
    } else {
        streams
    };
    let sid = first["stream_id"].as_str().unwrap().to_string();
    let (_, sub) = consenting_person(&server, &id, &secret, "cy@example.com").await;
    let add = json!({ "stream_id": sid, "subject": { "format": "iss_sub", "iss": server.base, "sub": sub } });
    let adds = (0..10).map(|_| {
        call(
            &server,
            reqwest::Method::POST,
            "/ssf/subjects/add",
            Some(&manage),
            Some(add.clone()),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(adds)
        .await
        .into_iter()
        .map(|(status, _, _)| status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

//! Helpers for the management-API tests: admin and other tokens, JSON calls, and the
//! authorization checks every area must pass.

use reqwest::Method;
use serde_json::{json, Value};
use verity::oauth::clients::NewClient;

use crate::harness::*;

/// An admin client (client_credentials), allowed `scopes`.
pub async fn admin_client(server: &TestServer, scopes: &[&str]) -> (String, String) {
    let created = server
        .register(NewClient {
            name: "Support desk".into(),
            admin: true,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    (created.client_id, created.client_secret.expect("a secret"))
}

/// A token from the client_credentials grant, as any agent would get it.
pub async fn client_token(
    server: &TestServer,
    id: &str,
    secret: &str,
    scope: Option<&str>,
) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .expect("token request");
    let status = res.status();
    let body: Value = res.json().await.expect("token JSON");
    assert_eq!(status, 200, "token issued: {body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// A `verity:admin` token (its client id is returned too: audit events name it).
pub async fn admin_token(server: &TestServer) -> (String, String) {
    let (id, secret) = admin_client(server, &["verity:admin"]).await;
    let token = client_token(server, &id, &secret, None).await;
    (id, token)
}

/// Every kind of token the API must tell apart.
pub struct Tokens {
    /// verity:admin.
    pub admin: String,
    pub admin_client_id: String,
    /// An admin client's token holding only `verity:admin:notices` (wrong for most areas).
    pub notices_only: String,
    /// An admin client's token holding only `verity:admin:keys`.
    pub keys_only: String,
    /// A client_credentials token of a client that isn't an admin client.
    pub non_admin: String,
    /// A person's access token (code flow), from an ordinary relying party.
    pub person: String,
    /// A verity:admin token past its expiry.
    pub expired: String,
}

impl Tokens {
    /// Mints the expired token first, then moves the server's clock past its lifetime, then
    /// mints the rest (so they are fresh).
    pub async fn new(server: &TestServer) -> Tokens {
        let (id, secret) = admin_client(server, &["verity:admin"]).await;
        let expired = client_token(server, &id, &secret, None).await;
        let ttl = server.ctx.settings.security.access_token_ttl_secs as i64;
        server.ctx.clock.advance(ttl + 1);
        let admin = client_token(server, &id, &secret, None).await;
        let notices_only = client_token(server, &id, &secret, Some("verity:admin:notices")).await;
        let keys_only = client_token(server, &id, &secret, Some("verity:admin:keys")).await;
        let other = server
            .register(NewClient {
                name: "Batch job".into(),
                scopes: vec!["reports".into()],
                grant_types: vec!["client_credentials".into()],
                ..Default::default()
            })
            .await;
        let non_admin = client_token(
            server,
            &other.client_id,
            other.client_secret.as_deref().expect("secret"),
            None,
        )
        .await;
        let person = person_token(server).await;
        Tokens {
            admin,
            admin_client_id: id,
            notices_only,
            keys_only,
            non_admin,
            person,
            expired,
        }
    }
}

/// A person's access token from the code flow (sign-in with password and backup code).
pub async fn person_token(server: &TestServer) -> String {
    use openidconnect::OAuth2TokenResponse;
    let (client_id, secret) = server.add_client(false).await;
    let browser = server.signed_in_browser("pat.person@example.com").await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let req = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("code exchange");
    tokens.access_token().secret().to_string()
}

/// An API response: status, headers, and the body as JSON (Null when empty).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    pub fn field(&self) -> &str {
        self.body["field"].as_str().unwrap_or("")
    }
}

/// Calls `/admin/api/v1{path}`.
pub async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    call_with(server, method, path, token, body, &[]).await
}

pub async fn call_with(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req =
        reqwest::Client::new().request(method, server.url(&format!("/admin/api/v1{path}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("admin API request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON answer, got {status}: {text}"))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// An endpoint refuses every caller but an admin client's fresh token with the right scope:
/// no token and an expired or garbage token get 401 (with a Bearer challenge); a non-admin
/// client, a person's token and `wrong_scope` get 403. Nothing is done for any of them.
pub async fn assert_refusals(
    server: &TestServer,
    tokens: &Tokens,
    method: Method,
    path: &str,
    body: Option<Value>,
    wrong_scope: &str,
) {
    let cases: [(&str, Option<&str>, u16, &str); 6] = [
        ("no token", None, 401, "unauthorized"),
        ("garbage token", Some("not-a-jwt"), 401, "unauthorized"),
        ("expired token", Some(&tokens.expired), 401, "unauthorized"),
        (
            "non-admin client",
            Some(&tokens.non_admin),
            403,
            "forbidden",
        ),
        ("person's token", Some(&tokens.person), 403, "forbidden"),
        ("wrong scope", Some(wrong_scope), 403, "forbidden"),
    ];
    for (what, token, status, error) in cases {
        let before = audit_and_outbox_counts(server).await;
        let reply = call(server, method.clone(), path, token, body.clone()).await;
        assert_eq!(
            audit_and_outbox_counts(server).await,
            before,
            "{what} on {method} {path}: no audit event written, no message sent"
        );
        assert_eq!(
            reply.status, status,
            "{what} on {method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.error(), error, "{what} on {method} {path}");
        assert!(!reply.body["message"].as_str().unwrap_or("").is_empty());
        if status == 401 {
            let challenge = reply.headers["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
    }
}

/// (audit events, outbox messages) in the database: a refused call changes neither.
pub async fn audit_and_outbox_counts(server: &TestServer) -> (i64, i64) {
    server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::{audit_events, outbox};
            Ok((
                audit_events::table.count().get_result::<i64>(c)?,
                outbox::table.count().get_result::<i64>(c)?,
            ))
        })
        .await
        .unwrap()
}

/// `{}` for mutations with an all-optional body.
pub fn empty() -> Option<Value> {
    Some(json!({}))
}

/// Every audit event of one kind.
pub async fn audit_events_of_kind(
    server: &TestServer,
    of_kind: &str,
) -> Vec<verity::audit::AuditEvent> {
    let of_kind = of_kind.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events::dsl::*;
            Ok(audit_events
                .filter(kind.eq(of_kind))
                .select(verity::audit::AuditEvent::as_select())
                .load(c)?)
        })
        .await
        .unwrap()
}

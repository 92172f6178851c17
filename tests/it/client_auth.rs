//! private_key_jwt client authentication (RFC 7523).

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use verity::oauth::clients::NewClient;

use crate::harness::*;

struct ClientKey {
    pkcs8: Vec<u8>,
    jwk: serde_json::Value,
}

fn new_key(kid: &str) -> ClientKey {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": verity::crypto::b64url(&point[1..33]),
        "y": verity::crypto::b64url(&point[33..65]),
    });
    ClientKey {
        pkcs8: pair.to_pkcs8v1().unwrap().as_ref().to_vec(),
        jwk,
    }
}

fn assertion(
    key: &ClientKey,
    kid: &str,
    client_id: &str,
    aud: &str,
    jti: &str,
    exp: i64,
) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.into());
    let claims = serde_json::json!({ "iss": client_id, "sub": client_id, "aud": aud, "jti": jti, "exp": exp, "iat": exp - 60 });
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
    )
    .unwrap()
}

#[actix_web::test]
async fn private_key_jwt_checks_signature_audience_and_replay() {
    let server = TestServer::start().await;
    let key = new_key("k1");
    let created = server
        .register(NewClient {
            name: "Signed batch job".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["reports:read".into()],
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            jwks: Some(serde_json::json!({ "keys": [key.jwk] }).to_string()),
            ..Default::default()
        })
        .await;
    assert!(
        created.client_secret.is_none(),
        "no secret for a private_key_jwt client"
    );
    let id = created.client_id.clone();
    let token_url = server.url("/token");
    let exp = server.ctx.clock.unix_now() + 120;
    let post = |assertion: String| {
        let url = token_url.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };

    let (status, body) = post(assertion(&key, "k1", &id, &token_url, "jti-1", exp)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());

    let (status, body) = post(assertion(&key, "k1", &id, &token_url, "jti-1", exp)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "replayed jti"
    );

    let (status, _) = post(assertion(
        &key,
        "k1",
        &id,
        "https://someone-else.example/token",
        "jti-2",
        exp,
    ))
    .await;
    assert_eq!(status, 401, "wrong aud");

    let impostor = new_key("k1");
    let (status, _) = post(assertion(&impostor, "k1", &id, &token_url, "jti-3", exp)).await;
    assert_eq!(status, 401, "bad signature (another key with the same kid)");

    let (status, _) = post(assertion(
        &key,
        "k1",
        &id,
        &token_url,
        "jti-4",
        server.ctx.clock.unix_now() - 10,
    ))
    .await;
    assert_eq!(status, 401, "expired assertion");

    // The issuer URL is an accepted audience too; and a secret never works for this client.
    let (status, _) = post(assertion(&key, "k1", &id, &server.base, "jti-5", exp)).await;
    assert_eq!(status, 200);
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(&id, Some("guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// Serves `small` at /small and `big` at /big, once per connection.
async fn jwks_server(small: String, big: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    actix_web::rt::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = if request.starts_with("GET /big") {
                &big
            } else {
                &small
            };
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    base
}

#[actix_web::test]
async fn a_jwks_uri_is_read_through_the_shared_client_with_a_size_cap() {
    let server = TestServer::start_with(|s| s.security.jwks_max_bytes = 2048).await;
    let key = new_key("k1");
    let set = serde_json::json!({ "keys": [key.jwk] }).to_string();
    // The same set, padded past the cap with whitespace (still valid JSON).
    let padded = format!("{set}{}", " ".repeat(4096));
    let base = jwks_server(set, padded).await;
    let token_url = server.url("/token");
    let mut outcomes = Vec::new();
    for path in ["/small", "/big"] {
        let created = server
            .register(NewClient {
                name: "Keys by URL".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: vec!["reports:read".into()],
                token_endpoint_auth_method: Some("private_key_jwt".into()),
                jwks_uri: Some(format!("{base}{path}")),
                ..Default::default()
            })
            .await;
        let exp = server.ctx.clock.unix_now() + 120;
        let signed = assertion(&key, "k1", &created.client_id, &token_url, path, exp);
        let res = reqwest::Client::new()
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", signed.as_str()),
            ])
            .send()
            .await
            .unwrap();
        outcomes.push(res.status().as_u16());
    }
    assert_eq!(
        outcomes,
        vec![200, 401],
        "the key set over the cap is not read"
    );
}

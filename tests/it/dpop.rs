//! DPoP (RFC 9449): sender-constrained access tokens.

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use crate::harness::*;

struct Holder {
    pkcs8: Vec<u8>,
    jwk: jsonwebtoken::jwk::Jwk,
}

fn holder() -> Holder {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = serde_json::from_value(serde_json::json!({
        "kty": "EC", "crv": "P-256",
        "x": verity::crypto::b64url(&point[1..33]),
        "y": verity::crypto::b64url(&point[33..65]),
    }))
    .unwrap();
    Holder {
        pkcs8: pair.to_pkcs8v1().unwrap().as_ref().to_vec(),
        jwk,
    }
}

fn proof(
    h: &Holder,
    htm: &str,
    htu: &str,
    jti: &str,
    iat: i64,
    access_token: Option<&str>,
) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(h.jwk.clone());
    let mut claims = serde_json::json!({ "jti": jti, "htm": htm, "htu": htu, "iat": iat });
    if let Some(t) = access_token {
        claims["ath"] = verity::crypto::b64url(&verity::crypto::sha256(t.as_bytes())).into();
    }
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&h.pkcs8),
    )
    .unwrap()
}

#[actix_web::test]
async fn dpop_binds_tokens_and_refuses_missing_wrong_and_replayed_proofs() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    let browser = server.signed_in_browser("jon@example.com").await;
    let key = holder();
    let now = server.ctx.clock.unix_now();
    let token_url = server.url("/token");
    let http = reqwest::Client::new();

    let code_for = || async {
        let req = rp.auth_request(&[]);
        let callback = authorize_to_callback(&browser, &req.url).await;
        (
            query_of(&callback)["code"].clone(),
            req.verifier.secret().clone(),
        )
    };
    let exchange = |code: String, verifier: String, dpop: Option<String>| {
        let (http, url, id, secret) = (
            http.clone(),
            token_url.clone(),
            client_id.clone(),
            secret.clone(),
        );
        async move {
            let mut req = http.post(url).basic_auth(id, Some(secret)).form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", RP_REDIRECT),
                ("code_verifier", verifier.as_str()),
            ]);
            if let Some(p) = dpop {
                req = req.header("DPoP", p);
            }
            let res = req.send().await.unwrap();
            (
                res.status().as_u16(),
                res.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };

    // A proof for the wrong URL is refused at the token endpoint.
    let (code, verifier) = code_for().await;
    let (status, body) = exchange(
        code,
        verifier,
        Some(proof(
            &key,
            "POST",
            "https://elsewhere.example/token",
            "p1",
            now,
            None,
        )),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );

    // A good proof: the token is DPoP-bound to the key's thumbprint.
    let (code, verifier) = code_for().await;
    let (status, body) = exchange(
        code,
        verifier,
        Some(proof(&key, "POST", &token_url, "p2", now, None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap().to_string();
    let payload: serde_json::Value = serde_json::from_slice(
        &verity::crypto::b64url_decode(access.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    let jwk_json = serde_json::to_value(&key.jwk).unwrap();
    assert_eq!(
        payload["cnf"]["jkt"],
        verity::oauth::dpop::thumbprint(&jwk_json).unwrap()
    );

    // Replaying the same proof (same jti) is refused.
    let (code, verifier) = code_for().await;
    let (status, body) = exchange(
        code,
        verifier,
        Some(proof(&key, "POST", &token_url, "p2", now, None)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof"))
    );

    let userinfo_url = server.url("/userinfo");
    let call = |scheme: &'static str, dpop: Option<String>| {
        let (http, url, access) = (http.clone(), userinfo_url.clone(), access.clone());
        async move {
            let mut req = http
                .get(url)
                .header("Authorization", format!("{scheme} {access}"));
            if let Some(p) = dpop {
                req = req.header("DPoP", p);
            }
            let res = req.send().await.unwrap();
            let challenge = res
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            (res.status().as_u16(), challenge)
        }
    };
    // A bound token used as a plain Bearer token, or without a proof: refused.
    assert_eq!(call("Bearer", None).await.0, 401);
    let (status, challenge) = call("DPoP", None).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");
    // A proof by another key: refused. The right key with ath: accepted, once.
    let other = holder();
    assert_eq!(
        call(
            "DPoP",
            Some(proof(
                &other,
                "GET",
                &userinfo_url,
                "u1",
                now,
                Some(&access)
            ))
        )
        .await
        .0,
        401
    );
    let good = proof(&key, "GET", &userinfo_url, "u2", now, Some(&access));
    assert_eq!(call("DPoP", Some(good.clone())).await.0, 200);
    assert_eq!(
        call("DPoP", Some(good)).await.0,
        401,
        "a proof is single use"
    );
    // A stale proof: refused.
    assert_eq!(
        call(
            "DPoP",
            Some(proof(
                &key,
                "GET",
                &userinfo_url,
                "u3",
                now - 600,
                Some(&access)
            ))
        )
        .await
        .0,
        401
    );
}

//! Signing keys: algorithms, rotation, encryption at rest.

use std::time::Duration;

use crate::harness::*;
use openidconnect::TokenResponse;

pub(crate) fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&verity::crypto::b64url_decode(header).unwrap()).unwrap();
    v["kid"].as_str().unwrap().to_string()
}

async fn jwks_kids(server: &TestServer) -> Vec<String> {
    jwks_kids_at(&server.base).await
}

/// The key ids a node at `base` publishes.
pub(crate) async fn jwks_kids_at(base: &str) -> Vec<String> {
    let jwks: serde_json::Value = reqwest::get(format!("{base}/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn rotation_publishes_before_use_and_old_tokens_still_verify() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let browser = server.signed_in_browser("una@example.com").await;

    let rp = server.rp(&client_id, secret.as_deref()).await;
    let before = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &before.url).await;
    let old_tokens = rp
        .exchange(&query_of(&callback)["code"], before.verifier)
        .await
        .unwrap();
    let old_kid = kid_of(&old_tokens.id_token().unwrap().to_string());
    assert_eq!(jwks_kids(&server).await, vec![old_kid.clone()]);

    // Rotation with a lead time: the new key is published at once but doesn't sign yet.
    let pending = server
        .ctx
        .rotate_keys(Duration::from_secs(3600))
        .await
        .unwrap();
    let kids = jwks_kids(&server).await;
    assert!(
        kids.contains(&pending.id) && kids.contains(&old_kid),
        "{kids:?}"
    );
    let req = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    assert_eq!(
        kid_of(&tokens.id_token().unwrap().to_string()),
        old_kid,
        "old key still signs during the lead"
    );

    // Rotation that takes effect now: new tokens use the new key...
    let current = server.ctx.rotate_keys(Duration::ZERO).await.unwrap();
    let rp = server.rp(&client_id, secret.as_deref()).await; // fetches the JWKS again
    let after = rp.auth_request(&[]);
    let callback = authorize_to_callback(&browser, &after.url).await;
    let new_tokens = rp
        .exchange(&query_of(&callback)["code"], after.verifier)
        .await
        .unwrap();
    assert_eq!(
        kid_of(&new_tokens.id_token().unwrap().to_string()),
        current.id
    );
    rp.verify(&new_tokens, &after.nonce);
    // ...and the token signed before the rotation still verifies against the published set.
    rp.verify(&old_tokens, &before.nonce);
    assert!(jwks_kids(&server).await.contains(&old_kid));

    // Access tokens signed by the old key keep working at userinfo until they expire.
    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(openidconnect::OAuth2TokenResponse::access_token(&old_tokens).secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Once every token it signed has expired, the old key leaves the JWKS.
    server
        .ctx
        .clock
        .advance(verity::token_lifetime(&server.ctx.settings).as_secs() as i64 + 60);
    server.ctx.reload_keys().await.unwrap();
    let kids = jwks_kids(&server).await;
    assert!(!kids.contains(&old_kid), "{kids:?}");
    assert!(kids.contains(&current.id));
}

#[actix_web::test]
async fn es256_and_eddsa_tokens_verify_with_a_standard_rp() {
    for (alg, jws) in [
        (verity::config::SigningAlg::ES256, "ES256"),
        (verity::config::SigningAlg::EdDSA, "EdDSA"),
    ] {
        let server = TestServer::start_with(move |s| s.signing_alg = alg).await;
        let discovery: serde_json::Value =
            reqwest::get(server.url("/.well-known/openid-configuration"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"],
            serde_json::json!([jws])
        );
        let (client_id, secret) = server.add_client(false).await;
        let rp = server.rp(&client_id, secret.as_deref()).await;
        let browser = server.signed_in_browser("vic@example.com").await;
        let req = rp.auth_request(&["email"]);
        let callback = authorize_to_callback(&browser, &req.url).await;
        let tokens = rp
            .exchange(&query_of(&callback)["code"], req.verifier)
            .await
            .unwrap();
        rp.verify(&tokens, &req.nonce);
        let header = tokens.id_token().unwrap().to_string();
        let header: serde_json::Value = serde_json::from_slice(
            &verity::crypto::b64url_decode(header.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], jws);
        let res = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(openidconnect::OAuth2TokenResponse::access_token(&tokens).secret())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{jws} access token accepted at userinfo");
    }
}

#[actix_web::test]
async fn private_keys_are_encrypted_at_rest() {
    let server = TestServer::start().await;
    let rows = server.ctx.db.run(verity::keys::load_rows).await.unwrap();
    assert_eq!(rows.len(), 1);
    let sealed = &rows[0].private_key;
    assert!(sealed.starts_with("v1."));
    let context = format!("signing_keys:{}", rows[0].id);
    // A different master key can't open it, nor can the right key under another row's name.
    let other = verity::crypto::MasterKey::generate();
    let err = other
        .decrypt(sealed, &context)
        .expect_err("wrong master key");
    assert_eq!(
        err.to_string(),
        "decryption failed: wrong master key or tampered data"
    );
    let err = server
        .ctx
        .master
        .decrypt(sealed, "signing_keys:another-key")
        .expect_err("bound to its row");
    assert_eq!(
        err.to_string(),
        "decryption failed: wrong master key or tampered data"
    );
    // The server's master key opens it: a PKCS#8 private key whose public half is the one
    // stored beside it and published in the JWKS.
    let der = server
        .ctx
        .master
        .decrypt(sealed, &context)
        .expect("the server's master key opens it");
    let alg = verity::config::SigningAlg::parse(&rows[0].alg).expect("a known alg");
    let key = verity::keys::SigningKey::from_pkcs8(&rows[0].id, alg, &der)
        .expect("the plaintext is the PKCS#8 key");
    let public = key.public_jwk_json().unwrap();
    assert_eq!(
        public,
        serde_json::from_str::<serde_json::Value>(&rows[0].public_jwk).unwrap()
    );
    let jwks: serde_json::Value = reqwest::get(server.url("/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"], serde_json::json!([public]));
}

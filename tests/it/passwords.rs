//! Password storage: hashes made under older Argon2 parameters are replaced at the next
//! successful sign-in.

use argon2::password_hash::{PasswordHasher, SaltString};

use crate::harness::*;

async fn stored_hash(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::accounts::users::by_email(c, &email)?
                .unwrap()
                .password_hash)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_hash_under_old_parameters_is_upgraded_at_sign_in() {
    let server = TestServer::start().await;
    let email = "legacy@example.com";
    let browser = server.browser();
    server.create_account(&browser, email).await;

    // As if the account was created when Verity used m=47104, t=1.
    let old_params = argon2::Params::new(47104, 1, 1, None).unwrap();
    let old = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        old_params,
    )
    .hash_password(
        PASSWORD.as_bytes(),
        &SaltString::encode_b64(b"legacy-salt-1234").unwrap(),
    )
    .unwrap()
    .to_string();
    let (e, h) = (email.to_string(), old.clone());
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::users;
            diesel::update(users::table.filter(users::email.eq(&e)))
                .set(users::password_hash.eq(&h))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();

    // A wrong password changes nothing.
    let res = server
        .sign_in(&browser, email, "not the password at all")
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(stored_hash(&server, email).await, old);

    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(res.status(), 303, "the old hash still verifies");
    let upgraded = stored_hash(&server, email).await;
    assert_ne!(upgraded, old);
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "stored under today's parameters: {upgraded}"
    );
    // And the new hash is the same password.
    let res = server.sign_in(&server.browser(), email, PASSWORD).await;
    assert_eq!(res.status(), 303);
}

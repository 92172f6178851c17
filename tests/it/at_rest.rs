//! What is stored, checked in the database itself: SQLite, or PostgreSQL when
//! VERITY_TEST_DATABASE_URL is set (the harness picks it, as for every test).

use diesel::prelude::*;
use verity::accounts::users::User;
use verity::crypto::MasterKey;
use verity::mfa::methods::{add_phone, decrypt_phone, phone_fingerprint, PhoneChannel};
use verity::storage::schema::{phones, users};

use crate::harness::TestDb;

#[actix_web::test]
async fn phone_numbers_are_ciphertext_in_the_database() {
    let test_db = TestDb::fresh().await;
    let master = std::sync::Arc::new(MasterKey::generate());
    let key = master.clone();
    let (row, stored) = test_db
        .db
        .run(move |c| {
            let now = chrono::Utc::now().naive_utc();
            let user = User {
                id: "u1".into(),
                email: "a@example.com".into(),
                email_verified: true,
                password_hash: "x".into(),
                given_name: None,
                family_name: None,
                disabled: false,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                identity_reverify_at: None,
                locale: None,
                time_zone: None,
            };
            diesel::insert_into(users::table).values(&user).execute(c)?;
            let row = add_phone(c, &key, now, "u1", "+12015550123", PhoneChannel::Sms)?;
            let stored: String = phones::table.select(phones::number_enc).first(c)?;
            Ok((row, stored))
        })
        .await
        .unwrap();

    assert!(stored.starts_with("v1."), "{stored}");
    assert!(!stored.contains("2015550123") && !stored.contains("0123"));
    assert_eq!(decrypt_phone(&master, &row).unwrap(), "+12015550123");
    // Lookups go through a keyed fingerprint: stable under one key, useless under another.
    assert_eq!(phone_fingerprint(&master, "+12015550123"), row.fingerprint);
    assert_ne!(
        phone_fingerprint(&MasterKey::generate(), "+12015550123"),
        row.fingerprint
    );
    assert_eq!(
        format!(
            "{:#}",
            decrypt_phone(&MasterKey::generate(), &row).unwrap_err()
        ),
        "decryption failed: wrong master key or tampered data"
    );
}

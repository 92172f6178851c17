//! `verity dev seed`: the seeded accounts are real, confirmed accounts that sign in with the
//! known password and an authenticator-app code from the known secret, and seeding again adds
//! after the last one.

use verity::accounts::seed::{self, SEED_PASSWORD, SEED_TOTP_SECRET};

use crate::harness::*;

async fn seed_people(server: &TestServer, count: u64) -> u64 {
    let hash = server
        .ctx
        .passwords
        .hash(SEED_PASSWORD.to_string())
        .await
        .unwrap();
    let (master, now) = (server.ctx.master.clone(), server.ctx.clock.now());
    server
        .ctx
        .db
        .run(move |c| seed::seed(c, &master, &hash, count, now))
        .await
        .expect("seeded")
}

#[actix_web::test]
async fn seeded_accounts_sign_in_with_the_known_password_and_app_code() {
    let server = TestServer::start().await;
    // More than one insert chunk on SQLite (500) and across a second call.
    assert_eq!(seed_people(&server, 1200).await, 0);
    assert_eq!(seed_people(&server, 30).await, 1200);
    let count = server.ctx.db.run(seed::seeded).await.unwrap();
    assert_eq!(count, 1230);

    for n in [0, 777, 1229] {
        let b = server.browser();
        let res = server
            .sign_in(&b, &seed::seed_email(n), SEED_PASSWORD)
            .await;
        assert_eq!(
            res.headers()["location"],
            "/mfa",
            "seed{n}: a second factor is asked"
        );
        let csrf = csrf_of(&b.get_ok("/mfa").await);
        let res = b
            .post(
                "/mfa/verify",
                &[
                    ("csrf", &csrf),
                    ("method", "totp"),
                    ("code", &totp_code(&server, SEED_TOTP_SECRET)),
                ],
            )
            .await;
        assert!(is_signed_in(&res), "seed{n} signed in");
    }
    // A wrong password is still wrong.
    let res = server
        .sign_in(
            &server.browser(),
            &seed::seed_email(5),
            "not the seed password",
        )
        .await;
    assert_eq!(res.status(), 401);
}

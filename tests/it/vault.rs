//! Verified data only the person can unlock: the vault wrapped by the password and the personal
//! key, on both backends. Relying parties get verified claims after each way in (the password
//! at sign-in, the password on the unlock page, the personal key after a reset, verifying
//! again), and the database with the master key alone reveals no SSN.

use diesel::prelude::*;
use serde_json::Value;

use crate::harness::*;
use crate::verify_flow::{
    finish_with_phone, good_document, good_selfie, good_ssn, press_verify, start, unlocked_with,
    user_id,
};
use verity::proofing::{records, vault};

const NEW_PASSWORD: &str = "velvet harbour quinoa mosaic";
const SSN: &str = "900-81-4567";
const SSN_DIGITS: &str = "900814567";

/// Every person here has the same test phone: its send limits would stop the walk, not what
/// is tested.
async fn server() -> TestServer {
    TestServer::start_with(|s| {
        s.security.otp_sends_per_short_window = 100;
        s.security.otp_sends_per_long_window = 1000;
    })
    .await
}

async fn ial2_rp(server: &TestServer) -> Rp {
    let created = server
        .register(verity::oauth::clients::NewClient {
            name: "Benefits Portal".into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into()],
            ial2_allowed: true,
            verified_claims: ["given_name", "family_name", "birthdate"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        })
        .await;
    server
        .rp(&created.client_id, created.client_secret.as_deref())
        .await
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An IAL2 sign-in at the relying party asking for verified claims in the ID token and from
/// `/userinfo`, with `prompt` if given.
fn ial2_url(rp: &Rp, prompt: Option<&str>) -> AuthRequest {
    let claims = r#"{"id_token":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"given_name":null,"family_name":null}}},"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"given_name":null,"birthdate":null}}}}"#;
    let mut req = rp.auth_request(&["profile"]);
    req.url = format!(
        "{}&acr_values={}&claims={}{}",
        req.url,
        enc("urn:verity:ial2"),
        enc(claims),
        prompt.map(|p| format!("&prompt={p}")).unwrap_or_default()
    );
    req
}

/// What the relying party got: the ID token's and userinfo's `verified_claims`.
struct Released {
    id_token: Value,
    userinfo: Value,
}

/// Runs the sign-in at the relying party in `browser` (already signed in), allowing at the
/// consent page. Err: where it stopped instead (a Verity page's path, or the RP's callback
/// URL with an error).
async fn rp_sign_in(rp: &Rp, server: &TestServer, browser: &Browser) -> Result<Released, String> {
    let req = ial2_url(rp, None);
    let res = browser.get_abs(&req.url).await;
    let (at, res) = browser.follow(res).await;
    let at = at
        .strip_prefix(browser.base())
        .map(str::to_string)
        .unwrap_or(at);
    let callback = if at.starts_with(RP_REDIRECT) {
        at
    } else if at.contains("/consent") {
        let html = res.text().await.unwrap();
        let res = browser
            .post(
                "/consent",
                &[
                    ("csrf", &csrf_of(&html)),
                    ("authz", &hidden(&html, "authz")),
                    ("decision", "allow"),
                ],
            )
            .await;
        browser.follow(res).await.0
    } else {
        return Err(at);
    };
    let q = query_of(&callback);
    let Some(code) = q.get("code") else {
        return Err(callback);
    };
    let tokens = rp.exchange(code, req.verifier).await?;
    let payload = openidconnect::TokenResponse::id_token(&tokens)
        .unwrap()
        .to_string();
    let body = payload.split('.').nth(1).unwrap();
    let id: Value = serde_json::from_slice(&verity::crypto::b64url_decode(body).unwrap()).unwrap();
    let access = openidconnect::OAuth2TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    let userinfo: Value = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Ok(Released {
        id_token: id["verified_claims"].clone(),
        userinfo: userinfo["verified_claims"].clone(),
    })
}

fn assert_released(r: &Released) {
    assert_eq!(
        r.id_token["claims"]["given_name"], "FAKEY",
        "{}",
        r.id_token
    );
    assert_eq!(r.id_token["claims"]["family_name"], "MCFAKERSON");
    assert_eq!(
        r.userinfo["claims"]["given_name"], "FAKEY",
        "{}",
        r.userinfo
    );
    assert!(r.userinfo["claims"]["birthdate"].is_string());
}

/// From the start page to the phone step, with `SSN`.
async fn to_phone_step(browser: &Browser) {
    start(browser).await;
    good_document(browser).await;
    good_selfie(browser).await;
    good_ssn(browser, SSN).await;
    assert_eq!(
        press_verify(browser).await.headers()["location"],
        "/verify/phone"
    );
}

/// A person who walked every step with `SSN`; returns their browser and personal key.
async fn verified(server: &TestServer, email: &str) -> (Browser, String) {
    let browser = person_with_phone(server, email).await;
    to_phone_step(&browser).await;
    let done = finish_with_phone(server, &browser).await;
    assert_eq!(done.location, "/verify/done");
    assert_eq!(done.personal_key.len(), 19, "{}", done.personal_key);
    (browser, done.personal_key)
}

/// A password reset through the emailed link and the phone factor.
async fn reset_password(server: &TestServer, email: &str) {
    // A phone added within the SIM-swap cooldown can't vouch for a reset: past it.
    let cooldown = server.ctx.settings.security.sim_swap_cooldown_hours;
    server.ctx.clock.advance((cooldown * 3600 + 60) as i64);
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
    let page = browser.get_ok("/mfa").await;
    let id = hidden(&page, "phone");
    let res = browser
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", &id),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let code = newest_code(server, TEST_PHONE).await;
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "phone"),
                ("phone", &id),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/reset-password/new");
    let form = browser.get_ok("/reset-password/new").await;
    let res = browser
        .post(
            "/reset-password/new",
            &[
                ("csrf", &csrf_of(&form)),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// Signed in with `password` and the phone factor, in a new browser.
async fn signed_in_with(server: &TestServer, email: &str, password: &str) -> Browser {
    let b = server.browser();
    let res = server.sign_in(&b, email, password).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = b.get_ok("/mfa").await;
    let id = hidden(&page, "phone");
    let res = pass_phone_factor(server, &b, &id).await;
    assert!(is_signed_in(&res), "{:?}", res.headers());
    b
}

async fn restore(browser: &Browser, key: &str, password: &str) -> reqwest::Response {
    let page = browser.get_ok("/verify/restore").await;
    browser
        .post(
            "/verify/restore",
            &[
                ("csrf", &csrf_of(&page)),
                ("personal_key", key),
                ("password", password),
            ],
        )
        .await
}

async fn counts(server: &TestServer, email: &str) -> bool {
    let uid = user_id(server, email).await;
    server
        .ctx
        .db
        .run(move |c| records::counting_verification(c, &uid))
        .await
        .unwrap()
        .is_some()
}

async fn audit_count(server: &TestServer, kind: &str) -> i64 {
    let kind = kind.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use verity::storage::schema::audit_events as ae;
            Ok(ae::table.filter(ae::kind.eq(&kind)).count().get_result(c)?)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_relying_party_gets_verified_claims_only_from_a_session_that_gave_the_password() {
    let server = server().await;
    let rp = ial2_rp(&server).await;
    let email = "vault-walk@example.com";
    let stranger = person_with_phone(&server, "early-bird@example.com").await;
    let (browser, _) = verified(&server, email).await;
    let before = signed_in_with(&server, email, PASSWORD).await;

    // The browser that verified: the password step unlocked it.
    assert_released(&rp_sign_in(&rp, &server, &browser).await.unwrap());
    // A fresh password sign-in unlocks it too.
    assert_released(&rp_sign_in(&rp, &server, &before).await.unwrap());

    // A session that holds nothing unlocked (as after a passkey sign-in, which has no
    // password): asked for the password, once, then the sign-in goes on.
    let other = signed_in_with(&server, email, PASSWORD).await;
    forget_unlocked(&server, email).await;
    let stopped = rp_sign_in(&rp, &server, &other).await.err().unwrap();
    assert!(stopped.contains("/verify/unlock?authz="), "{stopped}");
    let page = other.get_ok(&stopped).await;
    assert!(page.contains("Enter your password to share"), "{page}");
    // prompt=none can't ask: the RP hears interaction_required.
    let req = ial2_url(&rp, Some("none"));
    let (at, _) = other.follow(other.get_abs(&req.url).await).await;
    assert!(at.starts_with(RP_REDIRECT), "{at}");
    assert_eq!(query_of(&at)["error"], "interaction_required");
    // A wrong password says so (and counts like a sign-in failure); the right one goes on.
    let authz = query_of(&format!("http://x{stopped}"))["authz"].clone();
    let res = other
        .post(
            "/verify/unlock",
            &[
                ("csrf", &csrf_of(&page)),
                ("authz", &authz),
                ("password", "not my password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("That password isn"));
    let res = other
        .post(
            "/verify/unlock",
            &[
                ("csrf", &csrf_of(&page)),
                ("authz", &authz),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("/authorize/continue?authz={}", enc(&authz)).as_str()
    );
    assert_released(&rp_sign_in(&rp, &server, &other).await.unwrap());

    // Someone else's session never opens this person's vault.
    let stopped = rp_sign_in(&rp, &server, &stranger).await.err().unwrap();
    assert!(stopped.starts_with("/verify?authz="), "{stopped}");
}

/// Forgets what every session of the person unlocked (as a passkey sign-in would have none).
async fn forget_unlocked(server: &TestServer, email: &str) {
    let uid = user_id(server, email).await;
    let ids: Vec<String> = server
        .ctx
        .db
        .run(move |c| {
            use verity::storage::schema::browser_sessions;
            Ok(browser_sessions::table
                .filter(browser_sessions::user_id.eq(&uid))
                .select(browser_sessions::id)
                .load(c)?)
        })
        .await
        .unwrap();
    for id in ids {
        vault::forget_session(&server.ctx, &id).await.unwrap();
    }
}

#[actix_web::test]
async fn the_database_and_the_master_key_alone_do_not_reveal_a_verified_ssn() {
    let server = server().await;
    let email = "stolen-db@example.com";
    // A first try that got as far as the records check (its transcript holds what was sent),
    // then "Start over"; then the whole walk.
    let browser = person_with_phone(&server, email).await;
    to_phone_step(&browser).await;
    let page = browser.get_ok("/verify/phone").await;
    let res = browser
        .post("/verify/cancel", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(res.status(), 303);
    to_phone_step(&browser).await;
    let personal_key = finish_with_phone(&server, &browser).await.personal_key;
    let uid = user_id(&server, email).await;
    let master = server.ctx.master.clone();
    let postgres = server.postgres_url().is_some();
    let (dump, opened, vault_row) = server
        .ctx
        .db
        .run(move |c| {
            let (v, _) = records::counting_verification(c, &uid)?.unwrap();
            // Everything the server's keys open: the person's data key, the sealed fields,
            // the vendor transcripts, the images, the letters.
            let mut opened = String::new();
            // Every verification the person ever started, and every attempt's transcript.
            let all: Vec<records::Verification> = {
                use verity::storage::schema::identity_verifications as iv;
                iv::table
                    .filter(iv::user_id.eq(&uid))
                    .select(records::Verification::as_select())
                    .load(c)?
            };
            assert_eq!(all.len(), 2, "the cancelled try and the verified one");
            let data_key = records::data_key(c, &master, &uid)?;
            assert!(
                data_key.is_none(),
                "the data key is shredded once it counts"
            );
            if let Some(key) = data_key {
                if let Ok(pii) = records::open_pii(&key, &v) {
                    opened.push_str(&format!("{pii:?}"));
                }
                for a in records::attempts_of(c, &v.id)? {
                    if let Some(t) = records::open_transcript(&key, &a) {
                        opened.push_str(&t.to_string());
                    }
                }
                for kind in [
                    records::ImageKind::Front,
                    records::ImageKind::Back,
                    records::ImageKind::Selfie,
                ] {
                    if let Some((_, bytes)) = records::load_image(c, &key, &v.id, kind)? {
                        opened.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
            }
            let row = vault::vault_of(c, &v.id)?.unwrap();
            for (wrapped, context) in [
                (&row.password_wrapped, "identity_vaults.password_wrapped:"),
                (&row.personal_wrapped, "identity_vaults.personal_wrapped:"),
            ] {
                let context = format!("{context}{}", v.id);
                if let Some(w) = wrapped {
                    if let Ok(plain) = master.decrypt(w, &context) {
                        opened.push_str(&String::from_utf8_lossy(&plain));
                    }
                }
            }
            Ok((dump_every_row(c, postgres)?, opened, row))
        })
        .await
        .unwrap();
    assert!(
        dump.len() > 1000,
        "the dump read the tables: {}",
        dump.len()
    );
    assert!(dump.contains(&vault_row.verification_id));
    for needle in [SSN_DIGITS, "900-81-4567", "MCFAKERSON"] {
        assert!(!dump.contains(needle), "{needle} in the database");
        assert!(
            !opened.contains(needle),
            "{needle} opened with the master key"
        );
    }
    assert!(
        opened.is_empty() || !opened.contains("ssn: Some"),
        "{opened}"
    );
    // The person's personal key does open it.
    let unlocked = unlocked_with(&server, email, &personal_key).await;
    let (uid, master) = (user_id(&server, email).await, server.ctx.master.clone());
    let identity = server
        .ctx
        .db
        .run(move |c| records::current_verified(c, &master, &uid, &unlocked))
        .await
        .unwrap()
        .identity()
        .unwrap();
    assert_eq!(identity.ssn, SSN_DIGITS);
}

#[derive(QueryableByName)]
struct Cell {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

/// Every row of every table as text.
fn dump_every_row(c: &mut verity::storage::db::DbConn, postgres: bool) -> anyhow::Result<String> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let tables: Vec<Name> = if postgres {
        diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .load(c)?
    } else {
        diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .load(c)?
    };
    let mut out = String::new();
    for t in tables {
        let sql = if postgres {
            format!("SELECT row_to_json(t)::text AS value FROM \"{}\" t", t.name)
        } else {
            let cols: Vec<Name> =
                diesel::sql_query(format!("SELECT name FROM pragma_table_info('{}')", t.name))
                    .load(c)?;
            let joined = cols
                .iter()
                .map(|col| format!("COALESCE(CAST(\"{}\" AS TEXT), '')", col.name))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            format!("SELECT {joined} AS value FROM \"{}\"", t.name)
        };
        let rows: Vec<Cell> = diesel::sql_query(sql).load(c)?;
        for r in rows {
            out.push_str(r.value.as_deref().unwrap_or(""));
            out.push('\n');
        }
    }
    Ok(out)
}

#[actix_web::test]
async fn after_a_reset_the_personal_key_restores_the_identity_and_is_replaced() {
    let server = server().await;
    let rp = ial2_rp(&server).await;
    let email = "reset-with-key@example.com";
    let (_, personal_key) = verified(&server, email).await;
    reset_password(&server, email).await;
    assert!(!counts(&server, email).await, "suspended by the reset");
    assert_eq!(audit_count(&server, "identity_suspended").await, 1);

    let browser = signed_in_with(&server, email, NEW_PASSWORD).await;
    let console = browser.get_ok("/account").await;
    assert!(
        console.contains("your verified identity is locked until you enter your personal key"),
        "{console}"
    );
    // The relying party's IAL2 sign-in leads to verifying, which offers the personal key.
    let stopped = rp_sign_in(&rp, &server, &browser).await.err().unwrap();
    assert!(stopped.starts_with("/verify?authz="), "{stopped}");
    let page = browser.get_ok(&stopped).await;
    assert!(page.contains("Your personal key can restore it"), "{page}");

    let res = restore(&browser, "not-a-key", NEW_PASSWORD).await;
    assert_eq!(res.status(), 422);
    let wrong = if personal_key.starts_with('0') {
        "1111-1111-1111-1111"
    } else {
        "0000-0000-0000-0000"
    };
    let res = restore(&browser, wrong, NEW_PASSWORD).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("personal key isn"));
    let res = restore(&browser, &personal_key, PASSWORD).await;
    assert_eq!(res.status(), 401, "the old password no longer counts");
    // Typed as a person would: lower case, spaces.
    let typed = personal_key.to_lowercase().replace('-', " ");
    let res = restore(&browser, &typed, NEW_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let shown = crate::verify_flow::personal_key_page(&res.text().await.unwrap());
    assert_ne!(shown.personal_key, personal_key, "a new personal key");
    assert_eq!(shown.location, "/account");
    assert!(counts(&server, email).await);
    assert_eq!(audit_count(&server, "identity_restored").await, 1);
    // The relying party gets the claims again, in this session and after a new sign-in.
    assert_released(&rp_sign_in(&rp, &server, &browser).await.unwrap());
    let fresh = signed_in_with(&server, email, NEW_PASSWORD).await;
    assert_released(&rp_sign_in(&rp, &server, &fresh).await.unwrap());
    // The old personal key opens nothing now; the new one does.
    unlocked_with(&server, email, &shown.personal_key).await;
    let uid = user_id(&server, email).await;
    let row = server
        .ctx
        .db
        .run(move |c| {
            let (v, _) = records::counting_verification(c, &uid)?.unwrap();
            Ok(vault::vault_of(c, &v.id)?.unwrap())
        })
        .await
        .unwrap();
    let old = vault::open_with_personal_key(
        &server.ctx,
        &row,
        vault::normalize_personal_key(&personal_key).unwrap(),
    )
    .await
    .unwrap();
    assert!(old.is_none());
    // Nothing left to restore.
    assert_eq!(
        browser.get("/verify/restore").await.headers()["location"],
        "/verify"
    );
}

#[actix_web::test]
async fn after_a_reset_without_the_personal_key_the_person_verifies_again() {
    let server = server().await;
    let rp = ial2_rp(&server).await;
    let email = "reset-no-key@example.com";
    verified(&server, email).await;
    reset_password(&server, email).await;
    let browser = signed_in_with(&server, email, NEW_PASSWORD).await;
    let page = browser.get_ok("/verify/restore").await;
    assert!(
        page.contains("Don&#39;t have your personal key?")
            || page.contains("Don't have your personal key?"),
        "{page}"
    );
    // Verifying again: the whole walk, and a new vault under the new password.
    to_phone_step(&browser).await;
    let done = crate::verify_flow::finish_with_phone_as(&server, &browser, NEW_PASSWORD).await;
    assert_eq!(done.location, "/verify/done");
    assert!(counts(&server, email).await);
    assert_released(&rp_sign_in(&rp, &server, &browser).await.unwrap());
}

#[actix_web::test]
async fn wrong_personal_keys_run_out() {
    let server = server().await;
    let email = "key-guesser@example.com";
    let (_, personal_key) = verified(&server, email).await;
    reset_password(&server, email).await;
    let browser = signed_in_with(&server, email, NEW_PASSWORD).await;
    let wrong = if personal_key.starts_with('0') {
        "1111-1111-1111-1111"
    } else {
        "0000-0000-0000-0000"
    };
    let tries = server.ctx.settings.proofing.personal_key_max_tries;
    for _ in 0..tries {
        let res = restore(&browser, wrong, NEW_PASSWORD).await;
        assert_eq!(res.status(), 422);
    }
    let res = restore(&browser, wrong, NEW_PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Too many wrong personal keys"));
    // Even the right key waits now (the tries are counted before a key is checked, so a
    // burst can't check more than the limit either).
    let res = restore(&browser, &personal_key, NEW_PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(!counts(&server, email).await);
}

#[actix_web::test]
async fn a_password_change_carries_the_vault_to_the_new_password() {
    let server = server().await;
    let rp = ial2_rp(&server).await;
    let email = "changes-password@example.com";
    let (browser, _) = verified(&server, email).await;
    let page = browser.get_ok("/account/password").await;
    let res = browser
        .post(
            "/account/password",
            &[
                ("csrf", &csrf_of(&page)),
                ("current_password", PASSWORD),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(
        res.status().is_redirection() || res.status() == 200,
        "{}",
        res.status()
    );
    assert!(counts(&server, email).await, "a change doesn't suspend");
    let fresh = signed_in_with(&server, email, NEW_PASSWORD).await;
    assert_released(&rp_sign_in(&rp, &server, &fresh).await.unwrap());
}

#[actix_web::test]
async fn a_verification_from_before_vaults_moves_into_one_at_the_next_password_sign_in() {
    let server = server().await;
    let rp = ial2_rp(&server).await;
    let email = "from-before@example.com";
    let (_, personal_key) = verified(&server, email).await;
    as_before_vaults(&server, email, &personal_key).await;
    // The next password sign-in moves it in; the relying party gets the claims.
    let browser = signed_in_with(&server, email, PASSWORD).await;
    after_move_in(&server, &rp, &browser, email).await;
}

/// Makes the person's verification as it was before vaults: sealed under the person's data
/// key, no vault row.
async fn as_before_vaults(server: &TestServer, email: &str, personal_key: &str) {
    let unlocked = unlocked_with(server, email, personal_key).await;
    let (uid, master) = (user_id(server, email).await, server.ctx.master.clone());
    server
        .ctx
        .db
        .run(move |c| {
            use verity::storage::schema::identity_verifications as iv;
            let (v, _) = records::counting_verification(c, &uid)?.unwrap();
            let key = unlocked.key_for(&v.id).unwrap();
            let pii = records::open_vault_pii(&key, &v)?;
            let data_key = records::data_key_or_create(c, &master, &uid, v.created_at)?;
            let sealed = records::seal_pii(&data_key, &v.id, &pii)?;
            diesel::update(iv::table.find(&v.id))
                .set(iv::pii.eq(sealed))
                .execute(c)?;
            diesel::delete(verity::storage::schema::identity_vaults::table.find(&v.id))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

async fn after_move_in(server: &TestServer, rp: &Rp, browser: &Browser, email: &str) {
    assert_released(&rp_sign_in(rp, server, browser).await.unwrap());
    let uid = user_id(server, email).await;
    let row = server
        .ctx
        .db
        .run(move |c| {
            let (v, _) = records::counting_verification(c, &uid)?.unwrap();
            vault::vault_of(c, &v.id)
        })
        .await
        .unwrap()
        .expect("moved into a vault");
    assert!(row.password_wrapped.is_some() && row.personal_wrapped.is_none());
    // The console asks for a personal key, and makes one from the unlocked session.
    let console = browser.get_ok("/account").await;
    assert!(
        console.contains("You don&#39;t have a personal key yet")
            || console.contains("You don't have a personal key yet"),
        "{console}"
    );
    let res = browser
        .post("/verify/personal-key", &[("csrf", &csrf_of(&console))])
        .await;
    assert_eq!(res.status(), 200);
    let shown = crate::verify_flow::personal_key_page(&res.text().await.unwrap());
    unlocked_with(server, email, &shown.personal_key).await;
    let console = browser.get_ok("/account").await;
    assert!(!console.contains("personal key yet"), "{console}");
}

#[actix_web::test]
async fn a_double_submitted_password_step_finishes_once_with_one_personal_key() {
    let server = server().await;
    let email = "double-protect@example.com";
    let browser = person_with_phone(&server, email).await;
    to_phone_step(&browser).await;
    crate::verify_flow::phone_code_accepted(&server, &browser).await;
    let page = browser.get_ok("/verify/protect").await;
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("password", PASSWORD)];
    let (a, b) = futures_util::join!(
        browser.post("/verify/protect", &form),
        browser.post("/verify/protect", &form)
    );
    // Each answer shows the one key made, or leads to the page that does: whichever answer
    // the browser keeps, the person sees it.
    let mut keys = Vec::new();
    for res in [a, b] {
        let page = match res.status().as_u16() {
            200 => res.text().await.unwrap(),
            303 => {
                let to = res.headers()["location"].to_str().unwrap().to_string();
                browser.get_ok(&to).await
            }
            other => panic!("HTTP {other}"),
        };
        keys.push(crate::verify_flow::personal_key_page(&page));
    }
    let (a, b) = (&keys[0], &keys[1]);
    assert_eq!(a.personal_key, b.personal_key);
    // Shown until the person says they saved it, then gone.
    let again = browser.get_ok("/verify/done").await;
    assert!(again.contains(&a.personal_key), "{again}");
    let res = browser
        .post("/verify/personal-key/saved", &[("csrf", &csrf_of(&again))])
        .await;
    assert_eq!(res.headers()["location"], "/verify/done");
    let done = browser.get_ok("/verify/done").await;
    assert!(!done.contains(&a.personal_key));
    unlocked_with(&server, email, &a.personal_key).await;
    assert_eq!(audit_count(&server, "identity_verified").await, 1);
    let uid = user_id(&server, email).await;
    let vaults: i64 = server
        .ctx
        .db
        .run(move |c| {
            use verity::storage::schema::identity_vaults as iv;
            Ok(iv::table
                .filter(iv::user_id.eq(&uid))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(vaults, 1);
    assert!(counts(&server, email).await);
}

#[actix_web::test]
async fn a_reset_before_the_move_in_asks_for_the_verification_again() {
    let server = server().await;
    let email = "reset-before-move@example.com";
    let (_, personal_key) = verified(&server, email).await;
    as_before_vaults(&server, email, &personal_key).await;
    assert!(counts(&server, email).await);
    reset_password(&server, email).await;
    assert!(!counts(&server, email).await, "a reset may be a takeover");
    let browser = signed_in_with(&server, email, NEW_PASSWORD).await;
    let page = browser.get_ok("/verify").await;
    assert!(
        page.contains("What you&#39;ll need"),
        "verify again: {page}"
    );
}

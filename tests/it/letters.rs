//! Verify by mail: a person whose phone isn't in their name asks for a letter at the phone
//! step, an operator exports the print list and marks letters sent, and the code from the
//! letter finishes the verification as the phone code would.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;
use verity::proofing::records;

use crate::admin_harness::{admin_client, call, client_token};
use crate::harness::*;
use crate::verify_flow::{good_document, good_selfie, good_ssn, press_verify, start, user_id};

const DAY: i64 = 24 * 3600;

async fn token_for(server: &TestServer, scope: &str) -> String {
    let (id, secret) = admin_client(server, &["verity:admin"]).await;
    client_token(server, &id, &secret, Some(scope)).await
}

/// A signed-in person whose verification is on the phone step.
async fn on_phone_step(server: &TestServer, email: &str, ssn: &str) -> Browser {
    let browser = person_with_phone(server, email).await;
    start(&browser).await;
    walk_to_phone(&browser, ssn).await;
    browser
}

async fn walk_to_phone(browser: &Browser, ssn: &str) {
    good_document(browser).await;
    good_selfie(browser).await;
    good_ssn(browser, ssn).await;
    let res = press_verify(browser).await;
    assert_eq!(res.headers()["location"], "/verify/phone");
}

/// "Send me a letter instead" (or "Send another letter") from the page at `from`.
async fn ask_for_letter(browser: &Browser, from: &str) -> reqwest::Response {
    let page = browser.get_ok(from).await;
    browser
        .post("/verify/letter", &[("csrf", &csrf_of(&page))])
        .await
}

async fn enter_code(browser: &Browser, code: &str) -> reqwest::Response {
    let page = browser.get_ok("/verify/letter").await;
    browser
        .post(
            "/verify/letter/code",
            &[("csrf", &csrf_of(&page)), ("code", code)],
        )
        .await
}

async fn csv(server: &TestServer, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.url("/admin/api/v1/proofing/letters.csv"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The print vendor's file: letter id → its row's cells.
async fn print_rows(server: &TestServer, token: &str) -> HashMap<String, Vec<String>> {
    let res = csv(server, token).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<String> = l.split(',').map(str::to_string).collect();
            (cells[0].clone(), cells)
        })
        .collect()
}

/// The person's letters (newest first), read as the database holds them.
async fn letters_of(server: &TestServer, email: &str) -> Vec<records::Letter> {
    let uid = user_id(server, email).await;
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::proofing_letters as pl;
            Ok(pl::table
                .filter(pl::user_id.eq(&uid))
                .order(pl::requested_at.desc())
                .select(records::Letter::as_select())
                .load(c)?)
        })
        .await
        .unwrap()
}

/// The code printed on the person's newest queued letter.
async fn newest_letter_code(server: &TestServer, email: &str) -> String {
    let letters = letters_of(server, email).await;
    let pii = token_for(server, "verity:admin:proofing:pii").await;
    let rows = print_rows(server, &pii).await;
    rows[&letters[0].id][8].clone()
}

async fn audit_count(server: &TestServer, kind: &str) -> i64 {
    let kind = kind.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events as ae;
            Ok(ae::table.filter(ae::kind.eq(&kind)).count().get_result(c)?)
        })
        .await
        .unwrap()
}

fn day_of(server: &TestServer, at: chrono::NaiveDateTime) -> String {
    verity::local_time::LocalTime::new(
        verity::local_time::site_default(&server.ctx.settings),
        verity::i18n::Lang::En,
    )
    .date(at)
}

#[actix_web::test]
async fn a_person_verified_by_mail_gives_the_relying_party_verified_claims() {
    use openidconnect::TokenResponse;
    let server = TestServer::start().await;
    let created = server
        .register(verity::oauth::clients::NewClient {
            name: "Benefits Portal".into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into()],
            ial2_allowed: true,
            verified_claims: ["given_name", "family_name", "birthdate", "address"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        })
        .await;
    let rp = server
        .rp(&created.client_id, created.client_secret.as_deref())
        .await;
    let email = "by-mail@example.com";
    let browser = person_with_phone(&server, email).await;
    let claims = r#"{"id_token":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"given_name":null,"family_name":null}}}}"#;
    let req = rp.auth_request(&["profile"]);
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let res = browser
        .get_abs(&format!(
            "{}&acr_values={}&claims={}",
            req.url,
            enc("urn:verity:ial2"),
            enc(claims)
        ))
        .await;
    let to_verify = res.headers()["location"].to_str().unwrap().to_string();
    let authz = query_of(&format!("http://x{to_verify}"))["authz"].clone();
    let page = browser.get_ok(&to_verify).await;
    let res = browser
        .post(
            "/verify/start",
            &[
                ("csrf", &csrf_of(&page)),
                ("consent", "yes"),
                ("authz", &authz),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify/document");
    walk_to_phone(&browser, "900-61-0001").await;

    // The phone page offers the letter; a number not in their name offers it first.
    let page = browser.get_ok("/verify/phone").await;
    assert!(page.contains("Send me a letter instead"), "{page}");
    let res = browser
        .post(
            "/verify/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("choice", "other"),
                ("phone", "(201) 555-5555"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let refused = res.text().await.unwrap();
    assert!(
        refused.find("Send me a letter instead").unwrap() < refused.find("Which number?").unwrap(),
        "the letter comes first: {refused}"
    );
    let res = ask_for_letter(&browser, "/verify/phone").await;
    assert_eq!(res.headers()["location"], "/verify/letter");
    let today = day_of(&server, server.ctx.clock.now());
    let page = browser.get_ok("/verify/letter").await;
    assert!(
        page.contains(&format!("Letter requested on {today}.")),
        "{page}"
    );
    assert!(page.contains("Send another letter"), "{page}");
    // The console's identity section says so too, and leads to the code page.
    let console = browser.get_ok("/account").await;
    assert!(console.contains("You asked for a letter"), "{console}");
    assert!(console.contains("href=\"/verify/letter\""), "{console}");
    // /verify itself leads to the letter page.
    assert_eq!(
        browser.get("/verify").await.headers()["location"],
        "/verify/letter"
    );
    assert_eq!(audit_count(&server, "identity_letter_requested").await, 1);

    // The operator: the print list needs the personal-data scope; plain admin is refused.
    let admin = token_for(&server, "verity:admin").await;
    let plain = token_for(&server, "verity:admin:proofing").await;
    let pii = token_for(&server, "verity:admin:proofing:pii").await;
    for t in [&admin, &plain] {
        let r = call(&server, Method::GET, "/proofing/letters", Some(t), None).await;
        assert_eq!(r.status, 403, "{:?}", r.body);
        assert_eq!(csv(&server, t).await.status(), 403);
    }
    let reads_before = audit_count(&server, "proofing_personal_data_read").await;
    let r = call(&server, Method::GET, "/proofing/letters", Some(&pii), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let letter_id = items[0]["id"].as_str().unwrap().to_string();
    assert_eq!(items[0]["name"], "FAKEY MCFAKERSON");
    assert_eq!(items[0]["address"]["street_address"], "1 FAKE RD");
    assert_eq!(items[0]["address"]["postal_code"], "59401");
    assert!(items[0].get("code").is_none(), "no code in the list");
    let res = csv(&server, &pii).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "letter_id,name,street_line_1,street_line_2,city,state,postal_code,country,code,\
         code_expires_on"
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &row[..8],
        [
            letter_id.as_str(),
            "FAKEY MCFAKERSON",
            "1 FAKE RD",
            "",
            "GREAT FALLS",
            "MT",
            "59401",
            "US"
        ]
    );
    let code = row[8].to_string();
    assert_eq!(code.len(), 10);
    let stored = &letters_of(&server, email).await[0];
    assert!(!text.contains(&stored.code_hash), "the hash never leaves");
    assert!(
        !stored
            .mailing
            .as_deref()
            .unwrap_or("")
            .contains("MCFAKERSON"),
        "sealed at rest"
    );
    assert_eq!(
        audit_count(&server, "proofing_personal_data_read").await,
        reads_before + 2
    );

    // Marked sent: the person sees it; the printer's copy is gone; twice is a conflict.
    let sent_path = format!("/proofing/letters/{letter_id}/sent");
    let r = call(&server, Method::POST, &sent_path, Some(&pii), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "sent");
    let r = call(&server, Method::POST, &sent_path, Some(&plain), None).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    let r = call(
        &server,
        Method::POST,
        "/proofing/letters/00000000-0000-0000-0000-000000000000/sent",
        Some(&plain),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(
        &server,
        Method::POST,
        "/proofing/letters/..%2F/sent",
        Some(&plain),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(audit_count(&server, "identity_letter_sent").await, 1);
    assert!(print_rows(&server, &pii).await.is_empty());
    assert!(letters_of(&server, email).await[0].mailing.is_none());
    let page = browser.get_ok("/verify/letter").await;
    assert!(page.contains(&format!("Letter sent on {today}.")), "{page}");

    // The code as a person types it: lower case, in groups.
    let typed = format!("{}-{}", &code[..5], &code[5..]).to_lowercase();
    let res = enter_code(&browser, &typed).await;
    assert_eq!(res.headers()["location"], "/verify/protect");
    assert_eq!(
        audit_count(&server, "identity_letter_code_accepted").await,
        1
    );
    // Not verified until the password has locked the data in the person's vault.
    assert_eq!(audit_count(&server, "identity_verified").await, 0);
    let finished = crate::verify_flow::protect_with_password(&browser).await;
    assert_eq!(finished.location, "/verify/done");
    assert_eq!(audit_count(&server, "identity_verified").await, 1);
    let uid = user_id(&server, email).await;
    let v = server
        .ctx
        .db
        .run(move |c| records::latest_for(c, &uid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.status, "verified");
    assert_eq!(v.passed_checks()["letter"], "mail");
    server
        .wait_for_messages(email, "Your identity was verified", 1)
        .await;

    // Back to the relying party: its next sign-in carries the verified claims.
    let done = browser.get_ok("/verify/done").await;
    let back = format!("/authorize/continue?authz={}", enc(&authz));
    assert!(done.contains(&back.replace('&', "&amp;")) || done.contains(&back));
    let (at, res) = browser.follow(browser.get(&back).await).await;
    assert!(at.contains("/consent"), "{at}");
    let consent = res.text().await.unwrap();
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    let (callback, _) = browser.follow(res).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let id = rp.verify(&tokens, &req.nonce);
    assert_eq!(id.auth_context_ref().unwrap().as_str(), "urn:verity:ial2");
    let payload = tokens.id_token().unwrap().to_string();
    let body = payload.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&verity::crypto::b64url_decode(body).unwrap()).unwrap();
    assert_eq!(claims["verified_claims"]["claims"]["given_name"], "FAKEY");
    assert_eq!(
        claims["verified_claims"]["claims"]["family_name"],
        "MCFAKERSON"
    );
}

#[actix_web::test]
async fn wrong_codes_run_out_and_then_only_a_new_letter_helps() {
    let server = TestServer::start().await;
    let email = "guesser@example.com";
    let browser = on_phone_step(&server, email, "900-61-0002").await;
    ask_for_letter(&browser, "/verify/phone").await;
    let code = newest_letter_code(&server, email).await;
    let wrong = if code.starts_with('0') {
        "1111111111"
    } else {
        "0000000000"
    };
    // Not a code's shape: said so, not counted.
    let res = enter_code(&browser, "12").await;
    assert_eq!(res.status(), 422);
    let max = server.ctx.settings.proofing.letter_code_max_tries;
    for left in (1..max).rev() {
        let res = enter_code(&browser, wrong).await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        let says = if left == 1 {
            "You have 1 more try.".to_string()
        } else {
            format!("You have {left} more tries.")
        };
        assert!(page.contains(&says), "{says}: {page}");
    }
    let res = enter_code(&browser, wrong).await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("Ask for a new letter"));
    // The letter's code is void now, even the right one; it won't be printed either.
    let res = enter_code(&browser, &code).await;
    assert_eq!(res.status(), 429);
    assert_eq!(letters_of(&server, email).await[0].status, "void");
    let pii = token_for(&server, "verity:admin:proofing:pii").await;
    assert!(print_rows(&server, &pii).await.is_empty());
    assert_eq!(audit_count(&server, "identity_verified").await, 0);
    // A new letter's code works.
    let res = ask_for_letter(&browser, "/verify/letter").await;
    assert_eq!(res.headers()["location"], "/verify/letter");
    let code = newest_letter_code(&server, email).await;
    let res = enter_code(&browser, &code).await;
    assert_eq!(res.headers()["location"], "/verify/protect");
}

#[actix_web::test]
async fn a_fourth_letter_within_the_window_is_refused_with_the_date() {
    let server = TestServer::start().await;
    let email = "many-letters@example.com";
    let browser = on_phone_step(&server, email, "900-61-0003").await;
    let first_at = server.ctx.clock.now();
    ask_for_letter(&browser, "/verify/phone").await;
    for _ in 0..2 {
        server.ctx.clock.advance(60);
        let res = ask_for_letter(&browser, "/verify/letter").await;
        assert_eq!(res.headers()["location"], "/verify/letter");
    }
    assert_eq!(letters_of(&server, email).await.len(), 3);
    let window = server.ctx.settings.proofing.letter_window_days as i64;
    let again = day_of(&server, first_at + chrono::Duration::days(window));
    // The page no longer offers another, and says when.
    let page = browser.get_ok("/verify/letter").await;
    assert!(!page.contains("Send another letter"), "{page}");
    assert!(
        page.contains(&format!("You can ask for another letter after {again}.")),
        "{page}"
    );
    assert_eq!(page.matches("Letter requested on").count(), 3);
    // Sent anyway (a stale page): refused, with the date.
    let res = browser
        .post("/verify/letter", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(res.status(), 429);
    let text = res.text().await.unwrap();
    assert!(text.contains(&format!("another after {again}.")), "{text}");
    assert_eq!(letters_of(&server, email).await.len(), 3);
    // Starting over doesn't reset the count.
    let page = browser.get_ok("/verify/letter").await;
    browser
        .post("/verify/cancel", &[("csrf", &csrf_of(&page))])
        .await;
    assert!(letters_of(&server, email)
        .await
        .iter()
        .all(|l| l.status == "cancelled" && l.mailing.is_none()));
    start(&browser).await;
    walk_to_phone(&browser, "900-61-0003").await;
    let page = browser.get_ok("/verify/phone").await;
    assert!(!page.contains("Send me a letter instead"), "{page}");
    let res = ask_for_letter(&browser, "/verify/phone").await;
    assert_eq!(res.status(), 429);
    // Once they are out of the window, letters may be sent again.
    server.ctx.clock.advance(window * DAY);
    let (browser, _) = sign_in_with_phone(&server, email).await;
    start(&browser).await;
    walk_to_phone(&browser, "900-61-0003").await;
    let res = ask_for_letter(&browser, "/verify/phone").await;
    assert_eq!(res.headers()["location"], "/verify/letter");
}

#[actix_web::test]
async fn an_expired_letters_code_is_refused_and_the_newer_one_works() {
    let server = TestServer::start().await;
    let email = "slow-mail@example.com";
    let browser = on_phone_step(&server, email, "900-61-0004").await;
    ask_for_letter(&browser, "/verify/phone").await;
    let old_code = newest_letter_code(&server, email).await;
    // The verification waits for the letter past the usual unfinished time.
    server.ctx.clock.advance(20 * DAY);
    let (browser, _) = sign_in_with_phone(&server, email).await;
    let res = ask_for_letter(&browser, "/verify/letter").await;
    assert_eq!(res.headers()["location"], "/verify/letter");
    let new_code = newest_letter_code(&server, email).await;
    let valid = server.ctx.settings.proofing.letter_valid_days as i64;
    server.ctx.clock.advance((valid - 20 + 1) * DAY);
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    let (browser, _) = sign_in_with_phone(&server, email).await;
    let res = enter_code(&browser, &old_code).await;
    assert_eq!(res.status(), 422);
    let res = enter_code(&browser, &new_code).await;
    assert_eq!(res.headers()["location"], "/verify/protect");
}

#[actix_web::test]
async fn a_verification_waiting_only_for_an_expired_letter_is_abandoned() {
    let server = TestServer::start().await;
    let email = "never-came@example.com";
    let browser = on_phone_step(&server, email, "900-61-0005").await;
    ask_for_letter(&browser, "/verify/phone").await;
    let code = newest_letter_code(&server, email).await;
    let valid = server.ctx.settings.proofing.letter_valid_days as i64;
    server.ctx.clock.advance((valid + 1) * DAY);
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    let letters = letters_of(&server, email).await;
    assert_eq!(letters[0].status, "cancelled");
    assert!(letters[0].mailing.is_none());
    let (browser2, _) = sign_in_with_phone(&server, email).await;
    drop(browser);
    let page = browser2.get_ok("/account").await;
    let res = browser2
        .post(
            "/verify/letter/code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify");
    assert_eq!(audit_count(&server, "identity_verified").await, 0);
}

#[actix_web::test]
async fn one_code_sent_twice_at_once_finishes_once() {
    let server = TestServer::start().await;
    let email = "double-click@example.com";
    let browser = on_phone_step(&server, email, "900-61-0006").await;
    ask_for_letter(&browser, "/verify/phone").await;
    let code = newest_letter_code(&server, email).await;
    let page = browser.get_ok("/verify/letter").await;
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("code", code.as_str())];
    let (a, b) = futures_util::join!(
        browser.post("/verify/letter/code", &form),
        browser.post("/verify/letter/code", &form)
    );
    let mut to: Vec<String> = [a, b]
        .iter()
        .map(|r| r.headers()["location"].to_str().unwrap().to_string())
        .collect();
    to.sort();
    assert!(to.contains(&"/verify/protect".to_string()), "{to:?}");
    assert_eq!(
        audit_count(&server, "identity_letter_code_accepted").await,
        1
    );
    let statuses: Vec<String> = letters_of(&server, email)
        .await
        .into_iter()
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, ["used"]);
}

#[actix_web::test]
async fn another_persons_code_does_nothing() {
    let server = TestServer::start().await;
    let (ann, bob) = ("ann-mail@example.com", "bob-mail@example.com");
    let ann_browser = on_phone_step(&server, ann, "900-61-0007").await;
    ask_for_letter(&ann_browser, "/verify/phone").await;
    let ann_code = newest_letter_code(&server, ann).await;
    let bob_browser = on_phone_step(&server, bob, "900-61-0008").await;
    ask_for_letter(&bob_browser, "/verify/phone").await;
    // Bob enters Ann's code: a wrong code for him.
    let res = enter_code(&bob_browser, &ann_code).await;
    assert_eq!(res.status(), 422);
    assert_eq!(audit_count(&server, "identity_verified").await, 0);
    assert_eq!(letters_of(&server, bob).await[0].tries, 1);
    // Ann's letter is untouched and still works for her.
    assert_eq!(letters_of(&server, ann).await[0].tries, 0);
    let res = enter_code(&ann_browser, &ann_code).await;
    assert_eq!(res.headers()["location"], "/verify/protect");
}

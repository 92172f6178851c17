//! Verify by mail: a person whose phone isn't in their name asks for a letter at the phone
//! step, an operator exports the print list and marks letters sent, and the code from the
//! letter finishes the verification as the phone code would.

use std::collections::HashMap;

use reqwest::Method;
use verity::proofing::records;

use crate::admin_harness::{admin_client, call, client_token};
use crate::harness::*;
use crate::verify_flow::{
    back_to_rp, good_document, good_selfie, good_ssn, ial2_rp, press_verify, start, start_for_rp,
    user_id,
};

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
    let server = TestServer::start().await;
    let rp = ial2_rp(&server, "Benefits Portal").await;
    let email = "by-mail@example.com";
    let browser = person_with_phone(&server, email).await;
    let claims = r#"{"id_token":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"given_name":null,"family_name":null}}}}"#;
    let started = start_for_rp(&browser, &rp, claims).await;
    walk_to_phone(&browser, "900-61-0001").await;

    // The phone page offers the letter; a number not in their name offers it first.
    let page = browser.get_ok("/verify/phone").await;
    assert_eq!(
        page.matches("Send me a letter instead").count(),
        1,
        "{page}"
    );
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
    assert_eq!(refused.matches("Send me a letter instead").count(), 1);
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
    let claims = back_to_rp(&browser, &rp, started).await;
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

// ---- the person's e-mails: "letter sent" and the reminder -------------------------------------

/// Marks the person's newest letter sent through the management API; returns its id.
async fn mark_sent(server: &TestServer, email: &str) -> String {
    let id = letters_of(server, email).await[0].id.clone();
    let token = token_for(server, "verity:admin:proofing").await;
    let path = format!("/proofing/letters/{id}/sent");
    let r = call(server, Method::POST, &path, Some(&token), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    id
}

/// Gives the account a second confirmed address and Spanish as its language.
async fn second_address_in_spanish(server: &TestServer, email: &str, extra: &str) {
    let (uid, extra, now) = (
        user_id(server, email).await,
        extra.to_string(),
        server.ctx.clock.now(),
    );
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::{user_emails, users};
            diesel::insert_into(user_emails::table)
                .values((
                    user_emails::id.eq(uuid::Uuid::new_v4().to_string()),
                    user_emails::user_id.eq(&uid),
                    user_emails::email.eq(&extra),
                    user_emails::verified.eq(true),
                    user_emails::created_at.eq(now),
                ))
                .execute(c)?;
            diesel::update(users::table.find(&uid))
                .set(users::locale.eq("es"))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

/// Messages to `to` whose subject holds `subject`, as they are now (no waiting).
async fn messages(server: &TestServer, to: &str, subject: &str) -> Vec<verity::notify::OutboxRow> {
    server
        .outbox_for(to)
        .await
        .into_iter()
        .filter(|m| m.subject.contains(subject))
        .collect()
}

fn iso_day(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

#[actix_web::test]
async fn marking_a_letter_sent_emails_every_address_once_in_the_persons_language() {
    let server = TestServer::start().await;
    let (email, extra) = ("mailed@example.com", "mailed-too@example.com");
    let browser = on_phone_step(&server, email, "900-61-0011").await;
    ask_for_letter(&browser, "/verify/phone").await;
    second_address_in_spanish(&server, email, extra).await;
    // Queued, not sent: nothing is said yet, housekeeping or not.
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    assert!(messages(&server, email, "en camino").await.is_empty());

    let id = mark_sent(&server, email).await;
    let letter = letters_of(&server, email).await.remove(0);
    assert!(letter.sent_notice_at.is_some(), "claimed");
    let link = server.url("/verify/letter");
    for to in [email, extra] {
        let got = server
            .wait_for_messages(to, "Su carta de Verity está en camino", 1)
            .await;
        assert_eq!(got.len(), 1, "{to}");
        let body = &got[0].body;
        assert!(body.contains(&link), "{body}");
        assert!(
            body.contains(&format!(
                "se envió por correo el {}",
                iso_day(letter.sent_at.unwrap())
            )),
            "{body}"
        );
        assert!(
            body.contains(&format!("válido hasta el {}", iso_day(letter.expires_at))),
            "{body}"
        );
    }
    // Marked again (409), housekeeping on two nodes at once: nobody hears of it twice.
    let token = token_for(&server, "verity:admin:proofing").await;
    let path = format!("/proofing/letters/{id}/sent");
    let r = call(&server, Method::POST, &path, Some(&token), None).await;
    assert_eq!(r.status, 409);
    let node = server.second_node().await;
    let (a, b) = futures_util::join!(
        verity::proofing::flow::housekeeping(&server.ctx),
        verity::proofing::flow::housekeeping(&node.ctx)
    );
    a.unwrap();
    b.unwrap();
    for to in [email, extra] {
        assert_eq!(messages(&server, to, "en camino").await.len(), 1, "{to}");
    }
    // The link leads to the code page once signed in.
    let res = browser.get("/verify/letter").await;
    assert_eq!(res.status(), 200);
    node.stop().await;
}

/// A notifier whose e-mails fail while `failing` is set.
struct FlakyMail {
    inner: std::sync::Arc<dyn verity::notify::Notifier>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl verity::notify::Notifier for FlakyMail {
    async fn send(&self, message: verity::notify::Message) -> anyhow::Result<()> {
        if message.channel == verity::notify::Channel::Email
            && self.failing.load(std::sync::atomic::Ordering::SeqCst)
        {
            anyhow::bail!("relay down");
        }
        self.inner.send(message).await
    }
    fn name(&self) -> &'static str {
        "flaky"
    }
}

#[actix_web::test]
async fn a_letter_sent_email_that_failed_is_sent_by_housekeeping_later() {
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = failing.clone();
    let server = TestServer::start_with_notifier(
        |_| {},
        move |inner| {
            std::sync::Arc::new(FlakyMail {
                inner,
                failing: flag,
            })
        },
    )
    .await;
    let email = "relay-down@example.com";
    let browser = on_phone_step(&server, email, "900-61-0012").await;
    ask_for_letter(&browser, "/verify/phone").await;
    failing.store(true, std::sync::atomic::Ordering::SeqCst);
    mark_sent(&server, email).await;
    // The mark stands; the e-mail is owed again.
    let letter = letters_of(&server, email).await.remove(0);
    assert_eq!(letter.status, "sent");
    assert!(letter.sent_notice_at.is_none(), "given back");
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    assert!(letters_of(&server, email).await[0].sent_notice_at.is_none());
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    assert_eq!(
        messages(&server, email, "Your Verity letter is on its way")
            .await
            .len(),
        1
    );
    assert!(letters_of(&server, email).await[0].sent_notice_at.is_some());
}

#[actix_web::test]
async fn one_reminder_goes_for_a_code_still_unused_and_none_for_used_void_or_expired_letters() {
    // Five people enrol the test phone.
    let server = TestServer::start_with(|s| {
        s.security.otp_sends_per_short_window = 10;
        s.security.max_accounts_per_phone = 5;
    })
    .await;
    let p = server.ctx.settings.proofing.clone();
    let waiting = "still-waiting@example.com";
    let used = "came-quickly@example.com";
    let void = "kept-guessing@example.com";
    let expired = "ran-out@example.com";
    let queued = "never-printed@example.com";
    let mut browsers = HashMap::new();
    for (i, email) in [waiting, used, void, expired, queued]
        .into_iter()
        .enumerate()
    {
        let browser = on_phone_step(&server, email, &format!("900-61-002{i}")).await;
        ask_for_letter(&browser, "/verify/phone").await;
        browsers.insert(email, browser);
    }
    let code_of_used = newest_letter_code(&server, used).await;
    let code_of_void = newest_letter_code(&server, void).await;
    for email in [waiting, used, void, expired] {
        mark_sent(&server, email).await;
    }
    // Used: the code came and finished the verification.
    let res = enter_code(&browsers[used], &code_of_used).await;
    assert_eq!(res.headers()["location"], "/verify/protect");
    // Void: too many wrong codes.
    let wrong = if code_of_void.starts_with('0') {
        "1111111111"
    } else {
        "0000000000"
    };
    for _ in 0..p.letter_code_max_tries {
        enter_code(&browsers[void], wrong).await;
    }
    assert_eq!(letters_of(&server, void).await[0].status, "void");
    // Expired: this one's code runs out before the reminder would be due.
    let uid = user_id(&server, expired).await;
    let soon = server.ctx.clock.now() + chrono::Duration::days(1);
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::proofing_letters as pl;
            diesel::update(pl::table.filter(pl::user_id.eq(&uid)))
                .set(pl::expires_at.eq(soon))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();

    let reminder = "Enter the code from your Verity letter";
    // A day early: nothing.
    let days = p.letter_reminder_days as i64;
    server.ctx.clock.advance((days - 1) * DAY);
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    for email in [waiting, used, void, expired, queued] {
        assert!(
            messages(&server, email, reminder).await.is_empty(),
            "{email}"
        );
    }
    // Due: two nodes' housekeeping at once send it once.
    server.ctx.clock.advance(DAY + 60);
    let node = server.second_node().await;
    let (a, b) = futures_util::join!(
        verity::proofing::flow::housekeeping(&server.ctx),
        verity::proofing::flow::housekeeping(&node.ctx)
    );
    a.unwrap();
    b.unwrap();
    verity::proofing::flow::housekeeping(&node.ctx)
        .await
        .unwrap();
    let got = messages(&server, waiting, reminder).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].body.contains(&server.url("/verify/letter")),
        "{}",
        got[0].body
    );
    assert!(
        got[0].body.contains(&format!(
            "It works until {}",
            iso_day(letters_of(&server, waiting).await[0].expires_at)
        )),
        "{}",
        got[0].body
    );
    assert!(letters_of(&server, waiting).await[0].reminded_at.is_some());
    for email in [used, void, expired, queued] {
        assert!(
            messages(&server, email, reminder).await.is_empty(),
            "{email}"
        );
        assert!(
            letters_of(&server, email).await[0].reminded_at.is_none(),
            "{email}"
        );
    }
    // The code still works after the reminder.
    let (browser, _) = sign_in_with_phone(&server, waiting).await;
    let page = browser.get_ok("/verify/letter").await;
    assert!(page.contains("Letter sent on"), "{page}");
    node.stop().await;
}

// ---- the print vendor's PDF ----------------------------------------------------------------

fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

fn holds(pdf: &[u8], needle: &[u8]) -> bool {
    pdf.windows(needle.len()).any(|w| w == needle)
}

/// How a line of text is shown in a content stream: a literal string when it is ASCII, else
/// the hex string of its WinAnsi bytes.
fn shown(line: &str) -> Vec<u8> {
    let bytes = verity::proofing::letter_pdf::win_ansi(line);
    if bytes.is_ascii() {
        format!("({line}) Tj").into_bytes()
    } else {
        format!("<{}> Tj", hex::encode_upper(bytes)).into_bytes()
    }
}

async fn letters_pdf(server: &TestServer, token: &str, query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.url(&format!("/admin/api/v1/proofing/letters.pdf{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_print_vendor_gets_a_pdf_page_per_queued_letter_in_the_persons_language() {
    let server = TestServer::start().await;
    let (ann, ana) = ("ann-print@example.com", "ana-print@example.com");
    for (email, ssn) in [(ann, "900-61-0031"), (ana, "900-61-0032")] {
        let browser = on_phone_step(&server, email, ssn).await;
        ask_for_letter(&browser, "/verify/phone").await;
        server.ctx.clock.advance(1);
    }
    second_address_in_spanish(&server, ana, "ana-extra@example.com").await;
    let admin = token_for(&server, "verity:admin").await;
    let plain = token_for(&server, "verity:admin:proofing").await;
    for t in [&admin, &plain] {
        assert_eq!(letters_pdf(&server, t, "").await.status(), 403);
    }
    let pii = token_for(&server, "verity:admin:proofing:pii").await;
    let codes: Vec<String> = {
        let rows = print_rows(&server, &pii).await;
        let mut out = Vec::new();
        for email in [ann, ana] {
            out.push(rows[&letters_of(&server, email).await[0].id][8].clone());
        }
        out
    };
    let reads_before = audit_count(&server, "proofing_personal_data_read").await;
    let res = letters_pdf(&server, &pii, "").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let pdf = res.bytes().await.unwrap();
    // To look at the pages: VERITY_TEST_LETTERS_PDF=/tmp/letters.pdf, then pdftoppm.
    if let Ok(path) = std::env::var("VERITY_TEST_LETTERS_PDF") {
        std::fs::write(path, &pdf).unwrap();
    }
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(pdf_pages(&pdf), 2);
    assert!(holds(&pdf, b"(FAKEY MCFAKERSON) Tj"));
    assert!(holds(&pdf, b"(1 FAKE RD) Tj"));
    assert!(holds(&pdf, b"(GREAT FALLS, MT 59401) Tj"));
    for code in &codes {
        let grouped = format!("({} {}) Tj", &code[..5], &code[5..]);
        assert!(holds(&pdf, grouped.as_bytes()), "{grouped}");
    }
    let link = format!("({}) Tj", server.url("/verify/letter"));
    assert!(holds(&pdf, link.as_bytes()));
    // Each in the person's language: English for Ann, Spanish (in WinAnsi) for Ana.
    assert!(holds(&pdf, &shown("Your Verity verification code")));
    assert!(holds(&pdf, &shown("Su código de verificación de Verity")));
    assert_eq!(
        audit_count(&server, "proofing_personal_data_read").await,
        reads_before + 2
    );
    // Paged like the CSV: one letter, then the next with the cursor.
    let res = letters_pdf(&server, &pii, "?limit=1").await;
    let next = res.headers()["verity-next-cursor"]
        .to_str()
        .unwrap()
        .to_string();
    let first = res.bytes().await.unwrap();
    assert_eq!(pdf_pages(&first), 1);
    assert!(holds(&first, &shown("Your Verity verification code")));
    let res = letters_pdf(&server, &pii, &format!("?limit=1&cursor={next}")).await;
    assert!(res.headers().get("verity-next-cursor").is_none());
    let second = res.bytes().await.unwrap();
    assert_eq!(pdf_pages(&second), 1);
    assert!(holds(
        &second,
        &shown("Su código de verificación de Verity")
    ));
    // Sent letters are no longer printed.
    mark_sent(&server, ann).await;
    mark_sent(&server, ana).await;
    let empty = letters_pdf(&server, &pii, "").await.bytes().await.unwrap();
    assert!(empty.starts_with(b"%PDF-"));
    assert_eq!(pdf_pages(&empty), 0);
}

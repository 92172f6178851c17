//! Email addresses in the account console.

use crate::harness::*;

#[actix_web::test]
async fn adding_confirming_making_primary_and_removing_an_address() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("vee@example.com").await;
    let account = browser.get_ok("/account").await;
    assert_eq!(
        browser
            .post("/account/emails/add", &[("email", "vee@work.example")])
            .await
            .status(),
        403,
        "CSRF missing"
    );
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "Vee@Work.example")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(browser
        .get_ok("/account")
        .await
        .contains("waiting for confirmation"));
    assert_eq!(
        server
            .wait_for_messages("vee@example.com", "email address was added", 1)
            .await
            .len(),
        1,
        "the existing address is told"
    );

    let link = server
        .link_from_outbox("vee@work.example", "Confirm your new email")
        .await;
    assert_eq!(confirm_via_page(&browser, &link).await, 200);
    assert_eq!(
        confirm_via_page(&browser, &link).await,
        400,
        "the link works once"
    );
    let account = browser.get_ok("/account").await;
    assert!(!account.contains("waiting for confirmation"));

    // Make it primary: signing in now uses it; both addresses hear about it.
    let doc = scraper::Html::parse_document(&account);
    let id = doc
        .select(
            &scraper::Selector::parse("form[action='/account/emails/primary'] input[name=id]")
                .unwrap(),
        )
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string();
    let res = browser
        .post(
            "/account/emails/primary",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(server.outbox_for("vee@example.com").await[0]
        .subject
        .contains("sign-in email changed"));
    assert!(server.outbox_for("vee@work.example").await[0]
        .subject
        .contains("sign-in email changed"));
    assert_eq!(
        server
            .sign_in(&server.browser(), "vee@work.example", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        server
            .sign_in(&server.browser(), "vee@example.com", PASSWORD)
            .await
            .status(),
        401
    );

    // Remove the old one (now secondary); it is told too.
    let account = browser.get_ok("/account").await;
    let doc = scraper::Html::parse_document(&account);
    let id = doc
        .select(
            &scraper::Selector::parse("form[action='/account/emails/remove'] input[name=id]")
                .unwrap(),
        )
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string();
    let res = browser
        .post(
            "/account/emails/remove",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(server.outbox_for("vee@example.com").await[0]
        .subject
        .contains("was removed"));
    assert!(!browser.get_ok("/account").await.contains("vee@example.com"));
}

#[actix_web::test]
async fn email_changes_need_a_recent_sign_in_and_addresses_stay_unique() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("wyn@example.com").await;
    let _other = server.signed_in_browser("xan@example.com").await;
    let account = browser.get_ok("/account").await;
    // Someone else's address: the same answer, nothing added, nothing sent to it.
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "xan@example.com")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(!browser.get_ok("/account").await.contains("xan@example.com"));
    assert!(server
        .outbox_for("xan@example.com")
        .await
        .iter()
        .all(|m| !m.subject.contains("Confirm your new email")));

    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "wyn@home.example")],
        )
        .await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/step-up"));
    assert!(server.outbox_for("wyn@home.example").await.is_empty());
}

/// Opens an add-email link and presses the button on its page: the button's status, or the
/// link page's when it has no button (a used or expired link: 400).
pub(crate) async fn confirm_via_page(browser: &Browser, link: &str) -> u16 {
    let res = browser.get_abs(link).await;
    let status = res.status().as_u16();
    let page = res.text().await.unwrap();
    if status != 200 {
        return status;
    }
    assert!(
        page.contains("action=\"/account/emails/confirm\""),
        "the link's page has a button: {page}"
    );
    browser
        .post(
            "/account/emails/confirm",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await
        .status()
        .as_u16()
}

pub(crate) async fn add_address(browser: &Browser, email: &str) {
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", email)],
        )
        .await;
    assert_eq!(res.status(), 303);
}

fn link_in(message: &verity::notify::OutboxRow) -> String {
    message
        .body
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link")
        .to_string()
}

#[actix_web::test]
async fn an_unconfirmed_extra_address_does_not_stop_its_owner_signing_up() {
    let server = TestServer::start().await;
    let mallory = server.signed_in_browser("mal@example.com").await;
    add_address(&mallory, "own@example.com").await;
    let mallorys_link = server
        .link_from_outbox("own@example.com", "Confirm your new email")
        .await;

    // The real owner signs up with the address: a link arrives and the account works.
    let owner = server.browser();
    server.create_account(&owner, "own@example.com").await;
    assert_eq!(
        server
            .sign_in(&owner, "own@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    // Mallory's claim was voided when the owner confirmed.
    assert_eq!(mallory.get_abs(&mallorys_link).await.status(), 400);
    assert!(!mallory.get_ok("/account").await.contains("own@example.com"));
}

#[actix_web::test]
async fn the_first_to_confirm_an_address_holds_it_and_unconfirmed_claims_expire() {
    let server = TestServer::start().await;
    let mallory = server.signed_in_browser("mel@example.com").await;
    let pat = server.signed_in_browser("pat@example.com").await;
    add_address(&mallory, "pat@work.example").await;
    let mallorys_link = server
        .link_from_outbox("pat@work.example", "Confirm your new email")
        .await;

    // Pat adds their own work address although Mallory claimed it first, and confirms it.
    add_address(&pat, "pat@work.example").await;
    let links = server
        .wait_for_messages("pat@work.example", "Confirm your new email", 2)
        .await;
    assert_eq!(links.len(), 2, "the owner's own link is sent");
    let pats_link = links
        .iter()
        .map(link_in)
        .find(|l| *l != mallorys_link)
        .unwrap();
    assert_eq!(confirm_via_page(&pat, &pats_link).await, 200);
    assert!(!pat
        .get_ok("/account")
        .await
        .contains("waiting for confirmation"));
    assert_eq!(
        mallory.get_abs(&mallorys_link).await.status(),
        400,
        "the other claim is void"
    );

    // An unconfirmed claim expires with its link.
    add_address(&mallory, "zed@work.example").await;
    assert!(mallory
        .get_ok("/account")
        .await
        .contains("zed@work.example"));
    let ttl = server.ctx.settings.security.email_confirmation_ttl_secs as i64;
    server.ctx.clock.advance(ttl + 60);
    // (Any later change cleans expired claims; Pat's step-up has lapsed, so sign in again.)
    let pat = server.browser();
    server.sign_in_fully(&pat, "pat@example.com").await;
    add_address(&pat, "pat@home.example").await;
    let mallory = server.browser();
    server.sign_in_fully(&mallory, "mel@example.com").await;
    assert!(!mallory
        .get_ok("/account")
        .await
        .contains("zed@work.example"));
}

#[actix_web::test]
async fn a_sign_up_never_confirmed_does_not_block_the_owner_making_the_address_primary() {
    let server = TestServer::start().await;
    // Someone starts a sign-up with Kim's work address and never confirms it.
    let stranger = server.browser();
    assert_eq!(
        server
            .submit_sign_up(&stranger, "kim@work.example")
            .await
            .status(),
        200
    );
    let signup_link = server
        .link_from_outbox("kim@work.example", "Confirm your email")
        .await;
    // Kim adds the address to her account, confirms it and makes it her sign-in name.
    let kim = server.signed_in_browser("kim@example.com").await;
    add_address(&kim, "kim@work.example").await;
    let link = server
        .link_from_outbox("kim@work.example", "Confirm your new email")
        .await;
    assert_eq!(confirm_via_page(&kim, &link).await, 200);
    let account = kim.get_ok("/account").await;
    let doc = scraper::Html::parse_document(&account);
    let id = doc
        .select(
            &scraper::Selector::parse("form[action='/account/emails/primary'] input[name=id]")
                .unwrap(),
        )
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string();
    let res = kim
        .post(
            "/account/emails/primary",
            &[("csrf", &csrf_of(&account)), ("id", &id)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        server
            .sign_in(&server.browser(), "kim@work.example", PASSWORD)
            .await
            .status(),
        303
    );
    // The abandoned sign-up's link is void.
    let (status, _) = server
        .open_confirmation_link(&stranger, &signup_link, "stranger chosen passphrase")
        .await;
    assert_eq!(status, 400);
}

/// The confirmed extra addresses of an account, from the database.
async fn confirmed_extra(server: &TestServer, email: &str) -> Vec<String> {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::{user_emails, users};
            let uid: String = users::table
                .filter(users::email.eq(&email))
                .select(users::id)
                .first(c)?;
            Ok(user_emails::table
                .filter(user_emails::user_id.eq(uid))
                .filter(user_emails::verified.eq(true))
                .select(user_emails::email)
                .load(c)?)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn opening_an_add_email_link_confirms_nothing_and_only_the_adding_account_can_confirm() {
    let server = TestServer::start().await;
    // Mallory claims Vic's address; Vic's mail scanner, Vic (signed out, then signed in to
    // her own account) all open the link.
    let mallory = server.signed_in_browser("mallory@example.com").await;
    add_address(&mallory, "vic@example.org").await;
    let link = server
        .link_from_outbox("vic@example.org", "Confirm your new email")
        .await;

    let scanner = server.browser();
    let res = scanner.get_abs(&link).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Only the account that added"), "{page}");
    assert!(!page.contains("name=\"token\""), "no button for a stranger");
    let vic = server.signed_in_browser("vic@example.com").await;
    let page = vic.get_ok(&link[link.find("/account").unwrap()..]).await;
    assert!(page.contains("Only the account that added"), "{page}");
    assert!(
        confirmed_extra(&server, "mallory@example.com")
            .await
            .is_empty(),
        "opening the link confirmed nothing"
    );

    // Pressing the button with Vic's session (the token read from the mail) is refused, and
    // leaves the link as it was.
    let token = link.split("token=").nth(1).unwrap().to_string();
    let account = vic.get_ok("/account").await;
    let res = vic
        .post(
            "/account/emails/confirm",
            &[("csrf", &csrf_of(&account)), ("token", &token)],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Only the account that added"));
    // Without a session: off to sign in, nothing confirmed.
    let csrf = csrf_of(&scanner.get_ok("/login").await);
    let res = scanner
        .post(
            "/account/emails/confirm",
            &[("csrf", &csrf), ("token", &token)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(confirmed_extra(&server, "mallory@example.com")
        .await
        .is_empty());
    assert!(server
        .outbox_for("mallory@example.com")
        .await
        .iter()
        .all(|m| !m.subject.contains("is confirmed")));

    // The account that added it can still confirm with the same link.
    assert_eq!(confirm_via_page(&mallory, &link).await, 200);
    assert_eq!(
        confirmed_extra(&server, "mallory@example.com").await,
        vec!["vic@example.org".to_string()]
    );
}

#[actix_web::test]
async fn adding_addresses_is_limited_per_account_and_per_address() {
    let server = TestServer::start_with(|s| {
        s.security.email_adds_per_account_per_day = 2;
        s.security.email_adds_per_address_per_day = 2;
    })
    .await;
    let ana = server.signed_in_browser("ana@example.com").await;
    add_address(&ana, "ana1@example.org").await;
    add_address(&ana, "ana2@example.org").await;
    let account = ana.get_ok("/account").await;
    let res = ana
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "ana3@example.org")],
        )
        .await;
    assert_eq!(res.status(), 429, "the account's third address today");
    assert!(res.text().await.unwrap().contains("Try again tomorrow"));
    assert!(!ana.get_ok("/account").await.contains("ana3@example.org"));

    // One address, added by several accounts: its mailbox gets two links a day, no more.
    let bo = server.signed_in_browser("bo@example.com").await;
    let cy = server.signed_in_browser("cy@example.com").await;
    add_address(&bo, "target@example.org").await;
    add_address(&cy, "target@example.org").await;
    let dee = server.signed_in_browser("dee@example.com").await;
    let dees = dee.get_ok("/account").await;
    let res = dee
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&dees)), ("email", "Target@example.org")],
        )
        .await;
    assert_eq!(res.status(), 429, "the address's third add today");
    assert_eq!(
        server
            .wait_for_messages("target@example.org", "Confirm your new email", 2)
            .await
            .len(),
        2
    );
    // The refused add kept no slot of Dee's.
    add_address(&dee, "dee1@example.org").await;
    add_address(&dee, "dee2@example.org").await;
}

/// How many accounts hold `email` confirmed (as primary or extra address).
async fn confirmed_holders(server: &TestServer, email: &str) -> i64 {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::{user_emails, users};
            let primary: i64 = users::table
                .filter(users::email.eq(&email))
                .filter(users::email_verified.eq(true))
                .count()
                .get_result(c)?;
            let extra: i64 = user_emails::table
                .filter(user_emails::email.eq(&email))
                .filter(user_emails::verified.eq(true))
                .count()
                .get_result(c)?;
            Ok(primary + extra)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_sign_up_and_an_added_address_confirmed_at_once_leave_one_holder() {
    let server = TestServer::start().await;
    for round in 0..8u64 {
        let address = format!("race{round}@example.org");
        let signer = server.browser();
        assert_eq!(server.submit_sign_up(&signer, &address).await.status(), 200);
        let signup_link = server
            .link_from_outbox(&address, "Confirm your email")
            .await;
        let adder = server
            .signed_in_browser(&format!("adder{round}@example.com"))
            .await;
        add_address(&adder, &address).await;
        let add_link = server
            .link_from_outbox(&address, "Confirm your new email")
            .await;
        let signup_page = signer
            .get_ok(&signup_link[signup_link.find("/confirm-email").unwrap()..])
            .await;
        let add_page = adder
            .get_ok(&add_link[add_link.find("/account").unwrap()..])
            .await;
        let (signup_csrf, signup_token) = (csrf_of(&signup_page), hidden(&signup_page, "token"));
        let (add_csrf, add_token) = (csrf_of(&add_page), hidden(&add_page, "token"));
        // The sign-up's confirmation hashes its password first: start the other one a little
        // later each round so the two transactions overlap in some round.
        let signup_form = [
            ("csrf", signup_csrf.as_str()),
            ("token", signup_token.as_str()),
            ("authz", ""),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ];
        let sign_up = signer.post("/confirm-email", &signup_form);
        let add = async {
            tokio::time::sleep(std::time::Duration::from_millis(round * 8)).await;
            adder
                .post(
                    "/account/emails/confirm",
                    &[("csrf", &add_csrf), ("token", &add_token)],
                )
                .await
        };
        let (a, b) = tokio::join!(sign_up, add);
        assert!(a.status() == 200 || a.status() == 400, "{}", a.status());
        assert!(b.status() == 200 || b.status() == 400, "{}", b.status());
        assert_eq!(
            confirmed_holders(&server, &address).await,
            1,
            "round {round}: exactly one account holds {address}"
        );
    }
}

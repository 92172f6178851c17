//! "Contact support": signed in and out, validation naming the field, the acknowledgement with the
//! ticket number, and the rate limit.

use crate::harness::*;

async fn send(browser: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    let page = browser.get_ok("/support").await;
    let csrf = csrf_of(&page);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post("/support", &form).await
}

async fn ticket_row(server: &TestServer, id: &str) -> (Option<String>, String, String) {
    let id = id.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::support_tickets as t;
            Ok(t::table
                .find(&id)
                .select((t::user_id, t::contact_email, t::status))
                .first::<(Option<String>, String, String)>(c)?)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_signed_out_person_files_a_ticket_and_gets_its_number_by_email() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let home = browser.get_ok("/login").await;
    assert!(home.contains("href=\"/support\""), "linked from every page");

    let missing_csrf = browser
        .post("/support", &[("category", "other"), ("message", "hi")])
        .await;
    assert_eq!(missing_csrf.status(), 403);

    let res = send(
        &browser,
        &[
            ("category", "lost_phone"),
            ("contact_email", " Vic@Example.com "),
            ("message", "My phone was stolen and I can't sign in."),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let ticket = text_of(&page, ".ticket").unwrap();
    assert!(ticket.starts_with("VT-") && ticket.len() == 11, "{ticket}");
    let ack = &server.outbox_for("vic@example.com").await[0];
    assert!(ack.subject.contains(&ticket));
    assert!(ack.body.contains(&ticket));
    assert_eq!(
        ticket_row(&server, &ticket).await,
        (None, "vic@example.com".into(), "open".into())
    );
}

#[actix_web::test]
async fn a_signed_in_persons_ticket_is_linked_to_the_account() {
    let server = TestServer::start().await;
    // Another account first, so "some account" and "this account" differ.
    server.signed_in_browser("zoe@example.com").await;
    let browser = server.signed_in_browser("wes@example.com").await;
    let page = browser.get_ok("/support").await;
    assert!(
        page.contains("value=\"wes@example.com\""),
        "email filled in"
    );
    let res = send(
        &browser,
        &[
            ("category", "account_security"),
            ("contact_email", "wes@example.com"),
            ("message", "I got a sign-in alert I don't recognise."),
        ],
    )
    .await;
    let ticket = text_of(&res.text().await.unwrap(), ".ticket").unwrap();
    let wes = server
        .ctx
        .db
        .run(|c| {
            Ok(verity::accounts::users::by_email(c, "wes@example.com")?
                .expect("wes has an account")
                .id)
        })
        .await
        .unwrap();
    assert_eq!(
        ticket_row(&server, &ticket).await,
        (Some(wes), "wes@example.com".into(), "open".into()),
        "linked to the signed-in person's account"
    );
}

#[actix_web::test]
async fn bad_fields_are_named_and_nothing_is_filed() {
    let server = TestServer::start_with(|s| s.support.message_max_chars = 20).await;
    let browser = server.browser();
    for (fields, field_id) in [
        (
            [
                ("category", "bribes"),
                ("contact_email", "a@example.com"),
                ("message", "hello"),
            ],
            "category-error",
        ),
        (
            [
                ("category", "other"),
                ("contact_email", "not an email"),
                ("message", "hello"),
            ],
            "email-error",
        ),
        (
            [
                ("category", "other"),
                ("contact_email", "a@example.com"),
                ("message", "   "),
            ],
            "message-error",
        ),
        (
            [
                ("category", "other"),
                ("contact_email", "a@example.com"),
                (
                    "message",
                    "this message is far longer than twenty characters",
                ),
            ],
            "message-error",
        ),
    ] {
        let res = send(&browser, &fields).await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains(&format!("id=\"{field_id}\"")), "{field_id}");
    }
    assert!(server.outbox_for("a@example.com").await.is_empty());
}

#[actix_web::test]
async fn tickets_are_rate_limited_per_ip() {
    let server = TestServer::start_with(|s| s.security.support_tickets_per_hour = 2).await;
    let browser = server.browser();
    for i in 0..2 {
        let email = format!("x{i}@example.com");
        let res = send(
            &browser,
            &[
                ("category", "other"),
                ("contact_email", &email),
                ("message", "hello"),
            ],
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    let res = send(
        &browser,
        &[
            ("category", "other"),
            ("contact_email", "x9@example.com"),
            ("message", "hello"),
        ],
    )
    .await;
    assert_eq!(res.status(), 429);
    assert!(server.outbox_for("x9@example.com").await.is_empty());
}

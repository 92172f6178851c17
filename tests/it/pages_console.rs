//! The account console and the support form as a person reads them (issue 12): in Spanish,
//! activity in people's words with the app's name, devices as "Chrome on Windows", what apps
//! can see, "This wasn't me" only where it makes sense, a step-up read as one row, the
//! console's state (recently changed phones, Remove, backup codes, a second method), times in
//! the person's zone, and every problem of a form at once with a summary.

use std::sync::Arc;

use crate::harness::*;

const OTHER_PHONE: &str = "+12015550146";
const CHROME_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The page's text as a person reads it, spaces squeezed.
fn visible(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("main").unwrap();
    let text: String = doc
        .select(&sel)
        .next()
        .map(|m| m.text().collect())
        .unwrap_or_else(|| doc.root_element().text().collect());
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn lang_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("html").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|h| h.value().attr("lang"))
        .unwrap_or("")
        .to_string()
}

fn count(html: &str, selector: &str) -> usize {
    scraper::Html::parse_document(html)
        .select(&scraper::Selector::parse(selector).unwrap())
        .count()
}

/// Each activity row: (when, what, whether "This wasn't me" is offered on it).
fn activity_rows(html: &str) -> Vec<(String, String, bool)> {
    let doc = scraper::Html::parse_document(html);
    let row = scraper::Selector::parse("table.activity tbody tr").unwrap();
    let cell = scraper::Selector::parse("td, th").unwrap();
    let not_me = scraper::Selector::parse("form[action=\"/account/activity/not-me\"]").unwrap();
    doc.select(&row)
        .map(|tr| {
            let cells: Vec<String> = tr
                .select(&cell)
                .map(|td| {
                    td.text()
                        .collect::<String>()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            (
                cells.first().cloned().unwrap_or_default(),
                cells.get(1).cloned().unwrap_or_default(),
                tr.select(&not_me).next().is_some(),
            )
        })
        .collect()
}

async fn get_es(browser: &Browser, server: &TestServer, path: &str) -> String {
    let res = browser
        .http
        .get(server.url(path))
        .header("accept-language", "es-US,es;q=0.9")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 200, "GET {path}");
    res.text().await.expect("body")
}

/// A browser with its own user agent and a cookie jar holding `verity_tz=<zone>` (as
/// static/timezone.js sets it), when a zone is given.
fn browser_with(server: &TestServer, user_agent: &str, zone: Option<&str>) -> Browser {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    if let Some(zone) = zone {
        let url = url::Url::parse(&server.url("/")).unwrap();
        jar.add_cookie_str(&format!("verity_tz={zone}; Path=/"), &url);
    }
    Browser::with_jar(&server.url(""), user_agent, jar)
}

/// A person signed up and signed in (backup codes) on `browser`.
async fn sign_up_on(server: &TestServer, browser: &Browser, email: &str) {
    server.create_account(browser, email).await;
    server.sign_in_fully(browser, email).await;
}

/// An app ("Tax Portal") allowed to see the email address, and signed in to once.
async fn connect_tax_portal(server: &TestServer, browser: &Browser) {
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let req = rp.auth_request(&["email"]);
    let callback = authorize_to_callback(browser, &req.url).await;
    rp.exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
}

#[actix_web::test]
async fn every_console_page_and_the_support_form_speak_spanish() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("sol@example.com").await;
    // (path, a Spanish sentence it shows, English sentences that must be gone)
    let pages: [(&str, &str, &[&str]); 5] = [
        (
            "/account",
            "Usted creó su cuenta",
            &[
                "Your account",
                "Email addresses",
                "Phone numbers",
                "Recent activity",
                "You created your account",
                "Sign out all other sessions",
                "Make new backup codes",
                "Add an authenticator app",
                "this browser",
            ],
        ),
        (
            "/account/activity",
            "Usted inició sesión",
            &[
                "Sign-ins and changes",
                "You signed in",
                "This wasn't me",
                "Back to your account",
            ],
        ),
        (
            "/account/password",
            "Contraseña actual",
            &[
                "Current password",
                "Type the new password again",
                "Change password",
            ],
        ),
        (
            "/account/profile",
            "Apellido",
            &["Given name", "Family name", "Back to your account"],
        ),
        (
            "/support",
            "Cuéntenos qué pasa",
            &[
                "What is it about?",
                "Email address for our reply",
                "Your message",
                "I can't sign in",
                "Choose one",
            ],
        ),
    ];
    for (path, spanish, english) in pages {
        let html = get_es(&browser, &server, path).await;
        assert_eq!(lang_of(&html), "es", "{path}");
        let text = visible(&html);
        assert!(
            text.contains(spanish),
            "{path}: {spanish:?} missing in {text}"
        );
        for sentence in english {
            assert!(
                !text.contains(sentence),
                "{path}: English {sentence:?} left in {text}"
            );
        }
    }
    // The same pages in English still read in English.
    assert!(visible(&browser.get_ok("/account").await).contains("You created your account"));
}

#[actix_web::test]
async fn activity_reads_in_peoples_words_with_the_app_and_the_device() {
    let server = TestServer::start().await;
    let browser = browser_with(&server, CHROME_ON_WINDOWS, None);
    sign_up_on(&server, &browser, "ivy@example.com").await;
    connect_tax_portal(&server, &browser).await;
    // Someone else's wrong password (from another browser).
    server
        .sign_in(
            &server.browser(),
            "ivy@example.com",
            "wrong password entirely",
        )
        .await;

    let html = browser.get_ok("/account/activity").await;
    let whats: Vec<String> = activity_rows(&html).into_iter().map(|r| r.1).collect();
    for sentence in [
        "Tax Portal can see your email address",
        "You signed in to Tax Portal",
        "Someone tried to sign in with a wrong password",
        "You signed in",
        "You made backup codes",
        "You confirmed an email address",
        "You created your account",
    ] {
        assert!(
            whats.iter().any(|w| w == sentence),
            "{sentence:?} in {whats:#?}"
        );
    }
    let text = visible(&html);
    for developer_words in [
        "consent granted",
        "signin failed",
        "tokens issued",
        "signed up",
        "Mozilla/5.0",
    ] {
        assert!(
            !text.contains(developer_words),
            "{developer_words:?} in {text}"
        );
    }
    assert!(text.contains("Chrome on Windows"), "{text}");

    // The same rows in Spanish, with the app's name.
    let html = get_es(&browser, &server, "/account/activity").await;
    let whats: Vec<String> = activity_rows(&html).into_iter().map(|r| r.1).collect();
    assert!(
        whats
            .iter()
            .any(|w| w == "Tax Portal puede ver su correo electrónico"),
        "{whats:#?}"
    );
    assert!(
        whats
            .iter()
            .any(|w| w == "Usted inició sesión en Tax Portal"),
        "{whats:#?}"
    );
    assert!(visible(&html).contains("Chrome en Windows"));

    // The overview: sessions as devices, apps as what they can see.
    let account = visible(&browser.get_ok("/account").await);
    assert!(account.contains("Chrome on Windows"), "{account}");
    assert!(account.contains("Can see your email address"), "{account}");
    assert!(
        account.contains("Can tell it's you when you sign in"),
        "{account}"
    );
    assert!(!account.contains("openid"), "no scope names: {account}");
}

#[actix_web::test]
async fn a_kind_this_version_doesnt_know_reads_as_a_general_sentence() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("gus@example.com").await;
    let later = server.ctx.clock.now() + chrono::Duration::minutes(1);
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events;
            let user = verity::accounts::users::by_email(c, "gus@example.com")?.unwrap();
            diesel::insert_into(audit_events::table)
                .values((
                    audit_events::id.eq("zzzz-from-a-newer-version"),
                    audit_events::user_id.eq(Some(user.id)),
                    audit_events::kind.eq("identity_verified_by_a_newer_version"),
                    audit_events::detail.eq("{}"),
                    audit_events::created_at.eq(later),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    for (path, words) in [
        ("/account/activity", "Something changed on your account"),
        ("/account", "Something changed on your account"),
    ] {
        let rows = activity_rows(&browser.get_ok(path).await);
        assert_eq!(rows[0].1, words, "{path}: {rows:#?}");
        assert!(
            !rows.iter().any(|r| r.1.contains("identity_verified")),
            "{rows:#?}"
        );
    }
    let rows = activity_rows(&get_es(&browser, &server, "/account/activity").await);
    assert_eq!(rows[0].1, "Hubo un cambio en su cuenta");
}

#[actix_web::test]
async fn this_wasnt_me_is_offered_on_sign_ins_and_changes_only() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("ned@example.com").await;
    // The person's own sign-out of another session they had.
    let other = server.browser();
    server.sign_in_fully(&other, "ned@example.com").await;
    let page = other.get_ok("/account").await;
    let res = other.post("/logout", &[("csrf", &csrf_of(&page))]).await;
    assert_eq!(res.status(), 303);

    let rows = activity_rows(&browser.get_ok("/account/activity").await);
    let offered = |what: &str| {
        rows.iter()
            .find(|r| r.1 == what)
            .unwrap_or_else(|| panic!("{what:?} in {rows:#?}"))
            .2
    };
    assert!(!offered("You created your account"), "{rows:#?}");
    assert!(!offered("You signed out"), "{rows:#?}");
    assert!(offered("You signed in"), "{rows:#?}");
    assert!(offered("You made backup codes"), "{rows:#?}");
    assert!(offered("You confirmed an email address"), "{rows:#?}");
}

#[actix_web::test]
async fn a_step_up_reads_as_confirming_its_you_not_as_signing_out_and_in() {
    let server = TestServer::start().await;
    let email = "ora@example.com";
    let browser = server.signed_in_browser(email).await;
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let res = browser.get("/account/totp/add").await;
    let step_up = location(&res);
    assert!(step_up.starts_with("/step-up?return_to="), "{step_up}");
    let page = browser.get_ok(&step_up).await;
    let res = browser
        .post(
            "/step-up",
            &[
                ("csrf", &csrf_of(&page)),
                ("password", PASSWORD),
                ("return_to", &hidden(&page, "return_to")),
            ],
        )
        .await;
    assert_eq!(location(&res), "/mfa");
    let mfa = browser.get_ok("/mfa?method=backup").await;
    let res = browser
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&mfa)),
                ("method", "backup"),
                ("code", &server.take_backup_code(email)),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "stepped up");
    // Stored as it happened: the old session ended, a new one began.
    let kinds = server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events;
            Ok(audit_events::table
                .select(audit_events::kind)
                .load::<String>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(kinds.iter().filter(|k| *k == "signed_out").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "signed_in").count(), 2);

    for path in ["/account/activity", "/account"] {
        let rows = activity_rows(&browser.get_ok(path).await);
        let whats: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(whats[0], "You confirmed it's you", "{path}: {whats:#?}");
        assert!(!whats.contains(&"You signed out"), "{path}: {whats:#?}");
        assert_eq!(
            whats.iter().filter(|w| **w == "You signed in").count(),
            1,
            "only the first sign-in: {whats:#?}"
        );
        assert!(rows[0].2, "a step-up can be disowned");
    }
}

#[actix_web::test]
async fn a_person_with_only_backup_codes_is_warned_and_can_remove_nothing_until_a_second_method() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("kai@example.com").await;
    let account = browser.get_ok("/account").await;
    let text = visible(&account);
    assert_eq!(count(&account, "#one-method-warning"), 1, "{text}");
    assert!(text.contains("only one way to confirm it's you"), "{text}");
    assert_eq!(
        count(
            &account,
            "#one-method-warning a[href=\"/account/totp/add\"]"
        ),
        1,
        "the warning links to adding another method"
    );
    assert!(
        text.contains("Make new backup codes"),
        "codes exist: {text}"
    );

    // A second method: an authenticator app.
    let page = browser.get_ok("/account/totp/add").await;
    let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
    let res = browser
        .post(
            "/account/totp/add",
            &[
                ("csrf", &csrf_of(&page)),
                ("code", &totp_code(&server, &secret)),
            ],
        )
        .await;
    assert_eq!(location(&res), "/account");
    let account = browser.get_ok("/account").await;
    assert_eq!(count(&account, "#one-method-warning"), 0, "two methods now");
    assert_eq!(count(&account, "form[action=\"/account/totp/remove\"]"), 1);
}

#[actix_web::test]
async fn a_phone_from_sign_up_is_not_recently_changed_and_the_last_factor_has_no_remove() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let browser = person_with_phone(&server, "lux@example.com").await;
    let account = browser.get_ok("/account").await;
    let text = visible(&account);
    assert!(text.contains("0123"), "{text}");
    assert!(
        !text.contains("recently changed"),
        "enrolled at sign-up: {text}"
    );
    assert_eq!(
        count(&account, "form[action=\"/account/phones/remove\"]"),
        0,
        "the only method can't be removed"
    );
    assert!(text.contains("Make backup codes"), "{text}");
    assert!(
        !text.contains("Make new backup codes"),
        "none were ever made: {text}"
    );
    assert_eq!(count(&account, "#one-method-warning"), 1);

    // A second phone, added by a phone change: that one is recently changed.
    assert_eq!(
        location(&browser.get("/account/phones/start").await),
        "/account/phones/change"
    );
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", OTHER_PHONE),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let code = newest_code(&server, OTHER_PHONE).await;
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let review = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&review)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(res.status(), 200);

    let account = browser.get_ok("/account").await;
    let doc = scraper::Html::parse_document(&account);
    let phones: Vec<String> = doc
        .select(&scraper::Selector::parse("li.phone").unwrap())
        .map(|li| {
            li.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(phones.len(), 2, "{phones:#?}");
    let old = phones.iter().find(|p| p.contains("0123")).unwrap();
    let new = phones.iter().find(|p| p.contains("0146")).unwrap();
    assert!(!old.contains("recently changed"), "{old}");
    assert!(new.contains("recently changed"), "{new}");
    assert_eq!(
        count(&account, "form[action=\"/account/phones/remove\"]"),
        2,
        "either phone can go now"
    );
    assert_eq!(count(&account, "#one-method-warning"), 0);
}

/// The first activity row's time, and the page's text.
async fn first_time(browser: &Browser) -> (String, String) {
    let html = browser.get_ok("/account/activity").await;
    let rows = activity_rows(&html);
    (rows[0].0.clone(), visible(&html))
}

#[actix_web::test]
async fn times_are_in_the_browsers_zone_remembered_on_the_account_else_the_site_default() {
    let server = TestServer::start().await;
    server.ctx.clock.freeze();
    let now = server.ctx.clock.now().and_utc();
    let written = |zone: chrono_tz::Tz| {
        let local = now.with_timezone(&zone);
        (
            local.format("%B %-d, %Y").to_string(),
            local.format("%-I:%M %p %Z").to_string(),
        )
    };

    // The browser reports Chicago (percent-encoded, as the script writes it).
    let chicago = browser_with(&server, CHROME_ON_WINDOWS, Some("America%2FChicago"));
    sign_up_on(&server, &chicago, "tom@example.com").await;
    let (at, text) = first_time(&chicago).await;
    let (day, time) = written(chrono_tz::America::Chicago);
    assert!(
        at.contains(&day) && at.contains(&time),
        "{at:?} vs {day} {time}"
    );
    assert!(text.contains("America/Chicago"), "{text}");

    // Remembered on the account: a browser that reports nothing shows Chicago too.
    let elsewhere = server.browser();
    server.sign_in_fully(&elsewhere, "tom@example.com").await;
    let (at, _) = first_time(&elsewhere).await;
    assert!(at.contains(&time), "remembered: {at:?} vs {time}");

    // Nobody reported a zone: the site's default.
    let plain = server.signed_in_browser("uli@example.com").await;
    let (at, text) = first_time(&plain).await;
    let default = verity::local_time::parse_zone(&server.ctx.settings.default_time_zone).unwrap();
    let (_, time) = written(default);
    assert!(at.contains(&time), "default zone: {at:?} vs {time}");
    assert!(text.contains(default.name()), "{text}");

    // A zone that isn't one is ignored, and not remembered.
    let bogus = browser_with(&server, CHROME_ON_WINDOWS, Some("Mars%2FOlympus"));
    sign_up_on(&server, &bogus, "vic@example.com").await;
    let (at, _) = first_time(&bogus).await;
    assert!(at.contains(&time), "invalid zone ignored: {at:?} vs {time}");
    let stored = server
        .ctx
        .db
        .run(|c| {
            Ok(verity::accounts::users::by_email(c, "vic@example.com")?
                .unwrap()
                .time_zone)
        })
        .await
        .unwrap();
    assert_eq!(stored, None);

    // Spanish pages write the same moment the Spanish way.
    let html = get_es(&chicago, &server, "/account/activity").await;
    let at = activity_rows(&html)[0].0.clone();
    let local = now.with_timezone(&chrono_tz::America::Chicago);
    let half = if local.format("%p").to_string() == "AM" {
        "a. m."
    } else {
        "p. m."
    };
    assert!(
        at.contains(&format!("{} {half}", local.format("%-I:%M"))) && at.contains(" de "),
        "{at:?}"
    );
}

#[actix_web::test]
async fn the_pages_with_times_load_the_script_that_reports_the_zone() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("wil@example.com").await;
    for path in ["/account", "/account/activity"] {
        let html = browser.get_ok(path).await;
        let doc = scraper::Html::parse_document(&html);
        let src = doc
            .select(&scraper::Selector::parse("script[src$=\"/timezone.js\"]").unwrap())
            .next()
            .and_then(|s| s.value().attr("src"))
            .unwrap_or_else(|| panic!("{path} loads timezone.js"))
            .to_string();
        let res = browser.get(&src).await;
        assert_eq!(res.status(), 200, "{src}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        let body = res.text().await.unwrap();
        assert!(body.contains("resolvedOptions().timeZone") && body.contains("verity_tz="));
    }
}

/// The error summary: the links it holds, and the text of each field's own message.
fn summary_links(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    doc.select(&scraper::Selector::parse(".usa-alert--error[role=\"alert\"] a").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_string))
        .collect()
}

/// Each field named: marked invalid, described by its message.
fn assert_field_flagged(html: &str, field: &str, message_id: &str) {
    let doc = scraper::Html::parse_document(html);
    let input = doc
        .select(&scraper::Selector::parse(&format!("#{field}")).unwrap())
        .next()
        .unwrap_or_else(|| panic!("a field #{field}"));
    let classes = input.value().attr("class").unwrap_or("");
    assert!(
        classes.contains("error"),
        "#{field} marked invalid: {classes}"
    );
    assert_eq!(
        input
            .value()
            .attr("aria-describedby")
            .map(|d| d.contains(message_id)),
        Some(true),
        "#{field}"
    );
    assert!(
        text_of(html, &format!("#{message_id}")).is_some_and(|t| !t.trim().is_empty()),
        "#{message_id}"
    );
}

#[actix_web::test]
async fn the_support_form_names_every_bad_field_at_once_in_a_summary() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.get_ok("/support").await;
    let res = browser
        .post(
            "/support",
            &[
                ("csrf", &csrf_of(&page)),
                ("category", ""),
                ("contact_email", "not an address"),
                ("message", "  "),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(
        summary_links(&html),
        ["#category", "#contact_email", "#message"]
    );
    assert_field_flagged(&html, "category", "category-error");
    assert_field_flagged(&html, "contact_email", "email-error");
    assert_field_flagged(&html, "message", "message-error");
    assert!(server.outbox_for("not an address").await.is_empty());

    // One bad field: only that one.
    let res = browser
        .post(
            "/support",
            &[
                ("csrf", &csrf_of(&page)),
                ("category", "other"),
                ("contact_email", "ann@example.com"),
                ("message", ""),
            ],
        )
        .await;
    let html = res.text().await.unwrap();
    assert_eq!(summary_links(&html), ["#message"]);

    // In Spanish.
    let res = browser
        .http
        .post(server.url("/support"))
        .header("accept-language", "es")
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("category", ""),
            ("contact_email", ""),
            ("message", ""),
        ])
        .send()
        .await
        .unwrap();
    let text = visible(&res.text().await.unwrap());
    assert!(text.contains("Elija el tema de su mensaje."), "{text}");
    assert!(
        !text.contains("Choose what your message is about."),
        "{text}"
    );
}

#[actix_web::test]
async fn change_password_and_profile_name_every_bad_field_at_once() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("pat@example.com").await;
    let page = browser.get_ok("/account/password").await;
    let res = browser
        .post(
            "/account/password",
            &[
                ("csrf", &csrf_of(&page)),
                ("current_password", "not the password"),
                ("password", "password1"),
                ("password_confirmation", "password2"),
            ],
        )
        .await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert_eq!(
        summary_links(&html),
        ["#current_password", "#password", "#password_confirmation"]
    );
    assert_field_flagged(&html, "current_password", "current-password-error");
    assert_field_flagged(&html, "password", "password-error");
    assert_field_flagged(&html, "password_confirmation", "confirmation-error");
    let text = visible(&html);
    assert!(
        text.contains("Your current password isn't right."),
        "{text}"
    );
    assert!(text.contains("too easy to guess"), "{text}");
    assert!(text.contains("don't match"), "{text}");

    let page = browser.get_ok("/account/profile").await;
    let long = "x".repeat(101);
    let res = browser
        .post(
            "/account/profile",
            &[
                ("csrf", &csrf_of(&page)),
                ("given_name", &long),
                ("family_name", "a\nb"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(summary_links(&html), ["#given_name", "#family_name"]);
    assert_field_flagged(&html, "given_name", "given-name-error");
    assert_field_flagged(&html, "family_name", "family-name-error");
}

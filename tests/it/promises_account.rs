//! README promises about the account console, phones, sign-up and sign-in limits that had no
//! test of their own (issue 11 §3): password change behind step-up and its "this wasn't me"
//! link, no account reset from a password reset, authenticator apps (never the last factor, at
//! most two, encrypted at rest), the primary address, signing out one session, the new-device
//! text, phone removal / add / refusal / wrong-code lock / "Update it", the sign-up limit per
//! IP, and the hard lock lifted by a password reset.

use futures_util::future::join_all;

use crate::harness::*;

const NEW_PASSWORD: &str = "velvet harbour quinoa mosaic";
const OTHER_PHONE: &str = "+12015550146";

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The page's text as a person reads it (entities decoded, tags gone).
fn visible(html: &str) -> String {
    scraper::Html::parse_document(html)
        .root_element()
        .text()
        .collect::<String>()
}

fn signed_in(page: &str) -> bool {
    page.contains("Signed in as")
}

async fn user_id(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(verity::accounts::users::by_email(c, &email)?.unwrap().id))
        .await
        .unwrap()
}

/// Messages to `to` whose subject or body contains `needle`.
async fn count_messages(server: &TestServer, to: &str, needle: &str) -> usize {
    server
        .outbox_for(to)
        .await
        .iter()
        .filter(|m| m.subject.contains(needle) || m.body.contains(needle))
        .count()
}

async fn audit_count(server: &TestServer, kind: &str) -> i64 {
    let kind = kind.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events;
            Ok(audit_events::table
                .filter(audit_events::kind.eq(&kind))
                .count()
                .get_result::<i64>(c)?)
        })
        .await
        .unwrap()
}

async fn phone_count(server: &TestServer, email: &str) -> usize {
    let uid = user_id(server, email).await;
    server
        .ctx
        .db
        .run(move |c| Ok(verity::mfa::methods::enrolled(c, &uid)?.phones.len()))
        .await
        .unwrap()
}

async fn totp_count(server: &TestServer, email: &str) -> usize {
    let uid = user_id(server, email).await;
    server
        .ctx
        .db
        .run(move |c| Ok(verity::mfa::methods::enrolled(c, &uid)?.totp.len()))
        .await
        .unwrap()
}

/// The "this wasn't me" link in a message body.
fn not_me_link_in(body: &str) -> String {
    body.split_whitespace()
        .find(|w| w.contains("/not-me?token="))
        .unwrap_or_else(|| panic!("a 'this wasn't me' link in: {body}"))
        .to_string()
}

/// Adds `extra` to the account signed in on `browser` and confirms it with the emailed link.
async fn add_confirmed_email(server: &TestServer, browser: &Browser, extra: &str) {
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", extra)],
        )
        .await;
    assert_eq!(res.status(), 303, "address added");
    let link = server.link_from_outbox(extra, "Confirm").await;
    let page = browser.get_abs(&link).await.text().await.unwrap();
    let res = browser
        .post(
            "/account/emails/confirm",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "address confirmed");
}

/// At a `/step-up?return_to=…` redirect: the password, then a backup code the harness holds.
/// Returns where the person is sent back to.
async fn step_up_with_backup_code(
    server: &TestServer,
    browser: &Browser,
    email: &str,
    step_up: &str,
) -> String {
    let page = browser.get_ok(step_up).await;
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
    assert_eq!(
        location(&res),
        "/mfa",
        "password first, then a second factor"
    );
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
    assert_eq!(res.status(), 303, "backup code accepted");
    location(&res)
}

async fn post_password_change(browser: &Browser, new: &str) -> reqwest::Response {
    let page = browser.get_ok("/account/password").await;
    browser
        .post(
            "/account/password",
            &[
                ("csrf", &csrf_of(&page)),
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await
}

// 1. Password change: a recent sign-in, and the emailed "this wasn't me" link.

#[actix_web::test]
async fn a_password_change_outside_the_step_up_window_waits_for_a_fresh_sign_in() {
    let server = TestServer::start().await;
    let email = "pat@example.com";
    let here = server.signed_in_browser(email).await;
    let there = server.browser();
    server.sign_in_fully(&there, email).await;

    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let res = post_password_change(&here, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    let step_up = location(&res);
    assert_eq!(step_up, "/step-up?return_to=%2Faccount%2Fpassword");
    // Nothing changed: no notice, the old password still works, the other session is on.
    assert_eq!(
        count_messages(&server, email, "password was changed").await,
        0
    );
    assert_eq!(
        location(&server.sign_in(&server.browser(), email, PASSWORD).await),
        "/mfa",
        "the old password still works"
    );
    assert!(signed_in(&there.get_ok("/").await));
    assert_eq!(audit_count(&server, "password_changed").await, 0);

    // After the step-up the same request goes through.
    let back = step_up_with_backup_code(&server, &here, email, &step_up).await;
    assert_eq!(back, "/account/password", "back to the password page");
    let res = post_password_change(&here, NEW_PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(visible(&res.text().await.unwrap()).contains("Password changed"));
    assert_eq!(
        count_messages(&server, email, "password was changed").await,
        1
    );
    assert_eq!(audit_count(&server, "password_changed").await, 1);
    assert_eq!(
        server
            .sign_in(&server.browser(), email, PASSWORD)
            .await
            .status(),
        401,
        "the old password is gone"
    );
    assert_eq!(
        location(&server.sign_in(&server.browser(), email, NEW_PASSWORD).await),
        "/mfa"
    );
}

#[actix_web::test]
async fn the_password_changed_email_links_to_this_wasnt_me_which_signs_out_everywhere() {
    let server = TestServer::start().await;
    let email = "pam@example.com";
    let here = server.signed_in_browser(email).await;
    add_confirmed_email(&server, &here, "pam.home@example.com").await;
    let res = post_password_change(&here, NEW_PASSWORD).await;
    assert_eq!(res.status(), 200);
    // Every confirmed address is told, each with a link.
    let notice = &server
        .wait_for_messages(email, "password was changed", 1)
        .await[0];
    let other = &server
        .wait_for_messages("pam.home@example.com", "password was changed", 1)
        .await[0];
    assert!(other.body.contains("/not-me?token="), "{}", other.body);
    let link = not_me_link_in(&notice.body);

    // Someone else changed it: the owner, on another device, opens the link.
    assert!(signed_in(&here.get_ok("/").await), "signed in before");
    let resets_before = count_messages(&server, email, "Reset your").await;
    let owner = server.browser();
    let page = owner.get_abs(&link).await.text().await.unwrap();
    assert!(page.contains("Sign out everywhere"), "{page}");
    let res = owner
        .post(
            "/not-me",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(visible(&res.text().await.unwrap())
        .contains("We've signed your account out on every device"));
    assert!(
        !signed_in(&here.get_ok("/").await),
        "the session that changed the password is over"
    );
    assert_eq!(
        server
            .wait_for_messages(email, "Reset your", resets_before + 1)
            .await
            .len(),
        resets_before + 1,
        "a password-reset link is emailed"
    );
    let reset_link = server.link_from_outbox(email, "Reset your").await;
    assert_eq!(
        location(&server.browser().get_abs(&reset_link).await),
        "/mfa",
        "the reset link is live (second factor next)"
    );
    let again = owner
        .post(
            "/not-me",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(again.status(), 400, "the link works once");
}

// 2. A password reset can't start an account reset.

#[actix_web::test]
async fn a_password_reset_cannot_start_an_account_reset() {
    let server = TestServer::start().await;
    let email = "ren@example.com";
    person_with_phone(&server, email).await;
    // Past the SIM-swap cooldown: an ordinary reset, with the phone on offer.
    server.ctx.clock.advance(73 * 3600);
    let uid = user_id(&server, email).await;

    let reset = server.browser();
    let page = reset.get_ok("/forgot-password").await;
    let res = reset
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let link = server.link_from_outbox(email, "Reset your").await;
    assert_eq!(location(&reset.get_abs(&link).await), "/mfa");
    let lost = reset.get_ok("/mfa/lost-phone").await;
    assert!(
        !lost.contains("Reset my sign-in methods"),
        "no account reset offered in a password reset: {lost}"
    );
    assert!(lost.contains("sign in with your password and choose"));
    // The page has no such form; the request is forged with this browser's CSRF token.
    let csrf = csrf_of(&reset.get_ok("/mfa").await);
    let res = reset
        .post("/mfa/lost-phone/account-reset", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 400);
    assert!(visible(&res.text().await.unwrap()).contains("Sign in with your password first"));
    assert_eq!(
        count_messages(&server, email, "Confirm your Verity account reset").await,
        0
    );
    assert!(verity::recovery::account_reset::pending(&server.ctx, &uid)
        .await
        .unwrap()
        .is_none());

    // The same request after the password is offered and accepted.
    let signing_in = server.browser();
    let res = server.sign_in(&signing_in, email, PASSWORD).await;
    assert_eq!(location(&res), "/mfa");
    let lost = signing_in.get_ok("/mfa/lost-phone").await;
    assert!(lost.contains("Reset my sign-in methods"));
    let res = signing_in
        .post(
            "/mfa/lost-phone/account-reset",
            &[("csrf", &csrf_of(&lost))],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        server
            .wait_for_messages(email, "Confirm your Verity account reset", 1)
            .await
            .len(),
        1
    );
}

// 3. Authenticator apps: never the last factor, with an email; at most two; encrypted.

/// Signs up and enrols an authenticator app as the only second factor; returns the signed-in
/// browser and the app's secret.
async fn person_with_only_an_app(server: &TestServer, email: &str) -> (Browser, Vec<u8>) {
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(location(&res), "/mfa/setup");
    let page = browser.get_ok("/mfa/setup/totp").await;
    let secret = base32_decode(&text_of(&page, "code.secret").expect("the key is shown"));
    let code = verity::mfa::totp::code_at(&secret, server.ctx.clock.unix_now() as u64, 30);
    let res = browser
        .post(
            "/mfa/setup/totp",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert!(is_signed_in(&res), "app enrolled, signed in");
    (browser, secret)
}

/// The ids of the authenticator apps listed on the console.
fn app_ids(account: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(account);
    let sel = scraper::Selector::parse("li.authenticator-app").unwrap();
    doc.select(&sel)
        .filter_map(|e| e.value().attr("data-id"))
        .map(str::to_string)
        .collect()
}

/// How many "Remove" buttons the console offers for authenticator apps.
fn app_remove_buttons(account: &str) -> usize {
    scraper::Html::parse_document(account)
        .select(&scraper::Selector::parse("form[action='/account/totp/remove']").unwrap())
        .count()
}

async fn remove_app(browser: &Browser, id: &str) -> reqwest::Response {
    let account = browser.get_ok("/account").await;
    browser
        .post(
            "/account/totp/remove",
            &[("csrf", &csrf_of(&account)), ("id", id)],
        )
        .await
}

#[actix_web::test]
async fn the_last_authenticator_app_stays_a_second_is_removable_with_an_email_a_third_is_refused() {
    let server = TestServer::start().await;
    let email = "ada@example.com";
    let (browser, _) = person_with_only_an_app(&server, email).await;
    let account = browser.get_ok("/account").await;
    let first = app_ids(&account);
    assert_eq!(first.len(), 1);
    assert_eq!(
        app_remove_buttons(&account),
        0,
        "no Remove on the only factor"
    );

    // The only factor: refused, nothing removed, nobody told.
    let res = remove_app(&browser, &first[0]).await;
    assert_eq!(res.status(), 400);
    assert!(visible(&res.text().await.unwrap())
        .contains("This app is your only way to confirm it's you"));
    assert_eq!(totp_count(&server, email).await, 1);
    assert_eq!(count_messages(&server, email, "was removed").await, 0);

    // A second app (the most allowed).
    server.ctx.clock.advance(30);
    let page = browser.get_ok("/account/totp/add").await;
    let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
    let code = verity::mfa::totp::code_at(&secret, server.ctx.clock.unix_now() as u64, 30);
    let res = browser
        .post(
            "/account/totp/add",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(location(&res), "/account");
    assert_eq!(totp_count(&server, email).await, 2);
    assert_eq!(
        server.ctx.settings.security.max_authenticator_apps, 2,
        "README: at most 2 apps"
    );

    // A third is refused with the reason, before any key is shown.
    let res = browser.get("/account/totp/add").await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(
        visible(&html)
            .contains("You already have 2 authenticator apps, the most an account can have."),
        "{html}"
    );
    assert!(text_of(&html, "code.secret").is_none(), "no new key shown");
    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/totp/add",
            &[("csrf", &csrf_of(&account)), ("code", "123456")],
        )
        .await;
    assert_eq!(
        location(&res),
        "/account/totp/add",
        "no key waiting: nothing to confirm"
    );
    assert_eq!(totp_count(&server, email).await, 2);

    // One of two: removed, and every address hears about it with a "this wasn't me" link.
    let ids = app_ids(&account);
    assert_eq!(ids.len(), 2);
    assert_eq!(app_remove_buttons(&account), 2, "either can go now");
    let res = remove_app(&browser, &ids[0]).await;
    assert_eq!(location(&res), "/account");
    assert_eq!(totp_count(&server, email).await, 1);
    let notices: Vec<_> = server
        .outbox_for(email)
        .await
        .into_iter()
        .filter(|m| m.body.contains("An authenticator app was removed"))
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].subject.contains("sign-in methods changed"));
    not_me_link_in(&notices[0].body);

    // The remaining one is the last factor again.
    let res = remove_app(&browser, &ids[1]).await;
    assert_eq!(res.status(), 400);
    assert_eq!(totp_count(&server, email).await, 1);
}

#[actix_web::test]
async fn an_authenticator_app_secret_is_stored_encrypted() {
    use base64::Engine;
    let server = TestServer::start().await;
    let email = "eli@example.com";
    let (_, secret) = person_with_only_an_app(&server, email).await;
    let uid = user_id(&server, email).await;
    let (id, stored): (String, String) = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::totp_credentials as t;
            Ok(t::table
                .filter(t::user_id.eq(&uid))
                .select((t::id, t::secret_enc))
                .first(c)?)
        })
        .await
        .unwrap();

    // The column really holds this secret: it decrypts to it under the master key.
    let opened = server
        .ctx
        .master
        .decrypt(&stored, &format!("totp_credentials:{id}"))
        .expect("decrypts");
    assert_eq!(&opened[..], &secret[..]);

    // And no encoding of it appears in the column, nor its bytes in the decoded ciphertext.
    let base32 = verity::mfa::totp::secret_base32(&secret);
    let encodings = [
        base32.clone(),
        base32.to_lowercase(),
        hex::encode(&secret),
        hex::encode_upper(&secret),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&secret),
    ];
    for e in &encodings {
        assert!(!stored.contains(e.as_str()), "{e} found in {stored}");
    }
    assert!(stored.starts_with("v1."), "{stored}");
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(stored.trim_start_matches("v1."))
        .expect("base64url body");
    assert!(
        !body.windows(secret.len()).any(|w| w == &secret[..]),
        "the secret's bytes are not in the stored value"
    );
}

// 4. The primary address stays; "sign out" one session.

#[actix_web::test]
async fn the_primary_email_address_cannot_be_removed() {
    let server = TestServer::start().await;
    let email = "ivo@example.com";
    let browser = server.signed_in_browser(email).await;
    let kai = server.signed_in_browser("kai@example.com").await;
    let other_account = kai.get_ok("/account").await;
    let res = kai
        .post(
            "/account/emails/add",
            &[
                ("csrf", &csrf_of(&other_account)),
                ("email", "kai@work.example"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let foreign_id = hidden(&kai.get_ok("/account").await, "id");
    assert!(!foreign_id.is_empty());

    let account = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/account/emails/add",
            &[("csrf", &csrf_of(&account)), ("email", "ivo@home.example")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let account = browser.get_ok("/account").await;
    let doc = scraper::Html::parse_document(&account);
    let li = scraper::Selector::parse("ul.phones li").unwrap();
    let remove = scraper::Selector::parse("form[action='/account/emails/remove']").unwrap();
    let primary = doc
        .select(&li)
        .find(|e| {
            e.text()
                .collect::<String>()
                .contains("primary (you sign in with it)")
        })
        .expect("the primary address is listed");
    assert!(primary.text().collect::<String>().contains(email));
    assert!(
        primary.select(&remove).next().is_none(),
        "no Remove button on the primary"
    );

    // Forged requests: the primary has no row id; another account's row isn't ours.
    for id in ["", foreign_id.as_str()] {
        let res = browser
            .post(
                "/account/emails/remove",
                &[("csrf", &csrf_of(&account)), ("id", id)],
            )
            .await;
        assert_eq!(res.status(), 400, "id {id:?}");
        assert!(visible(&res.text().await.unwrap()).contains("the primary address always stays"));
    }
    assert!(browser.get_ok("/account").await.contains(email));
    assert!(kai.get_ok("/account").await.contains("kai@work.example"));
    assert_eq!(count_messages(&server, email, "was removed").await, 0);
    assert_eq!(
        location(&server.sign_in(&server.browser(), email, PASSWORD).await),
        "/mfa",
        "the primary still signs in"
    );

    // Positive control: the extra address is removable.
    let extra_id = hidden(&account, "id");
    let res = browser
        .post(
            "/account/emails/remove",
            &[("csrf", &csrf_of(&account)), ("id", &extra_id)],
        )
        .await;
    assert_eq!(location(&res), "/account");
    assert!(!browser
        .get_ok("/account")
        .await
        .contains("ivo@home.example"));
}

/// The id of the session marked "this browser" on that browser's own console.
async fn own_session_id(browser: &Browser) -> String {
    let account = browser.get_ok("/account").await;
    let doc = scraper::Html::parse_document(&account);
    let li = scraper::Selector::parse("ul.phones li").unwrap();
    let input =
        scraper::Selector::parse("form[action='/account/sessions/end'] input[name=session]")
            .unwrap();
    doc.select(&li)
        .find(|e| e.text().collect::<String>().contains("this browser"))
        .and_then(|e| e.select(&input).next())
        .and_then(|e| e.value().attr("value"))
        .expect("this browser's session is listed")
        .to_string()
}

#[actix_web::test]
async fn signing_out_one_session_from_the_console_ends_only_that_one() {
    let server = TestServer::start().await;
    let email = "lou@example.com";
    let here = server.signed_in_browser(email).await;
    let laptop = server.browser();
    server.sign_in_fully(&laptop, email).await;
    let tablet = server.browser();
    server.sign_in_fully(&tablet, email).await;
    let stranger = server.signed_in_browser("mo@example.com").await;
    let laptop_session = own_session_id(&laptop).await;
    let stranger_session = own_session_id(&stranger).await;
    let account = here.get_ok("/account").await;
    assert_eq!(account.matches("last seen").count(), 3);

    // Someone else's session isn't ours to end.
    let res = here
        .post(
            "/account/sessions/end",
            &[("csrf", &csrf_of(&account)), ("session", &stranger_session)],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(visible(&res.text().await.unwrap()).contains("That session isn't one of yours."));
    assert!(signed_in(&stranger.get_ok("/").await));

    let res = here
        .post(
            "/account/sessions/end",
            &[("csrf", &csrf_of(&account)), ("session", &laptop_session)],
        )
        .await;
    assert_eq!(location(&res), "/account");
    // The laptop's cookie no longer signs in; the tablet and this browser are untouched.
    assert!(!signed_in(&laptop.get_ok("/").await));
    let res = laptop.get("/account").await;
    assert_eq!(location(&res), "/login?next=%2Faccount");
    assert!(signed_in(&tablet.get_ok("/").await));
    assert!(signed_in(&here.get_ok("/").await));
    assert_eq!(
        here.get_ok("/account").await.matches("last seen").count(),
        2
    );
}

// 5. The new-device alert goes by text too.

#[actix_web::test]
async fn the_new_device_alert_also_goes_by_text_to_the_phone() {
    // Three sign-ins by text within seconds.
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "noa@example.com";
    person_with_phone(&server, email).await;
    assert_eq!(
        count_messages(&server, TEST_PHONE, "new sign-in").await,
        0,
        "the first sign-in after sign-up is not a new device"
    );

    let (device, res) = sign_in_with_phone(&server, email).await;
    assert!(is_signed_in(&res));
    let texts: Vec<_> = server
        .outbox_for(TEST_PHONE)
        .await
        .into_iter()
        .filter(|m| m.body.contains("new sign-in"))
        .collect();
    assert_eq!(texts.len(), 1, "one text for the new device");
    assert!(texts[0].body.contains("127.0.0.1"), "{}", texts[0].body);
    assert_eq!(count_messages(&server, email, "New sign-in").await, 1);

    // The same browser again: no second alert.
    let id = phone_id(&server, email).await;
    let home = device.get_ok("/").await;
    device.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    let res = server.sign_in(&device, email, PASSWORD).await;
    assert_eq!(location(&res), "/mfa");
    assert!(is_signed_in(
        &pass_phone_factor(&server, &device, &id).await
    ));
    assert_eq!(count_messages(&server, TEST_PHONE, "new sign-in").await, 1);

    // The link in the text works like the email's.
    let link = not_me_link_in(&texts[0].body);
    let owner = server.browser();
    let page = owner.get_abs(&link).await.text().await.unwrap();
    let res = owner
        .post(
            "/not-me",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        !signed_in(&device.get_ok("/").await),
        "signed out everywhere"
    );
}

// 6. Phones: removal, adding, "already on your account", the wrong-code lock, "Update it".

#[actix_web::test]
async fn removing_a_phone_tells_the_removed_number_and_every_email_address() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "oda@example.com";
    let first = person_with_phone(&server, email).await;
    add_confirmed_email(&server, &first, "oda.work@example.com").await;
    // Backup codes, so the phone isn't the last factor.
    let account = first.get_ok("/account").await;
    let res = first
        .post("/account/backup-codes", &[("csrf", &csrf_of(&account))])
        .await;
    assert_eq!(location(&res), "/account/backup-codes");
    let mut codes = codes_of(&first.get_ok("/account/backup-codes").await);
    assert_eq!(codes.len(), 10);
    let id = phone_id(&server, email).await;

    // A session confirmed by that very phone may not remove it now something else exists.
    let account = first.get_ok("/account").await;
    let res = first
        .post(
            "/account/phones/remove",
            &[("csrf", &csrf_of(&account)), ("phone", &id)],
        )
        .await;
    assert!(
        location(&res).starts_with("/step-up?"),
        "{}",
        location(&res)
    );
    assert_eq!(phone_count(&server, email).await, 1);

    // Signed in with a backup code instead.
    let b = server.browser();
    assert_eq!(location(&server.sign_in(&b, email, PASSWORD).await), "/mfa");
    let mfa = b.get_ok("/mfa?method=backup").await;
    let res = b
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&mfa)),
                ("method", "backup"),
                ("code", &codes.pop().unwrap()),
            ],
        )
        .await;
    assert!(is_signed_in(&res));
    let removal_texts = count_messages(&server, TEST_PHONE, "was changed on").await;
    assert_eq!(removal_texts, 0);
    let account = b.get_ok("/account").await;
    let res = b
        .post(
            "/account/phones/remove",
            &[("csrf", &csrf_of(&account)), ("phone", &id)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = visible(&res.text().await.unwrap());
    assert!(page.contains("Phone number removed"), "{page}");
    assert!(page.contains("0123") && page.contains("was removed"));
    assert_eq!(phone_count(&server, email).await, 0);
    assert_eq!(audit_count(&server, "phone_removed").await, 1);

    // The removed number: one text with a "this wasn't me" link.
    let texts: Vec<_> = server
        .outbox_for(TEST_PHONE)
        .await
        .into_iter()
        .filter(|m| m.body.contains("was changed on"))
        .collect();
    assert_eq!(texts.len(), 1);
    not_me_link_in(&texts[0].body);
    // Every confirmed address.
    for address in [email, "oda.work@example.com"] {
        let mails: Vec<_> = server
            .outbox_for(address)
            .await
            .into_iter()
            .filter(|m| m.subject.contains("phone numbers changed"))
            .collect();
        assert_eq!(mails.len(), 1, "{address}");
        assert!(mails[0].body.contains("was removed"), "{}", mails[0].body);
        not_me_link_in(&mails[0].body);
    }
}

async fn submit_number(browser: &Browser, number: &str) -> reqwest::Response {
    let page = browser.get_ok("/account/phones/change").await;
    browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", number),
                ("channel", "sms"),
            ],
        )
        .await
}

async fn submit_code(browser: &Browser, code: &str) -> reqwest::Response {
    let page = browser.get_ok("/account/phones/change").await;
    browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", code)],
        )
        .await
}

#[actix_web::test]
async fn adding_a_phone_from_the_console_and_adding_it_twice_is_refused() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "pia@example.com";
    let browser = server.signed_in_browser(email).await;
    assert_eq!(phone_count(&server, email).await, 0);

    let res = browser.get("/account/phones/start").await;
    assert_eq!(location(&res), "/account/phones/change");
    assert!(browser
        .get_ok("/account/phones/change")
        .await
        .contains("Add a phone number"));
    assert_eq!(
        location(&submit_number(&browser, OTHER_PHONE).await),
        "/account/phones/change"
    );
    let code = newest_code(&server, OTHER_PHONE).await;
    assert_eq!(
        location(&submit_code(&browser, &code).await),
        "/account/phones/change"
    );
    let review = browser.get_ok("/account/phones/change").await;
    assert!(review.contains("Check and confirm") && review.contains("0146"));
    assert!(!review.contains("Old number"), "nothing is replaced");
    let res = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&review)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let receipt = visible(&res.text().await.unwrap());
    assert!(receipt.contains("Added"), "{receipt}");
    assert_eq!(phone_count(&server, email).await, 1);
    assert_eq!(audit_count(&server, "phone_added").await, 1);

    // Notices: the email with its link, a text to the new number.
    let mails: Vec<_> = server
        .outbox_for(email)
        .await
        .into_iter()
        .filter(|m| m.subject.contains("phone numbers changed"))
        .collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body.contains("was added"), "{}", mails[0].body);
    not_me_link_in(&mails[0].body);
    assert!(server.outbox_for(OTHER_PHONE).await[0]
        .body
        .contains("is now on your"));
    let shown = text_of(&browser.get_ok("/account").await, "main").unwrap_or_default();
    assert!(shown.contains("0146"), "{shown}");

    // The same number again: refused by name, no code sent, nothing added.
    let texts_before = server.outbox_for(OTHER_PHONE).await.len();
    browser.get("/account/phones/start").await;
    let res = submit_number(&browser, "(201) 555-0146").await;
    assert_eq!(res.status(), 422);
    assert!(visible(&res.text().await.unwrap()).contains("That number is already on your account."));
    assert_eq!(server.outbox_for(OTHER_PHONE).await.len(), texts_before);
    assert_eq!(phone_count(&server, email).await, 1);
}

#[actix_web::test]
async fn wrong_codes_lock_the_phone_change_and_then_the_right_code_is_refused() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "quy@example.com";
    let browser = server.signed_in_browser(email).await;
    let max = server.ctx.settings.security.mfa_max_failures;
    browser.get("/account/phones/start").await;
    assert_eq!(
        location(&submit_number(&browser, OTHER_PHONE).await),
        "/account/phones/change"
    );
    let code = newest_code(&server, OTHER_PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for n in 1..max {
        let res = submit_code(&browser, wrong).await;
        assert_eq!(res.status(), 422, "wrong code {n}");
        let page = visible(&res.text().await.unwrap());
        assert!(page.contains("That code didn't work"), "{page}");
        if max - n == 1 {
            assert!(page.contains("You have 1 try left"), "{page}");
        }
    }
    let lock_mail = "Too many wrong security codes";
    assert_eq!(count_messages(&server, email, lock_mail).await, 0);
    assert_eq!(audit_count(&server, "mfa_locked").await, 0);
    let res = submit_code(&browser, wrong).await;
    assert_eq!(res.status(), 429, "wrong code {max}: locked");
    assert!(visible(&res.text().await.unwrap())
        .contains("Too many wrong codes. For your security, this step is locked for 10 minutes."));
    assert_eq!(
        count_messages(&server, email, lock_mail).await,
        1,
        "the person is emailed"
    );
    assert_eq!(audit_count(&server, "mfa_locked").await, 1);

    // The right code is refused while the lock holds; nothing moves on.
    let res = submit_code(&browser, &code).await;
    assert_eq!(res.status(), 429);
    assert!(visible(&res.text().await.unwrap()).contains("Too many wrong codes"));
    let page = browser.get_ok("/account/phones/change").await;
    assert!(page.contains("Enter the code"), "still at the code step");
    let res = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&page)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(res.status(), 400, "no review without the code");
    assert_eq!(phone_count(&server, email).await, 0);

    // Once the lock has passed (clock moved), a new code works.
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.mfa_lock_secs as i64 + 1);
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/resend",
            &[("csrf", &csrf_of(&page)), ("channel", "sms")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let code = newest_code(&server, OTHER_PHONE).await;
    assert_eq!(
        location(&submit_code(&browser, &code).await),
        "/account/phones/change"
    );
    assert!(browser
        .get_ok("/account/phones/change")
        .await
        .contains("Check and confirm"));
}

#[actix_web::test]
async fn update_it_on_the_yearly_review_leads_into_the_phone_change() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "rae@example.com";
    person_with_phone(&server, email).await;
    let id = phone_id(&server, email).await;
    server.ctx.clock.advance(366 * 86400);
    let (b, res) = sign_in_with_phone(&server, email).await;
    let review = location(&res);
    assert!(review.starts_with("/account/phones/review?"), "{review}");
    let page = b.get_ok(&review).await;
    let doc = scraper::Html::parse_document(&page);
    let update = doc
        .select(&scraper::Selector::parse("a").unwrap())
        .find(|a| a.text().collect::<String>().contains("Update it"))
        .and_then(|a| a.value().attr("href"))
        .expect("an 'Update it' link")
        .to_string();
    assert_eq!(update, format!("/account/phones/start?phone={id}"));

    // Straight into the change of that number (the sign-in just confirmed it).
    let res = b.get(&update).await;
    assert_eq!(location(&res), "/account/phones/change");
    let page = b.get_ok("/account/phones/change").await;
    assert!(page.contains("Change +1"), "{page}");
    assert_eq!(
        location(&submit_number(&b, OTHER_PHONE).await),
        "/account/phones/change"
    );
    let code = newest_code(&server, OTHER_PHONE).await;
    assert_eq!(
        location(&submit_code(&b, &code).await),
        "/account/phones/change"
    );
    let review_page = b.get_ok("/account/phones/change").await;
    let res = b
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&review_page)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(visible(&res.text().await.unwrap()).contains("was replaced by"));
    assert_eq!(audit_count(&server, "phone_changed").await, 1);

    // The new number is fresh: the next sign-in isn't asked about it.
    let c = server.browser();
    assert_eq!(location(&server.sign_in(&c, email, PASSWORD).await), "/mfa");
    let mfa = c.get_ok("/mfa").await;
    let phone = hidden(&mfa, "phone");
    let page = c.get_ok("/mfa").await;
    let res = c
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", &phone),
                ("channel", "sms"),
            ],
        )
        .await;
    let page = c.get_text(&location(&res)).await;
    let code = newest_code(&server, OTHER_PHONE).await;
    let res = c
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "phone"),
                ("phone", &phone),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(location(&res), "/", "no review of the new number");
}

// 7. Sign-ups per IP.

#[actix_web::test]
async fn sign_ups_from_one_address_are_limited_per_hour() {
    let server = TestServer::start_with(|s| s.trust_forwarded_for = true).await;
    let limit = server.ctx.settings.security.signups_per_ip_per_hour as usize;
    assert_eq!(limit, 20, "README's default");
    let browser = server.browser();
    let csrf = csrf_of(&browser.get_ok("/signup").await);
    let sign_up = |email: String, ip: &'static str| {
        let (browser, csrf) = (&browser, &csrf);
        async move {
            browser
                .post_via_proxy(
                    "/signup",
                    &[
                        ("csrf", csrf.as_str()),
                        ("email", email.as_str()),
                        ("terms", "accepted"),
                        ("authz", ""),
                    ],
                    ip,
                )
                .await
        }
    };
    for i in 1..=limit {
        let res = sign_up(format!("s{i}@example.com"), "198.51.100.7").await;
        assert_eq!(res.status(), 200, "sign-up {i} is inside the limit");
        assert!(visible(&res.text().await.unwrap()).contains("Check your email"));
    }
    let res = sign_up("over@example.com".into(), "198.51.100.7").await;
    assert_eq!(res.status(), 429);
    let page = visible(&res.text().await.unwrap());
    assert!(
        page.contains(
            "Too many sign-ups from your network in the last hour. Please try again later."
        ),
        "{page}"
    );
    // Another address is still fine.
    let res = sign_up("elsewhere@example.com".into(), "198.51.100.8").await;
    assert_eq!(res.status(), 200);

    // The last one inside the limit and the other address got links; the refused one didn't.
    let last = format!("s{limit}@example.com");
    server.link_from_outbox(&last, "Confirm your email").await;
    server
        .link_from_outbox("elsewhere@example.com", "Confirm your email")
        .await;
    assert!(server.outbox_for("over@example.com").await.is_empty());
    let refused_account = server
        .ctx
        .db
        .run(|c| verity::accounts::users::by_email(c, "over@example.com"))
        .await
        .unwrap();
    assert!(
        refused_account.is_none(),
        "no account for the refused sign-up"
    );
}

// 8. The hard lock, and a password reset lifting it.

async fn wrong_passwords(server: &TestServer, email: &str, n: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(n);
    let attempts: Vec<usize> = (0..n).collect();
    for chunk in attempts.chunks(4) {
        let answers = join_all(chunk.iter().map(|i| async move {
            let res = server
                .sign_in(&server.browser(), email, &format!("wrong guess {i}"))
                .await;
            res.status().as_u16()
        }))
        .await;
        statuses.extend(answers);
    }
    statuses
}

#[actix_web::test]
async fn a_hundred_wrong_passwords_lock_the_account_until_a_password_reset() {
    // The per-IP backoff and the 15-minute pauses (whose end lives in the short-lived store)
    // are set out of the way, so only the hard limit acts.
    let server = TestServer::start_with(|s| {
        s.security.password_failures_per_ip = 1000;
        s.security.password_failures_account_lock = 1000;
    })
    .await;
    let hard = server.ctx.settings.security.password_failures_hard_limit as usize;
    assert_eq!(hard, 100, "README's default");
    let email = "sam@example.com";
    let owner = server.signed_in_browser(email).await;

    // Positive control: one short of the limit, the right password still works (and a
    // success starts the count afresh).
    let statuses = wrong_passwords(&server, email, hard - 1).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(
        location(&server.sign_in(&server.browser(), email, PASSWORD).await),
        "/mfa"
    );

    let statuses = wrong_passwords(&server, email, hard - 1).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let res = server
        .sign_in(&server.browser(), email, "wrong guess, the hundredth")
        .await;
    assert_eq!(res.status(), 429);
    let page = visible(&res.text().await.unwrap());
    assert!(
        page.contains("sign-in is locked until its password is reset"),
        "{page}"
    );
    assert!(page.contains("Reset your password"));
    let mail = server
        .wait_for_messages(email, "is locked until you reset your password", 1)
        .await;
    assert_eq!(mail.len(), 1);
    // The e-mail says what really lifts the lock (a password reset, not waiting) and links it.
    assert!(
        mail[0].body.contains("until you reset your password"),
        "{}",
        mail[0].body
    );
    assert!(
        mail[0].body.contains("/forgot-password"),
        "{}",
        mail[0].body
    );
    assert!(mail[0].body.contains("/help"), "{}", mail[0].body);

    // Locked: the right password, from anywhere, later, is refused the same way.
    server.ctx.clock.advance(86400 * 2);
    let res = server.sign_in(&server.browser(), email, PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(visible(&res.text().await.unwrap()).contains("locked until its password is reset"));

    // A completed password reset (link + second factor) lifts it.
    let reset = server.browser();
    let page = reset.get_ok("/forgot-password").await;
    reset
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await;
    let link = server.link_from_outbox(email, "Reset your").await;
    assert_eq!(location(&reset.get_abs(&link).await), "/mfa");
    let mfa = reset.get_ok("/mfa?method=backup").await;
    let res = reset
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&mfa)),
                ("method", "backup"),
                ("code", &server.take_backup_code(email)),
            ],
        )
        .await;
    assert_eq!(location(&res), "/reset-password/new");
    let form = reset.get_ok("/reset-password/new").await;
    let res = reset
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
    assert!(!signed_in(&owner.get_ok("/").await));
    let b = server.browser();
    let res = server.sign_in(&b, email, NEW_PASSWORD).await;
    assert_eq!(location(&res), "/mfa", "sign-in works again");
    let res = server.pass_second_factor(&b, email, res).await;
    assert!(is_signed_in(&res));
}

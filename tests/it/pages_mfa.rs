//! The second-factor and phone pages as a person reads them (issue 12): every page in Spanish
//! with no English left, the number just typed shown whole (and only that one), "Wrong number?
//! Change it", the recommendation of a second method with "Skip for now", the authenticator key
//! in groups of four, step indicators with a way back, and "N tries left" in both languages.

use crate::harness::*;
use scraper::{Html, Selector};
use verity::i18n::Lang;

const NEW: &str = "+12015550146";
const NEW_TYPED: &str = "(201) 555-0146";
const NEW_SHOWN: &str = "+1 201-555-0146";
const OLD_SHOWN: &str = "+1 201-555-0123";
const OLD_MASKED: &str = "+1 ••• ••• 0123";

async fn get_es(b: &Browser, server: &TestServer, path: &str) -> (u16, String) {
    let res = b
        .http
        .get(server.url(path))
        .header("accept-language", "es")
        .send()
        .await
        .expect("GET");
    (res.status().as_u16(), res.text().await.expect("body"))
}

async fn post_es(
    b: &Browser,
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    b.http
        .post(server.url(path))
        .header("accept-language", "es")
        .form(form)
        .send()
        .await
        .expect("POST")
}

fn lang_of(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("html").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|h| h.value().attr("lang"))
        .unwrap_or("")
        .to_string()
}

/// The words a person sees: text nodes and the attributes a screen reader speaks, whitespace
/// collapsed.
fn visible(html: &str) -> String {
    let doc = Html::parse_document(html);
    let mut words: Vec<String> = doc.root_element().text().map(str::to_string).collect();
    let sel = Selector::parse("[alt], [aria-label], [title], [placeholder]").unwrap();
    for e in doc.select(&sel) {
        for a in ["alt", "aria-label", "title", "placeholder"] {
            if let Some(v) = e.value().attr(a) {
                words.push(v.to_string());
            }
        }
    }
    words
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every English sentence of our locale files (messages without variables, longer than a few
/// words): none may be left on a Spanish page.
fn english_sentences() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/en");
    let mut out = Vec::new();
    for file in ["mfa.ftl", "phone.ftl", "common.ftl"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("locale file");
        for line in text.lines() {
            let Some((key, value)) = line.split_once(" = ") else {
                continue;
            };
            let value = value.trim();
            if key.starts_with(char::is_alphabetic)
                && !value.contains('{')
                && value.split_whitespace().count() >= 3
                && Lang::Es.t(key.trim()) != value
            {
                out.push(value.to_string());
            }
        }
    }
    assert!(out.len() > 40, "the sentences were found");
    out
}

/// A Spanish page: `lang="es"`, these Spanish messages shown, no English sentence left.
fn assert_spanish(html: &str, keys: &[&str]) {
    assert_eq!(lang_of(html), "es", "{html}");
    let shown = visible(html);
    for key in keys {
        let es = Lang::Es.t(key);
        assert!(shown.contains(&es), "{key}: «{es}» missing from: {shown}");
    }
    for en in english_sentences() {
        assert!(!shown.contains(&en), "English left: «{en}» in: {shown}");
    }
}

fn texts(html: &str, selector: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn attr_of(html: &str, selector: &str, attr: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr))
        .map(str::to_string)
}

/// The step indicator: (current step, total, current step's name).
fn step_of(html: &str) -> (String, String, String) {
    let current = texts(html, ".usa-step-indicator__current-step");
    let total = texts(html, ".usa-step-indicator__total-steps");
    let name = texts(html, ".usa-step-indicator__heading-text");
    assert!(
        current.len() == 1 && total.len() == 1 && name.len() == 1,
        "one step indicator: {html}"
    );
    (current[0].clone(), total[0].clone(), name[0].clone())
}

/// The link or button whose visible text is exactly `text`.
fn has_control(html: &str, text: &str) -> bool {
    texts(html, "a, button").iter().any(|t| t == text)
}

fn href_of_link(html: &str, text: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("a").unwrap();
    doc.select(&sel)
        .find(|a| a.text().collect::<String>().trim() == text)
        .and_then(|a| a.value().attr("href"))
        .map(str::to_string)
}

/// Password accepted on a new account: at /mfa/setup.
async fn at_enrolment(server: &TestServer, email: &str) -> Browser {
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
    browser
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string()
}

// 1. Enrolment in Spanish, step by step, with the number shown whole and "Wrong number?".

#[actix_web::test]
async fn enrolment_in_spanish_shows_the_typed_number_whole_and_lets_it_be_corrected() {
    let server = TestServer::start().await;
    let b = at_enrolment(&server, "sofia@example.com").await;

    let (status, page) = get_es(&b, &server, "/mfa/setup").await;
    assert_eq!(status, 200);
    assert_spanish(
        &page,
        &[
            "mfa-setup-title",
            "mfa-setup-intro",
            "mfa-setup-backup-hint",
        ],
    );
    assert_eq!(
        step_of(&page),
        ("1".into(), "de 3".into(), Lang::Es.t("mfa-step-choose"))
    );

    let (_, form) = get_es(&b, &server, "/mfa/setup/phone").await;
    assert_spanish(
        &form,
        &[
            "phone-number-label",
            "phone-number-hint",
            "phone-channel-voice",
        ],
    );
    assert_eq!(step_of(&form).0, "2");
    // Issue 12 §1: a styled tel input, each radio with its label beside it.
    assert!(attr_of(&form, "input[type=tel].usa-input", "name").as_deref() == Some("phone"));
    for id in ["channel-sms", "channel-voice"] {
        let radio = format!(
            "div.usa-radio > input.usa-radio__input#{id} + label.usa-radio__label[for={id}]"
        );
        assert!(attr_of(&form, &radio, "for").is_some(), "{radio}: {form}");
    }
    assert_eq!(
        href_of_link(&form, "Cancelar").as_deref(),
        Some("/mfa/setup")
    );

    // A typo: the code page shows the number whole, so it can be spotted.
    let res = post_es(
        &b,
        &server,
        "/mfa/setup/phone",
        &[
            ("csrf", &csrf_of(&form)),
            ("phone", "(201) 555-0124"),
            ("channel", "sms"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, code_page) = get_es(&b, &server, "/mfa/setup/phone").await;
    assert_spanish(
        &code_page,
        &["mfa-code-label", "mfa-wrong-number", "mfa-change-number"],
    );
    let shown = visible(&code_page);
    assert!(shown.contains("+1 201-555-0124"), "{shown}");
    assert!(
        shown.contains("por mensaje de texto al +1 201-555-0124"),
        "{shown}"
    );
    assert!(!shown.contains('•'), "nothing masked: {shown}");
    assert_eq!(step_of(&code_page).0, "2");
    let typo_code = newest_code(&server, "+12015550124").await;

    // "Wrong number? Change it": the form again, holding the number to correct.
    let res = post_es(
        &b,
        &server,
        "/mfa/setup/phone/change",
        &[("csrf", &csrf_of(&code_page))],
    )
    .await;
    assert_eq!(res.status(), 200);
    let again = res.text().await.unwrap();
    assert_eq!(
        attr_of(&again, "input[name=phone]", "value").as_deref(),
        Some("+1 201-555-0124")
    );
    // The typo's code confirms nothing any more.
    let res = b
        .post(
            "/mfa/setup/phone/confirm",
            &[("csrf", &csrf_of(&again)), ("code", &typo_code)],
        )
        .await;
    assert_eq!(
        location(&res),
        "/mfa/setup/phone",
        "nothing waiting for a code"
    );

    let res = b
        .post(
            "/mfa/setup/phone",
            &[
                ("csrf", &csrf_of(&again)),
                ("phone", TEST_PHONE_TYPED),
                ("channel", "voice"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, code_page) = get_es(&b, &server, "/mfa/setup/phone").await;
    assert!(
        visible(&code_page).contains(&format!("Llamamos al {OLD_SHOWN}")),
        "{code_page}"
    );
    let res = b
        .post(
            "/mfa/setup/phone/confirm",
            &[
                ("csrf", &csrf_of(&code_page)),
                ("code", &newest_code(&server, TEST_PHONE).await),
            ],
        )
        .await;
    assert!(is_signed_in(&res));
    assert_eq!(location(&res), "/mfa/another?next=%2F");
}

// 2. The second-method recommendation and "Skip for now".

#[actix_web::test]
async fn after_the_first_method_a_second_is_recommended_and_can_be_skipped() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let b = server.browser();
    server.create_account(&b, "tomas@example.com").await;
    // Signing in for a relying party: after the recommendation, back into its sign-in.
    let req = rp.auth_request(&["openid"]);
    let (url, res) = b.follow(b.get_abs(&req.url).await).await;
    assert!(url.contains("/login?authz="), "{url}");
    let login = res.text().await.unwrap();
    let res = b
        .post(
            "/login",
            &[
                ("csrf", &csrf_of(&login)),
                ("email", "tomas@example.com"),
                ("password", PASSWORD),
                ("authz", &hidden(&login, "authz")),
            ],
        )
        .await;
    assert_eq!(location(&res), "/mfa/setup");
    let page = b.get_ok("/mfa/setup/phone").await;
    b.post(
        "/mfa/setup/phone",
        &[
            ("csrf", &csrf_of(&page)),
            ("phone", TEST_PHONE_TYPED),
            ("channel", "sms"),
        ],
    )
    .await;
    let page = b.get_ok("/mfa/setup/phone").await;
    let res = b
        .post(
            "/mfa/setup/phone/confirm",
            &[
                ("csrf", &csrf_of(&page)),
                ("code", &newest_code(&server, TEST_PHONE).await),
            ],
        )
        .await;
    assert!(is_signed_in(&res), "the phone completes the sign-in");
    let to = location(&res);
    assert!(
        to.starts_with("/mfa/another?next=%2Fauthorize%2Fcontinue"),
        "{to}"
    );

    let (status, page) = get_es(&b, &server, &to).await;
    assert_eq!(status, 200);
    assert_spanish(
        &page,
        &[
            "mfa-another-title",
            "mfa-another-intro-phone",
            "mfa-another-totp",
            "mfa-another-backup",
            "mfa-another-skip",
        ],
    );
    assert_eq!(
        step_of(&page),
        ("3".into(), "de 3".into(), Lang::Es.t("mfa-step-backup"))
    );
    assert!(
        visible(&page).contains("durante 72 horas"),
        "the cooldown, from the settings"
    );
    let page = b.get_ok(&to).await;
    assert!(page.contains("Skip for now") && page.contains("Add an authenticator app"));
    let skip = href_of_link(&page, "Skip for now").expect("a Skip link");
    assert!(skip.starts_with("/authorize/continue?authz="), "{skip}");
    let (url, _) = b.follow(b.get(&skip).await).await;
    assert!(
        url.contains("/consent?authz="),
        "skipping goes on with the relying party's sign-in: {url}"
    );

    // Later, the page still recommends (one kind of method); backup codes from it come back
    // to where it was going, and then there is nothing left to recommend.
    let page = b.get_ok("/mfa/another?next=%2Faccount").await;
    let res = b
        .post(
            "/account/backup-codes",
            &[("csrf", &csrf_of(&page)), ("next", "/account")],
        )
        .await;
    assert_eq!(location(&res), "/account/backup-codes?next=%2Faccount");
    let codes = b.get_ok("/account/backup-codes?next=%2Faccount").await;
    assert_eq!(codes_of(&codes).len(), 10);
    assert_eq!(step_of(&codes).0, "3");
    assert_eq!(
        href_of_link(&codes, "I've saved my codes").as_deref(),
        Some("/account")
    );
    let res = b.get("/mfa/another?next=%2Faccount").await;
    assert_eq!(
        location(&res),
        "/account",
        "two kinds of method: nothing to recommend"
    );
    // A foreign `next` is never followed.
    let res = b
        .get("/mfa/another?next=https%3A%2F%2Fevil.example%2F")
        .await;
    assert_eq!(location(&res), "/");
}

#[actix_web::test]
async fn an_app_as_the_second_method_from_the_recommendation() {
    let server = TestServer::start().await;
    let b = person_with_phone(&server, "ugo@example.com").await;
    let page = b.get_ok("/mfa/another?next=%2F").await;
    let href = href_of_link(&page, "Add an authenticator app").expect("the app is offered");
    assert_eq!(href, "/mfa/another/totp?next=%2F");
    let page = b.get_ok(&href).await;
    assert_eq!(step_of(&page).0, "3");
    assert_eq!(
        href_of_link(&page, "Cancel").as_deref(),
        Some("/mfa/another?next=%2F")
    );
    let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
    let res = b
        .post(&href, &[("csrf", &csrf_of(&page)), ("code", "000000")])
        .await;
    assert_eq!(res.status(), 422, "a wrong code keeps the page");
    let html = res.text().await.unwrap();
    assert!(visible(&html).contains("That code didn't work"), "{html}");
    let res = b
        .post(
            &href,
            &[
                ("csrf", &csrf_of(&page)),
                ("code", &totp_code(&server, &secret)),
            ],
        )
        .await;
    assert_eq!(location(&res), "/");
    let res = b.get("/mfa/another?next=%2F").await;
    assert_eq!(
        location(&res),
        "/",
        "phone and app: nothing more to recommend"
    );
}

#[actix_web::test]
async fn backup_codes_as_the_first_method_go_straight_on() {
    let server = TestServer::start().await;
    let b = at_enrolment(&server, "vera@example.com").await;
    let setup = b.get_ok("/mfa/setup").await;
    b.post("/mfa/setup/backup-codes", &[("csrf", &csrf_of(&setup))])
        .await;
    let (_, page) = get_es(&b, &server, "/mfa/setup/backup-codes").await;
    assert_spanish(
        &page,
        &[
            "mfa-backup-codes-title",
            "mfa-backup-codes-save-now",
            "mfa-backup-codes-saved",
        ],
    );
    assert_eq!(step_of(&page).0, "2");
    let res = b
        .post("/mfa/setup/backup-codes/done", &[("csrf", &csrf_of(&page))])
        .await;
    assert!(is_signed_in(&res));
    assert_eq!(location(&res), "/");
    let download = b.get("/account/backup-codes.txt").await;
    assert_eq!(location(&download), "/", "nothing shown after enrolment");
}

// 3. The authenticator key in groups of four; the link that means Cancel says Cancel.

#[actix_web::test]
async fn the_authenticator_key_is_grouped_in_fours_and_cancel_says_cancel() {
    let server = TestServer::start().await;
    let b = at_enrolment(&server, "wen@example.com").await;
    let page = b.get_ok("/mfa/setup/totp").await;
    let key = text_of(&page, "code.secret").expect("the key");
    let groups: Vec<&str> = key.split(' ').collect();
    assert_eq!(groups.len(), 8, "{key}");
    assert!(
        groups.iter().all(|g| g.len() == 4
            && g.chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))),
        "{key}"
    );
    assert_eq!(href_of_link(&page, "Cancel").as_deref(), Some("/mfa/setup"));
    assert!(!visible(&page).contains("Use a different method"));
    assert_eq!(step_of(&page).0, "2");

    let (_, page) = get_es(&b, &server, "/mfa/setup/totp").await;
    assert_spanish(
        &page,
        &[
            "mfa-totp-title",
            "mfa-totp-step-open",
            "mfa-totp-step-scan",
            "mfa-totp-qr-alt",
            "mfa-cancel",
        ],
    );
    // The same grouped key in the console.
    let secret = base32_decode(&key);
    let res = b
        .post(
            "/mfa/setup/totp",
            &[
                ("csrf", &csrf_of(&page)),
                ("code", &totp_code(&server, &secret)),
            ],
        )
        .await;
    assert!(is_signed_in(&res));
    let console = b.get_ok("/account/totp/add").await;
    let key = text_of(&console, "code.secret").unwrap();
    assert!(key.split(' ').all(|g| g.len() == 4), "{key}");
}

// 4. "N tries left" in both languages.

#[actix_web::test]
async fn tries_left_follow_the_plural_rules_of_each_language() {
    let server = TestServer::start_with(|s| s.security.mfa_warn_remaining = 9).await;
    let b = at_enrolment(&server, "xia@example.com").await;
    let page = b.get_ok("/mfa/setup/phone").await;
    b.post(
        "/mfa/setup/phone",
        &[
            ("csrf", &csrf_of(&page)),
            ("phone", TEST_PHONE_TYPED),
            ("channel", "sms"),
        ],
    )
    .await;
    let page = b.get_ok("/mfa/setup/phone").await;
    let code = newest_code(&server, TEST_PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = server.ctx.settings.security.mfa_max_failures;
    let mut seen = Vec::new();
    for i in 1..max {
        let remaining = max - i;
        let (res, lang) = if i % 2 == 0 {
            (
                b.post(
                    "/mfa/setup/phone/confirm",
                    &[("csrf", &csrf_of(&page)), ("code", wrong)],
                )
                .await,
                Lang::En,
            )
        } else {
            (
                post_es(
                    &b,
                    &server,
                    "/mfa/setup/phone/confirm",
                    &[("csrf", &csrf_of(&page)), ("code", wrong)],
                )
                .await,
                Lang::Es,
            )
        };
        assert_eq!(res.status(), 422);
        let alert = texts(&res.text().await.unwrap(), "[role=alert]").join(" ");
        seen.push((remaining, lang, alert));
    }
    let find = |n: u32| seen.iter().find(|(r, _, _)| *r == n).unwrap();
    // 9 left (Spanish, i = 1), 8 left (English), ..., 1 left (Spanish, i = 9).
    assert_eq!(find(9).1, Lang::Es);
    assert!(
        find(9)
            .2
            .contains("Le quedan 9 intentos antes de que este paso se bloquee durante 10 minutos."),
        "{:?}",
        find(9)
    );
    assert!(
        find(8)
            .2
            .contains("You have 8 tries left before this step is locked for 10 minutes."),
        "{:?}",
        find(8)
    );
    assert!(find(2).2.contains("You have 2 tries left"), "{:?}", find(2));
    assert!(
        find(1).2.contains("Le queda 1 intento antes"),
        "{:?}",
        find(1)
    );
    // The last wrong code locks the step: said in Spanish, with the minutes.
    let res = post_es(
        &b,
        &server,
        "/mfa/setup/phone/confirm",
        &[("csrf", &csrf_of(&page)), ("code", wrong)],
    )
    .await;
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    assert!(
        visible(&html).contains("este paso está bloqueado durante 10 minutos"),
        "{html}"
    );
}

// 5. Changing a number: steps, the new number whole, "Wrong number? Change it", Spanish.

#[actix_web::test]
async fn a_phone_change_in_spanish_shows_the_new_number_whole_and_masks_the_old_one() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let b = person_with_phone(&server, "yara@example.com").await;
    let id = phone_id(&server, "yara@example.com").await;
    let res = b.get(&format!("/account/phones/start?phone={id}")).await;
    assert_eq!(location(&res), "/account/phones/change");

    let (_, page) = get_es(&b, &server, "/account/phones/change").await;
    assert_spanish(
        &page,
        &[
            "phone-change-title",
            "phone-new-number-label",
            "phone-number-hint",
            "phone-send-code",
        ],
    );
    assert!(visible(&page).contains(&format!("Cambiar el {OLD_MASKED}")));
    assert_eq!(
        step_of(&page),
        ("2".into(), "de 4".into(), Lang::Es.t("phone-step-number"))
    );
    assert!(has_control(&page, "Cancelar"));
    assert!(attr_of(&page, "input[type=tel].usa-input", "name").as_deref() == Some("phone"));

    // A typo first.
    let res = post_es(
        &b,
        &server,
        "/account/phones/change/number",
        &[
            ("csrf", &csrf_of(&page)),
            ("phone", "(201) 555-0147"),
            ("channel", "sms"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, code_page) = get_es(&b, &server, "/account/phones/change").await;
    assert_spanish(
        &code_page,
        &[
            "phone-code-heading",
            "phone-wrong-number",
            "phone-change-it",
            "phone-cancel",
        ],
    );
    assert!(
        visible(&code_page).contains("Enviamos un código por mensaje de texto al +1 201-555-0147.")
    );
    assert_eq!(step_of(&code_page).0, "3");
    let typo_code = newest_code(&server, "+12015550147").await;
    let res = post_es(
        &b,
        &server,
        "/account/phones/change/wrong-number",
        &[("csrf", &csrf_of(&code_page))],
    )
    .await;
    assert_eq!(res.status(), 200);
    let again = res.text().await.unwrap();
    assert_eq!(step_of(&again).0, "2", "back at the number");
    assert_eq!(
        attr_of(&again, "input[name=phone]", "value").as_deref(),
        Some("+1 201-555-0147")
    );
    assert!(
        visible(&again).contains(&format!("Cambiar el {OLD_MASKED}")),
        "still replacing the same phone"
    );
    let res = b
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&again)), ("code", &typo_code)],
        )
        .await;
    assert_eq!(
        res.status(),
        400,
        "the typo's code can't advance the change"
    );

    let res = b
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&again)),
                ("phone", NEW_TYPED),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let code_page = b.get_ok("/account/phones/change").await;
    let shown = visible(&code_page);
    assert!(
        shown.contains(&format!("We sent a code to {NEW_SHOWN} by text message.")),
        "{shown}"
    );
    assert!(has_control(&code_page, "Change it") && has_control(&code_page, "Cancel"));
    let res = b
        .post(
            "/account/phones/change/code",
            &[
                ("csrf", &csrf_of(&code_page)),
                ("code", &newest_code(&server, NEW).await),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);

    // Check and confirm: the new number whole, the old one masked.
    let (_, review) = get_es(&b, &server, "/account/phones/change").await;
    assert_spanish(
        &review,
        &[
            "phone-review-heading",
            "phone-review-old",
            "phone-review-new",
            "phone-review-notices-replace",
        ],
    );
    assert_eq!(
        step_of(&review),
        ("4".into(), "de 4".into(), Lang::Es.t("phone-step-review"))
    );
    let shown = visible(&review);
    assert!(
        shown.contains(NEW_SHOWN) && shown.contains(OLD_MASKED),
        "{shown}"
    );
    assert!(
        !shown.contains(OLD_SHOWN),
        "the old number stays masked: {shown}"
    );
    assert!(has_control(&review, "Cancelar"));

    let res = post_es(
        &b,
        &server,
        "/account/phones/change/decision",
        &[("csrf", &csrf_of(&review)), ("decision", "confirm")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let receipt = res.text().await.unwrap();
    assert_spanish(
        &receipt,
        &[
            "phone-updated-title",
            "phone-updated-notices-replace",
            "phone-back-to-account",
        ],
    );
    let shown = visible(&receipt);
    assert!(
        shown.contains(&format!(
            "El {OLD_MASKED} se reemplazó por el {NEW_SHOWN} el "
        )),
        "{shown}"
    );
    // When, in the person's zone (here the site's default, New York), in Spanish.
    assert!(
        (shown.contains(" a. m. E") || shown.contains(" p. m. E")) && !shown.contains("UTC"),
        "{shown}"
    );

    // Everywhere else the number is masked: the challenge at the next sign-in.
    let other = server.browser();
    let res = server.sign_in(&other, "yara@example.com", PASSWORD).await;
    assert_eq!(location(&res), "/mfa");
    let (_, challenge) = get_es(&other, &server, "/mfa").await;
    let shown = visible(&challenge);
    assert!(
        shown.contains("+1 ••• ••• 0146") && !shown.contains(NEW_SHOWN),
        "{shown}"
    );
    assert_spanish(
        &challenge,
        &[
            "mfa-challenge-title",
            "mfa-no-phone-link",
            "mfa-call-instead",
        ],
    );
}

#[actix_web::test]
async fn the_step_up_in_front_of_a_phone_change_is_its_first_step() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let b = person_with_phone(&server, "zoe@example.com").await;
    let id = phone_id(&server, "zoe@example.com").await;
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 1);
    let res = b.get(&format!("/account/phones/start?phone={id}")).await;
    let step_up = location(&res);
    assert!(step_up.starts_with("/step-up?return_to="), "{step_up}");
    let page = b.get_ok(&step_up).await;
    let res = b
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
    let (_, challenge) = get_es(&b, &server, "/mfa").await;
    assert_eq!(
        step_of(&challenge),
        (
            "1".into(),
            "de 4".into(),
            Lang::Es.t("phone-step-confirm-you")
        )
    );
    assert_eq!(
        href_of_link(&challenge, "Cancelar").as_deref(),
        Some("/account")
    );
}

// 6. The other pages in Spanish: the challenge's methods, "I don't have my phone", the review.

#[actix_web::test]
async fn the_challenge_lost_phone_and_review_pages_speak_spanish() {
    let server = TestServer::start().await;
    let b = person_with_phone(&server, "ana@example.com").await;
    // A second kind of method, so the challenge offers others.
    let page = b.get_ok("/mfa/another?next=%2F").await;
    b.post(
        "/account/backup-codes",
        &[("csrf", &csrf_of(&page)), ("next", "/")],
    )
    .await;
    let (_, codes) = get_es(&b, &server, "/account/backup-codes?next=%2F").await;
    assert_spanish(
        &codes,
        &[
            "mfa-backup-codes-new-title",
            "mfa-backup-codes-download",
            "mfa-backup-codes-print",
        ],
    );
    let code = codes_of(&codes)[0].clone();

    // A year on (the phone is due for its "still yours?" review), another browser signs in.
    server.ctx.clock.advance(366 * 24 * 3600);
    let other = server.browser();
    let res = server.sign_in(&other, "ana@example.com", PASSWORD).await;
    assert_eq!(location(&res), "/mfa");
    let (_, page) = get_es(&other, &server, "/mfa?method=backup").await;
    assert_spanish(
        &page,
        &[
            "mfa-backup-instructions",
            "mfa-backup-code-label",
            "mfa-other-methods",
        ],
    );
    assert!(visible(&page).contains(&format!("Mensaje de texto o llamada a {OLD_MASKED}")));
    assert!(visible(&page).contains("Recordar este navegador durante 30 días"));
    let (_, lost) = get_es(&other, &server, "/mfa/lost-phone").await;
    assert_spanish(
        &lost,
        &[
            "mfa-lost-phone-title",
            "mfa-lost-phone-other-ways",
            "mfa-lost-phone-none-of-these",
        ],
    );
    assert!(
        visible(&lost).contains("Usar un código de respaldo (le quedan 10)"),
        "{lost}"
    );
    // A refusal in Spanish too.
    let res = post_es(
        &other,
        &server,
        "/mfa/verify",
        &[
            ("csrf", &csrf_of(&page)),
            ("method", "carrier-pigeon"),
            ("code", "1"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    let refused = res.text().await.unwrap();
    assert_eq!(lang_of(&refused), "es");
    assert!(
        visible(&refused).contains(&Lang::Es.t("mfa-choose-method")),
        "{refused}"
    );

    // "Is this still your number?" a year on: masked (not typed just now), in Spanish.
    let res = other
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", &code),
            ],
        )
        .await;
    assert!(is_signed_in(&res));
    let to = location(&res);
    assert!(to.starts_with("/account/phones/review?"), "{to}");
    let (_, review) = get_es(&other, &server, &to).await;
    assert_spanish(
        &review,
        &[
            "phone-review-why",
            "phone-review-yes",
            "phone-review-update",
        ],
    );
    assert!(visible(&review).contains(&format!("¿El {OLD_MASKED} sigue siendo su número?")));
}

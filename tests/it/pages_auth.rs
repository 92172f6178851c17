//! The sign-up, sign-in, lock, reset, consent and sign-out pages as a person sees them (issue
//! 12): each one in Spanish with no English sentence left, every form problem listed at once
//! in an error summary that links to its field, where the person is in a multi-step flow,
//! lock pages that link the way out (and a way out that works), and the language a sign-up
//! leaves on the account.

use scraper::{Html, Selector};

use crate::harness::*;

const NEW_PASSWORD: &str = "velvet harbour quinoa mosaic";

async fn get_in(b: &Browser, server: &TestServer, path: &str, lang: &str) -> reqwest::Response {
    b.http
        .get(server.url(path))
        .header("accept-language", lang)
        .send()
        .await
        .expect("GET")
}

async fn get_page(b: &Browser, server: &TestServer, path: &str, lang: &str) -> String {
    let res = get_in(b, server, path, lang).await;
    assert_eq!(res.status(), 200, "GET {path} in {lang}");
    res.text().await.expect("body")
}

async fn post_in(
    b: &Browser,
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
    lang: &str,
) -> reqwest::Response {
    b.http
        .post(server.url(path))
        .header("accept-language", lang)
        .form(form)
        .send()
        .await
        .expect("POST")
}

fn html_lang(html: &str) -> String {
    let doc = Html::parse_document(html);
    doc.select(&Selector::parse("html").unwrap())
        .next()
        .and_then(|h| h.value().attr("lang"))
        .unwrap_or("")
        .to_string()
}

/// The body's text pieces (one per text node), whitespace collapsed.
fn text_pieces(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let body = Selector::parse("body").unwrap();
    doc.select(&body)
        .flat_map(|b| b.text().map(str::to_string).collect::<Vec<_>>())
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty())
        .collect()
}

fn visible_text(html: &str) -> String {
    text_pieces(html).join(" ")
}

/// Sentences of the English page (two words or more) still found on the Spanish one;
/// `same_in_both` are names and data that read the same in any language.
fn english_left(en: &str, es: &str, same_in_both: &[&str]) -> Vec<String> {
    let spanish = visible_text(es);
    text_pieces(en)
        .into_iter()
        .filter(|piece| {
            piece
                .split_whitespace()
                .filter(|w| w.chars().any(|c| c.is_alphabetic()))
                .count()
                >= 2
        })
        .filter(|piece| !same_in_both.contains(&piece.as_str()))
        .filter(|piece| spanish.contains(piece.as_str()))
        .collect()
}

/// `es` is the Spanish version of the English page `en`: marked as Spanish, saying `spanish`,
/// with none of `en`'s sentences left.
fn assert_spanish(page: &str, en: &str, es: &str, spanish: &[&str], same_in_both: &[&str]) {
    assert_eq!(html_lang(en), "en", "{page} in English");
    assert_eq!(html_lang(es), "es", "{page} in Spanish");
    let text = visible_text(es);
    for sentence in spanish {
        assert!(
            text.contains(sentence),
            "{page}: {sentence:?} missing from\n{text}"
        );
    }
    let left = english_left(en, es, same_in_both);
    assert!(
        left.is_empty(),
        "{page}: English left on the Spanish page: {left:?}"
    );
}

fn texts_of(html: &str, selector: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    doc.select(&Selector::parse(selector).unwrap())
        .map(|e| e.text().collect::<Vec<_>>().join(" "))
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn attrs_of(html: &str, selector: &str, attr: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    doc.select(&Selector::parse(selector).unwrap())
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

/// "Step 2 of 4" as the step indicator says it (its "Step" is for screen readers).
fn step_of(html: &str) -> String {
    texts_of(html, ".usa-step-indicator__heading-counter")
        .into_iter()
        .next()
        .unwrap_or_default()
}

async fn stored_locale(server: &TestServer, email: &str) -> Option<String> {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(verity::accounts::users::by_email(c, &email)?.and_then(|u| u.locale)))
        .await
        .unwrap()
}

/// The newest link to `email` that contains `part`, whatever the language of its message
/// (waiting for it, as notices leave from a detached task).
async fn newest_link(server: &TestServer, email: &str, part: &str) -> String {
    for _ in 0..500 {
        let found = server.outbox_for(email).await.into_iter().find_map(|m| {
            m.body
                .split_whitespace()
                .find(|w| w.starts_with("http") && w.contains(part))
                .map(str::to_string)
        });
        if let Some(link) = found {
            return link;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no link with {part} to {email}");
}

async fn confirmation_link(server: &TestServer, email: &str) -> String {
    let link = newest_link(server, email, "/confirm-email?token=").await;
    link.trim_start_matches(&server.base).to_string()
}

/// The sign-up pages in `lang`: the form, its refusal, "check your email", "choose your
/// password" and its refusal, "email confirmed", and the used link.
async fn sign_up_pages(
    server: &TestServer,
    email: &str,
    lang: &str,
) -> Vec<(&'static str, String)> {
    let b = server.browser();
    let mut pages = Vec::new();
    let form = get_page(&b, server, "/signup", lang).await;
    let res = post_in(
        &b,
        server,
        "/signup",
        &[("csrf", &csrf_of(&form)), ("email", "nope")],
        lang,
    )
    .await;
    assert_eq!(res.status(), 422);
    pages.push(("sign-up refused", res.text().await.unwrap()));
    pages.push(("sign-up", form.clone()));
    let res = post_in(
        &b,
        server,
        "/signup",
        &[
            ("csrf", &csrf_of(&form)),
            ("email", email),
            ("terms", "accepted"),
        ],
        lang,
    )
    .await;
    assert_eq!(res.status(), 200);
    pages.push(("check your email", res.text().await.unwrap()));
    let link = confirmation_link(server, email).await;
    let choose = get_page(&b, server, &link, lang).await;
    let res = post_in(
        &b,
        server,
        "/confirm-email",
        &[
            ("csrf", &csrf_of(&choose)),
            ("token", &hidden(&choose, "token")),
            ("password", "password1"),
            ("password_confirmation", "password2"),
        ],
        lang,
    )
    .await;
    assert_eq!(res.status(), 422);
    pages.push(("choose password refused", res.text().await.unwrap()));
    pages.push(("choose password", choose.clone()));
    let res = post_in(
        &b,
        server,
        "/confirm-email",
        &[
            ("csrf", &csrf_of(&choose)),
            ("token", &hidden(&choose, "token")),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ],
        lang,
    )
    .await;
    assert_eq!(res.status(), 200);
    pages.push(("email confirmed", res.text().await.unwrap()));
    let res = get_in(&b, server, &link, lang).await;
    assert_eq!(res.status(), 400);
    pages.push(("used link", res.text().await.unwrap()));
    pages
}

#[actix_web::test]
async fn sign_up_in_spanish_is_all_spanish_and_the_account_keeps_the_language() {
    let server = TestServer::start().await;
    let en = sign_up_pages(&server, "ana@example.com", "en").await;
    let es = sign_up_pages(&server, "beto@example.com", "es").await;
    let spanish: &[(&str, &[&str])] = &[
        (
            "sign-up refused",
            &["Hay 2 problemas que corregir", "nombre@ejemplo.com"],
        ),
        (
            "sign-up",
            &[
                "Crear una cuenta",
                "Acepto las condiciones del servicio",
                "Paso 1 de 4",
            ],
        ),
        (
            "check your email",
            &[
                "Revise su correo",
                "Enviamos un mensaje a beto@example.com",
                "Paso 2 de 4",
            ],
        ),
        (
            "choose password refused",
            &[
                "Las dos contraseñas no coinciden.",
                "demasiado fácil de adivinar",
            ],
        ),
        (
            "choose password",
            &[
                "Elija su contraseña",
                "Vuelva a escribir la contraseña",
                "Paso 3 de 4",
            ],
        ),
        (
            "email confirmed",
            &[
                "Correo electrónico confirmado",
                "Continuar para iniciar sesión",
            ],
        ),
        ("used link", &["Este enlace no es válido"]),
    ];
    for ((name, en_page), (_, es_page)) in en.iter().zip(&es) {
        let words = spanish
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, w)| *w)
            .unwrap();
        assert_spanish(name, en_page, es_page, words, &[]);
    }
    // The confirmation e-mail of a Spanish sign-up is Spanish, and so is the account.
    assert_eq!(
        stored_locale(&server, "beto@example.com").await.as_deref(),
        Some("es")
    );
    assert_eq!(
        stored_locale(&server, "ana@example.com").await.as_deref(),
        Some("en")
    );

    // The language stays with the account: a browser that never chose one gets Spanish pages
    // once signed in.
    let b = server.browser();
    server.sign_in_fully(&b, "beto@example.com").await;
    let home = b.get_ok("/").await;
    assert_eq!(html_lang(&home), "es");
    assert!(
        visible_text(&home).contains("Administrar su cuenta"),
        "{home}"
    );
}

#[actix_web::test]
async fn the_mailbox_owner_s_language_wins_when_confirming_and_a_silent_request_stores_none() {
    let server = TestServer::start().await;
    // Someone signs the address up in English; its owner opens the link in Spanish.
    let stranger = server.browser();
    let form = get_page(&stranger, &server, "/signup", "en").await;
    let res = post_in(
        &stranger,
        &server,
        "/signup",
        &[
            ("csrf", &csrf_of(&form)),
            ("email", "cruz@example.com"),
            ("terms", "accepted"),
        ],
        "en",
    )
    .await;
    assert_eq!(res.status(), 200);
    let link = confirmation_link(&server, "cruz@example.com").await;
    // Whoever typed the address chooses nothing for its owner.
    assert_eq!(stored_locale(&server, "cruz@example.com").await, None);
    let owner = server.browser();
    let choose = get_page(&owner, &server, &link, "es").await;
    let res = post_in(
        &owner,
        &server,
        "/confirm-email",
        &[
            ("csrf", &csrf_of(&choose)),
            ("token", &hidden(&choose, "token")),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ],
        "es",
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        stored_locale(&server, "cruz@example.com").await.as_deref(),
        Some("es")
    );

    // A request that states no language (no Accept-Language, no choice) leaves the account's
    // language unset: the pages keep following the browser, and notices default to English.
    server
        .create_account(&server.browser(), "dot@example.com")
        .await;
    assert_eq!(stored_locale(&server, "dot@example.com").await, None);
}

#[actix_web::test]
async fn error_summaries_list_every_field_and_link_to_it() {
    let server = TestServer::start().await;
    let b = server.browser();

    // Sign-up: the email and the terms, at once.
    let form = b.get_ok("/signup").await;
    let res = b
        .post(
            "/signup",
            &[("csrf", &csrf_of(&form)), ("email", "not an address")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(
        attrs_of(&html, "#error-summary a", "href"),
        ["#email", "#terms"]
    );
    assert_eq!(
        texts_of(&html, "#error-summary h2"),
        ["There are 2 problems to fix"]
    );
    assert_eq!(
        texts_of(&html, "#error-summary a"),
        [
            "Enter an email address like name@example.com.",
            "You need to accept the terms of service to create an account."
        ]
    );
    assert_eq!(
        attrs_of(&html, "#email", "aria-describedby"),
        ["email-error"]
    );
    assert_eq!(
        attrs_of(&html, "#terms", "aria-describedby"),
        ["terms-error"]
    );
    assert_eq!(attrs_of(&html, "input.usa-input--error", "id"), ["email"]);

    // Choosing the password: a weak password and a confirmation that doesn't match, at once,
    // the mismatch flagged on the confirmation field.
    server.submit_sign_up(&b, "dee@example.com").await;
    let link = confirmation_link(&server, "dee@example.com").await;
    let choose = b.get_ok(&link).await;
    let res = b
        .post(
            "/confirm-email",
            &[
                ("csrf", &csrf_of(&choose)),
                ("token", &hidden(&choose, "token")),
                ("password", "password1"),
                ("password_confirmation", "something else"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(
        attrs_of(&html, "#error-summary a", "href"),
        ["#password", "#password_confirmation"]
    );
    assert!(text_of(&html, "#password-error")
        .unwrap()
        .contains("too easy to guess"));
    assert_eq!(
        text_of(&html, "#confirmation-error").as_deref(),
        Some("The two passwords don't match.")
    );
    assert_eq!(
        attrs_of(&html, "input.usa-input--error", "id"),
        ["password", "password_confirmation"]
    );
    // A good password with a mismatch: only the confirmation.
    let res = b
        .post(
            "/confirm-email",
            &[
                ("csrf", &csrf_of(&choose)),
                ("token", &hidden(&choose, "token")),
                ("password", PASSWORD),
                ("password_confirmation", "plum tractor gazebo"),
            ],
        )
        .await;
    let html = res.text().await.unwrap();
    assert_eq!(
        attrs_of(&html, "#error-summary a", "href"),
        ["#password_confirmation"]
    );
    assert_eq!(
        texts_of(&html, "#error-summary h2"),
        ["There is 1 problem to fix"]
    );

    // Forgot password: the address.
    let form = b.get_ok("/forgot-password").await;
    let res = b
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&form)), ("email", "")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(attrs_of(&html, "#error-summary a", "href"), ["#email"]);
    assert_eq!(
        attrs_of(&html, "#email", "aria-describedby"),
        ["email-error"]
    );

    // The new password of a reset: both fields.
    let reset = reset_browser(&server, "eve@example.com").await;
    let form = reset.get_ok("/reset-password/new").await;
    let res = reset
        .post(
            "/reset-password/new",
            &[
                ("csrf", &csrf_of(&form)),
                ("password", "short"),
                ("password_confirmation", "shorter"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(
        attrs_of(&html, "#error-summary a", "href"),
        ["#password", "#password_confirmation"]
    );
    assert!(text_of(&html, "#password-error")
        .unwrap()
        .contains("at least 8 characters"));
    assert!(text_of(&html, "#confirmation-error")
        .unwrap()
        .contains("don't match"));
}

/// A browser of `email`'s account (created here, second factor enrolled) standing on "choose
/// a new password" of a password reset.
async fn reset_browser(server: &TestServer, email: &str) -> Browser {
    server.signed_in_browser(email).await;
    reset_browser_for_existing(server, email, "en").await
}

async fn reset_browser_for_existing(server: &TestServer, email: &str, lang: &str) -> Browser {
    let b = server.browser();
    let form = get_page(&b, server, "/forgot-password", lang).await;
    let res = post_in(
        &b,
        server,
        "/forgot-password",
        &[("csrf", &csrf_of(&form)), ("email", email)],
        lang,
    )
    .await;
    assert_eq!(res.status(), 200);
    let link = newest_link(server, email, "/reset-password?token=").await;
    let res = b.get_abs(&link).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let mfa = b.get_ok("/mfa?method=backup").await;
    let res = b
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&mfa)),
                ("method", "backup"),
                ("code", &server.take_backup_code(email)),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/reset-password/new");
    b
}

#[actix_web::test]
async fn multi_step_flows_say_which_step_and_offer_a_way_back() {
    let server = TestServer::start().await;
    let b = server.browser();
    let form = b.get_ok("/signup?authz=abc").await;
    assert_eq!(step_of(&form), "Step 1 of 4");
    assert_eq!(
        texts_of(&form, ".usa-step-indicator__segment--current"),
        ["Email address"]
    );
    assert_eq!(
        attrs_of(&form, "a.verity-cancel", "href"),
        ["/login?authz=abc"]
    );
    let res = b
        .post(
            "/signup",
            &[
                ("csrf", &csrf_of(&form)),
                ("email", "fay@example.com"),
                ("terms", "accepted"),
                ("authz", "abc"),
            ],
        )
        .await;
    let check = res.text().await.unwrap();
    assert_eq!(step_of(&check), "Step 2 of 4");
    assert_eq!(
        texts_of(&check, ".usa-step-indicator__segment--complete"),
        ["Email address completed"]
    );
    assert_eq!(
        attrs_of(&check, "a.verity-back", "href"),
        ["/signup?authz=abc"]
    );
    let link = confirmation_link(&server, "fay@example.com").await;
    let choose = b.get_ok(&link).await;
    assert_eq!(step_of(&choose), "Step 3 of 4");
    assert_eq!(attrs_of(&choose, "a.verity-cancel", "href"), ["/"]);
    assert_eq!(
        texts_of(&choose, ".usa-step-indicator__segment:last-child"),
        ["Set up a second factor not completed"]
    );

    // Password reset: email, check your email, (the second factor), new password.
    let form = b.get_ok("/forgot-password").await;
    assert_eq!(step_of(&form), "Step 1 of 4");
    assert_eq!(attrs_of(&form, "a.verity-cancel", "href"), ["/login"]);
    let res = b
        .post(
            "/forgot-password",
            &[("csrf", &csrf_of(&form)), ("email", "fay@example.com")],
        )
        .await;
    let sent = res.text().await.unwrap();
    assert_eq!(step_of(&sent), "Step 2 of 4");
    assert_eq!(
        attrs_of(&sent, "a.verity-back", "href"),
        ["/forgot-password"]
    );
    assert!(
        visible_text(&sent).contains("The link works once, for 30 minutes."),
        "the configured lifetime: {sent}"
    );
    let reset = reset_browser(&server, "gus@example.com").await;
    let form = reset.get_ok("/reset-password/new").await;
    assert_eq!(step_of(&form), "Step 4 of 4");
    assert_eq!(attrs_of(&form, "a.verity-cancel", "href"), ["/login"]);
}

#[actix_web::test]
async fn the_account_reset_says_its_step_in_spanish_too() {
    let server = TestServer::start().await;
    let email = "hal@example.com";
    person_with_phone(&server, email).await;
    let b = server.browser();
    let res = server.sign_in(&b, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let lost = b.get_ok("/mfa/lost-phone").await;
    let res = b
        .post(
            "/mfa/lost-phone/account-reset",
            &[("csrf", &csrf_of(&lost))],
        )
        .await;
    assert_eq!(res.status(), 200);
    let link = newest_link(&server, email, "/account-reset/request?token=").await;
    let path = link.trim_start_matches(&server.base).to_string();
    let en = get_page(&b, &server, &path, "en").await;
    let es = get_page(&b, &server, &path, "es").await;
    assert_eq!(step_of(&en), "Step 1 of 4");
    assert_eq!(attrs_of(&en, "a.verity-cancel", "href"), ["/"]);
    assert_spanish(
        "account reset request",
        &en,
        &es,
        &[
            "Restablecer sus métodos para iniciar sesión",
            "Paso 1 de 4",
            "hay una espera de 24 horas",
        ],
        &[],
    );
    let res = post_in(
        &b,
        &server,
        "/account-reset/request",
        &[("csrf", &csrf_of(&es)), ("token", &hidden(&es, "token"))],
        "es",
    )
    .await;
    assert_eq!(res.status(), 200);
    let waiting = res.text().await.unwrap();
    assert_eq!(step_of(&waiting), "Paso 2 de 4");
    assert!(visible_text(&waiting).contains("El restablecimiento de su cuenta está en espera"));
    assert_eq!(attrs_of(&waiting, "a.verity-back", "href"), ["/"]);
    let en = get_in(&b, &server, "/account-reset?token=used", "en")
        .await
        .text()
        .await
        .unwrap();
    let es = get_in(&b, &server, "/account-reset?token=used", "es")
        .await
        .text()
        .await
        .unwrap();
    assert_spanish(
        "account reset link not valid",
        &en,
        &es,
        &["Este enlace no es válido"],
        &[],
    );
}

/// Three wrong passwords from this network for `email` (the per-IP allowance in the servers
/// below), and the answer to the third.
async fn wrong_passwords(
    server: &TestServer,
    email: &str,
    n: usize,
    lang: &str,
) -> reqwest::Response {
    let b = server.browser();
    let mut last = None;
    for i in 0..n {
        let form = get_page(&b, server, "/login", lang).await;
        last = Some(
            post_in(
                &b,
                server,
                "/login",
                &[
                    ("csrf", &csrf_of(&form)),
                    ("email", email),
                    ("password", &format!("wrong {i} guess")),
                ],
                lang,
            )
            .await,
        );
    }
    last.expect("at least one attempt")
}

#[actix_web::test]
async fn too_many_tries_from_a_network_links_the_reset_and_a_reset_ends_the_wait() {
    let server = TestServer::start_with(|s| {
        s.security.password_failures_per_ip = 3;
        s.security.password_failures_account_lock = 1000;
    })
    .await;
    let email = "ida@example.com";
    server.signed_in_browser(email).await;
    let res = wrong_passwords(&server, email, 3, "en").await;
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    assert_eq!(texts_of(&html, "h1"), ["Too many attempts"]);
    assert_eq!(
        attrs_of(&html, "a.verity-way-out", "href"),
        ["/forgot-password"]
    );
    let text = visible_text(&html);
    assert!(text.contains("Reset your password"), "{text}");
    assert!(text.contains("wait 1 minute"), "{text}");
    assert!(!text.contains("try again carefully"), "{text}");

    // The way out works: a reset from this network, then the new password, with no wait.
    let reset = reset_browser_for_existing(&server, email, "en").await;
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
    let res = server.sign_in(&server.browser(), email, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303, "the reset ended this network's wait");
    assert_eq!(res.headers()["location"], "/mfa");

    // The page in Spanish (an address nobody has is throttled the same way).
    let en = wrong_passwords(&server, "nobody@example.com", 3, "en")
        .await
        .text()
        .await
        .unwrap();
    let es = wrong_passwords(&server, "nadie@example.com", 3, "es")
        .await
        .text()
        .await
        .unwrap();
    assert_spanish(
        "too many attempts",
        &en,
        &es,
        &[
            "Demasiados intentos",
            "espere 1 minuto",
            "Restablecer su contraseña",
        ],
        &[],
    );
}

#[actix_web::test]
async fn the_account_pause_says_what_its_email_says_and_links_the_reset() {
    let server = TestServer::start_with(|s| {
        s.security.password_failures_per_ip = 50;
        s.security.password_failures_account_lock = 3;
    })
    .await;
    let email = "jo@example.com";
    server.create_account(&server.browser(), email).await;
    let res = wrong_passwords(&server, email, 3, "en").await;
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    assert_eq!(texts_of(&html, "h1"), ["Sign-in paused"]);
    assert_eq!(
        attrs_of(&html, "a.verity-way-out", "href"),
        ["/forgot-password"]
    );
    let text = visible_text(&html);
    assert!(text.contains("paused for 15 minutes"), "{text}");
    assert!(text.contains("a password reset ends the pause"), "{text}");
    // The e-mail about it says the same: 15 minutes, or a reset now.
    let mail = server.wait_for_messages(email, "paused", 1).await;
    assert!(mail[0].body.contains("15 minutes"), "{}", mail[0].body);
    assert!(mail[0].body.contains("reset"), "{}", mail[0].body);

    let en = wrong_passwords(&server, "nobody@example.com", 3, "en")
        .await
        .text()
        .await
        .unwrap();
    let es = wrong_passwords(&server, "nadie@example.com", 3, "es")
        .await
        .text()
        .await
        .unwrap();
    assert_spanish(
        "sign-in paused",
        &en,
        &es,
        &[
            "Inicio de sesión en pausa",
            "en pausa por 15 minutos",
            "Qué puede hacer",
        ],
        &[],
    );
}

#[actix_web::test]
async fn the_hard_lock_says_only_a_reset_or_support_lifts_it() {
    let server = TestServer::start_with(|s| {
        s.security.password_failures_per_ip = 1000;
        s.security.password_failures_account_lock = 1000;
        s.security.password_failures_hard_limit = 3;
        s.support.phone = "1-800-555-0199".into();
    })
    .await;
    let res = wrong_passwords(&server, "kit@example.com", 3, "en").await;
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    assert_eq!(texts_of(&html, "h1"), ["Account locked"]);
    assert_eq!(
        attrs_of(&html, "a.verity-way-out", "href"),
        ["/forgot-password"]
    );
    let text = visible_text(&html);
    assert!(
        text.contains("locked until its password is reset"),
        "{text}"
    );
    assert!(text.contains("contact support"), "{text}");
    assert!(
        text.contains("Or call support at 1-800-555-0199."),
        "{text}"
    );
    assert!(!text.contains("wait"), "waiting doesn't lift it: {text}");
    assert!(attrs_of(&html, "a", "href").contains(&"/support".to_string()));

    let es = wrong_passwords(&server, "nadie@example.com", 3, "es")
        .await
        .text()
        .await
        .unwrap();
    assert_spanish(
        "account locked",
        &html,
        &es,
        &[
            "Cuenta bloqueada",
            "hasta que se restablezca la contraseña",
            "O llame a soporte al 1-800-555-0199.",
        ],
        &[],
    );
}

#[actix_web::test]
async fn sign_in_and_reset_pages_in_spanish() {
    let server = TestServer::start().await;
    let b = server.browser();
    let email = "lu@example.com";
    server.signed_in_browser(email).await;

    for (path, spanish) in [
        (
            "/login",
            &[
                "Iniciar sesión",
                "¿Olvidó su contraseña?",
                "Crear una cuenta",
            ][..],
        ),
        (
            "/forgot-password",
            &[
                "Restablecer su contraseña",
                "Enviar el enlace",
                "Paso 1 de 4",
            ][..],
        ),
        (
            "/terms",
            &[
                "Condiciones del servicio",
                "dar información verdadera sobre usted;",
            ][..],
        ),
        (
            "/",
            &["Le damos la bienvenida a Verity", "Crear una cuenta"][..],
        ),
        (
            "/not-me?token=x",
            &["No fui yo", "Cerrar sesión en todos los dispositivos"][..],
        ),
        (
            "/confirm-email?token=forged",
            &["Este enlace no es válido", "Volver a crear la cuenta"][..],
        ),
        (
            "/account/emails/confirm?token=forged",
            &["Este enlace no es válido", "Ir a la página de su cuenta"][..],
        ),
    ] {
        let en = get_in(&b, &server, path, "en").await.text().await.unwrap();
        let es = get_in(&b, &server, path, "es").await.text().await.unwrap();
        assert_spanish(path, &en, &es, spanish, &[]);
    }
    // The dev outbox, while it is empty.
    let fresh = TestServer::start().await;
    let en = get_page(&fresh.browser(), &fresh, "/dev/outbox", "en").await;
    let es = get_page(&fresh.browser(), &fresh, "/dev/outbox", "es").await;
    assert_spanish(
        "dev outbox",
        &en,
        &es,
        &[
            "Bandeja de salida de desarrollo",
            "Todavía no hay mensajes.",
        ],
        &[],
    );

    // A wrong password.
    let wrong = |lang: &'static str| {
        let (b, server) = (&b, &server);
        async move {
            let form = get_page(b, server, "/login", lang).await;
            let res = post_in(
                b,
                server,
                "/login",
                &[
                    ("csrf", &csrf_of(&form)),
                    ("email", email),
                    ("password", "not it at all"),
                ],
                lang,
            )
            .await;
            assert_eq!(res.status(), 401);
            res.text().await.unwrap()
        }
    };
    let (en, es) = (wrong("en").await, wrong("es").await);
    assert_spanish(
        "wrong password",
        &en,
        &es,
        &["no coinciden con ninguna cuenta"],
        &[],
    );

    // "Check your email" after asking for a reset.
    let sent = |lang: &'static str| {
        let (b, server) = (&b, &server);
        async move {
            let form = get_page(b, server, "/forgot-password", lang).await;
            let res = post_in(
                b,
                server,
                "/forgot-password",
                &[("csrf", &csrf_of(&form)), ("email", email)],
                lang,
            )
            .await;
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        }
    };
    let (en, es) = (sent("en").await, sent("es").await);
    assert_spanish(
        "reset link sent",
        &en,
        &es,
        &[
            "Si lu@example.com pertenece a una cuenta",
            "durante 30 minutos",
            "Paso 2 de 4",
        ],
        &[],
    );

    // Choosing the new password, refused, then done.
    let reset = reset_browser_for_existing(&server, email, "es").await;
    let en = get_page(&reset, &server, "/reset-password/new", "en").await;
    let es = get_page(&reset, &server, "/reset-password/new", "es").await;
    assert_spanish(
        "new password",
        &en,
        &es,
        &[
            "Elija una nueva contraseña",
            "Al menos 8 caracteres.",
            "Paso 4 de 4",
        ],
        &[],
    );
    let refuse = |lang: &'static str| {
        let (reset, server, form) = (&reset, &server, es.clone());
        async move {
            let res = post_in(
                reset,
                server,
                "/reset-password/new",
                &[
                    ("csrf", &csrf_of(&form)),
                    ("password", "password1"),
                    ("password_confirmation", "password1"),
                ],
                lang,
            )
            .await;
            assert_eq!(res.status(), 422);
            res.text().await.unwrap()
        }
    };
    let (en_refused, es_refused) = (refuse("en").await, refuse("es").await);
    assert_spanish(
        "new password refused",
        &en_refused,
        &es_refused,
        &[
            "Hay 1 problema que corregir",
            "Esta contraseña es demasiado fácil de adivinar.",
        ],
        &[],
    );
    let res = post_in(
        &reset,
        &server,
        "/reset-password/new",
        &[
            ("csrf", &csrf_of(&es)),
            ("password", NEW_PASSWORD),
            ("password_confirmation", NEW_PASSWORD),
        ],
        "es",
    )
    .await;
    assert_eq!(res.status(), 200);
    let done = res.text().await.unwrap();
    assert_eq!(html_lang(&done), "es");
    let text = visible_text(&done);
    assert!(text.contains("Contraseña cambiada"), "{text}");
    assert!(
        !text.contains("Password changed") && !text.contains("Your new password is set"),
        "{text}"
    );
}

/// A signed-in person whose account speaks `lang` (chosen with the switcher: an account's
/// language beats the browser's `Accept-Language`).
async fn person_speaking(server: &TestServer, email: &str, lang: &str) -> Browser {
    let b = server.signed_in_browser(email).await;
    let page = b.get_ok("/").await;
    let res = b
        .post(
            "/language",
            &[("csrf", &csrf_of(&page)), ("lang", lang), ("back", "/")],
        )
        .await;
    assert_eq!(res.status(), 303);
    b
}

#[actix_web::test]
async fn consent_step_up_and_sign_out_in_spanish() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let mut pages = Vec::new();
    for (email, lang) in [("mo@example.com", "en"), ("nico@example.com", "es")] {
        let b = person_speaking(&server, email, lang).await;
        let req = rp.auth_request(&["email", "profile"]);
        let (url, res) = b.follow(b.get_abs(&req.url).await).await;
        assert!(url.contains("/consent?authz="), "{url}");
        let consent = res.text().await.unwrap();
        let step_up = b.get_ok("/step-up?return_to=/account/password").await;
        let ask = b.get_ok("/end-session").await;
        let res = b
            .post("/end-session/confirm", &[("csrf", &csrf_of(&ask))])
            .await;
        assert_eq!(res.status(), 200);
        let done = res.text().await.unwrap();
        pages.push((consent, step_up, ask, done));
    }
    let (en, es) = (&pages[0], &pages[1]);
    assert_spanish(
        "consent",
        &en.0,
        &es.0,
        &[
            "¿Permitir que Tax Portal use su cuenta de Verity?",
            "Su dirección de correo electrónico",
            "Su nombre",
            "Permitir",
        ],
        &[],
    );
    assert_eq!(
        texts_of(&en.0, "ul.scopes li"),
        [
            "A stable identifier for your account, so the app recognises you",
            "Your email address",
            "Your name"
        ]
    );
    assert_eq!(
        texts_of(&es.0, "ul.scopes li"),
        [
            "Un identificador fijo de su cuenta, para que la aplicación lo reconozca",
            "Su dirección de correo electrónico",
            "Su nombre"
        ]
    );
    assert_spanish(
        "step-up",
        &en.1,
        &es.1,
        &[
            "Confirme su identidad",
            "Sesión iniciada como nico@example.com",
        ],
        &[],
    );
    assert_spanish(
        "sign out?",
        &en.2,
        &es.2,
        &[
            "¿Cerrar sesión en Verity?",
            "Una aplicación pidió cerrar su sesión",
            "Mantener la sesión iniciada",
        ],
        &[],
    );
    assert_spanish(
        "signed out",
        &en.3,
        &es.3,
        &["Cerró sesión", "Ya puede cerrar esta ventana."],
        &[],
    );

    // A request we won't continue, in Spanish.
    let b = server.browser();
    let en = get_in(&b, &server, "/authorize?client_id=nope", "en")
        .await
        .text()
        .await
        .unwrap();
    let es = get_in(&b, &server, "/authorize?client_id=nope", "es")
        .await
        .text()
        .await
        .unwrap();
    assert_spanish(
        "sign-in request not valid",
        &en,
        &es,
        &[
            "No podemos continuar con este inicio de sesión",
            "client_id desconocido",
        ],
        &[],
    );
}

#[actix_web::test]
async fn wrong_passwords_at_step_up_get_the_same_lock_page_with_the_way_out() {
    let server = TestServer::start().await;
    let email = "stepup-lock@example.com";
    let b = server.signed_in_browser(email).await;
    let mut locked = None;
    for _ in 0..20 {
        let page = b.get_ok("/step-up?return_to=/account/password").await;
        let res = post_in(
            &b,
            &server,
            "/step-up",
            &[
                ("csrf", &csrf_of(&page)),
                ("password", "not the password"),
                ("return_to", "/account/password"),
            ],
            "es",
        )
        .await;
        if res.status() == 429 {
            locked = Some(res.text().await.unwrap());
            break;
        }
        assert_eq!(res.status(), 401);
        assert!(visible_text(&res.text().await.unwrap()).contains("Esa contraseña no es correcta"));
    }
    let page = locked.expect("wrong passwords at step-up end in a lock page");
    assert_eq!(html_lang(&page), "es");
    let links = attrs_of(&page, "a", "href");
    assert!(
        links.iter().any(|l| l.starts_with("/forgot-password")),
        "{links:?}"
    );
    assert!(
        links
            .iter()
            .any(|l| l == "/step-up?return_to=%2Faccount%2Fpassword"),
        "{links:?}"
    );
}

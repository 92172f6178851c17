//! Notices as people receive them, read from the outbox: each kind in English, and in Spanish for
//! an account that chose Spanish (with the language switcher, as a person would); sign-up mail in
//! the language of the request; the texts to the default phone that go with a lock, a password
//! change and an e-mail change; the new-sign-in alert for a known browser on a new network.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use verity::i18n::Lang;
use verity::notify::OutboxRow;

use crate::admin_harness::*;
use crate::harness::*;

const NEW_PASSWORD: &str = "saffron tugboat meadow ledger";

/// `en` or `es`, as the language asks.
fn w(lang: Lang, en: &'static str, es: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Es => es,
    }
}

/// Words that give away English in a Spanish message (links, addresses and codes aside).
fn assert_no_english(text: &str) {
    const ENGLISH: &[&str] = &[
        "the", "your", "you", "this", "was", "and", "sign", "account", "password", "code", "if",
        "wasn't", "not", "help", "email",
    ];
    let prose: Vec<&str> = text
        .split_whitespace()
        .filter(|t| !t.starts_with("http") && !t.contains('@'))
        .collect();
    let words: Vec<String> = prose
        .join(" ")
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(str::to_lowercase)
        .collect();
    for english in ENGLISH {
        assert!(
            !words.iter().any(|w| w == english),
            "English ({english}) in a Spanish message:\n{text}"
        );
    }
}

/// Checks a message is in `lang`: for Spanish, that no English is left in it.
fn assert_in(lang: Lang, m: &OutboxRow) {
    if lang == Lang::Es {
        assert_no_english(&m.subject);
        assert_no_english(&m.body);
    }
}

/// The messages to `to` whose subject or body contains `needle`, newest first; waits up to
/// 10 s for at least `n` (notices may go out just after the response that caused them).
async fn messages_with(server: &TestServer, to: &str, needle: &str, n: usize) -> Vec<OutboxRow> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found: Vec<OutboxRow> = server
            .outbox_for(to)
            .await
            .into_iter()
            .filter(|m| m.subject.contains(needle) || m.body.contains(needle))
            .collect();
        if found.len() >= n || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The one message to `to` on `channel` that contains `needle`, and it contains every `also`.
async fn the_message(
    server: &TestServer,
    to: &str,
    channel: &str,
    needle: &str,
    also: &[&str],
) -> OutboxRow {
    let found: Vec<OutboxRow> = messages_with(server, to, needle, 1)
        .await
        .into_iter()
        .filter(|m| m.channel == channel)
        .collect();
    let subjects: Vec<String> = server
        .outbox_for(to)
        .await
        .iter()
        .map(|m| format!("{}: {} | {}", m.channel, m.subject, m.body))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {channel} with {needle:?} to {to}; have {subjects:#?}"
    );
    let m = found.into_iter().next().unwrap_or_else(|| unreachable!());
    for part in also {
        assert!(
            m.body.contains(part) || m.subject.contains(part),
            "{part:?} in:\n{}\n{}",
            m.subject,
            m.body
        );
    }
    m
}

async fn sms_count(server: &TestServer) -> usize {
    verity::notify::recent_outbox(&server.ctx.db, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.channel == "sms")
        .count()
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

/// Chooses `lang` with the switcher from a signed-in browser: the account keeps it.
async fn speak(browser: &Browser, lang: Lang) {
    let page = browser.get_ok("/account").await;
    let res = browser
        .post(
            "/language",
            &[
                ("csrf", &csrf_of(&page)),
                ("lang", lang.tag()),
                ("back", "/account"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
}

/// A signed-in person whose only second factor is the phone `number` (E.164). A Spanish
/// speaker chooses Spanish; an English one chooses nothing (English is what they get).
async fn person(server: &TestServer, email: &str, number: &str, lang: Lang) -> Browser {
    let browser = server.browser();
    server.create_account(&browser, email).await;
    let res = server.sign_in(&browser, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa/setup");
    let page = browser.get_ok("/mfa/setup/phone").await;
    let res = browser
        .post(
            "/mfa/setup/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", number),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = browser.get_ok("/mfa/setup/phone").await;
    let code = newest_code(server, number).await;
    let res = browser
        .post(
            "/mfa/setup/phone/confirm",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    if lang == Lang::Es {
        speak(&browser, lang).await;
    }
    browser
}

/// On the second-factor page of `b`: texts a code to `number` and enters it.
async fn pass_phone(server: &TestServer, b: &Browser, number: &str) -> reqwest::Response {
    let page = b.get_ok("/mfa").await;
    let phone = hidden(&page, "phone");
    let res = b
        .post(
            "/mfa/send",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", &phone),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "code sent");
    let code = newest_code(server, number).await;
    b.post(
        "/mfa/verify",
        &[
            ("csrf", &csrf_of(&page)),
            ("method", "phone"),
            ("phone", &phone),
            ("code", &code),
        ],
    )
    .await
}

// Sign-up.

#[actix_web::test]
async fn sign_up_mail_is_in_the_language_of_the_request_or_the_account_chose() {
    let server = TestServer::start().await;
    let sign_up = |email: &'static str, accept: &'static str| {
        let server = &server;
        async move {
            let browser = server.browser();
            let page = browser.get_ok("/signup").await;
            let res = browser
                .http
                .post(server.url("/signup"))
                .header("accept-language", accept)
                .form(&[
                    ("csrf", csrf_of(&page).as_str()),
                    ("email", email),
                    ("terms", "accepted"),
                    ("authz", ""),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    };
    sign_up("ines@example.com", "es-MX,es;q=0.9").await;
    let m = the_message(
        &server,
        "ines@example.com",
        "email",
        "Confirme su correo electrónico para Verity",
        &["/confirm-email?token=", "vence en 24 horas"],
    )
    .await;
    assert_in(Lang::Es, &m);
    sign_up("ian@example.com", "en-US").await;
    the_message(
        &server,
        "ian@example.com",
        "email",
        "Confirm your email for Verity",
        &["/confirm-email?token=", "expires in 24 hours"],
    )
    .await;

    // An account that chose Spanish hears of a sign-up with its address in Spanish, whatever
    // the language of the request.
    let browser = server.signed_in_browser("elsa@example.com").await;
    speak(&browser, Lang::Es).await;
    sign_up("elsa@example.com", "en").await;
    let m = the_message(
        &server,
        "elsa@example.com",
        "email",
        "Alguien intentó registrarse en Verity",
        &["/login"],
    )
    .await;
    assert_in(Lang::Es, &m);
    // …and one that never chose hears in the request's language.
    server.signed_in_browser("ed@example.com").await;
    sign_up("ed@example.com", "en").await;
    the_message(
        &server,
        "ed@example.com",
        "email",
        "Someone tried to sign up to Verity",
        &["/login"],
    )
    .await;
}

// Codes and new-sign-in alerts.

#[actix_web::test]
async fn codes_by_text_and_call_and_new_device_alerts_speak_the_persons_language() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    for (lang, email, number) in [
        (Lang::En, "cal@example.com", "+12015550161"),
        (Lang::Es, "cata@example.com", "+12015550162"),
    ] {
        person(&server, email, number, lang).await;
        let b = server.browser();
        let res = server.sign_in(&b, email, PASSWORD).await;
        assert_eq!(res.headers()["location"], "/mfa");
        let page = b.get_ok("/mfa").await;
        let phone = hidden(&page, "phone");
        for channel in ["sms", "voice"] {
            let res = b
                .post(
                    "/mfa/send",
                    &[
                        ("csrf", &csrf_of(&page)),
                        ("phone", &phone),
                        ("channel", channel),
                    ],
                )
                .await;
            assert_eq!(res.status(), 303, "{channel} sent");
        }
        let sent = server.outbox_for(number).await;
        let (call, text) = (&sent[0], &sent[1]);
        assert_eq!(
            (call.channel.as_str(), text.channel.as_str()),
            ("voice", "sms")
        );
        let code = newest_code(&server, number).await;
        assert_eq!(code.len(), 6);
        // The code first in a text; digit by digit, twice, in a call.
        let text_code: String = text.body.chars().take(6).collect();
        assert!(
            text_code.chars().all(|c| c.is_ascii_digit()),
            "{}",
            text.body
        );
        assert!(
            text.body.contains(w(
                lang,
                " is your Verity security code",
                " es su código de seguridad de Verity"
            )),
            "{}",
            text.body
        );
        let spoken: Vec<String> = code.chars().map(String::from).collect();
        assert!(call.body.contains(&spoken.join(", ")), "{}", call.body);
        assert!(
            call.body.contains(w(lang, "Again:", "Repito:")),
            "{}",
            call.body
        );
        assert_in(lang, text);
        assert_in(lang, call);

        // The call's code replaced the text's, and works.
        let res = b
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
        assert!(is_signed_in(&res), "the call's code signs in");

        // A new device: an e-mail and a text, in the person's language.
        let mail = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "New sign-in to your Verity account",
                "Nuevo inicio de sesión en su cuenta de Verity",
            ),
            &[
                w(lang, "from a new device", "desde un dispositivo nuevo"),
                "/not-me?token=",
                "127.0.0.1",
                // The test client's user agent names no browser a person would know.
                w(lang, "An unknown browser", "Un navegador desconocido"),
            ],
        )
        .await;
        assert_in(lang, &mail);
        let alert = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "new sign-in to your account at",
                "nuevo inicio de sesión en su cuenta el",
            ),
            &["/not-me?token="],
        )
        .await;
        assert_in(lang, &alert);
    }
}

/// A browser that shares `jar` (so it is the same browser) and comes through the trusted
/// proxy from `ip`.
fn same_browser_from(server: &TestServer, jar: &Arc<reqwest::cookie::Jar>, ip: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        reqwest::header::HeaderValue::from_str(ip).unwrap(),
    );
    let mut browser = server.browser();
    browser.http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("VerityTest/1.0 (integration)")
        .default_headers(headers)
        .build()
        .unwrap();
    browser
}

async fn sign_out(browser: &Browser) {
    let home = browser.get_ok("/").await;
    let res = browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
    assert_eq!(res.status(), 303);
}

#[actix_web::test]
async fn a_known_browser_on_a_network_not_seen_for_ninety_days_raises_the_alert() {
    let server = TestServer::start_with(|s| s.trust_forwarded_for = true).await;
    server.ctx.clock.freeze();
    let email = "nel@example.com";
    let days = server.ctx.settings.security.new_network_days as i64;
    assert_eq!(days, 90, "README's default");
    let alerts = || {
        let server = &server;
        async move {
            messages_with(server, email, "Verity", 0)
                .await
                .into_iter()
                .filter(|m| {
                    m.subject.contains("New sign-in")
                        || m.subject.contains("Nuevo inicio de sesión")
                })
                .collect::<Vec<_>>()
        }
    };
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let sign_in_from = |ip: &'static str| {
        let (server, jar) = (&server, &jar);
        async move {
            let b = same_browser_from(server, jar, ip);
            server.sign_in_fully(&b, email).await;
            sign_out(&b).await;
        }
    };

    let first = same_browser_from(&server, &jar, "203.0.113.10");
    server.create_account(&first, email).await;
    server.sign_in_fully(&first, email).await;
    sign_out(&first).await;
    assert!(alerts().await.is_empty(), "the first sign-in is no news");

    sign_in_from("203.0.113.200").await;
    assert!(alerts().await.is_empty(), "the same /24: the same network");

    sign_in_from("198.51.100.7").await;
    let sent = alerts().await;
    assert_eq!(sent.len(), 1, "the same browser from another /24");
    assert!(
        sent[0].body.contains("from a new network"),
        "{}",
        sent[0].body
    );
    assert!(sent[0].body.contains("198.51.100.7"), "names the address");
    assert!(sent[0].body.contains("/not-me?token="));

    sign_in_from("2001:db8:aa:1::5").await;
    assert_eq!(alerts().await.len(), 2, "an IPv6 network is new too");
    sign_in_from("2001:db8:aa:ffff::9").await;
    assert_eq!(alerts().await.len(), 2, "the same /48: the same network");
    sign_in_from("2001:db8:ab::9").await;
    assert_eq!(alerts().await.len(), 3, "another /48");

    // Seen less than 90 days ago: nothing; then 90 days without it: the alert again, in the
    // language the person chose meanwhile.
    server.ctx.clock.advance(days * 86400 - 1);
    sign_in_from("203.0.113.11").await;
    assert_eq!(
        alerts().await.len(),
        3,
        "seen one second short of 90 days ago"
    );
    let b = same_browser_from(&server, &jar, "203.0.113.11");
    server.sign_in_fully(&b, email).await;
    speak(&b, Lang::Es).await;
    sign_out(&b).await;
    assert_eq!(alerts().await.len(), 3);
    // Exactly 90 days after the last sign-in from 203.0.113.0/24.
    server.ctx.clock.advance(days * 86400);
    sign_in_from("203.0.113.12").await;
    let sent = alerts().await;
    assert_eq!(sent.len(), 4, "not seen for 90 days: new again");
    assert!(
        sent[0].subject.contains("Nuevo inicio de sesión"),
        "{}",
        sent[0].subject
    );
    assert!(
        sent[0].body.contains("desde una red nueva"),
        "{}",
        sent[0].body
    );
    assert_in(Lang::Es, &sent[0]);

    // Stored per account and network in the database, the address cut to its network.
    let uid = user_id(&server, email).await;
    let networks: Vec<String> = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::sign_in_networks as n;
            Ok(n::table
                .filter(n::user_id.eq(&uid))
                .order(n::network.asc())
                .select(n::network)
                .load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(
        networks,
        [
            "198.51.100.0/24",
            "2001:db8:aa::/48",
            "2001:db8:ab::/48",
            "203.0.113.0/24"
        ]
    );
}

// Locks.

async fn wrong_passwords(server: &TestServer, email: &str, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let res = server
            .sign_in(&server.browser(), email, "not the password at all")
            .await;
        statuses.push(res.status().as_u16());
    }
    statuses
}

#[actix_web::test]
async fn locks_are_told_by_email_and_a_text_saying_what_lifts_them() {
    let server = TestServer::start_with(|s| {
        s.security.password_failures_account_lock = 3;
        s.security.password_failures_hard_limit = 6;
        s.security.password_failures_per_ip = 50;
    })
    .await;
    let lock_minutes = server.ctx.settings.security.account_lock_secs / 60;
    assert_eq!(lock_minutes, 15);
    for (lang, email, number) in [
        (Lang::En, "lou@example.com", "+12015550163"),
        (Lang::Es, "luz@example.com", "+12015550164"),
    ] {
        person(&server, email, number, lang).await;

        // Ten wrong codes: the second factor pauses, said by e-mail and by text.
        let b = server.browser();
        server.sign_in(&b, email, PASSWORD).await;
        let page = b.get_ok("/mfa").await;
        let phone = hidden(&page, "phone");
        let res = b
            .post(
                "/mfa/send",
                &[
                    ("csrf", &csrf_of(&page)),
                    ("phone", &phone),
                    ("channel", "sms"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let real = newest_code(&server, number).await;
        let wrong = if real == "000000" { "111111" } else { "000000" };
        let mut statuses = Vec::new();
        for _ in 0..server.ctx.settings.security.mfa_max_failures {
            let res = b
                .post(
                    "/mfa/verify",
                    &[
                        ("csrf", &csrf_of(&page)),
                        ("method", "phone"),
                        ("phone", &phone),
                        ("code", wrong),
                    ],
                )
                .await;
            statuses.push(res.status().as_u16());
        }
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
        let mail = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "Too many wrong security codes",
                "Demasiados códigos de seguridad incorrectos",
            ),
            &[w(lang, "paused for 10 minutes", "en pausa por 10 minutos")],
        )
        .await;
        assert_in(lang, &mail);
        let text = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "too many wrong security codes",
                "demasiados códigos de seguridad incorrectos",
            ),
            &[w(lang, "paused for 10 min", "en pausa por 10 min")],
        )
        .await;
        assert_in(lang, &text);

        // Three wrong passwords: a lock that waiting or a reset lifts.
        assert_eq!(wrong_passwords(&server, email, 3).await, [401, 401, 429]);
        let subject = w(
            lang,
            "Sign-in to your Verity account is paused",
            "El inicio de sesión en su cuenta de Verity está en pausa",
        );
        let mail = the_message(
            &server,
            email,
            "email",
            subject,
            &[
                w(
                    lang,
                    "You can try again in 15 minutes",
                    "Puede volver a intentarlo en 15 minutos",
                ),
                "/forgot-password",
                "/help",
                "127.0.0.1",
            ],
        )
        .await;
        assert_in(lang, &mail);
        let text = the_message(
            &server,
            number,
            "sms",
            w(lang, "paused for 15 min", "en pausa por 15 min"),
            &["/forgot-password"],
        )
        .await;
        assert_in(lang, &text);

        // Past the hard limit: only a password reset lifts it, and the mail says so.
        server
            .ctx
            .clock
            .advance(server.ctx.settings.security.account_lock_secs as i64 + 1);
        assert_eq!(wrong_passwords(&server, email, 3).await, [401, 401, 429]);
        let hard_subject = w(
            lang,
            "is locked until you reset your password",
            "está bloqueado hasta que restablezca su contraseña",
        );
        let mails = messages_with(&server, email, hard_subject, 1).await;
        let mails: Vec<_> = mails.into_iter().filter(|m| m.channel == "email").collect();
        assert_eq!(mails.len(), 1, "one mail for the hard lock");
        let hard = &mails[0];
        for part in [
            w(
                lang,
                "until you reset your password",
                "hasta que restablezca su contraseña",
            ),
            w(
                lang,
                "Waiting won't unlock it",
                "Esperar no lo desbloqueará",
            ),
            "/forgot-password",
            "/help",
        ] {
            assert!(hard.body.contains(part), "{part:?} in {}", hard.body);
        }
        assert!(!hard
            .body
            .contains(w(lang, "try again in", "volver a intentarlo en")));
        assert!(!hard
            .body
            .to_lowercase()
            .contains("contact support to unlock"));
        assert_in(lang, hard);
        let text = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "Reset your password to unlock it",
                "Restablezca su contraseña para desbloquearlo",
            ),
            &["/forgot-password"],
        )
        .await;
        assert_in(lang, &text);
    }

    // Without a phone: the e-mail, and no text anywhere.
    let email = "lin@example.com";
    server.signed_in_browser(email).await;
    let texts = sms_count(&server).await;
    assert_eq!(wrong_passwords(&server, email, 3).await, [401, 401, 429]);
    the_message(
        &server,
        email,
        "email",
        "Sign-in to your Verity account is paused",
        &[],
    )
    .await;
    assert_eq!(sms_count(&server).await, texts, "no phone, no text");
}

// Password.

#[actix_web::test]
async fn password_changes_and_resets_are_told_on_email_and_phone_in_the_persons_language() {
    let server = TestServer::start().await;
    let cooldown = server.ctx.settings.security.sim_swap_cooldown_hours as i64;
    for (lang, email, number) in [
        (Lang::En, "pat@example.com", "+12015550165"),
        (Lang::Es, "paz@example.com", "+12015550166"),
    ] {
        let browser = person(&server, email, number, lang).await;
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
        assert_eq!(res.status(), 200);
        let mail = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "Your Verity password was changed",
                "Se cambió su contraseña de Verity",
            ),
            &[w(lang, "was changed on", "se cambió el"), "/not-me?token="],
        )
        .await;
        assert_in(lang, &mail);
        let text = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "your password was changed on",
                "su contraseña se cambió el",
            ),
            &["/not-me?token="],
        )
        .await;
        assert_in(lang, &text);

        // A reset by link (the phone is past its SIM-swap cooldown): the link, then the news
        // on every channel.
        server.ctx.clock.advance(cooldown * 3600 + 60);
        let b = server.browser();
        let page = b.get_ok("/forgot-password").await;
        b.post(
            "/forgot-password",
            &[("csrf", &csrf_of(&page)), ("email", email)],
        )
        .await;
        let link_mail = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "Reset your Verity password",
                "Restablezca su contraseña de Verity",
            ),
            &[
                w(lang, "within 30 minutes", "dentro de 30 minutos"),
                "/reset-password?token=",
            ],
        )
        .await;
        assert_in(lang, &link_mail);
        let link = link_mail
            .body
            .split_whitespace()
            .find(|w| w.contains("/reset-password?token="))
            .unwrap()
            .to_string();
        assert_eq!(b.get_abs(&link).await.headers()["location"], "/mfa");
        let res = pass_phone(&server, &b, number).await;
        assert_eq!(res.headers()["location"], "/reset-password/new");
        let form = b.get_ok("/reset-password/new").await;
        let res = b
            .post(
                "/reset-password/new",
                &[
                    ("csrf", &csrf_of(&form)),
                    ("password", "velvet harbour quinoa mosaic"),
                    ("password_confirmation", "velvet harbour quinoa mosaic"),
                ],
            )
            .await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{}",
            res.status()
        );
        let mail = the_message(
            &server,
            email,
            "email",
            w(lang, "was reset on", "se restableció el"),
            &[
                w(
                    lang,
                    "Your Verity password was changed",
                    "Se cambió su contraseña de Verity",
                ),
                "/help",
            ],
        )
        .await;
        assert_in(lang, &mail);
        let text = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "your password was reset on",
                "su contraseña se restableció el",
            ),
            &["/help"],
        )
        .await;
        assert_in(lang, &text);
    }

    // Without a phone: the e-mail, and no text.
    let email = "pim@example.com";
    let browser = server.signed_in_browser(email).await;
    let texts = sms_count(&server).await;
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
    assert_eq!(res.status(), 200);
    the_message(
        &server,
        email,
        "email",
        "Your Verity password was changed",
        &[],
    )
    .await;
    assert_eq!(sms_count(&server).await, texts, "no phone, no text");
}

// E-mail addresses.

async fn confirm_added(browser: &Browser, link: &str) {
    let page = browser.get_abs(link).await.text().await.unwrap();
    let res = browser
        .post(
            "/account/emails/confirm",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
}

async fn extra_address_id(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::user_emails as e;
            Ok(e::table
                .filter(e::email.eq(&email))
                .select(e::id)
                .first::<String>(c)?)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn email_address_changes_are_told_in_the_persons_language_and_texted_once_they_count() {
    let server = TestServer::start().await;
    for (lang, email, second, number) in [
        (
            Lang::En,
            "eli@example.com",
            "eli@work.example",
            "+12015550167",
        ),
        (
            Lang::Es,
            "eva@example.com",
            "eva@trabajo.example",
            "+12015550168",
        ),
    ] {
        let browser = person(&server, email, number, lang).await;
        let texts_before = server.outbox_for(number).await.len();
        let account = browser.get_ok("/account").await;
        let res = browser
            .post(
                "/account/emails/add",
                &[("csrf", &csrf_of(&account)), ("email", second)],
            )
            .await;
        assert_eq!(res.status(), 303);
        let confirm = the_message(
            &server,
            second,
            "email",
            w(
                lang,
                "Confirm your new email for Verity",
                "Confirme su nuevo correo electrónico para Verity",
            ),
            &["/account/emails/confirm?token="],
        )
        .await;
        assert_in(lang, &confirm);
        let added = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "An email address was added",
                "Se agregó una dirección de correo electrónico",
            ),
            &[second],
        )
        .await;
        assert_in(lang, &added);
        assert_eq!(
            server.outbox_for(number).await.len(),
            texts_before,
            "waiting for confirmation changes nothing yet: no text"
        );

        let link = confirm
            .body
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .unwrap()
            .to_string();
        confirm_added(&browser, &link).await;
        for to in [email, second] {
            let m = the_message(
                &server,
                to,
                "email",
                w(
                    lang,
                    "A new email address is confirmed",
                    "Se confirmó una nueva dirección de correo electrónico",
                ),
                &[second],
            )
            .await;
            assert_in(lang, &m);
        }
        let text = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "is now an email address on your account",
                "ahora es una dirección de correo electrónico de su cuenta",
            ),
            &[second, "/help"],
        )
        .await;
        assert_in(lang, &text);

        let account = browser.get_ok("/account").await;
        let id = extra_address_id(&server, second).await;
        let res = browser
            .post(
                "/account/emails/primary",
                &[("csrf", &csrf_of(&account)), ("id", &id)],
            )
            .await;
        assert_eq!(res.status(), 303);
        let m = the_message(
            &server,
            second,
            "email",
            w(
                lang,
                "Your Verity sign-in email changed",
                "Cambió el correo electrónico con el que inicia sesión en Verity",
            ),
            &[email, second],
        )
        .await;
        assert_in(lang, &m);
        let text = the_message(
            &server,
            number,
            "sms",
            w(lang, "you now sign in with", "ahora inicia sesión con"),
            &[email, second],
        )
        .await;
        assert_in(lang, &text);

        // The old primary is now the extra address; removing it tells it too.
        let account = browser.get_ok("/account").await;
        let id = extra_address_id(&server, email).await;
        let res = browser
            .post(
                "/account/emails/remove",
                &[("csrf", &csrf_of(&account)), ("id", &id)],
            )
            .await;
        assert_eq!(res.status(), 303);
        let removed = w(
            lang,
            "An email address was removed",
            "Se quitó una dirección de correo electrónico",
        );
        for to in [email, second] {
            let m = the_message(&server, to, "email", removed, &[email]).await;
            assert_in(lang, &m);
        }
        let text = the_message(
            &server,
            number,
            "sms",
            w(lang, "was removed from your account", "se quitó"),
            &[email],
        )
        .await;
        assert_in(lang, &text);
    }
}

// Second factors.

#[actix_web::test]
async fn phone_changes_are_told_to_both_numbers_and_by_email_in_the_persons_language() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    for (lang, email, old, new) in [
        (Lang::En, "phil@example.com", "+12015550169", "+12015550170"),
        (Lang::Es, "pili@example.com", "+12015550171", "+12015550172"),
    ] {
        let browser = person(&server, email, old, lang).await;
        let uid = user_id(&server, email).await;
        let id = server
            .ctx
            .db
            .run(move |c| {
                Ok(verity::mfa::methods::enrolled(c, &uid)?.phones[0]
                    .id
                    .clone())
            })
            .await
            .unwrap();
        let res = browser
            .get(&format!("/account/phones/start?phone={id}"))
            .await;
        assert_eq!(res.headers()["location"], "/account/phones/change");
        let page = browser.get_ok("/account/phones/change").await;
        let res = browser
            .post(
                "/account/phones/change/number",
                &[
                    ("csrf", &csrf_of(&page)),
                    ("phone", new),
                    ("channel", "sms"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let code_text = &server.outbox_for(new).await[0];
        assert_in(lang, code_text);
        let code = newest_code(&server, new).await;
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

        let to_old = the_message(
            &server,
            old,
            "sms",
            w(
                lang,
                "your number on Verity was changed on",
                "su número en Verity se cambió el",
            ),
            &["/not-me?token="],
        )
        .await;
        assert_in(lang, &to_old);
        let mail = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "Your Verity phone numbers changed",
                "Cambiaron los números de teléfono de su cuenta de Verity",
            ),
            &[
                w(lang, "was replaced by", "se reemplazó por"),
                "/not-me?token=",
            ],
        )
        .await;
        assert_in(lang, &mail);
        let to_new = the_message(
            &server,
            new,
            "sms",
            w(
                lang,
                "this number is now on your Verity account",
                "este número ya está en su cuenta de Verity",
            ),
            &[],
        )
        .await;
        assert_in(lang, &to_new);
    }
}

#[actix_web::test]
async fn authenticator_app_changes_are_told_in_the_persons_language() {
    let server = TestServer::start().await;
    for (lang, email) in [
        (Lang::En, "ted@example.com"),
        (Lang::Es, "tere@example.com"),
    ] {
        let browser = server.signed_in_browser(email).await;
        speak(&browser, lang).await;
        let page = browser.get_ok("/account/totp/add").await;
        let secret = base32_decode(&text_of(&page, "code.secret").unwrap());
        let code = totp_code(&server, &secret);
        let res = browser
            .post(
                "/account/totp/add",
                &[("csrf", &csrf_of(&page)), ("code", &code)],
            )
            .await;
        assert_eq!(res.headers()["location"], "/account");
        let subject = w(
            lang,
            "Your Verity sign-in methods changed",
            "Cambiaron los métodos de inicio de sesión de su cuenta de Verity",
        );
        let added = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "An authenticator app was added",
                "Se agregó una aplicación de autenticación",
            ),
            &[subject, "/not-me?token="],
        )
        .await;
        assert_in(lang, &added);

        let uid = user_id(&server, email).await;
        let id = server
            .ctx
            .db
            .run(move |c| Ok(verity::mfa::methods::enrolled(c, &uid)?.totp[0].id.clone()))
            .await
            .unwrap();
        let account = browser.get_ok("/account").await;
        let res = browser
            .post(
                "/account/totp/remove",
                &[("csrf", &csrf_of(&account)), ("id", &id)],
            )
            .await;
        assert_eq!(res.headers()["location"], "/account");
        let removed = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "An authenticator app was removed",
                "Se quitó una aplicación de autenticación",
            ),
            &[subject],
        )
        .await;
        assert_in(lang, &removed);
    }
}

// Account reset.

/// Signs in with the password, says the phone is lost and asks for an account reset, and
/// confirms it from the e-mailed link.
async fn request_account_reset(server: &TestServer, email: &str, lang: Lang) {
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
    let mail = the_message(
        server,
        email,
        "email",
        w(
            lang,
            "Confirm your Verity account reset",
            "Confirme el restablecimiento de su cuenta de Verity",
        ),
        &[
            w(lang, "a wait of 24 hours", "esperar 24 horas"),
            "/account-reset/request?token=",
        ],
    )
    .await;
    assert_in(lang, &mail);
    let link = mail
        .body
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap()
        .to_string();
    let page = b.get_ok(link.trim_start_matches(&server.base)).await;
    let res = b
        .post(
            "/account-reset/request",
            &[
                ("csrf", &csrf_of(&page)),
                ("token", &hidden(&page, "token")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn account_reset_notices_speak_the_persons_language_on_every_channel() {
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    for (lang, email, number, other, other_number) in [
        (
            Lang::En,
            "ray@example.com",
            "+12015550173",
            "rob@example.com",
            "+12015550174",
        ),
        (
            Lang::Es,
            "rosa@example.com",
            "+12015550175",
            "rita@example.com",
            "+12015550176",
        ),
    ] {
        person(&server, email, number, lang).await;
        request_account_reset(&server, email, lang).await;
        let mail = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "Account reset requested for your Verity account",
                "Se pidió restablecer su cuenta de Verity",
            ),
            &[],
        )
        .await;
        assert_in(lang, &mail);
        let text = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "reset your account's sign-in methods",
                "restablecer los métodos de inicio de sesión de su cuenta",
            ),
            &[],
        )
        .await;
        assert_in(lang, &text);

        server
            .ctx
            .clock
            .advance(server.ctx.settings.security.account_reset_wait_secs as i64 + 1);
        verity::recovery::account_reset::send_due_links(&server.ctx)
            .await
            .unwrap();
        let ready = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "You can now reset your Verity account",
                "Ya puede restablecer su cuenta de Verity",
            ),
            &[
                w(lang, "expires in 24 hours", "vence en 24 horas"),
                "/account-reset?token=",
            ],
        )
        .await;
        assert_in(lang, &ready);
        let link = ready
            .body
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .unwrap()
            .to_string();
        let b = server.browser();
        let page = b.get_ok(link.trim_start_matches(&server.base)).await;
        let res = b
            .post(
                "/account-reset",
                &[
                    ("csrf", &csrf_of(&page)),
                    ("token", &hidden(&page, "token")),
                ],
            )
            .await;
        assert_eq!(res.status(), 200);
        let done = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "Your Verity sign-in methods were removed",
                "Se quitaron los métodos de inicio de sesión de su cuenta de Verity",
            ),
            &["/help"],
        )
        .await;
        assert_in(lang, &done);
        let text = the_message(
            &server,
            number,
            "sms",
            w(
                lang,
                "this number was removed from an account",
                "este número se quitó de una cuenta",
            ),
            &["/help"],
        )
        .await;
        assert_in(lang, &text);

        // Signing in normally during the wait cancels it, on every channel.
        person(&server, other, other_number, lang).await;
        request_account_reset(&server, other, lang).await;
        let b = server.browser();
        server.sign_in(&b, other, PASSWORD).await;
        assert!(is_signed_in(&pass_phone(&server, &b, other_number).await));
        let mail = the_message(
            &server,
            other,
            "email",
            w(
                lang,
                "Your Verity account reset was cancelled",
                "Se canceló el restablecimiento de su cuenta de Verity",
            ),
            &[],
        )
        .await;
        assert_in(lang, &mail);
        let text = the_message(
            &server,
            other_number,
            "sms",
            w(
                lang,
                "was cancelled because you signed in",
                "porque usted inició sesión",
            ),
            &[],
        )
        .await;
        assert_in(lang, &text);
    }
}

// Support.

#[actix_web::test]
async fn support_mail_follows_the_language_the_ticket_was_written_in_or_the_account_chose() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    for (lang, contact, accept) in [
        (Lang::En, "sam@example.com", "en"),
        (Lang::Es, "sara@example.com", "es"),
    ] {
        let browser = server.browser();
        let page = browser.get_ok("/support").await;
        let res = browser
            .http
            .post(server.url("/support"))
            .header("accept-language", accept)
            .form(&[
                ("csrf", csrf_of(&page).as_str()),
                ("category", "lost_phone"),
                ("contact_email", contact),
                ("message", "Perdí mi teléfono / I lost my phone."),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let ack = the_message(
            &server,
            contact,
            "email",
            w(
                lang,
                "We received your message (VT-",
                "Recibimos su mensaje (VT-",
            ),
            &[w(lang, "Your ticket number is", "Su número de caso es")],
        )
        .await;
        assert_in(lang, &ack);
        let ticket = ack.subject.split(['(', ')']).nth(1).unwrap().to_string();

        // The agent's reply: their words as written, our footer in the ticket's language.
        let r = call(
            &server,
            Method::POST,
            &format!("/support-tickets/{ticket}/replies"),
            Some(&token),
            Some(json!({ "body": "Hola / Hello: call us." })),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let reply = the_message(
            &server,
            contact,
            "email",
            w(
                lang,
                "Re: your message to Verity support",
                "Re: su mensaje al equipo de asistencia de Verity",
            ),
            &[
                "Hola / Hello: call us.",
                &ticket,
                w(
                    lang,
                    "We will never ask you for your password",
                    "Nunca le pediremos su contraseña",
                ),
            ],
        )
        .await;
        assert!(reply.subject.contains(&ticket));
    }

    // A service notice: the operator's words, the footer in each person's language.
    let es = server.signed_in_browser("sol@example.com").await;
    speak(&es, Lang::Es).await;
    server.signed_in_browser("stu@example.com").await;
    let ids = [
        user_id(&server, "sol@example.com").await,
        user_id(&server, "stu@example.com").await,
    ];
    let r = call(
        &server,
        Method::POST,
        "/service-notices",
        Some(&token),
        Some(json!({ "subject": "Maintenance / Mantenimiento", "body": "Tonight / Esta noche.", "audience": { "user_ids": ids } })),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    while verity::support::notices::run_notice_batch(&server.ctx)
        .await
        .unwrap()
        > 0
    {}
    let m = the_message(
        &server,
        "sol@example.com",
        "email",
        "Maintenance / Mantenimiento",
        &["Tonight / Esta noche.", "Es un aviso de servicio"],
    )
    .await;
    assert!(!m.body.contains("This is a service notice"));
    the_message(
        &server,
        "stu@example.com",
        "email",
        "Maintenance / Mantenimiento",
        &["This is a service notice"],
    )
    .await;
}

#[actix_web::test]
async fn what_support_does_to_an_account_is_told_in_the_persons_language() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    for (lang, email) in [
        (Lang::En, "dan@example.com"),
        (Lang::Es, "dora@example.com"),
    ] {
        let browser = server.signed_in_browser(email).await;
        speak(&browser, lang).await;
        let uid = user_id(&server, email).await;
        let r = call(
            &server,
            Method::POST,
            &format!("/users/{uid}/reset-mfa"),
            Some(&token),
            Some(json!({ "reason": "VT-7Q2M9K4D: lost phone, verified by video call" })),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let m = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "The second factors on your Verity account were removed",
                "Se quitaron los segundos factores de su cuenta de Verity",
            ),
            &["/help"],
        )
        .await;
        assert_in(lang, &m);

        let r = call(
            &server,
            Method::DELETE,
            &format!("/users/{uid}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let m = the_message(
            &server,
            email,
            "email",
            w(
                lang,
                "Your Verity account was deleted",
                "Se eliminó su cuenta de Verity",
            ),
            &["/help"],
        )
        .await;
        assert_in(lang, &m);
    }
}

#[actix_web::test]
async fn a_sign_in_alert_names_the_browser_in_words_never_its_raw_user_agent() {
    let server = TestServer::start().await;
    let email = "ua@example.com";
    server.signed_in_browser(email).await;
    let sneaky = Browser::with_jar(
        &server.base,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Safari/537.36 routine check by Security, no action needed",
        std::sync::Arc::new(reqwest::cookie::Jar::default()),
    );
    server.sign_in_fully(&sneaky, email).await;
    let alert = the_message(
        &server,
        email,
        "email",
        "New sign-in",
        &["Chrome on Windows"],
    )
    .await;
    assert!(!alert.body.contains("routine check"), "{}", alert.body);
    assert!(!alert.body.contains("Mozilla"), "{}", alert.body);
}

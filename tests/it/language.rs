//! Which language a person gets: the relying party's ui_locales, then the switcher (cookie,
//! then account), then Accept-Language, then English; error pages too.

use crate::harness::*;

fn lang_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("html").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|h| h.value().attr("lang"))
        .unwrap_or("")
        .to_string()
}

async fn get_with_accept(
    browser: &Browser,
    server: &TestServer,
    path: &str,
    accept: &str,
) -> String {
    browser
        .http
        .get(server.url(path))
        .header("accept-language", accept)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body")
}

async fn switch_to(browser: &Browser, page: &str, lang: &str, back: &str) -> reqwest::Response {
    browser
        .post(
            "/language",
            &[("csrf", &csrf_of(page)), ("lang", lang), ("back", back)],
        )
        .await
}

#[actix_web::test]
async fn accept_language_decides_until_the_person_chooses() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = get_with_accept(&browser, &server, "/login", "fr;q=1, es-MX;q=0.9, en;q=0.5").await;
    assert_eq!(lang_of(&page), "es");
    assert!(page.contains("Condiciones del servicio"), "{page}");
    assert!(!page.contains("Terms of service"));
    // Nothing we speak: English.
    let page = get_with_accept(&browser, &server, "/login", "fr, de").await;
    assert_eq!(lang_of(&page), "en");
    assert!(page.contains("Terms of service"));

    // The switcher beats the header from now on, and goes back to the page it was on.
    let page = get_with_accept(&browser, &server, "/login", "en").await;
    let res = switch_to(&browser, &page, "es", "/signup").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/signup");
    let page = get_with_accept(&browser, &server, "/login", "en").await;
    assert_eq!(lang_of(&page), "es");
}

#[actix_web::test]
async fn the_switcher_refuses_foreign_places_unknown_languages_and_forged_forms() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.get_ok("/login").await;
    for back in [
        "//evil.example/x",
        "https://evil.example/",
        "/token",
        "/authorize?client_id=x",
        "/\\evil",
    ] {
        let res = switch_to(&browser, &page, "es", back).await;
        assert_eq!(res.status(), 303, "{back}");
        assert_eq!(res.headers()["location"], "/", "{back}");
    }
    let res = switch_to(&browser, &page, "fr", "/login").await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    // The refusal is itself in the language chosen before (Spanish, by the posts above).
    assert!(body.contains("Todavía no ofrecemos ese idioma"), "{body}");

    let stranger = server.browser();
    let res = stranger
        .post(
            "/language",
            &[("csrf", "forged"), ("lang", "en"), ("back", "/login")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(res
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap_or("").contains("verity_lang=")));
}

#[actix_web::test]
async fn a_signed_in_choice_follows_the_person_to_a_new_browser() {
    let server = TestServer::start().await;
    let email = "lang-account@example.com";
    let first = server.signed_in_browser(email).await;
    let page = first.get_ok("/account").await;
    assert_eq!(lang_of(&page), "en");
    let res = switch_to(&first, &page, "es", "/account").await;
    assert_eq!(res.status(), 303);

    // A browser with no language cookie, signing in: the account's choice wins over its header.
    let second = server.browser();
    server.sign_in_fully(&second, email).await;
    let page = get_with_accept(&second, &server, "/account", "en-US").await;
    assert_eq!(lang_of(&page), "es");
}

#[actix_web::test]
async fn ui_locales_decides_the_sign_in_pages_and_only_that_sign_in() {
    let server = TestServer::start().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.browser();
    // The person chose English before…
    let page = browser.get_ok("/login").await;
    switch_to(&browser, &page, "en", "/login").await;

    // …but this relying party asks for Spanish: its sign-in pages are in Spanish.
    let req = rp.auth_request(&["openid"]);
    let res = browser
        .get_abs(&format!("{}&ui_locales=fr-CA%20es", req.url))
        .await;
    let (url, res) = browser.follow(res).await;
    assert!(url.contains("/login?authz="), "{url}");
    assert_eq!(lang_of(&res.text().await.unwrap()), "es");

    // A later request without ui_locales is back in the person's own choice.
    let req = rp.auth_request(&["openid"]);
    let res = browser.get_abs(&req.url).await;
    let (_, res) = browser.follow(res).await;
    assert_eq!(lang_of(&res.text().await.unwrap()), "en");

    // Languages we don't speak change nothing.
    let req = rp.auth_request(&["openid"]);
    let res = browser
        .get_abs(&format!("{}&ui_locales=fr%20de", req.url))
        .await;
    let (_, res) = browser.follow(res).await;
    assert_eq!(lang_of(&res.text().await.unwrap()), "en");
}

#[actix_web::test]
async fn error_pages_speak_the_persons_language_and_keep_the_sites_frame() {
    let server = TestServer::start_with(|s| {
        s.site_name = "Tax Portal ID".into();
        s.support.phone = "1-800-555-0100".into();
        s.support
            .hours
            .insert("es".into(), "lunes a viernes, de 8 a 20".into());
    })
    .await;
    let browser = server.browser();
    let res = browser
        .http
        .get(server.url("/no-such-page"))
        .header("accept-language", "es")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let page = res.text().await.unwrap();
    assert_eq!(lang_of(&page), "es");
    assert!(page.contains("Página no encontrada"), "{page}");
    assert!(page.contains("Tax Portal ID"));
    assert!(page.contains("1-800-555-0100"));
    assert!(page.contains("lunes a viernes, de 8 a 20"));

    // A forged form: 403 in Spanish, and the language switcher on it works (its own token).
    let res = browser
        .http
        .post(server.url("/logout"))
        .header("accept-language", "es")
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let page = res.text().await.unwrap();
    assert!(page.contains("Este formulario ha caducado"), "{page}");
    let res = switch_to(&browser, &page, "en", "/login").await;
    assert_eq!(res.status(), 303);
}

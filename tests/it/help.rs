//! The help centre: the index lists every article, each article reads in English and Spanish,
//! odd addresses find nothing, and support's phone, hours and status show where they should
//! (the help index, the contact-support article and the support form).

use scraper::{Html, Selector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use verity::config::Settings;
use verity::help::ARTICLES;
use verity::i18n::Lang;

use crate::harness::*;

async fn get_in(server: &TestServer, path: &str, lang: Lang) -> (u16, String) {
    let res = server
        .browser()
        .http
        .get(server.url(path))
        .header("accept-language", lang.tag())
        .send()
        .await
        .expect("GET");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
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

fn lang_of(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("html").expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|h| h.value().attr("lang"))
        .unwrap_or("")
        .to_string()
}

/// (href, text) of every link to an article.
fn article_links(html: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(r#"main a[href^="/help/"]"#).expect("selector");
    doc.select(&sel)
        .map(|a| {
            (
                a.value().attr("href").unwrap_or("").to_string(),
                a.text().collect::<String>().trim().to_string(),
            )
        })
        .collect()
}

fn title_of(slug: &str, lang: Lang) -> String {
    let article = verity::help::find(slug).expect("article");
    verity::help::render_article(article, lang, &Settings::default()).title
}

#[actix_web::test]
async fn the_index_lists_every_article_in_both_languages() {
    let server = TestServer::start().await;
    for (lang, heading, lost_phone) in [
        (Lang::En, "Help center", "I lost my phone"),
        (Lang::Es, "Centro de ayuda", "Perdí mi teléfono"),
    ] {
        let (status, page) = get_in(&server, "/help", lang).await;
        assert_eq!(status, 200);
        assert_eq!(lang_of(&page), lang.tag());
        assert_eq!(texts(&page, "h1"), vec![heading.to_string()]);
        let expected: Vec<(String, String)> = ARTICLES
            .iter()
            .map(|a| (format!("/help/{}", a.slug), title_of(a.slug, lang)))
            .collect();
        assert_eq!(article_links(&page), expected, "{}", lang.tag());
        assert!(
            expected.contains(&("/help/lost-phone".into(), lost_phone.into())),
            "{expected:?}"
        );
    }
    // No English left on the Spanish index: neither the page's words nor an article title.
    let (_, page) = get_in(&server, "/help", Lang::Es).await;
    let mut english = vec![
        "Help center".to_string(),
        "Help topics".into(),
        "Send us a message".into(),
    ];
    english.extend(ARTICLES.iter().map(|a| title_of(a.slug, Lang::En)));
    for words in english {
        assert!(
            !page.contains(&words),
            "English {words:?} on the Spanish index"
        );
    }
}

#[actix_web::test]
async fn every_article_reads_in_english_and_in_spanish() {
    let server = TestServer::start().await;
    assert!(ARTICLES.len() >= 8);
    for article in ARTICLES {
        for lang in Lang::ALL {
            let path = format!("/help/{}", article.slug);
            let (status, page) = get_in(&server, &path, lang).await;
            assert_eq!(status, 200, "{path} in {}", lang.tag());
            assert_eq!(lang_of(&page), lang.tag(), "{path}");
            let title = title_of(article.slug, lang);
            assert_eq!(texts(&page, "main h1"), vec![title.clone()], "{path}");
            assert!(texts(&page, "title")[0].starts_with(&title), "{path}");
            // The Markdown became HTML, with no Markdown syntax left over.
            assert!(!texts(&page, "article p").is_empty(), "{path}");
            assert!(!page.contains("](/") && !page.contains("**"), "{path}");
            if lang == Lang::Es {
                let english = title_of(article.slug, Lang::En);
                assert!(!page.contains(&english), "English title on Spanish {path}");
                assert!(!page.contains("See all help topics"), "{path}");
            }
        }
    }
    // What the articles say comes from the settings: the SIM-swap cooldown, in words.
    let page = server
        .browser()
        .get_ok("/help/change-your-phone-number")
        .await;
    assert!(
        page.contains("For 72 hours after a number is added or changed"),
        "{page}"
    );
    let (_, page) = get_in(&server, "/help/scams", Lang::Es).await;
    assert!(page.contains("Nunca le pedimos su contraseña"), "{page}");
}

#[actix_web::test]
async fn the_numbers_in_articles_follow_the_settings() {
    let server = TestServer::start_with(|s| {
        s.security.sim_swap_cooldown_hours = 48;
        s.security.remember_browser_days = 7;
    })
    .await;
    let page = server
        .browser()
        .get_ok("/help/change-your-phone-number")
        .await;
    assert!(
        page.contains("For 48 hours after a number is added or changed"),
        "{page}"
    );
    assert!(!page.contains("72 hours"));
    let (_, page) = get_in(&server, "/help/remember-this-browser", Lang::Es).await;
    assert!(page.contains("Durante los próximos 7 días"), "{page}");
}

/// Sends `path` exactly as written (a client library would resolve `..` and `%2e%2e` first) and
/// returns the status and body.
async fn raw_get(server: &TestServer, path: &str, lang: Lang) -> (u16, String) {
    let host = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Language: {}\r\nConnection: close\r\n\r\n",
        lang.tag()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {path}: {answer}"));
    (status, answer)
}

#[actix_web::test]
async fn unknown_and_odd_slugs_are_not_found() {
    let server = TestServer::start().await;
    for path in [
        "/help/no-such-article",
        "/help/Scams",
        "/help/SCAMS",
        "/help/scams.md",
        "/help/scams%00",
        "/help/scams%20",
        "/help/.scams",
        "/help/%2e%2e",
        "/help/%2E%2E",
        "/help/..",
        "/help/../etc/passwd",
        "/help/%2e%2e%2fetc%2fpasswd",
        "/help/..%2F..%2FCargo.toml",
        "/help/en%2Fscams.md",
        "/help/scams/",
        "/help/scams/extra",
    ] {
        let (status, body) = raw_get(&server, path, Lang::En).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.contains("Page not found"), "{path}: {body}");
        assert!(
            !body.contains("[package]") && !body.contains("root:"),
            "{path}"
        );
    }
    // The 404 page speaks the request's language too.
    let (status, body) = raw_get(&server, "/help/Scams", Lang::Es).await;
    assert_eq!(status, 404);
    assert!(body.contains("Página no encontrada"), "{body}");
    // The same slug, spelled right, is there.
    assert_eq!(raw_get(&server, "/help/scams", Lang::En).await.0, 200);
}

#[actix_web::test]
async fn support_phone_hours_and_status_show_on_the_help_index_support_article_and_form() {
    let server = TestServer::start_with(|s| {
        s.support.phone = "1-800-555-0100".into();
        s.support.hours.insert(
            "en".into(),
            "Monday to Friday, 8 a.m. to 8 p.m. Eastern".into(),
        );
        s.support.hours.insert(
            "es".into(),
            "de lunes a viernes, de 8 a. m. a 8 p. m. (hora del Este)".into(),
        );
        s.support.status_message.insert(
            "en".into(),
            "Text messages to some carriers are delayed.".into(),
        );
        s.support.status_message.insert(
            "es".into(),
            "Los mensajes de texto a algunas compañías llegan con retraso.".into(),
        );
    })
    .await;
    for path in ["/help", "/help/contact-support", "/support"] {
        let (status, page) = get_in(&server, path, Lang::En).await;
        assert_eq!(status, 200);
        let boxes = texts(&page, ".usa-summary-box");
        assert_eq!(boxes.len(), 1, "{path}: {page}");
        assert!(
            boxes[0].contains("Phone: 1-800-555-0100"),
            "{path}: {boxes:?}"
        );
        assert!(
            boxes[0].contains("Hours: Monday to Friday, 8 a.m. to 8 p.m. Eastern"),
            "{path}: {boxes:?}"
        );
        assert!(page.contains(r#"href="tel:18005550100""#), "{path}");
        let alerts = texts(&page, ".usa-alert");
        assert_eq!(alerts.len(), 1, "{path}");
        assert!(
            alerts[0].contains("Text messages to some carriers are delayed."),
            "{path}: {alerts:?}"
        );

        let (_, page) = get_in(&server, path, Lang::Es).await;
        let boxes = texts(&page, ".usa-summary-box");
        assert_eq!(boxes.len(), 1, "{path}");
        assert!(
            boxes[0].contains("Teléfono: 1-800-555-0100"),
            "{path}: {boxes:?}"
        );
        assert!(
            boxes[0].contains("Horario: de lunes a viernes"),
            "{path}: {boxes:?}"
        );
        assert!(!page.contains("Monday to Friday"), "{path}");
        let alerts = texts(&page, ".usa-alert");
        assert!(
            alerts[0].contains("llegan con retraso"),
            "{path}: {alerts:?}"
        );
        assert!(!page.contains("carriers are delayed"), "{path}");
    }
    // Other articles carry the status, not the contact box.
    let page = server.browser().get_ok("/help/scams").await;
    assert_eq!(texts(&page, ".usa-summary-box").len(), 0);
    assert_eq!(texts(&page, ".usa-alert").len(), 1);
}

#[actix_web::test]
async fn without_support_settings_there_is_no_contact_box_and_no_status() {
    let server = TestServer::start().await;
    for path in ["/help", "/help/contact-support", "/help/scams", "/support"] {
        let page = server.browser().get_ok(path).await;
        assert!(texts(&page, ".usa-summary-box").is_empty(), "{path}");
        assert!(texts(&page, ".usa-alert").is_empty(), "{path}");
        assert!(!page.contains("tel:"), "{path}");
        // The contact form is still offered.
        assert!(page.contains(r#"href="/support""#), "{path}");
    }
}

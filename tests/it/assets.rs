//! The files pages load (the U.S. Web Design System, verity.css, the operator's logo): every
//! URL a page names is served with a year-long cache lifetime and its real type, the CSS finds
//! its fonts and icons, an outdated URL is a 404, and the logo and banner settings show.

use std::io::Read;

use crate::harness::*;
use scraper::{Html, Selector};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Images the vendored CSS names for components Verity doesn't use and so doesn't ship
/// (see static/uswds/VERSION.md).
const NOT_SHIPPED: &[&str] = &["img/hero.jpg"];

/// Every stylesheet, script and image URL in a page (inline `data:` images aside).
fn asset_urls(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let mut urls = Vec::new();
    for (selector, attr) in [
        ("link[rel=stylesheet]", "href"),
        ("script[src]", "src"),
        ("img[src]", "src"),
    ] {
        let sel = Selector::parse(selector).unwrap();
        for el in doc.select(&sel) {
            let url = el.value().attr(attr).unwrap();
            if !url.starts_with("data:") {
                urls.push(url.to_string());
            }
        }
    }
    urls
}

fn expected_type(url: &str) -> &'static str {
    match url.rsplit('.').next().unwrap() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        other => panic!("a file type the test doesn't know: {other} ({url})"),
    }
}

/// GETs an asset (absolute URL) and checks what a browser and a shared cache rely on.
async fn fetch_cacheable(url: &str) -> Vec<u8> {
    // A client without a cookie jar: a shared cache sees requests like this one.
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    assert_eq!(res.headers()["cache-control"], IMMUTABLE, "{url}");
    assert_eq!(res.headers()["content-type"], expected_type(url), "{url}");
    assert!(
        res.headers().get("set-cookie").is_none(),
        "a publicly cached answer carries no cookie: {url}"
    );
    res.bytes().await.unwrap().to_vec()
}

fn stylesheet(html: &str, ends_with: &str) -> String {
    asset_urls(html)
        .into_iter()
        .find(|u| u.ends_with(ends_with))
        .unwrap_or_else(|| panic!("the page links {ends_with}"))
}

/// `url(...)` references in a stylesheet, as written.
fn css_urls(css: &str) -> Vec<String> {
    css.split("url(")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap().trim_matches(['"', '\'']))
        .filter(|u| !u.is_empty() && !u.starts_with("data:"))
        .map(str::to_string)
        .collect()
}

#[actix_web::test]
async fn every_file_a_page_names_is_served_for_a_year_with_its_type() {
    let server = TestServer::start().await;
    let mut seen = std::collections::BTreeSet::new();
    for path in ["/", "/login", "/signup"] {
        let html = server.browser().get_ok(path).await;
        let urls = asset_urls(&html);
        assert!(
            urls.iter().filter(|u| u.ends_with(".css")).count() >= 2,
            "{path} loads the USWDS CSS and verity.css: {urls:?}"
        );
        for url in urls {
            assert!(url.starts_with("/static/"), "{path}: {url}");
            seen.insert(url);
        }
    }
    for url in &seen {
        fetch_cacheable(&server.url(url)).await;
    }
}

#[actix_web::test]
async fn the_stylesheets_find_their_fonts_and_icons() {
    let server = TestServer::start().await;
    let html = server.browser().get_ok("/login").await;
    let mut fonts = 0;
    for sheet in [
        stylesheet(&html, "/uswds/css/uswds.min.css"),
        stylesheet(&html, "/verity.css"),
    ] {
        let base = url::Url::parse(&server.url(&sheet)).unwrap();
        let css = String::from_utf8(fetch_cacheable(base.as_str()).await).unwrap();
        for reference in css_urls(&css) {
            if NOT_SHIPPED.iter().any(|n| reference.ends_with(n)) {
                continue;
            }
            // Relative to the stylesheet, as the browser resolves it.
            let target = base.join(&reference).unwrap();
            let body = fetch_cacheable(target.as_str()).await;
            assert!(!body.is_empty(), "{reference}");
            if reference.ends_with(".woff2") {
                assert!(body.starts_with(b"wOF2"), "{reference} is a WOFF2 font");
                fonts += 1;
            }
        }
    }
    assert!(
        fonts >= 2,
        "the regular and bold body font resolve ({fonts})"
    );
}

#[actix_web::test]
async fn an_outdated_or_unknown_asset_url_is_not_found() {
    let server = TestServer::start().await;
    let html = server.browser().get_ok("/login").await;
    let css = stylesheet(&html, "/verity.css");
    let hash = css.split('/').nth(2).unwrap().to_string();
    assert_eq!(hash.len(), 12, "{css}");
    for url in [
        // A page cached from an older release asks for the old hash.
        css.replace(&hash, "0123456789ab"),
        format!("/static/{hash}/no-such-file.css"),
        // The address before content hashes.
        "/static/verity.css".to_string(),
    ] {
        let res = reqwest::get(server.url(&url)).await.unwrap();
        assert_eq!(res.status(), 404, "{url}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{url}");
    }
}

#[actix_web::test]
async fn stylesheets_are_gzipped_for_browsers_that_accept_it() {
    let server = TestServer::start().await;
    let html = server.browser().get_ok("/login").await;
    let url = server.url(&stylesheet(&html, "/uswds/css/uswds.min.css"));
    let plain = fetch_cacheable(&url).await;
    let res = reqwest::Client::new()
        .get(&url)
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.headers()["vary"], "Accept-Encoding");
    assert_eq!(res.headers()["cache-control"], IMMUTABLE);
    let gz = res.bytes().await.unwrap();
    assert!(
        gz.len() * 4 < plain.len(),
        "{} vs {}",
        gz.len(),
        plain.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain, "the same stylesheet");
    // Refused gzip: the plain file.
    let res = reqwest::Client::new()
        .get(&url)
        .header("accept-encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("content-encoding").is_none());
}

#[actix_web::test]
async fn the_operator_logo_shows_in_the_header_and_footer() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("agency.svg");
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 8 8\"><rect width=\"8\" height=\"8\"/></svg>";
    std::fs::write(&logo, svg).unwrap();
    let server = TestServer::start_with(|s| {
        s.site_name = "Benefits ID".into();
        s.site_logo = Some(logo.clone());
    })
    .await;
    let html = server.browser().get_ok("/login").await;
    let doc = Html::parse_document(&html);
    let src = |selector: &str| {
        doc.select(&Selector::parse(selector).unwrap())
            .next()
            .and_then(|img| img.value().attr("src"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{selector} in {html}"))
    };
    let header_logo = src("header.usa-header img");
    assert_eq!(src("footer img"), header_logo);
    assert!(header_logo.ends_with("/logo.svg"), "{header_logo}");
    assert_eq!(
        text_of(&html, "header.usa-header .usa-logo").as_deref(),
        Some("Benefits ID"),
        "the name stays beside the logo"
    );
    assert_eq!(fetch_cacheable(&server.url(&header_logo)).await, svg);
    // The logo's own hash: an older logo's URL is gone.
    let res = reqwest::get(server.url("/static/0123456789ab/logo.svg"))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let plain = TestServer::start().await;
    let html = plain.browser().get_ok("/login").await;
    assert!(!html.contains("/logo."), "no logo unless one is configured");
}

#[actix_web::test]
async fn a_logo_that_isnt_an_image_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, "not a picture").unwrap();
    let settings = verity::config::Settings {
        data_dir: dir.path().to_path_buf(),
        master_key: Some(verity::crypto::MasterKey::generate().to_base64()),
        site_logo: Some(logo),
        ..Default::default()
    };
    let err = verity::Ctx::build(settings).await.err().expect("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("VERITY_SITE_LOGO") && text.contains("isn't a PNG image"),
        "{text}"
    );
}

#[actix_web::test]
async fn the_official_banner_shows_only_when_the_operator_turns_it_on() {
    let server = TestServer::start().await;
    let html = server.browser().get_ok("/login").await;
    assert!(!html.contains("usa-banner"), "off by default");
    assert!(
        !asset_urls(&html)
            .iter()
            .any(|u| u.ends_with("uswds.min.js")),
        "no USWDS script without the banner"
    );

    let server = TestServer::start_with(|s| s.official_banner = true).await;
    let html = server.browser().get_ok("/login").await;
    assert_eq!(
        text_of(&html, ".usa-banner .usa-banner__header-text").as_deref(),
        Some("An official website of the United States government")
    );
    let urls = asset_urls(&html);
    assert!(urls.iter().any(|u| u.ends_with("/uswds/js/uswds.min.js")));
    assert!(urls.iter().any(|u| u.ends_with("/us_flag_small.png")));
    for url in &urls {
        fetch_cacheable(&server.url(url)).await;
    }
    // The script runs under the page's own policy: scripts from this origin only.
    let res = reqwest::get(server.url("/login")).await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
}

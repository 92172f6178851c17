//! Promises about cookies and headers that a browser or a relying party relies on.

use crate::harness::*;

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

#[actix_web::test]
async fn an_https_issuer_gets_secure_host_prefixed_cookies_and_hsts() {
    // The issuer is what decides; the test still talks plain HTTP to the listener.
    let server = TestServer::start_with(|s| s.issuer = "https://verity.example".into()).await;
    let res = reqwest::get(server.url("/login")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    let cookies = set_cookies(&res);
    let browser_cookie = cookies
        .iter()
        .find(|c| c.starts_with("__Host-verity_browser="))
        .unwrap_or_else(|| panic!("a __Host- browser cookie: {cookies:?}"));
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(browser_cookie.contains(attribute), "{browser_cookie}");
    }
    assert!(
        !browser_cookie.contains("Domain="),
        "__Host- cookies carry no Domain"
    );
}

#[actix_web::test]
async fn pages_are_neither_framed_nor_cached_while_discovery_and_keys_are_cacheable() {
    let server = TestServer::start().await;
    for path in ["/", "/login", "/signup", "/no-such-page"] {
        let res = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    for path in ["/.well-known/openid-configuration", "/jwks.json"] {
        let res = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=300",
            "{path}"
        );
    }
}

#[actix_web::test]
async fn signing_in_again_issues_a_new_session_id() {
    let server = TestServer::start().await;
    let email = "fix@example.com";
    let browser = server.browser();
    server.create_account(&browser, email).await;

    let mut seen = Vec::new();
    for _ in 0..2 {
        let res = server.sign_in(&browser, email, PASSWORD).await;
        let res = server.pass_second_factor(&browser, email, res).await;
        assert_eq!(res.status(), 303);
        let session = set_cookies(&res)
            .into_iter()
            .find(|c| c.starts_with("verity_session=") && !c.starts_with("verity_session=;"))
            .expect("a session cookie at sign-in");
        let value = session
            .trim_start_matches("verity_session=")
            .split(';')
            .next()
            .unwrap_or("")
            .to_string();
        assert!(value.len() >= 32, "a long random session id: {value}");
        seen.push(value);
        // Sign out, keeping the browser (and its other cookies) for the next sign-in.
        let home = browser.get_ok("/").await;
        let res = browser.post("/logout", &[("csrf", &csrf_of(&home))]).await;
        assert_eq!(res.status(), 303, "signed out");
    }
    assert_ne!(seen[0], seen[1], "a new session id at every sign-in");
}

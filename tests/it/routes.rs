//! Walks the route table (`verity::web::ROUTES`, the very list `routes()` registers) and fires a
//! request at every row: a new POST route without the CSRF check, or a new `/account` route
//! without the sign-in guard, fails here.

use crate::harness::*;
use verity::web::ROUTES;

/// POST routes that are not browser forms, or have rules of their own. Keep this short, and say
/// why for each.
const NOT_BROWSER_FORMS: &[(&str, &str)] = &[
    // OAuth and OIDC endpoints called by relying parties: they authenticate the client (or
    // carry a bearer token), never a browser's cookies.
    ("post", "/token"),
    ("post", "/par"),
    ("post", "/revoke"),
    ("post", "/introspect"),
    ("post", "/register"),
    ("post", "/userinfo"),
    // An RP's authorization request sent as a form post (OIDC Core 3.1.2.1): it only stores the
    // request; nothing happens until the person signs in and consents (both CSRF-checked).
    ("post", "/authorize"),
    // RP-initiated logout: signs out only with a valid id_token_hint for this session, otherwise
    // it shows a confirmation page whose button (/end-session/confirm) is CSRF-checked.
    ("post", "/end-session"),
    // Shared Signals: JSON APIs of relying parties with a client_credentials bearer token (a
    // browser can't send one); tests/it/ssf.rs checks every /ssf/ row answers 401 without it.
    ("post", "/ssf/streams"),
    ("post", "/ssf/status"),
    ("post", "/ssf/subjects/add"),
    ("post", "/ssf/subjects/remove"),
    ("post", "/ssf/verify"),
    ("post", "/ssf/poll/{stream_id}"),
];

/// `/account` routes that work without a session.
const ACCOUNT_WITHOUT_SESSION: &[(&str, &str)] = &[
    // The emailed add-email link's page: it confirms nothing (its button, the POST, needs the
    // adding account's session and is checked here), and tells anyone else to sign in as the
    // account that added the address.
    ("get", "/account/emails/confirm"),
];

fn is_account(path: &str) -> bool {
    path == "/account"
        || path.starts_with("/account/")
        || path == "/step-up"
        // The agent desk: an agent's own account, signed in.
        || path == "/referee"
        || path.starts_with("/referee/")
}

async fn audit_events(server: &TestServer) -> i64 {
    server
        .ctx
        .db
        .run(|c| {
            use diesel::prelude::*;
            use verity::storage::schema::audit_events;
            Ok(audit_events::table.count().get_result(c)?)
        })
        .await
        .unwrap()
}

#[test]
fn the_table_is_the_real_one() {
    for row in [
        ("post", "/account/password"),
        ("post", "/login"),
        ("get", "/account"),
        ("post", "/token"),
    ] {
        assert!(ROUTES.contains(&row), "{row:?}");
    }
    for row in NOT_BROWSER_FORMS.iter().chain(ACCOUNT_WITHOUT_SESSION) {
        assert!(ROUTES.contains(row), "allow-list entry {row:?} is stale");
    }
}

#[actix_web::test]
async fn every_browser_post_refuses_a_missing_or_foreign_csrf_token() {
    let server = TestServer::start().await;
    let browser = server.signed_in_browser("rita@example.com").await;
    // A token that is valid, but for another browser.
    let other = server.browser();
    let foreign = csrf_of(&other.get_ok("/login").await);
    let before = audit_events(&server).await;
    let mut checked = 0;
    for (method, path) in ROUTES {
        if *method != "post" || NOT_BROWSER_FORMS.contains(&(*method, *path)) {
            continue;
        }
        checked += 1;
        let res = browser.post(path, &[("x", "y")]).await;
        assert_eq!(res.status(), 403, "POST {path} without a CSRF token");
        let res = browser.post(path, &[("csrf", &foreign)]).await;
        assert_eq!(
            res.status(),
            403,
            "POST {path} with another browser's token"
        );
    }
    assert!(checked >= 30, "only {checked} browser forms found");
    assert_eq!(audit_events(&server).await, before, "nothing happened");
    assert!(
        browser.get_ok("/").await.contains("Signed in as"),
        "still signed in"
    );
}

#[actix_web::test]
async fn every_account_route_sends_a_stranger_to_sign_in() {
    let server = TestServer::start().await;
    let before = audit_events(&server).await;
    let stranger = server.browser();
    // A valid token for this browser (no session), so only the sign-in guard can refuse.
    let csrf = csrf_of(&stranger.get_ok("/login").await);
    let mut checked = 0;
    for (method, path) in ROUTES {
        if !is_account(path) || ACCOUNT_WITHOUT_SESSION.contains(&(*method, *path)) {
            continue;
        }
        checked += 1;
        let res = match *method {
            "get" => stranger.get(path).await,
            "post" => stranger.post(path, &[("csrf", &csrf)]).await,
            other => panic!("a {other} route under /account: add it here"),
        };
        assert_eq!(res.status(), 303, "{method} {path}");
        let to = res.headers()["location"].to_str().unwrap();
        assert!(to.starts_with("/login"), "{method} {path} went to {to}");
    }
    assert!(checked >= 25, "only {checked} account routes found");
    assert_eq!(audit_events(&server).await, before, "nothing happened");
}

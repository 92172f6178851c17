//! `/metrics` as an operator and a scraper see it: who may read it, and that the figures move
//! when people sign in, prove a second factor and relying parties get tokens. Every test reads
//! its own server's figures (each `Ctx` has its own registry), as deltas where the harness's
//! own requests count too.

use std::collections::{BTreeMap, BTreeSet};

use openidconnect::OAuth2TokenResponse;

use crate::harness::*;

pub(crate) const TOKEN: &str = "scrape-token-for-the-tests-0123456789abcdef";

pub(crate) async fn guarded() -> TestServer {
    TestServer::start_with(|s| s.metrics.bearer_token = Some(TOKEN.into())).await
}

/// One sample: the series' name and labels, and its value.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The text exposition format, simply: `name{a="x",b="y"} value` per line, `#` lines skipped.
pub(crate) fn parse(body: &str) -> Vec<Sample> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once("=\"").expect("label=\"value\"");
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            Sample {
                name: name.to_string(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The sum of the samples of `name` that carry all of `labels` (0 when there are none).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape_with(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("scrape")
}

async fn scrape_text(server: &TestServer) -> String {
    let res = scrape_with(&server.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(res.status(), 200);
    res.text().await.expect("body")
}

pub(crate) async fn scrape(server: &TestServer) -> Vec<Sample> {
    parse(&scrape_text(server).await)
}

/// Every name a scraper can query: the samples', and for a family with no sample yet the
/// names its `# TYPE` line promises (a histogram's `_bucket`, `_sum` and `_count`).
fn exported_names(body: &str) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = parse(body).into_iter().map(|s| s.name).collect();
    for line in body.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        } else {
            names.insert(name.to_string());
        }
    }
    names
}

#[actix_web::test]
async fn metrics_are_absent_without_a_token_and_need_the_right_one() {
    let off = TestServer::start().await;
    let res = scrape_with(&off.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(res.status(), 404, "no token configured: no endpoint");

    let server = guarded().await;
    for presented in [None, Some("wrong"), Some(&TOKEN[..TOKEN.len() - 1])] {
        let res = scrape_with(&server.url("/metrics"), presented).await;
        assert_eq!(res.status(), 401, "{presented:?}");
        let challenge = res.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(!res.text().await.unwrap().contains("verity_"));
    }
    let res = scrape_with(&server.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no browser cookie for a scraper"
    );
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let body = res.text().await.unwrap();
    assert!(body.contains("# HELP verity_sign_ins_total "), "{body}");
    assert!(body.contains("# TYPE verity_http_requests_total counter"));
}

#[actix_web::test]
async fn a_separate_listener_serves_metrics_without_a_token_and_nothing_else() {
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let listen = addr.clone();
    let server = TestServer::start_with(move |s| s.metrics.listen = Some(listen)).await;
    let res = scrape_with(&format!("http://{addr}/metrics"), None).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("verity_process_resident_memory_bytes"));
    for path in ["/login", "/healthz", "/metrics/x"] {
        let res = scrape_with(&format!("http://{addr}{path}"), None).await;
        assert_eq!(res.status(), 404, "{path} on the metrics listener");
    }
    // The main listener still has no /metrics: no token is configured.
    let res = scrape_with(&server.url("/metrics"), None).await;
    assert_eq!(res.status(), 404);
}

#[actix_web::test]
async fn sign_in_outcomes_are_counted_and_an_unknown_account_looks_like_a_wrong_password() {
    let server = guarded().await;
    let browser = server.browser();
    server.create_account(&browser, "mia@example.com").await;
    let before = scrape(&server).await;
    let count =
        |s: &[Sample], outcome: &str| value(s, "verity_sign_ins_total", &[("outcome", outcome)]);

    let res = server
        .sign_in(&browser, "mia@example.com", "not her password")
        .await;
    assert_eq!(res.status(), 401, "the form again");
    let res = server
        .sign_in(&server.browser(), "nobody@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 401, "the same answer");
    let after_wrong = scrape(&server).await;
    assert_eq!(
        count(&after_wrong, "wrong_password") - count(&before, "wrong_password"),
        2.0
    );
    assert_eq!(count(&after_wrong, "success"), count(&before, "success"));

    // Right password (and the first sign-in enrols backup codes), then a second sign-in with a
    // wrong backup code and a right one.
    server.sign_in_fully(&browser, "mia@example.com").await;
    let other = server.browser();
    let res = server.sign_in(&other, "mia@example.com", PASSWORD).await;
    assert_eq!(res.headers()["location"], "/mfa");
    let page = other.get_ok("/mfa?method=backup").await;
    let res = other
        .post(
            "/mfa/verify",
            &[
                ("csrf", &csrf_of(&page)),
                ("method", "backup"),
                ("code", "0000-0000-0000"),
            ],
        )
        .await;
    assert_ne!(res.status(), 303, "a wrong backup code signs no one in");
    let code = server.take_backup_code("mia@example.com");
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

    let after = scrape(&server).await;
    assert_eq!(count(&after, "success") - count(&before, "success"), 2.0);
    assert_eq!(
        count(&after, "wrong_password") - count(&before, "wrong_password"),
        2.0
    );
    let factor = |s: &[Sample], outcome: &str| {
        value(
            s,
            "verity_second_factor_checks_total",
            &[("method", "backup_code"), ("outcome", outcome)],
        )
    };
    assert_eq!(factor(&after, "success") - factor(&before, "success"), 1.0);
    assert_eq!(factor(&after, "failure") - factor(&before, "failure"), 1.0);
    // The confirmation email went out through the notifier, and was counted.
    assert!(
        value(
            &after,
            "verity_notices_sent_total",
            &[("channel", "email"), ("kind", "confirm_email")]
        ) >= 1.0
    );
    let text = scrape_text(&server).await;
    assert!(!text.contains("mia@") && !text.contains("nobody@"));
}

#[actix_web::test]
async fn requests_are_labelled_by_route_template_never_by_the_path_sent() {
    let server = guarded().await;
    let other = guarded().await;
    let browser = server.browser();
    browser.get_ok("/help/lost-phone").await;
    browser.get("/help/a-page-that-is-not-there").await;
    let res = browser
        .get("/no-such-page-anywhere?token=secret-one-time")
        .await;
    assert_eq!(res.status(), 404);

    let text = scrape_text(&server).await;
    let samples = parse(&text);
    let requests = |route: &str, status: &str| {
        value(
            &samples,
            "verity_http_requests_total",
            &[("route", route), ("method", "GET"), ("status", status)],
        )
    };
    assert_eq!(requests("/help/{slug}", "2xx"), 1.0);
    assert_eq!(requests("/help/{slug}", "4xx"), 1.0);
    assert_eq!(requests("unmatched", "4xx"), 1.0);
    assert_eq!(
        value(
            &samples,
            "verity_http_request_duration_seconds_count",
            &[("route", "/help/{slug}")]
        ),
        2.0
    );
    for raw in [
        "lost-phone",
        "a-page-that-is-not-there",
        "no-such-page",
        "secret-one-time",
    ] {
        assert!(!text.contains(raw), "{raw} appears in the metrics");
    }
    // Another server in the same process has figures of its own.
    let theirs = scrape(&other).await;
    assert_eq!(
        value(
            &theirs,
            "verity_http_requests_total",
            &[("route", "/help/{slug}")]
        ),
        0.0
    );
}

#[actix_web::test]
async fn tokens_are_counted_by_grant_and_algorithm_and_a_reused_refresh_token_is_seen() {
    let server = guarded().await;
    let (client_id, secret) = server.add_client(false).await;
    let rp = server.rp(&client_id, secret.as_deref()).await;
    let browser = server.signed_in_browser("ned@example.com").await;
    let req = rp.auth_request(&["offline_access"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let first = tokens.refresh_token().expect("a refresh token").clone();
    let issued = |s: &[Sample], grant: &str| {
        value(
            s,
            "verity_tokens_issued_total",
            &[("grant_type", grant), ("alg", "RS256")],
        )
    };
    let samples = scrape(&server).await;
    assert_eq!(issued(&samples, "authorization_code"), 1.0);
    assert_eq!(issued(&samples, "refresh_token"), 0.0);

    rp.client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("refresh works");
    let again = rp
        .client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp.http)
        .await;
    assert!(again.is_err(), "a rotated refresh token is refused");

    let samples = scrape(&server).await;
    assert_eq!(issued(&samples, "refresh_token"), 1.0);
    assert_eq!(
        value(&samples, "verity_refresh_token_reuses_total", &[]),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "verity_http_requests_total",
            &[("route", "/token"), ("method", "POST"), ("status", "2xx")]
        ),
        2.0
    );
}

#[actix_web::test]
async fn scrape_time_figures_show_memory_the_pool_the_dependencies_and_the_queues() {
    let server = guarded().await;
    let samples = scrape(&server).await;
    assert!(value(&samples, "verity_process_resident_memory_bytes", &[]) > 1_000_000.0);
    for dependency in ["database", "store"] {
        assert_eq!(
            value(
                &samples,
                "verity_dependency_up",
                &[("dependency", dependency)]
            ),
            1.0,
            "{dependency}"
        );
    }
    assert_eq!(value(&samples, "verity_db_pool_max_connections", &[]), 4.0);
    for queue in ["backchannel_logout", "service_notices", "ssf"] {
        let depth = samples
            .iter()
            .find(|s| s.name == "verity_queue_depth" && s.labels["queue"] == queue);
        assert_eq!(depth.map(|s| s.value), Some(0.0), "{queue}");
        assert_eq!(
            value(
                &samples,
                "verity_queue_oldest_age_seconds",
                &[("queue", queue)]
            ),
            0.0
        );
    }
    // Database connections were waited for, and that was timed.
    assert!(value(&samples, "verity_db_checkout_wait_seconds_count", &[]) > 0.0);
}

#[test]
fn the_deploy_files_are_well_formed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("grafana/verity-dashboard.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    assert!(dashboard["panels"]
        .as_array()
        .is_some_and(|p| p.len() >= 10));
    let alerts: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(dir.join("prometheus/alerts.yml")).unwrap(),
    )
    .expect("the alert rules are YAML");
    let rules = alerts["groups"][0]["rules"].as_sequence().expect("rules");
    assert!(rules.len() >= 5);
    for rule in rules {
        assert!(rule["alert"].as_str().is_some() && rule["expr"].as_str().is_some());
    }
}

#[actix_web::test]
async fn the_dashboard_and_alerts_query_only_names_a_server_exports() {
    let server = guarded().await;
    // A server that has answered a request (request series appear with the first one).
    server.browser().get_ok("/help").await;
    let exported = exported_names(&scrape_text(&server).await);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let name = regex::Regex::new(r"verity_[a-z0-9_]*[a-z0-9]").unwrap();
    let mut referenced = BTreeSet::new();
    for file in ["grafana/verity-dashboard.json", "prometheus/alerts.yml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let found: BTreeSet<String> = name
            .find_iter(&text)
            .map(|m| m.as_str().to_string())
            .collect();
        assert!(found.len() >= 5, "{file} queries few Verity figures");
        for n in &found {
            assert!(
                exported.contains(n),
                "{file} queries {n}, which /metrics doesn't export"
            );
        }
        referenced.extend(found);
    }
    // The dashboard covers what the issue asked for.
    for n in [
        "verity_http_request_duration_seconds_bucket",
        "verity_sign_ins_total",
        "verity_second_factor_checks_total",
        "verity_notice_send_failures_total",
        "verity_tokens_issued_total",
        "verity_queue_depth",
        "verity_queue_oldest_age_seconds",
        "verity_db_pool_connections",
        "verity_argon2_wait_seconds_bucket",
        "verity_process_resident_memory_bytes",
        "verity_dependency_up",
    ] {
        assert!(referenced.contains(n), "{n} is on no panel or alert");
    }
}

#[actix_web::test]
async fn by_default_only_server_errors_get_an_access_log_line() {
    capture_logs();
    let server = TestServer::start_with(|s| {
        s.metrics.bearer_token = Some(TOKEN.into());
        s.db_pool_size = 1;
        s.readiness_timeout_ms = 100;
    })
    .await;
    let marker = verity::crypto::random_token(16).replace(['-', '_'], "x");
    let browser = server.browser();
    browser.get_ok("/help").await;
    let res = browser.get(&format!("/no-such-page-{marker}")).await;
    assert_eq!(res.status(), 404);
    assert!(
        !logged().contains(&marker),
        "a 404 is not logged with access_log = errors"
    );

    // Every connection of the pool held: the database doesn't answer /readyz in time.
    let before = logged()
        .matches("route=\"/readyz\" path=\"/readyz\" status=503")
        .count();
    let db = server.ctx.db.clone();
    let conn = tokio::task::spawn_blocking(move || db.conn())
        .await
        .unwrap()
        .expect("the pool's one connection");
    let res = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 503);
    drop(conn);
    let logs = logged();
    assert!(
        logs.matches("route=\"/readyz\" path=\"/readyz\" status=503")
            .count()
            > before,
        "the 503 is logged"
    );
    // ... and counted.
    let samples = scrape(&server).await;
    assert_eq!(
        value(
            &samples,
            "verity_http_requests_total",
            &[("route", "/readyz"), ("status", "5xx")]
        ),
        1.0
    );
}

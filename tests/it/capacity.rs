//! The capacity model's inputs: how many database statements and store (Redis) commands each
//! flow costs, read from the server's own `/metrics` (each request's work, by route, kept by
//! the request's ledger; background workers are not requests, so they don't blur it). The
//! budgets below are today's counts, plus 2 statements where a request looks its client up (the
//! per-node client cache lasts 30 s, and a slow run may miss it): a change that needs more
//! fails here and has to say so in `docs/capacity.md`, which turns these counts into a sizing
//! guide.

use serde_json::Value;

use crate::harness::*;
use crate::metrics::{guarded, scrape, Sample};

/// Statements and store commands of every request answered so far, `/metrics` itself excepted.
async fn work(server: &TestServer) -> (f64, f64) {
    let samples = scrape(server).await;
    let sum = |name: &str| {
        samples
            .iter()
            .filter(|s: &&Sample| s.name == name)
            .filter(|s| s.labels.get("route").map(String::as_str) != Some("/metrics"))
            .map(|s| s.value)
            .sum::<f64>()
    };
    (
        sum("verity_db_statements_per_request_sum"),
        sum("verity_store_commands_per_request_sum"),
    )
}

/// (flow, statements, store commands) measured, checked against (statements, commands).
struct Measured {
    rows: Vec<(&'static str, u64, u64, u64, u64)>,
}

impl Measured {
    async fn flow<F, Fut, T>(
        &mut self,
        server: &TestServer,
        name: &'static str,
        budget: (u64, u64),
        run: F,
    ) -> T
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let before = work(server).await;
        let out = run().await;
        let after = work(server).await;
        let (statements, commands) = (
            (after.0 - before.0).round() as u64,
            (after.1 - before.1).round() as u64,
        );
        self.rows
            .push((name, statements, commands, budget.0, budget.1));
        out
    }
}

async fn token(server: &TestServer, form: &[(&str, &str)], id: &str, secret: &str) -> Value {
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[actix_web::test]
async fn each_flow_stays_within_its_statement_and_command_budget() {
    let server = guarded().await;
    let email = "cap@example.com";
    let (client_id, secret) = server.add_client(false).await;
    let secret = secret.unwrap();
    let rp = server.rp(&client_id, Some(&secret)).await;
    // A returning person who already consented: the common case at scale.
    let browser = server.signed_in_browser(email).await;
    let first = rp.auth_request(&["openid", "email", "offline_access"]);
    authorize_to_callback(&browser, &first.url).await;

    let mut m = Measured { rows: Vec::new() };
    let request = rp.auth_request(&["openid", "email", "offline_access"]);
    let callback = m
        .flow(
            &server,
            "sign-in (authorize, password, second factor, code)",
            (48, 32),
            || async {
                let fresh = server.browser();
                let res = fresh.get_abs(&request.url).await;
                let login = res.headers()["location"].to_str().unwrap().to_string();
                let page = fresh.get_ok(&login).await;
                let res = submit_password(&fresh, &page, email, PASSWORD).await;
                let res = server.pass_second_factor(&fresh, email, res).await;
                fresh.follow(res).await.0
            },
        )
        .await;
    assert!(callback.starts_with(RP_REDIRECT), "{callback}");
    let code = query_of(&callback)["code"].clone();
    let tokens = m
        .flow(&server, "code exchange", (9, 3), || async {
            token(
                &server,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", RP_REDIRECT),
                    ("code_verifier", request.verifier.secret()),
                ],
                &client_id,
                &secret,
            )
            .await
        })
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    m.flow(&server, "refresh", (10, 1), || async {
        token(
            &server,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            &client_id,
            &secret,
        )
        .await
    })
    .await;
    m.flow(&server, "userinfo", (4, 1), || async {
        let res = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    })
    .await;
    let (service, service_secret) = crate::admin_harness::admin_client(&server, &[]).await;
    m.flow(&server, "client_credentials", (4, 1), || async {
        token(
            &server,
            &[("grant_type", "client_credentials")],
            &service,
            &service_secret,
        )
        .await
    })
    .await;

    let mut over = Vec::new();
    for (flow, statements, commands, max_statements, max_commands) in &m.rows {
        eprintln!("capacity: {flow}: {statements} statements, {commands} store commands");
        if statements > max_statements || commands > max_commands {
            over.push(format!(
                "{flow}: {statements}/{max_statements} statements, {commands}/{max_commands} commands"
            ));
        }
        assert!(*statements > 0, "{flow} is counted at all");
    }
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
}

//! Verification with an agent by video (trusted referee): a person whose online check failed
//! asks for an agent, consents and books a slot or joins the queue; an agent registered through
//! the management API claims the case, checks the continuation code, decides; a verified
//! decision is finished by the person's password and gives relying parties IAL2 claims with
//! the trusted referee in the evidence.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_harness::{admin_client, audit_events_of_kind, call, client_token};
use crate::harness::*;
use crate::verify_flow::{
    back_to_rp, good_document, good_selfie, good_ssn, ial2_rp, press_verify, protect_with, start,
    start_for_rp,
};

async fn server() -> TestServer {
    TestServer::start_with(|s| {
        s.proofing.max_attempts = 2;
        // Every test person uses the test phone.
        s.security.max_accounts_per_phone = 50;
        s.security.otp_sends_per_short_window = 1000;
        s.security.otp_sends_per_long_window = 1000;
        // Open every hour of every day, so slots are on offer whenever the test runs.
        s.referee.weekly_hours = vec!["00:00-24:00".to_string(); 7];
        s.referee.agents_per_slot = 2;
    })
    .await
}

async fn token_for(server: &TestServer, scope: &str) -> String {
    let (id, secret) = admin_client(server, &["verity:admin"]).await;
    client_token(server, &id, &secret, Some(scope)).await
}

/// A signed-in person whose records check refused them once (a real SSN never passes the mock
/// records check): the page offers an agent.
async fn failed_online(server: &TestServer, email: &str) -> Browser {
    let browser = person_with_phone(server, email).await;
    start(&browser).await;
    walk_to_failure(&browser).await;
    browser
}

async fn walk_to_failure(browser: &Browser) {
    good_document(browser).await;
    good_selfie(browser).await;
    good_ssn(browser, "123-45-6789").await;
    let res = press_verify(browser).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("/verify/agent"),
        "the agent is offered: {page}"
    );
}

/// The free slots' values on the agent page.
fn slots_of(page: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse("input[name=slot]").unwrap();
    doc.select(&sel)
        .filter_map(|e| e.value().attr("value"))
        .filter(|v| *v != "queue")
        .map(str::to_string)
        .collect()
}

/// Consents and asks for `slot` (a slot's value or `queue`).
async fn ask_for_agent(browser: &Browser, slot: &str) -> reqwest::Response {
    let page = browser.get_ok("/verify/agent").await;
    browser
        .post(
            "/verify/agent",
            &[
                ("csrf", &csrf_of(&page)),
                ("consent", "yes"),
                ("slot", slot),
            ],
        )
        .await
}

/// The continuation code shown once after booking.
async fn booked(res: reqwest::Response) -> (String, String) {
    let status = res.status();
    let page = res.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    let code = text_of(&page, "#continuation-code")
        .unwrap_or_else(|| panic!("no code on {page}"))
        .trim()
        .to_string();
    (code, page)
}

async fn register_agent(server: &TestServer, token: &str, until: &str) -> String {
    let r = call(
        server,
        Method::POST,
        "/referee/agents",
        Some(token),
        Some(json!({ "name": "Ada Agent", "email": "ada@operator.example", "certified_until": until })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn open_cases(server: &TestServer, token: &str) -> Value {
    let r = call(server, Method::GET, "/referee/cases", Some(token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn case_of(server: &TestServer, token: &str, user_id: &str) -> String {
    let cases = open_cases(server, token).await;
    cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["user_id"] == user_id)
        .unwrap_or_else(|| panic!("a case of {user_id}: {cases}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn claim(server: &TestServer, token: &str, case: &str, agent: &str) -> u16 {
    call(
        server,
        Method::POST,
        &format!("/referee/cases/{case}/claim"),
        Some(token),
        Some(json!({ "agent_id": agent })),
    )
    .await
    .status
}

async fn code_check(server: &TestServer, token: &str, case: &str, agent: &str, code: &str) -> u16 {
    let r = call(
        server,
        Method::POST,
        &format!("/referee/cases/{case}/checks"),
        Some(token),
        Some(json!({
            "agent_id": agent,
            "continuation_code": code,
            "checks": { "document_shown": true, "face_matches_document": true },
        })),
    )
    .await;
    r.status
}

async fn decide(
    server: &TestServer,
    token: &str,
    case: &str,
    agent: &str,
    decision: &str,
) -> crate::admin_harness::Reply {
    call(
        server,
        Method::POST,
        &format!("/referee/cases/{case}/decision"),
        Some(token),
        Some(
            json!({ "agent_id": agent, "decision": decision, "rationale": "Checked on the call." }),
        ),
    )
    .await
}

#[actix_web::test]
async fn an_agent_verifies_a_person_who_ran_out_of_tries_and_the_relying_party_gets_ial2_claims() {
    let server = server().await;
    let rp = ial2_rp(&server, "Benefits Portal").await;
    let email = "referee@example.com";
    let browser = person_with_phone(&server, email).await;
    let claims = r#"{"id_token":{"verified_claims":{"verification":{"trust_framework":null,"evidence":[{"type":{"value":"document"},"check_details":[{"check_method":null}]}]},"claims":{"given_name":null,"family_name":null}}}}"#;
    let started = start_for_rp(&browser, &rp, claims).await;
    good_document(&browser).await;
    good_selfie(&browser).await;
    good_ssn(&browser, "123-45-6789").await;
    assert_eq!(press_verify(&browser).await.status(), 422);
    assert_eq!(press_verify(&browser).await.status(), 422);
    // Out of tries: the page offers an agent instead of a promise.
    let res = press_verify(&browser).await;
    assert_eq!(res.status(), 429);
    let page = res.text().await.unwrap();
    assert!(page.contains("too many times"), "{page}");
    assert!(page.contains("Verify with an agent by video"), "{page}");
    assert!(page.contains("href=\"/verify/agent\""), "{page}");

    // The notice about video, and consent is needed.
    let page = browser.get_ok("/verify/agent").await;
    assert!(page.contains("About the video call"), "{page}");
    let slots = slots_of(&page);
    assert!(!slots.is_empty(), "{page}");
    let res = browser
        .post(
            "/verify/agent",
            &[("csrf", &csrf_of(&page)), ("slot", &slots[0])],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("agree to the video call"));
    // A slot that isn't on offer is refused.
    let res = ask_for_agent(&browser, "2001-01-01T10:00").await;
    assert_eq!(res.status(), 422);

    let (code, page) = booked(ask_for_agent(&browser, &slots[0]).await).await;
    assert!(page.contains("Your call is booked for"), "{page}");
    assert!(page.contains("https://meet.example/"), "{page}");
    assert!(
        code.replace(' ', "").len() >= 13,
        "at least 64 bits: {code}"
    );
    // Shown once: the case page no longer has it; /verify leads to the case.
    let again = browser.get_ok("/verify/agent").await;
    assert!(text_of(&again, "#continuation-code").is_none());
    assert!(again.contains("Your call is booked for"));
    let res = browser.get("/verify").await;
    assert_eq!(res.headers()["location"], "/verify/agent");
    // Lost it: a new code, shown once, replaces it (the old one stops working, below).
    let res = browser
        .post("/verify/agent/new-code", &[("csrf", &csrf_of(&again))])
        .await;
    let (new_code, _) = booked(res).await;
    assert_ne!(new_code, code);
    let (old_code, code) = (code, new_code);
    assert!(!audit_events_of_kind(&server, "referee_code_replaced")
        .await
        .is_empty());
    // One open case per person.
    let page = browser.get_ok("/verify/agent").await;
    let res = browser
        .post(
            "/verify/agent",
            &[
                ("csrf", &csrf_of(&page)),
                ("consent", "yes"),
                ("slot", "queue"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/verify/agent");

    // Another person joins the queue and sees their place and the expected wait.
    let other = failed_online(&server, "queued@example.com").await;
    let (_, page) = booked(ask_for_agent(&other, "queue").await).await;
    assert!(
        page.contains("You are number 1 in the queue. Expected wait: about 20 minutes."),
        "{page}"
    );
    // In Spanish too.
    let es = other
        .http
        .get(server.url("/verify/agent"))
        .header("accept-language", "es")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        es.contains("Usted es el número 1 en la fila. Espera prevista: unos 20 minutos."),
        "{es}"
    );

    // Operators see the queue and the scheduled call.
    let token = token_for(&server, "verity:admin:referee").await;
    let agent = register_agent(&server, &token, "2099-12-31").await;
    let other_agent = register_agent(&server, &token, "2099-12-31").await;
    let cases = open_cases(&server, &token).await;
    assert_eq!(cases["queue_length"], 1, "{cases}");
    assert_eq!(cases["scheduled"], 1, "{cases}");
    assert_eq!(cases["expected_wait_minutes"], 20, "{cases}");
    assert_eq!(
        cases["cases"][0]["queue_position"], 1,
        "the queue first: {cases}"
    );

    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;
    // Evidence only once claimed, and only by the agent who claimed it.
    let path = format!("/referee/cases/{case}/evidence?agent_id={agent}");
    assert_eq!(
        call(&server, Method::GET, &path, Some(&token), None)
            .await
            .status,
        409
    );
    assert_eq!(claim(&server, &token, &case, &agent).await, 200);
    assert_eq!(claim(&server, &token, &case, &other_agent).await, 409);
    let evidence = call(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(evidence.status, 200, "{}", evidence.body);
    // Before the continuation code: what identifies the case, not the person in full.
    assert_ne!(evidence.body["person"]["given_name"], "FAKEY");
    assert!(
        evidence.body["person"]["ssn_last4"].is_null(),
        "{}",
        evidence.body
    );
    assert_eq!(evidence.body["images"], json!([]));
    assert!(evidence.body["passed_checks"].get("document").is_some());
    assert!(evidence.body["last_failure"]
        .as_str()
        .unwrap()
        .starts_with("records:"));
    let elsewhere = format!("/referee/cases/{case}/evidence?agent_id={other_agent}");
    assert_eq!(
        call(&server, Method::GET, &elsewhere, Some(&token), None)
            .await
            .status,
        409
    );

    // Verified needs the continuation code first; a wrong one is refused, a reused one too.
    assert_eq!(
        decide(&server, &token, &case, &agent, "verified")
            .await
            .status,
        409
    );
    assert_eq!(
        code_check(&server, &token, &case, &agent, "AAAA BBBB CCCC DDDD").await,
        400
    );
    assert_eq!(
        code_check(&server, &token, &case, &agent, &old_code).await,
        400
    );
    // Check names are names: they are kept in the audit trail.
    for checks in [
        json!({ "Licence D1234567": true }),
        json!({ "continuation_code": "confirmed" }),
    ] {
        let r = call(
            &server,
            Method::POST,
            &format!("/referee/cases/{case}/checks"),
            Some(&token),
            Some(json!({ "agent_id": agent, "checks": checks })),
        )
        .await;
        assert_eq!((r.status, r.field()), (400, "checks"), "{}", r.body);
    }
    assert_eq!(code_check(&server, &token, &case, &agent, &code).await, 200);
    // The call began: the code can't be replaced any more.
    let page = browser.get_ok("/verify/agent").await;
    let res = browser
        .post("/verify/agent/new-code", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("your call has begun"));
    assert_eq!(code_check(&server, &token, &case, &agent, &code).await, 409);
    // On the call now: the person in full.
    let evidence = call(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(evidence.status, 200, "{}", evidence.body);
    assert_eq!(evidence.body["person"]["given_name"], "FAKEY");
    assert_eq!(evidence.body["person"]["ssn_last4"], "6789");
    // Another agent can't decide it.
    assert_eq!(
        decide(&server, &token, &case, &other_agent, "verified")
            .await
            .status,
        409
    );
    let decided = decide(&server, &token, &case, &agent, "verified").await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert_eq!(decided.body["verification_status"], "in_progress");
    assert_eq!(decided.body["verification_step"], "protect");
    assert_eq!(
        decide(&server, &token, &case, &agent, "verified")
            .await
            .status,
        409
    );

    // The person is told to finish with their password, and does.
    let mail = server.outbox_for(email).await;
    assert!(
        mail.iter().any(|m| m.body.contains("/verify/protect")),
        "{:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let res = browser.get("/verify").await;
    assert_eq!(res.headers()["location"], "/verify/protect");
    let finished = protect_with(&browser, PASSWORD).await;
    assert_eq!(finished.location, "/verify/done");

    // The relying party gets IAL2 claims with the trusted referee in the evidence.
    let claims = back_to_rp(&browser, &rp, started).await;
    let vc = &claims["verified_claims"];
    assert_eq!(vc["verification"]["trust_framework"], "nist_800_63A");
    assert_eq!(vc["claims"]["given_name"], "FAKEY");
    let methods: Vec<&str> = vc["verification"]["evidence"][0]["check_details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["check_method"].as_str())
        .collect();
    assert!(methods.contains(&"vri") && methods.contains(&"pvr"), "{vc}");
    assert!(vc["verification"].get("verification_process").is_none());

    // Every step is in the audit trail.
    for kind in [
        "referee_agent_registered",
        "referee_case_opened",
        "referee_case_claimed",
        "referee_evidence_viewed",
        "referee_checks_recorded",
        "referee_decided",
        "identity_verified",
    ] {
        assert!(
            !audit_events_of_kind(&server, kind).await.is_empty(),
            "{kind} audited"
        );
    }
    let opened = audit_events_of_kind(&server, "referee_case_opened").await;
    assert!(
        opened[0].detail.contains("consent_version"),
        "{}",
        opened[0].detail
    );
    // Closed: no more evidence.
    assert_eq!(
        call(&server, Method::GET, &path, Some(&token), None)
            .await
            .status,
        409
    );
}

#[actix_web::test]
async fn not_verified_fraud_suspected_expired_agents_and_no_shows() {
    let server = server().await;
    let token = token_for(&server, "verity:admin:referee").await;
    let agent = register_agent(&server, &token, "2099-12-31").await;

    // not_verified: the verification ends and the person is told.
    let email = "not-verified@example.com";
    let browser = failed_online(&server, email).await;
    let (code, _) = booked(ask_for_agent(&browser, "queue").await).await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;
    assert_eq!(claim(&server, &token, &case, &agent).await, 200);
    // The queued person is sent the meeting link when an agent takes their case.
    assert!(server
        .outbox_for(email)
        .await
        .iter()
        .any(|m| m.body.contains("https://meet.example/")));
    assert_eq!(code_check(&server, &token, &case, &agent, &code).await, 200);
    let r = decide(&server, &token, &case, &agent, "not_verified").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["verification_status"], "failed");
    assert!(server
        .outbox_for(email)
        .await
        .iter()
        .any(|m| m.body.contains("could not confirm your identity")));
    let page = browser.get_ok("/verify").await;
    assert!(
        page.contains("What you&#39;ll need"),
        "back to the start: {page}"
    );

    // fraud_suspected: a flag that holds, and the verification fails.
    let email = "fraud@example.com";
    let browser = failed_online(&server, email).await;
    booked(ask_for_agent(&browser, "queue").await).await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;
    assert_eq!(claim(&server, &token, &case, &agent).await, 200);
    let r = decide(&server, &token, &case, &agent, "fraud_suspected").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["verification_status"], "failed");
    let proofing = token_for(&server, "verity:admin:proofing").await;
    let flags = call(
        &server,
        Method::GET,
        "/proofing/flags?kind=referee_fraud",
        Some(&proofing),
        None,
    )
    .await;
    assert_eq!(flags.status, 200, "{}", flags.body);
    let flag = &flags.body["items"][0];
    assert_eq!(flag["user_id"], uid.as_str(), "{}", flags.body);
    assert_eq!(flag["holds"], true);
    // While it holds, the person can't simply start again (and try another agent).
    let page = browser.get_ok("/verify").await;
    assert!(page.contains("reviewing your verification"), "{page}");
    let res = browser
        .post(
            "/verify/start",
            &[("csrf", &csrf_of(&page)), ("consent", "yes"), ("authz", "")],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify/done");
    let page = browser.get_ok("/verify/done").await;
    assert!(page.contains("reviewing your verification"), "{page}");
    assert_eq!(
        browser.get("/verify/document").await.headers()["location"],
        "/verify"
    );

    // An agent whose certification expired can't decide.
    let soon = (server.ctx.clock.now() + chrono::Duration::hours(1))
        .and_utc()
        .to_rfc3339();
    let lapsing = register_agent(&server, &token, &soon).await;
    let email = "lapsed@example.com";
    let browser = failed_online(&server, email).await;
    let (code, _) = booked(ask_for_agent(&browser, "queue").await).await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;
    assert_eq!(claim(&server, &token, &case, &lapsing).await, 200);
    assert_eq!(
        code_check(&server, &token, &case, &lapsing, &code).await,
        200
    );
    server.ctx.clock.advance(2 * 3600);
    let token = token_for(&server, "verity:admin:referee").await;
    let r = decide(&server, &token, &case, &lapsing, "verified").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("certification expired"),
        "{}",
        r.body
    );
    let agents = call(&server, Method::GET, "/referee/agents", Some(&token), None).await;
    let listed = agents.body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == lapsing.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["certified"], false);

    // A no-show: a booked slot nobody claimed expires after the grace, and the person may try
    // again.
    let email = "no-show@example.com";
    let browser = failed_online(&server, email).await;
    let page = browser.get_ok("/verify/agent").await;
    let slot = slots_of(&page)[0].clone();
    booked(ask_for_agent(&browser, &slot).await).await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;
    // The slot is within the hour: housekeeping sends the reminder (e-mail and text with the
    // meeting link), once however often it runs.
    let reminders = |rows: Vec<verity::notify::OutboxRow>| {
        rows.iter()
            .filter(|m| m.body.contains("https://meet.example/"))
            .count()
    };
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    assert_eq!(reminders(server.outbox_for(email).await), 1);
    assert!(
        reminders(server.outbox_for(TEST_PHONE).await) >= 1,
        "a text too"
    );
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    assert_eq!(reminders(server.outbox_for(email).await), 1);
    let start = chrono::NaiveDateTime::parse_from_str(&slot, "%Y-%m-%dT%H:%M").unwrap();
    let until_gone = (start - server.ctx.clock.now()).num_seconds() + 16 * 60;
    server.ctx.clock.advance(until_gone);
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    let token = token_for(&server, "verity:admin:referee").await;
    let expired = call(
        &server,
        Method::GET,
        "/referee/cases?status=expired",
        Some(&token),
        None,
    )
    .await;
    assert!(
        expired.body["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", expired.body))
            .iter()
            .any(|c| c["id"] == case.as_str()),
        "{}",
        expired.body
    );
    assert!(!audit_events_of_kind(&server, "referee_case_expired")
        .await
        .is_empty());
    // The verification is back on the step it failed on.
    let (vid, now) = (uid.clone(), server.ctx.clock.now());
    let step: String = server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::proofing::records::unfinished_for(c, &vid, now)?
                .map(|v| v.step)
                .unwrap_or_default())
        })
        .await
        .unwrap();
    assert_eq!(step, "review");
}

#[actix_web::test]
async fn a_slot_is_never_overbooked_by_a_burst_of_bookings() {
    let server = server().await;
    let mut people = Vec::new();
    for i in 0..10 {
        people.push(failed_online(&server, &format!("burst{i}@example.com")).await);
    }
    let page = people[0].get_ok("/verify/agent").await;
    let slot = slots_of(&page)[0].clone();
    let mut forms = Vec::new();
    for p in &people {
        let page = p.get_ok("/verify/agent").await;
        forms.push(csrf_of(&page));
    }
    let sends = people.iter().zip(&forms).map(|(p, csrf)| {
        let slot = slot.clone();
        let csrf = csrf.clone();
        async move {
            p.post(
                "/verify/agent",
                &[
                    ("csrf", csrf.as_str()),
                    ("consent", "yes"),
                    ("slot", slot.as_str()),
                ],
            )
            .await
        }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 422),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    let token = token_for(&server, "verity:admin:referee").await;
    let cases = open_cases(&server, &token).await;
    assert_eq!(cases["scheduled"], 2, "{cases}");
}

#[actix_web::test]
async fn every_referee_endpoint_needs_the_referee_scope() {
    let server = server().await;
    let proofing = token_for(&server, "verity:admin:proofing").await;
    let id = "00000000-0000-0000-0000-000000000000";
    let calls = [
        (
            Method::POST,
            "/referee/agents".to_string(),
            Some(json!({ "name": "x", "email": "x@example.com", "certified_until": "2099-01-01" })),
        ),
        (Method::GET, "/referee/agents".to_string(), None),
        (Method::POST, format!("/referee/agents/{id}/disable"), None),
        (Method::POST, format!("/referee/cases/{id}/reopen"), None),
        (
            Method::POST,
            format!("/referee/cases/{id}/release"),
            Some(json!({ "agent_id": id })),
        ),
        (Method::GET, "/referee/cases".to_string(), None),
        (
            Method::POST,
            format!("/referee/cases/{id}/claim"),
            Some(json!({ "agent_id": id })),
        ),
        (
            Method::GET,
            format!("/referee/cases/{id}/evidence?agent_id={id}"),
            None,
        ),
        (
            Method::POST,
            format!("/referee/cases/{id}/checks"),
            Some(json!({ "agent_id": id })),
        ),
        (
            Method::POST,
            format!("/referee/cases/{id}/decision"),
            Some(json!({ "agent_id": id, "decision": "verified", "rationale": "x" })),
        ),
    ];
    for (method, path, body) in calls {
        let r = call(
            &server,
            method.clone(),
            &path,
            Some(&proofing),
            body.clone(),
        )
        .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        let r = call(&server, method.clone(), &path, None, body).await;
        assert_eq!(r.status, 401, "{method} {path}");
    }
    // The referee scope may.
    let referee = token_for(&server, "verity:admin:referee").await;
    assert_eq!(
        call(&server, Method::GET, "/referee/cases", Some(&referee), None)
            .await
            .status,
        200
    );
    // A general admin token doesn't: the referee area shows people's full data.
    let admin = token_for(&server, "verity:admin").await;
    assert_eq!(
        call(&server, Method::GET, "/referee/agents", Some(&admin), None)
            .await
            .status,
        403
    );
    // The API description lists them under the referee scope.
    let spec: Value = reqwest::get(server.url("/admin/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        spec["paths"]["/admin/api/v1/referee/cases/{id}/decision"]["post"]["security"],
        json!([{ "bearer": ["verity:admin:referee"] }])
    );
}

#[actix_web::test]
async fn a_document_the_online_step_could_not_read_is_verified_with_what_the_agent_read() {
    use crate::verify_flow::{aamva_text, front_fixture, send_licence, GOOD_NUMBER};
    let server = server().await;
    let email = "unreadable@example.com";
    let browser = person_with_phone(&server, email).await;
    start(&browser).await;
    // The document vendor judges it not genuine: refused, and an agent is offered.
    let res = send_licence(
        &browser,
        &front_fixture(
            "FAKEY",
            "MCFAKERSON",
            GOOD_NUMBER,
            "2035-12-31",
            r#","authentic":false"#,
        ),
        &aamva_text("FAKEY", "MCFAKERSON", GOOD_NUMBER, "12312035"),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("/verify/agent"));
    let (code, _) = booked(ask_for_agent(&browser, "queue").await).await;

    let token = token_for(&server, "verity:admin:referee").await;
    let agent = register_agent(&server, &token, "2099-12-31").await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;
    assert_eq!(claim(&server, &token, &case, &agent).await, 200);
    assert_eq!(code_check(&server, &token, &case, &agent, &code).await, 200);
    // No document or SSN was read online: the agent must give them.
    let r = decide(&server, &token, &case, &agent, "verified").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.field(), "identity");
    let path = format!("/referee/cases/{case}/decision");
    let decide_with = |identity: Value| {
        let body = json!({ "agent_id": agent, "decision": "verified",
                           "rationale": "Licence shown on camera, face matches.",
                           "identity": identity });
        let (server, token, path) = (&server, token.clone(), path.clone());
        async move { call(server, Method::POST, &path, Some(&token), Some(body)).await }
    };
    // The licence as read on the call, with `changes` over it.
    let read_on_call = |changes: Value| {
        let mut identity = json!({ "document_type": "driving_permit", "given_name": "Ana",
            "family_name": "Referee", "birthdate": "1980-02-03", "document_number": "R1234567",
            "document_expiry": "2034-01-01", "issuer": "VA", "ssn": "900-55-1234",
            "address": { "street_address": "1 Main St", "locality": "Richmond", "region": "VA",
                         "postal_code": "23219", "country": "US" } });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                identity.as_object_mut().unwrap().remove(k);
            } else {
                identity[k] = v.clone();
            }
        }
        identity
    };
    let r = decide_with(read_on_call(json!({ "ssn": null, "address": null }))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.field(), "ssn");
    // The issuer must fit the document (it is part of the duplicate-document check), and an
    // address is checked as the person's own address form checks it.
    let r = decide_with(read_on_call(json!({ "issuer": "USA" }))).await;
    assert_eq!((r.status, r.field()), (400, "issuer"), "{}", r.body);
    let r = decide_with(read_on_call(
        json!({ "address": { "street_address": "1 Main St",
        "locality": "Richmond", "region": "ZZ", "postal_code": "2321", "country": "US" } }),
    ))
    .await;
    assert_eq!((r.status, r.field()), (400, "address"), "{}", r.body);
    let r = decide_with(read_on_call(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let finished = protect_with(&browser, PASSWORD).await;
    assert_eq!(finished.location, "/verify/done");
    let unlocked = crate::verify_flow::unlocked_with(&server, email, &finished.personal_key).await;
    let master = server.ctx.master.clone();
    let identity = server
        .ctx
        .db
        .run(move |c| verity::proofing::records::current_verified(c, &master, &uid, &unlocked))
        .await
        .unwrap()
        .identity()
        .expect("a verified identity");
    assert_eq!(identity.given_name, "Ana");
    assert_eq!(identity.ssn, "900551234");
    assert_eq!(identity.address.locality, "Richmond");
    assert!(identity.checks.contains_key("referee"));
    assert!(!identity.checks.contains_key("document"));
}

/// Registers an agent linked to a Verity account (who then works at the desk).
async fn register_desk_agent(
    server: &TestServer,
    token: &str,
    user_id: &str,
) -> crate::admin_harness::Reply {
    call(
        server,
        Method::POST,
        "/referee/agents",
        Some(token),
        Some(
            json!({ "name": "Desk Agent", "email": "desk@operator.example",
                     "certified_until": "2099-12-31", "user_id": user_id }),
        ),
    )
    .await
}

fn decided_case_event(events: &[verity::audit::AuditEvent], case: &str) -> Value {
    let e = events
        .iter()
        .find(|e| e.detail.contains(case))
        .unwrap_or_else(|| panic!("an event of case {case}"));
    serde_json::from_str(&e.detail).unwrap()
}

#[actix_web::test]
async fn an_agent_signed_in_with_their_second_factor_works_a_case_at_the_desk() {
    let server = server().await;
    let token = token_for(&server, "verity:admin:referee").await;
    // A person in the queue.
    let email = "desk-person@example.com";
    let person = failed_online(&server, email).await;
    let (code, _) = booked(ask_for_agent(&person, "queue").await).await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;

    // The agent's own account (password and phone), which also asked for an agent.
    let agent_email = "agent-desk@operator.example";
    let desk = failed_online(&server, agent_email).await;
    booked(ask_for_agent(&desk, "queue").await).await;
    let agent_uid = crate::verify_flow::user_id(&server, agent_email).await;
    let own_case = case_of(&server, &token, &agent_uid).await;

    // Not linked to an agent yet: the desk is closed to this account.
    let res = desk.get("/referee").await;
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This page is for certified verification agents"));
    // Linking names a real account, once.
    let r = register_desk_agent(&server, &token, "00000000-0000-0000-0000-000000000000").await;
    assert_eq!((r.status, r.field()), (400, "user_id"), "{}", r.body);
    let r = register_desk_agent(&server, &token, &agent_uid).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user_id"], agent_uid.as_str());
    let agent_id = r.body["id"].as_str().unwrap().to_string();
    let r = register_desk_agent(&server, &token, &agent_uid).await;
    assert_eq!((r.status, r.field()), (409, "user_id"), "{}", r.body);

    // The desk: the queue with its figures, without the agent's own case.
    let page = desk.get_ok("/referee").await;
    assert!(page.contains("Signed in as agent Desk Agent"), "{page}");
    assert!(page.contains("2 people in the queue"), "{page}");
    assert!(page.contains(&format!("data-case=\"{case}\"")), "{page}");
    assert!(
        !page.contains(&own_case),
        "no agent sees their own case: {page}"
    );
    assert!(!page.contains("FAKEY"), "no personal data on the desk");
    // In Spanish too.
    let es = desk
        .http
        .get(server.url("/referee"))
        .header("accept-language", "es")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(es.contains("Escritorio de agentes"), "{es}");
    // Their own case can't be claimed, even by its address.
    let res = desk
        .post(
            &format!("/referee/cases/{own_case}/claim"),
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(res.status(), 403);

    // Claim: the case page, the person masked until the code is read out.
    let res = desk
        .post(
            &format!("/referee/cases/{case}/claim"),
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(res.status(), 303);
    let case_path = format!("/referee/cases/{case}");
    assert_eq!(res.headers()["location"], case_path.as_str());
    let page = desk.get_ok(&case_path).await;
    assert!(page.contains("https://meet.example/"), "{page}");
    assert!(page.contains("until the person reads you their continuation code"));
    assert!(!page.contains("FAKEY") && !page.contains("6789"), "{page}");
    assert!(!page.contains("<img"), "no photos before the call");
    // Another agent's tooling can't claim it now, and another desk agent can't open it; an
    // account that is no agent gets nothing; the agent's own case stays closed to them.
    let other = register_agent(&server, &token, "2099-12-31").await;
    assert_eq!(claim(&server, &token, &case, &other).await, 409);
    let second = server
        .signed_in_browser("second-agent@operator.example")
        .await;
    let second_uid = crate::verify_flow::user_id(&server, "second-agent@operator.example").await;
    assert_eq!(
        register_desk_agent(&server, &token, &second_uid)
            .await
            .status,
        200
    );
    let res = second.get(&case_path).await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(body.contains("Another agent claimed this case"), "{body}");
    assert!(
        !body.contains("meet.example"),
        "nothing of the case: {body}"
    );
    assert_eq!(
        person.get(&case_path).await.status(),
        403,
        "the person is no agent"
    );
    assert_eq!(
        desk.get(&format!("/referee/cases/{own_case}"))
            .await
            .status(),
        403
    );

    // "Verified" needs the code first.
    let decide_form = |csrf: String, decision: &'static str, rationale: &'static str| {
        vec![
            ("csrf", csrf),
            ("decision", decision.to_string()),
            ("rationale", rationale.to_string()),
        ]
    };
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let desk = &desk;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            desk.post(&path, &pairs).await
        }
    };
    let decision_path = format!("{case_path}/decision");
    let res = post(
        decision_path.clone(),
        decide_form(csrf_of(&page), "verified", "Seen on camera."),
    )
    .await;
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Confirm the person&#39;s continuation code"));
    // A wrong code is refused on the page; the right one opens the evidence.
    let checks_path = format!("{case_path}/checks");
    let res = desk
        .post(
            &checks_path,
            &[
                ("csrf", &csrf_of(&page)),
                ("continuation_code", "AAAA BBBB CCCC DDDD"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("doesn&#39;t match this case"));
    let res = desk
        .post(
            &checks_path,
            &[
                ("csrf", &csrf_of(&page)),
                ("continuation_code", &code.to_lowercase()),
                ("document_shown", "yes"),
                ("face_matches", "yes"),
                ("notes", "Licence held up to the camera."),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = desk.get_ok(&format!("{case_path}?saved=1")).await;
    assert!(page.contains("Saved."), "{page}");
    assert!(
        page.contains("FAKEY"),
        "the person in full on the call: {page}"
    );
    assert!(page.contains("•••-••-6789"), "{page}");
    assert!(page.contains("The person&#39;s continuation code matched"));
    // Once the call began the case can't be given back.
    let res = desk
        .post(
            &format!("{case_path}/release"),
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert_eq!(res.status(), 409);

    // A decision needs a reason.
    let res = post(
        decision_path.clone(),
        decide_form(csrf_of(&page), "verified", " "),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Say why"));
    let res = post(
        decision_path.clone(),
        decide_form(
            csrf_of(&page),
            "verified",
            "Licence and face checked on camera.",
        ),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/referee?done=verified");
    let page = desk.get_ok("/referee?done=verified").await;
    assert!(page.contains("Decision recorded: verified"), "{page}");
    assert!(!page.contains(&format!("data-case=\"{case}\"")), "{page}");
    // Decided: the case page is closed.
    let res = desk.get(&case_path).await;
    assert_eq!(res.status(), 409);

    // The person finishes with their password.
    assert_eq!(
        person.get("/verify").await.headers()["location"],
        "/verify/protect"
    );
    let finished = protect_with(&person, PASSWORD).await;
    assert_eq!(finished.location, "/verify/done");

    // The trail: the agent, the desk, the agent's browser; what was checked and why.
    let decided = audit_events_of_kind(&server, "referee_decided").await;
    let detail = decided_case_event(&decided, &case);
    assert_eq!(detail["agent"], agent_id.as_str());
    assert_eq!(detail["via"], "desk");
    // The reason stays on the case (it may quote the person); the trail holds its hash.
    assert!(!decided
        .iter()
        .any(|e| e.detail.contains("Licence and face checked")));
    assert_eq!(detail["rationale_sha256"].as_str().map(str::len), Some(64));
    assert_eq!(detail["checks"]["document_shown"], true);
    assert_eq!(detail["checks"]["details_match"], false);
    assert_eq!(detail["checks"]["continuation_code"], "confirmed");
    let row = decided.iter().find(|e| e.detail.contains(&case)).unwrap();
    assert!(row.client_id.is_none() && row.ip.is_some(), "{row:?}");
    // Both tries at the code are in the trail, the wrong one too.
    let checked = audit_events_of_kind(&server, "referee_checks_recorded").await;
    let tries: Vec<Value> = checked
        .iter()
        .filter(|e| e.detail.contains(&case))
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    assert!(
        tries.iter().any(|d| d["continuation_code"] == "wrong"),
        "{tries:?}"
    );
    assert!(
        tries.iter().any(|d| d["continuation_code"] == "confirmed"
            && d["checks"]["document_shown"] == true
            && d["checks"]["notes"] == "(noted on the case)"),
        "{tries:?}"
    );
    assert!(!checked
        .iter()
        .any(|e| e.detail.contains("held up to the camera")));
    // The person's activity says an agent acted, never from where.
    let activity = person.get_ok("/account/activity").await;
    let doc = scraper::Html::parse_document(&activity);
    let rows = scraper::Selector::parse("tbody tr").unwrap();
    let cell = scraper::Selector::parse("td").unwrap();
    let decided_row: Vec<String> = doc
        .select(&rows)
        .map(|r| {
            r.select(&cell)
                .map(|c| c.text().collect::<String>())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells[1].contains("An agent decided on your identity verification"))
        .unwrap_or_else(|| panic!("the decision is listed: {activity}"));
    assert_eq!(
        decided_row[2].trim(),
        "",
        "no agent's address: {decided_row:?}"
    );
    assert_eq!(
        decided_row[4].trim(),
        "",
        "nothing to disown: {decided_row:?}"
    );

    // The person's identity data removed: what the agent typed about them goes too.
    let proofing = token_for(&server, "verity:admin:proofing").await;
    let stored_case = |server: &TestServer| {
        let (cid, db) = (case.clone(), server.ctx.db.clone());
        async move {
            db.run(move |c| Ok(verity::proofing::referee::case_by_id(c, &cid)?.unwrap()))
                .await
                .unwrap()
        }
    };
    let vid = stored_case(&server).await.verification_id;
    let r = call(
        &server,
        Method::POST,
        &format!("/proofing/verifications/{vid}/remove"),
        Some(&proofing),
        Some(json!({ "reason": "Asked by the person." })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let kept = stored_case(&server).await;
    assert!(kept.rationale.is_none());
    assert!(
        !kept.checks.contains("held up to the camera"),
        "{}",
        kept.checks
    );
    assert!(
        kept.checks.contains("\"document_shown\":true"),
        "{}",
        kept.checks
    );

    // A stale sign-in steps up first.
    server
        .ctx
        .clock
        .advance(server.ctx.settings.security.step_up_window_secs as i64 + 60);
    let res = desk.get("/referee").await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/step-up?return_to=%2Freferee"), "{to}");
}

#[actix_web::test]
async fn a_claimed_case_goes_back_to_its_place_and_a_disabled_agent_stops_at_once() {
    let server = server().await;
    let token = token_for(&server, "verity:admin:referee").await;
    let agent = register_agent(&server, &token, "2099-12-31").await;
    let mut cases = Vec::new();
    for email in ["first@example.com", "second@example.com"] {
        let browser = failed_online(&server, email).await;
        booked(ask_for_agent(&browser, "queue").await).await;
        let uid = crate::verify_flow::user_id(&server, email).await;
        cases.push(case_of(&server, &token, &uid).await);
    }
    // The first in the queue is claimed, then given back: first in the queue again.
    assert_eq!(claim(&server, &token, &cases[0], &agent).await, 200);
    let list = open_cases(&server, &token).await;
    assert_eq!(list["queue_length"], 1, "{list}");
    let release = |case: &str, agent: &str| {
        let path = format!("/referee/cases/{case}/release");
        let body = json!({ "agent_id": agent });
        let (server, token) = (&server, token.clone());
        async move { call(server, Method::POST, &path, Some(&token), Some(body)).await }
    };
    let other = register_agent(&server, &token, "2099-12-31").await;
    assert_eq!(
        release(&cases[0], &other).await.status,
        409,
        "only its agent"
    );
    let r = release(&cases[0], &agent).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "queued");
    assert_eq!(r.body["queue_position"], 1);
    assert_eq!(release(&cases[0], &agent).await.status, 409, "once");
    // The list gives each its place, in the queue's order.
    let list = open_cases(&server, &token).await;
    let places: Vec<(Value, Value)> = list["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].clone(), c["queue_position"].clone()))
        .collect();
    assert_eq!(
        places,
        vec![(json!(cases[0]), json!(1)), (json!(cases[1]), json!(2))],
        "{list}"
    );
    assert!(!audit_events_of_kind(&server, "referee_case_released")
        .await
        .is_empty());
    // A booked call given back keeps its slot.
    let booker = person_with_phone(&server, "booked-slot@example.com").await;
    start(&booker).await;
    walk_to_failure(&booker).await;
    let slot = slots_of(&booker.get_ok("/verify/agent").await)[0].clone();
    booked(ask_for_agent(&booker, &slot).await).await;
    let uid = crate::verify_flow::user_id(&server, "booked-slot@example.com").await;
    let slot_case = case_of(&server, &token, &uid).await;
    assert_eq!(claim(&server, &token, &slot_case, &agent).await, 200);
    let r = release(&slot_case, &agent).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "scheduled");
    assert!(r.body["slot_start"].is_string(), "{}", r.body);

    // Disabling an agent gives back what they hold and stops them at once.
    assert_eq!(claim(&server, &token, &cases[1], &agent).await, 200);
    let r = call(
        &server,
        Method::POST,
        &format!("/referee/agents/{agent}/disable"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["disabled"].clone(), r.body["certified"].clone()),
        (json!(true), json!(false))
    );
    let list = open_cases(&server, &token).await;
    assert_eq!(list["queue_length"], 2, "{list}");
    assert_eq!(claim(&server, &token, &cases[0], &agent).await, 403);
    // Nothing else either: no evidence, no decision.
    let r = call(
        &server,
        Method::GET,
        &format!("/referee/cases/{}/evidence?agent_id={agent}", cases[0]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        decide(&server, &token, &cases[0], &agent, "not_verified")
            .await
            .status,
        403
    );
    let r = call(
        &server,
        Method::POST,
        "/referee/agents/00000000-0000-0000-0000-000000000000/disable",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn bursts_of_claims_and_links_are_decided_once() {
    let server = TestServer::start_with(|s| {
        s.proofing.max_attempts = 2;
        s.security.max_accounts_per_phone = 50;
        s.security.otp_sends_per_short_window = 1000;
        s.security.otp_sends_per_long_window = 1000;
        s.referee.weekly_hours = vec!["00:00-24:00".to_string(); 7];
        s.referee.max_open_claims_per_agent = 2;
    })
    .await;
    let token = token_for(&server, "verity:admin:referee").await;
    let mut cases = Vec::new();
    for i in 0..3 {
        let email = format!("burst-{i}@example.com");
        let browser = failed_online(&server, &email).await;
        booked(ask_for_agent(&browser, "queue").await).await;
        let uid = crate::verify_flow::user_id(&server, &email).await;
        cases.push(case_of(&server, &token, &uid).await);
    }
    // Ten agents claim the same case at once: one gets it.
    let mut agents = Vec::new();
    for _ in 0..10 {
        agents.push(register_agent(&server, &token, "2099-12-31").await);
    }
    let claims =
        futures_util::future::join_all(agents.iter().map(|a| claim(&server, &token, &cases[0], a)))
            .await;
    assert_eq!(
        claims.iter().filter(|s| **s == 200).count(),
        1,
        "{claims:?}"
    );
    assert!(claims.iter().all(|s| *s == 200 || *s == 409), "{claims:?}");
    // One agent claiming every case at once holds at most max_open_claims_per_agent.
    let one = register_agent(&server, &token, "2099-12-31").await;
    let holder = claims.iter().position(|s| *s == 200).unwrap();
    let rest =
        futures_util::future::join_all(cases[1..].iter().map(|c| claim(&server, &token, c, &one)))
            .await;
    assert_eq!(rest, vec![200, 200]);
    let r = call(
        &server,
        Method::POST,
        &format!("/referee/cases/{}/release", cases[0]),
        Some(&token),
        Some(json!({ "agent_id": agents[holder] })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        &server,
        Method::POST,
        &format!("/referee/cases/{}/claim", cases[0]),
        Some(&token),
        Some(json!({ "agent_id": one })),
    )
    .await;
    assert_eq!((r.status, r.field()), (409, "claims"), "{}", r.body);

    // Twenty registrations linking one account at once: one links it, the rest get 409.
    server.signed_in_browser("linked@operator.example").await;
    let uid = crate::verify_flow::user_id(&server, "linked@operator.example").await;
    let links =
        futures_util::future::join_all((0..20).map(|_| register_desk_agent(&server, &token, &uid)))
            .await;
    let statuses: Vec<u16> = links.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
}

#[actix_web::test]
async fn a_verification_waiting_for_an_agent_outlives_its_own_expiry_until_the_case_ends() {
    let server = TestServer::start_with(|s| {
        s.proofing.max_attempts = 2;
        s.security.max_accounts_per_phone = 50;
        s.security.otp_sends_per_short_window = 1000;
        s.security.otp_sends_per_long_window = 1000;
        s.referee.weekly_hours = vec!["00:00-24:00".to_string(); 7];
        s.proofing.unfinished_ttl_days = 30;
        s.referee.case_ttl_days = 60;
    })
    .await;
    let email = "long-wait@example.com";
    let browser = failed_online(&server, email).await;
    booked(ask_for_agent(&browser, "queue").await).await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let status = |server: &TestServer| {
        let (uid, now, db) = (uid.clone(), server.ctx.clock.now(), server.ctx.db.clone());
        async move {
            db.run(move |c| {
                Ok(verity::proofing::records::latest_for(c, &uid)?
                    .map(|v| (v.status, v.step, v.expires_at <= now)))
            })
            .await
            .unwrap()
            .unwrap()
        }
    };
    // Past the verification's own expiry, the case still open: it keeps waiting.
    server.ctx.clock.advance(31 * 86_400);
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    let (s, step, past) = status(&server).await;
    assert_eq!(
        (s.as_str(), step.as_str(), past),
        ("in_progress", "referee", true)
    );
    // The case runs out: the verification goes back, then is abandoned like any other.
    server.ctx.clock.advance(30 * 86_400);
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    let (s, _, _) = status(&server).await;
    assert_eq!(s, "abandoned");
}

#[actix_web::test]
async fn an_operator_reopens_a_call_whose_agent_was_disabled() {
    let server = server().await;
    let token = token_for(&server, "verity:admin:referee").await;
    let agent = register_agent(&server, &token, "2099-12-31").await;
    let email = "reopen@example.com";
    let browser = failed_online(&server, email).await;
    let (code, _) = booked(ask_for_agent(&browser, "queue").await).await;
    let uid = crate::verify_flow::user_id(&server, email).await;
    let case = case_of(&server, &token, &uid).await;
    assert_eq!(claim(&server, &token, &case, &agent).await, 200);
    assert_eq!(code_check(&server, &token, &case, &agent, &code).await, 200);
    let reopen = || {
        let path = format!("/referee/cases/{case}/reopen");
        let (server, token) = (&server, token.clone());
        async move { call(server, Method::POST, &path, Some(&token), None).await }
    };
    // While its agent may still work it, it is theirs.
    let r = reopen().await;
    assert_eq!((r.status, r.field()), (409, "agent_id"), "{}", r.body);
    // Disabled mid-call: the case stays with them (the call had begun) until an operator
    // reopens it.
    let r = call(
        &server,
        Method::POST,
        &format!("/referee/agents/{agent}/disable"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(open_cases(&server, &token).await["claimed"], 1);
    let r = reopen().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "queued");
    assert_eq!(r.body["code_confirmed"], false);
    assert_eq!(reopen().await.status, 409, "once");
    // The next agent checks the same code again; the person is told an agent is ready again.
    let next = register_agent(&server, &token, "2099-12-31").await;
    assert_eq!(claim(&server, &token, &case, &next).await, 200);
    let told = server
        .outbox_for(email)
        .await
        .iter()
        .filter(|m| m.body.contains("https://meet.example/"))
        .count();
    assert!(told >= 2, "told {told} times");
    assert_eq!(code_check(&server, &token, &case, &next, &code).await, 200);
    let r = decide(&server, &token, &case, &next, "not_verified").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let released = audit_events_of_kind(&server, "referee_case_released").await;
    assert!(
        released
            .iter()
            .any(|e| e.detail.contains("\"by\":\"operator\"")),
        "{released:?}"
    );
}

//! Management API: identity proofing (verifications masked and in full, fraud flags cleared
//! and confirmed, removal of a person's identity data, counts for a period).

use chrono::NaiveDate;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use verity::proofing::document::{Address, DocumentFields, DocumentType};
use verity::proofing::records::{self, AttemptOutcome, CheckKind, FlagKind, Pii, Status};

use crate::admin_harness::*;
use crate::harness::*;

const SSN: &str = "123456789";
const PHONE: &str = "+12015550123";
const IP: &str = "203.0.113.77";
const SECRET_IN_TRANSCRIPT: &str = "vendor-reference-7Q";

async fn user_id_of(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            Ok(verity::accounts::users::by_email(c, &email)?
                .expect("user")
                .id)
        })
        .await
        .unwrap()
}

/// A person with a confirmed email and the phone PHONE (their default).
async fn person(server: &TestServer, email: &str) -> String {
    server.create_account(&server.browser(), email).await;
    let uid = user_id_of(server, email).await;
    let (u, master, now) = (
        uid.clone(),
        server.ctx.master.clone(),
        server.ctx.clock.now(),
    );
    server
        .ctx
        .db
        .run(move |c| {
            use verity::mfa::methods;
            methods::add_phone(c, &master, now, &u, PHONE, methods::PhoneChannel::Sms)?;
            Ok(())
        })
        .await
        .unwrap();
    uid
}

fn pii_of(given: &str) -> Pii {
    let address = Address {
        street_address: "12 Elm Street".into(),
        locality: "Richmond".into(),
        region: "VA".into(),
        postal_code: "23219".into(),
        country: "US".into(),
    };
    Pii {
        document: Some(DocumentFields {
            document_type: DocumentType::DriversLicense,
            given_name: given.into(),
            middle_name: None,
            family_name: "Quintana".into(),
            birthdate: NaiveDate::from_ymd_opt(1987, 6, 5).unwrap(),
            document_number: "T98765432".into(),
            expiry: NaiveDate::from_ymd_opt(2031, 2, 3).unwrap(),
            issued: None,
            issuer: "VA".into(),
            address: Some(address),
        }),
        address: None,
        ssn: Some(SSN.into()),
        phone: Some(PHONE.into()),
        pending_phone: None,
    }
}

struct Seeded {
    verification_id: String,
    flag_ids: Vec<String>,
}

/// A finished verification of `user_id` in `status`, as the proofing flow leaves it: sealed
/// personal data, a passed document and records check (the document's transcript sealed), a
/// kept image, and the open `flags`.
async fn seed(server: &TestServer, user_id: &str, status: Status, flags: &[FlagKind]) -> Seeded {
    let (uid, master, now) = (
        user_id.to_string(),
        server.ctx.master.clone(),
        server.ctx.clock.now(),
    );
    let flags = flags.to_vec();
    server
        .ctx
        .db
        .run(move |c| {
            let mut v = records::start(
                c,
                &uid,
                Some("rp-bank"),
                "2026-11",
                now,
                chrono::Duration::days(30),
            )?;
            let key = verity::storage::db::write_tx(c, |c| {
                records::data_key_or_create(c, &master, &uid, now)
            })?;
            for (check, outcome) in [
                (CheckKind::Document, AttemptOutcome::Passed),
                (CheckKind::Records, AttemptOutcome::Passed),
            ] {
                let id = records::reserve_attempt(
                    c,
                    &v.id,
                    &uid,
                    Some(IP),
                    check,
                    "mock",
                    Some("identity-hash"),
                    100,
                    chrono::Duration::hours(24),
                    chrono::Duration::minutes(5),
                    now,
                )?
                .expect("attempt reserved");
                let transcript = json!({"asked": {"ssn": SSN}, "answer": SECRET_IN_TRANSCRIPT});
                records::finish_attempt(c, &key, &id, outcome, &transcript, now)?;
            }
            records::store_image(
                c,
                &key,
                &v.id,
                records::ImageKind::Front,
                "image/jpeg",
                b"JPEGDATA-front-of-licence",
                now,
            )?;
            v.pii = Some(records::seal_pii(&key, &v.id, &pii_of("Marisol"))?);
            v.document_type = Some("driving_permit".into());
            v.document_issuer = Some("VA".into());
            v.document_expiry = Some("2031-02-03".into());
            v.ssn_hash = Some(records::ssn_hash(&master, SSN));
            v.checks = json!({"document": "mock", "records": "mock"}).to_string();
            v.status = status.as_str().into();
            v.step = "done".into();
            if status == Status::Verified {
                v.verified_at = Some(now);
            }
            assert!(records::save_if_unchanged(c, &v, now)?);
            for kind in &flags {
                records::raise_flag(c, &v.id, &uid, *kind, json!({"other_user_id": "u-2"}), now)?;
            }
            let flag_ids = records::flags_of(c, &v.id)?
                .into_iter()
                .map(|f| f.id)
                .collect();
            Ok(Seeded {
                verification_id: v.id,
                flag_ids,
            })
        })
        .await
        .unwrap()
}

async fn counts(server: &TestServer, user_id: &str) -> bool {
    let uid = user_id.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(records::counting_verification(c, &uid)?.is_some()))
        .await
        .unwrap()
}

async fn status_of(server: &TestServer, verification_id: &str) -> String {
    let id = verification_id.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(records::by_id(c, &id)?.expect("verification").status))
        .await
        .unwrap()
}

/// A token of an admin client allowed `verity:admin`, narrowed to `scope`.
async fn token_for(server: &TestServer, scope: &str) -> String {
    let (id, secret) = admin_client(server, &["verity:admin"]).await;
    client_token(server, &id, &secret, Some(scope)).await
}

fn reason() -> Option<Value> {
    Some(json!({"reason": "Checked the licence on a video call (ticket VT-42)."}))
}

#[actix_web::test]
async fn proofing_endpoints_refuse_every_caller_but_an_agent_with_the_scope() {
    let server = TestServer::start().await;
    let tokens = Tokens::new(&server).await;
    let uid = person(&server, "ola@example.com").await;
    let s = seed(&server, &uid, Status::Held, &[FlagKind::DuplicateSsn]).await;
    let (v, f) = (&s.verification_id, &s.flag_ids[0]);
    let reads = [
        "/proofing/verifications".to_string(),
        format!("/proofing/verifications/{v}"),
        "/proofing/flags".to_string(),
        "/proofing/stats?from=2020-01-01&to=2100-01-01".to_string(),
    ];
    let writes = [
        format!("/proofing/verifications/{v}/remove"),
        format!("/proofing/flags/{f}/clear"),
        format!("/proofing/flags/{f}/confirm"),
    ];
    // Users:write is a powerful scope, but not this area's.
    let users_write = token_for(&server, "verity:admin:users:write").await;
    for wrong in [&tokens.keys_only, &users_write] {
        for path in &reads {
            assert_refusals(&server, &tokens, Method::GET, path, None, wrong).await;
        }
        for path in &writes {
            assert_refusals(&server, &tokens, Method::POST, path, reason(), wrong).await;
        }
    }
    // Nothing was decided or removed through all of that.
    assert_eq!(status_of(&server, v).await, "held");
    let flags = call(
        &server,
        Method::GET,
        "/proofing/flags",
        Some(&tokens.admin),
        None,
    )
    .await;
    assert_eq!(flags.body["items"][0]["status"], "open");
    assert!(server
        .outbox_for("ola@example.com")
        .await
        .iter()
        .all(|m| !m.subject.contains("identity")));
    // Positive control: the area's own scope reads, and so does the pii scope (it includes it).
    for scope in ["verity:admin:proofing", "verity:admin:proofing:pii"] {
        let token = token_for(&server, scope).await;
        for path in &reads {
            let r = call(&server, Method::GET, path, Some(&token), None).await;
            assert_eq!(r.status, 200, "{scope} {path}: {}", r.body);
        }
    }
}

#[actix_web::test]
async fn a_verification_is_masked_without_the_pii_scope_and_whole_with_it_and_never_shows_images() {
    let server = TestServer::start().await;
    let uid = person(&server, "mari@example.com").await;
    let s = seed(&server, &uid, Status::Held, &[FlagKind::DuplicateSsn]).await;
    let path = format!("/proofing/verifications/{}", s.verification_id);
    let admin = token_for(&server, "verity:admin").await;
    let area = token_for(&server, "verity:admin:proofing").await;
    let pii = token_for(&server, "verity:admin:proofing:pii").await;

    // The list never carries personal data.
    let list = call(
        &server,
        Method::GET,
        "/proofing/verifications",
        Some(&pii),
        None,
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let item = &list.body["items"][0];
    assert_eq!(item["id"], s.verification_id.as_str());
    assert_eq!(item["user_id"], uid.as_str());
    assert_eq!(item["status"], "held");
    assert_eq!(item["open_flags"], 1);
    assert_eq!(item["document_type"], "driving_permit");
    assert!(item.get("person").is_none());

    // Masked: what a general admin token and the area's scope get alike.
    for token in [&admin, &area] {
        let r = call(&server, Method::GET, &path, Some(token), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let b = &r.body;
        assert_eq!(b["personal_data_masked"], true);
        assert_eq!(b["status"], "held");
        assert_eq!(b["step"], "done");
        assert_eq!(b["origin_client_id"], "rp-bank");
        assert_eq!(b["consent_version"], "2026-11");
        assert_eq!(b["document_type"], "driving_permit");
        assert_eq!(b["document_issuer"], "VA");
        assert_eq!(b["document_expiry"], "2031-02-03");
        assert_eq!(
            b["checks_passed"],
            json!([{"check": "document", "vendor": "mock"}, {"check": "records", "vendor": "mock"}])
        );
        let p = &b["person"];
        assert_eq!(p["given_name"], "M.");
        assert_eq!(p["family_name"], "Q.");
        assert_eq!(p["birth_year"], 1987);
        assert!(p["birthdate"].is_null());
        assert!(p["ssn_last4"].is_null());
        assert!(p["document_number"].is_null());
        assert_eq!(p["address"]["region"], "VA");
        assert!(p["address"]["street_address"].is_null());
        assert!(p["address"]["postal_code"].is_null());
        let phone = p["phone"].as_str().unwrap();
        assert!(phone.ends_with("0123") && !phone.contains("555"), "{phone}");
        assert_eq!(b["flags"][0]["kind"], "duplicate_ssn");
        assert_eq!(b["flags"][0]["holds"], true);
        assert_eq!(b["flags"][0]["detail"]["other_user_id"], "u-2");
        let attempts = b["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0]["check"], "document");
        assert_eq!(attempts[0]["vendor"], "mock");
        assert_eq!(attempts[0]["outcome"], "passed");
        assert_eq!(attempts[0]["charged"], true);
        assert!(attempts[0]["finished_at"].is_string());
        assert!(attempts[0]["transcript"].is_null());
        assert!(attempts[0]["ip"].is_null());
        let text = b.to_string();
        for secret in [
            "Marisol",
            "Quintana",
            "1987-06-05",
            SSN,
            "T98765432",
            "12 Elm",
            "23219",
            IP,
            SECRET_IN_TRANSCRIPT,
            "JPEGDATA",
        ] {
            assert!(!text.contains(secret), "masked view shows {secret}: {text}");
        }
    }

    // Operators never see a verification's decrypted identity data, not even with the PII
    // scope (only an agent on an open referee case does): that scope adds the attempts'
    // addresses, and the read is audited.
    let r = call(&server, Method::GET, &path, Some(&pii), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["personal_data_masked"], true);
    let p = &b["person"];
    assert_eq!(p["given_name"], "M.");
    assert!(p["birthdate"].is_null() && p["ssn_last4"].is_null());
    assert!(p["document_number"].is_null() && p["address"]["street_address"].is_null());
    assert_eq!(b["attempts"][0]["ip"], IP);
    assert!(b["attempts"][0]["transcript"].is_null());
    let text = b.to_string();
    for secret in [
        "Marisol",
        "Quintana",
        "1987-06-05",
        SSN,
        "6789",
        "T98765432",
        "12 Elm",
        "23219",
        SECRET_IN_TRANSCRIPT,
        "JPEGDATA",
    ] {
        assert!(
            !text.contains(secret),
            "the PII scope shows {secret}: {text}"
        );
    }

    // There is no way to images.
    for images in [format!("{path}/images"), format!("{path}/images/front")] {
        let r = call(&server, Method::GET, &images, Some(&pii), None).await;
        assert_eq!(r.status, 404, "{images}");
        assert_eq!(r.error(), "not_found");
    }
    // Unknown verification: 404, masked or not.
    let r = call(
        &server,
        Method::GET,
        "/proofing/verifications/no-such-id",
        Some(&pii),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn lists_filter_by_status_person_and_open_flags_and_page_with_cursors() {
    let server = TestServer::start().await;
    server.ctx.clock.freeze();
    let token = token_for(&server, "verity:admin:proofing").await;
    let ana = person(&server, "ana@example.com").await;
    let bo = person(&server, "bo@example.com").await;
    let held = seed(&server, &ana, Status::Held, &[FlagKind::DuplicateSsn]).await;
    server.ctx.clock.advance(60);
    let verified = seed(&server, &bo, Status::Verified, &[FlagKind::SimSwapPhone]).await;
    server.ctx.clock.advance(60);
    let failed = seed(&server, &ana, Status::Failed, &[]).await;

    let ids = |r: &Reply| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let get = |path: String| {
        let (server, token) = (&server, &token);
        async move {
            let r = call(server, Method::GET, &path, Some(token), None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            r
        }
    };
    let all = get("/proofing/verifications".into()).await;
    assert_eq!(
        ids(&all),
        [
            failed.verification_id.as_str(),
            verified.verification_id.as_str(),
            held.verification_id.as_str()
        ],
        "newest first"
    );
    let r = get("/proofing/verifications?status=held".into()).await;
    assert_eq!(ids(&r), [held.verification_id.as_str()]);
    let r = get(format!("/proofing/verifications?user_id={ana}")).await;
    assert_eq!(
        ids(&r),
        [
            failed.verification_id.as_str(),
            held.verification_id.as_str()
        ]
    );
    let r = get("/proofing/verifications?flagged=true".into()).await;
    assert_eq!(
        ids(&r),
        [
            verified.verification_id.as_str(),
            held.verification_id.as_str()
        ]
    );
    let r = get("/proofing/verifications?flagged=false".into()).await;
    assert_eq!(ids(&r), [failed.verification_id.as_str()]);
    let r = get(format!(
        "/proofing/verifications?user_id={bo}&flagged=true&status=verified"
    ))
    .await;
    assert_eq!(ids(&r), [verified.verification_id.as_str()]);

    // Pages of one, following the cursor to the end.
    let mut seen = vec![];
    let mut path = "/proofing/verifications?limit=1".to_string();
    loop {
        let r = get(path.clone()).await;
        seen.extend(ids(&r));
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/proofing/verifications?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids(&all));

    // Flags: oldest first, by state and kind.
    let flags = get("/proofing/flags".into()).await;
    assert_eq!(
        ids(&flags),
        [held.flag_ids[0].as_str(), verified.flag_ids[0].as_str()]
    );
    let r = get("/proofing/flags?kind=sim_swap_phone".into()).await;
    assert_eq!(ids(&r), [verified.flag_ids[0].as_str()]);
    assert_eq!(r.body["items"][0]["holds"], false);
    let r = get("/proofing/flags?status=cleared".into()).await;
    assert_eq!(ids(&r), Vec::<String>::new());
    let r = get("/proofing/flags?limit=1".into()).await;
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = get(format!("/proofing/flags?limit=1&cursor={cursor}")).await;
    assert_eq!(ids(&r), [verified.flag_ids[0].as_str()]);
    assert!(r.body["next_cursor"].is_null());
}

#[actix_web::test]
async fn clearing_the_last_holding_flag_verifies_the_person_once() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let uid = person(&server, "cleo@example.com").await;
    let s = seed(
        &server,
        &uid,
        Status::Held,
        &[FlagKind::DuplicateSsn, FlagKind::DuplicateDocument],
    )
    .await;
    assert!(!counts(&server, &uid).await, "held doesn't count");

    // A reason is required: nothing is decided without one.
    for body in [
        json!({}),
        json!({"reason": "   "}),
        json!({"reason": "a\u{0}b"}),
    ] {
        let r = call(
            &server,
            Method::POST,
            &format!("/proofing/flags/{}/clear", s.flag_ids[0]),
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.field(), "reason", "{body}");
    }
    assert!(audit_events_of_kind(&server, "proofing_flag_resolved")
        .await
        .is_empty());

    let clear = |flag: String| {
        let (server, token) = (&server, &token);
        async move {
            call(
                server,
                Method::POST,
                &format!("/proofing/flags/{flag}/clear"),
                Some(token),
                reason(),
            )
            .await
        }
    };
    let r = clear(s.flag_ids[0].clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["flag"]["status"], "cleared");
    assert_eq!(r.body["flag"]["resolved_by"], agent.as_str());
    assert_eq!(
        r.body["flag"]["resolution_reason"],
        "Checked the licence on a video call (ticket VT-42)."
    );
    assert_eq!(
        r.body["verification_status"], "held",
        "the document flag still holds it"
    );
    assert!(!counts(&server, &uid).await);

    let r = clear(s.flag_ids[1].clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["verification_status"], "verified");
    assert_eq!(status_of(&server, &s.verification_id).await, "verified");
    assert!(
        counts(&server, &uid).await,
        "the verified identity counts now"
    );
    let told = server
        .wait_for_messages("cleo@example.com", "Your identity was verified", 1)
        .await;
    assert_eq!(told.len(), 1);

    let events = audit_events_of_kind(&server, "proofing_flag_resolved").await;
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e.user_id.as_deref(), Some(uid.as_str()));
        assert_eq!(
            e.client_id.as_deref(),
            Some(agent.as_str()),
            "the agent acted"
        );
        let detail: Value = serde_json::from_str(&e.detail).unwrap();
        assert_eq!(detail["decision"], "cleared");
        assert_eq!(detail["verification_id"], s.verification_id.as_str());
    }
    let verified = audit_events_of_kind(&server, "identity_verified").await;
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].client_id.as_deref(), Some(agent.as_str()));

    // Deciding again: 409 either way, and nothing more happens.
    let before = audit_and_outbox_counts(&server).await;
    for decision in ["clear", "confirm"] {
        let r = call(
            &server,
            Method::POST,
            &format!("/proofing/flags/{}/{decision}", s.flag_ids[1]),
            Some(&token),
            reason(),
        )
        .await;
        assert_eq!(r.status, 409, "{decision}: {}", r.body);
        assert_eq!(r.error(), "conflict");
    }
    assert_eq!(audit_and_outbox_counts(&server).await, before);
    assert_eq!(status_of(&server, &s.verification_id).await, "verified");
    // Unknown and implausible flags: 404.
    for flag in ["no-such-flag", "a%00b", &"x".repeat(100)] {
        let r = clear(flag.to_string()).await;
        assert_eq!(r.status, 404, "{flag}: {}", r.body);
    }
}

#[actix_web::test]
async fn confirming_a_flag_fails_the_verification() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let uid = person(&server, "fox@example.com").await;
    // A signal on a verification that already counts.
    let s = seed(&server, &uid, Status::Verified, &[FlagKind::ManyIdentities]).await;
    assert!(counts(&server, &uid).await);
    let path = format!("/proofing/flags/{}/confirm", s.flag_ids[0]);
    let r = call(&server, Method::POST, &path, Some(&token), reason()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["flag"]["status"], "confirmed");
    assert_eq!(r.body["verification_status"], "failed");
    assert_eq!(status_of(&server, &s.verification_id).await, "failed");
    assert!(
        !counts(&server, &uid).await,
        "a confirmed fraud doesn't count"
    );
    let events = audit_events_of_kind(&server, "proofing_flag_resolved").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some(agent.as_str()));
    assert!(audit_events_of_kind(&server, "identity_verified")
        .await
        .is_empty());

    let before = audit_and_outbox_counts(&server).await;
    let r = call(&server, Method::POST, &path, Some(&token), reason()).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(audit_and_outbox_counts(&server).await, before);
}

#[actix_web::test]
async fn twenty_agents_clearing_one_flag_at_once_clear_it_once() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let uid = person(&server, "race@example.com").await;
    let s = seed(&server, &uid, Status::Held, &[FlagKind::DuplicateSsn]).await;
    let path = format!("/proofing/flags/{}/clear", s.flag_ids[0]);
    let answers =
        join_all((0..20).map(|_| call(&server, Method::POST, &path, Some(&token), reason()))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(
        audit_events_of_kind(&server, "proofing_flag_resolved")
            .await
            .len(),
        1
    );
    assert_eq!(
        audit_events_of_kind(&server, "identity_verified")
            .await
            .len(),
        1
    );
    assert_eq!(
        server
            .wait_for_messages("race@example.com", "Your identity was verified", 1)
            .await
            .len(),
        1
    );
    assert_eq!(status_of(&server, &s.verification_id).await, "verified");
}

#[actix_web::test]
async fn removal_ends_the_identity_tells_the_person_is_audited_and_happens_once() {
    let server = TestServer::start().await;
    let (agent, token) = admin_token(&server).await;
    let pii_token = token_for(&server, "verity:admin:proofing:pii").await;
    let uid = person(&server, "rita@example.com").await;
    let other = person(&server, "otto@example.com").await;
    let older = seed(&server, &uid, Status::Failed, &[]).await;
    let s = seed(&server, &uid, Status::Verified, &[]).await;
    let bystander = seed(&server, &other, Status::Verified, &[]).await;
    assert!(counts(&server, &uid).await && counts(&server, &other).await);
    let path = format!("/proofing/verifications/{}/remove", s.verification_id);

    // No reason, no removal.
    let before = audit_and_outbox_counts(&server).await;
    let r = call(&server, Method::POST, &path, Some(&token), Some(json!({}))).await;
    assert_eq!((r.status, r.field()), (400, "reason"), "{}", r.body);
    let r = call(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(json!({"reason": "x", "extra": 1})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(audit_and_outbox_counts(&server).await, before);
    assert!(counts(&server, &uid).await);

    let key = [("Idempotency-Key", "remove-rita-1")];
    let r = call_with(&server, Method::POST, &path, Some(&token), reason(), &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["verifications_removed"], 2, "the older one went too");
    let v = &r.body["verification"];
    assert_eq!(v["status"], "removed");
    assert_eq!(v["removed_by"], agent.as_str());
    assert_eq!(
        v["removed_reason"],
        "Checked the licence on a video call (ticket VT-42)."
    );
    assert!(v["removed_at"].is_string());
    assert!(v["person"].is_null());
    assert!(
        !counts(&server, &uid).await,
        "the verified identity no longer counts"
    );
    assert_eq!(status_of(&server, &older.verification_id).await, "removed");

    // Even with the pii scope, nothing personal is left to read.
    let r = call(
        &server,
        Method::GET,
        &format!("/proofing/verifications/{}", s.verification_id),
        Some(&pii_token),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body["person"].is_null());
    assert!(r.body["attempts"][0]["transcript"].is_null());
    assert!(!r.body.to_string().contains(SECRET_IN_TRANSCRIPT));
    let images: i64 = {
        let id = s.verification_id.clone();
        server
            .ctx
            .db
            .run(move |c| {
                use diesel::prelude::*;
                use verity::storage::schema::proofing_images;
                Ok(proofing_images::table
                    .filter(proofing_images::verification_id.eq(id))
                    .count()
                    .get_result(c)?)
            })
            .await
            .unwrap()
    };
    assert_eq!(images, 0, "images went with it");

    // Told by email and text, once; audited with the agent.
    let mail = server
        .wait_for_messages("rita@example.com", "Your verified identity was removed", 1)
        .await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].body.contains("Support removed"), "{}", mail[0].body);
    assert!(mail[0].body.contains("/not-me?token="));
    let texts: Vec<_> = server
        .outbox_for(PHONE)
        .await
        .into_iter()
        .filter(|m| m.body.contains("verified identity data was removed"))
        .collect();
    assert_eq!(texts.len(), 1, "one text to the default phone");
    let events = audit_events_of_kind(&server, "identity_verification_removed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id.as_deref(), Some(uid.as_str()));
    assert_eq!(events[0].client_id.as_deref(), Some(agent.as_str()));
    let detail: Value = serde_json::from_str(&events[0].detail).unwrap();
    assert_eq!(detail["by"], agent.as_str());
    assert_eq!(detail["verifications"], 2);
    assert_eq!(
        detail["reason"],
        "Checked the licence on a video call (ticket VT-42)."
    );

    // The same request with the same key is answered again without acting; without a key, or
    // on the older verification, it is a conflict.
    let before = audit_and_outbox_counts(&server).await;
    let again = call_with(&server, Method::POST, &path, Some(&token), reason(), &key).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    for p in [
        path.clone(),
        format!("/proofing/verifications/{}/remove", older.verification_id),
    ] {
        let r = call(&server, Method::POST, &p, Some(&token), reason()).await;
        assert_eq!(r.status, 409, "{p}: {}", r.body);
    }
    assert_eq!(audit_and_outbox_counts(&server).await, before);

    // The other person's identity is untouched.
    assert!(counts(&server, &other).await);
    assert_eq!(
        status_of(&server, &bystander.verification_id).await,
        "verified"
    );
}

#[actix_web::test]
async fn two_agents_removing_at_once_remove_once() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let uid = person(&server, "duo@example.com").await;
    let s = seed(&server, &uid, Status::Verified, &[]).await;
    let path = format!("/proofing/verifications/{}/remove", s.verification_id);
    let answers =
        join_all((0..10).map(|_| call(&server, Method::POST, &path, Some(&token), reason()))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(
        audit_events_of_kind(&server, "identity_verification_removed")
            .await
            .len(),
        1
    );
    assert_eq!(
        server
            .wait_for_messages("duo@example.com", "Your verified identity was removed", 1)
            .await
            .len(),
        1
    );
}

#[actix_web::test]
async fn stats_count_verifications_by_status_and_attempts_by_check_in_the_period() {
    let server = TestServer::start().await;
    server.ctx.clock.freeze();
    let uid = person(&server, "stat@example.com").await;
    // Outside the period: the day before.
    seed(&server, &uid, Status::Failed, &[]).await;
    server.ctx.clock.advance(24 * 3600);
    let day = server.ctx.clock.now().date();
    seed(&server, &uid, Status::Verified, &[]).await;
    seed(&server, &uid, Status::Held, &[FlagKind::DuplicateSsn]).await;
    // An unavailable vendor and one still running, within the same day.
    let (u, master, now) = (
        uid.clone(),
        server.ctx.master.clone(),
        server.ctx.clock.now(),
    );
    server
        .ctx
        .db
        .run(move |c| {
            let v = records::start(c, &u, None, "2026-11", now, chrono::Duration::days(30))?;
            let key = records::data_key(c, &master, &u)?.expect("key");
            for check in [CheckKind::Selfie, CheckKind::Phone] {
                let id = records::reserve_attempt(
                    c,
                    &v.id,
                    &u,
                    None,
                    check,
                    "mock",
                    None,
                    100,
                    chrono::Duration::hours(24),
                    chrono::Duration::minutes(5),
                    now,
                )?
                .expect("reserved");
                if check == CheckKind::Selfie {
                    records::finish_attempt(
                        c,
                        &key,
                        &id,
                        AttemptOutcome::Unavailable,
                        &json!({}),
                        now,
                    )?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
    // Minted after the clock moved, so it hasn't expired.
    let token = token_for(&server, "verity:admin:proofing").await;
    let r = call(
        &server,
        Method::GET,
        &format!("/proofing/stats?from={day}&to={day}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["verifications"],
        json!({"in_progress": 1, "verified": 1, "held": 1, "failed": 0, "removed": 0, "abandoned": 0})
    );
    assert_eq!(
        r.body["attempts"]["document"],
        json!({"passed": 2, "failed": 0, "unavailable": 0, "running": 0})
    );
    assert_eq!(r.body["attempts"]["records"]["passed"], 2);
    assert_eq!(r.body["attempts"]["selfie"]["unavailable"], 1);
    assert_eq!(r.body["attempts"]["phone"]["running"], 1);
    assert_eq!(r.body["attempts"]["state_id"]["passed"], 0);
    assert_eq!(r.body["from"], format!("{day}T00:00:00Z"));
    assert_eq!(
        r.body["to"],
        format!("{}T00:00:00Z", day.succ_opt().unwrap())
    );

    // Both days, given as RFC 3339 times: the failed one too.
    let from = (day.pred_opt().unwrap()).format("%Y-%m-%dT00:00:00Z");
    let to = day.succ_opt().unwrap().format("%Y-%m-%dT00:00:00%%2B00:00");
    let r = call(
        &server,
        Method::GET,
        &format!("/proofing/stats?from={from}&to={to}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["verifications"]["failed"], 1);
    assert_eq!(r.body["attempts"]["document"]["passed"], 3);

    // Bad periods: 400 naming the bound.
    for (query, field) in [
        ("", "from"),
        ("from=2026-12-01", "to"),
        ("to=2026-12-01", "from"),
        ("from=2026-13-01&to=2026-12-31", "from"),
        ("from=yesterday&to=2026-12-31", "from"),
        ("from=2026-12-01&to=2026-12-01T25:00:00Z", "to"),
        ("from=2026-12-02&to=2026-12-01", "to"),
        ("from=%00&to=2026-12-01", "from"),
        ("from=2026-12-01&to=", "to"),
    ] {
        let r = call(
            &server,
            Method::GET,
            &format!("/proofing/stats?{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.field(), field, "{query}: {}", r.body);
    }
}

#[actix_web::test]
async fn hostile_input_gets_a_json_4xx_on_every_backend() {
    let server = TestServer::start().await;
    let (_, token) = admin_token(&server).await;
    let uid = person(&server, "hex@example.com").await;
    let s = seed(&server, &uid, Status::Held, &[FlagKind::DuplicateSsn]).await;
    let nul_cursor = verity::admin::pagination::encode_cursor(&["a\u{0}b"]);
    let foreign_cursor = verity::admin::pagination::encode_cursor(&["abc"]);
    let long = "x".repeat(300);
    let gets = [
        ("/proofing/verifications/abc%00def".to_string(), 404, ""),
        (format!("/proofing/verifications/{long}"), 404, ""),
        ("/proofing/verifications/%E2%82%AC".to_string(), 404, ""),
        (
            "/proofing/verifications?status=happy".to_string(),
            400,
            "status",
        ),
        ("/proofing/verifications?status=".to_string(), 400, "status"),
        (
            "/proofing/verifications?flagged=yes".to_string(),
            400,
            "flagged",
        ),
        (
            "/proofing/verifications?user_id=a%00b".to_string(),
            400,
            "user_id",
        ),
        (
            format!("/proofing/verifications?user_id={long}"),
            400,
            "user_id",
        ),
        (
            format!("/proofing/verifications?cursor={nul_cursor}"),
            400,
            "cursor",
        ),
        (
            format!("/proofing/verifications?cursor={foreign_cursor}"),
            400,
            "cursor",
        ),
        ("/proofing/verifications?limit=0".to_string(), 400, "limit"),
        ("/proofing/flags?status=closed".to_string(), 400, "status"),
        ("/proofing/flags?kind=%00".to_string(), 400, "kind"),
        ("/proofing/flags?limit=ten".to_string(), 400, "limit"),
        (
            "/proofing/stats?from=%FF&to=2026-01-01".to_string(),
            400,
            "",
        ),
    ];
    for (path, status, field) in gets {
        let r = call(&server, Method::GET, &path, Some(&token), None).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        if !field.is_empty() {
            assert_eq!(r.field(), field, "{path}: {}", r.body);
        }
    }
    let flag = &s.flag_ids[0];
    let posts = [
        (
            "/proofing/flags/a%00b/clear".to_string(),
            json!({"reason": "r"}),
            404,
        ),
        (
            format!("/proofing/flags/{long}/confirm"),
            json!({"reason": "r"}),
            404,
        ),
        (
            "/proofing/verifications/a%00b/remove".to_string(),
            json!({"reason": "r"}),
            404,
        ),
        (
            format!("/proofing/flags/{flag}/clear"),
            json!({"reason": 5}),
            400,
        ),
        (
            format!("/proofing/flags/{flag}/clear"),
            json!({"reason": "x".repeat(5001)}),
            400,
        ),
        (
            format!("/proofing/flags/{flag}/clear"),
            json!({"reason": "a\u{0}b"}),
            400,
        ),
        (
            format!("/proofing/flags/{flag}/clear"),
            json!(["reason"]),
            400,
        ),
    ];
    for (path, body, status) in posts {
        let r = call(
            &server,
            Method::POST,
            &path,
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, status, "{path} {body}: {}", r.body);
    }
    assert_eq!(status_of(&server, &s.verification_id).await, "held");
    // Positive control: a multi-line reason with a tab is a reason.
    let r = call(
        &server,
        Method::POST,
        &format!("/proofing/flags/{flag}/clear"),
        Some(&token),
        Some(json!({"reason": "Called the person.\n\tSame licence as on file."})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

// ---- the OpenAPI document -------------------------------------------------------------------

/// Checks `value` against a schema of the document: types, required properties, no property
/// the schema doesn't name, enums, formats, `oneOf`/`anyOf`/`allOf`, `$ref`s. Enough to catch a
/// response the document doesn't describe.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return conforms(doc, &doc["components"]["schemas"][name], value, at);
    }
    for all in schema["allOf"].as_array().into_iter().flatten() {
        conforms(doc, all, value, at)?;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options
                .iter()
                .filter(|o| conforms(doc, o, value, at).is_ok())
                .count();
            let ok = if key == "oneOf" { fits == 1 } else { fits >= 1 };
            if !ok {
                return Err(format!("{at}: {value} fits {fits} of {key}"));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !fits {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} not in {allowed:?}"));
        }
    }
    if let (Some(format), Some(s)) = (schema["format"].as_str(), value.as_str()) {
        let ok = match format {
            "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
            "date" => NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: {s} is not a {format}"));
        }
    }
    if let Some(min) = schema["minimum"].as_f64() {
        if value.as_f64().is_some_and(|v| v < min) {
            return Err(format!("{at}: {value} below {min}"));
        }
    }
    if let Value::Object(fields) = value {
        if let Some(props) = schema["properties"].as_object() {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !fields.contains_key(name) {
                    return Err(format!("{at}: missing {name}"));
                }
            }
            for (name, v) in fields {
                match props.get(name) {
                    Some(s) => conforms(doc, s, v, &format!("{at}.{name}"))?,
                    None => return Err(format!("{at}: {name} is not in the document")),
                }
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            conforms(doc, item, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn success_schema<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let responses = &doc["paths"][path][method]["responses"];
    &responses["200"]["content"]["application/json"]["schema"]
}

#[actix_web::test]
async fn the_openapi_document_describes_every_proofing_answer() {
    let server = TestServer::start().await;
    let doc: Value = reqwest::get(server.url("/admin/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops = [
        ("/admin/api/v1/proofing/verifications", "get"),
        ("/admin/api/v1/proofing/verifications/{id}", "get"),
        ("/admin/api/v1/proofing/verifications/{id}/remove", "post"),
        ("/admin/api/v1/proofing/flags", "get"),
        ("/admin/api/v1/proofing/flags/{flag_id}/clear", "post"),
        ("/admin/api/v1/proofing/flags/{flag_id}/confirm", "post"),
        ("/admin/api/v1/proofing/stats", "get"),
    ];
    for (path, method) in ops {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} documented");
        assert_eq!(op["tags"], json!(["proofing"]), "{path}");
        assert!(
            success_schema(&doc, path, method)["$ref"].is_string(),
            "{path}: a named schema"
        );
        for status in ["400", "401", "403", "404", "409", "500"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} {status}"
            );
        }
        let scopes = op["security"][0]["bearer"].to_string();
        assert!(scopes.contains("verity:admin:proofing"), "{path}: {scopes}");
        if method == "post" {
            assert!(
                op["parameters"].to_string().contains("Idempotency-Key"),
                "{path}"
            );
            let body = &op["requestBody"];
            assert_eq!(body["required"], true, "{path}");
            let name = body["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap();
            let schema =
                &doc["components"]["schemas"][name.trim_start_matches("#/components/schemas/")];
            assert_eq!(schema["required"], json!(["reason"]), "{path}");
            assert_eq!(schema["properties"]["reason"]["maxLength"], 5000);
            assert_eq!(
                schema["additionalProperties"], false,
                "{path}: unknown fields refused"
            );
        }
    }
    let stats = &doc["paths"]["/admin/api/v1/proofing/stats"]["get"]["parameters"];
    for bound in ["from", "to"] {
        let p = stats
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == bound)
            .unwrap();
        assert_eq!(p["required"], true, "{bound} is required");
    }
    let list = &doc["paths"]["/admin/api/v1/proofing/verifications"]["get"]["parameters"];
    let limit = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        limit["schema"]["maximum"],
        server.ctx.settings.support.page_size_max
    );
    assert!(
        !doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .any(|p| p.contains("image")),
        "no image endpoint"
    );

    // The check itself can fail: an undocumented field, a wrong type, a missing field.
    let flag_page = success_schema(&doc, "/admin/api/v1/proofing/flags", "get");
    for bad in [
        json!({"items": [], "next_cursor": null, "total": 3}),
        json!({"items": [], "next_cursor": 7}),
        json!({"next_cursor": null}),
        json!({"items": [{"id": "f"}], "next_cursor": null}),
    ] {
        assert!(conforms(&doc, flag_page, &bad, "bad").is_err(), "{bad}");
    }

    // Real answers, masked and in full, fit the document exactly.
    let uid = person(&server, "doc@example.com").await;
    let s = seed(&server, &uid, Status::Held, &[FlagKind::DuplicateSsn]).await;
    let masked = token_for(&server, "verity:admin:proofing").await;
    let pii = token_for(&server, "verity:admin:proofing:pii").await;
    let v = &s.verification_id;
    let f = &s.flag_ids[0];
    let reads = [
        (
            "/proofing/verifications",
            "/admin/api/v1/proofing/verifications",
        ),
        (
            "/proofing/verifications?flagged=true",
            "/admin/api/v1/proofing/verifications",
        ),
        ("/proofing/flags", "/admin/api/v1/proofing/flags"),
        (
            "/proofing/stats?from=2000-01-01&to=2100-01-01",
            "/admin/api/v1/proofing/stats",
        ),
    ];
    let detail = format!("/proofing/verifications/{v}");
    for token in [&masked, &pii] {
        for (path, documented) in reads {
            let r = call(&server, Method::GET, path, Some(token), None).await;
            assert_eq!(r.status, 200, "{path}");
            conforms(&doc, success_schema(&doc, documented, "get"), &r.body, path).unwrap();
        }
        let r = call(&server, Method::GET, &detail, Some(token), None).await;
        assert_eq!(r.status, 200);
        let schema = success_schema(&doc, "/admin/api/v1/proofing/verifications/{id}", "get");
        conforms(&doc, schema, &r.body, &detail).unwrap();
    }
    let r = call(
        &server,
        Method::POST,
        &format!("/proofing/flags/{f}/clear"),
        Some(&masked),
        reason(),
    )
    .await;
    assert_eq!(r.status, 200);
    let schema = success_schema(&doc, "/admin/api/v1/proofing/flags/{flag_id}/clear", "post");
    conforms(&doc, schema, &r.body, "clear").unwrap();
    let r = call(
        &server,
        Method::POST,
        &format!("{detail}/remove"),
        Some(&pii),
        reason(),
    )
    .await;
    assert_eq!(r.status, 200);
    let schema = success_schema(
        &doc,
        "/admin/api/v1/proofing/verifications/{id}/remove",
        "post",
    );
    conforms(&doc, schema, &r.body, "remove").unwrap();
    // And an error answer fits ErrorBody.
    let r = call(
        &server,
        Method::POST,
        &format!("{detail}/remove"),
        Some(&pii),
        reason(),
    )
    .await;
    assert_eq!(r.status, 409);
    let error = &doc["paths"]["/admin/api/v1/proofing/verifications/{id}/remove"]["post"]
        ["responses"]["409"]["content"]["application/json"]["schema"];
    conforms(&doc, error, &r.body, "409").unwrap();
}

#[actix_web::test]
async fn reads_with_the_pii_scope_are_audited_with_the_agent_and_others_are_not() {
    let server = TestServer::start().await;
    let uid = person(&server, "pia@example.com").await;
    let s = seed(&server, &uid, Status::Held, &[FlagKind::DuplicateSsn]).await;
    let path = format!("/proofing/verifications/{}", s.verification_id);
    let masked = token_for(&server, "verity:admin:proofing").await;
    let (agent, secret) = admin_client(&server, &["verity:admin"]).await;
    let pii = client_token(&server, &agent, &secret, Some("verity:admin:proofing:pii")).await;

    // Masked reads and lists show nothing personal, and aren't recorded as reads of it.
    for (token, path) in [
        (&masked, path.as_str()),
        (&pii, "/proofing/verifications"),
        (&pii, "/proofing/flags"),
    ] {
        let r = call(&server, Method::GET, path, Some(token), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert!(audit_events_of_kind(&server, "proofing_personal_data_read")
        .await
        .is_empty());

    // With the PII scope (the attempts' addresses; the person stays masked): one event per
    // read, naming the agent, the person and the verification.
    for _ in 0..2 {
        let r = call(&server, Method::GET, &path, Some(&pii), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["person"]["given_name"], "M.");
    }
    let events = audit_events_of_kind(&server, "proofing_personal_data_read").await;
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e.user_id.as_deref(), Some(uid.as_str()));
        assert_eq!(
            e.client_id.as_deref(),
            Some(agent.as_str()),
            "the agent read"
        );
        let detail: Value = serde_json::from_str(&e.detail).unwrap();
        assert_eq!(detail["verification_id"], s.verification_id.as_str());
        assert!(
            !e.detail.contains("Marisol") && !e.detail.contains(SSN),
            "the audit names the read, not the data: {}",
            e.detail
        );
    }
    // The audit API shows it to other operators.
    let (_, admin) = admin_token(&server).await;
    let r = call(
        &server,
        Method::GET,
        &format!("/audit-events?user_id={uid}&type=proofing_personal_data_read"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.body
    );

    // Nothing personal left (removed): reading in full records nothing more.
    let r = call(
        &server,
        Method::POST,
        &format!("{path}/remove"),
        Some(&admin),
        reason(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&server, Method::GET, &path, Some(&pii), None).await;
    assert!(r.body["person"].is_null(), "{}", r.body);
    assert_eq!(
        audit_events_of_kind(&server, "proofing_personal_data_read")
            .await
            .len(),
        2
    );
}

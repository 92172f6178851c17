//! Identity-verified sign-in for relying parties: `acr_values` IAL2 (Verity's and Login.gov's
//! names) and OpenID Connect for Identity Assurance 1.0 `verified_claims`, as an RP built on
//! the openidconnect crate sees them. People are verified by writing a finished verification
//! through `verity::proofing::records`, as the /verify flow does.

use crate::harness::*;
use diesel::prelude::*;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{json, Value};
use verity::oauth::clients::NewClient;
use verity::proofing::document::{Address, DocumentFields, DocumentType};
use verity::proofing::records::{self, Pii};

const IAL2: &str = "urn:verity:ial2";
const LOGIN_GOV_IAL2: &str = "http://idmanagement.gov/ns/assurance/ial/2";
const NAME_AND_ADDRESS: &[&str] = &["given_name", "family_name", "birthdate", "address"];
const ALL_CLAIMS: &[&str] = &[
    "given_name",
    "family_name",
    "birthdate",
    "address",
    "social_security_number",
];

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn jwt_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&verity::crypto::b64url_decode(part).unwrap()).unwrap()
}

/// A client that may ask for IAL2 and receive `claims`.
async fn ial2_client(server: &TestServer, name: &str, claims: &[&str]) -> Rp {
    let created = server
        .register(NewClient {
            name: name.into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            ial2_allowed: true,
            verified_claims: claims.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        })
        .await;
    server
        .rp(&created.client_id, created.client_secret.as_deref())
        .await
}

/// Gives `email` a verification that counts, verified `hours_ago`, as the /verify flow
/// leaves it. Returns when it was verified, as `verification.time` shows it.
async fn verify_person(server: &TestServer, email: &str, hours_ago: i64) -> String {
    let (email, master) = (email.to_string(), server.ctx.master.clone());
    let now = server.ctx.clock.now();
    server
        .ctx
        .db
        .run(move |c| {
            let user = verity::accounts::users::by_email(c, &email)?.expect("the person");
            let mut v = records::start(
                c,
                &user.id,
                None,
                "2026-11",
                now,
                chrono::Duration::days(30),
            )?;
            let address = Address {
                street_address: "1 Main St\nApt 2".into(),
                locality: "Richmond".into(),
                region: "VA".into(),
                postal_code: "23219".into(),
                country: "US".into(),
            };
            let pii = Pii {
                document: Some(DocumentFields {
                    document_type: DocumentType::DriversLicense,
                    given_name: "Ada".into(),
                    middle_name: None,
                    family_name: "Lovelace".into(),
                    birthdate: chrono::NaiveDate::from_ymd_opt(1990, 12, 10).unwrap(),
                    document_number: "T1234567".into(),
                    expiry: chrono::NaiveDate::from_ymd_opt(2030, 5, 1).unwrap(),
                    issued: None,
                    issuer: "VA".into(),
                    address: Some(address.clone()),
                }),
                address: Some(address),
                ssn: Some("123456789".into()),
                phone: Some(TEST_PHONE.into()),
                pending_phone: None,
            };
            let sealed = verity::storage::db::write_tx(c, |c| {
                let key = records::data_key_or_create(c, &master, &user.id, now)?;
                records::seal_pii(&key, &v.id, &pii)
            })?;
            v.pii = Some(sealed);
            v.status = records::Status::Verified.as_str().into();
            v.step = records::Step::Done.as_str().into();
            let verified_at = now - chrono::Duration::hours(hours_ago);
            v.verified_at = Some(verified_at);
            v.document_type = Some("driving_permit".into());
            v.document_issuer = Some("VA".into());
            v.document_expiry = Some("2030-05-01".into());
            v.checks =
                json!({ "document": "mock", "selfie": "mock", "records": "mock", "phone": "mock" })
                    .to_string();
            assert!(records::save_if_unchanged(c, &v, now)?);
            Ok(verified_at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        })
        .await
        .unwrap()
}

/// A signed-in person (with a second factor) whose profile name is not their legal one.
async fn person(server: &TestServer, email: &str) -> Browser {
    let browser = server.signed_in_browser(email).await;
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| {
            use verity::storage::schema::users;
            diesel::update(users::table.filter(users::email.eq(&email)))
                .set((
                    users::given_name.eq("Addie"),
                    users::family_name.eq("Nickname"),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    browser
}

/// GETs an authorization URL and follows it inside Verity: (where it stopped, its HTML).
async fn visit(browser: &Browser, url: &str) -> (String, String) {
    let (at, res) = browser.follow(browser.get_abs(url).await).await;
    (at, res.text().await.unwrap_or_default())
}

/// On the consent page: allow, and return the callback URL.
async fn allow(browser: &Browser, consent: &str) -> String {
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(consent)),
                ("authz", &hidden(consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    let (callback, _) = browser.follow(res).await;
    assert!(
        callback.starts_with(RP_REDIRECT),
        "back at the RP: {callback}"
    );
    callback
}

async fn userinfo(server: &TestServer, access_token: &str) -> Value {
    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn consent_lines(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("ul.scopes li").unwrap();
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

#[actix_web::test]
async fn an_ial2_sign_in_carries_the_acr_and_verified_claims_in_the_id_token_and_at_userinfo() {
    let server = TestServer::start().await;
    let rp = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let browser = person(&server, "ada@example.com").await;
    let verified_at = verify_person(&server, "ada@example.com", 24).await;

    let claims = json!({
        "id_token": {
            "verified_claims": {
                "verification": { "trust_framework": null, "time": null },
                "claims": { "given_name": null, "family_name": null }
            }
        },
        "userinfo": {
            "verified_claims": {
                "verification": {
                    "trust_framework": { "value": "nist_800_63A" },
                    "assurance_level": null,
                    "evidence": [{
                        "type": { "value": "document" },
                        "document_details": { "type": null, "issuer": null, "date_of_expiry": null }
                    }]
                },
                "claims": { "birthdate": null, "address": null, "social_security_number": null }
            }
        }
    })
    .to_string();
    let req = rp.auth_request(&["profile"]);
    let url = format!(
        "{}&acr_values={}&claims={}",
        req.url,
        enc(IAL2),
        enc(&claims)
    );
    let (at, consent) = visit(&browser, &url).await;
    assert!(at.contains("/consent"), "{at}");
    let lines = consent_lines(&consent);
    assert!(
        lines.contains(&"Your legal name, as checked against your ID".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"Your date of birth, as checked against your ID".to_string()));
    assert!(lines.contains(&"Your address, as verified".to_string()));
    assert!(
        !lines.contains(&"Your name".to_string()),
        "the profile name isn't what goes"
    );
    assert_eq!(
        text_of(&consent, ".ssn"),
        None,
        "this client may not have the SSN"
    );
    let callback = allow(&browser, &consent).await;

    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .expect("tokens");
    let id = rp.verify(&tokens, &req.nonce);
    assert_eq!(id.auth_context_ref().map(|a| a.as_str()), Some(IAL2));
    let raw = jwt_payload(&tokens.id_token().unwrap().to_string());
    assert_eq!(
        raw["verified_claims"],
        json!({
            "verification": { "trust_framework": "nist_800_63A", "time": verified_at },
            "claims": { "given_name": "Ada", "family_name": "Lovelace" }
        })
    );
    let access = jwt_payload(tokens.access_token().secret());
    assert_eq!(
        access["acr"], IAL2,
        "the access token carries the level too"
    );

    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(
        info["verified_claims"],
        json!({
            "verification": {
                "trust_framework": "nist_800_63A",
                "assurance_level": "ial2",
                "evidence": [{
                    "type": "document",
                    "document_details": {
                        "type": "driving_permit",
                        "issuer": { "country_code": "USA", "jurisdiction": "VA" },
                        "date_of_expiry": "2030-05-01"
                    }
                }]
            },
            "claims": {
                "birthdate": "1990-12-10",
                "address": {
                    "formatted": "1 Main St\nApt 2\nRichmond VA 23219\nUS",
                    "street_address": "1 Main St\nApt 2",
                    "locality": "Richmond",
                    "region": "VA",
                    "postal_code": "23219",
                    "country": "US"
                }
            }
        }),
        "no SSN: the client isn't allowed it"
    );
    // Login.gov's behaviour: with IAL2 the profile scope's names are the verified ones.
    assert_eq!(info["given_name"], "Ada");
    assert_eq!(info["family_name"], "Lovelace");
    assert_eq!(info["name"], "Ada Lovelace");
    assert_eq!(info["birthdate"], "1990-12-10");
}

#[actix_web::test]
async fn the_login_gov_ial2_name_and_an_essential_acr_come_back_as_asked() {
    let server = TestServer::start().await;
    let rp = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let browser = person(&server, "lin@example.com").await;
    verify_person(&server, "lin@example.com", 1).await;

    let req = rp.auth_request(&["profile"]);
    let url = format!("{}&acr_values={}", req.url, enc(LOGIN_GOV_IAL2));
    let (_, consent) = visit(&browser, &url).await;
    let callback = allow(&browser, &consent).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let id = rp.verify(&tokens, &req.nonce);
    assert_eq!(id.auth_context_ref().unwrap().as_str(), LOGIN_GOV_IAL2);
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(info["given_name"], "Ada", "never the profile's Addie");
    assert!(info.get("verified_claims").is_none(), "not asked for");

    // The same level as an essential acr claim; consent is remembered now.
    let claims =
        json!({ "id_token": { "acr": { "essential": true, "values": [LOGIN_GOV_IAL2] } } });
    let req = rp.auth_request(&["profile"]);
    let url = format!("{}&claims={}", req.url, enc(&claims.to_string()));
    let callback = authorize_to_callback(&browser, &url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    assert_eq!(
        rp.verify(&tokens, &req.nonce)
            .auth_context_ref()
            .unwrap()
            .as_str(),
        LOGIN_GOV_IAL2
    );

    // Without IAL2 the same scope gives the profile's name (positive control).
    let req = rp.auth_request(&["profile"]);
    let callback = authorize_to_callback(&browser, &req.url).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    assert_eq!(
        rp.verify(&tokens, &req.nonce)
            .auth_context_ref()
            .unwrap()
            .as_str(),
        "urn:verity:aal2"
    );
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(info["given_name"], "Addie");
}

#[actix_web::test]
async fn unmet_verification_requirements_omit_the_element_without_an_error() {
    let server = TestServer::start().await;
    let rp = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let browser = person(&server, "max@example.com").await;
    // Verified two hours ago.
    let time = verify_person(&server, "max@example.com", 2).await;

    let element = |verification: Value, claim: &str| json!({ "verification": verification, "claims": { claim: null } });
    let claims = json!({
        "userinfo": {
            "verified_claims": [
                element(json!({ "trust_framework": { "value": "eidas" } }), "given_name"),
                element(json!({ "trust_framework": null, "time": { "max_age": 3600 } }), "family_name"),
                element(json!({ "trust_framework": null, "time": { "max_age": 10800 } }), "birthdate")
            ]
        }
    })
    .to_string();
    let req = rp.auth_request(&[]);
    let url = format!(
        "{}&acr_values={}&claims={}",
        req.url,
        enc(IAL2),
        enc(&claims)
    );
    let (at, consent) = visit(&browser, &url).await;
    assert!(at.contains("/consent"), "no error: {at}");
    let callback = allow(&browser, &consent).await;
    assert!(query_of(&callback).contains_key("code"), "{callback}");
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(
        info["verified_claims"],
        json!([{
            "verification": { "trust_framework": "nist_800_63A", "time": time },
            "claims": { "birthdate": "1990-12-10" }
        }]),
        "the eidas element and the one older than its max_age are left out"
    );
    assert!(
        info.get("given_name").is_none(),
        "no unverified copy instead"
    );
    assert!(info.get("family_name").is_none());
}

#[actix_web::test]
async fn the_ssn_goes_only_to_a_client_allowed_it_and_is_called_out_on_consent() {
    let server = TestServer::start().await;
    let tax = ial2_client(&server, "Tax Office", ALL_CLAIMS).await;
    let shop = ial2_client(&server, "Shop", NAME_AND_ADDRESS).await;
    let browser = person(&server, "sam@example.com").await;
    verify_person(&server, "sam@example.com", 1).await;
    let claims = json!({
        "userinfo": { "verified_claims": {
            "verification": { "trust_framework": null },
            "claims": { "given_name": null, "social_security_number": null }
        } }
    })
    .to_string();

    let mut answers = Vec::new();
    for (rp, ssn_line) in [(&tax, true), (&shop, false)] {
        let req = rp.auth_request(&[]);
        let url = format!(
            "{}&acr_values={}&claims={}",
            req.url,
            enc(IAL2),
            enc(&claims)
        );
        let (_, consent) = visit(&browser, &url).await;
        let callout = text_of(&consent, ".ssn");
        assert_eq!(callout.is_some(), ssn_line, "{consent}");
        if let Some(text) = callout {
            assert!(text.contains("Your Social Security number"), "{text}");
            assert!(text.contains("Tax Office will also receive your full Social Security number"));
        }
        assert!(
            !consent_lines(&consent)
                .iter()
                .any(|l| l.contains("Social Security")),
            "the SSN is not one line among the others"
        );
        let callback = allow(&browser, &consent).await;
        let tokens = rp
            .exchange(&query_of(&callback)["code"], req.verifier)
            .await
            .unwrap();
        answers.push(userinfo(&server, tokens.access_token().secret()).await);
    }
    assert_eq!(
        answers[0]["verified_claims"]["claims"],
        json!({ "given_name": "Ada", "social_security_number": "123456789" })
    );
    assert_eq!(
        answers[1]["verified_claims"]["claims"],
        json!({ "given_name": "Ada" }),
        "a client not allowed the SSN never gets it"
    );
    // The console's connected apps say what each may see from the verified identity, in
    // words (never `verified:…`).
    let account = browser.get_ok("/account").await;
    let apps = connected_app_lines(&account);
    let lines_of = |app: &str| {
        apps.iter()
            .find(|(name, _)| name == app)
            .map(|(_, lines)| lines.clone())
            .unwrap_or_else(|| panic!("{app} in {apps:?}"))
    };
    let legal_name = "Can see your legal name, as checked against your ID".to_string();
    let ssn = "Can see your full Social Security number".to_string();
    assert!(lines_of("Tax Office").contains(&legal_name), "{apps:?}");
    assert!(lines_of("Tax Office").contains(&ssn), "{apps:?}");
    assert!(lines_of("Shop").contains(&legal_name), "{apps:?}");
    assert!(!lines_of("Shop").contains(&ssn), "{apps:?}");
    assert!(!account.contains("verified:"), "no scope names: {account}");
    let cuenta = browser
        .http
        .get(server.url("/account"))
        .header("accept-language", "es-US,es;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        cuenta.contains("Puede ver su número de Seguro Social completo"),
        "{cuenta}"
    );
}

/// The console's connected apps: (name, the lines under it).
fn connected_app_lines(html: &str) -> Vec<(String, Vec<String>)> {
    let doc = scraper::Html::parse_document(html);
    let app = scraper::Selector::parse("li.app span").unwrap();
    let name = scraper::Selector::parse("strong").unwrap();
    doc.select(&app)
        .map(|a| {
            let title = a
                .select(&name)
                .next()
                .map(|n| n.text().collect::<String>())
                .unwrap_or_default();
            // The text nodes after the first line (name · since), one per <br>.
            let lines = a
                .text()
                .map(str::trim)
                .filter(|t| t.starts_with("Can ") || t.starts_with("Puede "))
                .map(str::to_string)
                .collect();
            (title, lines)
        })
        .collect()
}

#[actix_web::test]
async fn ial2_for_a_client_not_allowed_it_or_with_proofing_off_is_unmet() {
    let server = TestServer::start().await;
    let (plain_id, plain_secret) = server.add_client(false).await;
    let plain = server.rp(&plain_id, plain_secret.as_deref()).await;
    let allowed = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let browser = person(&server, "ned@example.com").await;
    verify_person(&server, "ned@example.com", 1).await;

    for acr in [IAL2, LOGIN_GOV_IAL2] {
        let req = plain.auth_request(&[]);
        let res = browser
            .get_abs(&format!("{}&acr_values={}", req.url, enc(acr)))
            .await;
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(RP_REDIRECT), "{location}");
        let q = query_of(&location);
        assert_eq!(q["error"], "unmet_authentication_requirements");
        assert_eq!(&q["state"], req.state.secret());
    }
    // The verified_claims scope isn't this client's either.
    let req = plain.auth_request(&["verified_claims"]);
    let res = browser.get_abs(&req.url).await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_of(&location)["error"], "invalid_scope");

    // Positive control: the allowed client gets to consent.
    let req = allowed.auth_request(&[]);
    let (at, _) = visit(&browser, &format!("{}&acr_values={}", req.url, enc(IAL2))).await;
    assert!(at.contains("/consent"), "{at}");

    // Proofing off: even an allowed client is refused, and nothing is advertised.
    let off = TestServer::start_with(|s| s.proofing.enabled = false).await;
    let rp = ial2_client(&off, "Benefits", NAME_AND_ADDRESS).await;
    let browser = off.signed_in_browser("ned@example.com").await;
    let req = rp.auth_request(&[]);
    let res = browser
        .get_abs(&format!("{}&acr_values={}", req.url, enc(IAL2)))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        query_of(&location)["error"],
        "unmet_authentication_requirements"
    );
    let d: Value = reqwest::get(off.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(d.get("trust_frameworks_supported").is_none());
    assert!(!d["acr_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!(IAL2)));
    assert!(!d["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("verified_claims")));
}

#[actix_web::test]
async fn a_person_without_a_verification_is_sent_to_verify_and_continues_after_it() {
    let server = TestServer::start().await;
    let rp = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let browser = person(&server, "ivy@example.com").await;

    // prompt=none can't send anyone to verify.
    let req = rp.auth_request(&["profile"]);
    let res = browser
        .get_abs(&format!("{}&acr_values={}&prompt=none", req.url, enc(IAL2)))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(RP_REDIRECT));
    assert_eq!(query_of(&location)["error"], "interaction_required");
    assert_eq!(&query_of(&location)["state"], req.state.secret());

    let req = rp.auth_request(&["profile"]);
    let res = browser
        .get_abs(&format!("{}&acr_values={}", req.url, enc(IAL2)))
        .await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/verify?authz="), "{location}");
    let authz = query_of(&format!("http://x{location}"))["authz"].clone();

    // Coming back before verifying: sent to /verify again.
    let res = browser
        .get(&format!("/authorize/continue?authz={authz}"))
        .await;
    assert_eq!(res.headers()["location"], location.as_str());

    // Verified (as /verify would leave it): the same request carries on to consent and a code.
    verify_person(&server, "ivy@example.com", 0).await;
    let (at, consent) = visit(
        &browser,
        &server.url(&format!("/authorize/continue?authz={authz}")),
    )
    .await;
    assert!(at.contains("/consent"), "{at}");
    let callback = allow(&browser, &consent).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    assert_eq!(
        rp.verify(&tokens, &req.nonce)
            .auth_context_ref()
            .unwrap()
            .as_str(),
        IAL2
    );
}

#[actix_web::test]
async fn a_removed_or_outdated_verification_ends_verified_claims_and_ial2_needs_verify_again() {
    let server = TestServer::start().await;
    let created = server
        .register(NewClient {
            name: "Benefits".into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            ial2_allowed: true,
            verified_claims: NAME_AND_ADDRESS.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        })
        .await;
    let secret = created.client_secret.clone().unwrap();
    let rp = server.rp(&created.client_id, Some(&secret)).await;
    let browser = person(&server, "rob@example.com").await;
    verify_person(&server, "rob@example.com", 1).await;
    let refresh_with = |token: String| {
        let (id, secret, url) = (
            created.client_id.clone(),
            secret.clone(),
            server.url("/token"),
        );
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let claims = json!({
        "id_token": { "verified_claims": {
            "verification": { "trust_framework": null }, "claims": { "family_name": null } } },
        "userinfo": { "verified_claims": {
            "verification": { "trust_framework": null }, "claims": { "given_name": null } } }
    })
    .to_string();
    let ial2_url = |req: &AuthRequest| {
        format!(
            "{}&acr_values={}&claims={}",
            req.url,
            enc(IAL2),
            enc(&claims)
        )
    };

    let req = rp.auth_request(&["profile"]);
    let (_, consent) = visit(&browser, &ial2_url(&req)).await;
    let callback = allow(&browser, &consent).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let access = tokens.access_token().secret().clone();
    let info = userinfo(&server, &access).await;
    assert_eq!(
        info["verified_claims"]["claims"],
        json!({ "given_name": "Ada" })
    );
    // A refresh answers as the original request asked: the new ID token has its verified claims.
    let (status, body) = refresh_with(tokens.refresh_token().unwrap().secret().clone()).await;
    assert_eq!(status, 200, "{body}");
    let id = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], IAL2);
    assert_eq!(
        id["verified_claims"]["claims"],
        json!({ "family_name": "Lovelace" })
    );
    let next_refresh = body["refresh_token"].as_str().unwrap().to_string();

    // The person removes their verification: nothing verified is released any more, and no
    // unverified name stands in for it.
    let email = "rob@example.com".to_string();
    let now = server.ctx.clock.now();
    let removed = server
        .ctx
        .db
        .run(move |c| {
            let user = verity::accounts::users::by_email(c, &email)?.unwrap();
            records::remove_all(c, &user.id, "person", None, now)
        })
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let info = userinfo(&server, &access).await;
    assert!(info.get("verified_claims").is_none(), "{info}");
    assert!(info.get("given_name").is_none(), "{info}");
    assert!(info.get("name").is_none(), "{info}");
    let (status, body) = refresh_with(next_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let req = rp.auth_request(&["profile"]);
    let res = browser.get_abs(&ial2_url(&req)).await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/verify?authz="));

    // Verified again: IAL2 works again (consent is remembered).
    verify_person(&server, "rob@example.com", 0).await;
    let req = rp.auth_request(&["profile"]);
    let callback = authorize_to_callback(&browser, &ial2_url(&req)).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let access = tokens.access_token().secret().clone();
    assert_eq!(userinfo(&server, &access).await["given_name"], "Ada");

    // An account reset asks for the verification to be redone: it no longer counts.
    let email = "rob@example.com".to_string();
    let now = server.ctx.clock.now();
    server
        .ctx
        .db
        .run(move |c| {
            use verity::storage::schema::users;
            diesel::update(users::table.filter(users::email.eq(&email)))
                .set(users::identity_reverify_at.eq(now))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let info = userinfo(&server, &access).await;
    assert!(info.get("verified_claims").is_none(), "{info}");
    let req = rp.auth_request(&["profile"]);
    let res = browser.get_abs(&ial2_url(&req)).await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/verify?authz="));
}

#[actix_web::test]
async fn another_client_gets_nothing_verified_without_a_consent_that_names_it() {
    let server = TestServer::start().await;
    let first = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let second = ial2_client(&server, "Library", NAME_AND_ADDRESS).await;
    let browser = person(&server, "kim@example.com").await;
    verify_person(&server, "kim@example.com", 1).await;

    let req = first.auth_request(&["profile"]);
    let (_, consent) = visit(&browser, &format!("{}&acr_values={}", req.url, enc(IAL2))).await;
    allow(&browser, &consent).await;

    // The second app has only a standing "yes" to profile, without IAL2.
    let req = second.auth_request(&["profile"]);
    let (_, consent) = visit(&browser, &req.url).await;
    assert_eq!(consent_lines(&consent)[1], "Your name");
    let callback = allow(&browser, &consent).await;
    let tokens = second
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(info["given_name"], "Addie");
    assert!(
        info.get("birthdate").is_none(),
        "the verified birth date was never allowed"
    );

    // That consent doesn't cover the verified name: prompt=none can't get it silently...
    let req = second.auth_request(&["profile"]);
    let res = browser
        .get_abs(&format!("{}&acr_values={}&prompt=none", req.url, enc(IAL2)))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_of(&location)["error"], "consent_required");
    // ...and the page asks for it by name.
    let (at, consent) = visit(&browser, &format!("{}&acr_values={}", req.url, enc(IAL2))).await;
    assert!(at.contains("/consent"), "{at}");
    assert!(consent_lines(&consent)
        .contains(&"Your legal name, as checked against your ID".to_string()));
}

#[actix_web::test]
async fn the_address_scope_releases_only_the_verified_address() {
    let server = TestServer::start().await;
    let rp = ial2_client(&server, "Benefits", &["address"]).await;
    let verified = person(&server, "val@example.com").await;
    verify_person(&server, "val@example.com", 1).await;
    let unverified = person(&server, "uma@example.com").await;

    let mut answers = Vec::new();
    for (browser, line) in [(&verified, true), (&unverified, false)] {
        let req = rp.auth_request(&["address"]);
        let (_, consent) = visit(browser, &req.url).await;
        assert_eq!(
            consent_lines(&consent).contains(&"Your address, as verified".to_string()),
            line
        );
        let callback = allow(browser, &consent).await;
        let tokens = rp
            .exchange(&query_of(&callback)["code"], req.verifier)
            .await
            .unwrap();
        answers.push(userinfo(&server, tokens.access_token().secret()).await);
    }
    assert_eq!(answers[0]["address"]["locality"], "Richmond");
    assert_eq!(
        answers[0]["address"]["formatted"],
        "1 Main St\nApt 2\nRichmond VA 23219\nUS"
    );
    assert!(
        answers[1].get("address").is_none(),
        "no verification, no address"
    );

    // A client not permitted the verified address may not ask for the scope.
    let (id, secret) = server.add_client(false).await;
    let plain = server.rp(&id, secret.as_deref()).await;
    let req = plain.auth_request(&["address"]);
    let res = verified.get_abs(&req.url).await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_of(&location)["error"], "invalid_scope");
}

#[actix_web::test]
async fn the_verified_claims_scope_gives_everything_allowed_at_userinfo() {
    let server = TestServer::start().await;
    let rp = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let browser = person(&server, "eve@example.com").await;
    verify_person(&server, "eve@example.com", 1).await;

    let req = rp.auth_request(&["verified_claims"]);
    let (_, consent) = visit(&browser, &req.url).await;
    assert_eq!(text_of(&consent, ".ssn"), None);
    let callback = allow(&browser, &consent).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let raw = jwt_payload(&tokens.id_token().unwrap().to_string());
    assert!(
        raw.get("verified_claims").is_none(),
        "the scope answers at userinfo"
    );
    let info = userinfo(&server, tokens.access_token().secret()).await;
    let vc = &info["verified_claims"];
    assert_eq!(vc["verification"]["assurance_level"], "ial2");
    assert_eq!(vc["verification"]["evidence"][0]["type"], "document");
    let mut names: Vec<&str> = vc["claims"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["address", "birthdate", "family_name", "given_name"]
    );
}

#[actix_web::test]
async fn discovery_lists_ial2_and_identity_assurance_metadata() {
    let server = TestServer::start().await;
    let d: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let has = |field: &str, v: &str| d[field].as_array().unwrap().contains(&json!(v));
    assert!(has("acr_values_supported", IAL2) && has("acr_values_supported", LOGIN_GOV_IAL2));
    assert!(has("scopes_supported", "address") && has("scopes_supported", "verified_claims"));
    assert!(has("claims_supported", "verified_claims") && has("claims_supported", "address"));
    assert_eq!(d["trust_frameworks_supported"], json!(["nist_800_63A"]));
    assert_eq!(d["evidence_supported"], json!(["document"]));
    assert_eq!(
        d["documents_supported"],
        json!(["driving_permit", "idcard", "passport"])
    );
    assert_eq!(
        d["claims_in_verified_claims_supported"],
        json!([
            "given_name",
            "family_name",
            "birthdate",
            "address",
            "social_security_number"
        ])
    );
    assert_eq!(d["claims_parameter_supported"], true);
    assert!(
        d.get("verified_claims_supported").is_none(),
        "a drafts-only field"
    );
}

#[actix_web::test]
async fn operators_grant_identity_permissions_and_dynamic_registration_cannot() {
    use crate::admin_harness::{admin_token, call};
    use reqwest::Method;
    let server = TestServer::start_with(|s| {
        s.dynamic_registration = true;
        s.registration_initial_access_token = Some("r".repeat(40));
    })
    .await;
    let (_, token) = admin_token(&server).await;

    let created = call(
        &server,
        Method::POST,
        "/clients",
        Some(&token),
        Some(json!({
            "name": "Tax Office",
            "redirect_uris": [RP_REDIRECT],
            "ial2_allowed": true,
            "verified_claims": ["given_name", "social_security_number"],
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["ial2_allowed"], true);
    assert_eq!(
        created.body["verified_claims"],
        json!(["given_name", "social_security_number"])
    );
    let id = created.body["client_id"].as_str().unwrap().to_string();
    let changed = call(
        &server,
        Method::PATCH,
        &format!("/clients/{id}"),
        Some(&token),
        Some(json!({ "verified_claims": ["family_name"], "ial2_allowed": false })),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["verified_claims"], json!(["family_name"]));
    assert_eq!(changed.body["ial2_allowed"], false);
    // Refused: a name Verity doesn't release, and permissions on a machine client.
    for (body, field) in [
        (
            json!({ "name": "A", "redirect_uris": [RP_REDIRECT], "verified_claims": ["shoe_size"] }),
            "verified_claims",
        ),
        (
            json!({ "name": "A", "grant_types": ["client_credentials"], "ial2_allowed": true }),
            "ial2_allowed",
        ),
    ] {
        let refused = call(
            &server,
            Method::POST,
            "/clients",
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert!(refused.body.to_string().contains(field), "{}", refused.body);
    }
    let doc: Value = reqwest::get(server.url("/admin/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["CreateClient"]["properties"]["ial2_allowed"].is_object());
    assert!(schemas["UpdateClient"]["properties"]["verified_claims"].is_object());
    assert!(schemas["VerifiedClaim"]
        .to_string()
        .contains("social_security_number"));

    // A client registering itself can't reach any of it, whatever it registers.
    let res = reqwest::Client::new()
        .post(server.url("/register"))
        .bearer_auth("r".repeat(40))
        .json(&json!({
            "redirect_uris": [RP_REDIRECT],
            "scope": "openid profile address verified_claims",
            "ial2_allowed": true,
            "verified_claims": ["social_security_number"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let registered: Value = res.json().await.unwrap();
    let rp = server
        .rp(
            registered["client_id"].as_str().unwrap(),
            registered["client_secret"].as_str(),
        )
        .await;
    let browser = person(&server, "reg@example.com").await;
    verify_person(&server, "reg@example.com", 1).await;
    let req = rp.auth_request(&[]);
    let res = browser
        .get_abs(&format!("{}&acr_values={}", req.url, enc(IAL2)))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        query_of(&location)["error"],
        "unmet_authentication_requirements"
    );
    for scope in ["verified_claims", "address"] {
        let req = rp.auth_request(&[scope]);
        let res = browser.get_abs(&req.url).await;
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(query_of(&location)["error"], "invalid_scope", "{scope}");
    }
    // Positive control: its ordinary scopes work.
    let req = rp.auth_request(&["profile"]);
    let (at, _) = visit(&browser, &req.url).await;
    assert!(at.contains("/consent"), "{at}");
}

#[actix_web::test]
async fn asking_for_verified_claims_sends_a_person_without_a_verification_to_verify_first() {
    let server = TestServer::start().await;
    let rp = ial2_client(&server, "Benefits", NAME_AND_ADDRESS).await;
    let browser = person(&server, "vic@example.com").await;
    let asking = |target: &str, claim: &str| {
        json!({ target: { "verified_claims": {
            "verification": { "trust_framework": null }, "claims": { claim: null } } } })
        .to_string()
    };
    // No acr_values: the `claims` parameter alone, for the ID token or for userinfo.
    for target in ["userinfo", "id_token"] {
        let req = rp.auth_request(&["profile"]);
        let url = format!("{}&claims={}", req.url, enc(&asking(target, "given_name")));
        let res = browser.get_abs(&format!("{url}&prompt=none")).await;
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(RP_REDIRECT), "{location}");
        assert_eq!(query_of(&location)["error"], "interaction_required");
        let res = browser.get_abs(&url).await;
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with("/verify?authz="),
            "{target}: {location}"
        );
    }

    // Verified (as /verify leaves it): the last request carries on to consent, and the ID
    // token holds what was asked.
    let req = rp.auth_request(&["profile"]);
    let url = format!(
        "{}&claims={}",
        req.url,
        enc(&asking("id_token", "given_name"))
    );
    let res = browser.get_abs(&url).await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let authz = query_of(&format!("http://x{location}"))["authz"].clone();
    verify_person(&server, "vic@example.com", 0).await;
    let (at, consent) = visit(
        &browser,
        &server.url(&format!("/authorize/continue?authz={authz}")),
    )
    .await;
    assert!(at.contains("/consent"), "{at}");
    assert!(consent_lines(&consent)
        .contains(&"Your legal name, as checked against your ID".to_string()));
    let callback = allow(&browser, &consent).await;
    let tokens = rp
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let id = jwt_payload(&tokens.id_token().unwrap().to_string());
    assert_eq!(
        id["verified_claims"]["claims"],
        json!({ "given_name": "Ada" })
    );

    // A client that may not receive what it asks for isn't a reason to send anyone to verify:
    // the request goes on, and the element is left out.
    let address_only = ial2_client(&server, "Library", &["address"]).await;
    let other = person(&server, "wes@example.com").await;
    let req = address_only.auth_request(&["profile"]);
    let url = format!(
        "{}&claims={}",
        req.url,
        enc(&asking("userinfo", "given_name"))
    );
    let (at, consent) = visit(&other, &url).await;
    assert!(at.contains("/consent"), "{at}");
    let callback = allow(&other, &consent).await;
    let tokens = address_only
        .exchange(&query_of(&callback)["code"], req.verifier)
        .await
        .unwrap();
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert!(info.get("verified_claims").is_none(), "{info}");
}

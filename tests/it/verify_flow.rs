//! `/verify`: the identity verification pages walked as a person would, with the mock vendors,
//! a real PDF417 barcode image on the back of the licence, and every refusal a person can meet.

use crate::harness::*;
use verity::proofing::records;

/// A licence's AAMVA barcode text (version 10 layout) for the sample person.
pub fn aamva_text(given: &str, family: &str, number: &str, expiry_mmddyyyy: &str) -> String {
    let body = format!(
        "DLDAQ{number}\nDCS{family}\nDAC{given}\nDADNONE\nDBB10061978\nDBA{expiry_mmddyyyy}\nDBD01012020\nDBC1\nDAG1 FAKE RD\nDAIGREAT FALLS\nDAJMT\nDAK594010000  \nDCGUSA\nDCFNONE\nDDEN\nDDFN\nDDGN\r"
    );
    // Header: IIN 636000, AAMVA version 10, jurisdiction version 00, one subfile (DL) at offset 31.
    format!("@\n\u{1e}\rANSI 636000100001DL0031{:04}{body}", body.len())
}

/// The front of the same licence, as the mock vendor reads it from a JSON fixture.
pub fn front_fixture(given: &str, family: &str, number: &str, expiry: &str, extra: &str) -> String {
    format!(
        r#"{{"document_type":"driving_permit","given_name":"{given}","family_name":"{family}","birthdate":"1978-10-06","document_number":"{number}","expiry":"{expiry}","issuer":"MT","address":{{"street_address":"1 FAKE RD","locality":"GREAT FALLS","region":"MT","postal_code":"59401","country":"US"}}{extra}}}"#
    )
}

/// A photo of a licence's back: the barcode on a white card, as a phone would take it.
pub fn card_back_png(text: &str) -> Vec<u8> {
    let code = verity::proofing::images::render_pdf417_image(text)
        .unwrap()
        .to_rgb8();
    let (w, h) = (code.width().max(560) + 80, code.height().max(320) + 80);
    let mut card = image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    image::imageops::overlay(&mut card, &code, 40, 40);
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(card)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A plain photo (no barcode), big enough to pass the size checks.
pub fn plain_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(480, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

pub async fn upload(
    browser: &Browser,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    files: Vec<(&str, &str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf.to_string());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (name, filename, bytes) in files {
        form = form.part(
            name.to_string(),
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
        );
    }
    browser
        .http
        .post(format!("{}{}", base_of(browser), path))
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

fn base_of(browser: &Browser) -> String {
    browser.base().to_string()
}

/// Agrees on the start page: the verification is on the document step.
pub async fn start(browser: &Browser) {
    let page = browser.get_ok("/verify").await;
    assert!(page.contains("What you&#39;ll need"), "{page}");
    let res = browser
        .post(
            "/verify/start",
            &[("csrf", &csrf_of(&page)), ("consent", "yes"), ("authz", "")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/verify/document");
}

pub const GOOD_NUMBER: &str = "T64108871";

/// Sends the sample licence: a JSON front and a real barcode photo on the back.
pub async fn send_licence(browser: &Browser, front: &str, back_text: &str) -> reqwest::Response {
    let page = browser.get_ok("/verify/document").await;
    let back = card_back_png(back_text);
    upload(
        browser,
        "/verify/document",
        &csrf_of(&page),
        &[("document_type", "driving_permit")],
        vec![
            ("front", "front.json", front.as_bytes().to_vec()),
            ("back", "back.png", back),
        ],
    )
    .await
}

pub async fn good_document(browser: &Browser) {
    let res = send_licence(
        browser,
        &front_fixture("FAKEY", "MCFAKERSON", GOOD_NUMBER, "2035-12-31", ""),
        &aamva_text("FAKEY", "MCFAKERSON", GOOD_NUMBER, "12312035"),
    )
    .await;
    let status = res.status();
    let loc = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    assert_eq!(
        (status.as_u16(), loc.as_deref()),
        (303, Some("/verify/selfie")),
        "{}",
        res.text().await.unwrap_or_default()
    );
}

pub async fn good_selfie(browser: &Browser) {
    let page = browser.get_ok("/verify/selfie").await;
    let res = upload(
        browser,
        "/verify/selfie",
        &csrf_of(&page),
        &[],
        vec![("selfie", "me.jpg", plain_jpeg())],
    )
    .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

pub async fn good_ssn(browser: &Browser, ssn: &str) {
    let page = browser.get_ok("/verify/ssn").await;
    let res = browser
        .post("/verify/ssn", &[("csrf", &csrf_of(&page)), ("ssn", ssn)])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/verify/review");
}

pub async fn press_verify(browser: &Browser) -> reqwest::Response {
    let page = browser.get_ok("/verify/review").await;
    browser
        .post("/verify/review", &[("csrf", &csrf_of(&page))])
        .await
}

pub async fn finish_with_phone(server: &TestServer, browser: &Browser) -> Finished {
    finish_with_phone_as(server, browser, PASSWORD).await
}

/// [`finish_with_phone`] for a person whose password is `password`.
pub async fn finish_with_phone_as(
    server: &TestServer,
    browser: &Browser,
    password: &str,
) -> Finished {
    phone_code_accepted(server, browser).await;
    protect_with(browser, password).await
}

/// The phone step with the account's first phone and its code: the password step is next.
pub async fn phone_code_accepted(server: &TestServer, browser: &Browser) {
    let page = browser.get_ok("/verify/phone").await;
    let choice = hidden_radio(&page);
    let res = browser
        .post(
            "/verify/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("choice", &choice),
                ("phone", ""),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let page = browser.get_ok("/verify/phone-code").await;
    let code = newest_code(server, TEST_PHONE).await;
    let res = browser
        .post(
            "/verify/phone-code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify/protect");
}

/// How the last step ended: where "continue" leads, and the personal key shown once.
pub struct Finished {
    pub location: String,
    pub personal_key: String,
}

/// The password step after the last check: the page shows the personal key (once) and leads
/// on to `location`.
pub async fn protect_with_password(browser: &Browser) -> Finished {
    protect_with(browser, PASSWORD).await
}

pub async fn protect_with(browser: &Browser, password: &str) -> Finished {
    let page = browser.get_ok("/verify/protect").await;
    assert!(page.contains("Enter your password one more time"), "{page}");
    let res = browser
        .post(
            "/verify/protect",
            &[("csrf", &csrf_of(&page)), ("password", password)],
        )
        .await;
    let status = res.status();
    let page = res.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    let shown = personal_key_page(&page);
    // "I saved my personal key": the page's button, and where it leads.
    let res = browser
        .post("/verify/personal-key/saved", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"].to_str().unwrap(), shown.location);
    shown
}

/// The personal key and the "continue" link of the page that shows it.
pub fn personal_key_page(page: &str) -> Finished {
    let doc = scraper::Html::parse_document(page);
    let key = scraper::Selector::parse("#personal-key").unwrap();
    let personal_key = doc
        .select(&key)
        .next()
        .map(|e| e.text().collect::<String>())
        .unwrap_or_else(|| panic!("no personal key on {page}"));
    let saved = scraper::Selector::parse("form[action=\"/verify/personal-key/saved\"]").unwrap();
    let location = doc
        .select(&saved)
        .next()
        .and_then(|e| e.value().attr("data-next"))
        .unwrap_or_default()
        .to_string();
    Finished {
        location,
        personal_key: personal_key.trim().to_string(),
    }
}

/// The vault key of the person's counting verification, opened with their personal key as
/// only they could: what a test needs to read what the vault holds.
pub async fn unlocked_with(
    server: &TestServer,
    email: &str,
    personal_key: &str,
) -> verity::proofing::vault::Unlocked {
    use verity::proofing::vault;
    let uid = user_id(server, email).await;
    let row = server
        .ctx
        .db
        .run(move |c| {
            let (v, _) = records::counting_verification(c, &uid)?.expect("a counting verification");
            Ok(vault::vault_of(c, &v.id)?.expect("its vault"))
        })
        .await
        .unwrap();
    let key = vault::open_with_personal_key(
        &server.ctx,
        &row,
        vault::normalize_personal_key(personal_key).unwrap(),
    )
    .await
    .unwrap()
    .expect("the personal key opens the vault");
    let mut unlocked = vault::Unlocked::default();
    unlocked.insert(&row.verification_id, &key);
    unlocked
}

/// The first phone choice's value on the phone page.
fn hidden_radio(page: &str) -> String {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse("input[name=choice]").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_string()
}

pub async fn user_id(server: &TestServer, email: &str) -> String {
    let email = email.to_string();
    server
        .ctx
        .db
        .run(move |c| Ok(verity::accounts::users::by_email(c, &email)?.unwrap().id))
        .await
        .unwrap()
}

/// A person who walked every step with the mock vendors.
pub async fn verified_person(server: &TestServer, email: &str, ssn: &str) -> Browser {
    let browser = person_with_phone(server, email).await;
    start(&browser).await;
    good_document(&browser).await;
    good_selfie(&browser).await;
    good_ssn(&browser, ssn).await;
    let res = press_verify(&browser).await;
    assert_eq!(res.headers()["location"], "/verify/phone");
    let res = finish_with_phone(server, &browser).await;
    assert_eq!(res.location, "/verify/done");
    browser
}

#[actix_web::test]
async fn a_person_walks_every_step_and_the_account_holds_a_verified_identity() {
    let server = TestServer::start().await;
    let email = "walk@example.com";
    let browser = person_with_phone(&server, email).await;
    // The console offers it.
    let console = browser.get_ok("/account").await;
    assert!(console.contains("Verify your identity"), "{console}");
    // No consent, no start.
    let page = browser.get_ok("/verify").await;
    let res = browser
        .post("/verify/start", &[("csrf", &csrf_of(&page)), ("authz", "")])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Check the box"));
    start(&browser).await;
    // Steps can't be skipped.
    let res = browser
        .post(
            "/verify/ssn",
            &[("csrf", &csrf_of(&page)), ("ssn", "900-12-3456")],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify/document");
    assert_eq!(
        browser.get("/verify/review").await.headers()["location"],
        "/verify/document"
    );
    good_document(&browser).await;
    good_selfie(&browser).await;
    good_ssn(&browser, "900-12-3456").await;
    let review = browser.get_ok("/verify/review").await;
    assert!(review.contains("FAKEY MCFAKERSON"), "{review}");
    assert!(review.contains("•••-••-3456"), "{review}");
    assert!(!review.contains("900123456") && !review.contains("900-12-3456"));
    assert!(review.contains("GREAT FALLS"), "{review}");
    // A different residence replaces the document's address.
    let res = browser
        .post(
            "/verify/address",
            &[
                ("csrf", &csrf_of(&review)),
                ("street1", "12 Elm St"),
                ("street2", ""),
                ("city", "Helena"),
                ("state", "mt"),
                ("zip", "59601"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let review = browser.get_ok("/verify/review").await;
    assert!(
        review.contains("12 Elm St") && review.contains("Helena"),
        "{review}"
    );
    let res = press_verify(&browser).await;
    assert_eq!(res.headers()["location"], "/verify/phone");
    let res = finish_with_phone(&server, &browser).await;
    assert_eq!(res.location, "/verify/done");
    let done = browser.get_ok("/verify/done").await;
    assert!(done.contains("Your identity is verified"), "{done}");

    // What the account now holds: only the personal key (or the password) opens it.
    let unlocked = unlocked_with(&server, email, &res.personal_key).await;
    let uid = user_id(&server, email).await;
    let master = server.ctx.master.clone();
    let (verified, images, raw_pii) = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::{identity_verifications, proofing_images};
            let v = records::current_verified(c, &master, &uid, &unlocked)?.identity();
            let images: i64 = proofing_images::table.count().get_result(c)?;
            let pii: Option<String> = identity_verifications::table
                .filter(identity_verifications::user_id.eq(&uid))
                .select(identity_verifications::pii)
                .first(c)?;
            Ok((v, images, pii))
        })
        .await
        .unwrap();
    let verified = verified.expect("a verified identity");
    assert_eq!(verified.given_name, "FAKEY");
    assert_eq!(verified.family_name, "MCFAKERSON");
    assert_eq!(verified.address.locality, "Helena");
    assert_eq!(verified.ssn, "900123456");
    assert_eq!(verified.phone.as_deref(), Some(TEST_PHONE));
    for check in [
        "document", "barcode", "selfie", "records", "state_id", "phone",
    ] {
        assert!(
            verified.checks.contains_key(check),
            "{check}: {:?}",
            verified.checks
        );
    }
    assert_eq!(images, 0, "photos are deleted once checked (retention 0)");
    let raw = raw_pii.unwrap();
    assert!(
        !raw.contains("FAKEY") && !raw.contains("900123456"),
        "sealed at rest"
    );
    // Announced, and shown on the console.
    server
        .wait_for_messages(email, "Your identity was verified", 1)
        .await;
    let console = browser.get_ok("/account").await;
    assert!(console.contains("Verified on"), "{console}");
    assert!(console.contains("Remove my verified data"));
    // Visiting /verify again says so instead of starting over.
    let again = browser.get_ok("/verify").await;
    assert!(again.contains("already verified"), "{again}");
}

#[actix_web::test]
async fn removing_verified_data_erases_it_and_tells_the_person() {
    let server = TestServer::start().await;
    let email = "remove@example.com";
    let browser = verified_person(&server, email, "900-22-3456").await;
    let console = browser.get_ok("/account").await;
    let res = browser
        .post("/account/identity/remove", &[("csrf", &csrf_of(&console))])
        .await;
    assert_eq!(res.status(), 303);
    let console = browser.get_ok("/account?identity=removed").await;
    assert!(
        console.contains("Your verified information was removed"),
        "{console}"
    );
    assert!(console.contains("Verify your identity"));
    server
        .wait_for_messages(email, "Your verified identity was removed", 1)
        .await;
    let uid = user_id(&server, email).await;
    let master = server.ctx.master.clone();
    let (verified, key) = server
        .ctx
        .db
        .run(move |c| {
            Ok((
                records::counting_verification(c, &uid)?,
                records::data_key(c, &master, &uid)?.is_some(),
            ))
        })
        .await
        .unwrap();
    assert!(verified.is_none());
    assert!(
        !key,
        "the person's data key is gone: nothing sealed can be read"
    );
}

#[actix_web::test]
async fn an_account_reset_means_verifying_again() {
    let server = TestServer::start().await;
    let email = "reset-idv@example.com";
    let browser = verified_person(&server, email, "900-32-3456").await;
    let uid = user_id(&server, email).await;
    let later = server.ctx.clock.now() + chrono::Duration::seconds(5);
    let u = uid.clone();
    server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::users;
            diesel::update(users::table.find(&u))
                .set(users::identity_reverify_at.eq(Some(later)))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let v = server
        .ctx
        .db
        .run(move |c| records::counting_verification(c, &uid))
        .await
        .unwrap();
    assert!(
        v.is_none(),
        "a reset after the verification stops it counting"
    );
    let page = browser.get_ok("/verify").await;
    assert!(page.contains("What you&#39;ll need"), "start again: {page}");
}

#[actix_web::test]
async fn document_problems_are_explained_and_nothing_advances() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "doc-problems@example.com").await;
    start(&browser).await;
    let barcode = aamva_text("FAKEY", "MCFAKERSON", GOOD_NUMBER, "12312035");
    let cases: Vec<(String, String, &str)> = vec![
        // The front (vendor OCR) disagrees with the barcode.
        (
            front_fixture("FAKEY", "MCFAKERSON", "X999", "2035-12-31", ""),
            barcode.clone(),
            "match. Take both photos",
        ),
        // Expired.
        (
            front_fixture("FAKEY", "MCFAKERSON", GOOD_NUMBER, "2020-01-31", ""),
            aamva_text("FAKEY", "MCFAKERSON", GOOD_NUMBER, "01312020"),
            "expired",
        ),
        // The vendor says it isn't genuine.
        (
            front_fixture(
                "FAKEY",
                "MCFAKERSON",
                GOOD_NUMBER,
                "2035-12-31",
                r#","authentic":false,"result_codes":["photo_tampered"]"#,
            ),
            barcode.clone(),
            "genuine",
        ),
    ];
    for (front, back, says) in cases {
        let res = send_licence(&browser, &front, &back).await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains(says), "{says}: {page}");
    }
    let page = browser.get_ok("/verify/document").await;
    let csrf = csrf_of(&page);
    // A back with no barcode on it.
    let res = upload(
        &browser,
        "/verify/document",
        &csrf,
        &[("document_type", "driving_permit")],
        vec![
            (
                "front",
                "front.json",
                front_fixture("FAKEY", "MCFAKERSON", GOOD_NUMBER, "2035-12-31", "").into_bytes(),
            ),
            ("back", "back.jpg", plain_jpeg()),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("read the barcode on the back"));
    // No back at all.
    let res = upload(
        &browser,
        "/verify/document",
        &csrf,
        &[("document_type", "driving_permit")],
        vec![("front", "front.jpg", plain_jpeg())],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("back of your license"));
    // A file that isn't a photo (too big to be a fixture).
    let res = upload(
        &browser,
        "/verify/document",
        &csrf,
        &[("document_type", "driving_permit")],
        vec![
            ("front", "front.pdf", vec![b'%'; 20_000]),
            ("back", "back.jpg", plain_jpeg()),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("a JPEG or PNG picture"));
    // Too large: refused without reading it all.
    let res = upload(
        &browser,
        "/verify/document",
        &csrf,
        &[("document_type", "driving_permit")],
        vec![("front", "front.jpg", vec![0u8; 11 * 1024 * 1024])],
    )
    .await;
    assert_eq!(res.status(), 413);
    // Still on the document step.
    assert_eq!(
        browser.get("/verify/selfie").await.headers()["location"],
        "/verify/document"
    );
    // An upload without its CSRF token is refused before anything is read.
    let res = upload(&browser, "/verify/document", "", &[], vec![]).await;
    assert_eq!(res.status(), 403);
}

#[actix_web::test]
async fn impossible_ssns_are_refused_and_shown_masked_afterwards() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "ssn@example.com").await;
    start(&browser).await;
    good_document(&browser).await;
    good_selfie(&browser).await;
    for (bad, says) in [
        ("666-12-3456", "valid Social Security number"),
        ("123-00-4567", "valid Social Security number"),
        ("123-45-0000", "valid Social Security number"),
        ("12345", "9-digit"),
    ] {
        let page = browser.get_ok("/verify/ssn").await;
        let res = browser
            .post("/verify/ssn", &[("csrf", &csrf_of(&page)), ("ssn", bad)])
            .await;
        assert_eq!(res.status(), 422, "{bad}");
        let body = res.text().await.unwrap();
        assert!(body.contains(says), "{bad}: {body}");
        assert!(!body.contains(bad), "the number typed isn't echoed back");
    }
}

#[actix_web::test]
async fn a_records_mismatch_and_a_vendor_timeout_are_told_apart() {
    let server = TestServer::start().await;
    let email = "records@example.com";
    let browser = person_with_phone(&server, email).await;
    start(&browser).await;
    // "Timeout" in the first name makes the mock records check time out.
    let res = send_licence(
        &browser,
        &front_fixture("TIMEOUT", "MCFAKERSON", GOOD_NUMBER, "2035-12-31", ""),
        &aamva_text("TIMEOUT", "MCFAKERSON", GOOD_NUMBER, "12312035"),
    )
    .await;
    assert_eq!(res.status(), 303);
    good_selfie(&browser).await;
    good_ssn(&browser, "900-42-3456").await;
    let res = press_verify(&browser).await;
    assert_eq!(res.status(), 503);
    assert!(res.text().await.unwrap().contains("count as a try"));
    // Not charged, and still on the review step.
    let uid = user_id(&server, email).await;
    let u = uid.clone();
    let charged: i64 = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::proofing_attempts as a;
            Ok(a::table
                .filter(a::user_id.eq(&u))
                .filter(a::check_kind.eq("records"))
                .filter(a::charged.eq(true))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(charged, 0);
    assert_eq!(browser.get("/verify/review").await.status(), 200);

    // A real SSN never passes the mock records check: a plain "couldn't confirm".
    let other = person_with_phone(&server, "records2@example.com").await;
    start(&other).await;
    good_document(&other).await;
    good_selfie(&other).await;
    good_ssn(&other, "123-45-6789").await;
    let res = press_verify(&other).await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("confirm your identity with trusted records"));
}

#[actix_web::test]
async fn attempts_run_out_after_the_limit_even_when_sent_at_once() {
    let server = TestServer::start_with(|s| s.proofing.max_attempts = 3).await;
    let email = "limit@example.com";
    let browser = person_with_phone(&server, email).await;
    start(&browser).await;
    let page = browser.get_ok("/verify/document").await;
    let csrf = csrf_of(&page);
    let front = front_fixture(
        "FAKEY",
        "MCFAKERSON",
        GOOD_NUMBER,
        "2035-12-31",
        r#","authentic":false"#,
    );
    let back = card_back_png(&aamva_text("FAKEY", "MCFAKERSON", GOOD_NUMBER, "12312035"));
    let sends = (0..12).map(|_| {
        upload(
            &browser,
            "/verify/document",
            &csrf,
            &[("document_type", "driving_permit")],
            vec![
                ("front", "front.json", front.clone().into_bytes()),
                ("back", "back.png", back.clone()),
            ],
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|s| *s != 500), "{statuses:?}");
    let uid = user_id(&server, email).await;
    let charged: i64 = server
        .ctx
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use verity::storage::schema::proofing_attempts as a;
            Ok(a::table
                .filter(a::user_id.eq(&uid))
                .filter(a::charged.eq(true))
                .count()
                .get_result(c)?)
        })
        .await
        .unwrap();
    assert!(charged <= 3, "at most max_attempts charged: {charged}");
    // Now out of tries: the page says when, and points to help and support.
    let res = send_licence(
        &browser,
        &front_fixture("FAKEY", "MCFAKERSON", GOOD_NUMBER, "2035-12-31", ""),
        &aamva_text("FAKEY", "MCFAKERSON", GOOD_NUMBER, "12312035"),
    )
    .await;
    if charged == 3 {
        assert_eq!(res.status(), 429);
        let page = res.text().await.unwrap();
        assert!(page.contains("too many times"), "{page}");
        assert!(page.contains("/support"));
    }
    // A day later the window has passed.
    server.ctx.clock.advance(25 * 3600);
    let browser = {
        // The sign-in has gone stale by then: sign in again.
        let (b, _) = sign_in_with_phone(&server, email).await;
        b
    };
    let res = send_licence(
        &browser,
        &front_fixture("FAKEY", "MCFAKERSON", GOOD_NUMBER, "2035-12-31", ""),
        &aamva_text("FAKEY", "MCFAKERSON", GOOD_NUMBER, "12312035"),
    )
    .await;
    assert_eq!(res.status(), 303);
}

#[actix_web::test]
async fn the_same_ssn_on_a_second_account_is_held_for_review() {
    let server = TestServer::start().await;
    verified_person(&server, "first@example.com", "900-52-3456").await;
    // A second account (backup codes as its factor): it confirms another number.
    let second = server.signed_in_browser("second@example.com").await;
    start(&second).await;
    // Another licence number, same SSN.
    let res = send_licence(
        &second,
        &front_fixture("FAKEY", "MCFAKERSON", "Z1234567", "2035-12-31", ""),
        &aamva_text("FAKEY", "MCFAKERSON", "Z1234567", "12312035"),
    )
    .await;
    assert_eq!(res.status(), 303);
    good_selfie(&second).await;
    good_ssn(&second, "900-52-3456").await;
    assert_eq!(press_verify(&second).await.status(), 303);
    let page = second.get_ok("/verify/phone").await;
    let res = second
        .post(
            "/verify/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("choice", "other"),
                ("phone", "(201) 555-0177"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = second.get_ok("/verify/phone-code").await;
    assert!(page.contains("0177"), "{page}");
    let code = newest_code(&server, "+12015550177").await;
    let res = second
        .post(
            "/verify/phone-code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify/protect");
    assert_eq!(
        protect_with_password(&second).await.location,
        "/verify/done"
    );
    let page = second.get_ok("/verify/done").await;
    assert!(page.contains("reviewing"), "{page}");
    let uid = user_id(&server, "second@example.com").await;
    let (verified, flags) = server
        .ctx
        .db
        .run(move |c| {
            let latest = records::latest_for(c, &uid)?.unwrap();
            Ok((
                records::counting_verification(c, &uid)?,
                records::flags_of(c, &latest.id)?,
            ))
        })
        .await
        .unwrap();
    assert!(verified.is_none(), "held: it doesn't count");
    assert!(flags.iter().any(|f| f.kind == "duplicate_ssn" && f.holds));
}

#[actix_web::test]
async fn a_phone_not_in_the_persons_name_is_refused() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "phone-idv@example.com").await;
    start(&browser).await;
    good_document(&browser).await;
    good_selfie(&browser).await;
    good_ssn(&browser, "900-62-3456").await;
    assert_eq!(press_verify(&browser).await.status(), 303);
    let page = browser.get_ok("/verify/phone").await;
    // The mock phone check refuses numbers ending 5555.
    let res = browser
        .post(
            "/verify/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("choice", "other"),
                ("phone", "(201) 555-5555"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("in your name"));
}

#[actix_web::test]
async fn verify_steps_need_a_fresh_sign_in() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "stale@example.com").await;
    start(&browser).await;
    server.ctx.clock.advance(16 * 60);
    let res = browser.get("/verify/document").await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/step-up?return_to=%2Fverify%2Fdocument"),
        "{to}"
    );
    // Someone else's browser (no session) goes to sign-in.
    let stranger = server.browser();
    let res = stranger.get("/verify").await;
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A relying party allowed to ask for IAL2 and these verified claims.
pub async fn ial2_rp(server: &TestServer, name: &str) -> Rp {
    let created = server
        .register(verity::oauth::clients::NewClient {
            name: name.into(),
            redirect_uris: vec![RP_REDIRECT.into()],
            grant_types: vec!["authorization_code".into()],
            ial2_allowed: true,
            verified_claims: ["given_name", "family_name", "birthdate", "address"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        })
        .await;
    server
        .rp(&created.client_id, created.client_secret.as_deref())
        .await
}

/// An IAL2 sign-in that led to `/verify`: the relying party's request, and the `authz` the
/// verification carries back to it.
pub struct Ial2Request {
    pub req: AuthRequest,
    pub authz: String,
}

/// The signed-in person signs in at `rp` asking for IAL2 and the verified `claims` (the
/// `claims` request parameter's JSON): Verity sends them to `/verify` with the request, and
/// they consent; the verification is then on the document step.
pub async fn start_for_rp(browser: &Browser, rp: &Rp, claims: &str) -> Ial2Request {
    let req = rp.auth_request(&["profile"]);
    let res = browser
        .get_abs(&format!(
            "{}&acr_values={}&claims={}",
            req.url,
            enc("urn:verity:ial2"),
            enc(claims)
        ))
        .await;
    assert_eq!(res.status(), 303);
    let to_verify = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to_verify.starts_with("/verify?authz="), "{to_verify}");
    let authz = query_of(&format!("http://x{to_verify}"))["authz"].clone();
    // The start page carries the relying party's request through the consent form.
    let page = browser.get_ok(&to_verify).await;
    assert_eq!(hidden(&page, "authz"), authz);
    let res = browser
        .post(
            "/verify/start",
            &[
                ("csrf", &csrf_of(&page)),
                ("consent", "yes"),
                ("authz", &authz),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify/document");
    Ial2Request { req, authz }
}

/// Verified: from `/verify/done` back to the relying party's sign-in, consent, the code and
/// the tokens. Checks the ID token (signature, nonce, `acr` IAL2) and returns its claims.
pub async fn back_to_rp(browser: &Browser, rp: &Rp, started: Ial2Request) -> serde_json::Value {
    use openidconnect::TokenResponse;
    let done = browser.get_ok("/verify/done").await;
    let back = format!("/authorize/continue?authz={}", enc(&started.authz));
    assert!(
        done.contains(&back.replace('&', "&amp;")) || done.contains(&back),
        "{done}"
    );
    let (at, res) = browser.follow(browser.get(&back).await).await;
    assert!(at.contains("/consent"), "{at}");
    let consent = res.text().await.unwrap();
    let res = browser
        .post(
            "/consent",
            &[
                ("csrf", &csrf_of(&consent)),
                ("authz", &hidden(&consent, "authz")),
                ("decision", "allow"),
            ],
        )
        .await;
    let (callback, _) = browser.follow(res).await;
    assert!(callback.starts_with(RP_REDIRECT), "{callback}");
    let tokens = rp
        .exchange(&query_of(&callback)["code"], started.req.verifier)
        .await
        .unwrap();
    let id = rp.verify(&tokens, &started.req.nonce);
    assert_eq!(id.auth_context_ref().unwrap().as_str(), "urn:verity:ial2");
    let payload = tokens.id_token().unwrap().to_string();
    let body = payload.split('.').nth(1).unwrap();
    serde_json::from_slice(&verity::crypto::b64url_decode(body).unwrap()).unwrap()
}

#[actix_web::test]
async fn a_relying_party_asking_for_ial2_gets_verified_claims_after_the_person_walks_verify() {
    let server = TestServer::start().await;
    let rp = ial2_rp(&server, "Tax Portal").await;
    let browser = person_with_phone(&server, "rp-walk@example.com").await;
    let claims = r#"{"id_token":{"verified_claims":{"verification":{"trust_framework":null,"time":null},"claims":{"given_name":null,"family_name":null,"birthdate":null}}}}"#;
    let started = start_for_rp(&browser, &rp, claims).await;
    good_document(&browser).await;
    good_selfie(&browser).await;
    good_ssn(&browser, "900-72-3456").await;
    assert_eq!(press_verify(&browser).await.status(), 303);
    let res = finish_with_phone(&server, &browser).await;
    assert_eq!(res.location, "/verify/done");
    // Done: back to the relying party's sign-in, which goes on to consent and a code.
    let claims = back_to_rp(&browser, &rp, started).await;
    let vc = &claims["verified_claims"];
    assert_eq!(vc["verification"]["trust_framework"], "nist_800_63A");
    assert!(vc["verification"]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(vc["claims"]["given_name"], "FAKEY");
    assert_eq!(vc["claims"]["family_name"], "MCFAKERSON");
    assert_eq!(vc["claims"]["birthdate"], "1978-10-06");
    assert!(vc["claims"].get("address").is_none(), "only what was asked");
}

#[actix_web::test]
async fn a_selfie_that_doesnt_match_or_isnt_live_and_a_state_record_that_disagrees_are_refused() {
    let server = TestServer::start().await;
    let browser = person_with_phone(&server, "selfie-state@example.com").await;
    start(&browser).await;
    // A licence number containing FAIL: the mock state ID check disagrees later.
    let number = "FAIL1234";
    let res = send_licence(
        &browser,
        &front_fixture("FAKEY", "MCFAKERSON", number, "2035-12-31", ""),
        &aamva_text("FAKEY", "MCFAKERSON", number, "12312035"),
    )
    .await;
    assert_eq!(res.status(), 303);
    for (fixture, says) in [
        (r#"{"face_match": false}"#, "match the photo on your ID"),
        (r#"{"liveness": false}"#, "taken just now"),
    ] {
        let page = browser.get_ok("/verify/selfie").await;
        let res = upload(
            &browser,
            "/verify/selfie",
            &csrf_of(&page),
            &[],
            vec![("selfie", "selfie.json", fixture.as_bytes().to_vec())],
        )
        .await;
        assert_eq!(res.status(), 422);
        let body = res.text().await.unwrap().replace("&#39;", "'");
        assert!(body.contains(says), "{says}: {body}");
    }
    good_selfie(&browser).await;
    good_ssn(&browser, "900-82-3456").await;
    let res = press_verify(&browser).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("state that issued your ID"), "{body}");
    // Still on the review step: nothing advanced.
    assert_eq!(browser.get("/verify/review").await.status(), 200);
    // Each vendor attempt was closed once with how it ended, its transcript sealed.
    let uid = user_id(&server, "selfie-state@example.com").await;
    let attempts = server
        .ctx
        .db
        .run(move |c| {
            let v = records::latest_for(c, &uid)?.unwrap();
            records::attempts_of(c, &v.id)
        })
        .await
        .unwrap();
    let outcomes: Vec<(&str, &str)> = attempts
        .iter()
        .map(|a| (a.check_kind.as_str(), a.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("document", "passed"),
            ("selfie", "failed"),
            ("selfie", "failed"),
            ("selfie", "passed"),
            ("records", "passed"),
            ("state_id", "failed"),
        ]
    );
    assert!(attempts
        .iter()
        .all(|a| a.charged && a.finished_at.is_some() && a.transcript.is_some()));
}

/// Adds `number` to the account from the console, as a person would: a code to the new
/// number, then "confirm". The account's phone list now has it, added just now.
async fn add_phone_from_console(server: &TestServer, browser: &Browser, e164: &str) {
    let res = browser.get("/account/phones/start").await;
    assert_eq!(res.headers()["location"], "/account/phones/change");
    let page = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/number",
            &[
                ("csrf", &csrf_of(&page)),
                ("phone", e164),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let code = newest_code(server, e164).await;
    let res = browser
        .post(
            "/account/phones/change/code",
            &[("csrf", &csrf_of(&page)), ("code", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let review = browser.get_ok("/account/phones/change").await;
    let res = browser
        .post(
            "/account/phones/change/decision",
            &[("csrf", &csrf_of(&review)), ("decision", "confirm")],
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// The value of the phone page's choice whose label shows `ending`.
fn choice_ending(page: &str, ending: &str) -> String {
    let doc = scraper::Html::parse_document(page);
    let radio = scraper::Selector::parse("div.usa-radio").unwrap();
    let input = scraper::Selector::parse("input[name=choice]").unwrap();
    let label = scraper::Selector::parse("label").unwrap();
    doc.select(&radio)
        .find(|r| {
            r.select(&label)
                .next()
                .is_some_and(|l| l.text().collect::<String>().trim().ends_with(ending))
        })
        .and_then(|r| r.select(&input).next())
        .and_then(|i| i.value().attr("value"))
        .unwrap_or_else(|| panic!("a choice ending {ending}: {page}"))
        .to_string()
}

/// Open flags of one kind, as an operator lists them through the management API.
async fn open_flags_of_kind(server: &TestServer, kind: &str) -> Vec<serde_json::Value> {
    use crate::admin_harness::*;
    let (id, secret) = admin_client(server, &["verity:admin"]).await;
    let token = client_token(server, &id, &secret, Some("verity:admin:proofing")).await;
    let r = call(
        server,
        reqwest::Method::GET,
        &format!("/proofing/flags?status=open&kind={kind}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[actix_web::test]
async fn a_phone_added_within_the_sim_swap_cooldown_is_refused_and_flagged_for_operators() {
    // Texts to the account's phone and to the new number within seconds.
    let server = TestServer::start_with(|s| s.security.otp_sends_per_short_window = 10).await;
    let email = "sim-swap@example.com";
    let browser = person_with_phone(&server, email).await;
    start(&browser).await;
    good_document(&browser).await;
    good_selfie(&browser).await;
    good_ssn(&browser, "900-92-3456").await;
    assert_eq!(
        press_verify(&browser).await.headers()["location"],
        "/verify/phone"
    );
    // Before the phone step, another number is added to the account (as someone who took over
    // a number would do).
    let new = "+12015550146";
    add_phone_from_console(&server, &browser, new).await;
    let texts_before = server.outbox_for(new).await.len();
    let page = browser.get_ok("/verify/phone").await;
    let res = browser
        .post(
            "/verify/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("choice", &choice_ending(&page, "0146")),
                ("phone", ""),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("added to your account recently") && body.contains("Use another number"),
        "{body}"
    );
    // Typing the same number instead is no way around it.
    let res = browser
        .post(
            "/verify/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("choice", "other"),
                ("phone", "(201) 555-0146"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    // No code went to it and nothing advanced.
    assert_eq!(server.outbox_for(new).await.len(), texts_before);
    assert_eq!(
        browser.get("/verify/phone-code").await.headers()["location"],
        "/verify/phone"
    );
    // An operator sees the signal, once, on this person's verification; it doesn't hold it.
    let uid = user_id(&server, email).await;
    let flags = open_flags_of_kind(&server, "sim_swap_phone").await;
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0]["user_id"], uid.as_str());
    assert_eq!(flags[0]["holds"], false);
    assert!(flags[0]["detail"]["phone_changed_at"].is_string());
    // The phone the account had from the start still confirms the person.
    let page = browser.get_ok("/verify/phone").await;
    let res = browser
        .post(
            "/verify/phone",
            &[
                ("csrf", &csrf_of(&page)),
                ("choice", &choice_ending(&page, "0123")),
                ("phone", ""),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/verify/phone-code");
}

#[actix_web::test]
async fn many_different_documents_from_one_account_are_flagged_for_operators() {
    let server = TestServer::start().await;
    let email = "many-ids@example.com";
    let browser = person_with_phone(&server, email).await;
    let limit = server.ctx.settings.proofing.identities_per_window as usize;
    // One more document than the window allows, each time starting over.
    for i in 0..=limit {
        let number = format!("M{i}4108871");
        start(&browser).await;
        let res = send_licence(
            &browser,
            &front_fixture("FAKEY", "MCFAKERSON", &number, "2035-12-31", ""),
            &aamva_text("FAKEY", "MCFAKERSON", &number, "12312035"),
        )
        .await;
        // The person isn't told: the flag is for operators.
        assert_eq!(res.headers()["location"], "/verify/selfie");
        let flags = open_flags_of_kind(&server, "many_identities").await;
        if i < limit {
            assert!(flags.is_empty(), "{} identities: {flags:?}", i + 1);
            let page = browser.get_ok("/verify/selfie").await;
            let res = browser
                .post("/verify/cancel", &[("csrf", &csrf_of(&page))])
                .await;
            assert_eq!(res.status(), 303);
        } else {
            let uid = user_id(&server, email).await;
            assert_eq!(flags.len(), 1, "{flags:?}");
            assert_eq!(flags[0]["user_id"], uid.as_str());
            assert_eq!(flags[0]["holds"], false);
            assert_eq!(flags[0]["detail"]["from_account"], limit + 1);
        }
    }
}

#[actix_web::test]
async fn housekeeping_abandons_old_unfinished_verifications_and_purges_retired_photos() {
    let server = TestServer::start_with(|s| s.proofing.image_retention_days = 2).await;
    let days = |n: i64| n * 24 * 3600;
    // One person got past the selfie (their photos are retired, kept 2 days); another stopped
    // after the document (its front is kept for the selfie).
    let selfie_done = person_with_phone(&server, "kept-photos@example.com").await;
    start(&selfie_done).await;
    good_document(&selfie_done).await;
    good_selfie(&selfie_done).await;
    let stopped = person_with_phone(&server, "stopped@example.com").await;
    start(&stopped).await;
    good_document(&stopped).await;
    let (a, b) = (
        user_id(&server, "kept-photos@example.com").await,
        user_id(&server, "stopped@example.com").await,
    );
    let state = |uid: String| {
        let ctx = server.ctx.clone();
        async move {
            ctx.db
                .run(move |c| {
                    use diesel::prelude::*;
                    use verity::storage::schema::proofing_images as pi;
                    let v = records::latest_for(c, &uid)?.unwrap();
                    let images: i64 = pi::table
                        .filter(pi::verification_id.eq(&v.id))
                        .count()
                        .get_result(c)?;
                    Ok((v.status, v.pii.is_some(), images))
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(state(a.clone()).await, ("in_progress".into(), true, 1));
    assert_eq!(state(b.clone()).await, ("in_progress".into(), true, 1));

    // Three days on: the retired photos are past their retention; the one still waiting for
    // its selfie stays, and nothing is old enough to abandon.
    server.ctx.clock.advance(days(3));
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    assert_eq!(state(a.clone()).await, ("in_progress".into(), true, 0));
    assert_eq!(state(b.clone()).await, ("in_progress".into(), true, 1));

    // Past `unfinished_ttl_days`: both are abandoned, their data and photos gone.
    let ttl = server.ctx.settings.proofing.unfinished_ttl_days as i64;
    server.ctx.clock.advance(days(ttl - 3 + 1));
    verity::proofing::flow::housekeeping(&server.ctx)
        .await
        .unwrap();
    assert_eq!(state(a.clone()).await, ("abandoned".into(), false, 0));
    assert_eq!(state(b.clone()).await, ("abandoned".into(), false, 0));
    // Coming back, the person starts afresh.
    let standing = verity::proofing::flow::standing(&server.ctx, &b)
        .await
        .unwrap();
    assert!(
        matches!(standing, verity::proofing::flow::Standing::None),
        "{standing:?}"
    );
}

//! The `http` checks: one JSON contract to a vendor gateway, a small service the operator runs
//! (or buys) that speaks to the actual vendors. Verity knows no vendor's own API.
//!
//! # Contract
//!
//! Verity POSTs JSON to `{http_base_url}/document`, `/selfie`, `/records`, `/state-id` and
//! `/phone`, with `Content-Type: application/json`, `Accept: application/json` and, when
//! `http_api_key` is set, `Authorization: Bearer {http_api_key}`. Every body has `reference`,
//! the attempt id, for the gateway's logs. Images are `{"content_type": "image/jpeg", "data":
//! "<standard base64>"}`. Dates are `YYYY-MM-DD`; document types are the OIDC4IDA names
//! (`driving_permit`, `idcard`, `passport`).
//!
//! | endpoint | request (besides `reference`) | answer |
//! |---|---|---|
//! | `/document` | `document_type`, `front` (image), `back` (image or `null`) | `{"authentic": bool, "result_codes": [..], "fields": {..} or null, "mrz": "..." or null}` |
//! | `/selfie` | `portrait` (image), `selfie` (image) | `{"face_match": bool, "liveness": bool, "result_codes": [..]}` |
//! | `/records` | `identity` (with `ssn`) | `{"matched": bool, "reasons": [..]}` |
//! | `/state-id` | `document` (fields), `identity` (no `ssn`) | `{"verified": bool, "jurisdiction_unsupported": bool, "mismatched": [..]}` |
//! | `/phone` | `phone` (E.164), `identity` (no `ssn`) | `{"matched": bool, "reasons": [..]}` |
//!
//! `identity` is `{"given_name", "middle_name" (or null), "family_name", "birthdate",
//! "address": {"street_address", "locality", "region", "postal_code", "country"}, "ssn"}`
//! (nine digits; sent to `/records` only). `fields` and `document` are `{"document_type",
//! "given_name", "middle_name", "family_name", "birthdate", "document_number", "expiry",
//! "issued", "issuer", "address"}` (`address` null for a passport). Array members may be
//! omitted when empty, and unknown members are ignored.
//!
//! # Failures and retries
//!
//! One try has a whole-request timeout of `http_timeout_secs` (connecting, sending, and
//! reading the answer). A try that gets no answer (connection refused or reset, timeout before
//! the status line) is retried up to `http_retries` times, after a short pause that grows with
//! each try. Once the gateway has answered, nothing is retried: the vendor may already have
//! run (and charged for) the check. A non-2xx status, an answer larger than
//! [`ANSWER_MAX_BYTES`], or one that is not JSON of the shape above is a
//! [`VendorFailure`]: the person is asked to try again later and the attempt is not charged.
//! A gateway that can't decide says so in its answer (`authentic: false` with result codes,
//! `matched: false` with reasons), never with an error status.
//!
//! Each answer's transcript keeps the request as sent minus the images (their size and
//! SHA-256 instead) and with the SSN masked to its last four digits, the HTTP status, the
//! parsed answer, and how many tries it took. The SSN is never logged.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::{
    identity_for_transcript, Answer, Checked, DocumentCheck, DocumentRequest, DocumentResult,
    IdentityClaim, PhoneCheck, PhoneRequest, PhoneResult, RecordsCheck, RecordsRequest,
    RecordsResult, SelfieCheck, SelfieRequest, SelfieResult, StateIdCheck, StateIdRequest,
    StateIdResult, Upload, VendorFailure,
};
use crate::config::ProofingSettings;
use crate::net::outbound::{read_capped, CallError};

/// The largest answer read from the gateway: the biggest legitimate one (document fields
/// and an MRZ) is a few KiB; a hostile or broken gateway can't make Verity hold more.
pub const ANSWER_MAX_BYTES: usize = 256 * 1024;

/// The pause before the first retry; the n-th retry waits n times this.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// The five checks over the gateway contract (one value serves them all).
pub struct HttpVendor {
    client: reqwest::Client,
    /// Without a trailing slash.
    base_url: String,
    authorization: Option<HeaderValue>,
    timeout: Duration,
    retries: u32,
}

impl std::fmt::Debug for HttpVendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpVendor")
            .field("base_url", &self.base_url)
            .field("api_key", &self.authorization.as_ref().map(|_| "…"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

impl HttpVendor {
    pub fn new(settings: &ProofingSettings, client: reqwest::Client) -> anyhow::Result<HttpVendor> {
        let Some(base) = settings.http_base_url.as_deref() else {
            anyhow::bail!("an http proofing vendor needs proofing.http_base_url");
        };
        let url = url::Url::parse(base)
            .map_err(|_| anyhow::anyhow!("proofing.http_base_url is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            anyhow::bail!("proofing.http_base_url must be an http(s) URL");
        }
        if url.query().is_some() || url.fragment().is_some() {
            anyhow::bail!("proofing.http_base_url can't have a query or a fragment");
        }
        let authorization = match settings.http_api_key.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    anyhow::anyhow!("proofing.http_api_key has characters a header can't carry")
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(HttpVendor {
            client,
            base_url: base.trim_end_matches('/').to_string(),
            authorization,
            timeout: Duration::from_secs(settings.http_timeout_secs.max(1)),
            retries: settings.http_retries,
        })
    }

    /// One check: POST `wire` to `endpoint`, with retries only while no answer came back.
    /// `asked` is the request as the transcript keeps it.
    async fn call<T: DeserializeOwned + Serialize>(
        &self,
        endpoint: &'static str,
        reference: &str,
        wire: Value,
        asked: Value,
    ) -> Checked<T> {
        let url = format!("{}{endpoint}", self.base_url);
        let mut exchange = Exchange {
            endpoint,
            reference,
            asked,
            tries: 0,
            status: None,
        };
        let body = match serde_json::to_vec(&wire) {
            Ok(body) => body,
            Err(_) => return Err(exchange.failed("request not encodable")),
        };
        let response = loop {
            exchange.tries += 1;
            let mut request = self
                .client
                .post(&url)
                .timeout(self.timeout)
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json")
                .body(body.clone());
            if let Some(authorization) = &self.authorization {
                request = request.header(AUTHORIZATION, authorization.clone());
            }
            match request.send().await {
                Ok(response) => break response,
                Err(e) => {
                    let reason = if e.is_timeout() {
                        "timeout"
                    } else {
                        "network error"
                    };
                    if e.is_builder() || exchange.tries > self.retries {
                        return Err(exchange.failed(reason));
                    }
                    tracing::info!(
                        endpoint,
                        reference,
                        tries = exchange.tries,
                        reason,
                        "vendor gateway gave no answer; trying again"
                    );
                    tokio::time::sleep(RETRY_PAUSE * exchange.tries).await;
                }
            }
        };
        // The gateway answered: from here on, no retry.
        let status = response.status();
        exchange.status = Some(status.as_u16());
        if !status.is_success() {
            return Err(exchange.failed(&format!("HTTP {}", status.as_u16())));
        }
        let bytes = match read_capped(response, ANSWER_MAX_BYTES).await {
            Ok(bytes) => bytes,
            Err(CallError::TooLarge) => return Err(exchange.failed("answer too large")),
            Err(CallError::TimedOut) => return Err(exchange.failed("timeout")),
            Err(_) => return Err(exchange.failed("network error")),
        };
        let Ok(result) = serde_json::from_slice::<T>(&bytes) else {
            return Err(exchange.failed("unparseable answer"));
        };
        let transcript = exchange.transcript(Ok(&result));
        Ok(Answer { result, transcript })
    }
}

/// One call as the transcript and the log tell it.
struct Exchange<'a> {
    endpoint: &'static str,
    reference: &'a str,
    asked: Value,
    tries: u32,
    status: Option<u16>,
}

impl Exchange<'_> {
    fn transcript<T: Serialize>(&self, outcome: Result<&T, &str>) -> Value {
        let mut t = json!({
            "vendor": "http",
            "endpoint": self.endpoint,
            "request": self.asked,
            "tries": self.tries,
            "status": self.status,
        });
        match outcome {
            Ok(result) => t["result"] = serde_json::to_value(result).unwrap_or(Value::Null),
            Err(reason) => t["error"] = reason.into(),
        }
        t
    }

    fn failed(&self, reason: &str) -> VendorFailure {
        tracing::warn!(
            endpoint = self.endpoint,
            reference = self.reference,
            tries = self.tries,
            status = self.status,
            reason,
            "vendor gateway failed"
        );
        VendorFailure {
            reason: reason.to_string(),
            transcript: self.transcript::<()>(Err(reason)),
        }
    }
}

/// An image as the gateway receives it.
fn image(upload: &Upload) -> Value {
    json!({
        "content_type": upload.content_type,
        "data": base64::engine::general_purpose::STANDARD.encode(&upload.bytes),
    })
}

/// The identity without the SSN: only the records check needs it.
fn identity_without_ssn(identity: &IdentityClaim) -> Value {
    let mut value = serde_json::to_value(identity).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("ssn");
    }
    value
}

#[async_trait]
impl DocumentCheck for HttpVendor {
    fn vendor(&self) -> &'static str {
        "http"
    }

    async fn check_document(&self, request: &DocumentRequest) -> Checked<DocumentResult> {
        let wire = json!({
            "reference": request.reference,
            "document_type": request.document_type,
            "front": image(&request.front),
            "back": request.back.as_ref().map(image),
        });
        let asked = json!({
            "reference": request.reference,
            "document_type": request.document_type,
            "front": request.front.summary(),
            "back": request.back.as_ref().map(Upload::summary),
        });
        self.call("/document", &request.reference, wire, asked)
            .await
    }
}

#[async_trait]
impl SelfieCheck for HttpVendor {
    fn vendor(&self) -> &'static str {
        "http"
    }

    async fn check_selfie(&self, request: &SelfieRequest) -> Checked<SelfieResult> {
        let wire = json!({
            "reference": request.reference,
            "portrait": image(&request.portrait),
            "selfie": image(&request.selfie),
        });
        let asked = json!({
            "reference": request.reference,
            "portrait": request.portrait.summary(),
            "selfie": request.selfie.summary(),
        });
        self.call("/selfie", &request.reference, wire, asked).await
    }
}

#[async_trait]
impl RecordsCheck for HttpVendor {
    fn vendor(&self) -> &'static str {
        "http"
    }

    async fn check_records(&self, request: &RecordsRequest) -> Checked<RecordsResult> {
        let wire = json!({
            "reference": request.reference,
            "identity": request.identity,
        });
        let asked = json!({
            "reference": request.reference,
            "identity": identity_for_transcript(&request.identity),
        });
        self.call("/records", &request.reference, wire, asked).await
    }
}

#[async_trait]
impl StateIdCheck for HttpVendor {
    fn vendor(&self) -> &'static str {
        "http"
    }

    async fn check_state_id(&self, request: &StateIdRequest) -> Checked<StateIdResult> {
        let wire = json!({
            "reference": request.reference,
            "document": request.document,
            "identity": identity_without_ssn(&request.identity),
        });
        let asked = wire.clone();
        self.call("/state-id", &request.reference, wire, asked)
            .await
    }
}

#[async_trait]
impl PhoneCheck for HttpVendor {
    fn vendor(&self) -> &'static str {
        "http"
    }

    async fn check_phone(&self, request: &PhoneRequest) -> Checked<PhoneResult> {
        let wire = json!({
            "reference": request.reference,
            "phone": request.phone,
            "identity": identity_without_ssn(&request.identity),
        });
        let asked = wire.clone();
        self.call("/phone", &request.reference, wire, asked).await
    }
}

#[cfg(test)]
mod tests {
    //! Against a fake gateway on 127.0.0.1 that counts the tries it receives.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

    use super::*;
    use crate::proofing::document::DocumentType;
    use crate::proofing::vendors::mock::{sample_address, sample_fields, SAMPLE_BIRTHDATE};

    #[derive(Clone, Copy, Debug)]
    enum Gateway {
        /// A good answer for each endpoint.
        Good,
        /// Answers well, but only after longer than the test timeout.
        Slow,
        /// Sends the status and half an answer, then stalls past the timeout.
        Stalls,
        Garbage,
        Html,
        WrongShape,
        Status(u16),
        /// A valid answer, over the cap, with a Content-Length.
        Oversize,
        /// The same, chunked (no Content-Length).
        OversizeChunked,
    }

    #[derive(Default)]
    struct Seen {
        tries: AtomicUsize,
        /// Path, Authorization header, body.
        requests: Mutex<Vec<(String, Option<String>, Value)>>,
    }

    const SLOWER_THAN_TIMEOUT: Duration = Duration::from_secs(3);

    fn good_answer(path: &str) -> Value {
        match path.trim_start_matches("/gateway") {
            "/document" => json!({
                "authentic": true,
                "result_codes": ["barcode_read"],
                "fields": sample_fields(DocumentType::DriversLicense),
                "mrz": null,
                "a_member_verity_does_not_know": 1,
            }),
            "/selfie" => json!({"face_match": true, "liveness": false}),
            "/records" => json!({"matched": true}),
            "/state-id" => json!({
                "verified": false,
                "jurisdiction_unsupported": false,
                "mismatched": ["expiry"],
            }),
            "/phone" => json!({"matched": false, "reasons": ["not_associated"]}),
            _ => json!({"error": "no such endpoint"}),
        }
    }

    fn oversize_answer() -> String {
        format!(
            r#"{{"matched": true, "reasons": ["{}"]}}"#,
            "x".repeat(ANSWER_MAX_BYTES)
        )
    }

    async fn answer(
        req: HttpRequest,
        body: web::Bytes,
        state: web::Data<(Gateway, Arc<Seen>)>,
    ) -> HttpResponse {
        let (behaviour, seen) = (state.0, state.1.clone());
        seen.tries.fetch_add(1, Ordering::SeqCst);
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let path = req.path().to_string();
        seen.requests
            .lock()
            .unwrap()
            .push((path.clone(), auth, body));
        match behaviour {
            Gateway::Good => HttpResponse::Ok().json(good_answer(&path)),
            Gateway::Slow => {
                tokio::time::sleep(SLOWER_THAN_TIMEOUT).await;
                HttpResponse::Ok().json(good_answer(&path))
            }
            Gateway::Stalls => {
                let chunks = futures_util::stream::unfold(0, |step| async move {
                    match step {
                        0 => Some((Ok::<_, actix_web::Error>(web::Bytes::from("{\"mat")), 1)),
                        1 => {
                            tokio::time::sleep(SLOWER_THAN_TIMEOUT).await;
                            Some((Ok(web::Bytes::from("ched\": true}")), 2))
                        }
                        _ => None,
                    }
                });
                HttpResponse::Ok().streaming(chunks)
            }
            Gateway::Garbage => HttpResponse::Ok().body("\u{1}\u{2}not json at all"),
            Gateway::Html => HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>502 Bad Gateway</body></html>"),
            Gateway::WrongShape => HttpResponse::Ok().json(json!({"ok": true})),
            Gateway::Status(code) => {
                HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                    .json(json!({"matched": true}))
            }
            Gateway::Oversize => HttpResponse::Ok()
                .content_type("application/json")
                .body(oversize_answer()),
            Gateway::OversizeChunked => {
                let answer = oversize_answer().into_bytes();
                let chunks: Vec<Result<web::Bytes, actix_web::Error>> = answer
                    .chunks(16 * 1024)
                    .map(|c| Ok(web::Bytes::copy_from_slice(c)))
                    .collect();
                HttpResponse::Ok().streaming(futures_util::stream::iter(chunks))
            }
        }
    }

    struct Fake {
        base_url: String,
        seen: Arc<Seen>,
        server: actix_web::dev::ServerHandle,
    }

    impl Fake {
        async fn start(behaviour: Gateway) -> Fake {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen = Arc::new(Seen::default());
            let state = web::Data::new((behaviour, seen.clone()));
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .default_service(web::to(answer))
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
            let handle = server.handle();
            actix_web::rt::spawn(server);
            Fake {
                base_url: format!("http://127.0.0.1:{port}/gateway/"),
                seen,
                server: handle,
            }
        }

        fn tries(&self) -> usize {
            self.seen.tries.load(Ordering::SeqCst)
        }

        fn requests(&self) -> Vec<(String, Option<String>, Value)> {
            self.seen.requests.lock().unwrap().clone()
        }

        async fn stop(self) {
            self.server.stop(false).await;
        }
    }

    fn vendor(base_url: &str, api_key: Option<&str>, retries: u32) -> HttpVendor {
        let settings = ProofingSettings {
            http_base_url: Some(base_url.into()),
            http_api_key: api_key.map(String::from),
            http_timeout_secs: 1,
            http_retries: retries,
            ..Default::default()
        };
        let client = crate::net::outbound::operator_client(Duration::from_secs(1)).unwrap();
        HttpVendor::new(&settings, client).unwrap()
    }

    fn identity() -> IdentityClaim {
        IdentityClaim {
            given_name: "Ann".into(),
            middle_name: None,
            family_name: "Lee".into(),
            birthdate: SAMPLE_BIRTHDATE,
            address: sample_address(),
            ssn: "900123456".into(),
        }
    }

    fn records_request() -> RecordsRequest {
        RecordsRequest {
            reference: "attempt-7".into(),
            identity: identity(),
        }
    }

    fn photo(bytes: &[u8]) -> Upload {
        Upload {
            bytes: bytes.to_vec(),
            content_type: "image/jpeg".into(),
        }
    }

    #[actix_web::test]
    async fn each_endpoint_gets_its_json_with_the_bearer_key_and_its_answer_is_parsed() {
        let fake = Fake::start(Gateway::Good).await;
        let v = vendor(&fake.base_url, Some("test-key"), 2);
        let licence = sample_fields(DocumentType::DriversLicense);

        let document = v
            .check_document(&DocumentRequest {
                reference: "attempt-7".into(),
                document_type: DocumentType::DriversLicense,
                front: photo(b"front-bytes"),
                back: Some(photo(b"back-bytes")),
            })
            .await
            .unwrap();
        assert_eq!(
            document.result,
            DocumentResult {
                authentic: true,
                result_codes: vec!["barcode_read".into()],
                fields: Some(licence.clone()),
                mrz: None,
                barcode_text: None,
            }
        );
        let selfie = v
            .check_selfie(&SelfieRequest {
                reference: "attempt-7".into(),
                portrait: photo(b"portrait"),
                selfie: photo(b"selfie"),
            })
            .await
            .unwrap();
        assert_eq!(
            selfie.result,
            SelfieResult {
                face_match: true,
                liveness: false,
                result_codes: vec![],
            }
        );
        let records = v.check_records(&records_request()).await.unwrap();
        assert_eq!(
            records.result,
            RecordsResult {
                matched: true,
                reasons: vec![],
            }
        );
        let state_id = v
            .check_state_id(&StateIdRequest {
                reference: "attempt-7".into(),
                document: licence.clone(),
                identity: identity(),
            })
            .await
            .unwrap();
        assert_eq!(
            state_id.result,
            StateIdResult {
                verified: false,
                jurisdiction_unsupported: false,
                mismatched: vec!["expiry".into()],
            }
        );
        let phone = v
            .check_phone(&PhoneRequest {
                reference: "attempt-7".into(),
                phone: "+12025550100".into(),
                identity: identity(),
            })
            .await
            .unwrap();
        assert_eq!(
            phone.result,
            PhoneResult {
                matched: false,
                reasons: vec!["not_associated".into()],
            }
        );

        let requests = fake.requests();
        let paths: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/gateway/document",
                "/gateway/selfie",
                "/gateway/records",
                "/gateway/state-id",
                "/gateway/phone"
            ]
        );
        assert!(requests
            .iter()
            .all(|r| r.1.as_deref() == Some("Bearer test-key")));
        assert!(requests.iter().all(|r| r.2["reference"] == "attempt-7"));

        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let document_body = &requests[0].2;
        assert_eq!(document_body["document_type"], "driving_permit");
        assert_eq!(
            document_body["front"],
            json!({"content_type": "image/jpeg", "data": b64(b"front-bytes")})
        );
        assert_eq!(document_body["back"]["data"], b64(b"back-bytes"));
        assert_eq!(requests[1].2["selfie"]["data"], b64(b"selfie"));
        assert_eq!(requests[2].2["identity"]["ssn"], "900123456");
        assert_eq!(requests[2].2["identity"]["birthdate"], "1938-10-06");
        assert_eq!(
            requests[3].2["document"],
            serde_json::to_value(&licence).unwrap()
        );
        for (_, _, body) in &requests[3..] {
            assert_eq!(body["identity"]["given_name"], "Ann");
            assert!(body["identity"].get("ssn").is_none(), "{body}");
        }
        assert_eq!(requests[4].2["phone"], "+12025550100");

        // The transcripts: no image bytes, a masked SSN, the status, the tries, the answer.
        let t = &document.transcript;
        assert_eq!(t["vendor"], "http");
        assert_eq!(t["endpoint"], "/document");
        assert_eq!(t["status"], 200);
        assert_eq!(t["tries"], 1);
        assert_eq!(t["request"]["front"]["bytes"], 11);
        assert!(!t.to_string().contains(&b64(b"front-bytes")));
        assert_eq!(t["result"]["authentic"], true);
        assert!(!selfie.transcript.to_string().contains(&b64(b"selfie")));
        let t = records.transcript.to_string();
        assert!(!t.contains("900123456") && t.contains("***-**-3456"), "{t}");
        assert_eq!(records.transcript["result"]["matched"], true);
        fake.stop().await;
    }

    #[actix_web::test]
    async fn without_an_api_key_no_authorization_header_is_sent() {
        let fake = Fake::start(Gateway::Good).await;
        let v = vendor(&fake.base_url, None, 0);
        v.check_records(&records_request()).await.unwrap();
        assert_eq!(fake.requests()[0].1, None);
        fake.stop().await;
    }

    #[actix_web::test]
    async fn a_gateway_slower_than_the_timeout_is_tried_one_plus_retries_times_then_fails() {
        let fake = Fake::start(Gateway::Slow).await;
        let v = vendor(&fake.base_url, None, 2);
        let started = Instant::now();
        let failure = v.check_records(&records_request()).await.unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(failure.reason, "timeout");
        assert_eq!(fake.tries(), 3, "one try and two retries");
        assert_eq!(failure.transcript["tries"], 3);
        assert_eq!(failure.transcript["status"], Value::Null);
        assert_eq!(failure.transcript["error"], "timeout");
        // Three one-second timeouts and two short pauses: not the gateway's three seconds each.
        assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
        fake.stop().await;
    }

    #[actix_web::test]
    async fn a_gateway_that_stalls_mid_answer_times_out_without_a_retry() {
        let fake = Fake::start(Gateway::Stalls).await;
        let v = vendor(&fake.base_url, None, 2);
        let started = Instant::now();
        let failure = v.check_records(&records_request()).await.unwrap_err();
        assert_eq!(failure.reason, "timeout");
        assert_eq!(fake.tries(), 1);
        assert_eq!(failure.transcript["status"], 200);
        assert!(started.elapsed() < SLOWER_THAN_TIMEOUT);
        fake.stop().await;
    }

    #[actix_web::test]
    async fn an_answer_that_is_not_json_of_the_right_shape_fails_after_one_try() {
        for behaviour in [Gateway::Garbage, Gateway::Html, Gateway::WrongShape] {
            let fake = Fake::start(behaviour).await;
            let v = vendor(&fake.base_url, None, 2);
            let failure = v.check_records(&records_request()).await.unwrap_err();
            assert_eq!(failure.reason, "unparseable answer", "{behaviour:?}");
            assert_eq!(fake.tries(), 1, "{behaviour:?}: no retry after an answer");
            assert_eq!(failure.transcript["tries"], 1);
            assert_eq!(failure.transcript["status"], 200);
            fake.stop().await;
        }
    }

    #[actix_web::test]
    async fn an_error_status_fails_after_one_try() {
        for code in [500, 502, 401, 404] {
            let fake = Fake::start(Gateway::Status(code)).await;
            let v = vendor(&fake.base_url, Some("k"), 2);
            let failure = v.check_records(&records_request()).await.unwrap_err();
            assert_eq!(failure.reason, format!("HTTP {code}"));
            assert_eq!(fake.tries(), 1, "HTTP {code}: no retry after an answer");
            assert_eq!(failure.transcript["status"], code);
            fake.stop().await;
        }
    }

    #[actix_web::test]
    async fn an_answer_over_the_cap_fails_with_or_without_a_content_length() {
        for behaviour in [Gateway::Oversize, Gateway::OversizeChunked] {
            let fake = Fake::start(behaviour).await;
            let v = vendor(&fake.base_url, None, 2);
            let failure = v.check_records(&records_request()).await.unwrap_err();
            assert_eq!(failure.reason, "answer too large", "{behaviour:?}");
            assert_eq!(fake.tries(), 1);
            fake.stop().await;
        }
    }

    #[actix_web::test]
    async fn a_refused_connection_is_retried_then_fails() {
        // A port nobody listens on: bound, then released.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let v = vendor(&format!("http://127.0.0.1:{port}"), None, 2);
        let failure = v.check_records(&records_request()).await.unwrap_err();
        assert_eq!(failure.reason, "network error");
        assert_eq!(failure.transcript["tries"], 3);
        assert_eq!(failure.transcript["status"], Value::Null);
        assert!(!failure.transcript.to_string().contains("900123456"));

        let once = vendor(&format!("http://127.0.0.1:{port}"), None, 0);
        let failure = once.check_records(&records_request()).await.unwrap_err();
        assert_eq!(failure.transcript["tries"], 1);
    }

    #[test]
    fn a_bad_base_url_or_api_key_is_refused_at_startup() {
        let client = crate::net::outbound::operator_client(Duration::from_secs(1)).unwrap();
        for (base, key) in [
            (None, None),
            (Some("not a url"), None),
            (Some("ftp://gateway.example"), None),
            (Some("https://gateway.example/?x=1"), None),
            (Some("https://gateway.example"), Some("bad\nkey")),
        ] {
            let settings = ProofingSettings {
                http_base_url: base.map(String::from),
                http_api_key: key.map(String::from),
                ..Default::default()
            };
            assert!(
                HttpVendor::new(&settings, client.clone()).is_err(),
                "{base:?} {key:?}"
            );
        }
    }

    #[test]
    fn build_picks_mock_or_http_per_check() {
        use crate::config::VendorKind;
        use crate::proofing::vendors::build;

        let client = crate::net::outbound::operator_client(Duration::from_secs(1)).unwrap();
        let all_mock = build(&ProofingSettings::default(), client.clone()).unwrap();
        assert_eq!(all_mock.document.vendor(), "mock");
        assert_eq!(all_mock.phone.vendor(), "mock");

        let mixed = ProofingSettings {
            records_vendor: VendorKind::Http,
            phone_vendor: VendorKind::Http,
            http_base_url: Some("https://gateway.example".into()),
            ..Default::default()
        };
        let vendors = build(&mixed, client.clone()).unwrap();
        let names = [
            vendors.document.vendor(),
            vendors.selfie.vendor(),
            vendors.records.vendor(),
            vendors.state_id.vendor(),
            vendors.phone.vendor(),
        ];
        assert_eq!(names, ["mock", "mock", "http", "mock", "http"]);

        let no_url = ProofingSettings {
            selfie_vendor: VendorKind::Http,
            ..Default::default()
        };
        assert!(build(&no_url, client).is_err());
    }
}

//! Verified claims for relying parties (OpenID Connect for Identity Assurance 1.0, with the
//! `verified_claims` schema of OpenID Identity Assurance Schema Definition 1.0): what an RP
//! asked for (`verified_claims` inside the `claims` parameter, or the `verified_claims` scope)
//! and the answer built from a person's counting verification.
//!
//! Pure functions over a [`VerifiedIdentity`]: the OAuth layer decides who may receive what
//! (the client's permission, the person's consent) and passes the names that survive.
//!
//! The rules followed from the final text:
//! - only what was asked is returned, down to the `verification` sub-elements
//!   (`trust_framework` is always there: the schema requires it);
//! - a `value`, `values` or `max_age` requirement on `verification` that the verification
//!   can't meet omits the whole `verified_claims` element, without an error; one on a claim
//!   omits that claim;
//! - claim names Verity doesn't know are ignored;
//! - an element whose claims all end up omitted is omitted too (Verity doesn't tell an RP that
//!   a person is verified without releasing something it was allowed and asked for).

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::proofing::document::{Address, DocumentType};
use crate::proofing::records::{VerifiedIdentity, ASSURANCE_LEVEL, TRUST_FRAMEWORK};

pub const SSN: &str = "social_security_number";

/// The claims Verity can put inside `verified_claims` (`claims_in_verified_claims_supported`),
/// which are also the names a client may be allowed. The SSN only when a client's permission
/// names it.
pub const CLAIM_NAMES: &[&str] = &["given_name", "family_name", "birthdate", "address", SSN];

/// Discovery: `evidence_supported`, `documents_supported`, `documents_check_methods_supported`.
pub const EVIDENCE_SUPPORTED: &[&str] = &["document"];
pub const DOCUMENTS_SUPPORTED: &[&str] = &["driving_permit", "idcard", "passport"];
pub const CHECK_METHODS_SUPPORTED: &[&str] = &["vri", "bvr", "data", "pvr"];

/// The most `verified_claims` objects one member (`id_token` or `userinfo`) may ask for. The
/// `claims` parameter as a whole is bounded to 8 KiB before it gets here.
pub const MAX_ELEMENTS: usize = 8;

/// Consent to verified data is recorded as these pseudo-scopes beside the real scopes, so a
/// standing "yes" to `profile` never covers the verified name.
pub const CONSENT_PREFIX: &str = "verified:";

pub fn consent_scope(name: &str) -> String {
    format!("{CONSENT_PREFIX}{name}")
}

pub fn consent_scopes(names: &[String]) -> Vec<String> {
    names.iter().map(|n| consent_scope(n)).collect()
}

pub fn is_claim_name(name: &str) -> bool {
    CLAIM_NAMES.contains(&name)
}

/// The `verified_claims` member of one target (`id_token` or `userinfo`) of a `claims` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Requested {
    /// Sent as an array: answered with an array.
    #[serde(default)]
    pub array: bool,
    pub elements: Vec<Element>,
}

/// One requested `verified_claims` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Element {
    /// The `verification` request as sent: the sub-elements wanted, with their constraints.
    #[serde(default)]
    pub verification: Map<String, Value>,
    /// Known claim names with their request (`null` or an object), in the order asked.
    #[serde(default)]
    pub claims: Vec<(String, Value)>,
}

impl Requested {
    /// Every claim name any element asks for.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (name, _) in self.elements.iter().flat_map(|e| e.claims.iter()) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }
}

/// Parses the value of `verified_claims` in the `claims` parameter: an object, or an array of
/// objects, each with a `verification` object and a `claims` object.
pub fn parse(value: &Value) -> Result<Requested, &'static str> {
    let (array, items): (bool, Vec<&Value>) = match value {
        Value::Object(_) => (false, vec![value]),
        Value::Array(a) if !a.is_empty() && a.len() <= MAX_ELEMENTS => (true, a.iter().collect()),
        Value::Array(_) => return Err("verified_claims must hold 1 to 8 requests"),
        _ => return Err("verified_claims must be an object or an array of objects"),
    };
    let mut elements = Vec::with_capacity(items.len());
    for item in items {
        let Some(obj) = item.as_object() else {
            return Err("verified_claims must be an object or an array of objects");
        };
        let Some(verification) = obj.get("verification").and_then(Value::as_object) else {
            return Err("each verified_claims request needs a verification object");
        };
        let Some(claims) = obj.get("claims").and_then(Value::as_object) else {
            return Err("each verified_claims request needs a claims object");
        };
        check_verification(verification)?;
        let mut known = Vec::new();
        for (name, spec) in claims {
            if !(spec.is_null() || spec.is_object()) {
                return Err("each requested claim must be null or an object");
            }
            // Unknown names are ignored (OIDC Core §5.5, IDA "unavailable data").
            if is_claim_name(name) {
                known.push((name.clone(), spec.clone()));
            }
        }
        elements.push(Element {
            verification: verification.clone(),
            claims: known,
        });
    }
    Ok(Requested { array, elements })
}

/// Shape checks on a `verification` request: every element is `null` or an object, except
/// `evidence`, a non-empty array of objects; `max_age` is a non-negative integer.
fn check_verification(v: &Map<String, Value>) -> Result<(), &'static str> {
    for (key, spec) in v {
        if key == "evidence" {
            let Some(filters) = spec.as_array().filter(|a| !a.is_empty()) else {
                return Err("verification.evidence must be a non-empty array of objects");
            };
            for f in filters {
                let Some(f) = f.as_object() else {
                    return Err("verification.evidence must be a non-empty array of objects");
                };
                if let Some(cd) = f.get("check_details") {
                    if !(cd.is_null()
                        || cd
                            .as_array()
                            .is_some_and(|a| a.iter().all(Value::is_object)))
                    {
                        return Err("evidence.check_details must be an array of objects");
                    }
                }
                for spec in f.values().filter(|s| s.is_object()) {
                    check_max_age(spec)?;
                }
                if let Some(dd) = f.get("document_details").and_then(Value::as_object) {
                    for spec in dd.values() {
                        check_max_age(spec)?;
                    }
                }
            }
            continue;
        }
        if !(spec.is_null() || spec.is_object()) {
            return Err("each verification element must be null or an object");
        }
        check_max_age(spec)?;
    }
    Ok(())
}

fn check_max_age(spec: &Value) -> Result<(), &'static str> {
    match spec.get("max_age") {
        None => Ok(()),
        Some(m) if m.as_u64().is_some() => Ok(()),
        Some(_) => Err("max_age must be a non-negative integer"),
    }
}

/// What the `verified_claims` scope asks for: every claim the client may receive, with the
/// full verification (trust framework, assurance level, time, the document evidence).
pub fn scope_request() -> Requested {
    let verification = json!({
        "trust_framework": null,
        "assurance_level": null,
        "time": null,
        "evidence": [{
            "type": { "value": "document" },
            "check_details": [{ "check_method": null }],
            "document_details": null
        }]
    });
    Requested {
        array: false,
        elements: vec![Element {
            verification: verification.as_object().cloned().unwrap_or_default(),
            claims: CLAIM_NAMES
                .iter()
                .map(|n| (n.to_string(), Value::Null))
                .collect(),
        }],
    }
}

/// What one grant remembers of its request, so the token, userinfo and refresh endpoints
/// answer as the authorization asked (stored as JSON on the grant).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Remembered {
    /// Verified claims the person allowed this client for this grant (already limited to the
    /// client's permission at the time).
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Requested>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<Requested>,
}

impl Remembered {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.id_token.is_none() && self.userinfo.is_none()
    }
}

/// The answer to a `verified_claims` request from `identity`, releasing only `names`. None:
/// nothing to release (the RP finds no `verified_claims` at all).
pub fn answer(
    req: &Requested,
    identity: &VerifiedIdentity,
    names: &[String],
    now: NaiveDateTime,
) -> Option<Value> {
    let answers: Vec<Value> = req
        .elements
        .iter()
        .filter_map(|e| answer_element(e, identity, names, now))
        .collect();
    match (req.array, answers.len()) {
        (_, 0) => None,
        (true, _) => Some(Value::Array(answers)),
        (false, _) => answers.into_iter().next(),
    }
}

fn answer_element(
    el: &Element,
    identity: &VerifiedIdentity,
    names: &[String],
    now: NaiveDateTime,
) -> Option<Value> {
    let verification = verification(&el.verification, identity, now)?;
    let mut claims = Map::new();
    for (name, spec) in &el.claims {
        if !names.iter().any(|n| n == name) {
            continue;
        }
        let Some(value) = claim_value(identity, name) else {
            continue;
        };
        if let Some(text) = value.as_str() {
            if !meets(spec, text) {
                continue;
            }
        }
        claims.insert(name.clone(), value);
    }
    if claims.is_empty() {
        return None;
    }
    Some(json!({ "verification": verification, "claims": claims }))
}

/// A claim's value from the verification, in OIDC Core §5.1 form.
pub fn claim_value(identity: &VerifiedIdentity, name: &str) -> Option<Value> {
    let text = |s: &str| (!s.trim().is_empty()).then(|| json!(s));
    match name {
        "given_name" => text(&identity.given_name),
        "family_name" => text(&identity.family_name),
        "birthdate" => Some(json!(identity.birthdate.format("%Y-%m-%d").to_string())),
        "address" => address_claim(&identity.address),
        SSN => text(&identity.ssn),
        _ => None,
    }
}

/// OIDC Core §5.1.1's structured `address` claim (empty members left out). None when the
/// address has nothing in it.
pub fn address_claim(address: &Address) -> Option<Value> {
    let mut out = Map::new();
    for (key, value) in [
        ("street_address", address.street_address.trim()),
        ("locality", address.locality.trim()),
        ("region", address.region.trim()),
        ("postal_code", address.postal_code.trim()),
        ("country", address.country.trim()),
    ] {
        if !value.is_empty() {
            out.insert(key.into(), json!(value));
        }
    }
    if out.is_empty() {
        return None;
    }
    out.insert("formatted".into(), json!(address.formatted()));
    Some(Value::Object(out))
}

/// `YYYY-MM-DDThh:mm:ssZ`: RFC 3339 / ISO 8601 with its time zone, as the schema requires.
pub fn timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A `value` / `values` requirement on a string: met when absent.
fn meets(spec: &Value, actual: &str) -> bool {
    let Some(obj) = spec.as_object() else {
        return true;
    };
    if let Some(v) = obj.get("value") {
        if v.as_str() != Some(actual) {
            return false;
        }
    }
    if let Some(vs) = obj.get("values") {
        match vs.as_array() {
            Some(a) if a.iter().any(|x| x.as_str() == Some(actual)) => {}
            _ => return false,
        }
    }
    true
}

/// A `max_age` requirement (seconds since the date or time up to now): met when absent.
fn young_enough(spec: &Value, elapsed_secs: i64) -> bool {
    match spec.get("max_age") {
        None => true,
        Some(m) => m
            .as_u64()
            .is_some_and(|max| elapsed_secs <= i64::try_from(max).unwrap_or(i64::MAX)),
    }
}

/// Whether `key` was asked for, and its request (`null` counts as asked).
fn asked<'a>(req: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Value> {
    match req {
        // `null` for a whole object (e.g. `"document_details": null`): all of it.
        None => Some(&Value::Null),
        Some(m) => m.get(key),
    }
}

fn verification(
    req: &Map<String, Value>,
    identity: &VerifiedIdentity,
    now: NaiveDateTime,
) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    if !meets(
        req.get("trust_framework").unwrap_or(&Value::Null),
        TRUST_FRAMEWORK,
    ) {
        return None;
    }
    out.insert("trust_framework".into(), json!(TRUST_FRAMEWORK));
    if let Some(spec) = req.get("assurance_level") {
        if !meets(spec, ASSURANCE_LEVEL) {
            return None;
        }
        out.insert("assurance_level".into(), json!(ASSURANCE_LEVEL));
    }
    if let Some(spec) = req.get("time") {
        if !young_enough(spec, (now - identity.verified_at).num_seconds()) {
            return None;
        }
        out.insert("time".into(), json!(timestamp(identity.verified_at)));
    }
    // `verification_process` is never released: one reference shared by every RP would let
    // them correlate a person whose `sub` is pairwise.
    if let Some(filters) = req.get("evidence").and_then(Value::as_array) {
        let evidence = filters
            .iter()
            .filter_map(Value::as_object)
            .find_map(|f| document_evidence(f, identity, now))?;
        out.insert("evidence".into(), json!([evidence]));
    }
    Some(out)
}

/// The document evidence shaped by one `evidence` filter; None when the filter doesn't match.
fn document_evidence(
    filter: &Map<String, Value>,
    identity: &VerifiedIdentity,
    now: NaiveDateTime,
) -> Option<Map<String, Value>> {
    if !meets(filter.get("type").unwrap_or(&Value::Null), "document") {
        return None;
    }
    let mut out = Map::new();
    out.insert("type".into(), json!("document"));
    if let Some(templates) = filter.get("check_details") {
        let templates: Vec<&Value> = templates
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let constrained = templates
            .iter()
            .any(|t| t.get("check_method").is_some_and(Value::is_object));
        let methods: Vec<&str> = check_methods(identity)
            .into_iter()
            .filter(|m| {
                templates.is_empty()
                    || templates
                        .iter()
                        .any(|t| meets(t.get("check_method").unwrap_or(&Value::Null), m))
            })
            .collect();
        if methods.is_empty() && constrained {
            return None;
        }
        if !methods.is_empty() {
            out.insert(
                "check_details".into(),
                Value::Array(
                    methods
                        .iter()
                        .map(|m| json!({ "check_method": m }))
                        .collect(),
                ),
            );
        }
    }
    if let Some(spec) = filter.get("document_details") {
        let wanted = spec.as_object();
        let mut details = Map::new();
        let kind = identity.document_type.ida_name();
        if !meets(asked(wanted, "type").unwrap_or(&Value::Null), kind) {
            return None;
        }
        // `type` is required in `document_details`.
        details.insert("type".into(), json!(kind));
        if let Some(issuer_spec) = asked(wanted, "issuer") {
            let issuer = issuer(&identity.document_issuer, identity.document_type);
            let picked: Map<String, Value> = match issuer_spec.as_object() {
                Some(keys) => issuer
                    .into_iter()
                    .filter(|(k, v)| {
                        keys.get(k)
                            .is_some_and(|spec| v.as_str().is_some_and(|s| meets(spec, s)))
                    })
                    .collect(),
                None => issuer,
            };
            if !picked.is_empty() {
                details.insert("issuer".into(), Value::Object(picked));
            }
        }
        if let Some(expiry_spec) = asked(wanted, "date_of_expiry") {
            if let Some(expiry) = identity.document_expiry {
                if !young_enough(expiry_spec, seconds_since_end_of(expiry, now)) {
                    return None;
                }
                details.insert(
                    "date_of_expiry".into(),
                    json!(expiry.format("%Y-%m-%d").to_string()),
                );
            }
        }
        out.insert("document_details".into(), Value::Object(details));
    }
    Some(out)
}

/// IDA's `max_age` on a date counts from the last second of that day.
fn seconds_since_end_of(date: NaiveDate, now: NaiveDateTime) -> i64 {
    let end = date
        .and_hms_opt(23, 59, 59)
        .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN));
    (now - end).num_seconds()
}

/// The checks that passed, as the predefined check methods: the document's images inspected
/// remotely (`vri`), the selfie matched by a biometric system (`bvr`), records checked against
/// an authoritative source (`data`); a trusted referee (an agent on a video call, `referee`)
/// inspected the document (`vri`) and verified the person remotely (`pvr`).
fn check_methods(identity: &VerifiedIdentity) -> Vec<&'static str> {
    // The phone check and the verify-by-mail letter (`letter`) confirm where the person can be
    // reached, not the evidence itself: OIDC4IA's check methods have no entry for either, so
    // neither is claimed here (they show in the audit trail and the operators' view).
    let mut out: Vec<&'static str> = Vec::new();
    for (check, method) in [
        ("document", "vri"),
        ("selfie", "bvr"),
        ("records", "data"),
        ("state_id", "data"),
        ("referee", "vri"),
        ("referee", "pvr"),
    ] {
        if identity.checks.contains_key(check) && !out.contains(&method) {
            out.push(method);
        }
    }
    out
}

/// US states, the District and the territories: a licence's or state ID's issuer.
const US_JURISDICTIONS: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "AS", "GU", "MP", "PR", "VI",
];

/// `document_details.issuer`: a passport's ICAO issuing state as `country_code`; a licence's
/// or state ID's state as `jurisdiction` (with `country_code` USA for a US state).
fn issuer(raw: &str, kind: DocumentType) -> Map<String, Value> {
    let code = raw.trim().to_ascii_uppercase();
    let mut out = Map::new();
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return out;
    }
    match (kind, code.len()) {
        (DocumentType::Passport, 3) => {
            out.insert("country_code".into(), json!(code));
        }
        (_, 2) => {
            if US_JURISDICTIONS.contains(&code.as_str()) {
                out.insert("country_code".into(), json!("USA"));
            }
            out.insert("jurisdiction".into(), json!(code));
        }
        (_, 3) => {
            out.insert("country_code".into(), json!(code));
        }
        _ => {}
    }
    out
}

/// The consent page's lines for verified data about to be released (locale keys), and
/// whether the SSN is among it (shown apart, prominently).
pub fn consent_lines(names: &[String]) -> (Vec<&'static str>, bool) {
    let has = |n: &str| names.iter().any(|x| x == n);
    let mut lines = Vec::new();
    if has("given_name") || has("family_name") {
        lines.push("consent-verified-name");
    }
    if has("birthdate") {
        lines.push("consent-verified-birthdate");
    }
    if has("address") {
        lines.push("consent-verified-address");
    }
    (lines, has(SSN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn person() -> VerifiedIdentity {
        let mut checks = Map::new();
        for c in ["document", "selfie", "records", "phone"] {
            checks.insert(c.into(), json!("mock"));
        }
        VerifiedIdentity {
            verification_id: "v-1".into(),
            verified_at: at("2026-11-30 08:00:00"),
            document_type: DocumentType::DriversLicense,
            document_issuer: "VA".into(),
            document_expiry: NaiveDate::from_ymd_opt(2030, 5, 1),
            given_name: "Ada".into(),
            middle_name: None,
            family_name: "Lovelace".into(),
            birthdate: NaiveDate::from_ymd_opt(1990, 12, 10).unwrap(),
            address: Address {
                street_address: "1 Main St\nApt 2".into(),
                locality: "Richmond".into(),
                region: "VA".into(),
                postal_code: "23219".into(),
                country: "US".into(),
            },
            ssn: "123456789".into(),
            phone: Some("+12015550123".into()),
            checks,
        }
    }

    fn all() -> Vec<String> {
        CLAIM_NAMES.iter().map(|s| s.to_string()).collect()
    }

    fn ask(v: Value) -> Requested {
        parse(&v).expect("parses")
    }

    const NOW: &str = "2026-12-01 08:00:00";

    #[test]
    fn the_answer_holds_only_what_was_asked_with_the_trust_framework_always() {
        let req = ask(json!({
            "verification": { "trust_framework": null },
            "claims": { "given_name": null, "birthdate": null }
        }));
        let out = answer(&req, &person(), &all(), at(NOW)).unwrap();
        assert_eq!(
            out,
            json!({
                "verification": { "trust_framework": "nist_800_63A" },
                "claims": { "given_name": "Ada", "birthdate": "1990-12-10" }
            })
        );
        // Even with an empty verification request, trust_framework is there.
        let req = ask(json!({ "verification": {}, "claims": { "family_name": null } }));
        let out = answer(&req, &person(), &all(), at(NOW)).unwrap();
        assert_eq!(
            out["verification"],
            json!({ "trust_framework": "nist_800_63A" })
        );
    }

    #[test]
    fn the_full_verification_has_level_time_with_zone_and_document_evidence() {
        let out = answer(&scope_request(), &person(), &all(), at(NOW)).unwrap();
        assert_eq!(
            out["verification"],
            json!({
                "trust_framework": "nist_800_63A",
                "assurance_level": "ial2",
                "time": "2026-11-30T08:00:00Z",
                "evidence": [{
                    "type": "document",
                    "check_details": [
                        { "check_method": "vri" },
                        { "check_method": "bvr" },
                        { "check_method": "data" }
                    ],
                    "document_details": {
                        "type": "driving_permit",
                        "issuer": { "country_code": "USA", "jurisdiction": "VA" },
                        "date_of_expiry": "2030-05-01"
                    }
                }]
            })
        );
        assert_eq!(out["claims"]["social_security_number"], "123456789");
        assert_eq!(
            out["claims"]["address"],
            json!({
                "formatted": "1 Main St\nApt 2\nRichmond VA 23219\nUS",
                "street_address": "1 Main St\nApt 2",
                "locality": "Richmond",
                "region": "VA",
                "postal_code": "23219",
                "country": "US"
            })
        );
    }

    #[test]
    fn a_trusted_referee_shows_as_remote_inspection_and_remote_person_verification() {
        let mut p = person();
        p.checks = serde_json::Map::new();
        p.checks.insert("referee".into(), json!("trusted_referee"));
        let out = answer(&scope_request(), &p, &all(), at(NOW)).unwrap();
        assert_eq!(
            out["verification"]["evidence"][0]["check_details"],
            json!([{ "check_method": "vri" }, { "check_method": "pvr" }])
        );
        // Asked for `pvr` only: the referee's verification still answers.
        let req = json!({ "verification": { "trust_framework": null, "evidence": [{
            "type": { "value": "document" },
            "check_details": [{ "check_method": { "value": "pvr" } }] }] },
            "claims": { "given_name": null } });
        let parsed = parse(&req).unwrap();
        let out = answer(&parsed, &p, &all(), at(NOW)).unwrap();
        assert_eq!(
            out["verification"]["evidence"][0]["check_details"],
            json!([{ "check_method": "pvr" }])
        );
        assert!(out["verification"].get("verification_process").is_none());
    }

    #[test]
    fn an_unmet_trust_framework_level_or_max_age_omits_the_element_without_error() {
        let p = person();
        let unmet = [
            json!({ "trust_framework": { "value": "eidas" } }),
            json!({ "trust_framework": { "values": ["de_aml", "eidas"] } }),
            json!({ "assurance_level": { "value": "ial3" } }),
            // Verified a day ago: a max_age of an hour is too small.
            json!({ "time": { "max_age": 3600 } }),
            json!({ "evidence": [{ "type": { "value": "electronic_record" } }] }),
            json!({ "evidence": [{ "type": { "value": "document" },
                                   "document_details": { "type": { "value": "passport" } } }] }),
            json!({ "evidence": [{ "type": { "value": "document" },
                                   "check_details": [{ "check_method": { "value": "pipp" } }] }] }),
        ];
        for verification in unmet {
            let req =
                ask(json!({ "verification": verification, "claims": { "given_name": null } }));
            assert_eq!(answer(&req, &p, &all(), at(NOW)), None, "{verification}");
        }
        // The positive controls: the same shapes with values Verity meets.
        let met = [
            json!({ "trust_framework": { "value": "nist_800_63A" } }),
            json!({ "trust_framework": { "values": ["eidas", "nist_800_63A"] } }),
            json!({ "assurance_level": { "value": "ial2" } }),
            json!({ "time": { "max_age": 86400 } }),
            json!({ "evidence": [{ "type": { "value": "electronic_record" } },
                                 { "type": { "value": "document" } }] }),
            json!({ "evidence": [{ "type": { "value": "document" },
                                   "document_details": { "type": { "values": ["passport", "driving_permit"] } } }] }),
            json!({ "evidence": [{ "type": { "value": "document" },
                                   "check_details": [{ "check_method": { "value": "bvr" } }] }] }),
        ];
        for verification in met {
            let req =
                ask(json!({ "verification": verification, "claims": { "given_name": null } }));
            assert!(
                answer(&req, &p, &all(), at(NOW)).is_some(),
                "{verification}"
            );
        }
    }

    #[test]
    fn only_the_requested_verification_sub_elements_come_back() {
        let req = ask(json!({
            "verification": {
                "trust_framework": null,
                "time": null,
                "verification_process": null,
                "evidence": [{
                    "type": { "value": "document" },
                    "check_details": [{ "check_method": { "value": "vri" } }],
                    "document_details": { "type": null, "issuer": { "jurisdiction": null } }
                }]
            },
            "claims": { "family_name": null }
        }));
        let out = answer(&req, &person(), &all(), at(NOW)).unwrap();
        assert_eq!(
            out["verification"],
            json!({
                "trust_framework": "nist_800_63A",
                "time": "2026-11-30T08:00:00Z",
                "evidence": [{
                    "type": "document",
                    "check_details": [{ "check_method": "vri" }],
                    "document_details": { "type": "driving_permit", "issuer": { "jurisdiction": "VA" } }
                }]
            }),
            "no assurance_level, no expiry, no country_code, no verification_process"
        );
    }

    #[test]
    fn claims_outside_the_released_names_or_unknown_are_left_out() {
        let req = ask(json!({
            "verification": { "trust_framework": null },
            "claims": { "given_name": null, "social_security_number": null, "shoe_size": null }
        }));
        assert_eq!(
            req.names(),
            vec!["given_name", SSN],
            "the unknown name is ignored"
        );
        let names = vec!["given_name".to_string()];
        let out = answer(&req, &person(), &names, at(NOW)).unwrap();
        assert_eq!(out["claims"], json!({ "given_name": "Ada" }));
        // Nothing the client may have: no element at all.
        let req = ask(json!({ "verification": {}, "claims": { "social_security_number": null } }));
        assert_eq!(answer(&req, &person(), &names, at(NOW)), None);
    }

    #[test]
    fn a_value_on_a_claim_omits_only_that_claim() {
        let req = ask(json!({
            "verification": { "trust_framework": null },
            "claims": { "given_name": { "value": "Grace" }, "family_name": { "values": ["Lovelace"] } }
        }));
        let out = answer(&req, &person(), &all(), at(NOW)).unwrap();
        assert_eq!(out["claims"], json!({ "family_name": "Lovelace" }));
    }

    #[test]
    fn an_array_request_is_answered_element_by_element() {
        let req = ask(json!([
            { "verification": { "trust_framework": { "value": "eidas" } }, "claims": { "given_name": null } },
            { "verification": { "trust_framework": null }, "claims": { "birthdate": null } }
        ]));
        let out = answer(&req, &person(), &all(), at(NOW)).unwrap();
        assert_eq!(
            out,
            json!([{ "verification": { "trust_framework": "nist_800_63A" },
                     "claims": { "birthdate": "1990-12-10" } }])
        );
    }

    #[test]
    fn a_max_age_on_the_expiry_counts_from_the_end_of_that_day() {
        let mut p = person();
        p.document_expiry = NaiveDate::from_ymd_opt(2026, 11, 30);
        let req = |max: u64| {
            ask(json!({
                "verification": { "evidence": [{ "type": { "value": "document" },
                    "document_details": { "date_of_expiry": { "max_age": max } } }] },
                "claims": { "given_name": null }
            }))
        };
        // 2026-11-30 23:59:59 to 2026-12-01 08:00:00 is 28801 seconds.
        assert!(answer(&req(28801), &p, &all(), at(NOW)).is_some());
        assert_eq!(answer(&req(28800), &p, &all(), at(NOW)), None);
    }

    #[test]
    fn malformed_requests_are_refused() {
        for bad in [
            json!("all"),
            json!([]),
            json!([1]),
            json!({ "claims": {} }),
            json!({ "verification": {} }),
            json!({ "verification": {}, "claims": { "given_name": true } }),
            json!({ "verification": { "trust_framework": "x" }, "claims": {} }),
            json!({ "verification": { "evidence": {} }, "claims": {} }),
            json!({ "verification": { "time": { "max_age": -1 } }, "claims": {} }),
            json!({ "verification": { "evidence": [{ "check_details": {} }] }, "claims": {} }),
            Value::Array(vec![
                json!({ "verification": {}, "claims": {} });
                MAX_ELEMENTS + 1
            ]),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
        assert!(parse(&json!({ "verification": {}, "claims": {} })).is_ok());
    }

    #[test]
    fn passport_issuer_is_a_country_code() {
        assert_eq!(
            issuer("usa", DocumentType::Passport),
            json!({ "country_code": "USA" })
                .as_object()
                .cloned()
                .unwrap()
        );
        assert_eq!(
            issuer("ON", DocumentType::DriversLicense),
            json!({ "jurisdiction": "ON" })
                .as_object()
                .cloned()
                .unwrap()
        );
    }

    #[test]
    fn the_ssn_gets_its_own_consent_line() {
        let names: Vec<String> = ["family_name", "address", SSN]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            consent_lines(&names),
            (
                vec!["consent-verified-name", "consent-verified-address"],
                true
            )
        );
        assert_eq!(consent_lines(&[]), (vec![], false));
    }

    #[test]
    fn the_remembered_request_survives_json() {
        let r = Remembered {
            names: vec!["given_name".into()],
            id_token: Some(scope_request()),
            userinfo: None,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Remembered>(&text).unwrap(), r);
    }
}

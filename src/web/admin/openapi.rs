//! The OpenAPI 3.1 document of `/admin/api/v1`, generated from the handlers' annotations.
//! Conventions every operation shares (bearer auth, the error responses, the
//! `Idempotency-Key` header on mutations) are added here once, by [`Conventions`].

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::web::admin::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verity management API",
        description = "Operators and support agents manage accounts, clients, keys, audit events, support tickets, service notices, identity proofing, trusted-referee cases and Shared Signals streams. Authenticate with an access token from Verity's own client_credentials grant (an admin client, scope verity:admin or a per-area scope).",
    ),
    nest(
        (path = "/admin/api/v1", api = crate::web::admin::keys::KeysApi),
        (path = "/admin/api/v1", api = crate::web::admin::users::UsersApi),
        (path = "/admin/api/v1", api = crate::web::admin::audit::AuditApi),
        (path = "/admin/api/v1", api = crate::web::admin::clients::ClientsApi),
        (path = "/admin/api/v1", api = crate::web::admin::support::SupportApi),
        (path = "/admin/api/v1", api = crate::web::admin::notices::NoticesApi),
        (path = "/admin/api/v1", api = crate::web::admin::proofing::ProofingApi),
        (path = "/admin/api/v1", api = crate::web::admin::referee::RefereeApi),
        (path = "/admin/api/v1", api = crate::web::admin::ssf::SsfApi),
    ),
    components(schemas(ErrorBody)),
    modifiers(&Conventions),
    tags(
        (name = "users", description = "Accounts, and support-assisted phone changes"),
        (name = "keys", description = "Signing keys"),
        (name = "audit", description = "The audit trail"),
        (name = "clients", description = "Relying parties and agents (admin clients)"),
        (name = "support", description = "Support tickets from the Contact support form"),
        (name = "notices", description = "Service notices emailed to account holders"),
        (name = "proofing", description = "Identity verifications (IAL2), fraud flags, removal of identity data, counts. Personal data is always masked (names as initials, birth year, state and country, phone's last 4; never the SSN, the document number or the vendor transcripts): only an agent on an open referee case sees more. verity:admin:proofing:pii adds the attempts' IP addresses and the letters' print list. Images are never served."),
        (name = "referee", description = "Verification with an agent by video (trusted referee, NIST 800-63A): register agents with a certification expiry, the queue and scheduled calls with wait times, claim a case, see its evidence while it is open (only the claiming agent), record the call's checks with the continuation code the person reads out, decide verified, not_verified or fraud_suspected. The token is the operator's tooling; the acting agent is named by agent_id, checked against the registry. Scope verity:admin:referee only: a general verity:admin token gets 403 (the evidence is personal data). The person in full and the photos are shown once the continuation code was checked."),
        (name = "ssf", description = "Shared Signals streams of every relying party: status, backlog and delivery counts; pause, resume or disable (the receiver gets a stream-updated event and can't undo it); replay failed deliveries"),
    ),
)]
pub struct AdminApi;

/// The errors any operation may answer, with what they mean.
const ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Malformed request or a value out of range; `field` names it",
    ),
    (
        "401",
        "No access token, or one that can't be used (expired, revoked, malformed)",
    ),
    (
        "403",
        "A valid token, but not an admin client's client_credentials token with the needed scope",
    ),
    ("404", "No such resource"),
    (
        "409",
        "Conflicts with the current state, or an Idempotency-Key reused for another request",
    ),
    ("413", "Body larger than 64 KiB"),
    ("415", "Body not sent as application/json"),
    ("429", "A limit was reached; see `retry_after_secs`"),
    ("500", "Server failure (never caused by input)"),
    (
        "503",
        "A service Verity depends on (e.g. the SMS gateway) failed; nothing was done",
    ),
];

struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /token with grant_type=client_credentials, \
                         for a client created with `verity client add --admin`.",
                    ))
                    .build(),
            ),
        );
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ];
            for (op, mutation) in ops {
                if let Some(op) = op.as_mut() {
                    add_conventions(op, mutation);
                }
            }
        }
    }
}

fn add_conventions(op: &mut Operation, mutation: bool) {
    if op.security.is_none() {
        op.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
    for (status, description) in ERRORS {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
    if mutation {
        let key = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Optional. A repeat with the same key and request gets the first answer without \
                 acting again; the same key with another request gets 409.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[ -~]+$")),
            ))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(key.into());
    }
}

/// The document, with this instance's configuration where the schema depends on it: the
/// page-size maximum on every `limit` parameter, the identity checks an agent may name.
pub fn document(settings: &crate::config::Settings) -> String {
    let mut doc = match serde_json::to_value(AdminApi::openapi()) {
        Ok(v) => v,
        Err(_) => return "{}".to_string(),
    };
    let max = settings.support.page_size_max.max(1);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for op in item
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                // `get_mut`, not indexing: indexing would add `"parameters": null`.
                let params = op.get_mut("parameters").and_then(|p| p.as_array_mut());
                for param in params.into_iter().flatten() {
                    if param["name"] == "limit" && param["in"] == "query" {
                        param["schema"]["maximum"] = serde_json::json!(max);
                    }
                }
            }
        }
    }
    let identity_check = "/components/schemas/StartPhoneChange/properties/identity_check";
    if let Some(field) = doc.pointer_mut(identity_check) {
        field["enum"] = serde_json::json!(settings.support.identity_checks);
    }
    doc.to_string()
}

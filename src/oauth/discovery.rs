//! `/.well-known/openid-configuration`, built from openidconnect's metadata type, serialised
//! once and served as bytes.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, AuthenticationContextClass, IssuerUrl, JsonWebKeySetUrl,
    OpTosUrl, ProviderMetadata, RegistrationUrl, ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};

use crate::accounts::sessions::{ACR_AAL1, ACR_AAL2};
use crate::config::SigningAlg;
use crate::oauth::authorize::ACR_IAL2_ALIASES;
use crate::oauth::scopes;
use crate::proofing::claims;

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct VerityMetadata {
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    pub prompt_values_supported: Vec<String>,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub end_session_endpoint: String,
    pub dpop_signing_alg_values_supported: Vec<String>,
    pub pushed_authorization_request_endpoint: String,
    pub require_pushed_authorization_requests: bool,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    /// OpenID Connect for Identity Assurance 1.0 metadata: only while proofing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_frameworks_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents_check_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_in_verified_claims_supported: Option<Vec<String>>,
}
impl AdditionalProviderMetadata for VerityMetadata {}

pub type VerityProviderMetadata = ProviderMetadata<
    VerityMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

fn jws(alg: SigningAlg) -> CoreJwsSigningAlgorithm {
    match alg {
        SigningAlg::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        SigningAlg::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        SigningAlg::EdDSA => CoreJwsSigningAlgorithm::EdDsa,
    }
}

pub fn build(
    settings: &crate::config::Settings,
    algs: &[SigningAlg],
) -> anyhow::Result<bytes::Bytes> {
    let issuer = settings.issuer.as_str();
    let require_par = settings.security.require_par;
    let proofing = settings.proofing.enabled;
    let when_proofing = |list: &[&str]| {
        proofing.then(|| list.iter().map(|s| s.to_string()).collect::<Vec<String>>())
    };
    let mut acr_values = vec![
        AuthenticationContextClass::new(ACR_AAL1.into()),
        AuthenticationContextClass::new(ACR_AAL2.into()),
        AuthenticationContextClass::new("http://idmanagement.gov/ns/assurance/aal/2".into()),
    ];
    acr_values.extend(
        crate::oauth::authorize::ACR_PHISHING_RESISTANT_ALIASES
            .iter()
            .map(|a| AuthenticationContextClass::new(a.to_string())),
    );
    if proofing {
        acr_values.extend(
            ACR_IAL2_ALIASES
                .iter()
                .map(|a| AuthenticationContextClass::new(a.to_string())),
        );
    }
    let url = |path: &str| format!("{issuer}{path}");
    let metadata = VerityProviderMetadata::new(
        IssuerUrl::new(issuer.to_string())?,
        AuthUrl::new(url("/authorize"))?,
        JsonWebKeySetUrl::new(url("/jwks.json"))?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![
            CoreSubjectIdentifierType::Public,
            CoreSubjectIdentifierType::Pairwise,
        ],
        algs.iter().copied().map(jws).collect(),
        VerityMetadata {
            code_challenge_methods_supported: vec!["S256".into()],
            authorization_response_iss_parameter_supported: true,
            prompt_values_supported: vec![
                "none".into(),
                "login".into(),
                "consent".into(),
                "select_account".into(),
            ],
            end_session_endpoint: url("/end-session"),
            dpop_signing_alg_values_supported: vec![
                "ES256".into(),
                "RS256".into(),
                "PS256".into(),
                "EdDSA".into(),
            ],
            pushed_authorization_request_endpoint: url("/par"),
            require_pushed_authorization_requests: require_par,
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            revocation_endpoint: url("/revoke"),
            introspection_endpoint: url("/introspect"),
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic".into(),
                "client_secret_post".into(),
                "none".into(),
            ],
            introspection_endpoint_auth_methods_supported: vec![
                "client_secret_basic".into(),
                "client_secret_post".into(),
            ],
            trust_frameworks_supported: when_proofing(&[crate::proofing::records::TRUST_FRAMEWORK]),
            evidence_supported: when_proofing(claims::EVIDENCE_SUPPORTED),
            documents_supported: when_proofing(claims::DOCUMENTS_SUPPORTED),
            documents_check_methods_supported: when_proofing(claims::CHECK_METHODS_SUPPORTED),
            claims_in_verified_claims_supported: when_proofing(claims::CLAIM_NAMES),
        },
    )
    .set_token_endpoint(Some(TokenUrl::new(url("/token"))?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(url("/userinfo"))?))
    .set_scopes_supported(Some(
        scopes::supported(proofing)
            .iter()
            .map(|s| Scope::new(s.to_string()))
            .collect(),
    ))
    .set_response_modes_supported(Some(vec![CoreResponseMode::Query]))
    .set_grant_types_supported(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
        CoreGrantType::ClientCredentials,
    ]))
    .set_acr_values_supported(Some(acr_values))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
        CoreClientAuthMethod::None,
        CoreClientAuthMethod::PrivateKeyJwt,
    ]))
    .set_claims_supported(Some(
        scopes::claims_supported(proofing)
            .into_iter()
            .map(|c| CoreClaimName::new(c.to_string()))
            .collect(),
    ))
    .set_token_endpoint_auth_signing_alg_values_supported(Some(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ]))
    .set_claims_parameter_supported(Some(true))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false))
    .set_op_tos_uri(Some(OpTosUrl::new(url("/terms"))?))
    .set_registration_endpoint(
        settings
            .dynamic_registration
            .then(|| RegistrationUrl::new(url("/register")))
            .transpose()?,
    );
    Ok(serde_json::to_vec(&metadata)?.into())
}

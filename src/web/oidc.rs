//! Relying-party endpoints: authorize, consent, token, userinfo, discovery, JWKS.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::error::{AppError, PageResult};
use crate::i18n::Lang;
use crate::oauth::authorize::{self, AuthorizeOutcome, AuthorizeParams};
use crate::oauth::token::{self, ClientAuth, TokenError, TokenForm};
use crate::oauth::userinfo::{self, UserinfoError};
use crate::web::auth::{see_other, AuthzQuery};
use crate::web::browser::{
    cleared_restart_cookie, cleared_ui_locales_cookie, restart_cookie, ui_locales_cookie, Browser,
};
use crate::web::common::enc;
use crate::web::guards::CsrfForm;
use crate::web::pages::*;
use crate::Ctx;

/// The relying party's `ui_locales` decide this sign-in's language; a request without them
/// doesn't inherit an earlier one's.
fn with_ui_lang(ctx: &Ctx, mut res: HttpResponse, ui_lang: Option<Lang>) -> HttpResponse {
    let cookie = match ui_lang {
        Some(lang) => ui_locales_cookie(&ctx.settings, lang),
        None => cleared_ui_locales_cookie(&ctx.settings),
    };
    // Failing to add a cookie only means the page shows in the person's usual language.
    let _ = res.add_cookie(&cookie);
    res
}

fn outcome_response(ctx: &Ctx, browser: &Browser, outcome: AuthorizeOutcome) -> PageResult {
    match outcome {
        AuthorizeOutcome::ErrorPage { message_key } => render_status(
            &ErrorPage {
                layout: browser.layout_for("authorize-error-title"),
                heading: browser.t("authorize-error-heading"),
                message: browser.t(message_key),
            },
            StatusCode::BAD_REQUEST,
        ),
        // Back to the relying party: this sign-in's language, and its way back, end with it.
        AuthorizeOutcome::Redirect(url) => Ok(with_ui_lang(
            ctx,
            HttpResponse::Found()
                .insert_header((header::LOCATION, url))
                .cookie(cleared_restart_cookie(&ctx.settings))
                .finish(),
            None,
        )),
        // A request lost before it was answered: the sign-in page says what happened and
        // offers the way back to the app. One that was answered has no way back left (the
        // answer cleared it): it is over.
        AuthorizeOutcome::Expired if browser.has_restart => Ok(see_other("/login?expired=1")),
        AuthorizeOutcome::Expired => render_status(
            &ErrorPage {
                layout: browser.layout_for("authorize-error-title"),
                heading: browser.t("authorize-error-heading"),
                message: browser.t("authorize-expired"),
            },
            StatusCode::BAD_REQUEST,
        ),
        AuthorizeOutcome::SignIn {
            pending_id,
            ui_lang,
            ..
        } => Ok(with_ui_lang(
            ctx,
            see_other(&format!("/login?authz={}", enc(&pending_id))),
            ui_lang,
        )),
        AuthorizeOutcome::Consent {
            pending_id,
            ui_lang,
        } => Ok(with_ui_lang(
            ctx,
            see_other(&format!("/consent?authz={}", enc(&pending_id))),
            ui_lang,
        )),
        // The identity-verification pages come back through /authorize/continue?authz=….
        AuthorizeOutcome::VerifyIdentity {
            pending_id,
            ui_lang,
        } => Ok(with_ui_lang(
            ctx,
            see_other(&format!("/verify?authz={}", enc(&pending_id))),
            ui_lang,
        )),
        AuthorizeOutcome::UnlockIdentity {
            pending_id,
            ui_lang,
        } => Ok(with_ui_lang(
            ctx,
            see_other(&format!("/verify/unlock?authz={}", enc(&pending_id))),
            ui_lang,
        )),
    }
}

pub async fn authorize_get(ctx: web::Data<Ctx>, browser: Browser, req: HttpRequest) -> PageResult {
    authorize_request(&ctx, &browser, req.query_string().as_bytes()).await
}

/// OIDC Core §3.1.2.1: the authorization endpoint accepts POST as well as GET.
pub async fn authorize_post(ctx: web::Data<Ctx>, browser: Browser, body: web::Bytes) -> PageResult {
    authorize_request(&ctx, &browser, &body).await
}

/// A new authorization request (`request`: its form-encoded parameters). One that passed the
/// checks and waits for the person is also kept in the browser, sealed, as the way back to the
/// app should the sign-in's state be lost.
async fn authorize_request(ctx: &Ctx, browser: &Browser, request: &[u8]) -> PageResult {
    let params = AuthorizeParams::from_pairs(url::form_urlencoded::parse(request).into_owned());
    let outcome = authorize::start(ctx, params, &browser.id, browser.session.as_ref()).await?;
    let way_back = crate::oauth::restart::way_back(ctx, &browser.id, request, &outcome);
    let mut res = outcome_response(ctx, browser, outcome)?;
    if let Some(sealed) = way_back {
        let cookie = match sealed {
            Some(sealed) => restart_cookie(&ctx.settings, &sealed),
            // A request that can't be kept mustn't leave an older one as "the way back".
            None => cleared_restart_cookie(&ctx.settings),
        };
        // Failing to add it only loses the way back after a lost sign-in.
        let _ = res.add_cookie(&cookie);
    }
    Ok(res)
}

pub async fn authorize_continue(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<AuthzQuery>,
) -> PageResult {
    let outcome = authorize::resume(&ctx, &q.authz, &browser.id, browser.session.as_ref()).await?;
    outcome_response(&ctx, &browser, outcome)
}

pub async fn consent_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<AuthzQuery>,
) -> PageResult {
    let authz = q.into_inner().authz;
    let Some(pending) = authorize::load_pending(&ctx, &authz, &browser.id).await? else {
        return outcome_response(
            &ctx,
            &browser,
            authorize::resume(&ctx, &authz, &browser.id, None).await?,
        );
    };
    let Some(session) = &browser.session else {
        return Ok(see_other(&format!("/login?authz={}", enc(&authz))));
    };
    let items = authorize::consent_items(&ctx, &pending).await?;
    render(&ConsentPage {
        layout: browser.layout_for("consent-title"),
        client_name: pending.client_name,
        items: items.scopes.into_iter().map(|key| browser.t(key)).collect(),
        verified_items: items
            .verified
            .into_iter()
            .map(|key| browser.t(key))
            .collect(),
        shares_ssn: items.ssn,
        authz,
        email: session.email.clone(),
    })
}

#[derive(Deserialize)]
pub struct ConsentSubmit {
    #[serde(default)]
    authz: String,
    #[serde(default)]
    decision: String,
}

pub async fn consent_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<ConsentSubmit>,
) -> PageResult {
    let form = form.into_inner();
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(AppError::refused("consent-choose")),
    };
    let outcome = authorize::consent_decision(
        &ctx,
        &form.authz,
        &browser.id,
        browser.session.as_ref(),
        allow,
    )
    .await?;
    outcome_response(&ctx, &browser, outcome)
}

fn token_error_response(e: TokenError) -> HttpResponse {
    let mut res =
        HttpResponse::build(StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST));
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if e.basic_challenge {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"verity\""));
    }
    res.json(serde_json::json!({ "error": e.error, "error_description": e.description }))
}

/// Reads a form-encoded client request (token, revocation, introspection) and how the client
/// authenticated: HTTP Basic, `client_secret_post`, or `client_id` alone (public clients).
fn client_request(req: &HttpRequest, body: &[u8]) -> Result<(ClientAuth, TokenForm), TokenError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(TokenError {
            error: "invalid_request",
            description: "the body must be application/x-www-form-urlencoded".into(),
            status: 400,
            basic_challenge: false,
        });
    }
    let form = TokenForm::from_pairs(url::form_urlencoded::parse(body).into_owned());
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| token::parse_basic(v).ok_or(()));
    let auth = match (basic, &form.client_id, &form.client_secret) {
        (Some(Err(())), _, _) => {
            return Err(TokenError {
                error: "invalid_client",
                description: "the Authorization header is not valid HTTP Basic".into(),
                status: 401,
                basic_challenge: true,
            })
        }
        (Some(Ok(_)), _, Some(_)) => {
            return Err(TokenError {
                error: "invalid_request",
                description: "use one client authentication method, not two".into(),
                status: 400,
                basic_challenge: false,
            })
        }
        (Some(Ok((id, secret))), body_id, None) => {
            if body_id.as_ref().is_some_and(|b| *b != id) {
                return Err(TokenError {
                    error: "invalid_request",
                    description: "client_id in the body differs from the Authorization header"
                        .into(),
                    status: 400,
                    basic_challenge: false,
                });
            }
            ClientAuth::Basic {
                client_id: id,
                secret,
            }
        }
        (None, Some(id), Some(secret)) => ClientAuth::Post {
            client_id: id.clone(),
            secret: secret.clone(),
        },
        (None, Some(id), None) => ClientAuth::None {
            client_id: id.clone(),
        },
        (None, None, _) => ClientAuth::Missing,
    };
    if let Some(kind) = &form.client_assertion_type {
        if kind != crate::oauth::client_assertion::JWT_BEARER
            || !matches!(auth, ClientAuth::Missing | ClientAuth::None { .. })
        {
            return Err(TokenError {
                error: "invalid_client",
                description:
                    "unsupported client_assertion_type, or mixed with another authentication method"
                        .into(),
                status: 401,
                basic_challenge: false,
            });
        }
        let assertion = form.client_assertion.clone().unwrap_or_default();
        let client_id = form
            .client_id
            .clone()
            .or_else(|| crate::oauth::client_assertion::claimed_client(&assertion))
            .unwrap_or_default();
        return Ok((
            ClientAuth::Assertion {
                client_id,
                assertion,
            },
            form,
        ));
    }
    Ok((auth, form))
}

pub async fn token(ctx: web::Data<Ctx>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (auth, mut form) = match client_request(&req, &body) {
        Ok(r) => r,
        Err(e) => return token_error_response(e),
    };
    let proofs: Vec<&str> = req
        .headers()
        .get_all("dpop")
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !proofs.is_empty() {
        if proofs.len() > 1 {
            return token_error_response(TokenError::new(
                "invalid_dpop_proof",
                "send exactly one DPoP proof",
            ));
        }
        let url = format!("{}/token", ctx.settings.issuer);
        match crate::oauth::dpop::verify_proof(&ctx, proofs[0], "POST", &url, None).await {
            Ok(Ok(jkt)) => form.dpop_jkt = Some(jkt),
            Ok(Err(crate::oauth::dpop::DpopError::Invalid(why))) => {
                return token_error_response(TokenError::new("invalid_dpop_proof", why))
            }
            Ok(Err(crate::oauth::dpop::DpopError::UseNonce(nonce))) => {
                let mut res = token_error_response(TokenError::new(
                    "use_dpop_nonce",
                    "send the proof again with this nonce",
                ));
                if let Ok(v) = header::HeaderValue::from_str(&nonce) {
                    res.headers_mut()
                        .insert(header::HeaderName::from_static("dpop-nonce"), v);
                }
                return res;
            }
            Err(e) => return token_error_response(token::internal(e)),
        }
    }
    match token::exchange(&ctx, auth, form).await {
        Ok(response) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(response),
        Err(e) => token_error_response(e),
    }
}

pub async fn userinfo(ctx: web::Data<Ctx>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme, token) = authorization.split_once(' ').unwrap_or(("", ""));
    let dpop_scheme = scheme.eq_ignore_ascii_case("dpop");
    let proofs: Vec<&str> = req
        .headers()
        .get_all("dpop")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let presented = (!token.trim().is_empty()
        && (dpop_scheme || scheme.eq_ignore_ascii_case("bearer")))
    .then(|| {
        userinfo::Presented {
            token: token.trim(),
            dpop_scheme,
            // More than one proof is as good as none (RFC 9449 §4.3).
            proof: if proofs.len() == 1 {
                proofs.first().copied()
            } else {
                None
            },
            method: req.method().as_str(),
        }
    });
    let challenge = |error: &str, why: &str| {
        let scheme = if dpop_scheme { "DPoP" } else { "Bearer" };
        format!("{scheme} realm=\"verity\", error=\"{error}\", error_description=\"{why}\"")
    };
    match userinfo::userinfo(&ctx, presented).await? {
        Ok(claims) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(claims)),
        Err(UserinfoError::MissingToken) => Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"verity\", DPoP algs=\"ES256 RS256 PS256 EdDSA\""))
            .json(serde_json::json!({ "error": "invalid_request", "error_description": "an access token is required" }))),
        Err(UserinfoError::InvalidToken(why)) => Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, challenge("invalid_token", why)))
            .json(serde_json::json!({ "error": "invalid_token", "error_description": why }))),
        Err(UserinfoError::InvalidDpopProof(why)) => Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, format!("DPoP error=\"invalid_dpop_proof\", error_description=\"{why}\"")))
            .json(serde_json::json!({ "error": "invalid_dpop_proof", "error_description": why }))),
        Err(UserinfoError::UseDpopNonce(nonce)) => Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "DPoP error=\"use_dpop_nonce\""))
            .insert_header(("DPoP-Nonce", nonce))
            .json(serde_json::json!({ "error": "use_dpop_nonce", "error_description": "send the proof again with this nonce" }))),
    }
}

pub async fn discovery(ctx: web::Data<Ctx>) -> HttpResponse {
    let doc = ctx
        .discovery
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(doc)
}

pub async fn jwks(ctx: web::Data<Ctx>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(ctx.keys.ring().jwks_json.clone())
}

fn no_store_json(value: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(value)
}

/// RFC 7009.
pub async fn revoke(ctx: web::Data<Ctx>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (auth, form) = match client_request(&req, &body) {
        Ok(r) => r,
        Err(e) => return token_error_response(e),
    };
    let client = match token::authenticate_client(&ctx, &auth).await {
        Ok(c) => c,
        Err(e) => return token_error_response(e),
    };
    match crate::oauth::revocation::revoke(&ctx, &client, form.token.as_deref().unwrap_or("")).await
    {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) => token_error_response(e),
    }
}

/// RFC 7662.
pub async fn introspect(ctx: web::Data<Ctx>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (auth, form) = match client_request(&req, &body) {
        Ok(r) => r,
        Err(e) => return token_error_response(e),
    };
    let client = match token::authenticate_client(&ctx, &auth).await {
        Ok(c) if !c.public => c,
        Ok(_) => {
            return token_error_response(TokenError {
                error: "invalid_client",
                description: "introspection needs an authenticated (confidential) client".into(),
                status: 401,
                basic_challenge: false,
            })
        }
        Err(e) => return token_error_response(e),
    };
    match crate::oauth::revocation::introspect(&ctx, &client, form.token.as_deref().unwrap_or(""))
        .await
    {
        Ok(v) => no_store_json(&v),
        Err(e) => token_error_response(e),
    }
}

/// RFC 9126: pushed authorization requests.
pub async fn par(ctx: web::Data<Ctx>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (auth, _) = match client_request(&req, &body) {
        Ok(r) => r,
        Err(e) => return token_error_response(e),
    };
    let client = match token::authenticate_client(&ctx, &auth).await {
        Ok(c) => c,
        Err(e) => return token_error_response(e),
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .into_owned()
        .filter(|(k, _)| {
            k != "client_secret" && k != "client_assertion" && k != "client_assertion_type"
        })
        .collect();
    match crate::oauth::authorize::push(&ctx, &client, pairs).await {
        Ok(Ok((request_uri, expires_in))) => HttpResponse::Created()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "request_uri": request_uri, "expires_in": expires_in })),
        Ok(Err((error, description))) => token_error_response(TokenError::new(error, description)),
        Err(e) => token_error_response(token::internal(e)),
    }
}

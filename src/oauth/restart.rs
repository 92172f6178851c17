//! The way back to the app when a sign-in's state is lost (the store restarted under it, or it
//! ran out of time). The authorization request as the relying party sent it is kept in the
//! person's own browser, under a MAC, from the moment it passed the checks at /authorize.
//! Starting again sends it through /authorize once more, so it is checked again like any new
//! request. The MAC covers the browser's id too, so a sealed request works only in the browser
//! it was made for: a cookie copied from another browser (or planted by a sibling site) is
//! ignored.

use crate::crypto;
use crate::oauth::authorize::AuthorizeOutcome;
use crate::Ctx;

/// Longer requests (large request objects) aren't kept: a cookie must stay small.
const MAX_REQUEST_BYTES: usize = 2048;

const PURPOSE: &str = "verity/sign-in-restart/v1";

/// The sealed request for a cookie, or None when it can't be restarted from the browser: too
/// long, or a pushed request (`request_uri`), whose parameters lived only on the server.
pub fn seal(ctx: &Ctx, browser_id: &str, request: &str) -> Option<String> {
    if request.is_empty() || request.len() > MAX_REQUEST_BYTES {
        return None;
    }
    let pushed = url::form_urlencoded::parse(request.as_bytes()).any(|(k, _)| k == "request_uri");
    if pushed {
        return None;
    }
    let key = ctx.master.derive(PURPOSE);
    Some(format!(
        "{}.{}",
        crypto::b64url(request.as_bytes()),
        crypto::mac(&key, &signed(browser_id, request.as_bytes()))
    ))
}

/// For a new authorization request (`request`: its form-encoded parameters) and its outcome:
/// None when the browser's way back stays as it is (the request was refused, or answered at
/// once); Some(sealed) when the request now waits for the person, with the sealed request to
/// keep, or Some(None) when it can't be kept and an older one must not stand in for it.
pub fn way_back(
    ctx: &Ctx,
    browser_id: &str,
    request: &[u8],
    outcome: &AuthorizeOutcome,
) -> Option<Option<String>> {
    let waits = matches!(
        outcome,
        AuthorizeOutcome::SignIn { .. }
            | AuthorizeOutcome::Consent { .. }
            | AuthorizeOutcome::VerifyIdentity { .. }
            | AuthorizeOutcome::UnlockIdentity { .. }
    );
    waits.then(|| {
        std::str::from_utf8(request)
            .ok()
            .and_then(|r| seal(ctx, browser_id, r))
    })
}

/// What the MAC covers: the browser, then the request (a browser id never holds a newline).
fn signed(browser_id: &str, request: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(browser_id.len() + 1 + request.len());
    data.extend_from_slice(browser_id.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(request);
    data
}

/// A sign-in that was interrupted, and how to start it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    /// The app the person was signing in to.
    pub client_name: String,
    /// `/authorize?…`: the same request again.
    pub restart: String,
}

/// Opens a sealed request. Anything altered, or for an app that is no longer registered, is
/// None.
pub async fn open(
    ctx: &Ctx,
    browser_id: &str,
    sealed: &str,
) -> anyhow::Result<Option<Interrupted>> {
    let Some((body, tag)) = sealed.split_once('.') else {
        return Ok(None);
    };
    let Some(request) = crypto::b64url_decode(body) else {
        return Ok(None);
    };
    if request.len() > MAX_REQUEST_BYTES
        || !crypto::mac_verify(
            &ctx.master.derive(PURPOSE),
            &signed(browser_id, &request),
            tag,
        )
    {
        return Ok(None);
    }
    let Ok(request) = String::from_utf8(request) else {
        return Ok(None);
    };
    let Some(client_id) = url::form_urlencoded::parse(request.as_bytes())
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned())
    else {
        return Ok(None);
    };
    Ok(ctx
        .clients
        .get(&client_id)
        .await?
        .map(|client| Interrupted {
            client_name: client.name.clone(),
            restart: format!("/authorize?{request}"),
        }))
}

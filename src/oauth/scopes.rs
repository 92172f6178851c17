//! The scopes Verity understands, what each releases, and how a person reads them.

pub const SUPPORTED: &[&str] = &["openid", "profile", "email", "phone", "offline_access"];

/// Scopes served only while identity proofing is on: `address` (the verified address) and
/// `verified_claims` (every verified claim the client may receive, at userinfo). A client may
/// request them only as its verified-claims permission allows
/// ([`crate::oauth::clients::Client::effective_scopes`]).
pub const PROOFING_SCOPES: &[&str] = &["address", "verified_claims"];

/// Every scope Verity understands now.
pub fn supported(proofing_enabled: bool) -> Vec<&'static str> {
    let mut out = SUPPORTED.to_vec();
    if proofing_enabled {
        out.extend_from_slice(PROOFING_SCOPES);
    }
    out
}

/// A scope about a person (OIDC's), never one a client_credentials token may carry.
pub fn is_person_scope(scope: &str) -> bool {
    SUPPORTED.contains(&scope) || PROOFING_SCOPES.contains(&scope)
}

/// What the app will receive, in plain words: the locale key of the scope's description
/// (`locales/*/oauth.ftl`), for the consent page and anywhere scopes are shown to a person.
pub fn description_key(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("scope-openid"),
        "profile" => Some("scope-profile"),
        "email" => Some("scope-email"),
        "phone" => Some("scope-phone"),
        "offline_access" => Some("scope-offline-access"),
        _ => None,
    }
}

pub fn claims_supported(proofing_enabled: bool) -> Vec<&'static str> {
    let mut out = vec![
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "sid",
        "at_hash",
        "name",
        "given_name",
        "family_name",
        "email",
        "email_verified",
        "phone_number",
        "phone_number_verified",
    ];
    if proofing_enabled {
        // Served only from a verification.
        out.extend_from_slice(&["birthdate", "address", "verified_claims"]);
    }
    out
}

pub fn parse(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub fn covers(granted: &[String], requested: &[String]) -> bool {
    requested.iter().all(|r| granted.contains(r))
}

/// The scope that releases each claim about a person (OIDC Core §5.4).
pub const CLAIM_SCOPES: &[(&str, &str)] = &[
    ("name", "profile"),
    ("given_name", "profile"),
    ("family_name", "profile"),
    ("updated_at", "profile"),
    ("email", "email"),
    ("email_verified", "email"),
    ("phone_number", "phone"),
    ("phone_number_verified", "phone"),
    // Only ever from the person's verification (there is no unverified copy), `birthdate`
    // only under IAL2: see `crate::oauth::userinfo::person_claims`.
    ("birthdate", "profile"),
    ("address", "address"),
];

/// The scope a person claim needs; None for names Verity doesn't release.
pub fn scope_of_claim(claim: &str) -> Option<&'static str> {
    CLAIM_SCOPES
        .iter()
        .find(|(c, _)| *c == claim)
        .map(|(_, s)| *s)
}

/// Every person claim, for a request that asks for all the scopes allow (userinfo).
pub fn all_person_claims() -> Vec<String> {
    CLAIM_SCOPES.iter().map(|(c, _)| c.to_string()).collect()
}

/// The one rule for releasing a claim about a person, in the ID token and at userinfo: it
/// was requested (by scope or by name in the `claims` parameter), the client may have the
/// scope that releases it, and the person granted that scope.
pub fn releasable_claims(
    client_allowed: &[String],
    granted: &[String],
    requested: &[String],
) -> Vec<&'static str> {
    let has = |set: &[String], scope: &str| set.iter().any(|s| s == scope);
    CLAIM_SCOPES
        .iter()
        .filter(|(claim, scope)| {
            requested.iter().any(|r| r == claim)
                && has(client_allowed, scope)
                && has(granted, scope)
        })
        .map(|(claim, _)| *claim)
        .collect()
}

/// What the consent page lists for scopes about to be granted (locale keys): one line per
/// scope that releases something, so the page says exactly what [`releasable_claims`] can let
/// out. The proofing scopes have no line of their own: what they release is verified data,
/// listed item by item ([`crate::proofing::claims::consent_lines`]); under IAL2 neither has
/// `profile` (its name is the verified one).
pub fn consent_items(
    client_allowed: &[String],
    to_grant: &[String],
    ial2: bool,
) -> Vec<&'static str> {
    to_grant
        .iter()
        .filter(|s| client_allowed.contains(s))
        .filter(|s| !(ial2 && s.as_str() == "profile"))
        .filter_map(|s| description_key(s))
        .collect()
}

/// The verified claims the plain claims of a request would carry: with IAL2 the profile's
/// name and `birthdate` come from the verification (Login.gov's behaviour); `address` always
/// does (there is no unverified address). `released` are the plain claims
/// [`releasable_claims`] lets out.
pub fn verified_sources(released: &[&str], ial2: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    };
    for claim in released {
        match *claim {
            "name" if ial2 => {
                add("given_name");
                add("family_name");
            }
            "given_name" | "family_name" | "birthdate" if ial2 => add(claim),
            "address" => add(claim),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_claim_needs_the_client_allowance_and_the_grant() {
        let asked = v(&["email", "phone_number", "name", "sub", "made_up"]);
        assert_eq!(
            releasable_claims(&v(&["openid"]), &v(&["openid"]), &asked),
            Vec::<&str>::new()
        );
        // Granted once, no longer allowed: nothing.
        assert!(releasable_claims(&v(&["openid"]), &v(&["openid", "email"]), &asked).is_empty());
        // Allowed, not granted: nothing.
        assert!(releasable_claims(&v(&["openid", "email"]), &v(&["openid"]), &asked).is_empty());
        assert_eq!(
            releasable_claims(
                &v(&["openid", "email", "phone"]),
                &v(&["openid", "email"]),
                &asked
            ),
            vec!["email"]
        );
    }
}

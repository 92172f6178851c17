//! The scopes Verity understands, what each releases, and how a person reads them.

pub const SUPPORTED: &[&str] = &["openid", "profile", "email", "phone", "offline_access"];

/// Consent-page wording: what the app will receive, in plain words.
pub fn describe(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("A stable identifier for your account, so the app recognises you"),
        "profile" => Some("Your name"),
        "email" => Some("Your email address"),
        "phone" => Some("Your phone number"),
        "offline_access" => {
            Some("Access to this information while you're not using the app, until you revoke it")
        }
        _ => None,
    }
}

pub fn claims_supported() -> Vec<&'static str> {
    vec![
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
    ]
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

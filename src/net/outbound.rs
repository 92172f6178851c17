//! Every outgoing HTTP request Verity makes goes through here: one rustls configuration on
//! aws-lc-rs with the Mozilla roots (webpki-roots), timeouts, no redirects, capped answers.
//!
//! Two clients, built once and held in [`crate::Ctx`]:
//!
//! - **to relying parties** (back-channel logout, `jwks_uri`): URLs a client registered. In
//!   production they must be https and reach only public addresses: an IP literal is checked
//!   before the request, a name after DNS resolution by [`PublicOnlyResolver`], so a name that
//!   resolves (or rebinds) to loopback, private, link-local, unique-local or other
//!   special-purpose addresses gets no connection. No proxy is used, so the check can't be
//!   side-stepped. Dev mode allows http and any address (local test RPs).
//! - **to the operator** (the SMS gateway): a URL from Verity's own configuration, so no
//!   address filter.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};

use crate::config::{RunMode, Settings};

/// Why a server-side URL can't be used. Says nothing of the URL itself, so it can go into an
/// OAuth error description as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    NotAbsolute,
    Fragment,
    NotHttps,
    NotPublic,
}

impl UrlProblem {
    pub fn describe(self) -> &'static str {
        match self {
            UrlProblem::NotAbsolute => "is not an absolute http(s) URL",
            UrlProblem::Fragment => "must not contain a fragment",
            UrlProblem::NotHttps => "must use https",
            UrlProblem::NotPublic => {
                "must name a public host (not loopback, private, link-local or otherwise reserved)"
            }
        }
    }
}

impl std::fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl std::error::Error for UrlProblem {}

/// Whether the relying-party client may reach inside: dev mode only.
fn reaches_inside(settings: &Settings) -> bool {
    settings.env == RunMode::Dev
}

/// The rule for a URL Verity's server calls (back-channel logout, `jwks_uri`), at
/// registration and again before each request: absolute http(s), no fragment; in production
/// https, and not a loopback name or a non-public IP literal. Names are checked again after
/// resolution, at connect time.
pub fn check_server_url(settings: &Settings, uri: &str) -> Result<url::Url, UrlProblem> {
    check(settings, uri, true)
}

/// `local_names`: also refuse names that are loopback by definition (`localhost`). Before a
/// request they are left to the resolver, which refuses them after resolution like any other
/// name that leads inside.
fn check(settings: &Settings, uri: &str, local_names: bool) -> Result<url::Url, UrlProblem> {
    let parsed = url::Url::parse(uri).map_err(|_| UrlProblem::NotAbsolute)?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
        return Err(UrlProblem::NotAbsolute);
    }
    if parsed.fragment().is_some() {
        return Err(UrlProblem::Fragment);
    }
    if reaches_inside(settings) {
        return Ok(parsed);
    }
    if parsed.scheme() != "https" {
        return Err(UrlProblem::NotHttps);
    }
    let public = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            // RFC 6761: localhost names always resolve to loopback.
            !local_names || (name != "localhost" && !name.ends_with(".localhost"))
        }
        None => false,
    };
    if public {
        Ok(parsed)
    } else {
        Err(UrlProblem::NotPublic)
    }
}

/// A globally routable unicast address: not loopback, private (RFC 1918), unique-local,
/// link-local, CGNAT (100.64/10), unspecified, broadcast, multicast, documentation,
/// benchmarking or reserved, and not an IPv4-mapped/-compatible or NAT64 form of one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network", unspecified
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address inside.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
    }
    let special = s[..6] == [0, 0, 0, 0, 0, 0] // ::, ::1, deprecated IPv4-compatible
        || (s[0] & 0xfe00) == 0xfc00 // unique-local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 0x0001) // local-use NAT64 64:ff9b:1::/48
        || s[0] == 0x2002 // 6to4: carries an IPv4 address, possibly a private one
        || (s[0] == 0x2001 && s[1] == 0); // Teredo 2001::/32: likewise
    !special
}

/// Resolves names for the relying-party client and keeps only public addresses; a name
/// with none left fails, so no connection is opened.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(
                    Box::new(UrlProblem::NotPublic) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// rustls with the aws-lc-rs provider and the Mozilla root set (webpki-roots).
pub fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn builder(connect_timeout: Duration) -> anyhow::Result<reqwest::ClientBuilder> {
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls_config()?)
        .connect_timeout(connect_timeout)
        // Never follow a redirect: it could lead anywhere, and carries credentials.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("verity/", env!("CARGO_PKG_VERSION"))))
}

/// The client for endpoints the operator configured (no address filter). Requests set their
/// own whole-request timeout.
pub fn operator_client(connect_timeout: Duration) -> anyhow::Result<reqwest::Client> {
    builder(connect_timeout)?
        .build()
        .context("building the outgoing HTTP client")
}

/// A failed call to a relying party, in words fit for a log or a delivery record (never the
/// URL, which the client chose).
#[derive(Debug)]
pub enum CallError {
    Refused(UrlProblem),
    TimedOut,
    Failed,
    Status(u16),
    TooLarge,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused(p) => write!(f, "refused: the URL {p}"),
            CallError::TimedOut => f.write_str("timed out"),
            CallError::Failed => f.write_str("connection failed"),
            CallError::Status(s) => write!(f, "HTTP {s}"),
            CallError::TooLarge => f.write_str("the answer is too large"),
        }
    }
}

impl std::error::Error for CallError {}

fn call_error(e: reqwest::Error) -> CallError {
    if e.is_timeout() {
        return CallError::TimedOut;
    }
    // The resolver's refusal is somewhere in the source chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(p) = s.downcast_ref::<UrlProblem>() {
            return CallError::Refused(*p);
        }
        source = s.source();
    }
    CallError::Failed
}

/// The outgoing HTTP clients, built once per process.
pub struct Outbound {
    settings: Arc<Settings>,
    to_relying_parties: reqwest::Client,
    to_operator: reqwest::Client,
}

impl Outbound {
    pub fn new(settings: Arc<Settings>) -> anyhow::Result<Outbound> {
        // The process default too, so a client built anywhere without our config (reqwest is
        // compiled without a provider of its own) still uses aws-lc-rs, never ring. Already
        // set (several contexts in one process, as in tests): fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let sec = &settings.security;
        let connect = Duration::from_secs(sec.outbound_connect_timeout_secs.max(1));
        let mut rp = builder(connect)?
            .timeout(Duration::from_secs(sec.outbound_timeout_secs.max(1)))
            .no_proxy();
        if !reaches_inside(&settings) {
            rp = rp
                .https_only(true)
                .dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let to_relying_parties = rp
            .build()
            .context("building the outgoing HTTP client for relying parties")?;
        let to_operator = operator_client(connect)?;
        Ok(Outbound {
            settings,
            to_relying_parties,
            to_operator,
        })
    }

    /// For endpoints in Verity's own configuration (the SMS gateway).
    pub fn operator(&self) -> &reqwest::Client {
        &self.to_operator
    }

    /// Scheme and IP literals here (hyper never asks the resolver about a literal); names
    /// are checked by [`PublicOnlyResolver`] after resolution.
    fn checked(&self, url: &str) -> Result<url::Url, CallError> {
        check(&self.settings, url, false).map_err(CallError::Refused)
    }

    /// POSTs a form to a URL a relying party registered; Ok on a 2xx answer.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<(), CallError> {
        let url = self.checked(url)?;
        let res = self
            .to_relying_parties
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(call_error)?;
        if !res.status().is_success() {
            return Err(CallError::Status(res.status().as_u16()));
        }
        Ok(())
    }

    /// POSTs a Security Event Token (RFC 8935) to a URL a receiver registered, with its
    /// `Authorization` header if it gave one; answers the status and at most `cap` bytes of
    /// the body, whatever the status.
    pub async fn post_set(
        &self,
        url: &str,
        set: &str,
        authorization: Option<&str>,
        cap: usize,
    ) -> Result<(u16, Vec<u8>), CallError> {
        let url = self.checked(url)?;
        let mut req = self
            .to_relying_parties
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/secevent+jwt")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(set.to_string());
        if let Some(auth) = authorization {
            req = req.header(reqwest::header::AUTHORIZATION, auth);
        }
        let res = req.send().await.map_err(call_error)?;
        let status = res.status().as_u16();
        Ok((status, read_capped(res, cap).await?))
    }

    /// GETs a URL a relying party registered and reads at most `cap` bytes of a 2xx answer.
    pub async fn get_capped(&self, url: &str, cap: usize) -> Result<Vec<u8>, CallError> {
        let url = self.checked(url)?;
        let res = self
            .to_relying_parties
            .get(url)
            .send()
            .await
            .map_err(call_error)?;
        if !res.status().is_success() {
            return Err(CallError::Status(res.status().as_u16()));
        }
        read_capped(res, cap).await
    }

    /// [`Outbound::get_capped`] with the error as `anyhow`.
    pub async fn fetch_capped(&self, url: &str, cap: usize) -> anyhow::Result<Vec<u8>> {
        self.get_capped(url, cap).await.map_err(|e| anyhow!(e))
    }
}

/// Reads a response body, refusing it once it passes `cap` bytes (whatever Content-Length
/// says).
pub async fn read_capped(mut res: reqwest::Response, cap: usize) -> Result<Vec<u8>, CallError> {
    if res.content_length().is_some_and(|n| n > cap as u64) {
        return Err(CallError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(call_error)? {
        if body.len() + chunk.len() > cap {
            return Err(CallError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_purpose_addresses_are_not_public() {
        for inside in [
            "0.0.0.0",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.1.1",
            "::ffff:169.254.169.254",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::8.8.8.8",
            "2002:a00:1::1",
            "2001:0:4136:e378::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = inside.parse().unwrap();
            assert!(!is_public(ip), "{inside}");
        }
        for outside in [
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = outside.parse().unwrap();
            assert!(is_public(ip), "{outside}");
        }
    }

    #[test]
    fn production_needs_https_and_a_public_host() {
        let prod = Settings {
            env: RunMode::Production,
            ..Settings::default()
        };
        let dev = Settings::default();
        assert_eq!(
            check_server_url(&prod, "https://rp.example.com/hook").map(|u| u.to_string()),
            Ok("https://rp.example.com/hook".to_string())
        );
        for (url, problem) in [
            ("http://rp.example.com/hook", UrlProblem::NotHttps),
            ("https://localhost/hook", UrlProblem::NotPublic),
            ("https://a.localhost./hook", UrlProblem::NotPublic),
            ("https://0x7f000001/hook", UrlProblem::NotPublic),
            ("https://[::ffff:192.168.1.1]/hook", UrlProblem::NotPublic),
            ("https://rp.example.com/hook#f", UrlProblem::Fragment),
            ("ftp://rp.example.com/hook", UrlProblem::NotAbsolute),
            ("/hook", UrlProblem::NotAbsolute),
        ] {
            assert_eq!(check_server_url(&prod, url).err(), Some(problem), "{url}");
        }
        assert_eq!(
            check_server_url(&dev, "http://127.0.0.1:9000/hook").map(|u| u.to_string()),
            Ok("http://127.0.0.1:9000/hook".to_string())
        );
    }
}

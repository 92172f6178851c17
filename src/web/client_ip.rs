//! The client's address behind reverse proxies. The forwarding header is a list each hop
//! appends to, and its left part is whatever the client sent, so it is read from the right:
//! the first entry that isn't a trusted proxy is the client. Only the configured header is
//! read, and only when the request itself comes from a trusted proxy.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::config::ForwardedHeader;

/// `peer`: the TCP peer. `headers`: every value of the configured header, in order.
pub fn resolve(
    peer: Option<IpAddr>,
    headers: &[&str],
    header: ForwardedHeader,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    let peer = peer.map(canonical);
    match peer {
        Some(p) if is_trusted(&p) => {}
        _ => return peer,
    }
    let entries: Vec<&str> = headers
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    // The nearest hop we know of: the peer, then each trusted proxy walking left.
    let mut nearest = peer;
    for entry in entries.iter().rev() {
        let parsed = match header {
            ForwardedHeader::XForwardedFor => parse_address(entry),
            ForwardedHeader::Forwarded => forwarded_for(entry).and_then(|v| parse_address(&v)),
        };
        match parsed.map(canonical) {
            Some(ip) if is_trusted(&ip) => nearest = Some(ip),
            Some(ip) => return Some(ip),
            // Garbage, "unknown" or an obfuscated name where a trusted proxy wrote: the
            // nearest hop we can vouch for is the best answer.
            None => return nearest,
        }
    }
    nearest
}

/// An IPv4 address written as IPv4-mapped IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`.
fn parse_address(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = raw.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    raw.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
}

/// The `for=` parameter of one RFC 7239 element (`for=192.0.2.60;proto=http`).
fn forwarded_for(element: &str) -> Option<String> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        let xff = ForwardedHeader::XForwardedFor;
        // The client wrote 6.6.6.6 itself; the proxy appended the address it saw.
        assert_eq!(
            resolve(ip("10.0.0.2"), &["6.6.6.6, 203.0.113.9"], xff, &trusted),
            ip("203.0.113.9")
        );
        // Two trusted hops.
        assert_eq!(
            resolve(
                ip("127.0.0.1"),
                &["6.6.6.6", "203.0.113.9, 10.1.1.1"],
                xff,
                &trusted
            ),
            ip("203.0.113.9")
        );
        // Not from a trusted proxy: the header is ignored.
        assert_eq!(
            resolve(ip("198.51.100.7"), &["6.6.6.6"], xff, &trusted),
            ip("198.51.100.7")
        );
        // Garbage where the proxy wrote: the nearest trusted hop, never the client's words.
        assert_eq!(
            resolve(ip("10.0.0.2"), &["6.6.6.6, not-an-ip"], xff, &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &["[2001:db8::7]:443"], xff, &trusted),
            ip("2001:db8::7")
        );
        assert_eq!(resolve(ip("10.0.0.2"), &[], xff, &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_header_is_read_by_its_for_parameter() {
        let trusted = nets(&["10.0.0.0/8"]);
        let fwd = ForwardedHeader::Forwarded;
        assert_eq!(
            resolve(
                ip("10.0.0.2"),
                &["for=6.6.6.6, for=\"[2001:db8::1]:4711\";proto=https"],
                fwd,
                &trusted
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), &["for=unknown"], fwd, &trusted),
            ip("10.0.0.2")
        );
    }
}

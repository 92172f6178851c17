//! The networks an account signs in from, so a browser it knows still raises a new-sign-in
//! alert from a network it hasn't used lately. A network is the address's first
//! `new_network_ipv4_prefix` bits (a /24) or `new_network_ipv6_prefix` bits (a /48): one
//! household or office, whose address within it changes from day to day. Kept in the database
//! (`sign_in_networks`), so every node agrees, one row per (account, network) with the last
//! sign-in from it.

use std::net::IpAddr;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::storage::db::DbConn;
use crate::storage::schema::sign_in_networks;

/// The network `ip` belongs to, e.g. `203.0.113.0/24`; None for an address that doesn't
/// parse. An IPv4 address written as IPv4-mapped IPv6 is the IPv4 address.
pub fn network_of(ip: &str, ipv4_prefix: u8, ipv6_prefix: u8) -> Option<String> {
    let addr: IpAddr = ip.trim().parse().ok()?;
    let net = match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpNet::V4(Ipv4Net::new(v4, ipv4_prefix).ok()?.trunc()),
            None => IpNet::V6(Ipv6Net::new(v6, ipv6_prefix).ok()?.trunc()),
        },
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::new(v4, ipv4_prefix).ok()?.trunc()),
    };
    Some(net.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Signed in from it within the window.
    Recently,
    /// Never, or not within the window.
    NotRecently,
    /// The account has no network on record at all (its first sign-in, or its first since
    /// networks were recorded): nothing to compare with.
    NothingOnRecord,
}

/// Inside the sign-in's transaction: whether the account signed in from `network` less than
/// `window` ago, and records this sign-in. Concurrent sign-ins of one account take turns, so
/// two nodes can't both find the same network new.
pub fn record(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    network: &str,
    window: chrono::Duration,
) -> anyhow::Result<Seen> {
    crate::storage::db::serialize_on(conn, &format!("sign-in-networks:{user_id}"))?;
    let last: Option<NaiveDateTime> = sign_in_networks::table
        .find((user_id, network))
        .select(sign_in_networks::last_seen_at)
        .first(conn)
        .optional()?;
    let seen = match last {
        Some(at) if now - at < window => Seen::Recently,
        Some(_) => Seen::NotRecently,
        None => {
            let any: bool = diesel::select(diesel::dsl::exists(
                sign_in_networks::table.filter(sign_in_networks::user_id.eq(user_id)),
            ))
            .get_result(conn)?;
            if any {
                Seen::NotRecently
            } else {
                Seen::NothingOnRecord
            }
        }
    };
    if last.is_some() {
        diesel::update(sign_in_networks::table.find((user_id, network)))
            .set(sign_in_networks::last_seen_at.eq(now))
            .execute(conn)?;
    } else {
        diesel::insert_into(sign_in_networks::table)
            .values((
                sign_in_networks::user_id.eq(user_id),
                sign_in_networks::network.eq(network),
                sign_in_networks::last_seen_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(seen)
}

/// Forgets the account's networks (the account was deleted).
pub fn forget(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(sign_in_networks::table.filter(sign_in_networks::user_id.eq(user_id)))
        .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::network_of;

    #[test]
    fn networks_are_the_address_cut_to_its_prefix() {
        assert_eq!(
            network_of("203.0.113.77", 24, 48).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network_of("::ffff:203.0.113.77", 24, 48).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network_of("2001:db8:abcd:12::1", 24, 48).as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(
            network_of("198.51.100.9", 16, 48).as_deref(),
            Some("198.51.0.0/16")
        );
        assert_eq!(network_of("not an address", 24, 48), None);
        assert_eq!(network_of("", 24, 48), None);
    }
}

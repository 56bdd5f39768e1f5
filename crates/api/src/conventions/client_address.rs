//! The client's IP address, for the mechanisms keyed by it (rate limits of anonymous
//! callers, login throttling). It is the TCP peer's address unless the peer is one of
//! `ServerConfig::trusted_proxies`: then `X-Forwarded-For` is read from the right (the
//! entry the trusted proxy itself appended) and the first address that is not a trusted
//! proxy is the client. Entries left of it were written by the client and are ignored,
//! so a client cannot pick the address it is counted as.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client address of `req` given the trusted proxies; `None` only when the peer is
/// unknown (never the case for TCP connections).
pub fn client_address(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    Some(resolve(peer, req.headers(), trusted))
}

/// [`client_address`] as the text the limiters key on.
pub fn client_address_key(req: &HttpRequest, trusted: &[IpNet]) -> String {
    client_address(req, trusted).map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    // Several headers count as one comma-separated list, in order.
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            // A malformed entry cannot be trusted further: the hop that passed it on is
            // the client.
            None => break,
        }
    }
    canonical(client)
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[::1]:5678`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|addr| addr.ip())
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) as plain IPv4, so that
/// one client has one key and IPv4 proxy blocks match.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            resolve(ip("198.51.100.1"), &headers, &[]),
            ip("198.51.100.1")
        );
        assert_eq!(
            resolve(ip("198.51.100.1"), &headers, &nets(&["10.0.0.0/8"])),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            resolve(ip("10.1.2.3"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn addresses_the_client_wrote_are_ignored() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client sent "1.1.1.1"; the outer proxy appended the real address, an inner
        // proxy appended the outer one.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7", "10.0.0.5"]);
        assert_eq!(
            resolve(ip("10.0.0.9"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn malformed_or_missing_entries_stop_at_the_last_proxy() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("10.0.0.9"), &forwarded(&["not an address"]), &trusted),
            ip("10.0.0.9")
        );
        assert_eq!(
            resolve(ip("10.0.0.9"), &HeaderMap::new(), &trusted),
            ip("10.0.0.9")
        );
        assert_eq!(
            resolve(ip("10.0.0.9"), &forwarded(&["[2001:db8::1]:443"]), &trusted),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn mapped_ipv4_is_plain_ipv4() {
        let trusted = nets(&["127.0.0.1/32"]);
        assert_eq!(
            resolve(
                ip("::ffff:127.0.0.1"),
                &forwarded(&["203.0.113.7"]),
                &trusted
            ),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve(ip("::ffff:192.0.2.1"), &HeaderMap::new(), &[]),
            ip("192.0.2.1")
        );
    }
}

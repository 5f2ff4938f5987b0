//! Client addresses: ranges of them (CIDR), and the address a request came from when trusted reverse proxies
//! forward it (X-Forwarded-For, read from the right).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use actix_web::http::header::HeaderMap;

/// A CIDR range such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// The loopback ranges of both families, `127.0.0.0/8` and `::1/128`.
    pub fn loopback() -> Vec<IpRange> {
        vec![
            IpRange { network: IpAddr::from([127, 0, 0, 0]), prefix: 8 },
            IpRange { network: IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1u16]), prefix: 128 },
        ]
    }

    /// Whether the address lies in the range (an IPv4-mapped IPv6 address counts as the IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(ip.to_bits()), 32, self.prefix) == u128::from(net.to_bits())
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => masked(ip.to_bits(), 128, self.prefix) == net.to_bits(),
            _ => false,
        }
    }
}

/// `bits` (an address of `width` bits) with the bits past the first `prefix` cleared.
fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    let host_bits = u32::from(width - prefix);
    bits.checked_shr(host_bits).unwrap_or(0).checked_shl(host_bits).unwrap_or(0)
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| format!("`{text}` is not an address range (CIDR)"))?;
        let network = network.to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {width}"))?,
        };
        let network = match network {
            IpAddr::V4(ip) => IpAddr::from((masked(u128::from(ip.to_bits()), 32, prefix) as u32).to_be_bytes()),
            IpAddr::V6(ip) => IpAddr::from(masked(ip.to_bits(), 128, prefix).to_be_bytes()),
        };
        Ok(IpRange { network, prefix })
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The client's address. From an untrusted peer, the peer. From a trusted proxy, X-Forwarded-For (all its
/// header lines, comma-separated entries) is read from the right: trusted proxies are skipped, and the first
/// entry that is not one is the client, its port stripped. An entry that cannot be read (`unknown`, garbage)
/// ends the walk at the last trusted hop to its right, the one that wrote it: what stands to the left of it
/// is whatever the client sent. With every entry trusted, it is the leftmost of them.
pub fn client_ip(peer: IpAddr, trusted_proxies: &[IpAddr], headers: &HeaderMap) -> IpAddr {
    let trusted = |ip: IpAddr| is_trusted(ip, trusted_proxies);
    let mut hop = peer.to_canonical();
    if !trusted(hop) {
        return hop;
    }
    let lines: Vec<&str> =
        headers.get_all("x-forwarded-for").map(|line| line.to_str().unwrap_or("unreadable")).collect();
    for entry in lines.iter().flat_map(|line| line.split(',')).rev() {
        match forwarded_entry(entry) {
            Some(ip) if trusted(ip) => hop = ip,
            Some(ip) => return ip,
            None => return hop,
        }
    }
    hop
}

/// Whether the address is one of the trusted proxies (IPv4-mapped IPv6 addresses count as IPv4).
pub fn is_trusted(ip: IpAddr, trusted_proxies: &[IpAddr]) -> bool {
    trusted_proxies.iter().any(|proxy| proxy.to_canonical() == ip.to_canonical())
}

/// An X-Forwarded-For entry: `203.0.113.7`, `203.0.113.7:51234`, `2001:db8::1` or `[2001:db8::1]:443`.
fn forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let bare = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).unwrap_or(entry);
    let ip = bare.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    const PROXY: &str = "10.0.0.1";

    fn behind_proxy(lines: &[&str], trusted: &[&str]) -> String {
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| ip(t)).collect();
        client_ip(ip(PROXY), &trusted, &forwarded(lines)).to_string()
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client_without_its_port() {
        assert_eq!(behind_proxy(&["9.9.9.9, 203.0.113.7:51234"], &[PROXY]), "203.0.113.7");
        assert_eq!(behind_proxy(&["9.9.9.9, [2001:db8::1]:443"], &[PROXY]), "2001:db8::1");
        assert_eq!(behind_proxy(&["9.9.9.9", "203.0.113.7"], &[PROXY]), "203.0.113.7", "header lines in order");
        assert_eq!(behind_proxy(&["203.0.113.7"], &[PROXY]), "203.0.113.7");
    }

    #[test]
    fn trusted_entries_are_skipped() {
        assert_eq!(behind_proxy(&["1.1.1.1, 10.0.0.2"], &[PROXY, "10.0.0.2"]), "1.1.1.1");
        assert_eq!(behind_proxy(&["1.1.1.1, 10.0.0.2"], &[PROXY]), "10.0.0.2");
    }

    #[test]
    fn an_unreadable_entry_ends_the_walk_at_the_proxy() {
        assert_eq!(behind_proxy(&["9.9.9.9, unknown"], &[PROXY]), PROXY);
        assert_eq!(behind_proxy(&["9.9.9.9, garbage:x"], &[PROXY]), PROXY);
        assert_eq!(behind_proxy(&["9.9.9.9, unknown, 10.0.0.2"], &[PROXY, "10.0.0.2"]), "10.0.0.2");
        assert_eq!(behind_proxy(&[], &[PROXY]), PROXY);
        assert_eq!(behind_proxy(&[""], &[PROXY]), PROXY);
    }

    #[test]
    fn an_untrusted_peer_is_the_client() {
        let peer = ip("198.51.100.4");
        assert_eq!(client_ip(peer, &[ip(PROXY)], &forwarded(&["9.9.9.9"])), peer);
        assert_eq!(client_ip(peer, &[], &forwarded(&["9.9.9.9"])), peer);
    }

    #[test]
    fn ranges_parse_and_match() {
        let range: IpRange = "10.1.2.3/8".parse().unwrap();
        assert_eq!(range.to_string(), "10.0.0.0/8");
        assert!(range.contains(ip("10.200.0.1")) && !range.contains(ip("11.0.0.1")));
        assert!(range.contains(ip("::ffff:10.0.0.9")), "an IPv4-mapped address");
        assert!(!range.contains(ip("::1")));
        let one: IpRange = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: IpRange = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let everything: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.1")));
        assert!(IpRange::loopback().iter().any(|r| r.contains(ip("127.0.0.1"))));
        assert!(IpRange::loopback().iter().any(|r| r.contains(ip("::1"))));
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/x", "localhost", "10.0.0.0/-1"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
    }
}

//! The client's IP address: the connection's peer, or — only when that peer is one of the configured
//! `trusted_proxies` — the address those proxies put in `X-Forwarded-For`, so nobody else can choose the address Fence
//! keys its log-in back-off on.

use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The peer address of a request's connection, put in its extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` Fence believes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`. A range of length 0 would trust every client to name its own
    /// address, and is refused.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let mut out = Vec::new();
        for e in entries {
            let (addr, len) = match e.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (e.as_str(), None),
            };
            let ip: IpAddr = addr
                .trim()
                .parse()
                .map_err(|_| format!("{e:?} is not an IP address or CIDR range"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match len {
                None => max,
                Some(l) => l
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("{e:?} has an invalid prefix length"))?,
            };
            if len == 0 {
                return Err(format!(
                    "{e:?} would trust every address; list the proxies' own addresses"
                ));
            }
            out.push((ip, len));
        }
        Ok(TrustedProxies(out))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|&(net, len)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        })
    }

    /// The client: the peer, or, when the peer is trusted, the last `X-Forwarded-For` hop that is not a trusted
    /// proxy (the hops before it are whatever the client claimed).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// IPv4 addresses arriving as IPv4-mapped IPv6 (`::ffff:10.0.0.1`) compared as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).expect("parses");
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        // An untrusted peer cannot choose its address.
        assert_eq!(
            trusted.client_ip(ip("203.0.113.9"), &headers("198.51.100.1")),
            ip("203.0.113.9")
        );
        // Behind a trusted proxy, the last hop it did not add itself.
        assert_eq!(
            trusted.client_ip(ip("10.1.2.3"), &headers("1.1.1.1, 198.51.100.7, 10.9.9.9")),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client_ip(ip("::ffff:10.1.2.3"), &headers("198.51.100.7")),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client_ip(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
        assert_eq!(
            trusted.client_ip(ip("10.1.2.3"), &headers("garbage, 198.51.100.7")),
            ip("198.51.100.7")
        );
        assert!(TrustedProxies::parse(&["0.0.0.0/0".into()]).is_err());
        assert!(TrustedProxies::parse(&["::/0".into()]).is_err());
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
    }
}

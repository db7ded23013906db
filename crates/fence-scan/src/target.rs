//! Scan targets: a host, its ports, and the refusal to reach loopback, private or link-local addresses unless
//! `scan.allow_private_targets` says so.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What a check connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub https_port: u16,
    /// Where to check the HTTP→HTTPS redirect.
    pub http_port: u16,
    pub allow_private: bool,
    pub timeout: Duration,
}

impl Target {
    pub fn new(host: &str) -> Target {
        Target {
            host: host.to_ascii_lowercase(),
            https_port: 443,
            http_port: 80,
            allow_private: false,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Loopback, private (RFC 1918, unique-local), link-local, unspecified, CGNAT or documentation ranges.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Resolves `host:port`, refusing private addresses unless allowed. The error names the reason.
pub async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if !allow_private {
        if let Some(a) = addrs.iter().find(|a| is_private(a.ip())) {
            return Err(format!("{host} resolves to the private address {}; scanning it needs scan.allow_private_targets = true", a.ip()));
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn localhost_is_refused_unless_allowed() {
        let e = resolve("localhost", 443, false).await.expect_err("refused");
        assert!(e.contains("scan.allow_private_targets"), "{e}");
        assert!(resolve("localhost", 443, true).await.is_ok());
    }
}

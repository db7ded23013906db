//! Local TLS and HTTP servers with certificates generated on the spot (rcgen), for tests of certificate and
//! header checks: a test CA, leaves valid for any window of days, and servers answering with chosen headers.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const DAY: i64 = 86_400;

pub fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A test certificate authority.
pub struct Ca {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

pub fn ca() -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "Fence Test CA");
    let cert = p.self_signed(&key).expect("ca");
    Ca { cert, key }
}

/// A leaf for `names`, valid from `from_days` to `to_days` relative to now, signed by `ca` (or self-signed).
pub fn leaf(
    ca: Option<&Ca>,
    names: &[&str],
    from_days: i64,
    to_days: i64,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, names[0]);
    p.not_before =
        time::OffsetDateTime::from_unix_timestamp(now_s() + from_days * DAY).expect("time");
    p.not_after = time::OffsetDateTime::from_unix_timestamp(now_s() + to_days * DAY).expect("time");
    let cert = match ca {
        Some(ca) => p.signed_by(&key, &ca.cert, &ca.key).expect("signed"),
        None => p.self_signed(&key).expect("self-signed"),
    };
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
}

/// A TLS server on 127.0.0.1:0 answering every request with `response_headers`.
pub async fn tls_server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    response_headers: &'static str,
) -> u16 {
    tls_server_on("127.0.0.1", cert, key, response_headers).await
}

/// [`tls_server`] on `ip`, port 0 (`0.0.0.0` answers on every loopback address, `127.0.0.0/8`).
pub async fn tls_server_on(
    ip: &str,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    response_headers: &'static str,
) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let resp = format!("HTTP/1.1 200 OK\r\n{response_headers}Content-Length: 2\r\nConnection: close\r\n\r\nok");
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    port
}

/// A port on `ip` that accepts connections and never says a word: a blackhole for a TLS handshake, which waits out
/// its client's timeout. Connections are held open until the test ends.
pub async fn blackhole_on(ip: &str) -> u16 {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    port
}

/// A plain HTTP server answering with `status_line` and `headers`.
pub async fn http_server(answer: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(answer.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    port
}

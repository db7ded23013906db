//! The TLS check: a real handshake with SNI that reads the server's certificate (not_after, issuer, subject
//! alternative names, SHA-256 fingerprint) and reports whether it is expired, for another host name, or untrusted —
//! without refusing the handshake, so a bad certificate is still read.

use crate::target::{resolve, Target};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// What the certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub not_before: i64,
    pub not_after: i64,
    pub issuer: String,
    pub subject: String,
    pub sans: Vec<String>,
    /// Lower-case hex SHA-256 of the DER certificate.
    pub fingerprint: String,
}

/// What is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    Expired,
    HostnameMismatch,
    Untrusted(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsReport {
    pub cert: CertInfo,
    pub problems: Vec<TlsProblem>,
}

/// Verifies like rustls' WebPKI verifier, but records the verdict instead of aborting the handshake.
#[derive(Debug)]
struct Recorder {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    verdict: Mutex<Option<rustls::Error>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Err(e) =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            *self.verdict.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn parse(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("the server's certificate cannot be parsed: {e}"))?;
    let name = |n: &x509_parser::x509::X509Name<'_>| {
        n.iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string)
            .or_else(|| {
                n.iter_organization()
                    .next()
                    .and_then(|o| o.as_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| n.to_string())
    };
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for gn in &ext.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = gn {
                sans.push(d.to_string());
            }
        }
    }
    Ok(CertInfo {
        not_before: cert.validity().not_before.timestamp() * 1000,
        not_after: cert.validity().not_after.timestamp() * 1000,
        // As people call it: "Let's Encrypt (R11)", not "R11".
        issuer: fence_core::certificate::issuer_label(&cert.issuer().to_string()),
        subject: name(cert.subject()),
        sans,
        fingerprint: hex::encode(Sha256::digest(der)),
    })
}

/// Connects to the target's HTTPS port and reads its certificate. `extra_roots` are trusted besides the web's.
pub async fn check(
    target: &Target,
    extra_roots: &[CertificateDer<'static>],
    now_ms: i64,
) -> Result<TlsReport, String> {
    let addrs = resolve(&target.host, target.https_port, target.allow_private).await?;
    let (config, recorder) = client_config(extra_roots)?;
    let name = ServerName::try_from(target.host.clone())
        .map_err(|_| format!("{} is not a valid TLS server name", target.host))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let cert = read_certificate(target, &addrs, &connector, name).await?;
    let verdict = recorder
        .verdict
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let problems = problems(&cert, verdict, &target.host, now_ms);
    Ok(TlsReport { cert, problems })
}

/// A client configuration trusting the web's roots and `extra_roots`, whose verifier records its verdict.
fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<(rustls::ClientConfig, Arc<Recorder>), String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for r in extra_roots {
        roots
            .add(r.clone())
            .map_err(|e| format!("bad extra root: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("TLS verifier: {e}"))?;
    let recorder = Arc::new(Recorder {
        inner,
        verdict: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS config: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    Ok((config, recorder))
}

/// Connects, completes the handshake and parses the leaf certificate, all within the target's timeout.
async fn read_certificate(
    target: &Target,
    addrs: &[std::net::SocketAddr],
    connector: &tokio_rustls::TlsConnector,
    name: ServerName<'static>,
) -> Result<CertInfo, String> {
    let work = async {
        let tcp = tokio::net::TcpStream::connect(addrs).await.map_err(|e| {
            format!(
                "cannot connect to {}:{}: {e}",
                target.host, target.https_port
            )
        })?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {} failed: {e}", target.host))?;
        let (_, conn) = tls.get_ref();
        let leaf = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| "the server sent no certificate".to_string())?;
        parse(leaf.as_ref())
    };
    tokio::time::timeout(target.timeout, work)
        .await
        .map_err(|_| format!("TLS check of {} timed out", target.host))?
}

/// The problems of a certificate for `host` at `now_ms`, from its dates, its names and the verifier's verdict.
fn problems(
    cert: &CertInfo,
    verdict: Option<rustls::Error>,
    host: &str,
    now_ms: i64,
) -> Vec<TlsProblem> {
    let mut problems = Vec::new();
    let expired_by_verifier = matches!(
        verdict,
        Some(rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ))
    );
    if cert.not_after <= now_ms || expired_by_verifier {
        problems.push(TlsProblem::Expired);
    }
    match verdict {
        None => {}
        Some(rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        )) => {}
        Some(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => problems.push(TlsProblem::HostnameMismatch),
        Some(e) => problems.push(TlsProblem::Untrusted(short_reason(&e))),
    }
    // A certificate that is both untrusted and for another name is reported for both.
    if !problems.contains(&TlsProblem::HostnameMismatch)
        && !cert.sans.is_empty()
        && !cert.sans.iter().any(|s| name_matches(s, host))
    {
        problems.push(TlsProblem::HostnameMismatch);
    }
    problems
}

fn short_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "issued by an unknown authority (self-signed or missing intermediate)".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::Revoked) => "revoked".into(),
        rustls::Error::InvalidCertificate(c) => format!("{c:?}").chars().take(120).collect(),
        other => other.to_string().chars().take(120).collect(),
    }
}

/// `*.example.com` matches one label.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.to_ascii_lowercase(), host.to_ascii_lowercase());
    match p.strip_prefix("*.") {
        Some(suffix) => h.split_once('.').is_some_and(|(_, rest)| rest == suffix),
        None => p == h,
    }
}

//! TLS for REST and the WebSocket: one rustls configuration per server profile.
//!
//! Three ways to trust a server, never "accept any certificate":
//! - the platform's roots through `rustls-platform-verifier` (the default);
//! - the platform's roots plus a custom CA (PEM file) for a company PKI;
//! - a self-signed server pinned by the SHA-256 fingerprint of its certificate, which the user
//!   saw and confirmed first ([`fetch_fingerprint`] shows it). Signatures are still checked;
//!   only the chain to a root is replaced by the pin.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest as _, Sha256};

/// How a server's certificate is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum TlsTrust {
    /// The operating system's roots.
    #[default]
    System,
    /// The system roots plus the CA certificates of a PEM file.
    CustomCa {
        /// PEM file with one or more CA certificates.
        pem_path: std::path::PathBuf,
    },
    /// Exactly the certificate with this SHA-256 fingerprint (hex, colons optional).
    Pinned {
        /// The fingerprint the user confirmed.
        sha256: String,
    },
}

/// Why a TLS configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use the CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The fingerprint is not 32 hex bytes.
    #[error("a SHA-256 fingerprint is 64 hex digits (colons allowed)")]
    BadFingerprint,
    /// rustls refused the configuration.
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// The rustls client configuration for `trust`.
///
/// # Errors
/// An unreadable CA file, a malformed fingerprint, or a platform verifier failure.
pub fn client_config(trust: &TlsTrust) -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match trust {
        TlsTrust::System => Arc::new(
            rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| TlsError::Setup(e.to_string()))?,
        ),
        TlsTrust::CustomCa { pem_path } => {
            let extra = read_ca_file(pem_path)?;
            Arc::new(
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
                    .map_err(|e| TlsError::Setup(e.to_string()))?,
            )
        }
        TlsTrust::Pinned { sha256 } => Arc::new(FingerprintVerifier::new(
            Some(parse_fingerprint(sha256)?),
            provider,
        )),
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn read_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    use rustls::pki_types::pem::PemObject as _;
    let err = |reason: String| TlsError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block in it".to_owned()));
    }
    Ok(certs)
}

/// Parses `AB:CD:…` or `abcd…` into 32 bytes.
///
/// # Errors
/// Anything but 64 hex digits once colons and spaces are removed.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], TlsError> {
    let hex: Vec<u8> = text.bytes().filter(|b| !matches!(b, b':' | b' ')).collect();
    if hex.len() != 64 {
        return Err(TlsError::BadFingerprint);
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| TlsError::BadFingerprint)?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| TlsError::BadFingerprint)?;
    }
    Ok(out)
}

/// The fingerprint as the user sees it: upper-case hex pairs joined by colons.
#[must_use]
pub fn format_fingerprint(fp: &[u8; 32]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 of a certificate's DER bytes.
#[must_use]
pub fn fingerprint(cert: &CertificateDer<'_>) -> [u8; 32] {
    Sha256::digest(cert.as_ref()).into()
}

/// Trusts exactly the pinned certificate (handshake signatures are still verified), or with
/// no pin records the server's certificate and refuses it, so a first contact can show the
/// user the fingerprint without sending anything over an unverified connection.
#[derive(Debug)]
struct FingerprintVerifier {
    pin: Option<[u8; 32]>,
    seen: std::sync::Mutex<Option<[u8; 32]>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl FingerprintVerifier {
    fn new(pin: Option<[u8; 32]>, provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        Self {
            pin,
            seen: std::sync::Mutex::new(None),
            provider,
        }
    }
}

impl ServerCertVerifier for FingerprintVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fp);
        }
        match self.pin {
            Some(pin) if pin == fp => Ok(ServerCertVerified::assertion()),
            Some(_) => Err(rustls::Error::General(
                "the server's certificate does not match the pinned fingerprint".to_owned(),
            )),
            None => Err(rustls::Error::General("fingerprint captured".to_owned())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects to `host:port`, reads the certificate the server presents and aborts the
/// handshake; returns its SHA-256 fingerprint for the user to confirm before pinning it.
///
/// # Errors
/// The host is unreachable, or it presented no certificate.
pub async fn fetch_fingerprint(host: &str, port: u16) -> Result<[u8; 32], String> {
    let provider = provider();
    let capture = Arc::new(FingerprintVerifier::new(None, Arc::clone(&provider)));
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&capture) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let timeout = std::time::Duration::from_secs(10);
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port)))
        .await
        .map_err(|_| format!("{host}:{port} did not answer within 10 s"))?
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    // The handshake fails on purpose once the certificate is seen.
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .ok();
    capture
        .seen
        .lock()
        .ok()
        .and_then(|s| *s)
        .ok_or_else(|| format!("{host}:{port} presented no certificate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons_and_format_with_them() {
        let hex = "AB".repeat(32);
        let with_colons = vec!["ab"; 32].join(":");
        assert_eq!(parse_fingerprint(&hex), parse_fingerprint(&with_colons));
        let fp = parse_fingerprint(&hex).unwrap();
        assert_eq!(format_fingerprint(&fp), vec!["AB"; 32].join(":"));
    }

    #[test]
    fn malformed_fingerprints_are_refused() {
        assert_eq!(parse_fingerprint("abc"), Err(TlsError::BadFingerprint));
        assert_eq!(
            parse_fingerprint(&"zz".repeat(32)),
            Err(TlsError::BadFingerprint)
        );
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let err = client_config(&TlsTrust::CustomCa {
            pem_path: "/nonexistent/ca.pem".into(),
        })
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = client_config(&TlsTrust::CustomCa { pem_path: empty }).unwrap_err();
        assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
    }

    #[test]
    fn system_and_pinned_configurations_build() {
        client_config(&TlsTrust::System).unwrap();
        client_config(&TlsTrust::Pinned {
            sha256: "00".repeat(32),
        })
        .unwrap();
    }
}

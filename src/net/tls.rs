//! TLS for REST and the WebSocket: one rustls configuration per server profile.
//!
//! Three ways to trust a server, never "accept any certificate":
//! - the platform's roots through `rustls-platform-verifier` (the default);
//! - the platform's roots plus a custom CA (PEM file) for a company PKI;
//! - a self-signed server pinned by the SHA-256 fingerprint of its certificate, which the user
//!   saw and confirmed first ([`fetch_fingerprint`] shows it). Signatures are still checked;
//!   only the chain to a root is replaced by the pin.
//!
//! A pinned server that presents another certificate is refused with a [`PinMismatch`] that
//! names both fingerprints. reqwest and tungstenite hand rustls' errors on as text only, so
//! [`Refusal::of`] reads the reason back from that text (the mismatch included) for the
//! login screen and the connection view to say in plain words.

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

/// What opens the text of a [`PinMismatch`] (and lets [`PinMismatch::find`] spot it).
const PIN_MISMATCH_MARKER: &str = "the server's certificate changed: pinned ";

/// A pinned server presented another certificate: both fingerprints, colon hex.
///
/// `Debug` prints the same text as `Display`: rustls shows a certificate error's detail
/// with `Debug`, and this text is what reaches the user.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{PIN_MISMATCH_MARKER}{pinned}, presented {presented}")]
pub struct PinMismatch {
    /// The fingerprint the profile pins.
    pub pinned: String,
    /// The fingerprint of the certificate the server presented.
    pub presented: String,
}

impl std::fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl PinMismatch {
    /// The mismatch described in `text` (an error chain that carries one), if any.
    #[must_use]
    pub fn find(text: &str) -> Option<Self> {
        let rest = &text[text.find(PIN_MISMATCH_MARKER)? + PIN_MISMATCH_MARKER.len()..];
        let (pinned, rest) = leading_fingerprint(rest)?;
        let (presented, _) = leading_fingerprint(rest.strip_prefix(", presented ")?)?;
        Some(Self { pinned, presented })
    }
}

/// The colon-hex fingerprint `text` starts with (normalised) and what follows it.
fn leading_fingerprint(text: &str) -> Option<(String, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_hexdigit() || c == ':'))
        .unwrap_or(text.len());
    let fp = parse_fingerprint(&text[..end]).ok()?;
    Some((format_fingerprint(&fp), &text[end..]))
}

/// Why a server's certificate was refused, read back from an error's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A pinned server presented another certificate.
    PinChanged(PinMismatch),
    /// The certificate has expired.
    Expired {
        /// When it expired (Unix seconds), when the error says.
        not_after: Option<i64>,
    },
    /// The certificate is not valid yet (or this computer's clock is behind).
    NotYetValid,
    /// The certificate was issued for other host names.
    WrongName,
    /// No trusted authority signed the certificate (self-signed, or an unknown private CA).
    UnknownIssuer,
    /// Anything else: no TLS on that port, a protocol mismatch, a bad signature.
    Other,
}

impl Refusal {
    /// Reads the reason from an error's text (rustls' wording, whether the verifier gave
    /// the detailed variant or only its name).
    #[must_use]
    pub fn of(text: &str) -> Self {
        if let Some(m) = PinMismatch::find(text) {
            Self::PinChanged(m)
        } else if text.contains("certificate expired") || text.contains("Expired") {
            Self::Expired {
                not_after: number_after(text, "not valid after "),
            }
        } else if text.contains("certificate not valid yet") || text.contains("NotValidYet") {
            Self::NotYetValid
        } else if text.contains("certificate not valid for name")
            || text.contains("NotValidForName")
        {
            Self::WrongName
        } else if text.contains("UnknownIssuer") {
            Self::UnknownIssuer
        } else {
            Self::Other
        }
    }
}

/// The decimal number right after `label` in `text`.
fn number_after(text: &str, label: &str) -> Option<i64> {
    let rest = &text[text.find(label)? + label.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
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
            Some(pin) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch {
                    pinned: format_fingerprint(&pin),
                    presented: format_fingerprint(&fp),
                }))),
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
    fn a_pin_mismatch_names_both_fingerprints_and_is_found_again_in_an_error_chain() {
        let m = PinMismatch {
            pinned: vec!["AA"; 32].join(":"),
            presented: vec!["BB"; 32].join(":"),
        };
        let rustls_text = rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
            rustls::OtherError(Arc::new(m.clone())),
        ))
        .to_string();
        assert!(rustls_text.contains(&m.to_string()), "{rustls_text}");
        let chain = format!("error sending request: client error (Connect): {rustls_text}");
        assert_eq!(PinMismatch::find(&chain), Some(m.clone()));
        assert_eq!(Refusal::of(&chain), Refusal::PinChanged(m));
        assert_eq!(
            PinMismatch::find("the server's certificate changed: pinned zz"),
            None
        );
    }

    #[test]
    fn refusals_are_read_from_rustls_wording() {
        let expired = "invalid peer certificate: certificate expired: verification time \
                       1700000000 (UNIX), but certificate is not valid after 1600000000 \
                       (100000000 seconds ago)";
        assert_eq!(
            Refusal::of(expired),
            Refusal::Expired {
                not_after: Some(1_600_000_000)
            }
        );
        assert_eq!(
            Refusal::of("invalid peer certificate: Expired"),
            Refusal::Expired { not_after: None }
        );
        assert_eq!(
            Refusal::of(
                "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; \
                 certificate is only valid for DnsName(\"other.example\")"
            ),
            Refusal::WrongName
        );
        assert_eq!(
            Refusal::of("invalid peer certificate: UnknownIssuer"),
            Refusal::UnknownIssuer
        );
        assert_eq!(
            Refusal::of("invalid peer certificate: certificate not valid yet: …"),
            Refusal::NotYetValid
        );
        assert_eq!(
            Refusal::of("received corrupt message of type InvalidContentType"),
            Refusal::Other
        );
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

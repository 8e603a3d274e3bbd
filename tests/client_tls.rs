//! TLS trust against a real TLS server on loopback: a self-signed server is refused by the
//! system roots, accepted only by its pinned fingerprint, and a company CA file is honoured.
//! The certificates are test fixtures (tests/fixtures/tls/README.md).

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tb_monitor::net::NetError;
use tb_monitor::net::rest::RestClient;
use tb_monitor::net::tls::{TlsTrust, fetch_fingerprint, fingerprint, format_fingerprint};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn cert(name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(fixture(name)).unwrap()
}

/// An HTTPS server on a free loopback port that answers every request with ThingsBoard's
/// 401 body; returns its port.
async fn https_server(cert_file: &str, key_file: &str) -> u16 {
    let certs = vec![cert(cert_file)];
    let key = PrivateKeyDer::from_pem_file(fixture(key_file)).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"status":401,"message":"Invalid username or password","errorCode":10,"timestamp":0}"#;
                let resp = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                tls.write_all(resp.as_bytes()).await.ok();
                tls.shutdown().await.ok();
            });
        }
    });
    port
}

async fn login_error(port: u16, trust: TlsTrust) -> NetError {
    let client = RestClient::new(&format!("https://localhost:{port}"), trust).unwrap();
    client
        .login("tenant@thingsboard.org", "tenant")
        .await
        .unwrap_err()
}

fn reached_the_server(err: &NetError) -> bool {
    matches!(err, NetError::Server { status: 401, .. })
}

#[tokio::test]
async fn a_self_signed_server_is_refused_by_the_system_roots() {
    let port = https_server("selfsigned.crt", "selfsigned.key").await;
    let err = login_error(port, TlsTrust::System).await;
    assert!(matches!(err, NetError::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn the_fingerprint_shown_first_is_the_servers_and_pinning_it_lets_the_login_through() {
    let port = https_server("selfsigned.crt", "selfsigned.key").await;
    let seen = fetch_fingerprint("localhost", port).await.unwrap();
    assert_eq!(seen, fingerprint(&cert("selfsigned.crt")));
    let err = login_error(
        port,
        TlsTrust::Pinned {
            sha256: format_fingerprint(&seen),
        },
    )
    .await;
    assert!(reached_the_server(&err), "{err:?}");
}

#[tokio::test]
async fn a_wrong_pin_is_refused() {
    let port = https_server("selfsigned.crt", "selfsigned.key").await;
    let err = login_error(
        port,
        TlsTrust::Pinned {
            sha256: "AB".repeat(32),
        },
    )
    .await;
    assert!(matches!(err, NetError::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn a_custom_ca_file_trusts_the_servers_it_signed_and_only_those() {
    let port = https_server("server.crt", "server.key").await;
    let err = login_error(port, TlsTrust::System).await;
    assert!(matches!(err, NetError::Tls(_)), "{err:?}");
    let err = login_error(
        port,
        TlsTrust::CustomCa {
            pem_path: fixture("ca.crt"),
        },
    )
    .await;
    assert!(reached_the_server(&err), "{err:?}");
    // The CA does not vouch for the self-signed server.
    let other = https_server("selfsigned.crt", "selfsigned.key").await;
    let err = login_error(
        other,
        TlsTrust::CustomCa {
            pem_path: fixture("ca.crt"),
        },
    )
    .await;
    assert!(matches!(err, NetError::Tls(_)), "{err:?}");
}

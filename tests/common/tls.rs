//! TLS material made at test time with rcgen, and a TLS front for the demo server.
//!
//! [`Pki::new`] makes a CA and the certificates the trust tests need: one the CA signed for
//! `localhost`/`127.0.0.1`, one it signed that has expired, one it signed for another host
//! name, and two self-signed ones for `localhost`/`127.0.0.1` (a server and an impostor).
//! Every key is fresh, so nothing here can protect anything else.
//!
//! [`TlsFront`] listens on a free loopback port, terminates TLS and forwards the bytes to a
//! plain TCP address (the demo server's), so REST and the WebSocket both go through it. The
//! certificate it serves can be swapped while it runs ([`TlsFront::serve`]); the swap
//! applies to the next handshake.
//!
//! Not a module of `common`: a test file includes it with
//! `#[path = "common/tls.rs"] mod tls;`.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tb_monitor::net::tls::{fingerprint, format_fingerprint};

/// The names a certificate for this machine covers.
const LOOPBACK: [&str; 2] = ["localhost", "127.0.0.1"];

/// A certificate and its private key.
#[derive(Debug)]
pub struct Identity {
    /// The certificate (DER).
    pub cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// Its SHA-256 fingerprint as the user sees it (`AB:CD:…`).
    pub fn fingerprint(&self) -> String {
        format_fingerprint(&fingerprint(&self.cert))
    }

    fn certified_key(&self) -> Arc<CertifiedKey> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let key = PrivateKeyDer::Pkcs8(self.key.clone_key());
        Arc::new(CertifiedKey::from_der(vec![self.cert.clone()], key, &provider).unwrap())
    }
}

/// A test CA and the certificates made with it.
#[derive(Debug)]
pub struct Pki {
    /// The CA certificate, PEM (what a company hands out as `ca.pem`).
    pub ca_pem: String,
    /// Signed by the CA for `localhost` and `127.0.0.1`.
    pub server: Identity,
    /// Signed by the CA for `localhost` and `127.0.0.1`, valid only during 2020.
    pub expired: Identity,
    /// Signed by the CA for `tb.other.example` only.
    pub other_host: Identity,
    /// Self-signed for `localhost` and `127.0.0.1`.
    pub self_signed: Identity,
    /// Another self-signed certificate for the same names (an interceptor's).
    pub impostor: Identity,
}

impl Pki {
    /// Makes the CA and every certificate (P-256 keys; a few milliseconds).
    pub fn new() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tb-monitor test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let signed = |names: &[&str], during_2020: bool| {
            let mut params = leaf_params(names);
            if during_2020 {
                params.not_before = date_time_ymd(2020, 1, 1);
                params.not_after = date_time_ymd(2021, 1, 1);
            }
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &ca).unwrap();
            identity(cert.der().clone(), &key)
        };
        let self_signed = || {
            let key = KeyPair::generate().unwrap();
            let cert = leaf_params(&LOOPBACK).self_signed(&key).unwrap();
            identity(cert.der().clone(), &key)
        };
        Self {
            ca_pem: ca.pem(),
            server: signed(&LOOPBACK, false),
            expired: signed(&LOOPBACK, true),
            other_host: signed(&["tb.other.example"], false),
            self_signed: self_signed(),
            impostor: self_signed(),
        }
    }

    /// Writes the CA certificate to `ca.pem` in `dir`; returns its path.
    pub fn write_ca(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}

/// A server certificate's parameters. The subject is not a host name, so that a self-signed
/// one never names the same issuer as a root of this machine (Debian's snakeoil
/// certificate in /etc/ssl/certs is `CN=localhost` on some machines); host names are in the
/// subject alternative names, where TLS looks.
fn leaf_params(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "tb-monitor test server");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params
}

fn identity(cert: CertificateDer<'static>, key: &KeyPair) -> Identity {
    Identity {
        cert,
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

/// Serves whichever certificate was set last.
#[derive(Debug)]
struct Swappable(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Swappable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|k| Arc::clone(&k))
    }
}

/// A TLS front on a free loopback port for a plain TCP backend; stops when dropped.
#[derive(Debug)]
pub struct TlsFront {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    served: Arc<Swappable>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Starts serving `identity` in front of `backend`, on the current runtime.
    pub async fn start(backend: SocketAddr, identity: &Identity) -> Self {
        let served = Arc::new(Swappable(RwLock::new(identity.certified_key())));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&served) as Arc<dyn ResolvesServerCert>);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake (the client did not trust us) just ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    tokio::io::copy_bidirectional(&mut tls, &mut plain)
                        .await
                        .ok();
                });
            }
        });
        Self { port, served, task }
    }

    /// From the next handshake on, serves `identity` instead.
    pub fn serve(&self, identity: &Identity) {
        *self.served.0.write().unwrap() = identity.certified_key();
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// `https://localhost:<port>`.
    pub fn localhost_url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The demo server's plain TCP address (from its `http://` base URL).
pub fn demo_addr(server: &tb_monitor::demo::DemoServer) -> SocketAddr {
    server
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

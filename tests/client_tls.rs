//! TLS trust against the demo server behind a real TLS front on loopback, with certificates
//! made at test time (tests/common/tls.rs). Verification is always on: the system roots
//! refuse a self-signed or privately signed server; a company CA file lets REST and the
//! WebSocket through but not the CA's expired certificate nor one for another host name; a
//! pinned server goes live until it presents another certificate, which is refused with both
//! fingerprints named. Each refusal is checked in the words the login screen shows.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/session.rs"]
mod session;
#[path = "common/tls.rs"]
mod tls;

use std::collections::VecDeque;
use std::sync::Arc;

use session::{Client, DEADLINE, NotifyWaker, fast, is_page, latest_spec};
use tb_monitor::app::login::explain;
use tb_monitor::demo::{DemoConfig, DemoServer};
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::{TlsTrust, fetch_fingerprint, format_fingerprint};
use tb_monitor::net::{ConnState, EventQueue, NetCommand, NetError, NetEvent};
use tls::{Identity, Pki, TlsFront, demo_addr};

/// A quiet demo server behind a TLS front serving `identity`.
async fn demo_behind_tls(identity: &Identity) -> (DemoServer, TlsFront) {
    let server = DemoServer::start(DemoConfig {
        devices: 8,
        simulate: false,
        ..DemoConfig::default()
    })
    .await
    .unwrap();
    let front = TlsFront::start(demo_addr(&server), identity).await;
    (server, front)
}

/// Logs the tenant administrator in at `url`, trusting as `trust`.
async fn login(url: &str, trust: TlsTrust) -> Result<RestClient, NetError> {
    let rest = RestClient::new(url, trust)?;
    let outcome = tokio::time::timeout(DEADLINE, rest.login("tenant@thingsboard.org", "tenant"))
        .await
        .expect("the login ends in time")?;
    assert!(
        matches!(outcome, LoginOutcome::LoggedIn(_)),
        "no 2FA expected"
    );
    Ok(rest)
}

/// The TLS error of a login that must be refused, and what the login screen says of it.
async fn refused(url: &str, trust: TlsTrust) -> (String, String) {
    match login(url, trust).await {
        Err(NetError::Tls(detail)) => {
            let said = explain(&NetError::Tls(detail.clone()), url);
            (detail, said)
        }
        Err(other) => panic!("expected a TLS refusal, got {other:?}"),
        Ok(_) => panic!("the login went through"),
    }
}

/// Spawns a session on a logged-in client, subscribes the thermostats' latest values and
/// waits for Live and the page.
async fn live_session(rest: RestClient) -> Client {
    let notify = Arc::new(tokio::sync::Notify::new());
    let queue = EventQueue::new(1000, Arc::new(NotifyWaker(Arc::clone(&notify))));
    let net = tb_monitor::net::spawn(
        &tokio::runtime::Handle::current(),
        rest,
        fast(),
        queue.clone(),
    );
    let mut client = Client {
        net,
        queue,
        notify,
        pending: VecDeque::new(),
        seen: Vec::new(),
    };
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: latest_spec(),
    });
    client
        .expect("live", |e| *e == NetEvent::Connection(ConnState::Live))
        .await;
    client.expect("the page", |e| is_page(e, 1)).await;
    client
}

#[tokio::test]
async fn the_system_roots_refuse_a_self_signed_server_and_one_signed_by_an_unknown_ca() {
    let pki = Pki::new();
    for identity in [&pki.self_signed, &pki.server] {
        let (_server, front) = demo_behind_tls(identity).await;
        let (detail, said) = refused(&front.url(), TlsTrust::System).await;
        assert!(detail.contains("UnknownIssuer"), "{detail}");
        assert!(
            said.starts_with("The certificate of 127.0.0.1 is not trusted"),
            "{said}"
        );
    }
}

#[tokio::test]
async fn the_fingerprint_shown_first_is_the_servers_and_pinning_it_lets_the_login_through() {
    let pki = Pki::new();
    let (_server, front) = demo_behind_tls(&pki.self_signed).await;
    let seen = fetch_fingerprint("localhost", front.port).await.unwrap();
    assert_eq!(format_fingerprint(&seen), pki.self_signed.fingerprint());
    login(
        &front.localhost_url(),
        TlsTrust::Pinned {
            sha256: format_fingerprint(&seen),
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_custom_ca_lets_rest_and_the_websocket_through_and_a_subscription_gets_its_page() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let trust = TlsTrust::CustomCa {
        pem_path: pki.write_ca(dir.path()),
    };
    let (_server, front) = demo_behind_tls(&pki.server).await;
    for url in [front.url(), front.localhost_url()] {
        let rest = login(&url, trust.clone()).await.unwrap();
        live_session(rest).await;
    }
}

#[tokio::test]
async fn a_custom_ca_refuses_its_own_expired_certificate_saying_it_expired() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let trust = TlsTrust::CustomCa {
        pem_path: pki.write_ca(dir.path()),
    };
    let (_server, front) = demo_behind_tls(&pki.expired).await;
    let (_, said) = refused(&front.url(), trust).await;
    assert!(
        said.starts_with(
            "The certificate of 127.0.0.1 expired on 2021-01-01, so the connection cannot be \
             verified: ask the server's administrator to renew it."
        ),
        "{said}"
    );
}

#[tokio::test]
async fn a_custom_ca_refuses_its_certificate_for_another_host_name_saying_so() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let trust = TlsTrust::CustomCa {
        pem_path: pki.write_ca(dir.path()),
    };
    let (_server, front) = demo_behind_tls(&pki.other_host).await;
    let (detail, said) = refused(&front.url(), trust).await;
    assert!(detail.contains("tb.other.example"), "{detail}");
    assert!(
        said.starts_with(
            "The server's certificate is not valid for 127.0.0.1: it was issued for another \
             name."
        ),
        "{said}"
    );
}

#[tokio::test]
async fn a_custom_ca_does_not_vouch_for_a_self_signed_server() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let trust = TlsTrust::CustomCa {
        pem_path: pki.write_ca(dir.path()),
    };
    let (_server, front) = demo_behind_tls(&pki.self_signed).await;
    let (_, said) = refused(&front.url(), trust).await;
    assert!(
        said.starts_with("The certificate of 127.0.0.1 is not trusted"),
        "{said}"
    );
}

#[tokio::test]
async fn a_pinned_server_goes_live_and_once_its_certificate_changes_is_refused_naming_both_fingerprints()
 {
    let pki = Pki::new();
    let (server, front) = demo_behind_tls(&pki.self_signed).await;
    let (pinned, presented) = (pki.self_signed.fingerprint(), pki.impostor.fingerprint());
    let trust = TlsTrust::Pinned {
        sha256: pinned.clone(),
    };
    let rest = login(&front.url(), trust.clone()).await.unwrap();
    let mut client = live_session(rest).await;

    // Another certificate from now on (an interceptor, or a server re-installed).
    front.serve(&pki.impostor);
    let (_, said) = refused(&front.url(), trust).await;
    assert_eq!(
        said,
        format!(
            "The certificate of 127.0.0.1 changed since you trusted it: you pinned {pinned}, \
             but the server presented {presented}. Someone may be intercepting the connection. \
             Trust the new certificate only if your administrator confirms that it replaced the \
             old one."
        )
    );

    // The running session's next socket meets the new certificate too, and is refused.
    server.control().drop_connections(false);
    let closed = client
        .expect(
            "the refused reconnect",
            |e| matches!(e, NetEvent::Closed { reason, .. } if reason.contains(&presented)),
        )
        .await;
    let NetEvent::Closed { reason, .. } = closed else {
        unreachable!()
    };
    assert!(reason.contains(&pinned), "{reason}");
}

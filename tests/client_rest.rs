//! The client's REST side against the demo server over real sockets: login, 2FA, token
//! refresh (single-flight, retry on expiry, no loops), logout, and the panels' calls.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::wire::{quiet_config, start};
use tb_monitor::net::NetError;
use tb_monitor::net::rest::{LoginOutcome, NotificationQuery, RestClient, TimeseriesQuery};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::protocol::{Aggregation, AlarmSeverity, ThingsboardErrorCode, TwoFaProviderType};

const TENANT: (&str, &str) = ("tenant@thingsboard.org", "tenant");

async fn logged_in(server: &tb_monitor::demo::DemoServer) -> RestClient {
    let client = RestClient::new(&server.base_url(), TlsTrust::System).unwrap();
    match client.login(TENANT.0, TENANT.1).await.unwrap() {
        LoginOutcome::LoggedIn(_) => client,
        LoginOutcome::SecondFactor(_) => panic!("the tenant admin has no 2FA"),
    }
}

fn now_s() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_login_holds_tokens_and_reads_the_current_user() {
    let (server, _control) = start(quiet_config()).await;
    let client = logged_in(&server).await;
    let tokens = client.tokens().expect("tokens");
    assert_eq!(tokens.claims().sub.as_deref(), Some(TENANT.0));
    assert!(tokens.refresh().is_some());
    let user = client.current_user().await.unwrap();
    assert_eq!(user.email, TENANT.0);
}

#[tokio::test]
async fn a_wrong_password_is_the_servers_message_and_no_tokens() {
    let (server, _control) = start(quiet_config()).await;
    let client = RestClient::new(&server.base_url(), TlsTrust::System).unwrap();
    let err = client.login(TENANT.0, "wrong").await.unwrap_err();
    assert!(err.is_bad_credentials(), "{err:?}");
    assert_eq!(err.to_string(), "Invalid username or password");
    assert!(client.tokens().is_none());
    assert_eq!(
        client.current_user().await.unwrap_err(),
        NetError::NotLoggedIn
    );
}

#[tokio::test]
async fn two_factor_login_lists_providers_refuses_a_wrong_code_and_accepts_the_right_one() {
    let (server, _control) = start(quiet_config()).await;
    let client = RestClient::new(&server.base_url(), TlsTrust::System).unwrap();
    let LoginOutcome::SecondFactor(pre) = client.login("mfa@thingsboard.org", "mfa").await.unwrap()
    else {
        panic!("expected a second factor")
    };
    assert!(client.tokens().is_none());
    let providers = client.two_fa_providers(&pre).await.unwrap();
    assert_eq!(providers[0].provider_type, TwoFaProviderType::Totp);

    let secret =
        tb_monitor::demo::world::base32_decode(tb_monitor::demo::world::MFA_TOTP_SECRET_BASE32)
            .unwrap();
    // A fixed wrong code could be the right one once in a million: check that first.
    if !tb_monitor::demo::jwt::totp_matches(&secret, "000000", now_s()) {
        let err = client
            .two_fa_check(&pre, &TwoFaProviderType::Totp, "000000")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Verification code is incorrect");
    }
    let code = tb_monitor::demo::jwt::totp(&secret, now_s());
    client
        .two_fa_check(&pre, &TwoFaProviderType::Totp, &code)
        .await
        .unwrap();
    assert_eq!(
        client.current_user().await.unwrap().email,
        "mfa@thingsboard.org"
    );
}

#[tokio::test]
async fn concurrent_refreshes_share_one_request() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server).await;
    let before = control.stats().refreshes;
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.refresh().await })
        })
        .collect();
    let mut access = std::collections::HashSet::new();
    for call in calls {
        access.insert(call.await.unwrap().unwrap().access().to_owned());
    }
    assert_eq!(control.stats().refreshes - before, 1);
    assert_eq!(access.len(), 1, "every caller got the one new token");
}

#[tokio::test]
async fn a_call_with_an_expired_access_token_refreshes_once_and_succeeds() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server).await;
    let old = client.tokens().unwrap().access().to_owned();
    control.expire_access_tokens();
    let before = control.stats().refreshes;
    let user = client.current_user().await.unwrap();
    assert_eq!(user.email, TENANT.0);
    assert_eq!(control.stats().refreshes - before, 1);
    assert_ne!(client.tokens().unwrap().access(), old);
}

#[tokio::test]
async fn a_revoked_session_asks_for_the_password_instead_of_retrying() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server).await;
    control.revoke_tokens();
    let before = control.stats().refreshes;
    let err = client.current_user().await.unwrap_err();
    assert_eq!(err, NetError::SessionExpired);
    assert!(client.tokens().is_none(), "the dead tokens are forgotten");
    assert_eq!(control.stats().refreshes, before, "no refresh succeeded");
    // A second call does not try again: it needs a new login.
    assert_eq!(
        client.current_user().await.unwrap_err(),
        NetError::NotLoggedIn
    );
}

#[tokio::test]
async fn a_stored_refresh_token_resumes_the_session_without_a_password() {
    let (server, _control) = start(quiet_config()).await;
    let first = logged_in(&server).await;
    let refresh = first.tokens().unwrap().refresh().unwrap().to_owned();
    let second = RestClient::new(&server.base_url(), TlsTrust::System).unwrap();
    second.resume(&refresh).await.unwrap();
    assert_eq!(second.current_user().await.unwrap().email, TENANT.0);
    assert_eq!(
        second.resume("not.a.token").await.unwrap_err(),
        NetError::SessionExpired
    );
}

#[tokio::test]
async fn logout_forgets_the_tokens_and_the_server_refuses_them_afterwards() {
    let (server, _control) = start(quiet_config()).await;
    let client = logged_in(&server).await;
    let tokens = client.tokens().unwrap();
    client.logout().await.unwrap();
    assert!(client.tokens().is_none());
    let other = RestClient::new(&server.base_url(), TlsTrust::System).unwrap();
    other.set_tokens(Some(tokens));
    assert_eq!(
        other.current_user().await.unwrap_err(),
        NetError::SessionExpired
    );
}

#[tokio::test]
async fn alarm_actions_return_the_updated_alarm_and_repeat_actions_are_typed_errors() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server).await;
    let device = control.devices()[3].id.clone();
    let id = control.raise_alarm(&device, "Door Open", AlarmSeverity::Major, false);
    let acked = client.ack_alarm(id).await.unwrap();
    assert!(acked.acknowledged);
    let again = client.ack_alarm(id).await.unwrap_err();
    assert!(
        matches!(&again, NetError::Server { status: 400, code: ThingsboardErrorCode::BadRequestParams, message } if message == "Alarm was already acknowledged!"),
        "{again:?}"
    );
    let user = client.tokens().unwrap().claims().user_id.unwrap();
    assert_eq!(
        client
            .assign_alarm(id, user)
            .await
            .unwrap()
            .assignee_id
            .map(|a| a.id),
        Some(user)
    );
    assert!(
        client
            .unassign_alarm(id)
            .await
            .unwrap()
            .assignee_id
            .is_none()
    );
    assert!(client.clear_alarm(id).await.unwrap().cleared);
    assert!(client.alarm_info(id).await.unwrap().cleared);
    let missing = client.ack_alarm(uuid::Uuid::nil()).await.unwrap_err();
    assert!(
        matches!(missing, NetError::Server { status: 404, .. }),
        "{missing:?}"
    );
}

#[tokio::test]
async fn notifications_and_telemetry_reads_work_through_the_client() {
    let (server, control) = start(quiet_config()).await;
    let client = logged_in(&server).await;
    let page = client
        .notifications(&NotificationQuery {
            page_size: 5,
            ..NotificationQuery::default()
        })
        .await
        .unwrap();
    assert!(page.data.len() <= 5);
    client.mark_all_notifications_read().await.unwrap();
    assert_eq!(client.unread_notifications().await.unwrap(), 0);

    let thermostat = control
        .devices()
        .into_iter()
        .find(|d| d.profile == "thermostat")
        .unwrap();
    let keys = client.timeseries_keys(&thermostat.id).await.unwrap();
    assert!(keys.iter().any(|k| k == "temperature"), "{keys:?}");
    let now = tb_monitor::net::tokens::now_ms();
    let values = client
        .timeseries_values(
            &thermostat.id,
            &TimeseriesQuery {
                keys: vec!["temperature".into()],
                start_ts: now - 3_600_000,
                end_ts: now,
                interval: Some(600_000),
                limit: None,
                agg: Some(Aggregation::Avg),
            },
        )
        .await
        .unwrap();
    let points = &values["temperature"];
    assert!(!points.is_empty() && points.len() <= 7, "{}", points.len());
    let too_many = client
        .timeseries_values(
            &thermostat.id,
            &TimeseriesQuery {
                keys: vec!["temperature".into()],
                start_ts: now - 30 * 86_400_000,
                end_ts: now,
                interval: Some(1000),
                limit: None,
                agg: Some(Aggregation::Avg),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(too_many, NetError::Server { status: 400, .. }),
        "{too_many:?}"
    );
    let attrs = client
        .attribute_values(&thermostat.id, None, &[])
        .await
        .unwrap();
    assert!(!attrs.is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_unreachable_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = RestClient::new(&format!("http://{addr}"), TlsTrust::System).unwrap();
    let err = client.login(TENANT.0, TENANT.1).await.unwrap_err();
    assert!(matches!(err, NetError::Unreachable(_)), "{err:?}");
    assert!(err.is_transient());
}

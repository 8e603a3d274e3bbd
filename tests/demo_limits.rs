//! The demo server's tenant-profile limits on the wire: the per-session update rate limit
//! ("Too many updates!"), per-customer session limits, and unknown WebSocket paths.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::wire::{
    CUSTOMER, TENANT, assert_silent, authed_session, close_at, close_of, device_count_cmd,
    latest_ts_text, live_session, login_session, next_entity_page, next_text, next_update_rows,
    now_ms, quiet_config, quiet_config_with, start, temperature_latest_cmd, token_of,
};

#[tokio::test]
async fn updates_past_the_session_rate_limit_get_one_too_many_updates_and_are_then_dropped() {
    let (server, control) = start(quiet_config_with(|l| {
        l.updates_per_session = Some((3, Duration::from_mins(10)));
    }))
    .await;
    let cmd = temperature_latest_cmd(1, "thermostat");
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    let device = next_entity_page(&mut ws, 1).await.data[0].entity_id.clone();

    // Newer than any simulated point, so none is dropped as stale.
    let t0 = now_ms() + 60_000;
    for i in 0..5 {
        control.push_point(&device, "temperature", t0 + i, format!("2{i}.5"));
    }
    // Messages 2 and 3 of the window pass.
    for expected in ["20.5", "21.5"] {
        let rows = next_update_rows(&mut ws, 1).await;
        assert_eq!(latest_ts_text(&rows[0], "temperature"), Some(expected));
    }
    // The fourth becomes ThingsBoard's hand-built error, spaces after the commas included.
    assert_eq!(
        next_text(&mut ws).await,
        r#"{"subscriptionId":1, "errorCode":34, "errorMsg":"Too many updates!"}"#
    );
    // The rest are dropped silently; the socket stays open.
    assert_silent(&mut ws, Duration::from_millis(300)).await;
    // 22.5 became the error; 22.5, 23.5 and 24.5 were not delivered.
    assert_eq!(control.stats().updates_rate_limited, 3);
}

#[tokio::test]
async fn customer_sessions_past_the_customer_limit_are_closed_with_1008() {
    let (server, _control) =
        start(quiet_config_with(|l| l.max_sessions_per_customer = Some(1))).await;
    let customer = token_of(&server, CUSTOMER).await;
    let _first = live_session(&server, &customer).await;

    let mut second = authed_session(&server, &customer, &[device_count_cmd(1)]).await;
    assert_eq!(
        close_of(&mut second).await,
        (1008, "Max customer sessions limit reached".to_owned())
    );

    // Tenant admins are limited per tenant only.
    live_session(&server, &token_of(&server, TENANT).await).await;
}

#[tokio::test]
async fn the_ws_path_with_a_trailing_slash_is_an_unknown_session_type() {
    let (server, _control) = start(quiet_config()).await;
    assert_eq!(
        close_at(&format!("{}/", server.ws_url())).await,
        (1007, "Unknown session type".to_owned())
    );
}

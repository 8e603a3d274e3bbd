//! The demo server's tenant-profile limits on the wire: the per-session update rate limit
//! ("Too many updates!"), per-customer session limits, and unknown WebSocket paths.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::wire::{
    assert_silent, close_of, connect, login, next_msg, next_text, quiet_config, send, start,
};
use serde_json::{Value, json};
use tb_monitor::demo::{DemoConfig, Limits};
use tb_monitor::protocol::ServerMessage;

fn thermostat_latest(cmd_id: i32) -> Value {
    json!({
        "type": "ENTITY_DATA",
        "cmdId": cmd_id,
        "query": {
            "entityFilter": {"type": "deviceType", "deviceTypes": ["thermostat"]},
            "pageLink": {"pageSize": 100, "page": 0},
            "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}],
            "latestValues": [{"type": "TIME_SERIES", "key": "temperature"}]
        },
        "latestCmd": {"keys": [{"type": "TIME_SERIES", "key": "temperature"}]}
    })
}

fn device_count(cmd_id: i32) -> Value {
    json!({"type": "ENTITY_COUNT", "cmdId": cmd_id,
           "query": {"entityFilter": {"type": "entityType", "entityType": "DEVICE"}}})
}

#[tokio::test]
async fn updates_past_the_session_rate_limit_get_one_too_many_updates_and_are_then_dropped() {
    let (server, control) = start(DemoConfig {
        limits: Limits {
            updates_per_session: Some((3, Duration::from_mins(10))),
            ..Limits::default()
        },
        ..quiet_config()
    })
    .await;
    let (token, _) = login(&server, "tenant@thingsboard.org", "tenant").await;
    let mut ws = connect(&server.ws_url()).await;
    send(
        &mut ws,
        &json!({"authCmd": {"cmdId": 0, "token": token}, "cmds": [thermostat_latest(1)]}),
    )
    .await;
    let ServerMessage::EntityData(first) = next_msg(&mut ws).await else {
        panic!("expected the ENTITY_DATA page")
    };
    let device = first.data.expect("data page").data[0].entity_id.clone();

    // Newer than any simulated point, so none is dropped as stale.
    let t0 = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
        + 60_000;
    for i in 0..5 {
        control.push_point(&device, "temperature", t0 + i, format!("2{i}.5"));
    }
    // Messages 2 and 3 of the window pass.
    for expected in ["20.5", "21.5"] {
        let ServerMessage::EntityData(u) = next_msg(&mut ws).await else {
            panic!("expected an update")
        };
        let rows = u.update.expect("update");
        let v = rows[0]
            .latest_value(
                &tb_monitor::protocol::EntityKeyType::TimeSeries,
                "temperature",
            )
            .and_then(|v| v.value.clone())
            .expect("value");
        assert_eq!(v.as_str(), expected);
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
    let (server, _control) = start(DemoConfig {
        limits: Limits {
            max_sessions_per_customer: Some(1),
            ..Limits::default()
        },
        ..quiet_config()
    })
    .await;
    let (customer, _) = login(&server, "customer@thingsboard.org", "customer").await;
    let mut first = connect(&server.ws_url()).await;
    send(
        &mut first,
        &json!({"authCmd": {"cmdId": 0, "token": customer}, "cmds": [device_count(1)]}),
    )
    .await;
    assert!(matches!(
        next_msg(&mut first).await,
        ServerMessage::EntityCount(_)
    ));

    let mut second = connect(&server.ws_url()).await;
    send(
        &mut second,
        &json!({"authCmd": {"cmdId": 0, "token": customer}, "cmds": [device_count(1)]}),
    )
    .await;
    assert_eq!(
        close_of(&mut second).await,
        (1008, "Max customer sessions limit reached".to_owned())
    );

    // Tenant admins are limited per tenant only.
    let (tenant, _) = login(&server, "tenant@thingsboard.org", "tenant").await;
    let mut admin = connect(&server.ws_url()).await;
    send(
        &mut admin,
        &json!({"authCmd": {"cmdId": 0, "token": tenant}, "cmds": [device_count(1)]}),
    )
    .await;
    assert!(matches!(
        next_msg(&mut admin).await,
        ServerMessage::EntityCount(_)
    ));
}

#[tokio::test]
async fn the_ws_path_with_a_trailing_slash_is_an_unknown_session_type() {
    let (server, _control) = start(quiet_config()).await;
    let mut ws = connect(&format!("{}/", server.ws_url())).await;
    assert_eq!(
        close_of(&mut ws).await,
        (1007, "Unknown session type".to_owned())
    );
}

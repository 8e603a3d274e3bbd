//! The demo server on the wire: REST authentication and the WebSocket API, driven by a
//! plain tokio-tungstenite client and checked against the protocol reference.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::wire::{
    CUSTOMER, DEADLINE, TENANT, Ws, assert_silent, auth_only_frame, auth_only_session, auth_user,
    close_at, close_of, connect, delete_json, device_count_cmd, device_of_profile,
    device_telemetry_url, error_of, general, get_json, latest_ts_text, legacy_ws_url, live_session,
    login, login_session, name_of, next_entity_count, next_entity_data, next_entity_page, next_msg,
    next_notification_msgs, next_update_rows, now_ms, post_json, put_empty, quiet_config,
    quiet_config_with, refresh_with, send, start, temperature_latest_cmd, token_of,
};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tb_monitor::demo::{DemoConfig, DemoServer, DeviceInfo};
use tb_monitor::protocol::{
    ErrorScope, JwtClaims, ServerMessage, TbValue, TelemetrySubscriptionUpdate,
};
use tokio_tungstenite::tungstenite::Message;

/// The next message in the v1 shape (`subscriptionId`).
async fn next_v1(ws: &mut Ws) -> TelemetrySubscriptionUpdate {
    let ServerMessage::Telemetry(update) = next_msg(ws).await else {
        panic!("expected the v1 shape")
    };
    update
}

/// A v1 `TIMESERIES_HISTORY` command of `dev`'s `keys` over `[start_ts, end_ts]`, at most 100
/// points.
fn v1_history_cmd(
    cmd_id: i32,
    dev: &DeviceInfo,
    keys: &str,
    (start_ts, end_ts): (i64, i64),
    interval: i64,
    agg: &str,
) -> Value {
    json!({"type": "TIMESERIES_HISTORY", "cmdId": cmd_id, "entityType": "DEVICE", "entityId": dev.id.id.to_string(),
        "keys": keys, "startTs": start_ts, "endTs": end_ts, "interval": interval, "limit": 100, "agg": agg})
}

/// Opens a session with `token` and returns how the server closed it.
async fn ws_close_for(server: &DemoServer, token: &str) -> (u16, String) {
    let mut ws = auth_only_session(server, token).await;
    close_of(&mut ws).await
}

#[tokio::test]
async fn login_returns_tokens_with_thingsboards_claims_and_lifetimes() {
    let (server, _c) = start(DemoConfig {
        token_ttl: Duration::from_mins(15),
        ..quiet_config()
    })
    .await;
    let (token, refresh) = login(&server, TENANT.0, TENANT.1).await;
    let claims = JwtClaims::decode(&token).expect("access claims");
    assert_eq!(claims.sub.as_deref(), Some("tenant@thingsboard.org"));
    assert_eq!(claims.lifetime_secs(), 900);
    assert_eq!(
        claims.scopes,
        vec![tb_monitor::protocol::Authority::TenantAdmin]
    );
    assert_eq!(claims.customer_id, Some(tb_monitor::protocol::NULL_UUID));
    assert!(claims.session_id.is_some() && claims.tenant_id.is_some());
    let refresh_claims = JwtClaims::decode(&refresh).expect("refresh claims");
    assert!(refresh_claims.is_refresh_token());
    assert_eq!(refresh_claims.lifetime_secs(), 604_800);
    assert_eq!(
        token.split('.').next(),
        Some("eyJhbGciOiJIUzUxMiJ9"),
        "HS512 header"
    );
}

#[tokio::test]
async fn bad_logins_get_thingsboards_error_bodies() {
    let (server, control) = start(quiet_config()).await;
    let url = format!("{}/api/auth/login", server.base_url());
    let tenant_with = |password: &str| json!({"username": TENANT.0, "password": password});
    let response = post_json(&url, &tenant_with("nope"), None).await;
    assert_eq!(
        error_of(&response),
        (401, Some(10), Some("Invalid username or password"))
    );
    let mut extra_field = tenant_with(TENANT.1);
    extra_field["extra"] = json!(1);
    let (status, body) = post_json(&url, &extra_field, None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Authentication failed"))
    );
    control.reject_next_logins(1);
    let (status, _) = post_json(&url, &tenant_with(TENANT.1), None).await;
    assert_eq!(status, 401, "the rejected login");
    let (status, _) = post_json(&url, &tenant_with(TENANT.1), None).await;
    assert_eq!(status, 200, "only one login was to be rejected");
}

#[tokio::test]
async fn refresh_issues_a_new_pair_and_logout_makes_the_session_outdated() {
    let (server, _c) = start(quiet_config()).await;
    let base = server.base_url();
    let (token, refresh) = login(&server, TENANT.0, TENANT.1).await;
    let (status, user) = auth_user(&server, &token).await;
    assert_eq!(status, 200);
    assert_eq!(user["authority"], "TENANT_ADMIN");
    let (status, pair) = refresh_with(&server, &refresh).await;
    assert_eq!(status, 200);
    let new_token = pair["token"].as_str().expect("token").to_owned();
    let (status, _) = post_json(&format!("{base}/api/auth/logout"), &json!({}), Some(&token)).await;
    assert_eq!(status, 200);
    let (status, body) = auth_user(&server, &token).await;
    assert_eq!(
        (status, body["errorCode"].as_i64()),
        (401, Some(11)),
        "logged-out token is outdated"
    );
    assert_eq!(
        error_of(&refresh_with(&server, &refresh).await),
        (401, Some(11), Some("Token has expired"))
    );
    let (status, _) = auth_user(&server, &new_token).await;
    assert_eq!(status, 200, "the refreshed pair is its own login session");
    let (status, body) = auth_user(&server, "not.a.jwt").await;
    assert_eq!(
        (status, body["errorCode"].as_i64()),
        (401, Some(10)),
        "a malformed token"
    );
}

#[tokio::test]
async fn two_factor_login_needs_the_totp_code() {
    let (server, _c) = start(quiet_config()).await;
    let base = server.base_url();
    let (status, body) = post_json(
        &format!("{base}/api/auth/login"),
        &json!({"username": "mfa@thingsboard.org", "password": "mfa"}),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "PRE_VERIFICATION_TOKEN");
    assert!(body.get("refreshToken").is_none());
    let pre = body["token"].as_str().expect("token").to_owned();
    let (status, providers) = get_json(&format!("{base}/api/auth/2fa/providers"), &pre).await;
    assert_eq!(status, 200);
    assert_eq!(providers[0]["type"], "TOTP");
    let (status, _) = auth_user(&server, &pre).await;
    assert_eq!(status, 401, "a pre-verification token is not a session");
    let check = |code: &str| {
        format!("{base}/api/auth/2fa/verification/check?providerType=TOTP&verificationCode={code}")
    };
    let (status, body) = post_json(&check("000000"), &json!({}), Some(&pre)).await;
    // A fixed wrong code could collide with the real one once in a million; check that first.
    let secret =
        tb_monitor::demo::world::base32_decode(tb_monitor::demo::world::MFA_TOTP_SECRET_BASE32)
            .expect("secret");
    let now_s = now_ms() / 1000;
    if !tb_monitor::demo::jwt::totp_matches(&secret, "000000", now_s) {
        assert_eq!(
            (status, body["message"].as_str()),
            (400, Some("Verification code is incorrect"))
        );
    }
    let code = tb_monitor::demo::jwt::totp(&secret, now_s);
    let (status, pair) = post_json(&check(&code), &json!({}), Some(&pre)).await;
    assert_eq!(status, 200, "{pair}");
    let (status, _) = auth_user(&server, pair["token"].as_str().expect("token")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_first_frame_without_auth_cmd_is_closed_with_1008() {
    let (server, _c) = start(quiet_config()).await;
    let mut ws = connect(&server.ws_url()).await;
    send(&mut ws, &json!({"cmds": []})).await;
    assert_eq!(
        close_of(&mut ws).await,
        (1008, "Auth cmd is missing".to_owned())
    );
}

#[tokio::test]
async fn rejected_tokens_close_with_1007_and_thingsboards_reason() {
    let (server, control) = start(quiet_config()).await;
    assert_eq!(
        ws_close_for(&server, "garbage").await,
        (1007, "Invalid JWT token: ".to_owned())
    );

    let token = token_of(&server, TENANT).await;
    control.revoke_tokens();
    assert_eq!(
        ws_close_for(&server, &token).await,
        (1007, "Token is outdated".to_owned())
    );

    control.expire_tokens();
    assert_eq!(
        ws_close_for(&server, &token).await,
        (1007, "JWT Token expired".to_owned())
    );

    let mut ws = connect(&server.ws_url()).await;
    tokio::time::timeout(DEADLINE, ws.send(Message::Text("{not json".into())))
        .await
        .expect("send in time")
        .expect("send");
    let (code, reason) = close_of(&mut ws).await;
    assert_eq!(code, 1007);
    assert!(
        reason.starts_with("The given string value cannot be transformed to Json object"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_unknown_ws_path_is_closed_with_unknown_session_type() {
    let (server, _c) = start(quiet_config()).await;
    assert_eq!(
        close_at(&format!("ws://{}/api/ws/whatever", server.addr())).await,
        (1007, "Unknown session type".to_owned())
    );
}

#[tokio::test]
async fn entity_data_sends_a_full_page_first_then_string_valued_updates() {
    let (server, control) = start(quiet_config()).await;
    let cmd = temperature_latest_cmd(1, "thermostat");
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    let first = next_entity_data(&mut ws, 1).await;
    assert_eq!(first.cmd_id, 1);
    let page = first.data.expect("the first message carries data");
    assert!(first.update.is_none());
    let thermostats: Vec<_> = control
        .devices()
        .into_iter()
        .filter(|d| d.profile == "thermostat")
        .collect();
    assert_eq!(page.data.len(), thermostats.len());
    let names: Vec<String> = page.data.iter().map(name_of).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted by name");

    let target = page.data[0].entity_id.clone();
    control.push_telemetry(&target, "temperature", "36.6");
    let update = next_entity_data(&mut ws, 1).await;
    assert!(update.data.is_none());
    let rows = update.update.expect("update");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entity_id, target);
    assert!(rows[0].timeseries.is_none() && rows[0].agg_latest.is_none());
    assert_eq!(latest_ts_text(&rows[0], "temperature"), Some("36.6"));
    assert!(control.commands_received()[0].contains("\"ENTITY_DATA\""));
}

#[tokio::test]
async fn premature_updates_can_arrive_before_the_data_page() {
    let (server, control) = start(quiet_config()).await;
    control.premature_updates(true);
    let cmd = temperature_latest_cmd(3, "thermostat");
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    let first = next_entity_data(&mut ws, 3).await;
    assert!(
        first.update.is_some() && first.data.is_none(),
        "the race: update first"
    );
    let second = next_entity_data(&mut ws, 3).await;
    assert!(second.data.is_some());
}

#[tokio::test]
async fn ts_cmd_returns_history_newest_first_and_aggregates_on_midpoints() {
    let (server, control) = start(quiet_config()).await;
    let start = now_ms() - 600_000;
    let mut cmd = temperature_latest_cmd(2, "thermostat");
    cmd["tsCmd"] = json!({"keys": ["temperature"], "startTs": start, "timeWindow": 600_000, "interval": 0, "limit": 50, "agg": "NONE"});
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    let page = next_entity_data(&mut ws, 2).await.data.expect("data");
    let series = &page.data[0].timeseries.as_ref().expect("timeseries")["temperature"];
    assert!(!series.is_empty() && series.len() <= 50);
    assert!(
        series.windows(2).all(|w| w[0].ts > w[1].ts),
        "raw points newest first"
    );
    assert!(
        series
            .iter()
            .all(|p| p.value.as_ref().and_then(TbValue::as_f64).is_some())
    );

    // Re-send with aggregation: an update with the aggregated series, ascending, midpoints.
    let agg = json!({"type": "ENTITY_DATA", "cmdId": 2, "tsCmd": {"keys": ["temperature"], "startTs": start, "timeWindow": 600_000, "interval": 60_000, "limit": 1000, "agg": "AVG"}});
    send(&mut ws, &json!({"cmds": [agg]})).await;
    let rows = next_entity_data(&mut ws, 2)
        .await
        .update
        .expect("a re-sent command answers with update");
    let series = &rows[0].timeseries.as_ref().expect("timeseries")["temperature"];
    assert!(
        series.windows(2).all(|w| w[0].ts < w[1].ts),
        "aggregated points ascending"
    );
    for p in series {
        assert_eq!((p.ts - start) % 60_000, 30_000, "midpoint of its interval");
        assert!(p.count.is_some_and(|c| c > 0));
    }
    let target = rows[0].entity_id.clone();
    // Live points of a tsCmd come raw, in `timeseries`.
    control.push_telemetry(&target, "temperature", "40.5");
    let live = next_entity_data(&mut ws, 2).await;
    let row = &live.update.expect("update")[0];
    assert!(row.latest.is_none());
    assert_eq!(
        row.timeseries.as_ref().expect("ts")["temperature"][0]
            .value
            .as_ref()
            .map(TbValue::as_str),
        Some("40.5")
    );
}

#[tokio::test]
async fn more_than_700_intervals_kills_the_socket_with_1012() {
    let (server, _c) = start(quiet_config()).await;
    let mut cmd = temperature_latest_cmd(4, "thermostat");
    cmd["historyCmd"] = json!({"keys": ["temperature"], "startTs": 0, "endTs": 86_400_000_i64 * 30, "interval": 1000, "limit": 100, "agg": "AVG"});
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    assert_eq!(close_of(&mut ws).await.0, 1012);
}

#[tokio::test]
async fn errors_come_in_the_v1_shape_with_the_references_codes() {
    let (server, _c) = start(quiet_config()).await;
    let no_query = json!({"type": "ENTITY_COUNT", "cmdId": 7});
    let mut ws = login_session(&server, TENANT, &[no_query]).await;
    let msg = next_msg(&mut ws).await;
    assert_eq!(msg.error(), Some((2, "Query is empty!")));
    assert_eq!(msg.cmd_id(), Some(7));
    let mut bogus = device_count_cmd(8);
    bogus["bogus"] = json!(1);
    send(&mut ws, &json!({"cmds": [bogus]})).await;
    let msg = next_msg(&mut ws).await;
    assert_eq!(msg.error_scope(), Some(ErrorScope::WholeFrame));
    send(&mut ws, &json!({"cmds": [device_count_cmd(-3)]})).await;
    assert_eq!(
        next_msg(&mut ws).await.error(),
        Some((2, "Cmd id is negative value!"))
    );
    let mut bad_page = temperature_latest_cmd(9, "thermostat");
    bad_page["query"]["pageLink"]["pageSize"] = json!(0);
    send(&mut ws, &json!({"cmds": [bad_page]})).await;
    let msg = next_msg(&mut ws).await;
    assert_eq!(msg.error().map(|e| e.0), Some(1));
    assert!(
        msg.error()
            .expect("error")
            .1
            .contains("Page size must be greater than zero")
    );
}

#[tokio::test]
async fn entity_count_answers_at_once_and_ignores_a_duplicate_cmd_id() {
    let (server, control) = start(quiet_config()).await;
    let count = device_count_cmd(5);
    let mut ws = login_session(&server, TENANT, &[count.clone(), count]).await;
    assert_eq!(
        next_entity_count(&mut ws, 5).await,
        i64::try_from(control.devices().len()).expect("count")
    );
    // The duplicate got no reply: the next message answers a later command.
    send(
        &mut ws,
        &json!({"cmds": [{"type": "ENTITY_COUNT", "cmdId": 6}]}),
    )
    .await;
    assert_eq!(next_msg(&mut ws).await.cmd_id(), Some(6));
}

#[tokio::test]
async fn a_customer_user_sees_only_the_customers_devices() {
    let (server, control) = start(quiet_config()).await;
    let mut ws = login_session(&server, CUSTOMER, &[device_count_cmd(1)]).await;
    let count = next_entity_count(&mut ws, 1).await;
    let owned = control
        .devices()
        .iter()
        .filter(|d| d.customer_owned)
        .count();
    assert!(owned > 0 && owned < control.devices().len());
    assert_eq!(count, i64::try_from(owned).expect("count"));
}

#[tokio::test]
async fn a_frame_over_32_kib_is_closed_with_1009() {
    let (server, _c) = start(quiet_config()).await;
    let mut ws = auth_only_session(&server, &token_of(&server, TENANT).await).await;
    let big = json!({"cmds": [{"type": "ENTITY_COUNT", "cmdId": 1, "query": {"entityFilter": {"type": "entityName", "entityType": "DEVICE", "entityNameFilter": "x".repeat(33_000)}}}]});
    send(&mut ws, &big).await;
    assert_eq!(close_of(&mut ws).await.0, 1009);
}

#[tokio::test]
async fn the_server_pings_and_closes_with_4500_when_no_pong_comes() {
    let (server, _c) = start(quiet_config_with(|l| {
        l.ping_interval = Duration::from_millis(50);
        l.ping_timeout = Duration::from_millis(150);
    }))
    .await;
    let token = token_of(&server, TENANT).await;

    // A client that reads answers the pings and stays connected past the timeout.
    let mut live = auth_only_session(&server, &token).await;
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(600);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, live.next()).await {
        match msg {
            Message::Ping(_) => pings += 1,
            Message::Close(c) => panic!("a reading client was closed: {c:?}"),
            _ => {}
        }
    }
    assert!(
        pings >= 2,
        "the server pings every interval ({pings} pings)"
    );

    // A client that does not read never answers: the server gives up after the timeout.
    let mut silent = auth_only_session(&server, &token).await;
    tokio::time::sleep(Duration::from_millis(400)).await; // not reading is the point of this test
    let (code, _) = close_of(&mut silent).await;
    assert_eq!(code, 4500);
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_when_its_queue_overflows() {
    let (server, control) = start(quiet_config_with(|l| l.max_queue = 16)).await;
    let cmd = temperature_latest_cmd(1, "thermostat");
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    let target = next_entity_page(&mut ws, 1).await.data[0].entity_id.clone();
    // Far more updates than the socket buffers and the queue can hold, while not reading.
    let base = 1_700_000_000_000;
    for i in 0..60_000 {
        control.push_point(&target, "temperature", base + i, format!("{i}.5"));
        if control.stats().ws_sessions_open == 0 {
            break;
        }
        if i % 1000 == 999 {
            tokio::task::yield_now().await;
        }
    }
    let (code, reason) = close_of(&mut ws).await;
    assert_eq!(
        (code, reason.as_str()),
        (1008, "Max pending updates limit reached!")
    );
}

#[tokio::test]
async fn a_restart_drops_sessions_and_refuses_connections_for_a_while() {
    let (server, control) = start(quiet_config()).await;
    let cmd = temperature_latest_cmd(1, "thermostat");
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    next_entity_page(&mut ws, 1).await;
    control.restart(Duration::from_millis(300));
    assert_eq!(
        close_of(&mut ws).await.0,
        0,
        "dropped without a close frame"
    );
    let refused = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(server.ws_url()))
        .await
        .expect("refused in time");
    assert!(
        refused.is_err(),
        "connections are refused during the restart"
    );
    // After the restart window the server accepts again (poll with a deadline).
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if tokio::time::timeout_at(deadline, tokio_tungstenite::connect_async(server.ws_url()))
            .await
            .expect("server did not come back")
            .is_ok()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "server did not come back"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn rest_telemetry_reads_return_latest_values_and_ranges() {
    let (server, control) = start(quiet_config()).await;
    let token = token_of(&server, TENANT).await;
    let dev = device_of_profile(&control, "water-pump");
    let base = device_telemetry_url(&server, dev.id.id);
    let (status, keys) = get_json(&format!("{base}/keys/timeseries"), &token).await;
    assert_eq!(status, 200);
    assert!(
        keys.as_array()
            .expect("keys")
            .iter()
            .any(|k| k == "pressure")
    );
    let (_, latest) = get_json(&format!("{base}/values/timeseries?keys=pressure"), &token).await;
    assert!(
        latest["pressure"][0]["value"].is_string(),
        "values are strings: {latest}"
    );
    let (_, attrs) = get_json(
        &format!("{base}/values/attributes/SERVER_SCOPE?keys=active"),
        &token,
    )
    .await;
    assert_eq!(attrs[0]["key"], "active");
    assert_eq!(attrs[0]["value"], true);
    let unknown = device_telemetry_url(&server, uuid::Uuid::nil());
    let (status, _) = get_json(&format!("{unknown}/keys/timeseries"), &token).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn v1_attributes_follow_their_scope_live() {
    let (server, control) = start(quiet_config()).await;
    let dev = device_of_profile(&control, "thermostat");
    let sub = json!({"type": "ATTRIBUTES", "cmdId": 11, "entityType": "DEVICE", "entityId": dev.id.id.to_string(), "scope": "SHARED_SCOPE"});
    let mut ws = login_session(&server, TENANT, &[sub]).await;
    let first = next_v1(&mut ws).await;
    assert_eq!(first.subscription_id, 11);
    let data = first.data.expect("data");
    assert!(
        data.contains_key("targetTemperature"),
        "a shared attribute: {data:?}"
    );
    assert!(
        !data.contains_key("serialNumber"),
        "a client attribute is not in the shared scope"
    );
    let keys: Vec<&String> = data.keys().collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys sorted");

    control.set_attribute(
        &dev.id,
        tb_monitor::demo::world::Scope::Client,
        "fwVersion",
        "9.9.9",
    );
    control.set_attribute(
        &dev.id,
        tb_monitor::demo::world::Scope::Shared,
        "targetTemperature",
        "23.0",
    );
    let data = next_v1(&mut ws).await.data.expect("data");
    assert_eq!(data.len(), 1, "only the shared change arrives: {data:?}");
    assert_eq!(
        data["targetTemperature"][0].value().map(TbValue::as_str),
        Some("23.0")
    );
}

#[tokio::test]
async fn v1_timeseries_reports_missing_keys_updates_deletions_and_stops_on_unsubscribe() {
    let (server, control) = start(quiet_config()).await;
    let dev = device_of_profile(&control, "water-pump");
    let id = dev.id.id.to_string();
    let sub = json!({"type": "TIMESERIES", "cmdId": 12, "entityType": "DEVICE", "entityId": id, "keys": "pressure,noSuchKey", "scope": "LATEST_TELEMETRY"});
    let mut ws = login_session(&server, TENANT, &[sub]).await;
    let data = next_v1(&mut ws).await.data.expect("data");
    assert!(data["pressure"][0].value().is_some());
    assert_eq!(
        data["noSuchKey"][0].value(),
        None,
        "a missing key is [now, null]"
    );
    assert!(data["noSuchKey"][0].ts() > 0);

    control.push_telemetry(&dev.id, "pressure", "0.9");
    assert_eq!(
        next_v1(&mut ws).await.data.expect("data")["pressure"][0]
            .value()
            .map(TbValue::as_str),
        Some("0.9")
    );
    control.delete_telemetry(&dev.id, "pressure");
    assert!(
        next_v1(&mut ws).await.data.expect("data")["pressure"][0].is_deleted(),
        "deletions arrive as [0,\"\"]"
    );

    assert_eq!(control.stats().live_subscriptions, 1);
    let unsub = json!({"type": "TIMESERIES", "cmdId": 12, "entityType": "DEVICE", "entityId": id, "unsubscribe": true});
    let history = json!({"type": "TIMESERIES_HISTORY", "cmdId": 13, "entityType": "DEVICE", "entityId": id, "keys": "", "startTs": 0, "endTs": 1});
    send(&mut ws, &json!({"cmds": [unsub, history]})).await;
    assert_eq!(
        next_msg(&mut ws).await.error(),
        Some((2, "Keys are empty!"))
    );
    // Events reach a session in order: if the cancelled subscription were still live, its
    // pressure update would arrive before the flow-rate update of the new one.
    let other = json!({"type": "TIMESERIES", "cmdId": 16, "entityType": "DEVICE", "entityId": id, "keys": "flowRate"});
    send(&mut ws, &json!({"cmds": [other]})).await;
    assert_eq!(next_msg(&mut ws).await.cmd_id(), Some(16));
    control.push_telemetry(&dev.id, "pressure", "1.1");
    control.push_telemetry(&dev.id, "flowRate", "7.5");
    let next = next_msg(&mut ws).await;
    assert_eq!(
        next.cmd_id(),
        Some(16),
        "no update for the cancelled subscription: {next:?}"
    );
    let unsub_all = json!({"type": "TIMESERIES", "cmdId": 99, "entityType": "DEVICE", "entityId": "", "unsubscribe": true});
    send(&mut ws, &json!({"cmds": [unsub_all, {"type": "TIMESERIES_HISTORY", "cmdId": 17, "entityType": "DEVICE", "entityId": id, "keys": ""}]})).await;
    assert_eq!(next_msg(&mut ws).await.cmd_id(), Some(17));
    assert_eq!(control.stats().live_subscriptions, 0);
}

#[tokio::test]
async fn v1_history_returns_a_range_with_aggregation() {
    let (server, control) = start(quiet_config()).await;
    let dev = device_of_profile(&control, "energy-meter");
    let now = now_ms();
    let history = v1_history_cmd(14, &dev, "power", (now - 3_600_000, now), 600_000, "MAX");
    let mut ws = login_session(&server, TENANT, &[history]).await;
    let points = &next_v1(&mut ws).await.data.expect("data")["power"];
    assert!(
        (5..=6).contains(&points.len()),
        "one point per 10-minute interval with data: {}",
        points.len()
    );
    assert!(
        points
            .iter()
            .all(|p| p.value().and_then(TbValue::as_f64).is_some())
    );
}

#[tokio::test]
async fn the_legacy_telemetry_endpoint_takes_the_token_on_the_url() {
    let (server, control) = start(quiet_config()).await;
    let token = token_of(&server, TENANT).await;
    let mut ws = connect(&legacy_ws_url(&server, "telemetry", &token)).await;
    send(&mut ws, &json!({"entityCountCmds": [{"cmdId": 1, "query": {"entityFilter": {"type": "entityType", "entityType": "DEVICE"}}}]})).await;
    assert_eq!(
        next_entity_count(&mut ws, 1).await,
        i64::try_from(control.devices().len()).expect("count")
    );
    // authCmd is not part of the legacy wrapper: the frame does not parse.
    send(&mut ws, &auth_only_frame(&token)).await;
    assert_eq!(
        next_msg(&mut ws).await.error_scope(),
        Some(ErrorScope::WholeFrame)
    );

    assert_eq!(
        close_at(&legacy_ws_url(&server, "telemetry", "garbage")).await,
        (1011, "Invalid JWT token: ".to_owned())
    );
}

#[tokio::test]
async fn notifications_arrive_as_the_three_variants_with_increasing_sequence_numbers() {
    use tb_monitor::protocol::NotificationsUpdateVariant as V;
    let (server, control) = start(quiet_config()).await;
    let subs = [
        json!({"type": "NOTIFICATIONS", "cmdId": 1_000_001, "limit": 3}),
        json!({"type": "NOTIFICATIONS_COUNT", "cmdId": 1_000_002}),
    ];
    let mut ws = login_session(&server, TENANT, &subs).await;
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    let (first, count) = (&lists[0], &counts[0]);
    assert_eq!(first.variant(), V::Full);
    assert!(first.notifications.as_ref().expect("list").len() <= 3);
    assert_eq!(count.sequence_number, 1);
    let seq = first.sequence_number;
    let unread_before = first.total_unread_count;
    assert_eq!(seq, 1);
    assert_eq!(unread_before, control.unread_notifications(TENANT.0));

    let id = control
        .send_notification(TENANT.0, &general("Maintenance"))
        .expect("user");
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    assert_eq!(counts[0].total_unread_count, unread_before + 1);
    let partial = lists.into_iter().next().expect("a NOTIFICATIONS update");
    assert_eq!(partial.variant(), V::Partial);
    assert!(partial.sequence_number > seq);
    assert_eq!(partial.update.as_ref().expect("update").id.id, id);

    // Reading the shown notification sends the full list again.
    send(&mut ws, &json!({"cmds": [{"type": "MARK_NOTIFICATIONS_AS_READ", "cmdId": 1_000_003, "notifications": [id]}]})).await;
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    assert_eq!(counts[0].total_unread_count, unread_before);
    let full = lists.into_iter().next().expect("a NOTIFICATIONS update");
    assert_eq!(full.variant(), V::Full);
    assert!(full.sequence_number > partial.sequence_number);
    assert!(
        full.notifications
            .expect("list")
            .iter()
            .all(|n| n.id.id != id)
    );

    // Another user's notification does not reach this session.
    control.send_notification(CUSTOMER.0, &general("Not for you"));
    send(
        &mut ws,
        &json!({"cmds": [{"type": "MARK_ALL_NOTIFICATIONS_AS_READ", "cmdId": 1_000_004}]}),
    )
    .await;
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    assert_eq!(lists[0].variant(), V::Full);
    assert_eq!(lists[0].total_unread_count, 0);
    assert_eq!(counts[0].total_unread_count, 0);
    assert!(control.unread_notifications(CUSTOMER.0) > 0);
}

#[tokio::test]
async fn rest_notifications_page_read_and_delete() {
    let (server, control) = start(quiet_config()).await;
    let token = token_of(&server, TENANT).await;
    let base = server.base_url();
    let notifications = |params: &str| format!("{base}/api/notifications{params}");
    let id = control
        .send_notification(TENANT.0, &general("Pump check"))
        .expect("user");
    let (status, page) = get_json(
        &notifications("?pageSize=2&page=0&sortProperty=createdTime&sortOrder=DESC"),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["data"][0]["id"]["id"], id.to_string(), "newest first");
    assert_eq!(page["data"].as_array().expect("rows").len(), 2);
    assert!(page["totalElements"].as_i64().expect("total") >= 2);
    let (_, searched) = get_json(
        &notifications("?pageSize=10&page=0&textSearch=pump%20CHECK"),
        &token,
    )
    .await;
    assert_eq!(searched["totalElements"], 1);
    let (_, mobile) = get_json(&notifications("/unread/count"), &token).await;
    assert_eq!(mobile, 0, "the default delivery method is MOBILE_APP");
    let (_, web) = get_json(&notifications("/unread/count?deliveryMethod=WEB"), &token).await;
    assert_eq!(web.as_i64(), Some(control.unread_notifications(TENANT.0)));

    let notification = format!("{base}/api/notification/{id}");
    let (status, _) = put_empty(&format!("{notification}/read"), &token).await;
    assert_eq!(status, 200);
    let (_, unread) = get_json(
        &notifications("?pageSize=50&page=0&unreadOnly=true"),
        &token,
    )
    .await;
    assert!(
        unread["data"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|n| n["id"]["id"] != id.to_string() && n["status"] == "SENT")
    );
    assert_eq!(delete_json(&notification, &token).await.0, 200);
    assert_eq!(delete_json(&notification, &token).await.0, 404);
    let (status, body) = get_json(&notifications("?pageSize=0&page=0"), &token).await;
    assert_eq!((status, body["errorCode"].as_i64()), (400, Some(30)));
}

#[tokio::test]
async fn expiring_access_tokens_refuses_them_while_their_refresh_token_still_works() {
    let (server, control) = start(quiet_config()).await;
    let (token, refresh) = login(&server, TENANT.0, TENANT.1).await;
    live_session(&server, &token).await;

    control.expire_access_tokens();
    assert_eq!(
        ws_close_for(&server, &token).await,
        (1007, "JWT Token expired".to_owned())
    );
    let (status, body) = auth_user(&server, &token).await;
    assert_eq!((status, body["errorCode"].as_i64()), (401, Some(11)));

    let (status, pair) = refresh_with(&server, &refresh).await;
    assert_eq!(status, 200, "the refresh token survives: {pair}");
    let new_token = pair["token"].as_str().expect("token").to_owned();
    live_session(&server, &new_token).await;
}

#[tokio::test]
async fn expiring_all_tokens_makes_refresh_tokens_fail_with_401_and_code_11() {
    let (server, control) = start(quiet_config()).await;
    let (token, refresh) = login(&server, TENANT.0, TENANT.1).await;
    control.expire_access_tokens();
    let (status, pair) = refresh_with(&server, &refresh).await;
    assert_eq!(status, 200, "{pair}");
    let refreshed = pair["refreshToken"].as_str().expect("refresh").to_owned();

    control.expire_tokens();
    for (name, refresh) in [("the first", &refresh), ("the refreshed", &refreshed)] {
        assert_eq!(
            error_of(&refresh_with(&server, refresh).await),
            (401, Some(11), Some("Token has expired")),
            "{name} refresh token"
        );
    }
    assert_eq!(
        ws_close_for(&server, &token).await,
        (1007, "JWT Token expired".to_owned())
    );
    // Tokens issued afterwards are valid.
    let fresh = token_of(&server, TENANT).await;
    live_session(&server, &fresh).await;
}

#[tokio::test]
async fn a_login_right_after_revoking_tokens_gets_a_token_that_is_accepted_at_once() {
    let (server, control) = start(quiet_config()).await;
    let old = token_of(&server, TENANT).await;
    control.revoke_tokens();
    // Within the same second as the revocation: tokens carry `iat` in whole seconds.
    let (fresh, fresh_refresh) = login(&server, TENANT.0, TENANT.1).await;
    let (status, body) = auth_user(&server, &fresh).await;
    assert_eq!(status, 200, "the fresh token is accepted over REST: {body}");
    live_session(&server, &fresh).await;
    let (status, _) = refresh_with(&server, &fresh_refresh).await;
    assert_eq!(status, 200, "the fresh refresh token is accepted");
    assert_eq!(
        ws_close_for(&server, &old).await,
        (1007, "Token is outdated".to_owned()),
        "the token issued before the revocation stays refused"
    );
}

#[tokio::test]
async fn a_stalled_session_sends_nothing_and_delivers_the_updates_queued_meanwhile_afterwards() {
    const STALL: Duration = Duration::from_millis(800);
    let (server, control) = start(quiet_config()).await;
    let cmd = temperature_latest_cmd(1, "thermostat");
    let mut ws = login_session(&server, TENANT, &[cmd]).await;
    let target = next_entity_page(&mut ws, 1).await.data[0].entity_id.clone();

    let stalled_at = tokio::time::Instant::now();
    control.stall_sessions(STALL);
    // Between the alarm thresholds, so only the telemetry itself is sent.
    control.push_telemetry(&target, "temperature", "27.1");
    control.push_telemetry(&target, "temperature", "27.2");
    // A command sent during the stall is neither read nor answered until the stall ends.
    send(&mut ws, &json!({"cmds": [device_count_cmd(2)]})).await;
    assert_silent(&mut ws, STALL / 2).await;

    let mut values = Vec::new();
    for _ in 0..2 {
        let rows = next_update_rows(&mut ws, 1).await;
        let v = latest_ts_text(&rows[0], "temperature").map(str::to_owned);
        values.push(v.expect("a temperature"));
    }
    assert!(
        stalled_at.elapsed() >= STALL,
        "the updates came only after the stall ({:?})",
        stalled_at.elapsed()
    );
    assert_eq!(
        values,
        ["27.1", "27.2"],
        "nothing pushed during the stall is lost"
    );
    assert_eq!(
        next_msg(&mut ws).await.cmd_id(),
        Some(2),
        "the command sent during the stall is answered after it"
    );
}

#[tokio::test]
async fn aggregation_with_absurd_parameters_answers_without_bringing_the_server_down() {
    let (server, control) = start(quiet_config()).await;
    let token = token_of(&server, TENANT).await;
    let dev = device_of_profile(&control, "thermostat");
    let base = format!(
        "{}/values/timeseries?keys=temperature",
        device_telemetry_url(&server, dev.id.id)
    );
    let (min, max) = (i64::MIN, i64::MAX);
    let absurd = [
        format!("startTs={min}&endTs={max}&interval={max}&agg=AVG"),
        format!("startTs={min}&endTs={max}&interval=1&agg=SUM"),
        format!("startTs={min}&endTs={max}&interval={min}&agg=MAX"),
        format!("startTs={max}&endTs={min}&interval={max}&agg=MIN"),
        format!("startTs={min}&endTs={min}&interval={max}&agg=COUNT"),
        format!("startTs={max}&endTs={max}&interval=1&agg=AVG"),
        format!("startTs={min}&endTs={max}&limit={max}&agg=NONE"),
    ];
    for params in &absurd {
        let (status, body) = get_json(&format!("{base}&{params}"), &token).await;
        assert!(
            status == 200 || status == 400,
            "{params}: status {status}, body {body}"
        );
    }
    // The same over the WebSocket (v1 history): an answer, not a dropped socket.
    let mut ws = auth_only_session(&server, &token).await;
    for (i, (start_ts, end_ts, interval)) in [(min, max, max), (min, max, 1), (max, min, min)]
        .into_iter()
        .enumerate()
    {
        let cmd_id = 20 + i32::try_from(i).expect("small");
        let history = v1_history_cmd(
            cmd_id,
            &dev,
            "temperature",
            (start_ts, end_ts),
            interval,
            "AVG",
        );
        send(&mut ws, &json!({"cmds": [history]})).await;
        assert_eq!(next_msg(&mut ws).await.cmd_id(), Some(cmd_id));
    }
    // Still serving.
    let (status, latest) = get_json(&base, &token).await;
    assert_eq!(status, 200);
    assert!(latest["temperature"][0]["value"].is_string(), "{latest}");
    login(&server, TENANT.0, TENANT.1).await;
}

#[test]
fn dropping_a_server_after_its_runtime_has_shut_down_does_not_panic() {
    for multi_thread in [true, false] {
        let rt = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .expect("runtime");
        let server = rt.block_on(async {
            // With the simulation, so its task handle is dropped too.
            let (server, _c) = start(DemoConfig {
                simulate: true,
                ..quiet_config()
            })
            .await;
            login(&server, TENANT.0, TENANT.1).await;
            server
        });
        drop(rt);
        drop(server);
    }
}

//! Talking to a running demo server over real sockets: starting it, REST calls, command
//! builders, and a plain tokio-tungstenite WebSocket client. Every wait ends by [`DEADLINE`].
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::fmt::Display;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tb_monitor::demo::notifications::NewNotification;
use tb_monitor::demo::{DemoConfig, DemoControl, DemoServer, DeviceInfo, Limits};
use tb_monitor::protocol::{
    EntityData, EntityDataUpdate, EntityKeyType, JwtClaims, PageData, ServerMessage, TbValue,
    UnreadNotificationsCountUpdate, UnreadNotificationsUpdate,
};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// A client WebSocket.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Every wait in these tests ends by this deadline.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A small tenant (20 devices) without the live simulation: only what a test pushes changes.
pub fn quiet_config() -> DemoConfig {
    DemoConfig {
        devices: 20,
        simulate: false,
        ..DemoConfig::default()
    }
}

/// [`quiet_config`] with its limits changed by `change`.
pub fn quiet_config_with(change: impl FnOnce(&mut Limits)) -> DemoConfig {
    let mut config = quiet_config();
    change(&mut config.limits);
    config
}

/// [`quiet_config`] refreshing dynamic queries and counts every 100 ms.
pub fn fast_refresh_config() -> DemoConfig {
    quiet_config_with(|l| l.refresh_interval = Duration::from_millis(100))
}

/// The seeded tenant administrator: user name and password.
pub const TENANT: (&str, &str) = ("tenant@thingsboard.org", "tenant");
/// The seeded customer user: user name and password.
pub const CUSTOMER: (&str, &str) = ("customer@thingsboard.org", "customer");

/// Starts a server on a free port and returns it with its control handle.
pub async fn start(config: DemoConfig) -> (DemoServer, DemoControl) {
    let server = DemoServer::start(config).await.expect("demo server starts");
    let control = server.control();
    (server, control)
}

/// Starts a server and logs the tenant administrator in; returns its access token too.
pub async fn start_as_tenant(config: DemoConfig) -> (DemoServer, DemoControl, String) {
    let (server, control) = start(config).await;
    let token = token_of(&server, TENANT).await;
    (server, control, token)
}

/// The wall clock in epoch milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
}

/// Sends a request with an optional bearer token; returns the status and the JSON body
/// (`Value::Null` when the body is not JSON).
async fn respond(req: reqwest::RequestBuilder, token: Option<&str>) -> (u16, Value) {
    let req = match token {
        Some(t) => req.header("X-Authorization", format!("Bearer {t}")),
        None => req,
    };
    let resp = tokio::time::timeout(DEADLINE, req.send())
        .await
        .expect("in time")
        .expect("request");
    let status = resp.status().as_u16();
    let text = tokio::time::timeout(DEADLINE, resp.text())
        .await
        .expect("body in time")
        .expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `POST url` with a JSON body.
pub async fn post_json(url: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
    respond(reqwest::Client::new().post(url).json(body), token).await
}

/// `POST url` without a body (the alarm actions).
pub async fn post_empty(url: &str, token: &str) -> (u16, Value) {
    respond(reqwest::Client::new().post(url), Some(token)).await
}

/// `GET url`.
pub async fn get_json(url: &str, token: &str) -> (u16, Value) {
    respond(reqwest::Client::new().get(url), Some(token)).await
}

/// `PUT url` without a body (marking a notification read).
pub async fn put_empty(url: &str, token: &str) -> (u16, Value) {
    respond(reqwest::Client::new().put(url), Some(token)).await
}

/// `DELETE url`.
pub async fn delete_json(url: &str, token: &str) -> (u16, Value) {
    respond(reqwest::Client::new().delete(url), Some(token)).await
}

/// Logs in; returns the access and the refresh token.
pub async fn login(server: &DemoServer, user: &str, password: &str) -> (String, String) {
    let (status, body) = post_json(
        &format!("{}/api/auth/login", server.base_url()),
        &json!({"username": user, "password": password}),
        None,
    )
    .await;
    assert_eq!(status, 200, "login failed: {body}");
    (
        body["token"].as_str().expect("token").to_owned(),
        body["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    )
}

/// Logs `user` (name, password) in; returns the access token.
pub async fn token_of(server: &DemoServer, (user, password): (&str, &str)) -> String {
    login(server, user, password).await.0
}

/// The `userId` claim of an access token.
pub fn user_id_of(token: &str) -> Uuid {
    JwtClaims::decode(token)
        .expect("claims")
        .user_id
        .expect("userId")
}

// ----- REST -----------------------------------------------------------------------------------

/// `GET /api/auth/user`.
pub async fn auth_user(server: &DemoServer, token: &str) -> (u16, Value) {
    get_json(&format!("{}/api/auth/user", server.base_url()), token).await
}

/// `POST /api/auth/token`: exchanges a refresh token for a new pair.
pub async fn refresh_with(server: &DemoServer, refresh: &str) -> (u16, Value) {
    post_json(
        &format!("{}/api/auth/token", server.base_url()),
        &json!({"refreshToken": refresh}),
        None,
    )
    .await
}

/// The REST error triple: status, `errorCode`, `message`.
pub fn error_of((status, body): &(u16, Value)) -> (u16, Option<i64>, Option<&str>) {
    (
        *status,
        body["errorCode"].as_i64(),
        body["message"].as_str(),
    )
}

/// `/api/alarm/{id}{tail}`: the alarm itself (`tail` empty), or an action on it
/// (`/ack`, `/clear`, `/assign`, `/assign/{user}`).
pub fn alarm_url(server: &DemoServer, id: impl Display, tail: &str) -> String {
    format!("{}/api/alarm/{id}{tail}", server.base_url())
}

/// `/api/alarm/info/{id}`.
pub fn alarm_info_url(server: &DemoServer, id: impl Display) -> String {
    format!("{}/api/alarm/info/{id}", server.base_url())
}

/// `/api/v2/alarms?{params}`.
pub fn alarms_url(server: &DemoServer, params: &str) -> String {
    format!("{}/api/v2/alarms?{params}", server.base_url())
}

/// `/api/plugins/telemetry/DEVICE/{id}`: the base of a device's telemetry endpoints.
pub fn device_telemetry_url(server: &DemoServer, id: impl Display) -> String {
    format!("{}/api/plugins/telemetry/DEVICE/{id}", server.base_url())
}

/// A legacy endpoint `/api/ws/plugins/{plugin}` with the token on the URL.
pub fn legacy_ws_url(server: &DemoServer, plugin: &str, token: &str) -> String {
    format!(
        "ws://{}/api/ws/plugins/{plugin}?token={token}",
        server.addr()
    )
}

// ----- the demo world -------------------------------------------------------------------------

/// The first device of a device profile.
pub fn device_of_profile(control: &DemoControl, profile: &str) -> DeviceInfo {
    control
        .devices()
        .into_iter()
        .find(|d| d.profile == profile)
        .unwrap_or_else(|| panic!("a {profile} device"))
}

/// A `GENERAL` notification with `subject`.
pub fn general(subject: &str) -> NewNotification {
    NewNotification::General {
        subject: subject.to_owned(),
        text: format!("{subject} text"),
    }
}

// ----- commands -------------------------------------------------------------------------------

/// The entity filter of every device.
pub fn all_devices() -> Value {
    json!({"type": "entityType", "entityType": "DEVICE"})
}

/// The entity filter of one device.
pub fn single_device(dev: &DeviceInfo) -> Value {
    json!({"type": "singleEntity", "singleEntity": {"entityType": "DEVICE", "id": dev.id.id.to_string()}})
}

/// An `ENTITY_DATA` command over `query`.
pub fn entity_data_cmd(cmd_id: i32, query: &Value) -> Value {
    json!({"type": "ENTITY_DATA", "cmdId": cmd_id, "query": query})
}

/// An `ENTITY_COUNT` command over `query`.
pub fn entity_count_cmd(cmd_id: i32, query: &Value) -> Value {
    json!({"type": "ENTITY_COUNT", "cmdId": cmd_id, "query": query})
}

/// An `ENTITY_COUNT` of every device.
pub fn device_count_cmd(cmd_id: i32) -> Value {
    entity_count_cmd(cmd_id, &json!({"entityFilter": all_devices()}))
}

/// An `ENTITY_DATA` command over the devices of `device_type`, sorted by name, subscribed to
/// their latest `temperature`.
pub fn temperature_latest_cmd(cmd_id: i32, device_type: &str) -> Value {
    let latest = json!([{"type": "TIME_SERIES", "key": "temperature"}]);
    let mut cmd = entity_data_cmd(
        cmd_id,
        &json!({
            "entityFilter": {"type": "deviceType", "deviceTypes": [device_type]},
            "pageLink": {"pageSize": 100, "page": 0, "sortOrder": {"key": {"type": "ENTITY_FIELD", "key": "name"}, "direction": "ASC"}},
            "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}],
            "latestValues": latest
        }),
    );
    cmd["latestCmd"] = json!({"keys": latest});
    cmd
}

// ----- WebSocket ------------------------------------------------------------------------------

/// The first frame of an `/api/ws` session: the `authCmd` with `token`, and `cmds`.
pub fn auth_frame(token: &str, cmds: &[Value]) -> Value {
    json!({"authCmd": {"cmdId": 0, "token": token}, "cmds": cmds})
}

/// A first frame with the `authCmd` alone.
pub fn auth_only_frame(token: &str) -> Value {
    json!({"authCmd": {"cmdId": 0, "token": token}})
}

/// An `/api/ws` session that sent `cmds` with its `authCmd`.
pub async fn authed_session(server: &DemoServer, token: &str, cmds: &[Value]) -> Ws {
    let mut ws = connect(&server.ws_url()).await;
    send(&mut ws, &auth_frame(token, cmds)).await;
    ws
}

/// An `/api/ws` session that sent its `authCmd` alone.
pub async fn auth_only_session(server: &DemoServer, token: &str) -> Ws {
    let mut ws = connect(&server.ws_url()).await;
    send(&mut ws, &auth_only_frame(token)).await;
    ws
}

/// An `/api/ws` session proven live: it sent a device count (cmdId 1) with its `authCmd` and
/// has read the answer.
pub async fn live_session(server: &DemoServer, token: &str) -> Ws {
    let mut ws = authed_session(server, token, &[device_count_cmd(1)]).await;
    next_entity_count(&mut ws, 1).await;
    ws
}

/// Logs `user` (name, password) in and opens an `/api/ws` session that sent `cmds` with
/// its `authCmd`.
pub async fn login_session(server: &DemoServer, user: (&str, &str), cmds: &[Value]) -> Ws {
    let token = token_of(server, user).await;
    authed_session(server, &token, cmds).await
}

/// Opens a WebSocket.
pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("websocket handshake");
    ws
}

/// Sends one JSON text frame.
pub async fn send(ws: &mut Ws, frame: &Value) {
    tokio::time::timeout(DEADLINE, ws.send(Message::Text(frame.to_string().into())))
        .await
        .expect("send in time")
        .expect("send");
}

/// The next text frame exactly as the server wrote it (pings are answered by the library).
pub async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a message in time")
            .expect("socket open")
            .expect("no socket error");
        match msg {
            Message::Text(t) => return t.to_string(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

/// The next text frame as a decoded message.
pub async fn next_msg(ws: &mut Ws) -> ServerMessage {
    let t = next_text(ws).await;
    ServerMessage::from_json(&t).unwrap_or_else(|e| panic!("{e}: {t}"))
}

/// Asserts that no text frame arrives for `quiet` (control frames are read and ignored).
pub async fn assert_silent(ws: &mut Ws, quiet: Duration) {
    let until = tokio::time::Instant::now() + quiet;
    loop {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Text(t)))) => panic!("expected silence, got {t}"),
            Ok(Some(Ok(Message::Close(c)))) => panic!("expected silence, got a close: {c:?}"),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => panic!("expected silence, got a socket error: {e}"),
            Ok(None) => panic!("expected silence, the socket ended"),
        }
    }
}

/// Opens a WebSocket at `url`, sends nothing, and returns how the server closed it.
pub async fn close_at(url: &str) -> (u16, String) {
    let mut ws = connect(url).await;
    close_of(&mut ws).await
}

/// Reads until the server closes; returns the close code and reason.
pub async fn close_of(ws: &mut Ws) -> (u16, String) {
    loop {
        let msg = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("close in time");
        match msg {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None)) | Err(_)) | None => return (0, String::new()),
            Some(Ok(_)) => {}
        }
    }
}

/// The next message, an error-free `ENTITY_DATA` of `cmd_id`.
pub async fn next_entity_data(ws: &mut Ws, cmd_id: i32) -> EntityDataUpdate {
    match next_msg(ws).await {
        ServerMessage::EntityData(u) if u.cmd_id == cmd_id => {
            assert_eq!((u.error_code, u.error_msg.as_deref()), (0, None), "{u:?}");
            u
        }
        other => panic!("expected ENTITY_DATA for cmdId {cmd_id}, got {other:?}"),
    }
}

/// The next `ENTITY_DATA` of `cmd_id` as a full page (a first message, or a dynamic page
/// change), not an update.
pub async fn next_entity_page(ws: &mut Ws, cmd_id: i32) -> PageData<EntityData> {
    let u = next_entity_data(ws, cmd_id).await;
    assert!(u.update.is_none(), "a data page, not an update: {u:?}");
    u.data.expect("a data page")
}

/// The next `ENTITY_DATA` of `cmd_id` as update rows, not a page.
pub async fn next_update_rows(ws: &mut Ws, cmd_id: i32) -> Vec<EntityData> {
    let u = next_entity_data(ws, cmd_id).await;
    assert!(u.data.is_none(), "an update, not a data page: {u:?}");
    u.update.expect("update rows")
}

/// The next message, an error-free `COUNT_DATA` of `cmd_id`: its count.
pub async fn next_entity_count(ws: &mut Ws, cmd_id: i32) -> i64 {
    match next_msg(ws).await {
        ServerMessage::EntityCount(c) if c.cmd_id == cmd_id => {
            assert_eq!((c.error_code, c.error_msg.as_deref()), (0, None));
            c.count
        }
        other => panic!("expected COUNT_DATA for cmdId {cmd_id}, got {other:?}"),
    }
}

/// The `name` entity field of a row.
pub fn name_of(row: &EntityData) -> String {
    row.latest_value(&EntityKeyType::EntityField, "name")
        .and_then(|v| v.value.clone())
        .expect("name")
        .into_string()
}

/// The latest `TIME_SERIES` value of `key` in a row, as text (`None` when absent or null).
pub fn latest_ts_text<'a>(row: &'a EntityData, key: &str) -> Option<&'a str> {
    row.latest_value(&EntityKeyType::TimeSeries, key)
        .and_then(|v| v.value.as_ref())
        .map(TbValue::as_str)
}

/// Reads `n` notification messages (their order across subscriptions is not specified): the
/// `NOTIFICATIONS` and the `NOTIFICATIONS_COUNT` updates, each error-free.
pub async fn next_notification_msgs(
    ws: &mut Ws,
    n: usize,
) -> (
    Vec<UnreadNotificationsUpdate>,
    Vec<UnreadNotificationsCountUpdate>,
) {
    let (mut lists, mut counts) = (Vec::new(), Vec::new());
    for _ in 0..n {
        match next_msg(ws).await {
            ServerMessage::Notifications(u) => {
                assert_eq!((u.error_code, u.error_msg.as_deref()), (0, None));
                lists.push(u);
            }
            ServerMessage::NotificationsCount(c) => {
                assert_eq!((c.error_code, c.error_msg.as_deref()), (0, None));
                counts.push(c);
            }
            other => panic!("expected a notification message, got {other:?}"),
        }
    }
    (lists, counts)
}

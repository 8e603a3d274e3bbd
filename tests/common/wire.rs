//! Talking to a running demo server over real sockets: starting it, REST calls, and a plain
//! tokio-tungstenite WebSocket client. Every wait ends by [`DEADLINE`].
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tb_monitor::demo::{DemoConfig, DemoControl, DemoServer};
use tb_monitor::protocol::ServerMessage;
use tokio_tungstenite::tungstenite::Message;

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

/// Starts a server on a free port and returns it with its control handle.
pub async fn start(config: DemoConfig) -> (DemoServer, DemoControl) {
    let server = DemoServer::start(config).await.expect("demo server starts");
    let control = server.control();
    (server, control)
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

//! The WebSocket endpoints (§1, §2, §8, §10): authentication, keep-alive, limits, and
//! dispatch of commands to the session's subscriptions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{broadcast, mpsc, watch};

use super::state::{AuthFailure, Event, Principal, Shared};
use super::strict::parse_client_message;
use super::ws_alarm::AlarmSubs;
use super::ws_entity::{Ctx, EntitySubs, Outcome};
use super::ws_notify::NotifySubs;
use super::ws_v1::V1Subs;
use crate::protocol::{ServerMessage, TelemetrySubscriptionUpdate, WsCmd};

/// Close codes of §10.
pub mod close {
    /// Bad data: unknown session type, rejected token, unparseable first frame.
    pub const BAD_DATA: u16 = 1007;
    /// Policy violation: no authCmd, queue overflow, session limits.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// Frame too big.
    pub const TOO_BIG: u16 = 1009;
    /// Server error: bad `?token=` on the legacy paths.
    pub const SERVER_ERROR: u16 = 1011;
    /// Runtime failure in `ENTITY_DATA` processing.
    pub const SERVICE_RESTARTED: u16 = 1012;
    /// Ping timeout or a slow write.
    pub const SESSION_NOT_RELIABLE: u16 = 4500;
    /// Server shutting down.
    pub const GOING_AWAY: u16 = 1001;
}

/// The legacy `?token=` query parameter.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenParam {
    /// The access token.
    token: Option<String>,
}

/// Which endpoint a session came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// `/api/ws`.
    General,
    /// `/api/ws/plugins/telemetry`.
    LegacyTelemetry,
    /// `/api/ws/plugins/notifications`.
    LegacyNotifications,
    /// Any other path under `/api/ws/`.
    Unknown,
}

fn refusing(shared: &Shared) -> bool {
    let mut st = shared.lock();
    st.stats.ws_connection_attempts += 1;
    st.refuse_until.is_some_and(|t| Instant::now() < t)
}

/// `GET /api/ws`.
pub async fn general(
    ws: WebSocketUpgrade,
    AxState(shared): AxState<Arc<Shared>>,
    Query(q): Query<TokenParam>,
) -> Response {
    if shared.config.legacy_only {
        // Servers before 3.6.2 have no such endpoint.
        return StatusCode::NOT_FOUND.into_response();
    }
    upgrade(ws, shared, SessionKind::General, q.token)
}

/// `GET /api/ws/plugins/telemetry?token=`.
pub async fn legacy_telemetry(
    ws: WebSocketUpgrade,
    AxState(shared): AxState<Arc<Shared>>,
    Query(q): Query<TokenParam>,
) -> Response {
    upgrade(ws, shared, SessionKind::LegacyTelemetry, q.token)
}

/// `GET /api/ws/plugins/notifications?token=`.
pub async fn legacy_notifications(
    ws: WebSocketUpgrade,
    AxState(shared): AxState<Arc<Shared>>,
    Query(q): Query<TokenParam>,
) -> Response {
    upgrade(ws, shared, SessionKind::LegacyNotifications, q.token)
}

/// Any other `/api/ws/...` path: accepted, then closed with 1007 `Unknown session type`.
pub async fn unknown(ws: WebSocketUpgrade, AxState(shared): AxState<Arc<Shared>>) -> Response {
    upgrade(ws, shared, SessionKind::Unknown, None)
}

fn upgrade(
    ws: WebSocketUpgrade,
    shared: Arc<Shared>,
    kind: SessionKind,
    token: Option<String>,
) -> Response {
    if refusing(&shared) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    // Frames are read whole and measured by the session, which closes with 1009 like Tomcat.
    ws.max_message_size(16 << 20)
        .max_frame_size(16 << 20)
        .on_upgrade(move |socket| async move {
            Session::run(socket, shared, kind, token).await;
        })
}

/// Outbound side of a session: a bounded queue drained by a writer task.
struct Outbox {
    tx: mpsc::Sender<Message>,
    close: watch::Sender<Option<(u16, String)>>,
    /// Holds the writer until then (a stall).
    pause: watch::Sender<Option<Instant>>,
}

enum Push {
    Ok,
    Overflow,
}

impl Outbox {
    fn push(&self, msg: Message) -> Push {
        match self.tx.try_send(msg) {
            Ok(()) => Push::Ok,
            Err(_) => Push::Overflow,
        }
    }

    fn send_json(&self, msg: &ServerMessage) -> Push {
        match msg.to_json() {
            Ok(text) => self.push(Message::Text(Utf8Bytes::from(text))),
            Err(_) => Push::Ok,
        }
    }

    fn close(&self, code: u16, reason: &str) {
        // Tomcat cuts close reasons to the 123-byte limit of a close frame.
        let mut reason = reason.to_owned();
        while reason.len() > 123 {
            reason.pop();
        }
        self.close.send_replace(Some((code, reason)));
    }
}

enum Flow {
    Continue,
    End,
}

struct Session {
    shared: Arc<Shared>,
    kind: SessionKind,
    out: Outbox,
    principal: Option<Principal>,
    subs: EntitySubs,
    v1: V1Subs,
    notify: NotifySubs,
    alarms: AlarmSubs,
    last_pong: Instant,
    stalled_until: Option<Instant>,
    counted: bool,
    /// The per-session update rate limit, when configured.
    rate: Option<RateWindow>,
}

/// Whether a message may go out under the update rate limit.
enum Admit {
    Yes,
    /// The first message over the limit in this window: it becomes `Too many updates!`.
    FirstRefusal,
    No,
}

/// A fixed-window counter: `limit` messages per `window`.
struct RateWindow {
    limit: u32,
    window: Duration,
    started: Instant,
    sent: u32,
    warned: bool,
}

impl RateWindow {
    fn admit(&mut self) -> Admit {
        if self.started.elapsed() >= self.window {
            self.started = Instant::now();
            self.sent = 0;
            self.warned = false;
        }
        if self.sent < self.limit {
            self.sent += 1;
            Admit::Yes
        } else if self.warned {
            Admit::No
        } else {
            self.warned = true;
            Admit::FirstRefusal
        }
    }
}

/// Runs `f` with `principal`'s query context under the state lock (never held across an
/// await: `f` is synchronous).
fn in_ctx<R>(shared: &Shared, principal: &Principal, f: impl FnOnce(&Ctx<'_>) -> R) -> R {
    let grid = shared.grid();
    let st = shared.lock();
    f(&Ctx {
        st: &st,
        user: &principal.user,
        grid,
    })
}

/// The watch channels between a session and its writer.
struct WriterSignals {
    /// A close to send (code 0: drop the connection without one).
    close: watch::Receiver<Option<(u16, String)>>,
    /// Write nothing until then (a stall).
    pause: watch::Receiver<Option<Instant>>,
    /// Set when the writer ends.
    dead: watch::Sender<bool>,
}

/// Drains a session's outbound queue into the socket, each frame within `send_timeout`
/// (else 4500), until a close is asked for or the socket breaks.
/// The most frames one flush of the writer carries.
const WRITE_BATCH: usize = 64;

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Message>,
    mut signals: WriterSignals,
    send_timeout: Duration,
) {
    // A dead link (close code 0) ends without a close frame: the sink is dropped, not
    // closed, so the peer sees the TCP connection go away and nothing else.
    let mut abrupt = false;
    loop {
        // A stalled session writes nothing until the stall ends; its queue fills.
        let paused_until =
            (*signals.pause.borrow_and_update()).filter(|until| *until > Instant::now());
        tokio::select! {
            biased;
            changed = signals.close.changed() => {
                let frame = signals.close.borrow().clone();
                if changed.is_err() { break; }
                if let Some((code, reason)) = frame {
                    if code != 0 {
                        let close = CloseFrame { code, reason: Utf8Bytes::from(reason) };
                        tokio::time::timeout(send_timeout, sink.send(Message::Close(Some(close)))).await.ok();
                    } else {
                        abrupt = true;
                    }
                    break;
                }
            }
            () = tokio::time::sleep_until(paused_until.unwrap_or_else(Instant::now).into()), if paused_until.is_some() => {}
            changed = signals.pause.changed() => if changed.is_err() { break },
            msg = rx.recv(), if paused_until.is_none() => {
                let Some(msg) = msg else { break };
                // Frames already queued go out with this one in one flush (one write for a
                // burst instead of one per frame).
                let batch = async {
                    sink.feed(msg).await?;
                    for _ in 1..WRITE_BATCH {
                        let Ok(more) = rx.try_recv() else { break };
                        sink.feed(more).await?;
                    }
                    sink.flush().await
                };
                match tokio::time::timeout(send_timeout, batch).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        let close = CloseFrame { code: close::SESSION_NOT_RELIABLE, reason: Utf8Bytes::from_static("") };
                        tokio::time::timeout(Duration::from_millis(200), sink.send(Message::Close(Some(close)))).await.ok();
                        break;
                    }
                }
            }
        }
    }
    signals.dead.send_replace(true);
    if !abrupt {
        sink.close().await.ok();
    }
}

impl Session {
    async fn run(socket: WebSocket, shared: Arc<Shared>, kind: SessionKind, token: Option<String>) {
        let limits = shared.lock().limits.clone();
        let (sink, mut stream) = socket.split();
        let (tx, rx) = mpsc::channel::<Message>(limits.max_queue.max(1));
        let (close_tx, close_rx) = watch::channel::<Option<(u16, String)>>(None);
        let (dead_tx, mut dead_rx) = watch::channel(false);
        let (pause_tx, pause_rx) = watch::channel::<Option<Instant>>(None);
        let send_timeout = limits.send_timeout;
        let writer = tokio::spawn(write_loop(
            sink,
            rx,
            WriterSignals {
                close: close_rx,
                pause: pause_rx,
                dead: dead_tx,
            },
            send_timeout,
        ));

        let mut session = Session {
            out: Outbox {
                tx,
                close: close_tx,
                pause: pause_tx,
            },
            shared: Arc::clone(&shared),
            kind,
            principal: None,
            subs: EntitySubs::default(),
            v1: V1Subs::default(),
            notify: NotifySubs::default(),
            alarms: AlarmSubs::default(),
            last_pong: Instant::now(),
            stalled_until: None,
            counted: false,
            rate: limits
                .updates_per_session
                .map(|(limit, window)| RateWindow {
                    limit,
                    window,
                    started: Instant::now(),
                    sent: 0,
                    warned: false,
                }),
        };
        let mut events = shared.events.subscribe();
        if matches!(session.open(token.as_deref()), Flow::Continue) {
            session
                .main_loop(&mut stream, &mut events, &mut dead_rx, &limits)
                .await;
        }
        session.finish();
        let closing = session
            .out
            .close
            .borrow()
            .as_ref()
            .is_some_and(|(code, _)| *code != 0);
        drop(session);
        if closing {
            // The closing handshake: keep reading until the peer answers our close frame
            // (or a short while passes), so it can read the close code before TCP goes away.
            tokio::time::timeout(limits.send_timeout.min(Duration::from_secs(2)), async {
                while let Some(Ok(msg)) = stream.next().await {
                    if matches!(msg, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await
            .ok();
        }
        writer.await.ok();
    }

    /// Handshake-time checks: unknown paths, `?token=` on the legacy paths.
    fn open(&mut self, token: Option<&str>) -> Flow {
        match self.kind {
            SessionKind::Unknown => {
                self.out.close(close::BAD_DATA, "Unknown session type");
                Flow::End
            }
            SessionKind::General if token.is_none() => Flow::Continue,
            _ => match self.shared.authenticate(token.unwrap_or_default(), None) {
                Ok(p) => self.authenticated(p),
                Err(f) => {
                    // A bad `?token=` is refused right after the handshake with 1011.
                    self.out.close(close::SERVER_ERROR, auth_reason(f));
                    Flow::End
                }
            },
        }
    }

    fn authenticated(&mut self, p: Principal) -> Flow {
        let mut st = self.shared.lock();
        let open = usize::try_from(st.stats.ws_sessions_open).unwrap_or(usize::MAX);
        if st
            .limits
            .max_sessions_per_tenant
            .is_some_and(|max| open >= max)
        {
            drop(st);
            self.out.close(
                close::POLICY_VIOLATION,
                "Max tenant sessions limit reached!",
            );
            return Flow::End;
        }
        // Only customer users are limited per customer (§9).
        let customer = p.user.customer_id;
        if let (Some(c), Some(max)) = (customer, st.limits.max_sessions_per_customer) {
            let open = st.stats.customer_sessions.get(&c).copied().unwrap_or(0);
            if usize::try_from(open).unwrap_or(usize::MAX) >= max {
                drop(st);
                self.out.close(
                    close::POLICY_VIOLATION,
                    "Max customer sessions limit reached",
                );
                return Flow::End;
            }
        }
        if let Some(c) = customer {
            *st.stats.customer_sessions.entry(c).or_default() += 1;
        }
        st.stats.ws_sessions_open += 1;
        st.stats.ws_sessions_opened += 1;
        drop(st);
        self.counted = true;
        self.principal = Some(p);
        Flow::Continue
    }

    fn finish(&mut self) {
        let mut st = self.shared.lock();
        if self.counted {
            st.stats.ws_sessions_open = st.stats.ws_sessions_open.saturating_sub(1);
            if let Some(c) = self.principal.as_ref().and_then(|p| p.user.customer_id)
                && let Some(n) = st.stats.customer_sessions.get_mut(&c)
            {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    st.stats.customer_sessions.remove(&c);
                }
            }
        }
        st.stats.live_subscriptions = st
            .stats
            .live_subscriptions
            .saturating_sub(self.sub_count() as u64);
    }

    async fn main_loop(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        events: &mut broadcast::Receiver<Event>,
        dead: &mut watch::Receiver<bool>,
        limits: &super::config::Limits,
    ) {
        let auth_deadline = tokio::time::sleep(limits.auth_timeout);
        tokio::pin!(auth_deadline);
        let mut ping = tokio::time::interval(limits.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        let mut refresh = tokio::time::interval(limits.refresh_interval);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        refresh.tick().await;
        loop {
            if let Some(until) = self.stalled_until {
                // Stalled: the socket is neither read nor written (no pongs, no pings) until
                // the stall ends, as on a dead link; updates keep queueing, and a queue that
                // overflows closes the session as it would for a slow reader.
                let flow = tokio::select! {
                    _ = dead.changed() => Flow::End,
                    () = tokio::time::sleep_until(until.into()) => {
                        self.stalled_until = None;
                        self.last_pong = Instant::now();
                        Flow::Continue
                    }
                    ev = events.recv() => self.on_event(ev),
                };
                if matches!(flow, Flow::End) {
                    return;
                }
                continue;
            }
            let flow = tokio::select! {
                _ = dead.changed() => Flow::End,
                () = &mut auth_deadline, if self.principal.is_none() => {
                    self.out.close(close::POLICY_VIOLATION, "");
                    Flow::End
                }
                msg = stream.next() => self.on_frame(msg, limits),
                ev = events.recv() => self.on_event(ev),
                _ = ping.tick() => self.on_ping_tick(limits),
                _ = refresh.tick(), if self.principal.is_some() => self.on_refresh(),
            };
            if matches!(flow, Flow::End) {
                return;
            }
        }
    }

    fn on_ping_tick(&mut self, limits: &super::config::Limits) -> Flow {
        let idle = self.last_pong.elapsed();
        if idle >= limits.ping_timeout {
            self.out.close(close::SESSION_NOT_RELIABLE, "");
            return Flow::End;
        }
        if idle >= limits.ping_interval {
            return self.push(Message::Ping(axum::body::Bytes::new()));
        }
        Flow::Continue
    }

    fn push(&mut self, msg: Message) -> Flow {
        match self.out.push(msg) {
            Push::Ok => Flow::Continue,
            Push::Overflow => {
                self.out.close(
                    close::POLICY_VIOLATION,
                    "Max pending updates limit reached!",
                );
                Flow::End
            }
        }
    }

    fn send(&mut self, msg: &ServerMessage) -> Flow {
        if let Some(rate) = &mut self.rate {
            match rate.admit() {
                Admit::Yes => {}
                Admit::FirstRefusal => {
                    // Hand-built by ThingsBoard, spaces after the commas included (§3).
                    let text = format!(
                        "{{\"subscriptionId\":{}, \"errorCode\":34, \"errorMsg\":\"Too many updates!\"}}",
                        msg.cmd_id().unwrap_or(0)
                    );
                    self.shared.lock().stats.updates_rate_limited += 1;
                    return self.push(Message::Text(Utf8Bytes::from(text)));
                }
                Admit::No => {
                    self.shared.lock().stats.updates_rate_limited += 1;
                    return Flow::Continue;
                }
            }
        }
        match self.out.send_json(msg) {
            Push::Ok => Flow::Continue,
            Push::Overflow => {
                self.out.close(
                    close::POLICY_VIOLATION,
                    "Max pending updates limit reached!",
                );
                Flow::End
            }
        }
    }

    fn on_frame(
        &mut self,
        msg: Option<Result<Message, axum::Error>>,
        limits: &super::config::Limits,
    ) -> Flow {
        let msg = match msg {
            Some(Ok(msg)) => msg,
            Some(Err(e)) => {
                // Frames past the transport's own cap (far above `max_frame_bytes`) get the
                // same 1009 as Tomcat gives every oversized frame.
                let too_big = e
                    .into_inner()
                    .downcast_ref::<tokio_tungstenite::tungstenite::Error>()
                    .is_some_and(|e| {
                        matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_))
                    });
                if too_big {
                    self.out.close(close::TOO_BIG, "The decoded text message was too big for the output buffer and the endpoint does not support partial messages");
                }
                return Flow::End;
            }
            None => return Flow::End,
        };
        match msg {
            Message::Text(text) => {
                if text.len() > limits.max_frame_bytes {
                    self.out.close(
                        close::TOO_BIG,
                        "The decoded text message was too big for the output buffer and the endpoint does not support partial messages",
                    );
                    return Flow::End;
                }
                self.on_text(text.as_str())
            }
            Message::Pong(_) => {
                self.last_pong = Instant::now();
                Flow::Continue
            }
            Message::Close(_) => Flow::End,
            Message::Ping(_) | Message::Binary(_) => Flow::Continue,
        }
    }

    fn on_text(&mut self, text: &str) -> Flow {
        let parsed = parse_client_message(self.kind, text);
        if self.principal.is_none() {
            // The first frame of /api/ws must authenticate.
            let Ok(msg) = parsed else {
                self.out.close(
                    close::BAD_DATA,
                    &format!("The given string value cannot be transformed to Json object: {text}"),
                );
                return Flow::End;
            };
            let Some(auth) = msg.auth_cmd.as_ref() else {
                self.out
                    .close(close::POLICY_VIOLATION, "Auth cmd is missing");
                return Flow::End;
            };
            let token = auth.token.clone().unwrap_or_default();
            match self.shared.authenticate(&token, None) {
                Ok(p) => {
                    if matches!(self.authenticated(p), Flow::End) {
                        return Flow::End;
                    }
                }
                Err(f) => {
                    self.out.close(close::BAD_DATA, auth_reason(f));
                    return Flow::End;
                }
            }
            return self.run_cmds(&msg.cmds);
        }
        match parsed {
            Ok(msg) => self.run_cmds(&msg.cmds),
            Err(_) => self.send(&ServerMessage::Telemetry(
                TelemetrySubscriptionUpdate::error(1, 2, "Failed to parse the payload"),
            )),
        }
    }

    fn run_cmds(&mut self, cmds: &[WsCmd]) -> Flow {
        for cmd in cmds {
            if let Ok(text) = serde_json::to_string(cmd) {
                self.shared.lock().stats.record_command(text);
            }
            if cmd.cmd_id() < 0 {
                let msg = TelemetrySubscriptionUpdate::error(
                    cmd.cmd_id(),
                    2,
                    "Cmd id is negative value!",
                );
                if matches!(self.send(&ServerMessage::Telemetry(msg)), Flow::End) {
                    return Flow::End;
                }
                continue;
            }
            if matches!(self.run_cmd(cmd), Flow::End) {
                return Flow::End;
            }
        }
        Flow::Continue
    }

    fn run_cmd(&mut self, cmd: &WsCmd) -> Flow {
        let Some(principal) = self.principal.clone() else {
            return Flow::End;
        };
        let (allowed, premature) = {
            let st = self.shared.lock();
            (st.limits.max_entities, st.premature_updates)
        };
        self.subs.premature_updates = premature;
        let before = self.sub_count();
        let outcomes = self.dispatch(cmd, &principal, allowed);
        let after = self.sub_count();
        self.mark_notifications(cmd, &principal);
        {
            let mut st = self.shared.lock();
            st.stats.live_subscriptions =
                (st.stats.live_subscriptions + after as u64).saturating_sub(before as u64);
        }
        for o in outcomes {
            let flow = match o {
                Outcome::Send(m) => self.send(&m),
                Outcome::Close(code, reason) => {
                    self.out.close(code, &reason);
                    Flow::End
                }
            };
            if matches!(flow, Flow::End) {
                return Flow::End;
            }
        }
        Flow::Continue
    }

    /// Runs one subscription command under the state lock; `MARK_*` change the store and
    /// are left to [`Self::mark_notifications`].
    fn dispatch(&mut self, cmd: &WsCmd, principal: &Principal, allowed: usize) -> Vec<Outcome> {
        let user = principal.user.id;
        in_ctx(&self.shared, principal, |ctx| {
            let st = ctx.st;
            match cmd {
                WsCmd::EntityData(c) => self.subs.entity_data(c, ctx, allowed),
                WsCmd::EntityCount(c) => self.subs.entity_count(c, ctx),
                WsCmd::EntityDataUnsubscribe(c) => {
                    self.subs.unsubscribe_data(c.cmd_id);
                    Vec::new()
                }
                WsCmd::EntityCountUnsubscribe(c) => {
                    self.subs.unsubscribe_count(c.cmd_id);
                    Vec::new()
                }
                WsCmd::Attributes(c) => self.v1.attributes(c, ctx),
                WsCmd::Timeseries(c) => self.v1.timeseries(c, ctx),
                WsCmd::TimeseriesHistory(c) => V1Subs::history(c, ctx),
                WsCmd::Notifications(c) => self.notify.subscribe(c, &st.notifications, user),
                WsCmd::NotificationsCount(c) => {
                    self.notify.subscribe_count(c, &st.notifications, user)
                }
                WsCmd::NotificationsUnsubscribe(c) => {
                    self.notify.unsubscribe(c.cmd_id);
                    Vec::new()
                }
                WsCmd::MarkNotificationsAsRead(_) | WsCmd::MarkAllNotificationsAsRead(_) => {
                    Vec::new()
                }
                WsCmd::AlarmData(c) => self.alarms.alarm_data(c, ctx, &st.alarms, allowed),
                WsCmd::AlarmCount(c) => self.alarms.alarm_count(c, ctx, &st.alarms),
                WsCmd::AlarmStatus(c) => self.alarms.alarm_status(c, &st.alarms),
                WsCmd::AlarmDataUnsubscribe(c) => {
                    self.alarms.unsubscribe_data(c.cmd_id);
                    Vec::new()
                }
                WsCmd::AlarmCountUnsubscribe(c) => {
                    self.alarms.unsubscribe_count(c.cmd_id);
                    Vec::new()
                }
                WsCmd::AlarmStatusUnsubscribe(c) => {
                    self.alarms.unsubscribe_status(c.cmd_id);
                    Vec::new()
                }
            }
        })
    }

    fn sub_count(&self) -> usize {
        self.subs.len() + self.v1.len() + self.notify.len() + self.alarms.len()
    }

    /// `MARK_*`: changes the store and publishes the change; replies arrive on the subscriptions.
    fn mark_notifications(&self, cmd: &WsCmd, principal: &Principal) {
        let change = {
            let mut st = self.shared.lock();
            match cmd {
                WsCmd::MarkNotificationsAsRead(c) => {
                    super::ws_notify::mark_read(c, &mut st.notifications, principal.user.id)
                }
                WsCmd::MarkAllNotificationsAsRead(_) => {
                    st.notifications.mark_all_read(principal.user.id)
                }
                _ => None,
            }
        };
        super::effects::Effects::of_notifications(change).publish(&self.shared);
    }

    fn on_event(&mut self, ev: Result<Event, broadcast::error::RecvError>) -> Flow {
        let allowed = self.shared.lock().limits.max_entities;
        let msgs = match ev {
            Ok(Event::Telemetry(batch)) if self.principal.is_some() => {
                let mut msgs = self.subs.on_telemetry(&batch, allowed);
                msgs.extend(self.v1.on_telemetry(&batch));
                if !self.alarms.is_empty()
                    && let Some(p) = &self.principal
                {
                    let alarms = &mut self.alarms;
                    msgs.extend(in_ctx(&self.shared, p, |ctx| {
                        alarms.on_telemetry(&batch, ctx, &ctx.st.alarms, allowed)
                    }));
                }
                msgs
            }
            Ok(Event::TelemetryDeleted { entity, key }) if self.principal.is_some() => {
                let deleted = [(entity, key, crate::protocol::TsValue::new(0, ""))];
                let mut msgs = self.subs.on_telemetry(&deleted, allowed);
                msgs.extend(self.v1.on_telemetry(&deleted));
                msgs
            }
            Ok(Event::Attribute(a)) if self.principal.is_some() => {
                let (entity, scope, key, value) = &*a;
                let mut msgs = self.subs.on_attribute(entity, *scope, key, value, allowed);
                msgs.extend(self.v1.on_attribute(entity, *scope, key, value));
                msgs
            }
            Ok(Event::Alarm(changes)) => match &self.principal {
                Some(p) if !self.alarms.is_empty() => {
                    let alarms = &mut self.alarms;
                    in_ctx(&self.shared, p, |ctx| {
                        alarms.on_alarm_changes(&changes, ctx, &ctx.st.alarms, allowed)
                    })
                }
                _ => Vec::new(),
            },
            Ok(Event::Notification(change)) => match &self.principal {
                Some(p) if p.user.id == change.user() => {
                    let st = self.shared.lock();
                    self.notify.on_change(&st.notifications, p.user.id, &change)
                }
                _ => Vec::new(),
            },
            Ok(Event::DropAll { graceful }) => {
                if graceful {
                    self.out.close(close::GOING_AWAY, "");
                } else {
                    // Drop the connection without a close frame, like a dead link.
                    self.out.close(0, "");
                }
                return Flow::End;
            }
            Ok(Event::Stall { for_ms }) => {
                let until = Instant::now() + Duration::from_millis(for_ms);
                self.stalled_until = Some(until);
                self.out.pause.send_replace(Some(until));
                return Flow::Continue;
            }
            Ok(Event::Close { code, reason }) => {
                self.out.close(code, &reason);
                return Flow::End;
            }
            Ok(Event::RawFrame(text)) if self.principal.is_some() => {
                return self.push(Message::Text(Utf8Bytes::from(text.as_str())));
            }
            Ok(_) => Vec::new(),
            // A session that cannot keep up with the bus is as slow as a full queue.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                self.out.close(
                    close::POLICY_VIOLATION,
                    "Max pending updates limit reached!",
                );
                return Flow::End;
            }
            Err(broadcast::error::RecvError::Closed) => return Flow::End,
        };
        for m in &msgs {
            if matches!(self.send(m), Flow::End) {
                return Flow::End;
            }
        }
        Flow::Continue
    }

    fn on_refresh(&mut self) -> Flow {
        let Some(principal) = self.principal.clone() else {
            return Flow::Continue;
        };
        let allowed = self.shared.lock().limits.max_entities;
        let (subs, alarms) = (&mut self.subs, &mut self.alarms);
        let msgs = in_ctx(&self.shared, &principal, |ctx| {
            let mut msgs = subs.on_refresh(ctx, allowed);
            msgs.extend(alarms.on_refresh(ctx, &ctx.st.alarms, allowed));
            msgs
        });
        for m in &msgs {
            if matches!(self.send(m), Flow::End) {
                return Flow::End;
            }
        }
        Flow::Continue
    }
}

/// The close reason ThingsBoard gives for a refused token.
fn auth_reason(f: AuthFailure) -> &'static str {
    match f {
        AuthFailure::Empty => "Token is invalid",
        AuthFailure::Malformed | AuthFailure::WrongScope => "Invalid JWT token: ",
        AuthFailure::Expired => "JWT Token expired",
        AuthFailure::Outdated => "Token is outdated",
    }
}

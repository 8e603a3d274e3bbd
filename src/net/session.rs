//! The session task: one task owns one WebSocket and keeps it alive through anything a
//! field laptop goes through.
//!
//! - `authCmd` rides on the first frame with the first commands; frames hold at most 10
//!   commands and 32 KiB ([`super::subscriptions::frames`]).
//! - The socket is always read, so the server's pings are answered even while the UI is
//!   slow; the task pings every 10 s to measure the round trip and declares the link dead
//!   after 20 s without any frame, before the server's 30 s. A send still blocked after
//!   those 20 s (a full TCP buffer on a half-open link) means a dead link too.
//! - Reconnects back off exponentially with full jitter (1 s doubling to 60 s), reset only
//!   when the first message arrives on a new socket; after a session-limit close (1008
//!   "… sessions limit …") the next delay is at least half the cap. They happen at once when
//!   the machine wakes from sleep (the wall clock jumps against the monotonic clock, checked
//!   every tick, during a backoff wait too) or the UI asks.
//! - A token the server refuses at `authCmd` (1007) is refreshed once; when the refresh
//!   fails too, the UI is asked for the password. Never a loop, and `SessionExpired` is
//!   pushed once until the next login (`ReconnectNow`) or live socket.
//! - After a reconnect every subscription is replayed with fresh `cmdId`s; time series
//!   resume a minute before the last point seen (late points are fetched; the store
//!   replaces points it already has), and the gap is reported so plots can mark it.
//! - Close reasons are passed on and logged with JWT-like runs masked
//!   ([`super::tokens::redact_jwts`]): ThingsBoard's 1007 reason can echo the first frame.
//! - "Too many updates!" leaves the server dropping that subscription's updates: it is
//!   resubscribed after the rate-limit window.
//! - A subscription the UI could not keep up with (its messages dropped by the
//!   [`EventQueue`], see [`super::event`]) is resynced on [`NetCommand::Resync`]: subscribed
//!   again under a new `cmdId`, time series from a minute before the oldest point dropped,
//!   with [`NetEvent::Resynced`] queued between the old subscription's messages and the new.
//! - A certificate refused while opening a socket is reported as close 1015 in plain words.
//!   Expired, not yet valid, for another name or from an unknown issuer: the attempts go on
//!   (a renewed certificate fixes it). A pinned server presenting another certificate ends
//!   them: `Offline` until the user logs in again (`ReconnectNow`), since it may be an
//!   interception.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::NetError;
use super::backoff::Backoff;
use super::event::{ConnState, EventQueue, NetEvent, SubId, point_ts_bounds};
use super::rest::RestClient;
use super::subscriptions::{Registry, SubSpec, TooLarge, frames};
use super::tls::{Refusal, client_config};
use super::tokens::{now_ms, redact_jwts};
use crate::protocol::{
    ErrorScope, MAX_CMDS_PER_FRAME, MAX_FRAME_BYTES, MarkAllNotificationsAsReadCmd,
    MarkNotificationsAsReadCmd, ServerMessage, WsCmd,
};
use crate::protocol::{LEGACY_TELEMETRY_PATH, LegacyTelemetryMessage, WS_PATH};

/// Wait after a failed background token refresh before trying another.
const REFRESH_RETRY: Duration = Duration::from_secs(30);

/// Shared flag: `SessionExpired` was pushed and no new login happened since.
type ExpiredFlag = Arc<std::sync::atomic::AtomicBool>;

/// Timings of the session; tests shrink them.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// How often the client pings (RTT).
    pub ping_interval: Duration,
    /// The link counts as dead after this long without any frame.
    pub dead_after: Duration,
    /// First reconnect delay ceiling.
    pub backoff_base: Duration,
    /// Largest reconnect delay.
    pub backoff_cap: Duration,
    /// Opening a socket (TCP + TLS + upgrade) must finish within this.
    pub connect_timeout: Duration,
    /// Period of the housekeeping tick (pings, dead link, sleep detection, refresh).
    pub tick: Duration,
    /// A wall-clock jump larger than this against the monotonic clock means the machine slept.
    pub wake_jump: Duration,
    /// Wait before resubscribing after "Too many updates!".
    pub too_many_updates_retry: Duration,
    /// Largest frame accepted from the server; a larger one cannot be skipped (the stream
    /// is broken there), so it is reported as a bad frame and the socket is reopened.
    ///
    /// The default, 64 MiB, fits the largest replies the app asks for with some margin: a
    /// plot's raw series is up to 500,000 points a key (`RAW_LIMIT_MAX`), about 19 MB of
    /// JSON at ~38 bytes a point, so three keys of one entity in one reply; the Inspector's
    /// history is up to 50,000 points a key (2 MB). 16 MiB would cut a single full key.
    pub max_message_bytes: usize,
    /// The wall clock (epoch ms) the tick compares with the monotonic one to notice a sleep;
    /// tests substitute a clock they can move.
    pub wall_clock: fn() -> i64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(10),
            dead_after: Duration::from_secs(20),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_mins(1),
            connect_timeout: Duration::from_secs(15),
            tick: Duration::from_secs(1),
            wake_jump: Duration::from_secs(5),
            too_many_updates_retry: Duration::from_secs(10),
            wall_clock: now_ms,
            max_message_bytes: 64 << 20,
        }
    }
}

/// What the UI asks of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum NetCommand {
    /// Start (or replace) a subscription.
    Subscribe {
        /// The UI's id for it.
        sub: SubId,
        /// What to subscribe to.
        spec: SubSpec,
    },
    /// Change a subscription (new window, page, filter) by the server's rules.
    Update {
        /// The subscription.
        sub: SubId,
        /// The new spec.
        spec: SubSpec,
    },
    /// End a subscription.
    Unsubscribe {
        /// The subscription.
        sub: SubId,
    },
    /// Subscribe again under a new `cmdId` because the UI dropped some of its messages
    /// ([`NetEvent::Lagged`]): time series resume a minute before `since_ms` (or the last
    /// point seen, whichever is older; never before their start), everything else sends a
    /// fresh snapshot.
    Resync {
        /// The subscription.
        sub: SubId,
        /// The oldest point time dropped ([`super::event::Lag::since_ms`]).
        since_ms: Option<i64>,
    },
    /// `MARK_NOTIFICATIONS_AS_READ`.
    MarkNotificationsRead {
        /// The notifications.
        ids: Vec<uuid::Uuid>,
    },
    /// `MARK_ALL_NOTIFICATIONS_AS_READ`.
    MarkAllNotificationsRead,
    /// Reconnect now, skipping any backoff (the user clicked "retry", or logged in again).
    ReconnectNow,
    /// Close the socket and end the task.
    Shutdown,
}

/// Why a socket ended.
#[derive(Debug)]
enum Exit {
    Shutdown,
    /// The server refused the token at authentication.
    AuthRejected(String),
    /// Closed or broken; reconnect after the backoff (`immediate`: skip it).
    Lost {
        immediate: bool,
    },
    /// A pinned server presented another certificate: no more attempts until a new login.
    Untrusted,
}

/// The UI's handle on the session: a bounded command channel used with `try_send` only.
#[derive(Debug, Clone)]
pub struct NetHandle {
    tx: mpsc::Sender<NetCommand>,
}

/// Why a command could not be handed to the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is busy; try again next frame.
    #[error("the network task is busy; try again")]
    Full,
    /// The session has ended.
    #[error("the network task has stopped")]
    Closed,
}

impl NetHandle {
    /// Hands a command to the session, waiting for room in its queue (for async callers such
    /// as `watch`; the UI uses [`NetHandle::try_send`]).
    ///
    /// # Errors
    /// [`SendError::Closed`] after shutdown.
    pub async fn send(&self, cmd: NetCommand) -> Result<(), SendError> {
        self.tx.send(cmd).await.map_err(|_| SendError::Closed)
    }

    /// Hands a command to the session without waiting (the UI thread's way).
    ///
    /// # Errors
    /// [`SendError::Full`] when 64 commands are queued, [`SendError::Closed`] after shutdown.
    pub fn try_send(&self, cmd: NetCommand) -> Result<(), SendError> {
        self.tx.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }
}

/// Starts the session task on `runtime` for a logged-in `rest` client; events go to `events`.
#[must_use]
pub fn spawn(
    runtime: &tokio::runtime::Handle,
    rest: RestClient,
    config: SessionConfig,
    events: EventQueue,
) -> NetHandle {
    let (tx, rx) = mpsc::channel(64);
    let session = Session {
        backoff: Backoff::new(config.backoff_base, config.backoff_cap),
        rest,
        config,
        events,
        commands: rx,
        registry: Registry::new(),
        down_since_ms: None,
        retry_due: Vec::new(),
        legacy: false,
        refresh: None,
        expired_reported: ExpiredFlag::default(),
        server_full: false,
        auth_retry_used: false,
    };
    runtime.spawn(session.run());
    NetHandle { tx }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Session {
    rest: RestClient,
    config: SessionConfig,
    events: EventQueue,
    commands: mpsc::Receiver<NetCommand>,
    registry: Registry,
    backoff: Backoff,
    /// When the link went down (wall clock), for gap reports.
    down_since_ms: Option<i64>,
    /// Subscriptions to resubscribe at a time (after "Too many updates!").
    retry_due: Vec<(Instant, SubId)>,
    /// The server has no `/api/ws`: use the legacy telemetry endpoint.
    legacy: bool,
    /// The last background token refresh.
    refresh: Option<BackgroundRefresh>,
    /// `SessionExpired` was pushed (by this task or a background refresh): not again until
    /// a new login (`ReconnectNow`) or a live socket.
    expired_reported: ExpiredFlag,
    /// The last close said the server is full (a session limit): wait long.
    server_full: bool,
    /// A token refused at `authCmd` was refreshed once since the last live socket: a second
    /// refusal before any socket goes live asks for the password. Reset by a live socket, so
    /// every sleep past the access token's lifetime gets its own refresh.
    auth_retry_used: bool,
}

/// A token refresh running (or done) in the background.
struct BackgroundRefresh {
    task: tokio::task::JoinHandle<()>,
    started: Instant,
    /// Set when it failed for a reason worth retrying (network): wait before the next one.
    failed: Arc<std::sync::atomic::AtomicBool>,
}

/// Per-socket state.
struct Socket {
    ws: Ws,
    got_message: bool,
    last_rx: Instant,
    last_ping: Instant,
    ping_seq: u64,
    ping_sent: Option<(u64, Instant)>,
    traffic: (u32, u64),
    clocks: WakeWatch,
    gaps: Vec<SubId>,
}

/// Notices a sleep: the wall clock moving much further (or back) than the monotonic one,
/// which stops while a laptop sleeps.
struct WakeWatch {
    clock: fn() -> i64,
    jump_ms: i64,
    wall: i64,
    mono: Instant,
}

impl WakeWatch {
    fn new(config: &SessionConfig) -> Self {
        Self {
            clock: config.wall_clock,
            jump_ms: i64::try_from(config.wake_jump.as_millis()).unwrap_or(i64::MAX),
            wall: (config.wall_clock)(),
            mono: Instant::now(),
        }
    }

    /// Whether the clocks drifted apart by more than `wake_jump` since the last call.
    fn jumped(&mut self) -> bool {
        let (wall, mono) = ((self.clock)(), Instant::now());
        let wall_delta = wall.saturating_sub(self.wall);
        let mono_delta =
            i64::try_from(mono.duration_since(self.mono).as_millis()).unwrap_or(i64::MAX);
        self.wall = wall;
        self.mono = mono;
        wall_delta.saturating_sub(mono_delta).abs() > self.jump_ms
    }
}

impl Session {
    async fn run(mut self) {
        loop {
            let exit = self.connect_and_serve().await;
            match exit {
                Exit::Shutdown => {
                    self.events.push(NetEvent::Connection(ConnState::Offline {
                        reason: "stopped".to_owned(),
                    }));
                    return;
                }
                Exit::AuthRejected(reason) => {
                    self.mark_down();
                    if self.auth_retry_used {
                        tracing::warn!("the server refused a fresh token: {reason}");
                    } else {
                        // The token may have been refused as expired: refresh it once.
                        self.auth_retry_used = true;
                        match self.rest.refresh().await {
                            Ok(_) => continue,
                            Err(e) if e.is_transient() => {
                                if self.wait_backoff().await {
                                    return;
                                }
                                continue;
                            }
                            Err(_) => {}
                        }
                    }
                    if self.session_expired().await {
                        return;
                    }
                    self.auth_retry_used = false;
                    continue;
                }
                Exit::Lost { immediate: true } => {
                    self.mark_down();
                    self.backoff.reset();
                    continue;
                }
                Exit::Lost { immediate: false } => self.mark_down(),
                Exit::Untrusted => {
                    self.mark_down();
                    if self.wait_for_login().await {
                        return;
                    }
                    continue;
                }
            }
            if self.wait_backoff().await {
                return;
            }
        }
    }

    fn mark_down(&mut self) {
        self.registry.disconnected();
        if self.down_since_ms.is_none() {
            self.down_since_ms = Some(now_ms());
        }
    }

    /// Tells the UI the password is needed, then waits for a new login (`ReconnectNow`).
    /// Returns true on shutdown.
    async fn session_expired(&mut self) -> bool {
        report_expired(&self.expired_reported, &self.events);
        self.events.push(NetEvent::Connection(ConnState::Offline {
            reason: "the session has expired: log in again".to_owned(),
        }));
        self.wait_for_login().await
    }

    /// Makes no attempt until a new login (`ReconnectNow`), taking the other commands.
    /// Returns true on shutdown.
    async fn wait_for_login(&mut self) -> bool {
        loop {
            match self.commands.recv().await {
                None | Some(NetCommand::Shutdown) => return true,
                Some(NetCommand::ReconnectNow) => {
                    self.clear_expired();
                    self.backoff.reset();
                    return false;
                }
                Some(cmd) => {
                    self.apply_offline(cmd);
                }
            }
        }
    }

    /// After `ReconnectNow` (the UI may have logged in again) or on a live socket: a
    /// refused session is reported anew.
    fn clear_expired(&self) {
        self.expired_reported
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Commands while there is no socket: the registry changes, the next socket replays it.
    fn apply_offline(&mut self, cmd: NetCommand) {
        match cmd {
            NetCommand::Subscribe { sub, spec } => drop(self.registry.subscribe(sub, spec)),
            NetCommand::Update { sub, spec } => drop(self.registry.update(sub, spec)),
            NetCommand::Unsubscribe { sub } => drop(self.registry.unsubscribe(sub)),
            // Only the resume point moves: the next socket replays the subscription.
            NetCommand::Resync { sub, since_ms } => {
                drop(self.registry.resync(sub, since_ms, now_ms()));
            }
            // Marks need the server; REST does them when offline matters.
            NetCommand::MarkNotificationsRead { .. }
            | NetCommand::MarkAllNotificationsRead
            | NetCommand::ReconnectNow
            | NetCommand::Shutdown => {}
        }
    }

    /// Sleeps the backoff delay while taking commands; a wake from sleep (checked every
    /// tick: the monotonic clock the delay runs on stops while the machine sleeps) ends it at
    /// once. Returns true on shutdown.
    async fn wait_backoff(&mut self) -> bool {
        let attempt = self.backoff.attempt() + 1;
        let delay = if std::mem::take(&mut self.server_full) {
            self.backoff.next_long_delay()
        } else {
            self.backoff.next_delay()
        };
        let retry_at_ms =
            now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        self.events
            .push(NetEvent::Connection(ConnState::Reconnecting {
                attempt,
                retry_at_ms,
            }));
        let deadline = tokio::time::Instant::now() + delay;
        let mut clocks = WakeWatch::new(&self.config);
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return false,
                _ = tick.tick() => if clocks.jumped() {
                    tracing::info!("the computer woke from sleep: reconnecting now");
                    self.backoff.reset();
                    return false;
                },
                cmd = self.commands.recv() => match cmd {
                    None | Some(NetCommand::Shutdown) => return true,
                    Some(NetCommand::ReconnectNow) => {
                        self.clear_expired();
                        return false;
                    }
                    Some(cmd) => self.apply_offline(cmd),
                },
            }
        }
    }

    async fn connect_and_serve(&mut self) -> Exit {
        self.events
            .push(NetEvent::Connection(ConnState::Connecting {
                attempt: self.backoff.attempt() + 1,
            }));
        let token = match self.rest.fresh_access_token().await {
            Ok(t) => t,
            Err(NetError::SessionExpired | NetError::NotLoggedIn) => {
                return Exit::AuthRejected("no valid token".to_owned());
            }
            Err(e) => {
                tracing::info!("cannot get a token: {e}");
                return Exit::Lost { immediate: false };
            }
        };
        let opened = match self.open(&token).await {
            Err(Open::NotFound) if !self.legacy => {
                // A server before 3.6.2: the legacy endpoint takes the token on the URL.
                self.legacy = true;
                self.events.push(NetEvent::LegacyServer);
                self.open(&token).await
            }
            other => other,
        };
        let ws = match opened {
            Ok(ws) => ws,
            Err(Open::NotFound) => {
                self.closed(1006, "the server has no WebSocket endpoint (HTTP 404)");
                return Exit::Lost { immediate: false };
            }
            Err(Open::Failed(reason)) => {
                let reason = redact_jwts(&reason);
                tracing::info!("cannot open the socket: {reason}");
                return self.open_failed(&reason);
            }
        };
        let now = Instant::now();
        let mut socket = Socket {
            ws,
            got_message: false,
            last_rx: now,
            // Ping on the first tick, so the round trip shows within a second of connecting.
            last_ping: now.checked_sub(self.config.ping_interval).unwrap_or(now),
            ping_seq: 0,
            ping_sent: None,
            traffic: (0, 0),
            clocks: WakeWatch::new(&self.config),
            gaps: Vec::new(),
        };
        let (cmds, backfilled) = self.registry.connected(now_ms());
        socket.gaps = backfilled;
        let auth = (!self.legacy).then_some(token.as_str());
        if let Err(exit) = self.send_cmds(&mut socket, auth, cmds).await {
            return exit;
        }
        self.serve(&mut socket).await
    }

    async fn open(&self, token: &str) -> Result<Ws, Open> {
        let url = if self.legacy {
            // The raw token: JWTs are URL-safe, and the server does not decode it.
            format!("{}?token={token}", self.rest.ws_url(LEGACY_TELEMETRY_PATH))
        } else {
            self.rest.ws_url(WS_PATH)
        };
        let tls = client_config(self.rest.trust()).map_err(|e| Open::Failed(e.to_string()))?;
        let connector = tokio_tungstenite::Connector::Rustls(Arc::new(tls));
        let ws_config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(self.config.max_message_bytes))
            .max_frame_size(Some(self.config.max_message_bytes));
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(ws_config),
            true,
            Some(connector),
        );
        match tokio::time::timeout(self.config.connect_timeout, connect).await {
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp)))
                if resp.status().as_u16() == 404 =>
            {
                Err(Open::NotFound)
            }
            // Never echo the URL: on the legacy endpoint it holds the token.
            Ok(Err(e)) => Err(Open::Failed(redact(&e.to_string(), token))),
            Err(_) => Err(Open::Failed(format!(
                "the server did not answer within {} s",
                self.config.connect_timeout.as_secs()
            ))),
        }
    }

    /// Sends commands cut into frames (the first with `authCmd` when a token is given).
    async fn send_cmds(
        &mut self,
        socket: &mut Socket,
        token: Option<&str>,
        cmds: Vec<WsCmd>,
    ) -> Result<(), Exit> {
        if cmds.is_empty() && token.is_none() {
            return Ok(());
        }
        let (texts, too_large) = if self.legacy {
            let (texts, too_large, unsupported) = legacy_frames(cmds);
            for cmd_id in unsupported {
                if let Some(sub) = self.registry.sub_for_cmd(cmd_id) {
                    self.events.push(NetEvent::SubscriptionError {
                        sub,
                        code: 0,
                        message: "not available on this server (ThingsBoard before 3.6.2)"
                            .to_owned(),
                    });
                }
            }
            (texts, too_large)
        } else {
            frames(token, cmds)
        };
        for t in too_large {
            if let Some(sub) = self.registry.sub_for_cmd(t.cmd_id) {
                self.events.push(NetEvent::SubscriptionError {
                    sub,
                    code: 2,
                    message: t.to_string(),
                });
            }
        }
        for text in texts {
            self.send_frame(socket, Message::Text(text.into())).await?;
        }
        Ok(())
    }

    /// Sends one frame within `dead_after`: a send blocked that long (a full TCP buffer on
    /// a half-open link) must not hold up the dead-link check, so the link counts as dead.
    async fn send_frame(&self, socket: &mut Socket, msg: Message) -> Result<(), Exit> {
        let limit = self.config.dead_after;
        match tokio::time::timeout(limit, socket.ws.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => {
                self.closed(1006, "the connection broke while sending");
                Err(Exit::Lost { immediate: false })
            }
            Err(_) => {
                self.closed(
                    1006,
                    format!(
                        "a send was stuck for {} s: the link is dead",
                        limit.as_secs()
                    ),
                );
                Err(Exit::Lost { immediate: false })
            }
        }
    }

    /// Closes the socket (with `frame`), giving up after `dead_after` on a stuck link.
    async fn close_socket(&self, socket: &mut Socket, frame: Option<CloseFrame>) {
        tokio::time::timeout(self.config.dead_after, socket.ws.close(frame))
            .await
            .ok();
    }

    /// Reports a socket that could not be opened. A refused certificate closes with 1015 in
    /// plain words; a pinned server presenting another certificate also ends the attempts
    /// (it may be an interception: the user decides, by logging in again).
    fn open_failed(&self, reason: &str) -> Exit {
        match certificate_refusal(reason) {
            Some(Refusal::PinChanged(mismatch)) => {
                self.closed(1015, mismatch.to_string());
                self.events.push(NetEvent::Connection(ConnState::Offline {
                    reason: PIN_CHANGED.to_owned(),
                }));
                Exit::Untrusted
            }
            Some(refusal) => {
                self.closed(1015, refusal_words(&refusal));
                Exit::Lost { immediate: false }
            }
            None => {
                self.closed(1006, reason);
                Exit::Lost { immediate: false }
            }
        }
    }

    /// Reports a close, with JWT-like runs masked from the reason.
    fn closed(&self, code: u16, reason: impl AsRef<str>) {
        self.events.push(NetEvent::Closed {
            code,
            reason: redact_jwts(reason.as_ref()),
        });
    }

    async fn serve(&mut self, socket: &mut Socket) -> Exit {
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            // Commands and the tick first: under a flood a frame is always ready, and frames
            // first would starve pings, the dead-link and wake checks, token refreshes and the
            // UI's commands. Both are rare, so frames lose nothing by waiting for them.
            let step = tokio::select! {
                biased;
                cmd = self.commands.recv() => self.on_command(socket, cmd).await,
                _ = tick.tick() => self.on_tick(socket).await,
                frame = socket.ws.next() => self.on_frame(socket, frame),
            };
            if let Some(exit) = step {
                return exit;
            }
        }
    }

    async fn on_command(&mut self, socket: &mut Socket, cmd: Option<NetCommand>) -> Option<Exit> {
        let cmds = match cmd {
            None | Some(NetCommand::Shutdown) => {
                let bye = CloseFrame {
                    code: 1000.into(),
                    reason: "".into(),
                };
                self.close_socket(socket, Some(bye)).await;
                return Some(Exit::Shutdown);
            }
            Some(NetCommand::ReconnectNow) => {
                self.clear_expired();
                self.close_socket(socket, None).await;
                return Some(Exit::Lost { immediate: true });
            }
            Some(NetCommand::Subscribe { sub, spec }) => self.registry.subscribe(sub, spec),
            Some(NetCommand::Update { sub, spec }) => self.registry.update(sub, spec),
            Some(NetCommand::Unsubscribe { sub }) => self.registry.unsubscribe(sub),
            Some(NetCommand::Resync { sub, since_ms }) => {
                let cmds = self.registry.resync(sub, since_ms, now_ms());
                if !cmds.is_empty() {
                    // Between the old subscription's messages and the new one's.
                    self.events.push(NetEvent::Resynced { sub });
                }
                cmds
            }
            Some(NetCommand::MarkNotificationsRead { ids }) => {
                vec![WsCmd::MarkNotificationsAsRead(MarkNotificationsAsReadCmd {
                    cmd_id: 0,
                    notifications: ids,
                })]
            }
            Some(NetCommand::MarkAllNotificationsRead) => {
                vec![WsCmd::MarkAllNotificationsAsRead(
                    MarkAllNotificationsAsReadCmd { cmd_id: 0 },
                )]
            }
        };
        self.send_cmds(socket, None, cmds).await.err()
    }

    fn on_frame(
        &mut self,
        socket: &mut Socket,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Option<Exit> {
        let msg = match frame {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                if matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_)) {
                    self.events.push(NetEvent::BadFrame {
                        error: redact_jwts(&format!("the server sent a frame over our limit: {e}")),
                    });
                }
                self.closed(1006, e.to_string());
                return Some(Exit::Lost { immediate: false });
            }
            None => {
                self.closed(1006, "the connection was closed without a close frame");
                return Some(Exit::Lost { immediate: false });
            }
        };
        socket.last_rx = Instant::now();
        match msg {
            Message::Text(text) => {
                self.first_message(socket);
                socket.traffic.0 = socket.traffic.0.saturating_add(1);
                socket.traffic.1 = socket.traffic.1.saturating_add(text.len() as u64);
                self.on_text(text.as_str());
                None
            }
            Message::Pong(payload) => {
                if let Some((seq, sent)) = socket.ping_sent
                    && payload.as_ref() == seq.to_be_bytes()
                {
                    socket.ping_sent = None;
                    let ms = u32::try_from(sent.elapsed().as_millis()).unwrap_or(u32::MAX);
                    self.events.push(NetEvent::Rtt { ms });
                }
                None
            }
            Message::Close(frame) => {
                // Masked before anything sees it: 1007's reason can echo the first frame.
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), redact_jwts(f.reason.as_str()))
                });
                self.closed(code, &reason);
                // A refused token: 1007 at authCmd, or 1011 right after a legacy handshake.
                let refused = (code == 1007 && reason != "Unknown session type")
                    || (code == 1011 && self.legacy);
                if refused && !socket.got_message {
                    return Some(Exit::AuthRejected(reason));
                }
                self.server_full =
                    code == 1008 && reason.to_ascii_lowercase().contains("sessions limit");
                Some(Exit::Lost { immediate: false })
            }
            Message::Ping(_) | Message::Binary(_) | Message::Frame(_) => None,
        }
    }

    /// The first message on a socket proves it live: reset the backoff, report the gap.
    fn first_message(&mut self, socket: &mut Socket) {
        if socket.got_message {
            return;
        }
        socket.got_message = true;
        self.backoff.reset();
        self.clear_expired();
        self.auth_retry_used = false;
        // Marks "live data" in the log (the start-up measure reads it).
        tracing::info!("socket live: first message received");
        self.events.push(NetEvent::Connection(ConnState::Live));
        if let Some(from_ms) = self.down_since_ms.take() {
            let to_ms = now_ms();
            for sub in socket.gaps.drain(..) {
                self.events.push(NetEvent::Gap {
                    sub,
                    from_ms,
                    to_ms,
                });
            }
        }
    }

    fn on_text(&mut self, text: &str) {
        let msg = match ServerMessage::from_json(text) {
            Ok(m) => m,
            Err(e) => {
                // A decode error can quote the offending value, which may be a token.
                self.events.push(NetEvent::BadFrame {
                    error: redact_jwts(&e.to_string()),
                });
                return;
            }
        };
        if let Some(scope) = msg.error_scope() {
            let (code, message) = msg
                .error()
                .map_or((0, String::new()), |(c, m)| (c, redact_jwts(m)));
            match scope {
                ErrorScope::Subscription(cmd_id) => {
                    if let Some(sub) = self.registry.sub_for_cmd(cmd_id) {
                        let pending = self.retry_due.iter().any(|(_, s)| *s == sub);
                        if matches!(msg, ServerMessage::TooManyUpdates(_)) && !pending {
                            self.retry_due
                                .push((Instant::now() + self.config.too_many_updates_retry, sub));
                        }
                        self.events
                            .push(NetEvent::SubscriptionError { sub, code, message });
                    }
                }
                ErrorScope::WholeFrame | ErrorScope::SubscriptionRateLimit => {
                    self.events.push(NetEvent::BadFrame {
                        error: redact_jwts(&format!("the server refused a frame: {message}")),
                    });
                }
            }
            return;
        }
        let Some(sub) = msg.cmd_id().and_then(|id| self.registry.sub_for_cmd(id)) else {
            // A reply for a subscription that was just dropped: nothing wants it.
            return;
        };
        if let Some((_, newest)) = point_ts_bounds(&msg) {
            self.registry.observe_ts(sub, newest);
        }
        self.events.push_sized(
            NetEvent::Message {
                sub,
                msg: Box::new(msg),
            },
            text.len(),
        );
    }

    /// Refreshes the tokens ahead of expiry (so the next reconnect needs no password) in the
    /// background: one attempt at a time, and after a failed one not again for
    /// [`REFRESH_RETRY`].
    fn refresh_if_due(&mut self, wall: i64, mono: Instant) {
        if let Some(last) = &self.refresh {
            let running = !last.task.is_finished();
            let failed = last.failed.load(std::sync::atomic::Ordering::Relaxed);
            if running || (failed && mono < last.started + REFRESH_RETRY) {
                return;
            }
        }
        let due = self
            .rest
            .tokens()
            .is_some_and(|t| wall >= t.refresh_due_at_ms());
        if !due {
            return;
        }
        let rest = self.rest.clone();
        let events = self.events.clone();
        let expired = Arc::clone(&self.expired_reported);
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&failed);
        let task = tokio::spawn(async move {
            match rest.refresh().await {
                Ok(_) => {}
                Err(NetError::SessionExpired) => report_expired(&expired, &events),
                Err(_) => flag.store(true, std::sync::atomic::Ordering::Relaxed),
            }
        });
        self.refresh = Some(BackgroundRefresh {
            task,
            started: mono,
            failed,
        });
    }

    async fn on_tick(&mut self, socket: &mut Socket) -> Option<Exit> {
        let wall = now_ms();
        let mono = Instant::now();
        if socket.clocks.jumped() {
            self.closed(1006, "the computer woke from sleep");
            self.close_socket(socket, None).await;
            return Some(Exit::Lost { immediate: true });
        }
        if socket.last_rx.elapsed() >= self.config.dead_after {
            self.closed(
                1006,
                format!(
                    "no data or pong for {} s: the link is dead",
                    self.config.dead_after.as_secs()
                ),
            );
            return Some(Exit::Lost { immediate: false });
        }
        if socket.traffic.0 > 0 {
            let (msgs, bytes) = std::mem::take(&mut socket.traffic);
            self.events.push(NetEvent::Traffic { msgs, bytes });
        }
        if socket.last_ping.elapsed() >= self.config.ping_interval {
            socket.ping_seq = socket.ping_seq.wrapping_add(1);
            socket.last_ping = mono;
            socket.ping_sent = Some((socket.ping_seq, mono));
            let payload = socket.ping_seq.to_be_bytes().to_vec();
            if let Err(exit) = self.send_frame(socket, Message::Ping(payload.into())).await {
                return Some(exit);
            }
        }
        self.refresh_if_due(wall, mono);
        let due: Vec<SubId> = {
            let now = Instant::now();
            let (due, later): (Vec<_>, Vec<_>) =
                self.retry_due.drain(..).partition(|(at, _)| *at <= now);
            self.retry_due = later;
            due.into_iter().map(|(_, s)| s).collect()
        };
        let mut cmds = Vec::new();
        for sub in due {
            cmds.extend(self.registry.resubscribe(sub, wall));
        }
        self.send_cmds(socket, None, cmds).await.err()
    }
}

/// Pushes `SessionExpired` unless it was pushed since the last login.
fn report_expired(reported: &ExpiredFlag, events: &EventQueue) {
    if !reported.swap(true, std::sync::atomic::Ordering::Relaxed) {
        events.push(NetEvent::SessionExpired);
    }
}

/// What the connection view says while a pinned server presents another certificate.
const PIN_CHANGED: &str =
    "the server's certificate changed (possible interception): log in again to check it";

/// The certificate refusal an open failure's text describes, if it is one.
fn certificate_refusal(reason: &str) -> Option<Refusal> {
    match Refusal::of(reason) {
        Refusal::Other => None,
        // The names rustls gives alone ("Expired") must come from a certificate error.
        Refusal::PinChanged(m) => Some(Refusal::PinChanged(m)),
        _ if !reason.contains("certificate") => None,
        refusal => Some(refusal),
    }
}

/// A certificate refusal in plain words (the reason of the 1015 close).
fn refusal_words(refusal: &Refusal) -> String {
    let words = match refusal {
        Refusal::PinChanged(m) => return m.to_string(),
        Refusal::Expired { .. } => {
            "the server's certificate has expired: the connection cannot be verified until the \
             certificate is renewed"
        }
        Refusal::NotYetValid => {
            "the server's certificate is not valid yet: check this computer's date and time"
        }
        Refusal::WrongName => "the server's certificate was issued for another host name",
        Refusal::UnknownIssuer => {
            "the server's certificate is not signed by an authority this computer trusts"
        }
        Refusal::Other => "the secure connection could not be established",
    };
    words.to_owned()
}

/// Why a socket could not be opened.
#[derive(Debug)]
enum Open {
    /// HTTP 404 on the upgrade: the endpoint does not exist (a server before 3.6.2).
    NotFound,
    Failed(String),
}

/// `text` with every occurrence of `secret` masked.
fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "<token>")
    }
}

/// Frames for the legacy telemetry endpoint: the same commands in its typed lists, at most
/// 10 a frame. Returns the frames, the commands too large to send, and the `cmdId`s of
/// commands the endpoint does not have (alarm status, notifications).
fn legacy_frames(cmds: Vec<WsCmd>) -> (Vec<String>, Vec<TooLarge>, Vec<i32>) {
    let mut unsupported = Vec::new();
    let mut too_large = Vec::new();
    let mut texts = Vec::new();
    let mut frame = LegacyTelemetryMessage::default();
    let mut in_frame = 0usize;
    for cmd in cmds {
        let cmd_id = cmd.cmd_id();
        let kind = cmd.type_name();
        let mut one = LegacyTelemetryMessage::default();
        match cmd {
            WsCmd::Attributes(c) => one.attr_sub_cmds.push(c),
            WsCmd::Timeseries(c) => one.ts_sub_cmds.push(c),
            WsCmd::TimeseriesHistory(c) => one.history_cmds.push(c),
            WsCmd::EntityData(c) => one.entity_data_cmds.push(c),
            WsCmd::EntityDataUnsubscribe(c) => one.entity_data_unsubscribe_cmds.push(c),
            WsCmd::AlarmData(c) => one.alarm_data_cmds.push(c),
            WsCmd::AlarmDataUnsubscribe(c) => one.alarm_data_unsubscribe_cmds.push(c),
            WsCmd::EntityCount(c) => one.entity_count_cmds.push(c),
            WsCmd::EntityCountUnsubscribe(c) => one.entity_count_unsubscribe_cmds.push(c),
            WsCmd::AlarmCount(c) => one.alarm_count_cmds.push(c),
            WsCmd::AlarmCountUnsubscribe(c) => one.alarm_count_unsubscribe_cmds.push(c),
            _ => {
                unsupported.push(cmd_id);
                continue;
            }
        }
        let size = serde_json::to_string(&one).map_or(usize::MAX, |t| t.len());
        if size > MAX_FRAME_BYTES {
            too_large.push(TooLarge {
                kind,
                bytes: size,
                cmd_id,
            });
            continue;
        }
        let current = serde_json::to_string(&frame).map_or(0, |t| t.len());
        if in_frame == MAX_CMDS_PER_FRAME || current + size > MAX_FRAME_BYTES {
            if let Ok(text) = serde_json::to_string(&frame) {
                texts.push(text);
            }
            frame = LegacyTelemetryMessage::default();
            in_frame = 0;
        }
        merge_legacy(&mut frame, one);
        in_frame += 1;
    }
    if in_frame > 0
        && let Ok(text) = serde_json::to_string(&frame)
    {
        texts.push(text);
    }
    (texts, too_large, unsupported)
}

fn merge_legacy(into: &mut LegacyTelemetryMessage, one: LegacyTelemetryMessage) {
    into.attr_sub_cmds.extend(one.attr_sub_cmds);
    into.ts_sub_cmds.extend(one.ts_sub_cmds);
    into.history_cmds.extend(one.history_cmds);
    into.entity_data_cmds.extend(one.entity_data_cmds);
    into.entity_data_unsubscribe_cmds
        .extend(one.entity_data_unsubscribe_cmds);
    into.alarm_data_cmds.extend(one.alarm_data_cmds);
    into.alarm_data_unsubscribe_cmds
        .extend(one.alarm_data_unsubscribe_cmds);
    into.entity_count_cmds.extend(one.entity_count_cmds);
    into.entity_count_unsubscribe_cmds
        .extend(one.entity_count_unsubscribe_cmds);
    into.alarm_count_cmds.extend(one.alarm_count_cmds);
    into.alarm_count_unsubscribe_cmds
        .extend(one.alarm_count_unsubscribe_cmds);
}

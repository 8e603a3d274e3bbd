//! The UI side of a `net::spawn` session against the demo server, for the session and fault
//! tests: log in, spawn, wait for events (every wait ends by [`DEADLINE`]), fold what arrived
//! into a `Store`, and the subscriptions and readers the tests share (the thermostats'
//! latest temperatures, one device's temperature series).
//!
//! Not a module of `common`: a test file includes it with
//! `#[path = "common/session.rs"] mod session;`.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tb_monitor::demo::{DemoControl, DemoServer, DeviceInfo};
use tb_monitor::net::event::UiWaker;
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::net::{EventQueue, NetCommand, NetEvent, NetHandle, SessionConfig, SubSpec};
use tb_monitor::protocol::{EntityDataCmd, EntityId, EntityKeyType, ServerMessage};
use tb_monitor::store::{Store, SubData};
use tokio::sync::Notify;

/// Every wait on the session ends by this deadline.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Wakes the test task when events arrive.
pub struct NotifyWaker(pub Arc<Notify>);

impl UiWaker for NotifyWaker {
    fn wake(&self) {
        self.0.notify_one();
    }
}

/// The UI side of a session: its handle and everything it received.
pub struct Client {
    /// The session's handle.
    pub net: NetHandle,
    /// The session's event queue.
    pub queue: EventQueue,
    /// Notified when events arrive.
    pub notify: Arc<Notify>,
    /// Drained but not yet looked at.
    pub pending: VecDeque<NetEvent>,
    /// Every event looked at so far, in order.
    pub seen: Vec<NetEvent>,
}

impl Client {
    /// Waits (bounded by [`DEADLINE`]) for an event matching `pred`; returns it.
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&NetEvent) -> bool) -> NetEvent {
        self.expect_within(DEADLINE, what, pred).await
    }

    /// Waits at most `limit` for an event matching `pred`; returns it.
    pub async fn expect_within(
        &mut self,
        limit: Duration,
        what: &str,
        pred: impl Fn(&NetEvent) -> bool,
    ) -> NetEvent {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            while let Some(ev) = self.pending.pop_front() {
                self.seen.push(ev.clone());
                if pred(&ev) {
                    return ev;
                }
            }
            self.pending.extend(self.queue.drain(usize::MAX));
            if !self.pending.is_empty() {
                continue;
            }
            if tokio::time::timeout_at(deadline, self.notify.notified())
                .await
                .is_err()
            {
                panic!("no {what} within {limit:?}; saw:\n{}", brief(&self.seen));
            }
        }
    }

    /// Like [`Client::expect`], but an event already seen counts too (for events whose
    /// order against others is not specified).
    pub async fn expect_any_time(
        &mut self,
        what: &str,
        pred: impl Fn(&NetEvent) -> bool,
    ) -> NetEvent {
        if let Some(ev) = self.seen.iter().find(|e| pred(e)) {
            return ev.clone();
        }
        self.expect(what, pred).await
    }

    /// Events of the next `window` (a bounded wait for something that must not happen).
    pub async fn collect_for(&mut self, window: Duration) -> Vec<NetEvent> {
        let until = tokio::time::Instant::now() + window;
        let mut out: Vec<NetEvent> = self.pending.drain(..).collect();
        self.seen.extend(out.iter().cloned());
        loop {
            let batch = self.queue.drain(usize::MAX);
            self.seen.extend(batch.iter().cloned());
            out.extend(batch);
            if tokio::time::timeout_at(until, self.notify.notified())
                .await
                .is_err()
            {
                let batch = self.queue.drain(usize::MAX);
                self.seen.extend(batch.iter().cloned());
                out.extend(batch);
                return out;
            }
        }
    }

    /// Hands a command to the session.
    pub fn send(&self, cmd: NetCommand) {
        self.net.try_send(cmd).unwrap();
    }

    /// Pushes `value` as the first thermostat's temperature, a minute ahead, and waits for
    /// the update carrying it.
    pub async fn push_and_expect(&mut self, control: &DemoControl, what: &str, value: &str) {
        let device = thermostats(control)[0].id.clone();
        control.push_point(&device, "temperature", now_ms() + 60_000, value);
        self.expect(what, |e| {
            latest_text(e, "temperature").as_deref() == Some(value)
        })
        .await;
    }

    /// Whether a close was seen.
    pub fn saw_close(&self) -> bool {
        self.seen
            .iter()
            .any(|e| matches!(e, NetEvent::Closed { .. }))
    }

    /// How many events seen so far match `pred`.
    pub fn count(&self, pred: impl Fn(&NetEvent) -> bool) -> usize {
        self.seen.iter().filter(|e| pred(e)).count()
    }

    /// Catches up as the app's UI does each frame: drains every waiting event in batches of
    /// 256 into `store`, then resyncs the lagged subscriptions (`Store::resync_lagged`, the
    /// app's own reaction). The events are kept in [`Client::seen`]; returns how many.
    pub fn catch_up(&mut self, store: &mut Store) -> usize {
        let mut applied = 0;
        loop {
            let batch = self.queue.drain(256);
            if batch.is_empty() {
                break;
            }
            applied += batch.len();
            for ev in batch {
                self.seen.push(ev.clone());
                store.apply(ev, now_ms());
            }
        }
        let net = &self.net;
        store.resync_lagged(|cmd| net.try_send(cmd));
        applied
    }

    /// A store that applied every event seen so far, in order, as the UI would.
    pub fn store(&self) -> Store {
        let mut store = Store::new();
        for ev in &self.seen {
            store.apply(ev.clone(), now_ms());
        }
        store
    }
}

/// Reconnects within 50–200 ms.
pub fn fast() -> SessionConfig {
    SessionConfig {
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(200),
        ..SessionConfig::default()
    }
}

/// Logs the tenant administrator in and spawns a session with an event queue of `capacity`.
pub async fn connect(server: &DemoServer, config: SessionConfig, capacity: usize) -> Client {
    let rest = login_at(&server.base_url(), TlsTrust::System).await;
    spawn_client(rest, config, |waker| EventQueue::new(capacity, waker))
}

/// Logs the tenant administrator in at `url`, trusting its certificate as `trust`.
pub async fn login_at(url: &str, trust: TlsTrust) -> RestClient {
    let rest = RestClient::new(url, trust).unwrap();
    let LoginOutcome::LoggedIn(_) =
        tokio::time::timeout(DEADLINE, rest.login("tenant@thingsboard.org", "tenant"))
            .await
            .expect("login in time")
            .unwrap()
    else {
        panic!("no 2FA expected")
    };
    rest
}

/// Spawns a session for the logged-in `rest`, its events in the queue `queue` makes with
/// the client's waker.
pub fn spawn_client(
    rest: RestClient,
    config: SessionConfig,
    queue: impl FnOnce(Arc<dyn UiWaker>) -> EventQueue,
) -> Client {
    let notify = Arc::new(Notify::new());
    let queue = queue(Arc::new(NotifyWaker(Arc::clone(&notify))));
    let net = tb_monitor::net::spawn(
        &tokio::runtime::Handle::current(),
        rest,
        config,
        queue.clone(),
    );
    Client {
        net,
        queue,
        notify,
        pending: VecDeque::new(),
        seen: Vec::new(),
    }
}

/// A client subscribed to the thermostats' latest temperatures (sub 1), its page received.
pub async fn live(server: &DemoServer, config: SessionConfig, capacity: usize) -> Client {
    let mut client = connect(server, config, capacity).await;
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: latest_spec(),
    });
    client.expect("the page", |e| is_page(e, 1)).await;
    client
}

/// The thermostats of the demo tenant.
pub fn thermostats(control: &DemoControl) -> Vec<DeviceInfo> {
    control
        .devices()
        .into_iter()
        .filter(|d| d.profile == "thermostat")
        .collect()
}

/// `ENTITY_DATA` with the latest temperature of every thermostat.
pub fn latest_spec() -> SubSpec {
    let cmd: EntityDataCmd = serde_json::from_value(serde_json::json!({
        "cmdId": 0,
        "query": {
            "entityFilter": {"type": "deviceType", "deviceTypes": ["thermostat"]},
            "pageLink": {"pageSize": 100, "page": 0},
            "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}],
            "latestValues": [{"type": "TIME_SERIES", "key": "temperature"}]
        },
        "latestCmd": {"keys": [{"type": "TIME_SERIES", "key": "temperature"}]}
    }))
    .unwrap();
    SubSpec::EntityData(cmd)
}

/// `ENTITY_DATA` with the raw series of `key` of `device` from `start` over `window`.
pub fn series_spec(device: &EntityId, key: &str, start: i64, window: i64) -> SubSpec {
    let cmd: EntityDataCmd = serde_json::from_value(serde_json::json!({
        "cmdId": 0,
        "query": {
            "entityFilter": {"type": "singleEntity", "singleEntity": device},
            "pageLink": {"pageSize": 1, "page": 0}
        },
        "tsCmd": {"keys": [key], "startTs": start, "timeWindow": window,
                  "interval": 1000, "limit": 10000, "agg": "NONE"}
    }))
    .unwrap();
    SubSpec::EntityData(cmd)
}

/// Whether `ev` is a data page (not an update) of `sub`.
pub fn is_page(ev: &NetEvent, sub: u64) -> bool {
    matches!(ev, NetEvent::Message { sub: s, msg } if *s == sub
        && matches!(msg.as_ref(), ServerMessage::EntityData(u) if u.data.is_some()))
}

/// The latest time-series value of `key` an `ENTITY_DATA` update carries.
pub fn latest_text(ev: &NetEvent, key: &str) -> Option<String> {
    let NetEvent::Message { msg, .. } = ev else {
        return None;
    };
    let ServerMessage::EntityData(u) = msg.as_ref() else {
        return None;
    };
    u.update.as_ref()?.iter().find_map(|r| {
        r.latest_value(&EntityKeyType::TimeSeries, key)
            .and_then(|v| v.value.as_ref())
            .map(|v| v.as_str().to_owned())
    })
}

/// Every (ts, value) of `key` in the time series of the messages of `sub`, as they came
/// (a point fetched twice is listed twice).
pub fn series_points(events: &[NetEvent], sub: u64, key: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for ev in events {
        let NetEvent::Message { sub: s, msg } = ev else {
            continue;
        };
        if *s != sub {
            continue;
        }
        let ServerMessage::EntityData(u) = msg.as_ref() else {
            continue;
        };
        for r in u.rows() {
            for p in r.timeseries.iter().filter_map(|t| t.get(key)).flatten() {
                out.push((
                    p.ts,
                    p.value
                        .as_ref()
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default(),
                ));
            }
        }
    }
    out
}

/// One line per event, messages shortened to their subscription, kind and time-series
/// timestamps (for failure messages: a full page is thousands of lines).
pub fn brief(events: &[NetEvent]) -> String {
    let mut out = String::new();
    for ev in events {
        let line = match ev {
            NetEvent::Message { sub, msg } => {
                let kind = match msg.as_ref() {
                    ServerMessage::EntityData(u) if u.data.is_some() => "page",
                    ServerMessage::EntityData(_) => "update",
                    _ => "message",
                };
                let ts: Vec<i64> = msg_series_ts(msg);
                format!("Message {{ sub: {sub}, {kind}, series ts: {ts:?} }}")
            }
            other => format!("{other:?}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn msg_series_ts(msg: &ServerMessage) -> Vec<i64> {
    let ServerMessage::EntityData(u) = msg else {
        return Vec::new();
    };
    u.rows()
        .flat_map(|r| r.timeseries.iter().flat_map(|m| m.values()).flatten())
        .map(|p| p.ts)
        .collect()
}

/// Whether an event carries a point of `key` at `ts` for `sub`.
pub fn has_point(ev: &NetEvent, sub: u64, key: &str, ts: i64) -> bool {
    series_points(std::slice::from_ref(ev), sub, key)
        .iter()
        .any(|p| p.0 == ts)
}

/// The points of `key` of `entity` the store holds for `sub`, ascending.
pub fn stored_points(store: &Store, sub: u64, entity: &EntityId, key: &str) -> Vec<(i64, f64)> {
    store
        .series
        .get(&(sub, entity.clone(), key.to_owned()))
        .map(|s| s.points_in(i64::MIN, i64::MAX).collect())
        .unwrap_or_default()
}

/// The latest time-series value of `key` of `entity` in the page of `sub`: `(ts, text)`, the
/// form of `DemoControl::latest`.
pub fn stored_latest(
    store: &Store,
    sub: u64,
    entity: &EntityId,
    key: &str,
) -> Option<(i64, String)> {
    let Some(SubData::Entities(page)) = store.subs.get(&sub) else {
        return None;
    };
    let value = page
        .row(entity)?
        .latest_value(&EntityKeyType::TimeSeries, key)?;
    Some((value.ts, value.text().to_owned()))
}

/// Asserts that the store holds each `(ts, value)` exactly once for `sub`.
pub fn assert_stored_once(
    store: &Store,
    sub: u64,
    entity: &EntityId,
    key: &str,
    want: &[(i64, f64)],
) {
    let points = stored_points(store, sub, entity, key);
    for (ts, value) in want {
        let at: Vec<f64> = points.iter().filter(|p| p.0 == *ts).map(|p| p.1).collect();
        assert_eq!(at, [*value], "the point at {ts} once, with its value");
    }
    assert!(
        points.windows(2).all(|w| w[0].0 < w[1].0),
        "no timestamp twice in the store"
    );
}

/// The wall clock in epoch ms.
pub fn now_ms() -> i64 {
    tb_monitor::net::tokens::now_ms()
}

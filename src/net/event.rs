//! What the network tells the UI, and the bounded queue that carries it.
//!
//! The session task must never block on a slow UI (it would stop answering pings and the
//! server would drop it), and a stalled UI must neither grow memory without bound nor lose
//! a point. So net → UI is not a plain channel but an [`EventQueue`] that follows these rules:
//!
//! - **Subscription messages** ([`NetEvent::Message`]) wait up to `capacity` events and
//!   [`DEFAULT_MAX_BYTES`] of frame text. Past either, a live `ENTITY_DATA` update is merged
//!   into the newest pending update of its subscription (latest values per entity and key,
//!   newest wins; time-series points appended, at most [`DEFAULT_MAX_MERGED_POINTS`] an
//!   event), and any other message makes room by dropping the oldest messages.
//! - **Nothing is lost, only late.** A dropped message, or a merged update that reached the
//!   point cap (dropped whole), marks its subscription lagged with the oldest point time it
//!   held. [`EventQueue::drain`] hands the lagged subscriptions out first, as
//!   [`NetEvent::Lagged`]; the UI answers with
//!   [`NetCommand::Resync`](super::NetCommand::Resync) (`Store::resync_lagged`): the session
//!   subscribes again under a new `cmdId`, time series from a minute before that time (the
//!   store replaces the points it already has), everything else as a fresh snapshot, and
//!   queues [`NetEvent::Resynced`] between the old subscription's messages and the new one's.
//! - **Control events always get in.** Past capacity, those that come per frame or per tick
//!   merge with a pending one of their kind: traffic counters add up; the newest round trip,
//!   bad-frame text and error of a subscription replace the pending one (so the store's
//!   bad-frame count is a lower bound while the UI is stalled). The others (connection states,
//!   closes, gaps, resyncs, session expired, legacy server) come a few per connection attempt
//!   or UI command: the backoff (or a wake, or the user) paces them, not the data rate.
//!
//! The bound that follows: at most `capacity` events, plus the control events that arrived
//! since the queue filled (one per kind that merges and per subscription with an error, a few
//! per reconnect); at most [`DEFAULT_MAX_BYTES`] of frames plus the newest message, which
//! always gets in (a frame is at most `SessionConfig::max_message_bytes`, 64 MiB). Decoded,
//! time series take about 2.5 times their JSON (a point is 56 bytes plus its value text, ~38
//! bytes on the wire), so with the app's 10,000 events the queue holds at most about 0.3 GB
//! whatever the server sends while the UI is stalled, and a few MB in a normal flood.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::protocol::{EntityDataUpdate, EntityKeyType, ServerMessage};

/// A subscription as the UI knows it: stable across reconnects (cmdIds are not).
pub type SubId = u64;

/// Frame bytes of waiting messages past which the queue merges or drops them.
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

/// Time-series points a merged update may hold; past it the update is dropped (and its
/// subscription resynced), so one pending event cannot grow with the length of a stall.
pub const DEFAULT_MAX_MERGED_POINTS: usize = 50_000;

/// State of the connection, for the top bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Opening a socket (attempt counts from 1 since the last live socket).
    Connecting {
        /// Attempt number.
        attempt: u32,
    },
    /// The socket is authenticated and a message has arrived.
    Live,
    /// Waiting before the next attempt.
    Reconnecting {
        /// Attempt number of the next try.
        attempt: u32,
        /// Wall-clock time of the next try (epoch ms).
        retry_at_ms: i64,
    },
    /// Not trying: logged out, the session expired, the server's certificate changed, or the
    /// UI asked to stop.
    Offline {
        /// Why.
        reason: String,
    },
}

impl ConnState {
    /// A short label for the status bar.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            ConnState::Connecting { .. } => "connecting",
            ConnState::Live => "live",
            ConnState::Reconnecting { .. } => "reconnecting",
            ConnState::Offline { .. } => "offline",
        }
    }
}

/// A subscription whose messages the queue dropped, and where its resync starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// The subscription.
    pub sub: SubId,
    /// The oldest point time (epoch ms) in the dropped messages (time series and latest
    /// time-series values): its time series are fetched again from there. `None` when they
    /// held no timed point (a fresh snapshot is enough).
    pub since_ms: Option<i64>,
}

impl Lag {
    /// Records this lag in `lagged` (subscription → where its resync starts): a subscription
    /// lagged twice resyncs from the older point, and a point time beats none.
    pub fn record(self, lagged: &mut BTreeMap<SubId, Option<i64>>) {
        let slot = lagged.entry(self.sub).or_insert(self.since_ms);
        *slot = match (*slot, self.since_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// One event from the network.
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// The connection changed state.
    Connection(ConnState),
    /// The socket closed (code 1006 when it died without a close frame, 1015 when the
    /// server's certificate was refused).
    Closed {
        /// WebSocket close code.
        code: u16,
        /// The server's reason text.
        reason: String,
    },
    /// A round-trip time measured with a ping.
    Rtt {
        /// Milliseconds.
        ms: u32,
    },
    /// Frames received since the last such event (about once a second, for the rates).
    Traffic {
        /// Frames.
        msgs: u32,
        /// Bytes.
        bytes: u64,
    },
    /// A message for a subscription (a reply or an update).
    Message {
        /// The subscription.
        sub: SubId,
        /// The decoded message.
        msg: Box<ServerMessage>,
    },
    /// The server reported an error for a subscription (`errorCode` != 0).
    SubscriptionError {
        /// The subscription.
        sub: SubId,
        /// ThingsBoard's code (34 = too many updates).
        code: i32,
        /// The server's message.
        message: String,
    },
    /// The link was down from `from_ms` to `to_ms` (wall clock): a subscription with time
    /// series has been backfilled over it; plots shade it.
    Gap {
        /// The subscription.
        sub: SubId,
        /// Disconnect time (epoch ms).
        from_ms: i64,
        /// Reconnect time (epoch ms).
        to_ms: i64,
    },
    /// A frame that could not be decoded (counted; the socket stays up).
    BadFrame {
        /// What failed, naming the field.
        error: String,
    },
    /// The UI fell behind and messages of these subscriptions were dropped: resync them
    /// (`NetCommand::Resync`), or they keep a hole.
    Lagged {
        /// The affected subscriptions, each with the oldest point time dropped.
        subs: Vec<Lag>,
    },
    /// The subscription was sent again under a new `cmdId` (`NetCommand::Resync`): the
    /// messages after this come from the new subscription (notification sequence numbers
    /// start again at 1).
    Resynced {
        /// The subscription.
        sub: SubId,
    },
    /// The session cannot be renewed: the password is needed.
    SessionExpired,
    /// The server has no `/api/ws` (ThingsBoard before 3.6.2): the session uses the legacy
    /// telemetry endpoint, where alarm status and notifications do not exist.
    LegacyServer,
}

/// Wakes the UI thread when events arrive (egui's `request_repaint_after`).
pub trait UiWaker: Send + Sync {
    /// Something arrived.
    fn wake(&self);
}

/// A waker that does nothing (headless use, tests).
#[derive(Debug, Default)]
pub struct NoWaker;

impl UiWaker for NoWaker {
    fn wake(&self) {}
}

/// One waiting event and what it holds.
#[derive(Debug)]
struct Entry {
    event: NetEvent,
    /// Frame bytes behind it (0 for control events).
    bytes: usize,
    /// Time-series points in it (`ENTITY_DATA` only: the merge cap counts these).
    points: usize,
}

/// The queue's bounds.
#[derive(Debug, Clone, Copy)]
struct Limits {
    capacity: usize,
    max_bytes: usize,
    max_merged_points: usize,
}

#[derive(Debug)]
struct Queue {
    limits: Limits,
    events: VecDeque<Entry>,
    /// Frame bytes of the waiting messages.
    bytes: usize,
    /// Subscriptions with dropped messages, and the oldest point time dropped.
    lagged: BTreeMap<SubId, Option<i64>>,
    dropped: u64,
    merged: u64,
    peak: usize,
}

/// How a message past the bounds fits into a pending one.
enum Merge {
    /// Merged into the event at this position.
    Into(usize),
    /// The pending update at this position would pass the point cap.
    Full(usize),
    /// Nothing to merge into.
    No,
}

impl Queue {
    /// Whether a message of `bytes` needs room.
    fn over(&self, bytes: usize) -> bool {
        self.events.len() >= self.limits.capacity
            || self.bytes.saturating_add(bytes) > self.limits.max_bytes
    }

    /// Queues `event` (a message of `bytes` of frame text); returns whether it was appended
    /// (rather than merged or dropped).
    fn push(&mut self, event: NetEvent, bytes: usize) -> bool {
        let NetEvent::Message { sub, msg } = &event else {
            if self.events.len() >= self.limits.capacity && self.merge_control(&event) {
                self.merged += 1;
                return false;
            }
            self.append(event, 0, 0);
            return true;
        };
        let sub = *sub;
        let points = series_points(msg);
        if self.over(bytes) {
            match self.merge_message(sub, msg, points) {
                Merge::Into(at) => {
                    self.merged += 1;
                    // Latest values replace each other; appended points add up.
                    if points > 0 {
                        self.events[at].bytes += bytes;
                        self.bytes += bytes;
                    }
                    let mut at = at;
                    while self.bytes > self.limits.max_bytes {
                        match self.drop_oldest(Some(at)) {
                            Some(gone) if gone < at => at -= 1,
                            Some(_) => {}
                            None => break,
                        }
                    }
                    return false;
                }
                Merge::Full(at) => self.drop_at(at),
                Merge::No => {}
            }
            while self.over(bytes) && self.drop_oldest(None).is_some() {}
            if self.events.len() >= self.limits.capacity {
                // Only control events wait: this message is the one to go.
                self.dropped += 1;
                self.lag(sub, oldest_point_ts(msg));
                return false;
            }
        }
        self.bytes += bytes;
        self.append(event, bytes, points);
        true
    }

    fn append(&mut self, event: NetEvent, bytes: usize, points: usize) {
        self.events.push_back(Entry {
            event,
            bytes,
            points,
        });
        self.peak = self.peak.max(self.events.len());
    }

    /// Past capacity: folds a control event into a pending one of its kind. Traffic adds up;
    /// a round trip, a bad frame and a subscription's error replace the pending one (which
    /// leaves, and the new one goes last).
    fn merge_control(&mut self, event: &NetEvent) -> bool {
        if let NetEvent::Traffic { msgs, bytes } = event {
            for e in self.events.iter_mut().rev() {
                if let NetEvent::Traffic { msgs: m, bytes: b } = &mut e.event {
                    *m = m.saturating_add(*msgs);
                    *b = b.saturating_add(*bytes);
                    return true;
                }
            }
            return false;
        }
        let same_kind = |e: &NetEvent| match (e, event) {
            (NetEvent::Rtt { .. }, NetEvent::Rtt { .. })
            | (NetEvent::BadFrame { .. }, NetEvent::BadFrame { .. }) => true,
            (
                NetEvent::SubscriptionError { sub: a, .. },
                NetEvent::SubscriptionError { sub: b, .. },
            ) => a == b,
            _ => false,
        };
        let Some(pos) = self.events.iter().rposition(|e| same_kind(&e.event)) else {
            return false;
        };
        self.events.remove(pos);
        self.append(event.clone(), 0, 0);
        true
    }

    /// Finds the newest pending `ENTITY_DATA` update of `sub` to merge `msg` into, and merges
    /// it unless that would pass the point cap. A pending page, or a resync of `sub`, stops
    /// the search: an update must not ride inside a page (the store would apply it as part
    /// of it), nor a new subscription's into the old one's.
    fn merge_message(&mut self, sub: SubId, msg: &ServerMessage, points: usize) -> Merge {
        let ServerMessage::EntityData(new) = msg else {
            return Merge::No;
        };
        if new.data.is_some() {
            return Merge::No;
        }
        let cap = self.limits.max_merged_points;
        for (at, e) in self.events.iter_mut().enumerate().rev() {
            match &mut e.event {
                NetEvent::Resynced { sub: s } if *s == sub => return Merge::No,
                NetEvent::Message { sub: s, msg: m } if *s == sub => {
                    let ServerMessage::EntityData(pending) = m.as_mut() else {
                        return Merge::No;
                    };
                    if pending.data.is_some() {
                        return Merge::No;
                    }
                    if e.points.saturating_add(points) > cap {
                        return Merge::Full(at);
                    }
                    merge_update(pending, new);
                    e.points += points;
                    return Merge::Into(at);
                }
                _ => {}
            }
        }
        Merge::No
    }

    /// Drops the oldest message (not the one at `keep`); returns where it was.
    fn drop_oldest(&mut self, keep: Option<usize>) -> Option<usize> {
        let at =
            self.events.iter().enumerate().position(|(at, e)| {
                Some(at) != keep && matches!(e.event, NetEvent::Message { .. })
            })?;
        self.drop_at(at);
        Some(at)
    }

    /// Drops the message at `at`, marking its subscription lagged.
    fn drop_at(&mut self, at: usize) {
        let Some(entry) = self.events.remove(at) else {
            return;
        };
        self.bytes = self.bytes.saturating_sub(entry.bytes);
        if let NetEvent::Message { sub, msg } = &entry.event {
            self.dropped += 1;
            self.lag(*sub, oldest_point_ts(msg));
        }
    }

    /// Marks `sub` lagged from `since` (the older time wins).
    fn lag(&mut self, sub: SubId, since: Option<i64>) {
        Lag {
            sub,
            since_ms: since,
        }
        .record(&mut self.lagged);
    }
}

/// The bounded net → UI queue. Cheap to clone; both sides hold one.
#[derive(Clone)]
pub struct EventQueue {
    inner: Arc<Mutex<Queue>>,
    waker: Arc<dyn UiWaker>,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.lock();
        f.debug_struct("EventQueue")
            .field("limits", &q.limits)
            .field("len", &q.events.len())
            .finish_non_exhaustive()
    }
}

/// Counters of what the queue did under pressure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events waiting.
    pub len: usize,
    /// The most events that waited at once.
    pub peak: usize,
    /// Frame bytes of the waiting messages.
    pub bytes: usize,
    /// Events merged into pending ones.
    pub merged: u64,
    /// Messages dropped (their subscriptions reported lagged).
    pub dropped: u64,
}

impl EventQueue {
    /// A queue of at most `capacity` events (at least 16) and [`DEFAULT_MAX_BYTES`] of
    /// frames, merging at most [`DEFAULT_MAX_MERGED_POINTS`] an update, that wakes `waker`
    /// on push.
    #[must_use]
    pub fn new(capacity: usize, waker: Arc<dyn UiWaker>) -> Self {
        let limits = Limits {
            capacity: capacity.max(16),
            max_bytes: DEFAULT_MAX_BYTES,
            max_merged_points: DEFAULT_MAX_MERGED_POINTS,
        };
        Self {
            inner: Arc::new(Mutex::new(Queue {
                limits,
                events: VecDeque::new(),
                bytes: 0,
                lagged: BTreeMap::new(),
                dropped: 0,
                merged: 0,
                peak: 0,
            })),
            waker,
        }
    }

    /// The same queue holding at most `bytes` of frames (at least 1 KiB) before it merges
    /// or drops messages (for tests and benchmarks; every clone shares it).
    #[must_use]
    pub fn with_max_bytes(self, bytes: usize) -> Self {
        self.lock().limits.max_bytes = bytes.max(1024);
        self
    }

    /// The same queue merging at most `points` time-series points (at least 1) into one
    /// update (for tests and benchmarks; every clone shares it).
    #[must_use]
    pub fn with_max_merged_points(self, points: usize) -> Self {
        self.lock().limits.max_merged_points = points.max(1);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Events waiting.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// Whether nothing waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> QueueStats {
        let q = self.lock();
        QueueStats {
            len: q.events.len(),
            peak: q.peak,
            bytes: q.bytes,
            merged: q.merged,
            dropped: q.dropped,
        }
    }

    /// Adds an event without ever blocking; a message counts as 0 bytes (only the capacity
    /// bounds it). See [`EventQueue::push_sized`].
    pub fn push(&self, event: NetEvent) {
        self.push_sized(event, 0);
    }

    /// Adds an event received as `frame_bytes` of frame text, without ever blocking; past
    /// the bounds merges or drops by the rules of the module doc. Wakes the UI when the
    /// queue had nothing waiting: a woken UI drains everything (or, past its time budget,
    /// asks for another frame itself), so a wake per event would only cost a lock of the
    /// UI's context per message under load.
    pub fn push_sized(&self, event: NetEvent, frame_bytes: usize) {
        let wake = {
            let mut q = self.lock();
            let was_empty = q.events.is_empty() && q.lagged.is_empty();
            q.push(event, frame_bytes) && was_empty
        };
        if wake {
            self.waker.wake();
        }
    }

    /// Takes up to `max` events, oldest first; a pending [`NetEvent::Lagged`] comes first
    /// (on top of `max`).
    #[must_use]
    pub fn drain(&self, max: usize) -> Vec<NetEvent> {
        let mut q = self.lock();
        let mut out = Vec::with_capacity(max.min(q.events.len()).saturating_add(1));
        if !q.lagged.is_empty() {
            let subs = std::mem::take(&mut q.lagged)
                .into_iter()
                .map(|(sub, since_ms)| Lag { sub, since_ms })
                .collect();
            out.push(NetEvent::Lagged { subs });
        }
        for _ in 0..max {
            let Some(entry) = q.events.pop_front() else {
                break;
            };
            q.bytes = q.bytes.saturating_sub(entry.bytes);
            out.push(entry.event);
        }
        out
    }
}

/// The time-series points of an `ENTITY_DATA` message (what a merge appends).
fn series_points(msg: &ServerMessage) -> usize {
    let ServerMessage::EntityData(u) = msg else {
        return 0;
    };
    u.rows()
        .flat_map(|r| r.timeseries.iter().flat_map(|t| t.values()))
        .map(Vec::len)
        .sum()
}

/// The oldest and newest point times of a message: `ENTITY_DATA` time series and latest
/// time-series values, v1 data. Times ≤ 0 (ThingsBoard's "no value" marker) do not count.
#[must_use]
pub fn point_ts_bounds(msg: &ServerMessage) -> Option<(i64, i64)> {
    let mut bounds: Option<(i64, i64)> = None;
    let mut see = |ts: i64| {
        if ts > 0 {
            bounds = Some(bounds.map_or((ts, ts), |(lo, hi)| (lo.min(ts), hi.max(ts))));
        }
    };
    match msg {
        ServerMessage::EntityData(u) => {
            for r in u.rows() {
                for p in r.timeseries.iter().flat_map(|t| t.values()).flatten() {
                    see(p.ts);
                }
                let latest = r
                    .latest
                    .iter()
                    .filter_map(|l| l.get(&EntityKeyType::TimeSeries));
                for v in latest.flat_map(|m| m.values()) {
                    see(v.ts);
                }
            }
        }
        ServerMessage::Telemetry(t) => {
            for p in t.data.iter().flat_map(|d| d.values()).flatten() {
                see(p.0);
            }
        }
        _ => {}
    }
    bounds
}

fn oldest_point_ts(msg: &ServerMessage) -> Option<i64> {
    point_ts_bounds(msg).map(|(oldest, _)| oldest)
}

/// Merges `new` into `pending`: rows by entity id; latest values per (type, key), newest
/// timestamp wins; time series appended.
fn merge_update(pending: &mut EntityDataUpdate, new: &EntityDataUpdate) {
    let Some(rows) = pending.update.as_mut() else {
        pending.update.clone_from(&new.update);
        return;
    };
    for row in new.update.iter().flatten() {
        match rows.iter_mut().find(|r| r.entity_id == row.entity_id) {
            Some(existing) => {
                let target = existing.latest.get_or_insert_with(Default::default);
                for (kind, values) in row.latest.iter().flatten() {
                    let slot = target.entry(kind.clone()).or_default();
                    for (key, v) in values {
                        match slot.get(key) {
                            Some(old) if old.ts > v.ts => {}
                            _ => {
                                slot.insert(key.clone(), v.clone());
                            }
                        }
                    }
                }
                if let Some(ts) = &row.timeseries {
                    let target = existing.timeseries.get_or_insert_with(Default::default);
                    for (key, points) in ts {
                        target
                            .entry(key.clone())
                            .or_default()
                            .extend(points.iter().cloned());
                    }
                }
            }
            None => rows.push(row.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);
    impl UiWaker for CountingWaker {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn message(sub: SubId, json: &str) -> NetEvent {
        NetEvent::Message {
            sub,
            msg: Box::new(ServerMessage::from_json(json).unwrap()),
        }
    }

    /// An `ENTITY_DATA` update of one latest time-series value.
    fn update(sub: SubId, entity: u128, key: &str, ts: i64, value: &str) -> NetEvent {
        let json = format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA","data":null,
            "update":[{{"entityId":{{"entityType":"DEVICE","id":"{}"}},
            "latest":{{"TIME_SERIES":{{"{key}":{{"ts":{ts},"value":"{value}"}}}}}},"timeseries":null}}]}}"#,
            uuid::Uuid::from_u128(entity)
        );
        message(sub, &json)
    }

    /// An `ENTITY_DATA` update of time-series points of `key` (one per time, value = time).
    fn series(sub: SubId, key: &str, ts: &[i64]) -> NetEvent {
        let points: Vec<String> = ts
            .iter()
            .map(|t| format!(r#"{{"ts":{t},"value":"{t}"}}"#))
            .collect();
        let json = format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA","data":null,
            "update":[{{"entityId":{{"entityType":"DEVICE","id":"{}"}},
            "latest":null,"timeseries":{{"{key}":[{}]}}}}]}}"#,
            uuid::Uuid::from_u128(1),
            points.join(",")
        );
        message(sub, &json)
    }

    /// A v1 `TIMESERIES` message (the Inspector's) with one point of `t` at `ts`.
    fn v1(sub: SubId, ts: i64) -> NetEvent {
        let json = format!(
            r#"{{"subscriptionId":1,"errorCode":0,"errorMsg":null,"data":{{"t":[[{ts},"1"]]}},
            "latestValues":{{"t":{ts}}}}}"#
        );
        message(sub, &json)
    }

    fn page(sub: SubId) -> NetEvent {
        message(
            sub,
            r#"{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA",
            "data":{"data":[],"totalPages":0,"totalElements":0,"hasNext":false},"update":null}"#,
        )
    }

    fn latest(ev: &NetEvent, entity: u128, key: &str) -> Option<(i64, String)> {
        let NetEvent::Message { msg, .. } = ev else {
            return None;
        };
        let ServerMessage::EntityData(u) = msg.as_ref() else {
            return None;
        };
        let row = u
            .update
            .as_ref()?
            .iter()
            .find(|r| r.entity_id.id == uuid::Uuid::from_u128(entity))?;
        let v = row.latest_value(&crate::protocol::EntityKeyType::TimeSeries, key)?;
        Some((v.ts, v.value.as_ref()?.as_str().to_owned()))
    }

    /// Every time-series point time the events carry, in order.
    fn series_ts(events: &[NetEvent]) -> Vec<i64> {
        let mut out = Vec::new();
        for ev in events {
            if let NetEvent::Message { msg, .. } = ev
                && let ServerMessage::EntityData(u) = msg.as_ref()
            {
                for r in u.rows() {
                    out.extend(
                        r.timeseries
                            .iter()
                            .flat_map(|t| t.values())
                            .flatten()
                            .map(|p| p.ts),
                    );
                }
            }
        }
        out
    }

    fn lagged(events: &[NetEvent]) -> Vec<Lag> {
        match events.first() {
            Some(NetEvent::Lagged { subs }) => subs.clone(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn events_come_out_in_order_and_the_ui_is_woken_when_the_queue_stops_being_empty() {
        let waker = Arc::new(CountingWaker::default());
        let q = EventQueue::new(100, waker.clone());
        q.push(NetEvent::Connection(ConnState::Live));
        q.push(NetEvent::Rtt { ms: 5 });
        // The UI, once woken, drains everything waiting: one wake is enough for both.
        assert_eq!(waker.0.load(Ordering::Relaxed), 1);
        assert_eq!(
            q.drain(10),
            vec![
                NetEvent::Connection(ConnState::Live),
                NetEvent::Rtt { ms: 5 }
            ]
        );
        q.push(NetEvent::Rtt { ms: 6 });
        assert_eq!(
            waker.0.load(Ordering::Relaxed),
            2,
            "woken again once drained"
        );
    }

    #[test]
    fn a_flood_past_capacity_is_merged_per_entity_and_key_keeping_the_newest_value() {
        let q = EventQueue::new(16, Arc::new(NoWaker));
        for i in 0..10_000i64 {
            let entity = u128::try_from(i % 4).unwrap();
            q.push(update(7, entity, "temperature", i, &i.to_string()));
        }
        assert!(q.len() <= 16);
        let events = q.drain(100);
        // Every entity's newest value survives.
        for entity in 0..4u128 {
            let newest = events
                .iter()
                .filter_map(|e| latest(e, entity, "temperature"))
                .max()
                .unwrap();
            let expected = 10_000 - 4 + i64::try_from(entity).unwrap();
            assert_eq!(newest, (expected, expected.to_string()));
        }
        assert!(q.stats().merged > 9_000);
        assert_eq!(
            q.stats().dropped,
            0,
            "latest values are merged, never dropped"
        );
    }

    #[test]
    fn control_events_are_never_dropped_and_a_dropped_message_is_reported_lagged_from_its_oldest_point()
     {
        let q = EventQueue::new(16, Arc::new(NoWaker));
        for i in 0..16 {
            q.push(NetEvent::Gap {
                sub: 9,
                from_ms: i,
                to_ms: i + 1,
            });
        }
        // Full of control events: a new message is dropped, control kept.
        q.push(series(3, "t", &[500, 200, 300]));
        q.push(NetEvent::Connection(ConnState::Live));
        let events = q.drain(100);
        assert_eq!(
            events[0],
            NetEvent::Lagged {
                subs: vec![Lag {
                    sub: 3,
                    since_ms: Some(200)
                }]
            }
        );
        assert_eq!(events.len(), 1 + 17);
        assert_eq!(events.last(), Some(&NetEvent::Connection(ConnState::Live)));
        assert_eq!(q.stats().dropped, 1);
    }

    #[test]
    fn an_update_is_never_merged_into_a_pending_data_page() {
        let q = EventQueue::new(16, Arc::new(NoWaker));
        q.push(page(7));
        for i in 0..15 {
            q.push(NetEvent::Gap {
                sub: 9,
                from_ms: i,
                to_ms: i + 1,
            });
        }
        // Full: the update may not ride inside the page (the store would apply it as part
        // of the page). The oldest message, the page itself, makes room; the update stays.
        q.push(update(7, 1, "t", 1, "1"));
        let events = q.drain(100);
        assert_eq!(
            lagged(&events),
            [Lag {
                sub: 7,
                since_ms: None
            }],
            "a page without points resyncs as a fresh snapshot"
        );
        assert_eq!(events.len(), 1 + 16);
        assert_eq!(latest(&events[16], 1, "t"), Some((1, "1".to_owned())));
        assert_eq!(q.stats().merged, 0);
    }

    #[test]
    fn messages_of_any_kind_past_capacity_drop_the_oldest_first_and_each_lag_keeps_its_oldest_point()
     {
        // The Inspector's v1 series, which nothing merges, and an ENTITY_DATA series.
        let q = EventQueue::new(16, Arc::new(NoWaker));
        for ts in 1..=40 {
            q.push(v1(5, 1_000 + ts));
            if ts % 10 == 0 {
                q.push(page(6));
            }
        }
        assert_eq!(q.len(), 16);
        let events = q.drain(100);
        // 44 messages in, 16 kept: the newest ones.
        assert_eq!(q.stats().dropped, 28);
        assert_eq!(
            lagged(&events),
            [
                Lag {
                    sub: 5,
                    since_ms: Some(1_001)
                },
                Lag {
                    sub: 6,
                    since_ms: None
                }
            ]
        );
        let NetEvent::Message { msg, .. } = &events[1] else {
            panic!("{:?}", events[1])
        };
        assert_eq!(
            point_ts_bounds(msg),
            Some((1_027, 1_027)),
            "the oldest kept"
        );
        // Drained: nothing is reported twice.
        q.push(v1(5, 2_000));
        assert_eq!(q.drain(10).len(), 1);
    }

    #[test]
    fn the_queue_never_holds_more_than_its_capacity_plus_the_control_events_that_came_while_full() {
        let q = EventQueue::new(64, Arc::new(NoWaker));
        let mut control_while_full = 0;
        for i in 0..20_000i64 {
            let full = q.len() >= 64;
            let event = match i % 7 {
                0 => series(1, "t", &[i, i + 1]),
                1 => update(2, u128::try_from(i % 50).unwrap(), "t", i, "1"),
                2 => v1(3, i),
                3 => page(4),
                4 => NetEvent::Traffic { msgs: 1, bytes: 9 },
                5 => NetEvent::Rtt {
                    ms: u32::try_from(i).unwrap(),
                },
                _ if i % 1000 == 6 => NetEvent::Closed {
                    code: 1006,
                    reason: String::new(),
                },
                _ => NetEvent::BadFrame {
                    error: format!("frame {i}"),
                },
            };
            // Control events that do not merge with a pending one of their kind.
            if full && matches!(event, NetEvent::Closed { .. }) {
                control_while_full += 1;
            }
            q.push(event);
            // At most one traffic, one round trip and one bad frame got in past capacity.
            assert!(
                q.len() <= 64 + 3 + control_while_full,
                "{} at push {i}",
                q.len()
            );
        }
        let stats = q.stats();
        assert!(stats.peak <= 64 + 3 + control_while_full, "{stats:?}");
        assert!(stats.dropped > 0 && stats.merged > 0, "{stats:?}");
        let events = q.drain(usize::MAX);
        // The newest of each merged kind is kept.
        let last = |kind: i64| (0..20_000i64).rev().find(|i| i % 7 == kind).unwrap();
        assert!(events.contains(&NetEvent::Rtt {
            ms: u32::try_from(last(5)).unwrap()
        }));
        assert!(events.contains(&NetEvent::BadFrame {
            error: format!("frame {}", last(6))
        }));
    }

    #[test]
    fn a_merged_update_past_the_point_cap_is_dropped_and_its_oldest_point_resynced() {
        let q = EventQueue::new(16, Arc::new(NoWaker)).with_max_merged_points(100);
        for i in 0..15 {
            q.push(NetEvent::Gap {
                sub: 9,
                from_ms: i,
                to_ms: i + 1,
            });
        }
        // 10 points an update: the pending update takes 100 points, then cannot grow.
        for batch in 0..15i64 {
            let ts: Vec<i64> = (0..10).map(|k| 1_000 + batch * 10 + k).collect();
            q.push(series(1, "t", &ts));
        }
        assert_eq!(q.len(), 16);
        let events = q.drain(100);
        assert_eq!(
            lagged(&events),
            [Lag {
                sub: 1,
                since_ms: Some(1_000)
            }],
            "the dropped update's points are fetched again from its oldest"
        );
        // What is left is the update merged since: the last 50 points, in order.
        let kept = series_ts(&events);
        assert_eq!(kept, (1_100..1_150).collect::<Vec<_>>());
        let stats = q.stats();
        assert_eq!((stats.merged, stats.dropped), (13, 1));
    }

    #[test]
    fn past_its_byte_budget_the_queue_drops_the_oldest_messages_and_always_keeps_the_newest() {
        let q = EventQueue::new(1_000, Arc::new(NoWaker)).with_max_bytes(10_000);
        for i in 0..20 {
            q.push_sized(v1(1, 100 + i), 1_000);
        }
        assert_eq!(q.stats().bytes, 10_000);
        assert_eq!(q.len(), 10);
        // A frame larger than the whole budget still gets in, alone.
        q.push_sized(v1(2, 500), 50_000);
        let stats = q.stats();
        assert_eq!((stats.len, stats.bytes, stats.dropped), (1, 50_000, 20));
        let events = q.drain(100);
        assert_eq!(
            lagged(&events),
            [Lag {
                sub: 1,
                since_ms: Some(100)
            }]
        );
        assert_eq!(q.stats().bytes, 0, "drained");
    }

    #[test]
    fn an_update_after_a_resync_is_not_merged_into_the_old_subscriptions_update() {
        let q = EventQueue::new(16, Arc::new(NoWaker));
        q.push(series(1, "t", &[1]));
        q.push(NetEvent::Resynced { sub: 1 });
        for i in 0..14 {
            q.push(NetEvent::Gap {
                sub: 9,
                from_ms: i,
                to_ms: i + 1,
            });
        }
        q.push(series(1, "t", &[2]));
        let events = q.drain(100);
        // The old subscription's update made room; the new one comes after the marker.
        assert_eq!(series_ts(&events), [2]);
        let marker = events
            .iter()
            .position(|e| *e == NetEvent::Resynced { sub: 1 })
            .unwrap();
        assert_eq!(series_ts(&events[marker..]), [2]);
    }

    #[test]
    fn a_subscription_error_past_capacity_replaces_the_pending_one_of_that_subscription() {
        let q = EventQueue::new(16, Arc::new(NoWaker));
        for i in 0..1_000 {
            q.push(NetEvent::SubscriptionError {
                sub: i % 2,
                code: 34,
                message: format!("error {i}"),
            });
        }
        let events = q.drain(100);
        assert_eq!(events.len(), 16);
        assert_eq!(
            events[14..],
            [
                NetEvent::SubscriptionError {
                    sub: 0,
                    code: 34,
                    message: "error 998".to_owned()
                },
                NetEvent::SubscriptionError {
                    sub: 1,
                    code: 34,
                    message: "error 999".to_owned()
                }
            ]
        );
    }

    #[test]
    fn point_bounds_span_series_and_latest_values_but_not_the_no_value_marker() {
        let NetEvent::Message { msg, .. } = series(1, "t", &[30, 10, 20]) else {
            unreachable!()
        };
        assert_eq!(point_ts_bounds(&msg), Some((10, 30)));
        let NetEvent::Message { msg, .. } = update(1, 1, "t", 0, "") else {
            unreachable!()
        };
        assert_eq!(point_ts_bounds(&msg), None);
        let NetEvent::Message { msg, .. } = v1(1, 77) else {
            unreachable!()
        };
        assert_eq!(point_ts_bounds(&msg), Some((77, 77)));
    }
}

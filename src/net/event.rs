//! What the network tells the UI, and the bounded, coalescing queue that carries it.
//!
//! The session task must never block on a slow UI (it would stop answering pings and the
//! server would drop it), and a flood must not grow memory without bound. So net → UI is not
//! a plain channel: [`EventQueue`] holds at most `capacity` events; past that, a live
//! `ENTITY_DATA` update is merged into a pending one of the same subscription (per entity
//! and key, newest value wins), and only when nothing can be merged is the oldest telemetry
//! dropped (counted, and reported once so the UI can resubscribe).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::protocol::{EntityDataUpdate, ServerMessage};

/// A subscription as the UI knows it: stable across reconnects (cmdIds are not).
pub type SubId = u64;

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
    /// Not trying: logged out, the session expired, or the UI asked to stop.
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

/// One event from the network.
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// The connection changed state.
    Connection(ConnState),
    /// The socket closed (code 1006 when it died without a close frame).
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
    /// The UI fell behind and telemetry of these subscriptions was dropped: resubscribe.
    Lagged {
        /// The affected subscriptions.
        subs: Vec<SubId>,
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

#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<NetEvent>,
    lagged: Vec<SubId>,
    dropped: u64,
    merged: u64,
}

/// The bounded net → UI queue. Cheap to clone; both sides hold one.
#[derive(Clone)]
pub struct EventQueue {
    inner: Arc<Mutex<Queue>>,
    capacity: usize,
    waker: Arc<dyn UiWaker>,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Counters of what the queue did under pressure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events waiting.
    pub len: usize,
    /// Updates merged into pending ones.
    pub merged: u64,
    /// Events dropped.
    pub dropped: u64,
}

impl EventQueue {
    /// A queue of at most `capacity` events (at least 16) that wakes `waker` on push.
    #[must_use]
    pub fn new(capacity: usize, waker: Arc<dyn UiWaker>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Queue::default())),
            capacity: capacity.max(16),
            waker,
        }
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
            merged: q.merged,
            dropped: q.dropped,
        }
    }

    /// Adds an event without ever blocking; under pressure merges or drops telemetry.
    pub fn push(&self, event: NetEvent) {
        {
            let mut q = self.lock();
            if q.events.len() >= self.capacity {
                if merge_into_pending(&mut q.events, &event) {
                    q.merged += 1;
                    return;
                }
                // Make room by dropping the oldest telemetry; with none queued, drop this
                // one if it is telemetry. Control events always get in.
                let dropped = drop_oldest_telemetry(&mut q.events)
                    .map(|sub| (sub, false))
                    .or_else(|| is_telemetry(&event).map(|sub| (sub, true)));
                if let Some((sub, this_one)) = dropped {
                    q.dropped += 1;
                    if !q.lagged.contains(&sub) {
                        q.lagged.push(sub);
                    }
                    if this_one {
                        return;
                    }
                }
            }
            q.events.push_back(event);
        }
        self.waker.wake();
    }

    /// Takes up to `max` events, oldest first; a pending [`NetEvent::Lagged`] comes first.
    #[must_use]
    pub fn drain(&self, max: usize) -> Vec<NetEvent> {
        let mut q = self.lock();
        let mut out = Vec::with_capacity(max.min(q.events.len() + 1));
        if !q.lagged.is_empty() {
            out.push(NetEvent::Lagged {
                subs: std::mem::take(&mut q.lagged),
            });
        }
        while out.len() < max {
            match q.events.pop_front() {
                Some(e) => out.push(e),
                None => break,
            }
        }
        out
    }
}

/// The subscription of a live telemetry update (an `ENTITY_DATA` `update` without `data`).
fn is_telemetry(event: &NetEvent) -> Option<SubId> {
    match event {
        NetEvent::Message { sub, msg } => match msg.as_ref() {
            ServerMessage::EntityData(u) if u.data.is_none() && u.update.is_some() => Some(*sub),
            _ => None,
        },
        _ => None,
    }
}

fn merge_into_pending(events: &mut VecDeque<NetEvent>, event: &NetEvent) -> bool {
    let NetEvent::Message { sub, msg } = event else {
        // Traffic counters merge into the newest pending one.
        if let NetEvent::Traffic { msgs, bytes } = event {
            for e in events.iter_mut().rev() {
                if let NetEvent::Traffic { msgs: m, bytes: b } = e {
                    *m = m.saturating_add(*msgs);
                    *b = b.saturating_add(*bytes);
                    return true;
                }
            }
        }
        return false;
    };
    let ServerMessage::EntityData(new) = msg.as_ref() else {
        return false;
    };
    if new.data.is_some() {
        return false;
    }
    // The newest pending update of the same subscription, with no `data` after it.
    for e in events.iter_mut().rev() {
        if let NetEvent::Message { sub: s, msg: m } = e
            && s == sub
            && let ServerMessage::EntityData(pending) = m.as_mut()
        {
            if pending.data.is_some() {
                return false;
            }
            merge_update(pending, new);
            return true;
        }
    }
    false
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

/// Removes the oldest droppable telemetry event; returns its subscription.
fn drop_oldest_telemetry(events: &mut VecDeque<NetEvent>) -> Option<SubId> {
    let pos = events.iter().position(|e| is_telemetry(e).is_some())?;
    events.remove(pos).and_then(|e| is_telemetry(&e))
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

    fn update(sub: SubId, entity: u128, key: &str, ts: i64, value: &str) -> NetEvent {
        let json = format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA","data":null,
            "update":[{{"entityId":{{"entityType":"DEVICE","id":"{}"}},
            "latest":{{"TIME_SERIES":{{"{key}":{{"ts":{ts},"value":"{value}"}}}}}},"timeseries":null}}]}}"#,
            uuid::Uuid::from_u128(entity)
        );
        NetEvent::Message {
            sub,
            msg: Box::new(ServerMessage::from_json(&json).unwrap()),
        }
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

    #[test]
    fn events_come_out_in_order_and_every_push_wakes_the_ui() {
        let waker = Arc::new(CountingWaker::default());
        let q = EventQueue::new(100, waker.clone());
        q.push(NetEvent::Connection(ConnState::Live));
        q.push(NetEvent::Rtt { ms: 5 });
        assert_eq!(
            q.drain(10),
            vec![
                NetEvent::Connection(ConnState::Live),
                NetEvent::Rtt { ms: 5 }
            ]
        );
        assert_eq!(waker.0.load(Ordering::Relaxed), 2);
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
    }

    #[test]
    fn control_events_are_never_dropped_and_dropped_telemetry_is_reported_as_lagged() {
        let q = EventQueue::new(16, Arc::new(NoWaker));
        for i in 0..16 {
            q.push(NetEvent::Rtt { ms: i });
        }
        // Full of non-mergeable control events: new telemetry is dropped, control kept.
        q.push(update(3, 1, "t", 1, "1"));
        q.push(NetEvent::Connection(ConnState::Live));
        let events = q.drain(100);
        assert_eq!(events[0], NetEvent::Lagged { subs: vec![3] });
        assert_eq!(events.len(), 1 + 17);
        assert_eq!(events.last(), Some(&NetEvent::Connection(ConnState::Live)));
        assert_eq!(q.stats().dropped, 1);
    }

    #[test]
    fn an_update_is_never_merged_into_a_pending_data_page() {
        let q = EventQueue::new(16, Arc::new(NoWaker));
        let page = r#"{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA",
            "data":{"data":[],"totalPages":0,"totalElements":0,"hasNext":false},"update":null}"#;
        let page = ServerMessage::from_json(page).unwrap();
        q.push(NetEvent::Message {
            sub: 7,
            msg: Box::new(page.clone()),
        });
        for i in 0..15 {
            q.push(NetEvent::Rtt { ms: i });
        }
        // Full: the update may not ride inside the page (the store would apply it as part
        // of the page); with nothing else to merge into, it is dropped and reported.
        q.push(update(7, 1, "t", 1, "1"));
        let events = q.drain(100);
        assert_eq!(events[0], NetEvent::Lagged { subs: vec![7] });
        assert_eq!(
            events[1],
            NetEvent::Message {
                sub: 7,
                msg: Box::new(page)
            },
            "the page is untouched"
        );
        assert_eq!(events.len(), 17);
        assert_eq!(q.stats().merged, 0);
    }
}

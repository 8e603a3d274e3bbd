//! The UI-thread data model: what the network reported, shaped for the panels.
//!
//! No egui and no tokio here: every type is plain data with methods that apply protocol
//! updates, so the rules (updates before `data`, sequence numbers, bounded series) are unit
//! tested without a socket or a window.
//!
//! Series of a subscription with an aggregation ([`Store::set_aggregation`]) stay aggregated:
//! the server's aggregates (points with a `count`) are stored as they are, and its raw live
//! points are folded into their interval by a [`RealtimeAggregator`] per series, whose new
//! aggregate replaces whatever the series showed in that interval.
//!
//! | module | role |
//! |---|---|
//! | [`series`] | one time series: bounded by points and age, ordered inserts, gaps, cached min/max decimation |
//! | [`entities`] | an `ENTITY_DATA` subscription's page: premature updates, merges by entity id, values with their age |
//! | [`alarms`] | an `ALARM_DATA` subscription's page by alarm id, alarm counts and alarm status flags |
//! | [`latest`] | what a subscription last reported: one value, its time, the last error and a version |
//! | [`notifications`] | the notification inbox: sequence numbers, the three update variants, the unread count |
//! | [`health`] | connection health: state, round-trip time, message and byte rates, reconnects, last close |
//! | [`v1`] | v1 latest values (deletions, missing keys, out-of-order points) and history replies |
//!
//! v1 messages (`ATTRIBUTES`, `TIMESERIES`, `TIMESERIES_HISTORY`) fill [`SubData::V1`], or
//! [`SubData::V1History`] when the caller made the slot one before subscribing (the message
//! alone does not tell a history reply from a live update). An error message (`errorCode`
//! ≠ 0) is recorded in [`Store::errors`] and leaves the data as it was. After
//! [`Store::track_v1_series`], the numeric points of a v1 subscription also feed
//! [`Store::series`] like `ENTITY_DATA` time series (a deleted key's series is dropped, a
//! history reply replaces the subscription's series).

pub mod alarms;
pub mod entities;
pub mod health;
pub mod latest;
pub mod notifications;
pub mod series;
pub mod v1;

use std::collections::BTreeMap;

use crate::net::NetCommand;
use crate::net::event::{ConnState, NetEvent, SubId};
use crate::net::session::SendError;
use crate::plot::aggregate::{AggSpec, RealtimeAggregator};
use crate::protocol::{
    EntityId, ServerMessage, TbValue, TelemetrySubscriptionUpdate, TsPoint, TsValue,
};

/// What one subscription holds, by the kind of messages it receives.
#[derive(Debug, Clone)]
pub enum SubData {
    /// `ENTITY_DATA`.
    Entities(entities::EntityPage),
    /// `COUNT_DATA`.
    EntityCount(entities::EntityCount),
    /// `ALARM_DATA`.
    Alarms(alarms::AlarmPage),
    /// `ALARM_COUNT_DATA`.
    AlarmCount(alarms::AlarmCount),
    /// `ALARM_STATUS`.
    AlarmStatus(alarms::AlarmStatusFlag),
    /// `NOTIFICATIONS`.
    Inbox(notifications::Inbox),
    /// `NOTIFICATIONS_COUNT`.
    Unread(notifications::UnreadCount),
    /// v1 `ATTRIBUTES` / `TIMESERIES`: the newest point per key ([`v1::apply_latest`]).
    V1(v1::Latest),
    /// v1 `TIMESERIES_HISTORY`: the reply, points per key oldest first ([`v1::history`]).
    /// Insert it as `None` before subscribing (waiting for the reply; it also marks the
    /// subscription's messages as history); the reply makes it `Some`, even when empty.
    V1History(Option<v1::History>),
}

/// Disconnect intervals kept per subscription for shading (a flaky link reconnecting every
/// minute for a week stays within this).
pub const MAX_GAPS_PER_SUB: usize = 10_000;

/// Retired subscription ids remembered (a few hours of window switching).
pub const MAX_RETIRED: usize = 4_096;

/// A series key: the subscription, the entity and the time-series key.
pub type SeriesKey = (SubId, EntityId, String);

/// Everything the network reported, shaped for the panels. Lives on the UI thread and is
/// changed only by [`Store::apply`].
#[derive(Debug, Default)]
pub struct Store {
    /// Connection health for the top bar and the HUD.
    pub health: Option<health::Health>,
    /// Data per subscription.
    pub subs: BTreeMap<SubId, SubData>,
    /// Time series of `ENTITY_DATA` subscriptions with `tsCmd`, per entity and key.
    pub series: BTreeMap<SeriesKey, series::SeriesBuffer>,
    /// Disconnect intervals reported per subscription (wall-clock ms).
    pub gaps: BTreeMap<SubId, Vec<(i64, i64)>>,
    /// The last error per subscription.
    pub errors: BTreeMap<SubId, entities::SubscriptionError>,
    /// Frames that could not be decoded.
    pub bad_frames: u64,
    /// Subscriptions whose messages the net → UI queue dropped while the UI lagged, with
    /// the oldest point time dropped ([`NetEvent::Lagged`]): [`Store::resync_lagged`] asks
    /// the session to fetch them again.
    pub lagged: BTreeMap<SubId, Option<i64>>,
    /// The session needs the password again.
    pub session_expired: bool,
    /// The server predates 3.6.2: no alarm status and no notifications over the socket.
    pub legacy_server: bool,
    /// The bounds every series buffer keeps (the "points kept per series" setting).
    series_limits: series::SeriesLimits,
    /// The aggregation of subscriptions whose series are aggregated.
    aggregations: BTreeMap<SubId, AggSpec>,
    /// The live re-aggregation of those series, keyed like [`Self::series`].
    aggregators: BTreeMap<SeriesKey, RealtimeAggregator>,
    /// Subscriptions ended for good (ids never reused): their messages still in flight are
    /// dropped instead of bringing their data back.
    retired: std::collections::BTreeSet<SubId>,
    /// v1 subscriptions whose numeric points also feed [`Self::series`], with their entity.
    v1_series: BTreeMap<SubId, EntityId>,
}

impl Store {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the bounds of every series, the existing ones included (they drop their oldest
    /// points at once when the bound shrinks).
    pub fn set_series_limits(&mut self, limits: series::SeriesLimits) {
        self.series_limits = limits;
        for buffer in self.series.values_mut() {
            buffer.set_limits(limits);
        }
    }

    /// The bounds new series get.
    #[must_use]
    pub fn series_limits(&self) -> series::SeriesLimits {
        self.series_limits
    }

    fn health_mut(&mut self, now_ms: i64) -> &mut health::Health {
        self.health
            .get_or_insert_with(|| health::Health::new(now_ms))
    }

    /// Forgets a subscription's data (after the UI unsubscribed).
    pub fn forget(&mut self, sub: SubId) {
        self.subs.remove(&sub);
        self.gaps.remove(&sub);
        self.errors.remove(&sub);
        self.series.retain(|(s, _, _), _| *s != sub);
        self.aggregations.remove(&sub);
        self.aggregators.retain(|(s, _, _), _| *s != sub);
        self.v1_series.remove(&sub);
        self.lagged.remove(&sub);
    }

    /// The app's answer to [`NetEvent::Lagged`], called after applying drained events: hands
    /// `send` a [`NetCommand::Resync`] for every lagged subscription and forgets those it
    /// took. One refused because the session's command queue is full stays for the next call;
    /// one refused because the session has ended is forgotten.
    pub fn resync_lagged(&mut self, mut send: impl FnMut(NetCommand) -> Result<(), SendError>) {
        self.lagged.retain(|&sub, &mut since_ms| {
            matches!(
                send(NetCommand::Resync { sub, since_ms }),
                Err(SendError::Full)
            )
        });
    }

    /// From now on, every numeric point of the v1 subscription `sub` (about `entity`) is also
    /// stored in [`Self::series`] under `(sub, entity, key)`, for the plots. Forgetting or
    /// retiring the subscription ends this.
    pub fn track_v1_series(&mut self, sub: SubId, entity: EntityId) {
        self.v1_series.insert(sub, entity);
    }

    /// Forgets a subscription whose id will never be used again, and drops whatever of it
    /// is still on the way (the session stops delivering it only once it has handled the
    /// unsubscribe). At most [`MAX_RETIRED`] ids are remembered, the oldest go first.
    pub fn retire(&mut self, sub: SubId) {
        self.forget(sub);
        self.retired.insert(sub);
        while self.retired.len() > MAX_RETIRED {
            self.retired.pop_first();
        }
    }

    /// Declares how a subscription's series are aggregated (its `tsCmd`'s function, start and
    /// interval), or that they are raw (`None`, or a spec that does not aggregate). Call it
    /// when (re)subscribing; a changed spec drops the live re-aggregation state of the old
    /// grid.
    pub fn set_aggregation(&mut self, sub: SubId, spec: Option<AggSpec>) {
        let spec = spec.filter(AggSpec::aggregates);
        if self.aggregations.get(&sub) == spec.as_ref() {
            return;
        }
        self.aggregators.retain(|(s, _, _), _| *s != sub);
        match spec {
            Some(spec) => self.aggregations.insert(sub, spec),
            None => self.aggregations.remove(&sub),
        };
    }

    /// The aggregation of a subscription's series, if they are aggregated.
    #[must_use]
    pub fn aggregation(&self, sub: SubId) -> Option<&AggSpec> {
        self.aggregations.get(&sub)
    }

    /// Applies one network event received at wall-clock `now_ms`.
    pub fn apply(&mut self, event: NetEvent, now_ms: i64) {
        match event {
            NetEvent::Connection(state) => {
                if state == ConnState::Live {
                    self.session_expired = false;
                    let was_live = self
                        .health
                        .as_ref()
                        .is_some_and(|h| *h.state() == ConnState::Live);
                    if !was_live {
                        self.restart_sequences();
                    }
                }
                self.health_mut(now_ms).set_state(now_ms, state);
            }
            NetEvent::Closed { code, reason } => {
                self.health_mut(now_ms).on_close(now_ms, code, &reason);
            }
            NetEvent::Rtt { ms } => self
                .health_mut(now_ms)
                .on_rtt(std::time::Duration::from_millis(u64::from(ms))),
            NetEvent::Traffic { msgs, bytes } => {
                self.health_mut(now_ms).on_messages(now_ms, msgs, bytes);
            }
            NetEvent::Message { sub, .. } if self.retired.contains(&sub) => {}
            NetEvent::Message { sub, msg } => match *msg {
                // Alarm pages move into the store (no copy of thousands of rows).
                ServerMessage::AlarmData(u) => {
                    if let SubData::Alarms(page) = slot(
                        &mut self.subs,
                        sub,
                        |d| matches!(d, SubData::Alarms(_)),
                        || SubData::Alarms(alarms::AlarmPage::new()),
                    ) {
                        page.apply_owned(u, now_ms);
                    }
                }
                other => self.apply_message(sub, &other, now_ms),
            },
            NetEvent::SubscriptionError { sub, code, message } => {
                self.errors.insert(
                    sub,
                    entities::SubscriptionError::new(code, Some(&message), now_ms),
                );
            }
            NetEvent::Gap {
                sub,
                from_ms,
                to_ms,
            } => {
                // Kept for shading only: the session backfills the interval, so the series'
                // lines must not break there (a hole the backfill left breaks by max step).
                let gaps = self.gaps.entry(sub).or_default();
                // Bounded like everything else the store keeps: the oldest go first.
                if gaps.len() >= MAX_GAPS_PER_SUB {
                    gaps.remove(0);
                }
                gaps.push((from_ms, to_ms));
            }
            NetEvent::BadFrame { .. } => self.bad_frames += 1,
            NetEvent::Lagged { subs } => {
                for lag in subs {
                    if !self.retired.contains(&lag.sub) {
                        lag.record(&mut self.lagged);
                    }
                }
            }
            // The messages from here on come from a new subscription, numbered from 1.
            NetEvent::Resynced { sub } => match self.subs.get_mut(&sub) {
                Some(SubData::Inbox(inbox)) => inbox.restart_sequence(),
                Some(SubData::Unread(count)) => count.restart_sequence(),
                _ => {}
            },
            NetEvent::SessionExpired => self.session_expired = true,
            NetEvent::LegacyServer => self.legacy_server = true,
        }
    }

    /// A new socket subscribed everything again under fresh `cmdId`s: the notification
    /// subscriptions number their messages from 1 again (protocol §4.7), so the last
    /// sequence numbers of the old socket must not make the new messages look stale.
    /// What they showed stays on screen until the new full list replaces it.
    fn restart_sequences(&mut self) {
        for data in self.subs.values_mut() {
            match data {
                SubData::Inbox(inbox) => inbox.restart_sequence(),
                SubData::Unread(count) => count.restart_sequence(),
                _ => {}
            }
        }
    }

    fn apply_message(&mut self, sub: SubId, msg: &ServerMessage, now_ms: i64) {
        // The subscription's data of `$kind` (made with `$make` if missing or of another
        // kind), updated with the message.
        macro_rules! apply_as {
            ($kind:ident, $make:expr, $update:expr) => {
                if let SubData::$kind(data) = slot(
                    &mut self.subs,
                    sub,
                    |d| matches!(d, SubData::$kind(_)),
                    || SubData::$kind($make),
                ) {
                    data.apply($update, now_ms);
                }
            };
        }
        match msg {
            ServerMessage::EntityData(u) => {
                self.extend_series(sub, u);
                apply_as!(Entities, entities::EntityPage::new(), u);
            }
            ServerMessage::EntityCount(u) => {
                apply_as!(EntityCount, entities::EntityCount::new(), u);
            }
            ServerMessage::AlarmData(u) => apply_as!(Alarms, alarms::AlarmPage::new(), u),
            ServerMessage::AlarmCount(u) => apply_as!(AlarmCount, alarms::AlarmCount::new(), u),
            ServerMessage::AlarmStatus(u) => {
                apply_as!(AlarmStatus, alarms::AlarmStatusFlag::new(), u);
            }
            // Stale sequence numbers are dropped inside `apply`.
            ServerMessage::Notifications(u) => apply_as!(Inbox, notifications::Inbox::default(), u),
            ServerMessage::NotificationsCount(u) => {
                apply_as!(Unread, notifications::UnreadCount::new(), u);
            }
            ServerMessage::Telemetry(t) => self.apply_v1(sub, t, now_ms),
            ServerMessage::TooManyUpdates(_) | ServerMessage::Unknown(_) => {}
        }
    }

    /// A v1 message: an error is recorded; data goes to the history slot the caller made,
    /// else to latest values (module docs), and to the series when tracked.
    fn apply_v1(&mut self, sub: SubId, t: &TelemetrySubscriptionUpdate, now_ms: i64) {
        if t.error_code != 0 {
            self.errors.insert(
                sub,
                entities::SubscriptionError::new(t.error_code, t.error_msg.as_deref(), now_ms),
            );
            return;
        }
        let empty = BTreeMap::new();
        let data = t.data.as_ref().unwrap_or(&empty);
        let is_history = matches!(self.subs.get(&sub), Some(SubData::V1History(_)));
        if is_history {
            self.subs
                .insert(sub, SubData::V1History(Some(v1::history(data))));
        } else if let SubData::V1(held) = slot(
            &mut self.subs,
            sub,
            |d| matches!(d, SubData::V1(_)),
            || SubData::V1(BTreeMap::new()),
        ) {
            v1::apply_latest(held, data);
        }
        let Some(entity) = self.v1_series.get(&sub) else {
            return;
        };
        if is_history {
            self.series.retain(|(s, _, _), _| *s != sub);
        }
        for (key, points) in data {
            let series_key = (sub, entity.clone(), key.clone());
            if points.iter().any(TsPoint::is_deleted) {
                self.series.remove(&series_key);
            }
            let numeric = |p: &TsPoint| {
                p.value()
                    .and_then(TbValue::as_f64)
                    .is_some_and(f64::is_finite)
            };
            if points.iter().any(numeric) {
                // The deletion marker is not numeric: the buffer skips it.
                self.series
                    .entry(series_key)
                    .or_insert_with(|| series::SeriesBuffer::new(self.series_limits))
                    .extend_from_v1(points);
            }
        }
    }

    /// Feeds the time series of an `ENTITY_DATA` message into the per-key buffers.
    fn extend_series(&mut self, sub: SubId, u: &crate::protocol::EntityDataUpdate) {
        let rows = u.rows();
        let spec = self.aggregations.get(&sub);
        // One probe key per message, its text overwritten in place: a series that exists
        // (every live update but the first) is found without allocating.
        let mut probe: Option<SeriesKey> = None;
        for row in rows {
            for (key, points) in row.timeseries.iter().flatten() {
                let probe =
                    probe.get_or_insert_with(|| (sub, row.entity_id.clone(), String::new()));
                probe.1.clone_from(&row.entity_id);
                probe.2.clear();
                probe.2.push_str(key);
                let buffer = match self.series.get_mut(&*probe) {
                    Some(buffer) => buffer,
                    None => self
                        .series
                        .entry(probe.clone())
                        .or_insert_with(|| series::SeriesBuffer::new(self.series_limits)),
                };
                let Some(spec) = spec else {
                    buffer.extend_from_wire(points);
                    continue;
                };
                let aggregator = match self.aggregators.get_mut(&*probe) {
                    Some(aggregator) => aggregator,
                    None => self
                        .aggregators
                        .entry(probe.clone())
                        .or_insert_with(|| RealtimeAggregator::new(spec.clone())),
                };
                extend_aggregated(buffer, aggregator, points);
            }
        }
    }
}

/// Feeds points of an aggregated series: server aggregates (with a `count`) are stored as
/// they are and seed the aggregator; raw live points go through it, and the aggregate of
/// their interval replaces whatever the series showed there (a partial server aggregate
/// sits at another midpoint).
fn extend_aggregated(
    buffer: &mut series::SeriesBuffer,
    aggregator: &mut RealtimeAggregator,
    points: &[TsValue],
) {
    let all_aggregates = points.iter().all(|p| p.count.is_some());
    if all_aggregates {
        // The common initial batch: one merge.
        buffer.extend_from_wire(points);
    }
    for p in points {
        if let Some(count) = p.count {
            let Some(value) = p.as_f64() else {
                continue;
            };
            if !all_aggregates {
                buffer.push(p.ts, value);
            }
            if let Some((lo, hi)) = aggregator.seed(p.ts, value, count) {
                // The interval was tracked: drop an earlier aggregate at another midpoint.
                if lo < p.ts {
                    buffer.remove_range(lo, p.ts - 1);
                }
                if p.ts < hi.saturating_sub(1) {
                    buffer.remove_range(p.ts + 1, hi - 1);
                }
            }
        } else if let Some(value) = &p.value
            && let Some(update) = aggregator.add_raw(p.ts, value)
        {
            buffer.remove_range(update.lo, update.hi.saturating_sub(1));
            buffer.push(update.ts, update.value);
        }
    }
}

/// The data of `sub`, made by `make` when missing or of another kind (a subscription whose
/// spec changed kind).
fn slot(
    subs: &mut BTreeMap<SubId, SubData>,
    sub: SubId,
    is: fn(&SubData) -> bool,
    make: impl Fn() -> SubData,
) -> &mut SubData {
    let entry = subs.entry(sub).or_insert_with(&make);
    if !is(entry) {
        *entry = make();
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::event::Lag;

    fn msg(json: &str) -> NetEvent {
        NetEvent::Message {
            sub: 1,
            msg: Box::new(ServerMessage::from_json(json).unwrap()),
        }
    }

    const PAGE_WITH_SERIES: &str = r#"{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA",
        "data":{"data":[{"entityId":{"entityType":"DEVICE","id":"00000000-0000-0000-0000-000000000001"},
        "latest":{},"timeseries":{"temperature":[{"ts":2000,"value":"2.5"},{"ts":1000,"value":"1.5"}]}}],
        "totalPages":1,"totalElements":1,"hasNext":false},"update":null}"#;

    #[test]
    fn entity_pages_and_their_time_series_land_in_the_store() {
        let mut store = Store::new();
        store.apply(msg(PAGE_WITH_SERIES), 5000);
        let Some(SubData::Entities(page)) = store.subs.get(&1) else {
            panic!("{:?}", store.subs)
        };
        assert_eq!(page.len(), 1);
        let (_, buffer) = store.series.iter().next().unwrap();
        assert_eq!(buffer.len(), 2);
        assert_eq!(buffer.latest(), Some((2000, 2.5)));
        // A gap reported for the subscription is kept for shading.
        store.apply(
            NetEvent::Gap {
                sub: 1,
                from_ms: 3000,
                to_ms: 4000,
            },
            5000,
        );
        assert_eq!(store.gaps[&1], [(3000, 4000)]);
        for i in 0..MAX_GAPS_PER_SUB {
            let t = 10_000 + i64::try_from(i).unwrap() * 10;
            store.apply(
                NetEvent::Gap {
                    sub: 1,
                    from_ms: t,
                    to_ms: t + 5,
                },
                5000,
            );
        }
        assert_eq!(store.gaps[&1].len(), MAX_GAPS_PER_SUB, "bounded");
        assert_eq!(store.gaps[&1][0], (10_000, 10_005), "the oldest went first");
        store.forget(1);
        assert!(store.subs.is_empty() && store.series.is_empty() && store.gaps.is_empty());
    }

    #[test]
    fn messages_of_a_retired_subscription_still_in_flight_are_dropped() {
        let mut store = Store::new();
        store.apply(msg(PAGE_WITH_SERIES), 5000);
        assert!(!store.series.is_empty());
        store.retire(1);
        store.apply(msg(PAGE_WITH_SERIES), 5000);
        assert!(
            store.subs.is_empty() && store.series.is_empty(),
            "nothing came back"
        );
        for sub in 2..=SubId::try_from(MAX_RETIRED).unwrap() + 1 {
            store.retire(sub);
        }
        store.apply(msg(PAGE_WITH_SERIES), 5000);
        assert!(!store.series.is_empty(), "the oldest retired id was let go");
    }

    #[test]
    fn each_entity_and_key_gets_its_own_series_across_messages() {
        let update = |ts: i64| {
            let row = |n: u8| {
                format!(
                    r#"{{"entityId":{{"entityType":"DEVICE","id":"00000000-0000-0000-0000-00000000000{n}"}},
                    "timeseries":{{"a":[{{"ts":{ts},"value":"{n}"}}],"b":[{{"ts":{ts},"value":"{n}"}}]}}}}"#
                )
            };
            msg(&format!(
                r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA","data":null,"update":[{},{}]}}"#,
                row(1),
                row(2)
            ))
        };
        let mut store = Store::new();
        store.apply(update(1000), 0);
        store.apply(update(2000), 0);
        let series: Vec<_> = store
            .series
            .iter()
            .map(|((sub, entity, key), buffer)| {
                (
                    *sub,
                    entity.id.as_u128(),
                    key.as_str(),
                    buffer.latest(),
                    buffer.len(),
                )
            })
            .collect();
        let newest = |v: f64| Some((2000, v));
        assert_eq!(
            series,
            [
                (1, 1, "a", newest(1.0), 2),
                (1, 1, "b", newest(1.0), 2),
                (1, 2, "a", newest(2.0), 2),
                (1, 2, "b", newest(2.0), 2),
            ]
        );
    }

    #[test]
    fn the_points_per_series_bound_applies_to_new_and_existing_series() {
        let one = series::SeriesLimits {
            max_points: 1,
            ..series::SeriesLimits::default()
        };
        let mut store = Store::new();
        store.set_series_limits(one);
        store.apply(msg(PAGE_WITH_SERIES), 5000);
        let buffer = store.series.values().next().unwrap();
        assert_eq!((buffer.len(), buffer.latest()), (1, Some((2000, 2.5))));

        let mut store = Store::new();
        store.apply(msg(PAGE_WITH_SERIES), 5000);
        assert_eq!(store.series.values().next().unwrap().len(), 2);
        store.set_series_limits(one);
        assert_eq!(store.series.values().next().unwrap().len(), 1);
        assert_eq!(store.series_limits(), one);
    }

    /// An `ENTITY_DATA` update of sub 1 for device 1's `probe` series.
    fn probe_update(points: &str) -> NetEvent {
        msg(&format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ENTITY_DATA","data":null,
            "update":[{{"entityId":{{"entityType":"DEVICE","id":"00000000-0000-0000-0000-000000000001"}},
            "timeseries":{{"probe":[{points}]}}}}]}}"#
        ))
    }

    fn probe_points(store: &Store) -> Vec<(i64, f64)> {
        let (_, buffer) = store.series.iter().next().unwrap();
        buffer.points_in(i64::MIN, i64::MAX).collect()
    }

    fn avg_every_100_ms_from_1000() -> AggSpec {
        AggSpec {
            agg: crate::protocol::Aggregation::Avg,
            start_ms: 1_000,
            interval_ms: 100,
        }
    }

    #[test]
    fn live_points_of_an_aggregated_series_replace_their_intervals_aggregate() {
        let mut store = Store::new();
        store.set_aggregation(1, Some(avg_every_100_ms_from_1000()));
        // The server's aggregates: [1000, 1100) whole, [1100, 1160) cut at the window end.
        store.apply(
            probe_update(
                r#"{"ts":1050,"value":"2.0","count":2},{"ts":1130,"value":"4.0","count":1}"#,
            ),
            0,
        );
        assert_eq!(probe_points(&store), [(1_050, 2.0), (1_130, 4.0)]);
        // A raw point in the cut interval: the partial aggregate at 1130 gives way to the
        // interval's aggregate at its midpoint, 1150 (the seed counts as one point of 4).
        store.apply(probe_update(r#"{"ts":1170,"value":"6"}"#), 0);
        assert_eq!(probe_points(&store), [(1_050, 2.0), (1_150, 5.0)]);
        // More points: still one point per interval.
        store.apply(
            probe_update(r#"{"ts":1199,"value":"8"},{"ts":1180,"value":"x"}"#),
            0,
        );
        store.apply(probe_update(r#"{"ts":1210,"value":"1"}"#), 0);
        assert_eq!(
            probe_points(&store),
            [(1_050, 2.0), (1_150, 6.0), (1_250, 1.0)]
        );
        // Forgetting the subscription drops its aggregation too.
        store.forget(1);
        assert!(store.aggregation(1).is_none() && store.aggregators.is_empty());
    }

    #[test]
    fn an_aggregate_resent_for_a_tracked_interval_replaces_the_client_point_at_another_midpoint() {
        let mut store = Store::new();
        store.set_aggregation(1, Some(avg_every_100_ms_from_1000()));
        // A live point before the server's data (§4.1's premature updates).
        store.apply(probe_update(r#"{"ts":1110,"value":"3"}"#), 0);
        assert_eq!(probe_points(&store), [(1_150, 3.0)]);
        store.apply(probe_update(r#"{"ts":1120,"value":"3.0","count":1}"#), 0);
        assert_eq!(probe_points(&store), [(1_120, 3.0)]);
    }

    #[test]
    fn a_series_without_aggregation_keeps_raw_points_as_they_come() {
        let mut store = Store::new();
        store.set_aggregation(2, Some(avg_every_100_ms_from_1000()));
        // NONE is no aggregation either.
        store.set_aggregation(
            1,
            Some(AggSpec {
                agg: crate::protocol::Aggregation::None,
                start_ms: 1_000,
                interval_ms: 100,
            }),
        );
        assert!(store.aggregation(1).is_none());
        store.apply(
            probe_update(r#"{"ts":1170,"value":"6"},{"ts":1110,"value":"2"}"#),
            0,
        );
        store.apply(probe_update(r#"{"ts":1180,"value":"1"}"#), 0);
        assert_eq!(
            probe_points(&store),
            [(1_110, 2.0), (1_170, 6.0), (1_180, 1.0)]
        );
        assert!(store.aggregators.is_empty());
    }

    #[test]
    fn a_new_aggregation_spec_starts_the_live_aggregation_over() {
        let mut store = Store::new();
        store.set_aggregation(1, Some(avg_every_100_ms_from_1000()));
        store.apply(probe_update(r#"{"ts":1110,"value":"4"}"#), 0);
        assert_eq!(store.aggregators.len(), 1);
        // The same spec again keeps the state; another one drops it.
        store.set_aggregation(1, Some(avg_every_100_ms_from_1000()));
        assert_eq!(store.aggregators.len(), 1);
        store.set_aggregation(
            1,
            Some(AggSpec {
                agg: crate::protocol::Aggregation::Max,
                start_ms: 1_000,
                interval_ms: 100,
            }),
        );
        assert!(store.aggregators.is_empty());
        store.apply(probe_update(r#"{"ts":1120,"value":"2"}"#), 0);
        assert_eq!(probe_points(&store), [(1_150, 2.0)]);
    }

    #[test]
    fn connection_events_feed_health_and_session_expiry_is_remembered_until_live() {
        let mut store = Store::new();
        store.apply(NetEvent::Connection(ConnState::Live), 0);
        store.apply(NetEvent::Rtt { ms: 42 }, 0);
        store.apply(
            NetEvent::Traffic {
                msgs: 50,
                bytes: 5000,
            },
            5,
        );
        let h = store.health.as_ref().unwrap();
        assert_eq!((h.total_messages(), h.total_bytes()), (50, 5000));
        assert!(h.messages_per_sec(5) > 0.0);
        store.apply(
            NetEvent::Closed {
                code: 4500,
                reason: String::new(),
            },
            10,
        );
        let h = store.health.as_ref().unwrap();
        assert_eq!(h.last_close().map(|c| c.code), Some(4500));
        assert!(h.rtt_last().is_some());
        store.apply(NetEvent::SessionExpired, 20);
        assert!(store.session_expired);
        store.apply(NetEvent::Connection(ConnState::Live), 30);
        assert!(!store.session_expired);
    }

    fn count_msg(seq: i64, unread: i64) -> NetEvent {
        msg(&format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"NOTIFICATIONS_COUNT","totalUnreadCount":{unread},"sequenceNumber":{seq}}}"#
        ))
    }

    fn inbox_msg(seq: i64, unread: i64) -> NetEvent {
        msg(&format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"cmdUpdateType":"NOTIFICATIONS","notifications":[],"update":null,"totalUnreadCount":{unread},"sequenceNumber":{seq}}}"#
        ))
    }

    fn unread_of(store: &Store) -> Option<i64> {
        match store.subs.get(&1) {
            Some(SubData::Unread(c)) => c.count(),
            Some(SubData::Inbox(i)) => i.total_unread_count(),
            _ => None,
        }
    }

    #[test]
    fn a_new_socket_numbers_notification_messages_from_one_again_and_they_apply() {
        for make in [count_msg, inbox_msg] {
            let mut store = Store::new();
            store.apply(NetEvent::Connection(ConnState::Live), 0);
            for seq in 1..=5 {
                store.apply(make(seq, 10 + seq), seq);
            }
            assert_eq!(unread_of(&store), Some(15));
            store.apply(make(3, 99), 6);
            assert_eq!(unread_of(&store), Some(15), "stale on the same socket");
            // The link drops; the next socket subscribes again and numbers from 1.
            store.apply(
                NetEvent::Connection(ConnState::Reconnecting {
                    attempt: 1,
                    retry_at_ms: 10,
                }),
                7,
            );
            assert_eq!(unread_of(&store), Some(15), "still shown while away");
            store.apply(NetEvent::Connection(ConnState::Live), 8);
            store.apply(make(1, 3), 9);
            assert_eq!(unread_of(&store), Some(3));
            store.apply(make(1, 4), 10);
            assert_eq!(
                unread_of(&store),
                Some(3),
                "stale again within the new socket"
            );
            // A repeated Live (no reconnect in between) does not reopen the numbering.
            store.apply(NetEvent::Connection(ConnState::Live), 11);
            store.apply(make(1, 5), 12);
            assert_eq!(unread_of(&store), Some(3));
        }
    }

    #[test]
    fn a_resynced_notification_subscription_numbers_its_messages_from_one_again() {
        for make in [count_msg, inbox_msg] {
            let mut store = Store::new();
            store.apply(NetEvent::Connection(ConnState::Live), 0);
            for seq in 1..=5 {
                store.apply(make(seq, 10 + seq), seq);
            }
            // The old subscription's messages still queued before the marker stay stale-checked.
            store.apply(make(4, 99), 6);
            assert_eq!(unread_of(&store), Some(15));
            store.apply(NetEvent::Resynced { sub: 1 }, 7);
            store.apply(make(1, 3), 8);
            assert_eq!(unread_of(&store), Some(3), "the new subscription's first");
            store.apply(make(1, 4), 9);
            assert_eq!(unread_of(&store), Some(3), "stale within the new one");
        }
    }

    #[test]
    fn lagged_subscriptions_are_resynced_from_their_oldest_dropped_point_and_kept_while_the_session_is_busy()
     {
        let mut store = Store::new();
        let lag = |sub, since_ms| Lag { sub, since_ms };
        store.apply(
            NetEvent::Lagged {
                subs: vec![lag(1, Some(500)), lag(2, None), lag(3, Some(7))],
            },
            0,
        );
        store.apply(
            NetEvent::Lagged {
                subs: vec![lag(1, Some(300)), lag(2, Some(900)), lag(1, Some(400))],
            },
            1,
        );
        store.forget(3);
        store.retire(4);
        store.apply(
            NetEvent::Lagged {
                subs: vec![lag(4, Some(1))],
            },
            2,
        );
        assert_eq!(
            store.lagged,
            BTreeMap::from([(1, Some(300)), (2, Some(900))]),
            "the older time wins; forgotten and retired subscriptions are not resynced"
        );
        // The session takes one command, then its queue is full: the other one waits.
        let mut sent = Vec::new();
        store.resync_lagged(|cmd| {
            if sent.is_empty() {
                sent.push(cmd);
                Ok(())
            } else {
                Err(SendError::Full)
            }
        });
        assert_eq!(
            sent,
            [NetCommand::Resync {
                sub: 1,
                since_ms: Some(300)
            }]
        );
        assert_eq!(store.lagged, BTreeMap::from([(2, Some(900))]));
        // A session that has ended resyncs nothing: forgotten, not retried forever.
        store.resync_lagged(|_| Err(SendError::Closed));
        assert!(store.lagged.is_empty());
    }

    #[test]
    fn counts_errors_and_v1_values_are_kept_per_subscription() {
        let mut store = Store::new();
        store.apply(
            msg(r#"{"cmdId":1,"count":5,"errorCode":0,"errorMsg":null,"cmdUpdateType":"ALARM_COUNT_DATA"}"#),
            0,
        );
        assert!(matches!(store.subs.get(&1), Some(SubData::AlarmCount(c)) if c.count() == Some(5)));
        store.apply(
            NetEvent::Message {
                sub: 2,
                msg: Box::new(
                    ServerMessage::from_json(
                        r#"{"subscriptionId":3,"errorCode":0,"errorMsg":null,
                        "data":{"temperature":[[2000,"2.5"],[1000,"1.5"]]},"latestValues":{"temperature":2000}}"#,
                    )
                    .unwrap(),
                ),
            },
            0,
        );
        let Some(SubData::V1(map)) = store.subs.get(&2) else {
            panic!()
        };
        assert_eq!(map["temperature"].0, 2000);
        store.apply(
            NetEvent::SubscriptionError {
                sub: 1,
                code: 34,
                message: "Too many updates!".into(),
            },
            0,
        );
        assert_eq!(store.errors[&1].code, 34);
        store.apply(NetEvent::BadFrame { error: "x".into() }, 0);
        assert_eq!(store.bad_frames, 1);
    }

    const DEVICE_1: &str = "00000000-0000-0000-0000-000000000001";

    /// A v1 message of sub 1 with `data` (JSON object text).
    fn v1_msg(data: &str) -> NetEvent {
        msg(&format!(
            r#"{{"subscriptionId":5,"errorCode":0,"errorMsg":null,"data":{data},"latestValues":{{}}}}"#
        ))
    }

    fn v1_latest(store: &Store) -> Vec<(&str, i64, &str)> {
        let Some(SubData::V1(held)) = store.subs.get(&1) else {
            panic!("{:?}", store.subs.get(&1))
        };
        held.iter()
            .map(|(k, p)| (k.as_str(), p.0, p.1.as_ref().map_or("", TbValue::as_str)))
            .collect()
    }

    fn device_1() -> EntityId {
        serde_json::from_str(&format!(r#"{{"entityType":"DEVICE","id":"{DEVICE_1}"}}"#)).unwrap()
    }

    fn v1_series(store: &Store, key: &str) -> Option<Vec<(i64, f64)>> {
        store
            .series
            .get(&(1, device_1(), key.to_owned()))
            .map(|b| b.points_in(i64::MIN, i64::MAX).collect())
    }

    #[test]
    fn v1_latest_values_drop_deleted_and_missing_keys_and_ignore_late_points() {
        let mut store = Store::new();
        store.apply(
            v1_msg(r#"{"a":[[2000,"1"]],"b":[[2000,"x"]],"missing":[[9000,null]]}"#),
            0,
        );
        assert_eq!(v1_latest(&store), [("a", 2000, "1"), ("b", 2000, "x")]);
        store.apply(v1_msg(r#"{"a":[[1000,"late"]],"b":[[0,""]]}"#), 0);
        assert_eq!(v1_latest(&store), [("a", 2000, "1")]);
        store.apply(v1_msg(r#"{"a":[[3000,null]]}"#), 0);
        assert!(v1_latest(&store).is_empty(), "the key went missing");
    }

    #[test]
    fn a_history_reply_replaces_the_slot_made_for_it_whole() {
        let mut store = Store::new();
        store.subs.insert(1, SubData::V1History(None));
        store.apply(
            v1_msg(r#"{"a":[[3000,"3"],[1000,"1"]],"b":[[1000,"5"]]}"#),
            0,
        );
        store.apply(v1_msg(r#"{"a":[[2000,"2"],[0,""],[4000,null]]}"#), 0);
        let Some(SubData::V1History(Some(h))) = store.subs.get(&1) else {
            panic!("{:?}", store.subs.get(&1))
        };
        assert_eq!(h.len(), 1, "b is not in the new reply: {h:?}");
        assert_eq!(h["a"], [TsPoint(2000, Some(TbValue::new("2")))]);
        // Without the slot, the same message is a live update.
        let mut store = Store::new();
        store.apply(v1_msg(r#"{"a":[[3000,"3"],[1000,"1"]]}"#), 0);
        assert_eq!(v1_latest(&store), [("a", 3000, "3")]);
    }

    #[test]
    fn tracked_v1_numbers_feed_the_series_until_the_subscription_is_forgotten() {
        let mut store = Store::new();
        store.apply(v1_msg(r#"{"t":[[500,"0.5"]]}"#), 0);
        store.track_v1_series(1, device_1());
        store.apply(
            v1_msg(
                r#"{"t":[[2000,"2.5"],[1000,"1.5"]],"text":[[1000,"on"]],"none":[[1000,null]]}"#,
            ),
            0,
        );
        store.apply(v1_msg(r#"{"t":[[1500,"1"]]}"#), 0);
        assert_eq!(
            v1_series(&store, "t"),
            Some(vec![(1000, 1.5), (1500, 1.0), (2000, 2.5)]),
            "from tracking on, late points in order"
        );
        assert!(v1_series(&store, "text").is_none() && v1_series(&store, "none").is_none());
        // A deleted key's series goes with it; a point after the deletion starts it anew.
        store.apply(v1_msg(r#"{"t":[[0,""]]}"#), 0);
        assert_eq!(v1_series(&store, "t"), None);
        store.apply(v1_msg(r#"{"t":[[3000,"3"],[0,""]]}"#), 0);
        assert_eq!(v1_series(&store, "t"), Some(vec![(3000, 3.0)]));
        store.forget(1);
        store.apply(v1_msg(r#"{"t":[[4000,"4"]]}"#), 0);
        assert!(store.series.is_empty(), "forgetting ends the tracking");
        assert_eq!(v1_latest(&store), [("t", 4000, "4")]);
    }

    #[test]
    fn a_tracked_history_reply_replaces_the_subscriptions_series() {
        let mut store = Store::new();
        store.subs.insert(1, SubData::V1History(None));
        store.track_v1_series(1, device_1());
        store.apply(
            v1_msg(r#"{"a":[[3000,"3"],[1000,"1"]],"b":[[1000,"5"]]}"#),
            0,
        );
        store.apply(v1_msg(r#"{"a":[[2000,"2"]]}"#), 0);
        assert_eq!(v1_series(&store, "a"), Some(vec![(2000, 2.0)]));
        assert_eq!(v1_series(&store, "b"), None);
        store.retire(1);
        assert!(store.v1_series.is_empty());
    }

    #[test]
    fn a_v1_error_is_recorded_and_leaves_the_values_as_they_were() {
        let mut store = Store::new();
        store.apply(v1_msg(r#"{"a":[[2000,"1"]]}"#), 0);
        store.apply(
            msg(r#"{"subscriptionId":5,"errorCode":3,"errorMsg":"Unauthorized","data":null,"latestValues":{}}"#),
            7,
        );
        assert_eq!(v1_latest(&store), [("a", 2000, "1")]);
        let e = &store.errors[&1];
        assert_eq!(
            (e.code, e.message.as_str(), e.received_at_ms),
            (3, "Unauthorized", 7)
        );
        // A history slot keeps its last reply too.
        let mut store = Store::new();
        store.subs.insert(1, SubData::V1History(None));
        store.apply(v1_msg(r#"{"a":[[2000,"1"]]}"#), 0);
        store.apply(
            msg(r#"{"subscriptionId":5,"errorCode":2,"errorMsg":"Keys are empty!","data":null,"latestValues":{}}"#),
            0,
        );
        assert!(matches!(store.subs.get(&1), Some(SubData::V1History(Some(h))) if h.len() == 1));
        assert_eq!(store.errors[&1].code, 2);
    }
}

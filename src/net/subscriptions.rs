//! Subscriptions as data: what the UI asked for, kept to be replayed after a reconnect.
//!
//! The UI names a subscription by a stable [`SubId`]; the server knows it by a `cmdId` that
//! is only valid on one socket. The registry maps one to the other, numbers commands per
//! connection from 1 (notifications from 1,000,000, away from the ids the server uses
//! internally, §2 of the reference), applies the server's rules for changing a live
//! subscription, and cuts commands into frames of at most 10 commands and 32 KiB.
//!
//! A one-shot `TIMESERIES_HISTORY` fetch ([`SubSpec::History`]) is kept like a subscription:
//! its reply comes under its `cmdId`, a reconnect sends it again (the new reply replaces the
//! old one), and ending it sends nothing (the server keeps no state for it).

use std::collections::{BTreeMap, HashMap};

use super::event::SubId;
use crate::protocol::{
    Aggregation, AlarmCountCmd, AlarmDataCmd, AlarmStatusCmd, AttributesSubscriptionCmd,
    ClientMessage, EntityCountCmd, EntityDataCmd, GetHistoryCmd, IntervalType, MAX_CMDS_PER_FRAME,
    MAX_FRAME_BYTES, NotificationsCountSubCmd, NotificationsSubCmd, TimeSeriesCmd,
    TimeseriesSubscriptionCmd, UnsubscribeCmd, WsCmd,
};

/// First `cmdId` of notification subscriptions on a connection.
pub const NOTIFICATION_CMD_BASE: i32 = 1_000_000;

/// How far before the last point seen a resumed time series starts. Points older than the
/// newest one seen can arrive while the link is down (a gateway uploading its buffer, a key
/// lagging behind another); the overlap fetches them, and the store replaces the points it
/// already has (same timestamp), so nothing is shown twice.
pub const RESUME_OVERLAP_MS: i64 = 60_000;

/// Most intervals an aggregated query may span: `(end - start) / max(interval, 1000)`
/// (`database.ts_max_intervals`; more closes the socket, §4.1).
const MAX_AGG_INTERVALS: i64 = 700;

/// What a subscription asks the server for (the `cmdId` inside is ignored).
#[derive(Debug, Clone, PartialEq)]
pub enum SubSpec {
    /// `ENTITY_DATA`.
    EntityData(EntityDataCmd),
    /// `ENTITY_COUNT`.
    EntityCount(EntityCountCmd),
    /// `ALARM_DATA`.
    AlarmData(AlarmDataCmd),
    /// `ALARM_COUNT`.
    AlarmCount(AlarmCountCmd),
    /// `ALARM_STATUS`.
    AlarmStatus(AlarmStatusCmd),
    /// `NOTIFICATIONS`.
    Notifications(NotificationsSubCmd),
    /// `NOTIFICATIONS_COUNT`.
    NotificationsCount(NotificationsCountSubCmd),
    /// v1 `ATTRIBUTES`.
    Attributes(AttributesSubscriptionCmd),
    /// v1 `TIMESERIES`.
    Timeseries(TimeseriesSubscriptionCmd),
    /// v1 `TIMESERIES_HISTORY`: one reply, sent again after a reconnect, nothing to end.
    History(GetHistoryCmd),
}

impl SubSpec {
    /// The command that subscribes under `cmd_id`.
    #[must_use]
    pub fn subscribe_cmd(&self, cmd_id: i32) -> WsCmd {
        match self {
            SubSpec::EntityData(c) => WsCmd::EntityData(EntityDataCmd {
                cmd_id,
                ..c.clone()
            }),
            SubSpec::EntityCount(c) => WsCmd::EntityCount(EntityCountCmd {
                cmd_id,
                ..c.clone()
            }),
            SubSpec::AlarmData(c) => WsCmd::AlarmData(AlarmDataCmd {
                cmd_id,
                ..c.clone()
            }),
            SubSpec::AlarmCount(c) => WsCmd::AlarmCount(AlarmCountCmd {
                cmd_id,
                ..c.clone()
            }),
            SubSpec::AlarmStatus(c) => WsCmd::AlarmStatus(AlarmStatusCmd {
                cmd_id,
                ..c.clone()
            }),
            SubSpec::Notifications(c) => WsCmd::Notifications(NotificationsSubCmd {
                cmd_id,
                ..c.clone()
            }),
            SubSpec::NotificationsCount(_) => {
                WsCmd::NotificationsCount(NotificationsCountSubCmd { cmd_id })
            }
            SubSpec::Attributes(c) => WsCmd::Attributes(AttributesSubscriptionCmd {
                cmd_id,
                unsubscribe: false,
                ..c.clone()
            }),
            SubSpec::Timeseries(c) => WsCmd::Timeseries(TimeseriesSubscriptionCmd {
                cmd_id,
                unsubscribe: false,
                ..c.clone()
            }),
            SubSpec::History(c) => WsCmd::TimeseriesHistory(GetHistoryCmd {
                cmd_id,
                ..c.clone()
            }),
        }
    }

    /// The spec of a subscribing command as written in a query file; `None` for commands
    /// that are not subscriptions (unsubscribes, marks, one-shot history).
    #[must_use]
    pub fn from_cmd(cmd: WsCmd) -> Option<SubSpec> {
        Some(match cmd {
            WsCmd::EntityData(c) => SubSpec::EntityData(c),
            WsCmd::EntityCount(c) => SubSpec::EntityCount(c),
            WsCmd::AlarmData(c) => SubSpec::AlarmData(c),
            WsCmd::AlarmCount(c) => SubSpec::AlarmCount(c),
            WsCmd::AlarmStatus(c) => SubSpec::AlarmStatus(c),
            WsCmd::Notifications(c) => SubSpec::Notifications(c),
            WsCmd::NotificationsCount(c) => SubSpec::NotificationsCount(c),
            WsCmd::Attributes(c) if !c.unsubscribe => SubSpec::Attributes(c),
            WsCmd::Timeseries(c) if !c.unsubscribe => SubSpec::Timeseries(c),
            _ => return None,
        })
    }

    /// The command that ends the subscription `cmd_id`; `None` for a one-shot history
    /// fetch, which the server does not keep.
    #[must_use]
    pub fn unsubscribe_cmd(&self, cmd_id: i32) -> Option<WsCmd> {
        let u = UnsubscribeCmd { cmd_id };
        Some(match self {
            SubSpec::EntityData(_) => WsCmd::EntityDataUnsubscribe(u),
            SubSpec::EntityCount(_) => WsCmd::EntityCountUnsubscribe(u),
            SubSpec::AlarmData(_) => WsCmd::AlarmDataUnsubscribe(u),
            SubSpec::AlarmCount(_) => WsCmd::AlarmCountUnsubscribe(u),
            SubSpec::AlarmStatus(_) => WsCmd::AlarmStatusUnsubscribe(u),
            SubSpec::Notifications(_) | SubSpec::NotificationsCount(_) => {
                WsCmd::NotificationsUnsubscribe(u)
            }
            SubSpec::Attributes(c) => WsCmd::Attributes(AttributesSubscriptionCmd {
                cmd_id,
                unsubscribe: true,
                ..c.clone()
            }),
            SubSpec::Timeseries(c) => WsCmd::Timeseries(TimeseriesSubscriptionCmd {
                cmd_id,
                unsubscribe: true,
                ..c.clone()
            }),
            SubSpec::History(_) => return None,
        })
    }

    fn is_notification(&self) -> bool {
        matches!(
            self,
            SubSpec::Notifications(_) | SubSpec::NotificationsCount(_)
        )
    }

    /// Whether it streams time series whose gap a reconnect must backfill.
    #[must_use]
    pub fn streams_timeseries(&self) -> bool {
        match self {
            SubSpec::EntityData(c) => c.ts_cmd.is_some(),
            SubSpec::Timeseries(c) => c.time_window > 0,
            _ => false,
        }
    }

    /// Whether a change from `self` to `new` can re-use the live `cmdId` (the server's
    /// "modify" path): `ENTITY_DATA` with the same query (a new time window or keys) and
    /// `ALARM_DATA` (a new page). Everything else is unsubscribed and subscribed anew.
    #[must_use]
    pub fn can_update_in_place(&self, new: &SubSpec) -> bool {
        match (self, new) {
            (SubSpec::EntityData(a), SubSpec::EntityData(b)) => a.query == b.query,
            (SubSpec::AlarmData(_), SubSpec::AlarmData(_)) => true,
            _ => false,
        }
    }

    /// The spec to send after a reconnect when the last point seen was at `last_ts`: raw
    /// time series restart [`RESUME_OVERLAP_MS`] before it, never before their original
    /// start (the gap and any late point are fetched; the store replaces the points it
    /// already has), and keep their live window past now (the server bounds only its fetch
    /// by the window end, so a late end costs nothing and covers a client clock behind the
    /// server's). Aggregated `tsCmd`s resume on their original grid at the start of the
    /// interval holding `last_ts - RESUME_OVERLAP_MS`, within the server's 700-interval
    /// limit (see `resume_aggregated`).
    #[must_use]
    pub fn resumed(&self, last_ts: Option<i64>, now_ms: i64) -> SubSpec {
        let Some(last) = last_ts else {
            return self.clone();
        };
        match self {
            SubSpec::EntityData(c) => {
                let mut c = c.clone();
                if let Some(ts) = c.ts_cmd.as_mut() {
                    if is_aggregated(ts) {
                        resume_aggregated(ts, last, now_ms);
                    } else {
                        let window_end = now_ms.saturating_add(ts.time_window.max(0));
                        let start = last.saturating_sub(RESUME_OVERLAP_MS).max(ts.start_ts);
                        ts.start_ts = start;
                        ts.time_window = window_end.saturating_sub(start).max(1);
                    }
                }
                SubSpec::EntityData(c)
            }
            SubSpec::Timeseries(c) if c.time_window > 0 => {
                let mut c = c.clone();
                let start = last.saturating_sub(RESUME_OVERLAP_MS).max(c.start_ts);
                c.time_window = now_ms
                    .saturating_add(c.time_window)
                    .saturating_sub(start)
                    .max(1);
                c.start_ts = start;
                SubSpec::Timeseries(c)
            }
            other => other.clone(),
        }
    }
}

/// Whether a `tsCmd` asks for aggregates rather than raw points.
fn is_aggregated(ts: &TimeSeriesCmd) -> bool {
    ts.agg.as_ref().is_some_and(|a| {
        matches!(
            a,
            Aggregation::Min
                | Aggregation::Max
                | Aggregation::Avg
                | Aggregation::Sum
                | Aggregation::Count
        )
    })
}

/// Resumes an aggregated `tsCmd` on its original grid (anchored at its `startTs`, `interval`
/// ms steps), so that the resumed aggregates replace the client's point for point:
///
/// - it starts at the interval holding `last - RESUME_OVERLAP_MS` (intervals are
///   re-aggregated whole, late points included), never before the original start;
/// - it ends where the interval holding now (or `last`, if the server's clock is ahead)
///   ends: the last interval is whole, and none of the 700-interval budget goes to the
///   future;
/// - it spans at most 700 intervals (`(end - start) / max(interval, 1000)`): after a longer
///   outage it starts at the oldest grid point allowed, and the older part stays a gap.
///
/// Calendar intervals (`WEEK`, `MONTH`, …) are not a fixed grid: those re-fetch from the
/// original start up to now.
fn resume_aggregated(ts: &mut TimeSeriesCmd, last: i64, now_ms: i64) {
    let calendar = ts
        .interval_type
        .as_ref()
        .is_some_and(|t| *t != IntervalType::Milliseconds);
    if calendar {
        let end = ts.start_ts.saturating_add(ts.time_window).max(now_ms);
        ts.time_window = end.saturating_sub(ts.start_ts).max(1);
        return;
    }
    let anchor = i128::from(ts.start_ts);
    let interval = i128::from(ts.interval.max(1));
    let unit = i128::from(ts.interval.max(1000));
    let floor = |t: i128| anchor + (t - anchor).div_euclid(interval) * interval;
    let end = floor(i128::from(now_ms.max(last))) + interval;
    // (end - start) / unit <= 700  <=>  end - start <= 701 * unit - 1; rounded up to the grid.
    let earliest = end - (i128::from(MAX_AGG_INTERVALS) + 1) * unit + 1;
    let earliest = anchor + (earliest - anchor + interval - 1).div_euclid(interval) * interval;
    let from = i128::from(last) - i128::from(RESUME_OVERLAP_MS);
    let start = floor(from).max(anchor).max(earliest);
    let clamp = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
    ts.start_ts = clamp(start);
    ts.time_window = clamp(end - start).max(1);
}

#[derive(Debug, Clone)]
struct Entry {
    spec: SubSpec,
    /// The `cmdId` on the current socket (`None` while disconnected).
    cmd_id: Option<i32>,
    /// Newest time-series timestamp seen, for gap backfill.
    last_ts: Option<i64>,
}

/// Every live subscription and its `cmdId` on the current socket.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    subs: BTreeMap<SubId, Entry>,
    by_cmd: HashMap<i32, SubId>,
    next_cmd: i32,
    next_notification_cmd: i32,
    connected: bool,
}

impl Registry {
    /// An empty registry, not connected.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many subscriptions are live.
    #[must_use]
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// The subscription a `cmdId` of the current socket belongs to.
    #[must_use]
    pub fn sub_for_cmd(&self, cmd_id: i32) -> Option<SubId> {
        self.by_cmd.get(&cmd_id).copied()
    }

    /// The current `cmdId` of a subscription.
    #[must_use]
    pub fn cmd_for_sub(&self, sub: SubId) -> Option<i32> {
        self.subs.get(&sub).and_then(|e| e.cmd_id)
    }

    /// The spec of a subscription.
    #[must_use]
    pub fn spec(&self, sub: SubId) -> Option<&SubSpec> {
        self.subs.get(&sub).map(|e| &e.spec)
    }

    fn allocate(&mut self, spec: &SubSpec) -> i32 {
        let counter = if spec.is_notification() {
            &mut self.next_notification_cmd
        } else {
            &mut self.next_cmd
        };
        let id = *counter;
        *counter = counter.checked_add(1).unwrap_or(1);
        id
    }

    /// A new socket: every old `cmdId` is void; numbering restarts.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.by_cmd.clear();
        for e in self.subs.values_mut() {
            e.cmd_id = None;
        }
    }

    /// The socket is open: allocates fresh `cmdId`s and returns the commands that replay
    /// every subscription (time series resumed after their last point, see
    /// [`SubSpec::resumed`]), with the subscriptions whose gap is being backfilled.
    pub fn connected(&mut self, now_ms: i64) -> (Vec<WsCmd>, Vec<SubId>) {
        self.disconnected();
        self.connected = true;
        self.next_cmd = 1;
        self.next_notification_cmd = NOTIFICATION_CMD_BASE;
        let subs: Vec<SubId> = self.subs.keys().copied().collect();
        let mut cmds = Vec::with_capacity(subs.len());
        let mut backfilled = Vec::new();
        for sub in subs {
            let Some(entry) = self.subs.get(&sub) else {
                continue;
            };
            let spec = entry.spec.resumed(entry.last_ts, now_ms);
            if entry.last_ts.is_some() && spec.streams_timeseries() {
                backfilled.push(sub);
            }
            let cmd_id = self.assign(sub, &spec, &mut cmds);
            if let Some(e) = self.subs.get_mut(&sub) {
                e.cmd_id = cmd_id;
            }
        }
        (cmds, backfilled)
    }

    /// Adds (or replaces) a subscription; returns what to send now (nothing while offline:
    /// the next connection replays it).
    pub fn subscribe(&mut self, sub: SubId, spec: SubSpec) -> Vec<WsCmd> {
        let mut out = self.unsubscribe(sub);
        let cmd_id = self.assign(sub, &spec, &mut out);
        self.subs.insert(
            sub,
            Entry {
                spec,
                cmd_id,
                last_ts: None,
            },
        );
        out
    }

    /// Changes a live subscription by the server's rules: re-sent on the same `cmdId` when
    /// [`SubSpec::can_update_in_place`], else unsubscribed and subscribed under a new one.
    pub fn update(&mut self, sub: SubId, spec: SubSpec) -> Vec<WsCmd> {
        let in_place = self
            .subs
            .get(&sub)
            .is_some_and(|e| e.spec.can_update_in_place(&spec));
        if !in_place {
            return self.subscribe(sub, spec);
        }
        let Some(entry) = self.subs.get_mut(&sub) else {
            return Vec::new();
        };
        entry.spec = spec;
        entry.last_ts = None;
        match entry.cmd_id {
            Some(id) => vec![entry.spec.subscribe_cmd(id)],
            None => Vec::new(),
        }
    }

    /// Drops a subscription; returns the unsubscribe command for the live socket, if any.
    pub fn unsubscribe(&mut self, sub: SubId) -> Vec<WsCmd> {
        let Some(entry) = self.subs.remove(&sub) else {
            return Vec::new();
        };
        let Some(id) = entry.cmd_id else {
            return Vec::new();
        };
        self.by_cmd.remove(&id);
        entry.spec.unsubscribe_cmd(id).into_iter().collect()
    }

    /// Records the newest time-series timestamp a subscription has seen.
    pub fn observe_ts(&mut self, sub: SubId, ts: i64) {
        if let Some(e) = self.subs.get_mut(&sub) {
            e.last_ts = Some(e.last_ts.map_or(ts, |t| t.max(ts)));
        }
    }

    /// Re-sends one subscription under a new `cmdId` (after "Too many updates!", which
    /// leaves the server dropping its updates silently).
    /// The stream resumes after the last point seen, not from the original window.
    pub fn resubscribe(&mut self, sub: SubId, now_ms: i64) -> Vec<WsCmd> {
        let Some(Entry { spec, last_ts, .. }) = self.subs.get(&sub).cloned() else {
            return Vec::new();
        };
        let mut out = self.unsubscribe(sub);
        let cmd_id = self.assign(sub, &spec.resumed(last_ts, now_ms), &mut out);
        self.subs.insert(
            sub,
            Entry {
                spec,
                cmd_id,
                last_ts,
            },
        );
        out
    }

    /// Re-sends one subscription under a new `cmdId` after the UI dropped some of its
    /// messages ([`NetEvent::Lagged`](super::NetEvent::Lagged)): time series resume a minute
    /// before the older of the last point seen and `since_ms` (the oldest point dropped), so
    /// the dropped points come again; everything else sends a fresh snapshot. Offline only
    /// the resume point moves, and the next connection replays it from there.
    pub fn resync(&mut self, sub: SubId, since_ms: Option<i64>, now_ms: i64) -> Vec<WsCmd> {
        if let (Some(since), Some(entry)) = (since_ms, self.subs.get_mut(&sub)) {
            entry.last_ts = Some(entry.last_ts.map_or(since, |t| t.min(since)));
        }
        self.resubscribe(sub, now_ms)
    }

    /// On a live socket: a new `cmdId` for `sub`, and the command sending `spec` under it.
    fn assign(&mut self, sub: SubId, spec: &SubSpec, out: &mut Vec<WsCmd>) -> Option<i32> {
        if !self.connected {
            return None;
        }
        let id = self.allocate(spec);
        self.by_cmd.insert(id, sub);
        out.push(spec.subscribe_cmd(id));
        Some(id)
    }
}

/// A command too large to send in one frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} command of {bytes} bytes exceeds the server's 32 KiB frame limit")]
pub struct TooLarge {
    /// Its type.
    pub kind: &'static str,
    /// Its size.
    pub bytes: usize,
    /// Its `cmdId`.
    pub cmd_id: i32,
}

/// Cuts commands into frames of at most 10 commands and 32 KiB; the first frame carries
/// `auth_token` when given. Commands that cannot fit any frame are returned apart.
#[must_use]
pub fn frames(auth_token: Option<&str>, cmds: Vec<WsCmd>) -> (Vec<String>, Vec<TooLarge>) {
    let mut frames = Vec::new();
    let mut too_large = Vec::new();
    let mut current = match auth_token {
        Some(t) => ClientMessage::authenticated(t, Vec::new()),
        None => ClientMessage::new(Vec::new()),
    };
    let size = |m: &ClientMessage| m.to_json().map_or(usize::MAX, |s| s.len());
    for cmd in cmds {
        current.cmds.push(cmd);
        let fits = current.cmds.len() <= MAX_CMDS_PER_FRAME && size(&current) <= MAX_FRAME_BYTES;
        if fits {
            continue;
        }
        let Some(cmd) = current.cmds.pop() else {
            continue;
        };
        if !current.cmds.is_empty() || current.auth_cmd.is_some() {
            if let Ok(text) = current.to_json() {
                frames.push(text);
            }
            current = ClientMessage::new(Vec::new());
        }
        current.cmds.push(cmd);
        if size(&current) > MAX_FRAME_BYTES
            && let Some(cmd) = current.cmds.pop()
        {
            let bytes = serde_json::to_string(&cmd).map_or(usize::MAX, |s| s.len());
            too_large.push(TooLarge {
                kind: cmd.type_name(),
                bytes,
                cmd_id: cmd.cmd_id(),
            });
        }
    }
    if (!current.cmds.is_empty() || current.auth_cmd.is_some())
        && let Ok(text) = current.to_json()
    {
        frames.push(text);
    }
    (frames, too_large)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{LatestValueCmd, TimeSeriesCmd};

    fn entity_data(keys: &[&str], ts: Option<(i64, i64)>) -> SubSpec {
        let query: crate::protocol::EntityDataQuery = serde_json::from_str(
            r#"{"entityFilter":{"type":"entityType","entityType":"DEVICE"},
                "pageLink":{"pageSize":10,"page":0}}"#,
        )
        .unwrap();
        SubSpec::EntityData(EntityDataCmd {
            cmd_id: 0,
            query: Some(query),
            latest_cmd: Some(LatestValueCmd {
                keys: keys
                    .iter()
                    .map(|k| crate::protocol::EntityKey::time_series(*k))
                    .collect(),
            }),
            ts_cmd: ts.map(|(start, window)| TimeSeriesCmd {
                keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                start_ts: start,
                time_window: window,
                interval_type: None,
                interval: 1000,
                time_zone_id: None,
                limit: 1000,
                agg: None,
                fetch_latest_previous_point: false,
            }),
            history_cmd: None,
            agg_history_cmd: None,
            agg_ts_cmd: None,
        })
    }

    fn notifications() -> SubSpec {
        SubSpec::NotificationsCount(NotificationsCountSubCmd { cmd_id: 0 })
    }

    #[test]
    fn command_ids_start_at_one_per_connection_and_notifications_use_the_high_range() {
        let mut r = Registry::new();
        r.subscribe(1, entity_data(&["t"], None));
        r.subscribe(2, notifications());
        r.subscribe(3, entity_data(&["h"], None));
        let (cmds, _) = r.connected(0);
        let ids: Vec<i32> = cmds.iter().map(WsCmd::cmd_id).collect();
        assert_eq!(ids, [1, NOTIFICATION_CMD_BASE, 2]);
        assert_eq!(r.sub_for_cmd(NOTIFICATION_CMD_BASE), Some(2));
        // A reconnect numbers everything again from 1.
        r.disconnected();
        assert_eq!(r.sub_for_cmd(1), None);
        let (cmds, _) = r.connected(0);
        assert_eq!(
            cmds.iter().map(WsCmd::cmd_id).collect::<Vec<_>>(),
            [1, NOTIFICATION_CMD_BASE, 2]
        );
    }

    #[test]
    fn a_new_time_window_is_re_sent_on_the_same_cmd_id_and_a_new_query_gets_a_new_one() {
        let mut r = Registry::new();
        r.connected(0);
        let first = r.subscribe(1, entity_data(&["t"], Some((0, 60_000))));
        assert_eq!(first[0].cmd_id(), 1);
        let same = r.update(1, entity_data(&["t"], Some((0, 120_000))));
        assert_eq!(same.len(), 1);
        assert_eq!(same[0].cmd_id(), 1);
        let SubSpec::EntityData(mut other) = entity_data(&["t"], None) else {
            unreachable!()
        };
        other.query.as_mut().unwrap().page_link.page = 1;
        let changed = r.update(1, SubSpec::EntityData(other));
        assert!(matches!(
            changed[0],
            WsCmd::EntityDataUnsubscribe(UnsubscribeCmd { cmd_id: 1 })
        ));
        assert_eq!(changed[1].cmd_id(), 2);
        assert_eq!(r.sub_for_cmd(1), None);
        assert_eq!(r.sub_for_cmd(2), Some(1));
    }

    #[test]
    fn counts_are_unsubscribed_before_they_change() {
        let mut r = Registry::new();
        r.connected(0);
        r.subscribe(5, notifications());
        let cmds = r.update(5, notifications());
        assert!(matches!(cmds[0], WsCmd::NotificationsUnsubscribe(_)));
        assert_eq!(cmds[1].cmd_id(), NOTIFICATION_CMD_BASE + 1);
    }

    #[test]
    fn a_reconnect_resumes_time_series_a_minute_before_the_last_point_seen() {
        let mut r = Registry::new();
        r.connected(0);
        r.subscribe(1, entity_data(&["t"], Some((1_000, 60_000))));
        r.subscribe(2, entity_data(&["h"], None));
        r.observe_ts(1, 100_000);
        r.observe_ts(1, 20_000);
        r.disconnected();
        let (cmds, backfilled) = r.connected(160_000);
        assert_eq!(backfilled, [1]);
        let WsCmd::EntityData(c) = &cmds[0] else {
            panic!()
        };
        let ts = c.ts_cmd.as_ref().unwrap();
        // The newest point seen, less the overlap that fetches late points.
        assert_eq!(ts.start_ts, 100_000 - RESUME_OVERLAP_MS);
        // Still live a full window past now.
        assert_eq!(ts.start_ts + ts.time_window, 220_000);
    }

    #[test]
    fn the_resume_overlap_never_reaches_before_the_original_start() {
        let spec = entity_data(&["t"], Some((1_000, 60_000)));
        assert_eq!(resumed_window(&spec, 30_000, 90_000), (1_000, 150_000));
        let v1 = SubSpec::Timeseries(TimeseriesSubscriptionCmd {
            cmd_id: 0,
            entity_type: crate::protocol::EntityType::Device,
            entity_id: "00000000-0000-0000-0000-000000000001".to_owned(),
            keys: Some("t".to_owned()),
            scope: None,
            unsubscribe: false,
            start_ts: 1_000,
            time_window: 60_000,
            interval: 0,
            limit: 100,
            agg: None,
        });
        let SubSpec::Timeseries(early) = v1.resumed(Some(30_000), 90_000) else {
            panic!()
        };
        assert_eq!(early.start_ts, 1_000);
        let SubSpec::Timeseries(late) = v1.resumed(Some(100_000), 160_000) else {
            panic!()
        };
        assert_eq!(
            (late.start_ts, late.start_ts + late.time_window),
            (40_000, 220_000)
        );
    }

    /// An `ENTITY_DATA` spec with an AVG `tsCmd` anchored at `start`.
    fn aggregated(start: i64, window: i64, interval: i64) -> SubSpec {
        let SubSpec::EntityData(mut c) = entity_data(&["t"], Some((start, window))) else {
            unreachable!()
        };
        let ts = c.ts_cmd.as_mut().unwrap();
        ts.interval = interval;
        ts.agg = Some(Aggregation::Avg);
        SubSpec::EntityData(c)
    }

    fn resumed_window(spec: &SubSpec, last: i64, now: i64) -> (i64, i64) {
        let SubSpec::EntityData(c) = spec.resumed(Some(last), now) else {
            panic!()
        };
        let ts = c.ts_cmd.unwrap();
        (ts.start_ts, ts.start_ts + ts.time_window)
    }

    #[test]
    fn an_aggregated_series_resumes_at_the_start_of_the_interval_a_minute_before_its_last_point() {
        // Minute intervals anchored at 10 s past; the last point seen was the aggregate of
        // the interval [190 s, 250 s), at its midpoint: a minute before is in [130 s, 190 s).
        let spec = aggregated(10_000, 600_000, 60_000);
        let (start, end) = resumed_window(&spec, 220_000, 1_000_000);
        assert_eq!(start, 130_000, "on the original grid");
        // Up to the end of the interval holding now, [970 s, 1030 s): no interval is cut.
        assert_eq!(end, 1_030_000);
        // A minute before the last point on an interval's first millisecond: that interval.
        assert_eq!(resumed_window(&spec, 250_000, 1_000_000).0, 190_000);
        // A last point before the original start does not reach before it.
        assert_eq!(resumed_window(&spec, -500_000, 1_000_000).0, 10_000);
    }

    #[test]
    fn an_aggregated_resume_stays_within_700_intervals_after_a_long_outage() {
        // 1 s intervals (the limit's unit): at most 700 of them.
        let spec = aggregated(0, 60_000, 1_000);
        let (start, end) = resumed_window(&spec, 5_500, 10_000_000);
        assert_eq!(end, 10_001_000);
        assert_eq!((end - start) / 1_000, 700, "the most allowed");
        assert_eq!(start % 1_000, 0, "on the grid");
        // Intervals below 1 s count in seconds: 250 ms intervals anchored at 100 ms.
        let spec = aggregated(100, 60_000, 250);
        let (start, end) = resumed_window(&spec, 1_000, 3_600_000);
        assert_eq!((start - 100) % 250, 0, "on the grid");
        assert!((end - start) / 1_000 <= 700);
        assert!(
            (end - (start - 250)) / 1_000 > 700,
            "the oldest start allowed"
        );
        // A short outage is resumed whole, from the interval a minute before the last point.
        let (start, _) = resumed_window(&spec, 3_000_000, 3_600_000);
        assert_eq!(start, 2_939_850);
    }

    #[test]
    fn raw_and_calendar_series_keep_their_resume_rules() {
        // Raw: a minute before the last point, live a window past now.
        let raw = entity_data(&["t"], Some((1_000, 60_000)));
        assert_eq!(resumed_window(&raw, 100_000, 160_000), (40_000, 220_000));
        // NONE is raw.
        let SubSpec::EntityData(mut none) = aggregated(1_000, 60_000, 1_000) else {
            unreachable!()
        };
        none.ts_cmd.as_mut().unwrap().agg = Some(Aggregation::None);
        let none = SubSpec::EntityData(none);
        assert_eq!(resumed_window(&none, 100_000, 160_000), (40_000, 220_000));
        // Calendar months are no fixed grid: the window is fetched again up to now.
        let SubSpec::EntityData(mut month) = aggregated(1_000, 60_000, 1_000) else {
            unreachable!()
        };
        month.ts_cmd.as_mut().unwrap().interval_type = Some(IntervalType::Month);
        let month = SubSpec::EntityData(month);
        assert_eq!(resumed_window(&month, 30_000, 90_000), (1_000, 90_000));
    }

    #[test]
    fn a_resubscribe_takes_a_new_cmd_id_and_resumes_a_minute_before_the_last_point() {
        let mut r = Registry::new();
        r.connected(0);
        r.subscribe(1, entity_data(&["t"], Some((1_000, 60_000))));
        r.observe_ts(1, 100_000);
        let cmds = r.resubscribe(1, 160_000);
        assert!(matches!(
            cmds[0],
            WsCmd::EntityDataUnsubscribe(UnsubscribeCmd { cmd_id: 1 })
        ));
        let WsCmd::EntityData(c) = &cmds[1] else {
            panic!("{cmds:?}")
        };
        assert_eq!(c.cmd_id, 2);
        assert_eq!(c.ts_cmd.as_ref().unwrap().start_ts, 40_000);
        assert_eq!(r.sub_for_cmd(2), Some(1));
        // The stored spec keeps its original window; the last point seen is remembered.
        let SubSpec::EntityData(kept) = r.spec(1).unwrap() else {
            panic!()
        };
        assert_eq!(kept.ts_cmd.as_ref().unwrap().start_ts, 1_000);
        r.disconnected();
        let (replayed, _) = r.connected(170_000);
        let WsCmd::EntityData(c) = &replayed[0] else {
            panic!()
        };
        assert_eq!(c.ts_cmd.as_ref().unwrap().start_ts, 40_000);
    }

    #[test]
    fn a_resync_resumes_a_minute_before_the_oldest_point_dropped_and_offline_moves_the_replay() {
        let mut r = Registry::new();
        r.connected(0);
        r.subscribe(1, entity_data(&["t"], Some((1_000, 600_000))));
        r.subscribe(2, entity_data(&["h"], None));
        r.observe_ts(1, 200_000);
        let cmds = r.resync(1, Some(150_000), 210_000);
        assert!(matches!(
            cmds[0],
            WsCmd::EntityDataUnsubscribe(UnsubscribeCmd { cmd_id: 1 })
        ));
        let WsCmd::EntityData(c) = &cmds[1] else {
            panic!("{cmds:?}")
        };
        assert_eq!(c.cmd_id, 3);
        assert_eq!(
            c.ts_cmd.as_ref().unwrap().start_ts,
            150_000 - RESUME_OVERLAP_MS
        );
        assert_eq!(r.sub_for_cmd(3), Some(1));
        // A drop newer than the last point seen resumes from the last point; a latest-only
        // subscription gets its snapshot again.
        let cmds = r.resync(2, Some(5), 210_000);
        assert_eq!(cmds[1], entity_data(&["h"], None).subscribe_cmd(4));
        // Offline nothing is sent, and the next socket replays from the oldest drop.
        r.disconnected();
        assert!(r.resync(1, Some(120_000), 220_000).is_empty());
        let (replayed, _) = r.connected(230_000);
        let WsCmd::EntityData(c) = &replayed[0] else {
            panic!()
        };
        assert_eq!(
            c.ts_cmd.as_ref().unwrap().start_ts,
            120_000 - RESUME_OVERLAP_MS
        );
        // Never before the original start.
        let cmds = r.resync(1, Some(-5), 240_000);
        let WsCmd::EntityData(c) = &cmds[1] else {
            panic!("{cmds:?}")
        };
        assert_eq!(c.ts_cmd.as_ref().unwrap().start_ts, 1_000);
    }

    fn history(start: i64) -> SubSpec {
        SubSpec::History(GetHistoryCmd {
            cmd_id: 0,
            entity_type: crate::protocol::EntityType::Device,
            entity_id: "00000000-0000-0000-0000-000000000001".to_owned(),
            keys: "t".to_owned(),
            start_ts: start,
            end_ts: start + 60_000,
            interval: 1_000,
            limit: 100,
            agg: Some(Aggregation::Avg),
        })
    }

    #[test]
    fn a_history_fetch_is_sent_again_after_a_reconnect_and_ending_it_sends_nothing() {
        let mut r = Registry::new();
        r.connected(0);
        let sent = r.subscribe(1, history(1_000));
        let [WsCmd::TimeseriesHistory(c)] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert_eq!((c.cmd_id, c.start_ts), (1, 1_000));
        assert_eq!(r.sub_for_cmd(1), Some(1));
        // Points seen do not move the range: the whole reply comes again and replaces.
        r.observe_ts(1, 30_000);
        r.disconnected();
        let (replayed, backfilled) = r.connected(90_000);
        assert!(backfilled.is_empty());
        assert_eq!(replayed, [history(1_000).subscribe_cmd(1)]);
        // A new range is a new fetch under a new cmdId, with nothing sent to end the old one.
        assert!(!history(1_000).can_update_in_place(&history(2_000)));
        let changed = r.update(1, history(2_000));
        assert_eq!(changed, [history(2_000).subscribe_cmd(2)]);
        assert_eq!(
            r.sub_for_cmd(1),
            None,
            "a late reply to the old fetch is dropped"
        );
        assert!(r.unsubscribe(1).is_empty());
        assert_eq!(r.sub_for_cmd(2), None);
        assert!(r.is_empty());
    }

    #[test]
    fn v1_subscriptions_end_with_the_same_command_marked_unsubscribe() {
        let attributes = SubSpec::Attributes(AttributesSubscriptionCmd {
            cmd_id: 0,
            entity_type: crate::protocol::EntityType::Device,
            entity_id: "00000000-0000-0000-0000-000000000001".to_owned(),
            keys: None,
            scope: Some(crate::protocol::AttributeScope::Shared),
            unsubscribe: false,
        });
        let mut r = Registry::new();
        r.connected(0);
        r.subscribe(7, attributes);
        let ended = r.unsubscribe(7);
        let [WsCmd::Attributes(c)] = ended.as_slice() else {
            panic!("{ended:?}")
        };
        assert!(c.unsubscribe);
        assert_eq!(c.cmd_id, 1);
        assert!(
            !c.entity_id.is_empty(),
            "an empty id would end every subscription"
        );
    }

    #[test]
    fn subscriptions_made_offline_are_sent_on_connect_and_dropped_ones_are_not() {
        let mut r = Registry::new();
        assert!(r.subscribe(1, notifications()).is_empty());
        r.subscribe(2, entity_data(&["t"], None));
        assert!(r.unsubscribe(2).is_empty());
        let (cmds, _) = r.connected(0);
        assert_eq!(cmds.len(), 1);
    }

    #[test]
    fn frames_hold_at_most_ten_commands_and_the_first_carries_the_token() {
        let cmds: Vec<WsCmd> = (1..=23)
            .map(|i| {
                SubSpec::NotificationsCount(NotificationsCountSubCmd { cmd_id: 0 }).subscribe_cmd(i)
            })
            .collect();
        let (frames, too_large) = frames(Some("tok"), cmds);
        assert!(too_large.is_empty());
        assert_eq!(frames.len(), 3);
        let first: ClientMessage = serde_json::from_str(&frames[0]).unwrap();
        assert!(first.auth_cmd.is_some());
        assert_eq!(first.cmds.len(), 10);
        let last: ClientMessage = serde_json::from_str(&frames[2]).unwrap();
        assert!(last.auth_cmd.is_none());
        assert_eq!(last.cmds.len(), 3);
    }

    #[test]
    fn frames_stay_under_32_kib_and_a_command_that_cannot_fit_is_reported() {
        let many_keys: Vec<String> = (0..400)
            .map(|i| format!("a_rather_long_key_name_{i:04}"))
            .collect();
        let refs: Vec<&str> = many_keys.iter().map(String::as_str).collect();
        let big = entity_data(&refs, None).subscribe_cmd(1);
        let huge_keys: Vec<String> = (0..2000)
            .map(|i| format!("a_rather_long_key_name_{i:04}"))
            .collect();
        let refs: Vec<&str> = huge_keys.iter().map(String::as_str).collect();
        let huge = entity_data(&refs, None).subscribe_cmd(2);
        let (frames, too_large) = frames(Some("tok"), vec![big.clone(), big, huge]);
        assert!(
            frames.iter().all(|f| f.len() <= MAX_FRAME_BYTES),
            "{:?}",
            frames.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(frames.len(), 2);
        assert_eq!(too_large.len(), 1);
        assert_eq!(too_large[0].cmd_id, 2);
    }
}

//! The Inspector's data paths against the demo server over real sockets: v1 `ATTRIBUTES` per
//! scope, `TIMESERIES` latest values with deletions and missing keys, aggregated
//! `TIMESERIES_HISTORY`, no subscription left behind when the entity changes, and the same
//! round trips on a server that has only the legacy endpoint.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::wire::{DEADLINE, now_ms, quiet_config, start};
use tb_monitor::demo::world::Scope;
use tb_monitor::demo::{DemoConfig, DemoControl, DemoServer};
use tb_monitor::net::event::UiWaker;
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::net::{EventQueue, NetCommand, NetEvent, NetHandle, SessionConfig, SubId, SubSpec};
use tb_monitor::protocol::{
    Aggregation, AttributeScope, AttributesSubscriptionCmd, EntityId, GetHistoryCmd, ServerMessage,
    TbValue, TelemetryScope, TimeseriesSubscriptionCmd, WsCmd,
};
use tb_monitor::store::{Store, SubData};
use tokio::sync::Notify;

struct NotifyWaker(Arc<Notify>);
impl UiWaker for NotifyWaker {
    fn wake(&self) {
        self.0.notify_one();
    }
}

/// The UI side of a session: its handle, its store and every event it received.
struct Client {
    net: NetHandle,
    queue: EventQueue,
    notify: Arc<Notify>,
    store: Store,
    seen: Vec<NetEvent>,
}

impl Client {
    async fn connect(server: &DemoServer) -> Client {
        let rest = RestClient::new(&server.base_url(), TlsTrust::System).unwrap();
        let LoginOutcome::LoggedIn(_) = rest
            .login("tenant@thingsboard.org", "tenant")
            .await
            .unwrap()
        else {
            panic!("no 2FA expected")
        };
        let notify = Arc::new(Notify::new());
        let queue = EventQueue::new(10_000, Arc::new(NotifyWaker(Arc::clone(&notify))));
        let net = tb_monitor::net::spawn(
            &tokio::runtime::Handle::current(),
            rest,
            SessionConfig::default(),
            queue.clone(),
        );
        Client {
            net,
            queue,
            notify,
            store: Store::new(),
            seen: Vec::new(),
        }
    }

    async fn send(&self, cmd: NetCommand) {
        self.net.send(cmd).await.unwrap();
    }

    async fn subscribe(&self, sub: SubId, spec: SubSpec) {
        self.send(NetCommand::Subscribe { sub, spec }).await;
    }

    /// Ends a subscription the way the UI does: unsubscribed, and retired in the store.
    async fn end(&mut self, sub: SubId) {
        self.send(NetCommand::Unsubscribe { sub }).await;
        self.store.retire(sub);
    }

    /// Applies events to the store until `done` holds (bounded by [`DEADLINE`]).
    async fn until(&mut self, what: &str, done: impl Fn(&Store) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            for ev in self.queue.drain(usize::MAX) {
                self.seen.push(ev.clone());
                self.store.apply(ev, now_ms());
            }
            if done(&self.store) {
                return;
            }
            if tokio::time::timeout_at(deadline, self.notify.notified())
                .await
                .is_err()
            {
                panic!(
                    "no {what} within {DEADLINE:?}; data {:#?}, errors {:?}",
                    self.store.subs, self.store.errors
                );
            }
        }
    }
}

fn attributes(device: &EntityId, scope: AttributeScope) -> SubSpec {
    SubSpec::Attributes(AttributesSubscriptionCmd {
        cmd_id: 0,
        entity_type: device.entity_type.clone(),
        entity_id: device.id.to_string(),
        keys: None,
        scope: Some(scope),
        unsubscribe: false,
    })
}

fn latest_telemetry(device: &EntityId, keys: &str) -> SubSpec {
    SubSpec::Timeseries(TimeseriesSubscriptionCmd {
        cmd_id: 0,
        entity_type: device.entity_type.clone(),
        entity_id: device.id.to_string(),
        keys: Some(keys.to_owned()),
        scope: Some(TelemetryScope::LatestTelemetry),
        unsubscribe: false,
        start_ts: 0,
        time_window: 0,
        interval: 0,
        limit: 0,
        agg: None,
    })
}

fn history(device: &EntityId, key: &str, (start, end): (i64, i64), interval: i64) -> SubSpec {
    SubSpec::History(GetHistoryCmd {
        cmd_id: 0,
        entity_type: device.entity_type.clone(),
        entity_id: device.id.to_string(),
        keys: key.to_owned(),
        start_ts: start,
        end_ts: end,
        interval,
        limit: 1000,
        agg: Some(Aggregation::Avg),
    })
}

/// The text a v1 latest-values slot shows for `key`.
fn shown<'s>(store: &'s Store, sub: SubId, key: &str) -> Option<&'s str> {
    match store.subs.get(&sub) {
        Some(SubData::V1(held)) => held
            .get(key)
            .map(|p| p.1.as_ref().map_or("", TbValue::as_str)),
        _ => None,
    }
}

fn has_v1_slot(store: &Store, sub: SubId) -> bool {
    matches!(store.subs.get(&sub), Some(SubData::V1(_)))
}

fn first_device(control: &DemoControl) -> EntityId {
    control.devices()[0].id.clone()
}

/// Every command the demo received, decoded.
fn commands(control: &DemoControl) -> Vec<WsCmd> {
    control
        .commands_received()
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect()
}

#[tokio::test]
async fn an_attribute_change_reaches_only_the_subscription_of_its_scope() {
    let (server, control) = start(quiet_config()).await;
    let mut client = Client::connect(&server).await;
    let device = first_device(&control);
    let scopes = [
        (1, AttributeScope::Client, Scope::Client),
        (2, AttributeScope::Shared, Scope::Shared),
        (3, AttributeScope::Server, Scope::Server),
    ];
    for (sub, scope, _) in &scopes {
        client
            .subscribe(*sub, attributes(&device, scope.clone()))
            .await;
    }
    client
        .until("the three scopes' replies", |s| {
            (1..=3).all(|sub| has_v1_slot(s, sub))
        })
        .await;
    // Each change is followed by the next one's message on the same socket, so a change
    // sent to a wrong scope would have arrived by the time the next check runs.
    let value = |sub: SubId| format!("value of {sub}");
    for (changed, _, scope) in &scopes {
        control.set_attribute(&device, *scope, "inspector_probe", &value(*changed));
        client
            .until("the change in its scope", |s| {
                shown(s, *changed, "inspector_probe") == Some(value(*changed).as_str())
            })
            .await;
        for (sub, _, _) in &scopes {
            let expected = (sub <= changed).then(|| value(*sub));
            assert_eq!(
                shown(&client.store, *sub, "inspector_probe"),
                expected.as_deref(),
                "sub {sub} after the change in sub {changed}'s scope"
            );
        }
    }
    control.set_attribute(&device, Scope::Client, "inspector_probe", "last");
    client
        .until("the last change", |s| {
            shown(s, 1, "inspector_probe") == Some("last")
        })
        .await;
    assert_eq!(
        shown(&client.store, 2, "inspector_probe"),
        Some("value of 2")
    );
    assert_eq!(
        shown(&client.store, 3, "inspector_probe"),
        Some("value of 3")
    );
}

#[tokio::test]
async fn a_deleted_time_series_key_disappears_live_and_a_missing_one_is_never_shown() {
    let (server, control) = start(quiet_config()).await;
    let mut client = Client::connect(&server).await;
    let device = first_device(&control);
    control.push_telemetry(&device, "probe_a", "1.5");
    control.push_telemetry(&device, "probe_b", "7");
    client.store.track_v1_series(1, device.clone());
    client
        .subscribe(1, latest_telemetry(&device, "probe_a,probe_b,probe_never"))
        .await;
    client
        .until("both keys", |s| {
            shown(s, 1, "probe_a") == Some("1.5") && shown(s, 1, "probe_b") == Some("7")
        })
        .await;
    // The server answered the missing key with `[now, null]`; it is not shown.
    let answered_null = client.seen.iter().any(|e| match e {
        NetEvent::Message { sub: 1, msg } => match msg.as_ref() {
            ServerMessage::Telemetry(t) => t
                .data
                .as_ref()
                .and_then(|d| d.get("probe_never"))
                .is_some_and(|p| p.len() == 1 && p[0].1.is_none()),
            _ => false,
        },
        _ => false,
    });
    assert!(answered_null, "{:#?}", client.seen);
    assert_eq!(shown(&client.store, 1, "probe_never"), None);
    let series_of = |store: &Store, key: &str| {
        store
            .series
            .contains_key(&(1, device.clone(), key.to_owned()))
    };
    assert!(series_of(&client.store, "probe_a") && series_of(&client.store, "probe_b"));

    control.delete_telemetry(&device, "probe_a");
    client
        .until("probe_a gone", |s| {
            has_v1_slot(s, 1) && shown(s, 1, "probe_a").is_none()
        })
        .await;
    assert_eq!(shown(&client.store, 1, "probe_b"), Some("7"));
    assert!(!series_of(&client.store, "probe_a") && series_of(&client.store, "probe_b"));
    assert!(client.store.errors.is_empty(), "{:?}", client.store.errors);
}

/// Pushes known points of `key` around a range three minutes long, an hour ago; returns
/// the range and the AVG aggregates on one-minute intervals computed here from the points
/// (one per non-empty interval, at its midpoint, ascending).
fn push_known_points(
    control: &DemoControl,
    device: &EntityId,
    key: &str,
) -> ((i64, i64), Vec<(i64, f64)>) {
    const INTERVAL: i64 = 60_000;
    let start = (now_ms() - 3_600_000) / INTERVAL * INTERVAL;
    let end = start + 3 * INTERVAL;
    let points = [
        (start - 1, 100.0),
        (start, 1.0),
        (start + 2_000, 2.0),
        (start + 59_999, 6.0),
        (start + 61_000, 10.0),
        (start + 62_000, 20.0),
        (start + 150_000, 7.5),
        (end + 20_000, 100.0),
    ];
    for (ts, v) in points {
        control.push_point(device, key, ts, TbValue::from_f64(v));
    }
    let mut intervals: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (ts, v) in points
        .into_iter()
        .filter(|(ts, _)| (start..end).contains(ts))
    {
        let acc = intervals.entry((ts - start) / INTERVAL).or_default();
        acc.0 += v;
        acc.1 += 1.0;
    }
    let expected = intervals
        .into_iter()
        .map(|(i, (sum, n))| {
            let lo = start + i * INTERVAL;
            let hi = (lo + INTERVAL).min(end);
            (lo + (hi - lo) / 2, sum / n)
        })
        .collect();
    ((start, end), expected)
}

/// Fetches the AVG history of [`push_known_points`] as `sub` (its series tracked) and
/// checks it against the averages computed from the points.
async fn fetch_and_check_averages(client: &mut Client, control: &DemoControl, sub: SubId) {
    let device = first_device(control);
    let (range, expected) = push_known_points(control, &device, "probe_avg");
    assert_eq!(
        expected,
        [
            (range.0 + 30_000, 3.0),
            (range.0 + 90_000, 15.0),
            (range.0 + 150_000, 7.5)
        ]
    );
    client.store.subs.insert(sub, SubData::V1History(None));
    client.store.track_v1_series(sub, device.clone());
    client
        .subscribe(sub, history(&device, "probe_avg", range, 60_000))
        .await;
    client
        .until(
            "the history reply",
            |s| matches!(s.subs.get(&sub), Some(SubData::V1History(Some(h))) if !h.is_empty()),
        )
        .await;
    let Some(SubData::V1History(Some(h))) = client.store.subs.get(&sub) else {
        unreachable!()
    };
    let got: Vec<(i64, f64)> = h["probe_avg"]
        .iter()
        .map(|p| (p.0, p.1.as_ref().and_then(TbValue::as_f64).unwrap()))
        .collect();
    assert_eq!(got, expected);
    let plotted: Vec<(i64, f64)> = client.store.series[&(sub, device, "probe_avg".to_owned())]
        .points_in(i64::MIN, i64::MAX)
        .collect();
    assert_eq!(
        plotted, expected,
        "the tracked series holds the same points"
    );
}

#[tokio::test]
async fn an_averaged_history_equals_the_averages_of_the_points_pushed_and_ending_it_sends_nothing()
{
    let (server, control) = start(quiet_config()).await;
    let mut client = Client::connect(&server).await;
    fetch_and_check_averages(&mut client, &control, 1).await;
    // Ending the fetch sends nothing: the next command on the wire is the next subscription.
    client.end(1).await;
    client
        .subscribe(
            2,
            attributes(&first_device(&control), AttributeScope::Server),
        )
        .await;
    client.until("the next reply", |s| has_v1_slot(s, 2)).await;
    let kinds: Vec<&str> = commands(&control).iter().map(WsCmd::type_name).collect();
    assert_eq!(kinds, ["TIMESERIES_HISTORY", "ATTRIBUTES"]);
}

/// A one-shot fetch of a point just pushed, as `sub`, answered: everything sent before it
/// has been handled by the server. It leaves no subscription behind.
async fn round_trip(client: &mut Client, control: &DemoControl, sub: SubId) {
    let device = first_device(control);
    let ts = now_ms() - 1_000;
    control.push_point(&device, "round_trip", ts, "1");
    client.store.subs.insert(sub, SubData::V1History(None));
    client
        .subscribe(sub, history(&device, "round_trip", (ts - 1, ts + 1), 2))
        .await;
    client
        .until(
            "the fetch's reply",
            |s| matches!(s.subs.get(&sub), Some(SubData::V1History(Some(h))) if !h.is_empty()),
        )
        .await;
}

/// The four subscriptions of the Inspector for one entity, numbered from `first`.
fn inspector_subs(device: &EntityId, first: SubId) -> [(SubId, SubSpec); 4] {
    [
        (first, attributes(device, AttributeScope::Client)),
        (first + 1, attributes(device, AttributeScope::Shared)),
        (first + 2, attributes(device, AttributeScope::Server)),
        (first + 3, latest_telemetry(device, "temperature,humidity")),
    ]
}

#[tokio::test]
async fn switching_entities_fifty_times_leaves_no_subscription_on_the_server() {
    const SWITCHES: u64 = 50;
    let (server, control) = start(quiet_config()).await;
    let mut client = Client::connect(&server).await;
    let devices: Vec<EntityId> = control.devices().into_iter().map(|d| d.id).collect();
    round_trip(&mut client, &control, 1).await;
    let baseline = control.stats().live_subscriptions;

    let mut live: Vec<SubId> = Vec::new();
    for switch in 0..=SWITCHES {
        for sub in live.drain(..) {
            client.end(sub).await;
        }
        let device = &devices[usize::try_from(switch).unwrap() % devices.len()];
        for (sub, spec) in inspector_subs(device, 100 + switch * 4) {
            client.subscribe(sub, spec).await;
            live.push(sub);
        }
    }
    let last = live.clone();
    client
        .until("the last entity's four replies", |s| {
            last.iter().all(|sub| has_v1_slot(s, *sub))
        })
        .await;
    assert_eq!(control.stats().live_subscriptions, baseline + 4);
    for sub in live.drain(..) {
        client.end(sub).await;
    }
    // Commands run in order: once this reply is in, every unsubscribe before it ran.
    round_trip(&mut client, &control, 2).await;
    assert_eq!(control.stats().live_subscriptions, baseline);

    // Every unsubscribe repeated its subscription's command: same cmdId, same entity.
    let mut subscribed: BTreeMap<i32, String> = BTreeMap::new();
    let mut unsubscribes = 0;
    for cmd in commands(&control) {
        let (cmd_id, entity_id, unsubscribe) = match &cmd {
            WsCmd::Attributes(c) => (c.cmd_id, &c.entity_id, c.unsubscribe),
            WsCmd::Timeseries(c) => (c.cmd_id, &c.entity_id, c.unsubscribe),
            _ => continue,
        };
        if unsubscribe {
            unsubscribes += 1;
            assert!(!entity_id.is_empty(), "{cmd:?}");
            assert_eq!(
                subscribed.remove(&cmd_id).as_ref(),
                Some(entity_id),
                "{cmd:?}"
            );
        } else {
            subscribed.insert(cmd_id, entity_id.clone());
        }
    }
    assert_eq!(unsubscribes, (SWITCHES + 1) * 4);
    assert!(subscribed.is_empty(), "never unsubscribed: {subscribed:?}");
}

#[tokio::test]
async fn attributes_and_history_work_through_the_legacy_endpoint() {
    let (server, control) = start(DemoConfig {
        legacy_only: true,
        ..quiet_config()
    })
    .await;
    let mut client = Client::connect(&server).await;
    let device = first_device(&control);
    client
        .subscribe(1, attributes(&device, AttributeScope::Server))
        .await;
    client.until("the attributes", |s| has_v1_slot(s, 1)).await;
    assert!(client.store.legacy_server);
    control.set_attribute(&device, Scope::Server, "inspector_probe", "legacy");
    client
        .until("the change", |s| {
            shown(s, 1, "inspector_probe") == Some("legacy")
        })
        .await;
    fetch_and_check_averages(&mut client, &control, 2).await;
    let kinds: Vec<&str> = commands(&control).iter().map(WsCmd::type_name).collect();
    assert_eq!(kinds, ["ATTRIBUTES", "TIMESERIES_HISTORY"]);
}

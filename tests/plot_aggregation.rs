//! The client's realtime re-aggregation against the demo server: live raw points of an
//! aggregated `tsCmd`, folded into their intervals by the store, equal the server's own
//! aggregation of the same points (a `historyCmd` on the same grid) bit for bit.

// Tests fail by panicking; exact float results are the specification.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::float_cmp)]

mod common;

use common::wire::{
    Ws, entity_data_cmd, live_session, next_entity_data, now_ms, quiet_config, send, single_device,
    start_as_tenant,
};
use serde_json::{Value, json};
use tb_monitor::demo::{DemoControl, DeviceInfo};
use tb_monitor::net::event::{NetEvent, SubId};
use tb_monitor::plot::aggregate::AggSpec;
use tb_monitor::protocol::{Aggregation, ServerMessage};
use tb_monitor::store::Store;

/// Only these tests write this key.
const KEY: &str = "probe";

const AGGS: [Aggregation; 5] = [
    Aggregation::Avg,
    Aggregation::Min,
    Aggregation::Max,
    Aggregation::Sum,
    Aggregation::Count,
];

/// The grid of one test: anchor, interval, and the end of the subscribed window.
#[derive(Clone, Copy)]
struct Grid {
    start: i64,
    interval: i64,
    end: i64,
}

impl Grid {
    fn interval_start(&self, k: i64) -> i64 {
        self.start + k * self.interval
    }
}

fn query(dev: &DeviceInfo) -> Value {
    json!({"entityFilter": single_device(dev), "pageLink": {"pageSize": 10, "page": 0}})
}

/// `ENTITY_DATA` with a `tsCmd` of `agg` on the grid (subscribes).
fn subscribe_cmd(cmd_id: i32, dev: &DeviceInfo, grid: Grid, agg: &Aggregation) -> Value {
    let mut cmd = entity_data_cmd(cmd_id, &query(dev));
    cmd["tsCmd"] = json!({"keys": [KEY], "startTs": grid.start, "timeWindow": grid.end - grid.start,
        "interval": grid.interval, "limit": 1000, "agg": agg.as_str()});
    cmd
}

/// `ENTITY_DATA` with a `historyCmd` of `agg` on the grid up to `end` (fetch only).
fn history_cmd(cmd_id: i32, dev: &DeviceInfo, grid: Grid, end: i64, agg: &Aggregation) -> Value {
    let mut cmd = entity_data_cmd(cmd_id, &query(dev));
    cmd["historyCmd"] = json!({"keys": [KEY], "startTs": grid.start, "endTs": end,
        "interval": grid.interval, "limit": 1000, "agg": agg.as_str()});
    cmd
}

fn sub_of(cmd_id: i32) -> SubId {
    SubId::try_from(cmd_id).unwrap()
}

/// Reads `n` `ENTITY_DATA` messages of `cmd_ids` (in any order) into the store, each as its
/// subscription; returns how many there were per command.
async fn feed(ws: &mut Ws, store: &mut Store, cmd_ids: &[i32], n: usize) {
    for _ in 0..n {
        let msg = common::wire::next_msg(ws).await;
        let ServerMessage::EntityData(u) = &msg else {
            panic!("expected ENTITY_DATA, got {msg:?}")
        };
        assert!(cmd_ids.contains(&u.cmd_id), "{u:?}");
        assert_eq!(u.error_code, 0, "{u:?}");
        let sub = sub_of(u.cmd_id);
        store.apply(
            NetEvent::Message {
                sub,
                msg: Box::new(msg),
            },
            now_ms(),
        );
    }
}

/// Subscribes one `tsCmd` per aggregation function (cmdIds `first..`), declaring each to
/// the store, and reads their first messages into it.
async fn subscribe_all(
    ws: &mut Ws,
    store: &mut Store,
    dev: &DeviceInfo,
    grid: Grid,
    first: i32,
) -> Vec<(i32, Aggregation)> {
    let subs: Vec<(i32, Aggregation)> = (first..).zip(AGGS).collect();
    for (cmd_id, agg) in &subs {
        store.set_aggregation(
            sub_of(*cmd_id),
            Some(AggSpec {
                agg: agg.clone(),
                start_ms: grid.start,
                interval_ms: grid.interval,
            }),
        );
    }
    let cmds: Vec<Value> = subs
        .iter()
        .map(|(id, agg)| subscribe_cmd(*id, dev, grid, agg))
        .collect();
    send(ws, &json!({"cmds": cmds})).await;
    let ids: Vec<i32> = subs.iter().map(|(id, _)| *id).collect();
    feed(ws, store, &ids, subs.len()).await;
    subs
}

/// Pushes each `(ts, value)` and reads the raw live update every subscription gets.
async fn push_live(
    ws: &mut Ws,
    store: &mut Store,
    control: &DemoControl,
    dev: &DeviceInfo,
    subs: &[(i32, Aggregation)],
    points: &[(i64, &str)],
) {
    let ids: Vec<i32> = subs.iter().map(|(id, _)| *id).collect();
    for (ts, value) in points {
        control.push_point(&dev.id, KEY, *ts, *value);
        feed(ws, store, &ids, subs.len()).await;
    }
}

/// The client's series of a subscription: (ts, bits).
fn client_points(store: &Store, sub: SubId) -> Vec<(i64, u64)> {
    store
        .series
        .iter()
        .filter(|((s, _, k), _)| *s == sub && k == KEY)
        .flat_map(|(_, buffer)| buffer.points_in(i64::MIN, i64::MAX))
        .map(|(ts, v)| (ts, v.to_bits()))
        .collect()
}

/// The server's aggregates of the grid up to `end`, per function: (ts, bits of the parsed
/// value), ascending.
async fn server_points(
    ws: &mut Ws,
    dev: &DeviceInfo,
    grid: Grid,
    end: i64,
    subs: &[(i32, Aggregation)],
) -> Vec<Vec<(i64, u64)>> {
    let mut out = Vec::new();
    for (cmd_id, agg) in subs {
        let history_id = cmd_id + 100;
        send(
            ws,
            &json!({"cmds": [history_cmd(history_id, dev, grid, end, agg)]}),
        )
        .await;
        let page = next_entity_data(ws, history_id).await.data.expect("a page");
        let points = page.data[0].timeseries.as_ref().expect("timeseries")[KEY]
            .iter()
            .map(|p| {
                assert!(p.count.is_some(), "aggregated: {p:?}");
                (p.ts, p.as_f64().expect("numeric").to_bits())
            })
            .collect();
        out.push(points);
    }
    out
}

/// Asserts that the client's series of each subscription equal the server's aggregates of
/// its function (one list per subscription, as [`server_points`] returns them), bit for bit,
/// and that the server's points stand at `midpoints` (`why` says why there).
fn assert_client_equals_server(
    store: &Store,
    subs: &[(i32, Aggregation)],
    server: &[Vec<(i64, u64)>],
    midpoints: &[i64],
    why: &str,
) {
    assert_eq!(subs.len(), server.len(), "one list per subscription");
    for ((cmd_id, agg), server) in subs.iter().zip(server) {
        let client = client_points(store, sub_of(*cmd_id));
        assert_eq!(client, *server, "{agg}: client vs server");
        let intervals: Vec<i64> = server.iter().map(|(ts, _)| *ts).collect();
        assert_eq!(intervals, midpoints, "{agg}: {why}");
    }
}

#[tokio::test]
async fn live_points_re_aggregated_by_the_client_equal_the_servers_history_bit_for_bit() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let dev = control.devices()[0].clone();
    let mut ws = live_session(&server, &token).await;
    let mut store = Store::new();
    let now = now_ms();
    // An anchor on no round number, 10 s intervals, a window reaching past now.
    let start = now - 200_123;
    let grid = Grid {
        start,
        interval: 10_000,
        end: start + 400_000,
    };
    let subs = subscribe_all(&mut ws, &mut store, &dev, grid, 10).await;
    for (cmd_id, _) in &subs {
        assert!(
            client_points(&store, sub_of(*cmd_id)).is_empty(),
            "no history"
        );
    }

    // Past intervals that only live points fill, the points out of time order, with
    // awkward values: sums that depend on the order of naive addition, a large value that
    // swallows small ones, integers as text, and a non-numeric value.
    let (a, b, c) = (
        grid.interval_start(2),
        grid.interval_start(3),
        grid.interval_start(5),
    );
    let live = [
        (b + 100, "0.1"),
        (a + 9_000, "1e16"),
        (b + 5_000, "0.2"),
        (a + 100, "0.1"),
        (b + 9_000, "0.3"),
        (a + 5_000, "-3"),
        (c + 4_000, "x"),
        (a + 2_000, "0.2"),
        (a + 7_000, "7"),
        (c + 1_000, "-0.0"),
        (a + 3_000, "x"),
        (a + 300, "0.3"),
    ];
    // The test can fail: in arrival order and in the server's (newest first) order, naive
    // sums of interval b differ.
    assert_ne!((0.1 + 0.2) + 0.3, (0.3 + 0.2) + 0.1);
    push_live(&mut ws, &mut store, &control, &dev, &subs, &live).await;

    let expected = server_points(&mut ws, &dev, grid, grid.end, &subs).await;
    assert_client_equals_server(
        &store,
        &subs,
        &expected,
        &[a + 5_000, b + 5_000, c + 5_000],
        "every interval with a point, at its midpoint",
    );
    // Spot checks against hand-computed values.
    let avg_b = f64::from_bits(expected[0][1].1);
    assert_eq!(
        avg_b,
        0.6 / 3.0,
        "AVG of 0.1, 0.2, 0.3 from their exact sum"
    );
    let sum_a = f64::from_bits(expected[3][0].1);
    assert_eq!(sum_a, 1e16 + 4.0, "SUM rounds the exact 1e16 + 4.6 once");
    let count_c = f64::from_bits(expected[4][2].1);
    assert_eq!(count_c, 2.0, "COUNT counts the non-numeric value");
}

#[tokio::test]
async fn intervals_the_server_aggregated_before_the_subscription_are_extended_exactly() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let dev = control.devices()[1].clone();
    let now = now_ms();
    // A realtime window ending now (as ThingsBoard's UI sends it): its last interval,
    // [now - 30 s, now + 30 s), is cut at now in the first answer.
    let interval = 60_000;
    let start = now - 10 * interval - 30_000;
    let grid = Grid {
        start,
        interval,
        end: now,
    };
    let (whole, cut) = (grid.interval_start(8), grid.interval_start(10));
    // Integers only (AVG × count then stands exactly for the sum), before subscribing.
    for (ts, value) in [
        (whole + 1_000, "4"),
        (whole + 2_000, "-2"),
        (cut + 1_000, "1"),
        (cut + 2_000, "2"),
    ] {
        control.push_point(&dev.id, KEY, ts, value);
    }
    let mut ws = live_session(&server, &token).await;
    let mut store = Store::new();
    let subs = subscribe_all(&mut ws, &mut store, &dev, grid, 10).await;
    let avg = sub_of(subs[0].0);
    let partial_midpoint = cut + (now - cut) / 2;
    assert_eq!(
        client_points(&store, avg),
        [
            (whole + interval / 2, 1.0f64.to_bits()),
            (partial_midpoint, 1.5f64.to_bits())
        ],
        "the server's aggregates, the last one cut at the window end"
    );

    // Live points into both seeded intervals.
    let live = [
        (whole + 30_000, "10"),
        (cut + 3_000, "4"),
        (whole + 500, "x"),
        (cut + 4_000, "-6"),
    ];
    push_live(&mut ws, &mut store, &control, &dev, &subs, &live).await;

    let expected = server_points(&mut ws, &dev, grid, cut + interval, &subs).await;
    assert_client_equals_server(
        &store,
        &subs,
        &expected,
        &[whole + interval / 2, cut + interval / 2],
        "the partial aggregate gave way to the whole interval's midpoint",
    );
    // Spot checks: the whole interval holds 4, -2, 10 and a non-numeric value, the cut one
    // 1, 2, 4 and -6.
    let both = |i: usize| {
        (
            f64::from_bits(expected[i][0].1),
            f64::from_bits(expected[i][1].1),
        )
    };
    assert_eq!(both(0), (4.0, 0.25), "AVG");
    assert_eq!(both(1), (-2.0, -6.0), "MIN");
    assert_eq!(both(2), (10.0, 4.0), "MAX");
    assert_eq!(both(3), (12.0, 1.0), "SUM");
    assert_eq!(both(4), (4.0, 4.0), "COUNT");
}

//! The session task under the faults a field laptop meets, injected into the demo server
//! over real sockets, each with the outcome the reliability issue names: the server's 4500
//! and 1008 closes, a session limit, a command over 32 KiB, a revoked refresh token, clock
//! jumps during a backoff wait, a late point pushed during a restart, a UI that stalls for
//! 5 s under a flood, and a server whose certificate changes (pinned: the attempts stop;
//! expired: they go on). Timings are scaled down so that each test runs in a few seconds;
//! points are counted in a `Store`, which replaces a point it already has (the resume
//! overlaps the last minute).

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

#[path = "common/session.rs"]
mod session;
#[path = "common/tls.rs"]
mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use common::wire::{TENANT, close_of, live_session, quiet_config, quiet_config_with, start};
use session::{
    Client, DEADLINE, assert_stored_once, connect, fast, has_point, is_page, latest_spec, live,
    now_ms, series_spec, thermostats,
};
use tb_monitor::demo::{DemoConfig, DemoControl, DemoServer};
use tb_monitor::net::subscriptions::RESUME_OVERLAP_MS;
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::net::{ConnState, EventQueue, NetCommand, NetEvent, SessionConfig, SubSpec};
use tb_monitor::protocol::{EntityDataCmd, EntityId, WsCmd};
use tb_monitor::store::Store;
use tls::{Pki, TlsFront, demo_addr};

/// A key without a simulated signal: only the points a test pushes exist.
const KEY: &str = "probe";

/// Timestamps for pushed points: increasing, and a little behind the clock, because the
/// demo (unlike ThingsBoard) fetches history only up to its own now.
struct Stamps(i64);

impl Stamps {
    fn next(&mut self) -> i64 {
        self.0 = (now_ms() - 50).max(self.0 + 1);
        self.0
    }
}

/// A client subscribed (sub 1) to the first thermostat's `probe` series from a minute ago,
/// live for a day, with one point pushed and received; returns the device, the time stamps
/// and that point's time.
async fn series_client(
    server: &DemoServer,
    control: &DemoControl,
    config: SessionConfig,
) -> (Client, EntityId, Stamps, i64) {
    let mut client = connect(server, config, 10_000).await;
    let device = thermostats(control)[0].id.clone();
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: series_spec(&device, KEY, now_ms() - 60_000, 86_400_000),
    });
    client.expect("the series page", |e| is_page(e, 1)).await;
    let mut stamps = Stamps(0);
    let base = stamps.next();
    control.push_point(&device, KEY, base, "1.5");
    client
        .expect("the first live point", |e| has_point(e, 1, KEY, base))
        .await;
    (client, device, stamps, base)
}

/// The `ENTITY_DATA` commands the server received, decoded.
fn entity_data_cmds(control: &DemoControl) -> Vec<EntityDataCmd> {
    control
        .commands_received()
        .iter()
        .filter_map(|t| match serde_json::from_str::<WsCmd>(t) {
            Ok(WsCmd::EntityData(c)) => Some(c),
            _ => None,
        })
        .collect()
}

fn is_live(e: &NetEvent) -> bool {
    *e == NetEvent::Connection(ConnState::Live)
}

#[tokio::test]
async fn a_4500_close_is_explained_and_the_series_resumes_with_every_point_once() {
    let (server, control) = start(quiet_config()).await;
    let (mut client, device, mut stamps, base) = series_client(&server, &control, fast()).await;
    // ThingsBoard's ping timeout closes with 4500 and no reason.
    control.close_sessions(4500, "");
    let p2 = stamps.next();
    control.push_point(&device, KEY, p2, "2.5");
    client
        .expect("the 4500 close", |e| {
            matches!(e, NetEvent::Closed { code: 4500, .. })
        })
        .await;
    let p3 = stamps.next();
    control.push_point(&device, KEY, p3, "3.5");
    client.expect("live again", is_live).await;
    client
        .expect_any_time("the point pushed while reconnecting", |e| {
            has_point(e, 1, KEY, p3)
        })
        .await;
    let p4 = stamps.next();
    control.push_point(&device, KEY, p4, "4.5");
    client
        .expect("a live point on the new socket", |e| {
            has_point(e, 1, KEY, p4)
        })
        .await;

    let store = client.store();
    assert_stored_once(
        &store,
        1,
        &device,
        KEY,
        &[(base, 1.5), (p2, 2.5), (p3, 3.5), (p4, 4.5)],
    );
    let close = store.health.as_ref().unwrap().last_close().unwrap();
    assert_eq!(close.code, 4500);
    assert!(close.summary.contains("stalled"), "{}", close.summary);
    // Resubscribed once, under cmdId 1 again, a minute before the last point seen (or at
    // the original start, if that is later).
    let cmds = entity_data_cmds(&control);
    assert_eq!(cmds.len(), 2, "{cmds:#?}");
    assert_eq!(cmds[1].cmd_id, 1);
    let original = cmds[0].ts_cmd.as_ref().unwrap().start_ts;
    let resumed = cmds[1].ts_cmd.as_ref().unwrap();
    assert_eq!(resumed.start_ts, (base - RESUME_OVERLAP_MS).max(original));
    assert_eq!(control.stats().ws_sessions_opened, 2);
}

#[tokio::test]
async fn a_send_queue_overflow_1008_reconnects_and_the_dropped_points_come_back_by_the_backfill() {
    let (server, control) = start(quiet_config_with(|l| l.max_queue = 8)).await;
    let (mut client, device, mut stamps, base) = series_client(&server, &control, fast()).await;
    // The server stops writing to the session; its queue of 8 overflows.
    control.stall_sessions(Duration::from_secs(2));
    let pushed: Vec<(i64, f64)> = (1..=30i32)
        .map(|i| (stamps.next(), f64::from(i) + 0.5))
        .collect();
    for (ts, v) in &pushed {
        control.push_point(&device, KEY, *ts, v.to_string());
    }
    client
        .expect("the overflow close", |e| {
            matches!(e, NetEvent::Closed { code: 1008, reason } if reason == "Max pending updates limit reached!")
        })
        .await;
    client.expect("live again", is_live).await;
    let last = pushed.last().unwrap().0;
    client
        .expect_any_time("the last dropped point, backfilled", |e| {
            has_point(e, 1, KEY, last)
        })
        .await;
    let after = stamps.next();
    control.push_point(&device, KEY, after, "99.5");
    client
        .expect("a live point on the new socket", |e| {
            has_point(e, 1, KEY, after)
        })
        .await;

    let store = client.store();
    let mut want = vec![(base, 1.5), (after, 99.5)];
    want.extend(&pushed);
    assert_stored_once(&store, 1, &device, KEY, &want);
    let close = store.health.as_ref().unwrap().last_close().unwrap();
    assert!(close.summary.contains("send queue"), "{}", close.summary);
    assert_eq!(control.stats().ws_sessions_opened, 2);
}

#[tokio::test]
async fn a_session_limit_is_explained_and_retried_at_most_three_times_a_scaled_minute() {
    let limit_reason = "Max tenant sessions limit reached!";
    let (server, control) = start(quiet_config_with(|l| l.max_sessions_per_tenant = Some(1))).await;
    // Another client (a browser tab) holds the only session.
    let token = common::wire::token_of(&server, TENANT).await;
    let mut holder = live_session(&server, &token).await;
    // The default 1 s base and 60 s cap, 20 times faster: a "minute" is 3 s.
    let minute = Duration::from_secs(3);
    let config = SessionConfig {
        backoff_base: Duration::from_millis(50),
        backoff_cap: minute,
        tick: Duration::from_millis(50),
        ..SessionConfig::default()
    };
    let mut client = connect(&server, config, 1000).await;
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: latest_spec(),
    });
    client
        .expect("the limit close", |e| {
            matches!(e, NetEvent::Closed { code: 1008, .. })
        })
        .await;
    let before = control.stats().ws_connection_attempts;
    client.collect_for(minute).await;
    let attempts = control.stats().ws_connection_attempts - before;
    // Each delay after a session-limit close is in [cap/2, cap]: at most 2 in a window of
    // one cap (3 if the jitter hit both bounds). The doubling ramp alone would make 7 or
    // more here (its first four delays add up to 750 ms at most).
    assert!(
        (1..=3).contains(&attempts),
        "{attempts} attempts in a minute"
    );

    let closes: Vec<(u16, &str)> = client
        .seen
        .iter()
        .filter_map(|e| match e {
            NetEvent::Closed { code, reason } => Some((*code, reason.as_str())),
            _ => None,
        })
        .collect();
    assert!(
        closes.iter().all(|c| *c == (1008, limit_reason)),
        "{closes:?}"
    );
    let retries: Vec<u32> = client
        .seen
        .iter()
        .filter_map(|e| match e {
            NetEvent::Connection(ConnState::Reconnecting { attempt, .. }) => Some(*attempt),
            _ => None,
        })
        .collect();
    assert!(retries.windows(2).all(|w| w[0] < w[1]), "{retries:?}");
    assert!(!client.seen.contains(&NetEvent::SessionExpired));
    let store = client.store();
    let close = store.health.as_ref().unwrap().last_close().unwrap();
    assert!(
        close.summary.contains("too many open sessions"),
        "{}",
        close.summary
    );
    assert!(close.action.contains("sign out from other devices"));

    // The other tab closes (answered by the server only after it counted the session out):
    // the next attempt, within one cap, gets in.
    tokio::time::timeout(DEADLINE, futures_util::SinkExt::close(&mut holder))
        .await
        .expect("closed in time")
        .expect("close");
    assert_eq!(close_of(&mut holder).await.0, 0);
    client
        .expect_within(minute + Duration::from_secs(2), "live", is_live)
        .await;
    client.expect("the page", |e| is_page(e, 1)).await;
}

/// `ENTITY_DATA` with the latest values of 2,000 long keys: about 110 KB as JSON.
fn oversized_spec() -> SubSpec {
    let keys: Vec<serde_json::Value> = (0..2000)
        .map(|i| serde_json::json!({"type": "TIME_SERIES", "key": format!("a_rather_long_key_name_{i:04}")}))
        .collect();
    let cmd: EntityDataCmd = serde_json::from_value(serde_json::json!({
        "cmdId": 0,
        "query": {
            "entityFilter": {"type": "deviceType", "deviceTypes": ["thermostat"]},
            "pageLink": {"pageSize": 10, "page": 0},
            "latestValues": keys
        },
        "latestCmd": {"keys": keys}
    }))
    .unwrap();
    SubSpec::EntityData(cmd)
}

#[tokio::test]
async fn a_command_over_32_kib_is_refused_by_name_and_the_other_subscriptions_keep_working() {
    let (server, control) = start(quiet_config()).await;
    let mut client = live(&server, fast(), 1000).await;
    client.send(NetCommand::Subscribe {
        sub: 2,
        spec: oversized_spec(),
    });
    client.send(NetCommand::Subscribe {
        sub: 3,
        spec: latest_spec(),
    });
    client
        .expect_any_time("the refusal", |e| {
            matches!(e, NetEvent::SubscriptionError { sub: 2, code: 2, message } if message.contains("32 KiB"))
        })
        .await;
    client
        .expect_any_time("the next page", |e| is_page(e, 3))
        .await;
    client
        .push_and_expect(&control, "updates on the first subscription", "30.5")
        .await;
    client.collect_for(Duration::from_millis(300)).await;
    assert!(!client.saw_close(), "no 1009, no close at all");
    let received = control.commands_received();
    assert!(
        received.iter().all(|c| c.len() <= 32_768),
        "{:?}",
        received.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(
        !received
            .iter()
            .any(|c| c.contains("a_rather_long_key_name")),
        "the oversized command never went out"
    );
    assert_eq!(control.stats().ws_sessions_opened, 1);
}

#[tokio::test]
async fn a_revoked_refresh_token_asks_for_the_password_once_and_never_reconnects() {
    let (server, control) = start(DemoConfig {
        token_ttl: Duration::from_secs(3),
        ..quiet_config()
    })
    .await;
    let config = SessionConfig {
        tick: Duration::from_millis(50),
        ..fast()
    };
    let mut client = live(&server, config, 1000).await;
    // The background refresh at half the 3 s lifetime is refused; the socket stays up.
    control.revoke_tokens();
    client
        .expect("the password request", |e| *e == NetEvent::SessionExpired)
        .await;
    assert_eq!(control.stats().refresh_failures, 1);
    assert!(!client.saw_close());
    // Then the link drops: with no token left, the session waits for a new login.
    let attempts = control.stats().ws_connection_attempts;
    control.drop_connections(false);
    client
        .expect("offline", |e| {
            matches!(e, NetEvent::Connection(ConnState::Offline { reason }) if reason.contains("log in again"))
        })
        .await;
    client.collect_for(Duration::from_secs(1)).await;
    assert_eq!(
        client.count(|e| *e == NetEvent::SessionExpired),
        1,
        "asked once:\n{}",
        session::brief(&client.seen)
    );
    let stats = control.stats();
    assert_eq!(stats.refresh_failures, 1, "no second refresh");
    assert_eq!(stats.ws_connection_attempts, attempts, "no reconnect");
}

#[tokio::test]
async fn every_refused_access_token_is_refreshed_not_only_the_first_of_the_run() {
    // A laptop that sleeps past its access token twice in one run: each wake's socket is
    // refused (1007) and must be refreshed, not end in a password prompt.
    let (server, control) = start(quiet_config()).await;
    let mut client = live(&server, fast(), 1000).await;
    let refreshes = control.stats().refreshes;
    for round in 1..=2 {
        control.expire_access_tokens();
        control.drop_connections(false);
        client
            .expect(&format!("a refused token, round {round}"), |e| {
                matches!(e, NetEvent::Closed { code: 1007, .. })
            })
            .await;
        client
            .expect(&format!("the page on a new socket, round {round}"), |e| {
                is_page(e, 1)
            })
            .await;
    }
    assert!(
        !client.seen.contains(&NetEvent::SessionExpired),
        "no password asked:\n{}",
        session::brief(&client.seen)
    );
    assert_eq!(
        control.stats().refreshes,
        refreshes + 2,
        "one refresh a refusal"
    );
}

/// Wall clocks the tests move as a laptop's moves across a sleep (one per test: tests run
/// in parallel).
static AHEAD_MS: AtomicI64 = AtomicI64::new(0);
static BACK_MS: AtomicI64 = AtomicI64::new(0);

fn clock_ahead() -> i64 {
    now_ms() + AHEAD_MS.load(Ordering::Relaxed)
}

fn clock_back() -> i64 {
    now_ms() + BACK_MS.load(Ordering::Relaxed)
}

/// Ten-minute delays and dead-link detection: within a test, only a wake can reconnect.
fn sleepy(wall_clock: fn() -> i64) -> SessionConfig {
    SessionConfig {
        tick: Duration::from_millis(50),
        dead_after: Duration::from_mins(10),
        backoff_base: Duration::from_mins(10),
        backoff_cap: Duration::from_mins(10),
        wall_clock,
        ..SessionConfig::default()
    }
}

/// A backoff wait: when the link dropped and when the next attempt was announced for
/// (wall clock).
struct Wait {
    dropped_ms: i64,
    retry_at_ms: i64,
}

impl Wait {
    /// Asserts that the session reconnected before the announced time. A delay drawn under
    /// 3 s (0.5 % of draws up to 10 minutes) proves nothing either way.
    fn assert_cut_short(&self) {
        assert!(
            self.retry_at_ms - self.dropped_ms < 3_000 || now_ms() < self.retry_at_ms,
            "reconnected at the backoff's time ({} ms after the drop), not at the wake",
            self.retry_at_ms - self.dropped_ms
        );
    }
}

/// Drops the link and waits for the backoff wait it starts.
async fn drop_and_wait_for_the_retry(client: &mut Client, control: &DemoControl) -> Wait {
    let dropped_ms = now_ms();
    control.drop_connections(false);
    let NetEvent::Connection(ConnState::Reconnecting { retry_at_ms, .. }) = client
        .expect("a backoff wait", |e| {
            matches!(e, NetEvent::Connection(ConnState::Reconnecting { .. }))
        })
        .await
    else {
        unreachable!()
    };
    Wait {
        dropped_ms,
        retry_at_ms,
    }
}

#[tokio::test]
async fn waking_during_a_backoff_wait_reconnects_at_once_and_refreshes_the_token_that_expired_overnight()
 {
    let (server, control) = start(quiet_config()).await;
    let mut client = live(&server, sleepy(clock_ahead), 1000).await;
    let wait = drop_and_wait_for_the_retry(&mut client, &control).await;
    // The night: the access token expired on the server, the wall clock moved 8 h.
    control.expire_access_tokens();
    let refreshes = control.stats().refreshes;
    AHEAD_MS.fetch_add(8 * 3_600_000, Ordering::Relaxed);
    client
        .expect("the expired token refused", |e| {
            matches!(e, NetEvent::Closed { code: 1007, .. })
        })
        .await;
    client.expect("live again", is_live).await;
    client
        .expect("the page on a new socket", |e| is_page(e, 1))
        .await;
    wait.assert_cut_short();
    assert_eq!(control.stats().refreshes, refreshes + 1, "one refresh");
    assert!(!client.seen.contains(&NetEvent::SessionExpired));
    assert_eq!(control.stats().ws_sessions_opened, 2);
}

#[tokio::test]
async fn a_clock_set_back_during_a_backoff_wait_reconnects_at_once_and_backfills_the_series() {
    let (server, control) = start(quiet_config()).await;
    let (mut client, device, mut stamps, base) =
        series_client(&server, &control, sleepy(clock_back)).await;
    let wait = drop_and_wait_for_the_retry(&mut client, &control).await;
    let p2 = stamps.next();
    control.push_point(&device, KEY, p2, "2.5");
    BACK_MS.fetch_sub(3_600_000, Ordering::Relaxed);
    client.expect("live again", is_live).await;
    client
        .expect("the backfilled point", |e| has_point(e, 1, KEY, p2))
        .await;
    wait.assert_cut_short();
    let store = client.store();
    assert_stored_once(&store, 1, &device, KEY, &[(base, 1.5), (p2, 2.5)]);
    assert_eq!(store.gaps.get(&1).map(Vec::len), Some(1));
    assert_eq!(control.stats().ws_sessions_opened, 2);
}

#[tokio::test]
async fn a_late_point_older_than_the_newest_seen_pushed_during_a_restart_arrives_after_the_reconnect()
 {
    let (server, control) = start(quiet_config()).await;
    let (mut client, device, mut stamps, base) = series_client(&server, &control, fast()).await;
    let newest = stamps.next().max(base + 2);
    control.push_point(&device, KEY, newest, "2.5");
    client
        .expect("the newest point", |e| has_point(e, 1, KEY, newest))
        .await;
    control.restart(Duration::from_millis(400));
    // A gateway uploads a buffered point older than the newest one seen.
    let late = newest - 1;
    control.push_point(&device, KEY, late, "9.5");
    client
        .expect("the gap", |e| matches!(e, NetEvent::Gap { sub: 1, .. }))
        .await;
    client
        .expect_any_time("the late point", |e| has_point(e, 1, KEY, late))
        .await;
    let store = client.store();
    assert_stored_once(
        &store,
        1,
        &device,
        KEY,
        &[(base, 1.5), (late, 9.5), (newest, 2.5)],
    );
}

/// Devices the stall test floods (one message per device per 10 ms batch).
const STALL_DEVICES: usize = 100;
/// Flood points a second: with [`STALL_DEVICES`] devices, that many messages a second.
const FLOOD_PER_S: u32 = 10_000;
/// Points a second of the series the stall test checks one by one.
const SERIES_PER_S: usize = 500;
/// How long the UI does not drain.
const STALL: Duration = Duration::from_secs(5);
/// The stall test's queue: the app's holds 10,000 events and merges 50,000 points an
/// update; scaled down so that even a slow debug build fills it within the stall and the
/// checked series passes the point cap (which drops it and resyncs it) a few times.
const STALL_CAPACITY: usize = 2_000;
const STALL_MERGED_POINTS: usize = 500;

/// `ENTITY_DATA` with the latest `flood` value of every device, as the entity table asks.
fn flood_latest_spec() -> SubSpec {
    let cmd: EntityDataCmd = serde_json::from_value(serde_json::json!({
        "cmdId": 0,
        "query": {
            "entityFilter": {"type": "entityType", "entityType": "DEVICE"},
            "pageLink": {"pageSize": 1000, "page": 0},
            "latestValues": [{"type": "TIME_SERIES", "key": "flood"}]
        },
        "latestCmd": {"keys": [{"type": "TIME_SERIES", "key": "flood"}]}
    }))
    .unwrap();
    SubSpec::EntityData(cmd)
}

/// Pushes [`SERIES_PER_S`] points of `probe` of `device` a second (values `i + 0.5`) for
/// `duration`; returns them.
async fn push_series(
    control: DemoControl,
    device: EntityId,
    duration: Duration,
) -> Vec<(i64, f64)> {
    let mut stamps = Stamps(0);
    let mut pushed = Vec::new();
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while start.elapsed() < duration {
        tick.tick().await;
        let due = usize::try_from(start.elapsed().as_millis()).unwrap() * SERIES_PER_S / 1000;
        while pushed.len() < due {
            let ts = stamps.next();
            let value = f64::from(u32::try_from(pushed.len()).unwrap()) + 0.5;
            control.push_point(&device, KEY, ts, value.to_string());
            pushed.push((ts, value));
        }
    }
    pushed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_stalled_for_5_s_while_10k_msgs_s_arrive_keeps_the_socket_and_catches_up_without_losing_a_point()
 {
    let (server, control) = start(DemoConfig {
        devices: STALL_DEVICES,
        simulate: false,
        ..DemoConfig::default()
    })
    .await;
    let rest = session::login_at(&server.base_url(), TlsTrust::System).await;
    let mut client = session::spawn_client(rest, fast(), |waker| {
        EventQueue::new(STALL_CAPACITY, waker).with_max_merged_points(STALL_MERGED_POINTS)
    });
    let device = thermostats(&control)[0].id.clone();
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: flood_latest_spec(),
    });
    client.send(NetCommand::Subscribe {
        sub: 2,
        spec: series_spec(&device, KEY, now_ms() - 60_000, 86_400_000),
    });
    client.expect("the latest page", |e| is_page(e, 1)).await;
    client
        .expect_any_time("the series page", |e| is_page(e, 2))
        .await;
    let mut store = client.store();
    let before = client.seen.len();
    let opened = control.stats().ws_sessions_opened;

    // The UI thread stalls: nothing is drained while the flood and the series arrive.
    let flood = control.flood(FLOOD_PER_S, STALL);
    let series = tokio::spawn(push_series(control.clone(), device.clone(), STALL));
    let stall_started = tokio::time::Instant::now();
    let mut sampled_peak = 0;
    while !(flood.is_finished() && series.is_finished()) {
        sampled_peak = sampled_peak.max(client.queue.len());
        assert!(
            stall_started.elapsed() < STALL + DEADLINE,
            "the flood never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    flood.await.unwrap();
    let pushed = series.await.unwrap();
    let stalled_for = stall_started.elapsed();
    let during = client.queue.stats();

    // The UI catches up as the app does, resyncing what the queue dropped.
    let caught_up = |store: &Store| {
        session::stored_points(store, 2, &device, KEY) == pushed
            && control.devices().iter().all(|d| {
                session::stored_latest(store, 1, &d.id, "flood") == control.latest(&d.id, "flood")
            })
    };
    let catch_up_started = tokio::time::Instant::now();
    let deadline = catch_up_started + DEADLINE;
    loop {
        client.catch_up(&mut store);
        if caught_up(&store) {
            break;
        }
        if tokio::time::timeout_at(deadline, client.notify.notified())
            .await
            .is_err()
        {
            panic!(
                "not caught up in {DEADLINE:?}: {} of {} points stored, queue {:?}",
                session::stored_points(&store, 2, &device, KEY).len(),
                pushed.len(),
                client.queue.stats()
            );
        }
    }
    let catch_up = catch_up_started.elapsed();

    let events = &client.seen[before..];
    assert!(
        !events.iter().any(|e| matches!(
            e,
            NetEvent::Closed { .. }
                | NetEvent::Connection(
                    ConnState::Reconnecting { .. } | ConnState::Connecting { .. }
                )
        )),
        "the socket was kept:\n{}",
        session::brief(events)
    );
    assert_eq!(control.stats().ws_sessions_opened, opened, "no new socket");
    let stats = client.queue.stats();
    // Past capacity only control events get in: the traffic and round-trip counters.
    assert!(
        stats.peak <= STALL_CAPACITY + 2 && sampled_peak <= stats.peak,
        "bounded: sampled {sampled_peak}, {stats:?}"
    );
    assert!(
        during.dropped > 0,
        "the stall passed the point cap, so a resync was needed: {during:?}"
    );
    let resynced = client.count(|e| *e == NetEvent::Resynced { sub: 2 });
    assert!(resynced > 0, "the series was resynced");
    assert!(store.lagged.is_empty());
    assert_stored_once(&store, 2, &device, KEY, &pushed);
    let msgs: u64 = events
        .iter()
        .map(|e| match e {
            NetEvent::Traffic { msgs, .. } => u64::from(*msgs),
            _ => 0,
        })
        .sum();
    println!(
        "stall {stalled_for:?}: {msgs} messages received ({:.0}/s), {} series points; queue peak \
         {} (sampled {sampled_peak}) of {STALL_CAPACITY}, {} merged, {} dropped, {resynced} \
         resyncs; caught up in {catch_up:?}",
        f64::from(u32::try_from(msgs).unwrap()) / stalled_for.as_secs_f64(),
        pushed.len(),
        stats.peak,
        stats.merged,
        stats.dropped,
    );
}

/// A TCP relay on a free loopback port to the TLS front at `port`, counting the sockets
/// opened through it (a refused handshake never reaches the demo server's counters).
struct CountingRelay {
    port: u16,
    opened: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingRelay {
    async fn start(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let opened = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&opened);
        let relay_port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                    {
                        tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                            .await
                            .ok();
                    }
                });
            }
        });
        Self {
            port: relay_port,
            opened,
            task,
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }
}

impl Drop for CountingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client logged in through `relay` (to a TLS front), trusting the front as `trust`,
/// subscribed to the thermostats' latest values, live.
async fn live_behind_tls(relay: &CountingRelay, trust: TlsTrust) -> Client {
    let rest = session::login_at(&relay.url(), trust).await;
    let mut client = session::spawn_client(rest, fast(), |waker| EventQueue::new(1000, waker));
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: latest_spec(),
    });
    client.expect("live", is_live).await;
    client.expect("the page", |e| is_page(e, 1)).await;
    client
}

/// Serves `identity` from now on, drops the link, and returns the reason of the 1015 close
/// the refused certificate causes on the reconnect.
async fn serve_and_reconnect(
    front: &TlsFront,
    control: &DemoControl,
    client: &mut Client,
    identity: &tls::Identity,
) -> String {
    front.serve(identity);
    control.drop_connections(false);
    let NetEvent::Closed { reason, .. } = client
        .expect("the refused certificate", |e| {
            matches!(e, NetEvent::Closed { code: 1015, .. })
        })
        .await
    else {
        unreachable!("the predicate matched a close")
    };
    reason
}

#[tokio::test]
async fn a_pinned_server_presenting_another_certificate_closes_1015_naming_both_and_attempts_stop()
{
    let pki = Pki::new();
    let (server, control) = start(quiet_config()).await;
    let front = TlsFront::start(demo_addr(&server), &pki.self_signed).await;
    let relay = CountingRelay::start(front.port).await;
    let (pinned, presented) = (pki.self_signed.fingerprint(), pki.impostor.fingerprint());
    let trust = TlsTrust::Pinned {
        sha256: pinned.clone(),
    };
    let mut client = live_behind_tls(&relay, trust).await;

    // Another certificate from now on (an interceptor's), and the link drops.
    let reason = serve_and_reconnect(&front, &control, &mut client, &pki.impostor).await;
    assert_eq!(
        reason,
        format!("the server's certificate changed: pinned {pinned}, presented {presented}")
    );
    client
        .expect("offline", |e| {
            *e == NetEvent::Connection(ConnState::Offline {
                reason: "the server's certificate changed (possible interception): log in \
                         again to check it"
                    .to_owned(),
            })
        })
        .await;
    // With 50-200 ms backoffs, a second of waiting would see several more attempts.
    let opened = relay.opened();
    let later = client.collect_for(Duration::from_secs(1)).await;
    assert!(
        later.is_empty(),
        "no attempt after the refusal:\n{}",
        session::brief(&later)
    );
    assert_eq!(relay.opened(), opened, "no socket opened");
    let store = client.store();
    let close = store.health.as_ref().unwrap().last_close().unwrap();
    assert_eq!(close.code, 1015);
}

#[tokio::test]
async fn an_expired_certificate_closes_1015_in_plain_words_and_the_attempts_go_on_until_it_is_renewed()
 {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (server, control) = start(quiet_config()).await;
    let front = TlsFront::start(demo_addr(&server), &pki.server).await;
    let relay = CountingRelay::start(front.port).await;
    let trust = TlsTrust::CustomCa {
        pem_path: pki.write_ca(dir.path()),
    };
    let mut client = live_behind_tls(&relay, trust).await;

    let reason = serve_and_reconnect(&front, &control, &mut client, &pki.expired).await;
    assert_eq!(
        reason,
        "the server's certificate has expired: the connection cannot be verified until the \
         certificate is renewed"
    );
    let opened = relay.opened();
    client
        .expect("another attempt", |e| {
            matches!(e, NetEvent::Connection(ConnState::Connecting { .. }))
        })
        .await;
    // The renewed certificate lets the next attempt through.
    front.serve(&pki.server);
    client.expect("live again", is_live).await;
    client.expect("the page again", |e| is_page(e, 1)).await;
    assert!(relay.opened() > opened, "attempts went on");
    assert!(
        !client
            .seen
            .iter()
            .any(|e| matches!(e, NetEvent::Connection(ConnState::Offline { .. })))
    );
}

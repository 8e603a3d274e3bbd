//! The session task against the demo server over real sockets: subscriptions end to end,
//! reconnects with replay and gap backfill, dead-link detection, auth rejection without a
//! loop, rate limits, bad frames and a flood with a slow consumer.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

#[path = "common/session.rs"]
mod session;

use std::collections::HashMap;
use std::time::Duration;

use common::wire::{quiet_config, start};
use session::{
    DEADLINE, assert_stored_once, connect, fast, has_point, is_page, latest_spec, live, now_ms,
    series_points, series_spec, thermostats,
};
use tb_monitor::demo::{DemoConfig, Limits};
use tb_monitor::net::{ConnState, NetCommand, NetEvent, SessionConfig, SubSpec};
use tb_monitor::protocol::{EntityKeyType, ServerMessage};
use tb_monitor::store::SubData;

#[tokio::test]
async fn a_subscription_gets_its_page_then_live_updates() {
    let (server, control) = start(quiet_config()).await;
    let mut client = connect(&server, fast(), 1000).await;
    client.send(NetCommand::Subscribe {
        sub: 7,
        spec: latest_spec(),
    });
    client
        .expect("live", |e| *e == NetEvent::Connection(ConnState::Live))
        .await;
    client.expect("the data page", |e| is_page(e, 7)).await;
    client.push_and_expect(&control, "the update", "36.6").await;
    // The first frame carried authCmd and the command, numbered from 1.
    assert!(control.commands_received()[0].contains(r#""cmdId":1"#));
}

#[tokio::test]
async fn a_dropped_connection_is_reopened_and_every_subscription_replayed_with_fresh_cmd_ids() {
    let (server, control) = start(quiet_config()).await;
    let mut client = connect(&server, fast(), 1000).await;
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: latest_spec(),
    });
    client.send(NetCommand::Subscribe {
        sub: 2,
        spec: latest_spec(),
    });
    client.expect("page 1", |e| is_page(e, 1)).await;
    client.expect("page 2", |e| is_page(e, 2)).await;
    client.send(NetCommand::Unsubscribe { sub: 2 });
    control.drop_connections(false);
    client
        .expect("the close", |e| {
            matches!(e, NetEvent::Closed { code: 1006, .. })
        })
        .await;
    client
        .expect("a reconnect", |e| {
            matches!(e, NetEvent::Connection(ConnState::Reconnecting { .. }))
        })
        .await;
    client
        .expect("live again", |e| {
            *e == NetEvent::Connection(ConnState::Live)
        })
        .await;
    client.expect("page 1 again", |e| is_page(e, 1)).await;
    let commands = control.commands_received();
    let data_cmds: Vec<&String> = commands
        .iter()
        .filter(|c| c.contains(r#""type":"ENTITY_DATA""#))
        .collect();
    // Two on the first socket, one (the live subscription only) on the second, again cmdId 1.
    assert_eq!(data_cmds.len(), 3, "{commands:#?}");
    assert!(data_cmds[2].contains(r#""cmdId":1"#));
    client
        .push_and_expect(&control, "updates on the new socket", "40.5")
        .await;
}

#[tokio::test]
async fn points_pushed_while_offline_are_backfilled_once_and_the_gap_reported() {
    let (server, control) = start(quiet_config()).await;
    let mut client = connect(&server, fast(), 10_000).await;
    let device = thermostats(&control)[0].id.clone();
    let now = now_ms();
    // The last minute, then live for a day.
    client.send(NetCommand::Subscribe {
        sub: 3,
        spec: series_spec(&device, "temperature", now - 60_000, 86_400_000),
    });
    client.expect("the series page", |e| is_page(e, 3)).await;
    // Off the demo's one-second grid, newer than anything on the page.
    let base = now_ms() + 1;
    control.push_point(&device, "temperature", base, "1.5");
    client
        .expect("the first live point", |e| {
            has_point(e, 3, "temperature", base)
        })
        .await;

    control.restart(Duration::from_millis(400));
    let (p2, p3) = (base + 101, base + 202);
    control.push_point(&device, "temperature", p2, "2.5");
    control.push_point(&device, "temperature", p3, "3.5");
    let gap = client
        .expect("the gap", |e| matches!(e, NetEvent::Gap { sub: 3, .. }))
        .await;
    let NetEvent::Gap { from_ms, to_ms, .. } = gap else {
        unreachable!()
    };
    assert!(from_ms < to_ms);
    client
        .expect("the backfilled points", |e| {
            has_point(e, 3, "temperature", p3)
        })
        .await;
    // The resume overlaps the last minute (late points), so the page may bring points seen
    // before again: the store, which replaces a point at the same time, holds each once.
    let store = client.store();
    assert_stored_once(
        &store,
        3,
        &device,
        "temperature",
        &[(base, 1.5), (p2, 2.5), (p3, 3.5)],
    );
    // The points pushed while offline came only with the backfill.
    let points = series_points(&client.seen, 3, "temperature");
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for (ts, _) in &points {
        *counts.entry(*ts).or_default() += 1;
    }
    assert_eq!((counts.get(&p2), counts.get(&p3)), (Some(&1), Some(&1)));
    assert_eq!(store.gaps.get(&3).map(Vec::len), Some(1), "the gap is kept");
}

#[tokio::test]
async fn a_stalled_link_is_declared_dead_before_the_servers_timeout_and_reopened() {
    let (server, control) = start(quiet_config()).await;
    let config = SessionConfig {
        ping_interval: Duration::from_millis(100),
        dead_after: Duration::from_millis(600),
        tick: Duration::from_millis(50),
        ..fast()
    };
    let mut client = live(&server, config, 1000).await;
    client
        .expect("a round-trip time", |e| matches!(e, NetEvent::Rtt { .. }))
        .await;
    control.stall_sessions(Duration::from_secs(30));
    let started = std::time::Instant::now();
    client
        .expect("the dead link", |e| {
            matches!(e, NetEvent::Closed { code: 1006, reason } if reason.contains("link is dead"))
        })
        .await;
    // Well before ThingsBoard's own 30 s.
    assert!(started.elapsed() < Duration::from_secs(5));
    client.expect("the page again", |e| is_page(e, 1)).await;
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_then_the_password_is_asked_for() {
    let (server, control) = start(quiet_config()).await;
    let mut client = live(&server, fast(), 1000).await;
    control.revoke_tokens();
    control.drop_connections(false);
    client
        .expect("the rejection", |e| {
            matches!(e, NetEvent::Closed { code: 1007, reason } if reason == "Token is outdated")
        })
        .await;
    client
        .expect("the password request", |e| *e == NetEvent::SessionExpired)
        .await;
    let attempts = control.stats().ws_connection_attempts;
    let later = client.collect_for(Duration::from_millis(500)).await;
    assert!(
        !later
            .iter()
            .any(|e| matches!(e, NetEvent::Connection(ConnState::Connecting { .. }))),
        "{later:?}"
    );
    assert_eq!(
        control.stats().ws_connection_attempts,
        attempts,
        "no retry loop"
    );
}

#[tokio::test]
async fn too_many_updates_is_reported_and_the_subscription_resubscribed_after_the_window() {
    let (server, control) = start(DemoConfig {
        limits: Limits {
            updates_per_session: Some((3, Duration::from_millis(300))),
            ..Limits::default()
        },
        ..quiet_config()
    })
    .await;
    let config = SessionConfig {
        too_many_updates_retry: Duration::from_millis(300),
        tick: Duration::from_millis(50),
        ..fast()
    };
    let mut client = connect(&server, config, 1000).await;
    client.send(NetCommand::Subscribe {
        sub: 9,
        spec: latest_spec(),
    });
    client.expect("the page", |e| is_page(e, 9)).await;
    let device = thermostats(&control)[0].id.clone();
    let t0 = now_ms() + 60_000;
    for i in 0..6 {
        control.push_point(&device, "temperature", t0 + i, format!("{i}"));
    }
    client
        .expect("too many updates", |e| {
            matches!(
                e,
                NetEvent::SubscriptionError {
                    sub: 9,
                    code: 34,
                    ..
                }
            )
        })
        .await;
    client
        .expect("a fresh page after the window", |e| is_page(e, 9))
        .await;
}

#[tokio::test]
async fn a_malformed_frame_is_reported_and_the_socket_stays_up() {
    let (server, control) = start(quiet_config()).await;
    let mut client = live(&server, fast(), 1000).await;
    control.send_raw_frame("{not json");
    control.send_raw_frame(r#"{"cmdId":1,"cmdUpdateType":"ENTITY_DATA","data":7}"#);
    client
        .expect("the bad frame", |e| matches!(e, NetEvent::BadFrame { .. }))
        .await;
    client
        .push_and_expect(&control, "updates still flow", "12.5")
        .await;
    let bad = client
        .seen
        .iter()
        .filter(|e| matches!(e, NetEvent::BadFrame { .. }))
        .count();
    assert_eq!(bad, 2);
    assert!(!client.saw_close(), "the socket stayed up");
}

#[tokio::test]
async fn a_flood_with_a_slow_consumer_keeps_the_queue_bounded_and_the_newest_values() {
    let (server, control) = start(quiet_config()).await;
    let mut client = live(&server, fast(), 64).await;
    // The UI does not drain while the devices push 2,000 updates.
    let devices = thermostats(&control);
    let t0 = now_ms() + 60_000;
    for i in 0..2000i64 {
        let d = &devices[usize::try_from(i).unwrap() % devices.len()];
        control.push_point(&d.id, "temperature", t0 + i, format!("{i}"));
    }
    let last = 1999i64;
    let last_device = &devices[usize::try_from(last).unwrap() % devices.len()].id;
    // Wait until the session has read everything: the newest value is queued.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let stats = client.queue.stats();
        assert!(stats.len <= 64 + 4, "the queue stays bounded: {stats:?}");
        if stats.merged > 0 && control.stats().ws_sessions_open == 1 {
            let events = client.queue.drain(usize::MAX);
            let found = events.iter().any(|e| {
                let NetEvent::Message { msg, .. } = e else {
                    return false;
                };
                let ServerMessage::EntityData(u) = msg.as_ref() else {
                    return false;
                };
                u.update.iter().flatten().any(|r| {
                    r.entity_id == *last_device
                        && r.latest_value(&EntityKeyType::TimeSeries, "temperature")
                            .and_then(|v| v.value.as_ref())
                            .is_some_and(|v| v.as_str() == last.to_string())
                })
            });
            client.seen.extend(events);
            if found {
                break;
            }
        }
        assert!(
            tokio::time::timeout_at(deadline, client.notify.notified())
                .await
                .is_ok(),
            "the newest value never arrived: {:?}",
            client.queue.stats()
        );
    }
    assert!(client.queue.stats().merged > 0);
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire_while_the_socket_stays_up() {
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
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while control.stats().refreshes == 0 {
        // Events keep the wait bounded and reactive (pings, traffic); the refresh is due at
        // half the 3 s lifetime.
        assert!(
            tokio::time::timeout_at(deadline, client.collect_for(Duration::from_millis(200)))
                .await
                .is_ok(),
            "no refresh before the deadline"
        );
    }
    assert!(
        !client.saw_close(),
        "the socket was not disturbed by the refresh"
    );
}

#[tokio::test]
async fn a_server_without_api_ws_is_watched_through_the_legacy_endpoint() {
    let (server, control) = start(DemoConfig {
        legacy_only: true,
        ..quiet_config()
    })
    .await;
    let mut client = connect(&server, fast(), 1000).await;
    client.send(NetCommand::Subscribe {
        sub: 1,
        spec: latest_spec(),
    });
    client.send(NetCommand::Subscribe {
        sub: 2,
        spec: SubSpec::NotificationsCount(tb_monitor::protocol::NotificationsCountSubCmd {
            cmd_id: 0,
        }),
    });
    client
        .expect("the legacy notice", |e| *e == NetEvent::LegacyServer)
        .await;
    client.expect("the page", |e| is_page(e, 1)).await;
    client
        .expect_any_time("notifications refused", |e| {
            matches!(e, NetEvent::SubscriptionError { sub: 2, message, .. } if message.contains("3.6.2"))
        })
        .await;
    client
        .push_and_expect(&control, "live updates", "21.5")
        .await;
    // The legacy wrapper went out, without authCmd.
    let first = &control.commands_received()[0];
    assert!(first.contains("ENTITY_DATA"), "{first}");
}

fn spec(json: serde_json::Value) -> SubSpec {
    let cmd: tb_monitor::protocol::WsCmd = serde_json::from_value(json).unwrap();
    SubSpec::from_cmd(cmd).unwrap()
}

#[tokio::test]
async fn every_subscription_type_reaches_the_store_end_to_end() {
    let (server, control) = start(quiet_config()).await;
    let client = connect(&server, fast(), 1000).await;
    let device = thermostats(&control)[0].id.clone();
    let device_json = serde_json::to_value(&device).unwrap();
    let all_devices = serde_json::json!({"type": "entityType", "entityType": "DEVICE"});
    let specs = [
        spec(
            serde_json::json!({"type": "ENTITY_COUNT", "cmdId": 0, "query": {"entityFilter": all_devices}}),
        ),
        spec(
            serde_json::json!({"type": "ALARM_DATA", "cmdId": 0, "query": {
            "entityFilter": all_devices,
            "pageLink": {"pageSize": 10, "page": 0, "statusList": ["ACTIVE"], "timeWindow": 604_800_000}}}),
        ),
        spec(
            serde_json::json!({"type": "ALARM_COUNT", "cmdId": 0, "query": {"entityFilter": all_devices, "statusList": ["ACTIVE"]}}),
        ),
        spec(serde_json::json!({"type": "ALARM_STATUS", "cmdId": 0, "originatorId": device_json})),
        spec(serde_json::json!({"type": "NOTIFICATIONS", "cmdId": 0, "limit": 5})),
        spec(serde_json::json!({"type": "NOTIFICATIONS_COUNT", "cmdId": 0})),
        spec(
            serde_json::json!({"type": "ATTRIBUTES", "cmdId": 0, "entityType": "DEVICE",
            "entityId": device.id.to_string(), "scope": "SERVER_SCOPE"}),
        ),
        spec(
            serde_json::json!({"type": "TIMESERIES", "cmdId": 0, "entityType": "DEVICE",
            "entityId": device.id.to_string(), "keys": "temperature"}),
        ),
        latest_spec(),
    ];
    for (i, s) in specs.into_iter().enumerate() {
        client.send(NetCommand::Subscribe {
            sub: i as u64,
            spec: s,
        });
    }
    let mut store = tb_monitor::store::Store::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while (0..9u64).any(|s| !store.subs.contains_key(&s)) {
        for ev in client.queue.drain(usize::MAX) {
            store.apply(ev, now_ms());
        }
        if (0..9u64).all(|s| store.subs.contains_key(&s)) {
            break;
        }
        assert!(
            tokio::time::timeout_at(deadline, client.notify.notified())
                .await
                .is_ok(),
            "missing subscriptions: {:?}; errors {:?}",
            (0..9u64)
                .filter(|s| !store.subs.contains_key(s))
                .collect::<Vec<_>>(),
            store.errors
        );
    }
    let count = match &store.subs[&0] {
        SubData::EntityCount(c) => c.count(),
        other => panic!("{other:?}"),
    };
    assert_eq!(count, Some(i64::try_from(control.devices().len()).unwrap()));
    assert!(matches!(&store.subs[&1], SubData::Alarms(p) if p.has_data()));
    assert!(matches!(&store.subs[&2], SubData::AlarmCount(c) if c.count().is_some()));
    assert!(matches!(&store.subs[&3], SubData::AlarmStatus(s) if s.active().is_some()));
    assert!(matches!(&store.subs[&4], SubData::Inbox(i) if i.has_list()));
    assert!(matches!(&store.subs[&5], SubData::Unread(c) if c.count().is_some()));
    assert!(
        matches!(&store.subs[&6], SubData::V1(m) if m.contains_key("active")),
        "{:?}",
        store.subs[&6]
    );
    assert!(matches!(&store.subs[&7], SubData::V1(m) if m.contains_key("temperature")));
    assert!(matches!(&store.subs[&8], SubData::Entities(p) if p.has_data()));
    assert!(store.errors.is_empty(), "{:?}", store.errors);
}

#[tokio::test]
async fn a_socket_outlives_its_token_and_the_next_one_uses_a_fresh_token() {
    let (server, control) = start(DemoConfig {
        token_ttl: Duration::from_secs(3),
        ..quiet_config()
    })
    .await;
    let mut client = live(&server, fast(), 1000).await;
    // The access token expires on the server (the refresh token still works). The open
    // socket is not closed for it: updates keep coming.
    control.expire_access_tokens();
    client
        .push_and_expect(&control, "updates after the token expired", "5.5")
        .await;
    let refreshes = control.stats().refreshes;
    control.drop_connections(false);
    client
        .expect("the page on a new socket", |e| is_page(e, 1))
        .await;
    assert!(
        control.stats().refreshes > refreshes,
        "the reconnect refreshed first"
    );
    assert!(
        !client.seen.contains(&NetEvent::SessionExpired),
        "no password needed"
    );
}

/// A wall clock the test can move forward, as a laptop's does across a sleep.
static CLOCK_SHIFT_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn shifted_clock() -> i64 {
    now_ms() + CLOCK_SHIFT_MS.load(std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test]
async fn waking_from_sleep_reconnects_at_once_without_waiting_for_the_dead_link() {
    let (server, control) = start(quiet_config()).await;
    let config = SessionConfig {
        tick: Duration::from_millis(50),
        // Far longer than the test: only the wake detection can explain a reconnect.
        dead_after: Duration::from_mins(10),
        backoff_base: Duration::from_mins(10),
        backoff_cap: Duration::from_mins(10),
        wall_clock: shifted_clock,
        ..SessionConfig::default()
    };
    let mut client = live(&server, config, 1000).await;
    let opened = control.stats().ws_sessions_opened;
    // The laptop slept for an hour: the wall clock jumps, the monotonic one does not.
    CLOCK_SHIFT_MS.fetch_add(3_600_000, std::sync::atomic::Ordering::Relaxed);
    client
        .expect(
            "the wake",
            |e| matches!(e, NetEvent::Closed { reason, .. } if reason.contains("woke from sleep")),
        )
        .await;
    client
        .expect("the page on a new socket", |e| is_page(e, 1))
        .await;
    assert_eq!(control.stats().ws_sessions_opened, opened + 1);
}

#[tokio::test]
async fn an_oversized_frame_is_reported_and_the_session_reopened() {
    let (server, control) = start(quiet_config()).await;
    let config = SessionConfig {
        max_message_bytes: 64 * 1024,
        ..fast()
    };
    let mut client = live(&server, config, 1000).await;
    control.send_raw_frame(format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000)));
    client
        .expect(
            "the oversized frame",
            |e| matches!(e, NetEvent::BadFrame { error } if error.contains("over our limit")),
        )
        .await;
    client
        .expect("the page on a new socket", |e| is_page(e, 1))
        .await;
}

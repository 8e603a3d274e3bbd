//! Decode throughput of server messages: the typed decoder (`ServerMessage::from_json`) next
//! to `serde_json::Value` parsing of the same bytes, on two corpora:
//!
//! * `decode_msgs` / `decode_bytes`: 10,000 `ENTITY_DATA` latest-value updates
//!   ([`common::corpus`]), the figures of issue 2;
//! * `decode_mixed`: 10,000 messages of a busy session ([`mixed_corpus`]: latest values,
//!   time series, alarms, notifications, counts), reported as msgs/s and bytes/s at once.
//!
//! Run with `cargo bench --bench decode` (`-- decode_mixed` for the mixed corpus only).
//! Before timing, every message must decode to the variant its kind expects.
//!
//! Switches (each does its one job and exits, without timing anything):
//! * `TB_DECODE_CORPUS_OUT=PATH` writes the mixed corpus to `PATH`, one message a line, so
//!   that `benches/node_parse.js` parses exactly the same bytes (`benches/decode_node.sh`);
//! * `TB_DECODE_KINDS=1` prints typed and `Value` times per kind of message of the mixed
//!   corpus (where the time goes);
//! * `TB_DECODE_ONCE=typed|value|none` decodes the `ENTITY_DATA` corpus once, for
//!   callgrind (`benches/decode_instructions.sh`).

// A benchmark reports on the terminal; its corpus sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

mod common;

use common::{KEYS, Lcg, corpus};
use criterion::{Criterion, Throughput, criterion_group};
use std::fmt::Write as _;
use std::hint::black_box;
use tb_monitor::protocol::ServerMessage;

fn bench_decode(c: &mut Criterion) {
    let messages = corpus(10_000);
    let bytes: usize = messages.iter().map(String::len).sum();
    // Check the corpus once: every message must decode as ENTITY_DATA.
    for m in &messages {
        assert!(
            matches!(
                ServerMessage::from_json(m),
                Ok(ServerMessage::EntityData(_))
            ),
            "{m}"
        );
    }
    eprintln!(
        "corpus: {} messages, {} bytes, {:.0} bytes/message on average",
        messages.len(),
        bytes,
        bytes as f64 / messages.len() as f64
    );

    for (group_name, throughput) in [
        ("decode_msgs", Throughput::Elements(messages.len() as u64)),
        ("decode_bytes", Throughput::Bytes(bytes as u64)),
    ] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(throughput);
        group.sample_size(20);
        group.bench_function("typed_ServerMessage", |b| {
            b.iter(|| {
                let mut ok = 0usize;
                for m in &messages {
                    ok += usize::from(ServerMessage::from_json(black_box(m)).is_ok());
                }
                ok
            });
        });
        group.bench_function("serde_json_Value", |b| {
            b.iter(|| {
                let mut ok = 0usize;
                for m in &messages {
                    ok += usize::from(
                        serde_json::from_str::<serde_json::Value>(black_box(m)).is_ok(),
                    );
                }
                ok
            });
        });
        group.finish();
    }
}

/// Typed decode and `Value` parse of the mixed corpus, in one group reporting msgs/s and
/// bytes/s.
fn bench_mixed(c: &mut Criterion) {
    let corpus = mixed_corpus(10_000);
    let bytes: usize = corpus.iter().map(|(_, m)| m.len()).sum();
    for (kind, m) in &corpus {
        assert!(
            ServerMessage::from_json(m).is_ok_and(|d| kind.matches(&d)),
            "{kind:?}: {m}"
        );
    }
    let count = |k: Kind| corpus.iter().filter(|(kind, _)| *kind == k).count();
    eprintln!(
        "mixed corpus: {} messages ({} latest, {} time series, {} alarm, {} notification, {} count), {} bytes, {:.0} bytes/message on average",
        corpus.len(),
        count(Kind::Latest),
        count(Kind::TimeSeries),
        count(Kind::Alarm),
        count(Kind::Notification),
        count(Kind::NotificationsCount),
        bytes,
        bytes as f64 / corpus.len() as f64
    );
    let messages: Vec<&str> = corpus.iter().map(|(_, m)| m.as_str()).collect();
    let mut group = c.benchmark_group("decode_mixed");
    group.throughput(Throughput::ElementsAndBytes {
        elements: messages.len() as u64,
        bytes: bytes as u64,
    });
    group.sample_size(20);
    group.bench_function("typed_ServerMessage", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for m in &messages {
                ok += usize::from(ServerMessage::from_json(black_box(m)).is_ok());
            }
            ok
        });
    });
    group.bench_function("serde_json_Value", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for m in &messages {
                ok += usize::from(serde_json::from_str::<serde_json::Value>(black_box(m)).is_ok());
            }
            ok
        });
    });
    group.finish();
}

criterion_group!(benches, bench_decode, bench_mixed);

/// What a message of the mixed corpus is, and so which [`ServerMessage`] variant it must
/// decode to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `ENTITY_DATA` `update` with latest values (60 %).
    Latest,
    /// `ENTITY_DATA` `update` with `timeseries` arrays of a `tsCmd` (20 %).
    TimeSeries,
    /// `ALARM_DATA` `update`: one alarm row with its entity's latest values (10 %).
    Alarm,
    /// `NOTIFICATIONS` partial update: one new notification with its `info` (5 %).
    Notification,
    /// `NOTIFICATIONS_COUNT` (5 %).
    NotificationsCount,
}

impl Kind {
    /// Whether `message` is the variant this kind must decode to.
    fn matches(self, message: &ServerMessage) -> bool {
        match (self, message) {
            (Kind::Latest | Kind::TimeSeries, ServerMessage::EntityData(m)) => m.update.is_some(),
            (Kind::Alarm, ServerMessage::AlarmData(m)) => m.update.is_some(),
            (Kind::Notification, ServerMessage::Notifications(m)) => m.update.is_some(),
            (Kind::NotificationsCount, ServerMessage::NotificationsCount(_)) => true,
            _ => false,
        }
    }
}

/// The devices of the mixed corpus: `n` ids and names drawn from `rng`.
fn devices(rng: &mut Lcg, n: usize) -> Vec<(uuid::Uuid, String)> {
    (0..n)
        .map(|i| {
            let id = uuid::Uuid::from_u64_pair(
                rng.next() << 20 | rng.next(),
                rng.next() << 20 | rng.next(),
            );
            (id, format!("Thermostat T-{}", 100 + i))
        })
        .collect()
}

/// A number below `n`, as an index.
fn pick(rng: &mut Lcg, n: usize) -> usize {
    usize::try_from(rng.below(n as u64)).unwrap_or(0)
}

/// A reading such as `21.75`.
fn reading(rng: &mut Lcg) -> f64 {
    f64::from(u32::try_from(rng.below(100_000)).unwrap_or(0)) / 100.0
}

const ALARM_TYPES: [&str; 4] = [
    "High Temperature",
    "Low Battery",
    "Device Offline",
    "CO2 Level",
];
const SEVERITIES: [&str; 5] = ["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"];
const TENANT: &str = r#"{"entityType":"TENANT","id":"5e1d4a20-7a25-11ee-9d3f-3b4c5d6e7f80"}"#;
const USER: &str = r#"{"entityType":"USER","id":"7c1f9e30-7a25-11ee-9d3f-3b4c5d6e7f80"}"#;
const NULL_CUSTOMER: &str =
    r#"{"entityType":"CUSTOMER","id":"13814000-1dd2-11b2-8080-808080808080"}"#;

/// `count` server messages of a busy session, as ThingsBoard writes them (protocol
/// reference §4 and §5): 60 % `ENTITY_DATA` latest-value updates (those of [`corpus`]), 20 %
/// `ENTITY_DATA` time-series updates (one entity, 1–3 keys of 1–3 raw points, newest first),
/// 10 % `ALARM_DATA` updates (one alarm with its entity's latest values), 5 % `NOTIFICATIONS`
/// partial updates (an alarm or device-activity notification with its `info`) and 5 %
/// `NOTIFICATIONS_COUNT`. The kinds are drawn at random in these proportions from a fixed
/// seed, so every run and Node's parse see the same bytes.
fn mixed_corpus(count: usize) -> Vec<(Kind, String)> {
    let mut rng = Lcg(0x006d_6978_6564);
    let devices = devices(&mut rng, 500);
    let mut latest = corpus(count).into_iter();
    let mut sequence = 0u64;
    let mut unread = 40u64;
    (0..count)
        .map(|i| {
            let ts = 1_700_000_000_000 + 100 * i as u64;
            let kind = match rng.below(100) {
                0..60 => Kind::Latest,
                60..80 => Kind::TimeSeries,
                80..90 => Kind::Alarm,
                90..95 => Kind::Notification,
                _ => Kind::NotificationsCount,
            };
            let (device, name) = &devices[pick(&mut rng, devices.len())];
            let text = match kind {
                Kind::Latest => latest.next().unwrap_or_default(),
                Kind::TimeSeries => time_series_update(&mut rng, device, ts),
                Kind::Alarm => alarm_update(&mut rng, device, name, ts),
                Kind::Notification | Kind::NotificationsCount => {
                    sequence += 1;
                    unread += 1;
                    if kind == Kind::Notification {
                        notification_update(&mut rng, device, name, ts, sequence, unread)
                    } else {
                        format!(
                            r#"{{"cmdId":1000002,"errorCode":0,"errorMsg":null,"totalUnreadCount":{unread},"sequenceNumber":{sequence},"cmdUpdateType":"NOTIFICATIONS_COUNT"}}"#
                        )
                    }
                }
            };
            (kind, text)
        })
        .collect()
}

/// A live `tsCmd` update: one entity, `latest` null, 1–3 distinct keys of 1–3 raw points.
fn time_series_update(rng: &mut Lcg, device: &uuid::Uuid, ts: u64) -> String {
    let mut s = format!(
        r#"{{"cmdId":{},"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{device}"}},"latest":null,"timeseries":{{"#,
        8 + rng.below(2)
    );
    let first = pick(rng, KEYS.len());
    for k in 0..=pick(rng, 2) {
        if k > 0 {
            s.push(',');
        }
        write!(s, r#""{}":["#, KEYS[(first + k) % KEYS.len()]).ok();
        for p in 0..=rng.below(2) {
            if p > 0 {
                s.push(',');
            }
            write!(
                s,
                r#"{{"ts":{},"value":"{}"}}"#,
                ts - 1000 * p,
                reading(rng)
            )
            .ok();
        }
        s.push(']');
    }
    s.push_str(r#"},"aggLatest":null}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#);
    s
}

/// An `ALARM_DATA` update: one alarm of `device` with its latest values (1–2 distinct keys).
fn alarm_update(rng: &mut Lcg, device: &uuid::Uuid, name: &str, ts: u64) -> String {
    let alarm_type = ALARM_TYPES[pick(rng, ALARM_TYPES.len())];
    let severity = SEVERITIES[pick(rng, SEVERITIES.len())];
    let (acknowledged, cleared) = (rng.below(2) == 1, rng.below(3) == 0);
    let status = match (cleared, acknowledged) {
        (false, false) => "ACTIVE_UNACK",
        (false, true) => "ACTIVE_ACK",
        (true, false) => "CLEARED_UNACK",
        (true, true) => "CLEARED_ACK",
    };
    let (ack_ts, clear_ts) = (
        if acknowledged { ts - 500 } else { 0 },
        if cleared { ts } else { 0 },
    );
    let start = ts - 60_000 * (1 + rng.below(600));
    let alarm = uuid::Uuid::from_u64_pair(rng.next() << 20 | rng.next(), rng.next());
    let mut s = format!(
        r#"{{"cmdId":10,"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{device}"}},"latest":{{"TIME_SERIES":{{"#
    );
    let first = pick(rng, KEYS.len());
    for k in 0..=pick(rng, 1) {
        if k > 0 {
            s.push(',');
        }
        let key = KEYS[(first + k) % KEYS.len()];
        write!(s, r#""{key}":{{"ts":{ts},"value":"{}"}}"#, reading(rng)).ok();
    }
    write!(
        s,
        r#"}}}},"id":{{"entityType":"ALARM","id":"{alarm}"}},"createdTime":{start},"tenantId":{TENANT},"customerId":{NULL_CUSTOMER},"type":"{alarm_type}","originator":{{"entityType":"DEVICE","id":"{device}"}},"severity":"{severity}","acknowledged":{acknowledged},"cleared":{cleared},"assigneeId":null,"startTs":{start},"endTs":{ts},"ackTs":{ack_ts},"clearTs":{clear_ts},"assignTs":0,"details":{{"threshold":"30","value":"{}"}},"propagate":false,"propagateToOwner":false,"propagateToTenant":false,"propagateRelationTypes":[],"originatorName":"{name}","originatorLabel":null,"originatorDisplayName":"{name}","assignee":null,"name":"{alarm_type}","status":"{status}"}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"totalEntities":500,"cmdUpdateType":"ALARM_DATA"}}"#,
        reading(rng)
    )
    .ok();
    s
}

/// A `NOTIFICATIONS` partial update: one new alarm (two in three) or device-activity
/// notification with its `info`, as the default templates render them.
fn notification_update(
    rng: &mut Lcg,
    device: &uuid::Uuid,
    name: &str,
    ts: u64,
    sequence: u64,
    unread: u64,
) -> String {
    let id = uuid::Uuid::from_u64_pair(rng.next() << 20 | rng.next(), ts);
    let request = uuid::Uuid::from_u64_pair(rng.next() << 20 | rng.next(), ts);
    let (kind, subject, text, config, info) = if rng.below(3) > 0 {
        let alarm_type = ALARM_TYPES[pick(rng, ALARM_TYPES.len())];
        let severity = SEVERITIES[pick(rng, SEVERITIES.len())];
        let alarm = uuid::Uuid::from_u64_pair(rng.next() << 20 | rng.next(), rng.next());
        (
            "ALARM",
            format!("Alarm: {alarm_type}"),
            format!("{name} raised a {severity} alarm"),
            r##"{"icon":{"enabled":true,"icon":"warning","color":"#D12730"},"actionButtonConfig":{"enabled":true,"text":"Open alarm","linkType":"LINK","link":"/alarms"}}"##,
            format!(
                r#"{{"type":"org.thingsboard.server.common.data.notification.info.AlarmNotificationInfo","alarmType":"{alarm_type}","action":"created","alarmId":"{alarm}","alarmOriginator":{{"entityType":"DEVICE","id":"{device}"}},"alarmOriginatorName":"{name}","alarmOriginatorLabel":null,"alarmSeverity":"{severity}","alarmStatus":"ACTIVE_UNACK","acknowledged":false,"cleared":false,"alarmCustomerId":null,"dashboardId":null,"details":{{"details.threshold":"30"}},"stateEntityId":{{"entityType":"DEVICE","id":"{device}"}},"affectedCustomerId":null}}"#
            ),
        )
    } else {
        (
            "DEVICE_ACTIVITY",
            "Device inactive".to_owned(),
            format!("{name} is inactive"),
            r##"{"icon":{"enabled":true,"icon":"phonelink_off","color":"#757575"}}"##,
            format!(
                r#"{{"type":"org.thingsboard.server.common.data.notification.info.DeviceActivityNotificationInfo","eventType":"inactive","deviceId":"{device}","deviceName":"{name}","deviceType":"thermostat","deviceLabel":null,"deviceCustomerId":null,"stateEntityId":{{"entityType":"DEVICE","id":"{device}"}}}}"#
            ),
        )
    };
    format!(
        r#"{{"cmdId":1000001,"errorCode":0,"errorMsg":null,"notifications":null,"update":{{"requestId":{{"entityType":"NOTIFICATION_REQUEST","id":"{request}"}},"recipientId":{USER},"type":"{kind}","deliveryMethod":"WEB","subject":"{subject}","text":"{text}","additionalConfig":{config},"info":{info},"status":"SENT","id":{{"entityType":"NOTIFICATION","id":"{id}"}},"createdTime":{ts}}},"totalUnreadCount":{unread},"sequenceNumber":{sequence},"cmdUpdateType":"NOTIFICATIONS"}}"#
    )
}

/// With `TB_DECODE_ONCE=typed|value|none`, decodes the corpus once and exits: run under
/// `valgrind --tool=callgrind` this gives exact instruction counts (see
/// `benches/decode_instructions.sh`), which are stable on a shared, noisy machine.
fn decode_once(mode: &str) {
    if let Some(kind) = mode.strip_prefix("mixed") {
        decode_mixed_once(kind.trim_start_matches(':'));
        return;
    }
    let messages = corpus(10_000);
    let ok: usize = match mode {
        "typed" => messages
            .iter()
            .filter(|m| ServerMessage::from_json(m).is_ok())
            .count(),
        "value" => messages
            .iter()
            .filter(|m| serde_json::from_str::<serde_json::Value>(m).is_ok())
            .count(),
        _ => messages.len(),
    };
    eprintln!("decoded {ok} of {} messages ({mode})", messages.len());
}

/// `TB_DECODE_ONCE=mixed[:Kind]`: decodes the mixed corpus (or its messages of one [`Kind`],
/// by its `Debug` name) typed, `TB_DECODE_REPEAT` times (default once): for callgrind, or
/// for `perf record` with a larger repeat. `mixed:none` only builds the corpus.
fn decode_mixed_once(kind: &str) {
    let corpus = mixed_corpus(10_000);
    let repeat: usize = std::env::var("TB_DECODE_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    if kind == "none" {
        eprintln!("built {} messages", corpus.len());
        return;
    }
    let messages: Vec<&str> = corpus
        .iter()
        .filter(|(k, _)| kind.is_empty() || format!("{k:?}") == kind)
        .map(|(_, m)| m.as_str())
        .collect();
    let mut ok = 0;
    for _ in 0..repeat {
        ok += messages
            .iter()
            .filter(|m| ServerMessage::from_json(black_box(m)).is_ok())
            .count();
    }
    eprintln!(
        "decoded {ok} of {} messages ({kind})",
        messages.len() * repeat
    );
}

/// With `TB_DECODE_KINDS=1`: where the mixed corpus's time goes, per kind of message, typed
/// against `Value` (the median of 21 passes over that kind's messages).
fn time_kinds() {
    let corpus = mixed_corpus(10_000);
    let kinds = [
        Kind::Latest,
        Kind::TimeSeries,
        Kind::Alarm,
        Kind::Notification,
        Kind::NotificationsCount,
    ];
    for kind in kinds {
        let messages: Vec<&str> = corpus
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, m)| m.as_str())
            .collect();
        let bytes: usize = messages.iter().map(|m| m.len()).sum();
        let median = |decode: &dyn Fn(&str) -> bool| {
            let mut times: Vec<std::time::Duration> = (0..21)
                .map(|_| {
                    let start = std::time::Instant::now();
                    let ok = messages.iter().filter(|m| decode(black_box(m))).count();
                    black_box(ok);
                    start.elapsed()
                })
                .collect();
            times.sort_unstable();
            times[times.len() / 2].as_secs_f64()
        };
        let typed = median(&|m| ServerMessage::from_json(m).is_ok());
        let value = median(&|m| serde_json::from_str::<serde_json::Value>(m).is_ok());
        let n = messages.len() as f64;
        eprintln!(
            "{kind:?}: {} msgs, {:.0} B/msg; typed {:.0} ns/msg ({:.0} MB/s), Value {:.0} ns/msg ({:.0} MB/s), {:.2}x",
            messages.len(),
            bytes as f64 / n,
            typed / n * 1e9,
            bytes as f64 / typed / 1e6,
            value / n * 1e9,
            bytes as f64 / value / 1e6,
            value / typed
        );
    }
}

/// Writes the mixed corpus to `path`, one message a line.
fn write_corpus(path: &str) -> std::io::Result<()> {
    let corpus = mixed_corpus(10_000);
    let mut text = String::with_capacity(corpus.iter().map(|(_, m)| m.len() + 1).sum());
    for (_, m) in &corpus {
        text.push_str(m);
        text.push('\n');
    }
    std::fs::write(path, text)?;
    eprintln!("wrote {} messages to {path}", corpus.len());
    Ok(())
}

fn main() {
    if let Ok(path) = std::env::var("TB_DECODE_CORPUS_OUT") {
        if let Err(e) = write_corpus(&path) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
        return;
    }
    if std::env::var_os("TB_DECODE_KINDS").is_some() {
        time_kinds();
        return;
    }
    if let Ok(mode) = std::env::var("TB_DECODE_ONCE") {
        decode_once(&mode);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

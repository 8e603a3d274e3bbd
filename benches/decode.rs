//! Decode throughput of typical `ENTITY_DATA` updates: the typed decoder
//! (`ServerMessage::from_json`) next to `serde_json::Value` parsing of the same bytes.
//!
//! Run with `cargo bench --bench decode`. Criterion reports each figure twice: as
//! elements/s (messages) and as bytes/s. Compare the two decoders from the same run.

// A benchmark reports on the terminal; its corpus sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group};
use tb_monitor::protocol::ServerMessage;

/// A small deterministic generator, so every run decodes the same corpus.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const KEYS: [&str; 6] = [
    "temperature",
    "humidity",
    "pressure",
    "batteryLevel",
    "rssi",
    "co2",
];

/// `count` `ENTITY_DATA` `update` messages of 1–2 entities with 1–3 time series keys each,
/// shaped exactly like ThingsBoard's (about 450 bytes on average).
fn corpus(count: usize) -> Vec<String> {
    let mut rng = Lcg(0x7b_6d_6f_6e);
    (0..count)
        .map(|i| {
            let mut s = format!(r#"{{"cmdId":{},"data":null,"update":["#, 1 + i % 7);
            let entities = 1 + rng.below(2);
            for e in 0..entities {
                if e > 0 {
                    s.push(',');
                }
                let id = uuid::Uuid::from_u64_pair(rng.next() << 20 | rng.next(), rng.next() << 20 | rng.next());
                write!(s, r#"{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":{{"TIME_SERIES":{{"#).ok();
                let keys = 1 + rng.below(3);
                for k in 0..keys {
                    if k > 0 {
                        s.push(',');
                    }
                    let key = KEYS[usize::try_from(rng.below(KEYS.len() as u64)).unwrap_or(0)];
                    let ts = 1_700_000_000_000 + rng.below(86_400_000);
                    let value = f64::from(u32::try_from(rng.below(100_000)).unwrap_or(0)) / 100.0;
                    write!(s, r#""{key}":{{"ts":{ts},"value":"{value}"}}"#).ok();
                }
                s.push_str(r#"}},"timeseries":null,"aggLatest":null}"#);
            }
            s.push_str(r#"],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#);
            s
        })
        .collect()
}

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
                    ok += usize::from(ServerMessage::from_json(std::hint::black_box(m)).is_ok());
                }
                ok
            });
        });
        group.bench_function("serde_json_Value", |b| {
            b.iter(|| {
                let mut ok = 0usize;
                for m in &messages {
                    ok += usize::from(
                        serde_json::from_str::<serde_json::Value>(std::hint::black_box(m)).is_ok(),
                    );
                }
                ok
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench_decode);

/// With `TB_DECODE_ONCE=typed|value|none`, decodes the corpus once and exits: run under
/// `valgrind --tool=callgrind` this gives exact instruction counts (see
/// `benches/decode_instructions.sh`), which are stable on a shared, noisy machine.
fn decode_once(mode: &str) {
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

fn main() {
    if let Ok(mode) = std::env::var("TB_DECODE_ONCE") {
        decode_once(&mode);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

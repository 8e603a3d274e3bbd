//! Decode throughput of typical `ENTITY_DATA` updates: the typed decoder
//! (`ServerMessage::from_json`) next to `serde_json::Value` parsing of the same bytes.
//!
//! Run with `cargo bench --bench decode`. Criterion reports each figure twice: as
//! elements/s (messages) and as bytes/s. Compare the two decoders from the same run.

// A benchmark reports on the terminal; its corpus sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

mod common;

use common::corpus;
use criterion::{Criterion, Throughput, criterion_group};
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

//! The client's receive pipeline on the decode bench's corpus: decoding alone, decoding plus
//! `Store::apply`, and `Store::apply` alone on pre-decoded messages, cold and in cache
//! (issue 4: apply should cost under half of decode).
//!
//! Each of the corpus's seven `cmdId`s is a subscription whose `data` page (applied first,
//! through `Store::apply` like any message) holds every entity its updates mention, with an
//! older value for every key: each update merges into a known row and replaces a value, the
//! realistic case. Every timed iteration starts from a freshly primed store (built outside
//! the timing), so no iteration sees the values of the one before.
//!
//! `apply` applies the whole pre-decoded corpus, which by then has left the CPU caches
//! (10,000 decoded messages are megabytes): it pays for reading and freeing cold messages.
//! `apply_hot` applies the same messages 64 at a time, each chunk cloned just before
//! (untimed), so the messages are in cache as they are right after decoding in the real
//! pipeline.
//!
//! Run with `cargo bench --bench pipeline`. It also prints the memory per stored point of a
//! `SeriesBuffer` after a million in-order points (goal: under 24 bytes).
//!
//! `TB_PIPELINE_ROWS=N` rewrites the entity ids of the corpus (in place, same length, so
//! decoding costs the same) onto `N` entities per subscription: with a small `N` the store's
//! rows stay in the CPU caches, which separates the cost of the merge code from that of
//! reaching rows spread over a large store (the default: every entity is distinct, about
//! 15,000 rows).
//!
//! With `TB_PIPELINE_ONCE=none|decode|apply|apply_cold`, it builds and primes everything,
//! then decodes the corpus once (`decode`), applies it once as `apply_hot` does (`apply`) or
//! as `apply` does (`apply_cold`), or does neither (`none`), and exits. Under
//! `valgrind --tool=callgrind`, `decode` minus `none` counts decoding (freeing the result
//! included) exactly. With `--cache-sim=yes`, the inclusive cost of
//! `tb_monitor::store::Store::apply` (`callgrind_annotate --inclusive=yes`) in `apply` minus
//! that in `none` is one pass of `Store::apply` over the corpus (freeing the messages
//! included), with its cache misses; the exclusive costs show which functions miss.
//! BENCHMARKS.md's figures collect the whole run: `--toggle-collect=…Store::apply` gives the
//! same instruction counts, but changed the miss counts of one build (7.9 against 9.2).

// A benchmark reports on the terminal; its sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{KEYS, corpus};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group};
use tb_monitor::net::{NetEvent, SubId};
use tb_monitor::protocol::{EntityId, ServerMessage};
use tb_monitor::store::series::SeriesBuffer;
use tb_monitor::store::{Store, SubData};

/// Messages in the corpus (the decode bench's).
const MESSAGES: usize = 10_000;
/// The local time passed to `Store::apply` (a frame reads the clock once).
const NOW_MS: i64 = 1_700_100_000_000;
/// `apply_hot` clones this many pre-decoded messages (untimed, which leaves them in the CPU
/// caches as decoding would) before applying them (timed).
const HOT_CHUNK: usize = 64;
/// Timestamp of the values on the pages: older than every update of the corpus.
const PAGE_TS: i64 = 1_699_999_000_000;

/// The subscription of a message: its `cmdId`, as the session's registry would map it.
fn sub_of(msg: &ServerMessage) -> SubId {
    msg.cmd_id()
        .and_then(|id| SubId::try_from(id).ok())
        .unwrap_or(0)
}

/// The corpus decoded into the events the session would queue.
fn decoded(messages: &[String]) -> Result<Vec<NetEvent>, String> {
    messages
        .iter()
        .map(|m| match ServerMessage::from_json(m) {
            Ok(msg @ ServerMessage::EntityData(_)) => Ok(NetEvent::Message {
                sub: sub_of(&msg),
                msg: Box::new(msg),
            }),
            Ok(other) => Err(format!("not ENTITY_DATA: {other:?}")),
            Err(e) => Err(format!("{e}: {m}")),
        })
        .collect()
}

/// One `data` page per subscription holding every entity its updates mention (in order of
/// first mention), each with a value of every corpus key at [`PAGE_TS`]; as decoded events.
fn pages(events: &[NetEvent]) -> Result<Vec<NetEvent>, String> {
    let mut entities: BTreeMap<SubId, (Vec<EntityId>, HashSet<EntityId>)> = BTreeMap::new();
    for ev in events {
        let NetEvent::Message { sub, msg } = ev else {
            continue;
        };
        let ServerMessage::EntityData(u) = msg.as_ref() else {
            continue;
        };
        let (order, seen) = entities.entry(*sub).or_default();
        for row in u.update.iter().flatten() {
            if seen.insert(row.entity_id.clone()) {
                order.push(row.entity_id.clone());
            }
        }
    }
    let mut latest = String::from(r#"{"TIME_SERIES":{"#);
    for (i, key) in KEYS.iter().enumerate() {
        if i > 0 {
            latest.push(',');
        }
        write!(latest, r#""{key}":{{"ts":{PAGE_TS},"value":"0.0"}}"#).map_err(|e| e.to_string())?;
    }
    latest.push_str("}}");
    let mut out = Vec::new();
    for (sub, (order, _)) in entities {
        let mut s = format!(r#"{{"cmdId":{sub},"data":{{"data":["#);
        for (i, id) in order.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let id = serde_json::to_string(id).map_err(|e| e.to_string())?;
            write!(
                s,
                r#"{{"entityId":{id},"latest":{latest},"timeseries":{{}},"aggLatest":null}}"#
            )
            .map_err(|e| e.to_string())?;
        }
        write!(
            s,
            r#"],"totalPages":1,"totalElements":{},"hasNext":false}},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
            order.len()
        )
        .map_err(|e| e.to_string())?;
        let msg = ServerMessage::from_json(&s).map_err(|e| format!("page of {sub}: {e}"))?;
        out.push(NetEvent::Message {
            sub,
            msg: Box::new(msg),
        });
    }
    Ok(out)
}

/// A store holding the pages, ready for the updates.
fn primed(pages: &[NetEvent]) -> Store {
    let mut store = Store::new();
    for page in pages {
        store.apply(page.clone(), NOW_MS);
    }
    store
}

/// Rows on the pages, updates that found no row, and values ignored as stale.
fn page_counters(store: &Store) -> (usize, u64, u64) {
    let mut rows = 0;
    let mut unknown = 0;
    let mut stale = 0;
    for data in store.subs.values() {
        if let SubData::Entities(page) = data {
            rows += page.len();
            unknown += page.unknown_updates();
            stale += page.stale_values();
        }
    }
    (rows, unknown, stale)
}

fn decode_all(messages: &[String]) -> usize {
    let mut ok = 0usize;
    for m in messages {
        ok += usize::from(ServerMessage::from_json(black_box(m)).is_ok());
    }
    ok
}

fn decode_and_apply(messages: &[String], store: &mut Store) {
    for m in messages {
        if let Ok(msg) = ServerMessage::from_json(black_box(m)) {
            store.apply(
                NetEvent::Message {
                    sub: sub_of(&msg),
                    msg: Box::new(msg),
                },
                NOW_MS,
            );
        }
    }
}

fn apply_all(events: Vec<NetEvent>, store: &mut Store) {
    for ev in events {
        store.apply(black_box(ev), NOW_MS);
    }
}

/// Rewrites every entity id of `messages` onto `rows` ids per `cmdId`, and every `ts` to
/// one increasing in corpus order (so each update still replaces the value held, as in the
/// default corpus where every entity is updated about once), in place.
fn remap_entities(messages: &mut [String], rows: u128) -> Result<(), String> {
    const MARK: &str = r#""entityType":"DEVICE","id":""#;
    const TS: &str = r#""ts":"#;
    let mut ts: u64 = 1_700_000_000_000;
    for m in messages.iter_mut() {
        let mut from = 0;
        while let Some(at) = m[from..].find(TS) {
            let start = from + at + TS.len();
            let end = start + 13;
            if m.get(start..end)
                .is_none_or(|t| !t.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!("no 13-digit ts at {start}: {m}"));
            }
            m.replace_range(start..end, &ts.to_string());
            ts += 1;
            from = end;
        }
        let cmd_id: u128 = m
            .strip_prefix(r#"{"cmdId":"#)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("no cmdId: {m}"))?;
        let mut from = 0;
        while let Some(at) = m[from..].find(MARK) {
            let start = from + at + MARK.len();
            let end = start + 36;
            let old = m
                .get(start..end)
                .and_then(|text| uuid::Uuid::parse_str(text).ok())
                .ok_or_else(|| format!("no entity id at {start}: {m}"))?;
            let new = uuid::Uuid::from_u128((cmd_id << 64) | (old.as_u128() % rows));
            m.replace_range(start..end, &new.hyphenated().to_string());
            from = end;
        }
    }
    Ok(())
}

/// What every measurement starts from.
struct Fixture {
    /// The corpus.
    messages: Vec<String>,
    /// The corpus decoded into the session's events.
    events: Vec<NetEvent>,
    /// One decoded `data` page per subscription.
    pages: Vec<NetEvent>,
}

/// Builds the corpus, its events and the pages; checks that every update lands on a row.
fn setup() -> Result<Fixture, String> {
    let mut messages = corpus(MESSAGES);
    if let Ok(rows) = std::env::var("TB_PIPELINE_ROWS") {
        let rows: u128 = rows
            .parse()
            .map_err(|e| format!("TB_PIPELINE_ROWS={rows}: {e}"))?;
        remap_entities(&mut messages, rows.max(1))?;
    }
    let events = decoded(&messages)?;
    let pages = pages(&events)?;
    let mut store = primed(&pages);
    let (rows, ..) = page_counters(&store);
    let versions_before: u64 = page_versions(&store);
    apply_all(events.clone(), &mut store);
    let (_, unknown, stale) = page_counters(&store);
    let changes = page_versions(&store) - versions_before;
    if unknown != 0 {
        return Err(format!("{unknown} update rows found no row on their page"));
    }
    eprintln!(
        "pipeline corpus: {} messages on {} subscriptions; pages hold {rows} rows; \
         applying changed rows {changes} times ({stale} stale values, {unknown} unknown rows)",
        messages.len(),
        pages.len(),
    );
    Ok(Fixture {
        messages,
        events,
        pages,
    })
}

fn page_versions(store: &Store) -> u64 {
    store
        .subs
        .values()
        .map(|d| match d {
            SubData::Entities(page) => page.version(),
            _ => 0,
        })
        .sum()
}

/// Heap bytes per point of a default `SeriesBuffer` after a million in-order points.
fn series_memory() {
    const POINTS: i64 = 1_000_000;
    let mut buffer = SeriesBuffer::default();
    for i in 0..POINTS {
        buffer.push(1_700_000_000_000 + i * 1_000, (i % 1_000) as f64 / 10.0);
    }
    eprintln!(
        "series memory: {} points in order, {} heap bytes, {:.2} bytes per point (goal < 24)",
        buffer.len(),
        buffer.heap_bytes(),
        buffer.heap_bytes() as f64 / buffer.len() as f64
    );
}

fn bench_pipeline(c: &mut Criterion) {
    series_memory();
    let Fixture {
        messages,
        events,
        pages,
    } = match setup() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("pipeline setup failed: {e}");
            std::process::exit(1);
        }
    };
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.sample_size(20);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("decode", |b| b.iter(|| decode_all(&messages)));
    group.bench_function("decode_apply", |b| {
        b.iter_batched(
            || primed(&pages),
            |mut store| {
                decode_and_apply(&messages, &mut store);
                store
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("apply", |b| {
        b.iter_batched(
            || (primed(&pages), events.clone()),
            |(mut store, events)| {
                apply_all(events, &mut store);
                store
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("apply_hot", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut store = primed(&pages);
                for chunk in events.chunks(HOT_CHUNK) {
                    let chunk = chunk.to_vec();
                    let start = Instant::now();
                    apply_all(chunk, &mut store);
                    total += start.elapsed();
                }
                drop(black_box(store));
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, bench_pipeline);

/// Builds and primes everything, then runs one pass of `mode` (see the module docs).
fn once(mode: &str) -> Result<(), String> {
    let Fixture {
        messages,
        events,
        pages,
    } = setup()?;
    let mut store = primed(&pages);
    match mode {
        "none" => {}
        "decode" => {
            let ok = decode_all(&messages);
            eprintln!("decoded {ok} of {} messages", messages.len());
        }
        "apply" => {
            for chunk in events.chunks(HOT_CHUNK) {
                apply_all(chunk.to_vec(), &mut store);
            }
            eprintln!(
                "applied {} messages in chunks of {HOT_CHUNK}",
                messages.len()
            );
        }
        "apply_cold" => {
            apply_all(events.clone(), &mut store);
            eprintln!("applied {} messages", messages.len());
        }
        other => {
            return Err(format!(
                "TB_PIPELINE_ONCE={other}: use none, decode, apply or apply_cold"
            ));
        }
    }
    // Freeing happens at exit, the same in every mode.
    std::mem::forget(events);
    std::mem::forget(black_box(store));
    Ok(())
}

fn main() {
    if let Ok(mode) = std::env::var("TB_PIPELINE_ONCE") {
        if let Err(e) = once(&mode) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Memory of 10M points across 100 series (issue 12, item 4; goal: under 24 bytes a point
//! over the empty app).
//!
//! One process, three figures per step:
//!
//! * **Live heap bytes**, exact: a counting `#[global_allocator]` around `System` adds each
//!   block's requested size on allocation and subtracts it on free (capacity included, the
//!   allocator's own headers and free lists not).
//! * **RSS** (`VmRSS` of `/proc/self/status`, Linux only; elsewhere the bench says so and
//!   reports the heap alone): what the process really holds, allocator retention included.
//!   Pages a buffer reserved but never wrote are not resident.
//! * **Peak**: the heap's high-water mark (counted) and `VmHWM`.
//!
//! The steps:
//!
//! 1. **Baseline**: an empty [`Store`], what the app holds before any plot has data.
//! 2. **Load** the way the Plots view gets points: one `ENTITY_DATA` subscription per
//!    plotted entity (ids from `PLOT_SUB_BASE`), [`ENTITIES`] entities × [`KEYS_PER_ENTITY`]
//!    keys = 100 series of [`POINTS_PER_SERIES`] points, 1 s apart. Each message is JSON
//!    text as ThingsBoard sends it, decoded by `ServerMessage::from_json`, applied by
//!    `Store::apply` and dropped (so only what the store keeps stays). A subscription's first
//!    message is its `data` page (the `tsCmd` reply shape), later ones `update`s, each with
//!    `TB_MEMORY_BATCH` points per key (default 1,000), newest first within a message as raw
//!    series come, each message newer than the last; subscriptions take turns. With
//!    `TB_MEMORY_BATCH=100000` each series arrives in one `data` page, as a 100k-point window
//!    is fetched (about 18 MB of JSON per entity).
//! 3. **Decimation caches**: `SeriesBuffer::decimate_grid` of every series over its whole
//!    range at 1,000 px (bucket width as `ui::plots` computes it), as a frame showing every
//!    point fills them.
//! 4. On glibc, **`malloc_trim(0)`** with the store still alive: the RSS it gives back is
//!    free memory the allocator kept (from the decoded messages), not data.
//! 5. **Floor**: the store dropped, 100 bare `SeriesBuffer`s of 100k in-order `push`es each
//!    (no messages, no store), counted on the heap.
//!
//! Bytes per point = (step − baseline) / 10,000,000. Prints a markdown table and
//! `RESULT name value unit` lines (as `scripts/perf/*.sh` do, read by `scripts/bench`).
//! Run with `cargo bench --bench memory` (about 3 s after the build; 6 s with
//! `TB_MEMORY_BATCH=1`, two million messages). Peak RSS about 170 MiB (210 MiB at 100000).

// A benchmark reports on the terminal; its sizes are far below f64's exact range.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss
)]

#[allow(dead_code)] // memory.rs uses only the generator of the shared module
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::Lcg;
use tb_monitor::app::plots_view::PLOT_SUB_BASE;
use tb_monitor::net::{NetEvent, SubId};
use tb_monitor::protocol::ServerMessage;
use tb_monitor::store::Store;
use tb_monitor::store::series::SeriesBuffer;

/// Plotted entities (one subscription each).
const ENTITIES: usize = 20;
/// Keys plotted per entity.
const KEYS_PER_ENTITY: usize = 5;
/// Series in all.
const SERIES: usize = ENTITIES * KEYS_PER_ENTITY;
/// Points per series.
const POINTS_PER_SERIES: usize = 100_000;
/// Points in all.
const POINTS: usize = SERIES * POINTS_PER_SERIES;
/// Points per key per message unless `TB_MEMORY_BATCH` says otherwise.
const DEFAULT_BATCH: usize = 1_000;
/// Timestamp of every series' first point; points are 1 s apart.
const T0: i64 = 1_700_000_000_000;
const STEP_MS: i64 = 1_000;
/// The plot width the decimation caches are filled for.
const PLOT_PX: i64 = 1_000;
/// The goal, bytes per point over the empty app.
const GOAL: f64 = 24.0;

/// Live heap bytes (requested sizes).
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most `LIVE` has been since the last [`reset_peak`].
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// `System`, counting live bytes.
struct Counting;

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// GlobalAlloc is an unsafe trait; every method forwards to `System` with the caller's
// arguments, so `System`'s contract is the caller's.
#[allow(unsafe_code)]
// SAFETY: forwards to `System` unchanged; the counters do not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which is `System.alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Gives the allocator's free memory back to the system (glibc); false where unavailable.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn malloc_trim() -> bool {
    #[allow(unsafe_code)]
    // SAFETY: glibc's `int malloc_trim(size_t pad)`, callable at any time; it only releases
    // free memory.
    unsafe extern "C" {
        #[link_name = "malloc_trim"]
        safe fn glibc_malloc_trim(pad: usize) -> i32;
    }
    glibc_malloc_trim(0);
    true
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn malloc_trim() -> bool {
    false
}

/// The process's memory at one moment.
#[derive(Clone, Copy)]
struct Reading {
    /// Live heap bytes.
    heap: usize,
    /// Heap high-water mark since the previous step.
    heap_peak: usize,
    /// `VmRSS` and `VmHWM` in KiB, where `/proc` has them.
    rss_kib: Option<u64>,
    hwm_kib: Option<u64>,
}

fn proc_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn read() -> Reading {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let reading = Reading {
        heap: LIVE.load(Ordering::Relaxed),
        heap_peak: PEAK.load(Ordering::Relaxed),
        rss_kib: proc_status_kib(&status, "VmRSS"),
        hwm_kib: proc_status_kib(&status, "VmHWM"),
    };
    reset_peak();
    reading
}

/// The points per key per message.
fn batch_from_env() -> Result<usize, String> {
    match std::env::var("TB_MEMORY_BATCH") {
        Err(_) => Ok(DEFAULT_BATCH),
        Ok(text) => match text.parse::<usize>() {
            Ok(n) if (1..=POINTS_PER_SERIES).contains(&n) => Ok(n),
            _ => Err(format!(
                "TB_MEMORY_BATCH={text}: want 1 to {POINTS_PER_SERIES} points per key per message"
            )),
        },
    }
}

/// The device id of plotted entity `e`.
fn entity_id(e: usize) -> String {
    format!("6d656d6f-7279-4000-8000-{e:012x}")
}

/// Appends `{"k0":[…],"k1":[…],…}`: points `from..to` of each of the entity's series,
/// newest first (raw `tsCmd` order), values like the demo's (two decimals).
fn write_timeseries(
    s: &mut String,
    from: usize,
    to: usize,
    rng: &mut Lcg,
) -> Result<(), std::fmt::Error> {
    s.push('{');
    for k in 0..KEYS_PER_ENTITY {
        if k > 0 {
            s.push(',');
        }
        write!(s, r#""key{k}":["#)?;
        for i in (from..to).rev() {
            if i + 1 < to {
                s.push(',');
            }
            let ts = T0 + i64::try_from(i).unwrap_or(i64::MAX) * STEP_MS;
            let centi = rng.below(10_000);
            write!(
                s,
                r#"{{"ts":{ts},"value":"{}.{:02}"}}"#,
                centi / 100,
                centi % 100
            )?;
        }
        s.push(']');
    }
    s.push('}');
    Ok(())
}

/// A message of entity `e`'s subscription with points `from..to` of each key: its `data`
/// page when `first`, else an `update`.
fn message_json(
    e: usize,
    first: bool,
    from: usize,
    to: usize,
    rng: &mut Lcg,
) -> Result<String, std::fmt::Error> {
    let sub = PLOT_SUB_BASE + SubId::try_from(e).map_err(|_| std::fmt::Error)?;
    let id = entity_id(e);
    let mut s = String::with_capacity((to - from) * KEYS_PER_ENTITY * 40 + 512);
    write!(s, r#"{{"cmdId":{sub},"#)?;
    let row_start = format!(r#"{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"#);
    if first {
        write!(
            s,
            r#""data":{{"data":[{row_start}"latest":{{"ENTITY_FIELD":{{"name":{{"ts":{T0},"value":"Sensor {e}"}}}}}},"timeseries":"#
        )?;
        write_timeseries(&mut s, from, to, rng)?;
        s.push_str(
            r#","aggLatest":{}}],"totalPages":1,"totalElements":1,"hasNext":false},"update":null,"#,
        );
    } else {
        write!(
            s,
            r#""data":null,"update":[{row_start}"latest":null,"timeseries":"#
        )?;
        write_timeseries(&mut s, from, to, rng)?;
        s.push_str(r#","aggLatest":null}],"#);
    }
    s.push_str(
        r#""errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#,
    );
    Ok(s)
}

/// What loading did besides the store: messages, JSON bytes, seconds.
struct Loaded {
    messages: usize,
    json_bytes: usize,
    secs: f64,
}

/// Feeds every point to `store` through `Store::apply`, one message at a time.
fn load(store: &mut Store, batch: usize) -> Result<Loaded, String> {
    let start = Instant::now();
    let mut rng = Lcg(0x6d65_6d6f);
    let mut messages = 0;
    let mut json_bytes = 0;
    let mut from = 0;
    while from < POINTS_PER_SERIES {
        let to = (from + batch).min(POINTS_PER_SERIES);
        for e in 0..ENTITIES {
            let json = message_json(e, from == 0, from, to, &mut rng).map_err(|e| e.to_string())?;
            json_bytes += json.len();
            let msg = ServerMessage::from_json(&json).map_err(|err| err.to_string())?;
            drop(json);
            let sub = msg
                .cmd_id()
                .and_then(|id| SubId::try_from(id).ok())
                .ok_or("a message without cmdId")?;
            store.apply(
                NetEvent::Message {
                    sub,
                    msg: Box::new(msg),
                },
                T0,
            );
            messages += 1;
        }
        from = to;
    }
    let stored: usize = store.series.values().map(SeriesBuffer::len).sum();
    if store.series.len() != SERIES || stored != POINTS {
        return Err(format!(
            "the store holds {} series and {stored} points, not {SERIES} and {POINTS}",
            store.series.len()
        ));
    }
    Ok(Loaded {
        messages,
        json_bytes,
        secs: start.elapsed().as_secs_f64(),
    })
}

/// Fills every series' grid decimation over its whole range at [`PLOT_PX`] pixels; returns
/// the points the plots would draw.
fn decimate_all(store: &mut Store) -> usize {
    let mut drawn = 0;
    for buffer in store.series.values_mut() {
        let Some((x_min, x_max)) = buffer.range() else {
            continue;
        };
        // As `ui::plots`: the span over the width, rounded up.
        let bucket_ms = (x_max - x_min + PLOT_PX - 1) / PLOT_PX;
        drawn += buffer.decimate_grid(x_min, x_max, bucket_ms.max(1)).len();
    }
    black_box(drawn)
}

/// 100 bare buffers of 100k in-order pushes each.
fn floor_buffers(limits: tb_monitor::store::series::SeriesLimits) -> Vec<SeriesBuffer> {
    (0..SERIES)
        .map(|s| {
            let mut buffer = SeriesBuffer::new(limits);
            for i in 0..POINTS_PER_SERIES {
                let ts = T0 + i64::try_from(i).unwrap_or(i64::MAX) * STEP_MS;
                buffer.push(ts, ((i + s) % 1_000) as f64 / 10.0);
            }
            buffer
        })
        .collect()
}

/// One row of the table: a step's reading against the baseline.
struct Row {
    step: &'static str,
    at: Reading,
    /// Points the step's delta is divided by (0: not a per-point figure).
    points: usize,
}

fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

fn kib_to_bytes(kib: u64) -> f64 {
    kib as f64 * 1024.0
}

fn print_table(base: Reading, rows: &[Row]) {
    println!(
        "| step | heap MiB | heap over baseline MiB | heap B/point | RSS MiB | RSS over baseline MiB | RSS B/point | heap peak MiB | VmHWM MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let heap_delta = r.at.heap as f64 - base.heap as f64;
        let per = |delta: f64| {
            if r.points == 0 {
                "–".to_owned()
            } else {
                format!("{:.2}", delta / r.points as f64)
            }
        };
        let rss = r.at.rss_kib.map(kib_to_bytes);
        let rss_delta = rss.zip(base.rss_kib.map(kib_to_bytes)).map(|(a, b)| a - b);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.step,
            mib(r.at.heap as f64),
            mib(heap_delta),
            per(heap_delta),
            rss.map_or("–".into(), mib),
            rss_delta.map_or("–".into(), mib),
            rss_delta.map_or("–".into(), per),
            mib(r.at.heap_peak as f64),
            r.at.hwm_kib.map_or("–".into(), |k| mib(kib_to_bytes(k))),
        );
    }
}

/// `RESULT name value unit`, as the perf scripts print them.
fn result(name: &str, value: f64, unit: &str) {
    println!("RESULT {name} {value:.2} {unit}");
}

/// Everything one run measured.
struct Measured {
    batch: usize,
    loaded: Loaded,
    /// Points the decimated plots would draw, and the seconds it took.
    drawn: usize,
    decimate_secs: f64,
    base: Reading,
    after_load: Reading,
    after_decimate: Reading,
    /// After `malloc_trim(0)` with the store alive (glibc only).
    after_trim: Option<Reading>,
    /// The store dropped, then trimmed.
    dropped: Reading,
    after_floor: Reading,
    /// `SeriesBuffer::heap_bytes` summed over the store, loaded and with caches.
    buffer_bytes: usize,
    buffer_bytes_decimated: usize,
    floor_buffer_bytes: usize,
    floor_secs: f64,
}

fn measure() -> Result<Measured, String> {
    let batch = batch_from_env()?;
    let mut store = Store::new();
    let base = read();

    eprintln!(
        "memory: loading {POINTS} points ({ENTITIES} entities x {KEYS_PER_ENTITY} keys x \
         {POINTS_PER_SERIES}), {batch} points per key per message, through \
         ServerMessage::from_json and Store::apply"
    );
    let loaded = load(&mut store, batch)?;
    let after_load = read();
    let buffer_bytes = store.series.values().map(SeriesBuffer::heap_bytes).sum();

    let t = Instant::now();
    let drawn = decimate_all(&mut store);
    let decimate_secs = t.elapsed().as_secs_f64();
    let after_decimate = read();
    let buffer_bytes_decimated = store.series.values().map(SeriesBuffer::heap_bytes).sum();

    let after_trim = malloc_trim().then(read);

    let limits = store.series_limits();
    drop(store);
    malloc_trim();
    let dropped = read();
    let t = Instant::now();
    let floor = floor_buffers(limits);
    let floor_secs = t.elapsed().as_secs_f64();
    let after_floor = read();
    let floor_buffer_bytes = floor.iter().map(SeriesBuffer::heap_bytes).sum();
    drop(black_box(floor));
    Ok(Measured {
        batch,
        loaded,
        drawn,
        decimate_secs,
        base,
        after_load,
        after_decimate,
        after_trim,
        dropped,
        after_floor,
        buffer_bytes,
        buffer_bytes_decimated,
        floor_buffer_bytes,
        floor_secs,
    })
}

/// Bytes per point of `at` over `base`: heap, and RSS where known.
fn per_point(at: Reading, base: Reading) -> (f64, Option<f64>) {
    let heap = (at.heap as f64 - base.heap as f64) / POINTS as f64;
    let rss = at
        .rss_kib
        .zip(base.rss_kib)
        .map(|(a, b)| (kib_to_bytes(a) - kib_to_bytes(b)) / POINTS as f64);
    (heap, rss)
}

fn report(m: &Measured) {
    let Measured { batch, base, .. } = *m;
    let rss_note = if base.rss_kib.is_none() {
        "RSS: skipped (needs Linux /proc/self/status); heap figures only"
    } else {
        "RSS: VmRSS of /proc/self/status"
    };
    println!();
    println!(
        "Memory of {POINTS} points across {SERIES} series ({ENTITIES} plot subscriptions x \
         {KEYS_PER_ENTITY} keys), {batch} points per key per message: {} messages, {} MB of JSON, \
         loaded in {:.1} s; decimation of every series at {PLOT_PX} px: {} points drawn, {:.2} s. \
         {rss_note}.",
        m.loaded.messages,
        m.loaded.json_bytes / 1_000_000,
        m.loaded.secs,
        m.drawn,
        m.decimate_secs,
    );
    println!();
    let mut rows = vec![
        Row {
            step: "baseline: empty Store",
            at: base,
            points: 0,
        },
        Row {
            step: "10M points loaded",
            at: m.after_load,
            points: POINTS,
        },
        Row {
            step: "+ decimation caches filled",
            at: m.after_decimate,
            points: POINTS,
        },
    ];
    if let Some(at) = m.after_trim {
        rows.push(Row {
            step: "+ malloc_trim(0), store alive",
            at,
            points: POINTS,
        });
    }
    rows.push(Row {
        step: "store dropped (and trimmed)",
        at: m.dropped,
        points: 0,
    });
    print_table(base, &rows);

    println!();
    let overhead = m.after_load.heap as f64 - base.heap as f64 - m.buffer_bytes as f64;
    println!(
        "SeriesBuffer::heap_bytes over the store's {SERIES} series: {:.2} B/point loaded, {:.2} \
         with decimation caches. The rest of the heap delta, {:.0} bytes per series, is the \
         store's per-series and per-subscription overhead (map entries with the {}-byte \
         SeriesBuffer struct and the key, the entity pages).",
        m.buffer_bytes as f64 / POINTS as f64,
        m.buffer_bytes_decimated as f64 / POINTS as f64,
        overhead / SERIES as f64,
        std::mem::size_of::<SeriesBuffer>(),
    );
    let (floor_heap, floor_rss) = per_point(m.after_floor, m.dropped);
    println!(
        "Floor, {SERIES} bare SeriesBuffers x {POINTS_PER_SERIES} in-order pushes ({:.2} s): \
         heap {floor_heap:.2} B/point, SeriesBuffer::heap_bytes {:.2} B/point{}.",
        m.floor_secs,
        m.floor_buffer_bytes as f64 / POINTS as f64,
        floor_rss.map_or(String::new(), |r| format!(
            ", RSS {r:.2} B/point (after the store's memory was trimmed)"
        )),
    );

    let (heap, rss) = per_point(m.after_load, base);
    let (heap_dec, rss_dec) = per_point(m.after_decimate, base);
    println!();
    println!(
        "memory: 10M points across 100 series: {heap:.2} heap bytes per point over the empty \
         store (goal < {GOAL}), {heap_dec:.2} with decimation caches"
    );
    if let Some(rss) = rss {
        println!(
            "memory: 10M points across 100 series: {rss:.2} RSS bytes per point over the empty \
             store (goal < {GOAL})"
        );
    }
    result("mem_10m_heap_bytes_per_point", heap, "B/point");
    result(
        "mem_10m_heap_bytes_per_point_decimated",
        heap_dec,
        "B/point",
    );
    if let Some(rss) = rss {
        result("mem_10m_rss_bytes_per_point", rss, "B/point");
    }
    if let Some(rss) = rss_dec {
        result("mem_10m_rss_bytes_per_point_decimated", rss, "B/point");
    }
    if let Some(rss) = m.after_trim.and_then(|at| per_point(at, base).1) {
        result("mem_10m_rss_bytes_per_point_trimmed", rss, "B/point");
    }
    if let Some(hwm) = m.after_floor.hwm_kib {
        result("mem_10m_peak_rss", hwm as f64, "KiB");
    }
    result("mem_floor_heap_bytes_per_point", floor_heap, "B/point");
}

fn main() {
    // `cargo bench` passes `--bench`; nothing here takes arguments.
    match measure() {
        Ok(m) => report(&m),
        Err(e) => {
            eprintln!("memory bench: {e}");
            std::process::exit(1);
        }
    }
}

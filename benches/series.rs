//! `SeriesBuffer` costs: appending a million points in order, inserting out of order (near
//! the newest end, as late live points land, and in the middle, as a worst case), merging a
//! newest-first wire batch, decimating a million points to 1000 buckets with and without
//! the cache, and one frame of a plot that follows live data (`follow`): `decimate_grid`
//! against `decimate` (a rescan of every visible point each frame).
//!
//! Run with `cargo bench --bench series` (`-- follow` for the frames only). Memory per
//! stored point is printed once at start.

// A benchmark reports on the terminal; its sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

use std::f64::consts::TAU;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[allow(dead_code)] // series.rs uses only the generator of the shared corpus module
mod common;

use common::Lcg;
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use tb_monitor::protocol::{TbValue, TsValue};
use tb_monitor::store::series::{SeriesBuffer, SeriesLimits};

const MILLION: usize = 1_000_000;
/// Start of the generated data, epoch milliseconds.
const T0: i64 = 1_700_000_000_000;
/// Spacing of the generated points: inserts go between them.
const STEP: i64 = 1_000;

fn ts_of(i: usize) -> i64 {
    T0 + i64::try_from(i).unwrap_or(i64::MAX / STEP) * STEP
}

/// `count` points, `STEP` ms apart, random values.
fn data(count: usize) -> Vec<(i64, f64)> {
    let mut rng = Lcg(0x5e_51e5);
    (0..count)
        .map(|i| (ts_of(i), rng.below(100_000) as f64 / 100.0))
        .collect()
}

fn filled(points: &[(i64, f64)]) -> SeriesBuffer {
    let mut buf = SeriesBuffer::new(SeriesLimits {
        max_points: 4 * MILLION,
        max_age_ms: i64::MAX,
    });
    for &(ts, v) in points {
        buf.push(ts, v);
    }
    buf
}

fn bench_push(c: &mut Criterion, points: &[(i64, f64)]) {
    let mut group = c.benchmark_group("series_push");
    group.throughput(Throughput::Elements(points.len() as u64));
    group.sample_size(10);
    group.bench_function("in_order_1M", |b| {
        b.iter(|| {
            let mut buf = SeriesBuffer::default();
            for &(ts, v) in points {
                buf.push(black_box(ts), black_box(v));
            }
            buf.len()
        });
    });
    group.finish();
}

/// Each timed insert goes to a fresh timestamp between two stored points, `back` points from
/// the newest end; the buffer is rebuilt (untimed) every 100,000 inserts.
fn insert_cost(base: &SeriesBuffer, iters: u64, back: impl Fn(u64) -> usize) -> Duration {
    let len = base.len();
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let mut buf = base.clone();
        let chunk = (iters - done).min(100_000);
        let start = Instant::now();
        for k in done..done + chunk {
            let gap = back(k).min(len - 2);
            // Slot 1..=999 between two stored points: distinct for up to 999 rounds per gap.
            let slot = 1 + i64::try_from(k / 1_000 % 999).unwrap_or(0);
            let ts = ts_of(len - 2 - gap) + slot;
            black_box(buf.push(ts, 1.0));
        }
        total += start.elapsed();
        done += chunk;
    }
    total
}

fn bench_insert(c: &mut Criterion, base: &SeriesBuffer) {
    let mut group = c.benchmark_group("series_insert_out_of_order_1M");
    group.throughput(Throughput::Elements(1));
    group.bench_function("within_last_1000", |b| {
        b.iter_custom(|iters| {
            insert_cost(base, iters, |k| usize::try_from(k % 1_000).unwrap_or(0))
        });
    });
    group.bench_function("middle", |b| {
        b.iter_custom(|iters| {
            insert_cost(base, iters, |k| {
                base.len() / 2 + usize::try_from(k % 1_000).unwrap_or(0)
            })
        });
    });
    group.finish();
}

fn bench_wire(c: &mut Criterion, base: &SeriesBuffer) {
    // A reconnect backfill: the newest 10,000 points again, newest first, half of them new.
    let len = base.len();
    let batch: Vec<TsValue> = (0..10_000)
        .rev()
        .map(|i| {
            let ts = ts_of(len - 5_000) + i64::from(i) * STEP / 2;
            TsValue::new(ts, TbValue::from_f64(f64::from(i) / 7.0))
        })
        .collect();
    let mut group = c.benchmark_group("series_extend_from_wire");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.sample_size(20);
    group.bench_function("backfill_10k_newest_first_into_1M", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |buf| buf.extend_from_wire(black_box(&batch)),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn bench_decimate(c: &mut Criterion, base: &SeriesBuffer) {
    let (first, last) = base.range().unwrap_or((0, 0));
    let mut buf = base.clone();
    let out = buf.decimate(first, last, 1_000);
    eprintln!(
        "decimate: {} points -> {} points in {} segment(s)",
        base.len(),
        out.len(),
        out.segment_count()
    );
    let mut group = c.benchmark_group("series_decimate_1M_to_1000");
    group.throughput(Throughput::Elements(base.len() as u64));
    group.bench_function("uncached", |b| {
        let mut flip = 0;
        b.iter(|| {
            // Alternate between two ranges that both cover every point: each call rescans.
            flip ^= 1;
            buf.decimate(first, last + flip, 1_000).len()
        });
    });
    let mut broken = base.clone();
    broken.set_max_step_ms(Some(10 * STEP));
    for k in 0..100 {
        let from = ts_of(k * 9_973 + 17) + 1;
        broken.mark_gap(from, from + 5 * STEP);
    }
    group.bench_function("uncached_100_gaps_and_max_step", |b| {
        let mut flip = 0;
        b.iter(|| {
            flip ^= 1;
            broken.decimate(first, last + flip, 1_000).len()
        });
    });
    let scans = buf.decimations();
    group.bench_function("cached", |b| {
        b.iter(|| buf.decimate(black_box(first), black_box(last), 1_000).len());
    });
    group.finish();
    eprintln!(
        "decimate cached: {} rescan(s) during the cached run (the first call may miss once)",
        buf.decimations().saturating_sub(scans)
    );
}

/// Length of one frame at 60 frames/s, ms.
const FRAME_MS: i64 = 16;
/// Plot width in pixels: buckets per view.
const PIXELS: i64 = 1_600;
/// Spacing of the history points of the follow scenarios, ms.
const HISTORY_STEP: i64 = 10;
/// Frames timed on one copy of the scenario before it is rebuilt (untimed), so the data
/// stays as generated: 16 s of live points.
const FRAMES_PER_COPY: u64 = 1_000;

/// A sensor-like reading at `ts`: a slow wave plus noise.
fn reading(rng: &mut Lcg, ts: i64) -> f64 {
    let phase = (ts - T0) as f64 / 600_000.0 * TAU;
    20.0 + 5.0 * phase.sin() + rng.below(1_000) as f64 / 250.0
}

/// The Plots view in "follow live" mode: `series` buffers of history, one point every
/// `HISTORY_STEP` ms, and live points arriving at 1,000 points/s in all (one a
/// millisecond, dealt to the series in turn); each frame the view, as wide as the history,
/// slides to the wall clock.
#[derive(Clone)]
struct Follow {
    buffers: Vec<SeriesBuffer>,
    rng_state: u64,
    /// The wall clock: the right edge of the view.
    now: i64,
    /// Number of the next live point; it arrives at `live_t0 + number` ms.
    next_live: i64,
    live_t0: i64,
    span: i64,
    bucket_ms: i64,
}

impl Follow {
    fn new(series: usize, per_series: usize) -> Self {
        let mut rng = Lcg(0xf0_11_0e);
        let count = i64::try_from(per_series).unwrap_or(i64::MAX);
        let span = count * HISTORY_STEP;
        let buffers = (0..series)
            .map(|_| {
                let mut buf = SeriesBuffer::new(SeriesLimits {
                    max_points: 4 * MILLION,
                    max_age_ms: i64::MAX,
                });
                for i in 0..count {
                    let ts = T0 + i * HISTORY_STEP;
                    buf.push(ts, reading(&mut rng, ts));
                }
                buf
            })
            .collect();
        let now = T0 + span;
        Self {
            buffers,
            rng_state: rng.0,
            now,
            next_live: 0,
            live_t0: now + 1,
            span,
            bucket_ms: (span / PIXELS).max(1),
        }
    }

    /// One frame: the live points of the last 16 ms arrive, the view slides by 16 ms, every
    /// series is decimated for it. Returns the points to draw.
    fn frame(&mut self, grid: bool) -> usize {
        self.now += FRAME_MS;
        let mut rng = Lcg(self.rng_state);
        let series = self.buffers.len() as u64;
        while self.live_t0 + self.next_live <= self.now {
            let ts = self.live_t0 + self.next_live;
            let k = u64::try_from(self.next_live).unwrap_or(0) % series;
            if let Some(buf) = self.buffers.get_mut(usize::try_from(k).unwrap_or(0)) {
                buf.push(ts, reading(&mut rng, ts));
            }
            self.next_live += 1;
        }
        self.rng_state = rng.0;
        let (x_min, x_max) = (self.now - self.span, self.now);
        let buckets = usize::try_from(PIXELS).unwrap_or(1);
        self.buffers
            .iter_mut()
            .map(|buf| {
                if grid {
                    buf.decimate_grid(x_min, x_max, self.bucket_ms).len()
                } else {
                    buf.decimate(x_min, x_max, buckets).len()
                }
            })
            .sum()
    }
}

/// Times `iters` frames; every `FRAMES_PER_COPY` frames the scenario starts again from
/// `base`, its first frame (which fills the caches) untimed.
fn follow_cost(base: &Follow, iters: u64, grid: bool) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let mut state = base.clone();
        state.frame(grid);
        let chunk = (iters - done).min(FRAMES_PER_COPY);
        let start = Instant::now();
        for _ in 0..chunk {
            black_box(state.frame(grid));
        }
        total += start.elapsed();
        done += chunk;
    }
    total
}

fn bench_follow(c: &mut Criterion) {
    let mut group = c.benchmark_group("series_follow_frame");
    group.sample_size(20);
    for (name, series, per_series) in [("1x1M", 1, MILLION), ("20x100k", 20, MILLION / 10)] {
        let base = Follow::new(series, per_series);
        let mut probe = base.clone();
        probe.frame(true);
        let drawn = probe.frame(true);
        let scanned: usize = probe.buffers.iter().map(SeriesBuffer::grid_scanned).sum();
        eprintln!(
            "follow {name}: {} buckets of {} ms a series, {drawn} points drawn a frame, \
             {scanned} points read by decimate_grid in a frame",
            PIXELS, base.bucket_ms
        );
        group.bench_function(format!("{name}/decimate_grid"), |b| {
            b.iter_custom(|iters| follow_cost(&base, iters, true));
        });
        group.bench_function(format!("{name}/decimate"), |b| {
            b.iter_custom(|iters| follow_cost(&base, iters, false));
        });
    }
    group.finish();
}

fn bench_series(c: &mut Criterion) {
    bench_follow(c);
    let points = data(MILLION);
    let base = filled(&points);
    let mut default = SeriesBuffer::default();
    for &(ts, v) in &points {
        default.push(ts, v);
    }
    eprintln!(
        "memory: {} points, {} heap bytes, {:.2} bytes per point",
        default.len(),
        default.heap_bytes(),
        default.heap_bytes() as f64 / default.len() as f64
    );
    drop(default);
    bench_push(c, &points);
    bench_insert(c, &base);
    bench_wire(c, &base);
    bench_decimate(c, &base);
}

criterion_group!(benches, bench_series);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Frame cost of the Plots view's plot widget (`ui::plots::plot_ui`), headless: egui
//! `Context::run_ui` with a `CentralPanel` holding one plot on a 1280×800 screen at 1.0
//! pixels per point, then `Context::tessellate` (no GPU, no window), as in the baselines
//! of `toolchain.md` §6.
//!
//! The data: `SeriesBuffer`s filled with points 10 ms apart (a noisy random walk) ending at
//! `T0`. The time window is the history's span plus a quarter, so every stored point stays
//! visible while the view follows a live stream for the whole run (the bench prints the
//! visible share at the end of each case). One frame at 60 frames/s is: store the 16 points
//! of 16 ms of a 1,000 points/s stream (round-robin over the series, timestamps increasing),
//! move "now" 16 ms on, draw, tessellate. The context, buffers and plot state live across
//! frames, as in the app; the pointer is not over the plot.
//!
//! * `follow/1x1M`, `follow/20x100k`: the view follows the stream (`x_range` forced to
//!   `(now - window, now)` every frame). The goal: 20×100k under 4 ms, 1×1M under 1 ms.
//! * `static/20x100k`, `static/1x1M`: nothing changes between frames (cache hits).
//! * `paused/20x100k`: the user's zoom is kept (`x_range` `None` after the first frame)
//!   while points still stream in.
//! * `anchor_plain_egui_plot/20x100k`, `/1x1M`: the same frames as `follow`, drawn the plain
//!   way: every point handed to `egui_plot` as a borrowed `&[PlotPoint]` `Line` (its default
//!   band aggregation on). The baseline the issue compares against.
//!
//! The bench measures `plot_ui` as it is, whichever decimation it calls. Before each case it
//! prints shapes and tessellated vertices per frame and the median split of a few frames
//! (stream, `run_ui`, tessellate); for our cases also how many points `SeriesBuffer::decimate`
//! and `decimate_grid` reduce the visible points to at the plot's width (computed on copies,
//! for reference). At the end it prints the medians side by side with the ratio ours/anchor.
//!
//! Run with `cargo bench --bench plots` (about two minutes; the anchors are slow, so every
//! group takes 10 samples over 3 s).

// A benchmark reports on the terminal; its sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

#[allow(dead_code)] // plots.rs uses only the generator and the frame of the shared module
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use egui::Vec2b;
use egui_plot::{Line, Plot, PlotPoint, PlotPoints};
use tb_monitor::plot::layout::{PALETTE, SeriesSpec};
use tb_monitor::plot::window::Zone;
use tb_monitor::protocol::EntityId;
use tb_monitor::store::series::SeriesBuffer;
use tb_monitor::ui::plots::{PlotInput, PlotSeries, plot_ui};
use tb_monitor::ui::theme;

use common::Lcg;
use common::frame::{self, FrameStats, Medians, ms};

/// The newest stored point at the start (epoch ms).
const T0: i64 = 1_700_000_000_000;
/// Spacing of the stored history.
const HISTORY_STEP_MS: i64 = 10;
/// One frame at 60 frames/s.
const FRAME_MS: i64 = 16;
/// The same, as the time between two frames.
const FRAME: Duration = Duration::from_millis(FRAME_MS.unsigned_abs());
/// Points arriving per frame: 16 ms of a 1,000 points/s stream, one per millisecond.
const POINTS_PER_FRAME: i64 = 16;
/// Frames whose split (stream, `run_ui`, tessellate) is printed; their median also goes to
/// the summary.
const BREAKDOWN_FRAMES: usize = 60;
/// Frames drawn before anything is measured (the first one decimates everything).
const WARM_UP_FRAMES: usize = 5;

/// What the frames do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Stream, follow: `x_range` forced to the window ending now.
    Follow,
    /// Nothing changes: the same forced range, no new points.
    Static,
    /// Stream, the user's zoom kept: `x_range` `None` after the first frame.
    Paused,
    /// As `Follow`, drawn with plain `egui_plot` lines of every point.
    Anchor,
}

/// The series' points: our buffers, or the plain point lists of the anchor.
enum Data {
    Ours(Vec<SeriesBuffer>),
    Anchor(Vec<Vec<PlotPoint>>),
}

impl Data {
    fn push(&mut self, series: usize, ts: i64, value: f64) {
        match self {
            Data::Ours(buffers) => {
                if let Some(buffer) = buffers.get_mut(series) {
                    buffer.push(ts, value);
                }
            }
            Data::Anchor(lists) => {
                if let Some(list) = lists.get_mut(series) {
                    list.push(PlotPoint::new(ts as f64, value));
                }
            }
        }
    }

    /// Stored points, and how many of them lie in `[x_min, x_max]`.
    fn visible(&self, x_min: i64, x_max: i64) -> (usize, usize) {
        match self {
            Data::Ours(buffers) => buffers.iter().fold((0, 0), |(all, shown), b| {
                (all + b.len(), shown + b.points_in(x_min, x_max).count())
            }),
            Data::Anchor(lists) => lists.iter().flatten().fold((0, 0), |(all, shown), p| {
                let inside = (x_min as f64..=x_max as f64).contains(&p.x);
                (all + 1, shown + usize::from(inside))
            }),
        }
    }
}

/// A noisy signal per series: a slow random walk plus measurement noise.
struct Signal {
    rng: Lcg,
    walk: Vec<f64>,
}

impl Signal {
    fn next(&mut self, series: usize) -> f64 {
        let mut uniform = || self.rng.below(1_000_001) as f64 / 1e6 - 0.5;
        let (step, noise) = (uniform(), uniform());
        let Some(walk) = self.walk.get_mut(series) else {
            return 0.0;
        };
        *walk = (*walk + step * 0.05) * 0.999_9;
        20.0 + 2.0 * series as f64 + *walk + 0.3 * noise
    }
}

/// One plot and its data, frame after frame.
struct Scenario {
    ctx: egui::Context,
    specs: Vec<SeriesSpec>,
    data: Data,
    signal: Signal,
    zone: Zone,
    mode: Mode,
    /// The newest timestamp streamed (the right end of a following view).
    now: i64,
    window: i64,
    /// The last forced range (when paused, the one the user's view kept).
    shown: (i64, i64),
    frame: u64,
    next_series: usize,
    /// The plot's width on screen (pixels), from the last frame.
    plot_width: f32,
}

impl Scenario {
    fn new(series: usize, points: i64, mode: Mode) -> Self {
        let mut signal = Signal {
            rng: Lcg(0x9107),
            walk: vec![0.0; series],
        };
        let specs: Vec<SeriesSpec> = (0..series)
            .map(|i| {
                let entity = EntityId::device(uuid::Uuid::from_u64_pair(0, i as u64));
                let color = PALETTE.get(i % PALETTE.len()).copied().unwrap_or_default();
                SeriesSpec::new(entity, &format!("Sensor {i}"), "temperature", color)
            })
            .collect();
        let mut data = if mode == Mode::Anchor {
            Data::Anchor(vec![Vec::new(); series])
        } else {
            Data::Ours(vec![SeriesBuffer::default(); series])
        };
        for s in 0..series {
            for i in 0..points {
                let value = signal.next(s);
                data.push(s, T0 - (points - 1 - i) * HISTORY_STEP_MS, value);
            }
        }
        let span = (points - 1) * HISTORY_STEP_MS;
        let mut scenario = Self {
            ctx: egui::Context::default(),
            specs,
            data,
            signal,
            zone: Zone::utc(),
            mode,
            now: T0,
            window: span + span / 4,
            shown: (T0, T0),
            frame: 0,
            next_series: 0,
            plot_width: 0.0,
        };
        for _ in 0..WARM_UP_FRAMES {
            scenario.run_frame();
        }
        scenario
    }

    /// Stores the points that arrived since the last frame and moves "now" on.
    fn stream(&mut self) {
        for k in 1..=POINTS_PER_FRAME {
            let series = self.next_series;
            self.next_series = (series + 1) % self.specs.len().max(1);
            let value = self.signal.next(series);
            self.data.push(series, self.now + k, value);
        }
        self.now += FRAME_MS;
    }

    /// One frame: stream, draw, tessellate.
    fn run_frame(&mut self) -> FrameStats {
        let start = Instant::now();
        if self.mode != Mode::Static {
            self.stream();
        }
        let streamed = Instant::now();
        let x_range = (self.mode != Mode::Paused || self.frame == 0)
            .then_some((self.now - self.window, self.now));
        if let Some(range) = x_range {
            self.shown = range;
        }
        let number = self.frame;
        self.frame += 1;
        let Self {
            ctx,
            specs,
            data,
            zone,
            plot_width,
            ..
        } = self;
        let stats = frame::draw(ctx, number, FRAME, |ui| match data {
            Data::Ours(buffers) => {
                let mut series: Vec<PlotSeries<'_>> = specs
                    .iter()
                    .zip(buffers.iter_mut())
                    .map(|(spec, buffer)| PlotSeries {
                        spec,
                        buffer: Some(buffer),
                    })
                    .collect();
                let input = PlotInput {
                    id: ui.scope_id().with("plot"),
                    link: ui.scope_id().with("link"),
                    x_range,
                    gaps: &[],
                    zone,
                    height: ui.available_height(),
                };
                let out = plot_ui(ui, &input, &mut series);
                *plot_width = out.rect.width();
                black_box(out);
            }
            Data::Anchor(lists) => {
                *plot_width = anchor_ui(ui, specs, lists, x_range);
            }
        });
        FrameStats {
            data: streamed - start,
            ..stats
        }
    }

    /// Points each decimation reduces the visible ones to at the plot's width (one bucket
    /// per pixel column), computed on copies so the widget's caches stay as they are.
    fn reference_decimation(&self) -> Option<(usize, usize)> {
        let Data::Ours(buffers) = &self.data else {
            return None;
        };
        // A width of at most a few thousand pixels.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let buckets = self.plot_width.round().max(1.0) as usize;
        let (x_min, x_max) = self.shown;
        let bucket_ms = (self.window / i64::try_from(buckets).unwrap_or(1)).max(1);
        Some(buffers.iter().fold((0, 0), |(minmax, grid), buffer| {
            let mut copy = buffer.clone();
            let minmax = minmax + copy.decimate(x_min, x_max, buckets).len();
            (
                minmax,
                grid + copy.decimate_grid(x_min, x_max, bucket_ms).len(),
            )
        }))
    }
}

/// The anchor: plain `egui_plot`, every point of every series as one borrowed `Line`.
fn anchor_ui(
    ui: &mut egui::Ui,
    specs: &[SeriesSpec],
    lists: &[Vec<PlotPoint>],
    x_range: Option<(i64, i64)>,
) -> f32 {
    let response = Plot::new("anchor")
        .height(ui.available_height())
        .show(ui, |plot_ui| {
            if let Some((a, b)) = x_range {
                plot_ui.set_plot_bounds_x(a as f64..=b as f64);
                plot_ui.set_auto_bounds(Vec2b::new(false, true));
            }
            for (spec, points) in specs.iter().zip(lists) {
                plot_ui.line(
                    Line::new(spec.label(), PlotPoints::from(points.as_slice()))
                        .color(theme::series(spec.color))
                        .width(1.5),
                );
            }
        });
    response.response.rect.width()
}

/// Prints what a frame draws and where its time goes, benches the frame, and returns the
/// median frame time of the printed frames.
fn bench_case(c: &mut Criterion, group: &str, name: &str, mut scenario: Scenario) -> Duration {
    let frames: Vec<FrameStats> = (0..BREAKDOWN_FRAMES)
        .map(|_| scenario.run_frame())
        .collect();
    let last = frames.last().copied().unwrap_or_default();
    let medians = Medians::of(&frames);
    let reference = scenario
        .reference_decimation()
        .map(|(minmax, grid)| {
            format!("; for reference: decimate {minmax} points, decimate_grid {grid} points")
        })
        .unwrap_or_default();
    eprintln!(
        "{group}/{name}: {} shapes, {} vertices{reference}; median of {BREAKDOWN_FRAMES} \
         frames {}",
        last.shapes,
        last.vertices,
        medians.split("stream"),
    );
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(scenario.run_frame());
            }
            start.elapsed()
        });
    });
    g.finish();
    let (x_min, x_max) = scenario.shown;
    let (all, shown) = scenario.data.visible(x_min, x_max);
    eprintln!(
        "{group}/{name}: after {} frames, {shown} of {all} stored points in the range shown",
        scenario.frame
    );
    medians.total
}

fn bench_plots(c: &mut Criterion) {
    const CASES: [(&str, usize, i64); 2] = [("20x100k", 20, 100_000), ("1x1M", 1, 1_000_000)];
    let mut summary = Vec::new();
    for (name, series, points) in CASES {
        let follow = bench_case(
            c,
            "follow",
            name,
            Scenario::new(series, points, Mode::Follow),
        );
        let anchor = bench_case(
            c,
            "anchor_plain_egui_plot",
            name,
            Scenario::new(series, points, Mode::Anchor),
        );
        let fixed = bench_case(
            c,
            "static",
            name,
            Scenario::new(series, points, Mode::Static),
        );
        summary.push((name, "follow", follow, anchor));
        summary.push((name, "static", fixed, anchor));
        if series > 1 {
            let paused = bench_case(
                c,
                "paused",
                name,
                Scenario::new(series, points, Mode::Paused),
            );
            summary.push((name, "paused", paused, anchor));
        }
    }
    eprintln!("median frame (ms) of {BREAKDOWN_FRAMES} frames | ours | anchor | ours/anchor");
    for (name, case, ours, anchor) in summary {
        eprintln!(
            "{case}/{name} | {:.3} | {:.2} | {:.3}",
            ms(ours),
            ms(anchor),
            ours.as_secs_f64() / anchor.as_secs_f64().max(f64::MIN_POSITIVE)
        );
    }
}

criterion_group!(benches, bench_plots);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}

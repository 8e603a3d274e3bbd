//! Frame time of the live entity table (issue 6): 10,000 rows and 10 columns while 1,000
//! values/s stream in, headless (egui `Context::run_ui` and `tessellate`, no GPU, no window).
//!
//! One frame is what the app does at 60 frames/s: apply the values that arrived since the
//! last frame through `Store::apply` (16 or 17 `ENTITY_DATA` updates of one value each),
//! draw `EntitiesPanel` inside a `CentralPanel` on a 1280×800 screen, and tessellate its
//! shapes. Building and decoding the updates (the network thread's work) is not timed. The
//! panel, the store and the egui context live across frames, as in the app; the clock moves
//! 1/60 s per frame.
//!
//! * `frame/empty`: a `CentralPanel` with nothing in it (egui's floor).
//! * `frame/rows_100_stream`, `frame/rows_10000_stream`: values for random entities of the
//!   page (most land outside the view, as with a real page).
//! * `frame/rows_10000_stream_visible`: every value lands on a visible row (a highlight
//!   fading in every frame; the worst case for drawing).
//! * `frame/rows_100_idle`, `frame/rows_10000_idle`: nothing arrives.
//! * `frame/rows_10000_stream_accesskit`: as `rows_10000_stream` with the accessibility
//!   tree built (a screen reader, or the kittest harness).
//!
//! Run with `cargo bench --bench table -- --warm-up-time 1 --measurement-time 3`. Before
//! each scenario the bench prints its shapes and tessellated vertices per frame and where
//! the time of 300 frames went (apply, `run_ui`, tessellate).

// A benchmark reports on the terminal; its sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

#[allow(dead_code)] // table.rs uses only the generator and the frame of the shared module
mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use tb_monitor::net::{NetEvent, SubId};
use tb_monitor::protocol::{AlarmSeverity, EntityId, EntityKey, EntityKeyType, ServerMessage};
use tb_monitor::store::{Store, SubData};
use tb_monitor::ui::entities::EntitiesPanel;

use common::Lcg;
use common::frame::{self, FrameStats};

const SUB: SubId = 1;
/// Wall clock of the first frame (epoch ms).
const T0: i64 = 1_700_000_000_000;
/// Frames per second the app draws at while values stream in.
const FPS: u64 = 60;
/// The time between two frames.
const FRAME: Duration = Duration::from_nanos(1_000_000_000 / FPS);
/// Values arriving per second.
const VALUES_PER_SECOND: u64 = 1_000;
/// The time series columns (with name, type and firmware: 10 columns).
const SERIES: [&str; 7] = [
    "temperature",
    "humidity",
    "pressure",
    "batteryLevel",
    "rssi",
    "co2",
    "voltage",
];
/// Rows that fit the 800-point screen (about 36); "visible" updates go to these.
const VISIBLE_ROWS: u64 = 30;

fn uuid_of(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn message(json: &str) -> NetEvent {
    let msg = ServerMessage::from_json(json).unwrap_or_else(|e| panic!("bench message: {e}"));
    NetEvent::Message {
        sub: SUB,
        msg: Box::new(msg),
    }
}

/// The `data` page: `rows` devices with name, type, firmware and the seven series.
fn data_page(rows: u64) -> NetEvent {
    let mut data = String::new();
    let mut rng = Lcg(7);
    for n in 0..rows {
        if n > 0 {
            data.push(',');
        }
        let mut series = String::new();
        for (i, key) in SERIES.iter().enumerate() {
            if i > 0 {
                series.push(',');
            }
            let value = rng.below(100_000) as f64 / 100.0;
            write!(
                series,
                r#""{key}":{{"ts":{},"value":"{value}"}}"#,
                T0 - 5_000
            )
            .ok();
        }
        write!(
            data,
            r#"{{"entityId":{{"entityType":"DEVICE","id":"{}"}},"latest":{{"ENTITY_FIELD":{{"name":{{"ts":0,"value":"Thermostat T-{n:05}"}},"type":{{"ts":0,"value":"thermostat"}}}},"SERVER_ATTRIBUTE":{{"firmware":{{"ts":{},"value":"v1.4.2"}}}},"TIME_SERIES":{{{series}}}}},"timeseries":{{}}}}"#,
            uuid_of(n),
            T0 - 86_400_000,
        )
        .ok();
    }
    message(&format!(
        r#"{{"cmdId":1,"data":{{"data":[{data}],"totalPages":1,"totalElements":{rows},"hasNext":false}},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#
    ))
}

/// One live value, as ThingsBoard sends it (one entity per update message).
fn update(entity: u64, key: &str, ts: i64, value: f64) -> NetEvent {
    message(&format!(
        r#"{{"cmdId":1,"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{}"}},"latest":{{"TIME_SERIES":{{"{key}":{{"ts":{ts},"value":"{value:.2}"}}}}}},"timeseries":null,"aggLatest":null}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
        uuid_of(entity)
    ))
}

fn columns() -> Vec<EntityKey> {
    let mut columns = vec![
        EntityKey::new(EntityKeyType::EntityField, "name"),
        EntityKey::new(EntityKeyType::EntityField, "type"),
        EntityKey::new(EntityKeyType::ServerAttribute, "firmware"),
    ];
    columns.extend(
        SERIES
            .iter()
            .map(|k| EntityKey::new(EntityKeyType::TimeSeries, *k)),
    );
    columns
}

/// Every seventh entity has an active alarm, severities in turn.
fn alarms(rows: u64) -> HashMap<EntityId, AlarmSeverity> {
    let severities = [
        AlarmSeverity::Critical,
        AlarmSeverity::Major,
        AlarmSeverity::Minor,
        AlarmSeverity::Warning,
    ];
    (0..rows)
        .step_by(7)
        .zip(severities.iter().cycle())
        .filter_map(|(n, s)| {
            let id = uuid::Uuid::parse_str(&uuid_of(n)).ok()?;
            Some((EntityId::device(id), s.clone()))
        })
        .collect()
}

/// Which entities the streamed values go to.
#[derive(Clone, Copy)]
enum Stream {
    None,
    Random,
    Visible,
}

/// The app's side of the table, frame after frame.
struct Scenario {
    ctx: egui::Context,
    store: Store,
    panel: EntitiesPanel,
    columns: Vec<EntityKey>,
    alarms: HashMap<EntityId, AlarmSeverity>,
    rows: u64,
    stream: Stream,
    rng: Lcg,
    frame: u64,
    /// Draw nothing (the egui floor).
    empty: bool,
}

impl Scenario {
    fn new(rows: u64, stream: Stream, empty: bool, accesskit: bool) -> Self {
        let ctx = egui::Context::default();
        if accesskit {
            ctx.enable_accesskit();
        }
        let mut store = Store::new();
        if !empty {
            store.apply(data_page(rows), T0);
        }
        let mut scenario = Self {
            ctx,
            store,
            panel: EntitiesPanel::default(),
            columns: columns(),
            alarms: alarms(rows),
            rows,
            stream,
            rng: Lcg(42),
            frame: 0,
            empty,
        };
        // Fonts, the galley cache and the panel's layout cache warm up.
        for _ in 0..10 {
            let events = scenario.next_events();
            scenario.run_frame(events);
        }
        scenario
    }

    fn now_ms(&self) -> i64 {
        T0 + i64::try_from(self.frame * 1000 / FPS).unwrap_or(i64::MAX)
    }

    /// The values that arrive before the next frame (16 or 17 at 1,000/s and 60 frames/s).
    fn next_events(&mut self) -> Vec<NetEvent> {
        let due = (self.frame + 1) * VALUES_PER_SECOND / FPS - self.frame * VALUES_PER_SECOND / FPS;
        let span = match self.stream {
            Stream::None => return Vec::new(),
            Stream::Random => self.rows,
            Stream::Visible => VISIBLE_ROWS.min(self.rows),
        };
        let ts = self.now_ms() + 1000 / i64::try_from(FPS).unwrap_or(60);
        (0..due)
            .map(|_| {
                let entity = self.rng.below(span);
                let key = SERIES[usize::try_from(self.rng.below(7)).unwrap_or(0)];
                let value = self.rng.below(100_000) as f64 / 100.0;
                update(entity, key, ts, value)
            })
            .collect()
    }

    /// One frame: apply, draw, tessellate.
    fn run_frame(&mut self, events: Vec<NetEvent>) -> FrameStats {
        self.frame += 1;
        let now_ms = self.now_ms();
        let start = Instant::now();
        for event in events {
            self.store.apply(event, now_ms);
        }
        let data = start.elapsed();
        let number = self.frame;
        let Self {
            ctx,
            store,
            panel,
            columns,
            alarms,
            empty,
            ..
        } = self;
        let stats = frame::draw(ctx, number, FRAME, |ui| {
            if *empty {
                return;
            }
            let page = match store.subs.get(&SUB) {
                Some(SubData::Entities(page)) => Some(page),
                _ => None,
            };
            black_box(panel.show(ui, page, columns, alarms, None, now_ms));
        });
        FrameStats { data, ..stats }
    }
}

/// Frames averaged for the printed breakdown.
const BREAKDOWN_FRAMES: u32 = 300;

fn bench_scenario(c: &mut Criterion, name: &str, mut scenario: Scenario) {
    let mut sum = FrameStats::default();
    for _ in 0..BREAKDOWN_FRAMES {
        let events = scenario.next_events();
        let frame = scenario.run_frame(events);
        sum.shapes = frame.shapes;
        sum.vertices = frame.vertices;
        sum.data += frame.data;
        sum.ui += frame.ui;
        sum.tessellate += frame.tessellate;
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(BREAKDOWN_FRAMES);
    eprintln!(
        "{name}: {} shapes, {} vertices; mean of {BREAKDOWN_FRAMES} frames: apply {:.1} µs, \
         run_ui {:.1} µs, tessellate {:.1} µs",
        sum.shapes,
        sum.vertices,
        us(sum.data),
        us(sum.ui),
        us(sum.tessellate)
    );
    c.bench_function(&format!("frame/{name}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let events = scenario.next_events();
                let start = Instant::now();
                black_box(scenario.run_frame(events));
                total += start.elapsed();
            }
            total
        });
    });
}

fn bench_table(c: &mut Criterion) {
    let scenarios = [
        ("empty", 0, Stream::None, true, false),
        ("rows_100_idle", 100, Stream::None, false, false),
        ("rows_100_stream", 100, Stream::Random, false, false),
        ("rows_10000_stream", 10_000, Stream::Random, false, false),
        (
            "rows_10000_stream_visible",
            10_000,
            Stream::Visible,
            false,
            false,
        ),
        ("rows_10000_idle", 10_000, Stream::None, false, false),
        (
            "rows_10000_stream_accesskit",
            10_000,
            Stream::Random,
            false,
            true,
        ),
    ];
    for (name, rows, stream, empty, accesskit) in scenarios {
        bench_scenario(c, name, Scenario::new(rows, stream, empty, accesskit));
    }
}

criterion_group!(benches, bench_table);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Frame time of the alarm list (issue 8): a page of 10,000 alarms while 1,000 alarm
//! events/s stream in, headless (egui `Context::run_ui` and `tessellate`, no GPU, no window).
//! The goal: under 4 ms a frame.
//!
//! One frame is what the app does at 60 frames/s: apply the `ALARM_DATA` messages that
//! arrived since the last frame through `Store::apply` (which calls `AlarmPage::apply` and
//! drops the message), draw `alarm_list_ui` inside a `CentralPanel` on a 1280×800 screen
//! (all eight columns, a keyboard cursor and three selected rows), and tessellate its
//! shapes. Building the messages (the server's and the network thread's work) is not timed.
//! The store and the egui context live across frames; the clock moves 1/60 s per frame.
//!
//! The messages follow the server (thingsboard-protocol.md §4.3): an alarm already on the
//! page that changes (acknowledged, cleared, escalated, or its originator's latest value) is
//! sent alone in an `update`; a new alarm makes the server re-run the query and send the
//! whole `data` page with the new alarms on top (sorted by creation time, newest first;
//! the page keeps its size). One event in ten is a new alarm, so about 1.7 of the 16 or 17
//! events of a frame.
//!
//! * `alarms/10k_idle`: 10,000 alarms, nothing arrives.
//! * `alarms/10k_streaming`: 10,000 alarms, 1,000 events/s. ThingsBoard re-fetches at most
//!   10 times a minute (`max_alarm_queries_per_refresh_interval`), so a full page arrives
//!   every 360th frame (evenly spread) carrying the new alarms since the last one.
//! * `alarms/100_streaming`: the same with a page of 100 alarms, for the ratio.
//! * `alarms/10k_streaming_unthrottled`: as `10k_streaming`, but every frame with a new alarm
//!   gets its page (the demo server does not throttle re-fetches): the cost of a frame in
//!   which a page lands.
//!
//! Run with `cargo bench --bench alarms` (about a minute and a half). Before each case the
//! bench prints shapes and vertices per frame and where the time of 360 frames went (apply,
//! `run_ui`, tessellate), for frames with only `update`s and for frames with a `data` page
//! apart, and what the page's O(rows) scans cost.

// A benchmark reports on the terminal; its sizes are far below f64's exact range.
#![allow(clippy::print_stderr, clippy::cast_precision_loss)]

#[allow(dead_code)] // alarms.rs uses only the generator and the frame of the shared module
mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group};
use tb_monitor::net::{NetEvent, SubId};
use tb_monitor::plot::window::Zone;
use tb_monitor::protocol::{
    AlarmData, AlarmDataKind, AlarmDataUpdate, AlarmSeverity, AlarmStatus, EntityId, EntityKeyType,
    PageData, ServerMessage, SortDirection, TsValue,
};
use tb_monitor::store::alarms::AlarmPage;
use tb_monitor::store::{Store, SubData};
use tb_monitor::ui::alarms::{Column, ListInput, alarm_list_ui};

use common::Lcg;
use common::frame::{self, FrameStats, Medians, median, ms};

const SUB: SubId = 1;
const CMD_ID: i32 = 1;
/// Wall clock of the first frame (epoch ms).
const T0: i64 = 1_700_000_000_000;
/// Frames per second the app draws at while alarms stream in.
const FPS: u64 = 60;
/// The time between two frames.
const FRAME: Duration = Duration::from_nanos(1_000_000_000 / FPS);
/// Alarm events (new or changed alarms) per second.
const EVENTS_PER_SECOND: u64 = 1_000;
/// One event in this many is a new alarm.
const NEW_ONE_IN: u64 = 10;
/// Frames between two re-fetched pages under ThingsBoard's limit of 10 a minute.
const THROTTLED_REFETCH_FRAMES: u64 = 60 * FPS / 10;
/// Devices the alarms are raised on.
const DEVICES: u64 = 2_000;
/// Frames whose split is printed before each case (one throttled re-fetch period).
const BREAKDOWN_FRAMES: u64 = THROTTLED_REFETCH_FRAMES;
/// Frames drawn before anything is measured (fonts, galleys).
const WARM_UP_FRAMES: u64 = 10;
/// Runs of each O(rows) scan averaged for the printed breakdown.
const REPEAT: u32 = 100;
/// Runs of a `data` page's apply whose median split is printed.
const PAGE_RUNS: usize = 5;

const TYPES: [&str; 6] = [
    "High Temperature",
    "Low Battery",
    "Door Open",
    "Device Offline",
    "High Humidity",
    "CO2 Threshold",
];
const SEVERITIES: [&str; 5] = ["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"];

fn alarm_uuid(n: u64) -> String {
    format!("a1a1a1a1-0000-4000-8000-{n:012}")
}

fn device_uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// Alarm `n` as `ALARM_DATA` sends it, created at `created` (one in five acknowledged, one in
/// seven cleared, one in four assigned).
fn alarm_json(n: u64, created: i64, rng: &mut Lcg) -> String {
    let device = rng.below(DEVICES);
    let kind = TYPES[usize::try_from(n).unwrap_or(0) % TYPES.len()];
    let severity = SEVERITIES[usize::try_from(rng.below(5)).unwrap_or(0)];
    let (acknowledged, cleared) = (n.is_multiple_of(5), n.is_multiple_of(7));
    let status = AlarmStatus::from_flags(acknowledged, cleared);
    let ack_ts = if acknowledged { created + 60_000 } else { 0 };
    let clear_ts = if cleared { created + 120_000 } else { 0 };
    let value = rng.below(10_000) as f64 / 100.0;
    let with_user = n.is_multiple_of(4);
    let assignee = if with_user {
        r#"{"id":{"entityType":"USER","id":"7c1f9e30-7a25-11ee-9d3f-3b4c5d6e7f80"},"firstName":"Ada","lastName":"Field","email":"tenant@thingsboard.org"}"#
    } else {
        "null"
    };
    let assignee_id = if with_user {
        r#"{"entityType":"USER","id":"7c1f9e30-7a25-11ee-9d3f-3b4c5d6e7f80"}"#
    } else {
        "null"
    };
    let status = serde_json::to_string(&status).unwrap_or_default();
    format!(
        r#"{{"entityId":{{"entityType":"DEVICE","id":"{dev}"}},"latest":{{"ENTITY_FIELD":{{"name":{{"ts":{created},"value":"Thermostat T-{device:05}"}}}},"TIME_SERIES":{{"temperature":{{"ts":{created},"value":"{value}"}}}}}},"id":{{"entityType":"ALARM","id":"{id}"}},"createdTime":{created},"tenantId":{{"entityType":"TENANT","id":"5e1d4a20-7a25-11ee-9d3f-3b4c5d6e7f80"}},"customerId":{{"entityType":"CUSTOMER","id":"13814000-1dd2-11b2-8080-808080808080"}},"type":"{kind}","originator":{{"entityType":"DEVICE","id":"{dev}"}},"severity":"{severity}","acknowledged":{acknowledged},"cleared":{cleared},"assigneeId":{assignee_id},"startTs":{created},"endTs":{created},"ackTs":{ack_ts},"clearTs":{clear_ts},"assignTs":0,"details":{{"threshold":30,"value":{value}}},"propagate":false,"propagateToOwner":false,"propagateToTenant":false,"propagateRelationTypes":[],"originatorName":"Thermostat T-{device:05}","originatorLabel":"","originatorDisplayName":"Thermostat T-{device:05}","assignee":{assignee},"name":"{kind}","status":{status}}}"#,
        dev = device_uuid(device),
        id = alarm_uuid(n),
    )
}

fn decode_alarm(json: &str) -> AlarmData {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bench alarm: {e}"))
}

fn message(update: AlarmDataUpdate) -> NetEvent {
    NetEvent::Message {
        sub: SUB,
        msg: Box::new(ServerMessage::AlarmData(update)),
    }
}

/// The subscription's `ALARM_DATA` message holding `data` (a whole page) or `update` (changed
/// rows).
fn alarm_data(
    data: Option<PageData<AlarmData>>,
    update: Option<Vec<AlarmData>>,
) -> AlarmDataUpdate {
    AlarmDataUpdate {
        cmd_id: CMD_ID,
        data,
        update,
        error_code: 0,
        error_msg: None,
        allowed_entities: 10_000,
        total_entities: i64::try_from(DEVICES).unwrap_or(0),
        kind: AlarmDataKind,
    }
}

fn page_message(rows: Vec<AlarmData>) -> NetEvent {
    message(alarm_data(Some(PageData::single(rows)), None))
}

fn update_message(row: AlarmData) -> NetEvent {
    message(alarm_data(None, Some(vec![row])))
}

/// The first `data` page: `rows` alarms, newest first, one a minute back from `T0`, decoded
/// from its JSON as the network thread does.
fn first_page(rows: u64, rng: &mut Lcg) -> NetEvent {
    let mut data = String::new();
    for n in 0..rows {
        if n > 0 {
            data.push(',');
        }
        let created = T0 - 60_000 * (i64::try_from(n).unwrap_or(0) + 1);
        data.push_str(&alarm_json(n, created, rng));
    }
    let mut json = String::new();
    write!(
        json,
        r#"{{"cmdId":{CMD_ID},"data":{{"data":[{data}],"totalPages":1,"totalElements":{rows},"hasNext":false}},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"totalEntities":{DEVICES},"cmdUpdateType":"ALARM_DATA"}}"#
    )
    .ok();
    let msg = ServerMessage::from_json(&json).unwrap_or_else(|e| panic!("bench page: {e}"));
    NetEvent::Message {
        sub: SUB,
        msg: Box::new(msg),
    }
}

/// The server's side: the page the subscription holds and the events it sends for.
struct Server {
    rng: Lcg,
    /// The page as last sent, newest first.
    page: Vec<AlarmData>,
    /// New alarms the next re-fetch puts on top, oldest first.
    pending: Vec<AlarmData>,
    /// The number of the next new alarm.
    next_alarm: u64,
    /// Frames between re-fetches (1: every frame with a new alarm).
    refetch_frames: u64,
}

impl Server {
    /// The messages that arrive before frame `frame` (drawn at `now_ms`), and whether they
    /// hold a `data` page.
    fn events(&mut self, frame: u64, now_ms: i64) -> (Vec<NetEvent>, bool) {
        let due = (frame + 1) * EVENTS_PER_SECOND / FPS - frame * EVENTS_PER_SECOND / FPS;
        let mut events = Vec::new();
        for _ in 0..due {
            if self.rng.below(NEW_ONE_IN) == 0 {
                let n = self.next_alarm;
                self.next_alarm += 1;
                let json = alarm_json(n, now_ms, &mut self.rng);
                self.pending.push(decode_alarm(&json));
            } else if let Some(row) = self.change(now_ms) {
                events.push(update_message(row));
            }
        }
        let refetch = frame.is_multiple_of(self.refetch_frames) && !self.pending.is_empty();
        if refetch {
            let size = self.page.len();
            let mut page: Vec<AlarmData> = self.pending.drain(..).rev().collect();
            page.append(&mut self.page);
            page.truncate(size);
            self.page = page;
            events.push(page_message(self.page.clone()));
        }
        (events, refetch)
    }

    /// Changes a random alarm of the page: acknowledges, clears or escalates it, or a new
    /// latest value of its originator arrives. Returns the row as `update` sends it.
    fn change(&mut self, now_ms: i64) -> Option<AlarmData> {
        let len = u64::try_from(self.page.len()).unwrap_or(0);
        let at = usize::try_from(self.rng.below(len.max(1))).unwrap_or(0);
        let what = self.rng.below(4);
        let value = self.rng.below(10_000) as f64 / 100.0;
        let row = self.page.get_mut(at)?;
        row.end_ts = now_ms;
        match what {
            0 => {
                row.acknowledged = true;
                row.ack_ts = now_ms;
            }
            1 => {
                row.cleared = true;
                row.clear_ts = now_ms;
            }
            2 => {
                row.severity = match row.severity {
                    AlarmSeverity::Warning | AlarmSeverity::Indeterminate => AlarmSeverity::Minor,
                    AlarmSeverity::Minor => AlarmSeverity::Major,
                    _ => AlarmSeverity::Critical,
                };
            }
            _ => {
                if let Some(latest) = row
                    .latest
                    .as_mut()
                    .and_then(|l| l.get_mut(&EntityKeyType::TimeSeries))
                    .and_then(|series| series.get_mut("temperature"))
                {
                    *latest = TsValue::new(now_ms, format!("{value}"));
                }
            }
        }
        row.status = Some(AlarmStatus::from_flags(row.acknowledged, row.cleared));
        Some(row.clone())
    }
}

/// One frame's split, and whether a `data` page arrived before it.
#[derive(Clone, Copy)]
struct Frame {
    stats: FrameStats,
    page: bool,
}

/// The app's side of the list, frame after frame.
struct Scenario {
    ctx: egui::Context,
    store: Store,
    server: Server,
    selected: BTreeSet<EntityId>,
    cursor: Option<EntityId>,
    zone: Zone,
    streaming: bool,
    frame: u64,
}

impl Scenario {
    fn new(rows: u64, streaming: bool, refetch_frames: u64) -> Self {
        let mut rng = Lcg(0xa1a2);
        let first = first_page(rows, &mut rng);
        let page = match &first {
            NetEvent::Message { msg, .. } => match msg.as_ref() {
                ServerMessage::AlarmData(u) => u.data.as_ref().map(|p| p.data.clone()),
                _ => None,
            },
            _ => None,
        }
        .unwrap_or_default();
        // Three selected rows and the keyboard cursor, all on screen.
        let id = |i: usize| page.get(i).map(|r| r.id.clone());
        let selected = [2, 3, 6].into_iter().filter_map(id).collect();
        let cursor = id(4);
        let mut store = Store::new();
        store.apply(first, T0);
        let mut scenario = Self {
            ctx: egui::Context::default(),
            store,
            server: Server {
                rng,
                page,
                pending: Vec::new(),
                next_alarm: rows,
                refetch_frames,
            },
            selected,
            cursor,
            zone: Zone::utc(),
            streaming,
            frame: 0,
        };
        for _ in 0..WARM_UP_FRAMES {
            scenario.run_frame();
        }
        scenario
    }

    fn now_ms(&self) -> i64 {
        T0 + i64::try_from(self.frame * 1000 / FPS).unwrap_or(i64::MAX)
    }

    fn page(&self) -> Option<&AlarmPage> {
        match self.store.subs.get(&SUB) {
            Some(SubData::Alarms(page)) => Some(page),
            _ => None,
        }
    }

    /// One frame: apply, draw, tessellate (the messages are built before, untimed).
    fn run_frame(&mut self) -> Frame {
        self.frame += 1;
        let now_ms = self.now_ms();
        let (events, page) = if self.streaming {
            self.server.events(self.frame, now_ms)
        } else {
            (Vec::new(), false)
        };
        let start = Instant::now();
        for event in events {
            self.store.apply(event, now_ms);
        }
        let data = start.elapsed();
        let Self {
            ctx,
            store,
            selected,
            cursor,
            zone,
            frame: number,
            ..
        } = self;
        let note = |_: &AlarmData| None;
        let input = ListInput {
            columns: &Column::ALL,
            selected,
            cursor: cursor.as_ref(),
            sort: ("createdTime", SortDirection::Desc),
            now_ms,
            zone,
            note: &note,
            scroll_to_cursor: false,
        };
        let stats = frame::draw(ctx, *number, FRAME, |ui| {
            if let Some(SubData::Alarms(page)) = store.subs.get(&SUB) {
                black_box(alarm_list_ui(ui, page, &input));
            }
        });
        Frame {
            stats: FrameStats { data, ..stats },
            page,
        }
    }

    /// What the page's O(rows) scans cost once: the cursor's lookup when the cursor is not on
    /// the page (`alarm_list_ui` scans for it every frame) and the top bar's worst severity.
    fn scans(&self) -> (Duration, Duration) {
        let Some(page) = self.page() else {
            return (Duration::ZERO, Duration::ZERO);
        };
        let missing = EntityId::device(uuid::Uuid::nil());
        let start = Instant::now();
        for _ in 0..REPEAT {
            black_box(page.rows().iter().position(|r| r.id == missing));
        }
        let cursor = start.elapsed() / REPEAT;
        let start = Instant::now();
        for _ in 0..REPEAT {
            black_box(page.worst_active_unacknowledged_severity());
        }
        (cursor, start.elapsed() / REPEAT)
    }

    /// Where a re-fetched page's apply goes, on copies of the store's page: the server's page
    /// with one new alarm on top (the last row falls off). `None` while streaming is off.
    fn page_cost(&self) -> Option<PageCost> {
        if !self.streaming {
            return None;
        }
        let held = self.page()?;
        let mut rng = Lcg(0x9a9e);
        let n = self.server.next_alarm + 1_000_000;
        let mut rows = vec![decode_alarm(&alarm_json(n, self.now_ms(), &mut rng))];
        rows.extend(
            self.server
                .page
                .iter()
                .take(held.len().saturating_sub(1))
                .cloned(),
        );
        let update = alarm_data(Some(PageData::single(rows)), None);
        let (mut apply, mut clone, mut drop) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..PAGE_RUNS {
            let mut page = held.clone();
            let start = Instant::now();
            page.apply(&update, self.now_ms());
            apply.push(start.elapsed());
            let start = Instant::now();
            let copy = black_box(held.rows().to_vec());
            clone.push(start.elapsed());
            let start = Instant::now();
            std::mem::drop(copy);
            drop.push(start.elapsed());
        }
        Some(PageCost {
            apply: median(apply),
            clone: median(clone),
            drop: median(drop),
        })
    }
}

/// Where a `data` page's apply goes (medians of [`PAGE_RUNS`] runs).
struct PageCost {
    /// `AlarmPage::apply` of the page.
    apply: Duration,
    /// Cloning the page's rows once.
    clone: Duration,
    /// Dropping them once.
    drop: Duration,
}

/// How `frames` split: count, median frame, median apply, `run_ui` and tessellate.
fn split(frames: &[&Frame]) -> String {
    if frames.is_empty() {
        return "none".to_owned();
    }
    let medians = Medians::of(frames.iter().map(|f| &f.stats));
    format!("{} frames, median {}", frames.len(), medians.split("apply"))
}

/// Prints what a frame draws and where its time goes, then benches the frame.
fn bench_case(c: &mut Criterion, name: &str, mut scenario: Scenario) {
    let frames: Vec<Frame> = (0..BREAKDOWN_FRAMES)
        .map(|_| scenario.run_frame())
        .collect();
    let last = frames.last().map(|f| f.stats).unwrap_or_default();
    let mean = frames.iter().map(|f| f.stats.total()).sum::<Duration>()
        / u32::try_from(frames.len()).unwrap_or(1).max(1);
    let (with_page, updates_only): (Vec<&Frame>, Vec<&Frame>) = frames.iter().partition(|f| f.page);
    let (cursor, worst) = scenario.scans();
    let page_cost = scenario.page_cost().map_or_else(String::new, |c| {
        format!(
            "\n  a data page's apply: AlarmPage::apply {:.3} ms (cloning the rows {:.3}, dropping \
             the old rows {:.3}, the rest {:.3}), then dropping the message {:.3} ms",
            ms(c.apply),
            ms(c.clone),
            ms(c.drop),
            ms(c.apply.saturating_sub(c.clone + c.drop)),
            ms(c.drop),
        )
    });
    eprintln!(
        "alarms/{name}: {} alarms, {} shapes, {} vertices; mean of {BREAKDOWN_FRAMES} frames \
         {:.3} ms\n  updates only: {}\n  with a data page: {}\n  O(rows) scans: cursor lookup \
         (cursor not on the page) {:.3} ms, worst_active_unacknowledged_severity {:.3} ms\
         {page_cost}",
        scenario.page().map_or(0, AlarmPage::len),
        last.shapes,
        last.vertices,
        ms(mean),
        split(&updates_only),
        split(&with_page),
        ms(cursor),
        ms(worst),
    );
    let mut g = c.benchmark_group("alarms");
    // Samples of equal length, so the rare page frames weigh the same in each.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| scenario.run_frame().stats.total()).sum());
    });
    g.finish();
}

fn bench_alarms(c: &mut Criterion) {
    bench_case(
        c,
        "10k_idle",
        Scenario::new(10_000, false, THROTTLED_REFETCH_FRAMES),
    );
    bench_case(
        c,
        "10k_streaming",
        Scenario::new(10_000, true, THROTTLED_REFETCH_FRAMES),
    );
    bench_case(
        c,
        "100_streaming",
        Scenario::new(100, true, THROTTLED_REFETCH_FRAMES),
    );
    bench_case(
        c,
        "10k_streaming_unthrottled",
        Scenario::new(10_000, true, 1),
    );
}

criterion_group!(benches, bench_alarms);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}

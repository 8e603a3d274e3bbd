//! Pipeline saturation over loopback (issue 12, item 2): the highest rate of live updates the
//! client's receive pipeline (socket → decode → coalescing queue → `Store::apply`) keeps up
//! with, and where it gives out first.
//!
//! Two feeders, each ramped through [`RATES`] (2 s per step) until a step does not keep up:
//!
//! * `demo`: the demo server in process (`simulate: false`, default limits: a session is
//!   closed with 1008 when 1,000 frames are pending or it falls 4,096 events behind on the
//!   server's event bus). The client logs in over REST and subscribes to
//!   the latest `temperature` of the 24 thermostats; a `pusher` thread calls
//!   `DemoControl::push_point` round-robin over them, the sequence number as the value. Each
//!   push is one bus event and one `ENTITY_DATA` update frame of one entity, which the server
//!   encodes and writes on its own (one write per frame).
//! * `raw`: a minimal blocking WebSocket server (`tungstenite`) on a `feeder` thread, which
//!   isolates the client: it accepts the client's `authCmd` without checking the token (the
//!   client gets a hand-made JWT, no REST), answers the `ENTITY_DATA` subscription with a page
//!   of 24 devices, then writes update frames of the demo's exact shape, formatted from a
//!   per-device template and flushed once per 1 ms tick. After the paced steps, one unpaced
//!   step writes for 2 s as fast as the client reads (TCP backpressure).
//!
//! Paced feeders push the points due on a 1 ms tick and record the `Instant` of each. The
//! client session runs on its own runtime with 2 workers (`tb-net`, as in the app), the demo
//! server on another (`demo-srv`). The "UI" is the main thread: it sleeps until the queue's
//! waker unparks it, drains everything, applies it to a `Store` and records when each
//! sequence number reached the store. After each step's feeding it waits (at most
//! [`SETTLE`]) until every device's last value of the step is in the store.
//!
//! Per step, over the feeding window: the rate the feeder achieved, the updates the client
//! decoded (those applied, merged by the queue, dropped or still queued), the telemetry
//! events the UI applied, the session's `Traffic` events (one a second while its
//! housekeeping tick runs) and each thread's CPU time from `/proc/self/task/*/schedstat`, as
//! % of one core: running / runnable but waiting for a core (the machine's cores are shared
//! with everything else). Until the backlog drained: the updates the queue merged and
//! dropped, the points that never reached the store as themselves (coalesced: a newer value
//! of the device did; lost: none did), push-to-store latency (p50/p99/max of the points that
//! did).
//!
//! **Definition.** A step keeps up when the UI applied at least [`KEEP_UP`] (95 %) of the
//! offered rate, p99 stays under [`P99_BOUND_MS`] (50 ms), no point is lost, the backlog drains
//! within [`SETTLE`] and the session reports no incident (close, lag, error, bad frame). The
//! saturation rate is the highest offered rate of a step that keeps up. The bottleneck
//! column names the first stage that fell short (incident → feeder → decoded → applied →
//! drained → latency) and the busiest thread.
//!
//! Prints markdown tables and `RESULT <name> <value> <unit>` lines for `scripts/bench`.
//! Run with `cargo bench --bench saturation` (30–50 s). For diagnosis,
//! `TB_SATURATION_ONLY=demo|raw` runs one ramp, and `TB_SATURATION_DEMO_QUEUE=N` changes the
//! demo server's per-session queue limit (default 1,000 frames).

// A benchmark reports on the terminal; its counts are far below f64's exact range.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss
)]

#[path = "common/loopback.rs"]
mod loopback;

use std::collections::BTreeMap;
use std::error::Error;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tb_monitor::demo::{DemoConfig, DemoControl, DemoServer};
use tb_monitor::net::rest::RestClient;
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::net::tokens::{Tokens, now_ms};
use tb_monitor::net::{EventQueue, NetCommand, NetEvent, SessionConfig};
use tb_monitor::protocol::{EntityId, ServerMessage};
use tb_monitor::store::{Store, SubData};

use loopback::{KEY, SUB, UnparkWaker, latest_spec, login_and_spawn, sequences};
use tokio_tungstenite::tungstenite::{self, Message};

type BoxError = Box<dyn Error + Send + Sync>;

/// Capacity of the net → UI queue (the app's).
const QUEUE_CAPACITY: usize = 1_000;
/// Bound of every wait for a server, a session or a thread.
const DEADLINE: Duration = Duration::from_secs(10);
/// Feeding time of one step.
const STEP: Duration = Duration::from_secs(2);
/// How long the UI may take after a step to get every device's last value.
const SETTLE: Duration = Duration::from_secs(2);
/// Offered rates of the ramp (msgs/s).
const RATES: [u64; 12] = [
    1_000, 10_000, 20_000, 50_000, 75_000, 100_000, 150_000, 200_000, 300_000, 400_000, 600_000,
    800_000,
];
/// A step keeps up when the UI applied at least this share of the offered rate.
const KEEP_UP: f64 = 0.95;
/// ... and p99 push-to-store latency stays under this.
const P99_BOUND_MS: f64 = 50.0;
/// Devices of the raw feeder's page (as many as the demo's thermostats).
const RAW_DEVICES: u64 = 24;
/// The unpaced step writes this many frames between flushes...
const UNPACED_BATCH: u64 = 64;
/// ... and at most this many in all (bounds the memory of its record).
const UNPACED_CAP: u64 = 4_000_000;

// ---- CPU time per thread -------------------------------------------------------------------

/// CPU time of a thread: running, and runnable but waiting for a core.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    run_ns: u64,
    wait_ns: u64,
}

fn schedstat(path: &Path) -> Option<Cpu> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    Some(Cpu {
        run_ns: fields.next()?.ok()?,
        wait_ns: fields.next()?.ok()?,
    })
}

/// The calling thread's CPU time (zero where `/proc` has none).
fn own_cpu() -> Cpu {
    schedstat(Path::new("/proc/thread-self/schedstat")).unwrap_or_default()
}

/// Every thread of the process by id: its role (the main thread is `ui`, others go by
/// their name) and CPU time.
fn threads() -> BTreeMap<u64, (String, Cpu)> {
    let pid = u64::from(std::process::id());
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return BTreeMap::new();
    };
    dir.flatten()
        .filter_map(|entry| {
            let tid: u64 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            let role = if tid == pid {
                "ui".to_owned()
            } else {
                comm.trim().to_owned()
            };
            Some((tid, (role, schedstat(&entry.path().join("schedstat"))?)))
        })
        .collect()
}

/// CPU time per role between two snapshots (threads present in both).
fn cpu_between(
    before: &BTreeMap<u64, (String, Cpu)>,
    after: &BTreeMap<u64, (String, Cpu)>,
) -> BTreeMap<String, Cpu> {
    let mut out: BTreeMap<String, Cpu> = BTreeMap::new();
    for (tid, (role, end)) in after {
        if let Some((_, start)) = before.get(tid) {
            let sum = out.entry(role.clone()).or_default();
            sum.run_ns += end.run_ns.saturating_sub(start.run_ns);
            sum.wait_ns += end.wait_ns.saturating_sub(start.wait_ns);
        }
    }
    out
}

// ---- Feeders ---------------------------------------------------------------------------------

/// How a step feeds.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// This many msgs/s for [`STEP`].
    Rate(u64),
    /// As fast as the sink takes them, for [`STEP`].
    Unpaced,
}

/// One feeder's way of sending sequence number `seq`, and of flushing a tick's batch.
trait Sink {
    fn send(&mut self, seq: u64) -> Result<(), BoxError>;
    fn flush(&mut self) -> Result<(), BoxError>;
}

/// What a feeder did in one step.
struct Fed {
    /// The `Instant` each sequence number of the step was fed, in order.
    at: Vec<Instant>,
    secs: f64,
    /// The feeding thread's own CPU time.
    cpu: Cpu,
}

/// Feeds sequence numbers from `first` as `plan` says, recording when each was fed.
fn feed(first: u64, plan: Plan, sink: &mut impl Sink) -> Result<Fed, BoxError> {
    let cpu0 = own_cpu();
    let start = Instant::now();
    let mut at = Vec::new();
    let mut seq = first;
    match plan {
        Plan::Rate(per_second) => {
            let count = per_second.saturating_mul(STEP.as_secs());
            at.reserve(usize::try_from(count).unwrap_or(0));
            let mut tick = 0u32;
            while seq < first + count {
                let elapsed_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
                let due =
                    first + (elapsed_us.saturating_mul(per_second) / 1_000_000 + 1).min(count);
                while seq < due {
                    at.push(Instant::now());
                    sink.send(seq)?;
                    seq += 1;
                }
                sink.flush()?;
                // Sleep to the next 1 ms tick; a late batch catches up without sleeping.
                tick = tick.max(u32::try_from(start.elapsed().as_millis()).unwrap_or(u32::MAX));
                tick = tick.saturating_add(1);
                let next = start + Duration::from_millis(u64::from(tick));
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        }
        Plan::Unpaced => {
            while start.elapsed() < STEP && seq < first + UNPACED_CAP {
                for _ in 0..UNPACED_BATCH {
                    at.push(Instant::now());
                    sink.send(seq)?;
                    seq += 1;
                }
                sink.flush()?;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu1 = own_cpu();
    Ok(Fed {
        at,
        secs,
        cpu: Cpu {
            run_ns: cpu1.run_ns.saturating_sub(cpu0.run_ns),
            wait_ns: cpu1.wait_ns.saturating_sub(cpu0.wait_ns),
        },
    })
}

/// The demo feeder: `push_point` round-robin over the thermostats.
struct DemoPusher {
    control: DemoControl,
    devices: Arc<Vec<EntityId>>,
    ts0: i64,
}

impl Sink for DemoPusher {
    fn send(&mut self, seq: u64) -> Result<(), BoxError> {
        let n = self.devices.len() as u64;
        let device = &self.devices[usize::try_from(seq % n)?];
        let ts = self.ts0 + i64::try_from(seq)?;
        self.control.push_point(device, KEY, ts, seq.to_string());
        Ok(())
    }
    fn flush(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

/// The raw feeder's frames: per device, the update text up to `"ts":`; the rest is fixed
/// but for the timestamp and the value (the sequence number).
struct Frames {
    heads: Vec<String>,
    ts0: i64,
}

/// The text after the timestamp and value of an update frame (the demo server's shape).
const FRAME_TAIL: &str = r#""}}},"timeseries":null,"aggLatest":null}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#;

fn raw_device(i: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x5a7u128 << 64 | u128::from(i))
}

impl Frames {
    /// Templates for `cmd_id`, checked by decoding one frame.
    fn new(cmd_id: i64, ts0: i64) -> Result<Self, BoxError> {
        let heads = (0..RAW_DEVICES)
            .map(|i| {
                format!(
                    r#"{{"cmdId":{cmd_id},"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{}"}},"latest":{{"TIME_SERIES":{{"{KEY}":{{"ts":"#,
                    raw_device(i)
                )
            })
            .collect();
        let frames = Self { heads, ts0 };
        ServerMessage::from_json(&frames.frame(0)?)?;
        Ok(frames)
    }

    fn frame(&self, seq: u64) -> Result<String, BoxError> {
        let head = &self.heads[usize::try_from(seq % RAW_DEVICES)?];
        let ts = self.ts0 + i64::try_from(seq)?;
        Ok(format!(r#"{head}{ts},"value":"{seq}{FRAME_TAIL}"#))
    }
}

type RawWs = tungstenite::WebSocket<TcpStream>;

/// The raw feeder: update frames written to the client's socket.
struct RawWriter<'a> {
    ws: &'a mut RawWs,
    frames: &'a Frames,
}

impl Sink for RawWriter<'_> {
    fn send(&mut self, seq: u64) -> Result<(), BoxError> {
        Ok(self.ws.write(Message::text(self.frames.frame(seq)?))?)
    }
    fn flush(&mut self) -> Result<(), BoxError> {
        Ok(self.ws.flush()?)
    }
}

/// Accepts one client on `listener` (within [`DEADLINE`]), reads frames until one carries an
/// `ENTITY_DATA` command, answers it with the page of [`RAW_DEVICES`] devices, and returns
/// the socket and the command's `cmdId`. Any token is accepted.
fn accept_raw(listener: &TcpListener, ts0: i64) -> Result<(RawWs, i64), BoxError> {
    listener.set_nonblocking(true)?;
    let end = Instant::now() + DEADLINE;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > end {
                    return Err("the client did not connect to the raw feeder".into());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e.into()),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    // A client that stops reading fails the write instead of hanging the bench.
    stream.set_write_timeout(Some(DEADLINE))?;
    let mut ws = tungstenite::accept(stream).map_err(|e| format!("WebSocket handshake: {e}"))?;
    let cmd_id = loop {
        if Instant::now() > end {
            return Err("no ENTITY_DATA command reached the raw feeder".into());
        }
        if let Message::Text(text) = ws.read()?
            && let Some(id) = entity_data_cmd_id(text.as_str())
        {
            break id;
        }
    };
    let rows: Vec<serde_json::Value> = (0..RAW_DEVICES)
        .map(|i| {
            serde_json::json!({
                "entityId": {"entityType": "DEVICE", "id": raw_device(i).to_string()},
                "latest": {
                    "ENTITY_FIELD": {"name": {"ts": ts0 - 1_000, "value": format!("Bench {i}")}},
                    "TIME_SERIES": {KEY: {"ts": ts0 - 1_000, "value": "-1"}}
                },
                "timeseries": {},
                "aggLatest": {}
            })
        })
        .collect();
    let page = serde_json::json!({
        "cmdId": cmd_id,
        "data": {"data": rows, "totalPages": 1, "totalElements": RAW_DEVICES, "hasNext": false},
        "update": null,
        "errorCode": 0,
        "errorMsg": null,
        "allowedEntities": 10_000,
        "cmdUpdateType": "ENTITY_DATA"
    });
    ws.send(Message::text(page.to_string()))?;
    Ok((ws, cmd_id))
}

/// The `cmdId` of the first `ENTITY_DATA` command of a client frame.
fn entity_data_cmd_id(text: &str) -> Option<i64> {
    let frame: serde_json::Value = serde_json::from_str(text).ok()?;
    frame
        .get("cmds")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(serde_json::Value::as_str) == Some("ENTITY_DATA"))?
        .get("cmdId")?
        .as_i64()
}

/// An unsigned access token valid for an hour: the raw feeder does not check it.
fn bench_jwt() -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = now_ms() / 1_000;
    let header = b64.encode(r#"{"alg":"HS512"}"#);
    let claims = serde_json::json!({"sub": "bench@saturation", "exp": now + 3_600, "iat": now});
    format!("{header}.{}.c2ln", b64.encode(claims.to_string()))
}

// ---- The UI side -----------------------------------------------------------------------------

/// Whether an event is a live telemetry update of our subscription.
fn is_update(event: &NetEvent) -> bool {
    matches!(event, NetEvent::Message { sub: SUB, msg }
        if matches!(msg.as_ref(), ServerMessage::EntityData(u) if u.data.is_none() && u.update.is_some()))
}

fn has_page(store: &Store) -> bool {
    matches!(store.subs.get(&SUB), Some(SubData::Entities(p)) if p.has_data())
}

/// Counters read at the edges of a step's window.
#[derive(Debug, Clone, Copy)]
struct Counts {
    applied: u64,
    merged: u64,
    dropped: u64,
    pending: u64,
    traffic_events: u64,
}

/// The UI: the store, what reached it and when, and what else the session reported.
struct Ui {
    queue: EventQueue,
    store: Store,
    devices: u64,
    /// Sequence number and arrival at the store of every point applied since the last step.
    arrivals: Vec<(u64, Instant)>,
    /// The newest sequence number in the store per device (`seq % devices`).
    newest: Vec<Option<u64>>,
    /// Live telemetry updates applied.
    applied: u64,
    /// `NetEvent::Traffic` events seen (the session emits one a second when its tick runs).
    traffic_events: u64,
    /// Closes, errors, lags and bad frames.
    incidents: Vec<String>,
    seqs: Vec<u64>,
}

impl Ui {
    fn new(devices: u64) -> Self {
        let waker = Arc::new(UnparkWaker(std::thread::current()));
        Self {
            queue: EventQueue::new(QUEUE_CAPACITY, waker),
            store: Store::new(),
            devices,
            arrivals: Vec::new(),
            newest: vec![None; usize::try_from(devices).unwrap_or(0)],
            applied: 0,
            traffic_events: 0,
            incidents: Vec::new(),
            seqs: Vec::new(),
        }
    }

    /// Drains and applies everything queued.
    fn drain(&mut self) {
        let batch = self.queue.drain(usize::MAX);
        let now = now_ms();
        for event in batch {
            self.seqs.clear();
            sequences(&event, &mut self.seqs);
            if is_update(&event) {
                self.applied += 1;
            }
            match &event {
                NetEvent::Traffic { .. } => self.traffic_events += 1,
                NetEvent::Closed { .. }
                | NetEvent::SubscriptionError { .. }
                | NetEvent::Lagged { .. }
                | NetEvent::BadFrame { .. }
                | NetEvent::SessionExpired => self.incidents.push(format!("{event:?}")),
                _ => {}
            }
            self.store.apply(event, now);
            let reached = Instant::now();
            for &seq in &self.seqs {
                self.arrivals.push((seq, reached));
                if let Some(slot) = usize::try_from(seq % self.devices)
                    .ok()
                    .and_then(|d| self.newest.get_mut(d))
                {
                    *slot = Some(slot.map_or(seq, |n| n.max(seq)));
                }
            }
        }
    }

    /// Sleeps until woken (or `max`), then drains.
    fn wait_and_drain(&mut self, max: Duration) {
        if self.queue.is_empty() {
            std::thread::park_timeout(max);
        }
        self.drain();
    }

    /// Drains until `done` holds, or `within` passes.
    fn until(&mut self, within: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let end = Instant::now() + within;
        loop {
            self.drain();
            if done(self) {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.wait_and_drain(left.min(Duration::from_millis(5)));
        }
    }

    fn counts(&self) -> Counts {
        let stats = self.queue.stats();
        Counts {
            applied: self.applied,
            merged: stats.merged,
            dropped: stats.dropped,
            pending: stats.len as u64,
            traffic_events: self.traffic_events,
        }
    }
}

// ---- Steps -----------------------------------------------------------------------------------

/// The figures of one step.
struct Row {
    plan: Plan,
    fed: u64,
    /// Rate the feeder achieved (msgs/s).
    achieved: f64,
    /// Updates that reached the queue per second of the window.
    decoded: f64,
    /// Telemetry events the UI applied per second of the window.
    applied: f64,
    /// Updates the queue merged into pending ones, and dropped (until the backlog drained).
    merged: u64,
    dropped: u64,
    /// Points that never reached the store as themselves: superseded by a newer value of
    /// the same device (coalesced), or not (lost).
    coalesced: u64,
    lost: u64,
    p50: f64,
    p99: f64,
    max: f64,
    settled: bool,
    incidents: Vec<String>,
    traffic_events: u64,
    /// CPU per role over the window, and the window's length.
    cpu: BTreeMap<String, Cpu>,
    window: f64,
    keeps_up: bool,
    bottleneck: String,
}

/// Nearest-rank percentile of sorted durations, in ms.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil().max(1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = (rank as usize).min(sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1e3
}

/// Starts a step's feeding thread at sequence number `first`.
type Start<'a> = dyn FnMut(u64, Plan) -> std::io::Result<JoinHandle<Result<Fed, BoxError>>> + 'a;

/// Runs one step: feeds while the UI drains, then lets the UI settle; computes the figures.
fn run_step(
    ui: &mut Ui,
    first: u64,
    plan: Plan,
    feeder: &str,
    start: &mut Start<'_>,
) -> Result<Row, BoxError> {
    let incidents_before = ui.incidents.len();
    ui.arrivals.clear();
    let (c0, t0) = (ui.counts(), threads());
    let began = Instant::now();
    let handle = start(first, plan)?;
    while !handle.is_finished() {
        ui.wait_and_drain(Duration::from_millis(5));
        if began.elapsed() > STEP + DEADLINE {
            return Err(format!("the {feeder} did not finish within {:?}", STEP + DEADLINE).into());
        }
    }
    let window = began.elapsed().as_secs_f64();
    let (c1, t1) = (ui.counts(), threads());
    let fed = handle
        .join()
        .map_err(|_| format!("the {feeder} thread panicked"))??;
    let count = fed.at.len() as u64;
    let end = first + count;

    // Every device's last sequence number of the step must reach the store.
    let n = ui.devices;
    let targets: Vec<(usize, u64)> = (end.saturating_sub(n).max(first)..end)
        .filter_map(|s| Some((usize::try_from(s % n).ok()?, s)))
        .collect();
    let settled = ui.until(SETTLE, |ui| {
        targets
            .iter()
            .all(|&(d, s)| ui.newest.get(d).copied().flatten() >= Some(s))
    });
    // Merges and drops count until the backlog drained.
    let c2 = ui.counts();

    let mut seen = vec![false; fed.at.len()];
    let mut latencies = Vec::with_capacity(fed.at.len());
    for &(seq, reached) in &ui.arrivals {
        let Some(i) = seq
            .checked_sub(first)
            .filter(|&i| i < count)
            .and_then(|i| usize::try_from(i).ok())
        else {
            continue;
        };
        if !seen[i] {
            seen[i] = true;
            latencies.push(reached.saturating_duration_since(fed.at[i]));
        }
    }
    latencies.sort_unstable();
    let (mut coalesced, mut lost) = (0, 0);
    for (i, _) in seen.iter().enumerate().filter(|(_, s)| !**s) {
        let seq = first + i as u64;
        let newest = usize::try_from(seq % n)
            .ok()
            .and_then(|d| ui.newest.get(d).copied().flatten());
        if newest.is_some_and(|s| s > seq) {
            coalesced += 1;
        } else {
            lost += 1;
        }
    }

    let mut cpu = cpu_between(&t0, &t1);
    cpu.insert(feeder.to_owned(), fed.cpu);
    let decoded = (c1.applied + c1.merged + c1.dropped + c1.pending)
        .saturating_sub(c0.applied + c0.merged + c0.dropped + c0.pending);
    let mut row = Row {
        plan,
        fed: count,
        achieved: count as f64 / fed.secs,
        decoded: decoded as f64 / window,
        applied: (c1.applied - c0.applied) as f64 / window,
        merged: c2.merged - c0.merged,
        dropped: c2.dropped - c0.dropped,
        coalesced,
        lost,
        p50: percentile_ms(&latencies, 50.0),
        p99: percentile_ms(&latencies, 99.0),
        max: latencies.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
        settled,
        incidents: ui.incidents[incidents_before..].to_vec(),
        traffic_events: c1.traffic_events - c0.traffic_events,
        cpu,
        window,
        keeps_up: false,
        bottleneck: String::new(),
    };
    row.keeps_up = matches!(plan, Plan::Rate(r) if row.applied >= KEEP_UP * r as f64)
        && row.p99 < P99_BOUND_MS
        && lost == 0
        && settled
        && row.incidents.is_empty();
    row.bottleneck = bottleneck(&row, feeder);
    Ok(row)
}

/// The first stage that fell short, and the busiest thread.
fn bottleneck(row: &Row, feeder: &str) -> String {
    let offered = match row.plan {
        Plan::Rate(r) => r as f64,
        Plan::Unpaced => row.achieved,
    };
    let pct = |a: f64, b: f64| 100.0 * a / b;
    let stage = if let Some(first) = row.incidents.first() {
        format!("incident: {first}")
    } else if row.achieved < KEEP_UP * offered {
        format!("{feeder}: fed {:.0} %", pct(row.achieved, offered))
    } else if row.decoded < KEEP_UP * row.achieved {
        format!(
            "server write / client read+decode: {:.0} % of fed decoded",
            pct(row.decoded, row.achieved)
        )
    } else if row.applied < KEEP_UP * row.decoded {
        format!(
            "UI apply: {:.0} % of decoded applied, queue merged {}",
            pct(row.applied, row.decoded),
            row.merged
        )
    } else if !row.settled {
        format!("backlog not drained within {SETTLE:?}")
    } else if row.p99 >= P99_BOUND_MS {
        format!("latency: p99 {:.1} ms", row.p99)
    } else if row.lost > 0 {
        format!("{} points lost", row.lost)
    } else {
        "none".to_owned()
    };
    let busiest = row
        .cpu
        .iter()
        .max_by_key(|(_, c)| c.run_ns)
        .map(|(role, c)| format!("{role} {:.0} %", cpu_pct(c.run_ns, row.window)))
        .unwrap_or_default();
    format!("{stage} (busiest: {busiest})")
}

fn cpu_pct(ns: u64, secs: f64) -> f64 {
    ns as f64 / 1e9 / secs * 100.0
}

/// Ramps through [`RATES`] until a step does not keep up; then, with `unpaced`, one step
/// as fast as the client reads.
fn ramp(
    ui: &mut Ui,
    feeder: &str,
    unpaced: bool,
    start: &mut Start<'_>,
) -> Result<Vec<Row>, BoxError> {
    let mut rows = Vec::new();
    let mut next = 0;
    for rate in RATES {
        let row = run_step(ui, next, Plan::Rate(rate), feeder, start)?;
        eprintln!(
            "{feeder} {rate}/s: applied {:.0}/s, p99 {:.2} ms, {}",
            row.applied, row.p99, row.bottleneck
        );
        next += row.fed;
        let stop = !row.keeps_up;
        rows.push(row);
        if stop {
            break;
        }
    }
    if unpaced {
        let row = run_step(ui, next, Plan::Unpaced, feeder, start)?;
        eprintln!("{feeder} unpaced: applied {:.0}/s", row.applied);
        rows.push(row);
    }
    Ok(rows)
}

fn runtime(name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
}

fn spawn_feeder<S: Sink>(
    name: &str,
    first: u64,
    plan: Plan,
    make: impl FnOnce() -> Result<S, BoxError> + Send + 'static,
) -> std::io::Result<JoinHandle<Result<Fed, BoxError>>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || feed(first, plan, &mut make()?))
}

// ---- The two ramps ---------------------------------------------------------------------------

fn demo_ramp() -> Result<Vec<Row>, BoxError> {
    let server_rt = runtime("demo-srv")?;
    let net_rt = runtime("tb-net")?;
    let mut config = DemoConfig {
        simulate: false,
        ..DemoConfig::default()
    };
    if let Ok(v) = std::env::var("TB_SATURATION_DEMO_QUEUE") {
        config.limits.max_queue = v.parse()?;
    }
    let server = server_rt.block_on(DemoServer::start(config))?;
    let control = server.control();
    let devices: Arc<Vec<EntityId>> = Arc::new(
        control
            .devices()
            .into_iter()
            .filter(|d| d.profile == "thermostat")
            .map(|d| d.id)
            .collect(),
    );
    if devices.is_empty() {
        return Err("the demo tenant has no thermostats".into());
    }
    let mut ui = Ui::new(devices.len() as u64);
    let net = net_rt.block_on(login_and_spawn(&server, ui.queue.clone()))?;
    net.try_send(NetCommand::Subscribe {
        sub: SUB,
        spec: latest_spec()?,
    })?;
    if !ui.until(DEADLINE, |ui| has_page(&ui.store)) {
        return Err(format!("no demo data page within {DEADLINE:?}: {:?}", ui.incidents).into());
    }
    let ts0 = now_ms() + 1_000;
    let rows = ramp(&mut ui, "pusher", false, &mut |first, plan| {
        let (control, devices) = (control.clone(), Arc::clone(&devices));
        spawn_feeder("pusher", first, plan, move || {
            Ok(DemoPusher {
                control,
                devices,
                ts0,
            })
        })
    });
    net.try_send(NetCommand::Shutdown).ok();
    server_rt.block_on(server.shutdown());
    net_rt.shutdown_timeout(Duration::from_secs(2));
    server_rt.shutdown_timeout(Duration::from_secs(2));
    rows
}

fn raw_ramp() -> Result<Vec<Row>, BoxError> {
    let net_rt = runtime("tb-net")?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let ts0 = now_ms() + 1_000;
    let accept = std::thread::Builder::new()
        .name("feeder".to_owned())
        .spawn(move || accept_raw(&listener, ts0))?;

    let mut ui = Ui::new(RAW_DEVICES);
    let queue = ui.queue.clone();
    let net = net_rt.block_on(async move {
        let rest = RestClient::new(&format!("http://{addr}"), TlsTrust::System)?;
        rest.set_tokens(Some(Tokens::new(bench_jwt(), None, now_ms())?));
        Ok::<_, BoxError>(tb_monitor::net::spawn(
            &tokio::runtime::Handle::current(),
            rest,
            SessionConfig::default(),
            queue,
        ))
    })?;
    net.try_send(NetCommand::Subscribe {
        sub: SUB,
        spec: latest_spec()?,
    })?;
    // `accept_raw` ends by its own deadline; drain meanwhile.
    ui.until(DEADLINE + Duration::from_secs(1), |_| accept.is_finished());
    if !accept.is_finished() {
        return Err("the raw feeder did not finish its handshake".into());
    }
    let (ws, cmd_id) = accept
        .join()
        .map_err(|_| "the raw feeder thread panicked")??;
    if !ui.until(DEADLINE, |ui| has_page(&ui.store)) {
        return Err(format!("no raw data page within {DEADLINE:?}: {:?}", ui.incidents).into());
    }
    let frames = Arc::new(Frames::new(cmd_id, ts0)?);
    let ws = Arc::new(Mutex::new(ws));
    let rows = ramp(&mut ui, "feeder", true, &mut |first, plan| {
        let (ws, frames) = (Arc::clone(&ws), Arc::clone(&frames));
        std::thread::Builder::new()
            .name("feeder".to_owned())
            .spawn(move || {
                let mut ws = ws.lock().map_err(|_| "the raw socket's lock is poisoned")?;
                let mut sink = RawWriter {
                    ws: &mut ws,
                    frames: &frames,
                };
                feed(first, plan, &mut sink)
            })
    });
    net.try_send(NetCommand::Shutdown).ok();
    net_rt.shutdown_timeout(Duration::from_secs(2));
    rows
}

// ---- Report ----------------------------------------------------------------------------------

fn rate_text(x: f64) -> String {
    if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn print_table(title: &str, rows: &[Row]) {
    println!();
    println!("{title}");
    println!();
    println!(
        "| offered | fed | decoded | applied | merged / dropped | coalesced / lost | p50 | p99 | max | \
         CPU % of a core, run / waiting | traffic events | keeps up | bottleneck |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let offered = match r.plan {
            Plan::Rate(x) => format!("{}/s", rate_text(x as f64)),
            Plan::Unpaced => "unpaced".to_owned(),
        };
        let total: u64 = r.cpu.values().map(|c| c.run_ns).sum();
        let mut cpu: Vec<String> = r
            .cpu
            .iter()
            .filter(|(_, c)| cpu_pct(c.run_ns + c.wait_ns, r.window) >= 1.0)
            .map(|(role, c)| {
                format!(
                    "{role} {:.0}/{:.0}",
                    cpu_pct(c.run_ns, r.window),
                    cpu_pct(c.wait_ns, r.window)
                )
            })
            .collect();
        cpu.push(format!("total {:.0}", cpu_pct(total, r.window)));
        println!(
            "| {offered} | {} ({}/s) | {}/s | {}/s | {} / {} | {} / {} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} | {} | {} |",
            r.fed,
            rate_text(r.achieved),
            rate_text(r.decoded),
            rate_text(r.applied),
            r.merged,
            r.dropped,
            r.coalesced,
            r.lost,
            r.p50,
            r.p99,
            r.max,
            cpu.join(", "),
            r.traffic_events,
            if r.keeps_up { "yes" } else { "**no**" },
            r.bottleneck,
        );
    }
}

/// The highest offered rate of a step that kept up (0 when none did).
fn saturation(rows: &[Row]) -> u64 {
    rows.iter()
        .filter(|r| r.keeps_up)
        .filter_map(|r| match r.plan {
            Plan::Rate(x) => Some(x),
            Plan::Unpaced => None,
        })
        .max()
        .unwrap_or(0)
}

fn at_rate(rows: &[Row], rate: u64) -> Option<&Row> {
    rows.iter()
        .find(|r| matches!(r.plan, Plan::Rate(x) if x == rate))
}

fn main() -> Result<(), BoxError> {
    let only = std::env::var("TB_SATURATION_ONLY").unwrap_or_default();
    let demo = if only == "raw" {
        Vec::new()
    } else {
        demo_ramp()?
    };
    let raw = if only == "demo" {
        Vec::new()
    } else {
        raw_ramp()?
    };
    println!(
        "Saturation over loopback: steps of {STEP:?}; keeps up = applied >= {:.0} % of offered, \
         p99 < {P99_BOUND_MS} ms, nothing lost, drained within {SETTLE:?}, no incident.",
        KEEP_UP * 100.0
    );
    print_table(
        "Fed by the demo server (push_point → server encode/write → client)",
        &demo,
    );
    print_table("Fed by a raw WebSocket writer (client only)", &raw);
    println!();
    let demo_sat = saturation(&demo);
    let client_sat = saturation(&raw);
    let demo_max = demo.iter().map(|r| r.applied).fold(0.0, f64::max);
    println!("RESULT saturation_demo {demo_sat} msgs/s");
    println!("RESULT saturation_demo_max_applied {demo_max:.0} msgs/s");
    println!("RESULT saturation_client {client_sat} msgs/s");
    if let Some(r) = raw.iter().find(|r| matches!(r.plan, Plan::Unpaced)) {
        println!("RESULT saturation_client_unpaced {:.0} msgs/s", r.applied);
    }
    for (rate, label) in [(1_000, "1k"), (10_000, "10k")] {
        if let Some(r) = at_rate(&demo, rate) {
            println!("RESULT saturation_demo_p50_{label} {:.3} ms", r.p50);
            println!("RESULT saturation_demo_p99_{label} {:.3} ms", r.p99);
        }
    }
    Ok(())
}

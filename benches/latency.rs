//! Push-to-store latency over loopback (issue 4: p99 under 5 ms at 1,000 points/s).
//!
//! The demo server runs in process on a multi-thread runtime with 2 workers, which also runs
//! the client's session task. The client logs in over REST, opens a session and subscribes
//! to the latest `temperature` of the thermostats. A pusher task then pushes points through
//! `DemoControl::push_point` at a steady rate (warm-up 1,000/s for 0.5 s, then 1,000/s for
//! 5 s, then 10,000/s for 3 s; due points are pushed on a 1 ms tick), round-robin over the
//! thermostats, the sequence number as the value, and records the `Instant` of each push.
//! The "UI" (this program's main thread, outside the runtime) sleeps until the `EventQueue`'s
//! waker unparks it, drains the queue, applies every event to a `Store` and records the
//! `Instant` each sequence number reached the store.
//!
//! It runs two scenarios, each against a fresh server and session: first with the UI woken by
//! every push (the core's own latency, the goal), then with the UI draining once per
//! 16.7 ms frame and stalling once for 250 ms during the 10,000/s phase, which fills the
//! queue so that it coalesces.
//!
//! A point that never arrives was either coalesced (the queue merged a newer value of the
//! same device over it while the UI lagged: expected under pressure) or lost (nothing newer
//! of its device arrived either: a bug). At the end the store must hold every device's
//! newest pushed value.
//!
//! Run with `cargo bench --bench latency` (about 20 s). `TB_LATENCY_QUEUE=N` changes the
//! queue capacity (default 1,000).

// A benchmark reports on the terminal; its counts are far below f64's exact range.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss
)]

#[path = "common/loopback.rs"]
mod loopback;

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tb_monitor::demo::{DemoConfig, DemoControl, DemoServer};
use tb_monitor::net::tokens::now_ms;
use tb_monitor::net::{EventQueue, NetCommand, NetEvent};
use tb_monitor::protocol::{EntityId, EntityKeyType};
use tb_monitor::store::{Store, SubData};

use loopback::{KEY, SUB, UnparkWaker, latest_spec, login_and_spawn, sequences};

type BoxError = Box<dyn Error + Send + Sync>;

/// Default capacity of the net → UI queue.
const QUEUE_CAPACITY: usize = 1_000;
/// Bound of every wait for the server or the session.
const DEADLINE: Duration = Duration::from_secs(10);
/// How long the UI waits after the last push for the newest values.
const SETTLE: Duration = Duration::from_secs(3);

/// One stretch of pushes at a steady rate.
#[derive(Debug, Clone, Copy)]
struct Phase {
    name: &'static str,
    per_second: u64,
    count: u64,
}

const PHASES: [Phase; 3] = [
    Phase {
        name: "warm-up 1k/s 0.5 s",
        per_second: 1_000,
        count: 500,
    },
    Phase {
        name: "1,000/s for 5 s",
        per_second: 1_000,
        count: 5_000,
    },
    Phase {
        name: "10,000/s for 3 s",
        per_second: 10_000,
        count: 30_000,
    },
];

/// The pusher's record: the push `Instant` of every sequence number and how long each phase
/// took.
struct Pushed {
    at: Vec<Instant>,
    phase_secs: Vec<f64>,
}

/// Pushes every phase's points on a 1 ms tick, catching up when a tick comes late.
async fn push_all(control: DemoControl, devices: Vec<EntityId>, ts0: i64) -> Pushed {
    let total: u64 = PHASES.iter().map(|p| p.count).sum();
    let mut at = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut phase_secs = Vec::new();
    let mut seq: u64 = 0;
    for phase in PHASES {
        let first = seq;
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while seq < first + phase.count {
            tick.tick().await;
            let elapsed_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            let due = first
                + (elapsed_us.saturating_mul(phase.per_second) / 1_000_000 + 1).min(phase.count);
            while seq < due {
                let device = &devices[usize::try_from(seq).unwrap_or(0) % devices.len()];
                let ts = ts0 + i64::try_from(seq).unwrap_or(i64::MAX);
                at.push(Instant::now());
                control.push_point(device, KEY, ts, seq.to_string());
                seq += 1;
            }
        }
        phase_secs.push(start.elapsed().as_secs_f64());
    }
    Pushed { at, phase_secs }
}

/// The UI side: the store, what reached it and when, and what else the session reported.
struct Ui {
    queue: EventQueue,
    store: Store,
    /// Arrival at the store per sequence number.
    arrived: Vec<Option<Instant>>,
    /// The newest sequence number that reached the store.
    newest_seq: Option<usize>,
    /// Sequence numbers that arrived more than once.
    duplicates: u64,
    /// Events other than our messages worth reporting (closes, errors, lagged).
    incidents: Vec<String>,
    events: u64,
    drains: u64,
}

impl Ui {
    /// Drains and applies everything queued; returns how many events there were.
    fn drain(&mut self) -> usize {
        let batch = self.queue.drain(usize::MAX);
        let n = batch.len();
        if n > 0 {
            self.drains += 1;
        }
        let now = now_ms();
        let mut seqs = Vec::new();
        for event in batch {
            self.events += 1;
            seqs.clear();
            sequences(&event, &mut seqs);
            match &event {
                NetEvent::Closed { .. }
                | NetEvent::SubscriptionError { .. }
                | NetEvent::Lagged { .. }
                | NetEvent::BadFrame { .. }
                | NetEvent::Gap { .. }
                | NetEvent::SessionExpired => self.incidents.push(format!("{event:?}")),
                _ => {}
            }
            self.store.apply(event, now);
            let reached = Instant::now();
            for &seq in &seqs {
                let Some(slot) = usize::try_from(seq)
                    .ok()
                    .and_then(|i| self.arrived.get_mut(i))
                else {
                    continue;
                };
                if slot.is_some() {
                    self.duplicates += 1;
                } else {
                    *slot = Some(reached);
                }
                let seq = usize::try_from(seq).unwrap_or(usize::MAX);
                self.newest_seq = Some(self.newest_seq.map_or(seq, |n| n.max(seq)));
            }
        }
        n
    }

    /// Sleeps until woken (or `max`), then drains.
    fn wait_and_drain(&mut self, max: Duration) -> usize {
        if self.queue.is_empty() {
            std::thread::park_timeout(max);
        }
        self.drain()
    }

    /// Drains until `done` holds for the store, or `within` passes.
    fn until(&mut self, within: Duration, done: impl Fn(&Store) -> bool) -> bool {
        let end = Instant::now() + within;
        loop {
            self.drain();
            if done(&self.store) {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.wait_and_drain(left.min(Duration::from_millis(50)));
        }
    }

    /// Consumes the queue the scenario's way until the pusher is done (at most 20 s).
    fn follow(
        &mut self,
        scenario: &Scenario,
        task: &tokio::task::JoinHandle<Pushed>,
    ) -> Result<(), BoxError> {
        let started = Instant::now();
        let mut next_frame = Instant::now();
        let mut stalled = false;
        while !task.is_finished() {
            if let Some((at, pause)) = scenario.stall
                && !stalled
                && self.newest_seq.is_some_and(|s| s >= at)
            {
                stalled = true;
                std::thread::sleep(pause);
            }
            match scenario.frame {
                Some(frame) => {
                    next_frame += frame;
                    let now = Instant::now();
                    if next_frame > now {
                        std::thread::sleep(next_frame - now);
                    } else {
                        next_frame = now;
                    }
                    self.drain();
                }
                None => {
                    self.wait_and_drain(Duration::from_millis(50));
                }
            }
            if started.elapsed() > Duration::from_secs(20) {
                task.abort();
                return Err("the pusher did not finish within 20 s".into());
            }
        }
        Ok(())
    }

    /// The newest value of `device` the store holds.
    fn value_of(store: &Store, device: &EntityId) -> Option<String> {
        let Some(SubData::Entities(page)) = store.subs.get(&SUB) else {
            return None;
        };
        page.row(device)?
            .latest_value(&EntityKeyType::TimeSeries, KEY)
            .map(|v| v.text().to_owned())
    }
}

fn has_page(store: &Store) -> bool {
    matches!(store.subs.get(&SUB), Some(SubData::Entities(p)) if p.has_data())
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

/// Statistics of one phase.
struct Row {
    name: &'static str,
    rate: f64,
    pushed: usize,
    arrived: usize,
    coalesced: usize,
    lost: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn phase_rows(pushed: &Pushed, arrived: &[Option<Instant>], devices: usize) -> Vec<Row> {
    // The newest arrived sequence number per device, to tell coalesced from lost.
    let mut newest_arrived: Vec<Option<usize>> = vec![None; devices];
    for (seq, a) in arrived.iter().enumerate() {
        if a.is_some() {
            newest_arrived[seq % devices] = Some(seq);
        }
    }
    let mut rows = Vec::new();
    let mut first = 0usize;
    for (phase, secs) in PHASES.iter().zip(&pushed.phase_secs) {
        let end = (first + usize::try_from(phase.count).unwrap_or(0)).min(pushed.at.len());
        let mut latencies = Vec::new();
        let (mut coalesced, mut lost) = (0, 0);
        for seq in first..end {
            match arrived.get(seq).copied().flatten() {
                Some(reached) => latencies.push(reached.saturating_duration_since(pushed.at[seq])),
                None if newest_arrived[seq % devices].is_some_and(|n| n > seq) => coalesced += 1,
                None => lost += 1,
            }
        }
        latencies.sort_unstable();
        rows.push(Row {
            name: phase.name,
            rate: (end - first) as f64 / secs,
            pushed: end - first,
            arrived: latencies.len(),
            coalesced,
            lost,
            p50: percentile_ms(&latencies, 50.0),
            p90: percentile_ms(&latencies, 90.0),
            p99: percentile_ms(&latencies, 99.0),
            max: latencies.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
        });
        first = end;
    }
    rows
}

fn print_table(rows: &[Row]) {
    println!(
        "| phase | achieved rate | pushed | arrived | coalesced | lost | p50 | p90 | p99 | max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {:.0}/s | {} | {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            r.name, r.rate, r.pushed, r.arrived, r.coalesced, r.lost, r.p50, r.p90, r.p99, r.max
        );
    }
}

/// How the "UI" consumes the queue.
struct Scenario {
    name: &'static str,
    /// Drain once per frame of this length instead of on every wake-up.
    frame: Option<Duration>,
    /// Once this sequence number has arrived, do not drain for this long (a UI hiccup).
    stall: Option<(usize, Duration)>,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "UI woken by every push (the core's own latency)",
        frame: None,
        stall: None,
    },
    Scenario {
        name: "UI drains once per 16.7 ms frame, one 250 ms stall at 10,000/s (pressure)",
        frame: Some(Duration::from_micros(16_667)),
        stall: Some((20_000, Duration::from_millis(250))),
    },
];

/// Runs the pushes against a fresh server and session; prints the table. Returns whether
/// every device's newest value arrived and nothing was lost.
fn run(scenario: &Scenario, capacity: usize) -> Result<bool, BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = runtime.block_on(DemoServer::start(DemoConfig {
        simulate: false,
        ..DemoConfig::default()
    }))?;
    let control = server.control();
    let devices: Vec<EntityId> = control
        .devices()
        .into_iter()
        .filter(|d| d.profile == "thermostat")
        .map(|d| d.id)
        .collect();
    if devices.is_empty() {
        return Err("the demo tenant has no thermostats".into());
    }
    let total: u64 = PHASES.iter().map(|p| p.count).sum();

    let queue = EventQueue::new(capacity, Arc::new(UnparkWaker(std::thread::current())));
    let net = runtime.block_on(login_and_spawn(&server, queue.clone()))?;
    net.try_send(NetCommand::Subscribe {
        sub: SUB,
        spec: latest_spec()?,
    })?;
    let mut ui = Ui {
        queue,
        store: Store::new(),
        arrived: vec![None; usize::try_from(total)?],
        newest_seq: None,
        duplicates: 0,
        incidents: Vec::new(),
        events: 0,
        drains: 0,
    };
    if !ui.until(DEADLINE, has_page) {
        return Err(format!("no data page within {DEADLINE:?}: {:?}", ui.incidents).into());
    }
    let on_page = match ui.store.subs.get(&SUB) {
        Some(SubData::Entities(p)) => p.len(),
        _ => 0,
    };
    println!();
    println!("{}", scenario.name);
    println!("{on_page} thermostats on the page, queue capacity {capacity}, UI on its own thread");

    let ts0 = now_ms() + 1_000;
    let task = runtime.spawn(push_all(control.clone(), devices.clone(), ts0));
    ui.follow(scenario, &task)?;
    let pushed = runtime.block_on(task)?;
    let pushed_len = pushed.at.len();
    // The newest value of each device must reach the store.
    let expected: Vec<(EntityId, String)> = devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let last = (0..pushed_len).rev().find(|s| s % devices.len() == i)?;
            Some((d.clone(), last.to_string()))
        })
        .collect();
    let newest_ok = ui.until(SETTLE, |store| {
        expected
            .iter()
            .all(|(d, v)| Ui::value_of(store, d).as_deref() == Some(v.as_str()))
    });
    let stats = ui.queue.stats();
    net.try_send(NetCommand::Shutdown).ok();

    let rows = phase_rows(&pushed, &ui.arrived, devices.len());
    print_table(&rows);
    println!(
        "queue: {} updates merged (coalesced), {} dropped; {} events in {} drains; \
         {} duplicate arrivals",
        stats.merged, stats.dropped, ui.events, ui.drains, ui.duplicates
    );
    if newest_ok {
        println!(
            "newest value per device: all {} devices hold their last pushed value",
            expected.len()
        );
    } else {
        let missing: Vec<String> = expected
            .iter()
            .filter(|(d, v)| Ui::value_of(&ui.store, d).as_deref() != Some(v.as_str()))
            .map(|(d, v)| format!("{d}: wanted {v}, holds {:?}", Ui::value_of(&ui.store, d)))
            .collect();
        println!("newest value per device: MISSING for {missing:?}");
    }
    for incident in &ui.incidents {
        println!("incident: {incident}");
    }
    runtime.block_on(server.shutdown());
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(newest_ok && rows.iter().all(|r| r.lost == 0))
}

fn main() -> Result<(), BoxError> {
    let capacity = match std::env::var("TB_LATENCY_QUEUE") {
        Ok(v) => v.parse()?,
        Err(_) => QUEUE_CAPACITY,
    };
    let mut ok = true;
    for scenario in &SCENARIOS {
        ok &= run(scenario, capacity)?;
    }
    if !ok {
        return Err("points were lost".into());
    }
    Ok(())
}

//! The soak: a client session against an in-process demo server while points flow at a steady
//! rate and a fault is injected every few seconds; at the end nothing may be lost.
//!
//! The rules the driver ([`soak`]) follows:
//!
//! - **The client is the app's.** `RestClient` login, `net::spawn`, an `EventQueue`, and a
//!   "UI" loop that drains it into a `Store` and answers lagged subscriptions with
//!   `Store::resync_lagged`, as the app does each frame. Its subscriptions: the latest values
//!   of every device (`ENTITY_DATA` `latestCmd`), a raw time series of two devices
//!   (`ENTITY_DATA` `tsCmd`), a v1 `TIMESERIES` of a third (its points fed to the store's
//!   series), and the unread notification count.
//! - **Every point is recorded.** A pusher pushes [`PUSH_PER_S`] points a second round-robin
//!   over the checked series and a latest-only key spread over all devices, each with its own
//!   strictly increasing timestamps a little behind the clock (the demo's history fetch stops
//!   at its own now, unlike ThingsBoard's), and sends a notification every few seconds.
//! - **Faults come from a seeded shuffle bag.** Every kind of [`Fault`] once per round, in a
//!   random order, a random 0.3–2 s apart; the fault phase ends at the first round boundary
//!   after `duration`, so every kind is injected at least once and all equally often. After
//!   a fault that drops the connection the injector waits (bounded) for the session to be
//!   live again, so each such fault is one reconnect at least.
//! - **A checkpoint after every fault.** Before the next fault, the store must hold every
//!   point pushed so far (bounded by [`RECOVERY`]). Without it a hole left by one fault (say
//!   a UI stall whose lagged subscription is never resynced) would be filled by the next
//!   reconnect's backfill, which fetches a minute again, and the final count would miss it.
//! - **Timings are scaled** so that faults recover in about a second: the session pings every
//!   250 ms, declares the link dead after 1 s and backs off 100 ms to 1 s; the UI's queue
//!   holds 500 events and merges 200 points an update (the app's: 10,000 and 50,000), so
//!   a UI stall of 1–3 s overflows it and the resync path runs.
//! - **The end is compared with ground truth.** Faults stop, the pusher stops, and the UI
//!   keeps draining until (bounded by [`SETTLE`]) the store holds every pushed point of each
//!   checked series exactly once with its value and nothing else, every latest value equals
//!   `DemoControl::latest`, and the unread count equals the server's.
//! - **Offline ends it.** A session that goes offline (session expired, certificate refused)
//!   waits for the user's login, so the faults stop there and the report says why and after
//!   which faults. Panics anywhere in the process are counted; any fails the soak.
//!
//! `a_short_soak_with_random_faults_loses_no_point` runs in CI (one round: about 15 s in a
//! debug build); `soak_long` (ignored) is what `scripts/soak` runs: `TB_SOAK_SECS` (default 3600),
//! `TB_SOAK_SEED` (default from the clock, printed), the report written as markdown to
//! `TB_SOAK_REPORT` (default `target/soak-report.md`).

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/session.rs"]
mod session;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use session::{Client, DEADLINE, now_ms};
use tb_monitor::demo::notifications::NewNotification;
use tb_monitor::demo::rng::Rng;
use tb_monitor::demo::{DemoConfig, DemoControl, DemoServer};
use tb_monitor::net::event::QueueStats;
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::net::{ConnState, EventQueue, NetCommand, NetEvent, SessionConfig, SubSpec};
use tb_monitor::protocol::{EntityDataCmd, EntityId, TimeseriesSubscriptionCmd};
use tb_monitor::store::{Store, SubData};
use tokio::time::Instant;

/// Points pushed a second, over all lanes.
const PUSH_PER_S: u64 = 300;
/// A notification to the tenant administrator this often.
const NOTIFY_EVERY: Duration = Duration::from_secs(2);
/// Devices of the demo tenant (the latest-only key goes round all of them).
const DEVICES: usize = 20;
/// The demo's outbound queue per session (ThingsBoard's default).
const DEMO_MAX_QUEUE: usize = 1000;
/// The UI's event queue and merge cap (scaled down from the app's 10,000 and 50,000).
const UI_CAPACITY: usize = 500;
const UI_MERGED_POINTS: usize = 200;
/// Pause between two faults: uniform in this range.
const FAULT_GAP_MS: (u64, u64) = (300, 2000);
/// After a fault, the session must be live again (if the fault dropped it) within this, and
/// then the store must hold every point pushed so far within this again.
const RECOVERY: Duration = Duration::from_secs(15);
/// After the faults stop, the store must match the ground truth within this.
const SETTLE: Duration = Duration::from_mins(1);
/// The tenant administrator, who gets the notifications.
const TENANT_EMAIL: &str = "tenant@thingsboard.org";

/// The subscriptions, by the UI's ids.
const LATEST_SUB: u64 = 1;
const SERIES_SUB: u64 = 2;
const V1_SUB: u64 = 3;
const UNREAD_SUB: u64 = 4;

/// Keys: two series keys of the `tsCmd` subscription, the key of the overflow bursts (in the
/// `tsCmd` subscription too), the v1 key, and the latest-only key. None has a simulated
/// signal: only pushed points exist.
const SERIES_KEYS: [&str; 2] = ["soak_a", "soak_b"];
const BURST_KEY: &str = "soak_burst";
const V1_KEY: &str = "soak_v";
const LATEST_KEY: &str = "soak_l";

/// What the injector does to the server or the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    /// Every session closed with 1001.
    DropGraceful,
    /// Every TCP connection dropped without a close frame.
    DropAbrupt,
    /// Connections dropped and refused for 0.2–1 s.
    Restart,
    /// The server neither reads nor writes for 0.2–0.5 s (under the client's 1 s dead-link
    /// limit: nothing should happen).
    StallShort,
    /// The same for 1.5–2.5 s: the client declares the link dead and reconnects.
    StallLong,
    /// ThingsBoard's ping-timeout close.
    Close4500,
    /// An internal-error close.
    Close1011,
    /// The server stalls, a burst of points overflows its 1,000-frame queue: 1008 "Max
    /// pending updates limit reached!".
    Overflow1008,
    /// Every access token issued so far turns expired (the socket stays; the next reconnect
    /// is refused 1007 and refreshes).
    ExpireAccessTokens,
    /// A malformed frame (counted by the client; the socket stays).
    BadFrame,
    /// The UI loop stops draining for 1–3 s.
    UiStall,
}

impl Fault {
    const ALL: [Fault; 11] = [
        Fault::DropGraceful,
        Fault::DropAbrupt,
        Fault::Restart,
        Fault::StallShort,
        Fault::StallLong,
        Fault::Close4500,
        Fault::Close1011,
        Fault::Overflow1008,
        Fault::ExpireAccessTokens,
        Fault::BadFrame,
        Fault::UiStall,
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::DropGraceful => "drop (graceful, 1001)",
            Fault::DropAbrupt => "drop (abrupt)",
            Fault::Restart => "restart (0.2-1 s outage)",
            Fault::StallShort => "server stall 0.2-0.5 s (< dead_after)",
            Fault::StallLong => "server stall 1.5-2.5 s (> dead_after)",
            Fault::Close4500 => "close 4500",
            Fault::Close1011 => "close 1011",
            Fault::Overflow1008 => "queue overflow 1008",
            Fault::ExpireAccessTokens => "access tokens expired",
            Fault::BadFrame => "bad raw frame",
            Fault::UiStall => "UI stall 1-3 s",
        }
    }

    /// Whether the client must reconnect after it.
    fn drops_connection(self) -> bool {
        matches!(
            self,
            Fault::DropGraceful
                | Fault::DropAbrupt
                | Fault::Restart
                | Fault::StallLong
                | Fault::Close4500
                | Fault::Close1011
                | Fault::Overflow1008
        )
    }
}

/// Malformed frames the server sends for [`Fault::BadFrame`].
const BAD_FRAMES: [&str; 3] = [
    "this is not JSON",
    "{\"subscriptionId\": 1, \"errorCode\": 0, \"data\": {\"temperature\": [[",
    "{\"cmdId\": 2, \"cmdUpdateType\": \"ENTITY_DATA\", \"data\": 17}",
];

/// The session's timings, scaled so that a fault recovers in about a second.
fn session_config() -> SessionConfig {
    SessionConfig {
        ping_interval: Duration::from_millis(250),
        dead_after: Duration::from_secs(1),
        backoff_base: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(5),
        tick: Duration::from_millis(50),
        too_many_updates_retry: Duration::from_secs(1),
        ..SessionConfig::default()
    }
}

// ----- what was pushed ------------------------------------------------------------------------

/// One checked series: where it is stored and every point pushed to it, in push order.
#[derive(Debug)]
struct Lane {
    sub: u64,
    entity: EntityId,
    entity_name: String,
    key: &'static str,
    /// Pushed points, strictly increasing in time.
    points: Vec<(i64, f64)>,
}

impl Lane {
    fn new(sub: u64, device: &tb_monitor::demo::DeviceInfo, key: &'static str) -> Self {
        Self {
            sub,
            entity: device.id.clone(),
            entity_name: device.name.clone(),
            key,
            points: Vec::new(),
        }
    }

    /// The next timestamp: a little behind the clock (the demo's history stops at its now),
    /// strictly after the last one, and never before `floor`.
    fn next_ts(&self, floor: i64) -> i64 {
        let last = self.points.last().map_or(i64::MIN, |p| p.0);
        floor.max(last.saturating_add(1))
    }
}

/// Everything pushed: the checked series and the pairs whose latest value is compared.
#[derive(Debug)]
struct Ledger {
    /// The `tsCmd` series lanes, then the v1 lane.
    lanes: Vec<Lane>,
    /// The burst lane of [`Fault::Overflow1008`] (part of the `tsCmd` subscription).
    burst: Lane,
    /// Every device, for the latest-only key.
    devices: Vec<EntityId>,
    /// Points pushed so far (their values are `n + 0.5`).
    pushed: u64,
}

impl Ledger {
    fn new(control: &DemoControl) -> Self {
        let devices = control.devices();
        assert!(devices.len() >= 3, "the soak needs three devices");
        let mut lanes = Vec::new();
        for device in &devices[..2] {
            for key in SERIES_KEYS {
                lanes.push(Lane::new(SERIES_SUB, device, key));
            }
        }
        lanes.push(Lane::new(V1_SUB, &devices[2], V1_KEY));
        Self {
            lanes,
            burst: Lane::new(SERIES_SUB, &devices[0], BURST_KEY),
            devices: devices.into_iter().map(|d| d.id).collect(),
            pushed: 0,
        }
    }

    fn next_value(&mut self) -> f64 {
        self.pushed += 1;
        // Exact in an f64 up to 2^52 points.
        #[allow(clippy::cast_precision_loss)]
        let n = self.pushed as f64;
        n + 0.5
    }

    /// Pushes the next point: round-robin over the lanes and the latest-only key.
    fn push_next(&mut self, control: &DemoControl) {
        let slot = usize::try_from(self.pushed).unwrap() % (self.lanes.len() + 1);
        let floor = now_ms() - 50;
        let value = self.next_value();
        if let Some(lane) = self.lanes.get_mut(slot) {
            let ts = lane.next_ts(floor);
            lane.points.push((ts, value));
            control.push_point(&lane.entity, lane.key, ts, value.to_string());
        } else {
            let round = usize::try_from(self.pushed).unwrap() / (self.lanes.len() + 1);
            let device = &self.devices[round % self.devices.len()];
            control.push_point(device, LATEST_KEY, now_ms() - 50, value.to_string());
        }
    }

    /// Pushes `n` points on the burst lane at once, 1 ms apart, about 10 s in the past
    /// (well behind the clock, so the whole burst is in the server's history at once).
    fn burst(&mut self, control: &DemoControl, n: usize) {
        let floor = now_ms() - 10_000;
        for _ in 0..n {
            let value = self.next_value();
            let ts = self.burst.next_ts(floor);
            self.burst.points.push((ts, value));
            control.push_point(&self.burst.entity, BURST_KEY, ts, value.to_string());
        }
    }

    /// The checked lanes, the burst lane last.
    fn all_lanes(&self) -> impl Iterator<Item = &Lane> {
        self.lanes.iter().chain(std::iter::once(&self.burst))
    }

    /// Points pushed so far per lane of [`Ledger::all_lanes`].
    fn lens(&self) -> Vec<usize> {
        self.all_lanes().map(|l| l.points.len()).collect()
    }

    /// The (entity, key) pairs whose latest value the latest-values subscription holds.
    fn latest_pairs(&self) -> Vec<(EntityId, &'static str)> {
        let mut pairs: Vec<(EntityId, &'static str)> = self
            .lanes
            .iter()
            .map(|l| (l.entity.clone(), l.key))
            .collect();
        pairs.extend(self.devices.iter().map(|d| (d.clone(), LATEST_KEY)));
        pairs
    }
}

/// Pushes [`PUSH_PER_S`] points a second and a notification every [`NOTIFY_EVERY`] until
/// `stop`.
async fn push(control: DemoControl, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent: u64 = 0;
    let mut next_notice = start;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let due = u64::try_from(start.elapsed().as_millis()).unwrap() * PUSH_PER_S / 1000;
        {
            let mut ledger = ledger.lock().unwrap();
            while sent < due {
                ledger.push_next(&control);
                sent += 1;
            }
        }
        if Instant::now() >= next_notice {
            next_notice += NOTIFY_EVERY;
            let notice = NewNotification::General {
                subject: format!("soak {sent}"),
                text: "a notification during the soak".to_owned(),
            };
            control.send_notification(TENANT_EMAIL, &notice).unwrap();
        }
    }
}

// ----- the UI ---------------------------------------------------------------------------------

/// What the injector and the UI loop share.
#[derive(Debug, Default)]
struct Signals {
    /// `Live` transitions the UI has applied.
    lives: AtomicU64,
    /// The UI drains nothing until then.
    ui_paused_until: Mutex<Option<Instant>>,
    /// Points per lane ([`Ledger::all_lanes`]) the store must hold before the next fault;
    /// the UI clears it once it does.
    checkpoint: Mutex<Option<Vec<usize>>>,
    /// The first point the last look at the checkpoint found missing.
    missing: Mutex<String>,
    /// Why the session went offline (it then waits for a new login: the soak is over).
    offline: Mutex<Option<String>>,
}

impl Signals {
    fn is_offline(&self) -> bool {
        self.offline.lock().unwrap().is_some()
    }
}

/// Counts of what the UI received.
#[derive(Debug, Default)]
struct Tally {
    lives: u64,
    offline: u64,
    closes: BTreeMap<u16, u64>,
    gaps: BTreeMap<u64, u64>,
    lagged: u64,
    resyncs: u64,
    bad_frames: u64,
    session_expired: u64,
    subscription_errors: Vec<String>,
    msgs: u64,
}

impl Tally {
    fn see(&mut self, ev: &NetEvent) {
        match ev {
            NetEvent::Connection(ConnState::Live) => self.lives += 1,
            NetEvent::Connection(ConnState::Offline { .. }) => self.offline += 1,
            NetEvent::Closed { code, .. } => *self.closes.entry(*code).or_default() += 1,
            NetEvent::Gap { sub, .. } => *self.gaps.entry(*sub).or_default() += 1,
            NetEvent::Lagged { subs } => self.lagged += subs.len() as u64,
            NetEvent::Resynced { .. } => self.resyncs += 1,
            NetEvent::BadFrame { .. } => self.bad_frames += 1,
            NetEvent::SessionExpired => self.session_expired += 1,
            NetEvent::SubscriptionError { sub, code, message }
                if self.subscription_errors.len() < 20 =>
            {
                self.subscription_errors
                    .push(format!("sub {sub}: {code} {message}"));
            }
            NetEvent::Traffic { msgs, .. } => self.msgs += u64::from(*msgs),
            _ => {}
        }
    }
}

/// The UI thread: drains the queue into the store as the app does each frame.
struct Ui {
    client: Client,
    store: Store,
    tally: Tally,
    signals: Arc<Signals>,
    ledger: Arc<Mutex<Ledger>>,
    /// Per lane, how many of its first points the store was seen to hold.
    verified: Vec<usize>,
}

impl Ui {
    /// One frame: unless paused, applies everything waiting and resyncs the lagged
    /// subscriptions; then waits up to 20 ms for more.
    async fn step(&mut self) {
        let paused = *self.signals.ui_paused_until.lock().unwrap();
        if let Some(until) = paused.filter(|u| *u > Instant::now()) {
            tokio::time::sleep_until(until.min(Instant::now() + Duration::from_millis(50))).await;
            return;
        }
        loop {
            let batch = self.client.queue.drain(256);
            if batch.is_empty() {
                break;
            }
            for ev in batch {
                self.tally.see(&ev);
                match &ev {
                    NetEvent::Connection(ConnState::Live) => {
                        self.signals.lives.fetch_add(1, Ordering::Relaxed);
                    }
                    NetEvent::Connection(ConnState::Offline { reason }) => {
                        self.signals
                            .offline
                            .lock()
                            .unwrap()
                            .get_or_insert(reason.clone());
                    }
                    _ => {}
                }
                self.store.apply(ev, now_ms());
            }
        }
        let net = &self.client.net;
        self.store.resync_lagged(|cmd| net.try_send(cmd));
        self.checkpoint();
        tokio::time::timeout(Duration::from_millis(20), self.client.notify.notified())
            .await
            .ok();
    }

    /// Clears the checkpoint once the store holds every point it names (each point is
    /// looked up once: the store never drops one within the soak's bounds).
    fn checkpoint(&mut self) {
        let Some(targets) = self.signals.checkpoint.lock().unwrap().clone() else {
            return;
        };
        let ledger = self.ledger.lock().unwrap();
        let mut missing = None;
        for (i, lane) in ledger.all_lanes().enumerate() {
            let key = (lane.sub, lane.entity.clone(), lane.key.to_owned());
            let series = self.store.series.get(&key);
            while self.verified[i] < targets[i] {
                let (ts, value) = lane.points[self.verified[i]];
                if series.is_some_and(|s| {
                    s.points_in(ts, ts)
                        .any(|p| p.1.to_bits() == value.to_bits())
                }) {
                    self.verified[i] += 1;
                } else {
                    missing = Some(format!(
                        "{} `{}` point {} of {} (ts {ts})",
                        lane.entity_name,
                        lane.key,
                        self.verified[i] + 1,
                        targets[i]
                    ));
                    break;
                }
            }
        }
        drop(ledger);
        match missing {
            None => *self.signals.checkpoint.lock().unwrap() = None,
            Some(m) => *self.signals.missing.lock().unwrap() = m,
        }
    }

    /// Steps until `done` holds; panics at `limit`.
    async fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&Store) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.store) {
            assert!(Instant::now() < deadline, "no {what} within {limit:?}");
            self.step().await;
        }
    }
}

// ----- the faults -----------------------------------------------------------------------------

/// What the injector did.
#[derive(Debug, Default)]
struct Injected {
    faults: BTreeMap<Fault, u64>,
    /// Per kind, the longest time from injecting the fault to the store holding every point
    /// pushed until the fault was over (its recovery included).
    slowest: BTreeMap<Fault, Duration>,
    /// Faults after which the session was not live again within [`RECOVERY`], or the store
    /// did not catch up.
    unrecovered: Vec<String>,
}

/// A random duration in `[lo_ms, hi_ms]`.
fn between(rng: &mut Rng, lo_ms: u64, hi_ms: u64) -> Duration {
    Duration::from_millis(lo_ms + rng.below(hi_ms - lo_ms + 1))
}

/// Injects faults from a shuffle bag until `duration` has passed and a round is complete,
/// or until the session goes offline (it would wait for a new login).
async fn inject(
    control: DemoControl,
    ledger: Arc<Mutex<Ledger>>,
    signals: Arc<Signals>,
    seed: u64,
    duration: Duration,
) -> Injected {
    let mut rng = Rng::new(seed);
    let mut bag: Vec<Fault> = Vec::new();
    let mut done = Injected::default();
    let mut recent: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let start = Instant::now();
    loop {
        if bag.is_empty() {
            if start.elapsed() >= duration {
                return done;
            }
            bag = Fault::ALL.to_vec();
            for i in (1..bag.len()).rev() {
                let j = usize::try_from(rng.below(i as u64 + 1)).unwrap();
                bag.swap(i, j);
            }
        }
        tokio::time::sleep(between(&mut rng, FAULT_GAP_MS.0, FAULT_GAP_MS.1)).await;
        let fault = bag.pop().unwrap();
        *done.faults.entry(fault).or_default() += 1;
        let lives = signals.lives.load(Ordering::Relaxed);
        let at = start.elapsed();
        let injected_at = Instant::now();
        if recent.len() == 4 {
            recent.pop_front();
        }
        recent.push_back(format!("{} at {:.1} s", fault.name(), at.as_secs_f64()));
        match fault {
            Fault::DropGraceful => control.drop_connections(true),
            Fault::DropAbrupt => control.drop_connections(false),
            Fault::Restart => control.restart(between(&mut rng, 200, 1000)),
            Fault::StallShort => control.stall_sessions(between(&mut rng, 200, 500)),
            Fault::StallLong => control.stall_sessions(between(&mut rng, 1500, 2500)),
            Fault::Close4500 => control.close_sessions(4500, ""),
            Fault::Close1011 => control.close_sessions(1011, "Internal server error"),
            Fault::Overflow1008 => {
                control.stall_sessions(Duration::from_secs(3));
                ledger.lock().unwrap().burst(&control, DEMO_MAX_QUEUE + 100);
            }
            Fault::ExpireAccessTokens => control.expire_access_tokens(),
            Fault::BadFrame => {
                let frame = BAD_FRAMES[usize::try_from(rng.below(3)).unwrap()];
                control.send_raw_frame(frame);
            }
            Fault::UiStall => {
                let pause = between(&mut rng, 1000, 3000);
                *signals.ui_paused_until.lock().unwrap() = Some(Instant::now() + pause);
                tokio::time::sleep(pause).await;
            }
        }
        if fault.drops_connection() {
            let deadline = Instant::now() + RECOVERY;
            while signals.lives.load(Ordering::Relaxed) == lives
                && Instant::now() < deadline
                && !signals.is_offline()
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if signals.lives.load(Ordering::Relaxed) == lives && !signals.is_offline() {
                done.unrecovered.push(format!(
                    "{} at {:.1} s: not live again within {RECOVERY:?}",
                    fault.name(),
                    at.as_secs_f64()
                ));
            }
        }
        if let Some(why) = went_offline(&signals, &recent) {
            done.unrecovered.push(why);
            return done;
        }
        // Before the next fault (whose reconnect would backfill a minute and hide a hole),
        // the store must hold every point pushed so far.
        let targets = ledger.lock().unwrap().lens();
        *signals.checkpoint.lock().unwrap() = Some(targets);
        let deadline = Instant::now() + RECOVERY;
        while signals.checkpoint.lock().unwrap().is_some()
            && Instant::now() < deadline
            && !signals.is_offline()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if signals.checkpoint.lock().unwrap().take().is_some() {
            done.unrecovered.push(format!(
                "{} at {:.1} s: after {RECOVERY:?} the store still lacks {}",
                fault.name(),
                at.as_secs_f64(),
                signals.missing.lock().unwrap()
            ));
        } else {
            let took = injected_at.elapsed();
            let slowest = done.slowest.entry(fault).or_default();
            *slowest = (*slowest).max(took);
        }
        if let Some(why) = went_offline(&signals, &recent) {
            done.unrecovered.push(why);
            return done;
        }
    }
}

/// Why the session went offline and the faults just before, if it did.
fn went_offline(signals: &Signals, recent: &std::collections::VecDeque<String>) -> Option<String> {
    let reason = signals.offline.lock().unwrap().clone()?;
    let faults: Vec<&str> = recent.iter().map(String::as_str).collect();
    Some(format!(
        "the session went offline (\"{reason}\"); the last faults: {}",
        faults.join(", ")
    ))
}

// ----- the comparison -------------------------------------------------------------------------

/// One checked series against what the store holds.
#[derive(Debug, Clone)]
struct LaneCheck {
    name: String,
    pushed: usize,
    stored: usize,
    /// Pushed points the store lacks (or holds with another value).
    lost: usize,
    /// Timestamps the store holds more than once.
    duplicates: usize,
    /// Stored points that were never pushed (or with another value).
    unexpected: usize,
    /// The first lost point, for the failure message.
    first_lost: Option<i64>,
}

fn check_lane(store: &Store, lane: &Lane) -> LaneCheck {
    let stored = session::stored_points(store, lane.sub, &lane.entity, lane.key);
    let pushed: BTreeMap<i64, f64> = lane.points.iter().copied().collect();
    let held = |ts: i64, value: f64| {
        let from = stored.partition_point(|p| p.0 < ts);
        stored[from..]
            .iter()
            .take_while(|p| p.0 == ts)
            .any(|p| p.1.to_bits() == value.to_bits())
    };
    let lost: Vec<i64> = lane
        .points
        .iter()
        .filter(|(ts, v)| !held(*ts, *v))
        .map(|p| p.0)
        .collect();
    LaneCheck {
        name: format!("{} `{}` (sub {})", lane.entity_name, lane.key, lane.sub),
        pushed: lane.points.len(),
        stored: stored.len(),
        lost: lost.len(),
        duplicates: stored.windows(2).filter(|w| w[0].0 == w[1].0).count(),
        unexpected: stored
            .iter()
            .filter(|(ts, v)| pushed.get(ts) != Some(v))
            .count(),
        first_lost: lost.first().copied(),
    }
}

/// The store against the ground truth.
#[derive(Debug, Clone)]
struct Check {
    lanes: Vec<LaneCheck>,
    latest_checked: usize,
    latest_mismatches: Vec<String>,
    unread: (i64, Option<i64>),
}

impl Check {
    fn of(store: &Store, ledger: &Ledger, control: &DemoControl) -> Self {
        let mut lanes: Vec<LaneCheck> = ledger.lanes.iter().map(|l| check_lane(store, l)).collect();
        lanes.push(check_lane(store, &ledger.burst));
        let pairs = ledger.latest_pairs();
        let latest_mismatches = pairs
            .iter()
            .filter_map(|(entity, key)| {
                let held = session::stored_latest(store, LATEST_SUB, entity, key);
                let truth = control.latest(entity, key);
                (held != truth).then(|| format!("{} {key}: {held:?} != {truth:?}", entity.id))
            })
            .collect();
        let unread = match store.subs.get(&UNREAD_SUB) {
            Some(SubData::Unread(count)) => count.count(),
            _ => None,
        };
        Self {
            lanes,
            latest_checked: pairs.len(),
            latest_mismatches,
            unread: (control.unread_notifications(TENANT_EMAIL), unread),
        }
    }

    fn clean(&self) -> bool {
        self.lanes
            .iter()
            .all(|l| l.lost == 0 && l.duplicates == 0 && l.unexpected == 0)
            && self.latest_mismatches.is_empty()
            && Some(self.unread.0) == self.unread.1
    }
}

// ----- the report -----------------------------------------------------------------------------

/// What a soak did and found.
#[derive(Debug)]
struct SoakReport {
    seed: u64,
    /// How long faults were injected.
    faulted_for: Duration,
    /// From the end of the faults to a store matching the ground truth (`None`: it never
    /// did within [`SETTLE`]).
    settled_in: Option<Duration>,
    injected: Injected,
    tally: Tally,
    check: Check,
    /// Disconnect intervals the store holds for the `tsCmd` subscription.
    stored_gaps: usize,
    /// Bad frames the store counted.
    store_bad_frames: u64,
    queue: QueueStats,
    peak_rss_kib: Option<u64>,
    panics: u64,
}

impl SoakReport {
    fn dropping_faults(&self) -> u64 {
        self.injected
            .faults
            .iter()
            .filter(|(f, _)| f.drops_connection())
            .map(|(_, n)| n)
            .sum()
    }

    fn reconnects(&self) -> u64 {
        self.tally.lives.saturating_sub(1)
    }

    fn total(&self, f: impl Fn(&LaneCheck) -> usize) -> usize {
        self.check.lanes.iter().map(f).sum()
    }

    fn to_markdown(&self) -> String {
        let verdict = if self.failures().is_empty() {
            "PASS"
        } else {
            "FAIL"
        };
        let mut md = format!("# Soak report: {verdict}\n\n");
        self.summary_md(&mut md);
        self.faults_md(&mut md);
        self.connection_md(&mut md);
        self.data_md(&mut md);
        let failures = self.failures();
        if !failures.is_empty() {
            md.push_str("\n## Failures\n\n");
            for f in failures {
                let _ = writeln!(md, "- {f}");
            }
        }
        md
    }

    fn summary_md(&self, md: &mut String) {
        let build = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
        let settled = self
            .settled_in
            .map_or("never".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()));
        let rss = self
            .peak_rss_kib
            .map_or("n/a".to_owned(), |k| format!("{:.1} MiB", kib_to_mib(k)));
        let (os, arch) = (std::env::consts::OS, std::env::consts::ARCH);
        let rows = [
            ("seed", self.seed.to_string()),
            (
                "faults for",
                format!("{:.1} s", self.faulted_for.as_secs_f64()),
            ),
            ("settled in", settled),
            (
                "build, machine",
                format!("{build}, {os} {arch}, {cores} cores"),
            ),
            (
                "load",
                format!(
                    "{PUSH_PER_S} points/s, a notification every {} s, {DEVICES} devices",
                    NOTIFY_EVERY.as_secs()
                ),
            ),
            ("peak RSS (VmHWM)", rss),
            ("panics", self.panics.to_string()),
        ];
        table(md, &rows);
    }

    fn faults_md(&self, md: &mut String) {
        md.push_str(
            "\n## Faults\n\nSlowest recovery: from the injection to the store holding every \
             point pushed until then (a UI stall's own length included).\n\n\
             | kind | injected | slowest recovery |\n|---|---:|---:|\n",
        );
        for (fault, n) in &self.injected.faults {
            let slowest = self
                .injected
                .slowest
                .get(fault)
                .map_or("-".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
            let _ = writeln!(md, "| {} | {n} | {slowest} |", fault.name());
        }
        let all: u64 = self.injected.faults.values().sum();
        let dropping = self.dropping_faults();
        let _ = writeln!(
            md,
            "| **total** ({dropping} dropping the connection) | {all} | |"
        );
        for u in &self.injected.unrecovered {
            let _ = writeln!(md, "\n**Not recovered:** {u}");
        }
    }

    fn connection_md(&self, md: &mut String) {
        let t = &self.tally;
        let closes: Vec<String> = t.closes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        let gaps: Vec<String> = t
            .gaps
            .iter()
            .map(|(s, n)| format!("sub {s}: {n}"))
            .collect();
        let errors = if t.subscription_errors.is_empty() {
            "none".to_owned()
        } else {
            t.subscription_errors.join("; ")
        };
        let q = &self.queue;
        let rows = [
            (
                "reconnects (`Live` after the first)",
                self.reconnects().to_string(),
            ),
            ("closes by code", closes.join(", ")),
            (
                "gaps reported",
                format!(
                    "{} (stored for the `tsCmd` sub: {})",
                    gaps.join(", "),
                    self.stored_gaps
                ),
            ),
            (
                "lagged subscriptions / resyncs",
                format!("{} / {}", t.lagged, t.resyncs),
            ),
            (
                "bad frames counted (a lower bound)",
                format!("{} (store: {})", t.bad_frames, self.store_bad_frames),
            ),
            (
                "session expired / offline",
                format!("{} / {}", t.session_expired, t.offline),
            ),
            ("subscription errors", errors),
            ("messages received", t.msgs.to_string()),
            (
                "UI queue",
                format!(
                    "peak {} of {UI_CAPACITY}, {} merged, {} dropped (then resynced)",
                    q.peak, q.merged, q.dropped
                ),
            ),
        ];
        md.push_str("\n## Connection\n\n");
        table(md, &rows);
    }

    fn data_md(&self, md: &mut String) {
        md.push_str(
            "\n## Data\n\n| series | pushed | stored | lost | duplicates | unexpected |\n\
             |---|---:|---:|---:|---:|---:|\n",
        );
        for l in &self.check.lanes {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                l.name, l.pushed, l.stored, l.lost, l.duplicates, l.unexpected
            );
        }
        let _ = writeln!(
            md,
            "| **total** | {} | {} | **{}** | **{}** | {} |",
            self.total(|l| l.pushed),
            self.total(|l| l.stored),
            self.total(|l| l.lost),
            self.total(|l| l.duplicates),
            self.total(|l| l.unexpected)
        );
        let c = &self.check;
        let _ = writeln!(
            md,
            "\nLatest values: {} (device, key) pairs compared with `DemoControl::latest`, {} \
             differ.  \nUnread notifications: server {}, client {:?}.",
            c.latest_checked,
            c.latest_mismatches.len(),
            c.unread.0,
            c.unread.1
        );
    }

    /// Every broken promise, in words (empty: the soak passed).
    fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.panics > 0 {
            out.push(format!("{} panics", self.panics));
        }
        out.extend(self.injected.unrecovered.iter().cloned());
        for fault in Fault::ALL {
            if !self.injected.faults.contains_key(&fault) {
                out.push(format!("{} never injected", fault.name()));
            }
        }
        if self.settled_in.is_none() {
            out.push(format!(
                "the store did not match the server within {SETTLE:?}"
            ));
        }
        for l in &self.check.lanes {
            if l.lost + l.duplicates + l.unexpected > 0 {
                out.push(format!(
                    "{}: {} lost (first at ts {:?}), {} duplicates, {} unexpected",
                    l.name, l.lost, l.first_lost, l.duplicates, l.unexpected
                ));
            }
        }
        out.extend(self.check.latest_mismatches.iter().take(10).cloned());
        if Some(self.check.unread.0) != self.check.unread.1 {
            out.push(format!("unread count {:?}", self.check.unread));
        }
        if self.reconnects() < self.dropping_faults() {
            out.push(format!(
                "{} reconnects for {} faults that drop the connection",
                self.reconnects(),
                self.dropping_faults()
            ));
        }
        let series_gaps = self.tally.gaps.get(&SERIES_SUB).copied().unwrap_or(0);
        if series_gaps < self.dropping_faults() {
            out.push(format!(
                "{series_gaps} gaps reported for the tsCmd subscription over {} drops",
                self.dropping_faults()
            ));
        }
        if self.tally.bad_frames == 0 {
            out.push("no bad frame counted".to_owned());
        }
        if self.tally.session_expired + self.tally.offline > 0 {
            out.push(format!(
                "session expired {} times, offline {} times",
                self.tally.session_expired, self.tally.offline
            ));
        }
        if !self.tally.subscription_errors.is_empty() {
            out.push(format!(
                "subscription errors: {:?}",
                self.tally.subscription_errors
            ));
        }
        out
    }
}

/// A two-column markdown table without a header.
fn table(md: &mut String, rows: &[(&str, String)]) {
    md.push_str("| | |\n|---|---|\n");
    for (label, value) in rows {
        let _ = writeln!(md, "| {label} | {value} |");
    }
}

#[allow(clippy::cast_precision_loss)]
fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The process's peak resident set (`VmHWM`, KiB); `None` off Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Panics anywhere in the process (the session and server tasks included).
static PANICS: AtomicU64 = AtomicU64::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::Relaxed);
            previous(info);
        }));
    });
}

// ----- the driver -----------------------------------------------------------------------------

fn spec(json: serde_json::Value) -> EntityDataCmd {
    serde_json::from_value(json).unwrap()
}

/// The subscriptions of the soak's client.
fn subscriptions(ledger: &Ledger) -> Vec<(u64, SubSpec)> {
    let latest_keys: Vec<serde_json::Value> = SERIES_KEYS
        .iter()
        .chain([&V1_KEY, &LATEST_KEY])
        .map(|k| serde_json::json!({"type": "TIME_SERIES", "key": k}))
        .collect();
    let latest = spec(serde_json::json!({
        "cmdId": 0,
        "query": {
            "entityFilter": {"type": "entityType", "entityType": "DEVICE"},
            "pageLink": {"pageSize": 100, "page": 0},
            "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}],
            "latestValues": latest_keys
        },
        "latestCmd": {"keys": latest_keys}
    }));
    let start = now_ms() - 60_000;
    // The `tsCmd` lanes are two keys of each of two devices.
    let series_devices: Vec<_> = ledger.lanes[..4]
        .iter()
        .step_by(SERIES_KEYS.len())
        .map(|l| l.entity.id)
        .collect();
    let series = spec(serde_json::json!({
        "cmdId": 0,
        "query": {
            "entityFilter": {"type": "entityList", "entityType": "DEVICE",
                             "entityList": series_devices},
            "pageLink": {"pageSize": 10, "page": 0}
        },
        "tsCmd": {"keys": [SERIES_KEYS[0], SERIES_KEYS[1], BURST_KEY], "startTs": start,
                  "timeWindow": 86_400_000, "interval": 1000, "limit": 50_000, "agg": "NONE"}
    }));
    let v1: TimeseriesSubscriptionCmd = serde_json::from_value(serde_json::json!({
        "cmdId": 0,
        "entityType": "DEVICE",
        "entityId": ledger.lanes.last().unwrap().entity.id.to_string(),
        "keys": V1_KEY,
        "startTs": start,
        "timeWindow": 86_400_000,
        "interval": 1000,
        "limit": 50_000,
        "agg": "NONE"
    }))
    .unwrap();
    vec![
        (LATEST_SUB, SubSpec::EntityData(latest)),
        (SERIES_SUB, SubSpec::EntityData(series)),
        (V1_SUB, SubSpec::Timeseries(v1)),
        (
            UNREAD_SUB,
            SubSpec::NotificationsCount(tb_monitor::protocol::NotificationsCountSubCmd {
                cmd_id: 0,
            }),
        ),
    ]
}

/// Runs a soak: faults for `duration` (then to the end of the round), the order and timing
/// drawn from `seed`; returns what it saw. Does not assert: see [`SoakReport::failures`].
async fn soak(duration: Duration, seed: u64) -> SoakReport {
    count_panics();
    let panics_before = PANICS.load(Ordering::Relaxed);
    let mut config = DemoConfig {
        devices: DEVICES,
        simulate: false,
        ..DemoConfig::default()
    };
    config.limits.max_queue = DEMO_MAX_QUEUE;
    let server = DemoServer::start(config).await.unwrap();
    let control = server.control();
    let ledger = Arc::new(Mutex::new(Ledger::new(&control)));

    let rest = session::login_at(&server.base_url(), TlsTrust::System).await;
    let client = session::spawn_client(rest, session_config(), |waker| {
        EventQueue::new(UI_CAPACITY, waker).with_max_merged_points(UI_MERGED_POINTS)
    });
    let signals = Arc::new(Signals::default());
    let mut ui = Ui {
        client,
        store: Store::new(),
        tally: Tally::default(),
        signals: Arc::clone(&signals),
        ledger: Arc::clone(&ledger),
        verified: vec![0; ledger.lock().unwrap().lens().len()],
    };
    {
        let ledger = ledger.lock().unwrap();
        ui.store
            .track_v1_series(V1_SUB, ledger.lanes.last().unwrap().entity.clone());
        for (sub, spec) in subscriptions(&ledger) {
            ui.client.send(NetCommand::Subscribe { sub, spec });
        }
    }
    ui.until("first data on every subscription", DEADLINE, |store| {
        [LATEST_SUB, SERIES_SUB, V1_SUB, UNREAD_SUB]
            .iter()
            .all(|s| store.subs.contains_key(s))
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let pusher = tokio::spawn(push(
        control.clone(),
        Arc::clone(&ledger),
        Arc::clone(&stop),
    ));
    let started = Instant::now();
    let injector = tokio::spawn(inject(
        control.clone(),
        Arc::clone(&ledger),
        Arc::clone(&signals),
        seed,
        duration,
    ));
    while !injector.is_finished() {
        ui.step().await;
    }
    let injected = injector.await.unwrap();
    let faulted_for = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    pusher.await.unwrap();

    // Settle: the store must come to match the ground truth.
    let settle_start = Instant::now();
    let mut next_check = settle_start;
    let mut settled_in = None;
    while settle_start.elapsed() < SETTLE && !signals.is_offline() {
        ui.step().await;
        if Instant::now() >= next_check {
            next_check += Duration::from_millis(250);
            let ledger = ledger.lock().unwrap();
            if Check::of(&ui.store, &ledger, &control).clean() {
                settled_in = Some(settle_start.elapsed());
                break;
            }
        }
    }
    let check = Check::of(&ui.store, &ledger.lock().unwrap(), &control);
    ui.client.send(NetCommand::Shutdown);
    SoakReport {
        seed,
        faulted_for,
        settled_in,
        injected,
        stored_gaps: ui.store.gaps.get(&SERIES_SUB).map_or(0, Vec::len),
        store_bad_frames: ui.store.bad_frames,
        tally: ui.tally,
        check,
        queue: ui.client.queue.stats(),
        peak_rss_kib: peak_rss_kib(),
        panics: PANICS.load(Ordering::Relaxed) - panics_before,
    }
}

fn assert_passed(report: &SoakReport) {
    let failures = report.failures();
    assert!(
        failures.is_empty(),
        "soak failed (seed {}):\n- {}\n\n{}",
        report.seed,
        failures.join("\n- "),
        report.to_markdown()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_with_random_faults_loses_no_point() {
    // One round of the eleven faults, in the order seed 13 draws.
    let report = soak(Duration::from_secs(1), 13).await;
    println!("{}", report.to_markdown());
    assert_eq!(
        report.injected.faults.values().sum::<u64>(),
        Fault::ALL.len() as u64,
        "one round"
    );
    assert_passed(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "an hour by default; scripts/soak runs it"]
async fn soak_long() {
    let secs: u64 = std::env::var("TB_SOAK_SECS").map_or(3600, |s| {
        s.parse()
            .unwrap_or_else(|_| panic!("TB_SOAK_SECS={s} is not seconds"))
    });
    let seed: u64 = std::env::var("TB_SOAK_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        },
        |s| {
            s.parse()
                .unwrap_or_else(|_| panic!("TB_SOAK_SEED={s} is not a number"))
        },
    );
    println!("soak: {secs} s of faults, seed {seed} (TB_SOAK_SEED={seed} repeats the order)");
    let report = soak(Duration::from_secs(secs), seed).await;
    let markdown = report.to_markdown();
    let path = std::env::var("TB_SOAK_REPORT").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/soak-report.md"),
        std::path::PathBuf::from,
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&path, &markdown).unwrap();
    println!("{markdown}\nreport written to {}", path.display());
    assert_passed(&report);
}

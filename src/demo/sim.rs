//! The live simulation: every telemetry period each reporting device gets new points.

use std::sync::Arc;
use std::time::Duration;

use super::signals::{profile_signals, render};
use super::state::{Event, Shared, now_ms};
use crate::protocol::TsValue;

/// Alarms kept before the oldest cleared ones are deleted (active alarms are never pruned).
pub const MAX_ALARMS: usize = 5_000;

/// How old an alarm is before the simulated operator may acknowledge it.
pub const OPERATOR_ACK_AFTER_MS: i64 = 10 * 60_000;

/// Runs until aborted: one tick per telemetry period, aligned to the point grid.
pub async fn run(shared: Arc<Shared>) {
    let period = shared.config.period_ms();
    let mut last_report = (std::time::Instant::now(), shared.lock().stats.clone());
    let mut last_tick = now_ms().div_euclid(period);
    loop {
        let next_ms = (last_tick + 1) * period;
        let wait = u64::try_from(next_ms - now_ms()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let now_tick = now_ms().div_euclid(period);
        // After a stall (machine sleep) catch up at most a few ticks; history covers the rest.
        let from = (last_tick + 1).max(now_tick - 4);
        for tick in from..=now_tick {
            tick_once(&shared, tick * period);
        }
        last_tick = now_tick;
        report(&shared, &mut last_report);
    }
}

/// Logs the simulation's load every 30 s: how much of its time budget a tick uses.
fn report(shared: &Shared, last: &mut (std::time::Instant, super::state::Stats)) {
    if last.0.elapsed() < Duration::from_secs(30) {
        return;
    }
    let now = shared.lock().stats.clone();
    let secs = last.0.elapsed().as_secs_f64();
    let ticks = now.sim_ticks.saturating_sub(last.1.sim_ticks).max(1);
    #[allow(clippy::cast_precision_loss)]
    let (mean_ms, points_per_s) = (
        now.sim_busy_us.saturating_sub(last.1.sim_busy_us) as f64 / ticks as f64 / 1000.0,
        now.sim_points.saturating_sub(last.1.sim_points) as f64 / secs,
    );
    #[allow(clippy::cast_precision_loss)]
    let max_ms = now.sim_max_tick_us as f64 / 1000.0;
    tracing::info!(
        "simulation: {points_per_s:.0} points/s, tick {mean_ms:.2} ms mean, {max_ms:.2} ms max, {} sessions",
        now.ws_sessions_open
    );
    *last = (std::time::Instant::now(), now);
}

/// Produces the points of grid time `t` for every device and publishes them.
pub fn tick_once(shared: &Shared, t: i64) {
    let started = std::time::Instant::now();
    let mut batch = Vec::new();
    let mut transitions = Vec::new();
    let effects = {
        let mut st = shared.lock();
        let super::state::State {
            world,
            latest,
            device_active,
            ..
        } = &mut *st;
        for e in world.devices() {
            let Some(stream) = e.stream else { continue };
            let active = !stream.offline_at(t);
            match device_active.insert(e.id.clone(), active) {
                Some(was) if was != active => transitions.push((e.id.clone(), active)),
                _ => {}
            }
            if stream.silent_at(t) {
                continue;
            }
            for signal in profile_signals(&e.profile) {
                let point = TsValue::new(t, render(signal, stream.value(signal, t)));
                if latest.offer(&e.id, signal.key, point.clone()) {
                    batch.push((e.id.clone(), signal.key.to_owned(), point));
                }
            }
        }
        let now = super::state::now_ms();
        let mut fx = super::effects::on_points(&mut st, &batch, now);
        // The simulated operator acknowledges every third alarm after ten minutes.
        let acked = st.alarms.operator_acks(now, OPERATOR_ACK_AFTER_MS, 3);
        fx.extend(super::effects::Effects::of_alarms(&mut st, acked, now));
        // Long demo runs keep bounded memory: the oldest cleared alarms go first. Notifying
        // a deleted alarm sends nothing; it forgets what was notified for it.
        let pruned = st.alarms.prune(MAX_ALARMS);
        fx.extend(super::effects::Effects::of_alarms(&mut st, pruned, now));
        for (device, active) in transitions {
            fx.extend(super::effects::on_activity(&mut st, &device, active, now));
        }
        fx
    };
    let points = batch.len() as u64;
    if !batch.is_empty() {
        shared.publish(Event::Telemetry(Arc::new(batch)));
    }
    effects.publish(shared);
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let mut st = shared.lock();
    st.stats.sim_ticks += 1;
    st.stats.sim_busy_us += us;
    st.stats.sim_max_tick_us = st.stats.sim_max_tick_us.max(us);
    st.stats.sim_points += points;
}

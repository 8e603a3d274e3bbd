//! The live simulation: every telemetry period each reporting device gets new points.

use std::sync::Arc;
use std::time::Duration;

use super::signals::{profile_signals, render};
use super::state::{Event, Shared, now_ms};
use crate::protocol::TsValue;

/// Runs until aborted: one tick per telemetry period, aligned to the point grid.
pub async fn run(shared: Arc<Shared>) {
    let period = shared.config.period_ms();
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
    }
}

/// Produces the points of grid time `t` for every device and publishes them.
pub fn tick_once(shared: &Shared, t: i64) {
    let mut batch = Vec::new();
    {
        let mut st = shared.lock();
        let super::state::State { world, latest, .. } = &mut *st;
        for e in world.devices() {
            let Some(stream) = e.stream else { continue };
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
    }
    if !batch.is_empty() {
        shared.publish(Event::Telemetry(Arc::new(batch)));
    }
}

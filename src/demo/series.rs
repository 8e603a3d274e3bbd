//! Time series reads: raw points newest first, and aggregation on intervals.
//!
//! Points of simulated keys are computed from [`super::signals`] on the grid of the
//! telemetry period; values pushed through `DemoControl` (or written by clients) live in
//! an [`Overlay`] and win over computed ones at the same timestamp. Aggregates are computed
//! by [`crate::plot::aggregate`], the code the client re-aggregates live points with.

use std::collections::{BTreeMap, HashMap};

use super::signals::{Signal, profile_signals, render};
use super::world::EntityRecord;
use crate::plot::aggregate::{Acc, interval_index, interval_start, midpoint};
use crate::protocol::{Aggregation, EntityId, TbValue, TsValue};

/// Most intervals an aggregated query may span (`database.ts_max_intervals`).
pub const MAX_INTERVALS: i64 = 700;

/// Values stored in addition to the computed signals, per entity and key.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    points: HashMap<(EntityId, String), BTreeMap<i64, TbValue>>,
    /// Keys deleted at a time: computed points up to then are hidden.
    deleted: HashMap<(EntityId, String), i64>,
    cap_per_key: usize,
}

impl Overlay {
    /// An overlay keeping at most `cap_per_key` points per key (oldest dropped first).
    #[must_use]
    pub fn new(cap_per_key: usize) -> Self {
        Self {
            points: HashMap::new(),
            deleted: HashMap::new(),
            cap_per_key: cap_per_key.max(1),
        }
    }

    /// Stores a point.
    pub fn insert(&mut self, entity: &EntityId, key: &str, ts: i64, value: TbValue) {
        let series = self
            .points
            .entry((entity.clone(), key.to_owned()))
            .or_default();
        series.insert(ts, value);
        while series.len() > self.cap_per_key {
            series.pop_first();
        }
    }

    /// Deletes every point of a key up to `at_ms`, stored and computed.
    pub fn delete(&mut self, entity: &EntityId, key: &str, at_ms: i64) {
        let k = (entity.clone(), key.to_owned());
        if let Some(series) = self.points.get_mut(&k) {
            series.retain(|ts, _| *ts > at_ms);
        }
        self.deleted.insert(k, at_ms);
    }

    fn series(&self, entity: &EntityId, key: &str) -> Option<&BTreeMap<i64, TbValue>> {
        self.points.get(&(entity.clone(), key.to_owned()))
    }

    fn deleted_until(&self, entity: &EntityId, key: &str) -> Option<i64> {
        self.deleted.get(&(entity.clone(), key.to_owned())).copied()
    }

    /// Keys with stored points for an entity.
    pub fn keys(&self, entity: &EntityId) -> impl Iterator<Item = &str> {
        self.points
            .keys()
            .filter(move |(e, _)| e == entity)
            .map(|(_, k)| k.as_str())
    }
}

/// Where and how densely computed points exist.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// Spacing of computed points (ms).
    pub period_ms: i64,
    /// No computed point before this (the history horizon).
    pub since_ms: i64,
    /// No point after this ("now").
    pub until_ms: i64,
}

/// Reads the series of one entity's key.
#[derive(Debug, Clone, Copy)]
pub struct SeriesReader<'a> {
    /// The entity.
    pub entity: &'a EntityRecord,
    /// The key.
    pub key: &'a str,
    /// Computed-point grid.
    pub grid: Grid,
    /// Stored points.
    pub overlay: &'a Overlay,
}

impl SeriesReader<'_> {
    fn signal(&self) -> Option<&'static Signal> {
        self.entity.stream?;
        profile_signals(&self.entity.profile)
            .iter()
            .find(|s| s.key == self.key)
    }

    /// The computed point at grid time `t`, if the device reported then.
    fn computed_at(&self, signal: &Signal, t: i64) -> Option<(f64, String)> {
        let stream = self.entity.stream?;
        if stream.silent_at(t) {
            return None;
        }
        let v = stream.value(signal, t);
        Some((v, render(signal, v)))
    }

    /// Every point in `[start, end]` (inclusive), newest first, at most `limit`.
    #[must_use]
    pub fn raw(&self, start: i64, end: i64, limit: usize) -> Vec<TsValue> {
        let mut out = Vec::new();
        self.for_each_desc(start, end, |ts, value| {
            out.push(TsValue::new(ts, value));
            out.len() < limit
        });
        out
    }

    /// The newest point at or before `at`.
    #[must_use]
    pub fn latest_at(&self, at: i64) -> Option<TsValue> {
        self.raw(i64::MIN, at, 1).into_iter().next()
    }

    /// Visits points newest first; `visit` returns false to stop.
    fn for_each_desc(&self, start: i64, end: i64, mut visit: impl FnMut(i64, TbValue) -> bool) {
        let end = end.min(self.grid.until_ms);
        if end < start {
            return;
        }
        let stored = self.overlay.series(&self.entity.id, self.key);
        let mut stored_iter = stored
            .into_iter()
            .flat_map(|s| s.range(start..=end).rev())
            .peekable();
        let deleted_until = self.overlay.deleted_until(&self.entity.id, self.key);
        let signal = self.signal();
        let period = self.grid.period_ms.max(1);
        let first = start
            .max(self.grid.since_ms)
            .max(deleted_until.map_or(i64::MIN, |d| d.saturating_add(1)));
        let mut k = signal.map_or(i64::MIN, |_| end.div_euclid(period));
        loop {
            let grid_t = signal.and_then(|_| {
                let t = k.checked_mul(period)?;
                (t >= first).then_some(t)
            });
            let stored_t = stored_iter.peek().map(|(t, _)| **t);
            let take_grid = match (grid_t, stored_t) {
                (None, None) => return,
                (Some(g), Some(st)) => g > st,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            let keep_going = if take_grid {
                k -= 1;
                match (signal, grid_t) {
                    (Some(sig), Some(g)) => match self.computed_at(sig, g) {
                        Some((_, text)) => visit(g, TbValue::new(text)),
                        None => true,
                    },
                    _ => true,
                }
            } else {
                if grid_t.is_some() && grid_t == stored_t {
                    k -= 1; // the stored point replaces the computed one
                }
                match stored_iter.next() {
                    Some((ts, value)) => visit(*ts, value.clone()),
                    None => return,
                }
            };
            if !keep_going {
                return;
            }
        }
    }

    /// Aggregates `[start, end)` on `interval`-ms intervals: one point per non-empty
    /// interval, ascending, at the interval's midpoint, with the number of raw points. The
    /// functions and their text are [`crate::plot::aggregate`]'s, shared with the client's
    /// realtime re-aggregation (exactly rounded sums, whatever the order of the points).
    ///
    /// # Errors
    /// When the query spans more than [`MAX_INTERVALS`] intervals, or the interval is < 1.
    pub fn aggregate(
        &self,
        start: i64,
        end: i64,
        interval: i64,
        agg: &Aggregation,
    ) -> Result<Vec<TsValue>, String> {
        if interval < 1 {
            return Err(format!("Invalid aggregation interval {interval}"));
        }
        let span = end.saturating_sub(start);
        if span / interval.max(1000) > MAX_INTERVALS {
            return Err(format!(
                "Query exceeds the limit of {MAX_INTERVALS} intervals: ({end} - {start}) / {interval}"
            ));
        }
        if matches!(agg, Aggregation::None) {
            return Ok(Vec::new());
        }
        let mut buckets: BTreeMap<i64, Acc> = BTreeMap::new();
        self.for_each_desc(start, end.saturating_sub(1), |ts, value| {
            // Saturating: start, end and interval come from the client (absurd values must not panic).
            let i = interval_index(start, interval, ts);
            buckets.entry(i).or_default().add(&value);
            true
        });
        Ok(buckets
            .into_iter()
            .filter_map(|(i, acc)| {
                let lo = interval_start(start, interval, i);
                let hi = lo.saturating_add(interval).min(end);
                acc.finish(agg).map(|(text, count)| TsValue {
                    ts: midpoint(lo, hi),
                    value: Some(TbValue::new(text)),
                    count: Some(count),
                })
            })
            .collect())
    }
}

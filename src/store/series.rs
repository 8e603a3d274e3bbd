//! One live time series: the points of one `(entity, key)` a plot draws.
//!
//! The rules:
//!
//! * **Ordered, unique timestamps.** Points are `(ts, value)` pairs (epoch milliseconds, a
//!   finite `f64`), kept ascending by `ts` in one `VecDeque` of 16-byte points. A newer point
//!   appends in O(1); an older one is inserted in place (binary search, then a shift of the
//!   shorter side); an equal `ts` replaces the value, so a reconnect backfill never
//!   duplicates. Non-finite values are refused.
//! * **Bounded.** [`SeriesLimits`]: at most `max_points` points (the oldest go first) and
//!   nothing older than `max_age_ms` before the newest point. A point that would be dropped
//!   at once is refused as [`PushOutcome::TooOld`].
//! * **Measurable memory.** The buffer grows by a quarter at a time (not by doubling), so
//!   [`SeriesBuffer::heap_bytes`] stays under 24 bytes per stored point, capacity included
//!   (16 bytes of data, at most 20 in all just after a growth step).
//! * **Wire batches in either order.** Raw `tsCmd`/v1 histories come newest first,
//!   aggregated ones ascending; [`SeriesBuffer::extend_from_wire`] detects the order, skips
//!   (and counts) values that are not finite numbers, appends a batch that is entirely newer,
//!   prepends one that is entirely older and merges the rest by re-merging only the
//!   overlapped tail.
//! * **Gaps.** [`SeriesBuffer::mark_gap`] records an interval in which the client was not
//!   listening (a disconnect). A line breaks between two consecutive points when a gap
//!   overlaps the time between them, or when they are farther apart than the optional
//!   maximum step ([`SeriesBuffer::set_max_step_ms`]).
//! * **Cached decimation.** [`SeriesBuffer::decimate`] reduces the visible range to the min
//!   and max of each of `buckets` time buckets (at most about two points per pixel), split
//!   into line segments at breaks. `egui_plot` 0.38 does not draw `NaN` as a clean break (it
//!   keeps the `NaN` vertex and drops nearby points, `emilk/egui_plot#131`), so the result is a
//!   list of segments, one `egui_plot::Line` each. The result is cached per
//!   `(x_min, x_max, buckets)`; a change outside the time span the result was computed from
//!   (typically live points appended after `x_max`) keeps the cache, so an unchanged frame
//!   costs no scan at all.
//! * **Grid decimation for a range that follows live data.**
//!   [`SeriesBuffer::decimate_grid`] has the same output, but its buckets are aligned to
//!   absolute time (bucket `k` is `[k * bucket_ms, (k + 1) * bucket_ms)`), so they do not
//!   move when the range slides. It keeps per-bucket summaries ("runs": a bucket's first,
//!   min, max and last point, split where the line breaks inside the bucket) for the range
//!   last requested. The next call drops the runs that left the range, rescans only the
//!   bucket cut by the new `x_min`, the runs from the oldest one a change touched (a late
//!   point in the newest bucket: that bucket) and the points after the newest run, then
//!   emits the output from the runs: O(buckets + new points) a frame instead of O(visible
//!   points). Another `bucket_ms`, a range that moved left or shrank below the newest run,
//!   a change that reaches the oldest run (a maximum step change touches all; trimming
//!   only when it removes visible points) rebuild the runs from scratch. The incremental
//!   result always equals a rebuild; [`SeriesBuffer::grid_scanned`] tells what a call read.
//! * [`SeriesBuffer::version`] increments on every change, for other caches.

use std::collections::VecDeque;
use std::fmt;

use crate::protocol::{TbValue, TsPoint, TsValue};

/// One stored point: 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    ts: i64,
    value: f64,
}

/// Most gap intervals kept per series; the oldest are dropped first.
pub const MAX_GAPS: usize = 1024;

/// Bounds of one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Most points kept; the oldest are dropped first. At least 1 is kept.
    pub max_points: usize,
    /// Points older than the newest point minus this many milliseconds are dropped
    /// (negative counts as 0).
    pub max_age_ms: i64,
}

impl SeriesLimits {
    /// The default count bound: two million points (about 32 MB).
    pub const DEFAULT_MAX_POINTS: usize = 2_000_000;
    /// The default age bound: 30 days.
    pub const DEFAULT_MAX_AGE_MS: i64 = 30 * 24 * 60 * 60 * 1000;

    fn max_points(self) -> usize {
        self.max_points.max(1)
    }

    fn max_age_ms(self) -> i64 {
        self.max_age_ms.max(0)
    }
}

impl Default for SeriesLimits {
    fn default() -> Self {
        Self {
            max_points: Self::DEFAULT_MAX_POINTS,
            max_age_ms: Self::DEFAULT_MAX_AGE_MS,
        }
    }
}

/// What [`SeriesBuffer::push`] did with a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Newer than every stored point: appended.
    Appended,
    /// Older than the newest point: inserted in order.
    Inserted,
    /// A point with the same `ts` was stored: its value was replaced.
    Replaced,
    /// A point with the same `ts` and the same value was stored: nothing changed.
    Unchanged,
    /// The value is `NaN` or infinite: refused.
    NotFinite,
    /// The point is outside the bounds (older than the age limit, or older than every point
    /// of a full buffer): refused.
    TooOld,
}

impl PushOutcome {
    /// Whether the point is in the buffer after the call.
    #[must_use]
    pub fn is_stored(self) -> bool {
        matches!(
            self,
            Self::Appended | Self::Inserted | Self::Replaced | Self::Unchanged
        )
    }
}

/// What a batch call ([`SeriesBuffer::extend_from_wire`]) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Points of the batch that are in the buffer afterwards (new, replacing or unchanged;
    /// repeated timestamps within the batch count once).
    pub stored: usize,
    /// Points without a value, with a non-numeric value or a non-finite number.
    pub skipped_non_numeric: usize,
    /// Numeric points outside the bounds, not stored.
    pub too_old: usize,
}

/// An interval (inclusive, epoch milliseconds) in which the client was not listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Start of the interval.
    pub from_ts: i64,
    /// End of the interval (`>= from_ts`).
    pub to_ts: i64,
}

/// The output of [`SeriesBuffer::decimate`]: points `[x, y]` (x in epoch milliseconds as
/// `f64`), ascending by x, cut into line segments at breaks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decimated {
    points: Vec<[f64; 2]>,
    /// End (exclusive) of each segment in `points`; the last one is `points.len()`.
    ends: Vec<usize>,
}

impl Decimated {
    /// Every point of every segment, in order.
    #[must_use]
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points
    }

    /// The line segments: draw each as its own line (a single point as a marker).
    #[must_use]
    pub fn segments(&self) -> impl ExactSizeIterator<Item = &[[f64; 2]]> + '_ {
        self.ends.iter().enumerate().map(|(k, &end)| {
            let start = k
                .checked_sub(1)
                .and_then(|j| self.ends.get(j))
                .copied()
                .unwrap_or(0);
            self.points.get(start..end).unwrap_or_default()
        })
    }

    /// How many segments there are.
    #[must_use]
    pub fn segment_count(&self) -> usize {
        self.ends.len()
    }

    /// How many points there are in all segments.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there is nothing to draw.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    fn clear(&mut self) {
        self.points.clear();
        self.ends.clear();
    }

    fn push(&mut self, ts: i64, value: f64) {
        self.points.push([ts_to_x(ts), value]);
    }

    fn push_xy(&mut self, x: f64, y: f64) {
        self.points.push([x, y]);
    }

    /// Closes the current segment, if it has any point.
    fn close_segment(&mut self) {
        let start = self.ends.last().copied().unwrap_or(0);
        if self.points.len() > start {
            self.ends.push(self.points.len());
        }
    }

    fn heap_bytes(&self) -> usize {
        self.points.capacity() * std::mem::size_of::<[f64; 2]>()
            + self.ends.capacity() * std::mem::size_of::<usize>()
    }
}

/// Epoch milliseconds as a plot coordinate. Exact below 2^53 ms (year 287,396).
#[allow(clippy::cast_precision_loss)]
fn ts_to_x(ts: i64) -> f64 {
    ts as f64
}

/// The last decimation and what it depended on.
#[derive(Debug, Clone, Default)]
struct DecimationCache {
    valid: bool,
    x_min: i64,
    x_max: i64,
    buckets: usize,
    /// The result depends only on points, gaps and changes within `dep_lo..=dep_hi`.
    dep_lo: i64,
    dep_hi: i64,
    out: Decimated,
}

/// Decides, for consecutive pairs of points visited in ascending order, whether the line
/// breaks between them.
struct BreakCursor<'a> {
    gaps: &'a [Gap],
    next: usize,
    max_step_ms: Option<i64>,
}

impl<'a> BreakCursor<'a> {
    fn new(gaps: &'a [Gap], max_step_ms: Option<i64>, first_ts: i64) -> Self {
        Self {
            gaps,
            next: gaps.partition_point(|g| g.to_ts <= first_ts),
            max_step_ms,
        }
    }

    /// Whether any pair of consecutive points from the last one checked up to `end_ts` can
    /// break.
    fn may_break_before(&self, end_ts: i64) -> bool {
        self.max_step_ms.is_some() || self.gaps.get(self.next).is_some_and(|g| g.from_ts < end_ts)
    }

    /// Whether the line breaks between consecutive points at `a < b`. Calls must come with
    /// non-decreasing `a`.
    fn is_break(&mut self, a: i64, b: i64) -> bool {
        if let Some(step) = self.max_step_ms
            && b.saturating_sub(a) > step
        {
            return true;
        }
        while let Some(g) = self.gaps.get(self.next)
            && g.to_ts <= a
        {
            self.next += 1;
        }
        // The gap ends after `a` (above); it overlaps (a, b) if it starts before `b`.
        self.gaps.get(self.next).is_some_and(|g| g.from_ts < b)
    }
}

/// A summary of consecutive points of one bucket between which the line does not break:
/// the first, the min, the max (the earliest of equal values) and the last point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    /// The line breaks before `first` (or `first` is the first point drawn).
    starts_segment: bool,
    first: Point,
    min: Point,
    max: Point,
    last: Point,
}

impl Run {
    fn new(p: Point, starts_segment: bool) -> Self {
        Self {
            starts_segment,
            first: p,
            min: p,
            max: p,
            last: p,
        }
    }

    fn add(&mut self, p: Point) {
        if p.value < self.min.value {
            self.min = p;
        }
        if p.value > self.max.value {
            self.max = p;
        }
        self.last = p;
    }

    /// Emits the min and the max in time order, plus the first point when a segment starts
    /// here and the last one when it ends here (each point once).
    fn flush(&self, ends_segment: bool, out: &mut Decimated) {
        // `first` is the earliest point and `last` the latest: only min and max need ordering.
        let (a, b) = if self.min.ts <= self.max.ts {
            (self.min, self.max)
        } else {
            (self.max, self.min)
        };
        if self.starts_segment && self.first.ts < a.ts {
            out.push(self.first.ts, self.first.value);
        }
        out.push(a.ts, a.value);
        if b.ts > a.ts {
            out.push(b.ts, b.value);
        }
        if ends_segment && self.last.ts > b.ts {
            out.push(self.last.ts, self.last.value);
        }
    }
}

/// Maps timestamps of `x_min..=x_max` to `buckets` equal time buckets, tracking the first
/// timestamp of the next bucket so that most points cost one comparison.
struct BucketMap {
    x_min: i128,
    span: i128,
    buckets: i128,
    key: usize,
    /// First timestamp of the next bucket (clamped to `i64::MAX`, where recomputing the
    /// key is harmless).
    next_start: i64,
}

impl BucketMap {
    fn new(x_min: i64, x_max: i64, buckets: usize) -> Self {
        Self {
            x_min: i128::from(x_min),
            span: i128::from(x_max) - i128::from(x_min) + 1,
            buckets: i128::try_from(buckets).unwrap_or(i128::MAX).max(1),
            key: 0,
            next_start: i64::MIN,
        }
    }

    /// The bucket of `ts` (within the range); call with non-decreasing `ts`.
    fn key(&mut self, ts: i64) -> usize {
        if ts >= self.next_start {
            let offset = i128::from(ts) - self.x_min;
            let key = offset * self.buckets / self.span;
            // First offset of bucket key + 1: ceil((key + 1) * span / buckets).
            let next_offset = ((key + 1) * self.span + self.buckets - 1) / self.buckets;
            self.key = usize::try_from(key).unwrap_or(usize::MAX);
            self.next_start = i64::try_from(self.x_min + next_offset).unwrap_or(i64::MAX);
        }
        self.key
    }
}

/// Maps ascending timestamps to grid buckets (`ts.div_euclid(bucket_ms)`), tracking the
/// first timestamp of the next bucket so that most points cost one comparison.
struct GridMap {
    bucket_ms: i64,
    key: i64,
    /// First timestamp of the next bucket (clamped to `i64::MAX`, where recomputing the key
    /// is harmless).
    next_start: i64,
}

impl GridMap {
    fn new(bucket_ms: i64) -> Self {
        Self {
            bucket_ms: bucket_ms.max(1),
            key: 0,
            next_start: i64::MIN,
        }
    }

    /// The bucket of `ts`; call with non-decreasing `ts`.
    fn key(&mut self, ts: i64) -> i64 {
        if ts >= self.next_start {
            self.key = ts.div_euclid(self.bucket_ms);
            let next = (i128::from(self.key) + 1) * i128::from(self.bucket_ms);
            self.next_start = i64::try_from(next).unwrap_or(i64::MAX);
        }
        self.key
    }
}

/// The runs of the last [`SeriesBuffer::decimate_grid`] call and what they depend on.
#[derive(Debug, Clone, Default)]
struct GridCache {
    /// Whether the fields below describe the last call (false: nothing is cached).
    valid: bool,
    x_min: i64,
    x_max: i64,
    bucket_ms: i64,
    /// The visible points of the last call as runs, ascending; the first one starts a
    /// segment. They cover the points of `x_min..=runs.back().last.ts`.
    runs: VecDeque<Run>,
    /// The oldest timestamp a change touched since the last call, among the changes that
    /// reach into the span the runs cover.
    dirty_from: Option<i64>,
    /// A change since the last call reached into `dep_lo..=dep_hi`: `out` is stale.
    out_stale: bool,
    dep_lo: i64,
    dep_hi: i64,
    out: Decimated,
    /// Points read by the last call.
    scanned: usize,
}

impl GridCache {
    /// Notes a change touching `lo..=hi`.
    fn note_change(&mut self, lo: i64, hi: i64) {
        if !self.valid {
            return;
        }
        if hi >= self.dep_lo && lo <= self.dep_hi {
            self.out_stale = true;
        }
        if let Some(newest) = self.runs.back()
            && hi >= self.x_min
            && lo <= newest.last.ts
        {
            self.dirty_from = Some(self.dirty_from.map_or(lo, |d| d.min(lo)));
        }
    }

    fn heap_bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<Run>() + self.out.heap_bytes()
    }
}

/// One live time series, bounded and ordered, with gaps and a cached decimation.
#[derive(Clone)]
pub struct SeriesBuffer {
    points: VecDeque<Point>,
    limits: SeriesLimits,
    gaps: Vec<Gap>,
    max_step_ms: Option<i64>,
    version: u64,
    skipped_non_numeric: u64,
    /// Hull of the timestamps touched since the cache was last checked.
    dirty: Option<(i64, i64)>,
    cache: DecimationCache,
    decimations: u64,
    grid: GridCache,
}

impl Default for SeriesBuffer {
    fn default() -> Self {
        Self::new(SeriesLimits::default())
    }
}

impl fmt::Debug for SeriesBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeriesBuffer")
            .field("len", &self.points.len())
            .field("range", &self.range())
            .field("limits", &self.limits)
            .field("gaps", &self.gaps.len())
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl SeriesBuffer {
    /// An empty series with these bounds.
    #[must_use]
    pub fn new(limits: SeriesLimits) -> Self {
        Self {
            points: VecDeque::new(),
            limits,
            gaps: Vec::new(),
            max_step_ms: None,
            version: 0,
            skipped_non_numeric: 0,
            dirty: None,
            cache: DecimationCache::default(),
            decimations: 0,
            grid: GridCache::default(),
        }
    }

    /// The bounds.
    #[must_use]
    pub fn limits(&self) -> SeriesLimits {
        self.limits
    }

    /// Changes the bounds, dropping what falls outside them now.
    pub fn set_limits(&mut self, limits: SeriesLimits) {
        self.limits = limits;
        let excess = self.points.len().saturating_sub(limits.max_points());
        self.pop_front(excess);
        self.trim_age();
        self.shrink_if_sparse();
    }

    /// How many points are stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no point is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The newest point.
    #[must_use]
    pub fn latest(&self) -> Option<(i64, f64)> {
        self.points.back().map(|p| (p.ts, p.value))
    }

    /// The oldest and the newest timestamp.
    #[must_use]
    pub fn range(&self) -> Option<(i64, i64)> {
        Some((self.points.front()?.ts, self.points.back()?.ts))
    }

    /// Increments on every change of points, gaps or the maximum step.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Wire points skipped since creation because they had no value, a non-numeric value or
    /// a non-finite number.
    #[must_use]
    pub fn skipped_non_numeric(&self) -> u64 {
        self.skipped_non_numeric
    }

    /// How many times [`Self::decimate`] scanned the points (cache misses).
    #[must_use]
    pub fn decimations(&self) -> u64 {
        self.decimations
    }

    /// Points read by the last [`Self::decimate_grid`] call: 0 when it returned the cached
    /// result; on the incremental path the new and newly visible points, the bucket cut by
    /// `x_min` and the bucket(s) a change touched; every visible point on a rebuild (plus
    /// the visible points again when few enough to be returned raw).
    #[must_use]
    pub fn grid_scanned(&self) -> usize {
        self.grid.scanned
    }

    /// Heap memory held: point storage, gaps and both decimation caches, by capacity.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.points.capacity() * std::mem::size_of::<Point>()
            + self.gaps.capacity() * std::mem::size_of::<Gap>()
            + self.cache.out.heap_bytes()
            + self.grid.heap_bytes()
    }

    /// Drops every point and gap (and frees their memory).
    pub fn clear(&mut self) {
        self.points = VecDeque::new();
        self.gaps = Vec::new();
        self.cache = DecimationCache::default();
        self.grid = GridCache::default();
        self.touch(i64::MIN, i64::MAX);
    }

    /// The points with `x_min <= ts <= x_max`, ascending (for export).
    pub fn points_in(&self, x_min: i64, x_max: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        let lo = self.points.partition_point(|p| p.ts < x_min);
        let hi = self.points.partition_point(|p| p.ts <= x_max).max(lo);
        self.points.range(lo..hi).map(|p| (p.ts, p.value))
    }

    /// Stores one point: appended when newer than every point, otherwise inserted in order;
    /// an equal `ts` replaces the value.
    pub fn push(&mut self, ts: i64, value: f64) -> PushOutcome {
        if !value.is_finite() {
            return PushOutcome::NotFinite;
        }
        let point = Point { ts, value };
        match self.points.back() {
            Some(last) if ts <= last.ts => self.insert_in_order(point),
            _ => {
                if self.points.len() >= self.limits.max_points() {
                    self.pop_front(1);
                }
                self.reserve(1);
                self.points.push_back(point);
                self.touch(ts, ts);
                self.trim_age();
                PushOutcome::Appended
            }
        }
    }

    fn insert_in_order(&mut self, point: Point) -> PushOutcome {
        let mut idx = self.points.partition_point(|p| p.ts < point.ts);
        if let Some(existing) = self.points.get_mut(idx)
            && existing.ts == point.ts
        {
            if existing.value.to_bits() == point.value.to_bits() {
                return PushOutcome::Unchanged;
            }
            existing.value = point.value;
            self.touch(point.ts, point.ts);
            return PushOutcome::Replaced;
        }
        let newest = self.points.back().map_or(point.ts, |p| p.ts);
        if point.ts < newest.saturating_sub(self.limits.max_age_ms()) {
            return PushOutcome::TooOld;
        }
        if self.points.len() >= self.limits.max_points() {
            if idx == 0 {
                return PushOutcome::TooOld;
            }
            self.pop_front(1);
            idx -= 1;
        }
        self.reserve(1);
        self.points.insert(idx, point);
        self.touch(point.ts, point.ts);
        PushOutcome::Inserted
    }

    /// Merges a `tsCmd`/`ENTITY_DATA` history batch, newest first (raw) or ascending
    /// (aggregated); the order is detected. Points whose value is absent, not a number or
    /// not finite are skipped and counted.
    pub fn extend_from_wire(&mut self, batch: &[TsValue]) -> BatchOutcome {
        self.extend_numeric(batch.len(), batch.iter().map(|v| (v.ts, v.as_f64())))
    }

    /// Merges a v1 (`tsSubCmds`/`historyCmds`) batch of `[ts, "value"]` points, like
    /// [`Self::extend_from_wire`].
    pub fn extend_from_v1(&mut self, batch: &[TsPoint]) -> BatchOutcome {
        self.extend_numeric(
            batch.len(),
            batch
                .iter()
                .map(|p| (p.ts(), p.value().and_then(TbValue::as_f64))),
        )
    }

    fn extend_numeric(
        &mut self,
        len: usize,
        items: impl Iterator<Item = (i64, Option<f64>)>,
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut numeric = items.filter_map(|(ts, value)| {
            let value = value.filter(|v| v.is_finite())?;
            Some(Point { ts, value })
        });
        let numeric_count = if len == 1 {
            // A live update: one point, stored the way `push` does (same rules), without
            // building a batch.
            numeric.next().map_or(0, |p| {
                if self.push(p.ts, p.value).is_stored() {
                    outcome.stored = 1;
                } else {
                    outcome.too_old = 1;
                }
                1
            })
        } else {
            let mut batch = Vec::with_capacity(len);
            batch.extend(numeric);
            let count = batch.len();
            normalize_batch(&mut batch);
            self.merge_sorted(&batch, &mut outcome);
            count
        };
        outcome.skipped_non_numeric = len.saturating_sub(numeric_count);
        self.skipped_non_numeric = self
            .skipped_non_numeric
            .saturating_add(u64::try_from(outcome.skipped_non_numeric).unwrap_or(u64::MAX));
        outcome
    }

    /// Merges an ascending batch with unique timestamps.
    fn merge_sorted(&mut self, batch: &[Point], outcome: &mut BatchOutcome) {
        let Some(batch_last) = batch.last() else {
            return;
        };
        let newest = self
            .points
            .back()
            .map_or(batch_last.ts, |p| p.ts.max(batch_last.ts));
        let cutoff = newest.saturating_sub(self.limits.max_age_ms());
        let aged = batch.partition_point(|p| p.ts < cutoff);
        let mut batch = batch.get(aged..).unwrap_or_default();
        let max_points = self.limits.max_points();
        let over = batch.len().saturating_sub(max_points);
        batch = batch.get(over..).unwrap_or_default();
        outcome.too_old += aged + over;
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        let front = self.points.front().map(|p| p.ts);
        let back = self.points.back().map(|p| p.ts);
        match (front, back) {
            (Some(front), _) if last.ts < front => self.prepend(batch, outcome),
            (_, Some(back)) if first.ts <= back => self.merge_tail(batch, outcome),
            _ => {
                // Entirely newer (or the buffer is empty): append.
                let excess = (self.points.len() + batch.len()).saturating_sub(max_points);
                self.pop_front(excess);
                self.reserve(batch.len());
                self.points.extend(batch.iter().copied());
                outcome.stored += batch.len();
                self.touch(first.ts, last.ts);
                self.trim_age();
            }
        }
    }

    /// A batch entirely older than the buffer: pushed at the front, newest first.
    fn prepend(&mut self, batch: &[Point], outcome: &mut BatchOutcome) {
        let room = self.limits.max_points().saturating_sub(self.points.len());
        let skip = batch.len().saturating_sub(room);
        outcome.too_old += skip;
        let batch = batch.get(skip..).unwrap_or_default();
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        self.reserve(batch.len());
        for p in batch.iter().rev() {
            self.points.push_front(*p);
        }
        outcome.stored += batch.len();
        self.touch(first.ts, last.ts);
    }

    /// A batch that overlaps the buffer: the points from the batch's first `ts` on are
    /// taken out and merged with the batch (the batch wins on equal `ts`).
    fn merge_tail(&mut self, batch: &[Point], outcome: &mut BatchOutcome) {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        let split = self.points.partition_point(|p| p.ts < first.ts);
        let tail: Vec<Point> = self.points.drain(split..).collect();

        // Size of the merged run, to trim before writing (no growth past the bound).
        let duplicates = count_common_ts(&tail, batch);
        let merged_len = tail.len() + batch.len() - duplicates;
        let excess = (split + merged_len).saturating_sub(self.limits.max_points());
        let from_head = excess.min(split);
        self.pop_front(from_head);
        let mut skip = excess - from_head;
        self.reserve(merged_len - skip);

        let mut changed = false;
        let (mut t, mut b) = (0, 0);
        loop {
            let (point, from_batch) = match (tail.get(t), batch.get(b)) {
                (None, None) => break,
                (Some(old), Some(new)) if old.ts == new.ts => {
                    changed |= old.value.to_bits() != new.value.to_bits();
                    t += 1;
                    b += 1;
                    (*new, true)
                }
                (Some(old), Some(new)) if old.ts < new.ts => {
                    t += 1;
                    (*old, false)
                }
                (_, Some(new)) => {
                    changed = true;
                    b += 1;
                    (*new, true)
                }
                (Some(old), None) => {
                    t += 1;
                    (*old, false)
                }
            };
            if skip > 0 {
                skip -= 1;
                outcome.too_old += usize::from(from_batch);
                changed = true;
                continue;
            }
            outcome.stored += usize::from(from_batch);
            self.points.push_back(point);
        }
        if changed {
            self.touch(first.ts, last.ts);
        }
        self.trim_age();
    }

    /// Removes the points with `from_ts <= ts <= to_ts` (for instance a partial aggregate
    /// that a finer one replaces); returns how many went.
    pub fn remove_range(&mut self, from_ts: i64, to_ts: i64) -> usize {
        let (from_ts, to_ts) = (from_ts.min(to_ts), from_ts.max(to_ts));
        let lo = self.points.partition_point(|p| p.ts < from_ts);
        let hi = self.points.partition_point(|p| p.ts <= to_ts);
        if lo >= hi {
            return 0;
        }
        self.points.drain(lo..hi);
        self.touch(from_ts, to_ts);
        self.shrink_if_sparse();
        hi - lo
    }

    /// The stored point nearest to `ts` (the earlier one on a tie), for hover readouts.
    #[must_use]
    pub fn nearest(&self, ts: i64) -> Option<(i64, f64)> {
        let at = self.points.partition_point(|p| p.ts < ts);
        let after = self.points.get(at);
        let before = at.checked_sub(1).and_then(|i| self.points.get(i));
        let pick = match (before, after) {
            (Some(b), Some(a)) => {
                if i128::from(a.ts) - i128::from(ts) < i128::from(ts) - i128::from(b.ts) {
                    a
                } else {
                    b
                }
            }
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => return None,
        };
        Some((pick.ts, pick.value))
    }

    /// Records an interval (inclusive) in which the client was not listening. Overlapping
    /// or touching intervals merge; an interval older than the oldest point is ignored.
    pub fn mark_gap(&mut self, from_ts: i64, to_ts: i64) {
        let (from_ts, to_ts) = (from_ts.min(to_ts), from_ts.max(to_ts));
        if self.points.front().is_some_and(|p| to_ts < p.ts) {
            return;
        }
        if self
            .gaps
            .iter()
            .any(|g| g.from_ts <= from_ts && to_ts <= g.to_ts)
        {
            return;
        }
        let mut merged = Gap { from_ts, to_ts };
        self.gaps.retain(|g| {
            let overlaps = g.from_ts <= merged.to_ts.saturating_add(1)
                && merged.from_ts <= g.to_ts.saturating_add(1);
            if overlaps {
                merged.from_ts = merged.from_ts.min(g.from_ts);
                merged.to_ts = merged.to_ts.max(g.to_ts);
            }
            !overlaps
        });
        let at = self.gaps.partition_point(|g| g.from_ts < merged.from_ts);
        self.gaps.insert(at, merged);
        if self.gaps.len() > MAX_GAPS {
            let dropped = self.gaps.remove(0);
            // Lines now join across the dropped gap.
            self.touch(dropped.from_ts, dropped.to_ts);
        }
        self.touch(merged.from_ts, merged.to_ts);
    }

    /// Removes `from_ts..=to_ts` from the gaps, for instance once a history request has
    /// backfilled that interval.
    pub fn unmark_gap(&mut self, from_ts: i64, to_ts: i64) {
        let (from_ts, to_ts) = (from_ts.min(to_ts), from_ts.max(to_ts));
        if !self
            .gaps
            .iter()
            .any(|g| g.from_ts <= to_ts && from_ts <= g.to_ts)
        {
            return;
        }
        let mut kept = Vec::with_capacity(self.gaps.len() + 1);
        for g in &self.gaps {
            if g.to_ts < from_ts || to_ts < g.from_ts {
                kept.push(*g);
                continue;
            }
            if g.from_ts < from_ts {
                kept.push(Gap {
                    from_ts: g.from_ts,
                    to_ts: from_ts - 1,
                });
            }
            if to_ts < g.to_ts {
                kept.push(Gap {
                    from_ts: to_ts + 1,
                    to_ts: g.to_ts,
                });
            }
        }
        self.gaps = kept;
        self.touch(from_ts, to_ts);
    }

    /// The recorded gap intervals, ascending and disjoint.
    #[must_use]
    pub fn gaps(&self) -> &[Gap] {
        &self.gaps
    }

    /// The pairs `(ts_before, ts_after)` of consecutive points between which a line must
    /// break: a gap overlaps the time between them, or they are more than `max_step_ms`
    /// apart.
    #[must_use]
    pub fn breaks(&self, max_step_ms: Option<i64>) -> Vec<(i64, i64)> {
        let Some(first) = self.points.front() else {
            return Vec::new();
        };
        let mut cursor = BreakCursor::new(&self.gaps, max_step_ms, first.ts);
        let mut out = Vec::new();
        let mut previous = first.ts;
        for p in self.points.iter().skip(1) {
            if cursor.is_break(previous, p.ts) {
                out.push((previous, p.ts));
            }
            previous = p.ts;
        }
        out
    }

    /// The maximum step [`Self::decimate`] draws a line across (`None`: only gaps break).
    #[must_use]
    pub fn max_step_ms(&self) -> Option<i64> {
        self.max_step_ms
    }

    /// Sets the maximum step: consecutive points farther apart are not joined by a line.
    pub fn set_max_step_ms(&mut self, max_step_ms: Option<i64>) {
        if self.max_step_ms != max_step_ms {
            self.max_step_ms = max_step_ms;
            self.touch(i64::MIN, i64::MAX);
        }
    }

    /// The points of `x_min..=x_max` reduced to at most about two per bucket (use the plot
    /// width in pixels): per bucket the min and the max in time order, plus the first and
    /// last point of each segment; segments break at gaps and at steps over the maximum
    /// step. When points lie beyond the range, the line is continued to `x_min`/`x_max` by
    /// interpolation. With few visible points (at most two per bucket), all are returned.
    ///
    /// The result is cached: the same arguments return it without a scan as long as
    /// nothing changed in the time span it was computed from (which reaches to the nearest
    /// point on each side of the range, so appending live points after the one following
    /// `x_max` keeps it).
    pub fn decimate(&mut self, x_min: i64, x_max: i64, buckets: usize) -> &Decimated {
        let cache = &self.cache;
        let hit = cache.valid
            && cache.x_min == x_min
            && cache.x_max == x_max
            && cache.buckets == buckets
            && self
                .dirty
                .is_none_or(|(lo, hi)| hi < cache.dep_lo || cache.dep_hi < lo);
        if !hit {
            let mut out = std::mem::take(&mut self.cache.out);
            let (dep_lo, dep_hi) = self.decimate_into(x_min, x_max, buckets, &mut out);
            self.cache = DecimationCache {
                valid: true,
                x_min,
                x_max,
                buckets,
                dep_lo,
                dep_hi,
                out,
            };
            self.decimations += 1;
        }
        self.dirty = None;
        &self.cache.out
    }

    /// Computes the decimation; returns the time span the result depends on.
    fn decimate_into(
        &self,
        x_min: i64,
        x_max: i64,
        buckets: usize,
        out: &mut Decimated,
    ) -> (i64, i64) {
        if buckets == 0 || x_min > x_max {
            // Nothing is drawn whatever the data: depends on nothing.
            out.clear();
            return (i64::MAX, i64::MIN);
        }
        self.emit_range(x_min, x_max, out, |lo, hi, out| {
            if hi - lo <= buckets.saturating_mul(2) {
                self.emit_raw(lo, hi, out);
            } else {
                self.emit_buckets(lo, hi, BucketMap::new(x_min, x_max, buckets), out);
            }
        })
    }

    /// Like [`Self::decimate`], but bucket `k` is `[k * bucket_ms, (k + 1) * bucket_ms)` in
    /// absolute time, so buckets stay put while the range slides (pick `bucket_ms` about
    /// the visible span divided by the plot width in pixels; it counts as at least 1). The
    /// output follows the same rules: per bucket the min and the max in time order, the
    /// first and last point of each segment, segments split at gaps and at steps over the
    /// maximum step, lines continued to `x_min`/`x_max` by interpolation, and every visible
    /// point when there are at most two per bucket.
    ///
    /// Made for a plot that follows live data: the per-bucket summaries of the last call are
    /// kept, so a range that only slid right (and points appended at the newest end) costs
    /// O(buckets + new points), not O(visible points); see the module documentation for
    /// what rebuilds. The same arguments with nothing changed in the span the result
    /// depends on return it without any work.
    pub fn decimate_grid(&mut self, x_min: i64, x_max: i64, bucket_ms: i64) -> &Decimated {
        let bucket_ms = bucket_ms.max(1);
        let grid = &mut self.grid;
        if grid.valid
            && !grid.out_stale
            && (grid.x_min, grid.x_max, grid.bucket_ms) == (x_min, x_max, bucket_ms)
        {
            grid.scanned = 0;
            return &self.grid.out;
        }
        let mut grid = std::mem::take(&mut self.grid);
        grid.scanned = 0;
        let (dep_lo, dep_hi) = if x_min > x_max {
            grid.runs.clear();
            grid.out.clear();
            (i64::MAX, i64::MIN)
        } else {
            self.update_runs(&mut grid, x_min, x_max, bucket_ms);
            let buckets = i128::from(x_max.div_euclid(bucket_ms))
                - i128::from(x_min.div_euclid(bucket_ms))
                + 1;
            let mut out = std::mem::take(&mut grid.out);
            let mut raw_scanned = 0;
            let dep = self.emit_range(x_min, x_max, &mut out, |lo, hi, out| {
                let visible = i128::try_from(hi - lo).unwrap_or(i128::MAX);
                if visible <= buckets.saturating_mul(2) {
                    self.emit_raw(lo, hi, out);
                    raw_scanned = hi - lo;
                } else {
                    emit_runs(&grid.runs, out);
                }
            });
            grid.out = out;
            grid.scanned += raw_scanned;
            dep
        };
        if grid.runs.capacity() > 1024 && grid.runs.len() < grid.runs.capacity() / 4 {
            grid.runs.shrink_to(grid.runs.len() + grid.runs.len() / 4);
        }
        self.grid = GridCache {
            valid: true,
            x_min,
            x_max,
            bucket_ms,
            dirty_from: None,
            out_stale: false,
            dep_lo,
            dep_hi,
            ..grid
        };
        &self.grid.out
    }

    /// Brings the runs up to date for `x_min..=x_max`: keeps what is still valid, drops
    /// what left the range, rescans the rest.
    fn update_runs(&self, grid: &mut GridCache, x_min: i64, x_max: i64, bucket_ms: i64) {
        let runs = &mut grid.runs;
        if !(grid.valid && grid.bucket_ms == bucket_ms && x_min >= grid.x_min) {
            runs.clear();
        }
        // A change: rescan from the run it touched. The runs that end before it hold only
        // points and breaks it cannot affect, and extending the last of them in order gives
        // what a fresh scan would.
        if let Some(from) = grid.dirty_from.take() {
            while runs.back().is_some_and(|r| r.last.ts >= from) {
                runs.pop_back();
            }
        }
        if runs.back().is_some_and(|r| r.last.ts > x_max) {
            runs.clear();
        }
        // The left edge moved: drop the runs before it, rescan the one it cuts.
        while runs.front().is_some_and(|r| r.last.ts < x_min) {
            runs.pop_front();
        }
        if let Some(cut) = runs.front_mut()
            && cut.first.ts < x_min
        {
            let lo = self.points.partition_point(|p| p.ts < x_min);
            let hi = self.points.partition_point(|p| p.ts <= cut.last.ts);
            let mut suffix = self.points.range(lo..hi);
            if let Some(&first) = suffix.next() {
                *cut = Run::new(first, true);
                suffix.for_each(|&p| cut.add(p));
            }
            grid.scanned += hi.saturating_sub(lo);
        }
        // New and newly visible points.
        let from = match runs.back() {
            Some(newest) => self.points.partition_point(|p| p.ts <= newest.last.ts),
            None => self.points.partition_point(|p| p.ts < x_min),
        };
        let to = self.points.partition_point(|p| p.ts <= x_max);
        grid.scanned += self.extend_runs(runs, from, to, bucket_ms);
        if let Some(first) = runs.front_mut() {
            first.starts_segment = true;
        }
    }

    /// Adds the points `from..to` (newer than every run) to the runs; returns how many.
    fn extend_runs(
        &self,
        runs: &mut VecDeque<Run>,
        from: usize,
        to: usize,
        bucket_ms: i64,
    ) -> usize {
        let Some((first, last)) = self.bounds(from, to) else {
            return 0;
        };
        let mut previous = runs.back().map(|r| r.last);
        let mut cursor =
            BreakCursor::new(&self.gaps, self.max_step_ms, previous.unwrap_or(first).ts);
        let may_break = cursor.may_break_before(last.ts);
        let mut map = GridMap::new(bucket_ms);
        let mut key = previous.map(|p| map.key(p.ts));
        for &p in self.points.range(from..to) {
            let broken = may_break && previous.is_some_and(|q| cursor.is_break(q.ts, p.ts));
            let k = map.key(p.ts);
            match runs.back_mut() {
                Some(run) if !broken && key == Some(k) => run.add(p),
                _ => {
                    runs.push_back(Run::new(p, broken || previous.is_none()));
                    key = Some(k);
                }
            }
            previous = Some(p);
        }
        to - from
    }

    /// Writes the line through `x_min..=x_max` (`x_min <= x_max`): the points interpolated
    /// at the edges from the neighbours outside the range and, between them, what `middle`
    /// writes for the visible points `lo..hi` (called only when there is at least one).
    /// Returns the time span the result depends on: from the left to the right neighbour.
    fn emit_range(
        &self,
        x_min: i64,
        x_max: i64,
        out: &mut Decimated,
        middle: impl FnOnce(usize, usize, &mut Decimated),
    ) -> (i64, i64) {
        out.clear();
        let lo = self.points.partition_point(|p| p.ts < x_min);
        let hi = self.points.partition_point(|p| p.ts <= x_max).max(lo);
        let left = lo.checked_sub(1).and_then(|i| self.points.get(i)).copied();
        let right = self.points.get(hi).copied();
        let visible = self.bounds(lo, hi);

        // The line from the left neighbour to the range's edge.
        if let Some(l) = left
            && let Some(next) = visible.map(|(p0, _)| p0).or(right)
            && next.ts > x_min
            && !self.is_break(l.ts, next.ts)
        {
            out.push_xy(ts_to_x(x_min), interpolate(l, next, x_min));
        }
        if let Some((p0, _)) = visible {
            if left.is_some_and(|l| self.is_break(l.ts, p0.ts)) {
                out.close_segment();
            }
            middle(lo, hi, out);
        }
        // The line from the last point to the right edge.
        if let Some(r) = right
            && let Some(q) = visible.map(|(_, p)| p).or(left)
            && q.ts < x_max
            && !self.is_break(q.ts, r.ts)
        {
            out.push_xy(ts_to_x(x_max), interpolate(q, r, x_max));
        }
        out.close_segment();
        (
            left.map_or(i64::MIN, |p| p.ts),
            right.map_or(i64::MAX, |p| p.ts),
        )
    }

    /// Writes the points `lo..hi` (at least one) as they are, split at breaks.
    fn emit_raw(&self, lo: usize, hi: usize, out: &mut Decimated) {
        let Some((first, last)) = self.bounds(lo, hi) else {
            return;
        };
        let mut cursor = BreakCursor::new(&self.gaps, self.max_step_ms, first.ts);
        // Most views hold no gap and no maximum step: skip the per-pair test then.
        let may_break = cursor.may_break_before(last.ts);
        let mut previous: Option<i64> = None;
        for p in self.points.range(lo..hi) {
            if may_break && previous.is_some_and(|q| cursor.is_break(q, p.ts)) {
                out.close_segment();
            }
            out.push(p.ts, p.value);
            previous = Some(p.ts);
        }
    }

    /// Writes the points `lo..hi` (at least one) reduced to runs of `map`'s buckets.
    fn emit_buckets(&self, lo: usize, hi: usize, mut map: BucketMap, out: &mut Decimated) {
        let Some((p0, last)) = self.bounds(lo, hi) else {
            return;
        };
        let mut cursor = BreakCursor::new(&self.gaps, self.max_step_ms, p0.ts);
        let may_break = cursor.may_break_before(last.ts);
        let mut key = map.key(p0.ts);
        let mut run = Run::new(p0, true);
        let mut previous_ts = p0.ts;
        for &p in self.points.range(lo + 1..hi) {
            let broken = may_break && cursor.is_break(previous_ts, p.ts);
            previous_ts = p.ts;
            let k = map.key(p.ts);
            if !broken && k == key {
                run.add(p);
                continue;
            }
            std::mem::replace(&mut run, Run::new(p, broken)).flush(broken, out);
            if broken {
                out.close_segment();
            }
            key = k;
        }
        run.flush(true, out);
    }

    /// The first and the last of the points `lo..hi`, if there is any.
    fn bounds(&self, lo: usize, hi: usize) -> Option<(Point, Point)> {
        if lo >= hi {
            return None;
        }
        Some((*self.points.get(lo)?, *self.points.get(hi - 1)?))
    }

    /// Whether the line breaks between consecutive points at `a < b`.
    fn is_break(&self, a: i64, b: i64) -> bool {
        BreakCursor::new(&self.gaps, self.max_step_ms, a).is_break(a, b)
    }

    // --- bookkeeping -------------------------------------------------------------------

    /// Records a change touching `lo..=hi` (for the caches) and bumps the version.
    fn touch(&mut self, lo: i64, hi: i64) {
        self.version = self.version.wrapping_add(1);
        self.dirty = Some(match self.dirty {
            Some((a, b)) => (a.min(lo), b.max(hi)),
            None => (lo, hi),
        });
        self.grid.note_change(lo, hi);
    }

    /// Drops the `n` oldest points.
    fn pop_front(&mut self, n: usize) {
        let Some(first) = self.points.front().map(|p| p.ts) else {
            return;
        };
        let n = n.min(self.points.len());
        if n == 0 {
            return;
        }
        let last = self.points.get(n - 1).map_or(first, |p| p.ts);
        self.points.drain(..n);
        self.touch(first, last);
        self.trim_gaps();
    }

    /// Drops the points older than the newest minus the age bound.
    fn trim_age(&mut self) {
        let Some(newest) = self.points.back().map(|p| p.ts) else {
            return;
        };
        let cutoff = newest.saturating_sub(self.limits.max_age_ms());
        if self.points.front().is_some_and(|p| p.ts < cutoff) {
            let n = self.points.partition_point(|p| p.ts < cutoff);
            self.pop_front(n);
        }
    }

    /// Drops the gaps that end before the oldest point.
    fn trim_gaps(&mut self) {
        if let Some(oldest) = self.points.front().map(|p| p.ts) {
            let n = self.gaps.partition_point(|g| g.to_ts < oldest);
            self.gaps.drain(..n);
        }
    }

    /// Makes room for `additional` points, growing by a quarter at a time (doubling would
    /// cost up to 32 bytes per point) and never past the count bound.
    fn reserve(&mut self, additional: usize) {
        let len = self.points.len();
        let capacity = self.points.capacity();
        let needed = len.saturating_add(additional);
        if needed <= capacity {
            return;
        }
        let target = needed
            .max(capacity + capacity / 4)
            .max(16)
            .min(self.limits.max_points().max(needed));
        // On failure, the push that follows grows (or fails) the standard way.
        let _ = self.points.try_reserve_exact(target - len);
    }

    /// Gives memory back after the buffer lost most of its points.
    fn shrink_if_sparse(&mut self) {
        let len = self.points.len();
        if self.points.capacity() > 1024 && len < self.points.capacity() / 4 {
            self.points.shrink_to(len + len / 4);
        }
    }
}

/// Sorts a wire batch ascending (it is usually already ascending or newest first) and keeps
/// one point per timestamp.
fn normalize_batch(batch: &mut Vec<Point>) {
    if !batch.is_sorted_by_key(|p| p.ts) {
        if batch.is_sorted_by(|a, b| a.ts >= b.ts) {
            batch.reverse();
        } else {
            batch.sort_by_key(|p| p.ts);
        }
    }
    // Of equal timestamps, the last in ascending order stays.
    batch.dedup_by(|next, kept| {
        let same = next.ts == kept.ts;
        if same {
            kept.value = next.value;
        }
        same
    });
}

/// How many timestamps two ascending, duplicate-free runs share.
fn count_common_ts(left: &[Point], right: &[Point]) -> usize {
    let (mut li, mut ri, mut common) = (0, 0, 0);
    while let (Some(l), Some(r)) = (left.get(li), right.get(ri)) {
        match l.ts.cmp(&r.ts) {
            std::cmp::Ordering::Less => li += 1,
            std::cmp::Ordering::Greater => ri += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                li += 1;
                ri += 1;
            }
        }
    }
    common
}

/// Writes the runs (at least one) as line segments.
fn emit_runs(runs: &VecDeque<Run>, out: &mut Decimated) {
    let mut runs = runs.iter().peekable();
    let mut first = true;
    while let Some(run) = runs.next() {
        if run.starts_segment && !first {
            out.close_segment();
        }
        let ends_segment = runs.peek().is_none_or(|next| next.starts_segment);
        run.flush(ends_segment, out);
        first = false;
    }
}

/// The value of the straight line from `a` to `b` at `ts` (`a.ts < b.ts`).
#[allow(clippy::cast_precision_loss)]
fn interpolate(a: Point, b: Point, ts: i64) -> f64 {
    let dt = (i128::from(b.ts) - i128::from(a.ts)) as f64;
    if dt <= 0.0 {
        return a.value;
    }
    let t = (i128::from(ts) - i128::from(a.ts)) as f64 / dt;
    a.value + (b.value - a.value) * t.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// A small deterministic generator (no dependency needed).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn ts_below(&mut self, n: u64) -> i64 {
            i64::try_from(self.below(n)).unwrap()
        }

        fn value(&mut self) -> f64 {
            f64::from(u32::try_from(self.below(1_000_000)).unwrap()) / 1000.0 - 500.0
        }
    }

    fn all(buf: &SeriesBuffer) -> Vec<(i64, f64)> {
        buf.points_in(i64::MIN, i64::MAX).collect()
    }

    fn bounded(max_points: usize, max_age_ms: i64) -> SeriesBuffer {
        SeriesBuffer::new(SeriesLimits {
            max_points,
            max_age_ms,
        })
    }

    /// The gaps as `(from_ts, to_ts)`.
    fn spans(buf: &SeriesBuffer) -> Vec<(i64, i64)> {
        buf.gaps().iter().map(|g| (g.from_ts, g.to_ts)).collect()
    }

    fn unbounded() -> SeriesBuffer {
        bounded(usize::MAX, i64::MAX)
    }

    fn wire(points: &[(i64, &str)]) -> Vec<TsValue> {
        points.iter().map(|&(ts, v)| TsValue::new(ts, v)).collect()
    }

    fn v(x: i64) -> f64 {
        f64::from(i32::try_from(x).unwrap())
    }

    #[test]
    fn points_stay_ascending_whatever_the_push_order() {
        let mut buf = unbounded();
        let mut rng = Lcg(1);
        for _ in 0..2_000 {
            let ts = rng.ts_below(1_000);
            assert!(buf.push(ts, v(ts)).is_stored());
        }
        let points = all(&buf);
        assert!(points.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(buf.range(), Some((points[0].0, points[points.len() - 1].0)));
        assert_eq!(buf.latest(), points.last().copied());
    }

    #[test]
    fn an_out_of_order_point_is_inserted_in_place() {
        let mut buf = unbounded();
        assert_eq!(buf.push(10, 1.0), PushOutcome::Appended);
        assert_eq!(buf.push(30, 3.0), PushOutcome::Appended);
        assert_eq!(buf.push(20, 2.0), PushOutcome::Inserted);
        assert_eq!(buf.push(5, 0.5), PushOutcome::Inserted);
        assert_eq!(all(&buf), vec![(5, 0.5), (10, 1.0), (20, 2.0), (30, 3.0)]);
        assert_eq!(buf.latest(), Some((30, 3.0)));
    }

    #[test]
    fn an_equal_timestamp_replaces_the_value_and_never_duplicates() {
        let mut buf = unbounded();
        buf.push(10, 1.0);
        buf.push(20, 2.0);
        buf.push(30, 3.0);
        assert_eq!(buf.push(30, 3.5), PushOutcome::Replaced);
        assert_eq!(buf.push(20, 2.5), PushOutcome::Replaced);
        assert_eq!(buf.push(20, 2.5), PushOutcome::Unchanged);
        assert_eq!(all(&buf), vec![(10, 1.0), (20, 2.5), (30, 3.5)]);
    }

    #[test]
    fn non_finite_values_are_refused() {
        let mut buf = unbounded();
        assert_eq!(buf.push(1, f64::NAN), PushOutcome::NotFinite);
        assert_eq!(buf.push(2, f64::INFINITY), PushOutcome::NotFinite);
        assert_eq!(buf.push(3, f64::NEG_INFINITY), PushOutcome::NotFinite);
        assert!(buf.is_empty());
        assert_eq!(buf.version(), 0);
    }

    #[test]
    fn the_count_bound_drops_the_oldest_points() {
        let mut buf = bounded(3, i64::MAX);
        for ts in [10, 20, 30, 40, 50] {
            buf.push(ts, v(ts));
        }
        assert_eq!(all(&buf), vec![(30, 30.0), (40, 40.0), (50, 50.0)]);
        assert_eq!(buf.push(20, 2.0), PushOutcome::TooOld);
        assert_eq!(buf.push(35, 3.5), PushOutcome::Inserted);
        assert_eq!(all(&buf), vec![(35, 3.5), (40, 40.0), (50, 50.0)]);
        assert!(buf.heap_bytes() <= 16 * 16, "capacity stays near the bound");
    }

    #[test]
    fn the_age_bound_drops_points_older_than_the_newest_minus_max_age() {
        let mut buf = bounded(usize::MAX, 100);
        for ts in [0, 50, 100] {
            buf.push(ts, v(ts));
        }
        assert_eq!(buf.len(), 3, "a point exactly max_age old stays");
        buf.push(150, 150.0);
        assert_eq!(all(&buf), vec![(50, 50.0), (100, 100.0), (150, 150.0)]);
        assert_eq!(buf.push(40, 4.0), PushOutcome::TooOld);
        assert_eq!(buf.push(60, 6.0), PushOutcome::Inserted);
        assert_eq!(buf.len(), 4);
    }

    #[test]
    fn shrinking_the_limits_trims_at_once() {
        let mut buf = unbounded();
        for ts in 0..10_000 {
            buf.push(ts, v(ts));
        }
        let before = buf.heap_bytes();
        buf.set_limits(SeriesLimits {
            max_points: 100,
            max_age_ms: 50,
        });
        assert_eq!(buf.range(), Some((9_949, 9_999)));
        assert!(buf.heap_bytes() < before / 10, "memory is given back");
    }

    #[test]
    fn a_one_point_batch_does_what_a_batch_merge_would() {
        // Two points with one `ts` normalise to the second: the batch path for one point.
        let full = || {
            let mut buf = bounded(3, 100);
            buf.extend_from_wire(&wire(&[(10, "1"), (20, "2"), (30, "3")]));
            buf
        };
        for (ts, value) in [
            (40, "4"),   // newer: appended, the oldest dropped
            (30, "3"),   // the same point: unchanged
            (30, "9"),   // same ts: replaced
            (25, "9"),   // between: inserted, the oldest dropped
            (5, "9"),    // older than every point of a full buffer
            (-100, "9"), // older than the age bound
        ] {
            let (mut one, mut merged) = (full(), full());
            let a = one.extend_from_wire(&wire(&[(ts, value)]));
            let b = merged.extend_from_wire(&wire(&[(ts, "0"), (ts, value)]));
            let context = format!("{ts} {value}");
            assert_eq!(all(&one), all(&merged), "{context}");
            assert_eq!((a.stored, a.too_old), (b.stored, b.too_old), "{context}");
            assert_eq!(one.version(), merged.version(), "{context}");
        }
        let mut one = full();
        let outcome = one.extend_from_wire(&wire(&[(50, "NaN")]));
        assert_eq!((outcome.stored, outcome.skipped_non_numeric), (0, 1));
        assert_eq!((all(&one), one.skipped_non_numeric()), (all(&full()), 1));
    }

    #[test]
    fn newest_first_and_ascending_wire_batches_give_the_same_buffer() {
        let ascending: Vec<TsValue> = (0..50)
            .map(|i| TsValue::new(1_000 + i * 10, format!("{}.5", i * 3)))
            .collect();
        let newest_first: Vec<TsValue> = ascending.iter().rev().cloned().collect();
        let mut shuffled = ascending.clone();
        shuffled.swap(3, 40);
        shuffled.swap(7, 21);

        let mut from_ascending = unbounded();
        let mut from_newest_first = unbounded();
        let mut from_shuffled = unbounded();
        assert_eq!(from_ascending.extend_from_wire(&ascending).stored, 50);
        assert_eq!(from_newest_first.extend_from_wire(&newest_first).stored, 50);
        assert_eq!(from_shuffled.extend_from_wire(&shuffled).stored, 50);
        assert_eq!(all(&from_ascending), all(&from_newest_first));
        assert_eq!(all(&from_ascending), all(&from_shuffled));
        assert_eq!(all(&from_ascending)[1], (1_010, 3.5));

        // The same into a buffer that already holds newer live points (merge, not append).
        let mut d = unbounded();
        d.push(1_240, 99.0);
        d.push(2_000, 1.0);
        let mut e = d.clone();
        d.extend_from_wire(&ascending);
        e.extend_from_wire(&newest_first);
        assert_eq!(all(&d), all(&e));
        assert_eq!(d.len(), 51);
        assert_eq!(d.points_in(1_240, 1_240).next(), Some((1_240, 72.5)));

        // v1 arrays: [ts, "value"], newest first.
        let v1: Vec<TsPoint> = newest_first
            .iter()
            .map(|p| TsPoint(p.ts, p.value.clone()))
            .collect();
        let mut f = unbounded();
        f.extend_from_v1(&v1);
        assert_eq!(all(&f), all(&from_ascending));
    }

    #[test]
    fn non_numeric_wire_values_are_skipped_and_counted() {
        let mut batch = wire(&[
            (1, "42"),
            (2, "1.0E7"),
            (3, "abc"),
            (4, ""),
            (5, "NaN"),
            (6, "Infinity"),
            (7, "true"),
            (8, "-2.5e-3"),
            (9, "{\"a\":1}"),
        ]);
        batch.push(TsValue {
            ts: 10,
            value: None,
            count: None,
        });
        let mut buf = unbounded();
        let outcome = buf.extend_from_wire(&batch);
        assert_eq!(
            outcome,
            BatchOutcome {
                stored: 3,
                skipped_non_numeric: 7,
                too_old: 0
            }
        );
        assert_eq!(all(&buf), vec![(1, 42.0), (2, 1.0e7), (8, -2.5e-3)]);
        buf.extend_from_wire(&wire(&[(11, "x")]));
        assert_eq!(buf.skipped_non_numeric(), 8);
    }

    #[test]
    fn a_backfill_batch_merges_without_duplicates() {
        let mut buf = unbounded();
        for ts in (0..100).step_by(10) {
            buf.push(ts, v(ts));
        }
        // A reconnect backfill: overlaps the tail, fills a missing point, repeats others.
        buf.push(200, 200.0);
        let version = buf.version();
        let outcome =
            buf.extend_from_wire(&wire(&[(200, "200"), (150, "150"), (90, "90"), (80, "80")]));
        assert_eq!(outcome.stored, 4);
        assert!(buf.version() > version);
        assert_eq!(buf.len(), 12);
        let ts: Vec<i64> = all(&buf).iter().map(|p| p.0).collect();
        assert_eq!(ts, vec![0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 150, 200]);

        // The same backfill again changes nothing, and the version says so.
        let version = buf.version();
        buf.extend_from_wire(&wire(&[(200, "200"), (150, "150"), (90, "90")]));
        assert_eq!(buf.version(), version);
        assert_eq!(buf.len(), 12);

        // A new value for a stored timestamp replaces it.
        buf.extend_from_wire(&wire(&[(150, "7")]));
        assert_eq!(buf.points_in(150, 150).next(), Some((150, 7.0)));
    }

    #[test]
    fn a_batch_entirely_newer_is_appended_and_one_entirely_older_prepended() {
        let mut buf = bounded(6, i64::MAX);
        buf.extend_from_wire(&wire(&[(30, "3"), (20, "2")]));
        buf.extend_from_wire(&wire(&[(50, "5"), (40, "4")]));
        let outcome = buf.extend_from_wire(&wire(&[(10, "1"), (0, "0"), (-10, "-1")]));
        assert_eq!(
            (outcome.stored, outcome.too_old),
            (2, 1),
            "room for two only"
        );
        assert_eq!(
            all(&buf),
            vec![
                (0, 0.0),
                (10, 1.0),
                (20, 2.0),
                (30, 3.0),
                (40, 4.0),
                (50, 5.0)
            ]
        );
        // A full buffer keeps the newest: an older batch is refused as too old.
        let outcome = buf.extend_from_wire(&wire(&[(-20, "0"), (-30, "0")]));
        assert_eq!(outcome.too_old, 2);
        assert_eq!(buf.len(), 6);
    }

    /// Applies the bounds the way the buffer documents them, on an ordered map.
    fn trim_model(model: &mut BTreeMap<i64, f64>, limits: SeriesLimits) {
        if let Some((&newest, _)) = model.last_key_value() {
            let cutoff = newest.saturating_sub(limits.max_age_ms);
            *model = model.split_off(&cutoff);
        }
        while model.len() > limits.max_points {
            model.pop_first();
        }
    }

    #[test]
    fn random_pushes_and_batches_match_an_ordered_map_model() {
        let limits = SeriesLimits {
            max_points: 300,
            max_age_ms: 20_000,
        };
        let mut rng = Lcg(7);
        let mut buf = SeriesBuffer::new(limits);
        let mut model = BTreeMap::new();
        let mut now = 0;
        for round in 0..3_000 {
            now += rng.ts_below(40);
            match rng.below(4) {
                0 | 1 => {
                    // A live point, sometimes late.
                    let ts = now - rng.ts_below(30) * rng.ts_below(2) * 100;
                    let value = rng.value();
                    let outcome = buf.push(ts, value);
                    model.insert(ts, value);
                    trim_model(&mut model, limits);
                    assert_eq!(outcome.is_stored(), model.get(&ts) == Some(&value));
                }
                _ => {
                    // A history batch around `now`, in one of three orders, unique timestamps.
                    let count = rng.below(120);
                    let start = now - rng.ts_below(30_000);
                    let step = 1 + rng.ts_below(200);
                    let mut batch: Vec<TsValue> = (0..i64::try_from(count).unwrap())
                        .map(|i| TsValue::new(start + i * step, TbValue::from_f64(rng.value())))
                        .collect();
                    match rng.below(3) {
                        0 => batch.reverse(),
                        1 if batch.len() > 2 => batch.swap(0, 1),
                        _ => {}
                    }
                    let outcome = buf.extend_from_wire(&batch);
                    for p in &batch {
                        model.insert(p.ts, p.as_f64().unwrap());
                    }
                    trim_model(&mut model, limits);
                    let kept = batch.iter().filter(|p| model.contains_key(&p.ts)).count();
                    assert_eq!(outcome.stored, kept, "round {round}");
                    assert_eq!(
                        outcome.stored + outcome.too_old,
                        batch.len(),
                        "round {round}"
                    );
                }
            }
            let expected: Vec<(i64, f64)> = model.iter().map(|(&t, &v)| (t, v)).collect();
            assert_eq!(all(&buf), expected, "round {round}");
            assert!(buf.heap_bytes() <= 24 * 300 + 64 * 16, "round {round}");
        }
    }

    #[test]
    fn version_increments_on_every_change_and_not_on_a_no_op() {
        let mut buf = bounded(2, i64::MAX);
        let mut last = buf.version();
        let mut changed = |buf: &SeriesBuffer, expect: bool| {
            assert_eq!(buf.version() != last, expect);
            last = buf.version();
        };
        buf.push(10, 1.0);
        changed(&buf, true);
        buf.push(10, 1.0);
        changed(&buf, false);
        buf.push(10, 2.0);
        changed(&buf, true);
        buf.push(5, 2.0);
        changed(&buf, true);
        buf.push(1, 2.0);
        changed(&buf, false);
        buf.push(20, 2.0);
        changed(&buf, true);
        buf.mark_gap(12, 14);
        changed(&buf, true);
        buf.mark_gap(13, 14);
        changed(&buf, false);
        buf.set_max_step_ms(Some(5));
        changed(&buf, true);
        buf.set_max_step_ms(Some(5));
        changed(&buf, false);
        buf.extend_from_wire(&wire(&[(30, "1")]));
        changed(&buf, true);
        buf.extend_from_wire(&wire(&[(30, "1")]));
        changed(&buf, false);
        buf.clear();
        changed(&buf, true);
    }

    #[test]
    fn gaps_are_sorted_and_merged_when_they_overlap_or_touch() {
        let mut buf = unbounded();
        buf.mark_gap(100, 200);
        buf.mark_gap(10, 20);
        buf.mark_gap(300, 250);
        assert_eq!(spans(&buf), [(10, 20), (100, 200), (250, 300)]);
        buf.mark_gap(150, 260);
        buf.mark_gap(21, 30);
        assert_eq!(spans(&buf), [(10, 30), (100, 300)]);
        buf.mark_gap(0, 1_000);
        assert_eq!(spans(&buf), [(0, 1_000)]);
    }

    #[test]
    fn gaps_older_than_the_oldest_point_are_dropped() {
        let mut buf = bounded(3, i64::MAX);
        buf.mark_gap(5, 8);
        for ts in [10, 20, 30] {
            buf.push(ts, 0.0);
        }
        buf.mark_gap(22, 28);
        buf.mark_gap(1, 2);
        assert_eq!(
            buf.gaps().len(),
            2,
            "a gap before the oldest point is ignored"
        );
        buf.push(40, 0.0);
        assert_eq!(spans(&buf), [(22, 28)]);
        buf.push(50, 0.0);
        assert!(buf.gaps().is_empty());
        for i in 0..2_000 {
            buf.mark_gap(100 + i * 10, 105 + i * 10);
        }
        assert_eq!(buf.gaps().len(), MAX_GAPS);
    }

    #[test]
    fn unmarking_a_backfilled_interval_splits_the_gap() {
        let mut buf = unbounded();
        buf.mark_gap(100, 200);
        buf.mark_gap(300, 400);
        buf.unmark_gap(150, 350);
        assert_eq!(spans(&buf), [(100, 149), (351, 400)]);
        buf.unmark_gap(i64::MIN, i64::MAX);
        assert!(buf.gaps().is_empty());
    }

    #[test]
    fn lines_break_at_gaps_and_at_long_steps() {
        let mut buf = unbounded();
        for ts in [0, 10, 20, 30, 100, 110, 120, 130] {
            buf.push(ts, 0.0);
        }
        assert!(buf.breaks(None).is_empty());
        assert_eq!(buf.breaks(Some(50)), vec![(30, 100)]);
        buf.mark_gap(12, 15); // between 10 and 20
        buf.mark_gap(110, 110); // on a point: no line skips it
        buf.mark_gap(125, 140); // after 120, through 130 and beyond
        assert_eq!(buf.breaks(None), vec![(10, 20), (120, 130)]);
        assert_eq!(buf.breaks(Some(50)), vec![(10, 20), (30, 100), (120, 130)]);
        assert_eq!(buf.breaks(Some(5)).len(), 7);
    }

    /// The bucket of `ts` in `x_min..=x_max`, computed independently of the implementation.
    fn reference_bucket(ts: i64, x_min: i64, x_max: i64, buckets: usize) -> i128 {
        let offset = i128::from(ts) - i128::from(x_min);
        let span = i128::from(x_max) - i128::from(x_min) + 1;
        offset * i128::try_from(buckets).unwrap() / span
    }

    #[allow(clippy::cast_precision_loss)]
    fn x(ts: i64) -> f64 {
        ts as f64
    }

    /// Checks a decimation against a brute-force scan of the buffer.
    fn check_decimation(buf: &mut SeriesBuffer, x_min: i64, x_max: i64, buckets: usize) {
        let out = buf.decimate(x_min, x_max, buckets).clone();
        let count = u128::try_from(buckets).unwrap();
        check_output(buf, &out, (x_min, x_max), count, |t| {
            reference_bucket(t, x_min, x_max, buckets)
        });
    }

    /// Checks a grid decimation against a brute-force scan of the buffer.
    fn check_grid(buf: &mut SeriesBuffer, x_min: i64, x_max: i64, bucket_ms: i64) {
        let out = buf.decimate_grid(x_min, x_max, bucket_ms).clone();
        let key = |t: i64| i128::from(t.div_euclid(bucket_ms));
        let count = u128::try_from(key(x_max) - key(x_min) + 1).unwrap();
        check_output(buf, &out, (x_min, x_max), count, key);
    }

    /// Checks a decimation of `x_min..=x_max` to `buckets` buckets (`bucket_of` numbers
    /// them) against a brute-force scan of the buffer: every bucket's true min and max (or
    /// every point, when few are visible), the first and last visible point, no line across
    /// a break, nothing but real points and edge points. Output points are copies of stored
    /// ones, so exact float comparison is the point.
    #[allow(clippy::float_cmp)]
    fn check_output(
        buf: &SeriesBuffer,
        out: &Decimated,
        (x_min, x_max): (i64, i64),
        buckets: u128,
        bucket_of: impl Fn(i64) -> i128,
    ) {
        let visible: Vec<(i64, f64)> = buf.points_in(x_min, x_max).collect();
        let breaks = buf.breaks(buf.max_step_ms());
        let label = format!("{x_min}..={x_max} / {buckets}");
        let bound = buckets.saturating_mul(2) + 4 + 4 * u128::try_from(breaks.len()).unwrap();
        assert!(u128::try_from(out.len()).unwrap() <= bound, "{label}");
        assert!(
            out.points().windows(2).all(|w| w[0][0] <= w[1][0]),
            "ascending: {label}"
        );
        // Every point is a real visible point, or an edge point at x_min / x_max.
        for p in out.points() {
            let real = visible.iter().any(|&(t, v)| x(t) == p[0] && v == p[1]);
            assert!(
                real || p[0] == x(x_min) || p[0] == x(x_max),
                "{p:?}: {label}"
            );
        }
        if u128::try_from(visible.len()).unwrap() <= buckets.saturating_mul(2) {
            for &(t, v) in &visible {
                assert!(out.points().contains(&[x(t), v]), "raw {t}: {label}");
            }
        } else {
            // The earliest min and max of each bucket.
            let mut extremes: BTreeMap<i128, [(i64, f64); 2]> = BTreeMap::new();
            for &(t, v) in &visible {
                let [lo, hi] = extremes.entry(bucket_of(t)).or_insert([(t, v); 2]);
                if v < lo.1 {
                    *lo = (t, v);
                }
                if v > hi.1 {
                    *hi = (t, v);
                }
            }
            for (b, [(lo_t, lo), (hi_t, hi)]) in extremes {
                assert!(out.points().contains(&[x(lo_t), lo]), "min of {b}: {label}");
                assert!(out.points().contains(&[x(hi_t), hi]), "max of {b}: {label}");
            }
        }
        // No segment draws across a break.
        for segment in out.segments() {
            let (first, last) = (segment[0][0], segment[segment.len() - 1][0]);
            for &(a, b) in &breaks {
                assert!(!(first <= x(a) && x(b) <= last), "across {a}..{b}: {label}");
            }
        }
        // Lines that reach the edges: the first and last visible points are drawn.
        if let (Some(&(t0, v0)), Some(&(t1, v1))) = (visible.first(), visible.last()) {
            assert!(out.points().contains(&[x(t0), v0]), "first: {label}");
            assert!(out.points().contains(&[x(t1), v1]), "last: {label}");
        }
    }

    fn random_buffer(seed: u64, count: usize) -> SeriesBuffer {
        let mut rng = Lcg(seed);
        let mut buf = unbounded();
        let mut ts = 1_700_000_000_000;
        for _ in 0..count {
            ts += 1 + rng.ts_below(50);
            buf.push(ts, rng.value());
        }
        buf
    }

    #[test]
    fn decimation_keeps_the_true_min_and_max_of_every_bucket() {
        let mut rng = Lcg(11);
        let mut buf = random_buffer(3, 20_000);
        let (first, last) = buf.range().unwrap();
        let span = last - first;
        for _ in 0..60 {
            let a = first - span / 10 + rng.ts_below(u64::try_from(span).unwrap());
            let b = a + rng.ts_below(u64::try_from(span).unwrap());
            let buckets = 1 + usize::try_from(rng.below(1_500)).unwrap();
            check_decimation(&mut buf, a, b, buckets);
        }
        check_decimation(&mut buf, first, last, 1_000);
        check_decimation(&mut buf, first, last, 1);
        check_decimation(&mut buf, i64::MIN, i64::MAX, 997);
    }

    #[test]
    fn decimation_splits_segments_at_gaps_and_long_steps() {
        let mut rng = Lcg(5);
        let mut buf = random_buffer(9, 20_000);
        let (first, last) = buf.range().unwrap();
        for _ in 0..40 {
            let from = first + rng.ts_below(u64::try_from(last - first).unwrap());
            buf.mark_gap(from, from + rng.ts_below(2_000));
        }
        buf.set_max_step_ms(Some(45));
        let breaks = buf.breaks(Some(45));
        assert!(breaks.len() > 40);
        for _ in 0..30 {
            let a = first + rng.ts_below(u64::try_from(last - first).unwrap());
            let b = a + rng.ts_below(300_000);
            let buckets = 1 + usize::try_from(rng.below(1_000)).unwrap();
            check_decimation(&mut buf, a, b, buckets);
        }
        let out = buf.decimate(first, last, 800);
        assert!(out.segment_count() > 40);
        assert_eq!(out.segments().map(<[_]>::len).sum::<usize>(), out.len());
    }

    #[test]
    fn decimation_of_few_points_returns_them_all() {
        let mut buf = unbounded();
        for ts in [100, 110, 120, 130, 200, 210] {
            buf.push(ts, v(ts) / 10.0);
        }
        buf.mark_gap(150, 160);
        let out = buf.decimate(100, 210, 800);
        let segments: Vec<Vec<[f64; 2]>> = out.segments().map(<[_]>::to_vec).collect();
        assert_eq!(
            segments,
            vec![
                vec![[100.0, 10.0], [110.0, 11.0], [120.0, 12.0], [130.0, 13.0]],
                vec![[200.0, 20.0], [210.0, 21.0]],
            ]
        );
    }

    #[test]
    fn decimated_lines_reach_the_range_edges_by_interpolation() {
        let mut buf = unbounded();
        buf.push(0, 0.0);
        buf.push(100, 10.0);
        buf.push(200, 0.0);
        let out = buf.decimate(50, 150, 100);
        assert_eq!(out.points(), [[50.0, 5.0], [100.0, 10.0], [150.0, 5.0]]);
        // No point inside: the line still crosses the view.
        let out = buf.decimate(120, 180, 100);
        assert_eq!(out.points(), [[120.0, 8.0], [180.0, 2.0]]);
        // ... unless it breaks there.
        buf.mark_gap(130, 140);
        assert!(buf.decimate(120, 180, 100).is_empty());
        assert_eq!(buf.decimate(50, 150, 100).segment_count(), 1);
        assert_eq!(
            buf.decimate(50, 150, 100).points(),
            [[50.0, 5.0], [100.0, 10.0]]
        );
    }

    #[test]
    fn an_unchanged_frame_hits_the_cache_without_rescanning() {
        let mut buf = random_buffer(1, 100_000);
        let (first, last) = buf.range().unwrap();
        let a = buf.decimate(first, last, 1_000).points().as_ptr();
        assert_eq!(buf.decimations(), 1);
        for _ in 0..10 {
            let b = buf.decimate(first, last, 1_000).points().as_ptr();
            assert_eq!(a, b, "the same cached slice");
        }
        assert_eq!(buf.decimations(), 1);
        buf.decimate(first, last, 999);
        buf.decimate(first + 1, last, 999);
        assert_eq!(buf.decimations(), 3, "a new width or range rescans");
    }

    #[test]
    fn appending_after_the_visible_range_keeps_the_cache() {
        let mut buf = unbounded();
        for ts in 0..10_000 {
            buf.push(ts, v(ts % 17));
        }
        let before = buf.decimate(1_000, 5_000, 100).clone();
        for ts in 10_000..12_000 {
            buf.push(ts, -1.0);
        }
        buf.extend_from_wire(&wire(&[(12_001, "5"), (12_000, "4")]));
        buf.push(9_000, 3.0); // replaced, far right of the view
        buf.mark_gap(20_000, 30_000);
        assert_eq!(buf.decimate(1_000, 5_000, 100), &before);
        assert_eq!(buf.decimations(), 1);
        // Trimming old points before the left neighbour keeps it too.
        buf.set_limits(SeriesLimits {
            max_points: 11_500,
            max_age_ms: i64::MAX,
        });
        assert_eq!(buf.range().map(|r| r.0), Some(502));
        buf.decimate(1_000, 5_000, 100);
        assert_eq!(buf.decimations(), 1);
    }

    #[test]
    fn a_change_inside_the_visible_range_invalidates_the_cache() {
        let mut buf = unbounded();
        for ts in 0..10_000 {
            buf.push(ts, v(ts % 17));
        }
        let mut scans = 1;
        buf.decimate(1_000, 5_000, 100);
        let mut expect_rescan = |buf: &mut SeriesBuffer, what: &str| {
            let fresh = {
                let mut copy = buf.clone();
                copy.cache = DecimationCache::default();
                copy.decimate(1_000, 5_000, 100).clone()
            };
            assert_eq!(buf.decimate(1_000, 5_000, 100), &fresh, "{what}");
            scans += 1;
            assert_eq!(buf.decimations(), scans, "{what}");
        };
        buf.push(3_000, 1_000.0);
        expect_rescan(&mut buf, "a replaced value");
        buf.mark_gap(2_000, 2_010);
        expect_rescan(&mut buf, "a gap");
        buf.set_max_step_ms(Some(0));
        expect_rescan(&mut buf, "the maximum step");
        buf.set_limits(SeriesLimits {
            max_points: 8_000,
            max_age_ms: i64::MAX,
        });
        expect_rescan(&mut buf, "trimmed into the view");
        let mut empty = bounded(10, i64::MAX);
        empty.decimate(0, 100, 10);
        empty.push(500, 1.0);
        assert_eq!(empty.decimate(0, 100, 10).len(), 0);
        empty.push(50, 1.0);
        assert_eq!(
            empty.decimate(0, 100, 10).len(),
            2,
            "the point and the right edge"
        );
    }

    #[test]
    fn degenerate_ranges_and_extreme_timestamps_do_not_panic() {
        // Even the widest age bound is relative to the newest point.
        let mut wide = unbounded();
        wide.push(i64::MIN, 1.0);
        wide.push(i64::MAX, 2.0);
        assert_eq!(wide.range(), Some((i64::MAX, i64::MAX)));
        wide.push(0, 3.0);
        assert_eq!(wide.decimate(i64::MIN, i64::MAX, 1).len(), 2);

        let mut buf = unbounded();
        buf.push(i64::MIN, 1.0);
        buf.push(-1, 2.0);
        buf.push(i64::MIN + 5, 3.0);
        buf.mark_gap(i64::MAX, i64::MIN);
        buf.unmark_gap(-5, 5);
        assert_eq!(
            buf.gaps(),
            [
                Gap {
                    from_ts: i64::MIN,
                    to_ts: -6
                },
                Gap {
                    from_ts: 6,
                    to_ts: i64::MAX
                }
            ]
        );
        assert!(buf.decimate(5, 1, 10).is_empty());
        assert!(buf.decimate(0, 10, 0).is_empty());
        let out = buf.decimate(i64::MIN, i64::MAX, usize::MAX);
        assert_eq!(out.len(), 3);
        assert_eq!(out.segment_count(), 3, "{out:?}");
        buf.unmark_gap(i64::MIN, i64::MAX);
        assert_eq!(buf.decimate(i64::MIN, i64::MAX, 1).len(), 3);
        buf.set_max_step_ms(Some(i64::MIN));
        let out = buf.decimate(i64::MIN, i64::MAX, 1);
        assert_eq!(out.segment_count(), 3, "{out:?}");
        assert_eq!(buf.breaks(Some(-1)).len(), 2);
        assert_eq!(buf.points_in(10, -10).count(), 0);
        assert_eq!(buf.points_in(i64::MIN, i64::MAX).count(), 3);
        let mut tiny = bounded(0, -5);
        assert_eq!(tiny.push(1, 1.0), PushOutcome::Appended);
        assert_eq!(tiny.push(2, 2.0), PushOutcome::Appended);
        assert_eq!(tiny.push(1, 2.0), PushOutcome::TooOld);
        assert_eq!(all(&tiny), vec![(2, 2.0)]);
        tiny.extend_from_wire(&wire(&[(5, "1"), (3, "1"), (4, "1")]));
        assert_eq!(all(&tiny), vec![(5, 1.0)]);
        let mut big = random_buffer(2, 5_000);
        assert!(big.decimate(i64::MIN, i64::MAX, 3).len() <= 8);
    }

    #[test]
    fn grid_buckets_are_aligned_to_absolute_time() {
        let mut buf = unbounded();
        for ts in 0..40 {
            buf.push(ts, v(ts % 10));
        }
        // Buckets [0, 10), [10, 20), ...: the view's edges cut the first and the last.
        let out = buf.decimate_grid(5, 34, 10).clone();
        let expected = [
            [5, 5],
            [9, 9],
            [10, 0],
            [19, 9],
            [20, 0],
            [29, 9],
            [30, 0],
            [34, 4],
        ];
        let expected: Vec<[f64; 2]> = expected.iter().map(|&[t, y]| [x(t), v(y)]).collect();
        assert_eq!(out.points(), expected);
        assert_eq!(out.segment_count(), 1);
        // One millisecond later the middle buckets are the same points.
        let slid = buf.decimate_grid(6, 35, 10);
        assert_eq!(slid.points()[..2], [[6.0, 6.0], [9.0, 9.0]]);
        assert_eq!(slid.points()[2..6], expected[2..6]);
        // A range-relative decimation of the same view cuts elsewhere.
        assert_ne!(buf.decimate(5, 34, 4).points(), expected);
    }

    /// `buf`'s grid decimation, computed again on a copy with a cold cache.
    fn cold_grid(buf: &SeriesBuffer, x_min: i64, x_max: i64, bucket_ms: i64) -> SeriesBuffer {
        let mut copy = buf.clone();
        copy.grid = GridCache::default();
        copy.decimate_grid(x_min, x_max, bucket_ms);
        copy
    }

    #[test]
    fn following_live_data_scans_only_the_new_points_and_the_bucket_cut_by_the_left_edge() {
        const STEP: i64 = 10;
        const BUCKET_MS: i64 = 625;
        let per_bucket = usize::try_from(BUCKET_MS / STEP).unwrap() + 1;
        let mut rng = Lcg(21);
        let mut buf = unbounded();
        let t0 = 1_700_000_000_000;
        let mut newest = t0;
        for _ in 0..100_000 {
            newest += STEP;
            buf.push(newest, rng.value());
        }
        let (mut x_min, mut x_max) = (t0 + 3, newest);
        buf.decimate_grid(x_min, x_max, BUCKET_MS);
        assert_eq!(
            buf.grid_scanned(),
            100_000,
            "the first call scans everything"
        );
        for frame in 0..20 {
            for _ in 0..10 {
                newest += STEP;
                buf.push(newest, rng.value());
            }
            x_min += BUCKET_MS;
            x_max += BUCKET_MS;
            let out = buf.decimate_grid(x_min, x_max, BUCKET_MS).clone();
            let scanned = buf.grid_scanned();
            assert!(scanned >= 10, "frame {frame}: {scanned}");
            assert!(scanned <= 10 + per_bucket, "frame {frame}: {scanned}");
            let cold = cold_grid(&buf, x_min, x_max, BUCKET_MS);
            assert_eq!(out, cold.grid.out, "frame {frame}");
            assert!(cold.grid_scanned() > 90_000);
        }
        // A late point: its bucket and the newer ones are scanned again, nothing else.
        let from_bucket_of = |buf: &SeriesBuffer, ts: i64| {
            let start = ts.div_euclid(BUCKET_MS) * BUCKET_MS;
            buf.points_in(start, x_max).count()
        };
        buf.push(newest - 1, 1_000.0);
        buf.decimate_grid(x_min, x_max, BUCKET_MS);
        assert_eq!(buf.grid_scanned(), from_bucket_of(&buf, newest - 1));
        assert!(buf.grid_scanned() <= per_bucket + 1);
        let late = [x(newest - 1), 1_000.0];
        assert!(
            buf.decimate_grid(x_min, x_max, BUCKET_MS)
                .points()
                .contains(&late)
        );
        let middle = x_min + (x_max - x_min) / 2 + 1;
        buf.push(middle, 1_000.0);
        buf.decimate_grid(x_min, x_max, BUCKET_MS);
        assert_eq!(buf.grid_scanned(), from_bucket_of(&buf, middle));
        assert!(buf.grid_scanned() > 40_000);
        // Another bucket width rebuilds.
        buf.decimate_grid(x_min, x_max, BUCKET_MS + 1);
        assert_eq!(buf.grid_scanned(), buf.points_in(x_min, x_max).count());
    }

    #[test]
    fn the_same_grid_call_twice_returns_the_cached_result_without_scanning() {
        let mut buf = unbounded();
        for ts in 0..10_000 {
            buf.push(ts, v(ts % 17));
        }
        let a = buf.decimate_grid(1_000, 5_000, 40).points().as_ptr();
        for _ in 0..3 {
            let b = buf.decimate_grid(1_000, 5_000, 40).points().as_ptr();
            assert_eq!(a, b, "the same cached slice");
            assert_eq!(buf.grid_scanned(), 0);
        }
        // Changes beyond the right neighbour, or before the left one, keep it too.
        let before = buf.decimate_grid(1_000, 5_000, 40).clone();
        buf.push(9_000, 3.0);
        buf.push(20_000, 3.0);
        buf.push(10, 3.0);
        assert_eq!(buf.decimate_grid(1_000, 5_000, 40), &before);
        assert_eq!(buf.grid_scanned(), 0);
        // A change inside does not.
        buf.push(3_000, 1_000.0);
        assert!(
            buf.decimate_grid(1_000, 5_000, 40)
                .points()
                .contains(&[3_000.0, 1_000.0])
        );
        assert!(buf.grid_scanned() > 0);
    }

    /// Where a random change lands: the newest point, or an edge of the view, plus an offset.
    #[derive(Debug, Clone, Copy)]
    enum Anchor {
        Newest(i64),
        XMin(i64),
        XMax(i64),
    }

    /// One step of a random history of a buffer and of the view that follows it.
    #[derive(Debug, Clone)]
    enum Op {
        /// A point (at the newest timestamp or later: appended or a replacement).
        Push(Anchor, i32),
        /// A wire batch of points `step` apart.
        Batch {
            at: Anchor,
            step: i64,
            values: Vec<i32>,
            newest_first: bool,
        },
        /// `remove_range`, `mark_gap` and `unmark_gap` from the anchor, that long.
        Remove(Anchor, i64),
        Gap(Anchor, i64),
        Ungap(Anchor, i64),
        MaxStep(Option<i64>),
        Limits(usize, i64),
        Clear,
        /// The range-relative decimation of the same view, in between.
        Decimate,
        /// Moves the view, then checks `decimate_grid` against a cold rebuild.
        View(Move),
    }

    #[derive(Debug, Clone, Copy)]
    enum Move {
        /// Both edges by this much.
        Slide(i64),
        /// `x_min` by this much (left: zoom out).
        Left(i64),
        /// `x_max` by this much.
        Right(i64),
        /// `x_max` to the newest point plus this much, the span kept.
        Follow(i64),
        /// Another bucket width.
        Bucket(i64),
    }

    /// The view of the random history.
    #[derive(Debug, Clone, Copy)]
    struct View {
        x_min: i64,
        x_max: i64,
        bucket_ms: i64,
    }

    impl View {
        fn at(self, buf: &SeriesBuffer, anchor: Anchor) -> i64 {
            match anchor {
                Anchor::Newest(d) => buf.latest().map_or(0, |p| p.0) + d,
                Anchor::XMin(d) => self.x_min + d,
                Anchor::XMax(d) => self.x_max + d,
            }
        }

        fn apply(&mut self, buf: &SeriesBuffer, step: Move) {
            match step {
                Move::Slide(d) => (self.x_min, self.x_max) = (self.x_min + d, self.x_max + d),
                Move::Left(d) => self.x_min += d,
                Move::Right(d) => self.x_max += d,
                Move::Follow(d) => {
                    let x_max = self.at(buf, Anchor::Newest(d));
                    (self.x_min, self.x_max) = (x_max - (self.x_max - self.x_min), x_max);
                }
                Move::Bucket(b) => self.bucket_ms = b,
            }
        }

        fn grid(self, buf: &mut SeriesBuffer) -> &Decimated {
            buf.decimate_grid(self.x_min, self.x_max, self.bucket_ms)
        }
    }

    fn anchor(newest: impl Strategy<Value = i64>) -> impl Strategy<Value = Anchor> {
        prop_oneof![
            8 => newest.prop_map(Anchor::Newest),
            1 => (-3i64..3).prop_map(Anchor::XMin),
            1 => (-3i64..3).prop_map(Anchor::XMax),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        let value = -8i32..8;
        let late = || anchor(prop_oneof![6 => 1i64..30, 2 => -400i64..=0]);
        let back = || anchor(-600i64..=0);
        let len = 0i64..200;
        let batch = (
            late(),
            1i64..20,
            proptest::collection::vec(value.clone(), 0..40),
        );
        prop_oneof![
            12 => (late(), value).prop_map(|(at, v)| Op::Push(at, v)),
            2 => (batch, any::<bool>()).prop_map(|((at, step, values), newest_first)| Op::Batch {
                at,
                step,
                values,
                newest_first
            }),
            1 => (back(), len.clone()).prop_map(|(at, l)| Op::Remove(at, l)),
            1 => (back(), len.clone()).prop_map(|(at, l)| Op::Gap(at, l)),
            1 => (back(), len).prop_map(|(at, l)| Op::Ungap(at, l)),
            1 => proptest::option::of(1i64..40).prop_map(Op::MaxStep),
            1 => (20usize..600, prop_oneof![100i64..3_000, Just(i64::MAX)])
                .prop_map(|(n, age)| Op::Limits(n, age)),
            1 => Just(Op::Clear),
            1 => Just(Op::Decimate),
            10 => prop_oneof![
                6 => (-20i64..300).prop_map(Move::Slide),
                1 => (-300i64..300).prop_map(Move::Left),
                1 => (-300i64..300).prop_map(Move::Right),
                3 => (-50i64..100).prop_map(Move::Follow),
                1 => (1i64..80).prop_map(Move::Bucket),
            ]
            .prop_map(Op::View),
        ]
    }

    /// Applies a change to the buffer (not a view move).
    fn apply(buf: &mut SeriesBuffer, view: View, op: &Op) {
        match *op {
            Op::Push(at, value) => {
                buf.push(view.at(buf, at), f64::from(value));
            }
            Op::Batch {
                at,
                step,
                ref values,
                newest_first,
            } => {
                let start = view.at(buf, at);
                let mut batch: Vec<TsValue> = (0i64..)
                    .zip(values)
                    .map(|(i, &value)| {
                        TsValue::new(start + i * step, TbValue::from_f64(f64::from(value)))
                    })
                    .collect();
                if newest_first {
                    batch.reverse();
                }
                buf.extend_from_wire(&batch);
            }
            Op::Remove(at, len) => {
                let from = view.at(buf, at);
                buf.remove_range(from, from + len);
            }
            Op::Gap(at, len) => {
                let from = view.at(buf, at);
                buf.mark_gap(from, from + len);
            }
            Op::Ungap(at, len) => {
                let from = view.at(buf, at);
                buf.unmark_gap(from, from + len);
            }
            Op::MaxStep(step) => buf.set_max_step_ms(step),
            Op::Limits(max_points, max_age_ms) => buf.set_limits(SeriesLimits {
                max_points,
                max_age_ms,
            }),
            Op::Clear => buf.clear(),
            Op::Decimate => {
                buf.decimate(view.x_min, view.x_max, 50);
            }
            Op::View(_) => {}
        }
    }

    proptest! {
        // Deterministic: a fixed seed, and no regression file written into the tree.
        #![proptest_config(ProptestConfig {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x5e_7135),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn incremental_grid_decimation_equals_a_cold_rebuild_after_any_history(
            start in proptest::collection::vec((1i64..25, -8i32..8), 0..400),
            ops in proptest::collection::vec(op(), 1..120),
        ) {
            let mut buf = unbounded();
            let mut ts = 0;
            for (step, value) in start {
                ts += step;
                buf.push(ts, f64::from(value));
            }
            let mut view = View { x_min: ts - 1_000, x_max: ts, bucket_ms: 10 };
            view.grid(&mut buf);
            for (i, op) in ops.iter().enumerate() {
                apply(&mut buf, view, op);
                if let Op::View(step) = *op {
                    view.apply(&buf, step);
                    let out = view.grid(&mut buf).clone();
                    let cold = cold_grid(&buf, view.x_min, view.x_max, view.bucket_ms);
                    prop_assert_eq!(&out, &cold.grid.out, "op {}: {:?}", i, op);
                    prop_assert_eq!(&buf.grid.runs, &cold.grid.runs, "op {}: {:?}", i, op);
                    prop_assert_eq!(view.grid(&mut buf), &out, "the same call again");
                    prop_assert_eq!(buf.grid_scanned(), 0);
                }
            }
            let out = view.grid(&mut buf).clone();
            prop_assert_eq!(out, cold_grid(&buf, view.x_min, view.x_max, view.bucket_ms).grid.out);
        }

        #[test]
        fn decimation_keeps_every_bucket_s_true_min_and_max(
            points in proptest::collection::vec((1i64..40, -20i32..20), 0..800),
            gaps in proptest::collection::vec((0i64..16_000, 0i64..300), 0..4),
            max_step in proptest::option::of(10i64..60),
            x_min in -500i64..16_000,
            span in 0i64..16_000,
            buckets in 1usize..200,
            bucket_ms in 1i64..300,
        ) {
            let mut buf = unbounded();
            let mut ts = 0;
            for (step, value) in points {
                ts += step;
                buf.push(ts, f64::from(value));
            }
            for (from, len) in gaps {
                buf.mark_gap(from, from + len);
            }
            buf.set_max_step_ms(max_step);
            check_decimation(&mut buf, x_min, x_min + span, buckets);
            check_grid(&mut buf, x_min, x_min + span, bucket_ms);
        }
    }

    #[test]
    fn memory_per_point_stays_under_24_bytes_for_a_million_points() {
        let mut rng = Lcg(8);
        for count in [1_000_000, (1 << 20) + 1, 1_500_000] {
            let mut buf = SeriesBuffer::default();
            for i in 0..count {
                buf.push(
                    1_700_000_000_000 + i64::try_from(i).unwrap() * 10,
                    rng.value(),
                );
            }
            assert_eq!(buf.len(), count);
            let per_point = buf.heap_bytes() * 100 / buf.len();
            println!(
                "{count} points: {}.{:02} bytes per point",
                per_point / 100,
                per_point % 100
            );
            assert!(buf.heap_bytes() < 24 * buf.len(), "{count} points");
            // With both decimations cached (a plot 1,600 pixels wide following the data),
            // still under.
            let (first, last) = buf.range().unwrap();
            buf.decimate(first, last, 4_000);
            let bucket_ms = (last - first) / 1_600;
            buf.decimate_grid(first, last, bucket_ms);
            assert!(buf.grid.runs.len() >= 1_600);
            assert!(buf.decimate_grid(first + 16, last + 16, bucket_ms).len() > 3_000);
            let per_point = buf.heap_bytes() * 100 / buf.len();
            println!(
                "  with both caches: {}.{:02} bytes per point",
                per_point / 100,
                per_point % 100
            );
            assert!(buf.heap_bytes() < 24 * buf.len(), "{count} points + caches");
        }
    }

    #[test]
    fn points_in_yields_the_inclusive_range_for_export() {
        let mut buf = unbounded();
        for ts in (0..100).step_by(10) {
            buf.push(ts, v(ts));
        }
        let got: Vec<i64> = buf.points_in(20, 50).map(|p| p.0).collect();
        assert_eq!(got, vec![20, 30, 40, 50]);
        let got: Vec<i64> = buf.points_in(21, 49).map(|p| p.0).collect();
        assert_eq!(got, vec![30, 40]);
        assert_eq!(buf.points_in(200, 300).count(), 0);
    }

    #[test]
    fn remove_range_drops_only_the_points_inside_and_nearest_finds_the_closest() {
        let mut buf = unbounded();
        for ts in [10, 20, 30, 40] {
            buf.push(ts, f64::from(u8::try_from(ts).unwrap()));
        }
        let version = buf.version();
        assert_eq!(buf.remove_range(35, 15), 2, "20 and 30");
        assert!(buf.version() > version);
        assert_eq!(
            buf.points_in(i64::MIN, i64::MAX).collect::<Vec<_>>(),
            [(10, 10.0), (40, 40.0)]
        );
        assert_eq!(buf.remove_range(11, 39), 0);
        assert_eq!(
            buf.nearest(24),
            Some((10, 10.0)),
            "a tie goes to the earlier point"
        );
        assert_eq!(buf.nearest(26), Some((40, 40.0)));
        assert_eq!(buf.nearest(i64::MIN), Some((10, 10.0)));
        assert_eq!(buf.nearest(i64::MAX), Some((40, 40.0)));
        assert_eq!(unbounded().nearest(0), None);
    }

    #[test]
    fn clear_empties_the_buffer_and_bumps_the_version() {
        let mut buf = random_buffer(4, 10_000);
        buf.mark_gap(1_700_000_010_000, 1_700_000_020_000);
        buf.decimate(i64::MIN, i64::MAX, 100);
        let version = buf.version();
        buf.clear();
        assert!(buf.is_empty());
        assert!(buf.gaps().is_empty());
        assert_eq!(buf.latest(), None);
        assert_eq!(buf.range(), None);
        assert!(buf.version() > version);
        assert_eq!(buf.heap_bytes(), 0);
        assert!(buf.decimate(i64::MIN, i64::MAX, 100).is_empty());
    }
}

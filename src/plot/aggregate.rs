//! ThingsBoard's aggregation functions on millisecond interval grids, shared by the demo
//! server's history and the client's realtime re-aggregation, so that both give the same
//! bits for the same points.
//!
//! Rules (§4.1 of the protocol reference, and what the demo server answers):
//!
//! - **Grid.** Intervals are anchored at the query start: interval `i` is
//!   `[start + i*interval, start + (i+1)*interval)`, the last one cut at the query end. A
//!   point's `ts` is the interval's midpoint `lo + (hi - lo) / 2`. Empty intervals are omitted.
//! - **Values.** `COUNT` counts every point, numeric or not. `MIN`, `MAX`, `SUM` and `AVG`
//!   read the numeric ones ([`TbValue::as_f64`]); an interval without any has no point.
//! - **Text.** `COUNT` is a whole number; `AVG` is a double (Java's `Double.toString`);
//!   `SUM`, `MIN` and `MAX` are whole numbers when every numeric text of the interval is an
//!   integer literal, doubles otherwise. The `count` of a point is the number of raw points.
//! - **Order independence.** Live points arrive in any order and the server reads newest
//!   first, while floating-point addition depends on order. [`ExactSum`] therefore rounds
//!   the exact sum once (Shewchuk's partials, as Python's `math.fsum`): any order gives the
//!   same bits. `MIN`/`MAX` order `-0.0` below `+0.0` and ignore `NaN` unless every value is
//!   `NaN`, so they do not depend on order either.
//! - **Realtime.** A `tsCmd` with aggregation answers with aggregates, then sends raw live
//!   points. [`RealtimeAggregator`] folds them into the interval they fall in (the newest
//!   [`TRACKED_INTERVALS`] intervals of a series) and reports the interval's new aggregate.
//!   Intervals that only live points filled match the server's history exactly. An interval
//!   the server had already aggregated is extended from that aggregate
//!   ([`RealtimeAggregator::seed`]): exact for `MIN`, `MAX` and `COUNT`; for `SUM` and `AVG`
//!   only as exact as the server's text (`AVG × count` stands for the sum, and a non-numeric
//!   point in `count` is taken for a numeric one), the approximation ThingsBoard's web UI
//!   makes too. A live point that overwrites an earlier one (same `ts`) counts twice until
//!   the server aggregates the interval again.

use std::collections::VecDeque;

use crate::protocol::{Aggregation, TbValue, format_java_double};

/// Intervals a [`RealtimeAggregator`] keeps per series: a live point older than the newest
/// this many intervals is not re-aggregated.
pub const TRACKED_INTERVALS: usize = 8;

// ----- the interval grid ----------------------------------------------------------------------

/// The index of the interval holding `ts` on the grid anchored at `start` with `interval`-ms
/// steps (negative before `start`). Saturating: absurd parameters from a client never panic.
#[must_use]
pub fn interval_index(start: i64, interval: i64, ts: i64) -> i64 {
    ts.saturating_sub(start).div_euclid(interval.max(1))
}

/// The start of interval `index` on the grid anchored at `start` with `interval`-ms steps.
#[must_use]
pub fn interval_start(start: i64, interval: i64, index: i64) -> i64 {
    start.saturating_add(index.saturating_mul(interval.max(1)))
}

/// The timestamp of an aggregate of `[lo, hi)`: its midpoint, rounded down.
#[must_use]
pub fn midpoint(lo: i64, hi: i64) -> i64 {
    lo.saturating_add(hi.saturating_sub(lo) / 2)
}

// ----- the exact sum --------------------------------------------------------------------------

/// `2^(biased - 1023)`.
const fn pow2(biased: u64) -> f64 {
    f64::from_bits(biased << 52)
}
const BIAS: u64 = 1023;
/// Values at least this large (2^960) are summed scaled down by [`DOWN`], so that no
/// running sum of fewer than 2^61 values overflows.
const HUGE: f64 = pow2(BIAS + 960);
/// 2^-128: exact on values of at least [`HUGE`].
const DOWN: f64 = pow2(BIAS - 128);
/// 2^128.
const UP: f64 = pow2(BIAS + 128);
/// A scaled partial below this (2^893) scales back up exactly and leaves room to add the
/// unscaled ones without overflow.
const SCALES_BACK: f64 = pow2(BIAS + 893);

/// An exactly rounded, order-independent sum of `f64`s: the exact sum of every value added,
/// rounded once to the nearest double (ties to even), whatever the order of the additions.
///
/// Values are kept as non-overlapping partials (Shewchuk; Python's `math.fsum`), at most
/// about 40 for doubles and usually one to three. Values of at least 2^960 go to a second,
/// scaled list, so that running sums never overflow where the total does not. `NaN`, or
/// both infinities, give `NaN`; one infinity gives that infinity. An exact zero is `+0.0`.
#[derive(Debug, Clone, Default)]
pub struct ExactSum {
    /// Partials of the values below [`HUGE`], increasing in magnitude.
    partials: Vec<f64>,
    /// Partials of the values of at least [`HUGE`], scaled by [`DOWN`].
    huge: Vec<f64>,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
}

impl ExactSum {
    /// An empty sum (zero).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value.
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            self.nan = true;
        } else if x.is_infinite() {
            if x > 0.0 {
                self.pos_inf = true;
            } else {
                self.neg_inf = true;
            }
        } else if x.abs() >= HUGE {
            grow(&mut self.huge, x * DOWN);
        } else {
            grow(&mut self.partials, x);
        }
    }

    /// Back to zero, keeping the memory.
    pub fn clear(&mut self) {
        self.partials.clear();
        self.huge.clear();
        self.nan = false;
        self.pos_inf = false;
        self.neg_inf = false;
    }

    /// The sum, rounded once.
    #[must_use]
    #[allow(clippy::float_cmp)] // exact comparisons are the algorithm
    pub fn value(&self) -> f64 {
        if self.nan || (self.pos_inf && self.neg_inf) {
            return f64::NAN;
        }
        if self.pos_inf {
            return f64::INFINITY;
        }
        if self.neg_inf {
            return f64::NEG_INFINITY;
        }
        let sum = if self.huge.iter().all(|p| *p == 0.0) {
            round(&self.partials, 0.0)
        } else if self.huge.iter().all(|p| p.abs() < SCALES_BACK) {
            // The huge values (mostly) cancelled: back to one unscaled list.
            let mut merged = self.partials.clone();
            for p in &self.huge {
                grow(&mut merged, p * UP);
            }
            round(&merged, 0.0)
        } else {
            // The total is at least about 2^1019: round in the scaled domain. The unscaled
            // partials that do not scale exactly (a prefix, as partials do not overlap) lie
            // below the lowest bit of everything else and only break ties, by their sign.
            let inexact = self
                .partials
                .iter()
                .rposition(|p| (p * DOWN) * UP != *p)
                .map_or(0, |i| i + 1);
            let mut scaled = self.huge.clone();
            for p in &self.partials[inexact..] {
                grow(&mut scaled, p * DOWN);
            }
            let below = round(&self.partials[..inexact], 0.0);
            round(&scaled, below) * UP
        };
        sum + 0.0
    }
}

/// Adds `x` to non-overlapping partials, increasing in magnitude, keeping them so
/// (Shewchuk's grow-expansion with zero elimination).
fn grow(partials: &mut Vec<f64>, mut x: f64) {
    let mut kept = 0;
    for j in 0..partials.len() {
        let mut y = partials[j];
        if x.abs() < y.abs() {
            std::mem::swap(&mut x, &mut y);
        }
        let hi = x + y;
        let lo = y - (hi - x);
        if lo != 0.0 {
            partials[kept] = lo;
            kept += 1;
        }
        x = hi;
    }
    partials.truncate(kept);
    partials.push(x);
}

/// The exact sum of `partials` (non-overlapping, increasing in magnitude) rounded once, with
/// `below` standing for whatever lies below their lowest bit (only its sign is read).
#[allow(clippy::float_cmp)] // exact comparisons are the algorithm
fn round(partials: &[f64], below: f64) -> f64 {
    let Some((&top, rest)) = partials.split_last() else {
        return 0.0;
    };
    let mut hi = top;
    let mut lo = 0.0;
    let mut n = rest.len();
    // Sum from the top while the sum stays exact.
    while n > 0 {
        n -= 1;
        let x = hi;
        let y = rest[n];
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    // Half-even rounding across partials: when `lo` is exactly half an ulp of `hi`, what
    // lies below decides the direction.
    let next = if n > 0 { rest[n - 1] } else { below };
    if (lo < 0.0 && next < 0.0) || (lo > 0.0 && next > 0.0) {
        let y = lo * 2.0;
        let x = hi + y;
        if x - hi == y {
            hi = x;
        }
    }
    hi
}

// ----- one interval ---------------------------------------------------------------------------

/// Running aggregate of one interval (count, numeric count, integral-ness, exact sum, min,
/// max): everything the five functions need, independent of the order of the points.
#[derive(Debug, Clone, Default)]
pub struct Acc {
    count: i64,
    numeric: i64,
    all_integral: bool,
    sum: ExactSum,
    min: f64,
    max: f64,
}

/// A result before formatting: ThingsBoard answers longs or doubles.
enum Number {
    Long(i64),
    Double(f64),
}

impl Acc {
    /// Adds a raw point's value.
    pub fn add(&mut self, value: &TbValue) {
        self.add_counted(value);
    }

    /// Adds a value; whether it was numeric.
    fn add_counted(&mut self, value: &TbValue) -> bool {
        self.count = self.count.saturating_add(1);
        let Some(v) = value.as_f64() else {
            return false;
        };
        if self.numeric == 0 {
            self.min = v;
            self.max = v;
            self.all_integral = true;
        } else {
            self.min = lesser(self.min, v);
            self.max = greater(self.max, v);
        }
        self.all_integral &= value.as_str().parse::<i64>().is_ok();
        self.numeric = self.numeric.saturating_add(1);
        self.sum.add(v);
        true
    }

    /// How many points were added (numeric or not).
    #[must_use]
    pub fn count(&self) -> i64 {
        self.count
    }

    /// Back to empty, keeping the memory.
    pub fn clear(&mut self) {
        self.count = 0;
        self.numeric = 0;
        self.all_integral = false;
        self.sum.clear();
        self.min = 0.0;
        self.max = 0.0;
    }

    /// Replaces the state with an aggregate the server reported (`value` of `agg` over
    /// `count` points), so that later points extend it. Only `agg` can be read back: `MIN`,
    /// `MAX` and `COUNT` exactly, `SUM` as exactly as `value`, `AVG` from `value × count`
    /// (exact product) as the sum of `count` numeric points.
    pub fn seed(&mut self, agg: &Aggregation, value: f64, count: i64) {
        self.clear();
        self.count = count.max(0);
        if matches!(agg, Aggregation::Count) || count <= 0 {
            return;
        }
        self.numeric = count;
        self.min = value;
        self.max = value;
        match agg {
            Aggregation::Sum => self.sum.add(value),
            Aggregation::Avg => {
                #[allow(clippy::cast_precision_loss)] // counts stay far below 2^53
                let n = count as f64;
                let product = value * n;
                self.sum.add(product);
                if product.is_finite() {
                    // The rounding error of the product, exactly (two-product by FMA).
                    self.sum.add(value.mul_add(n, -product));
                }
            }
            _ => {}
        }
    }

    fn result(&self, agg: &Aggregation) -> Option<Number> {
        let long_or_double = |v: f64| {
            if self.all_integral {
                #[allow(clippy::cast_possible_truncation)]
                // whole numbers; saturates like Java's (long)
                Number::Long(v as i64)
            } else {
                Number::Double(v)
            }
        };
        Some(match agg {
            Aggregation::Count => Number::Long(self.count),
            _ if self.numeric == 0 => return None,
            Aggregation::Avg => {
                #[allow(clippy::cast_precision_loss)] // counts stay far below 2^53
                let n = self.numeric as f64;
                Number::Double(self.sum.value() / n)
            }
            Aggregation::Sum => long_or_double(self.sum.value()),
            Aggregation::Min => long_or_double(self.min),
            Aggregation::Max => long_or_double(self.max),
            Aggregation::None | Aggregation::Unknown(_) => return None,
        })
    }

    /// The aggregate as ThingsBoard would send it: (value text, count); `None` when there
    /// is nothing to report (no numeric value for `MIN`, `MAX`, `SUM`, `AVG`; `NONE`).
    #[must_use]
    pub fn finish(&self, agg: &Aggregation) -> Option<(String, i64)> {
        let text = match self.result(agg)? {
            Number::Long(v) => v.to_string(),
            Number::Double(v) => format_java_double(v),
        };
        Some((text, self.count))
    }

    /// The aggregate as a client reads it: what [`Self::finish`]'s text parses to, without
    /// formatting it.
    #[must_use]
    pub fn value(&self, agg: &Aggregation) -> Option<f64> {
        Some(match self.result(agg)? {
            #[allow(clippy::cast_precision_loss)] // the same rounding as parsing the text
            Number::Long(v) => v as f64,
            Number::Double(v) => v,
        })
    }
}

/// The smaller of two values: `-0.0` below `+0.0`, `NaN` only when both are.
fn lesser(current: f64, v: f64) -> f64 {
    #[allow(clippy::float_cmp)] // telling the zeros apart
    let replaces = current.is_nan() || v < current || (v == current && v.is_sign_negative());
    if replaces { v } else { current }
}

/// The larger of two values: `+0.0` above `-0.0`, `NaN` only when both are.
fn greater(current: f64, v: f64) -> f64 {
    #[allow(clippy::float_cmp)] // telling the zeros apart
    let replaces = current.is_nan() || v > current || (v == current && v.is_sign_positive());
    if replaces { v } else { current }
}

// ----- realtime re-aggregation ----------------------------------------------------------------

/// Which aggregation a subscription's series use: the grid the server anchored them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggSpec {
    /// The function.
    pub agg: Aggregation,
    /// The `tsCmd`'s `startTs`: the grid's anchor.
    pub start_ms: i64,
    /// The `tsCmd`'s `interval` (ms).
    pub interval_ms: i64,
}

impl AggSpec {
    /// Whether `agg` is one of the five functions (`NONE` and unknown names mean raw points).
    #[must_use]
    pub fn aggregates(&self) -> bool {
        matches!(
            self.agg,
            Aggregation::Min
                | Aggregation::Max
                | Aggregation::Avg
                | Aggregation::Sum
                | Aggregation::Count
        )
    }

    /// The interval `[lo, hi)` holding `ts`.
    #[must_use]
    pub fn interval_of(&self, ts: i64) -> (i64, i64) {
        let index = interval_index(self.start_ms, self.interval_ms, ts);
        let lo = interval_start(self.start_ms, self.interval_ms, index);
        (lo, lo.saturating_add(self.interval_ms.max(1)))
    }
}

/// An interval's aggregate after a live point: replace whatever the series shows in
/// `[lo, hi)` with `value` at `ts`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalUpdate {
    /// Interval start (inclusive).
    pub lo: i64,
    /// Interval end (exclusive).
    pub hi: i64,
    /// The aggregate's timestamp: the interval's midpoint.
    pub ts: i64,
    /// The aggregate.
    pub value: f64,
}

/// Per-series state that turns live raw points into updated interval aggregates. Bounded:
/// it keeps the accumulators of the newest [`TRACKED_INTERVALS`] intervals only.
#[derive(Debug, Clone)]
pub struct RealtimeAggregator {
    spec: AggSpec,
    /// Tracked intervals by index, ascending.
    slots: VecDeque<(i64, Acc)>,
}

impl RealtimeAggregator {
    /// An aggregator on `spec`'s grid, tracking nothing yet.
    #[must_use]
    pub fn new(spec: AggSpec) -> Self {
        Self {
            spec,
            slots: VecDeque::with_capacity(TRACKED_INTERVALS),
        }
    }

    /// The grid and function.
    #[must_use]
    pub fn spec(&self) -> &AggSpec {
        &self.spec
    }

    /// A server aggregate (`ts` = midpoint, value, count) seen for an interval: remembered
    /// (replacing what the interval held) so that later raw points in the same interval
    /// extend it; see [`Acc::seed`] for how exact that is. Returns the interval `[lo, hi)`
    /// when it was already tracked: an earlier aggregate there may sit at another `ts` (a
    /// live update that came before the server's data).
    pub fn seed(&mut self, ts: i64, value: f64, count: i64) -> Option<(i64, i64)> {
        if !self.spec.aggregates() {
            return None;
        }
        let index = interval_index(self.spec.start_ms, self.spec.interval_ms, ts);
        let (acc, was_tracked) = slot(&mut self.slots, index)?;
        acc.seed(&self.spec.agg, value, count);
        was_tracked.then(|| self.spec.interval_of(ts))
    }

    /// A live raw point: the interval `[lo, hi)` it fell in and the interval's new
    /// aggregate, or `None` when nothing visible changed (a non-numeric value for `MIN`,
    /// `MAX`, `SUM`, `AVG`), the point is older than every tracked interval, or the spec
    /// does not aggregate.
    pub fn add_raw(&mut self, ts: i64, value: &TbValue) -> Option<IntervalUpdate> {
        if !self.spec.aggregates() {
            return None;
        }
        let index = interval_index(self.spec.start_ms, self.spec.interval_ms, ts);
        let (acc, _) = slot(&mut self.slots, index)?;
        let numeric = acc.add_counted(value);
        if !numeric && !matches!(self.spec.agg, Aggregation::Count) {
            return None;
        }
        let value = acc.value(&self.spec.agg)?;
        let (lo, hi) = self.spec.interval_of(ts);
        Some(IntervalUpdate {
            lo,
            hi,
            ts: midpoint(lo, hi),
            value,
        })
    }
}

/// The accumulator of interval `index` and whether it was tracked before; a new interval
/// evicts the oldest when all are taken (and reuses its memory). `None` for an interval
/// older than every tracked one when all are taken.
fn slot(slots: &mut VecDeque<(i64, Acc)>, index: i64) -> Option<(&mut Acc, bool)> {
    let mut at = slots.partition_point(|(i, _)| *i < index);
    if slots.get(at).is_some_and(|(i, _)| *i == index) {
        return slots.get_mut(at).map(|(_, acc)| (acc, true));
    }
    let mut acc = Acc::default();
    if slots.len() >= TRACKED_INTERVALS {
        if at == 0 {
            return None;
        }
        if let Some((_, oldest)) = slots.pop_front() {
            acc = oldest;
            acc.clear();
        }
        at -= 1;
    }
    slots.insert(at, (index, acc));
    slots.get_mut(at).map(|(_, acc)| (acc, false))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact results are the specification
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `2^e` exactly, subnormals included (`powi` underflows on the way there).
    fn p2(e: i32) -> f64 {
        let bits = if e >= -1022 {
            u64::try_from(e + 1023).unwrap() << 52
        } else {
            1u64 << (e + 1074)
        };
        f64::from_bits(bits)
    }

    fn sum(values: &[f64]) -> f64 {
        let mut s = ExactSum::new();
        for v in values {
            s.add(*v);
        }
        s.value()
    }

    /// Every order of `values` (up to 6 of them).
    fn permutations(values: &[f64]) -> Vec<Vec<f64>> {
        if values.len() <= 1 {
            return vec![values.to_vec()];
        }
        let mut out = Vec::new();
        for i in 0..values.len() {
            let mut rest = values.to_vec();
            let first = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, first);
                out.push(tail);
            }
        }
        out
    }

    fn assert_every_order_sums_to(values: &[f64], expected: f64) {
        for order in permutations(values) {
            assert_eq!(
                sum(&order).to_bits(),
                expected.to_bits(),
                "{order:?}: {} instead of {expected}",
                sum(&order)
            );
        }
    }

    #[test]
    fn the_scaling_constants_are_the_powers_of_two_they_claim() {
        assert_eq!(HUGE, p2(960));
        assert_eq!(DOWN, p2(-128));
        assert_eq!(UP, p2(128));
        assert_eq!(SCALES_BACK, p2(893));
    }

    #[test]
    fn the_sum_is_exact_where_naive_addition_loses_everything() {
        assert_every_order_sums_to(&[1e100, 1.0, -1e100], 1.0);
        assert_every_order_sums_to(&[1e16, 1.0, -1e16, 1e-3], 1.001);
        // Naive: (0.1 + 0.2) + 0.3 = 0.6000000000000001; the exact sum rounds to 0.6.
        assert_ne!((0.1 + 0.2) + 0.3, 0.1 + (0.2 + 0.3));
        assert_every_order_sums_to(&[0.1, 0.2, 0.3], 0.6);
        assert_eq!(sum(&[0.1; 10]), 1.0);
        // Half-even across partials: the 1e-16 makes the 1 slightly more than half an ulp.
        assert_every_order_sums_to(&[1e-16, 1.0, 1e16], 10_000_000_000_000_002.0);
        assert_every_order_sums_to(&[], 0.0);
        assert_every_order_sums_to(&[-0.0], 0.0);
        assert_every_order_sums_to(&[5e-324, 5e-324, -5e-324], 5e-324);
    }

    #[test]
    fn running_sums_beyond_the_largest_double_do_not_overflow_where_the_total_does_not() {
        let max = f64::MAX;
        assert_every_order_sums_to(&[max, max, -max], max);
        assert_every_order_sums_to(&[max, max, -max, -max, 1.0], 1.0);
        assert_every_order_sums_to(&[max, max, -max, 5e-324], max);
        assert_every_order_sums_to(&[max, -max, 5e-324, 1e300], 1e300);
        assert_every_order_sums_to(&[1e308, 1e308, -1e308, 0.5, -1e308], 0.5);
        assert_every_order_sums_to(&[max, max], f64::INFINITY);
        assert_every_order_sums_to(&[-max, -max, 3.0], f64::NEG_INFINITY);
        // Half an ulp above the largest double rounds to infinity; a hair less does not.
        let half_ulp = p2(970);
        assert_every_order_sums_to(&[max, half_ulp], f64::INFINITY);
        assert_every_order_sums_to(&[max, half_ulp, -5e-324], max);
        assert_every_order_sums_to(&[max, half_ulp, -1.0], max);
    }

    #[test]
    fn infinities_and_nan_dominate_like_ieee_addition() {
        assert!(sum(&[1.0, f64::NAN]).is_nan());
        assert!(sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert_eq!(sum(&[f64::INFINITY, -f64::MAX, 1.0]), f64::INFINITY);
        assert_eq!(sum(&[f64::NEG_INFINITY, 1.0]), f64::NEG_INFINITY);
        let mut s = ExactSum::new();
        s.add(f64::NAN);
        s.clear();
        s.add(2.5);
        assert_eq!(s.value(), 2.5, "clear forgets everything");
    }

    /// Values `k · 2^e` with small `k` and `e` in `exps`, and their exact sum in units of
    /// `2^exps.start`.
    fn scaled_integers(exps: std::ops::Range<i32>) -> impl Strategy<Value = (Vec<f64>, i128, i32)> {
        let low = exps.start;
        proptest::collection::vec((-(1i64 << 20)..(1i64 << 20), exps), 0..40).prop_map(
            move |items| {
                let values = items
                    .iter()
                    .map(|(k, e)| {
                        #[allow(clippy::cast_precision_loss)] // |k| < 2^20
                        let k = *k as f64;
                        k * p2(*e)
                    })
                    .collect();
                let units = items.iter().map(|(k, e)| i128::from(*k) << (e - low)).sum();
                (values, units, low)
            },
        )
    }

    /// `units · 2^low`, rounded once (exact while the scaled result is a normal double).
    fn model(units: i128, low: i32) -> f64 {
        #[allow(clippy::cast_precision_loss)] // the one rounding under test
        let rounded = units as f64;
        rounded * p2(low) + 0.0
    }

    proptest! {
        #[test]
        fn the_sum_equals_a_slow_exact_model_of_scaled_integers(
            (values, units, low) in scaled_integers(-60..40),
        ) {
            prop_assert_eq!(sum(&values).to_bits(), model(units, low).to_bits());
        }

        #[test]
        fn the_sum_equals_the_model_near_the_largest_double(
            (values, units, low) in scaled_integers(940..1003),
        ) {
            prop_assert_eq!(sum(&values).to_bits(), model(units, low).to_bits());
        }

        #[test]
        fn the_sum_equals_the_model_among_subnormals(
            // Sums stay below 2^53 units of 2^-1074: exactly representable.
            (values, units, _low) in scaled_integers(-1074..-1045),
        ) {
            let exact = model(units, 0) * p2(-1074);
            prop_assert_eq!(sum(&values).to_bits(), exact.to_bits());
        }

        #[test]
        fn every_order_of_any_doubles_gives_the_same_bits(
            (values, shuffled) in proptest::collection::vec(
                prop_oneof![
                    proptest::num::f64::NORMAL,
                    proptest::num::f64::SUBNORMAL,
                    proptest::num::f64::ZERO,
                    (-1000i32..1000, -1074i32..1000).prop_map(|(k, e)| f64::from(k) * p2(e)),
                ],
                0..30,
            )
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        ) {
            let mut reversed = values.clone();
            reversed.reverse();
            let bits = sum(&values).to_bits();
            prop_assert_eq!(sum(&shuffled).to_bits(), bits);
            prop_assert_eq!(sum(&reversed).to_bits(), bits);
        }
    }

    fn acc(values: &[&str]) -> Acc {
        let mut acc = Acc::default();
        for v in values {
            acc.add(&TbValue::new(*v));
        }
        acc
    }

    fn text(values: &[&str], agg: &Aggregation) -> Option<(String, i64)> {
        acc(values).finish(agg)
    }

    fn pair(text: &str, count: i64) -> (String, i64) {
        (text.to_owned(), count)
    }

    #[test]
    fn sum_min_and_max_are_longs_when_every_value_is_an_integer_literal() {
        let ints = ["3", "-7", "12"];
        assert_eq!(text(&ints, &Aggregation::Sum), Some(pair("8", 3)));
        assert_eq!(text(&ints, &Aggregation::Min), Some(pair("-7", 3)));
        assert_eq!(text(&ints, &Aggregation::Max), Some(pair("12", 3)));
        // AVG is always a double, COUNT always a long.
        assert_eq!(
            text(&ints, &Aggregation::Avg),
            Some(pair("2.6666666666666665", 3))
        );
        assert_eq!(text(&["2", "2"], &Aggregation::Avg), Some(pair("2.0", 2)));
        assert_eq!(text(&ints, &Aggregation::Count), Some(pair("3", 3)));
        // One decimal or exponent text makes every result of the interval a double.
        assert_eq!(text(&["3", "2.0"], &Aggregation::Sum), Some(pair("5.0", 2)));
        assert_eq!(text(&["3", "1e2"], &Aggregation::Min), Some(pair("3.0", 2)));
        assert_eq!(
            text(&["5000000.5", "5000000.5"], &Aggregation::Sum),
            Some(pair("1.0000001E7", 2))
        );
        assert_eq!(
            text(&["0.1", "0.2", "0.3"], &Aggregation::Sum),
            Some(pair("0.6", 3))
        );
        assert_eq!(text(&["1e-5"], &Aggregation::Max), Some(pair("1.0E-5", 1)));
    }

    #[test]
    fn count_counts_every_point_and_the_others_only_the_numeric_ones() {
        let mixed = ["4", "x", "true", "", "8"];
        assert_eq!(text(&mixed, &Aggregation::Count), Some(pair("5", 5)));
        assert_eq!(text(&mixed, &Aggregation::Avg), Some(pair("6.0", 5)));
        assert_eq!(text(&mixed, &Aggregation::Sum), Some(pair("12", 5)));
        // A number in a string is a number ("7" is how ThingsBoard sends every value).
        assert_eq!(text(&["7", "x"], &Aggregation::Max), Some(pair("7", 2)));
        for agg in [
            Aggregation::Min,
            Aggregation::Max,
            Aggregation::Avg,
            Aggregation::Sum,
        ] {
            assert_eq!(text(&["x", "y"], &agg), None, "{agg}");
        }
        assert_eq!(text(&["x", "y"], &Aggregation::Count), Some(pair("2", 2)));
        assert_eq!(text(&["1"], &Aggregation::None), None);
        assert_eq!(text(&["1"], &Aggregation::Unknown("MEDIAN".into())), None);
    }

    #[test]
    fn min_and_max_do_not_depend_on_order_for_signed_zeros_and_nan() {
        for order in [
            ["0.0", "-0.0", "NaN"],
            ["NaN", "-0.0", "0.0"],
            ["-0.0", "NaN", "0.0"],
        ] {
            assert_eq!(
                text(&order, &Aggregation::Min),
                Some(pair("-0.0", 3)),
                "{order:?}"
            );
            assert_eq!(
                text(&order, &Aggregation::Max),
                Some(pair("0.0", 3)),
                "{order:?}"
            );
        }
        assert_eq!(
            text(&["NaN", "NaN"], &Aggregation::Min),
            Some(pair("NaN", 2))
        );
        assert_eq!(
            text(&["Infinity", "1"], &Aggregation::Max),
            Some(pair("Infinity", 2))
        );
    }

    fn wire_value() -> impl Strategy<Value = String> {
        prop_oneof![
            (-1_000_000i64..1_000_000).prop_map(|v| v.to_string()),
            any::<i64>().prop_map(|v| v.to_string()),
            proptest::num::f64::NORMAL.prop_map(format_java_double),
            (-1000i32..1000).prop_map(|v| format_java_double(f64::from(v) / 10.0)),
            Just("x".to_owned()),
            Just("-0".to_owned()),
        ]
    }

    fn agg() -> impl Strategy<Value = Aggregation> {
        proptest::sample::select(vec![
            Aggregation::Min,
            Aggregation::Max,
            Aggregation::Avg,
            Aggregation::Sum,
            Aggregation::Count,
        ])
    }

    proptest! {
        #[test]
        fn value_is_what_the_finished_text_parses_to(
            values in proptest::collection::vec(wire_value(), 0..12),
            agg in agg(),
        ) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let acc = acc(&refs);
            let parsed = acc.finish(&agg).and_then(|(t, _)| TbValue::new(t).as_f64());
            prop_assert_eq!(acc.value(&agg).map(f64::to_bits), parsed.map(f64::to_bits));
        }
    }

    fn spec(agg: Aggregation) -> AggSpec {
        AggSpec {
            agg,
            start_ms: 1_000,
            interval_ms: 100,
        }
    }

    fn update(lo: i64, value: f64) -> IntervalUpdate {
        IntervalUpdate {
            lo,
            hi: lo + 100,
            ts: lo + 50,
            value,
        }
    }

    #[test]
    fn live_points_update_the_aggregate_of_the_interval_they_fall_in() {
        let mut a = RealtimeAggregator::new(spec(Aggregation::Avg));
        assert_eq!(a.add_raw(1_210, &"3".into()), Some(update(1_200, 3.0)));
        assert_eq!(a.add_raw(1_299, &"5".into()), Some(update(1_200, 4.0)));
        assert_eq!(a.add_raw(1_300, &"1".into()), Some(update(1_300, 1.0)));
        // Before the anchor: the grid extends backwards.
        assert_eq!(a.add_raw(999, &"2".into()), Some(update(900, 2.0)));
        // A non-numeric value changes nothing visible, except for COUNT.
        assert_eq!(a.add_raw(1_250, &"x".into()), None);
        assert_eq!(a.add_raw(1_251, &"1".into()), Some(update(1_200, 3.0)));
        let mut c = RealtimeAggregator::new(spec(Aggregation::Count));
        assert_eq!(c.add_raw(1_250, &"x".into()), Some(update(1_200, 1.0)));
        assert_eq!(c.add_raw(1_260, &"2".into()), Some(update(1_200, 2.0)));
        // NONE is not aggregated.
        let mut raw = RealtimeAggregator::new(spec(Aggregation::None));
        assert_eq!(raw.add_raw(1_250, &"1".into()), None);
        assert_eq!(raw.seed(1_250, 1.0, 1), None);
    }

    #[test]
    fn only_the_newest_intervals_are_tracked() {
        let mut a = RealtimeAggregator::new(spec(Aggregation::Sum));
        let n = i64::try_from(TRACKED_INTERVALS).unwrap();
        for i in 0..n {
            assert!(a.add_raw(1_000 + i * 100, &"1".into()).is_some());
        }
        // A newer interval evicts the oldest; the oldest is then too old.
        assert_eq!(
            a.add_raw(1_000 + n * 100, &"1".into()),
            Some(update(1_000 + n * 100, 1.0))
        );
        assert_eq!(a.add_raw(1_000, &"1".into()), None);
        // The second oldest is still tracked and keeps its sum.
        assert_eq!(a.add_raw(1_100, &"1".into()), Some(update(1_100, 2.0)));
        assert_eq!(a.slots.len(), TRACKED_INTERVALS);
        // An interval between tracked ones is taken in order, evicting the oldest.
        let mut b = RealtimeAggregator::new(spec(Aggregation::Sum));
        for i in (0..n).map(|i| i * 2) {
            b.add_raw(1_000 + i * 100, &"1".into());
        }
        assert!(b.add_raw(1_300, &"1".into()).is_some());
        let tracked: Vec<i64> = b.slots.iter().map(|(i, _)| *i).collect();
        let mut expected: Vec<i64> = (1..n).map(|i| i * 2).collect();
        expected.insert(1, 3);
        assert_eq!(tracked, expected);
    }

    #[test]
    fn a_seeded_interval_is_extended_by_later_points() {
        let seeded = |agg: Aggregation, value: f64, count: i64| {
            let mut a = RealtimeAggregator::new(spec(agg));
            assert_eq!(a.seed(1_240, value, count), None, "not tracked before");
            a
        };
        let mut min = seeded(Aggregation::Min, 2.0, 3);
        assert_eq!(min.add_raw(1_260, &"5".into()), Some(update(1_200, 2.0)));
        assert_eq!(
            min.add_raw(1_270, &"-1.5".into()),
            Some(update(1_200, -1.5))
        );
        let mut max = seeded(Aggregation::Max, 2.0, 3);
        assert_eq!(max.add_raw(1_260, &"5".into()), Some(update(1_200, 5.0)));
        let mut count = seeded(Aggregation::Count, 3.0, 3);
        assert_eq!(count.add_raw(1_260, &"x".into()), Some(update(1_200, 4.0)));
        let mut sum = seeded(Aggregation::Sum, 0.3, 3);
        assert_eq!(
            sum.add_raw(1_260, &"1e16".into()),
            Some(update(1_200, 1e16))
        );
        assert_eq!(
            sum.add_raw(1_261, &"-1e16".into()),
            Some(update(1_200, 0.3))
        );
        // AVG: avg × count stands for the sum (exactly, by FMA).
        let mut avg = seeded(Aggregation::Avg, 0.1, 3);
        assert_eq!(avg.add_raw(1_260, &"0.7".into()), Some(update(1_200, 0.25)));
        // A seed for a tracked interval replaces it and says so.
        assert_eq!(avg.seed(1_250, 1.0, 1), Some((1_200, 1_300)));
        assert_eq!(avg.add_raw(1_260, &"3".into()), Some(update(1_200, 2.0)));
    }

    proptest! {
        #[test]
        fn live_points_in_any_order_match_the_aggregate_of_the_whole_interval(
            points in proptest::collection::vec((1_000i64..1_600, wire_value()), 1..40)
                .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            agg in agg(),
        ) {
            let (sorted, shuffled) = points;
            let mut live = RealtimeAggregator::new(spec(agg.clone()));
            let mut shown = std::collections::BTreeMap::new();
            for (ts, v) in &shuffled {
                if let Some(u) = live.add_raw(*ts, &TbValue::new(v.as_str())) {
                    shown.insert(u.lo, (u.ts, u.value.to_bits()));
                }
            }
            let mut batch: std::collections::BTreeMap<i64, Acc> = std::collections::BTreeMap::new();
            let mut newest_first = sorted.clone();
            newest_first.sort_by_key(|(ts, _)| std::cmp::Reverse(*ts));
            for (ts, v) in &newest_first {
                let i = interval_index(1_000, 100, *ts);
                batch.entry(i).or_default().add(&TbValue::new(v.as_str()));
            }
            let expected: std::collections::BTreeMap<i64, (i64, u64)> = batch
                .iter()
                .filter_map(|(i, acc)| {
                    let lo = interval_start(1_000, 100, *i);
                    let (text, _) = acc.finish(&agg)?;
                    Some((lo, (midpoint(lo, lo + 100), TbValue::new(text).as_f64()?.to_bits())))
                })
                .collect();
            prop_assert_eq!(shown, expected);
        }
    }
}

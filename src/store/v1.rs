//! v1 data (`ATTRIBUTES`, `TIMESERIES`, `TIMESERIES_HISTORY`, protocol §4.6): what the
//! Inspector shows of one entity.
//!
//! A v1 message carries, per key, an array of `[ts, "value"]` points. The rules:
//!
//! * **Latest values** ([`Latest`], for `ATTRIBUTES` and `TIMESERIES` latest): one point per
//!   key, the newest.
//!   - `[0,""]` is a deletion: the key disappears. A deletion in a message applies before
//!     that message's other points of the key.
//!   - A `null` value is a key the server does not have (a latest lookup of a missing key
//!     answers `[now, null]`): it is not shown, and it removes a value held from before.
//!   - A point older than the one held is ignored (updates out of order); an equal
//!     timestamp replaces (an attribute written twice within a millisecond).
//!   - `latestValues` is ignored: for ranged fetches it names the *oldest* point.
//! * **History** ([`History`], for `TIMESERIES_HISTORY`): a reply replaces everything held;
//!   per key its points oldest first, one per timestamp, without deletions and `null`s; a
//!   key left without points is absent.
//!
//! A history reply looks like any other v1 message: the store knows it is one because the
//! caller made the subscription's slot a [`super::SubData::V1History`] before subscribing.

use std::collections::BTreeMap;

use crate::protocol::TsPoint;

/// The newest point per key.
pub type Latest = BTreeMap<String, TsPoint>;

/// Points per key, oldest first.
pub type History = BTreeMap<String, Vec<TsPoint>>;

/// Whether a point has a value to show (neither a deletion nor a missing key).
#[must_use]
pub fn is_shown(p: &TsPoint) -> bool {
    p.1.is_some() && !p.is_deleted()
}

/// Applies a v1 message's `data` to latest values by the rules above.
pub fn apply_latest(held: &mut Latest, data: &BTreeMap<String, Vec<TsPoint>>) {
    for (key, points) in data {
        if points.iter().any(TsPoint::is_deleted) {
            held.remove(key);
        }
        let Some(newest) = points
            .iter()
            .filter(|p| !p.is_deleted())
            .max_by_key(|p| p.0)
        else {
            continue;
        };
        if held.get(key).is_some_and(|old| old.0 > newest.0) {
            continue;
        }
        if newest.1.is_none() {
            held.remove(key);
        } else if let Some(old) = held.get_mut(key) {
            old.clone_from(newest);
        } else {
            held.insert(key.clone(), newest.clone());
        }
    }
}

/// The history a `TIMESERIES_HISTORY` reply's `data` holds, by the rules above.
#[must_use]
pub fn history(data: &BTreeMap<String, Vec<TsPoint>>) -> History {
    data.iter()
        .filter_map(|(key, points)| {
            let mut points: Vec<TsPoint> = points.iter().filter(|p| is_shown(p)).cloned().collect();
            points.sort_by_key(|p| p.0);
            points.dedup_by_key(|p| p.0);
            (!points.is_empty()).then(|| (key.clone(), points))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TbValue;

    fn p(ts: i64, v: &str) -> TsPoint {
        TsPoint(ts, Some(TbValue::new(v)))
    }

    fn data(entries: &[(&str, Vec<TsPoint>)]) -> BTreeMap<String, Vec<TsPoint>> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn shown(held: &Latest) -> Vec<(&str, i64, &str)> {
        held.iter()
            .map(|(k, p)| (k.as_str(), p.0, p.1.as_ref().map_or("", TbValue::as_str)))
            .collect()
    }

    #[test]
    fn the_newest_point_of_each_key_is_kept_whatever_the_order_of_the_array() {
        let mut held = Latest::new();
        apply_latest(
            &mut held,
            &data(&[("a", vec![p(2_000, "2"), p(3_000, "3"), p(1_000, "1")])]),
        );
        assert_eq!(shown(&held), [("a", 3_000, "3")]);
    }

    #[test]
    fn a_point_older_than_the_one_held_is_ignored_and_an_equal_one_replaces() {
        let mut held = Latest::new();
        apply_latest(&mut held, &data(&[("a", vec![p(2_000, "new")])]));
        apply_latest(&mut held, &data(&[("a", vec![p(1_000, "late")])]));
        assert_eq!(shown(&held), [("a", 2_000, "new")]);
        apply_latest(&mut held, &data(&[("a", vec![p(2_000, "rewritten")])]));
        assert_eq!(shown(&held), [("a", 2_000, "rewritten")]);
    }

    #[test]
    fn a_deletion_makes_the_key_disappear_and_only_that_key() {
        let mut held = Latest::new();
        apply_latest(
            &mut held,
            &data(&[("a", vec![p(2_000, "1")]), ("b", vec![p(2_000, "2")])]),
        );
        apply_latest(&mut held, &data(&[("a", vec![p(0, "")])]));
        assert_eq!(shown(&held), [("b", 2_000, "2")]);
        // A value written after the deletion, in the same message, is shown.
        apply_latest(&mut held, &data(&[("b", vec![p(5_000, "3"), p(0, "")])]));
        assert_eq!(shown(&held), [("b", 5_000, "3")]);
        // An empty text with a real timestamp is a value, not a deletion.
        apply_latest(&mut held, &data(&[("c", vec![p(6_000, "")])]));
        assert_eq!(shown(&held), [("b", 5_000, "3"), ("c", 6_000, "")]);
    }

    #[test]
    fn a_missing_key_is_not_shown_and_removes_what_was_held() {
        let mut held = Latest::new();
        apply_latest(
            &mut held,
            &data(&[
                ("gone", vec![TsPoint(9_000, None)]),
                ("kept", vec![p(1, "x")]),
            ]),
        );
        assert_eq!(shown(&held), [("kept", 1, "x")]);
        apply_latest(&mut held, &data(&[("kept", vec![TsPoint(9_000, None)])]));
        assert!(held.is_empty());
        // An older `null` does not remove a newer value.
        apply_latest(&mut held, &data(&[("k", vec![p(5_000, "v")])]));
        apply_latest(&mut held, &data(&[("k", vec![TsPoint(4_000, None)])]));
        assert_eq!(shown(&held), [("k", 5_000, "v")]);
    }

    #[test]
    fn a_history_is_sorted_oldest_first_without_deletions_nulls_or_repeats() {
        let h = history(&data(&[
            (
                "a",
                vec![
                    p(3_000, "3"),
                    p(1_000, "1"),
                    p(0, ""),
                    p(2_000, "2"),
                    p(1_000, "1"),
                ],
            ),
            ("b", vec![TsPoint(1_000, None)]),
            ("c", vec![p(0, "")]),
        ]));
        assert_eq!(h.len(), 1, "keys without points are absent: {h:?}");
        let ts: Vec<i64> = h["a"].iter().map(|p| p.0).collect();
        assert_eq!(ts, [1_000, 2_000, 3_000]);
    }
}

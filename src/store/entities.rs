//! One `ENTITY_DATA` subscription's page, and the `COUNT_DATA` entity count.
//!
//! The rules (thingsboard-protocol.md §4.1, client-behaviour.md §B5):
//!
//! * The first `data` message replaces the page (rows in page order, `totalElements`,
//!   `totalPages`, `hasNext`). A later `data` (a dynamic page refresh) replaces it again;
//!   the time series and aggregates already held for entities that stay on the page are
//!   kept, because the server's refresh page carries `timeseries:{}` while their live
//!   subscriptions go on.
//! * `update` messages that arrive before the first `data` (the server's "missed updates"
//!   check races the initial send) are buffered, at most [`MAX_PREMATURE_ROWS`] rows with the
//!   oldest dropped first, and replayed in arrival order once `data` comes.
//! * `update` rows merge by entity id: a latest value is replaced only by one whose `ts` is
//!   at least the stored one (older ones are stale and counted), except ThingsBoard's
//!   deletion marker `{"ts":0,"value":""}`, which always applies; `timeseries` points are
//!   merged into ascending order (same `ts` replaced), at most [`MAX_POINTS_PER_KEY`] per key;
//!   `aggLatest` entries are replaced by id. Rows for entities not on the page are ignored
//!   and counted.
//! * A message with a non-zero `errorCode` sets [`EntityPage::last_error`] and leaves the
//!   rows alone.
//!
//! Every latest value keeps its `ts` and the local time it was received, so the UI can show
//! its age. [`EntityPage::version`] increments on every visible change, so views can cache.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::latest::{ErrorFields, Reported, Stamp};
use crate::protocol::{
    BAD_REQUEST, ComparisonTsValue, EntityData, EntityDataUpdate, EntityId, EntityKeyType,
    INTERNAL_ERROR, PageData, TOO_MANY_UPDATES, TbValue, TsValue, UNAUTHORIZED,
};

/// Most `update` rows held while waiting for the first `data`; older ones are dropped first.
pub const MAX_PREMATURE_ROWS: usize = 10_000;

/// Most time series points kept per key of a row; the oldest are dropped first.
pub const MAX_POINTS_PER_KEY: usize = 50_000;

/// An error the server reported for a subscription (`errorCode` ≠ 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionError {
    /// The wire `errorCode` (1 internal, 2 bad request, 3 unauthorized, 34 too many updates).
    pub code: i32,
    /// The server's `errorMsg`, or ThingsBoard's default text for the code when it sent none.
    pub message: String,
    /// Local time the error was received (epoch ms).
    pub received_at_ms: i64,
}

impl SubscriptionError {
    /// An error from the wire fields, filling in the default text of a known code.
    #[must_use]
    pub fn new(code: i32, message: Option<&str>, received_at_ms: i64) -> Self {
        let message = match message {
            Some(text) if !text.trim().is_empty() => text.to_owned(),
            _ => match code {
                INTERNAL_ERROR => "Internal Server error!".to_owned(),
                BAD_REQUEST => "Bad request".to_owned(),
                UNAUTHORIZED => "Unauthorized".to_owned(),
                TOO_MANY_UPDATES => "Too many updates!".to_owned(),
                other => format!("error code {other}"),
            },
        };
        Self {
            code,
            message,
            received_at_ms,
        }
    }
}

/// A latest value as held by the store: the wire `ts` and value, plus when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestValue {
    /// The value's own timestamp (epoch ms); 0 for "no value" or a deleted key.
    pub ts: i64,
    /// The value text; `None` when the server sent none (the Cassandra form of a missing key).
    pub value: Option<TbValue>,
    /// Local time the value was received (epoch ms).
    pub received_at_ms: i64,
}

impl LatestValue {
    /// The store's copy of a wire value received at `received_at_ms`.
    #[must_use]
    pub fn from_wire(value: &TsValue, received_at_ms: i64) -> Self {
        Self {
            ts: value.ts,
            value: value.value.clone(),
            received_at_ms,
        }
    }

    /// Whether a non-empty value is present.
    #[must_use]
    pub fn has_value(&self) -> bool {
        self.value.as_ref().is_some_and(|v| !v.is_empty())
    }

    /// Whether this is ThingsBoard's marker for a deleted or never-written key
    /// (`{"ts":0,"value":""}`).
    #[must_use]
    pub fn is_empty_marker(&self) -> bool {
        self.ts == 0 && !self.has_value()
    }

    /// The value text, `""` when there is none.
    #[must_use]
    pub fn text(&self) -> &str {
        self.value.as_ref().map_or("", TbValue::as_str)
    }

    /// The value as a float, when it is numeric.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        self.value.as_ref().and_then(TbValue::as_f64)
    }

    /// How old the value is at `now_ms`: the time since its own `ts`, never negative (a
    /// device clock ahead of ours reads as 0). `None` when there is no value or no timestamp.
    #[must_use]
    pub fn age_ms(&self, now_ms: i64) -> Option<i64> {
        if self.ts <= 0 || !self.has_value() {
            return None;
        }
        Some(now_ms.saturating_sub(self.ts).max(0))
    }

    /// Time since the value was received at `now_ms`, never negative.
    #[must_use]
    pub fn since_received_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.received_at_ms).max(0)
    }
}

/// Latest values of a row by key type and key.
pub type LatestMap = BTreeMap<EntityKeyType, BTreeMap<String, LatestValue>>;

/// One entity of the page with everything received for it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRow {
    entity_id: EntityId,
    latest: LatestMap,
    timeseries: BTreeMap<String, Vec<TsValue>>,
    agg_latest: BTreeMap<i32, ComparisonTsValue>,
    updated_at_ms: i64,
}

/// What merging one latest value did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    Applied,
    Unchanged,
    Stale,
}

impl EntityRow {
    fn from_wire(data: &EntityData, received_at_ms: i64) -> Self {
        let mut row = Self {
            entity_id: data.entity_id.clone(),
            latest: BTreeMap::new(),
            timeseries: BTreeMap::new(),
            agg_latest: BTreeMap::new(),
            updated_at_ms: received_at_ms,
        };
        let mut stale = 0;
        row.merge(data, received_at_ms, &mut stale);
        row.updated_at_ms = received_at_ms;
        row
    }

    /// The entity.
    #[must_use]
    pub fn entity_id(&self) -> &EntityId {
        &self.entity_id
    }

    /// Latest values by key type and key.
    #[must_use]
    pub fn latest(&self) -> &LatestMap {
        &self.latest
    }

    /// The latest value of `key` of `key_type`.
    #[must_use]
    pub fn latest_value(&self, key_type: &EntityKeyType, key: &str) -> Option<&LatestValue> {
        self.latest.get(key_type)?.get(key)
    }

    /// An entity field's text (`name`, `type`, `label`, …), if it was asked for.
    #[must_use]
    pub fn field(&self, key: &str) -> Option<&str> {
        self.latest_value(&EntityKeyType::EntityField, key)
            .map(LatestValue::text)
    }

    /// The label if non-blank, else the name, else the id: the best text to show.
    #[must_use]
    pub fn display_name(&self) -> String {
        self.field("label")
            .filter(|s| !s.trim().is_empty())
            .or_else(|| self.field("name").filter(|s| !s.trim().is_empty()))
            .map_or_else(|| self.entity_id.to_string(), str::to_owned)
    }

    /// Time series by key, each in ascending `ts` order. A key the server answered with
    /// `[]` is present with no points.
    #[must_use]
    pub fn timeseries(&self) -> &BTreeMap<String, Vec<TsValue>> {
        &self.timeseries
    }

    /// The points of one key in ascending `ts` order (empty when none).
    #[must_use]
    pub fn series(&self, key: &str) -> &[TsValue] {
        self.timeseries.get(key).map_or(&[], Vec::as_slice)
    }

    /// Aggregates by the client's `AggKey.id`.
    #[must_use]
    pub fn agg_latest(&self) -> &BTreeMap<i32, ComparisonTsValue> {
        &self.agg_latest
    }

    /// Local time of the last change to this row (epoch ms).
    #[must_use]
    pub fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }

    /// Merges one `EntityData`; returns whether anything changed. Stale latest values are
    /// counted into `stale`.
    fn merge(&mut self, data: &EntityData, received_at_ms: i64, stale: &mut u64) -> bool {
        let mut changed = false;
        if let Some(latest) = &data.latest {
            for (key_type, values) in latest {
                if values.is_empty() {
                    continue;
                }
                let slot = self.latest.entry(key_type.clone()).or_default();
                for (key, value) in values {
                    match merge_latest(slot, key, value, received_at_ms) {
                        Merge::Applied => changed = true,
                        Merge::Stale => *stale = stale.saturating_add(1),
                        Merge::Unchanged => {}
                    }
                }
            }
        }
        if let Some(series) = &data.timeseries {
            for (key, points) in series {
                let dst = self.timeseries.entry(key.clone()).or_default();
                changed |= merge_series(dst, points);
            }
        }
        if let Some(aggs) = &data.agg_latest {
            for (id, value) in aggs {
                if self.agg_latest.get(id) != Some(value) {
                    self.agg_latest.insert(*id, value.clone());
                    changed = true;
                }
            }
        }
        if changed {
            self.updated_at_ms = received_at_ms;
        }
        changed
    }

    /// Keeps the time series and aggregates of the same entity from the previous page,
    /// with this row's own values winning.
    fn carry_history_from(&mut self, previous: EntityRow) {
        let mut series = previous.timeseries;
        for (key, points) in std::mem::take(&mut self.timeseries) {
            merge_series(series.entry(key).or_default(), &points);
        }
        self.timeseries = series;
        let mut aggs = previous.agg_latest;
        aggs.append(&mut self.agg_latest);
        self.agg_latest = aggs;
    }
}

fn merge_latest(
    slot: &mut BTreeMap<String, LatestValue>,
    key: &str,
    incoming: &TsValue,
    received_at_ms: i64,
) -> Merge {
    let Some(current) = slot.get_mut(key) else {
        slot.insert(
            key.to_owned(),
            LatestValue::from_wire(incoming, received_at_ms),
        );
        return Merge::Applied;
    };
    // Deletions are always forwarded as {"ts":0,"value":""} and must apply despite ts 0.
    let applies = incoming.is_empty_marker() || incoming.ts >= current.ts;
    if !applies {
        return Merge::Stale;
    }
    if current.ts == incoming.ts && current.value == incoming.value {
        return Merge::Unchanged;
    }
    // In place: the value's string buffer is reused (see `TbValue::clone_from`).
    current.ts = incoming.ts;
    current.value.clone_from(&incoming.value);
    current.received_at_ms = received_at_ms;
    Merge::Applied
}

/// Merges `incoming` (any order) into `dst` (ascending by `ts`); a point with a `ts`
/// already held replaces it. Returns whether `dst` changed.
fn merge_series(dst: &mut Vec<TsValue>, incoming: &[TsValue]) -> bool {
    if incoming.is_empty() {
        return false;
    }
    let mut sorted = incoming.to_vec();
    sorted.sort_by_key(|p| p.ts);
    // Within one message, keep one point per ts (the later one in the array).
    sorted.reverse();
    sorted.dedup_by_key(|p| p.ts);
    sorted.reverse();

    let Some(first_ts) = sorted.first().map(|p| p.ts) else {
        return false;
    };
    let changed = if dst.last().is_none_or(|last| first_ts > last.ts) {
        dst.extend(sorted);
        true
    } else {
        let mut changed = false;
        let old = std::mem::take(dst);
        let mut merged = Vec::with_capacity(old.len() + sorted.len());
        let mut old_iter = old.into_iter().peekable();
        for point in sorted {
            while let Some(held) = old_iter.next_if(|held| held.ts < point.ts) {
                merged.push(held);
            }
            match old_iter.next_if(|held| held.ts == point.ts) {
                Some(held) if held == point => merged.push(held),
                _ => {
                    merged.push(point);
                    changed = true;
                }
            }
        }
        merged.extend(old_iter);
        *dst = merged;
        changed
    };
    if dst.len() > MAX_POINTS_PER_KEY {
        let excess = dst.len() - MAX_POINTS_PER_KEY;
        dst.drain(..excess);
    }
    changed
}

/// The rows of one `ENTITY_DATA` subscription in page order, with the page totals.
#[derive(Debug, Clone, Default)]
pub struct EntityPage {
    rows: Vec<EntityRow>,
    index: HashMap<EntityId, usize>,
    total_elements: i64,
    total_pages: i32,
    has_next: bool,
    allowed_entities: i32,
    has_data: bool,
    premature: VecDeque<(EntityData, i64)>,
    premature_dropped: u64,
    unknown_updates: u64,
    stale_values: u64,
    joined_last_data: Vec<EntityId>,
    stamp: Stamp,
}

impl EntityPage {
    /// An empty page waiting for its first `data`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one `ENTITY_DATA` message received at `received_at_ms` (local epoch ms).
    pub fn apply(&mut self, update: &EntityDataUpdate, received_at_ms: i64) {
        if self.stamp.error(update.error(), received_at_ms) {
            return;
        }
        if update.allowed_entities > 0 && update.allowed_entities != self.allowed_entities {
            self.allowed_entities = update.allowed_entities;
            self.stamp.touch(received_at_ms);
        }
        if let Some(page) = &update.data {
            self.replace_page(page, received_at_ms);
        }
        if let Some(rows) = &update.update {
            if self.has_data {
                for row in rows {
                    self.merge_row(row, received_at_ms);
                }
            } else {
                for row in rows {
                    self.buffer_premature(row, received_at_ms);
                }
            }
        }
    }

    fn buffer_premature(&mut self, row: &EntityData, received_at_ms: i64) {
        self.premature.push_back((row.clone(), received_at_ms));
        while self.premature.len() > MAX_PREMATURE_ROWS {
            self.premature.pop_front();
            self.premature_dropped = self.premature_dropped.saturating_add(1);
        }
    }

    fn replace_page(&mut self, page: &PageData<EntityData>, received_at_ms: i64) {
        let was_first = !self.has_data;
        let mut previous: HashMap<EntityId, EntityRow> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|row| (row.entity_id.clone(), row))
            .collect();
        self.index.clear();
        self.joined_last_data.clear();
        for data in &page.data {
            if let Some(&at) = self.index.get(&data.entity_id) {
                // The same entity twice on one page: keep one row, merged.
                if let Some(row) = self.rows.get_mut(at) {
                    let mut stale = 0;
                    row.merge(data, received_at_ms, &mut stale);
                }
                continue;
            }
            let mut row = EntityRow::from_wire(data, received_at_ms);
            if let Some(old) = previous.remove(&data.entity_id) {
                row.carry_history_from(old);
            } else if !was_first {
                self.joined_last_data.push(data.entity_id.clone());
            }
            self.index.insert(data.entity_id.clone(), self.rows.len());
            self.rows.push(row);
        }
        self.total_elements = page.total_elements;
        self.total_pages = page.total_pages;
        self.has_next = page.has_next;
        self.has_data = true;
        self.stamp.success(received_at_ms);

        for (row, at) in std::mem::take(&mut self.premature) {
            self.merge_row(&row, at);
        }
    }

    fn merge_row(&mut self, data: &EntityData, received_at_ms: i64) {
        let Some(&at) = self.index.get(&data.entity_id) else {
            self.unknown_updates = self.unknown_updates.saturating_add(1);
            return;
        };
        let Some(row) = self.rows.get_mut(at) else {
            self.unknown_updates = self.unknown_updates.saturating_add(1);
            return;
        };
        if row.merge(data, received_at_ms, &mut self.stale_values) {
            self.stamp.touch(received_at_ms);
        }
    }

    /// The rows in page order.
    #[must_use]
    pub fn rows(&self) -> &[EntityRow] {
        &self.rows
    }

    /// The row of `entity_id`, if it is on the page.
    #[must_use]
    pub fn row(&self, entity_id: &EntityId) -> Option<&EntityRow> {
        self.rows.get(*self.index.get(entity_id)?)
    }

    /// Number of rows on the page.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the page has no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the first `data` has arrived.
    #[must_use]
    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// Rows matching the query over all pages (`totalElements`).
    #[must_use]
    pub fn total_elements(&self) -> i64 {
        self.total_elements
    }

    /// Number of pages (`totalPages`).
    #[must_use]
    pub fn total_pages(&self) -> i32 {
        self.total_pages
    }

    /// Whether a next page exists (`hasNext`).
    #[must_use]
    pub fn has_next(&self) -> bool {
        self.has_next
    }

    /// The server's per-subscription entity cap (`allowedEntities`, 10 000 by default);
    /// 0 until a successful message carried it.
    #[must_use]
    pub fn allowed_entities(&self) -> i32 {
        self.allowed_entities
    }

    /// Whether more entities match than one subscription may cover (the UI should warn).
    #[must_use]
    pub fn exceeds_allowed_entities(&self) -> bool {
        self.allowed_entities > 0 && self.total_elements > i64::from(self.allowed_entities)
    }

    /// `update` rows waiting for the first `data`.
    #[must_use]
    pub fn pending_premature(&self) -> usize {
        self.premature.len()
    }

    /// Premature rows dropped because the buffer was full.
    #[must_use]
    pub fn premature_dropped(&self) -> u64 {
        self.premature_dropped
    }

    /// `update` rows ignored because their entity is not on the page.
    #[must_use]
    pub fn unknown_updates(&self) -> u64 {
        self.unknown_updates
    }

    /// Latest values ignored because they were older than the one held.
    #[must_use]
    pub fn stale_values(&self) -> u64 {
        self.stale_values
    }

    /// Entities that joined the page with the last `data` after the first (a dynamic
    /// refresh). The server creates no time series subscriptions for them: the caller must
    /// re-send its `tsCmd`.
    #[must_use]
    pub fn joined_last_data(&self) -> &[EntityId] {
        &self.joined_last_data
    }

    /// The last error the server reported; cleared by the next `data`.
    #[must_use]
    pub fn last_error(&self) -> Option<&SubscriptionError> {
        self.stamp.last_error()
    }

    /// Local time of the last visible change (epoch ms).
    #[must_use]
    pub fn updated_at_ms(&self) -> Option<i64> {
        self.stamp.updated_at_ms()
    }

    /// Increments on every visible change.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.stamp.version()
    }

    /// Drops every row's time series points, e.g. before re-sending a `tsCmd` for a new
    /// time window (whose answer arrives as `update` and would otherwise merge with the old
    /// window).
    pub fn clear_timeseries(&mut self) {
        let mut changed = false;
        for row in &mut self.rows {
            changed |= !row.timeseries.is_empty();
            row.timeseries.clear();
        }
        if changed {
            self.stamp.bump();
        }
    }
}

/// The count of an `ENTITY_COUNT` subscription (`COUNT_DATA`): a success replaces the
/// count and clears the error; an error keeps the last count.
pub type EntityCount = Reported<i64>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::EntityCountUpdate;
    use crate::store::latest::wire::{decode, fixture};

    const T101: &str = "784f394c-42b6-435a-983c-b7beff2784f9";
    const T102: &str = "2ad2fa5c-1b41-4f3c-9a44-0d3b3c1f8f00";
    const OTHER: &str = "99999999-1b41-4f3c-9a44-0d3b3c1f8f00";

    fn initial_page() -> EntityDataUpdate {
        decode(fixture!("entity_data_initial_page"))
    }

    fn device(id: &str) -> EntityId {
        serde_json::from_str(&format!(r#"{{"entityType":"DEVICE","id":"{id}"}}"#)).unwrap()
    }

    /// A live latest-value update in the wire shape.
    fn latest_update(id: &str, key: &str, ts: i64, value: &str) -> EntityDataUpdate {
        decode(&format!(
            r#"{{"cmdId":1,"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":{{"TIME_SERIES":{{"{key}":{{"ts":{ts},"value":"{value}"}}}}}},"timeseries":null,"aggLatest":null}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#
        ))
    }

    /// A live time series update in the wire shape.
    fn series_update(id: &str, key: &str, points: &[(i64, &str)]) -> EntityDataUpdate {
        let points: Vec<String> = points
            .iter()
            .map(|(ts, v)| format!(r#"{{"ts":{ts},"value":"{v}"}}"#))
            .collect();
        decode(&format!(
            r#"{{"cmdId":1,"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":null,"timeseries":{{"{key}":[{}]}},"aggLatest":null}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
            points.join(",")
        ))
    }

    /// A `data` page listing `ids`, each with one temperature value.
    fn data_page(ids: &[&str], ts: i64) -> EntityDataUpdate {
        let rows: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(
                    r#"{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":{{"TIME_SERIES":{{"temperature":{{"ts":{ts},"value":"20"}}}}}},"timeseries":{{}},"aggLatest":{{}}}}"#
                )
            })
            .collect();
        decode(&format!(
            r#"{{"cmdId":1,"data":{{"data":[{}],"totalPages":1,"totalElements":{},"hasNext":false}},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
            rows.join(","),
            ids.len()
        ))
    }

    fn temperature(page: &EntityPage, id: &str) -> Option<LatestValue> {
        page.row(&device(id))?
            .latest_value(&EntityKeyType::TimeSeries, "temperature")
            .cloned()
    }

    #[test]
    fn data_fills_the_page_in_order_with_its_totals() {
        let mut page = EntityPage::new();
        page.apply(&initial_page(), 1_000);
        assert!(page.has_data());
        assert_eq!(page.len(), 2);
        assert_eq!(page.rows()[0].entity_id(), &device(T101));
        assert_eq!(page.rows()[1].entity_id(), &device(T102));
        assert_eq!(page.total_elements(), 12);
        assert_eq!(page.total_pages(), 6);
        assert!(page.has_next());
        assert_eq!(page.allowed_entities(), 10_000);
        assert_eq!(page.rows()[0].field("name"), Some("Thermostat T-101"));
        assert_eq!(page.rows()[1].display_name(), "Lobby");
        assert_eq!(page.rows()[0].display_name(), "Thermostat T-101");
        let t = temperature(&page, T101).unwrap();
        assert_eq!(
            (t.ts, t.text(), t.received_at_ms),
            (1_699_999_990_000, "21.5", 1_000)
        );
    }

    #[test]
    fn updates_arriving_before_data_are_buffered_and_replayed_when_it_comes() {
        let mut page = EntityPage::new();
        let early = decode(fixture!("entity_data_update_before_data"));
        page.apply(&early, 500);
        assert!(!page.has_data());
        assert!(page.is_empty());
        assert_eq!(page.pending_premature(), 1);

        page.apply(&initial_page(), 1_000);
        assert_eq!(page.pending_premature(), 0);
        let t = temperature(&page, T101).unwrap();
        assert_eq!(t.ts, 1_700_000_007_000);
        assert_eq!(t.text(), "22");
        assert_eq!(
            t.received_at_ms, 500,
            "the replayed value keeps its arrival time"
        );
    }

    #[test]
    fn replayed_premature_updates_older_than_the_page_are_ignored() {
        let mut page = EntityPage::new();
        page.apply(&latest_update(T101, "temperature", 1_000, "old"), 1);
        page.apply(&data_page(&[T101], 2_000), 2);
        let t = temperature(&page, T101).unwrap();
        assert_eq!((t.ts, t.text()), (2_000, "20"));
        assert_eq!(page.stale_values(), 1);
    }

    #[test]
    fn the_premature_buffer_is_bounded_and_drops_the_oldest_rows() {
        let mut page = EntityPage::new();
        let rows = MAX_PREMATURE_ROWS + 5;
        for i in 0..rows {
            let ts = 1_000 + i64::try_from(i).unwrap();
            page.apply(&latest_update(T101, "temperature", ts, "v"), ts);
        }
        assert_eq!(page.pending_premature(), MAX_PREMATURE_ROWS);
        assert_eq!(page.premature_dropped(), 5);
        page.apply(&data_page(&[T101], 0), 99_999);
        let newest = 1_000 + i64::try_from(rows - 1).unwrap();
        assert_eq!(temperature(&page, T101).unwrap().ts, newest);
    }

    #[test]
    fn premature_updates_for_entities_missing_from_the_page_count_as_unknown() {
        let mut page = EntityPage::new();
        page.apply(&latest_update(OTHER, "temperature", 5, "1"), 1);
        page.apply(&initial_page(), 2);
        assert_eq!(page.unknown_updates(), 1);
        assert_eq!(page.len(), 2);
    }

    #[test]
    fn a_newer_latest_value_replaces_the_held_one_and_bumps_the_version() {
        let mut page = EntityPage::new();
        page.apply(&initial_page(), 1_000);
        let v = page.version();
        page.apply(&decode(fixture!("entity_data_update_latest")), 2_000);
        let t = temperature(&page, T101).unwrap();
        assert_eq!(
            (t.ts, t.text(), t.received_at_ms),
            (1_700_000_005_000, "21.75", 2_000)
        );
        assert!(page.version() > v);
        assert_eq!(page.rows()[0].updated_at_ms(), 2_000);
    }

    #[test]
    fn a_latest_value_with_the_same_ts_replaces_the_held_one() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 2_000), 1);
        page.apply(&latest_update(T101, "temperature", 2_000, "21"), 2);
        assert_eq!(temperature(&page, T101).unwrap().text(), "21");
    }

    #[test]
    fn stale_latest_values_are_ignored_and_counted() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 2_000), 1);
        let v = page.version();
        page.apply(&latest_update(T101, "temperature", 1_999, "old"), 2);
        let t = temperature(&page, T101).unwrap();
        assert_eq!((t.ts, t.text(), t.received_at_ms), (2_000, "20", 1));
        assert_eq!(page.stale_values(), 1);
        assert_eq!(page.version(), v, "nothing visible changed");
    }

    #[test]
    fn a_duplicate_latest_value_changes_nothing() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 2_000), 1);
        let v = page.version();
        page.apply(&latest_update(T101, "temperature", 2_000, "20"), 5);
        assert_eq!(page.version(), v);
        assert_eq!(temperature(&page, T101).unwrap().received_at_ms, 1);
    }

    #[test]
    fn a_deleted_key_marker_applies_despite_its_zero_ts() {
        let mut page = EntityPage::new();
        page.apply(&initial_page(), 1);
        page.apply(&latest_update(T102, "humidity", 1_700_000_009_000, "50"), 2);
        let deleted = decode(&fixture!("entity_data_update_deleted_key").replace(T101, T102));
        page.apply(&deleted, 3);
        let h = page.rows()[1]
            .latest_value(&EntityKeyType::TimeSeries, "humidity")
            .unwrap();
        assert!(h.is_empty_marker());
        assert_eq!(h.age_ms(10), None);
        assert_eq!(page.stale_values(), 0);
    }

    #[test]
    fn updates_for_unknown_entity_ids_are_ignored_and_counted() {
        let mut page = EntityPage::new();
        page.apply(&initial_page(), 1);
        let before = page.rows().to_vec();
        let v = page.version();
        page.apply(
            &latest_update(OTHER, "temperature", 9_999_999_999_999, "99"),
            2,
        );
        assert_eq!(page.unknown_updates(), 1);
        assert_eq!(page.rows(), before.as_slice());
        assert_eq!(page.version(), v);
        assert!(page.row(&device(OTHER)).is_none());
    }

    #[test]
    fn a_value_knows_its_age_and_the_time_since_it_arrived() {
        let mut page = EntityPage::new();
        page.apply(&latest_update(T101, "temperature", 10_000, "1"), 10_500);
        page.apply(&data_page(&[T101], 0), 10_600);
        let t = temperature(&page, T101).unwrap();
        assert_eq!(t.age_ms(15_000), Some(5_000));
        assert_eq!(t.since_received_ms(15_000), 4_500);
        assert_eq!(
            t.age_ms(9_000),
            Some(0),
            "a device clock ahead of ours reads as 0"
        );
        assert_eq!(t.since_received_ms(0), 0);
    }

    #[test]
    fn a_value_without_value_text_has_no_age() {
        let mut page = EntityPage::new();
        page.apply(&decode(fixture!("entity_data_missing_value_cassandra")), 1);
        let p = page.rows()[0]
            .latest_value(&EntityKeyType::TimeSeries, "pressure")
            .unwrap();
        assert!(!p.has_value());
        assert_eq!(p.age_ms(1_700_000_001_000), None);
    }

    #[test]
    fn timeseries_points_are_merged_in_ascending_order_with_same_ts_replaced() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 1), 1);
        // Raw live series arrive newest first.
        page.apply(&decode(fixture!("entity_data_update_timeseries")), 2);
        page.apply(
            &series_update(
                T101,
                "temperature",
                &[(1_700_000_007_000, "22"), (1_700_000_004_000, "21.7")],
            ),
            3,
        );
        page.apply(
            &series_update(T101, "temperature", &[(1_700_000_005_000, "21.76")]),
            4,
        );
        let points: Vec<(i64, &str)> = page.rows()[0]
            .series("temperature")
            .iter()
            .map(|p| (p.ts, p.value.as_ref().unwrap().as_str()))
            .collect();
        assert_eq!(
            points,
            vec![
                (1_700_000_004_000, "21.7"),
                (1_700_000_005_000, "21.76"),
                (1_700_000_006_000, "21.8"),
                (1_700_000_007_000, "22"),
            ]
        );
    }

    #[test]
    fn a_duplicate_timeseries_point_changes_nothing() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 1), 1);
        page.apply(&series_update(T101, "t", &[(5, "1"), (6, "2")]), 2);
        let v = page.version();
        page.apply(&series_update(T101, "t", &[(5, "1")]), 3);
        assert_eq!(page.version(), v);
        assert_eq!(page.rows()[0].series("t").len(), 2);
    }

    #[test]
    fn a_key_without_points_in_the_window_is_present_and_empty() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 1), 1);
        page.apply(
            &decode(fixture!("entity_data_update_aggregated_history")),
            2,
        );
        let row = &page.rows()[0];
        assert!(row.timeseries().contains_key("humidity"));
        assert!(row.series("humidity").is_empty());
        assert_eq!(row.series("temperature").len(), 2);
        assert_eq!(row.series("temperature")[0].count, Some(60));
    }

    #[test]
    fn timeseries_are_bounded_per_key_keeping_the_newest_points() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 1), 1);
        let chunk = 10_000;
        let chunks = MAX_POINTS_PER_KEY / chunk + 1;
        for c in 0..chunks {
            let start = i64::try_from(c * chunk).unwrap();
            let points: Vec<(i64, &str)> = (start..start + i64::try_from(chunk).unwrap())
                .map(|ts| (ts + 1, "1"))
                .collect();
            page.apply(&series_update(T101, "t", &points), 2);
        }
        let series = page.rows()[0].series("t");
        assert_eq!(series.len(), MAX_POINTS_PER_KEY);
        assert_eq!(
            series.last().unwrap().ts,
            i64::try_from(chunks * chunk).unwrap()
        );
    }

    #[test]
    fn agg_latest_entries_are_replaced_by_id() {
        let mut page = EntityPage::new();
        let asset = "0d7bd8a0-7a25-11ee-9d3f-3b4c5d6e7f80";
        let page_json = r#"{"cmdId":3,"data":{"data":[{"entityId":{"entityType":"ASSET","id":"0d7bd8a0-7a25-11ee-9d3f-3b4c5d6e7f80"},"latest":{},"timeseries":{},"aggLatest":{"1":{"current":{"ts":1,"value":"1"},"previous":null},"9":{"current":{"ts":1,"value":"9"},"previous":null}}}],"totalPages":1,"totalElements":1,"hasNext":false},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#;
        page.apply(&decode(page_json), 1);
        page.apply(&decode(fixture!("entity_data_update_agg_latest")), 2);
        let row = page.rows()[0].clone();
        assert_eq!(row.entity_id().id.to_string(), asset);
        let aggs = row.agg_latest();
        assert_eq!(aggs.len(), 4);
        let current = aggs[&1].current.as_ref().unwrap();
        assert_eq!(current.value.as_ref().unwrap().as_str(), "1543.2");
        assert_eq!(
            aggs[&9].current.as_ref().unwrap().ts,
            1,
            "ids not sent are kept"
        );
    }

    #[test]
    fn an_error_message_sets_last_error_and_keeps_the_rows() {
        let mut page = EntityPage::new();
        page.apply(&initial_page(), 1);
        page.apply(&decode(fixture!("entity_data_error_result_set")), 2);
        let err = page.last_error().unwrap();
        assert_eq!(err.code, 1);
        assert!(err.message.starts_with("Result set size exceeds"));
        assert_eq!(err.received_at_ms, 2);
        assert_eq!(page.len(), 2);
        assert_eq!(
            page.allowed_entities(),
            10_000,
            "the error's allowedEntities:0 is not kept"
        );
        page.apply(&initial_page(), 3);
        assert!(page.last_error().is_none(), "a new page clears the error");
    }

    #[test]
    fn an_error_without_text_gets_thingsboards_default_text() {
        let err = SubscriptionError::new(3, None, 0);
        assert_eq!(err.message, "Unauthorized");
        assert_eq!(
            SubscriptionError::new(77, Some(" "), 0).message,
            "error code 77"
        );
    }

    #[test]
    fn a_later_data_page_replaces_the_rows_and_keeps_history_of_entities_that_stay() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101, T102], 1), 1);
        page.apply(&series_update(T101, "t", &[(5, "1")]), 2);
        assert!(page.joined_last_data().is_empty());

        page.apply(&data_page(&[OTHER, T101], 3), 3);
        assert_eq!(page.len(), 2);
        assert_eq!(page.rows()[0].entity_id(), &device(OTHER));
        assert_eq!(page.rows()[1].entity_id(), &device(T101));
        assert!(page.row(&device(T102)).is_none());
        assert_eq!(page.rows()[1].series("t").len(), 1);
        assert_eq!(temperature(&page, T101).unwrap().ts, 3);
        assert_eq!(page.joined_last_data(), &[device(OTHER)]);

        page.apply(&latest_update(T102, "temperature", 9, "1"), 4);
        assert_eq!(page.unknown_updates(), 1, "an entity that left is unknown");
    }

    #[test]
    fn clearing_timeseries_empties_every_row() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 1), 1);
        page.apply(&series_update(T101, "t", &[(5, "1")]), 2);
        let v = page.version();
        page.clear_timeseries();
        assert!(page.rows()[0].timeseries().is_empty());
        assert!(page.version() > v);
    }

    #[test]
    fn totals_beyond_the_allowed_entities_are_flagged() {
        let mut page = EntityPage::new();
        let json = initial_page_with_total(20_000);
        page.apply(&decode(&json), 1);
        assert!(page.exceeds_allowed_entities());
        page.apply(&initial_page(), 2);
        assert!(!page.exceeds_allowed_entities());
    }

    fn initial_page_with_total(total: i64) -> String {
        fixture!("entity_data_initial_page").replace(
            r#""totalElements":12"#,
            &format!(r#""totalElements":{total}"#),
        )
    }

    #[test]
    fn the_entity_count_keeps_the_last_value_across_errors() {
        let mut count = EntityCount::new();
        assert_eq!(count.count(), None);
        let ok: EntityCountUpdate = decode(fixture!("entity_count"));
        count.apply(&ok, 1);
        assert_eq!(count.count(), Some(312));
        let err: EntityCountUpdate = decode(
            r#"{"cmdId":10,"count":0,"errorCode":2,"errorMsg":"Query is empty!","cmdUpdateType":"COUNT_DATA"}"#,
        );
        count.apply(&err, 2);
        assert_eq!(count.count(), Some(312));
        assert_eq!(count.last_error().unwrap().message, "Query is empty!");
        assert_eq!(count.updated_at_ms(), Some(2));
        assert_eq!(count.version(), 2);
        count.apply(&ok, 3);
        assert!(count.last_error().is_none());
    }
}

//! An `ALARM_DATA` subscription's page by alarm id, the `ALARM_COUNT_DATA` count and the
//! `ALARM_STATUS` flag.
//!
//! The rules (thingsboard-protocol.md §4.3–§4.5, client-behaviour.md §B5):
//!
//! * `data` replaces the page: rows in page order, `totalElements`, `totalPages`,
//!   `hasNext`. The server re-sends a full `data` page whenever the set of alarms changes
//!   (a new alarm on page 0, an alarm leaving the filter, a deleted alarm).
//! * `update` replaces rows in place by alarm id. An id not on the page is ignored and
//!   counted: the server re-sends `data` for alarms that join the page.
//! * `allowedEntities` / `totalEntities` (the 10 000-entity cap) are kept from the last
//!   successful message.
//! * Alarms that appear in a `data` page after the first are remembered with the time they
//!   appeared ([`AlarmPage::new_since_ms`]) so the UI can flash them; a page or filter change
//!   the user asked for is announced with [`AlarmPage::begin_new_view`] so its rows are not
//!   all highlighted.
//! * A non-zero `errorCode` sets [`AlarmPage::last_error`] and leaves the rows alone.

use std::collections::HashMap;

use super::entities::SubscriptionError;
use super::latest::{ErrorFields, Reported, Stamp};
use crate::protocol::{AlarmData, AlarmDataUpdate, AlarmSeverity, EntityId, PageData};

/// The alarms of one `ALARM_DATA` subscription in page order.
#[derive(Debug, Clone, Default)]
pub struct AlarmPage {
    rows: Vec<AlarmData>,
    index: RowIndex,
    total_elements: i64,
    total_pages: i32,
    has_next: bool,
    allowed_entities: i64,
    total_entities: i64,
    has_data: bool,
    new_view_pending: bool,
    new_since: HashMap<EntityId, i64>,
    unknown_updates: u64,
    stamp: Stamp,
}

/// Rows dropped on the UI thread above this many are freed on a thread of their own
/// (dropping 10,000 alarms takes about 10 ms: a frame and a half).
const FREE_ELSEWHERE_ABOVE: usize = 1_000;

/// Frees a large batch of replaced rows off the calling thread (here, if no thread can be
/// started).
fn free_elsewhere(rows: Vec<AlarmData>) {
    if rows.len() > FREE_ELSEWHERE_ABOVE {
        // On failure the closure, and the rows with it, are dropped right here.
        let _ = std::thread::Builder::new()
            .name("free-alarm-rows".to_owned())
            .spawn(move || drop(rows));
    }
}

/// Where each alarm is in the rows: `(uuid, row)` sorted by uuid. Building it for a
/// 10,000-alarm page is one sort (a fraction of a millisecond, where a hash map cost about
/// 3 ms of the frame); a lookup is a binary search. Alarm ids are all of type ALARM, so the
/// uuid alone is the key.
#[derive(Debug, Clone, Default)]
struct RowIndex(Vec<(u128, usize)>);

impl RowIndex {
    /// The index of `rows`, and whether an alarm appears twice.
    fn build(rows: &[AlarmData]) -> (Self, bool) {
        let mut entries: Vec<(u128, usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.id.as_u128(), i))
            .collect();
        entries.sort_unstable_by_key(|e| e.0);
        let repeated = entries
            .windows(2)
            .any(|w| w.first().map(|e| e.0) == w.get(1).map(|e| e.0));
        (Self(entries), repeated)
    }

    fn get(&self, id: &EntityId) -> Option<usize> {
        let key = id.id.as_u128();
        let at = self.0.binary_search_by_key(&key, |e| e.0).ok()?;
        self.0.get(at).map(|e| e.1)
    }

    fn contains(&self, id: &EntityId) -> bool {
        self.get(id).is_some()
    }
}

/// The rows with each alarm once (the same alarm twice on one page: one row where it first
/// appears, holding the later copy).
fn without_repeats(rows: Vec<AlarmData>) -> Vec<AlarmData> {
    let mut kept: Vec<AlarmData> = Vec::with_capacity(rows.len());
    let mut at: HashMap<EntityId, usize> = HashMap::with_capacity(rows.len());
    for alarm in rows {
        if let Some(&i) = at.get(&alarm.id) {
            if let Some(row) = kept.get_mut(i) {
                *row = alarm;
            }
            continue;
        }
        at.insert(alarm.id.clone(), kept.len());
        kept.push(alarm);
    }
    kept
}

impl AlarmPage {
    /// An empty page waiting for its first `data`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one `ALARM_DATA` message received at `received_at_ms` (local epoch ms).
    pub fn apply(&mut self, update: &AlarmDataUpdate, received_at_ms: i64) {
        self.apply_owned(update.clone(), received_at_ms);
    }

    /// [`Self::apply`] taking the message: a full page's rows move in instead of being
    /// copied (a 10,000-alarm page costs a few ms instead of tens), and the replaced rows
    /// are freed on another thread.
    pub fn apply_owned(&mut self, update: AlarmDataUpdate, received_at_ms: i64) {
        if self.stamp.error(update.error(), received_at_ms) {
            return;
        }
        if (update.allowed_entities, update.total_entities)
            != (self.allowed_entities, self.total_entities)
        {
            self.allowed_entities = update.allowed_entities;
            self.total_entities = update.total_entities;
            self.stamp.touch(received_at_ms);
        }
        if let Some(page) = update.data {
            self.replace_page(page, received_at_ms);
        }
        for alarm in update.update.into_iter().flatten() {
            self.replace_row(alarm, received_at_ms);
        }
    }

    fn replace_page(&mut self, page: PageData<AlarmData>, received_at_ms: i64) {
        let highlight = self.has_data && !self.new_view_pending;
        // The page's own vector becomes the rows (no copy of 10,000 alarms); the index is
        // built over it.
        let mut rows = page.data;
        let (mut index, repeated) = RowIndex::build(&rows);
        if repeated {
            rows = without_repeats(rows);
            index = RowIndex::build(&rows).0;
        }
        if highlight {
            for alarm in &rows {
                if !self.index.contains(&alarm.id) {
                    self.new_since.insert(alarm.id.clone(), received_at_ms);
                }
            }
        }
        self.index = index;
        free_elsewhere(std::mem::replace(&mut self.rows, rows));
        if highlight {
            let index = &self.index;
            self.new_since.retain(|id, _| index.contains(id));
        } else {
            self.new_since.clear();
        }
        self.total_elements = page.total_elements;
        self.total_pages = page.total_pages;
        self.has_next = page.has_next;
        self.has_data = true;
        self.new_view_pending = false;
        self.stamp.success(received_at_ms);
    }

    fn replace_row(&mut self, alarm: AlarmData, received_at_ms: i64) {
        let Some(row) = self
            .index
            .get(&alarm.id)
            .and_then(|at| self.rows.get_mut(at))
        else {
            self.unknown_updates = self.unknown_updates.saturating_add(1);
            return;
        };
        if *row != alarm {
            *row = alarm;
            self.stamp.touch(received_at_ms);
        }
    }

    /// Announces that the next `data` page answers a page, sort or filter change the user
    /// asked for: none of its alarms is highlighted as new.
    pub fn begin_new_view(&mut self) {
        self.new_view_pending = true;
    }

    /// The alarms in page order.
    #[must_use]
    pub fn rows(&self) -> &[AlarmData] {
        &self.rows
    }

    /// The alarm with this id, if it is on the page.
    #[must_use]
    pub fn get(&self, alarm_id: &EntityId) -> Option<&AlarmData> {
        self.rows.get(self.index.get(alarm_id)?)
    }

    /// Number of alarms on the page.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the page has no alarms.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the first `data` has arrived.
    #[must_use]
    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// Alarms matching the query over all pages (`totalElements`).
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

    /// Most entities whose alarms are searched (`allowedEntities`; 0 when the filter matched none).
    #[must_use]
    pub fn allowed_entities(&self) -> i64 {
        self.allowed_entities
    }

    /// Entities the filter matched (`totalEntities`).
    #[must_use]
    pub fn total_entities(&self) -> i64 {
        self.total_entities
    }

    /// Whether the filter matched more entities than are searched, so some alarms are not shown.
    #[must_use]
    pub fn entities_capped(&self) -> bool {
        self.allowed_entities > 0 && self.total_entities > self.allowed_entities
    }

    /// When the alarm appeared on the page (local epoch ms), if it is highlighted as new.
    #[must_use]
    pub fn new_since_ms(&self, alarm_id: &EntityId) -> Option<i64> {
        self.new_since.get(alarm_id).copied()
    }

    /// Whether the alarm is highlighted as new.
    #[must_use]
    pub fn is_new(&self, alarm_id: &EntityId) -> bool {
        self.new_since.contains_key(alarm_id)
    }

    /// Number of alarms highlighted as new.
    #[must_use]
    pub fn new_count(&self) -> usize {
        self.new_since.len()
    }

    /// Removes one alarm's highlight (the user looked at it).
    pub fn dismiss_new(&mut self, alarm_id: &EntityId) {
        if self.new_since.remove(alarm_id).is_some() {
            self.stamp.bump();
        }
    }

    /// Removes every highlight, e.g. when their flash has run out.
    pub fn clear_new(&mut self) {
        if !self.new_since.is_empty() {
            self.new_since.clear();
            self.stamp.bump();
        }
    }

    /// Removes the highlights older than `max_age_ms` at `now_ms`.
    pub fn expire_new(&mut self, now_ms: i64, max_age_ms: i64) {
        let before = self.new_since.len();
        self.new_since
            .retain(|_, since| now_ms.saturating_sub(*since) < max_age_ms);
        if self.new_since.len() != before {
            self.stamp.bump();
        }
    }

    /// The alarms on the page that are neither cleared nor acknowledged.
    pub fn active_unacknowledged(&self) -> impl Iterator<Item = &AlarmData> {
        self.rows.iter().filter(|a| !a.cleared && !a.acknowledged)
    }

    /// How many alarms on the page are neither cleared nor acknowledged.
    #[must_use]
    pub fn active_unacknowledged_count(&self) -> usize {
        self.active_unacknowledged().count()
    }

    /// The worst severity among alarms neither cleared nor acknowledged (what the tray icon
    /// shows); `None` when there is none. Unknown severities rank below the known ones.
    #[must_use]
    pub fn worst_active_unacknowledged_severity(&self) -> Option<&AlarmSeverity> {
        self.active_unacknowledged()
            .map(|a| &a.severity)
            .min_by_key(|s| s.rank())
    }

    /// `update` alarms ignored because they were not on the page.
    #[must_use]
    pub fn unknown_updates(&self) -> u64 {
        self.unknown_updates
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
}

/// The count of an `ALARM_COUNT` subscription (`ALARM_COUNT_DATA`; sent first, then on
/// change): a success replaces the count and clears the error; an error keeps the last count.
pub type AlarmCount = Reported<i64>;

/// The flag of an `ALARM_STATUS` subscription: whether the originator has a matching
/// active alarm (sent first, then on flips). A success sets the flag and clears the error; an
/// error keeps the last flag.
pub type AlarmStatusFlag = Reported<bool>;

impl Reported<bool> {
    /// Whether a matching active alarm exists; `None` before the first answer.
    #[must_use]
    pub fn active(&self) -> Option<bool> {
        self.value().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AlarmCountUpdate, AlarmStatusUpdate};
    use crate::store::latest::wire::{decode, fixture};

    const A1: &str = "a1b2c3d4-0000-4000-8000-000000000001";
    const A2: &str = "a1b2c3d4-0000-4000-8000-000000000002";
    const A3: &str = "a1b2c3d4-0000-4000-8000-000000000003";

    fn fixture_page() -> AlarmDataUpdate {
        decode(fixture!("alarm_data_page"))
    }

    fn fixture_update() -> AlarmDataUpdate {
        decode(fixture!("alarm_data_update"))
    }

    fn alarm_id(id: &str) -> EntityId {
        serde_json::from_str(&format!(r#"{{"entityType":"ALARM","id":"{id}"}}"#)).unwrap()
    }

    /// One alarm row in the wire shape.
    fn alarm_json(id: &str, severity: &str, acknowledged: bool, cleared: bool) -> String {
        format!(
            r#"{{"entityId":{{"entityType":"DEVICE","id":"784f394c-42b6-435a-983c-b7beff2784f9"}},"latest":{{}},"id":{{"entityType":"ALARM","id":"{id}"}},"createdTime":1,"tenantId":null,"customerId":null,"type":"T","originator":{{"entityType":"DEVICE","id":"784f394c-42b6-435a-983c-b7beff2784f9"}},"severity":"{severity}","acknowledged":{acknowledged},"cleared":{cleared},"assigneeId":null,"startTs":1,"endTs":1,"ackTs":0,"clearTs":0,"assignTs":0,"details":null,"propagate":false,"propagateToOwner":false,"propagateToTenant":false,"propagateRelationTypes":[],"originatorName":"D","originatorLabel":null,"originatorDisplayName":"D","assignee":null,"name":"T","status":null}}"#
        )
    }

    fn page_of(rows: &[String]) -> AlarmDataUpdate {
        decode(&format!(
            r#"{{"cmdId":6,"data":{{"data":[{}],"totalPages":1,"totalElements":{},"hasNext":false}},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"totalEntities":57,"cmdUpdateType":"ALARM_DATA"}}"#,
            rows.join(","),
            rows.len()
        ))
    }

    fn update_of(row: &str) -> AlarmDataUpdate {
        decode(&format!(
            r#"{{"cmdId":6,"data":null,"update":[{row}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"totalEntities":57,"cmdUpdateType":"ALARM_DATA"}}"#
        ))
    }

    #[test]
    fn data_fills_the_page_in_order_with_its_totals_and_entity_counts() {
        let mut page = AlarmPage::new();
        page.apply(&fixture_page(), 1);
        assert!(page.has_data());
        assert_eq!(page.len(), 2);
        assert_eq!(page.rows()[0].id, alarm_id(A1));
        assert_eq!(page.rows()[1].id, alarm_id(A2));
        assert_eq!(page.total_elements(), 2);
        assert_eq!(page.total_pages(), 1);
        assert!(!page.has_next());
        assert_eq!(page.allowed_entities(), 10_000);
        assert_eq!(page.total_entities(), 57);
        assert!(!page.entities_capped());
        assert_eq!(page.new_count(), 0, "nothing is new on the first page");
    }

    #[test]
    fn an_alarm_twice_on_a_page_is_one_row_holding_the_later_copy_and_every_row_is_found() {
        let mut page = AlarmPage::new();
        page.apply_owned(
            page_of(&[
                alarm_json(A2, "MAJOR", false, false),
                alarm_json(A1, "MINOR", false, false),
                alarm_json(A2, "CRITICAL", true, false),
                alarm_json(A3, "WARNING", false, false),
            ]),
            1,
        );
        let ids: Vec<_> = page.rows().iter().map(|r| r.id.clone()).collect();
        assert_eq!(
            ids,
            [alarm_id(A2), alarm_id(A1), alarm_id(A3)],
            "first place kept"
        );
        assert_eq!(
            page.get(&alarm_id(A2))
                .map(|r| (&r.severity, r.acknowledged)),
            Some((&AlarmSeverity::Critical, true)),
            "the later copy"
        );
        for id in [A1, A2, A3] {
            assert_eq!(
                page.get(&alarm_id(id)).map(|r| r.id.clone()),
                Some(alarm_id(id))
            );
        }
        assert!(
            page.get(&alarm_id("a1b2c3d4-0000-4000-8000-000000000009"))
                .is_none()
        );
        // An update finds its row through the index.
        page.apply_owned(update_of(&alarm_json(A3, "WARNING", true, false)), 2);
        assert!(page.get(&alarm_id(A3)).is_some_and(|r| r.acknowledged));
    }

    #[test]
    fn an_empty_first_page_records_that_no_entity_matched() {
        let mut page = AlarmPage::new();
        page.apply(&decode(fixture!("alarm_data_no_entities")), 1);
        assert!(page.has_data());
        assert!(page.is_empty());
        assert_eq!((page.allowed_entities(), page.total_entities()), (0, 0));
        assert_eq!(page.worst_active_unacknowledged_severity(), None);
    }

    #[test]
    fn an_update_replaces_the_alarm_in_place_by_id() {
        let mut page = AlarmPage::new();
        page.apply(&fixture_page(), 1);
        let v = page.version();
        page.apply(&fixture_update(), 2);
        assert_eq!(page.len(), 2);
        let first = &page.rows()[0];
        assert_eq!(first.id, alarm_id(A1));
        assert!(first.cleared && first.acknowledged);
        assert_eq!(first.end_ts, 1_700_000_005_000);
        assert_eq!(page.get(&alarm_id(A1)).unwrap().clear_ts, 1_700_000_004_000);
        assert!(page.version() > v);
        assert_eq!(page.updated_at_ms(), Some(2));
    }

    #[test]
    fn an_update_for_an_alarm_not_on_the_page_is_ignored_and_counted() {
        let mut page = AlarmPage::new();
        page.apply(&fixture_page(), 1);
        let before = page.rows().to_vec();
        let v = page.version();
        page.apply(&update_of(&alarm_json(A3, "CRITICAL", false, false)), 2);
        assert_eq!(page.unknown_updates(), 1);
        assert_eq!(page.rows(), before.as_slice());
        assert_eq!(page.version(), v);
    }

    #[test]
    fn updates_before_the_first_page_are_ignored_and_counted() {
        let mut page = AlarmPage::new();
        page.apply(&fixture_update(), 1);
        assert!(!page.has_data());
        assert_eq!(page.unknown_updates(), 1);
    }

    #[test]
    fn alarms_appearing_in_a_later_page_are_highlighted_as_new() {
        let mut page = AlarmPage::new();
        page.apply(&page_of(&[alarm_json(A1, "MAJOR", false, false)]), 1);
        page.apply(
            &page_of(&[
                alarm_json(A3, "CRITICAL", false, false),
                alarm_json(A1, "MAJOR", false, false),
            ]),
            5,
        );
        assert!(page.is_new(&alarm_id(A3)));
        assert_eq!(page.new_since_ms(&alarm_id(A3)), Some(5));
        assert!(!page.is_new(&alarm_id(A1)));

        page.apply(&page_of(&[alarm_json(A1, "MAJOR", false, false)]), 9);
        assert_eq!(
            page.new_count(),
            0,
            "an alarm that left loses its highlight"
        );
    }

    #[test]
    fn highlights_persist_across_pages_until_dismissed_or_expired() {
        let mut page = AlarmPage::new();
        page.apply(&page_of(&[alarm_json(A1, "MAJOR", false, false)]), 1);
        page.apply(
            &page_of(&[
                alarm_json(A2, "MINOR", false, false),
                alarm_json(A1, "MAJOR", false, false),
            ]),
            2,
        );
        page.apply(
            &page_of(&[
                alarm_json(A3, "MINOR", false, false),
                alarm_json(A2, "MINOR", false, false),
                alarm_json(A1, "MAJOR", false, false),
            ]),
            10,
        );
        assert_eq!(page.new_since_ms(&alarm_id(A2)), Some(2));
        assert_eq!(page.new_since_ms(&alarm_id(A3)), Some(10));
        page.expire_new(8, 5);
        assert!(!page.is_new(&alarm_id(A2)));
        assert!(page.is_new(&alarm_id(A3)));
        page.dismiss_new(&alarm_id(A3));
        assert_eq!(page.new_count(), 0);
        page.apply(
            &page_of(&[
                alarm_json(A3, "MINOR", false, false),
                alarm_json(A2, "MINOR", false, false),
            ]),
            11,
        );
        page.apply(&page_of(&[alarm_json(A1, "MINOR", false, false)]), 12);
        assert!(page.is_new(&alarm_id(A1)));
        page.clear_new();
        assert_eq!(page.new_count(), 0);
    }

    #[test]
    fn a_page_the_user_asked_for_highlights_nothing() {
        let mut page = AlarmPage::new();
        page.apply(&page_of(&[alarm_json(A1, "MAJOR", false, false)]), 1);
        page.begin_new_view();
        page.apply(&page_of(&[alarm_json(A2, "MAJOR", false, false)]), 2);
        assert_eq!(page.new_count(), 0);
        page.apply(
            &page_of(&[
                alarm_json(A3, "MAJOR", false, false),
                alarm_json(A2, "MAJOR", false, false),
            ]),
            3,
        );
        assert!(
            page.is_new(&alarm_id(A3)),
            "later live pages highlight again"
        );
    }

    #[test]
    fn the_worst_severity_and_count_consider_only_active_unacknowledged_alarms() {
        let mut page = AlarmPage::new();
        page.apply(
            &page_of(&[
                alarm_json(A1, "CRITICAL", true, false),
                alarm_json(A2, "MINOR", false, false),
                alarm_json(A3, "MAJOR", false, true),
            ]),
            1,
        );
        assert_eq!(page.active_unacknowledged_count(), 1);
        assert_eq!(
            page.worst_active_unacknowledged_severity(),
            Some(&AlarmSeverity::Minor)
        );
        page.apply(&update_of(&alarm_json(A3, "WARNING", false, false)), 2);
        page.apply(&update_of(&alarm_json(A1, "CRITICAL", false, false)), 3);
        assert_eq!(page.active_unacknowledged_count(), 3);
        assert_eq!(
            page.worst_active_unacknowledged_severity(),
            Some(&AlarmSeverity::Critical)
        );
    }

    #[test]
    fn an_unknown_severity_ranks_below_the_known_ones() {
        let mut page = AlarmPage::new();
        page.apply(
            &page_of(&[
                alarm_json(A1, "CATASTROPHIC", false, false),
                alarm_json(A2, "WARNING", false, false),
            ]),
            1,
        );
        assert_eq!(
            page.worst_active_unacknowledged_severity(),
            Some(&AlarmSeverity::Warning)
        );
    }

    #[test]
    fn an_error_message_sets_last_error_and_keeps_the_rows() {
        let mut page = AlarmPage::new();
        page.apply(&fixture_page(), 1);
        let err: AlarmDataUpdate = decode(
            r#"{"cmdId":6,"data":null,"update":null,"errorCode":1,"errorMsg":"boom","allowedEntities":0,"totalEntities":0,"cmdUpdateType":"ALARM_DATA"}"#,
        );
        page.apply(&err, 2);
        assert_eq!(page.last_error().unwrap().message, "boom");
        assert_eq!(page.len(), 2);
        assert_eq!(page.allowed_entities(), 10_000);
        page.apply(&fixture_page(), 3);
        assert!(page.last_error().is_none());
    }

    #[test]
    fn more_matched_entities_than_allowed_is_flagged() {
        let mut page = AlarmPage::new();
        let json = fixture!("alarm_data_page")
            .replace(r#""totalEntities":57"#, r#""totalEntities":12000"#);
        page.apply(&decode(&json), 1);
        assert!(page.entities_capped());
    }

    #[test]
    fn the_alarm_count_keeps_the_last_value_across_errors() {
        let mut count = AlarmCount::new();
        let ok: AlarmCountUpdate = decode(fixture!("alarm_count"));
        count.apply(&ok, 1);
        assert_eq!(count.count(), Some(2));
        let err: AlarmCountUpdate = decode(
            r#"{"cmdId":11,"count":0,"errorCode":1,"errorMsg":null,"cmdUpdateType":"ALARM_COUNT_DATA"}"#,
        );
        count.apply(&err, 2);
        assert_eq!(count.count(), Some(2));
        assert_eq!(
            count.last_error().unwrap().message,
            "Internal Server error!"
        );
        assert_eq!(count.version(), 2);
        assert_eq!(count.updated_at_ms(), Some(2));
    }

    #[test]
    fn the_alarm_status_flag_follows_the_last_answer() {
        let mut flag = AlarmStatusFlag::new();
        assert_eq!(flag.active(), None);
        let on: AlarmStatusUpdate = decode(fixture!("alarm_status"));
        flag.apply(&on, 1);
        assert_eq!(flag.active(), Some(true));
        let off: AlarmStatusUpdate = decode(
            r#"{"cmdId":13,"errorCode":0,"errorMsg":null,"active":false,"cmdUpdateType":"ALARM_STATUS"}"#,
        );
        flag.apply(&off, 2);
        assert_eq!(flag.active(), Some(false));
        let err: AlarmStatusUpdate = decode(
            r#"{"cmdId":13,"errorCode":3,"errorMsg":"Unauthorized","active":false,"cmdUpdateType":"ALARM_STATUS"}"#,
        );
        flag.apply(&err, 3);
        assert_eq!(flag.active(), Some(false));
        assert_eq!(flag.last_error().unwrap().code, 3);
        assert_eq!(flag.updated_at_ms(), Some(3));
        assert_eq!(flag.version(), 3);
    }
}

//! One `ENTITY_DATA` subscription's page, and the `COUNT_DATA` entity count.
//!
//! The rules (thingsboard-protocol.md §4.1, client-behaviour.md §B5):
//!
//! * The first `data` message replaces the page (rows in page order, `totalElements`,
//!   `totalPages`, `hasNext`). A later `data` (a dynamic page refresh) replaces it again;
//!   the aggregates already held for entities that stay on the page are kept, because the
//!   server's refresh page carries `aggLatest:{}` while their live subscriptions go on.
//! * `update` messages that arrive before the first `data` (the server's "missed updates"
//!   check races the initial send) are buffered, at most [`MAX_PREMATURE_ROWS`] rows with the
//!   oldest dropped first, and replayed in arrival order once `data` comes.
//! * `update` rows merge by entity id: a latest value is replaced only by one whose `ts` is
//!   at least the stored one (older ones are stale and counted), except ThingsBoard's
//!   deletion marker `{"ts":0,"value":""}`, which always applies; `aggLatest` entries are
//!   replaced by id. `timeseries` points are not kept in the page: the store feeds them to
//!   one bounded `SeriesBuffer` per (subscription, entity, key) (`Store::series`). Rows for entities not on the page are ignored
//!   and counted.
//! * A message with a non-zero `errorCode` sets [`EntityPage::last_error`] and leaves the
//!   rows alone.
//!
//! Every latest value keeps its `ts` and the local time it was received, so the UI can show
//! its age. [`EntityPage::version`] increments on every visible change, so views can cache.
//!
//! # Layout (the apply hot path)
//!
//! A live update touches one or two rows of a store that can hold tens of thousands, so
//! what it costs is the cache lines it reaches per row, not its code. A page keeps its rows
//! column by column, all indexed by the row's position in page order; an [`EntityRow`] is a
//! view of one position.
//!
//! * Latest-value keys are interned per page (`KeyTable`): a `(key type, key)` gets an id
//!   the first time the page sees it (the `data` page, in the order of the command's key
//!   list; a key first sent by an `update` gets the next id; ids survive a page refresh).
//! * The latest values of all rows sit in one allocation (`LatestCells`), one 32-byte cell
//!   per (row, key id): no map nodes, no key strings, and the cell's address follows from
//!   the row's position and the key id alone.
//! * A [`LatestValue`] holds a text of up to [`INLINE_TEXT_BYTES`] bytes in place and is
//!   32-byte aligned, so overwriting a number writes one cache line and allocates nothing.
//! * Rows are found through `RowIndex`, an open-addressing table of 8-byte slots (hash tag,
//!   position), confirmed on a 32-byte `RowHeader` (UUID, entity type, time of the last
//!   change). Both stay small enough for the second-level cache (about 32 + 16 bytes per
//!   row), and as the index gives the position before the header confirms it, the header
//!   and the value cells load in parallel instead of one after the other.
//! * Entity ids, time series and aggregates (`RowData`) are only read by views and by
//!   updates that carry series or aggregates.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::mem::Discriminant;

use uuid::Uuid;

use super::latest::{ErrorFields, Reported, Stamp};
use crate::protocol::{
    BAD_REQUEST, ComparisonTsValue, EntityData, EntityDataUpdate, EntityId, EntityKeyType,
    EntityType, INTERNAL_ERROR, PageData, TOO_MANY_UPDATES, TbValue, TsValue, UNAUTHORIZED,
};

/// Most `update` rows held while waiting for the first `data`; older ones are dropped first.
pub const MAX_PREMATURE_ROWS: usize = 10_000;

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

/// Value texts up to this many bytes are held inside the [`LatestValue`] itself.
pub const INLINE_TEXT_BYTES: usize = 14;

/// A latest value as held by the store: the wire `ts` and value text, plus when it arrived.
///
/// 32 bytes, aligned to 32 so that it never straddles two cache lines: a text of up to
/// [`INLINE_TEXT_BYTES`] bytes (numbers, booleans, short strings: nearly all telemetry) is
/// held in place, so overwriting a value touches no memory beyond the slot; longer texts
/// live on the heap and reuse their buffer when overwritten. Only the text is kept: a
/// value that a non-conforming server sent as a bare JSON number reads as its text.
#[derive(Clone, PartialEq, Eq)]
#[repr(align(32))]
pub struct LatestValue {
    /// The value's own timestamp (epoch ms); 0 for "no value" or a deleted key.
    pub ts: i64,
    value: ValueText,
    /// Local time the value was received (epoch ms).
    pub received_at_ms: i64,
}

/// A latest value's text: absent, inline, or on the heap (16 bytes).
#[derive(Clone)]
enum ValueText {
    /// The server sent no value (the Cassandra form of a missing key).
    Absent,
    /// A text of at most [`INLINE_TEXT_BYTES`] bytes; the bytes past `len` are zero.
    Inline {
        len: u8,
        bytes: [u8; INLINE_TEXT_BYTES],
    },
    /// A longer text.
    Heap(Box<TbValue>),
}

impl ValueText {
    fn of(value: Option<&TbValue>) -> Self {
        let mut text = Self::Absent;
        text.set(value);
        text
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Self::Absent => None,
            // Always whole UTF-8: the bytes were copied from a `str` of at most that length.
            Self::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok()),
            Self::Heap(value) => Some(value.as_str()),
        }
    }

    fn is(&self, value: Option<&TbValue>) -> bool {
        match (self, value) {
            (Self::Absent, None) => true,
            (Self::Inline { len, bytes }, Some(v)) => {
                bytes.get(..usize::from(*len)) == Some(v.as_str().as_bytes())
            }
            (Self::Heap(held), Some(v)) => held.as_str() == v.as_str(),
            _ => false,
        }
    }

    /// Overwrites the text in place: no allocation unless a long text replaces a short one.
    fn set(&mut self, value: Option<&TbValue>) {
        let Some(value) = value else {
            *self = Self::Absent;
            return;
        };
        let text = value.as_str().as_bytes();
        let mut bytes = [0; INLINE_TEXT_BYTES];
        if let (Ok(len), Some(inline)) = (u8::try_from(text.len()), bytes.get_mut(..text.len())) {
            inline.copy_from_slice(text);
            *self = Self::Inline { len, bytes };
        } else if let Self::Heap(held) = self {
            held.as_mut().clone_from(value);
        } else {
            *self = Self::Heap(Box::new(value.clone()));
        }
    }
}

impl PartialEq for ValueText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ValueText {}

impl std::fmt::Debug for LatestValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatestValue")
            .field("ts", &self.ts)
            .field("value", &self.value())
            .field("received_at_ms", &self.received_at_ms)
            .finish()
    }
}

impl LatestValue {
    /// The store's copy of a wire value received at `received_at_ms`.
    #[must_use]
    pub fn from_wire(value: &TsValue, received_at_ms: i64) -> Self {
        Self {
            ts: value.ts,
            value: ValueText::of(value.value.as_ref()),
            received_at_ms,
        }
    }

    /// The value text; `None` when the server sent none (the Cassandra form of a missing
    /// key), `Some("")` for ThingsBoard's deletion marker.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.value.as_str()
    }

    /// Whether a non-empty value is present.
    #[must_use]
    pub fn has_value(&self) -> bool {
        self.value().is_some_and(|v| !v.is_empty())
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
        self.value().unwrap_or("")
    }

    /// The value as a float, when it is numeric (the forms [`TbValue::as_f64`] reads).
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match &self.value {
            ValueText::Absent => None,
            ValueText::Heap(value) => value.as_f64(),
            ValueText::Inline { .. } => TbValue::new(self.text()).as_f64(),
        }
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

/// What merging one latest value did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    Applied,
    Unchanged,
    Stale,
}

impl LatestValue {
    /// Merges a newer wire value into this one, in place.
    fn merge(&mut self, incoming: &TsValue, received_at_ms: i64) -> Merge {
        // Deletions are always forwarded as {"ts":0,"value":""} and must apply despite ts 0.
        let applies = incoming.is_empty_marker() || incoming.ts >= self.ts;
        if !applies {
            return Merge::Stale;
        }
        let value = incoming.value.as_ref();
        if self.ts == incoming.ts && self.value.is(value) {
            return Merge::Unchanged;
        }
        self.ts = incoming.ts;
        self.value.set(value);
        self.received_at_ms = received_at_ms;
        Merge::Applied
    }
}

/// Past this many keys a page finds key ids through a map instead of a scan.
const SCAN_KEYS: usize = 16;

/// The latest-value keys a page has seen, in first-seen order: a key's position is its id.
/// Append-only, so an id never changes.
#[derive(Debug, Clone, Default)]
struct KeyTable {
    keys: Vec<(EntityKeyType, Box<str>)>,
    /// Ids by key name (one per key type that has the name), used past [`SCAN_KEYS`].
    by_name: HashMap<Box<str>, Vec<usize>>,
}

impl KeyTable {
    fn len(&self) -> usize {
        self.keys.len()
    }

    fn find(&self, key_type: &EntityKeyType, name: &str) -> Option<usize> {
        if self.keys.len() <= SCAN_KEYS {
            self.keys
                .iter()
                .position(|(t, n)| same_text(n, name) && t == key_type)
        } else {
            self.by_name
                .get(name)?
                .iter()
                .copied()
                .find(|&id| self.keys.get(id).is_some_and(|(t, _)| t == key_type))
        }
    }

    fn key(&self, id: usize) -> Option<(&EntityKeyType, &str)> {
        self.keys.get(id).map(|(t, n)| (t, &**n))
    }

    fn push(&mut self, key_type: &EntityKeyType, name: &str) -> usize {
        let id = self.keys.len();
        self.keys.push((key_type.clone(), name.into()));
        self.by_name.entry(name.into()).or_default().push(id);
        id
    }
}

/// Whether two key names are equal, reading only their bytes: `==` on `str` calls `memcmp`,
/// whose 32-byte vector loads run past a short key into the next (cold) cache line.
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut a_words = a.chunks_exact(8);
    let mut b_words = b.chunks_exact(8);
    let words_equal = a_words.by_ref().zip(b_words.by_ref()).all(|(x, y)| x == y);
    words_equal
        && a_words
            .remainder()
            .iter()
            .zip(b_words.remainder())
            .all(|(x, y)| x == y)
}

/// The latest values of every row of a page, in one allocation: row `at` holds
/// `cells[at * stride..][..stride]`, one cell per key id (`None`: no value of that key).
/// `stride` is at least the number of keys; it grows by half when a key arrives that no
/// cell has room for (a key first sent by an `update`), and is trimmed to the key count
/// once a `data` page is built.
#[derive(Debug, Clone, Default)]
struct LatestCells {
    cells: Vec<Option<LatestValue>>,
    stride: usize,
    rows: usize,
}

impl LatestCells {
    fn clear(&mut self) {
        self.cells.clear();
        self.rows = 0;
    }

    fn row(&self, at: usize) -> &[Option<LatestValue>] {
        let start = at.saturating_mul(self.stride);
        self.cells
            .get(start..start.saturating_add(self.stride))
            .unwrap_or_default()
    }

    fn cell_mut(&mut self, at: usize, id: usize) -> Option<&mut Option<LatestValue>> {
        if id >= self.stride {
            return None;
        }
        self.cells
            .get_mut(at.checked_mul(self.stride)?.checked_add(id)?)
    }

    /// Adds an empty row.
    fn push_row(&mut self) {
        self.cells
            .resize_with(self.cells.len() + self.stride, || None);
        self.rows += 1;
    }

    /// Sets the stride, moving every row's cells. Cells past a narrower stride are empty:
    /// it is only ever trimmed to the key count.
    fn relayout(&mut self, stride: usize) {
        if stride == self.stride {
            return;
        }
        let rows = self.rows;
        let old = std::mem::take(&mut self.cells);
        let old_stride = self.stride;
        self.stride = stride;
        self.cells.reserve_exact(rows.saturating_mul(stride));
        let mut old = old.into_iter();
        for _ in 0..rows {
            let keep = old_stride.min(stride);
            self.cells.extend(old.by_ref().take(keep));
            old.by_ref().take(old_stride - keep).for_each(drop);
            self.cells
                .resize_with(self.cells.len() + (stride - keep), || None);
        }
    }

    /// Room for key `id` in every row.
    fn make_room(&mut self, id: usize) {
        if id >= self.stride {
            let grown = self.stride.saturating_add(self.stride / 2).max(4);
            self.relayout(grown.max(id + 1));
        }
    }
}

/// What a live update reads and writes of a row besides its values: 32 bytes, two rows to
/// a cache line (about 470 KiB for 15,000 rows, which stays in the second-level cache).
/// The entity type is kept as its variant: an `Unknown` one is confirmed on the row.
#[derive(Debug, Clone, Copy)]
#[repr(align(32))]
struct RowHeader {
    uuid: Uuid,
    kind: Discriminant<EntityType>,
    updated_at_ms: i64,
}

impl RowHeader {
    fn new(entity_id: &EntityId, updated_at_ms: i64) -> Self {
        Self {
            uuid: entity_id.id,
            kind: std::mem::discriminant(&entity_id.entity_type),
            updated_at_ms,
        }
    }

    /// Whether this is the header of `entity_id` (`None`: the row must tell).
    fn is(&self, entity_id: &EntityId) -> Option<bool> {
        if self.uuid != entity_id.id || self.kind != std::mem::discriminant(&entity_id.entity_type)
        {
            return Some(false);
        }
        (!matches!(entity_id.entity_type, EntityType::Unknown(_))).then_some(true)
    }
}

/// The rest of a row: read by views, rarely by live updates.
#[derive(Debug, Clone)]
struct RowData {
    entity_id: EntityId,
    agg_latest: BTreeMap<i32, ComparisonTsValue>,
}

impl RowData {
    fn new(entity_id: EntityId) -> Self {
        Self {
            entity_id,
            agg_latest: BTreeMap::new(),
        }
    }

    /// Merges the aggregates of one `EntityData`; returns whether anything changed. (Its
    /// time series go to the store's `SeriesBuffer`s, not to the row.)
    fn merge_history(&mut self, data: &EntityData) -> bool {
        let mut changed = false;
        if let Some(aggs) = &data.agg_latest {
            for (id, value) in aggs {
                if self.agg_latest.get(id) != Some(value) {
                    self.agg_latest.insert(*id, value.clone());
                    changed = true;
                }
            }
        }
        changed
    }

    /// Keeps the aggregates of the same entity from the previous page, with this row's own
    /// values winning.
    fn carry_history_from(&mut self, previous: RowData) {
        let mut aggs = previous.agg_latest;
        aggs.append(&mut self.agg_latest);
        self.agg_latest = aggs;
    }
}

/// One entity of the page with everything received for it: a view into its
/// [`EntityPage`], which keeps rows column by column (see the module docs).
#[derive(Clone, Copy)]
pub struct EntityRow<'a> {
    data: &'a RowData,
    header: &'a RowHeader,
    latest: &'a [Option<LatestValue>],
    keys: &'a KeyTable,
}

impl<'a> EntityRow<'a> {
    /// The entity.
    #[must_use]
    pub fn entity_id(&self) -> &'a EntityId {
        &self.data.entity_id
    }

    /// Every latest value with its key type and key, in the order the page first saw the
    /// keys (the command's key list, then keys first sent by updates).
    pub fn latest(&self) -> impl Iterator<Item = (&'a EntityKeyType, &'a str, &'a LatestValue)> {
        let keys = self.keys;
        self.latest
            .iter()
            .enumerate()
            .filter_map(move |(id, value)| {
                let (key_type, key) = keys.key(id)?;
                Some((key_type, key, value.as_ref()?))
            })
    }

    /// The latest value of `key` of `key_type`.
    #[must_use]
    pub fn latest_value(&self, key_type: &EntityKeyType, key: &str) -> Option<&'a LatestValue> {
        self.latest.get(self.keys.find(key_type, key)?)?.as_ref()
    }

    /// An entity field's text (`name`, `type`, `label`, …), if it was asked for.
    #[must_use]
    pub fn field(&self, key: &str) -> Option<&'a str> {
        self.latest_value(&EntityKeyType::EntityField, key)
            .map(LatestValue::text)
    }

    /// The label if non-blank, else the name, else the id: the best text to show.
    #[must_use]
    pub fn display_name(&self) -> String {
        self.field("label")
            .filter(|s| !s.trim().is_empty())
            .or_else(|| self.field("name").filter(|s| !s.trim().is_empty()))
            .map_or_else(|| self.data.entity_id.to_string(), str::to_owned)
    }

    /// Aggregates by the client's `AggKey.id`.
    #[must_use]
    pub fn agg_latest(&self) -> &'a BTreeMap<i32, ComparisonTsValue> {
        &self.data.agg_latest
    }

    /// Local time of the last change to this row (epoch ms).
    #[must_use]
    pub fn updated_at_ms(&self) -> i64 {
        self.header.updated_at_ms
    }

    /// The latest values ordered by key type and key, for comparing rows of pages that saw
    /// the keys in different orders.
    fn latest_sorted(&self) -> Vec<(&'a EntityKeyType, &'a str, &'a LatestValue)> {
        let mut values: Vec<_> = self.latest().collect();
        values.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        values
    }
}

impl PartialEq for EntityRow<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.data.entity_id == other.data.entity_id
            && self.header.updated_at_ms == other.header.updated_at_ms
            && self.data.agg_latest == other.data.agg_latest
            && self.latest_sorted() == other.latest_sorted()
    }
}

impl std::fmt::Debug for EntityRow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Latest<'r, 'a>(&'r EntityRow<'a>);
        impl std::fmt::Debug for Latest<'_, '_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_map()
                    .entries(self.0.latest().map(|(t, k, v)| ((t, k), v)))
                    .finish()
            }
        }
        f.debug_struct("EntityRow")
            .field("entity_id", &self.data.entity_id)
            .field("latest", &Latest(self))
            .field("agg_latest", &self.data.agg_latest)
            .field("updated_at_ms", &self.header.updated_at_ms)
            .finish()
    }
}

/// Finds a page's rows by entity id: open addressing with linear probing over 8-byte slots
/// (a 32-bit hash tag and the row position + 1, 0 for empty), at most half full. A
/// 2,000-row page needs 32 KiB, which stays in cache; a tag match is confirmed by the
/// caller (on the row's header).
#[derive(Clone, Default)]
struct RowIndex {
    slots: Vec<IndexSlot>,
    len: usize,
}

#[derive(Clone, Copy, Default)]
struct IndexSlot {
    tag: u32,
    /// Row position + 1; 0 marks an empty slot.
    row: u32,
}

impl RowIndex {
    /// Empties the index, sized for `rows` rows.
    fn reset(&mut self, rows: usize) {
        let capacity = rows.saturating_mul(2).max(16).next_power_of_two();
        self.slots.clear();
        self.slots.resize(capacity, IndexSlot::default());
        self.len = 0;
    }

    /// The row of `entity_id`: the first whose tag matches and that `is_row` confirms.
    fn find(&self, entity_id: &EntityId, is_row: impl Fn(usize) -> bool) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let hash = hash_entity_id(entity_id);
        let tag = tag_of(hash);
        let mut at = start_of(hash, mask);
        // Never full, so an empty slot ends every probe; the bound is only a guard.
        for _ in 0..self.slots.len() {
            let slot = self.slots.get(at)?;
            let row = usize::try_from(slot.row.checked_sub(1)?).ok()?;
            if slot.tag == tag && is_row(row) {
                return Some(row);
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Adds row `row` of `rows`, which must not be in the index yet; grows as needed.
    fn insert(&mut self, rows: &[RowData], row: usize) {
        if (self.len + 1) * 2 > self.slots.len() {
            let len = self.len;
            self.reset((len + 1) * 2);
            for (at, r) in rows.iter().enumerate().take(len) {
                self.put(&r.entity_id, at);
            }
        }
        if let Some(r) = rows.get(row) {
            self.put(&r.entity_id, row);
        }
    }

    fn put(&mut self, entity_id: &EntityId, row: usize) {
        // A page never holds 4 billion rows; a row past that is simply not indexed.
        let Some(stored) = u32::try_from(row).ok().and_then(|r| r.checked_add(1)) else {
            return;
        };
        let Some(mask) = self.slots.len().checked_sub(1) else {
            return;
        };
        let hash = hash_entity_id(entity_id);
        let mut at = start_of(hash, mask);
        for _ in 0..self.slots.len() {
            if let Some(slot) = self.slots.get_mut(at)
                && slot.row == 0
            {
                *slot = IndexSlot {
                    tag: tag_of(hash),
                    row: stored,
                };
                self.len += 1;
                return;
            }
            at = (at + 1) & mask;
        }
    }
}

impl std::fmt::Debug for RowIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowIndex")
            .field("len", &self.len)
            .field("capacity", &self.slots.len())
            .finish()
    }
}

/// A fast hash of an entity id (its UUID is already random; this only mixes).
fn hash_entity_id(entity_id: &EntityId) -> u64 {
    let mut hasher = MixHasher(0);
    entity_id.hash(&mut hasher);
    // murmur3's finalizer: every input bit reaches the low bits (the slot) and the high
    // bits (the tag).
    let mut h = hasher.0;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn tag_of(hash: u64) -> u32 {
    // The high half; the slot comes from the low bits.
    u32::try_from(hash >> 32).unwrap_or_default()
}

fn start_of(hash: u64, mask: usize) -> usize {
    // Only the low bits are kept by the mask: truncation is the point.
    #[allow(clippy::cast_possible_truncation)]
    let low = hash as usize;
    low & mask
}

/// Folds 8-byte words with a rotate, xor and multiply (as rustc's `FxHasher`).
struct MixHasher(u64);

impl MixHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// The rows of one `ENTITY_DATA` subscription in page order, with the page totals.
///
/// Rows are kept column by column, all indexed by row position (see the module docs):
/// headers (id and last change), latest values (`LatestCells`) and the rest
/// (`RowData`). [`EntityPage::rows`] and [`EntityPage::row`] read them as [`EntityRow`]s.
#[derive(Debug, Clone, Default)]
pub struct EntityPage {
    headers: Vec<RowHeader>,
    latest: LatestCells,
    rows: Vec<RowData>,
    index: RowIndex,
    keys: KeyTable,
    /// Per key id: whether any row holds a value of it.
    held: Vec<bool>,
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
        let mut previous: HashMap<EntityId, RowData> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|row| (row.entity_id.clone(), row))
            .collect();
        self.headers.clear();
        self.latest.clear();
        // Key ids stay; which keys rows hold is counted anew.
        self.held.fill(false);
        self.index.reset(page.data.len());
        self.rows.reserve(page.data.len());
        self.headers.reserve(page.data.len());
        self.joined_last_data.clear();
        for data in &page.data {
            if let Some(at) = self.find_row(&data.entity_id) {
                // The same entity twice on one page: keep one row, merged.
                self.merge_at(at, data, received_at_ms);
                continue;
            }
            let at = self.rows.len();
            self.headers
                .push(RowHeader::new(&data.entity_id, received_at_ms));
            self.rows.push(RowData::new(data.entity_id.clone()));
            self.latest.push_row();
            self.index.insert(&self.rows, at);
            self.merge_at(at, data, received_at_ms);
            if let Some(old) = previous.remove(&data.entity_id) {
                if let Some(row) = self.rows.get_mut(at) {
                    row.carry_history_from(old);
                }
            } else if !was_first {
                self.joined_last_data.push(data.entity_id.clone());
            }
        }
        // The page brought every key of the command: no empty cells past them.
        self.latest.relayout(self.keys.len());
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
        let Some(at) = self.find_row(&data.entity_id) else {
            self.unknown_updates = self.unknown_updates.saturating_add(1);
            return;
        };
        let (changed, stale) = self.merge_at(at, data, received_at_ms);
        self.stale_values = self.stale_values.saturating_add(stale);
        if changed {
            self.stamp.touch(received_at_ms);
        }
    }

    /// The position of `entity_id`'s row. The index gives the position before the header
    /// confirms it, so the header and the row's latest values load in parallel.
    fn find_row(&self, entity_id: &EntityId) -> Option<usize> {
        self.index.find(entity_id, |at| {
            self.headers
                .get(at)
                .and_then(|header| header.is(entity_id))
                .unwrap_or_else(|| self.rows.get(at).is_some_and(|r| r.entity_id == *entity_id))
        })
    }

    /// The id of a key, interned on first sight (every row gets room for it).
    fn intern(&mut self, key_type: &EntityKeyType, name: &str) -> usize {
        if let Some(id) = self.keys.find(key_type, name) {
            return id;
        }
        let id = self.keys.push(key_type, name);
        self.held.push(false);
        self.latest.make_room(id);
        id
    }

    /// Merges one `EntityData` into row `at`; returns whether anything changed and how
    /// many of its latest values were stale.
    fn merge_at(&mut self, at: usize, data: &EntityData, received_at_ms: i64) -> (bool, u64) {
        let mut changed = false;
        let mut stale = 0u64;
        for (key_type, values) in data.latest.iter().flatten() {
            for (key, value) in values {
                let id = self.intern(key_type, key);
                let Some(cell) = self.latest.cell_mut(at, id) else {
                    continue;
                };
                let merged = if let Some(current) = cell {
                    current.merge(value, received_at_ms)
                } else {
                    *cell = Some(LatestValue::from_wire(value, received_at_ms));
                    if let Some(held) = self.held.get_mut(id) {
                        *held = true;
                    }
                    Merge::Applied
                };
                match merged {
                    Merge::Applied => changed = true,
                    Merge::Stale => stale = stale.saturating_add(1),
                    Merge::Unchanged => {}
                }
            }
        }
        if data.agg_latest.is_some()
            && let Some(row) = self.rows.get_mut(at)
        {
            changed |= row.merge_history(data);
        }
        if changed && let Some(header) = self.headers.get_mut(at) {
            header.updated_at_ms = received_at_ms;
        }
        (changed, stale)
    }

    /// The rows in page order.
    #[must_use]
    pub fn rows(&self) -> impl ExactSizeIterator<Item = EntityRow<'_>> + DoubleEndedIterator + '_ {
        let (latest, keys) = (&self.latest, &self.keys);
        self.rows
            .iter()
            .zip(&self.headers)
            .enumerate()
            .map(move |(at, (data, header))| EntityRow {
                data,
                header,
                latest: latest.row(at),
                keys,
            })
    }

    /// The row at position `at` in page order.
    #[must_use]
    pub fn row_at(&self, at: usize) -> Option<EntityRow<'_>> {
        Some(EntityRow {
            data: self.rows.get(at)?,
            header: self.headers.get(at)?,
            latest: self.latest.row(at),
            keys: &self.keys,
        })
    }

    /// The row of `entity_id`, if it is on the page.
    #[must_use]
    pub fn row(&self, entity_id: &EntityId) -> Option<EntityRow<'_>> {
        self.row_at(self.find_row(entity_id)?)
    }

    /// The keys of `key_type` that some row holds a latest value of, in the order the page
    /// first saw them.
    pub fn latest_keys<'a>(
        &'a self,
        key_type: &'a EntityKeyType,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.keys
            .keys
            .iter()
            .zip(&self.held)
            .filter(move |((t, _), held)| **held && t == key_type)
            .map(|((_, key), _)| &**key)
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
    fn agg_update(id: &str, agg_id: i32, value: &str) -> EntityDataUpdate {
        decode(&format!(
            r#"{{"cmdId":1,"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":null,"timeseries":null,"aggLatest":{{"{agg_id}":{{"current":{{"ts":5,"value":"{value}"}},"previous":null}}}}}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#
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

    /// A live update of several latest values of one row.
    fn latest_values(id: &str, key_type: &str, values: &[(&str, i64, &str)]) -> EntityDataUpdate {
        let values: Vec<String> = values
            .iter()
            .map(|(k, ts, v)| format!(r#""{k}":{{"ts":{ts},"value":"{v}"}}"#))
            .collect();
        decode(&format!(
            r#"{{"cmdId":1,"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":{{"{key_type}":{{{}}}}},"timeseries":null,"aggLatest":null}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
            values.join(",")
        ))
    }

    fn uuid_of(n: usize) -> String {
        uuid::Uuid::from_u128(0x1000 + n as u128).to_string()
    }

    #[test]
    fn the_hot_layout_holds() {
        use std::mem::{align_of, size_of};
        // One value never straddles two cache lines and a short text needs no allocation.
        assert_eq!(size_of::<ValueText>(), 16);
        assert_eq!(size_of::<LatestValue>(), 32);
        assert_eq!(align_of::<LatestValue>(), 32);
        assert_eq!(size_of::<Option<LatestValue>>(), 32);
        // Two row headers to a cache line.
        assert_eq!(size_of::<RowHeader>(), 32);
        assert_eq!(align_of::<RowHeader>(), 32);
        assert_eq!(size_of::<IndexSlot>(), 8);
    }

    #[test]
    fn value_texts_move_between_inline_and_heap_and_compare_by_text() {
        let mut page = EntityPage::new();
        page.apply(&data_page(&[T101], 1), 1);
        let long = "a text longer than fourteen bytes";
        let short = "12345678901234";
        assert_eq!(short.len(), INLINE_TEXT_BYTES);
        for (ts, text) in [
            (2, long),
            (3, short),
            (4, "é"),
            (5, long),
            (6, ""),
            (7, long),
        ] {
            page.apply(&latest_update(T101, "temperature", ts, text), ts);
            let t = temperature(&page, T101).unwrap();
            assert_eq!((t.ts, t.text(), t.value()), (ts, text, Some(text)));
        }
        let v = page.version();
        page.apply(&latest_update(T101, "temperature", 7, long), 8);
        assert_eq!(
            page.version(),
            v,
            "the same long text at the same ts changes nothing"
        );
        page.apply(&latest_update(T101, "temperature", 8, "1.0E7"), 9);
        let t = temperature(&page, T101).unwrap();
        assert_eq!(t.as_f64(), Some(1.0e7));
        assert!(format!("{t:?}").contains("1.0E7"));
    }

    #[test]
    fn keys_first_sent_by_an_update_get_room_in_every_row() {
        let ids: Vec<String> = (0..40).map(uuid_of).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut page = EntityPage::new();
        page.apply(&data_page(&ids, 1), 1);
        // Far more keys than the page saw, over both lookup paths, and the same name under
        // two key types.
        for (i, id) in ids.iter().enumerate() {
            let names: Vec<String> = (0..=i % 25).map(|k| format!("k{k}")).collect();
            let values: Vec<(&str, i64, &str)> =
                names.iter().map(|k| (k.as_str(), 5, "v")).collect();
            page.apply(&latest_values(id, "TIME_SERIES", &values), 2);
        }
        page.apply(
            &latest_values(ids[3], "SERVER_ATTRIBUTE", &[("k0", 6, "attr")]),
            3,
        );
        for (i, id) in ids.iter().enumerate() {
            let row = page.row(&device(id)).unwrap();
            assert_eq!(row.entity_id(), &device(id));
            assert_eq!(
                row.latest_value(&EntityKeyType::TimeSeries, "temperature")
                    .map(|t| (t.ts, t.text())),
                Some((1, "20")),
                "the value the page brought is kept"
            );
            for k in 0..25 {
                let held = row.latest_value(&EntityKeyType::TimeSeries, &format!("k{k}"));
                assert_eq!(held.is_some(), k <= i % 25, "row {i} key k{k}");
            }
            assert_eq!(row.latest().count(), 2 + i % 25 + usize::from(i == 3));
        }
        let attr = page.row(&device(ids[3])).unwrap();
        assert_eq!(
            attr.latest_value(&EntityKeyType::ServerAttribute, "k0")
                .map(LatestValue::text),
            Some("attr")
        );
        assert_eq!(
            attr.latest_value(&EntityKeyType::TimeSeries, "k0")
                .map(LatestValue::text),
            Some("v")
        );
        let keys: Vec<&str> = page.latest_keys(&EntityKeyType::TimeSeries).collect();
        assert_eq!(keys.len(), 26);
        assert_eq!(keys[..3], ["temperature", "k0", "k1"], "first-seen order");
        assert_eq!(
            page.latest_keys(&EntityKeyType::ServerAttribute)
                .collect::<Vec<_>>(),
            ["k0"]
        );
        // A new page keeps the ids but forgets which keys rows held.
        page.apply(&data_page(&ids[..2], 9), 9);
        let keys: Vec<&str> = page.latest_keys(&EntityKeyType::TimeSeries).collect();
        assert_eq!(keys, ["temperature"]);
        assert_eq!(page.row_at(1).unwrap().latest().count(), 1);
    }

    #[test]
    fn rows_are_found_among_many_and_told_apart_by_entity_type() {
        let ids: Vec<String> = (0..3_000).map(uuid_of).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut page = EntityPage::new();
        page.apply(&data_page(&ids, 1), 1);
        assert_eq!(page.len(), 3_000);
        for (i, id) in ids.iter().enumerate() {
            let ts = 10 + i64::try_from(i).unwrap();
            page.apply(&latest_update(id, "temperature", ts, "1"), 2);
        }
        assert_eq!(page.unknown_updates(), 0);
        for (at, row) in page.rows().enumerate() {
            assert_eq!(row.entity_id(), &device(ids[at]));
            assert_eq!(
                row.latest_value(&EntityKeyType::TimeSeries, "temperature")
                    .unwrap()
                    .ts,
                10 + i64::try_from(at).unwrap()
            );
        }
        // The same UUID as an asset, and under a type this version does not know, is
        // another entity.
        let asset: EntityId =
            serde_json::from_str(&format!(r#"{{"entityType":"ASSET","id":"{}"}}"#, ids[0]))
                .unwrap();
        let unknown: EntityId = serde_json::from_str(&format!(
            r#"{{"entityType":"SPACESHIP","id":"{}"}}"#,
            ids[0]
        ))
        .unwrap();
        assert!(page.row(&asset).is_none());
        assert!(page.row(&unknown).is_none());
        let mixed = format!(
            r#"{{"cmdId":1,"data":{{"data":[{{"entityId":{},"latest":{{}}}},{{"entityId":{},"latest":{{}}}},{{"entityId":{},"latest":{{}}}}],"totalPages":1,"totalElements":3,"hasNext":false}},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
            serde_json::to_string(&device(ids[0])).unwrap(),
            serde_json::to_string(&asset).unwrap(),
            serde_json::to_string(&unknown).unwrap(),
        );
        page.apply(&decode(&mixed), 3);
        assert_eq!(page.len(), 3);
        for (at, id) in [device(ids[0]), asset, unknown].iter().enumerate() {
            assert_eq!(page.row(id).unwrap().entity_id(), id);
            assert_eq!(page.row_at(at).unwrap().entity_id(), id);
        }
        assert!(page.row(&device(ids[1])).is_none());
    }

    #[test]
    fn data_fills_the_page_in_order_with_its_totals() {
        let mut page = EntityPage::new();
        page.apply(&initial_page(), 1_000);
        assert!(page.has_data());
        assert_eq!(page.len(), 2);
        assert_eq!(page.row_at(0).unwrap().entity_id(), &device(T101));
        assert_eq!(page.row_at(1).unwrap().entity_id(), &device(T102));
        assert_eq!(page.total_elements(), 12);
        assert_eq!(page.total_pages(), 6);
        assert!(page.has_next());
        assert_eq!(page.allowed_entities(), 10_000);
        assert_eq!(
            page.row_at(0).unwrap().field("name"),
            Some("Thermostat T-101")
        );
        assert_eq!(page.row_at(1).unwrap().display_name(), "Lobby");
        assert_eq!(page.row_at(0).unwrap().display_name(), "Thermostat T-101");
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
        assert_eq!(page.row_at(0).unwrap().updated_at_ms(), 2_000);
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
        let h = page
            .row_at(1)
            .unwrap()
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
        let before = format!("{:?}", page.rows().collect::<Vec<_>>());
        let v = page.version();
        page.apply(
            &latest_update(OTHER, "temperature", 9_999_999_999_999, "99"),
            2,
        );
        assert_eq!(page.unknown_updates(), 1);
        assert_eq!(format!("{:?}", page.rows().collect::<Vec<_>>()), before);
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
        let p = page
            .row_at(0)
            .unwrap()
            .latest_value(&EntityKeyType::TimeSeries, "pressure")
            .unwrap();
        assert!(!p.has_value());
        assert_eq!(p.age_ms(1_700_000_001_000), None);
    }

    #[test]
    fn agg_latest_entries_are_replaced_by_id() {
        let mut page = EntityPage::new();
        let asset = "0d7bd8a0-7a25-11ee-9d3f-3b4c5d6e7f80";
        let page_json = r#"{"cmdId":3,"data":{"data":[{"entityId":{"entityType":"ASSET","id":"0d7bd8a0-7a25-11ee-9d3f-3b4c5d6e7f80"},"latest":{},"timeseries":{},"aggLatest":{"1":{"current":{"ts":1,"value":"1"},"previous":null},"9":{"current":{"ts":1,"value":"9"},"previous":null}}}],"totalPages":1,"totalElements":1,"hasNext":false},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#;
        page.apply(&decode(page_json), 1);
        page.apply(&decode(fixture!("entity_data_update_agg_latest")), 2);
        let row = page.row_at(0).unwrap();
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
        page.apply(&agg_update(T101, 7, "42"), 2);
        assert!(page.joined_last_data().is_empty());

        page.apply(&data_page(&[OTHER, T101], 3), 3);
        assert_eq!(page.len(), 2);
        assert_eq!(page.row_at(0).unwrap().entity_id(), &device(OTHER));
        assert_eq!(page.row_at(1).unwrap().entity_id(), &device(T101));
        assert!(page.row(&device(T102)).is_none());
        assert_eq!(
            page.row_at(1).unwrap().agg_latest()[&7]
                .current
                .as_ref()
                .and_then(|v| v.value.as_ref())
                .map(TbValue::as_str),
            Some("42"),
            "the aggregate of an entity that stays is kept"
        );
        assert_eq!(temperature(&page, T101).unwrap().ts, 3);
        assert_eq!(page.joined_last_data(), &[device(OTHER)]);

        page.apply(&latest_update(T102, "temperature", 9, "1"), 4);
        assert_eq!(page.unknown_updates(), 1, "an entity that left is unknown");
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

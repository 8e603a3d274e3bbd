//! The Inspector's drawing pieces: one entity's keys as a table, a value as the server sent
//! it, and a history table. Pure drawing: state comes in, a [`KeyAction`] goes out; the
//! Inspector view ([`crate::app`]) owns the state and the subscriptions.
//!
//! * **Keys table** ([`keys_table_ui`]). One row per key, in the order given: key, value,
//!   "N ago" (the absolute time on hover) and a "Copy" button (copies the value text). A
//!   filter (any letter case, key or value) hides rows. Telemetry rows can carry a "Plot
//!   <key>" check box and a "History <key>" check box; both are named for screen readers and
//!   tests, and only report the toggle: the caller keeps the sets. A value that changed less
//!   than [`HIGHLIGHT_MS`](crate::ui::entities::HIGHLIGHT_MS) ago is highlighted, fading out, with repaints only while it fades.
//! * **Values** ([`value_ui`]). The text is shown as the server sent it. Text that is a JSON
//!   object or array is re-laid out (never re-serialised, so key order and number forms such
//!   as `1.0E7` survive): collapsed it is a one-line preview cut at [`PREVIEW_CHARS`]
//!   characters, open it is indented monospace text that can be selected. The layout is
//!   cached per text in egui's frame cache, so a large JSON value is not re-read each frame.
//!   Other text wraps.
//! * **History** ([`HistoryTable`]). One row per distinct timestamp across the keys, newest
//!   first, one column per key (empty where the key has no point at that time). The merge
//!   happens once in [`HistoryTable::new`]; drawing lays out only the rows in view, so
//!   100,000 rows cost what 40 do.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use egui::cache::{ComputerMut, FrameCache};
use egui::{Align, Checkbox, Label, Layout, RichText, ScrollArea, Ui, vec2};

use crate::plot::window::Zone;
use crate::protocol::TsPoint;
use crate::ui::entities::{
    FADE_REPAINT_MS, age_text, highlight_fill, highlight_strength, utc_text,
};

/// A collapsed JSON value shows at most this many characters of its one-line form.
pub const PREVIEW_CHARS: usize = 60;

/// The empty text of an attribute scope.
pub const NO_ATTRIBUTES: &str = "No attributes in this scope";
/// The empty text of the telemetry table.
pub const NO_TELEMETRY: &str = "No telemetry";

/// The value column is never narrower than this.
const MIN_VALUE_WIDTH: f32 = 200.0;
/// Room left for the other columns of the keys table when sizing the value column.
const OTHER_COLUMNS_WIDTH: f32 = 360.0;
/// The history table's time column.
const TIME_WIDTH: f32 = 190.0;
/// No history key column is narrower than this.
const MIN_KEY_WIDTH: f32 = 110.0;

/// One key's row: key, time of the value (epoch ms), value text (as the server sent it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRow<'a> {
    /// The key.
    pub key: &'a str,
    /// When the value was written (the server's `ts` / `lastUpdateTs`, epoch ms; 0 unknown).
    pub ts: i64,
    /// The value text as the server sent it.
    pub value: &'a str,
}

/// What the user asked of a keys table; the view applies it after drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// "Copy": put this value text on the clipboard.
    Copy(String),
    /// "Plot <key>" was toggled: plot this key in place, or stop.
    TogglePlot(String),
    /// "History <key>" was toggled: add this key to the history fetch, or remove it.
    TogglePick(String),
}

/// A set of keys the table asks about (plotted keys, keys picked for history).
pub trait KeySet {
    /// Whether `key` is in the set.
    fn has(&self, key: &str) -> bool;
}

impl KeySet for BTreeSet<String> {
    fn has(&self, key: &str) -> bool {
        self.contains(key)
    }
}

impl<S: std::hash::BuildHasher> KeySet for HashSet<String, S> {
    fn has(&self, key: &str) -> bool {
        self.contains(key)
    }
}

impl KeySet for [String] {
    fn has(&self, key: &str) -> bool {
        self.iter().any(|k| k == key)
    }
}

impl KeySet for Vec<String> {
    fn has(&self, key: &str) -> bool {
        self.as_slice().has(key)
    }
}

/// When a key's value last changed (epoch ms), `None` if it has not changed while shown.
pub type ChangedAt<'a> = &'a dyn Fn(&str) -> Option<i64>;

/// How [`keys_table_ui`] draws a table.
#[derive(Clone, Copy)]
pub struct KeysTableOptions<'a> {
    /// The wall clock (epoch ms), for ages and highlights.
    pub now_ms: i64,
    /// Shown (weak) when there are no rows at all: [`NO_ATTRIBUTES`], [`NO_TELEMETRY`].
    pub empty_text: &'a str,
    /// Rows whose key and value both lack this text (any letter case) are hidden; empty or
    /// blank shows every row.
    pub filter: &'a str,
    /// With a set: a "Plot <key>" check box per row, checked for the keys in it.
    pub ticks: Option<&'a dyn KeySet>,
    /// With a set: a "History <key>" check box per row, checked for the keys in it.
    pub picks: Option<&'a dyn KeySet>,
    /// When a key's value last changed, on the `now_ms` clock (`None`: not since the view
    /// opened). Such values are highlighted for [`HIGHLIGHT_MS`](crate::ui::entities::HIGHLIGHT_MS).
    pub changed_at: Option<ChangedAt<'a>>,
    /// The zone of the absolute time shown on hover; UTC without one.
    pub zone: Option<&'a Zone>,
}

impl<'a> KeysTableOptions<'a> {
    /// A table without filter, check boxes or highlights.
    #[must_use]
    pub fn new(now_ms: i64, empty_text: &'a str) -> Self {
        Self {
            now_ms,
            empty_text,
            filter: "",
            ticks: None,
            picks: None,
            changed_at: None,
            zone: None,
        }
    }
}

/// A scope's (or the telemetry's) keys as a table: key, value ([`value_ui`]), "N ago" (the
/// absolute time on hover) and a "Copy" button per row. See [`KeysTableOptions`] for the
/// filter, the check boxes and the highlight. The table is not scrolled: tables stack in the
/// caller's scroll area. `id_salt` tells tables of one view apart.
pub fn keys_table_ui(
    ui: &mut Ui,
    id_salt: &str,
    rows: &[KeyRow<'_>],
    opts: &KeysTableOptions<'_>,
) -> Option<KeyAction> {
    if rows.is_empty() {
        ui.weak(opts.empty_text);
        return None;
    }
    let filter = opts.filter.trim();
    let shown: Vec<&KeyRow<'_>> = rows.iter().filter(|r| matches_filter(r, filter)).collect();
    if shown.is_empty() {
        ui.weak(format!("No key or value contains \"{filter}\""));
        return None;
    }
    let value_width = (ui.available_width() - OTHER_COLUMNS_WIDTH).max(MIN_VALUE_WIDTH);
    let columns = 4 + usize::from(opts.ticks.is_some()) + usize::from(opts.picks.is_some());
    let mut action = None;
    let mut fading = false;
    egui::Grid::new(("inspector_keys", id_salt))
        .num_columns(columns)
        .striped(true)
        .show(ui, |ui| {
            header_ui(ui, opts);
            for row in shown {
                let cell = RowCell {
                    id_salt,
                    value_width,
                };
                if let Some(row_action) = key_row_ui(ui, row, opts, &cell, &mut fading) {
                    action = Some(row_action);
                }
                ui.end_row();
            }
        });
    if fading {
        let ms = u64::try_from(FADE_REPAINT_MS).unwrap_or(50);
        ui.ctx().request_repaint_after(Duration::from_millis(ms));
    }
    action
}

/// What a row needs besides its data.
struct RowCell<'s> {
    id_salt: &'s str,
    value_width: f32,
}

fn header_ui(ui: &mut Ui, opts: &KeysTableOptions<'_>) {
    if opts.ticks.is_some() {
        ui.strong("Plot");
    }
    if opts.picks.is_some() {
        ui.strong("History");
    }
    ui.strong("Key");
    ui.strong("Value");
    ui.strong("Updated");
    ui.label("");
    ui.end_row();
}

fn key_row_ui(
    ui: &mut Ui,
    row: &KeyRow<'_>,
    opts: &KeysTableOptions<'_>,
    cell: &RowCell<'_>,
    fading: &mut bool,
) -> Option<KeyAction> {
    let mut action = None;
    if let Some(ticks) = opts.ticks
        && toggle_ui(
            ui,
            ticks.has(row.key),
            &format!("Plot {}", row.key),
            "plot in place",
        )
    {
        action = Some(KeyAction::TogglePlot(row.key.to_owned()));
    }
    if let Some(picks) = opts.picks
        && toggle_ui(
            ui,
            picks.has(row.key),
            &format!("History {}", row.key),
            "include in the history fetch",
        )
    {
        action = Some(KeyAction::TogglePick(row.key.to_owned()));
    }
    ui.label(row.key);

    let strength = row_highlight(opts, row.key);
    *fading |= strength > 0.0;
    egui::Frame::new()
        .fill(highlight_fill(strength))
        .corner_radius(2.0)
        .show(ui, |ui| {
            ui.set_width(cell.value_width);
            value_ui(ui, (cell.id_salt, row.key), row.value);
        });

    if row.ts > 0 {
        let absolute = opts.zone.map_or_else(
            || utc_text(row.ts),
            |z| format!("{} ({})", z.format(row.ts), z.label()),
        );
        ui.label(format!("{} ago", age_text(opts.now_ms - row.ts)))
            .on_hover_text(absolute);
    } else {
        ui.weak("unknown");
    }
    if ui
        .button("Copy")
        .on_hover_text(format!("Copy the value of {}", row.key))
        .clicked()
    {
        action = Some(KeyAction::Copy(row.value.to_owned()));
    }
    action
}

/// How strongly `key`'s value is highlighted now: 1 just after it changed, fading to 0 over
/// [`HIGHLIGHT_MS`](crate::ui::entities::HIGHLIGHT_MS).
fn row_highlight(opts: &KeysTableOptions<'_>, key: &str) -> f32 {
    let changed = opts.changed_at.and_then(|changed_at| changed_at(key));
    changed.map_or(0.0, |at| highlight_strength(at, i64::MIN, opts.now_ms))
}

/// A check box without visible text, named `name`; whether it was toggled.
fn toggle_ui(ui: &mut Ui, on: bool, name: &str, hint: &str) -> bool {
    let mut on = on;
    ui.add(Checkbox::without_text(&mut on))
        .accessible_name(name)
        .on_hover_text(format!("{name}: {hint}"))
        .changed()
}

/// Whether a row shows under `filter` (already trimmed): its key or its value contains it,
/// in any letter case.
fn matches_filter(row: &KeyRow<'_>, filter: &str) -> bool {
    contains_ignore_case(row.key, filter) || contains_ignore_case(row.value, filter)
}

/// Case-insensitive substring test; allocation-free for ASCII needles.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() {
        let needle = needle.as_bytes();
        haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    } else {
        haystack.to_lowercase().contains(&needle.to_lowercase())
    }
}

/// A value: a JSON object or array in a collapsible section (a one-line preview when
/// collapsed, indented selectable monospace when open); other text as it is, wrapped.
/// `id_salt` keeps the section's open state apart from other values of the same view.
pub fn value_ui(ui: &mut Ui, id_salt: impl Hash, value: &str) {
    if let Some(json) = cached_json(ui, value) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        id_salt.hash(&mut hasher);
        egui::CollapsingHeader::new(RichText::new(&json.preview).monospace())
            .id_salt(("inspector_value", hasher.finish()))
            .show(ui, |ui| {
                ui.add(
                    Label::new(RichText::new(&json.pretty).monospace())
                        .wrap()
                        .selectable(true),
                );
            });
    } else if value.is_empty() {
        ui.weak("(empty)");
    } else {
        ui.add(Label::new(value).wrap().selectable(true));
    }
}

/// A JSON value laid out for display.
#[derive(Debug, Clone, PartialEq, Eq)]
struct JsonView {
    /// One line, cut at [`PREVIEW_CHARS`] characters (`{"a":1,…}`).
    preview: String,
    /// Indented, one member per line.
    pretty: String,
}

/// The layout of `text` if it is a JSON object or array.
fn json_view(text: &str) -> Option<JsonView> {
    let close = match text.trim_start().chars().next() {
        Some('{') => '}',
        Some('[') => ']',
        _ => return None,
    };
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let compact = relayout(text, false);
    let preview = match compact.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…{close}", &compact[..cut]),
        None => compact,
    };
    Some(JsonView {
        preview,
        pretty: relayout(text, true),
    })
}

/// The JSON view of `text` from egui's frame cache (parsed once while it stays on screen).
fn cached_json(ui: &Ui, text: &str) -> Option<Arc<JsonView>> {
    // Only text that may be JSON goes through the cache.
    if !text.trim_start().starts_with(['{', '[']) {
        return None;
    }
    ui.ctx()
        .memory_mut(|m| m.caches.cache::<JsonCache>().get(text).clone())
}

#[derive(Default)]
struct JsonLayouter;

impl ComputerMut<&str, Option<Arc<JsonView>>> for JsonLayouter {
    fn compute(&mut self, text: &str) -> Option<Arc<JsonView>> {
        json_view(text).map(Arc::new)
    }
}

type JsonCache = FrameCache<Option<Arc<JsonView>>, JsonLayouter>;

/// Lays out valid JSON text again: without whitespace, or (`pretty`) one member per line,
/// two spaces per level and a space after each colon. Strings and numbers are copied as they
/// are, so key order and number forms survive.
fn relayout(text: &str, pretty: bool) -> String {
    let mut out = String::with_capacity(text.len() * if pretty { 2 } else { 1 });
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        if pretty {
            out.push('\n');
            out.extend(std::iter::repeat_n("  ", depth));
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                if let Some(close) = chars.next_if(|c| matches!(c, '}' | ']')) {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(if pretty { ": " } else { ":" }),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// History results merged into rows: one per distinct timestamp (newest first), one
/// column per key (in the map's order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryTable {
    keys: Vec<String>,
    /// Distinct timestamps, newest first.
    times: Vec<i64>,
    /// Row-major: `cells[row * keys.len() + column]`; `None` where the key has no value then.
    cells: Vec<Option<Box<str>>>,
}

impl HistoryTable {
    /// Merges the fetched points of each key. v1 deletion markers (`[0,""]`) are left out;
    /// a `null` value leaves its cell empty.
    #[must_use]
    pub fn new(data: &BTreeMap<String, Vec<TsPoint>>) -> Self {
        let keys: Vec<String> = data.keys().cloned().collect();
        let points = || {
            data.values()
                .enumerate()
                .flat_map(|(col, ps)| ps.iter().map(move |p| (col, p)))
        };
        let mut times: Vec<i64> = points()
            .filter(|(_, p)| !p.is_deleted())
            .map(|(_, p)| p.ts())
            .collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        times.dedup();
        let mut cells = vec![None; times.len() * keys.len()];
        for (col, point) in points().filter(|(_, p)| !p.is_deleted()) {
            let Ok(row) = times.binary_search_by(|probe| point.ts().cmp(probe)) else {
                continue;
            };
            if let Some(cell) = cells.get_mut(row * keys.len() + col) {
                *cell = point.value().map(|v| Box::from(v.as_str()));
            }
        }
        Self { keys, times, cells }
    }

    /// The number of rows (distinct timestamps).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.times.len()
    }

    /// The time of `row` (epoch ms) and its cells, one per key.
    fn row(&self, row: usize) -> Option<(i64, &[Option<Box<str>>])> {
        let n = self.keys.len();
        let time = *self.times.get(row)?;
        Some((time, self.cells.get(row * n..(row + 1) * n)?))
    }

    /// Draws the table: a header (time in `zone`, then the keys) over the rows in view.
    pub fn ui(&self, ui: &mut Ui, zone: &Zone) {
        if self.times.is_empty() {
            ui.weak("No history in this range");
            return;
        }
        let row_height = ui.spacing().interact_size.y;
        let key_count = f32::from(u16::try_from(self.keys.len()).unwrap_or(u16::MAX)).max(1.0);
        let spacing = ui.spacing().item_spacing.x;
        let key_width =
            ((ui.available_width() - TIME_WIDTH) / key_count - spacing).max(MIN_KEY_WIDTH);
        ScrollArea::horizontal()
            .id_salt("inspector_history_across")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    cell_ui(
                        ui,
                        TIME_WIDTH,
                        row_height,
                        RichText::new(format!("Time ({})", zone.label())).strong(),
                    );
                    for key in &self.keys {
                        cell_ui(ui, key_width, row_height, RichText::new(key).strong());
                    }
                });
                ui.separator();
                ScrollArea::vertical()
                    .id_salt("inspector_history_rows")
                    .auto_shrink([false, false])
                    .show_rows(ui, row_height, self.rows(), |ui, range| {
                        for (time, cells) in range.filter_map(|r| self.row(r)) {
                            ui.horizontal(|ui| {
                                cell_ui(
                                    ui,
                                    TIME_WIDTH,
                                    row_height,
                                    RichText::new(zone.format(time)).monospace(),
                                );
                                for cell in cells {
                                    cell_ui(
                                        ui,
                                        key_width,
                                        row_height,
                                        cell.as_deref().unwrap_or_default().into(),
                                    );
                                }
                            });
                        }
                    });
            });
    }
}

/// One cell of a history row: `text` on one line, cut to `width` (all of it on hover).
fn cell_ui(ui: &mut Ui, width: f32, height: f32, text: RichText) {
    ui.allocate_ui_with_layout(
        vec2(width, height),
        Layout::left_to_right(Align::Center),
        |ui| {
            ui.set_width(width);
            ui.add(Label::new(text).truncate());
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TbValue;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable as _;

    fn point(ts: i64, value: &str) -> TsPoint {
        TsPoint(ts, Some(TbValue::new(value)))
    }

    fn texts(table: &HistoryTable, row: usize) -> (i64, Vec<&str>) {
        let (time, cells) = table.row(row).expect("the row");
        (
            time,
            cells.iter().map(|c| c.as_deref().unwrap_or("")).collect(),
        )
    }

    #[test]
    fn json_objects_and_arrays_are_json_and_other_text_is_not() {
        assert!(json_view(r#"{"a":1}"#).is_some());
        assert!(json_view(" [1, 2] ").is_some());
        assert!(json_view("[]").is_some());
        for text in [
            "42",
            "true",
            "\"quoted\"",
            "null",
            "hello",
            "{not json",
            "[1,",
            "",
        ] {
            assert!(json_view(text).is_none(), "{text}");
        }
    }

    #[test]
    fn a_short_json_value_previews_whole_and_on_one_line() {
        let view = json_view("{ \"a\": 1,\n  \"b\": [true, \"x y\"] }").expect("JSON");
        assert_eq!(view.preview, r#"{"a":1,"b":[true,"x y"]}"#);
    }

    #[test]
    fn a_long_json_preview_is_cut_at_sixty_characters_and_closed() {
        let long = format!(r#"{{"a":1,"text":"{}"}}"#, "é".repeat(100));
        let view = json_view(&long).expect("JSON");
        assert_eq!(view.preview.chars().count(), PREVIEW_CHARS + 2);
        assert!(view.preview.starts_with(r#"{"a":1,"text":"éé"#));
        assert!(view.preview.ends_with("é…}"), "{}", view.preview);
        let array = json_view(&format!("[{}]", vec!["1"; 100].join(","))).expect("JSON");
        assert!(array.preview.ends_with("…]"), "{}", array.preview);
    }

    #[test]
    fn pretty_json_is_indented_and_keeps_key_order_number_forms_and_strings() {
        let view =
            json_view(r#"{"z":1.0E7,"a":{"s":"a, b: {c}","e":[]},"l":[1,2]}"#).expect("JSON");
        let expected = "{\n  \"z\": 1.0E7,\n  \"a\": {\n    \"s\": \"a, b: {c}\",\n    \"e\": []\n  },\n  \"l\": [\n    1,\n    2\n  ]\n}";
        assert_eq!(view.pretty, expected);
        let escaped = json_view(r#"["q\"uote, {", 2]"#).expect("JSON");
        assert_eq!(escaped.pretty, "[\n  \"q\\\"uote, {\",\n  2\n]");
    }

    #[test]
    fn a_value_is_highlighted_for_a_second_and_a_half_after_it_changed() {
        let changed_at = |key: &str| (key == "temperature").then_some(10_000);
        let mut opts = KeysTableOptions::new(10_100, NO_TELEMETRY);
        assert!(
            row_highlight(&opts, "temperature").abs() < f32::EPSILON,
            "no source, no highlight"
        );
        opts.changed_at = Some(&changed_at);
        assert!(row_highlight(&opts, "temperature") > 0.5);
        assert!(row_highlight(&opts, "humidity").abs() < f32::EPSILON);
        opts.now_ms = 11_400;
        assert!(row_highlight(&opts, "temperature") > 0.0);
        opts.now_ms = 11_500;
        assert!(row_highlight(&opts, "temperature").abs() < f32::EPSILON);
    }

    #[test]
    fn the_filter_matches_key_or_value_in_any_letter_case() {
        let row = KeyRow {
            key: "Temperature",
            ts: 1,
            value: "Überhitzt",
        };
        for filter in ["", "temp", "TURE", "über", "HITZT"] {
            assert!(matches_filter(&row, filter), "{filter}");
        }
        for filter in ["humidity", "temperatures", "ü b"] {
            assert!(!matches_filter(&row, filter), "{filter}");
        }
    }

    #[test]
    fn history_rows_are_distinct_timestamps_newest_first_with_gaps_empty_and_keys_in_order() {
        let mut data = BTreeMap::new();
        data.insert(
            "temperature".to_owned(),
            vec![point(3_000, "21.5"), point(1_000, "20.0")],
        );
        data.insert(
            "humidity".to_owned(),
            vec![point(1_000, "40"), point(2_000, "41")],
        );
        data.insert("status".to_owned(), vec![TsPoint(3_000, None)]);
        let table = HistoryTable::new(&data);
        assert_eq!(table.keys, ["humidity", "status", "temperature"]);
        assert_eq!(table.rows(), 3);
        assert_eq!(texts(&table, 0), (3_000, vec!["", "", "21.5"]));
        assert_eq!(texts(&table, 1), (2_000, vec!["41", "", ""]));
        assert_eq!(texts(&table, 2), (1_000, vec!["40", "", "20.0"]));
        assert!(table.row(3).is_none());
    }

    #[test]
    fn history_leaves_out_deletion_markers_and_empty_results() {
        let mut data = BTreeMap::new();
        data.insert("temperature".to_owned(), vec![point(0, ""), point(5, "1")]);
        let table = HistoryTable::new(&data);
        assert_eq!(table.rows(), 1);
        assert_eq!(texts(&table, 0), (5, vec!["1"]));
        assert_eq!(HistoryTable::new(&BTreeMap::new()).rows(), 0);
    }

    /// What the table test draws and what the table returned.
    struct Table {
        rows: Vec<(String, i64, String)>,
        filter: String,
        plotted: BTreeSet<String>,
        actions: Vec<KeyAction>,
    }

    fn table_harness<'a>() -> Harness<'a, Table> {
        let state = Table {
            rows: vec![
                (
                    "config".to_owned(),
                    1_000,
                    r#"{"mode":"eco","limits":[1,2]}"#.to_owned(),
                ),
                ("temperature".to_owned(), 2_000, "21.5".to_owned()),
            ],
            filter: String::new(),
            plotted: BTreeSet::new(),
            actions: Vec::new(),
        };
        let mut h = Harness::builder()
            .with_size(vec2(900.0, 400.0))
            .build_ui_state(
                |ui, t: &mut Table| {
                    let rows: Vec<KeyRow<'_>> = t
                        .rows
                        .iter()
                        .map(|(key, ts, value)| KeyRow {
                            key,
                            ts: *ts,
                            value,
                        })
                        .collect();
                    let mut opts = KeysTableOptions::new(5_000, NO_TELEMETRY);
                    opts.filter = &t.filter;
                    opts.ticks = Some(&t.plotted);
                    if let Some(action) = keys_table_ui(ui, "telemetry", &rows, &opts) {
                        t.actions.push(action);
                    }
                },
                state,
            );
        h.run();
        h
    }

    #[test]
    fn a_keys_table_copies_values_toggles_plots_and_filters_rows() {
        let mut h = table_harness();
        // The JSON value is a collapsed one-line preview; the plain one is as sent.
        h.get_by_label(r#"{"mode":"eco","limits":[1,2]}"#);
        h.get_by_label("21.5");
        h.get_by_label("3 s ago");

        h.get_all_by_label("Copy")
            .nth(1)
            .expect("a second Copy")
            .click();
        h.run();
        h.get_by_label("Plot temperature").click();
        h.run();
        assert_eq!(
            h.state().actions,
            [
                KeyAction::Copy("21.5".to_owned()),
                KeyAction::TogglePlot("temperature".to_owned()),
            ]
        );

        h.get_by_label(r#"{"mode":"eco","limits":[1,2]}"#).click();
        h.run();
        h.get_by_label("{\n  \"mode\": \"eco\",\n  \"limits\": [\n    1,\n    2\n  ]\n}");

        h.state_mut().filter = "TEMP".to_owned();
        h.run();
        assert!(h.query_by_label("config").is_none());
        assert_eq!(h.get_all_by_label("Copy").count(), 1);
        h.get_by_label("temperature");

        h.state_mut().filter = "nothing".to_owned();
        h.run();
        h.get_by_label("No key or value contains \"nothing\"");
        h.state_mut().rows.clear();
        h.run();
        h.get_by_label(NO_TELEMETRY);
    }

    #[test]
    fn a_long_history_lays_out_only_the_rows_in_view() {
        let newest = 1_700_000_000_000;
        let points: Vec<TsPoint> = (0..100_000)
            .map(|i| point(newest - i * 1_000, &i.to_string()))
            .collect();
        let table = HistoryTable::new(&BTreeMap::from([("temperature".to_owned(), points)]));
        assert_eq!(table.rows(), 100_000);
        let zone = Zone::utc();
        let mut h = Harness::builder()
            .with_size(vec2(600.0, 300.0))
            .build_ui(|ui| table.ui(ui, &zone));
        h.run();
        h.get_by_label("Time (UTC)");
        h.get_by_label("2023-11-14 22:13:20.000");
        h.get_by_label("1");
        assert!(h.query_by_label("50000").is_none());
        let drawn = h.get_all_by_role(egui::accesskit::Role::Label).count();
        assert!(drawn < 100, "{drawn} labels for a 300-point-high view");
    }
}

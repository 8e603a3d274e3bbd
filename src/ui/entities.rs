//! The live entity table: one row per entity of the page, the query's columns in the
//! query's order (entity fields, attributes, time series), updated in place as values arrive.
//!
//! * **Virtual scrolling.** Only the rows in view are laid out: per-frame work and
//!   allocation follow the visible rows, never the page (10,000 rows cost what 40 do).
//!   Column titles and offsets are cached until the columns or a width change.
//! * **Live values.** A value that arrived after the page was first shown is highlighted,
//!   fading over [`HIGHLIGHT_MS`]. A repaint is requested only while a visible highlight
//!   fades (every [`FADE_REPAINT_MS`]) and once when a visible value turns stale, so an idle
//!   table costs no CPU. A value whose `ts` is new counts as arrived even with the same text
//!   (a heartbeat shows).
//! * **Age.** Hovering a value shows its age and its timestamp (UTC). Time series values
//!   older than [`STALE_AFTER_MS`] are drawn faded ([`theme::STALE`]); attributes and entity
//!   fields are configuration and never fade.
//! * **Sort and paging.** A header click asks for a server-side sort ([`TableAction::Sort`],
//!   ascending first, then toggling); the sorted column shows a drawn triangle and its
//!   accessibility node carries the direction. The paging bar emits [`TableAction::Page`] and
//!   [`TableAction::PageSize`]. Column widths are dragged at the header's right edges.
//! * **Rows.** An alarm severity badge (a drawn shape, its word on hover), and a context menu
//!   (right click): plot the row's time series, open in the Inspector, show alarms, copy the
//!   entity id. A double click opens the Inspector.
//! * **Accessibility.** Table → rows (named by the entity) → cells (named by the text shown);
//!   column headers and every control are named.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use egui::accesskit::{self, Role};
use egui::text::{LayoutJob, TextFormat, TextWrapping};
use egui::{
    Button, Color32, CursorIcon, FontId, Galley, Pos2, Rect, Response, Sense, Shape, Stroke,
    TextStyle, Ui, UiBuilder, WidgetInfo, pos2, vec2,
};

use super::{severity_word, theme, thousands};
use crate::protocol::{
    AlarmSeverity, EntityDataSortOrder, EntityId, EntityKey, EntityKeyType, SortDirection,
};
use crate::store::entities::{EntityPage, EntityRow, LatestValue};

/// A time series value older than this (by its own `ts`) is drawn faded as stale.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;

/// How long a value that just arrived stays highlighted (fading out).
pub const HIGHLIGHT_MS: i64 = 1_500;

/// Repaint interval while a highlight fades (20 frames per second: smooth enough for a
/// fade, and cheap under software rendering).
pub const FADE_REPAINT_MS: i64 = 50;

/// The page sizes the paging bar offers.
pub const PAGE_SIZES: [i32; 5] = [20, 50, 100, 500, 1000];

/// The page size assumed until [`EntitiesPanel::set_paging`] says otherwise.
pub const DEFAULT_PAGE_SIZE: i32 = 50;

/// Width of the alarm badge column.
const BADGE_WIDTH: f32 = 24.0;
/// No column is dragged narrower than this.
const MIN_COLUMN_WIDTH: f32 = 40.0;
/// Horizontal padding inside a cell.
const CELL_PAD: f32 = 6.0;
/// Vertical padding of a row around its text.
const ROW_PAD: f32 = 6.0;
/// Width of the grip at a header's right edge.
const RESIZE_GRIP: f32 = 6.0;
/// Room kept for the sort triangle.
const SORT_MARK: f32 = 12.0;

/// What the user asked of the table; the app applies it after drawing.
#[derive(Debug, Clone, PartialEq)]
pub enum TableAction {
    /// A header was clicked: sort server-side by this key (toggling the direction when it is
    /// the current sort key). The app should go back to page 0.
    Sort(EntityDataSortOrder),
    /// Go to this page (0-based).
    Page(i32),
    /// Rows per page (the app should go back to page 0).
    PageSize(i32),
    /// Context menu "Plot …": the row's time series keys, in column order.
    Plot {
        /// The row's entity.
        entity: EntityId,
        /// Time series keys to plot.
        keys: Vec<String>,
    },
    /// Context menu "Open in Inspector", or a double click on the row.
    Inspect(EntityId),
    /// Context menu "Show alarms".
    ShowAlarms(EntityId),
    /// Context menu "Copy entity id" (the app puts the id on the clipboard).
    CopyId(EntityId),
}

/// The Entities table. Holds only UI state: paging as last known, column widths, the
/// column layout cache and which page it is showing.
#[derive(Debug)]
pub struct EntitiesPanel {
    /// The page shown (0-based), as last set or asked for.
    page: i32,
    /// Rows per page, as last set or asked for.
    page_size: i32,
    /// Widths the user dragged, by column key.
    widths: HashMap<EntityKey, f32>,
    layout: ColumnLayout,
    /// The page being shown and since when: values that arrived later are highlighted.
    seen: Option<Seen>,
    /// Scroll back to the first row on the next frame (a new page, sort or size).
    scroll_to_top: bool,
    /// The entities of the rows drawn last frame (their alarm status is watched).
    visible: Vec<EntityId>,
    /// Entities `ALARM_STATUS` reports an active alarm for (a badge even before the
    /// alarm list knows its severity).
    active: std::collections::HashSet<EntityId>,
    /// The shortest wait between the repaints the table asks for (the frame-rate cap).
    min_wake_ms: i64,
}

impl Default for EntitiesPanel {
    fn default() -> Self {
        Self {
            page: 0,
            page_size: DEFAULT_PAGE_SIZE,
            widths: HashMap::new(),
            layout: ColumnLayout::default(),
            seen: None,
            scroll_to_top: false,
            visible: Vec::new(),
            active: std::collections::HashSet::new(),
            min_wake_ms: FADE_REPAINT_MS,
        }
    }
}

impl EntitiesPanel {
    /// Caps the repaints the table asks for itself (fading highlights, values turning stale)
    /// at `frames_per_second`, and at most [`FADE_REPAINT_MS`] apart.
    pub fn set_frame_rate(&mut self, frames_per_second: u32) {
        let interval = 1_000 / i64::from(frames_per_second.max(1));
        self.min_wake_ms = interval.max(FADE_REPAINT_MS);
    }

    /// Tells the panel the page number (0-based) and page size of the running query, for
    /// "page 3 of 12" and the page size choice. The panel also tracks what it asked for
    /// (a `Sort` or `PageSize` goes back to page 0), so calling this every frame with the
    /// query's page link keeps both in step.
    pub fn set_paging(&mut self, page: i32, page_size: i32) {
        self.page = page.max(0);
        self.page_size = page_size.max(1);
    }

    /// The entities of the rows drawn in the last frame, top to bottom.
    #[must_use]
    pub fn visible_entities(&self) -> &[EntityId] {
        &self.visible
    }

    /// Entities with an active alarm according to their `ALARM_STATUS` subscriptions: a
    /// row without a known severity still gets an "active alarm" badge.
    pub fn set_active_alarms(&mut self, active: std::collections::HashSet<EntityId>) {
        self.active = active;
    }

    /// The page shown (0-based) as the panel knows it.
    #[must_use]
    pub fn page(&self) -> i32 {
        self.page
    }

    /// Rows per page as the panel knows it.
    #[must_use]
    pub fn page_size(&self) -> i32 {
        self.page_size
    }

    /// Draws the table. `columns` are the query's columns in order (entity fields then latest
    /// keys, from the `EntityDataQuery` the app ran); `alarms` the highest active alarm
    /// severity per entity (may be empty); `sort` the query's sort order; `now_ms` the wall
    /// clock (epoch ms, the clock `Store::apply` was given).
    pub fn show(
        &mut self,
        ui: &mut Ui,
        page: Option<&EntityPage>,
        columns: &[EntityKey],
        alarms: &HashMap<EntityId, AlarmSeverity>,
        sort: Option<&EntityDataSortOrder>,
        now_ms: i64,
    ) -> Option<TableAction> {
        let Some(page) = page.filter(|p| p.has_data()) else {
            self.seen = None;
            // No spinner: it would repaint every frame for as long as the server is silent.
            ui.label("waiting for the first page");
            return None;
        };
        self.notice_page(page, now_ms);
        self.layout.update(columns, &self.widths);

        let mut action = self.paging_ui(ui, page);
        status_ui(ui, page);
        let active = std::mem::take(&mut self.active);
        if page.is_empty() {
            ui.label("no entities match the query");
        } else {
            let mut frame = Frame {
                now_ms,
                since_ms: self.seen.as_ref().map_or(now_ms, |s| s.since_ms),
                font: TextStyle::Body.resolve(ui.style()),
                row_height: ui.text_style_height(&TextStyle::Body) + ROW_PAD,
                alarms,
                active: &active,
                wake_in_ms: None,
            };
            self.visible.clear();
            if let Some(table_action) = self.table_ui(ui, page, sort, &mut frame) {
                action = Some(table_action);
            }
            if let Some(ms) = frame.wake_in_ms {
                let ms = u64::try_from(ms.max(self.min_wake_ms)).unwrap_or(1);
                ui.ctx().request_repaint_after(Duration::from_millis(ms));
            }
        }
        self.active = active;
        self.after(action.as_ref());
        action
    }

    /// Notes a page other than the one shown (new rows, another query or page): values
    /// already in it are not highlighted, and the table scrolls to its first row when its
    /// first entity changed.
    fn notice_page(&mut self, page: &EntityPage, now_ms: i64) {
        if self.seen.as_ref().is_some_and(|s| s.is(page)) {
            return;
        }
        let seen = Seen::of(page, now_ms);
        if self
            .seen
            .as_ref()
            .is_some_and(|old| old.first != seen.first)
        {
            self.scroll_to_top = true;
        }
        self.seen = Some(seen);
    }

    /// Keeps the paging state in step with what the panel asked for.
    fn after(&mut self, action: Option<&TableAction>) {
        match action {
            Some(TableAction::Page(n)) => {
                self.page = *n;
                self.scroll_to_top = true;
            }
            Some(TableAction::PageSize(n)) => {
                self.page_size = *n;
                self.page = 0;
                self.scroll_to_top = true;
            }
            Some(TableAction::Sort(_)) => {
                self.page = 0;
                self.scroll_to_top = true;
            }
            _ => {}
        }
    }

    /// "312 entities", first/previous/"page 3 of 12"/next/last, the page size.
    fn paging_ui(&mut self, ui: &mut Ui, page: &EntityPage) -> Option<TableAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            let total = page.total_elements();
            let noun = if total == 1 { "entity" } else { "entities" };
            ui.label(format!("{} {noun}", thousands(total)));
            ui.separator();
            let pages = page.total_pages().max(1);
            let last = pages - 1;
            let current = self.page.clamp(0, last);
            let mut page_buttons = |ui: &mut egui::Ui, buttons: [(&str, bool, i32, &str); 2]| {
                for (text, enabled, to, hint) in buttons {
                    if ui
                        .add_enabled(enabled, Button::new(text))
                        .on_hover_text(hint)
                        .clicked()
                    {
                        action = Some(TableAction::Page(to));
                    }
                }
            };
            page_buttons(
                ui,
                [
                    ("First", current > 0, 0, "first page"),
                    ("Previous", current > 0, current - 1, "previous page"),
                ],
            );
            ui.label(format!("page {} of {pages}", current + 1));
            page_buttons(
                ui,
                [
                    ("Next", current < last, current + 1, "next page"),
                    ("Last", current < last, last, "last page"),
                ],
            );
            ui.separator();
            if let Some(size) = self.page_size_ui(ui) {
                action = Some(TableAction::PageSize(size));
            }
        });
        action
    }

    /// The page size choice; returns a newly chosen size.
    fn page_size_ui(&self, ui: &mut Ui) -> Option<i32> {
        let label = ui.label("Page size");
        let mut size = self.page_size;
        egui::ComboBox::from_id_salt("entity_table_page_size")
            .selected_text(size.to_string())
            .width(64.0)
            .show_ui(ui, |ui| {
                for option in PAGE_SIZES {
                    ui.selectable_value(&mut size, option, option.to_string());
                }
                // A size from a saved or imported query stays choosable.
                if !PAGE_SIZES.contains(&self.page_size) {
                    ui.selectable_value(&mut size, self.page_size, self.page_size.to_string());
                }
            })
            .response
            .labelled_by(label.id);
        (size != self.page_size).then_some(size)
    }

    /// The scrolled table: a sticky header over the visible rows.
    fn table_ui(
        &mut self,
        ui: &mut Ui,
        page: &EntityPage,
        sort: Option<&EntityDataSortOrder>,
        frame: &mut Frame<'_>,
    ) -> Option<TableAction> {
        let row_h = frame.row_height;
        let rows = page.len();
        let mut area = egui::ScrollArea::both()
            .id_salt("entity_table")
            .auto_shrink([false, false]);
        if std::mem::take(&mut self.scroll_to_top) {
            area = area.vertical_scroll_offset(0.0);
        }
        let layout = &self.layout;
        let mut action = None;
        let mut resized = None;
        let mut visible = std::mem::take(&mut self.visible);
        let table = UiBuilder::new()
            .accessibility_role(Role::Table)
            .accessibility_label("Entities");
        let table = ui.scope_builder(table, |ui| {
            area.show_viewport(ui, |ui, viewport| {
                let origin = ui.max_rect().min;
                ui.set_min_size(vec2(layout.total, row_h * (as_f32(rows) + 1.0)));
                for at in visible_rows(viewport.min.y, viewport.max.y, row_h, rows) {
                    let Some(row) = page.row_at(at) else {
                        continue;
                    };
                    visible.push(row.entity_id().clone());
                    let top = origin.y + row_h * (as_f32(at) + 1.0);
                    let rect = Rect::from_min_size(pos2(origin.x, top), vec2(layout.total, row_h));
                    if let Some(row_action) = row_ui(ui, layout, &row, at, rect, frame) {
                        action = Some(row_action);
                    }
                }
                // Drawn last, at the top of the view: over the rows scrolled under it.
                let header = Rect::from_min_size(
                    pos2(origin.x, origin.y + viewport.min.y),
                    vec2(layout.total, row_h),
                );
                if let Some(sort_action) = header_ui(ui, layout, sort, header, &mut resized) {
                    action = Some(sort_action);
                }
            });
        });
        self.visible = visible;
        let table_rect = table.response.rect;
        ui.ctx().accesskit_node_builder(table.response.id, |node| {
            node.set_bounds(bounds(table_rect));
        });
        if let Some((key, width)) = resized {
            self.widths.insert(key, width);
            self.layout.valid = false;
        }
        action
    }
}

/// The page being shown: enough to tell another page (another query, page or sort) from
/// the same page with new values, in O(1).
#[derive(Debug)]
struct Seen {
    len: usize,
    total: i64,
    first: Option<EntityId>,
    last: Option<EntityId>,
    /// When the panel first showed it (epoch ms).
    since_ms: i64,
}

impl Seen {
    fn of(page: &EntityPage, now_ms: i64) -> Self {
        Self {
            len: page.len(),
            total: page.total_elements(),
            first: first_id(page).cloned(),
            last: last_id(page).cloned(),
            since_ms: now_ms,
        }
    }

    fn is(&self, page: &EntityPage) -> bool {
        self.len == page.len()
            && self.total == page.total_elements()
            && self.first.as_ref() == first_id(page)
            && self.last.as_ref() == last_id(page)
    }
}

fn first_id(page: &EntityPage) -> Option<&EntityId> {
    page.row_at(0).map(|r| r.entity_id())
}

fn last_id(page: &EntityPage) -> Option<&EntityId> {
    page.row_at(page.len().checked_sub(1)?)
        .map(|r| r.entity_id())
}

/// Column titles and positions, rebuilt only when the columns or a width change.
#[derive(Debug, Default)]
struct ColumnLayout {
    keys: Vec<EntityKey>,
    titles: Vec<String>,
    /// Left edge of each column from the table's left (the badge column comes first).
    lefts: Vec<f32>,
    widths: Vec<f32>,
    /// Width of the whole table.
    total: f32,
    valid: bool,
}

impl ColumnLayout {
    fn update(&mut self, columns: &[EntityKey], widths: &HashMap<EntityKey, f32>) {
        if self.valid && self.keys == columns {
            return;
        }
        self.keys = columns.to_vec();
        self.titles = column_titles(columns);
        self.widths = columns
            .iter()
            .map(|k| widths.get(k).copied().unwrap_or_else(|| default_width(k)))
            .collect();
        self.lefts.clear();
        let mut x = BADGE_WIDTH;
        for width in &self.widths {
            self.lefts.push(x);
            x += width;
        }
        self.total = x;
        self.valid = true;
    }

    /// Column `col`'s part of a row (or header) rect.
    fn cell_rect(&self, col: usize, row: Rect) -> Option<Rect> {
        let left = row.left() + self.lefts.get(col)?;
        let width = self.widths.get(col)?;
        Some(Rect::from_min_size(
            pos2(left, row.top()),
            vec2(*width, row.height()),
        ))
    }
}

/// A column's width until the user drags it.
fn default_width(key: &EntityKey) -> f32 {
    match (&key.key_type, key.key.as_str()) {
        (EntityKeyType::EntityField, "name" | "label") => 180.0,
        (EntityKeyType::EntityField, "createdTime") => 170.0,
        (EntityKeyType::EntityField, _) => 120.0,
        _ => 110.0,
    }
}

/// The titles of the columns: the key, with its kind when two columns share a name.
fn column_titles(columns: &[EntityKey]) -> Vec<String> {
    columns
        .iter()
        .map(|key| {
            let shared = columns.iter().filter(|other| other.key == key.key).count() > 1;
            if shared {
                format!("{} ({})", key.key, kind_word(&key.key_type))
            } else {
                key.key.clone()
            }
        })
        .collect()
}

/// What a key type is called in the table.
#[must_use]
pub fn kind_word(key_type: &EntityKeyType) -> &str {
    match key_type {
        EntityKeyType::EntityField => "entity field",
        EntityKeyType::Attribute => "attribute",
        EntityKeyType::ClientAttribute => "client attribute",
        EntityKeyType::SharedAttribute => "shared attribute",
        EntityKeyType::ServerAttribute => "server attribute",
        EntityKeyType::TimeSeries => "time series",
        EntityKeyType::AlarmField => "alarm field",
        EntityKeyType::Unknown(name) => name,
    }
}

/// Per-frame drawing context of the rows.
struct Frame<'a> {
    now_ms: i64,
    /// Values received after this were not in the page when it was first shown.
    since_ms: i64,
    font: FontId,
    row_height: f32,
    alarms: &'a HashMap<EntityId, AlarmSeverity>,
    active: &'a std::collections::HashSet<EntityId>,
    /// The earliest repaint something visible needs (ms from now).
    wake_in_ms: Option<i64>,
}

impl Frame<'_> {
    fn wake_in(&mut self, ms: i64) {
        self.wake_in_ms = Some(self.wake_in_ms.map_or(ms, |w| w.min(ms)));
    }
}

/// The rows that intersect the view (`top`..`bottom` in content coordinates, the header
/// being the first `row_h`).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 0..=rows before converting"
)]
fn visible_rows(top: f32, bottom: f32, row_h: f32, rows: usize) -> Range<usize> {
    if row_h <= 0.0 || rows == 0 {
        return 0..0;
    }
    let max = as_f32(rows);
    // Row `i` spans (i + 1) * row_h ..= (i + 2) * row_h; the sticky header covers the
    // first row_h of the view, so rows under it are skipped too.
    let first = (top / row_h).floor().clamp(0.0, max) as usize;
    let end = ((bottom / row_h).ceil() - 1.0).clamp(0.0, max) as usize;
    first..end.max(first)
}

/// An accessibility node's bounds.
fn bounds(rect: Rect) -> accesskit::Rect {
    accesskit::Rect {
        x0: rect.min.x.into(),
        y0: rect.min.y.into(),
        x1: rect.max.x.into(),
        y1: rect.max.y.into(),
    }
}

#[allow(clippy::cast_precision_loss, reason = "row counts are far below 2^24")]
fn as_f32(n: usize) -> f32 {
    n as f32
}

/// One row: background, alarm badge, cells, context menu. Returns what the user chose.
fn row_ui(
    ui: &mut Ui,
    layout: &ColumnLayout,
    row: &EntityRow<'_>,
    at: usize,
    rect: Rect,
    frame: &mut Frame<'_>,
) -> Option<TableAction> {
    let entity = row.entity_id();
    let builder = UiBuilder::new()
        .id_salt(("entity_row", entity))
        .max_rect(rect)
        .sense(Sense::click())
        .accessibility_role(Role::Row);
    let response = ui
        .scope_builder(builder, |ui| {
            ui.set_min_size(rect.size());
            let visuals = ui.visuals();
            if ui.response().hovered() {
                let hover = visuals.widgets.hovered.weak_bg_fill.gamma_multiply(0.6);
                ui.painter().rect_filled(rect, 0.0, hover);
            } else if at % 2 == 1 {
                ui.painter().rect_filled(rect, 0.0, visuals.faint_bg_color);
            }
            if let Some(severity) = frame.alarms.get(entity) {
                badge_ui(ui, rect, severity);
            } else if frame.active.contains(entity) {
                active_badge_ui(ui, rect);
            }
            for (col, key) in layout.keys.iter().enumerate() {
                if let Some(cell) = layout.cell_rect(col, rect) {
                    cell_ui(ui, col, key, row, cell, frame);
                }
            }
        })
        .response;
    // Only built when a screen reader (or a test) reads the tree. A `Ui`'s node gets no
    // bounds of its own.
    ui.ctx().accesskit_node_builder(response.id, |node| {
        node.set_label(row.display_name());
        node.set_bounds(bounds(rect));
    });
    if response.double_clicked() {
        return Some(TableAction::Inspect(entity.clone()));
    }
    row_menu(&response, row, layout)
}

/// The row's context menu.
fn row_menu(
    response: &Response,
    row: &EntityRow<'_>,
    layout: &ColumnLayout,
) -> Option<TableAction> {
    let mut action = None;
    response.context_menu(|ui| {
        let entity = row.entity_id();
        let keys = plot_keys(row, layout);
        let plot = plot_text(&keys);
        if ui
            .add_enabled(!keys.is_empty(), Button::new(plot))
            .clicked()
        {
            action = Some(TableAction::Plot {
                entity: entity.clone(),
                keys,
            });
            ui.close();
        }
        if ui.button("Open in Inspector").clicked() {
            action = Some(TableAction::Inspect(entity.clone()));
            ui.close();
        }
        if ui.button("Show alarms").clicked() {
            action = Some(TableAction::ShowAlarms(entity.clone()));
            ui.close();
        }
        ui.separator();
        if ui.button("Copy entity id").clicked() {
            action = Some(TableAction::CopyId(entity.clone()));
            ui.close();
        }
    });
    action
}

/// The time series keys "Plot" offers for a row: the time series columns it holds a value
/// of, in column order; all time series columns when it holds none yet.
fn plot_keys(row: &EntityRow<'_>, layout: &ColumnLayout) -> Vec<String> {
    let series = || {
        layout
            .keys
            .iter()
            .filter(|k| k.key_type == EntityKeyType::TimeSeries)
    };
    let held: Vec<String> = series()
        .filter(|k| {
            row.latest_value(&k.key_type, &k.key)
                .is_some_and(LatestValue::has_value)
        })
        .map(|k| k.key.clone())
        .collect();
    if held.is_empty() {
        series().map(|k| k.key.clone()).collect()
    } else {
        held
    }
}

/// "Plot temperature, humidity", "Plot a, b, c and 2 more".
fn plot_text(keys: &[String]) -> String {
    const LISTED: usize = 3;
    match keys.len() {
        0 => "Plot (no time series)".to_owned(),
        n if n <= LISTED => format!("Plot {}", keys.join(", ")),
        n => format!(
            "Plot {} and {} more",
            keys.get(..LISTED).unwrap_or_default().join(", "),
            n - LISTED
        ),
    }
}

/// One value cell: highlight, text (faded when stale, numbers right-aligned), hover.
fn cell_ui(
    ui: &Ui,
    col: usize,
    key: &EntityKey,
    row: &EntityRow<'_>,
    rect: Rect,
    frame: &mut Frame<'_>,
) {
    let value = cell_value(row, key).filter(|v| v.has_value());
    let mut color = ui.visuals().text_color();
    if let Some(v) = value {
        let strength = highlight_strength(v.received_at_ms, frame.since_ms, frame.now_ms);
        if strength > 0.0 {
            ui.painter()
                .rect_filled(rect, 0.0, highlight_fill(strength));
            frame.wake_in(FADE_REPAINT_MS);
        }
        if key.key_type == EntityKeyType::TimeSeries
            && let Some(age) = v.age_ms(frame.now_ms)
        {
            if age > STALE_AFTER_MS {
                color = theme::STALE;
            } else {
                frame.wake_in(STALE_AFTER_MS - age + 1);
            }
        }
    } else {
        color = ui.visuals().weak_text_color();
    }
    let text = value.map_or(Cow::Borrowed("–"), |v| display_text(key, v));
    let galley = cell_galley(ui, &text, &frame.font, rect.width() - 2.0 * CELL_PAD);
    let x = if is_number(&text) {
        rect.right() - CELL_PAD - galley.size().x
    } else {
        rect.left() + CELL_PAD
    };
    let y = rect.center().y - galley.size().y / 2.0;
    let elided = galley.elided;
    ui.painter().galley(pos2(x, y), galley, color);

    let response = ui.interact(rect, ui.unique_id().with(col), Sense::hover());
    response.widget_info(|| {
        let name = if value.is_some() { &*text } else { "no value" };
        WidgetInfo::labeled(Role::Cell, true, name)
    });
    if let Some(v) = value {
        let now_ms = frame.now_ms;
        let full = elided.then_some(&*text);
        response.on_hover_ui(|ui| value_tooltip_ui(ui, key, v, full, now_ms));
    }
}

/// The latest value a column shows for a row. An `ATTRIBUTE` column (any scope) reads
/// whichever scope the server answered with.
fn cell_value<'a>(row: &EntityRow<'a>, key: &EntityKey) -> Option<&'a LatestValue> {
    row.latest_value(&key.key_type, &key.key).or_else(|| {
        if key.key_type != EntityKeyType::Attribute {
            return None;
        }
        [
            EntityKeyType::ServerAttribute,
            EntityKeyType::SharedAttribute,
            EntityKeyType::ClientAttribute,
        ]
        .iter()
        .find_map(|t| row.latest_value(t, &key.key))
    })
}

/// The text a cell shows: the wire text, or a date for the entity's `createdTime`.
fn display_text<'a>(key: &EntityKey, value: &'a LatestValue) -> Cow<'a, str> {
    if key.key_type == EntityKeyType::EntityField
        && key.key == "createdTime"
        && let Ok(ms) = value.text().parse::<i64>()
    {
        return Cow::Owned(utc_text(ms));
    }
    Cow::Borrowed(value.text())
}

/// Text laid out on one line, cut with "…" at `max_width`. The colour is left to the
/// painter, so a value changing colour (fading) reuses egui's cached layout.
fn cell_galley(ui: &Ui, text: &str, font: &FontId, max_width: f32) -> Arc<Galley> {
    let mut job = LayoutJob::single_section(
        text.to_owned(),
        TextFormat::simple(font.clone(), Color32::PLACEHOLDER),
    );
    job.wrap = TextWrapping::truncate_at_width(max_width.max(1.0));
    ui.painter().layout_job(job)
}

/// The tooltip of a value: the whole text when the cell cut it, then (except for entity
/// fields, whose time means nothing) its age, timestamp, arrival and staleness.
fn value_tooltip_ui(
    ui: &mut Ui,
    key: &EntityKey,
    value: &LatestValue,
    full_text: Option<&str>,
    now_ms: i64,
) {
    ui.strong(format!("{} ({})", key.key, kind_word(&key.key_type)));
    if let Some(text) = full_text {
        ui.label(text);
    }
    if key.key_type == EntityKeyType::EntityField {
        return;
    }
    if let Some(age) = value.age_ms(now_ms) {
        ui.label(format!("{} ago", age_text(age)));
    }
    if value.ts > 0 {
        ui.label(format!("at {}", utc_text(value.ts)));
    } else {
        ui.weak("no timestamp");
    }
    ui.label(format!(
        "received {} ago",
        age_text(value.since_received_ms(now_ms))
    ));
    if key.key_type == EntityKeyType::TimeSeries
        && value.age_ms(now_ms).is_some_and(|age| age > STALE_AFTER_MS)
    {
        ui.colored_label(
            theme::STALE,
            format!("stale: older than {}", age_text(STALE_AFTER_MS)),
        );
    }
    // The age moves on while the tooltip is open.
    ui.ctx().request_repaint_after(Duration::from_secs(1));
}

/// The sticky header: titles (click to sort), the sort triangle, width grips.
fn header_ui(
    ui: &Ui,
    layout: &ColumnLayout,
    sort: Option<&EntityDataSortOrder>,
    rect: Rect,
    resized: &mut Option<(EntityKey, f32)>,
) -> Option<TableAction> {
    let painter = ui.painter();
    let visuals = ui.visuals();
    painter.rect_filled(rect, 0.0, visuals.panel_fill);
    painter.hline(
        rect.x_range(),
        rect.bottom(),
        visuals.widgets.noninteractive.bg_stroke,
    );
    let font = TextStyle::Body.resolve(ui.style());
    let badge = Rect::from_min_size(rect.min, vec2(BADGE_WIDTH, rect.height()));
    ui.interact(badge, ui.unique_id().with("alarm_header"), Sense::hover())
        .widget_info(|| WidgetInfo::labeled(Role::ColumnHeader, true, "Alarm"));

    let mut action = None;
    for (col, key) in layout.keys.iter().enumerate() {
        let (Some(cell), Some(title)) = (layout.cell_rect(col, rect), layout.titles.get(col))
        else {
            continue;
        };
        let id = ui.unique_id().with(("header", col));
        let response = ui.interact(cell, id, Sense::click());
        response.widget_info(|| WidgetInfo::labeled(Role::ColumnHeader, true, title));
        let direction = sort.filter(|s| s.key == *key).map(|s| &s.direction);
        if let Some(direction) = direction {
            ui.ctx().accesskit_node_builder(id, |node| {
                node.set_sort_direction(match direction {
                    SortDirection::Asc => accesskit::SortDirection::Ascending,
                    SortDirection::Desc => accesskit::SortDirection::Descending,
                    SortDirection::Unknown(_) => accesskit::SortDirection::Other,
                });
            });
        }
        if response.hovered() {
            painter.rect_filled(cell, 0.0, visuals.widgets.hovered.weak_bg_fill);
        }
        let room =
            cell.width() - 2.0 * CELL_PAD - if direction.is_some() { SORT_MARK } else { 0.0 };
        let galley = cell_galley(ui, title, &font, room);
        let y = cell.center().y - galley.size().y / 2.0;
        painter.galley(
            pos2(cell.left() + CELL_PAD, y),
            galley,
            visuals.strong_text_color(),
        );
        if let Some(direction) = direction {
            let at = pos2(cell.right() - CELL_PAD - SORT_MARK / 2.0, cell.center().y);
            sort_mark(ui, at, direction, visuals.strong_text_color());
        }
        let next = next_sort(sort, key);
        if response
            .on_hover_ui(|ui| {
                ui.label(format!(
                    "{} ({}): click to sort {}",
                    key.key,
                    kind_word(&key.key_type),
                    direction_word(&next.direction)
                ));
            })
            .clicked()
        {
            action = Some(TableAction::Sort(next));
        }
        if let Some(width) = resize_grip_ui(ui, cell, id, title) {
            *resized = Some((key.clone(), width));
        }
    }
    action
}

/// The grip at a header cell's right edge; returns the new width while dragged.
fn resize_grip_ui(ui: &Ui, cell: Rect, id: egui::Id, title: &str) -> Option<f32> {
    let grip = Rect::from_center_size(
        pos2(cell.right(), cell.center().y),
        vec2(RESIZE_GRIP, cell.height()),
    );
    let response = ui.interact(grip, id.with("resize"), Sense::drag());
    response.widget_info(|| {
        WidgetInfo::labeled(Role::Splitter, true, format!("Resize column {title}"))
    });
    if response.hovered() || response.dragged() {
        ui.ctx().set_cursor_icon(CursorIcon::ResizeColumn);
        ui.painter().vline(
            cell.right(),
            cell.y_range(),
            ui.visuals().widgets.hovered.fg_stroke,
        );
    }
    response
        .dragged()
        .then(|| (cell.width() + response.drag_delta().x).max(MIN_COLUMN_WIDTH))
}

/// The order a click on `key`'s header asks for: ascending, or the other direction when
/// `key` is already the sort key.
#[must_use]
pub fn next_sort(current: Option<&EntityDataSortOrder>, key: &EntityKey) -> EntityDataSortOrder {
    let direction = match current {
        Some(s) if s.key == *key && s.direction == SortDirection::Asc => SortDirection::Desc,
        _ => SortDirection::Asc,
    };
    EntityDataSortOrder {
        key: key.clone(),
        direction,
    }
}

fn direction_word(direction: &SortDirection) -> &str {
    match direction {
        SortDirection::Asc => "ascending",
        SortDirection::Desc => "descending",
        SortDirection::Unknown(name) => name,
    }
}

/// A small filled triangle: pointing up for ascending, down for descending (drawn, so no
/// font needs a glyph for it).
fn sort_mark(ui: &Ui, center: Pos2, direction: &SortDirection, color: Color32) {
    let (w, h) = (8.0, 5.0);
    let points = match direction {
        SortDirection::Desc => vec![
            pos2(center.x - w / 2.0, center.y - h / 2.0),
            pos2(center.x + w / 2.0, center.y - h / 2.0),
            pos2(center.x, center.y + h / 2.0),
        ],
        _ => vec![
            pos2(center.x - w / 2.0, center.y + h / 2.0),
            pos2(center.x + w / 2.0, center.y + h / 2.0),
            pos2(center.x, center.y - h / 2.0),
        ],
    };
    ui.painter()
        .add(Shape::convex_polygon(points, color, Stroke::NONE));
}

/// The alarm badge of a row: a drawn shape in the severity's colour, its word on hover.
pub(crate) fn badge_ui(ui: &Ui, row: Rect, severity: &AlarmSeverity) {
    let rect = Rect::from_min_size(row.min, vec2(BADGE_WIDTH, row.height()));
    let c = rect.center();
    let r = (row.height() * 0.3).min(6.0);
    let (shape, color) = severity_style(severity);
    let painter = ui.painter();
    match shape {
        BadgeShape::Triangle => {
            let points = vec![
                pos2(c.x, c.y - r * 1.15),
                pos2(c.x + r * 1.15, c.y + r * 0.85),
                pos2(c.x - r * 1.15, c.y + r * 0.85),
            ];
            painter.add(Shape::convex_polygon(points, color, Stroke::NONE));
        }
        BadgeShape::Dot => {
            painter.circle_filled(c, r * 0.85, color);
        }
        BadgeShape::Ring => {
            painter.circle_stroke(c, r * 0.75, Stroke::new(1.5, color));
        }
    }
    let response = ui.interact(rect, ui.unique_id().with("alarm"), Sense::hover());
    response.widget_info(|| {
        WidgetInfo::labeled(
            Role::Image,
            true,
            format!("{} alarm", severity_word(severity)),
        )
    });
    response.on_hover_ui(|ui| {
        ui.label(format!("{} alarm active", severity_word(severity)));
    });
}

/// The badge of an entity `ALARM_STATUS` reports an active alarm for, whose severity the
/// alarm list does not know yet: a ring, "active alarm" on hover.
fn active_badge_ui(ui: &Ui, row: Rect) {
    let rect = Rect::from_min_size(row.min, vec2(BADGE_WIDTH, row.height()));
    let r = (row.height() * 0.3).min(6.0);
    ui.painter()
        .circle_stroke(rect.center(), r * 0.75, Stroke::new(1.5, theme::ALARM));
    let response = ui.interact(rect, ui.unique_id().with("alarm"), Sense::hover());
    response.widget_info(|| WidgetInfo::labeled(Role::Image, true, "active alarm"));
    response.on_hover_text("an active alarm (its severity arrives with the alarm list)");
}

/// How a severity's badge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadgeShape {
    /// A filled warning triangle (critical, major).
    Triangle,
    /// A filled dot (minor, warning).
    Dot,
    /// A ring (indeterminate, unknown).
    Ring,
}

/// The badge of a severity: the shape tells them apart without colour. The colours are
/// the theme's existing tokens until it has severity tokens of its own.
fn severity_style(severity: &AlarmSeverity) -> (BadgeShape, Color32) {
    match severity {
        AlarmSeverity::Critical => (BadgeShape::Triangle, theme::CRITICAL),
        AlarmSeverity::Major => (BadgeShape::Triangle, theme::MAJOR),
        AlarmSeverity::Minor => (BadgeShape::Dot, theme::MINOR),
        AlarmSeverity::Warning => (BadgeShape::Dot, theme::WARNING),
        AlarmSeverity::Indeterminate | AlarmSeverity::Unknown(_) => {
            (BadgeShape::Ring, theme::STALE)
        }
    }
}

/// How strongly a value received at `received_at_ms` is highlighted at `now_ms`: 1 when it
/// just arrived, falling to 0 over [`HIGHLIGHT_MS`]; 0 for values that came with the page
/// (received at or before `since_ms`, when the page was first shown).
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    reason = "the elapsed time is below HIGHLIGHT_MS here"
)]
pub fn highlight_strength(received_at_ms: i64, since_ms: i64, now_ms: i64) -> f32 {
    if received_at_ms <= since_ms {
        return 0.0;
    }
    let elapsed = now_ms.saturating_sub(received_at_ms).max(0);
    if elapsed >= HIGHLIGHT_MS {
        return 0.0;
    }
    let left = 1.0 - elapsed as f32 / HIGHLIGHT_MS as f32;
    // Ease out: bright at first, then a soft tail.
    left * left
}

/// The background of a cell highlighted with `strength` (0..=1).
#[must_use]
pub fn highlight_fill(strength: f32) -> Color32 {
    theme::PENDING.gamma_multiply(0.4 * strength.clamp(0.0, 1.0))
}

/// Whether a value's text reads as a number (right-aligned).
#[must_use]
pub fn is_number(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.parse::<f64>().is_ok()
}

/// Status lines above the table: the server's error, the subscription cap.
fn status_ui(ui: &mut Ui, page: &EntityPage) {
    if let Some(err) = page.last_error() {
        ui.colored_label(theme::DOWN, &err.message);
    }
    if page.exceeds_allowed_entities() {
        ui.colored_label(
            theme::PENDING,
            format!(
                "{} entities match, more than the {} one subscription may cover: narrow the query",
                thousands(page.total_elements()),
                thousands(i64::from(page.allowed_entities()))
            ),
        );
    }
}

/// "3 s", "2 min", "1 h", "2 d".
#[must_use]
pub fn age_text(age_ms: i64) -> String {
    let s = age_ms.max(0) / 1000;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 86_400 {
        format!("{} h", s / 3600)
    } else {
        format!("{} d", s / 86_400)
    }
}

/// An epoch-ms time as `2023-11-14 22:13:20.000 UTC`.
#[must_use]
pub fn utc_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03} UTC",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(age_text(4_200), "4 s");
        assert_eq!(age_text(125_000), "2 min");
        assert_eq!(age_text(7_300_000), "2 h");
        assert_eq!(age_text(3 * 86_400_000 + 5), "3 d");
        assert_eq!(age_text(-5), "0 s");
    }

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc_text(1_700_000_000_123), "2023-11-14 22:13:20.123 UTC");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29 00:00:00.000 UTC");
        assert_eq!(utc_text(-1), "1969-12-31 23:59:59.999 UTC");
    }

    #[test]
    fn a_highlight_fades_over_its_time_and_skips_values_that_came_with_the_page() {
        assert!((highlight_strength(1_000, 500, 1_000) - 1.0).abs() < f32::EPSILON);
        let half = highlight_strength(1_000, 500, 1_000 + HIGHLIGHT_MS / 2);
        assert!(half > 0.0 && half < 0.5, "{half}");
        assert!(highlight_strength(1_000, 500, 1_000 + HIGHLIGHT_MS).abs() < f32::EPSILON);
        assert!(highlight_strength(500, 500, 600).abs() < f32::EPSILON);
    }

    #[test]
    fn only_the_rows_in_view_are_visible() {
        // 20-point rows, the header being the first 20 points of the content.
        assert_eq!(visible_rows(0.0, 100.0, 20.0, 10_000), 0..4);
        assert_eq!(visible_rows(10.0, 110.0, 20.0, 10_000), 0..5);
        // Scrolled to the end: the content is (10,000 + 1) × 20 points high.
        assert_eq!(
            visible_rows(199_920.0, 200_020.0, 20.0, 10_000),
            9_996..10_000
        );
        assert_eq!(visible_rows(0.0, 1_000.0, 20.0, 3), 0..3);
        assert_eq!(visible_rows(0.0, 100.0, 20.0, 0), 0..0);
    }

    #[test]
    fn numbers_in_java_forms_are_numbers() {
        for n in ["21.5", "-3", "1.0E7", "NaN", "Infinity", " 4 "] {
            assert!(is_number(n), "{n}");
        }
        for s in ["", "true", "on", "12 V", "{\"a\":1}"] {
            assert!(!is_number(s), "{s}");
        }
    }

    #[test]
    fn a_header_click_sorts_ascending_then_toggles() {
        let key = EntityKey::new(EntityKeyType::TimeSeries, "temperature");
        let other = EntityKey::new(EntityKeyType::EntityField, "name");
        let first = next_sort(None, &key);
        assert_eq!(first.direction, SortDirection::Asc);
        let second = next_sort(Some(&first), &key);
        assert_eq!(second.direction, SortDirection::Desc);
        assert_eq!(next_sort(Some(&second), &key).direction, SortDirection::Asc);
        assert_eq!(
            next_sort(Some(&second), &other).direction,
            SortDirection::Asc
        );
    }

    #[test]
    fn columns_sharing_a_name_are_told_apart_by_kind() {
        let titles = column_titles(&[
            EntityKey::new(EntityKeyType::EntityField, "name"),
            EntityKey::new(EntityKeyType::TimeSeries, "state"),
            EntityKey::new(EntityKeyType::ServerAttribute, "state"),
        ]);
        assert_eq!(
            titles,
            ["name", "state (time series)", "state (server attribute)"]
        );
    }

    #[test]
    fn plot_lists_a_few_keys_then_counts_the_rest() {
        let keys = |n: usize| (0..n).map(|i| format!("k{i}")).collect::<Vec<_>>();
        assert_eq!(plot_text(&keys(0)), "Plot (no time series)");
        assert_eq!(plot_text(&keys(2)), "Plot k0, k1");
        assert_eq!(plot_text(&keys(5)), "Plot k0, k1, k2 and 2 more");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}

//! The alarm list: one row per alarm of the `ALARM_DATA` page, laid out only where visible
//! (10,000 alarms cost what 40 do), new alarms highlighted, the selection and the keyboard
//! cursor marked, a row's action in flight or its last failure said on the row. The
//! severity is a shape, a colour and a word, so it reads without colour.

use std::collections::BTreeSet;

use egui::{Color32, Rect, Sense, Ui, pos2, vec2};

use crate::plot::window::Zone;
use crate::protocol::{AlarmData, AlarmSeverity, EntityId, SortDirection};
use crate::store::alarms::AlarmPage;
use crate::ui::entities::{age_text, badge_ui, highlight_fill};
use crate::ui::{severity_word, theme};

/// The list's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Severity (shape, colour and word).
    Severity,
    /// Alarm type.
    Type,
    /// Originator (label or name).
    Originator,
    /// Active/cleared, acknowledged or not.
    Status,
    /// Created (relative; absolute on hover).
    Created,
    /// Acknowledged at.
    Acknowledged,
    /// Cleared at.
    Cleared,
    /// Assignee.
    Assignee,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 8] = [
        Column::Severity,
        Column::Type,
        Column::Originator,
        Column::Status,
        Column::Created,
        Column::Acknowledged,
        Column::Cleared,
        Column::Assignee,
    ];

    /// The header.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Column::Severity => "Severity",
            Column::Type => "Type",
            Column::Originator => "Originator",
            Column::Status => "Status",
            Column::Created => "Created",
            Column::Acknowledged => "Acknowledged",
            Column::Cleared => "Cleared",
            Column::Assignee => "Assignee",
        }
    }

    /// The alarm field the server sorts this column by.
    #[must_use]
    pub fn sort_key(self) -> Option<&'static str> {
        match self {
            Column::Severity => Some("severity"),
            Column::Type => Some("type"),
            Column::Originator => Some("originator"),
            Column::Status => Some("status"),
            Column::Created => Some("createdTime"),
            Column::Acknowledged => Some("ackTs"),
            Column::Cleared => Some("clearTs"),
            Column::Assignee => Some("assignee"),
        }
    }

    fn width(self) -> f32 {
        match self {
            Column::Severity => 110.0,
            Column::Type | Column::Originator => 170.0,
            Column::Status => 190.0,
            Column::Created | Column::Acknowledged | Column::Cleared => 100.0,
            Column::Assignee => 160.0,
        }
    }
}

/// What the user did in the list.
#[derive(Debug, Clone, PartialEq)]
pub enum ListAction {
    /// A row was clicked: select it (with Ctrl: toggle; with Shift: extend).
    Click {
        /// The alarm.
        alarm: EntityId,
        /// Ctrl/Cmd held.
        toggle: bool,
        /// Shift held.
        extend: bool,
    },
    /// A header was clicked: sort by its field.
    Sort(&'static str),
    /// The row's context menu chose an action on the selection (or this row).
    Act(EntityId, crate::alarm::actions::AlarmAction),
}

/// Everything the list shows besides the page.
pub struct ListInput<'a> {
    /// Which columns are shown.
    pub columns: &'a [Column],
    /// The selected alarms.
    pub selected: &'a BTreeSet<EntityId>,
    /// The keyboard cursor.
    pub cursor: Option<&'a EntityId>,
    /// The sort field and direction.
    pub sort: (&'a str, SortDirection),
    /// Now (epoch ms).
    pub now_ms: i64,
    /// The display zone (absolute times on hover).
    pub zone: &'a Zone,
    /// A row's note: an action in flight ("…") or its last failure.
    pub note: &'a dyn Fn(&AlarmData) -> Option<(bool, String)>,
    /// Scroll the cursor's row into view this frame.
    pub scroll_to_cursor: bool,
}

const ROW_HEIGHT: f32 = 24.0;

/// How long a new alarm's row glows (fading).
pub const NEW_GLOW_MS: i64 = 30_000;

/// Draws the list; returns what the user did.
pub fn alarm_list_ui(ui: &mut Ui, page: &AlarmPage, input: &ListInput<'_>) -> Vec<ListAction> {
    // Narrow windows (or the details pane) scroll the columns sideways.
    egui::ScrollArea::horizontal()
        .id_salt("alarm_columns")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let width = row_width(ui, input.columns).max(ui.available_width());
            ui.set_min_width(width);
            list_ui(ui, page, input, width)
        })
        .inner
}

/// The width of a row: the selection margin, the columns and room for a row's note.
fn row_width(ui: &Ui, columns: &[Column]) -> f32 {
    let spacing = ui.spacing().item_spacing.x;
    24.0 + columns.iter().map(|c| c.width() + spacing).sum::<f32>() + NOTE_WIDTH
}

/// Room after the columns for "working…" or a failure.
const NOTE_WIDTH: f32 = 220.0;

fn list_ui(ui: &mut Ui, page: &AlarmPage, input: &ListInput<'_>, width: f32) -> Vec<ListAction> {
    let mut actions = Vec::new();
    header_ui(ui, input, width, &mut actions);
    ui.separator();
    let rows = page.rows();
    if rows.is_empty() {
        ui.add_space(12.0);
        ui.weak(if page.has_data() {
            "No alarm matches the filter"
        } else {
            "Loading alarms…"
        });
        return actions;
    }
    let cursor_index = input
        .cursor
        .and_then(|c| rows.iter().position(|r| &r.id == c));
    let mut area = egui::ScrollArea::vertical().auto_shrink([false, false]);
    if input.scroll_to_cursor
        && let Some(i) = cursor_index
    {
        // Keep the cursor's row in view: scroll so it sits a few rows from the top.
        #[allow(clippy::cast_precision_loss)]
        let y = (i.saturating_sub(3) as f32) * (ROW_HEIGHT + ui.spacing().item_spacing.y);
        let visible = ui.available_height();
        let current = ui
            .ctx()
            .data(|d| d.get_temp::<f32>(ui.scope_id().with("alarm_scroll")))
            .unwrap_or(0.0);
        if y < current || y > current + visible - 3.0 * ROW_HEIGHT {
            area = area.vertical_scroll_offset(y);
        }
    }
    let output = area.show_rows(ui, ROW_HEIGHT, rows.len(), |ui, range| {
        for row in rows.get(range).unwrap_or_default() {
            row_ui(ui, page, row, input, width, &mut actions);
        }
    });
    ui.ctx().data_mut(|d| {
        d.insert_temp(
            ui.scope_id().with("alarm_scroll"),
            output.state.clamped_offset().y,
        );
    });
    actions
}

fn header_ui(ui: &mut Ui, input: &ListInput<'_>, width: f32, actions: &mut Vec<ListAction>) {
    // Laid out like the rows (same x per column), so headers sit over their cells.
    let (rect, _) = ui.allocate_exact_size(vec2(width, ROW_HEIGHT), Sense::hover());
    let mut x = rect.min.x + 24.0;
    for &column in input.columns {
        let cell = Rect::from_min_size(pos2(x, rect.min.y), vec2(column.width(), ROW_HEIGHT));
        x += column.width() + ui.spacing().item_spacing.x;
        let key = column.sort_key();
        let sorted = key.is_some_and(|k| k == input.sort.0);
        let arrow = match (sorted, &input.sort.1) {
            (true, SortDirection::Asc) => " (ascending)",
            (true, _) => " (descending)",
            _ => "",
        };
        let text = format!("{}{arrow}", column.title());
        let response = ui.interact(
            cell,
            ui.scope_id().with(("alarm_header", column.title())),
            Sense::click(),
        );
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &text));
        let color = if response.hovered() {
            ui.visuals().strong_text_color()
        } else {
            ui.visuals().text_color()
        };
        ui.painter().text(
            pos2(cell.min.x, cell.center().y),
            egui::Align2::LEFT_CENTER,
            &text,
            egui::TextStyle::Button.resolve(ui.style()),
            color,
        );
        if response.on_hover_text("Sort by this column").clicked()
            && let Some(k) = key
        {
            actions.push(ListAction::Sort(k));
        }
    }
}

#[allow(clippy::too_many_lines)]
fn row_ui(
    ui: &mut Ui,
    page: &AlarmPage,
    row: &AlarmData,
    input: &ListInput<'_>,
    width: f32,
    actions: &mut Vec<ListAction>,
) {
    let selected = input.selected.contains(&row.id);
    let is_cursor = input.cursor == Some(&row.id);
    let (rect, response) = ui.allocate_exact_size(vec2(width, ROW_HEIGHT), Sense::click());
    let painter = ui.painter_at(rect);
    if selected {
        painter.rect_filled(
            rect,
            2.0,
            ui.visuals().selection.bg_fill.gamma_multiply(0.6),
        );
    } else if let Some(since) = page.new_since_ms(&row.id) {
        // New alarms glow, fading over NEW_GLOW_MS.
        #[allow(clippy::cast_precision_loss, reason = "elapsed is below NEW_GLOW_MS")]
        let left = 1.0
            - input.now_ms.saturating_sub(since).clamp(0, NEW_GLOW_MS) as f32 / NEW_GLOW_MS as f32;
        if left > 0.0 {
            painter.rect_filled(rect, 2.0, highlight_fill(0.25 + 0.75 * left));
        }
    }
    if is_cursor {
        painter.rect_stroke(
            rect.shrink(1.0),
            2.0,
            egui::Stroke::new(1.5, ui.visuals().selection.stroke.color),
            egui::StrokeKind::Inside,
        );
    }
    let note = (input.note)(row);
    let mut x = rect.min.x + 24.0;
    let text_color = if row.cleared {
        ui.visuals().weak_text_color()
    } else {
        ui.visuals().text_color()
    };
    for &column in input.columns {
        let cell = Rect::from_min_size(pos2(x, rect.min.y), vec2(column.width(), ROW_HEIGHT));
        x += column.width() + ui.spacing().item_spacing.x;
        if column == Column::Severity {
            badge_ui(ui, cell, &row.severity);
            painter.text(
                pos2(cell.min.x + 24.0, cell.center().y),
                egui::Align2::LEFT_CENTER,
                severity_word(&row.severity),
                egui::TextStyle::Body.resolve(ui.style()),
                severity_color(&row.severity),
            );
            continue;
        }
        let text = cell_text(row, column, input.now_ms);
        let galley = painter.layout(
            text,
            egui::TextStyle::Body.resolve(ui.style()),
            text_color,
            column.width() - 6.0,
        );
        painter.galley(
            pos2(cell.min.x, cell.center().y - galley.size().y / 2.0),
            galley,
            text_color,
        );
    }
    if let Some((running, text)) = &note {
        // On the row's visible right end (over the columns if need be), on a plate, so a
        // refusal is seen however narrow the list is.
        let color = if *running {
            ui.visuals().weak_text_color()
        } else {
            theme::DOWN
        };
        let right = ui.clip_rect().max.x.min(rect.max.x).max(x) - 6.0;
        let galley = painter.layout_no_wrap(
            text.clone(),
            egui::TextStyle::Body.resolve(ui.style()),
            color,
        );
        let at = pos2(
            (right - galley.size().x).max(rect.min.x),
            rect.center().y - galley.size().y / 2.0,
        );
        painter.rect_filled(
            Rect::from_min_size(at, galley.size()).expand(3.0),
            3.0,
            ui.visuals().extreme_bg_color,
        );
        painter.galley(at, galley, color);
    }
    let mut description = format!(
        "{} {} on {}, {}",
        severity_word(&row.severity),
        row.alarm_type,
        originator(row),
        status_text(row)
    );
    if let Some((_, text)) = &note {
        description.push_str(": ");
        description.push_str(text);
    }
    response
        .widget_info(|| egui::WidgetInfo::selected(egui::Role::Row, true, selected, &description));
    let response = response.on_hover_ui(|ui| {
        ui.label(format!("Created {}", input.zone.format(row.created_time)));
        if row.ack_ts > 0 {
            ui.label(format!("Acknowledged {}", input.zone.format(row.ack_ts)));
        }
        if row.clear_ts > 0 {
            ui.label(format!("Cleared {}", input.zone.format(row.clear_ts)));
        }
    });
    if response.clicked() {
        let modifiers = ui.input(|i| i.modifiers);
        actions.push(ListAction::Click {
            alarm: row.id.clone(),
            toggle: modifiers.command,
            extend: modifiers.shift,
        });
    }
    response.context_menu(|ui| {
        use crate::alarm::actions::AlarmAction;
        for (action, key) in [
            (AlarmAction::Acknowledge, "a"),
            (AlarmAction::Clear, "c"),
            (AlarmAction::AssignToMe, "m"),
            (AlarmAction::Unassign, "u"),
        ] {
            if ui.button(format!("{} ({key})", action.label())).clicked() {
                actions.push(ListAction::Act(row.id.clone(), action));
                ui.close();
            }
        }
    });
}

/// The originator as the list names it: label, else name, else its id.
#[must_use]
pub fn originator(row: &AlarmData) -> String {
    row.originator_display_name
        .clone()
        .or_else(|| {
            row.originator_label
                .clone()
                .filter(|l| !l.trim().is_empty())
        })
        .or_else(|| row.originator_name.clone())
        .unwrap_or_else(|| row.originator.id.to_string())
}

/// "Active, not acknowledged", "Cleared, acknowledged", …
#[must_use]
pub fn status_text(row: &AlarmData) -> String {
    let state = if row.cleared { "Cleared" } else { "Active" };
    let ack = if row.acknowledged {
        "acknowledged"
    } else {
        "not acknowledged"
    };
    format!("{state}, {ack}")
}

fn cell_text(row: &AlarmData, column: Column, now_ms: i64) -> String {
    let ago = |ts: i64| {
        if ts > 0 {
            format!("{} ago", age_text(now_ms.saturating_sub(ts)))
        } else {
            "–".to_owned()
        }
    };
    match column {
        Column::Severity => severity_word(&row.severity).to_owned(),
        Column::Type => row.alarm_type.clone(),
        Column::Originator => originator(row),
        Column::Status => status_text(row),
        Column::Created => ago(row.created_time),
        Column::Acknowledged => ago(row.ack_ts),
        Column::Cleared => ago(row.clear_ts),
        Column::Assignee => row.assignee.as_ref().map_or_else(
            || "–".to_owned(),
            |a| {
                let name = format!(
                    "{} {}",
                    a.first_name.as_deref().unwrap_or_default(),
                    a.last_name.as_deref().unwrap_or_default()
                );
                let name = name.trim();
                if name.is_empty() {
                    a.email.clone().unwrap_or_default()
                } else {
                    name.to_owned()
                }
            },
        ),
    }
}

/// The colour of a severity's word.
#[must_use]
pub fn severity_color(severity: &AlarmSeverity) -> Color32 {
    match severity {
        AlarmSeverity::Critical => theme::CRITICAL,
        AlarmSeverity::Major => theme::MAJOR,
        AlarmSeverity::Minor => theme::MINOR,
        AlarmSeverity::Warning => theme::WARNING,
        AlarmSeverity::Indeterminate | AlarmSeverity::Unknown(_) => theme::STALE,
    }
}

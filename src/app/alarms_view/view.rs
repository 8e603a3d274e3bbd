//! Drawing the Alarms view: filter bar, undo bar, the list, the details pane, and the
//! keyboard.

use egui::{RichText, Ui};

use super::{AlarmsView, PAGE_SIZES};
use crate::alarm::actions::AlarmAction;
use crate::alarm::filter::{Scope, StatusChoice, WINDOWS};
use crate::app::Effect;
use crate::protocol::{AlarmData, AlarmSeverity, EntityId, SortDirection};
use crate::store::alarms::AlarmPage;
use crate::ui::alarms::{Column, ListAction, ListInput, alarm_list_ui, originator, status_text};
use crate::ui::{severity_word, theme, thousands};

/// Severities offered by the filter, worst first.
const SEVERITIES: [AlarmSeverity; 5] = [
    AlarmSeverity::Critical,
    AlarmSeverity::Major,
    AlarmSeverity::Minor,
    AlarmSeverity::Warning,
    AlarmSeverity::Indeterminate,
];

impl AlarmsView {
    /// Draws the view.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        page: Option<&AlarmPage>,
        query_filter: Option<crate::protocol::EntityFilter>,
        session: (&crate::net::rest::RestClient, &tokio::runtime::Handle),
        now_ms: i64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        egui::Panel::top("alarms_filter").show(ui, |ui| {
            self.filter_ui(ui, query_filter);
            self.undo_bar_ui(ui, now_ms);
        });
        let rows: &[AlarmData] = page.map_or(&[], AlarmPage::rows);
        let details = self
            .cursor
            .as_ref()
            .and_then(|c| rows.iter().find(|r| &r.id == c));
        if let Some(row) = details {
            self.want_latest(&row.originator, session.0, session.1, ui.ctx());
            let latest = self.latest.as_ref().and_then(|(_, l)| l.as_ref());
            egui::Panel::right("alarm_details")
                .resizable(true)
                .default_size(320.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        if let Some(e) = details_ui(ui, row, latest, &self.zone) {
                            effects.push(e);
                        }
                    });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(page) = page {
                self.paging_ui(ui, page);
                self.keyboard(ui, rows);
                let queue = &self.queue;
                let note = |row: &AlarmData| -> Option<(bool, String)> {
                    let id = row.id.id;
                    if queue.running(&id) {
                        return Some((true, "working…".to_owned()));
                    }
                    queue.failure(&id).map(|f| (false, f.to_owned()))
                };
                let input = ListInput {
                    columns: &self.columns,
                    selected: &self.selected,
                    cursor: self.cursor.as_ref(),
                    sort: (self.sort.0, self.sort.1.clone()),
                    now_ms,
                    zone: &self.zone,
                    note: &note,
                    scroll_to_cursor: std::mem::take(&mut self.scroll_to_cursor),
                };
                let actions = alarm_list_ui(ui, page, &input);
                for action in actions {
                    self.on_list_action(action, rows, now_ms);
                }
            } else {
                ui.weak("Loading alarms…");
            }
        });
        effects
    }

    fn filter_ui(&mut self, ui: &mut Ui, query_filter: Option<crate::protocol::EntityFilter>) {
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Status");
            egui::ComboBox::from_id_salt("alarm_status")
                .selected_text(self.filter.status.label())
                .show_ui(ui, |ui| {
                    for s in StatusChoice::ALL {
                        ui.selectable_value(&mut self.filter.status, s, s.label());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.separator();
            for severity in SEVERITIES {
                let mut on = self.filter.severities.contains(&severity);
                let text = RichText::new(severity_word(&severity))
                    .color(crate::ui::alarms::severity_color(&severity));
                if ui.toggle_value(&mut on, text).changed() {
                    if on {
                        self.filter.severities.push(severity);
                    } else {
                        self.filter.severities.retain(|s| *s != severity);
                    }
                }
            }
            ui.separator();
            let label = ui.label("Types");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter.types)
                    .hint_text("any (comma-separated)")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
            let label = ui.label("Search");
            let search = ui
                .add(
                    egui::TextEdit::singleline(&mut self.filter.text)
                        .hint_text("/")
                        .desired_width(140.0),
                )
                .labelled_by(label.id);
            if std::mem::take(&mut self.focus_search) {
                search.request_focus();
            }
            ui.separator();
            let label = ui.label("Age");
            let current = WINDOWS
                .iter()
                .find(|(ms, _)| *ms == self.filter.window_ms)
                .map_or("custom", |(_, l)| l);
            egui::ComboBox::from_id_salt("alarm_window")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (ms, text) in WINDOWS {
                        ui.selectable_value(&mut self.filter.window_ms, ms, text);
                    }
                })
                .response
                .labelled_by(label.id);
            ui.checkbox(&mut self.filter.assigned_to_me, "Assigned to me");
            ui.checkbox(&mut self.filter.propagated, "Propagated");
            ui.separator();
            let label = ui.label("Entities");
            let mut scope = self.filter.scope.clone();
            egui::ComboBox::from_id_salt("alarm_scope")
                .selected_text(scope.label())
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut scope, Scope::AllDevices, "All devices");
                    ui.selectable_value(&mut scope, Scope::AllAssets, "All assets");
                    if let Some(f) = query_filter {
                        ui.selectable_value(
                            &mut scope,
                            Scope::Query(f),
                            "The Entities view's query",
                        );
                    }
                })
                .response
                .labelled_by(label.id);
            self.filter.scope = scope;
        });
    }

    fn undo_bar_ui(&mut self, ui: &mut Ui, now_ms: i64) {
        let pending: Vec<_> = self.queue.pending().to_vec();
        for p in pending {
            ui.horizontal(|ui| {
                let left = (p.due_ms.saturating_sub(now_ms) + 999) / 1000;
                ui.colored_label(
                    theme::PENDING,
                    format!(
                        "{} {} alarms in {left} s",
                        action_progressive(p.action),
                        p.alarms.len()
                    ),
                );
                if ui.button("Undo").clicked() {
                    self.queue.undo(p.id);
                }
            });
        }
        if let Some(summary) = self.queue.last_summary() {
            ui.weak(summary);
        }
    }

    fn paging_ui(&mut self, ui: &mut Ui, page: &AlarmPage) {
        ui.horizontal(|ui| {
            ui.label(format!("{} alarms", thousands(page.total_elements())));
            if !self.selected.is_empty() {
                ui.separator();
                ui.label(format!("{} selected", self.selected.len()));
                for action in [
                    AlarmAction::Acknowledge,
                    AlarmAction::Clear,
                    AlarmAction::AssignToMe,
                    AlarmAction::Unassign,
                ] {
                    if ui.button(action.label()).clicked() {
                        self.act(action, None, 0);
                    }
                }
            }
            ui.separator();
            if ui
                .add_enabled(self.page > 0, egui::Button::new("Previous"))
                .clicked()
            {
                self.page -= 1;
            }
            ui.label(format!(
                "page {} of {}",
                self.page + 1,
                page.total_pages().max(1)
            ));
            if ui
                .add_enabled(page.has_next(), egui::Button::new("Next"))
                .clicked()
            {
                self.page += 1;
            }
            let label = ui.label("Page size");
            egui::ComboBox::from_id_salt("alarm_page_size")
                .selected_text(self.page_size.to_string())
                .show_ui(ui, |ui| {
                    for size in PAGE_SIZES {
                        ui.selectable_value(&mut self.page_size, size, size.to_string());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.menu_button("Columns", |ui| {
                for column in Column::ALL {
                    let mut on = self.columns.contains(&column);
                    if ui.checkbox(&mut on, column.title()).changed() {
                        if on {
                            self.columns = Column::ALL
                                .into_iter()
                                .filter(|c| *c == column || self.columns.contains(c))
                                .collect();
                        } else if self.columns.len() > 1 {
                            self.columns.retain(|c| *c != column);
                        }
                    }
                }
            });
        });
    }

    /// j/k and the arrows move, x/space select, a/c/m/u act, / searches, Escape clears.
    fn keyboard(&mut self, ui: &Ui, rows: &[AlarmData]) {
        use egui::Key;
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let pressed = |k: Key| ui.input(|i| i.key_pressed(k));
        let at = self
            .cursor
            .as_ref()
            .and_then(|c| rows.iter().position(|r| &r.id == c));
        let mv = |delta: isize| -> Option<EntityId> {
            let next = match at {
                Some(i) => i
                    .saturating_add_signed(delta)
                    .min(rows.len().saturating_sub(1)),
                None => 0,
            };
            rows.get(next).map(|r| r.id.clone())
        };
        if pressed(Key::J) || pressed(Key::ArrowDown) {
            self.cursor = mv(1);
            self.scroll_to_cursor = true;
        }
        if pressed(Key::K) || pressed(Key::ArrowUp) {
            self.cursor = mv(-1);
            self.scroll_to_cursor = true;
        }
        if (pressed(Key::X) || pressed(Key::Space))
            && let Some(c) = &self.cursor
            && !self.selected.remove(c)
        {
            self.selected.insert(c.clone());
        }
        if pressed(Key::Escape) {
            self.selected.clear();
        }
        if pressed(Key::Slash) {
            self.focus_search = true;
        }
        let now = super::super::now_ms();
        for (key, action) in [
            (Key::A, AlarmAction::Acknowledge),
            (Key::C, AlarmAction::Clear),
            (Key::M, AlarmAction::AssignToMe),
            (Key::U, AlarmAction::Unassign),
        ] {
            if pressed(key) {
                self.act(action, None, now);
            }
        }
    }

    /// Runs `action` on the selection, else on `row`, else on the cursor's alarm.
    fn act(&mut self, action: AlarmAction, row: Option<&EntityId>, now_ms: i64) {
        let targets: Vec<uuid::Uuid> = if self.selected.is_empty() {
            row.or(self.cursor.as_ref())
                .map(|r| r.id)
                .into_iter()
                .collect()
        } else {
            self.selected.iter().map(|a| a.id).collect()
        };
        if targets.is_empty() {
            return;
        }
        let now_ms = if now_ms == 0 {
            super::super::now_ms()
        } else {
            now_ms
        };
        self.queue.schedule(action, targets, now_ms);
        self.selected.clear();
    }

    fn on_list_action(&mut self, action: ListAction, rows: &[AlarmData], now_ms: i64) {
        match action {
            ListAction::Click {
                alarm,
                toggle,
                extend,
            } => {
                if extend && let Some(from) = &self.cursor {
                    let a = rows.iter().position(|r| &r.id == from);
                    let b = rows.iter().position(|r| r.id == alarm);
                    if let (Some(a), Some(b)) = (a, b) {
                        for r in rows.get(a.min(b)..=a.max(b)).unwrap_or_default() {
                            self.selected.insert(r.id.clone());
                        }
                    }
                } else if toggle {
                    if !self.selected.remove(&alarm) {
                        self.selected.insert(alarm.clone());
                    }
                } else {
                    self.selected.clear();
                }
                self.cursor = Some(alarm);
            }
            ListAction::Sort(key) => {
                self.sort = if self.sort.0 == key {
                    let flipped = if self.sort.1 == SortDirection::Desc {
                        SortDirection::Asc
                    } else {
                        SortDirection::Desc
                    };
                    (key, flipped)
                } else {
                    (key, SortDirection::Desc)
                };
                self.page = 0;
            }
            ListAction::Act(alarm, action) => {
                if !self.selected.contains(&alarm) {
                    self.selected.clear();
                }
                self.act(action, Some(&alarm), now_ms);
            }
        }
    }
}

/// "Acknowledging", "Clearing", …
fn action_progressive(action: AlarmAction) -> &'static str {
    match action {
        AlarmAction::Acknowledge => "Acknowledging",
        AlarmAction::Clear => "Clearing",
        AlarmAction::AssignToMe => "Assigning to you",
        AlarmAction::Unassign => "Unassigning",
    }
}

/// Every field of an alarm, the details JSON pretty-printed, and a link to the originator.
fn details_ui(
    ui: &mut Ui,
    row: &AlarmData,
    latest: Option<&Result<Vec<super::LatestValue>, String>>,
    zone: &crate::plot::window::Zone,
) -> Option<Effect> {
    ui.heading(&row.alarm_type);
    ui.label(
        RichText::new(severity_word(&row.severity))
            .color(crate::ui::alarms::severity_color(&row.severity))
            .strong(),
    );
    let effect = details_actions_ui(ui, row);
    ui.separator();
    let time = |ts: i64| {
        if ts > 0 {
            zone.format(ts)
        } else {
            "–".to_owned()
        }
    };
    egui::Grid::new("alarm_fields")
        .num_columns(2)
        .show(ui, |ui| {
            for (name, value) in [
                ("Originator", originator(row)),
                (
                    "Originator type",
                    row.originator.entity_type.as_str().to_owned(),
                ),
                ("Status", status_text(row)),
                ("Created", time(row.created_time)),
                ("Started", time(row.start_ts)),
                ("Last update", time(row.end_ts)),
                ("Acknowledged", time(row.ack_ts)),
                ("Cleared", time(row.clear_ts)),
                ("Assigned", time(row.assign_ts)),
                (
                    "Assignee",
                    row.assignee
                        .as_ref()
                        .and_then(|a| a.email.clone())
                        .unwrap_or_else(|| "–".to_owned()),
                ),
                ("Alarm id", row.id.id.to_string()),
            ] {
                ui.label(name);
                ui.label(value);
                ui.end_row();
            }
        });
    ui.separator();
    ui.label(RichText::new("Details").strong());
    match &row.details {
        Some(v) if !v.is_null() => {
            let text = serde_json::to_string_pretty(v).unwrap_or_default();
            ui.add(egui::Label::new(RichText::new(text).monospace()).selectable(true));
        }
        _ => {
            ui.weak("none");
        }
    }
    ui.separator();
    ui.label(RichText::new("Originator's latest values").strong());
    match latest {
        None => {
            ui.weak("Loading…");
        }
        Some(Err(e)) => {
            ui.colored_label(theme::DOWN, e);
        }
        Some(Ok(values)) if values.is_empty() => {
            ui.weak("No time series");
        }
        Some(Ok(values)) => {
            egui::Grid::new("alarm_latest")
                .num_columns(3)
                .show(ui, |ui| {
                    for (key, ts, value) in values {
                        ui.label(key);
                        ui.label(value);
                        ui.weak(zone.format(*ts));
                        ui.end_row();
                    }
                });
        }
    }
    effect
}

/// The details pane's actions, at its top so they never scroll out of reach.
fn details_actions_ui(ui: &mut Ui, row: &AlarmData) -> Option<Effect> {
    let mut effect = None;
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Plot the originator around the alarm's start")
            .clicked()
        {
            effect = Some(Effect::PlotAround {
                entity: row.originator.clone(),
                name: originator(row),
                at_ms: if row.start_ts > 0 {
                    row.start_ts
                } else {
                    row.created_time
                },
            });
        }
        if ui.button("Open the originator in the Inspector").clicked() {
            effect = Some(Effect::Open(
                crate::ui::View::Inspector,
                row.originator.clone(),
            ));
        }
        if ui.button("Copy alarm id").clicked() {
            effect = Some(Effect::Copy(row.id.id.to_string()));
        }
    });
    effect
}

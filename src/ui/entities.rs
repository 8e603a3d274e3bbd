//! The live entity table: one row per entity of the page, its name, type and latest values
//! with their age. The query builder that shapes it arrives with issue 6.

use crate::protocol::EntityKeyType;
use crate::store::entities::EntityPage;

use super::theme;

/// A value older than this is greyed out as stale.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;

/// The time-series keys any row of the page has, sorted.
#[must_use]
pub fn series_keys(page: &EntityPage) -> Vec<String> {
    let mut keys: Vec<String> = page
        .rows()
        .iter()
        .filter_map(|r| r.latest().get(&EntityKeyType::TimeSeries))
        .flat_map(|m| m.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// "3 s", "2 min", "1 h".
#[must_use]
pub fn age_text(age_ms: i64) -> String {
    let s = age_ms.max(0) / 1000;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else {
        format!("{} h", s / 3600)
    }
}

/// Draws the table.
pub fn entities_ui(ui: &mut egui::Ui, page: Option<&EntityPage>, now_ms: i64) {
    ui.heading("Entities");
    let Some(page) = page.filter(|p| p.has_data()) else {
        ui.spinner();
        ui.label("waiting for the first page");
        return;
    };
    ui.label(format!(
        "{} of {} entities",
        page.len(),
        page.total_elements()
    ));
    if let Some(err) = page.last_error() {
        ui.colored_label(theme::DOWN, &err.message);
    }
    let keys = series_keys(page);
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("entities")
            .num_columns(2 + keys.len())
            .striped(true)
            .show(ui, |ui| {
                ui.strong("Name");
                ui.strong("Type");
                for k in &keys {
                    ui.strong(k);
                }
                ui.end_row();
                for row in page.rows() {
                    ui.label(row.display_name());
                    ui.label(row.field("type").unwrap_or("–"));
                    for k in &keys {
                        match row.latest_value(&EntityKeyType::TimeSeries, k) {
                            Some(v) if v.has_value() => {
                                let age = v.age_ms(now_ms).unwrap_or(0);
                                let text = v.text().to_owned();
                                let label = if age > STALE_AFTER_MS {
                                    ui.colored_label(theme::STALE, text)
                                } else {
                                    ui.label(text)
                                };
                                label.on_hover_text(format!("{} ago", age_text(age)));
                            }
                            _ => {
                                ui.weak("–");
                            }
                        }
                    }
                    ui.end_row();
                }
            });
    });
}

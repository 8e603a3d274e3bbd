//! The live entity table: one row per entity of the page, its name, type and latest values
//! with their age. The query builder that shapes it arrives with issue 6.

use crate::protocol::EntityKeyType;
use crate::store::entities::{EntityPage, LatestValue};

use super::theme;

/// A value older than this is greyed out as stale.
pub const STALE_AFTER_MS: i64 = 5 * 60_000;

/// The time-series keys any row of the page has, sorted.
#[must_use]
pub fn series_keys(page: &EntityPage) -> Vec<String> {
    let mut keys: Vec<String> = page
        .latest_keys(&EntityKeyType::TimeSeries)
        .map(str::to_owned)
        .collect();
    keys.sort();
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

/// The Entities view. Its columns are recomputed only when the page changes, not per frame.
#[derive(Debug, Default)]
pub struct EntitiesPanel {
    columns: Vec<String>,
    /// The page version the columns were computed for.
    columns_of: Option<u64>,
}

impl EntitiesPanel {
    /// Draws the table of `page` (`None` before the subscription's first message).
    pub fn show(&mut self, ui: &mut egui::Ui, page: Option<&EntityPage>, now_ms: i64) {
        ui.heading("Entities");
        let Some(page) = page.filter(|p| p.has_data()) else {
            ui.spinner();
            ui.label("waiting for the first page");
            return;
        };
        if self.columns_of != Some(page.version()) {
            self.columns = series_keys(page);
            self.columns_of = Some(page.version());
        }
        ui.label(format!(
            "{} of {} entities",
            page.len(),
            page.total_elements()
        ));
        if let Some(err) = page.last_error() {
            ui.colored_label(theme::DOWN, &err.message);
        }
        let keys = &self.columns;
        egui::ScrollArea::both().show(ui, |ui| {
            egui::Grid::new("entities")
                .num_columns(2 + keys.len())
                .striped(true)
                .show(ui, |ui| {
                    ui.strong("Name");
                    ui.strong("Type");
                    for k in keys {
                        ui.strong(k);
                    }
                    ui.end_row();
                    for row in page.rows() {
                        ui.label(row.field("name").unwrap_or("–"));
                        ui.label(row.field("type").unwrap_or("–"));
                        for k in keys {
                            value_cell(ui, row.latest_value(&EntityKeyType::TimeSeries, k), now_ms);
                        }
                        ui.end_row();
                    }
                });
        });
    }
}

/// One latest value: greyed when stale, its age on hover (formatted only while hovered).
fn value_cell(ui: &mut egui::Ui, value: Option<&LatestValue>, now_ms: i64) {
    let Some(v) = value.filter(|v| v.has_value()) else {
        ui.weak("–");
        return;
    };
    let age = v.age_ms(now_ms).unwrap_or(0);
    let label = if age > STALE_AFTER_MS {
        ui.colored_label(theme::STALE, v.text())
    } else {
        ui.label(v.text())
    };
    label.on_hover_ui(|ui| {
        ui.label(format!("{} ago", age_text(age)));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(age_text(4_200), "4 s");
        assert_eq!(age_text(125_000), "2 min");
        assert_eq!(age_text(7_300_000), "2 h");
        assert_eq!(age_text(-5), "0 s");
    }
}

//! The run bar (Run, the count preview, the problem count) and the saved-query section
//! (save, load, delete; import, export, copy as WebSocket command).

use crate::ui::theme;

use super::QueryAction;
use super::validate::{MAX_PAGE_SIZE, Problem};
use super::widgets::{remove_button, text_row};
use crate::ui::thousands;

/// "1 entity matches", "312 entities match", "12,345 entities match".
#[must_use]
pub(crate) fn count_text(count: i64) -> String {
    if count == 1 {
        "1 entity matches".to_owned()
    } else {
        format!("{} entities match", thousands(count))
    }
}

/// Run, the count preview and, when the query cannot be built, how many problems are left.
pub(crate) fn run_bar_ui(
    ui: &mut egui::Ui,
    count: Option<&Result<i64, String>>,
    problems: &[Problem],
    valid: bool,
    actions: &mut Vec<QueryAction>,
) {
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(valid, theme::primary_button("Run"))
            .on_disabled_hover_text("fix the problems marked below first")
            .clicked()
        {
            actions.push(QueryAction::Run);
        }
        match count {
            Some(Ok(n)) => {
                ui.label(count_text(*n));
            }
            Some(Err(e)) => {
                ui.colored_label(theme::DOWN, format!("Count failed: {e}"));
            }
            None => {}
        }
    });
    if let Some(Ok(n)) = count
        && *n > i64::from(MAX_PAGE_SIZE)
    {
        ui.weak(format!(
            "More than the {} entities one live subscription covers; the table shows them \
             page by page",
            thousands(MAX_PAGE_SIZE.into())
        ));
    }
    match problems.len() {
        0 => {}
        1 => {
            ui.colored_label(theme::DOWN, "1 problem to fix below");
        }
        n => {
            ui.colored_label(theme::DOWN, format!("{n} problems to fix below"));
        }
    }
}

/// Save under a name; the saved queries with Load and Delete.
pub(crate) fn saved_ui(
    ui: &mut egui::Ui,
    save_name: &mut String,
    names: &[String],
    valid: bool,
    actions: &mut Vec<QueryAction>,
) {
    text_row(
        ui,
        "Query name",
        save_name,
        "save_name",
        "e.g. Hot thermostats",
    );
    let name = save_name.trim();
    let replaces = names.iter().any(|n| n == name);
    let save = ui
        .add_enabled(valid && !name.is_empty(), egui::Button::new("Save"))
        .on_hover_text(if replaces {
            "replaces the saved query of that name"
        } else {
            "keeps the query in the settings"
        });
    if save.clicked() {
        actions.push(QueryAction::SaveAs(name.to_owned()));
    }
    if names.is_empty() {
        ui.weak("No saved queries yet");
    }
    for (i, saved) in names.iter().enumerate() {
        ui.push_id(("saved", i), |ui| {
            ui.horizontal(|ui| {
                ui.label(saved);
                if ui
                    .small_button("Load")
                    .on_hover_text(format!("load {saved}"))
                    .clicked()
                {
                    actions.push(QueryAction::Load(saved.clone()));
                }
                if remove_button(ui, saved) {
                    actions.push(QueryAction::Delete(saved.clone()));
                }
            });
        });
    }
}

/// An exchange button the builder answers itself (it needs the whole query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exchange {
    /// "Import…".
    Import,
    /// "Export…".
    Export,
    /// "Copy as WebSocket command".
    CopyWsCommand,
}

/// Import, export and "Copy as WebSocket command".
pub(crate) fn exchange_ui(ui: &mut egui::Ui, valid: bool) -> Option<Exchange> {
    let mut out = None;
    ui.separator();
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Import…")
            .on_hover_text("a ThingsBoard entity filter, query or cmds frame (JSON)")
            .clicked()
        {
            out = Some(Exchange::Import);
        }
        if ui
            .add_enabled(valid, egui::Button::new("Export…"))
            .on_hover_text("the query as ThingsBoard JSON")
            .clicked()
        {
            out = Some(Exchange::Export);
        }
        if ui
            .add_enabled(valid, egui::Button::new("Copy as WebSocket command"))
            .on_hover_text("the exact cmds frame, for scripts")
            .clicked()
        {
            out = Some(Exchange::CopyWsCommand);
        }
    });
    out
}

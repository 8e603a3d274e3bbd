//! Small labelled widgets shared by the builder's sections. Every input gets an accessible
//! name (its label, through `labelled_by`), and text fields get explicit ids so a problem
//! line appearing above them never steals the focus while typing.

use crate::protocol::{EntityKeyType, EntityType};
use crate::ui::theme;

use super::QueryAction;
use super::columns::AvailableKeys;
use super::validate::Problem;

/// What the sections need besides their own state while drawing.
pub(crate) struct FormCtx<'a> {
    /// The problems of the last build, shown next to their field.
    pub(crate) problems: &'a [Problem],
    /// Actions for the app.
    pub(crate) actions: &'a mut Vec<QueryAction>,
    /// The next entity-search request id.
    pub(crate) next_request_id: &'a mut u64,
    /// Keys the app reported for the matched entities.
    pub(crate) available: &'a AvailableKeys,
}

impl FormCtx<'_> {
    /// Shows the problems recorded exactly at `path`, in the problem colour.
    pub(crate) fn problems_at(&self, ui: &mut egui::Ui, path: &str) {
        for p in self.problems.iter().filter(|p| p.path == path) {
            ui.colored_label(theme::DOWN, &p.message);
        }
    }

    /// A fresh entity-search request id.
    pub(crate) fn request_id(&mut self) -> u64 {
        *self.next_request_id += 1;
        *self.next_request_id
    }
}

/// A label and a single-line text field on one row; returns the field's response.
pub(crate) fn text_row(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    salt: &str,
    hint: &str,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(
            egui::TextEdit::singleline(text)
                .id_salt(salt)
                .hint_text(hint.to_owned())
                .desired_width(ui.available_width().max(60.0)),
        )
        .labelled_by(l.id)
    })
    .inner
}

/// A label and a drop-down of `options`; returns whether the value changed.
pub(crate) fn combo_row<T: PartialEq + Clone>(
    ui: &mut egui::Ui,
    label: &str,
    salt: &str,
    value: &mut T,
    options: &[T],
    text_of: impl Fn(&T) -> String,
) -> bool {
    let before = value.clone();
    ui.horizontal(|ui| {
        let l = ui.label(label);
        combo(ui, salt, value, options, &text_of).labelled_by(l.id);
    });
    *value != before
}

/// A drop-down of `options` without its own label (the caller names it).
pub(crate) fn combo<T: PartialEq + Clone>(
    ui: &mut egui::Ui,
    salt: &str,
    value: &mut T,
    options: &[T],
    text_of: &impl Fn(&T) -> String,
) -> egui::Response {
    egui::ComboBox::from_id_salt(salt)
        .selected_text(text_of(value))
        // Tall enough for the 14 filter types without scrolling; longer lists scroll.
        .height(420.0)
        .show_ui(ui, |ui| {
            for option in options {
                ui.selectable_value(value, option.clone(), text_of(option));
            }
            // A value this version does not know (from an import) stays choosable.
            if !options.contains(value) {
                let current = value.clone();
                ui.selectable_value(value, current, text_of(value));
            }
        })
        .response
}

/// A small "Remove" button; returns whether it was clicked.
pub(crate) fn remove_button(ui: &mut egui::Ui, what: &str) -> bool {
    ui.small_button("Remove")
        .on_hover_text(format!("remove {what}"))
        .clicked()
}

/// The entity types a picker or a filter offers: the common ones first, then the rest.
#[must_use]
pub(crate) fn entity_types() -> Vec<EntityType> {
    let common = [
        EntityType::Device,
        EntityType::Asset,
        EntityType::EntityView,
        EntityType::Edge,
        EntityType::Customer,
        EntityType::User,
        EntityType::Tenant,
        EntityType::Dashboard,
    ];
    let mut out = common.to_vec();
    out.extend(
        EntityType::KNOWN
            .iter()
            .filter(|t| !common.contains(t))
            .cloned(),
    );
    out
}

/// `ENTITY_VIEW` → `Entity view`.
#[must_use]
pub(crate) fn wire_label(wire: &str) -> String {
    let lower = wire.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The label of an entity type.
#[must_use]
pub(crate) fn entity_type_label(t: &EntityType) -> String {
    match t {
        EntityType::ApiUsageState => "API usage state".to_owned(),
        other => wire_label(other.as_str()),
    }
}

/// The label of a key type.
#[must_use]
pub(crate) fn key_type_label(t: &EntityKeyType) -> String {
    match t {
        EntityKeyType::Attribute => "Attribute (any scope)".to_owned(),
        EntityKeyType::ClientAttribute => "Client attribute".to_owned(),
        EntityKeyType::SharedAttribute => "Shared attribute".to_owned(),
        EntityKeyType::ServerAttribute => "Server attribute".to_owned(),
        EntityKeyType::TimeSeries => "Time series".to_owned(),
        EntityKeyType::EntityField => "Entity field".to_owned(),
        EntityKeyType::AlarmField => "Alarm field".to_owned(),
        EntityKeyType::Unknown(name) => name.clone(),
    }
}

/// Key types of key filters and columns (alarm fields belong to alarm queries).
pub(crate) const KEY_TYPES: [EntityKeyType; 6] = [
    EntityKeyType::EntityField,
    EntityKeyType::TimeSeries,
    EntityKeyType::Attribute,
    EntityKeyType::ClientAttribute,
    EntityKeyType::SharedAttribute,
    EntityKeyType::ServerAttribute,
];

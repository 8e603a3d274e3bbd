//! Small labelled widgets shared by the builder's sections. Every input gets an accessible
//! name (its label, through `labelled_by`), and text fields get explicit ids so a problem
//! line appearing above them never steals the focus while typing.

use std::sync::LazyLock;

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

/// A drop-down titled "Pick a key" beside `label`, whose list `body` draws (only while it is
/// open); picking adds or fills in a key without the drop-down keeping a value of its own.
pub(crate) fn pick_key_ui(
    ui: &mut egui::Ui,
    label: &str,
    salt: &str,
    body: impl FnOnce(&mut egui::Ui),
) {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        egui::ComboBox::from_id_salt(salt)
            .selected_text("Pick a key")
            .show_ui(ui, body)
            .response
            .labelled_by(l.id);
    });
}

/// The entity types a picker or a filter offers: the common ones first, then the rest.
/// Built once: the drop-downs offering them are drawn every frame.
#[must_use]
pub(crate) fn entity_types() -> &'static [EntityType] {
    static TYPES: LazyLock<Vec<EntityType>> = LazyLock::new(|| {
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
    });
    &TYPES
}

/// `asset type` → `Asset type`.
#[must_use]
pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `ENTITY_VIEW` → `Entity view`.
#[must_use]
pub(crate) fn wire_label(wire: &str) -> String {
    capitalized(&wire.replace('_', " ").to_lowercase())
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

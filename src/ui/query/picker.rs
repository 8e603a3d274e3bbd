//! Entity pickers: the user types part of a name, the app searches the server
//! ([`QueryAction::SearchEntities`]) and answers with
//! [`QueryBuilder::set_search_results`](super::QueryBuilder::set_search_results); the user
//! clicks a result. Nobody types a UUID.

use crate::protocol::{EntityId, EntityType};

use super::QueryAction;
use super::widgets::{
    FormCtx, combo_row, entity_type_label, entity_types, remove_button, text_row,
};

/// Most results listed under a search field.
const MAX_RESULTS_SHOWN: usize = 20;

/// An entity with the name shown for it (empty when only the id is known, e.g. after an
/// import).
pub(crate) type Named = (EntityId, String);

/// How an entity is shown: its name, or its type and the start of its id.
#[must_use]
pub(crate) fn display_name((id, name): &Named) -> String {
    if name.trim().is_empty() {
        let uuid = id.id.to_string();
        format!(
            "{} {}…",
            entity_type_label(&id.entity_type),
            uuid.get(..8).unwrap_or(&uuid)
        )
    } else {
        name.clone()
    }
}

/// A search field with its result list, and at most one chosen entity.
#[derive(Debug, Clone)]
pub(crate) struct EntityPicker {
    /// The type searched.
    pub(crate) entity_type: EntityType,
    /// The search text.
    pub(crate) text: String,
    /// The chosen entity.
    pub(crate) chosen: Option<Named>,
    /// The request whose answer is awaited (older answers are ignored).
    pending: Option<u64>,
    /// Whether the pending request was answered.
    answered: bool,
    /// The text last searched, so an unchanged text is not searched again.
    last_requested: String,
    /// The answer to the pending request.
    results: Vec<Named>,
}

impl EntityPicker {
    /// A picker searching entities of `entity_type`.
    pub(crate) fn new(entity_type: EntityType) -> Self {
        Self {
            entity_type,
            text: String::new(),
            chosen: None,
            pending: None,
            answered: false,
            last_requested: String::new(),
            results: Vec::new(),
        }
    }

    /// A picker showing `id` as chosen (its name is not known).
    pub(crate) fn with_id(id: EntityId) -> Self {
        let mut picker = Self::new(id.entity_type.clone());
        picker.chosen = Some((id, String::new()));
        picker
    }

    /// Whether this picker waits for the answer to `request_id`.
    pub(crate) fn waits_for(&self, request_id: u64) -> bool {
        self.pending == Some(request_id)
    }

    /// Takes the answer to its pending request.
    pub(crate) fn deliver(&mut self, results: Vec<Named>) {
        self.results = results;
        self.answered = true;
    }

    /// Draws the search field (and a type choice when `choose_type`) and the results;
    /// returns the result the user clicked.
    pub(crate) fn search_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &mut FormCtx<'_>,
        label: &str,
        salt: &str,
        choose_type: bool,
    ) -> Option<Named> {
        let mut type_changed = false;
        if choose_type {
            type_changed = combo_row(
                ui,
                "Search in",
                &format!("{salt}_type"),
                &mut self.entity_type,
                entity_types(),
                entity_type_label,
            );
        }
        let response = text_row(ui, label, &mut self.text, salt, "type a name to search");
        if response.changed() || type_changed {
            self.search_if_new(ctx, type_changed);
        }
        self.results_ui(ui)
    }

    /// Asks the app to search when the text changed and is not blank.
    fn search_if_new(&mut self, ctx: &mut FormCtx<'_>, force: bool) {
        let text = self.text.trim().to_owned();
        if text.is_empty() {
            self.forget_search();
            return;
        }
        if text == self.last_requested && !force {
            return;
        }
        let request_id = ctx.request_id();
        self.pending = Some(request_id);
        self.answered = false;
        self.results.clear();
        self.last_requested.clone_from(&text);
        ctx.actions.push(QueryAction::SearchEntities {
            request_id,
            entity_type: self.entity_type.clone(),
            text,
        });
    }

    fn forget_search(&mut self) {
        self.pending = None;
        self.answered = false;
        self.results.clear();
        self.last_requested.clear();
    }

    fn results_ui(&mut self, ui: &mut egui::Ui) -> Option<Named> {
        self.pending?;
        if !self.answered {
            ui.weak("Searching…");
            return None;
        }
        if self.results.is_empty() {
            ui.weak(format!(
                "No {} matches",
                entity_type_label(&self.entity_type).to_lowercase()
            ));
            return None;
        }
        let mut picked = None;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            for result in self.results.iter().take(MAX_RESULTS_SHOWN) {
                if ui.selectable_label(false, display_name(result)).clicked() {
                    picked = Some(result.clone());
                }
            }
            if self.results.len() > MAX_RESULTS_SHOWN {
                ui.weak(format!(
                    "{} more; type more of the name",
                    self.results.len() - MAX_RESULTS_SHOWN
                ));
            }
        });
        if picked.is_some() {
            self.text.clear();
            self.forget_search();
        }
        picked
    }

    /// The single-entity form: the chosen entity (labelled `label`) with "Clear", then the
    /// search field (labelled `search_label`).
    pub(crate) fn single_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &mut FormCtx<'_>,
        (label, search_label): (&str, &str),
        salt: &str,
        choose_type: bool,
    ) {
        if let Some(chosen) = &self.chosen {
            let shown = display_name(chosen);
            let mut clear = false;
            ui.horizontal(|ui| {
                ui.label(label);
                ui.strong(shown);
                clear = ui
                    .small_button("Clear")
                    .on_hover_text(format!("clear the {}", label.to_lowercase()))
                    .clicked();
            });
            if clear {
                self.chosen = None;
            }
        }
        if let Some(picked) = self.search_ui(ui, ctx, search_label, salt, choose_type) {
            self.chosen = Some(picked);
        }
    }
}

/// Several entities of one type: the chosen list, then a search adding to it.
#[derive(Debug, Clone)]
pub(crate) struct EntityListPicker {
    /// The search adding entities.
    pub(crate) search: EntityPicker,
    /// The chosen entities, in order.
    pub(crate) items: Vec<Named>,
}

impl EntityListPicker {
    /// An empty list of `entity_type` entities.
    pub(crate) fn new(entity_type: EntityType) -> Self {
        Self {
            search: EntityPicker::new(entity_type),
            items: Vec::new(),
        }
    }

    /// A list of known ids (names unknown).
    pub(crate) fn with_ids(entity_type: EntityType, ids: &[uuid::Uuid]) -> Self {
        let items = ids
            .iter()
            .map(|id| (EntityId::new(entity_type.clone(), *id), String::new()))
            .collect();
        Self {
            search: EntityPicker::new(entity_type),
            items,
        }
    }

    /// The type of the listed entities.
    pub(crate) fn entity_type(&self) -> &EntityType {
        &self.search.entity_type
    }

    /// Changes the type; entities of another type leave the list.
    pub(crate) fn set_entity_type(&mut self, entity_type: &EntityType) {
        if self.search.entity_type != *entity_type {
            self.search.entity_type = entity_type.clone();
            self.items.retain(|(id, _)| id.entity_type == *entity_type);
            self.search.forget_search();
        }
    }

    /// The chosen UUIDs.
    pub(crate) fn uuids(&self) -> Vec<uuid::Uuid> {
        self.items.iter().map(|(id, _)| id.id).collect()
    }

    /// Draws the list with "Remove" per entity and the search adding one.
    pub(crate) fn list_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &mut FormCtx<'_>,
        label: &str,
        salt: &str,
    ) {
        let mut remove = None;
        for (i, item) in self.items.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(display_name(item));
                if remove_button(ui, "this entity") {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            self.items.remove(i);
        }
        if let Some(picked) = self.search.search_ui(ui, ctx, label, salt, false)
            && !self.items.iter().any(|(id, _)| *id == picked.0)
        {
            self.items.push(picked);
        }
    }
}

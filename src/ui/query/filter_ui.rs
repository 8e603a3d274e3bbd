//! Drawing the entity filter form: a type drop-down, then the fields of that type.

use crate::protocol::{EntityAlias, EntitySearchDirection, EntityType};

use super::filter_form::{FilterForm, FilterKind, RelationFilterRow, RootForm, TypeList};
use super::widgets::{
    FormCtx, capitalized, combo_row, entity_type_label, entity_types, remove_button, text_row,
};

const ROOT_CHOICES: [Option<EntityAlias>; 5] = [
    None,
    Some(EntityAlias::CurrentCustomer),
    Some(EntityAlias::CurrentTenant),
    Some(EntityAlias::CurrentUser),
    Some(EntityAlias::CurrentUserOwner),
];

fn root_choice_label(choice: Option<&EntityAlias>) -> String {
    match choice {
        None => "An entity picked by name".to_owned(),
        Some(EntityAlias::CurrentCustomer) => "The current customer".to_owned(),
        Some(EntityAlias::CurrentTenant) => "The current tenant".to_owned(),
        Some(EntityAlias::CurrentUser) => "The current user".to_owned(),
        Some(EntityAlias::CurrentUserOwner) => "The current user's owner".to_owned(),
        Some(EntityAlias::Unknown(name)) => name.clone(),
    }
}

fn direction_label(d: Option<&EntitySearchDirection>) -> String {
    match d {
        Some(EntitySearchDirection::From) => "From the root (outgoing)".to_owned(),
        Some(EntitySearchDirection::To) => "To the root (incoming)".to_owned(),
        Some(EntitySearchDirection::Unknown(name)) => name.clone(),
        None => "Not set".to_owned(),
    }
}

impl FilterForm {
    /// Draws the form.
    pub(crate) fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut FormCtx<'_>) {
        combo_row(
            ui,
            "Filter type",
            "filter_kind",
            &mut self.kind,
            &FilterKind::ALL,
            |k| k.label().to_owned(),
        );
        match self.kind {
            FilterKind::SingleEntity => self.root_ui(ui, ctx, "Entity"),
            FilterKind::EntityList => {
                self.entity_type_ui(ui);
                self.list
                    .list_ui(ui, ctx, "Add entity", "entity_list_search");
                ctx.problems_at(ui, "entity_filter.list");
            }
            FilterKind::EntityName => {
                self.entity_type_ui(ui);
                self.name_ui(ui, ctx);
            }
            FilterKind::EntityType => self.entity_type_ui(ui),
            FilterKind::ApiUsageState => {
                self.customer.single_ui(
                    ui,
                    ctx,
                    ("Customer", "Find customer"),
                    "usage_customer",
                    false,
                );
                ui.weak("Without a customer: the tenant's usage");
            }
            FilterKind::RelationsQuery => self.relations_ui(ui, ctx),
            kind if kind.is_profile_type() => {
                types_ui(
                    ui,
                    ctx,
                    &mut self.types,
                    kind.types_noun().unwrap_or("type"),
                );
                self.name_ui(ui, ctx);
            }
            _ => self.search_query_ui(ui, ctx),
        }
    }

    fn entity_type_ui(&mut self, ui: &mut egui::Ui) {
        if combo_row(
            ui,
            "Entity type",
            "filter_entity_type",
            &mut self.entity_type,
            entity_types(),
            entity_type_label,
        ) {
            self.list.set_entity_type(&self.entity_type);
        }
    }

    fn name_ui(&mut self, ui: &mut egui::Ui, ctx: &FormCtx<'_>) {
        let hint = if self.kind == FilterKind::EntityName {
            "e.g. Pump, or %pump% anywhere"
        } else {
            "optional, e.g. T-"
        };
        text_row(
            ui,
            "Name starts with",
            &mut self.name_filter,
            "name_filter",
            hint,
        );
        ctx.problems_at(ui, "entity_filter.name");
    }

    fn root_ui(&mut self, ui: &mut egui::Ui, ctx: &mut FormCtx<'_>, label: &str) {
        root_form_ui(ui, ctx, &mut self.root, label);
        ctx.problems_at(ui, "entity_filter.root");
    }

    fn relation_common_ui(&mut self, ui: &mut egui::Ui, ctx: &FormCtx<'_>) {
        combo_row(
            ui,
            "Direction",
            "relation_direction",
            &mut self.direction,
            &[
                Some(EntitySearchDirection::From),
                Some(EntitySearchDirection::To),
            ],
            |d| direction_label(d.as_ref()),
        );
        ctx.problems_at(ui, "entity_filter.direction");
        text_row(
            ui,
            "Levels",
            &mut self.max_level,
            "max_level",
            "empty: all levels",
        );
        ctx.problems_at(ui, "entity_filter.max_level");
        ui.checkbox(&mut self.fetch_last_level_only, "Only the last level");
    }

    fn relations_ui(&mut self, ui: &mut egui::Ui, ctx: &mut FormCtx<'_>) {
        ui.checkbox(&mut self.multi_root, "Start from several entities");
        if self.multi_root {
            let mut roots_type = self.multi_roots.entity_type().clone();
            if combo_row(
                ui,
                "Roots type",
                "multi_root_type",
                &mut roots_type,
                entity_types(),
                entity_type_label,
            ) {
                self.multi_roots.set_entity_type(&roots_type);
            }
            self.multi_roots
                .list_ui(ui, ctx, "Add root entity", "multi_root_search");
            ctx.problems_at(ui, "entity_filter.multi_roots");
        } else {
            self.root_ui(ui, ctx, "Root entity");
        }
        self.relation_common_ui(ui, ctx);
        ui.label("Relation filters (none: every relation)");
        let mut remove = None;
        for (i, row) in self.relation_filters.iter_mut().enumerate() {
            ui.push_id(("relation_filter", i), |ui| {
                if relation_filter_ui(ui, row) {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            self.relation_filters.remove(i);
        }
        if ui.button("Add relation filter").clicked() {
            self.relation_filters.push(RelationFilterRow {
                relation_type: "Contains".to_owned(),
                ..RelationFilterRow::default()
            });
        }
        ui.checkbox(&mut self.negate, "Invert the query (entities not reached)");
        self.state_entity_ui(ui, ctx);
    }

    fn search_query_ui(&mut self, ui: &mut egui::Ui, ctx: &mut FormCtx<'_>) {
        self.root_ui(ui, ctx, "Root entity");
        text_row(
            ui,
            "Relation type",
            &mut self.relation_type,
            "search_relation_type",
            "e.g. Contains; empty: any",
        );
        self.relation_common_ui(ui, ctx);
        let noun = self.kind.types_noun().unwrap_or("type");
        types_ui(ui, ctx, &mut self.types, noun);
        ui.weak(format!("Without a {noun}: any"));
        self.state_entity_ui(ui, ctx);
    }

    fn state_entity_ui(&mut self, ui: &mut egui::Ui, ctx: &mut FormCtx<'_>) {
        egui::CollapsingHeader::new("Dashboard state")
            .id_salt("dashboard_state")
            .default_open(self.root_state_entity)
            .show(ui, |ui| {
                ui.checkbox(
                    &mut self.root_state_entity,
                    "Use the dashboard state entity as root",
                );
                self.default_state.single_ui(
                    ui,
                    ctx,
                    ("Default state entity", "Find default state entity"),
                    "default_state",
                    true,
                );
            });
    }
}

/// A root or single entity: an alias, or an entity picked by name.
fn root_form_ui(ui: &mut egui::Ui, ctx: &mut FormCtx<'_>, root: &mut RootForm, label: &str) {
    combo_row(
        ui,
        label,
        &format!("{label}_choice"),
        &mut root.alias,
        &ROOT_CHOICES,
        |c| root_choice_label(c.as_ref()),
    );
    if root.alias.is_none() {
        let search = format!("Find {}", label.to_lowercase());
        root.picker.single_ui(
            ui,
            ctx,
            ("Chosen", &search),
            &format!("{label}_search"),
            true,
        );
    }
}

/// One relation filter row; returns whether "Remove" was clicked.
fn relation_filter_ui(ui: &mut egui::Ui, row: &mut RelationFilterRow) -> bool {
    let mut remove = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        text_row(
            ui,
            "Relation type",
            &mut row.relation_type,
            "relation_type",
            "e.g. Contains; empty: any",
        );
        ui.horizontal(|ui| {
            let l = ui.label("Entity types");
            entity_types_ui(ui, &mut row.entity_types).labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            ui.checkbox(&mut row.negate, "Exclude these");
            remove = remove_button(ui, "this relation filter");
        });
    });
    remove
}

/// A multi-select drop-down of entity types ("Any" when none is ticked).
fn entity_types_ui(ui: &mut egui::Ui, chosen: &mut Vec<EntityType>) -> egui::Response {
    let text = if chosen.is_empty() {
        "Any".to_owned()
    } else {
        chosen
            .iter()
            .map(entity_type_label)
            .collect::<Vec<_>>()
            .join(", ")
    };
    egui::ComboBox::from_id_salt("entity_types")
        .selected_text(text)
        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
        .show_ui(ui, |ui| {
            let unknown = chosen.iter().filter(|t| !t.is_known()).cloned();
            let all: Vec<EntityType> = entity_types().iter().cloned().chain(unknown).collect();
            for t in all {
                let mut on = chosen.contains(&t);
                if ui.checkbox(&mut on, entity_type_label(&t)).changed() {
                    if on {
                        chosen.push(t);
                    } else {
                        chosen.retain(|c| *c != t);
                    }
                }
            }
        })
        .response
}

/// Profile type names: the added ones with "Remove", then a field adding more (a comma
/// or Enter adds; what is left in the field counts too).
fn types_ui(ui: &mut egui::Ui, ctx: &FormCtx<'_>, types: &mut TypeList, noun: &str) {
    let mut remove = None;
    for (i, name) in types.items.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(name);
            if remove_button(ui, &format!("this {noun}")) {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        types.items.remove(i);
    }
    let label = format!("{}s", capitalized(noun));
    let r = text_row(
        ui,
        &label,
        &mut types.input,
        "types_input",
        "name; Enter or comma adds",
    );
    if (r.changed() && types.input.contains(','))
        || (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
    {
        types.commit();
    }
    ctx.problems_at(ui, "entity_filter.types");
}

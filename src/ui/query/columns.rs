//! Columns (entity fields and latest values), sort, paging, text search and dynamic refresh.

use crate::protocol::{
    EntityDataPageLink, EntityDataSortOrder, EntityKey, EntityKeyType, SortDirection,
};

use super::validate::{MAX_PAGE_SIZE, Problems, non_blank};
use super::widgets::{
    FormCtx, KEY_TYPES, combo, combo_row, key_type_label, pick_key_ui, remove_button, text_row,
};
use crate::ui::thousands;

/// Entity fields every entity has (§6), offered before the server reports any.
pub(crate) const COMMON_ENTITY_FIELDS: [&str; 9] = [
    "name",
    "label",
    "type",
    "createdTime",
    "displayName",
    "ownerName",
    "ownerType",
    "entityType",
    "additionalInfo",
];

/// Keys the app reported for the matched entities.
#[derive(Debug, Clone, Default)]
pub(crate) struct AvailableKeys {
    /// Entity field names.
    pub(crate) fields: Vec<String>,
    /// Attribute names (any scope).
    pub(crate) attributes: Vec<String>,
    /// Time series keys.
    pub(crate) timeseries: Vec<String>,
}

impl AvailableKeys {
    /// The names known for keys of `key_type`.
    pub(crate) fn for_type(&self, key_type: &EntityKeyType) -> Vec<String> {
        match key_type {
            EntityKeyType::EntityField => {
                let mut out: Vec<String> = COMMON_ENTITY_FIELDS
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect();
                for f in &self.fields {
                    if !out.contains(f) {
                        out.push(f.clone());
                    }
                }
                out
            }
            EntityKeyType::TimeSeries => self.timeseries.clone(),
            t if t.is_attribute() => self.attributes.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether [`AvailableKeys::for_type`] lists any name, without building the list.
    pub(crate) fn has_any(&self, key_type: &EntityKeyType) -> bool {
        match key_type {
            EntityKeyType::EntityField => true,
            EntityKeyType::TimeSeries => !self.timeseries.is_empty(),
            t if t.is_attribute() => !self.attributes.is_empty(),
            _ => false,
        }
    }
}

/// The columns of the query.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    /// `entityFields`, in order.
    pub(crate) entity_fields: Vec<EntityKey>,
    /// `latestValues`, in order.
    pub(crate) latest: Vec<EntityKey>,
    /// Key type of a typed-in column.
    pub(crate) add_type: EntityKeyType,
    /// Name of a typed-in column.
    pub(crate) add_text: String,
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            entity_fields: ["name", "type", "label"]
                .into_iter()
                .map(EntityKey::field)
                .collect(),
            latest: Vec::new(),
            add_type: EntityKeyType::TimeSeries,
            add_text: String::new(),
        }
    }
}

/// Paging, sort, search and refresh.
#[derive(Debug, Clone)]
pub(crate) struct Paging {
    /// Rows per page as typed.
    pub(crate) page_size: String,
    /// Zero-based page (the table pages; the builder keeps it for round trips).
    pub(crate) page: i32,
    /// Text search.
    pub(crate) text_search: String,
    /// The sort key.
    pub(crate) sort: Option<EntityKey>,
    /// The sort direction.
    pub(crate) direction: SortDirection,
    /// Re-run the query so entities entering or leaving show up.
    pub(crate) dynamic: bool,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            page_size: "50".to_owned(),
            page: 0,
            text_search: String::new(),
            sort: Some(EntityKey::field("name")),
            direction: SortDirection::Asc,
            dynamic: true,
        }
    }
}

impl Paging {
    /// The page link showing `link`.
    pub(crate) fn from_link(link: &EntityDataPageLink) -> Self {
        Self {
            page_size: link.page_size.to_string(),
            page: link.page,
            text_search: link.text_search.clone().unwrap_or_default(),
            sort: link.sort_order.as_ref().map(|s| s.key.clone()),
            direction: link
                .sort_order
                .as_ref()
                .map_or(SortDirection::Asc, |s| s.direction.clone()),
            dynamic: link.dynamic,
        }
    }

    /// The page link; problems are recorded under `paging`.
    pub(crate) fn build(&self, p: &mut Problems) -> EntityDataPageLink {
        let path = "paging.page_size";
        let text = self.page_size.trim();
        let page_size = match text.parse::<i64>() {
            Ok(n) if n > i64::from(MAX_PAGE_SIZE) => {
                p.push(
                    path,
                    format!(
                        "A page holds at most {} entities (the server's limit for one live \
                         subscription); use a smaller page and page through the rest",
                        thousands(MAX_PAGE_SIZE.into())
                    ),
                );
                None
            }
            _ => p.whole(path, text, 1, MAX_PAGE_SIZE),
        };
        if let Some(key) = &self.sort {
            p.required("paging.sort", &key.key, "Choose the column to sort by");
        }
        EntityDataPageLink {
            page_size: page_size.unwrap_or(1),
            page: self.page,
            text_search: non_blank(&self.text_search),
            sort_order: self.sort.as_ref().map(|key| EntityDataSortOrder {
                key: key.clone(),
                direction: self.direction.clone(),
            }),
            dynamic: self.dynamic,
        }
    }
}

/// `Some(list)` unless empty.
pub(crate) fn non_empty(keys: &[EntityKey]) -> Option<Vec<EntityKey>> {
    (!keys.is_empty()).then(|| keys.to_vec())
}

fn column_label(key: &EntityKey) -> String {
    format!(
        "{} ({})",
        key.key,
        key_type_label(&key.key_type).to_lowercase()
    )
}

impl Columns {
    fn contains(&self, key: &EntityKey) -> bool {
        self.entity_fields.contains(key) || self.latest.contains(key)
    }

    /// Adds a column unless it is there already.
    fn add(&mut self, key: EntityKey) {
        if key.key.trim().is_empty() || self.contains(&key) {
            return;
        }
        if key.key_type == EntityKeyType::EntityField {
            self.entity_fields.push(key);
        } else {
            self.latest.push(key);
        }
    }

    /// Every column, for the sort drop-down.
    fn all(&self) -> impl Iterator<Item = &EntityKey> {
        self.entity_fields.iter().chain(&self.latest)
    }

    /// Draws the columns, the known keys to add and a typed-in key.
    pub(crate) fn ui(&mut self, ui: &mut egui::Ui, ctx: &FormCtx<'_>) {
        ui.weak("Entity fields");
        keys_ui(ui, "field", &mut self.entity_fields, false);
        ui.weak("Latest values");
        if self.latest.is_empty() {
            ui.weak("none yet: add attributes or time series below");
        }
        keys_ui(ui, "latest", &mut self.latest, true);
        self.add_known_ui(ui, ctx);
        ui.push_id("typed_column", |ui| {
            combo_row(
                ui,
                "New column type",
                "add_type",
                &mut self.add_type,
                &KEY_TYPES,
                key_type_label,
            );
            text_row(
                ui,
                "New column key",
                &mut self.add_text,
                "add_text",
                "key name",
            );
        });
        if ui
            .add_enabled(
                !self.add_text.trim().is_empty(),
                egui::Button::new("Add column"),
            )
            .clicked()
        {
            let key = EntityKey::new(self.add_type.clone(), self.add_text.trim());
            self.add(key);
            self.add_text.clear();
        }
    }

    /// A drop-down of the keys the app knows that are not columns yet.
    fn add_known_ui(&mut self, ui: &mut egui::Ui, ctx: &FormCtx<'_>) {
        let groups = [
            EntityKeyType::EntityField,
            EntityKeyType::TimeSeries,
            EntityKeyType::Attribute,
        ];
        let mut picked = None;
        pick_key_ui(ui, "Add a known key", "add_known_key", |ui| {
            for key_type in &groups {
                let keys: Vec<EntityKey> = ctx
                    .available
                    .for_type(key_type)
                    .into_iter()
                    .map(|k| EntityKey::new(key_type.clone(), k))
                    .filter(|k| !self.contains(k))
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                ui.weak(key_type_label(key_type));
                for key in keys {
                    if ui.selectable_label(false, &key.key).clicked() {
                        picked = Some(key);
                    }
                }
            }
        });
        if let Some(key) = picked {
            self.add(key);
        }
    }
}

/// A list of columns with "Move up" and "Remove"; latest values also get a key type choice.
fn keys_ui(ui: &mut egui::Ui, salt: &str, keys: &mut Vec<EntityKey>, typed: bool) {
    let mut remove = None;
    let mut up = None;
    for (i, key) in keys.iter_mut().enumerate() {
        ui.push_id((salt, i), |ui| {
            ui.horizontal(|ui| {
                let l = ui.label(&key.key);
                if typed {
                    combo(
                        ui,
                        "key_type",
                        &mut key.key_type,
                        &KEY_TYPES[1..],
                        &key_type_label,
                    )
                    .labelled_by(l.id);
                }
                if i > 0
                    && ui
                        .small_button("Move up")
                        .on_hover_text(format!("move {} one column left", key.key))
                        .clicked()
                {
                    up = Some(i);
                }
                if remove_button(ui, &format!("the {} column", key.key)) {
                    remove = Some(i);
                }
            });
        });
    }
    if let Some(i) = up {
        keys.swap(i - 1, i);
    }
    if let Some(i) = remove {
        keys.remove(i);
    }
}

fn sort_label(key: Option<&EntityKey>) -> String {
    key.map_or_else(|| "Not sorted".to_owned(), column_label)
}

/// Draws sort, paging, text search and dynamic refresh.
pub(crate) fn paging_ui(
    ui: &mut egui::Ui,
    ctx: &FormCtx<'_>,
    paging: &mut Paging,
    columns: &Columns,
) {
    let mut options: Vec<Option<EntityKey>> = vec![None];
    options.extend(columns.all().cloned().map(Some));
    combo_row(ui, "Sort by", "sort_key", &mut paging.sort, &options, |k| {
        sort_label(k.as_ref())
    });
    ctx.problems_at(ui, "paging.sort");
    if paging.sort.is_some() {
        combo_row(
            ui,
            "Direction",
            "sort_direction",
            &mut paging.direction,
            &[SortDirection::Asc, SortDirection::Desc],
            |d| match d {
                SortDirection::Asc => "Ascending".to_owned(),
                SortDirection::Desc => "Descending".to_owned(),
                SortDirection::Unknown(name) => name.clone(),
            },
        );
    }
    text_row(
        ui,
        "Page size",
        &mut paging.page_size,
        "page_size",
        "1 to 10,000",
    );
    ctx.problems_at(ui, "paging.page_size");
    text_row(
        ui,
        "Text search",
        &mut paging.text_search,
        "text_search",
        "part of a name or value",
    );
    ui.checkbox(&mut paging.dynamic, "Dynamic: pick up entities added later")
        .on_hover_text("the server re-runs the query every minute");
}

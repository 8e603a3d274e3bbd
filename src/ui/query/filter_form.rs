//! The entity filter form: one state for every filter type of §6, so switching the type
//! keeps what was typed where the types share a field (root entity, profile types, name).

use uuid::Uuid;

use crate::protocol::{
    AliasEntityId, ApiUsageStateFilter, AssetSearchQueryFilter, AssetTypeFilter,
    DeviceSearchQueryFilter, DeviceTypeFilter, EdgeSearchQueryFilter, EdgeTypeFilter, EntityAlias,
    EntityFilter, EntityListFilter, EntityNameFilter, EntitySearchDirection, EntityType,
    EntityTypeFilter, EntityTypeOrAlias, EntityViewSearchQueryFilter, EntityViewTypeFilter,
    RelationEntityTypeFilter, RelationsQueryFilter, SingleEntityFilter,
};

use super::picker::{EntityListPicker, EntityPicker};
use super::validate::{Problems, non_blank};

/// The 14 entity filter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterKind {
    SingleEntity,
    EntityList,
    EntityName,
    EntityType,
    AssetType,
    DeviceType,
    EntityViewType,
    EdgeType,
    ApiUsageState,
    RelationsQuery,
    AssetSearchQuery,
    DeviceSearchQuery,
    EntityViewSearchQuery,
    EdgeSearchQuery,
}

impl FilterKind {
    /// Every type, in the order the form offers them.
    pub(crate) const ALL: [FilterKind; 14] = [
        FilterKind::EntityType,
        FilterKind::SingleEntity,
        FilterKind::EntityList,
        FilterKind::EntityName,
        FilterKind::DeviceType,
        FilterKind::AssetType,
        FilterKind::EntityViewType,
        FilterKind::EdgeType,
        FilterKind::ApiUsageState,
        FilterKind::RelationsQuery,
        FilterKind::DeviceSearchQuery,
        FilterKind::AssetSearchQuery,
        FilterKind::EntityViewSearchQuery,
        FilterKind::EdgeSearchQuery,
    ];

    /// The name in the type drop-down (ThingsBoard's names).
    pub(crate) fn label(self) -> &'static str {
        match self {
            FilterKind::SingleEntity => "Single entity",
            FilterKind::EntityList => "Entity list",
            FilterKind::EntityName => "Entity name",
            FilterKind::EntityType => "Entity type",
            FilterKind::AssetType => "Asset type",
            FilterKind::DeviceType => "Device type",
            FilterKind::EntityViewType => "Entity view type",
            FilterKind::EdgeType => "Edge type",
            FilterKind::ApiUsageState => "API usage state",
            FilterKind::RelationsQuery => "Relations query",
            FilterKind::AssetSearchQuery => "Asset search query",
            FilterKind::DeviceSearchQuery => "Device search query",
            FilterKind::EntityViewSearchQuery => "Entity view search query",
            FilterKind::EdgeSearchQuery => "Edge search query",
        }
    }

    /// What the profile types of a `*Type` or `*SearchQuery` filter are called.
    pub(crate) fn types_noun(self) -> Option<&'static str> {
        match self {
            FilterKind::AssetType | FilterKind::AssetSearchQuery => Some("asset type"),
            FilterKind::DeviceType | FilterKind::DeviceSearchQuery => Some("device type"),
            FilterKind::EntityViewType | FilterKind::EntityViewSearchQuery => {
                Some("entity view type")
            }
            FilterKind::EdgeType | FilterKind::EdgeSearchQuery => Some("edge type"),
            _ => None,
        }
    }

    /// Whether this is one of the four profile type filters.
    pub(crate) fn is_profile_type(self) -> bool {
        matches!(
            self,
            FilterKind::AssetType
                | FilterKind::DeviceType
                | FilterKind::EntityViewType
                | FilterKind::EdgeType
        )
    }
}

/// A root or single entity: a picked entity or a `CURRENT_*` alias.
#[derive(Debug, Clone)]
pub(crate) struct RootForm {
    /// The alias, when the root is not a picked entity.
    pub(crate) alias: Option<EntityAlias>,
    /// The alias's default id, kept from an import (never typed).
    pub(crate) alias_id: Option<Uuid>,
    /// The picked entity.
    pub(crate) picker: EntityPicker,
}

impl RootForm {
    fn new() -> Self {
        Self {
            alias: None,
            alias_id: None,
            picker: EntityPicker::new(EntityType::Device),
        }
    }

    pub(crate) fn from_id(id: &AliasEntityId) -> Self {
        let mut form = Self::new();
        match &id.entity_type {
            EntityTypeOrAlias::Alias(alias) => {
                form.alias = Some(alias.clone());
                form.alias_id = id.id;
            }
            EntityTypeOrAlias::Entity(t) => {
                form.picker = match id.id {
                    Some(uuid) => {
                        EntityPicker::with_id(crate::protocol::EntityId::new(t.clone(), uuid))
                    }
                    None => EntityPicker::new(t.clone()),
                };
            }
        }
        form
    }

    /// The id, or `None` when nothing is chosen.
    pub(crate) fn build(&self) -> Option<AliasEntityId> {
        match &self.alias {
            Some(alias) => Some(AliasEntityId {
                entity_type: EntityTypeOrAlias::Alias(alias.clone()),
                id: self.alias_id,
            }),
            None => self
                .picker
                .chosen
                .as_ref()
                .map(|(id, _)| AliasEntityId::from(id.clone())),
        }
    }
}

/// A relation filter row of a relations query.
#[derive(Debug, Clone, Default)]
pub(crate) struct RelationFilterRow {
    /// Relation type; empty means any.
    pub(crate) relation_type: String,
    /// Entity types kept; empty means any.
    pub(crate) entity_types: Vec<EntityType>,
    /// Invert this row.
    pub(crate) negate: bool,
}

/// Profile type names: the added ones plus what is still in the input field.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeList {
    /// Added names.
    pub(crate) items: Vec<String>,
    /// The input field (a comma adds what is before it).
    pub(crate) input: String,
}

impl TypeList {
    /// The names, with a pending input counted too.
    pub(crate) fn values(&self) -> Vec<String> {
        let mut out = self.items.clone();
        for part in self.input.split(',') {
            let part = part.trim();
            if !part.is_empty() && !out.iter().any(|t| t == part) {
                out.push(part.to_owned());
            }
        }
        out
    }

    /// Moves the input into the items.
    pub(crate) fn commit(&mut self) {
        self.items = self.values();
        self.input.clear();
    }
}

/// The entity filter being edited.
#[derive(Debug, Clone)]
pub(crate) struct FilterForm {
    /// The filter type.
    pub(crate) kind: FilterKind,
    /// Entity type of entity list, entity name and entity type filters.
    pub(crate) entity_type: EntityType,
    /// Single entity, or the root of relation and search queries.
    pub(crate) root: RootForm,
    /// The entities of an entity list (of `entity_type`).
    pub(crate) list: EntityListPicker,
    /// Name prefix or pattern.
    pub(crate) name_filter: String,
    /// Profile types.
    pub(crate) types: TypeList,
    /// The customer of an API usage state filter (the tenant's when none).
    pub(crate) customer: EntityPicker,
    /// Relation direction.
    pub(crate) direction: Option<EntitySearchDirection>,
    /// Relation levels as typed (empty: all levels).
    pub(crate) max_level: String,
    /// Keep only the last level.
    pub(crate) fetch_last_level_only: bool,
    /// Relation filters of a relations query.
    pub(crate) relation_filters: Vec<RelationFilterRow>,
    /// Relation type of a search query (empty: any).
    pub(crate) relation_type: String,
    /// Start a relations query from several roots.
    pub(crate) multi_root: bool,
    /// The roots of a multi-root relations query.
    pub(crate) multi_roots: EntityListPicker,
    /// Invert a relations query.
    pub(crate) negate: bool,
    /// Use the dashboard state entity as root.
    pub(crate) root_state_entity: bool,
    /// Fallback root when the state entity is absent.
    pub(crate) default_state: EntityPicker,
}

impl Default for FilterForm {
    fn default() -> Self {
        Self {
            kind: FilterKind::EntityType,
            entity_type: EntityType::Device,
            root: RootForm::new(),
            list: EntityListPicker::new(EntityType::Device),
            name_filter: String::new(),
            types: TypeList::default(),
            customer: EntityPicker::new(EntityType::Customer),
            direction: Some(EntitySearchDirection::From),
            max_level: "1".to_owned(),
            fetch_last_level_only: false,
            relation_filters: Vec::new(),
            relation_type: "Contains".to_owned(),
            multi_root: false,
            multi_roots: EntityListPicker::new(EntityType::Device),
            negate: false,
            root_state_entity: false,
            default_state: EntityPicker::new(EntityType::Device),
        }
    }
}

const PATH: &str = "entity_filter";

impl FilterForm {
    /// The picker waiting for the answer to `request_id`.
    pub(crate) fn picker_for(&mut self, request_id: u64) -> Option<&mut EntityPicker> {
        [
            &mut self.root.picker,
            &mut self.list.search,
            &mut self.customer,
            &mut self.multi_roots.search,
            &mut self.default_state,
        ]
        .into_iter()
        .find(|p| p.waits_for(request_id))
    }

    /// The filter; problems are recorded under `entity_filter`.
    pub(crate) fn build(&self, p: &mut Problems) -> EntityFilter {
        match self.kind {
            FilterKind::SingleEntity => {
                let root = self.root.build();
                if root.is_none() {
                    p.push(
                        &format!("{PATH}.root"),
                        "Choose an entity, or the current customer, tenant or user",
                    );
                }
                EntityFilter::SingleEntity(SingleEntityFilter {
                    single_entity: root,
                })
            }
            FilterKind::EntityList => {
                if self.list.items.is_empty() {
                    p.push(&format!("{PATH}.list"), "Add at least one entity");
                }
                EntityFilter::EntityList(EntityListFilter {
                    entity_type: self.entity_type.clone(),
                    entity_list: self.list.uuids(),
                })
            }
            FilterKind::EntityName => {
                p.required(
                    &format!("{PATH}.name"),
                    &self.name_filter,
                    "Type the start of the name, or a pattern with %",
                );
                EntityFilter::EntityName(EntityNameFilter {
                    entity_type: self.entity_type.clone(),
                    entity_name_filter: self.name_filter.clone(),
                })
            }
            FilterKind::EntityType => EntityFilter::EntityType(EntityTypeFilter {
                entity_type: self.entity_type.clone(),
            }),
            FilterKind::ApiUsageState => EntityFilter::ApiUsageState(ApiUsageStateFilter {
                customer_id: self.customer.chosen.as_ref().map(|(id, _)| id.clone()),
            }),
            FilterKind::RelationsQuery => EntityFilter::RelationsQuery(self.relations(p)),
            kind if kind.is_profile_type() => self.profile_type(p),
            _ => self.search_query(p),
        }
    }

    fn profile_types(&self, p: &mut Problems) -> Vec<String> {
        let types = self.types.values();
        if types.is_empty() {
            let noun = self.kind.types_noun().unwrap_or("type");
            p.push(&format!("{PATH}.types"), format!("Add at least one {noun}"));
        }
        types
    }

    fn profile_type(&self, p: &mut Problems) -> EntityFilter {
        let types = Some(self.profile_types(p));
        let name = non_blank(&self.name_filter);
        match self.kind {
            FilterKind::AssetType => EntityFilter::AssetType(AssetTypeFilter {
                asset_types: types,
                asset_type: None,
                asset_name_filter: name,
            }),
            FilterKind::EntityViewType => EntityFilter::EntityViewType(EntityViewTypeFilter {
                entity_view_types: types,
                entity_view_type: None,
                entity_view_name_filter: name,
            }),
            FilterKind::EdgeType => EntityFilter::EdgeType(EdgeTypeFilter {
                edge_types: types,
                edge_type: None,
                edge_name_filter: name,
            }),
            _ => EntityFilter::DeviceType(DeviceTypeFilter {
                device_types: types,
                device_type: None,
                device_name_filter: name,
            }),
        }
    }

    fn direction(&self, p: &mut Problems) -> Option<EntitySearchDirection> {
        if self.direction.is_none() {
            p.push(&format!("{PATH}.direction"), "Choose a direction");
        }
        self.direction.clone()
    }

    fn max_level(&self, p: &mut Problems) -> Option<i32> {
        if self.max_level.trim().is_empty() {
            return None;
        }
        p.whole(&format!("{PATH}.max_level"), &self.max_level, 0, i32::MAX)
    }

    /// The root, required unless another source of roots is on.
    fn root(&self, p: &mut Problems, optional: bool) -> Option<AliasEntityId> {
        let root = self.root.build();
        if root.is_none() && !optional {
            p.push(
                &format!("{PATH}.root"),
                "Choose the root entity, or the current customer, tenant or user",
            );
        }
        root
    }

    fn relations(&self, p: &mut Problems) -> RelationsQueryFilter {
        let root = self.root(p, self.multi_root || self.root_state_entity);
        if self.multi_root && self.multi_roots.items.is_empty() {
            p.push(
                &format!("{PATH}.multi_roots"),
                "Add at least one root entity",
            );
        }
        RelationsQueryFilter {
            root_entity: root,
            direction: self.direction(p),
            max_level: self.max_level(p),
            fetch_last_level_only: self.fetch_last_level_only,
            filters: self
                .relation_filters
                .iter()
                .map(|r| RelationEntityTypeFilter {
                    relation_type: r.relation_type.clone(),
                    entity_types: r.entity_types.clone(),
                    negate: r.negate,
                })
                .collect(),
            multi_root: self.multi_root,
            multi_root_entities_type: self
                .multi_root
                .then(|| self.multi_roots.entity_type().clone()),
            multi_root_entity_ids: self.multi_root.then(|| self.multi_roots.uuids()),
            negate: self.negate,
            root_state_entity: self.root_state_entity,
            default_state_entity: self.default_state.chosen.as_ref().map(|(id, _)| id.clone()),
        }
    }

    fn search_query(&self, p: &mut Problems) -> EntityFilter {
        macro_rules! search {
            ($variant:ident, $ty:ident, $types:ident) => {
                EntityFilter::$variant($ty {
                    root_entity: self.root(p, self.root_state_entity),
                    relation_type: non_blank(&self.relation_type),
                    direction: self.direction(p),
                    max_level: self.max_level(p),
                    fetch_last_level_only: self.fetch_last_level_only,
                    root_state_entity: self.root_state_entity,
                    default_state_entity: self
                        .default_state
                        .chosen
                        .as_ref()
                        .map(|(id, _)| id.clone()),
                    $types: self.types.values(),
                })
            };
        }
        match self.kind {
            FilterKind::AssetSearchQuery => {
                search!(AssetSearchQuery, AssetSearchQueryFilter, asset_types)
            }
            FilterKind::EntityViewSearchQuery => search!(
                EntityViewSearchQuery,
                EntityViewSearchQueryFilter,
                entity_view_types
            ),
            FilterKind::EdgeSearchQuery => {
                search!(EdgeSearchQuery, EdgeSearchQueryFilter, edge_types)
            }
            _ => search!(DeviceSearchQuery, DeviceSearchQueryFilter, device_types),
        }
    }
}

//! Entity filters (§6): which entities a query covers. Polymorphic on `"type"`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::enums::{EntitySearchDirection, EntityType};
use super::ids::{AliasEntityId, EntityId};

/// Which entities a query matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EntityFilter {
    /// One entity (or an alias such as the current customer).
    #[serde(rename = "singleEntity")]
    SingleEntity(SingleEntityFilter),
    /// A list of entities of one type.
    #[serde(rename = "entityList")]
    EntityList(EntityListFilter),
    /// Entities of one type whose name starts with a prefix.
    #[serde(rename = "entityName")]
    EntityName(EntityNameFilter),
    /// Every entity of one type.
    #[serde(rename = "entityType")]
    EntityType(EntityTypeFilter),
    /// Assets of some asset types (profiles), optionally by name prefix.
    #[serde(rename = "assetType")]
    AssetType(AssetTypeFilter),
    /// Devices of some device types (profiles), optionally by name prefix.
    #[serde(rename = "deviceType")]
    DeviceType(DeviceTypeFilter),
    /// Edges of some edge types, optionally by name prefix.
    #[serde(rename = "edgeType")]
    EdgeType(EdgeTypeFilter),
    /// Entity views of some types, optionally by name prefix.
    #[serde(rename = "entityViewType")]
    EntityViewType(EntityViewTypeFilter),
    /// API usage state of the tenant or a customer.
    #[serde(rename = "apiUsageState")]
    ApiUsageState(ApiUsageStateFilter),
    /// Entities related to a root entity.
    #[serde(rename = "relationsQuery")]
    RelationsQuery(RelationsQueryFilter),
    /// Assets related to a root entity.
    #[serde(rename = "assetSearchQuery")]
    AssetSearchQuery(AssetSearchQueryFilter),
    /// Devices related to a root entity.
    #[serde(rename = "deviceSearchQuery")]
    DeviceSearchQuery(DeviceSearchQueryFilter),
    /// Entity views related to a root entity.
    #[serde(rename = "entityViewSearchQuery")]
    EntityViewSearchQuery(EntityViewSearchQueryFilter),
    /// Edges related to a root entity.
    #[serde(rename = "edgeSearchQuery")]
    EdgeSearchQuery(EdgeSearchQueryFilter),
}

impl EntityFilter {
    /// The `"type"` name of this filter.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            EntityFilter::SingleEntity(_) => "singleEntity",
            EntityFilter::EntityList(_) => "entityList",
            EntityFilter::EntityName(_) => "entityName",
            EntityFilter::EntityType(_) => "entityType",
            EntityFilter::AssetType(_) => "assetType",
            EntityFilter::DeviceType(_) => "deviceType",
            EntityFilter::EdgeType(_) => "edgeType",
            EntityFilter::EntityViewType(_) => "entityViewType",
            EntityFilter::ApiUsageState(_) => "apiUsageState",
            EntityFilter::RelationsQuery(_) => "relationsQuery",
            EntityFilter::AssetSearchQuery(_) => "assetSearchQuery",
            EntityFilter::DeviceSearchQuery(_) => "deviceSearchQuery",
            EntityFilter::EntityViewSearchQuery(_) => "entityViewSearchQuery",
            EntityFilter::EdgeSearchQuery(_) => "edgeSearchQuery",
        }
    }

    /// One entity.
    #[must_use]
    pub fn single(id: EntityId) -> Self {
        EntityFilter::SingleEntity(SingleEntityFilter {
            single_entity: Some(id.into()),
        })
    }

    /// Every entity of a type.
    #[must_use]
    pub fn of_type(entity_type: EntityType) -> Self {
        EntityFilter::EntityType(EntityTypeFilter { entity_type })
    }

    /// Entities of a type whose name starts with `prefix` (case-insensitive).
    #[must_use]
    pub fn by_name(entity_type: EntityType, prefix: impl Into<String>) -> Self {
        EntityFilter::EntityName(EntityNameFilter {
            entity_type,
            entity_name_filter: prefix.into(),
        })
    }

    /// Devices of the given device profiles (all devices when `types` is empty is not
    /// supported by the server; pass at least one).
    #[must_use]
    pub fn devices_of_types(types: impl IntoIterator<Item = impl Into<String>>) -> Self {
        EntityFilter::DeviceType(DeviceTypeFilter {
            device_types: Some(types.into_iter().map(Into::into).collect()),
            device_type: None,
            device_name_filter: None,
        })
    }
}

/// `singleEntity`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SingleEntityFilter {
    /// The entity, or an alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_entity: Option<AliasEntityId>,
}

/// `entityList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityListFilter {
    /// Type of every listed entity.
    pub entity_type: EntityType,
    /// The entities' UUIDs.
    #[serde(default)]
    pub entity_list: Vec<Uuid>,
}

/// `entityName`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityNameFilter {
    /// Entity type to search.
    pub entity_type: EntityType,
    /// Case-insensitive name prefix (an ILIKE pattern if it starts or ends with `%`).
    #[serde(default)]
    pub entity_name_filter: String,
}

/// `entityType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityTypeFilter {
    /// The entity type.
    pub entity_type: EntityType,
}

macro_rules! profile_type_filter {
    ($(#[$m:meta])* $name:ident, $types:ident, $single:ident, $name_filter:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The types (profile names) to match.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $types: Option<Vec<String>>,
            /// Deprecated single-type form, still accepted by the server.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $single: Option<String>,
            /// Optional name prefix; empty or absent means any name.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $name_filter: Option<String>,
        }
    };
}

profile_type_filter!(
    /// `assetType`.
    AssetTypeFilter, asset_types, asset_type, asset_name_filter
);
profile_type_filter!(
    /// `deviceType`.
    DeviceTypeFilter, device_types, device_type, device_name_filter
);
profile_type_filter!(
    /// `edgeType`.
    EdgeTypeFilter, edge_types, edge_type, edge_name_filter
);
profile_type_filter!(
    /// `entityViewType`.
    EntityViewTypeFilter, entity_view_types, entity_view_type, entity_view_name_filter
);

/// `apiUsageState`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiUsageStateFilter {
    /// The customer whose usage state to show; the tenant's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<EntityId>,
}

/// One relation filter of a `relationsQuery`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationEntityTypeFilter {
    /// Relation type, e.g. `Contains`.
    #[serde(default)]
    pub relation_type: String,
    /// Entity types to keep; empty means any.
    #[serde(default)]
    pub entity_types: Vec<EntityType>,
    /// Invert this filter.
    #[serde(default)]
    pub negate: bool,
}

/// `relationsQuery`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationsQueryFilter {
    /// Where the search starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_entity: Option<AliasEntityId>,
    /// Follow relations from or to the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<EntitySearchDirection>,
    /// How many relation levels to follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_level: Option<i32>,
    /// Keep only entities of the last level.
    #[serde(default)]
    pub fetch_last_level_only: bool,
    /// Relation and entity type filters.
    #[serde(default)]
    pub filters: Vec<RelationEntityTypeFilter>,
    /// Start from several roots (`multiRootEntityIds`).
    #[serde(default)]
    pub multi_root: bool,
    /// Type of the multiple roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_root_entities_type: Option<EntityType>,
    /// The roots' UUIDs when `multi_root` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_root_entity_ids: Option<Vec<Uuid>>,
    /// Invert the whole query.
    #[serde(default)]
    pub negate: bool,
    /// Use the dashboard state entity as root (dashboards only).
    #[serde(default)]
    pub root_state_entity: bool,
    /// Fallback root when the state entity is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_state_entity: Option<EntityId>,
}

macro_rules! search_query_filter {
    ($(#[$m:meta])* $name:ident, $types:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Where the search starts.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub root_entity: Option<AliasEntityId>,
            /// Relation type to follow, e.g. `Contains`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub relation_type: Option<String>,
            /// Follow relations from or to the root.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub direction: Option<EntitySearchDirection>,
            /// How many relation levels to follow.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub max_level: Option<i32>,
            /// Keep only entities of the last level.
            #[serde(default)]
            pub fetch_last_level_only: bool,
            /// Use the dashboard state entity as root (dashboards only).
            #[serde(default)]
            pub root_state_entity: bool,
            /// Fallback root when the state entity is absent.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub default_state_entity: Option<EntityId>,
            /// Types (profile names) of the entities to keep.
            #[serde(default)]
            pub $types: Vec<String>,
        }
    };
}

search_query_filter!(
    /// `assetSearchQuery`.
    AssetSearchQueryFilter, asset_types
);
search_query_filter!(
    /// `deviceSearchQuery`.
    DeviceSearchQueryFilter, device_types
);
search_query_filter!(
    /// `entityViewSearchQuery`.
    EntityViewSearchQueryFilter, entity_view_types
);
search_query_filter!(
    /// `edgeSearchQuery`.
    EdgeSearchQueryFilter, edge_types
);

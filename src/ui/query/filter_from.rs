//! Import: the filter form showing an existing [`EntityFilter`]. Entities come with their
//! ids only; their names are unknown until the user picks them again.

use crate::protocol::{
    AliasEntityId, EntityFilter, EntityId, EntitySearchDirection, EntityType, RelationsQueryFilter,
};

use super::filter_form::{FilterForm, FilterKind, RelationFilterRow, RootForm, TypeList};
use super::picker::{EntityListPicker, EntityPicker};

/// The relation fields shared by relations and search queries.
struct Relation<'a> {
    root: Option<&'a AliasEntityId>,
    direction: Option<&'a EntitySearchDirection>,
    max_level: Option<i32>,
    fetch_last_level_only: bool,
    root_state_entity: bool,
    default_state: Option<&'a EntityId>,
}

impl FilterForm {
    /// The form showing `filter`.
    pub(crate) fn from_filter(filter: &EntityFilter) -> Self {
        let mut f = Self::default();
        match filter {
            EntityFilter::SingleEntity(s) => {
                f.kind = FilterKind::SingleEntity;
                if let Some(id) = &s.single_entity {
                    f.root = RootForm::from_id(id);
                }
            }
            EntityFilter::EntityList(l) => {
                f.kind = FilterKind::EntityList;
                f.entity_type = l.entity_type.clone();
                f.list = EntityListPicker::with_ids(l.entity_type.clone(), &l.entity_list);
            }
            EntityFilter::EntityName(n) => {
                f.kind = FilterKind::EntityName;
                f.entity_type = n.entity_type.clone();
                f.name_filter.clone_from(&n.entity_name_filter);
            }
            EntityFilter::EntityType(t) => {
                f.kind = FilterKind::EntityType;
                f.entity_type = t.entity_type.clone();
            }
            EntityFilter::AssetType(a) => f.set_profile(
                FilterKind::AssetType,
                a.asset_types.as_ref(),
                a.asset_type.as_ref(),
                a.asset_name_filter.as_ref(),
            ),
            EntityFilter::DeviceType(d) => f.set_profile(
                FilterKind::DeviceType,
                d.device_types.as_ref(),
                d.device_type.as_ref(),
                d.device_name_filter.as_ref(),
            ),
            EntityFilter::EdgeType(e) => f.set_profile(
                FilterKind::EdgeType,
                e.edge_types.as_ref(),
                e.edge_type.as_ref(),
                e.edge_name_filter.as_ref(),
            ),
            EntityFilter::EntityViewType(v) => f.set_profile(
                FilterKind::EntityViewType,
                v.entity_view_types.as_ref(),
                v.entity_view_type.as_ref(),
                v.entity_view_name_filter.as_ref(),
            ),
            EntityFilter::ApiUsageState(a) => {
                f.kind = FilterKind::ApiUsageState;
                if let Some(id) = &a.customer_id {
                    f.customer = EntityPicker::with_id(id.clone());
                }
            }
            EntityFilter::RelationsQuery(q) => f.set_relations_query(q),
            _ => f.set_search_query(filter),
        }
        f
    }

    /// A `*Type` filter: the list, or the deprecated single type as a one-item list, and
    /// the name filter.
    fn set_profile(
        &mut self,
        kind: FilterKind,
        types: Option<&Vec<String>>,
        single: Option<&String>,
        name: Option<&String>,
    ) {
        self.kind = kind;
        self.name_filter = name.cloned().unwrap_or_default();
        let items = match (types, single) {
            (Some(list), _) if !list.is_empty() => list.clone(),
            (_, Some(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        self.types = TypeList {
            items,
            input: String::new(),
        };
    }

    fn set_relation(&mut self, r: &Relation<'_>) {
        if let Some(root) = r.root {
            self.root = RootForm::from_id(root);
        }
        self.direction = r.direction.cloned();
        self.max_level = r.max_level.map(|l| l.to_string()).unwrap_or_default();
        self.fetch_last_level_only = r.fetch_last_level_only;
        self.root_state_entity = r.root_state_entity;
        if let Some(id) = r.default_state {
            self.default_state = EntityPicker::with_id(id.clone());
        }
    }

    fn set_relations_query(&mut self, q: &RelationsQueryFilter) {
        self.kind = FilterKind::RelationsQuery;
        self.set_relation(&Relation {
            root: q.root_entity.as_ref(),
            direction: q.direction.as_ref(),
            max_level: q.max_level,
            fetch_last_level_only: q.fetch_last_level_only,
            root_state_entity: q.root_state_entity,
            default_state: q.default_state_entity.as_ref(),
        });
        self.relation_filters = q
            .filters
            .iter()
            .map(|r| RelationFilterRow {
                relation_type: r.relation_type.clone(),
                entity_types: r.entity_types.clone(),
                negate: r.negate,
            })
            .collect();
        self.multi_root = q.multi_root;
        let roots_type = q
            .multi_root_entities_type
            .clone()
            .unwrap_or(EntityType::Device);
        self.multi_roots = EntityListPicker::with_ids(
            roots_type,
            q.multi_root_entity_ids.as_deref().unwrap_or_default(),
        );
        self.negate = q.negate;
    }

    fn set_search_query(&mut self, filter: &EntityFilter) {
        macro_rules! search {
            ($kind:ident, $q:ident, $types:ident) => {{
                self.kind = FilterKind::$kind;
                self.set_relation(&Relation {
                    root: $q.root_entity.as_ref(),
                    direction: $q.direction.as_ref(),
                    max_level: $q.max_level,
                    fetch_last_level_only: $q.fetch_last_level_only,
                    root_state_entity: $q.root_state_entity,
                    default_state: $q.default_state_entity.as_ref(),
                });
                self.relation_type = $q.relation_type.clone().unwrap_or_default();
                self.types = TypeList {
                    items: $q.$types.clone(),
                    input: String::new(),
                };
            }};
        }
        match filter {
            EntityFilter::AssetSearchQuery(q) => search!(AssetSearchQuery, q, asset_types),
            EntityFilter::DeviceSearchQuery(q) => search!(DeviceSearchQuery, q, device_types),
            EntityFilter::EntityViewSearchQuery(q) => {
                search!(EntityViewSearchQuery, q, entity_view_types);
            }
            EntityFilter::EdgeSearchQuery(q) => search!(EdgeSearchQuery, q, edge_types),
            _ => {}
        }
    }
}

//! Entity query evaluation over the simulated tenant (§6 of the protocol reference).
//!
//! [`QueryContext`] answers `POST /api/entitiesQuery/find` and `…/count` and computes the
//! initial pages of `ENTITY_DATA` and `ENTITY_COUNT` subscriptions. It follows ThingsBoard's
//! SQL query repository: entity filters (relation searches included) and permissions first,
//! then key filters, text search over the selected columns, sort and page; rows are rendered
//! as `EntityDataAdapter` renders them (entity fields carry the query time, attribute and
//! telemetry values are normalised, requested keys without a value are `{"ts":0,"value":""}`).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use uuid::Uuid;

use super::latest::LatestStore;
use super::world::{AttrValue, DemoUser, EntityRecord, Relation, World};
use crate::protocol::{
    AliasEntityId, BooleanOperation, ComplexOperation, DynamicValue, DynamicValueSourceType,
    EntityAlias, EntityCountQuery, EntityData, EntityDataPageLink, EntityDataQuery,
    EntityDataSortOrder, EntityFilter, EntityId, EntityKey, EntityKeyType, EntitySearchDirection,
    EntityType, EntityTypeOrAlias, FilterPredicateValue, KeyFilter, KeyFilterPredicate,
    LatestValues, NumericOperation, PageData, RelationsQueryFilter, SortDirection, StringOperation,
    TbValue, TsValue, format_java_double,
};

/// Everything a query needs: the tenant, who asks, the latest telemetry and "now".
#[derive(Debug, Clone, Copy)]
pub struct QueryContext<'a> {
    /// The simulated tenant.
    pub world: &'a World,
    /// The user asking: decides what is visible and what the `CURRENT_*` aliases mean.
    pub user: &'a DemoUser,
    /// The latest time series value of every entity and key.
    pub latest: &'a LatestStore,
    /// "Now" (epoch ms): the `ts` of entity field values.
    pub now_ms: i64,
}

/// A query the server refuses; the text is ThingsBoard's message (it reaches the client as errorMsg).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// The parameters shared by the four `*SearchQuery` filters.
struct SearchSpec<'f> {
    root: Option<&'f AliasEntityId>,
    default_root: Option<&'f EntityId>,
    relation_type: Option<&'f str>,
    direction: Option<&'f EntitySearchDirection>,
    max_level: Option<i32>,
    last_level_only: bool,
    entity_type: EntityType,
    types: &'f [String],
}

/// The value an entity is sorted by: numbers first (numerically), then text
/// (case-insensitively), then entities without the value — as Postgres orders
/// ThingsBoard's numeric and text sort columns with `NULLS LAST` in ascending order.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Number(f64),
    Text(String),
    Missing,
}

impl SortKey {
    fn of(value: Option<TbValue>) -> Self {
        match value {
            None => SortKey::Missing,
            Some(v) => match v.as_f64() {
                Some(n) => SortKey::Number(n),
                None => SortKey::Text(v.as_str().to_lowercase()),
            },
        }
    }

    /// A total order (numbers by `total_cmp`), so sorting never sees an inconsistent comparator.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortKey::Number(_) => 0,
            SortKey::Text(_) => 1,
            SortKey::Missing => 2,
        }
    }
}

impl<'a> QueryContext<'a> {
    /// Entities matching the filter that the user may see, in a stable order (creation order).
    ///
    /// # Errors
    ///
    /// None of the filters is refused today; the `Result` leaves room for ThingsBoard's
    /// filter validation errors.
    pub fn resolve_filter(
        &self,
        filter: &EntityFilter,
    ) -> Result<Vec<&'a EntityRecord>, QueryError> {
        macro_rules! search {
            ($f:expr, $entity_type:expr, $types:ident) => {
                self.search_query(&SearchSpec {
                    root: $f.root_entity.as_ref(),
                    default_root: $f.default_state_entity.as_ref(),
                    relation_type: $f.relation_type.as_deref(),
                    direction: $f.direction.as_ref(),
                    max_level: $f.max_level,
                    last_level_only: $f.fetch_last_level_only,
                    entity_type: $entity_type,
                    types: &$f.$types,
                })
            };
        }
        let found = match filter {
            EntityFilter::SingleEntity(f) => f
                .single_entity
                .as_ref()
                .and_then(|id| self.resolve_alias(id))
                .and_then(|id| self.lookup(&id))
                .into_iter()
                .collect(),
            EntityFilter::EntityList(f) => {
                let ids: HashSet<Uuid> = f.entity_list.iter().copied().collect();
                self.entities_where(|e| e.id.entity_type == f.entity_type && ids.contains(&e.id.id))
            }
            EntityFilter::EntityName(f) => self.entities_where(|e| {
                e.id.entity_type == f.entity_type
                    && name_filter_matches(&e.name, &f.entity_name_filter)
            }),
            EntityFilter::EntityType(f) => {
                self.entities_where(|e| e.id.entity_type == f.entity_type)
            }
            EntityFilter::AssetType(f) => self.profile_filter(
                &EntityType::Asset,
                f.asset_types.as_deref(),
                f.asset_type.as_deref(),
                f.asset_name_filter.as_deref(),
            ),
            EntityFilter::DeviceType(f) => self.profile_filter(
                &EntityType::Device,
                f.device_types.as_deref(),
                f.device_type.as_deref(),
                f.device_name_filter.as_deref(),
            ),
            EntityFilter::EdgeType(f) => self.profile_filter(
                &EntityType::Edge,
                f.edge_types.as_deref(),
                f.edge_type.as_deref(),
                f.edge_name_filter.as_deref(),
            ),
            EntityFilter::EntityViewType(f) => self.profile_filter(
                &EntityType::EntityView,
                f.entity_view_types.as_deref(),
                f.entity_view_type.as_deref(),
                f.entity_view_name_filter.as_deref(),
            ),
            // The demo tenant has no API usage state entities.
            EntityFilter::ApiUsageState(_) => Vec::new(),
            EntityFilter::RelationsQuery(f) => self.relations_query(f),
            EntityFilter::AssetSearchQuery(f) => search!(f, EntityType::Asset, asset_types),
            EntityFilter::DeviceSearchQuery(f) => search!(f, EntityType::Device, device_types),
            EntityFilter::EntityViewSearchQuery(f) => {
                search!(f, EntityType::EntityView, entity_view_types)
            }
            EntityFilter::EdgeSearchQuery(f) => search!(f, EntityType::Edge, edge_types),
        };
        Ok(found
            .into_iter()
            .filter(|e| self.world.visible_to(self.user, e))
            .collect())
    }

    /// Whether `entity` passes the key filters combined by `op` (None/AND = all, OR = any; empty = true).
    #[must_use]
    pub fn matches_key_filters(
        &self,
        entity: &EntityRecord,
        filters: &[KeyFilter],
        op: Option<&ComplexOperation>,
    ) -> bool {
        if filters.is_empty() {
            return true;
        }
        let passes = |f: &KeyFilter| self.key_filter_matches(entity, f);
        match op {
            Some(ComplexOperation::Or) => filters.iter().any(passes),
            _ => filters.iter().all(passes),
        }
    }

    /// The value of one key of an entity as ThingsBoard's query returns it (None = no such value).
    ///
    /// Entity fields always have a value: the field, or `""` when the entity has no such
    /// field, stamped with `now_ms`. Attributes carry their last update time, time series
    /// their point's time; both are normalised like ThingsBoard's `EntityDataAdapter` does.
    #[must_use]
    pub fn key_value(&self, entity: &EntityRecord, key: &EntityKey) -> Option<TsValue> {
        match self.raw_value(entity, key) {
            Some((ts, value)) => Some(TsValue::new(ts, value)),
            None if key.key_type == EntityKeyType::EntityField => {
                Some(TsValue::new(self.now_ms, ""))
            }
            None => None,
        }
    }

    /// `POST /api/entitiesQuery/find` and the `ENTITY_DATA` initial page: filter, key filters,
    /// text search, sort, page, then for each row: `latest` holding the requested `entityFields`
    /// (under `ENTITY_FIELD`) and `latestValues` (under their key type),
    /// `timeseries: Some({})`, `agg_latest: Some({})`.
    ///
    /// # Errors
    ///
    /// A page size below 1 or a negative page, with ThingsBoard's message.
    pub fn find(&self, query: &EntityDataQuery) -> Result<PageData<EntityData>, QueryError> {
        let link = &query.page_link;
        validate_page_link(link)?;
        let mut rows = self.matching(
            &query.entity_filter,
            query.key_filters.as_deref().unwrap_or_default(),
            query.key_filters_operation.as_ref(),
        )?;
        let fields: &[EntityKey] = query.entity_fields.as_deref().unwrap_or_default();
        let latest: &[EntityKey] = query.latest_values.as_deref().unwrap_or_default();
        // ThingsBoard searches the selected columns; with none selected the search is ignored.
        let search = link.text_search.as_deref().filter(|s| !s.is_empty());
        if let Some(search) = search
            && !(fields.is_empty() && latest.is_empty())
        {
            let needle = search.to_lowercase();
            rows.retain(|e| {
                fields.iter().chain(latest).any(|key| {
                    self.raw_value(e, key)
                        .is_some_and(|(_, v)| v.as_str().to_lowercase().contains(&needle))
                })
            });
        }
        if let Some(order) = &link.sort_order {
            rows = self.sorted(rows, order);
        }
        // Validated above: page_size >= 1 and page >= 0.
        Ok(page_of(
            &rows,
            usize::try_from(link.page_size).unwrap_or(1),
            usize::try_from(link.page).unwrap_or(0),
            |e| self.row(e, fields, latest),
        ))
    }

    /// `POST /api/entitiesQuery/count` and `ENTITY_COUNT`.
    ///
    /// # Errors
    ///
    /// Those of [`Self::resolve_filter`].
    pub fn count(&self, query: &EntityCountQuery) -> Result<i64, QueryError> {
        let found = self.matching(
            &query.entity_filter,
            query.key_filters.as_deref().unwrap_or_default(),
            query.key_filters_operation.as_ref(),
        )?;
        Ok(i64::try_from(found.len()).unwrap_or(i64::MAX))
    }

    /// Every matched entity (filter + key filters), unpaged, for subscriptions that track a set (alarm queries, dynamic refresh).
    ///
    /// # Errors
    ///
    /// Those of [`Self::resolve_filter`].
    pub fn matching(
        &self,
        filter: &EntityFilter,
        key_filters: &[KeyFilter],
        op: Option<&ComplexOperation>,
    ) -> Result<Vec<&'a EntityRecord>, QueryError> {
        let mut found = self.resolve_filter(filter)?;
        if !key_filters.is_empty() {
            found.retain(|e| self.matches_key_filters(e, key_filters, op));
        }
        Ok(found)
    }

    // ----- entity filters -------------------------------------------------------------------

    /// Every entity of the world satisfying `pred`, in creation order (visibility not applied).
    fn entities_where(&self, pred: impl Fn(&EntityRecord) -> bool) -> Vec<&'a EntityRecord> {
        let world: &'a World = self.world;
        world.entities.iter().filter(|e| pred(e)).collect()
    }

    /// The entity with `id`, without trusting the index blindly.
    fn lookup(&self, id: &EntityId) -> Option<&'a EntityRecord> {
        let world: &'a World = self.world;
        world
            .index
            .get(id)
            .and_then(|&i| world.entities.get(i))
            .filter(|e| e.id == *id)
    }

    fn tenant_id(&self) -> EntityId {
        EntityId::new(EntityType::Tenant, self.world.tenant_id)
    }

    /// A concrete id, or the entity a `CURRENT_*` alias stands for with the asking user.
    fn resolve_alias(&self, id: &AliasEntityId) -> Option<EntityId> {
        match &id.entity_type {
            EntityTypeOrAlias::Entity(t) => id.id.map(|uuid| EntityId::new(t.clone(), uuid)),
            EntityTypeOrAlias::Alias(alias) => match alias {
                // A tenant admin has no customer: the alias's own id is the default customer.
                EntityAlias::CurrentCustomer => {
                    self.user.customer_id.or(id.id).map(EntityId::customer)
                }
                EntityAlias::CurrentTenant => Some(self.tenant_id()),
                EntityAlias::CurrentUser => Some(EntityId::user(self.user.id)),
                EntityAlias::CurrentUserOwner => Some(
                    self.user
                        .customer_id
                        .map_or_else(|| self.tenant_id(), EntityId::customer),
                ),
                EntityAlias::Unknown(_) => None,
            },
        }
    }

    /// The root of a relation search: the (alias-resolved) root entity, else the fallback
    /// state entity.
    fn root_of(
        &self,
        root: Option<&AliasEntityId>,
        fallback: Option<&EntityId>,
    ) -> Option<EntityId> {
        root.and_then(|r| self.resolve_alias(r))
            .or_else(|| fallback.cloned())
    }

    /// `assetType`/`deviceType`/`edgeType`/`entityViewType`: the plural type list, else the
    /// deprecated single type (neither matches nothing, as in ThingsBoard), and a name prefix.
    fn profile_filter(
        &self,
        entity_type: &EntityType,
        types: Option<&[String]>,
        single: Option<&str>,
        name: Option<&str>,
    ) -> Vec<&'a EntityRecord> {
        let types: Vec<&str> = match types {
            Some(list) if !list.is_empty() => list.iter().map(String::as_str).collect(),
            _ => single.into_iter().collect(),
        };
        let name = name.unwrap_or("");
        self.entities_where(|e| {
            e.id.entity_type == *entity_type
                && types.contains(&e.profile.as_str())
                && name_filter_matches(&e.name, name)
        })
    }

    /// `relationsQuery`: ThingsBoard follows relations of every type and keeps an entity when
    /// a relation reaching it passes one of the `filters` (relation type, `negate`d per filter,
    /// and target entity types), the whole condition inverted by the top-level `negate`.
    fn relations_query(&self, f: &RelationsQueryFilter) -> Vec<&'a EntityRecord> {
        let roots: Vec<EntityId> = if f.multi_root {
            match &f.multi_root_entities_type {
                Some(t) => f
                    .multi_root_entity_ids
                    .iter()
                    .flatten()
                    .map(|uuid| EntityId::new(t.clone(), *uuid))
                    .collect(),
                None => Vec::new(),
            }
        } else {
            self.root_of(f.root_entity.as_ref(), f.default_state_entity.as_ref())
                .into_iter()
                .collect()
        };
        // Filters without a relation type and without entity types add no condition.
        let conditions: Vec<_> = f
            .filters
            .iter()
            .filter(|c| !c.relation_type.is_empty() || !c.entity_types.is_empty())
            .collect();
        let edge_ok = |rel: &Relation, target: &EntityId| {
            if conditions.is_empty() {
                return is_relation_query_type(&target.entity_type);
            }
            let any = conditions.iter().any(|c| {
                let type_ok = c.relation_type.is_empty()
                    || ((rel.relation_type == c.relation_type) != c.negate);
                let entity_ok =
                    c.entity_types.is_empty() || c.entity_types.contains(&target.entity_type);
                type_ok && entity_ok
            });
            any != f.negate
        };
        let found = self.traverse(
            &roots,
            is_forward(f.direction.as_ref()),
            f.max_level,
            f.fetch_last_level_only,
            &edge_ok,
        );
        self.entities_where(|e| found.contains(&e.id))
    }

    /// `assetSearchQuery` and its siblings: relations of `relation_type` (any when empty)
    /// leading to entities of one type, optionally restricted to some types (profiles).
    fn search_query(&self, spec: &SearchSpec<'_>) -> Vec<&'a EntityRecord> {
        let Some(root) = self.root_of(spec.root, spec.default_root) else {
            return Vec::new();
        };
        let relation_type = spec.relation_type.filter(|t| !t.is_empty());
        let edge_ok = |rel: &Relation, target: &EntityId| {
            relation_type.is_none_or(|t| rel.relation_type == t)
                && target.entity_type == spec.entity_type
        };
        let found = self.traverse(
            std::slice::from_ref(&root),
            is_forward(spec.direction),
            spec.max_level,
            spec.last_level_only,
            &edge_ok,
        );
        self.entities_where(|e| {
            found.contains(&e.id) && (spec.types.is_empty() || spec.types.contains(&e.profile))
        })
    }

    /// Breadth-first walk over the relations from `roots` (`forward` = FROM: follow
    /// `from → to`; else TO: follow `to → from`) up to `max_level` levels (none or ≤ 0 =
    /// unlimited). A target is kept when the relation reaching it passes `edge_ok`; with
    /// `last_level_only` only when it sits at `max_level` or has no passing relation onwards.
    /// The roots themselves are never returned.
    fn traverse(
        &self,
        roots: &[EntityId],
        forward: bool,
        max_level: Option<i32>,
        last_level_only: bool,
        edge_ok: &dyn Fn(&Relation, &EntityId) -> bool,
    ) -> HashSet<&'a EntityId> {
        let world: &'a World = self.world;
        let mut adjacency: HashMap<&'a EntityId, Vec<&'a Relation>> = HashMap::new();
        for rel in &world.relations {
            let source = if forward { &rel.from } else { &rel.to };
            adjacency.entry(source).or_default().push(rel);
        }
        let target_of = |rel: &'a Relation| if forward { &rel.to } else { &rel.from };
        let onwards =
            |node: &EntityId| -> &[&'a Relation] { adjacency.get(node).map_or(&[], Vec::as_slice) };
        let continues = |node: &EntityId| onwards(node).iter().any(|r| edge_ok(r, target_of(r)));
        let max_level = i64::from(max_level.unwrap_or(0));

        let mut visited: HashSet<&EntityId> = roots.iter().collect();
        let mut frontier: Vec<&EntityId> = roots.iter().collect();
        let mut found: HashSet<&'a EntityId> = HashSet::new();
        let mut level: i64 = 1;
        while !frontier.is_empty() && (max_level <= 0 || level <= max_level) {
            let mut next = Vec::new();
            for node in frontier {
                for &rel in onwards(node) {
                    let target = target_of(rel);
                    if edge_ok(rel, target)
                        && (!last_level_only || level == max_level || !continues(target))
                    {
                        found.insert(target);
                    }
                    if visited.insert(target) {
                        next.push(target);
                    }
                }
            }
            frontier = next;
            level += 1;
        }
        for root in roots {
            found.remove(root);
        }
        found
    }

    // ----- key values -----------------------------------------------------------------------

    /// The value of a key with its timestamp; `None` when the entity has no such value
    /// (entity fields it does not have or that are null included).
    fn raw_value(&self, entity: &EntityRecord, key: &EntityKey) -> Option<(i64, TbValue)> {
        match &key.key_type {
            EntityKeyType::EntityField => self
                .field_value(entity, &key.key)
                .map(|v| (self.now_ms, TbValue::new(v))),
            EntityKeyType::TimeSeries => {
                let point = self.latest.get(&entity.id, &key.key)?;
                let value = point.value.as_ref()?;
                Some((point.ts, TbValue::new(normalize_value(value.as_str()))))
            }
            key_type if key_type.is_attribute() => {
                self.attribute(&entity.id, key_type, &key.key).map(|a| {
                    (
                        a.last_update_ts,
                        TbValue::new(normalize_value(a.value.as_str())),
                    )
                })
            }
            _ => None,
        }
    }

    /// An attribute of one scope, or for `ATTRIBUTE` the most recently updated of any scope.
    fn attribute(
        &self,
        id: &EntityId,
        key_type: &EntityKeyType,
        key: &str,
    ) -> Option<&'a AttrValue> {
        let world: &'a World = self.world;
        let attrs = world.attributes.get(id)?;
        match key_type {
            EntityKeyType::ClientAttribute => attrs.client.get(key),
            EntityKeyType::SharedAttribute => attrs.shared.get(key),
            EntityKeyType::ServerAttribute => attrs.server.get(key),
            EntityKeyType::Attribute => [
                attrs.client.get(key),
                attrs.shared.get(key),
                attrs.server.get(key),
            ]
            .into_iter()
            .flatten()
            .fold(None, |best: Option<&'a AttrValue>, v| match best {
                Some(b) if b.last_update_ts >= v.last_update_ts => Some(b),
                _ => Some(v),
            }),
            _ => None,
        }
    }

    /// An entity field as ThingsBoard's query selects it for the entity's type; `None` when
    /// the type has no such field or the field is null.
    fn field_value(&self, e: &EntityRecord, field: &str) -> Option<String> {
        let t = &e.id.entity_type;
        let labeled = matches!(t, EntityType::Device | EntityType::Asset | EntityType::Edge);
        let typed = labeled || *t == EntityType::EntityView;
        let contact = matches!(t, EntityType::Tenant | EntityType::Customer);
        let customer = || self.world.customers.iter().find(|c| c.id == e.id.id);
        match field {
            "name" | "title" => Some(e.name.clone()),
            "createdTime" => Some(e.created_time.to_string()),
            "entityType" => Some(t.as_str().to_owned()),
            "type" if typed => Some(e.profile.clone()),
            "label" if labeled => Some(e.label.clone()),
            // Tenants and customers answer `label` with their title.
            "label" if contact => Some(e.name.clone()),
            "displayName" => {
                let label = e.label.trim();
                Some(if labeled && !label.is_empty() {
                    label.to_owned()
                } else {
                    e.name.clone()
                })
            }
            "additionalInfo" => {
                (!e.additional_info.is_null()).then(|| e.additional_info.to_string())
            }
            "ownerName" => Some(self.owner_name(e)),
            "ownerType" => Some(
                if e.customer_id.is_some() {
                    "CUSTOMER"
                } else {
                    "TENANT"
                }
                .to_owned(),
            ),
            "email" if *t == EntityType::Customer => customer().map(|c| c.email.clone()),
            "city" if *t == EntityType::Customer => customer().map(|c| c.city.clone()),
            "country" if *t == EntityType::Customer => customer().map(|c| c.country.clone()),
            _ => None,
        }
    }

    /// The title of the customer owning `e`, or the tenant's name.
    fn owner_name(&self, e: &EntityRecord) -> String {
        match e.customer_id {
            Some(c) => self
                .world
                .customers
                .iter()
                .find(|cust| cust.id == c)
                .map(|cust| cust.title.clone())
                .or_else(|| self.lookup(&EntityId::customer(c)).map(|r| r.name.clone()))
                .unwrap_or_default(),
            None => self
                .lookup(&self.tenant_id())
                .map(|r| r.name.clone())
                .unwrap_or_default(),
        }
    }

    /// One row of a page: the requested keys under their key types.
    fn row(&self, e: &EntityRecord, fields: &[EntityKey], latest: &[EntityKey]) -> EntityData {
        let mut map: LatestValues = BTreeMap::new();
        for key in fields.iter().chain(latest) {
            let value = self
                .key_value(e, key)
                .unwrap_or_else(|| TsValue::new(0, ""));
            map.entry(key.key_type.clone())
                .or_default()
                .insert(key.key.clone(), value);
        }
        EntityData {
            entity_id: e.id.clone(),
            latest: Some(map),
            timeseries: Some(BTreeMap::new()),
            agg_latest: Some(BTreeMap::new()),
        }
    }

    /// `rows` sorted by `order`; equal values keep creation order.
    fn sorted(
        &self,
        rows: Vec<&'a EntityRecord>,
        order: &EntityDataSortOrder,
    ) -> Vec<&'a EntityRecord> {
        let mut keyed: Vec<(SortKey, &'a EntityRecord)> = rows
            .into_iter()
            .map(|e| {
                (
                    SortKey::of(self.raw_value(e, &order.key).map(|(_, v)| v)),
                    e,
                )
            })
            .collect();
        let descending = order.direction == SortDirection::Desc;
        keyed.sort_by(|(a, _), (b, _)| if descending { b.cmp(a) } else { a.cmp(b) });
        keyed.into_iter().map(|(_, e)| e).collect()
    }

    // ----- key filters ----------------------------------------------------------------------

    fn key_filter_matches(&self, entity: &EntityRecord, filter: &KeyFilter) -> bool {
        // A missing value never matches, whatever the operation.
        match self.raw_value(entity, &filter.key) {
            Some((_, value)) => self.predicate_matches(entity, &value, &filter.predicate),
            None => false,
        }
    }

    fn predicate_matches(
        &self,
        entity: &EntityRecord,
        value: &TbValue,
        predicate: &KeyFilterPredicate,
    ) -> bool {
        match predicate {
            KeyFilterPredicate::String(p) => {
                let operand = self.operand(entity, &p.value, |v| Some(v.as_str().to_owned()));
                string_matches(&p.operation, value.as_str(), &operand, p.ignore_case)
            }
            KeyFilterPredicate::Numeric(p) => {
                let Some(number) = value.as_f64() else {
                    return false;
                };
                numeric_matches(
                    &p.operation,
                    number,
                    self.operand(entity, &p.value, TbValue::as_f64),
                )
            }
            KeyFilterPredicate::Boolean(p) => {
                let Some(flag) = value.as_bool() else {
                    return false;
                };
                let operand = self.operand(entity, &p.value, TbValue::as_bool);
                match p.operation {
                    BooleanOperation::Equal => flag == operand,
                    BooleanOperation::NotEqual => flag != operand,
                    BooleanOperation::Unknown(_) => false,
                }
            }
            KeyFilterPredicate::Complex(p) => {
                let mut each = p
                    .predicates
                    .iter()
                    .map(|q| self.predicate_matches(entity, value, q));
                match p.operation {
                    ComplexOperation::Or if !p.predicates.is_empty() => each.any(|m| m),
                    _ => each.all(|m| m),
                }
            }
        }
    }

    /// The operand of a predicate: `userValue` if set, else the dynamic source's attribute
    /// (when present and of the right kind), else `defaultValue` — ThingsBoard's order.
    fn operand<T: Clone>(
        &self,
        entity: &EntityRecord,
        value: &FilterPredicateValue<T>,
        parse: impl Fn(&TbValue) -> Option<T>,
    ) -> T {
        if let Some(user) = &value.user_value {
            return user.clone();
        }
        value
            .dynamic_value
            .as_ref()
            .and_then(|d| self.dynamic_attribute(entity, d))
            .and_then(parse)
            .unwrap_or_else(|| value.default_value.clone())
    }

    /// The `SERVER_SCOPE` attribute a dynamic value names, looked up on its source and, with
    /// `inherit`, on the source's owners (customer, then tenant). Users have no attributes here.
    fn dynamic_attribute(&self, entity: &EntityRecord, d: &DynamicValue) -> Option<&'a TbValue> {
        let world: &'a World = self.world;
        let tenant = self.tenant_id();
        let user_customer = self.user.customer_id.map(EntityId::customer);
        let (own, owners): (Option<EntityId>, Vec<EntityId>) = match d.source_type {
            DynamicValueSourceType::CurrentTenant => (Some(tenant), Vec::new()),
            DynamicValueSourceType::CurrentCustomer => (user_customer, vec![tenant]),
            DynamicValueSourceType::CurrentUser => {
                (None, user_customer.into_iter().chain([tenant]).collect())
            }
            DynamicValueSourceType::CurrentDevice => (
                Some(entity.id.clone()),
                entity
                    .customer_id
                    .map(EntityId::customer)
                    .into_iter()
                    .chain([tenant])
                    .collect(),
            ),
            DynamicValueSourceType::Unknown(_) => (None, Vec::new()),
        };
        let inherited = if d.inherit { owners } else { Vec::new() };
        own.into_iter()
            .chain(inherited)
            .find_map(|id| world.attributes.get(&id)?.server.get(&d.source_attribute))
            .map(|a| &a.value)
    }
}

/// Refuses page links ThingsBoard refuses, with its messages.
/// Page `page` of `rows` at `page_size` rows a page (at least 1), with the totals
/// ThingsBoard reports; a page past the end is empty.
pub fn page_of<R, T>(
    rows: &[R],
    page_size: usize,
    page: usize,
    render: impl FnMut(&R) -> T,
) -> PageData<T> {
    let total = rows.len();
    let page_size = page_size.max(1);
    let start = page.saturating_mul(page_size);
    let data: Vec<T> = rows
        .iter()
        .skip(start)
        .take(page_size)
        .map(render)
        .collect();
    PageData {
        has_next: start.saturating_add(data.len()) < total,
        total_pages: i32::try_from(total.div_ceil(page_size)).unwrap_or(i32::MAX),
        total_elements: i64::try_from(total).unwrap_or(i64::MAX),
        data,
    }
}

fn validate_page_link(link: &EntityDataPageLink) -> Result<(), QueryError> {
    if link.page_size < 1 {
        return Err(QueryError(format!(
            "Incorrect entity data page link page size '{}'. Page size must be greater than zero.",
            link.page_size
        )));
    }
    if link.page < 0 {
        return Err(QueryError(format!(
            "Incorrect entity data page link page '{}'. Page must be positive integer.",
            link.page
        )));
    }
    Ok(())
}

/// FROM unless TO is asked for.
fn is_forward(direction: Option<&EntitySearchDirection>) -> bool {
    !matches!(direction, Some(EntitySearchDirection::To))
}

/// The entity types a `relationsQuery` without conditions returns.
fn is_relation_query_type(t: &EntityType) -> bool {
    matches!(
        t,
        EntityType::Tenant
            | EntityType::Customer
            | EntityType::User
            | EntityType::Dashboard
            | EntityType::Asset
            | EntityType::Device
            | EntityType::EntityView
            | EntityType::Edge
    )
}

/// ThingsBoard's name filter: empty = any; an ILIKE pattern when it starts or ends with `%`;
/// otherwise a case-insensitive prefix (`ILIKE concat(filter, '%')`).
fn name_filter_matches(name: &str, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    if filter.starts_with('%') || filter.ends_with('%') {
        ilike(name, filter)
    } else {
        ilike(name, &format!("{filter}%"))
    }
}

/// SQL `ILIKE`: `%` = any run, `_` = any one character, `\` escapes; case-insensitive.
fn ilike(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let mut toks = Vec::new();
    let mut chars = pattern
        .to_lowercase()
        .chars()
        .collect::<Vec<_>>()
        .into_iter();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    // Greedy match remembering the last `%` to backtrack to: O(text × pattern) at worst.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Lit(c)) if text.get(t) == Some(c) => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks.get(p..)
        .is_some_and(|rest| rest.iter().all(|tok| *tok == Tok::Any))
}

fn string_matches(op: &StringOperation, value: &str, operand: &str, ignore_case: bool) -> bool {
    let (value, operand): (Cow<'_, str>, Cow<'_, str>) = if ignore_case {
        (value.to_lowercase().into(), operand.to_lowercase().into())
    } else {
        (value.into(), operand.into())
    };
    let (value, operand) = (value.as_ref(), operand.as_ref());
    match op {
        StringOperation::Equal => value == operand,
        StringOperation::NotEqual => value != operand,
        StringOperation::StartsWith => value.starts_with(operand),
        StringOperation::EndsWith => value.ends_with(operand),
        StringOperation::Contains => value.contains(operand),
        StringOperation::NotContains => !value.contains(operand),
        StringOperation::In => split_list(operand).iter().any(|item| item == value),
        StringOperation::NotIn => !split_list(operand).iter().any(|item| item == value),
        StringOperation::Unknown(_) => false,
    }
}

/// The items of an `IN`/`NOT_IN` operand: split on commas outside quotes, quotes removed,
/// each item trimmed.
fn split_list(list: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in list.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None => match c {
                '"' | '\'' => quote = Some(c),
                ',' => items.push(std::mem::take(&mut current)),
                _ => current.push(c),
            },
        }
    }
    items.push(current);
    items.into_iter().map(|s| s.trim().to_owned()).collect()
}

fn numeric_matches(op: &NumericOperation, value: f64, operand: f64) -> bool {
    let ord = value.partial_cmp(&operand);
    match op {
        NumericOperation::Equal => ord == Some(Ordering::Equal),
        NumericOperation::NotEqual => ord != Some(Ordering::Equal),
        NumericOperation::Greater => ord == Some(Ordering::Greater),
        NumericOperation::Less => ord == Some(Ordering::Less),
        NumericOperation::GreaterOrEqual => {
            matches!(ord, Some(Ordering::Greater | Ordering::Equal))
        }
        NumericOperation::LessOrEqual => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        NumericOperation::Unknown(_) => false,
    }
}

/// ThingsBoard's `EntityDataAdapter.convertValue`: a plain number (commons-lang
/// `NumberUtils.isParsable`: optional `-`, digits, at most one `.`, not ending in `.`) is
/// re-rendered — integers as `BigInteger` does, decimals as `Double.toString` when that stays
/// a plain decimal — except strings starting with `0` but not `0.`; anything else is untouched.
fn normalize_value(text: &str) -> String {
    if !is_parsable(text) || (text.starts_with('0') && !text.starts_with("0.")) {
        return text.to_owned();
    }
    if !text.contains('.') {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, text),
        };
        let digits = digits.trim_start_matches('0');
        return match (digits.is_empty(), negative) {
            (true, _) => "0".to_owned(),
            (false, true) => format!("-{digits}"),
            (false, false) => digits.to_owned(),
        };
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => {
            let rendered = format_java_double(v);
            if rendered.contains('.') && !rendered.contains(['E', 'e']) {
                rendered
            } else {
                text.to_owned()
            }
        }
        _ => text.to_owned(),
    }
}

/// commons-lang3 `NumberUtils.isParsable` (ASCII digits).
fn is_parsable(text: &str) -> bool {
    if text.is_empty() || text.ends_with('.') {
        return false;
    }
    let body = text.strip_prefix('-').unwrap_or(text);
    !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == '.')
        && body.chars().filter(|&c| c == '.').count() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::world::{CUSTOMER_EMAIL, Scope, TENANT_EMAIL, WorldSpec};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000_000;

    struct Fixture {
        world: World,
        latest: LatestStore,
    }

    /// The seed-7 world; thermostats get a temperature except every third one, and the
    /// second thermostat reports a non-numeric value.
    fn fixture() -> Fixture {
        let world = World::generate(WorldSpec {
            seed: 7,
            devices: 60,
            now_ms: NOW,
        });
        let mut latest = LatestStore::new();
        let thermostats: Vec<EntityId> = world
            .devices()
            .filter(|d| d.profile == "thermostat")
            .map(|d| d.id.clone())
            .collect();
        for (i, id) in thermostats.iter().enumerate() {
            let value = match i {
                1 => "n/a".to_owned(),
                _ if i % 3 == 0 => continue,
                _ => format!("{}.50", 15 + (i * 7) % 11),
            };
            latest.offer(id, "temperature", TsValue::new(NOW - 1000, value));
        }
        Fixture { world, latest }
    }

    impl Fixture {
        fn user(&self, email: &str) -> &DemoUser {
            self.world.user_by_email(email).unwrap()
        }
        fn admin(&self) -> QueryContext<'_> {
            self.ctx(TENANT_EMAIL)
        }
        fn customer(&self) -> QueryContext<'_> {
            self.ctx(CUSTOMER_EMAIL)
        }
        fn ctx(&self, email: &str) -> QueryContext<'_> {
            QueryContext {
                world: &self.world,
                user: self.user(email),
                latest: &self.latest,
                now_ms: NOW,
            }
        }
        fn of_type(&self, t: &EntityType) -> Vec<&EntityRecord> {
            self.world
                .entities
                .iter()
                .filter(|e| e.id.entity_type == *t)
                .collect()
        }
        fn sites(&self) -> Vec<&EntityRecord> {
            self.world
                .entities
                .iter()
                .filter(|e| e.profile == "site")
                .collect()
        }
        fn children(&self, id: &EntityId) -> Vec<EntityId> {
            self.world
                .relations
                .iter()
                .filter(|r| r.from == *id)
                .map(|r| r.to.clone())
                .collect()
        }
    }

    fn filter(v: serde_json::Value) -> EntityFilter {
        serde_json::from_value(v).unwrap()
    }

    fn key_filter(v: serde_json::Value) -> KeyFilter {
        serde_json::from_value(v).unwrap()
    }

    fn ids(found: &[&EntityRecord]) -> Vec<EntityId> {
        found.iter().map(|e| e.id.clone()).collect()
    }

    fn names(found: &[&EntityRecord]) -> Vec<String> {
        found.iter().map(|e| e.name.clone()).collect()
    }

    fn page_names(page: &PageData<EntityData>, fx: &Fixture) -> Vec<String> {
        page.data
            .iter()
            .map(|d| fx.world.entity(&d.entity_id).unwrap().name.clone())
            .collect()
    }

    fn in_creation_order(fx: &Fixture, set: &HashSet<EntityId>) -> Vec<EntityId> {
        fx.world
            .entities
            .iter()
            .filter(|e| set.contains(&e.id))
            .map(|e| e.id.clone())
            .collect()
    }

    fn devices_query(link: EntityDataPageLink) -> EntityDataQuery {
        EntityDataQuery::new(EntityFilter::of_type(EntityType::Device), link)
    }

    fn string_value(v: &TsValue) -> &str {
        v.value.as_ref().map_or("", TbValue::as_str)
    }

    fn temperature(fx: &Fixture, e: &EntityRecord) -> Option<String> {
        fx.latest
            .get(&e.id, "temperature")
            .and_then(|v| v.value.as_ref())
            .map(|v| normalize_value(v.as_str()))
    }

    // ----- entity filters --------------------------------------------------------------------

    #[test]
    fn single_entity_filter_finds_one_entity_and_resolves_the_current_aliases() {
        let fx = fixture();
        let device = fx.world.devices().nth(3).unwrap();
        let admin = fx.admin();
        assert_eq!(
            ids(&admin
                .resolve_filter(&EntityFilter::single(device.id.clone()))
                .unwrap()),
            vec![device.id.clone()]
        );

        let alias = |name: &str| {
            filter(json!({"type": "singleEntity", "singleEntity": {"entityType": name}}))
        };
        let tenant = EntityId::new(EntityType::Tenant, fx.world.tenant_id);
        let customer = EntityId::customer(fx.world.customers[0].id);
        assert_eq!(
            ids(&admin.resolve_filter(&alias("CURRENT_TENANT")).unwrap()),
            vec![tenant.clone()]
        );
        assert_eq!(
            ids(&admin.resolve_filter(&alias("CURRENT_USER_OWNER")).unwrap()),
            vec![tenant]
        );
        assert!(
            admin
                .resolve_filter(&alias("CURRENT_CUSTOMER"))
                .unwrap()
                .is_empty()
        );
        let with_default = filter(json!({"type": "singleEntity",
            "singleEntity": {"entityType": "CURRENT_CUSTOMER", "id": customer.id}}));
        assert_eq!(
            ids(&admin.resolve_filter(&with_default).unwrap()),
            vec![customer.clone()]
        );

        let cust = fx.customer();
        assert_eq!(
            ids(&cust.resolve_filter(&alias("CURRENT_CUSTOMER")).unwrap()),
            vec![customer.clone()]
        );
        assert_eq!(
            ids(&cust.resolve_filter(&alias("CURRENT_USER_OWNER")).unwrap()),
            vec![customer]
        );
        // The tenant is not visible to a customer user; users are not entities of the world.
        assert!(
            cust.resolve_filter(&alias("CURRENT_TENANT"))
                .unwrap()
                .is_empty()
        );
        assert!(
            admin
                .resolve_filter(&alias("CURRENT_USER"))
                .unwrap()
                .is_empty()
        );
        let missing = EntityId::device(Uuid::from_u128(42));
        assert!(
            admin
                .resolve_filter(&EntityFilter::single(missing))
                .unwrap()
                .is_empty()
        );
        let no_entity = filter(json!({"type": "singleEntity"}));
        assert!(admin.resolve_filter(&no_entity).unwrap().is_empty());
    }

    #[test]
    fn entity_list_filter_returns_listed_entities_of_its_type_in_creation_order() {
        let fx = fixture();
        let devices: Vec<&EntityRecord> = fx.world.devices().collect();
        let (a, b) = (devices[10], devices[2]);
        let site = fx.sites()[0];
        let f = filter(json!({"type": "entityList", "entityType": "DEVICE",
            "entityList": [a.id.id, b.id.id, b.id.id, site.id.id, Uuid::from_u128(7)]}));
        assert_eq!(
            ids(&fx.admin().resolve_filter(&f).unwrap()),
            vec![b.id.clone(), a.id.clone()]
        );
    }

    #[test]
    fn entity_name_filter_matches_a_case_insensitive_prefix_or_a_like_pattern() {
        let fx = fixture();
        let admin = fx.admin();
        let by_name = |p: &str| {
            names(
                &admin
                    .resolve_filter(&EntityFilter::by_name(EntityType::Device, p))
                    .unwrap(),
            )
        };
        let expect = |pred: &dyn Fn(&str) -> bool| -> Vec<String> {
            fx.world
                .devices()
                .filter(|d| pred(&d.name))
                .map(|d| d.name.clone())
                .collect()
        };
        assert_eq!(
            by_name("thermostat"),
            expect(&|n| n.starts_with("Thermostat"))
        );
        assert!(!by_name("thermostat").is_empty());
        assert_eq!(by_name("%-105"), expect(&|n| n.ends_with("-105")));
        assert_eq!(
            by_name("%p-1%"),
            expect(&|n| n.to_lowercase().contains("p-1"))
        );
        assert_eq!(
            by_name("Pump P-1_5"),
            expect(&|n| n.starts_with("Pump P-1") && n.len() >= 10 && &n[9..10] == "5")
        );
        assert_eq!(by_name(""), expect(&|_| true));
        assert!(by_name("Site").is_empty(), "sites are assets, not devices");
    }

    #[test]
    fn entity_type_filter_returns_every_entity_of_the_type() {
        let fx = fixture();
        for t in [
            EntityType::Device,
            EntityType::Asset,
            EntityType::Customer,
            EntityType::Tenant,
        ] {
            let found = fx
                .admin()
                .resolve_filter(&EntityFilter::of_type(t.clone()))
                .unwrap();
            assert_eq!(ids(&found), ids(&fx.of_type(&t)), "{t}");
            assert!(!found.is_empty());
        }
        assert!(
            fx.admin()
                .resolve_filter(&EntityFilter::of_type(EntityType::Dashboard))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn device_and_asset_type_filters_select_profiles_and_a_name_prefix() {
        let fx = fixture();
        let admin = fx.admin();
        let pumps = admin
            .resolve_filter(&EntityFilter::devices_of_types(["water-pump"]))
            .unwrap();
        let expected: Vec<&EntityRecord> = fx
            .world
            .devices()
            .filter(|d| d.profile == "water-pump")
            .collect();
        assert_eq!(ids(&pumps), ids(&expected));
        assert!(!pumps.is_empty());

        let two = admin
            .resolve_filter(&EntityFilter::devices_of_types(["water-pump", "gateway"]))
            .unwrap();
        let expected: Vec<&EntityRecord> = fx
            .world
            .devices()
            .filter(|d| d.profile == "water-pump" || d.profile == "gateway")
            .collect();
        assert_eq!(ids(&two), ids(&expected));

        let singular = filter(
            json!({"type": "deviceType", "deviceType": "gateway", "deviceNameFilter": "gateway g-11"}),
        );
        let expected: Vec<&EntityRecord> = fx
            .world
            .devices()
            .filter(|d| d.profile == "gateway" && d.name.starts_with("Gateway G-11"))
            .collect();
        assert_eq!(
            ids(&admin.resolve_filter(&singular).unwrap()),
            ids(&expected)
        );
        assert!(!expected.is_empty());

        let none = filter(json!({"type": "deviceType", "deviceTypes": []}));
        assert!(
            admin.resolve_filter(&none).unwrap().is_empty(),
            "no type matches nothing, as in ThingsBoard"
        );

        let buildings = filter(
            json!({"type": "assetType", "assetTypes": ["building", "zone"], "assetNameFilter": ""}),
        );
        let expected: Vec<&EntityRecord> = fx
            .world
            .entities
            .iter()
            .filter(|e| e.profile == "building" || e.profile == "zone")
            .collect();
        assert_eq!(
            ids(&admin.resolve_filter(&buildings).unwrap()),
            ids(&expected)
        );
        let zones =
            filter(json!({"type": "assetType", "assetType": "zone", "assetNameFilter": "ZONE"}));
        let expected: Vec<&EntityRecord> = fx
            .world
            .entities
            .iter()
            .filter(|e| e.profile == "zone")
            .collect();
        assert_eq!(ids(&admin.resolve_filter(&zones).unwrap()), ids(&expected));
    }

    #[test]
    fn edge_entity_view_and_api_usage_filters_find_nothing_in_the_demo_tenant() {
        let fx = fixture();
        let admin = fx.admin();
        for f in [
            json!({"type": "edgeType", "edgeTypes": ["default"]}),
            json!({"type": "entityViewType", "entityViewType": "thermostat"}),
            json!({"type": "apiUsageState"}),
        ] {
            assert!(admin.resolve_filter(&filter(f)).unwrap().is_empty());
        }
    }

    #[test]
    fn a_customer_user_sees_only_the_customers_entities() {
        let fx = fixture();
        let customer_id = fx.world.customers[0].id;
        let cust = fx.customer();
        let devices = cust
            .resolve_filter(&EntityFilter::of_type(EntityType::Device))
            .unwrap();
        let expected: Vec<&EntityRecord> = fx
            .world
            .devices()
            .filter(|d| d.customer_id == Some(customer_id))
            .collect();
        assert_eq!(ids(&devices), ids(&expected));
        assert!(!devices.is_empty() && devices.len() < fx.world.devices().count());

        let customers = cust
            .resolve_filter(&EntityFilter::of_type(EntityType::Customer))
            .unwrap();
        assert_eq!(ids(&customers), vec![EntityId::customer(customer_id)]);
        assert!(
            cust.resolve_filter(&EntityFilter::of_type(EntityType::Tenant))
                .unwrap()
                .is_empty()
        );

        let query = devices_query(EntityDataPageLink::first(1000));
        assert_eq!(
            cust.count(&query.count_query()).unwrap(),
            i64::try_from(expected.len()).unwrap()
        );
        let foreign = fx
            .world
            .devices()
            .find(|d| d.customer_id.is_none())
            .unwrap();
        assert!(
            cust.resolve_filter(&EntityFilter::single(foreign.id.clone()))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn relations_query_follows_contains_down_to_the_devices() {
        let fx = fixture();
        let site = fx.sites()[0];
        let buildings = fx.children(&site.id);
        let devices: Vec<EntityId> = buildings.iter().flat_map(|b| fx.children(b)).collect();
        assert!(!buildings.is_empty() && !devices.is_empty());
        let all: HashSet<EntityId> = buildings.iter().chain(&devices).cloned().collect();
        let query = |extra: serde_json::Value| {
            let mut f = json!({"type": "relationsQuery", "rootEntity": {"entityType": "ASSET", "id": site.id.id},
                "direction": "FROM", "filters": [{"relationType": "Contains", "entityTypes": []}]});
            f.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            ids(&fx.admin().resolve_filter(&filter(f)).unwrap())
        };
        assert_eq!(query(json!({})), in_creation_order(&fx, &all));
        assert_eq!(query(json!({"maxLevel": 0})), in_creation_order(&fx, &all));
        assert_eq!(
            query(json!({"maxLevel": 1})),
            in_creation_order(&fx, &buildings.iter().cloned().collect())
        );
        let device_set: HashSet<EntityId> = devices.iter().cloned().collect();
        assert_eq!(
            query(json!({"fetchLastLevelOnly": true})),
            in_creation_order(&fx, &device_set)
        );
        assert_eq!(
            query(json!({"maxLevel": 2, "fetchLastLevelOnly": true})),
            in_creation_order(&fx, &device_set)
        );
        assert_eq!(
            query(json!({"filters": [{"relationType": "Contains", "entityTypes": ["DEVICE"]}]})),
            in_creation_order(&fx, &device_set)
        );
        assert_eq!(query(json!({"filters": []})), in_creation_order(&fx, &all));
        // Top-level negate inverts the filters: everything reached that is not a device.
        assert_eq!(
            query(
                json!({"negate": true, "filters": [{"relationType": "Contains", "entityTypes": ["DEVICE"]}]})
            ),
            in_creation_order(&fx, &buildings.iter().cloned().collect())
        );
        // A negated relation type: no relation other than Contains exists.
        assert!(
            query(json!({"filters": [{"relationType": "Contains", "negate": true}]})).is_empty()
        );
        assert!(query(json!({"filters": [{"relationType": "Manages"}]})).is_empty());
        assert!(
            !query(json!({})).contains(&site.id),
            "the root itself is never returned"
        );
    }

    #[test]
    fn relations_query_goes_up_with_direction_to_and_from_several_roots() {
        let fx = fixture();
        let device = fx.world.devices().next().unwrap();
        let building = fx
            .world
            .relations
            .iter()
            .find(|r| r.to == device.id)
            .unwrap()
            .from
            .clone();
        let site = fx
            .world
            .relations
            .iter()
            .find(|r| r.to == building)
            .unwrap()
            .from
            .clone();
        let up = filter(
            json!({"type": "relationsQuery", "rootEntity": {"entityType": "DEVICE", "id": device.id.id},
            "direction": "TO", "filters": [{"relationType": "Contains", "entityTypes": ["ASSET"]}]}),
        );
        let expected =
            in_creation_order(&fx, &[building.clone(), site.clone()].into_iter().collect());
        assert_eq!(ids(&fx.admin().resolve_filter(&up).unwrap()), expected);

        let sites = fx.sites();
        let multi = filter(
            json!({"type": "relationsQuery", "multiRoot": true, "multiRootEntitiesType": "ASSET",
            "multiRootEntityIds": [sites[0].id.id, sites[1].id.id], "direction": "FROM", "maxLevel": 1,
            "filters": [{"relationType": "Contains", "entityTypes": ["ASSET"]}]}),
        );
        let children: HashSet<EntityId> = fx
            .children(&sites[0].id)
            .into_iter()
            .chain(fx.children(&sites[1].id))
            .collect();
        assert_eq!(
            ids(&fx.admin().resolve_filter(&multi).unwrap()),
            in_creation_order(&fx, &children)
        );
        let untyped = filter(
            json!({"type": "relationsQuery", "multiRoot": true, "multiRootEntityIds": [sites[0].id.id]}),
        );
        assert!(fx.admin().resolve_filter(&untyped).unwrap().is_empty());
        let rootless = filter(json!({"type": "relationsQuery", "direction": "FROM"}));
        assert!(fx.admin().resolve_filter(&rootless).unwrap().is_empty());
    }

    #[test]
    fn relations_query_results_are_limited_to_what_a_customer_user_sees() {
        let fx = fixture();
        let customer_id = fx.world.customers[0].id;
        let below = |site: &EntityRecord| {
            let f = filter(json!({"type": "relationsQuery",
                "rootEntity": {"entityType": "ASSET", "id": site.id.id}, "direction": "FROM", "filters": []}));
            (
                ids(&fx.admin().resolve_filter(&f).unwrap()),
                ids(&fx.customer().resolve_filter(&f).unwrap()),
            )
        };
        let sites = fx.sites();
        let tenant_site = sites.iter().find(|s| s.customer_id.is_none()).unwrap();
        let customer_site = sites
            .iter()
            .find(|s| s.customer_id == Some(customer_id))
            .unwrap();
        let (admin_sees, customer_sees) = below(tenant_site);
        assert!(!admin_sees.is_empty());
        assert!(
            customer_sees.is_empty(),
            "a tenant site holds only tenant entities"
        );
        let (admin_sees, customer_sees) = below(customer_site);
        assert!(!customer_sees.is_empty());
        assert_eq!(
            customer_sees, admin_sees,
            "everything below the customer's site is the customer's"
        );
    }

    #[test]
    fn search_query_filters_keep_one_entity_type_and_its_profiles() {
        let fx = fixture();
        let site = fx.sites()[0];
        let devices: Vec<EntityId> = fx
            .children(&site.id)
            .iter()
            .flat_map(|b| fx.children(b))
            .collect();
        let search = |t: &str, extra: serde_json::Value| {
            let mut f = json!({"type": t, "rootEntity": {"entityType": "ASSET", "id": site.id.id},
                "relationType": "Contains", "direction": "FROM", "maxLevel": 2});
            f.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            ids(&fx.admin().resolve_filter(&filter(f)).unwrap())
        };
        let all: HashSet<EntityId> = devices.iter().cloned().collect();
        assert_eq!(
            search("deviceSearchQuery", json!({"deviceTypes": []})),
            in_creation_order(&fx, &all)
        );
        let thermostats: HashSet<EntityId> = devices
            .iter()
            .filter(|d| fx.world.entity(d).unwrap().profile == "thermostat")
            .cloned()
            .collect();
        assert_eq!(
            search("deviceSearchQuery", json!({"deviceTypes": ["thermostat"]})),
            in_creation_order(&fx, &thermostats)
        );
        assert!(
            search("deviceSearchQuery", json!({"maxLevel": 1})).is_empty(),
            "devices sit two levels down"
        );
        assert!(search("deviceSearchQuery", json!({"relationType": "Manages"})).is_empty());
        let buildings: HashSet<EntityId> = fx.children(&site.id).into_iter().collect();
        assert_eq!(
            search("assetSearchQuery", json!({"assetTypes": []})),
            in_creation_order(&fx, &buildings)
        );
        assert!(search("entityViewSearchQuery", json!({})).is_empty());
        assert!(search("edgeSearchQuery", json!({})).is_empty());
    }

    // ----- key values ------------------------------------------------------------------------

    #[test]
    fn key_value_renders_entity_fields_for_each_entity_type() {
        let fx = fixture();
        let admin = fx.admin();
        let field = |e: &EntityRecord, k: &str| {
            let v = admin.key_value(e, &EntityKey::field(k)).unwrap();
            assert_eq!(v.ts, NOW, "entity fields carry the query time");
            string_value(&v).to_owned()
        };
        let labeled = fx.world.devices().find(|d| !d.label.is_empty()).unwrap();
        let unlabeled = fx.world.devices().find(|d| d.label.is_empty()).unwrap();
        assert_eq!(field(labeled, "name"), labeled.name);
        assert_eq!(field(labeled, "type"), labeled.profile);
        assert_eq!(field(labeled, "label"), labeled.label);
        assert_eq!(field(labeled, "displayName"), labeled.label);
        assert_eq!(field(unlabeled, "displayName"), unlabeled.name);
        assert_eq!(
            field(labeled, "createdTime"),
            labeled.created_time.to_string()
        );
        assert_eq!(field(labeled, "entityType"), "DEVICE");
        let info: serde_json::Value =
            serde_json::from_str(&field(labeled, "additionalInfo")).unwrap();
        assert_eq!(info, labeled.additional_info);
        assert_eq!(field(labeled, "email"), "", "a device has no e-mail");
        assert_eq!(field(labeled, "noSuchField"), "");

        let customer = &fx.world.customers[0];
        let owned = fx
            .world
            .devices()
            .find(|d| d.customer_id == Some(customer.id))
            .unwrap();
        let tenant_entity = fx.of_type(&EntityType::Tenant)[0];
        let tenant_owned = fx
            .world
            .devices()
            .find(|d| d.customer_id.is_none())
            .unwrap();
        assert_eq!(field(owned, "ownerName"), customer.title);
        assert_eq!(field(owned, "ownerType"), "CUSTOMER");
        assert_eq!(field(tenant_owned, "ownerName"), tenant_entity.name);
        assert_eq!(field(tenant_owned, "ownerType"), "TENANT");

        let cust_entity = fx.world.entity(&EntityId::customer(customer.id)).unwrap();
        assert_eq!(field(cust_entity, "title"), customer.title);
        assert_eq!(field(cust_entity, "email"), customer.email);
        assert_eq!(field(cust_entity, "city"), customer.city);
        assert_eq!(field(cust_entity, "country"), customer.country);
        assert_eq!(field(cust_entity, "type"), "");
        assert_eq!(field(tenant_entity, "title"), tenant_entity.name);
        assert_eq!(field(tenant_entity, "entityType"), "TENANT");
    }

    #[test]
    fn key_value_reads_attributes_by_scope_and_the_latest_telemetry() {
        let mut fx = fixture();
        let device = fx.world.devices().next().unwrap().clone();
        let attrs = fx.world.attributes.get(&device.id).unwrap().clone();
        let serial = attrs.client.get("serialNumber").unwrap();
        {
            let admin = fx.admin();
            let v = admin
                .key_value(
                    &device,
                    &EntityKey::new(EntityKeyType::ClientAttribute, "serialNumber"),
                )
                .unwrap();
            assert_eq!(
                (v.ts, string_value(&v)),
                (serial.last_update_ts, serial.value.as_str())
            );
            assert!(
                admin
                    .key_value(
                        &device,
                        &EntityKey::new(EntityKeyType::ServerAttribute, "serialNumber")
                    )
                    .is_none()
            );
            let active = admin
                .key_value(
                    &device,
                    &EntityKey::new(EntityKeyType::ServerAttribute, "active"),
                )
                .unwrap();
            assert_eq!(string_value(&active), "true");
            assert!(
                admin
                    .key_value(&device, &EntityKey::alarm_field("severity"))
                    .is_none()
            );
            assert!(
                admin
                    .key_value(&device, &EntityKey::time_series("nothing"))
                    .is_none()
            );
        }
        // ATTRIBUTE picks the most recently updated scope.
        fx.world.set_attr(
            &device.id,
            Scope::Client,
            "mode",
            "old".to_owned(),
            NOW - 10,
        );
        fx.world
            .set_attr(&device.id, Scope::Server, "mode", "new".to_owned(), NOW - 5);
        fx.world.set_attr(
            &device.id,
            Scope::Shared,
            "mode",
            "older".to_owned(),
            NOW - 20,
        );
        let v = fx
            .admin()
            .key_value(&device, &EntityKey::attribute("mode"))
            .unwrap();
        assert_eq!((v.ts, string_value(&v)), (NOW - 5, "new"));

        let thermostat = fx
            .world
            .devices()
            .filter(|d| d.profile == "thermostat")
            .nth(2)
            .unwrap();
        let v = fx
            .admin()
            .key_value(thermostat, &EntityKey::time_series("temperature"))
            .unwrap();
        let raw = fx.latest.get(&thermostat.id, "temperature").unwrap();
        assert_eq!(v.ts, raw.ts);
        assert!(raw.value.as_ref().unwrap().as_str().ends_with(".50"));
        assert!(
            string_value(&v).ends_with(".5") && !string_value(&v).ends_with(".50"),
            "normalised"
        );
    }

    #[test]
    fn values_are_normalised_like_thingsboards_entity_data_adapter() {
        for (raw, expected) in [
            ("42", "42"),
            ("-0042", "-42"),
            ("-0", "0"),
            ("007", "007"),
            ("0", "0"),
            ("3.20", "3.2"),
            ("0.50", "0.5"),
            ("-.5", "-0.5"),
            ("21", "21"),
            ("12345678.5", "12345678.5"),
            ("0.0001", "0.0001"),
            ("1.0E7", "1.0E7"),
            ("1.", "1."),
            ("1.2.3", "1.2.3"),
            ("+5", "+5"),
            ("-", "-"),
            ("", ""),
            ("true", "true"),
            ("{\"a\":1}", "{\"a\":1}"),
            ("99999999999999999999999", "99999999999999999999999"),
        ] {
            assert_eq!(normalize_value(raw), expected, "{raw}");
        }
    }

    // ----- key filters -----------------------------------------------------------------------

    fn count_devices(
        ctx: &QueryContext<'_>,
        filters: &[KeyFilter],
        op: Option<&ComplexOperation>,
    ) -> usize {
        ctx.matching(&EntityFilter::of_type(EntityType::Device), filters, op)
            .unwrap()
            .len()
    }

    fn expected_devices(fx: &Fixture, pred: impl Fn(&EntityRecord) -> bool) -> usize {
        fx.world.devices().filter(|d| pred(d)).count()
    }

    #[test]
    fn string_predicates_cover_every_operation_and_ignore_case() {
        let fx = fixture();
        let admin = fx.admin();
        let name = || EntityKey::field("name");
        let target = fx.world.devices().nth(5).unwrap().name.clone();
        let other = fx.world.devices().nth(6).unwrap().name.clone();
        let total = fx.world.devices().count();
        let run = |op: StringOperation, value: &str, ignore_case: bool| {
            count_devices(
                &admin,
                &[KeyFilter::string(name(), op, value, ignore_case)],
                None,
            )
        };
        assert_eq!(run(StringOperation::Equal, &target, false), 1);
        assert_eq!(
            run(StringOperation::Equal, &target.to_uppercase(), false),
            0
        );
        assert_eq!(run(StringOperation::Equal, &target.to_uppercase(), true), 1);
        assert_eq!(run(StringOperation::NotEqual, &target, false), total - 1);
        assert_eq!(
            run(StringOperation::StartsWith, "pump", true),
            expected_devices(&fx, |d| d.name.starts_with("Pump"))
        );
        assert_eq!(run(StringOperation::StartsWith, "pump", false), 0);
        assert_eq!(
            run(StringOperation::EndsWith, "5", false),
            expected_devices(&fx, |d| d.name.ends_with('5'))
        );
        assert_eq!(
            run(StringOperation::Contains, "-11", false),
            expected_devices(&fx, |d| d.name.contains("-11"))
        );
        assert_eq!(
            run(StringOperation::NotContains, "-11", false),
            expected_devices(&fx, |d| !d.name.contains("-11"))
        );
        let list = format!(" {target} ,\"{other}\", nobody");
        assert_eq!(run(StringOperation::In, &list, false), 2);
        assert_eq!(run(StringOperation::In, &list.to_lowercase(), true), 2);
        assert_eq!(run(StringOperation::NotIn, &list, false), total - 2);
        assert_eq!(run(StringOperation::Unknown("LIKE".into()), "x", false), 0);
    }

    #[test]
    fn numeric_predicates_compare_numbers_and_skip_non_numeric_values() {
        let fx = fixture();
        let admin = fx.admin();
        let temp = || EntityKey::time_series("temperature");
        let numeric_temps: Vec<f64> = fx
            .world
            .devices()
            .filter_map(|d| temperature(&fx, d))
            .filter_map(|t| t.parse::<f64>().ok())
            .collect();
        let threshold = 20.5;
        let run = |op: NumericOperation| {
            count_devices(&admin, &[KeyFilter::numeric(temp(), op, threshold)], None)
        };
        let count = |p: &dyn Fn(f64) -> bool| numeric_temps.iter().filter(|t| p(**t)).count();
        assert_eq!(run(NumericOperation::Greater), count(&|t| t > threshold));
        assert_eq!(
            run(NumericOperation::GreaterOrEqual),
            count(&|t| t >= threshold)
        );
        assert_eq!(run(NumericOperation::Less), count(&|t| t < threshold));
        assert_eq!(
            run(NumericOperation::LessOrEqual),
            count(&|t| t <= threshold)
        );
        assert_eq!(
            run(NumericOperation::Equal),
            count(&|t| (t - threshold).abs() < 1e-9)
        );
        assert_eq!(
            run(NumericOperation::NotEqual),
            count(&|t| (t - threshold).abs() >= 1e-9)
        );
        assert!(
            count(&|t| (t - threshold).abs() < 1e-9) > 0,
            "the fixture has 20.5 somewhere"
        );
        // The "n/a" thermostat and those without a value never match, not even NOT_EQUAL.
        assert!(
            run(NumericOperation::NotEqual) < expected_devices(&fx, |d| d.profile == "thermostat")
        );
        let timeout = KeyFilter::numeric(
            EntityKey::new(EntityKeyType::ServerAttribute, "inactivityTimeout"),
            NumericOperation::Equal,
            600_000.0,
        );
        assert_eq!(
            count_devices(&admin, &[timeout], None),
            fx.world.devices().count()
        );
    }

    #[test]
    fn boolean_and_date_time_predicates_read_attributes_and_created_time() {
        let mut fx = fixture();
        let first = fx.world.devices().next().unwrap().id.clone();
        fx.world
            .set_attr(&first, Scope::Server, "active", "FALSE".to_owned(), NOW);
        let admin = fx.admin();
        let active = || EntityKey::new(EntityKeyType::ServerAttribute, "active");
        let total = fx.world.devices().count();
        assert_eq!(
            count_devices(
                &admin,
                &[KeyFilter::boolean(active(), BooleanOperation::Equal, true)],
                None
            ),
            total - 1
        );
        assert_eq!(
            count_devices(
                &admin,
                &[KeyFilter::boolean(
                    active(),
                    BooleanOperation::NotEqual,
                    true
                )],
                None
            ),
            1
        );
        let name_as_bool =
            KeyFilter::boolean(EntityKey::field("name"), BooleanOperation::NotEqual, true);
        assert_eq!(
            count_devices(&admin, &[name_as_bool], None),
            0,
            "non-boolean values never match"
        );

        let cutoff =
            fx.world.devices().map(|d| d.created_time).sum::<i64>() / i64::try_from(total).unwrap();
        let created = key_filter(
            json!({"key": {"type": "ENTITY_FIELD", "key": "createdTime"}, "valueType": "DATE_TIME",
            "predicate": {"type": "NUMERIC", "operation": "GREATER_OR_EQUAL", "value": {"defaultValue": cutoff}}}),
        );
        let expected = expected_devices(&fx, |d| d.created_time >= cutoff);
        assert!(expected > 0 && expected < total);
        assert_eq!(count_devices(&admin, &[created], None), expected);
    }

    #[test]
    fn complex_predicates_nest_and_and_or() {
        let fx = fixture();
        let admin = fx.admin();
        // name starts with "Pump" OR (name starts with "Meter" AND name ends with "5")
        let f = key_filter(
            json!({"key": {"type": "ENTITY_FIELD", "key": "name"}, "valueType": "STRING",
            "predicate": {"type": "COMPLEX", "operation": "OR", "predicates": [
                {"type": "STRING", "operation": "STARTS_WITH", "value": {"defaultValue": "Pump"}, "ignoreCase": false},
                {"type": "COMPLEX", "operation": "AND", "predicates": [
                    {"type": "STRING", "operation": "STARTS_WITH", "value": {"defaultValue": "meter"}, "ignoreCase": true},
                    {"type": "STRING", "operation": "ENDS_WITH", "value": {"defaultValue": "5"}, "ignoreCase": false}
                ]}
            ]}}),
        );
        let expected = expected_devices(&fx, |d| {
            d.name.starts_with("Pump") || (d.name.starts_with("Meter") && d.name.ends_with('5'))
        });
        assert!(expected > 0);
        assert_eq!(count_devices(&admin, &[f], None), expected);
        let empty = key_filter(
            json!({"key": {"type": "ENTITY_FIELD", "key": "name"}, "valueType": "STRING",
            "predicate": {"type": "COMPLEX", "operation": "OR", "predicates": []}}),
        );
        assert_eq!(
            count_devices(&admin, &[empty], None),
            fx.world.devices().count()
        );
    }

    #[test]
    fn key_filters_combine_with_and_by_default_and_with_or_on_request() {
        let fx = fixture();
        let admin = fx.admin();
        let starts = |p: &str| {
            KeyFilter::string(
                EntityKey::field("name"),
                StringOperation::StartsWith,
                p,
                false,
            )
        };
        let typed =
            |t: &str| KeyFilter::string(EntityKey::field("type"), StringOperation::Equal, t, false);
        assert_eq!(
            count_devices(&admin, &[starts("Pump"), typed("water-pump")], None),
            expected_devices(&fx, |d| d.profile == "water-pump")
        );
        assert_eq!(
            count_devices(
                &admin,
                &[starts("Pump"), typed("gateway")],
                Some(&ComplexOperation::And)
            ),
            0
        );
        assert_eq!(
            count_devices(
                &admin,
                &[starts("Pump"), typed("gateway")],
                Some(&ComplexOperation::Or)
            ),
            expected_devices(&fx, |d| d.profile == "water-pump" || d.profile == "gateway")
        );
        let device = fx.world.devices().next().unwrap();
        assert!(admin.matches_key_filters(device, &[], Some(&ComplexOperation::Or)));
    }

    #[test]
    fn missing_values_never_match_even_negative_operations() {
        let fx = fixture();
        let admin = fx.admin();
        let absent = EntityKey::new(EntityKeyType::SharedAttribute, "noSuchKey");
        for op in [
            StringOperation::NotEqual,
            StringOperation::NotContains,
            StringOperation::NotIn,
        ] {
            assert_eq!(
                count_devices(
                    &admin,
                    &[KeyFilter::string(absent.clone(), op, "x", false)],
                    None
                ),
                0
            );
        }
        assert_eq!(
            count_devices(
                &admin,
                &[KeyFilter::numeric(
                    absent.clone(),
                    NumericOperation::NotEqual,
                    1.0
                )],
                None
            ),
            0
        );
        let email = KeyFilter::string(
            EntityKey::field("email"),
            StringOperation::NotEqual,
            "x",
            false,
        );
        assert_eq!(
            count_devices(&admin, &[email], None),
            0,
            "devices have no e-mail field"
        );
        let temp = KeyFilter::string(
            EntityKey::time_series("temperature"),
            StringOperation::NotEqual,
            "zzz",
            false,
        );
        let with_temp = fx
            .world
            .devices()
            .filter(|d| temperature(&fx, d).is_some())
            .count();
        assert_eq!(count_devices(&admin, &[temp], None), with_temp);
    }

    #[test]
    fn dynamic_values_read_server_attributes_and_fall_back_to_the_default() {
        let mut fx = fixture();
        let tenant = EntityId::new(EntityType::Tenant, fx.world.tenant_id);
        let customer = EntityId::customer(fx.world.customers[0].id);
        fx.world
            .set_attr(&tenant, Scope::Server, "limit", "20.5".to_owned(), NOW);
        fx.world
            .set_attr(&customer, Scope::Server, "limit", "18".to_owned(), NOW);
        let numeric_temps: Vec<(Option<Uuid>, f64)> = fx
            .world
            .devices()
            .filter_map(|d| Some((d.customer_id, temperature(&fx, d)?.parse::<f64>().ok()?)))
            .collect();
        let above = |limit: f64, customer_only: bool| {
            numeric_temps
                .iter()
                .filter(|(c, t)| *t > limit && (!customer_only || c.is_some()))
                .count()
        };
        let filter_with = |value: serde_json::Value| {
            vec![key_filter(
                json!({"key": {"type": "TIME_SERIES", "key": "temperature"}, "valueType": "NUMERIC",
                "predicate": {"type": "NUMERIC", "operation": "GREATER", "value": value}}),
            )]
        };
        let dynamic = |source: &str, attr: &str, inherit: bool| json!({"defaultValue": 100.0, "dynamicValue": {"sourceType": source, "sourceAttribute": attr, "inherit": inherit}});
        let admin = fx.admin();
        let cust = fx.customer();
        assert_eq!(
            count_devices(
                &admin,
                &filter_with(dynamic("CURRENT_TENANT", "limit", false)),
                None
            ),
            above(20.5, false)
        );
        assert_eq!(
            count_devices(
                &cust,
                &filter_with(dynamic("CURRENT_CUSTOMER", "limit", false)),
                None
            ),
            above(18.0, true)
        );
        // A tenant admin has no customer: the default (100) applies, unless inherited from the tenant.
        assert_eq!(
            count_devices(
                &admin,
                &filter_with(dynamic("CURRENT_CUSTOMER", "limit", false)),
                None
            ),
            above(100.0, false)
        );
        assert_eq!(
            count_devices(
                &admin,
                &filter_with(dynamic("CURRENT_CUSTOMER", "limit", true)),
                None
            ),
            above(20.5, false)
        );
        assert_eq!(
            count_devices(
                &admin,
                &filter_with(dynamic("CURRENT_USER", "limit", false)),
                None
            ),
            above(100.0, false)
        );
        assert_eq!(
            count_devices(
                &admin,
                &filter_with(dynamic("CURRENT_TENANT", "absent", false)),
                None
            ),
            above(100.0, false)
        );
        // userValue wins over the dynamic source.
        let user_wins = json!({"defaultValue": 100.0, "userValue": 0.0,
            "dynamicValue": {"sourceType": "CURRENT_TENANT", "sourceAttribute": "limit"}});
        assert_eq!(
            count_devices(&admin, &filter_with(user_wins), None),
            above(0.0, false)
        );
        // CURRENT_DEVICE reads the filtered entity's own attribute.
        let own = key_filter(
            json!({"key": {"type": "SERVER_ATTRIBUTE", "key": "lastActivityTime"}, "valueType": "NUMERIC",
            "predicate": {"type": "NUMERIC", "operation": "EQUAL", "value": {"defaultValue": -1.0,
                "dynamicValue": {"sourceType": "CURRENT_DEVICE", "sourceAttribute": "lastActivityTime"}}}}),
        );
        assert_eq!(
            count_devices(&admin, &[own], None),
            fx.world.devices().count()
        );
        let text = key_filter(
            json!({"key": {"type": "ENTITY_FIELD", "key": "name"}, "valueType": "STRING",
            "predicate": {"type": "STRING", "operation": "STARTS_WITH", "ignoreCase": false, "value": {"defaultValue": "Pump",
                "dynamicValue": {"sourceType": "CURRENT_DEVICE", "sourceAttribute": "nope"}}}}),
        );
        assert_eq!(
            count_devices(&admin, &[text], None),
            expected_devices(&fx, |d| d.name.starts_with("Pump"))
        );
    }

    // ----- find: sort, page, search, rows ----------------------------------------------------

    #[test]
    fn find_sorts_by_time_series_both_ways_with_missing_values_at_the_ends() {
        let fx = fixture();
        let admin = fx.admin();
        let thermostats = || EntityFilter::devices_of_types(["thermostat"]);
        let link = |dir| {
            EntityDataPageLink::first(1000).sorted_by(EntityKey::time_series("temperature"), dir)
        };
        let asc = admin
            .find(&EntityDataQuery::new(
                thermostats(),
                link(SortDirection::Asc),
            ))
            .unwrap();
        let desc = admin
            .find(&EntityDataQuery::new(
                thermostats(),
                link(SortDirection::Desc),
            ))
            .unwrap();

        let records: Vec<&EntityRecord> = fx
            .world
            .devices()
            .filter(|d| d.profile == "thermostat")
            .collect();
        let mut numbers: Vec<(f64, usize, &str)> = Vec::new();
        let mut texts: Vec<(String, usize, &str)> = Vec::new();
        let mut missing: Vec<&str> = Vec::new();
        for (i, d) in records.iter().enumerate() {
            match temperature(&fx, d) {
                Some(t) => match t.parse::<f64>() {
                    Ok(n) => numbers.push((n, i, &d.name)),
                    Err(_) => texts.push((t.to_lowercase(), i, &d.name)),
                },
                None => missing.push(&d.name),
            }
        }
        assert!(!numbers.is_empty() && !texts.is_empty() && !missing.is_empty());
        numbers.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        texts.sort();
        let expected_asc: Vec<String> = numbers
            .iter()
            .map(|n| n.2.to_owned())
            .chain(texts.iter().map(|t| t.2.to_owned()))
            .chain(missing.iter().map(|m| (*m).to_owned()))
            .collect();
        assert_eq!(page_names(&asc, &fx), expected_asc);

        // DESC: missing first (in creation order), then text, then numbers from the largest;
        // equal values keep creation order.
        numbers.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let expected_desc: Vec<String> = missing
            .iter()
            .map(|m| (*m).to_owned())
            .chain(texts.iter().rev().map(|t| t.2.to_owned()))
            .chain(numbers.iter().map(|n| n.2.to_owned()))
            .collect();
        assert_eq!(page_names(&desc, &fx), expected_desc);
    }

    #[test]
    fn find_sorts_entity_fields_numerically_or_case_insensitively_and_defaults_to_creation_order() {
        let fx = fixture();
        let admin = fx.admin();
        let sorted = |key: &str, dir| {
            let q = devices_query(
                EntityDataPageLink::first(1000).sorted_by(EntityKey::field(key), dir),
            );
            page_names(&admin.find(&q).unwrap(), &fx)
        };
        let mut by_created: Vec<&EntityRecord> = fx.world.devices().collect();
        by_created.sort_by_key(|d| d.created_time);
        assert_eq!(
            sorted("createdTime", SortDirection::Asc),
            names(&by_created)
        );
        by_created.sort_by_key(|d| std::cmp::Reverse(d.created_time));
        assert_eq!(
            sorted("createdTime", SortDirection::Desc),
            names(&by_created)
        );

        let mut by_name: Vec<&EntityRecord> = fx.world.devices().collect();
        by_name.sort_by_key(|d| d.name.to_lowercase());
        assert_eq!(sorted("name", SortDirection::Asc), names(&by_name));

        let unsorted = admin
            .find(&devices_query(EntityDataPageLink::first(1000)))
            .unwrap();
        assert_eq!(
            page_names(&unsorted, &fx),
            names(&fx.world.devices().collect::<Vec<_>>())
        );
        // A field devices lack sorts them all as missing: creation order either way.
        assert_eq!(
            sorted("email", SortDirection::Desc),
            names(&fx.world.devices().collect::<Vec<_>>())
        );
    }

    #[test]
    fn paging_reports_totals_and_has_next_at_the_boundaries() {
        let fx = fixture();
        let admin = fx.admin();
        let total = fx.world.devices().count();
        let all: Vec<String> = fx.world.devices().map(|d| d.name.clone()).collect();
        let page = |size: i32, n: i32| {
            let mut link = EntityDataPageLink::first(size);
            link.page = n;
            admin.find(&devices_query(link)).unwrap()
        };
        let size = 7usize;
        let pages = total.div_ceil(size);
        let mut seen = Vec::new();
        for n in 0..pages {
            let p = page(7, i32::try_from(n).unwrap());
            assert_eq!(p.total_elements, i64::try_from(total).unwrap());
            assert_eq!(p.total_pages, i32::try_from(pages).unwrap());
            assert_eq!(p.has_next, n + 1 < pages, "page {n}");
            seen.extend(page_names(&p, &fx));
        }
        assert_eq!(seen, all, "pages tile the result without gaps or repeats");
        let beyond = page(7, i32::try_from(pages).unwrap());
        assert!(beyond.data.is_empty() && !beyond.has_next);
        assert_eq!(beyond.total_elements, i64::try_from(total).unwrap());

        let exact = page(i32::try_from(total).unwrap(), 0);
        assert_eq!(
            (exact.data.len(), exact.total_pages, exact.has_next),
            (total, 1, false)
        );
        let one_short = page(i32::try_from(total - 1).unwrap(), 0);
        assert_eq!((one_short.total_pages, one_short.has_next), (2, true));
        let huge = page(i32::MAX, i32::MAX);
        assert!(huge.data.is_empty() && !huge.has_next);
        assert_eq!(huge.total_pages, 1);

        let none = admin
            .find(&EntityDataQuery::new(
                EntityFilter::of_type(EntityType::Dashboard),
                EntityDataPageLink::first(10),
            ))
            .unwrap();
        assert_eq!(
            (
                none.data.len(),
                none.total_pages,
                none.total_elements,
                none.has_next
            ),
            (0, 0, 0, false)
        );
    }

    #[test]
    fn a_page_size_below_one_or_a_negative_page_is_refused_with_thingsboards_message() {
        let fx = fixture();
        let admin = fx.admin();
        let err = admin
            .find(&devices_query(EntityDataPageLink::first(0)))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Incorrect entity data page link page size '0'. Page size must be greater than zero."
        );
        let err = admin
            .find(&devices_query(EntityDataPageLink::first(-3)))
            .unwrap_err();
        assert_eq!(
            err.0,
            "Incorrect entity data page link page size '-3'. Page size must be greater than zero."
        );
        let mut link = EntityDataPageLink::first(10);
        link.page = -1;
        let err = admin.find(&devices_query(link)).unwrap_err();
        assert_eq!(
            err.0,
            "Incorrect entity data page link page '-1'. Page must be positive integer."
        );
    }

    #[test]
    fn text_search_matches_any_requested_column_case_insensitively() {
        let fx = fixture();
        let admin = fx.admin();
        let search = |text: &str, q: EntityDataQuery| {
            let mut q = q;
            q.page_link.text_search = Some(text.to_owned());
            page_names(&admin.find(&q).unwrap(), &fx)
        };
        let base = || devices_query(EntityDataPageLink::first(1000));
        let by_name_or_label = |needle: &str| -> Vec<String> {
            fx.world
                .devices()
                .filter(|d| {
                    d.name.to_lowercase().contains(needle)
                        || d.label.to_lowercase().contains(needle)
                })
                .map(|d| d.name.clone())
                .collect()
        };
        let expected = by_name_or_label("roof");
        assert!(!expected.is_empty());
        assert_eq!(
            search("ROOF", base().with_fields(["name", "label"])),
            expected
        );
        assert_eq!(
            search("p-11", base().with_fields(["name", "label"])),
            by_name_or_label("p-11")
        );
        assert!(search("roof", base().with_fields(["name"])).is_empty());
        // Latest values are searched too.
        let with_model: Vec<String> = fx
            .world
            .devices()
            .filter(|d| {
                fx.world
                    .attributes
                    .get(&d.id)
                    .unwrap()
                    .client
                    .get("model")
                    .unwrap()
                    .value
                    .as_str()
                    .contains("GATEWAY")
            })
            .map(|d| d.name.clone())
            .collect();
        assert!(!with_model.is_empty());
        let q = base().with_latest([EntityKey::new(EntityKeyType::ClientAttribute, "model")]);
        assert_eq!(search("gateway", q), with_model);
        // Without selected columns ThingsBoard applies no search.
        assert_eq!(search("zzz", base()).len(), fx.world.devices().count());
        assert_eq!(
            search("", base().with_fields(["name"])).len(),
            fx.world.devices().count()
        );
    }

    #[test]
    fn find_rows_hold_the_requested_keys_under_their_types_with_empty_markers() {
        let fx = fixture();
        let admin = fx.admin();
        let thermostat = fx
            .world
            .devices()
            .find(|d| d.profile == "thermostat" && temperature(&fx, d).is_some())
            .unwrap();
        let q = EntityDataQuery::new(
            EntityFilter::single(thermostat.id.clone()),
            EntityDataPageLink::first(10),
        )
        .with_fields(["name", "label", "email"])
        .with_time_series(["temperature", "humidity"])
        .with_latest([EntityKey::new(
            EntityKeyType::SharedAttribute,
            "targetTemperature",
        )]);
        let page = admin.find(&q).unwrap();
        assert_eq!(page.total_elements, 1);
        let row = &page.data[0];
        assert_eq!(row.entity_id, thermostat.id);
        assert_eq!(row.timeseries, Some(BTreeMap::new()));
        assert_eq!(row.agg_latest, Some(BTreeMap::new()));
        let field = |k: &str| {
            row.latest_value(&EntityKeyType::EntityField, k)
                .unwrap()
                .clone()
        };
        assert_eq!(field("name"), TsValue::new(NOW, thermostat.name.as_str()));
        assert_eq!(field("email"), TsValue::new(NOW, ""));
        let temp = row
            .latest_value(&EntityKeyType::TimeSeries, "temperature")
            .unwrap();
        assert_eq!(
            Some(string_value(temp).to_owned()),
            temperature(&fx, thermostat)
        );
        let humidity = row
            .latest_value(&EntityKeyType::TimeSeries, "humidity")
            .unwrap();
        assert_eq!(
            *humidity,
            TsValue {
                ts: 0,
                value: Some(TbValue::new("")),
                count: None
            }
        );
        let target = row
            .latest_value(&EntityKeyType::SharedAttribute, "targetTemperature")
            .unwrap();
        assert_eq!(string_value(target), "21.5");
        let json = serde_json::to_value(row).unwrap();
        assert_eq!(
            json["latest"]["TIME_SERIES"]["humidity"],
            json!({"ts": 0, "value": ""})
        );
    }

    #[test]
    fn count_and_matching_agree_with_find() {
        let fx = fixture();
        let admin = fx.admin();
        let q = devices_query(EntityDataPageLink::first(5)).with_key_filter(KeyFilter::string(
            EntityKey::field("type"),
            StringOperation::Equal,
            "thermostat",
            false,
        ));
        let page = admin.find(&q).unwrap();
        let count = admin.count(&q.count_query()).unwrap();
        let all = admin
            .matching(&q.entity_filter, q.key_filters.as_deref().unwrap(), None)
            .unwrap();
        let expected = expected_devices(&fx, |d| d.profile == "thermostat");
        assert_eq!(count, i64::try_from(expected).unwrap());
        assert_eq!(page.total_elements, count);
        assert_eq!(all.len(), expected);
        assert_eq!(page.data.len(), 5.min(expected));
        assert_eq!(
            admin
                .count(&EntityCountQuery::new(EntityFilter::of_type(
                    EntityType::Dashboard
                )))
                .unwrap(),
            0
        );
    }

    #[test]
    fn like_patterns_handle_wildcards_escapes_and_case() {
        assert!(ilike("Thermostat T-101", "therm%"));
        assert!(ilike("Thermostat T-101", "%T-1_1"));
        assert!(!ilike("Thermostat T-101", "%T-1_"));
        assert!(ilike("a%b", "a\\%b"));
        assert!(!ilike("axb", "a\\%b"));
        assert!(ilike("", "%"));
        assert!(!ilike("", "_"));
        assert!(ilike("abcabc", "%b%c"));
        assert!(ilike("ÄBC", "äb%"));
        assert!(ilike("x\\", "x\\"));
        assert!(name_filter_matches("Pump P-110", "pump p-11"));
        assert!(!name_filter_matches("Pump P-110", "ump"));
        assert!(name_filter_matches("Pump P-110", "%ump%"));
    }

    #[test]
    fn odd_input_never_panics() {
        let fx = fixture();
        let admin = fx.admin();
        let odd_filters = [
            json!({"type": "entityType", "entityType": "SOMETHING_NEW"}),
            json!({"type": "entityList", "entityType": "DEVICE", "entityList": []}),
            json!({"type": "entityName", "entityType": "DEVICE", "entityNameFilter": "%%%___\\"}),
            json!({"type": "singleEntity", "singleEntity": {"entityType": "CURRENT_SOMETHING"}}),
            json!({"type": "relationsQuery", "rootEntity": {"entityType": "CURRENT_USER"}, "maxLevel": -5, "fetchLastLevelOnly": true}),
            json!({"type": "relationsQuery", "rootEntity": {"entityType": "DEVICE", "id": Uuid::from_u128(1)}, "direction": "SIDEWAYS"}),
            json!({"type": "deviceSearchQuery", "relationType": "", "maxLevel": i32::MAX}),
        ];
        for f in odd_filters {
            let f = filter(f);
            let q = EntityDataQuery::new(
                f,
                EntityDataPageLink::first(i32::MAX).sorted_by(
                    EntityKey::new(EntityKeyType::Unknown("X".into()), "k"),
                    SortDirection::Desc,
                ),
            )
            .with_fields(["name"])
            .with_latest([EntityKey::alarm_field("severity")]);
            let _ = admin.find(&q).unwrap();
        }
        let weird = key_filter(
            json!({"key": {"type": "ALARM_FIELD", "key": "x"}, "valueType": "WHATEVER",
            "predicate": {"type": "NUMERIC", "operation": "ODD", "value": {"defaultValue": 1.0}}}),
        );
        assert_eq!(
            count_devices(
                &admin,
                &[weird],
                Some(&ComplexOperation::Unknown("XOR".into()))
            ),
            0
        );
        let nan = KeyFilter::numeric(
            EntityKey::field("createdTime"),
            NumericOperation::Less,
            f64::NAN,
        );
        assert_eq!(count_devices(&admin, &[nan], None), 0);
    }
}

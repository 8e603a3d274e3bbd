//! Query DTOs (§6): entity and alarm queries with their page links.

use serde::{Deserialize, Serialize};

use super::enums::{
    AlarmSearchStatus, AlarmSeverity, ComplexOperation, EntityKeyType, SortDirection,
};
use super::filter::EntityFilter;
use super::ids::EntityId;
use super::key_filter::KeyFilter;

/// A key of an entity: a field, an attribute, a time series or an alarm field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityKey {
    /// What the key names.
    #[serde(rename = "type")]
    pub key_type: EntityKeyType,
    /// The key name.
    pub key: String,
}

impl EntityKey {
    /// A key of the given type.
    #[must_use]
    pub fn new(key_type: EntityKeyType, key: impl Into<String>) -> Self {
        Self {
            key_type,
            key: key.into(),
        }
    }

    /// An entity field (`name`, `type`, `label`, `createdTime`, …).
    #[must_use]
    pub fn field(key: impl Into<String>) -> Self {
        Self::new(EntityKeyType::EntityField, key)
    }

    /// A time series key.
    #[must_use]
    pub fn time_series(key: impl Into<String>) -> Self {
        Self::new(EntityKeyType::TimeSeries, key)
    }

    /// An attribute of any scope.
    #[must_use]
    pub fn attribute(key: impl Into<String>) -> Self {
        Self::new(EntityKeyType::Attribute, key)
    }

    /// An alarm field (`createdTime`, `severity`, …).
    #[must_use]
    pub fn alarm_field(key: impl Into<String>) -> Self {
        Self::new(EntityKeyType::AlarmField, key)
    }
}

/// Sort key and direction of a page link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityDataSortOrder {
    /// The key sorted by.
    pub key: EntityKey,
    /// Ascending or descending.
    pub direction: SortDirection,
}

/// Paging, search and sort of an entity query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityDataPageLink {
    /// Rows per page; at least 1.
    pub page_size: i32,
    /// Zero-based page.
    #[serde(default)]
    pub page: i32,
    /// Case-insensitive substring over the searchable columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_search: Option<String>,
    /// Sort order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<EntityDataSortOrder>,
    /// Re-run the query periodically so entities entering or leaving show up.
    #[serde(default)]
    pub dynamic: bool,
}

impl EntityDataPageLink {
    /// The first page of `page_size` rows, unsorted.
    #[must_use]
    pub fn first(page_size: i32) -> Self {
        Self {
            page_size,
            page: 0,
            text_search: None,
            sort_order: None,
            dynamic: false,
        }
    }

    /// Sorted by `key`.
    #[must_use]
    pub fn sorted_by(mut self, key: EntityKey, direction: SortDirection) -> Self {
        self.sort_order = Some(EntityDataSortOrder { key, direction });
        self
    }

    /// With dynamic refresh.
    #[must_use]
    pub fn dynamic(mut self, dynamic: bool) -> Self {
        self.dynamic = dynamic;
        self
    }
}

/// Paging, search, sort and alarm filters of an alarm query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmDataPageLink {
    /// Rows per page; at least 1.
    pub page_size: i32,
    /// Zero-based page.
    #[serde(default)]
    pub page: i32,
    /// Case-insensitive substring over the alarm fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_search: Option<String>,
    /// Sort order (usually an alarm field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<EntityDataSortOrder>,
    /// Accepted but without effect on alarm subscriptions.
    #[serde(default)]
    pub dynamic: bool,
    /// Start of a fixed range (epoch ms, 0 = unbounded).
    #[serde(default)]
    pub start_ts: i64,
    /// End of a fixed range (epoch ms, 0 = unbounded).
    #[serde(default)]
    pub end_ts: i64,
    /// Sliding window in ms; when > 0 it wins over the fixed range.
    #[serde(default)]
    pub time_window: i64,
    /// Alarm types to keep; empty means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_list: Option<Vec<String>>,
    /// Statuses to keep (any-of).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list: Option<Vec<AlarmSearchStatus>>,
    /// Severities to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_list: Option<Vec<AlarmSeverity>>,
    /// Also find alarms propagated to the matched entities.
    #[serde(default)]
    pub search_propagated_alarms: bool,
    /// Only alarms assigned to this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<EntityId>,
}

impl AlarmDataPageLink {
    /// The first page of `page_size` alarms, newest first, any status, any age.
    #[must_use]
    pub fn first(page_size: i32) -> Self {
        Self {
            page_size,
            page: 0,
            text_search: None,
            sort_order: Some(EntityDataSortOrder {
                key: EntityKey::alarm_field("createdTime"),
                direction: SortDirection::Desc,
            }),
            dynamic: false,
            start_ts: 0,
            end_ts: 0,
            time_window: 0,
            type_list: None,
            status_list: None,
            severity_list: None,
            search_propagated_alarms: false,
            assignee_id: None,
        }
    }

    /// Keep only these statuses.
    #[must_use]
    pub fn with_statuses(mut self, statuses: impl IntoIterator<Item = AlarmSearchStatus>) -> Self {
        self.status_list = Some(statuses.into_iter().collect());
        self
    }
}

/// Count the entities matching a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityCountQuery {
    /// Which entities.
    pub entity_filter: EntityFilter,
    /// Conditions on keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters: Option<Vec<KeyFilter>>,
    /// How key filters combine (`AND` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters_operation: Option<ComplexOperation>,
}

impl EntityCountQuery {
    /// Count the entities of a filter.
    #[must_use]
    pub fn new(entity_filter: EntityFilter) -> Self {
        Self {
            entity_filter,
            key_filters: None,
            key_filters_operation: None,
        }
    }
}

/// A page of entities with the keys to fetch for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityDataQuery {
    /// Which entities.
    pub entity_filter: EntityFilter,
    /// Conditions on keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters: Option<Vec<KeyFilter>>,
    /// How key filters combine (`AND` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters_operation: Option<ComplexOperation>,
    /// Paging, search and sort.
    pub page_link: EntityDataPageLink,
    /// Entity fields to return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_fields: Option<Vec<EntityKey>>,
    /// Attributes and time series to return as latest values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_values: Option<Vec<EntityKey>>,
}

impl EntityDataQuery {
    /// A query over `entity_filter` returning `page_link`'s page.
    #[must_use]
    pub fn new(entity_filter: EntityFilter, page_link: EntityDataPageLink) -> Self {
        Self {
            entity_filter,
            key_filters: None,
            key_filters_operation: None,
            page_link,
            entity_fields: None,
            latest_values: None,
        }
    }

    /// Also return these entity fields.
    #[must_use]
    pub fn with_fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.entity_fields
            .get_or_insert_with(Vec::new)
            .extend(fields.into_iter().map(EntityKey::field));
        self
    }

    /// Also return the latest values of these time series keys.
    #[must_use]
    pub fn with_time_series<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.latest_values
            .get_or_insert_with(Vec::new)
            .extend(keys.into_iter().map(EntityKey::time_series));
        self
    }

    /// Also return the latest values of these keys.
    #[must_use]
    pub fn with_latest(mut self, keys: impl IntoIterator<Item = EntityKey>) -> Self {
        self.latest_values.get_or_insert_with(Vec::new).extend(keys);
        self
    }

    /// Add a key filter (combined with AND unless `key_filters_operation` says otherwise).
    #[must_use]
    pub fn with_key_filter(mut self, filter: KeyFilter) -> Self {
        self.key_filters.get_or_insert_with(Vec::new).push(filter);
        self
    }

    /// The count query over the same entities.
    #[must_use]
    pub fn count_query(&self) -> EntityCountQuery {
        EntityCountQuery {
            entity_filter: self.entity_filter.clone(),
            key_filters: self.key_filters.clone(),
            key_filters_operation: self.key_filters_operation.clone(),
        }
    }
}

/// A page of alarms of the entities matching a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmDataQuery {
    /// Whose alarms.
    pub entity_filter: EntityFilter,
    /// Conditions on the entities' keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters: Option<Vec<KeyFilter>>,
    /// How key filters combine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters_operation: Option<ComplexOperation>,
    /// Paging, search, sort and alarm filters.
    pub page_link: AlarmDataPageLink,
    /// Entity fields to return with each alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_fields: Option<Vec<EntityKey>>,
    /// Latest values of the entity to return with each alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_values: Option<Vec<EntityKey>>,
    /// Alarm fields used by text search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_fields: Option<Vec<EntityKey>>,
}

impl AlarmDataQuery {
    /// Alarms of `entity_filter`'s entities, paged by `page_link`.
    #[must_use]
    pub fn new(entity_filter: EntityFilter, page_link: AlarmDataPageLink) -> Self {
        Self {
            entity_filter,
            key_filters: None,
            key_filters_operation: None,
            page_link,
            entity_fields: None,
            latest_values: None,
            alarm_fields: None,
        }
    }
}

/// Count alarms; every field is optional (`{}` counts every alarm the user sees), and
/// absent fields stay absent when encoded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmCountQuery {
    /// Whose alarms; all visible alarms when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_filter: Option<EntityFilter>,
    /// Conditions on the entities' keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters: Option<Vec<KeyFilter>>,
    /// How key filters combine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_filters_operation: Option<ComplexOperation>,
    /// Start of a fixed range (epoch ms, 0 = unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ts: Option<i64>,
    /// End of a fixed range (epoch ms, 0 = unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ts: Option<i64>,
    /// Sliding window in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window: Option<i64>,
    /// Alarm types to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_list: Option<Vec<String>>,
    /// Statuses to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list: Option<Vec<AlarmSearchStatus>>,
    /// Severities to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_list: Option<Vec<AlarmSeverity>>,
    /// Also count propagated alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_propagated_alarms: Option<bool>,
    /// Only alarms assigned to this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<EntityId>,
}

impl AlarmCountQuery {
    /// Active unacknowledged alarms visible to the user (the top-bar badge).
    #[must_use]
    pub fn active_unacknowledged() -> Self {
        Self {
            status_list: Some(vec![AlarmSearchStatus::Active, AlarmSearchStatus::Unack]),
            ..Self::default()
        }
    }
}

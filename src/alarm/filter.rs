//! What the Alarms view lists: the filter the user sets, and the `ALARM_DATA` query it
//! makes.
//!
//! Every filter of ThingsBoard's alarm page link is offered: statuses, severities, types,
//! "assigned to me", a time window or "any age" (with "Active" that is every active alarm,
//! however old: ThingsBoard's own lists hide active alarms created before their window),
//! propagated alarms and a text search; the entities are all devices, all assets, the
//! Entities view's query, or one entity.

use crate::protocol::{
    AlarmDataPageLink, AlarmDataQuery, AlarmSearchStatus, AlarmSeverity, EntityDataSortOrder,
    EntityFilter, EntityId, EntityKey, EntityType, SortDirection,
};

/// Which alarms by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusChoice {
    /// Every alarm.
    Any,
    /// Not cleared.
    #[default]
    Active,
    /// Not cleared and not acknowledged: what needs someone.
    ActiveUnacknowledged,
    /// Acknowledged.
    Acknowledged,
    /// Not acknowledged.
    Unacknowledged,
    /// Cleared.
    Cleared,
}

impl StatusChoice {
    /// Every choice, in menu order.
    pub const ALL: [StatusChoice; 6] = [
        StatusChoice::Active,
        StatusChoice::ActiveUnacknowledged,
        StatusChoice::Unacknowledged,
        StatusChoice::Acknowledged,
        StatusChoice::Cleared,
        StatusChoice::Any,
    ];

    /// The menu label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            StatusChoice::Any => "Any status",
            StatusChoice::Active => "Active",
            StatusChoice::ActiveUnacknowledged => "Active, not acknowledged",
            StatusChoice::Acknowledged => "Acknowledged",
            StatusChoice::Unacknowledged => "Not acknowledged",
            StatusChoice::Cleared => "Cleared",
        }
    }

    /// The page link's status list (ThingsBoard keeps alarms matching all of them).
    #[must_use]
    pub fn statuses(self) -> Vec<AlarmSearchStatus> {
        match self {
            StatusChoice::Any => vec![AlarmSearchStatus::Any],
            StatusChoice::Active => vec![AlarmSearchStatus::Active],
            StatusChoice::ActiveUnacknowledged => {
                vec![AlarmSearchStatus::Active, AlarmSearchStatus::Unack]
            }
            StatusChoice::Acknowledged => vec![AlarmSearchStatus::Ack],
            StatusChoice::Unacknowledged => vec![AlarmSearchStatus::Unack],
            StatusChoice::Cleared => vec![AlarmSearchStatus::Cleared],
        }
    }
}

/// The entities whose alarms are listed.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scope {
    /// Every device.
    #[default]
    AllDevices,
    /// Every asset.
    AllAssets,
    /// The entities the Entities view's query matches.
    Query(EntityFilter),
    /// One entity (from a table row or an alarm).
    Entity {
        /// The entity.
        id: EntityId,
        /// Its name.
        name: String,
    },
}

impl Scope {
    /// How the filter bar names it.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Scope::AllDevices => "All devices".to_owned(),
            Scope::AllAssets => "All assets".to_owned(),
            Scope::Query(_) => "The Entities view's query".to_owned(),
            Scope::Entity { name, .. } => name.clone(),
        }
    }

    fn entity_filter(&self) -> EntityFilter {
        match self {
            Scope::AllDevices => EntityFilter::of_type(EntityType::Device),
            Scope::AllAssets => EntityFilter::of_type(EntityType::Asset),
            Scope::Query(filter) => filter.clone(),
            Scope::Entity { id, .. } => EntityFilter::single(id.clone()),
        }
    }
}

/// Age limits offered: any age, or the last hour, day, week, month.
pub const WINDOWS: [(i64, &str); 5] = [
    (0, "Any age"),
    (3_600_000, "Last hour"),
    (86_400_000, "Last 24 hours"),
    (7 * 86_400_000, "Last 7 days"),
    (30 * 86_400_000, "Last 30 days"),
];

/// The window sent for "Any age": a hundred years.
pub const ANY_AGE_MS: i64 = 100 * 365 * 86_400_000;

/// The alarm list's filter.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmFilter {
    /// By status.
    pub status: StatusChoice,
    /// Severities to keep (empty: any).
    pub severities: Vec<AlarmSeverity>,
    /// Alarm types to keep, comma-separated (empty: any).
    pub types: String,
    /// Only the alarms assigned to the logged-in user.
    pub assigned_to_me: bool,
    /// Only alarms created in the last this many ms (0: any age).
    pub window_ms: i64,
    /// Also alarms propagated to the entities.
    pub propagated: bool,
    /// Text search over the alarm's fields.
    pub text: String,
    /// Whose alarms.
    pub scope: Scope,
}

impl Default for AlarmFilter {
    fn default() -> Self {
        Self {
            status: StatusChoice::Active,
            severities: Vec::new(),
            types: String::new(),
            assigned_to_me: false,
            window_ms: 0,
            propagated: true,
            text: String::new(),
            scope: Scope::AllDevices,
        }
    }
}

/// Sort keys of the list's columns (alarm fields the server sorts by).
pub const SORT_KEYS: [&str; 7] = [
    "createdTime",
    "severity",
    "type",
    "originator",
    "status",
    "ackTs",
    "clearTs",
];

impl AlarmFilter {
    /// The alarm types typed, trimmed, without empties or repeats.
    #[must_use]
    pub fn type_list(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self
            .types
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_owned());
            }
        }
        out
    }

    /// The `ALARM_DATA` query for `page` of `page_size`, sorted by `sort` (an alarm field),
    /// for the user `me` (needed by "assigned to me").
    #[must_use]
    pub fn query(
        &self,
        sort: (&str, SortDirection),
        page: i32,
        page_size: i32,
        me: Option<&EntityId>,
    ) -> AlarmDataQuery {
        let mut link = AlarmDataPageLink::first(page_size.max(1));
        link.page = page.max(0);
        link.sort_order = Some(EntityDataSortOrder {
            key: EntityKey::alarm_field(sort.0),
            direction: sort.1,
        });
        link.status_list = Some(self.status.statuses());
        link.severity_list = (!self.severities.is_empty()).then(|| self.severities.clone());
        let types = self.type_list();
        link.type_list = (!types.is_empty()).then_some(types);
        // "Any age" is sent as a century-long window, not 0: ThingsBoard catches up the
        // re-fetches it skipped past its limit of 10 a minute only for subscriptions with a
        // time window (protocol §4.3), so with 0 a flood of new alarms could go missing.
        link.time_window = if self.window_ms > 0 {
            self.window_ms
        } else {
            ANY_AGE_MS
        };
        link.search_propagated_alarms = self.propagated;
        let text = self.text.trim();
        link.text_search = (!text.is_empty()).then(|| text.to_owned());
        if self.assigned_to_me {
            link.assignee_id = me.cloned();
        }
        AlarmDataQuery::new(self.scope.entity_filter(), link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_lists_every_active_alarm_whatever_its_age_newest_first() {
        let q = AlarmFilter::default().query(("createdTime", SortDirection::Desc), 0, 50, None);
        let link = &q.page_link;
        assert_eq!(link.status_list, Some(vec![AlarmSearchStatus::Active]));
        assert_eq!(
            link.time_window, ANY_AGE_MS,
            "any age, as a window the server's catch-up re-fetch covers"
        );
        assert_eq!(link.start_ts, 0);
        assert!(link.search_propagated_alarms);
        assert_eq!(link.page_size, 50);
        assert_eq!(
            link.sort_order
                .as_ref()
                .map(|s| (s.key.key.as_str(), &s.direction)),
            Some(("createdTime", &SortDirection::Desc))
        );
        assert_eq!(q.entity_filter, EntityFilter::of_type(EntityType::Device));
    }

    #[test]
    fn every_filter_lands_in_the_page_link() {
        let me = EntityId::new(EntityType::User, uuid::Uuid::from_u128(5));
        let device = EntityId::device(uuid::Uuid::from_u128(9));
        let filter = AlarmFilter {
            status: StatusChoice::ActiveUnacknowledged,
            severities: vec![AlarmSeverity::Critical, AlarmSeverity::Major],
            types: " High Temperature, ,Low Battery,High Temperature".to_owned(),
            assigned_to_me: true,
            window_ms: 3_600_000,
            propagated: false,
            text: "  boiler ".to_owned(),
            scope: Scope::Entity {
                id: device.clone(),
                name: "Boiler 3".to_owned(),
            },
        };
        let q = filter.query(("severity", SortDirection::Asc), 2, 0, Some(&me));
        let link = &q.page_link;
        assert_eq!(
            link.status_list,
            Some(vec![AlarmSearchStatus::Active, AlarmSearchStatus::Unack])
        );
        assert_eq!(
            link.severity_list,
            Some(vec![AlarmSeverity::Critical, AlarmSeverity::Major])
        );
        assert_eq!(
            link.type_list,
            Some(vec![
                "High Temperature".to_owned(),
                "Low Battery".to_owned()
            ])
        );
        assert_eq!(link.assignee_id, Some(me));
        assert_eq!(link.time_window, 3_600_000);
        assert!(!link.search_propagated_alarms);
        assert_eq!(link.text_search.as_deref(), Some("boiler"));
        assert_eq!((link.page, link.page_size), (2, 1), "page size at least 1");
        assert_eq!(q.entity_filter, EntityFilter::single(device));
        assert_eq!(filter.scope.label(), "Boiler 3");
    }

    #[test]
    fn assigned_to_me_without_a_known_user_filters_nothing_rather_than_everything() {
        let filter = AlarmFilter {
            assigned_to_me: true,
            ..AlarmFilter::default()
        };
        let q = filter.query(("createdTime", SortDirection::Desc), 0, 10, None);
        assert_eq!(q.page_link.assignee_id, None);
    }
}

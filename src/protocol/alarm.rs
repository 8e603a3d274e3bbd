//! Alarms as the alarm query and the alarm REST endpoints return them (§5).

use serde::{Deserialize, Serialize};

use super::enums::{AlarmSeverity, AlarmStatus};
use super::ids::EntityId;
use super::update::LatestValues;

/// An alarm row of an `ALARM_DATA` page, and (without `entity_id`/`latest`) the
/// `AlarmInfo` of the REST endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmData {
    /// The queried entity the alarm was found for (the originator unless propagated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<EntityId>,
    /// Latest values of that entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<LatestValues>,
    /// The alarm's id.
    pub id: EntityId,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_time: i64,
    /// Owning tenant.
    #[serde(default)]
    pub tenant_id: Option<EntityId>,
    /// Customer of the originator (`NULL_UUID` when none).
    #[serde(default)]
    pub customer_id: Option<EntityId>,
    /// Alarm type, e.g. `High Temperature`.
    #[serde(rename = "type", default)]
    pub alarm_type: String,
    /// The entity that raised the alarm.
    pub originator: EntityId,
    /// Severity.
    pub severity: AlarmSeverity,
    /// Acknowledged flag.
    #[serde(default)]
    pub acknowledged: bool,
    /// Cleared flag.
    #[serde(default)]
    pub cleared: bool,
    /// Assigned user, if any.
    #[serde(default)]
    pub assignee_id: Option<EntityId>,
    /// Start of the alarm (epoch ms).
    #[serde(default)]
    pub start_ts: i64,
    /// Last update of the alarm (epoch ms).
    #[serde(default)]
    pub end_ts: i64,
    /// Acknowledge time, 0 when not acknowledged.
    #[serde(default)]
    pub ack_ts: i64,
    /// Clear time, 0 when not cleared.
    #[serde(default)]
    pub clear_ts: i64,
    /// Assign time, 0 when never assigned.
    #[serde(default)]
    pub assign_ts: i64,
    /// Free-form details.
    #[serde(default)]
    pub details: Option<serde_json::Value>,
    /// Propagated to related entities.
    #[serde(default)]
    pub propagate: bool,
    /// Propagated to the owner.
    #[serde(default)]
    pub propagate_to_owner: bool,
    /// Propagated to the tenant.
    #[serde(default)]
    pub propagate_to_tenant: bool,
    /// Relation types the alarm propagates along.
    #[serde(default)]
    pub propagate_relation_types: Option<Vec<String>>,
    /// Originator name.
    #[serde(default)]
    pub originator_name: Option<String>,
    /// Originator label.
    #[serde(default)]
    pub originator_label: Option<String>,
    /// Label if non-blank, else name.
    #[serde(default)]
    pub originator_display_name: Option<String>,
    /// The assigned user's names and e-mail.
    #[serde(default)]
    pub assignee: Option<AlarmAssignee>,
    /// Same as the type.
    #[serde(default)]
    pub name: Option<String>,
    /// Status derived from the two flags.
    #[serde(default)]
    pub status: Option<AlarmStatus>,
}

/// `AlarmInfo` from the REST endpoints: the same fields minus `entityId` and `latest`.
pub type AlarmInfo = AlarmData;

impl AlarmData {
    /// The status as reported, or derived from the flags when the server left it out.
    #[must_use]
    pub fn effective_status(&self) -> AlarmStatus {
        self.status
            .clone()
            .unwrap_or_else(|| AlarmStatus::from_flags(self.acknowledged, self.cleared))
    }

    /// Whether the alarm is not cleared.
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.cleared
    }

    /// The best name to show for the originator.
    #[must_use]
    pub fn originator_display(&self) -> String {
        self.originator_display_name
            .clone()
            .or_else(|| self.originator_name.clone())
            .unwrap_or_else(|| self.originator.to_string())
    }
}

/// The user an alarm is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmAssignee {
    /// The user's id.
    pub id: EntityId,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
}

//! Platform notifications (§4.7).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::enums::{
    AlarmSeverity, AlarmStatus, NotificationDeliveryMethod, NotificationStatus, NotificationType,
};
use super::ids::EntityId;
use super::wire_enum::wire_enum;

/// One notification of the user's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The notification request that produced it.
    #[serde(default)]
    pub request_id: Option<EntityId>,
    /// The recipient user.
    #[serde(default)]
    pub recipient_id: Option<EntityId>,
    /// Type.
    #[serde(rename = "type")]
    pub notification_type: NotificationType,
    /// Always `WEB` on the socket.
    #[serde(default)]
    pub delivery_method: Option<NotificationDeliveryMethod>,
    /// Rendered subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Rendered text.
    #[serde(default)]
    pub text: Option<String>,
    /// Icon and action-button configuration (free JSON).
    #[serde(default)]
    pub additional_config: Option<serde_json::Value>,
    /// Type-specific details; its `type` is a Java class name.
    #[serde(default)]
    pub info: Option<Box<NotificationInfo>>,
    /// Read or not.
    #[serde(default)]
    pub status: Option<NotificationStatus>,
    /// The notification's id.
    pub id: EntityId,
    /// Creation time (epoch ms).
    #[serde(default)]
    pub created_time: i64,
}

impl Notification {
    /// Whether the notification is unread.
    #[must_use]
    pub fn is_unread(&self) -> bool {
        !matches!(self.status, Some(NotificationStatus::Read))
    }
}

wire_enum! {
    /// The Java class of a notification's `info`.
    pub enum NotificationInfoKind {
        /// Alarm created, escalated, acknowledged, cleared or deleted.
        Alarm = "org.thingsboard.server.common.data.notification.info.AlarmNotificationInfo",
        /// A comment on an alarm.
        AlarmComment = "org.thingsboard.server.common.data.notification.info.AlarmCommentNotificationInfo",
        /// An alarm was (un)assigned.
        AlarmAssignment = "org.thingsboard.server.common.data.notification.info.AlarmAssignmentNotificationInfo",
        /// A device became active or inactive.
        DeviceActivity = "org.thingsboard.server.common.data.notification.info.DeviceActivityNotificationInfo",
        /// An entity was created, updated or deleted.
        EntityAction = "org.thingsboard.server.common.data.notification.info.EntityActionNotificationInfo",
        /// A general message.
        General = "org.thingsboard.server.common.data.notification.info.GeneralNotificationInfo",
        /// A rule chain or node started or failed.
        RuleEngineComponentLifecycleEvent = "org.thingsboard.server.common.data.notification.info.RuleEngineComponentLifecycleEventNotificationInfo",
        /// A new platform version.
        NewPlatformVersion = "org.thingsboard.server.common.data.notification.info.NewPlatformVersionNotificationInfo",
        /// An entities limit is near.
        EntitiesLimit = "org.thingsboard.server.common.data.notification.info.EntitiesLimitNotificationInfo",
        /// An API usage limit is near.
        ApiUsageLimit = "org.thingsboard.server.common.data.notification.info.ApiUsageLimitNotificationInfo",
        /// A rule node sent a notification.
        RuleNode = "org.thingsboard.server.common.data.notification.info.RuleOriginatedNotificationInfo",
        /// A rate limit was hit.
        RateLimits = "org.thingsboard.server.common.data.notification.info.RateLimitsNotificationInfo",
    }
}

/// The type-specific part of a notification.
///
/// The fields of alarm notifications are typed; everything else (and anything a newer
/// server adds) is kept in `other`, so the object encodes back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationInfo {
    /// The Java class name.
    #[serde(rename = "type")]
    pub kind: NotificationInfoKind,
    /// Alarm type (alarm notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_type: Option<String>,
    /// `created`, `severity changed`, `acknowledged`, `cleared`, `deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The alarm (a plain UUID, not an id object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_id: Option<Uuid>,
    /// The alarm's originator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_originator: Option<EntityId>,
    /// Originator name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_originator_name: Option<String>,
    /// Originator label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_originator_label: Option<String>,
    /// Alarm severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_severity: Option<AlarmSeverity>,
    /// Alarm status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_status: Option<AlarmStatus>,
    /// Acknowledged flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<bool>,
    /// Cleared flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared: Option<bool>,
    /// The alarm's customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_customer_id: Option<EntityId>,
    /// Every other field, verbatim.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl NotificationInfo {
    /// Whether this is about an alarm (and `alarm_id` points to it).
    #[must_use]
    pub fn is_alarm(&self) -> bool {
        matches!(
            self.kind,
            NotificationInfoKind::Alarm
                | NotificationInfoKind::AlarmComment
                | NotificationInfoKind::AlarmAssignment
        )
    }
}

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
/// server adds) is kept in `other`, so the object encodes back unchanged. Decoding is
/// lenient per field: a typed field whose value has another shape (another info class may
/// use the same name differently) stays in `other` instead of failing the notification.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationInfo {
    /// The Java class name (`type`).
    pub kind: NotificationInfoKind,
    /// Alarm type (`alarmType`).
    pub alarm_type: Option<String>,
    /// `created`, `severity changed`, `acknowledged`, `cleared`, `deleted` (`action`).
    pub action: Option<String>,
    /// The alarm, a plain UUID (`alarmId`).
    pub alarm_id: Option<Uuid>,
    /// The alarm's originator (`alarmOriginator`).
    pub alarm_originator: Option<EntityId>,
    /// Originator name (`alarmOriginatorName`).
    pub alarm_originator_name: Option<String>,
    /// Originator label (`alarmOriginatorLabel`).
    pub alarm_originator_label: Option<String>,
    /// Alarm severity (`alarmSeverity`).
    pub alarm_severity: Option<AlarmSeverity>,
    /// Alarm status (`alarmStatus`).
    pub alarm_status: Option<AlarmStatus>,
    /// Acknowledged flag (`acknowledged`).
    pub acknowledged: Option<bool>,
    /// Cleared flag (`cleared`).
    pub cleared: Option<bool>,
    /// The alarm's customer (`alarmCustomerId`).
    pub alarm_customer_id: Option<EntityId>,
    /// Every other field, verbatim.
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Removes `key` and decodes it as `T`; a value of another shape is put back.
fn take<T: serde::de::DeserializeOwned>(
    map: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<T> {
    let value = map.remove(key)?;
    if value.is_null() {
        return None;
    }
    if let Ok(v) = T::deserialize(&value) {
        Some(v)
    } else {
        map.insert(key.to_owned(), value);
        None
    }
}

impl<'de> Deserialize<'de> for NotificationInfo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let kind = match map.remove("type") {
            Some(serde_json::Value::String(name)) => NotificationInfoKind::from_wire(&name),
            Some(_) => {
                return Err(serde::de::Error::custom(
                    "`type` of a notification info must be a string",
                ));
            }
            None => return Err(serde::de::Error::missing_field("type")),
        };
        Ok(Self {
            kind,
            alarm_type: take(&mut map, "alarmType"),
            action: take(&mut map, "action"),
            alarm_id: take(&mut map, "alarmId"),
            alarm_originator: take(&mut map, "alarmOriginator"),
            alarm_originator_name: take(&mut map, "alarmOriginatorName"),
            alarm_originator_label: take(&mut map, "alarmOriginatorLabel"),
            alarm_severity: take(&mut map, "alarmSeverity"),
            alarm_status: take(&mut map, "alarmStatus"),
            acknowledged: take(&mut map, "acknowledged"),
            cleared: take(&mut map, "cleared"),
            alarm_customer_id: take(&mut map, "alarmCustomerId"),
            other: map,
        })
    }
}

impl Serialize for NotificationInfo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("type", &self.kind)?;
        macro_rules! typed {
            ($($field:ident => $name:literal),* $(,)?) => {
                $( if let Some(v) = &self.$field { m.serialize_entry($name, v)?; } )*
            };
        }
        typed!(
            alarm_type => "alarmType",
            action => "action",
            alarm_id => "alarmId",
            alarm_originator => "alarmOriginator",
            alarm_originator_name => "alarmOriginatorName",
            alarm_originator_label => "alarmOriginatorLabel",
            alarm_severity => "alarmSeverity",
            alarm_status => "alarmStatus",
            acknowledged => "acknowledged",
            cleared => "cleared",
            alarm_customer_id => "alarmCustomerId",
        );
        for (k, v) in &self.other {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
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

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

/// The typed fields of [`NotificationInfo`], by wire name.
#[derive(Clone, Copy)]
enum InfoField {
    Type,
    AlarmType,
    Action,
    AlarmId,
    AlarmOriginator,
    AlarmOriginatorName,
    AlarmOriginatorLabel,
    AlarmSeverity,
    AlarmStatus,
    Acknowledged,
    Cleared,
    AlarmCustomerId,
}

impl InfoField {
    const ALL: [(&'static str, InfoField); 12] = [
        ("type", InfoField::Type),
        ("alarmType", InfoField::AlarmType),
        ("action", InfoField::Action),
        ("alarmId", InfoField::AlarmId),
        ("alarmOriginator", InfoField::AlarmOriginator),
        ("alarmOriginatorName", InfoField::AlarmOriginatorName),
        ("alarmOriginatorLabel", InfoField::AlarmOriginatorLabel),
        ("alarmSeverity", InfoField::AlarmSeverity),
        ("alarmStatus", InfoField::AlarmStatus),
        ("acknowledged", InfoField::Acknowledged),
        ("cleared", InfoField::Cleared),
        ("alarmCustomerId", InfoField::AlarmCustomerId),
    ];

    fn name(self) -> &'static str {
        Self::ALL[self as usize].0
    }
}

/// A key of an info object: a typed field, or any other name (kept in `other`).
enum InfoKey {
    Typed(InfoField),
    Other(String),
}

impl<'de> Deserialize<'de> for InfoKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = InfoKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<InfoKey, E> {
                Ok(InfoField::ALL
                    .iter()
                    .find(|(name, _)| *name == v)
                    .map_or_else(|| InfoKey::Other(v.to_owned()), |(_, f)| InfoKey::Typed(*f)))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Reads one typed field's value into `info`; a value of another shape goes to `other`.
fn set_typed(info: &mut NotificationInfo, field: InfoField, value: serde_json::Value) {
    use serde_json::Value;
    let kept = match (field, value) {
        (_, Value::Null) => None,
        (InfoField::AlarmType, Value::String(s)) => {
            info.alarm_type = Some(s);
            None
        }
        (InfoField::Action, Value::String(s)) => {
            info.action = Some(s);
            None
        }
        (InfoField::AlarmOriginatorName, Value::String(s)) => {
            info.alarm_originator_name = Some(s);
            None
        }
        (InfoField::AlarmOriginatorLabel, Value::String(s)) => {
            info.alarm_originator_label = Some(s);
            None
        }
        (InfoField::AlarmSeverity, Value::String(s)) => {
            info.alarm_severity = Some(AlarmSeverity::from_wire(&s));
            None
        }
        (InfoField::AlarmStatus, Value::String(s)) => {
            info.alarm_status = Some(AlarmStatus::from_wire(&s));
            None
        }
        (InfoField::Acknowledged, Value::Bool(b)) => {
            info.acknowledged = Some(b);
            None
        }
        (InfoField::Cleared, Value::Bool(b)) => {
            info.cleared = Some(b);
            None
        }
        (InfoField::AlarmId, Value::String(s)) => match Uuid::parse_str(&s) {
            Ok(id) => {
                info.alarm_id = Some(id);
                None
            }
            Err(_) => Some(Value::String(s)),
        },
        (InfoField::AlarmOriginator | InfoField::AlarmCustomerId, value) => {
            match EntityId::deserialize(&value) {
                Ok(id) if matches!(field, InfoField::AlarmOriginator) => {
                    info.alarm_originator = Some(id);
                    None
                }
                Ok(id) => {
                    info.alarm_customer_id = Some(id);
                    None
                }
                Err(_) => Some(value),
            }
        }
        (_, value) => Some(value),
    };
    if let Some(value) = kept {
        info.other.insert(field.name().to_owned(), value);
    }
}

impl<'de> Deserialize<'de> for NotificationInfo {
    /// One pass over the object: typed fields are read as they come (no intermediate map),
    /// everything else is kept verbatim in `other`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InfoVisitor;
        impl<'de> serde::de::Visitor<'de> for InfoVisitor {
            type Value = NotificationInfo;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a notification info object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<NotificationInfo, A::Error> {
                let mut kind = None;
                let mut info = NotificationInfo::new(NotificationInfoKind::General);
                while let Some(key) = map.next_key::<InfoKey>()? {
                    match key {
                        InfoKey::Typed(InfoField::Type) => {
                            // A wire enum reads any string, escaped or not, and refuses
                            // every other shape.
                            kind = Some(map.next_value::<NotificationInfoKind>()?);
                        }
                        InfoKey::Typed(field) => set_typed(&mut info, field, map.next_value()?),
                        InfoKey::Other(name) => {
                            let value = map.next_value()?;
                            info.other.insert(name, value);
                        }
                    }
                }
                info.kind = kind.ok_or_else(|| serde::de::Error::missing_field("type"))?;
                Ok(info)
            }
        }
        deserializer.deserialize_map(InfoVisitor)
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
    /// An info of `kind` with no typed field set and nothing else.
    #[must_use]
    pub fn new(kind: NotificationInfoKind) -> Self {
        Self {
            kind,
            alarm_type: None,
            action: None,
            alarm_id: None,
            alarm_originator: None,
            alarm_originator_name: None,
            alarm_originator_label: None,
            alarm_severity: None,
            alarm_status: None,
            acknowledged: None,
            cleared: None,
            alarm_customer_id: None,
            other: serde_json::Map::new(),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    const ALARM_CLASS: &str =
        "org.thingsboard.server.common.data.notification.info.AlarmNotificationInfo";

    #[test]
    fn an_info_decodes_the_same_from_text_and_from_a_parsed_value() {
        let text = format!(
            r#"{{"type":"{ALARM_CLASS}","alarmType":"High \"temp\"","action":"created","alarmId":"a1b2c3d4-0000-4000-8000-000000000001","alarmOriginator":{{"entityType":"DEVICE","id":"a1b2c3d4-0000-4000-8000-000000000002"}},"alarmSeverity":"MAJOR","alarmStatus":"ACTIVE_UNACK","acknowledged":false,"cleared":"no","alarmCustomerId":null,"details":{{"k":"v"}}}}"#
        );
        let from_text: NotificationInfo = serde_json::from_str(&text).expect("from text");
        let value: serde_json::Value = serde_json::from_str(&text).expect("value");
        let from_value = NotificationInfo::deserialize(&value).expect("from value");
        assert_eq!(from_text, from_value);
        assert_eq!(from_text.kind, NotificationInfoKind::Alarm);
        assert_eq!(from_text.alarm_type.as_deref(), Some("High \"temp\""));
        assert_eq!(from_text.alarm_severity, Some(AlarmSeverity::Major));
        assert_eq!(from_text.acknowledged, Some(false));
        // A typed field of another shape is kept verbatim; a null one is simply absent.
        assert_eq!(from_text.cleared, None);
        assert_eq!(
            from_text.other.get("cleared"),
            Some(&serde_json::json!("no"))
        );
        assert!(!from_text.other.contains_key("alarmCustomerId"));
        assert_eq!(
            from_text.other.get("details"),
            Some(&serde_json::json!({"k": "v"}))
        );
    }

    #[test]
    fn an_escaped_class_name_is_read_and_a_type_that_is_not_a_string_is_refused() {
        let escaped = r#"{"type":"org.thingsboard.server.common.data.notification.info.General\u004eotificationInfo"}"#;
        let info: NotificationInfo = serde_json::from_str(escaped).expect("escaped");
        assert_eq!(info.kind, NotificationInfoKind::General);
        assert!(serde_json::from_str::<NotificationInfo>(r#"{"type":7}"#).is_err());
        assert!(serde_json::from_str::<NotificationInfo>(r#"{"action":"created"}"#).is_err());
    }
}

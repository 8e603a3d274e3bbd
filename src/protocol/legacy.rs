//! The two pre-3.6.2 wrappers (§2.1), for servers without `/api/ws`.
//!
//! They authenticate with `?token=` on the URL and carry the same command objects,
//! without `"type"`, in fixed lists.

use serde::{Deserialize, Serialize};

use super::command::{
    AlarmCountCmd, AlarmDataCmd, AttributesSubscriptionCmd, EntityCountCmd, EntityDataCmd,
    GetHistoryCmd, MarkAllNotificationsAsReadCmd, MarkNotificationsAsReadCmd,
    NotificationsCountSubCmd, NotificationsSubCmd, TimeseriesSubscriptionCmd, UnsubscribeCmd,
};

/// Path of the legacy telemetry endpoint.
pub const LEGACY_TELEMETRY_PATH: &str = "/api/ws/plugins/telemetry";
/// Path of the legacy notifications endpoint.
pub const LEGACY_NOTIFICATIONS_PATH: &str = "/api/ws/plugins/notifications";
/// Path of the current endpoint.
pub const WS_PATH: &str = "/api/ws";

/// A frame to `/api/ws/plugins/telemetry`. The server runs the lists in this field order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyTelemetryMessage {
    /// v1 attribute subscriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attr_sub_cmds: Vec<AttributesSubscriptionCmd>,
    /// v1 time series subscriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ts_sub_cmds: Vec<TimeseriesSubscriptionCmd>,
    /// v1 history fetches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history_cmds: Vec<GetHistoryCmd>,
    /// Entity data subscriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entity_data_cmds: Vec<EntityDataCmd>,
    /// Entity data unsubscribes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entity_data_unsubscribe_cmds: Vec<UnsubscribeCmd>,
    /// Alarm data subscriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_data_cmds: Vec<AlarmDataCmd>,
    /// Alarm data unsubscribes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_data_unsubscribe_cmds: Vec<UnsubscribeCmd>,
    /// Entity count subscriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entity_count_cmds: Vec<EntityCountCmd>,
    /// Entity count unsubscribes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entity_count_unsubscribe_cmds: Vec<UnsubscribeCmd>,
    /// Alarm count subscriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_count_cmds: Vec<AlarmCountCmd>,
    /// Alarm count unsubscribes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_count_unsubscribe_cmds: Vec<UnsubscribeCmd>,
}

/// A frame to `/api/ws/plugins/notifications`: at most one command of each kind.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyNotificationsMessage {
    /// Subscribe to the unread count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_count_sub_cmd: Option<NotificationsCountSubCmd>,
    /// Subscribe to unread notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_sub_cmd: Option<NotificationsSubCmd>,
    /// Mark some as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_as_read_cmd: Option<MarkNotificationsAsReadCmd>,
    /// Mark all as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_all_as_read_cmd: Option<MarkAllNotificationsAsReadCmd>,
    /// Unsubscribe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsub_cmd: Option<UnsubscribeCmd>,
}

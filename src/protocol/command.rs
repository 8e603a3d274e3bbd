//! Client → server: the `/api/ws` wrapper and every command (§2, §4).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::enums::{
    Aggregation, AlarmSeverity, AttributeScope, EntityType, IntervalType, NotificationType,
    TelemetryScope,
};
use super::ids::EntityId;
use super::query::{AlarmCountQuery, AlarmDataQuery, EntityCountQuery, EntityDataQuery, EntityKey};

/// Most commands the server takes in one frame (what ThingsBoard's own UI batches).
pub const MAX_CMDS_PER_FRAME: usize = 10;
/// Largest inbound text frame the server accepts (bytes); larger frames close the socket (1009).
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// One frame to `/api/ws`: optional authentication plus commands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientMessage {
    /// Authentication; only the first frame of a session carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_cmd: Option<AuthCmd>,
    /// Commands, executed in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmds: Vec<WsCmd>,
}

impl ClientMessage {
    /// A frame of commands.
    #[must_use]
    pub fn new(cmds: Vec<WsCmd>) -> Self {
        Self {
            auth_cmd: None,
            cmds,
        }
    }

    /// The first frame of a session: the token plus the first commands.
    #[must_use]
    pub fn authenticated(token: impl Into<String>, cmds: Vec<WsCmd>) -> Self {
        Self {
            auth_cmd: Some(AuthCmd::token(token)),
            cmds,
        }
    }

    /// The frame as JSON text.
    ///
    /// # Errors
    /// Only if a value cannot be represented in JSON (a non-finite float in a filter).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// Authentication riding on the first frame. There is no reply: success is the
/// connection staying open and the piggy-backed commands being answered.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthCmd {
    /// Ignored by the server; ThingsBoard's UI sends 0.
    #[serde(default)]
    pub cmd_id: i32,
    /// The access JWT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// An API key (4.4+); wins over `token` when non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl AuthCmd {
    /// Authenticate with an access token.
    #[must_use]
    pub fn token(token: impl Into<String>) -> Self {
        Self {
            cmd_id: 0,
            token: Some(token.into()),
            api_key: None,
        }
    }
}

impl std::fmt::Debug for AuthCmd {
    // Never print credentials: logs end up in bug reports.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCmd")
            .field("cmd_id", &self.cmd_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A command in `cmds`, tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WsCmd {
    /// v1 attribute subscription.
    Attributes(AttributesSubscriptionCmd),
    /// v1 time series subscription.
    Timeseries(TimeseriesSubscriptionCmd),
    /// v1 one-shot history fetch.
    TimeseriesHistory(GetHistoryCmd),
    /// Entity page with latest values and/or time series.
    EntityData(EntityDataCmd),
    /// Live entity count.
    EntityCount(EntityCountCmd),
    /// Alarm page.
    AlarmData(AlarmDataCmd),
    /// Live alarm count.
    AlarmCount(AlarmCountCmd),
    /// Does an originator have an active alarm (3.9+).
    AlarmStatus(AlarmStatusCmd),
    /// Unread notifications.
    Notifications(NotificationsSubCmd),
    /// Unread notification count.
    NotificationsCount(NotificationsCountSubCmd),
    /// Mark some notifications as read.
    MarkNotificationsAsRead(MarkNotificationsAsReadCmd),
    /// Mark every notification as read.
    MarkAllNotificationsAsRead(MarkAllNotificationsAsReadCmd),
    /// Stop an `ALARM_DATA` subscription.
    AlarmDataUnsubscribe(UnsubscribeCmd),
    /// Stop an `ALARM_COUNT` subscription.
    AlarmCountUnsubscribe(UnsubscribeCmd),
    /// Stop an `ENTITY_DATA` subscription.
    EntityDataUnsubscribe(UnsubscribeCmd),
    /// Stop an `ENTITY_COUNT` subscription.
    EntityCountUnsubscribe(UnsubscribeCmd),
    /// Stop a `NOTIFICATIONS` or `NOTIFICATIONS_COUNT` subscription.
    NotificationsUnsubscribe(UnsubscribeCmd),
    /// Stop an `ALARM_STATUS` subscription.
    AlarmStatusUnsubscribe(UnsubscribeCmd),
}

impl WsCmd {
    /// The command's `cmdId`.
    #[must_use]
    pub fn cmd_id(&self) -> i32 {
        match self {
            WsCmd::Attributes(c) => c.cmd_id,
            WsCmd::Timeseries(c) => c.cmd_id,
            WsCmd::TimeseriesHistory(c) => c.cmd_id,
            WsCmd::EntityData(c) => c.cmd_id,
            WsCmd::EntityCount(c) => c.cmd_id,
            WsCmd::AlarmData(c) => c.cmd_id,
            WsCmd::AlarmCount(c) => c.cmd_id,
            WsCmd::AlarmStatus(c) => c.cmd_id,
            WsCmd::Notifications(c) => c.cmd_id,
            WsCmd::NotificationsCount(c) => c.cmd_id,
            WsCmd::MarkNotificationsAsRead(c) => c.cmd_id,
            WsCmd::MarkAllNotificationsAsRead(c) => c.cmd_id,
            WsCmd::AlarmDataUnsubscribe(c)
            | WsCmd::AlarmCountUnsubscribe(c)
            | WsCmd::EntityDataUnsubscribe(c)
            | WsCmd::EntityCountUnsubscribe(c)
            | WsCmd::NotificationsUnsubscribe(c)
            | WsCmd::AlarmStatusUnsubscribe(c) => c.cmd_id,
        }
    }

    /// The `"type"` name of the command.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            WsCmd::Attributes(_) => "ATTRIBUTES",
            WsCmd::Timeseries(_) => "TIMESERIES",
            WsCmd::TimeseriesHistory(_) => "TIMESERIES_HISTORY",
            WsCmd::EntityData(_) => "ENTITY_DATA",
            WsCmd::EntityCount(_) => "ENTITY_COUNT",
            WsCmd::AlarmData(_) => "ALARM_DATA",
            WsCmd::AlarmCount(_) => "ALARM_COUNT",
            WsCmd::AlarmStatus(_) => "ALARM_STATUS",
            WsCmd::Notifications(_) => "NOTIFICATIONS",
            WsCmd::NotificationsCount(_) => "NOTIFICATIONS_COUNT",
            WsCmd::MarkNotificationsAsRead(_) => "MARK_NOTIFICATIONS_AS_READ",
            WsCmd::MarkAllNotificationsAsRead(_) => "MARK_ALL_NOTIFICATIONS_AS_READ",
            WsCmd::AlarmDataUnsubscribe(_) => "ALARM_DATA_UNSUBSCRIBE",
            WsCmd::AlarmCountUnsubscribe(_) => "ALARM_COUNT_UNSUBSCRIBE",
            WsCmd::EntityDataUnsubscribe(_) => "ENTITY_DATA_UNSUBSCRIBE",
            WsCmd::EntityCountUnsubscribe(_) => "ENTITY_COUNT_UNSUBSCRIBE",
            WsCmd::NotificationsUnsubscribe(_) => "NOTIFICATIONS_UNSUBSCRIBE",
            WsCmd::AlarmStatusUnsubscribe(_) => "ALARM_STATUS_UNSUBSCRIBE",
        }
    }
}

/// `ENTITY_DATA`: an entity page plus optional latest/time-series/aggregate sub-commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityDataCmd {
    /// Subscription id, unique per session.
    pub cmd_id: i32,
    /// The entity query; may be omitted when re-sending sub-commands for a live `cmdId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<EntityDataQuery>,
    /// Subscribe to latest values of these keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_cmd: Option<LatestValueCmd>,
    /// Fetch a time window, then subscribe to new points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_cmd: Option<TimeSeriesCmd>,
    /// Fetch a fixed range (no subscription).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_cmd: Option<EntityHistoryCmd>,
    /// One aggregate per key over a fixed range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg_history_cmd: Option<AggHistoryCmd>,
    /// One aggregate per key over a window, then live raw points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg_ts_cmd: Option<AggTimeSeriesCmd>,
}

impl EntityDataCmd {
    /// A query with no sub-command (entity fields and initial latest values only).
    #[must_use]
    pub fn query(cmd_id: i32, query: EntityDataQuery) -> Self {
        Self {
            cmd_id,
            query: Some(query),
            latest_cmd: None,
            ts_cmd: None,
            history_cmd: None,
            agg_history_cmd: None,
            agg_ts_cmd: None,
        }
    }

    /// Also subscribe to the latest values of `keys`.
    #[must_use]
    pub fn with_latest(mut self, keys: Vec<EntityKey>) -> Self {
        self.latest_cmd = Some(LatestValueCmd { keys });
        self
    }

    /// Also fetch and follow a time window.
    #[must_use]
    pub fn with_ts(mut self, ts: TimeSeriesCmd) -> Self {
        self.ts_cmd = Some(ts);
        self
    }

    /// Also fetch a fixed range.
    #[must_use]
    pub fn with_history(mut self, history: EntityHistoryCmd) -> Self {
        self.history_cmd = Some(history);
        self
    }
}

/// `latestCmd`: subscribe to the latest values of keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LatestValueCmd {
    /// The keys; merged into the query's `latestValues`.
    #[serde(default)]
    pub keys: Vec<EntityKey>,
}

/// `tsCmd`: fetch `[startTs, startTs + timeWindow]`, then subscribe to new points.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeSeriesCmd {
    /// Time series keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Window start (epoch ms).
    #[serde(default)]
    pub start_ts: i64,
    /// Window length (ms).
    #[serde(default)]
    pub time_window: i64,
    /// How `interval` is measured (3.6.3+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_type: Option<IntervalType>,
    /// Aggregation interval (ms).
    #[serde(default)]
    pub interval: i64,
    /// Time zone of calendar intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone_id: Option<String>,
    /// Most points per key (0 means 100).
    #[serde(default)]
    pub limit: i32,
    /// Aggregation; `None` = raw points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Aggregation>,
    /// Also fetch the last point before the window.
    #[serde(default)]
    pub fetch_latest_previous_point: bool,
}

/// `historyCmd`: fetch `[startTs, endTs]` once.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityHistoryCmd {
    /// Time series keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Range start (epoch ms).
    #[serde(default)]
    pub start_ts: i64,
    /// Range end (epoch ms).
    #[serde(default)]
    pub end_ts: i64,
    /// How `interval` is measured (3.6.3+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_type: Option<IntervalType>,
    /// Aggregation interval (ms).
    #[serde(default)]
    pub interval: i64,
    /// Time zone of calendar intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone_id: Option<String>,
    /// Most points per key (0 means 100).
    #[serde(default)]
    pub limit: i32,
    /// Aggregation; `None` = raw points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Aggregation>,
    /// Also fetch the last point before the range.
    #[serde(default)]
    pub fetch_latest_previous_point: bool,
}

/// A key of an aggregate command; `id` labels the result in `aggLatest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggKey {
    /// Client-chosen label of the result.
    pub id: i32,
    /// Time series key.
    pub key: String,
    /// The aggregation (required).
    pub agg: Aggregation,
    /// Start of the comparison range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_start_ts: Option<i64>,
    /// End of the comparison range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_end_ts: Option<i64>,
    /// Only compute the comparison range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_value_only: Option<bool>,
}

/// `aggHistoryCmd`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggHistoryCmd {
    /// The aggregates.
    #[serde(default)]
    pub keys: Vec<AggKey>,
    /// Range start (epoch ms).
    #[serde(default)]
    pub start_ts: i64,
    /// Range end (epoch ms).
    #[serde(default)]
    pub end_ts: i64,
}

/// `aggTsCmd`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggTimeSeriesCmd {
    /// The aggregates.
    #[serde(default)]
    pub keys: Vec<AggKey>,
    /// Window start (epoch ms).
    #[serde(default)]
    pub start_ts: i64,
    /// Window length (ms).
    #[serde(default)]
    pub time_window: i64,
}

/// `ENTITY_COUNT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityCountCmd {
    /// Subscription id.
    pub cmd_id: i32,
    /// The count query (required by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<EntityCountQuery>,
}

/// `ALARM_DATA`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmDataCmd {
    /// Subscription id; re-send with the same id to page or re-filter.
    pub cmd_id: i32,
    /// The alarm query (required by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<AlarmDataQuery>,
}

/// `ALARM_COUNT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmCountCmd {
    /// Subscription id.
    pub cmd_id: i32,
    /// The count query; `{}` counts every visible alarm. Must not be null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<AlarmCountQuery>,
}

/// `ALARM_STATUS`: does an originator have an active alarm matching the lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStatusCmd {
    /// Subscription id.
    pub cmd_id: i32,
    /// The originator.
    pub originator_id: EntityId,
    /// Alarm types; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_list: Option<Vec<String>>,
    /// Severities; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_list: Option<Vec<AlarmSeverity>>,
}

/// `NOTIFICATIONS`: the user's unread WEB notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsSubCmd {
    /// Subscription id (use a high range, see §2 of the reference).
    pub cmd_id: i32,
    /// How many notifications to list (at least 1).
    pub limit: i32,
    /// Notification types; all when absent or empty (3.8+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<NotificationType>>,
}

/// `NOTIFICATIONS_COUNT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsCountSubCmd {
    /// Subscription id.
    pub cmd_id: i32,
}

/// `MARK_NOTIFICATIONS_AS_READ`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkNotificationsAsReadCmd {
    /// Command id (no reply; effects arrive on the subscriptions).
    pub cmd_id: i32,
    /// Notification UUIDs (plain strings, not id objects).
    #[serde(default)]
    pub notifications: Vec<Uuid>,
}

/// `MARK_ALL_NOTIFICATIONS_AS_READ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkAllNotificationsAsReadCmd {
    /// Command id.
    pub cmd_id: i32,
}

/// The body of every `*_UNSUBSCRIBE` command: exactly `cmdId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsubscribeCmd {
    /// The subscription to stop.
    pub cmd_id: i32,
}

/// v1 `ATTRIBUTES` subscription. Unsubscribe by re-sending with `unsubscribe: true`
/// and a non-empty `entity_id` (an empty one cancels every subscription of the session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributesSubscriptionCmd {
    /// Subscription id.
    pub cmd_id: i32,
    /// The entity's type.
    pub entity_type: EntityType,
    /// The entity's UUID as text.
    #[serde(default)]
    pub entity_id: String,
    /// Comma-separated keys; all keys when absent or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    /// One scope; all scopes when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<AttributeScope>,
    /// Cancel this subscription.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsubscribe: bool,
}

/// v1 `TIMESERIES` subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeseriesSubscriptionCmd {
    /// Subscription id.
    pub cmd_id: i32,
    /// The entity's type.
    pub entity_type: EntityType,
    /// The entity's UUID as text.
    #[serde(default)]
    pub entity_id: String,
    /// Comma-separated keys; all keys (latest only) when absent or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    /// `LATEST_TELEMETRY` forwards only updates not older than the last sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<TelemetryScope>,
    /// Cancel this subscription.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsubscribe: bool,
    /// Window start (epoch ms).
    #[serde(default)]
    pub start_ts: i64,
    /// Window length (ms); 0 = latest values only.
    #[serde(default)]
    pub time_window: i64,
    /// Aggregation interval (ms).
    #[serde(default)]
    pub interval: i64,
    /// Most points per key (0 means 100).
    #[serde(default)]
    pub limit: i32,
    /// Aggregation; raw when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Aggregation>,
}

/// v1 `TIMESERIES_HISTORY`: a one-shot fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetHistoryCmd {
    /// Request id.
    pub cmd_id: i32,
    /// The entity's type.
    pub entity_type: EntityType,
    /// The entity's UUID as text.
    #[serde(default)]
    pub entity_id: String,
    /// Comma-separated keys (required).
    #[serde(default)]
    pub keys: String,
    /// Range start (epoch ms).
    #[serde(default)]
    pub start_ts: i64,
    /// Range end (epoch ms).
    #[serde(default)]
    pub end_ts: i64,
    /// Aggregation interval (ms).
    #[serde(default)]
    pub interval: i64,
    /// Most points per key.
    #[serde(default)]
    pub limit: i32,
    /// Aggregation; raw when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Aggregation>,
}

/// Joins keys into the comma-separated form v1 commands use.
#[must_use]
pub fn csv_keys<S: AsRef<str>>(keys: &[S]) -> String {
    keys.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(",")
}

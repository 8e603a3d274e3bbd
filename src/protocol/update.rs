//! Server → client update objects (§3, §5).
//!
//! Field order in the structs follows Jackson's order on the wire; encoding writes
//! `null` for absent optional fields, as the server does, so a decoded message encodes
//! back to the same JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alarm::AlarmData;
use super::enums::EntityKeyType;
use super::ids::EntityId;
use super::notification::Notification;
use super::value::{ComparisonTsValue, TsPoint, TsValue};

/// Latest values per key type and key: `{"TIME_SERIES":{"temperature":{"ts":…,"value":"21.5"}}}`.
pub type LatestValues = BTreeMap<EntityKeyType, BTreeMap<String, TsValue>>;

/// Time series per key, as sent (raw series newest first, aggregated ascending).
pub type TimeSeries = BTreeMap<String, Vec<TsValue>>;

/// The `errorCode` of a successful message.
pub const NO_ERROR: i32 = 0;
/// `errorCode` of an internal server error.
pub const INTERNAL_ERROR: i32 = 1;
/// `errorCode` of a rejected command.
pub const BAD_REQUEST: i32 = 2;
/// `errorCode` of an access failure.
pub const UNAUTHORIZED: i32 = 3;
/// `errorCode` of the per-session rate-limit message.
pub const TOO_MANY_UPDATES: i32 = 34;

macro_rules! update_kind {
    ($(#[$m:meta])* $name:ident = $wire:literal) => {
        $(#[$m])*
        ///
        /// A marker for the `cmdUpdateType` field: it always encodes as
        #[doc = concat!("`\"", $wire, "\"`")]
        /// and refuses any other value, so a message cannot decode as the wrong shape.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        impl $name {
            /// The wire name.
            pub const WIRE: &'static str = $wire;
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($wire)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct KindVisitor;
                impl serde::de::Visitor<'_> for KindVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("\"", $wire, "\""))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        if v == $wire {
                            Ok($name)
                        } else {
                            Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
                        }
                    }
                }
                deserializer.deserialize_str(KindVisitor)
            }
        }
    };
}

update_kind!(
    /// `cmdUpdateType` of [`EntityDataUpdate`].
    EntityDataKind = "ENTITY_DATA"
);
update_kind!(
    /// `cmdUpdateType` of [`AlarmDataUpdate`].
    AlarmDataKind = "ALARM_DATA"
);
update_kind!(
    /// `cmdUpdateType` of [`EntityCountUpdate`].
    CountDataKind = "COUNT_DATA"
);
update_kind!(
    /// `cmdUpdateType` of [`AlarmCountUpdate`].
    AlarmCountDataKind = "ALARM_COUNT_DATA"
);
update_kind!(
    /// `cmdUpdateType` of [`AlarmStatusUpdate`].
    AlarmStatusKind = "ALARM_STATUS"
);
update_kind!(
    /// `cmdUpdateType` of [`UnreadNotificationsUpdate`].
    NotificationsKind = "NOTIFICATIONS"
);
update_kind!(
    /// `cmdUpdateType` of [`UnreadNotificationsCountUpdate`].
    NotificationsCountKind = "NOTIFICATIONS_COUNT"
);

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageData<T> {
    /// The rows of this page.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Number of pages.
    #[serde(default)]
    pub total_pages: i32,
    /// Number of rows over all pages.
    #[serde(default)]
    pub total_elements: i64,
    /// Whether a next page exists.
    #[serde(default)]
    pub has_next: bool,
}

impl<T> PageData<T> {
    /// A single page holding every row.
    #[must_use]
    pub fn single(data: Vec<T>) -> Self {
        let total = i64::try_from(data.len()).unwrap_or(i64::MAX);
        Self {
            total_pages: i32::from(total > 0),
            total_elements: total,
            has_next: false,
            data,
        }
    }

    /// An empty page (what a filter matching no entity gets).
    #[must_use]
    pub fn empty() -> Self {
        Self {
            data: Vec::new(),
            total_pages: 0,
            total_elements: 0,
            has_next: false,
        }
    }
}

/// One entity of an entity query, with the values asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityData {
    /// The entity.
    pub entity_id: EntityId,
    /// Latest values per key type (entity fields included); `null` in time series updates.
    #[serde(default)]
    pub latest: Option<LatestValues>,
    /// Time series per key; `null` in latest-value updates.
    #[serde(default)]
    pub timeseries: Option<TimeSeries>,
    /// Aggregates by `AggKey.id`.
    #[serde(default)]
    pub agg_latest: Option<BTreeMap<i32, ComparisonTsValue>>,
}

impl EntityData {
    /// The latest value of `key` of `key_type`, if present.
    #[must_use]
    pub fn latest_value(&self, key_type: &EntityKeyType, key: &str) -> Option<&TsValue> {
        self.latest.as_ref()?.get(key_type)?.get(key)
    }
}

/// `ENTITY_DATA` update: the first message of a subscription carries `data`, later ones `update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityDataUpdate {
    /// The subscription.
    pub cmd_id: i32,
    /// A full page (first message, dynamic page change).
    #[serde(default)]
    pub data: Option<PageData<EntityData>>,
    /// Changed entities only.
    #[serde(default)]
    pub update: Option<Vec<EntityData>>,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Most entities one subscription covers (10 000 by default).
    #[serde(default)]
    pub allowed_entities: i32,
    /// `ENTITY_DATA`.
    #[serde(rename = "cmdUpdateType")]
    pub kind: EntityDataKind,
}

impl EntityDataUpdate {
    /// Every row the message carries: the page's (if any), then the updated ones.
    pub fn rows(&self) -> impl Iterator<Item = &EntityData> {
        self.data
            .iter()
            .flat_map(|p| p.data.iter())
            .chain(self.update.iter().flatten())
    }
}

/// `ALARM_DATA` update: a full `data` page, or single changed alarms in `update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmDataUpdate {
    /// The subscription.
    pub cmd_id: i32,
    /// A full page.
    #[serde(default)]
    pub data: Option<PageData<AlarmData>>,
    /// Changed alarms.
    #[serde(default)]
    pub update: Option<Vec<AlarmData>>,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Most entities whose alarms are searched (10 000 by default; 0 when none matched).
    #[serde(default)]
    pub allowed_entities: i64,
    /// Entities the filter matched.
    #[serde(default)]
    pub total_entities: i64,
    /// `ALARM_DATA`.
    #[serde(rename = "cmdUpdateType")]
    pub kind: AlarmDataKind,
}

/// `COUNT_DATA`: the entity count, sent first and then only on change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityCountUpdate {
    /// The subscription.
    pub cmd_id: i32,
    /// The count.
    #[serde(default)]
    pub count: i64,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// `COUNT_DATA`.
    #[serde(rename = "cmdUpdateType")]
    pub kind: CountDataKind,
}

/// `ALARM_COUNT_DATA`: the alarm count, sent first and then only on change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmCountUpdate {
    /// The subscription.
    pub cmd_id: i32,
    /// The count.
    #[serde(default)]
    pub count: i64,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// `ALARM_COUNT_DATA`.
    #[serde(rename = "cmdUpdateType")]
    pub kind: AlarmCountDataKind,
}

/// `ALARM_STATUS`: whether the originator has a matching active alarm; sent on flips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStatusUpdate {
    /// The subscription.
    pub cmd_id: i32,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// A matching active alarm exists.
    #[serde(default)]
    pub active: bool,
    /// `ALARM_STATUS`.
    #[serde(rename = "cmdUpdateType")]
    pub kind: AlarmStatusKind,
}

/// `NOTIFICATIONS`: full list, one changed notification, or a count change only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreadNotificationsUpdate {
    /// The subscription.
    pub cmd_id: i32,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Full list, newest first (variant 1).
    #[serde(default)]
    pub notifications: Option<Vec<Notification>>,
    /// One new or changed notification (variant 2).
    #[serde(default)]
    pub update: Option<Box<Notification>>,
    /// Unread notifications in total (may exceed the list).
    #[serde(default)]
    pub total_unread_count: i64,
    /// Starts at 1 per subscription; drop messages not newer than the last seen.
    #[serde(default)]
    pub sequence_number: i64,
    /// `NOTIFICATIONS`.
    #[serde(rename = "cmdUpdateType")]
    pub kind: NotificationsKind,
}

/// Which of the three `NOTIFICATIONS` variants a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationsUpdateVariant {
    /// The whole list.
    Full,
    /// One notification to prepend or replace by id.
    Partial,
    /// Only the unread count changed.
    CountOnly,
}

impl UnreadNotificationsUpdate {
    /// Which variant this message is.
    #[must_use]
    pub fn variant(&self) -> NotificationsUpdateVariant {
        match (&self.notifications, &self.update) {
            (Some(_), _) => NotificationsUpdateVariant::Full,
            (None, Some(_)) => NotificationsUpdateVariant::Partial,
            (None, None) => NotificationsUpdateVariant::CountOnly,
        }
    }
}

/// `NOTIFICATIONS_COUNT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreadNotificationsCountUpdate {
    /// The subscription.
    pub cmd_id: i32,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Unread notifications in total.
    #[serde(default)]
    pub total_unread_count: i64,
    /// Starts at 1 per subscription.
    #[serde(default)]
    pub sequence_number: i64,
    /// `NOTIFICATIONS_COUNT`.
    #[serde(rename = "cmdUpdateType")]
    pub kind: NotificationsCountKind,
}

/// The v1 shape: v1 data (`ATTRIBUTES`, `TIMESERIES`, `TIMESERIES_HISTORY`) and most errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TelemetrySubscriptionUpdate {
    /// The v1 `cmdId`, the `cmdId` of a rejected v2 command, or 1 for an unparseable frame.
    pub subscription_id: i32,
    /// 0 on success.
    #[serde(default)]
    pub error_code: i32,
    /// Error text.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Points per key (`[ts, "value"]`), keys sorted.
    #[serde(default)]
    pub data: Option<BTreeMap<String, Vec<TsPoint>>>,
    /// Timestamp of the last element per key (ignore for ranged fetches).
    #[serde(default)]
    pub latest_values: Option<BTreeMap<String, i64>>,
}

impl TelemetrySubscriptionUpdate {
    /// An error in the v1 shape, as the server sends it (`data:null, latestValues:{}`).
    #[must_use]
    pub fn error(subscription_id: i32, error_code: i32, error_msg: impl Into<String>) -> Self {
        Self {
            subscription_id,
            error_code,
            error_msg: Some(error_msg.into()),
            data: None,
            latest_values: Some(BTreeMap::new()),
        }
    }
}

/// The hand-built rate-limit message: `{"subscriptionId":N, "errorCode":34, "errorMsg":"Too many updates!"}`.
/// Updates are dropped silently after it while over the limit; resubscribe to resync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TooManyUpdates {
    /// The affected subscription's `cmdId`.
    pub subscription_id: i32,
    /// Always 34.
    pub error_code: i32,
    /// `Too many updates!`.
    #[serde(default)]
    pub error_msg: Option<String>,
}

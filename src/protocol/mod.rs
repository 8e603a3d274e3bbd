//! The ThingsBoard wire protocol: pure serde types, no I/O.
//!
//! Both the client (`net`) and the demo server (`demo`) speak through these types, so a
//! message is defined once. The source of truth is `thingsboard-protocol.md` (read from
//! ThingsBoard's server source), which wins over the public docs.
//!
//! * Client → server: [`ClientMessage`] (`/api/ws`: `authCmd` + `cmds` of [`WsCmd`]) and
//!   the two legacy wrappers [`LegacyTelemetryMessage`], [`LegacyNotificationsMessage`].
//! * Server → client: [`ServerMessage`], decoded with [`ServerMessage::from_json`].
//! * Queries: [`EntityDataQuery`], [`EntityCountQuery`], [`AlarmDataQuery`],
//!   [`AlarmCountQuery`], [`EntityFilter`], [`KeyFilter`].
//! * REST authentication and errors: [`LoginRequest`], [`LoginResponse`], [`JwtClaims`],
//!   [`User`], [`RestError`].
//!
//! Design rules:
//! * **Tolerant**: unknown fields are ignored; enum names this version does not know
//!   decode into an `Unknown(String)` variant and encode back unchanged.
//! * **Lossless**: every server message shape of the reference decodes and encodes back
//!   to equal JSON (a `null` field and an absent one count as the same).
//! * **Values stay text**: [`TbValue`] keeps the wire string and parses on demand.
//! * **Never panic on input**: every decoder returns a [`ProtocolError`].

mod alarm;
mod auth;
mod command;
mod enums;
mod error;
mod filter;
mod ids;
mod key_filter;
mod legacy;
mod notification;
mod query;
mod rest_error;
mod server_message;
mod update;
mod value;
mod wire_enum;

pub use alarm::{AlarmAssignee, AlarmData, AlarmInfo};
pub use auth::{
    JwtClaims, LoginRequest, LoginResponse, RefreshTokenRequest, TwoFaProviderInfo, User,
};
pub use command::{
    AggHistoryCmd, AggKey, AggTimeSeriesCmd, AlarmCountCmd, AlarmDataCmd, AlarmStatusCmd,
    AttributesSubscriptionCmd, AuthCmd, ClientMessage, EntityCountCmd, EntityDataCmd,
    EntityHistoryCmd, GetHistoryCmd, LatestValueCmd, MAX_CMDS_PER_FRAME, MAX_FRAME_BYTES,
    MarkAllNotificationsAsReadCmd, MarkNotificationsAsReadCmd, NotificationsCountSubCmd,
    NotificationsSubCmd, TimeSeriesCmd, TimeseriesSubscriptionCmd, UnsubscribeCmd, WsCmd, csv_keys,
};
pub use enums::{
    Aggregation, AlarmSearchStatus, AlarmSeverity, AlarmStatus, AttributeScope, Authority,
    BooleanOperation, CmdUpdateType, ComplexOperation, DynamicValueSourceType, EntityAlias,
    EntityKeyType, EntityKeyValueType, EntitySearchDirection, EntityType, IntervalType,
    NotificationDeliveryMethod, NotificationStatus, NotificationType, NumericOperation,
    SortDirection, StringOperation, TelemetryScope, TwoFaProviderType,
};
pub use error::{ProtocolError, decode_named};
pub use filter::{
    ApiUsageStateFilter, AssetSearchQueryFilter, AssetTypeFilter, DeviceSearchQueryFilter,
    DeviceTypeFilter, EdgeSearchQueryFilter, EdgeTypeFilter, EntityFilter, EntityListFilter,
    EntityNameFilter, EntityTypeFilter, EntityViewSearchQueryFilter, EntityViewTypeFilter,
    RelationEntityTypeFilter, RelationsQueryFilter, SingleEntityFilter,
};
pub use ids::{AliasEntityId, EntityId, EntityTypeOrAlias, NULL_UUID};
pub use key_filter::{
    BooleanFilterPredicate, ComplexFilterPredicate, DynamicValue, FilterPredicateValue, KeyFilter,
    KeyFilterPredicate, NumericFilterPredicate, StringFilterPredicate,
};
pub use legacy::{
    LEGACY_NOTIFICATIONS_PATH, LEGACY_TELEMETRY_PATH, LegacyNotificationsMessage,
    LegacyTelemetryMessage, WS_PATH,
};
pub use notification::{Notification, NotificationInfo, NotificationInfoKind};
pub use query::{
    AlarmCountQuery, AlarmDataPageLink, AlarmDataQuery, EntityCountQuery, EntityDataPageLink,
    EntityDataQuery, EntityDataSortOrder, EntityKey,
};
pub use rest_error::{RestError, ThingsboardErrorCode};
pub use server_message::{ErrorScope, ServerMessage, UnknownUpdate};
pub use update::{
    AlarmCountDataKind, AlarmCountUpdate, AlarmDataKind, AlarmDataUpdate, AlarmStatusKind,
    AlarmStatusUpdate, BAD_REQUEST, CountDataKind, EntityCountUpdate, EntityData, EntityDataKind,
    EntityDataUpdate, INTERNAL_ERROR, LatestValues, NO_ERROR, NotificationsCountKind,
    NotificationsKind, NotificationsUpdateVariant, PageData, TOO_MANY_UPDATES,
    TelemetrySubscriptionUpdate, TimeSeries, TooManyUpdates, UNAUTHORIZED,
    UnreadNotificationsCountUpdate, UnreadNotificationsUpdate,
};
pub use value::{ComparisonTsValue, TbValue, TsPoint, TsValue, format_java_double};

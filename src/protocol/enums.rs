//! The wire enums of the reference (§7 and the query/command sections).
//!
//! Every enum here keeps names it does not know (see [`wire_enum!`](super::wire_enum)).

use super::wire_enum::wire_enum;

wire_enum! {
    /// The type of a ThingsBoard entity, as carried by every entity id.
    pub enum EntityType {
        /// `TENANT`
        Tenant = "TENANT",
        /// `CUSTOMER`
        Customer = "CUSTOMER",
        /// `USER`
        User = "USER",
        /// `DASHBOARD`
        Dashboard = "DASHBOARD",
        /// `ASSET`
        Asset = "ASSET",
        /// `DEVICE`
        Device = "DEVICE",
        /// `ALARM`
        Alarm = "ALARM",
        /// `RULE_CHAIN`
        RuleChain = "RULE_CHAIN",
        /// `RULE_NODE`
        RuleNode = "RULE_NODE",
        /// `ENTITY_VIEW`
        EntityView = "ENTITY_VIEW",
        /// `WIDGETS_BUNDLE`
        WidgetsBundle = "WIDGETS_BUNDLE",
        /// `WIDGET_TYPE`
        WidgetType = "WIDGET_TYPE",
        /// `TENANT_PROFILE`
        TenantProfile = "TENANT_PROFILE",
        /// `DEVICE_PROFILE`
        DeviceProfile = "DEVICE_PROFILE",
        /// `ASSET_PROFILE`
        AssetProfile = "ASSET_PROFILE",
        /// `API_USAGE_STATE`
        ApiUsageState = "API_USAGE_STATE",
        /// `TB_RESOURCE`
        TbResource = "TB_RESOURCE",
        /// `OTA_PACKAGE`
        OtaPackage = "OTA_PACKAGE",
        /// `EDGE`
        Edge = "EDGE",
        /// `RPC`
        Rpc = "RPC",
        /// `QUEUE`
        Queue = "QUEUE",
        /// `NOTIFICATION_TARGET`
        NotificationTarget = "NOTIFICATION_TARGET",
        /// `NOTIFICATION_TEMPLATE`
        NotificationTemplate = "NOTIFICATION_TEMPLATE",
        /// `NOTIFICATION_REQUEST`
        NotificationRequest = "NOTIFICATION_REQUEST",
        /// `NOTIFICATION`
        Notification = "NOTIFICATION",
        /// `NOTIFICATION_RULE`
        NotificationRule = "NOTIFICATION_RULE",
        /// `QUEUE_STATS`
        QueueStats = "QUEUE_STATS",
        /// `OAUTH2_CLIENT`
        Oauth2Client = "OAUTH2_CLIENT",
        /// `DOMAIN`
        Domain = "DOMAIN",
        /// `MOBILE_APP`
        MobileApp = "MOBILE_APP",
        /// `MOBILE_APP_BUNDLE`
        MobileAppBundle = "MOBILE_APP_BUNDLE",
        /// `CALCULATED_FIELD`
        CalculatedField = "CALCULATED_FIELD",
        /// `JOB`
        Job = "JOB",
        /// `ADMIN_SETTINGS`
        AdminSettings = "ADMIN_SETTINGS",
        /// `AI_MODEL`
        AiModel = "AI_MODEL",
        /// `API_KEY`
        ApiKey = "API_KEY",
    }
}

wire_enum! {
    /// Entity-id aliases that filters may use in place of a concrete entity type.
    pub enum EntityAlias {
        /// The customer of the current user (`CURRENT_CUSTOMER`).
        CurrentCustomer = "CURRENT_CUSTOMER",
        /// The tenant of the current user (`CURRENT_TENANT`).
        CurrentTenant = "CURRENT_TENANT",
        /// The current user (`CURRENT_USER`).
        CurrentUser = "CURRENT_USER",
        /// The owner (tenant or customer) of the current user (`CURRENT_USER_OWNER`).
        CurrentUserOwner = "CURRENT_USER_OWNER",
    }
}

wire_enum! {
    /// Which kind of value an [`EntityKey`](super::EntityKey) names.
    pub enum EntityKeyType {
        /// An attribute of any scope.
        Attribute = "ATTRIBUTE",
        /// A client-side attribute.
        ClientAttribute = "CLIENT_ATTRIBUTE",
        /// A shared attribute.
        SharedAttribute = "SHARED_ATTRIBUTE",
        /// A server-side attribute.
        ServerAttribute = "SERVER_ATTRIBUTE",
        /// A time series key.
        TimeSeries = "TIME_SERIES",
        /// A field of the entity itself (`name`, `type`, `createdTime`, …).
        EntityField = "ENTITY_FIELD",
        /// A field of an alarm (sorting and searching alarm queries).
        AlarmField = "ALARM_FIELD",
    }
}

wire_enum! {
    /// The value type a key filter compares as.
    pub enum EntityKeyValueType {
        /// Compare as text.
        String = "STRING",
        /// Compare as a number.
        Numeric = "NUMERIC",
        /// Compare as a boolean.
        Boolean = "BOOLEAN",
        /// Compare as a date-time (epoch ms, numeric predicates).
        DateTime = "DATE_TIME",
    }
}

wire_enum! {
    /// Operations of a `STRING` key-filter predicate.
    pub enum StringOperation {
        /// `EQUAL`
        Equal = "EQUAL",
        /// `NOT_EQUAL`
        NotEqual = "NOT_EQUAL",
        /// `STARTS_WITH`
        StartsWith = "STARTS_WITH",
        /// `ENDS_WITH`
        EndsWith = "ENDS_WITH",
        /// `CONTAINS`
        Contains = "CONTAINS",
        /// `NOT_CONTAINS`
        NotContains = "NOT_CONTAINS",
        /// `IN` (comma-separated list)
        In = "IN",
        /// `NOT_IN` (comma-separated list)
        NotIn = "NOT_IN",
    }
}

wire_enum! {
    /// Operations of a `NUMERIC` key-filter predicate.
    pub enum NumericOperation {
        /// `EQUAL`
        Equal = "EQUAL",
        /// `NOT_EQUAL`
        NotEqual = "NOT_EQUAL",
        /// `GREATER`
        Greater = "GREATER",
        /// `LESS`
        Less = "LESS",
        /// `GREATER_OR_EQUAL`
        GreaterOrEqual = "GREATER_OR_EQUAL",
        /// `LESS_OR_EQUAL`
        LessOrEqual = "LESS_OR_EQUAL",
    }
}

wire_enum! {
    /// Operations of a `BOOLEAN` key-filter predicate.
    pub enum BooleanOperation {
        /// `EQUAL`
        Equal = "EQUAL",
        /// `NOT_EQUAL`
        NotEqual = "NOT_EQUAL",
    }
}

wire_enum! {
    /// How predicates of a `COMPLEX` predicate, or the key filters of a query, combine.
    pub enum ComplexOperation {
        /// All must match.
        And = "AND",
        /// Any may match.
        Or = "OR",
    }
}

wire_enum! {
    /// Where a dynamic filter value is read from.
    pub enum DynamicValueSourceType {
        /// A server attribute of the current tenant.
        CurrentTenant = "CURRENT_TENANT",
        /// A server attribute of the current customer.
        CurrentCustomer = "CURRENT_CUSTOMER",
        /// A server attribute of the current user.
        CurrentUser = "CURRENT_USER",
        /// A server attribute of the device being filtered.
        CurrentDevice = "CURRENT_DEVICE",
    }
}

wire_enum! {
    /// Direction of a relation search.
    pub enum EntitySearchDirection {
        /// Follow relations from the root.
        From = "FROM",
        /// Follow relations to the root.
        To = "TO",
    }
}

wire_enum! {
    /// Sort direction of a page link.
    pub enum SortDirection {
        /// Ascending.
        Asc = "ASC",
        /// Descending.
        Desc = "DESC",
    }
}

wire_enum! {
    /// Alarm severity, worst first.
    pub enum AlarmSeverity {
        /// `CRITICAL`
        Critical = "CRITICAL",
        /// `MAJOR`
        Major = "MAJOR",
        /// `MINOR`
        Minor = "MINOR",
        /// `WARNING`
        Warning = "WARNING",
        /// `INDETERMINATE`
        Indeterminate = "INDETERMINATE",
    }
}

wire_enum! {
    /// The status of an alarm as the server reports it.
    pub enum AlarmStatus {
        /// Active, not acknowledged.
        ActiveUnack = "ACTIVE_UNACK",
        /// Active, acknowledged.
        ActiveAck = "ACTIVE_ACK",
        /// Cleared, not acknowledged.
        ClearedUnack = "CLEARED_UNACK",
        /// Cleared, acknowledged.
        ClearedAck = "CLEARED_ACK",
    }
}

wire_enum! {
    /// Alarm status filter of an alarm query (any-of).
    pub enum AlarmSearchStatus {
        /// Every alarm.
        Any = "ANY",
        /// Not cleared.
        Active = "ACTIVE",
        /// Cleared.
        Cleared = "CLEARED",
        /// Acknowledged.
        Ack = "ACK",
        /// Not acknowledged.
        Unack = "UNACK",
    }
}

wire_enum! {
    /// Time series aggregation.
    pub enum Aggregation {
        /// Minimum per interval.
        Min = "MIN",
        /// Maximum per interval.
        Max = "MAX",
        /// Average per interval.
        Avg = "AVG",
        /// Sum per interval.
        Sum = "SUM",
        /// Number of points per interval.
        Count = "COUNT",
        /// Raw points.
        None = "NONE",
    }
}

wire_enum! {
    /// How the aggregation interval of a time series command is measured.
    pub enum IntervalType {
        /// `interval` is in milliseconds (the default).
        Milliseconds = "MILLISECONDS",
        /// Calendar weeks starting on Sunday.
        Week = "WEEK",
        /// ISO weeks starting on Monday.
        WeekIso = "WEEK_ISO",
        /// Calendar months.
        Month = "MONTH",
        /// Calendar quarters.
        Quarter = "QUARTER",
    }
}

wire_enum! {
    /// Attribute scope of a v1 `ATTRIBUTES` subscription.
    pub enum AttributeScope {
        /// Attributes the device reports.
        Client = "CLIENT_SCOPE",
        /// Attributes only the platform sees.
        Server = "SERVER_SCOPE",
        /// Attributes the platform shares with the device.
        Shared = "SHARED_SCOPE",
    }
}

wire_enum! {
    /// Scope of a v1 `TIMESERIES` subscription.
    pub enum TelemetryScope {
        /// Only forward updates not older than the last sent value per key.
        LatestTelemetry = "LATEST_TELEMETRY",
    }
}

wire_enum! {
    /// The `cmdUpdateType` discriminator of v2 and notification updates.
    pub enum CmdUpdateType {
        /// `ENTITY_DATA`
        EntityData = "ENTITY_DATA",
        /// `ALARM_DATA`
        AlarmData = "ALARM_DATA",
        /// `ALARM_COUNT_DATA`
        AlarmCountData = "ALARM_COUNT_DATA",
        /// `ALARM_STATUS`
        AlarmStatus = "ALARM_STATUS",
        /// `COUNT_DATA`
        CountData = "COUNT_DATA",
        /// `NOTIFICATIONS`
        Notifications = "NOTIFICATIONS",
        /// `NOTIFICATIONS_COUNT`
        NotificationsCount = "NOTIFICATIONS_COUNT",
    }
}

wire_enum! {
    /// The type of a platform notification.
    pub enum NotificationType {
        /// `GENERAL`
        General = "GENERAL",
        /// `ALARM`
        Alarm = "ALARM",
        /// `DEVICE_ACTIVITY`
        DeviceActivity = "DEVICE_ACTIVITY",
        /// `ENTITY_ACTION`
        EntityAction = "ENTITY_ACTION",
        /// `ALARM_COMMENT`
        AlarmComment = "ALARM_COMMENT",
        /// `RULE_ENGINE_COMPONENT_LIFECYCLE_EVENT`
        RuleEngineComponentLifecycleEvent = "RULE_ENGINE_COMPONENT_LIFECYCLE_EVENT",
        /// `ALARM_ASSIGNMENT`
        AlarmAssignment = "ALARM_ASSIGNMENT",
        /// `NEW_PLATFORM_VERSION`
        NewPlatformVersion = "NEW_PLATFORM_VERSION",
        /// `ENTITIES_LIMIT`
        EntitiesLimit = "ENTITIES_LIMIT",
        /// `ENTITIES_LIMIT_INCREASE_REQUEST`
        EntitiesLimitIncreaseRequest = "ENTITIES_LIMIT_INCREASE_REQUEST",
        /// `API_USAGE_LIMIT`
        ApiUsageLimit = "API_USAGE_LIMIT",
        /// `RULE_NODE`
        RuleNode = "RULE_NODE",
        /// `RATE_LIMITS`
        RateLimits = "RATE_LIMITS",
        /// `EDGE_CONNECTION`
        EdgeConnection = "EDGE_CONNECTION",
        /// `EDGE_COMMUNICATION_FAILURE`
        EdgeCommunicationFailure = "EDGE_COMMUNICATION_FAILURE",
        /// `TASK_PROCESSING_FAILURE`
        TaskProcessingFailure = "TASK_PROCESSING_FAILURE",
        /// `RESOURCES_SHORTAGE`
        ResourcesShortage = "RESOURCES_SHORTAGE",
    }
}

wire_enum! {
    /// Whether a notification was read.
    pub enum NotificationStatus {
        /// Delivered, unread.
        Sent = "SENT",
        /// Read.
        Read = "READ",
    }
}

wire_enum! {
    /// How a notification is delivered; the socket carries only `WEB`.
    pub enum NotificationDeliveryMethod {
        /// `WEB`
        Web = "WEB",
        /// `EMAIL`
        Email = "EMAIL",
        /// `SMS`
        Sms = "SMS",
        /// `SLACK`
        Slack = "SLACK",
        /// `MICROSOFT_TEAMS`
        MicrosoftTeams = "MICROSOFT_TEAMS",
        /// `MOBILE_APP`
        MobileApp = "MOBILE_APP",
    }
}

wire_enum! {
    /// A user's authority, and the scope of a token.
    pub enum Authority {
        /// `SYS_ADMIN`
        SysAdmin = "SYS_ADMIN",
        /// `TENANT_ADMIN`
        TenantAdmin = "TENANT_ADMIN",
        /// `CUSTOMER_USER`
        CustomerUser = "CUSTOMER_USER",
        /// The scope of a refresh token.
        RefreshToken = "REFRESH_TOKEN",
        /// A login that still needs its second factor.
        PreVerificationToken = "PRE_VERIFICATION_TOKEN",
        /// A login that must configure 2FA first.
        MfaConfigurationToken = "MFA_CONFIGURATION_TOKEN",
    }
}

wire_enum! {
    /// A second-factor provider.
    pub enum TwoFaProviderType {
        /// Authenticator app code.
        Totp = "TOTP",
        /// Code sent by SMS.
        Sms = "SMS",
        /// Code sent by e-mail.
        Email = "EMAIL",
        /// One of the user's backup codes.
        BackupCode = "BACKUP_CODE",
    }
}

impl AlarmSeverity {
    /// Rank for sorting, 0 = worst (`CRITICAL`); unknown severities rank last.
    #[must_use]
    pub fn rank(&self) -> u8 {
        match self {
            AlarmSeverity::Critical => 0,
            AlarmSeverity::Major => 1,
            AlarmSeverity::Minor => 2,
            AlarmSeverity::Warning => 3,
            AlarmSeverity::Indeterminate => 4,
            AlarmSeverity::Unknown(_) => 5,
        }
    }
}

impl AlarmStatus {
    /// The status implied by the two alarm flags.
    #[must_use]
    pub fn from_flags(acknowledged: bool, cleared: bool) -> Self {
        match (cleared, acknowledged) {
            (false, false) => AlarmStatus::ActiveUnack,
            (false, true) => AlarmStatus::ActiveAck,
            (true, false) => AlarmStatus::ClearedUnack,
            (true, true) => AlarmStatus::ClearedAck,
        }
    }
}

impl EntityKeyType {
    /// Whether the key names an attribute (of any or a specific scope).
    #[must_use]
    pub fn is_attribute(&self) -> bool {
        matches!(
            self,
            EntityKeyType::Attribute
                | EntityKeyType::ClientAttribute
                | EntityKeyType::SharedAttribute
                | EntityKeyType::ServerAttribute
        )
    }
}

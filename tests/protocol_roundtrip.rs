//! The protocol model against literal JSON written from the reference's field lists.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{assert_json_equivalent, fixture, fixtures};
use tb_monitor::protocol::{
    AlarmInfo, AlarmSeverity, AlarmStatus, ClientMessage, EntityData, EntityKeyType, EntityType,
    LegacyNotificationsMessage, LegacyTelemetryMessage, LoginRequest, LoginResponse, Notification,
    NotificationInfoKind, NotificationType, NotificationsUpdateVariant, PageData,
    RefreshTokenRequest, RestError, ServerMessage, ThingsboardErrorCode, TwoFaProviderInfo,
    TwoFaProviderType, User, WsCmd,
};

fn shape_of(msg: &ServerMessage) -> &'static str {
    match msg {
        ServerMessage::Telemetry(_) => "Telemetry",
        ServerMessage::TooManyUpdates(_) => "TooManyUpdates",
        ServerMessage::EntityData(_) => "EntityData",
        ServerMessage::AlarmData(_) => "AlarmData",
        ServerMessage::EntityCount(_) => "EntityCount",
        ServerMessage::AlarmCount(_) => "AlarmCount",
        ServerMessage::AlarmStatus(_) => "AlarmStatus",
        ServerMessage::Notifications(_) => "Notifications",
        ServerMessage::NotificationsCount(_) => "NotificationsCount",
        ServerMessage::Unknown(_) => "Unknown",
    }
}

/// The shape each server fixture must decode into.
const SERVER_SHAPES: &[(&str, &str)] = &[
    ("alarm_count", "AlarmCount"),
    ("alarm_data_no_entities", "AlarmData"),
    ("alarm_data_page", "AlarmData"),
    ("alarm_data_update", "AlarmData"),
    ("alarm_status", "AlarmStatus"),
    ("entity_count", "EntityCount"),
    ("entity_data_error_result_set", "EntityData"),
    ("entity_data_initial_page", "EntityData"),
    ("entity_data_missing_value_cassandra", "EntityData"),
    ("entity_data_update_agg_latest", "EntityData"),
    ("entity_data_update_aggregated_history", "EntityData"),
    ("entity_data_update_before_data", "EntityData"),
    ("entity_data_update_deleted_key", "EntityData"),
    ("entity_data_update_latest", "EntityData"),
    ("entity_data_update_timeseries", "EntityData"),
    ("notifications_count", "NotificationsCount"),
    ("notifications_count_only", "Notifications"),
    ("notifications_full", "Notifications"),
    ("notifications_partial", "Notifications"),
    ("notifications_unknown_type_and_info", "Notifications"),
    ("reordered_keys_pretty", "EntityCount"),
    ("too_many_updates", "TooManyUpdates"),
    ("unknown_cmd_update_type", "Unknown"),
    ("unknown_enum_values", "EntityData"),
    ("v1_attributes_data", "Telemetry"),
    ("v1_deleted_and_missing_keys", "Telemetry"),
    ("v1_error_internal", "Telemetry"),
    ("v1_error_parse_failure", "Telemetry"),
    ("v1_error_query_empty", "Telemetry"),
    ("v1_error_unauthorized", "Telemetry"),
    ("v1_timeseries_data", "Telemetry"),
];

#[test]
fn every_server_fixture_decodes_into_its_shape_and_encodes_back_to_equal_json() {
    let all = fixtures("server");
    assert_eq!(
        all.len(),
        SERVER_SHAPES.len(),
        "every server fixture needs an expected shape in SERVER_SHAPES"
    );
    for (name, text) in all {
        let expected = SERVER_SHAPES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no expected shape for fixture {name}"))
            .1;
        let msg = ServerMessage::from_json(&text)
            .unwrap_or_else(|e| panic!("fixture {name} failed to decode: {e}"));
        assert_eq!(shape_of(&msg), expected, "fixture {name}");
        let encoded = msg.to_json().expect("encodes");
        assert_json_equivalent(&name, &text, &encoded);
        // Decoding what we encoded gives the same value again.
        let again = ServerMessage::from_json(&encoded).expect("re-decodes");
        assert_eq!(again, msg, "fixture {name} changed on a second round trip");
    }
}

#[test]
fn the_serde_deserialize_impl_agrees_with_the_fast_decoder() {
    for (name, text) in fixtures("server") {
        let fast = ServerMessage::from_json(&text).expect("fast decode");
        let generic: ServerMessage = serde_json::from_str(&text).expect("generic decode");
        assert_eq!(fast, generic, "fixture {name}");
    }
}

#[test]
fn entity_data_initial_page_exposes_typed_latest_values() {
    let ServerMessage::EntityData(update) =
        ServerMessage::from_json(&fixture("server", "entity_data_initial_page.json"))
            .expect("decodes")
    else {
        panic!("expected ENTITY_DATA");
    };
    let page = update.data.expect("first message carries data");
    assert!(update.update.is_none());
    assert_eq!(page.total_elements, 12);
    assert!(page.has_next);
    let first: &EntityData = &page.data[0];
    assert_eq!(first.entity_id.entity_type, EntityType::Device);
    let temp = first
        .latest_value(&EntityKeyType::TimeSeries, "temperature")
        .expect("temperature present");
    assert_eq!(temp.as_f64(), Some(21.5));
    let humidity = first
        .latest_value(&EntityKeyType::TimeSeries, "humidity")
        .expect("humidity present");
    assert!(
        humidity.is_empty_marker(),
        "a requested key without value is ts 0, value \"\""
    );
    let active = first
        .latest_value(&EntityKeyType::ServerAttribute, "active")
        .and_then(|v| v.value.as_ref())
        .and_then(tb_monitor::protocol::TbValue::as_bool);
    assert_eq!(active, Some(true));
}

#[test]
fn aggregated_points_keep_their_count_and_agg_latest_is_keyed_by_id() {
    let ServerMessage::EntityData(u) =
        ServerMessage::from_json(&fixture("server", "entity_data_update_agg_latest.json"))
            .expect("decodes")
    else {
        panic!("expected ENTITY_DATA");
    };
    let row = &u.update.expect("update")[0];
    let agg = row.agg_latest.as_ref().expect("aggLatest");
    let one = &agg[&1];
    assert_eq!(one.current.as_ref().and_then(|v| v.count), Some(1440));
    assert_eq!(
        one.previous
            .as_ref()
            .and_then(tb_monitor::protocol::TsValue::as_f64),
        Some(1498.7)
    );
    assert!(agg[&2].previous.is_none());
    assert!(agg[&3].current.as_ref().expect("current").is_empty_marker());
}

#[test]
fn a_missing_value_decodes_as_none_and_is_omitted_again_when_encoding() {
    let text = fixture("server", "entity_data_missing_value_cassandra.json");
    let ServerMessage::EntityData(u) = ServerMessage::from_json(&text).expect("decodes") else {
        panic!("expected ENTITY_DATA");
    };
    let row = &u.data.expect("data").data[0];
    let p = row
        .latest_value(&EntityKeyType::TimeSeries, "pressure")
        .expect("pressure");
    assert_eq!(p.value, None);
    let encoded = serde_json::to_string(p).expect("encodes");
    assert_eq!(encoded, r#"{"ts":1700000000000}"#);
}

#[test]
fn v1_data_keeps_deletion_markers_and_null_values() {
    let ServerMessage::Telemetry(u) =
        ServerMessage::from_json(&fixture("server", "v1_deleted_and_missing_keys.json"))
            .expect("decodes")
    else {
        panic!("expected v1 shape");
    };
    let data = u.data.expect("data");
    assert!(data["oldKey"][0].is_deleted());
    assert_eq!(data["neverWritten"][0].value(), None);
    assert!(!data["neverWritten"][0].is_deleted());
}

#[test]
fn alarm_rows_decode_every_field() {
    let ServerMessage::AlarmData(u) =
        ServerMessage::from_json(&fixture("server", "alarm_data_page.json")).expect("decodes")
    else {
        panic!("expected ALARM_DATA");
    };
    assert_eq!(u.total_entities, 57);
    let page = u.data.expect("data");
    let a = &page.data[0];
    assert_eq!(a.severity, AlarmSeverity::Critical);
    assert_eq!(a.effective_status(), AlarmStatus::ActiveUnack);
    assert!(
        a.customer_id
            .as_ref()
            .is_some_and(tb_monitor::protocol::EntityId::is_null)
    );
    assert_eq!(
        a.propagate_relation_types.as_deref(),
        Some(&["Contains".to_owned()][..])
    );
    let b = &page.data[1];
    assert_eq!(b.effective_status(), AlarmStatus::ActiveAck);
    assert_eq!(b.originator_display(), "Back door");
    assert_eq!(
        b.assignee.as_ref().and_then(|x| x.first_name.as_deref()),
        Some("Ada")
    );
}

#[test]
fn notifications_distinguish_the_three_update_variants() {
    let variant =
        |name: &str| match ServerMessage::from_json(&fixture("server", name)).expect("decodes") {
            ServerMessage::Notifications(n) => n.variant(),
            other => panic!("{name}: expected NOTIFICATIONS, got {}", other.shape()),
        };
    assert_eq!(
        variant("notifications_full.json"),
        NotificationsUpdateVariant::Full
    );
    assert_eq!(
        variant("notifications_partial.json"),
        NotificationsUpdateVariant::Partial
    );
    assert_eq!(
        variant("notifications_count_only.json"),
        NotificationsUpdateVariant::CountOnly
    );
}

#[test]
fn alarm_notification_info_is_typed_and_keeps_its_other_fields() {
    let ServerMessage::Notifications(n) =
        ServerMessage::from_json(&fixture("server", "notifications_full.json")).expect("decodes")
    else {
        panic!("expected NOTIFICATIONS");
    };
    let list = n.notifications.expect("full list");
    let info = list[0].info.as_ref().expect("info");
    assert_eq!(info.kind, NotificationInfoKind::Alarm);
    assert!(info.is_alarm());
    assert_eq!(info.alarm_severity, Some(AlarmSeverity::Critical));
    assert_eq!(
        info.alarm_id.map(|u| u.to_string()).as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000001")
    );
    assert!(
        info.other.contains_key("stateEntityId"),
        "computed getters are kept"
    );
    assert!(list[0].is_unread());
    assert!(list[1].info.is_none());
}

#[test]
fn unknown_enum_names_decode_into_unknown_variants_and_encode_back_unchanged() {
    let text = fixture("server", "unknown_enum_values.json");
    let ServerMessage::EntityData(u) = ServerMessage::from_json(&text).expect("decodes") else {
        panic!("expected ENTITY_DATA");
    };
    let row = &u.update.as_ref().expect("update")[0];
    assert_eq!(
        row.entity_id.entity_type,
        EntityType::Unknown("DIGITAL_TWIN".to_owned())
    );
    assert!(!row.entity_id.entity_type.is_known());
    let latest = row.latest.as_ref().expect("latest");
    assert!(latest.contains_key(&EntityKeyType::Unknown("FUTURE_KEY_TYPE".to_owned())));

    let text = fixture("server", "notifications_unknown_type_and_info.json");
    let ServerMessage::Notifications(n) = ServerMessage::from_json(&text).expect("decodes") else {
        panic!("expected NOTIFICATIONS");
    };
    let note: &Notification = n.update.as_ref().expect("update");
    assert_eq!(
        note.notification_type,
        NotificationType::Unknown("AI_INSIGHT".to_owned())
    );
    let info = note.info.as_ref().expect("info");
    assert!(!info.kind.is_known());
    assert_eq!(info.other.get("tags"), Some(&serde_json::json!(["energy"])));
}

#[test]
fn an_unknown_cmd_update_type_is_kept_verbatim() {
    let text = fixture("server", "unknown_cmd_update_type.json");
    let ServerMessage::Unknown(u) = ServerMessage::from_json(&text).expect("decodes") else {
        panic!("expected Unknown");
    };
    assert_eq!(u.cmd_update_type(), "CALCULATED_FIELD_STATE");
    assert_eq!(u.cmd_id(), Some(15));
}

#[test]
fn error_shapes_report_their_code_and_message() {
    let err = |name: &str| {
        let msg = ServerMessage::from_json(&fixture("server", name)).expect("decodes");
        let (code, text) = msg.error().expect("is an error");
        (msg.cmd_id(), code, text.to_owned())
    };
    assert_eq!(
        err("v1_error_query_empty.json"),
        (Some(7), 2, "Query is empty!".to_owned())
    );
    assert_eq!(
        err("v1_error_parse_failure.json"),
        (Some(1), 2, "Failed to parse the payload".to_owned())
    );
    assert_eq!(err("v1_error_unauthorized.json").1, 3);
    assert_eq!(err("v1_error_internal.json").1, 1);
    assert_eq!(
        err("too_many_updates.json"),
        (Some(2), 34, "Too many updates!".to_owned())
    );
    assert_eq!(err("entity_data_error_result_set.json").1, 1);
    let ok = ServerMessage::from_json(&fixture("server", "entity_count.json")).expect("decodes");
    assert!(ok.error().is_none());
}

#[test]
fn too_many_updates_is_told_apart_from_a_v1_error_with_the_same_code() {
    let hand_built = ServerMessage::from_json(
        r#"{"subscriptionId":2, "errorCode":34, "errorMsg":"Too many updates!"}"#,
    )
    .expect("decodes");
    assert!(matches!(hand_built, ServerMessage::TooManyUpdates(_)));
    let v1 = ServerMessage::from_json(
        r#"{"subscriptionId":2,"errorCode":34,"errorMsg":"x","data":null,"latestValues":{}}"#,
    )
    .expect("decodes");
    assert!(matches!(v1, ServerMessage::Telemetry(_)));
}

#[test]
fn a_nested_cmd_update_type_key_does_not_confuse_the_decoder() {
    // The top-level type comes first here and a nested object repeats the key later.
    let text = r#"{"cmdUpdateType":"ALARM_DATA","cmdId":6,"data":null,"update":[{"entityId":null,"latest":null,"id":{"entityType":"ALARM","id":"a1b2c3d4-0000-4000-8000-000000000001"},"type":"T","originator":{"entityType":"DEVICE","id":"784f394c-42b6-435a-983c-b7beff2784f9"},"severity":"MAJOR","details":{"cmdUpdateType":"COUNT_DATA"}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"totalEntities":1}"#;
    let msg = ServerMessage::from_json(text).expect("decodes");
    assert!(
        matches!(msg, ServerMessage::AlarmData(_)),
        "got {}",
        msg.shape()
    );

    // A v1 telemetry key may be called cmdUpdateType too.
    let text = r#"{"subscriptionId":3,"errorCode":0,"errorMsg":null,"data":{"cmdUpdateType":[[1700000000000,"COUNT_DATA"]]},"latestValues":{"cmdUpdateType":1700000000000}}"#;
    let msg = ServerMessage::from_json(text).expect("decodes");
    assert!(
        matches!(msg, ServerMessage::Telemetry(_)),
        "got {}",
        msg.shape()
    );
}

#[test]
fn an_escaped_top_level_key_is_still_recognised() {
    let text =
        r#"{"cmdId":21,"count":3,"errorCode":0,"errorMsg":null,"cmd\u0055pdateType":"COUNT_DATA"}"#;
    let msg = ServerMessage::from_json(text).expect("decodes");
    assert!(
        matches!(msg, ServerMessage::EntityCount(ref c) if c.count == 3),
        "got {msg:?}"
    );
}

#[test]
fn client_fixtures_decode_and_encode_back_to_equal_json() {
    for (name, text) in fixtures("client") {
        let msg: ClientMessage =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("client fixture {name}: {e}"));
        let encoded = msg.to_json().expect("encodes");
        assert_json_equivalent(&name, &text, &encoded);
        let again: ClientMessage = serde_json::from_str(&encoded).expect("re-decodes");
        assert_eq!(again, msg, "client fixture {name}");
    }
}

#[test]
fn every_command_type_appears_in_the_client_fixtures() {
    let mut seen = std::collections::BTreeSet::new();
    for (_, text) in fixtures("client") {
        let msg: ClientMessage = serde_json::from_str(&text).expect("decodes");
        seen.extend(msg.cmds.iter().map(WsCmd::type_name));
    }
    let all = [
        "ATTRIBUTES",
        "TIMESERIES",
        "TIMESERIES_HISTORY",
        "ENTITY_DATA",
        "ENTITY_COUNT",
        "ALARM_DATA",
        "ALARM_COUNT",
        "ALARM_STATUS",
        "NOTIFICATIONS",
        "NOTIFICATIONS_COUNT",
        "MARK_NOTIFICATIONS_AS_READ",
        "MARK_ALL_NOTIFICATIONS_AS_READ",
        "ALARM_DATA_UNSUBSCRIBE",
        "ALARM_COUNT_UNSUBSCRIBE",
        "ENTITY_DATA_UNSUBSCRIBE",
        "ENTITY_COUNT_UNSUBSCRIBE",
        "NOTIFICATIONS_UNSUBSCRIBE",
        "ALARM_STATUS_UNSUBSCRIBE",
    ];
    for t in all {
        assert!(seen.contains(t), "no client fixture uses {t}");
    }
}

#[test]
fn every_entity_filter_type_appears_in_the_client_fixtures() {
    let mut seen = std::collections::BTreeSet::new();
    for (_, text) in fixtures("client") {
        let msg: ClientMessage = serde_json::from_str(&text).expect("decodes");
        for cmd in &msg.cmds {
            let filter = match cmd {
                WsCmd::EntityCount(c) => c.query.as_ref().map(|q| &q.entity_filter),
                WsCmd::EntityData(c) => c.query.as_ref().map(|q| &q.entity_filter),
                WsCmd::AlarmData(c) => c.query.as_ref().map(|q| &q.entity_filter),
                _ => None,
            };
            seen.extend(filter.map(tb_monitor::protocol::EntityFilter::type_name));
        }
    }
    for t in [
        "singleEntity",
        "entityList",
        "entityName",
        "entityType",
        "assetType",
        "deviceType",
        "edgeType",
        "entityViewType",
        "apiUsageState",
        "relationsQuery",
        "assetSearchQuery",
        "deviceSearchQuery",
        "entityViewSearchQuery",
        "edgeSearchQuery",
    ] {
        assert!(seen.contains(t), "no client fixture uses filter {t}");
    }
}

#[test]
fn an_unknown_command_type_is_refused() {
    let err = serde_json::from_str::<ClientMessage>(r#"{"cmds":[{"type":"AUTH","cmdId":1}]}"#);
    assert!(err.is_err());
    let err = serde_json::from_str::<ClientMessage>(r#"{"cmds":[{"cmdId":1}]}"#);
    assert!(err.is_err(), "a command without type is refused");
}

#[test]
fn legacy_wrappers_decode_and_encode_back_to_equal_json() {
    let text = fixture("legacy", "telemetry_plugin_all_lists.json");
    let msg: LegacyTelemetryMessage = serde_json::from_str(&text).expect("decodes");
    assert_eq!(msg.attr_sub_cmds.len(), 1);
    assert_eq!(msg.alarm_count_unsubscribe_cmds[0].cmd_id, 11);
    assert_json_equivalent(
        "telemetry plugin",
        &text,
        &serde_json::to_string(&msg).expect("encodes"),
    );

    let text = fixture("legacy", "notifications_plugin.json");
    let msg: LegacyNotificationsMessage = serde_json::from_str(&text).expect("decodes");
    assert_eq!(msg.unread_sub_cmd.as_ref().map(|c| c.limit), Some(10));
    assert_json_equivalent(
        "notifications plugin",
        &text,
        &serde_json::to_string(&msg).expect("encodes"),
    );
}

fn rest_roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) -> T {
    let text = fixture("rest", name);
    let value: T =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("rest fixture {name}: {e}"));
    assert_json_equivalent(
        name,
        &text,
        &serde_json::to_string(&value).expect("encodes"),
    );
    value
}

#[test]
fn rest_bodies_decode_and_encode_back_to_equal_json() {
    let login: LoginRequest = rest_roundtrip("login_request.json");
    assert_eq!(login.username, "tenant@thingsboard.org");
    let pair: LoginResponse = rest_roundtrip("login_response.json");
    assert!(pair.refresh_token.is_some() && !pair.needs_second_factor());
    let pre: LoginResponse = rest_roundtrip("login_response_pre_verification.json");
    assert!(pre.needs_second_factor() && pre.refresh_token.is_none());
    let mfa: LoginResponse = rest_roundtrip("login_response_mfa_configuration.json");
    assert!(mfa.needs_mfa_configuration());
    let _: RefreshTokenRequest = rest_roundtrip("refresh_token_request.json");
    let providers: Vec<TwoFaProviderInfo> = rest_roundtrip("two_fa_providers.json");
    assert_eq!(providers[0].provider_type, TwoFaProviderType::Totp);
    assert!(providers[0].default);
    assert_eq!(providers[3].provider_type, TwoFaProviderType::BackupCode);
    let user: User = rest_roundtrip("user_tenant_admin.json");
    assert_eq!(user.display_name(), "Ada Field");
    let alarm: AlarmInfo = rest_roundtrip("alarm_info.json");
    assert!(alarm.entity_id.is_none() && alarm.acknowledged);
    let page: PageData<Notification> = rest_roundtrip("notification_page.json");
    assert_eq!(page.total_elements, 41);
    assert!(!page.data[0].is_unread());
    let entities: PageData<EntityData> = rest_roundtrip("entities_query_page.json");
    assert_eq!(entities.data.len(), 1);
}

#[test]
fn rest_errors_decode_with_their_error_code() {
    let code = |name: &str| {
        let e: RestError = rest_roundtrip(name);
        (e.status, e.error_code)
    };
    assert_eq!(
        code("error_bad_credentials.json"),
        (401, ThingsboardErrorCode::Authentication)
    );
    assert_eq!(
        code("error_token_expired.json"),
        (401, ThingsboardErrorCode::JwtTokenExpired)
    );
    assert_eq!(
        code("error_already_acknowledged.json"),
        (400, ThingsboardErrorCode::BadRequestParams)
    );
    assert_eq!(
        code("error_not_found.json"),
        (404, ThingsboardErrorCode::ItemNotFound)
    );
    assert_eq!(
        code("error_unknown_code.json"),
        (418, ThingsboardErrorCode::Unknown(77))
    );
    let expired: RestError = rest_roundtrip("error_credentials_expired.json");
    assert_eq!(expired.reset_token.as_deref(), Some("Xy12ResetToken"));
    assert!(
        RestError::from_json(&fixture("rest", "error_token_expired.json"))
            .expect("decodes")
            .is_token_expired()
    );
    let html = RestError::from_json("<html><body>502 Bad Gateway</body></html>");
    assert!(html.is_err(), "a proxy page is not a ThingsBoard error");
}

#[test]
fn an_info_field_of_another_shape_stays_in_other_instead_of_failing_the_notification() {
    let text = r#"{"cmdId":9,"errorCode":0,"errorMsg":null,"notifications":null,"update":{"type":"GENERAL","id":{"entityType":"NOTIFICATION","id":"c0000000-0000-4000-8000-000000000009"},"info":{"type":"org.example.FutureInfo","alarmId":{"entityType":"ALARM","id":"a1b2c3d4-0000-4000-8000-000000000001"},"action":{"kind":"object"}},"createdTime":1700000000000},"totalUnreadCount":1,"sequenceNumber":1,"cmdUpdateType":"NOTIFICATIONS"}"#;
    let ServerMessage::Notifications(n) = ServerMessage::from_json(text).expect("decodes") else {
        panic!("expected NOTIFICATIONS");
    };
    let info = n
        .update
        .as_ref()
        .and_then(|u| u.info.as_ref())
        .expect("info");
    assert!(info.alarm_id.is_none());
    assert!(info.other.contains_key("alarmId") && info.other.contains_key("action"));
    let encoded = ServerMessage::Notifications(n.clone())
        .to_json()
        .expect("encodes");
    common::assert_json_equivalent("lenient info", text, &encoded);
}

#[test]
fn error_scope_tells_a_failed_frame_from_a_failed_subscription() {
    use tb_monitor::protocol::ErrorScope;
    let scope = |name: &str| {
        ServerMessage::from_json(&fixture("server", name))
            .expect("decodes")
            .error_scope()
    };
    assert_eq!(
        scope("v1_error_parse_failure.json"),
        Some(ErrorScope::WholeFrame)
    );
    assert_eq!(
        scope("v1_error_query_empty.json"),
        Some(ErrorScope::Subscription(7))
    );
    assert_eq!(
        scope("entity_data_error_result_set.json"),
        Some(ErrorScope::Subscription(5))
    );
    assert_eq!(scope("entity_count.json"), None);
    let limited = ServerMessage::from_json(
        r#"{"subscriptionId":812,"errorCode":2,"errorMsg":"Exceeded rate limit for WS subscriptions per tenant","data":null,"latestValues":{}}"#,
    )
    .expect("decodes");
    assert_eq!(
        limited.error_scope(),
        Some(ErrorScope::SubscriptionRateLimit)
    );
}

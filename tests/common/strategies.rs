//! Strategies for server messages, shared by the property tests (`protocol_proptest.rs`:
//! round trips; `hostile_inputs.rs`: hostile values into the decoder and the store).
//!
//! The including test file defines a `knobs` module next to this one with what differs:
//! `i64s()` (every integer field), `uuids()` (entity ids: any, or a few so that messages about
//! the same entity meet in the store) and `text()` (keys and strings).
#![allow(dead_code)]

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use tb_monitor::protocol::{
    AlarmAssignee, AlarmCountDataKind, AlarmCountUpdate, AlarmData, AlarmDataKind, AlarmDataUpdate,
    AlarmSeverity, AlarmStatus, AlarmStatusKind, AlarmStatusUpdate, ComparisonTsValue,
    CountDataKind, EntityCountUpdate, EntityData, EntityDataKind, EntityDataUpdate, EntityId,
    EntityKeyType, EntityType, Notification, NotificationDeliveryMethod, NotificationInfo,
    NotificationInfoKind, NotificationStatus, NotificationType, NotificationsCountKind,
    NotificationsKind, PageData, ServerMessage, TbValue, TelemetrySubscriptionUpdate,
    TooManyUpdates, TsPoint, TsValue, UnknownUpdate, UnreadNotificationsCountUpdate,
    UnreadNotificationsUpdate,
};
use uuid::Uuid;

use super::knobs;

/// Picks a known variant or an unknown name that no known variant uses.
pub fn wire_enum<T: Clone + std::fmt::Debug + 'static>(
    known: &'static [T],
    unknown: fn(String) -> T,
) -> impl Strategy<Value = T> {
    prop_oneof![
        4 => proptest::sample::select(known),
        1 => "[A-Z]{3,8}_X[A-Z_]{0,6}".prop_map(unknown),
    ]
}

pub fn entity_type() -> impl Strategy<Value = EntityType> {
    wire_enum(EntityType::KNOWN, EntityType::Unknown)
}

pub fn entity_id() -> impl Strategy<Value = EntityId> {
    (entity_type(), knobs::uuids()).prop_map(|(t, u)| EntityId::new(t, Uuid::from_u128(u)))
}

pub fn tb_value() -> impl Strategy<Value = TbValue> {
    prop_oneof![
        knobs::text().prop_map(TbValue::new),
        any::<f64>().prop_map(TbValue::from_f64),
        knobs::i64s().prop_map(TbValue::from_i64),
        any::<bool>().prop_map(TbValue::from_bool),
    ]
}

pub fn ts_value() -> impl Strategy<Value = TsValue> {
    (
        knobs::i64s(),
        option::of(tb_value()),
        option::of(knobs::i64s()),
    )
        .prop_map(|(ts, value, count)| TsValue { ts, value, count })
}

pub fn key_type() -> impl Strategy<Value = EntityKeyType> {
    wire_enum(EntityKeyType::KNOWN, EntityKeyType::Unknown)
}

pub fn latest() -> BoxedStrategy<BTreeMap<EntityKeyType, BTreeMap<String, TsValue>>> {
    btree_map(key_type(), btree_map(knobs::text(), ts_value(), 0..3), 0..3).boxed()
}

pub fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        knobs::i64s().prop_map(serde_json::Value::from),
        knobs::text().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

pub fn entity_data() -> BoxedStrategy<EntityData> {
    (
        entity_id(),
        option::of(latest()),
        option::of(btree_map(knobs::text(), vec(ts_value(), 0..4), 0..3)),
        option::of(btree_map(
            any::<i32>(),
            (option::of(ts_value()), option::of(ts_value()))
                .prop_map(|(current, previous)| ComparisonTsValue { current, previous }),
            0..3,
        )),
    )
        .prop_map(|(entity_id, latest, timeseries, agg_latest)| EntityData {
            entity_id,
            latest,
            timeseries,
            agg_latest,
        })
        .boxed()
}

pub fn page<T: std::fmt::Debug>(
    item: impl Strategy<Value = T>,
) -> impl Strategy<Value = PageData<T>> {
    (vec(item, 0..4), any::<i32>(), knobs::i64s(), any::<bool>()).prop_map(
        |(data, total_pages, total_elements, has_next)| PageData {
            data,
            total_pages,
            total_elements,
            has_next,
        },
    )
}

pub fn error_msg() -> impl Strategy<Value = Option<String>> {
    option::of(knobs::text())
}

pub fn entity_data_update() -> BoxedStrategy<EntityDataUpdate> {
    (
        any::<i32>(),
        option::of(page(entity_data())),
        option::of(vec(entity_data(), 0..3)),
        any::<i32>(),
        error_msg(),
        any::<i32>(),
    )
        .prop_map(
            |(cmd_id, data, update, error_code, error_msg, allowed_entities)| EntityDataUpdate {
                cmd_id,
                data,
                update,
                error_code,
                error_msg,
                allowed_entities,
                kind: EntityDataKind,
            },
        )
        .boxed()
}

pub fn alarm() -> BoxedStrategy<AlarmData> {
    let ids = (
        option::of(entity_id()),
        option::of(latest()),
        entity_id(),
        option::of(entity_id()),
        option::of(entity_id()),
        entity_id(),
        option::of(entity_id()),
    );
    let fields = (
        knobs::text(),
        wire_enum(AlarmSeverity::KNOWN, AlarmSeverity::Unknown),
        any::<(bool, bool, bool, bool, bool)>(),
        any::<(i64, i64, i64, i64, i64, i64)>(),
        option::of(json_value().prop_filter("null is the same as absent", |v| !v.is_null())),
        option::of(vec(knobs::text(), 0..3)),
    );
    let names = (
        option::of(knobs::text()),
        option::of(knobs::text()),
        option::of(knobs::text()),
        option::of(
            (
                entity_id(),
                option::of(knobs::text()),
                option::of(knobs::text()),
                option::of(knobs::text()),
            )
                .prop_map(|(id, first_name, last_name, email)| AlarmAssignee {
                    id,
                    first_name,
                    last_name,
                    email,
                }),
        ),
        option::of(knobs::text()),
        option::of(wire_enum(AlarmStatus::KNOWN, AlarmStatus::Unknown)),
    );
    (ids, fields, names)
        .prop_map(
            |(
                (entity_id, latest, id, tenant_id, customer_id, originator, assignee_id),
                (
                    alarm_type,
                    severity,
                    (acknowledged, cleared, propagate, to_owner, to_tenant),
                    ts,
                    details,
                    rel,
                ),
                (
                    originator_name,
                    originator_label,
                    originator_display_name,
                    assignee,
                    name,
                    status,
                ),
            )| AlarmData {
                entity_id,
                latest,
                id,
                created_time: ts.0,
                tenant_id,
                customer_id,
                alarm_type,
                originator,
                severity,
                acknowledged,
                cleared,
                assignee_id,
                start_ts: ts.1,
                end_ts: ts.2,
                ack_ts: ts.3,
                clear_ts: ts.4,
                assign_ts: ts.5,
                details,
                propagate,
                propagate_to_owner: to_owner,
                propagate_to_tenant: to_tenant,
                propagate_relation_types: rel,
                originator_name,
                originator_label,
                originator_display_name,
                assignee,
                name,
                status,
            },
        )
        .boxed()
}

pub fn alarm_data_update() -> BoxedStrategy<AlarmDataUpdate> {
    (
        any::<i32>(),
        option::of(page(alarm())),
        option::of(vec(alarm(), 0..3)),
        any::<i32>(),
        error_msg(),
        knobs::i64s(),
        knobs::i64s(),
    )
        .prop_map(
            |(cmd_id, data, update, error_code, error_msg, allowed_entities, total_entities)| {
                AlarmDataUpdate {
                    cmd_id,
                    data,
                    update,
                    error_code,
                    error_msg,
                    allowed_entities,
                    total_entities,
                    kind: AlarmDataKind,
                }
            },
        )
        .boxed()
}

pub fn notification_info() -> BoxedStrategy<NotificationInfo> {
    (
        wire_enum(NotificationInfoKind::KNOWN, NotificationInfoKind::Unknown),
        (
            option::of(knobs::text()),
            option::of(knobs::text()),
            option::of(any::<u128>().prop_map(Uuid::from_u128)),
        ),
        (
            option::of(entity_id()),
            option::of(knobs::text()),
            option::of(knobs::text()),
        ),
        (
            option::of(wire_enum(AlarmSeverity::KNOWN, AlarmSeverity::Unknown)),
            option::of(wire_enum(AlarmStatus::KNOWN, AlarmStatus::Unknown)),
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            option::of(entity_id()),
        ),
        // Extra fields never collide with the typed ones (those start with a lower-case letter
        // from a fixed set); a null extra counts as absent, so none are generated.
        btree_map(
            "x[A-Za-z]{1,8}",
            json_value().prop_filter("null is the same as absent", |v| !v.is_null()),
            0..3,
        ),
    )
        .prop_map(
            |(
                kind,
                (alarm_type, action, alarm_id),
                (orig, orig_name, orig_label),
                (sev, status, ack, clr, cust),
                other,
            )| {
                NotificationInfo {
                    kind,
                    alarm_type,
                    action,
                    alarm_id,
                    alarm_originator: orig,
                    alarm_originator_name: orig_name,
                    alarm_originator_label: orig_label,
                    alarm_severity: sev,
                    alarm_status: status,
                    acknowledged: ack,
                    cleared: clr,
                    alarm_customer_id: cust,
                    other: other.into_iter().collect(),
                }
            },
        )
        .boxed()
}

pub fn notification() -> BoxedStrategy<Notification> {
    (
        (option::of(entity_id()), option::of(entity_id())),
        wire_enum(NotificationType::KNOWN, NotificationType::Unknown),
        option::of(wire_enum(
            NotificationDeliveryMethod::KNOWN,
            NotificationDeliveryMethod::Unknown,
        )),
        (option::of(knobs::text()), option::of(knobs::text())),
        option::of(json_value().prop_filter("null is the same as absent", |v| !v.is_null())),
        option::of(notification_info().prop_map(Box::new)),
        option::of(wire_enum(
            NotificationStatus::KNOWN,
            NotificationStatus::Unknown,
        )),
        entity_id(),
        knobs::i64s(),
    )
        .prop_map(
            |(
                (request_id, recipient_id),
                notification_type,
                delivery_method,
                (subject, text),
                additional_config,
                info,
                status,
                id,
                created_time,
            )| {
                Notification {
                    request_id,
                    recipient_id,
                    notification_type,
                    delivery_method,
                    subject,
                    text,
                    additional_config,
                    info,
                    status,
                    id,
                    created_time,
                }
            },
        )
        .boxed()
}

pub fn telemetry() -> BoxedStrategy<TelemetrySubscriptionUpdate> {
    (
        any::<i32>(),
        any::<i32>(),
        error_msg(),
        option::of(btree_map(
            knobs::text(),
            vec(
                (knobs::i64s(), option::of(tb_value())).prop_map(|(t, v)| TsPoint(t, v)),
                0..4,
            ),
            0..3,
        )),
        option::of(btree_map(knobs::text(), knobs::i64s(), 0..3)),
    )
        .prop_map(
            |(subscription_id, error_code, error_msg, data, latest_values)| {
                let mut m = TelemetrySubscriptionUpdate {
                    subscription_id,
                    error_code,
                    error_msg,
                    data,
                    latest_values,
                };
                // With code 34 and neither map, the message *is* the rate-limit message.
                if m.error_code == 34 && m.data.is_none() && m.latest_values.is_none() {
                    m.latest_values = Some(BTreeMap::new());
                }
                m
            },
        )
        .boxed()
}

pub fn unknown_update() -> BoxedStrategy<UnknownUpdate> {
    (
        "[A-Z]{4,10}_FUTURE",
        btree_map("[a-z]{1,8}", json_value(), 0..4),
    )
        .prop_map(|(kind, fields)| {
            let mut raw: serde_json::Map<String, serde_json::Value> = fields.into_iter().collect();
            raw.insert("cmdUpdateType".to_owned(), serde_json::Value::String(kind));
            UnknownUpdate { raw }
        })
        .boxed()
}

pub fn server_message() -> BoxedStrategy<ServerMessage> {
    prop_oneof![
        telemetry().prop_map(ServerMessage::Telemetry),
        (any::<i32>(), error_msg()).prop_map(|(subscription_id, error_msg)| {
            ServerMessage::TooManyUpdates(TooManyUpdates {
                subscription_id,
                error_code: 34,
                error_msg,
            })
        }),
        entity_data_update().prop_map(ServerMessage::EntityData),
        alarm_data_update().prop_map(ServerMessage::AlarmData),
        (any::<i32>(), knobs::i64s(), any::<i32>(), error_msg()).prop_map(
            |(cmd_id, count, error_code, error_msg)| {
                ServerMessage::EntityCount(EntityCountUpdate {
                    cmd_id,
                    count,
                    error_code,
                    error_msg,
                    kind: CountDataKind,
                })
            }
        ),
        (any::<i32>(), knobs::i64s(), any::<i32>(), error_msg()).prop_map(
            |(cmd_id, count, error_code, error_msg)| {
                ServerMessage::AlarmCount(AlarmCountUpdate {
                    cmd_id,
                    count,
                    error_code,
                    error_msg,
                    kind: AlarmCountDataKind,
                })
            }
        ),
        (any::<i32>(), any::<i32>(), error_msg(), any::<bool>()).prop_map(
            |(cmd_id, error_code, error_msg, active)| {
                ServerMessage::AlarmStatus(AlarmStatusUpdate {
                    cmd_id,
                    error_code,
                    error_msg,
                    active,
                    kind: AlarmStatusKind,
                })
            }
        ),
        (
            any::<i32>(),
            any::<i32>(),
            error_msg(),
            option::of(vec(notification(), 0..3)),
            option::of(notification().prop_map(Box::new)),
            knobs::i64s(),
            knobs::i64s(),
        )
            .prop_map(
                |(
                    cmd_id,
                    error_code,
                    error_msg,
                    notifications,
                    update,
                    total_unread_count,
                    sequence_number,
                )| {
                    ServerMessage::Notifications(UnreadNotificationsUpdate {
                        cmd_id,
                        error_code,
                        error_msg,
                        notifications,
                        update,
                        total_unread_count,
                        sequence_number,
                        kind: NotificationsKind,
                    })
                }
            ),
        (
            any::<i32>(),
            any::<i32>(),
            error_msg(),
            knobs::i64s(),
            knobs::i64s()
        )
            .prop_map(
                |(cmd_id, error_code, error_msg, total_unread_count, sequence_number)| {
                    ServerMessage::NotificationsCount(UnreadNotificationsCountUpdate {
                        cmd_id,
                        error_code,
                        error_msg,
                        total_unread_count,
                        sequence_number,
                        kind: NotificationsCountKind,
                    })
                }
            ),
        unknown_update().prop_map(ServerMessage::Unknown),
    ]
    .boxed()
}

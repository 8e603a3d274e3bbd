//! Demo server behaviour that had no wire-level test yet, driven over real sockets and checked
//! against the protocol reference: the legacy notifications endpoint (§2.1, §4.7), aggregate
//! sub-commands and dynamic refreshes of `ENTITY_DATA` (§4.1), unsubscribing (§4.8), key
//! filters, text search and sorting (§6), the entity query REST endpoints (§12), the auth
//! timeout and the tenant session limit (§1.2, §9, §10), and the `DemoControl` handle (the
//! fault and secrets hooks included: `close_sessions`, `latest`, `set_password`,
//! `issued_token_signatures`, `Stats::refresh_failures`).

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::wire::{
    CUSTOMER, DEADLINE, TENANT, Ws, all_devices, assert_silent, authed_session, close_at, close_of,
    connect, device_count_cmd, entity_count_cmd, entity_data_cmd, fast_refresh_config, general,
    get_json, latest_ts_text, legacy_ws_url, live_session, name_of, next_entity_count,
    next_entity_page, next_notification_msgs, next_text, next_update_rows, now_ms, post_json,
    quiet_config, quiet_config_with, send, single_device, start, start_as_tenant, token_of,
};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tb_monitor::demo::world::Scope;
use tb_monitor::demo::{DemoControl, DemoServer, DeviceInfo};
use tb_monitor::protocol::{
    ComparisonTsValue, EntityData, EntityId, EntityKeyType, NotificationsUpdateVariant as Variant,
    PageData, ServerMessage, TsValue,
};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// A window in which a message that was going to come would have come.
const QUIET: Duration = Duration::from_millis(300);

/// The next frame as raw JSON and decoded (to check fields the decoder normalises).
async fn next_json(ws: &mut Ws) -> (Value, ServerMessage) {
    let text = next_text(ws).await;
    let raw: Value = serde_json::from_str(&text).expect("JSON");
    let msg = ServerMessage::from_json(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (raw, msg)
}

/// An `EntityDataQuery` over `entity_filter` with `name` as entity field.
fn named_query(entity_filter: &Value, page_link: &Value) -> Value {
    json!({
        "entityFilter": entity_filter,
        "pageLink": page_link,
        "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}],
        "latestValues": []
    })
}

/// An `EntityDataQuery` over every device with `name` as entity field.
fn devices_query(key_filters: &Value, page_link: &Value) -> Value {
    let mut query = named_query(&all_devices(), page_link);
    query["keyFilters"] = key_filters.clone();
    query
}

/// An `ENTITY_DATA` command over `entity_filter` subscribed to the latest time series `key`,
/// without entity fields.
fn latest_ts_cmd(cmd_id: i32, entity_filter: &Value, key: &str) -> Value {
    let latest = json!([{"type": "TIME_SERIES", "key": key}]);
    let query = json!({
        "entityFilter": entity_filter,
        "pageLink": first_page(),
        "entityFields": [],
        "latestValues": latest
    });
    let mut cmd = entity_data_cmd(cmd_id, &query);
    cmd["latestCmd"] = json!({"keys": latest});
    cmd
}

/// Sends an `unsubscribe_type` of `cmd_id` and, in the same frame, a device count with
/// `sync_id`, and waits for the count: once it is here, the unsubscribe has been handled.
async fn unsubscribe_then_sync(ws: &mut Ws, unsubscribe_type: &str, cmd_id: i32, sync_id: i32) {
    let unsubscribe = json!({"type": unsubscribe_type, "cmdId": cmd_id});
    send(
        ws,
        &json!({"cmds": [unsubscribe, device_count_cmd(sync_id)]}),
    )
    .await;
    next_entity_count(ws, sync_id).await;
}

fn first_page() -> Value {
    json!({"pageSize": 100, "page": 0})
}

fn numeric_filter(key_type: &str, key: &str, predicate: &Value) -> Value {
    json!({"key": {"type": key_type, "key": key}, "valueType": "NUMERIC", "predicate": predicate})
}

fn numeric(operation: &str, value: f64) -> Value {
    json!({"type": "NUMERIC", "operation": operation, "value": {"defaultValue": value, "userValue": null, "dynamicValue": null}})
}

fn string_filter(
    key_type: &str,
    key: &str,
    operation: &str,
    value: &str,
    ignore_case: bool,
) -> Value {
    json!({
        "key": {"type": key_type, "key": key},
        "valueType": "STRING",
        "predicate": {"type": "STRING", "operation": operation, "value": {"defaultValue": value}, "ignoreCase": ignore_case}
    })
}

fn name_filter(operation: &str, value: &str, ignore_case: bool) -> Value {
    string_filter("ENTITY_FIELD", "name", operation, value, ignore_case)
}

/// A server attribute equal to `value`, case counting.
fn server_attribute_is(key: &str, value: &str) -> Value {
    string_filter("SERVER_ATTRIBUTE", key, "EQUAL", value, false)
}

fn uuids(rows: &[EntityData]) -> BTreeSet<Uuid> {
    rows.iter().map(|r| r.entity_id.id).collect()
}

fn uuids_of<'a>(devices: impl IntoIterator<Item = &'a DeviceInfo>) -> BTreeSet<Uuid> {
    devices.into_iter().map(|d| d.id.id).collect()
}

fn value_text(v: &TsValue) -> &str {
    v.value.as_ref().map_or("", |v| v.as_str())
}

/// Pushes `probe` = `values[i]` to device `i` (devices in creation order) and returns them.
fn push_probes(control: &DemoControl, values: &[f64]) -> Vec<(DeviceInfo, f64)> {
    control
        .devices()
        .into_iter()
        .zip(values.iter().copied())
        .map(|(d, v)| {
            control.push_telemetry(&d.id, "probe", v.to_string());
            (d, v)
        })
        .collect()
}

// ----- 1. notifications -----------------------------------------------------------------------

#[tokio::test]
async fn the_legacy_notifications_endpoint_subscribes_delivers_marks_read_and_marks_all_read() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let unread = control.unread_notifications(TENANT.0);
    assert!(unread > 0, "the seed leaves unread notifications");
    let mut ws = connect(&legacy_ws_url(&server, "notifications", &token)).await;
    send(
        &mut ws,
        &json!({"unreadCountSubCmd": {"cmdId": 1}, "unreadSubCmd": {"cmdId": 2, "limit": 5}}),
    )
    .await;
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    let (list, count) = (&lists[0], &counts[0]);
    assert_eq!(
        (
            count.cmd_id,
            count.total_unread_count,
            count.sequence_number
        ),
        (1, unread, 1)
    );
    assert_eq!(
        (list.cmd_id, list.total_unread_count, list.sequence_number),
        (2, unread, 1)
    );
    assert_eq!(list.variant(), Variant::Full);
    let shown = list.notifications.as_ref().expect("list");
    assert_eq!(
        shown.len(),
        usize::try_from(unread.min(5)).expect("len"),
        "at most `limit`"
    );
    assert!(
        shown
            .iter()
            .all(tb_monitor::protocol::Notification::is_unread)
    );
    assert!(
        shown
            .windows(2)
            .all(|w| w[0].created_time >= w[1].created_time),
        "newest first"
    );

    // A new notification: the list gets it as a partial update, the count goes up.
    let id = control
        .send_notification(TENANT.0, &general("Legacy endpoint"))
        .expect("a known user");
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    let partial = &lists[0];
    assert_eq!(partial.variant(), Variant::Partial);
    assert_eq!(
        (
            partial.cmd_id,
            partial.total_unread_count,
            partial.sequence_number
        ),
        (2, unread + 1, 2)
    );
    let new = partial.update.as_ref().expect("update");
    assert_eq!(new.id.id, id);
    assert_eq!(new.subject.as_deref(), Some("Legacy endpoint"));
    assert_eq!(
        (
            counts[0].cmd_id,
            counts[0].total_unread_count,
            counts[0].sequence_number
        ),
        (1, unread + 1, 2)
    );

    // markAsReadCmd on the shown notification: the full list again, the count back down.
    send(
        &mut ws,
        &json!({"markAsReadCmd": {"cmdId": 3, "notifications": [id]}}),
    )
    .await;
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    assert_eq!(lists[0].variant(), Variant::Full);
    assert_eq!(lists[0].total_unread_count, unread);
    assert!(
        lists[0]
            .notifications
            .as_ref()
            .expect("list")
            .iter()
            .all(|n| n.id.id != id)
    );
    assert_eq!(counts[0].total_unread_count, unread);

    // markAllAsReadCmd: an empty full list and a zero count.
    send(&mut ws, &json!({"markAllAsReadCmd": {"cmdId": 4}})).await;
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    assert_eq!(lists[0].variant(), Variant::Full);
    assert_eq!(lists[0].notifications.as_deref().map(<[_]>::len), Some(0));
    assert_eq!(
        (lists[0].total_unread_count, lists[0].sequence_number),
        (0, 4)
    );
    assert_eq!(
        (counts[0].total_unread_count, counts[0].sequence_number),
        (0, 4)
    );
    assert_eq!(control.unread_notifications(TENANT.0), 0);
}

#[tokio::test]
async fn the_legacy_notifications_unsub_cmd_stops_the_list_subscription_and_keeps_the_count() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let unread = control.unread_notifications(TENANT.0);
    let mut ws = connect(&legacy_ws_url(&server, "notifications", &token)).await;
    send(
        &mut ws,
        &json!({"unreadCountSubCmd": {"cmdId": 1}, "unreadSubCmd": {"cmdId": 2, "limit": 10}}),
    )
    .await;
    next_notification_msgs(&mut ws, 2).await;
    // One frame: the new count subscription answers, and the unsubscribe runs in the same
    // frame, so once the answer is here no later event can reach subscription 2.
    send(
        &mut ws,
        &json!({"unreadCountSubCmd": {"cmdId": 5}, "unsubCmd": {"cmdId": 2}}),
    )
    .await;
    let (lists, counts) = next_notification_msgs(&mut ws, 1).await;
    assert!(lists.is_empty());
    assert_eq!(
        (counts[0].cmd_id, counts[0].total_unread_count),
        (5, unread)
    );

    control.send_notification(TENANT.0, &general("After unsubscribe"));
    let (lists, counts) = next_notification_msgs(&mut ws, 2).await;
    assert!(lists.is_empty(), "the list subscription is gone: {lists:?}");
    let mut ids: Vec<i32> = counts.iter().map(|c| c.cmd_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 5]);
    assert!(counts.iter().all(|c| c.total_unread_count == unread + 1));
    assert_silent(&mut ws, QUIET).await;
}

#[tokio::test]
async fn notifications_unsubscribe_on_api_ws_stops_the_updates_of_that_subscription() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let unread = control.unread_notifications(TENANT.0);
    let subs = [
        json!({"type": "NOTIFICATIONS", "cmdId": 1_000_001, "limit": 10}),
        json!({"type": "NOTIFICATIONS_COUNT", "cmdId": 1_000_002}),
    ];
    let mut ws = authed_session(&server, &token, &subs).await;
    next_notification_msgs(&mut ws, 2).await;

    // Unsubscribe the list; the count query after it in the same frame is the sync point.
    unsubscribe_then_sync(&mut ws, "NOTIFICATIONS_UNSUBSCRIBE", 1_000_001, 7).await;
    control.send_notification(TENANT.0, &general("Only the count"));
    let (lists, counts) = next_notification_msgs(&mut ws, 1).await;
    assert!(lists.is_empty());
    assert_eq!(
        (counts[0].cmd_id, counts[0].total_unread_count),
        (1_000_002, unread + 1)
    );
    assert_silent(&mut ws, QUIET).await;

    // Unsubscribing the count too: nothing at all arrives.
    unsubscribe_then_sync(&mut ws, "NOTIFICATIONS_UNSUBSCRIBE", 1_000_002, 8).await;
    control.send_notification(TENANT.0, &general("Nobody listens"));
    assert_silent(&mut ws, QUIET).await;
    assert_eq!(control.unread_notifications(TENANT.0), unread + 2);
}

// ----- 2. aggregate sub-commands --------------------------------------------------------------

#[tokio::test]
async fn agg_history_cmd_puts_one_aggregate_per_key_and_the_previous_range_in_agg_latest() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let devices = control.devices();
    let (with_data, without) = (&devices[0], &devices[1]);
    let now = now_ms();
    let (start_ts, end_ts) = (now - 3_600_000, now - 1_800_000);
    let (prev_start, prev_end) = (start_ts - 1_800_000, start_ts);
    for (i, v) in [10, 20, 30].into_iter().enumerate() {
        let at = start_ts + 1000 * (i64::try_from(i).expect("i") + 1);
        control.push_point(&with_data.id, "probe", at, v.to_string());
    }
    control.push_point(&with_data.id, "probe", prev_start + 1000, "5");
    control.push_point(&with_data.id, "probe", prev_start + 2000, "7");

    let both = json!({"type": "entityList", "entityType": "DEVICE", "entityList": [with_data.id.id, without.id.id]});
    let mut cmd = entity_data_cmd(1, &named_query(&both, &first_page()));
    cmd["aggHistoryCmd"] = json!({
        "keys": [
            {"id": 1, "key": "probe", "agg": "AVG"},
            {"id": 2, "key": "probe", "agg": "MAX", "previousStartTs": prev_start, "previousEndTs": prev_end},
            {"id": 3, "key": "probe", "agg": "SUM"},
            {"id": 4, "key": "probe", "agg": "COUNT"}
        ],
        "startTs": start_ts,
        "endTs": end_ts
    });
    let mut ws = authed_session(&server, &token, &[cmd]).await;
    let (raw, msg) = next_json(&mut ws).await;
    let ServerMessage::EntityData(u) = msg else {
        panic!("expected ENTITY_DATA, got {raw}")
    };
    assert_eq!((u.cmd_id, u.error_code), (1, 0));
    let page = u.data.expect("the first message carries data");
    assert_eq!(uuids(&page.data), uuids_of([with_data, without]));

    let mid = start_ts + (end_ts - start_ts) / 2;
    let prev_mid = prev_start + (prev_end - prev_start) / 2;
    let agg = |ts: i64, value: &str, count: i64| TsValue {
        ts,
        value: Some(value.into()),
        count: Some(count),
    };
    let row = |id: &EntityId| {
        page.data
            .iter()
            .find(|r| r.entity_id == *id)
            .and_then(|r| r.agg_latest.clone())
            .expect("aggLatest")
    };
    let got = row(&with_data.id);
    assert_eq!(
        got.get(&1),
        Some(&ComparisonTsValue {
            current: Some(agg(mid, "20.0", 3)),
            previous: None
        })
    );
    assert_eq!(
        got.get(&2),
        Some(&ComparisonTsValue {
            current: Some(agg(mid, "30", 3)),
            previous: Some(agg(prev_mid, "7", 2))
        })
    );
    assert_eq!(got[&3].current, Some(agg(mid, "60", 3)));
    assert_eq!(got[&4].current, Some(agg(mid, "3", 3)));
    // Without data: {"ts":0,"value":""}, except SUM and COUNT: "0" at the midpoint (§5).
    let empty = row(&without.id);
    assert_eq!(empty[&1].current, Some(TsValue::new(0, "")));
    assert_eq!(
        empty[&2],
        ComparisonTsValue {
            current: Some(TsValue::new(0, "")),
            previous: Some(TsValue::new(0, ""))
        }
    );
    assert_eq!(empty[&3].current, Some(TsValue::new(mid, "0")));
    assert_eq!(empty[&4].current, Some(TsValue::new(mid, "0")));
    // On the wire: aggLatest keyed by the decimal id, `previous` written as null.
    let raw_row = raw["data"]["data"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["entityId"]["id"] == with_data.id.id.to_string())
        .expect("row");
    assert_eq!(raw_row["aggLatest"]["1"]["previous"], Value::Null);
    assert!(
        raw_row["aggLatest"]["1"]
            .as_object()
            .expect("object")
            .contains_key("previous")
    );
    assert_eq!(raw_row["aggLatest"]["2"]["previous"]["value"], "7");
    // A history command does not subscribe.
    control.push_telemetry(&with_data.id, "probe", "99");
    assert_silent(&mut ws, QUIET).await;
}

#[tokio::test]
async fn agg_ts_cmd_answers_with_aggregates_then_sends_live_points_as_raw_latest_time_series_values()
 {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let dev = control.devices()[2].clone();
    let now = now_ms();
    let (start_ts, window) = (now - 600_000, 600_000);
    control.push_point(&dev.id, "probe", start_ts + 1000, "4");
    control.push_point(&dev.id, "probe", start_ts + 2000, "8");

    let mut cmd = entity_data_cmd(3, &named_query(&single_device(&dev), &first_page()));
    cmd["aggTsCmd"] = json!({
        "keys": [{"id": 7, "key": "probe", "agg": "AVG"}, {"id": 8, "key": "probe", "agg": "MIN"}],
        "startTs": start_ts,
        "timeWindow": window
    });
    let mut ws = authed_session(&server, &token, &[cmd]).await;
    let page = next_entity_page(&mut ws, 3).await;
    assert_eq!(page.data.len(), 1);
    let agg = page.data[0].agg_latest.as_ref().expect("aggLatest");
    let mid = start_ts + window / 2;
    let expect = |v: &str| {
        Some(TsValue {
            ts: mid,
            value: Some(v.into()),
            count: Some(2),
        })
    };
    assert_eq!(
        agg.get(&7),
        Some(&ComparisonTsValue {
            current: expect("6.0"),
            previous: None
        })
    );
    assert_eq!(agg[&8].current, expect("4"));

    // Live points arrive raw, under latest.TIME_SERIES, for the client to re-aggregate.
    let live = control.push_telemetry(&dev.id, "probe", "12.5");
    let rows = next_update_rows(&mut ws, 3).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entity_id, dev.id);
    assert!(rows[0].timeseries.is_none() && rows[0].agg_latest.is_none());
    assert_eq!(
        rows[0].latest_value(&EntityKeyType::TimeSeries, "probe"),
        Some(&TsValue::new(live.ts, "12.5"))
    );
    assert_eq!(
        rows[0].latest.as_ref().expect("latest").len(),
        1,
        "only TIME_SERIES"
    );
    // Other keys of the device are not subscribed.
    control.push_telemetry(&dev.id, "unrelated", "1");
    assert_silent(&mut ws, QUIET).await;
}

// ----- 3. dynamic refresh ---------------------------------------------------------------------

#[tokio::test]
async fn a_dynamic_query_sends_a_full_data_page_when_a_refresh_finds_a_different_entity_set() {
    let (server, control, token) = start_as_tenant(fast_refresh_config()).await;
    let zone_north = json!([server_attribute_is("zone", "north")]);
    let query = |dynamic: bool| {
        let mut q = devices_query(
            &zone_north,
            &json!({"pageSize": 100, "page": 0, "dynamic": dynamic}),
        );
        q["latestValues"] = json!([{"type": "SERVER_ATTRIBUTE", "key": "zone"}]);
        q
    };
    let latest = json!({"keys": [{"type": "TIME_SERIES", "key": "temperature"}]});
    let mut dynamic = entity_data_cmd(1, &query(true));
    dynamic["latestCmd"] = latest.clone();
    let mut fixed = entity_data_cmd(2, &query(false));
    fixed["latestCmd"] = latest;
    let mut ws = authed_session(&server, &token, &[dynamic, fixed]).await;
    for cmd_id in [1, 2] {
        let page = next_entity_page(&mut ws, cmd_id).await;
        assert_eq!((page.total_elements, page.data.len()), (0, 0));
    }
    // Refreshes that find the same (empty) set send nothing.
    assert_silent(&mut ws, QUIET).await;

    let devices = control.devices();
    let (first, second) = (&devices[3], &devices[4]);
    control.set_attribute(&first.id, Scope::Server, "zone", "north");
    let (raw, msg) = next_json(&mut ws).await;
    let ServerMessage::EntityData(u) = msg else {
        panic!("expected ENTITY_DATA, got {raw}")
    };
    assert_eq!(u.cmd_id, 1, "only the dynamic query is re-run: {raw}");
    assert_eq!(raw["update"], Value::Null);
    let page = u.data.expect("a full data page");
    assert_eq!(page.total_elements, 1);
    assert_eq!(uuids(&page.data), uuids_of([first]));
    let row = &page.data[0];
    assert_eq!(
        row.latest_value(&EntityKeyType::ServerAttribute, "zone")
            .map(value_text),
        Some("north"),
        "fresh latest values"
    );
    assert_eq!(row.timeseries, Some(BTreeMap::new()));
    assert_eq!(row.agg_latest, Some(BTreeMap::new()));
    assert_eq!(raw["data"]["data"][0]["timeseries"], json!({}));
    assert_eq!(raw["data"]["data"][0]["aggLatest"], json!({}));
    assert_silent(&mut ws, QUIET).await;

    // The new entity's latest keys are subscribed.
    control.push_telemetry(&first.id, "temperature", "19.25");
    let rows = next_update_rows(&mut ws, 1).await;
    assert_eq!(rows[0].entity_id, first.id);
    assert_eq!(latest_ts_text(&rows[0], "temperature"), Some("19.25"));

    // Another device joins: the whole page again, both entities.
    control.set_attribute(&second.id, Scope::Server, "zone", "north");
    let page = next_entity_page(&mut ws, 1).await;
    assert_eq!(page.total_elements, 2);
    assert_eq!(uuids(&page.data), uuids_of([first, second]));
    assert_silent(&mut ws, QUIET).await;
}

#[tokio::test]
async fn a_dynamic_refresh_sends_nothing_when_only_the_order_of_the_same_entities_changes() {
    let (server, control, token) = start_as_tenant(fast_refresh_config()).await;
    let devices = control.devices();
    let (a, b) = (&devices[6], &devices[7]);
    control.set_attribute(&a.id, Scope::Server, "rank", "1");
    control.set_attribute(&b.id, Scope::Server, "rank", "2");
    let ranked = json!([numeric_filter(
        "SERVER_ATTRIBUTE",
        "rank",
        &numeric("GREATER", 0.0)
    )]);
    let link = json!({
        "pageSize": 100,
        "page": 0,
        "dynamic": true,
        "sortOrder": {"key": {"type": "SERVER_ATTRIBUTE", "key": "rank"}, "direction": "ASC"}
    });
    let mut ws = authed_session(
        &server,
        &token,
        &[entity_data_cmd(1, &devices_query(&ranked, &link))],
    )
    .await;
    let page = next_entity_page(&mut ws, 1).await;
    let order: Vec<EntityId> = page.data.iter().map(|r| r.entity_id.clone()).collect();
    assert_eq!(order, [a.id.clone(), b.id.clone()]);
    // Same set, other order: §4.1 sends a page only when the set of entity ids changes.
    control.set_attribute(&a.id, Scope::Server, "rank", "3");
    assert_silent(&mut ws, Duration::from_millis(500)).await;
}

// ----- 4. unsubscribe -------------------------------------------------------------------------

#[tokio::test]
async fn entity_data_unsubscribe_stops_the_updates_of_that_cmd_id() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let dev = control.devices()[0].clone();
    let cmd = latest_ts_cmd(4, &single_device(&dev), "probe");
    let mut ws = authed_session(&server, &token, &[cmd]).await;
    next_entity_page(&mut ws, 4).await;
    control.push_telemetry(&dev.id, "probe", "1.5");
    let rows = next_update_rows(&mut ws, 4).await;
    assert_eq!(latest_ts_text(&rows[0], "probe"), Some("1.5"));

    unsubscribe_then_sync(&mut ws, "ENTITY_DATA_UNSUBSCRIBE", 4, 5).await;
    control.push_telemetry(&dev.id, "probe", "2.5");
    assert_silent(&mut ws, QUIET).await;
}

// ----- 5. key filters, text search, sort -------------------------------------------------------

/// Runs `query` as `ENTITY_DATA` (cmdId 1) and `ENTITY_COUNT` (cmdId 2) on a new session.
async fn ws_find_and_count(
    server: &DemoServer,
    token: &str,
    query: &Value,
) -> (PageData<EntityData>, i64) {
    let mut ws = authed_session(
        server,
        token,
        &[entity_data_cmd(1, query), entity_count_cmd(2, query)],
    )
    .await;
    let page = next_entity_page(&mut ws, 1).await;
    let count = next_entity_count(&mut ws, 2).await;
    (page, count)
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).expect("len")
}

#[tokio::test]
async fn a_numeric_greater_key_filter_on_a_time_series_key_returns_exactly_the_devices_above_it() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let pushed = push_probes(&control, &[1.0, 7.5, 5.0, 12.0, -3.0, 5.01, 40.0, 0.0]);
    let expected: BTreeSet<Uuid> = pushed
        .iter()
        .filter(|(_, v)| *v > 5.0)
        .map(|(d, _)| d.id.id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < pushed.len());
    let filters = json!([numeric_filter(
        "TIME_SERIES",
        "probe",
        &numeric("GREATER", 5.0)
    )]);
    let (page, count) =
        ws_find_and_count(&server, &token, &devices_query(&filters, &first_page())).await;
    assert_eq!(
        uuids(&page.data),
        expected,
        "devices without probe never match"
    );
    assert_eq!(page.total_elements, len_i64(expected.len()));
    assert_eq!(count, len_i64(expected.len()));
}

#[tokio::test]
async fn string_starts_with_and_contains_with_ignore_case_match_names_regardless_of_case() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let devices = control.devices();
    // The name of some device, in the wrong case.
    let sample = &devices[devices.len() / 2].name;
    let prefix: String = sample.chars().take(sample.len() - 1).collect::<String>();
    let prefix = prefix.to_lowercase();
    let needle = sample.split(' ').next().expect("word").to_uppercase();
    let cases = [
        ("STARTS_WITH", prefix.clone(), true),
        ("CONTAINS", needle.clone(), true),
        ("STARTS_WITH", prefix, false),
        ("CONTAINS", needle, false),
    ];
    for (op, operand, ignore_case) in cases {
        let expected: BTreeSet<Uuid> = devices
            .iter()
            .filter(|d| {
                let (name, operand) = if ignore_case {
                    (d.name.to_lowercase(), operand.to_lowercase())
                } else {
                    (d.name.clone(), operand.clone())
                };
                if op == "STARTS_WITH" {
                    name.starts_with(&operand)
                } else {
                    name.contains(&operand)
                }
            })
            .map(|d| d.id.id)
            .collect();
        if ignore_case {
            assert!(
                !expected.is_empty() && expected.len() < devices.len(),
                "{op} {operand}: a selective case"
            );
        } else {
            assert!(expected.is_empty(), "{op} {operand}: the case matters");
        }
        let filters = json!([name_filter(op, &operand, ignore_case)]);
        let (page, count) =
            ws_find_and_count(&server, &token, &devices_query(&filters, &first_page())).await;
        assert_eq!(
            uuids(&page.data),
            expected,
            "{op} {operand:?} ignoreCase={ignore_case}"
        );
        assert_eq!(count, len_i64(expected.len()));
    }
}

#[tokio::test]
async fn a_complex_or_predicate_returns_the_devices_matching_either_member() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let scores = [0.5, 9.0, 4.0, 1.99, 8.0, 15.0, 2.0, 6.0];
    let devices = control.devices();
    for (d, s) in devices.iter().zip(scores) {
        control.set_attribute(&d.id, Scope::Server, "score", &s.to_string());
    }
    let expected: BTreeSet<Uuid> = devices
        .iter()
        .zip(scores)
        .filter(|(_, s)| *s < 2.0 || *s > 8.0)
        .map(|(d, _)| d.id.id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < scores.len());
    let complex = json!({"type": "COMPLEX", "operation": "OR", "predicates": [numeric("LESS", 2.0), numeric("GREATER", 8.0)]});
    let filters = json!([numeric_filter("SERVER_ATTRIBUTE", "score", &complex)]);
    let (page, count) =
        ws_find_and_count(&server, &token, &devices_query(&filters, &first_page())).await;
    assert_eq!(uuids(&page.data), expected);
    assert_eq!(count, len_i64(expected.len()));

    // keyFiltersOperation OR across two filters: either key filter.
    let thermostats: BTreeSet<Uuid> = devices
        .iter()
        .filter(|d| d.name.starts_with("Thermostat"))
        .map(|d| d.id.id)
        .collect();
    let mut query = devices_query(
        &json!([
            numeric_filter("SERVER_ATTRIBUTE", "score", &numeric("GREATER", 8.0)),
            name_filter("STARTS_WITH", "Thermostat", false)
        ]),
        &first_page(),
    );
    query["keyFiltersOperation"] = json!("OR");
    let high: BTreeSet<Uuid> = devices
        .iter()
        .zip(scores)
        .filter(|(_, s)| *s > 8.0)
        .map(|(d, _)| d.id.id)
        .collect();
    let either: BTreeSet<Uuid> = high.union(&thermostats).copied().collect();
    let (page, count) = ws_find_and_count(&server, &token, &query).await;
    assert_eq!(uuids(&page.data), either);
    assert_eq!(count, len_i64(either.len()));
}

#[tokio::test]
async fn text_search_and_a_descending_name_sort_over_ws_return_the_matching_names_in_reverse_order()
{
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let devices = control.devices();
    let search = "P-1";
    let mut expected: Vec<String> = devices
        .iter()
        .map(|d| d.name.clone())
        .filter(|n| n.to_lowercase().contains(&search.to_lowercase()))
        .collect();
    assert!(!expected.is_empty() && expected.len() < devices.len());
    expected.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    let link = json!({
        "pageSize": 100,
        "page": 0,
        "textSearch": search.to_lowercase(),
        "sortOrder": {"key": {"type": "ENTITY_FIELD", "key": "name"}, "direction": "DESC"}
    });
    let (page, count) = ws_find_and_count(&server, &token, &devices_query(&json!([]), &link)).await;
    let names: Vec<String> = page.data.iter().map(name_of).collect();
    assert_eq!(names, expected);
    assert_eq!(page.total_elements, len_i64(expected.len()));
    assert!(!page.has_next);
    assert_eq!(
        count,
        len_i64(devices.len()),
        "a count query has no text search"
    );

    // Paging over the same search: the second page of two continues the order.
    let mut link = link;
    link["pageSize"] = json!(2);
    link["page"] = json!(1);
    let (page, _) = ws_find_and_count(&server, &token, &devices_query(&json!([]), &link)).await;
    let names: Vec<String> = page.data.iter().map(name_of).collect();
    assert_eq!(
        names,
        expected.iter().skip(2).take(2).cloned().collect::<Vec<_>>()
    );
    assert_eq!(page.total_elements, len_i64(expected.len()));
    assert_eq!(page.has_next, expected.len() > 4);
}

// ----- 6. REST entity queries ------------------------------------------------------------------

#[tokio::test]
async fn rest_entities_query_find_count_and_find_keys_agree_with_the_ws_entity_count() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let base = server.base_url();
    let pushed = push_probes(&control, &[3.0, 11.0, 20.0, 2.0, 50.0, 9.5]);
    let matched: Vec<&DeviceInfo> = pushed
        .iter()
        .filter(|(_, v)| *v > 9.0)
        .map(|(d, _)| d)
        .collect();
    assert!(!matched.is_empty());
    let filters = json!([numeric_filter(
        "TIME_SERIES",
        "probe",
        &numeric("GREATER", 9.0)
    )]);
    let query = devices_query(&filters, &first_page());

    let (status, found) = post_json(
        &format!("{base}/api/entitiesQuery/find"),
        &query,
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let found: PageData<EntityData> = serde_json::from_value(found).expect("PageData");
    let (status, rest_count) = post_json(
        &format!("{base}/api/entitiesQuery/count"),
        &json!({"entityFilter": all_devices(), "keyFilters": filters}),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    let (ws_page, ws_count) = ws_find_and_count(&server, &token, &query).await;

    let expected = uuids_of(matched.iter().copied());
    assert_eq!(uuids(&found.data), expected);
    assert_eq!(uuids(&ws_page.data), expected);
    let n = len_i64(expected.len());
    assert_eq!(
        (found.total_elements, rest_count.as_i64(), ws_count),
        (n, Some(n), n)
    );

    // find/keys: the union of the matched devices' keys, per the query parameters.
    let mut ts_keys = BTreeSet::new();
    let mut server_attrs = BTreeSet::new();
    let mut client_attrs = BTreeSet::new();
    for d in &matched {
        let telemetry = format!("{base}/api/plugins/telemetry/DEVICE/{}", d.id.id);
        let (_, keys) = get_json(&format!("{telemetry}/keys/timeseries"), &token).await;
        ts_keys.extend(serde_json::from_value::<Vec<String>>(keys).expect("keys"));
        let (_, keys) =
            get_json(&format!("{telemetry}/keys/attributes/SERVER_SCOPE"), &token).await;
        server_attrs.extend(serde_json::from_value::<Vec<String>>(keys).expect("keys"));
        let (_, keys) =
            get_json(&format!("{telemetry}/keys/attributes/CLIENT_SCOPE"), &token).await;
        client_attrs.extend(serde_json::from_value::<Vec<String>>(keys).expect("keys"));
    }
    assert!(ts_keys.contains("probe"));
    let keys_url = |params: &str| format!("{base}/api/entitiesQuery/find/keys?{params}");
    let (status, keys) = post_json(
        &keys_url("timeseries=true&attributes=true&scope=SERVER_SCOPE"),
        &query,
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(
        keys,
        json!({"timeseries": ts_keys, "attribute": server_attrs})
    );
    let (_, keys) = post_json(
        &keys_url("timeseries=false&attributes=true&scope=CLIENT_SCOPE"),
        &query,
        Some(&token),
    )
    .await;
    assert_eq!(keys, json!({"timeseries": [], "attribute": client_attrs}));
    let (_, keys) = post_json(
        &keys_url("timeseries=true&attributes=false"),
        &query,
        Some(&token),
    )
    .await;
    assert_eq!(keys, json!({"timeseries": ts_keys, "attribute": []}));
}

// ----- 7. auth timeout, tenant session limit -------------------------------------------------

#[tokio::test]
async fn a_socket_that_never_sends_auth_cmd_is_closed_with_1008_after_the_auth_timeout() {
    let (server, _control) = start(quiet_config_with(|l| {
        l.auth_timeout = Duration::from_millis(200);
    }))
    .await;
    assert_eq!(close_at(&server.ws_url()).await, (1008, String::new()));

    // A session that authenticates in time outlives the timeout.
    let token = token_of(&server, TENANT).await;
    let mut ws = authed_session(&server, &token, &[]).await;
    assert_silent(&mut ws, Duration::from_millis(400)).await;
    send(&mut ws, &json!({"cmds": [device_count_cmd(1)]})).await;
    next_entity_count(&mut ws, 1).await;
}

#[tokio::test]
async fn a_session_past_the_tenant_session_limit_is_closed_with_1008_max_tenant_sessions() {
    let (server, _control, token) =
        start_as_tenant(quiet_config_with(|l| l.max_sessions_per_tenant = Some(1))).await;
    let count_cmd = device_count_cmd(1);
    let mut first = live_session(&server, &token).await;

    let mut second = authed_session(&server, &token, std::slice::from_ref(&count_cmd)).await;
    let limit = (1008, "Max tenant sessions limit reached!".to_owned());
    assert_eq!(close_of(&mut second).await, limit);
    // Customer users count against the tenant too; so do legacy `?token=` sessions.
    let customer = token_of(&server, CUSTOMER).await;
    let mut third = authed_session(&server, &customer, &[count_cmd]).await;
    assert_eq!(close_of(&mut third).await, limit);
    assert_eq!(
        close_at(&legacy_ws_url(&server, "telemetry", &token)).await,
        limit
    );

    // Once the first session is closed (its close answered, which the server does only after
    // counting the session out), a new one is admitted.
    tokio::time::timeout(DEADLINE, first.close(None))
        .await
        .expect("closed in time")
        .expect("close");
    assert_eq!(close_of(&mut first).await.0, 0);
    live_session(&server, &token).await;
}

// ----- 8. DemoControl ---------------------------------------------------------------------------

#[tokio::test]
async fn send_raw_frame_reaches_an_authenticated_session_verbatim() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let mut ws = live_session(&server, &token).await;
    let frames = [
        r#"{"cmdId":1,  "cmdUpdateType" : "FUTURE_TYPE", "x":[1,2]}"#,
        "{not json at all",
        "",
    ];
    for f in frames {
        control.send_raw_frame(f);
    }
    for f in frames {
        assert_eq!(next_text(&mut ws).await, f);
    }
    assert_silent(&mut ws, QUIET).await;
}

#[tokio::test]
async fn drop_connections_graceful_closes_every_session_with_1001() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let mut a = live_session(&server, &token).await;
    let mut b = live_session(&server, &token).await;
    control.drop_connections(true);
    assert_eq!(close_of(&mut a).await, (1001, String::new()));
    assert_eq!(close_of(&mut b).await, (1001, String::new()));
    // The server itself keeps serving.
    live_session(&server, &token).await;
}

/// How a socket ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// A close frame arrived, with its code (0 for a frame without payload).
    CloseFrame(u16),
    /// The stream ended or failed without a close frame.
    NoCloseFrame,
}

async fn ending_of(ws: &mut Ws) -> Ending {
    loop {
        match tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("the socket ends in time")
        {
            Some(Ok(Message::Close(frame))) => {
                return Ending::CloseFrame(frame.map_or(0, |f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Ending::NoCloseFrame,
        }
    }
}

#[tokio::test]
async fn drop_connections_not_graceful_ends_the_socket_without_a_close_frame() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let mut ws = live_session(&server, &token).await;
    control.drop_connections(false);
    assert_eq!(ending_of(&mut ws).await, Ending::NoCloseFrame);
    live_session(&server, &token).await;
}

#[tokio::test]
async fn set_limits_applies_a_new_refresh_interval_only_to_sessions_opened_afterwards() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let tagged = json!({
        "entityFilter": all_devices(),
        "keyFilters": [server_attribute_is("tag", "x")]
    });
    // Opened with the default 60 s refresh interval (its answer proves it is running).
    let mut before = authed_session(&server, &token, &[entity_count_cmd(1, &tagged)]).await;
    assert_eq!(next_entity_count(&mut before, 1).await, 0);
    control.set_limits(|l| l.refresh_interval = Duration::from_millis(100));
    let mut after = authed_session(&server, &token, &[entity_count_cmd(1, &tagged)]).await;
    assert_eq!(next_entity_count(&mut after, 1).await, 0);

    let dev = control.devices()[5].clone();
    control.set_attribute(&dev.id, Scope::Server, "tag", "x");
    assert_eq!(
        next_entity_count(&mut after, 1).await,
        1,
        "re-counted on the new interval"
    );
    assert_silent(&mut before, Duration::from_millis(500)).await;
}

#[tokio::test]
async fn set_limits_applies_a_tenant_session_limit_at_once_to_new_authentications_only() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let mut a = live_session(&server, &token).await;
    let mut b = live_session(&server, &token).await;
    control.set_limits(|l| l.max_sessions_per_tenant = Some(2));
    let mut c = authed_session(&server, &token, &[device_count_cmd(1)]).await;
    assert_eq!(
        close_of(&mut c).await,
        (1008, "Max tenant sessions limit reached!".to_owned())
    );
    // The sessions already open stay open and keep answering.
    for ws in [&mut a, &mut b] {
        send(ws, &json!({"cmds": [device_count_cmd(2)]})).await;
        next_entity_count(ws, 2).await;
    }
}

#[tokio::test]
async fn flood_sends_points_spread_over_the_devices_to_a_subscriber() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let devices = control.devices();
    let cmd = latest_ts_cmd(1, &all_devices(), "flood");
    let mut ws = authed_session(&server, &token, &[cmd]).await;
    let page = next_entity_page(&mut ws, 1).await;
    assert_eq!(page.data.len(), devices.len());

    let points = 3 * devices.len();
    let per_second = 200;
    let flood = control.flood(
        u32::try_from(per_second).expect("rate"),
        Duration::from_millis(u64::try_from(points * 1000 / per_second).expect("ms") + 50),
    );
    let mut seen = BTreeSet::new();
    let mut updates = 0;
    while seen.len() < devices.len() {
        for row in next_update_rows(&mut ws, 1).await {
            let v = row
                .latest_value(&EntityKeyType::TimeSeries, "flood")
                .and_then(TsValue::as_f64)
                .expect("a numeric flood value");
            assert!((0.0..100.0).contains(&v), "{v}");
            assert!(row.timeseries.is_none() && row.agg_latest.is_none());
            seen.insert(row.entity_id.id);
            updates += 1;
        }
    }
    assert_eq!(seen, uuids_of(&devices), "every device got points");
    assert!(updates >= devices.len());
    tokio::time::timeout(DEADLINE, flood)
        .await
        .expect("the flood ends after its duration")
        .expect("the flood task");
}

#[tokio::test]
async fn close_sessions_closes_every_session_with_that_code_and_the_reason_cut_to_123_bytes() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let mut a = live_session(&server, &token).await;
    let mut b = live_session(&server, &token).await;
    control.close_sessions(4500, "ping timeout");
    let expected = (4500, "ping timeout".to_owned());
    assert_eq!(close_of(&mut a).await, expected);
    assert_eq!(close_of(&mut b).await, expected);
    // Sessions opened afterwards are not affected; a long reason is cut like Tomcat's.
    let mut c = live_session(&server, &token).await;
    control.close_sessions(1012, &"r".repeat(200));
    assert_eq!(close_of(&mut c).await, (1012, "r".repeat(123)));
    live_session(&server, &token).await;
}

#[tokio::test]
async fn latest_is_the_newest_value_of_a_key_as_a_subscriber_gets_it() {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let dev = control.devices()[3].clone();
    assert_eq!(control.latest(&dev.id, "probe"), None);
    let t = now_ms() + 60_000;
    control.push_point(&dev.id, "probe", t, "2.5");
    // An older point is stored but does not become the latest.
    control.push_point(&dev.id, "probe", t - 1_000, "9.5");
    assert_eq!(
        control.latest(&dev.id, "probe"),
        Some((t, "2.5".to_owned()))
    );
    let cmd = latest_ts_cmd(1, &single_device(&dev), "probe");
    let mut ws = authed_session(&server, &token, &[cmd]).await;
    let page = next_entity_page(&mut ws, 1).await;
    let v = page.data[0]
        .latest_value(&EntityKeyType::TimeSeries, "probe")
        .expect("the latest probe");
    assert_eq!((v.ts, value_text(v)), (t, "2.5"));
    control.delete_telemetry(&dev.id, "probe");
    assert_eq!(control.latest(&dev.id, "probe"), None);
}

#[tokio::test]
async fn set_password_makes_logins_need_the_new_password() {
    let (server, control) = start(quiet_config()).await;
    let url = format!("{}/api/auth/login", server.base_url());
    let login = |password: &str| json!({"username": TENANT.0, "password": password});
    assert!(control.set_password(TENANT.0, "pw-CANARY-7f3a"));
    assert_eq!(post_json(&url, &login(TENANT.1), None).await.0, 401);
    let (status, body) = post_json(&url, &login("pw-CANARY-7f3a"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(!control.set_password("nobody@thingsboard.org", "x"));
}

#[tokio::test]
async fn issued_token_signatures_name_every_token_of_logins_and_refreshes() {
    let (server, control) = start(quiet_config()).await;
    let signature = |t: &str| t.rsplit('.').next().expect("a signature").to_owned();
    let (access, refresh) = common::wire::login(&server, TENANT.0, TENANT.1).await;
    let (status, body) = common::wire::refresh_with(&server, &refresh).await;
    assert_eq!(status, 200, "{body}");
    let tokens = [
        access,
        refresh,
        body["token"].as_str().expect("token").to_owned(),
        body["refreshToken"].as_str().expect("refresh").to_owned(),
    ];
    let issued = control.issued_token_signatures();
    assert_eq!(issued.len(), 4, "{issued:?}");
    for t in &tokens {
        assert!(issued.contains(&signature(t)), "{t} is listed");
        assert!(t.contains(&signature(t)));
    }
}

#[tokio::test]
async fn refresh_failures_count_every_refused_refresh_and_only_those() {
    let (server, control) = start(quiet_config()).await;
    let counts = || {
        let s = control.stats();
        (s.refreshes, s.refresh_failures)
    };
    let (_, refresh) = common::wire::login(&server, TENANT.0, TENANT.1).await;
    assert_eq!(
        common::wire::refresh_with(&server, "not-a-token").await.0,
        401
    );
    let (code, pair) = common::wire::refresh_with(&server, &refresh).await;
    assert_eq!(code, 200);
    assert_eq!(counts(), (1, 1));
    // Revoked, and an unreadable body.
    control.revoke_tokens();
    let newer = pair["refreshToken"].as_str().expect("refresh");
    assert_eq!(common::wire::refresh_with(&server, newer).await.0, 401);
    let (code, _) = post_json(
        &format!("{}/api/auth/token", server.base_url()),
        &json!({"nope": 1}),
        None,
    )
    .await;
    assert_eq!(code, 401);
    assert_eq!(counts(), (1, 3));
}

#[tokio::test]
async fn shutdown_closes_sessions_with_1001_and_the_port_stops_accepting() {
    let (server, _control, token) = start_as_tenant(quiet_config()).await;
    let addr = server.addr();
    let mut ws = live_session(&server, &token).await;
    let ((), closed) = tokio::join!(
        async {
            tokio::time::timeout(DEADLINE, server.shutdown())
                .await
                .expect("shutdown in time");
        },
        close_of(&mut ws)
    );
    assert_eq!(closed, (1001, String::new()));
    let refused = tokio::time::timeout(DEADLINE, tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect answers in time");
    assert!(refused.is_err(), "the port no longer accepts: {refused:?}");
}

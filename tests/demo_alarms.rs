//! Alarms on the wire: the alarm REST endpoints (§12) and the `ALARM_DATA`, `ALARM_COUNT` and
//! `ALARM_STATUS` subscriptions (§4.3–§4.5) of the demo server, driven over real sockets and
//! checked against the protocol reference.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::wire::{
    CUSTOMER, TENANT, Ws, alarm_info_url, alarm_url, alarms_url, all_devices, assert_silent,
    auth_user, authed_session, delete_json, error_of, fast_refresh_config, get_json, next_msg,
    post_empty, post_json, quiet_config, quiet_config_with, send, single_device, start_as_tenant,
    token_of, user_id_of,
};
use serde_json::{Value, json};
use tb_monitor::demo::{DemoControl, DemoServer, DeviceInfo};
use tb_monitor::protocol::{
    AlarmData, AlarmDataUpdate, AlarmSeverity, AlarmStatus, NULL_UUID, PageData, ServerMessage,
};
use uuid::Uuid;

/// Tenant-owned devices without seeded alarms (the seed raises its historic alarms on the
/// first device of each profile and on a customer device), in creation order.
fn quiet_devices(control: &DemoControl) -> Vec<DeviceInfo> {
    let devices = control.devices();
    let mut seen_profiles = Vec::new();
    devices
        .into_iter()
        .filter(|d| {
            let first_of_profile = !seen_profiles.contains(&d.profile);
            if first_of_profile {
                seen_profiles.push(d.profile.clone());
            }
            !first_of_profile && !d.customer_owned
        })
        .collect()
}

/// A device of the customer.
fn customer_device(control: &DemoControl) -> DeviceInfo {
    control
        .devices()
        .into_iter()
        .find(|d| d.customer_owned)
        .expect("a customer device")
}

/// An `ALARM_DATA` command, newest alarm first; `extra` is merged into the page link.
fn alarm_data_cmd(cmd_id: i32, entity_filter: &Value, extra: &Value) -> Value {
    let mut page_link = json!({
        "pageSize": 100,
        "page": 0,
        "sortOrder": {"key": {"type": "ALARM_FIELD", "key": "createdTime"}, "direction": "DESC"},
        "timeWindow": 0,
        "searchPropagatedAlarms": false
    });
    for (k, v) in extra.as_object().expect("an object") {
        page_link[k] = v.clone();
    }
    json!({
        "type": "ALARM_DATA",
        "cmdId": cmd_id,
        "query": {
            "entityFilter": entity_filter,
            "pageLink": page_link,
            "alarmFields": [
                {"type": "ALARM_FIELD", "key": "createdTime"},
                {"type": "ALARM_FIELD", "key": "originator"},
                {"type": "ALARM_FIELD", "key": "type"},
                {"type": "ALARM_FIELD", "key": "severity"},
                {"type": "ALARM_FIELD", "key": "status"}
            ],
            "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}],
            "latestValues": []
        }
    })
}

fn alarm_count_cmd(cmd_id: i32, entity_filter: &Value, status_list: &[&str]) -> Value {
    json!({
        "type": "ALARM_COUNT",
        "cmdId": cmd_id,
        "query": {"entityFilter": entity_filter, "statusList": status_list, "searchPropagatedAlarms": false}
    })
}

fn alarm_status_cmd(cmd_id: i32, dev: &DeviceInfo, type_list: Option<&[&str]>) -> Value {
    json!({
        "type": "ALARM_STATUS",
        "cmdId": cmd_id,
        "originatorId": {"entityType": "DEVICE", "id": dev.id.id.to_string()},
        "typeList": type_list,
        "severityList": null
    })
}

async fn next_alarm_data(ws: &mut Ws, cmd_id: i32) -> AlarmDataUpdate {
    match next_msg(ws).await {
        ServerMessage::AlarmData(u) if u.cmd_id == cmd_id => {
            assert_eq!((u.error_code, u.error_msg.as_deref()), (0, None));
            u
        }
        other => panic!("expected ALARM_DATA for cmdId {cmd_id}, got {other:?}"),
    }
}

async fn next_alarm_page(ws: &mut Ws, cmd_id: i32) -> PageData<AlarmData> {
    let u = next_alarm_data(ws, cmd_id).await;
    assert!(u.update.is_none(), "a data page, not an update: {u:?}");
    u.data.expect("a data page")
}

async fn next_count(ws: &mut Ws) -> (i32, i64) {
    match next_msg(ws).await {
        ServerMessage::AlarmCount(c) => {
            assert_eq!(c.error_code, 0);
            (c.cmd_id, c.count)
        }
        other => panic!("expected ALARM_COUNT_DATA, got {other:?}"),
    }
}

async fn next_status(ws: &mut Ws) -> (i32, bool) {
    match next_msg(ws).await {
        ServerMessage::AlarmStatus(s) => {
            assert_eq!(s.error_code, 0);
            (s.cmd_id, s.active)
        }
        other => panic!("expected ALARM_STATUS, got {other:?}"),
    }
}

fn ids(page: &PageData<AlarmData>) -> Vec<Uuid> {
    page.data.iter().map(|a| a.id.id).collect()
}

fn row_types(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|a| a["type"].as_str().expect("type"))
        .collect()
}

/// Starts a quiet server and logs the tenant in: the server, its control, the tenant's token
/// and its [`quiet_devices`].
async fn start_with_quiet_devices() -> (DemoServer, DemoControl, String, Vec<DeviceInfo>) {
    let (server, control, token) = start_as_tenant(quiet_config()).await;
    let quiet = quiet_devices(&control);
    (server, control, token, quiet)
}

/// Starts a quiet server, logs the tenant in and raises a `Door Open` alarm of `severity` on a
/// quiet device: the server, the tenant's token, the device and the alarm.
async fn door_open_alarm(severity: AlarmSeverity) -> (DemoServer, String, DeviceInfo, Uuid) {
    let (server, control, token, mut quiet) = start_with_quiet_devices().await;
    let dev = quiet.swap_remove(0);
    let id = control.raise_alarm(&dev.id, "Door Open", severity, false);
    (server, token, dev, id)
}

/// Every action on alarm `id` as the user of `token`, who assigns it to themself:
/// `(name, response)` for info, ack, clear, assign, unassign and delete, in that order.
async fn every_alarm_action(
    server: &DemoServer,
    id: Uuid,
    token: &str,
) -> Vec<(&'static str, (u16, Value))> {
    let me = user_id_of(token);
    vec![
        ("info", get_json(&alarm_info_url(server, id), token).await),
        (
            "ack",
            post_empty(&alarm_url(server, id, "/ack"), token).await,
        ),
        (
            "clear",
            post_empty(&alarm_url(server, id, "/clear"), token).await,
        ),
        (
            "assign",
            post_empty(&alarm_url(server, id, &format!("/assign/{me}")), token).await,
        ),
        (
            "unassign",
            delete_json(&alarm_url(server, id, "/assign"), token).await,
        ),
        (
            "delete",
            delete_json(&alarm_url(server, id, ""), token).await,
        ),
    ]
}

// ----- REST -----------------------------------------------------------------------------------

#[tokio::test]
async fn acknowledging_an_alarm_returns_its_info_and_a_second_ack_is_refused_with_code_31() {
    let (server, token, _, id) = door_open_alarm(AlarmSeverity::Major).await;

    let (status, info) = post_empty(&alarm_url(&server, id, "/ack"), &token).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(
        info["id"],
        json!({"entityType": "ALARM", "id": id.to_string()})
    );
    assert_eq!(info["acknowledged"], true);
    assert_eq!(info["cleared"], false);
    assert_eq!(info["status"], "ACTIVE_ACK");
    assert!(info["ackTs"].as_i64().expect("ackTs") > 0);
    assert_eq!(info["clearTs"], 0);
    assert!(
        info.get("entityId").is_none_or(Value::is_null)
            && info.get("latest").is_none_or(Value::is_null),
        "an AlarmInfo has no query row fields: {info}"
    );

    let again = post_empty(&alarm_url(&server, id, "/ack"), &token).await;
    assert_eq!(
        error_of(&again),
        (400, Some(31), Some("Alarm was already acknowledged!"))
    );
    assert_eq!(again.1["status"], 400);
}

#[tokio::test]
async fn clearing_an_alarm_returns_its_info_and_a_second_clear_is_refused_with_code_31() {
    let (server, token, _, id) = door_open_alarm(AlarmSeverity::Minor).await;

    let (status, info) = post_empty(&alarm_url(&server, id, "/clear"), &token).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["id"]["id"], id.to_string());
    assert_eq!(
        (&info["cleared"], &info["acknowledged"], &info["status"]),
        (&json!(true), &json!(false), &json!("CLEARED_UNACK"))
    );
    assert!(info["clearTs"].as_i64().expect("clearTs") > 0);

    let again = post_empty(&alarm_url(&server, id, "/clear"), &token).await;
    assert_eq!(
        error_of(&again),
        (400, Some(31), Some("Alarm was already cleared!"))
    );
    // A cleared alarm can still be acknowledged.
    let (status, info) = post_empty(&alarm_url(&server, id, "/ack"), &token).await;
    assert_eq!((status, &info["status"]), (200, &json!("CLEARED_ACK")));
}

#[tokio::test]
async fn actions_on_an_unknown_alarm_are_404_with_code_32_and_a_malformed_id_is_400() {
    let (server, _control, token) = start_as_tenant(quiet_config()).await;
    let unknown = Uuid::from_u128(0x0123_4567_89ab_4cde_8f01_2345_6789_abcd);
    let not_found = (404, Some(32), Some("Requested item wasn't found!"));
    for (what, result) in every_alarm_action(&server, unknown, &token).await {
        assert_eq!(error_of(&result), not_found, "{what} of an unknown alarm");
    }

    for (status, body) in [
        post_empty(&alarm_url(&server, "not-a-uuid", "/ack"), &token).await,
        post_empty(&alarm_url(&server, "not-a-uuid", "/clear"), &token).await,
        delete_json(&alarm_url(&server, "1234", ""), &token).await,
        get_json(&alarm_info_url(&server, "not-a-uuid"), &token).await,
    ] {
        assert_eq!(status, 400, "a malformed alarm id: {body}");
        assert_eq!(body["status"], 400);
    }
}

#[tokio::test]
async fn an_alarm_can_be_assigned_to_the_caller_and_unassigned() {
    let (server, token, _, id) = door_open_alarm(AlarmSeverity::Warning).await;
    let user_id = user_id_of(&token);
    let (_, me) = auth_user(&server, &token).await;
    assert_eq!(
        me["id"]["id"],
        user_id.to_string(),
        "the JWT names the user"
    );

    let (status, assigned) = post_empty(
        &alarm_url(&server, id, &format!("/assign/{user_id}")),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(
        assigned["assigneeId"],
        json!({"entityType": "USER", "id": user_id.to_string()})
    );
    assert_eq!(assigned["assignee"]["email"], TENANT.0);
    assert_eq!(assigned["assignee"]["id"]["id"], user_id.to_string());
    assert!(assigned["assignTs"].as_i64().expect("assignTs") > 0);

    let mine_url = alarms_url(
        &server,
        &format!("pageSize=100&page=0&assigneeId={user_id}&typeList=Door%20Open"),
    );
    let (_, mine) = get_json(&mine_url, &token).await;
    assert_eq!(
        row_types(&mine),
        ["Door Open"],
        "the assignee filter finds it"
    );

    let (status, unassigned) = delete_json(&alarm_url(&server, id, "/assign"), &token).await;
    assert_eq!(status, 200, "{unassigned}");
    assert!(unassigned["assigneeId"].is_null() && unassigned["assignee"].is_null());
    let (_, info) = get_json(&alarm_info_url(&server, id), &token).await;
    assert!(info["assigneeId"].is_null(), "unassigned for good: {info}");
    let (_, mine) = get_json(&mine_url, &token).await;
    assert_eq!(mine["totalElements"], 0);
}

#[tokio::test]
async fn deleting_an_alarm_answers_true_and_its_info_is_gone_afterwards() {
    let (server, token, _, id) = door_open_alarm(AlarmSeverity::Major).await;
    let info_url = alarm_info_url(&server, id);
    assert_eq!(get_json(&info_url, &token).await.0, 200);

    let (status, body) = delete_json(&alarm_url(&server, id, ""), &token).await;
    assert_eq!((status, body), (200, json!(true)));
    assert_eq!(error_of(&get_json(&info_url, &token).await).0, 404);
    assert_eq!(
        error_of(&delete_json(&alarm_url(&server, id, ""), &token).await),
        (404, Some(32), Some("Requested item wasn't found!"))
    );
    assert_eq!(
        error_of(&post_empty(&alarm_url(&server, id, "/ack"), &token).await).0,
        404
    );
}

#[tokio::test]
async fn alarm_info_describes_the_alarm_and_its_originator() {
    let (server, token, dev, id) = door_open_alarm(AlarmSeverity::Critical).await;
    let (status, info) = get_json(&alarm_info_url(&server, id), &token).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(
        info["id"],
        json!({"entityType": "ALARM", "id": id.to_string()})
    );
    assert_eq!(info["type"], "Door Open");
    assert_eq!(info["name"], "Door Open", "name = type");
    assert_eq!(info["severity"], "CRITICAL");
    assert_eq!(info["status"], "ACTIVE_UNACK");
    assert_eq!(
        (&info["acknowledged"], &info["cleared"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(
        info["originator"],
        json!({"entityType": "DEVICE", "id": dev.id.id.to_string()})
    );
    assert_eq!(info["originatorName"], dev.name.as_str());
    assert_eq!(
        info["customerId"],
        json!({"entityType": "CUSTOMER", "id": NULL_UUID.to_string()}),
        "a tenant device's alarm carries the NULL_UUID customer"
    );
    assert_eq!(info["tenantId"]["entityType"], "TENANT");
    assert!(info["assigneeId"].is_null());
    assert_eq!(
        (&info["ackTs"], &info["clearTs"], &info["assignTs"]),
        (&json!(0), &json!(0), &json!(0))
    );
    let start_ts = info["startTs"].as_i64().expect("startTs");
    assert!(start_ts > 0 && info["createdTime"].as_i64() == Some(start_ts));
    assert_eq!(info["propagateRelationTypes"], json!([]));
    let parsed: AlarmData = serde_json::from_value(info).expect("an AlarmInfo decodes");
    assert_eq!(parsed.status, Some(AlarmStatus::ActiveUnack));
}

#[tokio::test]
async fn the_v2_alarm_list_pages_filters_by_status_and_severity_and_sorts() {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let dev = &quiet[0];
    let a = control.raise_alarm(&dev.id, "Probe-A", AlarmSeverity::Critical, false);
    let b = control.raise_alarm(&dev.id, "Probe-B", AlarmSeverity::Major, false);
    let c = control.raise_alarm(&dev.id, "Probe-C", AlarmSeverity::Minor, false);
    assert!(control.clear_alarm(c));
    assert_eq!(
        post_empty(&alarm_url(&server, b, "/ack"), &token).await.0,
        200
    );
    let list = |query: &str| {
        let url = alarms_url(
            &server,
            &format!("typeList=Probe-A,Probe-B,Probe-C&{query}"),
        );
        let token = token.clone();
        let query = query.to_owned();
        async move {
            let (status, page) = get_json(&url, &token).await;
            assert_eq!(status, 200, "{query}: {page}");
            page
        }
    };

    let first = list("pageSize=2&page=0&sortProperty=severity&sortOrder=DESC").await;
    assert_eq!(row_types(&first), ["Probe-A", "Probe-B"]);
    assert_eq!(
        (
            &first["totalElements"],
            &first["totalPages"],
            &first["hasNext"]
        ),
        (&json!(3), &json!(2), &json!(true))
    );
    assert_eq!(first["data"][0]["id"]["id"], a.to_string());
    assert!(
        first["data"][0].get("entityId").is_none_or(Value::is_null),
        "rows are AlarmInfos"
    );
    let second = list("pageSize=2&page=1&sortProperty=severity&sortOrder=DESC").await;
    assert_eq!(row_types(&second), ["Probe-C"]);
    assert_eq!(second["hasNext"], false);
    let ascending = list("pageSize=10&page=0&sortProperty=severity&sortOrder=ASC").await;
    assert_eq!(row_types(&ascending), ["Probe-C", "Probe-B", "Probe-A"]);

    let by_type = |page: &Value| {
        let mut t: Vec<String> = row_types(page).into_iter().map(str::to_owned).collect();
        t.sort();
        t
    };
    assert_eq!(
        by_type(&list("pageSize=10&page=0&statusList=ACTIVE").await),
        ["Probe-A", "Probe-B"]
    );
    assert_eq!(
        by_type(&list("pageSize=10&page=0&statusList=CLEARED").await),
        ["Probe-C"]
    );
    assert_eq!(
        by_type(&list("pageSize=10&page=0&statusList=ACK").await),
        ["Probe-B"]
    );
    assert_eq!(
        by_type(&list("pageSize=10&page=0&statusList=UNACK").await),
        ["Probe-A", "Probe-C"]
    );
    assert_eq!(
        by_type(&list("pageSize=10&page=0&statusList=ACTIVE,CLEARED").await),
        ["Probe-A", "Probe-B", "Probe-C"],
        "any-of within one dimension"
    );
    assert_eq!(
        by_type(&list("pageSize=10&page=0&severityList=CRITICAL,MINOR").await),
        ["Probe-A", "Probe-C"]
    );
    assert_eq!(
        by_type(&list("pageSize=10&page=0&statusList=ACTIVE&severityList=MAJOR,MINOR").await),
        ["Probe-B"],
        "status and severity combine"
    );

    // Without the type filter the seeded alarms are there too, newest first by default.
    let (_, all) = get_json(&alarms_url(&server, "pageSize=100&page=0"), &token).await;
    assert!(all["totalElements"].as_i64().expect("total") > 3);
    let created: Vec<i64> = all["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["createdTime"].as_i64().expect("createdTime"))
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "createdTime DESC by default"
    );

    let (status, body) = get_json(&alarms_url(&server, "page=0"), &token).await;
    assert_eq!(status, 400, "pageSize is required: {body}");
}

#[tokio::test]
async fn alarms_query_find_returns_alarm_data_rows_for_the_matched_entities() {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let (dev, other) = (&quiet[0], &quiet[1]);
    let door = control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    let leak = control.raise_alarm(&dev.id, "Leak", AlarmSeverity::Critical, false);
    control.raise_alarm(&other.id, "Door Open", AlarmSeverity::Major, false);
    assert!(control.clear_alarm(leak));
    let url = format!("{}/api/alarmsQuery/find", server.base_url());
    let query = |status_list: &[&str]| {
        alarm_data_cmd(0, &single_device(dev), &json!({"statusList": status_list}))["query"].clone()
    };

    let (status, page) = post_json(&url, &query(&[]), Some(&token)).await;
    assert_eq!(status, 200, "{page}");
    let page: PageData<AlarmData> = serde_json::from_value(page).expect("PageData<AlarmData>");
    assert_eq!(page.total_elements, 2, "only the matched entity's alarms");
    assert_eq!(ids(&page), [leak, door], "newest first");
    for row in &page.data {
        assert_eq!(row.entity_id.as_ref(), Some(&dev.id));
        assert_eq!(row.originator, dev.id);
        let name = &row.latest.as_ref().expect("latest")
            [&tb_monitor::protocol::EntityKeyType::EntityField]["name"];
        assert_eq!(
            name.value
                .as_ref()
                .map(tb_monitor::protocol::TbValue::as_str),
            Some(dev.name.as_str())
        );
    }

    let (_, active) = post_json(&url, &query(&["ACTIVE"]), Some(&token)).await;
    assert_eq!(active["totalElements"], 1);
    assert_eq!(active["data"][0]["id"]["id"], door.to_string());

    let (status, body) =
        post_json(&url, &json!({"entityFilter": all_devices()}), Some(&token)).await;
    assert_eq!(status, 400, "a query without a page link: {body}");
}

#[tokio::test]
async fn a_customer_user_sees_and_acts_only_on_alarms_of_its_customers_devices() {
    let (server, control, tenant) = start_as_tenant(quiet_config()).await;
    let customer = token_of(&server, CUSTOMER).await;
    let theirs = &quiet_devices(&control)[0];
    let ours = customer_device(&control);
    let foreign = control.raise_alarm(&theirs.id, "Probe-X", AlarmSeverity::Major, false);
    let own = control.raise_alarm(&ours.id, "Probe-Y", AlarmSeverity::Major, false);

    let not_found = (404, Some(32), Some("Requested item wasn't found!"));
    for (what, result) in every_alarm_action(&server, foreign, &customer).await {
        assert_eq!(error_of(&result), not_found, "{what} of another's alarm");
    }
    let (_, untouched) = get_json(&alarm_info_url(&server, foreign), &tenant).await;
    assert_eq!(
        untouched["status"], "ACTIVE_UNACK",
        "the refused actions changed nothing"
    );

    let (status, info) = get_json(&alarm_info_url(&server, own), &customer).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["customerId"]["entityType"], "CUSTOMER");
    assert_ne!(info["customerId"]["id"], NULL_UUID.to_string());
    let (status, acked) = post_empty(&alarm_url(&server, own, "/ack"), &customer).await;
    assert_eq!((status, &acked["status"]), (200, &json!("ACTIVE_ACK")));

    let list = alarms_url(&server, "pageSize=100&page=0&typeList=Probe-X,Probe-Y");
    let (_, seen) = get_json(&list, &customer).await;
    assert_eq!(row_types(&seen), ["Probe-Y"]);
    let (_, everything) = get_json(&list, &tenant).await;
    assert_eq!(everything["totalElements"], 2, "the tenant sees both");

    let query = alarm_data_cmd(
        0,
        &all_devices(),
        &json!({"typeList": ["Probe-X", "Probe-Y"]}),
    )["query"]
        .clone();
    let url = format!("{}/api/alarmsQuery/find", server.base_url());
    let (_, found) = post_json(&url, &query, Some(&customer)).await;
    assert_eq!(row_types(&found), ["Probe-Y"]);
    let (_, found) = post_json(&url, &query, Some(&tenant)).await;
    assert_eq!(found["totalElements"], 2);
}

// ----- WebSocket ------------------------------------------------------------------------------

#[tokio::test]
async fn alarm_data_sends_a_page_first_then_new_alarms_and_acknowledgements() {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let dev = &quiet[0];
    let mut ws = authed_session(
        &server,
        &token,
        &[alarm_data_cmd(1, &all_devices(), &json!({}))],
    )
    .await;

    let first = next_alarm_data(&mut ws, 1).await;
    assert!(first.update.is_none());
    assert_eq!(
        first.total_entities,
        i64::try_from(control.devices().len()).expect("count")
    );
    assert_eq!(first.allowed_entities, 10_000);
    let page = first.data.expect("the first reply is a data page");
    assert!(!page.data.is_empty(), "the seeded alarms");
    assert_eq!(
        page.total_elements,
        i64::try_from(page.data.len()).expect("len")
    );
    assert!(page.data.iter().all(|a| a.alarm_type != "Door Open"));

    // A new matching alarm while on page 0: the page is fetched again, with it on top.
    let id = control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    let page_again = next_alarm_page(&mut ws, 1).await;
    assert_eq!(page_again.total_elements, page.total_elements + 1);
    let top = &page_again.data[0];
    assert_eq!((top.id.id, top.alarm_type.as_str()), (id, "Door Open"));
    assert_eq!(top.entity_id.as_ref(), Some(&dev.id));
    assert_eq!(top.status, Some(AlarmStatus::ActiveUnack));

    // An acknowledgement over REST reaches the subscription as an update of that row.
    let (status, _) = post_empty(&alarm_url(&server, id, "/ack"), &token).await;
    assert_eq!(status, 200);
    let acked = next_alarm_data(&mut ws, 1).await;
    assert!(acked.data.is_none());
    let rows = acked.update.expect("an update");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id.id, id);
    assert!(rows[0].acknowledged && !rows[0].cleared);
    assert_eq!(rows[0].status, Some(AlarmStatus::ActiveAck));
    assert!(rows[0].ack_ts > 0);

    // Raising it again escalates the same alarm: another update.
    assert_eq!(
        control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Critical, false),
        id
    );
    let escalated = next_alarm_data(&mut ws, 1).await.update.expect("an update");
    assert_eq!(
        (escalated[0].id.id, &escalated[0].severity),
        (id, &AlarmSeverity::Critical)
    );
}

#[tokio::test]
async fn alarm_data_fetches_the_page_again_when_an_alarm_leaves_its_status_filter() {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let dev = &quiet[0];
    let cmd = alarm_data_cmd(2, &single_device(dev), &json!({"statusList": ["ACTIVE"]}));
    let mut ws = authed_session(&server, &token, &[cmd]).await;
    let first = next_alarm_data(&mut ws, 2).await;
    assert_eq!(first.total_entities, 1);
    assert!(first.data.expect("data").data.is_empty());

    let id = control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    assert_eq!(ids(&next_alarm_page(&mut ws, 2).await), [id]);
    let (status, _) = post_empty(&alarm_url(&server, id, "/clear"), &token).await;
    assert_eq!(status, 200);
    let after = next_alarm_page(&mut ws, 2).await;
    assert!(
        after.data.is_empty(),
        "the cleared alarm left the ACTIVE page"
    );
    assert_eq!(after.total_elements, 0);
}

#[tokio::test]
async fn alarm_count_answers_at_once_and_then_only_when_the_count_changes() {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let (dev, other) = (&quiet[0], &quiet[1]);
    let mut ws = authed_session(
        &server,
        &token,
        &[alarm_count_cmd(3, &single_device(dev), &["ACTIVE"])],
    )
    .await;
    assert_eq!(next_count(&mut ws).await, (3, 0));

    // An alarm outside the filter changes nothing: the next message is the real change.
    control.raise_alarm(&other.id, "Door Open", AlarmSeverity::Major, false);
    let id = control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    assert_eq!(next_count(&mut ws).await, (3, 1));

    // Raising it again and acknowledging it keep it active: no message until it clears.
    control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Critical, false);
    assert_eq!(
        post_empty(&alarm_url(&server, id, "/ack"), &token).await.0,
        200
    );
    assert!(control.clear_alarm(id));
    assert_eq!(next_count(&mut ws).await, (3, 0));
}

#[tokio::test]
async fn an_alarm_count_without_entity_filter_changes_only_on_the_periodic_refresh() {
    // A refresh period no test waits for: the count must not change by itself.
    let slow = quiet_config_with(|l| l.refresh_interval = std::time::Duration::from_hours(1));
    let (server, control, token) = start_as_tenant(slow).await;
    let cmd = json!({"type": "ALARM_COUNT", "cmdId": 5, "query": {"statusList": ["ACTIVE"]}});
    let mut ws = authed_session(&server, &token, std::slice::from_ref(&cmd)).await;
    let (_, before) = next_count(&mut ws).await;
    let dev = &quiet_devices(&control)[0];
    control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    assert_silent(&mut ws, std::time::Duration::from_millis(300)).await;

    // With a short period the refresh picks the change up.
    let (server, control, token) = start_as_tenant(fast_refresh_config()).await;
    let mut ws = authed_session(&server, &token, &[cmd]).await;
    let (_, before_fast) = next_count(&mut ws).await;
    assert_eq!(before_fast, before, "same seed, same alarms");
    let dev = &quiet_devices(&control)[0];
    control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    assert_eq!(next_count(&mut ws).await, (5, before + 1));
}

#[tokio::test]
async fn a_duplicate_alarm_count_cmd_id_is_ignored() {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let (dev, other) = (&quiet[0], &quiet[1]);
    let mut ws = authed_session(
        &server,
        &token,
        &[
            alarm_count_cmd(4, &single_device(dev), &["ACTIVE"]),
            alarm_count_cmd(4, &all_devices(), &["ANY"]),
        ],
    )
    .await;
    assert_eq!(
        next_count(&mut ws).await,
        (4, 0),
        "the first command's count"
    );
    // Again in a later frame, then a probe: the probe's answer comes next.
    send(
        &mut ws,
        &json!({"cmds": [alarm_count_cmd(4, &all_devices(), &["ANY"]), alarm_status_cmd(5, other, None)]}),
    )
    .await;
    assert_eq!(next_status(&mut ws).await, (5, false));
    // The first subscription is the one that stays live.
    control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    assert_eq!(next_count(&mut ws).await, (4, 1));
}

#[tokio::test]
async fn alarm_status_reports_whether_an_originator_has_an_active_alarm_and_flips_on_raise_and_clear()
 {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let dev = &quiet[0];
    let mut ws = authed_session(
        &server,
        &token,
        &[
            alarm_status_cmd(6, dev, None),
            alarm_status_cmd(7, dev, Some(&["Leak"][..])),
        ],
    )
    .await;
    let mut initial = vec![next_status(&mut ws).await, next_status(&mut ws).await];
    initial.sort_unstable();
    assert_eq!(initial, [(6, false), (7, false)]);

    let door = control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    assert_eq!(
        next_status(&mut ws).await,
        (6, true),
        "only the subscription without a type list flips"
    );
    assert!(control.clear_alarm(door));
    assert_eq!(next_status(&mut ws).await, (6, false));

    let leak = control.raise_alarm(&dev.id, "Leak", AlarmSeverity::Critical, false);
    let mut flipped = vec![next_status(&mut ws).await, next_status(&mut ws).await];
    flipped.sort_unstable();
    assert_eq!(flipped, [(6, true), (7, true)]);
    let (status, _) = post_empty(&alarm_url(&server, leak, "/clear"), &token).await;
    assert_eq!(status, 200);
    let mut cleared = vec![next_status(&mut ws).await, next_status(&mut ws).await];
    cleared.sort_unstable();
    assert_eq!(cleared, [(6, false), (7, false)]);
}

#[tokio::test]
async fn unsubscribed_alarm_subscriptions_send_no_more_updates() {
    let (server, control, token, quiet) = start_with_quiet_devices().await;
    let (dev, witness, probe) = (&quiet[0], &quiet[1], &quiet[2]);
    let mut ws = authed_session(
        &server,
        &token,
        &[
            alarm_data_cmd(8, &single_device(dev), &json!({})),
            alarm_count_cmd(9, &single_device(dev), &["ANY"]),
            alarm_status_cmd(10, dev, None),
            alarm_status_cmd(11, witness, None),
        ],
    )
    .await;
    assert!(next_alarm_page(&mut ws, 8).await.data.is_empty());
    assert_eq!(next_count(&mut ws).await, (9, 0));
    let mut initial = vec![next_status(&mut ws).await, next_status(&mut ws).await];
    initial.sort_unstable();
    assert_eq!(initial, [(10, false), (11, false)]);

    // Unsubscribing has no reply: a probe in the same frame shows the frame was handled.
    send(
        &mut ws,
        &json!({"cmds": [
            {"type": "ALARM_DATA_UNSUBSCRIBE", "cmdId": 8},
            {"type": "ALARM_COUNT_UNSUBSCRIBE", "cmdId": 9},
            {"type": "ALARM_STATUS_UNSUBSCRIBE", "cmdId": 10},
            {"type": "ALARM_STATUS_UNSUBSCRIBE", "cmdId": 4242},
            alarm_status_cmd(12, probe, None)
        ]}),
    )
    .await;
    assert_eq!(next_status(&mut ws).await, (12, false));

    // Events reach a session in order: an update for the cancelled subscriptions would come
    // before the witness's.
    control.raise_alarm(&dev.id, "Door Open", AlarmSeverity::Major, false);
    control.raise_alarm(&witness.id, "Door Open", AlarmSeverity::Major, false);
    assert_eq!(next_status(&mut ws).await, (11, true));
}

#[tokio::test]
async fn alarm_data_refetches_at_most_ten_times_per_refresh_interval_and_catches_up_with_a_time_window()
 {
    // The first refresh tick comes with the session; the next one 3 s later.
    let interval = std::time::Duration::from_secs(3);
    let config = quiet_config_with(|l| l.refresh_interval = interval);
    let (server, control, token) = start_as_tenant(config).await;
    let dev = quiet_devices(&control).remove(0);
    let window = json!({"timeWindow": 86_400_000_i64 * 365});
    let started = std::time::Instant::now();
    let mut ws = authed_session(
        &server,
        &token,
        &[alarm_data_cmd(1, &all_devices(), &window)],
    )
    .await;
    let first = next_alarm_page(&mut ws, 1).await;

    // Ten new alarms, one at a time: ten re-fetched pages.
    for k in 0..10_i64 {
        let id = control.raise_alarm(&dev.id, &format!("Flood {k}"), AlarmSeverity::Minor, false);
        let page = next_alarm_page(&mut ws, 1).await;
        assert_eq!(page.total_elements, first.total_elements + k + 1);
        assert_eq!(page.data[0].id.id, id);
    }
    // The eleventh is past the limit: no page until the next refresh tick catches up.
    let eleventh = control.raise_alarm(&dev.id, "Flood 10", AlarmSeverity::Minor, false);
    let caught_up = next_alarm_page(&mut ws, 1).await;
    assert!(
        started.elapsed() >= interval.mul_f32(0.8),
        "the page came with the tick, not at once ({:?})",
        started.elapsed()
    );
    assert_eq!(caught_up.total_elements, first.total_elements + 11);
    assert!(ids(&caught_up).contains(&eleventh));
}

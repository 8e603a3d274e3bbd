//! Alarm REST endpoints (§12): acknowledge, clear, assign, unassign, delete, info, the
//! `v2` alarm list and `alarmsQuery/find`.
//!
//! Every mutation goes through [`super::effects`], so a client's acknowledgement reaches the
//! alarm subscriptions and the users' notification inboxes as a rule's change would.
#![allow(clippy::missing_errors_doc)]

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use uuid::Uuid;

use super::alarms::{AlarmActionError, AlarmChange, AlarmListParams};
use super::effects::Effects;
use super::rest::{ApiError, parse_json, principal, required_param, split_list, uuid_param};
use super::state::{Principal, Shared, State, now_ms};
use crate::protocol::{
    AlarmData, AlarmDataQuery, AlarmSearchStatus, AlarmSeverity, Authority, PageData, SortDirection,
};

type ApiResult<T> = Result<T, ApiError>;
type Shr = AxState<Arc<Shared>>;

impl From<AlarmActionError> for ApiError {
    fn from(e: AlarmActionError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.to_string(), e.error_code())
    }
}

fn not_found() -> ApiError {
    AlarmActionError::NotFound.into()
}

/// Tenant admins and customer users act on alarms; others (and pre-verification tokens,
/// which [`principal`] already refuses) get 403.
fn alarm_user(shared: &Shared, headers: &HeaderMap) -> ApiResult<Principal> {
    let p = principal(shared, headers, None)?;
    match p.user.authority {
        Authority::TenantAdmin | Authority::CustomerUser => Ok(p),
        _ => Err(ApiError::forbidden()),
    }
}

/// Runs `action` on an alarm the caller can see, publishes what it changed and answers
/// what `answer` makes of the state afterwards (under the same lock).
fn act<R>(
    shared: &Shared,
    headers: &HeaderMap,
    id: &str,
    action: impl FnOnce(&mut State, Uuid) -> ApiResult<AlarmChange>,
    answer: impl FnOnce(&State, Uuid) -> ApiResult<R>,
) -> ApiResult<Json<R>> {
    let p = alarm_user(shared, headers)?;
    let id = uuid_param(id)?;
    let (reply, effects) = {
        let mut st = shared.lock();
        if !st.alarms.visible_to(id, &st.world, &p.user) {
            return Err(not_found());
        }
        let change = action(&mut st, id)?;
        let effects = Effects::of_alarms(&mut st, [change], now_ms());
        (answer(&st, id)?, effects)
    };
    effects.publish(shared);
    Ok(Json(reply))
}

/// The alarm's `AlarmInfo`: what every action but delete answers.
fn alarm_info(st: &State, id: Uuid) -> ApiResult<AlarmData> {
    st.alarms.info(id, &st.world).ok_or_else(not_found)
}

/// `POST /api/alarm/{id}/ack`.
pub async fn ack(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<AlarmData>> {
    act(
        &shared,
        &headers,
        &id,
        |st, id| Ok(st.alarms.acknowledge(id, now_ms())?),
        alarm_info,
    )
}

/// `POST /api/alarm/{id}/clear`.
pub async fn clear(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<AlarmData>> {
    act(
        &shared,
        &headers,
        &id,
        |st, id| Ok(st.alarms.clear(id, now_ms())?),
        alarm_info,
    )
}

/// `POST /api/alarm/{id}/assign/{assigneeId}`: the assignee must be a user of the tenant
/// that can see the alarm.
pub async fn assign(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path((id, assignee)): Path<(String, String)>,
) -> ApiResult<Json<AlarmData>> {
    let assignee = uuid_param(&assignee)?;
    let action = |st: &mut State, id| {
        let user = st.world.user(assignee).ok_or_else(not_found)?;
        if !st.alarms.visible_to(id, &st.world, user) {
            return Err(ApiError::forbidden());
        }
        Ok(st.alarms.assign(id, assignee, now_ms())?)
    };
    act(&shared, &headers, &id, action, alarm_info)
}

/// `DELETE /api/alarm/{id}/assign`.
pub async fn unassign(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<AlarmData>> {
    act(
        &shared,
        &headers,
        &id,
        |st, id| Ok(st.alarms.unassign(id, now_ms())?),
        alarm_info,
    )
}

/// `DELETE /api/alarm/{id}`: answers `true`.
pub async fn delete(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<bool>> {
    act(
        &shared,
        &headers,
        &id,
        |st, id| Ok(st.alarms.delete(id)?),
        |_, _| Ok(true),
    )
}

/// `GET /api/alarm/info/{id}`.
pub async fn info(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<AlarmData>> {
    let p = alarm_user(&shared, &headers)?;
    let id = uuid_param(&id)?;
    let st = shared.lock();
    if !st.alarms.visible_to(id, &st.world, &p.user) {
        return Err(not_found());
    }
    alarm_info(&st, id).map(Json)
}

/// Query parameters of `GET /api/v2/alarms` (lists are comma-separated).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V2Params {
    page_size: Option<i32>,
    page: Option<i32>,
    status_list: Option<String>,
    severity_list: Option<String>,
    type_list: Option<String>,
    assignee_id: Option<String>,
    text_search: Option<String>,
    sort_property: Option<String>,
    sort_order: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
}

/// `GET /api/v2/alarms`.
pub async fn list_v2(
    AxState(shared): Shr,
    headers: HeaderMap,
    Query(q): Query<V2Params>,
) -> ApiResult<Json<PageData<AlarmData>>> {
    let p = alarm_user(&shared, &headers)?;
    let params = AlarmListParams {
        page_size: q.page_size.ok_or_else(|| required_param("pageSize"))?,
        page: q.page.ok_or_else(|| required_param("page"))?,
        status_list: split_list(q.status_list.as_deref())
            .map(AlarmSearchStatus::from_wire)
            .collect(),
        severity_list: split_list(q.severity_list.as_deref())
            .map(AlarmSeverity::from_wire)
            .collect(),
        type_list: split_list(q.type_list.as_deref())
            .map(str::to_owned)
            .collect(),
        assignee_id: q.assignee_id.as_deref().map(uuid_param).transpose()?,
        text_search: q.text_search,
        sort_property: q.sort_property,
        sort_order: q.sort_order.as_deref().map(SortDirection::from_wire),
        start_time: q.start_time,
        end_time: q.end_time,
    };
    let st = shared.lock();
    st.alarms
        .list_v2(&st.world, &p.user, &params)
        .map(Json)
        .map_err(|e| ApiError::invalid_arguments(e.0))
}

/// `POST /api/alarmsQuery/find`: the `ALARM_DATA` query over REST.
pub async fn query_find(
    AxState(shared): Shr,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Json<PageData<AlarmData>>> {
    let p = alarm_user(&shared, &headers)?;
    let query: AlarmDataQuery = parse_json(&body)?;
    let st = shared.lock();
    let ctx = st.query_context(&p.user);
    st.alarms
        .find(&ctx, &query, st.limits.max_entities, ctx.now_ms)
        .map(|(page, _)| Json(page))
        .map_err(|e| ApiError::invalid_arguments(e.0))
}

//! REST endpoints (§11, §12): authentication, entity queries and telemetry reads.
//!
//! Every handler returns `Err(ApiError)` as ThingsBoard's error body with its HTTP status;
//! the `# Errors` of each is the reference's error table, so they are not repeated.
#![allow(clippy::missing_errors_doc)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::jwt::totp_matches;
use super::state::{AuthFailure, Principal, Shared, now_ms};
use super::world::{MFA_BACKUP_CODES, Scope};
use crate::protocol::{
    Aggregation, Authority, EntityCountQuery, EntityDataQuery, EntityId, EntityType, LoginResponse,
    RestError, ThingsboardErrorCode, TwoFaProviderInfo, TwoFaProviderType, User,
};

/// A REST failure rendered as ThingsBoard's error body.
#[derive(Debug)]
pub struct ApiError(RestError);

impl ApiError {
    /// An error with status, message and code.
    #[must_use]
    pub fn new(status: StatusCode, message: impl Into<String>, code: ThingsboardErrorCode) -> Self {
        Self(RestError {
            status: status.as_u16(),
            message: Some(message.into()),
            error_code: code,
            timestamp: now_ms(),
            reset_token: None,
        })
    }

    fn bad_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Invalid username or password",
            ThingsboardErrorCode::Authentication,
        )
    }

    fn auth_failed() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authentication failed",
            ThingsboardErrorCode::Authentication,
        )
    }

    fn expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Token has expired",
            ThingsboardErrorCode::JwtTokenExpired,
        )
    }

    pub(super) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "You don't have permission to perform this operation!",
            ThingsboardErrorCode::PermissionDenied,
        )
    }

    fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Requested item wasn't found!",
            ThingsboardErrorCode::ItemNotFound,
        )
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            message,
            ThingsboardErrorCode::BadRequestParams,
        )
    }

    /// A 400 with `INVALID_ARGUMENTS` (paging and query validation).
    pub(super) fn invalid_arguments(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            message,
            ThingsboardErrorCode::InvalidArguments,
        )
    }

    fn from_auth(f: AuthFailure) -> Self {
        match f {
            AuthFailure::Empty | AuthFailure::WrongScope => Self::auth_failed(),
            AuthFailure::Malformed => Self::bad_credentials(),
            AuthFailure::Expired | AuthFailure::Outdated => Self::expired(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;
type Shr = AxState<Arc<Shared>>;

/// The bearer token of a request (`X-Authorization` or, as 4.3+, `Authorization`).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    ["x-authorization", "authorization"]
        .iter()
        .filter_map(|h| headers.get(*h)?.to_str().ok())
        .find_map(|v| v.strip_prefix("Bearer ").map(str::trim))
}

pub(super) fn principal(
    shared: &Shared,
    headers: &HeaderMap,
    scope: Option<&Authority>,
) -> ApiResult<Principal> {
    let token = bearer(headers).ok_or_else(ApiError::auth_failed)?;
    shared
        .authenticate(token, scope)
        .map_err(ApiError::from_auth)
}

/// `POST /api/auth/login`: exactly `username` and `password`.
pub async fn login(AxState(shared): Shr, body: String) -> ApiResult<Json<LoginResponse>> {
    let value: serde_json::Value =
        serde_json::from_str(&body).map_err(|_| ApiError::auth_failed())?;
    let obj = value.as_object().ok_or_else(ApiError::auth_failed)?;
    if obj.keys().any(|k| k != "username" && k != "password") {
        return Err(ApiError::auth_failed());
    }
    let (Some(username), Some(password)) = (
        obj.get("username").and_then(|v| v.as_str()),
        obj.get("password").and_then(|v| v.as_str()),
    ) else {
        return Err(ApiError::auth_failed());
    };
    let user = {
        let mut st = shared.lock();
        if st.reject_logins > 0 {
            st.reject_logins -= 1;
            return Err(ApiError::bad_credentials());
        }
        st.world
            .user_by_email(username)
            .filter(|u| u.password == password)
            .cloned()
            .ok_or_else(ApiError::bad_credentials)?
    };
    if user.totp_secret.is_some() {
        return Ok(Json(LoginResponse {
            token: shared.issue_pre_verification_token(&user),
            refresh_token: None,
            scope: Some(Authority::PreVerificationToken),
        }));
    }
    let (token, refresh) = shared.issue_tokens(&user);
    shared.lock().stats.logins += 1;
    Ok(Json(LoginResponse {
        token,
        refresh_token: Some(refresh),
        scope: None,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: String,
}

/// `POST /api/auth/token`: a new pair for a valid refresh token.
pub async fn refresh(AxState(shared): Shr, body: String) -> ApiResult<Json<LoginResponse>> {
    let refused = |e: ApiError| {
        shared.lock().stats.refresh_failures += 1;
        e
    };
    let body: RefreshBody =
        serde_json::from_str(&body).map_err(|_| refused(ApiError::auth_failed()))?;
    let p = shared
        .authenticate(&body.refresh_token, Some(&Authority::RefreshToken))
        .map_err(|f| refused(ApiError::from_auth(f)))?;
    let (token, refresh) = shared.issue_tokens(&p.user);
    shared.lock().stats.refreshes += 1;
    Ok(Json(LoginResponse {
        token,
        refresh_token: Some(refresh),
        scope: None,
    }))
}

/// `GET /api/auth/user`.
pub async fn current_user(AxState(shared): Shr, headers: HeaderMap) -> ApiResult<Json<User>> {
    let p = principal(&shared, &headers, None)?;
    let tenant = shared.lock().world.tenant_id;
    Ok(Json(user_json(&p.user, tenant)))
}

fn user_json(u: &super::world::DemoUser, tenant: Uuid) -> User {
    User {
        id: EntityId::user(u.id),
        created_time: u.created_time,
        tenant_id: Some(EntityId::new(EntityType::Tenant, tenant)),
        customer_id: Some(EntityId::customer(
            u.customer_id.unwrap_or(crate::protocol::NULL_UUID),
        )),
        email: u.email.clone(),
        authority: u.authority.clone(),
        first_name: Some(u.first_name.clone()),
        last_name: Some(u.last_name.clone()),
        phone: None,
        version: Some(1),
        name: Some(u.email.clone()),
        additional_info: Some(serde_json::json!({"description": ""})),
    }
}

/// `POST /api/auth/logout`: ends the caller's login session (its access and refresh tokens).
pub async fn logout(AxState(shared): Shr, headers: HeaderMap) -> ApiResult<StatusCode> {
    let p = principal(&shared, &headers, None)?;
    if let Some(s) = p.claims.session_id {
        shared.lock().revoked_sessions.insert(s);
    }
    Ok(StatusCode::OK)
}

/// `GET /api/auth/2fa/providers` (pre-verification token).
pub async fn two_fa_providers(
    AxState(shared): Shr,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<TwoFaProviderInfo>>> {
    principal(&shared, &headers, Some(&Authority::PreVerificationToken))?;
    Ok(Json(vec![
        TwoFaProviderInfo {
            provider_type: TwoFaProviderType::Totp,
            default: true,
            contact: None,
            min_verification_code_send_period: Some(30),
        },
        TwoFaProviderInfo {
            provider_type: TwoFaProviderType::BackupCode,
            default: false,
            contact: None,
            min_verification_code_send_period: None,
        },
    ]))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
/// Query parameters of the 2FA verification endpoints.
pub struct TwoFaParams {
    provider_type: Option<String>,
    verification_code: Option<String>,
}

/// `POST /api/auth/2fa/verification/send`: nothing to send for TOTP; accepted.
pub async fn two_fa_send(
    AxState(shared): Shr,
    headers: HeaderMap,
    Query(q): Query<TwoFaParams>,
) -> ApiResult<StatusCode> {
    principal(&shared, &headers, Some(&Authority::PreVerificationToken))?;
    match q.provider_type.as_deref() {
        Some("TOTP" | "BACKUP_CODE") => Ok(StatusCode::OK),
        Some(other) => Err(ApiError::bad_request(format!(
            "2FA provider {other} is not configured"
        ))),
        None => Err(ApiError::bad_request(
            "Required request parameter 'providerType' is not present",
        )),
    }
}

/// `POST /api/auth/2fa/verification/check`: the token pair for a right code.
pub async fn two_fa_check(
    AxState(shared): Shr,
    headers: HeaderMap,
    Query(q): Query<TwoFaParams>,
) -> ApiResult<Json<LoginResponse>> {
    let p = principal(&shared, &headers, Some(&Authority::PreVerificationToken))?;
    let code = q.verification_code.unwrap_or_default();
    let ok = match q.provider_type.as_deref() {
        Some("TOTP") => p
            .user
            .totp_secret
            .as_deref()
            .is_some_and(|s| totp_matches(s, &code, now_ms() / 1000)),
        Some("BACKUP_CODE") => MFA_BACKUP_CODES.contains(&code.trim()),
        _ => false,
    };
    if !ok {
        return Err(ApiError::bad_request("Verification code is incorrect"));
    }
    let (token, refresh) = shared.issue_tokens(&p.user);
    shared.lock().stats.logins += 1;
    Ok(Json(LoginResponse {
        token,
        refresh_token: Some(refresh),
        scope: None,
    }))
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &str) -> ApiResult<T> {
    serde_json::from_str(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))
}

/// `POST /api/entitiesQuery/find`.
pub async fn entities_find(
    AxState(shared): Shr,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let p = principal(&shared, &headers, None)?;
    let query: EntityDataQuery = parse_json(&body)?;
    let st = shared.lock();
    let ctx = st.query_context(&p.user);
    let page = ctx.find(&query).map_err(|e| ApiError::bad_request(e.0))?;
    Ok(Json(page).into_response())
}

/// `POST /api/entitiesQuery/count`.
pub async fn entities_count(
    AxState(shared): Shr,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Json<i64>> {
    let p = principal(&shared, &headers, None)?;
    let query: EntityCountQuery = parse_json(&body)?;
    let st = shared.lock();
    let ctx = st.query_context(&p.user);
    ctx.count(&query)
        .map(Json)
        .map_err(|e| ApiError::bad_request(e.0))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
/// Query parameters of `/api/entitiesQuery/find/keys`.
pub struct KeysParams {
    #[serde(default = "yes")]
    timeseries: bool,
    #[serde(default = "yes")]
    attributes: bool,
    scope: Option<String>,
}

fn yes() -> bool {
    true
}

/// `POST /api/entitiesQuery/find/keys`: the time series and attribute keys of the matched entities.
pub async fn entities_find_keys(
    AxState(shared): Shr,
    headers: HeaderMap,
    Query(params): Query<KeysParams>,
    body: String,
) -> ApiResult<Json<serde_json::Value>> {
    let p = principal(&shared, &headers, None)?;
    let query: EntityDataQuery = parse_json(&body)?;
    let st = shared.lock();
    let ctx = st.query_context(&p.user);
    let page = ctx.find(&query).map_err(|e| ApiError::bad_request(e.0))?;
    let mut ts = std::collections::BTreeSet::new();
    let mut attrs = std::collections::BTreeSet::new();
    for row in &page.data {
        if params.timeseries {
            if let Some(keys) = st.latest.entity(&row.entity_id) {
                ts.extend(keys.keys().cloned());
            }
            ts.extend(st.overlay.keys(&row.entity_id).map(str::to_owned));
        }
        if params.attributes
            && let Some(a) = st.world.attributes.get(&row.entity_id)
        {
            for (scope, map) in [
                ("CLIENT_SCOPE", &a.client),
                ("SHARED_SCOPE", &a.shared),
                ("SERVER_SCOPE", &a.server),
            ] {
                if params.scope.as_deref().is_none_or(|s| s == scope) {
                    attrs.extend(map.keys().cloned());
                }
            }
        }
    }
    Ok(Json(
        serde_json::json!({"timeseries": ts, "attribute": attrs}),
    ))
}

/// Resolves `{entityType}/{entityId}` of the telemetry endpoints for the caller.
fn telemetry_entity(
    shared: &Shared,
    p: &Principal,
    entity_type: &str,
    entity_id: &str,
) -> ApiResult<EntityId> {
    let id = Uuid::parse_str(entity_id)
        .map_err(|_| ApiError::bad_request(format!("Invalid UUID string: {entity_id}")))?;
    let id = EntityId::new(EntityType::from_wire(entity_type), id);
    let st = shared.lock();
    let e = st.world.entity(&id).ok_or_else(ApiError::not_found)?;
    if !st.world.visible_to(&p.user, e) {
        return Err(ApiError::forbidden());
    }
    Ok(id)
}

/// `GET /api/plugins/telemetry/{entityType}/{entityId}/keys/timeseries`.
pub async fn ts_keys(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path((t, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<String>>> {
    let p = principal(&shared, &headers, None)?;
    let id = telemetry_entity(&shared, &p, &t, &id)?;
    let st = shared.lock();
    let mut keys: std::collections::BTreeSet<String> = st
        .latest
        .entity(&id)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.extend(st.overlay.keys(&id).map(str::to_owned));
    Ok(Json(keys.into_iter().collect()))
}

fn scope_maps<'a>(
    a: &'a super::world::Attributes,
    scope: Option<&str>,
) -> Vec<(Scope, &'a BTreeMap<String, super::world::AttrValue>)> {
    [
        (Scope::Client, "CLIENT_SCOPE", &a.client),
        (Scope::Shared, "SHARED_SCOPE", &a.shared),
        (Scope::Server, "SERVER_SCOPE", &a.server),
    ]
    .into_iter()
    .filter(|(_, name, _)| scope.is_none_or(|s| s == *name))
    .map(|(s, _, m)| (s, m))
    .collect()
}

/// `GET /api/plugins/telemetry/{entityType}/{entityId}/keys/attributes[/{scope}]`.
pub async fn attr_keys(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(path): Path<Vec<String>>,
) -> ApiResult<Json<Vec<String>>> {
    let (t, id, scope) = match path.as_slice() {
        [t, id] => (t, id, None),
        [t, id, s] => (t, id, Some(s.as_str())),
        _ => return Err(ApiError::not_found()),
    };
    let p = principal(&shared, &headers, None)?;
    let id = telemetry_entity(&shared, &p, t, id)?;
    let st = shared.lock();
    let mut keys = std::collections::BTreeSet::new();
    if let Some(a) = st.world.attributes.get(&id) {
        for (_, m) in scope_maps(a, scope) {
            keys.extend(m.keys().cloned());
        }
    }
    Ok(Json(keys.into_iter().collect()))
}

/// Renders an attribute as ThingsBoard's REST does: booleans and numbers as JSON values.
fn typed_json(text: &str) -> serde_json::Value {
    if let Ok(b) = text.parse::<bool>() {
        return serde_json::Value::Bool(b);
    }
    if let Ok(i) = text.parse::<i64>() {
        return serde_json::Value::from(i);
    }
    if let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return serde_json::Value::Number(n);
    }
    if (text.starts_with('{') || text.starts_with('['))
        && let Ok(v) = serde_json::from_str(text)
    {
        return v;
    }
    serde_json::Value::String(text.to_owned())
}

#[derive(Debug, Deserialize)]
/// Query parameters of `values/attributes`.
pub struct AttrValuesParams {
    keys: Option<String>,
}

/// `GET /api/plugins/telemetry/{entityType}/{entityId}/values/attributes[/{scope}]?keys=`.
pub async fn attr_values(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(path): Path<Vec<String>>,
    Query(q): Query<AttrValuesParams>,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let (t, id, scope) = match path.as_slice() {
        [t, id] => (t, id, None),
        [t, id, s] => (t, id, Some(s.as_str())),
        _ => return Err(ApiError::not_found()),
    };
    let p = principal(&shared, &headers, None)?;
    let id = telemetry_entity(&shared, &p, t, id)?;
    let wanted: Option<Vec<&str>> = q.keys.as_deref().map(|k| split_list(Some(k)).collect());
    let st = shared.lock();
    let mut out = Vec::new();
    if let Some(a) = st.world.attributes.get(&id) {
        for (_, m) in scope_maps(a, scope) {
            for (k, v) in m {
                if wanted.as_ref().is_none_or(|w| w.contains(&k.as_str())) {
                    out.push(serde_json::json!({"lastUpdateTs": v.last_update_ts, "key": k, "value": typed_json(v.value.as_str())}));
                }
            }
        }
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
/// Query parameters of `values/timeseries`.
pub struct TsValuesParams {
    keys: Option<String>,
    start_ts: Option<i64>,
    end_ts: Option<i64>,
    interval: Option<i64>,
    limit: Option<usize>,
    agg: Option<String>,
    order_by: Option<String>,
}

/// `GET /api/plugins/telemetry/{entityType}/{entityId}/values/timeseries`: latest values
/// without a range, else the range (raw newest first up to `limit`, or aggregated).
pub async fn ts_values(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path((entity_type, entity_id)): Path<(String, String)>,
    Query(params): Query<TsValuesParams>,
) -> ApiResult<Json<BTreeMap<String, Vec<crate::protocol::TsValue>>>> {
    let principal = principal(&shared, &headers, None)?;
    let id = telemetry_entity(&shared, &principal, &entity_type, &entity_id)?;
    let grid = shared.grid();
    let st = shared.lock();
    let entity = st.world.entity(&id).ok_or_else(ApiError::not_found)?;
    let mut keys: Vec<String> = match params.keys.as_deref() {
        Some(list) => split_list(Some(list)).map(str::to_owned).collect(),
        None => st
            .latest
            .entity(&id)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
    };
    keys.dedup();
    let mut out = BTreeMap::new();
    for key in keys {
        let reader = super::state::reader(&st, entity, &key, grid);
        let points = match (params.start_ts, params.end_ts) {
            (Some(start), Some(end)) => {
                let agg = Aggregation::from_wire(params.agg.as_deref().unwrap_or("NONE"));
                let mut pts = if matches!(agg, Aggregation::None) {
                    reader.raw(start, end, params.limit.unwrap_or(100).max(1))
                } else {
                    reader
                        .aggregate(start, end, params.interval.unwrap_or(0), &agg)
                        .map_err(ApiError::bad_request)?
                };
                if params.order_by.as_deref() == Some("ASC") && matches!(agg, Aggregation::None) {
                    pts.reverse();
                }
                pts
            }
            (None, None) => st.latest.get(&id, &key).cloned().into_iter().collect(),
            _ => {
                return Err(ApiError::bad_request(
                    "Both 'startTs' and 'endTs' are required for a range",
                ));
            }
        };
        if !points.is_empty() {
            out.insert(key, points);
        }
    }
    Ok(Json(out))
}

/// Query parameters of `GET /api/notifications`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationListParams {
    page_size: Option<i64>,
    page: Option<i64>,
    text_search: Option<String>,
    sort_property: Option<String>,
    sort_order: Option<String>,
    #[serde(default)]
    unread_only: bool,
    delivery_method: Option<String>,
}

/// `GET /api/notifications`: the caller's inbox, paged.
pub async fn notifications_list(
    AxState(shared): Shr,
    headers: HeaderMap,
    Query(q): Query<NotificationListParams>,
) -> ApiResult<Json<crate::protocol::PageData<crate::protocol::Notification>>> {
    let p = principal(&shared, &headers, None)?;
    let page_size = q.page_size.ok_or_else(|| required_param("pageSize"))?;
    let page = q.page.ok_or_else(|| required_param("page"))?;
    if page_size < 1 {
        return Err(ApiError::invalid_arguments(
            "Page size must be greater than zero!",
        ));
    }
    if page < 0 {
        return Err(ApiError::invalid_arguments(
            "Page must be positive integer!",
        ));
    }
    let params = super::notifications::NotificationPageParams {
        page_size: usize::try_from(page_size).unwrap_or(1),
        page: usize::try_from(page).unwrap_or(0),
        text_search: q.text_search,
        sort_property: q.sort_property,
        sort_order: crate::protocol::SortDirection::from_wire(
            q.sort_order.as_deref().unwrap_or("DESC"),
        ),
        unread_only: q.unread_only,
        delivery_method: q
            .delivery_method
            .as_deref()
            .map(crate::protocol::NotificationDeliveryMethod::from_wire),
    };
    Ok(Json(shared.lock().notifications.page(p.user.id, &params)))
}

/// Query parameter `deliveryMethod`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryParams {
    delivery_method: Option<String>,
}

/// `GET /api/notifications/unread/count`: the default delivery method here is `MOBILE_APP`
/// (as on the real server), which the demo never uses, so pass `WEB`.
pub async fn notifications_unread_count(
    AxState(shared): Shr,
    headers: HeaderMap,
    Query(q): Query<DeliveryParams>,
) -> ApiResult<Json<i64>> {
    let p = principal(&shared, &headers, None)?;
    if q.delivery_method.as_deref().unwrap_or("MOBILE_APP") != "WEB" {
        return Ok(Json(0));
    }
    Ok(Json(shared.lock().notifications.unread_count(p.user.id)))
}

fn publish_notification(shared: &Shared, change: Option<super::notifications::NotificationChange>) {
    super::effects::Effects::of_notifications(change).publish(shared);
}

/// An id from the path: a malformed one is a 400 with `Invalid UUID string`.
pub(super) fn uuid_param(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::bad_request(format!("Invalid UUID string: {id}")))
}

/// A missing required query parameter, in Spring's words.
pub(super) fn required_param(name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Required request parameter '{name}' for method parameter type int is not present"
    ))
}

/// Splits a comma-separated list (query parameters, v1 `keys`), skipping blank items.
pub(super) fn split_list(list: Option<&str>) -> impl Iterator<Item = &str> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `PUT /api/notification/{id}/read`.
pub async fn notification_read(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let p = principal(&shared, &headers, None)?;
    let id = uuid_param(&id)?;
    let change = {
        let mut st = shared.lock();
        if st.notifications.get(p.user.id, id).is_none() {
            return Err(ApiError::not_found());
        }
        st.notifications.mark_read(p.user.id, &[id])
    };
    publish_notification(&shared, change);
    Ok(StatusCode::OK)
}

/// `PUT /api/notifications/read`: mark every notification read.
pub async fn notifications_read_all(
    AxState(shared): Shr,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let p = principal(&shared, &headers, None)?;
    let change = shared.lock().notifications.mark_all_read(p.user.id);
    publish_notification(&shared, change);
    Ok(StatusCode::OK)
}

/// `DELETE /api/notification/{id}`.
pub async fn notification_delete(
    AxState(shared): Shr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let p = principal(&shared, &headers, None)?;
    let id = uuid_param(&id)?;
    let change = shared.lock().notifications.delete(p.user.id, id);
    if change.is_none() {
        return Err(ApiError::not_found());
    }
    publish_notification(&shared, change);
    Ok(StatusCode::OK)
}

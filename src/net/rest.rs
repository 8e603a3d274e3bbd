//! ThingsBoard's REST API for tb-monitor: login (with 2FA), token refresh, logout, and the
//! calls the panels need (alarm actions, queries, notifications, telemetry reads).
//!
//! Token handling beats the stock clients on the points of `client-behaviour.md` §B4:
//! - one refresh in flight, shared by every caller that needs it (a `tokio` mutex and a
//!   check that someone else has not refreshed meanwhile);
//! - a 401 with error code 11 refreshes and retries once, never in a loop;
//! - a refresh the server refuses becomes [`NetError::SessionExpired`]: the UI asks for the
//!   password instead of the client retrying.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::NetError;
use super::tls::{TlsTrust, client_config};
use super::tokens::{TokenError, Tokens, now_ms};
use crate::protocol::{
    Aggregation, AlarmData, AlarmDataQuery, AttributeScope, EntityCountQuery, EntityDataQuery,
    EntityId, LoginRequest, LoginResponse, Notification, PageData, RefreshTokenRequest, RestError,
    TwoFaProviderInfo, TwoFaProviderType, User,
};

/// Timeout of one REST request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A login's first step when two-factor authentication is on: the pre-verification token.
#[derive(Clone, PartialEq, Eq)]
pub struct PreAuth {
    token: String,
}

impl std::fmt::Debug for PreAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreAuth(<redacted>)")
    }
}

/// What a login answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in; the client holds the tokens.
    LoggedIn(Box<Tokens>),
    /// A second factor is needed: list the providers, send a code, check it.
    SecondFactor(PreAuth),
}

/// Query parameters of `GET /api/notifications`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationQuery {
    /// Rows per page (at least 1).
    pub page_size: u32,
    /// Zero-based page.
    pub page: u32,
    /// Only unread notifications.
    pub unread_only: bool,
    /// Text search.
    pub text_search: Option<String>,
}

/// Query parameters of `GET .../values/timeseries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeseriesQuery {
    /// Keys to read.
    pub keys: Vec<String>,
    /// Start (epoch ms, inclusive).
    pub start_ts: i64,
    /// End (epoch ms).
    pub end_ts: i64,
    /// Aggregation interval in ms (with an aggregation other than NONE).
    pub interval: Option<i64>,
    /// Most points per key.
    pub limit: Option<u32>,
    /// Aggregation.
    pub agg: Option<Aggregation>,
}

/// The keys of `POST /api/entitiesQuery/find/keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct EntityKeys {
    /// Time series keys.
    #[serde(default)]
    pub timeseries: Vec<String>,
    /// Attribute keys (all scopes).
    #[serde(default)]
    pub attribute: Vec<String>,
}

/// The REST client of one server. Cheap to clone; clones share tokens and the refresh.
#[derive(Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    base: reqwest::Url,
    trust: TlsTrust,
    tokens: Mutex<Option<Tokens>>,
    refresh_gate: tokio::sync::Mutex<()>,
}

fn transport(e: &reqwest::Error) -> NetError {
    let text = crate::error_chain(e);
    let lower = text.to_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        NetError::Tls(text)
    } else if e.is_decode() {
        NetError::BadResponse(text)
    } else {
        NetError::Unreachable(text)
    }
}

fn bad(e: impl std::fmt::Display) -> NetError {
    NetError::BadResponse(e.to_string())
}

impl RestClient {
    /// A client for the server at `base_url` (`https://tb.example.com` or `http://…`),
    /// trusting its certificate as `trust` says.
    ///
    /// # Errors
    /// A URL that is not http(s), or a TLS configuration that cannot be built.
    pub fn new(base_url: &str, trust: TlsTrust) -> Result<Self, NetError> {
        let mut base = reqwest::Url::parse(base_url.trim())
            .map_err(|e| NetError::BadUrl(format!("{base_url}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(NetError::BadUrl(format!(
                "{base_url}: use http:// or https:// and a host name"
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        let tls = client_config(&trust).map_err(|e| NetError::Tls(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("tb-monitor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| transport(&e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                trust,
                tokens: Mutex::new(None),
                refresh_gate: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The server's base URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// How this client trusts the server (the WebSocket uses the same).
    #[must_use]
    pub fn trust(&self) -> &TlsTrust {
        &self.inner.trust
    }

    /// The URL of a WebSocket endpoint (`/api/ws`, or a legacy path): `ws://` or `wss://`.
    #[must_use]
    pub fn ws_url(&self, path: &str) -> String {
        let mut url = self.inner.base.clone();
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme).ok();
        url.set_path(&join(url.path(), path));
        url.to_string()
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.inner.base.clone();
        url.set_path(&join(url.path(), path));
        url
    }

    /// The current tokens, if logged in.
    #[must_use]
    pub fn tokens(&self) -> Option<Tokens> {
        self.inner.tokens.lock().ok().and_then(|t| t.clone())
    }

    /// Replaces the tokens (`None` forgets them).
    pub fn set_tokens(&self, tokens: Option<Tokens>) {
        if let Ok(mut t) = self.inner.tokens.lock() {
            *t = tokens;
        }
    }

    async fn send_raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        token: Option<&str>,
    ) -> Result<String, NetError> {
        let mut url = self.url(path);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut req = self.inner.http.request(method, url);
        if let Some(t) = token {
            req = req.header("X-Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| transport(&e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| transport(&e))?;
        if status.is_success() {
            return Ok(text);
        }
        if let Ok(err) = RestError::from_json(&text) {
            return Err(NetError::Server {
                status: status.as_u16(),
                code: err.error_code,
                message: err.message_or_default().to_owned(),
            });
        }
        // A proxy's error page, not ThingsBoard's body: show its start.
        let snippet: String = text.chars().take(200).collect();
        Err(NetError::BadResponse(format!("HTTP {status}: {snippet}")))
    }

    /// Logs in with a password. With 2FA on, the answer asks for a second factor.
    ///
    /// # Errors
    /// The server's refusal (`Invalid username or password`, locked account…), network and
    /// TLS failures, or [`NetError::MfaConfigurationRequired`].
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome, NetError> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let text = self
            .send_raw(Method::POST, "/api/auth/login", &[], Some(&body), None)
            .await?;
        let resp: LoginResponse = serde_json::from_str(&text).map_err(bad)?;
        if resp.needs_second_factor() {
            return Ok(LoginOutcome::SecondFactor(PreAuth { token: resp.token }));
        }
        let tokens = self.accept(&resp)?;
        Ok(LoginOutcome::LoggedIn(Box::new(tokens)))
    }

    fn accept(&self, resp: &LoginResponse) -> Result<Tokens, NetError> {
        let tokens = Tokens::from_login(resp, now_ms()).map_err(|e| match e {
            TokenError::NeedsSecondFactor => NetError::SecondFactorRequired,
            TokenError::NeedsMfaConfiguration => NetError::MfaConfigurationRequired,
            TokenError::Unreadable(m) => NetError::BadResponse(m),
        })?;
        self.set_tokens(Some(tokens.clone()));
        Ok(tokens)
    }

    /// The second factors the user has (`GET /api/auth/2fa/providers`).
    ///
    /// # Errors
    /// Server, network or decoding failures.
    pub async fn two_fa_providers(
        &self,
        pre: &PreAuth,
    ) -> Result<Vec<TwoFaProviderInfo>, NetError> {
        let text = self
            .send_raw::<()>(
                Method::GET,
                "/api/auth/2fa/providers",
                &[],
                None,
                Some(&pre.token),
            )
            .await?;
        serde_json::from_str(&text).map_err(bad)
    }

    /// Asks the server to send a code (e-mail, SMS; TOTP needs none).
    ///
    /// # Errors
    /// Server or network failures (e.g. asked again too soon).
    pub async fn two_fa_send(
        &self,
        pre: &PreAuth,
        provider: &TwoFaProviderType,
    ) -> Result<(), NetError> {
        self.send_raw::<()>(
            Method::POST,
            "/api/auth/2fa/verification/send",
            &[("providerType", provider.as_str().to_owned())],
            None,
            Some(&pre.token),
        )
        .await
        .map(drop)
    }

    /// Checks the code; on success the client is logged in.
    ///
    /// # Errors
    /// `Verification code is incorrect` (400) and other server or network failures.
    pub async fn two_fa_check(
        &self,
        pre: &PreAuth,
        provider: &TwoFaProviderType,
        code: &str,
    ) -> Result<Tokens, NetError> {
        let text = self
            .send_raw::<()>(
                Method::POST,
                "/api/auth/2fa/verification/check",
                &[
                    ("providerType", provider.as_str().to_owned()),
                    ("verificationCode", code.trim().to_owned()),
                ],
                None,
                Some(&pre.token),
            )
            .await?;
        let resp: LoginResponse = serde_json::from_str(&text).map_err(bad)?;
        self.accept(&resp)
    }

    /// Logs in with a refresh token kept from an earlier run (no password needed).
    ///
    /// # Errors
    /// [`NetError::SessionExpired`] when the server refuses the token; network failures.
    pub async fn resume(&self, refresh_token: &str) -> Result<Tokens, NetError> {
        let _gate = self.inner.refresh_gate.lock().await;
        self.refresh_with(refresh_token).await
    }

    async fn refresh_with(&self, refresh_token: &str) -> Result<Tokens, NetError> {
        let body = RefreshTokenRequest {
            refresh_token: refresh_token.to_owned(),
        };
        match self
            .send_raw(Method::POST, "/api/auth/token", &[], Some(&body), None)
            .await
        {
            Ok(text) => {
                let resp: LoginResponse = serde_json::from_str(&text).map_err(bad)?;
                self.accept(&resp)
            }
            Err(NetError::Server { status: 401, .. }) => {
                self.set_tokens(None);
                Err(NetError::SessionExpired)
            }
            Err(e) => Err(e),
        }
    }

    /// Refreshes the token pair, sharing one request among concurrent callers: a caller
    /// that waited while another refreshed gets that result without a second request.
    ///
    /// # Errors
    /// [`NetError::NotLoggedIn`], [`NetError::SessionExpired`] (the password is needed), or a
    /// network failure (the old tokens are kept: try again later).
    pub async fn refresh(&self) -> Result<Tokens, NetError> {
        let before = self.tokens().ok_or(NetError::NotLoggedIn)?;
        let _gate = self.inner.refresh_gate.lock().await;
        let current = self.tokens().ok_or(NetError::NotLoggedIn)?;
        if current.access() != before.access() && current.is_valid_at(now_ms()) {
            return Ok(current);
        }
        let refresh = current
            .refresh()
            .ok_or(NetError::SessionExpired)?
            .to_owned();
        self.refresh_with(&refresh).await
    }

    /// An access token good for a request now, refreshed first if it is about to expire.
    ///
    /// # Errors
    /// As [`RestClient::refresh`].
    pub async fn fresh_access_token(&self) -> Result<String, NetError> {
        let tokens = self.tokens().ok_or(NetError::NotLoggedIn)?;
        if tokens.is_valid_at(now_ms()) {
            return Ok(tokens.access().to_owned());
        }
        Ok(self.refresh().await?.access().to_owned())
    }

    /// Logs out on the server (its tokens become "outdated") and forgets the tokens.
    ///
    /// # Errors
    /// Network failures; the local tokens are forgotten anyway.
    pub async fn logout(&self) -> Result<(), NetError> {
        let token = self.tokens().map(|t| t.access().to_owned());
        self.set_tokens(None);
        match token {
            Some(t) => self
                .send_raw::<()>(Method::POST, "/api/auth/logout", &[], None, Some(&t))
                .await
                .map(drop),
            None => Ok(()),
        }
    }

    /// An authenticated request: a fresh token first; a 401 "token expired" refreshes and
    /// retries once.
    async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<String, NetError> {
        let token = self.fresh_access_token().await?;
        match self
            .send_raw(method.clone(), path, query, body, Some(&token))
            .await
        {
            Err(e) if e.is_token_expired() => {
                let token = self.refresh().await?.access().to_owned();
                self.send_raw(method, path, query, body, Some(&token)).await
            }
            other => other,
        }
    }

    async fn call_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, NetError> {
        let text = self.call(method, path, query, body).await?;
        serde_json::from_str(&text).map_err(bad)
    }

    /// `GET` a JSON document at `path` (for calls this client does not wrap).
    ///
    /// # Errors
    /// Server, network, token or decoding failures.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, NetError> {
        self.call_json::<T, ()>(Method::GET, path, query, None)
            .await
    }

    /// The logged-in user (`GET /api/auth/user`).
    ///
    /// # Errors
    /// Server, network, token or decoding failures.
    pub async fn current_user(&self) -> Result<User, NetError> {
        self.get_json("/api/auth/user", &[]).await
    }

    /// Acknowledges an alarm; answers its updated info.
    ///
    /// # Errors
    /// `Alarm was already acknowledged!` (400), not found (404), network failures.
    pub async fn ack_alarm(&self, id: Uuid) -> Result<AlarmData, NetError> {
        self.call_json::<_, ()>(Method::POST, &format!("/api/alarm/{id}/ack"), &[], None)
            .await
    }

    /// Clears an alarm; answers its updated info.
    ///
    /// # Errors
    /// `Alarm was already cleared!` (400), not found (404), network failures.
    pub async fn clear_alarm(&self, id: Uuid) -> Result<AlarmData, NetError> {
        self.call_json::<_, ()>(Method::POST, &format!("/api/alarm/{id}/clear"), &[], None)
            .await
    }

    /// Assigns an alarm to a user.
    ///
    /// # Errors
    /// Not found, permission and network failures.
    pub async fn assign_alarm(&self, id: Uuid, user: Uuid) -> Result<AlarmData, NetError> {
        self.call_json::<_, ()>(
            Method::POST,
            &format!("/api/alarm/{id}/assign/{user}"),
            &[],
            None,
        )
        .await
    }

    /// Removes an alarm's assignee.
    ///
    /// # Errors
    /// Not found, permission and network failures.
    pub async fn unassign_alarm(&self, id: Uuid) -> Result<AlarmData, NetError> {
        self.call_json::<_, ()>(
            Method::DELETE,
            &format!("/api/alarm/{id}/assign"),
            &[],
            None,
        )
        .await
    }

    /// One alarm's info.
    ///
    /// # Errors
    /// Not found and network failures.
    pub async fn alarm_info(&self, id: Uuid) -> Result<AlarmData, NetError> {
        self.get_json(&format!("/api/alarm/info/{id}"), &[]).await
    }

    /// An alarm query (`POST /api/alarmsQuery/find`).
    ///
    /// # Errors
    /// Query validation, network and decoding failures.
    pub async fn find_alarms(
        &self,
        query: &AlarmDataQuery,
    ) -> Result<PageData<AlarmData>, NetError> {
        self.call_json(Method::POST, "/api/alarmsQuery/find", &[], Some(query))
            .await
    }

    /// An entity query (`POST /api/entitiesQuery/find`).
    ///
    /// # Errors
    /// Query validation, network and decoding failures.
    pub async fn find_entities(
        &self,
        query: &EntityDataQuery,
    ) -> Result<PageData<crate::protocol::EntityData>, NetError> {
        self.call_json(Method::POST, "/api/entitiesQuery/find", &[], Some(query))
            .await
    }

    /// The time series and attribute keys of the entities a query matches
    /// (`POST /api/entitiesQuery/find/keys`): what the query builder offers as columns.
    ///
    /// # Errors
    /// Query validation, network and decoding failures.
    pub async fn find_entity_keys(&self, query: &EntityDataQuery) -> Result<EntityKeys, NetError> {
        self.call_json(
            Method::POST,
            "/api/entitiesQuery/find/keys",
            &[
                ("timeseries", "true".to_owned()),
                ("attributes", "true".to_owned()),
            ],
            Some(query),
        )
        .await
    }

    /// How many entities a query matches (`POST /api/entitiesQuery/count`).
    ///
    /// # Errors
    /// Query validation, network and decoding failures.
    pub async fn count_entities(&self, query: &EntityCountQuery) -> Result<i64, NetError> {
        self.call_json(Method::POST, "/api/entitiesQuery/count", &[], Some(query))
            .await
    }

    /// The caller's notifications, newest first (`GET /api/notifications`, web delivery).
    ///
    /// # Errors
    /// Network and decoding failures.
    pub async fn notifications(
        &self,
        q: &NotificationQuery,
    ) -> Result<PageData<Notification>, NetError> {
        let mut query = vec![
            ("pageSize", q.page_size.max(1).to_string()),
            ("page", q.page.to_string()),
            ("sortProperty", "createdTime".to_owned()),
            ("sortOrder", "DESC".to_owned()),
            ("unreadOnly", q.unread_only.to_string()),
            ("deliveryMethod", "WEB".to_owned()),
        ];
        if let Some(t) = q.text_search.as_deref().filter(|t| !t.trim().is_empty()) {
            query.push(("textSearch", t.trim().to_owned()));
        }
        self.get_json("/api/notifications", &query).await
    }

    /// The unread count (web delivery; the endpoint's default would be the mobile app's).
    ///
    /// # Errors
    /// Network and decoding failures.
    pub async fn unread_notifications(&self) -> Result<i64, NetError> {
        self.get_json(
            "/api/notifications/unread/count",
            &[("deliveryMethod", "WEB".to_owned())],
        )
        .await
    }

    /// Marks one notification read.
    ///
    /// # Errors
    /// Not found and network failures.
    pub async fn mark_notification_read(&self, id: Uuid) -> Result<(), NetError> {
        self.call::<()>(
            Method::PUT,
            &format!("/api/notification/{id}/read"),
            &[],
            None,
        )
        .await
        .map(drop)
    }

    /// Marks every notification read.
    ///
    /// # Errors
    /// Network failures.
    pub async fn mark_all_notifications_read(&self) -> Result<(), NetError> {
        self.call::<()>(
            Method::PUT,
            "/api/notifications/read",
            &[("deliveryMethod", "WEB".to_owned())],
            None,
        )
        .await
        .map(drop)
    }

    /// Deletes a notification.
    ///
    /// # Errors
    /// Not found and network failures.
    pub async fn delete_notification(&self, id: Uuid) -> Result<(), NetError> {
        self.call::<()>(
            Method::DELETE,
            &format!("/api/notification/{id}"),
            &[],
            None,
        )
        .await
        .map(drop)
    }

    fn telemetry_path(entity: &EntityId, tail: &str) -> String {
        format!(
            "/api/plugins/telemetry/{}/{}/{tail}",
            entity.entity_type.as_str(),
            entity.id
        )
    }

    /// The time-series keys an entity has.
    ///
    /// # Errors
    /// Network and decoding failures.
    pub async fn timeseries_keys(&self, entity: &EntityId) -> Result<Vec<String>, NetError> {
        self.get_json(&Self::telemetry_path(entity, "keys/timeseries"), &[])
            .await
    }

    /// The attribute keys an entity has (all scopes, or one).
    ///
    /// # Errors
    /// Network and decoding failures.
    pub async fn attribute_keys(
        &self,
        entity: &EntityId,
        scope: Option<&AttributeScope>,
    ) -> Result<Vec<String>, NetError> {
        let tail = match scope {
            Some(s) => format!("keys/attributes/{}", s.as_str()),
            None => "keys/attributes".to_owned(),
        };
        self.get_json(&Self::telemetry_path(entity, &tail), &[])
            .await
    }

    /// Time-series values: per key, points newest first (`{key: [{ts, value}]}`).
    ///
    /// # Errors
    /// Query validation (e.g. too many intervals), network and decoding failures.
    pub async fn timeseries_values(
        &self,
        entity: &EntityId,
        q: &TimeseriesQuery,
    ) -> Result<std::collections::BTreeMap<String, Vec<crate::protocol::TsValue>>, NetError> {
        let mut query = vec![
            ("keys", q.keys.join(",")),
            ("startTs", q.start_ts.to_string()),
            ("endTs", q.end_ts.to_string()),
        ];
        if let Some(i) = q.interval {
            query.push(("interval", i.to_string()));
        }
        if let Some(l) = q.limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(a) = &q.agg {
            query.push(("agg", a.as_str().to_owned()));
        }
        self.get_json(&Self::telemetry_path(entity, "values/timeseries"), &query)
            .await
    }

    /// Attribute values (`[{key, value, lastUpdateTs}]`), of all scopes or one.
    ///
    /// # Errors
    /// Network and decoding failures.
    pub async fn attribute_values(
        &self,
        entity: &EntityId,
        scope: Option<&AttributeScope>,
        keys: &[String],
    ) -> Result<Vec<serde_json::Value>, NetError> {
        let tail = match scope {
            Some(s) => format!("values/attributes/{}", s.as_str()),
            None => "values/attributes".to_owned(),
        };
        let query: Vec<(&str, String)> = if keys.is_empty() {
            Vec::new()
        } else {
            vec![("keys", keys.join(","))]
        };
        self.get_json(&Self::telemetry_path(entity, &tail), &query)
            .await
    }
}

/// `base` path + `path`, with exactly one slash between them.
fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_a_base_path_and_switch_to_ws_schemes() {
        let c = RestClient::new("https://tb.example.com/tb/", TlsTrust::System).unwrap();
        assert_eq!(c.base_url(), "https://tb.example.com/tb");
        assert_eq!(
            c.url("/api/auth/login").as_str(),
            "https://tb.example.com/tb/api/auth/login"
        );
        assert_eq!(c.ws_url("/api/ws"), "wss://tb.example.com/tb/api/ws");
        let plain = RestClient::new("http://127.0.0.1:8080", TlsTrust::System).unwrap();
        assert_eq!(plain.ws_url("/api/ws"), "ws://127.0.0.1:8080/api/ws");
    }

    #[test]
    fn non_http_urls_are_refused_with_a_clear_error() {
        for url in ["ftp://tb", "tb.example.com", "", "http://"] {
            let err = RestClient::new(url, TlsTrust::System).unwrap_err();
            assert!(matches!(err, NetError::BadUrl(_)), "{url}: {err:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_tokens() {
        let pre = PreAuth {
            token: "secret-pre-token".into(),
        };
        assert!(!format!("{pre:?}").contains("secret"));
    }
}

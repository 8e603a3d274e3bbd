//! The server's shared state: the tenant, live values, tokens, counters, and the event bus.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;
use uuid::Uuid;

use super::config::{DemoConfig, Limits};
use super::jwt::{JwtKey, TokenError};
use super::latest::LatestStore;
use super::rng::Rng;
use super::series::{Grid, Overlay, SeriesReader};
use super::world::{DemoUser, EntityRecord, World, WorldSpec};
use crate::protocol::{Authority, EntityId, JwtClaims, TsValue};

/// Events the bus holds for its slowest session (see `Shared::new`).
const EVENT_BUS_CAPACITY: usize = 65_536;

/// Points stored per key in addition to the computed signals.
const OVERLAY_CAP: usize = 50_000;

/// What changed, fanned out to every session.
#[derive(Debug, Clone)]
pub enum Event {
    /// New time series points: `(entity, key, point)`.
    Telemetry(Arc<Vec<(EntityId, String, TsValue)>>),
    /// A time series key was deleted.
    TelemetryDeleted {
        /// The entity.
        entity: EntityId,
        /// The key.
        key: String,
    },
    /// An attribute changed: `(entity, scope, key, value)`.
    Attribute(Arc<(EntityId, super::world::Scope, String, TsValue)>),
    /// Close every session: with a 1001 close frame (`graceful`) or by dropping the
    /// connection like a dead link.
    DropAll {
        /// Send a close frame first.
        graceful: bool,
    },
    /// Every session stops reading and writing for a while.
    Stall {
        /// How long, in ms.
        for_ms: u64,
    },
    /// Every authenticated session sends this text frame verbatim.
    RawFrame(Arc<String>),
    /// Every session closes with this close frame.
    Close {
        /// The close code.
        code: u16,
        /// The reason (cut to the 123-byte limit when sent).
        reason: Arc<str>,
    },
    /// A user's notification inbox changed.
    Notification(Arc<super::notifications::NotificationChange>),
    /// Alarms changed.
    Alarm(Arc<Vec<super::alarms::AlarmChange>>),
}

/// Counters and recordings of what clients did, for tests.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Successful WebSocket authentications.
    pub ws_sessions_opened: u64,
    /// WebSocket upgrade attempts (refused ones included).
    pub ws_connection_attempts: u64,
    /// Sessions currently open.
    pub ws_sessions_open: u64,
    /// The last [`MAX_RECORDED_COMMANDS`] commands received, as JSON text, in order.
    pub commands: std::collections::VecDeque<String>,
    /// Commands received in all.
    pub commands_total: u64,
    /// Authenticated sessions open per customer (customer users only).
    pub customer_sessions: std::collections::HashMap<Uuid, u64>,
    /// Messages dropped by the per-session update rate limit.
    pub updates_rate_limited: u64,
    /// REST logins that succeeded.
    pub logins: u64,
    /// REST token refreshes that succeeded.
    pub refreshes: u64,
    /// REST token refreshes refused (unreadable body, or a refresh token that is invalid,
    /// expired or outdated).
    pub refresh_failures: u64,
    /// Live subscriptions over all sessions (entity data, counts, v1, notifications).
    pub live_subscriptions: u64,
    /// Simulation ticks run.
    pub sim_ticks: u64,
    /// Time spent in simulation ticks (µs).
    pub sim_busy_us: u64,
    /// Longest simulation tick (µs).
    pub sim_max_tick_us: u64,
    /// Points the simulation produced.
    pub sim_points: u64,
}

/// How many received commands [`Stats::commands`] keeps (a long demo run stays bounded).
pub const MAX_RECORDED_COMMANDS: usize = 10_000;

impl Stats {
    /// Records a received command, forgetting the oldest past [`MAX_RECORDED_COMMANDS`].
    pub fn record_command(&mut self, text: String) {
        if self.commands.len() >= MAX_RECORDED_COMMANDS {
            self.commands.pop_front();
        }
        self.commands.push_back(text);
        self.commands_total += 1;
    }
}

/// How many issued tokens `DemoControl` can still expire or revoke (older ones are forgotten).
pub const MAX_TRACKED_TOKENS: usize = 100_000;

/// The signature part of a JWT: unique per token, short to keep.
fn signature(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or(token)
}

/// Mutable server state behind one lock. Never held across an await.
#[derive(Debug)]
pub struct State {
    /// The tenant.
    pub world: World,
    /// Latest time series values.
    pub latest: LatestStore,
    /// Stored points.
    pub overlay: Overlay,
    /// Login sessions (`sessionId` claims) ended by logout or revocation.
    pub revoked_sessions: HashSet<Uuid>,
    /// Every token issued, by signature, oldest first (bounded by [`MAX_TRACKED_TOKENS`]),
    /// with whether it is a refresh token: what `DemoControl` expires or revokes.
    pub issued_tokens: std::collections::VecDeque<(String, bool)>,
    /// Signatures of tokens treated as expired before their `exp` (`DemoControl`).
    pub expired_tokens: HashSet<String>,
    /// Signatures of tokens that are "outdated" (revoked by `DemoControl`).
    pub outdated_tokens: HashSet<String>,
    /// Logins to reject before accepting again.
    pub reject_logins: u32,
    /// Refuse WebSocket and REST connections until then (a restart).
    pub refuse_until: Option<Instant>,
    /// Counters for tests.
    pub stats: Stats,
    /// Current limits (tests change them at run time).
    pub limits: Limits,
    /// For random ids.
    pub rng: Rng,
    /// New `ENTITY_DATA` subscriptions get one `update` before their `data` (§4.1's race).
    pub premature_updates: bool,
    /// Every user's notifications.
    pub notifications: super::notifications::NotificationStore,
    /// Every alarm.
    pub alarms: super::alarms::AlarmStore,
    /// The alarm states notifications were last sent for.
    pub alarm_seen: super::effects::AlarmSeen,
    /// Devices currently reporting (false while offline).
    pub device_active: std::collections::HashMap<EntityId, bool>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    /// Event bus to the sessions.
    pub events: broadcast::Sender<Event>,
    /// Token key.
    pub key: JwtKey,
    /// Configuration at start.
    pub config: DemoConfig,
}

/// The identity a valid access token carries.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: DemoUser,
    /// The token's claims.
    pub claims: JwtClaims,
}

/// Why a token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Empty token.
    Empty,
    /// Unreadable.
    Malformed,
    /// Expired or badly signed.
    Expired,
    /// Issued before a logout or revocation.
    Outdated,
    /// Valid token, but not for this purpose (a refresh token used as access token, …).
    WrongScope,
}

/// Wall-clock now in epoch milliseconds.
#[must_use]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Shared {
    /// Builds the state for `config`.
    #[must_use]
    pub fn new(config: DemoConfig) -> Self {
        let world = World::generate(WorldSpec {
            seed: config.seed,
            devices: config.devices,
            now_ms: now_ms(),
        });
        let mut rng = Rng::new(config.seed ^ 0x5EED);
        let mut secret = [0u8; 64];
        for chunk in secret.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        // Secrets differ per process so tokens of an earlier run are not accepted.
        let salt = u64::try_from(now_ms()).unwrap_or(0);
        secret[..8].copy_from_slice(&(rng.next_u64() ^ salt).to_le_bytes());
        // Room for a burst: a session more than this many events behind is closed as one
        // whose queue overflowed (1008). 64k events ride out a 0.6 s scheduling stall at
        // 100k points/s; each slot is an `Arc` or a few words.
        let (events, _) = broadcast::channel(EVENT_BUS_CAPACITY);
        let state = State {
            world,
            latest: LatestStore::new(),
            overlay: Overlay::new(OVERLAY_CAP),
            revoked_sessions: HashSet::new(),
            issued_tokens: std::collections::VecDeque::new(),
            expired_tokens: HashSet::new(),
            outdated_tokens: HashSet::new(),
            reject_logins: 0,
            refuse_until: None,
            stats: Stats::default(),
            limits: config.limits.clone(),
            rng,
            premature_updates: false,
            notifications: super::notifications::NotificationStore::new(),
            alarms: super::alarms::AlarmStore::new(),
            alarm_seen: std::collections::HashMap::new(),
            device_active: std::collections::HashMap::new(),
        };
        let shared = Self {
            state: Mutex::new(state),
            events,
            key: JwtKey::new(&secret),
            config,
        };
        shared.seed_latest();
        {
            let mut st = shared.lock();
            let State {
                notifications,
                rng,
                world,
                ..
            } = &mut *st;
            super::notifications::seed(notifications, rng, world, now_ms());
        }
        {
            let mut st = shared.lock();
            let State {
                alarms,
                rng,
                world,
                alarm_seen,
                ..
            } = &mut *st;
            super::alarms::seed(alarms, rng, world, now_ms());
            // Seeded alarms are history: no notification for them.
            for a in alarms.alarms() {
                alarm_seen.insert(a.id, (a.severity.clone(), a.acknowledged, a.cleared));
            }
        }
        shared
    }

    /// Locks the state. A panic elsewhere cannot poison it for good: the data stays usable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The computed-point grid as of now.
    #[must_use]
    pub fn grid(&self) -> Grid {
        let now = now_ms();
        Grid {
            period_ms: self.config.period_ms(),
            since_ms: now - i64::try_from(self.config.history.as_millis()).unwrap_or(i64::MAX),
            until_ms: now,
        }
    }

    /// Fills the latest values from the history so queries see data at once.
    fn seed_latest(&self) {
        let grid = self.grid();
        let mut st = self.lock();
        let State {
            world,
            latest,
            overlay,
            ..
        } = &mut *st;
        for e in world.devices() {
            for signal in super::signals::profile_signals(&e.profile) {
                let reader = SeriesReader {
                    entity: e,
                    key: signal.key,
                    grid,
                    overlay,
                };
                if let Some(p) = reader.latest_at(grid.until_ms) {
                    latest.offer(&e.id, signal.key, p);
                }
            }
        }
    }

    /// Issues an access and a refresh token for `user` (a new login session).
    pub fn issue_tokens(&self, user: &DemoUser) -> (String, String) {
        let session_id = self.lock().rng.uuid();
        self.issue_tokens_for_session(user, session_id)
    }

    /// Issues a token pair within an existing login session (refresh).
    pub fn issue_tokens_for_session(&self, user: &DemoUser, session_id: Uuid) -> (String, String) {
        let now_s = now_ms() / 1000;
        let ttl = i64::try_from(self.config.token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let refresh_ttl = i64::try_from(self.config.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let tenant_id = self.lock().world.tenant_id;
        let access = JwtClaims {
            sub: Some(user.email.clone()),
            user_id: Some(user.id),
            scopes: vec![user.authority.clone()],
            session_id: Some(session_id),
            exp: now_s + ttl,
            iss: Some("thingsboard.io".to_owned()),
            iat: now_s,
            first_name: Some(user.first_name.clone()),
            last_name: Some(user.last_name.clone()),
            enabled: Some(true),
            is_public: Some(false),
            tenant_id: Some(tenant_id),
            customer_id: Some(user.customer_id.unwrap_or(crate::protocol::NULL_UUID)),
            jti: None,
        };
        let jti = self.lock().rng.uuid();
        let refresh = JwtClaims {
            sub: Some(user.email.clone()),
            user_id: Some(user.id),
            scopes: vec![Authority::RefreshToken],
            session_id: Some(session_id),
            exp: now_s + refresh_ttl,
            iss: Some("thingsboard.io".to_owned()),
            iat: now_s,
            first_name: None,
            last_name: None,
            enabled: None,
            is_public: Some(false),
            tenant_id: None,
            customer_id: None,
            jti: Some(jti.to_string()),
        };
        let pair = (self.key.sign(&access), self.key.sign(&refresh));
        let mut st = self.lock();
        st.track_token(&pair.0, false);
        st.track_token(&pair.1, true);
        pair
    }

    /// A short-lived token that only allows the 2FA endpoints.
    pub fn issue_pre_verification_token(&self, user: &DemoUser) -> String {
        let now_s = now_ms() / 1000;
        let session_id = self.lock().rng.uuid();
        let token = self.key.sign(&JwtClaims {
            sub: Some(user.email.clone()),
            user_id: Some(user.id),
            scopes: vec![Authority::PreVerificationToken],
            session_id: Some(session_id),
            exp: now_s + 1800,
            iss: Some("thingsboard.io".to_owned()),
            iat: now_s,
            first_name: None,
            last_name: None,
            enabled: Some(true),
            is_public: Some(false),
            tenant_id: None,
            customer_id: None,
            jti: None,
        });
        self.lock().track_token(&token, false);
        token
    }

    /// Checks a token and that it carries `scope` (`None` = any user authority).
    ///
    /// # Errors
    /// Why the token is refused.
    pub fn authenticate(
        &self,
        token: &str,
        scope: Option<&Authority>,
    ) -> Result<Principal, AuthFailure> {
        if token.trim().is_empty() {
            return Err(AuthFailure::Empty);
        }
        let now_s = now_ms() / 1000;
        let claims = self.key.verify(token, now_s).map_err(|e| match e {
            TokenError::Malformed => AuthFailure::Malformed,
            TokenError::Expired => AuthFailure::Expired,
        })?;
        let st = self.lock();
        let sig = signature(token);
        if st.expired_tokens.contains(sig) {
            return Err(AuthFailure::Expired);
        }
        if st.outdated_tokens.contains(sig)
            || claims
                .session_id
                .is_some_and(|s| st.revoked_sessions.contains(&s))
        {
            return Err(AuthFailure::Outdated);
        }
        let ok_scope = match scope {
            Some(s) => claims.scopes.contains(s),
            None => claims.scopes.iter().any(|s| {
                matches!(
                    s,
                    Authority::TenantAdmin | Authority::CustomerUser | Authority::SysAdmin
                )
            }),
        };
        if !ok_scope {
            return Err(AuthFailure::WrongScope);
        }
        let user = claims
            .user_id
            .and_then(|id| st.world.user(id).cloned())
            .ok_or(AuthFailure::Malformed)?;
        Ok(Principal { user, claims })
    }

    /// Sends an event to every session (none listening is fine).
    pub fn publish(&self, event: Event) {
        self.events.send(event).ok();
    }
}

impl State {
    /// The entity-query context of `user` at this moment.
    #[must_use]
    pub fn query_context<'a>(&'a self, user: &'a DemoUser) -> super::query::QueryContext<'a> {
        super::query::QueryContext {
            world: &self.world,
            user,
            latest: &self.latest,
            now_ms: now_ms(),
        }
    }

    fn track_token(&mut self, token: &str, refresh: bool) {
        if self.issued_tokens.len() >= MAX_TRACKED_TOKENS
            && let Some((old, _)) = self.issued_tokens.pop_front()
        {
            self.expired_tokens.remove(&old);
            self.outdated_tokens.remove(&old);
        }
        self.issued_tokens
            .push_back((signature(token).to_owned(), refresh));
    }

    /// Signatures of the tokens issued so far (access tokens only, or refresh tokens too).
    fn issued(&self, refresh_too: bool) -> Vec<String> {
        self.issued_tokens
            .iter()
            .filter(|(_, refresh)| refresh_too || !refresh)
            .map(|(sig, _)| sig.clone())
            .collect()
    }

    /// Every access token issued so far counts as expired; refresh tokens still work.
    pub fn expire_access_tokens(&mut self) {
        let sigs = self.issued(false);
        self.expired_tokens.extend(sigs);
    }

    /// Every token issued so far, refresh tokens included, counts as expired.
    pub fn expire_all_tokens(&mut self) {
        let sigs = self.issued(true);
        self.expired_tokens.extend(sigs);
    }

    /// Every token issued so far is outdated (as after a password change).
    pub fn revoke_all_tokens(&mut self) {
        let sigs = self.issued(true);
        self.outdated_tokens.extend(sigs);
    }
}

/// The entity's reader for `key` on `grid`.
#[must_use]
pub fn reader<'a>(
    st: &'a State,
    e: &'a EntityRecord,
    key: &'a str,
    grid: Grid,
) -> SeriesReader<'a> {
    SeriesReader {
        entity: e,
        key,
        grid,
        overlay: &st.overlay,
    }
}

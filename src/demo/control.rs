//! [`DemoControl`]: what tests (and the demo UI) do to the server from the outside.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::Limits;
use super::state::{Event, Shared, Stats, now_ms};
use super::world::Scope;
use crate::protocol::{EntityId, TbValue, TsValue};

/// A cheap, clonable handle to a running [`super::DemoServer`].
#[derive(Debug, Clone)]
pub struct DemoControl {
    shared: Arc<Shared>,
}

/// A device of the simulated tenant, for tests picking targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Its id.
    pub id: EntityId,
    /// Its name.
    pub name: String,
    /// Its profile (`thermostat`, `water-pump`, `energy-meter`, `gateway`).
    pub profile: String,
    /// Whether the customer owns it.
    pub customer_owned: bool,
}

impl DemoControl {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The devices of the tenant, in creation order.
    #[must_use]
    pub fn devices(&self) -> Vec<DeviceInfo> {
        let st = self.shared.lock();
        st.world
            .devices()
            .map(|e| DeviceInfo {
                id: e.id.clone(),
                name: e.name.clone(),
                profile: e.profile.clone(),
                customer_owned: e.customer_id.is_some(),
            })
            .collect()
    }

    /// The id of the entity named `name`.
    #[must_use]
    pub fn entity_id(&self, name: &str) -> Option<EntityId> {
        let st = self.shared.lock();
        st.world
            .entities
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.id.clone())
    }

    /// Pushes a time series point now (`ts` = now) and returns it.
    pub fn push_telemetry(
        &self,
        entity: &EntityId,
        key: &str,
        value: impl Into<TbValue>,
    ) -> TsValue {
        self.push_point(entity, key, now_ms(), value)
    }

    /// Pushes a time series point at `ts`: stored, made latest if newest, sent to subscribers.
    pub fn push_point(
        &self,
        entity: &EntityId,
        key: &str,
        ts: i64,
        value: impl Into<TbValue>,
    ) -> TsValue {
        let value = value.into();
        let point = TsValue::new(ts, value.clone());
        let batch = vec![(entity.clone(), key.to_owned(), point.clone())];
        let effects = {
            let mut st = self.shared.lock();
            st.overlay.insert(entity, key, ts, value);
            st.latest.offer(entity, key, point.clone());
            super::effects::on_points(&mut st, &batch, now_ms())
        };
        self.shared.publish(Event::Telemetry(Arc::new(batch)));
        effects.publish(&self.shared);
        point
    }

    /// Deletes a time series key (history and latest); subscribers get `{"ts":0,"value":""}`.
    pub fn delete_telemetry(&self, entity: &EntityId, key: &str) {
        {
            let mut st = self.shared.lock();
            st.overlay.delete(entity, key, now_ms());
            st.latest.delete(entity, key);
        }
        self.shared.publish(Event::TelemetryDeleted {
            entity: entity.clone(),
            key: key.to_owned(),
        });
    }

    /// Sets an attribute now and notifies subscribers.
    pub fn set_attribute(&self, entity: &EntityId, scope: Scope, key: &str, value: &str) {
        let ts = now_ms();
        self.shared
            .lock()
            .world
            .set_attr(entity, scope, key, value.to_owned(), ts);
        self.shared.publish(Event::Attribute(Arc::new((
            entity.clone(),
            scope,
            key.to_owned(),
            TsValue::new(ts, value),
        ))));
    }

    /// Closes every session: with a 1001 close frame, or (`graceful` false) by dropping
    /// the TCP connections like a dead link.
    pub fn drop_connections(&self, graceful: bool) {
        self.shared.publish(Event::DropAll { graceful });
    }

    /// Drops every connection and refuses new ones for `duration` (a server restart).
    pub fn restart(&self, duration: Duration) {
        self.shared.lock().refuse_until = Some(Instant::now() + duration);
        self.drop_connections(false);
    }

    /// Every session stops reading and writing for `duration` (a stalled link).
    pub fn stall_sessions(&self, duration: Duration) {
        let for_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self.shared.publish(Event::Stall { for_ms });
    }

    /// Closes every WebSocket session with this close frame, as the server does on its own
    /// for a ping timeout (4500), a failing command (1012), an internal error (1011) or a
    /// policy (1008). The reason is cut to the 123-byte limit of a close frame.
    pub fn close_sessions(&self, code: u16, reason: &str) {
        self.shared.publish(Event::Close {
            code,
            reason: Arc::from(reason),
        });
    }

    /// Every session sends `text` verbatim (malformed, oversized or unknown frames).
    pub fn send_raw_frame(&self, text: impl Into<String>) {
        self.shared.publish(Event::RawFrame(Arc::new(text.into())));
    }

    /// Every token issued so far, refresh tokens included, is treated as expired (as if the
    /// clock jumped past both lifetimes). Tokens issued afterwards are valid.
    pub fn expire_tokens(&self) {
        self.shared.lock().expire_all_tokens();
    }

    /// Every access token issued so far is treated as expired; refresh tokens still work
    /// (what a client sees when it slept past its access token's lifetime).
    pub fn expire_access_tokens(&self) {
        self.shared.lock().expire_access_tokens();
    }

    /// Every token issued so far is outdated (as after a password change). Tokens issued
    /// afterwards are valid.
    pub fn revoke_tokens(&self) {
        self.shared.lock().revoke_all_tokens();
    }

    /// The signature part of every token issued so far (access, refresh and 2FA tokens),
    /// oldest first, bounded like the tokens `DemoControl` can expire. The demo keeps only
    /// signatures: each is unique to its token and is found in any copy of the whole token
    /// (a copy of a token's first part alone is not; grep for `eyJ` runs for those).
    #[must_use]
    pub fn issued_token_signatures(&self) -> Vec<String> {
        let st = self.shared.lock();
        st.issued_tokens
            .iter()
            .map(|(sig, _)| sig.clone())
            .collect()
    }

    /// Sets the password of the user with this e-mail (logins from now on need it; tokens
    /// already issued stay valid). Returns `false` for an unknown user.
    #[allow(clippy::must_use_candidate)] // called for its effect
    pub fn set_password(&self, email: &str, password: &str) -> bool {
        let mut st = self.shared.lock();
        match st
            .world
            .users
            .iter_mut()
            .find(|u| u.email.eq_ignore_ascii_case(email))
        {
            Some(user) => {
                password.clone_into(&mut user.password);
                true
            }
            None => false,
        }
    }

    /// The next `n` logins fail with "Invalid username or password".
    pub fn reject_next_logins(&self, n: u32) {
        self.shared.lock().reject_logins = n;
    }

    /// New `ENTITY_DATA` subscriptions get one `update` before their `data` (the race of §4.1).
    pub fn premature_updates(&self, on: bool) {
        self.shared.lock().premature_updates = on;
    }

    /// Changes limits for sessions opened from now on (and session counting at once).
    pub fn set_limits(&self, change: impl FnOnce(&mut Limits)) {
        change(&mut self.shared.lock().limits);
    }

    /// Pushes `per_second` points spread over the devices for `duration`, in 10 ms slices.
    #[allow(clippy::must_use_candidate)] // the flood runs whether or not it is awaited
    pub fn flood(&self, per_second: u32, duration: Duration) -> tokio::task::JoinHandle<()> {
        let control = self.clone();
        tokio::spawn(async move {
            let devices = control.devices();
            if devices.is_empty() {
                return;
            }
            let start = Instant::now();
            let mut sent: u64 = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            while start.elapsed() < duration {
                tick.tick().await;
                let due = u64::try_from(start.elapsed().as_millis())
                    .unwrap_or(u64::MAX)
                    .saturating_mul(u64::from(per_second))
                    / 1000;
                let mut batch = Vec::new();
                let ts = now_ms();
                while sent < due {
                    let d = &devices[usize::try_from(sent).unwrap_or(0) % devices.len()];
                    #[allow(clippy::cast_precision_loss)]
                    let v = (sent % 1000) as f64 / 10.0;
                    batch.push((
                        d.id.clone(),
                        "flood".to_owned(),
                        TsValue::new(ts, TbValue::from_f64(v)),
                    ));
                    sent += 1;
                }
                if !batch.is_empty() {
                    {
                        let mut st = control.shared.lock();
                        for (e, k, p) in &batch {
                            st.latest.offer(e, k, p.clone());
                        }
                    }
                    control.shared.publish(Event::Telemetry(Arc::new(batch)));
                }
            }
        })
    }

    /// Sends a notification to the user with this e-mail; returns its id, or `None` for
    /// an unknown user.
    #[allow(clippy::must_use_candidate)] // sending is the point; the id is a convenience
    pub fn send_notification(
        &self,
        email: &str,
        kind: &super::notifications::NewNotification,
    ) -> Option<uuid::Uuid> {
        let change = {
            let mut st = self.shared.lock();
            let user = st.world.user_by_email(email)?.id;
            let super::state::State {
                notifications, rng, ..
            } = &mut *st;
            notifications.create(rng, user, kind, now_ms())
        };
        let id = match &change {
            super::notifications::NotificationChange::Created { notification, .. } => {
                Some(notification.id.id)
            }
            _ => None,
        };
        super::effects::Effects::of_notifications([change]).publish(&self.shared);
        id
    }

    /// The unread WEB notifications of the user with this e-mail.
    #[must_use]
    pub fn unread_notifications(&self, email: &str) -> i64 {
        let st = self.shared.lock();
        st.world
            .user_by_email(email)
            .map_or(0, |u| st.notifications.unread_count(u.id))
    }

    /// Raises (or re-raises, escalating) an alarm on `originator` and returns its id.
    #[allow(clippy::must_use_candidate)] // called for its effect; the id is optional
    pub fn raise_alarm(
        &self,
        originator: &EntityId,
        alarm_type: &str,
        severity: crate::protocol::AlarmSeverity,
        propagate: bool,
    ) -> uuid::Uuid {
        let (id, effects) = {
            let mut st = self.shared.lock();
            let super::state::State {
                alarms, rng, world, ..
            } = &mut *st;
            let change = alarms.raise(
                rng,
                world,
                originator,
                alarm_type,
                severity,
                serde_json::json!({"source": "DemoControl"}),
                propagate,
                now_ms(),
            );
            (
                change.id(),
                super::effects::Effects::of_alarms(&mut st, [change], now_ms()),
            )
        };
        effects.publish(&self.shared);
        id
    }

    /// Clears an alarm; `false` when it does not exist or is already cleared.
    #[allow(clippy::must_use_candidate)] // called for its effect
    pub fn clear_alarm(&self, id: uuid::Uuid) -> bool {
        let effects = {
            let mut st = self.shared.lock();
            let Ok(change) = st.alarms.clear(id, now_ms()) else {
                return false;
            };
            super::effects::Effects::of_alarms(&mut st, [change], now_ms())
        };
        effects.publish(&self.shared);
        true
    }

    /// The latest value of `key` of `entity` as the server holds it (`latestCmd` answers and
    /// updates read it): `(ts, value text)`, the text empty for a point without a value.
    /// `None` when the key has no value. Ground truth for what a client should show.
    #[must_use]
    pub fn latest(&self, entity: &EntityId, key: &str) -> Option<(i64, String)> {
        let st = self.shared.lock();
        st.latest.get(entity, key).map(|p| {
            let text = p.value.as_ref().map(|v| v.as_str().to_owned());
            (p.ts, text.unwrap_or_default())
        })
    }

    /// Counters and recorded commands.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Every command received so far, as JSON text.
    #[must_use]
    pub fn commands_received(&self) -> Vec<String> {
        self.shared.lock().stats.commands.iter().cloned().collect()
    }

    /// Runs one simulation tick at grid time `t` (for tests with `simulate: false`).
    pub fn tick(&self, t: i64) {
        super::sim::tick_once(&self.shared, t);
    }
}

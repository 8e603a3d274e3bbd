//! What a change in the tenant sets off: alarm rules, device activity, notifications.
//!
//! The simulation, `DemoControl` and the REST alarm actions all go through here, so an
//! alarm raised by a telemetry rule, by a test, or acknowledged by a client reaches the
//! alarm subscriptions and the users' notification inboxes the same way.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use super::alarms::{AlarmChange, apply_rules, device_activity};
use super::notifications::{
    AlarmAction, AlarmNotice, DeviceActivityNotice, NewNotification, NotificationChange,
};
use super::state::{Event, Shared, State};
use super::world::Scope;
use crate::protocol::{AlarmSeverity, EntityId, TsValue};

/// What the subscriptions must hear about after a change.
#[derive(Debug, Default)]
pub struct Effects {
    /// Alarm changes.
    pub alarms: Vec<AlarmChange>,
    /// Inbox changes.
    pub notifications: Vec<NotificationChange>,
    /// Attribute changes.
    pub attributes: Vec<(EntityId, Scope, String, TsValue)>,
}

impl Effects {
    /// `changes`, and the `ALARM` notifications they cause.
    pub fn of_alarms(
        st: &mut State,
        changes: impl IntoIterator<Item = AlarmChange>,
        now: i64,
    ) -> Self {
        let changes: Vec<AlarmChange> = changes.into_iter().collect();
        let notifications = notify_alarms(st, &changes, now);
        Self {
            alarms: changes,
            notifications,
            attributes: Vec::new(),
        }
    }

    /// Inbox changes alone (a REST or WebSocket `mark read`, a notification sent by a test).
    pub fn of_notifications(changes: impl IntoIterator<Item = NotificationChange>) -> Self {
        Self {
            notifications: changes.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Appends `other`'s changes to these.
    pub fn extend(&mut self, other: Self) {
        self.alarms.extend(other.alarms);
        self.notifications.extend(other.notifications);
        self.attributes.extend(other.attributes);
    }

    /// Publishes everything to the sessions.
    pub fn publish(self, shared: &Shared) {
        if !self.alarms.is_empty() {
            shared.publish(Event::Alarm(Arc::new(self.alarms)));
        }
        for change in self.notifications {
            shared.publish(Event::Notification(Arc::new(change)));
        }
        for attr in self.attributes {
            shared.publish(Event::Attribute(Arc::new(attr)));
        }
    }
}

/// The state of an alarm a notification was last sent for: (severity, acknowledged, cleared).
pub type AlarmSeen = HashMap<Uuid, (AlarmSeverity, bool, bool)>;

/// New points: alarm rules, and the notifications their alarms cause.
pub fn on_points(st: &mut State, batch: &[(EntityId, String, TsValue)], now: i64) -> Effects {
    let mut changes = Vec::new();
    for (entity, key, point) in batch {
        let Some(value) = &point.value else { continue };
        let State {
            alarms, rng, world, ..
        } = &mut *st;
        changes.extend(apply_rules(
            alarms, rng, world, entity, key, value, point.ts,
        ));
    }
    Effects::of_alarms(st, changes, now)
}

/// A device went offline or came back: its `active` attribute, the `Device Offline` alarm,
/// and `DEVICE_ACTIVITY` notifications.
pub fn on_activity(st: &mut State, device: &EntityId, active: bool, now: i64) -> Effects {
    let value = if active { "true" } else { "false" };
    st.world
        .set_attr(device, Scope::Server, "active", value.to_owned(), now);
    let changes = {
        let State {
            alarms, rng, world, ..
        } = &mut *st;
        device_activity(alarms, rng, world, device, active, now)
    };
    let mut fx = Effects::of_alarms(st, changes, now);
    fx.attributes.push((
        device.clone(),
        Scope::Server,
        "active".to_owned(),
        TsValue::new(now, value),
    ));
    if let Some(e) = st.world.entity(device).cloned() {
        let notice = NewNotification::DeviceActivity(DeviceActivityNotice::of(&e, active));
        for user in recipients(st, &e.id) {
            let State {
                notifications, rng, ..
            } = &mut *st;
            fx.notifications
                .push(notifications.create(rng, user, &notice, now));
        }
    }
    fx
}

/// Users who may see `entity`: every tenant admin, and customer users of its customer.
fn recipients(st: &State, entity: &EntityId) -> Vec<Uuid> {
    let Some(e) = st.world.entity(entity) else {
        return Vec::new();
    };
    st.world
        .users
        .iter()
        .filter(|u| u.totp_secret.is_none() && st.world.visible_to(u, e))
        .map(|u| u.id)
        .collect()
}

/// `ALARM` notifications for alarms that were created, changed severity, or were
/// acknowledged or cleared (not for every repeated raise).
pub fn notify_alarms(st: &mut State, changes: &[AlarmChange], now: i64) -> Vec<NotificationChange> {
    let mut out = Vec::new();
    for change in changes {
        let id = change.id();
        let Some(alarm) = st.alarms.get(id).cloned() else {
            st.alarm_seen.remove(&id);
            continue;
        };
        let now_state = (alarm.severity.clone(), alarm.acknowledged, alarm.cleared);
        let action = match st.alarm_seen.get(&id) {
            None => Some(AlarmAction::Created),
            Some((_, _, false)) if alarm.cleared => Some(AlarmAction::Cleared),
            Some((_, false, _)) if alarm.acknowledged => Some(AlarmAction::Acknowledged),
            Some((sev, _, _)) if *sev != alarm.severity => Some(AlarmAction::SeverityChanged),
            Some(_) => None,
        };
        st.alarm_seen.insert(id, now_state);
        let Some(action) = action else { continue };
        let world = &st.world;
        let (name, label) = world
            .entity(&alarm.originator)
            .map(|e| (e.name.clone(), e.label.clone()))
            .unwrap_or_default();
        let notice = NewNotification::Alarm(AlarmNotice {
            alarm_id: alarm.id,
            alarm_type: alarm.alarm_type.clone(),
            severity: alarm.severity.clone(),
            status: alarm.status(),
            originator: alarm.originator.clone(),
            originator_name: name,
            originator_label: label,
            customer_id: alarm.customer_id,
            action,
            details: Some(alarm.details.clone()),
        });
        for user in recipients(st, &alarm.originator) {
            let State {
                notifications, rng, ..
            } = &mut *st;
            out.push(notifications.create(rng, user, &notice, now));
        }
    }
    out
}

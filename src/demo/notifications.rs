//! The demo server's notification inbox (§4.7, §12 of the protocol reference).
//!
//! Pure code: [`NotificationStore`] keeps every user's WEB notifications, newest first, and
//! reports each change as a [`NotificationChange`]. The WebSocket layer hands those changes
//! to the subscriptions of the user's sessions: [`UnreadSub`] (`NOTIFICATIONS`) turns them
//! into the three message variants of §4.7, [`CountSub`] (`NOTIFICATIONS_COUNT`) into count
//! messages. Changes are self-contained (they carry the type and the unread state of the
//! notifications they concern), so a subscription may process them after the store moved on.
//!
//! The subscription logic follows ThingsBoard's `DefaultNotificationCommandsHandler`:
//! * created → partial update (`update` = the notification);
//! * a shown notification read or deleted, or mark-all-read → full list;
//! * a notification not shown read, or an unread one deleted → count-only;
//! * notifications of a type outside the subscription's `types` → nothing.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::query::page_of;
use super::rng::Rng;
use super::world::{DemoUser, EntityRecord, World};
use crate::protocol::{
    AlarmSeverity, AlarmStatus, EntityId, EntityType, NO_ERROR, Notification,
    NotificationDeliveryMethod, NotificationInfo, NotificationInfoKind, NotificationStatus,
    NotificationType, NotificationsCountKind, NotificationsKind, NotificationsSubCmd, PageData,
    SortDirection, UnreadNotificationsCountUpdate, UnreadNotificationsUpdate,
};

/// Most notifications kept per user; creating one more drops the oldest.
pub const MAX_PER_USER: usize = 1000;

/// What happened to an alarm, as `AlarmNotificationInfo.action` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmAction {
    /// `created`
    Created,
    /// `severity changed`
    SeverityChanged,
    /// `acknowledged`
    Acknowledged,
    /// `cleared`
    Cleared,
    /// `deleted`
    Deleted,
}

impl AlarmAction {
    /// The wire text of `action`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmAction::Created => "created",
            AlarmAction::SeverityChanged => "severity changed",
            AlarmAction::Acknowledged => "acknowledged",
            AlarmAction::Cleared => "cleared",
            AlarmAction::Deleted => "deleted",
        }
    }
}

/// The alarm an `ALARM` notification is about.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmNotice {
    /// The alarm's id.
    pub alarm_id: Uuid,
    /// Alarm type, e.g. `High Temperature`.
    pub alarm_type: String,
    /// Severity (after the change).
    pub severity: AlarmSeverity,
    /// Status (after the change); `acknowledged` and `cleared` derive from it.
    pub status: AlarmStatus,
    /// The originator.
    pub originator: EntityId,
    /// Originator name.
    pub originator_name: String,
    /// Originator label (may be empty).
    pub originator_label: String,
    /// The alarm's customer; `None` when tenant-owned.
    pub customer_id: Option<Uuid>,
    /// What happened.
    pub action: AlarmAction,
    /// The alarm's `details` JSON (flattened to `details.<path>` → string in `info`).
    pub details: Option<Value>,
}

/// The device a `DEVICE_ACTIVITY` notification is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceActivityNotice {
    /// Device id.
    pub device_id: Uuid,
    /// Device name.
    pub device_name: String,
    /// Device type (profile name).
    pub device_type: String,
    /// Device label (may be empty).
    pub device_label: String,
    /// The device's customer; `None` when tenant-owned.
    pub customer_id: Option<Uuid>,
    /// Became active (`true`) or inactive.
    pub active: bool,
}

impl DeviceActivityNotice {
    /// `device` became active or inactive.
    #[must_use]
    pub fn of(device: &EntityRecord, active: bool) -> Self {
        Self {
            device_id: device.id.id,
            device_name: device.name.clone(),
            device_type: device.profile.clone(),
            device_label: device.label.clone(),
            customer_id: device.customer_id,
            active,
        }
    }
}

/// What [`NotificationStore::create`] creates; subject and text are rendered from it.
#[derive(Debug, Clone, PartialEq)]
pub enum NewNotification {
    /// A `GENERAL` message (as sent by an administrator); `info` is `null`.
    General {
        /// Subject.
        subject: String,
        /// Text.
        text: String,
    },
    /// An `ALARM` notification with an `AlarmNotificationInfo`.
    Alarm(AlarmNotice),
    /// A `DEVICE_ACTIVITY` notification with a `DeviceActivityNotificationInfo`.
    DeviceActivity(DeviceActivityNotice),
    /// A `RATE_LIMITS` notification (a rate limit was hit).
    RateLimits {
        /// The limited API, e.g. `WS_UPDATES_PER_SESSION`.
        api: String,
        /// The entity the limit applies to (tenant, user, …).
        limit_level: EntityId,
        /// That entity's name.
        limit_level_name: String,
    },
    /// An `ENTITIES_LIMIT` notification (an entity count nears the tenant's limit).
    EntitiesLimit {
        /// The counted entity type.
        entity_type: EntityType,
        /// Current count.
        current: i64,
        /// The limit.
        limit: i64,
    },
}

/// A change of the store, for the subscriptions of the user's sessions.
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationChange {
    /// A notification was created (always unread).
    Created {
        /// The recipient.
        user: Uuid,
        /// The notification as created.
        notification: Box<Notification>,
    },
    /// These notifications went from unread to read: id and type of each.
    Read {
        /// The recipient.
        user: Uuid,
        /// The notifications that changed.
        notifications: Vec<(Uuid, NotificationType)>,
    },
    /// Every unread notification of the user was marked read (at least one was unread).
    AllRead {
        /// The recipient.
        user: Uuid,
    },
    /// A notification was deleted.
    Deleted {
        /// The recipient.
        user: Uuid,
        /// The deleted notification.
        id: Uuid,
        /// Its type.
        notification_type: NotificationType,
        /// Whether it was unread.
        was_unread: bool,
    },
}

impl NotificationChange {
    /// The user whose inbox changed.
    #[must_use]
    pub fn user(&self) -> Uuid {
        match self {
            NotificationChange::Created { user, .. }
            | NotificationChange::Read { user, .. }
            | NotificationChange::AllRead { user }
            | NotificationChange::Deleted { user, .. } => *user,
        }
    }
}

/// Query of `GET /api/notifications` (already validated by the REST layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPageParams {
    /// Rows per page (0 is treated as 1).
    pub page_size: usize,
    /// Page number, from 0.
    pub page: usize,
    /// Case-insensitive substring of subject or text; blank = no filter.
    pub text_search: Option<String>,
    /// `createdTime` (default), `subject`, `type` or `status`; anything else sorts by time.
    pub sort_property: Option<String>,
    /// Sort direction (default `DESC`).
    pub sort_order: SortDirection,
    /// Only unread notifications.
    pub unread_only: bool,
    /// Delivery method; only `WEB` (or none) finds anything.
    pub delivery_method: Option<NotificationDeliveryMethod>,
}

impl Default for NotificationPageParams {
    fn default() -> Self {
        Self {
            page_size: 10,
            page: 0,
            text_search: None,
            sort_property: None,
            sort_order: SortDirection::Desc,
            unread_only: false,
            delivery_method: None,
        }
    }
}

/// Every user's WEB notifications, newest first.
#[derive(Debug, Clone)]
pub struct NotificationStore {
    inbox: HashMap<Uuid, VecDeque<Notification>>,
    cap: usize,
}

impl Default for NotificationStore {
    fn default() -> Self {
        Self::new()
    }
}

impl NotificationStore {
    /// An empty store keeping [`MAX_PER_USER`] notifications per user.
    #[must_use]
    pub fn new() -> Self {
        Self::with_cap(MAX_PER_USER)
    }

    /// An empty store keeping at most `cap` (at least 1) notifications per user.
    #[must_use]
    pub fn with_cap(cap: usize) -> Self {
        Self {
            inbox: HashMap::new(),
            cap: cap.max(1),
        }
    }

    /// Creates a notification for `user` (from a fresh notification request) and returns
    /// the change. When the user already has the maximum, the oldest is dropped.
    pub fn create(
        &mut self,
        rng: &mut Rng,
        user: Uuid,
        kind: &NewNotification,
        now_ms: i64,
    ) -> NotificationChange {
        let request_id = rng.uuid();
        self.insert(rng, request_id, user, kind, now_ms)
    }

    /// Creates the same notification for several users from one notification request
    /// (one shared `requestId`), one change per user.
    pub fn create_many(
        &mut self,
        rng: &mut Rng,
        users: &[Uuid],
        kind: &NewNotification,
        now_ms: i64,
    ) -> Vec<NotificationChange> {
        let request_id = rng.uuid();
        users
            .iter()
            .map(|&user| self.insert(rng, request_id, user, kind, now_ms))
            .collect()
    }

    fn insert(
        &mut self,
        rng: &mut Rng,
        request_id: Uuid,
        user: Uuid,
        kind: &NewNotification,
        now_ms: i64,
    ) -> NotificationChange {
        let notification = build(kind, rng.uuid(), request_id, user, now_ms);
        let list = self.inbox.entry(user).or_default();
        // Newest first; a notification as old as an existing one goes before it.
        let at = list
            .iter()
            .position(|n| n.created_time <= now_ms)
            .unwrap_or(list.len());
        list.insert(at, notification.clone());
        list.truncate(self.cap);
        NotificationChange::Created {
            user,
            notification: Box::new(notification),
        }
    }

    /// Marks `ids` of `user` read; `None` when none of them was unread (or existed).
    pub fn mark_read(&mut self, user: Uuid, ids: &[Uuid]) -> Option<NotificationChange> {
        let list = self.inbox.get_mut(&user)?;
        let mut changed = Vec::new();
        for n in list.iter_mut() {
            if n.is_unread() && ids.contains(&n.id.id) {
                n.status = Some(NotificationStatus::Read);
                changed.push((n.id.id, n.notification_type.clone()));
            }
        }
        (!changed.is_empty()).then_some(NotificationChange::Read {
            user,
            notifications: changed,
        })
    }

    /// Marks every notification of `user` read; `None` when none was unread.
    pub fn mark_all_read(&mut self, user: Uuid) -> Option<NotificationChange> {
        let list = self.inbox.get_mut(&user)?;
        let mut any = false;
        for n in list.iter_mut().filter(|n| n.is_unread()) {
            n.status = Some(NotificationStatus::Read);
            any = true;
        }
        any.then_some(NotificationChange::AllRead { user })
    }

    /// Deletes one notification of `user`; `None` when it does not exist.
    pub fn delete(&mut self, user: Uuid, id: Uuid) -> Option<NotificationChange> {
        let list = self.inbox.get_mut(&user)?;
        let at = list.iter().position(|n| n.id.id == id)?;
        let removed = list.remove(at)?;
        Some(NotificationChange::Deleted {
            user,
            id,
            was_unread: removed.is_unread(),
            notification_type: removed.notification_type,
        })
    }

    /// Unread notifications of `user` (all types).
    #[must_use]
    pub fn unread_count(&self, user: Uuid) -> i64 {
        count(self.iter(user).filter(|n| n.is_unread()).count())
    }

    /// One notification of `user`.
    #[must_use]
    pub fn get(&self, user: Uuid, id: Uuid) -> Option<&Notification> {
        self.iter(user).find(|n| n.id.id == id)
    }

    /// Every notification of `user`, newest first.
    pub fn iter(&self, user: Uuid) -> impl Iterator<Item = &Notification> {
        self.inbox.get(&user).into_iter().flatten()
    }

    /// `GET /api/notifications`: filter, sort and page `user`'s notifications.
    #[must_use]
    pub fn page(&self, user: Uuid, params: &NotificationPageParams) -> PageData<Notification> {
        if params
            .delivery_method
            .as_ref()
            .is_some_and(|m| *m != NotificationDeliveryMethod::Web)
        {
            return PageData::empty();
        }
        let needle = params
            .text_search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let mut rows: Vec<&Notification> = self
            .iter(user)
            .filter(|n| !params.unread_only || n.is_unread())
            .filter(|n| needle.as_deref().is_none_or(|s| matches_text(n, s)))
            .collect();
        // Rows are newest first and the sort is stable, so ties stay newest first.
        let desc = params.sort_order != SortDirection::Asc;
        let property = params.sort_property.as_deref();
        rows.sort_by(|a, b| {
            let ord = match property {
                Some("subject") => a.subject.cmp(&b.subject),
                Some("type") => a
                    .notification_type
                    .as_str()
                    .cmp(b.notification_type.as_str()),
                Some("status") => status_name(a).cmp(status_name(b)),
                _ => a.created_time.cmp(&b.created_time),
            };
            if desc { ord.reverse() } else { ord }
        });
        page_of(&rows, params.page_size, params.page, |n| (*n).clone())
    }

    /// Unread notifications of `user` whose type passes `types`, newest first.
    fn unread_of<'a>(
        &'a self,
        user: Uuid,
        types: &'a [NotificationType],
    ) -> impl Iterator<Item = &'a Notification> + 'a {
        self.iter(user)
            .filter(move |n| n.is_unread() && type_matches(types, &n.notification_type))
    }
}

fn matches_text(n: &Notification, needle_lower: &str) -> bool {
    [&n.subject, &n.text]
        .into_iter()
        .flatten()
        .any(|s| s.to_lowercase().contains(needle_lower))
}

fn status_name(n: &Notification) -> &str {
    n.status.as_ref().map_or("SENT", NotificationStatus::as_str)
}

fn type_matches(types: &[NotificationType], t: &NotificationType) -> bool {
    types.is_empty() || types.contains(t)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One `NOTIFICATIONS` subscription: the list the client shows and the messages it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadSub {
    cmd_id: i32,
    limit: usize,
    types: Vec<NotificationType>,
    /// Ids of the list the client holds, newest first (after prepend-and-trim).
    shown: Vec<Uuid>,
    total_unread: i64,
    sequence: i64,
}

impl UnreadSub {
    /// A subscription for `cmd`; a `limit` below 1 counts as 1.
    #[must_use]
    pub fn new(cmd: &NotificationsSubCmd) -> Self {
        Self {
            cmd_id: cmd.cmd_id,
            limit: usize::try_from(cmd.limit).unwrap_or(1).max(1),
            types: cmd.types.clone().unwrap_or_default(),
            shown: Vec::new(),
            total_unread: 0,
            sequence: 0,
        }
    }

    /// The subscription's `cmdId`.
    #[must_use]
    pub fn cmd_id(&self) -> i32 {
        self.cmd_id
    }

    /// The first message: the full list and the unread count.
    pub fn initial(&mut self, store: &NotificationStore, user: Uuid) -> UnreadNotificationsUpdate {
        self.full(store, user)
    }

    /// The message `change` causes, if any.
    pub fn on_change(
        &mut self,
        store: &NotificationStore,
        user: Uuid,
        change: &NotificationChange,
    ) -> Option<UnreadNotificationsUpdate> {
        if change.user() != user {
            return None;
        }
        match change {
            NotificationChange::Created { notification, .. } => {
                if !self.passes(&notification.notification_type) || !notification.is_unread() {
                    return None;
                }
                let id = notification.id.id;
                let in_top = store
                    .unread_of(user, &self.types)
                    .take(self.limit)
                    .any(|n| n.id.id == id);
                if in_top {
                    self.shown.retain(|s| *s != id);
                    self.shown.insert(0, id);
                    self.shown.truncate(self.limit);
                    self.total_unread = self.count_in(store, user);
                    Some(self.message(None, Some(notification.clone())))
                } else {
                    self.count_only(store, user)
                }
            }
            NotificationChange::Read { notifications, .. } => {
                let relevant: Vec<Uuid> = notifications
                    .iter()
                    .filter(|(_, t)| self.passes(t))
                    .map(|(id, _)| *id)
                    .collect();
                if relevant.is_empty() {
                    None
                } else if relevant.iter().any(|id| self.shown.contains(id)) {
                    Some(self.full(store, user))
                } else {
                    self.count_only(store, user)
                }
            }
            NotificationChange::AllRead { .. } => Some(self.full(store, user)),
            NotificationChange::Deleted {
                id,
                notification_type,
                was_unread,
                ..
            } => {
                if !self.passes(notification_type) {
                    None
                } else if self.shown.contains(id) {
                    Some(self.full(store, user))
                } else if *was_unread {
                    self.count_only(store, user)
                } else {
                    None
                }
            }
        }
    }

    fn passes(&self, t: &NotificationType) -> bool {
        type_matches(&self.types, t)
    }

    fn count_in(&self, store: &NotificationStore, user: Uuid) -> i64 {
        count(store.unread_of(user, &self.types).count())
    }

    fn full(&mut self, store: &NotificationStore, user: Uuid) -> UnreadNotificationsUpdate {
        let list: Vec<Notification> = store
            .unread_of(user, &self.types)
            .take(self.limit)
            .cloned()
            .collect();
        self.shown = list.iter().map(|n| n.id.id).collect();
        self.total_unread = self.count_in(store, user);
        self.message(Some(list), None)
    }

    fn count_only(
        &mut self,
        store: &NotificationStore,
        user: Uuid,
    ) -> Option<UnreadNotificationsUpdate> {
        let total = self.count_in(store, user);
        if total == self.total_unread {
            return None;
        }
        self.total_unread = total;
        Some(self.message(None, None))
    }

    fn message(
        &mut self,
        notifications: Option<Vec<Notification>>,
        update: Option<Box<Notification>>,
    ) -> UnreadNotificationsUpdate {
        self.sequence = self.sequence.saturating_add(1);
        UnreadNotificationsUpdate {
            cmd_id: self.cmd_id,
            error_code: NO_ERROR,
            error_msg: None,
            notifications,
            update,
            total_unread_count: self.total_unread,
            sequence_number: self.sequence,
            kind: NotificationsKind,
        }
    }
}

/// One `NOTIFICATIONS_COUNT` subscription: the unread count, first and on every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountSub {
    cmd_id: i32,
    last: Option<i64>,
    sequence: i64,
}

impl CountSub {
    /// A subscription with this `cmdId`.
    #[must_use]
    pub fn new(cmd_id: i32) -> Self {
        Self {
            cmd_id,
            last: None,
            sequence: 0,
        }
    }

    /// The subscription's `cmdId`.
    #[must_use]
    pub fn cmd_id(&self) -> i32 {
        self.cmd_id
    }

    /// The first message.
    pub fn initial(
        &mut self,
        store: &NotificationStore,
        user: Uuid,
    ) -> UnreadNotificationsCountUpdate {
        let total = store.unread_count(user);
        self.message(total)
    }

    /// A message when `change` is about `user` and changed the unread count.
    pub fn on_change(
        &mut self,
        store: &NotificationStore,
        user: Uuid,
        change: &NotificationChange,
    ) -> Option<UnreadNotificationsCountUpdate> {
        if change.user() != user {
            return None;
        }
        let total = store.unread_count(user);
        (self.last != Some(total)).then(|| self.message(total))
    }

    fn message(&mut self, total: i64) -> UnreadNotificationsCountUpdate {
        self.last = Some(total);
        self.sequence = self.sequence.saturating_add(1);
        UnreadNotificationsCountUpdate {
            cmd_id: self.cmd_id,
            error_code: NO_ERROR,
            error_msg: None,
            total_unread_count: total,
            sequence_number: self.sequence,
            kind: NotificationsCountKind,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rendering

fn build(
    kind: &NewNotification,
    id: Uuid,
    request_id: Uuid,
    user: Uuid,
    now_ms: i64,
) -> Notification {
    let (notification_type, subject, text, additional_config, info) = match kind {
        NewNotification::General { subject, text } => (
            NotificationType::General,
            subject.clone(),
            text.clone(),
            json!({"icon": icon("notifications", "#1976D2")}),
            None,
        ),
        NewNotification::Alarm(a) => render_alarm(a),
        NewNotification::DeviceActivity(d) => render_device_activity(d),
        NewNotification::RateLimits {
            api,
            limit_level,
            limit_level_name,
        } => render_rate_limits(api, limit_level, limit_level_name),
        NewNotification::EntitiesLimit {
            entity_type,
            current,
            limit,
        } => render_entities_limit(entity_type, *current, *limit),
    };
    Notification {
        request_id: Some(EntityId::new(EntityType::NotificationRequest, request_id)),
        recipient_id: Some(EntityId::user(user)),
        notification_type,
        delivery_method: Some(NotificationDeliveryMethod::Web),
        subject: Some(subject),
        text: Some(text),
        additional_config: Some(additional_config),
        info: info.map(Box::new),
        status: Some(NotificationStatus::Sent),
        id: EntityId::new(EntityType::Notification, id),
        created_time: now_ms,
    }
}

type Rendered = (
    NotificationType,
    String,
    String,
    Value,
    Option<NotificationInfo>,
);

fn icon(name: &str, color: &str) -> Value {
    json!({"enabled": true, "icon": name, "color": color})
}

fn link_button(text: &str, link: &str) -> Value {
    json!({"enabled": true, "text": text, "linkType": "LINK", "link": link})
}

fn info(kind: NotificationInfoKind, other: Map<String, Value>) -> NotificationInfo {
    NotificationInfo {
        other,
        ..NotificationInfo::new(kind)
    }
}

fn customer_json(customer: Option<Uuid>) -> Value {
    customer.map_or(Value::Null, |c| json!(EntityId::customer(c)))
}

/// `DEVICE` → `Device`, `ENTITY_VIEW` → `Entity view` (ThingsBoard's "normal name").
fn normal_name(t: &EntityType) -> String {
    let lower = t.as_str().to_lowercase().replace('_', " ");
    let mut chars = lower.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn severity_color(s: &AlarmSeverity) -> &'static str {
    match s {
        AlarmSeverity::Critical => "#D12730",
        AlarmSeverity::Major => "#FEAC0C",
        AlarmSeverity::Minor => "#F2DA05",
        AlarmSeverity::Warning => "#F66716",
        _ => "#757575",
    }
}

fn render_alarm(a: &AlarmNotice) -> Rendered {
    let severity = a.severity.as_str().to_lowercase();
    let origin = format!(
        "{} '{}'",
        normal_name(&a.originator.entity_type),
        a.originator_name
    );
    let (subject, text) = match a.action {
        AlarmAction::Created => (
            format!("New alarm '{}'", a.alarm_type),
            format!("Severity: {severity}, originator: {origin}"),
        ),
        AlarmAction::SeverityChanged => (
            format!("Alarm '{}' - severity changed", a.alarm_type),
            format!("Severity is now {severity}, originator: {origin}"),
        ),
        action => (
            format!("Alarm '{}' - {}", a.alarm_type, action.as_str()),
            origin,
        ),
    };
    let acknowledged = matches!(a.status, AlarmStatus::ActiveAck | AlarmStatus::ClearedAck);
    let cleared = matches!(
        a.status,
        AlarmStatus::ClearedUnack | AlarmStatus::ClearedAck
    );
    let details: Map<String, Value> = a
        .details
        .as_ref()
        .map(|d| {
            let mut flat = Map::new();
            flatten("details", d, &mut flat);
            flat
        })
        .unwrap_or_default();
    let mut other = Map::new();
    if a.customer_id.is_none() {
        // Jackson writes nulls; the typed field only encodes when set.
        other.insert("alarmCustomerId".to_owned(), Value::Null);
    }
    other.insert("dashboardId".to_owned(), Value::Null);
    other.insert("details".to_owned(), Value::Object(details));
    other.insert("stateEntityId".to_owned(), json!(a.originator));
    other.insert(
        "affectedCustomerId".to_owned(),
        customer_json(a.customer_id),
    );
    let mut i = info(NotificationInfoKind::Alarm, other);
    i.alarm_type = Some(a.alarm_type.clone());
    i.action = Some(a.action.as_str().to_owned());
    i.alarm_id = Some(a.alarm_id);
    i.alarm_originator = Some(a.originator.clone());
    i.alarm_originator_name = Some(a.originator_name.clone());
    i.alarm_originator_label = Some(a.originator_label.clone());
    i.alarm_severity = Some(a.severity.clone());
    i.alarm_status = Some(a.status.clone());
    i.acknowledged = Some(acknowledged);
    i.cleared = Some(cleared);
    i.alarm_customer_id = a.customer_id.map(EntityId::customer);
    let config = json!({
        "icon": icon(
            if cleared { "check_circle" } else { "warning" },
            severity_color(&a.severity),
        ),
        "actionButtonConfig": link_button("Open alarm", &format!("/alarms/{}", a.alarm_id)),
    });
    (NotificationType::Alarm, subject, text, config, Some(i))
}

/// `JacksonUtil.toFlatMap`-style flattening: objects join with `.`, arrays with `[i]`,
/// leaves become text.
fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), Value::String(s.clone()));
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), Value::String(other.to_string()));
        }
    }
}

fn render_device_activity(d: &DeviceActivityNotice) -> Rendered {
    let event = if d.active { "active" } else { "inactive" };
    let subject = format!("Device '{}' became {event}", d.device_name);
    let text = format!(
        "Device '{}' of type '{}' is now {event}",
        d.device_name, d.device_type
    );
    let mut other = Map::new();
    other.insert("eventType".to_owned(), json!(event));
    other.insert("deviceId".to_owned(), json!(d.device_id));
    other.insert("deviceName".to_owned(), json!(d.device_name));
    other.insert("deviceType".to_owned(), json!(d.device_type));
    other.insert("deviceLabel".to_owned(), json!(d.device_label));
    other.insert("deviceCustomerId".to_owned(), customer_json(d.customer_id));
    other.insert(
        "stateEntityId".to_owned(),
        json!(EntityId::device(d.device_id)),
    );
    other.insert(
        "affectedCustomerId".to_owned(),
        customer_json(d.customer_id),
    );
    let config = json!({
        "icon": icon(
            if d.active { "phonelink" } else { "phonelink_off" },
            if d.active { "#4CAF50" } else { "#F57C00" },
        ),
        "actionButtonConfig": link_button(
            "Open device",
            &format!("/entities/devices/{}", d.device_id),
        ),
    });
    (
        NotificationType::DeviceActivity,
        subject,
        text,
        config,
        Some(info(NotificationInfoKind::DeviceActivity, other)),
    )
}

fn render_rate_limits(api: &str, level: &EntityId, level_name: &str) -> Rendered {
    let subject = format!("Rate limits - {api} exceeded");
    let text = format!(
        "Rate limits for {api} exceeded for {} '{level_name}'",
        normal_name(&level.entity_type).to_lowercase()
    );
    let mut other = Map::new();
    other.insert("api".to_owned(), json!(api));
    other.insert("limitLevel".to_owned(), json!(level));
    other.insert("limitLevelEntityName".to_owned(), json!(level_name));
    let config = json!({"icon": icon("block", "#F44336")});
    (
        NotificationType::RateLimits,
        subject,
        text,
        config,
        Some(info(NotificationInfoKind::RateLimits, other)),
    )
}

fn render_entities_limit(entity_type: &EntityType, current: i64, limit: i64) -> Rendered {
    let name = normal_name(entity_type);
    let percents = if limit > 0 {
        current.saturating_mul(100) / limit
    } else {
        0
    };
    let subject = format!("{name}s limit will be reached soon");
    let text = format!("{name}s usage: {current}/{limit} ({percents}%)");
    let mut other = Map::new();
    other.insert("entityType".to_owned(), json!(entity_type));
    other.insert("currentCount".to_owned(), json!(current));
    other.insert("limit".to_owned(), json!(limit));
    other.insert("percents".to_owned(), json!(percents));
    let config = json!({"icon": icon("data_thresholding", "#F57C00")});
    (
        NotificationType::EntitiesLimit,
        subject,
        text,
        config,
        Some(info(NotificationInfoKind::EntitiesLimit, other)),
    )
}

// ---------------------------------------------------------------------------------------
// Seed

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

fn alarm_type_for(profile: &str) -> &'static str {
    match profile {
        "thermostat" => "High Temperature",
        "water-pump" => "Low Pressure",
        "energy-meter" => "Power Spike",
        "gateway" => "Gateway Offline",
        _ => "General Alarm",
    }
}

fn alarm_on(
    rng: &mut Rng,
    device: &EntityRecord,
    severity: AlarmSeverity,
    status: AlarmStatus,
    action: AlarmAction,
) -> NewNotification {
    NewNotification::Alarm(AlarmNotice {
        alarm_id: rng.uuid(),
        alarm_type: alarm_type_for(&device.profile).to_owned(),
        severity,
        status,
        originator: device.id.clone(),
        originator_name: device.name.clone(),
        originator_label: device.label.clone(),
        customer_id: device.customer_id,
        action,
        details: None,
    })
}

/// Fills each demo user's inbox: older `ALARM` notifications about devices the user can
/// see (the oldest already read), a `DEVICE_ACTIVITY` one, and a `GENERAL` welcome as the
/// newest, so the tray is never empty.
pub fn seed(store: &mut NotificationStore, rng: &mut Rng, world: &World, now_ms: i64) {
    for user in &world.users {
        seed_user(store, rng, world, user, now_ms);
    }
}

fn seed_user(
    store: &mut NotificationStore,
    rng: &mut Rng,
    world: &World,
    user: &DemoUser,
    now_ms: i64,
) {
    let devices: Vec<&EntityRecord> = world
        .devices()
        .filter(|d| world.visible_to(user, d))
        .take(3)
        .collect();
    if let Some(first) = devices.first() {
        let old = alarm_on(
            rng,
            first,
            AlarmSeverity::Major,
            AlarmStatus::ClearedAck,
            AlarmAction::Cleared,
        );
        if let NotificationChange::Created { notification, .. } =
            store.create(rng, user.id, &old, now_ms.saturating_sub(3 * DAY_MS))
        {
            store.mark_read(user.id, &[notification.id.id]);
        }
    }
    if let Some(second) = devices.get(1).or(devices.first()) {
        let critical = alarm_on(
            rng,
            second,
            AlarmSeverity::Critical,
            AlarmStatus::ActiveUnack,
            AlarmAction::Created,
        );
        store.create(rng, user.id, &critical, now_ms.saturating_sub(DAY_MS));
    }
    if let Some(third) = devices.get(2).or(devices.last()) {
        let acked = alarm_on(
            rng,
            third,
            AlarmSeverity::Warning,
            AlarmStatus::ActiveAck,
            AlarmAction::Acknowledged,
        );
        store.create(rng, user.id, &acked, now_ms.saturating_sub(6 * HOUR_MS));
        let activity = NewNotification::DeviceActivity(DeviceActivityNotice::of(third, false));
        store.create(rng, user.id, &activity, now_ms.saturating_sub(2 * HOUR_MS));
    }
    let welcome = NewNotification::General {
        subject: format!("Welcome, {}", user.first_name),
        text: "This is the tb-monitor demo tenant: devices, alarms and notifications here \
               are simulated."
            .to_owned(),
    };
    store.create(rng, user.id, &welcome, now_ms.saturating_sub(MINUTE_MS));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::world::WorldSpec;
    use crate::protocol::NotificationsUpdateVariant;

    const NOW: i64 = 1_750_000_000_000;

    fn general(n: usize) -> NewNotification {
        NewNotification::General {
            subject: format!("Subject {n}"),
            text: format!("Text {n}"),
        }
    }

    fn alarm() -> NewNotification {
        NewNotification::Alarm(AlarmNotice {
            alarm_id: Uuid::from_u128(7),
            alarm_type: "High Temperature".to_owned(),
            severity: AlarmSeverity::Critical,
            status: AlarmStatus::ActiveUnack,
            originator: EntityId::device(Uuid::from_u128(9)),
            originator_name: "Thermostat 1".to_owned(),
            originator_label: "Lobby".to_owned(),
            customer_id: None,
            action: AlarmAction::Created,
            details: Some(json!({"temperature": 31.5, "zone": {"name": "A"}})),
        })
    }

    fn sub_cmd(limit: i32, types: Option<Vec<NotificationType>>) -> NotificationsSubCmd {
        NotificationsSubCmd {
            cmd_id: 10,
            limit,
            types,
        }
    }

    /// A store with `n` general notifications for `user`, oldest first in time; returns
    /// their ids newest first.
    fn filled(store: &mut NotificationStore, rng: &mut Rng, user: Uuid, n: usize) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = (0..n)
            .map(|i| {
                let t = NOW + i64::try_from(i).unwrap() * 1000;
                match store.create(rng, user, &general(i), t) {
                    NotificationChange::Created { notification, .. } => notification.id.id,
                    other => panic!("unexpected {other:?}"),
                }
            })
            .collect();
        ids.reverse();
        ids
    }

    fn ids_of(list: &[Notification]) -> Vec<Uuid> {
        list.iter().map(|n| n.id.id).collect()
    }

    #[test]
    fn the_first_message_is_the_full_unread_list_newest_first_with_sequence_1() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 3);
        store.mark_read(user, &[ids[1]]);
        let mut sub = UnreadSub::new(&sub_cmd(10, None));
        let m = sub.initial(&store, user);
        assert_eq!(m.variant(), NotificationsUpdateVariant::Full);
        assert_eq!(
            ids_of(m.notifications.as_ref().unwrap()),
            vec![ids[0], ids[2]]
        );
        assert_eq!(
            (m.total_unread_count, m.sequence_number, m.cmd_id),
            (2, 1, 10)
        );
    }

    #[test]
    fn the_limit_trims_the_list_but_not_the_total() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 5);
        let mut sub = UnreadSub::new(&sub_cmd(2, None));
        let m = sub.initial(&store, user);
        assert_eq!(ids_of(m.notifications.as_ref().unwrap()), ids[..2].to_vec());
        assert_eq!(m.total_unread_count, 5);
    }

    #[test]
    fn a_limit_below_one_counts_as_one() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        filled(&mut store, &mut rng, user, 3);
        let m = UnreadSub::new(&sub_cmd(0, None)).initial(&store, user);
        assert_eq!(m.notifications.unwrap().len(), 1);
        let m = UnreadSub::new(&sub_cmd(-5, None)).initial(&store, user);
        assert_eq!(m.notifications.unwrap().len(), 1);
    }

    #[test]
    fn a_new_notification_is_a_partial_update_and_sequence_numbers_increase() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        filled(&mut store, &mut rng, user, 2);
        let mut sub = UnreadSub::new(&sub_cmd(2, None));
        let first = sub.initial(&store, user);
        let mut seqs = vec![first.sequence_number];
        for i in 0..3 {
            let change = store.create(&mut rng, user, &general(10 + i), NOW + 100_000);
            let m = sub.on_change(&store, user, &change).unwrap();
            assert_eq!(m.variant(), NotificationsUpdateVariant::Partial);
            let NotificationChange::Created { notification, .. } = &change else {
                panic!("not created");
            };
            assert_eq!(m.update.as_deref(), Some(notification.as_ref()));
            assert_eq!(m.total_unread_count, 3 + i64::try_from(i).unwrap());
            seqs.push(m.sequence_number);
        }
        assert_eq!(seqs, vec![1, 2, 3, 4]);
        assert_eq!(
            sub.shown.len(),
            2,
            "the shown list stays trimmed to the limit"
        );
    }

    #[test]
    fn reading_a_shown_notification_sends_the_full_list() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 4);
        let mut sub = UnreadSub::new(&sub_cmd(2, None));
        sub.initial(&store, user);
        let change = store.mark_read(user, &[ids[0]]).unwrap();
        let m = sub.on_change(&store, user, &change).unwrap();
        assert_eq!(m.variant(), NotificationsUpdateVariant::Full);
        assert_eq!(
            ids_of(m.notifications.as_ref().unwrap()),
            vec![ids[1], ids[2]]
        );
        assert_eq!((m.total_unread_count, m.sequence_number), (3, 2));
        assert_eq!(
            store.get(user, ids[0]).unwrap().status,
            Some(NotificationStatus::Read)
        );
    }

    #[test]
    fn reading_a_notification_not_shown_sends_a_count_only_update() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 4);
        let mut sub = UnreadSub::new(&sub_cmd(2, None));
        sub.initial(&store, user);
        let change = store.mark_read(user, &[ids[3]]).unwrap();
        let m = sub.on_change(&store, user, &change).unwrap();
        assert_eq!(m.variant(), NotificationsUpdateVariant::CountOnly);
        assert_eq!(m.total_unread_count, 3);
    }

    #[test]
    fn marking_read_twice_changes_nothing_the_second_time() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 2);
        assert!(store.mark_read(user, &[ids[0]]).is_some());
        assert!(store.mark_read(user, &[ids[0]]).is_none());
        assert!(store.mark_read(user, &[Uuid::from_u128(99)]).is_none());
        assert!(store.mark_read(Uuid::from_u128(2), &[ids[1]]).is_none());
    }

    #[test]
    fn mark_all_read_sends_an_empty_full_list_and_zeroes_the_count() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        filled(&mut store, &mut rng, user, 3);
        let mut sub = UnreadSub::new(&sub_cmd(10, None));
        let mut count = CountSub::new(11);
        sub.initial(&store, user);
        count.initial(&store, user);
        let change = store.mark_all_read(user).unwrap();
        let m = sub.on_change(&store, user, &change).unwrap();
        assert_eq!(m.notifications, Some(Vec::new()));
        assert_eq!(m.total_unread_count, 0);
        let c = count.on_change(&store, user, &change).unwrap();
        assert_eq!((c.total_unread_count, c.sequence_number), (0, 2));
        assert!(store.mark_all_read(user).is_none());
        assert_eq!(store.unread_count(user), 0);
    }

    #[test]
    fn deleting_a_shown_notification_sends_the_full_list() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 3);
        let mut sub = UnreadSub::new(&sub_cmd(2, None));
        sub.initial(&store, user);
        let change = store.delete(user, ids[1]).unwrap();
        let m = sub.on_change(&store, user, &change).unwrap();
        assert_eq!(
            ids_of(m.notifications.as_ref().unwrap()),
            vec![ids[0], ids[2]]
        );
        assert_eq!(m.total_unread_count, 2);
        assert!(store.get(user, ids[1]).is_none());
        assert!(store.delete(user, ids[1]).is_none());
    }

    #[test]
    fn deleting_an_unread_one_not_shown_is_count_only_and_a_read_one_sends_nothing() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 4);
        store.mark_read(user, &[ids[3]]);
        let mut sub = UnreadSub::new(&sub_cmd(1, None));
        sub.initial(&store, user);
        let change = store.delete(user, ids[2]).unwrap();
        let m = sub.on_change(&store, user, &change).unwrap();
        assert_eq!(m.variant(), NotificationsUpdateVariant::CountOnly);
        assert_eq!(m.total_unread_count, 2);
        let change = store.delete(user, ids[3]).unwrap();
        assert!(sub.on_change(&store, user, &change).is_none());
    }

    #[test]
    fn another_users_change_is_ignored() {
        let (mut store, mut rng) = (NotificationStore::new(), Rng::new(1));
        let (me, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        filled(&mut store, &mut rng, me, 1);
        let mut sub = UnreadSub::new(&sub_cmd(10, None));
        let mut count = CountSub::new(11);
        sub.initial(&store, me);
        count.initial(&store, me);
        let change = store.create(&mut rng, other, &general(5), NOW);
        assert!(sub.on_change(&store, me, &change).is_none());
        assert!(count.on_change(&store, me, &change).is_none());
        let change = store.mark_all_read(other).unwrap();
        assert!(sub.on_change(&store, me, &change).is_none());
        assert_eq!(store.unread_count(me), 1);
    }

    #[test]
    fn the_types_filter_limits_list_count_and_updates() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        filled(&mut store, &mut rng, user, 2);
        store.create(&mut rng, user, &alarm(), NOW + 10_000);
        let mut sub = UnreadSub::new(&sub_cmd(10, Some(vec![NotificationType::Alarm])));
        let m = sub.initial(&store, user);
        let list = m.notifications.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].notification_type, NotificationType::Alarm);
        assert_eq!(m.total_unread_count, 1);
        let change = store.create(&mut rng, user, &general(9), NOW + 20_000);
        assert!(sub.on_change(&store, user, &change).is_none());
        let change = store.create(&mut rng, user, &alarm(), NOW + 30_000);
        let m = sub.on_change(&store, user, &change).unwrap();
        assert_eq!(
            (m.variant(), m.total_unread_count),
            (NotificationsUpdateVariant::Partial, 2)
        );
        // An empty list of types means every type.
        let m = UnreadSub::new(&sub_cmd(10, Some(Vec::new()))).initial(&store, user);
        assert_eq!(m.total_unread_count, 5);
    }

    #[test]
    fn the_count_subscription_sends_only_when_the_count_changes() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 2);
        let mut count = CountSub::new(11);
        let first = count.initial(&store, user);
        assert_eq!((first.total_unread_count, first.sequence_number), (2, 1));
        let change = store.create(&mut rng, user, &general(3), NOW + 50_000);
        let m = count.on_change(&store, user, &change).unwrap();
        assert_eq!((m.total_unread_count, m.sequence_number), (3, 2));
        let change = store.mark_read(user, &[ids[0]]).unwrap();
        let m = count.on_change(&store, user, &change);
        assert_eq!(
            m.map(|m| (m.total_unread_count, m.sequence_number)),
            Some((2, 3))
        );
        // Deleting a read notification leaves the count alone.
        let change = store.delete(user, ids[0]).unwrap();
        assert!(count.on_change(&store, user, &change).is_none());
    }

    #[test]
    fn the_store_keeps_at_most_its_cap_per_user_dropping_the_oldest() {
        let (mut store, mut rng, user) = (
            NotificationStore::with_cap(3),
            Rng::new(1),
            Uuid::from_u128(1),
        );
        let ids = filled(&mut store, &mut rng, user, 5);
        let kept: Vec<Uuid> = store.iter(user).map(|n| n.id.id).collect();
        assert_eq!(kept, ids[..3].to_vec());
    }

    #[test]
    fn rest_paging_reports_totals_and_has_next() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 5);
        let params = NotificationPageParams {
            page_size: 2,
            page: 1,
            ..NotificationPageParams::default()
        };
        let p = store.page(user, &params);
        assert_eq!(ids_of(&p.data), ids[2..4].to_vec());
        assert_eq!((p.total_elements, p.total_pages, p.has_next), (5, 3, true));
        let last = store.page(
            user,
            &NotificationPageParams {
                page: 2,
                ..params.clone()
            },
        );
        assert_eq!((last.data.len(), last.has_next), (1, false));
        let asc = store.page(
            user,
            &NotificationPageParams {
                sort_order: SortDirection::Asc,
                sort_property: Some("createdTime".to_owned()),
                page: 0,
                ..params.clone()
            },
        );
        assert_eq!(ids_of(&asc.data), vec![ids[4], ids[3]]);
        let beyond = store.page(user, &NotificationPageParams { page: 9, ..params });
        assert!(beyond.data.is_empty() && !beyond.has_next);
        let other = store.page(Uuid::from_u128(2), &NotificationPageParams::default());
        assert_eq!((other.total_elements, other.total_pages), (0, 0));
    }

    #[test]
    fn rest_unread_only_and_text_search_filter_rows() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let ids = filled(&mut store, &mut rng, user, 3);
        store.create(&mut rng, user, &alarm(), NOW - 1);
        store.mark_read(user, &[ids[0]]);
        let unread = store.page(
            user,
            &NotificationPageParams {
                unread_only: true,
                ..NotificationPageParams::default()
            },
        );
        assert_eq!(unread.total_elements, 3);
        assert!(unread.data.iter().all(Notification::is_unread));
        let search = |s: &str| {
            store.page(
                user,
                &NotificationPageParams {
                    text_search: Some(s.to_owned()),
                    ..NotificationPageParams::default()
                },
            )
        };
        assert_eq!(search("SUBJECT 1").total_elements, 1);
        assert_eq!(search("text").total_elements, 3);
        assert_eq!(
            search("thermostat 1").total_elements,
            1,
            "text is searched too"
        );
        assert_eq!(search("  ").total_elements, 4);
        let email = store.page(
            user,
            &NotificationPageParams {
                delivery_method: Some(NotificationDeliveryMethod::Email),
                ..NotificationPageParams::default()
            },
        );
        assert_eq!(email.total_elements, 0);
    }

    #[test]
    fn an_alarm_notification_has_the_wire_shape_of_the_reference() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let NotificationChange::Created { notification, .. } =
            store.create(&mut rng, user, &alarm(), NOW)
        else {
            panic!("not created");
        };
        let v = serde_json::to_value(&*notification).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "requestId",
            "recipientId",
            "type",
            "deliveryMethod",
            "subject",
            "text",
            "additionalConfig",
            "info",
            "status",
            "id",
            "createdTime",
        ] {
            assert!(keys.contains(&k), "missing {k}");
        }
        assert_eq!(keys.len(), 11);
        assert_eq!(v["requestId"]["entityType"], "NOTIFICATION_REQUEST");
        assert_eq!(v["recipientId"], json!({"entityType": "USER", "id": user}));
        assert_eq!(v["id"]["entityType"], "NOTIFICATION");
        assert_eq!(
            (&v["type"], &v["deliveryMethod"], &v["status"]),
            (&json!("ALARM"), &json!("WEB"), &json!("SENT"))
        );
        assert_eq!(v["createdTime"], NOW);
        assert_eq!(v["subject"], "New alarm 'High Temperature'");
        assert_eq!(v["additionalConfig"]["icon"]["enabled"], true);
        assert!(v["additionalConfig"]["icon"]["icon"].is_string());
        assert!(v["additionalConfig"]["icon"]["color"].is_string());
        assert_eq!(
            v["additionalConfig"]["actionButtonConfig"]["linkType"],
            "LINK"
        );
        let info = &v["info"];
        assert_eq!(
            info["type"],
            "org.thingsboard.server.common.data.notification.info.AlarmNotificationInfo"
        );
        for k in [
            "alarmType",
            "action",
            "alarmId",
            "alarmOriginator",
            "alarmOriginatorName",
            "alarmOriginatorLabel",
            "alarmSeverity",
            "alarmStatus",
            "acknowledged",
            "cleared",
            "alarmCustomerId",
            "dashboardId",
            "details",
        ] {
            assert!(info.get(k).is_some(), "info misses {k}");
        }
        assert_eq!(info["alarmId"], json!(Uuid::from_u128(7).to_string()));
        assert_eq!(info["action"], "created");
        assert_eq!(info["alarmSeverity"], "CRITICAL");
        assert_eq!(info["alarmStatus"], "ACTIVE_UNACK");
        assert_eq!(
            (&info["acknowledged"], &info["cleared"]),
            (&json!(false), &json!(false))
        );
        assert_eq!(info["alarmCustomerId"], Value::Null);
        assert_eq!(
            info["details"],
            json!({"details.temperature": "31.5", "details.zone.name": "A"})
        );
        // It decodes back to the same notification.
        let back: Notification = serde_json::from_value(v).unwrap();
        assert_eq!(
            back.info.as_ref().unwrap().kind,
            NotificationInfoKind::Alarm
        );
        assert_eq!(back.info.unwrap().alarm_id, Some(Uuid::from_u128(7)));
    }

    #[test]
    fn an_update_message_serializes_with_nulls_for_the_unused_variant_fields() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        filled(&mut store, &mut rng, user, 1);
        let mut sub = UnreadSub::new(&sub_cmd(5, None));
        let v = serde_json::to_value(sub.initial(&store, user)).unwrap();
        assert_eq!(v["update"], Value::Null);
        assert_eq!(v["cmdUpdateType"], "NOTIFICATIONS");
        assert_eq!(v["errorCode"], 0);
        let c = serde_json::to_value(CountSub::new(3).initial(&store, user)).unwrap();
        assert_eq!(c["cmdUpdateType"], "NOTIFICATIONS_COUNT");
        assert_eq!(c["totalUnreadCount"], 1);
    }

    #[test]
    fn seeding_gives_every_demo_user_a_welcome_alarms_and_one_read_notification() {
        let world = World::generate(WorldSpec {
            seed: 7,
            devices: 30,
            now_ms: NOW,
        });
        let mut store = NotificationStore::new();
        seed(&mut store, &mut Rng::new(3), &world, NOW);
        for user in &world.users {
            let all: Vec<&Notification> = store.iter(user.id).collect();
            assert!(all.len() >= 2, "{} has {}", user.email, all.len());
            assert_eq!(all[0].notification_type, NotificationType::General);
            assert!(
                all.iter()
                    .any(|n| n.notification_type == NotificationType::Alarm)
            );
            assert_eq!(all.iter().filter(|n| !n.is_unread()).count(), 1);
            assert!(
                all.windows(2)
                    .all(|w| w[0].created_time >= w[1].created_time)
            );
            for n in &all {
                if let Some(a) = n.info.as_ref().and_then(|i| i.alarm_originator.as_ref()) {
                    let e = world.entity(a).unwrap();
                    assert!(
                        world.visible_to(user, e),
                        "{} sees only its devices",
                        user.email
                    );
                }
            }
        }
        let mut again = NotificationStore::new();
        seed(&mut again, &mut Rng::new(3), &world, NOW);
        let u = world.users[0].id;
        assert_eq!(
            store.iter(u).cloned().collect::<Vec<_>>(),
            again.iter(u).cloned().collect::<Vec<_>>(),
            "seeding is deterministic"
        );
    }

    #[test]
    fn device_activity_and_limit_notices_render_their_info_class() {
        let (mut store, mut rng, user) =
            (NotificationStore::new(), Rng::new(1), Uuid::from_u128(1));
        let kinds = [
            NewNotification::DeviceActivity(DeviceActivityNotice {
                device_id: Uuid::from_u128(5),
                device_name: "Pump 2".to_owned(),
                device_type: "water-pump".to_owned(),
                device_label: String::new(),
                customer_id: Some(Uuid::from_u128(6)),
                active: false,
            }),
            NewNotification::RateLimits {
                api: "WS_UPDATES_PER_SESSION".to_owned(),
                limit_level: EntityId::user(user),
                limit_level_name: "tenant@thingsboard.org".to_owned(),
            },
            NewNotification::EntitiesLimit {
                entity_type: EntityType::Device,
                current: 80,
                limit: 100,
            },
        ];
        let expected = [
            (
                NotificationType::DeviceActivity,
                NotificationInfoKind::DeviceActivity,
            ),
            (
                NotificationType::RateLimits,
                NotificationInfoKind::RateLimits,
            ),
            (
                NotificationType::EntitiesLimit,
                NotificationInfoKind::EntitiesLimit,
            ),
        ];
        for (kind, (t, info_kind)) in kinds.iter().zip(expected) {
            let NotificationChange::Created { notification, .. } =
                store.create(&mut rng, user, kind, NOW)
            else {
                panic!("not created");
            };
            assert_eq!(notification.notification_type, t);
            assert_eq!(notification.info.as_ref().unwrap().kind, info_kind);
        }
        let activity = store
            .iter(user)
            .find(|n| n.notification_type == NotificationType::DeviceActivity)
            .unwrap();
        assert_eq!(
            activity.subject.as_deref(),
            Some("Device 'Pump 2' became inactive")
        );
        assert_eq!(normal_name(&EntityType::EntityView), "Entity view");
    }
}

//! The notification inbox of a `NOTIFICATIONS` subscription and the unread count of a
//! `NOTIFICATIONS_COUNT` subscription.
//!
//! The rules (thingsboard-protocol.md §4.7, client-behaviour.md §B5):
//!
//! * `sequenceNumber` starts at 1 per subscription and increments on every message; a
//!   message whose number is not above the last applied one is stale and dropped. A new
//!   subscription (after a reconnect, with a fresh `cmdId`) numbers from 1 again: the caller
//!   calls `reset()` when it resubscribes.
//! * Three variants ([`NotificationsUpdateVariant`]): **full** (`notifications` set) replaces
//!   the list; **partial** (`update` set) replaces the notification with the same id in
//!   place or prepends it; **count-only** (both null) changes only the unread count.
//! * The list is newest first and trimmed to the subscription's `limit`.
//! * Every variant carries `totalUnreadCount`, which can exceed the list length.
//! * A message with a non-zero `errorCode` sets `last_error` and changes nothing else.

use super::entities::SubscriptionError;
use super::latest::{ErrorFields, Reported};
use crate::protocol::{
    NO_ERROR, Notification, NotificationsUpdateVariant, UnreadNotificationsCountUpdate,
    UnreadNotificationsUpdate,
};

/// The `limit` ThingsBoard's web UI subscribes with.
pub const DEFAULT_LIMIT: usize = 10;

/// What applying a sequenced message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The message changed the state.
    Applied,
    /// The message was not newer than the last applied one and was dropped.
    Stale,
    /// The message reported an error (see `last_error`).
    Error,
}

/// Tracks the last applied `sequenceNumber` of one subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sequence {
    last: Option<i64>,
    stale: u64,
}

impl Sequence {
    /// Accepts `number` if it is above the last one, counting it as stale otherwise.
    fn accept(&mut self, number: i64) -> bool {
        if self.last.is_some_and(|last| number <= last) {
            self.stale = self.stale.saturating_add(1);
            return false;
        }
        self.last = Some(number);
        true
    }
}

/// The unread notifications of one `NOTIFICATIONS` subscription, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbox {
    limit: usize,
    notifications: Vec<Notification>,
    has_list: bool,
    /// What every message carries: the sequence number and the unread count (as for a
    /// `NOTIFICATIONS_COUNT` subscription), with the error, the time and the version.
    unread: UnreadCount,
}

impl Default for Inbox {
    fn default() -> Self {
        Self::new(DEFAULT_LIMIT)
    }
}

impl Inbox {
    /// An empty inbox for a subscription sent with this `limit` (at least 1).
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            notifications: Vec::new(),
            has_list: false,
            unread: UnreadCount::new(),
        }
    }

    /// Forgets the sequence number, the list and the count, for a fresh subscription (its
    /// numbering restarts at 1). The stale counter and the limit are kept.
    pub fn reset(&mut self) {
        self.unread.reset();
        self.notifications.clear();
        self.has_list = false;
    }

    /// Forgets only the sequence number (a new socket's subscription numbers from 1): the
    /// list and the count stay shown until the new subscription's full list arrives.
    pub fn restart_sequence(&mut self) {
        self.unread.restart_sequence();
    }

    /// Changes the limit (at least 1) and trims the list to it. Send the new limit to the
    /// server too; it sends the full list again.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
        if self.notifications.len() > self.limit {
            self.notifications.truncate(self.limit);
            self.unread.count.bump();
        }
    }

    /// Applies one `NOTIFICATIONS` message received at `received_at_ms` (local epoch ms).
    pub fn apply(&mut self, update: &UnreadNotificationsUpdate, received_at_ms: i64) -> Applied {
        let applied = self.unread.accept(
            update.error(),
            update.sequence_number,
            update.total_unread_count,
            received_at_ms,
        );
        if applied != Applied::Applied {
            return applied;
        }
        match update.variant() {
            NotificationsUpdateVariant::Full => {
                self.notifications = update.notifications.clone().unwrap_or_default();
                self.has_list = true;
            }
            NotificationsUpdateVariant::Partial => {
                if let Some(notification) = &update.update {
                    self.upsert(notification);
                }
            }
            NotificationsUpdateVariant::CountOnly => {}
        }
        self.notifications.truncate(self.limit);
        Applied::Applied
    }

    fn upsert(&mut self, notification: &Notification) {
        if let Some(held) = self
            .notifications
            .iter_mut()
            .find(|n| n.id == notification.id)
        {
            *held = notification.clone();
        } else {
            self.notifications.insert(0, notification.clone());
        }
    }

    /// The notifications, newest first, at most `limit`.
    #[must_use]
    pub fn notifications(&self) -> &[Notification] {
        &self.notifications
    }

    /// Whether a full list has arrived since the subscription (or the last `reset`).
    #[must_use]
    pub fn has_list(&self) -> bool {
        self.has_list
    }

    /// Unread notifications in total (`totalUnreadCount`; may exceed the list); `None` before
    /// the first message.
    #[must_use]
    pub fn total_unread_count(&self) -> Option<i64> {
        self.unread.count()
    }

    /// Unread notifications in total beyond those in the list ("and N more").
    #[must_use]
    pub fn unread_beyond_list(&self) -> i64 {
        let listed = self.notifications.iter().filter(|n| n.is_unread()).count();
        let listed = i64::try_from(listed).unwrap_or(i64::MAX);
        self.total_unread_count()
            .map_or(0, |total| total.saturating_sub(listed).max(0))
    }

    /// The subscription's `limit`.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The last applied `sequenceNumber`.
    #[must_use]
    pub fn last_sequence_number(&self) -> Option<i64> {
        self.unread.last_sequence_number()
    }

    /// Messages dropped because their `sequenceNumber` was not newer than the last applied.
    #[must_use]
    pub fn stale_dropped(&self) -> u64 {
        self.unread.stale_dropped()
    }

    /// The last error the server reported; cleared by the next applied message.
    #[must_use]
    pub fn last_error(&self) -> Option<&SubscriptionError> {
        self.unread.last_error()
    }

    /// Local time of the last applied message or error (epoch ms).
    #[must_use]
    pub fn updated_at_ms(&self) -> Option<i64> {
        self.unread.updated_at_ms()
    }

    /// Increments on every visible change.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.unread.version()
    }
}

/// The unread count of one `NOTIFICATIONS_COUNT` subscription (the bell badge).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnreadCount {
    count: Reported<i64>,
    sequence: Sequence,
}

impl UnreadCount {
    /// No count yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the sequence number and the count, for a fresh subscription (its numbering
    /// restarts at 1). The stale counter is kept.
    pub fn reset(&mut self) {
        self.sequence.last = None;
        self.count.reset();
    }

    /// Forgets only the sequence number (a new socket's subscription numbers from 1); the
    /// count stays shown until the new subscription's first message.
    pub fn restart_sequence(&mut self) {
        self.sequence.last = None;
    }

    /// Applies one `NOTIFICATIONS_COUNT` message received at `received_at_ms`.
    pub fn apply(
        &mut self,
        update: &UnreadNotificationsCountUpdate,
        received_at_ms: i64,
    ) -> Applied {
        self.accept(
            update.error(),
            update.sequence_number,
            update.total_unread_count,
            received_at_ms,
        )
    }

    /// Applies what every notifications message carries: an error (`errorCode`,
    /// `errorMsg`) is recorded whatever its sequence number; otherwise a message not newer
    /// than the last applied one is dropped, and a newer one sets the unread count.
    fn accept(
        &mut self,
        (code, text): (i32, Option<&str>),
        sequence_number: i64,
        total_unread_count: i64,
        received_at_ms: i64,
    ) -> Applied {
        if code == NO_ERROR && !self.sequence.accept(sequence_number) {
            return Applied::Stale;
        }
        if self
            .count
            .record(code, text, total_unread_count, received_at_ms)
        {
            Applied::Applied
        } else {
            Applied::Error
        }
    }

    /// Unread notifications in total; `None` before the first message.
    #[must_use]
    pub fn count(&self) -> Option<i64> {
        self.count.count()
    }

    /// The last applied `sequenceNumber`.
    #[must_use]
    pub fn last_sequence_number(&self) -> Option<i64> {
        self.sequence.last
    }

    /// Messages dropped because their `sequenceNumber` was not newer than the last applied.
    #[must_use]
    pub fn stale_dropped(&self) -> u64 {
        self.sequence.stale
    }

    /// The last error the server reported; cleared by the next applied message.
    #[must_use]
    pub fn last_error(&self) -> Option<&SubscriptionError> {
        self.count.last_error()
    }

    /// Local time of the last applied message or error (epoch ms).
    #[must_use]
    pub fn updated_at_ms(&self) -> Option<i64> {
        self.count.updated_at_ms()
    }

    /// Increments on every visible change.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.count.version()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{EntityId, NotificationStatus};
    use crate::store::latest::wire::{decode, fixture};

    fn full() -> UnreadNotificationsUpdate {
        decode(fixture!("notifications_full"))
    }

    fn partial() -> UnreadNotificationsUpdate {
        decode(fixture!("notifications_partial"))
    }

    fn count_only() -> UnreadNotificationsUpdate {
        decode(fixture!("notifications_count_only"))
    }

    fn notification_id(n: u32) -> EntityId {
        serde_json::from_str(&format!(
            r#"{{"entityType":"NOTIFICATION","id":"c0000000-0000-4000-8000-{n:012}"}}"#
        ))
        .unwrap()
    }

    /// One notification in the wire shape.
    fn notification_json(n: u32, status: &str) -> String {
        format!(
            r#"{{"requestId":null,"recipientId":null,"type":"GENERAL","deliveryMethod":"WEB","subject":"S{n}","text":"T{n}","additionalConfig":null,"info":null,"status":"{status}","id":{{"entityType":"NOTIFICATION","id":"c0000000-0000-4000-8000-{n:012}"}},"createdTime":{n}}}"#
        )
    }

    fn partial_of(n: u32, status: &str, unread: i64, seq: i64) -> UnreadNotificationsUpdate {
        decode(&format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"notifications":null,"update":{},"totalUnreadCount":{unread},"sequenceNumber":{seq},"cmdUpdateType":"NOTIFICATIONS"}}"#,
            notification_json(n, status)
        ))
    }

    fn full_of(ns: &[u32], unread: i64, seq: i64) -> UnreadNotificationsUpdate {
        let list: Vec<String> = ns.iter().map(|&n| notification_json(n, "SENT")).collect();
        decode(&format!(
            r#"{{"cmdId":1,"errorCode":0,"errorMsg":null,"notifications":[{}],"update":null,"totalUnreadCount":{unread},"sequenceNumber":{seq},"cmdUpdateType":"NOTIFICATIONS"}}"#,
            list.join(",")
        ))
    }

    fn ids(inbox: &Inbox) -> Vec<EntityId> {
        inbox.notifications().iter().map(|n| n.id.clone()).collect()
    }

    #[test]
    fn the_full_variant_replaces_the_list_and_sets_the_unread_count() {
        let mut inbox = Inbox::new(10);
        assert_eq!(inbox.apply(&full(), 1), Applied::Applied);
        assert!(inbox.has_list());
        assert_eq!(ids(&inbox), vec![notification_id(2), notification_id(1)]);
        assert_eq!(inbox.total_unread_count(), Some(5));
        assert_eq!(inbox.unread_beyond_list(), 3);
        assert_eq!(inbox.last_sequence_number(), Some(1));

        inbox.apply(&full_of(&[9], 1, 2), 2);
        assert_eq!(ids(&inbox), vec![notification_id(9)]);
        assert_eq!(inbox.total_unread_count(), Some(1));
    }

    #[test]
    fn the_partial_variant_prepends_a_new_notification() {
        let mut inbox = Inbox::new(10);
        inbox.apply(&full(), 1);
        assert_eq!(inbox.apply(&partial(), 2), Applied::Applied);
        assert_eq!(
            ids(&inbox),
            vec![notification_id(3), notification_id(2), notification_id(1)]
        );
        assert_eq!(inbox.total_unread_count(), Some(6));
    }

    #[test]
    fn the_partial_variant_replaces_a_notification_with_the_same_id_in_place() {
        let mut inbox = Inbox::new(10);
        inbox.apply(&full_of(&[3, 2, 1], 3, 1), 1);
        inbox.apply(&partial_of(2, "READ", 2, 2), 2);
        assert_eq!(
            ids(&inbox),
            vec![notification_id(3), notification_id(2), notification_id(1)]
        );
        assert_eq!(
            inbox.notifications()[1].status,
            Some(NotificationStatus::Read)
        );
        assert_eq!(inbox.total_unread_count(), Some(2));
    }

    #[test]
    fn the_count_only_variant_changes_only_the_count() {
        let mut inbox = Inbox::new(10);
        inbox.apply(&full(), 1);
        let list = inbox.notifications().to_vec();
        assert_eq!(inbox.apply(&count_only(), 2), Applied::Applied);
        assert_eq!(inbox.notifications(), list.as_slice());
        assert_eq!(inbox.total_unread_count(), Some(4));
        assert_eq!(inbox.last_sequence_number(), Some(3));
    }

    #[test]
    fn the_list_is_trimmed_to_the_limit_keeping_the_newest() {
        let mut inbox = Inbox::new(2);
        inbox.apply(&full_of(&[3, 2, 1], 3, 1), 1);
        assert_eq!(ids(&inbox), vec![notification_id(3), notification_id(2)]);
        inbox.apply(&partial_of(4, "SENT", 4, 2), 2);
        assert_eq!(ids(&inbox), vec![notification_id(4), notification_id(3)]);
        assert_eq!(inbox.total_unread_count(), Some(4));
        inbox.set_limit(1);
        assert_eq!(ids(&inbox), vec![notification_id(4)]);
        assert_eq!(Inbox::new(0).limit(), 1, "a limit of 0 is raised to 1");
    }

    #[test]
    fn messages_with_stale_sequence_numbers_are_dropped() {
        let mut inbox = Inbox::new(10);
        inbox.apply(&full(), 1); // seq 1
        inbox.apply(&count_only(), 2); // seq 3
        let v = inbox.version();
        assert_eq!(inbox.apply(&partial(), 3), Applied::Stale); // seq 2
        assert_eq!(inbox.apply(&count_only(), 4), Applied::Stale); // seq 3 again
        assert_eq!(inbox.stale_dropped(), 2);
        assert_eq!(inbox.notifications().len(), 2);
        assert_eq!(inbox.total_unread_count(), Some(4));
        assert_eq!(inbox.version(), v);
    }

    #[test]
    fn after_reset_a_fresh_subscription_numbers_from_one_again() {
        let mut inbox = Inbox::new(10);
        inbox.apply(&count_only(), 1); // seq 3
        assert_eq!(inbox.apply(&full(), 2), Applied::Stale); // seq 1
        inbox.reset();
        assert_eq!(inbox.total_unread_count(), None);
        assert!(!inbox.has_list());
        assert_eq!(inbox.apply(&full(), 3), Applied::Applied);
        assert_eq!(inbox.notifications().len(), 2);
        assert_eq!(inbox.stale_dropped(), 1);
    }

    #[test]
    fn an_error_message_sets_last_error_without_consuming_a_sequence_number() {
        let mut inbox = Inbox::new(10);
        inbox.apply(&full(), 1);
        let err = decode(
            r#"{"cmdId":1,"errorCode":1,"errorMsg":"Failed","notifications":null,"update":null,"totalUnreadCount":0,"sequenceNumber":0,"cmdUpdateType":"NOTIFICATIONS"}"#,
        );
        assert_eq!(inbox.apply(&err, 2), Applied::Error);
        assert_eq!(inbox.last_error().unwrap().message, "Failed");
        assert_eq!(inbox.total_unread_count(), Some(5));
        assert_eq!(inbox.last_sequence_number(), Some(1));
        inbox.apply(&partial(), 3);
        assert!(inbox.last_error().is_none());
        assert_eq!(inbox.updated_at_ms(), Some(3));
    }

    #[test]
    fn a_notification_of_an_unknown_type_is_still_listed() {
        let mut inbox = Inbox::new(10);
        inbox.apply(&decode(fixture!("notifications_unknown_type_and_info")), 1);
        assert_eq!(inbox.notifications().len(), 1);
        assert_eq!(inbox.total_unread_count(), Some(7));
    }

    #[test]
    fn the_unread_count_drops_stale_sequence_numbers_until_reset() {
        let seven = decode(fixture!("notifications_count"));
        let first = decode(
            r#"{"cmdId":2,"errorCode":0,"errorMsg":null,"totalUnreadCount":3,"sequenceNumber":1,"cmdUpdateType":"NOTIFICATIONS_COUNT"}"#,
        );
        let mut count = UnreadCount::new();
        assert_eq!(count.apply(&seven, 1), Applied::Applied);
        assert_eq!(count.count(), Some(120));
        assert_eq!(count.apply(&first, 2), Applied::Stale);
        assert_eq!(count.apply(&seven, 3), Applied::Stale);
        assert_eq!((count.count(), count.stale_dropped()), (Some(120), 2));
        count.reset();
        assert_eq!(count.count(), None);
        assert_eq!(count.apply(&first, 4), Applied::Applied);
        assert_eq!(count.count(), Some(3));
        assert_eq!(count.last_sequence_number(), Some(1));
        let err = decode(
            r#"{"cmdId":2,"errorCode":3,"errorMsg":null,"totalUnreadCount":0,"sequenceNumber":0,"cmdUpdateType":"NOTIFICATIONS_COUNT"}"#,
        );
        assert_eq!(count.apply(&err, 5), Applied::Error);
        assert_eq!(count.count(), Some(3));
        assert_eq!(count.last_error().unwrap().message, "Unauthorized");
        assert_eq!(count.updated_at_ms(), Some(5));
    }
}

//! `NOTIFICATIONS`, `NOTIFICATIONS_COUNT` and `MARK_*` commands of one session (§4.7).

use std::collections::BTreeMap;

use uuid::Uuid;

use super::notifications::{CountSub, NotificationChange, NotificationStore, UnreadSub};
use super::ws_entity::{Outcome, v1_error};
use crate::protocol::{
    MarkNotificationsAsReadCmd, NotificationsCountSubCmd, NotificationsSubCmd, ServerMessage,
};

/// The notification subscriptions of a session.
#[derive(Debug, Default)]
pub struct NotifySubs {
    unread: BTreeMap<i32, UnreadSub>,
    counts: BTreeMap<i32, CountSub>,
}

impl NotifySubs {
    /// Number of live subscriptions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.unread.len() + self.counts.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `NOTIFICATIONS`: the full list now, changes later. Re-sending a `cmdId` replaces it;
    /// a `limit` below 1 is refused in the v1 shape.
    pub fn subscribe(
        &mut self,
        cmd: &NotificationsSubCmd,
        store: &NotificationStore,
        user: Uuid,
    ) -> Vec<Outcome> {
        if cmd.limit < 1 {
            return vec![v1_error(
                cmd.cmd_id,
                1,
                "Page size must be greater than zero",
            )];
        }
        let mut sub = UnreadSub::new(cmd);
        let first = sub.initial(store, user);
        self.unread.insert(cmd.cmd_id, sub);
        vec![Outcome::Send(ServerMessage::Notifications(first))]
    }

    /// `NOTIFICATIONS_COUNT`.
    pub fn subscribe_count(
        &mut self,
        cmd: &NotificationsCountSubCmd,
        store: &NotificationStore,
        user: Uuid,
    ) -> Vec<Outcome> {
        let mut sub = CountSub::new(cmd.cmd_id);
        let first = sub.initial(store, user);
        self.counts.insert(cmd.cmd_id, sub);
        vec![Outcome::Send(ServerMessage::NotificationsCount(first))]
    }

    /// `NOTIFICATIONS_UNSUBSCRIBE` (either kind).
    pub fn unsubscribe(&mut self, cmd_id: i32) {
        self.unread.remove(&cmd_id);
        self.counts.remove(&cmd_id);
    }

    /// A change of some user's inbox: the messages this session's subscriptions need.
    pub fn on_change(
        &mut self,
        store: &NotificationStore,
        user: Uuid,
        change: &NotificationChange,
    ) -> Vec<ServerMessage> {
        let mut out: Vec<ServerMessage> = self
            .unread
            .values_mut()
            .filter_map(|s| s.on_change(store, user, change))
            .map(ServerMessage::Notifications)
            .collect();
        out.extend(
            self.counts
                .values_mut()
                .filter_map(|s| s.on_change(store, user, change))
                .map(ServerMessage::NotificationsCount),
        );
        out
    }
}

/// `MARK_NOTIFICATIONS_AS_READ`: the change to publish, if any (no direct reply).
pub fn mark_read(
    cmd: &MarkNotificationsAsReadCmd,
    store: &mut NotificationStore,
    user: Uuid,
) -> Option<NotificationChange> {
    store.mark_read(user, &cmd.notifications)
}

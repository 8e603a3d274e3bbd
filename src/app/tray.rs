//! The notification tray: the bell's popover with the newest unread notifications of a
//! `NOTIFICATIONS` subscription (as many as the settings say, 20 by default), their type
//! icons, unread markers, "Mark read" per notification and "Mark all as read"
//! (`MARK_NOTIFICATIONS_AS_READ`, `MARK_ALL_NOTIFICATIONS_AS_READ`), each notification's
//! action button (its alarm in the Alarms view, its entity, or its link) and the way to the
//! Notifications view. The store applies the three update variants and drops stale
//! sequence numbers (`store::notifications::Inbox`).
//!
//! The subscription starts as [`INBOX_SUB`]; a new limit subscribes again under a fresh id
//! (from [`INBOX_SUB_NEXT`]) and retires the old one, so a message of the old subscription
//! still in flight cannot be taken for the new one's.

use egui::Align2;

use crate::inbox::look::{Target, look};
use crate::net::{SubId, SubSpec};
use crate::protocol::{EntityId, NotificationsSubCmd};
use crate::store::notifications::Inbox;
use crate::ui::notifications::{RowAction, RowButtons, RowContext, notification_ui};
use crate::ui::theme;

/// The `NOTIFICATIONS` subscription behind the tray, as the session starts.
pub const INBOX_SUB: SubId = 8;

/// The ids of the tray's later subscriptions (after a change of its limit) count up from
/// here.
pub const INBOX_SUB_NEXT: SubId = 2_000_000_000;

/// The spec of the tray's subscription listing the newest `limit` notifications.
#[must_use]
pub fn inbox_spec(limit: usize) -> SubSpec {
    SubSpec::Notifications(NotificationsSubCmd {
        cmd_id: 0,
        limit: i32::try_from(limit.max(1)).unwrap_or(i32::MAX),
        types: None,
    })
}

/// What the user did in the tray.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    /// Close the tray.
    Close,
    /// Mark one notification read.
    MarkRead(uuid::Uuid),
    /// Mark every notification read.
    MarkAllRead,
    /// Follow a notification's action (its alarm, entity or link), with the alarm's
    /// originator when known.
    Follow(Target, Option<(EntityId, String)>),
    /// Open the Notifications view (every notification, read ones too).
    ShowAll,
}

/// Draws the tray under the top bar's right end.
#[must_use]
pub fn tray_ui(
    ctx: &egui::Context,
    inbox: Option<&Inbox>,
    base_url: &str,
    cx: RowContext<'_>,
) -> Option<TrayAction> {
    let mut action = None;
    egui::Area::new(egui::Id::unique("notification_tray"))
        .anchor(Align2::RIGHT_TOP, egui::vec2(-8.0, 32.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_width(400.0);
                ui.horizontal(|ui| {
                    ui.heading("Notifications");
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.button("Close").clicked() {
                            action = Some(TrayAction::Close);
                        }
                        let unread = inbox.and_then(Inbox::total_unread_count).unwrap_or(0);
                        if ui
                            .add_enabled(unread > 0, egui::Button::new("Mark all as read"))
                            .clicked()
                        {
                            action = Some(TrayAction::MarkAllRead);
                        }
                    });
                });
                ui.separator();
                if let Some(a) = list_ui(ui, inbox, base_url, cx) {
                    action = Some(a);
                }
                ui.separator();
                if ui.button("Show all notifications").clicked() {
                    action = Some(TrayAction::ShowAll);
                }
            });
        });
    action
}

fn list_ui(
    ui: &mut egui::Ui,
    inbox: Option<&Inbox>,
    base_url: &str,
    cx: RowContext<'_>,
) -> Option<TrayAction> {
    let Some(inbox) = inbox.filter(|i| i.has_list()) else {
        ui.weak("Loading…");
        return None;
    };
    if let Some(e) = inbox.last_error() {
        ui.colored_label(theme::DOWN, &e.message);
    }
    if inbox.notifications().is_empty() {
        ui.weak("No unread notifications");
    }
    let mut action = None;
    egui::ScrollArea::vertical()
        .max_height(480.0)
        .show(ui, |ui| {
            for n in inbox.notifications() {
                let look = look(n, base_url);
                match notification_ui(
                    ui,
                    n,
                    &look,
                    cx,
                    RowButtons {
                        delete: false,
                        read_here: false,
                    },
                ) {
                    Some(RowAction::MarkRead(id)) => action = Some(TrayAction::MarkRead(id)),
                    Some(RowAction::Open(target, about)) => {
                        action = Some(TrayAction::Follow(target, about));
                    }
                    Some(RowAction::Delete(_)) | None => {}
                }
                ui.separator();
            }
        });
    let beyond = inbox.unread_beyond_list();
    if beyond > 0 {
        ui.weak(format!("and {beyond} more unread"));
    }
    action
}

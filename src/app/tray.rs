//! The notification tray: the bell's popover with the newest notifications of the
//! `NOTIFICATIONS` subscription (`SubId` 8), their unread markers, "Mark read" per
//! notification and "Mark all as read" (`MARK_NOTIFICATIONS_AS_READ`,
//! `MARK_ALL_NOTIFICATIONS_AS_READ`), and for alarm notifications a way to the Alarms view.
//! The store applies the three update variants and drops stale sequence numbers
//! (`store::notifications::Inbox`).

use egui::{Align2, RichText};

use crate::net::{SubId, SubSpec};
use crate::plot::window::Zone;
use crate::protocol::{Notification, NotificationsSubCmd};
use crate::store::notifications::Inbox;
use crate::ui::entities::age_text;
use crate::ui::theme;

/// The `NOTIFICATIONS` subscription behind the tray.
pub const INBOX_SUB: SubId = 8;

/// Notifications the tray lists (ThingsBoard's bell shows 10; a desktop has room for more).
pub const TRAY_LIMIT: i32 = 20;

/// The spec of [`INBOX_SUB`].
#[must_use]
pub fn inbox_spec() -> SubSpec {
    SubSpec::Notifications(NotificationsSubCmd {
        cmd_id: 0,
        limit: TRAY_LIMIT,
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
    /// Open the Alarms view (an alarm notification's action).
    OpenAlarms,
}

/// Draws the tray under the top bar's right end.
#[must_use]
pub fn tray_ui(
    ctx: &egui::Context,
    inbox: Option<&Inbox>,
    zone: &Zone,
    now_ms: i64,
) -> Option<TrayAction> {
    let mut action = None;
    egui::Area::new(egui::Id::unique("notification_tray"))
        .anchor(Align2::RIGHT_TOP, egui::vec2(-8.0, 32.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_width(380.0);
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
                let Some(inbox) = inbox.filter(|i| i.has_list()) else {
                    ui.weak("Loading…");
                    return;
                };
                if let Some(e) = inbox.last_error() {
                    ui.colored_label(theme::DOWN, &e.message);
                }
                if inbox.notifications().is_empty() {
                    ui.weak("No notifications");
                }
                egui::ScrollArea::vertical()
                    .max_height(480.0)
                    .show(ui, |ui| {
                        for n in inbox.notifications() {
                            if let Some(a) = notification_ui(ui, n, zone, now_ms) {
                                action = Some(a);
                            }
                            ui.separator();
                        }
                    });
                let beyond = inbox.unread_beyond_list();
                if beyond > 0 {
                    ui.weak(format!("and {beyond} more unread"));
                }
            });
        });
    action
}

fn notification_ui(
    ui: &mut egui::Ui,
    n: &Notification,
    zone: &Zone,
    now_ms: i64,
) -> Option<TrayAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        if n.is_unread() {
            theme::dot(ui, theme::ACCENT);
        } else {
            ui.add_space(ui.text_style_height(&egui::TextStyle::Body));
        }
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(n.notification_type.as_str()).small().weak());
                ui.label(
                    RichText::new(format!(
                        "{} ago",
                        age_text(now_ms.saturating_sub(n.created_time))
                    ))
                    .small()
                    .weak(),
                )
                .on_hover_text(zone.format(n.created_time));
            });
            let subject = n.subject.as_deref().unwrap_or("(no subject)");
            let subject = if n.is_unread() {
                RichText::new(subject).strong()
            } else {
                RichText::new(subject)
            };
            ui.label(subject);
            if let Some(text) = n.text.as_deref().filter(|t| !t.trim().is_empty()) {
                ui.label(text);
            }
            ui.horizontal(|ui| {
                if n.is_unread() && ui.small_button("Mark read").clicked() {
                    action = Some(TrayAction::MarkRead(n.id.id));
                }
                let alarm = n.info.as_ref().is_some_and(|i| i.alarm_id.is_some());
                if alarm && ui.small_button("Open the Alarms view").clicked() {
                    action = Some(TrayAction::OpenAlarms);
                }
            });
        });
    });
    action
}

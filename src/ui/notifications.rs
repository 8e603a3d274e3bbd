//! One notification drawn as a row, shared by the tray and the Notifications view: a type
//! icon (the server's icon colour, a letter for the type: egui's default fonts have no
//! material icons), the subject (bold while unread), the text, the time (relative, absolute
//! on hover), an unread marker and the buttons: the notification's action, "Mark read" and,
//! in the inbox, "Delete".

use egui::{RichText, Sense, Ui};
use uuid::Uuid;

use crate::inbox::look::{Look, Target, type_letter, type_words};
use crate::plot::window::Zone;
use crate::protocol::{EntityId, Notification};
use crate::ui::entities::age_text;
use crate::ui::theme;

/// What the user did with one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowAction {
    /// The action button: open this (with the alarm's originator and its name, when the
    /// notification is about an alarm).
    Open(Target, Option<(EntityId, String)>),
    /// Mark it read.
    MarkRead(Uuid),
    /// Delete it.
    Delete(Uuid),
}

/// Which buttons a row offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowButtons {
    /// "Delete" (the inbox; the tray lists unread ones only).
    pub delete: bool,
    /// Marked read here, the server not yet having said so: shown as read.
    pub read_here: bool,
}

/// Where and when the rows are drawn.
#[derive(Debug, Clone, Copy)]
pub struct RowContext<'a> {
    /// The zone of absolute times.
    pub zone: &'a Zone,
    /// Now (epoch ms), for relative times.
    pub now_ms: i64,
}

/// Draws one notification; returns what the user clicked.
pub fn notification_ui(
    ui: &mut Ui,
    n: &Notification,
    look: &Look,
    cx: RowContext<'_>,
    buttons: RowButtons,
) -> Option<RowAction> {
    let mut action = None;
    let unread = n.is_unread() && !buttons.read_here;
    ui.horizontal(|ui| {
        type_icon(ui, n, look);
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                if unread {
                    theme::dot(ui, theme::ACCENT);
                }
                ui.label(
                    RichText::new(type_words(&n.notification_type))
                        .small()
                        .weak(),
                );
                ui.label(
                    RichText::new(format!(
                        "{} ago",
                        age_text(cx.now_ms.saturating_sub(n.created_time))
                    ))
                    .small()
                    .weak(),
                )
                .on_hover_text(cx.zone.format(n.created_time));
            });
            let subject = n
                .subject
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or("(no subject)");
            let subject = if unread {
                RichText::new(subject).strong()
            } else {
                RichText::new(subject)
            };
            ui.label(subject);
            if let Some(text) = n.text.as_deref().filter(|t| !t.trim().is_empty()) {
                ui.label(text);
            }
            ui.horizontal(|ui| {
                if let Some(button) = &look.button
                    && ui
                        .small_button(&button.text)
                        .on_hover_text(target_words(&button.target))
                        .clicked()
                {
                    action = Some(RowAction::Open(button.target.clone(), originator(n)));
                }
                if unread && ui.small_button("Mark read").clicked() {
                    action = Some(RowAction::MarkRead(n.id.id));
                }
                if buttons.delete && ui.small_button("Delete").clicked() {
                    action = Some(RowAction::Delete(n.id.id));
                }
            });
        });
    });
    action
}

/// The originator of the alarm a notification is about, with its name (or label).
#[must_use]
pub fn originator(n: &Notification) -> Option<(EntityId, String)> {
    let info = n.info.as_ref()?;
    let id = info.alarm_originator.clone()?;
    let name = info
        .alarm_originator_name
        .clone()
        .or_else(|| info.alarm_originator_label.clone())
        .unwrap_or_else(|| id.id.to_string());
    Some((id, name))
}

/// What the action button does, in words (its tooltip).
fn target_words(target: &Target) -> String {
    match target {
        Target::Alarm(_) => "Show this alarm in the Alarms view".to_owned(),
        Target::Entity(id) => format!("Open this {} in the Inspector", id.entity_type.as_str()),
        Target::Url(url) => format!("Open {url} in the browser"),
    }
}

/// A disc in the icon's colour (the type's when the server gave none) with the type's
/// letter.
fn type_icon(ui: &mut Ui, n: &Notification, look: &Look) {
    let size = ui.text_style_height(&egui::TextStyle::Body) * 1.6;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), Sense::hover());
    let color = look
        .icon
        .as_ref()
        .and_then(|i| i.color)
        .map_or(theme::ACCENT, theme::from_server);
    let painter = ui.painter();
    painter.circle_filled(rect.center(), size / 2.0, color);
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        type_letter(&n.notification_type),
        egui::FontId::proportional(size * 0.55),
        theme::ON_ACCENT,
    );
    response.on_hover_text(type_words(&n.notification_type));
}

//! Design tokens: the only place that builds colours (clippy bans `Color32::from_rgb`
//! elsewhere). Severity and state colours come with a text or icon, never alone, so they
//! stay readable for colour-blind users.
#![allow(clippy::disallowed_methods)]

use egui::Color32;

use crate::net::ConnState;

/// Live connection.
pub const LIVE: Color32 = Color32::from_rgb(0x2e, 0xa0, 0x43);
/// Connecting or reconnecting.
pub const PENDING: Color32 = Color32::from_rgb(0xd2, 0x99, 0x22);
/// Offline or failed.
pub const DOWN: Color32 = Color32::from_rgb(0xd1, 0x3b, 0x3b);
/// Badges (active unacknowledged alarms).
pub const ALARM: Color32 = Color32::from_rgb(0xd1, 0x3b, 0x3b);
/// The primary action of a form ("Log in"), with white text.
pub const ACCENT: Color32 = Color32::from_rgb(0x1f, 0x6f, 0xb2);
/// Text on [`ACCENT`].
pub const ON_ACCENT: Color32 = Color32::WHITE;

/// Alarm severities (always drawn with a distinct shape and named on hover too).
pub const CRITICAL: Color32 = Color32::from_rgb(0xd1, 0x3b, 0x3b);
/// Major alarms.
pub const MAJOR: Color32 = Color32::from_rgb(0xe8, 0x73, 0x0c);
/// Minor alarms.
pub const MINOR: Color32 = Color32::from_rgb(0xd2, 0x99, 0x22);
/// Warnings.
pub const WARNING: Color32 = Color32::from_rgb(0xb8, 0xa9, 0x2b);

/// Values older than expected.
pub const STALE: Color32 = Color32::from_rgb(0x8a, 0x8a, 0x8a);

/// The colour of a connection state (the label says it in words too).
#[must_use]
pub fn connection(state: &ConnState) -> Color32 {
    match state {
        ConnState::Live => LIVE,
        ConnState::Connecting { .. } | ConnState::Reconnecting { .. } => PENDING,
        ConnState::Offline { .. } => DOWN,
    }
}

/// A filled dot of `color` in the text line (drawn, so no font needs a glyph for it).
pub fn dot(ui: &mut egui::Ui, color: Color32) {
    let size = ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), size * 0.3, color);
}

/// The primary button of a form: filled with [`ACCENT`].
pub fn primary_button(text: &str) -> egui::Button<'static> {
    egui::Button::new(
        egui::RichText::new(text.to_owned())
            .color(ON_ACCENT)
            .strong(),
    )
    .fill(ACCENT)
}

/// Shading of the intervals in which the client was not listening (a disconnect): the
/// data there was backfilled or is missing, and the plot says so.
pub const GAP_FILL: Color32 = Color32::from_rgba_premultiplied(0x40, 0x30, 0x08, 0x40);

/// The colour of a plot series (RGB from its layout).
#[must_use]
pub fn series(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

/// A colour the server chose (a notification icon's `#RRGGBB`).
#[must_use]
pub fn from_server(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

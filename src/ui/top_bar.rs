//! The top bar: who is connected where, whether the data is live, and the badges.

use crate::net::ConnState;
use crate::store::health::Health;

use super::theme;

/// What the top bar shows.
#[derive(Debug, Clone, Copy)]
pub struct TopBar<'a> {
    /// The server's name or URL.
    pub server: &'a str,
    /// The logged-in user.
    pub user: &'a str,
    /// Connection health (`None` before the first event).
    pub health: Option<&'a Health>,
    /// Active unacknowledged alarms (`None` until the count arrives).
    pub alarms: Option<i64>,
    /// The worst severity among them, when known (tints the badge and is named on hover).
    pub worst: Option<&'a crate::protocol::AlarmSeverity>,
    /// Unread notifications (`None` until the count arrives).
    pub unread: Option<i64>,
    /// The notification tray is open (the bell shows pressed).
    pub tray_open: bool,
    /// Wall clock now (epoch ms).
    pub now_ms: i64,
}

/// The connection indicator's text: "live", "reconnecting in 3 s", …
#[must_use]
pub fn connection_text(health: Option<&Health>, now_ms: i64) -> String {
    let Some(h) = health else {
        return "connecting".to_owned();
    };
    match h.state() {
        ConnState::Live => "live".to_owned(),
        ConnState::Connecting { attempt } if *attempt > 1 => {
            format!("connecting (attempt {attempt})")
        }
        ConnState::Connecting { .. } => "connecting".to_owned(),
        ConnState::Reconnecting { .. } => {
            let secs = (h.retry_in_ms(now_ms).unwrap_or(0).max(0) + 999) / 1000;
            format!("reconnecting in {secs} s")
        }
        ConnState::Offline { reason } => format!("offline: {reason}"),
    }
}

/// A round-trip time for people: "12.3 ms", "<0.1 ms" on a loopback, "–" before the first.
#[must_use]
pub fn rtt_text(rtt: Option<std::time::Duration>) -> String {
    match rtt.map(|d| d.as_secs_f64() * 1000.0) {
        None => "–".to_owned(),
        Some(ms) if ms < 0.1 => "<0.1 ms".to_owned(),
        Some(ms) => format!("{ms:.1} ms"),
    }
}

/// A count as a badge: "99+" past 99.
#[must_use]
pub fn badge(count: i64) -> String {
    if count > 99 {
        "99+".to_owned()
    } else {
        count.to_string()
    }
}

/// What the user did in the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopBarAction {
    /// "Log out" was clicked.
    pub logout: bool,
    /// The unread badge (the bell) was clicked: open or close the notification tray.
    pub bell: bool,
}

/// Draws the top bar; returns what the user clicked.
pub fn top_bar_ui(ui: &mut egui::Ui, bar: &TopBar<'_>) -> TopBarAction {
    let mut logout = false;
    let mut bell = false;
    ui.horizontal(|ui| {
        ui.strong("tb-monitor");
        ui.separator();
        ui.label(format!("{} · {}", bar.user, bar.server));
        ui.separator();
        let state = bar
            .health
            .map_or(ConnState::Connecting { attempt: 1 }, |h| h.state().clone());
        let color = theme::connection(&state);
        theme::dot(ui, color);
        let text = connection_text(bar.health, bar.now_ms);
        let response = ui.colored_label(color, text);
        if let Some(h) = bar.health {
            // Formatted only while hovered.
            response.on_hover_ui(|ui| {
                ui.label(hover_text(h, bar.now_ms));
            });
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            logout = ui
                .button("Log out")
                .on_hover_text("end the session and forget its tokens")
                .clicked();
            ui.separator();
            let unread = bar.unread.map_or_else(|| "–".to_owned(), badge);
            if ui
                .selectable_label(bar.tray_open, format!("Unread {unread}"))
                .on_hover_text("unread notifications: click for the latest")
                .clicked()
            {
                bell = true;
            }
            let alarms = bar.alarms.map_or_else(|| "–".to_owned(), badge);
            let alarm_label = format!("Alarms {alarms}");
            let hover = match bar.worst {
                Some(s) if bar.alarms.unwrap_or(0) > 0 => format!(
                    "active unacknowledged alarms, the worst {}",
                    crate::ui::severity_word(s)
                ),
                _ => "active unacknowledged alarms".to_owned(),
            };
            if bar.alarms.unwrap_or(0) > 0 {
                let color = bar
                    .worst
                    .map_or(theme::ALARM, crate::ui::alarms::severity_color);
                ui.colored_label(color, alarm_label)
            } else {
                ui.label(alarm_label)
            }
            .on_hover_text(hover);
        });
    });
    TopBarAction { logout, bell }
}

fn hover_text(h: &Health, now_ms: i64) -> String {
    let rtt = rtt_text(h.rtt_smoothed());
    format!(
        "round trip {rtt}\n{:.1} msgs/s, {:.1} kB/s\n{} reconnects",
        h.messages_per_sec(now_ms),
        h.bytes_per_sec(now_ms) / 1000.0,
        h.reconnects()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_read_in_milliseconds() {
        use std::time::Duration;
        assert_eq!(rtt_text(None), "–");
        assert_eq!(rtt_text(Some(Duration::from_micros(40))), "<0.1 ms");
        assert_eq!(rtt_text(Some(Duration::from_micros(12_340))), "12.3 ms");
    }

    #[test]
    fn badges_cap_at_99_plus() {
        assert_eq!(badge(7), "7");
        assert_eq!(badge(99), "99");
        assert_eq!(badge(100), "99+");
    }

    #[test]
    fn the_indicator_counts_down_to_the_next_attempt() {
        let mut h = Health::new(0);
        h.set_state(
            0,
            ConnState::Reconnecting {
                attempt: 2,
                retry_at_ms: 2_500,
            },
        );
        assert_eq!(connection_text(Some(&h), 0), "reconnecting in 3 s");
        h.set_state(3_000, ConnState::Live);
        assert_eq!(connection_text(Some(&h), 3_000), "live");
        assert_eq!(connection_text(None, 0), "connecting");
    }
}

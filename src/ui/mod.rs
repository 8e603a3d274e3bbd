//! egui panels. They read the [`crate::store::Store`] and push commands; they never touch
//! the network directly.
//!
//! | module | role |
//! |---|---|
//! | [`theme`] | design tokens (colours) |
//! | [`top_bar`] | server and user, connection indicator, alarm and notification badges |
//! | [`health`] | the connection health view |
//! | [`entities`] | the live entity table: virtual scrolling, server-side sort and paging, change highlight, staleness, alarm badges, row menu |
//! | [`query`] | the entity query builder |
//! | [`login`] | the login screen: server profiles, password, second factor, TLS pinning |
//! | [`settings`] | the Settings view |

pub mod alarms;
pub mod entities;
pub mod health;
pub mod inspector;
pub mod login;
pub mod notifications;
pub mod plots;
pub mod query;
pub mod settings;
pub mod theme;
pub mod top_bar;

/// The views of the left navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum View {
    /// The entity table.
    #[default]
    Entities,
    /// Live plots.
    Plots,
    /// The alarm panel.
    Alarms,
    /// The notification inbox.
    Notifications,
    /// One entity's attributes and telemetry.
    Inspector,
    /// Connection health and diagnostics.
    Health,
    /// Settings.
    Settings,
}

impl View {
    /// Every view, in navigation order.
    pub const ALL: [View; 7] = [
        View::Entities,
        View::Plots,
        View::Alarms,
        View::Notifications,
        View::Inspector,
        View::Health,
        View::Settings,
    ];

    /// The navigation label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            View::Entities => "Entities",
            View::Plots => "Plots",
            View::Alarms => "Alarms",
            View::Notifications => "Notifications",
            View::Inspector => "Inspector",
            View::Health => "Connection",
            View::Settings => "Settings",
        }
    }
}

/// `12345` → `"12,345"`.
#[must_use]
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A severity in words: "Major", not `MAJOR`; an unknown one by its wire name.
#[must_use]
pub fn severity_word(severity: &crate::protocol::AlarmSeverity) -> &str {
    use crate::protocol::AlarmSeverity;
    match severity {
        AlarmSeverity::Critical => "Critical",
        AlarmSeverity::Major => "Major",
        AlarmSeverity::Minor => "Minor",
        AlarmSeverity::Warning => "Warning",
        AlarmSeverity::Indeterminate => "Indeterminate",
        AlarmSeverity::Unknown(name) => name,
    }
}

//! The connection health view: state, round trip, rates, reconnects, the last close in plain
//! words and what to do, and "Reconnect now" / "Copy diagnostics" (no secrets in it).

use std::fmt::Write as _;

use crate::store::Store;

use super::top_bar::{connection_text, rtt_text};

/// What the user asked for in the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthAction {
    /// Reconnect at once, skipping the backoff.
    ReconnectNow,
    /// Put this text on the clipboard.
    Copy(String),
}

/// The diagnostics text: no token, no password, no user data beyond the server and user.
#[must_use]
pub fn diagnostics(store: &Store, server: &str, user: &str, now_ms: i64) -> String {
    let mut out = format!(
        "tb-monitor {}\nserver {server}\nuser {user}\nstate {}\n",
        env!("CARGO_PKG_VERSION"),
        connection_text(store.health.as_ref(), now_ms)
    );
    if let Some(h) = &store.health {
        writeln!(
            out,
            "rtt {}\nmsgs/s {:.1}\nbytes/s {:.0}\nreconnects {}\nmessages {}",
            rtt_text(h.rtt_smoothed()),
            h.messages_per_sec(now_ms),
            h.bytes_per_sec(now_ms),
            h.reconnects(),
            h.total_messages()
        )
        .ok();
        if let Some(c) = h.last_close() {
            writeln!(
                out,
                "last close {} \"{}\": {} ({})",
                c.code, c.reason, c.summary, c.action
            )
            .ok();
        }
    }
    writeln!(
        out,
        "bad frames {}\nlegacy server {}\nsubscriptions {}",
        store.bad_frames,
        store.legacy_server,
        store.subs.len()
    )
    .ok();
    for (sub, err) in &store.errors {
        writeln!(
            out,
            "subscription {sub} error {}: {}",
            err.code, err.message
        )
        .ok();
    }
    out
}

/// Draws the view; returns what the user asked for.
pub fn health_ui(
    ui: &mut egui::Ui,
    store: &Store,
    server: &str,
    user: &str,
    now_ms: i64,
) -> Option<HealthAction> {
    let mut action = None;
    ui.heading("Connection");
    egui::Grid::new("health")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            ui.label("Server");
            ui.label(server);
            ui.end_row();
            ui.label("State");
            ui.label(connection_text(store.health.as_ref(), now_ms));
            ui.end_row();
            if let Some(h) = &store.health {
                ui.label("Round trip");
                ui.label(rtt_text(h.rtt_smoothed()));
                ui.end_row();
                ui.label("Messages");
                ui.label(format!(
                    "{:.1}/s, {:.1} kB/s ({} in all)",
                    h.messages_per_sec(now_ms),
                    h.bytes_per_sec(now_ms) / 1000.0,
                    h.total_messages()
                ));
                ui.end_row();
                ui.label("Reconnects");
                ui.label(h.reconnects().to_string());
                ui.end_row();
                if let Some(c) = h.last_close() {
                    ui.label("Last close");
                    ui.label(format!("{} {}: {}", c.code, c.summary, c.action));
                    ui.end_row();
                }
            }
            ui.label("Server version");
            ui.label(if store.legacy_server {
                "before 3.6.2 (legacy endpoint: no alarm status, no notifications)"
            } else {
                "3.6.2 or later (/api/ws)"
            });
            ui.end_row();
            ui.label("Bad frames");
            ui.label(store.bad_frames.to_string());
            ui.end_row();
        });
    ui.horizontal(|ui| {
        if ui.button("Reconnect now").clicked() {
            action = Some(HealthAction::ReconnectNow);
        }
        if ui.button("Copy diagnostics").clicked() {
            action = Some(HealthAction::Copy(diagnostics(store, server, user, now_ms)));
        }
    });
    action
}

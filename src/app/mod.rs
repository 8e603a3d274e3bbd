//! The eframe app: [`TbApp`] drains network events into the [`Store`] in `logic` and lays
//! out the panels in `ui` (a table of contents). This first increment opens logged in to
//! a server (the embedded demo server with `--demo`); the login screen, profiles, keychain
//! and settings follow in issue 5's next increments.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::demo::{DemoConfig, DemoServer};
use crate::net::rest::{LoginOutcome, RestClient};
use crate::net::tls::TlsTrust;
use crate::net::{EventQueue, NetCommand, NetHandle, SessionConfig, SubId, SubSpec, UiWaker};
use crate::protocol::WsCmd;
use crate::store::{Store, SubData};
use crate::ui::health::{HealthAction, health_ui};
use crate::ui::top_bar::{TopBar, top_bar_ui};
use crate::ui::{View, entities::EntitiesPanel};

/// The entity table's subscription.
pub const ENTITIES_SUB: SubId = 1;
/// The alarm badge's subscription (active unacknowledged alarms).
pub const ALARM_COUNT_SUB: SubId = 2;
/// The bell's subscription (unread notifications).
pub const UNREAD_SUB: SubId = 3;

/// How long `logic` may spend applying events before it yields the frame.
pub const DRAIN_BUDGET: Duration = Duration::from_millis(8);
/// Repaint delay after network events: coalesces a burst into one frame (≤ 20 frames/s), which
/// keeps software-rendered machines idle enough (toolchain.md §7).
pub const REPAINT_AFTER: Duration = Duration::from_millis(50);

/// Wakes egui when network events arrive.
#[derive(Debug, Clone)]
pub struct EguiWaker(pub egui::Context);

impl UiWaker for EguiWaker {
    fn wake(&self) {
        self.0.request_repaint_after(REPAINT_AFTER);
    }
}

/// A logged-in server.
#[derive(Debug, Clone)]
pub struct Session {
    /// The server's URL (shown in the top bar).
    pub server: String,
    /// The user's e-mail.
    pub user: String,
    /// The REST client holding the tokens.
    pub rest: RestClient,
}

/// Starts the embedded demo server and logs in as its tenant admin.
///
/// # Errors
/// The server cannot bind, or the login fails (both would be bugs).
pub async fn demo_session(config: DemoConfig) -> Result<(Session, DemoServer), String> {
    let server = DemoServer::start(config)
        .await
        .map_err(|e| format!("cannot start the demo server: {e}"))?;
    let rest = RestClient::new(&server.base_url(), TlsTrust::System).map_err(|e| e.to_string())?;
    let user = "tenant@thingsboard.org";
    match rest
        .login(user, "tenant")
        .await
        .map_err(|e| e.to_string())?
    {
        LoginOutcome::LoggedIn(_) => {}
        LoginOutcome::SecondFactor(_) => return Err("the demo tenant asked for 2FA".to_owned()),
    }
    Ok((
        Session {
            server: format!("demo server {}", server.base_url()),
            user: user.to_owned(),
            rest,
        },
        server,
    ))
}

/// The subscriptions the shell opens: the entity table, the alarm badge and the bell.
#[must_use]
pub fn default_subscriptions() -> Vec<(SubId, SubSpec)> {
    let frame = include_str!("../../assets/queries/app_default.json");
    let Ok(message) = serde_json::from_str::<crate::protocol::ClientMessage>(frame) else {
        return Vec::new();
    };
    let ids = [ENTITIES_SUB, ALARM_COUNT_SUB, UNREAD_SUB];
    message
        .cmds
        .into_iter()
        .filter_map(|c: WsCmd| SubSpec::from_cmd(c))
        .zip(ids)
        .map(|(spec, id)| (id, spec))
        .collect()
}

/// The desktop app.
pub struct TbApp {
    session: Session,
    net: NetHandle,
    queue: EventQueue,
    store: Store,
    view: View,
    entities: EntitiesPanel,
    notice: Option<String>,
    /// Keeps the embedded demo server running as long as the app.
    _demo: Option<DemoServer>,
}

impl std::fmt::Debug for TbApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TbApp")
            .field("server", &self.session.server)
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    crate::net::tokens::now_ms()
}

impl TbApp {
    /// Starts the session on `runtime` and opens the default subscriptions.
    #[must_use]
    pub fn new(
        ctx: &egui::Context,
        runtime: &tokio::runtime::Handle,
        session: Session,
        demo: Option<DemoServer>,
    ) -> Self {
        let queue = EventQueue::new(10_000, Arc::new(EguiWaker(ctx.clone())));
        let net = crate::net::spawn(
            runtime,
            session.rest.clone(),
            SessionConfig::default(),
            queue.clone(),
        );
        let mut notice = None;
        for (sub, spec) in default_subscriptions() {
            if let Err(e) = net.try_send(NetCommand::Subscribe { sub, spec }) {
                notice = Some(e.to_string());
            }
        }
        Self {
            session,
            net,
            queue,
            store: Store::new(),
            view: View::default(),
            entities: EntitiesPanel::default(),
            notice,
            _demo: demo,
        }
    }

    /// The data model (for tests and diagnostics).
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn count(&self, sub: SubId) -> Option<i64> {
        match self.store.subs.get(&sub) {
            Some(SubData::AlarmCount(c)) => c.count(),
            Some(SubData::Unread(c)) => c.count(),
            _ => None,
        }
    }

    fn send(&mut self, cmd: NetCommand) {
        if let Err(e) = self.net.try_send(cmd) {
            self.notice = Some(e.to_string());
        }
    }

    fn central_ui(&mut self, ui: &mut egui::Ui) {
        let now = now_ms();
        match self.view {
            View::Entities => {
                let page = match self.store.subs.get(&ENTITIES_SUB) {
                    Some(SubData::Entities(p)) => Some(p),
                    _ => None,
                };
                self.entities.show(ui, page, now);
            }
            View::Health => {
                let action = health_ui(
                    ui,
                    &self.store,
                    &self.session.server,
                    &self.session.user,
                    now,
                );
                match action {
                    Some(HealthAction::ReconnectNow) => self.send(NetCommand::ReconnectNow),
                    Some(HealthAction::Copy(text)) => ui.ctx().copy_text(text),
                    None => {}
                }
            }
            other => {
                ui.heading(other.label());
                if let Some(issue) = other.planned_in() {
                    ui.label(format!("This view arrives with issue {issue}."));
                }
            }
        }
    }
}

impl eframe::App for TbApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        loop {
            let batch = self.queue.drain(256);
            if batch.is_empty() {
                break;
            }
            let now = now_ms();
            for event in batch {
                self.store.apply(event, now);
            }
            if started.elapsed() > DRAIN_BUDGET {
                // More is waiting: show this frame, then carry on.
                ctx.request_repaint();
                break;
            }
        }
        // A countdown on screen needs a tick; otherwise the app sleeps until data arrives.
        if matches!(
            self.store
                .health
                .as_ref()
                .map(crate::store::health::Health::state),
            Some(crate::net::ConnState::Reconnecting { .. })
        ) {
            ctx.request_repaint_after(Duration::from_secs(1));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let bar = TopBar {
            server: &self.session.server,
            user: &self.session.user,
            health: self.store.health.as_ref(),
            alarms: self.count(ALARM_COUNT_SUB),
            unread: self.count(UNREAD_SUB),
            now_ms: now_ms(),
        };
        egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, &bar));
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            status_bar_ui(ui, &self.store, self.notice.as_deref());
        });
        egui::Panel::left("navigation")
            .resizable(false)
            .show(ui, |ui| navigation_ui(ui, &mut self.view));
        egui::CentralPanel::default().show(ui, |ui| self.central_ui(ui));
    }
}

fn navigation_ui(ui: &mut egui::Ui, view: &mut View) {
    ui.add_space(4.0);
    for v in View::ALL {
        ui.selectable_value(view, v, v.label());
    }
}

fn status_bar_ui(ui: &mut egui::Ui, store: &Store, notice: Option<&str>) {
    ui.horizontal(|ui| {
        if let Some(n) = notice {
            ui.label(n);
        } else if store.session_expired {
            ui.label("the session has expired: log in again");
        } else if let Some(c) = store.health.as_ref().and_then(|h| h.last_close()) {
            ui.label(format!("last disconnect: {} ({})", c.summary, c.action));
        } else {
            ui.weak("ready");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_subscriptions_are_the_table_the_alarm_badge_and_the_bell() {
        let subs = default_subscriptions();
        let ids: Vec<SubId> = subs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [ENTITIES_SUB, ALARM_COUNT_SUB, UNREAD_SUB]);
        assert!(matches!(subs[0].1, SubSpec::EntityData(_)));
        assert!(matches!(subs[1].1, SubSpec::AlarmCount(_)));
        assert!(matches!(subs[2].1, SubSpec::NotificationsCount(_)));
    }
}

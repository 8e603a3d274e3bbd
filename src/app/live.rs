//! The logged-in part of the app: one session's network handle, its store and the views.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::demo::DemoServer;
use crate::net::{EventQueue, NetCommand, NetHandle, SessionConfig, SubId};
use crate::secrets::{SecretKind, SecretStore};
use crate::settings::Settings;
use crate::store::{Store, SubData};
use crate::ui::View;
use crate::ui::health::{HealthAction, health_ui};
use crate::ui::top_bar::{TopBar, top_bar_ui};

use super::Effect;
use super::alarms_view::{ALARM_NOTIFY_SUB, ALARMS_VIEW_SUB, AlarmsView, notify_spec};
use super::entities_view::EntitiesView;
use super::plots_view::{PlotsView, ViewContext};
use super::tray::{TrayAction, tray_ui};
use crate::alarm::notify::{Notice, Notifier, NotifyPrefs};

use super::{
    ALARM_COUNT_SUB, DRAIN_BUDGET, ENTITIES_SUB, EguiWaker, Session, UNREAD_SUB,
    default_entities_query, default_subscriptions, now_ms,
};

mod center;

/// How long an alarm toast stays.
const TOAST_MS: i64 = 10_000;

/// Most toasts on screen at once (older ones go first).
const MAX_TOASTS: usize = 4;

/// How often the app looks for a rotated refresh token to keep in the keychain.
const REFRESH_TOKEN_CHECK: Duration = Duration::from_secs(5);

/// What the logged-in screen asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveAction {
    /// The user logged out.
    Logout,
    /// The session cannot be renewed: the password is needed again.
    SessionExpired,
    /// The user changed a setting: save the settings file.
    SettingsChanged,
}

/// Where the refresh token of a remembered login is kept.
#[derive(Debug, Clone)]
pub struct Remember {
    /// The keychain.
    pub secrets: Arc<dyn SecretStore>,
    /// The profile's keychain account.
    pub account: String,
}

/// A logged-in session and everything shown for it.
pub struct Live {
    session: Session,
    net: NetHandle,
    queue: EventQueue,
    /// Wakes the UI for network events, at most at the settings' frame rate.
    waker: EguiWaker,
    store: Store,
    view: View,
    entities: EntitiesView,
    plots: PlotsView,
    alarms: AlarmsView,
    inspector: super::inspector_view::InspectorView,
    /// Turns new and escalated alarms into notices.
    notifier: Notifier,
    /// The version of the watched alarm page last given to the notifier.
    notified_version: Option<u64>,
    /// In-app toasts shown (notice, when it appeared).
    toasts: Vec<(Notice, i64)>,
    /// Quiet mode: toasts only.
    quiet: bool,
    /// The notification tray is open.
    tray_open: bool,
    /// Desktop notices failed once (no daemon): said once, not per notice.
    desktop_failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The entity another view was opened for from the table (for the views to come).
    focus: Option<crate::protocol::EntityId>,
    /// The notification center: tray subscription, notices, the Notifications view, the
    /// system tray icon.
    center: center::Center,
    notice: Option<String>,
    remember: Option<Remember>,
    saved_refresh: Option<String>,
    refresh_checked: Instant,
    runtime: tokio::runtime::Handle,
    /// Keeps an embedded demo server running as long as its session.
    demo: Option<DemoServer>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("server", &self.session.server)
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

impl Live {
    /// Starts the session on `runtime` and opens the default subscriptions.
    #[must_use]
    pub fn start(
        ctx: &egui::Context,
        runtime: &tokio::runtime::Handle,
        session: Session,
        demo: Option<DemoServer>,
        remember: Option<Remember>,
        settings: &Settings,
    ) -> Self {
        let waker = EguiWaker::new(ctx.clone(), settings.max_frame_rate);
        let queue = EventQueue::new(10_000, Arc::new(waker.clone()));
        let net = crate::net::spawn(
            runtime,
            session.rest.clone(),
            SessionConfig::default(),
            queue.clone(),
        );
        let mut notice = session.notice.clone();
        let entities = EntitiesView::new(default_entities_query());
        let subs = default_subscriptions()
            .into_iter()
            .filter(|(sub, _)| *sub != ENTITIES_SUB)
            .chain(entities.subscriptions());
        let center = center::Center::new(session.rest.base_url(), settings);
        let subs = subs.chain([
            (ALARM_NOTIFY_SUB, notify_spec()),
            center.first_subscription(),
        ]);
        for (sub, spec) in subs {
            if let Err(e) = net.try_send(NetCommand::Subscribe { sub, spec }) {
                notice = Some(e.to_string());
            }
        }
        // The login saved the refresh token it got; later rotations are saved from here.
        let saved_refresh = session
            .rest
            .tokens()
            .and_then(|t| t.refresh().map(str::to_owned));
        Self {
            session,
            net,
            queue,
            waker,
            store: {
                let mut store = Store::new();
                // The tray's inbox keeps as many notifications as its subscription asks for.
                store.subs.insert(center.inbox_sub, center.empty_inbox());
                store
            },
            view: View::default(),
            entities,
            plots: PlotsView::new(settings),
            alarms: AlarmsView::new(settings),
            inspector: super::inspector_view::InspectorView::new(settings),
            notifier: Notifier::with_zone(
                NotifyPrefs::from(&settings.notifications),
                crate::plot::window::Zone::from_pref(settings.time_zone),
            ),
            notified_version: None,
            toasts: Vec::new(),
            quiet: false,
            tray_open: false,
            desktop_failed: std::sync::Arc::default(),
            focus: None,
            center,
            notice,
            remember,
            saved_refresh,
            refresh_checked: Instant::now(),
            runtime: runtime.clone(),
            demo,
        }
    }

    /// The data model (for tests and diagnostics).
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The Entities view (for tests and diagnostics).
    #[must_use]
    pub fn entities(&self) -> &EntitiesView {
        &self.entities
    }

    /// The Alarms view (for tests and diagnostics).
    #[must_use]
    pub fn alarms(&self) -> &AlarmsView {
        &self.alarms
    }

    /// The Inspector (for tests and diagnostics).
    #[must_use]
    pub fn inspector(&self) -> &super::inspector_view::InspectorView {
        &self.inspector
    }

    /// The Plots view (for tests and diagnostics).
    #[must_use]
    pub fn plots(&self) -> &PlotsView {
        &self.plots
    }

    /// The session.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The embedded demo server this session runs on, if any.
    #[must_use]
    pub fn demo_server(&self) -> Option<&DemoServer> {
        self.demo.as_ref()
    }

    /// The view shown.
    #[must_use]
    pub fn view(&self) -> View {
        self.view
    }

    /// Opens `view` (e.g. restored from the last run).
    pub fn set_view(&mut self, view: View) {
        self.view = view;
    }

    /// Shows `notice` in the status bar.
    pub fn set_notice(&mut self, notice: String) {
        self.notice = Some(notice);
    }

    /// Stops the session task (the app is going back to the login screen or closing).
    pub fn shutdown(&self) {
        // A full queue means the task is busy; dropping the handle stops it anyway.
        self.net.try_send(NetCommand::Shutdown).ok();
    }

    fn count(&self, sub: SubId) -> Option<i64> {
        match self.store.subs.get(&sub) {
            Some(SubData::AlarmCount(c)) => c.count(),
            Some(SubData::Unread(c)) => c.count(),
            _ => None,
        }
    }

    /// Carries out what the Entities view asked for; true when the settings changed.
    fn apply_effects(&mut self, ctx: &egui::Context, effects: Vec<Effect>) -> bool {
        let mut settings_changed = false;
        for effect in effects {
            match effect {
                Effect::Net(cmd) => self.send(*cmd),
                Effect::Forget(sub) => self.store.forget(sub),
                Effect::Retire(sub) => self.store.retire(sub),
                Effect::NewAlarmView(sub) => {
                    if let Some(SubData::Alarms(page)) = self.store.subs.get_mut(&sub) {
                        page.begin_new_view();
                    }
                }
                Effect::Copy(text) => ctx.copy_text(text),
                Effect::Notice(text) => self.notice = Some(text),
                Effect::SettingsChanged => settings_changed = true,
                Effect::Open(view, entity) => self.open(view, entity),
                Effect::Follow(target, about) => self.follow(ctx, target, about),
                Effect::PlotAround {
                    entity,
                    name,
                    at_ms,
                } => {
                    self.plots
                        .plot_around(entity, name, at_ms, &self.session.rest, &self.runtime);
                    self.view = View::Plots;
                }
                Effect::Plot { entity, keys } => {
                    let name = self
                        .entity_name(&entity)
                        .unwrap_or_else(|| entity.id.to_string());
                    self.plots.add_series(&entity, &name, &keys);
                    self.view = View::Plots;
                }
            }
        }
        settings_changed
    }

    /// Opens `view` for `entity` (the Alarms view lists its alarms, the Inspector shows it).
    fn open(&mut self, view: View, entity: crate::protocol::EntityId) {
        let name = self
            .entity_name(&entity)
            .unwrap_or_else(|| entity.id.to_string());
        match view {
            View::Alarms => self.alarms.show_entity(entity.clone(), name),
            View::Inspector => {
                let effects = self.inspector.open(entity.clone(), name, &mut self.store);
                for effect in effects {
                    if let Effect::Net(cmd) = effect {
                        self.send(*cmd);
                    }
                }
            }
            _ => {}
        }
        self.view = view;
        self.focus = Some(entity);
    }

    /// The name of `entity` in the entity table, if it is on the page.
    fn entity_name(&self, entity: &crate::protocol::EntityId) -> Option<String> {
        let Some(SubData::Entities(page)) = self.store.subs.get(&ENTITIES_SUB) else {
            return None;
        };
        page.row(entity)?
            .latest_value(&crate::protocol::EntityKeyType::EntityField, "name")?
            .value()
            .map(str::to_owned)
    }

    /// The entities on the table's page with their names (the plot picker offers them).
    fn table_entities(&self) -> Vec<(crate::protocol::EntityId, String)> {
        let Some(SubData::Entities(page)) = self.store.subs.get(&ENTITIES_SUB) else {
            return Vec::new();
        };
        page.rows()
            .map(|row| {
                let id = row.entity_id().clone();
                let name = self.entity_name(&id).unwrap_or_else(|| id.id.to_string());
                (id, name)
            })
            .collect()
    }

    /// Applies the settings that shape the session's data (points kept per series).
    pub fn apply_settings(&mut self, settings: &Settings) {
        self.plots.apply_settings(settings);
        self.alarms.apply_settings(settings);
        self.notifier.set_prefs(self.notify_prefs(settings));
        self.notifier
            .set_zone(crate::plot::window::Zone::from_pref(settings.time_zone));
        self.apply_center_settings(settings);
        self.waker.set_frame_rate(settings.max_frame_rate);
        self.inspector.apply_settings(settings);
        self.store
            .set_series_limits(crate::store::series::SeriesLimits {
                max_points: settings.limits.points_per_series,
                ..crate::store::series::SeriesLimits::default()
            });
    }

    fn send(&mut self, cmd: NetCommand) {
        if let Err(e) = self.net.try_send(cmd) {
            self.notice = Some(e.to_string());
        }
    }

    /// Applies waiting network events (within [`DRAIN_BUDGET`]), resyncs the subscriptions
    /// whose messages the queue dropped, and keeps a rotated refresh token in the keychain.
    pub fn logic(&mut self, ctx: &egui::Context) -> Option<LiveAction> {
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
        // Subscriptions whose messages the queue dropped are fetched again: nothing is lost.
        let net = &self.net;
        self.store.resync_lagged(|cmd| net.try_send(cmd));
        if !self.store.lagged.is_empty() {
            // The session's command queue was full: try again shortly.
            ctx.request_repaint_after(Duration::from_millis(100));
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
        let effects = self
            .entities
            .logic(&self.store, &self.session.rest, &self.runtime);
        self.apply_effects(ctx, effects);
        let effects = self.plots.logic(&mut self.store, now_ms());
        self.apply_effects(ctx, effects);
        let effects = self.inspector.logic(&mut self.store, now_ms());
        self.apply_effects(ctx, effects);
        let effects = self
            .alarms
            .logic(&self.session.rest, &self.runtime, ctx, now_ms());
        self.apply_effects(ctx, effects);
        self.notify(ctx, now_ms());
        self.center_logic(ctx, now_ms());
        if let Some(SubData::Alarms(page)) = self.store.subs.get_mut(&ALARMS_VIEW_SUB) {
            page.expire_new(now_ms(), crate::ui::alarms::NEW_GLOW_MS);
            if self.view == View::Alarms && page.new_count() > 0 {
                ctx.request_repaint_after(Duration::from_millis(500));
            }
        }
        self.keep_refresh_token();
        self.store
            .session_expired
            .then_some(LiveAction::SessionExpired)
    }

    fn notify_prefs(&self, settings: &Settings) -> NotifyPrefs {
        NotifyPrefs {
            quiet: self.quiet,
            ..NotifyPrefs::from(&settings.notifications)
        }
    }

    /// Feeds the watched alarms to the notifier and shows what it has due: a toast always,
    /// a desktop notification (on a blocking task) unless quiet. Runs while the window is
    /// minimized too (eframe calls `logic` when hidden).
    fn notify(&mut self, ctx: &egui::Context, now: i64) {
        if let Some(SubData::Alarms(page)) = self.store.subs.get(&ALARM_NOTIFY_SUB)
            && page.has_data()
            && self.notified_version != Some(page.version())
        {
            self.notified_version = Some(page.version());
            self.notifier.observe(page.rows(), now);
        }
        for notice in self.notifier.poll(now) {
            self.alarms_alerted(&notice.alarms, now);
            if notice.desktop {
                let failed = self.desktop_failed.clone();
                let shown = notice.clone();
                self.runtime.spawn_blocking(move || {
                    if let Err(e) = crate::alarm::notify::show_on_desktop(&shown)
                        && !failed.swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        tracing::warn!("desktop notifications are not available: {e}");
                    }
                });
            }
            self.toasts.push((notice, now));
        }
        self.toasts
            .retain(|(_, at)| now.saturating_sub(*at) < TOAST_MS);
        if self.toasts.len() > MAX_TOASTS {
            let extra = self.toasts.len() - MAX_TOASTS;
            self.toasts.drain(..extra);
        }
        if let Some(due) = self.notifier.next_due_ms() {
            let wait = u64::try_from(due.saturating_sub(now).max(50)).unwrap_or(50);
            ctx.request_repaint_after(Duration::from_millis(wait));
        }
        // A toast shows no countdown: wake only when the oldest one is due to go.
        if let Some(first) = self.toasts.iter().map(|(_, at)| *at).min() {
            let left = first.saturating_add(TOAST_MS).saturating_sub(now).max(50);
            ctx.request_repaint_after(Duration::from_millis(u64::try_from(left).unwrap_or(50)));
        }
    }

    /// The in-app toasts, bottom right; a click opens the Alarms view.
    fn toasts_ui(&mut self, ui: &egui::Ui) {
        if self.toasts.is_empty() {
            return;
        }
        let mut open = false;
        let mut dismiss = None;
        egui::Area::new(egui::Id::unique("alarm_toasts"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -36.0))
            .order(egui::Order::Foreground)
            .show(ui.ctx(), |ui| {
                for (i, (notice, _)) in self.toasts.iter().enumerate() {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.set_max_width(360.0);
                        ui.horizontal(|ui| {
                            crate::ui::theme::dot(
                                ui,
                                crate::ui::alarms::severity_color(&notice.severity),
                            );
                            ui.label(egui::RichText::new(&notice.title).strong());
                        });
                        ui.label(&notice.body);
                        ui.horizontal(|ui| {
                            if ui.button("Show alarms").clicked() {
                                open = true;
                                dismiss = Some(i);
                            }
                            if ui.button("Dismiss").clicked() {
                                dismiss = Some(i);
                            }
                        });
                    });
                }
            });
        if let Some(i) = dismiss
            && i < self.toasts.len()
        {
            self.toasts.remove(i);
        }
        if open {
            self.view = View::Alarms;
        }
    }

    /// Quiet mode: toasts only, no desktop notification or sound.
    pub fn set_quiet(&mut self, quiet: bool, settings: &Settings) {
        self.quiet = quiet;
        self.notifier.set_prefs(self.notify_prefs(settings));
        self.set_center_quiet(settings);
    }

    /// The toasts shown (for tests).
    #[must_use]
    pub fn toasts(&self) -> Vec<&Notice> {
        self.toasts.iter().map(|(n, _)| n).collect()
    }

    /// Saves the refresh token when the session rotated it, off the UI thread (a keychain
    /// may prompt or be slow).
    fn keep_refresh_token(&mut self) {
        let Some(remember) = &self.remember else {
            return;
        };
        if self.refresh_checked.elapsed() < REFRESH_TOKEN_CHECK {
            return;
        }
        self.refresh_checked = Instant::now();
        let current = self
            .session
            .rest
            .tokens()
            .and_then(|t| t.refresh().map(str::to_owned));
        if current.is_none() || current == self.saved_refresh {
            return;
        }
        self.saved_refresh.clone_from(&current);
        let Remember { secrets, account } = remember.clone();
        self.runtime.spawn_blocking(move || {
            if let Some(token) = current
                && let Err(e) = secrets.set(SecretKind::RefreshToken, &account, &token)
            {
                tracing::warn!("cannot keep the refresh token in the keychain: {e}");
            }
        });
    }

    /// Draws the logged-in window.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        settings: &mut Settings,
        file: Option<&std::path::Path>,
    ) -> Option<LiveAction> {
        // Hidden in the tray (eframe keeps calling `ui` at up to 10 Hz on X11 and Windows):
        // nothing to draw; `logic` keeps the session and the notices going.
        if self.hidden_in_tray() {
            return None;
        }
        let bar = TopBar {
            server: &self.session.server,
            user: &self.session.user,
            health: self.store.health.as_ref(),
            alarms: self.count(ALARM_COUNT_SUB),
            worst: match self.store.subs.get(&ALARM_NOTIFY_SUB) {
                Some(SubData::Alarms(page)) => page.worst_active_unacknowledged_severity(),
                _ => None,
            },
            unread: self.count(UNREAD_SUB),
            tray_open: self.tray_open,
            now_ms: now_ms(),
        };
        let mut action = None;
        egui::Panel::top("top_bar").show(ui, |ui| {
            let clicked = top_bar_ui(ui, &bar);
            if clicked.logout {
                action = Some(LiveAction::Logout);
            }
            if clicked.bell {
                self.tray_open = !self.tray_open;
            }
        });
        let mut quiet = self.quiet;
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                status_bar_ui(ui, &self.store, self.notice.as_deref());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.checkbox(&mut quiet, "Quiet mode").on_hover_text(
                        "New alarms show only inside the app: no desktop notification, no sound",
                    );
                });
            });
        });
        if quiet != self.quiet {
            self.set_quiet(quiet, settings);
        }
        egui::Panel::left("navigation")
            .resizable(false)
            .show(ui, |ui| navigation_ui(ui, &mut self.view));
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(a) = self.central_ui(ui, settings, file) {
                action = Some(a);
            }
        });
        self.toasts_ui(ui);
        if self.tray_open {
            let zone = crate::plot::window::Zone::from_pref(settings.time_zone);
            let cx = crate::ui::notifications::RowContext {
                zone: &zone,
                now_ms: now_ms(),
            };
            match tray_ui(ui.ctx(), self.inbox(), self.session.rest.base_url(), cx) {
                Some(TrayAction::Close) => self.tray_open = false,
                Some(TrayAction::MarkRead(id)) => {
                    self.send(NetCommand::MarkNotificationsRead { ids: vec![id] });
                }
                Some(TrayAction::MarkAllRead) => self.send(NetCommand::MarkAllNotificationsRead),
                Some(TrayAction::Follow(target, about)) => self.follow(ui.ctx(), target, about),
                Some(TrayAction::ShowAll) => {
                    self.view = View::Notifications;
                    self.tray_open = false;
                }
                None => {}
            }
        }
        self.close_to_tray(ui.ctx());
        action
    }

    fn central_ui(
        &mut self,
        ui: &mut egui::Ui,
        settings: &mut Settings,
        file: Option<&std::path::Path>,
    ) -> Option<LiveAction> {
        let now = now_ms();
        match self.view {
            View::Entities => {
                let effects = self.entities.ui(
                    ui,
                    &self.store,
                    settings,
                    &self.session.rest,
                    &self.runtime,
                    now,
                );
                if self.apply_effects(ui.ctx(), effects) {
                    return Some(LiveAction::SettingsChanged);
                }
            }
            View::Plots => {
                let context = ViewContext {
                    rest: &self.session.rest,
                    runtime: &self.runtime,
                    now_ms: now,
                    live: self
                        .store
                        .health
                        .as_ref()
                        .is_some_and(|h| matches!(h.state(), crate::net::ConnState::Live)),
                    table_entities: self.table_entities(),
                };
                let effects = self.plots.ui(ui, &mut self.store, settings, &context);
                if self.apply_effects(ui.ctx(), effects) {
                    return Some(LiveAction::SettingsChanged);
                }
                // Following live data: redraw as time passes even without new points.
                if let Some(every) = self.plots.follow_tick(now) {
                    let cap =
                        Duration::from_millis(1_000 / u64::from(settings.max_frame_rate.max(1)));
                    ui.ctx().request_repaint_after(every.max(cap));
                }
            }
            View::Alarms => {
                let page = match self.store.subs.get(&ALARMS_VIEW_SUB) {
                    Some(SubData::Alarms(p)) => Some(p),
                    _ => None,
                };
                let query_filter = Some(self.entities.query().entity_filter.clone());
                let effects = self.alarms.ui(
                    ui,
                    page,
                    query_filter,
                    (&self.session.rest, &self.runtime),
                    now,
                );
                self.apply_effects(ui.ctx(), effects);
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
            View::Notifications => {
                let effects = self.inbox_view_ui(ui, now);
                self.apply_effects(ui.ctx(), effects);
            }
            View::Settings => {
                if crate::ui::settings::settings_ui(ui, settings, file) {
                    return Some(LiveAction::SettingsChanged);
                }
            }
            View::Inspector => {
                let effects = self.inspector.ui(
                    ui,
                    &mut self.store,
                    (&self.session.rest, &self.runtime),
                    now,
                );
                self.apply_effects(ui.ctx(), effects);
            }
        }
        None
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.shutdown();
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

//! The notification center of a live session: the tray's subscription (its limit from the
//! settings), desktop notices for new notifications (`inbox::notify`), the Notifications
//! view, where a notification's action leads, and the system tray icon with "close to
//! tray".

use std::collections::BTreeSet;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use uuid::Uuid;

use super::Live;
use crate::app::Effect;
use crate::app::inbox_view::InboxView;
use crate::app::system_tray::{SystemTray, TrayCommand};
use crate::app::tray::{INBOX_SUB, INBOX_SUB_NEXT, inbox_spec};
use crate::inbox::look::Target;
use crate::inbox::notify::{InboxNotice, InboxNotifier, InboxPrefs};
use crate::net::{NetCommand, SubId};
use crate::protocol::EntityId;
use crate::settings::Settings;
use crate::store::SubData;
use crate::store::notifications::Inbox;
use crate::ui::View;

/// Clicked desktop notices waiting for the UI thread.
const MAX_CLICKS: usize = 16;
/// Notification notices remembered for diagnostics and tests.
const RECENT_NOTICES: usize = 16;

/// The notification center's state.
pub(super) struct Center {
    /// The tray's current subscription and its limit.
    pub(super) inbox_sub: SubId,
    next_inbox_sub: SubId,
    tray_limit: usize,
    pub(super) view: InboxView,
    notifier: InboxNotifier,
    /// The inbox version last shown to the notifier.
    observed: Option<(SubId, u64)>,
    /// The latest notices, newest last (whether or not they reached the desktop).
    recent: std::collections::VecDeque<InboxNotice>,
    /// Clicked desktop notices: the notification to show (the newest of a group).
    clicks_tx: SyncSender<Uuid>,
    clicks_rx: Receiver<Uuid>,
    system_tray: Option<SystemTray>,
    /// Whether the icon should exist (the setting), and whether creating it was tried.
    tray_wanted: bool,
    tray_tried: bool,
    close_to_tray: bool,
    /// The window is hidden in the tray.
    hidden: bool,
    /// The window can be hidden (not on Wayland, where nothing could bring it back).
    can_hide: bool,
    /// The user chose Quit in the tray menu: let the close through.
    quitting: bool,
}

impl Center {
    pub(super) fn new(base_url: &str, settings: &Settings) -> Self {
        let (clicks_tx, clicks_rx) = sync_channel(MAX_CLICKS);
        Self {
            inbox_sub: INBOX_SUB,
            next_inbox_sub: INBOX_SUB_NEXT,
            tray_limit: settings.inbox.tray_limit,
            view: InboxView::new(base_url, settings),
            notifier: InboxNotifier::new(prefs(settings, false)),
            observed: None,
            recent: std::collections::VecDeque::new(),
            clicks_tx,
            clicks_rx,
            system_tray: None,
            tray_wanted: settings.inbox.tray_icon,
            tray_tried: false,
            close_to_tray: settings.inbox.close_to_tray,
            hidden: false,
            can_hide: true,
            quitting: false,
        }
    }

    /// The tray's empty inbox, sized like its subscription.
    pub(super) fn empty_inbox(&self) -> SubData {
        SubData::Inbox(Inbox::new(self.tray_limit))
    }

    /// The tray's subscription as the session starts.
    pub(super) fn first_subscription(&self) -> (SubId, crate::net::SubSpec) {
        (self.inbox_sub, inbox_spec(self.tray_limit))
    }
}

/// The notifier's preferences from the settings and quiet mode.
fn prefs(settings: &Settings, quiet: bool) -> InboxPrefs {
    InboxPrefs {
        desktop: settings.inbox.desktop && settings.notifications.desktop,
        sound: settings.notifications.sound,
        muted: settings
            .inbox
            .muted_types
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        quiet,
    }
}

impl Live {
    /// Applies the notification center's settings: a new tray length subscribes again
    /// under a fresh id; the icon comes or goes.
    pub(super) fn apply_center_settings(&mut self, settings: &Settings) {
        self.center.notifier.set_prefs(prefs(settings, self.quiet));
        self.center.view.apply_settings(settings);
        self.center.close_to_tray = settings.inbox.close_to_tray;
        if self.center.tray_wanted != settings.inbox.tray_icon {
            self.center.tray_wanted = settings.inbox.tray_icon;
            self.center.tray_tried = false;
            if !self.center.tray_wanted {
                self.center.system_tray = None;
            }
        }
        if settings.inbox.tray_limit != self.center.tray_limit {
            self.center.tray_limit = settings.inbox.tray_limit;
            let old = self.center.inbox_sub;
            let new = self.center.next_inbox_sub;
            self.center.next_inbox_sub += 1;
            self.center.inbox_sub = new;
            self.send(NetCommand::Unsubscribe { sub: old });
            self.store.retire(old);
            let empty = self.center.empty_inbox();
            self.store.subs.insert(new, empty);
            self.send(NetCommand::Subscribe {
                sub: new,
                spec: inbox_spec(self.center.tray_limit),
            });
        }
    }

    /// Quiet mode for notification notices too.
    pub(super) fn set_center_quiet(&mut self, settings: &Settings) {
        self.center.notifier.set_prefs(prefs(settings, self.quiet));
    }

    /// The tray's inbox.
    pub(super) fn inbox(&self) -> Option<&Inbox> {
        match self.store.subs.get(&self.center.inbox_sub) {
            Some(SubData::Inbox(inbox)) => Some(inbox),
            _ => None,
        }
    }

    /// The latest notices about platform notifications, oldest first (whether or not they
    /// reached the desktop; for tests and diagnostics).
    #[must_use]
    pub fn notification_notices(&self) -> Vec<&InboxNotice> {
        self.center.recent.iter().collect()
    }

    /// Whether the window can be hidden in the tray (false on Wayland).
    pub fn set_can_hide(&mut self, can_hide: bool) {
        self.center.can_hide = can_hide;
    }

    /// Whether the window is hidden in the system tray.
    #[must_use]
    pub fn hidden_in_tray(&self) -> bool {
        self.center.hidden
    }

    /// The Notifications view (for tests).
    #[must_use]
    pub fn inbox_view(&self) -> &InboxView {
        &self.center.view
    }

    /// The tray's current `NOTIFICATIONS` subscription (its id changes with its limit).
    #[must_use]
    pub fn inbox_sub(&self) -> SubId {
        self.center.inbox_sub
    }

    /// Tells the notification notifier which alarms an alarm notice already announced.
    pub(super) fn alarms_alerted(&mut self, alarms: &[EntityId], now: i64) {
        for alarm in alarms {
            self.center.notifier.note_alarm_alerted(alarm.id, now);
        }
    }

    /// Runs the notification center for one frame.
    pub(super) fn center_logic(&mut self, ctx: &egui::Context, now: i64) {
        let sub = self.center.inbox_sub;
        if let Some(SubData::Inbox(inbox)) = self.store.subs.get(&sub)
            && inbox.has_list()
            && self.center.observed != Some((sub, inbox.version()))
        {
            self.center.observed = Some((sub, inbox.version()));
            self.center.notifier.observe(inbox.notifications(), now);
        }
        for notice in self.center.notifier.poll(now) {
            if self.center.recent.len() == RECENT_NOTICES {
                self.center.recent.pop_front();
            }
            self.center.recent.push_back(notice.clone());
            if !notice.desktop {
                continue;
            }
            let failed = self.desktop_failed.clone();
            let clicks = self.center.clicks_tx.clone();
            let wake = ctx.clone();
            let open = notice.focus.or_else(|| notice.ids.first().copied());
            self.runtime.spawn_blocking(move || {
                let on_click: Option<Box<dyn FnOnce() + Send>> = open.map(|id| {
                    Box::new(move || {
                        clicks.try_send(id).ok();
                        wake.request_repaint();
                    }) as Box<dyn FnOnce() + Send>
                });
                if let Err(e) = crate::inbox::notify::show_on_desktop(&notice, on_click)
                    && !failed.swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::warn!("desktop notifications are not available: {e}");
                }
            });
        }
        if let Some(due) = self.center.notifier.next_due_ms() {
            let wait = u64::try_from(due.saturating_sub(now).max(50)).unwrap_or(50);
            ctx.request_repaint_after(std::time::Duration::from_millis(wait));
        }
        while let Ok(id) = self.center.clicks_rx.try_recv() {
            self.show_window(ctx);
            self.view = View::Notifications;
            self.center.view.focus(id);
        }
        let marker = (
            self.inbox().and_then(Inbox::last_sequence_number),
            match self.store.subs.get(&crate::app::UNREAD_SUB) {
                Some(SubData::Unread(c)) => c.last_sequence_number(),
                _ => None,
            },
        );
        let visible = self.view == View::Notifications && !self.center.hidden;
        self.center.view.logic(
            &self.session.rest,
            &self.runtime,
            ctx,
            (now, visible),
            marker,
        );
        self.system_tray_logic(ctx);
    }

    fn system_tray_logic(&mut self, ctx: &egui::Context) {
        if self.center.tray_wanted && !self.center.tray_tried {
            self.center.tray_tried = true;
            self.center.system_tray = SystemTray::new(ctx);
        }
        let unread = self.count(crate::app::UNREAD_SUB);
        let worst = match self
            .store
            .subs
            .get(&crate::app::alarms_view::ALARM_NOTIFY_SUB)
        {
            Some(SubData::Alarms(page)) => page.worst_active_unacknowledged_severity(),
            _ => None,
        };
        let Some(tray) = &mut self.center.system_tray else {
            return;
        };
        tray.update(unread, worst);
        for command in tray.poll() {
            match command {
                TrayCommand::Show => self.show_window(ctx),
                TrayCommand::Quit => {
                    self.center.quitting = true;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
        }
    }

    fn show_window(&mut self, ctx: &egui::Context) {
        self.center.hidden = false;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
        ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
    }

    /// Closing the window with "keep running in the tray" on (and a tray icon to come back
    /// by) hides it instead; the session keeps running and notifying.
    pub(super) fn close_to_tray(&mut self, ctx: &egui::Context) {
        let asked = ctx.input(|i| i.viewport().close_requested());
        if asked
            && self.center.close_to_tray
            && self.center.system_tray.is_some()
            && self.center.can_hide
            && !self.center.quitting
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            ctx.send_viewport_cmd(egui::ViewportCommand::Visible(false));
            self.center.hidden = true;
        }
    }

    /// Follows a notification's action.
    pub(super) fn follow(
        &mut self,
        ctx: &egui::Context,
        target: Target,
        about: Option<(EntityId, String)>,
    ) {
        match target {
            Target::Alarm(alarm) => {
                self.alarms.show_alarm(alarm, about);
                self.view = View::Alarms;
            }
            Target::Entity(entity) => self.open(View::Inspector, entity),
            Target::Url(url) => ctx.open_url(egui::OpenUrl::new_tab(url)),
        }
        self.tray_open = false;
    }

    /// Draws the Notifications view.
    pub(super) fn inbox_view_ui(&mut self, ui: &mut egui::Ui, now: i64) -> Vec<Effect> {
        let unread = self.count(crate::app::UNREAD_SUB);
        self.center.view.ui(ui, unread, now)
    }
}

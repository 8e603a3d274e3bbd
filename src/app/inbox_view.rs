//! The Notifications view: every notification of the user, read or not, over REST
//! (`GET /api/notifications`, newest first): unread only or all, text search, paging, mark
//! one or all read, delete (with a few seconds to undo), and each notification's action.
//!
//! The socket says when to look again: a change of either notification subscription's
//! sequence number (the tray's `NOTIFICATIONS`, the badge's `NOTIFICATIONS_COUNT`) means
//! the server's list changed, and the shown page is fetched again (at most once a second).
//! Fetches run while the view is shown; a reply for a request that is no longer wanted
//! (the user paged or searched meanwhile) is dropped.

use std::collections::BTreeSet;

use tokio::sync::mpsc;
use uuid::Uuid;

use super::Effect;
use crate::inbox::look::look;
use crate::net::NetCommand;
use crate::net::rest::{NotificationQuery, RestClient};
use crate::plot::window::Zone;
use crate::protocol::{Notification, PageData};
use crate::ui::notifications::{RowAction, RowButtons, RowContext, notification_ui};
use crate::ui::theme;

/// The page sizes offered.
pub const PAGE_SIZES: [u32; 3] = [20, 50, 100];
/// How long a typed search settles before it is sent.
const SEARCH_SETTLE_MS: i64 = 300;
/// How long a deleted notification can be brought back.
pub const UNDO_MS: i64 = 5_000;
/// The shortest time between two fetches caused by the server.
const REFETCH_MIN_MS: i64 = 1_000;

/// One page request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    unread_only: bool,
    search: String,
    page: u32,
    page_size: u32,
    /// Bumped to fetch the same page again.
    generation: u64,
}

enum Reply {
    Page {
        request: Request,
        result: Result<PageData<Notification>, String>,
    },
    Deleted {
        result: Result<(), String>,
    },
}

/// A deletion waiting out its undo window.
#[derive(Debug, Clone)]
struct Deleting {
    id: Uuid,
    subject: String,
    due_ms: i64,
}

/// The Notifications view.
pub struct InboxView {
    unread_only: bool,
    search: String,
    /// The search text sent, and when the typed one last changed.
    search_sent: String,
    search_typed_ms: Option<i64>,
    page: u32,
    page_size: u32,
    generation: u64,
    requested: Option<Request>,
    shown: Option<(Request, PageData<Notification>)>,
    error: Option<String>,
    deleting: Vec<Deleting>,
    /// Locally marked read (until the next page arrives).
    read_here: BTreeSet<Uuid>,
    /// The notifications' sequence numbers last seen, and when the page was last fetched.
    server_marker: Option<(Option<i64>, Option<i64>)>,
    fetched_ms: i64,
    /// The notification a desktop notice opened, highlighted.
    focus: Option<Uuid>,
    base_url: String,
    zone: Zone,
    tx: mpsc::Sender<Reply>,
    rx: mpsc::Receiver<Reply>,
}

impl std::fmt::Debug for InboxView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxView")
            .field("unread_only", &self.unread_only)
            .field("search", &self.search)
            .field("page", &self.page)
            .finish_non_exhaustive()
    }
}

impl InboxView {
    /// Unread notifications first page, of the server at `base_url`.
    #[must_use]
    pub fn new(base_url: &str, settings: &crate::settings::Settings) -> Self {
        let (tx, rx) = mpsc::channel(16);
        Self {
            unread_only: true,
            search: String::new(),
            search_sent: String::new(),
            search_typed_ms: None,
            page: 0,
            page_size: PAGE_SIZES[0],
            generation: 0,
            requested: None,
            shown: None,
            error: None,
            deleting: Vec::new(),
            read_here: BTreeSet::new(),
            server_marker: None,
            fetched_ms: i64::MIN,
            focus: None,
            base_url: base_url.to_owned(),
            zone: Zone::from_pref(settings.time_zone),
            tx,
            rx,
        }
    }

    /// Applies the display settings.
    pub fn apply_settings(&mut self, settings: &crate::settings::Settings) {
        self.zone = Zone::from_pref(settings.time_zone);
    }

    /// Shows every notification from the newest, with `id` highlighted (a desktop notice
    /// was clicked).
    pub fn focus(&mut self, id: Uuid) {
        self.unread_only = false;
        self.search.clear();
        self.search_sent.clear();
        self.page = 0;
        self.generation += 1;
        self.focus = Some(id);
    }

    /// The notifications of the page shown, without those being deleted (for tests).
    #[must_use]
    pub fn rows(&self) -> Vec<&Notification> {
        self.shown.as_ref().map_or_else(Vec::new, |(_, page)| {
            page.data
                .iter()
                .filter(|n| !self.deleting.iter().any(|d| d.id == n.id.id))
                .collect()
        })
    }

    /// Whether only unread notifications are listed.
    #[must_use]
    pub fn unread_only(&self) -> bool {
        self.unread_only
    }

    fn wanted(&self) -> Request {
        Request {
            unread_only: self.unread_only,
            search: self.search_sent.clone(),
            page: self.page,
            page_size: self.page_size,
            generation: self.generation,
        }
    }

    /// Receives replies, sends due deletions, and fetches the page when it is shown and
    /// something changed. `marker` is the pair of notification sequence numbers.
    pub fn logic(
        &mut self,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        (now_ms, visible): (i64, bool),
        marker: (Option<i64>, Option<i64>),
    ) {
        while let Ok(reply) = self.rx.try_recv() {
            match reply {
                Reply::Page { request, result } => {
                    if Some(&request) != self.requested.as_ref() {
                        continue;
                    }
                    match result {
                        Ok(page) => {
                            self.read_here.clear();
                            self.error = None;
                            self.shown = Some((request, page));
                        }
                        Err(e) => self.error = Some(e),
                    }
                }
                Reply::Deleted { result } => {
                    if let Err(e) = result {
                        self.error = Some(format!("The notification was not deleted: {e}"));
                    }
                    self.generation += 1;
                }
            }
        }
        self.send_due_deletions(rest, runtime, ctx, now_ms);
        if let Some(typed) = self.search_typed_ms {
            let settled = typed.saturating_add(SEARCH_SETTLE_MS);
            if now_ms >= settled {
                self.search_typed_ms = None;
                if self.search.trim() != self.search_sent {
                    self.search_sent = self.search.trim().to_owned();
                    self.page = 0;
                }
            } else {
                ctx.request_repaint_after(ms(settled.saturating_sub(now_ms)));
            }
        }
        if self.server_marker != Some(marker) {
            if self.server_marker.is_some() {
                let allowed = self.fetched_ms.saturating_add(REFETCH_MIN_MS);
                if now_ms >= allowed {
                    self.server_marker = Some(marker);
                    self.generation += 1;
                } else {
                    ctx.request_repaint_after(ms(allowed.saturating_sub(now_ms)));
                }
            } else {
                self.server_marker = Some(marker);
            }
        }
        let wanted = self.wanted();
        if visible && self.requested.as_ref() != Some(&wanted) {
            self.fetch(wanted, rest, runtime, ctx, now_ms);
        }
    }

    fn fetch(
        &mut self,
        request: Request,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        now_ms: i64,
    ) {
        self.requested = Some(request.clone());
        self.fetched_ms = now_ms;
        let query = NotificationQuery {
            page_size: request.page_size,
            page: request.page,
            unread_only: request.unread_only,
            text_search: Some(request.search.clone()).filter(|s| !s.is_empty()),
        };
        let rest = rest.clone();
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        runtime.spawn(async move {
            let result = rest
                .notifications(&query)
                .await
                .map_err(|e| sentence(&e.to_string()));
            tx.send(Reply::Page { request, result }).await.ok();
            ctx.request_repaint();
        });
    }

    fn send_due_deletions(
        &mut self,
        rest: &RestClient,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        now_ms: i64,
    ) {
        let (due, waiting): (Vec<Deleting>, Vec<Deleting>) = std::mem::take(&mut self.deleting)
            .into_iter()
            .partition(|d| now_ms >= d.due_ms);
        self.deleting = waiting;
        if let Some(next) = self.deleting.iter().map(|d| d.due_ms).min() {
            ctx.request_repaint_after(ms(next.saturating_sub(now_ms)));
        }
        for d in due {
            let rest = rest.clone();
            let tx = self.tx.clone();
            let ctx = ctx.clone();
            runtime.spawn(async move {
                let result = rest
                    .delete_notification(d.id)
                    .await
                    .map_err(|e| sentence(&e.to_string()));
                tx.send(Reply::Deleted { result }).await.ok();
                ctx.request_repaint();
            });
        }
    }

    /// Draws the view.
    pub fn ui(&mut self, ui: &mut egui::Ui, unread: Option<i64>, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        egui::Panel::top("inbox_bar").show(ui, |ui| {
            self.bar_ui(ui, unread, now_ms, &mut effects);
            self.undo_ui(ui, now_ms);
        });
        egui::CentralPanel::default().show(ui, |ui| self.list_ui(ui, now_ms, &mut effects));
        effects
    }

    fn bar_ui(
        &mut self,
        ui: &mut egui::Ui,
        unread: Option<i64>,
        now_ms: i64,
        effects: &mut Vec<Effect>,
    ) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Notifications");
            if let Some(n) = unread {
                ui.weak(format!("{n} unread"));
            }
            ui.separator();
            let before = self.unread_only;
            ui.selectable_value(&mut self.unread_only, true, "Unread");
            ui.selectable_value(&mut self.unread_only, false, "All");
            if before != self.unread_only {
                self.page = 0;
            }
            ui.separator();
            let label = ui.label("Search");
            let search = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text("subject or text")
                        .desired_width(180.0),
                )
                .labelled_by(label.id);
            if search.changed() {
                self.search_typed_ms = Some(now_ms);
            }
            if search.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                self.search_typed_ms = Some(i64::MIN);
            }
            ui.separator();
            if ui
                .add_enabled(
                    unread.is_none_or(|n| n > 0),
                    egui::Button::new("Mark all as read"),
                )
                .clicked()
            {
                effects.push(Effect::Net(Box::new(NetCommand::MarkAllNotificationsRead)));
                if let Some((_, page)) = &mut self.shown {
                    for n in &mut page.data {
                        self.read_here.insert(n.id.id);
                    }
                }
            }
            if ui.button("Refresh").clicked() {
                self.generation += 1;
            }
        });
    }

    fn undo_ui(&mut self, ui: &mut egui::Ui, now_ms: i64) {
        let mut undo = None;
        for d in &self.deleting {
            ui.horizontal(|ui| {
                let left = (d.due_ms.saturating_sub(now_ms) + 999) / 1000;
                ui.label(format!("Deleting \"{}\" in {left} s", d.subject));
                if ui.button("Undo").clicked() {
                    undo = Some(d.id);
                }
            });
        }
        if let Some(id) = undo {
            self.deleting.retain(|d| d.id != id);
        }
        if !self.deleting.is_empty() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(250));
        }
    }

    fn list_ui(&mut self, ui: &mut egui::Ui, now_ms: i64, effects: &mut Vec<Effect>) {
        if let Some(e) = &self.error {
            let mut retry = false;
            ui.horizontal(|ui| {
                ui.colored_label(theme::DOWN, e);
                retry = ui.button("Retry").clicked();
            });
            if retry {
                self.error = None;
                self.generation += 1;
            }
        }
        let Some((request, page)) = &self.shown else {
            ui.weak("Loading…");
            return;
        };
        let page_change = paging_ui(
            ui,
            request,
            page,
            self.requested.as_ref(),
            &mut self.page_size,
        );
        let mut action = None;
        ui.separator();
        let rows: Vec<&Notification> = page
            .data
            .iter()
            .filter(|n| !self.deleting.iter().any(|d| d.id == n.id.id))
            .collect();
        if rows.is_empty() {
            ui.weak(match (request.unread_only, request.search.is_empty()) {
                (true, true) => "No unread notifications".to_owned(),
                (false, true) => "No notifications".to_owned(),
                (_, false) => format!("No notification matches \"{}\"", request.search),
            });
        }
        let cx = RowContext {
            zone: &self.zone,
            now_ms,
        };
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for n in rows {
                    let buttons = RowButtons {
                        delete: true,
                        read_here: self.read_here.contains(&n.id.id),
                    };
                    let highlight = self.focus == Some(n.id.id);
                    let frame = if highlight {
                        egui::Frame::group(ui.style()).stroke(egui::Stroke::new(1.5, theme::ACCENT))
                    } else {
                        egui::Frame::NONE
                    };
                    let look = look(n, &self.base_url);
                    frame.show(ui, |ui| {
                        if let Some(a) = notification_ui(ui, n, &look, cx, buttons) {
                            action = Some((a, n.subject.clone().unwrap_or_default()));
                        }
                    });
                    ui.separator();
                }
            });
        if let Some(p) = page_change {
            self.page = p;
        }
        match action {
            Some((RowAction::MarkRead(id), _)) => {
                self.read_here.insert(id);
                effects.push(Effect::Net(Box::new(NetCommand::MarkNotificationsRead {
                    ids: vec![id],
                })));
            }
            Some((RowAction::Delete(id), subject)) => self.deleting.push(Deleting {
                id,
                subject,
                due_ms: now_ms.saturating_add(UNDO_MS),
            }),
            Some((RowAction::Open(target, about), _)) => {
                effects.push(Effect::Follow(target, about));
            }
            None => {}
        }
    }
}

/// The count, a spinner while another page loads, paging and the page size; the page to
/// go to, if the user asked for another.
fn paging_ui(
    ui: &mut egui::Ui,
    request: &Request,
    page: &PageData<Notification>,
    requested: Option<&Request>,
    page_size: &mut u32,
) -> Option<u32> {
    let stale = requested != Some(request);
    let mut page_change = None;
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} notification{}",
            crate::ui::thousands(page.total_elements),
            if page.total_elements == 1 { "" } else { "s" }
        ));
        if stale {
            ui.spinner();
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .add_enabled(page.has_next, egui::Button::new("Next"))
                .clicked()
            {
                page_change = Some(request.page + 1);
            }
            ui.label(format!(
                "Page {} of {}",
                request.page + 1,
                page.total_pages.max(1)
            ));
            if ui
                .add_enabled(request.page > 0, egui::Button::new("Previous"))
                .clicked()
            {
                page_change = Some(request.page.saturating_sub(1));
            }
            let mut size = *page_size;
            egui::ComboBox::from_id_salt("inbox_page_size")
                .selected_text(format!("{size} a page"))
                .show_ui(ui, |ui| {
                    for s in PAGE_SIZES {
                        ui.selectable_value(&mut size, s, format!("{s} a page"));
                    }
                });
            if size != *page_size {
                *page_size = size;
                page_change = Some(0);
            }
        });
    });
    page_change
}

fn ms(n: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(n.max(1)).unwrap_or(1))
}

/// `text` with its first letter upper-case.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Failed".to_owned(),
    }
}

//! The notification center's fixture for `app_tray.rs` and `app_inbox.rs`: the app logged in
//! to an in-process demo server of quiet devices (no simulation: every notification comes
//! from the test through `DemoControl`), with desktop notifications and the system tray icon
//! off (notices are still produced and recorded, with `desktop == false`), and read-outs of
//! the app (the badge, the tray's inbox, the Notifications view's rows) and of the server
//! (its notification pages over REST, as the app's own user).
//!
//! The demo seeds the user's inbox with five notifications, four of them unread (the newest
//! a `GENERAL` welcome). Every wait goes through `ui::step_until` and its deadline. The
//! including file declares `common/ui.rs` as `mod ui` next to this module.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::app::TbApp;
use tb_monitor::app::live::Live;
use tb_monitor::demo::DemoControl;
use tb_monitor::demo::notifications::NewNotification;
use tb_monitor::net::rest::NotificationQuery;
use tb_monitor::protocol::{Notification, PageData};
use tb_monitor::settings::Settings;
use tb_monitor::store::SubData;
use tb_monitor::store::notifications::Inbox;
use uuid::Uuid;

use super::ui::{DEADLINE, click, step_until};

/// Devices of the demo tenant.
pub const DEVICES: usize = 4;

/// Settings that reach nothing outside the test: no desktop notification, no tray icon.
pub fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.notifications.desktop = false;
    settings.inbox.tray_icon = false;
    settings
}

/// The app logged in to a demo server of [`DEVICES`] quiet devices with [`settings`] as
/// `tune` changes them, and the server's control; returns once the tray's list and the
/// badge's count arrived.
pub fn center_app(
    rt: &tokio::runtime::Runtime,
    tune: impl FnOnce(&mut Settings),
) -> (Harness<'static, TbApp>, DemoControl) {
    let mut settings = settings();
    tune(&mut settings);
    let config = tb_monitor::app::AppConfig {
        start: tb_monitor::app::Start::Demo,
        settings_file: None,
        settings,
        secrets: std::sync::Arc::new(tb_monitor::secrets::MemoryStore::new()),
        notice: None,
        demo: tb_monitor::demo::DemoConfig {
            simulate: false,
            devices: DEVICES,
            ..tb_monitor::demo::DemoConfig::default()
        },
    };
    let handle = rt.handle().clone();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .build_eframe(move |cc| TbApp::new(cc, &handle, config));
    step_until(&mut h, "the session", |h| h.state().live().is_some());
    step_until(&mut h, "the tray's list and the unread count", |h| {
        tray(h).is_some_and(Inbox::has_list) && badge(h).is_some()
    });
    let control = live(&h).demo_server().unwrap().control();
    (h, control)
}

/// The live session.
pub fn live<'h>(h: &'h Harness<'_, TbApp>) -> &'h Live {
    h.state().live().expect("logged in")
}

/// The e-mail of the user the app is logged in as.
pub fn user(h: &Harness<'_, TbApp>) -> String {
    live(h).session().user.clone()
}

/// The badge's count (the `NOTIFICATIONS_COUNT` subscription), once it arrived.
pub fn badge(h: &Harness<'_, TbApp>) -> Option<i64> {
    match h
        .state()
        .live()?
        .store()
        .subs
        .get(&tb_monitor::app::UNREAD_SUB)?
    {
        SubData::Unread(c) => c.count(),
        _ => None,
    }
}

/// The tray's inbox (its current `NOTIFICATIONS` subscription).
pub fn tray<'h>(h: &'h Harness<'_, TbApp>) -> Option<&'h Inbox> {
    let live = h.state().live()?;
    match live.store().subs.get(&live.inbox_sub())? {
        SubData::Inbox(inbox) => Some(inbox),
        _ => None,
    }
}

/// The ids the tray lists, newest first.
pub fn tray_ids(h: &Harness<'_, TbApp>) -> Vec<Uuid> {
    tray(h).map_or_else(Vec::new, |inbox| {
        inbox.notifications().iter().map(|n| n.id.id).collect()
    })
}

/// Sends the app's user a `GENERAL` notification; returns its id.
pub fn send(control: &DemoControl, h: &Harness<'_, TbApp>, subject: &str) -> Uuid {
    let kind = NewNotification::General {
        subject: subject.to_owned(),
        text: format!("About {subject}"),
    };
    control
        .send_notification(&user(h), &kind)
        .expect("the app's user exists on the demo server")
}

/// The server's unread notifications of the app's user (no REST round trip).
pub fn server_unread(control: &DemoControl, h: &Harness<'_, TbApp>) -> i64 {
    control.unread_notifications(&user(h))
}

/// Runs `work` on the runtime within [`DEADLINE`].
pub fn within<T>(rt: &tokio::runtime::Runtime, work: impl Future<Output = T>) -> T {
    rt.block_on(async { tokio::time::timeout(DEADLINE, work).await })
        .expect("within the deadline")
}

/// The server's first page of up to 100 notifications of the app's user, newest first, as
/// `GET /api/notifications` gives them to the app's REST client.
pub fn server_page(
    rt: &tokio::runtime::Runtime,
    h: &Harness<'_, TbApp>,
    unread_only: bool,
) -> PageData<Notification> {
    let rest = live(h).session().rest.clone();
    let query = NotificationQuery {
        page_size: 100,
        page: 0,
        unread_only,
        text_search: None,
    };
    within(rt, rest.notifications(&query)).expect("the notifications page")
}

/// The ids of a page's notifications, in order.
pub fn ids(page: &[Notification]) -> Vec<Uuid> {
    page.iter().map(|n| n.id.id).collect()
}

/// Opens the Notifications view from the navigation and waits for its first page.
pub fn open_inbox(h: &mut Harness<'_, TbApp>) {
    click(h, "Notifications");
    step_until(h, "the Notifications view's first page", |h| {
        !live(h).inbox_view().rows().is_empty()
    });
}

/// The Notifications view's rows as (id, subject), in order.
pub fn rows(h: &Harness<'_, TbApp>) -> Vec<(Uuid, String)> {
    live(h)
        .inbox_view()
        .rows()
        .into_iter()
        .map(|n| (n.id.id, n.subject.clone().unwrap_or_default()))
        .collect()
}

/// Clicks the button labelled `button` on the row whose subject is `subject`: the first
/// such button below the subject (a row draws its subject, its text, then its buttons).
pub fn click_on_row(h: &mut Harness<'_, TbApp>, subject: &str, button: &str) {
    let top = h
        .get_all_by_label(subject)
        .find(|n| n.accesskit_node().role() == Role::Label)
        .unwrap_or_else(|| panic!("a row with the subject {subject}"))
        .rect()
        .top();
    h.get_all_by_role_and_label(Role::Button, button)
        .filter(|n| n.rect().top() > top)
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .unwrap_or_else(|| panic!("a {button} button on the row of {subject}"))
        .click();
    h.run_steps(2);
}

/// Whether a label with exactly `text` is shown.
pub fn shows(h: &Harness<'_, TbApp>, text: &str) -> bool {
    h.query_by_label(text).is_some()
}

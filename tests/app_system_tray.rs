//! The system tray icon and "keep running in the tray" end to end: the app logged in to the
//! in-process demo server with the real icon on the D-Bus session bus, driven the way a
//! `StatusNotifier` host drives it (`dbus-send` to the icon's `dbusmenu` and
//! `StatusNotifierItem` objects), and close requests pushed into the root viewport's input
//! the way the window's close button makes them. What the app asks of the window is read from
//! the root viewport's commands of each frame.
//!
//! Rules checked:
//! * With "keep running in the tray" on, a close request is cancelled and the window hidden
//!   instead; nothing is drawn while hidden, and the session keeps running: a notification
//!   sent meanwhile still reaches the store.
//! * "Show tb-monitor" in the tray menu, or a click on the icon, brings the window back:
//!   visible, un-minimized, focused, drawn again.
//! * "Quit" in the tray menu closes the window and lets that close through.
//! * With "keep running in the tray" off, a close request is not cancelled.
//!
//! The tests need a session bus and `dbus-send`; run them with
//! `dbus-run-session -- cargo test --test app_system_tray -- --ignored`.
//!
//! Only the newest `SystemTray` of a process receives tray commands, and `ksni` numbers its
//! D-Bus names with a process-wide counter. The tests of this file run on parallel threads of
//! one process, so each holds [`one_tray_at_a_time`] for its whole run (declared first, so
//! it is released after the app and its icon are dropped).

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

#[path = "common/inbox.rs"]
mod inbox;

use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use egui::{ViewportCommand, ViewportEvent, ViewportId};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use inbox::{badge, center_app, live, send, tray_ids};
use tb_monitor::app::TbApp;
use tb_monitor::demo::DemoControl;
use ui::{DEADLINE, step_until};

/// The `dbusmenu` ids of the tray menu's items, in menu order (0 is the menu itself).
const SHOW_ITEM: &str = "int32:1";
const QUIT_ITEM: &str = "int32:2";

/// A label drawn only while the window's contents are drawn (the status bar's check box).
const DRAWN: &str = "Quiet mode";

/// Serialises the tests of this file (see the module docs).
fn one_tray_at_a_time() -> MutexGuard<'static, ()> {
    static ONE_TRAY: Mutex<()> = Mutex::new(());
    ONE_TRAY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Calls `method` on the session bus and returns the printed reply.
fn dbus(dest: &str, path: &str, method: &str, args: &[&str]) -> String {
    let out = Command::new("dbus-send")
        .args(["--session", "--print-reply", &format!("--dest={dest}")])
        .args([path, method])
        .args(args)
        .output()
        .expect("dbus-send");
    assert!(out.status.success(), "{method}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// This process's `StatusNotifierItem` with the highest instance number, as (number, name).
fn newest_icon() -> Option<(u64, String)> {
    let names = dbus(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.ListNames",
        &[],
    );
    let prefix = format!("org.kde.StatusNotifierItem-{}-", std::process::id());
    names
        .split('"')
        .filter_map(|name| Some((name.strip_prefix(&prefix)?.parse().ok()?, name.to_owned())))
        .max()
}

/// The app logged in to a demo server with the tray icon on, desktop notifications off and
/// "keep running in the tray" as `close_to_tray` says; returns once its icon is on the bus,
/// with the icon's D-Bus name.
fn tray_app(
    rt: &tokio::runtime::Runtime,
    close_to_tray: bool,
) -> (Harness<'static, TbApp>, DemoControl, String) {
    let before = newest_icon().map(|(n, _)| n);
    let (mut h, control) = center_app(rt, |s| {
        s.inbox.tray_icon = true;
        s.inbox.close_to_tray = close_to_tray;
    });
    let newer = || newest_icon().filter(|(n, _)| before.is_none_or(|b| *n > b));
    step_until(&mut h, "the app's tray icon on the session bus", |_| {
        newer().is_some()
    });
    let (_, icon) = newer().unwrap();
    (h, control, icon)
}

/// The commands the app gave the root viewport in the last frame.
fn root_commands(h: &Harness<'_, TbApp>) -> Vec<ViewportCommand> {
    h.output()
        .viewport_output
        .get(&ViewportId::ROOT)
        .map(|v| v.commands.clone())
        .unwrap_or_default()
}

/// Asks to close the window, as its close button does; returns the frame's root viewport
/// commands.
fn request_close(h: &mut Harness<'_, TbApp>) -> Vec<ViewportCommand> {
    h.input_mut()
        .viewports
        .entry(ViewportId::ROOT)
        .or_default()
        .events
        .push(ViewportEvent::Close);
    h.step();
    root_commands(h)
}

/// Clicks a tray menu item the way a `StatusNotifier` host does.
fn click_menu_item(icon: &str, item: &str) {
    dbus(
        icon,
        "/MenuBar",
        "com.canonical.dbusmenu.Event",
        &[item, "string:clicked", "variant:int32:0", "uint32:0"],
    );
}

/// Clicks the icon (a host's `Activate`).
fn click_icon(icon: &str) {
    dbus(
        icon,
        "/StatusNotifierItem",
        "org.kde.StatusNotifierItem.Activate",
        &["int32:5", "int32:5"],
    );
}

/// Steps the app until a frame gives the root viewport `wanted`; returns the commands of
/// every frame stepped, in order.
fn step_until_command(
    h: &mut Harness<'_, TbApp>,
    wanted: &ViewportCommand,
) -> Vec<ViewportCommand> {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while !seen.contains(wanted) {
        assert!(
            Instant::now() < deadline,
            "no {wanted:?} within {DEADLINE:?}; seen {seen:?}"
        );
        h.step();
        seen.extend(root_commands(h));
        std::thread::sleep(Duration::from_millis(10));
    }
    seen
}

/// Closes the window to the tray and checks that it is hidden.
fn close_to_tray(h: &mut Harness<'_, TbApp>) {
    let commands = request_close(h);
    assert!(
        commands.contains(&ViewportCommand::CancelClose),
        "the close is cancelled: {commands:?}"
    );
    assert!(
        commands.contains(&ViewportCommand::Visible(false)),
        "the window is hidden: {commands:?}"
    );
    assert!(live(h).hidden_in_tray());
    h.step();
    assert!(
        h.query_by_label(DRAWN).is_none(),
        "nothing drawn while hidden"
    );
}

/// Brings the window back through `ask` and checks that it is shown, focused and drawn.
fn show_through(h: &mut Harness<'_, TbApp>, ask: impl FnOnce()) {
    ask();
    let commands = step_until_command(h, &ViewportCommand::Focus);
    for expected in [
        ViewportCommand::Visible(true),
        ViewportCommand::Minimized(false),
    ] {
        assert!(commands.contains(&expected), "{expected:?} in {commands:?}");
    }
    assert!(!live(h).hidden_in_tray());
    assert!(h.query_by_label(DRAWN).is_some(), "drawn again");
}

#[test]
#[ignore = "needs a D-Bus session bus: run under dbus-run-session"]
fn closing_the_window_hides_it_in_the_tray_and_the_session_keeps_running() {
    let _one = one_tray_at_a_time();
    let rt = ui::runtime();
    let (mut h, control, _icon) = tray_app(&rt, true);
    assert!(!live(&h).hidden_in_tray());
    assert!(h.query_by_label(DRAWN).is_some());

    close_to_tray(&mut h);

    let unread = badge(&h).unwrap();
    let id = send(&control, &h, "While hidden");
    step_until(&mut h, "the unread count one up while hidden", |h| {
        badge(h) == Some(unread + 1)
    });
    step_until(&mut h, "the new notification in the tray's inbox", |h| {
        tray_ids(h).first() == Some(&id)
    });
    assert!(live(&h).hidden_in_tray(), "still hidden");
    assert!(h.query_by_label(DRAWN).is_none());
}

#[test]
#[ignore = "needs a D-Bus session bus: run under dbus-run-session"]
fn show_in_the_tray_menu_or_a_click_on_the_icon_brings_the_window_back() {
    let _one = one_tray_at_a_time();
    let rt = ui::runtime();
    let (mut h, _control, icon) = tray_app(&rt, true);

    close_to_tray(&mut h);
    show_through(&mut h, || click_menu_item(&icon, SHOW_ITEM));

    close_to_tray(&mut h);
    show_through(&mut h, || click_icon(&icon));
}

#[test]
#[ignore = "needs a D-Bus session bus: run under dbus-run-session"]
fn quit_in_the_tray_menu_closes_the_window_and_lets_the_close_through() {
    let _one = one_tray_at_a_time();
    let rt = ui::runtime();
    let (mut h, _control, icon) = tray_app(&rt, true);

    click_menu_item(&icon, QUIT_ITEM);
    step_until_command(&mut h, &ViewportCommand::Close);

    let commands = request_close(&mut h);
    assert!(
        !commands.contains(&ViewportCommand::CancelClose),
        "the close goes through: {commands:?}"
    );
    assert!(!commands.contains(&ViewportCommand::Visible(false)));
    assert!(!live(&h).hidden_in_tray());
}

#[test]
#[ignore = "needs a D-Bus session bus: run under dbus-run-session"]
fn without_keep_running_in_the_tray_a_close_request_closes() {
    let _one = one_tray_at_a_time();
    let rt = ui::runtime();
    let (mut h, _control, _icon) = tray_app(&rt, false);

    let commands = request_close(&mut h);
    assert!(
        !commands.contains(&ViewportCommand::CancelClose),
        "the close goes through: {commands:?}"
    );
    assert!(!commands.contains(&ViewportCommand::Visible(false)));
    assert!(!live(&h).hidden_in_tray());
    h.step();
    assert!(h.query_by_label(DRAWN).is_some(), "still drawn");
}

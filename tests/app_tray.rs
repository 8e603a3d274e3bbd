//! The notification tray: the unread badge opens it, "Mark read" and "Mark all as read"
//! reach the server and the badge follows.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tb_monitor::app::TbApp;
use tb_monitor::store::SubData;
use ui::{click, step_until};

fn unread(h: &Harness<'_, TbApp>) -> Option<i64> {
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

fn listed(h: &Harness<'_, TbApp>) -> usize {
    match h
        .state()
        .live()
        .and_then(|l| l.store().subs.get(&tb_monitor::app::tray::INBOX_SUB))
    {
        Some(SubData::Inbox(inbox)) if inbox.has_list() => inbox.notifications().len(),
        _ => 0,
    }
}

#[test]
fn the_bell_opens_the_tray_and_marking_read_lowers_the_unread_badge() {
    let rt = ui::runtime();
    let mut h = ui::demo_app(&rt, 4, egui::vec2(1400.0, 900.0));
    step_until(&mut h, "an unread count above one", |h| {
        unread(h).is_some_and(|n| n > 1)
    });
    step_until(&mut h, "the tray's notifications", |h| listed(h) > 1);
    let before = unread(&h).unwrap();

    let bell = format!("Unread {before}");
    h.get_by_label(&bell).click();
    h.run_steps(2);
    assert!(
        h.query_by_label("Mark all as read").is_some(),
        "the tray is open"
    );

    h.get_all_by_label("Mark read")
        .next()
        .expect("an unread one")
        .click();
    h.run_steps(2);
    step_until(&mut h, "the badge one lower", |h| {
        unread(h) == Some(before - 1)
    });

    click(&mut h, "Mark all as read");
    step_until(&mut h, "no unread notification", |h| unread(h) == Some(0));
    click(&mut h, "Close");
    assert!(
        h.query_by_label("Mark all as read").is_none(),
        "the tray closed"
    );
}

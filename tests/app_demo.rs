//! The app shell in `egui_kittest` (no GPU, no window) against the in-process demo server:
//! it goes live, fills the entity table and the badges, and every view is reachable.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tb_monitor::app::TbApp;
use tb_monitor::store::Store;
use tb_monitor::ui::View;
use ui::step_until;

#[test]
fn the_demo_app_goes_live_and_shows_the_devices_and_every_view_is_reachable() {
    let rt = ui::runtime();
    let mut harness = ui::demo_app(&rt, 20, egui::vec2(1200.0, 760.0));

    step_until(&mut harness, "the demo login", |h| {
        h.state().live().is_some()
    });
    let control = h_live(&harness).demo_server().unwrap().control();
    step_until(&mut harness, "live indicator", |h| {
        h.query_by_label_contains("live").is_some()
    });
    let first_device = {
        let mut names: Vec<String> = control.devices().into_iter().map(|d| d.name).collect();
        names.sort();
        names.remove(0)
    };
    step_until(&mut harness, "the first device in the table", |h| {
        h.query_all_by_label(&first_device).next().is_some()
    });
    step_until(&mut harness, "the alarm badge", |h| {
        matches!(
            store(h).subs.get(&tb_monitor::app::ALARM_COUNT_SUB),
            Some(tb_monitor::store::SubData::AlarmCount(c)) if c.count().is_some()
        )
    });
    let count = h_count(&harness).expect("the count arrived");
    harness.step();
    harness.get_by_label(&format!("Alarms {count}"));

    for view in View::ALL {
        // The navigation entry (the view's heading may carry the same words).
        harness
            .get_all_by_label(view.label())
            .next()
            .unwrap()
            .click();
        harness.run_steps(2);
        if view == View::Notifications {
            harness.get_by_label("Unread");
        }
        if view == View::Inspector {
            harness.get_by_label("Find entity");
        }
        if view == View::Plots {
            harness.get_by_label("No series yet");
        }
        if view == View::Alarms {
            harness.get_by_label("Assigned to me");
        }
    }
    harness
        .get_all_by_label("Connection")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    harness.get_by_label("Reconnect now").click();
    step_until(&mut harness, "a reconnect", |h| {
        store(h)
            .health
            .as_ref()
            .is_some_and(|hl| hl.reconnects() >= 1)
    });
}

fn h_live<'a>(h: &'a Harness<'_, TbApp>) -> &'a tb_monitor::app::live::Live {
    h.state().live().expect("logged in")
}

fn store<'a>(h: &'a Harness<'_, TbApp>) -> &'a Store {
    h_live(h).store()
}

fn h_count(h: &Harness<'_, TbApp>) -> Option<i64> {
    match store(h).subs.get(&tb_monitor::app::ALARM_COUNT_SUB) {
        Some(tb_monitor::store::SubData::AlarmCount(c)) => c.count(),
        _ => None,
    }
}

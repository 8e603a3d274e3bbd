//! The app shell in `egui_kittest` (no GPU, no window) against the in-process demo server:
//! it goes live, fills the entity table and the badges, and every view is reachable.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;

use tb_monitor::app::{AppConfig, Start, TbApp};
use tb_monitor::demo::DemoConfig;
use tb_monitor::secrets::MemoryStore;
use tb_monitor::store::Store;
use tb_monitor::ui::View;

const DEADLINE: Duration = Duration::from_secs(15);

/// Steps the app until `done` holds; network events arrive on another thread, so each step
/// is followed by a short pause (bounded by the deadline, not a readiness guess).
fn step_until(
    harness: &mut Harness<'_, TbApp>,
    what: &str,
    done: impl Fn(&Harness<'_, TbApp>) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    while !done(harness) {
        assert!(Instant::now() < deadline, "no {what} within {DEADLINE:?}");
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_demo_app_goes_live_and_shows_the_devices_and_every_view_is_reachable() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = AppConfig {
        start: Start::Demo,
        settings_file: None,
        settings: tb_monitor::settings::Settings::default(),
        secrets: Arc::new(MemoryStore::new()),
        notice: None,
        demo: DemoConfig {
            simulate: false,
            devices: 20,
            ..DemoConfig::default()
        },
    };
    let handle = rt.handle().clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 760.0))
        .build_eframe(|cc| TbApp::new(cc, &handle, config));

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
        if let Some(issue) = view.planned_in() {
            harness.get_by_label_contains(&format!("issue {issue}"));
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

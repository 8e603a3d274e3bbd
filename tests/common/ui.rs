//! `egui_kittest` helpers shared by the UI tests: wait for a condition with a deadline, type
//! into a labelled field, click a labelled button, pick from a labelled drop-down.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};

/// How long a UI test waits for something the network delivers.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Steps the app until `done` holds. Network events arrive on another thread, so each step
/// is followed by a short pause (bounded by the deadline, not a readiness guess).
pub fn step_until<S>(h: &mut Harness<'_, S>, what: &str, done: impl Fn(&Harness<'_, S>) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done(h) {
        assert!(Instant::now() < deadline, "no {what} within {DEADLINE:?}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Types `text` into the text (or password) field labelled `label`.
pub fn type_into<S>(h: &mut Harness<'_, S>, label: &str, text: &str) {
    {
        let field = h
            .get_all_by_label(label)
            .find(|n| {
                matches!(
                    n.accesskit_node().role(),
                    Role::TextInput | Role::PasswordInput
                )
            })
            .unwrap_or_else(|| panic!("a text field labelled {label}"));
        field.focus();
        field.type_text(text);
    }
    h.run_steps(2);
}

/// Clicks the button (check box, list entry, disclosure) labelled `label`.
pub fn click<S>(h: &mut Harness<'_, S>, label: &str) {
    h.get_all_by_label(label)
        .find(|n| {
            matches!(
                n.accesskit_node().role(),
                Role::Button | Role::CheckBox | Role::ListBoxOption | Role::DisclosureTriangle
            )
        })
        .unwrap_or_else(|| panic!("a button labelled {label}"))
        .click();
    h.run_steps(2);
}

/// Opens the drop-down labelled `label` and clicks `option`.
pub fn choose<S>(h: &mut Harness<'_, S>, label: &str, option: &str) {
    h.get_all_by_label(label)
        .find(|n| n.accesskit_node().role() == Role::ComboBox)
        .unwrap_or_else(|| panic!("a drop-down labelled {label}"))
        .click();
    h.run_steps(2);
    click(h, option);
}

/// A two-worker runtime for the app's network side.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The app started on an embedded demo server of `devices` quiet devices (no simulation),
/// with nothing saved and an in-memory keychain, in a window of `size`.
pub fn demo_app<'a>(
    rt: &tokio::runtime::Runtime,
    devices: usize,
    size: egui::Vec2,
) -> Harness<'a, tb_monitor::app::TbApp> {
    let config = tb_monitor::app::AppConfig {
        start: tb_monitor::app::Start::Demo,
        settings_file: None,
        // No real desktop notifications from tests (the demo's seeded alarms would raise one).
        settings: tb_monitor::settings::Settings {
            notifications: tb_monitor::settings::NotificationPrefs {
                desktop: false,
                ..tb_monitor::settings::NotificationPrefs::default()
            },
            // No real system tray icon either.
            inbox: tb_monitor::settings::InboxPrefs {
                tray_icon: false,
                ..tb_monitor::settings::InboxPrefs::default()
            },
            ..tb_monitor::settings::Settings::default()
        },
        secrets: std::sync::Arc::new(tb_monitor::secrets::MemoryStore::new()),
        notice: None,
        demo: tb_monitor::demo::DemoConfig {
            simulate: false,
            devices,
            ..tb_monitor::demo::DemoConfig::default()
        },
    };
    let handle = rt.handle().clone();
    Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| tb_monitor::app::TbApp::new(cc, &handle, config))
}

/// In the query builder: devices of `device_type` whose time series `key` is greater than
/// `value`, set by clicking and typing as a user would.
pub fn build_device_filter_above<S>(
    h: &mut Harness<'_, S>,
    device_type: &str,
    key: &str,
    value: &str,
) {
    choose(h, "Filter type", "Device type");
    type_into(h, "Device types", device_type);
    click(h, "Add key filter");
    choose(h, "Key type", "Time series");
    type_into(h, "Key name", key);
    choose(h, "Compare as", "Number");
    choose(h, "Operation", "greater than");
    type_into(h, "Value", value);
}

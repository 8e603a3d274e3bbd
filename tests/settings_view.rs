//! The Settings view in `egui_kittest` (no GPU, no window): a click changes the setting,
//! reports the change so the app saves, and applies the theme.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tb_monitor::settings::{Settings, ThemePref, TimeZonePref};
use tb_monitor::ui::settings::settings_ui;

/// What the view edits, and how many frames reported a change.
struct State {
    settings: Settings,
    file: Option<PathBuf>,
    changes: usize,
}

fn harness(file: Option<PathBuf>) -> Harness<'static, State> {
    Harness::builder()
        .with_size(egui::vec2(700.0, 600.0))
        .build_ui_state(
            |ui, state: &mut State| {
                if settings_ui(ui, &mut state.settings, state.file.as_deref()) {
                    state.changes += 1;
                }
            },
            State {
                settings: Settings::default(),
                file,
                changes: 0,
            },
        )
}

#[test]
fn showing_the_view_changes_nothing() {
    let mut harness = harness(None);
    harness.run();
    assert_eq!(harness.state().changes, 0);
    assert_eq!(harness.state().settings, Settings::default());
}

#[test]
fn clicking_light_sets_the_light_theme_reports_a_change_and_applies_it() {
    let mut harness = harness(None);
    harness.run();

    harness.get_by_label("Light").click();
    harness.run();

    assert_eq!(harness.state().settings.theme, ThemePref::Light);
    assert_eq!(harness.state().changes, 1, "one change, one save");
    let applied = harness.ctx.options(|o| o.theme_preference);
    assert_eq!(applied, egui::ThemePreference::Light);
}

#[test]
fn clicking_utc_shows_times_in_utc() {
    let mut harness = harness(None);
    harness.run();

    harness.get_by_label("UTC").click();
    harness.run();

    assert_eq!(harness.state().settings.time_zone, TimeZonePref::Utc);
    assert_eq!(harness.state().changes, 1);
}

#[test]
fn the_view_names_the_settings_file_and_the_memory_per_series() {
    let path = PathBuf::from("/home/user/.config/tb-monitor/settings.toml");
    let mut harness = harness(Some(path.clone()));
    harness.run();

    harness.get_by_label(&format!("Settings file: {}", path.display()));
    // The default two million points.
    harness.get_by_label_contains("about 32 MB");
}

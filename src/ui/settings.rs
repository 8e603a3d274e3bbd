//! The Settings view: appearance, time, notifications, data limits and where the file is.
//!
//! [`settings_ui`] edits a [`Settings`] in place and says whether the user changed anything,
//! so the app saves once per change (a drag on the points count saves when the drag ends, not
//! every frame). Server profiles are edited on the login screen.

use std::path::Path;

use crate::protocol::AlarmSeverity;
use crate::settings::{DataLimits, Settings, ThemePref, TimeWindowPref, TimeZonePref};

/// Shows the Settings view; returns true when the user changed something (the caller saves).
/// A theme change is applied at once.
pub fn settings_ui(ui: &mut egui::Ui, settings: &mut Settings, file: Option<&Path>) -> bool {
    ui.heading("Settings");
    let mut changed = false;
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            changed |= appearance_ui(ui, settings);
            changed |= start_ui(ui, settings);
            changed |= time_ui(ui, settings);
            changed |= notifications_ui(ui, settings);
            changed |= data_ui(ui, settings);
            ui.separator();
            match file {
                Some(path) => ui.weak(format!("Settings file: {}", path.display())),
                None => ui.weak("Settings are not saved: this system has no config folder"),
            };
        });
    changed
}

/// Switches egui's theme to the user's choice.
pub fn apply_theme(ctx: &egui::Context, theme: ThemePref) {
    ctx.set_theme(theme_preference(theme));
}

/// egui's name for a theme choice.
#[must_use]
pub fn theme_preference(theme: ThemePref) -> egui::ThemePreference {
    match theme {
        ThemePref::Dark => egui::ThemePreference::Dark,
        ThemePref::Light => egui::ThemePreference::Light,
        ThemePref::System => egui::ThemePreference::System,
    }
}

/// The memory a full series takes, in words.
#[must_use]
pub fn memory_note(points_per_series: usize) -> String {
    let megabytes = points_per_series.saturating_mul(DataLimits::BYTES_PER_POINT) / 1_000_000;
    let full = if megabytes == 0 {
        "under 1 MB".to_owned()
    } else {
        format!("about {megabytes} MB")
    };
    // Bytes per point × a million points = that many MB.
    format!(
        "A full series takes {full} (about {} MB per million points)",
        DataLimits::BYTES_PER_POINT
    )
}

fn section(ui: &mut egui::Ui, title: &str) {
    ui.add_space(8.0);
    ui.label(egui::RichText::new(title).strong());
}

fn appearance_ui(ui: &mut egui::Ui, settings: &mut Settings) -> bool {
    section(ui, "Appearance");
    let mut changed = false;
    ui.horizontal(|ui| {
        for theme in ThemePref::ALL {
            changed |= ui
                .radio_value(&mut settings.theme, theme, theme.label())
                .changed();
        }
    });
    if changed {
        apply_theme(ui.ctx(), settings.theme);
    }
    egui::ComboBox::from_label("Highest frame rate while data streams")
        .selected_text(format!("{} frames/s", settings.max_frame_rate))
        .show_ui(ui, |ui| {
            for rate in Settings::FRAME_RATES {
                changed |= ui
                    .selectable_value(
                        &mut settings.max_frame_rate,
                        rate,
                        format!("{rate} frames/s"),
                    )
                    .changed();
            }
        });
    ui.weak("Lower saves CPU and battery; clicks and typing always redraw at once");
    changed
}

fn start_ui(ui: &mut egui::Ui, settings: &mut Settings) -> bool {
    section(ui, "Start");
    ui.checkbox(
        &mut settings.auto_login,
        "Log in to the last server on start when its password is remembered",
    )
    .changed()
}

fn time_ui(ui: &mut egui::Ui, settings: &mut Settings) -> bool {
    section(ui, "Time");
    let mut changed = false;
    ui.horizontal(|ui| {
        ui.label("Show times in");
        for zone in TimeZonePref::ALL {
            changed |= ui
                .radio_value(&mut settings.time_zone, zone, zone.label())
                .changed();
        }
    });
    egui::ComboBox::from_label("Default time window for plots")
        .selected_text(settings.default_window.label())
        .show_ui(ui, |ui| {
            for window in TimeWindowPref::ALL {
                changed |= ui
                    .selectable_value(&mut settings.default_window, window, window.label())
                    .changed();
            }
        });
    changed
}

fn notifications_ui(ui: &mut egui::Ui, settings: &mut Settings) -> bool {
    section(ui, "Notifications");
    let prefs = &mut settings.notifications;
    let mut changed = ui
        .checkbox(&mut prefs.desktop, "Desktop notifications for new alarms")
        .changed();
    ui.add_enabled_ui(prefs.desktop, |ui| {
        egui::ComboBox::from_label("Minimum severity")
            .selected_text(super::severity_word(&prefs.min_severity))
            .show_ui(ui, |ui| {
                for severity in AlarmSeverity::KNOWN {
                    changed |= ui
                        .selectable_value(
                            &mut prefs.min_severity,
                            severity.clone(),
                            super::severity_word(severity),
                        )
                        .changed();
                }
            });
        ui.weak("Alarms of this severity or worse notify");
        changed |= ui
            .checkbox(&mut prefs.sound, "Play a sound with each notification")
            .changed();
    });
    changed |= inbox_ui(ui, &mut settings.inbox, settings.notifications.desktop);
    changed
}

/// The notification center: tray length, which platform notifications pop up, tray icon.
fn inbox_ui(ui: &mut egui::Ui, prefs: &mut crate::settings::InboxPrefs, desktop: bool) -> bool {
    use crate::settings::InboxPrefs;
    let mut changed = false;
    ui.add_space(6.0);
    let response = ui
        .horizontal(|ui| {
            let label = ui.label("Notifications in the tray");
            ui.add(
                egui::DragValue::new(&mut prefs.tray_limit)
                    .range(InboxPrefs::MIN_TRAY_LIMIT..=InboxPrefs::MAX_TRAY_LIMIT)
                    .update_while_editing(false),
            )
            .labelled_by(label.id)
        })
        .inner;
    changed |= response.changed();
    ui.add_enabled_ui(desktop, |ui| {
        changed |= ui
            .checkbox(
                &mut prefs.desktop,
                "Desktop notifications for new platform notifications",
            )
            .changed();
        ui.add_enabled_ui(prefs.desktop, |ui| {
            egui::CollapsingHeader::new("Which notification types pop up")
                .id_salt("popup_types")
                .show(ui, |ui| {
                    for t in crate::protocol::NotificationType::KNOWN {
                        let mut on = !prefs.muted_types.contains(t);
                        if ui
                            .checkbox(&mut on, crate::inbox::look::type_words(t))
                            .changed()
                        {
                            prefs.set_muted(t, !on);
                            changed = true;
                        }
                    }
                });
        });
    });
    changed |= ui
        .checkbox(&mut prefs.tray_icon, "Show an icon in the system tray")
        .on_hover_text(
            "With the unread count and the worst active alarm; not every Linux desktop has a tray",
        )
        .changed();
    ui.add_enabled_ui(prefs.tray_icon, |ui| {
        changed |= ui
            .checkbox(
                &mut prefs.close_to_tray,
                "Keep running in the tray when the window is closed",
            )
            .on_hover_text(
                "Alarms and notifications keep reaching you; Quit from the tray icon's menu",
            )
            .changed();
    });
    changed
}

fn data_ui(ui: &mut egui::Ui, settings: &mut Settings) -> bool {
    section(ui, "Data");
    let points = &mut settings.limits.points_per_series;
    let response = ui
        .horizontal(|ui| {
            let label = ui.label("Points kept per series");
            ui.add(
                egui::DragValue::new(points)
                    .range(DataLimits::MIN_POINTS_PER_SERIES..=DataLimits::MAX_POINTS_PER_SERIES)
                    .speed(1_000.0)
                    .update_while_editing(false),
            )
            .labelled_by(label.id)
        })
        .inner;
    ui.weak(memory_note(*points));
    // A drag changes the value every frame; save once, when it ends.
    (response.changed() && !response.dragged()) || response.drag_stopped()
}

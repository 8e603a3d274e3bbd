//! The Alarms view and the alarm notices in `egui_kittest` against the in-process demo server
//! (no simulation: every alarm is raised, acknowledged or cleared by the test, through
//! `DemoControl` or a second client of the tenant; desktop notifications off unless a test
//! turns them on with quiet mode already on).
//!
//! Rules checked:
//! * The severity toggles re-send the view's `ALARM_DATA` query: the list holds only the
//!   chosen severities, and a new alarm of them appears live at the top, highlighted.
//! * Keyboard triage: `j` moves the cursor (the details pane follows it), `a` acknowledges
//!   the cursor's alarm; the row changes when the server's update arrives.
//! * A bulk action waits out its undo window with an undo bar; "Undo" means the server never
//!   hears of it; without undo it runs once the window is over.
//! * An alarm the server refuses in a bulk action gets its reason on its own row; the others
//!   succeed and the summary counts both.
//! * Alarms active at login give one baseline summary; a new alarm comes out as a toast
//!   after the grouping window; quiet mode keeps it in the app (no desktop notification, no
//!   sound) even with desktop notifications on.
//! * "Show alarms" in a table row's menu lists that entity's alarms only.
//! * The details pane plots the originator's time series around the alarm's start.
//! * The top bar's badge counts active unacknowledged alarms and names the worst on hover.
//! * Alarms that a filter change brings into the list are not highlighted as new.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

#[path = "common/plots.rs"]
mod plots;

#[path = "common/alarms.rs"]
mod alarms;

use alarms::{
    FAST_REFRESH, alarm_id, alarm_queries_received, alarms_app, badge, badge_hover_shows,
    click_row, colleague, notify_page, open_alarms, press, quiet_app, raise, row, row_label,
    row_labels, row_selected, server_alarm, settings, shown_row, texts_on_row, view_page, within,
};
use egui::accesskit::{Role, Toggled};
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::alarm::actions::ActionQueue;
use tb_monitor::alarm::notify::GROUP_WINDOW_MS;
use tb_monitor::app::TbApp;
use tb_monitor::plot::window::TimeWindow;
use tb_monitor::protocol::{AlarmSeverity, EntityFilter};
use tb_monitor::ui::View;
use ui::{click, step_until};

/// Now, on the wall clock the app's action queue and notifier use (epoch ms).
fn now_ms() -> i64 {
    tb_monitor::net::tokens::now_ms()
}

#[test]
fn filtering_to_critical_lists_only_critical_alarms_and_a_new_one_appears_live() {
    let rt = ui::runtime();
    let (mut h, control, devices) = quiet_app(&rt);
    open_alarms(&mut h);
    raise(
        &control,
        &devices[0],
        "Boiler Overheat",
        AlarmSeverity::Critical,
    );
    raise(&control, &devices[2], "Door Open", AlarmSeverity::Major);
    shown_row(&mut h, "Boiler Overheat");
    shown_row(&mut h, "Door Open");

    click(&mut h, "Critical");
    assert_eq!(
        h.get_by_role_and_label(Role::Button, "Critical")
            .accesskit_node()
            .toggled(),
        Some(Toggled::True)
    );
    step_until(&mut h, "a list of critical alarms only", |h| {
        let labels = row_labels(h);
        row_label(h, "Boiler Overheat").is_some()
            && row_label(h, "Door Open").is_none()
            && labels.iter().all(|l| l.starts_with("Critical "))
    });
    let sent = alarm_queries_received(&control);
    assert_eq!(
        sent.last().unwrap().page_link.severity_list,
        Some(vec![AlarmSeverity::Critical]),
        "the server filters"
    );

    // A minor alarm first, then a critical one: once the critical one is in, the server has
    // had its chance to send the minor one.
    raise(&control, &devices[3], "Low Battery", AlarmSeverity::Minor);
    let smoke = raise(
        &control,
        &devices[3],
        "Smoke Detected",
        AlarmSeverity::Critical,
    );
    let label = shown_row(&mut h, "Smoke Detected");
    let labels = row_labels(&h);
    assert_eq!(
        labels.first(),
        Some(&label),
        "new alarms come in at the top"
    );
    assert!(row_label(&h, "Low Battery").is_none(), "{labels:?}");
    assert!(
        labels.iter().all(|l| l.starts_with("Critical ")),
        "{labels:?}"
    );
    assert!(
        view_page(&h).unwrap().is_new(&alarm_id(smoke)),
        "the new alarm is highlighted"
    );
}

#[test]
fn acknowledging_from_the_keyboard_changes_the_row_live() {
    let rt = ui::runtime();
    let (mut h, control, devices) = quiet_app(&rt);
    open_alarms(&mut h);
    // Raised one after the other, each waited for: the later one is newer, so it is listed
    // first.
    let door = raise(&control, &devices[0], "Door Open", AlarmSeverity::Major);
    shown_row(&mut h, "Door Open");
    let window = raise(&control, &devices[2], "Window Open", AlarmSeverity::Major);
    shown_row(&mut h, "Window Open");
    assert!(row(&h, window).unwrap().created_time > row(&h, door).unwrap().created_time);

    // The details pane shows the cursor's alarm, with its id.
    press(&mut h, Key::J);
    assert!(
        h.query_by_label(&window.to_string()).is_some(),
        "j: the top row"
    );
    press(&mut h, Key::J);
    assert!(
        h.query_by_label(&door.to_string()).is_some(),
        "j: the next row"
    );
    assert!(h.query_by_label(&window.to_string()).is_none());

    press(&mut h, Key::A);
    step_until(&mut h, "the acknowledged row", |h| {
        row_label(h, "Door Open").is_some_and(|l| l.ends_with(", Active, acknowledged"))
    });
    assert!(
        row_label(&h, "Window Open")
            .unwrap()
            .ends_with(", Active, not acknowledged"),
        "only the cursor's alarm"
    );
    let server = server_alarm(&rt, &colleague(&rt, &h), door);
    assert!(server.acknowledged);
    assert_eq!(
        row(&h, door).unwrap().ack_ts,
        server.ack_ts,
        "the row holds the server's acknowledgement, time included"
    );
}

/// The alarm types of the bulk-action tests, one alarm each.
const BULK_TYPES: [&str; 3] = ["Door Open", "Window Open", "Filter Clogged"];

/// [`quiet_app`] with a Major alarm of each of [`BULK_TYPES`] raised (on the first, third
/// and fourth device) and the Alarms view open on their rows; returns the app and the
/// alarms' ids, in the order of the types.
fn app_with_bulk_alarms_listed(
    rt: &tokio::runtime::Runtime,
) -> (Harness<'static, TbApp>, Vec<uuid::Uuid>) {
    let (mut h, control, devices) = quiet_app(rt);
    let ids = BULK_TYPES
        .iter()
        .zip([&devices[0], &devices[2], &devices[3]])
        .map(|(t, d)| raise(&control, d, t, AlarmSeverity::Major))
        .collect();
    open_alarms(&mut h);
    for t in BULK_TYPES {
        shown_row(&mut h, t);
    }
    (h, ids)
}

/// Selects the rows of `types`: the first with a click and `x`, the others with Ctrl-click.
fn select(h: &mut Harness<'_, TbApp>, types: &[&str]) {
    let (first, others) = types.split_first().unwrap();
    click_row(h, first, Modifiers::NONE);
    press(h, Key::X);
    for t in others {
        click_row(h, t, Modifiers::COMMAND);
    }
    for t in types {
        assert!(row_selected(h, t), "{t} selected");
    }
    let selected = format!("{} selected", types.len());
    assert!(h.query_by_label(&selected).is_some());
}

#[test]
fn a_bulk_clear_waits_out_its_undo_window_and_undo_cancels_it() {
    let rt = ui::runtime();
    let (mut h, ids) = app_with_bulk_alarms_listed(&rt);

    select(&mut h, &BULK_TYPES);
    click(&mut h, "Clear");
    assert!(
        h.query_by_label_contains("Clearing 3 alarms in").is_some(),
        "the undo bar"
    );
    click(&mut h, "Undo");
    assert!(h.query_by_label_contains("Clearing 3 alarms in").is_none());
    assert!(h.query_by_label("Undo").is_none());

    select(&mut h, &BULK_TYPES);
    let before = now_ms();
    click(&mut h, "Clear");
    assert!(h.query_by_label("Undo").is_some());
    step_until(&mut h, "the cleared alarms leaving the active list", |h| {
        BULK_TYPES.iter().all(|t| row_label(h, t).is_none())
    });
    assert!(
        now_ms() - before >= ActionQueue::UNDO_MS,
        "not before the undo window is over"
    );
    // Had the undone clear run, it would have cleared them 5 s before this one, and this
    // one would have failed with "Already cleared".
    step_until(&mut h, "the summary", |h| {
        h.query_by_label_contains("Cleared ").is_some()
    });
    assert!(h.query_by_label("Cleared 3 alarms").is_some());
    let client = colleague(&rt, &h);
    for id in ids {
        assert!(server_alarm(&rt, &client, id).cleared);
    }
}

#[test]
fn a_refused_action_is_reported_on_its_own_row() {
    let rt = ui::runtime();
    let (mut h, ids) = app_with_bulk_alarms_listed(&rt);
    select(&mut h, &BULK_TYPES);

    // A colleague acknowledges one of them; the row shows it, still selected.
    within(&rt, colleague(&rt, &h).ack_alarm(ids[1])).unwrap();
    step_until(&mut h, "the colleague's acknowledgement", |h| {
        row_label(h, "Window Open").is_some_and(|l| l.ends_with(", Active, acknowledged"))
    });
    assert!(row_selected(&h, "Window Open"));

    click(&mut h, "Acknowledge");
    step_until(&mut h, "the summary", |h| {
        h.query_by_label_contains("Acknowledged ").is_some()
    });
    assert!(
        h.query_by_label("Acknowledged 2 of 3 alarms; 1 failed")
            .is_some()
    );
    step_until(&mut h, "the others acknowledged", |h| {
        ["Door Open", "Filter Clogged"]
            .iter()
            .all(|t| row_label(h, t).is_some_and(|l| l.ends_with(", Active, acknowledged")))
    });
    let refused = texts_on_row(&h, "Window Open");
    assert!(
        refused.iter().any(|t| t == "Already acknowledged"),
        "visible on the refused row: {refused:?}"
    );
    for t in ["Door Open", "Filter Clogged"] {
        let texts = texts_on_row(&h, t);
        assert!(
            !texts.iter().any(|t| t == "Already acknowledged"),
            "{t}: {texts:?}"
        );
    }
}

#[test]
fn a_new_critical_alarm_raises_a_toast_and_quiet_mode_keeps_it_in_the_app() {
    let rt = ui::runtime();
    let mut prefs = settings();
    prefs.notifications.sound = true;
    let (mut h, control, devices) = alarms_app(&rt, prefs, |_| {});

    // The alarms active at login (the demo's historic MAJOR one) make one summary.
    step_until(&mut h, "the baseline summary", |h| {
        h.query_by_label("Dismiss").is_some()
    });
    settle(&mut h);
    let live = h.state().live().unwrap();
    let toasts = live.toasts();
    assert_eq!(toasts.len(), 1, "one summary, not one toast per alarm");
    let active: Vec<_> = notify_page(&h)
        .unwrap()
        .rows()
        .iter()
        .filter(|r| !r.cleared && r.severity.rank() <= AlarmSeverity::Major.rank())
        .map(|r| r.id.clone())
        .collect();
    assert!(!active.is_empty());
    assert_eq!(toasts[0].alarms, active);
    assert!(toasts[0].title.contains(" active "), "{}", toasts[0].title);
    assert!(!toasts[0].desktop, "desktop notifications are off");
    click(&mut h, "Dismiss");
    assert!(h.state().live().unwrap().toasts().is_empty());

    // Quiet mode on, then desktop notifications (with sound) on in the Settings view.
    click(&mut h, "Quiet mode");
    assert_eq!(
        h.get_by_role_and_label(Role::CheckBox, "Quiet mode")
            .accesskit_node()
            .toggled(),
        Some(Toggled::True)
    );
    click(&mut h, "Settings");
    click(&mut h, "Desktop notifications for new alarms");
    assert!(h.state().settings().notifications.desktop);

    let before = now_ms();
    let id = raise(
        &control,
        &devices[0],
        "Boiler Overheat",
        AlarmSeverity::Critical,
    );
    let title = "CRITICAL alarm: Boiler Overheat";
    step_until(&mut h, "the toast", |h| h.query_by_label(title).is_some());
    settle(&mut h);
    assert!(
        now_ms() - before >= GROUP_WINDOW_MS,
        "not before the grouping window is over"
    );
    let toasts = h.state().live().unwrap().toasts();
    assert_eq!(toasts.len(), 1);
    let notice = toasts[0];
    assert_eq!(notice.title, title);
    assert_eq!(notice.alarms, [alarm_id(id)]);
    assert_eq!(notice.severity, AlarmSeverity::Critical);
    assert!(
        !notice.desktop && !notice.sound,
        "quiet mode: in the app only"
    );

    click(&mut h, "Show alarms");
    let live = h.state().live().unwrap();
    assert_eq!(live.view(), View::Alarms);
    assert!(live.toasts().is_empty());
}

/// Lets the toasts settle: egui lays out a new area in its first frame before placing it,
/// so a button is clicked where it will stay.
fn settle(h: &mut Harness<'_, TbApp>) {
    h.run_steps(2);
}

#[test]
fn show_alarms_from_a_table_row_scopes_the_list_to_that_entity() {
    let rt = ui::runtime();
    let (mut h, control, devices) = quiet_app(&rt);
    let (device, other) = (&devices[0], &devices[2]);
    let door = raise(&control, device, "Door Open", AlarmSeverity::Major);
    let window = raise(&control, other, "Window Open", AlarmSeverity::Major);
    step_until(&mut h, "the device's table row", |h| {
        h.query_by_role_and_label(Role::Row, &device.name).is_some()
    });

    h.get_by_role_and_label(Role::Row, &device.name)
        .click_secondary();
    h.run_steps(2);
    click(&mut h, "Show alarms");
    assert_eq!(h.state().live().unwrap().view(), View::Alarms);
    step_until(&mut h, "the device's alarms only", |h| {
        view_page(h).is_some_and(|p| {
            p.get(&alarm_id(door)).is_some()
                && p.get(&alarm_id(window)).is_none()
                && p.rows().iter().all(|r| r.originator == device.id)
        })
    });
    shown_row(&mut h, "Door Open");
    assert!(row_label(&h, "Window Open").is_none());
    assert_eq!(
        h.get_by_role_and_label(Role::ComboBox, "Entities").value(),
        Some(device.name.clone()),
        "the filter bar names the entity"
    );
    assert_eq!(
        alarm_queries_received(&control)
            .last()
            .unwrap()
            .entity_filter,
        EntityFilter::single(device.id.clone())
    );
}

#[test]
fn plot_around_the_alarm_opens_the_plots_with_the_originator_around_its_start() {
    let rt = ui::runtime();
    let (mut h, control, devices) = quiet_app(&rt);
    let device = &devices[0];
    let id = raise(&control, device, "Boiler Overheat", AlarmSeverity::Major);
    open_alarms(&mut h);
    shown_row(&mut h, "Boiler Overheat");
    let alarm = row(&h, id).unwrap();
    let start = if alarm.start_ts > 0 {
        alarm.start_ts
    } else {
        alarm.created_time
    };

    click_row(&mut h, "Boiler Overheat", Modifiers::NONE);
    click(&mut h, "Plot the originator around the alarm's start");
    step_until(&mut h, "the originator's series", |h| {
        let live = h.state().live().unwrap();
        live.view() == View::Plots && !live.plots().layout().plots.is_empty()
    });
    let layout = h.state().live().unwrap().plots().layout();
    let TimeWindow::Fixed { start_ms, end_ms } = layout.window else {
        panic!("a fixed window: {:?}", layout.window);
    };
    assert!(start_ms < start && start < end_ms);
    assert_eq!(start_ms + end_ms, 2 * start, "centred on the alarm's start");
    let series: Vec<_> = layout.plots.iter().flat_map(|p| &p.series).collect();
    assert!(series.iter().all(|s| s.entity == device.id), "{series:?}");
    for key in plots::THERMOSTAT_KEYS {
        assert!(series.iter().any(|s| s.key == key), "{key}: {series:?}");
    }
    step_until(&mut h, "the originator's data", |h| {
        plots::sub_with_data(h, &device.id).is_some()
    });
}

#[test]
fn the_alarm_badge_counts_active_unacknowledged_alarms_and_names_the_worst_severity() {
    let rt = ui::runtime();
    // The badge's count has no entity filter: the server recounts it on its periodic
    // refresh only, made short here.
    let (mut h, control, devices) = alarms_app(&rt, settings(), |c| {
        c.limits.refresh_interval = FAST_REFRESH;
    });
    step_until(&mut h, "the badge's count", |h| {
        badge(h).is_some_and(|b| b != "Alarms –")
    });
    let count =
        |h: &Harness<'_, TbApp>| -> i64 { badge(h).unwrap()["Alarms ".len()..].parse().unwrap() };
    let at_login = count(&h);
    assert!(at_login < 99, "{at_login}: counted exactly");

    raise(&control, &devices[0], "Door Open", AlarmSeverity::Major);
    step_until(&mut h, "one more", |h| count(h) == at_login + 1);
    badge_hover_shows(&mut h, "active unacknowledged alarms, the worst Major");

    let critical = raise(
        &control,
        &devices[2],
        "Boiler Overheat",
        AlarmSeverity::Critical,
    );
    step_until(&mut h, "two more", |h| count(h) == at_login + 2);
    badge_hover_shows(&mut h, "active unacknowledged alarms, the worst Critical");

    within(&rt, colleague(&rt, &h).ack_alarm(critical)).unwrap();
    step_until(&mut h, "the acknowledged one no longer counted", |h| {
        count(h) == at_login + 1
    });
    badge_hover_shows(&mut h, "active unacknowledged alarms, the worst Major");
}

#[test]
fn alarms_brought_in_by_a_filter_change_are_not_highlighted_as_new() {
    let rt = ui::runtime();
    let (mut h, _, _) = quiet_app(&rt);
    open_alarms(&mut h);
    ui::choose(&mut h, "Status", "Cleared");
    step_until(&mut h, "the cleared alarms", |h| {
        view_page(h).is_some_and(|p| !p.is_empty() && p.rows().iter().all(|r| r.cleared))
    });
    let page = view_page(&h).unwrap();
    assert_eq!(
        page.new_count(),
        0,
        "{} of {} rows highlighted as new",
        page.new_count(),
        page.len()
    );
}

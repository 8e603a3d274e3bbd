//! The Plots view's interactions in `egui_kittest` against the in-process demo server (no
//! simulation: every live point is pushed by the test through `DemoControl`).
//!
//! Rules checked:
//! * A dropped link is shaded: the store records the outage as a gap of the plot's
//!   subscription, the subscription resumes right after its last point, and the points the
//!   server got meanwhile are backfilled, each once.
//! * Scrolling over a plot zooms its time axis around the pointer and pauses following;
//!   a double-click shows the whole window again and follows live data.
//! * A click on a legend entry hides (and shows) its series; the entry's menu sets the line
//!   style, the colour, the right Y axis, and removes the series (an emptied plot goes).
//! * The picker adds every chosen key of every chosen entity to one new plot, and adding
//!   the same series into that plot again adds nothing.
//! * "Stack" gives each series a plot of its own and "Overlay" puts them back in one, in
//!   order, without refetching anything.
//! * A whole wheel turn zooms by its whole amount (the first frame after following stops
//!   is not undone), and clicking into a menu's text field keeps the menu open.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

#[path = "common/plots.rs"]
mod plots;

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use plots::{
    THERMOSTAT_KEYS, demo_with_a_thermostat, holds, now_ms, plot_a_thermostat_from_the_table,
    plot_sub, plots_view, push, series, sub_with_data, text_field, ts_cmds_received,
};
use tb_monitor::app::TbApp;
use tb_monitor::demo::DeviceInfo;
use tb_monitor::net::ConnState;
use tb_monitor::plot::layout::{LineStyle, PALETTE, PALETTE_NAMES, SeriesSpec};
use tb_monitor::plot::window::{TimeWindow, Zone};
use tb_monitor::protocol::EntityId;
use ui::{choose, click, step_until};

/// The state of the session's connection.
fn connection(h: &Harness<'_, TbApp>) -> Option<ConnState> {
    Some(h.state().live()?.store().health.as_ref()?.state().clone())
}

/// The legend entry of `device`'s `key` (its label goes on with the value and its age).
fn legend_entry<'n>(
    h: &'n Harness<'_, TbApp>,
    device: &DeviceInfo,
    key: &str,
) -> egui_kittest::Node<'n> {
    let prefix = format!("{}: {key}", device.name);
    h.get_all_by_role(Role::Button)
        .find(|n| {
            n.accesskit_node()
                .label()
                .is_some_and(|l| l.starts_with(&prefix))
        })
        .unwrap_or_else(|| panic!("a legend entry for {prefix}"))
}

/// Opens the legend menu of `device`'s `key` and clicks the entry `label` of role `role`.
fn legend_menu(
    h: &mut Harness<'_, TbApp>,
    device: &DeviceInfo,
    key: &str,
    role: Role,
    label: &str,
) {
    legend_entry(h, device, key).click_secondary();
    h.run_steps(2);
    h.get_all_by_role_and_label(role, label)
        .next()
        .unwrap_or_else(|| panic!("a {role:?} labelled {label} in the legend menu"))
        .click();
    h.run_steps(2);
}

/// A point well inside the first plot: below its legend, in the middle of the window.
fn inside_the_first_plot(h: &Harness<'_, TbApp>, device: &DeviceInfo) -> egui::Pos2 {
    let legend = legend_entry(h, device, "temperature").rect();
    egui::pos2(700.0, legend.max.y + 200.0)
}

/// The time range the plots show, as "Use the visible range" in the "Range…" menu copies
/// it into the menu's fields (epoch ms, to the millisecond); the menu stays open to show
/// them.
fn shown_range(h: &mut Harness<'_, TbApp>) -> (i64, i64) {
    click(h, "Range…");
    click(h, "Use the visible range");
    let zone = Zone::from_pref(h.state().settings().time_zone);
    let read = |label: &str| zone.parse(&text_field(h, label).value().unwrap()).unwrap();
    let range = (read("From"), read("To"));
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(
        h.query_by_label("Use the visible range").is_none(),
        "the menu closed"
    );
    range
}

/// The length of the realtime window the layout shows.
fn window_ms(h: &Harness<'_, TbApp>) -> i64 {
    match plots_view(h).layout().window {
        TimeWindow::Realtime { last_ms } => last_ms,
        other => panic!("a realtime window, not {other:?}"),
    }
}

/// What `each` makes of every series, plot by plot.
fn series_by_plot<T>(h: &Harness<'_, TbApp>, each: impl Fn(&SeriesSpec) -> T) -> Vec<Vec<T>> {
    let plots = &plots_view(h).layout().plots;
    plots
        .iter()
        .map(|p| p.series.iter().map(&each).collect())
        .collect()
}

/// One turn of a mouse wheel, `dy` points (positive: away from the user) at `pos`.
fn scroll_at(h: &mut Harness<'_, TbApp>, pos: egui::Pos2, dy: f32) {
    h.hover_at(pos);
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, dy),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
    h.step();
}

/// Two primary clicks at `pos` in one frame (the harness' frames are 250 ms apart, longer
/// than the double-click delay).
fn double_click_at(h: &mut Harness<'_, TbApp>, pos: egui::Pos2) {
    h.hover_at(pos);
    h.step();
    for _ in 0..2 {
        for pressed in [true, false] {
            h.input_mut().events.push(egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
        }
    }
    h.run_steps(3);
}

#[test]
fn a_dropped_link_is_shaded_as_a_gap_and_the_points_sent_meanwhile_are_backfilled() {
    let rt = ui::runtime();
    let (mut h, control, device, sub) = plot_a_thermostat_from_the_table(&rt);
    let entity = &device.id;

    // The newest point before the drop: the subscription resumes right after it.
    let before = (now_ms(), 11.5);
    push(&control, entity, "temperature", before);
    step_until(&mut h, "the point before the drop", |h| {
        holds(h, sub, entity, "temperature", before)
    });
    let resumes_before = ts_cmds_received(&control).len();

    // Dropped like a dead link, and refused until the test lets the client back in, so
    // the points below are pushed while the client has no socket.
    let dropped_at = now_ms();
    control.restart(Duration::from_mins(1));
    step_until(&mut h, "the client reconnecting", |h| {
        matches!(connection(h), Some(ConnState::Reconnecting { .. }))
    });
    step_until(&mut h, "the plots saying so", |h| {
        h.query_by_label("Reconnecting").is_some()
    });
    let first = now_ms().max(before.0 + 1);
    let missed: Vec<(i64, f64)> = (0..3)
        .map(|i| (first + i64::from(i), 70.0 + f64::from(i)))
        .collect();
    for &point in &missed {
        push(&control, entity, "temperature", point);
    }
    // A zero-length refusal lets the next attempt in (there is no connection to drop).
    control.restart(Duration::ZERO);

    step_until(&mut h, "the link back with the missed points", |h| {
        connection(h) == Some(ConnState::Live)
            && missed
                .iter()
                .all(|&p| holds(h, sub, entity, "temperature", p))
    });
    step_until(&mut h, "the gap recorded", |h| {
        h.state().live().unwrap().store().gaps.contains_key(&sub)
    });
    let back_at = now_ms();

    assert_eq!(
        plot_sub(&h, entity),
        Some(sub),
        "the same subscription resumed"
    );
    let resumed = ts_cmds_received(&control);
    let resumed = resumed[resumes_before..]
        .iter()
        .find(|c| c.keys == THERMOSTAT_KEYS)
        .expect("the subscription replayed on the new socket");
    assert_eq!(
        resumed.start_ts,
        before.0 - tb_monitor::net::subscriptions::RESUME_OVERLAP_MS,
        "resumed a minute before its last point"
    );

    let gaps = &h.state().live().unwrap().store().gaps[&sub];
    let last = missed.last().unwrap().0;
    assert!(
        gaps.iter()
            .any(|&(from, to)| dropped_at <= from && from <= first && last <= to && to <= back_at),
        "a gap from the drop to the reconnect covering {first}..={last}: {gaps:?}"
    );
    let points = series(&h, sub, entity, "temperature").unwrap();
    for &(ts, v) in missed.iter().chain([&before]) {
        let at_ts: Vec<_> = points.iter().filter(|p| p.0 == ts).collect();
        assert_eq!(at_ts, [&(ts, v)], "the point at {ts} once");
    }
    assert!(
        h.query_by_label("Live").is_some(),
        "the plots say live again"
    );
}

#[test]
fn scrolling_over_a_plot_zooms_the_time_axis_and_pauses_following_and_double_click_resumes() {
    let rt = ui::runtime();
    let (mut h, _, device, _) = plot_a_thermostat_from_the_table(&rt);
    let window = window_ms(&h);
    let (start, end) = shown_range(&mut h);
    assert!(
        (end - start - window).abs() <= 1,
        "following shows the whole window: {}",
        end - start
    );
    assert!(plots_view(&h).following());

    let pos = inside_the_first_plot(&h, &device);
    scroll_at(&mut h, pos, 100.0);
    step_until(&mut h, "following paused", |h| !plots_view(h).following());
    // Let the wheel's smoothing run out.
    h.run_steps(60);
    assert!(h.query_by_label("Paused").is_some());
    assert!(h.query_by_label("Follow live").is_some());
    let (zoomed_start, zoomed_end) = shown_range(&mut h);
    let zoomed = zoomed_end - zoomed_start;
    assert!(
        zoomed < window - 1_000,
        "the shown range narrows: {zoomed} ms of {window} ms"
    );
    // Paused, the axis stands still while time passes.
    h.run_steps(30);
    assert_eq!(shown_range(&mut h), (zoomed_start, zoomed_end));

    double_click_at(&mut h, pos);
    assert!(plots_view(&h).following(), "a double-click follows again");
    assert!(h.query_by_label("Live").is_some());
    let (start, end) = shown_range(&mut h);
    assert!(
        (end - start - window).abs() <= 1,
        "the whole window again: {}",
        end - start
    );
    assert!(end >= zoomed_end, "ending now");
}

#[test]
fn the_legend_hides_a_series_on_click_and_its_menu_sets_style_colour_and_right_axis() {
    let rt = ui::runtime();
    let (mut h, _, device, sub) = plot_a_thermostat_from_the_table(&rt);
    let first = |h: &Harness<'_, TbApp>| plots_view(h).layout().plots[0].series[0].clone();
    assert_eq!(first(&h).key, "temperature");
    assert!(!first(&h).hidden);

    legend_entry(&h, &device, "temperature").click();
    h.run_steps(2);
    assert!(first(&h).hidden, "a click hides it");
    legend_entry(&h, &device, "temperature").click();
    h.run_steps(2);
    assert!(!first(&h).hidden, "another click shows it");

    legend_menu(&mut h, &device, "temperature", Role::RadioButton, "Points");
    assert_eq!(first(&h).style, LineStyle::Points);
    let orange = PALETTE[PALETTE_NAMES.iter().position(|&n| n == "orange").unwrap()];
    assert_ne!(
        first(&h).color,
        orange,
        "temperature starts in another colour"
    );
    legend_menu(&mut h, &device, "temperature", Role::RadioButton, "orange");
    assert_eq!(first(&h).color, orange);
    assert!(!first(&h).right_axis);
    legend_menu(
        &mut h,
        &device,
        "temperature",
        Role::CheckBox,
        "Right Y axis",
    );
    assert!(first(&h).right_axis);
    assert_eq!(
        h.state().settings().plot_layouts.current.as_ref(),
        Some(plots_view(&h).layout()),
        "each change is kept for the next start"
    );
    assert_eq!(
        plot_sub(&h, &device.id),
        Some(sub),
        "looks change nothing on the wire"
    );

    legend_menu(
        &mut h,
        &device,
        "humidity",
        Role::Button,
        "Remove from the plot",
    );
    assert_eq!(series_by_plot(&h, |s| s.key.clone()), [["temperature"]]);

    legend_menu(
        &mut h,
        &device,
        "temperature",
        Role::Button,
        "Remove from the plot",
    );
    assert!(
        plots_view(&h).layout().plots.is_empty(),
        "the emptied plot went"
    );
    step_until(&mut h, "no subscription left", |h| {
        plots_view(h).subscriptions().is_empty()
    });
    assert!(h.query_by_label("No series yet").is_some());
}

#[test]
fn the_picker_adds_every_chosen_entity_and_key_into_one_plot() {
    let rt = ui::runtime();
    let (mut h, control, _) = demo_with_a_thermostat(&rt);
    let devices: Vec<DeviceInfo> = control.devices().into_iter().take(2).collect();
    click(&mut h, "Plots");
    click(&mut h, "Add series");
    for d in &devices {
        click(&mut h, &d.name);
    }
    step_until(&mut h, "the chosen entities' keys", |h| {
        THERMOSTAT_KEYS
            .iter()
            .all(|k| h.query_by_role_and_label(Role::CheckBox, k).is_some())
    });
    for key in THERMOSTAT_KEYS {
        click(&mut h, key);
    }
    click(&mut h, "Add 4 series");

    let expected: Vec<(EntityId, String, String)> = devices
        .iter()
        .flat_map(|d| THERMOSTAT_KEYS.map(|k| (d.id.clone(), d.name.clone(), k.to_owned())))
        .collect();
    let plotted = |h: &Harness<'_, TbApp>| {
        series_by_plot(h, |s| {
            (s.entity.clone(), s.entity_name.clone(), s.key.clone())
        })
    };
    assert_eq!(
        plotted(&h),
        std::slice::from_ref(&expected),
        "one new plot of 4 series"
    );
    step_until(&mut h, "one subscription per entity with data", |h| {
        devices.iter().all(|d| sub_with_data(h, &d.id).is_some())
    });
    assert_eq!(plots_view(&h).subscriptions().len(), 2);

    choose(&mut h, "Into", "plot 1");
    click(&mut h, "Add 4 series");
    assert_eq!(plotted(&h), [expected], "nothing added twice");
}

#[test]
fn stack_and_overlay_rearrange_the_series() {
    let rt = ui::runtime();
    let (mut h, _, device, sub) = plot_a_thermostat_from_the_table(&rt);
    let keys_by_plot = |h: &Harness<'_, TbApp>| series_by_plot(h, |s| s.key.clone());
    assert_eq!(keys_by_plot(&h), [THERMOSTAT_KEYS.to_vec()]);

    click(&mut h, "Layouts");
    click(&mut h, "Stack: one plot per series");
    assert_eq!(
        keys_by_plot(&h),
        THERMOSTAT_KEYS.map(|k| vec![k.to_owned()]),
        "one plot per series, in order"
    );
    // Both plots are drawn, each with its legend (`legend_entry` fails on a missing one).
    for key in THERMOSTAT_KEYS {
        legend_entry(&h, &device, key);
    }

    click(&mut h, "Layouts");
    click(&mut h, "Overlay: all series in one plot");
    assert_eq!(
        keys_by_plot(&h),
        [THERMOSTAT_KEYS.to_vec()],
        "one plot again"
    );
    h.run_steps(2);
    assert_eq!(
        plot_sub(&h, &device.id),
        Some(sub),
        "rearranging refetches nothing"
    );
}

#[test]
fn a_wheel_turn_over_a_followed_plot_zooms_by_the_whole_turn() {
    let rt = ui::runtime();
    let (mut h, _, device, _) = plot_a_thermostat_from_the_table(&rt);
    let window = window_ms(&h);
    let pos = inside_the_first_plot(&h, &device);

    // Each frame zooms by exp(its share of the wheel / 200 points), so the whole turn of
    // 100 points zooms by exp(1/2) however the wheel's smoothing splits it into frames.
    scroll_at(&mut h, pos, 100.0);
    h.run_steps(60);
    let (start, end) = shown_range(&mut h);
    #[allow(clippy::cast_precision_loss)]
    let factor = window as f64 / (end - start) as f64;
    assert!(
        (factor - 0.5f64.exp()).abs() < 0.01,
        "zoomed by {factor}, not by exp(1/2)"
    );
}

#[test]
fn clicking_into_a_menu_text_field_keeps_the_menu_open_for_typing() {
    let rt = ui::runtime();
    let (mut h, _, _, _) = plot_a_thermostat_from_the_table(&rt);
    for (menu, field) in [("Range…", "From"), ("Layouts", "Name")] {
        click(&mut h, menu);
        text_field(&h, field).click();
        h.run_steps(2);
        assert!(
            h.query_by_label(field).is_some(),
            "the {menu} menu is still open after a click into {field}"
        );
        h.key_press(egui::Key::Escape);
        h.run_steps(2);
    }
}

#[test]
fn the_legend_reads_out_the_newest_value_and_its_age_and_under_the_pointer_the_hovered_one() {
    let rt = ui::runtime();
    let (mut h, control, device, _) = plot_a_thermostat_from_the_table(&rt);
    push(&control, &device.id, "temperature", (now_ms(), 21.25));
    let label = |h: &Harness<'_, TbApp>| {
        legend_entry(h, &device, "temperature")
            .accesskit_node()
            .label()
            .unwrap_or_default()
    };
    // The pointer outside every plot: the newest value and how old it is.
    h.hover_at(egui::pos2(5.0, 5.0));
    step_until(&mut h, "the newest value in the legend", |h| {
        label(h).contains("= 21.25 (") && label(h).contains(" ago")
    });
    // Over the plot: a value under the pointer and its time, not an age.
    let pos = inside_the_first_plot(&h, &device);
    h.hover_at(pos);
    h.run_steps(2);
    let hovered = label(&h);
    assert!(
        hovered.contains(" at 20") && !hovered.contains(" ago"),
        "{hovered}"
    );
}

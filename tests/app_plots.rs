//! The Plots view in `egui_kittest` against the in-process demo server (no simulation: every
//! live point is pushed by the test through `DemoControl`).
//!
//! Rules checked:
//! * "Plot …" in a table row's context menu puts the row's time series in one new plot and
//!   opens the Plots view; the entity gets one `ENTITY_DATA` subscription (ids from
//!   `PLOT_SUB_BASE`) whose series stream live points into the store.
//! * A changed window or aggregation ends the old subscription (its data forgotten) and
//!   starts one with a new id: a fixed range holds exactly the server's points in it, and
//!   nothing of a replaced subscription stays in the store, even with points streaming.
//! * Pause stops following while data keeps arriving; "Follow live" follows again.
//! * An aggregated realtime subscription stays within the server's 700-interval limit, and
//!   its series holds at most one point per interval, live points included.
//! * A layout saved by name is kept in the settings and brings its series back when opened.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::app::TbApp;
use tb_monitor::app::plots_view::PLOT_SUB_BASE;
use tb_monitor::demo::{DemoControl, DeviceInfo};
use tb_monitor::net::SubId;
use tb_monitor::plot::aggregate::{AggSpec, interval_index, interval_start, midpoint};
use tb_monitor::plot::window::{TimeWindow, Zone};
use tb_monitor::protocol::{Aggregation, EntityId, TbValue, TimeSeriesCmd, WsCmd};
use tb_monitor::ui::View;
use ui::{choose, click, step_until, type_into};

/// The keys "Plot …" offers for a thermostat row (its time series columns with a value).
const THERMOSTAT_KEYS: [&str; 2] = ["temperature", "humidity"];

/// The app after "Plot temperature, humidity" in the row menu of the first thermostat,
/// with the plot's first data in the store.
struct Plotted<'a> {
    h: Harness<'a, TbApp>,
    control: DemoControl,
    entity: EntityId,
    sub: SubId,
}

fn now_ms() -> i64 {
    tb_monitor::net::tokens::now_ms()
}

/// The subscription the Plots view holds for `entity`.
fn plot_sub(h: &Harness<'_, TbApp>, entity: &EntityId) -> Option<SubId> {
    h.state()
        .live()?
        .plots()
        .subscriptions()
        .get(entity)
        .copied()
}

/// The points of one series of the store, ascending; `None` while it has none stored.
fn series(
    h: &Harness<'_, TbApp>,
    sub: SubId,
    entity: &EntityId,
    key: &str,
) -> Option<Vec<(i64, f64)>> {
    let buffer = h
        .state()
        .live()?
        .store()
        .series
        .get(&(sub, entity.clone(), key.to_owned()))?;
    Some(buffer.points_in(i64::MIN, i64::MAX).collect())
}

/// Whether the store holds `(ts, value)` in the series.
fn holds(
    h: &Harness<'_, TbApp>,
    sub: SubId,
    entity: &EntityId,
    key: &str,
    point: (i64, f64),
) -> bool {
    series(h, sub, entity, key).is_some_and(|s| s.contains(&point))
}

/// Steps until the Plots view replaced `old` with a new subscription and its data arrived.
fn resubscribed(h: &mut Harness<'_, TbApp>, entity: &EntityId, old: SubId) -> SubId {
    step_until(h, "a new subscription with data", |h| {
        plot_sub(h, entity)
            .is_some_and(|s| s != old && series(h, s, entity, "temperature").is_some())
    });
    plot_sub(h, entity).unwrap()
}

/// The app logged in to a demo server of four quiet devices, its control and the first
/// thermostat, once the thermostat's row is in the table.
fn demo_with_a_thermostat(
    rt: &tokio::runtime::Runtime,
) -> (Harness<'static, TbApp>, DemoControl, DeviceInfo) {
    let mut h = ui::demo_app(rt, 4, egui::vec2(1400.0, 1000.0));
    step_until(&mut h, "the session", |h| h.state().live().is_some());
    let control = h.state().live().unwrap().demo_server().unwrap().control();
    let device = control
        .devices()
        .into_iter()
        .find(|d| d.profile == "thermostat")
        .unwrap();
    step_until(&mut h, "the thermostat's row", |h| {
        h.query_by_role_and_label(Role::Row, &device.name).is_some()
    });
    (h, control, device)
}

/// Plots `device` from its row's context menu, as a user would; returns the subscription
/// once its first data is in the store.
fn plot_from_the_row_menu(h: &mut Harness<'_, TbApp>, device: &DeviceInfo) -> SubId {
    h.get_by_role_and_label(Role::Row, &device.name)
        .click_secondary();
    h.run_steps(2);
    click(h, &format!("Plot {}", THERMOSTAT_KEYS.join(", ")));
    step_until(h, "the plot's first data", |h| {
        plot_sub(h, &device.id).is_some_and(|s| series(h, s, &device.id, "temperature").is_some())
    });
    plot_sub(h, &device.id).unwrap()
}

/// [`demo_with_a_thermostat`] and [`plot_from_the_row_menu`].
fn plot_a_thermostat_from_the_table(rt: &tokio::runtime::Runtime) -> Plotted<'static> {
    let (mut h, control, device) = demo_with_a_thermostat(rt);
    let sub = plot_from_the_row_menu(&mut h, &device);
    Plotted {
        h,
        control,
        entity: device.id,
        sub,
    }
}

/// Replaces the text of the field labelled `label` (the accessibility "set value" action,
/// which a screen reader uses too).
fn set_text(h: &mut Harness<'_, TbApp>, label: &str, text: &str) {
    h.get_all_by_label(label)
        .find(|n| n.accesskit_node().role() == Role::TextInput)
        .unwrap_or_else(|| panic!("a text field labelled {label}"))
        .set_text_value_accesskit(text);
    h.run_steps(2);
}

/// The `tsCmd`s the demo server received, oldest first.
fn ts_cmds_received(control: &DemoControl) -> Vec<TimeSeriesCmd> {
    control
        .commands_received()
        .iter()
        .filter_map(|text| match serde_json::from_str::<WsCmd>(text).ok()? {
            WsCmd::EntityData(cmd) => cmd.ts_cmd,
            _ => None,
        })
        .collect()
}

#[test]
fn a_series_added_from_the_table_row_menu_streams_into_a_plot() {
    let rt = ui::runtime();
    let Plotted {
        mut h,
        control,
        entity,
        sub,
    } = plot_a_thermostat_from_the_table(&rt);

    let live = h.state().live().unwrap();
    assert_eq!(live.view(), View::Plots);
    let layout = live.plots().layout();
    assert_eq!(layout.plots.len(), 1, "one new plot");
    let plotted: Vec<(&EntityId, &str)> = layout.plots[0]
        .series
        .iter()
        .map(|s| (&s.entity, s.key.as_str()))
        .collect();
    assert_eq!(plotted, THERMOSTAT_KEYS.map(|k| (&entity, k)));
    assert_eq!(
        live.plots().subscriptions().len(),
        1,
        "one subscription per entity"
    );
    assert!(sub >= PLOT_SUB_BASE);
    assert!(
        live.plots().following() && h.query_by_label("Live").is_some(),
        "a realtime window follows live data"
    );

    let ts = now_ms();
    control.push_point(&entity, "temperature", ts, TbValue::from_f64(87.25));
    control.push_point(&entity, "humidity", ts, TbValue::from_f64(33.5));
    step_until(&mut h, "the pushed points in the plot's series", |h| {
        holds(h, sub, &entity, "temperature", (ts, 87.25))
            && holds(h, sub, &entity, "humidity", (ts, 33.5))
    });
}

#[test]
fn switching_the_window_to_history_refetches_the_series() {
    let rt = ui::runtime();
    let (mut h, control, device) = demo_with_a_thermostat(&rt);
    let entity = device.id.clone();

    // Known points two hours ago, between two computed points of the 1 s telemetry grid;
    // pushed before plotting, so no live update of them is on its way during the switch.
    let second = (now_ms() - 2 * 3_600_000) / 1000 * 1000;
    let inside = [
        (second + 100, 1.25),
        (second + 200, 2.5),
        (second + 900, 3.75),
    ];
    for (ts, v) in inside {
        control.push_point(&entity, "temperature", ts, TbValue::from_f64(v));
    }
    control.push_point(
        &entity,
        "temperature",
        second + 1_100,
        TbValue::from_f64(9.0),
    );
    let old = plot_from_the_row_menu(&mut h, &device);

    click(&mut h, "Range…");
    let utc = Zone::utc();
    set_text(&mut h, "From", &utc.format_iso(second + 1));
    set_text(&mut h, "To", &utc.format_iso(second + 999));
    click(&mut h, "Show this range");
    let new = resubscribed(&mut h, &entity, old);

    let live = h.state().live().unwrap();
    assert_eq!(
        live.plots().layout().window,
        TimeWindow::Fixed {
            start_ms: second + 1,
            end_ms: second + 999
        }
    );
    assert!(new > old, "ids only grow");
    assert!(
        !live.store().series.keys().any(|(s, _, _)| *s == old),
        "the old subscription's series are forgotten"
    );
    assert_eq!(series(&h, new, &entity, "temperature").unwrap(), inside);
    assert!(
        series(&h, new, &entity, "humidity").is_none_or(|s| s.is_empty()),
        "no humidity in that range"
    );
    assert!(!live.plots().following());
    assert!(h.query_by_label("History").is_some());
    assert!(h.query_by_label("Live").is_none());
}

#[test]
fn pause_stops_following_and_follow_live_resumes_while_data_keeps_arriving() {
    let rt = ui::runtime();
    let Plotted {
        mut h,
        control,
        entity,
        sub,
    } = plot_a_thermostat_from_the_table(&rt);
    assert!(h.state().live().unwrap().plots().following());

    click(&mut h, "Pause");
    assert!(!h.state().live().unwrap().plots().following());
    assert!(h.query_by_label("Paused").is_some());
    assert!(h.query_by_label("Pause").is_none());

    let ts = now_ms();
    control.push_point(&entity, "temperature", ts, TbValue::from_f64(42.5));
    step_until(&mut h, "the point pushed while paused", |h| {
        holds(h, sub, &entity, "temperature", (ts, 42.5))
    });
    assert!(
        !h.state().live().unwrap().plots().following(),
        "still paused"
    );

    click(&mut h, "Follow live");
    assert!(h.state().live().unwrap().plots().following());
    assert!(h.query_by_label("Live").is_some());
    assert_eq!(
        plot_sub(&h, &entity),
        Some(sub),
        "the stream was never replaced"
    );
}

#[test]
fn aggregation_choice_resubscribes_with_the_interval_within_the_server_limit() {
    let rt = ui::runtime();
    let Plotted {
        mut h,
        control,
        entity,
        sub: old,
    } = plot_a_thermostat_from_the_table(&rt);

    choose(&mut h, "Aggregation", "Average");
    let new = resubscribed(&mut h, &entity, old);

    let sent = ts_cmds_received(&control);
    let cmd = sent.last().unwrap();
    assert_eq!(cmd.agg, Some(Aggregation::Avg));
    assert_eq!(cmd.keys, THERMOSTAT_KEYS);
    assert!(cmd.interval >= 1_000, "whole seconds: {}", cmd.interval);
    assert!(
        cmd.time_window / cmd.interval <= 700,
        "{} / {} intervals",
        cmd.time_window,
        cmd.interval
    );
    assert_eq!(
        h.state().live().unwrap().store().aggregation(new),
        Some(&AggSpec {
            agg: Aggregation::Avg,
            start_ms: cmd.start_ts,
            interval_ms: cmd.interval,
        }),
        "live points are re-aggregated on the server's grid"
    );

    // Two live points in one interval become that interval's average.
    let (start, interval) = (cmd.start_ts, cmd.interval);
    let index = |ts| interval_index(start, interval, ts);
    let now = now_ms();
    let ts = if index(now) == index(now + 1) {
        now
    } else {
        now - 1
    };
    control.push_point(&entity, "temperature", ts, TbValue::from_f64(10.0));
    control.push_point(&entity, "temperature", ts + 1, TbValue::from_f64(20.0));
    let lo = interval_start(start, interval, index(ts));
    let expected = (midpoint(lo, lo + interval), 15.0);
    step_until(&mut h, "the live interval's average", |h| {
        holds(h, new, &entity, "temperature", expected)
    });

    let points = series(&h, new, &entity, "temperature").unwrap();
    let mut intervals: Vec<i64> = points.iter().map(|(ts, _)| index(*ts)).collect();
    intervals.dedup();
    assert_eq!(
        intervals.len(),
        points.len(),
        "one point per interval: {points:?}"
    );
}

#[test]
fn a_layout_saved_by_name_reopens_with_its_series() {
    let rt = ui::runtime();
    let Plotted {
        mut h,
        entity,
        sub: first,
        ..
    } = plot_a_thermostat_from_the_table(&rt);
    let plotted = h.state().live().unwrap().plots().layout().plots.clone();

    click(&mut h, "Layouts");
    type_into(&mut h, "Name", "Boiler room");
    click(&mut h, "Save");
    let saved = h
        .state()
        .settings()
        .plot_layouts
        .get("Boiler room")
        .cloned();
    assert_eq!(saved.map(|l| l.plots), Some(plotted.clone()));

    click(&mut h, "Layouts");
    click(&mut h, "Clear all plots");
    step_until(&mut h, "no plot and no subscription", |h| {
        let plots = h.state().live().unwrap().plots();
        plots.layout().plots.is_empty() && plots.subscriptions().is_empty()
    });
    assert!(h.query_by_label("No series yet").is_some());
    assert!(
        h.state()
            .live()
            .unwrap()
            .store()
            .series
            .keys()
            .all(|(s, _, _)| *s != first),
        "the cleared series are forgotten"
    );

    click(&mut h, "Layouts");
    click(&mut h, "Boiler room");
    let reopened = resubscribed(&mut h, &entity, first);
    let layout = h.state().live().unwrap().plots().layout();
    assert_eq!(layout.plots, plotted);
    assert_eq!(layout.name, "Boiler room");
    assert!(reopened > first);
    assert_eq!(
        h.state().settings().plot_layouts.current.as_ref(),
        Some(layout),
        "the layout shown is kept for the next start"
    );
}

#[test]
fn a_window_switched_while_points_stream_leaves_no_data_of_the_old_subscriptions() {
    let rt = ui::runtime();
    let Plotted {
        mut h,
        control,
        entity,
        sub: first,
    } = plot_a_thermostat_from_the_table(&rt);

    // A steady stream of the plotted key (about 1000 points/s) during the switches. While the
    // bug lasts, about four switches in ten leave data behind, so ten switches fail almost
    // always.
    let streaming = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let pusher = {
        let (control, entity, streaming) = (control.clone(), entity.clone(), streaming.clone());
        std::thread::spawn(move || {
            let mut value = 0.0;
            while streaming.load(std::sync::atomic::Ordering::Relaxed) {
                value += 0.5;
                control.push_point(&entity, "temperature", now_ms(), TbValue::from_f64(value));
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    let mut current = first;
    for window in ["Last 1 min", "Last 5 min"].repeat(5) {
        choose(&mut h, "Time window", window);
        current = resubscribed(&mut h, &entity, current);
    }
    streaming.store(false, std::sync::atomic::Ordering::Relaxed);
    pusher.join().unwrap();

    // Updates of one socket arrive in order: once this one is in, every earlier one is.
    let last = (now_ms() + 1, -1.5);
    control.push_point(&entity, "temperature", last.0, TbValue::from_f64(last.1));
    step_until(&mut h, "the last point", |h| {
        holds(h, current, &entity, "temperature", last)
    });
    let store = h.state().live().unwrap().store();
    let retired = |s: &SubId| (PLOT_SUB_BASE..current).contains(s);
    let left: Vec<&SubId> = store
        .series
        .keys()
        .map(|(s, _, _)| s)
        .chain(store.subs.keys())
        .filter(|s| retired(s))
        .collect();
    assert!(left.is_empty(), "data of replaced subscriptions: {left:?}");
}

#[test]
fn earlier_and_later_move_a_history_window_by_its_length_and_refetch() {
    let rt = ui::runtime();
    let (mut h, control, device) = demo_with_a_thermostat(&rt);
    let entity = device.id.clone();
    // One known point in the hour before a fixed hour-long window.
    let hour = (now_ms() - 5 * 3_600_000) / 3_600_000 * 3_600_000;
    control.push_point(
        &entity,
        "temperature",
        hour - 1_800_000 + 123,
        TbValue::from_f64(42.5),
    );
    let first = plot_from_the_row_menu(&mut h, &device);

    click(&mut h, "Range…");
    let utc = Zone::utc();
    set_text(&mut h, "From", &utc.format_iso(hour));
    set_text(&mut h, "To", &utc.format_iso(hour + 3_600_000));
    click(&mut h, "Show this range");
    let shown = resubscribed(&mut h, &entity, first);

    click(&mut h, "Earlier");
    let earlier = resubscribed(&mut h, &entity, shown);
    let window = h.state().live().unwrap().plots().layout().window;
    assert_eq!(
        window,
        TimeWindow::Fixed {
            start_ms: hour - 3_600_000,
            end_ms: hour
        }
    );
    step_until(&mut h, "the earlier hour's points", |h| {
        series(h, earlier, &entity, "temperature")
            .is_some_and(|s| s.contains(&(hour - 1_800_000 + 123, 42.5)))
    });

    click(&mut h, "Later");
    resubscribed(&mut h, &entity, earlier);
    assert_eq!(
        h.state().live().unwrap().plots().layout().window,
        TimeWindow::Fixed {
            start_ms: hour,
            end_ms: hour + 3_600_000
        }
    );
}

//! The Plots view's fixture, shared by `app_plots.rs` and `app_plots_interaction.rs`: the
//! app logged in to an in-process demo server of four quiet thermostats, a thermostat plotted
//! from its table row as a user would, points pushed through `DemoControl`, and read-outs of
//! the app (the plot's subscription, a stored series) and of the server (its `tsCmd`s).
//!
//! Every wait goes through `ui::step_until` and its deadline. The including file declares
//! `common/ui.rs` as `mod ui` next to this module.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use egui_kittest::{Harness, Node};
use tb_monitor::app::TbApp;
use tb_monitor::app::plots_view::PlotsView;
use tb_monitor::demo::{DemoControl, DeviceInfo};
use tb_monitor::net::SubId;
use tb_monitor::plot::window::{TimeWindow, Zone};
use tb_monitor::protocol::{EntityId, TbValue, TimeSeriesCmd, WsCmd};

use super::ui::{self, click, step_until};

/// The keys "Plot …" offers for a thermostat row (its time series columns with a value).
pub const THERMOSTAT_KEYS: [&str; 2] = ["temperature", "humidity"];

/// The wall clock, in epoch ms (the demo server's and the app's clock).
pub fn now_ms() -> i64 {
    tb_monitor::net::tokens::now_ms()
}

/// The Plots view of the live session.
pub fn plots_view<'h>(h: &'h Harness<'_, TbApp>) -> &'h PlotsView {
    h.state().live().unwrap().plots()
}

/// The subscription the Plots view holds for `entity`.
pub fn plot_sub(h: &Harness<'_, TbApp>, entity: &EntityId) -> Option<SubId> {
    h.state()
        .live()?
        .plots()
        .subscriptions()
        .get(entity)
        .copied()
}

/// The points of one series of the store, ascending; `None` while it has none stored.
pub fn series(
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
pub fn holds(
    h: &Harness<'_, TbApp>,
    sub: SubId,
    entity: &EntityId,
    key: &str,
    point: (i64, f64),
) -> bool {
    series(h, sub, entity, key).is_some_and(|s| s.contains(&point))
}

/// The subscription the Plots view holds for `entity`, once its `temperature` data is in
/// the store.
pub fn sub_with_data(h: &Harness<'_, TbApp>, entity: &EntityId) -> Option<SubId> {
    plot_sub(h, entity).filter(|&s| series(h, s, entity, "temperature").is_some())
}

/// Pushes `(ts, value)` of `entity`'s `key` through the demo server (stored, and sent to
/// its subscribers).
pub fn push(control: &DemoControl, entity: &EntityId, key: &str, (ts, value): (i64, f64)) {
    control.push_point(entity, key, ts, TbValue::from_f64(value));
}

/// Steps until the Plots view replaced `old` with a new subscription and its data arrived.
pub fn resubscribed(h: &mut Harness<'_, TbApp>, entity: &EntityId, old: SubId) -> SubId {
    step_until(h, "a new subscription with data", |h| {
        sub_with_data(h, entity).is_some_and(|s| s != old)
    });
    plot_sub(h, entity).unwrap()
}

/// The app logged in to a demo server of four quiet devices (all thermostats), its control
/// and the first thermostat, once the thermostat's row is in the table.
pub fn demo_with_a_thermostat(
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
pub fn plot_from_the_row_menu(h: &mut Harness<'_, TbApp>, device: &DeviceInfo) -> SubId {
    h.get_by_role_and_label(Role::Row, &device.name)
        .click_secondary();
    h.run_steps(2);
    click(h, &format!("Plot {}", THERMOSTAT_KEYS.join(", ")));
    step_until(h, "the plot's first data", |h| {
        sub_with_data(h, &device.id).is_some()
    });
    plot_sub(h, &device.id).unwrap()
}

/// [`demo_with_a_thermostat`] and [`plot_from_the_row_menu`]: the app after "Plot
/// temperature, humidity" in the row menu of the first thermostat, with the plot's first data
/// in the store; its control, the thermostat and the plot's subscription.
pub fn plot_a_thermostat_from_the_table(
    rt: &tokio::runtime::Runtime,
) -> (Harness<'static, TbApp>, DemoControl, DeviceInfo, SubId) {
    let (mut h, control, device) = demo_with_a_thermostat(rt);
    let sub = plot_from_the_row_menu(&mut h, &device);
    (h, control, device, sub)
}

/// The text field labelled `label`.
pub fn text_field<'n>(h: &'n Harness<'_, TbApp>, label: &'n str) -> Node<'n> {
    h.get_all_by_label(label)
        .find(|n| n.accesskit_node().role() == Role::TextInput)
        .unwrap_or_else(|| panic!("a text field labelled {label}"))
}

/// Replaces the text of the field labelled `label` (the accessibility "set value" action,
/// which a screen reader uses too).
pub fn set_text(h: &mut Harness<'_, TbApp>, label: &str, text: &str) {
    text_field(h, label).set_text_value_accesskit(text);
    h.run_steps(2);
}

/// Shows the fixed range from `start_ms` to `end_ms` through the "Range…" menu (typed in
/// UTC) and returns the subscription that replaced `old` once its data arrived.
pub fn show_range(
    h: &mut Harness<'_, TbApp>,
    entity: &EntityId,
    old: SubId,
    (start_ms, end_ms): (i64, i64),
) -> SubId {
    click(h, "Range…");
    let utc = Zone::utc();
    set_text(h, "From", &utc.format_iso(start_ms));
    set_text(h, "To", &utc.format_iso(end_ms));
    click(h, "Show this range");
    resubscribed(h, entity, old)
}

/// The fixed window from `start_ms` to `end_ms`.
pub fn fixed((start_ms, end_ms): (i64, i64)) -> TimeWindow {
    TimeWindow::Fixed { start_ms, end_ms }
}

/// The `tsCmd`s the demo server received, oldest first.
pub fn ts_cmds_received(control: &DemoControl) -> Vec<TimeSeriesCmd> {
    control
        .commands_received()
        .iter()
        .filter_map(|text| match serde_json::from_str::<WsCmd>(text).ok()? {
            WsCmd::EntityData(cmd) => cmd.ts_cmd,
            _ => None,
        })
        .collect()
}

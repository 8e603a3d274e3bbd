//! The Entities view in `egui_kittest` against the in-process demo server: a device-type
//! filter with a numeric key filter is built by clicking and typing, the live count preview
//! says how many match, Run shows them in the table, and a value pushed by the server
//! changes in place.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tb_monitor::app::{ENTITIES_SUB, TbApp};
use tb_monitor::store::SubData;
use ui::{build_device_filter_above, click, step_until};

fn table_len(h: &Harness<'_, TbApp>) -> Option<usize> {
    match h.state().live()?.store().subs.get(&ENTITIES_SUB) {
        Some(SubData::Entities(p)) if p.has_data() => Some(p.len()),
        _ => None,
    }
}

#[test]
fn a_filter_built_in_the_view_counts_its_matches_runs_in_the_table_and_updates_live() {
    let rt = ui::runtime();
    let mut h = ui::demo_app(&rt, 24, egui::vec2(1500.0, 1800.0));
    step_until(&mut h, "the first page", |h| table_len(h).is_some());
    let control = h.state().live().unwrap().demo_server().unwrap().control();
    let thermostats: Vec<_> = control
        .devices()
        .into_iter()
        .filter(|d| d.profile == "thermostat")
        .collect();
    assert!(thermostats.len() > 1);

    // Every thermostat reads more than -100: all of them match.
    build_device_filter_above(&mut h, "thermostat", "temperature", "-100");
    let expected = format!("{} entities match", thermostats.len());
    step_until(&mut h, &expected, |h| h.query_by_label(&expected).is_some());

    click(&mut h, "Run");
    step_until(&mut h, "the thermostats in the table", |h| {
        table_len(h) == Some(thermostats.len())
    });

    let device = &thermostats[0];
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    control.push_point(
        &device.id,
        "temperature",
        i64::try_from(now_ms).unwrap(),
        tb_monitor::protocol::TbValue::from_f64(87.25),
    );
    step_until(&mut h, "the new value in the table", |h| {
        h.query_by_label("87.25").is_some()
    });
}

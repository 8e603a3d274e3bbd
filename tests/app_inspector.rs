//! The Inspector view in `egui_kittest` against the in-process demo server (quiet devices:
//! every value changes because the test changes it through `DemoControl`). What the view
//! shows is checked against what the server holds (its REST API, read as a second client of
//! the tenant) and what it was asked (the commands it received).
//!
//! Rules checked:
//! * A device opened from the table shows its client, shared and server attributes, each
//!   scope in its own table, and a change in one scope appears live in that table only.
//! * A JSON value shows as a collapsed one-line preview and opens to indented JSON.
//! * The telemetry tab shows every key's latest value; a deleted key disappears live.
//! * Ticking "Plot <key>" subscribes a windowed `TIMESERIES` whose points become a series;
//!   unticking unsubscribes it (`unsubscribe: true`, same `cmdId`, the entity's id).
//! * An averaged history fetch (`TIMESERIES_HISTORY`, `AVG`) lists the averages of the
//!   points pushed, one row per non-empty interval.
//! * The name search opens the entity picked from its results.
//! * Fifty switches leave on the server only the open entity's subscriptions.
//! * A server with only the legacy endpoint (before 3.6.2) shows the same.
//! * An alarm's "Open the originator in the Inspector" opens it; the name of an entity that
//!   is not on the table's page comes from the server.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

#[path = "common/inspector.rs"]
mod inspector;

#[path = "common/alarms.rs"]
mod alarms;

use std::collections::BTreeMap;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use inspector::{
    DEVICES, colleague, commands, double_click_row, held, inspect_from_menu, inspector,
    inspector_app, server_attributes, server_latest, set_text, shown_entity, store,
    wait_until_loaded,
};
use tb_monitor::app::TbApp;
use tb_monitor::demo::world::Scope;
use tb_monitor::net::SubId;
use tb_monitor::plot::window::Zone;
use tb_monitor::protocol::{
    Aggregation, AlarmSeverity, AttributeScope, EntityId, TbValue, TimeseriesSubscriptionCmd, WsCmd,
};
use tb_monitor::store::SubData;
use tb_monitor::ui::View;
use ui::{choose, click, step_until, type_into};

/// The scopes a device has, as the protocol and as the demo name them.
const SCOPES: [(AttributeScope, Scope, &str); 3] = [
    (AttributeScope::Client, Scope::Client, "Client attributes"),
    (AttributeScope::Shared, Scope::Shared, "Shared attributes"),
    (AttributeScope::Server, Scope::Server, "Server attributes"),
];

/// Now, on the clock the demo server and the app use (epoch ms).
fn now_ms() -> i64 {
    tb_monitor::net::tokens::now_ms()
}

/// The top edge of the first widget labelled `label`.
fn top_of(h: &Harness<'_, TbApp>, label: &str) -> f32 {
    h.get_all_by_label(label)
        .next()
        .unwrap_or_else(|| panic!("{label} on screen"))
        .rect()
        .top()
}

/// Whether a widget labelled `label` is on screen.
fn shows(h: &Harness<'_, TbApp>, label: &str) -> bool {
    h.query_all_by_label(label).next().is_some()
}

/// Waits until subscription `sub` holds `expected` (key and value text) and every key of it
/// is drawn: its name, or (`plot_boxes`, telemetry) its "Plot <key>" box, and its value.
fn wait_until_shown(
    h: &mut Harness<'_, TbApp>,
    what: &str,
    sub: SubId,
    expected: &BTreeMap<String, String>,
    plot_boxes: bool,
) {
    step_until(h, what, |h| {
        held(h, sub) == *expected
            && expected.iter().all(|(key, value)| {
                let name = if plot_boxes {
                    format!("Plot {key}")
                } else {
                    key.clone()
                };
                // A JSON value shows as its preview (its own test checks that).
                let json = value.starts_with(['{', '[']);
                shows(h, &name) && (json || shows(h, value))
            })
    });
}

/// Every attribute scope shows what the server has in it, under its heading.
fn attributes_match_the_server(
    rt: &tokio::runtime::Runtime,
    h: &mut Harness<'_, TbApp>,
    device: &EntityId,
) {
    let rest = colleague(rt, h);
    for (scope, _, heading) in &SCOPES {
        let sub = inspector(h).attributes_sub(scope).unwrap();
        let expected = server_attributes(rt, &rest, device, scope);
        assert!(!expected.is_empty(), "{heading}: the demo device has some");
        wait_until_shown(h, heading, sub, &expected, false);
        assert!(shows(h, heading), "{heading}");
    }
}

#[test]
fn a_device_opened_from_the_table_shows_its_three_scopes_and_each_scopes_live_changes() {
    let rt = ui::runtime();
    let (mut h, control, devices) = inspector_app(&rt, |_| {});
    let device = &devices[1];
    double_click_row(&mut h, &device.name);
    assert_eq!(h.state().live().unwrap().view(), View::Inspector);
    wait_until_loaded(&mut h, &device.id);
    assert_eq!(
        shown_entity(&h),
        Some((device.id.clone(), device.name.clone()))
    );
    assert!(shows(&h, &device.name), "the entity bar names it");
    attributes_match_the_server(&rt, &mut h, &device.id);

    for (i, (scope, demo_scope, heading)) in SCOPES.iter().enumerate() {
        let value = format!("probe-{}", scope.as_str());
        control.set_attribute(&device.id, *demo_scope, "inspector_probe", &value);
        let sub = inspector(&h).attributes_sub(scope).unwrap();
        step_until(&mut h, &format!("{value} on screen"), |h| {
            held(h, sub).get("inspector_probe") == Some(&value) && shows(h, &value)
        });
        // In its scope's table: below its heading, above the next one.
        let y = top_of(&h, &value);
        assert!(top_of(&h, heading) < y, "{value} under {heading}");
        if let Some((_, _, next)) = SCOPES.get(i + 1) {
            assert!(y < top_of(&h, next), "{value} above {next}");
        }
        // The other scopes did not get it.
        for (other, _, _) in SCOPES.iter().filter(|(s, _, _)| s != scope) {
            let other_sub = inspector(&h).attributes_sub(other).unwrap();
            assert_ne!(
                held(&h, other_sub).get("inspector_probe"),
                Some(&value),
                "{other:?}"
            );
        }
    }
    attributes_match_the_server(&rt, &mut h, &device.id);
}

#[test]
fn a_json_attribute_shows_collapsed_on_one_line_and_opens_to_indented_json() {
    let rt = ui::runtime();
    let (mut h, control, devices) = inspector_app(&rt, |_| {});
    let device = &devices[0];
    control.set_attribute(
        &device.id,
        Scope::Shared,
        "layout",
        "{ \"rooms\": [\"hall\", \"roof\"],\n  \"floors\": {\"ground\": 1.0E2} }",
    );
    inspect_from_menu(&mut h, &device.name);
    wait_until_loaded(&mut h, &device.id);
    let preview = r#"{"rooms":["hall","roof"],"floors":{"ground":1.0E2}}"#;
    let pretty = "{\n  \"rooms\": [\n    \"hall\",\n    \"roof\"\n  ],\n  \"floors\": {\n    \"ground\": 1.0E2\n  }\n}";
    step_until(&mut h, "the collapsed preview", |h| shows(h, preview));
    assert!(!shows(&h, pretty), "collapsed at first");

    h.get_all_by_label(preview).next().unwrap().click();
    h.run_steps(2);
    assert!(
        shows(&h, pretty),
        "open: indented, key order and 1.0E2 kept"
    );
}

#[test]
fn telemetry_shows_every_keys_latest_value_and_a_deleted_key_disappears_live() {
    let rt = ui::runtime();
    let (mut h, control, devices) = inspector_app(&rt, |_| {});
    let device = &devices[2];
    double_click_row(&mut h, &device.name);
    wait_until_loaded(&mut h, &device.id);
    click(&mut h, "Telemetry");
    control.push_telemetry(&device.id, "probe_gone", TbValue::from_f64(41.25));
    control.push_telemetry(&device.id, "probe_kept", "kept-value");

    let rest = colleague(&rt, &h);
    let expected = server_latest(&rt, &rest, &device.id);
    assert!(expected.len() > 2, "the device has telemetry: {expected:?}");
    let sub = inspector(&h).latest_sub().unwrap();
    step_until(&mut h, "every key's latest value", |h| {
        held(h, sub) == expected
    });
    for (key, value) in &expected {
        assert!(shows(&h, &format!("Plot {key}")), "{key}'s row");
        assert!(shows(&h, value), "{key}'s value {value}");
    }

    control.delete_telemetry(&device.id, "probe_gone");
    step_until(&mut h, "the deleted key gone", |h| {
        !held(h, sub).contains_key("probe_gone") && !shows(h, "Plot probe_gone")
    });
    let mut rest_of = expected;
    rest_of.remove("probe_gone");
    assert_eq!(held(&h, sub), rest_of);
    assert_eq!(server_latest(&rt, &rest, &device.id), rest_of);
    assert!(shows(&h, "Plot probe_kept") && shows(&h, "kept-value"));
}

/// The `TIMESERIES` subscriptions (not unsubscriptions) the server received for `keys`.
fn timeseries_for(
    control: &tb_monitor::demo::DemoControl,
    keys: &str,
) -> Vec<TimeseriesSubscriptionCmd> {
    commands(control)
        .into_iter()
        .filter_map(|cmd| match cmd {
            WsCmd::Timeseries(c) if !c.unsubscribe && c.keys.as_deref() == Some(keys) => Some(c),
            _ => None,
        })
        .collect()
}

/// The points of `key` in the plot's series, if the plot has that series.
fn plotted(h: &Harness<'_, TbApp>, entity: &EntityId, key: &str) -> Option<Vec<(i64, f64)>> {
    let sub = inspector(h).plot_sub()?;
    let buffer = store(h)
        .series
        .get(&(sub, entity.clone(), key.to_owned()))?;
    Some(buffer.points_in(i64::MIN, i64::MAX).collect())
}

#[test]
fn ticking_plot_subscribes_a_windowed_series_and_unticking_unsubscribes_it() {
    let rt = ui::runtime();
    let (mut h, control, devices) = inspector_app(&rt, |_| {});
    let device = &devices[3];
    let now = now_ms();
    let mut points = vec![(now - 120_000, 1.5), (now - 60_000, 2.5)];
    for (ts, v) in &points {
        control.push_point(&device.id, "probe_plot", *ts, TbValue::from_f64(*v));
    }
    inspect_from_menu(&mut h, &device.name);
    wait_until_loaded(&mut h, &device.id);
    click(&mut h, "Telemetry");
    step_until(&mut h, "the key's row", |h| shows(h, "Plot probe_plot"));
    let before = control.stats().live_subscriptions;

    click(&mut h, "Plot probe_plot");
    step_until(&mut h, "the window's points as a series", |h| {
        plotted(h, &device.id, "probe_plot").as_ref() == Some(&points)
    });
    assert!(inspector(&h).plotted().contains("probe_plot"));
    let sent = timeseries_for(&control, "probe_plot");
    let [cmd] = sent.as_slice() else {
        panic!("one TIMESERIES for the plot: {sent:?}")
    };
    assert_eq!(cmd.entity_id, device.id.id.to_string());
    assert_eq!(cmd.time_window, 15 * 60_000, "the default window");
    assert!(cmd.start_ts <= now - 120_000 && cmd.start_ts + cmd.time_window >= now);
    assert_eq!(control.stats().live_subscriptions, before + 1);

    let live = (now_ms(), 3.5);
    control.push_point(&device.id, "probe_plot", live.0, TbValue::from_f64(live.1));
    points.push(live);
    step_until(&mut h, "the live point in the series", |h| {
        plotted(h, &device.id, "probe_plot").as_ref() == Some(&points)
    });

    let plot_sub = inspector(&h).plot_sub().unwrap();
    click(&mut h, "Plot probe_plot");
    step_until(&mut h, "the plot's unsubscription on the server", |h| {
        inspector(h).plot_sub().is_none()
            && commands(&control).iter().any(|c| {
                matches!(c, WsCmd::Timeseries(u) if u.unsubscribe
                    && u.cmd_id == cmd.cmd_id
                    && u.entity_id == device.id.id.to_string())
            })
            && control.stats().live_subscriptions == before
    });
    assert!(
        !store(&h).series.keys().any(|(sub, _, _)| *sub == plot_sub),
        "the plot's series are dropped"
    );
}

/// Pushes known points of `key` around a range two minutes long, an hour ago; returns the
/// range and the AVG aggregates per `interval` computed here from the points (one per
/// non-empty interval, at its midpoint, ascending).
fn push_known_points(
    control: &tb_monitor::demo::DemoControl,
    device: &EntityId,
    key: &str,
    interval: i64,
) -> ((i64, i64), Vec<(i64, f64)>) {
    let start = (now_ms() - 3_600_000) / 60_000 * 60_000;
    let end = start + 120_000;
    let points = [
        (start - 1, 100.0),
        (start, 1.0),
        (start + 2_000, 2.0),
        (start + 29_999, 6.0),
        (start + 31_000, 10.0),
        (start + 32_000, 20.0),
        (start + 100_000, 7.5),
        (end, 100.0),
        (end + 20_000, 100.0),
    ];
    for (ts, v) in points {
        control.push_point(device, key, ts, TbValue::from_f64(v));
    }
    let mut sums: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (ts, v) in points
        .into_iter()
        .filter(|(ts, _)| (start..end).contains(ts))
    {
        let acc = sums.entry((ts - start) / interval).or_default();
        acc.0 += v;
        acc.1 += 1.0;
    }
    let averages = sums
        .into_iter()
        .map(|(i, (sum, n))| {
            let lo = start + i * interval;
            let hi = (lo + interval).min(end);
            (lo + (hi - lo) / 2, sum / n)
        })
        .collect();
    ((start, end), averages)
}

#[test]
fn an_averaged_history_lists_the_averages_of_the_points_pushed() {
    const INTERVAL: i64 = 30_000;
    let rt = ui::runtime();
    let (mut h, control, devices) = inspector_app(&rt, |_| {});
    let device = &devices[4];
    let ((start, end), expected) = push_known_points(&control, &device.id, "probe_avg", INTERVAL);
    assert_eq!(
        expected,
        [
            (start + 15_000, 3.0),
            (start + 45_000, 15.0),
            (start + 105_000, 7.5)
        ],
        "the third interval is empty"
    );
    double_click_row(&mut h, &device.name);
    wait_until_loaded(&mut h, &device.id);
    click(&mut h, "History");
    step_until(&mut h, "the key to pick", |h| {
        h.query_by_role_and_label(Role::CheckBox, "probe_avg")
            .is_some()
    });
    click(&mut h, "probe_avg");
    let utc = Zone::utc();
    set_text(&mut h, "From", &utc.format_iso(start));
    set_text(&mut h, "To", &utc.format_iso(end));
    choose(&mut h, "Aggregation", "Average");
    choose(&mut h, "Interval", "30 s");
    click(&mut h, "Fetch");

    step_until(&mut h, "the history table", |h| {
        inspector(h)
            .history_sub()
            .is_some_and(|sub| matches!(store(h).subs.get(&sub), Some(SubData::V1History(Some(_)))))
            && shows(h, &format!("{} rows", expected.len()))
    });
    let sub = inspector(&h).history_sub().unwrap();
    let Some(SubData::V1History(Some(reply))) = store(&h).subs.get(&sub) else {
        unreachable!()
    };
    let got: Vec<(i64, f64, String)> = reply["probe_avg"]
        .iter()
        .map(|p| {
            let value = p.value().unwrap();
            (p.ts(), value.as_f64().unwrap(), value.as_str().to_owned())
        })
        .collect();
    assert_eq!(
        got.iter().map(|(ts, v, _)| (*ts, *v)).collect::<Vec<_>>(),
        expected
    );
    let zone = Zone::from_pref(h.state().settings().time_zone);
    for (ts, _, text) in &got {
        let time = zone.format(*ts);
        assert!(shows(&h, &time), "the row at {time}");
        let row_top = top_of(&h, &time);
        assert!(
            h.query_all_by_label(text)
                .any(|n| (n.rect().top() - row_top).abs() < 2.0),
            "{text} on the row at {time}"
        );
    }

    let fetches: Vec<_> = commands(&control)
        .into_iter()
        .filter_map(|c| match c {
            WsCmd::TimeseriesHistory(c) => Some(c),
            _ => None,
        })
        .collect();
    let [fetch] = fetches.as_slice() else {
        panic!("one TIMESERIES_HISTORY: {fetches:?}")
    };
    assert_eq!(fetch.agg, Some(Aggregation::Avg));
    assert_eq!(fetch.interval, INTERVAL);
    assert_eq!((fetch.start_ts, fetch.end_ts), (start, end));
    assert_eq!(fetch.keys, "probe_avg");
    assert_eq!(fetch.entity_id, device.id.id.to_string());
}

#[test]
fn the_name_search_opens_the_entity_picked_from_its_results() {
    let rt = ui::runtime();
    let (mut h, _control, devices) = inspector_app(&rt, |_| {});
    click(&mut h, "Inspector");
    type_into(&mut h, "Find entity", "Thermostat T-10");
    click(&mut h, "Search");
    step_until(&mut h, "the results", |h| {
        devices
            .iter()
            .all(|d| h.query_by_role_and_label(Role::Button, &d.name).is_some())
    });
    let picked = &devices[DEVICES - 2];
    click(&mut h, &picked.name);
    wait_until_loaded(&mut h, &picked.id);
    assert_eq!(
        shown_entity(&h),
        Some((picked.id.clone(), picked.name.clone()))
    );
    assert!(shows(&h, "Client attributes"));
    assert!(
        h.query_by_role_and_label(Role::Button, "Close results")
            .is_none(),
        "the results close"
    );
}

#[test]
fn fifty_switches_leave_only_the_open_entitys_subscriptions_on_the_server() {
    const SWITCHES: usize = 50;
    let rt = ui::runtime();
    let (mut h, control, devices) = inspector_app(&rt, |_| {});
    inspect_from_menu(&mut h, &devices[0].name);
    wait_until_loaded(&mut h, &devices[0].id);
    // Commands run in order: the entity's replies are in, so everything sent before is live.
    let held_by_entity = inspector(&h).subscriptions().len();
    assert_eq!(
        held_by_entity, 4,
        "three attribute scopes and the telemetry"
    );
    let baseline = control.stats().live_subscriptions - 4;

    let started = std::time::Instant::now();
    for switch in 1..=SWITCHES {
        let device = &devices[switch % DEVICES];
        inspect_from_menu(&mut h, &device.name);
        assert_eq!(
            shown_entity(&h).map(|(id, _)| id).as_ref(),
            Some(&device.id),
            "switch {switch}"
        );
    }
    let last = &devices[SWITCHES % DEVICES];
    wait_until_loaded(&mut h, &last.id);
    step_until(&mut h, "the server holding only the last entity's", |_| {
        control.stats().live_subscriptions == baseline + 4
    });
    assert_eq!(inspector(&h).subscriptions().len(), 4);
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(20),
        "{SWITCHES} switches took {elapsed:?}"
    );
}

#[test]
fn a_legacy_server_shows_attributes_and_telemetry_the_same_way() {
    let rt = ui::runtime();
    let (mut h, control, devices) = inspector_app(&rt, |c| c.legacy_only = true);
    let device = &devices[1];
    double_click_row(&mut h, &device.name);
    wait_until_loaded(&mut h, &device.id);
    assert!(store(&h).legacy_server, "on the legacy endpoint");
    attributes_match_the_server(&rt, &mut h, &device.id);
    control.set_attribute(&device.id, Scope::Server, "inspector_probe", "legacy-live");
    let sub = inspector(&h)
        .attributes_sub(&AttributeScope::Server)
        .unwrap();
    step_until(&mut h, "the live change", |h| {
        held(h, sub).get("inspector_probe").map(String::as_str) == Some("legacy-live")
            && shows(h, "legacy-live")
    });

    click(&mut h, "Telemetry");
    control.push_telemetry(&device.id, "probe_legacy", "legacy-point");
    let rest = colleague(&rt, &h);
    let expected = server_latest(&rt, &rest, &device.id);
    let latest = inspector(&h).latest_sub().unwrap();
    wait_until_shown(&mut h, "every key's latest value", latest, &expected, true);
}

#[test]
fn an_alarms_originator_opens_in_the_inspector_named_by_the_server() {
    let rt = ui::runtime();
    let (mut h, control, _devices) = inspector_app(&rt, |_| {});
    // An asset: never on the table's page of devices.
    let building = control.entity_id("Building A1").unwrap();
    control.raise_alarm(&building, "Leak Detected", AlarmSeverity::Major, false);
    alarms::open_alarms(&mut h);
    choose(&mut h, "Entities", "All assets");
    alarms::shown_row(&mut h, "Leak Detected");
    alarms::click_row(&mut h, "Leak Detected", egui::Modifiers::NONE);
    click(&mut h, "Open the originator in the Inspector");
    assert_eq!(h.state().live().unwrap().view(), View::Inspector);
    wait_until_loaded(&mut h, &building);
    step_until(&mut h, "the name from the server", |h| {
        shown_entity(h).is_some_and(|(_, name)| name == "Building A1") && shows(h, "Building A1")
    });
    let view = inspector(&h);
    assert!(view.attributes_sub(&AttributeScope::Client).is_none());
    assert!(view.attributes_sub(&AttributeScope::Shared).is_none());
    let server = view.attributes_sub(&AttributeScope::Server).unwrap();
    assert!(
        held(&h, server).contains_key("floorArea"),
        "{:?}",
        held(&h, server)
    );
    assert!(shows(&h, "floorArea"));
}

//! The Inspector's fixture for `app_inspector.rs`: the app logged in to an in-process demo
//! server of quiet devices (no simulation, desktop notifications and the tray icon off),
//! ways to open an entity as a user does (double-click on a table row, the row's context
//! menu), read-outs of the view and its subscriptions' data, and the server's own answers
//! (its REST API as a second client of the tenant, the commands it received).
//!
//! The app starts settled: the table's rows, their alarm-status subscriptions (none on a
//! legacy server, which has no `ALARM_STATUS`) and the query builder's count preview are in, so what the server holds beyond that is the Inspector's.
//!
//! The harness steps 1/60 s of egui time per frame, so two clicks in a row make a
//! double-click. Every wait goes through `ui::step_until` and its deadline. The including
//! file declares `common/ui.rs` as `mod ui` next to this module.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::app::TbApp;
use tb_monitor::app::entities_view::COUNT_PREVIEW_SUB;
use tb_monitor::app::inspector_view::InspectorView;
use tb_monitor::demo::{DemoConfig, DemoControl, DeviceInfo};
use tb_monitor::net::SubId;
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::protocol::{EntityId, TsValue, WsCmd};
use tb_monitor::store::{Store, SubData};
use tb_monitor::ui::View;

use super::ui::{DEADLINE, click, step_until};

/// Devices of the demo tenant: every one fits on the table's first page and in view.
pub const DEVICES: usize = 6;

/// The app logged in to a demo server of [`DEVICES`] quiet devices, its control and the
/// devices; `demo` adjusts the server (e.g. `legacy_only`). Waits for the table's rows.
pub fn inspector_app(
    rt: &tokio::runtime::Runtime,
    demo: impl FnOnce(&mut DemoConfig),
) -> (Harness<'static, TbApp>, DemoControl, Vec<DeviceInfo>) {
    let mut server = DemoConfig {
        simulate: false,
        devices: DEVICES,
        ..DemoConfig::default()
    };
    demo(&mut server);
    let config = tb_monitor::app::AppConfig {
        start: tb_monitor::app::Start::Demo,
        settings_file: None,
        // No real desktop notifications and no system tray icon from tests.
        settings: tb_monitor::settings::Settings {
            notifications: tb_monitor::settings::NotificationPrefs {
                desktop: false,
                ..tb_monitor::settings::NotificationPrefs::default()
            },
            inbox: tb_monitor::settings::InboxPrefs {
                tray_icon: false,
                ..tb_monitor::settings::InboxPrefs::default()
            },
            ..tb_monitor::settings::Settings::default()
        },
        secrets: std::sync::Arc::new(tb_monitor::secrets::MemoryStore::new()),
        notice: None,
        demo: server,
    };
    let handle = rt.handle().clone();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1400.0))
        .with_step_dt(1.0 / 60.0)
        .build_eframe(move |cc| TbApp::new(cc, &handle, config));
    step_until(&mut h, "the session", |h| h.state().live().is_some());
    let control = h.state().live().unwrap().demo_server().unwrap().control();
    let devices = control.devices();
    let last = devices.last().unwrap().name.clone();
    // Settled: the rows, their alarm status watches (3.9+, not on a legacy server) and the
    // builder's count preview are subscribed; later subscriptions are the Inspector's.
    step_until(&mut h, "the table settled", |h| {
        let live = h.state().live().unwrap();
        h.query_by_role_and_label(Role::Row, &last).is_some()
            && (live.store().legacy_server
                || live.entities().status_subscriptions().len() == DEVICES)
            && matches!(
                live.store().subs.get(&COUNT_PREVIEW_SUB),
                Some(SubData::EntityCount(c)) if c.count().is_some()
            )
    });
    (h, control, devices)
}

/// The Inspector view.
pub fn inspector<'h>(h: &'h Harness<'_, TbApp>) -> &'h InspectorView {
    h.state().live().unwrap().inspector()
}

/// The session's data.
pub fn store<'h>(h: &'h Harness<'_, TbApp>) -> &'h Store {
    h.state().live().unwrap().store()
}

/// The entity the Inspector shows, if any.
pub fn shown_entity(h: &Harness<'_, TbApp>) -> Option<(EntityId, String)> {
    inspector(h).entity().cloned()
}

/// Opens `name`'s table row in the Inspector with a double-click, from the Entities view.
pub fn double_click_row(h: &mut Harness<'_, TbApp>, name: &str) {
    show_entities(h);
    let row = h.get_by_role_and_label(Role::Row, name);
    row.click();
    row.click();
    h.run_steps(2);
}

/// Opens `name`'s table row in the Inspector through the row's context menu, from the
/// Entities view.
pub fn inspect_from_menu(h: &mut Harness<'_, TbApp>, name: &str) {
    show_entities(h);
    h.get_by_role_and_label(Role::Row, name).click_secondary();
    h.run_steps(2);
    click(h, "Open in Inspector");
}

/// Goes to the Entities view (its table), unless it is shown.
fn show_entities(h: &mut Harness<'_, TbApp>) {
    if h.state().live().unwrap().view() != View::Entities {
        click(h, "Entities");
    }
}

/// Waits until the Inspector shows `entity` and every one of its latest-value
/// subscriptions (attribute scopes, telemetry) has had the server's first reply.
pub fn wait_until_loaded(h: &mut Harness<'_, TbApp>, entity: &EntityId) {
    step_until(h, "the entity's first replies", |h| {
        let view = inspector(h);
        view.entity().is_some_and(|(e, _)| e == entity)
            && view.latest_sub().is_some()
            && view
                .subscriptions()
                .iter()
                .filter(|sub| Some(**sub) != view.plot_sub() && Some(**sub) != view.history_sub())
                .all(|sub| matches!(store(h).subs.get(sub), Some(SubData::V1(_))))
    });
}

/// Every key and value text a v1 latest-values subscription holds.
pub fn held(h: &Harness<'_, TbApp>, sub: SubId) -> BTreeMap<String, String> {
    match store(h).subs.get(&sub) {
        Some(SubData::V1(map)) => map
            .iter()
            .map(|(k, p)| {
                let text = p.value().map_or("", |v| v.as_str()).to_owned();
                (k.clone(), text)
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Replaces the text of the field labelled `label` (as assistive technology does).
pub fn set_text(h: &mut Harness<'_, TbApp>, label: &str, text: &str) {
    h.get_all_by_label(label)
        .find(|n| n.accesskit_node().role() == Role::TextInput)
        .unwrap_or_else(|| panic!("a text field labelled {label}"))
        .set_text_value_accesskit(text);
    h.run_steps(2);
}

/// Every command the server received, decoded, oldest first.
pub fn commands(control: &DemoControl) -> Vec<WsCmd> {
    control
        .commands_received()
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect()
}

/// Runs `work` on the runtime within [`DEADLINE`].
pub fn within<T>(rt: &tokio::runtime::Runtime, work: impl Future<Output = T>) -> T {
    rt.block_on(async { tokio::time::timeout(DEADLINE, work).await })
        .expect("within the deadline")
}

/// A second client of the demo tenant, to read what the server holds over REST.
pub fn colleague(rt: &tokio::runtime::Runtime, h: &Harness<'_, TbApp>) -> RestClient {
    let url = h.state().live().unwrap().demo_server().unwrap().base_url();
    let client = RestClient::new(&url, TlsTrust::System).unwrap();
    match within(rt, client.login("tenant@thingsboard.org", "tenant")) {
        Ok(LoginOutcome::LoggedIn(_)) => client,
        other => panic!("the demo tenant logs in: {other:?}"),
    }
}

/// The server's attributes of `entity` in `scope` (`CLIENT_SCOPE`…), as key and value text.
pub fn server_attributes(
    rt: &tokio::runtime::Runtime,
    client: &RestClient,
    entity: &EntityId,
    scope: &tb_monitor::protocol::AttributeScope,
) -> BTreeMap<String, String> {
    within(rt, client.attribute_values(entity, Some(scope), &[]))
        .unwrap()
        .into_iter()
        .map(|entry| {
            let key = entry["key"].as_str().unwrap().to_owned();
            let value = match &entry["value"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, value)
        })
        .collect()
}

/// The server's latest time series values of `entity`, as key and value text.
pub fn server_latest(
    rt: &tokio::runtime::Runtime,
    client: &RestClient,
    entity: &EntityId,
) -> BTreeMap<String, String> {
    let path = format!(
        "/api/plugins/telemetry/{}/{}/values/timeseries",
        entity.entity_type.as_str(),
        entity.id
    );
    let latest: BTreeMap<String, Vec<TsValue>> = within(rt, client.get_json(&path, &[])).unwrap();
    latest
        .into_iter()
        .filter_map(|(key, points)| {
            let value = points.first()?.value.as_ref()?.as_str().to_owned();
            Some((key, value))
        })
        .collect()
}

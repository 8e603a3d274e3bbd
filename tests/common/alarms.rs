//! The Alarms view's fixture for `app_alarms.rs`: the app logged in to an in-process demo
//! server of quiet devices (no simulation: every alarm is raised by the test through
//! `DemoControl`), desktop notifications off unless a test turns them on, and read-outs of
//! the app (the view's page, its rows as the accessibility tree names them, text painted on
//! screen) and of the server (an alarm as a second client of the tenant sees it).
//!
//! Every wait goes through `ui::step_until` and its deadline. The including file declares
//! `common/ui.rs` as `mod ui` next to this module.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::app::TbApp;
use tb_monitor::app::alarms_view::{ALARM_NOTIFY_SUB, ALARMS_VIEW_SUB};
use tb_monitor::demo::{DemoConfig, DemoControl, DeviceInfo};
use tb_monitor::net::rest::{LoginOutcome, RestClient};
use tb_monitor::net::tls::TlsTrust;
use tb_monitor::protocol::{AlarmData, AlarmSeverity, EntityId, EntityType};
use tb_monitor::settings::Settings;
use tb_monitor::store::SubData;
use tb_monitor::store::alarms::AlarmPage;
use uuid::Uuid;

use super::ui::{DEADLINE, click, step_until};

/// Devices of the demo tenant (with fewer than eight, all are thermostats).
pub const DEVICES: usize = 4;

/// Settings with desktop notifications off: a UI test must not reach the desktop's
/// notification service.
pub fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.notifications.desktop = false;
    settings
}

/// The app logged in to a demo server of [`DEVICES`] quiet devices with `settings`, its
/// control, and the devices; `demo` adjusts the server (e.g. its refresh interval).
pub fn alarms_app(
    rt: &tokio::runtime::Runtime,
    settings: Settings,
    demo: impl FnOnce(&mut DemoConfig),
) -> (Harness<'static, TbApp>, DemoControl, Vec<DeviceInfo>) {
    let mut config = DemoConfig {
        simulate: false,
        devices: DEVICES,
        ..DemoConfig::default()
    };
    demo(&mut config);
    let config = tb_monitor::app::AppConfig {
        start: tb_monitor::app::Start::Demo,
        settings_file: None,
        settings,
        secrets: std::sync::Arc::new(tb_monitor::secrets::MemoryStore::new()),
        notice: None,
        demo: config,
    };
    let handle = rt.handle().clone();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_eframe(move |cc| TbApp::new(cc, &handle, config));
    step_until(&mut h, "the session", |h| h.state().live().is_some());
    let control = h.state().live().unwrap().demo_server().unwrap().control();
    let devices = control.devices();
    (h, control, devices)
}

/// [`alarms_app`] with [`settings`] and the server's defaults.
pub fn quiet_app(
    rt: &tokio::runtime::Runtime,
) -> (Harness<'static, TbApp>, DemoControl, Vec<DeviceInfo>) {
    alarms_app(rt, settings(), |_| {})
}

/// Raises an alarm of `alarm_type` on `device`; returns its id.
pub fn raise(
    control: &DemoControl,
    device: &DeviceInfo,
    alarm_type: &str,
    severity: AlarmSeverity,
) -> Uuid {
    control.raise_alarm(&device.id, alarm_type, severity, false)
}

/// An alarm's id as an entity id.
pub fn alarm_id(id: Uuid) -> EntityId {
    EntityId::new(EntityType::Alarm, id)
}

/// The Alarms view's page, once the server answered its subscription.
pub fn view_page<'h>(h: &'h Harness<'_, TbApp>) -> Option<&'h AlarmPage> {
    page(h, ALARMS_VIEW_SUB)
}

/// The page of the subscription that feeds notices and the badge's tint.
pub fn notify_page<'h>(h: &'h Harness<'_, TbApp>) -> Option<&'h AlarmPage> {
    page(h, ALARM_NOTIFY_SUB)
}

fn page<'h>(h: &'h Harness<'_, TbApp>, sub: tb_monitor::net::SubId) -> Option<&'h AlarmPage> {
    match h.state().live()?.store().subs.get(&sub)? {
        SubData::Alarms(page) if page.has_data() => Some(page),
        _ => None,
    }
}

/// The row of alarm `id` in the view's page, if the page holds it.
pub fn row<'h>(h: &'h Harness<'_, TbApp>, id: Uuid) -> Option<&'h AlarmData> {
    view_page(h)?.get(&alarm_id(id))
}

/// Opens the Alarms view from the navigation and waits for its first page.
pub fn open_alarms(h: &mut Harness<'_, TbApp>) {
    click(h, "Alarms");
    step_until(h, "the Alarms view's page", |h| {
        view_page(h).is_some() && h.query_by_label("Loading alarms…").is_none()
    });
}

/// The accessibility label of the list row of the alarm of `alarm_type` ("Major Door Open
/// on Thermostat 1, Active, not acknowledged"), if one is shown. Each test gives its alarms
/// distinct types.
pub fn row_label(h: &Harness<'_, TbApp>, alarm_type: &str) -> Option<String> {
    let needle = format!(" {alarm_type} on ");
    h.query_all_by_role(Role::Row)
        .filter_map(|n| n.accesskit_node().label())
        .find(|label| label.contains(&needle))
}

/// Steps until the row of `alarm_type` is shown; returns its label.
pub fn shown_row(h: &mut Harness<'_, TbApp>, alarm_type: &str) -> String {
    step_until(h, &format!("the row of {alarm_type}"), |h| {
        row_label(h, alarm_type).is_some()
    });
    row_label(h, alarm_type).unwrap()
}

/// The labels of every list row shown.
pub fn row_labels(h: &Harness<'_, TbApp>) -> Vec<String> {
    h.query_all_by_role(Role::Row)
        .filter_map(|n| n.accesskit_node().label())
        .collect()
}

/// Clicks the list row of `alarm_type`, with `modifiers` held.
pub fn click_row(h: &mut Harness<'_, TbApp>, alarm_type: &str, modifiers: egui::Modifiers) {
    let label = row_label(h, alarm_type).unwrap_or_else(|| panic!("a row of {alarm_type}"));
    h.get_by_role_and_label(Role::Row, &label)
        .click_modifiers(modifiers);
    h.run_steps(2);
}

/// Whether the accessibility tree marks the row of `alarm_type` as selected (egui says
/// so with the toggled state).
pub fn row_selected(h: &Harness<'_, TbApp>, alarm_type: &str) -> bool {
    let label = row_label(h, alarm_type).unwrap_or_else(|| panic!("a row of {alarm_type}"));
    h.get_by_role_and_label(Role::Row, &label)
        .accesskit_node()
        .toggled()
        == Some(egui::accesskit::Toggled::True)
}

/// Presses `key` (no modifier) and lets the app handle it.
pub fn press(h: &mut Harness<'_, TbApp>, key: egui::Key) {
    h.key_press(key);
    h.run_steps(2);
}

/// Every text painted in the last frame where it can be seen (inside its clip rectangle),
/// with where its galley starts.
pub fn painted_texts(h: &Harness<'_, TbApp>) -> Vec<(egui::Pos2, String)> {
    fn walk(shape: &egui::Shape, clip: egui::Rect, out: &mut Vec<(egui::Pos2, String)>) {
        match shape {
            egui::Shape::Text(text)
                if egui::Rect::from_min_size(text.pos, text.galley.size()).intersects(clip) =>
            {
                out.push((text.pos, text.galley.text().to_owned()));
            }
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| walk(s, clip, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clipped in &h.output().shapes {
        walk(&clipped.shape, clipped.clip_rect, &mut out);
    }
    out
}

/// The texts seen inside the list row of `alarm_type` (its cells and its note).
pub fn texts_on_row(h: &Harness<'_, TbApp>, alarm_type: &str) -> Vec<String> {
    let label = row_label(h, alarm_type).unwrap_or_else(|| panic!("a row of {alarm_type}"));
    let rect = h.get_by_role_and_label(Role::Row, &label).rect();
    painted_texts(h)
        .into_iter()
        .filter(|(pos, _)| rect.expand(1.0).contains(*pos))
        .map(|(_, text)| text)
        .collect()
}

/// A second client of the demo tenant (a colleague acting behind the view's back).
pub fn colleague(rt: &tokio::runtime::Runtime, h: &Harness<'_, TbApp>) -> RestClient {
    let url = h.state().live().unwrap().demo_server().unwrap().base_url();
    let client = RestClient::new(&url, TlsTrust::System).unwrap();
    match within(rt, client.login("tenant@thingsboard.org", "tenant")) {
        Ok(LoginOutcome::LoggedIn(_)) => client,
        other => panic!("the demo tenant logs in: {other:?}"),
    }
}

/// The alarm as the server has it now.
pub fn server_alarm(rt: &tokio::runtime::Runtime, client: &RestClient, id: Uuid) -> AlarmData {
    within(rt, client.alarm_info(id)).unwrap()
}

/// Runs `work` on the runtime within [`DEADLINE`].
pub fn within<T>(rt: &tokio::runtime::Runtime, work: impl Future<Output = T>) -> T {
    rt.block_on(async { tokio::time::timeout(DEADLINE, work).await })
        .expect("within the deadline")
}

/// A short refresh interval, for filter-less alarm counts (recounted only by the periodic
/// refresh, 60 s on ThingsBoard).
pub const FAST_REFRESH: Duration = Duration::from_millis(250);

/// The `ALARM_DATA` queries the server received, oldest first.
pub fn alarm_queries_received(control: &DemoControl) -> Vec<tb_monitor::protocol::AlarmDataQuery> {
    control
        .commands_received()
        .iter()
        .filter_map(|text| match serde_json::from_str(text).ok()? {
            tb_monitor::protocol::WsCmd::AlarmData(cmd) => cmd.query,
            _ => None,
        })
        .collect()
}

/// The top bar's alarm badge ("Alarms 3"), once shown.
pub fn badge(h: &Harness<'_, TbApp>) -> Option<String> {
    // A label's text is its accessibility value.
    h.query_all_by_role(Role::Label)
        .filter_map(|n| n.accesskit_node().value())
        .find(|text| text.starts_with("Alarms "))
}

/// The badge's hover text, once its tooltip shows `expected`.
pub fn badge_hover_shows(h: &mut Harness<'_, TbApp>, expected: &str) {
    let label = badge(h).expect("the alarm badge");
    h.get_by_label(&label).hover();
    step_until(h, &format!("the badge's hover text {expected:?}"), |h| {
        h.query_by_label(expected).is_some()
    });
}

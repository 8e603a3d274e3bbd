//! The live entity table alone in `egui_kittest` (no GPU, no window, no server): pages and
//! updates in the wire shape go through `Store::apply`, the clock is the test's.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use egui::accesskit::{self, Role};
use egui::epaint::{RectShape, TextShape};
use egui::{Rect, Shape, ViewportId};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};

use tb_monitor::net::{NetEvent, SubId};
use tb_monitor::protocol::{
    AlarmSeverity, EntityDataSortOrder, EntityId, EntityKey, EntityKeyType, ServerMessage,
    SortDirection,
};
use tb_monitor::store::{Store, SubData};
use tb_monitor::ui::entities::{EntitiesPanel, STALE_AFTER_MS, TableAction};
use tb_monitor::ui::theme;

const SUB: SubId = 1;
/// The test's wall clock when the page arrives (epoch ms).
const T0: i64 = 1_700_000_000_000;

/// The id of the `n`th device of the generated pages.
fn device_uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn device(n: usize) -> EntityId {
    serde_json::from_str(&format!(
        r#"{{"entityType":"DEVICE","id":"{}"}}"#,
        device_uuid(n)
    ))
    .unwrap()
}

fn name_of(n: usize) -> String {
    format!("Device {n:04}")
}

fn message(json: &str) -> NetEvent {
    NetEvent::Message {
        sub: SUB,
        msg: Box::new(ServerMessage::from_json(json).unwrap()),
    }
}

/// A `data` page of `rows` thermostats: name and type, a firmware server attribute, and
/// temperature (`ts` = `temperature_ts`) and humidity (5 s before the page) time series.
fn data_page(rows: usize, total_pages: i32, temperature_ts: i64) -> NetEvent {
    let mut data = String::new();
    for n in 0..rows {
        if n > 0 {
            data.push(',');
        }
        write!(
            data,
            r#"{{"entityId":{{"entityType":"DEVICE","id":"{id}"}},"latest":{{"ENTITY_FIELD":{{"name":{{"ts":0,"value":"{name}"}},"type":{{"ts":0,"value":"thermostat"}}}},"SERVER_ATTRIBUTE":{{"firmware":{{"ts":{fw},"value":"v1.2"}}}},"TIME_SERIES":{{"temperature":{{"ts":{temperature_ts},"value":"21.5"}},"humidity":{{"ts":{hum},"value":"40"}}}}}},"timeseries":{{}}}}"#,
            id = device_uuid(n),
            name = name_of(n),
            fw = T0 - 86_400_000,
            hum = T0 - 5_000,
        )
        .unwrap();
    }
    message(&format!(
        r#"{{"cmdId":1,"data":{{"data":[{data}],"totalPages":{total_pages},"totalElements":{total},"hasNext":{has_next}}},"update":null,"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
        total = i64::from(total_pages) * 50,
        has_next = total_pages > 1,
    ))
}

/// A live update of one time series value of device `n`.
fn update(n: usize, key: &str, ts: i64, value: &str) -> NetEvent {
    message(&format!(
        r#"{{"cmdId":1,"data":null,"update":[{{"entityId":{{"entityType":"DEVICE","id":"{}"}},"latest":{{"TIME_SERIES":{{"{key}":{{"ts":{ts},"value":"{value}"}}}}}},"timeseries":null,"aggLatest":null}}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}}"#,
        device_uuid(n)
    ))
}

fn key(key_type: EntityKeyType, name: &str) -> EntityKey {
    EntityKey::new(key_type, name)
}

/// What the harness drives: the store, the panel and what it asked for.
struct Table {
    store: Store,
    panel: EntitiesPanel,
    columns: Vec<EntityKey>,
    alarms: HashMap<EntityId, AlarmSeverity>,
    sort: Option<EntityDataSortOrder>,
    now_ms: i64,
    actions: Vec<TableAction>,
}

impl Table {
    fn new(page: NetEvent) -> Self {
        let mut store = Store::new();
        store.apply(page, T0);
        Self {
            store,
            panel: EntitiesPanel::default(),
            columns: vec![
                key(EntityKeyType::EntityField, "name"),
                key(EntityKeyType::EntityField, "type"),
                key(EntityKeyType::ServerAttribute, "firmware"),
                key(EntityKeyType::TimeSeries, "temperature"),
                key(EntityKeyType::TimeSeries, "humidity"),
            ],
            alarms: HashMap::new(),
            sort: None,
            now_ms: T0,
            actions: Vec::new(),
        }
    }

    /// Applies an event at `now_ms` and moves the clock there.
    fn apply(&mut self, event: NetEvent, now_ms: i64) {
        self.store.apply(event, now_ms);
        self.now_ms = now_ms;
    }
}

/// The app's part: show the table, apply a sort as the app would.
fn table_ui(ui: &mut egui::Ui, table: &mut Table) {
    let page = match table.store.subs.get(&SUB) {
        Some(SubData::Entities(page)) => Some(page),
        _ => None,
    };
    let action = table.panel.show(
        ui,
        page,
        &table.columns,
        &table.alarms,
        table.sort.as_ref(),
        table.now_ms,
    );
    if let Some(action) = action {
        if let TableAction::Sort(order) = &action {
            table.sort = Some(order.clone());
        }
        table.actions.push(action);
    }
}

fn harness(table: Table) -> Harness<'static, Table> {
    // kittest's default: a quarter second per frame.
    harness_stepping(table, 0.25)
}

/// A harness whose clock moves `step_dt` seconds per frame (each queued event is a frame).
fn harness_stepping(table: Table, step_dt: f32) -> Harness<'static, Table> {
    Harness::builder()
        .with_step_dt(step_dt)
        .with_size(egui::vec2(1000.0, 600.0))
        // A wheel scroll is smoothed over a few frames.
        .with_max_steps(40)
        // Tooltips at once: the test drives the clock, not a delay.
        .with_context_setup(|ctx| ctx.all_styles_mut(|s| s.interaction.tooltip_delay = 0.0))
        .build_ui_state(table_ui, table)
}

/// The labels of a node's children of `role`, left to right.
fn labels_left_to_right(nodes: Vec<egui_kittest::Node<'_>>) -> Vec<String> {
    let mut nodes: Vec<(f32, String)> = nodes
        .into_iter()
        .map(|n| {
            (
                n.rect().left(),
                n.accesskit_node().label().unwrap_or_default(),
            )
        })
        .collect();
    nodes.sort_by(|a, b| a.0.total_cmp(&b.0));
    nodes.into_iter().map(|(_, label)| label).collect()
}

/// The value cells of the row of device `n`, left to right.
fn row_cells(harness: &Harness<'_, Table>, n: usize) -> Vec<String> {
    let name = name_of(n);
    let row = harness.get_by_role_and_label(Role::Row, &name);
    labels_left_to_right(
        row.children()
            .filter(|c| c.accesskit_node().role() == Role::Cell)
            .collect(),
    )
}

fn cell_rect(harness: &Harness<'_, Table>, n: usize, label: &str) -> Rect {
    let name = name_of(n);
    let row = harness.get_by_role_and_label(Role::Row, &name);
    row.children()
        .find(|c| {
            c.accesskit_node().role() == Role::Cell
                && c.accesskit_node().label().as_deref() == Some(label)
        })
        .unwrap_or_else(|| panic!("no cell {label:?} in row {n}"))
        .rect()
}

/// Filled rects painted exactly over `rect` (the highlight; stripes cover whole rows).
fn fills_over(harness: &Harness<'_, Table>, rect: Rect) -> Vec<egui::Color32> {
    harness
        .output()
        .shapes
        .iter()
        .filter_map(|clipped| match &clipped.shape {
            Shape::Rect(RectShape { rect: r, fill, .. })
                if (r.min - rect.min).length() < 0.5 && (r.max - rect.max).length() < 0.5 =>
            {
                Some(*fill)
            }
            _ => None,
        })
        .filter(|fill| fill.a() > 0)
        .collect()
}

/// The colour each painted text with this content was drawn in.
fn text_colors(harness: &Harness<'_, Table>, text: &str) -> Vec<egui::Color32> {
    harness
        .output()
        .shapes
        .iter()
        .filter_map(|clipped| match &clipped.shape {
            Shape::Text(TextShape {
                galley,
                fallback_color,
                ..
            }) if galley.text() == text => Some(*fallback_color),
            _ => None,
        })
        .collect()
}

fn repaint_delay(harness: &Harness<'_, Table>) -> Duration {
    harness.output().viewport_output[&ViewportId::ROOT].repaint_delay
}

#[test]
fn the_columns_follow_the_query_order() {
    let mut table = Table::new(data_page(30, 1, T0 - 1_000));
    table.columns = vec![
        key(EntityKeyType::TimeSeries, "temperature"),
        key(EntityKeyType::EntityField, "name"),
        key(EntityKeyType::ServerAttribute, "firmware"),
        key(EntityKeyType::EntityField, "type"),
        key(EntityKeyType::TimeSeries, "humidity"),
    ];
    let mut harness = harness(table);
    harness.run();

    let headers = labels_left_to_right(harness.get_all_by_role(Role::ColumnHeader).collect());
    assert_eq!(
        headers,
        [
            "Alarm",
            "temperature",
            "name",
            "firmware",
            "type",
            "humidity"
        ]
    );
    assert_eq!(
        row_cells(&harness, 0),
        ["21.5", "Device 0000", "v1.2", "thermostat", "40"]
    );
    harness.get_by_role_and_label(Role::Table, "Entities");
}

#[test]
fn a_changed_value_is_highlighted_then_the_highlight_ends_and_the_table_goes_idle() {
    let mut harness = harness(Table::new(data_page(30, 1, T0 - 1_000)));
    harness.run();
    let before = cell_rect(&harness, 1, "21.5");
    assert!(
        fills_over(&harness, before).is_empty(),
        "values that came with the page are not highlighted"
    );
    assert!(
        repaint_delay(&harness) > Duration::from_mins(1),
        "an idle table asks for no repaint (only when a value turns stale)"
    );

    let arrived = T0 + 2_000;
    harness
        .state_mut()
        .apply(update(1, "temperature", arrived - 500, "22.25"), arrived);
    harness.state_mut().now_ms = arrived + 100;
    harness.run();
    let cell = cell_rect(&harness, 1, "22.25");
    assert_eq!(cell, before, "the row updated in place");
    assert_eq!(
        fills_over(&harness, cell).len(),
        1,
        "the new value is highlighted"
    );
    assert!(
        fills_over(&harness, cell_rect(&harness, 1, "40")).is_empty(),
        "only the changed cell"
    );
    assert!(repaint_delay(&harness) <= Duration::from_millis(50));

    // Fading: still there, fainter.
    let strong = fills_over(&harness, cell)[0];
    harness.state_mut().now_ms = arrived + 1_000;
    harness.run();
    let faint = fills_over(&harness, cell)[0];
    assert!(faint.a() < strong.a(), "{faint:?} fades from {strong:?}");

    harness.state_mut().now_ms = arrived + 1_600;
    harness.run();
    assert!(fills_over(&harness, cell).is_empty(), "the highlight ended");
    assert!(
        repaint_delay(&harness) > Duration::from_mins(1),
        "no repaint once nothing fades"
    );
    assert_eq!(row_cells(&harness, 1)[3], "22.25");
}

#[test]
fn a_stale_value_is_faded_and_shows_its_age_and_timestamp_on_hover() {
    let age = 10 * 60_000;
    assert!(age > STALE_AFTER_MS);
    let mut harness = harness(Table::new(data_page(3, 1, T0 - age)));
    harness.run();
    let stale = text_colors(&harness, "21.5");
    assert_eq!(stale.len(), 3);
    assert!(stale.iter().all(|c| *c == theme::STALE), "{stale:?}");
    let fresh = text_colors(&harness, "40");
    assert!(fresh.iter().all(|c| *c != theme::STALE), "{fresh:?}");
    // A static attribute a day old is configuration, not stale.
    assert!(
        text_colors(&harness, "v1.2")
            .iter()
            .all(|c| *c != theme::STALE)
    );

    let name = name_of(0);

    let row = harness.get_by_role_and_label(Role::Row, &name);
    row.children()
        .find(|c| c.accesskit_node().label().as_deref() == Some("21.5"))
        .unwrap()
        .hover();
    harness.run();
    harness.get_by_label("10 min ago");
    harness.get_by_label("at 2023-11-14 22:03:20.000 UTC");
    harness.get_by_label_contains("stale");
}

/// Clicks the header titled `title`; returns the direction its accessibility node then
/// announces.
fn click_header(harness: &mut Harness<'_, Table>, title: &str) -> Option<accesskit::SortDirection> {
    harness
        .get_by_role_and_label(Role::ColumnHeader, title)
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::ColumnHeader, title)
        .accesskit_node()
        .data()
        .sort_direction()
}

#[test]
fn clicking_a_header_sorts_by_it_and_clicking_again_flips_the_direction() {
    let mut harness = harness(Table::new(data_page(10, 1, T0 - 1_000)));
    harness.run();
    let temperature = key(EntityKeyType::TimeSeries, "temperature");

    let shown = click_header(&mut harness, "temperature");
    assert_eq!(
        harness.state().actions,
        [TableAction::Sort(EntityDataSortOrder {
            key: temperature.clone(),
            direction: SortDirection::Asc
        })]
    );
    assert_eq!(shown, Some(accesskit::SortDirection::Ascending));

    let shown = click_header(&mut harness, "temperature");
    assert_eq!(
        harness.state().actions.last(),
        Some(&TableAction::Sort(EntityDataSortOrder {
            key: temperature,
            direction: SortDirection::Desc
        }))
    );
    assert_eq!(shown, Some(accesskit::SortDirection::Descending));

    click_header(&mut harness, "name");
    assert!(matches!(
        harness.state().actions.last(),
        Some(TableAction::Sort(EntityDataSortOrder { key, direction: SortDirection::Asc }))
            if key.key == "name"
    ));
}

#[test]
fn the_paging_controls_ask_for_pages_and_page_sizes() {
    let mut table = Table::new(data_page(20, 12, T0 - 1_000));
    table.panel.set_paging(2, 50);
    let mut harness = harness(table);
    harness.run();
    harness.get_by_label("600 entities");
    harness.get_by_label("page 3 of 12");

    harness.get_by_label("Next").click();
    harness.run();
    assert_eq!(harness.state().actions.last(), Some(&TableAction::Page(3)));
    harness.get_by_label("page 4 of 12");

    harness.get_by_label("Previous").click();
    harness.run();
    assert_eq!(harness.state().actions.last(), Some(&TableAction::Page(2)));

    harness.get_by_label("Last").click();
    harness.run();
    assert_eq!(harness.state().actions.last(), Some(&TableAction::Page(11)));
    assert!(harness.get_by_label("Next").accesskit_node().is_disabled());

    harness.get_by_label("First").click();
    harness.run();
    assert_eq!(harness.state().actions.last(), Some(&TableAction::Page(0)));
    assert!(
        harness
            .get_by_label("Previous")
            .accesskit_node()
            .is_disabled()
    );
    let asked = harness.state().actions.len();

    harness.get_by_label("Page size").click();
    harness.run();
    harness.get_all_by_label("100").last().unwrap().click();
    harness.run();
    assert_eq!(harness.state().actions.len(), asked + 1);
    assert_eq!(
        harness.state().actions.last(),
        Some(&TableAction::PageSize(100))
    );
    assert_eq!(harness.state().panel.page_size(), 100);
    assert_eq!(harness.state().panel.page(), 0);
}

#[test]
fn the_row_context_menu_asks_to_inspect_plot_show_alarms_and_copy_the_id() {
    let mut harness = harness(Table::new(data_page(10, 1, T0 - 1_000)));
    harness.run();
    let mut choose = |item: &str| {
        let name = name_of(2);
        harness
            .get_by_role_and_label(Role::Row, &name)
            .click_secondary();
        harness.run();
        harness.get_by_label(item).click();
        harness.run();
        assert!(
            harness.query_by_label("Show alarms").is_none(),
            "the menu closed"
        );
        harness.state().actions.last().cloned()
    };
    assert_eq!(
        choose("Open in Inspector"),
        Some(TableAction::Inspect(device(2)))
    );
    assert_eq!(
        choose("Plot temperature, humidity"),
        Some(TableAction::Plot {
            entity: device(2),
            keys: vec!["temperature".to_owned(), "humidity".to_owned()],
        })
    );
    assert_eq!(
        choose("Show alarms"),
        Some(TableAction::ShowAlarms(device(2)))
    );
    assert_eq!(
        choose("Copy entity id"),
        Some(TableAction::CopyId(device(2)))
    );
}

#[test]
fn a_double_click_on_a_row_opens_it_in_the_inspector() {
    // Two clicks are six frames: within egui's double-click time at 60 frames/s.
    let mut harness = harness_stepping(Table::new(data_page(10, 1, T0 - 1_000)), 1.0 / 60.0);
    harness.run();
    let name = name_of(4);
    let row = harness.get_by_role_and_label(Role::Row, &name);
    row.click();
    row.click();
    harness.run();
    assert_eq!(harness.state().actions, [TableAction::Inspect(device(4))]);
}

#[test]
fn dragging_a_header_edge_widens_the_column_and_moves_the_next_ones() {
    let mut harness = harness(Table::new(data_page(10, 1, T0 - 1_000)));
    harness.run();
    let left_of = |harness: &Harness<'_, Table>, title: &str| {
        harness
            .get_by_role_and_label(Role::ColumnHeader, title)
            .rect()
            .left()
    };
    let before = left_of(&harness, "firmware");
    let grip = harness
        .get_by_role_and_label(Role::Splitter, "Resize column type")
        .rect()
        .center();
    harness.hover_at(grip);
    harness.drag_at(grip);
    for dx in [10.0, 30.0, 50.0] {
        harness.hover_at(grip + egui::vec2(dx, 0.0));
    }
    harness.drop_at(grip + egui::vec2(50.0, 0.0));
    harness.run();
    let moved = left_of(&harness, "firmware") - before;
    assert!((moved - 50.0).abs() < 1.0, "moved by {moved}");
    assert!(harness.state().actions.is_empty(), "a drag does not sort");
}

#[test]
fn a_row_shows_its_alarm_severity_as_a_badge_named_on_hover() {
    let mut table = Table::new(data_page(10, 1, T0 - 1_000));
    table.alarms.insert(device(3), AlarmSeverity::Critical);
    table.alarms.insert(device(4), AlarmSeverity::Minor);
    let mut harness = harness(table);
    harness.run();
    let badges = harness.get_all_by_role(Role::Image).count();
    assert_eq!(badges, 2);
    let name = name_of(3);
    let row = harness.get_by_role_and_label(Role::Row, &name);
    let badge = row
        .children()
        .find(|c| c.accesskit_node().role() == Role::Image)
        .unwrap();
    assert_eq!(
        badge.accesskit_node().label().as_deref(),
        Some("Critical alarm")
    );
    badge.hover();
    harness.run();
    harness.get_by_label("Critical alarm active");
    harness.get_by_role_and_label(Role::Image, "Minor alarm");
}

#[test]
fn ten_thousand_rows_render_with_only_the_visible_rows_laid_out() {
    let mut harness = harness(Table::new(data_page(10_000, 200, T0 - 1_000)));
    harness.run();
    let rows = harness.get_all_by_role(Role::Row).count();
    assert!((10..=40).contains(&rows), "{rows} rows laid out");
    harness.get_by_role_and_label(Role::Row, &name_of(0));
    assert!(
        harness
            .query_by_role_and_label(Role::Row, &name_of(9_999))
            .is_none()
    );
    assert!(harness.query_by_label(&name_of(5_000)).is_none());

    // Scroll to the end: the last rows are laid out instead.
    let table = harness
        .get_by_role_and_label(Role::Table, "Entities")
        .rect();
    harness.hover_at(table.center());
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, -1.0e7),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
    harness.run();
    harness.get_by_role_and_label(Role::Row, &name_of(9_999));
    assert!(
        harness
            .query_by_role_and_label(Role::Row, &name_of(0))
            .is_none()
    );
    let rows = harness.get_all_by_role(Role::Row).count();
    assert!((10..=40).contains(&rows), "{rows} rows laid out");
}

#[test]
fn the_table_waits_for_the_first_page() {
    let mut table = Table::new(data_page(1, 1, T0));
    table.store = Store::new();
    let mut harness = harness(table);
    harness.run();
    harness.get_by_label("waiting for the first page");
    assert!(harness.query_by_role(Role::Table).is_none());
}

//! The query builder in `egui_kittest`, driven by clicks and typing as a user would: a
//! device-type filter with a numeric key filter, entity pickers that search by name and
//! store the clicked entity's id, and the actions the app receives. Every widget has an
//! accessible name (the harness checks it after each run).

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "common/ui.rs"]
mod ui;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use tb_monitor::protocol::{
    EntityDataPageLink, EntityDataQuery, EntityFilter, EntityId, EntityKey, EntityType, KeyFilter,
    NumericOperation, SortDirection,
};
use tb_monitor::ui::query::{QueryAction, QueryBuilder};
use ui::{choose, click, type_into};
use uuid::Uuid;

/// The builder and every action it returned so far.
#[derive(Default)]
struct Panel {
    builder: QueryBuilder,
    actions: Vec<QueryAction>,
}

fn panel<'a>(builder: QueryBuilder) -> Harness<'a, Panel> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(460.0, 2400.0))
        .build_ui_state(
            |ui, panel: &mut Panel| {
                let actions = panel.builder.show(ui);
                panel.actions.extend(actions);
            },
            Panel {
                builder,
                actions: Vec::new(),
            },
        );
    harness.run();
    harness
}

fn searches(panel: &Panel) -> Vec<(u64, EntityType, String)> {
    panel
        .actions
        .iter()
        .filter_map(|a| match a {
            QueryAction::SearchEntities {
                request_id,
                entity_type,
                text,
            } => Some((*request_id, entity_type.clone(), text.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_device_type_filter_with_a_numeric_key_filter_is_built_by_clicking_and_typing() {
    let mut h = panel(QueryBuilder::new());
    assert!(
        h.state().actions.contains(&QueryAction::Changed),
        "the first frame asks for a count"
    );
    h.state_mut().actions.clear();

    ui::build_device_filter_above(&mut h, "thermostat", "temperature", "20");

    let expected = EntityDataQuery::new(
        EntityFilter::devices_of_types(["thermostat"]),
        EntityDataPageLink::first(50)
            .sorted_by(EntityKey::field("name"), SortDirection::Asc)
            .dynamic(true),
    )
    .with_fields(["name", "type", "label"])
    .with_key_filter(KeyFilter::numeric(
        EntityKey::time_series("temperature"),
        NumericOperation::Greater,
        20.0,
    ));
    assert_eq!(h.state().builder.build(), Ok(expected));
    assert!(h.state().actions.contains(&QueryAction::Changed));

    h.state_mut().builder.set_count(Some(Ok(312)));
    h.run();
    h.get_by_label("312 entities match");
    click(&mut h, "Run");
    assert_eq!(h.state().actions.last(), Some(&QueryAction::Run));

    // A column does not change the count; a key filter value does, and the old count goes.
    click(&mut h, "Columns");
    type_into(&mut h, "New column key", "humidity");
    click(&mut h, "Add column");
    h.get_by_label("312 entities match");
    type_into(&mut h, "Value", "5");
    assert!(h.query_by_label("312 entities match").is_none());
}

#[test]
fn half_typed_numbers_are_shown_as_problems_and_block_run() {
    let mut h = panel(QueryBuilder::new());
    click(&mut h, "Add key filter");
    type_into(&mut h, "Key name", "temperature");
    type_into(&mut h, "Value", "2O");
    h.get_by_label("\"2O\" is not a number; use digits and a point, e.g. 20 or 1.5");
    h.get_by_label("1 problem to fix below");
    let run = h.get_by_role_and_label(Role::Button, "Run");
    assert!(run.accesskit_node().is_disabled());
    assert!(h.state().builder.build().is_err());
}

#[test]
fn an_entity_picker_searches_by_name_and_stores_the_clicked_entity() {
    let mut h = panel(QueryBuilder::new());
    choose(&mut h, "Filter type", "Single entity");
    h.state_mut().actions.clear();

    type_into(&mut h, "Find entity", "Therm");

    let asked = searches(h.state());
    assert_eq!(asked.len(), 1, "{asked:?}");
    let (request_id, entity_type, text) = asked[0].clone();
    assert_eq!((entity_type, text.as_str()), (EntityType::Device, "Therm"));

    let one = EntityId::device(Uuid::from_u128(1));
    let two = EntityId::device(Uuid::from_u128(2));
    assert!(h.state_mut().builder.set_search_results(
        request_id,
        vec![
            (one, "Thermostat T-1".to_owned()),
            (two.clone(), "Thermostat T-2".to_owned()),
        ],
    ));
    h.run();
    click(&mut h, "Thermostat T-2");

    assert_eq!(
        h.state().builder.build().unwrap().entity_filter,
        EntityFilter::single(two)
    );
    h.get_by_label("Thermostat T-2");
    assert!(
        h.query_by_label("Thermostat T-1").is_none(),
        "the result list closes"
    );
}

#[test]
fn a_picker_asks_again_only_when_the_text_changes_and_is_not_blank() {
    let mut h = panel(QueryBuilder::new());
    choose(&mut h, "Filter type", "Single entity");
    h.state_mut().actions.clear();

    type_into(&mut h, "Find entity", "   ");
    assert!(searches(h.state()).is_empty(), "blank text is not searched");

    type_into(&mut h, "Find entity", "P");
    type_into(&mut h, "Find entity", "u");
    let asked = searches(h.state());
    let texts: Vec<&str> = asked.iter().map(|(_, _, t)| t.as_str()).collect();
    assert_eq!(texts, ["P", "Pu"]);
    assert!(asked[0].0 < asked[1].0, "request ids grow");

    // The answer to the older request comes late: it is dropped.
    assert!(!h.state_mut().builder.set_search_results(
        asked[0].0,
        vec![(EntityId::device(Uuid::from_u128(9)), "Pump 9".to_owned())]
    ));
    h.run();
    assert!(h.query_by_label("Pump 9").is_none());
}

#[test]
fn saving_exporting_and_copying_hand_the_query_to_the_app() {
    let mut builder = QueryBuilder::new();
    builder.set_saved_queries(vec!["Hot thermostats".to_owned()]);
    let mut h = panel(builder);
    click(&mut h, "Saved queries");
    type_into(&mut h, "Query name", "All devices");
    click(&mut h, "Save");
    click(&mut h, "Load");
    click(&mut h, "Copy as WebSocket command");
    click(&mut h, "Export…");
    click(&mut h, "Import…");

    let built = h.state().builder.build().unwrap();
    let actions: Vec<&QueryAction> = h
        .state()
        .actions
        .iter()
        .filter(|a| !matches!(a, QueryAction::Changed))
        .collect();
    assert_eq!(
        actions,
        [
            &QueryAction::SaveAs("All devices".to_owned()),
            &QueryAction::Load("Hot thermostats".to_owned()),
            &QueryAction::CopyWsCommand(h.state().builder.to_ws_command_json(1).unwrap()),
            &QueryAction::Export(serde_json::to_string_pretty(&built).unwrap()),
            &QueryAction::Import,
        ]
    );
}

#[test]
fn every_filter_type_and_every_section_has_named_widgets() {
    let mut h = panel(QueryBuilder::new());
    for section in ["Columns", "Sort & paging", "Saved queries"] {
        click(&mut h, section);
    }
    for kind in [
        "Single entity",
        "Entity list",
        "Entity name",
        "Entity type",
        "Asset type",
        "Device type",
        "Entity view type",
        "Edge type",
        "API usage state",
        "Relations query",
        "Asset search query",
        "Device search query",
        "Entity view search query",
        "Edge search query",
    ] {
        // The harness fails the run on any input widget without an accessible name.
        choose(&mut h, "Filter type", kind);
        let combo = h
            .get_all_by_label("Filter type")
            .find(|n| n.accesskit_node().role() == Role::ComboBox)
            .unwrap();
        assert_eq!(combo.accesskit_node().value().as_deref(), Some(kind));
    }
    choose(&mut h, "Filter type", "Relations query");
    click(&mut h, "Start from several entities");
    click(&mut h, "Add relation filter");
    click(&mut h, "Dashboard state");
    click(&mut h, "Add key filter");
    click(&mut h, "Make a group");
    click(&mut h, "Add group");
    click(&mut h, "Read the value from an attribute");
    choose(&mut h, "Compare as", "Text");
    choose(&mut h, "Compare as", "True or false");
    click(&mut h, "Add key filter");
    h.get_by_label("Combine filters");
}

#[test]
fn a_page_size_over_the_limit_is_shown_next_to_the_field() {
    let mut h = panel(QueryBuilder::new());
    click(&mut h, "Sort & paging");
    // "50" becomes "500000".
    type_into(&mut h, "Page size", "0000");
    h.get_by_label_contains("A page holds at most 10,000 entities");
}

#[test]
fn typed_device_types_are_added_at_a_comma_and_can_be_removed() {
    let mut h = panel(QueryBuilder::new());
    choose(&mut h, "Filter type", "Device type");
    type_into(&mut h, "Device types", "thermostat, door-sensor,");
    h.get_by_label("thermostat");
    h.get_by_label("door-sensor");
    // The first "Remove" is thermostat's.
    click(&mut h, "Remove");
    assert_eq!(
        h.state().builder.build().unwrap().entity_filter,
        EntityFilter::devices_of_types(["door-sensor"])
    );
}

#[test]
fn known_keys_fill_in_a_key_filter_and_add_columns() {
    let mut builder = QueryBuilder::new();
    builder.set_available_keys(
        Vec::new(),
        vec!["firmware".to_owned()],
        vec!["temperature".to_owned(), "humidity".to_owned()],
    );
    let mut h = panel(builder);
    click(&mut h, "Add key filter");
    choose(&mut h, "Known keys", "temperature");
    type_into(&mut h, "Value", "20");
    click(&mut h, "Columns");
    // The first entity field not yet a column (a click lands where the list shows it, and
    // the list scrolls past its first rows).
    choose(&mut h, "Add a known key", "createdTime");

    let built = h.state().builder.build().unwrap();
    assert_eq!(
        built.key_filters.unwrap()[0].key,
        EntityKey::time_series("temperature")
    );
    assert_eq!(
        built.entity_fields,
        Some(
            ["name", "type", "label", "createdTime"]
                .map(EntityKey::field)
                .to_vec()
        )
    );
}

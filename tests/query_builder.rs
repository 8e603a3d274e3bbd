//! The query builder without a screen: every entity filter type and every predicate kind
//! comes out as the JSON of §6 of the reference (the client fixtures), imported queries
//! round-trip, the three import shapes are read with plain errors, and each validation rule
//! names its field in plain words.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{assert_json_equivalent, fixture, fixtures};
use tb_monitor::protocol::{
    BooleanOperation, ClientMessage, ComplexFilterPredicate, ComplexOperation, DynamicValue,
    DynamicValueSourceType, EntityCountQuery, EntityDataPageLink, EntityDataQuery, EntityFilter,
    EntityId, EntityKey, EntityKeyType, EntityKeyValueType, EntityListFilter, EntityType,
    FilterPredicateValue, KeyFilter, KeyFilterPredicate, NumericFilterPredicate, NumericOperation,
    RelationsQueryFilter, SortDirection, StringOperation, WsCmd,
};
use tb_monitor::ui::query::{ImportError, MAX_PAGE_SIZE, Problem, QueryBuilder};
use uuid::Uuid;

/// The query inside the single command of a client fixture frame.
fn fixture_query(name: &str) -> serde_json::Value {
    let frame: serde_json::Value = serde_json::from_str(&fixture("client", name)).unwrap();
    frame["cmds"][0]["query"].clone()
}

/// The count query of a fixture (every `filter_*` and `key_filters_*` fixture is one).
fn fixture_count_query(name: &str) -> EntityCountQuery {
    serde_json::from_value(fixture_query(name)).unwrap()
}

/// An entity data query around a count query's filter part.
fn data_query(count: EntityCountQuery) -> EntityDataQuery {
    EntityDataQuery {
        entity_filter: count.entity_filter,
        key_filters: count.key_filters,
        key_filters_operation: count.key_filters_operation,
        page_link: EntityDataPageLink::first(25)
            .sorted_by(EntityKey::field("createdTime"), SortDirection::Desc),
        entity_fields: Some(vec![EntityKey::field("name"), EntityKey::field("label")]),
        latest_values: Some(vec![
            EntityKey::time_series("temperature"),
            EntityKey::new(EntityKeyType::SharedAttribute, "targetTemperature"),
        ]),
    }
}

fn problems(builder: &QueryBuilder) -> Vec<Problem> {
    builder.build().expect_err("the query has problems")
}

fn paths(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.path.as_str()).collect()
}

/// A problem text reads as a plain sentence for the user: a capital first letter, no
/// trailing period, nothing that looks like code or a debug dump.
fn assert_plain(problem: &Problem) {
    let m = &problem.message;
    // A sentence may start with the user's number or quoted text.
    assert!(
        m.chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || c == '"'),
        "{m}"
    );
    assert!(!m.ends_with('.'), "no trailing period: {m}");
    for code in ["{", "}", "Some(", "None", "Err(", "unwrap", "panicked"] {
        assert!(!m.contains(code), "{m}");
    }
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(0x0d7b_d8a0_7a25_11ee_9d3f_3b4c_5d6e_0000 + n)
}

#[test]
fn every_filter_fixture_comes_out_of_the_builder_as_the_reference_json() {
    let filters: Vec<(String, String)> = fixtures("client")
        .into_iter()
        .filter(|(name, _)| name.starts_with("filter_"))
        .collect();
    // deviceType and entityType are in the frame and key filter fixtures (tests below).
    assert_eq!(filters.len(), 14, "one fixture per filter shape");
    for (name, text) in filters {
        let builder = QueryBuilder::from_json(&text).unwrap();
        let built = builder
            .count_query()
            .unwrap_or_else(|p| panic!("{name}: {p:?}"));
        let mut expected = fixture_query(&format!("{name}.json"));
        if name == "filter_asset_type_deprecated_singular" {
            // The builder writes the list form; an empty name filter is left out.
            expected =
                serde_json::json!({"entityFilter": {"type": "assetType", "assetTypes": ["site"]}});
        }
        assert_json_equivalent(
            &name,
            &expected.to_string(),
            &serde_json::to_string(&built).unwrap(),
        );
    }
}

#[test]
fn the_nested_key_filter_fixture_comes_out_as_the_reference_json() {
    for name in ["key_filters_complex_nested", "entity_count"] {
        let text = fixture("client", &format!("{name}.json"));
        let built = QueryBuilder::from_json(&text)
            .unwrap()
            .count_query()
            .unwrap();
        assert_json_equivalent(
            name,
            &fixture_query(&format!("{name}.json")).to_string(),
            &serde_json::to_string(&built).unwrap(),
        );
    }
}

/// One key filter of each operation: `(predicate built by the model, expected JSON)`.
fn every_operation() -> Vec<(KeyFilter, String)> {
    let mut out = Vec::new();
    for op in StringOperation::KNOWN {
        for ignore_case in [false, true] {
            out.push((
                KeyFilter::string(EntityKey::field("name"), op.clone(), "Pump", ignore_case),
                format!(
                    r#"{{"key":{{"type":"ENTITY_FIELD","key":"name"}},"valueType":"STRING","predicate":{{"type":"STRING","operation":"{op}","value":{{"defaultValue":"Pump"}},"ignoreCase":{ignore_case}}}}}"#
                ),
            ));
        }
    }
    for op in NumericOperation::KNOWN {
        out.push((
            KeyFilter::numeric(EntityKey::time_series("temperature"), op.clone(), 20.5),
            format!(
                r#"{{"key":{{"type":"TIME_SERIES","key":"temperature"}},"valueType":"NUMERIC","predicate":{{"type":"NUMERIC","operation":"{op}","value":{{"defaultValue":20.5}}}}}}"#
            ),
        ));
    }
    for op in BooleanOperation::KNOWN {
        out.push((
            KeyFilter::boolean(
                EntityKey::new(EntityKeyType::ServerAttribute, "active"),
                op.clone(),
                false,
            ),
            format!(
                r#"{{"key":{{"type":"SERVER_ATTRIBUTE","key":"active"}},"valueType":"BOOLEAN","predicate":{{"type":"BOOLEAN","operation":"{op}","value":{{"defaultValue":false}}}}}}"#
            ),
        ));
    }
    out
}

#[test]
fn every_string_numeric_and_boolean_operation_comes_out_as_the_reference_json() {
    for (filter, expected) in every_operation() {
        let query = EntityDataQuery::new(
            EntityFilter::of_type(EntityType::Device),
            EntityDataPageLink::first(10),
        )
        .with_key_filter(filter);
        let built = QueryBuilder::from_query(&query).build().unwrap();
        let key_filter = serde_json::to_string(&built.key_filters.unwrap()[0]).unwrap();
        assert_json_equivalent("key filter", &expected, &key_filter);
    }
}

#[test]
fn a_nested_complex_group_with_every_kind_comes_out_as_the_reference_json() {
    let leaf = |op: NumericOperation, v: f64| {
        KeyFilterPredicate::Numeric(NumericFilterPredicate {
            operation: op,
            value: FilterPredicateValue::constant(v),
        })
    };
    let predicate = KeyFilterPredicate::Complex(ComplexFilterPredicate {
        operation: ComplexOperation::Or,
        predicates: vec![
            leaf(NumericOperation::Less, 5.0),
            KeyFilterPredicate::Complex(ComplexFilterPredicate {
                operation: ComplexOperation::And,
                predicates: vec![
                    leaf(NumericOperation::GreaterOrEqual, 30.0),
                    KeyFilterPredicate::Complex(ComplexFilterPredicate {
                        operation: ComplexOperation::Or,
                        predicates: vec![leaf(NumericOperation::NotEqual, 99.0)],
                    }),
                ],
            }),
        ],
    });
    let query = EntityDataQuery::new(
        EntityFilter::of_type(EntityType::Device),
        EntityDataPageLink::first(10),
    )
    .with_key_filter(KeyFilter {
        key: EntityKey::time_series("temperature"),
        value_type: EntityKeyValueType::Numeric,
        predicate,
    });
    let built = QueryBuilder::from_query(&query).build().unwrap();
    let expected = r#"{"key":{"type":"TIME_SERIES","key":"temperature"},"valueType":"NUMERIC",
        "predicate":{"type":"COMPLEX","operation":"OR","predicates":[
          {"type":"NUMERIC","operation":"LESS","value":{"defaultValue":5.0}},
          {"type":"COMPLEX","operation":"AND","predicates":[
            {"type":"NUMERIC","operation":"GREATER_OR_EQUAL","value":{"defaultValue":30.0}},
            {"type":"COMPLEX","operation":"OR","predicates":[
              {"type":"NUMERIC","operation":"NOT_EQUAL","value":{"defaultValue":99.0}}]}]}]}}"#;
    assert_json_equivalent(
        "nested group",
        expected,
        &serde_json::to_string(&built.key_filters.unwrap()[0]).unwrap(),
    );
}

#[test]
fn every_filter_and_key_filter_fixture_round_trips_through_the_builder() {
    for (name, _) in fixtures("client") {
        if !(name.starts_with("filter_") || name.starts_with("key_filters_"))
            || name == "filter_asset_type_deprecated_singular"
        {
            continue;
        }
        let query = data_query(fixture_count_query(&format!("{name}.json")));
        let built = QueryBuilder::from_query(&query)
            .build()
            .unwrap_or_else(|p| panic!("{name}: {p:?}"));
        assert_eq!(built, query, "{name}");
    }
}

#[test]
fn hand_built_queries_of_every_shape_round_trip() {
    let queries = [
        EntityDataQuery::new(
            EntityFilter::single(EntityId::device(uuid(1))),
            EntityDataPageLink::first(1),
        ),
        EntityDataQuery::new(
            EntityFilter::EntityList(EntityListFilter {
                entity_type: EntityType::Asset,
                entity_list: vec![uuid(2), uuid(3)],
            }),
            EntityDataPageLink::first(MAX_PAGE_SIZE).dynamic(true),
        ),
        EntityDataQuery::new(
            EntityFilter::by_name(EntityType::Customer, "%north%"),
            EntityDataPageLink {
                page: 3,
                text_search: Some("Pump".to_owned()),
                ..EntityDataPageLink::first(20)
            },
        ),
        EntityDataQuery::new(
            EntityFilter::RelationsQuery(RelationsQueryFilter {
                root_entity: Some(EntityId::asset(uuid(4)).into()),
                direction: Some(tb_monitor::protocol::EntitySearchDirection::To),
                max_level: None,
                ..RelationsQueryFilter::default()
            }),
            EntityDataPageLink::first(20),
        ),
        EntityDataQuery::new(
            EntityFilter::devices_of_types(["thermostat", "door, sensor"]),
            EntityDataPageLink::first(20)
                .sorted_by(EntityKey::time_series("t"), SortDirection::Desc),
        )
        .with_key_filter(KeyFilter {
            key: EntityKey::attribute("threshold"),
            value_type: EntityKeyValueType::DateTime,
            predicate: KeyFilterPredicate::Numeric(NumericFilterPredicate {
                operation: NumericOperation::Unknown("FUTURE_OP".to_owned()),
                value: FilterPredicateValue {
                    default_value: 1.0e-7,
                    user_value: Some(-0.5),
                    dynamic_value: Some(DynamicValue {
                        source_type: DynamicValueSourceType::CurrentDevice,
                        source_attribute: "limit".to_owned(),
                        inherit: true,
                    }),
                },
            }),
        }),
    ];
    for query in queries {
        let built = QueryBuilder::from_query(&query).build();
        assert_eq!(built, Ok(query.clone()), "{query:?}");
    }
}

#[test]
fn the_deprecated_single_profile_type_becomes_the_list_form() {
    let text = fixture("client", "filter_asset_type_deprecated_singular.json");
    let built = QueryBuilder::from_json(&text)
        .unwrap()
        .count_query()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&built.entity_filter).unwrap(),
        serde_json::json!({"type": "assetType", "assetTypes": ["site"]})
    );
}

#[test]
fn a_whole_entity_data_query_json_is_imported() {
    let query = data_query(fixture_count_query("key_filters_complex_nested.json"));
    let text = serde_json::to_string_pretty(&query).unwrap();
    let builder = QueryBuilder::from_json(&text).unwrap();
    assert_eq!(builder.build(), Ok(query));
}

#[test]
fn an_entity_filter_alone_is_imported_with_the_default_columns_and_paging() {
    let text = r#"{"type":"deviceType","deviceTypes":["thermostat"],"deviceNameFilter":"T-"}"#;
    let built = QueryBuilder::from_json(text).unwrap().build().unwrap();
    let defaults = QueryBuilder::new().build().unwrap();
    assert_eq!(
        built.entity_filter,
        serde_json::from_str::<EntityFilter>(text).unwrap()
    );
    assert_eq!(built.page_link, defaults.page_link);
    assert_eq!(built.entity_fields, defaults.entity_fields);
    assert_eq!(built.key_filters, None);
}

#[test]
fn a_websocket_frame_is_imported_from_its_first_entity_data_command() {
    let text = fixture("client", "auth_with_entity_data_latest.json");
    let frame: ClientMessage = serde_json::from_str(&text).unwrap();
    let WsCmd::EntityData(cmd) = &frame.cmds[0] else {
        panic!("the fixture starts with ENTITY_DATA");
    };
    let builder = QueryBuilder::from_json(&text).unwrap();
    assert_eq!(builder.build().as_ref(), Ok(cmd.query.as_ref().unwrap()));
}

#[test]
fn a_frame_with_only_a_count_command_imports_its_filter() {
    let text = fixture("client", "entity_count.json");
    let builder = QueryBuilder::from_json(&text).unwrap();
    assert_eq!(
        builder.count_query().unwrap(),
        fixture_count_query("entity_count.json")
    );
}

#[test]
fn copy_as_websocket_command_gives_the_exact_entity_data_frame() {
    let text = fixture("client", "auth_with_entity_data_latest.json");
    let builder = QueryBuilder::from_json(&text).unwrap();
    let mut expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    expected.as_object_mut().unwrap().remove("authCmd");

    let frame = builder.to_ws_command_json(1).unwrap();

    assert_json_equivalent("ws command", &expected.to_string(), &frame);
    assert!(
        frame.starts_with(r#"{"cmds":[{"type":"ENTITY_DATA","cmdId":1,"#),
        "{frame}"
    );
}

#[test]
fn export_is_the_entity_data_query_json_and_imports_back() {
    let query = data_query(fixture_count_query("filter_relations_query.json"));
    let exported = QueryBuilder::from_query(&query).to_json().unwrap();
    assert_eq!(
        serde_json::from_str::<EntityDataQuery>(&exported).unwrap(),
        query
    );
    assert_eq!(
        QueryBuilder::from_json(&exported).unwrap().build(),
        Ok(query)
    );
}

#[test]
fn imports_that_cannot_be_read_say_why_in_plain_words() {
    let cases = [
        ("{\"type\": ", "The text is not JSON"),
        ("[1, 2]", "Expected a JSON object, found an array"),
        (
            r#"{"hello": 1}"#,
            "Expected an entity data query (with entityFilter), an entity filter (with type) or \
             a WebSocket frame (with cmds)",
        ),
        (
            r#"{"cmds":[{"type":"ALARM_COUNT","cmdId":1,"query":{}}]}"#,
            "The WebSocket frame has no ENTITY_DATA command with a query (it has ALARM_COUNT)",
        ),
        (
            r#"{"cmds":[{"type":"ENTITY_DATA","cmdId":1,"latestCmd":{"keys":[]}}]}"#,
            "The WebSocket frame has no ENTITY_DATA command with a query; its ENTITY_DATA \
             command only changes sub-commands",
        ),
        (
            r#"{"type":"singleEntity","singleEntity":{"entityType":"DEVICE","id":"not-a-uuid"}}"#,
            "The entity filter is not valid: UUID parsing failed",
        ),
        (
            r#"{"cmds":[{"type":"ENTITY_DATA","cmdId":1,"query":{"entityFilter":{"type":"entityType"},"pageLink":{"pageSize":10}}}]}"#,
            "The entity data query is not valid at cmds[0].query.entityFilter",
        ),
    ];
    for (text, start) in cases {
        let err: ImportError = QueryBuilder::from_json(text).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with(start), "{text}\n gave: {message}");
        assert!(!message.ends_with('.'), "{message}");
    }
}

#[test]
fn a_failed_import_leaves_the_builder_unchanged() {
    let mut builder =
        QueryBuilder::from_json(&fixture("client", "filter_entity_name.json")).unwrap();
    let before = builder.build();
    assert!(builder.import_json("not json").is_err());
    assert_eq!(builder.build(), before);
}

#[test]
fn a_missing_single_entity_is_a_problem_at_the_root() {
    let p = problems(&QueryBuilder::from_json(r#"{"type":"singleEntity"}"#).unwrap());
    assert_eq!(paths(&p), ["entity_filter.root"]);
    assert_eq!(
        p[0].message,
        "Choose an entity, or the current customer, tenant or user"
    );
    assert_plain(&p[0]);
}

#[test]
fn each_empty_required_field_of_a_filter_is_named() {
    let cases = [
        (
            r#"{"type":"entityList","entityType":"DEVICE","entityList":[]}"#,
            vec!["entity_filter.list"],
        ),
        (
            r#"{"type":"entityName","entityType":"DEVICE","entityNameFilter":" "}"#,
            vec!["entity_filter.name"],
        ),
        (r#"{"type":"deviceType"}"#, vec!["entity_filter.types"]),
        (
            r#"{"type":"edgeType","edgeTypes":[]}"#,
            vec!["entity_filter.types"],
        ),
        (
            r#"{"type":"relationsQuery"}"#,
            vec!["entity_filter.root", "entity_filter.direction"],
        ),
        (
            r#"{"type":"relationsQuery","direction":"FROM","multiRoot":true}"#,
            vec!["entity_filter.multi_roots"],
        ),
        (
            r#"{"type":"deviceSearchQuery","direction":"FROM","deviceTypes":["t"]}"#,
            vec!["entity_filter.root"],
        ),
    ];
    for (filter, expected) in cases {
        let p = problems(&QueryBuilder::from_json(filter).unwrap());
        assert_eq!(paths(&p), expected, "{filter}");
        p.iter().for_each(assert_plain);
    }
    let p = problems(&QueryBuilder::from_json(r#"{"type":"assetType"}"#).unwrap());
    assert_eq!(p[0].message, "Add at least one asset type");
}

#[test]
fn the_dashboard_state_entity_makes_the_root_optional() {
    let filter = r#"{"type":"deviceSearchQuery","direction":"FROM","rootStateEntity":true,"deviceTypes":["t"]}"#;
    assert!(QueryBuilder::from_json(filter).unwrap().build().is_ok());
}

#[test]
fn key_filter_problems_name_the_filter_and_the_nested_member() {
    let group = |predicates| {
        KeyFilterPredicate::Complex(ComplexFilterPredicate {
            operation: ComplexOperation::And,
            predicates,
        })
    };
    let query = EntityDataQuery::new(
        EntityFilter::of_type(EntityType::Device),
        EntityDataPageLink::first(10),
    )
    .with_key_filter(KeyFilter::numeric(
        EntityKey::time_series(" "),
        NumericOperation::Greater,
        1.0,
    ))
    .with_key_filter(KeyFilter {
        key: EntityKey::time_series("temperature"),
        value_type: EntityKeyValueType::Numeric,
        predicate: group(vec![
            group(Vec::new()),
            KeyFilterPredicate::Numeric(NumericFilterPredicate {
                operation: NumericOperation::Less,
                value: FilterPredicateValue {
                    default_value: f64::NAN,
                    user_value: None,
                    dynamic_value: Some(DynamicValue {
                        source_type: DynamicValueSourceType::CurrentTenant,
                        source_attribute: String::new(),
                        inherit: false,
                    }),
                },
            }),
        ]),
    });
    let p = problems(&QueryBuilder::from_query(&query));
    assert_eq!(
        paths(&p),
        [
            "key_filters[0].key",
            "key_filters[1].predicate.predicates[0].predicates",
            "key_filters[1].predicate.predicates[1].dynamic",
            "key_filters[1].predicate.predicates[1].value",
        ]
    );
    assert_eq!(p[0].message, "Enter the key, e.g. temperature");
    assert_eq!(p[1].message, "Add at least one condition to the group");
    assert_eq!(p[2].message, "Enter the attribute the value is read from");
    assert_eq!(p[3].message, "NaN is not a finite number");
    p.iter().for_each(assert_plain);
}

#[test]
fn a_page_size_over_ten_thousand_or_under_one_is_a_problem() {
    let with_page_size = |n| {
        QueryBuilder::from_query(&EntityDataQuery::new(
            EntityFilter::of_type(EntityType::Device),
            EntityDataPageLink::first(n),
        ))
    };
    assert!(with_page_size(MAX_PAGE_SIZE).build().is_ok());
    let over = problems(&with_page_size(MAX_PAGE_SIZE + 1));
    assert_eq!(paths(&over), ["paging.page_size"]);
    assert_eq!(
        over[0].message,
        "A page holds at most 10,000 entities (the server's limit for one live subscription); \
         use a smaller page and page through the rest"
    );
    let zero = problems(&with_page_size(0));
    assert_eq!(
        zero[0].message,
        "0 is out of range; enter a number between 1 and 10,000"
    );
    [&over[0], &zero[0]].into_iter().for_each(assert_plain);
}

#[test]
fn a_paging_problem_does_not_stop_the_count_preview() {
    let builder = QueryBuilder::from_query(&EntityDataQuery::new(
        EntityFilter::of_type(EntityType::Device),
        EntityDataPageLink::first(0),
    ));
    assert!(builder.build().is_err());
    assert_eq!(
        builder.count_query(),
        Ok(EntityCountQuery::new(EntityFilter::of_type(
            EntityType::Device
        )))
    );
}

/// A builder listing `n` devices by id.
fn entity_list_of(n: u128) -> QueryBuilder {
    QueryBuilder::from_query(&EntityDataQuery::new(
        EntityFilter::EntityList(EntityListFilter {
            entity_type: EntityType::Device,
            entity_list: (0..n).map(uuid).collect(),
        }),
        EntityDataPageLink::first(10),
    ))
}

#[test]
fn a_query_over_the_32_kib_frame_limit_is_a_problem() {
    let builder = entity_list_of(1_000);
    let p = problems(&builder);
    assert_eq!(paths(&p), ["frame"]);
    assert!(
        p[0].message.starts_with("The query is 39,")
            && p[0].message.ends_with(
                " bytes as a WebSocket command, over the server's limit of 32,768 bytes \
                 (32 KiB); remove columns, key filters or listed entities"
            ),
        "{}",
        p[0].message
    );
    assert_plain(&p[0]);
    assert!(builder.to_ws_command_json(1).is_err());
    // The count preview still works: only the data command is too big for a frame.
    assert!(builder.count_query().is_ok());

    assert!(entity_list_of(500).build().is_ok());
}

#[test]
fn a_new_builder_is_valid_and_lists_every_device() {
    let built = QueryBuilder::new().build().unwrap();
    assert_eq!(
        built.entity_filter,
        EntityFilter::of_type(EntityType::Device)
    );
    assert_eq!(
        built.page_link,
        EntityDataPageLink::first(50)
            .sorted_by(EntityKey::field("name"), SortDirection::Asc)
            .dynamic(true)
    );
}

#[test]
fn search_results_for_an_unknown_request_are_dropped() {
    let mut builder = QueryBuilder::new();
    assert!(!builder.set_search_results(7, vec![(EntityId::device(uuid(1)), "T-1".to_owned())]));
}

#[test]
fn a_saved_query_loads_back_into_the_builder() {
    let query = data_query(fixture_count_query(
        "filter_relations_query_multi_root.json",
    ));
    let saved = QueryBuilder::from_query(&query)
        .saved_query(" Roots ")
        .unwrap();
    assert_eq!(saved.name, "Roots");
    assert_eq!(saved.query().unwrap(), query);

    let mut builder = QueryBuilder::new();
    builder.import_json(&saved.query).unwrap();
    assert_eq!(builder.build(), Ok(query));
}

//! Values, JWT claims, secrets in Debug output, and malformed input.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{fixture, fixtures};
use tb_monitor::protocol::{
    AlarmCountQuery, AuthCmd, ClientMessage, EntityDataCmd, EntityDataPageLink, EntityDataQuery,
    EntityFilter, EntityKey, EntityType, JwtClaims, KeyFilter, LoginRequest, LoginResponse,
    NumericOperation, ProtocolError, RefreshTokenRequest, ServerMessage, SortDirection, TbValue,
    TsValue, WsCmd, format_java_double,
};

#[test]
fn java_number_forms_read_as_numbers() {
    let v = |s: &str| TbValue::new(s);
    assert_eq!(v("1.0E7").as_f64(), Some(1.0e7));
    assert_eq!(v("1.0E7").as_i64(), Some(10_000_000));
    assert_eq!(v("2.5E-3").as_f64(), Some(0.0025));
    assert_eq!(
        v("22.816666666666666").as_f64(),
        Some(22.816_666_666_666_666)
    );
    assert_eq!(v("42").as_i64(), Some(42));
    assert_eq!(v("-17").as_f64(), Some(-17.0));
    assert_eq!(v("42.0").as_i64(), Some(42));
    assert_eq!(v("42.5").as_i64(), None);
    assert_eq!(v("-Infinity").as_f64(), Some(f64::NEG_INFINITY));
    assert_eq!(v("Infinity").as_f64(), Some(f64::INFINITY));
    assert!(v("NaN").as_f64().is_some_and(f64::is_nan));
    assert_eq!(v("NaN").as_i64(), None);
}

#[test]
fn huge_and_non_numeric_values_never_panic_and_give_none_where_they_do_not_fit() {
    let v = |s: &str| TbValue::new(s);
    assert_eq!(v("123456789012345678901234567890").as_i64(), None);
    assert_eq!(
        v("123456789012345678901234567890").as_f64(),
        Some(1.234_567_890_123_456_8e29)
    );
    assert_eq!(v("9223372036854775807").as_i64(), Some(i64::MAX));
    assert_eq!(v("9223372036854775808").as_i64(), None);
    assert_eq!(v("1.0E19").as_i64(), None);
    assert_eq!(v("1e400").as_f64(), Some(f64::INFINITY));
    for s in [
        "",
        "abc",
        "inf",
        "nan",
        "infinity",
        "0x10",
        "1,5",
        "--1",
        "{\"a\":1}",
        "true",
    ] {
        assert_eq!(v(s).as_f64(), None, "{s:?} is not a number");
        assert_eq!(v(s).as_i64(), None, "{s:?} is not a whole number");
    }
}

#[test]
fn booleans_and_json_values_read_through_their_accessors() {
    assert_eq!(TbValue::new("true").as_bool(), Some(true));
    assert_eq!(TbValue::new("FALSE").as_bool(), Some(false));
    assert_eq!(TbValue::new("yes").as_bool(), None);
    let json = TbValue::new(r#"{"mode":"eco","setpoint":21.5}"#)
        .as_json()
        .expect("json");
    assert_eq!(json["mode"], "eco");
    assert!(TbValue::new("{not json").as_json().is_none());
}

#[test]
fn values_we_produce_are_formatted_like_java_doubles() {
    assert_eq!(format_java_double(23.5), "23.5");
    assert_eq!(format_java_double(42.0), "42.0");
    assert_eq!(format_java_double(0.001), "0.001");
    assert_eq!(format_java_double(1.0e7), "1.0E7");
    assert_eq!(format_java_double(1.5e-5), "1.5E-5");
    assert_eq!(format_java_double(-2.0e10), "-2.0E10");
    assert_eq!(format_java_double(f64::NAN), "NaN");
    assert_eq!(format_java_double(f64::NEG_INFINITY), "-Infinity");
    for x in [23.5, 1.0e7, 1.5e-5, -2.0e10, 0.1 + 0.2] {
        assert_eq!(
            TbValue::from_f64(x).as_f64(),
            Some(x),
            "{x} round-trips through text"
        );
    }
}

#[test]
fn bare_json_numbers_and_booleans_are_tolerated_and_encoded_back_the_same_way() {
    let v: TsValue = serde_json::from_str(r#"{"ts":1,"value":42}"#).expect("number value");
    assert_eq!(v.as_f64(), Some(42.0));
    assert_eq!(
        serde_json::to_string(&v).expect("encodes"),
        r#"{"ts":1,"value":42}"#
    );
    let v: TsValue = serde_json::from_str(r#"{"ts":1,"value":-2.5}"#).expect("float value");
    assert_eq!(v.as_f64(), Some(-2.5));
    assert_eq!(
        serde_json::to_string(&v).expect("encodes"),
        r#"{"ts":1,"value":-2.5}"#
    );
    let v: TsValue = serde_json::from_str(r#"{"ts":1,"value":true}"#).expect("bool value");
    assert_eq!(v.value.as_ref().and_then(TbValue::as_bool), Some(true));
    assert_eq!(
        serde_json::to_string(&v).expect("encodes"),
        r#"{"ts":1,"value":true}"#
    );
}

#[test]
fn jwt_claims_decode_from_the_token_payload() {
    let access = fixture("rest", "jwt_access.txt");
    let claims = JwtClaims::decode(&access).expect("decodes");
    assert_eq!(claims.sub.as_deref(), Some("tenant@thingsboard.org"));
    assert_eq!(claims.lifetime_secs(), 9000);
    assert_eq!(
        claims.scopes,
        vec![tb_monitor::protocol::Authority::TenantAdmin]
    );
    assert!(!claims.is_refresh_token());
    assert_eq!(claims.first_name.as_deref(), Some("Ada"));
    assert_eq!(
        claims.customer_id,
        Some(tb_monitor::protocol::NULL_UUID),
        "a tenant admin carries the NULL_UUID customer"
    );
    let refresh = JwtClaims::decode(&fixture("rest", "jwt_refresh.txt")).expect("decodes");
    assert!(refresh.is_refresh_token());
    assert_eq!(refresh.lifetime_secs(), 604_800);
    assert!(refresh.jti.is_some());
}

#[test]
fn malformed_jwts_give_errors_that_do_not_repeat_the_token() {
    let secret_looking = "eyJhbGciOiJIUzUxMiJ9.c2VjcmV0LXNlY3JldA.c2ln";
    for token in [
        "",
        "only-one-part",
        "a.b",
        "a.b.c.d",
        "eyJhbGciOiJIUzUxMiJ9.!!!.c2ln",
        secret_looking,
        "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2ln", // valid JSON, but no exp/iat
    ] {
        let err = JwtClaims::decode(token).expect_err("must fail");
        assert!(matches!(err, ProtocolError::Jwt(_)));
        let text = err.to_string();
        assert!(
            !text.contains("c2VjcmV0"),
            "error repeats the token: {text}"
        );
    }
}

#[test]
fn debug_output_never_shows_passwords_or_tokens() {
    let login = LoginRequest {
        username: "tenant@thingsboard.org".into(),
        password: "hunter2-secret".into(),
    };
    let pair = LoginResponse {
        token: "access-token-secret".into(),
        refresh_token: Some("refresh-token-secret".into()),
        scope: None,
    };
    let refresh = RefreshTokenRequest {
        refresh_token: "refresh-token-secret".into(),
    };
    let auth = AuthCmd::token("access-token-secret");
    let frame = ClientMessage::authenticated("access-token-secret", vec![]);
    for text in [
        format!("{login:?}"),
        format!("{pair:?}"),
        format!("{refresh:?}"),
        format!("{auth:?}"),
        format!("{frame:?}"),
    ] {
        assert!(!text.contains("secret"), "secret in Debug output: {text}");
    }
    assert!(format!("{login:?}").contains("tenant@thingsboard.org"));
}

#[test]
fn every_prefix_of_every_server_fixture_is_an_error_not_a_panic() {
    for (name, text) in fixtures("server") {
        let trimmed = text.trim_end();
        for cut in 0..trimmed.len() {
            if !trimmed.is_char_boundary(cut) {
                continue;
            }
            let prefix = &trimmed[..cut];
            assert!(
                ServerMessage::from_json(prefix).is_err(),
                "{name}: prefix of {cut} bytes decoded"
            );
        }
    }
}

#[test]
fn errors_name_the_shape_and_the_failing_field() {
    let text = r#"{"cmdId":1,"data":null,"update":[{"entityId":{"entityType":"DEVICE","id":"784f394c-42b6-435a-983c-b7beff2784f9"},"latest":{"TIME_SERIES":{"temperature":{"ts":"yesterday","value":"1"}}},"timeseries":null,"aggLatest":null}],"errorCode":0,"errorMsg":null,"allowedEntities":10000,"cmdUpdateType":"ENTITY_DATA"}"#;
    let err = ServerMessage::from_json(text).expect_err("ts is not a number");
    let ProtocolError::Invalid { shape, path, .. } = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(*shape, "ENTITY_DATA update");
    assert_eq!(path, "update[0].latest.TIME_SERIES.temperature.ts");
    assert!(
        err.to_string()
            .contains("update[0].latest.TIME_SERIES.temperature.ts")
    );

    let err = ServerMessage::from_json(r#"{"cmdId":"one","count":1,"cmdUpdateType":"COUNT_DATA"}"#)
        .expect_err("cmdId is a string");
    assert!(
        matches!(&err, ProtocolError::Invalid { shape: "COUNT_DATA update", path, .. } if path == "cmdId"),
        "{err:?}"
    );

    let err = ServerMessage::from_json(r#"{"subscriptionId":1,"errorCode":0,"data":{"t":[[1]]}}"#)
        .expect_err("a point needs two elements");
    assert!(
        matches!(&err, ProtocolError::Invalid { shape: "v1 subscription update", path, .. } if path.starts_with("data.t[0]")),
        "{err:?}"
    );

    let err =
        ServerMessage::from_json(r#"{"cmdId":1,"cmdUpdateType":7}"#).expect_err("type is a number");
    assert!(
        matches!(&err, ProtocolError::Invalid { path, .. } if path == "cmdUpdateType"),
        "{err:?}"
    );
}

#[test]
fn wrong_types_huge_numbers_and_odd_documents_are_errors() {
    let cases: &[(&str, &str)] = &[
        ("not json", "{nope"),
        ("empty", ""),
        ("array", "[1,2,3]"),
        ("string", "\"ENTITY_DATA\""),
        ("no discriminator", r#"{"cmdId":1,"count":2}"#),
        (
            "cmdId overflows i32",
            r#"{"cmdId":3000000000,"count":1,"cmdUpdateType":"COUNT_DATA"}"#,
        ),
        (
            "cmdId in exponent form",
            r#"{"cmdId":1e30,"count":1,"cmdUpdateType":"COUNT_DATA"}"#,
        ),
        (
            "ts overflows i64",
            r#"{"subscriptionId":1,"errorCode":0,"data":{"t":[[99999999999999999999,"1"]]}}"#,
        ),
        (
            "count is a string",
            r#"{"cmdId":1,"count":"2","cmdUpdateType":"ALARM_COUNT_DATA"}"#,
        ),
        (
            "update is an object",
            r#"{"cmdId":1,"update":{},"cmdUpdateType":"ENTITY_DATA"}"#,
        ),
        (
            "bad uuid",
            r#"{"cmdId":1,"update":[{"entityId":{"entityType":"DEVICE","id":"not-a-uuid"}}],"cmdUpdateType":"ENTITY_DATA"}"#,
        ),
        (
            "trailing garbage",
            r#"{"cmdId":1,"count":1,"cmdUpdateType":"COUNT_DATA"} x"#,
        ),
        (
            "bad utf-16 escape",
            r#"{"cmdId":1,"errorMsg":"\ud800","count":1,"cmdUpdateType":"COUNT_DATA"}"#,
        ),
    ];
    for (what, text) in cases {
        assert!(
            ServerMessage::from_json(text).is_err(),
            "{what} decoded: {text}"
        );
    }
    assert!(matches!(
        ServerMessage::from_json("[1]"),
        Err(ProtocolError::NotAnObject { found: "array" })
    ));
    assert!(matches!(
        ServerMessage::from_json(r#"{"cmdId":1}"#),
        Err(ProtocolError::UnknownShape)
    ));
}

#[test]
fn deeply_nested_input_is_refused_without_exhausting_the_stack() {
    let deep = format!(
        r#"{{"cmdId":1,"cmdUpdateType":"ALARM_DATA","update":[{{"details":{}{}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(ServerMessage::from_json(&deep).is_err());
    let deep_v1 = format!(
        r#"{{"subscriptionId":1,"x":{}{}}}"#,
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    assert!(ServerMessage::from_json(&deep_v1).is_err());
}

#[test]
fn builders_make_the_common_queries_short_and_encode_as_the_server_expects() {
    let query = EntityDataQuery::new(
        EntityFilter::devices_of_types(["thermostat"]),
        EntityDataPageLink::first(20).sorted_by(EntityKey::field("name"), SortDirection::Asc),
    )
    .with_fields(["name", "label"])
    .with_time_series(["temperature"])
    .with_key_filter(KeyFilter::numeric(
        EntityKey::time_series("temperature"),
        NumericOperation::Greater,
        30.0,
    ));
    let cmd = EntityDataCmd::query(1, query.clone())
        .with_latest(vec![EntityKey::time_series("temperature")]);
    let frame = ClientMessage::authenticated("tok", vec![WsCmd::EntityData(cmd)]);
    let json: serde_json::Value =
        serde_json::from_str(&frame.to_json().expect("encodes")).expect("json");
    let c = &json["cmds"][0];
    assert_eq!(c["type"], "ENTITY_DATA");
    assert_eq!(c["cmdId"], 1);
    assert_eq!(c["query"]["entityFilter"]["type"], "deviceType");
    assert_eq!(c["query"]["entityFilter"]["deviceTypes"][0], "thermostat");
    assert_eq!(
        c["query"]["pageLink"]["sortOrder"]["key"]["type"],
        "ENTITY_FIELD"
    );
    assert_eq!(c["query"]["keyFilters"][0]["predicate"]["type"], "NUMERIC");
    assert_eq!(
        c["query"]["keyFilters"][0]["predicate"]["value"]["defaultValue"],
        30.0
    );
    assert_eq!(c["latestCmd"]["keys"][0]["key"], "temperature");
    assert_eq!(json["authCmd"]["cmdId"], 0);
    assert_eq!(json["authCmd"]["token"], "tok");
    assert!(c.get("tsCmd").is_none(), "absent sub-commands are not sent");

    let count = query.count_query();
    assert_eq!(count.entity_filter, query.entity_filter);
    let badge = serde_json::to_value(AlarmCountQuery::active_unacknowledged()).expect("encodes");
    assert_eq!(badge["statusList"], serde_json::json!(["ACTIVE", "UNACK"]));
    let single = serde_json::to_value(EntityFilter::single(tb_monitor::protocol::EntityId::new(
        EntityType::Device,
        uuid::Uuid::nil(),
    )))
    .expect("encodes");
    assert_eq!(single["type"], "singleEntity");
    assert_eq!(single["singleEntity"]["entityType"], "DEVICE");
}

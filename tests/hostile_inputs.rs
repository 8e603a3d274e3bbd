//! Hostile input for the five decoders of outside data: the WebSocket message decoder
//! ([`ServerMessage::from_json`]), the REST error decoder ([`RestError::from_json`]), the JWT
//! claims decoder ([`JwtClaims::decode`]), the settings file ([`Settings::from_toml_bytes`])
//! and imported query JSON ([`QueryBuilder::from_json`], `watch::parse_query`).
//!
//! The rules every decoder follows, checked here: no panic; an error that names what failed
//! (the field, the shape or what was expected); memory bounded by a small multiple of the
//! input. Hostile values: huge numbers, 10,000-deep nesting, 10 MB strings, invalid UTF-8,
//! unknown enum names, negative and overflowing timestamps, and decoded hostile messages fed
//! to [`Store::apply`].
//!
//! The properties run the fuzz targets' bodies (`fuzz/targets.rs`, which assert their own
//! invariants) on generated input, [`CASES`] cases each from a fixed seed, so a CI debug
//! build runs the same cases within a few seconds (`PROPTEST_RNG_SEED=<n>` explores others). Peak heap is measured by a counting `#[global_allocator]` in this file, per
//! thread (the test harness runs tests on several threads at once).

// The counting allocator implements `GlobalAlloc`, an unsafe trait.
#![allow(unsafe_code)]
// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../fuzz/targets.rs"]
mod targets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use base64::Engine as _;
use proptest::collection::vec;
use proptest::prelude::*;
use tb_monitor::net::event::{ConnState, NetEvent};
use tb_monitor::net::tokens::Tokens;
use tb_monitor::plot::aggregate::AggSpec;
use tb_monitor::protocol::{
    Aggregation, AlarmSeverity, AlarmStatus, EntityId, EntityType, JwtClaims, NotificationType,
    RestError, ServerMessage, ThingsboardErrorCode,
};
use tb_monitor::settings::{Settings, SettingsFile, ThemePref};
use tb_monitor::store::{Store, SubData};
use tb_monitor::ui::query::QueryBuilder;
use uuid::Uuid;

/// Cases per property: enough to reach past the first error of each decoder, few enough for
/// a debug build in CI.
const CASES: u32 = 256;

/// The size of a "huge" string value.
const TEN_MB: usize = 10 << 20;

/// Numbers that fit no field: out of `f64` range, one past `u64::MAX`, one below `i64::MIN`.
const HUGE_NUMBERS: [&str; 4] = [
    "1e999",
    "-1e999",
    "18446744073709551616",
    "-9223372036854775809",
];

// ---------------------------------------------------------------------------------------------
// Peak heap, per thread.

/// Counts the bytes live on each thread and their peak; the system allocator does the work.
struct Counting;

#[global_allocator]
static COUNTING: Counting = Counting;

thread_local! {
    // `const` and without `Drop`: reading them never allocates, as an allocator needs.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().wrapping_add(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

// SAFETY: every call is passed to `System` unchanged; the counting touches no memory of it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(signed(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(signed(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        count(-signed(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, and the caller's contract is `System.realloc`'s.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Counted as a copy: the old and new blocks are both live for a moment.
            count(signed(new_size));
            count(-signed(layout.size()));
        }
        new
    }
}

/// Runs `f` and returns its result with the most heap it had allocated at once on this
/// thread (what it returns included).
fn peak_heap<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let result = f();
    let peak = PEAK.with(Cell::get).saturating_sub(start);
    (result, usize::try_from(peak).unwrap_or(0))
}

/// The bound for decoding `input_len` bytes: 8 times the input, plus 1 MiB of fixed costs.
fn assert_heap_bounded(what: &str, input_len: usize, peak: usize) {
    assert!(
        peak <= 8 * input_len + (1 << 20),
        "{what}: {peak} bytes of heap for {input_len} bytes of input ({:.1}x)",
        ratio(peak, input_len)
    );
}

#[allow(clippy::cast_precision_loss)]
fn ratio(peak: usize, input_len: usize) -> f64 {
    peak as f64 / input_len.max(1) as f64
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A JWT whose payload is `payload` (the signature is not checked by the client).
fn jwt(payload: &str) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "eyJhbGciOiJIUzUxMiJ9.{}.c2lnbmF0dXJl",
        engine.encode(payload)
    )
}

fn count_data(cmd_id: &str, count: &str) -> String {
    format!(r#"{{"cmdId":{cmd_id},"count":{count},"cmdUpdateType":"COUNT_DATA"}}"#)
}

fn v1_point(ts: &str) -> String {
    format!(r#"{{"subscriptionId":1,"errorCode":0,"data":{{"t":[[{ts},"1"]]}}}}"#)
}

fn latest_point(entity_type: &str, ts: &str) -> String {
    format!(
        r#"{{"cmdId":1,"cmdUpdateType":"ENTITY_DATA","update":[{{"entityId":{{"entityType":"{entity_type}","id":"00000000-0000-0000-0000-000000000001"}},"latest":{{"TIME_SERIES":{{"t":{{"ts":{ts},"value":"1"}}}}}}}}]}}"#
    )
}

fn rest_error(error_code: &str, timestamp: &str) -> String {
    format!(r#"{{"status":401,"message":"m","errorCode":{error_code},"timestamp":{timestamp}}}"#)
}

fn entity_query(page_size: &str) -> String {
    format!(
        r#"{{"entityFilter":{{"type":"entityType","entityType":"DEVICE"}},"pageLink":{{"pageSize":{page_size},"page":0}}}}"#
    )
}

fn ws_err(text: &str) -> String {
    ServerMessage::from_json(text).expect_err(text).to_string()
}

/// Asserts that `message` contains every one of `words`.
fn assert_names(message: &str, words: &[&str]) {
    for word in words {
        assert!(message.contains(word), "{message:?} names {word:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies: server messages (from tests/protocol_proptest.rs, with few entities and keys so
// that messages meet in the store, and hostile i64s).

// ---------------------------------------------------------------------------------------------
// Strategies: server messages (tests/common/strategies.rs), with few entities and keys so that
// messages meet in the store, and hostile i64s.

#[path = "common/strategies.rs"]
mod strategies;

use knobs::text;
use strategies::server_message;

/// Hostile integers, a few entities, mostly a few keys.
mod knobs {
    use proptest::prelude::*;

    pub fn i64s() -> BoxedStrategy<i64> {
        super::hostile_i64().boxed()
    }

    /// A few entities, so that messages about the same one meet in the store.
    pub fn uuids() -> BoxedStrategy<u128> {
        (0..4_u128).boxed()
    }

    /// Mostly a few keys (so series and values meet), sometimes any text.
    pub fn text() -> BoxedStrategy<String> {
        prop_oneof![
            3 => "[a-c]",
            1 => "[a-zA-Z0-9 _.-]{0,12}",
            1 => any::<String>(),
            1 => Just("\"quoted\" \\ back\\slash \n newline \u{1F600}".to_owned()),
        ]
        .boxed()
    }
}

// ---------------------------------------------------------------------------------------------
// Huge and overflowing numbers.

#[test]
fn numbers_past_every_range_are_refused_naming_the_field_or_the_number() {
    for n in HUGE_NUMBERS {
        let out_of_f64 = n.contains('e');
        // Past f64 is a JSON syntax error with its column; past i64 fails on the field.
        let ws = |text: &str, path: &str| {
            let message = ws_err(text);
            if out_of_f64 {
                assert_names(
                    &message,
                    &["not valid JSON", "number out of range", "column"],
                );
            } else {
                assert_names(&message, &[&format!("at `{path}`"), "expected i"]);
            }
        };
        ws(&count_data(n, "1"), "cmdId");
        ws(&count_data("1", n), "count");
        ws(&v1_point(n), "data.t[0][0]");
        ws(
            &latest_point("DEVICE", n),
            "update[0].latest.TIME_SERIES.t.ts",
        );

        for (text, field) in [
            (rest_error(n, "1"), "errorCode"),
            (rest_error("10", n), "timestamp"),
        ] {
            let message = RestError::from_json(&text).expect_err(&text).to_string();
            if out_of_f64 {
                assert_names(&message, &["number out of range", "column"]);
            } else {
                assert_names(
                    &message,
                    &["REST error", &format!("at `{field}`"), "expected i64"],
                );
            }
        }

        let token = jwt(&format!(r#"{{"exp":{n},"iat":1}}"#));
        let message = JwtClaims::decode(&token).expect_err(n).to_string();
        if out_of_f64 {
            assert_names(
                &message,
                &["invalid JWT: payload: ", "number out of range", "column"],
            );
        } else {
            assert_names(
                &message,
                &[
                    "invalid JWT: payload field `exp`: ",
                    "expected i64",
                    "column",
                ],
            );
        }
        assert!(!message.contains(&token), "{message}");

        let message = Settings::from_toml_str(&format!("theme = \"dark\"\nmax_frame_rate = {n}\n"))
            .expect_err(n);
        assert_names(&message, &["could not be read (line 2: "]);
        assert!(
            message.contains("overflowed") || message.contains("expected u32"),
            "{message}"
        );

        let message = QueryBuilder::from_json(&entity_query(n))
            .expect_err(n)
            .to_string();
        if out_of_f64 {
            assert_names(&message, &["not JSON", "number out of range", "column"]);
        } else {
            assert_names(
                &message,
                &["entity data query", "pageLink.pageSize", "expected i32"],
            );
        }
    }
}

#[test]
fn the_largest_and_smallest_numbers_in_range_decode_and_keep_their_value() {
    for ts in [i64::MIN, -1, i64::MAX] {
        let msg = ServerMessage::from_json(&v1_point(&ts.to_string())).unwrap();
        let ServerMessage::Telemetry(t) = msg else {
            panic!("{msg:?}")
        };
        assert_eq!(t.data.unwrap()["t"][0].0, ts);
        let msg = ServerMessage::from_json(&count_data("-1", &ts.to_string())).unwrap();
        assert!(matches!(msg, ServerMessage::EntityCount(c) if c.count == ts));

        let err = RestError::from_json(&rest_error(&ts.to_string(), &ts.to_string())).unwrap();
        assert_eq!(err.error_code, ThingsboardErrorCode::Unknown(ts));
        assert_eq!(err.timestamp, ts);
    }

    // The settings clamp what a type holds but the app cannot use, and say so.
    let mut settings = Settings::from_toml_str(
        "max_frame_rate = 4294967295\n[limits]\npoints_per_series = 9223372036854775807\n",
    )
    .unwrap();
    let notes = settings.normalize();
    assert_eq!(settings.max_frame_rate, 120);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_names(
        &notes.join("\n"),
        &["frame rate", "4294967295", "Points kept per series"],
    );

    // A negative page size imports; building the query names the problem in words.
    let builder = QueryBuilder::from_json(&entity_query("-1")).unwrap();
    let problems = builder.to_json().unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("-1 is out of range")),
        "{problems:?}"
    );
}

#[test]
fn token_times_of_extreme_claims_saturate_instead_of_overflowing() {
    let cases = [
        (i64::MIN, i64::MAX),
        (i64::MAX, i64::MIN),
        (i64::MIN, i64::MIN),
        (-1, 0),
    ];
    for (exp, iat) in cases {
        let token = jwt(&format!(r#"{{"exp":{exp},"iat":{iat}}}"#));
        for now in [i64::MIN, 0, 1_700_000_000_000, i64::MAX] {
            let tokens = Tokens::new(token.clone(), Some(token.clone()), now).unwrap();
            assert!(tokens.lifetime_ms() >= 0, "{exp} {iat}");
            assert!(tokens.expires_at_ms() >= now, "{exp} {iat} {now}");
            assert!(tokens.refresh_due_at_ms() >= now, "{exp} {iat} {now}");
            let dead = exp <= iat;
            assert!(
                !dead || !tokens.is_valid_at(now),
                "a token with exp <= iat is never valid"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deep nesting.

#[test]
fn nesting_ten_thousand_deep_is_refused_or_skipped_without_exhausting_the_stack() {
    const DEPTH: usize = 10_000;
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(DEPTH), "}".repeat(DEPTH));
    // Every case stays far from the stack (1 MiB on CI's test threads would overflow at a few
    // thousand frames of recursion) and within a few MiB of heap.
    let bounded = |what: &str, peak: usize| {
        assert!(peak < 8 << 20, "{what}: {peak} bytes of heap");
    };

    for deep in [&arrays, &objects] {
        for text in [
            // Typed fields go through serde_json's recursion limit (128)...
            format!(
                r#"{{"cmdId":1,"cmdUpdateType":"ALARM_DATA","update":[{{"details":{deep}}}]}}"#
            ),
            // ...and so do unknown messages, kept as a `Value`.
            format!(r#"{{"cmdId":1,"cmdUpdateType":"FUTURE","x":{deep}}}"#),
        ] {
            let (message, peak) = peak_heap(|| ws_err(&text));
            assert_names(&message, &["recursion limit exceeded"]);
            bounded("ws", peak);
        }
        let (message, peak) = peak_heap(|| {
            QueryBuilder::from_json(&format!(r#"{{"type":"entityType","x":{deep}}}"#))
                .unwrap_err()
                .to_string()
        });
        assert_names(&message, &["not JSON", "recursion limit exceeded"]);
        bounded("query", peak);
        let message =
            tb_monitor::watch::parse_query(&format!(r#"{{"cmds":[{deep}]}}"#)).unwrap_err();
        assert_names(&message, &["not a cmds frame"]);

        // An unknown field is skipped without recursion (serde_json's `IgnoredAny`).
        let (decoded, peak) =
            peak_heap(|| RestError::from_json(&format!(r#"{{"errorCode":10,"x":{deep}}}"#)));
        assert_eq!(
            decoded.unwrap().error_code,
            ThingsboardErrorCode::Authentication
        );
        bounded("rest", peak);
        let (claims, peak) =
            peak_heap(|| JwtClaims::decode(&jwt(&format!(r#"{{"exp":2,"iat":1,"x":{deep}}}"#))));
        assert_eq!(claims.unwrap().lifetime_secs(), 1);
        bounded("jwt", peak);
        // A known field of the wrong shape fails at its first level.
        let message = RestError::from_json(&format!(r#"{{"errorCode":10,"message":{deep}}}"#))
            .unwrap_err()
            .to_string();
        assert_names(&message, &["at `message`", "expected a string"]);
    }

    let dotted = vec!["a"; DEPTH].join(".");
    for text in [
        format!("a = {}{}", "[".repeat(DEPTH), "]".repeat(DEPTH)),
        format!("a = {}1{}", "{a = ".repeat(DEPTH), "}".repeat(DEPTH)),
        format!("theme = {}{}", "[".repeat(DEPTH), "]".repeat(DEPTH)),
        format!("{dotted} = 1"),
        format!("[{dotted}]"),
        format!("[[{dotted}]]"),
    ] {
        let (message, peak) = peak_heap(|| Settings::from_toml_str(&text).unwrap_err());
        assert_names(&message, &["could not be read (", "recursion"]);
        bounded("settings", peak);
    }
}

// ---------------------------------------------------------------------------------------------
// 10 MB strings.

#[test]
fn ten_megabyte_strings_decode_with_the_heap_within_eight_times_the_input() {
    let big = "x".repeat(TEN_MB);
    let entity = r#"{"entityType":"DEVICE","id":"00000000-0000-0000-0000-000000000001"}"#;
    let ws_cases = [
        format!(
            r#"{{"cmdId":1,"count":1,"errorCode":1,"errorMsg":"{big}","cmdUpdateType":"COUNT_DATA"}}"#
        ),
        format!(
            r#"{{"cmdId":1,"cmdUpdateType":"ENTITY_DATA","update":[{{"entityId":{entity},"latest":{{"TIME_SERIES":{{"t":{{"ts":1,"value":"{big}"}}}}}}}}]}}"#
        ),
        format!(r#"{{"subscriptionId":1,"errorCode":0,"data":{{"t":[[1,"{big}"]]}}}}"#),
        format!(r#"{{"cmdId":1,"x":"{big}","cmdUpdateType":"FUTURE"}}"#),
        format!(r#"{{"cmdId":1,"{big}":1,"count":1,"cmdUpdateType":"COUNT_DATA"}}"#),
    ];
    for text in &ws_cases {
        let (msg, peak) = peak_heap(|| ServerMessage::from_json(text));
        assert!(msg.is_ok(), "{:?}", msg.map_err(|e| e.to_string().len()));
        assert_heap_bounded("ws", text.len(), peak);
    }

    let text = format!(r#"{{"status":401,"message":"{big}","errorCode":10}}"#);
    let (err, peak) = peak_heap(|| RestError::from_json(&text));
    assert_eq!(err.unwrap().message_or_default().len(), TEN_MB);
    assert_heap_bounded("rest", text.len(), peak);

    let token = jwt(&format!(r#"{{"exp":2,"iat":1,"sub":"{big}"}}"#));
    let (claims, peak) = peak_heap(|| JwtClaims::decode(&token));
    assert_eq!(claims.unwrap().sub.map(|s| s.len()), Some(TEN_MB));
    assert_heap_bounded("jwt", token.len(), peak);

    let text = format!("[[profiles]]\nname = \"{big}\"\nurl = \"https://tb.example.com\"\n");
    let (settings, peak) = peak_heap(|| Settings::from_toml_str(&text));
    assert_eq!(settings.unwrap().profiles[0].name.len(), TEN_MB);
    assert_heap_bounded("settings", text.len(), peak);

    let text =
        format!(r#"{{"type":"entityName","entityType":"DEVICE","entityNameFilter":"{big}"}}"#);
    let (builder, peak) = peak_heap(|| QueryBuilder::from_json(&text));
    assert!(builder.is_ok());
    assert_heap_bounded("query", text.len(), peak);
}

/// Asserts that an error quoting a 10 MB value stays short (it ends up in events, logs and
/// windows) and keeps the start and the end of the value around a `…`.
fn assert_short(what: &str, message: &str) {
    assert!(message.len() < 1024, "{what}: {} bytes", message.len());
    assert_names(message, &["xxx…xxx"]);
}

#[test]
fn ten_megabyte_strings_where_another_type_belongs_are_refused_naming_the_field() {
    let big = "x".repeat(TEN_MB);
    let text = count_data("1", &format!("\"{big}\""));
    let (message, peak) = peak_heap(|| ws_err(&text));
    assert_names(&message, &["COUNT_DATA", "at `count`", "expected i64"]);
    assert_short("ws", &message);
    assert_heap_bounded("ws", text.len(), peak);

    // A 10 MB key is part of the failing field's path.
    let text = format!(
        r#"{{"cmdId":1,"cmdUpdateType":"ENTITY_DATA","update":[{{"entityId":{{"entityType":"DEVICE","id":"00000000-0000-0000-0000-000000000001"}},"latest":{{"TIME_SERIES":{{"{big}":{{"ts":"{big}","value":"1"}}}}}}}}]}}"#
    );
    let (message, peak) = peak_heap(|| ws_err(&text));
    assert_names(
        &message,
        &[
            "at `update[0].latest.TIME_SERIES.xxx",
            "xxx.ts`",
            "expected i64",
        ],
    );
    assert_short("ws key", &message);
    assert_heap_bounded("ws key", text.len(), peak);

    let text = rest_error(&format!("\"{big}\""), "1");
    let (err, peak) = peak_heap(|| RestError::from_json(&text).unwrap_err().to_string());
    assert_names(&err, &["REST error", "at `errorCode`", "expected i64"]);
    assert_short("rest", &err);
    assert_heap_bounded("rest", text.len(), peak);

    let token = jwt(&format!(r#"{{"exp":"{big}","iat":1}}"#));
    let (err, peak) = peak_heap(|| JwtClaims::decode(&token).unwrap_err().to_string());
    assert_names(
        &err,
        &["invalid JWT: payload field `exp`: ", "expected i64"],
    );
    assert_short("jwt", &err);
    assert_heap_bounded("jwt", token.len(), peak);

    // The settings notices are shown in a window. A value of the wrong type sets the file
    // aside...
    let text = format!("theme = \"dark\"\nauto_login = \"{big}\"\n");
    let (err, peak) = peak_heap(|| Settings::from_toml_str(&text).unwrap_err());
    assert_names(
        &err,
        &["line 2", "invalid type: string", "expected a boolean"],
    );
    assert_short("settings", &err);
    assert_heap_bounded("settings", text.len(), peak);
    // ...an unknown choice falls back to the default with a note.
    let text = format!("auto_login = false\ntheme = \"{big}\"\n");
    let (read, peak) = peak_heap(|| Settings::from_toml_str_with_notes(&text));
    let (settings, notes) = read.unwrap();
    assert!(!settings.auto_login);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_names(
        &notes[0],
        &[
            "`theme` on line 2",
            "unknown variant",
            "expected one of `dark`, `light`, `system`",
            "the default \"system\" is used",
        ],
    );
    assert_short("settings choice", &notes[0]);
    assert_heap_bounded("settings choice", text.len(), peak);

    let text = format!(
        r#"{{"type":"entityName","entityType":"DEVICE","entityNameFilter":[],"x":"{big}"}}"#
    );
    let (err, peak) = peak_heap(|| QueryBuilder::from_json(&text).unwrap_err().to_string());
    assert_names(&err, &["entity filter is not valid", "expected a string"]);
    assert!(err.len() < 1024, "query: {} bytes", err.len());
    assert_heap_bounded("query", text.len(), peak);
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8.

/// Bytes that are not UTF-8 inside otherwise good documents: a lone continuation byte, an
/// overlong `/`, an encoded surrogate, a truncated sequence at the end, `0xFF`.
fn not_utf8() -> Vec<Vec<u8>> {
    let good = count_data("1", "1");
    let mut cases = Vec::new();
    for bad in [&b"\x80"[..], b"\xc0\xaf", b"\xed\xa0\x80", b"\xff"] {
        let mut bytes = good.clone().into_bytes();
        bytes.splice(1..1, bad.iter().copied());
        cases.push(bytes);
    }
    let mut truncated = "{\"cmdId\":1,\"errorMsg\":\"é".as_bytes().to_vec();
    truncated.pop();
    cases.push(truncated);
    cases
}

#[test]
fn bytes_that_are_not_utf8_are_refused_before_the_text_decoders() {
    use tokio_tungstenite::tungstenite::Utf8Bytes;
    for bytes in not_utf8() {
        // The client's socket: a text frame is checked as UTF-8 before the decoder sees it.
        assert!(Utf8Bytes::try_from(bytes.clone()).is_err(), "{bytes:?}");
        assert!(std::str::from_utf8(&bytes).is_err());
        // The fuzz targets take the same path: refused, nothing decoded.
        for (name, target) in targets::TARGETS {
            assert!(!target(&bytes), "{name} decoded {bytes:?}");
        }
        // Where bytes are replaced instead (reqwest's `text()`), the decoders see U+FFFD.
        let lossy = String::from_utf8_lossy(&bytes);
        assert!(RestError::from_json(&lossy).is_err());
        let _ = ServerMessage::from_json(&lossy);
        let message = Settings::from_toml_bytes(&bytes).unwrap_err();
        assert_eq!(message, "is not a text file (it is not UTF-8)");
    }
    // A query file that is not UTF-8 is refused when read as text, as the app and `watch` do.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("query.json");
    std::fs::write(&path, &not_utf8()[0]).unwrap();
    let err = std::fs::read_to_string(&path).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn a_settings_file_that_is_not_utf8_is_kept_aside_byte_for_byte_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let file = SettingsFile::new(dir.path().join("settings.toml"));
    let mut corrupt = b"theme = \"dark\"\n[[profiles]]\nname = \"".to_vec();
    corrupt.extend_from_slice(b"\xff\xfe plant\"\n");
    std::fs::write(file.path(), &corrupt).unwrap();

    let loaded = file.load();

    assert_eq!(loaded.settings, Settings::default());
    let notice = loaded.notice.unwrap();
    assert_names(
        &notice,
        &["not a text file", "not UTF-8", "settings.toml.bak-"],
    );
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(
        notice.contains(&backups[0].display().to_string()),
        "{notice}"
    );
    assert_eq!(std::fs::read(&backups[0]).unwrap(), corrupt);

    // Saving writes a new file next to the backup and leaves the backup alone.
    file.save(&Settings::default()).unwrap();
    assert_eq!(std::fs::read(&backups[0]).unwrap(), corrupt);
    let again = file.load();
    assert_eq!(again.notice, None);

    // A corrupt file that appears before a save is set aside too, not overwritten.
    std::fs::write(file.path(), &corrupt).unwrap();
    file.save(&Settings::default()).unwrap();
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| std::fs::read(e.as_ref().unwrap().path()).unwrap() == corrupt)
        .count();
    assert_eq!(kept, 2, "both corrupt files are kept");
}

// ---------------------------------------------------------------------------------------------
// Unknown enum names.

#[test]
fn unknown_enum_names_are_kept_as_the_protocol_reference_says() {
    // §4: "deserialize unknown names leniently: new types get added every release".
    let msg = ServerMessage::from_json(&latest_point("SPACESHIP", "1")).unwrap();
    let ServerMessage::EntityData(update) = msg else {
        panic!("{msg:?}")
    };
    let entity = &update.update.unwrap()[0].entity_id;
    assert_eq!(
        entity.entity_type,
        EntityType::Unknown("SPACESHIP".to_owned())
    );

    let msg = ServerMessage::from_json(r#"{"cmdId":7,"cmdUpdateType":"FUTURE","x":[1]}"#).unwrap();
    let ServerMessage::Unknown(unknown) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(unknown.cmd_update_type(), "FUTURE");
    assert_eq!(msg.cmd_id(), Some(7));

    let alarm = r#"{"cmdId":1,"cmdUpdateType":"ALARM_DATA","update":[{"id":{"entityType":"ALARM","id":"00000000-0000-0000-0000-000000000002"},"createdTime":-1,"type":"t","originator":{"entityType":"DEVICE","id":"00000000-0000-0000-0000-000000000001"},"severity":"APOCALYPTIC","status":"ON_FIRE","acknowledged":false,"cleared":false,"startTs":0,"endTs":0,"ackTs":0,"clearTs":0,"assignTs":0,"propagate":false,"propagateToOwner":false,"propagateToTenant":false}]}"#;
    let msg = ServerMessage::from_json(alarm).unwrap();
    let ServerMessage::AlarmData(update) = msg else {
        panic!("{msg:?}")
    };
    let alarm = &update.update.unwrap()[0];
    assert_eq!(
        alarm.severity,
        AlarmSeverity::Unknown("APOCALYPTIC".to_owned())
    );
    assert_eq!(
        alarm.status,
        Some(AlarmStatus::Unknown("ON_FIRE".to_owned()))
    );

    let err = RestError::from_json(r#"{"status":418,"errorCode":999}"#).unwrap();
    assert_eq!(err.error_code, ThingsboardErrorCode::Unknown(999));
    assert_eq!(err.error_code.code(), 999);

    let claims = JwtClaims::decode(&jwt(r#"{"exp":2,"iat":1,"scopes":["SPACE_ADMIN"]}"#)).unwrap();
    assert_eq!(claims.scopes.len(), 1);
    assert!(!claims.is_refresh_token());

    // The settings keep unknown notification types, and fall back from an unknown severity
    // or an unknown choice (a theme of a newer version) with a note naming the value and the
    // choices; the rest of the file is kept.
    let mut settings = Settings::from_toml_str(
        "[notifications]\nmin_severity = \"APOCALYPTIC\"\n[inbox]\nmuted_types = [\"SPACE_WEATHER\"]\n",
    )
    .unwrap();
    assert_eq!(
        settings.inbox.muted_types,
        [NotificationType::Unknown("SPACE_WEATHER".to_owned())]
    );
    let notes = settings.normalize();
    assert_names(&notes.join(" "), &["APOCALYPTIC", "is not known"]);
    let (settings, notes) =
        Settings::from_toml_str_with_notes("theme = \"purple\"\n[inbox]\ntray_limit = 7\n")
            .unwrap();
    assert_eq!(settings.theme, ThemePref::default());
    assert_eq!(settings.inbox.tray_limit, 7);
    assert_names(
        &notes.join(" "),
        &[
            "`theme` on line 1",
            "`purple`",
            "expected one of `dark`, `light`, `system`",
        ],
    );

    // An imported filter keeps an unknown entity type; an unknown filter type is refused
    // with the list of the known ones.
    let builder =
        QueryBuilder::from_json(r#"{"type":"entityType","entityType":"SPACESHIP"}"#).unwrap();
    assert!(builder.to_json().unwrap().contains("\"SPACESHIP\""));
    let message = QueryBuilder::from_json(r#"{"type":"spaceshipFilter"}"#)
        .unwrap_err()
        .to_string();
    assert_names(
        &message,
        &[
            "entity filter",
            "`spaceshipFilter`",
            "expected one of",
            "entityName",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Timestamps through the store.

#[test]
fn negative_and_extreme_timestamps_reach_the_store_and_its_series_without_panic() {
    let mut store = Store::new();
    let device = EntityId::new(EntityType::Device, Uuid::from_u128(1));
    store.track_v1_series(2, device.clone());
    store.set_aggregation(
        1,
        Some(AggSpec {
            agg: Aggregation::Avg,
            start_ms: i64::MIN,
            interval_ms: 60_000,
        }),
    );
    let extremes = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
    for (i, ts) in extremes.into_iter().enumerate() {
        let series = format!(
            r#"{{"cmdId":1,"cmdUpdateType":"ENTITY_DATA","update":[{{"entityId":{{"entityType":"DEVICE","id":"00000000-0000-0000-0000-000000000001"}},"timeseries":{{"t":[{{"ts":{ts},"value":"{i}"}},{{"ts":{ts},"value":"2.5","count":{ts}}}]}}}}]}}"#
        );
        for (sub, text) in [
            (0, latest_point("DEVICE", &ts.to_string())),
            (1, series.clone()),
            (2, v1_point(&ts.to_string())),
            (3, count_data("1", &ts.to_string())),
        ] {
            let msg = ServerMessage::from_json(&text).unwrap();
            for now in [ts, i64::MIN, i64::MAX] {
                store.apply(
                    NetEvent::Message {
                        sub,
                        msg: Box::new(msg.clone()),
                    },
                    now,
                );
            }
        }
        store.apply(
            NetEvent::Gap {
                sub: 1,
                from_ms: ts,
                to_ms: i64::MIN,
            },
            ts,
        );
    }
    assert!(matches!(store.subs.get(&0), Some(SubData::Entities(_))));
    assert!(!store.series.is_empty());
    read_every_series(&mut store);
}

/// What the plots ask of a series: decimated points over its range, the grid, breaks.
fn read_every_series(store: &mut Store) {
    for buffer in store.series.values_mut() {
        let Some((lo, hi)) = buffer.range() else {
            continue;
        };
        let _ = buffer.decimate(lo, hi, 64);
        let bucket = (hi / 64).saturating_sub(lo / 64).max(1);
        let _ = buffer.decimate_grid(lo, hi, bucket);
        let _ = (
            buffer.breaks(Some(60_000)),
            buffer.nearest(lo),
            buffer.latest(),
        );
        let _ = buffer.points_in(lo, hi).count();
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Numbers at and past the edges of every type, as JSON literals.
const JSON_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1.5",
    "1e999",
    "-1e999",
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "-9223372036854775808",
    "2147483648",
];

/// Field names of the five formats, so that generated objects reach past the first field.
const JSON_KEYS: &[&str] = &[
    "cmdId",
    "cmdUpdateType",
    "subscriptionId",
    "errorCode",
    "errorMsg",
    "data",
    "update",
    "latest",
    "timeseries",
    "TIME_SERIES",
    "t",
    "ts",
    "value",
    "count",
    "entityId",
    "entityType",
    "id",
    "severity",
    "totalUnreadCount",
    "sequenceNumber",
    "notifications",
    "type",
    "entityFilter",
    "entityNameFilter",
    "pageLink",
    "pageSize",
    "cmds",
    "query",
    "exp",
    "iat",
    "scopes",
    "status",
    "message",
    "timestamp",
];

/// Enum names, known and unknown.
const JSON_WORDS: &[&str] = &[
    "ENTITY_DATA",
    "COUNT_DATA",
    "ALARM_DATA",
    "ALARM_STATUS",
    "NOTIFICATIONS",
    "NOTIFICATIONS_COUNT",
    "FUTURE",
    "DEVICE",
    "SPACESHIP",
    "entityType",
    "entityName",
    "CRITICAL",
    "APOCALYPTIC",
    "REFRESH_TOKEN",
    "00000000-0000-0000-0000-000000000001",
];

/// JSON text with hostile leaves: out-of-range numbers, unknown enum names, lone surrogates.
fn hostile_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => proptest::sample::select(JSON_NUMBERS).prop_map(str::to_owned),
        3 => proptest::sample::select(JSON_WORDS).prop_map(|w| format!("\"{w}\"")),
        1 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        1 => proptest::sample::select(&["null", "true", "\"\\ud800\"", "\"\"", "[]", "{}"][..])
            .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(|items| format!("[{}]", items.join(","))),
            vec((proptest::sample::select(JSON_KEYS), inner), 0..7).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// Lines of a settings file: its tables, its keys and hostile values.
fn hostile_toml() -> impl Strategy<Value = String> {
    const HEADERS: &[&str] = &[
        "[notifications]",
        "[inbox]",
        "[limits]",
        "[[profiles]]",
        "[[saved_queries]]",
        "[plot_layouts.current]",
        "[plot_layouts.current.window.Fixed]",
        "[[plot_layouts.current.plots]]",
        "[[plot_layouts.current.plots.series]]",
        "[plot_layouts.current.plots.series.entity]",
        "[[plot_layouts.saved]]",
        "[plot_layouts.saved.window]",
    ];
    const KEYS: &[&str] = &[
        "theme",
        "max_frame_rate",
        "auto_login",
        "last_profile",
        "time_zone",
        "default_window",
        "desktop",
        "min_severity",
        "tray_limit",
        "muted_types",
        "points_per_series",
        "name",
        "url",
        "remember_password",
        "pinned_sha256",
        "query",
        "agg",
        "interval_ms",
        "start_ms",
        "end_ms",
        "Relative",
        "key",
        "color",
        "style",
        "entityType",
        "id",
    ];
    const VALUES: &[&str] = &[
        "0",
        "-1",
        "60",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "1e999",
        "nan",
        "-inf",
        "1.5",
        "true",
        "\"dark\"",
        "\"purple\"",
        "\"APOCALYPTIC\"",
        "\"7d\"",
        "\"https://user:pw@tb.example.com\"",
        "\"\"",
        "[]",
        "[1, \"a\"]",
        "[255, 0, 300]",
        "{}",
        "1979-05-27T07:32:00Z",
        "\"DEVICE\"",
        "\"00000000-0000-0000-0000-000000000001\"",
        "\"Yesterday\"",
        "\"Max\"",
        r#"'{"entityFilter":{"type":"entityType","entityType":"DEVICE"},"pageLink":{"pageSize":-1,"page":0}}'"#,
    ];
    let line = prop_oneof![
        1 => proptest::sample::select(HEADERS).prop_map(str::to_owned),
        5 => (proptest::sample::select(KEYS), proptest::sample::select(VALUES))
            .prop_map(|(k, v)| format!("{k} = {v}")),
        1 => any::<String>(),
    ];
    vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

/// The seeds of the fuzz corpus that decode, with the index of their target.
fn valid_seeds() -> Vec<(usize, Vec<u8>)> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut seeds = Vec::new();
    for (index, (name, _)) in targets::TARGETS.iter().enumerate() {
        for entry in std::fs::read_dir(corpus.join(name)).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("valid_")
            {
                seeds.push((index, std::fs::read(path).unwrap()));
            }
        }
    }
    assert!(seeds.len() >= 10, "{} seeds", seeds.len());
    seeds
}

/// One change to a sample.
#[derive(Debug, Clone)]
enum Mutation {
    /// Bytes inserted at a place.
    Insert(proptest::sample::Index, Vec<u8>),
    /// The sample cut at a place.
    Truncate(proptest::sample::Index),
    /// The value after the next `:` or `=` from a place replaced by a hostile one.
    Replace(proptest::sample::Index, &'static str),
    /// One byte replaced by any byte (often not UTF-8).
    Byte(proptest::sample::Index, u8),
}

/// Values a mutation puts in place of a sample's value.
const HOSTILE_VALUES: &[&str] = &[
    "1e999",
    "-1e999",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "-9223372036854775808",
    "-1",
    "null",
    "\"SPACESHIP\"",
    "\"\\ud800\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{}",
    "[]",
    "\"\"",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<proptest::sample::Index>(), vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        1 => any::<proptest::sample::Index>().prop_map(Mutation::Truncate),
        3 => (
            any::<proptest::sample::Index>(),
            proptest::sample::select(HOSTILE_VALUES)
        )
            .prop_map(|(at, value)| Mutation::Replace(at, value)),
        1 => (any::<proptest::sample::Index>(), any::<u8>()).prop_map(|(at, b)| Mutation::Byte(at, b)),
    ]
}

fn mutate(sample: &mut Vec<u8>, mutation: &Mutation) {
    match mutation {
        Mutation::Insert(at, bytes) => {
            let at = at.index(sample.len() + 1);
            sample.splice(at..at, bytes.iter().copied());
        }
        Mutation::Truncate(at) => sample.truncate(at.index(sample.len() + 1)),
        Mutation::Replace(at, value) => {
            let from = at.index(sample.len() + 1);
            let Some(sep) = sample[from..].iter().position(|b| *b == b':' || *b == b'=') else {
                return;
            };
            let start = from + sep + 1;
            let end = sample[start..]
                .iter()
                .position(|b| b",}]\n".contains(b))
                .map_or(sample.len(), |n| start + n);
            sample.splice(start..end, value.bytes());
        }
        Mutation::Byte(at, byte) => {
            if !sample.is_empty() {
                let at = at.index(sample.len());
                sample[at] = *byte;
            }
        }
    }
}

/// Timestamps, counts and times: any, small, realistic, and the edges.
fn hostile_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => any::<i64>(),
        2 => -100_000..100_000_i64,
        2 => 1_600_000_000_000..1_800_000_000_000_i64,
        1 => proptest::sample::select(&[i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX][..]),
    ]
}

fn net_event() -> impl Strategy<Value = NetEvent> {
    let conn = prop_oneof![
        Just(ConnState::Live),
        any::<u32>().prop_map(|attempt| ConnState::Connecting { attempt }),
        (any::<u32>(), hostile_i64()).prop_map(|(attempt, retry_at_ms)| ConnState::Reconnecting {
            attempt,
            retry_at_ms
        }),
        text().prop_map(|reason| ConnState::Offline { reason }),
    ];
    prop_oneof![
        12 => (0..5_u64, server_message())
            .prop_map(|(sub, msg)| NetEvent::Message { sub, msg: Box::new(msg) }),
        1 => (0..5_u64, hostile_i64(), hostile_i64())
            .prop_map(|(sub, from_ms, to_ms)| NetEvent::Gap { sub, from_ms, to_ms }),
        1 => (0..5_u64, any::<i32>(), text())
            .prop_map(|(sub, code, message)| NetEvent::SubscriptionError { sub, code, message }),
        1 => (any::<u32>(), any::<u64>()).prop_map(|(msgs, bytes)| NetEvent::Traffic { msgs, bytes }),
        1 => any::<u32>().prop_map(|ms| NetEvent::Rtt { ms }),
        1 => conn.prop_map(NetEvent::Connection),
        1 => (any::<u16>(), text()).prop_map(|(code, reason)| NetEvent::Closed { code, reason }),
    ]
}

/// [`CASES`] cases from a fixed seed, so that CI runs the same cases every time;
/// `PROPTEST_RNG_SEED=<n>` explores others.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x7b_6d6f_6e69);
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(data in vec(any::<u8>(), 0..300)) {
        for (_, target) in targets::TARGETS {
            target(&data);
        }
    }

    #[test]
    fn arbitrary_json_with_hostile_values_never_panics_a_decoder(text in hostile_json()) {
        for (_, target) in targets::TARGETS {
            target(text.as_bytes());
        }
    }

    #[test]
    fn arbitrary_toml_with_hostile_values_never_panics_the_settings_loader(text in hostile_toml()) {
        targets::settings_file(text.as_bytes());
    }

    #[test]
    fn mutated_valid_samples_never_panic_their_decoder(
        (target, mut sample) in proptest::sample::select(valid_seeds()),
        mutations in vec(mutation(), 1..4),
    ) {
        for m in &mutations {
            mutate(&mut sample, m);
        }
        (targets::TARGETS[target].1)(&sample);
    }

    #[test]
    fn tokens_of_any_exp_and_iat_keep_their_times_in_order(
        exp in hostile_i64(),
        iat in hostile_i64(),
        now in hostile_i64(),
    ) {
        let token = jwt(&format!(r#"{{"exp":{exp},"iat":{iat}}}"#));
        let tokens = Tokens::new(token.clone(), Some(token), now).unwrap();
        prop_assert!(tokens.lifetime_ms() >= 0);
        prop_assert!(tokens.expires_at_ms() >= now);
        prop_assert!(tokens.refresh_due_at_ms() >= now);
        if exp <= iat {
            prop_assert!(!tokens.is_valid_at(now) && !tokens.can_refresh_at(now));
        }
        if tokens.is_valid_at(now) {
            // Due before expiry (equal only where both saturate at `i64::MAX`).
            prop_assert!(tokens.refresh_due_at_ms() <= tokens.expires_at_ms());
        }
    }

    #[test]
    fn arbitrary_decoded_messages_never_panic_the_store(
        events in vec((net_event(), hostile_i64()), 1..10),
        agg in proptest::sample::select(Aggregation::KNOWN),
        start_ms in hostile_i64(),
        interval_ms in hostile_i64(),
    ) {
        let mut store = Store::new();
        // Sub 1 is aggregated, sub 2's v1 points feed series, sub 3 waits for a history reply.
        store.set_aggregation(1, Some(AggSpec { agg, start_ms, interval_ms }));
        store.track_v1_series(2, EntityId::new(EntityType::Device, Uuid::from_u128(1)));
        store.subs.insert(3, SubData::V1History(None));
        for (event, now) in events {
            // What reaches the store came off the wire: encode and decode it first.
            let event = match event {
                NetEvent::Message { sub, msg } => {
                    let json = msg.to_json().unwrap();
                    let decoded = ServerMessage::from_json(&json)
                        .map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
                    NetEvent::Message { sub, msg: Box::new(decoded) }
                }
                other => other,
            };
            store.apply(event, now);
        }
        read_every_series(&mut store);
    }
}

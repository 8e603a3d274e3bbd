//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

pub mod wire;

/// Directory of the JSON fixtures.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// Every `*.json` file of a fixtures sub-directory as `(file stem, text)`, sorted by name.
pub fn fixtures(sub: &str) -> Vec<(String, String)> {
    let dir = fixtures_dir().join(sub);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("fixture text");
            (stem, text)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// One fixture's text.
pub fn fixture(sub: &str, name: &str) -> String {
    let path = fixtures_dir().join(sub).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Drops every `null`-valued object member, recursively: the reference counts a null field
/// and an absent one as the same.
pub fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(without_nulls).collect())
        }
        other => other,
    }
}

/// Asserts that two JSON texts are equal, ignoring key order and null-vs-absent.
pub fn assert_json_equivalent(context: &str, expected: &str, actual: &str) {
    let e: serde_json::Value = serde_json::from_str(expected).expect("expected is JSON");
    let a: serde_json::Value = serde_json::from_str(actual).expect("actual is JSON");
    assert_eq!(
        without_nulls(e),
        without_nulls(a),
        "{context}: re-encoded JSON differs\n expected: {expected}\n   actual: {actual}"
    );
}

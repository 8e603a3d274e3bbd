//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (libFuzzer, nightly)
//! and `tests/fuzz_corpus.rs` (replays `fuzz/corpus/<target>/*` on stable, so the corpus is
//! a regression suite in CI). Both include this file with `#[path]`.
//!
//! Every target takes raw bytes, turns them into what the app would get (`from_utf8` for the
//! decoders that take text, the bytes themselves for the settings file), and must not panic.
//! It returns whether the input decoded to a value (the corpus replay checks that the seeds
//! named `valid_*` still do).
//! Beyond "no panic", each asserts what holds for any input; a failed assert is a finding:
//!
//! * an error is a sentence that names what failed (never empty);
//! * a value that decodes survives its own encoding (what the app writes, it reads back);
//! * a JWT error never repeats the token; token times never go negative or backwards;
//! * a failed query import leaves the builder as it was.

// Each fuzz binary calls one target.
#![allow(dead_code)]

use base64::Engine as _;
use tb_monitor::net::tokens::Tokens;
use tb_monitor::protocol::{JwtClaims, RestError, ServerMessage};
use tb_monitor::settings::Settings;
use tb_monitor::ui::query::QueryBuilder;

/// A target's body: whether the input decoded to a value; panics on a finding.
pub type Target = fn(&[u8]) -> bool;

/// Every target by its name (the folder of its corpus under `fuzz/corpus/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("ws_message", ws_message),
    ("rest_error", rest_error),
    ("jwt_claims", jwt_claims),
    ("settings_file", settings_file),
    ("query_import", query_import),
];

/// A WebSocket text frame: `ServerMessage::from_json`. A message that decodes encodes, and
/// its encoding decodes again.
pub fn ws_message(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false; // The WebSocket layer refuses a text frame that is not UTF-8.
    };
    match ServerMessage::from_json(text) {
        Ok(msg) => {
            let json = msg
                .to_json()
                .unwrap_or_else(|e| panic!("{msg:?} encodes: {e}"));
            if let Err(e) = ServerMessage::from_json(&json) {
                panic!("the encoding of a decoded message decodes: {e}\n{json}");
            }
            let _ = (msg.cmd_id(), msg.error(), msg.error_scope(), msg.shape());
            true
        }
        Err(e) => {
            assert_clear(&e.to_string());
            false
        }
    }
}

/// A REST error body: `RestError::from_json`. A body that decodes survives its encoding.
pub fn rest_error(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false; // The decoder takes text (reqwest's `text()` replaces bad bytes).
    };
    match RestError::from_json(text) {
        Ok(err) => {
            let json = serde_json::to_string(&err).unwrap_or_else(|e| panic!("encodes: {e}"));
            let back = RestError::from_json(&json)
                .unwrap_or_else(|e| panic!("the encoding decodes: {e}\n{json}"));
            assert_eq!(back, err, "{json}");
            true
        }
        Err(e) => {
            assert_clear(&e.to_string());
            false
        }
    }
}

/// A JWT: the bytes as a whole token, and as the JSON payload of a token. Errors never
/// repeat the token; the token times of a readable token stay in range.
pub fn jwt_claims(data: &[u8]) -> bool {
    let as_token = std::str::from_utf8(data).is_ok_and(jwt_token);
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    let as_payload = jwt_token(&format!("eyJhbGciOiJIUzUxMiJ9.{payload}.c2lnbmF0dXJl"));
    as_token || as_payload
}

fn jwt_token(token: &str) -> bool {
    match JwtClaims::decode(token) {
        Ok(claims) => {
            let _ = (claims.lifetime_secs(), claims.is_refresh_token());
            for now in [0, 1_700_000_000_000, i64::MIN, i64::MAX] {
                let tokens = Tokens::new(token.to_owned(), Some(token.to_owned()), now)
                    .unwrap_or_else(|e| panic!("decoded claims make tokens: {e}"));
                assert!(tokens.lifetime_ms() >= 0);
                assert!(tokens.expires_at_ms() >= now);
                assert!(tokens.refresh_due_at_ms() >= now);
                let _ = (tokens.is_valid_at(now), tokens.can_refresh_at(now));
                let _ = (tokens.refresh_expires_at_ms(), format!("{tokens:?}"));
                // A refresh token's expiry may be in the past (`exp < iat`): it is not used.
                assert!(Tokens::refresh_only_expiry(token, now).is_some());
            }
            true
        }
        Err(e) => {
            let message = e.to_string();
            assert_clear(&message);
            // (A JWT-like input: any text without a dot may be a part of the error's words.)
            if token.trim().len() >= 16 && token.contains('.') {
                assert!(
                    !message.contains(token.trim()),
                    "the error repeats the token"
                );
            }
            assert!(Tokens::new(token.to_owned(), None, 0).is_err());
            false
        }
    }
}

/// A settings file's bytes: `Settings::from_toml_bytes`. Normalizing twice changes nothing
/// the second time, and what `save` would write loads again and is written the same.
pub fn settings_file(data: &[u8]) -> bool {
    match Settings::from_toml_bytes(data) {
        Ok(mut settings) => {
            let _ = settings.normalize();
            let again = settings.normalize();
            assert!(again.is_empty(), "normalize is idempotent: {again:?}");
            let saved = settings
                .to_toml_string()
                .unwrap_or_else(|e| panic!("settings save: {e}"));
            let mut back = Settings::from_toml_str(&saved)
                .unwrap_or_else(|e| panic!("saved settings load: {e}\n{saved}"));
            let notes = back.normalize();
            assert!(notes.is_empty(), "saved settings need no fixing: {notes:?}");
            let resaved = back
                .to_toml_string()
                .unwrap_or_else(|e| panic!("settings save again: {e}"));
            assert_eq!(resaved, saved, "saving is stable");
            true
        }
        Err(e) => {
            assert_clear(&e);
            assert!(
                e.starts_with("is not a text file") || e.starts_with("could not be read ("),
                "a phrase after \"The settings file\": {e}"
            );
            false
        }
    }
}

/// An imported query (the query builder's import and `tb-monitor watch`'s query file). A
/// failed import leaves the builder unchanged; an import that builds exports a text that
/// imports to the same query.
pub fn query_import(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false; // A file or clipboard that is not UTF-8 is refused before the import.
    };
    let mut builder = QueryBuilder::new();
    let before = format!("{builder:?}");
    let imported = match builder.import_json(text) {
        Ok(()) => {
            if let Ok(exported) = builder.to_json() {
                let back = QueryBuilder::from_json(&exported)
                    .unwrap_or_else(|e| panic!("an export imports: {e}\n{exported}"));
                assert_eq!(back.to_json().ok(), Some(exported), "export is stable");
            }
            let _ = (builder.count_query(), builder.to_ws_command_json(1));
            true
        }
        Err(e) => {
            assert_clear(&e.to_string());
            assert_eq!(
                format!("{builder:?}"),
                before,
                "a failed import changes nothing"
            );
            false
        }
    };
    match tb_monitor::watch::parse_query(text) {
        Ok(specs) => assert!(!specs.is_empty()),
        Err(e) => assert_clear(&e),
    }
    imported
}

/// An error text for a person: not empty, and not just punctuation.
fn assert_clear(message: &str) {
    assert!(
        message.chars().filter(|c| c.is_alphabetic()).count() >= 8,
        "an error says what failed: {message:?}"
    );
}

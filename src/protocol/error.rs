//! Errors of decoding protocol messages.
//!
//! Error texts are bounded: serde repeats a bad value whole (a 10 MB string where a number
//! belongs gives a 10 MB message), and these texts end up in events, logs and windows. Every
//! text this module builds goes through [`ProtocolError::bounded`]: a quoted value (`"…"` or
//! `` `…` ``) longer than [`MAX_QUOTED_CHARS`] keeps its start and end around a `…`, and the
//! whole text is cut the same way past [`MAX_MESSAGE_CHARS`]. Cuts fall between characters.

use std::borrow::Cow;

/// The most characters of one quoted value an error text repeats.
pub(crate) const MAX_QUOTED_CHARS: usize = 120;

/// The most characters of a whole error text (or path), whatever it quotes.
pub(crate) const MAX_MESSAGE_CHARS: usize = 480;

/// Why a message could not be decoded. The text names the message shape and the field.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The text is not JSON (truncated, garbage, nesting too deep).
    #[error("not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// The JSON is not an object.
    #[error("expected a JSON object, got {found}")]
    NotAnObject {
        /// What was found instead (`array`, `string`, …).
        found: &'static str,
    },
    /// An object with neither `cmdUpdateType` nor `subscriptionId`.
    #[error("unrecognised message: it has neither `cmdUpdateType` nor `subscriptionId`")]
    UnknownShape,
    /// A field of a recognised shape has the wrong type or value.
    #[error("invalid {shape} message at `{path}`: {message}")]
    Invalid {
        /// The shape being decoded, e.g. `ENTITY_DATA update`.
        shape: &'static str,
        /// Path of the failing field, e.g. `update[0].latest.TIME_SERIES.temperature.ts`.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A JWT that cannot be read.
    #[error("invalid JWT: {0}")]
    Jwt(String),
}

impl ProtocolError {
    pub(crate) fn invalid(
        shape: &'static str,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        // A path names map keys as they came (a 10 MB key is a 10 MB path).
        let path = shorten(&err.path().to_string(), MAX_QUOTED_CHARS * 2).into_owned();
        ProtocolError::Invalid {
            shape,
            path,
            message: Self::bounded(&err.into_inner().to_string()),
        }
    }

    /// `text` as an error may repeat it (see the module doc): each quoted value longer than
    /// [`MAX_QUOTED_CHARS`] is cut in its middle, then the whole past [`MAX_MESSAGE_CHARS`].
    /// A `"` quote ends at the next `"` that no `\` escapes (serde writes strings with
    /// `{:?}`), a `` ` `` quote at the next `` ` ``; a quote left open runs to the end.
    pub(crate) fn bounded(text: &str) -> String {
        let mut out = String::with_capacity(text.len().min(4 * MAX_MESSAGE_CHARS));
        let mut rest = text;
        while let Some(open) = rest.find(['"', '`']) {
            let quote = if rest[open..].starts_with('"') {
                '"'
            } else {
                '`'
            };
            let inner = &rest[open + 1..];
            let close = closing_quote(inner, quote).unwrap_or(inner.len());
            out.push_str(&rest[..=open]);
            out.push_str(&shorten(&inner[..close], MAX_QUOTED_CHARS));
            rest = &inner[close..];
            if let Some(after) = rest.strip_prefix(quote) {
                out.push(quote);
                rest = after;
            }
        }
        out.push_str(rest);
        match shorten(&out, MAX_MESSAGE_CHARS) {
            Cow::Borrowed(_) => out,
            Cow::Owned(short) => short,
        }
    }
}

/// The byte offset of the quote that closes a quoted value starting `inner`.
fn closing_quote(inner: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote == '"' => escaped = true,
            c if c == quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// `text`, cut in its middle to `max_chars` characters (the `…` counted) when longer: the
/// start says what failed, the end what was expected. Cuts fall between characters.
pub(crate) fn shorten(text: &str, max_chars: usize) -> Cow<'_, str> {
    let head = max_chars.saturating_sub(1) / 2;
    let tail = max_chars.saturating_sub(1) - head;
    // Cheap for short text: stop counting after `max_chars + 1` characters.
    if text.chars().nth(max_chars).is_none() {
        return Cow::Borrowed(text);
    }
    let head_end = text.char_indices().nth(head).map_or(text.len(), |(i, _)| i);
    let tail_start = match tail {
        0 => text.len(),
        n => text.char_indices().nth_back(n - 1).map_or(0, |(i, _)| i),
    };
    Cow::Owned(format!("{}…{}", &text[..head_end], &text[tail_start..]))
}

pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Decodes `T` from text, naming `shape` and the failing field on error.
///
/// # Errors
/// [`ProtocolError::Syntax`] for text that is not JSON, [`ProtocolError::Invalid`] otherwise.
pub fn decode_named<T: serde::de::DeserializeOwned>(
    shape: &'static str,
    text: &str,
) -> Result<T, ProtocolError> {
    // Fast path first; the slower, path-tracking decode only runs to explain a failure.
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(e) if e.is_syntax() || e.is_eof() => Err(ProtocolError::Syntax(e)),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize(&mut de) {
                Ok(v) => Ok(v),
                Err(e) => Err(ProtocolError::invalid(shape, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_long_values_is_kept_as_it_is() {
        let text = "invalid type: string \"abc\", expected i64 at line 1 column 9";
        assert_eq!(ProtocolError::bounded(text), text);
        assert!(matches!(shorten(text, 200), Cow::Borrowed(_)));
    }

    #[test]
    fn a_long_quoted_value_keeps_its_start_and_end_and_the_words_around_it() {
        let value = format!("START{}END", "x".repeat(10_000));
        let text = format!("invalid type: string \"{value}\", expected i64");
        let short = ProtocolError::bounded(&text);
        assert!(
            short.starts_with("invalid type: string \"STARTxxx"),
            "{short}"
        );
        assert!(short.ends_with("xxxEND\", expected i64"), "{short}");
        let quoted = short.split('"').nth(1).unwrap();
        assert_eq!(quoted.chars().count(), MAX_QUOTED_CHARS);
        assert_eq!(quoted.matches('…').count(), 1);
    }

    #[test]
    fn backtick_quotes_are_cut_too() {
        let text = format!(
            "unknown variant `{}`, expected one of `dark`, `light`",
            "p".repeat(5_000)
        );
        let short = ProtocolError::bounded(&text);
        assert!(short.len() < 200, "{short}");
        assert!(
            short.ends_with("`, expected one of `dark`, `light`"),
            "{short}"
        );
    }

    #[test]
    fn an_escaped_quote_does_not_end_the_quoted_value() {
        let value = format!("a\\\"{}", "y".repeat(1_000));
        let short = ProtocolError::bounded(&format!("string \"{value}\", expected u8"));
        assert!(short.starts_with("string \"a\\\"yyy"), "{short}");
        assert!(short.ends_with("yyy\", expected u8"), "{short}");
        assert!(short.len() < 200, "{short}");
    }

    #[test]
    fn a_quote_left_open_is_cut_up_to_the_end() {
        let short = ProtocolError::bounded(&format!("string \"{}", "z".repeat(1_000)));
        assert_eq!(short.chars().count(), "string \"".len() + MAX_QUOTED_CHARS);
    }

    #[test]
    fn many_short_quoted_values_are_bounded_as_a_whole() {
        let text = "`a` ".repeat(100_000);
        let short = ProtocolError::bounded(&text);
        assert_eq!(short.chars().count(), MAX_MESSAGE_CHARS);
        let unquoted = "w".repeat(100_000);
        assert_eq!(
            ProtocolError::bounded(&unquoted).chars().count(),
            MAX_MESSAGE_CHARS
        );
    }

    #[test]
    fn cuts_fall_between_the_characters_of_multibyte_text() {
        for text in ["é".repeat(1_000), "😀".repeat(1_000), "aé😀".repeat(500)] {
            for max in [2, 3, 10, 121] {
                let short = shorten(&text, max);
                assert_eq!(short.chars().count(), max, "{max}");
                assert!(text.starts_with(short.split('…').next().unwrap()));
                assert!(text.ends_with(short.rsplit('…').next().unwrap()));
            }
            let quoted = ProtocolError::bounded(&format!("`{text}`"));
            assert_eq!(quoted.chars().count(), MAX_QUOTED_CHARS + 2);
        }
    }

    #[test]
    fn a_ten_megabyte_value_under_a_ten_megabyte_key_gives_an_error_under_a_kilobyte() {
        #[derive(Debug, serde::Deserialize)]
        struct Shape {
            #[allow(dead_code, reason = "decoded to fail")]
            m: std::collections::BTreeMap<String, i64>,
        }
        let big = "k".repeat(10 << 20);
        let text = format!(r#"{{"m":{{"{big}":"{big}"}}}}"#);
        let err = decode_named::<Shape>("test", &text).unwrap_err();
        let ProtocolError::Invalid { path, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(path.starts_with("m.kkk") && path.len() <= 2 * MAX_QUOTED_CHARS + 2);
        assert!(
            message.contains("kkk\", expected i64 at line 1"),
            "{message}"
        );
        let shown = err.to_string();
        assert!(shown.len() < 1024, "{} bytes", shown.len());
        assert!(
            shown.starts_with("invalid test message at `m.kkk"),
            "{shown}"
        );
    }
}

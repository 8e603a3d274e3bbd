//! Telemetry and attribute values: always strings on the wire, read through typed accessors.
//!
//! ThingsBoard renders every value as text (`"42"`, `"23.5"`, `"1.0E7"`, `"true"`, raw JSON).
//! [`TbValue`] keeps that text untouched, so nothing is lost or reformatted, and offers
//! accessors that parse on demand and never panic. A server that (against the reference)
//! sends a bare JSON number or boolean is tolerated and re-encoded the same way.

use serde::{Deserialize, Serialize};

/// How the value appeared on the wire, so that it is encoded back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum WireForm {
    /// A JSON string (what ThingsBoard sends).
    #[default]
    Text,
    /// A bare JSON number.
    Number,
    /// A bare JSON boolean.
    Bool,
}

/// A telemetry or attribute value in its wire text.
#[derive(Debug, PartialEq, Eq, Hash, Default)]
pub struct TbValue {
    text: String,
    form: WireForm,
}

impl Clone for TbValue {
    fn clone(&self) -> Self {
        Self {
            text: self.text.clone(),
            form: self.form,
        }
    }

    /// Reuses this value's buffer: the store overwrites latest values millions of times, and
    /// an allocation plus a free per update is most of what that costs.
    fn clone_from(&mut self, source: &Self) {
        self.text.clone_from(&source.text);
        self.form = source.form;
    }
}

impl TbValue {
    /// A value from its wire text.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            form: WireForm::Text,
        }
    }

    /// A value formatted the way Java's `Double.toString` would be read back by our accessors.
    #[must_use]
    pub fn from_f64(v: f64) -> Self {
        Self::new(format_java_double(v))
    }

    /// A value from a whole number.
    #[must_use]
    pub fn from_i64(v: i64) -> Self {
        Self::new(v.to_string())
    }

    /// A value from a boolean (`"true"`/`"false"`).
    #[must_use]
    pub fn from_bool(v: bool) -> Self {
        Self::new(if v { "true" } else { "false" })
    }

    /// The wire text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Consumes the value, returning its text.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }

    /// Whether the text is empty (ThingsBoard's "no value" and deletion marker).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The value as a float: accepts integers, decimals, exponent forms (`1.0E7`, `2.5e-3`)
    /// and Java's `NaN`, `Infinity`, `-Infinity`. `None` for anything else.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        parse_f64(&self.text)
    }

    /// The value as a whole number: an integer literal, or a float form whose value is
    /// integral and fits in `i64` (`"1.0E7"` → 10 000 000). `None` otherwise.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        let t = self.text.trim();
        if let Ok(v) = t.parse::<i64>() {
            return Some(v);
        }
        let f = parse_f64(t)?;
        // i64::MAX is not exactly representable; the strict bounds keep the cast lossless.
        #[allow(clippy::cast_precision_loss)]
        let in_range = f >= i64::MIN as f64 && f < i64::MAX as f64;
        if f.is_finite() && f.fract() == 0.0 && in_range {
            #[allow(clippy::cast_possible_truncation)]
            Some(f as i64)
        } else {
            None
        }
    }

    /// The value as a boolean: `true`/`false` in any letter case (as Java parses them).
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        let t = self.text.trim();
        if t.eq_ignore_ascii_case("true") {
            Some(true)
        } else if t.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        }
    }

    /// The value parsed as JSON (objects and arrays of JSON telemetry), `None` if it is not JSON.
    #[must_use]
    pub fn as_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.text).ok()
    }
}

impl From<&str> for TbValue {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for TbValue {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl std::fmt::Display for TbValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_f64(text: &str) -> Option<f64> {
    let t = text.trim();
    match t {
        "NaN" => return Some(f64::NAN),
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    // Rust's parser also takes "inf", "nan" and "infinity" in any case; ThingsBoard never
    // sends those, and a string telemetry value "inf" is not a number, so refuse them.
    let first_digitish = t
        .trim_start_matches(['+', '-'])
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.');
    if !first_digitish {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Formats a double like Java's `Double.toString` does for the common cases
/// (`23.5`, `42.0`, `1.0E7`, `1.0E-5`), so values we produce look like the server's.
#[must_use]
pub fn format_java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let abs = v.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{v}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{v:E}");
        // Rust writes "1E7"; Java writes "1.0E7".
        match s.split_once('E') {
            Some((mantissa, exp)) if !mantissa.contains('.') => format!("{mantissa}.0E{exp}"),
            _ => s,
        }
    }
}

impl Serialize for TbValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.form {
            WireForm::Text => serializer.serialize_str(&self.text),
            WireForm::Bool => serializer.serialize_bool(self.text == "true"),
            WireForm::Number => match serde_json::from_str::<serde_json::Number>(&self.text) {
                Ok(n) => n.serialize(serializer),
                Err(_) => serializer.serialize_str(&self.text),
            },
        }
    }
}

impl<'de> Deserialize<'de> for TbValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl serde::de::Visitor<'_> for ValueVisitor {
            type Value = TbValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a value string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TbValue, E> {
                Ok(TbValue::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<TbValue, E> {
                Ok(TbValue::new(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<TbValue, E> {
                Ok(TbValue {
                    text: v.to_string(),
                    form: WireForm::Bool,
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TbValue, E> {
                Ok(TbValue {
                    text: v.to_string(),
                    form: WireForm::Number,
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TbValue, E> {
                Ok(TbValue {
                    text: v.to_string(),
                    form: WireForm::Number,
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<TbValue, E> {
                // `{}` of a finite f64 round-trips exactly through serde_json.
                Ok(TbValue {
                    text: serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                    form: WireForm::Number,
                })
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// One timestamped value: `{"ts":1700000000000,"value":"23.5"}`.
///
/// `value` is absent when null (Jackson `NON_NULL`); `count` appears only on aggregated points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TsValue {
    /// Epoch milliseconds.
    pub ts: i64,
    /// The value, absent for "no value".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<TbValue>,
    /// Number of raw points behind an aggregated point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

impl TsValue {
    /// A point with a value.
    #[must_use]
    pub fn new(ts: i64, value: impl Into<TbValue>) -> Self {
        Self {
            ts,
            value: Some(value.into()),
            count: None,
        }
    }

    /// ThingsBoard's marker for a deleted key, or a requested key without a value:
    /// `{"ts":0,"value":""}`.
    #[must_use]
    pub fn is_empty_marker(&self) -> bool {
        self.ts == 0 && self.value.as_ref().is_none_or(TbValue::is_empty)
    }

    /// The value as a float, if there is one and it is numeric.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        self.value.as_ref().and_then(TbValue::as_f64)
    }

    /// Whether the point carries a value at all. Unlike [`Self::is_empty_marker`] this also
    /// recognises the Cassandra form of a missing key, `{"ts":<now>}` without `value`.
    #[must_use]
    pub fn has_value(&self) -> bool {
        self.value.as_ref().is_some_and(|v| !v.is_empty())
    }
}

/// An aggregate over a range and, optionally, over a previous range (`aggLatest` entries).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ComparisonTsValue {
    /// Aggregate over the requested range.
    pub current: Option<TsValue>,
    /// Aggregate over the previous range, when one was requested.
    pub previous: Option<TsValue>,
}

/// A v1 data point: `[ts, "value"]`, where the value may be `null` (a missing key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TsPoint(pub i64, pub Option<TbValue>);

impl TsPoint {
    /// Epoch milliseconds.
    #[must_use]
    pub fn ts(&self) -> i64 {
        self.0
    }

    /// The value, if any.
    #[must_use]
    pub fn value(&self) -> Option<&TbValue> {
        self.1.as_ref()
    }

    /// The v1 deletion marker `[0,""]`.
    #[must_use]
    pub fn is_deleted(&self) -> bool {
        self.0 == 0 && self.1.as_ref().is_some_and(TbValue::is_empty)
    }
}

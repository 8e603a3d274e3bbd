//! Key filters (§6): conditions on entity fields, attributes and latest telemetry.

use serde::{Deserialize, Serialize};

use super::enums::{
    BooleanOperation, ComplexOperation, DynamicValueSourceType, EntityKeyValueType,
    NumericOperation, StringOperation,
};
use super::query::EntityKey;

/// One condition of a query: `key` compared as `value_type` by `predicate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyFilter {
    /// The key compared.
    pub key: EntityKey,
    /// How the key's value is interpreted.
    pub value_type: EntityKeyValueType,
    /// The comparison.
    pub predicate: KeyFilterPredicate,
}

/// A comparison, possibly a nested AND/OR group. Polymorphic on `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum KeyFilterPredicate {
    /// Text comparison.
    #[serde(rename = "STRING")]
    String(StringFilterPredicate),
    /// Numeric comparison.
    #[serde(rename = "NUMERIC")]
    Numeric(NumericFilterPredicate),
    /// Boolean comparison.
    #[serde(rename = "BOOLEAN")]
    Boolean(BooleanFilterPredicate),
    /// AND/OR group of predicates; nestable.
    #[serde(rename = "COMPLEX")]
    Complex(ComplexFilterPredicate),
}

/// `STRING` predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StringFilterPredicate {
    /// The operation.
    pub operation: StringOperation,
    /// The operand.
    pub value: FilterPredicateValue<String>,
    /// Compare case-insensitively.
    #[serde(default)]
    pub ignore_case: bool,
}

/// `NUMERIC` predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumericFilterPredicate {
    /// The operation.
    pub operation: NumericOperation,
    /// The operand.
    pub value: FilterPredicateValue<f64>,
}

/// `BOOLEAN` predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BooleanFilterPredicate {
    /// The operation.
    pub operation: BooleanOperation,
    /// The operand.
    pub value: FilterPredicateValue<bool>,
}

/// `COMPLEX` predicate: an AND/OR group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplexFilterPredicate {
    /// How the members combine.
    pub operation: ComplexOperation,
    /// The members; may themselves be groups.
    #[serde(default)]
    pub predicates: Vec<KeyFilterPredicate>,
}

/// The operand of a predicate: a default, an optional user override and an optional
/// dynamic source resolved by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterPredicateValue<T> {
    /// The value used when neither `user_value` nor the dynamic source provides one.
    pub default_value: T,
    /// Wins over `default_value` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_value: Option<T>,
    /// Read the value from an attribute instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_value: Option<DynamicValue>,
}

impl<T> FilterPredicateValue<T> {
    /// A constant operand.
    pub fn constant(value: T) -> Self {
        Self {
            default_value: value,
            user_value: None,
            dynamic_value: None,
        }
    }

    /// The value the server compares with when no dynamic source applies.
    pub fn effective(&self) -> &T {
        self.user_value.as_ref().unwrap_or(&self.default_value)
    }
}

/// A dynamic operand: a server attribute of the tenant, customer, user or device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicValue {
    /// Whose attribute.
    pub source_type: DynamicValueSourceType,
    /// The attribute name.
    pub source_attribute: String,
    /// Look the attribute up on the owner chain when missing.
    #[serde(default)]
    pub inherit: bool,
}

impl KeyFilter {
    /// `key` as a number compared by `operation` with `value`.
    #[must_use]
    pub fn numeric(key: EntityKey, operation: NumericOperation, value: f64) -> Self {
        Self {
            key,
            value_type: EntityKeyValueType::Numeric,
            predicate: KeyFilterPredicate::Numeric(NumericFilterPredicate {
                operation,
                value: FilterPredicateValue::constant(value),
            }),
        }
    }

    /// `key` as text compared by `operation` with `value`.
    #[must_use]
    pub fn string(
        key: EntityKey,
        operation: StringOperation,
        value: impl Into<String>,
        ignore_case: bool,
    ) -> Self {
        Self {
            key,
            value_type: EntityKeyValueType::String,
            predicate: KeyFilterPredicate::String(StringFilterPredicate {
                operation,
                value: FilterPredicateValue::constant(value.into()),
                ignore_case,
            }),
        }
    }

    /// `key` as a boolean compared by `operation` with `value`.
    #[must_use]
    pub fn boolean(key: EntityKey, operation: BooleanOperation, value: bool) -> Self {
        Self {
            key,
            value_type: EntityKeyValueType::Boolean,
            predicate: KeyFilterPredicate::Boolean(BooleanFilterPredicate {
                operation,
                value: FilterPredicateValue::constant(value),
            }),
        }
    }
}

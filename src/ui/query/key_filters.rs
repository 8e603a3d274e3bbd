//! Key filter rows: a key, the type its value is compared as, and a predicate that is either
//! one comparison or a nested AND/OR group. Operands stay text until the query is built.

use crate::protocol::{
    BooleanFilterPredicate, BooleanOperation, ComplexFilterPredicate, ComplexOperation,
    DynamicValue, DynamicValueSourceType, EntityKey, EntityKeyType, EntityKeyValueType,
    FilterPredicateValue, KeyFilter, KeyFilterPredicate, NumericFilterPredicate, NumericOperation,
    StringFilterPredicate, StringOperation,
};

use super::validate::Problems;

/// The operation of one comparison; its variant says the comparison's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeafOp {
    /// Text comparison.
    String(StringOperation),
    /// Numeric (or date-time) comparison.
    Numeric(NumericOperation),
    /// Boolean comparison.
    Boolean(BooleanOperation),
}

impl LeafOp {
    /// The default comparison for keys compared as `value_type`.
    pub(crate) fn default_for(value_type: &EntityKeyValueType) -> Self {
        match value_type {
            EntityKeyValueType::Numeric | EntityKeyValueType::DateTime => {
                LeafOp::Numeric(NumericOperation::Equal)
            }
            EntityKeyValueType::Boolean => LeafOp::Boolean(BooleanOperation::Equal),
            EntityKeyValueType::String | EntityKeyValueType::Unknown(_) => {
                LeafOp::String(StringOperation::Equal)
            }
        }
    }

    /// Whether both are of the same kind.
    fn same_kind(&self, other: &LeafOp) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// A dynamic operand: a server attribute of the tenant, customer, user or device.
#[derive(Debug, Clone)]
pub(crate) struct DynamicForm {
    /// Whose attribute.
    pub(crate) source: DynamicValueSourceType,
    /// The attribute name.
    pub(crate) attribute: String,
    /// Look the attribute up on the owner chain when missing.
    pub(crate) inherit: bool,
}

/// One comparison.
#[derive(Debug, Clone)]
pub(crate) struct LeafForm {
    /// The operation.
    pub(crate) op: LeafOp,
    /// The operand (`defaultValue`) as typed.
    pub(crate) value: String,
    /// The `userValue` override as typed; only imports carry one.
    pub(crate) user_value: Option<String>,
    /// Case-insensitive text comparison.
    pub(crate) ignore_case: bool,
    /// Read the operand from an attribute.
    pub(crate) dynamic: Option<DynamicForm>,
}

impl LeafForm {
    /// A comparison for keys compared as `value_type`.
    pub(crate) fn new(value_type: &EntityKeyValueType) -> Self {
        let op = LeafOp::default_for(value_type);
        let value = if matches!(op, LeafOp::Boolean(_)) {
            "true".to_owned()
        } else {
            String::new()
        };
        Self {
            op,
            value,
            user_value: None,
            ignore_case: false,
            dynamic: None,
        }
    }
}

/// A predicate being edited.
#[derive(Debug, Clone)]
pub(crate) enum PredicateForm {
    /// One comparison.
    Leaf(LeafForm),
    /// An AND/OR group; members may be groups.
    Group {
        /// How the members combine.
        operation: ComplexOperation,
        /// The members.
        members: Vec<PredicateForm>,
    },
}

/// One key filter being edited.
#[derive(Debug, Clone)]
pub(crate) struct KeyFilterRow {
    /// Field, attribute (scope) or time series.
    pub(crate) key_type: EntityKeyType,
    /// The key name.
    pub(crate) key: String,
    /// How the value is compared.
    pub(crate) value_type: EntityKeyValueType,
    /// The comparison.
    pub(crate) predicate: PredicateForm,
}

impl Default for KeyFilterRow {
    fn default() -> Self {
        let value_type = EntityKeyValueType::Numeric;
        Self {
            key_type: EntityKeyType::TimeSeries,
            key: String::new(),
            predicate: PredicateForm::Leaf(LeafForm::new(&value_type)),
            value_type,
        }
    }
}

/// `20.0` → `"20"`, `1.6725312E12` → `"1672531200000"`: Rust's shortest text that reads
/// back to the same number.
fn number_text(v: f64) -> String {
    format!("{v}")
}

fn dynamic_from(d: Option<&DynamicValue>) -> Option<DynamicForm> {
    d.map(|d| DynamicForm {
        source: d.source_type.clone(),
        attribute: d.source_attribute.clone(),
        inherit: d.inherit,
    })
}

impl PredicateForm {
    /// The form showing `predicate`.
    pub(crate) fn from_predicate(predicate: &KeyFilterPredicate) -> Self {
        match predicate {
            KeyFilterPredicate::String(s) => PredicateForm::Leaf(LeafForm {
                op: LeafOp::String(s.operation.clone()),
                value: s.value.default_value.clone(),
                user_value: s.value.user_value.clone(),
                ignore_case: s.ignore_case,
                dynamic: dynamic_from(s.value.dynamic_value.as_ref()),
            }),
            KeyFilterPredicate::Numeric(n) => PredicateForm::Leaf(LeafForm {
                op: LeafOp::Numeric(n.operation.clone()),
                value: number_text(n.value.default_value),
                user_value: n.value.user_value.map(number_text),
                ignore_case: false,
                dynamic: dynamic_from(n.value.dynamic_value.as_ref()),
            }),
            KeyFilterPredicate::Boolean(b) => PredicateForm::Leaf(LeafForm {
                op: LeafOp::Boolean(b.operation.clone()),
                value: b.value.default_value.to_string(),
                user_value: b.value.user_value.map(|v| v.to_string()),
                ignore_case: false,
                dynamic: dynamic_from(b.value.dynamic_value.as_ref()),
            }),
            KeyFilterPredicate::Complex(c) => PredicateForm::Group {
                operation: c.operation.clone(),
                members: c.predicates.iter().map(Self::from_predicate).collect(),
            },
        }
    }

    /// Makes every comparison fit keys compared as `value_type` (a text operand is kept;
    /// it becomes a problem if it does not fit).
    pub(crate) fn retype(&mut self, value_type: &EntityKeyValueType) {
        match self {
            PredicateForm::Leaf(leaf) => {
                let op = LeafOp::default_for(value_type);
                if !leaf.op.same_kind(&op) {
                    let fresh = LeafForm::new(value_type);
                    leaf.op = op;
                    leaf.user_value = None;
                    leaf.ignore_case = false;
                    if matches!(leaf.op, LeafOp::Boolean(_)) {
                        leaf.value = fresh.value;
                    }
                }
            }
            PredicateForm::Group { members, .. } => {
                for m in members {
                    m.retype(value_type);
                }
            }
        }
    }

    /// The predicate; problems are recorded under `path`.
    pub(crate) fn build(&self, path: &str, p: &mut Problems) -> KeyFilterPredicate {
        match self {
            PredicateForm::Leaf(leaf) => leaf.build(path, p),
            PredicateForm::Group { operation, members } => {
                if members.is_empty() {
                    p.push(
                        &format!("{path}.predicates"),
                        "Add at least one condition to the group",
                    );
                }
                KeyFilterPredicate::Complex(ComplexFilterPredicate {
                    operation: operation.clone(),
                    predicates: members
                        .iter()
                        .enumerate()
                        .map(|(i, m)| m.build(&format!("{path}.predicates[{i}]"), p))
                        .collect(),
                })
            }
        }
    }
}

impl LeafForm {
    fn dynamic(&self, path: &str, p: &mut Problems) -> Option<DynamicValue> {
        self.dynamic.as_ref().map(|d| {
            p.required(
                &format!("{path}.dynamic"),
                &d.attribute,
                "Enter the attribute the value is read from",
            );
            DynamicValue {
                source_type: d.source.clone(),
                source_attribute: d.attribute.trim().to_owned(),
                inherit: d.inherit,
            }
        })
    }

    /// The operand and its user value parsed by `parse` (a parse failure is a problem and
    /// builds as the type's default).
    fn operand<T: Default>(
        &self,
        path: &str,
        p: &mut Problems,
        dynamic_value: Option<DynamicValue>,
        parse: fn(&mut Problems, &str, &str) -> Option<T>,
    ) -> FilterPredicateValue<T> {
        let default_value = parse(p, &format!("{path}.value"), &self.value).unwrap_or_default();
        let user_value = self
            .user_value
            .as_ref()
            .map(|u| parse(p, &format!("{path}.user_value"), u).unwrap_or_default());
        FilterPredicateValue {
            default_value,
            user_value,
            dynamic_value,
        }
    }

    fn build(&self, path: &str, p: &mut Problems) -> KeyFilterPredicate {
        let dynamic_value = self.dynamic(path, p);
        match &self.op {
            LeafOp::String(op) => KeyFilterPredicate::String(StringFilterPredicate {
                operation: op.clone(),
                value: FilterPredicateValue {
                    default_value: self.value.clone(),
                    user_value: self.user_value.clone(),
                    dynamic_value,
                },
                ignore_case: self.ignore_case,
            }),
            LeafOp::Numeric(op) => KeyFilterPredicate::Numeric(NumericFilterPredicate {
                operation: op.clone(),
                value: self.operand(path, p, dynamic_value, Problems::number),
            }),
            LeafOp::Boolean(op) => KeyFilterPredicate::Boolean(BooleanFilterPredicate {
                operation: op.clone(),
                value: self.operand(path, p, dynamic_value, Problems::boolean),
            }),
        }
    }
}

impl KeyFilterRow {
    /// The row showing `filter`.
    pub(crate) fn from_filter(filter: &KeyFilter) -> Self {
        Self {
            key_type: filter.key.key_type.clone(),
            key: filter.key.key.clone(),
            value_type: filter.value_type.clone(),
            predicate: PredicateForm::from_predicate(&filter.predicate),
        }
    }

    /// The key filter; problems are recorded under `key_filters[index]`.
    pub(crate) fn build(&self, index: usize, p: &mut Problems) -> KeyFilter {
        let path = format!("key_filters[{index}]");
        p.required(
            &format!("{path}.key"),
            &self.key,
            "Enter the key, e.g. temperature",
        );
        KeyFilter {
            key: EntityKey::new(self.key_type.clone(), self.key.trim()),
            value_type: self.value_type.clone(),
            predicate: self.predicate.build(&format!("{path}.predicate"), p),
        }
    }
}

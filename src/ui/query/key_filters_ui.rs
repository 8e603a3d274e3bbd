//! Drawing key filters: one framed row per filter, predicates drawn recursively so AND/OR
//! groups nest.

use crate::protocol::{
    BooleanOperation, ComplexOperation, DynamicValueSourceType, EntityKeyValueType,
    NumericOperation, StringOperation,
};

use super::key_filters::{DynamicForm, KeyFilterRow, LeafForm, LeafOp, PredicateForm};
use super::widgets::{
    FormCtx, KEY_TYPES, combo, combo_row, key_type_label, pick_key_ui, remove_button, text_row,
};

/// Deepest group nesting the form offers (the server has no limit; people do).
const MAX_DEPTH: usize = 6;

const VALUE_TYPES: [EntityKeyValueType; 4] = [
    EntityKeyValueType::String,
    EntityKeyValueType::Numeric,
    EntityKeyValueType::Boolean,
    EntityKeyValueType::DateTime,
];

fn value_type_label(t: &EntityKeyValueType) -> String {
    match t {
        EntityKeyValueType::String => "Text".to_owned(),
        EntityKeyValueType::Numeric => "Number".to_owned(),
        EntityKeyValueType::Boolean => "True or false".to_owned(),
        EntityKeyValueType::DateTime => "Date and time".to_owned(),
        EntityKeyValueType::Unknown(name) => name.clone(),
    }
}

fn op_label(op: &LeafOp) -> String {
    let text = match op {
        LeafOp::String(o) => match o {
            StringOperation::Equal => "equals",
            StringOperation::NotEqual => "does not equal",
            StringOperation::StartsWith => "starts with",
            StringOperation::EndsWith => "ends with",
            StringOperation::Contains => "contains",
            StringOperation::NotContains => "does not contain",
            StringOperation::In => "is one of",
            StringOperation::NotIn => "is not one of",
            StringOperation::Unknown(name) => name,
        },
        LeafOp::Numeric(o) => match o {
            NumericOperation::Equal => "equals",
            NumericOperation::NotEqual => "does not equal",
            NumericOperation::Greater => "greater than",
            NumericOperation::Less => "less than",
            NumericOperation::GreaterOrEqual => "greater or equal",
            NumericOperation::LessOrEqual => "less or equal",
            NumericOperation::Unknown(name) => name,
        },
        LeafOp::Boolean(o) => match o {
            BooleanOperation::Equal => "equals",
            BooleanOperation::NotEqual => "does not equal",
            BooleanOperation::Unknown(name) => name,
        },
    };
    text.to_owned()
}

/// The operations of the same kind as `op`.
fn ops_like(op: &LeafOp) -> Vec<LeafOp> {
    match op {
        LeafOp::String(_) => StringOperation::KNOWN
            .iter()
            .cloned()
            .map(LeafOp::String)
            .collect(),
        LeafOp::Numeric(_) => NumericOperation::KNOWN
            .iter()
            .cloned()
            .map(LeafOp::Numeric)
            .collect(),
        LeafOp::Boolean(_) => BooleanOperation::KNOWN
            .iter()
            .cloned()
            .map(LeafOp::Boolean)
            .collect(),
    }
}

fn group_label(op: &ComplexOperation) -> String {
    match op {
        ComplexOperation::And => "All of (AND)".to_owned(),
        ComplexOperation::Or => "Any of (OR)".to_owned(),
        ComplexOperation::Unknown(name) => name.clone(),
    }
}

fn source_label(s: &DynamicValueSourceType) -> String {
    match s {
        DynamicValueSourceType::CurrentTenant => "Current tenant".to_owned(),
        DynamicValueSourceType::CurrentCustomer => "Current customer".to_owned(),
        DynamicValueSourceType::CurrentUser => "Current user".to_owned(),
        DynamicValueSourceType::CurrentDevice => "Current device".to_owned(),
        DynamicValueSourceType::Unknown(name) => name.clone(),
    }
}

/// Draws the key filters and their AND/OR choice.
pub(crate) fn key_filters_ui(
    ui: &mut egui::Ui,
    ctx: &mut FormCtx<'_>,
    rows: &mut Vec<KeyFilterRow>,
    operation: &mut Option<ComplexOperation>,
) {
    if rows.len() > 1 {
        // `None` means AND on the wire; keep it `None` unless the user picks.
        let and = if *operation == Some(ComplexOperation::And) {
            Some(ComplexOperation::And)
        } else {
            None
        };
        combo_row(
            ui,
            "Combine filters",
            "key_filters_operation",
            operation,
            &[and, Some(ComplexOperation::Or)],
            |o| match o {
                Some(ComplexOperation::Or) => "Any may match (OR)".to_owned(),
                Some(ComplexOperation::Unknown(name)) => name.clone(),
                _ => "All must match (AND)".to_owned(),
            },
        );
    }
    let mut remove = None;
    for (i, row) in rows.iter_mut().enumerate() {
        ui.push_id(("key_filter", i), |ui| {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                if row_ui(ui, ctx, row, i) {
                    remove = Some(i);
                }
            });
        });
    }
    if let Some(i) = remove {
        rows.remove(i);
    }
    if ui.button("Add key filter").clicked() {
        rows.push(KeyFilterRow::default());
    }
}

/// One key filter; returns whether "Remove" was clicked.
fn row_ui(ui: &mut egui::Ui, ctx: &mut FormCtx<'_>, row: &mut KeyFilterRow, index: usize) -> bool {
    let path = format!("key_filters[{index}]");
    combo_row(
        ui,
        "Key type",
        "key_type",
        &mut row.key_type,
        &KEY_TYPES,
        key_type_label,
    );
    text_row(ui, "Key name", &mut row.key, "key_name", "e.g. temperature");
    known_keys_ui(ui, ctx, row);
    ctx.problems_at(ui, &format!("{path}.key"));
    if combo_row(
        ui,
        "Compare as",
        "value_type",
        &mut row.value_type,
        &VALUE_TYPES,
        value_type_label,
    ) {
        row.predicate.retype(&row.value_type);
    }
    let value_type = row.value_type.clone();
    predicate_ui(
        ui,
        ctx,
        &mut row.predicate,
        &format!("{path}.predicate"),
        &value_type,
        0,
    );
    remove_button(ui, "this key filter")
}

/// A drop-down of the keys the app knows for the row's key type.
fn known_keys_ui(ui: &mut egui::Ui, ctx: &FormCtx<'_>, row: &mut KeyFilterRow) {
    if !ctx.available.has_any(&row.key_type) {
        return;
    }
    pick_key_ui(ui, "Known keys", "known_keys", |ui| {
        // Listed only while open: the server may report thousands of keys.
        for key in ctx.available.for_type(&row.key_type) {
            if ui.selectable_label(row.key == key, &key).clicked() {
                row.key = key;
            }
        }
    });
}

/// A predicate: a comparison, or a group drawing its members. Returns nothing; members are
/// removed by their group.
fn predicate_ui(
    ui: &mut egui::Ui,
    ctx: &mut FormCtx<'_>,
    predicate: &mut PredicateForm,
    path: &str,
    value_type: &EntityKeyValueType,
    depth: usize,
) {
    match predicate {
        PredicateForm::Leaf(leaf) => {
            leaf_ui(ui, ctx, leaf, path, value_type);
            if depth == 0 && ui.small_button("Make a group").clicked() {
                let leaf = std::mem::replace(
                    predicate,
                    PredicateForm::Group {
                        operation: ComplexOperation::And,
                        members: Vec::new(),
                    },
                );
                if let PredicateForm::Group { members, .. } = predicate {
                    members.push(leaf);
                }
            }
        }
        PredicateForm::Group { operation, members } => {
            group_ui(ui, ctx, (operation, members), path, value_type, depth);
        }
    }
}

fn group_ui(
    ui: &mut egui::Ui,
    ctx: &mut FormCtx<'_>,
    (operation, members): (&mut ComplexOperation, &mut Vec<PredicateForm>),
    path: &str,
    value_type: &EntityKeyValueType,
    depth: usize,
) {
    combo_row(
        ui,
        "Group",
        "group_operation",
        operation,
        &[ComplexOperation::And, ComplexOperation::Or],
        group_label,
    );
    let mut remove = None;
    ui.indent("members", |ui| {
        for (i, member) in members.iter_mut().enumerate() {
            ui.push_id(("member", i), |ui| {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    let member_path = format!("{path}.predicates[{i}]");
                    predicate_ui(ui, ctx, member, &member_path, value_type, depth + 1);
                    if remove_button(ui, "this condition") {
                        remove = Some(i);
                    }
                });
            });
        }
    });
    if let Some(i) = remove {
        members.remove(i);
    }
    ctx.problems_at(ui, &format!("{path}.predicates"));
    ui.horizontal(|ui| {
        if ui.small_button("Add condition").clicked() {
            members.push(PredicateForm::Leaf(LeafForm::new(value_type)));
        }
        if ui
            .add_enabled(depth < MAX_DEPTH, egui::Button::new("Add group").small())
            .clicked()
        {
            members.push(PredicateForm::Group {
                operation: ComplexOperation::Or,
                members: vec![PredicateForm::Leaf(LeafForm::new(value_type))],
            });
        }
    });
}

fn value_hint(op: &LeafOp, value_type: &EntityKeyValueType) -> &'static str {
    match (op, value_type) {
        (LeafOp::String(StringOperation::In | StringOperation::NotIn), _) => "a,b,c",
        (LeafOp::Numeric(_), EntityKeyValueType::DateTime) => "epoch ms, e.g. 1700000000000",
        (LeafOp::Numeric(_), _) => "e.g. 20",
        _ => "text",
    }
}

/// One comparison: operation, operand, and the optional parts.
fn leaf_ui(
    ui: &mut egui::Ui,
    ctx: &FormCtx<'_>,
    leaf: &mut LeafForm,
    path: &str,
    value_type: &EntityKeyValueType,
) {
    let ops = ops_like(&leaf.op);
    combo_row(ui, "Operation", "operation", &mut leaf.op, &ops, op_label);
    value_ui(ui, "Value", "value", &mut leaf.value, &leaf.op, value_type);
    ctx.problems_at(ui, &format!("{path}.value"));
    if matches!(leaf.op, LeafOp::String(_)) {
        ui.checkbox(&mut leaf.ignore_case, "Ignore case");
    }
    let mut drop_user_value = false;
    if let Some(user) = &mut leaf.user_value {
        value_ui(ui, "User value", "user_value", user, &leaf.op, value_type);
        drop_user_value = ui
            .small_button("Drop the user value")
            .on_hover_text("compare with the value above instead")
            .clicked();
        ctx.problems_at(ui, &format!("{path}.user_value"));
    }
    if drop_user_value {
        leaf.user_value = None;
    }
    dynamic_ui(ui, &mut leaf.dynamic);
    ctx.problems_at(ui, &format!("{path}.dynamic"));
}

fn value_ui(
    ui: &mut egui::Ui,
    label: &str,
    salt: &str,
    value: &mut String,
    op: &LeafOp,
    value_type: &EntityKeyValueType,
) {
    if matches!(op, LeafOp::Boolean(_)) {
        ui.horizontal(|ui| {
            let l = ui.label(label);
            combo(
                ui,
                salt,
                value,
                &["true".to_owned(), "false".to_owned()],
                &|s: &String| s.clone(),
            )
            .labelled_by(l.id);
        });
    } else {
        text_row(ui, label, value, salt, value_hint(op, value_type));
    }
}

fn dynamic_ui(ui: &mut egui::Ui, dynamic: &mut Option<DynamicForm>) {
    let mut on = dynamic.is_some();
    if ui
        .checkbox(&mut on, "Read the value from an attribute")
        .changed()
    {
        *dynamic = on.then(|| DynamicForm {
            source: DynamicValueSourceType::CurrentTenant,
            attribute: String::new(),
            inherit: false,
        });
    }
    if let Some(d) = dynamic {
        combo_row(
            ui,
            "Attribute of",
            "dynamic_source",
            &mut d.source,
            DynamicValueSourceType::KNOWN,
            source_label,
        );
        text_row(
            ui,
            "Attribute",
            &mut d.attribute,
            "dynamic_attribute",
            "server attribute name",
        );
        ui.checkbox(&mut d.inherit, "Inherit from owners");
        ui.weak("The value above is used when the attribute is missing");
    }
}

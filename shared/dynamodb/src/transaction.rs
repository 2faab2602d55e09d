//! One `TransactWriteItems`: its writes, each with the condition it puts on its item and
//! what a failure of that condition means.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::ports::{Expected, Guard, StoreError};

use crate::errors::unavailable;
use crate::items::{n, Item};

/// A condition on one written item: the expression and its `:values`.
pub(crate) struct Condition {
    pub expression: &'static str,
    pub values: Vec<(&'static str, AttributeValue)>,
}

impl Condition {
    pub fn absent() -> Self {
        Self { expression: "attribute_not_exists(pk)", values: Vec::new() }
    }
    pub fn present() -> Self {
        Self { expression: "attribute_exists(pk)", values: Vec::new() }
    }
    /// The customer record is as the writer read it (missing when it expects so).
    pub fn customer(expected: Expected) -> Self {
        match expected {
            Expected::Absent => Self::absent(),
            Expected::Version(v) => Self { expression: "v = :v", values: vec![(":v", n(v))] },
        }
    }
    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }
}

/// The writes of one transaction, each with what its failed condition means.
#[derive(Default)]
pub(crate) struct Transaction {
    pub writes: Vec<TransactWriteItem>,
    pub roles: Vec<Option<Guard>>,
}

/// A write's condition as the SDK builders take it, and what its failure means.
type ConditionParts = (Option<String>, Option<HashMap<String, AttributeValue>>, Option<Guard>);

fn condition_parts(condition: Option<(Condition, Guard)>) -> ConditionParts {
    match condition {
        Some((c, role)) => (Some(c.expression.to_owned()), c.values(), Some(role)),
        None => (None, None, None),
    }
}

/// Adds a `Put` or a `Delete` (the SDK's two builders, alike but of no common trait) of one
/// item or key to the transaction, under its condition, noting what the condition's failure means.
macro_rules! conditional_write {
    ($transaction:expr, $write:ident, $set_item:ident, $variant:ident, $table:expr, $item:expr, $condition:expr) => {{
        let (expression, values, role) = condition_parts($condition);
        let write = $write::builder()
            .table_name($table)
            .$set_item(Some($item))
            .set_condition_expression(expression)
            .set_expression_attribute_values(values)
            .build()
            .map_err(unavailable)?;
        $transaction.writes.push(TransactWriteItem::builder().$variant(write).build());
        $transaction.roles.push(role);
        Ok(())
    }};
}

impl Transaction {
    pub fn put(&mut self, table: &str, item: Item, condition: Option<(Condition, Guard)>) -> Result<(), StoreError> {
        conditional_write!(self, Put, set_item, put, table, item, condition)
    }

    pub fn delete(&mut self, table: &str, key: Item, condition: Option<(Condition, Guard)>) -> Result<(), StoreError> {
        conditional_write!(self, Delete, set_key, delete, table, key, condition)
    }

    /// Adds signed amounts to numeric attributes of an item (created if missing), without a
    /// condition: counters (the day book), which any order of commits sums the same.
    pub fn add(&mut self, table: &str, key: Item, amounts: &[(&str, i64)]) -> Result<(), StoreError> {
        if amounts.is_empty() {
            return Ok(());
        }
        let mut expression = Vec::new();
        let mut update = Update::builder().table_name(table).set_key(Some(key));
        for (i, (name, amount)) in amounts.iter().enumerate() {
            expression.push(format!("#a{i} :a{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(format!(":a{i}"), n(amount));
        }
        let write = update.update_expression(format!("ADD {}", expression.join(", "))).build().map_err(unavailable)?;
        self.writes.push(TransactWriteItem::builder().update(write).build());
        self.roles.push(None);
        Ok(())
    }

    /// Sets attributes of an existing item in place under `condition`, leaving its other
    /// attributes as they are (a refund's receipt keeps its purchase's ledger entries).
    pub fn set(
        &mut self,
        table: &str,
        key: Item,
        values: Vec<(&str, AttributeValue)>,
        condition: (Condition, Guard),
    ) -> Result<(), StoreError> {
        let (expression, condition_values, role) = condition_parts(Some(condition));
        let mut all_values = condition_values.unwrap_or_default();
        let mut update = Update::builder().table_name(table).set_key(Some(key)).set_condition_expression(expression);
        let mut assignments = Vec::new();
        for (i, (name, value)) in values.into_iter().enumerate() {
            assignments.push(format!("#s{i} = :s{i}"));
            update = update.expression_attribute_names(format!("#s{i}"), name);
            all_values.insert(format!(":s{i}"), value);
        }
        let write = update
            .update_expression(format!("SET {}", assignments.join(", ")))
            .set_expression_attribute_values(Some(all_values))
            .build()
            .map_err(unavailable)?;
        self.writes.push(TransactWriteItem::builder().update(write).build());
        self.roles.push(role);
        Ok(())
    }

    /// The customer item of `record` at the version after `expected`, only if the stored one
    /// is still as `expected` says (`Conflict` otherwise).
    pub fn put_customer(&mut self, table: &str, record: &CustomerRecord, expected: Expected) -> Result<(), StoreError> {
        let item = crate::items::customer_item(record, expected.next_version())?;
        self.put(table, item, Some((Condition::customer(expected), Guard::Unchanged)))
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }
}


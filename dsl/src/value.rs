//! Record values as the rules see them, decoded from the interchange format
//! against the schema (`record.rs`).

use crate::date::Date;

/// A present value. Absence is `None` in a record's field slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    /// Whole rupiah.
    Money(i64),
    Text(String),
    Date(Date),
    /// A variant by index into its enum's variants.
    Enum(u32),
    Record(Record),
    List(Vec<Value>),
}

/// A record's fields in schema order; `None` for a missing or null field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    pub fields: Vec<Option<Value>>,
}

impl Record {
    pub fn field(&self, index: u32) -> Option<&Value> {
        self.fields.get(index as usize).and_then(Option::as_ref)
    }
}

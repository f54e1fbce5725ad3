//! Household JSON to [`Value`](crate::value::Value) against the schema.

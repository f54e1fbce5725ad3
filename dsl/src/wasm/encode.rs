//! Households (decoded [`Value`]s) into a batch in the module's memory
//! layout (docs/abi.md). Pointers are written relative to the batch and
//! listed in a relocation table; the module adds the batch's address to
//! each before it reads anything.

use super::layout::{
    self, H_AS_OF, H_COUNT, H_INDEX, H_PARAMS, H_RELOC, H_RELOC_COUNT, HEADER_SIZE,
    PARAM_BAD_OVERRIDE, PARAM_NO_VALUE, PARAM_SLOT, PARAM_VALUE, PRESENCE, RecordLayout,
};
use crate::context::{EvalContext, resolve};
use crate::ev::{Ev, V, reason};
use crate::ir::{Program, RecordId, Type};
use crate::value::{Record, Value};

/// One record of a household, numbered in the order the encoder writes
/// them (depth first, fields in schema order, list elements in order).
pub(crate) struct RecordRef<'h> {
    pub path: String,
    pub record: &'h Record,
    pub id: RecordId,
}

/// The household's records by record number; the root is number 0.
pub(crate) fn records_of<'h>(program: &Program, household: &'h Value) -> Vec<RecordRef<'h>> {
    let mut out = Vec::new();
    let root = program
        .schema
        .root()
        .and_then(|s| program.schema.subjects.get(s.index()))
        .map(|s| s.record);
    if let (Some(id), Value::Record(record)) = (root, household) {
        walk_record(program, record, id, String::new(), &mut out);
    }
    out
}

fn walk_record<'h>(
    program: &Program,
    record: &'h Record,
    id: RecordId,
    path: String,
    out: &mut Vec<RecordRef<'h>>,
) {
    out.push(RecordRef {
        path: path.clone(),
        record,
        id,
    });
    let Some(def) = program.schema.records.get(id.index()) else {
        return;
    };
    for (i, field) in def.fields.iter().enumerate() {
        if let Some(value) = record.field(i as u32) {
            walk_value(program, value, &field.ty, join(&path, &field.name), out);
        }
    }
}

fn walk_value<'h>(
    program: &Program,
    value: &'h Value,
    ty: &Type,
    path: String,
    out: &mut Vec<RecordRef<'h>>,
) {
    match (value, ty) {
        (Value::Record(r), Type::Record(id)) => walk_record(program, r, *id, path, out),
        (Value::List(items), Type::List(elem)) => {
            for (i, item) in items.iter().enumerate() {
                walk_value(program, item, elem, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

struct Writer<'p> {
    program: &'p Program,
    layouts: Vec<RecordLayout>,
    buf: Vec<u8>,
    relocs: Vec<u32>,
    next_record: u32,
}

impl Writer<'_> {
    fn reserve(&mut self, size: u32) -> u32 {
        let at = self.buf.len().next_multiple_of(8);
        self.buf.resize(at + size as usize, 0);
        at as u32
    }

    fn put_u32(&mut self, at: u32, v: u32) {
        if let Some(slot) = self.buf.get_mut(at as usize..at as usize + 4) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
    }

    fn put_i64(&mut self, at: u32, v: i64) {
        if let Some(slot) = self.buf.get_mut(at as usize..at as usize + 8) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// A pointer relative to the batch, relocated by the module.
    fn put_ptr(&mut self, at: u32, target: u32) {
        self.put_u32(at, target);
        self.relocs.push(at);
    }

    fn text(&mut self, at: u32, s: &str) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(s.as_bytes());
        self.put_ptr(at, start);
        self.put_u32(at + 4, s.len() as u32);
    }

    /// Writes a value into the 8-byte slot at `at`.
    fn slot(&mut self, at: u32, value: &Value, ty: &Type) {
        match (value, ty) {
            (Value::Bool(b), _) => self.put_i64(at, i64::from(*b)),
            (Value::Int(n) | Value::Money(n), _) => self.put_i64(at, *n),
            (Value::Date(d), _) => self.put_i64(at, i64::from(d.yyyymmdd())),
            (Value::Enum(i), _) => self.put_i64(at, i64::from(*i)),
            (Value::Text(s), _) => self.text(at, s),
            (Value::Record(r), Type::Record(id)) => {
                let block = self.record(r, *id);
                self.put_ptr(at, block);
            }
            (Value::List(items), Type::List(elem)) => {
                let array = self.reserve(8 * items.len() as u32);
                self.put_ptr(at, array);
                self.put_u32(at + 4, items.len() as u32);
                for (i, item) in items.iter().enumerate() {
                    self.slot(array + 8 * i as u32, item, elem);
                }
            }
            _ => {}
        }
    }

    fn record(&mut self, record: &Record, id: RecordId) -> u32 {
        let Some(layout) = self.layouts.get(id.index()).cloned() else {
            return 0;
        };
        let block = self.reserve(layout.size);
        self.put_u32(block, self.next_record);
        self.next_record += 1;
        let Some(def) = self.program.schema.records.get(id.index()) else {
            return block;
        };
        for (i, (field, offset)) in def.fields.iter().zip(&layout.fields).enumerate() {
            if let Some(value) = record.field(i as u32) {
                let word = block + PRESENCE + 4 * (i as u32 / 32);
                let bits = self
                    .buf
                    .get(word as usize..word as usize + 4)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map_or(0, u32::from_le_bytes);
                self.put_u32(word, bits | 1 << (i % 32));
                self.slot(block + offset, value, &field.ty);
            }
        }
        block
    }
}

/// Encodes a batch of households for one evaluation context: the header,
/// the parameter values in force (or overridden), the households' records
/// and the relocation table.
pub fn encode_batch(program: &Program, households: &[Value], ctx: &EvalContext) -> Vec<u8> {
    let mut w = Writer {
        program,
        layouts: layout::layouts(&program.schema),
        buf: vec![0; HEADER_SIZE as usize],
        relocs: Vec::new(),
        next_record: 0,
    };
    w.put_u32(0, layout::ABI_VERSION);
    w.put_u32(H_COUNT, households.len() as u32);
    w.put_u32(H_AS_OF, ctx.as_of.yyyymmdd() as u32);
    let (values, _) = resolve(program, ctx.as_of, &ctx.overrides);
    let params = w.reserve(PARAM_SLOT * values.len() as u32);
    w.put_u32(H_PARAMS, params);
    for (i, value) in values.iter().enumerate() {
        let at = params + PARAM_SLOT * i as u32;
        match value {
            Ev::Val(v) => {
                w.put_u32(at, PARAM_VALUE);
                match v {
                    V::Bool(b) => w.put_i64(at + 8, i64::from(*b)),
                    V::Int(n) | V::Money(n) => w.put_i64(at + 8, *n),
                    V::Date(d) => w.put_i64(at + 8, i64::from(d.yyyymmdd())),
                    V::Enum(e) => w.put_i64(at + 8, i64::from(*e)),
                    V::Text(s) => w.text(at + 8, s),
                    V::Rec(_) | V::List(_) => {}
                }
            }
            Ev::Und(m) if m.contains(reason::BAD_OVERRIDE) => {
                w.put_u32(at, PARAM_BAD_OVERRIDE);
            }
            Ev::Und(_) => w.put_u32(at, PARAM_NO_VALUE),
        }
    }
    let index = w.reserve(4 * households.len() as u32);
    w.put_u32(H_INDEX, index);
    let root = program
        .schema
        .root()
        .and_then(|s| program.schema.subjects.get(s.index()))
        .map(|s| s.record);
    let empty = Record::default();
    for (h, household) in households.iter().enumerate() {
        w.next_record = 0;
        let record = match household {
            Value::Record(r) => r,
            _ => &empty,
        };
        let block = match root {
            Some(id) => w.record(record, id),
            None => 0,
        };
        if block != 0 {
            w.put_ptr(index + 4 * h as u32, block);
        }
    }
    let relocs = std::mem::take(&mut w.relocs);
    let table = w.reserve(4 * relocs.len() as u32);
    w.put_u32(H_RELOC, table);
    w.put_u32(H_RELOC_COUNT, relocs.len() as u32);
    for (i, at) in relocs.iter().enumerate() {
        w.put_u32(table + 4 * i as u32, *at);
    }
    w.buf
}

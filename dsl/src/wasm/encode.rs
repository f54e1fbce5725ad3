//! Households into a batch in the module's memory layout (docs/abi.md).
//! Pointers are written relative to the batch and listed in a relocation
//! table; the module adds the batch's address to each before it reads
//! anything.
//!
//! A [`BatchBuilder`] takes households one at a time, either as decoded
//! [`Value`]s ([`BatchBuilder::push_value`]) or straight from their JSON
//! text ([`BatchBuilder::push_json`], `scan.rs`: no `serde_json::Value`,
//! no `Value`), and both give the same bytes. The records are written into
//! an area of their own and moved behind the header, the parameters and
//! the household index when the batch is finished, because how long the
//! index is depends on how many households the batch ends up with.

use super::layout::{
    self, H_AS_OF, H_COUNT, H_INDEX, H_PARAMS, H_RELOC, H_RELOC_COUNT, HEADER_SIZE,
    PARAM_BAD_OVERRIDE, PARAM_NO_VALUE, PARAM_SLOT, PARAM_VALUE, PRESENCE, RecordLayout,
};
use crate::context::{EvalContext, resolve};
use crate::ev::{Ev, V, reason};
use crate::ir::{Program, RecordId, Type};
use crate::value::{Record, Value};

mod read;
mod scan;

pub use read::{households_of_batch, names_of_batch};

/// One record of a household, numbered in the order the encoder writes
/// them (depth first, fields in schema order, list elements in order).
/// Its path (`families[0].members[2]`) is made only when asked for
/// ([`path_of`]): a summary needs the paths of few records, if any.
pub(crate) struct RecordRef<'h> {
    pub record: &'h Record,
    pub id: RecordId,
    /// Where it sits: `None` for the household itself.
    place: Option<Place>,
}

/// What the decoders ask of a household's record, whatever holds it: its
/// type, its place (for its path) and its key.
pub(crate) trait Placed {
    fn id(&self) -> RecordId;
    fn place(&self) -> Option<&Place>;
    /// The record's key rendered as text, when it has one.
    fn key(&self, program: &Program) -> Option<String>;
}

impl Placed for RecordRef<'_> {
    fn id(&self) -> RecordId {
        self.id
    }

    fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }

    fn key(&self, program: &Program) -> Option<String> {
        crate::explain::key_of(program, self.record, self.id)
    }
}

/// A household's records as a summary names them: each record's type,
/// place and key, numbered as [`records_of`] numbers them, and nothing
/// else of the household. Read straight from a batch's bytes
/// (`names_of_batch`, no [`Value`] built) or from a decoded household
/// ([`Names::of`]).
#[derive(Debug)]
pub struct Names(Vec<Named>);

#[derive(Debug)]
pub(crate) struct Named {
    id: RecordId,
    place: Option<Place>,
    key: Option<String>,
}

impl Placed for Named {
    fn id(&self) -> RecordId {
        self.id
    }

    fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }

    fn key(&self, _: &Program) -> Option<String> {
        self.key.clone()
    }
}

impl Names {
    /// The names of a decoded household.
    pub fn of(program: &Program, household: &Value) -> Names {
        Names(
            records_of(program, household)
                .into_iter()
                .map(|r| Named {
                    key: r.key(program),
                    id: r.id,
                    place: r.place,
                })
                .collect(),
        )
    }

    pub(crate) fn records(&self) -> &[Named] {
        &self.0
    }
}

/// A record's place in its parent record: the parent's number, the field
/// holding it, and its positions when that field is a list (more than one
/// for a list of lists).
#[derive(Debug)]
pub(crate) struct Place {
    parent: usize,
    field: u32,
    index: Index,
}

#[derive(Debug)]
enum Index {
    None,
    One(u32),
    Nested(Box<[u32]>),
}

/// The household's records by record number; the root is number 0.
pub(crate) fn records_of<'h>(program: &Program, household: &'h Value) -> Vec<RecordRef<'h>> {
    let mut out = Vec::new();
    if let (Some(id), Value::Record(record)) = (root_record(program), household) {
        walk_record(program, record, id, None, &mut out);
    }
    out
}

impl Index {
    /// The positions in the lists around a record.
    fn of(positions: &[u32]) -> Index {
        match positions {
            [] => Index::None,
            [i] => Index::One(*i),
            is => Index::Nested(is.into()),
        }
    }
}

/// The path of record number `n` (`""` for the household itself).
pub(crate) fn path_of<R: Placed>(program: &Program, recs: &[R], n: usize) -> String {
    let Some(Place {
        parent,
        field,
        index,
    }) = recs.get(n).and_then(|r| r.place())
    else {
        return String::new();
    };
    // Parents come before their children, which bounds the recursion by
    // the schema's nesting.
    let mut path = if *parent < n {
        path_of(program, recs, *parent)
    } else {
        String::new()
    };
    let name = recs
        .get(*parent)
        .and_then(|p| program.schema.records.get(p.id().index()))
        .and_then(|r| r.fields.get(*field as usize))
        .map_or("", |f| f.name.as_str());
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
    let mut push = |i: u32| {
        path.push('[');
        path.push_str(&i.to_string());
        path.push(']');
    };
    match index {
        Index::None => {}
        Index::One(i) => push(*i),
        Index::Nested(is) => is.iter().copied().for_each(push),
    }
    path
}

/// The record of the schema's root subject.
fn root_record(program: &Program) -> Option<RecordId> {
    program
        .schema
        .root()
        .and_then(|s| program.schema.subjects.get(s.index()))
        .map(|s| s.record)
}

fn walk_record<'h>(
    program: &Program,
    record: &'h Record,
    id: RecordId,
    place: Option<Place>,
    out: &mut Vec<RecordRef<'h>>,
) {
    let me = out.len();
    out.push(RecordRef { record, id, place });
    let Some(def) = program.schema.records.get(id.index()) else {
        return;
    };
    for (i, field) in def.fields.iter().enumerate() {
        if let Some(value) = record.field(i as u32) {
            walk_value(program, value, &field.ty, (me, i as u32), &[], out);
        }
    }
}

/// Walks `value` of field `at.1` of record `at.0`, `index` the positions
/// in the lists around it.
fn walk_value<'h>(
    program: &Program,
    value: &'h Value,
    ty: &Type,
    at: (usize, u32),
    index: &[u32],
    out: &mut Vec<RecordRef<'h>>,
) {
    match (value, ty) {
        (Value::Record(r), Type::Record(id)) => {
            let place = Place {
                parent: at.0,
                field: at.1,
                index: Index::of(index),
            };
            walk_record(program, r, *id, Some(place), out);
        }
        (Value::List(items), Type::List(elem)) => {
            let mut inner = index.to_vec();
            inner.push(0);
            for (i, item) in items.iter().enumerate() {
                if let Some(last) = inner.last_mut() {
                    *last = i as u32;
                }
                walk_value(program, item, elem, at, &inner, out);
            }
        }
        _ => {}
    }
}

/// What one 8-byte slot holds: a value, or a pointer (relative to the
/// writer's bytes, so relocated) and the word after it (a text's length, a
/// list's count; 0 after a record's pointer). Two scalars, so that it is
/// returned in registers (as an enum it went through memory, and reading it
/// back stalled the scanner).
#[derive(Clone, Copy)]
struct Slot {
    /// The slot's eight bytes, little-endian.
    bytes: u64,
    /// Whether the low half is a pointer to relocate.
    pointer: bool,
}

impl Slot {
    fn word(n: i64) -> Slot {
        Slot {
            bytes: n as u64,
            pointer: false,
        }
    }

    fn ptr(target: u32, after: u32) -> Slot {
        Slot {
            bytes: u64::from(target) | u64::from(after) << 32,
            pointer: true,
        }
    }
}

/// A growing run of 8-aligned blocks and text bytes, with the offsets of
/// its pointer words.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
    relocs: Vec<u32>,
    next_record: u32,
}

impl Writer {
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

    fn get_u32(&self, at: u32) -> u32 {
        self.buf
            .get(at as usize..at as usize + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes)
    }

    fn put_i64(&mut self, at: u32, v: i64) {
        if let Some(slot) = self.buf.get_mut(at as usize..at as usize + 8) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// A pointer relative to the start of this writer's bytes.
    fn put_ptr(&mut self, at: u32, target: u32) {
        self.put_u32(at, target);
        self.relocs.push(at);
    }

    /// Writes `slot` into the 8-byte slot at `at`.
    fn put(&mut self, at: u32, slot: Slot) {
        self.put_i64(at, slot.bytes as i64);
        if slot.pointer {
            self.relocs.push(at);
        }
    }

    /// A text's bytes; the slot that points to them.
    fn text(&mut self, s: &str) -> Slot {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(s.as_bytes());
        Slot::ptr(start, s.len() as u32)
    }

    /// A list's array of element slots, placed after the elements' own
    /// bytes (their records and texts), so that a writer that reads the
    /// elements one by one need not count them first; the list's slot.
    fn array(&mut self, items: &[Slot]) -> Slot {
        let array = self.reserve(8 * items.len() as u32);
        for (i, item) in items.iter().enumerate() {
            self.put(array + 8 * i as u32, *item);
        }
        Slot::ptr(array, items.len() as u32)
    }

    /// Sets field `field`'s presence bit in the record block at `block`.
    fn present(&mut self, block: u32, field: usize) {
        let word = block + PRESENCE + 4 * (field as u32 / 32);
        let bits = self.get_u32(word);
        self.put_u32(word, bits | 1 << (field % 32));
    }

    /// A new record block of layout `layout`, numbered.
    fn block(&mut self, layout: &RecordLayout) -> u32 {
        let block = self.reserve(layout.size);
        self.put_u32(block, self.next_record);
        self.next_record += 1;
        block
    }
}

/// The program's record layouts, with the writer of [`Value`]s.
struct Values<'p> {
    program: &'p Program,
    layouts: &'p [RecordLayout],
}

impl Values<'_> {
    /// Writes what a value puts after the record that holds it (its
    /// texts, records and lists); the value's slot.
    fn slot(&self, w: &mut Writer, value: &Value, ty: &Type) -> Slot {
        match (value, ty) {
            (Value::Bool(b), _) => Slot::word(i64::from(*b)),
            (Value::Int(n) | Value::Money(n), _) => Slot::word(*n),
            (Value::Date(d), _) => Slot::word(i64::from(d.yyyymmdd())),
            (Value::Enum(i), _) => Slot::word(i64::from(*i)),
            (Value::Text(s), _) => w.text(s),
            (Value::Record(r), Type::Record(id)) => {
                Slot::ptr(self.record(w, r, *id).unwrap_or(0), 0)
            }
            (Value::List(items), Type::List(elem)) => {
                let slots: Vec<Slot> = items.iter().map(|item| self.slot(w, item, elem)).collect();
                w.array(&slots)
            }
            _ => Slot::word(0),
        }
    }

    fn record(&self, w: &mut Writer, record: &Record, id: RecordId) -> Option<u32> {
        let layout = self.layouts.get(id.index())?;
        let block = w.block(layout);
        let Some(def) = self.program.schema.records.get(id.index()) else {
            return Some(block);
        };
        for (i, (field, offset)) in def.fields.iter().zip(&layout.fields).enumerate() {
            if let Some(value) = record.field(i as u32) {
                w.present(block, i);
                let slot = self.slot(w, value, &field.ty);
                w.put(block + offset, slot);
            }
        }
        Some(block)
    }
}

/// A batch being built, household by household: `push_value` or
/// `push_json` each, then `finish` with the evaluation context.
pub struct BatchBuilder<'p> {
    program: &'p Program,
    layouts: Vec<RecordLayout>,
    root: Option<RecordId>,
    /// The households' records; offsets relative to the area.
    area: Writer,
    /// Per household, its root block in the area (none without a root
    /// record) and how many of the area's relocations came before its
    /// index entry.
    roots: Vec<(Option<u32>, usize)>,
    /// The scanner's stack of list element slots, kept between households.
    items: Vec<Slot>,
}

impl<'p> BatchBuilder<'p> {
    pub fn new(program: &'p Program) -> BatchBuilder<'p> {
        BatchBuilder {
            program,
            layouts: layout::layouts(&program.schema),
            root: root_record(program),
            area: Writer::default(),
            roots: Vec::new(),
            items: Vec::new(),
        }
    }

    /// How many households the batch holds.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Adds a decoded household (a `Value::Record` of the root record;
    /// anything else is encoded as an empty record).
    pub fn push_value(&mut self, household: &Value) {
        let empty = Record::default();
        let record = match household {
            Value::Record(r) => r,
            _ => &empty,
        };
        self.area.next_record = 0;
        let values = Values {
            program: self.program,
            layouts: &self.layouts,
        };
        let block = self
            .root
            .and_then(|id| values.record(&mut self.area, record, id));
        self.roots.push((block, self.area.relocs.len()));
    }

    /// Adds a household straight from one line of JSON, when the line is
    /// one the fast scanner takes whole: an object with only fields its
    /// records name, plain strings and integers, the fields that hold text,
    /// lists or records in schema order. For any other line (malformed, an
    /// unknown field, an escape in a string, a number with a fraction or an
    /// exponent, ...) it returns false and leaves the batch as it was: the
    /// caller decodes the line with `record::decode_line_with`, which gives
    /// the exact errors or the value for [`BatchBuilder::push_value`].
    pub fn push_json(&mut self, line: &str) -> bool {
        let Some(root) = self.root else {
            return false;
        };
        let mark = (
            self.area.buf.len(),
            self.area.relocs.len(),
            self.area.next_record,
        );
        self.area.next_record = 0;
        let scanned = scan::household(
            self.program,
            &self.layouts,
            &mut self.area,
            &mut self.items,
            root,
            line,
        );
        match scanned {
            Some(block) => {
                self.roots.push((Some(block), self.area.relocs.len()));
                true
            }
            None => {
                self.area.buf.truncate(mark.0);
                self.area.relocs.truncate(mark.1);
                self.area.next_record = mark.2;
                false
            }
        }
    }

    /// The batch: the header, the parameter values in force at `ctx.as_of`
    /// (or overridden), the household index, the records and the
    /// relocation table. The builder is left empty, for the next batch
    /// (it keeps its buffers).
    pub fn finish(&mut self, ctx: &EvalContext) -> Vec<u8> {
        let program = self.program;
        let count = self.roots.len() as u32;
        let mut w = Writer {
            buf: Vec::with_capacity(self.area.buf.len() + 4096),
            ..Writer::default()
        };
        w.buf.resize(HEADER_SIZE as usize, 0);
        w.put_u32(0, layout::ABI_VERSION);
        w.put_u32(H_COUNT, count);
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
                        V::Text(s) => {
                            let text = w.text(s);
                            w.put(at + 8, text);
                        }
                        V::Rec(_) | V::List(_) => {}
                    }
                }
                Ev::Und(m) if m.contains(reason::BAD_OVERRIDE) => {
                    w.put_u32(at, PARAM_BAD_OVERRIDE);
                }
                Ev::Und(_) => w.put_u32(at, PARAM_NO_VALUE),
            }
        }
        let index = w.reserve(4 * count);
        w.put_u32(H_INDEX, index);
        // The area, 8-aligned as its first block was, with every pointer
        // in it moved by where it now starts.
        let base = w.buf.len().next_multiple_of(8) as u32;
        w.buf.resize(base as usize, 0);
        w.buf.extend_from_slice(&self.area.buf);
        let mut area_relocs = self.area.relocs.iter().enumerate().peekable();
        for (h, (block, before)) in self.roots.iter().enumerate() {
            while let Some((_, at)) = area_relocs.next_if(|(i, _)| i < before) {
                let target = w.get_u32(base + at);
                w.put_ptr(base + at, base + target);
            }
            if let Some(block) = block {
                w.put_ptr(index + 4 * h as u32, base + block);
            }
        }
        for (_, at) in area_relocs {
            let target = w.get_u32(base + at);
            w.put_ptr(base + at, base + target);
        }
        self.area.buf.clear();
        self.area.relocs.clear();
        self.roots.clear();
        let relocs = std::mem::take(&mut w.relocs);
        let table = w.reserve(4 * relocs.len() as u32);
        w.put_u32(H_RELOC, table);
        w.put_u32(H_RELOC_COUNT, relocs.len() as u32);
        for (i, at) in relocs.iter().enumerate() {
            w.put_u32(table + 4 * i as u32, *at);
        }
        w.buf
    }
}

/// Encodes a batch of households for one evaluation context: the header,
/// the parameter values in force (or overridden), the households' records
/// and the relocation table.
pub fn encode_batch(program: &Program, households: &[Value], ctx: &EvalContext) -> Vec<u8> {
    let mut builder = BatchBuilder::new(program);
    for household in households {
        builder.push_value(household);
    }
    builder.finish(ctx)
}

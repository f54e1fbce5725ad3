//! A batch's households read back into [`Value`]s, for what still needs
//! them after a batch was scanned straight from JSON (rebuilding a
//! decision's explanation tree, `wasm::decode_results`), or only their
//! records' places and keys (a summary, `wasm::decode_summaries`).

use super::{Index, Named, Names, Place};
use crate::date::Date;
use crate::ir::{Program, RecordId, Type};
use crate::value::{Record, Value};
use crate::wasm::layout::{self, H_COUNT, H_INDEX, PRESENCE, RecordLayout};

/// How deep records and lists may nest in a batch read back (the decoder
/// and the scanner stop well before).
const MAX_DEPTH: u32 = 256;

/// The households of `batch` (made by `BatchBuilder`, not yet relocated),
/// as `record::decode_line` gave or would give them; `None` when the batch
/// is not one of `program`'s.
pub fn households_of_batch(program: &Program, batch: &[u8]) -> Option<Vec<Value>> {
    let r = Reader::new(program, batch);
    let root = super::root_record(program);
    r.roots()?
        .map(|block| match (root, block?) {
            (Some(id), block) if block != 0 => r.record(block, id, 0),
            _ => Some(Value::Record(Record::default())),
        })
        .collect()
}

/// What names the records of each household of `batch`: their places and
/// keys ([`Names`]), read from the batch's bytes without building the
/// households. Enough for `wasm::decode_summaries`, which needs a
/// subject's key and the path of a missing field, at a fraction of the
/// cost of [`households_of_batch`] (reading whole households back was a
/// quarter of `layak run` on the PKH rule alone); `None` when the batch is
/// not one of `program`'s.
pub fn names_of_batch(program: &Program, batch: &[u8]) -> Option<Vec<Names>> {
    let r = Reader::new(program, batch);
    let root = super::root_record(program);
    r.roots()?
        .map(|block| {
            let mut out = Vec::new();
            if let (Some(id), block) = (root, block?)
                && block != 0
            {
                r.names(block, id, None, 0, &mut out)?;
            }
            Some(Names(out))
        })
        .collect()
}

struct Reader<'a> {
    program: &'a Program,
    layouts: Vec<RecordLayout>,
    bytes: &'a [u8],
}

/// Whether a value of `ty` can hold a record.
fn holds_records(ty: &Type) -> bool {
    match ty {
        Type::Record(_) => true,
        Type::List(elem) => holds_records(elem),
        _ => false,
    }
}

impl<'a> Reader<'a> {
    fn new(program: &'a Program, bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            program,
            layouts: layout::layouts(&program.schema),
            bytes,
        }
    }

    /// The root block of each household (0 for none).
    fn roots(&self) -> Option<impl Iterator<Item = Option<u32>> + '_> {
        let count = self.u32(H_COUNT)?;
        let index = self.u32(H_INDEX)?;
        Some((0..count).map(move |h| self.u32(index.checked_add(h.checked_mul(4)?)?)))
    }

    fn present(&self, block: u32, field: usize) -> Option<bool> {
        let word = self.u32(block.checked_add(PRESENCE + 4 * (field as u32 / 32))?)?;
        Some(word & 1 << (field % 32) != 0)
    }

    /// Pushes the names of the record at `block` and of the records in it,
    /// in the order `encode::records_of` numbers them.
    fn names(
        &self,
        block: u32,
        id: RecordId,
        place: Option<Place>,
        depth: u32,
        out: &mut Vec<Named>,
    ) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let def = self.program.schema.records.get(id.index())?;
        let layout = self.layouts.get(id.index())?;
        let key = match def.key {
            Some(k) if self.present(block, k as usize)? => {
                let ty = &def.fields.get(k as usize)?.ty;
                let value = self.slot(
                    block.checked_add(*layout.fields.get(k as usize)?)?,
                    ty,
                    depth,
                )?;
                Some(crate::explain::render_field(self.program, &value, ty))
            }
            _ => None,
        };
        let me = out.len();
        out.push(Named { id, place, key });
        for (i, (field, offset)) in def.fields.iter().zip(&layout.fields).enumerate() {
            if holds_records(&field.ty) && self.present(block, i)? {
                let at = block.checked_add(*offset)?;
                self.names_in(at, &field.ty, (me, i as u32), &[], depth, out)?;
            }
        }
        Some(())
    }

    /// The names of the records in the slot at `at` of field `parent.1`
    /// of record `parent.0`, `index` the positions in the lists around it.
    fn names_in(
        &self,
        at: u32,
        ty: &Type,
        parent: (usize, u32),
        index: &[u32],
        depth: u32,
        out: &mut Vec<Named>,
    ) -> Option<()> {
        match ty {
            Type::Record(id) => {
                let place = Place {
                    parent: parent.0,
                    field: parent.1,
                    index: Index::of(index),
                };
                self.names(self.u32(at)?, *id, Some(place), depth + 1, out)
            }
            Type::List(elem) => {
                let (ptr, count) = (self.u32(at)?, self.u32(at + 4)?);
                let mut inner = index.to_vec();
                inner.push(0);
                for i in 0..count {
                    if let Some(last) = inner.last_mut() {
                        *last = i;
                    }
                    let slot = ptr.checked_add(i.checked_mul(8)?)?;
                    self.names_in(slot, elem, parent, &inner, depth + 1, out)?;
                }
                Some(())
            }
            _ => Some(()),
        }
    }

    fn u32(&self, at: u32) -> Option<u32> {
        let at = at as usize;
        let b = self.bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    fn i64(&self, at: u32) -> Option<i64> {
        let at = at as usize;
        let b = self.bytes.get(at..at.checked_add(8)?)?;
        Some(i64::from_le_bytes(b.try_into().ok()?))
    }

    fn record(&self, block: u32, id: RecordId, depth: u32) -> Option<Value> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let def = self.program.schema.records.get(id.index())?;
        let layout = self.layouts.get(id.index())?;
        let mut fields = Vec::with_capacity(def.fields.len());
        for (i, (field, offset)) in def.fields.iter().zip(&layout.fields).enumerate() {
            fields.push(if self.present(block, i)? {
                Some(self.slot(block.checked_add(*offset)?, &field.ty, depth)?)
            } else {
                None
            });
        }
        Some(Value::Record(Record { fields }))
    }

    fn slot(&self, at: u32, ty: &Type, depth: u32) -> Option<Value> {
        let n = self.i64(at)?;
        Some(match ty {
            Type::Bool => Value::Bool(n != 0),
            Type::Int => Value::Int(n),
            Type::Money => Value::Money(n),
            Type::Date => Value::Date(Date::from_yyyymmdd(i32::try_from(n).ok()?)?),
            Type::Enum(_) => Value::Enum(u32::try_from(n).ok()?),
            Type::Text => {
                let (ptr, len) = (self.u32(at)? as usize, self.u32(at + 4)? as usize);
                let bytes = self.bytes.get(ptr..ptr.checked_add(len)?)?;
                Value::Text(String::from_utf8(bytes.to_vec()).ok()?)
            }
            Type::Record(id) => self.record(self.u32(at)?, *id, depth + 1)?,
            Type::List(elem) => {
                let (ptr, count) = (self.u32(at)?, self.u32(at + 4)?);
                let mut items = Vec::with_capacity(count.min(1 << 16) as usize);
                for i in 0..count {
                    let slot = ptr.checked_add(i.checked_mul(8)?)?;
                    items.push(self.slot(slot, elem, depth + 1)?);
                }
                Value::List(items)
            }
        })
    }
}

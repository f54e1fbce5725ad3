//! A batch's households read back into [`Value`]s: for what still needs
//! them after a batch was scanned straight from JSON (rebuilding a
//! decision's explanation tree, `wasm::decode_results`), or only their
//! records' places and keys (a summary, `wasm::decode_summaries`).

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
    read_batch(program, batch, false)
}

/// The households of `batch` with only what places and names their
/// records: every field that holds records (so the records are numbered as
/// in the whole household) and each record's key; every other field reads
/// as absent. Enough for `wasm::decode_summaries`, which needs a subject's
/// key and the path of a missing field, at a fraction of the cost of
/// [`households_of_batch`] (the read-back was a quarter of `layak run` on
/// the PKH rule alone); not for evaluating or explaining.
pub fn skeletons_of_batch(program: &Program, batch: &[u8]) -> Option<Vec<Value>> {
    read_batch(program, batch, true)
}

fn read_batch(program: &Program, batch: &[u8], skeleton: bool) -> Option<Vec<Value>> {
    let r = Reader {
        program,
        layouts: layout::layouts(&program.schema),
        bytes: batch,
        skeleton,
    };
    let root = super::root_record(program);
    let count = r.u32(H_COUNT)?;
    let index = r.u32(H_INDEX)?;
    (0..count)
        .map(|h| {
            let block = r.u32(index.checked_add(h.checked_mul(4)?)?)?;
            match root {
                Some(id) if block != 0 => r.record(block, id, 0),
                _ => Some(Value::Record(Record::default())),
            }
        })
        .collect()
}

struct Reader<'a> {
    program: &'a Program,
    layouts: Vec<RecordLayout>,
    bytes: &'a [u8],
    /// Read only record-holding fields and keys ([`skeletons_of_batch`]).
    skeleton: bool,
}

/// Whether a value of `ty` can hold a record.
fn holds_records(ty: &Type) -> bool {
    match ty {
        Type::Record(_) => true,
        Type::List(elem) => holds_records(elem),
        _ => false,
    }
}

impl Reader<'_> {
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
            if self.skeleton && def.key != Some(i as u32) && !holds_records(&field.ty) {
                fields.push(None);
                continue;
            }
            let word = self.u32(block.checked_add(PRESENCE + 4 * (i as u32 / 32))?)?;
            fields.push(if word & 1 << (i % 32) != 0 {
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

//! The fixed parts of the ABI: offsets, codes and the schema-driven record
//! layout, shared by the encoder, the code generator and the decoder.

use crate::ir::{RecordDef, Schema};

/// Bumped on every incompatible change of the batch or result layout.
pub const ABI_VERSION: u32 = 2;

/// Batch header: `[abi, count, as_of, params_off, index_off, reloc_off,
/// reloc_count, relocated]`, eight little-endian `u32`/`i32` words.
pub const HEADER_SIZE: u32 = 32;
pub const H_COUNT: u32 = 4;
pub const H_AS_OF: u32 = 8;
pub const H_PARAMS: u32 = 12;
pub const H_INDEX: u32 = 16;
pub const H_RELOC: u32 = 20;
pub const H_RELOC_COUNT: u32 = 24;
pub const H_RELOCATED: u32 = 28;

/// One parameter: `flag: u32, pad: u32, value: i64`.
pub const PARAM_SLOT: u32 = 16;
pub const PARAM_VALUE: u32 = 0;
pub const PARAM_NO_VALUE: u32 = 1;
pub const PARAM_BAD_OVERRIDE: u32 = 2;

/// Where static data (text literals, tables) starts in the module's memory;
/// address 0 stays unused so that 0 can mean "none".
pub const DATA_BASE: u32 = 16;

/// A memo table of a shared definition: `1 << MEMO_BITS` entries of
/// `MEMO_ENTRY` bytes, `generation: u32, argument missing: u32, argument:
/// i64, result: i64, result missing: u32, pad`, indexed by a hash of the
/// argument (a later argument with the same hash replaces the entry).
pub const MEMO_BITS: u32 = 7;
pub const MEMO_ENTRY: u32 = 32;
pub const MEMO_TABLE: u32 = MEMO_ENTRY << MEMO_BITS;

/// Result header: `[abi, base, households, first_event, length]`.
pub const RESULT_HEADER: u32 = 32;
/// An event: `next: u32, kind: u32, a: i32, b: i32, c: i32, pad, v: i64`.
pub const EVENT_SIZE: u32 = 32;

/// Event kinds of the result trace.
pub mod event {
    /// `a` = household index.
    pub const HOUSEHOLD: u32 = 1;
    /// `a` = ruleset index, `b` = record number of the instance.
    pub const INSTANCE: u32 = 2;
    /// `a` = missing set (0 when present), `v` = serialised value.
    pub const HOLE: u32 = 3;
    /// `a` = element index, `b` = record number or -1, `c` = outcome,
    /// `v` = missing set.
    pub const ELEMENT: u32 = 4;
    /// `a` = criterion index, `b` = outcome, `c` = checked (-1 for a
    /// criterion without `for`), `v` = missing set.
    pub const CRITERION: u32 = 5;
    /// The instance's filter is false: not a subject.
    pub const SKIP: u32 = 6;
    /// `a` = missing set of an undetermined filter.
    pub const FILTER_UNDETERMINED: u32 = 7;
    /// `a` = element index, `b` = record number or -1, `c` = bit 0 value
    /// present, bit 1 counted, `v` = value.
    pub const BENEFIT_ITEM: u32 = 8;
    /// `a` = missing set (0 when computed), `v` = computed amount.
    pub const BENEFIT: u32 = 9;
    /// `a` = eligibility, `b` = 1 when there is an amount, `c` = missing
    /// set, `v` = amount.
    pub const DECISION: u32 = 10;
    /// `a` = 1 when verified.
    pub const STATUS: u32 = 11;
}

/// Missing-set nodes: `kind: u32, a: u32, b: u32, pad`.
pub mod node {
    /// The union of two sets (`a`, `b` point to earlier nodes).
    pub const UNION: u32 = 0;
    /// `a` = record number, `b` = field index.
    pub const FIELD: u32 = 1;
    /// `a` = parameter index.
    pub const PARAM: u32 = 2;
    /// `a` = reason code.
    pub const REASON: u32 = 3;
}

/// Reason codes of computation problems.
pub mod reason {
    pub const DIVISION_BY_ZERO: u32 = 1;
    pub const OVERFLOW: u32 = 2;
    pub const NOT_A_NUMBER: u32 = 3;
    pub const NOT_A_DATE: u32 = 4;
    pub const NO_ELEMENTS: u32 = 5;
    pub const BAD_OVERRIDE: u32 = 6;
    pub const INTERNAL: u32 = 7;
}

/// Error codes `evaluate` returns instead of a pointer.
pub mod error {
    /// The input is shorter than a header or outside memory.
    pub const BAD_INPUT: i32 = -1;
    /// The batch was encoded for another ABI version.
    pub const BAD_VERSION: i32 = -2;
    /// The relocation table points outside the batch.
    pub const BAD_RELOCATION: i32 = -3;
}

/// Outcomes and eligibilities as the module writes them.
pub const PASSED: i32 = 0;
pub const FAILED: i32 = 1;
pub const UNDETERMINED: i32 = 2;
pub const ELIGIBLE: i32 = 0;
pub const NOT_ELIGIBLE: i32 = 1;

/// A record block: `record_number: u32, pad: u32`, presence words (bit `f`
/// of word `f / 32` set when field `f` is present), then one 8-byte slot per
/// field.
#[derive(Debug, Clone)]
pub struct RecordLayout {
    pub size: u32,
    /// Offset of each field's slot.
    pub fields: Vec<u32>,
}

pub const PRESENCE: u32 = 8;

pub fn record_layout(def: &RecordDef) -> RecordLayout {
    let n = def.fields.len() as u32;
    let words = n.div_ceil(32);
    let start = (PRESENCE + 4 * words).next_multiple_of(8);
    RecordLayout {
        size: start + 8 * n,
        fields: (0..n).map(|i| start + 8 * i).collect(),
    }
}

pub fn layouts(schema: &Schema) -> Vec<RecordLayout> {
    schema.records.iter().map(record_layout).collect()
}

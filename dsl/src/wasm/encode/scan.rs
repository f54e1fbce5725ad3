//! One household's JSON text straight into a batch's record area, driven
//! by the schema's record layout: no `serde_json::Value`, no `Value`.
//!
//! The scanner takes only what it can decode exactly as `record.rs` does
//! and gives up (`None`) on everything else, leaving the line to that
//! decoder: so every error message, and every household with an unknown
//! field to count, still comes from the one decoder, and the scanner needs
//! no error paths of its own. It gives up on: anything that is not JSON or
//! not the schema's shape (a wrong type, a missing required field, a
//! `null` list element, an integer out of its range or of 64 bits), a key
//! the record does not name, a key twice, a backslash or control
//! character in a string, a number with an exponent (in an ignored value)
//! or a fraction (in a field: `3.0` is an integer to the decoder), nesting
//! past [`MAX_DEPTH`], and fields that hold text, records or lists out of
//! schema order (their bytes would follow each other in another order
//! than [`super::Values`] writes them).

use super::{Slot, Writer};
use crate::ast::Code;
use crate::date::Date;
use crate::ir::{Program, RecordId, Type};
use crate::wasm::layout::RecordLayout;

/// How deep objects and arrays may nest before the scanner leaves the
/// line to the decoder (serde_json stops at 128).
const MAX_DEPTH: u32 = 100;

/// Most fields a record may have for the scanner (it tracks the keys seen
/// in a fixed bit set).
const MAX_FIELDS: usize = 256;

/// Writes the household of `line` into `w` as the record `root`; its
/// block's offset, or `None` when the scanner does not take the line (the
/// caller rolls `w` back). `items` is scratch for the slots of list
/// elements.
pub(super) fn household(
    program: &Program,
    layouts: &[RecordLayout],
    w: &mut Writer,
    items: &mut Vec<Slot>,
    root: RecordId,
    line: &str,
) -> Option<u32> {
    items.clear();
    let mut s = Scan {
        program,
        layouts,
        text: line,
        bytes: line.as_bytes(),
        pos: 0,
        items,
    };
    s.ws();
    let block = s.record(w, root, 0)?;
    s.ws();
    (s.pos == s.bytes.len()).then_some(block)
}

/// Where the plain run of string bytes at the start of `bytes` ends: the
/// first quote, backslash or control character, if any. Eight bytes at a
/// time (keys, names, NIKs and dates are most of a line; the byte loop was
/// a third of `Scan::record`): a byte is flagged when it is zero after an
/// exclusive or with `"` or `\`, or below 0x20 (the classic SWAR tests;
/// a flag can be wrong only above a right one, and the lowest is taken).
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let mut i = 0;
    while let Some(word) = bytes
        .get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let x = u64::from_le_bytes(word);
        let found = (zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x))
            & HIGH;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = bytes.get(i..)?;
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| i + p)
}

struct Scan<'a, 's> {
    program: &'a Program,
    layouts: &'a [RecordLayout],
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The slots of the elements of the lists being read, innermost last:
    /// a list's array is written after its elements ([`Writer::array`]),
    /// so they need not be counted first.
    items: &'s mut Vec<Slot>,
}

impl<'a> Scan<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.pos..)?;
        rest.starts_with(word).then(|| self.pos += word.len())
    }

    /// After the separator of an object or array: true for another
    /// member, false at the closing bracket.
    fn more(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                self.ws();
                Some(true)
            }
            b if b == close => {
                self.pos += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// A string without escapes, as it stands in the line.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let rest = self.bytes.get(start..)?;
        let len = string_end(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len)
    }

    /// An integer as JSON writes one (no fraction, no exponent) that fits
    /// 64 bits.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.eat(b'-').is_some();
        let start = self.pos;
        let mut n: i128 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            if self.pos - start >= 19 {
                return None;
            }
            n = n * 10 + i128::from(d - b'0');
            self.pos += 1;
        }
        let digits = self.pos - start;
        let leading_zero = digits > 1 && self.bytes.get(start) == Some(&b'0');
        if digits == 0 || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        i64::try_from(if negative { -n } else { n }).ok()
    }

    /// Skips a value the rules do not read (an `ignored` field), checking
    /// that it is JSON the decoder would take.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' if depth >= MAX_DEPTH => None,
            b'{' => {
                self.pos += 1;
                self.ws();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip(depth + 1)?;
                    if !self.more(b'}')? {
                        return Some(());
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if !self.more(b']')? {
                        return Some(());
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// A number with at most a fraction (an exponent, or an integer part
    /// long enough to overflow a float, is left to the decoder).
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        let digits = self.pos - start;
        let leading_zero = digits > 1 && self.bytes.get(start) == Some(&b'0');
        if digits == 0 || digits > 20 || leading_zero {
            return None;
        }
        if self.eat(b'.').is_some() {
            let start = self.pos;
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
            if self.pos == start {
                return None;
            }
        }
        (!matches!(self.peek(), Some(b'e' | b'E'))).then_some(())
    }

    /// A record block for the object at the current position.
    fn record(&mut self, w: &mut Writer, id: RecordId, depth: u32) -> Option<u32> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let program = self.program;
        let def = program.schema.records.get(id.index())?;
        let layout = self.layouts.get(id.index())?;
        if def.fields.len() > MAX_FIELDS {
            return None;
        }
        self.eat(b'{')?;
        let block = w.block(layout);
        let mut seen = [0u64; MAX_FIELDS / 64];
        // The last field written that puts bytes after the block.
        let mut last_placed: Option<usize> = None;
        // Keys usually come in schema order: try the next field first.
        let mut guess = 0;
        self.ws();
        let mut more = self.eat(b'}').is_none();
        while more {
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let found = match def.fields.get(guess) {
                Some(f) if f.name == key => Some(guess),
                _ => def.fields.iter().position(|f| f.name == key),
            };
            match found {
                Some(i) => {
                    let field = def.fields.get(i)?;
                    let bit = seen.get_mut(i / 64)?;
                    if *bit & 1 << (i % 64) != 0 {
                        return None;
                    }
                    *bit |= 1 << (i % 64);
                    guess = i + 1;
                    if self.literal(b"null").is_some() {
                        if !field.optional {
                            return None;
                        }
                    } else {
                        if matches!(field.ty, Type::Text | Type::Record(_) | Type::List(_)) {
                            if last_placed.is_some_and(|last| last > i) {
                                return None;
                            }
                            last_placed = Some(i);
                        }
                        w.present(block, i);
                        let at = block + layout.fields.get(i)?;
                        let range = match field.ty {
                            Type::Int => field.range,
                            _ => None,
                        };
                        let slot = self.value(w, &field.ty, range, depth)?;
                        w.put(at, slot);
                    }
                }
                None if def.ignored.iter().any(|n| n == key) => self.skip(depth + 1)?,
                None => return None,
            }
            more = self.more(b'}')?;
        }
        let missing = def.fields.iter().enumerate().any(|(i, f)| {
            !f.optional
                && seen
                    .get(i / 64)
                    .is_none_or(|bits| bits & 1 << (i % 64) == 0)
        });
        (!missing).then_some(block)
    }

    /// A present value of type `ty`: what it puts after its record (texts,
    /// records, lists) is written, its slot returned.
    fn value(
        &mut self,
        w: &mut Writer,
        ty: &Type,
        range: Option<(i64, i64)>,
        depth: u32,
    ) -> Option<Slot> {
        Some(match ty {
            Type::Bool => match self.peek()? {
                b't' => self.literal(b"true").map(|()| Slot::word(1)),
                _ => self.literal(b"false").map(|()| Slot::word(0)),
            }?,
            Type::Int | Type::Money => {
                let n = self.integer()?;
                if range.is_some_and(|(lo, hi)| !(lo..=hi).contains(&n)) {
                    return None;
                }
                Slot::word(n)
            }
            Type::Date => {
                let d = Date::parse(self.string()?)?;
                Slot::word(i64::from(d.yyyymmdd()))
            }
            Type::Text => {
                let s = self.string()?;
                w.text(s)
            }
            Type::Enum(id) => {
                let def = self.program.schema.enums.get(id.index())?;
                let found = if self.peek()? == b'"' {
                    let s = self.string()?;
                    let text =
                        |v: &crate::ir::VariantDef| matches!(&v.code, Code::Text(c) if c == s);
                    def.variants.iter().position(text)
                } else {
                    let n = self.integer()?;
                    let int =
                        |v: &crate::ir::VariantDef| matches!(&v.code, Code::Int(c) if *c == n);
                    def.variants.iter().position(int)
                }?;
                Slot::word(found as i64)
            }
            Type::Record(id) => Slot::ptr(self.record(w, *id, depth + 1)?, 0),
            Type::List(elem) => {
                if depth + 1 >= MAX_DEPTH {
                    return None;
                }
                self.eat(b'[')?;
                self.ws();
                let base = self.items.len();
                let mut more = self.eat(b']').is_none();
                while more {
                    if self.peek()? == b'n' {
                        return None;
                    }
                    let item = self.value(w, elem, None, depth + 1)?;
                    self.items.push(item);
                    more = self.more(b']')?;
                }
                let list = w.array(self.items.get(base..)?);
                self.items.truncate(base);
                list
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::string_end;

    fn byte_by_byte(bytes: &[u8]) -> Option<usize> {
        bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
    }

    #[test]
    fn string_ends_where_the_byte_loop_does() {
        for (text, end) in [
            (&b""[..], None),
            (b"abc", None),
            (b"abcdefgh", None),
            (b"abcdefghij\"", Some(10)),
            (b"3310012001\",\"x\"", Some(10)),
            (b"ab\\cdefgh\"", Some(2)),
            (b"nama\x1fpanjang\"", Some(4)),
            (b"\xc3\xa9\xc3\xb1\xd9\xa1\xd9\xa2\"", Some(8)),
            (b"\x7f\x80\xff\x20\x21\x5b\x5d\x7b\x7d\"", Some(9)),
        ] {
            assert_eq!(string_end(text), end, "{}", text.escape_ascii());
            assert_eq!(byte_by_byte(text), end);
        }
    }

    proptest! {
        #[test]
        fn string_end_agrees_with_the_byte_loop(
            bytes in prop::collection::vec(
                prop_oneof![
                    Just(b'"'),
                    Just(b'\\'),
                    0u8..0x20,
                    0x20u8..0x80,
                    0x80u8..=0xff,
                ],
                0..40,
            ),
            start in 0usize..40,
        ) {
            // Long plain runs before the first flagged byte, at every offset.
            let plain: Vec<u8> = std::iter::repeat_n(b'a', start).chain(bytes).collect();
            prop_assert_eq!(string_end(&plain), byte_by_byte(&plain));
        }
    }
}

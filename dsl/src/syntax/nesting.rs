//! How deep pest would have to recurse to parse a text, found before pest
//! runs.
//!
//! pest's generated parser recurses once per level of brackets and `if`.
//! Its own stack guard only works on native targets, and the playground
//! runs the parser on wasm32, so the parser is never handed text nested
//! deeper than [`MAX_NESTING`](crate::limits::MAX_NESTING): this scan finds
//! the first place where it would be, in one pass without recursion.
//!
//! The count is an upper bound of pest's nesting: every bracket (`(`, `[`,
//! `{`) is a level until its closer, and so is every `if` (but the `if` of
//! an `else if`, which the grammar parses in a loop) and every `list<`,
//! until the bracket around it closes, a `,` ends the element it is in, or
//! a name follows a complete operand (which no expression allows, so the
//! expression has ended: the next clause starts).

use crate::limits::MAX_NESTING;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Bracket,
    If,
    Angle,
}

/// What the previous token was, as far as the scan cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// An operator, a keyword, an opening bracket or the start.
    Other,
    /// A name, literal or closing bracket: an operand could end here.
    Operand,
    Else,
    List,
}

/// The byte offset of the first token at which `text` nests deeper than
/// [`MAX_NESTING`], or `None` when it never does.
pub fn first_too_deep(text: &str) -> Option<usize> {
    first_deeper_than(text, MAX_NESTING)
}

pub(crate) fn first_deeper_than(text: &str, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut prev = Prev::Other;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'"' | b'\n' => break,
                        _ => {}
                    }
                }
                prev = Prev::Operand;
                continue;
            }
            b'(' | b'[' | b'{' => {
                stack.push(Frame::Bracket);
                prev = Prev::Other;
                i += 1;
            }
            b')' | b']' | b'}' => {
                pop_virtual(&mut stack);
                stack.pop();
                prev = Prev::Operand;
                i += 1;
                continue;
            }
            b',' => {
                pop_virtual(&mut stack);
                prev = Prev::Other;
                i += 1;
                continue;
            }
            b'<' if prev == Prev::List => {
                stack.push(Frame::Angle);
                prev = Prev::Other;
                i += 1;
            }
            b'>' => {
                if stack.last() == Some(&Frame::Angle) {
                    stack.pop();
                    prev = Prev::Operand;
                } else {
                    prev = Prev::Other;
                }
                i += 1;
                continue;
            }
            b'0'..=b'9' => {
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                prev = Prev::Operand;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                let word = text.get(start..i).unwrap_or_default();
                match word {
                    "if" => {
                        if prev != Prev::Else {
                            stack.push(Frame::If);
                        }
                        prev = Prev::Other;
                    }
                    "else" => {
                        prev = Prev::Else;
                        continue;
                    }
                    "list" => {
                        if prev == Prev::Operand {
                            pop_virtual(&mut stack);
                        }
                        prev = Prev::List;
                        continue;
                    }
                    "true" | "false" => {
                        prev = Prev::Operand;
                        continue;
                    }
                    "and" | "or" | "not" | "then" | "match" | "in" | "where" | "for" | "let" => {
                        prev = Prev::Other;
                        continue;
                    }
                    _ => {
                        if prev == Prev::Operand {
                            pop_virtual(&mut stack);
                        }
                        prev = Prev::Operand;
                        continue;
                    }
                }
            }
            _ => {
                // Operators and anything pest will reject.
                prev = Prev::Other;
                i += 1;
                continue;
            }
        }
        if stack.len() > limit {
            return Some(start);
        }
    }
    None
}

/// Ends the `if`s and `list<`s open inside the innermost bracket.
fn pop_virtual(stack: &mut Vec<Frame>) {
    while matches!(stack.last(), Some(Frame::If | Frame::Angle)) {
        stack.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::first_deeper_than;

    #[test]
    fn brackets_and_ifs_count() {
        assert_eq!(first_deeper_than("((1))", 2), None);
        assert_eq!(first_deeper_than("(((1)))", 2), Some(2));
        assert_eq!(first_deeper_than("[f(a)]", 1), Some(2));
        assert_eq!(
            first_deeper_than("if if a then b else c then d else e", 1),
            Some(3)
        );
        assert_eq!(first_deeper_than("list<list<int>>", 1), Some(9));
    }

    #[test]
    fn siblings_and_ladders_do_not() {
        let ladder: String = (0..1000)
            .map(|i| format!("if x == {i} then {i} else "))
            .collect::<String>()
            + "0";
        assert_eq!(first_deeper_than(&ladder, 1), None);
        assert_eq!(first_deeper_than("[(1), (2), (3)]", 2), None);
        assert_eq!(
            first_deeper_than("[if a then 1 else 2, if b then 1 else 2]", 2),
            None
        );
        let clauses = "require if a then b else c\n".repeat(100);
        assert_eq!(first_deeper_than(&clauses, 1), None);
        let fields = "a: list<int> b: list<list<int>>\n".repeat(100);
        assert_eq!(first_deeper_than(&fields, 2), None);
    }

    #[test]
    fn strings_and_comments_are_skipped() {
        assert_eq!(first_deeper_than("\"((((\\\"((\" // ((((\n(1)", 1), None);
    }
}

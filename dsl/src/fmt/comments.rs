//! Comments. The syntax tree has none, so the formatter finds them in the
//! source text and hands each one out, in source order, to the first node
//! printed after it (a comment on its own line) or to the code it ends the
//! line of (an end-of-line comment).

/// One `// ...` comment.
#[derive(Debug, Clone)]
pub(super) struct Comment {
    /// Byte offset of the `//`.
    pub start: usize,
    /// Byte offset of the end of its line (the `\n` or the end of the text).
    pub end: usize,
    /// The comment as written, trailing spaces removed.
    pub text: String,
}

/// Every `//` comment of `source` outside string literals, in order.
pub(super) fn scan(source: &str) -> Vec<Comment> {
    let bytes = source.as_bytes();
    let mut comments = Vec::new();
    let mut in_string = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                // Skipping the escaped byte is enough: a multi-byte
                // character's other bytes are never ASCII.
                b'\\' => i += 1,
                // A string cannot span lines; the parser has already
                // rejected such a file, but stay in step with it anyway.
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
            i += 1;
        } else if b == b'"' {
            in_string = true;
            i += 1;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            let end = source
                .get(i..)
                .and_then(|rest| rest.find('\n'))
                .map_or(source.len(), |n| i + n);
            let text = source.get(i..end).unwrap_or("").trim_end().to_string();
            comments.push(Comment {
                start: i,
                end,
                text,
            });
            i = end;
        } else {
            i += 1;
        }
    }
    comments
}

/// The comments not yet printed.
pub(super) struct Comments {
    list: Vec<Comment>,
    next: usize,
}

impl Comments {
    pub(super) fn new(source: &str) -> Comments {
        Comments {
            list: scan(source),
            next: 0,
        }
    }

    /// The comment whose text ends exactly at `end`, if it starts at or
    /// after `from`.
    pub(super) fn ending_at(&self, from: usize, end: usize) -> Option<&Comment> {
        let i = self.list.partition_point(|c| c.start < end);
        let c = self.list.get(i.checked_sub(1)?)?;
        (c.start >= from && c.start + c.text.len() == end).then_some(c)
    }

    pub(super) fn peek(&self) -> Option<&Comment> {
        self.list.get(self.next)
    }

    /// Takes every comment that starts before `pos`.
    pub(super) fn take_before(&mut self, pos: usize) -> Vec<Comment> {
        let mut taken = Vec::new();
        while let Some(c) = self.list.get(self.next).filter(|c| c.start < pos) {
            taken.push(c.clone());
            self.next += 1;
        }
        taken
    }

    /// Takes the next comment when it starts at or after `pos` on the same
    /// line and only spaces and the characters in `between` separate it
    /// from `pos`.
    pub(super) fn take_on_line(
        &mut self,
        source: &str,
        pos: usize,
        between: &[char],
    ) -> Option<Comment> {
        let c = self.list.get(self.next)?;
        let gap = source.get(pos..c.start)?;
        if gap
            .chars()
            .all(|ch| ch == ' ' || ch == '\t' || between.contains(&ch))
        {
            self.next += 1;
            Some(c.clone())
        } else {
            None
        }
    }
}

//! Plain-text helpers for resuming after a syntax error.

/// The words that start a top-level declaration.
const ITEM_KEYWORDS: &[&str] = &[
    "import", "enum", "open", "record", "subject", "def", "param", "table", "ruleset",
];

/// Skips whitespace and `//` comments from `pos`.
pub fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        match bytes.get(pos) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => pos += 1,
            // A byte-order mark, U+FEFF.
            Some(0xEF) if bytes.get(pos + 1..pos + 3) == Some(&[0xBB, 0xBF]) => pos += 3,
            Some(b'/') if bytes.get(pos + 1) == Some(&b'/') => {
                while let Some(&b) = bytes.get(pos) {
                    if b == b'\n' {
                        break;
                    }
                    pos += 1;
                }
            }
            _ => return pos,
        }
    }
}

/// The start of the first line at or after `from` that begins, in its first
/// column, with a declaration keyword; the end of the text if none does.
pub fn next_item_start(text: &str, from: usize) -> usize {
    let mut line_start = match text.get(..from).and_then(|t| t.rfind('\n')) {
        Some(i) => i + 1,
        None => 0,
    };
    if line_start < from {
        // The line holding the error is not a fresh start: move past it.
        line_start = match text.get(from..).and_then(|t| t.find('\n')) {
            Some(i) => from + i + 1,
            None => return text.len(),
        };
    }
    let mut pos = line_start;
    while pos < text.len() {
        let line = text.get(pos..).unwrap_or("");
        if starts_item(line) {
            return pos;
        }
        pos = match line.find('\n') {
            Some(i) => pos + i + 1,
            None => text.len(),
        };
    }
    text.len()
}

/// The start of the last line at or before `at` that begins, in its first
/// column, with a declaration keyword; 0 if none does.
pub fn item_start_before(text: &str, at: usize) -> usize {
    let mut line_end = at.min(text.len());
    loop {
        let line_start = text
            .get(..line_end)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        if starts_item(text.get(line_start..).unwrap_or("")) {
            return line_start;
        }
        if line_start == 0 {
            return 0;
        }
        line_end = line_start - 1;
    }
}

/// Whether `line` begins with a declaration keyword.
fn starts_item(line: &str) -> bool {
    ITEM_KEYWORDS.iter().any(|k| {
        line.starts_with(k)
            && line
                .as_bytes()
                .get(k.len())
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
    })
}

/// `text` without trailing whitespace and `//` comments.
pub fn without_trailing_trivia(text: &str) -> &str {
    let mut rest = text.trim_end();
    loop {
        let line_start = rest.rfind('\n').map_or(0, |i| i + 1);
        let line = rest.get(line_start..).unwrap_or("");
        match comment_start(line) {
            Some(at) => rest = rest.get(..line_start + at).unwrap_or("").trim_end(),
            None => return rest,
        }
    }
}

/// Where a `//` comment starts in one line, outside string literals.
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

//! Source files and spans. Text lives here once; nodes hold only [`Span`]s.

use serde::Serialize;

/// Which file of a [`Sources`] a span points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct FileId(pub u32);

/// A byte range in one file.
///
/// Spans are left out of equality: any two spans compare equal, so that trees
/// compare by structure.
#[derive(Debug, Clone, Copy, Default, Eq, Serialize)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl PartialEq for Span {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _state: &mut H) {}
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Exact comparison, position included (equality ignores positions).
    pub fn same_place(self, other: Span) -> bool {
        self.file == other.file && self.start == other.start && self.end == other.end
    }
}

/// One named text: a rule file (`.lyk`) or a data file (a reference table).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user knows it, with `/` separators (`rules/pkh.lyk`).
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// Where the bytes it was made from stop being UTF-8, when they do
    /// ([`Sources::add_bytes`]); `text` then has U+FFFD from there on.
    pub not_utf8_at: Option<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
            not_utf8_at: None,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(0, |s| s.chars().count());
        (line + 1, col + 1)
    }

    pub fn line_starts(&self) -> &[usize] {
        &self.line_starts
    }
}

/// Every file of one compilation, rules and data alike.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds a file, replacing any file of the same name, and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let file = SourceFile::new(name, text);
        if let Some(i) = self.files.iter().position(|f| f.name == file.name) {
            if let Some(slot) = self.files.get_mut(i) {
                *slot = file;
            }
            return FileId(i as u32);
        }
        self.files.push(file);
        FileId((self.files.len() - 1) as u32)
    }

    /// Adds a file read as bytes. Bytes that are not UTF-8 are not an
    /// I/O error but a diagnostic (E0006, given by [`crate::compile`]):
    /// the text keeps what can be read, with U+FFFD for the rest.
    pub fn add_bytes(&mut self, name: impl Into<String>, bytes: &[u8]) -> FileId {
        let not_utf8_at = std::str::from_utf8(bytes).err().map(|e| e.valid_up_to());
        let id = self.add(name, String::from_utf8_lossy(bytes).into_owned());
        if let Some(file) = self.files.get_mut(id.0 as usize) {
            file.not_utf8_at = not_utf8_at;
        }
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| FileId(i as u32))
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// The text a span covers (empty if the span is out of range).
    pub fn snippet(&self, span: Span) -> &str {
        self.get(span.file)
            .and_then(|f| f.text.get(span.range()))
            .unwrap_or("")
    }

    /// `file:line:col` of the start of a span.
    pub fn location(&self, span: Span) -> String {
        match self.get(span.file) {
            Some(f) => {
                let (line, col) = f.line_col(span.start as usize);
                format!("{}:{line}:{col}", f.name)
            }
            None => "<unknown>".to_string(),
        }
    }
}

//! A small document algebra in the style of Wadler's "prettier printer": the
//! formatter describes where a line *may* break, and the renderer decides,
//! outermost group first, which groups fit on their line and which break.

/// A document to be laid out.
#[derive(Debug, Clone)]
pub(super) enum Doc {
    /// Text without line breaks.
    Text(String),
    /// A space when its group is flat, a line break when it breaks.
    Line,
    /// Nothing when its group is flat, a line break when it breaks.
    SoftLine,
    /// Always a line break; every group around it breaks too.
    HardLine,
    Concat(Vec<Doc>),
    /// Lines inside break to the enclosing indentation plus this much.
    Nest(usize, Box<Doc>),
    /// Laid out flat when it fits, broken otherwise. `hard` records that it
    /// contains a hard break, so it can never be flat.
    Group {
        hard: bool,
        doc: Box<Doc>,
    },
    /// Text that only appears when the enclosing group breaks.
    IfBreak(&'static str),
    /// Text put off until just before the next line break: an end-of-line
    /// comment stays at the end of its line whatever follows it.
    LineSuffix(String),
    /// Forces the enclosing groups to break.
    BreakParent,
}

impl Doc {
    pub(super) fn text(s: impl Into<String>) -> Doc {
        Doc::Text(s.into())
    }

    pub(super) fn concat(parts: Vec<Doc>) -> Doc {
        Doc::Concat(parts)
    }

    pub(super) fn nest(by: usize, doc: Doc) -> Doc {
        Doc::Nest(by, Box::new(doc))
    }

    pub(super) fn group(doc: Doc) -> Doc {
        Doc::Group {
            hard: doc.has_hard_break(),
            doc: Box::new(doc),
        }
    }

    fn has_hard_break(&self) -> bool {
        match self {
            Doc::HardLine | Doc::BreakParent => true,
            Doc::Concat(parts) => parts.iter().any(Doc::has_hard_break),
            Doc::Nest(_, doc) => doc.has_hard_break(),
            Doc::Group { hard, .. } => *hard,
            Doc::Text(_) | Doc::Line | Doc::SoftLine | Doc::IfBreak(_) | Doc::LineSuffix(_) => {
                false
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

type Cmd<'d> = (usize, Mode, &'d Doc);

/// Lays `doc` out within `width` columns. Every line, the first included,
/// starts at column `indent`; the result has no final line break and no
/// trailing spaces.
pub(super) fn render(doc: &Doc, indent: usize, width: usize) -> String {
    let mut out = Output {
        buf: String::new(),
        col: indent,
        pending_indent: Some(indent),
        suffixes: Vec::new(),
    };
    let mut stack: Vec<Cmd<'_>> = vec![(indent, Mode::Break, doc)];
    while let Some((ind, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => {
                // Code after an end-of-line comment goes to the next line;
                // closing punctuation stays before the comment.
                if !out.suffixes.is_empty() && !s.is_empty() && !s.starts_with([',', ')', ']', '}'])
                {
                    out.newline(ind);
                    out.text(s.trim_start());
                } else {
                    out.text(s);
                }
            }
            Doc::Line => match mode {
                Mode::Flat => out.text(" "),
                Mode::Break => out.newline(ind),
            },
            Doc::SoftLine => {
                if mode == Mode::Break {
                    out.newline(ind);
                }
            }
            Doc::HardLine => out.newline(ind),
            Doc::Concat(parts) => stack.extend(parts.iter().rev().map(|d| (ind, mode, d))),
            Doc::Nest(by, inner) => stack.push((ind + by, mode, inner)),
            Doc::Group { hard, doc: inner } => {
                let flat = !*hard
                    && (mode == Mode::Flat || {
                        let room = isize::try_from(width).unwrap_or(isize::MAX)
                            - isize::try_from(out.col).unwrap_or(isize::MAX);
                        fits((ind, Mode::Flat, inner), &stack, room)
                    });
                stack.push((ind, if flat { Mode::Flat } else { Mode::Break }, inner));
            }
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    out.text(s);
                }
            }
            Doc::LineSuffix(s) => out.suffixes.push(s.clone()),
            Doc::BreakParent => {}
        }
    }
    out.flush_suffixes();
    out.trim_line_end();
    out.buf
}

/// Whether `next`, laid out flat, and what follows it up to the next
/// possible line break fit in `room` columns.
fn fits(next: Cmd<'_>, rest: &[Cmd<'_>], mut room: isize) -> bool {
    let mut stack = vec![next];
    let mut rest_index = rest.len();
    loop {
        if room < 0 {
            return false;
        }
        let cmd = match stack.pop() {
            Some(cmd) => cmd,
            None => {
                if rest_index == 0 {
                    return true;
                }
                rest_index -= 1;
                match rest.get(rest_index) {
                    Some(cmd) => *cmd,
                    None => return true,
                }
            }
        };
        let (ind, mode, doc) = cmd;
        match doc {
            Doc::Text(s) => room -= width_of(s),
            Doc::Line => match mode {
                Mode::Flat => room -= 1,
                Mode::Break => return true,
            },
            Doc::SoftLine => {
                if mode == Mode::Break {
                    return true;
                }
            }
            Doc::HardLine => return true,
            Doc::Concat(parts) => stack.extend(parts.iter().rev().map(|d| (ind, mode, d))),
            Doc::Nest(by, inner) => stack.push((ind + by, mode, inner)),
            Doc::Group { hard, doc: inner } => {
                stack.push((ind, if *hard { Mode::Break } else { mode }, inner));
            }
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    room -= width_of(s);
                }
            }
            Doc::LineSuffix(_) | Doc::BreakParent => {}
        }
    }
}

fn width_of(s: &str) -> isize {
    isize::try_from(s.chars().count()).unwrap_or(isize::MAX)
}

struct Output {
    buf: String,
    col: usize,
    /// Indentation still to be written before the next text, so that empty
    /// lines carry no spaces.
    pending_indent: Option<usize>,
    suffixes: Vec<String>,
}

impl Output {
    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(n) = self.pending_indent.take() {
            self.buf.extend(std::iter::repeat_n(' ', n));
        }
        self.buf.push_str(s);
        self.col += s.chars().count();
    }

    fn newline(&mut self, indent: usize) {
        self.flush_suffixes();
        self.trim_line_end();
        self.buf.push('\n');
        self.pending_indent = Some(indent);
        self.col = indent;
    }

    fn flush_suffixes(&mut self) {
        for s in std::mem::take(&mut self.suffixes) {
            self.text(&s);
        }
    }

    fn trim_line_end(&mut self) {
        let kept = self.buf.trim_end_matches([' ', '\t']).len();
        self.buf.truncate(kept);
    }
}

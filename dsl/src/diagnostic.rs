//! The one diagnostic type every pass returns, its codes, and its two
//! renderings: a terminal report with the source underlined, and JSON.

use crate::source::{Sources, Span};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::term;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// A secondary location with its own short message.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// A problem found in rule sources.
///
/// Messages follow one style: lowercase, one line, no final period, user
/// input in backticks. Anything longer goes into `help`.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub level: Level,
    pub message: String,
    pub span: Span,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// What the primary span most likely meant: a name to put in its place
    /// ("did you mean"). Editors offer it as a quick fix.
    pub suggestion: Option<Box<str>>,
}

impl Diagnostic {
    /// A diagnostic with the level its code is documented with.
    pub fn new(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        let level = CODES
            .iter()
            .find(|c| c.code == code)
            .map_or(Level::Error, |c| c.level);
        Diagnostic {
            code,
            level,
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
            suggestion: None,
        }
    }

    /// "did you mean `name`?" as the help, and `name` as the replacement of
    /// the primary span.
    pub fn with_suggestion(mut self, name: &str) -> Diagnostic {
        self.help = Some(format!("did you mean `{name}`?"));
        self.suggestion = Some(name.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// A documented diagnostic code.
pub struct CodeInfo {
    pub code: &'static str,
    pub level: Level,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($code:literal $level:ident $summary:literal;)*) => {
        /// Every diagnostic code, grouped by pass: E00xx syntax, E01xx names
        /// and imports, E02xx types, E03xx rulesets and declarations, E04xx
        /// reference data, E09xx limits (`limits.rs`); W-codes are warnings. `docs/diagnostics.md`
        /// documents each one (a test checks this).
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo { code: $code, level: Level::$level, summary: $summary },)*
        ];
    };
}

codes! {
    "E0001" Error "the text is not valid syntax here";
    "E0002" Error "a number literal does not fit in 64 bits";
    "E0003" Error "a date literal is not a real calendar date";
    "E0004" Error "a message hole `{...}` is not a valid expression or is not closed";
    "E0005" Error "an unknown escape sequence in a string";
    "E0006" Error "a rule file is not UTF-8 text";
    "E0101" Error "a name is not defined in this file or its imports";
    "E0102" Error "a name is defined twice";
    "E0103" Error "an imported file does not exist";
    "E0104" Error "a record has no field of that name";
    "E0105" Error "an enum has no variant of that name";
    "E0106" Error "an unknown function";
    "E0107" Error "definitions call each other in a cycle";
    "E0108" Error "an unknown type name";
    "E0109" Error "a name refers to something that cannot be used as a value here";
    "E0110" Error "a rule reads a field its record declares `ignored`";
    "E0201" Error "an expression has the wrong type";
    "E0202" Error "a function or definition got the wrong number of arguments";
    "E0203" Error "an operator cannot be applied to these types";
    "E0204" Error "a field access on something that is not a record";
    "E0205" Error "a `match` does not cover every variant of its enum";
    "E0206" Error "a `match` arm names a variant twice or after `_`";
    "E0207" Error "an aggregate is missing a part it needs or has one it cannot use";
    "E0208" Error "a parameter value does not have the parameter's type";
    "E0209" Error "a range is only allowed on the right of `in`";
    "E0210" Error "a ranged `int(a..b)` type outside a record field, or an empty range";
    "E0301" Error "a ruleset clause is missing";
    "E0302" Error "a ruleset clause is given twice";
    "E0303" Error "an unknown stage, period, severity, language or missing-data policy";
    "E0304" Error "a criterion has no `require` or is missing a clause it needs";
    "E0305" Error "a criterion code is used twice in one ruleset";
    "E0306" Error "a clause is not allowed in this kind of ruleset";
    "E0307" Error "a subject declaration is wrong";
    "E0308" Error "a parameter has no dated values, or two values from the same date";
    "E0309" Error "a record's key or label is not one of its text fields";
    "E0310" Error "a message is missing in one of the languages";
    "E0311" Error "an enum has two variants with the same code";
    "E0401" Error "a reference table file is missing";
    "E0901" Error "an expression is nested deeper than the limit";
    "E0902" Error "a rule file is larger than the limit";
    "E0903" Error "a compilation has more rule files than the limit";
    "E0904" Error "a compilation has more criteria than the limit";
    "E0905" Error "a string literal is longer than the limit";
    "E0906" Error "the compiled module is larger than the limit, or passes a limit of WebAssembly";
    "E0907" Error "compiling the rules took longer than the service's budget";
    "W0001" Warning "a definition, parameter or table is never used";
    "W0002" Warning "a criterion can never pass or can never fail";
    "W0003" Warning "a `??` default on a field that is never missing";
    "W0004" Warning "a `match` arm can never be reached";
}

/// Renders diagnostics for a terminal: `error[E0101]: ...` with the source
/// line and the offending text underlined.
pub fn render_terminal(sources: &Sources, diags: &[Diagnostic], color: bool) -> String {
    let files = CsFiles(sources);
    let config = term::Config::default();
    let mut out = Vec::new();
    for d in diags {
        let cs = to_codespan(sources, d);
        if color {
            let mut writer = term::termcolor::Ansi::new(&mut out);
            let _ = term::emit_to_write_style(&mut writer, &config, &files, &cs);
        } else {
            let mut writer = term::termcolor::NoColor::new(&mut out);
            let _ = term::emit_to_write_style(&mut writer, &config, &files, &cs);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn to_codespan(sources: &Sources, d: &Diagnostic) -> cs::Diagnostic<u32> {
    let severity = match d.level {
        Level::Error => cs::Severity::Error,
        Level::Warning => cs::Severity::Warning,
    };
    let mut labels = vec![cs::Label::primary(d.span.file.0, d.span.range())];
    labels.extend(
        d.labels
            .iter()
            .map(|l| cs::Label::secondary(l.span.file.0, l.span.range()).with_message(&l.message)),
    );
    let mut notes = Vec::new();
    if let Some(help) = &d.help {
        notes.push(format!("help: {help}"));
    }
    let _ = sources;
    cs::Diagnostic::new(severity)
        .with_code(d.code)
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(notes)
}

/// The JSON form shared by the CLI (`--format json`), the HTTP API and the
/// playground.
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub level: Level,
    pub message: String,
    pub file: String,
    /// 1-based line and column of the start of the primary span.
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// Byte offsets of the primary span.
    pub start: u32,
    pub end: u32,
    /// The text the primary span covers.
    pub snippet: String,
    pub labels: Vec<JsonLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub start: u32,
    pub end: u32,
    pub message: String,
}

pub fn to_json(sources: &Sources, d: &Diagnostic) -> JsonDiagnostic {
    let file = sources.get(d.span.file);
    let pos = |offset: u32| file.map_or((0, 0), |f| f.line_col(offset as usize));
    let (line, column) = pos(d.span.start);
    let (end_line, end_column) = pos(d.span.end);
    JsonDiagnostic {
        code: d.code,
        level: d.level,
        message: d.message.clone(),
        file: file.map(|f| f.name.clone()).unwrap_or_default(),
        line,
        column,
        end_line,
        end_column,
        start: d.span.start,
        end: d.span.end,
        snippet: sources.snippet(d.span).to_string(),
        labels: d
            .labels
            .iter()
            .map(|l| {
                let lf = sources.get(l.span.file);
                let (line, column) = lf.map_or((0, 0), |f| f.line_col(l.span.start as usize));
                JsonLabel {
                    file: lf.map(|f| f.name.clone()).unwrap_or_default(),
                    line,
                    column,
                    start: l.span.start,
                    end: l.span.end,
                    message: l.message.clone(),
                }
            })
            .collect(),
        help: d.help.clone(),
    }
}

/// Adapter so codespan-reporting reads our source map directly.
struct CsFiles<'a>(&'a Sources);

impl<'a> codespan_reporting::files::Files<'a> for CsFiles<'a> {
    type FileId = u32;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: u32) -> Result<&'a str, codespan_reporting::files::Error> {
        self.0
            .get(crate::source::FileId(id))
            .map(|f| f.name.as_str())
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }

    fn source(&'a self, id: u32) -> Result<&'a str, codespan_reporting::files::Error> {
        self.0
            .get(crate::source::FileId(id))
            .map(|f| f.text.as_str())
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }

    fn line_index(
        &'a self,
        id: u32,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        let f = self
            .0
            .get(crate::source::FileId(id))
            .ok_or(codespan_reporting::files::Error::FileMissing)?;
        Ok(match f.line_starts().binary_search(&byte_index) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        })
    }

    fn line_range(
        &'a self,
        id: u32,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        let f = self
            .0
            .get(crate::source::FileId(id))
            .ok_or(codespan_reporting::files::Error::FileMissing)?;
        let starts = f.line_starts();
        let start =
            *starts
                .get(line_index)
                .ok_or(codespan_reporting::files::Error::LineTooLarge {
                    given: line_index,
                    max: starts.len(),
                })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(f.text.len());
        Ok(start..end)
    }
}

//! Reference tables: sets of text codes read from data files among the
//! sources.

use crate::diagnostic::Diagnostic;

use super::Checker;
use super::scope::{dir_of, inside_quotes, join};

impl Checker<'_> {
    pub(super) fn tables(&mut self) {
        for i in 0..self.tables.len() {
            let Some(&(file, decl)) = self.tables.get(i) else {
                continue;
            };
            let declaring = self.file_name(file).to_string();
            let path = join(dir_of(&declaring), &decl.path);
            let codes = match self.sources.find(&path).and_then(|id| self.sources.get(id)) {
                Some(data) => parse_table(&data.text),
                None => {
                    self.report(
                        Diagnostic::new(
                            "E0401",
                            inside_quotes(decl.path_span),
                            format!("cannot find the data file of table `{}`", decl.name.name),
                        )
                        .with_help(format!(
                            "looked for `{path}` (the path is relative to `{declaring}`); add that file to the sources"
                        )),
                    );
                    Vec::new()
                }
            };
            if let Some(t) = self.program.tables.get_mut(i) {
                t.path = path;
                t.codes = codes;
            }
        }
    }
}

/// Reads a table: one code per line, or `PREFIX: s1 s2 ...` for the codes
/// `PREFIX` + `s1`, `PREFIX` + `s2`, ...; `#` lines and blank lines are
/// comments. The codes come back sorted and without duplicates.
pub(super) fn parse_table(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((prefix, rest)) => {
                let prefix = prefix.trim();
                codes.extend(rest.split_whitespace().map(|s| format!("{prefix}{s}")));
            }
            None => codes.push(line.to_string()),
        }
    }
    codes.sort_unstable();
    codes.dedup();
    codes
}

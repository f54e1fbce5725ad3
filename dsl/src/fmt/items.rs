//! Declarations and clauses: the line-by-line part of the layout, with the
//! blank lines and comments between entries.

use crate::ast::{
    Criterion, CriterionClause, DefDecl, EnumDecl, FieldDecl, FieldKind, File, Item, ParamEntry,
    RulesetClause, Severity, Variant,
};
use crate::source::Span;

use super::comments::Comment;
use super::doc::{Doc, render};
use super::expr::bracketed;
use super::{INDENT, Printer, WIDTH, quote, template, type_expr};

/// One line-level entry of a block.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Clause(&'a RulesetClause),
    Check(&'a CriterionClause),
    Field(&'a FieldDecl),
    Variant(&'a Variant),
    Entry(&'a ParamEntry),
}

impl Node<'_> {
    fn span(self) -> Span {
        match self {
            Node::Item(item) => item.span(),
            Node::Clause(clause) => match clause {
                RulesetClause::Stage(i) | RulesetClause::Programme(i) => i.span,
                RulesetClause::ForEach { span, .. }
                | RulesetClause::Let { span, .. }
                | RulesetClause::Benefit { span, .. } => *span,
                RulesetClause::Criterion(c) => c.span,
            },
            Node::Check(clause) => match clause {
                CriterionClause::For { span, .. } | CriterionClause::Message { span, .. } => *span,
                CriterionClause::Require(e) => e.span,
                CriterionClause::OnMissing(i) | CriterionClause::Reason(i) => i.span,
            },
            Node::Field(f) => f.span,
            Node::Variant(v) => v.span,
            Node::Entry(e) => e.span,
        }
    }
}

/// How blank lines between the entries of a block are chosen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gaps {
    /// The author's, at most one, and always one next to a declaration
    /// that takes several lines or a criterion (files, rulesets).
    AroundMultiline,
    /// The author's, at most one (inside criteria, records, enums, params).
    AsWritten,
}

impl Printer<'_> {
    pub(super) fn file(&mut self, file: &File) -> String {
        let nodes: Vec<Node<'_>> = file.items.iter().map(Node::Item).collect();
        self.entries(&nodes, 0, self.source.len(), Gaps::AroundMultiline)
    }

    /// The entries of a block, each line indented by `indent` and ended by
    /// a line break, with the comments that come before `close`.
    fn entries(&mut self, nodes: &[Node<'_>], indent: usize, close: usize, gaps: Gaps) -> String {
        let mut out = String::new();
        // Where the last thing printed ended in the source, for the
        // author's blank lines.
        let mut prev_end: Option<usize> = None;
        let mut prev_set_apart = None;
        for &node in nodes {
            let span = node.span();
            let (start, end) = (span.start as usize, self.code_end(span));
            let leading = self.comments.take_before(start);
            self.entry_end = end;
            let text = self.node(node, indent);
            // Comments inside the entry that found no place in it (between
            // a definition's parameters, say) go just before it.
            let inner = self.comments.take_before(end);
            let trailing = self.comments.take_on_line(self.source, end, &[',']);
            // A criterion is set apart whatever its length; a declaration
            // when it takes several lines.
            let set_apart = match node {
                Node::Clause(clause) => matches!(clause, RulesetClause::Criterion(_)),
                _ => text.contains('\n'),
            };
            let forced =
                gaps == Gaps::AroundMultiline && prev_set_apart.is_some_and(|p| p || set_apart);
            let mut first = true;
            for c in &leading {
                let blank =
                    (first && forced) || prev_end.is_some_and(|p| self.blank_between(p, c.start));
                push_comment(&mut out, indent, c, blank);
                prev_end = Some(c.end);
                first = false;
            }
            for c in &inner {
                push_comment(&mut out, indent, c, first && forced);
                // Past the entry's start: no blank line of the author's
                // between these comments and the entry.
                prev_end = Some(c.end);
                first = false;
            }
            if (first && forced) || prev_end.is_some_and(|p| self.blank_between(p, start)) {
                out.push('\n');
            }
            out.push_str(&text);
            if let Some(c) = &trailing {
                out.push(' ');
                out.push_str(&c.text);
            }
            out.push('\n');
            prev_end = Some(trailing.map_or(end, |c| c.end));
            prev_set_apart = Some(set_apart);
        }
        for c in self.comments.take_before(close) {
            let blank = prev_end.is_some_and(|p| self.blank_between(p, c.start));
            push_comment(&mut out, indent, &c, blank);
            prev_end = Some(c.end);
        }
        out
    }

    /// Whether the author left a blank line after `from`: the first thing
    /// after it, past spaces and commas, is two or more line breaks away.
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let Some(gap) = self.source.get(from..to.max(from)) else {
            return false;
        };
        gap.chars()
            .take_while(|c| c.is_whitespace() || *c == ',')
            .filter(|c| *c == '\n')
            .count()
            >= 2
    }

    fn node(&mut self, node: Node<'_>, indent: usize) -> String {
        let pad = " ".repeat(indent);
        match node {
            Node::Item(item) => self.item(item, indent),
            Node::Clause(clause) => self.ruleset_clause(clause, indent),
            Node::Check(clause) => self.criterion_clause(clause, indent),
            Node::Field(f) => match &f.kind {
                FieldKind::Typed { ty, optional } => format!(
                    "{pad}{}: {}{}",
                    f.name.name,
                    type_expr(ty),
                    if *optional { "?" } else { "" }
                ),
                FieldKind::Ignored => format!("{pad}{}: ignored", f.name.name),
            },
            Node::Variant(v) => format!("{pad}{},", variant(v)),
            Node::Entry(e) => self.param_entry(e, indent),
        }
    }

    fn item(&mut self, item: &Item, indent: usize) -> String {
        let pad = " ".repeat(indent);
        match item {
            Item::Import(i) => format!("{pad}import {}", quote(&i.path, false)),
            Item::Enum(e) => self.enum_decl(e, indent),
            Item::Record(r) => {
                let open = if r.open { "open " } else { "" };
                let mut header = format!("{open}record {}", r.name.name);
                let mut header_end = r.name.span.end;
                if let Some(key) = &r.key {
                    header.push_str(&format!(" key {}", key.name));
                    header_end = key.span.end;
                }
                if let Some(label) = &r.label {
                    header.push_str(&format!(" label {}", label.name));
                    header_end = label.span.end;
                }
                let nodes: Vec<Node<'_>> = r.fields.iter().map(Node::Field).collect();
                self.block(
                    indent,
                    &header,
                    header_end as usize,
                    &nodes,
                    r.span,
                    Gaps::AsWritten,
                )
            }
            Item::Subject(s) => {
                let within = match &s.within {
                    Some((parent, field)) => format!(" in {}.{}", parent.name, field.name),
                    None => String::new(),
                };
                format!("{pad}subject {}: {}{within}", s.name.name, s.record.name)
            }
            Item::Def(d) => {
                let doc = self.def(d);
                render(&doc, indent, WIDTH)
            }
            Item::Param(p) => {
                let header = format!("param {}: {}", p.name.name, type_expr(&p.ty));
                let nodes: Vec<Node<'_>> = p.entries.iter().map(Node::Entry).collect();
                self.block(
                    indent,
                    &header,
                    p.ty.span.end as usize,
                    &nodes,
                    p.span,
                    Gaps::AsWritten,
                )
            }
            Item::Table(t) => format!("{pad}table {} = {}", t.name.name, quote(&t.path, false)),
            Item::Ruleset(r) => {
                let header = format!("ruleset {}", r.name.name);
                let nodes: Vec<Node<'_>> = r.clauses.iter().map(Node::Clause).collect();
                self.block(
                    indent,
                    &header,
                    r.name.span.end as usize,
                    &nodes,
                    r.span,
                    Gaps::AroundMultiline,
                )
            }
        }
    }

    /// An enum stays on one line when it was written on one line and still
    /// fits; otherwise one variant per line.
    fn enum_decl(&mut self, e: &EnumDecl, indent: usize) -> String {
        let header = format!("enum {}", e.name.name);
        let written_on_one_line = self
            .source
            .get(e.span.start as usize..self.code_end(e.span))
            .is_some_and(|s| !s.contains('\n'));
        if written_on_one_line && !e.variants.is_empty() {
            let variants: Vec<String> = e.variants.iter().map(variant).collect();
            let line = format!(
                "{}{header} {{ {} }}",
                " ".repeat(indent),
                variants.join(", ")
            );
            if line.chars().count() <= WIDTH {
                return line;
            }
        }
        let nodes: Vec<Node<'_>> = e.variants.iter().map(Node::Variant).collect();
        self.block(
            indent,
            &header,
            e.name.span.end as usize,
            &nodes,
            e.span,
            Gaps::AsWritten,
        )
    }

    /// `header {`, the entries one level in, `}`; `header {}` when empty.
    fn block(
        &mut self,
        indent: usize,
        header: &str,
        header_end: usize,
        nodes: &[Node<'_>],
        span: Span,
        gaps: Gaps,
    ) -> String {
        let pad = " ".repeat(indent);
        let end = self.code_end(span);
        let close = end.saturating_sub(1);
        let mut out = format!("{pad}{header} {{");
        // A comment on the line of the opening brace stays there.
        let brace = self.find_open_brace(header_end, close);
        let on_brace_line = brace.and_then(|b| {
            let c = self.comments.peek()?;
            let gap = self.source.get(b + 1..c.start)?;
            if c.start < close && !gap.contains('\n') {
                self.comments.take_before(c.start + 1).pop()
            } else {
                None
            }
        });
        if let Some(c) = &on_brace_line {
            out.push(' ');
            out.push_str(&c.text);
        }
        let body = self.entries(nodes, indent + INDENT, close, gaps);
        if body.is_empty() && on_brace_line.is_none() {
            out.push('}');
            return out;
        }
        out.push('\n');
        out.push_str(&body);
        out.push_str(&pad);
        out.push('}');
        out
    }

    /// The `{` that opens a block whose header ends at `from`.
    fn find_open_brace(&self, from: usize, limit: usize) -> Option<usize> {
        let bytes = self.source.as_bytes();
        let mut i = from;
        while i < limit {
            match bytes.get(i)? {
                b'{' => return Some(i),
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while bytes.get(i).is_some_and(|b| *b != b'\n') {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        None
    }

    fn def(&mut self, d: &DefDecl) -> Doc {
        let mut params = Vec::new();
        for (name, ty) in &d.params {
            let mut param = self.leading(name.span.start as usize);
            param.push(Doc::text(format!("{}: {}", name.name, type_expr(ty))));
            param.extend(self.trailing(self.code_end(ty.span)));
            params.push(Doc::concat(param));
        }
        let dangling = self.dangling(d.ret.span.start as usize);
        Doc::concat(vec![
            Doc::text(format!("def {}", d.name.name)),
            bracketed("(", params, dangling, ")", None),
            Doc::text(format!(": {} =", type_expr(&d.ret))),
            self.value_after_equals(&d.body),
        ])
    }

    /// The value of a `def` or `let`: after ` = ` when it fits, else on the
    /// next line, one level in.
    fn value_after_equals(&mut self, value: &crate::ast::Expr) -> Doc {
        let value = self.expr(value);
        Doc::group(Doc::nest(INDENT, Doc::concat(vec![Doc::Line, value])))
    }

    /// ` where filter`, moving to the next line, one level in, when the
    /// clause does not fit.
    fn where_clause(&mut self, filter: Option<&crate::ast::Expr>) -> Doc {
        match filter {
            Some(f) => {
                let f = self.expr_hanging(f, INDENT);
                Doc::group(Doc::nest(
                    INDENT,
                    Doc::concat(vec![Doc::Line, Doc::text("where "), f]),
                ))
            }
            None => Doc::text(""),
        }
    }

    fn ruleset_clause(&mut self, clause: &RulesetClause, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let doc = match clause {
            RulesetClause::Stage(i) => return format!("{pad}stage {}", i.name),
            RulesetClause::Programme(i) => return format!("{pad}programme {}", i.name),
            RulesetClause::Criterion(c) => return self.criterion(c, indent),
            RulesetClause::ForEach {
                subject, filter, ..
            } => Doc::concat(vec![
                Doc::text(format!("for each {}", subject.name)),
                self.where_clause(filter.as_ref()),
            ]),
            RulesetClause::Let { name, value, .. } => Doc::concat(vec![
                Doc::text(format!("let {} =", name.name)),
                self.value_after_equals(value),
            ]),
            RulesetClause::Benefit { amount, per, .. } => Doc::concat(vec![
                Doc::text("benefit "),
                self.expr_hanging(amount, INDENT),
                Doc::text(format!(" per {}", per.name)),
            ]),
        };
        render(&doc, indent, WIDTH)
    }

    fn criterion(&mut self, c: &Criterion, indent: usize) -> String {
        let mut header = format!("criterion {}", c.code.name);
        let mut header_end = c.code.span.end;
        if let Some((severity, span)) = &c.severity {
            header.push_str(match severity {
                Severity::Blocking => " blocking",
                Severity::Warning => " warning",
            });
            header_end = span.end;
        }
        let nodes: Vec<Node<'_>> = c.clauses.iter().map(Node::Check).collect();
        self.block(
            indent,
            &header,
            header_end as usize,
            &nodes,
            c.span,
            Gaps::AsWritten,
        )
    }

    fn criterion_clause(&mut self, clause: &CriterionClause, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let doc = match clause {
            CriterionClause::For {
                var, list, filter, ..
            } => Doc::concat(vec![
                Doc::text(format!("for {} in ", var.name)),
                self.expr_hanging(list, INDENT),
                self.where_clause(filter.as_ref()),
            ]),
            CriterionClause::Require(e) => {
                Doc::concat(vec![Doc::text("require "), self.expr_hanging(e, INDENT)])
            }
            CriterionClause::OnMissing(i) => return format!("{pad}on missing {}", i.name),
            CriterionClause::Reason(i) => return format!("{pad}reason {}", i.name),
            CriterionClause::Message {
                lang, template: t, ..
            } => {
                return format!("{pad}message {} {}", lang.name, template(t));
            }
        };
        render(&doc, indent, WIDTH)
    }

    fn param_entry(&mut self, e: &ParamEntry, indent: usize) -> String {
        let doc = Doc::concat(vec![
            self.expr(&e.value),
            Doc::text(format!(
                " from {} source {}",
                e.from,
                quote(&e.source, false)
            )),
        ]);
        render(&doc, indent, WIDTH)
    }
}

fn variant(v: &Variant) -> String {
    let code = match &v.code {
        crate::ast::Code::Int(n) => n.to_string(),
        crate::ast::Code::Text(s) => quote(s, false),
    };
    format!("{} = {code}", v.name.name)
}

fn push_comment(out: &mut String, indent: usize, c: &Comment, blank_before: bool) {
    if blank_before {
        out.push('\n');
    }
    out.extend(std::iter::repeat_n(' ', indent));
    out.push_str(&c.text);
    out.push('\n');
}

//! pest pairs to AST nodes. Nothing of pest (`Pair`, `Rule`) leaves this file.

use std::cell::{Cell, RefCell};

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::errors::{EXPRESSION_STARTS, describe, found_token, join_or, syntax_help};
use super::nesting;
use crate::ast::*;
use crate::date::Date;
use crate::diagnostic::Diagnostic;
use crate::limits::{MAX_FILE_BYTES, MAX_NESTING};
use crate::source::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "syntax/layak.pest"]
struct LayakParser;

/// Parses one file. Never fails: unreadable stretches become diagnostics and
/// parsing resumes at the next top-level declaration.
pub fn parse_file(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let b = Builder::new(file, 0);
    if text.len() > MAX_FILE_BYTES {
        b.error(
            Diagnostic::new(
                "E0902",
                Span::new(file, 0, 0),
                format!("the file is larger than {MAX_FILE_BYTES} bytes"),
            )
            .with_help("split the rules into several files that import each other"),
        );
        return (File::default(), b.diags.into_inner());
    }
    // pest is only handed text that nests no deeper than the limit: its
    // parser recurses once per level, with no stack guard on wasm32.
    let parsed = match nesting::first_too_deep(text) {
        None => LayakParser::parse(Rule::file, text).ok(),
        Some(_) => None,
    };
    let items = match parsed {
        Some(mut pairs) => match pairs.next() {
            Some(file_pair) => file_pair
                .into_inner()
                .filter(|p| p.as_rule() != Rule::EOI)
                .filter_map(|p| b.item(p))
                .collect(),
            None => Vec::new(),
        },
        None => b.items_with_recovery(text),
    };
    (File { items }, b.diags.into_inner())
}

/// Parses a standalone expression whose text starts at byte `offset` of
/// `file` (a message hole, a parameter override).
pub fn parse_expr(file: FileId, text: &str, offset: usize) -> (Option<Expr>, Vec<Diagnostic>) {
    let b = Builder::new(file, offset);
    if let Some(at) = nesting::first_too_deep(text) {
        b.error(too_deep(Span::new(file, offset + at, offset + at + 1)));
        return (None, b.diags.into_inner());
    }
    let expr = match LayakParser::parse(Rule::single_expr, text) {
        Ok(mut pairs) => pairs
            .next()
            .and_then(|p| p.into_inner().next())
            .map(|p| b.expr(p)),
        Err(e) => {
            let (diag, _) = b.pest_error(&e, text);
            b.diags.borrow_mut().push(diag);
            None
        }
    };
    (expr, b.diags.into_inner())
}

pub(super) struct Builder {
    pub(super) file: FileId,
    pub(super) offset: Cell<usize>,
    diags: RefCell<Vec<Diagnostic>>,
    pratt: PrattParser<Rule>,
    /// How many expressions are being built around the current one: the
    /// outermost checks the depth of the tree it built.
    open_exprs: Cell<usize>,
}

impl Builder {
    fn new(file: FileId, offset: usize) -> Builder {
        let pratt = PrattParser::new()
            .op(Op::infix(Rule::op_or, Assoc::Left))
            .op(Op::infix(Rule::op_and, Assoc::Left))
            .op(Op::prefix(Rule::op_not))
            .op(Op::infix(Rule::op_eq, Assoc::Left)
                | Op::infix(Rule::op_ne, Assoc::Left)
                | Op::infix(Rule::op_lt, Assoc::Left)
                | Op::infix(Rule::op_le, Assoc::Left)
                | Op::infix(Rule::op_gt, Assoc::Left)
                | Op::infix(Rule::op_ge, Assoc::Left)
                | Op::infix(Rule::op_in, Assoc::Left)
                | Op::infix(Rule::op_not_in, Assoc::Left))
            .op(Op::infix(Rule::op_coalesce, Assoc::Left))
            .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
            .op(Op::infix(Rule::op_mul, Assoc::Left)
                | Op::infix(Rule::op_div, Assoc::Left)
                | Op::infix(Rule::op_rem, Assoc::Left))
            .op(Op::prefix(Rule::op_neg))
            .op(Op::postfix(Rule::field_access));
        Builder {
            file,
            offset: Cell::new(offset),
            diags: RefCell::new(Vec::new()),
            pratt,
            open_exprs: Cell::new(0),
        }
    }

    /// Parses declarations one at a time, skipping from a syntax error to
    /// the next line that starts a declaration, so that one slip does not
    /// hide the rest of the file.
    fn items_with_recovery(&self, text: &str) -> Vec<Item> {
        let mut items = Vec::new();
        let mut pos = 0;
        // The first place at or after `pos` where the text nests too
        // deeply. pest only ever sees the text before the declaration that
        // holds it (from the last line starting a declaration), so that it
        // can neither recurse too deep nor read a cut declaration as a
        // shorter one. Scanning from a later start finds no shallower text,
        // so it is scanned for again only once `pos` has passed it.
        let mut deep: Option<usize> = None;
        loop {
            pos = super::recover::skip_trivia(text, pos);
            if pos >= text.len() {
                break;
            }
            if deep.is_none_or(|d| d < pos) {
                deep = text
                    .get(pos..)
                    .and_then(nesting::first_too_deep)
                    .map(|d| pos + d);
            }
            let end = match deep {
                Some(d) => super::recover::item_start_before(text, d).max(pos),
                None => text.len(),
            };
            if let Some(d) = deep.filter(|_| end <= pos) {
                self.error(too_deep(Span::new(self.file, d, d + 1)));
                pos = super::recover::next_item_start(text, d + 1);
                continue;
            }
            let Some(rest) = text.get(pos..end) else {
                break;
            };
            self.offset.set(pos);
            match LayakParser::parse(Rule::single_item, rest) {
                Ok(mut pairs) => {
                    let Some(single) = pairs.next() else { break };
                    let consumed = single.as_span().end();
                    if let Some(item) = single.into_inner().next().and_then(|p| self.item(p)) {
                        items.push(item);
                    }
                    pos += consumed.max(1);
                }
                Err(e) => {
                    let (diag, at) = self.pest_error(&e, rest);
                    self.error(diag);
                    pos = super::recover::next_item_start(text, pos + at.max(1))
                        .min(end.max(pos + 1));
                }
            }
        }
        self.offset.set(0);
        items
    }

    /// The span of a pair, without the blank lines and comments pest's
    /// implicit whitespace can leave at its end.
    pub(super) fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        let end = s.start() + super::recover::without_trailing_trivia(s.as_str()).len();
        Span::new(
            self.file,
            self.offset.get() + s.start(),
            self.offset.get() + end,
        )
    }

    pub(super) fn error(&self, d: Diagnostic) {
        self.diags.borrow_mut().push(d);
    }

    /// Turns a pest error into a diagnostic in our words, and returns the
    /// byte offset (relative to `text`) where parsing stopped.
    fn pest_error(&self, e: &pest::error::Error<Rule>, text: &str) -> (Diagnostic, usize) {
        let at = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let found = found_token(text, at);
        let span = Span::new(
            self.file,
            self.offset.get() + at,
            self.offset.get() + at + found.as_ref().map_or(0, |t| t.len()),
        );
        let found_text = match &found {
            Some(t) => format!("`{}`", visible(t)),
            None => "the end of the file".to_string(),
        };
        let message = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
                let mut wanted: Vec<&str> = positives.iter().map(|r| describe(*r)).collect();
                // Everything that can start an expression reads as one word.
                if wanted.iter().any(|w| EXPRESSION_STARTS.contains(w)) {
                    wanted.retain(|w| !EXPRESSION_STARTS.contains(w));
                    wanted.push("an expression");
                }
                wanted.sort_unstable();
                wanted.dedup();
                format!("expected {}, found {found_text}", join_or(&wanted))
            }
            _ => format!("unexpected {found_text}"),
        };
        let mut d = Diagnostic::new("E0001", span, message);
        let after_ignored = text
            .get(..at)
            .is_some_and(|before| before.trim_end().ends_with(": ignored"));
        if found.as_deref() == Some("?") && after_ignored {
            d = d.with_help("an `ignored` field takes no `?`: it may always be missing");
        } else if let Some(help) = syntax_help(found.as_deref()) {
            d = d.with_help(help);
        }
        (d, at)
    }

    fn ident(&self, p: Pair<'_, Rule>) -> Ident {
        Ident {
            span: self.span(&p),
            name: p.as_str().to_string(),
        }
    }

    /// The next child that is not a contextual keyword.
    fn children<'i>(&self, p: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
        p.into_inner().filter(|c| !is_keyword(c.as_rule()))
    }

    fn item(&self, p: Pair<'_, Rule>) -> Option<Item> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut c = self.children(p);
        Some(match rule {
            Rule::import => {
                let s = c.next()?;
                Item::Import(Import {
                    path_span: self.span(&s),
                    path: self.string(s),
                    span,
                })
            }
            Rule::enum_decl => {
                let name = self.ident(c.next()?);
                let variants = c.filter_map(|v| self.variant(v)).collect();
                Item::Enum(EnumDecl {
                    name,
                    variants,
                    span,
                })
            }
            Rule::record_decl => {
                let mut first = c.next()?;
                let open = first.as_rule() == Rule::record_open;
                if open {
                    first = c.next()?;
                }
                let name = self.ident(first);
                let mut key = None;
                let mut label = None;
                let mut fields = Vec::new();
                for x in c {
                    match x.as_rule() {
                        Rule::record_key => key = self.children(x).next().map(|i| self.ident(i)),
                        Rule::record_label => {
                            label = self.children(x).next().map(|i| self.ident(i))
                        }
                        Rule::field_decl => fields.extend(self.field(x)),
                        _ => {}
                    }
                }
                Item::Record(RecordDecl {
                    open,
                    name,
                    key,
                    label,
                    fields,
                    span,
                })
            }
            Rule::subject_decl => {
                let name = self.ident(c.next()?);
                let record = self.ident(c.next()?);
                let within = match (c.next(), c.next()) {
                    (Some(a), Some(b)) => Some((self.ident(a), self.ident(b))),
                    _ => None,
                };
                Item::Subject(SubjectDecl {
                    name,
                    record,
                    within,
                    span,
                })
            }
            Rule::def_decl => {
                let name = self.ident(c.next()?);
                let mut params = Vec::new();
                let mut ret = None;
                let mut body = None;
                for x in c {
                    match x.as_rule() {
                        Rule::def_param => {
                            let mut pc = x.into_inner();
                            let (Some(n), Some(t)) = (pc.next(), pc.next()) else {
                                continue;
                            };
                            params.push((self.ident(n), self.type_expr(t)));
                        }
                        Rule::type_expr => ret = Some(self.type_expr(x)),
                        Rule::expr => body = Some(self.expr(x)),
                        _ => {}
                    }
                }
                Item::Def(DefDecl {
                    name,
                    params,
                    ret: ret?,
                    body: body?,
                    span,
                })
            }
            Rule::param_decl => {
                let name = self.ident(c.next()?);
                let ty = self.type_expr(c.next()?);
                let entries = c.filter_map(|e| self.param_entry(e)).collect();
                Item::Param(ParamDecl {
                    name,
                    ty,
                    entries,
                    span,
                })
            }
            Rule::table_decl => {
                let name = self.ident(c.next()?);
                let s = c.next()?;
                Item::Table(TableDecl {
                    name,
                    path_span: self.span(&s),
                    path: self.string(s),
                    span,
                })
            }
            Rule::ruleset => {
                let name = self.ident(c.next()?);
                let clauses = c.filter_map(|x| self.ruleset_clause(x)).collect();
                Item::Ruleset(Ruleset {
                    name,
                    clauses,
                    span,
                })
            }
            _ => return None,
        })
    }

    fn variant(&self, p: Pair<'_, Rule>) -> Option<Variant> {
        let span = self.span(&p);
        let mut c = p.into_inner();
        let name = self.ident(c.next()?);
        let code_pair = c.next()?;
        let code = match code_pair.as_rule() {
            Rule::string => Code::Text(self.string(code_pair)),
            _ => Code::Int(self.int(&code_pair)),
        };
        Some(Variant { name, code, span })
    }

    fn field(&self, p: Pair<'_, Rule>) -> Option<FieldDecl> {
        let span = self.span(&p);
        let mut c = p.into_inner();
        let name = self.ident(c.next()?);
        let ty = c.next()?;
        let kind = if ty.as_rule() == Rule::field_ignored {
            FieldKind::Ignored
        } else {
            FieldKind::Typed {
                ty: self.type_expr(ty),
                optional: c.next().is_some(),
            }
        };
        Some(FieldDecl { name, kind, span })
    }

    fn type_expr(&self, p: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&p);
        let kind = match p.into_inner().next() {
            Some(inner) => match inner.as_rule() {
                Rule::list_type => match inner.into_inner().next() {
                    Some(t) => TypeExprKind::List(Box::new(self.type_expr(t))),
                    None => TypeExprKind::Named(Ident {
                        name: "list".into(),
                        span,
                    }),
                },
                Rule::int_range => {
                    let mut c = inner.into_inner();
                    let lo = c.next().map_or(0, |x| self.int(&x));
                    let hi = c.next().map_or(0, |x| self.int(&x));
                    TypeExprKind::IntRange(lo, hi)
                }
                _ => TypeExprKind::Named(self.ident(inner)),
            },
            None => TypeExprKind::Named(Ident {
                name: String::new(),
                span,
            }),
        };
        TypeExpr { kind, span }
    }

    fn param_entry(&self, p: Pair<'_, Rule>) -> Option<ParamEntry> {
        let span = self.span(&p);
        let mut c = self.children(p);
        let value = self.primary(c.next()?);
        let from_pair = c.next()?;
        let from_span = self.span(&from_pair);
        let from = self.date(&from_pair);
        let source = self.string(c.next()?);
        Some(ParamEntry {
            value,
            from,
            from_span,
            source,
            span,
        })
    }

    fn ruleset_clause(&self, p: Pair<'_, Rule>) -> Option<RulesetClause> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut c = self.children(p);
        Some(match rule {
            Rule::stage_clause => RulesetClause::Stage(self.ident(c.next()?)),
            Rule::programme_clause => RulesetClause::Programme(self.ident(c.next()?)),
            Rule::for_each_clause => RulesetClause::ForEach {
                subject: self.ident(c.next()?),
                filter: c.next().map(|e| self.expr(e)),
                span,
            },
            Rule::let_clause => RulesetClause::Let {
                name: self.ident(c.next()?),
                value: self.expr(c.next()?),
                span,
            },
            Rule::benefit_clause => RulesetClause::Benefit {
                amount: self.expr(c.next()?),
                per: self.ident(c.next()?),
                span,
            },
            Rule::criterion => {
                let code = self.ident(c.next()?);
                let mut severity = None;
                let mut clauses = Vec::new();
                for x in c {
                    if x.as_rule() == Rule::severity {
                        let s = self.span(&x);
                        let level = if x.as_str() == "warning" {
                            Severity::Warning
                        } else {
                            Severity::Blocking
                        };
                        severity = Some((level, s));
                    } else if let Some(cl) = self.criterion_clause(x) {
                        clauses.push(cl);
                    }
                }
                RulesetClause::Criterion(Criterion {
                    code,
                    severity,
                    clauses,
                    span,
                })
            }
            _ => return None,
        })
    }

    fn criterion_clause(&self, p: Pair<'_, Rule>) -> Option<CriterionClause> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut c = self.children(p);
        Some(match rule {
            Rule::crit_for => CriterionClause::For {
                var: self.ident(c.next()?),
                list: self.expr(c.next()?),
                filter: c.next().map(|e| self.expr(e)),
                span,
            },
            Rule::crit_require => CriterionClause::Require(self.expr(c.next()?)),
            Rule::crit_missing => CriterionClause::OnMissing(self.ident(c.next()?)),
            Rule::crit_reason => CriterionClause::Reason(self.ident(c.next()?)),
            Rule::crit_message => {
                let lang = self.ident(c.next()?);
                let s = c.next()?;
                CriterionClause::Message {
                    lang,
                    template: self.template(s),
                    span,
                }
            }
            _ => return None,
        })
    }

    // ---- expressions -------------------------------------------------------

    fn expr(&self, p: Pair<'_, Rule>) -> Expr {
        let span = self.span(&p);
        // The Pratt parser recurses once per prefix operator in a row.
        if let Some(op) = self.prefix_run_too_long(&p) {
            self.error(too_deep(op));
            return Expr {
                kind: ExprKind::Invalid,
                span,
            };
        }
        self.open_exprs.set(self.open_exprs.get() + 1);
        let e = self.pratt_expr(p.into_inner());
        self.open_exprs.set(self.open_exprs.get().saturating_sub(1));
        if self.open_exprs.get() > 0 {
            return e;
        }
        // A chain of binary operators or field accesses is built without
        // recursion but is as deep as it is long: the outermost expression
        // is measured once, and one too deep is taken apart without
        // recursion and replaced.
        match e.deeper_than(MAX_NESTING) {
            None => e,
            Some(at) => {
                self.error(too_deep(at));
                e.drop_iteratively();
                Expr {
                    kind: ExprKind::Invalid,
                    span,
                }
            }
        }
    }

    /// Where a run of prefix operators (`not not ...`, `- - ...`) passes
    /// the nesting limit, if one does.
    fn prefix_run_too_long(&self, p: &Pair<'_, Rule>) -> Option<Span> {
        let mut run = 0;
        for c in p.clone().into_inner() {
            if matches!(c.as_rule(), Rule::op_not | Rule::op_neg) {
                run += 1;
                if run > MAX_NESTING {
                    return Some(self.span(&c));
                }
            } else {
                run = 0;
            }
        }
        None
    }

    fn pratt_expr(&self, pairs: Pairs<'_, Rule>) -> Expr {
        self.pratt
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let span = self.span(&op).to(rhs.span);
                let op = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Expr {
                    kind: ExprKind::Unary(op, Box::new(rhs)),
                    span,
                }
            })
            .map_postfix(|lhs, op| {
                let span = lhs.span.to(self.span(&op));
                let field = op.into_inner().next().map_or_else(
                    || Ident {
                        name: String::new(),
                        span,
                    },
                    |f| self.ident(f),
                );
                Expr {
                    kind: ExprKind::Field(Box::new(lhs), field),
                    span,
                }
            })
            .map_infix(|lhs, op, rhs| {
                let span = lhs.span.to(rhs.span);
                let op = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_in => BinaryOp::In,
                    Rule::op_not_in => BinaryOp::NotIn,
                    Rule::op_coalesce => BinaryOp::Coalesce,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    Rule::op_rem => BinaryOp::Rem,
                    _ => BinaryOp::Div,
                };
                Expr {
                    kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    span,
                }
            })
            .parse(pairs)
    }

    fn primary(&self, p: Pair<'_, Rule>) -> Expr {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::int => ExprKind::Int(self.int(&p)),
            Rule::money => ExprKind::Money(p.into_inner().next().map_or(0, |i| self.int(&i))),
            Rule::date => ExprKind::Date(self.date(&p)),
            Rule::boolean => ExprKind::Bool(p.as_str() == "true"),
            Rule::string => ExprKind::Text(self.string(p)),
            Rule::ident => ExprKind::Name(self.ident(p)),
            Rule::paren => match p.into_inner().next() {
                Some(e) => ExprKind::Paren(Box::new(self.expr(e))),
                None => ExprKind::Bool(false),
            },
            Rule::range => {
                let mut c = p.into_inner();
                match (c.next(), c.next()) {
                    (Some(lo), Some(hi)) => {
                        ExprKind::Range(Box::new(self.primary(lo)), Box::new(self.primary(hi)))
                    }
                    _ => ExprKind::Bool(false),
                }
            }
            Rule::list_lit => ExprKind::List(p.into_inner().map(|e| self.expr(e)).collect()),
            Rule::call => self.call(p),
            Rule::if_expr => self.if_expr(p),
            Rule::match_expr => {
                let mut c = self.children(p);
                match c.next() {
                    Some(scrutinee) => {
                        let scrutinee = self.expr(scrutinee);
                        let arms = c.filter_map(|a| self.match_arm(a)).collect();
                        ExprKind::Match(Box::new(scrutinee), arms)
                    }
                    None => ExprKind::Bool(false),
                }
            }
            Rule::expr => return self.expr(p),
            _ => ExprKind::Bool(false),
        };
        Expr { kind, span }
    }

    /// `if a then x else if b then y else z`: the grammar reads an `else
    /// if` ladder in a loop, and the tree keeps it flat, one arm per
    /// condition, so a ladder of any length is one level deep.
    fn if_expr(&self, p: Pair<'_, Rule>) -> ExprKind {
        let mut arms = Vec::new();
        let mut arm_start = None;
        let mut cond = None;
        let mut otherwise = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::kw_if => arm_start = Some(self.span(&x)),
                Rule::expr => {
                    let e = self.expr(x);
                    match (cond.take(), arm_start.take()) {
                        (None, Some(start)) => {
                            arm_start = Some(start);
                            cond = Some(e);
                        }
                        (Some(c), Some(start)) => arms.push(IfArm {
                            span: start.to(e.span),
                            cond: c,
                            then: e,
                        }),
                        _ => otherwise = Some(e),
                    }
                }
                _ => {}
            }
        }
        match otherwise {
            Some(e) if !arms.is_empty() => ExprKind::If(arms, Box::new(e)),
            _ => ExprKind::Invalid,
        }
    }

    fn match_arm(&self, p: Pair<'_, Rule>) -> Option<MatchArm> {
        let span = self.span(&p);
        let mut patterns = Vec::new();
        let mut body = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::pattern => {
                    let pspan = self.span(&x);
                    let mut c = x.into_inner();
                    let first = c.next()?;
                    if first.as_rule() == Rule::wildcard {
                        patterns.push(Pattern::Wildcard(pspan));
                    } else {
                        let first = self.ident(first);
                        patterns.push(match c.next() {
                            Some(v) => Pattern::Variant {
                                enum_name: Some(first),
                                variant: self.ident(v),
                            },
                            None => Pattern::Variant {
                                enum_name: None,
                                variant: first,
                            },
                        });
                    }
                }
                Rule::expr => body = Some(self.expr(x)),
                _ => {}
            }
        }
        Some(MatchArm {
            patterns,
            body: body?,
            span,
        })
    }

    /// A call or an aggregate: `count`, `any`, `all`, `sum`, `sum_top`,
    /// `min`, `max` and `filter` whose last argument binds a variable
    /// (`m in members where ...: ...`), after at most one other (the N of
    /// `sum_top`), are aggregates; everything else is a call.
    fn call(&self, p: Pair<'_, Rule>) -> ExprKind {
        let mut c = p.into_inner();
        let Some(name) = c.next() else {
            return ExprKind::Invalid;
        };
        let name = self.ident(name);
        let mut args: Vec<Arg> = c.map(|a| self.call_arg(a)).collect();
        let kind = agg_kind(&name.name);
        let binds_last = matches!(args.last(), Some(Arg::Binder(_)));
        if let (Some(kind), true, true) = (kind, binds_last, args.len() <= 2) {
            let Some(Arg::Binder(binder)) = args.pop() else {
                return ExprKind::Invalid;
            };
            let Binder {
                var,
                list,
                filter,
                body,
                ..
            } = *binder;
            let n = args.pop().map(|a| self.arg_as_expr(a));
            return ExprKind::Aggregate(Box::new(Aggregate {
                kind,
                kind_span: name.span,
                n,
                var,
                list,
                filter,
                body,
            }));
        }
        let args = args.into_iter().map(|a| self.arg_as_expr(a)).collect();
        ExprKind::Call(name, args)
    }

    fn call_arg(&self, p: Pair<'_, Rule>) -> Arg {
        let span = self.span(&p);
        let text = (
            p.as_str().to_string(),
            self.offset.get() + p.as_span().start(),
        );
        let mut var = None;
        let mut exprs = Vec::new();
        let mut after_where = false;
        let mut filter = None;
        let mut body = None;
        // The first `where` or `:`, which only an aggregate may have.
        let mut extra = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::ident => var = Some(self.ident(x)),
                Rule::kw_where => {
                    after_where = true;
                    extra.get_or_insert(self.span(&x));
                }
                Rule::agg_colon => {
                    after_where = false;
                    extra.get_or_insert(self.span(&x));
                }
                Rule::expr => {
                    let e = self.expr(x);
                    if exprs.is_empty() && filter.is_none() && body.is_none() {
                        exprs.push(e);
                    } else if after_where {
                        filter = Some(e);
                    } else {
                        body = Some(e);
                    }
                }
                _ => {}
            }
        }
        let list = exprs.pop();
        match (var, list) {
            (Some(var), Some(list)) => Arg::Binder(Box::new(Binder {
                var,
                list,
                filter,
                body,
                text,
                extra,
            })),
            (None, Some(e)) if extra.is_none() => Arg::Plain(e),
            (_, list) => {
                if let Some(at) = extra {
                    self.error(misplaced_where(at));
                }
                Arg::Plain(list.unwrap_or(Expr {
                    kind: ExprKind::Invalid,
                    span,
                }))
            }
        }
    }

    /// An argument as an expression. One read as `x in list` that turned
    /// out not to bind a variable (in a call, or before an aggregate's
    /// variable) is the expression `x in list ...` after all, read again
    /// from its text so that the operators after `in` bind as they do
    /// anywhere else.
    fn arg_as_expr(&self, arg: Arg) -> Expr {
        let (text, at, extra) = match arg {
            Arg::Plain(e) => return e,
            Arg::Binder(binder) => {
                let Binder {
                    text: (text, at),
                    extra,
                    ..
                } = *binder;
                (text, at, extra)
            }
        };
        if let Some(extra) = extra {
            self.error(misplaced_where(extra));
        }
        let (e, diags) = parse_expr(self.file, &text, at);
        for d in diags {
            self.error(d);
        }
        e.unwrap_or(Expr {
            kind: ExprKind::Invalid,
            span: Span::new(self.file, at, at + text.len()),
        })
    }

    // ---- literals ------------------------------------------------------------

    fn int(&self, p: &Pair<'_, Rule>) -> i64 {
        let digits: String = p
            .as_str()
            .chars()
            .filter(|c| *c != '_' && *c != ' ')
            .collect();
        match digits.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                self.error(
                    Diagnostic::new(
                        "E0002",
                        self.span(p),
                        format!("`{}` is too large", p.as_str()),
                    )
                    .with_help(
                        "numbers must lie between -9223372036854775808 and 9223372036854775807",
                    ),
                );
                0
            }
        }
    }

    fn date(&self, p: &Pair<'_, Rule>) -> Date {
        match Date::parse(p.as_str()) {
            Some(d) => d,
            None => {
                self.error(
                    Diagnostic::new("E0003", self.span(p), format!("`{}` is not a calendar date", p.as_str()))
                        .with_help("dates are written `YYYY-MM-DD` with a month 01-12 and a day that exists in that month"),
                );
                Date::UNIX_EPOCH
            }
        }
    }
}

/// One argument of a call, before it is known whether the call is an
/// aggregate.
enum Arg {
    Plain(Expr),
    Binder(Box<Binder>),
}

/// `var in list where filter: body`, with its text and start (to read it
/// again as an expression) and the place of its `where` or `:`.
struct Binder {
    var: Ident,
    list: Expr,
    filter: Option<Expr>,
    body: Option<Expr>,
    text: (String, usize),
    extra: Option<Span>,
}

fn agg_kind(name: &str) -> Option<AggKind> {
    Some(match name {
        "count" => AggKind::Count,
        "any" => AggKind::Any,
        "all" => AggKind::All,
        "sum" => AggKind::Sum,
        "min" => AggKind::Min,
        "max" => AggKind::Max,
        "sum_top" => AggKind::SumTop,
        "filter" => AggKind::Filter,
        _ => return None,
    })
}

/// E0001 for a `where` or `:` in an argument that binds no variable.
fn misplaced_where(at: Span) -> Diagnostic {
    Diagnostic::new(
        "E0001",
        at,
        "`where` and `:` are only allowed in an aggregate",
    )
    .with_help(
        "an aggregate names its variable first: `count(m in family.members where m.age >= 18)`",
    )
}

/// `text` with control and invisible formatting characters (NUL, bidi
/// overrides, zero-width joiners) written as `\u{..}`, so that a message
/// shows what is there.
pub(super) fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            let invisible = c.is_control()
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
            if invisible {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// E0901 at `at`.
fn too_deep(at: Span) -> Diagnostic {
    Diagnostic::new(
        "E0901",
        at,
        format!("expression nested deeper than {MAX_NESTING} levels"),
    )
    .with_help(
        "split it into definitions (`def`) or `let` clauses; a long `else if` ladder is fine",
    )
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_key
            | Rule::kw_label
            | Rule::kw_in
            | Rule::kw_from
            | Rule::kw_source
            | Rule::kw_stage
            | Rule::kw_programme
            | Rule::kw_for
            | Rule::kw_each
            | Rule::kw_where
            | Rule::kw_let
            | Rule::kw_benefit
            | Rule::kw_per
            | Rule::kw_criterion
            | Rule::kw_blocking
            | Rule::kw_warning
            | Rule::kw_require
            | Rule::kw_on
            | Rule::kw_missing
            | Rule::kw_reason
            | Rule::kw_message
            | Rule::kw_if
            | Rule::kw_then
            | Rule::kw_else
            | Rule::kw_match
    )
}

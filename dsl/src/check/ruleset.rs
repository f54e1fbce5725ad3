//! Rulesets: their header clauses, subject chain, `let`s, criteria and
//! benefit.

use std::collections::HashMap;

use crate::ast::{self, CriterionClause, Ident, RulesetClause};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, OnMissing, Per, Severity, Stage};
use crate::source::Span;

use super::ty::Ty;
use super::{Checker, Owner, did_you_mean};

/// The clauses of a ruleset that say what kind of ruleset it is.
#[derive(Default)]
struct Header<'a> {
    stage: Option<(Option<Stage>, Span)>,
    programme: Option<&'a Ident>,
    for_each: Option<(&'a Ident, Option<&'a ast::Expr>, Span)>,
    benefit: Option<(&'a ast::Expr, &'a Ident, Span)>,
}

impl<'a> Checker<'a> {
    pub(super) fn rulesets(&mut self) {
        let mut programmes: HashMap<String, Span> = HashMap::new();
        for i in 0..self.rulesets.len() {
            let Some(&(file, rs)) = self.rulesets.get(i) else {
                continue;
            };
            self.file = file;
            self.owner = Owner::Ruleset(i);
            self.new_frame();
            self.poisoned = false;
            let header = self.header(rs);
            if let Some(p) = header.programme {
                if let Some(first) = programmes.get(&p.name) {
                    self.report(
                        Diagnostic::new(
                            "E0102",
                            p.span,
                            format!("programme `{}` is decided by two rulesets", p.name),
                        )
                        .with_label(*first, "first decided here")
                        .with_help("put every condition of a programme in one ruleset"),
                    );
                } else {
                    programmes.insert(p.name.clone(), p.span);
                }
            }
            let ruleset = self.ruleset(rs, &header);
            self.program.rulesets.push(ruleset);
        }
        self.owner = Owner::Nothing;
    }

    /// Reads `stage`, `programme`, `for each` and `benefit`, reporting
    /// clauses given twice, missing or out of place.
    fn header(&mut self, rs: &'a ast::Ruleset) -> Header<'a> {
        let mut h = Header::default();
        for clause in &rs.clauses {
            match clause {
                RulesetClause::Stage(id) => {
                    if let Some((_, first)) = h.stage {
                        self.twice("stage", id.span, first);
                        continue;
                    }
                    let stage = match id.name.as_str() {
                        "verification" => Some(Stage::Verification),
                        "qc" => Some(Stage::Qc),
                        "determination" => Some(Stage::Determination),
                        _ => {
                            self.unknown_word(
                                "stage",
                                id,
                                &["verification", "qc", "determination"],
                            );
                            None
                        }
                    };
                    h.stage = Some((stage, id.span));
                }
                RulesetClause::Programme(id) => match h.programme {
                    Some(first) => self.twice("programme", id.span, first.span),
                    None => h.programme = Some(id),
                },
                RulesetClause::ForEach {
                    subject,
                    filter,
                    span,
                } => match h.for_each {
                    Some((_, _, first)) => self.twice("for each", *span, first),
                    None => h.for_each = Some((subject, filter.as_ref(), *span)),
                },
                RulesetClause::Benefit { amount, per, span } => match h.benefit {
                    Some((_, _, first)) => self.twice("benefit", *span, first),
                    None => h.benefit = Some((amount, per, *span)),
                },
                RulesetClause::Let { .. } | RulesetClause::Criterion(_) => {}
            }
        }
        let name = &rs.name;
        if h.stage.is_none() {
            self.report(
                Diagnostic::new(
                    "E0301",
                    name.span,
                    format!("ruleset `{}` has no `stage`", name.name),
                )
                .with_help("add `stage verification` or `stage determination`"),
            );
        }
        if h.for_each.is_none() {
            self.report(
                Diagnostic::new(
                    "E0301",
                    name.span,
                    format!("ruleset `{}` has no `for each`", name.name),
                )
                .with_help("say what it runs on: `for each household`"),
            );
        }
        match h.stage.and_then(|(s, _)| s) {
            Some(Stage::Determination) => {
                if h.programme.is_none() {
                    self.report(
                        Diagnostic::new(
                            "E0301",
                            name.span,
                            format!("determination ruleset `{}` has no `programme`", name.name),
                        )
                        .with_help("name the programme it decides: `programme PKH`"),
                    );
                }
                if h.benefit.is_none() {
                    self.report(
                        Diagnostic::new(
                            "E0301",
                            name.span,
                            format!("determination ruleset `{}` has no `benefit`", name.name),
                        )
                        .with_help(
                            "say what an eligible subject receives: `benefit Rp 200_000 per month`",
                        ),
                    );
                }
            }
            Some(Stage::Verification | Stage::Qc) => {
                if let Some(p) = h.programme {
                    self.report(
                        Diagnostic::new(
                            "E0306",
                            p.span,
                            "a verification ruleset has no `programme`",
                        )
                        .with_help("only a `stage determination` ruleset decides a programme"),
                    );
                }
                if let Some((_, _, span)) = h.benefit {
                    let span = self.trim(span);
                    self.report(
                        Diagnostic::new("E0306", span, "a verification ruleset has no `benefit`")
                            .with_help("only a `stage determination` ruleset pays a benefit"),
                    );
                }
            }
            None => {}
        }
        h
    }

    fn twice(&mut self, clause: &str, span: Span, first: Span) {
        let (span, first) = (self.trim(span), self.trim(first));
        self.report(
            Diagnostic::new("E0302", span, format!("`{clause}` is given twice"))
                .with_label(first, "first given here"),
        );
    }

    /// E0303 for a word that is not one of `known`.
    fn unknown_word(&mut self, what: &str, id: &Ident, known: &[&str]) {
        let d = Diagnostic::new("E0303", id.span, format!("unknown {what} `{}`", id.name));
        let d = match did_you_mean(&id.name, known.iter().copied()) {
            Some(name) => d.with_suggestion(name),
            None => d.with_help(format!("write {}", or_list(known))),
        };
        self.report(d);
    }

    fn ruleset(&mut self, rs: &'a ast::Ruleset, h: &Header<'a>) -> ir::Ruleset {
        let stage = h.stage.and_then(|(s, _)| s);
        // The subject chain, root first, as the frame's first locals.
        let subject = h
            .for_each
            .and_then(|(s, _, _)| self.resolve_subject(s, "E0101"));
        let mut subject_locals = Vec::new();
        match subject {
            Some(s) => {
                for link in self.program.schema.chain(s) {
                    let Some(def) = self.program.schema.subjects.get(link.index()) else {
                        continue;
                    };
                    let name = Ident {
                        name: def.name.clone(),
                        span: h.for_each.map_or(rs.name.span, |(s, _, _)| s.span),
                    };
                    let ty = self
                        .subject_records
                        .get(link.index())
                        .copied()
                        .flatten()
                        .map_or(Ty::Error, Ty::Record);
                    subject_locals.push(self.frame.bind_subject(&name, ty));
                }
            }
            None => self.poisoned = true,
        }
        // The `let`s take the slots right after the subject chain, whatever
        // the filter and their values bind.
        let let_clauses: Vec<(&Ident, &ast::Expr)> = rs
            .clauses
            .iter()
            .filter_map(|c| match c {
                RulesetClause::Let { name, value, .. } => Some((name, value)),
                _ => None,
            })
            .collect();
        let slots: Vec<_> = let_clauses
            .iter()
            .map(|(name, _)| self.frame.reserve(name))
            .collect();
        let filter = h.for_each.and_then(|(_, f, _)| f).map(|f| {
            let t = self.expr(f, Some(&Ty::Bool));
            self.expect(&t, &Ty::Bool, f.span, "the `for each` condition");
            t.id
        });
        let mut lets = Vec::new();
        let mut names: HashMap<String, Span> = HashMap::new();
        for ((name, value), local) in let_clauses.into_iter().zip(slots) {
            let v = self.expr(value, None);
            if let Some((_, earlier)) = self.frame.lookup(&name.name) {
                let label = match names.get(&name.name) {
                    Some(first) => (*first, "first defined here".to_string()),
                    None => (
                        earlier.span,
                        format!("`for each` binds the subject `{}`", name.name),
                    ),
                };
                self.report(
                    Diagnostic::new(
                        "E0102",
                        name.span,
                        format!("`{}` is already defined in this ruleset", name.name),
                    )
                    .with_label(label.0, label.1),
                );
            } else if name.name == "as_of" {
                self.report(Diagnostic::new(
                    "E0102",
                    name.span,
                    "`as_of` is reserved for the evaluation date",
                ));
            }
            names.insert(name.name.clone(), name.span);
            self.frame.activate(local, v.ty.clone());
            lets.push(ir::Let {
                name: name.name.clone(),
                local,
                value: v.id,
            });
        }
        let mut criteria = Vec::new();
        let mut codes: HashMap<String, Span> = HashMap::new();
        for clause in &rs.clauses {
            let RulesetClause::Criterion(c) = clause else {
                continue;
            };
            if let Some(first) = codes.get(&c.code.name) {
                self.report(
                    Diagnostic::new(
                        "E0305",
                        c.code.span,
                        format!(
                            "criterion `{}` is defined twice in ruleset `{}`",
                            c.code.name, rs.name.name
                        ),
                    )
                    .with_label(*first, "first defined here"),
                );
            } else {
                codes.insert(c.code.name.clone(), c.code.span);
            }
            criteria.push(self.criterion(c, stage));
        }
        let benefit = h.benefit.map(|(amount, per, _)| {
            let t = self.expr(amount, Some(&Ty::Money));
            self.expect(&t, &Ty::Money, amount.span, "the benefit");
            let per = match per.name.as_str() {
                "year" => Per::Year,
                "month" => Per::Month,
                _ => {
                    self.unknown_word("period", per, &["year", "month"]);
                    Per::Year
                }
            };
            ir::Benefit { amount: t.id, per }
        });
        ir::Ruleset {
            name: rs.name.name.clone(),
            stage: stage.unwrap_or(Stage::Verification),
            programme: h.programme.map(|p| p.name.clone()),
            subject: subject.unwrap_or(ir::SubjectId(0)),
            subject_locals,
            filter,
            lets,
            criteria,
            benefit: if stage == Some(Stage::Determination) {
                benefit
            } else {
                None
            },
            frame_size: self.frame.size(),
            span: rs.span,
        }
    }

    fn criterion(&mut self, c: &ast::Criterion, stage: Option<Stage>) -> ir::Criterion {
        let code = &c.code;
        let severity = match (stage, c.severity) {
            (Some(Stage::Verification | Stage::Qc), None) => {
                self.report(
                    Diagnostic::new("E0304", code.span, format!("criterion `{}` has no severity", code.name))
                        .with_help(format!(
                            "in a verification ruleset, write `criterion {0} blocking` or `criterion {0} warning`",
                            code.name
                        )),
                );
                Severity::Blocking
            }
            (Some(Stage::Determination), Some((_, span))) => {
                self.report(
                    Diagnostic::new(
                        "E0306",
                        span,
                        "a criterion of a determination ruleset takes no severity",
                    )
                    .with_help(
                        "every criterion here is a condition of eligibility; remove the severity",
                    ),
                );
                Severity::Blocking
            }
            (_, Some((ast::Severity::Warning, _))) => Severity::Warning,
            _ => Severity::Blocking,
        };
        let mark = self.frame.mark();
        let mut each: Option<(ir::Each, Span)> = None;
        for clause in &c.clauses {
            let CriterionClause::For {
                var,
                list,
                filter,
                span,
            } = clause
            else {
                continue;
            };
            if let Some((_, first)) = &each {
                let first = *first;
                self.twice("for", *span, first);
                continue;
            }
            let l = self.expr(list, None);
            let elem = match l.ty.elem() {
                Some(t) => t,
                None => {
                    let shown = self.show(&l.ty);
                    self.report(
                        Diagnostic::new(
                            "E0201",
                            list.span,
                            format!("`for` goes through a list, found `{shown}`"),
                        )
                        .with_help(format!(
                            "write `for {} in LIST` with a list such as `family.members`",
                            var.name
                        )),
                    );
                    Ty::Error
                }
            };
            let local = self.frame.bind(var, elem, true);
            let filter = filter.as_ref().map(|f| {
                let t = self.expr(f, Some(&Ty::Bool));
                self.expect(&t, &Ty::Bool, f.span, "the `where` condition of `for`");
                t.id
            });
            each = Some((
                ir::Each {
                    var: local,
                    list: l.id,
                    filter,
                },
                *span,
            ));
        }
        let mut require: Option<(crate::ir::ExprId, Span)> = None;
        let mut on_missing: Option<(OnMissing, Span)> = None;
        let mut reason: Option<(String, Span)> = None;
        let mut message_id: Option<(ir::Template, Span)> = None;
        let mut message_en: Option<(ir::Template, Span)> = None;
        for clause in &c.clauses {
            match clause {
                CriterionClause::For { .. } => {}
                CriterionClause::Require(e) => {
                    let t = self.expr(e, Some(&Ty::Bool));
                    self.expect(&t, &Ty::Bool, e.span, "a requirement");
                    match require {
                        Some((_, first)) => {
                            self.report(
                                Diagnostic::new(
                                    "E0302",
                                    e.span,
                                    format!("criterion `{}` has two `require` clauses", code.name),
                                )
                                .with_label(first, "the first requirement")
                                .with_help("join the conditions with `and`"),
                            );
                        }
                        None => require = Some((t.id, e.span)),
                    }
                }
                CriterionClause::OnMissing(id) => {
                    let policy = match id.name.as_str() {
                        "fail" => Some(OnMissing::Fail),
                        "pass" => Some(OnMissing::Pass),
                        _ => {
                            self.unknown_word("missing-data policy", id, &["fail", "pass"]);
                            None
                        }
                    };
                    match on_missing {
                        Some((_, first)) => self.twice("on missing", id.span, first),
                        None => on_missing = policy.map(|p| (p, id.span)),
                    }
                }
                CriterionClause::Reason(id) => match &reason {
                    Some((_, first)) => {
                        let first = *first;
                        self.twice("reason", id.span, first);
                    }
                    None => reason = Some((id.name.clone(), id.span)),
                },
                CriterionClause::Message {
                    lang,
                    template,
                    span,
                } => {
                    let t = self.template(template);
                    let slot = match lang.name.as_str() {
                        "id" => &mut message_id,
                        "en" => &mut message_en,
                        _ => {
                            self.unknown_word("message language", lang, &["id", "en"]);
                            continue;
                        }
                    };
                    match slot {
                        Some((_, first)) => {
                            let first = *first;
                            self.twice(&format!("message {}", lang.name), *span, first);
                        }
                        None => *slot = Some((t, *span)),
                    }
                }
            }
        }
        self.frame.reset(mark);
        let require = match require {
            Some((id, _)) => {
                self.constant_requirement(c, id);
                id
            }
            None => {
                self.report(
                    Diagnostic::new(
                        "E0304",
                        code.span,
                        format!("criterion `{}` has no `require`", code.name),
                    )
                    .with_help("say what must hold: `require CONDITION`"),
                );
                self.error_expr(code.span).id
            }
        };
        for (missing, lang, example) in [
            (message_id.is_none(), "id", "Indonesian"),
            (message_en.is_none(), "en", "English"),
        ] {
            if missing {
                self.report(
                    Diagnostic::new("E0310", code.span, format!("criterion `{}` has no `message {lang}`", code.name))
                        .with_help(format!(
                            "every criterion explains itself in Indonesian and English; add `message {lang} \"...\"` in {example}"
                        )),
                );
            }
        }
        ir::Criterion {
            code: code.name.clone(),
            severity,
            each: each.map(|(e, _)| e),
            require,
            on_missing: on_missing.map(|(p, _)| p),
            reason: reason.map(|(r, _)| r),
            message_id: message_id.map(|(t, _)| t).unwrap_or_default(),
            message_en: message_en.map(|(t, _)| t).unwrap_or_default(),
            span: c.span,
        }
    }

    fn template(&mut self, t: &ast::Template) -> ir::Template {
        let parts = t
            .parts
            .iter()
            .map(|p| match p {
                ast::TemplatePart::Text(s) => ir::TemplatePart::Text(s.clone()),
                ast::TemplatePart::Hole { expr, source } => {
                    let e = self.expr(expr, None);
                    ir::TemplatePart::Hole {
                        expr: e.id,
                        source: source.clone(),
                    }
                }
            })
            .collect();
        ir::Template { parts }
    }
}

/// `` `a` or `b` ``.
fn or_list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.as_slice() {
        [init @ .., last] if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => quoted.join(""),
    }
}

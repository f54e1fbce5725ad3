//! The formatter against its invariants.
//!
//! - Every `.lyk` file under `rules/` and `dsl/tests/corpus/` (syntax errors
//!   aside) formats to text that parses to the same tree, keeps every
//!   comment, and formats to itself.
//! - Messy inputs in `dsl/tests/corpus/fmt/` have reviewed snapshots.
//! - Generated trees print to text that parses back to the same tree, which
//!   pins operator precedence and parenthesisation.

use std::path::{Path, PathBuf};

use layak_dsl::ast::{
    AggKind, Aggregate, BinaryOp, Criterion, CriterionClause, Expr, ExprKind, File, Ident, IfArm,
    Item, MatchArm, NEG_PRECEDENCE, NOT_PRECEDENCE, Pattern, Ruleset, RulesetClause, Severity,
    Template, TemplatePart, UnaryOp,
};
use layak_dsl::date::Date;
use layak_dsl::source::Span;
use layak_dsl::{FileId, fmt, syntax};
use proptest::prelude::*;

// ---- the corpus ----------------------------------------------------------------

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn lyk_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            lyk_files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "lyk") {
            out.push(path);
        }
    }
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    lyk_files_under(&workspace().join("rules"), &mut files);
    lyk_files_under(&workspace().join("dsl/tests/corpus"), &mut files);
    files.sort();
    files
}

/// The `//` comments of a text, found independently of the formatter: the
/// text from `//` outside a string literal to the end of the line.
fn comments(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if in_string => {
                    chars.next();
                }
                '"' => in_string = !in_string,
                '/' if !in_string && chars.peek().is_some_and(|(_, n)| *n == '/') => {
                    found.push(line.get(i..).unwrap_or("").trim_end().to_string());
                    break;
                }
                _ => {}
            }
        }
    }
    found.sort();
    found
}

fn parse(text: &str) -> (File, bool) {
    let (file, diagnostics) = syntax::parse_file(FileId(0), text);
    (file, layak_dsl::diagnostic::has_errors(&diagnostics))
}

#[test]
fn every_file_keeps_its_tree_and_comments_and_is_a_fixed_point() {
    let files = corpus();
    assert!(files.len() >= 8, "the rule files were not found: {files:?}");
    let mut checked = 0;
    for path in files {
        let name = path.display();
        let Ok(text) = std::fs::read_to_string(&path) else {
            // The hostile corpus has a file that is not UTF-8 on purpose.
            continue;
        };
        let (tree, broken) = parse(&text);
        if broken {
            // Corpus files for syntax errors are someone else's business.
            continue;
        }
        let formatted = fmt::format(&tree, &text);
        let (again, broken_again) = parse(&formatted);
        assert!(
            !broken_again,
            "{name}: the formatted text does not parse:\n{formatted}"
        );
        assert_eq!(
            again, tree,
            "{name}: formatting changed the tree:\n{formatted}"
        );
        assert_eq!(
            comments(&formatted),
            comments(&text),
            "{name}: comments differ:\n{formatted}"
        );
        assert_eq!(
            fmt::format(&again, &formatted),
            formatted,
            "{name}: formatting the formatted text changes it"
        );
        checked += 1;
    }
    assert!(checked >= 8);
}

#[test]
fn snapshots_of_messy_files() {
    let mut files = Vec::new();
    lyk_files_under(&workspace().join("dsl/tests/corpus/fmt"), &mut files);
    files.sort();
    assert!(files.len() >= 4);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = fmt::format_source(FileId(0), &text).unwrap();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        insta::assert_snapshot!(name, formatted);
    }
}

#[test]
fn a_file_with_syntax_errors_is_not_formatted() {
    let errors =
        fmt::format_source(FileId(0), "def f(): int = 1 +\nruleset r { stage }").unwrap_err();
    assert!(errors.iter().all(|d| d.code == "E0001"), "{errors:?}");
    assert!(!errors.is_empty());
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt::format_source(FileId(0), "").unwrap(), "");
    assert_eq!(fmt::format_source(FileId(0), "\n\n  \n").unwrap(), "");
    assert_eq!(
        fmt::format_source(FileId(0), "\n// one  \n\n\n// two\n").unwrap(),
        "// one\n\n// two\n"
    );
}

#[test]
fn long_lines_break_at_the_outermost_chain() {
    let text = "def f(m: Member): bool = present(m.nik) and len(m.nik) == 16 and is_digits(m.nik) and not is_placeholder(m.nik) and (a or b)";
    assert_eq!(
        fmt::format_source(FileId(0), text).unwrap(),
        "def f(m: Member): bool =\n  present(m.nik)\n  and len(m.nik) == 16\n  and is_digits(m.nik)\n  and not is_placeholder(m.nik)\n  and (a or b)\n"
    );
    // Fits after `=` once on its own line: one line, one level in.
    let text = "def f(m: Member): bool = present(m.nik) and len(m.nik) == 16 and is_digits(m.nik) and not is_placeholder(m.nik)";
    assert_eq!(
        fmt::format_source(FileId(0), text).unwrap(),
        "def f(m: Member): bool =\n  present(m.nik) and len(m.nik) == 16 and is_digits(m.nik) and not is_placeholder(m.nik)\n"
    );
}

// ---- generated trees -------------------------------------------------------------

fn sp() -> Span {
    Span::default()
}

fn ident(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        span: sp(),
    }
}

fn ex(kind: ExprKind) -> Expr {
    Expr { kind, span: sp() }
}

fn paren(e: Expr) -> Expr {
    ex(ExprKind::Paren(Box::new(e)))
}

/// Names that are not keywords, some of them starting like one.
fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "b", "m", "x", "desil", "as_of", "index", "notes", "iffy", "order", "_tmp", "x1",
    ])
    .prop_map(str::to_string)
}

fn call_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["f", "len", "present", "g2", "date"]).prop_map(str::to_string)
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            'a', 'Z', ' ', '{', '}', '"', '\\', '\n', '\t', 'é', '/', ':',
        ]),
        0..8,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn int_or_name() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0i64..200_000).prop_map(|n| ex(ExprKind::Int(n))),
        name().prop_map(|n| ex(ExprKind::Name(ident(&n)))),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0i64..20).prop_map(|n| ex(ExprKind::Int(n))),
        (0i64..i64::MAX).prop_map(|n| ex(ExprKind::Int(n))),
        (0i64..10_000_000_000).prop_map(|n| ex(ExprKind::Money(n))),
        text().prop_map(|s| ex(ExprKind::Text(s))),
        any::<bool>().prop_map(|b| ex(ExprKind::Bool(b))),
        (1900i64..2100, 1i64..=12, 1i64..=28)
            .prop_filter_map("a calendar date", |(y, m, d)| Date::from_ymd(y, m, d)
                .map(|d| ex(ExprKind::Date(d)))),
        name().prop_map(|n| ex(ExprKind::Name(ident(&n)))),
        name().prop_map(|n| ex(ExprKind::Name(ident(&n)))),
        (int_or_name(), int_or_name())
            .prop_map(|(lo, hi)| ex(ExprKind::Range(Box::new(lo), Box::new(hi)))),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Or,
        BinaryOp::And,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::In,
        BinaryOp::NotIn,
        BinaryOp::Coalesce,
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
    ])
}

fn agg_kind() -> impl Strategy<Value = AggKind> {
    prop::sample::select(vec![
        AggKind::Count,
        AggKind::Any,
        AggKind::All,
        AggKind::Sum,
        AggKind::Min,
        AggKind::Max,
        AggKind::SumTop,
        AggKind::Filter,
    ])
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        Just(Pattern::Wildcard(sp())),
        name().prop_map(|v| Pattern::Variant {
            enum_name: None,
            variant: ident(&v),
        }),
        (name(), name()).prop_map(|(e, v)| Pattern::Variant {
            enum_name: Some(ident(&e)),
            variant: ident(&v),
        }),
    ]
}

/// Any tree the parser can build, parentheses not yet added.
fn raw_expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            (inner.clone(), name()).prop_map(|(b, f)| ex(ExprKind::Field(Box::new(b), ident(&f)))),
            (call_name(), prop::collection::vec(inner.clone(), 0..4))
                .prop_map(|(n, args)| ex(ExprKind::Call(ident(&n), args))),
            (
                prop::sample::select(vec![UnaryOp::Not, UnaryOp::Neg]),
                inner.clone()
            )
                .prop_map(|(op, x)| ex(ExprKind::Unary(op, Box::new(x)))),
            (binary_op(), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| ex(ExprKind::Binary(op, Box::new(l), Box::new(r)))),
            (binary_op(), inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| ex(ExprKind::Binary(op, Box::new(l), Box::new(r)))),
            (
                prop::collection::vec((inner.clone(), inner.clone()), 1..4),
                inner.clone()
            )
                .prop_map(|(arms, e)| ex(ExprKind::If(
                    arms.into_iter()
                        .map(|(cond, then)| IfArm {
                            cond,
                            then,
                            span: sp(),
                        })
                        .collect(),
                    Box::new(e)
                ))),
            (
                inner.clone(),
                prop::collection::vec(
                    (prop::collection::vec(pattern(), 1..3), inner.clone()),
                    1..4
                )
            )
                .prop_map(|(s, arms)| {
                    let arms = arms
                        .into_iter()
                        .map(|(patterns, body)| MatchArm {
                            patterns,
                            body,
                            span: sp(),
                        })
                        .collect();
                    ex(ExprKind::Match(Box::new(s), arms))
                }),
            (
                agg_kind(),
                prop::option::of(inner.clone()),
                name(),
                inner.clone(),
                prop::option::of(inner.clone()),
                prop::option::of(inner.clone())
            )
                .prop_map(|(kind, n, var, list, filter, body)| {
                    ex(ExprKind::Aggregate(Box::new(Aggregate {
                        kind,
                        kind_span: sp(),
                        n,
                        var: ident(&var),
                        list,
                        filter,
                        body,
                    })))
                }),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| ex(ExprKind::List(items))),
            inner.prop_map(paren),
        ]
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    raw_expr().prop_map(fix)
}

/// How tightly an expression binds as an operand: a binary operator's
/// precedence, and tighter than anything for the rest.
fn binding(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, _, _) => op.precedence(),
        _ => u8::MAX,
    }
}

/// Operators with a precedence above this, written right after `e`, would
/// be taken into `e`: an `if`'s `else` branch takes everything, and a prefix
/// `not` takes everything binding tighter than itself.
fn open_to(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::If(..) => 0,
        ExprKind::Unary(UnaryOp::Not, x) => NOT_PRECEDENCE.min(open_to(x)),
        ExprKind::Unary(UnaryOp::Neg, x) => NEG_PRECEDENCE.min(open_to(x)),
        ExprKind::Binary(_, _, rhs) => open_to(rhs),
        _ => u8::MAX,
    }
}

/// Adds the parentheses a reader of the printed text needs to get this tree
/// back, as an author would write them. This is the test's own model of the
/// grammar's precedence: if it disagreed with the parser, the property below
/// would fail.
fn fix(e: Expr) -> Expr {
    let boxed = |e: Box<Expr>| Box::new(fix(*e));
    let kind = match e.kind {
        ExprKind::Field(base, f) => {
            let base = fix(*base);
            let base = if matches!(
                base.kind,
                ExprKind::Binary(..) | ExprKind::Unary(..) | ExprKind::If(..)
            ) {
                paren(base)
            } else {
                base
            };
            ExprKind::Field(Box::new(base), f)
        }
        ExprKind::Call(n, args) => ExprKind::Call(n, args.into_iter().map(fix).collect()),
        ExprKind::Unary(op, x) => {
            let x = fix(*x);
            let needs = match op {
                UnaryOp::Neg => binding(&x) < u8::MAX,
                UnaryOp::Not => binding(&x) <= NOT_PRECEDENCE,
            };
            ExprKind::Unary(op, Box::new(if needs { paren(x) } else { x }))
        }
        ExprKind::Binary(op, l, r) => {
            let (l, r) = (fix(*l), fix(*r));
            let p = op.precedence();
            let l = if binding(&l) < p || open_to(&l) < p {
                paren(l)
            } else {
                l
            };
            let r = if binding(&r) <= p { paren(r) } else { r };
            ExprKind::Binary(op, Box::new(l), Box::new(r))
        }
        ExprKind::If(arms, e) => {
            let mut arms: Vec<IfArm> = arms
                .into_iter()
                .map(|a| IfArm {
                    cond: fix(a.cond),
                    then: fix(a.then),
                    span: a.span,
                })
                .collect();
            // The parser reads `else if` as one more arm of the same `if`.
            let e = match fix(*e) {
                Expr {
                    kind: ExprKind::If(more, e),
                    ..
                } => {
                    arms.extend(more);
                    e
                }
                e => Box::new(e),
            };
            ExprKind::If(arms, e)
        }
        ExprKind::Match(s, arms) => ExprKind::Match(
            boxed(s),
            arms.into_iter()
                .map(|a| MatchArm {
                    body: fix(a.body),
                    ..a
                })
                .collect(),
        ),
        ExprKind::Aggregate(a) => {
            let a = *a;
            ExprKind::Aggregate(Box::new(Aggregate {
                n: a.n.map(fix),
                list: fix(a.list),
                filter: a.filter.map(fix),
                body: a.body.map(fix),
                ..a
            }))
        }
        ExprKind::List(items) => ExprKind::List(items.into_iter().map(fix).collect()),
        ExprKind::Paren(x) => ExprKind::Paren(boxed(x)),
        other => other,
    };
    ex(kind)
}

/// Small expressions for message holes, which must stay on one line and
/// hold no braces or quotes.
fn hole_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        name().prop_map(|n| ex(ExprKind::Name(ident(&n)))),
        (0i64..1000).prop_map(|n| ex(ExprKind::Int(n))),
    ];
    leaf.prop_recursive(3, 8, 3, |inner| {
        prop_oneof![
            (inner.clone(), name()).prop_map(|(b, f)| ex(ExprKind::Field(Box::new(b), ident(&f)))),
            (call_name(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(n, args)| ex(ExprKind::Call(ident(&n), args))),
            (inner.clone(), inner).prop_map(|(l, r)| ex(ExprKind::Binary(
                BinaryOp::Add,
                Box::new(l),
                Box::new(r)
            ))),
        ]
    })
    .prop_map(fix)
}

fn template() -> impl Strategy<Value = Template> {
    let part = prop_oneof![
        text().prop_map(TemplatePart::Text),
        hole_expr().prop_map(|expr| TemplatePart::Hole {
            source: fmt::format_expr(&expr),
            expr,
        }),
    ];
    prop::collection::vec(part, 0..5).prop_map(|parts| {
        // The parser never yields empty or adjacent texts.
        let mut merged: Vec<TemplatePart> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (_, TemplatePart::Text(t)) if t.is_empty() => {}
                (Some(TemplatePart::Text(prev)), TemplatePart::Text(t)) => prev.push_str(&t),
                (_, part) => merged.push(part),
            }
        }
        Template {
            parts: merged,
            span: sp(),
        }
    })
}

fn criterion_clause() -> impl Strategy<Value = CriterionClause> {
    prop_oneof![
        (name(), expr(), prop::option::of(expr())).prop_map(|(var, list, filter)| {
            CriterionClause::For {
                var: ident(&var),
                list,
                filter,
                span: sp(),
            }
        }),
        expr().prop_map(CriterionClause::Require),
        expr().prop_map(CriterionClause::Require),
        prop::sample::select(vec!["fail", "pass"])
            .prop_map(|w| CriterionClause::OnMissing(ident(w))),
        prop::sample::select(vec!["KK_UPDATE_NEEDED", "X"])
            .prop_map(|w| CriterionClause::Reason(ident(w))),
        (prop::sample::select(vec!["id", "en"]), template()).prop_map(|(lang, template)| {
            CriterionClause::Message {
                lang: ident(lang),
                template,
                span: sp(),
            }
        }),
    ]
}

fn ruleset_file() -> impl Strategy<Value = File> {
    (
        prop::option::of(expr()),
        expr(),
        prop::option::of(prop::sample::select(vec![
            Severity::Blocking,
            Severity::Warning,
        ])),
        prop::collection::vec(criterion_clause(), 0..6),
        expr(),
    )
        .prop_map(|(filter, value, severity, clauses, amount)| File {
            items: vec![Item::Ruleset(Ruleset {
                name: ident("r"),
                clauses: vec![
                    RulesetClause::Stage(ident("determination")),
                    RulesetClause::ForEach {
                        subject: ident("member"),
                        filter,
                        span: sp(),
                    },
                    RulesetClause::Let {
                        name: ident("v"),
                        value,
                        span: sp(),
                    },
                    RulesetClause::Criterion(Criterion {
                        code: ident("CODE"),
                        severity: severity.map(|s| (s, sp())),
                        clauses,
                        span: sp(),
                    }),
                    RulesetClause::Benefit {
                        amount,
                        per: ident("year"),
                        span: sp(),
                    },
                ],
                span: sp(),
            })],
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn printed_expressions_parse_back_to_the_same_tree(e in expr()) {
        let printed = fmt::format_expr(&e);
        let (parsed, diagnostics) = syntax::parse_expr(FileId(0), &printed, 0);
        prop_assert!(diagnostics.is_empty(), "{printed}\n{diagnostics:?}");
        prop_assert_eq!(parsed, Some(e), "{}", printed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn printed_rulesets_parse_back_and_are_fixed_points(file in ruleset_file()) {
        let printed = fmt::format(&file, "");
        let (parsed, broken) = parse(&printed);
        prop_assert!(!broken, "{}", printed);
        prop_assert_eq!(&parsed, &file, "{}", printed);
        prop_assert_eq!(fmt::format(&parsed, &printed), printed);
    }
}

// ---- comments anywhere -------------------------------------------------------------

/// The files the comment property works on: the rules and the messy inputs.
fn comment_bases() -> &'static [String] {
    static BASES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    BASES.get_or_init(|| {
        let mut files = Vec::new();
        lyk_files_under(&workspace().join("rules"), &mut files);
        lyk_files_under(&workspace().join("dsl/tests/corpus/fmt"), &mut files);
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    })
}

/// Byte offsets of the whitespace outside strings and comments: the places
/// where a comment may go.
fn gaps(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
            if c == '\n' {
                out.push(i);
            }
        } else if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '/' && text.get(i + 1..i + 2) == Some("/") {
            in_comment = true;
        } else if c.is_whitespace() {
            out.push(i);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Comments put anywhere a space may go, on their own line or at the
    /// end of a line, survive formatting, and the result is a fixed point.
    #[test]
    fn comments_anywhere_survive(
        which in any::<prop::sample::Index>(),
        places in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 1..5),
    ) {
        let bases = comment_bases();
        let base = which.get(bases);
        let (tree, _) = parse(base);
        let spots = gaps(base);
        let mut offsets: Vec<(usize, bool)> = places.iter().map(|(i, own_line)| (*i.get(&spots), *own_line)).collect();
        offsets.sort();
        offsets.dedup_by_key(|(o, _)| *o);
        let mut text = base.to_string();
        for (n, (offset, own_line)) in offsets.iter().enumerate().rev() {
            let comment = if *own_line { format!("\n// c{n}\n") } else { format!(" // c{n}\n") };
            text.insert_str(*offset, &comment);
        }
        let (with_comments, broken) = parse(&text);
        // Inside `not in` or `Rp 1`, say, a comment is a syntax error or
        // another tree; those places are not for comments.
        prop_assume!(!broken && with_comments == tree);
        let formatted = fmt::format(&with_comments, &text);
        let (again, broken) = parse(&formatted);
        prop_assert!(!broken, "{}", formatted);
        prop_assert_eq!(&again, &tree, "{}", formatted);
        prop_assert_eq!(comments(&formatted), comments(&text), "{}", formatted);
        prop_assert_eq!(fmt::format(&again, &formatted), formatted.clone(), "input:\n{}", text);
    }
}

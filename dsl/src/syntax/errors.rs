//! Pest errors in the user's words: rule names become descriptions such as
//! "an expression", and common slips get a hint.

use super::parser::Rule;

/// What a grammar rule is called in an error message.
pub(super) fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::item | Rule::single_item | Rule::file => "a declaration",
        Rule::import => "`import`",
        Rule::enum_decl => "`enum`",
        Rule::record_decl => "`record`",
        Rule::subject_decl => "`subject`",
        Rule::def_decl => "`def`",
        Rule::param_decl => "`param`",
        Rule::table_decl => "`table`",
        Rule::ruleset => "`ruleset`",
        Rule::variant => "an enum variant (`name = code`)",
        Rule::record_open => "`open`",
        Rule::field_ignored => "`ignored`",
        Rule::record_key => "`key`",
        Rule::record_label => "`label`",
        Rule::field_decl => "a field (`name: type`)",
        Rule::optional_mark => "`?`",
        Rule::type_expr | Rule::list_type | Rule::int_range => "a type",
        Rule::def_param => "a parameter (`name: type`)",
        Rule::param_entry => "a dated value (`value from YYYY-MM-DD source \"...\"`)",
        Rule::stage_clause => "`stage`",
        Rule::programme_clause => "`programme`",
        Rule::for_each_clause => "`for each`",
        Rule::let_clause => "`let`",
        Rule::benefit_clause => "`benefit`",
        Rule::criterion => "`criterion`",
        Rule::severity => "`blocking` or `warning`",
        Rule::crit_for => "`for`",
        Rule::crit_require => "`require`",
        Rule::crit_missing => "`on missing`",
        Rule::crit_reason => "`reason`",
        Rule::crit_message => "`message`",
        Rule::expr | Rule::single_expr | Rule::paren => "an expression",
        Rule::op_or
        | Rule::op_and
        | Rule::op_not_in
        | Rule::op_in
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_coalesce
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_rem => "an operator",
        Rule::op_not | Rule::op_neg => "an expression",
        Rule::field_access => "`.`",
        Rule::money => "an amount (`Rp 1_000`)",
        Rule::date => "a date (`YYYY-MM-DD`)",
        Rule::int | Rule::signed_int => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::string | Rule::string_inner => "a text in double quotes",
        Rule::range => "a range (`1..4`)",
        Rule::if_expr => "`if`",
        Rule::match_expr => "`match`",
        Rule::match_arm => "a match arm (`variant => expr`)",
        Rule::pattern | Rule::wildcard => "a variant or `_`",
        Rule::call => "a call",
        Rule::call_arg => "an expression",
        Rule::agg_colon => "`:`",
        Rule::list_lit => "a list",
        Rule::ident => "a name",
        Rule::kw_open => "`open`",
        Rule::kw_ignored => "`ignored`",
        Rule::kw_key => "`key`",
        Rule::kw_label => "`label`",
        Rule::kw_in => "`in`",
        Rule::kw_from => "`from`",
        Rule::kw_source => "`source`",
        Rule::kw_stage => "`stage`",
        Rule::kw_programme => "`programme`",
        Rule::kw_for => "`for`",
        Rule::kw_each => "`each`",
        Rule::kw_where => "`where`",
        Rule::kw_let => "`let`",
        Rule::kw_benefit => "`benefit`",
        Rule::kw_per => "`per`",
        Rule::kw_criterion => "`criterion`",
        Rule::kw_blocking => "`blocking`",
        Rule::kw_warning => "`warning`",
        Rule::kw_require => "`require`",
        Rule::kw_on => "`on`",
        Rule::kw_missing => "`missing`",
        Rule::kw_reason => "`reason`",
        Rule::kw_message => "`message`",
        Rule::kw_if => "`if`",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::kw_match => "`match`",
        _ => "something else",
    }
}

pub(super) const EXPRESSION_STARTS: &[&str] = &[
    "`if`",
    "`match`",
    "`true` or `false`",
    "a date (`YYYY-MM-DD`)",
    "a list",
    "a name",
    "a number",
    "a range (`1..4`)",
    "a text in double quotes",
    "an amount (`Rp 1_000`)",
    "a call",
];

pub(super) fn join_or(items: &[&str]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The word or symbol at `at`, for "found `x`".
pub(super) fn found_token(text: &str, at: usize) -> Option<String> {
    let rest = text.get(at..)?;
    let mut chars = rest.chars();
    let first = chars.next()?;
    if first.is_alphanumeric() || first == '_' {
        Some(
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect(),
        )
    } else {
        Some(first.to_string())
    }
}

/// A hint for common slips, keyed on what was found.
pub(super) fn syntax_help(found: Option<&str>) -> Option<&'static str> {
    match found {
        Some("&&") | Some("&") => Some("write `and` instead of `&&`"),
        Some("|") => Some("write `or` instead of `||`"),
        Some("!") => Some("write `not` for negation and `!=` for inequality"),
        Some("=") => Some("compare with `==`; `=` only appears in declarations"),
        Some("'") => Some("texts are written in double quotes"),
        None => Some("a `{`, `(` or `[` may be missing its closing partner"),
        _ => None,
    }
}

//! A household decision as a readable report, in Indonesian or English.

use std::fmt::Write as _;

use layak_dsl::decision::{
    CriterionOutcome, Eligibility, HouseholdDecision, Messages, Outcome, Status,
};
use layak_dsl::ir::Per;
use layak_dsl::whatif::WhatIf;

use layak_dsl::eval::{Lang, format_money as money};

pub fn render(d: &HouseholdDecision, lang: Lang) -> String {
    render_with(d, None, lang)
}

/// The report with what would turn the decision, when given.
pub fn render_with(d: &HouseholdDecision, what_if: Option<&WhatIf>, lang: Lang) -> String {
    let t = |id: &'static str, en: &'static str| if lang == Lang::Id { id } else { en };
    let mut s = String::new();
    let status = match d.status {
        Status::Verified => t("TERVERIFIKASI", "VERIFIED"),
        Status::Returned => t("DIKEMBALIKAN", "RETURNED"),
    };
    let _ = writeln!(
        s,
        "{}  {status}  ({} {})",
        d.record_id,
        t("per", "as of"),
        d.as_of
    );
    for ruleset in &d.verification {
        for c in &ruleset.criteria {
            if c.outcome != Outcome::Passed {
                criterion(&mut s, c, lang, "  ");
            }
        }
    }
    if !d.failures.is_empty() {
        let _ = writeln!(s, "  {}: {}", t("gagal", "failed"), d.failures.join(", "));
    }
    if !d.warnings.is_empty() {
        let _ = writeln!(
            s,
            "  {}: {}",
            t("peringatan", "warnings"),
            d.warnings.join(", ")
        );
    }
    for (programme, subjects) in &d.programmes {
        for subject in subjects {
            let verdict = match subject.eligibility {
                Eligibility::Eligible => t("layak", "eligible"),
                Eligibility::NotEligible => t("tidak layak", "not eligible"),
                Eligibility::Undetermined => t("belum dapat ditentukan", "undetermined"),
            };
            let per = match subject.per {
                Per::Year => t("per tahun", "per year"),
                Per::Month => t("per bulan", "per month"),
            };
            let who = subject
                .label
                .as_deref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            let amount = subject
                .amount
                .map_or_else(|| "-".to_string(), |a| money(a, lang));
            let _ = writeln!(
                s,
                "  {programme}  {}{who}  {verdict}  {amount} {per}",
                subject.subject
            );
            for c in &subject.criteria {
                criterion(&mut s, c, lang, "    ");
            }
            if let Some(b) = &subject.benefit
                && !b.items.is_empty()
            {
                let _ = writeln!(s, "    {}:", t("komponen manfaat", "benefit components"));
                for item in &b.items {
                    let who = item
                        .label
                        .as_deref()
                        .or(item.key.as_deref())
                        .unwrap_or(&item.path);
                    let value = item
                        .value
                        .map_or_else(|| "-".to_string(), |v| money(v, lang));
                    let counted = if item.counted {
                        ""
                    } else {
                        t(" (tidak dihitung)", " (not counted)")
                    };
                    let _ = writeln!(s, "      {who}: {value}{counted}");
                }
            }
            if !subject.missing.is_empty() {
                let _ = writeln!(
                    s,
                    "    {}: {}",
                    t("data kurang", "missing"),
                    subject.missing.join(", ")
                );
            }
        }
    }
    if let Some(w) = what_if {
        s.push_str(&layak_dsl::whatif::text::render(w, lang));
    }
    s.push('\n');
    s
}

fn criterion(s: &mut String, c: &CriterionOutcome, lang: Lang, indent: &str) {
    let mark = match c.outcome {
        Outcome::Passed => "ok ",
        Outcome::Failed => "NO ",
        Outcome::Undetermined => "?  ",
    };
    let _ = match &c.message {
        Some(m) => writeln!(s, "{indent}{mark}{}: {}", c.code, text(m, lang)),
        None => writeln!(s, "{indent}{mark}{}", c.code),
    };
    for e in &c.elements {
        let _ = writeln!(s, "{indent}     - {}", text(&e.message, lang));
    }
    if !c.missing.is_empty() {
        let _ = writeln!(s, "{indent}     missing: {}", c.missing.join(", "));
    }
}

fn text(m: &Messages, lang: Lang) -> &str {
    if lang == Lang::Id { &m.id } else { &m.en }
}

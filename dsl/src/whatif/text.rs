//! Counterfactuals as plain sentences, in Indonesian or English: what
//! `layak eval --format text` prints under a decision.

use std::fmt::Write as _;

use super::{
    Alternative, Change, Offer, OfferResult, SubjectShift, TimeChange, Trigger, Verdict, WhatIf,
};
use crate::decision::{Eligibility, Outcome, Status};
use crate::explain::{Lang, money};
use crate::ir::Per;

fn t(lang: Lang, id: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Id => id,
        Lang::En => en,
    }
}

/// The counterfactuals of one household, every line indented by two
/// spaces, ending with a newline.
pub fn render(w: &WhatIf, lang: Lang) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  {}",
        t(
            lang,
            "Apa yang akan mengubah keputusan:",
            "What would change the decision:"
        )
    );
    for code in &w.record {
        if code.offers.is_empty() {
            let _ = writeln!(
                s,
                "    {}: {}.",
                code.code,
                t(
                    lang,
                    "tidak ada perubahan satu atau dua data yang menyelesaikannya",
                    "no change of one or two fields clears it"
                )
            );
        }
        for offer in &code.offers {
            let _ = writeln!(
                s,
                "    {} {} {}: {}.",
                code.code,
                t(lang, "selesai jika", "is cleared with"),
                changes(offer, lang),
                record_result(&offer.result, lang)
            );
        }
    }
    if let Some(offer) = &w.record_together {
        let _ = writeln!(
            s,
            "    {} {}: {}.",
            t(lang, "Semua sekaligus:", "All together:"),
            changes(offer, lang),
            record_result(&offer.result, lang)
        );
    }
    if w.record_budget_reached {
        let _ = writeln!(s, "    {}", budget_note(lang));
    }
    for (programme, subjects) in &w.programmes {
        for subject in subjects {
            let who = subject
                .label
                .as_deref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "    {programme} {}{who}: {}",
                subject.subject,
                eligibility(subject.eligibility, lang)
            );
            for c in &subject.criteria {
                let name = if c.code.is_empty() {
                    t(lang, "Keputusan", "The decision").to_string()
                } else {
                    c.code.clone()
                };
                let decide = c.outcome == Outcome::Undetermined;
                if c.offers.is_empty() {
                    let none = if decide {
                        t(
                            lang,
                            "tidak ada data yang, jika diisi, menentukannya",
                            "no missing field, once given, decides it",
                        )
                    } else {
                        t(
                            lang,
                            "tidak ada perubahan satu atau dua data yang membuatnya terpenuhi",
                            "no change of one or two fields makes it pass",
                        )
                    };
                    let _ = writeln!(s, "      {name}: {none}.");
                }
                for offer in &c.offers {
                    let verb = if decide {
                        t(lang, "dapat ditentukan jika", "is decided with")
                    } else {
                        t(lang, "terpenuhi jika", "passes with")
                    };
                    let _ = writeln!(
                        s,
                        "      {name} {verb} {}: {}.",
                        changes(offer, lang),
                        subject_result(&offer.result, lang)
                    );
                }
            }
            if let Some(offer) = &subject.together {
                let _ = writeln!(
                    s,
                    "      {} {}: {}.",
                    t(lang, "Semua sekaligus:", "All together:"),
                    changes(offer, lang),
                    subject_result(&offer.result, lang)
                );
            }
            if !subject.missing_params.is_empty() {
                let p = subject.missing_params.join(", ");
                let _ = match lang {
                    Lang::Id => writeln!(
                        s,
                        "      Bergantung pada parameter yang belum berlaku ({p}): tidak ada perubahan data yang menentukannya."
                    ),
                    Lang::En => writeln!(
                        s,
                        "      It depends on parameters with no value in force ({p}): no change to the record decides it."
                    ),
                };
            }
            if subject.budget_reached {
                let _ = writeln!(s, "      {}", budget_note(lang));
            }
        }
    }
    if w.time.changes.is_empty() {
        let _ = writeln!(
            s,
            "    {} {}.",
            t(
                lang,
                "Tidak ada perubahan karena waktu saja sampai",
                "No change with time alone until"
            ),
            w.time.horizon
        );
    }
    for change in &w.time.changes {
        time_change(&mut s, change, lang);
    }
    if w.time.budget_reached {
        let _ = writeln!(s, "    {}", budget_note(lang));
    }
    s
}

fn budget_note(lang: Lang) -> &'static str {
    t(
        lang,
        "(Pencarian berhenti pada batas jumlah evaluasi: mungkin ada perubahan lain.)",
        "(The search stopped at its budget of evaluations: there may be other changes.)",
    )
}

fn eligibility(e: Eligibility, lang: Lang) -> &'static str {
    match e {
        Eligibility::Eligible => t(lang, "layak", "eligible"),
        Eligibility::NotEligible => t(lang, "tidak layak", "not eligible"),
        Eligibility::Undetermined => t(lang, "belum dapat ditentukan", "undetermined"),
    }
}

fn per(p: Per, lang: Lang) -> &'static str {
    match p {
        Per::Year => t(lang, "per tahun", "per year"),
        Per::Month => t(lang, "per bulan", "per month"),
    }
}

fn record_result(r: &OfferResult, lang: Lang) -> String {
    match r.status {
        Status::Verified => t(
            lang,
            "data akan terverifikasi",
            "the record would be verified",
        )
        .into(),
        Status::Returned => format!(
            "{} ({})",
            t(
                lang,
                "data tetap dikembalikan",
                "the record would still be returned"
            ),
            r.returned_by.join(", ")
        ),
    }
}

fn subject_result(r: &OfferResult, lang: Lang) -> String {
    let verdict = Verdict {
        eligibility: r.eligibility.unwrap_or(Eligibility::Undetermined),
        amount: r.amount,
    };
    let mut s = verdict_text(&verdict, r.per.unwrap_or(Per::Year), lang);
    if verdict.eligibility != Eligibility::Eligible && !r.failing.is_empty() {
        let _ = write!(s, " ({})", r.failing.join(", "));
    }
    s
}

fn verdict_text(v: &Verdict, p: Per, lang: Lang) -> String {
    match (v.eligibility, v.amount) {
        (Eligibility::Eligible, Some(a)) => {
            format!(
                "{}, {} {}",
                eligibility(v.eligibility, lang),
                money(a, lang),
                per(p, lang)
            )
        }
        (e, _) => eligibility(e, lang).to_string(),
    }
}

/// The changes of an offer, joined by "and".
fn changes(offer: &Offer, lang: Lang) -> String {
    let parts: Vec<String> = offer
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let alternatives = if i == 0 {
                offer.alternatives.as_slice()
            } else {
                &[]
            };
            one_change(c, alternatives, lang)
        })
        .collect();
    parts.join(t(lang, " dan ", " and "))
}

fn one_change(c: &Change, alternatives: &[Alternative], lang: Lang) -> String {
    let owner = c
        .owner
        .as_deref()
        .map(|o| format!(" ({o})"))
        .unwrap_or_default();
    let to = match &c.to_variant {
        Some(v) => v.clone(),
        None => shown(&c.to, lang),
    };
    if c.example {
        return match (c.given, lang) {
            (true, Lang::Id) => format!("{}{owner} diisi (misalnya `{to}`)", c.field),
            (true, Lang::En) => format!("{}{owner} given (for example `{to}`)", c.field),
            (false, Lang::Id) => format!(
                "{}{owner} diganti dengan nilai yang sah (misalnya `{to}`, sekarang `{}`)",
                c.field,
                shown(&c.from, lang)
            ),
            (false, Lang::En) => format!(
                "{}{owner} replaced by a valid value (for example `{to}`, now `{}`)",
                c.field,
                shown(&c.from, lang)
            ),
        };
    }
    let mut values = vec![to];
    values.extend(alternatives.iter().map(|a| match &a.to_variant {
        Some(v) => v.clone(),
        None => shown(&a.to, lang),
    }));
    let values = values.join(t(lang, " atau ", " or "));
    let from = match (&c.from_variant, c.given) {
        (_, true) => t(lang, "sekarang kosong", "now missing").to_string(),
        (Some(v), false) => format!("{} {v}", t(lang, "sekarang", "now")),
        (None, false) => format!("{} {}", t(lang, "sekarang", "now"), shown(&c.from, lang)),
    };
    format!("{}{owner} = {values} ({from})", c.field)
}

/// A value of the interchange format as a person reads it.
fn shown(v: &serde_json::Value, lang: Lang) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => t(lang, "(kosong)", "(missing)").to_string(),
        J::Bool(b) => t(
            lang,
            if *b { "ya" } else { "tidak" },
            if *b { "yes" } else { "no" },
        )
        .to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => s.clone(),
        J::Array(items) if items.is_empty() => t(lang, "(tidak ada)", "(none)").to_string(),
        J::Array(items) => items
            .iter()
            .map(|i| shown(i, lang))
            .collect::<Vec<_>>()
            .join(", "),
        J::Object(_) => v.to_string(),
    }
}

fn time_change(s: &mut String, change: &TimeChange, lang: Lang) {
    let because: Vec<String> = change
        .because
        .iter()
        .map(|b| match b {
            Trigger::Birthday { path, who, age } => {
                let who = who.as_deref().unwrap_or(path);
                match lang {
                    Lang::Id => format!("{who} berumur {age} tahun"),
                    Lang::En => format!("{who} turns {age}"),
                }
            }
            Trigger::Parameter { name, value } => match lang {
                Lang::Id => format!("{name} mulai berlaku ({})", shown(value, lang)),
                Lang::En => format!("{name} takes effect ({})", shown(value, lang)),
            },
        })
        .collect();
    let _ = writeln!(
        s,
        "    {} {} ({}):",
        t(lang, "Pada", "On"),
        change.date,
        because.join(", ")
    );
    if let Some(status) = &change.status {
        let name = |st: Status| match st {
            Status::Verified => t(lang, "TERVERIFIKASI", "VERIFIED"),
            Status::Returned => t(lang, "DIKEMBALIKAN", "RETURNED"),
        };
        let _ = writeln!(
            s,
            "      {} {} ({} {}).",
            t(lang, "data menjadi", "the record becomes"),
            name(status.to),
            t(lang, "sebelumnya", "was"),
            name(status.from)
        );
    }
    for shift in &change.subjects {
        subject_shift(s, shift, lang);
    }
}

fn subject_shift(s: &mut String, shift: &SubjectShift, lang: Lang) {
    let who = shift
        .label
        .as_deref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let side = |v: &Option<Verdict>| match v {
        Some(v) => verdict_text(v, shift.per, lang),
        None => t(
            lang,
            "bukan sasaran program",
            "not a subject of the programme",
        )
        .to_string(),
    };
    let mut line = format!(
        "      {} {}{who}: {}, {} {}",
        shift.programme,
        shift.subject,
        side(&shift.to),
        t(lang, "sebelumnya", "was"),
        side(&shift.from)
    );
    if !shift.components.is_empty() {
        let parts: Vec<String> = shift
            .components
            .iter()
            .map(|c| {
                let amount = |a: Option<i64>| a.map_or_else(|| "-".to_string(), |a| money(a, lang));
                format!("{}: {} → {}", c.who, amount(c.from), amount(c.to))
            })
            .collect();
        let _ = write!(
            line,
            "; {} {}",
            t(lang, "komponen", "components"),
            parts.join(", ")
        );
    }
    let _ = writeln!(s, "{line}.");
}

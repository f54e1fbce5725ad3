//! `layak impact`'s report: a readable table, or JSON for machines.

use std::fmt::Write as _;

use layak_dsl::decision::Outcome;
use layak_dsl::eval::{Lang, format_money};
use serde::Serialize;

use super::{Example, Impact, Kind, State, Tally};
use crate::stats::{group, rupiah};

/// What was compared, for the report's header.
#[derive(Debug, Serialize)]
pub struct Header {
    pub as_of: String,
    pub before: String,
    pub after: String,
}

pub fn json(header: &Header, impact: &Impact) -> serde_json::Result<String> {
    #[derive(Serialize)]
    struct Report<'a> {
        #[serde(flatten)]
        header: &'a Header,
        #[serde(flatten)]
        impact: &'a Impact,
    }
    serde_json::to_string_pretty(&Report { header, impact })
}

pub fn table(header: &Header, impact: &Impact, lang: Lang, top: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "impact on {} households as of {}",
        group(impact.households.into()),
        header.as_of
    );
    let _ = writeln!(s, "  before: {}", header.before);
    let _ = writeln!(s, "  after:  {}", header.after);
    let _ = writeln!(
        s,
        "households with a change: {}; verified -> returned: {}; returned -> verified: {}; malformed lines skipped: {}",
        group(impact.households_changed.into()),
        group(impact.verified_to_returned.into()),
        group(impact.returned_to_verified.into()),
        group(impact.malformed.into()),
    );
    if impact.not_evaluated > 0 {
        let _ = writeln!(
            s,
            "not evaluated (the engine stopped them; `layak run` lists why): {}",
            group(impact.not_evaluated.into())
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<10} {:>6} {:>12} {:>12} {:>10} {:>10} {:>10} {:>24} {:>24}",
        "programme",
        "per",
        "elig before",
        "elig after",
        "newly elig",
        "no longer",
        "amount chg",
        "money before",
        "money after"
    );
    for (name, p) in &impact.programmes {
        let _ = writeln!(
            s,
            "{name:<10} {:>6} {:>12} {:>12} {:>10} {:>10} {:>10} {:>24} {:>24}",
            p.per,
            group(p.eligible_before.into()),
            group(p.eligible_after.into()),
            group(p.changes.newly_eligible.into()),
            group(p.changes.newly_ineligible.into()),
            group(p.changes.amount_changed.into()),
            rupiah(p.amount_before.into()),
            rupiah(p.amount_after.into()),
        );
    }
    breakdown(&mut s, "province", &impact.provinces, top);
    breakdown(&mut s, "regency", &impact.regencies, top);
    let mut desil: Vec<(&String, &Tally)> = impact.desil.iter().collect();
    // Deciles in numeric order, unranked last.
    desil.sort_by_key(|(k, _)| k.parse::<u32>().unwrap_or(u32::MAX));
    rows(&mut s, "desil", &desil);
    examples(&mut s, &impact.examples, lang);
    s
}

fn breakdown(
    s: &mut String,
    title: &str,
    groups: &std::collections::BTreeMap<String, Tally>,
    top: usize,
) {
    let mut list: Vec<(&String, &Tally)> = groups.iter().collect();
    list.sort_by(|a, b| b.1.changes().cmp(&a.1.changes()).then(a.0.cmp(b.0)));
    let shown = list.len().min(top);
    let title = if list.len() > shown {
        format!("{title} (top {shown} of {} by changes)", list.len())
    } else {
        title.to_string()
    };
    rows(s, &title, list.get(..shown).unwrap_or(&[]));
}

fn rows(s: &mut String, title: &str, list: &[(&String, &Tally)]) {
    let _ = writeln!(s);
    let _ = writeln!(s, "by {title}");
    let _ = writeln!(
        s,
        "{:<10} {:>10} {:>10} {:>10} {:>24}",
        "", "newly elig", "no longer", "amount chg", "money change /year"
    );
    if list.is_empty() {
        let _ = writeln!(s, "  (no change)");
    }
    for (key, t) in list {
        let _ = writeln!(
            s,
            "{key:<10} {:>10} {:>10} {:>10} {:>24}",
            group(t.newly_eligible.into()),
            group(t.newly_ineligible.into()),
            group(t.amount_changed.into()),
            signed(t.delta_per_year),
        );
    }
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{}", rupiah(n.into()))
    } else {
        rupiah(n.into())
    }
}

fn examples(s: &mut String, examples: &[Example], lang: Lang) {
    if examples.is_empty() {
        return;
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{}",
        if lang == Lang::Id {
            "contoh"
        } else {
            "examples"
        }
    );
    let mut sorted: Vec<&Example> = examples.iter().collect();
    sorted.sort_by_key(|e| e.kind);
    for e in sorted {
        let kind = match (e.kind, lang) {
            (Kind::NewlyEligible, Lang::En) => "newly eligible",
            (Kind::NewlyIneligible, Lang::En) => "no longer eligible",
            (Kind::AmountChanged, Lang::En) => "amount changed",
            (Kind::NewlyEligible, Lang::Id) => "baru layak",
            (Kind::NewlyIneligible, Lang::Id) => "tidak lagi layak",
            (Kind::AmountChanged, Lang::Id) => "jumlah berubah",
        };
        let _ = writeln!(
            s,
            "  {} {} {}: {kind}: {} -> {} /{}",
            e.record_id,
            e.programme,
            e.subject,
            state(&e.before, lang),
            state(&e.after, lang),
            e.per
        );
        for f in &e.flipped {
            let message = if lang == Lang::Id {
                &f.message.id
            } else {
                &f.message.en
            };
            let _ = writeln!(
                s,
                "    {} {} -> {}: {message}",
                f.code,
                outcome(f.before),
                outcome(f.after)
            );
        }
        if let Some(note) = &e.note {
            let _ = writeln!(
                s,
                "    {}",
                if lang == Lang::Id { &note.id } else { &note.en }
            );
        }
    }
}

fn state(st: &State, lang: Lang) -> String {
    match (st.eligibility, st.amount) {
        ("eligible", Some(n)) => format_money(n, lang),
        (other, _) => other.replace('_', " "),
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Undetermined => "undetermined",
    }
}

//! The counts `layak run` prints when it finishes: by status, by failure
//! and warning code, by programme (eligible subjects and money per period),
//! malformed lines, time and rate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use layak_dsl::decision::{Eligibility, HouseholdDecision, Status, Summary};
use layak_dsl::eval::{Lang, format_money};
use layak_dsl::ir::Per;

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub households: u64,
    pub verified: u64,
    pub returned: u64,
    pub malformed: u64,
    /// Households the engine could not evaluate, by runtime error code
    /// (`E_TIMEOUT`, `E_MEMORY`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Households failing each blocking code.
    pub failures: BTreeMap<String, u64>,
    pub warnings: BTreeMap<String, u64>,
    /// Households with each undetermined verification code.
    pub undetermined: BTreeMap<String, u64>,
    /// By programme and period.
    pub programmes: BTreeMap<(String, &'static str), Programme>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Programme {
    pub subjects: u64,
    pub eligible: u64,
    pub undetermined: u64,
    /// Rupiah per period over the eligible subjects.
    pub amount: i128,
}

pub fn per_name(per: Per) -> &'static str {
    match per {
        Per::Year => "year",
        Per::Month => "month",
    }
}

impl Stats {
    pub fn add(&mut self, d: &HouseholdDecision) {
        self.households += 1;
        match d.status {
            Status::Verified => self.verified += 1,
            Status::Returned => self.returned += 1,
        }
        for code in &d.failures {
            *self.failures.entry(code.clone()).or_default() += 1;
        }
        for code in &d.warnings {
            *self.warnings.entry(code.clone()).or_default() += 1;
        }
        for u in &d.undetermined {
            *self.undetermined.entry(u.code.clone()).or_default() += 1;
        }
        for (name, subjects) in &d.programmes {
            for s in subjects {
                let p = self
                    .programmes
                    .entry((name.clone(), per_name(s.per)))
                    .or_default();
                p.subjects += 1;
                match s.eligibility {
                    Eligibility::Eligible => {
                        p.eligible += 1;
                        p.amount += i128::from(s.amount.unwrap_or(0));
                    }
                    Eligibility::NotEligible => {}
                    Eligibility::Undetermined => p.undetermined += 1,
                }
            }
        }
    }

    /// [`Stats::add`] from a household's summary (the decide path): the
    /// same counts.
    pub fn add_summary(&mut self, d: &Summary) {
        self.households += 1;
        match d.status {
            Status::Verified => self.verified += 1,
            Status::Returned => self.returned += 1,
        }
        for code in &d.failures {
            *self.failures.entry(code.clone()).or_default() += 1;
        }
        for code in &d.warnings {
            *self.warnings.entry(code.clone()).or_default() += 1;
        }
        for u in &d.undetermined {
            *self.undetermined.entry(u.code.clone()).or_default() += 1;
        }
        for (name, entries) in d.programmes.iter().flatten() {
            for s in entries {
                let p = self
                    .programmes
                    .entry((name.clone(), per_name(s.per)))
                    .or_default();
                p.subjects += 1;
                match s.eligible {
                    Some(true) => {
                        p.eligible += 1;
                        p.amount += i128::from(s.amount.unwrap_or(0));
                    }
                    Some(false) => {}
                    None => p.undetermined += 1,
                }
            }
        }
    }

    /// A household the engine could not evaluate.
    pub fn add_error(&mut self, code: &str) {
        *self.errors.entry(code.to_string()).or_default() += 1;
    }

    /// A line without a decision: malformed, or stopped by the sandbox.
    pub fn add_line_error(&mut self, error: &crate::pipeline::LineError) {
        match error {
            crate::pipeline::LineError::Malformed(_) => self.malformed += 1,
            crate::pipeline::LineError::Sandbox(e) => self.add_error(e.code()),
        }
    }

    /// How many households the engine could not evaluate.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, other: Stats) {
        self.households += other.households;
        self.verified += other.verified;
        self.returned += other.returned;
        self.malformed += other.malformed;
        for (into, from) in [
            (&mut self.failures, other.failures),
            (&mut self.warnings, other.warnings),
            (&mut self.undetermined, other.undetermined),
            (&mut self.errors, other.errors),
        ] {
            for (k, v) in from {
                *into.entry(k).or_default() += v;
            }
        }
        for (k, v) in other.programmes {
            let p = self.programmes.entry(k).or_default();
            p.subjects += v.subjects;
            p.eligible += v.eligible;
            p.undetermined += v.undetermined;
            p.amount += v.amount;
        }
    }

    /// The closing report, for stderr.
    pub fn render(&self, elapsed: Duration) -> String {
        let mut s = String::new();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.households as f64 / secs
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "{} households in {secs:.2} s ({} households/s); {} malformed lines",
            group(self.households.into()),
            group(rate.round() as i128),
            group(self.malformed.into()),
        );
        let _ = writeln!(
            s,
            "status: VERIFIED {}, RETURNED {}",
            group(self.verified.into()),
            group(self.returned.into())
        );
        for (title, codes) in [
            ("failures", &self.failures),
            ("warnings", &self.warnings),
            ("undetermined", &self.undetermined),
            ("not evaluated (engine errors)", &self.errors),
        ] {
            if codes.is_empty() {
                continue;
            }
            let _ = writeln!(s, "{title} (households):");
            let mut rows: Vec<_> = codes.iter().collect();
            rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (code, n) in rows {
                let _ = writeln!(s, "  {code:<26} {:>12}", group((*n).into()));
            }
        }
        if !self.programmes.is_empty() {
            let _ = writeln!(
                s,
                "{:<10} {:>12} {:>12} {:>12} {:>26}",
                "programme", "subjects", "eligible", "undetermined", "amount"
            );
            for ((name, per), p) in &self.programmes {
                let _ = writeln!(
                    s,
                    "{name:<10} {:>12} {:>12} {:>12} {:>26}",
                    group(p.subjects.into()),
                    group(p.eligible.into()),
                    group(p.undetermined.into()),
                    format!("{} /{per}", rupiah(p.amount)),
                );
            }
        }
        s
    }
}

/// Rupiah with thousands separators, as the messages write it.
pub fn rupiah(n: i128) -> String {
    match i64::try_from(n) {
        Ok(n) => format_money(n, Lang::En),
        Err(_) => format!("Rp {}", group(n)),
    }
}

/// An integer with `,` between thousands.
pub fn group(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(-1000), "-1,000");
        assert_eq!(rupiah(6_900_000), "Rp 6,900,000");
    }
}

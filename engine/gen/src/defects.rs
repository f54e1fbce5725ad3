//! The integrity defects of DOMAIN.md section 4, each put into a few
//! percent of households, independently, so that a generated population
//! exercises every integrity criterion (and a household may have several).

use super::model::{Household, Member};
use super::people::nik;
use super::{Regions, Rng, Ymd};

/// Each defect's chance per household, in per mille.
const RATE: u32 = 20;

pub fn inject(rng: &mut Rng, regions: &Regions, reference: Ymd, h: &mut Household) {
    if rng.chance(RATE) {
        placeholder_nik(rng, h);
    }
    if rng.chance(RATE) {
        malformed_nik(rng, h);
    }
    if rng.chance(RATE) {
        unknown_nik_region(rng, regions, h);
    }
    if rng.chance(RATE) {
        inconsistent_nik(rng, h);
    }
    if rng.chance(RATE) {
        dukcapil_not_matched(rng, h);
    }
    if rng.chance(RATE) {
        duplicate_nik(rng, h);
    }
    if rng.chance(RATE) {
        heads_not_one(rng, h);
    }
    if rng.chance(RATE) {
        invalid_village(rng, regions, h);
    }
    if rng.chance(RATE) {
        incomplete(rng, h);
    }
    if rng.chance(RATE) {
        verval_not_done(rng, h);
    }
    if rng.chance(RATE) {
        implausible_age(rng, reference, h);
    }
    if rng.chance(RATE) {
        implausible_pregnancy(rng, h);
    }
}

/// A random living member (there is always one: the head lives).
fn living<'h>(rng: &mut Rng, h: &'h mut Household) -> Option<&'h mut Member> {
    let count = all(h).filter(|m| m.living()).count();
    let k = rng.below(count as u64) as usize;
    h.families
        .iter_mut()
        .flat_map(|f| f.members.iter_mut())
        .filter(|m| m.living())
        .nth(k)
}

fn all(h: &Household) -> impl Iterator<Item = &Member> {
    h.families.iter().flat_map(|f| f.members.iter())
}

fn placeholder_nik(rng: &mut Rng, h: &mut Household) {
    let x = rng.pick(&['4', '5', '6', '9']).unwrap_or('4');
    let unchecked = rng.chance(500);
    if let Some(m) = living(rng, h) {
        let x = if m.age < 17 && x == '6' { '5' } else { x };
        m.nik = Some(format!("999999999999999{x}"));
        if unchecked {
            m.dukcapil = Some("not_checked");
        }
    }
}

fn malformed_nik(rng: &mut Rng, h: &mut Household) {
    let kind = rng.below(5);
    if let Some(m) = living(rng, h)
        && let Some(nik) = &mut m.nik
    {
        let mut chars: Vec<char> = nik.chars().collect();
        match kind {
            // One digit short, as when a leading zero is lost.
            0 => {
                chars.pop();
            }
            // A letter O typed for a zero.
            1 => {
                if let Some(c) = chars.get_mut(13) {
                    *c = 'O';
                }
            }
            // Day 00 or 35: neither a man's nor a woman's day.
            2 => replace(&mut chars, 6, if m.age % 2 == 0 { "00" } else { "35" }),
            // Month 13.
            3 => replace(&mut chars, 8, "13"),
            // 31 February.
            _ => {
                replace(&mut chars, 6, if m.sex == "F" { "71" } else { "31" });
                replace(&mut chars, 8, "02");
            }
        }
        *nik = chars.into_iter().collect();
    }
}

fn replace(chars: &mut [char], at: usize, with: &str) {
    for (slot, c) in chars.iter_mut().skip(at).zip(with.chars()) {
        *slot = c;
    }
}

fn unknown_nik_region(rng: &mut Rng, regions: &Regions, h: &mut Household) {
    // Province 99 does not exist; a historical or mistyped code reads so.
    let mut code = format!("99{:04}", rng.range(100, 9999));
    if regions.has_district(&code) {
        code = "990000".to_string();
    }
    if let Some(m) = living(rng, h)
        && let Some(nik) = &mut m.nik
        && let Some(rest) = nik.get(6..)
    {
        *nik = format!("{code}{rest}");
    }
}

fn inconsistent_nik(rng: &mut Rng, h: &mut Household) {
    let shift_day = rng.chance(600);
    if let Some(m) = living(rng, h) {
        if shift_day {
            // The birth date was corrected in the register but not the NIK.
            if let Some(b) = m.birth_date.as_deref().and_then(Ymd::parse) {
                let d = if b.d < 28 { b.d + 1 } else { b.d - 1 };
                m.birth_date = Some(Ymd { d, ..b }.iso());
            }
        } else if let (Some(b), Some(old)) = (
            m.birth_date.as_deref().and_then(Ymd::parse),
            m.nik.as_deref(),
        ) {
            // The NIK was issued with the other sex's day.
            let serial = old.get(12..).and_then(|s| s.parse().ok()).unwrap_or(1);
            let district = old.get(..6).unwrap_or("331001").to_string();
            m.nik = Some(nik(&district, b, m.sex == "M", serial));
        }
    }
}

fn dukcapil_not_matched(rng: &mut Rng, h: &mut Household) {
    let status = rng.weighted(
        &[
            (Some("not_matched"), 500),
            (Some("not_checked"), 400),
            (None, 100),
        ],
        None,
    );
    if let Some(m) = living(rng, h) {
        m.dukcapil = status;
    }
}

fn duplicate_nik(rng: &mut Rng, h: &mut Household) {
    let source = living(rng, h).and_then(|m| m.nik.clone());
    let count = all(h).filter(|m| m.living()).count();
    if count < 2 {
        // A one-person household: the duplicate is a second entry of the
        // same person, as happens when a record is keyed twice.
        if let Some(f) = h.families.first_mut()
            && let Some(m) = f.members.first().cloned()
        {
            f.members.push(Member { shdk: 8, ..m });
        }
        return;
    }
    for _ in 0..8 {
        if let Some(m) = living(rng, h)
            && m.nik != source
        {
            m.nik.clone_from(&source);
            return;
        }
    }
}

fn heads_not_one(rng: &mut Rng, h: &mut Household) {
    let two = rng.chance(500);
    let died = Ymd {
        y: 2024,
        m: rng.range(1, 12),
        d: rng.range(1, 28),
    };
    let Some(f) = h.families.first_mut() else {
        return;
    };
    if two {
        // A grown child registered as a second head (H5).
        match f.members.iter_mut().find(|m| m.shdk != 1 && m.living()) {
            Some(m) => m.shdk = 1,
            None => {
                if let Some(m) = f.members.first().cloned() {
                    let nik = m.nik.as_deref().map(|n| bump_serial(n, 7));
                    f.members.push(Member { nik, ..m });
                }
            }
        }
    } else if let Some(head) = f.members.iter_mut().find(|m| m.shdk == 1) {
        // The head died and nobody took the role on the card.
        head.presence = 2;
        head.death_date = Some(died.iso());
    }
}

fn bump_serial(nik: &str, by: u32) -> String {
    match (
        nik.get(..12),
        nik.get(12..).and_then(|s| s.parse::<u32>().ok()),
    ) {
        (Some(head), Some(serial)) => format!("{head}{:04}", (serial + by) % 10000),
        _ => nik.to_string(),
    }
}

fn invalid_village(rng: &mut Rng, regions: &Regions, h: &mut Household) {
    let code = &mut h.region.desa_code;
    let district = code.get(..6).unwrap_or("331001").to_string();
    let candidates = [
        format!("{district}0000"),
        format!("{district}9999"),
        district.clone(),
        "0000000000".to_string(),
    ];
    let k = rng.below(candidates.len() as u64) as usize;
    if let Some(c) = candidates.get(k)
        && !regions.has_village(c)
    {
        code.clone_from(c);
    } else {
        *code = "0000000000".to_string();
    }
}

fn incomplete(rng: &mut Rng, h: &mut Household) {
    let kind = rng.below(5);
    if kind == 0 {
        h.region.address = None;
        return;
    }
    if let Some(m) = living(rng, h) {
        match kind {
            1 => m.mother_name = None,
            2 => m.birth_place = None,
            3 => m.marital = None,
            _ => m.name = Some(String::new()),
        }
    }
}

fn verval_not_done(rng: &mut Rng, h: &mut Household) {
    match rng.below(4) {
        0 => h.verval = None,
        1 => {
            if let Some(v) = &mut h.verval {
                v.musdes_doc = None;
            }
        }
        2 => {
            if let Some(v) = &mut h.verval {
                v.endorsement_doc = None;
            }
        }
        _ => {
            let result = rng.range(2, 5) as u8;
            if let Some(v) = &mut h.verval {
                v.result = result;
            }
        }
    }
}

fn implausible_age(rng: &mut Rng, reference: Ymd, h: &mut Household) {
    // Born in the 1890s (a typo for the 1990s), or a birth date after
    // the reference date: over a year after it, because completed years
    // truncate toward zero, so a birth a few months ahead reads as age 0.
    let old = rng.chance(700);
    let y = if old {
        rng.range(1890, 1899)
    } else {
        reference.y + 2
    };
    let birth = Ymd {
        y,
        m: rng.range(1, 12),
        d: rng.range(1, 28),
    };
    if let Some(m) = living(rng, h) {
        m.birth_date = Some(birth.iso());
    }
}

fn implausible_pregnancy(rng: &mut Rng, h: &mut Household) {
    // A man, a child or an elderly woman marked pregnant: a slip in the
    // questionnaire's column.
    if let Some(m) = living(rng, h) {
        m.pregnant = true;
        if m.sex == "F" && (10..=55).contains(&m.age) {
            m.sex = "M";
            if let Some(n) = &m.nik {
                // Keep the NIK consistent with the recorded sex.
                if let (Some(head), Some(day), Some(tail)) = (
                    n.get(..6),
                    n.get(6..8).and_then(|d| d.parse::<u32>().ok()),
                    n.get(8..),
                ) {
                    m.nik = Some(format!("{head}{:02}{tail}", day.saturating_sub(40)));
                }
            }
        }
    }
}

//! Plausible households before any defect: who lives together, their ages,
//! schooling, work, health and the register's identifiers.

use std::collections::BTreeMap;

use super::model::{Family, Household, Housing, Member, Region, School, Verval, Work};
use super::{Regions, Rng, Ymd};

const MALE: &[&str] = &[
    "Budi", "Agus", "Joko", "Slamet", "Bambang", "Hendra", "Rudi", "Dimas", "Andi", "Bayu",
    "Wawan", "Sukardi", "Parno", "Sarno", "Eko", "Yusuf", "Rizki", "Fajar", "Dedi", "Heru", "Imam",
    "Ahmad", "Teguh", "Wahyu", "Arif", "Kevin", "Putra", "Gilang", "Hasan", "Nur",
];
const FEMALE: &[&str] = &[
    "Sri", "Siti", "Ayu", "Painem", "Rina", "Lestari", "Yuni", "Putri", "Nanik", "Maya", "Marni",
    "Dewi", "Wulan", "Indah", "Ratna", "Fitri", "Nur", "Sumiati", "Tuti", "Rahma", "Sari",
    "Endang", "Kartini", "Wati", "Aisyah", "Dinda", "Suci", "Mega", "Yanti", "Ani",
];
const SURNAMES: &[&str] = &[
    "",
    "",
    "",
    "Santoso",
    "Wijaya",
    "Saputra",
    "Hidayat",
    "Pratama",
    "Kurniawan",
    "Setiawan",
    "Rahayu",
    "Lubis",
    "Siregar",
    "Nasution",
    "Harahap",
    "Sitompul",
    "Simanjuntak",
    "Wibowo",
];
const PLACES: &[&str] = &[
    "Klaten",
    "Boyolali",
    "Surakarta",
    "Semarang",
    "Yogyakarta",
    "Sleman",
    "Jakarta",
    "Bandung",
    "Surabaya",
    "Malang",
    "Medan",
    "Makassar",
    "Palembang",
    "Denpasar",
    "Kupang",
    "Ambon",
    "Pontianak",
    "Banjarmasin",
    "Padang",
    "Mataram",
    "Jayapura",
    "Manado",
    "Kendari",
    "Serang",
];

/// Per-household state: where it is and the next NIK serial.
struct Ctx<'a> {
    rng: &'a mut Rng,
    regions: &'a Regions,
    reference: Ymd,
    district: &'static str,
    serial: u32,
}

pub fn household(rng: &mut Rng, regions: &Regions, reference: Ymd, id: String) -> Household {
    let (district, desa_code) = regions.village(rng);
    let rt = format!("{:03}", rng.range(1, 15));
    let rw = format!("{:03}", rng.range(1, 8));
    let address = format!("RT {rt} RW {rw}, desa {desa_code}");
    let serial = rng.range(1, 6000) as u32;
    let mut ctx = Ctx {
        rng,
        regions,
        reference,
        district,
        serial,
    };
    let families_n = ctx.rng.weighted(&[(1, 850), (2, 120), (3, 30)], 1);
    let first_desil = desil(ctx.rng);
    let mut families = Vec::new();
    for i in 0..families_n {
        let desil = if i == 0 {
            first_desil
        } else {
            first_desil.map(|d| (i32::from(d) + ctx.rng.range(-1, 1)).clamp(1, 10) as u8)
        };
        families.push(family(&mut ctx, desil, i > 0));
    }
    let rng = ctx.rng;
    let desil = first_desil.unwrap_or(5);
    let rich = desil >= 7;
    let car = rng.chance(if rich { 400 } else { 30 });
    if car {
        for m in families.iter_mut().flat_map(|f| f.members.iter_mut()) {
            if m.shdk == 1 && m.living() {
                m.external_flags.push("car_owner");
            }
        }
    }
    let mut assets = BTreeMap::new();
    assets.insert("car", car.into());
    assets.insert("motorcycle", rng.chance(700).into());
    assets.insert("fridge", rng.chance(if rich { 900 } else { 350 }).into());
    assets.insert("ac", rng.chance(if rich { 500 } else { 20 }).into());
    assets.insert("gold_10g", rng.range(0, if rich { 8 } else { 1 }).into());
    assets.insert("land", rng.chance(300).into());
    let mut programmes_received = Vec::new();
    let poor = desil <= 4;
    for (name, p) in [
        ("PKH", 400),
        ("SEMBAKO", 500),
        ("PBI_JK", 600),
        ("PIP", 200),
    ] {
        if rng.chance(if poor { p } else { 30 }) {
            programmes_received.push(name);
        }
    }
    Household {
        source: if rng.chance(700) { "DTSEN" } else { "DTKS" },
        verval: Some(Verval {
            result: 1,
            musdes_doc: Some(format!("BA-MUSDES-{id}")),
            endorsement_doc: Some(format!("SK-DINSOS-{id}")),
        }),
        record_id: id,
        region: Region {
            desa_code,
            address: Some(address),
            rt,
            rw,
        },
        housing: Housing {
            floor_area_m2: rng.range(if rich { 60 } else { 12 }, if rich { 300 } else { 90 })
                as u32,
            floor_type: rng.range(1, 9) as u8,
            wall_type: rng.range(1, 8) as u8,
            roof_type: rng.range(1, 10) as u8,
            water_source: rng.range(1, 11) as u8,
            lighting: rng.weighted(&[(1, 900), (2, 70), (3, 30)], 1),
            electricity_va: rng.weighted(
                &[(450, 350), (900, 350), (1300, 180), (2200, 80), (3500, 40)],
                450,
            ),
            cooking_fuel: rng.range(1, 9) as u8,
            toilet: rng.range(1, 4) as u8,
        },
        assets,
        programmes_received,
        families,
    }
}

/// Welfare decile: skewed to 1-6 (the register holds the poorer part of
/// the population), a few unranked.
fn desil(rng: &mut Rng) -> Option<u8> {
    let d = rng.weighted(
        &[
            (0, 30),
            (1, 140),
            (2, 150),
            (3, 150),
            (4, 140),
            (5, 120),
            (6, 100),
            (7, 70),
            (8, 50),
            (9, 30),
            (10, 20),
        ],
        5,
    );
    (d > 0).then_some(d)
}

fn family(ctx: &mut Ctx<'_>, desil: Option<u8>, secondary: bool) -> Family {
    let rng = &mut *ctx.rng;
    let head_age = if secondary {
        rng.range(19, 40)
    } else {
        rng.weighted(
            &[(0, 150), (1, 250), (2, 250), (3, 180), (4, 110), (5, 60)],
            1,
        ) * 10
            + 20
            + rng.range(0, 9)
    };
    let head_female = rng.chance(if head_age >= 60 { 300 } else { 130 });
    let married = rng.chance(if head_female { 250 } else { 880 });
    let surname = rng.pick(SURNAMES).unwrap_or("");
    // Richer deciles hold more civil servants (DOMAIN.md: ASN on lists).
    let asn_rate = match desil.unwrap_or(5) {
        1..=4 => 6,
        5..=7 => 40,
        _ => 120,
    };

    let mut plan: Vec<(u8, i32, bool)> = vec![(1, head_age, head_female)];
    let mut mother_age = head_female.then_some(head_age);
    if married {
        let spouse_age = (head_age + rng.range(-8, 2)).max(17);
        plan.push((2, spouse_age, !head_female));
        if !head_female {
            mother_age = Some(spouse_age);
        }
    }
    if let Some(mother) = mother_age {
        let children = rng.weighted(
            &[(0, 150), (1, 220), (2, 280), (3, 200), (4, 100), (5, 50)],
            2,
        );
        let oldest = (mother - 17).min(30);
        for _ in 0..children {
            if oldest >= 0 {
                let age = rng.range(0, oldest);
                plan.push((3, age, rng.chance(490)));
            }
        }
    }
    if !secondary && rng.chance(120) {
        plan.push((6, (head_age + rng.range(20, 30)).min(98), rng.chance(650)));
    }
    if head_age >= 50 && rng.chance(200) {
        plan.push((5, rng.range(0, 8), rng.chance(500)));
    }
    if rng.chance(10) {
        plan.push((7, rng.range(18, 50), rng.chance(700)));
    }

    let kk_issued = Ymd {
        y: rng.range(2005, ctx.reference.y - 1),
        m: rng.range(1, 12),
        d: rng.range(1, 28),
    };
    let kk_number = format!(
        "{}{:02}{:02}{:02}{:04}",
        ctx.district,
        kk_issued.d,
        kk_issued.m,
        kk_issued.y % 100,
        rng.range(1, 9999)
    );
    let pmt_score = desil.map(|d| i64::from(d) * 1000 - i64::from(rng.range(0, 999)));
    let placeholder = female_name(rng);
    let mut members: Vec<Member> = plan
        .into_iter()
        .map(|(shdk, age, female)| {
            member(
                ctx,
                shdk,
                age,
                female,
                married,
                desil,
                asn_rate,
                surname,
                &placeholder,
            )
        })
        .collect();
    // Children carry their mother's name: the head or spouse who is a woman.
    let mother = members
        .iter()
        .find(|m| matches!(m.shdk, 1 | 2) && m.sex == "F")
        .and_then(|m| m.name.clone());
    if let Some(mother) = mother {
        for m in members.iter_mut().filter(|m| m.shdk == 3) {
            m.mother_name = Some(mother.clone());
        }
    }
    Family {
        kk_number,
        desil,
        pmt_score,
        members,
    }
}

fn female_name(rng: &mut Rng) -> String {
    rng.pick(FEMALE).unwrap_or("Sri").to_string()
}

/// A birth date that makes `age` the completed years at the reference.
fn birth_date(rng: &mut Rng, reference: Ymd, age: i32) -> Ymd {
    let m = rng.range(1, 12);
    let d = rng.range(1, Ymd::days_in_month(2001, m));
    let mut y = reference.y - age;
    if (m, d) > (reference.m, reference.d) {
        y -= 1;
    }
    Ymd { y, m, d }
}

pub fn nik(district: &str, birth: Ymd, female: bool, serial: u32) -> String {
    let day = birth.d + if female { 40 } else { 0 };
    format!(
        "{district}{day:02}{:02}{:02}{:04}",
        birth.m,
        birth.y.rem_euclid(100),
        serial % 10000
    )
}

#[allow(
    clippy::too_many_arguments,
    reason = "the family's facts a member draws on"
)]
fn member(
    ctx: &mut Ctx<'_>,
    shdk: u8,
    age: i32,
    female: bool,
    married: bool,
    desil: Option<u8>,
    asn_rate: u32,
    surname: &str,
    mother_name: &str,
) -> Member {
    let rng = &mut *ctx.rng;
    let birth = birth_date(rng, ctx.reference, age);
    let district = if rng.chance(150) {
        ctx.regions.district(rng)
    } else {
        ctx.district
    };
    ctx.serial += 1;
    let given = if female {
        rng.pick(FEMALE).unwrap_or("Sri")
    } else {
        rng.pick(MALE).unwrap_or("Budi")
    };
    let name = if surname.is_empty() || age < 3 {
        given.to_string()
    } else {
        format!("{given} {surname}")
    };
    let marital = match shdk {
        1 if !married => rng.weighted(&[(3, 300), (4, 600), (1, 100)], 4),
        1 | 2 => 2,
        6 => rng.weighted(&[(2, 400), (4, 600)], 4),
        _ if age < 17 => 1,
        _ if age < 25 => rng.weighted(&[(1, 800), (2, 200)], 1),
        _ => rng.weighted(&[(1, 300), (2, 600), (3, 100)], 2),
    };
    let pregnant = female && marital == 2 && (15..=45).contains(&age) && rng.chance(50);
    let poor = desil.is_some_and(|d| d <= 4);
    let school = school(rng, age, poor);
    let difficulty = difficulty(rng, age);
    let mut flags = Vec::new();
    let work =
        if (15..=64).contains(&age) && school.participation != 2 || age > 64 && rng.chance(300) {
            let asn = age < 60 && rng.chance(asn_rate);
            if asn && rng.chance(900) {
                flags.push("asn");
            }
            if !poor && rng.chance(200) {
                flags.push("wage_above_umk");
            }
            if rng.chance(5) {
                flags.push("village_official");
            }
            let worked = asn || rng.chance(700);
            Work {
                worked_last_week: worked,
                sector: worked.then(|| rng.range(1, 20) as u8),
                status: if asn {
                    Some(5)
                } else if worked {
                    Some(rng.weighted(
                        &[
                            (1, 200),
                            (2, 150),
                            (3, 200),
                            (4, 250),
                            (6, 50),
                            (7, 100),
                            (8, 50),
                        ],
                        4,
                    ))
                } else {
                    None
                },
            }
        } else {
            Work::default()
        };
    let jkn = if work.status == Some(5) {
        4
    } else {
        rng.weighted(
            &[(0, 300), (1, 400), (2, 120), (4, 100), (8, 30), (99, 50)],
            0,
        )
    };
    // Some members have died or moved since the family card was issued.
    let (presence, death_date) = if shdk != 1 && age >= 40 && rng.chance(15) {
        let year = rng.range(ctx.reference.y - 5, ctx.reference.y - 1);
        let month = rng.range(1, 12);
        let died = Ymd {
            y: year,
            m: month,
            d: rng.range(1, 28),
        };
        (2, Some(died.iso()))
    } else if shdk != 1 && age >= 18 && rng.chance(20) {
        (rng.weighted(&[(3, 850), (4, 150)], 3), None)
    } else if rng.chance(30) {
        (5, None)
    } else {
        (1, None)
    };
    Member {
        nik: Some(nik(district, birth, female, ctx.serial)),
        dukcapil: Some("matched"),
        name: Some(name),
        birth_place: rng.pick(PLACES),
        birth_date: Some(birth.iso()),
        sex: if female { "F" } else { "M" },
        marital: Some(marital),
        shdk,
        mother_name: Some(if shdk == 3 {
            mother_name.to_string()
        } else {
            female_name(rng)
        }),
        presence,
        death_date,
        pregnant,
        difficulty,
        school,
        work,
        jkn,
        external_flags: flags,
        age,
    }
}

/// Schooling consistent with age: level 1-5 SD, 6-10 SMP, 11-17 SMA and
/// the grade of that age, with some dropouts and KIP cards.
fn school(rng: &mut Rng, age: i32, poor: bool) -> School {
    let (rate, levels): (u32, &[(u8, u32)]) = match age {
        ..=4 => (0, &[]),
        5..=6 => (300, &[(1, 850), (2, 50), (4, 100)]),
        7..=12 => (970, &[(1, 800), (2, 20), (3, 30), (4, 130), (5, 20)]),
        13..=15 => (880, &[(6, 750), (7, 20), (8, 30), (9, 180), (10, 20)]),
        16..=18 => (
            700,
            &[
                (11, 500),
                (12, 250),
                (13, 30),
                (14, 150),
                (15, 40),
                (16, 20),
                (17, 10),
            ],
        ),
        19..=21 => (150, &[(11, 700), (12, 300)]),
        _ => (0, &[]),
    };
    if rate > 0 && rng.chance(rate) {
        let grade = (age - 6).clamp(1, 12) as u8;
        let kip = rng.chance(if poor { 350 } else { 50 });
        return School {
            participation: 2,
            level: Some(rng.weighted(levels, 1)),
            grade: Some(grade),
            has_kip: Some(kip),
        };
    }
    if age < 7 {
        return School {
            participation: 1,
            ..School::default()
        };
    }
    let never = if age >= 60 { 250 } else { 40 };
    if rng.chance(never) {
        School {
            participation: 1,
            ..School::default()
        }
    } else {
        // Left school: the last level reached, by age.
        let level = match age {
            ..=12 => 1,
            13..=15 => 6,
            _ => rng.weighted(&[(1, 350), (6, 300), (11, 350)], 1),
        };
        School {
            participation: 3,
            level: Some(level),
            grade: None,
            has_kip: None,
        }
    }
}

const DIFFICULTIES: &[&str] = &[
    "seeing",
    "hearing",
    "walking",
    "hands",
    "learning",
    "behaviour",
    "communication",
    "self_care",
];

fn difficulty(rng: &mut Rng, age: i32) -> BTreeMap<&'static str, u8> {
    let mut out = BTreeMap::new();
    let severe = rng.chance(if age >= 60 { 60 } else { 15 });
    let mild = rng.chance(if age >= 60 { 200 } else { 40 });
    if severe {
        if rng.chance(300) {
            out.insert("self_care", 2);
        } else if let Some(k) = rng.pick(DIFFICULTIES) {
            out.insert(k, 1);
        }
    } else if mild && let Some(k) = rng.pick(DIFFICULTIES) {
        out.insert(k, rng.range(2, 3) as u8);
    }
    out
}

//! The households `layak gen` writes, in the interchange format of
//! DOMAIN.md section 3. Field order here is the order in the output.
//! `None` is written as `null`, which the format reads as missing.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Household {
    pub record_id: String,
    pub source: &'static str,
    pub region: Region,
    pub verval: Option<Verval>,
    pub housing: Housing,
    pub assets: BTreeMap<&'static str, serde_json::Value>,
    pub programmes_received: Vec<&'static str>,
    pub families: Vec<Family>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Region {
    pub desa_code: String,
    pub address: Option<String>,
    pub rt: String,
    pub rw: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verval {
    pub result: u8,
    pub musdes_doc: Option<String>,
    pub endorsement_doc: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Housing {
    pub floor_area_m2: u32,
    pub floor_type: u8,
    pub wall_type: u8,
    pub roof_type: u8,
    pub water_source: u8,
    pub lighting: u8,
    pub electricity_va: u32,
    pub cooking_fuel: u8,
    pub toilet: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct Family {
    pub kk_number: String,
    pub desil: Option<u8>,
    /// Proxy-means score in hundredths, written as a decimal number.
    #[serde(serialize_with = "hundredths")]
    pub pmt_score: Option<i64>,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub nik: Option<String>,
    pub dukcapil: Option<&'static str>,
    pub name: Option<String>,
    pub birth_place: Option<&'static str>,
    pub birth_date: Option<String>,
    pub sex: &'static str,
    pub marital: Option<u8>,
    pub shdk: u8,
    pub mother_name: Option<String>,
    pub presence: u8,
    pub death_date: Option<String>,
    pub pregnant: bool,
    pub difficulty: BTreeMap<&'static str, u8>,
    pub school: School,
    pub work: Work,
    pub jkn: u8,
    pub external_flags: Vec<&'static str>,
    /// Generator bookkeeping, not written: the age at the reference date.
    #[serde(skip)]
    pub age: i32,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct School {
    pub participation: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_kip: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Work {
    pub worked_last_week: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
}

impl Member {
    /// Lives here or newly joined, and not dead.
    pub fn living(&self) -> bool {
        matches!(self.presence, 1 | 5) && self.death_date.is_none()
    }
}

/// Writes hundredths as a decimal number. IEEE division is correctly
/// rounded and serde_json prints the shortest round-trip form, so every
/// platform writes the same digits.
fn hundredths<S: serde::Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(n) => s.serialize_f64(*n as f64 / 100.0),
    }
}

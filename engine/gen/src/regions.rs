//! The official village table, embedded so that `layak gen` draws real
//! region codes without reading the rules directory.
//!
//! The table is a derivative of the npm package `idn-area-data` 4.0.1
//! (https://github.com/fityannugroho/idn-area-data), made available under
//! the Open Database License (ODbL) 1.0; see `rules/tables/README.md` and
//! `rules/tables/LICENSE-idn-area-data.txt`. Contains information from
//! idn-area-data, which is made available here under the ODbL.

use super::Rng;

const VILLAGES: &str = include_str!("../../../rules/tables/villages.txt");

/// One district (kecamatan) and the 4-digit suffixes of its villages.
struct District {
    code: &'static str,
    villages: Vec<&'static str>,
}

pub struct Regions {
    districts: Vec<District>,
}

impl Regions {
    /// Parses the embedded table (format in `rules/tables/README.md`):
    /// `DDDDDD: vvvv vvvv ...` per district, `#` comments.
    pub fn embedded() -> Regions {
        let mut districts = Vec::new();
        for line in VILLAGES.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((code, rest)) = line.split_once(':') else {
                continue;
            };
            let villages: Vec<&'static str> = rest.split_whitespace().collect();
            if code.len() == 6 && !villages.is_empty() {
                districts.push(District { code, villages });
            }
        }
        Regions { districts }
    }

    pub fn is_empty(&self) -> bool {
        self.districts.is_empty()
    }

    /// A random district code and one of its village codes.
    pub fn village(&self, rng: &mut Rng) -> (&'static str, String) {
        let n = self.districts.len() as u64;
        match self.districts.get(rng.below(n) as usize) {
            Some(d) => {
                let v = d
                    .villages
                    .get(rng.below(d.villages.len() as u64) as usize)
                    .copied()
                    .unwrap_or("2001");
                (d.code, format!("{}{v}", d.code))
            }
            None => ("331001", "3310012001".to_string()),
        }
    }

    /// A random district code, for members first registered elsewhere.
    pub fn district(&self, rng: &mut Rng) -> &'static str {
        self.village(rng).0
    }

    /// Whether a 10-digit code is a village of the table.
    pub fn has_village(&self, code: &str) -> bool {
        let (district, suffix) = code.split_at_checked(6).unwrap_or((code, ""));
        self.districts
            .binary_search_by(|d| d.code.cmp(district))
            .ok()
            .and_then(|i| self.districts.get(i))
            .is_some_and(|d| d.villages.contains(&suffix))
    }

    /// Whether a 6-digit code is a district of the table.
    pub fn has_district(&self, code: &str) -> bool {
        self.districts
            .binary_search_by(|d| d.code.cmp(code))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_has_every_district() {
        let r = Regions::embedded();
        assert!(r.districts.len() > 7000);
        assert!(r.has_village("3310012001"));
        assert!(!r.has_village("3310010000"));
        assert!(r.has_district("331001"));
        assert!(!r.has_district("990101"));
        assert!(
            r.districts
                .windows(2)
                .all(|w| matches!(w, [a, b] if a.code < b.code))
        );
    }
}

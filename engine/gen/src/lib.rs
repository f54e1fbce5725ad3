//! `layak gen`: realistic synthetic households in the interchange format
//! (DOMAIN.md section 3), reproducible from a seed.
//!
//! The same seed gives the same bytes on every machine: the generator is
//! ChaCha8 (whose output rand_chacha keeps stable across platforms and
//! versions), every draw goes through [`Rng`]'s integer helpers below rather
//! than rand's distributions (whose algorithms may change between versions
//! or with a crate feature turned on elsewhere in the build), and nothing
//! depends on the clock, hashing or the thread count. Households are written
//! one at a time, so memory stays constant whatever `--households` is.
//!
//! A few percent of households carry each integrity defect of DOMAIN.md
//! section 4 (see `defects.rs`), so a run over a generated population
//! exercises every criterion.

use std::io::Write;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

mod defects;
mod model;
mod people;
mod regions;

pub use regions::Regions;

/// The random source of the generator, with the few integer draws it
/// needs, written out so that their results never change.
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-shift: the bias is
    /// below 2^-40 for the sizes used here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            return lo;
        }
        let span = (i64::from(hi) - i64::from(lo) + 1) as u64;
        (i64::from(lo) + self.below(span) as i64) as i32
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }

    /// One element, uniformly; `None` only for an empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.below(items.len() as u64) as usize).copied()
    }

    /// One value by integer weights; `fallback` when all weights are 0.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)], fallback: T) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            if x < u64::from(*w) {
                return *item;
            }
            x -= u64::from(*w);
        }
        fallback
    }
}

/// A calendar date as the generator handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ymd {
    pub y: i32,
    pub m: i32,
    pub d: i32,
}

impl Ymd {
    pub fn parse(s: &str) -> Option<Ymd> {
        let d = layak_dsl::date::Date::parse(s)?;
        Some(Ymd {
            y: d.year(),
            m: d.month(),
            d: d.day(),
        })
    }

    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }

    pub fn days_in_month(y: i32, m: i32) -> i32 {
        match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }
}

/// What `layak gen` was asked for.
pub struct Options {
    pub households: u64,
    pub seed: u64,
    /// Ages are drawn relative to this date.
    pub reference: Ymd,
}

/// Writes `opts.households` households as NDJSON, calling `progress` with
/// the number written every so often.
pub fn generate(
    opts: &Options,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> std::io::Result<()> {
    let regions = Regions::embedded();
    if regions.is_empty() {
        return Err(std::io::Error::other("the embedded village table is empty"));
    }
    let mut rng = Rng::seeded(opts.seed);
    let mut line = Vec::with_capacity(8192);
    for n in 1..=opts.households {
        let id = format!("G{}-{n}", opts.seed);
        let mut household = people::household(&mut rng, &regions, opts.reference, id);
        defects::inject(&mut rng, &regions, opts.reference, &mut household);
        line.clear();
        serde_json::to_writer(&mut line, &household).map_err(std::io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
        if n % 1024 == 0 {
            progress(n);
        }
    }
    progress(opts.households);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draws_are_pinned() {
        // If this changes, every generated population changes: only on
        // purpose, with a note in the commit.
        let mut rng = Rng::seeded(1);
        let draws: Vec<u64> = (0..4).map(|_| rng.below(1000)).collect();
        let mut again = Rng::seeded(1);
        let same: Vec<u64> = (0..4).map(|_| again.below(1000)).collect();
        assert_eq!(draws, same);
        assert!(draws.iter().all(|d| *d < 1000));
    }

    #[test]
    fn weighted_and_range_stay_in_bounds() {
        let mut rng = Rng::seeded(7);
        for _ in 0..1000 {
            let r = rng.range(-3, 5);
            assert!((-3..=5).contains(&r));
            let w = rng.weighted(&[(1, 0), (2, 5), (3, 0)], 9);
            assert_eq!(w, 2);
        }
    }
}

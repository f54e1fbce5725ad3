//! The choice stream the generators draw from, and its shrinking.

use proptest::prelude::*;

pub(crate) struct Choices<'a> {
    data: &'a [u32],
    pos: usize,
}

impl<'a> Choices<'a> {
    pub(crate) fn new(data: &'a [u32]) -> Choices<'a> {
        Choices { data, pos: 0 }
    }

    /// A number below `n`; 0 once the stream is exhausted.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let v = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v as usize % n.max(1)
    }

    /// True one time in `n` (never on an exhausted stream).
    pub(crate) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == n - 1
    }

    pub(crate) fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len())]
    }
}

/// A choice stream of up to `max` numbers, shrunk as Hypothesis shrinks its
/// choice sequences rather than as proptest shrinks a `Vec`: removing one
/// element near the start shifts every later choice and gives an unrelated
/// program, while cutting the tail or zeroing a block turns whole rulesets
/// or subexpressions into their simplest form and keeps the rest.
pub(crate) fn choices(max: usize) -> ChoiceStrategy {
    ChoiceStrategy { max }
}

#[derive(Debug)]
pub(crate) struct ChoiceStrategy {
    max: usize,
}

impl Strategy for ChoiceStrategy {
    type Tree = ChoiceTree;
    type Value = Vec<u32>;

    fn new_tree(
        &self,
        runner: &mut proptest::test_runner::TestRunner,
    ) -> proptest::strategy::NewTree<Self> {
        use proptest::prelude::RngExt as _;
        let rng = runner.rng();
        let len = rng.random_range(0..self.max);
        let data: Vec<u32> = (0..len).map(|_| rng.random()).collect();
        Ok(ChoiceTree {
            accepted: data.clone(),
            current: data,
            step: 0,
            changed: false,
        })
    }
}

/// Shrinks by trying, in order: cutting the tail (to 0, 1/8, ... 7/8 of
/// its length), zeroing blocks of 256, 64, 16, 4 and 1 choices, and
/// halving single choices; a sweep that changed something runs again.
#[derive(Debug)]
pub(crate) struct ChoiceTree {
    /// The smallest stream known to fail.
    accepted: Vec<u32>,
    /// The stream under test.
    current: Vec<u32>,
    /// Position in the sweep of candidates.
    step: usize,
    /// Whether this sweep accepted anything.
    changed: bool,
}

pub(crate) const BLOCKS: [usize; 5] = [256, 64, 16, 4, 1];

impl ChoiceTree {
    /// The candidate at `step` of a sweep over `accepted`, `None` past the
    /// end; `Some(None)` for a step that gives nothing new.
    pub(crate) fn candidate(&self, step: usize) -> Option<Option<Vec<u32>>> {
        let a = &self.accepted;
        let len = a.len();
        if step < 8 {
            let cut = len * step / 8;
            return Some((cut < len).then(|| a[..cut].to_vec()));
        }
        let mut step = step - 8;
        for size in BLOCKS {
            let count = len.div_ceil(size);
            if step < count {
                let range = step * size..((step + 1) * size).min(len);
                if a[range.clone()].iter().all(|&v| v == 0) {
                    return Some(None);
                }
                let mut c = a.clone();
                c[range].fill(0);
                return Some(Some(c));
            }
            step -= count;
        }
        if step < len {
            if a[step] <= 1 {
                return Some(None);
            }
            let mut c = a.clone();
            c[step] /= 2;
            return Some(Some(c));
        }
        None
    }

    /// Moves `current` to the next candidate; false when none is left.
    pub(crate) fn advance(&mut self) -> bool {
        loop {
            self.step += 1;
            match self.candidate(self.step - 1) {
                Some(Some(c)) => {
                    self.current = c;
                    return true;
                }
                Some(None) => {}
                None if self.changed => {
                    self.changed = false;
                    self.step = 0;
                }
                None => {
                    self.current = self.accepted.clone();
                    return false;
                }
            }
        }
    }
}

impl proptest::strategy::ValueTree for ChoiceTree {
    type Value = Vec<u32>;

    fn current(&self) -> Vec<u32> {
        self.current.clone()
    }

    /// The current stream failed: keep it, and try the next candidate.
    fn simplify(&mut self) -> bool {
        if self.current != self.accepted {
            self.accepted = self.current.clone();
            self.changed = true;
        }
        self.advance()
    }

    /// The current stream passed: try the next candidate instead.
    fn complicate(&mut self) -> bool {
        self.advance()
    }
}

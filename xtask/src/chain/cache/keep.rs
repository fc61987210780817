//! The blocks a run pins, as its command line names them, so that an entry can keep state at
//! them: a run that pins `--fork-block`, `--at` or a `--window` gets a hit only from an entry
//! that holds state at every block it pins, and a cold build takes the state of those blocks
//! on the way (a repeated sweep of the same window then loads the chain instead of playing it).
//!
//! The pins are the chaos room's (`crate::chaos::pin`): "the last block at or before a time",
//! a window walked by blocks or by chain time from its first pinned block. [`Walker`] says, block
//! by block in chain order, whether a block is one of them, knowing only that block's timestamp
//! and the next block's: the history asks it before mining each block (the head is then the
//! candidate), and [`pinned`] asks it over an entry's recorded timestamps. A run still checks
//! its resolved pins against the blocks a loaded chain serves, so a disagreement here costs a
//! cold build, never a fork of a block without state.

use std::collections::BTreeSet;

/// A block, or the last block at or before a time (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Block(u64),
    Time(u64),
}

/// How a window steps: blocks, or seconds of chain time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Blocks(u64),
    Seconds(u64),
}

/// The blocks a run pins besides the landmarks (which every entry keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// `--fork-block N` or `--at T`.
    At(At),
    /// `--window FROM..TO --step S`: FROM's block, every step after it, and TO's block.
    Window { from: At, to: At, every: Every },
}

/// Most blocks an entry keeps state at besides the phase boundaries (each costs a snapshot of
/// every account in the entry, tens of KB compressed). A run that pins more is built cold.
pub const MAX_PINNED: usize = 64;

/// Block by block in chain order: is this block one the run pins?
#[derive(Debug, Clone)]
pub struct Walker {
    keep: Keep,
    /// The window's first pinned block and its timestamp, once reached.
    start: Option<(u64, u64)>,
    /// The window's last pinned block was passed.
    ended: bool,
}

impl Walker {
    pub fn new(keep: Keep) -> Self {
        Self {
            keep,
            start: None,
            ended: false,
        }
    }

    /// Whether block `n` (timestamp `ts`; the next block's timestamp `next`, `None` at the head)
    /// is pinned. Call it for every block in increasing order.
    pub fn wants(&mut self, n: u64, ts: u64, next: Option<u64>) -> bool {
        // The last block at or before `t`: this one, when the next one is later than `t`.
        let last_at = |t: u64| ts <= t && next.is_none_or(|nx| t < nx);
        let is = |at: At| match at {
            At::Block(b) => n == b,
            At::Time(t) => last_at(t),
        };
        match self.keep {
            Keep::At(at) => is(at),
            Keep::Window { from, to, every } => {
                let Some((a, s)) = self.start else {
                    if !is(from) {
                        return false;
                    }
                    self.start = Some((n, ts));
                    // A walk by time pins the last block at its first time.
                    return match every {
                        Every::Blocks(_) => true,
                        Every::Seconds(_) => next.is_none_or(|nx| ts < nx),
                    };
                };
                if self.ended {
                    return false;
                }
                if is(to) {
                    self.ended = true;
                    return true;
                }
                let past = match to {
                    At::Block(b) => n > b,
                    At::Time(t) => ts > t,
                };
                if past {
                    self.ended = true;
                    return false;
                }
                match every {
                    Every::Blocks(k) => (n - a).is_multiple_of(k.max(1)),
                    Every::Seconds(d) => {
                        // The first step at or after this block's time falls before the next
                        // block's: this block is that step's last block.
                        let d = d.max(1);
                        let t = s + (ts.saturating_sub(s)).div_ceil(d) * d;
                        next.is_none_or(|nx| t < nx)
                    }
                }
            }
        }
    }
}

/// The blocks `keep` pins on a chain whose block `n` has timestamp `timestamps[n]`.
pub fn pinned(keep: &Keep, timestamps: &[u64]) -> BTreeSet<u64> {
    let mut walker = Walker::new(keep.clone());
    (0..timestamps.len())
        .filter(|&n| walker.wants(n as u64, timestamps[n], timestamps.get(n + 1).copied()))
        .map(|n| n as u64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain shaped like the history: ten blocks of deployment one second apart, then ticks
    /// of three blocks sharing a second, 600 s apart.
    fn chain() -> Vec<u64> {
        let mut ts: Vec<u64> = (0..10).map(|i| 1000 + i).collect();
        for tick in 0..12u64 {
            for _ in 0..3 {
                ts.push(1100 + tick * 600);
            }
        }
        ts
    }

    /// `pin.rs`'s resolution written out plainly over the same timestamps: the last block at or
    /// before a time, and a window walked from its first block.
    fn resolve(keep: &Keep, ts: &[u64]) -> Vec<u64> {
        let last_at = |t: u64, lo: usize, hi: usize| -> u64 {
            (lo..=hi).rev().find(|&n| ts[n] <= t).unwrap_or(lo) as u64
        };
        let head = ts.len() - 1;
        let point = |at: At| match at {
            At::Block(b) => b,
            At::Time(t) => last_at(t, 0, head),
        };
        match *keep {
            Keep::At(at) => vec![point(at)],
            Keep::Window { from, to, every } => {
                let (a, b) = (point(from), point(to));
                let mut out = vec![];
                match every {
                    Every::Blocks(k) => {
                        let mut n = a;
                        while n <= b {
                            out.push(n);
                            n += k;
                        }
                    }
                    Every::Seconds(d) => {
                        let (mut t, end, mut lo) = (ts[a as usize], ts[b as usize], a);
                        while t <= end {
                            let n = last_at(t, lo as usize, b as usize);
                            if out.last() != Some(&n) {
                                out.push(n);
                            }
                            lo = n;
                            t += d;
                        }
                    }
                }
                if out.last() != Some(&b) {
                    out.push(b);
                }
                out
            }
        }
    }

    #[test]
    fn the_walker_pins_what_pinning_resolves() {
        let ts = chain();
        let cases = [
            Keep::At(At::Block(17)),
            Keep::At(At::Time(1100 + 600 * 3 + 300)),
            Keep::At(At::Time(1100 + 600 * 4)),
            Keep::At(At::Time(1005)),
            Keep::Window {
                from: At::Time(1400),
                to: At::Time(1100 + 600 * 10 + 100),
                every: Every::Seconds(1200),
            },
            Keep::Window {
                from: At::Time(1100),
                to: At::Time(1100 + 600 * 11),
                every: Every::Seconds(600),
            },
            Keep::Window {
                from: At::Block(10),
                to: At::Block(40),
                every: Every::Seconds(900),
            },
            Keep::Window {
                from: At::Block(3),
                to: At::Time(1100 + 600 * 5 + 1),
                every: Every::Blocks(7),
            },
            Keep::Window {
                from: At::Time(2300),
                to: At::Block(45),
                every: Every::Blocks(4),
            },
        ];
        for keep in &cases {
            let want: BTreeSet<u64> = resolve(keep, &ts).into_iter().collect();
            assert_eq!(pinned(keep, &ts), want, "{keep:?}");
        }
        // A one-hour sweep of tick ends: every sixth tick's last block.
        let sweep = Keep::Window {
            from: At::Time(1100 + 300),
            to: At::Time(1100 + 600 * 11 + 300),
            every: Every::Seconds(3600),
        };
        assert_eq!(
            pinned(&sweep, &ts).into_iter().collect::<Vec<_>>(),
            [12, 30, 45]
        );
    }
}

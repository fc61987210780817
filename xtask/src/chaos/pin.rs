//! Block pinning: which blocks of the upstream the experiments fork.
//!
//! `--fork-block N`, `--at <RFC 3339 time | unix seconds>` (the last block at or before that
//! time), or `--window <from>..<to> --step <blocks | duration>` where each end of the window is
//! a block number or an RFC 3339 time. The head is read once per run and everything is pinned
//! against that one number, so a moving chain cannot shift the run under its feet.

use std::time::{Duration, UNIX_EPOCH};

use alloy::eips::BlockNumberOrTag;
use alloy::providers::{DynProvider, Provider};
use anyhow::Context as _;

use crate::chain::ChainBounds;
use crate::error::Unusable;

/// A pinned block: number, hash and timestamp as the upstream reported them, and why it was
/// chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedBlock {
    pub number: u64,
    pub hash: String,
    pub timestamp: u64,
    pub label: String,
}

/// A point in the chain's history: a block number or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Block(u64),
    /// Unix seconds.
    Time(u64),
}

/// How far a window steps: a number of blocks or an amount of chain time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Blocks(u64),
    Time(Duration),
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Block(u64),
    At(u64),
    Window {
        from: Point,
        to: Point,
        step: Step,
    },
    /// No flag: the caller's default blocks.
    Default,
}

/// A time: RFC 3339 (`2026-01-02T06:00:00Z`) or unix seconds.
pub fn parse_time(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("`{text}` is neither unix seconds nor an RFC 3339 time ({e})"))?;
    Ok(time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| format!("`{text}` is before 1970"))?
        .as_secs())
}

/// One end of a window: digits are a block number, anything else an RFC 3339 time.
pub fn parse_point(text: &str) -> Result<Point, String> {
    let text = text.trim();
    if let Ok(block) = text.parse::<u64>() {
        return Ok(Point::Block(block));
    }
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("`{text}` is neither a block number nor an RFC 3339 time ({e})"))?;
    Ok(Point::Time(
        time.duration_since(UNIX_EPOCH)
            .map_err(|_| format!("`{text}` is before 1970"))?
            .as_secs(),
    ))
}

/// `from..to`.
pub fn parse_window(text: &str) -> Result<(Point, Point), String> {
    let (from, to) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not a window; write FROM..TO"))?;
    Ok((parse_point(from)?, parse_point(to)?))
}

/// `100` (blocks) or `6h`, `30m`, `1d` (chain time).
pub fn parse_step(text: &str) -> Result<Step, String> {
    let text = text.trim();
    if let Ok(blocks) = text.parse::<u64>() {
        if blocks == 0 {
            return Err("a step of 0 blocks never advances".into());
        }
        return Ok(Step::Blocks(blocks));
    }
    let duration =
        crate::rpc::fault::parse_duration(text).map_err(|e| format!("step `{text}` {e}"))?;
    if duration.as_secs() == 0 {
        return Err(format!("step `{text}` is shorter than a second"));
    }
    Ok(Step::Time(duration))
}

/// The most blocks a run pins.
pub const MAX_BLOCKS: usize = 500;

fn too_many(count: u64, qualifier: &str) -> Unusable {
    let qualifier = if qualifier.is_empty() {
        String::new()
    } else {
        format!("{qualifier} ")
    };
    Unusable::with_fix(
        format!("the window pins {qualifier}{count} blocks (at most {MAX_BLOCKS})"),
        "use a larger --step or a shorter window",
    )
}

/// Blocks from `a` to `b` (inclusive) every `k`, with `b` itself.
fn block_step_count(a: u64, b: u64, k: u64) -> u64 {
    (b - a) / k.max(1) + 1 + u64::from(!(b - a).is_multiple_of(k.max(1)))
}

/// Points in time from `ta` to `tb` every `d` seconds, with `tb` itself.
fn time_step_count(ta: u64, tb: u64, d: u64) -> u64 {
    (tb - ta) / d.max(1) + 2
}

/// Reject, from the command line alone (and, for the local chain, what is known of it before it
/// is built), a selection that cannot work: a reversed window, a window that pins more than
/// [`MAX_BLOCKS`] blocks, a block or time outside the chain. Nothing here reads the upstream.
pub fn precheck(selection: &Selection, chain: Option<ChainBounds>) -> Result<(), Unusable> {
    let check_time = |t: u64, what: &str| -> Result<(), Unusable> {
        let Some(c) = chain else { return Ok(()) };
        if t < c.genesis_time {
            return Err(Unusable::with_fix(
                format!(
                    "{what} {t} is before the local chain's first block (time {})",
                    c.genesis_time
                ),
                "choose a later time",
            ));
        }
        if t > c.latest_time {
            return Err(Unusable::with_fix(
                format!(
                    "{what} {t} is after the local chain's last block (no later than time {})",
                    c.latest_time
                ),
                "choose an earlier time, or play more history with --days",
            ));
        }
        Ok(())
    };
    let check_block = |n: u64| -> Result<(), Unusable> {
        match chain {
            Some(c) if n > c.max_head => Err(Unusable::with_fix(
                format!(
                    "block {n} is beyond the local chain's head (it ends by block {})",
                    c.max_head
                ),
                "choose an earlier block, or play more history with --days",
            )),
            _ => Ok(()),
        }
    };
    match *selection {
        Selection::Default => Ok(()),
        Selection::Block(n) => check_block(n),
        Selection::At(t) => check_time(t, "time"),
        Selection::Window { from, to, step } => {
            for point in [from, to] {
                match point {
                    Point::Block(n) => check_block(n)?,
                    Point::Time(t) => check_time(t, "window end")?,
                }
            }
            match (from, to) {
                (Point::Block(a), Point::Block(b)) | (Point::Time(a), Point::Time(b)) if a > b => {
                    return Err(Unusable::with_fix(
                        format!("the window is reversed: it starts at {a} and ends at {b}"),
                        "write the earlier end first: --window FROM..TO",
                    ));
                }
                _ => {}
            }
            let count = match (from, to, step) {
                (Point::Block(a), Point::Block(b), Step::Blocks(k)) => {
                    Some(block_step_count(a, b, k))
                }
                (Point::Time(ta), Point::Time(tb), Step::Time(d)) => {
                    Some(time_step_count(ta, tb, d.as_secs()))
                }
                (Point::Block(a), Point::Block(b), Step::Time(d)) => chain.map(|c| {
                    (b - a + 1).min(time_step_count(c.genesis_time, c.latest_time, d.as_secs()))
                }),
                _ => None,
            };
            match count {
                Some(n) if n > MAX_BLOCKS as u64 => Err(too_many(n, "at least")),
                _ => Ok(()),
            }
        }
    }
}

/// Reads of the upstream that pinning needs.
pub struct BlockReader<'a> {
    pub provider: &'a DynProvider,
    /// The head, read once.
    pub head: u64,
}

impl BlockReader<'_> {
    pub async fn block(&self, number: u64, label: &str) -> anyhow::Result<PinnedBlock> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .with_context(|| format!("reading block {number}"))?
            .with_context(|| format!("the upstream has no block {number}"))?;
        Ok(PinnedBlock {
            number,
            hash: block.header.hash.to_string(),
            timestamp: block.header.timestamp,
            label: label.to_owned(),
        })
    }

    async fn timestamp(&self, number: u64) -> anyhow::Result<u64> {
        Ok(self.block(number, "").await?.timestamp)
    }

    /// The last block whose timestamp is at or before `time` (binary search over the head).
    pub async fn block_at(&self, time: u64) -> anyhow::Result<u64> {
        let genesis = self.timestamp(0).await?;
        if time < genesis {
            return Err(Unusable::with_fix(
                format!("time {time} is before the chain's first block ({genesis})"),
                "choose a later --at / window start",
            )
            .into());
        }
        let head_time = self.timestamp(self.head).await?;
        if time > head_time {
            return Err(Unusable::with_fix(
                format!(
                    "time {time} is after the pinned head (block {}, time {head_time})",
                    self.head
                ),
                "choose an earlier time",
            )
            .into());
        }
        self.block_at_in(time, 0, self.head).await
    }

    /// The last block in `lo..=hi` whose timestamp is at or before `time` (`lo` when none is).
    async fn block_at_in(&self, time: u64, mut lo: u64, mut hi: u64) -> anyhow::Result<u64> {
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.timestamp(mid).await? <= time {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }

    async fn point(&self, point: Point) -> anyhow::Result<u64> {
        match point {
            Point::Block(n) => self.check_block(n).map(|()| n),
            Point::Time(t) => self.block_at(t).await,
        }
    }

    fn check_block(&self, number: u64) -> anyhow::Result<()> {
        if number > self.head {
            return Err(Unusable::with_fix(
                format!("block {number} is beyond the head ({})", self.head),
                format!("choose a block at or below {}", self.head),
            )
            .into());
        }
        Ok(())
    }

    /// Resolve a selection to blocks; `default` supplies the blocks when nothing was asked.
    pub async fn resolve(
        &self,
        selection: &Selection,
        default: &[(u64, String)],
    ) -> anyhow::Result<Vec<PinnedBlock>> {
        let numbers: Vec<(u64, String)> = match selection {
            Selection::Block(n) => {
                self.check_block(*n)?;
                vec![(*n, "pinned".into())]
            }
            Selection::At(t) => vec![(self.block_at(*t).await?, "at".into())],
            Selection::Default => default.to_vec(),
            Selection::Window { from, to, step } => {
                let (a, b) = (self.point(*from).await?, self.point(*to).await?);
                if a > b {
                    return Err(Unusable::with_fix(
                        format!(
                            "the window is reversed: it starts at block {a} and ends at block {b}"
                        ),
                        "write the earlier end first: --window FROM..TO",
                    )
                    .into());
                }
                self.window(a, b, *step)
                    .await?
                    .into_iter()
                    .map(|n| (n, "window".into()))
                    .collect()
            }
        };
        let mut out = Vec::with_capacity(numbers.len());
        for (n, label) in numbers {
            out.push(self.block(n, &label).await?);
        }
        Ok(out)
    }

    async fn window(&self, a: u64, b: u64, step: Step) -> anyhow::Result<Vec<u64>> {
        let mut blocks = Vec::new();
        match step {
            Step::Blocks(k) => {
                let count = block_step_count(a, b, k);
                if count > MAX_BLOCKS as u64 {
                    return Err(too_many(count, "").into());
                }
                let mut n = a;
                while n <= b {
                    blocks.push(n);
                    n = n.saturating_add(k);
                }
            }
            Step::Time(d) => {
                let (start, end) = (self.timestamp(a).await?, self.timestamp(b).await?);
                // Judged before a single step is walked: the window asks for this many points.
                let asked = (b - a + 1).min(time_step_count(start, end, d.as_secs()));
                if asked > MAX_BLOCKS as u64 {
                    return Err(too_many(asked, "up to").into());
                }
                let mut t = start;
                let mut lo = a;
                while t <= end {
                    let n = self.block_at_in(t, lo, b).await?;
                    if blocks.last() != Some(&n) {
                        blocks.push(n);
                    }
                    lo = n;
                    t = t.saturating_add(d.as_secs());
                }
            }
        }
        if blocks.last() != Some(&b) {
            blocks.push(b);
        }
        if blocks.len() > MAX_BLOCKS {
            return Err(too_many(blocks.len() as u64, "").into());
        }
        Ok(blocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_unix_seconds_or_rfc3339() {
        assert_eq!(parse_time("1767225600"), Ok(1_767_225_600));
        assert_eq!(parse_time("2026-01-01T00:00:00Z"), Ok(1_767_225_600));
        assert_eq!(
            parse_time("2026-01-01T06:00:00Z"),
            Ok(1_767_225_600 + 6 * 3600)
        );
        assert!(parse_time("yesterday")
            .unwrap_err()
            .contains("neither unix seconds nor an RFC 3339 time"));
    }

    #[test]
    fn windows_and_steps_parse() {
        assert_eq!(
            parse_window("100..200"),
            Ok((Point::Block(100), Point::Block(200)))
        );
        assert_eq!(
            parse_window("2026-01-01T00:00:00Z..300"),
            Ok((Point::Time(1_767_225_600), Point::Block(300)))
        );
        assert!(parse_window("100-200").is_err());
        assert_eq!(parse_step("25"), Ok(Step::Blocks(25)));
        assert_eq!(
            parse_step("6h"),
            Ok(Step::Time(Duration::from_secs(6 * 3600)))
        );
        assert!(parse_step("0").is_err());
        assert!(parse_step("6 parsecs").is_err());
    }
}

#[cfg(test)]
mod precheck_tests {
    use super::*;

    const LOCAL: ChainBounds = ChainBounds {
        genesis_time: 1_767_225_600,
        latest_time: 1_767_225_600 + 87_000,
        max_head: 1_218,
    };

    fn window(from: Point, to: Point, step: Step) -> Selection {
        Selection::Window { from, to, step }
    }

    #[test]
    fn windows_that_pin_too_many_blocks_are_rejected_without_a_chain() {
        // Every second over the whole local chain: rejected from the command line alone.
        let err = precheck(
            &window(
                Point::Block(0),
                Point::Block(1034),
                Step::Time(Duration::from_secs(1)),
            ),
            Some(LOCAL),
        )
        .unwrap_err();
        assert!(
            err.cause.contains("at least 1035 blocks (at most 500)"),
            "{}",
            err.cause
        );
        assert!(precheck(
            &window(Point::Block(0), Point::Block(1034), Step::Blocks(2)),
            None
        )
        .unwrap_err()
        .cause
        .contains("518 blocks"));
        assert!(precheck(
            &window(
                Point::Time(0),
                Point::Time(86_400),
                Step::Time(Duration::from_secs(60))
            ),
            None
        )
        .is_err());
        // Reasonable windows pass.
        for ok in [
            window(
                Point::Block(0),
                Point::Block(1034),
                Step::Time(Duration::from_secs(3600)),
            ),
            window(Point::Block(100), Point::Block(900), Step::Blocks(50)),
        ] {
            assert!(precheck(&ok, Some(LOCAL)).is_ok(), "{ok:?}");
        }
        // On real BSC the span of a block window is unknown until two timestamps are read.
        assert!(precheck(
            &window(
                Point::Block(0),
                Point::Block(1034),
                Step::Time(Duration::from_secs(1))
            ),
            None
        )
        .is_ok());
    }

    #[test]
    fn blocks_and_times_outside_the_local_chain_are_rejected_before_it_is_built() {
        assert!(precheck(&Selection::Block(99_999_999), Some(LOCAL))
            .unwrap_err()
            .cause
            .contains("beyond the local chain's head"));
        assert!(precheck(&Selection::Block(99_999_999), None).is_ok());
        assert!(precheck(&Selection::At(1_000), Some(LOCAL))
            .unwrap_err()
            .cause
            .contains("before the local chain's first block"));
        assert!(precheck(&Selection::At(1_867_225_600), Some(LOCAL))
            .unwrap_err()
            .cause
            .contains("after the local chain's last block"));
        assert!(precheck(
            &window(Point::Block(500), Point::Block(100), Step::Blocks(10)),
            None
        )
        .unwrap_err()
        .cause
        .contains("the window is reversed"));
    }
}

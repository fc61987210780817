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

/// Reads of the upstream that pinning needs.
pub struct Upstream<'a> {
    pub provider: &'a DynProvider,
    /// The head, read once.
    pub head: u64,
}

impl Upstream<'_> {
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
        let (mut lo, mut hi) = (0u64, self.head);
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
                let mut n = a;
                while n <= b {
                    blocks.push(n);
                    n = n.saturating_add(k);
                }
            }
            Step::Time(d) => {
                let (start, end) = (self.timestamp(a).await?, self.timestamp(b).await?);
                let mut t = start;
                while t <= end {
                    let n = self.block_at(t).await?.max(a);
                    if blocks.last() != Some(&n) {
                        blocks.push(n);
                    }
                    t = t.saturating_add(d.as_secs());
                }
            }
        }
        if blocks.last() != Some(&b) {
            blocks.push(b);
        }
        const MAX_BLOCKS: usize = 500;
        if blocks.len() > MAX_BLOCKS {
            return Err(Unusable::with_fix(
                format!(
                    "the window pins {} blocks (at most {MAX_BLOCKS})",
                    blocks.len()
                ),
                "use a larger --step or a shorter window",
            )
            .into());
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

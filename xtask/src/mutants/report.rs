//! `mutants.json` (schema: `schemas/mutants.schema.json`; its types are the report room's,
//! [`crate::report::mutants`]), `summary.md`, the step summary, and `cargo xtask mutants merge`.
//!
//! Mutation score: (killed + timed out) / (killed + timed out + survived), in percent: every
//! mutant that compiled, is not equivalent (identical bytecode or reviewed in mutants.toml) and
//! ran. A mutant that times out counts as detected (a chaos run that hangs does not pass).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

mod merge;
pub use merge::{merge, Reviewed};

pub use crate::report::mutants::{
    BlockInfo, Cell, Detail, ExperimentKills, MutantRecord, MutantTotals, MutantsReport, ShardInfo,
    Status, Timing, SCHEMA_VERSION,
};

impl Cell {
    pub fn kills(self) -> bool {
        matches!(self, Cell::Disproved | Cell::Reverted)
    }

    fn symbol(self) -> &'static str {
        match self {
            Cell::Held => "·",
            Cell::Error => "E",
            Cell::TimedOut => "T",
            Cell::Reverted => "R",
            Cell::Disproved => "X",
        }
    }
}

impl MutantRecord {
    fn scored(&self) -> bool {
        matches!(
            self.status,
            Status::Killed | Status::Survived | Status::TimedOut
        )
    }
}

impl MutantsReport {
    /// MutantTotals, score, per-experiment counts and verdict from the mutants.
    pub fn finish(mut self, generated: u64) -> Self {
        self.mutants.sort_by(|a, b| {
            (a.file.as_str(), a.line, a.column, a.id.as_str()).cmp(&(
                b.file.as_str(),
                b.line,
                b.column,
                b.id.as_str(),
            ))
        });
        let mut t = MutantTotals {
            generated,
            selected: self.mutants.len() as u64,
            ..MutantTotals::default()
        };
        for m in &self.mutants {
            match m.status {
                Status::Killed => t.killed += 1,
                Status::Survived => t.survived += 1,
                Status::TimedOut => t.timed_out += 1,
                Status::Equivalent => {
                    if m.reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with(IDENTICAL))
                    {
                        t.equivalent_bytecode += 1;
                    } else {
                        t.equivalent_reviewed += 1;
                    }
                }
                Status::NotCompiled => t.not_compiled += 1,
                Status::Error => t.errors += 1,
            }
        }
        t.compiled = t.selected - t.not_compiled;
        let scored = t.killed + t.timed_out + t.survived;
        self.score = (scored > 0)
            .then(|| ((t.killed + t.timed_out) as f64 * 10_000.0 / scored as f64).round() / 100.0);
        self.per_experiment = self
            .experiments
            .iter()
            .map(|id| {
                let mut k = ExperimentKills {
                    id: id.clone(),
                    kills: 0,
                    by_check: 0,
                    sole_kills: 0,
                };
                for m in self.mutants.iter().filter(|m| m.status == Status::Killed) {
                    if let Some(cell) = m.matrix.get(id).filter(|c| c.kills()) {
                        k.kills += 1;
                        k.by_check += u64::from(*cell == Cell::Disproved);
                        k.sole_kills += u64::from(m.killed_by.len() == 1);
                    }
                }
                k
            })
            .collect();
        self.verdict = if t.errors > 0 {
            "error".into()
        } else if self.score.is_none_or(|s| s >= self.min_score) {
            "met".into()
        } else {
            "below".into()
        };
        if let Some(per) = self.timing.mutants_ms.checked_div(scored + t.errors) {
            self.timing.per_mutant_ms = per;
        }
        self.totals = t;
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        match self.verdict.as_str() {
            "met" => ExitCode::SUCCESS,
            "below" => ExitCode::from(1),
            _ => ExitCode::from(crate::error::EXIT_UNUSABLE),
        }
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(
            dir.join("mutants.json"),
            serde_json::to_string_pretty(self)? + "\n",
        )
        .with_context(|| format!("writing mutants.json in {}", dir.display()))?;
        std::fs::write(dir.join("summary.md"), self.summary_markdown())
            .with_context(|| format!("writing summary.md in {}", dir.display()))?;
        Ok(())
    }

    pub fn summary_markdown(&self) -> String {
        let t = &self.totals;
        let mut md = String::new();
        let score = self
            .score
            .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}%"));
        let verdict = match self.verdict.as_str() {
            "met" => format!("meets the minimum of {:.2}%", self.min_score),
            "below" => format!("**below** the minimum of {:.2}%", self.min_score),
            _ => format!("{} mutant(s) could not be run", t.errors),
        };
        let _ = writeln!(
            md,
            "### Mutation testing `{}`: score {score}, {verdict}\n",
            self.run_id
        );
        let blocks: Vec<String> = self
            .blocks
            .iter()
            .map(|b| format!("{} ({})", b.number, b.label))
            .collect();
        let _ = writeln!(
            md,
            "Mutants of {} against the chaos suite ({} engine, {} experiments at blocks {}; seed {}, {} days of history){}.\n",
            self.paths.join(", "),
            self.engine,
            self.experiments.len(),
            blocks.join(", "),
            self.seed,
            self.days,
            self.shard
                .map(|s| format!("; shard {}/{}", s.index, s.count))
                .unwrap_or_default()
        );
        let _ = writeln!(md, "| generated | selected | compiled | not compiled | equivalent (bytecode / reviewed) | killed | timed out | survived | errors | score |");
        let _ = writeln!(
            md,
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {score} |\n",
            t.generated,
            t.selected,
            t.compiled,
            t.not_compiled,
            t.equivalent_bytecode,
            t.equivalent_reviewed,
            t.killed,
            t.timed_out,
            t.survived,
            t.errors
        );
        let _ = writeln!(
            md,
            "Score = (killed + timed out) / (killed + timed out + survived). Killed: a hypothesis disproved (X) or a scenario crashed (R) at some pinned block.\n"
        );
        md.push_str("#### Kills per experiment\n\n| # | experiment | kills | by a check | only this one |\n| ---: | --- | ---: | ---: | ---: |\n");
        for (i, k) in self.per_experiment.iter().enumerate() {
            let name = if k.kills == 0 {
                format!("**{}** (catches nothing)", k.id)
            } else {
                k.id.clone()
            };
            let _ = writeln!(
                md,
                "| {} | {name} | {} | {} | {} |",
                i + 1,
                k.kills,
                k.by_check,
                k.sole_kills
            );
        }
        md.push('\n');
        let ran: Vec<&MutantRecord> = self.mutants.iter().filter(|m| m.scored()).collect();
        if !ran.is_empty() {
            md.push_str("#### Kill matrix\n\nColumns are the experiments numbered above; X disproved, R reverted (crash), T timed out, E tool error, · held.\n\n");
            let head: Vec<String> = (1..=self.experiments.len())
                .map(|i| i.to_string())
                .collect();
            let _ = writeln!(
                md,
                "| mutant | where | operator | status | {} |",
                head.join(" | ")
            );
            let _ = writeln!(
                md,
                "| --- | --- | --- | --- | {} |",
                vec![":-:"; self.experiments.len()].join(" | ")
            );
            for m in &ran {
                let cells: Vec<&str> = self
                    .experiments
                    .iter()
                    .map(|e| m.matrix.get(e).map_or(" ", |c| c.symbol()))
                    .collect();
                let _ = writeln!(
                    md,
                    "| `{}` | {}:{} | {} | {} | {} |",
                    m.id,
                    short_file(&m.file),
                    m.line,
                    m.operator,
                    status_word(m.status),
                    cells.join(" | ")
                );
            }
            md.push('\n');
        }
        let survivors: Vec<&MutantRecord> = self
            .mutants
            .iter()
            .filter(|m| m.status == Status::Survived)
            .collect();
        let _ = writeln!(md, "#### Survivors ({})\n", survivors.len());
        for m in survivors {
            let _ = writeln!(
                md,
                "**`{}`** {}:{} in `{}.{}` ({}):\n\n```diff\n{}```\n",
                m.id, m.file, m.line, m.contract, m.function, m.operator, m.diff
            );
        }
        let timed: Vec<&MutantRecord> = self
            .mutants
            .iter()
            .filter(|m| matches!(m.status, Status::TimedOut | Status::Error))
            .collect();
        if !timed.is_empty() {
            md.push_str("#### Timed out or not run\n\n");
            for m in timed {
                let _ = writeln!(
                    md,
                    "- `{}` {}:{} {}: {}",
                    m.id,
                    m.file,
                    m.line,
                    status_word(m.status),
                    m.reason.as_deref().unwrap_or("")
                );
            }
            md.push('\n');
        }
        let reviewed: Vec<&MutantRecord> = self
            .mutants
            .iter()
            .filter(|m| {
                m.status == Status::Equivalent
                    && !m
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with(IDENTICAL))
            })
            .collect();
        if !reviewed.is_empty() {
            md.push_str("#### Reviewed equivalents (mutants.toml)\n\n");
            for m in reviewed {
                let _ = writeln!(
                    md,
                    "- `{}` {}:{} `{}` -> `{}`: {}",
                    m.id,
                    short_file(&m.file),
                    m.line,
                    super::generate::one_line(&m.original),
                    super::generate::one_line(&m.replacement),
                    m.reason.as_deref().unwrap_or("")
                );
            }
            md.push('\n');
        }
        let _ = writeln!(
            md,
            "Wall time {:.1} s: chain {:.1} s, clean suite {:.1} s, mutants {:.1} s ({:.1} s per mutant that ran, {} jobs, {} vaults per forge process).",
            self.duration_ms as f64 / 1000.0,
            self.timing.chain_ms as f64 / 1000.0,
            self.timing.clean_suite_ms as f64 / 1000.0,
            self.timing.mutants_ms as f64 / 1000.0,
            self.timing.per_mutant_ms as f64 / 1000.0,
            self.timing.jobs,
            self.timing.batch
        );
        md
    }
}

/// Reason prefix of mutants whose bytecode equals the clean vault's.
pub const IDENTICAL: &str = "identical bytecode";

fn short_file(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Killed => "killed",
        Status::Survived => "**survived**",
        Status::TimedOut => "timed out",
        Status::Equivalent => "equivalent",
        Status::NotCompiled => "not compiled",
        Status::Error => "error",
    }
}

#[cfg(test)]
mod tests;

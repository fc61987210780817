//! `cargo xtask mutants merge`: the shards' `mutants.json` read back typed and joined into
//! one report (the reviewed equivalents applied again, the totals and verdict recomputed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::{MutantsReport, Status, SCHEMA_VERSION};
use crate::error::Unusable;
use crate::shell;

/// The reviewed equivalents (id -> reason) among the mutants of the given paths.
pub type Reviewed<'a> = dyn Fn(&[String]) -> anyhow::Result<BTreeMap<String, String>> + 'a;

/// `cargo xtask mutants merge`: one report from the shards' reports.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    min_score: f64,
    reviewed: &Reviewed<'_>,
) -> anyhow::Result<ExitCode> {
    let mut reports: Vec<MutantsReport> = Vec::new();
    for dir in dirs {
        let path = dir.join("mutants.json");
        let report = crate::report::read_versioned(
            &path,
            "mutants report",
            "pass report directories of `cargo xtask mutants --shard` runs",
            SCHEMA_VERSION,
            |r: &MutantsReport| r.schema_version,
        )?;
        reports.push(report);
    }
    let base = reports.first().context("no reports to merge")?.clone();
    let equivalents = reviewed(&base.paths)?;
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut mutants = Vec::new();
    let mut generated = 0;
    let mut timing = base.timing.clone();
    timing.mutants_ms = 0;
    let mut shards = BTreeSet::new();
    for r in &reports {
        let same = r.seed == base.seed
            && r.days == base.days
            && r.engine == base.engine
            && r.paths == base.paths
            && r.full_matrix == base.full_matrix
            && r.experiments == base.experiments
            && r.blocks == base.blocks;
        if !same {
            return Err(Unusable::with_fix(
                format!(
                    "{} ran another campaign (seed, days, engine, paths, experiments or blocks differ)",
                    r.run_id
                ),
                "merge the shards of one run, started with the same options",
            )
            .into());
        }
        if let Some(s) = r.shard {
            if !shards.insert(s.index) {
                return Err(Unusable::new(format!("shard {} is given twice", s.index)).into());
            }
        }
        generated = r.totals.generated;
        for m in &r.mutants {
            if !ids.insert(m.id.clone()) {
                return Err(
                    Unusable::new(format!("mutant {} is in two shards' reports", m.id)).into(),
                );
            }
            let mut m = m.clone();
            if let Some(reason) = equivalents.get(&m.id) {
                m.status = Status::Equivalent;
                m.reason = Some(reason.clone());
            }
            mutants.push(m);
        }
        timing.mutants_ms = timing.mutants_ms.max(r.timing.mutants_ms);
        timing.upstream_requests += r.timing.upstream_requests;
    }
    let report = MutantsReport {
        run_id: format!("{}-merged", base.run_id),
        duration_ms: reports
            .iter()
            .map(|r| r.duration_ms)
            .max()
            .unwrap_or_default(),
        shard: None,
        min_score,
        timing,
        mutants,
        ..base
    }
    .finish(generated);
    report.write(out)?;
    crate::report::append_step_summary(&report.summary_markdown())?;
    shell::status(
        "Merged",
        format!(
            "{} reports into {}: {} killed, {} survived, {} timed out; score {}",
            dirs.len(),
            out.display(),
            report.totals.killed,
            report.totals.survived,
            report.totals.timed_out,
            report
                .score
                .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}%"))
        ),
    );
    Ok(report.exit_code())
}

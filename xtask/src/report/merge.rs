//! `cargo xtask chaos merge`: the reports of sharded runs read back (typed) and merged into one
//! report, as if the run had not been sharded.

use crate::error::Unusable;
use crate::report::{self, Block, Experiment, Report};
use crate::shell;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `cargo xtask chaos merge`: one report from the shards' reports. Every input must be a
/// finished (not interrupted) report of the same chain (id, kind, block hashes) and seed;
/// a directory given twice, an experiment present in two reports, or shards of different splits
/// or with one missing are refused. Shards of one split are put back in the order of the
/// unsharded run (the pairs were dealt round-robin), so the merged report equals that run's.
pub(crate) fn merge(
    dirs: &[PathBuf],
    out: &Path,
    open: bool,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let reports = read_reports(dirs, out)?;
    let merged = merge_reports(reports)?;
    let dir = report::ReportDir::create(out, force)?;
    // The page reads the shards' side files (the chain's history, the window's points).
    let sources: Vec<&Path> = std::iter::once(dir.path())
        .chain(dirs.iter().map(PathBuf::as_path))
        .collect();
    merged.write_with(dir.path(), &sources)?;
    report::append_step_summary(&merged.summary_markdown())?;
    shell::status(
        "Merged",
        format!(
            "{} reports into {}: resilience {:.2}%",
            dirs.len(),
            out.display(),
            merged.resilience
        ),
    );
    if open {
        crate::report::html::open(&out.join(crate::report::html::FILE_NAME));
    }
    Ok(merged.exit_code())
}

/// Each directory's report.json: a regular file (never a FIFO or a device, which would block or
/// never end), each directory once, none of them the output.
pub(crate) fn read_reports(dirs: &[PathBuf], out: &Path) -> anyhow::Result<Vec<(PathBuf, Report)>> {
    let out_real = out.canonicalize().ok();
    let mut seen = std::collections::BTreeMap::new();
    let mut reports = Vec::new();
    for dir in dirs {
        let real = dir.canonicalize().map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", dir.display()),
                "pass report directories of `cargo xtask chaos` runs",
            )
        })?;
        if let Some(first) = seen.insert(real.clone(), dir.clone()) {
            return Err(Unusable::new(format!(
                "{} and {} are the same directory: each report may be merged once",
                first.display(),
                dir.display()
            ))
            .into());
        }
        if out_real.as_ref() == Some(&real) {
            return Err(Unusable::new(format!(
                "{} is both an input and the output of the merge",
                dir.display()
            ))
            .into());
        }
        let path = dir.join("report.json");
        let meta = std::fs::metadata(&path).map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", path.display()),
                "pass report directories of `cargo xtask chaos` runs",
            )
        })?;
        if !meta.is_file() {
            return Err(Unusable::new(format!("{} is not a regular file", path.display())).into());
        }
        let report = Report::read(&path)?;
        if let Some(stop) = &report.interrupted {
            return Err(Unusable::with_fix(
                format!(
                    "{} is an interrupted run ({} during {}: {} of {} experiments): merged, it would pass for a complete one",
                    path.display(),
                    stop.signal,
                    stop.phase,
                    stop.finished,
                    stop.planned
                ),
                "run that shard again",
            )
            .into());
        }
        reports.push((path, report));
    }
    Ok(reports)
}

/// One report from several (see `merge`).
pub fn merge_reports(mut reports: Vec<(PathBuf, Report)>) -> anyhow::Result<Report> {
    let (first_path, first) = reports.first().cloned().context("no reports to merge")?;
    for (path, report) in &reports[1..] {
        let differ = |what: &str, a: String, b: String| -> anyhow::Result<()> {
            if a != b {
                return Err(Unusable::new(format!(
                    "{} and {} are runs of different {what} ({a} and {b})",
                    first_path.display(),
                    path.display()
                ))
                .into());
            }
            Ok(())
        };
        differ(
            "chains",
            format!("{} {}", first.chain.kind, first.chain.id),
            format!("{} {}", report.chain.kind, report.chain.id),
        )?;
        differ("seeds", first.seed.to_string(), report.seed.to_string())?;
    }
    // Shards of one split, in shard order; or whole runs, in the order given.
    let shards: Vec<Option<report::ShardOf>> = reports.iter().map(|(_, r)| r.shard).collect();
    let split = if shards.iter().all(Option::is_some) {
        let count = first.shard.map(|s| s.count).unwrap_or_default();
        let mut indices = std::collections::BTreeSet::new();
        for (path, report) in &reports {
            let shard = report
                .shard
                .unwrap_or(report::ShardOf { index: 0, count: 0 });
            if shard.count != count {
                return Err(Unusable::new(format!(
                    "{} is shard {}/{} of another split than {} ({}/{count})",
                    path.display(),
                    shard.index,
                    shard.count,
                    first_path.display(),
                    first.shard.map(|s| s.index).unwrap_or_default()
                ))
                .into());
            }
            if !indices.insert(shard.index) {
                return Err(Unusable::new(format!(
                    "shard {}/{count} is given twice ({})",
                    shard.index,
                    path.display()
                ))
                .into());
            }
        }
        if let Some(missing) = (1..=count).find(|i| !indices.contains(i)) {
            return Err(Unusable::with_fix(
                format!("shard {missing}/{count} is missing: the merged report would lack its experiments"),
                "merge every shard of the split",
            )
            .into());
        }
        reports.sort_by_key(|(_, r)| r.shard.map(|s| s.index));
        Some(count)
    } else if shards.iter().any(Option::is_some) {
        return Err(Unusable::new(
            "some reports are shards and some are whole runs: merge the shards of one split, or whole runs",
        )
        .into());
    } else {
        None
    };

    // Every block once, with one hash; every (block, engine, experiment) once.
    let mut blocks: std::collections::BTreeMap<u64, Block> = std::collections::BTreeMap::new();
    let mut pairs = std::collections::BTreeSet::new();
    for (path, report) in &reports {
        for block in &report.blocks {
            let entry = blocks.entry(block.number).or_insert_with(|| Block {
                experiments: vec![],
                ..block.clone()
            });
            if entry.hash != block.hash {
                return Err(Unusable::new(format!(
                    "shards disagree on the hash of block {}: they forked different chains",
                    block.number
                ))
                .into());
            }
            for e in &block.experiments {
                if !pairs.insert((block.number, e.engine.label(), e.id.clone())) {
                    return Err(Unusable::new(format!(
                        "{} [{}] at block {} is in two of the reports ({} is one)",
                        e.id,
                        e.engine.label(),
                        block.number,
                        path.display()
                    ))
                    .into());
                }
            }
        }
    }
    match split {
        Some(count) => {
            // Deal the pairs back: position p of the whole run came from shard p % count.
            let mut queues: Vec<std::collections::VecDeque<(u64, Experiment)>> = reports
                .iter()
                .map(|(_, r)| {
                    r.blocks
                        .iter()
                        .flat_map(|b| b.experiments.iter().map(move |e| (b.number, e.clone())))
                        .collect()
                })
                .collect();
            let total: usize = queues.iter().map(|q| q.len()).sum();
            let count = count as usize;
            for position in 0..total {
                let (number, e) = queues[position % count].pop_front().ok_or_else(|| {
                    Unusable::new(
                        "the shards do not add up to one run (they ran different experiments or blocks)",
                    )
                })?;
                if let Some(block) = blocks.get_mut(&number) {
                    block.experiments.push(e);
                }
            }
        }
        None => {
            for (_, report) in &reports {
                for block in &report.blocks {
                    if let Some(entry) = blocks.get_mut(&block.number) {
                        entry.experiments.extend(block.experiments.iter().cloned());
                    }
                }
            }
        }
    }
    let mut reverts: Vec<report::RevertRecord> = reports
        .iter()
        .flat_map(|(_, r)| r.reverts.iter().cloned())
        .collect();
    reverts.sort_by_key(|r| r.block);
    Ok(Report {
        reverts,
        run_id: format!("{}-merged", first.run_id),
        started_at: reports
            .iter()
            .map(|(_, r)| r.started_at)
            .min()
            .unwrap_or_default(),
        duration_ms: reports
            .iter()
            .map(|(_, r)| r.duration_ms)
            .max()
            .unwrap_or_default(),
        blocks: blocks.into_values().collect(),
        shard: None,
        interrupted: None,
        ..first
    }
    .finish())
}

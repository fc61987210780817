//! The mutation-testing part of `cargo xtask bench`: the cost of one mutant the xtask way
//! against a warm in-EVM suite run at the same blocks, and against the naive way (the mutant
//! written into a copy of the project and a fresh `cargo xtask chaos` run there), side by side
//! in one run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

use super::MutantCatalogue;
use crate::project::Project;
use crate::shell;

/// Mutants in the sample (evenly spread over the list of `contracts/vault`).
const SAMPLE: usize = 4;

#[derive(Debug, Serialize)]
pub struct MutantsBench {
    /// The sampled mutant ids and how many of them ran (compiled, not equivalent).
    pub sample: Vec<String>,
    pub ran: u64,
    /// Wall time per mutant that ran, compile included, every experiment at every pinned
    /// block (`--full-matrix`), the machine's cores in use.
    pub per_mutant_ms: u64,
    /// The clean vault's in-EVM suite at the same blocks, in the same run, same cores.
    pub warm_suite_ms: u64,
    /// per_mutant_ms / warm_suite_ms.
    pub ratio: f64,
    pub compile_ms_per_mutant: u64,
    pub upstream_requests_per_mutant: u64,
    /// The naive way for one mutant of the sample: a copy of the project with the mutant
    /// written in, then `cargo xtask chaos --engine in-evm` there (forge rebuilds what imports
    /// the vault, the chain and its history are built again).
    pub naive_mutant: String,
    pub naive_ms: u64,
    /// naive_ms / per_mutant_ms.
    pub naive_slowdown: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64 * 100.0).round() / 100.0
    }
}

pub fn measure(project: &Project, out_dir: &Path) -> anyhow::Result<MutantsBench> {
    let catalogue = MutantCatalogue::load(project.root(), &[PathBuf::from("contracts/vault")])?;
    let n = catalogue.mutants.len();
    anyhow::ensure!(n > 0, "no mutants to measure");
    let sample: Vec<&super::generate::Mutant> = (0..SAMPLE)
        .map(|i| &catalogue.mutants[i * n / SAMPLE])
        .collect();
    shell::status(
        "Measuring",
        format!(
            "mutation testing: {} mutants, every experiment at every pinned block",
            sample.len()
        ),
    );
    let dir = out_dir.join("mutants");
    let mut cmd = crate::project::self_command(project);
    cmd.args([
        "mutants",
        "--full-matrix",
        "--min-score",
        "0",
        "--report-dir",
    ])
    .arg(&dir);
    for m in &sample {
        cmd.args(["--mutant", &m.id]);
    }
    // Registered with the signal handler: an interrupted bench ends its campaign too.
    let status = crate::signals::status_as_is(cmd.stdin(Stdio::null()).stdout(Stdio::null()))
        .context("starting cargo xtask mutants")?;
    crate::signals::check()?;
    let text = std::fs::read_to_string(dir.join("mutants.json"))
        .with_context(|| format!("cargo xtask mutants ({status}) wrote no report"))?;
    let report: super::report::MutantsReport = serde_json::from_str(&text)?;
    let ran = report.totals.killed + report.totals.survived + report.totals.timed_out;
    anyhow::ensure!(ran > 0, "no sampled mutant ran ({status})");
    let per_mutant_ms = report.timing.per_mutant_ms;
    let naive_mutant = report
        .mutants
        .iter()
        .find(|m| {
            matches!(
                m.status,
                super::report::Status::Killed | super::report::Status::Survived
            )
        })
        .map(|m| m.id.clone())
        .context("no sampled mutant ran")?;
    let naive_ms = naive(project, &catalogue, &naive_mutant, out_dir)?;
    Ok(MutantsBench {
        sample: sample.iter().map(|m| m.id.clone()).collect(),
        ran,
        per_mutant_ms,
        warm_suite_ms: report.timing.clean_suite_ms,
        ratio: ratio(per_mutant_ms, report.timing.clean_suite_ms),
        compile_ms_per_mutant: report.timing.compile_ms / report.totals.selected.max(1),
        upstream_requests_per_mutant: report.timing.upstream_requests / ran,
        naive_mutant,
        naive_ms,
        naive_slowdown: ratio(naive_ms, per_mutant_ms),
    })
}

/// One mutant the naive way: written into a copy of the project (never into this one), then a
/// fresh `cargo xtask chaos --engine in-evm` in the copy.
fn naive(
    project: &Project,
    catalogue: &MutantCatalogue,
    id: &str,
    out_dir: &Path,
) -> anyhow::Result<u64> {
    shell::status(
        "Measuring",
        format!("the naive way: mutant {id} in a copy of the project, a fresh cargo xtask chaos"),
    );
    let m = catalogue
        .mutants
        .iter()
        .find(|m| m.id == id)
        .context("the naive mutant is gone")?;
    let copy = tempfile::Builder::new()
        .prefix("xtask-naive-mutant.")
        .tempdir()
        .context("a directory for the copy")?;
    let root = project.root();
    for dir in [
        "contracts",
        "script",
        "test",
        "deployments",
        "tools",
        "out",
        "cache",
    ] {
        copy_dir(&root.join(dir), &copy.path().join(dir))?;
    }
    for file in ["foundry.toml", "package.json", "package-lock.json"] {
        std::fs::copy(root.join(file), copy.path().join(file))
            .with_context(|| format!("copying {file}"))?;
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(project.node_modules(), copy.path().join("node_modules"))?;
    let source = &catalogue.sources.files[&m.file];
    std::fs::write(copy.path().join(&m.file), m.apply(source))?;
    let started = Instant::now();
    let status = crate::signals::status_as_is(
        crate::project::self_command(project)
            .env("XTASK_ROOT", copy.path())
            .args(["chaos", "--engine", "in-evm", "--report-dir"])
            .arg(out_dir.join("naive-chaos"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .context("starting cargo xtask chaos")?;
    crate::signals::check()?;
    let wall = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    anyhow::ensure!(
        status.success() || status.code() == Some(1),
        "the naive cargo xtask chaos could not run ({status})"
    );
    Ok(wall)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    if !from.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// (name, wanted, measured, met) for the bench's target table.
pub fn goals(b: &MutantsBench) -> Vec<(String, String, String, bool)> {
    vec![
        (
            "mutant wall time vs warm in-EVM suite (compile included)".into(),
            "<= 3x".into(),
            format!("{:.2}x", b.ratio),
            b.ratio <= 3.0,
        ),
        (
            "naive way (fresh cargo xtask chaos) vs a mutant".into(),
            "slower".into(),
            format!("{:.2}x", b.naive_slowdown),
            b.naive_slowdown > 1.0,
        ),
    ]
}

pub fn markdown(b: &MutantsBench) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\nMutation testing: {} of {} sampled mutants ran; {:.1} s per mutant (compile {:.1} s, {} upstream requests) against {:.1} s for the warm in-EVM suite at the same blocks: {:.2}x. The naive way (mutant {} in a copy of the project, fresh `cargo xtask chaos --engine in-evm`): {:.1} s, {:.2}x a mutant.",
        b.ran,
        b.sample.len(),
        b.per_mutant_ms as f64 / 1000.0,
        b.compile_ms_per_mutant as f64 / 1000.0,
        b.upstream_requests_per_mutant,
        b.warm_suite_ms as f64 / 1000.0,
        b.ratio,
        b.naive_mutant,
        b.naive_ms as f64 / 1000.0,
        b.naive_slowdown
    );
    md
}

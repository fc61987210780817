//! `cargo xtask slither`: Slither's static analysis of the vault against a committed triage.
//!
//! The vault (`contracts/vault`, with the interfaces it imports) is compiled by the pinned forge
//! into `target/slither/out` with full build-info, and Slither reads that build-info
//! (`--ignore-compile`: left to itself, crytic-compile would run `forge clean` and rebuild the
//! whole project). Findings of impact Low and above are compared with `slither.triage.json`,
//! where every finding that is there by design is listed by detector and target
//! (`Contract.function`, `Contract.variable`, `Contract.function.local`) with the reason.
//! A finding the triage does not cover is new: exit 1. Triage entries that match nothing any
//! more are reported so that the file does not rot. Slither itself is not a dependency of the
//! project: install it with `pip install slither-analyzer==<version in the triage file>` (the
//! nightly workflow does) or point `SLITHER` at it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use anyhow::Context as _;
use serde::Deserialize;

use crate::error::Unusable;
use crate::project::Project;
use crate::shell;
use crate::toolchain::{self, Tool, Toolchain};

/// What Slither analyses: the vault's sources (forge also compiles what they import).
pub const SCOPE: &str = "contracts/vault";
/// The committed triage, relative to the repository root.
pub const TRIAGE_FILE: &str = "slither.triage.json";

#[derive(Debug, clap::Args)]
pub struct SlitherArgs {
    /// The triage file (default: slither.triage.json in the repository root).
    #[arg(long, value_name = "FILE")]
    pub triage: Option<PathBuf>,
    /// Compare an existing Slither JSON report instead of compiling and running Slither.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// `slither --json` output: only what the comparison needs.
#[derive(Debug, Deserialize)]
pub struct SlitherOutput {
    pub success: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub results: SlitherResults,
}

#[derive(Debug, Default, Deserialize)]
pub struct SlitherResults {
    #[serde(default)]
    pub detectors: Vec<Finding>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Finding {
    pub check: String,
    pub impact: String,
    pub confidence: String,
    pub description: String,
    #[serde(default)]
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Element {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub type_specific_fields: Option<SpecificFields>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpecificFields {
    #[serde(default)]
    pub parent: Option<Box<Element>>,
}

impl Finding {
    /// `Contract.function`, `Contract.variable`, `Contract.function.local` or `Contract`: the
    /// finding's first element and the declarations around it (statement nodes are skipped:
    /// their names are source text that changes with formatting).
    pub fn target(&self) -> String {
        let mut names = Vec::new();
        let mut next = self.elements.first();
        while let Some(element) = next {
            if element.kind != "node" {
                names.push(element.name.as_str());
            }
            next = element
                .type_specific_fields
                .as_ref()
                .and_then(|f| f.parent.as_deref());
        }
        names.reverse();
        names.join(".")
    }

    /// Low, Medium and High fail when untriaged; Informational and Optimization are not run.
    pub fn counts(&self) -> bool {
        matches!(self.impact.as_str(), "Low" | "Medium" | "High")
    }

    /// The first line of Slither's description.
    pub fn summary(&self) -> &str {
        self.description.lines().next().unwrap_or_default().trim()
    }
}

/// `slither.triage.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    /// The Slither version the triage was made with (other versions find other things).
    pub slither: String,
    pub entries: Vec<TriageEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageEntry {
    pub detector: String,
    pub targets: Vec<String>,
    /// Why these findings are there by design.
    pub reason: String,
}

impl Triage {
    pub fn parse(text: &str, path: &Path) -> Result<Self, Unusable> {
        let triage: Triage = serde_json::from_str(text)
            .map_err(|e| Unusable::new(format!("{} is not a triage file: {e}", path.display())))?;
        for entry in &triage.entries {
            if entry.detector.trim().is_empty()
                || entry.targets.is_empty()
                || entry.targets.iter().any(|t| t.trim().is_empty())
                || entry.reason.trim().len() < 10
            {
                return Err(Unusable::with_fix(
                    format!(
                        "{}: the entry for `{}` needs a detector, targets and a reason",
                        path.display(),
                        entry.detector
                    ),
                    "every triaged finding says why it is there by design",
                ));
            }
        }
        Ok(triage)
    }

    fn covers(&self, finding: &Finding) -> bool {
        let target = finding.target();
        self.entries
            .iter()
            .any(|e| e.detector == finding.check && e.targets.contains(&target))
    }
}

/// The comparison of a Slither run with the triage.
#[derive(Debug, Default)]
pub struct Comparison<'a> {
    pub triaged: usize,
    /// Findings the triage does not cover.
    pub new: Vec<&'a Finding>,
    /// `(detector, target)` of triage entries that matched no finding.
    pub stale: Vec<(String, String)>,
}

pub fn compare<'a>(findings: &'a [Finding], triage: &Triage) -> Comparison<'a> {
    let mut out = Comparison::default();
    for finding in findings.iter().filter(|f| f.counts()) {
        if triage.covers(finding) {
            out.triaged += 1;
        } else {
            out.new.push(finding);
        }
    }
    for entry in &triage.entries {
        for target in &entry.targets {
            let seen = findings
                .iter()
                .any(|f| f.check == entry.detector && f.target() == *target);
            if !seen {
                out.stale.push((entry.detector.clone(), target.clone()));
            }
        }
    }
    out
}

pub fn run(args: SlitherArgs, project: &Project) -> anyhow::Result<ExitCode> {
    let triage_path = project
        .root()
        .join(args.triage.unwrap_or_else(|| TRIAGE_FILE.into()));
    let text = std::fs::read_to_string(&triage_path)
        .map_err(|e| Unusable::new(format!("cannot read {}: {e}", triage_path.display())))?;
    let triage = Triage::parse(&text, &triage_path)?;
    let report_path = match args.report {
        Some(path) => path,
        None => analyse(project, &triage)?,
    };
    let text = std::fs::read_to_string(&report_path)
        .with_context(|| format!("reading {}", report_path.display()))?;
    let output: SlitherOutput = serde_json::from_str(&text).map_err(|e| {
        Unusable::new(format!(
            "{} is not Slither's JSON output: {e}",
            report_path.display()
        ))
    })?;
    if !output.success {
        return Err(Unusable::new(format!(
            "Slither failed: {}",
            output.error.unwrap_or_default().trim()
        ))
        .into());
    }
    let findings = output.results.detectors;
    let result = compare(&findings, &triage);
    let mut by_detector: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.counts()) {
        *by_detector.entry(&f.check).or_default() += 1;
    }
    for (detector, n) in &by_detector {
        shell::line(format!("  {detector:<26} {n:>3}"));
    }
    for (detector, target) in &result.stale {
        shell::warn(format!(
            "{}: `{detector}` on `{target}` is triaged but no longer found; remove it",
            triage_path.display()
        ));
    }
    for f in &result.new {
        shell::line(format!(
            "  {} [{} / {}] {} on `{}`: {}",
            shell::verdict(false),
            f.impact,
            f.confidence,
            f.check,
            f.target(),
            f.summary()
        ));
    }
    if result.new.is_empty() {
        shell::status(
            "Finished",
            format!(
                "{} findings of impact Low or above, all triaged in {}",
                result.triaged,
                triage_path.display()
            ),
        );
        Ok(ExitCode::SUCCESS)
    } else {
        shell::error(format!(
            "{} new finding(s) ({} triaged); fix them, or add them to {} with the reason they are there by design",
            result.new.len(),
            result.triaged,
            triage_path.display()
        ));
        Ok(ExitCode::from(1))
    }
}

/// Compile the vault with build-info and run Slither on it; returns the JSON report's path.
fn analyse(project: &Project, triage: &Triage) -> anyhow::Result<PathBuf> {
    let slither = slither_binary()?;
    let version = toolchain::version_line(&slither, &["--version"]).unwrap_or_default();
    if version != triage.slither {
        shell::warn(format!(
            "Slither {version} here, the triage was made with {}: findings may differ",
            triage.slither
        ));
    }
    let toolchain = Toolchain::ensure(project)?;
    let dir = project.root().join("target").join("slither");
    let out = dir.join("out");
    shell::status(
        "Compiling",
        format!("{SCOPE} with build-info into {}", out.display()),
    );
    let status = crate::signals::status_as_is(
        toolchain
            .command(Tool::Forge)
            .args(["build", "--build-info", "--out"])
            .arg(&out)
            .arg("--cache-path")
            .arg(dir.join("cache"))
            .arg(SCOPE)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .context("starting forge build")?;
    crate::signals::check()?;
    anyhow::ensure!(
        status.success(),
        "forge build --build-info failed ({status})"
    );
    let report = dir.join("slither.json");
    let _ = std::fs::remove_file(&report);
    shell::status("Analysing", format!("with Slither {version}"));
    // crytic-compile asks `forge config --json` where the libraries are: the pinned forge first.
    let forge_dir = toolchain
        .forge
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(forge_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let mut command = std::process::Command::new(&slither);
    command
        .arg(".")
        .arg("--ignore-compile")
        .arg("--foundry-out-directory")
        .arg(&out)
        .args([
            "--exclude-informational",
            "--exclude-optimization",
            "--disable-color",
            "--json",
        ])
        .arg(&report)
        .current_dir(project.root())
        .env("PATH", path);
    let output = crate::signals::output_as_is(&mut command)
        .with_context(|| format!("starting {}", slither.display()))?;
    crate::signals::check()?;
    // Slither's exit code is its number of findings; the JSON report says whether it worked.
    if !report.is_file() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(Unusable::new(format!(
            "Slither wrote no report ({}): {}",
            output.status,
            last.unwrap_or("no output")
        ))
        .into());
    }
    Ok(report)
}

fn slither_binary() -> Result<PathBuf, Unusable> {
    if let Some(path) = std::env::var_os("SLITHER").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        return if toolchain::is_executable(&path) {
            Ok(path)
        } else {
            Err(Unusable::new(format!(
                "SLITHER={} is not an executable file",
                path.display()
            )))
        };
    }
    toolchain::find_on_path("slither", &toolchain::ProcessEnv).ok_or_else(|| {
        Unusable::with_fix(
            "slither is not installed",
            "python3 -m pip install slither-analyzer (the version in slither.triage.json), or set SLITHER",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real Slither 0.11.6 report on this vault.
    const REPORT: &str = r#"{"success": true, "error": null, "results": {"detectors": [
      {"check": "uninitialized-local", "impact": "Medium", "confidence": "Medium",
       "description": "CycleModule._flashStep(VaultCore.Ctx,uint256,uint256,uint256,bool).reason (contracts/vault/CycleModule.sol#385) is a local variable never initialized\n",
       "elements": [{"type": "variable", "name": "reason", "type_specific_fields": {"parent":
         {"type": "function", "name": "_flashStep", "type_specific_fields": {"parent":
           {"type": "contract", "name": "CycleModule"}}}}}]},
      {"check": "reentrancy-events", "impact": "Low", "confidence": "Medium",
       "description": "Reentrancy in CycleModule.cycle() (contracts/vault/CycleModule.sol#51-98):\n\tExternal calls:\n",
       "elements": [{"type": "function", "name": "cycle", "type_specific_fields": {"parent":
           {"type": "contract", "name": "CycleModule"}}},
         {"type": "node", "name": "o = _oracle.update()", "type_specific_fields": {"parent":
           {"type": "function", "name": "cycle"}}}]},
      {"check": "divide-before-multiply", "impact": "Medium", "confidence": "Medium",
       "description": "VaultMath.mulDiv(uint256,uint256,uint256) performs a multiplication on the result of a division:\n",
       "elements": [{"type": "node", "name": "inverse *= 2 - d * inverse", "type_specific_fields": {"parent":
         {"type": "function", "name": "mulDiv", "type_specific_fields": {"parent":
           {"type": "contract", "name": "VaultMath"}}}}}]},
      {"check": "naming-convention", "impact": "Informational", "confidence": "High",
       "description": "Function IPancakeRouter02.WETH() is not in mixedCase\n",
       "elements": [{"type": "function", "name": "WETH", "type_specific_fields": {"parent":
           {"type": "contract", "name": "IPancakeRouter02"}}}]}
    ]}}"#;

    fn findings() -> Vec<Finding> {
        let output: SlitherOutput = serde_json::from_str(REPORT).unwrap();
        assert!(output.success);
        output.results.detectors
    }

    fn triage(text: &str) -> Result<Triage, Unusable> {
        Triage::parse(text, Path::new("slither.triage.json"))
    }

    #[test]
    fn targets_name_the_declarations_not_the_statements() {
        let targets: Vec<String> = findings().iter().map(Finding::target).collect();
        assert_eq!(
            targets,
            [
                "CycleModule._flashStep.reason",
                "CycleModule.cycle",
                "VaultMath.mulDiv",
                "IPancakeRouter02.WETH"
            ]
        );
    }

    #[test]
    fn only_untriaged_findings_are_new_and_dead_entries_are_reported() {
        let findings = findings();
        let t = triage(
            r#"{"slither": "0.11.6", "entries": [
              {"detector": "reentrancy-events", "targets": ["CycleModule.cycle", "CycleModule.gone"],
               "reason": "events after calls; every entry point is nonReentrant"},
              {"detector": "divide-before-multiply", "targets": ["VaultMath.mulDiv"],
               "reason": "Newton iterations of the modular inverse"}
            ]}"#,
        )
        .unwrap();
        let c = compare(&findings, &t);
        assert_eq!(c.triaged, 2);
        let new: Vec<String> = c.new.iter().map(|f| f.target()).collect();
        assert_eq!(
            new,
            ["CycleModule._flashStep.reason"],
            "informational ones never count"
        );
        assert_eq!(
            c.stale,
            [(
                "reentrancy-events".to_owned(),
                "CycleModule.gone".to_owned()
            )]
        );
        // The same target under another detector is not covered.
        let t = triage(
            r#"{"slither": "0.11.6", "entries": [{"detector": "timestamp",
              "targets": ["CycleModule.cycle"], "reason": "rate limit in wall-clock seconds"}]}"#,
        )
        .unwrap();
        assert_eq!(compare(&findings, &t).new.len(), 3);
    }

    #[test]
    fn a_triage_entry_without_a_reason_or_with_unknown_fields_is_refused() {
        let err = triage(
            r#"{"slither": "0.11.6", "entries": [{"detector": "timestamp", "targets": ["A.b"], "reason": ""}]}"#,
        )
        .unwrap_err();
        assert!(
            err.cause.contains("needs a detector, targets and a reason"),
            "{err}"
        );
        assert!(triage(r#"{"slither": "0.11.6", "entries": [], "extra": 1}"#).is_err());
        assert!(triage("not json").is_err());
    }
}

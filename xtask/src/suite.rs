//! `cargo xtask test`: the whole test suite, ending with one `N passed, N failed` line.
//!
//! Parts, in order: the Rust tests of the workspace, then every forge test (unit, fuzz,
//! invariant), the gas of every `cycle()` path against the committed `.gas-snapshot`, and a
//! short end-to-end chaos run. Each part's results are read from the runner's own machine output (cargo's
//! `test result:` lines, `forge test --json`), never guessed from exit codes alone; a part that
//! cannot run at all (a compile error) counts as one failure so the summary cannot look green.
//!
//! Room: a command above the rooms. May depend on [`crate::toolchain`], [`crate::foundry`],
//! [`crate::report`] (the chaos part's `report.json`, read typed) and the plumbing; it re-runs
//! this binary through [`crate::project::self_command`].

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;
use serde::Deserialize;

use crate::error::Outcome;
use crate::project::Project;
use crate::shell;
use crate::toolchain::{Tool, Toolchain};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Run only these parts (repeatable). Default: all.
    #[arg(long, value_enum, value_name = "PART")]
    pub only: Vec<Part>,

    /// Only forge tests whose name matches this regular expression (`forge test --match-test`).
    #[arg(long, value_name = "REGEX")]
    pub match_test: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// `cargo test --workspace`.
    Rust,
    /// `forge test` over contracts/, test/ and script/.
    Forge,
    /// `forge snapshot --check` of the `cycle()` paths against `.gas-snapshot`, within
    /// [`GAS_TOLERANCE_PCT`] percent.
    Gas,
    /// A short end-to-end `cargo xtask chaos` (one day of local history, its landmark blocks,
    /// every experiment): each experiment that held counts as passed.
    Chaos,
}

/// Counts of one part or of the whole suite.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }

    /// The closing line CI reads: `N passed, N failed[, N skipped]`.
    pub fn summary_line(&self) -> String {
        let mut line = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            line.push_str(&format!(", {} skipped", self.skipped));
        }
        line
    }
}

pub fn run(args: TestArgs, project: &Project) -> anyhow::Result<Outcome> {
    let wants = |part: Part| args.only.is_empty() || args.only.contains(&part);
    let toolchain = Toolchain::ensure(project)?;
    let mut total = Tally::default();

    if wants(Part::Rust) {
        // The Rust tests run forge and the chaos command in parallel: compile the contracts once
        // first, so that no two of them compile (and write out/) at the same time.
        if let Err(err) = crate::foundry::forge::build(&toolchain) {
            shell::error(format!(
                "{err:#}; the Rust tests that run forge would fail too"
            ));
        }
        crate::signals::phase("rust tests")?;
        let started = Instant::now();
        shell::status("Testing", "Rust workspace (cargo test --workspace)");
        let tally = rust_tests(project)?;
        shell::status(
            "Finished",
            format!(
                "Rust: {} in {:.1?}",
                tally.summary_line(),
                started.elapsed()
            ),
        );
        total.add(tally);
    }
    if wants(Part::Forge) {
        crate::signals::phase("forge tests")?;
        let started = Instant::now();
        shell::status("Testing", "forge (unit, fuzz, invariant)");
        let tally = forge_tests(&toolchain, args.match_test.as_deref())?;
        shell::status(
            "Finished",
            format!(
                "forge: {} in {:.1?}",
                tally.summary_line(),
                started.elapsed()
            ),
        );
        total.add(tally);
    }

    if wants(Part::Gas) && args.match_test.is_none() {
        let started = Instant::now();
        shell::status(
            "Testing",
            format!(
                "gas of the cycle() paths against .gas-snapshot (tolerance {GAS_TOLERANCE_PCT}%)"
            ),
        );
        let tally = gas_snapshot(&toolchain)?;
        shell::status(
            "Finished",
            format!("gas: {} in {:.1?}", tally.summary_line(), started.elapsed()),
        );
        total.add(tally);
    }

    if wants(Part::Chaos) {
        crate::signals::phase("end to end")?;
        let started = Instant::now();
        shell::status("Testing", "end to end: cargo xtask chaos --days 1");
        let tally = chaos_run(project)?;
        shell::status(
            "Finished",
            format!(
                "chaos: {} in {:.1?}",
                tally.summary_line(),
                started.elapsed()
            ),
        );
        total.add(tally);
    }

    println!("summary: {}", total.summary_line());
    Ok(if total.failed == 0 {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

/// Run `cargo test --workspace`, streaming its output, and add up its `test result:` lines.
fn rust_tests(project: &Project) -> anyhow::Result<Tally> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Its own process group, ended on a signal with its test binaries (which pass SIGTERM on to
    // the xtask runs they started).
    let mut child = crate::signals::spawn_as_is(
        crate::project::nested_cargo(&mut Command::new(cargo))
            .args(["test", "--workspace"])
            .current_dir(project.root())
            .stdout(Stdio::piped())
            .stdin(Stdio::null()),
    )
    .context("starting cargo test")?;
    let stdout = child
        .child_mut()
        .stdout
        .take()
        .context("cargo test stdout")?;
    let mut tally = Tally::default();
    let mut saw_result = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test output")?;
        shell::line(&line);
        if let Some(result) = parse_cargo_result(&line) {
            saw_result = true;
            tally.add(result);
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    crate::signals::check()?;
    if !status.success() && tally.failed == 0 {
        shell::error(format!(
            "cargo test exited with {status} before reporting a failing test"
        ));
        tally.failed += 1;
    } else if !saw_result {
        shell::warn("cargo test reported no test results");
    }
    Ok(tally)
}

/// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`
pub fn parse_cargo_result(line: &str) -> Option<Tally> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut tally = Tally::default();
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => tally.passed = n,
            "failed" => tally.failed = n,
            "ignored" => tally.skipped = n,
            _ => {}
        }
    }
    Some(tally)
}

/// One suite of `forge test --json`: `"path:Contract" -> {duration, test_results, warnings}`.
#[derive(Debug, Deserialize)]
pub struct ForgeSuite {
    #[serde(default)]
    pub test_results: BTreeMap<String, ForgeTest>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct ForgeTest {
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub counterexample: Option<serde_json::Value>,
    #[serde(default)]
    pub decoded_logs: Vec<String>,
    /// `{"Unit":{"gas":N}}`, `{"Fuzz":{..}}` or `{"Invariant":{..}}`.
    #[serde(default)]
    pub kind: Option<serde_json::Value>,
}

/// Parse `forge test --json` stdout. forge may print non-JSON lines (compiler notes) first;
/// the report is the last line that parses as a JSON object.
pub fn parse_forge_report(stdout: &str) -> anyhow::Result<BTreeMap<String, ForgeSuite>> {
    if let Ok(report) = serde_json::from_str(stdout.trim()) {
        return Ok(report);
    }
    stdout
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .find_map(|l| serde_json::from_str(l).ok())
        .context("forge test --json printed no JSON report")
}

/// Count one forge report and print its suites and failures.
pub fn tally_forge(report: &BTreeMap<String, ForgeSuite>) -> Tally {
    let mut total = Tally::default();
    for (name, suite) in report {
        let mut tally = Tally::default();
        for test in suite.test_results.values() {
            match test.status.as_str() {
                "Success" => tally.passed += 1,
                "Skipped" => tally.skipped += 1,
                _ => tally.failed += 1,
            }
        }
        shell::line(format!(
            "  {} {name}: {}",
            shell::verdict(tally.failed == 0),
            tally.summary_line()
        ));
        for (test_name, test) in suite
            .test_results
            .iter()
            .filter(|(_, t)| !matches!(t.status.as_str(), "Success" | "Skipped"))
        {
            shell::line(format!(
                "      {} {test_name}: {}",
                shell::verdict(false),
                test.reason.as_deref().unwrap_or("(no reason)")
            ));
            if let Some(counterexample) = &test.counterexample {
                shell::line(format!("        counterexample: {counterexample}"));
            }
            for log in &test.decoded_logs {
                shell::line(format!("        {log}"));
            }
        }
        for warning in &suite.warnings {
            shell::warn(format!("{name}: {warning}"));
        }
        total.add(tally);
    }
    total
}

fn forge_tests(toolchain: &Toolchain, match_test: Option<&str>) -> anyhow::Result<Tally> {
    let profile = if shell::is_ci() { "ci" } else { "default" };
    // The tests deploy the registry sources by artifact (build/, crate::foundry::registry).
    crate::foundry::registry::ensure(toolchain)?;
    // Build first with human output, so compile errors are shown as forge prints them.
    let build = crate::signals::status_as_is(
        toolchain
            .command(Tool::Forge)
            .arg("build")
            .env("FOUNDRY_PROFILE", profile)
            .stdin(Stdio::null()),
    )
    .context("starting forge build")?;
    crate::signals::check()?;
    if !build.success() {
        shell::error(format!(
            "forge build failed ({build}); no forge test could run"
        ));
        return Ok(Tally {
            failed: 1,
            ..Tally::default()
        });
    }
    let mut cmd = toolchain.command(Tool::Forge);
    cmd.args(["test", "--json"])
        .env("FOUNDRY_PROFILE", profile)
        .stdin(Stdio::null());
    if let Some(pattern) = match_test {
        cmd.args(["--match-test", pattern]);
    }
    let output = crate::signals::output_as_is(&mut cmd).context("starting forge test")?;
    crate::signals::check()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && stdout.trim_start().starts_with("No tests found") {
        shell::warn("forge found no tests");
        return Ok(Tally::default());
    }
    let report = match parse_forge_report(&stdout) {
        Ok(report) => report,
        Err(err) => {
            shell::line(String::from_utf8_lossy(&output.stderr));
            shell::error(format!("{err:#} (forge exited with {})", output.status));
            return Ok(Tally {
                failed: 1,
                ..Tally::default()
            });
        }
    };
    let tally = tally_forge(&report);
    if !output.status.success() && tally.failed == 0 {
        shell::line(String::from_utf8_lossy(&output.stderr));
        shell::error(format!(
            "forge test exited with {} without a failing test in its report",
            output.status
        ));
        return Ok(Tally {
            failed: tally.failed + 1,
            ..tally
        });
    }
    Ok(tally)
}

/// The gas tests whose numbers are committed in `.gas-snapshot`: one per `cycle()` path.
pub const GAS_TESTS: &str = "test/vault/VaultGas.t.sol";

/// How far (percent, either way) a `cycle()` path's gas may move from `.gas-snapshot` before
/// the suite fails. Gas is deterministic, so any larger change is a real change of the vault:
/// the keeper bounty is paid for `bountyGasUnits` (1,500,000) of gas, so a path that grows
/// must be seen, and a snapshot re-blessed on purpose (README: Gas).
pub const GAS_TOLERANCE_PCT: u32 = 1;

/// `forge snapshot --check --tolerance N` over [`GAS_TESTS`]; every test is one result, a path
/// outside the tolerance or missing from the snapshot one failure.
fn gas_snapshot(toolchain: &Toolchain) -> anyhow::Result<Tally> {
    let profile = if shell::is_ci() { "ci" } else { "default" };
    let output = crate::signals::output_as_is(
        toolchain
            .command(Tool::Forge)
            .args(["snapshot", "--match-path", GAS_TESTS, "--check"])
            .arg(".gas-snapshot")
            .args(["--tolerance", &GAS_TOLERANCE_PCT.to_string()])
            .env("FOUNDRY_PROFILE", profile),
    )
    .context("starting forge snapshot")?;
    crate::signals::check()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let ran = text.lines().filter(|l| l.starts_with("[PASS]")).count() as u64;
    let off: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Diff in") || l.starts_with("No matching snapshot entry"))
        .collect();
    for line in &off {
        shell::line(format!("  {} {line}", shell::verdict(false)));
    }
    if output.status.success() {
        return Ok(Tally {
            passed: ran,
            ..Tally::default()
        });
    }
    if off.is_empty() {
        shell::line(text.trim_end());
        shell::error(format!("forge snapshot failed ({})", output.status));
    } else {
        shell::line(format!(
            "  fix: if the change is intended, re-bless with `cargo xtask forge -- snapshot --match-path {GAS_TESTS}` and commit .gas-snapshot"
        ));
    }
    let failed = (off.len() as u64).max(1);
    Ok(Tally {
        passed: ran.saturating_sub(failed),
        failed,
        skipped: 0,
    })
}

/// Run the real `chaos` command of this binary and count its report's experiments.
fn chaos_run(project: &Project) -> anyhow::Result<Tally> {
    let report_dir = project.root().join("reports").join("test-e2e");
    let status = match crate::signals::status_as_is(
        crate::project::self_command(project)
            // The suite's own report directory, replaced on every run.
            .args(["chaos", "--days", "1", "--force", "--report-dir"])
            .arg(&report_dir)
            .stdin(Stdio::null()),
    ) {
        Ok(status) => status,
        Err(err) => {
            shell::error(format!("could not start cargo xtask chaos: {err}"));
            return Ok(Tally {
                failed: 1,
                ..Tally::default()
            });
        }
    };
    crate::signals::check()?;
    let path = report_dir.join("report.json");
    if !path.is_file() {
        shell::error(format!(
            "cargo xtask chaos exited with {status} and wrote no report"
        ));
        return Ok(Tally {
            failed: 1,
            ..Tally::default()
        });
    }
    let report = match crate::report::Report::read(&path) {
        Ok(report) => report,
        Err(err) => {
            shell::error(format!("cargo xtask chaos exited with {status}: {err}"));
            return Ok(Tally {
                failed: 1,
                ..Tally::default()
            });
        }
    };
    let totals = &report.totals;
    let tally = Tally {
        passed: totals.held,
        failed: totals.disproved + totals.errors,
        skipped: 0,
    };
    if !status.success() && tally.failed == 0 {
        shell::error(format!(
            "cargo xtask chaos exited with {status} although every experiment held"
        ));
        return Ok(Tally { failed: 1, ..tally });
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_result_lines_are_counted() {
        let line = "test result: FAILED. 12 passed; 2 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.52s";
        assert_eq!(
            parse_cargo_result(line),
            Some(Tally {
                passed: 12,
                failed: 2,
                skipped: 3
            })
        );
        assert_eq!(parse_cargo_result("running 3 tests"), None);
    }

    #[test]
    fn forge_report_counts_every_status() {
        let json = r#"{"test/A.t.sol:A":{"duration":"1ms","test_results":{
            "test_a()":{"status":"Success","reason":null,"counterexample":null,"decoded_logs":[]},
            "test_b()":{"status":"Failure","reason":"boom","counterexample":null,"decoded_logs":["x"]},
            "test_c()":{"status":"Skipped","reason":null,"counterexample":null,"decoded_logs":[]}},
            "warnings":[]}}"#;
        let report =
            parse_forge_report(&format!("Compiling...\n{}\n", json.replace('\n', ""))).unwrap();
        assert_eq!(
            tally_forge(&report),
            Tally {
                passed: 1,
                failed: 1,
                skipped: 1
            }
        );
    }

    #[test]
    fn summary_line_has_the_ci_form() {
        let tally = Tally {
            passed: 3,
            failed: 0,
            skipped: 0,
        };
        assert_eq!(tally.summary_line(), "3 passed, 0 failed");
        let tally = Tally {
            passed: 3,
            failed: 1,
            skipped: 2,
        };
        assert_eq!(tally.summary_line(), "3 passed, 1 failed, 2 skipped");
    }
}

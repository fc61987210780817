//! The smaller measurements: a recorded run replayed, the probe against an endpoint that never
//! answers, the gas of the `cycle()` paths, peak memory and the machine.

use super::chaos_run::{ratio, timed_chaos};
use super::{ms, Probe, ReplayBench};
use crate::project::Project;
use crate::rpc::redact::Redacted;
use crate::shell;
use crate::toolchain::{Tool, Toolchain};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `chaos --days 1 --record DIR` (chain built, history played, every experiment at the four
/// landmark blocks) against `chaos --days 1 --replay DIR`, both through the real command.
pub(super) fn replay_bench(project: &Project, out_dir: &Path) -> anyhow::Result<ReplayBench> {
    shell::status(
        "Measuring",
        "a recorded run on the live local chain, then its replay",
    );
    let recording = out_dir.join("recording");
    let _ = std::fs::remove_dir_all(&recording);
    let recording_arg = recording.display().to_string();
    let (live, live_report) = timed_chaos(
        project,
        out_dir,
        "replay-live",
        &["--days", "1", "--record", &recording_arg],
        false,
    )?;
    let (replayed, replayed_report) = timed_chaos(
        project,
        out_dir,
        "replay-replayed",
        &["--days", "1", "--replay", &recording_arg],
        false,
    )?;
    // Every experiment's outcome must be the same (the rest of the report says where the
    // answers came from).
    let outcomes = |report: &crate::report::Report| -> Vec<crate::report::Experiment> {
        report
            .blocks
            .iter()
            .flat_map(|b| &b.experiments)
            .map(|e| crate::report::Experiment {
                duration_ms: 0,
                ..e.clone()
            })
            .collect()
    };
    let identical = outcomes(&live_report) == outcomes(&replayed_report);
    let manifest: crate::rpc::record::Manifest = serde_json::from_str(&std::fs::read_to_string(
        recording.join(crate::rpc::record::MANIFEST),
    )?)?;
    let blocks = manifest.pinned.len().max(1);
    Ok(ReplayBench {
        live_wall_ms: ms(live),
        replay_wall_ms: ms(replayed),
        speedup: ratio(live, replayed),
        pinned_blocks: manifest.pinned.len(),
        answers: manifest.answers,
        compressed_bytes: manifest.compressed_bytes,
        bytes_per_pinned_block: manifest.compressed_bytes / blocks as u64,
        identical,
    })
}

/// `rpc-probe --timeout 1s` against a listener that accepts connections and never answers.
pub(super) fn probe_never_answering() -> anyhow::Result<Probe> {
    shell::status(
        "Measuring",
        "rpc-probe against an endpoint that never answers",
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Ok(mut list) = keep.lock() {
                list.push(stream);
            }
        }
    });
    // In process: the probe's own time, without a process start-up in front of it.
    let settings = crate::rpc::probe::ProbeSettings {
        endpoint: Redacted::parse(&format!("http://127.0.0.1:{port}/"), "the silent endpoint")?,
        expect_chain_id: 56,
        fork_block: None,
        samples: 10,
        timeout: Duration::from_secs(1),
        max_head_age: Duration::from_secs(60),
    };
    let runtime = crate::runtime::shared()?;
    let started = Instant::now();
    let report = runtime.block_on(crate::rpc::probe::probe(&settings))?;
    let wall = started.elapsed();
    // Eight checks of one timeout each, plus a second.
    Ok(Probe {
        wall_ms: ms(wall),
        bound_ms: 8 * 1000 + 1000,
        verdict: report.verdict.as_str().to_owned(),
    })
}

/// Gas of each `cycle()` path from the vault's `test_gas_*` tests.
pub(super) fn cycle_gas(toolchain: &Toolchain) -> anyhow::Result<Vec<(String, u64)>> {
    shell::status(
        "Measuring",
        "gas of every cycle() path (forge test --match-test test_gas_)",
    );
    let output = crate::signals::output(
        toolchain
            .command(Tool::Forge)
            .args(["test", "--match-test", "test_gas_", "--json"])
            .stdin(Stdio::null()),
    )?;
    let report = crate::suite::parse_forge_report(&String::from_utf8_lossy(&output.stdout))?;
    let mut gas = Vec::new();
    for suite in report.values() {
        for (name, test) in &suite.test_results {
            if let Some(units) = test
                .kind
                .as_ref()
                .and_then(|k| k.get("Unit"))
                .and_then(|u| u.get("gas"))
                .and_then(|g| g.as_u64())
            {
                gas.push((
                    name.trim_end_matches("()")
                        .trim_start_matches("test_gas_")
                        .to_owned(),
                    units,
                ));
            }
        }
    }
    gas.sort();
    Ok(gas)
}

/// Maximum resident set of this process (not its children), in MB.
pub(super) fn peak_rss_mb() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
            return usage.ru_maxrss as f64 / 1024.0;
        }
    }
    0.0
}

pub(super) fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    format!("{cpus} cores, {model}, {mem}")
}

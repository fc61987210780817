//! One cancellation path, tested from outside: `cargo xtask chaos` is interrupted with SIGINT
//! or SIGTERM in each phase of a run (compile, chain build, history, in-EVM batch, live-fork,
//! report). Every time it must exit 130 / 143, leave no process of its tree or of any process
//! group it started (forge's solc-js shim and node included), no scratch in its TMPDIR, nothing
//! outside its report directory, and a report directory that holds either nothing or a report
//! marked `interrupted`.
//!
//! `XTASK_INTERRUPT_ROUNDS=N` repeats every phase N times (default 1) and prints a table; the
//! closing note of issue 11 runs it with 10. A SIGKILLed xtask is covered too: its anvil dies
//! with it (parent-death signal) and the next xtask removes its scratch.

use crate::support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    xtask::project::Project::locate().root().to_path_buf()
}

fn xtask() -> Command {
    let mut cmd = support::xtask();
    // Every phase of a cold build is interrupted here (a cached chain skips them).
    cmd.env("XTASK_CHAIN_CACHE", "off");
    cmd
}

/// (pid, ppid, pgid, state, comm) of every process, from /proc.
fn processes() -> Vec<(u32, u32, u32, char, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head
            .split_once('(')
            .map(|(_, c)| c)
            .unwrap_or("")
            .to_owned();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(ppid), Some(pgid)) = (
            fields.first().and_then(|s| s.chars().next()),
            fields.get(1).and_then(|p| p.parse().ok()),
            fields.get(2).and_then(|p| p.parse().ok()),
        ) else {
            continue;
        };
        out.push((pid, ppid, pgid, state, comm));
    }
    out
}

/// Every descendant of `pid` (pid, pgid, comm).
fn descendants(pid: u32) -> Vec<(u32, u32, String)> {
    let all = processes();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (p, pp, pg, _, comm) in &all {
            if *pp == parent {
                found.push((*p, *pg, comm.clone()));
                frontier.push(*p);
            }
        }
    }
    found
}

/// Live (not zombie) processes among `pids` or in the groups `pgids`. The test's own group is
/// left out: the xtask runs in it, and so does a child between its fork and its `setpgid`.
fn left_over(pids: &BTreeSet<u32>, pgids: &BTreeSet<u32>) -> Vec<String> {
    // SAFETY: getpgrp(2) only reads.
    let own = unsafe { libc::getpgrp() } as u32;
    processes()
        .into_iter()
        .filter(|(p, _, pg, state, _)| {
            *state != 'Z'
                && *state != 'X'
                && (pids.contains(p) || (pgids.contains(pg) && *pg != own))
        })
        .map(|(p, _, pg, state, comm)| format!("{comm} (pid {p}, group {pg}, {state})"))
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Compile,
    Chain,
    History,
    InEvm,
    LiveFork,
    Report,
}

impl Phase {
    const ALL: [Phase; 6] = [
        Phase::Compile,
        Phase::Chain,
        Phase::History,
        Phase::InEvm,
        Phase::LiveFork,
        Phase::Report,
    ];

    fn name(self) -> &'static str {
        match self {
            Phase::Compile => "compile",
            Phase::Chain => "chain build",
            Phase::History => "history",
            Phase::InEvm => "in-EVM batch",
            Phase::LiveFork => "live-fork",
            Phase::Report => "report",
        }
    }
}

/// What one interrupted run left.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    processes: Vec<String>,
    scratch: Vec<String>,
    report: String,
    outside: Vec<String>,
    stderr: String,
}

impl Outcome {
    fn clean(&self, want: i32) -> bool {
        self.code == Some(want)
            && self.processes.is_empty()
            && self.scratch.is_empty()
            && self.outside.is_empty()
            && !self.report.starts_with("UNMARKED")
    }
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path);
            }
        }
    }
    out
}

/// What the report directory holds: nothing, or a report marked interrupted.
fn judge_report(dir: &Path) -> String {
    if !dir.exists() {
        return "none".into();
    }
    let report = dir.join("report.json");
    let parts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    if !parts.is_empty() {
        return format!("UNMARKED: half-written files {parts:?}");
    }
    let Ok(text) = std::fs::read_to_string(&report) else {
        for name in ["junit.xml", "summary.md"] {
            if dir.join(name).exists() {
                return format!("UNMARKED: {name} without report.json");
            }
        }
        return "UNMARKED: a report directory without a report".into();
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap_or_default();
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default();
    match &json["interrupted"] {
        serde_json::Value::Object(stop) if json["verdict"] == "interrupted" => {
            let finished = stop["finished"].as_u64().unwrap_or(0);
            let listed: u64 = json["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["experiments"].as_array().unwrap().len() as u64)
                .sum();
            let invented = json["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|b| b["experiments"].as_array().unwrap().iter())
                .any(|e| {
                    e["error"]
                        .as_str()
                        .is_some_and(|m| m.contains("signal") || m.contains("did not start"))
                });
            if finished != listed || invented || !summary.contains("Interrupted by") {
                return format!("UNMARKED: inconsistent interrupted report ({finished} vs {listed}, invented {invented})");
            }
            let _ = junit;
            format!("interrupted report ({finished} finished)")
        }
        _ => "UNMARKED: a report without `interrupted`".into(),
    }
}

/// Start a run for `phase`, interrupt it there with `signal`, and look at what it left.
fn interrupt(phase: Phase, signal: i32, round: usize) -> Outcome {
    support::contracts_built();
    let root = root();
    let scratch = tempfile::tempdir().unwrap();
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let name = format!(
        "test-interrupt-{}-{round}-{}",
        phase.name().replace([' ', '-'], "_"),
        std::process::id()
    );
    let report_dir = root.join("reports").join(&name);
    let _ = std::fs::remove_dir_all(&report_dir);
    let broadcast_before = files_in(&root.join("broadcast"));
    let mut cmd = xtask();
    cmd.env("TMPDIR", &tmp).args([
        "chaos",
        "--days",
        "1",
        "--fork-block",
        "336",
        "--report-dir",
    ]);
    cmd.arg(&report_dir);
    match phase {
        Phase::Compile => {
            // A compile from nothing (its own out/ and cache): solc-js in node for a while.
            cmd.env("FOUNDRY_OUT", scratch.path().join("out"))
                .env("FOUNDRY_CACHE_PATH", scratch.path().join("cache"));
        }
        Phase::LiveFork => {
            cmd.args(["--engine", "live-fork"]);
        }
        Phase::Report => {
            cmd.args(["--engine", "in-evm", "--scenario", "gas_spike"])
                .env("XTASK_TEST_PAUSE_AT", "report");
        }
        _ => {}
    }
    let mut child: Child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    // Wait for the phase, recording every process of the tree as it appears.
    let (mut pids, mut pgids) = (BTreeSet::new(), BTreeSet::new());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut armed: Option<Instant> = None;
    loop {
        assert!(
            Instant::now() < deadline,
            "{}: the run never reached its phase:\n{seen}",
            phase.name()
        );
        while let Ok(line) = rx.try_recv() {
            seen.push_str(&line);
            seen.push('\n');
        }
        let tree = descendants(pid);
        for (p, pg, _) in &tree {
            pids.insert(*p);
            pgids.insert(*pg);
        }
        let has = |name: &str| tree.iter().any(|(_, _, c)| c.contains(name));
        let anvils = tree.iter().filter(|(_, _, c)| c == "anvil").count();
        let ready = match phase {
            Phase::Compile => has("node") || has("solc"),
            Phase::Chain => seen.contains("Deploying the BSC replica") && has("forge"),
            Phase::History => seen.contains("Deployed in"),
            Phase::InEvm => seen.contains("Forking block") && has("forge"),
            Phase::LiveFork => seen.contains("Forking block") && anvils >= 2,
            Phase::Report => seen.contains("paused at report"),
        };
        if ready && armed.is_none() {
            // Well inside the phase (a forge script, a history of ~10 s, a keeper run).
            let wait = match phase {
                Phase::History | Phase::InEvm | Phase::LiveFork => 1500,
                _ => 300,
            };
            armed = Some(Instant::now() + Duration::from_millis(wait));
        }
        if armed.is_some_and(|at| Instant::now() >= at) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{}: the run ended ({status}) before its phase:\n{seen}",
                phase.name()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // One last look at the tree, then the signal.
    for (p, pg, _) in descendants(pid) {
        pids.insert(p);
        pgids.insert(pg);
    }
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    // Children are ended before the xtask exits; give the kernel a moment to reap orphans.
    let mut processes = left_over(&pids, &pgids);
    let settle = Instant::now() + Duration::from_secs(3);
    while !processes.is_empty() && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
        processes = left_over(&pids, &pgids);
    }
    let scratch_left: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let report = judge_report(&report_dir);
    let mut outside: Vec<String> = files_in(&root.join("broadcast"))
        .difference(&broadcast_before)
        .map(|p| p.display().to_string())
        .collect();
    for (dir, prefix) in [
        ("deployments/local", format!("run-{pid}-")),
        ("reports/.address-books", format!("book-{pid}-")),
    ] {
        for entry in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                outside.push(entry.path().display().to_string());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&report_dir);
    Outcome {
        code: status.code(),
        processes,
        scratch: scratch_left,
        report,
        outside,
        stderr,
    }
}

fn rounds() -> usize {
    std::env::var("XTASK_INTERRUPT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

#[test]
fn an_interrupt_in_any_phase_exits_130_or_143_and_leaves_nothing_behind() {
    let rounds = rounds();
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (i, phase) in Phase::ALL.iter().enumerate() {
        let mut row = (
            phase.name(),
            0usize,
            0usize,
            Vec::new(),
            0usize,
            0usize,
            0usize,
            Vec::new(),
        );
        for round in 0..rounds {
            // Both signals in every phase over the rounds (alternating; one round alternates
            // across phases).
            let signal = if (round + i) % 2 == 0 {
                libc::SIGINT
            } else {
                libc::SIGTERM
            };
            let want = 128 + signal;
            let outcome = interrupt(*phase, signal, round);
            if signal == libc::SIGINT {
                row.1 += 1;
            } else {
                row.2 += 1;
            }
            row.3
                .push(outcome.code.map_or("none".into(), |c| c.to_string()));
            row.4 += outcome.processes.len();
            row.5 += outcome.scratch.len();
            row.6 += outcome.outside.len();
            row.7.push(outcome.report.clone());
            if !outcome.clean(want) {
                let tail: Vec<&str> = outcome.stderr.lines().rev().take(12).collect();
                failures.push(format!(
                    "{} round {round} (signal {signal}): exit {:?}, processes {:?}, scratch {:?}, outside {:?}, report {}\nstderr, newest first:\n{}",
                    phase.name(),
                    outcome.code,
                    outcome.processes,
                    outcome.scratch,
                    outcome.outside,
                    outcome.report,
                    tail.join("\n")
                ));
            }
        }
        table.push(row);
    }
    println!("| phase | SIGINT | SIGTERM | exit codes | processes left | scratch left | files outside | report directory |");
    println!("| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |");
    for (phase, int, term, codes, procs, scratch, outside, reports) in &table {
        let mut kinds: Vec<String> = reports
            .iter()
            .map(|r| {
                if r == "none" {
                    "none".into()
                } else if r.starts_with("interrupted report") {
                    "marked interrupted".into()
                } else {
                    r.clone()
                }
            })
            .collect();
        kinds.sort();
        kinds.dedup();
        println!(
            "| {phase} | {int} | {term} | {} | {procs} | {scratch} | {outside} | {} |",
            codes.join(" "),
            kinds.join(", ")
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_sigkilled_xtask_takes_its_anvil_along_and_the_next_one_removes_its_scratch() {
    support::contracts_built();
    let scratch = tempfile::tempdir().unwrap();
    let report_dir = root()
        .join("reports")
        .join(format!("test-sigkill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&report_dir);
    let mut child = xtask()
        .env("TMPDIR", scratch.path())
        .args([
            "chaos",
            "--days",
            "1",
            "--fork-block",
            "336",
            "--report-dir",
        ])
        .arg(&report_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref().map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("Deployed in") {
            break;
        }
    }
    assert!(seen.contains("Deployed in"), "{seen}");
    let anvils: Vec<u32> = descendants(pid)
        .into_iter()
        .filter(|(_, _, c)| c == "anvil")
        .map(|(p, _, _)| p)
        .collect();
    assert!(!anvils.is_empty(), "no anvil under the xtask");
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = Instant::now() + Duration::from_secs(5);
    let pids: BTreeSet<u32> = anvils.iter().copied().collect();
    while !left_over(&pids, &BTreeSet::new()).is_empty() && Instant::now() < gone {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        left_over(&pids, &BTreeSet::new()).is_empty(),
        "anvil outlived the SIGKILLed xtask"
    );
    // Its home is still there (nobody could remove it) ...
    let homes = || -> Vec<String> {
        std::fs::read_dir(scratch.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("xtask-anvil-"))
            .collect()
    };
    assert!(!homes().is_empty());
    // ... until the next xtask starts (even one that does nothing but refuse its input).
    let status = xtask()
        .env("TMPDIR", scratch.path())
        .args(["chaos", "--fresh-vault", "--engine", "in-evm"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(homes().is_empty(), "{:?}", homes());
    let _ = std::fs::remove_dir_all(&report_dir);
}

/// Run `args` until `ready(stderr so far, process tree)` holds, send `signal`, and return the
/// exit code and the processes of its tree and groups still alive a moment later.
fn interrupt_command(
    args: &[&str],
    tmp: &Path,
    ready: impl Fn(&str, &[(u32, u32, String)]) -> bool,
    signal: i32,
) -> (Option<i32>, Vec<String>, String) {
    let mut child = xtask()
        .env("TMPDIR", tmp)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let (mut pids, mut pgids) = (BTreeSet::new(), BTreeSet::new());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        assert!(
            Instant::now() < deadline,
            "{args:?} never got ready:\n{seen}"
        );
        while let Ok(line) = rx.try_recv() {
            seen.push_str(&line);
            seen.push('\n');
        }
        let tree = descendants(pid);
        for (p, pg, _) in &tree {
            pids.insert(*p);
            pgids.insert(*pg);
        }
        if ready(&seen, &tree) {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "{args:?} ended before it was ready:\n{seen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    let mut left = left_over(&pids, &pgids);
    let settle = Instant::now() + Duration::from_secs(3);
    while !left.is_empty() && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
        left = left_over(&pids, &pgids);
    }
    (status.code(), left, stderr)
}

/// `cargo xtask chain` has the same path: interrupted while it builds, and when it serves.
#[test]
fn cargo_xtask_chain_stops_the_same_way_while_building_and_while_serving() {
    support::contracts_built();
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("chain");
    let out = out.to_str().unwrap();
    type Ready = fn(&str, &[(u32, u32, String)]) -> bool;
    let cases: [(i32, Ready); 2] = [
        (libc::SIGINT, |seen, _| seen.contains("Deployed in")),
        (libc::SIGTERM, |seen, _| seen.contains("Serving")),
    ];
    for (signal, ready) in cases {
        let (code, left, stderr) = interrupt_command(
            &["chain", "--days", "1", "--port", "0", "--out", out],
            scratch.path(),
            ready,
            signal,
        );
        assert_eq!(code, Some(128 + signal), "{stderr}");
        assert!(left.is_empty(), "left running: {left:?}");
        let homes: Vec<_> = std::fs::read_dir(scratch.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("xtask-"))
            .collect();
        assert!(homes.is_empty(), "{homes:?}");
    }
}

/// The passthrough: the tool runs in its own group and ends with the xtask.
#[test]
fn the_anvil_passthrough_ends_with_the_xtask() {
    let scratch = tempfile::tempdir().unwrap();
    let (code, left, stderr) = interrupt_command(
        &["anvil", "--", "--port", "0"],
        scratch.path(),
        |_, tree| tree.iter().any(|(_, _, c)| c == "anvil"),
        libc::SIGTERM,
    );
    assert_eq!(code, Some(143), "{stderr}");
    assert!(left.is_empty(), "left running: {left:?}");
}

//! Every `cargo xtask` invocation written in the GitHub workflows parses with the real
//! command-line parser, so a renamed flag breaks this test instead of the nightly run.

use clap::Parser as _;
use xtask::cli::Cli;

/// Replace `${{ ... }}` expressions with a value the flag accepts.
fn substitute(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .map(|e| start + e + 2)
            .unwrap_or(rest.len());
        let expr = &rest[start..end];
        out.push_str(if expr.contains("count") { "2" } else { "1" });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace()
        .map(|w| w.trim_matches('"').to_owned())
        .filter(|w| !w.is_empty() && w != "${args[@]}")
        .collect()
}

#[test]
fn every_xtask_invocation_in_the_workflows_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // Optional arguments assembled in bash (`args+=(...)`), each tried with every invocation.
        let extras: Vec<Vec<String>> = text
            .lines()
            .filter_map(|l| {
                l.split_once("args+=(")
                    .and_then(|(_, r)| r.split(')').next())
            })
            .map(|a| {
                words(
                    &a.replace("\"$FORK_BLOCK\"", "100")
                        .replace("\"$WINDOW\"", "100..200")
                        .replace("\"$STEP\"", "6h")
                        .replace("\"$id\"", "gas_spike"),
                )
            })
            .collect();
        for line in text.lines() {
            // Step names mention commands too; only `run:` lines and script lines invoke them.
            if line.trim_start().starts_with("- name:") || line.trim_start().starts_with("name:") {
                continue;
            }
            let Some(at) = line.find("cargo xtask ") else {
                continue;
            };
            let command = line[at + "cargo xtask ".len()..]
                .split(['>', '|'])
                .next()
                .unwrap();
            let base = words(&substitute(command));
            let mut variants = vec![base.clone()];
            if line.contains("${args[@]}") {
                variants.extend(extras.iter().map(|e| [base.clone(), e.clone()].concat()));
            }
            for args in variants {
                let argv = std::iter::once("cargo xtask".to_owned()).chain(args.iter().cloned());
                if let Err(err) = Cli::try_parse_from(argv) {
                    panic!(
                        "{}: `cargo xtask {}` does not parse:\n{err}",
                        path.display(),
                        args.join(" ")
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} invocations found");
}

/// The first major of each action that runs on Node.js 24: GitHub removes the node20 runtime
/// (September 2026), and an action below these majors stops working with it.
const NODE24_MAJORS: [(&str, u32); 5] = [
    ("actions/checkout", 5),
    ("actions/setup-node", 5),
    ("actions/cache", 5),
    ("actions/upload-artifact", 6),
    ("actions/download-artifact", 7),
];

#[test]
fn no_workflow_uses_an_action_on_the_removed_node20_runtime() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(uses) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            let (action, version) = uses.trim().split_once('@').unwrap_or((uses.trim(), ""));
            let Some((_, minimum)) = NODE24_MAJORS.iter().find(|(a, _)| *a == action) else {
                continue;
            };
            let major: u32 = version
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or_else(|| {
                    panic!(
                        "{}:{}: `{action}@{version}` is not a major version",
                        path.display(),
                        n + 1
                    )
                });
            assert!(
                major >= *minimum,
                "{}:{}: {action}@{version} runs on node20; use v{minimum} or later",
                path.display(),
                n + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} actions found");
}

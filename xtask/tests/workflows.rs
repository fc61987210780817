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

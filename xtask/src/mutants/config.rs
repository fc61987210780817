//! `mutants.toml`: the defaults of `cargo xtask mutants` and the equivalent mutants reviewed by
//! hand, each matched by its stable id and checked against the source it was reviewed on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::generate::Mutant;
use crate::error::Unusable;

pub const FILE: &str = "mutants.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub defaults: Defaults,
    #[serde(default, rename = "equivalent")]
    pub equivalents: Vec<Equivalent>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Mutation score (percent) below which the run exits 1.
    pub min_score: f64,
    /// What is mutated when `--path` is not given.
    pub paths: Vec<String>,
    /// How long one mutant may run at one block (`--timeout`).
    pub timeout: String,
    /// Vaults per forge process (`--batch`).
    pub batch: usize,
}

/// A mutant reviewed as equivalent: no reachable behaviour of the vault changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivalent {
    pub id: String,
    pub file: String,
    pub function: String,
    /// The source text the mutant replaces and its replacement, as reviewed.
    pub original: String,
    pub replacement: String,
    /// The line(s) the change is on, whitespace collapsed, as reviewed.
    pub context: String,
    pub reason: String,
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, Unusable> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", path.display()),
                format!("run from the repository, which has {FILE}, or pass --config"),
            )
        })?;
        Self::parse(&text).map_err(|cause| Unusable::new(format!("{}: {cause}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| {
            e.to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })?;
        if !(0.0..=100.0).contains(&config.defaults.min_score) {
            return Err(format!(
                "defaults.min_score = {} is not a percentage",
                config.defaults.min_score
            ));
        }
        if config.defaults.batch == 0 {
            return Err("defaults.batch must be at least 1".into());
        }
        parse_duration(&config.defaults.timeout).map_err(|e| format!("defaults.timeout: {e}"))?;
        let mut ids = BTreeSet::new();
        for e in &config.equivalents {
            if !ids.insert(e.id.as_str()) {
                return Err(format!("equivalent `{}` is listed twice", e.id));
            }
            if e.reason.trim().is_empty() || e.reason.contains('\n') {
                return Err(format!("equivalent `{}` needs a one-line reason", e.id));
            }
        }
        Ok(config)
    }

    /// The reviewed reason of every equivalent mutant among `mutants`. An entry for a file in
    /// `files` (what this run mutates) that no longer matches a mutant is stale: an error,
    /// because the code it was reviewed on changed.
    pub fn match_equivalents(
        &self,
        mutants: &[Mutant],
        files: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, String>, Unusable> {
        let by_id: BTreeMap<&str, &Mutant> = mutants.iter().map(|m| (m.id.as_str(), m)).collect();
        let mut out = BTreeMap::new();
        let mut stale = Vec::new();
        for e in &self.equivalents {
            if !files.contains(&e.file) {
                continue;
            }
            match by_id.get(e.id.as_str()) {
                Some(m)
                    if m.file == e.file
                        && qualified(m) == e.function
                        && m.original == e.original
                        && m.replacement == e.replacement
                        && m.context == e.context =>
                {
                    out.insert(e.id.clone(), e.reason.clone());
                }
                Some(m) => stale.push(format!(
                    "`{}` is now {} ({}:{} `{}` -> `{}` on `{}`), reviewed as {} `{}` -> `{}` on `{}`",
                    e.id,
                    qualified(m),
                    m.file,
                    m.line,
                    m.original,
                    m.replacement,
                    m.context,
                    e.function,
                    e.original,
                    e.replacement,
                    e.context
                )),
                None => stale.push(format!(
                    "`{}` ({} in {}: `{}` -> `{}`) matches no mutant of the current source",
                    e.id, e.function, e.file, e.original, e.replacement
                )),
            }
        }
        if stale.is_empty() {
            Ok(out)
        } else {
            Err(Unusable::with_fix(
                format!(
                    "{FILE}: {} stale equivalent(s): {}",
                    stale.len(),
                    stale.join("; ")
                ),
                "the code changed since the review: review the mutant again (`cargo xtask mutants --list`) and update or remove the entry",
            ))
        }
    }
}

/// `Contract.function`, as the reviewed file names it.
pub fn qualified(m: &Mutant) -> String {
    if m.contract.is_empty() {
        m.function.clone()
    } else {
        format!("{}.{}", m.contract, m.function)
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| format!("`{text}`: {e}"))?;
    if d.is_zero() {
        return Err(format!("`{text}` must be longer than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutants::generate::mutants_of;

    const SOURCE: &str = "pragma solidity ^0.8.24;\ncontract C {\n    function f(uint256 a) external pure returns (uint256) {\n        return a + 1;\n    }\n}\n";

    fn config(extra: &str) -> String {
        format!(
            "[defaults]\nmin_score = 80.0\npaths = [\"contracts/vault\"]\ntimeout = \"120s\"\nbatch = 4\n{extra}"
        )
    }

    #[test]
    fn reviewed_equivalents_match_by_id_and_source() {
        let ms = mutants_of("src/C.sol", SOURCE).unwrap();
        let m = ms
            .iter()
            .find(|m| m.original == "+")
            .expect("an arithmetic mutant");
        let entry = format!(
            "[[equivalent]]\nid = \"{}\"\nfile = \"src/C.sol\"\nfunction = \"C.f\"\noriginal = \"+\"\nreplacement = \"-\"\ncontext = \"return a + 1;\"\nreason = \"test\"\n",
            m.id
        );
        let c = Config::parse(&config(&entry)).unwrap();
        let files: BTreeSet<String> = ["src/C.sol".to_owned()].into();
        let matched = c.match_equivalents(&ms, &files).unwrap();
        assert_eq!(matched.get(&m.id).map(String::as_str), Some("test"));
        // The reviewed line changed (the id, from the operator and the function, did not):
        // the entry is stale.
        let edited = SOURCE.replace("a + 1", "a + 2");
        let ms2 = mutants_of("src/C.sol", &edited).unwrap();
        let err = c.match_equivalents(&ms2, &files).unwrap_err();
        assert!(err.cause.contains("stale"), "{}", err.cause);
        // Out of this run's scope: not checked.
        assert!(c.match_equivalents(&ms2, &BTreeSet::new()).is_ok());
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(Config::parse(
            "[defaults]\nmin_score = 180.0\npaths = []\ntimeout = \"1s\"\nbatch = 1\n"
        )
        .unwrap_err()
        .contains("percentage"));
        assert!(Config::parse(&config("[[equivalent]]\nid = \"a\"\nfile = \"f\"\nfunction = \"g\"\noriginal = \"x\"\nreplacement = \"y\"\ncontext = \"x;\"\nreason = \"\"\n"))
            .unwrap_err()
            .contains("one-line reason"));
        assert!(Config::parse(&config("unknown = 1\n")).is_err());
        assert!(Config::parse(
            "[defaults]\nmin_score = 80.0\npaths = []\ntimeout = \"soon\"\nbatch = 1\n"
        )
        .is_err());
    }
}

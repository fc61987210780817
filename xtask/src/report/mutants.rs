//! `mutants.json` as the reports hold it (schema: `schemas/mutants.schema.json`): made by
//! [`crate::mutants`], read back by its `merge` and by the report page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A hypothesis was disproved, or a scenario crashed, against this mutant.
    Killed,
    /// Every experiment held.
    Survived,
    /// The suite did not finish within `--timeout` (and nothing killed it before).
    TimedOut,
    /// Identical bytecode, or reviewed as equivalent in mutants.toml: not run, not scored.
    Equivalent,
    /// The mutated source does not compile: dropped.
    NotCompiled,
    /// The tools failed (forge, RPC): says nothing about the mutant.
    Error,
}

/// One experiment's verdict against one mutant, over every pinned block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    Held,
    Error,
    TimedOut,
    Reverted,
    Disproved,
}

/// A non-held verdict at one block, with what it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub block: u64,
    pub experiment: String,
    pub cell: Cell,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MutantRecord {
    pub id: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub contract: String,
    pub function: String,
    pub operator: String,
    pub original: String,
    pub replacement: String,
    pub diff: String,
    pub status: Status,
    /// Why it is equivalent, why it did not compile, or what failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Experiments whose verdict killed it (disproved or reverted at some block).
    #[serde(default)]
    pub killed_by: Vec<String>,
    /// Experiment -> verdict over all blocks (empty when it was not run).
    #[serde(default)]
    pub matrix: BTreeMap<String, Cell>,
    #[serde(default)]
    pub details: Vec<Detail>,
    /// Wall time of its compilation (ms).
    #[serde(default)]
    pub compile_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockInfo {
    pub number: u64,
    pub hash: String,
    pub timestamp: u64,
    pub label: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardInfo {
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MutantTotals {
    /// Every mutant of the mutated files.
    pub generated: u64,
    /// Those this run (or these shards) took on.
    pub selected: u64,
    pub compiled: u64,
    pub not_compiled: u64,
    /// Identical bytecode to the clean vault.
    pub equivalent_bytecode: u64,
    /// Reviewed in mutants.toml.
    pub equivalent_reviewed: u64,
    pub killed: u64,
    pub survived: u64,
    pub timed_out: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExperimentKills {
    pub id: String,
    /// Mutants it killed (a disproved check or a crash at some block).
    pub kills: u64,
    /// Of those, by a disproved check.
    pub by_check: u64,
    /// Mutants no other experiment killed.
    pub sole_kills: u64,
}

/// Wall times, for the bench and for users sizing a nightly job.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    /// The clean vault's suite at every pinned block (the warm in-EVM suite).
    pub clean_suite_ms: u64,
    /// Building the local chain and its history (once per run).
    pub chain_ms: u64,
    /// Compiling the clean vault and every mutant.
    pub compile_ms: u64,
    /// From the first mutant's compilation to the last mutant's verdict.
    pub mutants_ms: u64,
    /// `mutants_ms` per mutant that ran (0 when none did).
    pub per_mutant_ms: u64,
    /// Upstream JSON-RPC requests of every fork, and per mutant that ran.
    pub upstream_requests: u64,
    pub jobs: u64,
    pub batch: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MutantsReport {
    pub schema_version: u32,
    pub run_id: String,
    pub tool_version: String,
    pub started_at: u64,
    pub duration_ms: u64,
    pub seed: u64,
    pub days: u32,
    pub engine: String,
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    pub timeout_ms: u64,
    pub min_score: f64,
    /// Whether every stage ran for every mutant (otherwise a kill ends a mutant's run).
    pub full_matrix: bool,
    pub blocks: Vec<BlockInfo>,
    /// The matrix's columns, in catalogue order.
    pub experiments: Vec<String>,
    pub timing: Timing,
    pub totals: MutantTotals,
    /// Percent; absent when no mutant was scored.
    #[serde(default)]
    pub score: Option<f64>,
    /// `met`, `below` (the score is under min_score) or `error` (mutants could not be run).
    pub verdict: String,
    pub per_experiment: Vec<ExperimentKills>,
    pub mutants: Vec<MutantRecord>,
}

//! The pipeline: mutants compiled in scratch copies of the project while earlier batches run, so
//! that compiling and judging overlap.

use super::compile::{CompileOutcome, Compiled, Solc};
use super::generate::Mutant;
use super::report::{Cell, Detail, MutantRecord, Status};
use super::run::{BatchOutcome, Runner, ScenarioVerdict};
use super::MutantCatalogue;
use super::{compile, elapsed_ms, generate, live, relative, report, verdict_text};
use crate::chaos::pin::PinnedBlock;
use crate::project::Project;
use crate::shell;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The scratch directory under `reports/` (forge may read there): artifacts of the clean vault
/// and of every mutant, the chain's address book. Removed on drop and by the SIGINT handler.
pub(super) struct Scratch {
    pub(super) path: PathBuf,
    /// Removes the directory exactly once: on drop, or from the signal handler.
    pub(super) _guard: crate::signals::Scratch,
}

impl Scratch {
    pub(crate) fn create(root: &Path, run_id: &str) -> anyhow::Result<Self> {
        let path = root
            .join("reports")
            .join(format!(".mutants-scratch-{run_id}-{}", std::process::id()));
        let guard = crate::signals::Scratch::file(path.clone());
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            path,
            _guard: guard,
        })
    }
}

pub(super) fn record(m: &Mutant, catalogue: &MutantCatalogue) -> MutantRecord {
    MutantRecord {
        id: m.id.clone(),
        file: m.file.clone(),
        line: m.line,
        column: m.column,
        contract: m.contract.clone(),
        function: m.function.clone(),
        operator: m.operator.name().to_owned(),
        original: m.original.clone(),
        replacement: m.replacement.clone(),
        diff: m.diff(&catalogue.sources.files[&m.file]),
        status: Status::Error,
        reason: None,
        killed_by: vec![],
        matrix: BTreeMap::new(),
        details: vec![],
        compile_ms: 0,
    }
}

pub(super) enum Event {
    Compiled(usize, CompileResult, u64),
    CompileDone(anyhow::Result<()>),
    Ran(Task, TaskResult),
}

pub(super) enum CompileResult {
    /// Its artifacts' directory.
    Ready(PathBuf),
    NotCompiled(String),
    Identical,
}

/// One forge process (or one live fork per vault): a stage of the run for a batch of mutants.
#[derive(Clone)]
pub(super) struct Task {
    pub(super) stage: usize,
    /// Indices into the mutant list.
    pub(super) mutants: Vec<usize>,
    /// Their artifact directories.
    pub(super) dirs: Vec<PathBuf>,
}

pub(super) enum TaskResult {
    /// Per mutant of the task: (experiment, verdict).
    Rows(Vec<Vec<(String, ScenarioVerdict)>>),
    TimedOut,
    /// The forge process failed as a whole (not one scenario): the tool's message.
    Failed(String),
}

pub(super) struct Pipeline<'a> {
    pub(super) project: &'a Project,
    pub(super) runner: &'a Runner<'a>,
    pub(super) live: Option<&'a live::LiveRunner>,
    pub(super) pins: &'a [PinnedBlock],
    pub(super) experiments: &'a [String],
    pub(super) scenarios: &'a [String],
    pub(super) timeout: Duration,
    pub(super) jobs: usize,
    pub(super) batch: usize,
    /// Run every stage of every mutant, even after one killed it.
    pub(super) full_matrix: bool,
    pub(super) scratch: &'a Path,
    pub(super) progress: &'a shell::Progress,
}

/// Per mutant being run: verdicts so far (keyed by block index and experiment).
pub(super) struct Tracking {
    pub(super) verdicts: BTreeMap<(usize, String), ScenarioVerdict>,
    pub(super) dir: PathBuf,
}

impl Pipeline<'_> {
    /// Stages in order: at each block the in-EVM scenarios, then (with `--engine both`) the
    /// live-fork experiments. (block index, live?)
    fn stages(&self) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        for b in 0..self.pins.len() {
            if !self.scenarios.is_empty() {
                out.push((b, false));
            }
            if self.live.is_some() {
                out.push((b, true));
            }
        }
        out
    }

    pub(crate) fn execute(
        &self,
        solc: &mut Solc,
        catalogue: &MutantCatalogue,
        mutants: &[&Mutant],
        clean: &BTreeMap<String, Compiled>,
        code_files: &compile::CodeFiles,
    ) -> anyhow::Result<(Vec<MutantRecord>, u64)> {
        let mut records: Vec<MutantRecord> = mutants.iter().map(|m| record(m, catalogue)).collect();
        if mutants.is_empty() {
            return Ok((records, 0));
        }
        let stages = self.stages();
        let (events_tx, events_rx) = mpsc::channel::<Event>();
        let (tasks_tx, tasks_rx) = mpsc::channel::<Task>();
        let tasks_rx = Arc::new(Mutex::new(tasks_rx));
        let mut compile_ms = 0u64;
        std::thread::scope(|s| -> anyhow::Result<()> {
            // The compiler, ahead of the runners.
            let compile_tx = events_tx.clone();
            s.spawn(move || {
                let result = (|| -> anyhow::Result<()> {
                    for (index, m) in mutants.iter().enumerate() {
                        let started = Instant::now();
                        let result = self.compile_one(solc, catalogue, m, clean, code_files)?;
                        if compile_tx
                            .send(Event::Compiled(index, result, elapsed_ms(started)))
                            .is_err()
                        {
                            break;
                        }
                    }
                    Ok(())
                })();
                let _ = compile_tx.send(Event::CompileDone(result));
            });
            // The runners.
            for _ in 0..self.jobs {
                let rx = Arc::clone(&tasks_rx);
                let tx = events_tx.clone();
                let stages = &stages;
                s.spawn(move || loop {
                    let task = match rx.lock().map(|r| r.recv()) {
                        Ok(Ok(task)) => task,
                        _ => break,
                    };
                    let result = self.run_task(stages[task.stage], &task);
                    if tx.send(Event::Ran(task, result)).is_err() {
                        break;
                    }
                });
            }
            drop(events_tx);

            let mut tracking: BTreeMap<usize, Tracking> = BTreeMap::new();
            // Mutants waiting for each stage.
            let mut waiting: Vec<Vec<usize>> = vec![Vec::new(); stages.len()];
            let mut queued = 0usize;
            let mut compiling = true;
            let mut unfinished = mutants.len();
            let result = (|| -> anyhow::Result<()> {
                while unfinished > 0 {
                    let event = events_rx.recv().context("the pipeline stopped")?;
                    match event {
                        Event::Compiled(index, result, ms) => {
                            compile_ms += ms;
                            records[index].compile_ms = ms;
                            match result {
                                CompileResult::Ready(dir) => {
                                    tracking.insert(
                                        index,
                                        Tracking {
                                            verdicts: BTreeMap::new(),
                                            dir,
                                        },
                                    );
                                    waiting[0].push(index);
                                }
                                CompileResult::NotCompiled(error) => {
                                    records[index].status = Status::NotCompiled;
                                    records[index].reason = Some(error);
                                    unfinished -= 1;
                                    self.announce(&records[index]);
                                }
                                CompileResult::Identical => {
                                    records[index].status = Status::Equivalent;
                                    records[index].reason = Some(format!(
                                        "{}: the compiler produced the clean vault's code",
                                        report::IDENTICAL
                                    ));
                                    unfinished -= 1;
                                    self.announce(&records[index]);
                                }
                            }
                        }
                        Event::CompileDone(result) => {
                            result?;
                            compiling = false;
                        }
                        Event::Ran(task, result) => {
                            queued -= 1;
                            let (block, live) = stages[task.stage];
                            let rows: Vec<Vec<(String, ScenarioVerdict)>> = match result {
                                TaskResult::TimedOut | TaskResult::Failed(_)
                                    if task.mutants.len() > 1 =>
                                {
                                    // Find the slow (or failing) one: each alone, with its own
                                    // deadline.
                                    for (i, dir) in task.mutants.iter().zip(&task.dirs) {
                                        tasks_tx
                                            .send(Task {
                                                stage: task.stage,
                                                mutants: vec![*i],
                                                dirs: vec![dir.clone()],
                                            })
                                            .ok()
                                            .context("the runners stopped")?;
                                        queued += 1;
                                    }
                                    continue;
                                }
                                TaskResult::TimedOut => vec![self
                                    .names_of(live)
                                    .into_iter()
                                    .map(|n| (n, ScenarioVerdict::TimedOut))
                                    .collect()],
                                TaskResult::Failed(e) => vec![self
                                    .names_of(live)
                                    .into_iter()
                                    .map(|n| (n, ScenarioVerdict::Error(e.clone())))
                                    .collect()],
                                TaskResult::Rows(rows) => rows,
                            };
                            for (i, row) in task.mutants.iter().zip(rows) {
                                let Some(t) = tracking.get_mut(i) else {
                                    continue;
                                };
                                let mut killed = false;
                                for (name, v) in row {
                                    killed |= v.kills();
                                    t.verdicts.insert((block, name), v);
                                }
                                let next = task.stage + 1;
                                if next < stages.len() && (self.full_matrix || !killed) {
                                    waiting[next].push(*i);
                                } else if let Some(t) = tracking.remove(i) {
                                    self.conclude(&mut records[*i], &t);
                                    let _ = std::fs::remove_dir_all(&t.dir);
                                    unfinished -= 1;
                                    self.announce(&records[*i]);
                                }
                            }
                        }
                    }
                    // Later stages first (they finish mutants); full batches at once, a
                    // partial one when a runner would idle.
                    while let Some(stage) = (0..stages.len()).rev().find(|&st| {
                        let n = waiting[st].len();
                        n >= self.batch || (n > 0 && (queued < self.jobs || !compiling))
                    }) {
                        let take = waiting[stage].len().min(self.batch);
                        let batch: Vec<usize> = waiting[stage].drain(..take).collect();
                        let dirs = batch
                            .iter()
                            .filter_map(|i| tracking.get(i).map(|t| t.dir.clone()))
                            .collect();
                        tasks_tx
                            .send(Task {
                                stage,
                                mutants: batch,
                                dirs,
                            })
                            .ok()
                            .context("the runners stopped")?;
                        queued += 1;
                    }
                }
                Ok(())
            })();
            drop(tasks_tx);
            drop(events_rx);
            result
        })?;
        Ok((records, compile_ms))
    }

    fn names_of(&self, live: bool) -> Vec<String> {
        if live {
            self.live.map(|l| l.ids.clone()).unwrap_or_default()
        } else {
            self.scenarios.to_vec()
        }
    }

    fn run_task(&self, (block, live): (usize, bool), task: &Task) -> TaskResult {
        let block = &self.pins[block];
        let dirs = &task.dirs;
        if live {
            let Some(live) = self.live else {
                return TaskResult::Rows(vec![]);
            };
            return TaskResult::Rows(dirs.iter().map(|d| live.run(block, d)).collect());
        }
        let rel: Vec<String> = dirs
            .iter()
            .map(|d| relative(self.project.root(), d))
            .collect();
        let deadline = self.timeout * u32::try_from(rel.len()).unwrap_or(1);
        match self.runner.run(block, &rel, deadline) {
            BatchOutcome::Done(rows) => TaskResult::Rows(
                rows.into_iter()
                    .map(|row| self.scenarios.iter().cloned().zip(row).collect())
                    .collect(),
            ),
            BatchOutcome::TimedOut => TaskResult::TimedOut,
            BatchOutcome::Failed(e) => TaskResult::Failed(e),
        }
    }

    fn compile_one(
        &self,
        solc: &mut Solc,
        catalogue: &MutantCatalogue,
        m: &Mutant,
        clean: &BTreeMap<String, Compiled>,
        code_files: &compile::CodeFiles,
    ) -> anyhow::Result<CompileResult> {
        let mut sources = catalogue.sources.files.clone();
        let original = &catalogue.sources.files[&m.file];
        sources.insert(m.file.clone(), m.apply(original));
        let targets = code_files.targets_of(&m.file);
        let compiled = match solc.compile(&sources, &targets)? {
            CompileOutcome::Failed(error) => return Ok(CompileResult::NotCompiled(error)),
            CompileOutcome::Ok(c) => c,
        };
        if compiled.iter().all(|(name, c)| clean.get(name) == Some(c)) {
            return Ok(CompileResult::Identical);
        }
        let mut all = clean.clone();
        all.extend(compiled);
        let dir = self.scratch.join("m").join(&m.id);
        compile::write_artifacts(&dir, &all)?;
        Ok(CompileResult::Ready(dir))
    }

    fn conclude(&self, r: &mut MutantRecord, t: &Tracking) {
        let mut matrix: BTreeMap<String, Cell> = BTreeMap::new();
        let mut details = Vec::new();
        for ((block, name), v) in &t.verdicts {
            let cell = match v {
                ScenarioVerdict::Held => Cell::Held,
                ScenarioVerdict::Disproved(_) => Cell::Disproved,
                ScenarioVerdict::Reverted(_) => Cell::Reverted,
                ScenarioVerdict::TimedOut => Cell::TimedOut,
                ScenarioVerdict::Error(_) => Cell::Error,
            };
            let entry = matrix.entry(name.clone()).or_insert(cell);
            if cell > *entry {
                *entry = cell;
            }
            if cell != Cell::Held {
                details.push(Detail {
                    block: self.pins[*block].number,
                    experiment: name.clone(),
                    cell,
                    detail: verdict_text(v),
                });
            }
        }
        r.killed_by = self
            .experiments
            .iter()
            .filter(|e| matrix.get(*e).is_some_and(|c| c.kills()))
            .cloned()
            .collect();
        let any = |c: Cell| matrix.values().any(|v| *v == c);
        r.status = if !r.killed_by.is_empty() {
            Status::Killed
        } else if any(Cell::TimedOut) {
            Status::TimedOut
        } else if any(Cell::Error) {
            Status::Error
        } else {
            Status::Survived
        };
        r.reason = match r.status {
            Status::Error | Status::TimedOut => details.first().map(|d| d.detail.clone()),
            _ => None,
        };
        r.matrix = matrix;
        r.details = details;
    }

    fn announce(&self, r: &MutantRecord) {
        let what = match r.status {
            Status::Killed => format!("killed by {}", r.killed_by.join(", ")),
            Status::Survived => "SURVIVED".to_owned(),
            Status::TimedOut => "timed out".to_owned(),
            Status::Equivalent => "equivalent (identical bytecode)".to_owned(),
            Status::NotCompiled => "does not compile".to_owned(),
            Status::Error => format!("could not run: {}", r.reason.as_deref().unwrap_or("")),
        };
        let file = r.file.rsplit('/').next().unwrap_or(&r.file);
        self.progress.line(format!(
            "  {} {file}:{} {} `{}` -> `{}`: {what}",
            r.id,
            r.line,
            r.operator,
            generate::one_line(&r.original),
            generate::one_line(&r.replacement)
        ));
        self.progress.inc(1);
    }
}

//! Single-point mutants of Solidity sources, found on the syntax tree that `solar-parse` (the
//! parser Foundry itself uses) builds: never by matching lines of text.
//!
//! A mutant is one byte range of one file and the text that replaces it. Its id is a hash of
//! where it is *in the code* (file, contract, function), what it does (operator, original and
//! replacement text) and which occurrence of that same change in that function it is: stable
//! across runs, machines and edits elsewhere in the file, so `--mutant ID` and the reviewed
//! equivalents keep pointing at the same defect until that function itself changes.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Serialize;
use solar_parse::ast::{self, ItemKind};
use solar_parse::interface::source_map::FileName;
use solar_parse::interface::Session;

use crate::error::Unusable;

mod walk;
use walk::Walker;

/// The operator families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operator {
    /// An arithmetic, bitwise or logical operator swapped (`+`/`-`, `*`/`/`, `&&`/`||`, `+=`/`-=`).
    BinaryOp,
    /// A comparison moved across its boundary or its equality flipped (`<`/`<=`, `==`/`!=`).
    Comparison,
    /// The condition of an `if`, loop, ternary or `require` negated.
    NegateCondition,
    /// A `require` deleted or the condition of an `if (...) revert` made `false`.
    RemoveGuard,
    /// An assignment, `delete` or increment statement deleted.
    DeleteAssignment,
    /// A call statement deleted.
    DeleteCall,
    /// A number (constants and bps literals) or boolean literal changed.
    Literal,
    /// `min` and `max` swapped (calls, and ternaries that pick the smaller or larger operand).
    MinMax,
    /// Rounding direction flipped: `mulDiv` / `mulDivUp`, floor `/` to ceiling division.
    Rounding,
    /// `return` inserted at the start of a function (with zero values when it returns any).
    EarlyReturn,
}

impl Operator {
    pub const ALL: [Operator; 10] = [
        Operator::BinaryOp,
        Operator::Comparison,
        Operator::NegateCondition,
        Operator::RemoveGuard,
        Operator::DeleteAssignment,
        Operator::DeleteCall,
        Operator::Literal,
        Operator::MinMax,
        Operator::Rounding,
        Operator::EarlyReturn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::BinaryOp => "binary-op",
            Operator::Comparison => "comparison",
            Operator::NegateCondition => "negate-condition",
            Operator::RemoveGuard => "remove-guard",
            Operator::DeleteAssignment => "delete-assignment",
            Operator::DeleteCall => "delete-call",
            Operator::Literal => "literal",
            Operator::MinMax => "min-max",
            Operator::Rounding => "rounding",
            Operator::EarlyReturn => "early-return",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One single-point mutant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mutant {
    /// Stable id (10 hex digits).
    pub id: String,
    /// Path relative to the project root, `/`-separated.
    pub file: String,
    pub contract: String,
    /// The function (or `constant NAME` / `variable NAME` for a state variable's initializer).
    pub function: String,
    pub operator: Operator,
    /// 1-based line and column of the change in the original file.
    pub line: usize,
    pub column: usize,
    /// Byte range of the original file that is replaced.
    #[serde(skip)]
    pub range: Range<usize>,
    pub original: String,
    pub replacement: String,
    /// The source lines the change is on, whitespace collapsed: what a review of the mutant
    /// looked at, so that a reviewed equivalent goes stale when they change.
    pub context: String,
}

impl Mutant {
    /// The mutated source.
    pub fn apply(&self, source: &str) -> String {
        let mut out = String::with_capacity(source.len() + self.replacement.len());
        out.push_str(&source[..self.range.start]);
        out.push_str(&self.replacement);
        out.push_str(&source[self.range.end..]);
        out
    }

    /// A unified diff of the lines the mutant touches.
    pub fn diff(&self, source: &str) -> String {
        let line_start = source[..self.range.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[self.range.end..]
            .find('\n')
            .map_or(source.len(), |i| self.range.end + i);
        let before = &source[line_start..line_end];
        let after = format!(
            "{}{}{}",
            &source[line_start..self.range.start],
            self.replacement,
            &source[self.range.end..line_end]
        );
        let old_count = before.lines().count().max(1);
        let new_count = after.lines().count().max(1);
        let mut diff = format!(
            "--- a/{file}\n+++ b/{file}\n@@ -{line},{old_count} +{line},{new_count} @@ {contract}.{function}\n",
            file = self.file,
            line = self.line,
            contract = self.contract,
            function = self.function,
        );
        for l in before.lines() {
            diff.push_str(&format!("-{l}\n"));
        }
        for l in after.lines() {
            diff.push_str(&format!("+{l}\n"));
        }
        diff
    }

    /// One line for lists: `ID file:line contract.function operator: original -> replacement`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}:{} {}.{} {}: `{}` -> `{}`",
            self.id,
            self.file,
            self.line,
            self.contract,
            self.function,
            self.operator,
            one_line(&self.original),
            one_line(&self.replacement)
        )
    }
}

/// Collapses whitespace runs so a snippet fits on one line.
pub fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > 90 {
        let cut: String = joined.chars().take(87).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

/// Every mutant of one Solidity source, in source order, with stable ids.
pub fn mutants_of(file: &str, source: &str) -> Result<Vec<Mutant>, Unusable> {
    let session = Session::builder().with_silent_emitter(None).build();
    let found = session.enter_sequential(|| -> Result<Vec<Draft>, Unusable> {
        let arena = ast::Arena::new();
        let mut parser = solar_parse::Parser::from_source_code(
            &session,
            &arena,
            FileName::Custom(file.to_owned()),
            source.to_owned(),
        )
        .map_err(|_| Unusable::new(format!("{file}: cannot be read by the Solidity parser")))?;
        let unit = parser.parse_file().map_err(|err| {
            err.cancel();
            Unusable::with_fix(
                format!("{file}: not valid Solidity (solar-parse rejected it)"),
                "`cargo xtask forge -- build` shows the compiler's message",
            )
        })?;
        if session.dcx.has_errors().is_err() {
            return Err(Unusable::new(format!("{file}: not valid Solidity")));
        }
        let mut walker = Walker::new(session.source_map(), source);
        for item in unit.items.iter() {
            walker.item(item);
        }
        Ok(walker.into_drafts())
    })?;
    Ok(finish(file, source, found))
}

/// Imports of a source (the paths as written).
pub fn imports_of(file: &str, source: &str) -> Result<Vec<String>, Unusable> {
    let session = Session::builder().with_silent_emitter(None).build();
    session.enter_sequential(|| {
        let arena = ast::Arena::new();
        let mut parser = solar_parse::Parser::from_source_code(
            &session,
            &arena,
            FileName::Custom(file.to_owned()),
            source.to_owned(),
        )
        .map_err(|_| Unusable::new(format!("{file}: cannot be read by the Solidity parser")))?;
        let unit = parser.parse_file().map_err(|err| {
            err.cancel();
            Unusable::new(format!(
                "{file}: not valid Solidity (solar-parse rejected it)"
            ))
        })?;
        Ok(unit
            .items
            .iter()
            .filter_map(|item| match &item.kind {
                ItemKind::Import(import) => Some(import.path.value.as_str().to_owned()),
                _ => None,
            })
            .collect())
    })
}

/// A mutant before its id is known.
pub(super) struct Draft {
    contract: String,
    function: String,
    operator: Operator,
    range: Range<usize>,
    replacement: String,
}

fn finish(file: &str, source: &str, drafts: Vec<Draft>) -> Vec<Mutant> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<Mutant> = Vec::with_capacity(drafts.len());
    for d in drafts {
        let original = source[d.range.clone()].to_owned();
        if original == d.replacement {
            continue;
        }
        let key = [
            file,
            &d.contract,
            &d.function,
            d.operator.name(),
            &original,
            &d.replacement,
        ]
        .join("\u{1f}");
        let occurrence = seen.entry(key.clone()).or_insert(0);
        let id_source = format!("{key}\u{1f}{occurrence}");
        *occurrence += 1;
        let hash = alloy::primitives::keccak256(id_source.as_bytes());
        let id = alloy::primitives::hex::encode(&hash[..5]);
        let (line, column) = line_col(source, d.range.start);
        let line_start = source[..d.range.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[d.range.end..]
            .find('\n')
            .map_or(source.len(), |i| d.range.end + i);
        let context = source[line_start..line_end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        out.push(Mutant {
            id,
            file: file.to_owned(),
            contract: d.contract,
            function: d.function,
            operator: d.operator,
            line,
            column,
            range: d.range,
            original,
            replacement: d.replacement,
            context,
        });
    }
    out
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, column)
}

/// Every `.sol` file under `path` (a file or a directory), sorted, relative to `root`.
pub fn solidity_files(root: &Path, path: &Path) -> Result<Vec<String>, Unusable> {
    let full = root.join(path);
    let mut files = Vec::new();
    let mut stack = vec![full.clone()];
    if !full.exists() {
        return Err(Unusable::with_fix(
            format!("--path {}: no such file or directory", path.display()),
            "give a path relative to the repository root, e.g. contracts/vault",
        ));
    }
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            let entries = std::fs::read_dir(&p)
                .map_err(|e| Unusable::new(format!("cannot read {}: {e}", p.display())))?;
            for entry in entries.flatten() {
                stack.push(entry.path());
            }
        } else if p.extension().is_some_and(|e| e == "sol") {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            files.push(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Unusable::new(format!(
            "--path {}: no Solidity file there",
            path.display()
        )));
    }
    Ok(files)
}

#[cfg(test)]
mod tests;

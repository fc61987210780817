//! A strict unified-diff applier for the project's patches of registry sources
//! (`tools/patches/*.patch`, documented in `tools/patches/README.md`).
//!
//! Strict on purpose: every hunk must apply at the line its header names, with every context
//! and removed line equal to the file's, and the header's line counts must match the hunk. No
//! fuzz, no offsets: a registry package that changed under the patch is an error, never a
//! silently different build. Lines before the first `--- ` header are the patch's own notes.
//!
//! Line endings: sources are compared without a trailing `\r`, and the lines a hunk adds get
//! the line ending of the file they go into, so one patch with `\n` endings applies to files
//! published with `\r\n` (pancakeswap-peripheral's) as well.

use std::fmt;

/// One file's hunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    /// The path inside the package (`contracts/PancakePair.sol`), from `--- a/PATH`.
    pub path: String,
    pub hunks: Vec<Hunk>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// 1-based first line of the hunk in the original file.
    pub old_start: usize,
    pub lines: Vec<HunkLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HunkLine {
    Context(String),
    Remove(String),
    Add(String),
}

impl Hunk {
    /// The lines the original file must have here (context and removed lines).
    pub fn old_lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| match l {
            HunkLine::Context(s) | HunkLine::Remove(s) => Some(s.as_str()),
            HunkLine::Add(_) => None,
        })
    }

    /// The lines the patched file has here (context and added lines).
    pub fn new_lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| match l {
            HunkLine::Context(s) | HunkLine::Add(s) => Some(s.as_str()),
            HunkLine::Remove(_) => None,
        })
    }
}

/// Why a patch could not be read or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError(pub String);

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatchError {}

fn err(message: impl Into<String>) -> PatchError {
    PatchError(message.into())
}

/// Parse a unified diff. Every file section is `--- a/PATH` then `+++ b/PATH` (the same PATH),
/// then one or more `@@ -L,N +L,M @@` hunks.
pub fn parse(text: &str) -> Result<Vec<FilePatch>, PatchError> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut files: Vec<FilePatch> = Vec::new();
    let mut i = lines
        .iter()
        .position(|l| l.starts_with("--- "))
        .ok_or_else(|| err("no `--- a/PATH` header: not a unified diff"))?;
    while i < lines.len() {
        let old = lines[i]
            .strip_prefix("--- ")
            .ok_or_else(|| err(format!("line {}: expected `--- a/PATH`", i + 1)))?;
        let new = lines
            .get(i + 1)
            .and_then(|l| l.strip_prefix("+++ "))
            .ok_or_else(|| err(format!("line {}: expected `+++ b/PATH`", i + 2)))?;
        let old = strip_label(old, "a/");
        let new = strip_label(new, "b/");
        if old != new {
            return Err(err(format!(
                "line {}: the patch renames {old} to {new}; only in-place edits are allowed",
                i + 1
            )));
        }
        let mut file = FilePatch {
            path: old.to_owned(),
            hunks: Vec::new(),
        };
        i += 2;
        while i < lines.len() && lines[i].starts_with("@@ ") {
            let (hunk, next) = parse_hunk(&lines, i)?;
            file.hunks.push(hunk);
            i = next;
        }
        if file.hunks.is_empty() {
            return Err(err(format!("{}: a file section without hunks", file.path)));
        }
        files.push(file);
        while i < lines.len() && lines[i].is_empty() {
            i += 1;
        }
        if i < lines.len() && !lines[i].starts_with("--- ") {
            return Err(err(format!("line {}: unexpected `{}`", i + 1, lines[i])));
        }
    }
    Ok(files)
}

/// `a/contracts/X.sol<TAB>timestamp` -> `contracts/X.sol`.
fn strip_label<'a>(label: &'a str, prefix: &str) -> &'a str {
    let path = label.split('\t').next().unwrap_or(label).trim_end();
    path.strip_prefix(prefix).unwrap_or(path)
}

fn parse_range(text: &str, sign: char) -> Option<(usize, usize)> {
    let text = text.strip_prefix(sign)?;
    match text.split_once(',') {
        Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
        None => Some((text.parse().ok()?, 1)),
    }
}

fn parse_hunk(lines: &[&str], at: usize) -> Result<(Hunk, usize), PatchError> {
    let header = lines[at];
    let bad = || err(format!("line {}: bad hunk header `{header}`", at + 1));
    let inner = header
        .strip_prefix("@@ ")
        .and_then(|h| h.split(" @@").next())
        .ok_or_else(bad)?;
    let mut parts = inner.split(' ');
    let (old_start, old_count) = parts
        .next()
        .and_then(|p| parse_range(p, '-'))
        .ok_or_else(bad)?;
    let (_, new_count) = parts
        .next()
        .and_then(|p| parse_range(p, '+'))
        .ok_or_else(bad)?;
    let mut hunk = Hunk {
        old_start,
        lines: Vec::new(),
    };
    let (mut old_seen, mut new_seen) = (0, 0);
    let mut i = at + 1;
    while old_seen < old_count || new_seen < new_count {
        let line = lines.get(i).ok_or_else(|| {
            err(format!(
                "hunk at line {}: the patch ends before the hunk does",
                at + 1
            ))
        })?;
        let mut chars = line.chars();
        let kind = chars.next();
        let rest = chars.as_str();
        let entry = match kind {
            Some(' ') | None => {
                old_seen += 1;
                new_seen += 1;
                HunkLine::Context(rest.to_owned())
            }
            Some('-') => {
                old_seen += 1;
                HunkLine::Remove(rest.to_owned())
            }
            Some('+') => {
                new_seen += 1;
                HunkLine::Add(rest.to_owned())
            }
            _ => return Err(err(format!("line {}: `{line}` is not a hunk line", i + 1))),
        };
        hunk.lines.push(entry);
        i += 1;
    }
    if old_seen != old_count || new_seen != new_count {
        return Err(err(format!(
            "hunk at line {}: the header counts {old_count} old and {new_count} new lines, the hunk has {old_seen} and {new_seen}",
            at + 1
        )));
    }
    Ok((hunk, i))
}

/// Apply `patch` to `original` (the whole file). `name` is only used in error messages.
pub fn apply(name: &str, original: &str, patch: &FilePatch) -> Result<String, PatchError> {
    let crlf = original.contains("\r\n");
    let eol = if crlf { "\r\n" } else { "\n" };
    let ends_with_eol = original.ends_with('\n');
    let old: Vec<&str> = original.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut out: Vec<&str> = Vec::with_capacity(old.len());
    let mut next = 0usize; // first original line not yet copied
    for hunk in &patch.hunks {
        let start = hunk.old_start.saturating_sub(1);
        if start < next {
            return Err(err(format!(
                "{name}: hunk at line {} overlaps the previous one",
                hunk.old_start
            )));
        }
        let wanted: Vec<&str> = hunk.old_lines().collect();
        let found = old.get(start..start + wanted.len());
        if found != Some(wanted.as_slice()) {
            let first_difference = wanted
                .iter()
                .enumerate()
                .find(|(k, w)| old.get(start + k) != Some(w))
                .map(|(k, w)| {
                    format!(
                        "line {} is `{}`, the patch expects `{w}`",
                        start + k + 1,
                        old.get(start + k).copied().unwrap_or("<end of file>")
                    )
                })
                .unwrap_or_default();
            return Err(err(format!(
                "{name}: hunk at line {} does not apply: {first_difference} (has the package changed?)",
                hunk.old_start
            )));
        }
        out.extend_from_slice(&old[next..start]);
        out.extend(hunk.new_lines());
        next = start + wanted.len();
    }
    out.extend_from_slice(&old[next..]);
    let mut text = out.join(eol);
    if ends_with_eol {
        text.push_str(eol);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "one\ntwo\nthree\nfour\nfive\n";
    const PATCH: &str =
        "# a note\n--- a/x.sol\n+++ b/x.sol\n@@ -2,3 +2,3 @@\n two\n-three\n+THREE\n four\n";

    #[test]
    fn applies_a_hunk_and_keeps_the_rest() {
        let files = parse(PATCH).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "x.sol");
        let out = apply("x.sol", ORIGINAL, &files[0]).unwrap();
        assert_eq!(out, "one\ntwo\nTHREE\nfour\nfive\n");
    }

    #[test]
    fn keeps_crlf_line_endings() {
        let files = parse(PATCH).unwrap();
        let original = ORIGINAL.replace('\n', "\r\n");
        let out = apply("x.sol", &original, &files[0]).unwrap();
        assert_eq!(out, "one\r\ntwo\r\nTHREE\r\nfour\r\nfive\r\n");
    }

    #[test]
    fn refuses_a_changed_file() {
        let files = parse(PATCH).unwrap();
        let e = apply("x.sol", "one\ntwo\n3\nfour\n", &files[0]).unwrap_err();
        assert!(
            e.0.contains("line 3 is `3`, the patch expects `three`"),
            "{e}"
        );
    }

    #[test]
    fn refuses_a_hunk_at_another_line() {
        // The same lines one line further down: no offsets are tried.
        let files = parse(PATCH).unwrap();
        assert!(apply("x.sol", "zero\none\ntwo\nthree\nfour\n", &files[0]).is_err());
    }

    #[test]
    fn refuses_wrong_counts_and_renames() {
        let short = "--- a/x.sol\n+++ b/x.sol\n@@ -2,4 +2,3 @@\n two\n-three\n+THREE\n four\n";
        assert!(parse(short).is_err());
        let renamed = "--- a/x.sol\n+++ b/y.sol\n@@ -1 +1 @@\n-one\n+ONE\n";
        assert!(parse(renamed).unwrap_err().0.contains("renames"));
        assert!(parse("just text\n").is_err());
    }
}

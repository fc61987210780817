//! The rooms' declared order, checked against the code: every `crate::<room>` a room names
//! (outside comments) must be a room below it in [`ORDER`]. A dependency that points up (a
//! circle between rooms, once the lower room is used by the upper one) fails the test with the
//! files that name it. `docs/architecture.md` draws the same order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first: a room may use the rooms before it, never one after it.
const ORDER: [&str; 17] = [
    "error",
    "runtime",
    "shell",
    "rng",
    "project",
    "signals",
    "toolchain",
    "foundry",
    "chain",
    "rpc",
    "report",
    "chaos",
    "slither",
    "suite",
    "mutants",
    "bench",
    "cli",
];

/// Upward dependencies not yet removed, each with why: (from, to).
const KNOWN_SEAMS: [(&str, &str); 0] = [];

/// Every Rust source under `src`: its path relative to `src` and its text, in path order.
pub(crate) fn sources(src: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read src").flatten() {
                stack.push(entry.path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read a source");
            let rel = path.strip_prefix(src).expect("under src").to_path_buf();
            out.push((rel, text));
        }
    }
    out.sort();
    out
}

/// The rooms each room's source names: room -> used room -> files.
fn used_rooms(src: &Path) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (rel, text) in sources(src) {
        let first = rel
            .components()
            .next()
            .expect("a file")
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let room = first.trim_end_matches(".rs").to_owned();
        if room == "lib" || room == "main" || room == "rooms" {
            continue;
        }
        // `rooms` is this checker (test-only), not a room: other rooms' layout tests may use it.
        for used in names_in(&text) {
            if used != room && used != "rooms" {
                out.entry(room.clone())
                    .or_default()
                    .entry(used)
                    .or_default()
                    .insert(rel.display().to_string());
            }
        }
    }
    out
}

/// The rooms named as `crate::room` or inside `crate::{room, ...}` on lines that are not
/// comments.
fn names_in(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Every upward dependency as `from -> to (files)`.
fn upward(uses: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Vec<String> {
    let rank = |room: &str| ORDER.iter().position(|r| *r == room);
    let mut out = Vec::new();
    for (from, used) in uses {
        for (to, files) in used {
            let (Some(a), Some(b)) = (rank(from), rank(to)) else {
                out.push(format!("{from} -> {to}: a room missing from ORDER"));
                continue;
            };
            if b > a && !KNOWN_SEAMS.contains(&(from.as_str(), to.as_str())) {
                let files: Vec<&str> = files.iter().map(String::as_str).collect();
                out.push(format!("{from} -> {to} ({})", files.join(", ")));
            }
        }
    }
    out
}

#[test]
fn every_room_uses_only_the_rooms_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let uses = used_rooms(&src);
    assert!(
        uses.len() >= 10,
        "found only {} rooms under {}",
        uses.len(),
        src.display()
    );
    let up = upward(&uses);
    assert!(
        up.is_empty(),
        "dependencies that point up:\n{}",
        up.join("\n")
    );
    // Every folder and file of src is a room of ORDER.
    for entry in std::fs::read_dir(&src).expect("read src").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let room = name.trim_end_matches(".rs");
        if !["lib", "main", "rooms"].contains(&room) {
            assert!(ORDER.contains(&room), "`{room}` is not in ORDER");
        }
    }
}

#[test]
fn the_check_sees_an_upward_use_and_ignores_comments() {
    let uses = BTreeMap::from([
        (
            "report".to_owned(),
            BTreeMap::from([(
                "chaos".to_owned(),
                BTreeSet::from(["report/x.rs".to_owned()]),
            )]),
        ),
        (
            "chaos".to_owned(),
            BTreeMap::from([("report".to_owned(), BTreeSet::new())]),
        ),
    ]);
    assert_eq!(upward(&uses), ["report -> chaos (report/x.rs)"]);
    let names = names_in(
        "//! see [`crate::chaos`]\nuse crate::{error::Unusable, shell};\nlet x = crate::rpc::Class::Ok;",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["error", "rpc", "shell"]
    );
}

/// A file a newcomer can read in one sitting: no source file of the xtask grows past this many
/// lines (issue 14's bound); a file that does is split by job, as `chain/cache/key.rs` and
/// `foundry/forge/result.rs` were.
#[cfg(test)]
const MAX_FILE_LINES: usize = 600;

#[test]
fn no_source_file_is_longer_than_the_bound() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = sources(&src);
    assert!(files.len() >= 50, "found only {} sources", files.len());
    let long: Vec<String> = files
        .iter()
        .filter(|(_, text)| text.lines().count() > MAX_FILE_LINES)
        .map(|(path, text)| format!("{} ({} lines)", path.display(), text.lines().count()))
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines, split by job: {long:?}"
    );
}

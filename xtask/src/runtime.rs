//! The one tokio runtime of a command. Every room that drives async code (the chain build,
//! pinning, the live-fork engine, the proxies, the probe, the mutants' live runs) takes it
//! from [`shared`]; nothing else builds a runtime (`every_builder_site_is_allowed` below reads
//! the tree and fails on a new `Builder::new_*` site).
//!
//! It is a multi-thread runtime: a proxy serves on its workers while the command's thread is
//! inside `block_on` (a forge or anvil process reading through the proxy, a provider call),
//! and the `--jobs` workers of the chaos schedule each `block_on` their live forks on it side
//! by side. It is built on first use, so a command that needs none (`--help`, `chaos --list`)
//! starts none, and it lives as long as the process.
//!
//! Uses no other room.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The command's runtime, built the first time it is asked for.
///
/// Never call `block_on` on it from inside async code (a task of this runtime, or a future
/// some `block_on` is driving): tokio refuses a runtime started within a runtime.
pub fn shared() -> std::io::Result<&'static Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    // At least two workers: a proxy keeps serving while another task waits on it.
    let workers = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .max(2);
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("xtask-runtime")
        .enable_all()
        .build()?;
    // Two threads may race here: one runtime wins, the other is dropped unused.
    if let Err(unused) = RUNTIME.set(built) {
        drop(unused);
    }
    Ok(RUNTIME.get().expect("set above"))
}

/// Files (under `xtask/src`) that may build a runtime themselves, each with why.
#[cfg(test)]
const ALLOWED_BUILDERS: [(&str, &str); 2] = [
    ("runtime.rs", "the one runtime"),
    (
        "signals.rs",
        "the signal handler's last resort (kill the children, exit) must run even when every \
         worker of the shared runtime is stuck in blocking code",
    ),
];

#[test]
fn every_builder_site_is_allowed() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let needles = [
        ["new_current", "_thread"].concat(),
        ["new_multi", "_thread"].concat(),
        ["Runtime", "::new("].concat(),
    ];
    let sources = crate::rooms::sources(&src);
    let files = sources.len();
    let mut sites = Vec::new();
    for (rel, text) in &sources {
        let rel = rel.display().to_string();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|needle| code.contains(needle.as_str()))
                && !ALLOWED_BUILDERS.iter().any(|(file, _)| *file == rel)
            {
                sites.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        files >= 50,
        "read only {files} sources under {}",
        src.display()
    );
    assert!(
        sites.is_empty(),
        "a tokio runtime built outside the allowed files (use crate::runtime::shared()):\n{}",
        sites.join("\n")
    );
}

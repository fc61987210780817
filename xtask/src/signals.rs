//! SIGINT and SIGTERM. Every child process the xtask starts (anvil, forge) is registered here
//! while it runs; on a signal the handler ends them all before the xtask exits, so a Ctrl-C or
//! a CI cancellation never leaves an anvil or a forge behind. Normal ends are handled by the
//! guards' `Drop`.

use std::collections::BTreeSet;
use std::process::{Child, Command, Output};
use std::sync::{Mutex, Once};

use anyhow::Context as _;

static CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
/// Held while a child is started and registered, and by the handler from the signal to the
/// exit: no child can start between the handler's sweep and the end of the process.
static SPAWNING: Mutex<()> = Mutex::new(());

/// Hold this while starting and registering a child (and its scratch directory).
pub fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    SPAWNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
/// Scratch directories of the children (anvil's state on disk), removed on a signal too.
static DIRS: Mutex<BTreeSet<std::path::PathBuf>> = Mutex::new(BTreeSet::new());

pub fn track_dir(path: &std::path::Path) {
    if let Ok(mut set) = DIRS.lock() {
        set.insert(path.to_path_buf());
    }
}

pub fn untrack_dir(path: &std::path::Path) {
    if let Ok(mut set) = DIRS.lock() {
        set.remove(path);
    }
}
static INSTALL: Once = Once::new();

/// Register a running child.
pub fn track(pid: u32) {
    if let Ok(mut set) = CHILDREN.lock() {
        set.insert(pid);
    }
}

/// Forget a child that was reaped.
pub fn untrack(pid: u32) {
    if let Ok(mut set) = CHILDREN.lock() {
        set.remove(&pid);
    }
}

/// Run `cmd` to completion like `Command::output`, registered while it runs.
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    let spawning = spawn_lock();
    let child: Child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id();
    track(pid);
    drop(spawning);
    let result = child.wait_with_output();
    untrack(pid);
    result
}

/// Kill every registered child (SIGKILL: they are ours and hold nothing worth flushing).
fn kill_children() {
    let pids: Vec<u32> = CHILDREN
        .lock()
        .map(|set| set.iter().copied().collect())
        .unwrap_or_default();
    for pid in pids {
        #[cfg(unix)]
        // SAFETY: kill(2) and waitpid(2) on a child we spawned and have not reaped (it is
        // untracked on reap); no memory is shared with it.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
            // Reap it, so nothing of it writes into its scratch directory any more.
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
        }
    }
}

/// Delete every registered scratch directory (after its owner was killed).
fn remove_dirs() {
    let dirs: Vec<std::path::PathBuf> = DIRS
        .lock()
        .map(|d| d.iter().cloned().collect())
        .unwrap_or_default();
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Install the handler once: on SIGINT or SIGTERM, end every child and exit with 130 / 143.
pub fn install() {
    INSTALL.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(|| {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                let code = runtime.block_on(async {
                    #[cfg(unix)]
                    {
                        use tokio::signal::unix::{signal, SignalKind};
                        let (Ok(mut int), Ok(mut term)) = (
                            signal(SignalKind::interrupt()),
                            signal(SignalKind::terminate()),
                        ) else {
                            return None;
                        };
                        tokio::select! {
                            _ = int.recv() => Some(130),
                            _ = term.recv() => Some(143),
                        }
                    }
                    #[cfg(not(unix))]
                    {
                        tokio::signal::ctrl_c().await.ok().map(|()| 130)
                    }
                });
                if let Some(code) = code {
                    // Never released: the process ends below.
                    let _no_more_children = spawn_lock();
                    kill_children();
                    remove_dirs();
                    crate::shell::error(
                        "interrupted; every anvil and forge of this run was stopped",
                    );
                    std::process::exit(code);
                }
            });
        if let Err(err) = spawned {
            crate::shell::warn(format!("no signal handler: {err}"));
        }
    });
}

/// Block until SIGINT (Ctrl-C) or SIGTERM arrives (for `cargo xtask chain`).
pub fn wait_for_termination() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result.context("SIGINT handler")?,
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}

//! Cancellation: one path from a signal to a clean end, for every command that starts children.
//!
//! - **The token.** SIGINT and SIGTERM set one process-wide flag (the first signal wins). The
//!   main thread reads it at each step of its work ([`check`], and after every child it waited
//!   for) and unwinds with [`Interrupted`]; nothing else decides how the run ends. The exit code
//!   is 130 for SIGINT and 143 for SIGTERM, whatever the main thread was doing ([`exit_code`]).
//! - **Children.** Every child (forge, anvil, cargo, npm) is started through [`spawn`] in a
//!   process group of its own (a terminal's Ctrl-C reaches the xtask only, and forge's own
//!   children, the solc-js shim and node, share forge's group), with `PR_SET_PDEATHSIG` on
//!   Linux so that a SIGKILLed xtask takes its direct children along. On a signal the handler
//!   thread sends SIGTERM to every registered group, so whatever the main thread waits for
//!   ends at once, and SIGKILL to what is left after [`KILL_GRACE`]. It never reaps and never
//!   exits: the owner of each child does that.
//! - **Scratch.** Temporary directories (anvil's homes, forge's broadcast logs) are [`Scratch`]
//!   guards: removed exactly once, by their owner's `Drop`, or by the handler if the process has
//!   to be ended without its owner (a second signal, or a main thread still busy after
//!   [`EXIT_GRACE`]). Scratch of an xtask that was SIGKILLed is removed by the next xtask that
//!   starts (the directory names carry the owner's pid).
//! - **Starting after a signal** is refused: [`spawn`] checks the flag under the same lock the
//!   handler holds while it signals, so no child can slip between the two.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

mod scratch;
use scratch::remove_all_scratch;
pub use scratch::{
    owner_pid, process_alive, scratch_file_name, sweep_stale_files, sweep_stale_scratch, Scratch,
};

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Process groups of running children (pgid = the child's pid).
static GROUPS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
/// Scratch directories not yet removed.
static SCRATCH: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
/// The phase the main thread is in, for messages and the report.
static PHASE: Mutex<&'static str> = Mutex::new("start");
/// Woken when a signal arrives.
static WAKE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
static INSTALL: Once = Once::new();

/// Between SIGTERM and SIGKILL for the children's groups.
pub const KILL_GRACE: Duration = Duration::from_secs(3);
/// How long the main thread may take to wind down after a signal before the handler ends the
/// process itself.
pub const EXIT_GRACE: Duration = Duration::from_secs(30);

/// Which test hook pauses the main thread at a phase (see [`phase`]).
const PAUSE_ENV: &str = "XTASK_TEST_PAUSE_AT";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The run was stopped by a signal.
#[derive(Debug, Clone, thiserror::Error)]
#[error("interrupted by {} during {phase}", signal_name(*signal))]
pub struct Interrupted {
    pub signal: i32,
    pub phase: String,
}

impl Interrupted {
    pub fn exit_code(&self) -> u8 {
        exit_code_for(self.signal)
    }
}

pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

fn exit_code_for(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(130)
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// 130 or 143 once a signal was received.
pub fn exit_code() -> Option<u8> {
    received().map(exit_code_for)
}

/// `Err(Interrupted)` once a signal was received: the main thread's check at each step.
pub fn check() -> Result<(), Interrupted> {
    match received() {
        None => Ok(()),
        Some(signal) => Err(Interrupted {
            signal,
            phase: current_phase().to_owned(),
        }),
    }
}

/// Enter a phase of the run (`compile`, `chain`, `history`, `in-evm`, `live-fork`, `report`).
///
/// Test hook: with `XTASK_TEST_PAUSE_AT=<phase>` the main thread stops here, says
/// `paused at <phase>` on stderr and waits (up to a minute) for a signal, so a test can
/// interrupt a phase that is otherwise over in milliseconds.
pub fn phase(name: &'static str) -> Result<(), Interrupted> {
    *lock(&PHASE) = name;
    check()?;
    if std::env::var(PAUSE_ENV).is_ok_and(|p| p == name) {
        crate::shell::note("Paused", format!("paused at {name} ({PAUSE_ENV})"));
        wait_for_signal(Some(Duration::from_secs(60)));
    }
    check()
}

pub fn current_phase() -> &'static str {
    *lock(&PHASE)
}

/// Block until a signal arrives (or `timeout` passes); true when one arrived.
pub fn wait_for_signal(timeout: Option<Duration>) -> bool {
    let (flag, wake) = &WAKE;
    let mut woken = lock(flag);
    let deadline = timeout.map(|t| Instant::now() + t);
    while !*woken && received().is_none() {
        match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                woken = wake
                    .wait_timeout(woken, left)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            None => {
                woken = wake.wait(woken).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
    received().is_some()
}

/// Install the handler once (idempotent) and remove the scratch of xtasks that were killed.
pub fn install() {
    INSTALL.call_once(|| {
        sweep_stale_scratch();
        #[cfg(unix)]
        {
            let spawned = std::thread::Builder::new()
                .name("signals".into())
                .spawn(handler);
            if let Err(err) = spawned {
                crate::shell::warn(format!("no signal handler: {err}"));
            }
        }
    });
}

#[cfg(unix)]
fn handler() {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let first = tokio::select! {
            _ = int.recv() => libc::SIGINT,
            _ = term.recv() => libc::SIGTERM,
        };
        {
            // Under the spawn lock: no child starts between the flag and the sweep.
            let groups = lock(&GROUPS);
            RECEIVED.store(first, Ordering::SeqCst);
            for &pgid in groups.iter() {
                signal_group(pgid, libc::SIGTERM);
            }
        }
        {
            let (flag, wake) = &WAKE;
            *lock(flag) = true;
            wake.notify_all();
        }
        crate::shell::warn(format!(
            "{}: stopping every child of this run; a second signal ends it at once",
            signal_name(first)
        ));
        // What did not end on SIGTERM gets SIGKILL; a second signal, or a main thread that
        // has not wound down in time, ends the process from here.
        let second = tokio::select! {
            _ = int.recv() => true,
            _ = term.recv() => true,
            _ = tokio::time::sleep(KILL_GRACE) => false,
        };
        kill_all_groups();
        if !second {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
                _ = tokio::time::sleep(EXIT_GRACE.saturating_sub(KILL_GRACE)) => {
                    crate::shell::error(format!(
                        "the run did not stop within {}s of the signal; ending it",
                        EXIT_GRACE.as_secs()
                    ));
                },
            }
        }
        kill_all_groups();
        remove_all_scratch();
        std::process::exit(i32::from(exit_code_for(first)));
    });
}

fn signal_group(pgid: u32, signal: i32) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(pgid) {
        // SAFETY: kill(2) on a process group we created; no memory is shared.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

fn kill_all_groups() {
    for &pgid in lock(&GROUPS).iter() {
        signal_group(pgid, libc::SIGKILL);
    }
}

/// True while a process of group `pgid` is alive (zombies do not count: nobody may reap
/// them in a container without an init).
fn group_alive(pgid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return false;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // pid (comm) state ppid pgrp ...: comm may hold spaces.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|p| p.parse::<u32>().ok());
            if pgrp == Some(pgid) && state != Some("Z") && state != Some("X") {
                return true;
            }
        }
        false
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // SAFETY: kill(2) with signal 0 only checks existence.
        let pgid = libc::pid_t::try_from(pgid).unwrap_or(0);
        pgid != 0 && unsafe { libc::kill(-pgid, 0) } == 0
    }
    #[cfg(not(unix))]
    {
        let _ = pgid;
        false
    }
}

/// End what is left of a child's group after its leader exited or must exit: SIGTERM (the
/// solc-js shim removes its spool on TERM), then SIGKILL after [`KILL_GRACE`].
fn end_group(pgid: u32) {
    if !group_alive(pgid) {
        return;
    }
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if group_alive(pgid) {
        signal_group(pgid, libc::SIGKILL);
    }
}

/// Variables that name an upstream or carry a key. forge and anvil children never need them:
/// every fork they make reads through the xtask's proxy on 127.0.0.1, and `foundry.toml`'s
/// `rpc_endpoints` (`bsc = "${BSC_RPC_URL}"`) cannot resolve without them, so a script cannot
/// reach the real upstream around the proxy.
pub fn scrub_env(cmd: &mut Command) -> &mut Command {
    for key in scrubbed(std::env::vars_os()) {
        cmd.env_remove(key);
    }
    cmd
}

/// The names among `vars` that [`scrub_env`] removes: `*_RPC_URL`, `*_FORK_URL`, `*_API_KEY`,
/// `*_RPC`, `BSC_FORK_BLOCK`, and any variable whose value holds a URL (`://`).
pub fn scrubbed(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<std::ffi::OsString> {
    vars.into_iter()
        .filter(|(key, value)| {
            let name = key.to_string_lossy().to_ascii_uppercase();
            let named = ["_RPC_URL", "_FORK_URL", "_API_KEY", "_RPC"]
                .iter()
                .any(|suffix| name.ends_with(suffix))
                || name == "BSC_FORK_BLOCK";
            named || value.to_string_lossy().contains("://")
        })
        .map(|(key, _)| key)
        .collect()
}

/// A running child in its own process group, registered for the signal handler. Dropping it
/// ends the group (SIGTERM, then SIGKILL) and reaps the child.
#[derive(Debug)]
pub struct Owned {
    child: Option<Child>,
    pgid: u32,
    finished: bool,
}

impl Owned {
    pub fn id(&self) -> u32 {
        self.pgid
    }

    pub fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("present until drop")
    }

    /// Wait for the child to exit, then end what is left of its group.
    pub fn wait(mut self) -> std::io::Result<ExitStatus> {
        let status = self.child_mut().wait();
        self.finish();
        status
    }

    /// Like `Child::wait_with_output`, then end what is left of its group.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        let child = self.child.take().expect("present until drop");
        let output = child.wait_with_output();
        self.finish();
        output
    }

    fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        end_group(self.pgid);
        lock(&GROUPS).remove(&self.pgid);
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                signal_group(self.pgid, libc::SIGTERM);
                let deadline = Instant::now() + KILL_GRACE;
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        self.finish();
    }
}

fn refused(err: Interrupted) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::Interrupted, err)
}

/// Start `cmd` in a process group of its own, registered for the signal handler, with the
/// upstream variables scrubbed from its environment ([`scrub_env`]). Refused once a signal was
/// received.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Owned> {
    scrub_env(cmd);
    spawn_as_is(cmd)
}

/// [`spawn`] without scrubbing the environment (the user's own forge/anvil/cast passthrough,
/// and `cargo test`, which runs the xtask's own tests).
pub fn spawn_as_is(cmd: &mut Command) -> std::io::Result<Owned> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        {
            let parent = std::process::id();
            // SAFETY: only async-signal-safe calls between fork and exec: prctl(2) and
            // getppid(2).
            unsafe {
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // The parent may have died before the prctl took effect.
                    if u32::try_from(libc::getppid()).ok() != Some(parent) {
                        return Err(std::io::Error::other("the xtask exited"));
                    }
                    Ok(())
                });
            }
        }
    }
    let mut groups = lock(&GROUPS);
    check().map_err(refused)?;
    let child = cmd.spawn()?;
    let pgid = child.id();
    groups.insert(pgid);
    Ok(Owned {
        child: Some(child),
        pgid,
        finished: false,
    })
}

/// Run `cmd` to completion like `Command::output` (stdin closed, output captured), in its own
/// group, registered while it runs, with a scrubbed environment.
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    spawn(cmd)?.wait_with_output()
}

/// [`output`] without scrubbing the environment (npm needs its registry settings).
pub fn output_as_is(cmd: &mut Command) -> std::io::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    spawn_as_is(cmd)?.wait_with_output()
}

/// Run `cmd` to completion with inherited standard streams (the user's passthrough, the test
/// suite's parts), in its own group, registered while it runs; the environment is left as is.
pub fn status_as_is(cmd: &mut Command) -> std::io::Result<ExitStatus> {
    spawn_as_is(cmd)?.wait()
}

/// [`status_as_is`] for a tool the user runs by hand (`cargo xtask forge -- ...`): when the
/// xtask owns the terminal, the child's group gets it while it runs (a prompt can read it, and
/// Ctrl-C goes to the tool itself), and the xtask takes it back afterwards.
pub fn status_foreground(cmd: &mut Command) -> std::io::Result<ExitStatus> {
    #[cfg(unix)]
    {
        // SAFETY: isatty(3), tcgetpgrp(3) and getpgrp(2) only read; signal(2) ignores SIGTTOU
        // so that the xtask can take the terminal back from the background.
        let owns_terminal =
            unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() };
        let mut child = spawn_as_is(cmd)?;
        if owns_terminal {
            let pgid = libc::pid_t::try_from(child.id()).unwrap_or(0);
            // SAFETY: as above; tcsetpgrp(3) hands the terminal to the child's group, SIGCONT
            // resumes it if it tried to read the terminal before that.
            unsafe {
                libc::signal(libc::SIGTTOU, libc::SIG_IGN);
                libc::tcsetpgrp(0, pgid);
                libc::kill(-pgid, libc::SIGCONT);
            }
            let status = child.child_mut().wait();
            // SAFETY: takes the terminal back for the xtask's own group.
            unsafe {
                libc::tcsetpgrp(0, libc::getpgrp());
            }
            child.finish();
            return status;
        }
        child.wait()
    }
    #[cfg(not(unix))]
    {
        status_as_is(cmd)
    }
}

/// 64 random bits from the OS-seeded hasher keys (no extra dependency).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Block until SIGINT or SIGTERM (for `cargo xtask chain` and `rpc-proxy`, which serve until
/// stopped); the exit code then says which one it was.
pub fn wait_for_termination() -> anyhow::Result<()> {
    install();
    wait_for_signal(None);
    Ok(())
}

#[cfg(test)]
mod tests;

//! Scratch: temporary directories and files removed exactly once (by their owner's `Drop` or
//! by the signal handler), and the sweep that removes what a killed xtask left behind.

use std::path::{Path, PathBuf};

use super::{lock, random_u64, SCRATCH};

/// A temporary directory removed exactly once: by `Drop`, or by the signal handler when the
/// process has to end without its owner. Its name carries the pid of the xtask that made it,
/// so the next xtask removes it if this one was killed.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

const SCRATCH_PREFIX: &str = "xtask-";

impl Scratch {
    /// `<temp dir>/xtask-<what>-<pid>-<random>`.
    pub fn new(what: &str) -> std::io::Result<Self> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        for _ in 0..16 {
            let path = base.join(format!(
                "{SCRATCH_PREFIX}{what}-{pid}-{:08x}",
                random_u64() as u32
            ));
            let mut set = lock(&SCRATCH);
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    set.insert(path.clone());
                    return Ok(Self { path });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
        Err(std::io::Error::other(format!(
            "could not create a scratch directory in {}",
            base.display()
        )))
    }

    /// A scratch file at `path` (which need not exist yet), removed like a scratch directory.
    pub fn file(path: PathBuf) -> Self {
        lock(&SCRATCH).insert(path.clone());
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut set = lock(&SCRATCH);
        if set.remove(&self.path) {
            remove_path(&self.path);
        }
    }
}

fn remove_path(path: &Path) {
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

pub(super) fn remove_all_scratch() {
    let mut set = lock(&SCRATCH);
    for path in std::mem::take(&mut *set) {
        remove_path(&path);
    }
}

/// `<prefix><pid>-<8 hex digits>[.ext]` for scratch files the xtask keeps inside the project
/// (forge may only read and write there): the name the next xtask sweeps by.
pub fn scratch_file_name(prefix: &str, ext: &str) -> String {
    format!(
        "{prefix}{}-{:08x}{ext}",
        std::process::id(),
        random_u64() as u32
    )
}

/// Remove the scratch files named by [`scratch_file_name`] with `prefix` in `dir` whose xtask
/// is no longer running (it was killed before it could remove them).
pub fn sweep_stale_files(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let stem = rest.split('.').next().unwrap_or_default();
        let Some((pid, random)) = stem.split_once('-') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if random.len() == 8 && random.chars().all(|c| c.is_ascii_hexdigit()) && !process_alive(pid)
        {
            remove_path(&entry.path());
        }
    }
}

/// Remove `xtask-*-<pid>-*` scratch directories whose xtask is no longer running.
pub fn sweep_stale_scratch() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(pid) = owner_pid(name) {
            if !process_alive(pid) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// The pid in `xtask-<what>-<pid>-<8 hex digits>`.
pub fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(SCRATCH_PREFIX)?;
    let mut parts = rest.rsplitn(3, '-');
    let random = parts.next()?;
    let pid = parts.next()?;
    let _what = parts.next()?;
    (random.len() == 8 && random.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| pid.parse().ok())
        .flatten()
}

pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill(2) with signal 0 only checks existence.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

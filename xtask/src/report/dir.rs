//! The report directory a run owns: made new, marked and locked for the run's lifetime.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// A report directory that belongs to one run: made new by it (never an existing directory
/// written over silently), marked with `.xtask-run`, which the run holds locked (flock) for as
/// long as it lives.
#[derive(Debug)]
pub struct ReportDir {
    path: PathBuf,
    _lock: std::fs::File,
}

/// The marker every report directory carries (the pid of the run that made it).
const MARKER: &str = ".xtask-run";

impl ReportDir {
    /// Fails with exit 2 when `path` exists and cannot be used: without `force` whenever it
    /// exists; with `force` when it is not a report directory (no `.xtask-run` or `report.json`,
    /// and not empty) or a running xtask still writes to it.
    pub fn available(path: &Path, force: bool) -> Result<(), crate::error::Unusable> {
        use crate::error::Unusable;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => {
                return Err(Unusable::new(format!(
                    "cannot use {}: {err}",
                    path.display()
                )));
            }
        };
        if !force {
            return Err(Unusable::with_fix(
                format!("the report directory {} already exists", path.display()),
                "choose another --report-dir (the default is new for every run), or pass --force to replace a finished report",
            ));
        }
        if !meta.is_dir() {
            return Err(Unusable::new(format!(
                "{} exists and is not a directory; --force replaces report directories only",
                path.display()
            )));
        }
        let empty = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none());
        let marked = path.join(MARKER).is_file() || path.join("report.json").is_file();
        if !empty && !marked {
            return Err(Unusable::with_fix(
                format!(
                    "{} is not a report directory (no {MARKER} or report.json): --force will not remove it",
                    path.display()
                ),
                "choose another --report-dir",
            ));
        }
        if let Ok(file) = std::fs::File::open(path.join(MARKER)) {
            if !try_lock(&file) {
                return Err(Unusable::new(format!(
                    "{} belongs to a run that is still going (its {MARKER} is locked)",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// Make `path` for this run (replacing a finished report with `force`, see [`available`]).
    ///
    /// [`available`]: ReportDir::available
    pub fn create(path: &Path, force: bool) -> anyhow::Result<Self> {
        Self::available(path, force)?;
        if force && path.exists() {
            std::fs::remove_dir_all(path)
                .with_context(|| format!("removing {} (--force)", path.display()))?;
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        match std::fs::create_dir(path) {
            Ok(()) => {}
            // Another run made it between the check and now.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(crate::error::Unusable::with_fix(
                    format!("the report directory {} already exists", path.display()),
                    "choose another --report-dir",
                )
                .into());
            }
            Err(err) => {
                return Err(anyhow::Error::new(err)
                    .context(format!("creating the report directory {}", path.display())));
            }
        }
        let marker = path.join(MARKER);
        let lock = std::fs::File::create(&marker)
            .with_context(|| format!("creating {}", marker.display()))?;
        {
            use std::io::Write as _;
            let mut writer = &lock;
            writeln!(writer, "{}", std::process::id())
                .with_context(|| format!("writing {}", marker.display()))?;
        }
        anyhow::ensure!(try_lock(&lock), "could not lock {}", marker.display());
        Ok(Self {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when it holds no file but its marker.
    pub fn is_empty(&self) -> bool {
        let mut stack = vec![self.path.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path != self.path.join(MARKER) {
                    return false;
                }
            }
        }
        true
    }

    /// Remove the directory and everything in it (a run that ends with nothing to report).
    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// An exclusive, non-blocking flock; released when the file is closed (or the process ends,
/// however it ends).
fn try_lock(file: &std::fs::File) -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd as _;
        // SAFETY: flock(2) on a file descriptor we own for the duration of the call.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        true
    }
}

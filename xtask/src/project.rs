//! Where the repository is and where things live inside it.

use std::path::{Path, PathBuf};

/// The repository root and the paths the xtask uses.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
}

impl Project {
    /// The repository this xtask was built from. `XTASK_ROOT` points it at another checkout
    /// (the CLI tests use it to run against a scratch copy of the project files).
    pub fn locate() -> Self {
        let root = match std::env::var_os("XTASK_ROOT") {
            Some(root) if !root.is_empty() => PathBuf::from(root),
            _ => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("xtask lives one level below the repository root")
                .to_path_buf(),
        };
        Self { root }
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn node_modules(&self) -> PathBuf {
        self.root.join("node_modules")
    }

    pub fn package_json(&self) -> PathBuf {
        self.root.join("package.json")
    }

    pub fn package_lock(&self) -> PathBuf {
        self.root.join("package-lock.json")
    }

    /// Our solc-js shim (see the comments in the script for what it works around).
    pub fn solc_shim(&self) -> PathBuf {
        self.root.join("tools").join("solc-js-shim")
    }

    pub fn solc_js(&self) -> PathBuf {
        self.node_modules().join("solc").join("solc.js")
    }

    pub fn forge_std(&self) -> PathBuf {
        self.node_modules()
            .join("@layerzerolabs/toolbox-foundry/lib/forge-std")
    }

    pub fn forge_out(&self) -> PathBuf {
        self.root.join("out")
    }

    pub fn forge_cache(&self) -> PathBuf {
        self.root.join("cache")
    }
}

/// Drop the variables `cargo run` set for this process (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, ...)
/// from a nested cargo command: build scripts that watch them (ring's does) would otherwise see
/// other values than in a top-level build and rebuild everything on every run.
pub fn nested_cargo(cmd: &mut std::process::Command) -> &mut std::process::Command {
    const SET_BY_CARGO_RUN: [&str; 7] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_TARGET_TMPDIR",
    ];
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_") || SET_BY_CARGO_RUN.contains(&key.as_ref()) {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd
}

/// A command that runs this xtask again, as a child. Through cargo when cargo started us
/// (`cargo test` may have rebuilt, i.e. replaced, this very binary meanwhile), else this binary.
pub fn self_command(project: &Project) -> std::process::Command {
    match std::env::var_os("CARGO") {
        Some(cargo) => {
            let mut cmd = std::process::Command::new(cargo);
            nested_cargo(&mut cmd)
                .args(["run", "--quiet", "--package", "xtask", "--"])
                .current_dir(project.root());
            cmd
        }
        None => {
            let exe = std::env::current_exe().unwrap_or_else(|_| "xtask".into());
            let mut cmd = std::process::Command::new(exe);
            cmd.current_dir(project.root());
            cmd
        }
    }
}

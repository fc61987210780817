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

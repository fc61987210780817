//! forge asks its compiler for `--version` every time it starts. Through the solc-js shim that
//! is a node start loading the wasm compiler, about 1.4 s of the 2.3 s a `forge script` with
//! nothing to run takes on this project; a window sweep starts forge once per pinned block.
//! [`answering_version`] gives a command a compiler that answers `--version` from the answer
//! read once and hands every other call (a compile) to the shim unchanged.
//!
//! Off (forge asks the shim at every start, as before): `XTASK_SOLC_VERSION_ONCE=off`. The
//! bench's `--jobs 1 --no-chain-cache` sweep uses it to run the way the sweep ran before.

use super::{Compiler, Toolchain};
use crate::signals::Scratch;
use std::path::Path;

/// `off`: forge asks the compiler its version at every start.
pub const ENV_VAR: &str = "XTASK_SOLC_VERSION_ONCE";

/// The toolchain with a compiler that answers `--version` at once, and the scratch directory
/// that holds it (keep it while the toolchain is used). The toolchain unchanged (and `None`)
/// for a native or explicit compiler (already fast), when [`ENV_VAR`] is `off`, when a
/// compiler other than the default solc-js is selected, or when the answer cannot be prepared
/// (the shim then answers as before: only a speed-up is lost).
pub fn answering_version(toolchain: &Toolchain) -> (Toolchain, Option<Scratch>) {
    let unchanged = || (toolchain.clone(), None);
    let Compiler::SolcJs { shim, node } = &toolchain.compiler else {
        return unchanged();
    };
    let off = std::env::var(ENV_VAR).is_ok_and(|v| v.eq_ignore_ascii_case("off"));
    let other_compiler = ["SOLC_JS_VERSION", "SOLC_JS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if off || other_compiler {
        return unchanged();
    }
    match prepare(toolchain, shim, node) {
        Ok((wrapper, scratch)) => {
            let mut answered = toolchain.clone();
            answered.compiler = Compiler::SolcJs {
                shim: wrapper,
                node: node.clone(),
            };
            (answered, Some(scratch))
        }
        Err(err) => {
            crate::shell::warn(format!(
                "forge will ask solc-js its version at every start: {err:#}"
            ));
            unchanged()
        }
    }
}

/// The shim's `--version` answer, kept in a scratch directory with a wrapper script that
/// prints it (for the default compiler only) or runs the shim.
fn prepare(
    toolchain: &Toolchain,
    shim: &Path,
    node: &Path,
) -> anyhow::Result<(std::path::PathBuf, Scratch)> {
    let output = std::process::Command::new(shim)
        .current_dir(toolchain.project.root())
        .env("NODE", node)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()?;
    anyhow::ensure!(
        output.status.success() && output.stdout.starts_with(b"solc"),
        "{} --version answered {}",
        shim.display(),
        output.status
    );
    let scratch = Scratch::new("solc")?;
    let answer = scratch.path().join("version");
    std::fs::write(&answer, &output.stdout)?;
    let quoted = |p: &Path| -> anyhow::Result<String> {
        let s = p
            .to_str()
            .filter(|s| !s.contains('\''))
            .ok_or_else(|| anyhow::anyhow!("{} cannot be quoted for sh", p.display()))?;
        Ok(format!("'{s}'"))
    };
    let script = format!(
        "#!/bin/sh\n\
         # Written by cargo xtask: answers forge's `--version` with {shim_q}'s answer, read once.\n\
         if [ \"$#\" -eq 1 ] && [ \"$1\" = --version ] && [ -z \"${{SOLC_JS_VERSION:-}}${{SOLC_JS:-}}\" ]; then\n\
         \x20   exec cat {answer_q}\n\
         fi\n\
         exec {shim_q} \"$@\"\n",
        shim_q = quoted(shim)?,
        answer_q = quoted(&answer)?,
    );
    let wrapper = scratch.path().join("solc");
    std::fs::write(&wrapper, script)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok((wrapper, scratch))
}

//! `cargo xtask`: see `xtask::cli` for the commands.

fn main() -> std::process::ExitCode {
    xtask::cli::main()
}

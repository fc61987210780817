//! `cargo xtask rpc-probe` (placeholder while the proxy compiles).

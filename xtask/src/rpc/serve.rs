//! `cargo xtask rpc-proxy` (placeholder).

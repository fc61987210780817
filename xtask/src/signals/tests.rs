use super::*;

#[test]
fn scratch_names_carry_their_owner() {
    assert_eq!(owner_pid("xtask-anvil-4242-0badcafe"), Some(4242));
    assert_eq!(owner_pid("xtask-forge-broadcast-17-01234567"), Some(17));
    assert_eq!(owner_pid("xtask-anvil-4242"), None);
    assert_eq!(owner_pid("solc-js-shim.abcdef"), None);
    assert_eq!(owner_pid("xtask-anvil-x-0badcafe"), None);
}

#[test]
fn scratch_is_removed_once_on_drop() {
    let scratch = Scratch::new("unit").unwrap();
    let path = scratch.path().to_path_buf();
    std::fs::write(path.join("f"), "x").unwrap();
    assert_eq!(
        owner_pid(&path.file_name().unwrap().to_string_lossy()),
        Some(std::process::id())
    );
    drop(scratch);
    assert!(!path.exists());
}

#[test]
fn upstream_variables_are_scrubbed() {
    let vars = [
        ("BSC_RPC_URL", "https://bsc.example/KEY"),
        ("ETH_RPC_URL", "x"),
        ("FOUNDRY_FORK_URL", "x"),
        ("ETHERSCAN_API_KEY", "x"),
        ("CHAOS_FORK_URL", "x"),
        ("BSC_FORK_BLOCK", "45000000"),
        ("SOMETHING", "wss://node.example/?key=KEY"),
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/root"),
        ("FOUNDRY_SOLC", "/x/tools/solc-js-shim"),
    ]
    .map(|(k, v)| (k.into(), v.into()));
    let removed = scrubbed(vars);
    assert_eq!(
        removed,
        [
            "BSC_RPC_URL",
            "ETH_RPC_URL",
            "FOUNDRY_FORK_URL",
            "ETHERSCAN_API_KEY",
            "CHAOS_FORK_URL",
            "BSC_FORK_BLOCK",
            "SOMETHING"
        ]
        .map(std::ffi::OsString::from)
    );
}

use super::*;

#[test]
fn analysis_matches_what_anvil_writes() {
    // EIP-2935's history contract as anvil 1.7 dumps it: 83 bytes, JUMPDESTs at 66 and 70,
    // ending in STOP (nothing to pad).
    let code = alloy::hex::decode("3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500").unwrap();
    let v = legacy_analyzed(&code);
    assert_eq!(v["original_len"], 83);
    assert_eq!(v["jump_table"]["bits"], 83);
    assert_eq!(
        v["jump_table"]["data"],
        serde_json::json!([0, 0, 0, 0, 0, 0, 0, 0, 68, 0, 0])
    );
    assert_eq!(
        v["bytecode"].as_str().unwrap(),
        alloy::primitives::Bytes::from(code.clone()).to_string()
    );
    // Empty code: one STOP, no bits.
    let e = legacy_analyzed(&[]);
    assert_eq!(e["bytecode"], "0x00");
    assert_eq!(e["jump_table"]["bits"], 0);
    // A PUSH2 cut short at the end: padded past its immediates, then STOP.
    let p = legacy_analyzed(&[0x61, 0x01]);
    assert_eq!(p["bytecode"], "0x61010000");
}

#[test]
fn eviction_keeps_the_most_recently_used_entries_and_skips_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for i in 0..6u64 {
        let entry = dir.path().join(format!("entry{i}"));
        std::fs::create_dir(&entry).unwrap();
        let manifest = std::fs::File::create(entry.join(MANIFEST)).unwrap();
        manifest
            .set_modified(base + std::time::Duration::from_secs(i * 60))
            .unwrap();
    }
    // Entry 0 was used last: it stays, 1 and 2 go.
    touch(&dir.path().join("entry0").join(MANIFEST));
    std::fs::create_dir(dir.path().join(".tmp-1-00000000")).unwrap();
    evict(dir.path(), 4);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".tmp-1-00000000", "entry0", "entry3", "entry4", "entry5"]
    );
}

#[test]
fn keys_differ_by_any_input_and_entries_are_checked() {
    let a = Key::from_inputs(vec!["option seed=1".into()]);
    let b = Key::from_inputs(vec!["option seed=2".into()]);
    assert_ne!(a.hash, b.hash);
    assert_eq!(a.hash, Key::from_inputs(vec!["option seed=1".into()]).hash);
}

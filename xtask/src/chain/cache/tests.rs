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

fn manifest(kept: &[(u64, bool)], timestamps: Vec<u64>) -> Manifest {
    Manifest {
        format: FORMAT,
        key: Key::from_inputs(vec![]),
        head: timestamps.len() as u64 - 1,
        head_hash: String::new(),
        state_root: String::new(),
        kept: kept
            .iter()
            .map(|&(block, pinned)| Kept {
                block,
                hash: String::new(),
                nav: String::new(),
                share_price: String::new(),
                risk_mode: 0,
                pinned,
            })
            .collect(),
        timestamps,
        history_from: 5,
        files: BTreeMap::new(),
        created_at: 0,
    }
}

#[test]
fn an_entry_serves_a_run_only_when_it_keeps_every_block_the_run_pins() {
    use keep::{At, Every, Keep};
    // Blocks 0..=4 deploy (one second apart), then one block a minute up to the head, 20.
    let timestamps: Vec<u64> = (0..=20u64)
        .map(|n| if n < 5 { 1000 + n } else { 1000 + 60 * n })
        .collect();
    let entry = manifest(&[(8, false), (12, true), (16, true)], timestamps.clone());
    // The landmarks' run, a kept block, the head, a time whose last block is kept.
    assert_eq!(entry.serves(None), Serves::Yes);
    assert_eq!(entry.serves(Some(&Keep::At(At::Block(12)))), Serves::Yes);
    assert_eq!(entry.serves(Some(&Keep::At(At::Block(20)))), Serves::Yes);
    assert_eq!(
        entry.serves(Some(&Keep::At(At::Time(1000 + 60 * 16 + 59)))),
        Serves::Yes
    );
    let window = |every| Keep::Window {
        from: At::Block(8),
        to: At::Block(16),
        every,
    };
    assert_eq!(entry.serves(Some(&window(Every::Blocks(4)))), Serves::Yes);
    // A block it does not keep: a cold build keeps the run's blocks and the entry's own.
    assert_eq!(
        entry.serves(Some(&window(Every::Blocks(2)))),
        Serves::No([8, 10, 12, 14, 16].into())
    );
    assert_eq!(
        entry.serves(Some(&Keep::At(At::Time(1000 + 60 * 9 + 30)))),
        Serves::No([9, 12, 16].into())
    );
    // A block of the deployment can never be kept.
    assert_eq!(entry.serves(Some(&Keep::At(At::Block(3)))), Serves::Never);
    // Nor can more blocks than an entry keeps.
    let long: Vec<u64> = (0..200u64).map(|n| 1000 + 60 * n).collect();
    let every = manifest(&[], long);
    assert_eq!(
        every.serves(Some(&Keep::Window {
            from: At::Block(5),
            to: At::Block(199),
            every: Every::Blocks(1),
        })),
        Serves::Never
    );
}

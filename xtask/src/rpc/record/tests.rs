use super::*;

fn meta() -> Meta {
    Meta {
        chain_id: 56,
        kind: "local-replica".into(),
        seed: 42,
        days: 1,
        fresh_vault: false,
        head: 1034,
        default_blocks: vec![(700, "calm".into())],
        pinned: vec![PinnedRecord {
            number: 700,
            hash: "0x01".into(),
            timestamp: 5,
            label: "calm".into(),
        }],
    }
}

fn recorded(dir: &Path) -> Manifest {
    let recorder = Recorder::default();
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["0xABC", "0x2bc"]});
    recorder.store(
        Some(700),
        &call,
        &json!({"jsonrpc": "2.0", "id": 3, "result": "0x10"}),
    );
    for (method, result) in [("eth_getTransactionCount", "0x1"), ("eth_getCode", "0x60")] {
        let call =
            json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": ["0xabc", "0x2bc"]});
        recorder.store(
            Some(700),
            &call,
            &json!({"jsonrpc": "2.0", "id": 3, "result": result}),
        );
    }
    let info = json!({"jsonrpc": "2.0", "id": 3, "method": "eth_getAccountInfo", "params": ["0xdef", "0x2bc"]});
    let account = json!({"balance": "0x5", "nonce": "0x2", "code": "0x"});
    recorder.store(
        Some(700),
        &info,
        &json!({"jsonrpc": "2.0", "id": 3, "result": account}),
    );
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_call", "params": [{"to": "0x1"}, "0x2bc"]}
    ]);
    let answers = json!([
        {"jsonrpc": "2.0", "id": 2, "error": {"code": 3, "message": "execution reverted"}},
        {"jsonrpc": "2.0", "id": 1, "result": "0x38"}
    ]);
    recorder.store(None, &batch, &answers);
    assert_eq!(recorder.len(), 6);
    recorder
        .write(dir, meta(), json!({"usdt": "0x55"}))
        .unwrap()
}

#[test]
fn a_recording_round_trips_and_names_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = recorded(dir.path());
    assert_eq!(manifest.answers, 6);
    assert_eq!(manifest.answers_per_block["700"], 4);
    let replay = Replay::load(dir.path()).unwrap();
    assert_eq!(replay.meta, meta());
    assert_eq!(replay.address_book, json!({"usdt": "0x55"}));
    // Checksummed or not, the same address is the same key.
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "eth_getBalance", "params": ["0xabc", "0x2bc"]});
    assert_eq!(
        replay.answer(Some(700), &call),
        json!({"jsonrpc": "2.0", "id": 9, "result": "0x10"})
    );
    // An account read in the other form is answered from the recorded one.
    let info = json!({"id": 5, "method": "eth_getAccountInfo", "params": ["0xabc", "0x2bc"]});
    assert_eq!(
        replay.answer(Some(700), &info)["result"],
        json!({"balance": "0x10", "nonce": "0x1", "code": "0x60"})
    );
    let nonce = json!({"id": 6, "method": "eth_getTransactionCount", "params": ["0xdef", "0x2bc"]});
    assert_eq!(replay.answer(Some(700), &nonce)["result"], "0x2");
    let reverted = json!({"id": 4, "method": "eth_call", "params": [{"to": "0x1"}, "0x2bc"]});
    assert_eq!(replay.answer(None, &reverted)["error"]["code"], 3);
    assert!(replay.missing().is_empty());
    // The same call for another block's work is not in the recording.
    let answer = replay.answer(Some(800), &call);
    assert_eq!(answer["error"]["code"], MISSING_CODE);
    let err = replay.missing_error().unwrap().to_string();
    assert!(
        err.contains("eth_getBalance [\"0xabc\",\"0x2bc\"] (work at block 800)"),
        "{err}"
    );
}

#[test]
fn the_same_answers_give_the_same_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    recorded(a.path());
    recorded(b.path());
    assert_eq!(
        std::fs::read(a.path().join(PAYLOAD)).unwrap(),
        std::fs::read(b.path().join(PAYLOAD)).unwrap()
    );
}

#[test]
fn tampered_recordings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    recorded(dir.path());
    let manifest_path = dir.path().join(MANIFEST);
    let original = std::fs::read_to_string(&manifest_path).unwrap();

    let other_version = original.replace("\"version\": 1", "\"version\": 2");
    std::fs::write(&manifest_path, other_version).unwrap();
    let err = Replay::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("format version 2"), "{err}");

    let other_chain = original.replace("\"chain_id\": 56", "\"chain_id\": 97");
    std::fs::write(&manifest_path, other_chain).unwrap();
    let err = Replay::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("chain 97 in its manifest and 56"), "{err}");

    std::fs::write(&manifest_path, &original).unwrap();
    let payload_path = dir.path().join(PAYLOAD);
    let mut payload = std::fs::read(&payload_path).unwrap();
    let tampered = {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&payload[..])
            .read_to_end(&mut text)
            .unwrap();
        let text = String::from_utf8(text)
            .unwrap()
            .replace("\"0x10\"", "\"0x11\"");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    std::fs::write(&payload_path, &tampered).unwrap();
    let err = Replay::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("does not match its manifest"), "{err}");

    payload.truncate(payload.len() / 2);
    std::fs::write(&payload_path, &payload).unwrap();
    let err = Replay::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("damaged"), "{err}");
    assert!(Replay::load(&dir.path().join("nothing")).is_err());
}

//! The entry's state file: anvil's head dump with its `historical_states` filled in for the kept
//! blocks, built from the dumps taken when each of them was the head.

use std::collections::BTreeMap;
use std::io::Read as _;

use alloy::primitives::{keccak256, B256};
use anyhow::Context as _;

use super::Built;

/// The head dump with anvil's `historical_states` filled for every kept block, so that the
/// loaded chain serves state (and forks) at those blocks; and every block's timestamp, block 0
/// first, from the dump's headers.
pub(super) fn state_with_history(built: &Built<'_>) -> anyhow::Result<(Vec<u8>, Vec<u64>)> {
    let mut head = decode_dump(built.head_dump).context("the head's state dump")?;
    let blocks = head["blocks"]
        .as_array()
        .context("the state dump has no blocks")?;
    // Block hashes by number (for BLOCKHASH at a historical state), from the headers.
    let mut hashes = BTreeMap::new();
    let mut times = BTreeMap::new();
    for block in blocks {
        let header: alloy::consensus::Header = serde_json::from_value(block["header"].clone())
            .context("a block header of the dump")?;
        hashes.insert(header.number, header.hash_slow());
        times.insert(header.number, header.timestamp);
    }
    anyhow::ensure!(
        times.keys().copied().eq(0..=built.head),
        "the dump does not hold every block from 0 to the head"
    );
    anyhow::ensure!(
        hashes.get(&built.head) == Some(&built.head_hash),
        "the dump's head header does not hash to the head block's hash"
    );
    let mut history = Vec::new();
    for (kept, dump) in built.kept_dumps {
        let state =
            decode_dump(dump).with_context(|| format!("the dump at block {}", kept.block))?;
        let hash: B256 = kept.hash.parse()?;
        anyhow::ensure!(
            hashes.get(&kept.block) == Some(&hash),
            "block {} of the head's dump is not the kept block",
            kept.block
        );
        let block_hashes: serde_json::Map<String, serde_json::Value> = hashes
            .range(kept.block.saturating_sub(255)..=kept.block)
            .map(|(n, h)| (format!("{n:#x}"), serde_json::Value::String(h.to_string())))
            .collect();
        history.push(serde_json::json!([
            kept.hash,
            snapshot(&state, block_hashes)?
        ]));
    }
    head["historical_states"] = serde_json::Value::Array(history);
    Ok((serde_json::to_vec(&head)?, times.into_values().collect()))
}

fn decode_dump(gz: &[u8]) -> anyhow::Result<serde_json::Value> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut json)?;
    Ok(serde_json::from_slice(&json)?)
}

/// anvil's historical state (accounts with analysed code, storage, recent block hashes) from a
/// state dump's accounts.
fn snapshot(
    dump: &serde_json::Value,
    block_hashes: serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let accounts = dump["accounts"]
        .as_object()
        .context("the state dump has no accounts")?;
    let mut infos = serde_json::Map::new();
    let mut storage = serde_json::Map::new();
    for (address, account) in accounts {
        let code = alloy::primitives::Bytes::from(
            alloy::hex::decode(account["code"].as_str().unwrap_or("0x"))
                .with_context(|| format!("the code of {address}"))?,
        );
        infos.insert(
            address.clone(),
            serde_json::json!({
                "balance": account["balance"],
                "nonce": account["nonce"],
                "code_hash": keccak256(&code).to_string(),
                "code": { "LegacyAnalyzed": legacy_analyzed(&code) },
            }),
        );
        storage.insert(
            address.clone(),
            account
                .get("storage")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({})),
        );
    }
    Ok(serde_json::json!({
        "accounts": infos,
        "storage": storage,
        "block_hashes": block_hashes,
    }))
}

/// revm's analysed legacy bytecode as anvil serialises it: the code padded so that no PUSH
/// runs past the end and it ends in STOP, and the bit set of valid JUMPDESTs (one bit per byte
/// of the original code, least significant bit first).
pub fn legacy_analyzed(code: &[u8]) -> serde_json::Value {
    let mut jumps = vec![0u8; code.len().div_ceil(8)];
    let mut i = 0usize;
    let mut last = 0u8;
    while i < code.len() {
        let op = code[i];
        last = op;
        if op == 0x5b {
            jumps[i / 8] |= 1 << (i % 8);
        }
        if (0x60..=0x7f).contains(&op) {
            i += usize::from(op - 0x5f);
        }
        i += 1;
    }
    let mut padded = code.to_vec();
    if code.is_empty() {
        padded.push(0);
    } else {
        let overrun = i - code.len();
        padded.resize(code.len() + overrun + usize::from(last != 0), 0);
    }
    serde_json::json!({
        "bytecode": alloy::primitives::Bytes::from(padded).to_string(),
        "original_len": code.len(),
        "jump_table": {
            "order": "bitvec::order::Lsb0",
            "head": { "width": 8, "index": 0 },
            "bits": code.len(),
            "data": jumps,
        },
    })
}

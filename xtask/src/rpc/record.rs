//! Recordings: every upstream answer a chaos run needed, stored so the run can be served
//! again with no upstream at all (`cargo xtask chaos --record DIR`, `--replay DIR`).
//!
//! # Format (version 1)
//!
//! A recording is a directory with two files:
//!
//! - `manifest.json`: `format` (`bsc-vault-chaos/rpc-recording`), `version`, `chain_id`,
//!   `kind`, `seed`, the pinned blocks, the number of answers (overall and per block), the
//!   compressed size and `content_hash`: keccak-256 of the uncompressed payload;
//! - `replies.json.gz`: the payload, gzip-compressed JSON: everything in the manifest that a
//!   replay depends on (chain id, kind, seed, days, the vault deployment mode, the head and
//!   the default blocks with their labels, the pinned blocks with hash and time), the chain's
//!   address book, and the answers, each keyed by the pinned block whose work asked for it
//!   (none while pinning), the method and its canonical params (JSON with sorted keys, hex
//!   strings in lower case), with its `result` or `error`. Answers are sorted by key, so the
//!   same run gives the same bytes.
//!
//! Nothing secret is stored: no URL, no header, no key; only what the upstream answered.
//!
//! On load ([`Replay::load`]) the version must be known, the payload's hash must equal the
//! manifest's, the payload's chain id must equal the manifest's and every recorded
//! `eth_chainId` answer must agree with it. A request the recording does not hold is answered
//! with a JSON-RPC error that names it, and remembered ([`Replay::missing`]): the run then
//! stops with exit 2 naming the first one, never fetching it from anywhere.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::Unusable;

pub const FORMAT: &str = "bsc-vault-chaos/rpc-recording";
pub const VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const PAYLOAD: &str = "replies.json.gz";
/// The JSON-RPC error code of an answer the recording does not hold.
pub const MISSING_CODE: i64 = -32099;
/// The largest payload read back (uncompressed).
const MAX_PAYLOAD_BYTES: u64 = 2 << 30;

/// A block the run pinned, as the upstream reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedRecord {
    pub number: u64,
    pub hash: String,
    pub timestamp: u64,
    pub label: String,
}

/// What a replay needs besides the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub chain_id: u64,
    /// `local-replica` or `bsc`.
    pub kind: String,
    pub seed: u64,
    pub days: u32,
    /// Whether every live fork deployed a fresh vault.
    pub fresh_vault: bool,
    /// The upstream's head as the run read it once.
    pub head: u64,
    /// The blocks a run without a block flag pins, with their labels.
    pub default_blocks: Vec<(u64, String)>,
    pub pinned: Vec<PinnedRecord>,
}

/// Where an answer is filed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    /// The pinned block whose work asked (none: pinning and other run-wide reads).
    pub block: Option<u64>,
    pub method: String,
    /// Canonical JSON of the params.
    pub params: String,
}

impl Key {
    pub fn new(block: Option<u64>, method: &str, params: &Value) -> Self {
        Self {
            block,
            method: method.to_owned(),
            params: canonical(params).to_string(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.params)?;
        match self.block {
            Some(block) => write!(f, " (work at block {block})"),
            None => f.write_str(" (while pinning)"),
        }
    }
}

/// Hex strings in lower case (addresses may come checksummed); serde_json sorts object keys.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::String(s) if s.starts_with("0x") || s.starts_with("0X") => {
            Value::String(s.to_ascii_lowercase())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        other => other.clone(),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    block: Option<u64>,
    method: String,
    params: Value,
    /// `{"result": ...}` or `{"error": ...}`.
    answer: Value,
}

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    format: String,
    version: u32,
    meta: Meta,
    address_book: Value,
    replies: Vec<Entry>,
}

/// What `manifest.json` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub chain_id: u64,
    pub kind: String,
    pub seed: u64,
    pub pinned: Vec<u64>,
    pub answers: u64,
    /// Answers per pinned block (`run`: pinning and other run-wide reads).
    pub answers_per_block: BTreeMap<String, u64>,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub content_hash: String,
}

/// The answer part of a JSON-RPC response (`result` or `error`), without id and version.
fn answer_of(response: &Value) -> Option<Value> {
    if let Some(result) = response.get("result") {
        return Some(json!({ "result": result }));
    }
    response.get("error").map(|error| json!({ "error": error }))
}

/// Collects answers during a run (shared by the run's resilient proxies).
#[derive(Debug, Default)]
pub struct Recorder {
    answers: Mutex<BTreeMap<Key, Value>>,
}

impl Recorder {
    /// File the answers to `request` (one call or a batch) found in `response`.
    pub fn store(&self, block: Option<u64>, request: &Value, response: &Value) {
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = |call: &Value, response: &Value| {
            let Some(method) = call.get("method").and_then(Value::as_str) else {
                return;
            };
            let Some(answer) = answer_of(response) else {
                return;
            };
            let params = call.get("params").cloned().unwrap_or(Value::Null);
            answers
                .entry(Key::new(block, method, &params))
                .or_insert(answer);
        };
        match (request, response) {
            (Value::Array(calls), Value::Array(items)) => {
                for call in calls {
                    let id = call.get("id");
                    if let Some(item) = items.iter().find(|i| i.get("id") == id) {
                        file(call, item);
                    }
                }
            }
            (Value::Object(_), Value::Object(_)) => file(request, response),
            _ => {}
        }
    }

    pub fn len(&self) -> usize {
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the recording into `dir` (created; files in it are replaced).
    pub fn write(&self, dir: &Path, meta: Meta, address_book: Value) -> anyhow::Result<Manifest> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let answers = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut per_block: BTreeMap<String, u64> = BTreeMap::new();
        let replies: Vec<Entry> = answers
            .into_iter()
            .map(|(key, answer)| {
                *per_block
                    .entry(
                        key.block
                            .map_or_else(|| "run".to_owned(), |b| b.to_string()),
                    )
                    .or_default() += 1;
                Entry {
                    block: key.block,
                    method: key.method,
                    params: serde_json::from_str(&key.params).unwrap_or(Value::Null),
                    answer,
                }
            })
            .collect();
        let payload = Payload {
            format: FORMAT.to_owned(),
            version: VERSION,
            meta: meta.clone(),
            address_book,
            replies,
        };
        let bytes = serde_json::to_vec(&payload)?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes)?;
        let compressed = encoder.finish()?;
        let payload_path = dir.join(PAYLOAD);
        std::fs::write(&payload_path, &compressed)
            .with_context(|| format!("writing {}", payload_path.display()))?;
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            version: VERSION,
            chain_id: meta.chain_id,
            kind: meta.kind,
            seed: meta.seed,
            pinned: meta.pinned.iter().map(|p| p.number).collect(),
            answers: payload.replies.len() as u64,
            answers_per_block: per_block,
            compressed_bytes: compressed.len() as u64,
            uncompressed_bytes: bytes.len() as u64,
            content_hash: alloy::primitives::keccak256(&bytes).to_string(),
        };
        std::fs::write(
            dir.join(MANIFEST),
            serde_json::to_string_pretty(&manifest)? + "\n",
        )?;
        Ok(manifest)
    }
}

/// A loaded, verified recording that serves answers.
#[derive(Debug)]
pub struct Replay {
    pub dir: PathBuf,
    pub meta: Meta,
    pub manifest: Manifest,
    pub address_book: Value,
    answers: HashMap<Key, Value>,
    missing: Mutex<Vec<Key>>,
    served: AtomicU64,
}

fn bad(dir: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    Unusable::with_fix(
        format!("the recording in {} {what}", dir.display()),
        "record it again with `cargo xtask chaos --record DIR`",
    )
    .into()
}

impl Replay {
    /// Read and verify `dir` (version, content hash, chain id).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let manifest_path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", manifest_path.display()),
                "pass a directory written by `cargo xtask chaos --record DIR`",
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| bad(dir, format_args!("has an unreadable manifest ({e})")))?;
        if manifest.format != FORMAT {
            return Err(bad(
                dir,
                format_args!("is not a recording (format `{}`)", manifest.format),
            ));
        }
        if manifest.version != VERSION {
            return Err(bad(
                dir,
                format_args!(
                    "has format version {}; this xtask reads version {VERSION}",
                    manifest.version
                ),
            ));
        }
        let file = std::fs::File::open(dir.join(PAYLOAD))
            .map_err(|e| bad(dir, format_args!("has no readable {PAYLOAD} ({e})")))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .take(MAX_PAYLOAD_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(dir, format_args!("has a damaged {PAYLOAD} ({e})")))?;
        let hash = alloy::primitives::keccak256(&bytes).to_string();
        if hash != manifest.content_hash {
            return Err(bad(
                dir,
                format_args!(
                    "does not match its manifest: content hash {hash}, manifest says {}",
                    manifest.content_hash
                ),
            ));
        }
        let payload: Payload = serde_json::from_slice(&bytes)
            .map_err(|e| bad(dir, format_args!("has an unreadable payload ({e})")))?;
        if payload.version != VERSION || payload.format != FORMAT {
            return Err(bad(dir, "has a payload of another format version"));
        }
        if payload.meta.chain_id != manifest.chain_id {
            return Err(bad(
                dir,
                format_args!(
                    "says chain {} in its manifest and {} in its payload",
                    manifest.chain_id, payload.meta.chain_id
                ),
            ));
        }
        let mut answers = HashMap::with_capacity(payload.replies.len());
        for entry in payload.replies {
            if entry.method == "eth_chainId" {
                let id = entry
                    .answer
                    .get("result")
                    .and_then(Value::as_str)
                    .and_then(super::parse_quantity);
                if id != Some(payload.meta.chain_id) {
                    return Err(bad(
                        dir,
                        format_args!(
                            "holds an eth_chainId answer {} for chain {}",
                            entry.answer, payload.meta.chain_id
                        ),
                    ));
                }
            }
            answers.insert(
                Key::new(entry.block, &entry.method, &entry.params),
                entry.answer,
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            meta: payload.meta,
            manifest,
            address_book: payload.address_book,
            answers,
            missing: Mutex::new(Vec::new()),
            served: AtomicU64::new(0),
        })
    }

    /// The response to one call (a JSON-RPC object with the call's id).
    pub fn answer(&self, block: Option<u64>, call: &Value) -> Value {
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        let method = call
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let params = call.get("params").cloned().unwrap_or(Value::Null);
        let key = Key::new(block, method, &params);
        let found = self
            .answers
            .get(&key)
            .cloned()
            .or_else(|| self.derived(block, method, &params));
        let mut response = match found {
            Some(answer) => {
                self.served.fetch_add(1, Ordering::Relaxed);
                answer
            }
            None => {
                let message = format!("not in the recording: {key}");
                let mut missing = self
                    .missing
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if missing.len() < 1000 && !missing.contains(&key) {
                    missing.push(key);
                }
                json!({ "error": { "code": MISSING_CODE, "message": message } })
            }
        };
        if let Some(object) = response.as_object_mut() {
            object.insert("jsonrpc".into(), json!("2.0"));
            object.insert("id".into(), id);
        }
        response
    }

    /// An account read answered from the same account's other recorded form: a fork backend
    /// asks for balance, nonce and code either in one `eth_getAccountInfo` or in three calls,
    /// and which one it uses for a given account depends on timing, not on the run.
    fn derived(&self, block: Option<u64>, method: &str, params: &Value) -> Option<Value> {
        let result = |m: &str| {
            self.answers
                .get(&Key::new(block, m, params))
                .and_then(|a| a.get("result"))
                .cloned()
        };
        let field = match method {
            "eth_getAccountInfo" => {
                return Some(json!({ "result": {
                    "balance": result("eth_getBalance")?,
                    "nonce": result("eth_getTransactionCount")?,
                    "code": result("eth_getCode")?,
                }}))
            }
            "eth_getBalance" => "balance",
            "eth_getTransactionCount" => "nonce",
            "eth_getCode" => "code",
            _ => return None,
        };
        let value = result("eth_getAccountInfo")?.get(field)?.clone();
        Some(json!({ "result": value }))
    }

    /// Requests asked for that the recording does not hold, in the order first asked.
    pub fn missing(&self) -> Vec<Key> {
        self.missing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// The error a run ends with when the recording lacked something.
    pub fn missing_error(&self) -> Option<anyhow::Error> {
        let missing = self.missing();
        let first = missing.first()?;
        Some(
            Unusable::with_fix(
                format!(
                    "the recording in {} holds no answer for {first}{}",
                    self.dir.display(),
                    if missing.len() > 1 {
                        format!(" (and {} more)", missing.len() - 1)
                    } else {
                        String::new()
                    }
                ),
                "replay with the blocks, experiments and flags it was recorded with, or record again",
            )
            .into(),
        )
    }
}

#[cfg(test)]
mod tests;

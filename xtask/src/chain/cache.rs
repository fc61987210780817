//! The chain cache: a built local chain (deployment and seeded history) kept as anvil's own state
//! dump, so that a warm run loads it in seconds instead of replaying the history.
//!
//! What an entry is: anvil's `anvil_dumpState` of the chain at its head (every account, every
//! block header and transaction), plus anvil's historical-state format for the blocks a run may
//! fork without asking (the landmarks and every other phase boundary of the history) and for the
//! blocks runs pinned ([`keep`]), plus the
//! address book and `chain.json`, plus the LP pair's tape ([`tape`]: its accumulator state at
//! every block since the vault's deployment, which the live-fork engine's shadow TWAP reads at
//! blocks the entry keeps no state for). A fork reads state *at* its pinned block, so an entry
//! serves a run only when every pinned block is one it holds ([`Manifest::serves`], on the
//! block timestamps it records); otherwise the chain is built cold, keeping the run's blocks,
//! and the new entry replaces the old (`cargo xtask chain` says which blocks a cached chain
//! serves).
//!
//! The key: a hash of everything that decides the chain: the format version below, the chain
//! options (seed, days and whatever else [`crate::chain::ChainOptions`] gains), the anvil
//! flags, the history's code (`chain/mod.rs`, `build.rs` and `history.rs`), anvil's and forge's `--version`, and the
//! bytecode of every artifact forge compiled outside `test/` and `script/` (the vault, the
//! replicas, anything a deployment can reach) plus the deployment script's own import closure.
//!
//! Trust: an entry is used only after its files hash to what its manifest says (a corrupted or
//! half-copied entry is rejected), and after the loaded chain shows the head block hash and
//! state root recorded when it was built, and the vault's NAV, share price and risk mode at every
//! kept block equal the history's own samples, and the LP pair at every kept block and the head
//! reads what the pair tape recorded. Anything else: the entry is removed and the chain
//! is built cold. Entries are written under a scratch name and renamed into place (never seen
//! half-written); at most [`MAX_ENTRIES`] are kept, the least recently used go first.
//!
//! Off: `--no-chain-cache` or `XTASK_CHAIN_CACHE=off`; cleared by `cargo xtask chain
//! --clear-cache` (or removing `cache/chain/`).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

mod dump;
pub mod keep;
mod key;
pub mod tape;

pub use dump::legacy_analyzed;
use dump::state_with_history;
use key::sha256_hex;
pub use key::{artifact_inputs, key, Key};

/// Bumped whenever the entry's layout or what it means changes.
pub const FORMAT: u32 = 3;
/// Entries kept (each a few MB compressed).
pub const MAX_ENTRIES: usize = 4;
/// Disables the cache like `--no-chain-cache` (`off`, `0`, `false`, `no`).
pub const ENV_VAR: &str = "XTASK_CHAIN_CACHE";

/// How a chain build uses the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Neither read nor written.
    Off,
    /// Built cold (the run pins blocks an entry might not serve), then stored.
    Store(PathBuf),
    /// Loaded when an entry verifies, else built cold and stored.
    Use(PathBuf),
    /// Like `Use` for a run that pins other blocks than the landmarks: loaded when an entry
    /// verifies and keeps state at every block `keep` pins; else built cold, taking the state
    /// of those blocks on the way, and stored in place of the entry it could not use.
    Keep(PathBuf, keep::Keep),
}

impl Mode {
    /// `Use(dir)` unless `disabled` or `XTASK_CHAIN_CACHE` says off.
    pub fn new(dir: PathBuf, disabled: bool) -> Self {
        if disabled || env_disabled() {
            Mode::Off
        } else {
            Mode::Use(dir)
        }
    }

    /// The blocks a run pins besides the landmarks, with [`Mode::Keep`].
    pub fn keep(&self) -> Option<&keep::Keep> {
        match self {
            Mode::Keep(_, keep) => Some(keep),
            _ => None,
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        match self {
            Mode::Off => None,
            Mode::Store(dir) | Mode::Use(dir) | Mode::Keep(dir, _) => Some(dir),
        }
    }
}

fn env_disabled() -> bool {
    std::env::var(ENV_VAR).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "0" | "false" | "no"
        )
    })
}

/// Puts the cache elsewhere (the tests use it for a cache of their own).
pub const DIR_ENV_VAR: &str = "XTASK_CHAIN_CACHE_DIR";

/// The project's chain cache directory, `cache/chain/` (ignored by git with the rest of
/// `cache/`), unless `XTASK_CHAIN_CACHE_DIR` names another.
pub fn default_dir(root: &Path) -> PathBuf {
    match std::env::var_os(DIR_ENV_VAR) {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("cache").join("chain"),
    }
}

/// Where a chain came from, for chain.json and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Loaded from a verified entry.
    Hit,
    /// Built cold; stored as a new entry.
    Stored,
    /// Built cold; not stored (why in the log).
    Miss,
    /// The cache was off.
    Off,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Hit => "hit",
            Status::Stored => "stored",
            Status::Miss => "miss",
            Status::Off => "off",
        }
    }
}

/// A block whose state the entry serves, and what the history recorded there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Kept {
    pub block: u64,
    pub hash: String,
    pub nav: String,
    pub share_price: String,
    pub risk_mode: u8,
    /// Kept because a run pinned it (not one of the history's phase boundaries).
    #[serde(default)]
    pub pinned: bool,
}

/// Whether an entry can serve a run that pins what `keep` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serves {
    /// It keeps state at every block the run pins.
    Yes,
    /// It does not; a cold build can take these blocks (the run's and the entry's own beyond
    /// the phase boundaries) and store an entry that does.
    No(std::collections::BTreeSet<u64>),
    /// It does not, and no entry could: a pinned block lies in the deployment, or the run pins
    /// more blocks than an entry keeps.
    Never,
}

impl Manifest {
    /// Whether this entry keeps state at every block `keep` pins on its chain (the head is
    /// always served).
    pub fn serves(&self, keep: Option<&keep::Keep>) -> Serves {
        let Some(keep) = keep else {
            return Serves::Yes;
        };
        let pinned = keep::pinned(keep, &self.timestamps);
        let kept: std::collections::BTreeSet<u64> = self.kept.iter().map(|k| k.block).collect();
        let missing: Vec<u64> = pinned
            .iter()
            .copied()
            .filter(|n| *n != self.head && !kept.contains(n))
            .collect();
        if missing.is_empty() {
            return Serves::Yes;
        }
        if missing.iter().any(|n| *n < self.history_from) || pinned.len() > keep::MAX_PINNED {
            return Serves::Never;
        }
        // The blocks this entry kept for earlier runs stay kept, as long as they fit.
        let mut blocks = pinned.clone();
        blocks.extend(self.kept.iter().filter(|k| k.pinned).map(|k| k.block));
        if blocks.len() > keep::MAX_PINNED {
            blocks = pinned;
        }
        Serves::No(blocks)
    }
}

/// `entry.json`: what an entry holds and how to check it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub key: Key,
    pub head: u64,
    pub head_hash: String,
    pub state_root: String,
    pub kept: Vec<Kept>,
    /// Every block's timestamp, block 0 first: which blocks a run's `--at` or `--window`
    /// pins, known before the chain is loaded ([`Manifest::serves`]).
    pub timestamps: Vec<u64>,
    /// The first block whose state a build can keep: the deployment's last block (the history
    /// starts after it).
    pub history_from: u64,
    /// sha256 of `state.json.gz`, `address-book.json`, `chain.json` and `pair-tape.json`.
    pub files: BTreeMap<String, String>,
    pub created_at: u64,
}

const STATE: &str = "state.json.gz";
const BOOK: &str = "address-book.json";
const INFO: &str = "chain.json";
const TAPE: &str = "pair-tape.json";
const MANIFEST: &str = "entry.json";

/// A verified-on-disk entry, ready to load.
pub struct Entry {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Entry {
    /// The decompressed state (anvil's `--load-state` JSON).
    pub fn state_json(&self) -> anyhow::Result<Vec<u8>> {
        let bytes = std::fs::read(self.dir.join(STATE))?;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .context("decompressing the state")?;
        Ok(out)
    }

    pub fn book(&self) -> PathBuf {
        self.dir.join(BOOK)
    }

    pub fn info(&self) -> PathBuf {
        self.dir.join(INFO)
    }

    /// The pair tape (its hash was checked by [`lookup`]).
    pub fn tape(&self) -> anyhow::Result<tape::PairTape> {
        serde_json::from_slice(&std::fs::read(self.dir.join(TAPE))?)
            .context("the entry's pair tape")
    }
}

/// The entry for `key` in `dir`, if there is one whose files are intact. A damaged one is
/// removed and reported as `Err` (the caller builds cold).
pub fn lookup(dir: &Path, key: &Key) -> anyhow::Result<Option<Entry>> {
    let entry_dir = dir.join(&key.hash);
    if !entry_dir.join(MANIFEST).exists() {
        return Ok(None);
    }
    let check = || -> anyhow::Result<Manifest> {
        let manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(entry_dir.join(MANIFEST))?)
                .context("unreadable manifest")?;
        anyhow::ensure!(
            manifest.format == FORMAT,
            "format {} (this xtask writes {FORMAT})",
            manifest.format
        );
        anyhow::ensure!(
            manifest.key.hash == key.hash && manifest.key.inputs == key.inputs,
            "its key does not match its name"
        );
        for name in [STATE, BOOK, INFO, TAPE] {
            let want = manifest
                .files
                .get(name)
                .with_context(|| format!("the manifest has no hash of {name}"))?;
            let bytes =
                std::fs::read(entry_dir.join(name)).with_context(|| format!("reading {name}"))?;
            anyhow::ensure!(
                &sha256_hex(&bytes) == want,
                "{name} does not hash to what the manifest recorded (corrupted)"
            );
        }
        Ok(manifest)
    };
    match check() {
        Ok(manifest) => {
            // Least recently used goes first: a hit counts as a use.
            touch(&entry_dir.join(MANIFEST));
            Ok(Some(Entry {
                dir: entry_dir,
                manifest,
            }))
        }
        Err(err) => {
            remove(&entry_dir);
            Err(err.context(format!("chain cache entry {} rejected", key.hash)))
        }
    }
}

/// Whether `dir` already holds an entry for `key` (not checked: for a run that only stores).
pub fn stored(dir: &Path, key: &Key) -> bool {
    dir.join(&key.hash).join(MANIFEST).exists()
}

fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// Remove an entry (it failed a check).
pub fn remove(entry_dir: &Path) {
    let _ = std::fs::remove_dir_all(entry_dir);
}

/// Remove every entry. Returns how many there were.
pub fn clear(dir: &Path) -> anyhow::Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut n = 0;
    for entry in entries.flatten() {
        if entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// What a cold build hands over to be stored.
pub struct Built<'a> {
    /// `anvil_dumpState` at the head (gzip JSON, as anvil returns it).
    pub head_dump: &'a [u8],
    /// `anvil_dumpState` at each kept block, taken when that block was the head.
    pub kept_dumps: &'a [(Kept, Vec<u8>)],
    pub head: u64,
    /// The deployment's last block (see [`Manifest::history_from`]).
    pub history_from: u64,
    pub head_hash: B256,
    pub state_root: B256,
    pub book: &'a Path,
    pub info_json: &'a [u8],
    /// The pair tape, read from the cold chain ([`tape::read`]).
    pub tape_json: &'a [u8],
}

/// Write an entry for `key`: under a scratch name first, renamed into place when complete, then
/// the oldest entries beyond [`MAX_ENTRIES`] are removed.
pub fn store(dir: &Path, key: &Key, built: &Built<'_>) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::signals::sweep_stale_files(dir, ".tmp-");
    let scratch =
        crate::signals::Scratch::file(dir.join(crate::signals::scratch_file_name(".tmp-", "")));
    std::fs::create_dir(scratch.path())?;

    let (state, timestamps) = state_with_history(built)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&state)?;
    let state_gz = gz.finish()?;
    let book = std::fs::read(built.book)?;
    let mut files = BTreeMap::new();
    for (name, bytes) in [
        (STATE, &state_gz[..]),
        (BOOK, &book[..]),
        (INFO, built.info_json),
        (TAPE, built.tape_json),
    ] {
        write_synced(&scratch.path().join(name), bytes)?;
        files.insert(name.to_owned(), sha256_hex(bytes));
    }
    let manifest = Manifest {
        format: FORMAT,
        key: key.clone(),
        head: built.head,
        head_hash: built.head_hash.to_string(),
        state_root: built.state_root.to_string(),
        kept: built.kept_dumps.iter().map(|(k, _)| k.clone()).collect(),
        timestamps,
        history_from: built.history_from,
        files,
        created_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    };
    // The manifest last: an entry without one is never looked at.
    write_synced(
        &scratch.path().join(MANIFEST),
        (serde_json::to_string_pretty(&manifest)? + "\n").as_bytes(),
    )?;
    let target = dir.join(&key.hash);
    if target.exists() {
        // An entry of the same chain that keeps other blocks (or another run stored the same
        // chain meanwhile): ours takes its place, the old one is moved aside first so that
        // a reader sees one whole entry or none.
        let old =
            crate::signals::Scratch::file(dir.join(crate::signals::scratch_file_name(".tmp-", "")));
        std::fs::rename(&target, old.path())
            .with_context(|| format!("moving the old entry {} aside", target.display()))?;
        remove(old.path());
    }
    std::fs::rename(scratch.path(), &target)
        .with_context(|| format!("moving the entry into {}", target.display()))?;
    evict(dir, MAX_ENTRIES);
    Ok(target)
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Keep the `keep` most recently used entries.
pub fn evict(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let modified = e.path().join(MANIFEST).metadata().ok()?.modified().ok()?;
            Some((modified, e.path()))
        })
        .collect();
    found.sort();
    let excess = found.len().saturating_sub(keep);
    for (_, path) in found.into_iter().take(excess) {
        remove(&path);
    }
}

#[cfg(test)]
mod tests;

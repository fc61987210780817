//! PancakeSwap V2 on the local chain is the npm registry's source with the project's documented
//! patch and nothing else (`tools/patches/README.md`):
//!
//! 1. the recompilation here is faithful: the registry's unpatched sources, compiled with the
//!    package's own source names and settings, give the package's published bytecode byte for
//!    byte (metadata included);
//! 2. what `cargo xtask` staged for the build is every registry file unchanged, except the
//!    patched files, which differ from the registry exactly in the lines the patch names;
//! 3. those staged sources, recompiled here with solc-js 0.5.16 (not through forge), give the
//!    runtime code of the pair that the registry-built factory deploys on a real anvil, and the
//!    forge artifact the chain is deployed from;
//! 4. the router is bound to that pair: its staged library carries keccak256 of the pair's
//!    creation code as its init-code hash.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use alloy::primitives::{keccak256, Address, B256};
use serde_json::{json, Value};
use xtask::foundry::patch;
use xtask::foundry::registry::{self, CORE_UNIT, PANCAKE_CORE, PANCAKE_PERIPHERY, PERIPHERY_UNIT};
use xtask::project::Project;

fn project() -> Project {
    Project::locate()
}

/// The registry sources built (once per test binary).
fn built() -> registry::Built {
    static BUILT: std::sync::OnceLock<registry::Built> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| registry::ensure(support::toolchain()).expect("registry sources build"))
        .clone()
}

/// Every `.sol` file under `dir`, keyed by its path relative to `dir` (with `/`).
fn sol_files(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "sol") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

/// Compile a standard-JSON input with the npm package `node_modules/<solc>` (solc-js), directly.
fn solc_js(solc: &str, input: &Value) -> Value {
    let project = project();
    let out = tempfile::NamedTempFile::new().unwrap();
    let script = "const solc = require(process.argv[1]);\n\
                  const fs = require('fs');\n\
                  fs.writeFileSync(process.argv[2], solc.compile(fs.readFileSync(0, 'utf8')));";
    let mut child = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(project.node_modules().join(solc))
        .arg(out.path())
        .stdin(Stdio::piped())
        .spawn()
        .expect("node runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.to_string().as_bytes()).unwrap();
    }
    assert!(child.wait().unwrap().success(), "solc-js failed");
    let output: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path()).unwrap()).unwrap();
    let errors: Vec<&Value> = output["errors"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["severity"] == "error").collect())
        .unwrap_or_default();
    assert!(errors.is_empty(), "{errors:?}");
    output
}

fn settings() -> Value {
    // As the solc-0_5_16 profile of foundry.toml says, and as forge passes them on.
    json!({
        "optimizer": {"enabled": true, "runs": 999_999},
        "evmVersion": "istanbul",
        "metadata": {"useLiteralContent": false},
        "libraries": {},
        "outputSelection": {"*": {"*": ["evm.bytecode.object", "evm.deployedBytecode.object"]}}
    })
}

fn hex_of(value: &Value) -> Vec<u8> {
    alloy::primitives::hex::decode(value.as_str().expect("hex string")).expect("hex")
}

#[test]
fn recompiling_the_unpatched_registry_source_gives_the_publishers_bytecode() {
    let project = project();
    let package = project.node_modules().join(PANCAKE_CORE.npm);
    let sources: BTreeMap<String, Value> = sol_files(&package.join("contracts"))
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("test/") && !rel.starts_with("Migration"))
        .map(|(rel, content)| (format!("contracts/{rel}"), json!({ "content": content })))
        .collect();
    let input = json!({"language": "Solidity", "sources": sources, "settings": settings()});
    let output = solc_js("solc-0.5.16", &input);
    let ours = hex_of(
        &output["contracts"]["contracts/PancakePair.sol"]["PancakePair"]["evm"]["bytecode"]
            ["object"],
    );
    let published: Value = serde_json::from_str(
        &std::fs::read_to_string(package.join("build/PancakePair.json")).unwrap(),
    )
    .unwrap();
    let theirs = hex_of(&published["evm"]["bytecode"]["object"]);
    assert!(!ours.is_empty());
    assert_eq!(
        keccak256(&ours),
        keccak256(&theirs),
        "the registry's own build of PancakePair differs from solc-js 0.5.16 on its sources"
    );
}

/// `(line number, old, new)` of every line a file patch changes; the patches change lines in
/// place (as many added as removed in each hunk).
fn changed_lines(file_patch: &patch::FilePatch) -> Vec<(usize, String, String)> {
    let mut changes = Vec::new();
    for hunk in &file_patch.hunks {
        let mut line = hunk.old_start;
        let mut removed: std::collections::VecDeque<(usize, String)> = Default::default();
        for l in &hunk.lines {
            match l {
                patch::HunkLine::Context(_) => line += 1,
                patch::HunkLine::Remove(s) => {
                    removed.push_back((line, s.clone()));
                    line += 1;
                }
                patch::HunkLine::Add(s) => {
                    let (at, old) = removed
                        .pop_front()
                        .expect("the patches edit lines in place");
                    changes.push((at, old, s.clone()));
                }
            }
        }
        assert!(removed.is_empty(), "the patches edit lines in place");
    }
    changes
}

#[test]
fn the_staged_sources_are_the_registry_files_changed_only_where_the_patch_says() {
    let built = built();
    let project = project();
    let hash = alloy::primitives::hex::encode(built.pair_init_code_hash);
    for (unit, package) in [
        (CORE_UNIT, PANCAKE_CORE),
        (PERIPHERY_UNIT, PANCAKE_PERIPHERY),
    ] {
        let staged_dir = unit.src(&project).join(package.npm);
        let staged = sol_files(&staged_dir);
        assert!(!staged.is_empty(), "{} staged nothing", package.npm);
        let patches = registry::load_patch(&project, &package).unwrap();
        for (rel, content) in &staged {
            let original =
                std::fs::read_to_string(project.node_modules().join(package.npm).join(rel))
                    .unwrap();
            match patches.iter().find(|p| &p.path == rel) {
                None => assert_eq!(
                    content, &original,
                    "{}/{rel} differs from the registry",
                    package.npm
                ),
                Some(file_patch) => {
                    let old: Vec<&str> =
                        original.lines().map(|l| l.trim_end_matches('\r')).collect();
                    let new: Vec<&str> =
                        content.lines().map(|l| l.trim_end_matches('\r')).collect();
                    assert_eq!(old.len(), new.len(), "{rel}: lines added or removed");
                    let expected = changed_lines(file_patch);
                    let differing: Vec<usize> = (0..old.len())
                        .filter(|&i| old[i] != new[i])
                        .map(|i| i + 1)
                        .collect();
                    assert_eq!(
                        differing,
                        expected.iter().map(|c| c.0).collect::<Vec<_>>(),
                        "{rel}: the lines that differ from the registry are not the patched ones"
                    );
                    for (line, was, now) in &expected {
                        assert_eq!(old[line - 1], was, "{rel}:{line}");
                        let now = now.replace(registry::PAIR_INIT_CODE_HASH_PLACEHOLDER, &hash);
                        assert_eq!(new[line - 1], now, "{rel}:{line}");
                    }
                }
            }
        }
        for file_patch in &patches {
            assert!(
                staged.contains_key(&file_patch.path),
                "{} not staged",
                file_patch.path
            );
        }
    }
    // The V2 numbers are what the patches bring.
    let pair = std::fs::read_to_string(
        CORE_UNIT
            .src(&project)
            .join(PANCAKE_CORE.npm)
            .join("contracts/PancakePair.sol"),
    )
    .unwrap();
    assert!(pair.contains("balance0.mul(10000).sub(amount0In.mul(25))"));
    assert!(pair.contains("mul(10000**2), 'Pancake: K'"));
    assert!(pair.contains("rootK.mul(17).add(rootKLast.mul(8))"));
    let library = std::fs::read_to_string(
        PERIPHERY_UNIT
            .src(&project)
            .join(PANCAKE_PERIPHERY.npm)
            .join("contracts/libraries/PancakeLibrary.sol"),
    )
    .unwrap();
    assert!(library.contains("amountIn.mul(9975)"));
    assert!(library.contains(&format!("hex'{hash}' // init code hash")));
}

/// The staged core, compiled here with solc-js under the source unit names forge gives it.
fn recompiled_pair() -> (Vec<u8>, Vec<u8>) {
    let project = project();
    let sources: BTreeMap<String, Value> = sol_files(&CORE_UNIT.src(&project))
        .into_iter()
        .map(|(rel, content)| {
            (
                format!("{}/src/{rel}", CORE_UNIT.dir),
                json!({ "content": content }),
            )
        })
        .collect();
    let input = json!({"language": "Solidity", "sources": sources, "settings": settings()});
    let output = solc_js("solc-0.5.16", &input);
    let name = CORE_UNIT.staged_name(&PANCAKE_CORE, "contracts/PancakePair.sol");
    let pair = &output["contracts"][name.as_str()]["PancakePair"]["evm"];
    (
        hex_of(&pair["bytecode"]["object"]),
        hex_of(&pair["deployedBytecode"]["object"]),
    )
}

fn artifact_code(path: PathBuf, key: &str) -> Vec<u8> {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    hex_of(&value[key]["object"])
}

fn rpc(url: &str, method: &str, params: Value) -> Value {
    support::call(url, method, params).unwrap_or_else(|e| panic!("{method}: {e:?}"))
}

/// Mine a transaction from anvil's dev account 0 and return its receipt.
fn transact(url: &str, to: Option<Address>, data: &[u8]) -> Value {
    let mut tx = json!({
        "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "data": alloy::primitives::hex::encode_prefixed(data),
        "gas": "0x1c9c380",
    });
    if let Some(to) = to {
        tx["to"] = json!(to.to_string());
    }
    let hash = rpc(url, "eth_sendTransaction", json!([tx]));
    for _ in 0..100 {
        let receipt = rpc(url, "eth_getTransactionReceipt", json!([hash.clone()]));
        if !receipt.is_null() {
            assert_eq!(receipt["status"], "0x1", "{receipt}");
            return receipt;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no receipt for {hash}");
}

#[test]
fn the_pair_deployed_on_a_chain_is_the_recompiled_registry_source_with_the_patch() {
    let built = built();
    let project = project();
    let (creation, runtime) = recompiled_pair();
    let out = CORE_UNIT.out(&project);
    // The artifacts the chain is deployed from are that compilation.
    assert_eq!(
        keccak256(artifact_code(
            out.join("PancakePair.sol/PancakePair.json"),
            "deployedBytecode"
        )),
        keccak256(&runtime),
        "the forge artifact of the pair is not the recompiled source"
    );
    assert_eq!(built.pair_init_code_hash, keccak256(&creation));

    // A real chain: the registry-built factory deploys a pair; its code is the recompiled one.
    let anvil = support::anvil();
    let url = anvil.url();
    let owner = Address::repeat_byte(0x11);
    let mut deploy = artifact_code(
        out.join("PancakeFactory.sol/PancakeFactory.json"),
        "bytecode",
    );
    deploy.extend_from_slice(B256::left_padding_from(owner.as_slice()).as_slice());
    let receipt = transact(&url, None, &deploy);
    let factory: Address = receipt["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (a, b) = (Address::repeat_byte(0xaa), Address::repeat_byte(0xbb));
    let mut call = keccak256("createPair(address,address)")[..4].to_vec();
    call.extend_from_slice(B256::left_padding_from(a.as_slice()).as_slice());
    call.extend_from_slice(B256::left_padding_from(b.as_slice()).as_slice());
    transact(&url, Some(factory), &call);
    let mut get = keccak256("getPair(address,address)")[..4].to_vec();
    get.extend_from_slice(&call[4..]);
    let ret = rpc(
        &url,
        "eth_call",
        json!([{"to": factory.to_string(), "data": alloy::primitives::hex::encode_prefixed(&get)}, "latest"]),
    );
    let ret = hex_of(&ret);
    let pair = Address::from_slice(&ret[12..32]);
    assert_ne!(pair, Address::ZERO);
    let code = hex_of(&rpc(
        &url,
        "eth_getCode",
        json!([pair.to_string(), "latest"]),
    ));
    assert_eq!(
        keccak256(&code),
        keccak256(&runtime),
        "the pair on the chain is not the registry source with the documented patch"
    );
    // And the factory names the same init-code hash the router was patched with.
    let ret = rpc(
        &url,
        "eth_call",
        json!([{"to": factory.to_string(), "data": alloy::primitives::hex::encode_prefixed(&keccak256("INIT_CODE_PAIR_HASH()")[..4])}, "latest"]),
    );
    assert_eq!(B256::from_slice(&hex_of(&ret)), built.pair_init_code_hash);
}

/// Removes a scratch directory when dropped, also when the test panics.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run the V2 fee test (`testFuzz_real_swapQuoteIsTheV2Fee`, default profile) with the pair's
/// code taken from `artifact` (relative to the project root) or the registry build; returns
/// whether it passed and forge's output.
fn v2_fee_test(artifact: Option<&str>) -> (bool, String) {
    let mut cmd = support::toolchain().command(xtask::toolchain::Tool::Forge);
    cmd.args([
        "test",
        "--match-path",
        "test/replicas/differential/PancakeRouterDifferential.t.sol",
        "--match-test",
        "testFuzz_real_swapQuoteIsTheV2Fee",
    ])
    .env_remove("FOUNDRY_PROFILE")
    .env_remove("V2_FEE_PAIR_ARTIFACT")
    .stdin(Stdio::null());
    if let Some(artifact) = artifact {
        cmd.env("V2_FEE_PAIR_ARTIFACT", artifact);
    }
    let output = cmd.output().expect("forge runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The V2 fee test can fail: the pair compiled from the registry source with a wrong patch
/// (each a plausible mistake in the lines the documented patch changes) is put in place of the
/// local pair, state kept, and the test must fail on every one; on the registry build with the
/// documented patch it passes.
#[test]
fn the_v2_fee_test_fails_on_a_pair_with_a_wrong_patch() {
    let _ = built();
    let project = project();
    let staged = sol_files(&CORE_UNIT.src(&project));
    let pair_rel = format!("{}/contracts/PancakePair.sol", PANCAKE_CORE.npm);
    let patched = staged[&pair_rel].clone();
    let registry_pair = std::fs::read_to_string(
        project
            .node_modules()
            .join(PANCAKE_CORE.npm)
            .join("contracts/PancakePair.sol"),
    )
    .unwrap();
    let fee_line = |n: &str, scale: &str, fee: &str| {
        format!("balance{n}.mul({scale}).sub(amount{n}In.mul({fee}))")
    };
    let replace = |from: &str, to: &str| {
        assert!(patched.contains(from), "the staged pair has no `{from}`");
        patched.replace(from, to)
    };
    let variants: Vec<(&str, String)> = vec![
        // No patch at all: V1's 0.2% fee.
        ("v1_unpatched", registry_pair),
        // Uniswap's 0.3% where PancakeSwap V2 takes 0.25%.
        (
            "fee_30_bps",
            replace(&fee_line("0", "10000", "25"), &fee_line("0", "10000", "30"))
                .replace(&fee_line("1", "10000", "25"), &fee_line("1", "10000", "30")),
        ),
        // The fee lines patched, the K check's scale forgotten.
        ("k_at_v1_scale", replace("mul(10000**2)", "mul(1000**2)")),
        // One of the two fee lines forgotten.
        (
            "token1_fee_unpatched",
            replace(&fee_line("1", "10000", "25"), &fee_line("1", "1000", "2")),
        ),
    ];

    // One compilation: each variant is the whole staged core under a prefix of its own.
    let mut sources = BTreeMap::new();
    for (variant, pair_source) in &variants {
        assert_ne!(pair_source, &patched, "{variant} is not a change");
        for (rel, content) in &staged {
            let content = if rel == &pair_rel {
                pair_source
            } else {
                content
            };
            sources.insert(format!("{variant}/{rel}"), json!({ "content": content }));
        }
    }
    let mut settings = settings();
    settings["outputSelection"] = json!({"*": {"PancakePair": ["evm.deployedBytecode.object"]}});
    let input = json!({"language": "Solidity", "sources": sources, "settings": settings});
    let output = solc_js("solc-0.5.16", &input);

    let dir = format!("build/v2-fee-wrong-patch-{}", std::process::id());
    let scratch = ScratchDir(project.root().join(&dir));
    std::fs::create_dir_all(&scratch.0).unwrap();
    let (passed, text) = v2_fee_test(None);
    assert!(
        passed,
        "the V2 fee test fails on the documented patch:\n{text}"
    );
    for (variant, _) in &variants {
        let code = &output["contracts"][format!("{variant}/{pair_rel}").as_str()]["PancakePair"]
            ["evm"]["deployedBytecode"]["object"];
        assert!(!hex_of(code).is_empty(), "{variant}: no code");
        let artifact = format!("{dir}/{variant}.json");
        std::fs::write(
            project.root().join(&artifact),
            json!({"deployedBytecode": {"object": format!("0x{}", code.as_str().unwrap())}})
                .to_string(),
        )
        .unwrap();
        let (passed, text) = v2_fee_test(Some(&artifact));
        assert!(
            !passed && text.contains("[FAIL") && text.contains("testFuzz_real_swapQuoteIsTheV2Fee"),
            "the V2 fee test does not fail on the pair patched as `{variant}`:\n{text}"
        );
        eprintln!(
            "{variant}: {}",
            text.lines()
                .find(|l| l.contains("[FAIL"))
                .unwrap_or_default()
        );
    }
}

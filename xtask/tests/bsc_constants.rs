//! `deployments/bsc.json` against the constants PancakeSwap publishes in its npm packages
//! (`@pancakeswap/v2-sdk` 1.2.2 and `@pancakeswap/tokens` 0.9.1, pinned in package.json): the V2
//! factory, the init-code hash, the token addresses and decimals, the three pair addresses the
//! SDK derives, and the swap fee (the SDK's quotes against the book's `pancakeFeeBps`). The SDK
//! is run with node, as a user of it would; nothing is scraped from its files.

use std::process::Command;

use alloy::primitives::U256;
use serde_json::Value;
use xtask::project::Project;

/// Reserves and inputs the SDK quotes (USDT in, BTCB out), in wei.
const SAMPLES: [(&str, &str, &str); 4] = [
    (
        "9000000000000000000000000",
        "100000000000000000000",
        "1000000000000000000000",
    ),
    (
        "9000000000000000000000000",
        "100000000000000000000",
        "1000000000000000",
    ),
    (
        "1000000000000000000",
        "3000000000000000000000",
        "999999999999999999",
    ),
    (
        "123456789012345678901234567",
        "98765432109876543210",
        "5555555555555555555555555",
    ),
];

const SCRIPT: &str = r#"
const v2 = require('@pancakeswap/v2-sdk');
const { bscTokens } = require('@pancakeswap/tokens');
const { CurrencyAmount } = require('@pancakeswap/swap-sdk-core');
const samples = JSON.parse(process.argv[1]);
const { usdt, btcb, wbnb } = bscTokens;
const quote = ([rIn, rOut, amountIn]) => {
  const pair = new v2.Pair(CurrencyAmount.fromRawAmount(usdt, rIn), CurrencyAmount.fromRawAmount(btcb, rOut));
  return pair.getOutputAmount(CurrencyAmount.fromRawAmount(usdt, amountIn))[0].quotient.toString();
};
console.log(JSON.stringify({
  factory: v2.FACTORY_ADDRESS_MAP[56],
  initCodeHash: v2.INIT_CODE_HASH_MAP[56],
  tokens: Object.fromEntries([['usdt', usdt], ['btcb', btcb], ['wbnb', wbnb]].map(([k, t]) => [k, { address: t.address, decimals: t.decimals, chainId: t.chainId }])),
  lpPair: v2.Pair.getAddress(btcb, usdt),
  flashPair: v2.Pair.getAddress(wbnb, usdt),
  btcbWbnbPair: v2.Pair.getAddress(btcb, wbnb),
  quotes: samples.map(quote),
}));
"#;

fn sdk() -> Value {
    let project = Project::locate();
    // The pinned packages are there (cargo xtask installs them with npm ci).
    xtask::toolchain::Toolchain::ensure(&project).unwrap();
    let samples = serde_json::to_string(&SAMPLES).unwrap();
    let output = Command::new("node")
        .arg("-e")
        .arg(SCRIPT)
        .arg(samples)
        .current_dir(project.root())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn book() -> Value {
    let path = Project::locate().root().join("deployments/bsc.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn addr(v: &Value) -> String {
    v.as_str().expect("an address").to_lowercase()
}

#[test]
fn the_bsc_book_matches_pancakeswaps_published_constants() {
    let (sdk, book) = (sdk(), book());
    assert_eq!(
        addr(&sdk["factory"]),
        addr(&book["pancakeFactory"]),
        "factory"
    );
    assert_eq!(
        addr(&sdk["initCodeHash"]),
        addr(&book["pancakeInitCodeHash"]),
        "init-code hash"
    );
    for token in ["usdt", "btcb", "wbnb"] {
        let t = &sdk["tokens"][token];
        assert_eq!(addr(&t["address"]), addr(&book[token]), "{token}");
        assert_eq!(t["chainId"], 56, "{token}");
        // The local environment's replica tokens have 18 decimals too (LocalEnvironment).
        assert_eq!(t["decimals"], 18, "{token} decimals");
    }
    for pair in ["lpPair", "flashPair", "btcbWbnbPair"] {
        assert_eq!(addr(&sdk[pair]), addr(&book[pair]), "{pair}");
    }
}

#[test]
fn the_sdks_quotes_are_the_books_fee() {
    let (sdk, book) = (sdk(), book());
    let fee = U256::from(book["pancakeFeeBps"].as_u64().expect("pancakeFeeBps"));
    assert_eq!(fee, U256::from(25u64));
    let keep = U256::from(10_000u64) - fee;
    for (i, (r_in, r_out, amount_in)) in SAMPLES.iter().enumerate() {
        let (r_in, r_out, amount_in): (U256, U256, U256) = (
            r_in.parse().unwrap(),
            r_out.parse().unwrap(),
            amount_in.parse().unwrap(),
        );
        // amountIn * 9975 * rOut / (rIn * 10000 + amountIn * 9975)
        let expected = amount_in * keep * r_out / (r_in * U256::from(10_000u64) + amount_in * keep);
        let quoted: U256 = sdk["quotes"][i].as_str().unwrap().parse().unwrap();
        assert_eq!(quoted, expected, "sample {i}");
    }
}

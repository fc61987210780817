//! Validation of an upstream's JSON-RPC answer before the resilient layer passes it on.
//!
//! An answer is *well-formed* when it is a JSON-RPC 2.0 response object (a batch: an array
//! with exactly one response per call, matched by id) carrying either `result` or an
//! `error` with an integer `code` and a string `message`, and the `id` of the request. A
//! result must also have the shape its method promises (a quantity, 32-byte storage word,
//! hex data, a block object, an account object). For a *pinned* block the answer must be the
//! right block: `eth_getBlockByNumber(N)` returns block N, and for a block the run pinned
//! the hash it pinned ([`Pins`]); `eth_getBlockByHash(H)` returns hash H.
//!
//! A reply that fails any of this is [`Class::Malformed`] (or [`Class::InconsistentBlock`]
//! for a block whose hash changed), retried and never forwarded.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::Value;

use super::{parse_quantity, Class};

/// The hashes of the blocks a run pinned: an answer for one of them with another hash is
/// refused. Only pinned blocks are checked (a local fork mines, reverts and mines again, so
/// its own new blocks legitimately change hash).
#[derive(Debug, Default)]
pub struct Pins(Mutex<HashMap<u64, String>>);

impl Pins {
    pub fn pin(&self, number: u64, hash: &str) {
        self.lock()
            .entry(number)
            .or_insert_with(|| hash.to_ascii_lowercase());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Err when `hash` contradicts what is pinned for `number`.
    fn check(&self, number: u64, hash: &str) -> Result<(), String> {
        let hash = hash.to_ascii_lowercase();
        match self.lock().get(&number) {
            Some(pinned) if *pinned != hash => Err(format!(
                "block {number} came back with hash {hash}, pinned as {pinned}"
            )),
            _ => Ok(()),
        }
    }
}

/// Why an answer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub class: Class,
    pub reason: String,
}

fn malformed(reason: impl Into<String>) -> Invalid {
    Invalid {
        class: Class::Malformed,
        reason: reason.into(),
    }
}

/// Check `answer` against the request it answers (`request`: one call object or a batch).
pub fn check(request: &Value, answer: &Value, pins: &Pins) -> Result<(), Invalid> {
    match request {
        Value::Array(calls) => {
            let Value::Array(items) = answer else {
                // A provider may refuse a whole batch with one error object: well-formed.
                return match answer {
                    Value::Object(o) if o.get("error").is_some() => {
                        envelope(answer, &Value::Null).map(|_| ())
                    }
                    _ => Err(malformed(
                        "a batch was answered with something else than an array",
                    )),
                };
            };
            let mut by_id: HashMap<String, &Value> = HashMap::new();
            for item in items {
                let id = item.get("id").cloned().unwrap_or(Value::Null).to_string();
                if by_id.insert(id.clone(), item).is_some() {
                    return Err(malformed(format!("the batch answer repeats id {id}")));
                }
            }
            let mut asked = HashSet::new();
            for call in calls {
                let id = call.get("id").cloned().unwrap_or(Value::Null);
                asked.insert(id.to_string());
                let item = by_id.get(&id.to_string()).ok_or_else(|| {
                    malformed(format!("the batch answer lacks the call with id {id}"))
                })?;
                one(call, item, pins)?;
            }
            if by_id.keys().any(|id| !asked.contains(id)) {
                return Err(malformed("the batch answer holds an id nobody asked for"));
            }
            Ok(())
        }
        _ => one(request, answer, pins),
    }
}

/// The result of a well-formed response (`None` for an error answer).
fn envelope<'a>(answer: &'a Value, id: &Value) -> Result<Option<&'a Value>, Invalid> {
    let object = answer
        .as_object()
        .ok_or_else(|| malformed("the answer is not a JSON object"))?;
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(malformed("the answer is not JSON-RPC 2.0"));
    }
    match (object.get("result"), object.get("error")) {
        (Some(_), Some(_)) => Err(malformed("the answer has both result and error")),
        (None, None) => Err(malformed("the answer has neither result nor error")),
        (None, Some(error)) => {
            let code = error.get("code").and_then(Value::as_i64);
            let message = error.get("message").and_then(Value::as_str);
            if code.is_none() || message.is_none() {
                return Err(malformed("the error has no integer code or no message"));
            }
            // An error may carry a null id when the request could not be read at all.
            if !id.is_null() && object.get("id").is_some_and(|a| a != id && !a.is_null()) {
                return Err(malformed("the error answers another id"));
            }
            Ok(None)
        }
        (Some(result), None) => {
            if object.get("id") != Some(id) {
                return Err(malformed(format!(
                    "the answer's id {} is not the request's {id}",
                    object.get("id").unwrap_or(&Value::Null)
                )));
            }
            Ok(Some(result))
        }
    }
}

fn one(call: &Value, answer: &Value, pins: &Pins) -> Result<(), Invalid> {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let Some(result) = envelope(answer, &id)? else {
        return Ok(());
    };
    let method = call
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let params = call.get("params").cloned().unwrap_or(Value::Null);
    shape(method, &params, result, pins)
}

fn is_quantity(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| parse_quantity(s).is_some() || is_big_quantity(s))
}

/// Quantities wider than 64 bits (balances): `0x` and 1..=64 hex digits, no leading zero.
fn is_big_quantity(s: &str) -> bool {
    s.strip_prefix("0x").is_some_and(|d| {
        !d.is_empty()
            && d.len() <= 64
            && d.bytes().all(|b| b.is_ascii_hexdigit())
            && (d == "0" || !d.starts_with('0'))
    })
}

fn is_data(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.strip_prefix("0x")
            .is_some_and(|d| d.len() % 2 == 0 && d.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

fn is_word(v: &Value) -> bool {
    is_data(v) && v.as_str().is_some_and(|s| s.len() == 66)
}

fn shape(method: &str, params: &Value, result: &Value, pins: &Pins) -> Result<(), Invalid> {
    let bad = |what: &str| malformed(format!("{method} answered {what}"));
    match method {
        "eth_chainId"
        | "eth_blockNumber"
        | "eth_getBalance"
        | "eth_getTransactionCount"
        | "eth_gasPrice"
        | "eth_estimateGas" => is_quantity(result)
            .then_some(())
            .ok_or_else(|| bad("no quantity")),
        "eth_getStorageAt" => is_word(result)
            .then_some(())
            .ok_or_else(|| bad("no 32-byte word")),
        "eth_getCode" | "eth_call" => is_data(result)
            .then_some(())
            .ok_or_else(|| bad("no hex data")),
        "eth_getAccountInfo" => {
            let ok = ["balance", "nonce"]
                .iter()
                .all(|k| result.get(*k).is_some_and(is_quantity))
                && result.get("code").is_some_and(is_data);
            ok.then_some(())
                .ok_or_else(|| bad("no account (balance, nonce, code)"))
        }
        "eth_getBlockByNumber" | "eth_getBlockByHash" => {
            if result.is_null() {
                return Ok(());
            }
            let number = result
                .get("number")
                .and_then(Value::as_str)
                .and_then(parse_quantity)
                .ok_or_else(|| bad("a block without a number"))?;
            let hash = result
                .get("hash")
                .and_then(Value::as_str)
                .filter(|h| h.len() == 66)
                .ok_or_else(|| bad("a block without a hash"))?;
            let asked = params.get(0).and_then(Value::as_str).unwrap_or_default();
            if method == "eth_getBlockByNumber" {
                if let Some(wanted) = parse_quantity(asked) {
                    if number != wanted {
                        return Err(bad(&format!("block {number} for block {wanted}")));
                    }
                    return pins.check(number, hash).map_err(|reason| Invalid {
                        class: Class::InconsistentBlock,
                        reason,
                    });
                }
            } else if !asked.eq_ignore_ascii_case(hash) {
                return Err(bad(&format!("block {hash} for block {asked}")));
            }
            Ok(())
        }
        "eth_getTransactionByHash" | "eth_getTransactionReceipt" => {
            if result.is_null() {
                return Ok(());
            }
            let key = if method == "eth_getTransactionByHash" {
                "hash"
            } else {
                "transactionHash"
            };
            let asked = params.get(0).and_then(Value::as_str).unwrap_or_default();
            let got = result.get(key).and_then(Value::as_str).unwrap_or_default();
            got.eq_ignore_ascii_case(asked)
                .then_some(())
                .ok_or_else(|| bad("another transaction"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HASH_A: &str = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const HASH_B: &str = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn call(id: u64, method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    fn ok(id: u64, result: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "result": result})
    }

    #[test]
    fn well_formed_answers_pass() {
        let pins = Pins::default();
        let word = format!("0x{}", "0".repeat(63) + "1");
        let cases = [
            (call(1, "eth_chainId", json!([])), ok(1, json!("0x38"))),
            (
                call(2, "eth_getStorageAt", json!(["0x1", "0x0", "0x2bc"])),
                ok(2, json!(word)),
            ),
            (
                call(3, "eth_getCode", json!(["0x1", "0x2bc"])),
                ok(3, json!("0x")),
            ),
            (
                call(4, "eth_getBalance", json!(["0x1", "0x2bc"])),
                ok(4, json!("0xde0b6b3a7640000000000")),
            ),
            (
                call(5, "eth_getBlockByNumber", json!(["0x2bc", false])),
                ok(5, json!({"number": "0x2bc", "hash": HASH_A})),
            ),
            (
                call(6, "eth_call", json!([{}, "0x2bc"])),
                json!({"jsonrpc": "2.0", "id": 6, "error": {"code": 3, "message": "execution reverted"}}),
            ),
            (
                call(7, "eth_getAccountInfo", json!(["0x1", "0x2bc"])),
                ok(7, json!({"balance": "0x0", "nonce": "0x1", "code": "0x60"})),
            ),
        ];
        for (request, answer) in cases {
            assert_eq!(check(&request, &answer, &pins), Ok(()), "{request}");
        }
        let batch = json!([
            call(1, "eth_chainId", json!([])),
            call(2, "eth_blockNumber", json!([]))
        ]);
        let answer = json!([ok(2, json!("0x10")), ok(1, json!("0x38"))]);
        assert_eq!(check(&batch, &answer, &pins), Ok(()));
    }

    #[test]
    fn wrong_ids_wrong_blocks_and_bad_shapes_are_refused() {
        let pins = Pins::default();
        let block = call(5, "eth_getBlockByNumber", json!(["0x2bc", false]));
        let refused = [
            (call(1, "eth_chainId", json!([])), ok(2, json!("0x38"))),
            (
                call(1, "eth_chainId", json!([])),
                json!({"id": 1, "result": "0x38"}),
            ),
            (call(1, "eth_chainId", json!([])), ok(1, json!("fifty-six"))),
            (
                call(1, "eth_getStorageAt", json!(["0x1", "0x0", "0x2bc"])),
                ok(1, json!("0x01")),
            ),
            (
                block.clone(),
                ok(5, json!({"number": "0x2bb", "hash": HASH_A})),
            ),
            (block.clone(), ok(5, json!({"number": "0x2bc"}))),
            (
                call(1, "eth_chainId", json!([])),
                json!([ok(1, json!("0x38"))]),
            ),
            (
                call(1, "eth_chainId", json!([])),
                json!({"jsonrpc": "2.0", "id": 1, "error": {"message": "no code"}}),
            ),
        ];
        for (request, answer) in refused {
            let err = check(&request, &answer, &pins).unwrap_err();
            assert_eq!(err.class, Class::Malformed, "{answer}: {}", err.reason);
        }
        let batch = json!([
            call(1, "eth_chainId", json!([])),
            call(2, "eth_blockNumber", json!([]))
        ]);
        assert!(check(&batch, &json!([ok(1, json!("0x38"))]), &pins).is_err());
        assert!(check(
            &batch,
            &json!([
                ok(1, json!("0x38")),
                ok(2, json!("0x1")),
                ok(3, json!("0x1"))
            ]),
            &pins
        )
        .is_err());
    }

    #[test]
    fn a_pinned_block_cannot_change_its_hash() {
        let pins = Pins::default();
        pins.pin(700, HASH_A);
        let block = call(5, "eth_getBlockByNumber", json!(["0x2bc", false]));
        assert_eq!(
            check(
                &block,
                &ok(5, json!({"number": "0x2bc", "hash": HASH_A})),
                &pins
            ),
            Ok(())
        );
        let err = check(
            &block,
            &ok(5, json!({"number": "0x2bc", "hash": HASH_B})),
            &pins,
        )
        .unwrap_err();
        assert_eq!(err.class, Class::InconsistentBlock);
    }
}

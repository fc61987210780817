//! The probe's individual checks against one endpoint: each sends its few requests and
//! answers with a one-line finding or the [`Failure`] that classifies what went wrong.
//! [`super::probe`] runs them in order, each within the timeout.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{LatencySummary, ProbeSettings, BURST, PINNED_READS, PROBE_ACCOUNT};
use crate::rpc::client::{classify_rpc_error, rpc_result, show_duration, Failure, RpcClient};
use crate::rpc::{parse_quantity, BlockNumber, Class};

pub(super) fn quantity(value: &Value, method: &str) -> Result<u64, Failure> {
    value.as_str().and_then(parse_quantity).ok_or_else(|| {
        Failure::new(
            Class::Malformed,
            format!(
                "{method} answered {} instead of a hex quantity",
                short(value)
            ),
        )
    })
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

pub(super) async fn head_freshness(
    client: &RpcClient,
    first_head: Option<BlockNumber>,
    settings: &ProbeSettings,
) -> Result<String, Failure> {
    let t = settings.timeout;
    let now_head = quantity(
        &client.call("eth_blockNumber", json!([]), t).await?,
        "eth_blockNumber",
    )?;
    if let Some(BlockNumber(first)) = first_head {
        if now_head < first {
            return Err(Failure::new(
                Class::StaleHead,
                format!("head went back from block {first} to {now_head}"),
            ));
        }
    }
    let block = client
        .call("eth_getBlockByNumber", json!(["latest", false]), t)
        .await?;
    let number = quantity(
        block.get("number").unwrap_or(&Value::Null),
        "eth_getBlockByNumber",
    )?;
    let timestamp = quantity(
        block.get("timestamp").unwrap_or(&Value::Null),
        "eth_getBlockByNumber",
    )?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let age = Duration::from_secs(now.saturating_sub(timestamp));
    if age > settings.max_head_age {
        return Err(Failure::new(
            Class::StaleHead,
            format!(
                "head block {number} is {} old (max {})",
                show_age(age),
                show_age(settings.max_head_age)
            ),
        ));
    }
    Ok(format!("head block {number}, {} old", show_age(age)))
}

fn show_age(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m{}s", secs / 60, secs % 60),
        _ => format!("{}h{}m", secs / 3600, (secs % 3600) / 60),
    }
}

pub(super) async fn sample_latency(
    client: &RpcClient,
    settings: &ProbeSettings,
    summary: &mut LatencySummary,
) -> Result<String, Failure> {
    let budget_end = Instant::now() + settings.timeout;
    let mut samples = Vec::new();
    for _ in 0..settings.samples {
        let remaining = budget_end.saturating_duration_since(Instant::now());
        let deadline = remaining.min(settings.timeout);
        let started = Instant::now();
        let outcome = client.call("eth_blockNumber", json!([]), deadline).await;
        let took = started.elapsed();
        match outcome {
            Ok(_) => samples.push(took),
            // The check's budget ran out, not a call's own deadline: keep what was measured.
            Err(failure)
                if failure.class == Class::Timeout
                    && !samples.is_empty()
                    && deadline < settings.timeout =>
            {
                break
            }
            Err(failure) => {
                *summary = LatencySummary::from_samples(&samples);
                return Err(Failure::new(
                    failure.class,
                    format!("sample {}: {}", samples.len() + 1, failure.detail),
                ));
            }
        }
    }
    *summary = LatencySummary::from_samples(&samples);
    let p50 = summary.p50_ms.unwrap_or_default();
    let max = summary.max_ms.unwrap_or_default();
    if samples.len() < settings.samples as usize {
        Ok(format!(
            "{} of {} samples fit in the {} budget; p50 {p50:.1}ms, max {max:.1}ms",
            samples.len(),
            settings.samples,
            show_duration(settings.timeout)
        ))
    } else {
        Ok(format!(
            "{} samples, p50 {p50:.1}ms, max {max:.1}ms",
            samples.len()
        ))
    }
}

pub(super) async fn archive_access(
    client: &RpcClient,
    block: BlockNumber,
    t: Duration,
) -> Result<String, Failure> {
    let tag = block.to_quantity();
    let (balance, code, storage) = tokio::join!(
        client.call("eth_getBalance", json!([PROBE_ACCOUNT, tag]), t),
        client.call("eth_getCode", json!([PROBE_ACCOUNT, tag]), t),
        client.call("eth_getStorageAt", json!([PROBE_ACCOUNT, "0x0", tag]), t),
    );
    let failures: Vec<Failure> = [balance, code, storage]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    // "missing trie node" is the answer this check exists for: it wins over the others.
    if let Some(failure) = failures
        .iter()
        .find(|f| f.class == Class::NotArchive)
        .or(failures.first())
    {
        return Err(Failure::new(
            failure.class,
            format!("state at block {block}: {}", failure.detail),
        ));
    }
    Ok(format!(
        "balance, code and storage readable at block {block}"
    ))
}

pub(super) async fn pinned_block(
    client: &RpcClient,
    block: BlockNumber,
    head: Option<BlockNumber>,
    t: Duration,
) -> Result<String, Failure> {
    let mut hashes: Vec<String> = Vec::with_capacity(PINNED_READS);
    for _ in 0..PINNED_READS {
        let answer = client
            .call(
                "eth_getBlockByNumber",
                json!([block.to_quantity(), false]),
                t,
            )
            .await?;
        if answer.is_null() {
            let head = head.map_or_else(String::new, |h| format!(" although the head is {h}"));
            return Err(Failure::new(
                Class::InconsistentBlock,
                format!("block {block} not served{head}"),
            ));
        }
        let number = quantity(
            answer.get("number").unwrap_or(&Value::Null),
            "eth_getBlockByNumber",
        )?;
        if number != block.0 {
            return Err(Failure::new(
                Class::InconsistentBlock,
                format!("asked for block {block}, got block {number}"),
            ));
        }
        let hash = answer
            .get("hash")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::new(Class::Malformed, "block without a hash"))?
            .to_owned();
        if let Some(first) = hashes.first() {
            if *first != hash {
                return Err(Failure::new(
                    Class::InconsistentBlock,
                    format!("block {block} hash changed between reads: {first} then {hash}"),
                ));
            }
        }
        hashes.push(hash);
    }
    let hash = hashes.first().cloned().unwrap_or_default();
    Ok(format!("block {block} hash {hash} on {PINNED_READS} reads"))
}

pub(super) async fn batch_support(client: &RpcClient, t: Duration) -> Result<String, Failure> {
    let answer = client
        .batch(
            &[("eth_chainId", json!([])), ("eth_blockNumber", json!([]))],
            t,
        )
        .await?;
    let items = match answer {
        Value::Array(items) => items,
        Value::Object(ref object) if object.contains_key("error") => {
            let error = &object["error"];
            let failure = classify_rpc_error(
                error.get("code").and_then(Value::as_i64),
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            return Err(Failure::new(
                failure.class,
                format!("batch refused: {}", failure.detail),
            ));
        }
        other => {
            return Err(Failure::new(
                Class::Malformed,
                format!("batch answered {} instead of an array", short(&other)),
            ))
        }
    };
    for id in [1, 2] {
        let item = items
            .iter()
            .find(|item| item.get("id") == Some(&json!(id)))
            .ok_or_else(|| {
                Failure::new(
                    Class::Malformed,
                    format!("batch answer lacks call {id} of 2"),
                )
            })?;
        rpc_result(item, &json!(id))
            .map_err(|f| Failure::new(f.class, format!("batch call {id}: {}", f.detail)))?;
    }
    Ok("2-call batch answered".to_owned())
}

pub(super) async fn rate_limit(client: &RpcClient, t: Duration) -> Result<String, Failure> {
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..BURST {
        let client = client.clone();
        calls.spawn(async move { client.call("eth_chainId", json!([]), t).await });
    }
    let mut limited = Vec::new();
    let mut other = Vec::new();
    while let Some(joined) = calls.join_next().await {
        match joined {
            Ok(Ok(_)) => {}
            Ok(Err(failure)) if failure.class == Class::RateLimited => limited.push(failure),
            Ok(Err(failure)) => other.push(failure),
            Err(err) => other.push(Failure::new(
                Class::Malformed,
                format!("probe task failed: {err}"),
            )),
        }
    }
    if let Some(first) = limited.first() {
        return Err(Failure::new(
            Class::RateLimited,
            format!(
                "{} of {BURST} concurrent calls rate limited ({})",
                limited.len(),
                first.detail
            ),
        ));
    }
    if let Some(first) = other.first() {
        return Err(Failure::new(
            first.class,
            format!(
                "{} of {BURST} concurrent calls failed: {}",
                other.len(),
                first.detail
            ),
        ));
    }
    Ok(format!(
        "{BURST} concurrent calls answered, none rate limited"
    ))
}

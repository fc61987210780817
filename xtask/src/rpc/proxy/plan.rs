//! Fault planning: which faults a request meets, head faults, and answers assembled from
//! call-level faults.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::wire::{Call, Reply, RpcRequest};
use super::{lock, Shared};
use crate::rpc::fault::{FaultKind, Scope};
use crate::rpc::parse_quantity;

impl Shared {
    pub(super) fn plan(&self, request: &RpcRequest) -> FaultPlan {
        let calls = request.calls();
        let mut plan = FaultPlan {
            delay: Duration::ZERO,
            terminal: None,
            truncate: None,
            calls: vec![None; calls.len()],
        };
        let mut state = lock(&self.state);
        let state = &mut *state;
        for (i, fault) in self.faults.iter().enumerate() {
            let selector = &fault.selector;
            match fault.kind.scope() {
                Scope::Transport => {
                    let candidate = selector.methods.is_empty()
                        || calls.iter().any(|c| {
                            c.method
                                .as_deref()
                                .is_some_and(|m| selector.matches_method(m))
                        });
                    if !candidate {
                        continue;
                    }
                    state.candidates[i] += 1;
                    if !selector.hits(state.candidates[i], &mut state.rng) {
                        continue;
                    }
                    let applied = match &fault.kind {
                        FaultKind::Latency { base, jitter } => {
                            let offset = (state.rng.next_f64() * 2.0 - 1.0) * jitter.as_secs_f64();
                            let delay = (base.as_secs_f64() + offset).max(0.0);
                            plan.delay += Duration::from_secs_f64(delay);
                            true
                        }
                        FaultKind::Truncate { keep } => {
                            plan.truncate.get_or_insert(*keep);
                            true
                        }
                        FaultKind::Hang { max } => set_terminal(&mut plan, Terminal::Hang(*max)),
                        FaultKind::Reset => set_terminal(&mut plan, Terminal::Reset),
                        FaultKind::Http {
                            status,
                            retry_after,
                        } => set_terminal(
                            &mut plan,
                            Terminal::Http {
                                status: *status,
                                retry_after: *retry_after,
                            },
                        ),
                        _ => false,
                    };
                    if applied {
                        state.injected[i] += 1;
                        self.note_injected(fault, calls);
                    }
                }
                Scope::Call => {
                    for (j, call) in calls.iter().enumerate() {
                        let Some(method) = call.method.as_deref() else {
                            continue;
                        };
                        if plan.calls[j].is_some() || !selector.matches_method(method) {
                            continue;
                        }
                        let action = match &fault.kind {
                            FaultKind::RpcError { code, message } => CallAction::Error {
                                code: *code,
                                message: message.clone(),
                            },
                            FaultKind::WrongChain { chain_id }
                                if method == "eth_chainId" || method == "net_version" =>
                            {
                                CallAction::ChainId(*chain_id)
                            }
                            FaultKind::StaleHead { blocks } if is_head_sensitive(call) => {
                                CallAction::Head {
                                    fault: i,
                                    kind: HeadKind::Stale(*blocks),
                                }
                            }
                            FaultKind::RegressHead { max_blocks } if is_head_sensitive(call) => {
                                CallAction::Head {
                                    fault: i,
                                    kind: HeadKind::Regress(*max_blocks),
                                }
                            }
                            _ => continue,
                        };
                        state.candidates[i] += 1;
                        if selector.hits(state.candidates[i], &mut state.rng) {
                            state.injected[i] += 1;
                            self.note_injected(fault, std::slice::from_ref(call));
                            plan.calls[j] = Some(action);
                        }
                    }
                }
            }
        }
        plan
    }

    /// A fault that reaches the tools goes into the run's ledger with its class.
    fn note_injected(&self, fault: &crate::rpc::fault::FaultSpec, calls: &[Call]) {
        let (Some(ledger), true, Some(class)) =
            (&self.ledger, self.faults_reach_client, fault.kind.class())
        else {
            return;
        };
        let methods: Vec<&str> = calls.iter().filter_map(|c| c.method.as_deref()).collect();
        ledger.note(class, format!("fault {fault} on {}", methods.join(",")));
    }

    /// The head a head fault reports now. `read`: this is an `eth_blockNumber` read (which
    /// moves a regressing head one step back).
    pub(super) async fn faulty_head(
        &self,
        fault: usize,
        kind: HeadKind,
        read: bool,
    ) -> Result<u64, Reply> {
        if let HeadKind::Stale(_) = kind {
            if let Some(frozen) = lock(&self.state).frozen_head[fault] {
                return Ok(frozen);
            }
        }
        let real = self.upstream_head().await?;
        let mut state = lock(&self.state);
        Ok(match kind {
            HeadKind::Stale(blocks) => {
                *state.frozen_head[fault].get_or_insert(real.saturating_sub(blocks))
            }
            HeadKind::Regress(max) => {
                let step = state.head_reads[fault].min(max);
                if read {
                    state.head_reads[fault] += 1;
                }
                real.saturating_sub(step)
            }
        })
    }

    pub(super) async fn upstream_head(&self) -> Result<u64, Reply> {
        let request = json!({"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []});
        let reply = self.forward(Bytes::from(request.to_string())).await?;
        serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|v| {
                v.get("result")
                    .and_then(Value::as_str)
                    .and_then(parse_quantity)
            })
            .ok_or_else(|| {
                Reply::text(
                    StatusCode::BAD_GATEWAY,
                    "the upstream did not answer eth_blockNumber",
                )
            })
    }
}

pub(super) fn set_terminal(plan: &mut FaultPlan, terminal: Terminal) -> bool {
    if plan.terminal.is_some() {
        return false;
    }
    plan.terminal = Some(terminal);
    true
}

/// What the proxy will do with one HTTP request.
pub(super) struct FaultPlan {
    pub(super) delay: Duration,
    pub(super) terminal: Option<Terminal>,
    pub(super) truncate: Option<f64>,
    pub(super) calls: Vec<Option<CallAction>>,
}

pub(super) enum Terminal {
    Hang(Duration),
    Reset,
    Http {
        status: u16,
        retry_after: Option<u64>,
    },
}

#[derive(Debug, Clone)]
pub(super) enum CallAction {
    Error { code: i64, message: String },
    ChainId(u64),
    Head { fault: usize, kind: HeadKind },
}

#[derive(Debug, Clone, Copy)]
pub(super) enum HeadKind {
    Stale(u64),
    Regress(u64),
}

pub(super) fn is_head_sensitive(call: &Call) -> bool {
    call.method.as_deref() == Some("eth_blockNumber") || has_latest(&call.params)
}

/// A `latest` block tag among the params, or in an `eth_getLogs` filter.
pub(super) fn has_latest(params: &Value) -> bool {
    let Some(items) = params.as_array() else {
        return false;
    };
    items.iter().any(|item| match item {
        Value::String(tag) => tag == "latest",
        Value::Object(filter) => ["fromBlock", "toBlock"]
            .iter()
            .any(|k| filter.get(*k).and_then(Value::as_str) == Some("latest")),
        _ => false,
    })
}

pub(super) fn rewrite_latest(params: &mut Value, quantity: &str) {
    let Some(items) = params.as_array_mut() else {
        return;
    };
    for item in items {
        match item {
            Value::String(tag) if tag == "latest" => *tag = quantity.to_owned(),
            Value::Object(filter) => {
                for key in ["fromBlock", "toBlock"] {
                    if filter.get(key).and_then(Value::as_str) == Some("latest") {
                        filter.insert(key.to_owned(), Value::String(quantity.to_owned()));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Answer calls with call-level faults locally, rewrite `latest` where a head fault says
/// so, forward the rest (as a batch if the request was one) and merge the answers by id.
pub(super) async fn answer_with_call_faults(
    shared: &Shared,
    request: RpcRequest,
    actions: Vec<Option<CallAction>>,
) -> Result<Reply, Reply> {
    let is_batch = matches!(request, RpcRequest::Batch(_));
    let calls = match request {
        RpcRequest::Single(call) => vec![call],
        RpcRequest::Batch(calls) => calls,
        RpcRequest::Opaque => Vec::new(),
    };
    let mut answers: Vec<Option<Value>> = vec![None; calls.len()];
    let mut forwarded: Vec<(usize, Value)> = Vec::new();
    for (i, (call, action)) in calls.into_iter().zip(actions).enumerate() {
        let id = call.id();
        match action {
            Some(CallAction::Error { code, message }) => {
                answers[i] = Some(
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
                );
            }
            Some(CallAction::ChainId(chain_id)) => {
                let result = if call.method.as_deref() == Some("net_version") {
                    Value::String(chain_id.to_string())
                } else {
                    Value::String(format!("{chain_id:#x}"))
                };
                answers[i] = Some(json!({"jsonrpc": "2.0", "id": id, "result": result}));
            }
            Some(CallAction::Head { fault, kind }) => {
                let read = call.method.as_deref() == Some("eth_blockNumber");
                let head = shared.faulty_head(fault, kind, read).await?;
                let quantity = format!("{head:#x}");
                if read {
                    answers[i] = Some(json!({"jsonrpc": "2.0", "id": id, "result": quantity}));
                } else {
                    let mut raw = call.raw;
                    if let Some(params) = raw.get_mut("params") {
                        rewrite_latest(params, &quantity);
                    }
                    forwarded.push((i, raw));
                }
            }
            None => forwarded.push((i, call.raw)),
        }
    }
    if !forwarded.is_empty() {
        let body = if is_batch {
            Value::Array(forwarded.iter().map(|(_, raw)| raw.clone()).collect())
        } else {
            forwarded[0].1.clone()
        };
        let reply = shared.forward(Bytes::from(body.to_string())).await?;
        if !is_batch {
            return Ok(reply);
        }
        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&reply.body) else {
            // The upstream refused the batch: pass its answer on as it is.
            return Ok(reply);
        };
        let mut by_id: HashMap<String, VecDeque<Value>> = HashMap::new();
        for item in items {
            let id = item.get("id").cloned().unwrap_or(Value::Null).to_string();
            by_id.entry(id).or_default().push_back(item);
        }
        for (i, raw) in forwarded {
            let id = raw.get("id").cloned().unwrap_or(Value::Null);
            let answer = by_id
                .get_mut(&id.to_string())
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| {
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": "the upstream's batch answer lacks this call"}})
                });
            answers[i] = Some(answer);
        }
    }
    let answers: Vec<Value> = answers
        .into_iter()
        .map(|a| a.unwrap_or(Value::Null))
        .collect();
    let body = if is_batch {
        Value::Array(answers)
    } else {
        answers.into_iter().next().unwrap_or(Value::Null)
    };
    Ok(Reply::json(&body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::proxy::ProxyConfig;
    use crate::rpc::Redacted;

    #[test]
    pub(super) fn latest_tags_are_found_and_rewritten() {
        let mut params = json!(["0xabc", "latest"]);
        assert!(has_latest(&params));
        rewrite_latest(&mut params, "0x5");
        assert_eq!(params, json!(["0xabc", "0x5"]));
        let mut logs = json!([{"fromBlock": "0x1", "toBlock": "latest"}]);
        assert!(has_latest(&logs));
        rewrite_latest(&mut logs, "0x5");
        assert_eq!(logs, json!([{"fromBlock": "0x1", "toBlock": "0x5"}]));
        assert!(!has_latest(&json!(["0x1", false])));
        assert!(!has_latest(&json!(null)));
    }

    pub(super) fn proxy_with(faults: &[&str]) -> Shared {
        let upstream = Redacted::parse("http://127.0.0.1:1/", "upstream").unwrap();
        let mut config = ProxyConfig::new(upstream).seed(3);
        for fault in faults {
            config = config.fault(fault.parse().unwrap());
        }
        Shared::new(config).unwrap()
    }

    pub(super) fn request(methods: &[&str]) -> RpcRequest {
        let calls: Vec<Value> = methods
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"jsonrpc": "2.0", "id": i, "method": m, "params": ["0x1", "latest"]}))
            .collect();
        RpcRequest::parse(Value::Array(calls).to_string().as_bytes())
    }

    #[test]
    pub(super) fn plans_follow_selectors() {
        let shared = proxy_with(&[
            "reset@method=eth_call@first=1",
            "rpc-error:-32000@every=2",
            "wrong-chain:97",
        ]);
        let first = shared.plan(&request(&["eth_call"]));
        assert!(matches!(first.terminal, Some(Terminal::Reset)));
        let second = shared.plan(&request(&["eth_call"]));
        assert!(second.terminal.is_none());
        assert!(matches!(
            second.calls[0],
            Some(CallAction::Error { code: -32000, .. })
        ));
        let batch = shared.plan(&request(&["eth_chainId", "eth_getBalance", "net_version"]));
        assert!(matches!(batch.calls[0], Some(CallAction::ChainId(97))));
        assert!(matches!(batch.calls[1], Some(CallAction::Error { .. })));
        assert!(matches!(batch.calls[2], Some(CallAction::ChainId(97))));
        let stats = shared.snapshot();
        assert_eq!(stats.faults[0].injected, 1);
        assert_eq!(stats.faults[1].candidates, 5);
    }

    #[test]
    pub(super) fn state_keys_are_counted_once() {
        let shared = proxy_with(&[]);
        shared.record(&request(&[
            "eth_getBalance",
            "eth_getBalance",
            "eth_chainId",
        ]));
        shared.record(&request(&["eth_getStorageAt"]));
        let stats = shared.snapshot();
        assert_eq!(stats.calls, 4);
        assert_eq!(stats.batches, 2);
        assert_eq!(stats.methods["eth_getBalance"], 2);
        assert_eq!(stats.distinct_state_keys, 2);
        assert_eq!(stats.distinct_state_keys_by_method["eth_getBalance"], 1);
    }
}

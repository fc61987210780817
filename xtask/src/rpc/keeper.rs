//! The live-fork keeper's transport: the proxy's retry policy ([`super::retry`]) at the alloy
//! transport layer, so every read the keeper makes is retried and validated the same way,
//! and sends that are safe to repeat.
//!
//! - Reads (anything [`retry::is_idempotent`]) and setters that are safe to repeat: retried
//!   after a retryable failure, each attempt within the policy's attempt timeout, answers
//!   validated ([`super::validate`]).
//! - `eth_sendTransaction` / `eth_sendTransactionSync`: the node signs the transaction once
//!   (`eth_signTransaction`, which fixes nonce and chain id), so its hash is known before
//!   it is sent; it is then sent raw (`eth_sendRawTransaction[Sync]`). After a failure that
//!   leaves it unknown whether the node took it (reset, timeout, cut answer), the transport
//!   asks the node whether the sender's pending nonce has moved past the transaction's (and
//!   then answers with the node's receipt or hash) and sends the same bytes again only if
//!   it has not; a repeated send can never make a second transaction, because it is the
//!   same signed transaction.
//! - `evm_mine`: the head is read first; after an unclear failure, a head that moved means
//!   the block was mined. `anvil_dropTransaction`: a transaction the node no longer knows
//!   was dropped. `evm_revert` / `anvil_revert`: a repeat that answers `false` after an
//!   unclear first attempt means the first one reverted (the snapshot was consumed).
//! - `evm_snapshot`: retried (a repeat only leaves an unused snapshot id behind).
//! - Anything else that changes the node is sent once; a transport failure of it is written
//!   to the ledger.
//!
//! A request given up on is written to the run's [`Ledger`] with its class; counts per
//! method are in [`KeeperCounters`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alloy::primitives::{keccak256, Bytes};
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use alloy::rpc::json_rpc::{
    Id, RequestPacket, Response, ResponsePacket, ResponsePayload, SerializedRequest,
};
use alloy::transports::http::Http;
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use anyhow::Context as _;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::ledger::Ledger;
use super::retry::{self, Budget, MethodCounters, Policy};
use super::{validate, Class};

/// What the keeper's transport did, per method (shared with the run's report).
#[derive(Debug, Default)]
pub struct KeeperCounters(Mutex<BTreeMap<String, MethodCounters>>);

impl KeeperCounters {
    pub fn snapshot(&self) -> BTreeMap<String, MethodCounters> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn bump(&self, method: &str, f: impl Fn(&mut MethodCounters)) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(map.entry(method.to_owned()).or_default());
    }
}

/// A provider for the keeper's node with the resilient transport.
pub fn connect(
    url: &str,
    policy: Policy,
    ledger: Option<Arc<Ledger>>,
    counters: Arc<KeeperCounters>,
) -> anyhow::Result<DynProvider> {
    let url: url::Url = url.parse().with_context(|| format!("not a URL: {url}"))?;
    let transport = Resilient {
        inner: Http::new(url),
        shared: Arc::new(State {
            policy,
            budget: Budget::default(),
            pins: validate::Pins::default(),
            ledger,
            counters,
        }),
    };
    let client = alloy::rpc::client::RpcClient::new(transport, true);
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client)
        .erased())
}

struct State {
    policy: Policy,
    budget: Budget,
    pins: validate::Pins,
    ledger: Option<Arc<Ledger>>,
    counters: Arc<KeeperCounters>,
}

#[derive(Clone)]
struct Resilient {
    inner: Http<alloy::transports::http::Client>,
    shared: Arc<State>,
}

impl tower_service::Service<RequestPacket> for Resilient {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, packet: RequestPacket) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            match packet {
                RequestPacket::Single(request) => this.single(request).await,
                // The keeper sends no batches; a batch goes once, like any unknown write.
                batch @ RequestPacket::Batch(_) => this.send_once(batch).await,
            }
        })
    }
}

/// An attempt's failure and whether the node may have acted on the request anyway.
struct Failure {
    class: Class,
    error: TransportError,
    /// The request may have reached the node (a reset or timeout after it was sent).
    unclear: bool,
    retry_after: Option<Duration>,
}

/// The class of a transport error, from its type (never from its text).
fn classify(error: &TransportError) -> (Class, bool, Option<Duration>) {
    use alloy::transports::RpcError;
    match error {
        RpcError::ErrorResp(payload) if payload.code == -32005 => (Class::RateLimited, false, None),
        RpcError::ErrorResp(_) | RpcError::NullResp => (Class::RpcError, false, None),
        RpcError::DeserError { .. } => (Class::Malformed, true, None),
        RpcError::Transport(kind) if kind.as_http_error().is_some() => {
            match kind.as_http_error().map_or(0, |h| h.status) {
                429 => (
                    Class::RateLimited,
                    false,
                    Some(kind.retry_after().unwrap_or(Duration::from_secs(1))),
                ),
                500..=599 => (Class::HttpError, true, None),
                _ => (Class::HttpError, false, None),
            }
        }
        RpcError::Transport(TransportErrorKind::Custom(err)) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err.as_ref());
            while let Some(e) = source {
                if let Some(r) = e.downcast_ref::<alloy::transports::http::reqwest::Error>() {
                    return if r.is_timeout() {
                        (Class::Timeout, true, None)
                    } else if r.is_connect() {
                        (Class::Unreachable, false, None)
                    } else if r.is_body() || r.is_decode() {
                        (Class::PartialRead, true, None)
                    } else {
                        (Class::Reset, true, None)
                    };
                }
                source = e.source();
            }
            (Class::Reset, true, None)
        }
        _ => (Class::RpcError, false, None),
    }
}

fn raw(value: &Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string())
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).unwrap_or_default())
}

fn new_request(id: &Id, method: &str, params: Value) -> Result<SerializedRequest, TransportError> {
    alloy::rpc::json_rpc::Request::new(method.to_owned(), id.clone(), params)
        .serialize()
        .map_err(TransportError::ser_err)
}

fn success(id: Id, result: &Value) -> ResponsePacket {
    ResponsePacket::Single(Response {
        id,
        payload: ResponsePayload::Success(raw(result)),
    })
}

/// The JSON of a single response, for validation and inspection.
fn response_value(packet: &ResponsePacket) -> Value {
    serde_json::to_value(match packet {
        ResponsePacket::Single(r) => serde_json::to_value(r).unwrap_or(Value::Null),
        ResponsePacket::Batch(items) => serde_json::to_value(items).unwrap_or(Value::Null),
    })
    .unwrap_or(Value::Null)
}

fn result_of(packet: &ResponsePacket) -> Option<Value> {
    match packet {
        ResponsePacket::Single(Response {
            payload: ResponsePayload::Success(raw),
            ..
        }) => serde_json::from_str(raw.get()).ok(),
        _ => None,
    }
}

/// The nonce of a signed transaction.
fn nonce_of(raw: &[u8]) -> Option<u64> {
    use alloy::consensus::Transaction as _;
    use alloy::eips::eip2718::Decodable2718 as _;
    alloy::consensus::TxEnvelope::decode_2718(&mut &raw[..])
        .ok()
        .map(|tx| tx.nonce())
}

impl Resilient {
    async fn send_once(&self, packet: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let mut inner = self.inner.clone();
        let timeout = self.shared.policy.attempt_timeout;
        match tokio::time::timeout(timeout, tower_service::Service::call(&mut inner, packet)).await
        {
            Ok(result) => result,
            Err(_) => Err(TransportErrorKind::custom_str(
                "no answer within the attempt timeout",
            )),
        }
    }

    /// One attempt of `request`, its answer validated.
    async fn attempt(&self, request: &SerializedRequest) -> Result<ResponsePacket, Failure> {
        let mut inner = self.inner.clone();
        let call = tower_service::Service::call(&mut inner, RequestPacket::Single(request.clone()));
        let packet = match tokio::time::timeout(self.shared.policy.attempt_timeout, call).await {
            Ok(Ok(packet)) => packet,
            Ok(Err(error)) => {
                let (class, unclear, retry_after) = classify(&error);
                return Err(Failure {
                    class,
                    error,
                    unclear,
                    retry_after,
                });
            }
            Err(_) => {
                return Err(Failure {
                    class: Class::Timeout,
                    error: TransportErrorKind::custom_str("no answer within the attempt timeout"),
                    unclear: true,
                    retry_after: None,
                })
            }
        };
        if let ResponsePacket::Single(Response {
            payload: ResponsePayload::Failure(payload),
            ..
        }) = &packet
        {
            if payload.code == -32005 {
                return Err(Failure {
                    class: Class::RateLimited,
                    error: TransportError::ErrorResp(payload.clone()),
                    unclear: false,
                    retry_after: None,
                });
            }
        }
        let request_value: Value =
            serde_json::from_str(request.serialized().get()).unwrap_or(Value::Null);
        if let Err(invalid) =
            validate::check(&request_value, &response_value(&packet), &self.shared.pins)
        {
            return Err(Failure {
                class: invalid.class,
                error: TransportErrorKind::custom_str(&invalid.reason),
                unclear: true,
                retry_after: None,
            });
        }
        Ok(packet)
    }

    /// Decide after a failed attempt: Some(wait) to try again, None to give up.
    fn again(
        &self,
        request: &SerializedRequest,
        attempt: u32,
        started: Instant,
        failure: &Failure,
    ) -> Option<Duration> {
        let method = request.method();
        let policy = &self.shared.policy;
        if !retry::retryable(failure.class) || attempt >= policy.max_attempts {
            return None;
        }
        let key = request.params_hash();
        let key = u64::from_be_bytes(key.0[..8].try_into().unwrap_or_default());
        let mut wait = policy.backoff(key, attempt + 1);
        if let Some(after) = failure.retry_after {
            if after > policy.max_retry_after {
                return None;
            }
            wait = wait.max(after);
        }
        if started.elapsed() + wait >= policy.deadline || !self.shared.budget.try_spend(policy) {
            return None;
        }
        self.shared.counters.bump(method, |c| c.retries += 1);
        Some(wait)
    }

    /// A write that is not safe to repeat failed: the ledger learns why (a node's own
    /// error answer is an answer, not an RPC failure).
    fn note_unretried(&self, method: &str, error: &TransportError) {
        if matches!(error, alloy::transports::RpcError::ErrorResp(_)) {
            return;
        }
        if let Some(ledger) = &self.shared.ledger {
            let (class, _, _) = classify(error);
            ledger.note(
                class,
                format!("the keeper's {method} failed and is not safe to repeat"),
            );
        }
    }

    fn give_up(&self, method: &str, attempts: u32, failure: Failure) -> TransportError {
        self.shared.counters.bump(method, |c| c.give_ups += 1);
        if let Some(ledger) = &self.shared.ledger {
            ledger.note(
                failure.class,
                format!("the keeper gave up on {method} after {attempts} attempt(s)"),
            );
        }
        failure.error
    }

    /// A read: attempts until it works, is not worth repeating, or the policy says stop.
    async fn read(&self, request: &SerializedRequest) -> Result<ResponsePacket, TransportError> {
        let method = request.method().to_owned();
        let started = Instant::now();
        self.shared.budget.first_attempt();
        let mut attempt = 1;
        loop {
            match self.attempt(request).await {
                Ok(packet) => return Ok(packet),
                Err(failure) => match self.again(request, attempt, started, &failure) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None if retry::retryable(failure.class) => {
                        return Err(self.give_up(&method, attempt, failure))
                    }
                    None => return Err(failure.error),
                },
            }
            attempt += 1;
        }
    }

    /// A read the transport makes itself (to check whether something landed).
    async fn ask(&self, id: &Id, method: &str, params: Value) -> Result<Value, TransportError> {
        let packet = self.read(&new_request(id, method, params)?).await?;
        match packet {
            ResponsePacket::Single(Response {
                payload: ResponsePayload::Failure(payload),
                ..
            }) => Err(TransportError::ErrorResp(payload)),
            other => Ok(result_of(&other).unwrap_or(Value::Null)),
        }
    }

    async fn single(&self, request: SerializedRequest) -> Result<ResponsePacket, TransportError> {
        let method = request.method().to_owned();
        match method.as_str() {
            "eth_sendTransaction" | "eth_sendTransactionSync" => self.send(request).await,
            "evm_mine" | "anvil_dropTransaction" | "evm_revert" | "anvil_revert" => {
                self.checked_write(request).await
            }
            // A repeated snapshot only leaves an unused snapshot id behind: safe to retry.
            m if retry::is_idempotent(m) || m == "evm_snapshot" || m == "anvil_snapshot" => {
                self.read(&request).await
            }
            _ => {
                let result = self.send_once(RequestPacket::Single(request)).await;
                if let Err(error) = &result {
                    self.note_unretried(&method, error);
                }
                result
            }
        }
    }

    /// Sign once, send the signed bytes, and after an unclear failure send them again only
    /// if the node does not know the transaction.
    async fn send(&self, request: SerializedRequest) -> Result<ResponsePacket, TransportError> {
        let id = request.id().clone();
        let sync = request.method() == "eth_sendTransactionSync";
        let params: Value = request
            .params()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        let signed = self.ask(&id, "eth_signTransaction", params.clone()).await?;
        let raw_tx = signed
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|h| alloy::primitives::hex::decode(h).ok())
            .map(Bytes::from)
            .ok_or_else(|| TransportErrorKind::custom_str("eth_signTransaction gave no bytes"))?;
        let hash = keccak256(&raw_tx).to_string();
        // Who sends it with which nonce: "did it land" is then a question about the sender's
        // nonce, which the node answers from its own state.
        let sender = params
            .get(0)
            .and_then(|tx| tx.get("from"))
            .cloned()
            .zip(nonce_of(&raw_tx));
        let method = if sync {
            "eth_sendRawTransactionSync"
        } else {
            "eth_sendRawTransaction"
        };
        let send = new_request(&id, method, json!([raw_tx.to_string()]))?;
        let started = Instant::now();
        self.shared.budget.first_attempt();
        let mut attempt = 1;
        let mut unclear = false;
        loop {
            let failure = match self.attempt(&send).await {
                Ok(packet) => {
                    let refused = matches!(
                        &packet,
                        ResponsePacket::Single(Response {
                            payload: ResponsePayload::Failure(_),
                            ..
                        })
                    );
                    // "nonce too low" / "already known" after an unclear attempt: the first
                    // copy landed; answer as if this one did.
                    if refused && unclear {
                        if let Some(landed) = self.landed(&id, &hash, sender.as_ref(), sync).await?
                        {
                            return Ok(landed);
                        }
                    }
                    return Ok(packet);
                }
                Err(failure) => failure,
            };
            if failure.unclear {
                unclear = true;
                if let Some(landed) = self.landed(&id, &hash, sender.as_ref(), sync).await? {
                    return Ok(landed);
                }
            }
            match self.again(&send, attempt, started, &failure) {
                Some(wait) => tokio::time::sleep(wait).await,
                None if retry::retryable(failure.class) => {
                    return Err(self.give_up(method, attempt, failure))
                }
                None => return Err(failure.error),
            }
            attempt += 1;
        }
    }

    /// The answer a send would have given, when the node already has the transaction.
    async fn landed(
        &self,
        id: &Id,
        hash: &str,
        sender: Option<&(Value, u64)>,
        sync: bool,
    ) -> Result<Option<ResponsePacket>, TransportError> {
        let taken = match sender {
            Some((from, nonce)) => {
                let count = self
                    .ask(id, "eth_getTransactionCount", json!([from, "pending"]))
                    .await?;
                count
                    .as_str()
                    .and_then(super::parse_quantity)
                    .is_some_and(|count| count > *nonce)
            }
            None => !self
                .ask(id, "eth_getTransactionByHash", json!([hash]))
                .await?
                .is_null(),
        };
        if !taken {
            return Ok(None);
        }
        if !sync {
            return Ok(Some(success(id.clone(), &json!(hash))));
        }
        // A sync send answers with the receipt; it is there once the block is mined.
        for _ in 0..50 {
            let receipt = self
                .ask(id, "eth_getTransactionReceipt", json!([hash]))
                .await?;
            if !receipt.is_null() {
                return Ok(Some(success(id.clone(), &receipt)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(TransportErrorKind::custom_str(&format!(
            "transaction {hash} was taken by the node but has no receipt"
        )))
    }

    /// Writes made safe to repeat by checking their effect after an unclear failure.
    async fn checked_write(
        &self,
        request: SerializedRequest,
    ) -> Result<ResponsePacket, TransportError> {
        let id = request.id().clone();
        let method = request.method().to_owned();
        let params: Value = request
            .params()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        let head_before = if method == "evm_mine" {
            Some(self.ask(&id, "eth_blockNumber", json!([])).await?)
        } else {
            None
        };
        let started = Instant::now();
        self.shared.budget.first_attempt();
        let mut attempt = 1;
        let mut unclear = false;
        loop {
            let failure = match self.attempt(&request).await {
                Ok(packet) => {
                    let reverted_before = unclear
                        && matches!(method.as_str(), "evm_revert" | "anvil_revert")
                        && result_of(&packet) == Some(Value::Bool(false));
                    if reverted_before {
                        return Ok(success(id, &Value::Bool(true)));
                    }
                    return Ok(packet);
                }
                Err(failure) => failure,
            };
            if failure.unclear {
                unclear = true;
                let landed = match method.as_str() {
                    "evm_mine" => {
                        let head = self.ask(&id, "eth_blockNumber", json!([])).await?;
                        (Some(&head) != head_before.as_ref()).then(|| json!("0x0"))
                    }
                    "anvil_dropTransaction" => {
                        let hash = params.get(0).cloned().unwrap_or(Value::Null);
                        let known = self
                            .ask(&id, "eth_getTransactionByHash", json!([hash.clone()]))
                            .await?;
                        known.is_null().then_some(hash)
                    }
                    _ => None,
                };
                if let Some(result) = landed {
                    return Ok(success(id, &result));
                }
            }
            match self.again(&request, attempt, started, &failure) {
                Some(wait) => tokio::time::sleep(wait).await,
                None if retry::retryable(failure.class) => {
                    return Err(self.give_up(&method, attempt, failure))
                }
                None => return Err(failure.error),
            }
            attempt += 1;
        }
    }
}

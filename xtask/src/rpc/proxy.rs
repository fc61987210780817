//! The fault-injecting JSON-RPC proxy.
//!
//! [`Proxy::start`] binds, starts the proxy on a thread of its own (with its own tokio
//! runtime, so sync code such as tests and the experiment runner can use it) and returns a
//! [`ProxyHandle`]; dropping the handle stops the proxy and closes every connection, so a
//! proxy never outlives the test or command that started it.
//!
//! What it does to each request is chosen by [`FaultSpec`]s (grammar in [`super::fault`]).
//! Requests without a call-level fault are forwarded byte for byte; calls with one are
//! answered locally or rewritten (batches are split and merged back by id).
//!
//! Bounds: request and response bodies up to [`Limits::max_body_bytes`] (413 / 502 beyond),
//! every upstream exchange within [`Limits::upstream_timeout`] (504 beyond), at most
//! [`Limits::max_connections`] client connections at once (further ones wait in the
//! kernel's accept queue), a `hang` held at most its own maximum, and the distinct-key
//! counter capped at [`MAX_TRACKED_KEYS`].
//!
//! `GET /__proxy/stats` answers a [`ProxyStats`] as JSON, to loopback peers only.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify, Semaphore};

use super::fault::{FaultKind, FaultSpec, Scope, SplitMix64};
use super::{parse_quantity, Redacted, MAX_BODY_BYTES};
use crate::error::Unusable;

/// The admin path, answered to loopback peers only.
pub const STATS_PATH: &str = "/__proxy/stats";

/// Distinct state keys remembered at most (8 bytes each); beyond, new keys are not counted
/// and [`ProxyStats::distinct_state_keys_capped`] says so.
pub const MAX_TRACKED_KEYS: usize = 1_000_000;

/// Methods whose (method, params) pairs are counted as distinct state keys.
pub const STATE_METHODS: [&str; 14] = [
    "eth_getBalance",
    "eth_getAccount",
    // What anvil's fork backend asks for (balance, nonce and code in one call).
    "eth_getAccountInfo",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getTransactionCount",
    "eth_call",
    "eth_estimateGas",
    "eth_getProof",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getLogs",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
];

/// Memory and time bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub upstream_timeout: Duration,
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: MAX_BODY_BYTES,
            upstream_timeout: Duration::from_secs(30),
            max_connections: 256,
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// What to proxy, where, and which faults to inject.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub upstream: Redacted,
    pub listen: SocketAddr,
    pub faults: Vec<FaultSpec>,
    pub seed: u64,
    pub limits: Limits,
}

impl ProxyConfig {
    /// Listen on a free loopback port, no faults, seed 0.
    pub fn new(upstream: Redacted) -> Self {
        Self {
            upstream,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            faults: Vec::new(),
            seed: 0,
            limits: Limits::default(),
        }
    }

    pub fn fault(mut self, spec: FaultSpec) -> Self {
        self.faults.push(spec);
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Counters, as served on [`STATS_PATH`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ProxyStats {
    /// POST requests (admin requests excluded), whatever their body.
    pub http_requests: u64,
    /// Of those, batches.
    pub batches: u64,
    /// JSON-RPC calls (a batch of 3 counts 3).
    pub calls: u64,
    /// Calls per method.
    pub methods: BTreeMap<String, u64>,
    /// Distinct (method, canonical params) pairs among state reads.
    pub distinct_state_keys: u64,
    pub distinct_state_keys_by_method: BTreeMap<String, u64>,
    /// True when more keys were seen than [`MAX_TRACKED_KEYS`].
    pub distinct_state_keys_capped: bool,
    /// Upstream failures (unreachable, timeout, too large).
    pub upstream_errors: u64,
    /// Per fault spec, in the order given.
    pub faults: Vec<FaultCount>,
}

/// How often a fault was a candidate and how often it was injected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FaultCount {
    pub spec: String,
    pub candidates: u64,
    pub injected: u64,
}

/// Entry point: see the module docs.
pub struct Proxy;

impl Proxy {
    /// Bind `config.listen` and serve on a thread of its own until the handle is dropped.
    pub fn start(config: ProxyConfig) -> anyhow::Result<ProxyHandle> {
        let listener = std::net::TcpListener::bind(config.listen).map_err(|err| {
            Unusable::with_fix(
                format!("the proxy cannot listen on {}: {err}", config.listen),
                "choose another --listen address, e.g. 127.0.0.1:0 for any free port",
            )
        })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config)?);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the proxy's runtime")?;
        let (shutdown, shutdown_rx) = oneshot::channel();
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("rpc-proxy".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, serving, shutdown_rx).await,
                        Err(err) => crate::shell::error(format!("proxy listener: {err}")),
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(200));
            })
            .context("starting the proxy thread")?;
        Ok(ProxyHandle {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

/// A running proxy. Dropping it stops the proxy and closes its connections.
pub struct ProxyHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProxyHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`: what clients should use instead of the upstream.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn stats(&self) -> ProxyStats {
        self.shared.snapshot()
    }

    /// Stop now and wait until every connection is closed.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish()
    }
}

type ProxyBody = BoxBody<Bytes, io::Error>;

struct Shared {
    upstream: Redacted,
    upstream_uri: Uri,
    limits: Limits,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    faults: Vec<FaultSpec>,
    state: Mutex<FaultState>,
    stats: Mutex<Counters>,
}

struct FaultState {
    rng: SplitMix64,
    candidates: Vec<u64>,
    injected: Vec<u64>,
    /// Per stale-head fault: the frozen head, once seen.
    frozen_head: Vec<Option<u64>>,
    /// Per regress-head fault: head reads so far.
    head_reads: Vec<u64>,
}

#[derive(Default)]
struct Counters {
    http_requests: u64,
    batches: u64,
    calls: u64,
    methods: BTreeMap<String, u64>,
    keys: HashSet<u64>,
    keys_by_method: BTreeMap<String, u64>,
    keys_capped: bool,
    upstream_errors: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves counters that are still counters.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn new(config: ProxyConfig) -> anyhow::Result<Self> {
        let scheme = if config.upstream.is_https() {
            "https"
        } else {
            "http"
        };
        let upstream_uri: Uri = format!(
            "{scheme}://{}{}",
            config.upstream.authority(),
            config.upstream.path_and_query()
        )
        .parse()
        .map_err(|_| {
            Unusable::with_fix(
                format!("the upstream {} is not a usable HTTP URI", config.upstream),
                "give --upstream as http(s)://host:port/path",
            )
        })?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.enforce_http(false);
        connector.set_connect_timeout(Some(config.limits.upstream_timeout));
        let mut tls = (*super::client::tls_config().map_err(anyhow::Error::msg)?).clone();
        // hyper-rustls sets ALPN itself (HTTP/1.1 here).
        tls.alpn_protocols.clear();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .build(connector);
        let n = config.faults.len();
        Ok(Self {
            upstream: config.upstream,
            upstream_uri,
            limits: config.limits,
            client,
            faults: config.faults,
            state: Mutex::new(FaultState {
                rng: SplitMix64::new(config.seed),
                candidates: vec![0; n],
                injected: vec![0; n],
                frozen_head: vec![None; n],
                head_reads: vec![0; n],
            }),
            stats: Mutex::new(Counters::default()),
        })
    }

    fn snapshot(&self) -> ProxyStats {
        let counters = lock(&self.stats);
        let state = lock(&self.state);
        ProxyStats {
            http_requests: counters.http_requests,
            batches: counters.batches,
            calls: counters.calls,
            methods: counters.methods.clone(),
            distinct_state_keys: counters.keys.len() as u64,
            distinct_state_keys_by_method: counters.keys_by_method.clone(),
            distinct_state_keys_capped: counters.keys_capped,
            upstream_errors: counters.upstream_errors,
            faults: self
                .faults
                .iter()
                .enumerate()
                .map(|(i, spec)| FaultCount {
                    spec: spec.text().to_owned(),
                    candidates: state.candidates[i],
                    injected: state.injected[i],
                })
                .collect(),
        }
    }

    fn record(&self, request: &RpcRequest) {
        let mut counters = lock(&self.stats);
        counters.http_requests += 1;
        if matches!(request, RpcRequest::Batch(_)) {
            counters.batches += 1;
        }
        for call in request.calls() {
            counters.calls += 1;
            let method = call.method.as_deref().unwrap_or("(none)");
            *counters.methods.entry(method.to_owned()).or_default() += 1;
            if STATE_METHODS.contains(&method) {
                let mut hasher = DefaultHasher::new();
                method.hash(&mut hasher);
                // serde_json's map is ordered by key: this is the canonical form.
                call.params.to_string().hash(&mut hasher);
                let key = hasher.finish();
                if counters.keys.contains(&key) {
                    continue;
                }
                if counters.keys.len() >= MAX_TRACKED_KEYS {
                    counters.keys_capped = true;
                    continue;
                }
                counters.keys.insert(key);
                *counters
                    .keys_by_method
                    .entry(method.to_owned())
                    .or_default() += 1;
            }
        }
    }

    fn plan(&self, request: &RpcRequest) -> Plan {
        let calls = request.calls();
        let mut plan = Plan {
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
                            plan.calls[j] = Some(action);
                        }
                    }
                }
            }
        }
        plan
    }

    /// The head a head fault reports now. `read`: this is an `eth_blockNumber` read (which
    /// moves a regressing head one step back).
    async fn faulty_head(&self, fault: usize, kind: HeadKind, read: bool) -> Result<u64, Reply> {
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

    async fn upstream_head(&self) -> Result<u64, Reply> {
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

    /// POST `body` to the upstream within the time and size limits.
    async fn forward(&self, body: Bytes) -> Result<Reply, Reply> {
        let mut request =
            Request::post(self.upstream_uri.clone()).header(CONTENT_TYPE, "application/json");
        if let Some(auth) = self.upstream.basic_auth() {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|_| Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "cannot build request"))?;
        let limit = self.limits.max_body_bytes;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|err| {
                format!("upstream unreachable: {}", super::client::error_chain(&err))
            })?;
            let status = response.status();
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static(JSON));
            let body = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|err| {
                    if err.is::<http_body_util::LengthLimitError>() {
                        format!("upstream answer larger than {} MiB", limit >> 20)
                    } else {
                        format!("upstream answer cut short: {err}")
                    }
                })?
                .to_bytes();
            Ok::<_, String>(Reply {
                status,
                content_type,
                retry_after,
                body,
            })
        };
        let failure = match tokio::time::timeout(self.limits.upstream_timeout, exchange).await {
            Ok(Ok(reply)) => return Ok(reply),
            Ok(Err(message)) => {
                Reply::text(StatusCode::BAD_GATEWAY, &self.upstream.scrub(&message))
            }
            Err(_) => Reply::text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "upstream gave no answer within {}",
                    super::client::show_duration(self.limits.upstream_timeout)
                ),
            ),
        };
        lock(&self.stats).upstream_errors += 1;
        Err(failure)
    }
}

fn set_terminal(plan: &mut Plan, terminal: Terminal) -> bool {
    if plan.terminal.is_some() {
        return false;
    }
    plan.terminal = Some(terminal);
    true
}

/// What the proxy will do with one HTTP request.
struct Plan {
    delay: Duration,
    terminal: Option<Terminal>,
    truncate: Option<f64>,
    calls: Vec<Option<CallAction>>,
}

enum Terminal {
    Hang(Duration),
    Reset,
    Http {
        status: u16,
        retry_after: Option<u64>,
    },
}

#[derive(Debug, Clone)]
enum CallAction {
    Error { code: i64, message: String },
    ChainId(u64),
    Head { fault: usize, kind: HeadKind },
}

#[derive(Debug, Clone, Copy)]
enum HeadKind {
    Stale(u64),
    Regress(u64),
}

/// One JSON-RPC call as received.
#[derive(Debug, Clone)]
struct Call {
    method: Option<String>,
    params: Value,
    raw: Value,
}

impl Call {
    fn new(raw: Value) -> Self {
        Self {
            method: raw.get("method").and_then(Value::as_str).map(str::to_owned),
            params: raw.get("params").cloned().unwrap_or(Value::Null),
            raw,
        }
    }

    fn id(&self) -> Value {
        self.raw.get("id").cloned().unwrap_or(Value::Null)
    }
}

enum RpcRequest {
    Single(Call),
    Batch(Vec<Call>),
    /// Not JSON-RPC as far as the proxy can tell: forwarded as is.
    Opaque,
}

impl RpcRequest {
    fn parse(body: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) if !items.is_empty() => {
                RpcRequest::Batch(items.into_iter().map(Call::new).collect())
            }
            Ok(value @ Value::Object(_)) => RpcRequest::Single(Call::new(value)),
            _ => RpcRequest::Opaque,
        }
    }

    fn calls(&self) -> &[Call] {
        match self {
            RpcRequest::Single(call) => std::slice::from_ref(call),
            RpcRequest::Batch(calls) => calls,
            RpcRequest::Opaque => &[],
        }
    }
}

fn is_head_sensitive(call: &Call) -> bool {
    call.method.as_deref() == Some("eth_blockNumber") || has_latest(&call.params)
}

/// A `latest` block tag among the params, or in an `eth_getLogs` filter.
fn has_latest(params: &Value) -> bool {
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

fn rewrite_latest(params: &mut Value, quantity: &str) {
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

const JSON: &str = "application/json";

/// An HTTP answer, before it is sent.
struct Reply {
    status: StatusCode,
    content_type: HeaderValue,
    retry_after: Option<HeaderValue>,
    body: Bytes,
}

impl Reply {
    /// The proxy's own answer (admin, errors, injected statuses): plain text.
    fn text(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            content_type: HeaderValue::from_static("text/plain; charset=utf-8"),
            retry_after: None,
            body: Bytes::from(format!("{message}\n")),
        }
    }

    fn json(value: &Value) -> Self {
        Self {
            status: StatusCode::OK,
            content_type: HeaderValue::from_static(JSON),
            retry_after: None,
            body: Bytes::from(value.to_string()),
        }
    }

    fn into_response(self) -> Response<ProxyBody> {
        let mut response = Response::new(full(self.body));
        *response.status_mut() = self.status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, self.content_type);
        if let Some(retry_after) = self.retry_after {
            response.headers_mut().insert(RETRY_AFTER, retry_after);
        }
        response
    }
}

fn full(body: Bytes) -> ProxyBody {
    Full::new(body).map_err(|never| match never {}).boxed()
}

/// Per connection: asks the connection task to drop the connection, with a TCP reset or not.
#[derive(Default)]
struct ConnControl {
    reset: AtomicBool,
    kill: Notify,
}

/// The client socket; sends a TCP reset instead of a FIN when dropped after a `reset` fault.
struct ClientStream {
    inner: TcpStream,
    control: Arc<ConnControl>,
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        if self.control.reset.load(Ordering::SeqCst) {
            // SO_LINGER 0: close() sends RST and discards anything unsent.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A body that sends its first part, waits for it to leave, then breaks the connection.
/// The response declares the full length, so the client sees a body cut short.
struct CutBody {
    part: Option<Bytes>,
    linger: Pin<Box<tokio::time::Sleep>>,
    control: Arc<ConnControl>,
}

impl Body for CutBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(part) = this.part.take() {
            return Poll::Ready(Some(Ok(Frame::data(part))));
        }
        if this.linger.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.control.kill.notify_one();
        Poll::Ready(Some(Err(io::Error::other("body truncated by a fault"))))
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: oneshot::Receiver<()>) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    connection(stream, peer, shared).await;
                    drop(permit);
                });
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

async fn connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let header_timeout = shared.limits.header_timeout;
    let control = Arc::new(ConnControl::default());
    let io = TokioIo::new(ClientStream {
        inner: stream,
        control: Arc::clone(&control),
    });
    let service_control = Arc::clone(&control);
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let control = Arc::clone(&service_control);
        async move { Ok::<_, Infallible>(handle(request, peer, &shared, &control).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(header_timeout));
    let conn = builder.serve_connection(io, service);
    tokio::select! {
        _ = conn => {}
        _ = control.kill.notified() => {}
    }
}

async fn handle(
    request: Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
    control: &Arc<ConnControl>,
) -> Response<ProxyBody> {
    if request.uri().path() == STATS_PATH {
        if request.method() == Method::GET && peer.ip().is_loopback() {
            let stats = serde_json::to_value(shared.snapshot()).unwrap_or(Value::Null);
            return Reply::json(&stats).into_response();
        }
        return Reply::text(StatusCode::NOT_FOUND, "not found").into_response();
    }
    if request.method() != Method::POST {
        return Reply::text(StatusCode::METHOD_NOT_ALLOWED, "JSON-RPC needs POST").into_response();
    }
    let body = match Limited::new(request.into_body(), shared.limits.max_body_bytes)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return Reply::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "request larger than {} MiB",
                    shared.limits.max_body_bytes >> 20
                ),
            )
            .into_response()
        }
        Err(_) => {
            return Reply::text(StatusCode::BAD_REQUEST, "request body cut short").into_response()
        }
    };
    let rpc = RpcRequest::parse(&body);
    shared.record(&rpc);
    let plan = shared.plan(&rpc);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    match plan.terminal {
        Some(Terminal::Hang(max)) => {
            // Held until the client closes the connection (hyper then drops this future),
            // the proxy stops, or `max` passes.
            tokio::time::sleep(max).await;
            control.kill.notify_one();
            return std::future::pending().await;
        }
        Some(Terminal::Reset) => {
            control.reset.store(true, Ordering::SeqCst);
            control.kill.notify_one();
            return std::future::pending().await;
        }
        Some(Terminal::Http {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut reply = Reply::text(
                status,
                &format!(
                    "{} (injected)",
                    status.canonical_reason().unwrap_or("error")
                ),
            );
            reply.retry_after = retry_after.map(HeaderValue::from);
            return reply.into_response();
        }
        None => {}
    }
    let reply = if plan.calls.iter().any(Option::is_some) {
        answer_with_call_faults(shared, rpc, plan.calls).await
    } else {
        shared.forward(body).await
    };
    let reply = reply.unwrap_or_else(|failure| failure);
    match plan.truncate {
        Some(keep) => truncated(reply, keep, control),
        None => reply.into_response(),
    }
}

/// The answer with `keep` of its body, declaring the whole length.
fn truncated(reply: Reply, keep: f64, control: &Arc<ConnControl>) -> Response<ProxyBody> {
    let full_length = reply.body.len();
    // At least one byte goes out and at least one is missing, whatever the fraction.
    let cut = ((full_length as f64 * keep) as usize)
        .clamp(1, full_length.saturating_sub(1).max(1))
        .min(full_length);
    let part = reply.body.slice(..cut);
    let mut response = reply.into_response();
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(full_length));
    let control = Arc::clone(control);
    response.map(move |_| {
        CutBody {
            part: Some(part),
            linger: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
            control,
        }
        .boxed()
    })
}

/// Answer calls with call-level faults locally, rewrite `latest` where a head fault says
/// so, forward the rest (as a batch if the request was one) and merge the answers by id.
async fn answer_with_call_faults(
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

    #[test]
    fn latest_tags_are_found_and_rewritten() {
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

    fn proxy_with(faults: &[&str]) -> Shared {
        let upstream = Redacted::parse("http://127.0.0.1:1/", "upstream").unwrap();
        let mut config = ProxyConfig::new(upstream).seed(3);
        for fault in faults {
            config = config.fault(fault.parse().unwrap());
        }
        Shared::new(config).unwrap()
    }

    fn request(methods: &[&str]) -> RpcRequest {
        let calls: Vec<Value> = methods
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"jsonrpc": "2.0", "id": i, "method": m, "params": ["0x1", "latest"]}))
            .collect();
        RpcRequest::parse(Value::Array(calls).to_string().as_bytes())
    }

    #[test]
    fn plans_follow_selectors() {
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
    fn state_keys_are_counted_once() {
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

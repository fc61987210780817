//! The JSON-RPC proxy: fault injection, and the resilient layer in front of an upstream.
//!
//! [`Proxy::start`] binds, starts the proxy as a task of the command's multi-thread runtime
//! (it serves on the runtime's workers, so sync code such as tests and the experiment runner
//! can use it while blocking) and returns a [`ProxyHandle`]; dropping the handle stops the
//! proxy and closes every connection, so a proxy never outlives the test or command that
//! started it.
//!
//! What it does to each request is chosen by [`FaultSpec`]s (grammar in [`super::fault`]).
//! Requests without a call-level fault are forwarded byte for byte; calls with one are
//! answered locally or rewritten (batches are split and merged back by id). With a
//! [`Policy`] ([`ProxyConfig::resilience`]) forwarding is resilient: idempotent reads are
//! validated and retried ([`super::retry`], [`super::validate`]), validated answers can be
//! recorded, and the origin can be a recording instead of a URL ([`super::record`]). A chaos
//! run chains proxies: faults in front of the tools (`--rpc-faults-at front`) are a faulty
//! proxy whose upstream is the resilient one; faults upstream (`--rpc-faults-at upstream`)
//! are a faulty proxy between the resilient one and the provider.
//!
//! Rooms: `conn` accepts and serves connections, `plan` chooses and applies faults,
//! `upstream` forwards (resiliently or not), `wire` holds the request and answer types.
//!
//! Bounds: request and response bodies up to [`Limits::max_body_bytes`] (413 / 502 beyond),
//! a request's headers within [`Limits::header_timeout`] and its body within
//! [`Limits::body_timeout`] (then the connection is closed), every upstream exchange within
//! [`Limits::upstream_timeout`] (504 beyond), at most [`Limits::max_connections`] client
//! connections served at once and [`Limits::max_connections_per_peer`] per client address
//! (further ones wait for their own peer's turn; a peer with as many again waiting has new
//! ones closed), a `hang` held at most its own maximum, and the distinct-key counter capped
//! at [`MAX_TRACKED_KEYS`].
//!
//! `GET /__proxy/stats` answers a [`ProxyStats`] as JSON, to loopback peers only.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::fault::{FaultSpec, SplitMix64};
use super::ledger::Ledger;
use super::record::{Recorder, Replay};
use super::retry::{Budget, Gate, MethodCounters, Policy};
use super::validate::Pins;
use super::{Redacted, MAX_BODY_BYTES};
use crate::error::Unusable;

mod conn;
mod plan;
mod upstream;
mod wire;

use conn::{serve, truncated, ConnControl};
use plan::{answer_with_call_faults, Terminal};
use wire::{Reply, RpcRequest};

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
    /// How long a client may take to send a request's body once its headers are in.
    pub body_timeout: Duration,
    /// Connections one peer (IP address) may hold at once; further ones from that peer
    /// wait, without taking a slot from anybody else.
    pub max_connections_per_peer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: MAX_BODY_BYTES,
            upstream_timeout: Duration::from_secs(30),
            max_connections: 256,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            max_connections_per_peer: 64,
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
    /// The resilient layer in front of the upstream (see [`crate::rpc::retry`]); none: every
    /// request goes once, its answer passed on as it is.
    pub resilience: Option<Policy>,
    /// Serve answers from this recording instead of contacting `upstream` at all.
    pub replay: Option<Arc<Replay>>,
    /// File every answer the resilient layer validated here (needs `resilience`).
    pub recorder: Option<Arc<Recorder>>,
    /// The run's ledger: the scope for recordings, and where failures that reach the client
    /// are written (give-ups; injected faults when `faults_reach_client`).
    pub ledger: Option<Arc<Ledger>>,
    /// This proxy's clients are the tools themselves (forge, anvil), not another resilient
    /// layer: every fault it injects reaches them and goes into the ledger.
    pub faults_reach_client: bool,
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
            resilience: None,
            replay: None,
            recorder: None,
            ledger: None,
            faults_reach_client: false,
        }
    }

    /// Turn the resilient layer on.
    pub fn resilient(mut self, policy: Policy) -> Self {
        self.resilience = Some(policy);
        self
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
    /// What the resilient layer did, per method (empty without one).
    #[serde(default)]
    pub resilience: BTreeMap<String, MethodCounters>,
    /// Retries and hedges taken from the global budget.
    #[serde(default)]
    pub retry_budget_spent: u64,
}

/// How often a fault was a candidate and how often it was injected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FaultCount {
    pub spec: String,
    pub candidates: u64,
    pub injected: u64,
}

/// How long dropping a [`ProxyHandle`] waits for its connections to close.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// Entry point: see the module docs.
pub struct Proxy;

impl Proxy {
    /// Bind `config.listen` and serve on the command's runtime ([`crate::runtime::shared`])
    /// until the handle is dropped.
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
        let runtime = crate::runtime::shared().context("starting the proxy's runtime")?;
        let (shutdown, shutdown_rx) = oneshot::channel();
        // Dropped (and so disconnected) when the serving task has ended.
        let (served, stopped) = std::sync::mpsc::channel::<std::convert::Infallible>();
        let serving = Arc::clone(&shared);
        runtime.spawn(async move {
            let _served = served;
            match TcpListener::from_std(listener) {
                Ok(listener) => serve(listener, serving, shutdown_rx).await,
                Err(err) => crate::shell::error(format!("proxy listener: {err}")),
            }
        });
        Ok(ProxyHandle {
            addr,
            shared,
            shutdown: Some(shutdown),
            stopped: Some(stopped),
        })
    }
}

/// A running proxy. Dropping it stops the proxy and closes its connections.
pub struct ProxyHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    /// Disconnected once the serving task has closed every connection.
    stopped: Option<std::sync::mpsc::Receiver<std::convert::Infallible>>,
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

    /// Tell the resilient layer the hash of a pinned block: an answer for that block with
    /// another hash is refused and retried.
    pub fn pin(&self, number: u64, hash: &str) {
        self.shared.pins.pin(number, hash);
    }

    /// Stop now and wait until every connection is closed.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            // The serving task runs on the runtime's workers, so this thread may wait for it
            // (bounded, in case it is a worker itself and the others are busy).
            let _ = stopped.recv_timeout(STOP_WAIT);
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
    policy: Option<Policy>,
    budget: Budget,
    gate: Gate,
    pins: Pins,
    replay: Option<Arc<Replay>>,
    recorder: Option<Arc<Recorder>>,
    ledger: Option<Arc<Ledger>>,
    faults_reach_client: bool,
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
    resilience: BTreeMap<String, MethodCounters>,
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
            policy: config.resilience,
            budget: Budget::default(),
            gate: Gate::default(),
            pins: Pins::default(),
            replay: config.replay,
            recorder: config.recorder,
            ledger: config.ledger,
            faults_reach_client: config.faults_reach_client,
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
            resilience: counters.resilience.clone(),
            retry_budget_spent: self.budget.spent(),
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
    let collect = Limited::new(request.into_body(), shared.limits.max_body_bytes).collect();
    let Ok(collected) = tokio::time::timeout(shared.limits.body_timeout, collect).await else {
        // A client that sent its headers and stalls its body loses the connection.
        control.kill.notify_one();
        return Reply::text(StatusCode::REQUEST_TIMEOUT, "request body not sent in time")
            .into_response();
    };
    let body = match collected {
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

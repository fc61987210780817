//! Forwarding to the origin (the upstream URL, or a recording being replayed), and the
//! resilient layer around it: retries with backoff, validation, hedging, the retry budget,
//! give-ups written to the run's ledger, validated answers filed in the recorder. The policy
//! itself is documented in [`crate::rpc::retry`], validation in [`crate::rpc::validate`].

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Request, StatusCode};
use serde_json::Value;

use super::wire::{Reply, JSON};
use super::{lock, Shared};
use crate::rpc::retry::{self, Policy};
use crate::rpc::{validate, Class};

/// One attempt that did not give a usable answer.
pub(super) struct Failed {
    pub(super) class: Class,
    pub(super) detail: String,
    /// What the upstream answered, when it answered at all (an HTTP error, an invalid body).
    pub(super) reply: Option<Reply>,
    /// False for answers that another attempt would not change (a 4xx other than 429).
    pub(super) retry: bool,
    pub(super) retry_after: Option<Duration>,
}

impl Failed {
    fn new(class: Class, detail: impl Into<String>) -> Self {
        Self {
            class,
            detail: detail.into(),
            reply: None,
            retry: retry::retryable(class),
            retry_after: None,
        }
    }

    /// What the client gets when this is the last word.
    fn into_reply(self, shared: &Shared) -> Reply {
        if let Some(reply) = self.reply {
            return reply;
        }
        let status = match self.class {
            Class::Timeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        Reply::text(status, &shared.upstream.scrub(&self.detail))
    }
}

/// The content hash of a request body: seeds its backoff jitter.
fn content_key(body: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

/// Methods of the calls of a JSON-RPC request (empty when it is not one).
fn methods(request: &Value) -> Vec<String> {
    let one = |call: &Value| {
        call.get("method")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match request {
        Value::Array(calls) => calls.iter().filter_map(one).collect(),
        Value::Object(_) => one(request).into_iter().collect(),
        _ => Vec::new(),
    }
}

impl Shared {
    /// POST `body` to the origin. Without a resilience policy: one attempt within
    /// `upstream_timeout`, the answer passed on as it is. With one, idempotent JSON-RPC
    /// requests are validated and retried (see the module docs); anything else goes once.
    pub(super) async fn forward(&self, body: Bytes) -> Result<Reply, Reply> {
        let request: Option<Value> = serde_json::from_slice(&body).ok();
        let Some(policy) = self.policy.as_ref() else {
            return self.single(body, request.as_ref()).await;
        };
        let Some(request) = request else {
            return self.single(body, None).await;
        };
        let methods = methods(&request);
        if methods.is_empty() || !methods.iter().all(|m| retry::is_idempotent(m)) {
            return self.single(body, Some(&request)).await;
        }
        self.resilient(policy, body, &request, &methods).await
    }

    /// One attempt, no validation; failures are counted and answered 502/504.
    async fn single(&self, body: Bytes, request: Option<&Value>) -> Result<Reply, Reply> {
        match self
            .attempt(body, request, self.limits.upstream_timeout)
            .await
        {
            Ok(reply) => Ok(reply),
            Err(failed) => {
                lock(&self.stats).upstream_errors += 1;
                Err(failed.into_reply(self))
            }
        }
    }

    async fn resilient(
        &self,
        policy: &Policy,
        body: Bytes,
        request: &Value,
        methods: &[String],
    ) -> Result<Reply, Reply> {
        let arrived = Instant::now();
        let key = content_key(&body);
        self.budget.first_attempt();
        let mut attempt = 1u32;
        loop {
            let gate = self.gate.wait();
            if !gate.is_zero() {
                if arrived.elapsed() + gate >= policy.deadline {
                    let failed = Failed::new(
                        Class::RateLimited,
                        "the upstream asked to wait beyond this request's deadline",
                    );
                    return Err(self.give_up(methods, attempt, failed));
                }
                tokio::time::sleep(gate).await;
            }
            let left = policy.deadline.saturating_sub(arrived.elapsed());
            let timeout = policy
                .attempt_timeout
                .min(self.limits.upstream_timeout)
                .min(left);
            let failed = match self.hedged(policy, &body, request, methods, timeout).await {
                Ok(reply) => return Ok(reply),
                Err(failed) => failed,
            };
            if !failed.retry {
                // An answer, if not a happy one (e.g. HTTP 403): passed on as it is.
                return Err(failed.into_reply(self));
            }
            let mut wait = policy.backoff(key, attempt + 1);
            if let Some(after) = failed.retry_after {
                if after > policy.max_retry_after {
                    return Err(self.give_up(methods, attempt, failed));
                }
                self.gate.close_for(after);
                wait = wait.max(after);
            }
            if attempt >= policy.max_attempts
                || arrived.elapsed() + wait >= policy.deadline
                || !self.budget.try_spend(policy)
            {
                return Err(self.give_up(methods, attempt, failed));
            }
            self.count(methods, |c| c.retries += 1);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt, and a second copy if the first is slower than `hedge_after`; the first
    /// answer that validates wins.
    async fn hedged(
        &self,
        policy: &Policy,
        body: &Bytes,
        request: &Value,
        methods: &[String],
        timeout: Duration,
    ) -> Result<Reply, Failed> {
        let first = self.checked(body.clone(), request, timeout);
        let Some(after) = policy.hedge_after.filter(|after| *after < timeout) else {
            return first.await;
        };
        tokio::pin!(first);
        tokio::select! {
            biased;
            result = &mut first => return result,
            () = tokio::time::sleep(after) => {}
        }
        if !self.budget.try_spend(policy) {
            return first.await;
        }
        self.count(methods, |c| c.hedges += 1);
        let second = self.checked(body.clone(), request, timeout - after);
        tokio::pin!(second);
        let (mut first_failed, mut second_failed) = (None, None);
        loop {
            tokio::select! {
                result = &mut first, if first_failed.is_none() => match result {
                    Ok(reply) => return Ok(reply),
                    Err(failed) => first_failed = Some(failed),
                },
                result = &mut second, if second_failed.is_none() => match result {
                    Ok(reply) => return Ok(reply),
                    Err(failed) => second_failed = Some(failed),
                },
            }
            if let (Some(_), Some(_)) = (&first_failed, &second_failed) {
                return Err(first_failed.or(second_failed).unwrap_or_else(|| {
                    Failed::new(Class::Reset, "both copies of the request failed")
                }));
            }
        }
    }

    /// One attempt whose answer must be a valid JSON-RPC answer to `request`.
    async fn checked(
        &self,
        body: Bytes,
        request: &Value,
        timeout: Duration,
    ) -> Result<Reply, Failed> {
        let reply = self.attempt(body, Some(request), timeout).await?;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            let header = reply.retry_after.as_ref().and_then(|h| h.to_str().ok());
            let after = retry::retry_after(header);
            return Err(Failed {
                retry_after: Some(after),
                reply: Some(reply),
                ..Failed::new(Class::RateLimited, "HTTP 429 Too Many Requests")
            });
        }
        if !reply.status.is_success() {
            let status = reply.status;
            return Err(Failed {
                retry: status.is_server_error(),
                reply: Some(reply),
                ..Failed::new(Class::HttpError, format!("HTTP {status}"))
            });
        }
        let answer: Value = match serde_json::from_slice(&reply.body) {
            Ok(answer) => answer,
            Err(err) => {
                return Err(Failed::new(
                    Class::Malformed,
                    format!("the upstream's answer is not JSON ({err})"),
                ))
            }
        };
        if let Err(invalid) = validate::check(request, &answer, &self.pins) {
            return Err(Failed::new(
                invalid.class,
                format!("the upstream's answer was refused: {}", invalid.reason),
            ));
        }
        if rate_limited(&answer) {
            return Err(Failed::new(
                Class::RateLimited,
                "the upstream answered JSON-RPC -32005 (limit exceeded)",
            ));
        }
        if let Some(recorder) = &self.recorder {
            recorder.store(self.scope_block(), request, &answer);
        }
        Ok(reply)
    }

    fn give_up(&self, methods: &[String], attempts: u32, failed: Failed) -> Reply {
        lock(&self.stats).upstream_errors += 1;
        self.count(methods, |c| c.give_ups += 1);
        if let Some(ledger) = &self.ledger {
            ledger.note(
                failed.class,
                format!(
                    "gave up on {} after {attempts} attempt(s): {}",
                    methods.join(","),
                    self.upstream.scrub(&failed.detail)
                ),
            );
        }
        failed.into_reply(self)
    }

    fn count(&self, methods: &[String], bump: impl Fn(&mut retry::MethodCounters)) {
        let mut stats = lock(&self.stats);
        for method in methods {
            bump(stats.resilience.entry(method.clone()).or_default());
        }
    }

    pub(super) fn scope_block(&self) -> Option<u64> {
        self.ledger.as_ref().and_then(|l| l.scope().block)
    }

    /// One exchange with the origin within `timeout`, classified when it fails.
    async fn attempt(
        &self,
        body: Bytes,
        request: Option<&Value>,
        timeout: Duration,
    ) -> Result<Reply, Failed> {
        if let Some(replay) = &self.replay {
            let block = self.scope_block();
            let answer = match request {
                Some(Value::Array(calls)) => {
                    Value::Array(calls.iter().map(|c| replay.answer(block, c)).collect())
                }
                Some(call @ Value::Object(_)) => replay.answer(block, call),
                _ => {
                    return Err(Failed {
                        retry: false,
                        ..Failed::new(Class::Malformed, "a recording answers JSON-RPC only")
                    })
                }
            };
            return Ok(Reply::json(&answer));
        }
        let mut http = Request::post(self.upstream_uri.clone()).header(CONTENT_TYPE, JSON);
        if let Some(auth) = self.upstream.basic_auth() {
            http = http.header(AUTHORIZATION, auth);
        }
        let http = http
            .body(Full::new(body))
            .map_err(|_| Failed::new(Class::Malformed, "cannot build the request"))?;
        let limit = self.limits.max_body_bytes;
        let exchange = async {
            let response = self.client.request(http).await.map_err(|err| {
                let class = match find_hyper(&err) {
                    _ if err.is_connect() => Class::Unreachable,
                    Some(hyper_err) => crate::rpc::client::classify_hyper(hyper_err, false).class,
                    None => Class::Reset,
                };
                Failed::new(
                    class,
                    format!(
                        "upstream unreachable: {}",
                        crate::rpc::client::error_chain(&err)
                    ),
                )
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
                        Failed {
                            retry: false,
                            ..Failed::new(
                                Class::Malformed,
                                format!("upstream answer larger than {} MiB", limit >> 20),
                            )
                        }
                    } else {
                        Failed::new(
                            Class::PartialRead,
                            format!("upstream answer cut short: {err}"),
                        )
                    }
                })?
                .to_bytes();
            Ok::<_, Failed>(Reply {
                status,
                content_type,
                retry_after,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Failed::new(
                Class::Timeout,
                format!(
                    "upstream gave no answer within {}",
                    crate::rpc::client::show_duration(timeout)
                ),
            )),
        }
    }
}

/// A JSON-RPC -32005 anywhere in the answer.
fn rate_limited(answer: &Value) -> bool {
    let limited = |a: &Value| {
        a.get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_i64)
            == Some(-32005)
    };
    match answer {
        Value::Array(items) => items.iter().any(limited),
        other => limited(other),
    }
}

fn find_hyper<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a hyper::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            return Some(h);
        }
        source = e.source();
    }
    None
}

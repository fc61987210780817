//! Fault specs: what the proxy does to which requests.
//!
//! # Grammar
//!
//! ```text
//! spec      = kind [ ":" args ] { "@" selector }
//! selector  = "method=" name { "|" name }   only these JSON-RPC methods
//!           | "p=" probability              with this probability (0..=1), seeded RNG
//!           | "first=" n                    only the first n candidates
//!           | "every=" k                    only every k-th candidate (k, 2k, ...)
//! duration  = number unit                   unit: ms | s | m | h | d, number may have a fraction
//! ```
//!
//! | kind | args | effect |
//! | --- | --- | --- |
//! | `latency` | `DUR[~JITTER]` | wait DUR ± JITTER (uniform) before forwarding |
//! | `hang` | `[MAX]` (default 300s) | never answer; hold the connection until the client gives up (or MAX) |
//! | `reset` | | close the connection with a TCP reset instead of answering |
//! | `truncate` | `[FRACTION]` (default 0.5) | send the first FRACTION of the body, declare the full Content-Length, close |
//! | `http` | `STATUS[,retry-after=SECS]` | answer HTTP STATUS (400..=599); 429 carries `Retry-After` (default 1) |
//! | `rpc-error` | `CODE[,message=TEXT]` | answer the call with a JSON-RPC error |
//! | `stale-head` | `N` | freeze the head N blocks behind the head first seen (`eth_blockNumber`, `latest`) |
//! | `regress-head` | `N` | the k-th head read reports head − min(k, N): the head walks backwards |
//! | `wrong-chain` | `ID` | answer `eth_chainId` and `net_version` with chain ID |
//!
//! Examples: `latency:200ms~50ms@method=eth_call`, `truncate@p=0.1`,
//! `http:429,retry-after=2@first=3`, `rpc-error:-32005@every=5`, `stale-head:12`,
//! `wrong-chain:97`, `hang`, `reset@method=eth_getStorageAt|eth_getCode`.
//!
//! # Which requests are candidates
//!
//! Transport faults (`latency`, `hang`, `reset`, `truncate`, `http`) act on a whole HTTP
//! request; `method=` matches a batch when any call in it has one of the methods. Call faults
//! act on single JSON-RPC calls, also inside batches: `rpc-error` on any call, `wrong-chain`
//! on `eth_chainId`/`net_version`, the head faults on `eth_blockNumber` and on calls with a
//! `latest` block tag (which is rewritten to the reported head).
//!
//! All selectors of a spec must match. `first`/`every` count the candidates that passed
//! `method=`; `p` draws from the proxy's seeded RNG only for candidates that passed the rest,
//! so a given seed and request sequence always faults the same requests.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One parsed `--fault` spec.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub selector: Selector,
    /// The spec as written, for counters and messages.
    text: String,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    Latency {
        base: Duration,
        jitter: Duration,
    },
    Hang {
        max: Duration,
    },
    Reset,
    Truncate {
        keep: f64,
    },
    Http {
        status: u16,
        retry_after: Option<u64>,
    },
    RpcError {
        code: i64,
        message: String,
    },
    StaleHead {
        blocks: u64,
    },
    RegressHead {
        max_blocks: u64,
    },
    WrongChain {
        chain_id: u64,
    },
}

/// Where a fault acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A whole HTTP request (batch or single call).
    Transport,
    /// One JSON-RPC call.
    Call,
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Hang { .. } => "hang",
            FaultKind::Reset => "reset",
            FaultKind::Truncate { .. } => "truncate",
            FaultKind::Http { .. } => "http",
            FaultKind::RpcError { .. } => "rpc-error",
            FaultKind::StaleHead { .. } => "stale-head",
            FaultKind::RegressHead { .. } => "regress-head",
            FaultKind::WrongChain { .. } => "wrong-chain",
        }
    }

    /// The failure a client sees when this fault is injected (latency is none: a slow
    /// answer is still an answer).
    pub fn class(&self) -> Option<super::Class> {
        use super::Class;
        Some(match self {
            FaultKind::Latency { .. } => return None,
            FaultKind::Hang { .. } => Class::Timeout,
            FaultKind::Reset => Class::Reset,
            FaultKind::Truncate { .. } => Class::PartialRead,
            FaultKind::Http { status: 429, .. } => Class::RateLimited,
            FaultKind::Http { .. } => Class::HttpError,
            FaultKind::RpcError { code: -32005, .. } => Class::RateLimited,
            FaultKind::RpcError { .. } => Class::RpcError,
            FaultKind::StaleHead { .. } | FaultKind::RegressHead { .. } => Class::StaleHead,
            FaultKind::WrongChain { .. } => Class::WrongChain,
        })
    }

    pub fn scope(&self) -> Scope {
        match self {
            FaultKind::Latency { .. }
            | FaultKind::Hang { .. }
            | FaultKind::Reset
            | FaultKind::Truncate { .. }
            | FaultKind::Http { .. } => Scope::Transport,
            FaultKind::RpcError { .. }
            | FaultKind::StaleHead { .. }
            | FaultKind::RegressHead { .. }
            | FaultKind::WrongChain { .. } => Scope::Call,
        }
    }
}

/// Which candidates a fault hits. Empty means all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    pub methods: Vec<String>,
    pub probability: Option<f64>,
    pub first: Option<u64>,
    pub every: Option<u64>,
}

impl Selector {
    pub fn matches_method(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m == method)
    }

    /// Whether the `count`-th candidate (1-based, already past `method=`) is hit, drawing
    /// from `rng` only when the count selectors let it through.
    pub fn hits(&self, count: u64, rng: &mut SplitMix64) -> bool {
        if self.first.is_some_and(|n| count > n) {
            return false;
        }
        if self.every.is_some_and(|k| !count.is_multiple_of(k)) {
            return false;
        }
        match self.probability {
            Some(p) => rng.next_f64() < p,
            None => true,
        }
    }
}

impl FaultSpec {
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A spec that does not parse: which part is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault spec `{spec}`: `{part}` {reason}")]
pub struct SpecError {
    pub spec: String,
    pub part: String,
    pub reason: String,
}

impl FromStr for FaultSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let err = |part: &str, reason: &str| SpecError {
            spec: spec.to_owned(),
            part: part.to_owned(),
            reason: reason.to_owned(),
        };
        let mut pieces = spec.trim().split('@');
        let head = pieces.next().unwrap_or_default();
        let (name, args) = match head.split_once(':') {
            Some((name, args)) => (name, Some(args)),
            None => (head, None),
        };
        let need_args = |what: &str| {
            args.filter(|a| !a.is_empty())
                .ok_or_else(|| err(head, what))
        };
        let kind = match name {
            "latency" => {
                let args = need_args("needs a duration, e.g. latency:200ms or latency:200ms~50ms")?;
                let (base, jitter) = match args.split_once('~') {
                    Some((base, jitter)) => (base, Some(jitter)),
                    None => (args, None),
                };
                let base = parse_duration(base).map_err(|reason| err(base, &reason))?;
                if base.is_zero() {
                    return Err(err(head, "injects nothing; give a latency above zero"));
                }
                let jitter = match jitter {
                    Some(j) => parse_duration(j).map_err(|reason| err(j, &reason))?,
                    None => Duration::ZERO,
                };
                FaultKind::Latency { base, jitter }
            }
            "hang" => FaultKind::Hang {
                max: match args {
                    Some(max) => match parse_duration(max).map_err(|reason| err(max, &reason))? {
                        zero if zero.is_zero() => {
                            return Err(err(max, "holds nothing; give a maximum above zero"))
                        }
                        max => max,
                    },
                    None => Duration::from_secs(300),
                },
            },
            "reset" => {
                if args.is_some() {
                    return Err(err(head, "takes no arguments"));
                }
                FaultKind::Reset
            }
            "truncate" => FaultKind::Truncate {
                keep: match args {
                    Some(keep) => match keep.parse::<f64>() {
                        Ok(f) if f > 0.0 && f < 1.0 => f,
                        _ => return Err(err(keep, "is not a fraction strictly between 0 and 1")),
                    },
                    None => 0.5,
                },
            },
            "http" => {
                let args = need_args("needs a status, e.g. http:503 or http:429,retry-after=2")?;
                let mut parts = args.split(',');
                let status_text = parts.next().unwrap_or_default();
                let status = match status_text.parse::<u16>() {
                    Ok(s) if (400..=599).contains(&s) => s,
                    _ => return Err(err(status_text, "is not an HTTP error status (400..=599)")),
                };
                let mut retry_after = (status == 429).then_some(1);
                for part in parts {
                    match part.split_once('=') {
                        Some(("retry-after", secs)) => {
                            retry_after = Some(secs.parse::<u64>().map_err(|_| {
                                err(part, "needs whole seconds, e.g. retry-after=2")
                            })?);
                        }
                        _ => return Err(err(part, "is not an http option (retry-after=SECS)")),
                    }
                }
                FaultKind::Http {
                    status,
                    retry_after,
                }
            }
            "rpc-error" => {
                let args = need_args("needs a JSON-RPC error code, e.g. rpc-error:-32005")?;
                let (code_text, rest) = match args.split_once(',') {
                    Some((code, rest)) => (code, Some(rest)),
                    None => (args, None),
                };
                let code = code_text
                    .parse::<i64>()
                    .map_err(|_| err(code_text, "is not an integer error code"))?;
                let message = match rest {
                    Some(rest) => match rest.split_once('=') {
                        Some(("message", text)) if !text.is_empty() => text.to_owned(),
                        _ => return Err(err(rest, "is not an rpc-error option (message=TEXT)")),
                    },
                    None => default_message(code).to_owned(),
                };
                FaultKind::RpcError { code, message }
            }
            "stale-head" => FaultKind::StaleHead {
                blocks: parse_count(need_args("needs a block count, e.g. stale-head:12")?, &err)?,
            },
            "regress-head" => {
                let text = need_args("needs a block count, e.g. regress-head:3")?;
                match parse_count(text, &err)? {
                    0 => return Err(err(text, "moves nothing; give at least 1 block")),
                    max_blocks => FaultKind::RegressHead { max_blocks },
                }
            }
            "wrong-chain" => {
                let args = need_args("needs a chain id, e.g. wrong-chain:97")?;
                FaultKind::WrongChain {
                    chain_id: args
                        .parse::<u64>()
                        .map_err(|_| err(args, "is not a chain id (a decimal number)"))?,
                }
            }
            "" => return Err(err(spec, "is empty; expected e.g. latency:200ms or reset")),
            _ => {
                return Err(err(
                    name,
                    "is not a fault kind (latency, hang, reset, truncate, http, rpc-error, \
                     stale-head, regress-head, wrong-chain)",
                ))
            }
        };
        let mut selector = Selector::default();
        for piece in pieces {
            let (key, value) = piece
                .split_once('=')
                .ok_or_else(|| err(piece, "is not a selector (method=, p=, first=, every=)"))?;
            match key {
                "method" => {
                    if !selector.methods.is_empty() {
                        return Err(err(piece, "repeats method=; list methods as a|b"));
                    }
                    for method in value.split('|') {
                        if method.is_empty() {
                            return Err(err(piece, "has an empty method name"));
                        }
                        selector.methods.push(method.to_owned());
                    }
                }
                "p" | "first" | "every" if repeated(&selector, key) => {
                    return Err(err(
                        piece,
                        &format!("repeats {key}=; give each selector once"),
                    ))
                }
                "p" => match value.parse::<f64>() {
                    Ok(p) if p > 0.0 && p <= 1.0 => selector.probability = Some(p),
                    Ok(0.0) => return Err(err(piece, "never fires; leave the fault out instead")),
                    _ => return Err(err(piece, "needs a probability between 0 and 1")),
                },
                "first" => selector.first = Some(parse_positive(piece, value, &err)?),
                "every" => selector.every = Some(parse_positive(piece, value, &err)?),
                _ => return Err(err(key, "is not a selector (method=, p=, first=, every=)")),
            }
        }
        if let (Some(first), Some(every)) = (selector.first, selector.every) {
            if every > first {
                return Err(err(
                    spec,
                    &format!("never fires: every={every} within first={first} selects nothing"),
                ));
            }
        }
        Ok(FaultSpec {
            kind,
            selector,
            text: spec.trim().to_owned(),
        })
    }
}

fn repeated(selector: &Selector, key: &str) -> bool {
    match key {
        "p" => selector.probability.is_some(),
        "first" => selector.first.is_some(),
        "every" => selector.every.is_some(),
        _ => false,
    }
}

fn default_message(code: i64) -> &'static str {
    match code {
        -32005 => "limit exceeded (injected)",
        -32700 => "parse error (injected)",
        -32601 => "method not found (injected)",
        _ => "injected error",
    }
}

fn parse_count(text: &str, err: &dyn Fn(&str, &str) -> SpecError) -> Result<u64, SpecError> {
    text.parse::<u64>()
        .map_err(|_| err(text, "is not a block count (a whole number)"))
}

fn parse_positive(
    piece: &str,
    value: &str,
    err: &dyn Fn(&str, &str) -> SpecError,
) -> Result<u64, SpecError> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(err(piece, "needs a whole number of at least 1")),
    }
}

/// `500ms`, `5s`, `1.5s`, `2m`, `1h`, `400d`. Used by fault specs and by `--timeout`-style
/// options.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("has no unit; write e.g. {text}ms or {text}s"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| "is not a duration (e.g. 500ms, 5s, 2m)".to_owned())?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => return Err(format!("has unit `{unit}`; use ms, s, m, h or d")),
    };
    if !seconds.is_finite() || seconds > 3650.0 * 86_400.0 {
        return Err("is longer than ten years".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub use crate::rng::SplitMix64;

#[cfg(test)]
mod tests;

use super::*;

fn parse(spec: &str) -> FaultSpec {
    spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn bad(spec: &str) -> SpecError {
    spec.parse::<FaultSpec>().unwrap_err()
}

#[test]
fn every_kind_parses() {
    assert_eq!(
        parse("latency:200ms~50ms@method=eth_call").kind,
        FaultKind::Latency {
            base: Duration::from_millis(200),
            jitter: Duration::from_millis(50)
        }
    );
    assert_eq!(
        parse("latency:1.5s").kind,
        FaultKind::Latency {
            base: Duration::from_millis(1500),
            jitter: Duration::ZERO
        }
    );
    assert_eq!(
        parse("hang").kind,
        FaultKind::Hang {
            max: Duration::from_secs(300)
        }
    );
    assert_eq!(
        parse("hang:2s").kind,
        FaultKind::Hang {
            max: Duration::from_secs(2)
        }
    );
    assert_eq!(parse("reset").kind, FaultKind::Reset);
    assert_eq!(parse("truncate").kind, FaultKind::Truncate { keep: 0.5 });
    assert_eq!(
        parse("truncate:0.25").kind,
        FaultKind::Truncate { keep: 0.25 }
    );
    assert_eq!(
        parse("http:429,retry-after=2@first=3").kind,
        FaultKind::Http {
            status: 429,
            retry_after: Some(2)
        }
    );
    assert_eq!(
        parse("http:429").kind,
        FaultKind::Http {
            status: 429,
            retry_after: Some(1)
        }
    );
    assert_eq!(
        parse("http:503").kind,
        FaultKind::Http {
            status: 503,
            retry_after: None
        }
    );
    assert_eq!(
        parse("rpc-error:-32005@every=5").kind,
        FaultKind::RpcError {
            code: -32005,
            message: "limit exceeded (injected)".into()
        }
    );
    assert_eq!(
        parse("rpc-error:-32000,message=missing trie node").kind,
        FaultKind::RpcError {
            code: -32000,
            message: "missing trie node".into()
        }
    );
    assert_eq!(
        parse("stale-head:12").kind,
        FaultKind::StaleHead { blocks: 12 }
    );
    assert_eq!(
        parse("regress-head:3").kind,
        FaultKind::RegressHead { max_blocks: 3 }
    );
    assert_eq!(
        parse("wrong-chain:97").kind,
        FaultKind::WrongChain { chain_id: 97 }
    );
}

#[test]
fn selectors_parse_and_combine() {
    let spec = parse("reset@method=eth_getStorageAt|eth_getCode@p=0.25@first=10@every=2");
    assert_eq!(
        spec.selector,
        Selector {
            methods: vec!["eth_getStorageAt".into(), "eth_getCode".into()],
            probability: Some(0.25),
            first: Some(10),
            every: Some(2),
        }
    );
    assert_eq!(
        spec.text(),
        "reset@method=eth_getStorageAt|eth_getCode@p=0.25@first=10@every=2"
    );
    assert_eq!(parse("truncate@p=0.1").selector.probability, Some(0.1));
}

#[test]
fn errors_name_the_bad_part() {
    let cases = [
        ("lag:200ms", "lag"),
        ("latency", "latency"),
        ("latency:200", "200"),
        ("latency:200ms~5x", "5x"),
        ("latency:fast", "fast"),
        ("reset:now", "reset:now"),
        ("truncate:1.5", "1.5"),
        ("http:200", "200"),
        ("http:429,retry=2", "retry=2"),
        ("http:429,retry-after=soon", "retry-after=soon"),
        ("rpc-error:abc", "abc"),
        ("rpc-error:-32000,msg=x", "msg=x"),
        ("stale-head:-1", "-1"),
        ("wrong-chain:bsc", "bsc"),
        ("reset@p=2", "p=2"),
        ("reset@first=0", "first=0"),
        ("reset@every=x", "every=x"),
        ("reset@methods=eth_call", "methods"),
        ("reset@eth_call", "eth_call"),
        ("reset@method=", "method="),
        ("reset@method=a@method=b", "method=b"),
        ("reset@p=0.5@p=0.1", "p=0.1"),
        ("reset@first=1@first=2", "first=2"),
        ("reset@every=2@every=3", "every=3"),
        ("reset@p=0", "p=0"),
        ("reset@first=2@every=5", "reset@first=2@every=5"),
        ("latency:0ms", "latency:0ms"),
        ("hang:0s", "0s"),
        ("regress-head:0", "0"),
        ("", ""),
    ];
    for (spec, part) in cases {
        let err = bad(spec);
        assert_eq!(err.part, part, "{spec}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("bad fault spec `{spec}`")),
            "{err}"
        );
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("0.25s"), Ok(Duration::from_millis(250)));
    assert!(parse_duration("5").is_err());
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert_eq!(
        parse_duration("400d"),
        Ok(Duration::from_secs(400 * 86_400))
    );
    assert!(parse_duration("5w").is_err());
    assert!(parse_duration("4000d").is_err());
    assert!(parse_duration("ms").is_err());
    assert!(parse_duration("1.2.3s").is_err());
}

#[test]
fn count_selectors_pick_the_right_candidates() {
    let mut rng = SplitMix64::new(1);
    let first = parse("reset@first=3").selector;
    let hits: Vec<u64> = (1..=6).filter(|&n| first.hits(n, &mut rng)).collect();
    assert_eq!(hits, [1, 2, 3]);
    let every = parse("reset@every=2").selector;
    let hits: Vec<u64> = (1..=6).filter(|&n| every.hits(n, &mut rng)).collect();
    assert_eq!(hits, [2, 4, 6]);
}

#[test]
fn probability_is_deterministic_for_a_seed_and_close_to_p() {
    let selector = parse("truncate@p=0.1").selector;
    let run = |seed| {
        let mut rng = SplitMix64::new(seed);
        (1..=10_000)
            .filter(|&n| selector.hits(n, &mut rng))
            .collect::<Vec<u64>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    let hits = run(7).len();
    assert!((900..1100).contains(&hits), "{hits}");
}

use super::*;

fn check(name: Check, class: Class) -> CheckResult {
    CheckResult {
        name,
        class,
        detail: String::new(),
        latency_ms: None,
    }
}

#[test]
fn verdicts() {
    let all_ok: Vec<CheckResult> = Check::ALL.iter().map(|c| check(*c, Class::Ok)).collect();
    assert_eq!(Verdict::of(&all_ok), Verdict::Healthy);
    let mut slow = all_ok.clone();
    slow[3] = check(Check::Latency, Class::Timeout);
    assert_eq!(Verdict::of(&slow), Verdict::Degraded);
    let mut limited = all_ok.clone();
    limited[7] = check(Check::RateLimit, Class::RateLimited);
    assert_eq!(Verdict::of(&limited), Verdict::Degraded);
    let mut pruned = all_ok.clone();
    pruned[4] = check(Check::Archive, Class::NotArchive);
    assert_eq!(Verdict::of(&pruned), Verdict::Unusable);
    let mut silent = all_ok.clone();
    silent[0] = check(Check::Reachability, Class::Reset);
    assert_eq!(Verdict::of(&silent), Verdict::Unusable);
    let mut wrong = all_ok;
    wrong[1] = check(Check::ChainId, Class::WrongChain);
    assert_eq!(Verdict::of(&wrong), Verdict::Unusable);
}

#[test]
fn percentiles_use_nearest_rank() {
    let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
    let summary = LatencySummary::from_samples(&samples);
    assert_eq!(summary.samples, 100);
    assert_eq!(summary.p50_ms, Some(50.0));
    assert_eq!(summary.p95_ms, Some(95.0));
    assert_eq!(summary.p99_ms, Some(99.0));
    assert_eq!(summary.max_ms, Some(100.0));
    let one = LatencySummary::from_samples(&[Duration::from_millis(7)]);
    assert_eq!((one.p50_ms, one.p99_ms), (Some(7.0), Some(7.0)));
    assert_eq!(LatencySummary::from_samples(&[]).p50_ms, None);
}

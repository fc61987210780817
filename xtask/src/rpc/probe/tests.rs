use super::*;

fn check(name: ProbeCheck, class: Class) -> CheckResult {
    CheckResult {
        name,
        class,
        detail: String::new(),
        latency_ms: None,
    }
}

#[test]
fn verdicts() {
    let all_ok: Vec<CheckResult> = ProbeCheck::ALL
        .iter()
        .map(|c| check(*c, Class::Ok))
        .collect();
    assert_eq!(ProbeVerdict::of(&all_ok), ProbeVerdict::Healthy);
    let mut slow = all_ok.clone();
    slow[3] = check(ProbeCheck::Latency, Class::Timeout);
    assert_eq!(ProbeVerdict::of(&slow), ProbeVerdict::Degraded);
    let mut limited = all_ok.clone();
    limited[7] = check(ProbeCheck::RateLimit, Class::RateLimited);
    assert_eq!(ProbeVerdict::of(&limited), ProbeVerdict::Degraded);
    let mut pruned = all_ok.clone();
    pruned[4] = check(ProbeCheck::Archive, Class::NotArchive);
    assert_eq!(ProbeVerdict::of(&pruned), ProbeVerdict::Unusable);
    let mut silent = all_ok.clone();
    silent[0] = check(ProbeCheck::Reachability, Class::Reset);
    assert_eq!(ProbeVerdict::of(&silent), ProbeVerdict::Unusable);
    let mut wrong = all_ok;
    wrong[1] = check(ProbeCheck::ChainId, Class::WrongChain);
    assert_eq!(ProbeVerdict::of(&wrong), ProbeVerdict::Unusable);
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

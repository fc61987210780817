use super::*;

#[test]
fn the_price_path_is_a_function_of_the_seed() {
    let a = price_path(7, 432, 90_000.0);
    let b = price_path(7, 432, 90_000.0);
    let c = price_path(8, 432, 90_000.0);
    assert_eq!(
        a.iter().map(|p| p.1.to_bits()).collect::<Vec<_>>(),
        b.iter().map(|p| p.1.to_bits()).collect::<Vec<_>>()
    );
    assert_ne!(a[100].1, c[100].1);
}

#[test]
fn the_path_has_every_phase_and_a_real_crash() {
    let path = price_path(42, 432, 90_000.0);
    for phase in [
        Phase::Calm,
        Phase::Normal,
        Phase::Storm,
        Phase::Crash,
        Phase::Recovery,
    ] {
        assert!(path.iter().any(|p| p.0 == phase), "{phase:?} missing");
    }
    let crash: Vec<f64> = path
        .iter()
        .filter(|p| p.0 == Phase::Crash)
        .map(|p| p.1)
        .collect();
    let before = path[path.iter().position(|p| p.0 == Phase::Crash).unwrap() - 1].1;
    let drop = 1.0 - crash.last().unwrap() / before;
    assert!(drop > 0.10, "the crash lost only {:.1}%", drop * 100.0);
}

#[test]
fn landmarks_are_in_history_order() {
    let path = price_path(1, 432, 90_000.0);
    let samples: Vec<Sample> = path
        .iter()
        .enumerate()
        .map(|(i, (phase, p))| Sample {
            block: 100 + i as u64 * 9,
            timestamp: GENESIS_TIMESTAMP + i as u64 * TICK_SECONDS,
            phase: *phase,
            btc_usd: *p,
            nav: "0".into(),
            share_price: "0".into(),
            risk_mode: 0,
            cycled: true,
        })
        .collect();
    let marks = landmarks(&samples);
    let labels: Vec<&str> = marks.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["calm", "storm", "crash", "recovery"]);
    assert!(marks.windows(2).all(|w| w[0].block < w[1].block));
}

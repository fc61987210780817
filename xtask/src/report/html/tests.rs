use super::*;
use crate::report::check::{Check, Relation};
use crate::report::html::figures::{compact, digits, scientific};
use alloy::primitives::I256;

fn check(observed: i64, relation: &str, bound: i64, passed: bool) -> Check {
    let c = Check::new(
        "S2_bounty_wei",
        I256::try_from(observed).unwrap(),
        relation.parse().unwrap(),
        I256::try_from(bound).unwrap(),
    );
    assert_eq!(c.passed(), passed, "{c:?}");
    c
}

#[test]
fn margins_point_towards_failure_whatever_the_relation() {
    // 75 of a bound of 100: a quarter of the bound left.
    let m = margin(&check(75, "<=", 100, true));
    assert_eq!(m.text(true), "+25.00%");
    // The same room on the other side of a >= check.
    assert_eq!(margin(&check(125, ">=", 100, true)).text(true), "+25.00%");
    // Failed by 10% of the bound.
    let f = margin(&check(110, "<=", 100, false));
    assert_eq!(f.text(false), "-10.00%");
    // A negative bound: relative to its size.
    assert_eq!(margin(&check(-150, "<=", -100, true)).text(true), "+50.00%");
    // Zero bounds have no relative margin.
    assert_eq!(margin(&check(0, "<=", 0, true)).text(true), "at the bound");
    assert_eq!(margin(&check(-7, "<=", 0, true)).text(true), "slack 7");
    assert_eq!(margin(&check(3, "<=", 0, false)).text(false), "over by 3");
    assert_eq!(
        margin(&check(0, "<", 0, false)).text(false),
        "at the bound (strict)"
    );
    // Equality has no distance worth a percentage.
    assert_eq!(margin(&check(5, "==", 5, true)).text(true), "exact");
    assert_eq!(margin(&check(3, "==", 5, false)).text(false), "off by 2");
    assert_eq!(margin(&check(3, "!=", 5, true)).text(true), "differs");
    // 1 wei of a large bound: the slack is shown beside the tiny percentage.
    assert_eq!(
        margin(&check(1_000_000_001, ">=", 1_000_000_000, true)).text(true),
        "+1.0e-7% (slack 1)"
    );
    assert_eq!(
        margin(&check(100, ">=", 100, true)).text(true),
        "at the bound"
    );
    // Failed first, then the tightest, then those without a relative margin.
    let keys = [
        f.sort_key(false),
        margin(&check(99, "<=", 100, true)).sort_key(true),
        m.sort_key(true),
        margin(&check(5, "==", 5, true)).sort_key(true),
    ];
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    // Extremes do not overflow.
    let huge = Check::new("S2_bounty_wei", I256::MIN, Relation::Le, I256::MAX);
    assert!(matches!(margin(&huge), Margin::Room { slack, .. } if slack == I256::MAX));
}

#[test]
fn everything_from_a_run_is_escaped() {
    assert_eq!(
        esc("<script>alert('x')</script> & \"q\"\n"),
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;&#10;"
    );
}

#[test]
fn checks_are_grouped_by_their_property_and_digits_grouped_by_three() {
    assert_eq!(check_group("S4_risk_mode"), Some("S4"));
    assert_eq!(check_group("1gwei:S2_bounty_vs_nav_cap_wei"), Some("S2"));
    assert_eq!(check_group("precondition_vault_alp"), None);
    assert_eq!(check_group("S10_x"), None);
    assert_eq!(check_group("US4"), None);
    let d = digits(I256::try_from(-1_234_567_890i64).unwrap());
    assert_eq!(
        d,
        "-1<span class=\"g\">234</span><span class=\"g\">567</span><span class=\"g\">890</span>"
    );
    assert_eq!(digits(I256::try_from(123_456).unwrap()), "123456");
    let k: I256 = "8100000000000000000000000000000000000000000000"
        .parse()
        .unwrap();
    assert_eq!(
        digits(k),
        "<span class=\"sci\" title=\"8100000000000000000000000000000000000000000000\">8.1e45</span>"
    );
    assert_eq!(scientific("-12403472401035663712122", 3), "-1.24e22");
    assert_eq!(
        compact(I256::try_from(123_456_789_012_345i64).unwrap()),
        "1.23e14"
    );
}

#[test]
fn the_script_hash_matches_the_script() {
    let hash = script_hash();
    assert!(
        hash.starts_with("sha256-") && hash.len() == 7 + 44,
        "{hash}"
    );
}

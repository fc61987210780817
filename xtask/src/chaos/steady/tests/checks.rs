//! The checks around one `cycle()` (activity budgets, the keeper's pay, the common checks'
//! names and bounds, the feed's trust) and the scenarios' own checks, against hand-worked
//! numbers.

use super::*;

#[test]
fn the_activity_budgets_each_operation_by_the_vaults_own_limits() {
    let d = deps();
    let a = snap(wei(1_000_000), wei(1_000_000));
    let b = a.clone();
    // A swap of 10,000 USDT (token0) in for BTCB to the vault, and one to somebody else.
    let swap_in = log(
        d.lp_pair,
        vec![swap_topic(), topic(OTHER), topic(VAULT)],
        &[wei(10_000), U256::ZERO, U256::ZERO, e(17)],
    );
    let not_ours = log(
        d.lp_pair,
        vec![swap_topic(), topic(OTHER), topic(OTHER)],
        &[wei(50_000), U256::ZERO, U256::ZERO, e(17)],
    );
    let act = activity(&d, &facts(), VAULT, &[swap_in, not_ours], &a, &b, &cfg());
    assert_eq!((act.ops, act.swaps), (1, 1));
    // 10,000 x (1 - 0.9975 x 0.99) = 124.75 USDT, plus one rounding unit.
    assert_eq!(act.budget, u(12_475) * e(16) + op_rounding_wei());
    // 0.1 BTCB out is 9,000 USDT at the TWAP: no gain.
    assert_eq!(act.gains, op_rounding_wei());

    // Liquidity added worth 2 x 9,000: 18,000 x 0.02^2 / 8 = 0.9 USDT.
    let mint = log(
        d.lp_pair,
        vec![mint_topic(), topic(OTHER)],
        &[wei(9_000), e(17)],
    );
    let act = activity(&d, &facts(), VAULT, &[mint], &a, &b, &cfg());
    assert_eq!(act.budget, u(9) * e(17) + op_rounding_wei());
    assert_eq!(act.lp_value_added, wei(18_000));

    // Liquidity removed: 9,900 USDT and 0.1 BTCB (9,000 at the TWAP): fair 2 sqrt(9,900 x
    // 9,000) = 18,878.6..., got 18,900: the difference is a gain, never a cost.
    let burn = log(
        d.lp_pair,
        vec![burn_topic(), topic(OTHER), topic(VAULT)],
        &[wei(9_900), e(17)],
    );
    let act = activity(&d, &facts(), VAULT, &[burn], &a, &b, &cfg());
    let fair = u(2) * sqrt(mul_div(wei(9_900) * e(17), wei(90_000), e(18)));
    assert_eq!(act.budget, op_rounding_wei());
    assert_eq!(act.gains, wei(18_900) - fair + op_rounding_wei());

    // A flash borrow of 100,000 USDT: the smallest repayment Pancake accepts is
    // ceil(100,000 / 0.9975).
    let flash = log(
        d.flash_pair,
        vec![swap_topic(), topic(OTHER), topic(VAULT)],
        &[U256::ZERO, U256::ZERO, wei(100_000), U256::ZERO],
    );
    let act = activity(&d, &facts(), VAULT, &[flash], &a, &b, &cfg());
    let fee = ceil_div(wei(100_000) * u(10_000), u(9_975)) - wei(100_000) + U256::from(1u8);
    assert_eq!(act.budget, fee + op_rounding_wei());
    assert_eq!(act.flash_borrowed, wei(100_000));

    // ALP: 990 minted (at 1.0: 990 x 0.01 / 0.99 = 10), 1,000 burnt (10).
    let alp_mint = log(
        d.alp,
        vec![transfer_topic(), topic(Address::ZERO), topic(VAULT)],
        &[wei(990)],
    );
    let alp_burn = log(
        d.alp,
        vec![transfer_topic(), topic(VAULT), topic(Address::ZERO)],
        &[wei(1_000)],
    );
    let act = activity(&d, &facts(), VAULT, &[alp_mint, alp_burn], &a, &b, &cfg());
    assert_eq!(act.ops, 2);
    assert_eq!(act.budget, wei(20) + u(2) * op_rounding_wei());

    // A hedge opened by the vault counts; somebody else's does not; a protocol fee minted to
    // feeTo costs the vault its share of the pool.
    let opened = log(
        d.aster,
        vec![pending_trade_topic(), topic(VAULT), B256::ZERO],
        &[],
    );
    let theirs = log(
        d.aster,
        vec![pending_trade_topic(), topic(OTHER), B256::ZERO],
        &[],
    );
    let mut lp = a.clone();
    lp.shadow.lp_balance = wei(1);
    lp.shadow.lp_supply = wei(100);
    lp.shadow.reserve_btc = wei(100);
    lp.shadow.reserve_usdt = wei(9_000_000);
    let fee_mint = log(
        d.lp_pair,
        vec![transfer_topic(), topic(Address::ZERO), topic(OTHER)],
        &[wei(1)],
    );
    let act = activity(
        &d,
        &facts(),
        VAULT,
        &[opened, theirs, fee_mint],
        &lp,
        &b,
        &cfg(),
    );
    assert_eq!((act.ops, act.hedges_opened), (1, 1));
    // 1 LP of 100 is 180,000 USDT of the pool's 18,000,000; the vault owns 1%: 1,800.
    assert_eq!(act.budget, wei(1_800) + op_rounding_wei());

    // A short open before and gone after was closed: Aster's close fee on its notional at the
    // mark; and a funded epoch is work too.
    let mut before = a.clone();
    before.shadow.shorts = vec![Short {
        hash: B256::repeat_byte(7),
        qty: e(10),
        value: wei(1),
    }];
    let mut after = b.clone();
    after.epoch = U256::from(1u8);
    let act = activity(&d, &facts(), VAULT, &[], &before, &after, &cfg());
    assert_eq!((act.ops, act.hedges_closed), (2, 1));
    assert!(act.claims_funded);
    // 1 BTC x 90,000 x 8 bps = 72 USDT.
    assert_eq!(act.budget, wei(72) + u(2) * op_rounding_wei());
}

#[test]
fn an_idle_cycle_has_no_budget_and_may_not_pay() {
    let a = snap(wei(1_000_000), wei(1_000_000) * e(6));
    let idle = activity(&deps(), &facts(), VAULT, &[], &a, &a, &cfg());
    assert_eq!(
        (idle.ops, idle.budget, idle.gains),
        (0, U256::ZERO, U256::ZERO)
    );
    // The vault pays 5 USDT for doing nothing: the shadow NAV drops by it.
    let mut b = a.clone();
    b.shadow.nav = a.shadow.nav - wei(5);
    let mut list = Checks::default();
    s1_value(&mut list, "", &a, &b, wei(5), &idle);
    s6_share_price(&mut list, "", &a, &b, wei(5), &idle);
    let by_name = |n: &str| list.0.iter().find(|c| c.name == n).unwrap().clone();
    assert!(
        by_name("S1_nav_loss_beyond_bounty_wei").passed(),
        "S1 nets the bounty"
    );
    let drop = by_name("S6_share_price_drop_wei");
    assert!(!drop.passed(), "S6 catches a bounty for no work: {drop:?}");
    assert_eq!(drop.bound(), I256::ONE);
}

#[test]
fn the_common_cycle_checks_have_the_documented_names_and_bounds() {
    let a = snap(wei(1_000_000), wei(1_000_000) * e(6));
    let mut b = a.clone();
    b.shadow.nav = a.shadow.nav - wei(4);
    let o = CycleInput {
        ok: true,
        bounty: wei(4),
        keeper_gain: wei(4),
        logs: vec![],
        gas_price: u(50 * 1_000_000_000),
        bnb_usd: wei(900),
    };
    let mut list = Checks::default();
    cycle_checks(
        &mut list,
        "_50gwei",
        &deps(),
        &facts(),
        VAULT,
        &cfg(),
        &a,
        &b,
        &o,
    );
    let names: Vec<&str> = list.0.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cycle_succeeded_50gwei",
            "S2_bounty_paid_vs_reported_wei_50gwei",
            "S1_nav_loss_beyond_bounty_wei_50gwei",
            "S2_bounty_vs_nav_cap_wei_50gwei",
            "S2_bounty_vs_gas_cap_wei_50gwei",
            "S3_flash_active_50gwei",
            "S3_flash_borrowed_wei_50gwei",
            "S3_flash_allowance_wei_50gwei",
            "S3_flash_pair_k_50gwei",
            "S6_share_price_drop_wei_50gwei",
            "S6_share_price_rise_wei_50gwei",
            "S6_total_supply_50gwei",
            "S9_nav_vs_shadow_wei_before_cycle_50gwei",
            "S9_nav_vs_shadow_wei_50gwei",
        ]
    );
    let c = |n: &str| list.0.iter().find(|c| c.name == n).unwrap().clone();
    // Gas cap: 1.5 x 1.5M gas x 5 gwei (the cap, not 50) x 900 USD = 10.125 USDT.
    assert_eq!(
        c("S2_bounty_vs_gas_cap_wei_50gwei").bound(),
        int(u(10_125) * e(15))
    );
    // NAV cap: 10 bps of (shadow NAV after + bounty + tolerance).
    assert_eq!(
        c("S2_bounty_vs_nav_cap_wei_50gwei").bound(),
        int((b.shadow.nav + wei(4) + b.shadow.tolerance) * u(10) / u(10_000))
    );
    // An idle cycle that paid 4 USDT: S6's drop bound is one unit, and it fails.
    assert!(!c("S6_share_price_drop_wei_50gwei").passed());
    assert!(c("S1_nav_loss_beyond_bounty_wei_50gwei").passed());
    // A reverted cycle is a disproved check, never silence.
    let reverted = CycleInput {
        ok: false,
        bounty: U256::ZERO,
        keeper_gain: U256::ZERO,
        ..o
    };
    let mut list = Checks::default();
    cycle_checks(
        &mut list,
        "",
        &deps(),
        &facts(),
        VAULT,
        &cfg(),
        &a,
        &a,
        &reverted,
    );
    assert!(!list.0[0].passed() && list.0[0].name == "cycle_succeeded");
}

#[test]
fn the_feed_is_trusted_only_fresh_and_positive() {
    let now = 10_000;
    let answer = i(900) * i(100_000_000);
    assert_eq!(
        trusted_bnb_usd(answer, u(now - 3_600), 8, now, 3_600),
        wei(900)
    );
    assert_eq!(
        trusted_bnb_usd(answer, u(now - 3_601), 8, now, 3_600),
        U256::ZERO
    );
    assert_eq!(
        trusted_bnb_usd(answer, u(now + 1), 8, now, 3_600),
        U256::ZERO
    );
    assert_eq!(
        trusted_bnb_usd(answer, U256::ZERO, 8, now, 3_600),
        U256::ZERO
    );
    assert_eq!(trusted_bnb_usd(-answer, u(now), 8, now, 3_600), U256::ZERO);
    assert_eq!(
        trusted_bnb_usd(I256::ZERO, u(now), 8, now, 3_600),
        U256::ZERO
    );
    // Below maxGasPrice the tx price counts, above it the cap.
    let c = cfg();
    assert_eq!(gas_cap(&c, u(1_000_000_000), wei(900)), u(2_025) * e(15));
    assert_eq!(
        gas_cap(&c, u(1_000_000_000_000), wei(900)),
        gas_cap(&c, c.max_gas_price, wei(900))
    );
}

#[test]
fn s4_accepts_only_a_deposit_reverted_with_deposits_paused() {
    let check = |ok: bool, data: &[u8]| {
        let mut list = Checks::default();
        s4_deposits_paused(&mut list, "_7d", ok, data, U256::ZERO);
        list.0.iter().all(Check::passed)
    };
    assert!(check(false, &deposits_paused_selector()));
    assert!(!check(true, &[]), "a deposit that went through");
    assert!(!check(false, &[]), "a bare revert");
    let too_soon = keccak256("CycleTooSoon(uint256)");
    assert!(!check(false, &too_soon[..4]), "another error");
}

#[test]
fn s10_catches_a_deposit_that_dilutes_the_others() {
    let a = snap(wei(1_000_000), wei(1_000_000) * e(6));
    let holders = |minted: U256| {
        vec![
            Holding {
                holder: OTHER,
                before: wei(1_000_000) * e(6),
                after: wei(1_000_000) * e(6),
            },
            Holding {
                holder: VAULT,
                before: U256::ZERO,
                after: minted,
            },
        ]
    };
    // A fair deposit of 100,000: 10% more shares, 10% more value.
    let mut b = a.clone();
    b.total_supply = wei(1_100_000) * e(6);
    b.shadow.nav = wei(1_100_000);
    let mut fair = Fairness::default();
    fair.record(
        Action::Deposit,
        VAULT,
        wei(100_000),
        &holders(wei(100_000) * e(6)),
        &a,
        &b,
    );
    let mut list = Checks::default();
    fair.checks(&mut list);
    assert!(list.0.iter().all(Check::passed), "{:?}", list.0);
    // The same deposit minted 20% more shares: the other holder lost about 83,000.
    let mut b = a.clone();
    b.total_supply = wei(1_200_000) * e(6);
    b.shadow.nav = wei(1_100_000);
    let mut unfair = Fairness::default();
    unfair.record(
        Action::Deposit,
        VAULT,
        wei(100_000),
        &holders(wei(200_000) * e(6)),
        &a,
        &b,
    );
    let mut list = Checks::default();
    unfair.checks(&mut list);
    let loss = list
        .0
        .iter()
        .find(|c| c.name == "S10_holder_value_loss_wei")
        .unwrap();
    assert!(
        !loss.passed() && loss.observed() > int(wei(80_000)),
        "{loss:?}"
    );
}

//! `report.html` in a real headless Chromium: the rendered DOM after the page's script ran, the
//! computed colours, the filters and sorting driven as a user would (selects changed, headers
//! clicked, a fragment typed in the address), and hostile names kept inert. The last test renders
//! the page of a real run against a broken vault and takes a screenshot of it.

use crate::support;

use crate::browser;

use std::path::Path;

use alloy::primitives::I256;
use browser::{file_url, Browser};
use serde_json::{json, Value};
use xtask::chaos::degraded::{Comparison, Pair, PairOutcome};
use xtask::chaos::scenario::Check;
use xtask::report::html;
use xtask::report::html::{Mutant, MutantStatus, Mutants, Page};
use xtask::report::{
    Block, Chain, Degradation, Engine, Experiment, ExperimentTotals, Report, Verdict,
};

const HOSTILE: &str = "<img src=x onerror=\"document.title='pwned'\">";
const RED: &str = "rgb(207, 34, 46)";

fn check(name: &str, observed: &str, relation: &str, bound: &str, passed: bool) -> Check {
    let c = Check::new(
        name,
        observed.parse::<I256>().unwrap(),
        relation.parse().unwrap(),
        bound.parse::<I256>().unwrap(),
    );
    assert_eq!(c.passed(), passed, "{c:?}");
    c
}

fn experiment(id: &str, engine: Engine, verdict: Verdict, checks: Vec<Check>) -> Experiment {
    Experiment {
        id: id.into(),
        engine,
        fault: format!("the fault of {id}"),
        verdict,
        duration_ms: 10,
        checks,
        gas: 1_000_000,
        cycles: 2,
        digest_before: Some(format!("0x{}", "ab".repeat(32))),
        digest_after: Some(format!("0x{}", "cd".repeat(32))),
        error: (verdict == Verdict::Error)
            .then(|| "<script>document.title='pwned'</script> forge script failed".into()),
    }
}

fn block(number: u64, label: &str, experiments: Vec<Experiment>) -> Block {
    Block {
        number,
        hash: format!("0x{number:064x}"),
        timestamp: 1_767_225_600 + number * 3,
        label: label.into(),
        experiments,
        resilience: 0.0,
    }
}

/// Two blocks: at 100 one experiment disproved (S4_risk_mode 0 == 1 failed), at 200 one that
/// could not run; 11 checks in all, one failed; hostile text in a check name and an error.
fn sample() -> Report {
    let k = "8100000000000000000000000000000000000000000000";
    Report {
        schema_version: xtask::report::SCHEMA_VERSION,
        run_id: "1767225600-seed42".into(),
        tool_version: "0.1.0".into(),
        started_at: 1_767_225_600,
        duration_ms: 12_345,
        seed: 42,
        chain: Chain {
            id: 56,
            kind: "local-replica".into(),
            endpoint: "http://127.0.0.1:40000/\"><script>document.title='pwned'</script>".into(),
            cache: None,
        },
        blocks: vec![
            block(
                100,
                "calm",
                vec![
                    experiment(
                        "gas_spike",
                        Engine::InEvm,
                        Verdict::Held,
                        vec![
                            check("S2_bounty_wei", "75", "<=", "100", true),
                            check("S3_flash_pair_k", k, ">=", k, true),
                        ],
                    ),
                    experiment(
                        "oracle_divergence",
                        Engine::InEvm,
                        Verdict::Disproved,
                        vec![
                            check("S4_risk_mode", "0", "==", "1", false),
                            check("S7_liquid_share_wei", "1000", ">=", "999", true),
                            check(HOSTILE, "1", "<=", "2", true),
                        ],
                    ),
                    experiment(
                        "keeper_stuck_tx",
                        Engine::LiveFork,
                        Verdict::Held,
                        vec![check("1gwei:S1_nav_loss_wei", "0", "<=", "100", true)],
                    ),
                ],
            ),
            block(
                200,
                "storm",
                vec![
                    experiment(
                        "gas_spike",
                        Engine::InEvm,
                        Verdict::Held,
                        vec![
                            check("S2_bounty_wei", "10", "<=", "100", true),
                            check("S3_flash_pair_k", k, ">=", k, true),
                        ],
                    ),
                    experiment(
                        "oracle_divergence",
                        Engine::InEvm,
                        Verdict::Held,
                        vec![
                            check("S4_risk_mode", "1", "==", "1", true),
                            check("S7_liquid_share_wei", "1000", ">=", "500", true),
                            check("S6_share_price_jump_bps", "12", "<=", "300", true),
                        ],
                    ),
                    experiment("flash_shortfall", Engine::InEvm, Verdict::Error, vec![]),
                ],
            ),
        ],
        resilience: 0.0,
        verdict: Verdict::Held,
        totals: ExperimentTotals::default(),
        reverts: vec![],
        shard: None,
        interrupted: None,
        rpc_degradation: Some(Degradation {
            faults: vec!["reset@p=0.03".into()],
            matched: 1,
            classified_failures: 1,
            ..Degradation::default()
        }),
        rpc_resilience: None,
    }
    .finish()
}

/// The sample written the way a run writes it, with a window and a degraded comparison.
fn written_sample(dir: &Path) -> std::path::PathBuf {
    let points: Vec<xtask::report::svg::Point> = [(100u64, 0u8), (150, 1), (200, 0)]
        .iter()
        .map(|&(b, mode)| xtask::report::svg::Point {
            block: b,
            timestamp: b * 3,
            nav: 1e6 - b as f64,
            share_price: 1.0,
            risk_mode: mode,
        })
        .collect();
    std::fs::write(
        dir.join("window.json"),
        serde_json::to_string(&points).unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("degraded")).unwrap();
    let comparison = Comparison {
        pairs: vec![
            Pair {
                block: 100,
                experiment: "gas_spike".into(),
                outcome: PairOutcome::Matched,
            },
            Pair {
                block: 200,
                experiment: "gas_spike".into(),
                outcome: PairOutcome::ClassifiedFailure {
                    class: xtask::rpc::Class::Reset,
                    cause: "fault reset on eth_getStorageAt".into(),
                    error: "connection reset by peer <b>".into(),
                },
            },
        ],
        ..Comparison::default()
    };
    std::fs::write(
        dir.join("degraded/comparison.json"),
        serde_json::to_string(&comparison).unwrap(),
    )
    .unwrap();
    let written = sample().write(dir).unwrap();
    let page = dir.join(html::FILE_NAME);
    assert!(written.contains(&page));
    page
}

/// Rows of a table's body that are shown.
const VISIBLE: &str = "(id) => Array.from(document.querySelectorAll('#' + id + ' tbody tr')).filter(r => !r.hidden && getComputedStyle(r).display !== 'none').length";

fn visible(b: &mut Browser, table: &str) -> u64 {
    b.eval(&format!("({VISIBLE})('{table}')")).as_u64().unwrap()
}

#[test]
fn the_page_shows_every_row_and_the_disproved_check_in_red() {
    let dir = tempfile::tempdir().unwrap();
    let page = written_sample(dir.path());
    let mut b = Browser::start();
    b.open(&file_url(&page));
    let facts = b.eval(
        r#"(() => {
        const q = (s) => document.querySelector(s);
        const failed = q('#checks tr[data-check="S4_risk_mode"].fail');
        const cell = (c) => failed.querySelector(c);
        const gridRed = q('#grid-table tr[data-id="oracle_divergence"] td[data-block="100"]');
        return {
            ready: document.documentElement.getAttribute('data-ready'),
            title: document.title,
            verdict: q('#verdict').textContent,
            verdictClass: q('#verdict').className,
            resilience: q('#resilience').textContent,
            blocks: document.querySelectorAll('#blocks-table tbody tr').length,
            gridRows: document.querySelectorAll('#grid-table tbody tr').length,
            gridCells: document.querySelectorAll('#grid-table tbody td.cell').length,
            notRun: document.querySelectorAll('#grid-table tbody td.cell.none').length,
            gridRed: getComputedStyle(gridRed).backgroundColor,
            gridTitle: gridRed.getAttribute('title'),
            experiments: document.querySelectorAll('#experiments tbody tr').length,
            checks: document.querySelectorAll('#checks tbody tr').length,
            failedRows: document.querySelectorAll('#checks tbody tr.fail').length,
            failedColour: getComputedStyle(cell('.obs')).color,
            failedBg: getComputedStyle(failed.querySelector('td')).backgroundColor,
            passColour: getComputedStyle(q('#checks tr.pass td.obs')).color,
            observed: cell('.obs').textContent,
            relation: cell('.rel').textContent,
            bound: cell('.bound').textContent,
            margin: cell('.margin').textContent,
            result: cell('.result').textContent,
            room: q('#checks tr[data-check="S2_bounty_wei"][data-block="100"] .margin').textContent,
            k: q('#checks tr[data-check="S3_flash_pair_k"] .obs').textContent,
            kTitle: q('#checks tr[data-check="S3_flash_pair_k"] .obs span').getAttribute('title'),
            hostileText: Array.from(document.querySelectorAll('#checks tbody tr code')).map(c => c.textContent).filter(t => t.includes('onerror')),
            errorWhy: q('#experiments tr[data-id="flash_shortfall"] td.why').textContent,
            injected: document.querySelectorAll('body img, body script:not(:last-of-type), link, [src], [href^="http"]').length,
            scripts: document.scripts.length,
            csp: q('meta[http-equiv="Content-Security-Policy"]').getAttribute('content'),
            polylines: document.querySelectorAll('#plot svg polyline').length,
            degradedPairs: document.querySelectorAll('#degraded-pairs tbody tr').length,
            degradedCause: q('#degraded-pairs tbody tr:last-child td.why').textContent,
            mutants: q('#mutants') === null,
        };
    })()"#,
    );
    let expect = json!({
        "ready": "1",
        "title": "chaos 1767225600-seed42: some experiments could not run",
        "verdict": "some experiments could not run",
        "verdictClass": "verdict error",
        "resilience": "66.67%",
        "blocks": 2,
        // gas_spike, oracle_divergence, keeper_stuck_tx, flash_shortfall x 2 blocks.
        "gridRows": 4,
        "gridCells": 8,
        "notRun": 2,
        "gridRed": RED,
        "gridTitle": "oracle_divergence at block 100: disproved: S4_risk_mode: observed 0 not == bound 1",
        "experiments": 6,
        "checks": 11,
        "failedRows": 1,
        "failedColour": RED,
        "failedBg": "rgb(255, 235, 233)",
        "passColour": "rgb(31, 35, 40)",
        "observed": "0",
        "relation": "==",
        "bound": "1",
        "margin": "off by 1",
        "result": "failed",
        "room": "+25.00%",
        "k": "8.1e45",
        "kTitle": "8100000000000000000000000000000000000000000000",
        "hostileText": [HOSTILE],
        "errorWhy": "<script>document.title='pwned'</script> forge script failed",
        "injected": 0,
        "scripts": 1,
        "polylines": 3,
        "degradedPairs": 2,
        "degradedCause": "connection reset by peer <b>",
        "mutants": true,
    });
    let mut facts = facts;
    let csp = facts["csp"].take();
    assert_eq!(
        facts.as_object_mut().unwrap().remove("csp"),
        Some(Value::Null)
    );
    assert_eq!(facts, expect);
    let csp = csp.as_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && csp.contains("script-src 'sha256-"),
        "{csp}"
    );
}

#[test]
fn filters_sorting_and_the_address_fragment_work_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = written_sample(dir.path());
    let url = file_url(&page);
    let mut b = Browser::start();
    b.open(&url);
    assert_eq!(visible(&mut b, "checks"), 11);

    // Verdict filter, as a user changes the select.
    b.eval("(() => { const s = document.getElementById('f-verdict'); s.value = 'disproved'; s.dispatchEvent(new Event('change')); })()");
    assert_eq!(visible(&mut b, "experiments"), 1);
    assert_eq!(
        visible(&mut b, "checks"),
        3,
        "the disproved experiment's checks"
    );
    assert_eq!(
        b.eval("document.getElementById('count-checks').textContent"),
        "3 of 11"
    );
    assert_eq!(b.eval("location.hash"), "#verdict=disproved");
    assert_eq!(
        b.eval("Array.from(document.querySelectorAll('#grid-table tbody tr')).filter(r => !r.hidden).map(r => r.dataset.id)"),
        json!(["oracle_divergence"])
    );

    // Block filter on top: block 200 has no disproved experiment.
    b.eval("(() => { const s = document.getElementById('f-block'); s.value = '200'; s.dispatchEvent(new Event('change')); })()");
    assert_eq!(visible(&mut b, "checks"), 0);
    assert_eq!(
        b.eval("document.querySelectorAll('#grid-table thead th.col-hidden').length"),
        1,
        "the other block's column is hidden"
    );

    // The clear button resets every filter.
    b.eval("document.getElementById('f-reset').click()");
    b.eval("new Promise(r => setTimeout(r, 50))");
    assert_eq!(visible(&mut b, "checks"), 11);
    assert_eq!(b.eval("location.hash"), "");

    // A property filter typed into the address: every S4 check, and only the failed ones.
    b.eval("location.hash = '#check=S4'");
    b.eval("new Promise(r => setTimeout(r, 50))");
    assert_eq!(visible(&mut b, "checks"), 2);
    assert_eq!(visible(&mut b, "experiments"), 2);
    b.eval("location.hash = '#check=S4&failed=1'");
    b.eval("new Promise(r => setTimeout(r, 50))");
    assert_eq!(visible(&mut b, "checks"), 1);
    assert_eq!(
        b.eval("document.getElementById('f-failed').checked"),
        true,
        "the controls follow the address"
    );
    // A property written inside a live-fork check's name counts too.
    b.eval("location.hash = '#check=S1'");
    b.eval("new Promise(r => setTimeout(r, 50))");
    assert_eq!(
        b.eval("Array.from(document.querySelectorAll('#checks tbody tr')).filter(r => !r.hidden).map(r => r.dataset.check)"),
        json!(["1gwei:S1_nav_loss_wei"])
    );

    // Text filter on the experiment id.
    b.eval("location.hash = '#q=keeper'");
    b.eval("new Promise(r => setTimeout(r, 50))");
    assert_eq!(visible(&mut b, "experiments"), 1);

    // Sorting: a click on the margin header puts the failed check first, a second click last.
    b.eval("location.hash = '#q='");
    b.eval("new Promise(r => setTimeout(r, 50))");
    b.eval("document.querySelector('#checks th[data-key=margin]').click()");
    let first = "document.querySelector('#checks tbody tr').dataset.check";
    let last = "document.querySelector('#checks tbody tr:last-child').dataset.check";
    assert_eq!(b.eval(first), "S4_risk_mode");
    // Then the tightest relative margin: S3_flash_pair_k at the bound (0%).
    assert_eq!(
        b.eval("document.querySelectorAll('#checks tbody tr')[1].dataset.check"),
        "S3_flash_pair_k"
    );
    assert!(b
        .eval("location.hash")
        .as_str()
        .unwrap()
        .contains("sort=checks%3Amargin%3Aasc"));
    b.eval("document.querySelector('#checks th[data-key=margin]').click()");
    assert_eq!(b.eval(last), "S4_risk_mode");

    // Observed values sort as exact integers, beyond 2^53.
    b.eval("document.querySelectorAll('#checks thead th')[3].click()");
    assert_eq!(
        b.eval("document.querySelector('#checks tbody tr:last-child').dataset.check"),
        "S3_flash_pair_k"
    );

    // A filtered, sorted view opened from its address shows the same.
    b.open("about:blank");
    b.open(&format!("{url}#verdict=disproved&sort=checks:margin:desc"));
    assert_eq!(visible(&mut b, "checks"), 3);
    assert_eq!(
        b.eval("Array.from(document.querySelectorAll('#checks tbody tr')).filter(r => !r.hidden).pop().dataset.check"),
        "S4_risk_mode"
    );
}

#[test]
fn the_mutants_section_renders_its_kill_matrix_and_survivors() {
    let report = sample();
    let mutants = Mutants {
        score: 50.0,
        min_score: Some(90.0),
        generated: 3,
        compiled: 2,
        experiments: vec!["oracle_divergence".into(), "gas_spike".into()],
        mutants: vec![
            Mutant {
                id: "m1".into(),
                operator: "comparison swapped".into(),
                file: "contracts/vault/RiskGuard.sol".into(),
                line: 42,
                function: "_checkDivergence".into(),
                status: MutantStatus::Killed,
                killed_by: vec!["oracle_divergence".into()],
                diff: "-a > b\n+a < b".into(),
            },
            Mutant {
                id: "m2".into(),
                operator: "require removed".into(),
                file: "contracts/vault/YieldVault.sol".into(),
                line: 7,
                function: "cycle".into(),
                status: MutantStatus::Survived,
                killed_by: vec![],
                diff: "-require(x, \"<reason>\");".into(),
            },
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mutants.html");
    let html = html::render(&Page {
        report: &report,
        plot: None,
        degraded_pairs: vec![],
        mutants: Some(mutants),
    });
    std::fs::write(&path, html).unwrap();
    let mut b = Browser::start();
    b.open(&file_url(&path));
    let facts = b.eval(
        r#"(() => ({
        score: document.getElementById('mutants-score').textContent,
        rows: document.querySelectorAll('#kill-matrix tbody tr').length,
        kills: Array.from(document.querySelectorAll('#kill-matrix tfoot td.num')).map(td => td.textContent + (td.classList.contains('disproved') ? ' blind' : '')),
        survivors: Array.from(document.querySelectorAll('#survivors details')).map(d => d.querySelector('pre').textContent),
    }))()"#,
    );
    assert_eq!(
        facts,
        json!({
            "score": "50.00%",
            "rows": 2,
            "kills": ["1", "0 blind"],
            "survivors": ["-require(x, \"<reason>\");"],
        })
    );
}

/// `cargo xtask chaos` against a vault whose divergence guard is disabled: the page of that
/// real run shows oracle_divergence disproved in red with the values of report.json, and a
/// screenshot of it is kept next to it (`report.png`).
#[test]
fn a_real_run_against_a_broken_vault_shows_the_disproved_experiment_in_red() {
    let project = xtask::project::Project::locate();
    let toolchain = xtask::toolchain::Toolchain::ensure(&project).unwrap();
    let built = toolchain
        .command(xtask::toolchain::Tool::Forge)
        .arg("build")
        .output()
        .unwrap();
    assert!(built.status.success());
    let dir = "reports/test-html-broken";
    // Left by an earlier run of this test: a report directory is never overwritten.
    let _ = std::fs::remove_dir_all(project.root().join(dir));
    let output = support::xtask()
        .env("CHAOS_BROKEN_DEFECT", "0")
        .args([
            "chaos",
            "--days",
            "1",
            "--fork-block",
            "700",
            "--engine",
            "in-evm",
            "--scenario",
            "oracle_divergence",
            "--scenario",
            "gas_spike",
            "--scenario",
            "burn_alp_reverts",
            "--scenario",
            "flash_shortfall",
            "--scenario-script",
            "test/chaos/broken/BrokenForkChaosScenarios.sol:BrokenForkChaosScenarios",
            // A finished report of an earlier run of this test is replaced.
            "--force",
            "--report-dir",
            dir,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let root = project.root().join(dir);
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(root.join("report.json")).unwrap()).unwrap();
    let disproved: Vec<&Experiment> = report.blocks[0]
        .experiments
        .iter()
        .filter(|e| e.verdict == Verdict::Disproved)
        .collect();
    assert_eq!(disproved.len(), 1, "only the guard's experiment fails");
    assert_eq!(disproved[0].id, "oracle_divergence");
    let failed: Vec<&Check> = disproved[0].checks.iter().filter(|c| !c.passed()).collect();
    assert!(!failed.is_empty());

    let page = root.join(html::FILE_NAME);
    let mut b = Browser::start();
    b.open(&file_url(&page));
    let shown = b.eval(
        r#"Array.from(document.querySelectorAll('#checks tbody tr.fail')).map(tr => ({
            id: tr.dataset.id,
            check: tr.dataset.check,
            observed: tr.querySelector('.obs').textContent,
            bound: tr.querySelector('.bound').textContent,
            colour: getComputedStyle(tr.querySelector('.obs')).color,
        }))"#,
    );
    let expected: Vec<Value> = failed
        .iter()
        .map(|c| {
            json!({
                "id": "oracle_divergence",
                "check": c.name,
                "observed": c.observed().to_string(),
                "bound": c.bound().to_string(),
                "colour": RED,
            })
        })
        .collect();
    assert_eq!(shown, Value::Array(expected));
    assert_eq!(
        b.eval("getComputedStyle(document.querySelector('#grid-table tr[data-id=oracle_divergence] td.cell')).backgroundColor"),
        RED
    );
    assert_eq!(
        b.eval("document.getElementById('verdict').textContent"),
        "a hypothesis was disproved"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#plot svg line.pin').length"),
        1,
        "the pinned block is marked on the history"
    );
    drop(b);
    let png = root.join("report.png");
    browser::screenshot(&page, &png, 1600, 1800);
    eprintln!("screenshot of the broken vault's report: {}", png.display());
}

/// `chaos merge` writes the page too, with the side files of its shards (here a window), and
/// `--open` without a desktop says so instead of failing.
#[test]
fn chaos_merge_writes_the_page_from_its_shards() {
    let dir = tempfile::tempdir().unwrap();
    let full = sample();
    let shard = |name: &str, keep: u64| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        let mut report = full.clone();
        report.blocks.retain(|b| b.number == keep);
        report.finish().write(&path).unwrap();
        path
    };
    let one = shard("s1", 100);
    let two = shard("s2", 200);
    // Only the second shard has the window's points: the merged page finds them there.
    std::fs::write(
        two.join("window.json"),
        r#"[{"block":100,"timestamp":1,"nav":1.0,"share_price":1.0,"risk_mode":0},
            {"block":200,"timestamp":2,"nav":2.0,"share_price":1.0,"risk_mode":1}]"#,
    )
    .unwrap();
    let out = dir.path().join("merged");
    let output = support::xtask()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args(["chaos", "merge"])
        .arg(&one)
        .arg(&two)
        .arg("--out")
        .arg(&out)
        .arg("--open")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The sample holds an experiment that could not run: the merged verdict is an error.
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--open: no desktop here") && stderr.contains("report.html"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(out.join(html::FILE_NAME)).unwrap();
    assert_eq!(
        html.matches("<tr id=\"x-").count(),
        6,
        "every experiment of both shards"
    );
    assert_eq!(
        html.matches("<polyline").count(),
        3,
        "the window from shard 2"
    );
    assert!(html.contains("chaos 1767225600-seed42-merged"));
}

/// An interrupted run with a scenario that reverted, and the `mutants.json` of a mutants run in
/// the same directory: the page says what stopped the run and how much of it finished, shows
/// the decoded revert and its call in the experiment's row, and renders the kill matrix and the
/// survivors read from `mutants.json`.
#[test]
fn an_interrupted_run_its_reverts_and_a_mutants_json_beside_it_are_on_the_page() {
    use xtask::report::mutants::{
        MutantRecord, MutantTotals as MTotals, MutantsReport, Status, Timing,
    };
    let mut report = sample();
    let block = report.blocks[0].number;
    let reverted = &mut report.blocks[0].experiments[0];
    reverted.verdict = Verdict::Disproved;
    let id = reverted.id.clone();
    report.reverts = vec![xtask::report::RevertRecord {
        block,
        experiment: id.clone(),
        revert: xtask::chaos::scenario::Revert {
            step: "running the scenario".into(),
            reason: "YieldVault.CycleTooSoon(1767225600)".into(),
            data: "0x1234".into(),
            call: Some("YieldVault::cycle()".into()),
            path: vec!["YieldVault::cycle()".into()],
        },
    }];
    report.interrupted = Some(xtask::report::Interruption {
        signal: "SIGINT".into(),
        phase: "live-fork".into(),
        planned: 40,
        finished: 7,
    });
    let report = report.finish();
    let record = |id: &str, status: Status, killed_by: Vec<&str>, diff: &str| MutantRecord {
        id: id.into(),
        file: "contracts/vault/VaultCore.sol".into(),
        line: 10,
        column: 1,
        contract: "VaultCore".into(),
        function: "cycle".into(),
        operator: "require removed".into(),
        original: "a".into(),
        replacement: "b".into(),
        diff: diff.into(),
        status,
        reason: None,
        killed_by: killed_by.into_iter().map(String::from).collect(),
        matrix: Default::default(),
        details: vec![],
        compile_ms: 0,
    };
    let mutants = MutantsReport {
        schema_version: 1,
        run_id: "m".into(),
        tool_version: "0".into(),
        started_at: 0,
        duration_ms: 0,
        seed: 42,
        days: 1,
        engine: "in-evm".into(),
        paths: vec![],
        shard: None,
        timeout_ms: 1,
        min_score: 80.0,
        full_matrix: false,
        blocks: vec![],
        experiments: vec!["gas_spike".into(), "oracle_divergence".into()],
        timing: Timing::default(),
        totals: MTotals {
            generated: 4,
            compiled: 3,
            ..MTotals::default()
        },
        score: Some(66.67),
        verdict: "below".into(),
        per_experiment: vec![],
        mutants: vec![
            record("k1", Status::Killed, vec!["gas_spike"], "-x\n+y"),
            record("k2", Status::Killed, vec!["gas_spike"], "-p\n+q"),
            record("s1", Status::Survived, vec![], "-require(ok);"),
            record("n1", Status::NotCompiled, vec![], "-z"),
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mutants.json"),
        serde_json::to_string(&mutants).unwrap(),
    )
    .unwrap();
    report.write(dir.path()).unwrap();
    let mut b = Browser::start();
    b.open(&file_url(&dir.path().join(html::FILE_NAME)));
    let facts = b.eval(&format!(
        r#"(() => {{
        const stop = document.getElementById('interrupted');
        const row = document.querySelector('#experiments tr[data-block="{block}"][data-id="{id}"]');
        return {{
            verdict: document.getElementById('verdict').dataset.verdict,
            stop: stop && [stop.dataset.signal, stop.dataset.phase, document.getElementById('interrupted-finished').textContent, document.getElementById('interrupted-planned').textContent],
            stopColour: stop && getComputedStyle(stop).color,
            errorColour: getComputedStyle(document.querySelector('#verdict')).color,
            reason: row && row.querySelector('.why .reason').textContent,
            call: row && row.querySelector('.why .call').textContent,
            rowVerdict: row && row.dataset.verdict,
            score: document.getElementById('mutants-score').textContent,
            matrixRows: document.querySelectorAll('#kill-matrix tbody tr').length,
            survivors: Array.from(document.querySelectorAll('#survivors details')).map(d => d.querySelector('pre').textContent),
        }};
    }})()"#
    ));
    assert_eq!(facts["verdict"], "error", "{facts:#}");
    assert_eq!(facts["stop"], json!(["SIGINT", "live-fork", "7", "40"]));
    assert_eq!(facts["stopColour"], facts["errorColour"]);
    assert_eq!(facts["reason"], "YieldVault.CycleTooSoon(1767225600)");
    assert_eq!(facts["call"], "YieldVault::cycle()");
    assert_eq!(facts["rowVerdict"], "disproved");
    assert_eq!(facts["score"], "66.67%");
    // The mutant that did not compile is not part of the matrix.
    assert_eq!(facts["matrixRows"], 3);
    assert_eq!(facts["survivors"], json!(["-require(ok);"]));
}

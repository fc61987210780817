//! The page's tables: filters, blocks, the block-by-experiment grid, experiments, checks and the
//! degraded-RPC section.

use super::{
    check_group, engine_word, esc, fragment_value, margin, utc, verdict_rank, verdict_word, Page,
};
use crate::report::degraded::PairOutcome;
use crate::report::html::figures::digits;
use crate::report::{Experiment, Report, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write as _;

pub(super) fn filters(h: &mut String, r: &Report) {
    let mut checks: BTreeSet<&str> = BTreeSet::new();
    let mut groups: BTreeSet<&str> = BTreeSet::new();
    for c in r
        .blocks
        .iter()
        .flat_map(|b| &b.experiments)
        .flat_map(|e| &e.checks)
    {
        checks.insert(&c.name);
        groups.extend(check_group(&c.name));
    }
    h.push_str(
        r#"<form id="filters" class="filters" autocomplete="off">
<label>verdict <select id="f-verdict"><option value="">all</option><option value="held">held</option><option value="disproved">disproved</option><option value="error">error</option></select></label>
<label>block <select id="f-block"><option value="">all</option>"#,
    );
    for b in &r.blocks {
        let _ = write!(
            h,
            "<option value=\"{}\">{} ({})</option>",
            b.number,
            b.number,
            esc(&b.label)
        );
    }
    h.push_str(
        "</select></label>\n<label>check <select id=\"f-check\"><option value=\"\">all</option>",
    );
    for g in groups.iter().filter(|g| !checks.contains(*g)) {
        let _ = write!(h, "<option value=\"{}\">{} (all)</option>", esc(g), esc(g));
    }
    for c in &checks {
        let _ = write!(h, "<option value=\"{}\">{}</option>", esc(c), esc(c));
    }
    h.push_str(
        r#"</select></label>
<label>experiment <input id="f-q" type="search" placeholder="text in the id"></label>
<label><input id="f-failed" type="checkbox"> only what did not hold</label>
<button id="f-reset" type="reset">clear</button>
</form>
"#,
    );
}

pub(super) fn blocks_table(h: &mut String, r: &Report) {
    h.push_str(
        r#"<section id="blocks"><h2>Resilience per block</h2>
<table class="sortable" id="blocks-table"><thead><tr><th data-sort="num">block</th><th>label</th><th data-sort="num">time (UTC)</th><th>hash</th><th data-sort="num">experiments</th><th data-sort="num">held</th><th data-sort="num">disproved</th><th data-sort="num">errors</th><th data-sort="num">resilience</th></tr></thead><tbody>
"#,
    );
    for b in &r.blocks {
        let count = |v: Verdict| b.experiments.iter().filter(|e| e.verdict == v).count();
        let short = if b.hash.len() > 14 {
            format!(
                "{}…",
                &b.hash[..b
                    .hash
                    .char_indices()
                    .nth(12)
                    .map_or(b.hash.len(), |(i, _)| i)]
            )
        } else {
            b.hash.clone()
        };
        let _ = writeln!(
            h,
            r#"<tr data-block="{n}"><td>{n}</td><td>{label}</td><td data-v="{ts}">{time}</td><td title="{hash}"><code>{short}</code></td><td>{total}</td><td>{held}</td><td>{dis}</td><td>{err}</td><td data-v="{res}"><span class="bar" style="--w:{res:.2}%"></span>{res:.2}%</td></tr>"#,
            n = b.number,
            label = esc(&b.label),
            ts = b.timestamp,
            time = utc(b.timestamp),
            hash = esc(&b.hash),
            short = esc(&short),
            total = b.experiments.len(),
            held = count(Verdict::Held),
            dis = count(Verdict::Disproved),
            err = count(Verdict::Error),
            res = b.resilience,
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// Experiment ids in order of first appearance.
pub(super) fn experiment_ids(r: &Report) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for e in r.blocks.iter().flat_map(|b| &b.experiments) {
        if !ids.contains(&e.id.as_str()) {
            ids.push(&e.id);
        }
    }
    ids
}

pub(super) fn failed_checks(e: &Experiment) -> String {
    e.checks
        .iter()
        .filter(|c| !c.passed())
        .map(crate::report::describe_check)
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn grid(h: &mut String, r: &Report) {
    h.push_str(
        "<section id=\"grid\"><h2>Blocks x experiments</h2>\n<div class=\"scroll\"><table id=\"grid-table\"><thead><tr><th>experiment</th>",
    );
    for b in &r.blocks {
        let _ = write!(
            h,
            "<th data-block=\"{n}\">{n}<br><small>{}</small></th>",
            esc(&b.label),
            n = b.number
        );
    }
    h.push_str("</tr></thead><tbody>\n");
    for id in experiment_ids(r) {
        let verdicts: Vec<&str> = r
            .blocks
            .iter()
            .flat_map(|b| b.experiments.iter().filter(|e| e.id == id))
            .map(|e| verdict_word(e.verdict))
            .collect();
        let _ = write!(
            h,
            "<tr data-id=\"{}\" data-verdicts=\"{}\"><th>{}</th>",
            esc(id),
            verdicts.join(" "),
            esc(id)
        );
        for (bi, b) in r.blocks.iter().enumerate() {
            match b.experiments.iter().position(|e| e.id == id) {
                Some(ei) => {
                    let e = &b.experiments[ei];
                    let word = verdict_word(e.verdict);
                    let why = match e.verdict {
                        Verdict::Held => String::new(),
                        Verdict::Disproved => format!(": {}", failed_checks(e)),
                        Verdict::Error => format!(": {}", e.error.as_deref().unwrap_or_default()),
                        Verdict::Interrupted => String::new(),
                    };
                    let symbol = match e.verdict {
                        Verdict::Held => "✓",
                        Verdict::Disproved => "✗",
                        Verdict::Error | Verdict::Interrupted => "!",
                    };
                    let _ = write!(
                        h,
                        "<td class=\"cell {word}\" data-block=\"{}\" data-verdict=\"{word}\" title=\"{} at block {}: {word}{}\"><a href=\"#x-{bi}-{ei}\">{symbol}</a></td>",
                        b.number,
                        esc(id),
                        b.number,
                        esc(&why)
                    );
                }
                None => {
                    let _ = write!(
                        h,
                        "<td class=\"cell none\" data-block=\"{}\" data-verdict=\"\" title=\"not run at this block\">-</td>",
                        b.number
                    );
                }
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n<p class=\"legend\"><span class=\"cell held\">✓ held</span> <span class=\"cell disproved\">✗ disproved</span> <span class=\"cell error\">! error</span> <span class=\"cell none\">- not run (another shard, or not selected)</span></p></section>\n");
}

pub(super) fn experiments_table(h: &mut String, r: &Report) {
    let total: usize = r.blocks.iter().map(|b| b.experiments.len()).sum();
    let _ = write!(
        h,
        r#"<section id="experiments-section"><h2>Experiments <small class="count" id="count-experiments">{total} of {total}</small></h2>
<div class="scroll"><table class="sortable" id="experiments"><thead><tr><th data-sort="num">block</th><th>experiment</th><th>engine</th><th>fault</th><th data-sort="num">verdict</th><th data-sort="num">checks held</th><th data-sort="num">tightest margin</th><th data-sort="num">gas</th><th data-sort="num">cycles</th><th data-sort="num">ms</th><th>state digest</th><th>why not held</th></tr></thead><tbody>
"#
    );
    for (bi, b) in r.blocks.iter().enumerate() {
        for (ei, e) in b.experiments.iter().enumerate() {
            let word = verdict_word(e.verdict);
            let mut names: Vec<String> = e.checks.iter().map(|c| esc(&c.name)).collect();
            let groups: BTreeSet<&str> = e
                .checks
                .iter()
                .filter_map(|c| check_group(&c.name))
                .collect();
            names.extend(groups.into_iter().map(str::to_owned));
            let held = e.checks.iter().filter(|c| c.passed()).count();
            let tightest = e
                .checks
                .iter()
                .map(|c| (margin(c).sort_key(c.passed()), c))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let (tight_key, tight_text) = match tightest {
                Some((key, c)) => (
                    key,
                    format!(
                        "{} <small>{}</small>",
                        esc(&margin(c).text(c.passed())),
                        esc(&c.name)
                    ),
                ),
                None => (f64::INFINITY, "-".to_owned()),
            };
            let digest = match (&e.digest_before, &e.digest_after) {
                (Some(a), Some(b)) if a == b => {
                    format!("<span title=\"{}\">unchanged</span>", esc(a))
                }
                (Some(a), Some(b)) => format!(
                    "<span title=\"before {} after {}\">changed</span>",
                    esc(a),
                    esc(b)
                ),
                _ => "-".into(),
            };
            let why = match e.verdict {
                Verdict::Held => String::new(),
                Verdict::Disproved if reverted(r, b.number, &e.id).is_some() => {
                    let record = reverted(r, b.number, &e.id);
                    let revert = record.map(|x| &x.revert);
                    format!(
                        "<span class=\"revert\">reverted{}: <code class=\"reason\">{}</code>{}</span>",
                        revert
                            .map(|v| format!(" at {}", esc(&v.step)))
                            .unwrap_or_default(),
                        esc(revert.map(|v| v.reason.as_str()).unwrap_or_default()),
                        revert
                            .and_then(|v| v.call.as_deref())
                            .map(|c| format!(" in <code class=\"call\">{}</code>", esc(c)))
                            .unwrap_or_default(),
                    )
                }
                Verdict::Disproved => {
                    let failed: Vec<&str> = e
                        .checks
                        .iter()
                        .filter(|c| !c.passed())
                        .map(|c| c.name.as_str())
                        .collect();
                    let shown: Vec<String> = failed
                        .iter()
                        .take(3)
                        .map(|n| format!("<code>{}</code>", esc(n)))
                        .collect();
                    format!(
                        "{} failed: {}{} <a href=\"#block={}&amp;q={}&amp;failed=1\">show</a>",
                        failed.len(),
                        shown.join(", "),
                        if failed.len() > 3 { ", …" } else { "" },
                        b.number,
                        esc(&fragment_value(&e.id)),
                    )
                }
                Verdict::Error | Verdict::Interrupted => {
                    esc(e.error.as_deref().unwrap_or("could not run"))
                }
            };
            let _ = writeln!(
                h,
                r#"<tr id="x-{bi}-{ei}" class="{word}" data-block="{n}" data-id="{id}" data-verdict="{word}" data-checks="{checks}"><td>{n}</td><td><code>{id}</code></td><td>{engine}</td><td>{fault}</td><td class="v {word}" data-v="{rank}">{word}</td><td data-v="{held}">{held} / {all}</td><td data-v="{tight_key:e}">{tight_text}</td><td>{gas}</td><td>{cycles}</td><td>{ms}</td><td>{digest}</td><td class="why">{why}</td></tr>"#,
                n = b.number,
                id = esc(&e.id),
                checks = names.join("&#10;"),
                engine = engine_word(e.engine),
                fault = esc(&e.fault),
                rank = verdict_rank(e.verdict),
                all = e.checks.len(),
                gas = e.gas,
                cycles = e.cycles,
                ms = e.duration_ms,
            );
        }
    }
    h.push_str("</tbody></table></div></section>\n");
}

/// The decoded revert of experiment `id` at `block`, if it reverted.
pub(super) fn reverted<'r>(
    r: &'r Report,
    block: u64,
    id: &str,
) -> Option<&'r crate::report::RevertRecord> {
    r.reverts
        .iter()
        .find(|x| x.block == block && x.experiment == id)
}

pub(super) fn checks_table(h: &mut String, r: &Report) {
    let total: usize = r
        .blocks
        .iter()
        .flat_map(|b| &b.experiments)
        .map(|e| e.checks.len())
        .sum();
    let _ = write!(
        h,
        r#"<section id="checks-section"><h2>Checks <small class="count" id="count-checks">{total} of {total}</small></h2>
<p>Every steady-state check of every experiment: the observed value, the relation it must satisfy and the bound, and the margin (below: how close it came to failing). Sort by margin to see the tightest first.</p>
<div class="scroll"><table class="sortable" id="checks"><thead><tr><th data-sort="num">block</th><th>experiment</th><th>check</th><th data-sort="num" class="num">observed</th><th>relation</th><th data-sort="num" class="num">bound</th><th data-sort="num" data-key="margin">margin</th><th data-sort="num">result</th></tr></thead><tbody>
"#
    );
    for b in &r.blocks {
        for e in &b.experiments {
            let word = verdict_word(e.verdict);
            for c in &e.checks {
                let m = margin(c);
                let result = if c.passed() { "held" } else { "failed" };
                let _ = writeln!(
                    h,
                    r#"<tr class="{row}" data-block="{n}" data-id="{id}" data-verdict="{word}" data-check="{name}" data-group="{group}" data-passed="{passed}"><td>{n}</td><td><code>{id}</code></td><td><code>{name}</code></td><td class="num obs" data-v="{obs}">{obs_text}</td><td class="rel">{rel}</td><td class="num bound" data-v="{bound}">{bound_text}</td><td class="margin" data-v="{key:e}" title="{detail}">{mtext}</td><td class="result" data-v="{rank}">{result}</td></tr>"#,
                    row = if c.passed() { "pass" } else { "fail" },
                    n = b.number,
                    id = esc(&e.id),
                    name = esc(&c.name),
                    group = check_group(&c.name).unwrap_or_default(),
                    passed = c.passed(),
                    obs = c.observed(),
                    obs_text = digits(c.observed()),
                    bound_text = digits(c.bound()),
                    rel = esc(c.relation().symbol()),
                    bound = c.bound(),
                    key = m.sort_key(c.passed()),
                    detail = esc(&m.detail()),
                    mtext = esc(&m.text(c.passed())),
                    rank = u8::from(c.passed()),
                );
            }
        }
    }
    h.push_str("</tbody></table></div></section>\n");
}

pub(super) fn degraded(h: &mut String, page: &Page<'_>) {
    let Some(d) = &page.report.rpc_degradation else {
        return;
    };
    let held = d.held();
    let _ = write!(
        h,
        r#"<section id="degraded"><h2>Degraded RPC</h2>
<p class="verdict {cls}">{verdict}</p>
<p>The same experiments ran a second time with every upstream read going through faults: <code>{faults}</code> ({injected} injected). Each pair of a clean and a degraded experiment is <i>matched</i> (same verdict and state), a <i>classified failure</i> (it failed with a cause naming the RPC), an <i>unclassified failure</i>, or a <i>silent divergence</i> (another verdict or another state: the hypothesis is disproved).</p>
<dl class="totals"><div class="held"><dt>matched</dt><dd id="deg-matched">{matched}</dd></div><div><dt>classified failures</dt><dd id="deg-classified">{classified}</dd></div><div class="error"><dt>unclassified failures</dt><dd id="deg-unclassified">{unclassified}</dd></div><div class="disproved"><dt>silent divergences</dt><dd id="deg-silent">{silent}</dd></div></dl>
"#,
        cls = if held { "held" } else { "disproved" },
        verdict = if held {
            "no silent divergence: a degraded RPC never produced a different result"
        } else {
            "disproved: a degraded RPC produced a different result or an unexplained failure"
        },
        faults = esc(&d.faults.join(", ")),
        injected = d.faults_injected,
        matched = d.matched,
        classified = d.classified_failures,
        unclassified = d.unclassified_failures,
        silent = d.silent_divergences,
    );
    if !page.degraded_pairs.is_empty() {
        h.push_str(
            r#"<div class="scroll"><table class="sortable" id="degraded-pairs"><thead><tr><th data-sort="num">block</th><th>experiment</th><th>outcome</th><th>class</th><th>cause</th></tr></thead><tbody>
"#,
        );
        for p in &page.degraded_pairs {
            let (word, cls, class, cause) = match &p.outcome {
                PairOutcome::Matched => ("matched", "held", "", ""),
                PairOutcome::ClassifiedFailure { class, error, .. } => (
                    "classified failure",
                    "classified",
                    class.as_str(),
                    error.as_str(),
                ),
                PairOutcome::UnclassifiedFailure { error } => {
                    ("unclassified failure", "error", "", error.as_str())
                }
                PairOutcome::SilentDivergence { detail } => {
                    ("silent divergence", "disproved", "", detail.as_str())
                }
            };
            let _ = writeln!(
                h,
                r#"<tr class="{cls}" data-block="{n}" data-id="{id}"><td>{n}</td><td><code>{id}</code></td><td class="v {cls}">{word}</td><td>{class}</td><td class="why">{cause}</td></tr>"#,
                n = p.block,
                id = esc(&p.experiment),
                class = esc(class),
                cause = esc(cause),
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    if !d.requests.is_empty() {
        h.push_str("<details><summary>Upstream requests of the degraded run, per method</summary><table><tbody>");
        for (method, n) in &d.requests {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td class=\"num\">{n}</td></tr>",
                esc(method)
            );
        }
        h.push_str("</tbody></table></details>\n");
    }
    h.push_str("</section>\n");
}

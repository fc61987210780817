//! The mutation-testing section of the page: the kill matrix and the survivors of a mutants run.

use super::esc;
use std::fmt::Write as _;

/// The mutants section: a small typed input so that the page does not depend on the mutants
/// command's file format. Rendered only when given.
#[derive(Debug, Clone, Default)]
pub struct Mutants {
    /// Killed / compiled, in percent.
    pub score: f64,
    /// The score the run had to meet, if any.
    pub min_score: Option<f64>,
    pub generated: u64,
    pub compiled: u64,
    /// The experiments (columns of the kill matrix), in order.
    pub experiments: Vec<String>,
    pub mutants: Vec<Mutant>,
}

impl Mutants {
    /// The section from `cargo xtask mutants`'s `mutants.json`.
    pub fn from_report(m: &crate::report::mutants::MutantsReport) -> Self {
        use crate::report::mutants::Status;
        Self {
            score: m.score.unwrap_or(0.0),
            min_score: Some(m.min_score),
            generated: m.totals.generated,
            compiled: m.totals.compiled,
            experiments: m.experiments.clone(),
            mutants: m
                .mutants
                .iter()
                .filter_map(|x| {
                    let status = match x.status {
                        Status::Killed => MutantStatus::Killed,
                        Status::Survived => MutantStatus::Survived,
                        Status::TimedOut => MutantStatus::TimedOut,
                        Status::Equivalent => MutantStatus::Equivalent,
                        // Not run: not part of the matrix.
                        Status::NotCompiled | Status::Error => return None,
                    };
                    Some(Mutant {
                        id: x.id.clone(),
                        operator: x.operator.clone(),
                        file: x.file.clone(),
                        line: x.line as u64,
                        function: x.function.clone(),
                        status,
                        killed_by: x.killed_by.clone(),
                        diff: x.diff.clone(),
                    })
                })
                .collect(),
        }
    }
}

/// One mutant of the vault.
#[derive(Debug, Clone)]
pub struct Mutant {
    pub id: String,
    /// Operator family (`comparison swapped`, `require removed`, ...).
    pub operator: String,
    pub file: String,
    pub line: u64,
    pub function: String,
    pub status: MutantStatus,
    /// The experiments that disproved a hypothesis on this mutant.
    pub killed_by: Vec<String>,
    /// The change, as a unified diff.
    pub diff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutantStatus {
    Killed,
    Survived,
    TimedOut,
    /// A survivor reviewed as equivalent (no reachable behaviour change).
    Equivalent,
}

impl MutantStatus {
    fn word(self) -> &'static str {
        match self {
            MutantStatus::Killed => "killed",
            MutantStatus::Survived => "survived",
            MutantStatus::TimedOut => "timed out",
            MutantStatus::Equivalent => "equivalent",
        }
    }
}

// ----------------------------------------------------------------------------------- margin

pub(super) fn mutants(h: &mut String, m: &Mutants) {
    let count = |s: MutantStatus| m.mutants.iter().filter(|x| x.status == s).count();
    let _ = write!(
        h,
        r#"<section id="mutants"><h2>Mutants</h2>
<p>Single-point changes of the vault's source, each run through the chaos suite: a mutant is killed when an experiment disproves a hypothesis on it. A survivor is a defect the suite cannot see.</p>
<dl class="totals"><div><dt>score</dt><dd id="mutants-score">{score:.2}%</dd></div>{min}<div><dt>generated</dt><dd>{generated}</dd></div><div><dt>compiled</dt><dd>{compiled}</dd></div><div class="held"><dt>killed</dt><dd id="mutants-killed">{killed}</dd></div><div class="disproved"><dt>survived</dt><dd id="mutants-survived">{survived}</dd></div><div class="error"><dt>timed out</dt><dd>{timed_out}</dd></div><div><dt>equivalent</dt><dd>{equivalent}</dd></div></dl>
"#,
        score = m.score,
        min = m
            .min_score
            .map(|s| format!("<div><dt>required</dt><dd>{s:.2}%</dd></div>"))
            .unwrap_or_default(),
        generated = m.generated,
        compiled = m.compiled,
        killed = count(MutantStatus::Killed),
        survived = count(MutantStatus::Survived),
        timed_out = count(MutantStatus::TimedOut),
        equivalent = count(MutantStatus::Equivalent),
    );
    // Kills per experiment: the experiments that kill nothing are blind spots.
    h.push_str("<h3>Kill matrix</h3>\n<div class=\"scroll\"><table class=\"sortable\" id=\"kill-matrix\"><thead><tr><th>mutant</th><th>status</th>");
    for e in &m.experiments {
        let _ = write!(h, "<th class=\"vertical\"><code>{}</code></th>", esc(e));
    }
    h.push_str("</tr></thead><tbody>\n");
    for x in &m.mutants {
        let cls = match x.status {
            MutantStatus::Killed => "held",
            MutantStatus::Survived => "disproved",
            MutantStatus::TimedOut => "error",
            MutantStatus::Equivalent => "none",
        };
        let _ = write!(
            h,
            "<tr class=\"{cls}\" data-status=\"{}\"><th title=\"{}:{} {}\"><code>{}</code></th><td class=\"v {cls}\">{}</td>",
            x.status.word(),
            esc(&x.file),
            x.line,
            esc(&x.function),
            esc(&x.id),
            x.status.word()
        );
        for e in &m.experiments {
            if x.killed_by.contains(e) {
                h.push_str("<td class=\"cell held\" data-v=\"1\">✗</td>");
            } else {
                h.push_str("<td class=\"cell\" data-v=\"0\"></td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody><tfoot><tr><th>kills</th><td></td>");
    for e in &m.experiments {
        let kills = m.mutants.iter().filter(|x| x.killed_by.contains(e)).count();
        let _ = write!(
            h,
            "<td class=\"num{}\">{kills}</td>",
            if kills == 0 { " disproved" } else { "" }
        );
    }
    h.push_str("</tr></tfoot></table></div>\n");
    let survivors: Vec<&Mutant> = m
        .mutants
        .iter()
        .filter(|x| x.status == MutantStatus::Survived)
        .collect();
    if !survivors.is_empty() {
        h.push_str("<h3>Survivors</h3>\n<div id=\"survivors\">");
        for x in survivors {
            let _ = writeln!(
                h,
                "<details class=\"survivor\"><summary><code>{}</code> {} in <code>{}</code>, <code>{}:{}</code></summary><pre>{}</pre></details>",
                esc(&x.id),
                esc(&x.operator),
                esc(&x.function),
                esc(&x.file),
                x.line,
                esc(&x.diff)
            );
        }
        h.push_str("</div>\n");
    }
    h.push_str("</section>\n");
}

//! Numbers as the page shows them: a check's margin to its bound, and big integers in compact or
//! scientific form.

use crate::report::check::{Check, Relation};
use alloy::primitives::I256;
use std::fmt::Write as _;

/// How close a check came to failing.
///
/// For an ordered relation the *slack* is the distance from the observed value to the bound on
/// the passing side: `bound - observed` for `<=` and `<`, `observed - bound` for `>=` and `>`.
/// Positive slack is room left, zero is exactly at the bound (a failure for `<` and `>`),
/// negative is by how much the check failed. The *relative margin* is the slack divided by
/// `|bound|`: `+25%` means the observed value could move a quarter of the bound further before
/// the check fails. A bound of zero has no relative margin; the slack is shown as it is.
/// `==` and `!=` have no distance worth a percentage: they hold exactly or not at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Margin {
    /// `<=`, `<`, `>=`, `>`.
    Room {
        slack: I256,
        /// `slack / |bound|`, absent when the bound is zero.
        relative: Option<f64>,
    },
    /// `==`: `off` is `|observed - bound|` (zero when it held).
    Exact { off: I256 },
    /// `!=`.
    Distinct,
}

pub(super) fn to_f64(v: I256) -> f64 {
    v.to_string().parse().unwrap_or(f64::NAN)
}

/// The margin of one check (see [`Margin`]).
pub fn margin(check: &Check) -> Margin {
    let (o, b) = (check.observed(), check.bound());
    let slack = match check.relation() {
        Relation::Le | Relation::Lt => b.saturating_sub(o),
        Relation::Ge | Relation::Gt => o.saturating_sub(b),
        Relation::Eq => {
            return Margin::Exact {
                off: o.saturating_sub(b).saturating_abs(),
            }
        }
        Relation::Ne => return Margin::Distinct,
    };
    let relative = (!b.is_zero()).then(|| to_f64(slack) / to_f64(b.saturating_abs()));
    Margin::Room { slack, relative }
}

impl Margin {
    /// Sort key, smallest first = closest to failing: failed checks (by how far they failed),
    /// then relative margins from the tightest, then checks without a relative margin.
    pub fn sort_key(&self, passed: bool) -> f64 {
        const NO_RELATIVE: f64 = 1e12;
        match (self, passed) {
            (
                Margin::Room {
                    relative: Some(r), ..
                },
                _,
            ) if r.is_finite() => {
                if passed {
                    *r
                } else {
                    -1e12 + r.max(-1e11)
                }
            }
            (_, false) => -1e12,
            _ => NO_RELATIVE,
        }
    }

    /// Short text for the table: the relative margin, else the slack.
    pub fn text(&self, passed: bool) -> String {
        match self {
            Margin::Room { slack, .. } if slack.is_zero() => {
                if passed {
                    "at the bound".into()
                } else {
                    "at the bound (strict)".into()
                }
            }
            Margin::Room {
                relative: Some(r),
                slack,
            } if r.is_finite() => {
                let pct = r * 100.0;
                let shown = if pct.abs() >= 1e6 || pct.abs() < 0.01 {
                    format!("{}{:.1e}%", if pct > 0.0 { "+" } else { "" }, pct)
                } else {
                    format!("{pct:+.2}%")
                };
                // A tiny relative margin hides a small absolute one (1 wei of a large bound).
                if pct.abs() < 0.01 {
                    format!("{shown} (slack {slack})")
                } else {
                    shown
                }
            }
            Margin::Room { slack, .. } if slack.is_negative() => {
                format!("over by {}", compact(slack.saturating_abs()))
            }
            Margin::Room { slack, .. } => format!("slack {}", compact(*slack)),
            Margin::Exact { off } if off.is_zero() => "exact".into(),
            Margin::Exact { off } => format!("off by {}", compact(*off)),
            Margin::Distinct => if passed { "differs" } else { "equal" }.into(),
        }
    }

    /// The slack in words, for the cell's tooltip.
    pub(crate) fn detail(&self) -> String {
        match self {
            Margin::Room { slack, relative } => match relative {
                Some(_) => format!("slack {slack} (distance to the bound on the passing side)"),
                None => format!("slack {slack}; the bound is 0, so no relative margin"),
            },
            Margin::Exact { off } => format!("|observed - bound| = {off}"),
            Margin::Distinct => "must differ from the bound".into(),
        }
    }
}

// ----------------------------------------------------------------------------------- gather

/// Digits beyond which a value is shown in scientific notation (the exact value in its tooltip).
pub(super) const MAX_DIGITS: usize = 24;

/// `d.dddddde+N`: the leading `significant` digits of a long integer, truncated, without
/// going through a float.
pub(super) fn scientific(text: &str, significant: usize) -> String {
    let (sign, body) = text.split_at(usize::from(text.starts_with('-')));
    let kept = &body[..significant.min(body.len())];
    let (first, rest) = kept.split_at(1);
    let rest = rest.trim_end_matches('0');
    let dot = if rest.is_empty() { "" } else { "." };
    format!("{sign}{first}{dot}{rest}e{}", body.len() - 1)
}

/// A value for the margin column: exact when short, scientific when long.
pub(super) fn compact(v: I256) -> String {
    let text = v.to_string();
    if text.trim_start_matches('-').len() > 12 {
        scientific(&text, 3)
    } else {
        text
    }
}

/// A big integer with its digits in groups of three (spans, so that copying keeps the digits);
/// beyond [`MAX_DIGITS`] in scientific notation with the exact value as its tooltip.
pub(super) fn digits(v: I256) -> String {
    let text = v.to_string();
    let (sign, body) = text.split_at(usize::from(text.starts_with('-')));
    if body.len() > MAX_DIGITS {
        return format!(
            "<span class=\"sci\" title=\"{text}\">{}</span>",
            scientific(&text, 7)
        );
    }
    if body.len() <= 6 {
        return text;
    }
    let first = body.len() % 3;
    let mut out = String::from(sign);
    if first > 0 {
        out.push_str(&body[..first]);
    }
    for (i, chunk) in body.as_bytes()[first..].chunks(3).enumerate() {
        let chunk = std::str::from_utf8(chunk).unwrap_or_default();
        if i == 0 && first == 0 {
            out.push_str(chunk);
        } else {
            let _ = write!(out, "<span class=\"g\">{chunk}</span>");
        }
    }
    out
}

//! Static analysis of a compiled program: warnings about what cannot happen, and the reachable bounds of
//! each score. It evaluates with every field unknown and events unknown, so what it proves holds for any
//! input; what it cannot prove it does not claim.

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic};
use crate::program::{Node, Program};
use crate::vm::{Scores, Tri};

/// Reachable bounds of the scores over every possible input (`null` = unbounded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bounds {
    /// The total.
    pub total: crate::eval::Range,
    /// Per group id.
    pub groups: Vec<(String, crate::eval::Range)>,
}

/// The bounds of every score.
pub fn bounds(p: &Program) -> Bounds {
    let pass = p.static_pass();
    Bounds {
        total: range(pass.total),
        groups: p.groups.iter().zip(&pass.groups).map(|(g, r)| (g.id.clone(), range(*r))).collect(),
    }
}

fn range((lo, hi): (f64, f64)) -> crate::eval::Range {
    crate::eval::Range { min: lo.is_finite().then_some(lo), max: hi.is_finite().then_some(hi) }
}

fn fmt_bound(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else if x > 0.0 {
        "unbounded".into()
    } else {
        "-unbounded".into()
    }
}

pub(crate) fn warnings(p: &Program, diags: &mut Vec<Diagnostic>) {
    let pass = p.static_pass();
    let scores = Scores { total: pass.total, groups: pass.groups.clone() };
    for (i, s) in p.stages.iter().enumerate() {
        if s.when.is_some() && p.static_cond(s.when, Some(&scores)) == Tri::False {
            let parts: Vec<String> =
                std::iter::once(format!("score {}..{}", fmt_bound(pass.total.0), fmt_bound(pass.total.1)))
                    .chain(
                        p.groups
                            .iter()
                            .zip(&pass.groups)
                            .map(|(g, r)| format!("{} {}..{}", g.id, fmt_bound(r.0), fmt_bound(r.1))),
                    )
                    .collect();
            diags.push(
                Diagnostic::warning(
                    Code::UnreachableStage,
                    format!("/stages/{i}/when"),
                    format!("no lead can reach the stage `{}`", s.id),
                )
                .with_note(format!("reachable: {}", parts.join(", "))),
            );
        }
    }
    for (i, r) in p.rules.iter().enumerate() {
        if r.when.is_some() && p.static_cond(r.when, None) == Tri::False {
            diags.push(Diagnostic::warning(
                Code::DeadRule,
                format!("/rules/{i}/when"),
                format!("the condition of rule `{}` can never be true, so it never gives points", r.id),
            ));
        }
    }
    for (i, k) in p.knockouts.iter().enumerate() {
        if p.static_cond(Some(k.when), None) == Tri::False {
            diags.push(Diagnostic::warning(
                Code::DeadRule,
                format!("/knockouts/{i}/when"),
                format!("the condition of knockout `{}` can never be true", k.id),
            ));
        }
    }
    for (i, f) in p.fields.iter().enumerate() {
        let Some(req) = f.required else { continue };
        if !matches!(p.nodes.get(req as usize), Some(Node::Bool(true))) {
            continue;
        }
        let step = f.step.map(|s| s as usize);
        let why = if f.visible.is_some() {
            Some("its `visible_if` can hide it")
        } else if step.is_some_and(|s| p.steps[s].visible.is_some()) {
            Some("its step has a `visible_if`")
        } else {
            None
        };
        if let Some(why) = why {
            diags.push(
                Diagnostic::warning(
                    Code::HiddenRequired,
                    format!("/fields/{i}/required"),
                    format!("`{}` is required but can be hidden: {why}", f.id),
                )
                .with_note("a hidden field is not asked and its answer does not count; if that is meant, write `required` as a condition"),
            );
        }
    }
}

//! Server-side re-checking: re-score a submission with the same engine and compare it with what the client
//! claimed. Any difference (a tampered score, another rules version, a forged stage) is reported field by field.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::answers::num_json as num;
use crate::eval::{Evaluation, Options};
use crate::program::Program;

/// What a client submits: its inputs and the result it computed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Claim {
    /// The rules hash the client scored with.
    pub rules_hash: Option<String>,
    /// When the client scored, in milliseconds since 1970 (decay and day windows depend on it).
    pub at: Option<f64>,
    /// The answers, `{field: value}`.
    pub answers: Json,
    /// The events, `[{"type", "at"}]`.
    pub events: Json,
    /// The total score claimed.
    pub score: Option<f64>,
    /// Group scores claimed, `{group: score}`.
    pub groups: Option<serde_json::Map<String, Json>>,
    /// The stage claimed (`disqualified` for a knockout).
    pub stage: Option<String>,
    /// The grade claimed: the matrix cell when the model has one, else the letter.
    pub grade: Option<String>,
    /// The ids of the rules that gave points, in any order.
    pub rules: Option<Vec<String>>,
}

/// One claimed value that the server's evaluation does not confirm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// What differs: `rules_hash`, `at`, `score`, `groups.<id>`, `stage`, `grade`, `rules`, `input`.
    pub what: String,
    /// What the client claimed.
    pub claimed: Json,
    /// What the server computed.
    pub actual: Json,
}

/// The server's verdict on a claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Every claimed value matches, and the inputs had no issues.
    pub ok: bool,
    /// What does not match.
    pub mismatches: Vec<Mismatch>,
    /// The server's own evaluation of the submitted inputs (as submitted: the form is complete).
    pub evaluation: Evaluation,
}

/// Checks of the claim's time against the server's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// The server's clock, in milliseconds since 1970; used when the claim has no time.
    pub now: Option<f64>,
    /// With `now`: the largest accepted distance between the claim's time and `now`.
    pub max_skew_ms: Option<f64>,
}

/// Scores differ when they differ by more than rounding in the claim's transport (1e-9 relative).
fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

impl Program {
    /// Re-scores a submission and compares the result with the client's claim.
    pub fn verify(&self, claim: &Claim, opts: &VerifyOptions) -> Verification {
        let at = claim.at.filter(|t| t.is_finite()).or(opts.now).unwrap_or(0.0);
        let e = self.evaluate_json(&claim.answers, &claim.events, at, &Options { complete: true, locale: None });
        let mut out = self.mismatches(claim, &e, opts);
        // Input problems are reported after the hash and the time, before the scores.
        let head = out.iter().take_while(|m| m.what == "rules_hash" || m.what == "at").count();
        let inputs = e.issues.iter().map(|i| Mismatch {
            what: "input".into(),
            claimed: Json::from(i.field.as_str()),
            actual: Json::from(i.message.as_str()),
        });
        out.splice(head..head, inputs);
        Verification { ok: out.is_empty(), mismatches: out, evaluation: e }
    }

    /// The claimed values that evaluation `e` (the server's own, of the same submission) does not confirm:
    /// the rules hash, the time (with `opts`), score, groups, stage, grade and fired rules. Inputs are not
    /// compared: `e` is what the server made of them.
    pub fn mismatches(&self, claim: &Claim, e: &Evaluation, opts: &VerifyOptions) -> Vec<Mismatch> {
        let mut out = vec![];
        let mut miss = |what: &str, claimed: Json, actual: Json| {
            out.push(Mismatch { what: what.to_string(), claimed, actual });
        };
        if let Some(h) = &claim.rules_hash {
            if h != self.hash() {
                miss("rules_hash", Json::from(h.as_str()), Json::from(self.hash()));
            }
        }
        let at = claim.at.filter(|t| t.is_finite()).or(opts.now).unwrap_or(0.0);
        if let (Some(now), Some(skew)) = (opts.now, opts.max_skew_ms) {
            if !(at - now).abs().le(&skew) {
                miss("at", claim.at.map_or(Json::Null, num), num(now));
            }
        }
        if let Some(s) = claim.score {
            if !same(s, e.score) {
                miss("score", num(s), num(e.score));
            }
        }
        if let Some(groups) = &claim.groups {
            for (id, v) in groups {
                let actual = e.groups.iter().find(|g| &g.id == id).map(|g| g.score);
                match (v.as_f64(), actual) {
                    (Some(c), Some(a)) if same(c, a) => {}
                    (_, a) => miss(&format!("groups.{id}"), v.clone(), a.map_or(Json::Null, num)),
                }
            }
        }
        if let Some(s) = &claim.stage {
            if *s != e.stage.id {
                miss("stage", Json::from(s.as_str()), Json::from(e.stage.id.as_str()));
            }
        }
        if let Some(g) = &claim.grade {
            let actual = e.grade.as_ref().map(|g| g.cell.as_ref().unwrap_or(&g.letter).clone());
            if Some(g) != actual.as_ref() {
                miss("grade", Json::from(g.as_str()), actual.map_or(Json::Null, Json::from));
            }
        }
        if let Some(rules) = &claim.rules {
            let mut claimed: Vec<&str> = rules.iter().map(String::as_str).collect();
            let mut actual: Vec<&str> = e.ledger.iter().map(|l| l.rule.as_str()).collect();
            claimed.sort_unstable();
            actual.sort_unstable();
            if claimed != actual {
                miss("rules", Json::from(claimed), Json::from(actual));
            }
        }
        out
    }
}

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
    /// The grade claimed: the matrix cell when the model has one, else the letter; the empty string claims that
    /// the evaluation has no grade (the model has none). This is how the form controller sends it
    /// (`leadscore_grade`), so that a form field carries both; a grade's label is never empty (the compiler
    /// refuses one).
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

/// A claimed score is the server's exactly: the engine gives the same number bit for bit in the browser and on the
/// server, and the controller writes it in the shortest form that reads back to the same number. Only the sign of
/// zero is not compared, as a form field writes -0 as `0`.
fn same(a: f64, b: f64) -> bool {
    a == b
}

impl Program {
    /// Re-scores a submission and compares the result with the client's claim.
    pub fn verify(&self, claim: &Claim, opts: &VerifyOptions) -> Verification {
        self.verify_with(claim, opts, vec![])
    }

    /// [`Program::verify`], with problems of the claim's answers found before it was JSON (`issues`: a JS
    /// `NaN`, which JSON reads as null).
    pub(crate) fn verify_with(&self, claim: &Claim, opts: &VerifyOptions, issues: Vec<crate::Issue>) -> Verification {
        let at = claim.at.filter(|t| t.is_finite()).or(opts.now).unwrap_or(0.0);
        let mut e = self.evaluate_json(&claim.answers, &claim.events, at, &Options { complete: true, locale: None });
        e.issues.splice(0..0, issues);
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
            let actual = e.grade.as_ref().map(|g| g.cell.as_ref().unwrap_or(&g.letter).as_str());
            if g.as_str() != actual.unwrap_or("") {
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

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use serde_json::json;

    use super::*;

    fn program(doc: &str) -> Program {
        crate::compile_str(doc).program.expect("compiles")
    }

    /// A claim of the server's own evaluation of `answers`.
    fn honest(p: &Program, answers: Json) -> (Claim, Evaluation) {
        let bare = Claim { answers, at: Some(1.8e12), ..Claim::default() };
        let e = p.verify(&bare, &VerifyOptions::default()).evaluation;
        let groups = e.groups.iter().map(|g| (g.id.clone(), num(g.score))).collect();
        let grade = e.grade.as_ref().map_or(String::new(), |g| g.cell.clone().unwrap_or_else(|| g.letter.clone()));
        let claim = Claim {
            score: Some(e.score),
            groups: Some(groups),
            stage: Some(e.stage.id.clone()),
            grade: Some(grade),
            rules: Some(e.ledger.iter().map(|l| l.rule.clone()).collect()),
            ..bare
        };
        (claim, e)
    }

    fn what(p: &Program, claim: &Claim) -> Vec<String> {
        p.verify(claim, &VerifyOptions::default()).mismatches.into_iter().map(|m| m.what).collect()
    }

    #[test]
    fn a_claimed_score_is_the_servers_bit_for_bit() {
        let p = program(include_str!("../examples/b2b-saas.json"));
        let answers = json!({"employees": 120, "country": "DE", "industry": "saas", "seniority": "vp"});
        let (claim, e) = honest(&p, answers);
        assert!(e.score > 0.0);
        assert_eq!(what(&p, &claim), Vec::<String>::new());
        // The next number up: within the 1e-9 that was once accepted, yet not the server's score.
        let next = f64::from_bits(e.score.to_bits() + 1);
        assert_eq!(what(&p, &Claim { score: Some(next), ..claim.clone() }), ["score"]);
        let mut groups = claim.groups.clone().unwrap();
        let fit = groups["fit"].as_f64().unwrap();
        groups.insert("fit".into(), num(f64::from_bits(fit.to_bits() + 1)));
        assert_eq!(what(&p, &Claim { groups: Some(groups), ..claim.clone() }), ["groups.fit"]);
        // -0 and 0 are the same claim: a form field writes -0 as 0.
        let zero = program(
            r#"{"leadscore": 1, "id": "z", "fields": [{"id": "n", "type": "number"}],
            "rules": [{"id": "r", "group": "fit", "when": "n > 0", "points": 1}], "stages": [{"id": "lead"}]}"#,
        );
        let (claim, e) = honest(&zero, json!({}));
        assert_eq!(e.score, 0.0);
        assert_eq!(what(&zero, &Claim { score: Some(-0.0), ..claim }), Vec::<String>::new());
    }

    #[test]
    fn an_empty_grade_claims_that_there_is_none() {
        let none = program(
            r#"{"leadscore": 1, "id": "minimal",
            "fields": [{"id": "employees", "type": "integer"}],
            "rules": [{"id": "size", "group": "fit", "when": "employees >= 50", "points": 10}],
            "stages": [{"id": "mql", "when": "score >= 10"}, {"id": "lead"}]}"#,
        );
        let (claim, e) = honest(&none, json!({"employees": 80}));
        assert!(e.grade.is_none());
        assert_eq!(claim.grade.as_deref(), Some(""));
        assert_eq!(what(&none, &claim), Vec::<String>::new());
        assert_eq!(what(&none, &Claim { grade: Some("A".into()), ..claim }), ["grade"]);

        let graded = program(include_str!("../examples/b2b-saas.json"));
        let (claim, e) = honest(&graded, json!({"employees": 120}));
        assert!(e.grade.is_some());
        assert_eq!(what(&graded, &claim), Vec::<String>::new());
        assert_eq!(what(&graded, &Claim { grade: Some(String::new()), ..claim }), ["grade"]);
    }
}

//! Champion and challenger: two models backtested on the same history, lead by lead. Each model gets its whole
//! backtest report (close rate per stage, precision and recall of its thresholds); the comparison adds the leads
//! whose stage changes from one model to the other, with the rules that fired for one and not the other. Pure:
//! the caller reads the history once per model (a model reads the columns it has fields for) and hands the two
//! readings of each row here together.

use serde::Serialize;

use crate::backtest::{Backtest, Outcome, Report, Scored};
use crate::Program;

/// How many changed leads a comparison lists (all are counted).
const MAX_LEADS: usize = 500;

/// Leads that moved from one stage to another, and what became of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub count: u64,
    pub won: u64,
    pub lost: u64,
}

/// A lead whose stage differs between the two models.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub id: String,
    pub line: u64,
    pub from: String,
    pub to: String,
    /// `won`, `lost` or `open`.
    pub outcome: &'static str,
    pub score_a: f64,
    pub score_b: f64,
    /// Rules that fired for this lead with the challenger only, and with the champion only (by id).
    pub gained: Vec<String>,
    pub dropped: Vec<String>,
}

/// The two reports and what changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The champion's report (model A) and the challenger's (model B).
    pub a: Report,
    pub b: Report,
    /// Leads scored by both.
    pub leads: u64,
    /// Leads whose stage differs.
    pub changed: u64,
    /// By (from, to), most leads first.
    pub transitions: Vec<Transition>,
    /// The changed leads, in file order (at most 500).
    pub moved: Vec<Moved>,
}

/// What changes between two backtests fed the same rows: the leads whose stage differs.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    leads: u64,
    changed: u64,
    transitions: Vec<Transition>,
    moved: Vec<Moved>,
}

fn stage_id(p: &Program, stage: usize) -> String {
    p.stages.get(stage).map_or_else(|| "disqualified".to_string(), |s| s.id.clone())
}

fn fired_ids(p: &Program, fired: &[bool]) -> Vec<String> {
    p.rules.iter().zip(fired).filter(|(_, f)| **f).map(|(r, _)| r.id.clone()).collect()
}

type Row = Result<crate::leads::Lead, crate::leads::RowError>;

impl Changes {
    /// One row, as each model read it (a lead, or the same bad row), added to each model's backtest.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        pa: &Program,
        a: &mut Backtest,
        row_a: Row,
        pb: &Program,
        b: &mut Backtest,
        row_b: Row,
        now: f64,
    ) {
        let (id, line) = match &row_a {
            Ok(l) => (l.id.clone(), l.line),
            Err(e) => (String::new(), e.line),
        };
        let sa = a.add_read(pa, row_a, now);
        let sb = b.add_read(pb, row_b, now);
        let (Some(sa), Some(sb)) = (sa, sb) else { return };
        self.leads += 1;
        let (from, to) = (stage_id(pa, sa.stage), stage_id(pb, sb.stage));
        if from == to {
            return;
        }
        self.changed += 1;
        let Scored { outcome, .. } = sa;
        let (won, lost) = (u64::from(outcome == Outcome::Won), u64::from(outcome == Outcome::Lost));
        match self.transitions.iter_mut().find(|t| t.from == from && t.to == to) {
            Some(t) => {
                t.count += 1;
                t.won += won;
                t.lost += lost;
            }
            None => self.transitions.push(Transition { from: from.clone(), to: to.clone(), count: 1, won, lost }),
        }
        if self.moved.len() < MAX_LEADS {
            let (fa, fb) = (fired_ids(pa, a.fired()), fired_ids(pb, b.fired()));
            self.moved.push(Moved {
                id,
                line,
                from,
                to,
                outcome: outcome.name(),
                score_a: sa.score,
                score_b: sb.score,
                gained: fb.iter().filter(|r| !fa.contains(r)).cloned().collect(),
                dropped: fa.iter().filter(|r| !fb.contains(r)).cloned().collect(),
            });
        }
    }

    /// Both reports (stage names in `locale`) and the changes.
    pub fn report(&self, pa: &Program, a: &Backtest, pb: &Program, b: &Backtest, locale: Option<&str>) -> Comparison {
        let mut transitions = self.transitions.clone();
        transitions
            .sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.from.cmp(&y.from)).then_with(|| x.to.cmp(&y.to)));
        Comparison {
            a: a.report(pa, locale),
            b: b.report(pb, locale),
            leads: self.leads,
            changed: self.changed,
            transitions,
            moved: self.moved.clone(),
        }
    }
}

/// Two backtests fed row by row, with their programs.
pub struct Compare<'p> {
    pub a: Backtest,
    pub b: Backtest,
    pa: &'p Program,
    pb: &'p Program,
    changes: Changes,
}

impl<'p> Compare<'p> {
    pub fn new(pa: &'p Program, a: Backtest, pb: &'p Program, b: Backtest) -> Self {
        Compare { a, b, pa, pb, changes: Changes::default() }
    }

    /// One row, as each model read it.
    pub fn add(&mut self, row_a: Row, row_b: Row, now: f64) {
        self.changes.add(self.pa, &mut self.a, row_a, self.pb, &mut self.b, row_b, now);
    }

    pub fn report(&self, locale: Option<&str>) -> Comparison {
        self.changes.report(self.pa, &self.a, self.pb, &self.b, locale)
    }
}

//! Backtesting a model on past leads: score each lead, compare with what became of it (won or not), and
//! report what a marketer needs to choose thresholds: the score distribution, close rate per stage,
//! precision and recall of a score threshold, lift per rule, and suggested thresholds. Pure: leads come in
//! one by one (from [`crate::leads`] or anywhere), the report is data.

use serde::Serialize;

use crate::{Answers, Events, Program};

/// The outcome values that count as won when none are given (compared trimmed, ignoring case).
pub const DEFAULT_WON: &[&str] = &["won", "closed won", "closed-won", "closed_won", "customer", "yes", "true", "1"];

/// How many row errors a report lists (all are counted).
const MAX_ERRORS: usize = 100;
/// How many distinct outcome values a report lists (all are counted).
const MAX_VALUES: usize = 1000;

/// The fewest leads with an outcome, and won leads among them, that a suggested threshold may rest on: below
/// either, a suggestion would follow a handful of leads, and the report says so instead.
pub const MIN_LABELLED: u64 = 30;
pub const MIN_WON: u64 = 5;

/// What became of a lead, from its outcome value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Won,
    Lost,
    /// No outcome yet (empty cell): scored and drawn, left out of every rate.
    Open,
}

/// A lead as [`Backtest::add`] scored it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub score: f64,
    /// The stage's index; the program's number of stages for a lead a knockout holds.
    pub stage: usize,
    pub outcome: Outcome,
}

impl Outcome {
    /// `won`, `lost` or `open`, as reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Won => "won",
            Outcome::Lost => "lost",
            Outcome::Open => "open",
        }
    }
}

/// Leads scored so far, and what the report is computed from.
#[derive(Debug, Clone)]
pub struct Backtest {
    won_values: Vec<String>,
    /// Outcome values of lost leads; when empty, any value neither won nor open is lost.
    lost_values: Vec<String>,
    /// Outcome values of leads still open.
    open_values: Vec<String>,
    /// The won, lost and open values folded (`mapping::fold`), once: each lead's outcome is compared with them.
    folded: [Vec<String>; 3],
    /// How the file was read, for the report.
    input: Option<Input>,
    /// (score, outcome) of every scored lead.
    scores: Vec<(f64, Outcome)>,
    /// Per stage (plus one last entry: disqualified): leads, won, lost.
    stages: Vec<[u64; 3]>,
    /// Per rule: fired and won, fired and lost.
    rules: Vec<[u64; 2]>,
    /// Distinct outcome values as written, with their counts, in order of appearance.
    /// Each with what it stands for, found once.
    values: Vec<(String, u64, Outcome)>,
    errors: Vec<crate::leads::RowError>,
    error_count: u64,
    rows_with_issues: u64,
    fired: Vec<bool>,
    /// A [`Backtest::part`]: lists every outcome value it meets, for the merge to keep the first ones and count
    /// the later ones. (Its first errors are all a merge can keep: errors are only listed, never counted twice.)
    part: bool,
    /// The program lowered for submitted leads, and its buffers: each lead is scored as `leadscore score` scores
    /// it, the same bits as the general evaluator.
    kernel: crate::kernel::Kernel,
    buffers: crate::kernel::Buffers,
    /// The labelled scores sorted, computed once after the last `add`.
    sorted: std::sync::OnceLock<(Vec<f64>, Vec<u64>)>,
}

/// Precision and recall of "score >= threshold" as a prediction of won.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub threshold: f64,
    /// Leads with an outcome at or above the threshold.
    pub count: u64,
    /// Of those, won.
    pub won: u64,
    /// won / count (`null` when count is 0).
    pub precision: Option<f64>,
    /// won / every won lead (`null` when none was won).
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
}

/// One bar of the histogram: leads with `from <= score < to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub from: f64,
    pub to: f64,
    pub won: u64,
    pub lost: u64,
    pub open: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Width of every bin.
    pub width: f64,
    pub bins: Vec<Bin>,
}

/// Leads by the stage the model gives them today.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRow {
    /// The stage id, or `disqualified` for leads a knockout holds.
    pub id: String,
    pub label: String,
    pub count: u64,
    pub won: u64,
    pub lost: u64,
    /// won / (won + lost).
    pub close_rate: Option<f64>,
}

/// A stage whose condition tests the total score: its threshold today, the suggested one, and both measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    pub stage: String,
    pub label: String,
    pub current: f64,
    pub current_at: Stats,
    pub suggested: Option<f64>,
    pub suggested_at: Option<Stats>,
    /// What the suggestion maximises, in words.
    pub goal: String,
}

/// How much more often leads close when a rule gave them points.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleLift {
    pub id: String,
    /// Leads with an outcome the rule gave points to.
    pub fired: u64,
    pub won_fired: u64,
    pub close_rate_fired: Option<f64>,
    pub close_rate_not_fired: Option<f64>,
    /// close_rate_fired / the base rate (1: no better than average).
    pub lift: Option<f64>,
}

/// An outcome value as written, and how many leads have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeValue {
    pub value: String,
    pub count: u64,
    pub won: bool,
    /// `won`, `lost` or `open`.
    pub kind: &'static str,
    /// An open value because the outcome's lists name lost values but not this one.
    pub unlisted: bool,
}

/// How the file was read: the mapping's name, the columns read and ignored, the values converted and left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// The preset or mapping that read the file, if named.
    pub mapping: Option<String>,
    /// The outcome column.
    pub outcome_column: String,
    /// (header, field or event id) of each column read.
    pub columns: Vec<(String, String)>,
    /// Columns that are neither fields, events, the outcome, `scored_at` nor `id`: not read.
    pub ignored_columns: Vec<String>,
    /// Values the model refused as written, read by a rule.
    pub converted: Vec<crate::mapping::Converted>,
    /// Values left out, most frequent first (at most 200 distinct; every row with one is counted in
    /// `rowsWithIssues`).
    pub left_out: Vec<crate::mapping::LeftOut>,
}

/// The whole backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Rows read: scored and bad.
    pub rows: u64,
    pub scored: u64,
    /// Bad rows (not scored), the first 100.
    pub errors: Vec<crate::leads::RowError>,
    pub error_count: u64,
    /// Scored rows with values the model could not take (those values were left out).
    pub rows_with_issues: u64,
    /// Values counted as won.
    pub won_values: Vec<String>,
    /// The outcome values found (at most 50, most frequent first).
    pub outcomes: Vec<OutcomeValue>,
    pub won: u64,
    pub lost: u64,
    pub open: u64,
    /// won / (won + lost).
    pub base_rate: Option<f64>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub histogram: Histogram,
    pub stages: Vec<StageRow>,
    pub thresholds: Vec<Threshold>,
    /// Every rule, by lift (highest first; rules that never fired last).
    pub rules: Vec<RuleLift>,
    /// Values counted as lost and as open.
    pub lost_values: Vec<String>,
    pub open_values: Vec<String>,
    /// How the file was read (when the reader said).
    pub input: Option<Input>,
    /// What the figures cannot tell, in words: why no threshold is suggested, why the stage table and the
    /// thresholds count differently, rules whose points contradict their lift.
    pub notes: Vec<String>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Backtest {
    /// A backtest of `program`; `won` lists the outcome values that count as won (empty: [`DEFAULT_WON`]).
    pub fn new(program: &Program, won: &[String]) -> Backtest {
        let outcome = crate::mapping::OutcomeColumn { won: won.to_vec(), ..Default::default() };
        Backtest::with_outcome(program, &outcome)
    }

    /// A backtest of `program` whose outcome values mean what `outcome` says.
    pub fn with_outcome(program: &Program, outcome: &crate::mapping::OutcomeColumn) -> Backtest {
        let list = |l: &[String]| -> Vec<String> {
            l.iter().map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect()
        };
        let mut won_values = list(&outcome.won);
        if won_values.is_empty() {
            won_values = DEFAULT_WON.iter().map(|s| s.to_string()).collect();
        }
        let (lost_values, open_values) = (list(&outcome.lost), list(&outcome.open));
        let fold = |l: &[String]| l.iter().map(|w| crate::mapping::fold(w)).collect();
        Backtest {
            folded: [fold(&won_values), fold(&lost_values), fold(&open_values)],
            won_values,
            lost_values,
            open_values,
            input: None,
            scores: vec![],
            stages: vec![[0; 3]; program.stages.len() + 1],
            rules: vec![[0; 2]; program.rules.len()],
            values: vec![],
            errors: vec![],
            error_count: 0,
            rows_with_issues: 0,
            fired: vec![],
            part: false,
            kernel: crate::kernel::Kernel::new(program),
            buffers: crate::kernel::Buffers::default(),
            sorted: std::sync::OnceLock::new(),
        }
    }

    /// The outcome an outcome value stands for (values compared ignoring case, accents, spaces and
    /// punctuation: "Closed - Won" is "closed won").
    pub fn outcome_of(&self, value: Option<&str>) -> Outcome {
        let Some(v) = value.map(crate::mapping::fold).filter(|v| !v.is_empty()) else { return Outcome::Open };
        let [won, lost, open] = &self.folded;
        let is_in = |l: &[String]| l.contains(&v);
        if is_in(won) {
            Outcome::Won
        } else if is_in(open) || (!lost.is_empty() && !is_in(lost)) {
            Outcome::Open
        } else {
            Outcome::Lost
        }
    }

    /// Records how the file was read, for the report.
    pub fn set_input(&mut self, input: Input) {
        self.input = Some(input);
    }

    /// Scores one lead at `now` and records it with its outcome value. `p` is the program the backtest was made
    /// for.
    pub fn add(&mut self, p: &Program, answers: &Answers, events: &Events, now: f64, outcome: Option<&str>) -> Scored {
        self.sorted = std::sync::OnceLock::new();
        let outcome_kind = match outcome.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => self.count_value(v, 1),
            None => Outcome::Open,
        };
        self.kernel.run(p, answers, events, now, &mut self.buffers);
        self.fired.clear();
        self.fired.resize(p.rules.len(), false);
        for r in self.buffers.fired() {
            self.fired[r] = true;
        }
        let s = &self.buffers.score;
        let score = if s.total.is_finite() { s.total } else { 0.0 };
        self.scores.push((score, outcome_kind));
        let stage = match s.knockout {
            Some(_) => p.stages.len(),
            None => s.stage.min(p.stages.len()),
        };
        let col = match outcome_kind {
            Outcome::Won => Some(0),
            Outcome::Lost => Some(1),
            Outcome::Open => None,
        };
        self.stages[stage][0] += 1;
        if let Some(c) = col {
            self.stages[stage][c + 1] += 1;
            for (r, &f) in self.fired.iter().enumerate() {
                if f {
                    self.rules[r][c] += 1;
                }
            }
        }
        Scored { score, stage, outcome: outcome_kind }
    }

    /// Per rule of the program, whether it fired for the lead added last.
    pub fn fired(&self) -> &[bool] {
        &self.fired
    }

    /// Records one item of a [`crate::leads::Reader`] opened with the extra columns `[outcome, scored_at]`:
    /// a lead is scored at its `scored_at` time (at `now` when it has none), with its outcome; a lead with
    /// values left out, or with a `scored_at` that is not a time, also counts as a row with issues; a bad
    /// row is recorded as an error.
    pub fn add_read(
        &mut self,
        p: &Program,
        item: Result<crate::leads::Lead, crate::leads::RowError>,
        now: f64,
    ) -> Option<Scored> {
        match item {
            Ok(lead) => Some(self.add_lead(p, &lead, now)),
            Err(e) => {
                self.error(e);
                None
            }
        }
    }

    /// Records a lead read as [`Backtest::add_read`] says (for a lead read into a kept one,
    /// [`crate::leads::Maker::lead_into`]).
    pub fn add_lead(&mut self, p: &Program, lead: &crate::leads::Lead, now: f64) -> Scored {
        let time = lead.extra.get(1).and_then(|t| t.as_deref()).map(crate::leads::parse_time);
        if !lead.issues.is_empty() || matches!(time, Some(None)) {
            self.issue();
        }
        let outcome = lead.extra.first().and_then(|o| o.as_deref());
        self.add(p, &lead.answers, &lead.events, time.flatten().unwrap_or(now), outcome)
    }

    /// Records a row that could not be read.
    pub fn error(&mut self, e: crate::leads::RowError) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        }
    }

    /// Counts a scored row with values the model could not take.
    pub fn issue(&mut self) {
        self.rows_with_issues += 1;
    }

    /// An empty backtest like this one (the same program and outcome values) for another thread: it records a
    /// run of consecutive leads, and [`Backtest::merge`] adds them to this one as if this one had read them. It
    /// lists every outcome value it meets (a run is short), so that the merge counts the same ones.
    pub fn part(&self) -> Backtest {
        Backtest {
            won_values: self.won_values.clone(),
            lost_values: self.lost_values.clone(),
            open_values: self.open_values.clone(),
            folded: self.folded.clone(),
            input: None,
            scores: vec![],
            stages: vec![[0; 3]; self.stages.len()],
            rules: vec![[0; 2]; self.rules.len()],
            values: vec![],
            errors: vec![],
            error_count: 0,
            rows_with_issues: 0,
            fired: vec![],
            part: true,
            kernel: self.kernel.clone(),
            buffers: crate::kernel::Buffers::default(),
            sorted: std::sync::OnceLock::new(),
        }
    }

    /// Adds what `later`, a [`Backtest::part`] of this one, recorded: the same as if this backtest had read its
    /// leads after its own, in their order (the first outcome values and errors are kept, all are counted).
    pub fn merge(&mut self, later: &Backtest) {
        self.sorted = std::sync::OnceLock::new();
        self.scores.extend_from_slice(&later.scores);
        for (a, b) in self.stages.iter_mut().zip(&later.stages) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.rules.iter_mut().zip(&later.rules) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (v, n, _) in &later.values {
            self.count_value(v, *n);
        }
        for e in &later.errors {
            if self.errors.len() < MAX_ERRORS {
                self.errors.push(e.clone());
            }
        }
        self.error_count += later.error_count;
        self.rows_with_issues += later.rows_with_issues;
        later.fired.clone_into(&mut self.fired);
    }

    /// Counts `n` leads with the outcome value `v` (trimmed, not empty), and returns what it stands for; a
    /// value not seen yet is listed while fewer than 1000 are.
    fn count_value(&mut self, v: &str, n: u64) -> Outcome {
        if let Some(x) = self.values.iter_mut().find(|(x, ..)| x == v) {
            x.1 += n;
            return x.2;
        }
        let kind = self.outcome_of(Some(v));
        if self.values.len() < MAX_VALUES || self.part {
            self.values.push((v.to_string(), n, kind));
        }
        kind
    }

    /// Leads scored so far.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The labelled scores, ascending, with the number of won leads at index `i` or above (`won_from[i]`).
    fn sorted(&self) -> &(Vec<f64>, Vec<u64>) {
        self.sorted.get_or_init(|| self.sort())
    }

    fn sort(&self) -> (Vec<f64>, Vec<u64>) {
        let mut v: Vec<(f64, bool)> =
            self.scores.iter().filter(|(_, o)| *o != Outcome::Open).map(|&(s, o)| (s, o == Outcome::Won)).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut won_from = vec![0u64; v.len() + 1];
        for i in (0..v.len()).rev() {
            won_from[i] = won_from[i + 1] + u64::from(v[i].1);
        }
        (v.into_iter().map(|(s, _)| s).collect(), won_from)
    }

    /// Precision and recall of "score >= threshold".
    pub fn at(&self, threshold: f64) -> Stats {
        let (scores, won_from) = self.sorted();
        stats_at(scores, won_from, threshold)
    }

    /// The report, with the stages' thresholds as the model writes them ([`crate::analyze::stages`]);
    /// `locale` picks the labels.
    pub fn report(&self, p: &Program, locale: Option<&str>) -> Report {
        let thresholds: Vec<Option<f64>> = crate::analyze::stages(p).iter().map(|s| s.threshold).collect();
        self.report_at(p, &thresholds, locale)
    }

    /// The report with other thresholds: per stage of the program, the total score from which it counts
    /// (`None`: the stage has no threshold, and gets no suggestion).
    pub fn report_at(&self, p: &Program, thresholds: &[Option<f64>], locale: Option<&str>) -> Report {
        let locale = locale.unwrap_or(&p.locale);
        let label = |i: usize| -> String {
            match p.stages.get(i) {
                Some(s) => s.label.as_ref().map_or_else(|| s.id.clone(), |t| t.get(locale, &p.locale).to_string()),
                None => "Disqualified".into(),
            }
        };
        let (won, lost, open) = self.scores.iter().fold((0, 0, 0), |(w, l, o), (_, x)| match x {
            Outcome::Won => (w + 1, l, o),
            Outcome::Lost => (w, l + 1, o),
            Outcome::Open => (w, l, o + 1),
        });
        let labelled = won + lost;
        let base_rate = ratio(won, labelled);
        let (sorted, won_from) = self.sorted();
        let (sorted, won_from) = (sorted.as_slice(), won_from.as_slice());
        let min_score = self.scores.iter().map(|s| s.0).reduce(f64::min);
        let max_score = self.scores.iter().map(|s| s.0).reduce(f64::max);

        let stages = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, [n, w, l])| StageRow {
                id: p.stages.get(i).map_or_else(|| "disqualified".to_string(), |s| s.id.clone()),
                label: label(i),
                count: *n,
                won: *w,
                lost: *l,
                close_rate: ratio(*w, w + l),
            })
            .filter(|r| r.count > 0 || r.id != "disqualified")
            .collect();

        // Stages with a threshold, lowest threshold first: the lowest favours recall (a lead missed by
        // marketing is lost), the highest precision (sales time is the scarce resource).
        let mut with: Vec<(usize, f64)> =
            thresholds.iter().enumerate().filter_map(|(i, t)| t.filter(|t| t.is_finite()).map(|t| (i, t))).collect();
        with.sort_by(|a, b| a.1.total_cmp(&b.1));
        let n = with.len();
        let mut notes = vec![];
        // Suggestions only from enough leads, and from a file whose columns the model reads.
        let no_field =
            self.input.as_ref().is_some_and(|i| !i.columns.iter().any(|(_, id)| p.field_index(id).is_some()));
        let too_few = labelled < MIN_LABELLED || won < MIN_WON;
        if no_field {
            notes.push(
                "No column of the file is a field of the model, so every lead scores alike: no threshold is \
                 suggested. Map the file's columns to the model's fields (a mapping document, or rename the \
                 columns)."
                    .to_string(),
            );
        } else if too_few && n > 0 {
            notes.push(format!(
                "No threshold is suggested: a suggestion rests on at least {MIN_LABELLED} leads with an outcome, \
                 {MIN_WON} of them won, and this file has {labelled} with an outcome, {won} won."
            ));
        }
        let withhold = no_field || too_few;
        let mut floor = f64::NEG_INFINITY;
        let mut out = Vec::with_capacity(n);
        for (k, &(i, current)) in with.iter().enumerate() {
            let beta = match (n, k) {
                (1, _) => 1.0,
                (_, 0) => 2.0,
                (_, k) if k + 1 == n => 0.5,
                _ => 1.0,
            };
            let suggested = if withhold { None } else { suggest(sorted, won_from, beta, floor) };
            if let Some(s) = suggested {
                floor = s;
            }
            let goal = match beta {
                b if b > 1.0 => "the F2 score, which catches more good leads: recall weighs twice precision",
                b if b < 1.0 => "the F0.5 score, which wastes less sales time: precision weighs twice recall",
                _ => "the F1 score: catching good leads and sparing sales time weigh the same",
            };
            out.push(Threshold {
                stage: p.stages[i].id.clone(),
                label: label(i),
                current,
                current_at: stats_at(sorted, won_from, current),
                suggested,
                suggested_at: suggested.map(|s| stats_at(sorted, won_from, s)),
                goal: goal.into(),
            });
        }

        let mut rules: Vec<RuleLift> = p
            .rules
            .iter()
            .zip(&self.rules)
            .map(|(r, &[w, l])| {
                let rate = ratio(w, w + l);
                RuleLift {
                    id: r.id.clone(),
                    fired: w + l,
                    won_fired: w,
                    close_rate_fired: rate,
                    close_rate_not_fired: ratio(won - w, labelled - (w + l)),
                    lift: match (rate, base_rate) {
                        (Some(r), Some(b)) if b > 0.0 => Some(r / b),
                        _ => None,
                    },
                }
            })
            .collect();
        rules.sort_by(|a, b| match (a.lift, b.lift) {
            (Some(x), Some(y)) => y.total_cmp(&x).then(b.fired.cmp(&a.fired)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });

        if !out.is_empty() {
            notes.push(
                "The stage table counts every lead by the stage the model gives it (knockouts and each stage's \
                 other conditions included, open leads too); a threshold counts the leads with an outcome whose \
                 total score is at or above it, whatever their stage. The two differ when a stage tests more \
                 than the score."
                    .to_string(),
            );
        }
        // A rule whose points say the opposite of what its leads did, on enough leads to mean something.
        for l in &rules {
            let Some(rule) = p.rules.iter().find(|r| r.id == l.id) else { continue };
            let points = match p.nodes.get(rule.points as usize) {
                Some(crate::program::Node::Num(x)) => *x,
                _ => continue,
            };
            let Some(lift) = l.lift.filter(|_| l.fired >= 10) else { continue };
            if points < 0.0 && lift > 1.2 || points > 0.0 && lift < 0.8 {
                notes.push(format!(
                    "Rule `{}` gives {} points, but the leads it fired on closed {:.2}x as often as average: check \
                     its sign or its condition.",
                    l.id,
                    crate::host::js_string(points),
                    lift
                ));
            }
        }

        let mut outcomes: Vec<OutcomeValue> = self
            .values
            .iter()
            .map(|&(ref v, c, kind)| OutcomeValue {
                value: v.clone(),
                count: c,
                won: kind == Outcome::Won,
                kind: kind.name(),
                unlisted: kind == Outcome::Open && !self.folded[2].contains(&crate::mapping::fold(v)),
            })
            .collect();
        outcomes.sort_by_key(|o| std::cmp::Reverse(o.count));
        outcomes.truncate(50);

        Report {
            rows: self.scores.len() as u64 + self.error_count,
            scored: self.scores.len() as u64,
            errors: self.errors.clone(),
            error_count: self.error_count,
            rows_with_issues: self.rows_with_issues,
            won_values: self.won_values.clone(),
            outcomes,
            won,
            lost,
            open,
            base_rate,
            min_score,
            max_score,
            histogram: self.histogram(min_score, max_score),
            stages,
            thresholds: out,
            rules,
            lost_values: self.lost_values.clone(),
            open_values: self.open_values.clone(),
            input: self.input.clone(),
            notes,
        }
    }

    fn histogram(&self, min: Option<f64>, max: Option<f64>) -> Histogram {
        let (Some(min), Some(max)) = (min, max) else { return Histogram { width: 1.0, bins: vec![] } };
        let width = nice_width(max - min);
        let start = (min / width).floor() * width;
        let count = (((max - start) / width).floor() as usize + 1).min(10_000);
        let mut bins: Vec<Bin> = (0..count)
            .map(|i| Bin {
                from: start + i as f64 * width,
                to: start + (i + 1) as f64 * width,
                won: 0,
                lost: 0,
                open: 0,
            })
            .collect();
        for &(s, o) in &self.scores {
            let i = (((s - start) / width).floor().max(0.0) as usize).min(count - 1);
            let b = &mut bins[i];
            match o {
                Outcome::Won => b.won += 1,
                Outcome::Lost => b.lost += 1,
                Outcome::Open => b.open += 1,
            }
        }
        Histogram { width, bins }
    }
}

/// A bin width of 1, 2 or 5 times a power of ten giving about 25 bins over `span` (at least 1 point).
fn nice_width(span: f64) -> f64 {
    let raw = (span / 25.0).max(1.0);
    let pow = 10f64.powi(raw.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * pow).find(|w| *w >= raw).unwrap_or(10.0 * pow)
}

fn stats_at(sorted: &[f64], won_from: &[u64], threshold: f64) -> Stats {
    let i = sorted.partition_point(|&s| s < threshold);
    let count = (sorted.len() - i) as u64;
    let won = won_from[i];
    let precision = ratio(won, count);
    let recall = ratio(won, won_from[0]);
    let f1 = match (precision, recall) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    Stats { threshold, count, won, precision, recall, f1 }
}

/// The whole-point threshold, not below `floor`, that maximises the F-beta score of "score >= t" (the
/// lowest such threshold on ties); `None` without labelled leads or without a won lead.
fn suggest(sorted: &[f64], won_from: &[u64], beta: f64, floor: f64) -> Option<f64> {
    let total_won = *won_from.first()?;
    if total_won == 0 {
        return None;
    }
    let lo = sorted.first()?.floor().max(if floor.is_finite() { floor } else { f64::NEG_INFINITY });
    let hi = sorted.last()?.ceil();
    let b2 = beta * beta;
    let mut best: Option<(f64, f64)> = None;
    let mut t = lo.ceil();
    while t <= hi {
        let s = stats_at(sorted, won_from, t);
        if let (Some(p), Some(r)) = (s.precision, s.recall) {
            let f = if p + r > 0.0 { (1.0 + b2) * p * r / (b2 * p + r) } else { 0.0 };
            if best.is_none_or(|(bf, _)| f > bf + 1e-12) {
                best = Some((f, t));
            }
        }
        t += 1.0;
    }
    best.map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> Program {
        let doc = r#"{"leadscore": 1, "id": "t",
            "fields": [{"id": "employees", "type": "integer"}, {"id": "student", "type": "boolean"}],
            "rules": [
              {"id": "big", "group": "fit", "when": "employees >= 50", "points": 40},
              {"id": "mid", "group": "fit", "when": "employees >= 10", "points": 20},
              {"id": "never", "group": "fit", "when": "employees >= 1000000", "points": 1}
            ],
            "knockouts": [{"id": "student", "when": "student", "reason": "student"}],
            "stages": [{"id": "sql", "when": "score >= 60"}, {"id": "mql", "when": "score >= 20"}, {"id": "lead"}]}"#;
        crate::compile_str(doc).program.expect("compiles")
    }

    fn lead(p: &Program, employees: i64, student: bool) -> Answers {
        let (a, issues) = Answers::from_json(p, &serde_json::json!({ "employees": employees, "student": student }));
        assert!(issues.is_empty());
        a
    }

    /// 10 small (score 0), 10 mid (20), 10 big (60), 2 students; big ones win 8/10, mid 3/10, small 1/10.
    fn sample() -> (Program, Backtest) {
        let p = program();
        let mut bt = Backtest::new(&p, &[]);
        let e = Events::new(&p);
        for (employees, wins) in [(5, 1), (20, 3), (500, 8)] {
            for i in 0..10 {
                let outcome = if i < wins { "Won" } else { "lost" };
                bt.add(&p, &lead(&p, employees, false), &e, 0.0, Some(outcome));
            }
        }
        bt.add(&p, &lead(&p, 500, true), &e, 0.0, Some("lost"));
        bt.add(&p, &lead(&p, 500, true), &e, 0.0, None);
        (p, bt)
    }

    #[test]
    fn counts_rates_and_stages() {
        let (p, bt) = sample();
        let r = bt.report(&p, None);
        assert_eq!((r.scored, r.won, r.lost, r.open), (32, 12, 19, 1));
        assert_eq!(r.base_rate, Some(12.0 / 31.0));
        let by: Vec<(&str, u64, u64, Option<f64>)> =
            r.stages.iter().map(|s| (s.id.as_str(), s.count, s.won, s.close_rate)).collect();
        assert_eq!(
            by,
            [
                ("sql", 10, 8, Some(0.8)),
                ("mql", 10, 3, Some(0.3)),
                ("lead", 10, 1, Some(0.1)),
                ("disqualified", 2, 0, Some(0.0))
            ]
        );
        // Students score 60 too: the histogram counts every scored lead, the open one apart.
        let total: u64 = r.histogram.bins.iter().map(|b| b.won + b.lost + b.open).sum();
        assert_eq!(total, 32);
        assert_eq!(r.histogram.bins.iter().map(|b| b.open).sum::<u64>(), 1);
        assert_eq!(
            r.outcomes.iter().map(|o| (o.value.as_str(), o.won)).collect::<Vec<_>>()[..2],
            [("lost", false), ("Won", true)]
        );
    }

    #[test]
    fn precision_recall_at_a_threshold() {
        let (_, bt) = sample();
        // score >= 60: 10 big (8 won) and 1 labelled student (lost).
        let s = bt.at(60.0);
        assert_eq!((s.count, s.won), (11, 8));
        assert_eq!(s.precision, Some(8.0 / 11.0));
        assert_eq!(s.recall, Some(8.0 / 12.0));
        let all = bt.at(f64::NEG_INFINITY);
        assert_eq!((all.count, all.won, all.recall), (31, 12, Some(1.0)));
        let none = bt.at(1000.0);
        assert_eq!((none.count, none.precision, none.recall), (0, None, Some(0.0)));
    }

    #[test]
    fn lift_per_rule() {
        let (p, bt) = sample();
        let r = bt.report_at(&p, &[None, None, None], None);
        let big = r.rules.iter().find(|x| x.id == "big").unwrap();
        // big fires for 10 big + 1 labelled student: 8 won of 11; not fired: 4 of 20.
        assert_eq!((big.fired, big.won_fired), (11, 8));
        assert_eq!(big.close_rate_not_fired, Some(4.0 / 20.0));
        assert_eq!(big.lift, Some((8.0 / 11.0) / (12.0 / 31.0)));
        assert_eq!(r.rules[0].id, "big", "highest lift first");
        let never = r.rules.last().unwrap();
        assert_eq!((never.id.as_str(), never.fired, never.lift), ("never", 0, None));
    }

    #[test]
    fn suggested_thresholds_favour_recall_low_and_precision_high() {
        let (p, bt) = sample();
        let r = bt.report_at(&p, &[Some(70.0), Some(5.0), None], None);
        let t: Vec<(&str, f64, Option<f64>)> =
            r.thresholds.iter().map(|t| (t.stage.as_str(), t.current, t.suggested)).collect();
        // mql (lowest, F2): keeping the mid leads (11 of 12 won leads for 21 leads) beats everything else;
        // sql (highest, F0.5): only the big companies.
        assert_eq!(t, [("mql", 5.0, Some(1.0)), ("sql", 70.0, Some(21.0))]);
        let sql = &r.thresholds[1];
        assert_eq!(sql.current_at.count, 0);
        assert_eq!(sql.suggested_at.unwrap().precision, Some(8.0 / 11.0));
        assert!(r.thresholds[0].goal.contains("F2"));
    }

    #[test]
    fn read_leads_are_scored_at_their_time_and_bad_rows_counted() {
        let p = program();
        let csv = "employees,student,outcome,scored_at\n500,false,won,2026-01-01\n20,false,lost,soon\n5,maybe\n";
        let mut r = crate::leads::Reader::new(csv.as_bytes(), crate::leads::Format::Csv, &p, &["outcome", "scored_at"])
            .unwrap();
        let mut bt = Backtest::new(&p, &[]);
        while let Some(item) = r.next_lead(&p) {
            bt.add_read(&p, item, 0.0);
        }
        let rep = bt.report(&p, None);
        assert_eq!((rep.rows, rep.scored, rep.error_count, rep.rows_with_issues), (3, 2, 1, 1));
        assert_eq!((rep.won, rep.lost), (1, 1));
        assert_eq!(rep.errors[0].line, 4);
    }

    #[test]
    fn won_values_can_be_chosen() {
        let p = program();
        let bt = Backtest::new(&p, &[" Opportunity ".into(), "customer".into()]);
        assert_eq!(bt.outcome_of(Some("opportunity")), Outcome::Won);
        assert_eq!(bt.outcome_of(Some("won")), Outcome::Lost);
        assert_eq!(bt.outcome_of(Some("  ")), Outcome::Open);
    }

    #[test]
    fn empty_backtest_reports_nothing_and_divides_by_nothing() {
        let p = program();
        let bt = Backtest::new(&p, &[]);
        let r = bt.report(&p, None);
        assert_eq!((r.scored, r.base_rate, r.min_score), (0, None, None));
        assert!(r.histogram.bins.is_empty());
        assert!(r.thresholds.iter().all(|t| t.suggested.is_none() && t.current_at.precision.is_none()));
    }

    #[test]
    fn bin_widths_are_round() {
        assert_eq!(nice_width(10.0), 1.0);
        assert_eq!(nice_width(100.0), 5.0);
        assert_eq!(nice_width(180.0), 10.0);
        assert_eq!(nice_width(2000.0), 100.0);
    }

    /// A history with more distinct outcome values, values left out and bad rows than a report lists, read
    /// one lead after another and read in runs by parts merged in order (as `leadscore backtest` does on every
    /// core): the same report, the same values converted and left out.
    #[test]
    fn parts_merged_in_order_report_what_one_reading_reports() {
        use crate::leads::{Format, Reader};
        let doc = r#"{"leadscore": 1, "id": "t",
            "fields": [{"id": "employees", "type": "integer"},
                       {"id": "size", "type": "choice", "options": [{"value": "s", "label": "Small"}, {"value": "l", "label": "Large"}]}],
            "rules": [{"id": "big", "group": "fit", "when": "employees >= 50", "points": 40},
                      {"id": "large", "group": "fit", "when": "size == 'l'", "points": 30}],
            "stages": [{"id": "sql", "when": "score >= 60"}, {"id": "lead"}]}"#;
        let p = crate::compile_str(doc).program.expect("compiles");
        let mut csv = String::from("id,employees,size,outcome,scored_at\n");
        for i in 0..4000 {
            let employees = match i % 4 {
                0 => format!("{}", i % 120),
                1 => "1,000".to_string(),
                2 => format!("about {i}"),
                _ => String::new(),
            };
            let size = ["Small", "l", "s", "medium"][i % 4];
            let outcome = match i % 6 {
                0 => "won".to_string(),
                3 => "Lost".to_string(),
                _ => format!("stage {i}"),
            };
            // A value left out and an outcome value listed early and met again after more than a report lists.
            let employees = if i == 6 || i == 3994 { "late".to_string() } else { employees };
            let outcome = if i == 5 || i == 3997 { "Late value".to_string() } else { outcome };
            let at = if i % 11 == 0 { "not a time" } else { "2026-01-02T03:04:05Z" };
            if i % 23 == 0 {
                csv.push_str(&format!("r{i},{employees}\n"));
            } else {
                csv.push_str(&format!("r{i},\"{employees}\",{size},{outcome},{at}\n"));
            }
        }
        let mapping = crate::mapping::Mapping::propose(&["id", "employees", "size", "outcome", "scored_at"], &p);
        let open = || {
            let mut r = Reader::new(csv.as_bytes(), Format::Csv, &p, &[]).unwrap();
            r.apply(&p, &mapping);
            r
        };
        let now = 1.8e12;

        let mut one = open();
        let mut whole = Backtest::with_outcome(&p, &mapping.outcome);
        for item in one.leads(&p) {
            whole.add_read(&p, item, now);
        }
        whole.set_input(one.input_summary(&mapping));

        // Short runs, and runs with more outcome values and values left out than a report lists.
        for run in [37, 1500, 2000] {
            let mut runs = open();
            let mut maker = runs.maker();
            let mut merged = Backtest::with_outcome(&p, &mapping.outcome);
            let template = merged.part();
            let mut done = false;
            while !done {
                let mut part = template.part();
                for _ in 0..run {
                    let Some(raw) = runs.next_raw() else {
                        done = true;
                        break;
                    };
                    part.add_read(&p, raw.and_then(|r| maker.lead(&p, r)), now);
                }
                merged.merge(&part);
                runs.merge_values(&maker.take_values());
            }
            merged.set_input(runs.input_summary(&mapping));

            let (a, b) = (whole.report(&p, None), merged.report(&p, None));
            let input = a.input.as_ref().unwrap();
            assert!(input.left_out.len() == 200 && input.converted.len() == 2, "{}", input.left_out.len());
            assert!(whole.errors.len() == MAX_ERRORS && whole.error_count > MAX_ERRORS as u64);
            assert!(whole.values.len() == MAX_VALUES, "{}", whole.values.len());
            assert!(whole.values.contains(&("Late value".to_string(), 2, Outcome::Lost)));
            assert!(input.left_out.iter().any(|l| l.value == "late" && l.count == 2));
            assert_eq!(whole.len(), merged.len());
            assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "runs of {run}");
            assert_eq!(whole.rows_with_issues, merged.rows_with_issues);
            assert_eq!((whole.errors.len(), whole.error_count), (merged.errors.len(), merged.error_count));
            assert_eq!(whole.values, merged.values);
        }
    }
}

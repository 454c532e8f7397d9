// Type-checked (not run) by types.test.mjs with `tsc --strict`: a TypeScript user's view of the package.
// Every line relies on a declared type; a wrong use below is marked with @ts-expect-error and must stay an error.
import init, { Scorer, check, type FormAnswers, type Analysis, type Evaluation, type Diagnostic, type LeadscoreError, type Issue, type Verification, type BatchResult } from "leadscore";

export async function demo(doc: string): Promise<number> {
  await init();
  const problems: Diagnostic[] = check(doc);
  const firstLine: number | undefined = problems[0]?.line;
  let s: Scorer;
  try {
    s = new Scorer(doc);
  } catch (e) {
    const err = e as LeadscoreError;
    return err.diagnostics.length + (firstLine ?? 0);
  }
  const e: Evaluation = s.evaluate({ employees: 250, industry: "fintech", data_sources: ["postgres"] }, [{ type: "pricing_view", at: Date.now() }], Date.now(), { complete: false, hints: true });
  const stage: string = e.stage.id;
  const next: string | null = e.flow.next_step;
  const hint = e.hints?.reach[0];
  const gain: number = hint ? hint.gain : 0;
  const low: number | null = e.range.min;
  const ledgerInputs = e.ledger.map((l) => Object.keys(l.inputs).length);
  const session = s.session(Date.now());
  const issue: Issue | undefined = session.set("employees", 12);
  const ok: boolean = session.setNumber(session.fieldIndex("employees"), 14);
  const total: number = session.total + session.stageIndex + session.knockoutIndex;
  const v: Verification = s.verify({ answers: {}, score: total, stage });
  const kinds: string[] = s.model().fields.map((f) => f.type);
  const analysis: Analysis = s.analysis("en");
  const threshold: number | null = analysis.stages[0]?.threshold ?? null;
  const reachable: boolean = analysis.stages.every((st) => st.reachable);
  const fitMax: number | null = analysis.groups[0]?.max ?? null;
  const warned: Diagnostic[] = analysis.warnings;
  const read: FormAnswers = s.answersFromForm(new URLSearchParams("employees=250"));
  const fromPairs: Evaluation = s.evaluate(s.answersFromForm([["employees", "250"]] as const).answers);
  const readIssues: Issue[] = s.answersFromForm(new FormData()).issues.concat(read.issues, fromPairs.issues);
  // @ts-expect-error form values are strings
  s.answersFromForm([["employees", 250]]);
  // @ts-expect-error an answer is not an object
  s.evaluate({ employees: { n: 1 } });
  // @ts-expect-error events need a time
  s.evaluate({}, [{ type: "x" }]);
  const batch: BatchResult = s.scoreBatch({ count: 2, answers: { employees: new Float64Array([5, NaN]), industry: ["fintech", null] }, events: { pricing_view: [[Date.now()], null] } });
  const firstFired: number = (batch.fired[0] >>> 3) & 1;
  const batchIssue: number = batch.issues[0]?.lead ?? -1;
  // @ts-expect-error a batch says how many leads it holds
  s.scoreBatch({ answers: {} });
  // @ts-expect-error the total is read-only
  session.total = 3;
  return gain + (low ?? 0) + ledgerInputs.length + (issue ? 1 : 0) + (ok ? 1 : 0) + (v.ok ? 1 : 0) + kinds.length + (next ? 1 : 0) + (threshold ?? 0) + (reachable ? 1 : 0) + (fitMax ?? 0) + warned.length + readIssues.length + batch.total[0] + firstFired + batchIssue;
}

// The runtime build, as a landing page uses it.
import initRuntime, { Scorer as RuntimeScorer, type ModelIds, type CompiledProgram } from "leadscore/runtime";

export async function landing(bytes: CompiledProgram): Promise<string> {
  await initRuntime();
  const scorer = new RuntimeScorer(bytes);
  const ids: ModelIds = scorer.ids();
  const session = scorer.session();
  const issue: Issue | undefined = session.input("employees", "250");
  const fired: string[] = session.fired();
  const knockout: string | undefined = session.knockout;
  // @ts-expect-error the runtime does not compile documents
  new RuntimeScorer("{}");
  // @ts-expect-error the runtime has no full evaluation
  session.evaluate();
  return `${ids.stages[session.stageIndex]} ${fired.length} ${knockout ?? ""} ${issue?.code ?? ""}`;
}

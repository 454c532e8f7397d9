// Type-checked (not run) by types.test.mjs with `tsc --strict`: the form controller as a TypeScript user sees
// it. A wrong use below is marked with @ts-expect-error and must stay an error.
import init, { attach, Scorer, type FormHandle, type FormOutcome, type FormOptions } from "leadscore/form";

export async function drive(form: HTMLFormElement, program: Uint8Array): Promise<number> {
  await init();
  const options: FormOptions = {
    locale: "it",
    texts: { next: "Continua", back: "Indietro" },
    submit: "fetch",
    earlyFinish: true,
    consent: false,
    onSubmit: async (outcome: FormOutcome, data: FormData) => {
      data.append("stage", outcome.stage);
    },
  };
  const handle: FormHandle = attach(form, program, options);
  const stop: () => void = handle.on("score", (o) => {
    const fit: number | undefined = o.groups["fit"];
    const grade: string | null = o.grade && (o.grade.cell ?? o.grade.letter);
    console.log(fit, grade, o.fired.length, o.step ?? "ended");
  });
  stop();
  const moved: boolean = handle.next() || handle.back();
  const known: boolean = handle.record("pricing_view");
  handle.consent(true);
  const outcome: FormOutcome = handle.outcome();
  handle.detach();
  const other: FormHandle = new Scorer(program).attach(form);
  other.detach();
  // @ts-expect-error no such event
  handle.on("changed", () => {});
  // @ts-expect-error submit is "native" or "fetch"
  attach(form, program, { submit: "xhr" });
  // @ts-expect-error the program is bytes, not a rules document
  attach(form, "{}");
  // @ts-expect-error texts are strings
  attach(form, program, { texts: { next: 1 } });
  return outcome.score + (moved ? 1 : 0) + (known ? 1 : 0);
}

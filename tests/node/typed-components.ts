// Type-checked (not run) by types.test.mjs with `tsc --strict`: the React and Vue components as a TypeScript
// user sees them. A wrong use below is marked with @ts-expect-error and must stay an error.
import { createElement, createRef } from "react";
import { h } from "vue";
import { LeadscoreForm as ReactForm, type LeadscoreFormProps } from "leadscore/react";
import { LeadscoreForm as VueForm } from "leadscore/vue";
import type { FormHandle, FormOutcome } from "leadscore/form";

export function reactApp() {
  const ref = createRef<HTMLFormElement>();
  const props: LeadscoreFormProps = {
    program: "/model.lsp",
    action: "/submit",
    className: "lead-form",
    options: { locale: "it", submit: "fetch", earlyFinish: true },
    onReady: (handle: FormHandle) => handle.record("pricing_view"),
    onEnding: (outcome: FormOutcome) => console.log(outcome.ending?.key),
    onSubmit: async (outcome: FormOutcome, data: FormData) => data.append("stage", outcome.stage),
    onError: (e: Error) => console.error(e.message),
  };
  const bytes = createElement(ReactForm, { program: new Uint8Array(8), ref });
  // @ts-expect-error: `program` is required
  const none = createElement(ReactForm, { action: "/submit" });
  // @ts-expect-error: the callbacks are props, not options
  const wrong = createElement(ReactForm, { program: "/model.lsp", options: { onEnding: () => {} } });
  // @ts-expect-error: a program is a URL or bytes
  const number = createElement(ReactForm, { program: 42 });
  return [createElement(ReactForm, props), bytes, none, wrong, number];
}

export function vueApp() {
  const ok = h(VueForm, {
    program: new URL("https://example.com/model.lsp"),
    options: { locale: "en" },
    onReady: (handle: FormHandle) => handle.detach(),
    onEnding: (outcome: FormOutcome) => console.log(outcome.stage),
  });
  // @ts-expect-error: a program is a URL or bytes
  const number = h(VueForm, { program: 42 });
  return [ok, number];
}

// A landing page for any model, written as a web developer would write it by hand (static markup, `auto.js`,
// one `data-leadscore` attribute), and a visitor filling it step by step: for the end-to-end tests that run
// on every example, not only on the demo's hand-made page.
import assert from "node:assert/strict";

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** The options of a choice or multi field: inline, or a list of the model's. */
function optionsOf(model, field) {
  const options = typeof field.options === "string" ? model.lists?.[field.options] : field.options;
  assert.ok(Array.isArray(options), `${field.id}: options the page can show`);
  return options.map((o) => (typeof o === "string" ? { value: o, label: o } : o));
}

function control(model, f) {
  const id = `f-${f.id}`;
  const label = esc(f.label ?? f.id);
  const choices = (type, options) =>
    `<fieldset data-field="${esc(f.id)}"><legend>${label}</legend>${options
      .map((o) => `<label><input type="${type}" name="${esc(f.id)}" value="${esc(o.value)}"> ${esc(o.label ?? o.value)}</label>`)
      .join("")}</fieldset>`;
  switch (f.type) {
    case "choice":
      return choices("radio", optionsOf(model, f));
    case "multi":
      return choices("checkbox", optionsOf(model, f));
    case "boolean":
      return choices("radio", [
        { value: "true", label: "Yes" },
        { value: "false", label: "No" },
      ]);
    case "number":
    case "integer":
    case "email":
    case "string":
    case "country": {
      const type = { number: "number", integer: "number", email: "email" }[f.type] ?? "text";
      const step = { number: ' step="any"', integer: ' step="1"' }[f.type] ?? "";
      return `<div data-field="${esc(f.id)}"><label for="${id}">${label}</label><input id="${id}" name="${esc(f.id)}" type="${type}"${step}></div>`;
    }
    default:
      throw new Error(`${f.id}: a field type the page does not know: ${f.type}`);
  }
}

/**
 * The page of `model` (the rules document, parsed) loading the program at `lsp`: one fieldset per step, the
 * fields of no step as hidden inputs, a consent banner, and `extra` markup (event tokens) at the end.
 */
export function pageOf(model, lsp, extra = "") {
  const byId = new Map(model.fields.map((f) => [f.id, f]));
  const inSteps = new Set((model.steps ?? []).flatMap((s) => s.fields));
  const background = model.fields.filter((f) => !inSteps.has(f.id)).map((f) => `<input type="hidden" name="${esc(f.id)}">`);
  const body = model.steps?.length
    ? model.steps.map((s) => `<fieldset data-step="${esc(s.id)}"><legend>${esc(s.title ?? s.id)}</legend>${s.fields.map((id) => control(model, byId.get(id))).join("\n")}</fieldset>`)
    : model.fields.map((f) => control(model, f));
  return `<!doctype html>
<html lang="${esc(model.locale ?? "en")}">
  <head>
    <meta charset="utf-8">
    <title>${esc(model.title ?? model.id)}</title>
    <link rel="icon" href="data:,">
    <script type="module" src="/dist/auto.js"></script>
  </head>
  <body>
    <form id="lead-form" action="/submit" method="post" data-leadscore="${esc(lsp)}" data-leadscore-submit="fetch">
      ${[...background, ...body].join("\n      ")}
      <div data-leadscore-nav><button type="submit">Send</button></div>
    </form>
    <section data-leadscore-ending="lead-form" hidden tabindex="-1"></section>
    <div data-leadscore-consent hidden><button type="button" data-leadscore-consent="yes">Allow</button><button type="button" data-leadscore-consent="no">No</button></div>
    ${extra}
  </body>
</html>
`;
}

/** Puts one answer into the controls of field `f`, as a visitor would. */
async function answer(page, f, value) {
  const name = `[name="${f.id}"]`;
  switch (f.type) {
    case "choice":
      return page.check(`input${name}[value="${value}"]`);
    case "multi":
      for (const v of value) await page.check(`input${name}[value="${v}"]`);
      return;
    case "boolean":
      return page.check(`input${name}[value="${value}"]`);
    default:
      return page.fill(`#f-${f.id}`, String(value));
  }
}

/**
 * Fills `answers` step by step: each answer whose field is shown, again until nothing new shows (a field shown
 * by another's answer), then Next; stops on the step with Send. Fails if an answer's field never showed.
 */
export async function fillAnswers(page, model, answers) {
  const byId = new Map(model.fields.map((f) => [f.id, f]));
  const left = new Map(Object.entries(answers));
  for (let steps = 0; steps <= (model.steps?.length ?? 0); steps++) {
    for (let progress = true; progress; ) {
      progress = false;
      for (const [id, value] of left) {
        if (!(await page.locator(`[data-field="${id}"]`).isVisible())) continue;
        await answer(page, byId.get(id), value);
        left.delete(id);
        progress = true;
      }
    }
    const next = page.locator(".leadscore-next");
    if (!(await next.isVisible())) break;
    await next.click();
  }
  assert.deepEqual([...left.keys()], [], "every answer's field was shown");
  assert.ok(await page.locator("button[type=submit]").isVisible(), "Send is shown on the last step");
}

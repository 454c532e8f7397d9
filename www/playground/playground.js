// The scoring playground: edit a rules document, preview its form with the live score and the reasons for it,
// add behaviour, read the model's checks, backtest it on past leads (in a worker) and plan the funnel. Runs the
// full build of the package in the page; nothing is sent anywhere. Text from the document, the model and CSV
// files only ever reaches the page as text content.
import init, * as leadscore from "/dist/leadscore.js";
import { funnel, histogram } from "./svg.js";

const $ = (selector) => document.querySelector(selector);
const DAY = 86_400_000;
const STORE = "leadscore:playground:document";
const num = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const int = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const pct = (v) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : `${num.format(v * 100)} %`);
const fmt = (v) => (v === null || v === undefined ? "–" : typeof v === "number" ? num.format(v) : String(v));

/** An element with attributes and children (strings become text nodes). */
function h(name, attrs = {}, ...children) {
  const node = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const row = (...cells) => h("tr", {}, ...cells.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c))));

function setRows(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

const state = {
  text: "",
  /** The last document that compiled: its scorer and model description. */
  scorer: null,
  model: null,
  compiles: false,
  diagnostics: [],
  form: null,
  handle: null,
  /** What-if behaviour by event id: {count, age}. */
  whatIf: new Map(),
};

const status = (text) => {
  $("#status").textContent = text;
};

// 1. The editor

const doc = $("#doc");

/** The document's UTF-16 offset of a 1-based line and column. */
function offsetOf(text, line, column) {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return Math.min(text.length, offset + Math.max(0, (column ?? 1) - 1));
}

/** Where a diagnostic is in the text: [start, end] offsets, or null. */
function spanOf(d, text) {
  if (Number.isInteger(d.start)) return [d.start, Math.max(d.start, d.end ?? d.start)];
  if (Number.isInteger(d.line)) {
    const start = offsetOf(text, d.line, d.column);
    const lineEnd = text.indexOf("\n", start);
    return [start, lineEnd < 0 ? text.length : lineEnd];
  }
  return null;
}

/** Redraws the line numbers and the mirror behind the textarea with the problems marked. */
function paintEditor() {
  const text = doc.value;
  const lines = text.split("\n").length;
  const bad = new Set(state.diagnostics.filter((d) => d.line && d.severity === "error").map((d) => d.line));
  const warned = new Set(state.diagnostics.filter((d) => d.line && d.severity !== "error").map((d) => d.line));
  const gutter = $("#gutter");
  const numbers = [];
  for (let i = 1; i <= lines; i++) {
    const cls = bad.has(i) ? "pg-bad-line" : warned.has(i) ? "pg-warn-line" : null;
    numbers.push(cls ? h("span", { class: cls, text: String(i) }) : String(i), "\n");
  }
  gutter.replaceChildren(...numbers);
  const spans = state.diagnostics
    .map((d) => ({ d, span: spanOf(d, text) }))
    .filter((s) => s.span)
    .sort((a, b) => a.span[0] - b.span[0]);
  const parts = [];
  let at = 0;
  for (const { d, span } of spans) {
    let [start, end] = span;
    if (start < at) continue;
    if (end === start) end = Math.min(text.length, start + 1);
    parts.push(text.slice(at, start));
    parts.push(h("mark", { class: `pg-mark pg-${d.severity}`, text: text.slice(start, end) || " " }));
    at = end;
  }
  parts.push(text.slice(at), "\n");
  $("#mirror").replaceChildren(...parts);
  syncScroll();
}

/** The gutter and the marks follow the textarea's scrolling. */
function syncScroll() {
  const mirror = $("#mirror");
  mirror.scrollTop = doc.scrollTop;
  mirror.scrollLeft = doc.scrollLeft;
  $("#gutter").scrollTop = doc.scrollTop;
}

/** Moves the caret to a diagnostic and scrolls the editor to it. */
function reveal(d) {
  const span = spanOf(d, doc.value);
  doc.focus({ preventScroll: true });
  if (span) doc.setSelectionRange(span[0], span[1]);
  const line = d.line ?? (span ? doc.value.slice(0, span[0]).split("\n").length : 1);
  const lineHeight = parseFloat(getComputedStyle(doc).lineHeight) || 20;
  doc.scrollTop = Math.max(0, (line - 3) * lineHeight);
  syncScroll();
}

function renderDiagnostics() {
  const list = state.diagnostics;
  const errors = list.filter((d) => d.severity === "error").length;
  const warnings = list.length - errors;
  $("#diag-summary").textContent =
    list.length === 0
      ? "No problems found."
      : `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}.`;
  $("#diagnostics").replaceChildren(
    ...list.map((d) => {
      const where = d.line ? `${d.line}:${d.column ?? 1}` : "document";
      const button = h(
        "button",
        { type: "button", class: `pg-diag pg-${d.severity}`, "data-line": d.line ?? "", "data-code": d.code },
        h("span", { class: "pg-where", text: where }),
        " ",
        h("span", { class: "pg-severity", text: d.severity }),
        " ",
        h("span", { class: "pg-message", text: d.message }),
        d.pointer ? h("span", { class: "pg-pointer", text: ` (${d.pointer})` }) : null,
        d.note ? h("span", { class: "pg-note", text: ` ${d.note}` }) : null,
      );
      button.addEventListener("click", () => reveal(d));
      return h("li", {}, button);
    }),
  );
}

let checkTimer = 0;
let paintFrame = 0;
/** On every keystroke: the check 150 ms after the last one, the gutter and marks once per frame. */
function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(onDocument, 150);
  if (!paintFrame) {
    paintFrame = requestAnimationFrame(() => {
      paintFrame = 0;
      paintEditor();
    });
  }
}

/** Checks the document; when it compiles, rebuilds the scorer and everything that depends on it. */
function onDocument() {
  const text = doc.value;
  state.text = text;
  try {
    localStorage.setItem(STORE, text);
  } catch {
    // Storage full or off: the document still works in the page.
  }
  let diagnostics;
  try {
    diagnostics = leadscore.check(text);
  } catch (e) {
    diagnostics = e?.diagnostics ?? [{ severity: "error", code: "internal", message: String(e?.message ?? e), pointer: "" }];
  }
  state.diagnostics = diagnostics;
  renderDiagnostics();
  paintEditor();
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length) {
    state.compiles = false;
    $("#preview").classList.add("pg-stale");
    $("#preview-state").textContent =
      `The model does not compile (${errors.length} error${errors.length === 1 ? "" : "s"}): the preview shows the last version that did.`;
    $("#analysis-state").textContent = "The model does not compile: these checks are of the last version that did.";
    return;
  }
  let scorer;
  try {
    scorer = new leadscore.Scorer(text);
  } catch (e) {
    state.compiles = false;
    $("#preview-state").textContent = `The model does not compile: ${e?.message ?? e}`;
    return;
  }
  state.compiles = true;
  $("#preview").classList.remove("pg-stale");
  $("#preview-state").textContent = "";
  $("#analysis-state").textContent = "";
  setScorer(scorer);
}

function loadDocument(text) {
  doc.value = text;
  paintEditor();
  onDocument();
}

async function loadExample(name) {
  const response = await fetch(`/dist/examples/${encodeURIComponent(name)}.json`);
  if (!response.ok) throw new Error(`example ${name}: ${response.status}`);
  loadDocument(await response.text());
  status(`Loaded the example “${name}”.`);
}

// Sharing: #model= then base64url of the UTF-8 text; "z." first when it is deflate-compressed.

function toBase64Url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function through(bytes, stream) {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(stream)).arrayBuffer());
}

async function encodeShare(text) {
  const bytes = new TextEncoder().encode(text);
  if (typeof CompressionStream === "function") return `z.${toBase64Url(await through(bytes, new CompressionStream("deflate-raw")))}`;
  return toBase64Url(bytes);
}

async function decodeShare(value) {
  if (value.startsWith("z.")) {
    return new TextDecoder().decode(await through(fromBase64Url(value.slice(2)), new DecompressionStream("deflate-raw")));
  }
  return new TextDecoder().decode(fromBase64Url(value));
}

async function share() {
  const hash = `#model=${await encodeShare(doc.value)}`;
  history.replaceState(null, "", hash);
  const url = location.href;
  const field = $("#share-url");
  field.value = url;
  field.hidden = false;
  try {
    await navigator.clipboard.writeText(url);
    status("The link to this model is copied: whoever opens it gets this document.");
  } catch {
    field.select();
    status("The link to this model is in the box next to Share: copy it from there.");
  }
}

function saveAs(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function download() {
  const name = `${state.model?.id ?? "model"}.json`;
  saveAs(name, doc.value, "application/json");
  status(`Saved as ${name}.`);
}

/** A history's header for the model, as `leadscore template` writes it: id, scored_at, fields, events, outcome. */
function downloadTemplate() {
  if (!state.model) return;
  const header = ["id", "scored_at", ...state.model.fields.map((f) => f.id), ...state.model.events.map((e) => e.id), "outcome"];
  saveAs(`${state.model.id}-history.csv`, `${header.join(",")}\r\n`, "text/csv");
}

// 2. The live preview

/** The raw values of every control of a form, disabled ones included: kept across a rebuild. */
function rawValues(form) {
  const values = new Map();
  if (!form) return values;
  for (const c of form.elements) {
    if (!c.name || c.type === "hidden" || c.type === "submit" || c.type === "button") continue;
    if (!values.has(c.name)) values.set(c.name, []);
    if (c.type === "radio" || c.type === "checkbox") {
      if (c.checked) values.get(c.name).push(c.value);
    } else if (c.value !== "") values.get(c.name).push(c.value);
  }
  return values;
}

function restoreValues(form, values) {
  for (const c of form.elements) {
    const v = values.get(c.name);
    if (!v) continue;
    if (c.type === "radio" || c.type === "checkbox") c.checked = v.includes(c.value);
    else if (c.tagName === "SELECT") {
      if ([...c.options].some((o) => o.value === v[0])) c.value = v[0];
    } else c.value = v[0] ?? "";
  }
}

/** The answers of the form as the browser submits it, read by the engine as the form controller reads them. */
function answersOf(form, scorer) {
  return scorer.answersFromForm(new FormData(form)).answers;
}

/** A control (or group of controls) for one field of the model. */
function fieldControl(f) {
  const id = `f-${f.id}`;
  const label = f.label ?? f.id;
  const help = f.help ? h("small", { class: "pg-help", id: `${id}-help`, text: f.help }) : null;
  const described = f.help ? `${id}-help` : undefined;
  const choices = (type, options) =>
    h(
      "fieldset",
      { class: "choices", "data-field": f.id, "aria-describedby": described },
      h("legend", { text: label }),
      help,
      ...options.map((o, i) =>
        h("label", { class: "choice" }, h("input", { type, name: f.id, value: o.value, id: i === 0 ? id : undefined }), ` ${o.label}`),
      ),
    );
  if (f.type === "choice") return choices("radio", f.options);
  if (f.type === "multi") return choices("checkbox", f.options);
  if (f.type === "boolean") {
    return choices("radio", [
      { value: "true", label: "Yes" },
      { value: "false", label: "No" },
    ]);
  }
  let control;
  if (f.type === "country" && f.options?.length) {
    control = h("select", { id, name: f.id }, h("option", { value: "", text: "Choose…" }), ...f.options.map((o) => h("option", { value: o.value, text: o.label })));
  } else {
    const type = { number: "number", integer: "number", email: "email" }[f.type] ?? "text";
    control = h("input", {
      id,
      name: f.id,
      type,
      min: f.min,
      max: f.max,
      step: f.type === "integer" ? "1" : f.type === "number" ? "any" : undefined,
      maxlength: f.type === "string" || f.type === "email" ? f.max_length : undefined,
      placeholder: f.placeholder ?? (f.type === "country" ? "Country code, e.g. IT" : undefined),
    });
  }
  if (described) control.setAttribute("aria-describedby", described);
  return h("div", { class: "field", "data-field": f.id }, h("label", { for: id, text: label }), control, help);
}

/** The HTML form of a model: one fieldset per step; fields set by the page (no step) come first. */
function buildForm(model) {
  const byId = new Map(model.fields.map((f) => [f.id, f]));
  const form = h("form", { id: "preview-form", class: "pg-form", action: "/playground/", method: "post", novalidate: false });
  const background = model.fields.filter((f) => !f.step);
  if (background.length) {
    form.append(
      h("div", { class: "pg-background" }, h("p", { class: "pg-hint", text: "Set by the page (from the link the visitor came from):" }), ...background.map(fieldControl)),
    );
  }
  for (const step of model.steps) {
    form.append(
      h("fieldset", { "data-step": step.id }, h("legend", { text: step.title ?? step.id }), ...step.fields.map((id) => byId.get(id)).filter(Boolean).map(fieldControl)),
    );
  }
  form.append(h("div", { "data-leadscore-nav": "" }, h("button", { type: "submit", text: "Send (nothing leaves the page)" })));
  return form;
}

function setScorer(scorer) {
  const previous = state.scorer;
  const kept = rawValues(state.form);
  state.handle?.detach();
  state.handle = null;
  state.scorer = scorer;
  state.model = scorer.model("en");
  const form = buildForm(state.model);
  restoreValues(form, kept);
  $("#form-host").replaceChildren(form);
  state.form = form;
  try {
    state.handle = scorer.attach(form, {
      locale: "en",
      persist: false,
      consent: false,
      onSubmit: () => {
        status("In the playground nothing is sent: the form would go to your server now.");
        return Promise.resolve();
      },
    });
    state.handle.on("score", () => schedulePreview());
    state.handle.on("step", () => schedulePreview());
  } catch (e) {
    $("#preview-state").textContent = `The form controller could not attach: ${e?.message ?? e}`;
  }
  form.addEventListener("input", () => schedulePreview());
  form.addEventListener("change", () => schedulePreview());
  renderWhatIfRows();
  renderAnalysis();
  previous?.free?.();
  evaluateNow();
  invalidateBacktest();
}

let previewFrame = 0;
function schedulePreview() {
  if (previewFrame) return;
  previewFrame = requestAnimationFrame(() => {
    previewFrame = 0;
    evaluateNow();
  });
}

const labelOf = (list, id) => list?.find((x) => x.id === id)?.label ?? id;
const fieldLabel = (id) => labelOf(state.model?.fields, id);
const eventLabel = (id) => labelOf(state.model?.events, id);
const stageLabel = (id) => (id === "disqualified" ? "Disqualified" : labelOf(state.model?.stages, id));

function showValue(field, value) {
  if (value === null || value === undefined) return "unanswered";
  const f = state.model?.fields.find((x) => x.id === field);
  const option = (v) => f?.options?.find((o) => o.value === v)?.label ?? v;
  if (Array.isArray(value)) return value.map(option).join(", ");
  if (typeof value === "boolean") return value ? "yes" : "no";
  return typeof value === "number" ? num.format(value) : option(value);
}

function whatIfEvents(now) {
  const events = [];
  for (const [type, { count, age }] of state.whatIf) {
    if (!state.model?.events.some((e) => e.id === type)) continue;
    for (let i = 0; i < count; i++) events.push({ type, at: now - age * DAY });
  }
  return events;
}

/** A hint as a sentence, by the engine, with the model's labels. */
const hintSentence = (hint) => state.scorer.formatHint(hint, "en");

function evaluateNow() {
  if (!state.scorer || !state.form) return;
  const now = Date.now();
  let e;
  try {
    e = state.scorer.evaluate(answersOf(state.form, state.scorer), whatIfEvents(now), now, { locale: "en" });
  } catch (err) {
    $("#preview-state").textContent = `Could not score these answers: ${err?.message ?? err}`;
    return;
  }
  state.evaluation = e;
  $("#out-score").textContent = num.format(e.score);
  const stage = $("#out-stage");
  stage.textContent = e.stage.label ?? stageLabel(e.stage.id);
  stage.dataset.stage = e.stage.id;
  $("#out-grade").textContent = e.grade ? (e.grade.cell ?? e.grade.letter) : "–";
  const { min, max } = e.range ?? {};
  const range =
    min === max
      ? `Score now ${num.format(e.score)}; the remaining answers cannot change it.`
      : `Score now ${num.format(e.score)}, between ${min === null ? "no lower limit" : num.format(min)} and ${max === null ? "no upper limit" : num.format(max)} once the form is complete.`;
  $("#out-range").textContent = e.disqualified
    ? `Disqualified by ${e.disqualified.knockout} (${e.disqualified.reason}). ${range}`
    : range;
  const undecided = e.undecided_fields;
  $("#out-undecided").textContent = e.decided
    ? "The stage is decided: no remaining answer can change it."
    : `Still open, and able to change the stage: ${undecided.map((id) => `“${fieldLabel(id)}”`).join(", ") || "behaviour"}.`;
  setRows(
    $("#out-groups"),
    e.groups.map((g) =>
      row(
        g.label ?? g.id,
        num.format(g.score),
        g.clipped ? `${num.format(g.raw)} (cap took ${num.format(g.clipped)})` : num.format(g.raw),
        `${fmt(g.range?.min)} to ${fmt(g.range?.max)}`,
      ),
    ),
  );
  renderHints(e);
  setRows(
    $("#ledger"),
    e.ledger.map((l) => {
      const used = [
        ...Object.entries(l.inputs ?? {}).map(([k, v]) => `${fieldLabel(k)} = ${showValue(k, v)}`),
        ...Object.entries(l.events ?? {}).map(
          ([k, v]) => `${eventLabel(k)}: ${v.count}×${v.days_since === null ? "" : `, latest ${num.format(v.days_since)} days ago`}`,
        ),
      ].join("; ");
      const decay = l.decayed ? `−${num.format(l.decayed)} (${l.times} × ${num.format(l.base)} before decay)` : l.times > 1 ? `${l.times} × ${num.format(l.base)}` : "";
      const tr = row(l.label ? `${l.label} (${l.rule})` : l.rule, labelOf(state.model.groups, l.group), `${l.points >= 0 ? "+" : ""}${num.format(l.points)}`, used, decay);
      tr.dataset.rule = l.rule;
      return tr;
    }),
  );
  if (e.ledger.length === 0) setRows($("#ledger"), [h("tr", {}, h("td", { colspan: 5, text: "No rule gives points yet." }))]);
  const pending = e.pending_rules;
  $("#out-pending").textContent = pending.length
    ? `Rules that may still give points once more is answered: ${pending.map((id) => labelOf(state.model.rules, id)).join(", ")}.`
    : "";
  renderWhatIfReadings(e);
}

function renderHints(e) {
  const hints = e.hints;
  const items = [];
  if (!hints || !hints.target) items.push(h("li", { text: e.disqualified ? "A knockout holds: no stage can be reached." : "This is the top stage." }));
  else {
    const target = stageLabel(hints.target);
    if (hints.reach?.length) {
      const best = hints.reach.slice(0, 4);
      const need = Math.min(...best.map((x) => x.gain));
      items.push(h("li", { text: `+${num.format(need)} to ${target}: ${best.map(hintSentence).join(", or ")}.` }));
    } else if (hints.closer?.length) {
      items.push(h("li", { text: `No single change reaches ${target}; closest: ${hints.closer.slice(0, 4).map(hintSentence).join(", or ")}.` }));
    } else items.push(h("li", { text: `No single change reaches ${target}.` }));
  }
  $("#out-hints").replaceChildren(...items);
}

// 3. What-if behaviour

function renderWhatIfRows() {
  const events = state.model?.events ?? [];
  setRows(
    $("#whatif"),
    events.map((ev) => {
      const current = state.whatIf.get(ev.id) ?? { count: 0, age: 0 };
      state.whatIf.set(ev.id, current);
      const count = h("input", { type: "number", min: "0", max: "50", step: "1", value: String(current.count), id: `w-${ev.id}-count`, "aria-label": `${ev.label ?? ev.id}: times` });
      const age = h("input", { type: "number", min: "0", max: "3650", step: "1", value: String(current.age), id: `w-${ev.id}-age`, "aria-label": `${ev.label ?? ev.id}: days ago` });
      const update = () => {
        current.count = Math.max(0, Math.min(50, Math.floor(Number(count.value) || 0)));
        current.age = Math.max(0, Number(age.value) || 0);
        schedulePreview();
      };
      count.addEventListener("input", update);
      age.addEventListener("input", update);
      const tr = h("tr", { "data-event": ev.id }, h("th", { scope: "row", text: ev.label ?? ev.id }), h("td", {}, count), h("td", {}, age), h("td", { class: "pg-reads" }));
      return tr;
    }),
  );
}

function renderWhatIfReadings() {
  for (const tr of $("#whatif").tBodies[0].rows) {
    const w = state.whatIf.get(tr.dataset.event);
    if (!w) continue;
    tr.querySelector(".pg-reads").textContent = w.count
      ? `${w.count} ${eventLabel(tr.dataset.event).toLowerCase()}${w.count === 1 ? "" : "s"}, ${num.format(w.age)} day${w.age === 1 ? "" : "s"} ago`
      : "none";
  }
}

// 4. Static analysis

const WARNING_TITLES = {
  unreachable_stage: "Stages no one can reach",
  dead_rule: "Rules that never fire",
  hidden_required: "Required fields that can be hidden",
  knockout_overlap: "Overlapping knockouts",
  overlapping_knockouts: "Overlapping knockouts",
};

/** A button that shows a diagnostic in the editor. */
function showIn(d) {
  const button = h("button", { type: "button", class: "pg-link", text: `line ${d.line}` });
  button.addEventListener("click", () => {
    $("#editor").scrollIntoView();
    reveal(d);
  });
  return button;
}

function renderAnalysis() {
  const scorer = state.scorer;
  if (!scorer) return;
  const analysis = scorer.analysis("en");
  const bound = (v, side) => (v === null ? (side === "min" ? "no lower limit" : "no upper limit") : num.format(v));
  setRows($("#bounds"), [
    ...analysis.groups.map((g) => row(g.label, bound(g.min, "min"), bound(g.max, "max"))),
    row("Total", bound(analysis.total.min, "min"), bound(analysis.total.max, "max")),
  ]);
  setRows(
    $("#stage-reach"),
    analysis.stages.map((s) => {
      const tr = row(s.label, s.threshold === null ? "–" : `≥ ${num.format(s.threshold)}`, s.reachable ? "yes" : "no: no one can reach it");
      if (!s.reachable) tr.classList.add("pg-problem");
      return tr;
    }),
  );
  $("#bounds").hidden = false;
  const warnings = analysis.warnings;
  const byCode = new Map();
  for (const w of warnings) {
    if (!byCode.has(w.code)) byCode.set(w.code, []);
    byCode.get(w.code).push(w);
  }
  const blocks = [];
  if (warnings.length === 0) blocks.push(h("p", { class: "pg-ok", text: "No warnings: every stage can be reached, every rule can fire, no required field can be hidden." }));
  for (const [code, list] of byCode) {
    blocks.push(
      h("div", { class: "pg-warning-group", "data-code": code },
        h("h3", {}, `${WARNING_TITLES[code] ?? code} `, h("code", { text: code })),
        h("ul", {}, ...list.map((w) => h("li", {}, h("code", { text: w.pointer || "/" }), `: ${w.message}`, w.line ? " " : "", w.line ? showIn(w) : "")))),
    );
  }
  $("#warnings").replaceChildren(...blocks);
}

// 5. Backtest

// The last file (kept to run again), the mapping that read it, and its header.
const backtest = { worker: null, id: 0, report: null, running: false, pending: new Map(), csv: null, name: "", mapping: null, headers: [], again: 0, champion: null };
/** For the browser's console: the last backtest report, whole. */
globalThis.leadscorePlayground = { report: null };

function worker() {
  if (!backtest.worker) {
    backtest.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    backtest.worker.onmessage = ({ data }) => onWorker(data);
    backtest.worker.onerror = (e) => {
      e.preventDefault();
      finishRun(`The backtest stopped: ${e.message || "the worker failed"}.`);
    };
  }
  return backtest.worker;
}

function cancelBacktest() {
  backtest.worker?.terminate();
  backtest.worker = null;
  finishRun("Cancelled.");
}

function finishRun(message) {
  backtest.running = false;
  $("#bt-cancel").hidden = true;
  $("#bt-progress").hidden = true;
  $("#bt-state").textContent = message;
}

/** The rules changed: the last file is scored again with them (once the typing stops). */
function invalidateBacktest() {
  if (!backtest.csv) return;
  clearTimeout(backtest.again);
  backtest.again = setTimeout(() => state.compiles && startBacktest(backtest.csv, backtest.name, backtest.mapping), 700);
}

const listOf = (selector) => $(selector).value.split(",").map((s) => s.trim()).filter(Boolean);

/** The mapping as the page shows it now: the columns' matches, the outcome values typed. */
function editedMapping() {
  const m = structuredClone(backtest.mapping ?? {});
  m.columns = {};
  for (const select of document.querySelectorAll("#bt-columns select")) {
    if (select.value) m.columns[select.dataset.header] = select.value;
  }
  return m;
}

function runAgain() {
  if (backtest.csv) startBacktest(backtest.csv, backtest.name, editedMapping());
}

function startBacktest(csv, name, map = null) {
  if (!state.compiles) {
    $("#bt-state").textContent = "Fix the errors in the rules first: a backtest needs a model that compiles.";
    return;
  }
  if (backtest.running) cancelBacktest();
  const id = ++backtest.id;
  backtest.running = true;
  backtest.report = null;
  $("#bt-report").hidden = true;
  $("#bt-cancel").hidden = false;
  $("#bt-progress").hidden = false;
  $("#bt-bar").value = 0;
  $("#bt-progress-text").textContent = "Starting…";
  $("#bt-state").textContent = `Scoring ${name}…`;
  backtest.csv = csv;
  backtest.name = name;
  const outcome = $("#bt-outcome").value.trim() || undefined;
  const champion = backtest.champion ?? undefined;
  worker().postMessage({ run: { id, rules: doc.value, champion, csv, outcome, won: listOf("#bt-won"), lost: listOf("#bt-lost"), open: listOf("#bt-open"), map } });
}

function onWorker(data) {
  if (backtest.pending.has(data.id)) {
    const done = backtest.pending.get(data.id);
    backtest.pending.delete(data.id);
    done(data.at ?? null);
    return;
  }
  if (data.id !== backtest.id) return;
  if (data.error !== undefined) {
    if (backtest.running) finishRun(`The backtest could not run: ${data.error}`);
    return;
  }
  if (data.progress !== undefined) {
    $("#bt-bar").value = data.progress;
    $("#bt-progress-text").textContent = `${int.format(data.rows)} rows, ${Math.floor(data.progress * 100)} %`;
  }
  if (data.report) {
    backtest.report = data.report;
    backtest.mapping = data.mapping;
    backtest.headers = data.headers;
    $("#bt-again").disabled = false;
    globalThis.leadscorePlayground.report = data.report;
    finishRun(`Done: ${int.format(data.report.rows)} rows.`);
    renderReport(data.report);
    globalThis.leadscorePlayground.comparison = data.comparison ?? null;
    renderComparison(data.comparison);
  }
}

let atId = 1_000_000;
function askAt(threshold) {
  return new Promise((resolve) => {
    const id = ++atId;
    backtest.pending.set(id, resolve);
    worker().postMessage({ at: { id, threshold } });
  });
}

function statsLine(s) {
  if (!s) return "–";
  return `${int.format(s.count)} leads at or above, ${int.format(s.won)} won · precision ${pct(s.precision)} (of these leads, the share won) · recall ${pct(s.recall)} (of all won leads, the share caught) · F1 ${s.f1 === null || s.f1 === undefined ? "–" : num.format(s.f1)}`;
}

/** Writes a suggested threshold into the stage's condition in the editor (`score >= 45` becomes `score >= 41`). */
function applyThreshold(stage, from, to) {
  let model;
  try {
    model = JSON.parse(doc.value);
  } catch {
    return false;
  }
  const s = model.stages?.find((x) => x.id === stage);
  if (!s || typeof s.when !== "string") return false;
  const when = s.when.replace(new RegExp(`(\\bscore\\s*>=?\\s*)${String(from).replace(".", "\\.")}(?![\\d.])`), `$1${to}`);
  if (when === s.when) return false;
  // The condition's text, as the editor holds it, replaced in place: the rest of the document keeps its layout.
  const quoted = JSON.stringify(s.when);
  const at = doc.value.indexOf(quoted);
  if (at < 0) return false;
  loadDocument(doc.value.slice(0, at) + JSON.stringify(when) + doc.value.slice(at + quoted.length));
  return true;
}

/** The rules in the editor become the champion: later runs compare the rules being edited (the challenger) with them. */
function keepChampion() {
  if (!state.compiles) {
    $("#bt-champion-state").textContent = "Fix the errors in the rules first.";
    return;
  }
  backtest.champion = doc.value;
  $("#bt-champion-state").textContent = `Champion kept (${state.model?.id ?? "model"}). Edit the rules: each run compares them with it.`;
  if (backtest.csv) startBacktest(backtest.csv, backtest.name, backtest.mapping);
}

/** Champion against challenger: stage by stage, their thresholds, the leads that moved and why. */
function renderComparison(c) {
  $("#bt-compare").hidden = !c;
  if (!c) return;
  $("#bt-compare-summary").textContent =
    `${int.format(c.changed)} of ${int.format(c.leads)} leads change stage from the champion to the challenger` +
    (c.transitions.length ? `: ${c.transitions.map((t) => `${stageLabel(t.from)} → ${stageLabel(t.to)} ${int.format(t.count)} (${int.format(t.won)} won, ${int.format(t.lost)} lost)`).join("; ")}.` : ".");
  const ids = [...new Set([...c.a.stages, ...c.b.stages].map((s) => s.id))];
  setRows(
    $("#bt-compare-stages"),
    ids.map((id) => {
      const a = c.a.stages.find((s) => s.id === id);
      const b = c.b.stages.find((s) => s.id === id);
      const tr = row((a ?? b).label ?? stageLabel(id), a ? int.format(a.count) : "–", pct(a?.closeRate), b ? int.format(b.count) : "–", pct(b?.closeRate));
      tr.dataset.stage = id;
      return tr;
    }),
  );
  $("#bt-compare-thresholds").replaceChildren(
    ...[["Champion", c.a], ["Challenger", c.b]].flatMap(([who, r]) =>
      r.thresholds.map((t) => h("li", { text: `${who}: ${t.label ?? stageLabel(t.stage)} ≥ ${num.format(t.current)}: ${statsLine(t.currentAt)}` })),
    ),
  );
  setRows(
    $("#bt-moved"),
    c.moved.slice(0, 100).map((m) => {
      const rules = [...m.gained.map((r) => `+ ${labelOf(state.model?.rules, r)}`), ...m.dropped.map((r) => `− ${r}`)].join(", ");
      const tr = row(`${m.id} (line ${m.line})`, m.outcome, `${stageLabel(m.from)}, ${num.format(m.scoreA)}`, `${stageLabel(m.to)}, ${num.format(m.scoreB)}`, rules || "same rules, other thresholds");
      tr.dataset.lead = m.id;
      return tr;
    }),
  );
}

/** How the file was read: the mapping, its columns (each a choice), the outcome values, conversions, values left out. */
function renderInput(r) {
  const i = r.input;
  $("#bt-input").hidden = !i;
  if (!i) return;
  $("#bt-read-as").textContent =
    `${i.mapping ? `Read as a ${i.mapping}. ` : ""}Outcome column “${i.outcomeColumn}”. ` +
    (i.ignoredColumns.length ? `Columns not read: ${i.ignoredColumns.join(", ")}.` : "Every column is read.");
  const matched = new Map(i.columns);
  const targets = [
    ...(state.model?.fields ?? []).map((f) => [f.id, `field ${f.label ?? f.id}`]),
    ...(state.model?.events ?? []).map((e) => [e.id, `event ${e.label ?? e.id}`]),
  ];
  const special = new Set([i.outcomeColumn, backtest.mapping?.scored_at, "id"]);
  setRows(
    $("#bt-columns"),
    backtest.headers.filter((hd) => !special.has(hd)).map((hd) => {
      const select = h("select", { "data-header": hd, "aria-label": `Read column ${hd} as` }, h("option", { value: "", text: "not read" }), ...targets.map(([id, label]) => h("option", { value: id, text: label })));
      select.value = matched.get(hd) ?? "";
      const tr = h("tr", {}, h("th", { scope: "row", text: hd }), h("td", {}, select));
      tr.dataset.column = hd;
      return tr;
    }),
  );
  $("#bt-outcomes").replaceChildren(
    ...r.outcomes.map((o) => h("li", { "data-kind": o.kind, text: `“${o.value}”: ${int.format(o.count)} lead(s), counted as ${o.kind}${o.unlisted ? " (in no list)" : ""}` })),
  );
  $("#bt-converted").replaceChildren(
    ...(i.converted.length
      ? i.converted.map((c) => h("li", { text: `${fieldLabel(c.field)}: ${int.format(c.count)} value(s), ${c.rule} (“${c.example[0]}” → ${c.example[1]})` }))
      : [h("li", { text: "none" })]),
  );
  $("#bt-left-out").replaceChildren(
    ...(i.leftOut.length
      ? i.leftOut.map((l) => h("li", { "data-field": l.field, text: `${fieldLabel(l.field)}: “${l.value}” × ${int.format(l.count)}: ${l.reason}` }))
      : [h("li", { text: "none" })]),
  );
}

function renderReport(r) {
  $("#bt-report").hidden = false;
  const wonCount = r.won;
  const wonValues = r.wonValues;
  const column = r.input?.outcomeColumn ?? "outcome";
  const open = r.open ? `, ${int.format(r.open)} still open` : "";
  $("#bt-summary").textContent =
    `${int.format(r.rows)} rows, ${int.format(r.scored)} scored, ${int.format(r.errorCount)} that could not be read, ` +
    `${int.format(r.rowsWithIssues)} with values left out. ` +
    `${int.format(wonCount)} won (“${wonValues.join("”, “")}” in column “${column}”), ${int.format(r.lost)} lost${open}: a base close rate of ${pct(r.baseRate)}.`;
  $("#bt-notes").replaceChildren(...r.notes.map((n) => h("li", { text: n })));
  renderInput(r);
  const lines = [];
  for (const t of r.thresholds) {
    // Short names on the chart: "MQL ≥ 45".
    const label = t.stage.length <= 4 ? t.stage.toUpperCase() : (t.label ?? stageLabel(t.stage));
    if (t.current !== null && t.current !== undefined) lines.push({ x: t.current, label: `${label} ≥ ${num.format(t.current)}` });
    if (t.suggested !== null && t.suggested !== undefined && t.suggested !== t.current) {
      lines.push({ x: t.suggested, label: `${label} ≥ ${num.format(t.suggested)} (suggested)`, dashed: true });
    }
  }
  $("#bt-histogram").replaceChildren(histogram({ bins: r.histogram.bins, lines, title: `Past leads by score: ${int.format(wonCount)} won of ${int.format(r.scored)}` }));
  setRows(
    $("#bt-stages"),
    r.stages.map((s) => {
      const tr = row(s.label ?? s.id, int.format(s.count), int.format(s.won), pct(s.closeRate));
      tr.dataset.stage = s.id;
      return tr;
    }),
  );
  $("#bt-suggest").replaceChildren(
    ...r.thresholds.map((t) => {
      const label = t.label ?? stageLabel(t.stage);
      const li = h("li", { "data-stage": t.stage });
      const goal = t.goal ?? "the F1 score: precision and recall balanced";
      if (t.suggested === null || t.suggested === undefined) li.textContent = `${label}: no threshold is suggested (see the notes above). Now: ${statsLine(t.currentAt)}.`;
      else if (t.suggested === t.current) li.textContent = `${label}: keep ≥ ${num.format(t.current)}; it already gives the best ${goal}. Now: ${statsLine(t.currentAt)}.`;
      else {
        li.textContent =
          `${label}: ≥ ${num.format(t.suggested)} instead of ${t.current === null || t.current === undefined ? "no threshold" : `≥ ${num.format(t.current)}`}, ` +
          `for the best ${goal}, from ${int.format(r.won + r.lost)} leads with an outcome. Suggested: ${statsLine(t.suggestedAt)}. Now: ${statsLine(t.currentAt)}. `;
        const apply = h("button", { type: "button", class: "pg-apply", text: `Apply ≥ ${num.format(t.suggested)}` });
        apply.addEventListener("click", () => {
          apply.disabled = true;
          apply.textContent = applyThreshold(t.stage, t.current, t.suggested) ? "Applied to the rules" : "The condition could not be changed here: edit it in the rules";
        });
        li.append(apply);
      }
      return li;
    }),
  );
  const bins = r.histogram.bins;
  const lo = bins.length ? Math.floor(bins[0].from) : 0;
  const hi = bins.length ? Math.ceil(bins[bins.length - 1].to) : 100;
  $("#bt-sliders").replaceChildren(
    ...r.thresholds.map((t) => {
      const label = t.label ?? stageLabel(t.stage);
      const id = `slider-${t.stage}`;
      const start = t.current ?? t.suggested ?? lo;
      const input = h("input", { type: "range", id, min: String(lo), max: String(hi), step: "1", value: String(start), "data-stage": t.stage });
      const value = h("output", { for: id, class: "pg-slider-value", text: `≥ ${num.format(start)}` });
      const stats = h("p", { class: "pg-slider-stats", "aria-live": "polite", text: statsLine(t.currentAt ?? t.suggestedAt) });
      let seq = 0;
      input.addEventListener("input", async () => {
        const threshold = Number(input.value);
        value.textContent = `≥ ${num.format(threshold)}`;
        const mine = ++seq;
        const s = await askAt(threshold);
        if (mine === seq) stats.textContent = statsLine(s);
      });
      return h("div", { class: "pg-slider" }, h("label", { for: id, text: `${label} threshold` }), input, value, stats);
    }),
  );
  const rules = [...r.rules].sort((a, b) => (b.lift ?? -Infinity) - (a.lift ?? -Infinity));
  setRows(
    $("#bt-rules"),
    rules.map((x) => {
      const tr = row(labelOf(state.model?.rules, x.id), int.format(x.fired), int.format(x.wonFired), pct(x.closeRateFired), pct(x.closeRateNotFired), x.lift === null || x.lift === undefined ? "–" : `${num.format(x.lift)}×`);
      tr.dataset.rule = x.id;
      return tr;
    }),
  );
  $("#bt-errors").replaceChildren(
    ...(r.errorCount
      ? [
          h("h3", { text: `Rows that could not be scored (${int.format(r.errorCount)})` }),
          h("ul", {}, ...r.errors.map((e) => h("li", { text: `line ${e.line}: ${e.message}` }))),
        ]
      : []),
  );
}

// 6. Funnel planner

/** The separators of the page's language: `{ group: ",", decimal: "." }` in English. */
const separators = Object.fromEntries(
  new Intl.NumberFormat(navigator.language).formatToParts(12345.6).filter((x) => x.type === "group" || x.type === "decimal").map((x) => [x.type, x.value]),
);

/** A number as people type it: "10,000,000", "10.000.000", "12,5" (a decimal comma where the language uses one),
 * "1 000". Null when it is not one. */
function readNumber(text) {
  const t = text.trim().replace(/[\s\u00a0\u202f']/g, "");
  if (t === "") return null;
  if (!/^[+-]?[\d.,]+$/.test(t)) return NaN;
  const marks = [...t.matchAll(/[.,]/g)].map((m) => m[0]);
  let normal = t;
  if (marks.length) {
    const last = marks[marks.length - 1];
    const kinds = new Set(marks);
    if (kinds.size === 2) {
      // Both: the last one is the decimal mark ("1,234.5", "1.234,5").
      const group = last === "." ? "," : ".";
      if (!new RegExp(`^[+-]?\\d{1,3}(\\${group}\\d{3})*\\${last}\\d+$`).test(t)) return NaN;
      normal = t.replaceAll(group, "").replace(last, ".");
    } else if (marks.length > 1 || (last !== separators.decimal && /^[+-]?\d{1,3}[.,]\d{3}$/.test(t))) {
      // One kind, repeated or in thousands where the language's decimal mark is the other one: groups.
      if (!new RegExp(`^[+-]?\\d{1,3}(\\${last}\\d{3})+$`).test(t)) return NaN;
      normal = t.replaceAll(last, "");
    } else {
      normal = t.replace(last, ".");
    }
  }
  const n = Number(normal);
  return Number.isFinite(n) ? n : NaN;
}

function planInput() {
  const form = $("#plan-form");
  const mode = form.elements.mode.value;
  const problems = [];
  const input = {};
  const names = mode === "mqls" ? ["mqls", "dealSize"] : ["goal", "dealSize"];
  for (const name of [...names, "sqlToWon", "mqlToSql", "leadToMql", "visitorToLead", "year"]) {
    const el = form.elements[name];
    const label = el.closest("label").firstChild.textContent.trim();
    const n = readNumber(el.value);
    const echo = form.querySelector(`[data-read="${name}"]`);
    echo.textContent = n === null ? "" : Number.isNaN(n) ? "not a number" : `read as ${num.format(n)}`;
    if (Number.isNaN(n)) problems.push(`${label}: “${el.value}” is not a number.`);
    else if (n !== null) input[name] = n;
    else if (!/optional/.test(label) && !(mode === "mqls" && name === "dealSize")) problems.push(`${label}: give a number.`);
  }
  return { mode, input, problems };
}

/** The planner's results, all cleared. */
function clearPlan(message) {
  $("#plan-state").textContent = message;
  for (const id of ["#plan-totals", "#plan-chart", "#plan-steps"]) $(id).replaceChildren();
  $("#plan-rounding").textContent = "";
  setRows($("#plan-table"), []);
  $("#plan-table").tFoot.replaceChildren();
}

function renderPlan() {
  const { mode, input, problems } = planInput();
  for (const el of document.querySelectorAll("#plan-form [data-mode]")) el.hidden = el.dataset.mode !== mode;
  if (problems.length) {
    clearPlan(problems.join(" "));
    return;
  }
  let p;
  try {
    p = leadscore.plan(input);
  } catch (e) {
    // Each problem in the words of the form: its label, not the engine's name for it.
    const form = $("#plan-form");
    const named = (e?.problems ?? []).map((x) => {
      const el = x.field && form.elements[x.field];
      const label = el?.closest?.("label")?.firstChild.textContent.trim();
      return `${label ?? "The plan"}: ${x.message}.`;
    });
    clearPlan(named.length ? named.join(" ") : (e?.message ?? String(e)));
    return;
  }
  $("#plan-state").textContent = "";
  const totals = [
    ["Revenue", p.revenue, "revenue"],
    ["Deals", p.deals, "deals"],
    ["SQLs", p.sqls, "sqls"],
    ["MQLs", p.mqls, "mqls"],
    ["Leads", p.leads, "leads"],
    ["Visitors", p.visitors, "visitors"],
    ["Working days", p.workingDays, "workingDays"],
  ].filter(([, v]) => v !== null);
  $("#plan-totals").replaceChildren(
    ...totals.map(([label, v, key]) => h("div", {}, h("dt", { text: label }), h("dd", { "data-total": key, text: fmt(v) }))),
  );
  $("#plan-chart").replaceChildren(
    funnel(
      [
        { label: "Visitors", value: p.visitors },
        { label: "Leads", value: p.leads },
        { label: "MQLs", value: p.mqls },
        { label: "SQLs", value: p.sqls },
        { label: "Deals", value: p.deals },
      ].filter((x) => x.value !== null),
      "The funnel for the year",
    ),
  );
  $("#plan-steps").replaceChildren(...p.steps.map((x) => h("li", { text: x })));
  $("#plan-rounding").textContent = p.rounding;
  const opt = (v) => (v === null ? "–" : fmt(v));
  const cells = (m) => [opt(m.visitors), opt(m.leads), fmt(m.mqls), fmt(m.sqls), fmt(m.deals)];
  setRows($("#plan-table"), p.months.map((m) => row(m.month, String(m.workingDays), ...cells(m))));
  const foot = $("#plan-table").tFoot;
  foot.replaceChildren(
    row("Per working day", "1", ...cells(p.perWorkingDay)),
    row("Year", String(p.workingDays), ...cells(p)),
  );
}

// Start

async function initialDocument() {
  const match = location.hash.match(/^#model=(.+)$/);
  if (match) {
    try {
      const text = await decodeShare(match[1]);
      status("Loaded the model from the link.");
      return text;
    } catch {
      status("The link's model could not be read: loading the example instead.");
    }
  }
  try {
    const saved = localStorage.getItem(STORE);
    if (saved) {
      status("Restored your last document.");
      return saved;
    }
  } catch {
    // Storage off: start from the example.
  }
  return null;
}

async function main() {
  await init();
  doc.addEventListener("input", scheduleCheck);
  doc.addEventListener("scroll", syncScroll);
  doc.addEventListener("keydown", (e) => {
    // Tab indents; Escape then Tab leaves the editor (the keyboard is never trapped).
    if (e.key === "Tab" && !e.shiftKey && !doc.dataset.escape) {
      e.preventDefault();
      doc.setRangeText("  ", doc.selectionStart, doc.selectionEnd, "end");
      scheduleCheck();
    }
    if (e.key === "Escape") doc.dataset.escape = "1";
    else if (e.key !== "Tab") delete doc.dataset.escape;
  });
  $("#load-example").addEventListener("click", () => loadExample($("#example").value).catch((e) => status(String(e.message ?? e))));
  $("#download").addEventListener("click", download);
  $("#share").addEventListener("click", () => share().catch((e) => status(String(e.message ?? e))));
  window.addEventListener("hashchange", async () => {
    const text = await initialDocument();
    if (text !== null) loadDocument(text);
  });

  const file = $("#bt-file");
  file.addEventListener("change", () => {
    if (file.files[0]) startBacktest(file.files[0], file.files[0].name);
    // Choosing the same file again runs it again.
    file.value = "";
  });
  $("#bt-again").addEventListener("click", runAgain);
  $("#bt-champion").addEventListener("click", keepChampion);
  $("#bt-template").addEventListener("click", downloadTemplate);
  for (const id of ["#bt-outcome", "#bt-won", "#bt-lost", "#bt-open"]) $(id).addEventListener("change", () => backtest.csv && startBacktest(backtest.csv, backtest.name, backtest.mapping && editedMapping()));
  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("pg-dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("pg-dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("pg-dragging");
    const f = e.dataTransfer?.files?.[0];
    if (f) startBacktest(f, f.name);
  });
  $("#bt-sample").addEventListener("click", async () => {
    const response = await fetch("/dist/examples/history/b2b-saas.csv");
    if (!response.ok) {
      $("#bt-state").textContent = "The sample history is not available on this server.";
      return;
    }
    startBacktest(await response.text(), "the sample history");
  });
  $("#bt-cancel").addEventListener("click", cancelBacktest);

  $("#plan-form").addEventListener("input", renderPlan);
  $("#plan-form").addEventListener("submit", (e) => e.preventDefault());
  renderPlan();

  const text = await initialDocument();
  if (text !== null) loadDocument(text);
  else await loadExample("b2b-saas");
  document.body.dataset.ready = "true";
  if (!$("#status").textContent.startsWith("Loaded") && !$("#status").textContent.startsWith("Restored")) status("Ready.");
}

main().catch((e) => {
  status(`The playground could not start: ${e?.message ?? e}`);
  document.body.dataset.ready = "failed";
});

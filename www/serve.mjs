// The demo server of the Larkspur landing pages: serves www/ (and the generated www/dist/) on 127.0.0.1, and
// receives the qualification form at POST /submit. It scores every lead itself with the full build of the npm
// package (pkg/node.js) on examples/b2b-saas.json: a plain form (no JavaScript) is scored here, and the score a
// browser claims is re-checked, never trusted.
//
//   node www/serve.mjs [--port N]      (default 8080; 0 picks a free port)
//
// Node 20+, no dependencies besides node: built-ins and the package built by scripts/build-wasm.sh.
import { createServer } from "node:http";
import { readFile, realpath, stat } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");

/** The Content-Security-Policy of every response. */
export const CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; worker-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const SECURITY = {
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

/** Content types by extension; a file with any other extension is not served. */
export const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".lsp": "application/octet-stream",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
};

/** The largest form body accepted, in bytes. */
export const BODY_LIMIT = 64 * 1024;

/** How far the time of a browser's claim may be from the server's clock. */
const MAX_SKEW_MS = 24 * 60 * 60 * 1000;

/** Form fields the controller adds to a submission: the browser's claim. */
const CLAIM_FIELDS = [
  "leadscore_score",
  "leadscore_groups",
  "leadscore_stage",
  "leadscore_grade",
  "leadscore_rules",
  "leadscore_hash",
  "leadscore_at",
  "leadscore_events",
];

/** Text for HTML: the one escape used for every value put into a page. */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Starts the server on 127.0.0.1. `port` 0 picks a free port; `root` is the directory served (default www/);
 * `model` the rules document that scores submissions; `log` receives one line per submission (default: stdout).
 * Resolves to `{ origin, close }`.
 */
export async function serve({
  port = 8080,
  root = here,
  model = join(repo, "examples/b2b-saas.json"),
  log = (line) => console.log(line),
} = {}) {
  const engine = { ...(await loadEngine(model)), log };
  const rootDir = await realpath(resolve(root));
  const server = createServer((req, res) => {
    handle(req, res, { engine, rootDir }).catch((e) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) console.error(`${new Date().toISOString()} error: ${e?.stack ?? e}`);
      if (res.headersSent) return res.destroy();
      const headers = status === 413 ? { Connection: "close" } : {};
      send(res, status, TYPES[".txt"], `${status} ${e instanceof HttpError ? e.message : "server error"}\n`, headers);
    });
  });
  server.requestTimeout = 30_000;
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", fail);
      ok();
    });
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const close = () =>
    new Promise((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
  return { origin, close };
}

/** The full build scoring `model`, with the model's description in both page languages. */
async function loadEngine(model) {
  const entry = join(repo, "pkg/node.js");
  let Scorer;
  try {
    ({ Scorer } = await import(pathToFileURL(entry).href));
  } catch (e) {
    throw new Error(`cannot load ${entry} (build it with: bash scripts/build-wasm.sh): ${e.message}`);
  }
  const scorer = new Scorer(await readFile(model, "utf8"));
  return { scorer, hash: scorer.hash, model: { en: scorer.model("en"), it: scorer.model("it") } };
}

async function handle(req, res, ctx) {
  // The path as sent (not through `new URL`, which would read `//name/...` as a host name).
  const target = req.url ?? "";
  const query = target.indexOf("?");
  const url = { pathname: query < 0 ? target : target.slice(0, query), search: query < 0 ? "" : target.slice(query) };
  if (!url.pathname.startsWith("/")) throw new HttpError(400, "bad request");
  if (url.pathname === "/submit") {
    if (req.method !== "POST") throw methodNotAllowed(res, "POST");
    return submit(req, res, ctx.engine);
  }
  if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed(res, "GET, HEAD");
  return staticFile(req, res, url, ctx.rootDir);
}

function methodNotAllowed(res, allow) {
  res.setHeader("Allow", allow);
  return new HttpError(405, "method not allowed");
}

function send(res, status, type, body, headers = {}) {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, { ...SECURITY, "Content-Type": type, "Content-Length": bytes.length, ...headers });
  res.end(res.req.method === "HEAD" ? undefined : bytes);
}

// Static files

async function staticFile(req, res, url, rootDir) {
  let path;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new HttpError(404, "not found");
  }
  const parts = path.split("/").filter((p) => p !== "");
  // No traversal, no hidden files, nothing that a decoded name could smuggle in.
  if (path.includes("\0") || path.includes("\\") || parts.some((p) => p.startsWith("."))) {
    throw new HttpError(404, "not found");
  }
  let file = join(rootDir, ...parts);
  let info = await stat(file).catch(() => null);
  if (info?.isDirectory()) {
    if (!url.pathname.endsWith("/")) {
      const location = `/${parts.map(encodeURIComponent).join("/")}/${url.search}`;
      return send(res, 301, TYPES[".txt"], "moved\n", { Location: location });
    }
    file = join(file, "index.html");
    info = await stat(file).catch(() => null);
  }
  const type = TYPES[extname(file)];
  if (!info?.isFile() || !type) throw new HttpError(404, "not found");
  // A link inside the root must not lead outside it.
  const real = await realpath(file);
  if (!real.startsWith(rootDir + sep)) throw new HttpError(404, "not found");
  send(res, 200, type, await readFile(real));
}

// Submissions

async function submit(req, res, engine) {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new HttpError(415, "the form must be sent as application/x-www-form-urlencoded");
  }
  const form = new URLSearchParams((await readBody(req, BODY_LIMIT)).toString("utf8"));
  const outcome = assess(form, engine);
  engine.log(`${new Date().toISOString()} lead stage=${outcome.stage} verified=${outcome.verified}`);
  if ((req.headers.accept ?? "").includes("application/json")) {
    const { verified, stage, score, mismatches, issues } = outcome;
    const body = JSON.stringify({ received: true, verified, stage, score, mismatches, issues });
    return send(res, 200, "application/json", body);
  }
  const lang = pickLanguage(req.headers["accept-language"]);
  const html = thankYouPage(form, outcome, engine, lang);
  return send(res, 200, TYPES[".html"], html);
}

function readBody(req, limit) {
  return new Promise((ok, fail) => {
    if (Number(req.headers["content-length"]) > limit) {
      req.resume();
      return fail(new HttpError(413, "the form is larger than 64 KiB"));
    }
    const chunks = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        fail(new HttpError(413, "the form is larger than 64 KiB"));
      } else {
        chunks.push(chunk);
      }
    });
    req.on("end", () => over || ok(Buffer.concat(chunks)));
    req.on("error", fail);
  });
}

const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A decimal number written in text, or undefined (also for one too large for a double). */
function decimal(text) {
  const n = DECIMAL.test(text.trim()) ? Number(text.trim()) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The answers of a submission, read by the engine exactly as the browser's form controller reads the same
 * controls (`scorer.answersFromForm`): every value of a multi field, the first non-empty value of any other
 * (numbers in decimal, a checkbox posted as `on` is true), entries that name no field skipped. A value a field
 * refuses is left out and returned in `issues`, as the browser left it out of its score.
 */
export function answersFrom(form, scorer) {
  return scorer.answersFromForm(form);
}

/** The browser's claim in a submission, or null when it has none; `malformed` lists claimed values that do not parse. */
function claimFrom(form, answers) {
  if (!CLAIM_FIELDS.some((k) => form.has(k))) return null;
  const malformed = [];
  const raw = (k) => (form.has(k) ? form.get(k) : undefined);
  const number = (k, what) => {
    const v = raw(k);
    if (v === undefined) return undefined;
    const n = decimal(v);
    if (n === undefined) malformed.push({ what, claimed: v, actual: null });
    return n;
  };
  const json = (k, what, ok) => {
    const v = raw(k);
    if (v === undefined) return undefined;
    try {
      const parsed = JSON.parse(v);
      if (ok(parsed)) return parsed;
    } catch {
      // reported below
    }
    malformed.push({ what, claimed: v, actual: null });
    return undefined;
  };
  const claim = {
    rules_hash: raw("leadscore_hash"),
    at: number("leadscore_at", "at"),
    answers,
    events: json("leadscore_events", "events", Array.isArray) ?? [],
    score: number("leadscore_score", "score"),
    groups: json("leadscore_groups", "groups", (g) => g !== null && typeof g === "object" && !Array.isArray(g)),
    stage: raw("leadscore_stage"),
    grade: raw("leadscore_grade"),
    rules: raw("leadscore_rules")?.split(",").filter((r) => r !== ""),
  };
  // Without the rules hash, the server cannot tell which rules the browser used.
  if (claim.rules_hash === undefined) malformed.push({ what: "rules_hash", claimed: null, actual: null });
  for (const k of Object.keys(claim)) if (claim[k] === undefined) delete claim[k];
  return { claim, malformed };
}

/** The server's outcome for one submission: its own evaluation, and its verdict on the browser's claim. */
function assess(form, engine) {
  const { scorer, hash } = engine;
  const { answers, issues } = answersFrom(form, scorer);
  const now = Date.now();
  const found = claimFrom(form, answers);
  let verified = null;
  let mismatches = [];
  let events = [];
  let at = now;
  if (found) {
    const { claim, malformed } = found;
    let v;
    try {
      v = scorer.verify(claim, { now, maxSkewMs: MAX_SKEW_MS });
    } catch (e) {
      // A claim the engine cannot even read is not confirmed.
      v = { ok: false, mismatches: [{ what: "claim", claimed: String(e?.message ?? e), actual: null }] };
    }
    mismatches = [...malformed, ...v.mismatches];
    for (const m of mismatches) if (m.what === "rules_hash" && m.actual === null) m.actual = hash;
    verified = v.ok && malformed.length === 0;
    events = claim.events;
    // The server's own numbers are taken at the claim's time only when that time is plausible.
    if (claim.at !== undefined && Math.abs(claim.at - now) <= MAX_SKEW_MS) at = claim.at;
  }
  const evaluate = (locale) => {
    const e = scorer.evaluate(answers, events, at, { complete: true, hints: false, locale });
    // What the form's reading refused comes first: the evaluation sees only the answers it kept.
    e.issues = [...issues, ...e.issues];
    return e;
  };
  const evaluation = evaluate("en");
  for (const m of mismatches) if (m.what === "score" && m.actual === null) m.actual = evaluation.score;
  return {
    verified,
    stage: evaluation.stage.id,
    score: evaluation.score,
    mismatches,
    issues: evaluation.issues,
    evaluate,
    answers,
  };
}

// The thank-you page

const TEXT = {
  en: {
    title: "Thank you",
    received: "We have received your request.",
    outcome: "What the server computed",
    stage: "Stage",
    score: "Score",
    grade: "Grade",
    disqualified: "Not a match",
    claim: "Your browser's score",
    verified: "Confirmed: the server computed the same score, stage and grade as your browser.",
    notVerified: "Not confirmed: the server's result differs from what your browser sent.",
    noClaim: "Your browser did not score the form (JavaScript was off or not loaded), so the server scored it.",
    what: "Value",
    claimed: "Browser",
    actual: "Server",
    issues: "Answers that could not be used",
    submitted: "What you sent",
    field: "Field",
    value: "Value",
    yes: "Yes",
    no: "No",
    back: "Back to the page",
    home: "/",
  },
  it: {
    title: "Grazie",
    received: "Abbiamo ricevuto la tua richiesta.",
    outcome: "Il risultato calcolato dal server",
    stage: "Fase",
    score: "Punteggio",
    grade: "Valutazione",
    disqualified: "Non idoneo",
    claim: "Il punteggio del tuo browser",
    verified: "Confermato: il server ha calcolato lo stesso punteggio, la stessa fase e la stessa valutazione del tuo browser.",
    notVerified: "Non confermato: il risultato del server è diverso da quello inviato dal tuo browser.",
    noClaim: "Il tuo browser non ha calcolato il punteggio (JavaScript era disattivato o non caricato), quindi l'ha calcolato il server.",
    what: "Valore",
    claimed: "Browser",
    actual: "Server",
    issues: "Risposte che non è stato possibile usare",
    submitted: "Cosa hai inviato",
    field: "Campo",
    value: "Valore",
    yes: "Sì",
    no: "No",
    back: "Torna alla pagina",
    home: "/it/",
  },
};

/** The best of the page's languages for an Accept-Language header; English by default. */
export function pickLanguage(header) {
  let best = { lang: "en", q: 0 };
  for (const part of String(header ?? "").split(",")) {
    const [tag, ...params] = part.trim().toLowerCase().split(";");
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith("q="))?.slice(2) ?? 1);
    const lang = tag.split("-")[0];
    if ((lang === "en" || lang === "it") && Number.isFinite(q) && q > best.q) best = { lang, q };
  }
  return best.lang;
}

function thankYouPage(form, outcome, engine, lang) {
  const t = TEXT[lang];
  const e = outcome.evaluate(lang);
  const model = engine.model[lang];
  const fmt = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  const title = e.ending?.title ?? t.title;
  const message = e.ending?.message ?? t.received;
  const stageLabel = e.stage.id === "disqualified" ? t.disqualified : (e.stage.label ?? e.stage.id);
  const grade = e.grade ? (e.grade.cell ?? e.grade.letter) : "–";

  const labels = new Map(model.fields.map((f) => [f.id, f]));
  const show = (name, value) => {
    const f = labels.get(name);
    const option = f?.options.find((o) => o.value === value);
    const yesNo = f?.type === "boolean" && { true: t.yes, false: t.no }[value];
    const shown = option ? `${option.label} (${value})` : yesNo || value;
    const head = f?.label ? `${escapeHtml(f.label)} <code>${escapeHtml(name)}</code>` : `<code>${escapeHtml(name)}</code>`;
    return `<tr><th scope="row">${head}</th><td>${escapeHtml(shown)}</td></tr>`;
  };
  const rows = [...form].filter(([, v]) => v !== "").map(([k, v]) => show(k, v));

  let verdict;
  if (outcome.verified === null) verdict = `<p class="verdict">${escapeHtml(t.noClaim)}</p>`;
  else if (outcome.verified) verdict = `<p class="verdict ok">${escapeHtml(t.verified)}</p>`;
  else {
    const shown = (v) => (v === null || v === undefined ? "–" : typeof v === "string" ? v : JSON.stringify(v));
    const head = [t.what, t.claimed, t.actual].map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("");
    const list = outcome.mismatches.map(
      (m) =>
        `<tr><th scope="row"><code>${escapeHtml(m.what)}</code></th>` +
        `<td>${escapeHtml(shown(m.claimed))}</td><td>${escapeHtml(shown(m.actual))}</td></tr>`,
    );
    verdict =
      `<p class="verdict bad">${escapeHtml(t.notVerified)}</p>\n` +
      `<table class="answers"><thead><tr>${head}</tr></thead><tbody>\n${list.join("\n")}\n</tbody></table>`;
  }
  const issueList = e.issues.map((i) => `<li><code>${escapeHtml(i.field)}</code>: ${escapeHtml(i.message)}</li>`);
  const issues = issueList.length ? `<h2>${escapeHtml(t.issues)}</h2>\n<ul>${issueList.join("")}</ul>` : "";
  const why = e.disqualified?.message && !e.ending?.message ? `<p>${escapeHtml(e.disqualified.message)}</p>` : "";
  const action = e.ending?.action
    ? `<p><a class="button" href="${escapeHtml(e.ending.action.url)}">${escapeHtml(e.ending.action.label)}</a></p>`
    : "";

  return `<!doctype html>
<html lang="${lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)} · Larkspur Analytics</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/style.css">
</head>
<body>
  <header class="site-header">
    <div class="wrap header-row">
      <a class="brand" href="${t.home}">Larkspur <span class="brand-sub">Analytics</span></a>
    </div>
  </header>
  <main class="receipt">
    <div class="wrap">
      <div class="card">
        <h1>${escapeHtml(title)}</h1>
        <p>${escapeHtml(message)}</p>
        ${why}${action}
        <h2>${escapeHtml(t.outcome)}</h2>
        <dl class="outcome">
          <div><dt>${escapeHtml(t.stage)}</dt><dd data-stage="${escapeHtml(e.stage.id)}">${escapeHtml(stageLabel)}</dd></div>
          <div><dt>${escapeHtml(t.score)}</dt><dd>${escapeHtml(fmt.format(e.score))}</dd></div>
          <div><dt>${escapeHtml(t.grade)}</dt><dd>${escapeHtml(grade)}</dd></div>
        </dl>
        <h2>${escapeHtml(t.claim)}</h2>
        ${verdict}
        ${issues}
        <h2>${escapeHtml(t.submitted)}</h2>
        <table class="answers">
          <thead><tr><th scope="col">${escapeHtml(t.field)}</th><th scope="col">${escapeHtml(t.value)}</th></tr></thead>
          <tbody>
${rows.join("\n")}
          </tbody>
        </table>
        <p><a class="text-link" href="${t.home}">${escapeHtml(t.back)}</a></p>
      </div>
    </div>
  </main>
</body>
</html>
`;
}

// Command line

function parsePort(args) {
  let port = 8080;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = a === "--port" ? args[++i] : a.startsWith("--port=") ? a.slice(7) : undefined;
    if (value === undefined) throw new Error(`unknown argument: ${a} (usage: node www/serve.mjs [--port N])`);
    if (!/^\d+$/.test(value) || Number(value) > 65535) throw new Error(`--port needs a number from 0 to 65535, not ${value}`);
    port = Number(value);
  }
  return port;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { origin, close } = await serve({ port: parsePort(process.argv.slice(2)) });
    console.log(`${origin}/`);
    for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => close().then(() => process.exit(0)));
  } catch (e) {
    console.error(`serve: ${e.message}`);
    process.exit(1);
  }
}

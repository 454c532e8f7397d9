// Generates varied leads for one model, each written twice: as the command-line tool reads it (NDJSON, event
// times as RFC 3339 text or as milliseconds, sometimes the flat `{id, field: value}` form) and as a JavaScript
// client hands it to the Wasm `Scorer.evaluate` (answers as JSON.parse reads the same text, events with `at`
// in milliseconds). Both lines describe the same lead; the JSON text of answers is identical on both sides.
//
// Values are produced directly as JSON text so that the tests can use number spellings JSON.stringify never
// writes (`2.50`, `2.5e2`, 40 significant digits) and keys such as `__proto__`.

const DAY = 86_400_000;
// The range in which the command-line tool reads RFC 3339 times (years 1 to 9999, up to 9999-12-30), kept a
// day inside it so that offsets do not leave it.
const RFC_MIN = Date.UTC(1, 0, 2);
const RFC_MAX = Date.UTC(9999, 11, 29);

const j = JSON.stringify;

function obj(entries) {
  return "{" + entries.map(([k, v]) => j(k) + ":" + v).join(",") + "}";
}

function arr(items) {
  return "[" + items.join(",") + "]";
}

/** JSON text of a finite number, keeping -0 visible. */
function num(x) {
  return Object.is(x, -0) ? "-0.0" : j(x);
}

// Neighbouring doubles.
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
function nextUp(x) {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  u64[0] += x > 0 ? 1n : -1n;
  return f64[0];
}
function nextDown(x) {
  return -nextUp(-x);
}

/** The exact decimal expansion of a double (up to a few hundred digits). */
function exactDecimal(x) {
  if (!Number.isFinite(x) || Number.isInteger(x)) return num(x);
  f64[0] = x;
  const bits = u64[0];
  const neg = bits >> 63n;
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e;
  if (exp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  if (e >= 0) return (neg ? "-" : "") + (mant << BigInt(e)).toString();
  const digits = (mant * 5n ** BigInt(-e)).toString().padStart(-e + 1, "0");
  const int = digits.slice(0, digits.length + e);
  const frac = digits.slice(digits.length + e).replace(/0+$/, "");
  return (neg ? "-" : "") + int + (frac ? "." + frac : "");
}

/** Other JSON spellings of the same (or nearly the same) number. */
function spellings(rng, x) {
  const s = num(x);
  const out = [s];
  if (Number.isInteger(x) && Math.abs(x) < 1e15) out.push(s + ".0", s + ".000", x.toExponential(), `${x * 10}e-1`);
  else if (Number.isFinite(x)) {
    out.push(exactDecimal(x), x.toExponential(), x.toExponential(20));
    if (!s.includes("e")) out.push(s + "0", s + "000000000000000000001", s + "4999999999999999999999");
    out.push(x.toPrecision(rng.int(1, 21)));
  }
  // Only texts that read as a finite number: JSON.parse turns a number too large for a double into
  // Infinity, which JSON.stringify then writes as null, while Rust readers reject it; that is not the same
  // input on both sides.
  return out.filter((t) => /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t) && Number.isFinite(Number(t)));
}

function caseVariant(rng, s) {
  return rng.weighted([
    [3, () => s.toUpperCase()],
    [2, () => s.toLowerCase()],
    [2, () => s.charAt(0).toUpperCase() + s.slice(1)],
    [3, () => [...s].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join("")],
  ]);
}

function pad(rng, s) {
  return rng.pick([" ", "  ", "\t", "\u00a0", "\u2003", "\n", ""]) + s + rng.pick([" ", "\t ", "\u00a0", "\ufeff", "\r\n", ""]);
}

const UNICODE = [
  "Müller & Söhne", "ŁÓDŹ Data Sp. z o.o.", "İstanbul Analytics", "Straße", "STRASSE", "ΣΊΣΥΦΟΣ ΟΔΟΣ", "Ἀθῆναι",
  "日本語のデータ", "데이터 분석", "Данные и аналитика", "ДИРЕКТОР", "😀 growth hacker 🚀", "e\u0301cole", "\u200bdata\u200b",
  "ﬁnance ﬂow", "Ǆemal", "ǅ", "ΐ", "I\u0307", "\u212Aelvin data", "ẞ", "\u2126hm", "ŉ", "\u0130NTERN", "ﬀ", "ß", "ǰ",
  "Ⅻ", "ⓓⓐⓣⓐ", "𝐃𝐀𝐓𝐀", "İntern", "JUNİOR", "trаinee" /* Cyrillic а */, "\u0000nul", "tab\there", "quote\"s\\",
  "\ud83d\udc69\u200d\ud83d\udcbb dev", "a\u0308", "ǈ", "ᾼ", "ﬆ", "Σ", "ΌΣΟΣ", "\u2028line", "<b>&amp;</b>", "١٢٣",
];
const WORDS = [
  "Head of", "Senior", "Chief", "Manager", "Lead", "Global", "Team", "Officer", "Analyst", "Engineer", "Consultant",
  "Owner", "Director", "VP", "of", "and", "the", "Acme", "Nordwind", "Rossi", "srl", "GmbH", "Ltd", "S.p.A.", "Inc.",
];
const NAMES = ["Jane", "Miriam", "Luca", "José", "Zoë", "Siobhán", "Łukasz", "Ngozi", "Wei", "Ayşe", "Björn", "O'Neil"];
const LOCALS = ["jane.doe", "J.Doe+promo", "info", "m.keller", "ünïcode", "a", "x_y-z", "first.last", "CEO", "🙂"];
const OTHER_DOMAINS = [
  "zahlwerk.de", "acme-retail.co.uk", "example.com", "nordwind.io", "rossi-srl.it", "company.COM", "bücher.example",
  "xn--bcher-kva.example", "mail.gmail.com", "gmail.com.evil.io", "xgmail.com", "localhost.localdomain",
];
const UNKNOWN_KEYS = [
  "utm_campaign", "__proto__", "constructor", "toString", "hasOwnProperty", "", " ", "123", "0", "-1", "ünknown",
  "answers", "events", "EMAIL", "email ", "id", "Country",
];
const OFFSETS = [330, -480, 60, 0, 845, -570, 840, -720, 120, -60, 345, -210];

export class LeadWriter {
  /** `plainNumbers`: write every number as JSON.stringify does, never in another spelling. */
  constructor(profile, rng, nowMs, { plainNumbers = false } = {}) {
    this.plainNumbers = plainNumbers;
    this.p = profile;
    this.rng = rng;
    this.now = nowMs;
    const words = profile.strings.filter((s) => s.length > 0 && !/^[A-Z]{2}$/.test(s));
    this.texts = words.length ? words : ["data"];
    this.domains = profile.domains.length ? profile.domains : ["gmail.com"];
    this.countries = profile.countries.length ? profile.countries : ["IT", "US"];
  }

  /** A JSON spelling of x (`exact`: one that JavaScript reads as x itself). */
  spell(x, exact = false) {
    if (this.plainNumbers) return num(x);
    const all = spellings(this.rng, x);
    return this.rng.pick(exact ? all.filter((t) => Number(t) === x).concat([num(x)]) : all);
  }

  // ---- answers, as JSON text --------------------------------------------------------------------------

  // Each generator gives a value that fits the field, or (`bad`) one that does not: wrong type, out of
  // range, not an option, too long, malformed.

  number(f, bad) {
    const { rng } = this;
    const lo = f.min ?? -1000;
    const hi = f.max ?? 1e6;
    const int = f.type === "integer";
    const fit = (x) => Math.min(hi, Math.max(lo, int ? Math.round(x) : x));
    const near = () => {
      let t = rng.pick(this.p.numbers);
      if (rng.chance(0.3)) t *= rng.int(1, 12);
      const d = rng.pick([0, 0, 1, -1, 0.5, -0.5, 0.01, -0.01, 1e-9, -1e-9, "up", "down", 0.1, 0.2]);
      if (d === "up") return nextUp(t);
      if (d === "down") return nextDown(t);
      return t + d;
    };
    const logUniform = () => {
      const top = Math.log10(Math.max(hi - lo, 1));
      const x = lo + 10 ** (rng.float() * (top + 2) - 2);
      return rng.chance(0.3) ? Number(x.toFixed(rng.int(0, 4))) : x;
    };
    if (!bad) {
      const value = fit(
        rng.weighted([
          [35, logUniform],
          [35, near],
          [10, () => Number((lo + rng.float() * (Math.min(hi, 1e4) - lo)).toFixed(rng.int(0, 17)))],
          [8, () => rng.int(0, 40) * 0.1 * rng.pick(this.p.numbers.filter((n) => n > 0).concat([1]))],
          [6, () => rng.pick([lo, hi, nextUp(lo), nextDown(hi), 0, -0, 0.1 + 0.2, 1e-7, 5e-324])],
        ]),
      );
      return rng.chance(0.15) ? this.spell(value) : num(value);
    }
    return rng.weighted([
      [30, () => num(rng.pick([lo - 1, hi + 1, -5, hi * 10, lo - 0.5, nextDown(lo), nextUp(hi), 1e308, -1e308, 2 ** 53, 1e21]))],
      [20, () => (int ? num(rng.int(0, 500) + rng.pick([0.5, 0.25, 1e-9, 0.1])) : num(-1 - rng.float() * 100))],
      [35, () => rng.pick([j(String(fit(near()))), '""', j(` ${fit(near())} `), '"abc"', "true", "false", arr([num(fit(near()))]), obj([["v", "1"]])])],
      [15, () => this.spell(rng.pick([lo - 1, hi + 1, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324]))],
    ]);
  }

  boolean(f, bad) {
    const { rng } = this;
    if (!bad) return rng.chance(0.5) ? "true" : "false";
    return rng.pick(['"yes"', '"true"', "1", "0", '""', "[true]", '"false"', "{}"]);
  }

  choice(f, bad) {
    const { rng } = this;
    const opt = () => rng.pick(f.options);
    if (!bad) return j(rng.chance(0.9) ? opt() : pad(rng, opt()));
    return rng.weighted([
      [25, () => j(caseVariant(rng, opt()))],
      [30, () => j(rng.chance(0.5) ? rng.pick(this.texts) : rng.pick(UNICODE))],
      [25, () => rng.pick(["1", "true", arr([j(opt())]), "{}", "0.5"])],
      [20, () => '""'],
    ]);
  }

  multi(f, bad) {
    const { rng } = this;
    if (!bad) {
      return rng.weighted([
        [80, () => arr(rng.subset([...f.options], rng.pick([0.15, 0.3, 0.5, 0.8])).map(j))],
        [12, () => arr([...rng.subset([...f.options]), ...rng.subset([...f.options])].map(j))],
        [8, () => "[]"],
      ]);
    }
    return rng.weighted([
      [40, () => arr([...rng.subset([...f.options]), rng.chance(0.5) ? caseVariant(rng, rng.pick(f.options)) : "unknown_option"].map(j))],
      [25, () => arr([rng.pick(["1", "null", arr([j(rng.pick(f.options))]), "true", "{}"])])],
      [35, () => j(rng.chance(0.5) ? rng.pick(f.options) : rng.subset([...f.options]).join(";"))],
    ]);
  }

  phrase() {
    const { rng } = this;
    const parts = [];
    const n = rng.int(0, 3);
    for (let i = 0; i < n; i++) parts.push(rng.pick(WORDS));
    let lit = rng.pick(this.texts);
    if (rng.chance(0.5)) lit = caseVariant(rng, lit);
    parts.splice(rng.int(0, parts.length), 0, lit);
    if (rng.chance(0.2)) parts.push(rng.pick(UNICODE));
    return parts.join(rng.pick([" ", " ", "-", "", "/"]));
  }

  string(f, bad) {
    const { rng } = this;
    const max = f.maxLength ?? 1000;
    // Right at the length limit, counting characters (astral characters are two UTF-16 units).
    const atLimit = (n) => {
      const unit = rng.pick(["a", "é", "😀", "𝐃", "e\u0301", "Σ"]);
      return j([...unit.repeat(Math.max(1, n))].slice(0, Math.max(1, n)).join(""));
    };
    if (!bad) {
      return rng.weighted([
        [45, () => j(this.phrase())],
        [14, () => j(rng.pick(NAMES) + (rng.chance(0.5) ? " " + rng.pick(WORDS) : ""))],
        [14, () => j(rng.pick(UNICODE))],
        [7, () => j(rng.pick(["", " ", "\t", "  \n", "\u00a0", "\ufeff"]))],
        [7, () => j(pad(rng, this.phrase()))],
        [4, () => atLimit(max - rng.int(0, 1))],
        [9, () => j(rng.pick(["12345678901", " IT12345678901 ", "it 0123", "11", "http://example.com", "HTTPS://x.io", "www.site", "0", "-0", "1e3", "NaN"]))],
      ]);
    }
    return rng.weighted([
      [40, () => atLimit(max + rng.int(1, 3))],
      [60, () => rng.pick([num(rng.int(-5, 99999)), "true", "[]", arr([j("data")]), "{}", "1.5"])],
    ]);
  }

  email(f, bad) {
    const { rng } = this;
    const domain = () => {
      const d = rng.chance(0.75) ? rng.pick(this.domains) : rng.pick(OTHER_DOMAINS);
      return rng.chance(0.25) ? caseVariant(rng, d) : d;
    };
    const local = () => rng.pick(LOCALS);
    if (!bad) {
      return rng.weighted([
        [80, () => j(`${local()}@${domain()}`)],
        [8, () => j(pad(rng, `${local()}@${domain()}`))],
        [6, () => j(`${local()}@x@${domain()}`)],
        [6, () => j(`${rng.pick(NAMES)}@${rng.pick(UNICODE).replace(/\s/g, "")}.example`)],
      ]);
    }
    return rng.weighted([
      [60, () => j(rng.pick(["no-at-sign", "@gmail.com", "a@b", "a@.com", "a@com.", "a b@c.com", "a@b.c\u0000", "a@b .com", "a@\u00a0b.com", "", " ", "a@b.com\u200b", `${local()}@`]))],
      [20, () => j(`${"x".repeat((f.maxLength ?? 254) + rng.int(-12, 2))}@${domain()}`)],
      [20, () => rng.pick(["42", "true", arr([j("a@b.com")]), "{}"])],
    ]);
  }

  country(f, bad) {
    const { rng } = this;
    const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const code = () => (rng.chance(0.8) ? rng.pick(this.countries) : rng.pick([...letters]) + rng.pick([...letters]));
    if (!bad) return j(rng.weighted([[80, code], [20, () => (rng.chance(0.5) ? caseVariant(rng, code()) : pad(rng, code()))]]));
    return rng.weighted([
      [70, () => j(rng.pick(["ITA", "I", "", "1T", "ÎT", "I T", "it.", "ＩＴ", "Deutschland", "uk\u0000"]))],
      [30, () => rng.pick(["39", "true", arr([j("IT")]), "{}"])],
    ]);
  }

  answer(f, bad) {
    switch (f.type) {
      case "number":
      case "integer":
        return this.number(f, bad);
      case "boolean":
        return this.boolean(f, bad);
      case "choice":
        return this.choice(f, bad);
      case "multi":
        return this.multi(f, bad);
      case "email":
        return this.email(f, bad);
      case "country":
        return this.country(f, bad);
      default:
        return this.string(f, bad);
    }
  }

  /** Answer entries `[id, jsonText]`: a finished form, a form in progress, or a sparse one. */
  answerEntries() {
    const { rng, p } = this;
    const shape = rng.weighted([
      [45, "complete"],
      [35, "progress"],
      [12, "sparse"],
      [3, "empty"],
    ]);
    let ids = [];
    if (shape === "complete") {
      ids = p.fields.map((f) => f.id).filter(() => rng.chance(0.92));
    } else if (shape === "progress") {
      const steps = p.steps.length ? p.steps : [p.fields.map((f) => f.id)];
      const at = rng.int(0, steps.length - 1);
      for (let i = 0; i < at; i++) ids.push(...steps[i].filter(() => rng.chance(0.95)));
      ids.push(...steps[at].filter(() => rng.chance(0.5)));
      ids.push(...p.outsideSteps.filter(() => rng.chance(0.5)));
    } else if (shape === "sparse") {
      ids = p.fields.map((f) => f.id).filter(() => rng.chance(0.3));
    }
    // Most leads are clean; some have a few bad answers, some many.
    const noise = rng.weighted([
      [55, 0],
      [30, 0.05],
      [12, 0.25],
      [3, 0.7],
    ]);
    const entries = ids.map((id) => [id, rng.chance(0.02) ? "null" : this.answer(p.byId.get(id), rng.chance(noise))]);
    if (rng.chance(0.06)) {
      for (let n = rng.int(1, 3); n > 0; n--) entries.push([rng.pick(UNKNOWN_KEYS), this.string({ maxLength: 50 }, false)]);
    }
    if (rng.chance(0.02) && entries.length) {
      // A repeated key: both JSON readers keep the last value.
      const [k] = rng.pick(entries);
      entries.push([k, this.answer(p.byId.get(k) ?? { type: "string" }, rng.chance(0.5))]);
    }
    return rng.shuffle(entries);
  }

  // ---- events ---------------------------------------------------------------------------------------------

  ageDays(previous) {
    const { rng, p } = this;
    const far = p.days.length ? p.days[p.days.length - 1] * 1.5 : 200;
    return rng.weighted([
      [35, () => rng.float() * far],
      [20, () => {
        const d = rng.pick(p.days.length ? p.days : [30]);
        return d + rng.pick([0, 0, 1 / DAY, -1 / DAY, 0.5, -0.5, 1e-6, -1e-6, 1 / 24, -1 / 24, 1 / 86400]);
      }],
      [8, () => (previous.length ? { ms: rng.pick(previous) } : 0)],
      [8, () => rng.pick([-rng.float() * 30, -1 / DAY, -1e-9, -365])],
      [7, () => 400 + rng.float() * 20000],
      [5, () => 0],
      [4, () => ({ ms: rng.pick([0, -1, 1e15, -1e15, 8.64e15, -8.64e15, 1e20, -1e300, 1.7976931348623157e308, 5e-324, Number.MAX_SAFE_INTEGER, 1.5, -0.5]) })],
      [8, () => Math.floor(rng.float() * far)],
      [5, () => Math.round(rng.float() * far * 24) / 24],
    ]);
  }

  eventTime(previous) {
    const { rng } = this;
    const a = this.ageDays(previous);
    if (typeof a === "object") return a.ms;
    let ms = this.now - a * DAY;
    if (rng.chance(0.5)) ms = Math.round(ms);
    else if (rng.chance(0.2)) ms = Math.round(ms / 1000) * 1000;
    return ms;
  }

  /** An event time as the command-line tool reads it: RFC 3339 text when it can say it exactly, or a number. */
  cliTime(ms) {
    const { rng } = this;
    if (!Number.isInteger(ms) || ms < RFC_MIN || ms > RFC_MAX || rng.chance(0.35)) {
      return rng.chance(0.85) ? num(ms) : this.spell(ms, true);
    }
    const iso = (t) => new Date(t).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ for years 1..9999
    const formats = [
      () => iso(ms),
      () => iso(ms).replace("T", "t").replace("Z", "z"),
      () => iso(ms).replace("T", " "),
      () => iso(ms).replace("Z", rng.pick(["000Z", "000000Z"])),
      () => iso(ms).replace("Z", "+00:00"),
      () => iso(ms).replace("Z", "-00:00"),
      () => {
        const off = rng.pick(OFFSETS);
        const sign = off < 0 ? "-" : "+";
        const hhmm = String(Math.floor(Math.abs(off) / 60)).padStart(2, "0") + (rng.chance(0.8) ? ":" : "") + String(Math.abs(off) % 60).padStart(2, "0");
        return iso(ms + off * 60000).replace("Z", sign + hhmm);
      },
    ];
    if (ms % 1000 === 0) formats.push(() => iso(ms).replace(".000Z", "Z"));
    if (ms % 60000 === 0) formats.push(() => iso(ms).replace(":00.000Z", "Z"));
    if (ms % DAY === 0) formats.push(() => iso(ms).slice(0, 10), () => iso(ms).slice(0, 10));
    return j(rng.pick(formats)());
  }

  /** `[cliText, wasmText]` of the events list, or null to leave `events` out. */
  events() {
    const { rng, p } = this;
    const shape = rng.weighted([
      [20, "none"],
      [5, "empty"],
      [2, "null"],
      [2, "odd"],
      [71, "list"],
    ]);
    if (shape === "none") return null;
    if (shape === "empty") return ["[]", "[]"];
    if (shape === "null") return ["null", "null"];
    if (shape === "odd") {
      const t = rng.pick(["{}", j(p.events[0] ?? "x"), "5", obj([["type", j(p.events[0] ?? "x")], ["at", "1"]])]);
      return [t, t];
    }
    const cli = [];
    const wasm = [];
    const previous = [];
    for (const type of p.events) {
      const n = rng.weighted([
        [40, 0],
        [20, 1],
        [20, () => rng.int(2, 4)],
        [12, () => rng.int(5, 12)],
        [5, () => rng.int(13, 40)],
      ]);
      for (let i = 0; i < n; i++) {
        const ms = this.eventTime(previous);
        previous.push(ms);
        const typeText = j(rng.chance(0.02) ? caseVariant(rng, type) : type);
        const extra = rng.chance(0.03) ? [["note", j("ignored")]] : [];
        cli.push(obj([["type", typeText], ["at", this.cliTime(ms)], ...extra]));
        wasm.push(obj([["type", typeText], ["at", num(ms)], ...extra]));
      }
    }
    if (rng.chance(0.04)) {
      const e = obj([["type", j(rng.pick(["unknown_event", "", "PAGE_VIEW", "🙂"]))], ["at", num(this.now - DAY)]]);
      cli.push(e);
      wasm.push(e);
    }
    if (rng.chance(0.03)) {
      const bad = rng.pick([
        obj([["type", j(p.events[0] ?? "x")]]),
        obj([["at", num(this.now)]]),
        obj([["type", j(p.events[0] ?? "x")], ["at", "null"]]),
        obj([["type", j(p.events[0] ?? "x")], ["at", "true"]]),
        obj([["type", "7"], ["at", num(this.now)]]),
        '"page_view"',
        "null",
        "[]",
      ]);
      cli.push(bad);
      wasm.push(bad);
    }
    const order = rng.shuffle(cli.map((_, i) => i));
    return [arr(order.map((i) => cli[i])), arr(order.map((i) => wasm[i]))];
  }

  // ---- whole leads --------------------------------------------------------------------------------------

  /** `{cli, wasm}`: the lead's two NDJSON lines. */
  lead(id) {
    const { rng } = this;
    const idText = j(id);
    const entries = this.answerEntries();
    if (rng.chance(0.04)) {
      // The flat form `{id, field: value, ...}`: the command-line tool reads every key but `id` as an answer.
      const own = entries.filter(([k]) => k !== "id" && k !== "answers");
      return { cli: obj([["id", idText], ...own]), wasm: obj([["id", idText], ["answers", obj(own)]]) };
    }
    const answers = rng.weighted([
      [97, () => obj(entries)],
      [3, () => rng.pick(["null", "[]", '"email"', "42", "true"])],
    ]);
    const ev = this.events();
    const cli = [["id", idText], ["answers", answers]];
    const wasm = [["id", idText], ["answers", answers]];
    if (ev) {
      cli.push(["events", ev[0]]);
      wasm.push(["events", ev[1]]);
    }
    return { cli: obj(cli), wasm: obj(wasm) };
  }
}

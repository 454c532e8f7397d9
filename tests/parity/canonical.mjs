// Canonical JSON: keys sorted recursively, numbers as JavaScript writes them (the shortest text that reads
// back to the same double, so two numbers print alike exactly when they are the same double), and -0 kept
// apart from 0.

// Keys repeat from result to result (field, rule and group ids); their JSON text is kept.
const keyText = new Map();
function key(k) {
  let t = keyText.get(k);
  if (t === undefined) {
    t = JSON.stringify(k);
    if (keyText.size < 100000) keyText.set(k, t);
  }
  return t;
}

export function canonical(v) {
  switch (typeof v) {
    case "number":
      if (Object.is(v, -0)) return "-0";
      // String(n) is the shortest round-trip text, as JSON.stringify writes it. Non-finite numbers cannot
      // come out of JSON.parse; keep them visible if they ever do.
      return Number.isFinite(v) ? String(v) : `"<${v}>"`;
    case "string":
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      return '"<undefined>"';
    case "object": {
      if (v === null) return "null";
      if (Array.isArray(v)) {
        let s = "[";
        for (let i = 0; i < v.length; i++) s += (i ? "," : "") + canonical(v[i]);
        return s + "]";
      }
      const keys = Object.keys(v).sort();
      let s = "{";
      for (let i = 0; i < keys.length; i++) s += (i ? "," : "") + key(keys[i]) + ":" + canonical(v[keys[i]]);
      return s + "}";
    }
    default:
      return `"<${typeof v}>"`;
  }
}

function kind(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function pathPart(base, key) {
  if (typeof key === "number") return `${base}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** Where two JSON values differ: up to `limit` entries `{path, a, b}` (canonical texts; `a`/`b` absent
 * when the key is missing on that side). */
export function differences(a, b, limit = 5, path = "$", out = []) {
  if (out.length >= limit) return out;
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb || (ka !== "object" && ka !== "array")) {
    if (canonical(a) !== canonical(b)) out.push({ path, a: canonical(a), b: canonical(b) });
    return out;
  }
  if (ka === "array") {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n && out.length < limit; i++) {
      if (i >= a.length) out.push({ path: pathPart(path, i), b: canonical(b[i]) });
      else if (i >= b.length) out.push({ path: pathPart(path, i), a: canonical(a[i]) });
      else differences(a[i], b[i], limit, pathPart(path, i), out);
    }
    return out;
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    if (out.length >= limit) break;
    const ha = Object.hasOwn(a, k);
    const hb = Object.hasOwn(b, k);
    if (!hb) out.push({ path: pathPart(path, k), a: canonical(a[k]) });
    else if (!ha) out.push({ path: pathPart(path, k), b: canonical(b[k]) });
    else differences(a[k], b[k], limit, pathPart(path, k), out);
  }
  return out;
}

/** A path with array indexes blanked, to group differences by where they are. */
export function pathShape(path) {
  return path.replace(/\[\d+\]/g, "[]");
}

// SVG charts of the playground, built with DOM calls only (no markup strings): the backtest's histogram and the
// planner's funnel.

const NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes and, optionally, text. */
export function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** About `count` round tick values from 0 to `max`. */
export function ticks(max, count = 5) {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });

/**
 * A stacked histogram of won and lost leads by score. `bins`: [{from, to, won, lost}]; `lines`:
 * [{x, label, dashed}] vertical markers (thresholds).
 */
export function histogram({ bins, lines = [], title = "Leads by score" }) {
  const W = 760;
  const H = 350;
  const m = { top: 76, right: 16, bottom: 48, left: 56 };
  const svg = el("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "pg-chart pg-histogram",
    role: "img",
    "aria-label": title,
  });
  svg.append(el("title", {}, title));
  if (bins.length === 0) return svg;
  const x0 = bins[0].from;
  const x1 = bins[bins.length - 1].to;
  const total = (b) => b.won + b.lost + b.open;
  const yMax = Math.max(1, ...bins.map(total));
  const yTicks = ticks(yMax);
  const top = Math.max(yMax, yTicks[yTicks.length - 1]);
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const sx = (v) => m.left + ((v - x0) / (x1 - x0 || 1)) * pw;
  const sy = (v) => m.top + ph - (v / top) * ph;

  // Axes and ticks.
  const axes = el("g", { class: "pg-axis" });
  axes.append(el("line", { x1: m.left, y1: m.top + ph, x2: m.left + pw, y2: m.top + ph }));
  axes.append(el("line", { x1: m.left, y1: m.top, x2: m.left, y2: m.top + ph }));
  for (const t of yTicks) {
    axes.append(el("line", { x1: m.left - 4, y1: sy(t), x2: m.left, y2: sy(t) }));
    axes.append(el("line", { class: "pg-grid", x1: m.left, y1: sy(t), x2: m.left + pw, y2: sy(t) }));
    axes.append(el("text", { x: m.left - 8, y: sy(t) + 4, "text-anchor": "end" }, fmt.format(t)));
  }
  const span = x1 - x0;
  const step = ticks(span, 8)[1] ?? span;
  const first = Math.ceil(x0 / step) * step;
  for (let v = first; v <= x1 + 1e-9; v += step) {
    const value = Number(v.toPrecision(12));
    axes.append(el("line", { x1: sx(value), y1: m.top + ph, x2: sx(value), y2: m.top + ph + 4 }));
    axes.append(el("text", { x: sx(value), y: m.top + ph + 18, "text-anchor": "middle" }, fmt.format(value)));
  }
  axes.append(el("text", { class: "pg-axis-title", x: m.left + pw / 2, y: H - 8, "text-anchor": "middle" }, "Score"));
  axes.append(
    el("text", {
      class: "pg-axis-title",
      x: 14,
      y: m.top + ph / 2,
      "text-anchor": "middle",
      transform: `rotate(-90 14 ${m.top + ph / 2})`,
    }, "Leads"),
  );
  svg.append(axes);

  // Bars: lost at the bottom, won stacked on top.
  const bars = el("g", { class: "pg-bars" });
  for (const b of bins) {
    const x = sx(b.from) + 0.5;
    const w = Math.max(1, sx(b.to) - sx(b.from) - 1);
    const open = b.open ? `, ${b.open} open` : "";
    const label = `${fmt.format(b.from)} to ${fmt.format(b.to)}: ${b.won} won, ${b.lost} lost${open}`;
    const g = el("g", { class: "pg-bin" });
    g.append(el("title", {}, label));
    // Stacked from the axis up: lost, then open (no outcome yet), then won.
    let base = 0;
    for (const [cls, n] of [["pg-lost", b.lost], ["pg-open", b.open], ["pg-won", b.won]]) {
      if (n > 0) g.append(el("rect", { class: cls, x, y: sy(base + n), width: w, height: sy(base) - sy(base + n) }));
      base += n;
    }
    bars.append(g);
  }
  svg.append(bars);

  // Threshold lines; labels alternate rows so that close lines stay readable.
  const marks = el("g", { class: "pg-thresholds" });
  lines
    .filter((l) => Number.isFinite(l.x) && l.x >= x0 && l.x <= x1)
    .sort((a, b) => a.x - b.x)
    .forEach((l, i) => {
      const x = sx(l.x);
      // Neighbours take different rows above the plot, so that close thresholds keep readable labels.
      const y = 34 + (i % 3) * 14;
      const cls = l.dashed ? "pg-threshold pg-suggested" : "pg-threshold";
      marks.append(el("line", { class: cls, x1: x, y1: y + 3, x2: x, y2: m.top + ph, "data-threshold": l.x }));
      const anchor = x > W - 90 ? "end" : "start";
      marks.append(
        el("text", { class: l.dashed ? "pg-threshold-label pg-suggested-label" : "pg-threshold-label", x: anchor === "end" ? x - 3 : x + 3, y, "text-anchor": anchor }, l.label),
      );
    });
  svg.append(marks);

  // Legend.
  const legend = el("g", { class: "pg-legend", transform: `translate(${m.left}, 14)` });
  const items = [
    ["pg-won", "Won"],
    ["pg-lost", "Lost"],
  ];
  if (bins.some((b) => b.open)) items.push(["pg-open", "Open"]);
  items.forEach(([cls, text], i) => {
    legend.append(el("rect", { class: cls, x: i * 70, y: 0, width: 12, height: 12 }));
    legend.append(el("text", { x: i * 70 + 17, y: 10 }, text));
  });
  const x = items.length * 70 + 10;
  legend.append(el("line", { class: "pg-threshold", x1: x, y1: 6, x2: x + 22, y2: 6 }));
  legend.append(el("text", { x: x + 27, y: 10 }, "current threshold"));
  legend.append(el("line", { class: "pg-threshold pg-suggested", x1: x + 160, y1: 6, x2: x + 182, y2: 6 }));
  legend.append(el("text", { x: x + 187, y: 10 }, "suggested threshold"));
  svg.append(legend);
  return svg;
}

/** Horizontal bars for a funnel, on a logarithmic scale so that deals stay visible next to visitors. */
export function funnel(rows, title = "Funnel") {
  const W = 760;
  const rowH = 34;
  const left = 110;
  const right = 130;
  const H = rows.length * rowH + 24;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "pg-chart pg-funnel", role: "img", "aria-label": title });
  svg.append(el("title", {}, title));
  const max = Math.max(1, ...rows.map((r) => r.value));
  const scale = (v) => (v <= 0 ? 0 : (Math.log10(v + 1) / Math.log10(max + 1)) * (W - left - right));
  rows.forEach((r, i) => {
    const y = 8 + i * rowH;
    svg.append(el("text", { x: left - 8, y: y + 18, "text-anchor": "end" }, r.label));
    svg.append(el("rect", { class: "pg-funnel-bar", x: left, y, width: Math.max(2, scale(r.value)), height: rowH - 10 }));
    svg.append(el("text", { x: left + Math.max(2, scale(r.value)) + 6, y: y + 18 }, fmt.format(Math.round(r.value * 100) / 100)));
  });
  svg.append(el("text", { class: "pg-axis-title", x: left, y: H - 2 }, "Bar lengths on a logarithmic scale"));
  return svg;
}

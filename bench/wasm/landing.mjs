// The demo landing page in headless Chromium, as a visitor gets it: how long until the form controller drives
// the form (module and program fetched, compiled, attached), first visit and returning visit (HTTP cache), and
// what one keystroke costs (the `input` listener: every control read, the session updated, conditions, the
// DOM, the score outputs and sessionStorage).
//
//   bash scripts/build-www.sh && node bench/wasm/landing.mjs [--loads 20] [--inputs 400]
//
// Prints a Markdown table: medians over the page loads, and per-input times over the inputs.

import { serve } from "../../www/serve.mjs";
import { browser } from "../../tests/node/support.mjs";

const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const loads = arg("--loads", 20);
const inputs = arg("--inputs", 400);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const ms = (x) => `${x.toFixed(1)} ms`;

// Runs before the page's own scripts: notes when the controller is ready, relative to navigation start.
const probe = () => {
  document.addEventListener("leadscore:ready", () => {
    window.__ready = performance.now();
  });
};

const server = await serve({ port: 0, log: () => {} });
const chromium = await browser();
try {
  const first = [];
  const returning = [];
  for (let i = 0; i < loads; i++) {
    const context = await chromium.newContext();
    await context.addInitScript(probe);
    const page = await context.newPage();
    for (const into of [first, returning]) {
      await page.goto(server.origin + "/", { waitUntil: "load" });
      await page.waitForFunction(() => window.__ready !== undefined, null, { timeout: 20_000 });
      const t = await page.evaluate(() => {
        const nav = performance.getEntriesByType("navigation")[0];
        return { ready: window.__ready, dom: nav.domContentLoadedEventEnd };
      });
      into.push(t);
    }
    await context.close();
  }

  // Keystrokes: the number of employees typed again and again (it changes the score, the layout and the path).
  const context = await chromium.newContext();
  await context.addInitScript(probe);
  const page = await context.newPage();
  await page.goto(server.origin + "/");
  await page.waitForFunction(() => window.__ready !== undefined);
  const perInput = await page.evaluate((n) => {
    const form = document.querySelector("#lead-form");
    const field = form.elements.namedItem("employees");
    const email = form.elements.namedItem("email");
    email.value = "ana.rossi@shop.example";
    email.dispatchEvent(new Event("input", { bubbles: true }));
    const times = [];
    for (let i = 0; i < n; i++) {
      field.value = String(5 + ((i * 37) % 600));
      const t0 = performance.now();
      field.dispatchEvent(new Event("input", { bubbles: true }));
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(n / 2)], p90: times[Math.floor(n * 0.9)], max: times[n - 1] };
  }, inputs);
  await context.close();

  console.log(`| landing page, Chromium (${loads} loads) | median |`);
  console.log("|---|--:|");
  console.log(`| first visit: DOMContentLoaded | ${ms(median(first.map((t) => t.dom)))} |`);
  console.log(`| first visit: controller driving the form | ${ms(median(first.map((t) => t.ready)))} |`);
  console.log(`| returning visit: DOMContentLoaded | ${ms(median(returning.map((t) => t.dom)))} |`);
  console.log(`| returning visit: controller driving the form | ${ms(median(returning.map((t) => t.ready)))} |`);
  console.log(`| one keystroke (input event handled), median of ${inputs} | ${ms(perInput.median)} |`);
  console.log(`| one keystroke, 90th percentile / slowest | ${ms(perInput.p90)} / ${ms(perInput.max)} |`);
} finally {
  await chromium.close();
  await server.close();
}

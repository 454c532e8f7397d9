// The package's stylesheet (pkg/leadscore.css) on a themed page, in Debian's Chromium: the custom properties
// reach every element the controller creates (the computed styles), and the page looks it (the screenshot's
// pixels: the accent fills Next, Back stays on the surface with accent text, errors are red, the ending's
// buttons are spaced), and axe-core finds nothing at each screenshot. Screenshots go to target/e2e/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Scorer } from "../../pkg/node.js";
import { browser, pkg, root, serve } from "../node/support.mjs";
import { assertAccessible } from "./axe.mjs";

const shots = join(root, "target/e2e");
const THEME = { accent: [11, 110, 79], error: [192, 0, 0], surface: [255, 255, 255] };
const rgb = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>A themed form</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="leadscore.css">
  <style>
    body { margin: 24px; font: 16px/1.5 sans-serif; background: #fff; }
    [hidden] { display: none !important; }
    main {
      --leadscore-accent: ${rgb(THEME.accent)};
      --leadscore-error: ${rgb(THEME.error)};
      --leadscore-radius: 2px;
      --leadscore-space: 1.25rem;
    }
    #lead { width: 480px; }
    label { display: block; }
  </style>
</head>
<body>
  <main>
    <h1>Talk to us</h1>
    <form id="lead" action="/collect" method="post">
      <div data-leadscore-progress></div>
      <fieldset data-step="who"><legend>Who you are</legend>
        <div data-field="email"><label for="email">Email</label><input id="email" type="email" name="email"></div>
        <fieldset data-field="role"><legend>You are</legend>
          <label><input type="radio" name="role" value="buyer"> buying for a company</label>
          <label><input type="radio" name="role" value="student"> a student</label>
        </fieldset>
      </fieldset>
      <fieldset data-step="org"><legend>Your company</legend>
        <div data-field="company"><label for="company">Company</label><input id="company" name="company"></div>
      </fieldset>
      <button type="submit">Send</button>
    </form>
  </main>
  <script type="module">
    import init, { attach } from "./form.js";
    await init();
    const bytes = new Uint8Array(await (await fetch("knockout.lsp")).arrayBuffer());
    window.handle = attach(document.getElementById("lead"), bytes, { onSubmit: () => Promise.resolve() });
  </script>
</body>
</html>`;

let dir;
let site;
let chromium;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "leadscore-style-"));
  for (const f of ["form.js", "form_bg.wasm", "leadscore.css"]) await copyFile(join(pkg, f), join(dir, f));
  const model = await readFile(new URL("./fixtures/knockout.json", import.meta.url), "utf8");
  await writeFile(join(dir, "knockout.lsp"), new Scorer(model).toBytes());
  await writeFile(join(dir, "index.html"), PAGE);
  await mkdir(shots, { recursive: true });
  site = await serve(dir);
  chromium = await browser();
});

after(async () => {
  await chromium?.close();
  await site?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Takes a screenshot of `selector` (saved as target/e2e/NAME.png) and, for each of `boxes` (CSS selectors of
 * elements inside it), the share of its pixels within 24 of a colour of `colours` in each channel. The PNG is
 * decoded by the browser itself, on a canvas.
 */
async function shares(page, selector, name, boxes, colours) {
  await assertAccessible(page, name);
  const png = await page.locator(selector).screenshot({ path: join(shots, `${name}.png`) });
  const base = await page.locator(selector).boundingBox();
  const rects = {};
  for (const b of boxes) {
    const r = await page.locator(b).first().boundingBox();
    assert.ok(r, `${b} is shown`);
    rects[b] = { x: Math.round(r.x - base.x), y: Math.round(r.y - base.y), w: Math.round(r.width), h: Math.round(r.height) };
  }
  return page.evaluate(
    async ({ data, rects, colours }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${data}`;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const out = {};
      for (const [key, r] of Object.entries(rects)) {
        const px = ctx.getImageData(r.x, r.y, r.w, r.h).data;
        out[key] = {};
        for (const [cname, c] of Object.entries(colours)) {
          let n = 0;
          for (let i = 0; i < px.length; i += 4) {
            if (Math.abs(px[i] - c[0]) <= 24 && Math.abs(px[i + 1] - c[1]) <= 24 && Math.abs(px[i + 2] - c[2]) <= 24) n++;
          }
          out[key][cname] = n / (px.length / 4);
        }
      }
      return out;
    },
    { data: png.toString("base64"), rects, colours },
  );
}

test("leadscore.css on a themed page: progress, Next and Back, errors, the ending, all in the theme", async () => {
  const page = await chromium.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(site.url + "/");
  await page.waitForFunction(() => window.handle !== undefined, null, { timeout: 20000 });

  const style = (sel, ...props) =>
    page.$eval(sel, (e, ps) => Object.fromEntries(ps.map((p) => [p, getComputedStyle(e)[p]])), props);
  // The progress bar: the accent on the border colour's track.
  assert.equal(await page.textContent(".leadscore-progress-text"), "Step 1 of 2");
  assert.equal((await style(".leadscore-progress-bar", "color")).color, rgb(THEME.accent));
  // Next is primary, in the accent; Back (hidden on the first step) is secondary.
  assert.deepEqual(await style(".leadscore-next", "backgroundColor", "color", "borderTopLeftRadius"), {
    backgroundColor: rgb(THEME.accent),
    color: "rgb(255, 255, 255)",
    borderTopLeftRadius: "2px",
  });
  assert.deepEqual(await style(".leadscore-back", "backgroundColor", "color"), {
    backgroundColor: rgb(THEME.surface),
    color: rgb(THEME.accent),
  });

  // Next with nothing answered: red messages under the fields.
  await page.click(".leadscore-next");
  await page.waitForSelector(".leadscore-error:not([hidden])");
  assert.equal((await style(".leadscore-error", "color")).color, rgb(THEME.error));
  assert.equal(await page.$eval("[data-field=email]", (e) => e.classList.contains("leadscore-invalid")), true);
  assert.equal((await style("#email", "borderTopColor")).borderTopColor, rgb(THEME.error));
  let s = await shares(page, "#lead", "style-themed-errors", [".leadscore-next", ".leadscore-error"], THEME);
  assert.ok(s[".leadscore-next"].accent > 0.5, `Next is filled with the accent: ${JSON.stringify(s)}`);
  assert.ok(s[".leadscore-error"].error > 0.005, `the message is drawn in red: ${JSON.stringify(s)}`);

  // The second step shows Back: the surface inside, the accent only on its border and text.
  await page.fill("#email", "ann@acme.example");
  await page.check("input[value=buyer]");
  await page.click(".leadscore-next");
  await page.waitForSelector(".leadscore-back:not([hidden])");
  assert.equal(await page.textContent(".leadscore-progress-text"), "Step 2 of 2");
  s = await shares(page, "#lead", "style-themed-step2", [".leadscore-back"], THEME);
  assert.ok(s[".leadscore-back"].surface > 0.5, `Back is on the surface: ${JSON.stringify(s)}`);
  assert.ok(s[".leadscore-back"].accent > 0.08 && s[".leadscore-back"].accent < 0.5, `Back's border: ${JSON.stringify(s)}`);

  // A student: the knockout's ending, with its action and "Edit my answers" side by side, apart.
  await page.click(".leadscore-back");
  await page.check("input[value=student]");
  await page.click(".leadscore-next");
  await page.waitForSelector(".leadscore-ending:not([hidden])");
  assert.equal((await style(".leadscore-ending-title", "marginTop")).marginTop, "0px");
  const action = await page.locator(".leadscore-action").boundingBox();
  const edit = await page.locator(".leadscore-edit").boundingBox();
  assert.ok(edit.x - (action.x + action.width) >= 12, `the buttons are spaced: ${JSON.stringify({ action, edit })}`);
  s = await shares(page, ".leadscore-ending", "style-themed-ending", [".leadscore-action", ".leadscore-edit"], THEME);
  assert.ok(s[".leadscore-action"].accent > 0.5, `the action is primary: ${JSON.stringify(s)}`);
  assert.ok(s[".leadscore-edit"].surface > 0.5, `Edit is secondary: ${JSON.stringify(s)}`);

  // Detached, the form is the page's again.
  await page.evaluate(() => window.handle.detach());
  assert.equal(await page.$eval("#lead", (f) => f.classList.contains("leadscore-active")), false);
  assert.equal(await page.$$eval(".leadscore-next, .leadscore-progress-bar", (l) => l.length), 0);
  assert.deepEqual(problems, []);
  await page.close();
});

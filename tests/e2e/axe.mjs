// Accessibility checks with axe-core (an npm dev dependency), injected into the page under test: the rules of
// WCAG 2.1 levels A and AA, and axe's best practices (content inside landmarks, one main landmark, heading
// order...). A violation fails the test with the rule, its impact and the elements it found.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../node/support.mjs";

const source = readFileSync(join(root, "node_modules/axe-core/axe.min.js"), "utf8");
export const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/** The violations axe-core finds in the page as it is now, one line per rule and element. */
export async function violations(page) {
  // Evaluated through the debugging protocol, not as a <script>: the page's security policy does not apply.
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(`${source}\n;true`);
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
    TAGS,
  );
  return result.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")}: ${n.failureSummary.replace(/\s*\n\s*/g, " ")}`),
  );
}

/** Fails when axe-core finds anything; `where` names the state of the page in the message. */
export async function assertAccessible(page, where) {
  const found = await violations(page);
  assert.deepEqual(found, [], `axe-core found ${found.length} violation(s) at ${where}:\n${found.join("\n")}`);
}

/** `page.screenshot(options)` once axe-core has found nothing on the page (`options.path` names it). */
export async function checkedScreenshot(page, options) {
  await assertAccessible(page, options.path);
  return page.screenshot(options);
}

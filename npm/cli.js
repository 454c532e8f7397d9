#!/usr/bin/env node
// `npx leadscore build model.json [-o model.lsp]`: compiles a rules document into the program a landing page
// loads, with no Rust toolchain, through the package's full build. It prints what the command-line tool
// prints (the same located diagnostics, from the same engine) and exits as it does: 0 when the program was
// written, 2 with "error: ..." otherwise.
import { readFileSync, writeFileSync } from "node:fs";
import { parse, format } from "node:path";
import { parseArgs } from "node:util";
import { Scorer, formatDiagnostics } from "./node.js";

const USAGE = `Usage: leadscore build <MODEL> [-o <OUTPUT>]

Compiles the rules document MODEL (JSON) into the program a landing page loads (leadscore/runtime,
leadscore/form). OUTPUT defaults to MODEL with the extension .lsp. Errors are printed with their line,
column and JSON pointer, and nothing is written.

Options:
  -o, --output <OUTPUT>  where to write the program
  -h, --help             this text
`;

function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { output: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    return fail(`${e.message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command, model, ...rest] = positionals;
  if (command !== "build" || model === undefined || rest.length > 0) {
    return fail(`${command && command !== "build" ? `unknown command \`${command}\`` : "name the model"}\n\n${USAGE}`);
  }
  let text;
  try {
    text = readFileSync(model, "utf8");
  } catch (e) {
    return fail(`cannot read ${model}: ${e.message}`);
  }
  let scorer;
  try {
    scorer = new Scorer(text);
  } catch (e) {
    if (e?.name !== "LeadscoreError") throw e;
    const errors = e.diagnostics.filter((d) => d.severity === "error").length;
    process.stderr.write(formatDiagnostics(text, model));
    return fail(`${model} has ${errors} error(s); run \`leadscore check ${model}\``);
  }
  const bytes = scorer.toBytes();
  const { dir, name } = parse(model);
  const out = values.output ?? format({ dir, name, ext: ".lsp" });
  try {
    writeFileSync(out, bytes);
  } catch (e) {
    return fail(`cannot write ${out}: ${e.message}`);
  }
  const size = Buffer.byteLength(text, "utf8");
  process.stderr.write(`wrote ${out}: ${bytes.length} bytes (the document: ${size} bytes); rules hash ${scorer.hash}\n`);
  return 0;
}

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));

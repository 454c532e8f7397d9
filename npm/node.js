// Node entry point: the same module as in the browser, instantiated synchronously from the file beside it,
// so a server can import the package and use it at once. `init()` resolves immediately.
import { readFileSync } from "node:fs";
import { initSync } from "./leadscore.js";

initSync({ module: readFileSync(new URL("./leadscore_bg.wasm", import.meta.url)) });

export * from "./leadscore.js";
export { default } from "./leadscore.js";

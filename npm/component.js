// What the framework components (react.js, vue.js) share, with no framework in it: the form build loaded once
// per page, the program fetched or taken as bytes, and attach() with callbacks that always reach the
// component's latest props. Nothing here runs at import: a server rendering the components never loads the
// module or touches `window`.
import init, { attach } from "./form.js";

let ready;

/** The program's bytes: fetched from a URL (a string or a URL), or given as a Uint8Array or an ArrayBuffer. */
async function bytesOf(program) {
  if (program instanceof Uint8Array) return program;
  if (program instanceof ArrayBuffer) return new Uint8Array(program);
  if (typeof program === "string" || program instanceof URL) {
    const res = await fetch(program);
    if (!res.ok) throw new Error(`leadscore: ${program}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  throw new TypeError(
    `leadscore: \`program\` must be a URL (a string or a URL) or the program's bytes (a Uint8Array or an ArrayBuffer), not ${program === null ? "null" : typeof program}`,
  );
}

/**
 * Attaches the controller to `form` once the module and the program are loaded. `options` are attach()'s
 * options that JSON can carry; `props()` returns the component's current props, whose `onEnding` and
 * `onSubmit` the controller calls (`onSubmit` only when the component had one when it attached: without it the
 * form is sent as its `submit` option says).
 */
export async function start(form, program, options, props) {
  ready ??= init();
  const [, bytes] = await Promise.all([ready, bytesOf(program)]);
  const opts = { ...options };
  opts.onEnding = (outcome) => props().onEnding?.(outcome);
  if (props().onSubmit) opts.onSubmit = (outcome, data) => props().onSubmit?.(outcome, data);
  return attach(form, bytes, opts);
}

/** What a component does when the form build or the program cannot load: the form stays a plain form. */
export function failed(error, onError) {
  if (onError) onError(error);
  else console.error(`leadscore: the form stays a plain form: ${error && error.message}`);
}

/** A key that changes when the options' content does (not on every render's new object). */
export const optionsKey = (options) => JSON.stringify(options ?? {});

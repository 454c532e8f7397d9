import type { DefineComponent, PropType } from "vue";
import type { LeadscoreComponentProps as P } from "./component.js";

export type { LeadscoreProgram, LeadscoreOptions, LeadscoreComponentProps as LeadscoreFormProps } from "./component.js";

/** A `<form>` driven by the form controller: attached after mounting, detached before unmounting; a plain
 * `<form>` on the server. Its exposed `handle()` returns the handle, or null before it is attached. */
export declare const LeadscoreForm: DefineComponent<{
  program: { type: PropType<P["program"]>; required: true };
  options: { type: PropType<NonNullable<P["options"]>> };
  onEnding: { type: PropType<NonNullable<P["onEnding"]>> };
  onSubmit: { type: PropType<NonNullable<P["onSubmit"]>> };
  onReady: { type: PropType<NonNullable<P["onReady"]>> };
  onError: { type: PropType<NonNullable<P["onError"]>> };
}>;

import type { FormHandle, FormOptions, FormOutcome } from "./form.js";

/** The program a `<LeadscoreForm>` loads: its URL, or its bytes (`leadscore build`, `Scorer.toBytes()`). Keep it
 * stable across renders: a new value detaches the controller and attaches it again. */
export type LeadscoreProgram = string | URL | Uint8Array | ArrayBuffer;

/** `attach()`'s options that JSON can carry (the callbacks are the component's own props). A change of their
 * content re-attaches. */
export type LeadscoreOptions = Omit<FormOptions, "onSubmit" | "onEnding">;

/** The props both components share. */
export interface LeadscoreComponentProps {
  program: LeadscoreProgram;
  options?: LeadscoreOptions;
  /** Each time the form shows an ending (a stage's after sending, a knockout's); Vue: `@ending`. */
  onEnding?: (outcome: FormOutcome) => void;
  /** Sends the lead instead of the controller (see `FormOptions.onSubmit`); taken into account when attaching. */
  onSubmit?: (outcome: FormOutcome, data: FormData) => unknown;
  /** The controller is attached: its handle, to listen to events, set background fields, record events; Vue:
   * `@ready`. */
  onReady?: (handle: FormHandle) => void;
  /** The form build or the program could not load; the form stays a plain form. Default: console.error; Vue:
   * `@error`. */
  onError?: (error: Error) => void;
}

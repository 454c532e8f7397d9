import type { DefineComponent, PropType } from "vue";
import type { FormHandle, FormOptions, FormOutcome } from "./form.js";

/** The program a `<LeadscoreForm>` loads: its URL, or its bytes (`leadscore build`, `Scorer.toBytes()`). A new
 * value detaches the controller and attaches it again. */
export type LeadscoreProgram = string | URL | Uint8Array | ArrayBuffer;

export interface LeadscoreFormProps {
  program: LeadscoreProgram;
  /** `attach()`'s options that JSON can carry. A change of their content re-attaches. */
  options?: Omit<FormOptions, "onSubmit" | "onEnding">;
  /** `@ending`: each time the form shows an ending (a stage's after sending, a knockout's). */
  onEnding?: (outcome: FormOutcome) => void;
  /** Sends the lead instead of the controller (see `FormOptions.onSubmit`); taken into account when attaching. */
  onSubmit?: (outcome: FormOutcome, data: FormData) => unknown;
  /** `@ready`: the controller is attached, with its handle. */
  onReady?: (handle: FormHandle) => void;
  /** `@error`: the form build or the program could not load; the form stays a plain form. */
  onError?: (error: Error) => void;
}

/** A `<form>` driven by the form controller: attached after mounting, detached before unmounting; a plain
 * `<form>` on the server. Its exposed `handle()` returns the handle, or null before it is attached. */
export declare const LeadscoreForm: DefineComponent<{
  program: { type: PropType<LeadscoreProgram>; required: true };
  options: { type: PropType<Omit<FormOptions, "onSubmit" | "onEnding">> };
  onEnding: { type: PropType<(outcome: FormOutcome) => void> };
  onSubmit: { type: PropType<(outcome: FormOutcome, data: FormData) => unknown> };
  onReady: { type: PropType<(handle: FormHandle) => void> };
  onError: { type: PropType<(error: Error) => void> };
}>;

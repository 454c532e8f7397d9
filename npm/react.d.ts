import type { FormHTMLAttributes, ForwardRefExoticComponent, ReactNode, RefAttributes } from "react";
import type { FormHandle, FormOptions, FormOutcome } from "./form.js";

/** The program a `<LeadscoreForm>` loads: its URL, or its bytes (`leadscore build`, `Scorer.toBytes()`). Keep it
 * stable across renders: a new value detaches the controller and attaches it again. */
export type LeadscoreProgram = string | URL | Uint8Array | ArrayBuffer;

export interface LeadscoreFormProps extends Omit<FormHTMLAttributes<HTMLFormElement>, "onSubmit" | "onError"> {
  program: LeadscoreProgram;
  /** `attach()`'s options that JSON can carry. A change of their content re-attaches. */
  options?: Omit<FormOptions, "onSubmit" | "onEnding">;
  /** Each time the form shows an ending (a stage's after sending, a knockout's). */
  onEnding?: (outcome: FormOutcome) => void;
  /** Sends the lead instead of the controller (see `FormOptions.onSubmit`); taken into account when attaching. */
  onSubmit?: (outcome: FormOutcome, data: FormData) => unknown;
  /** The controller is attached: its handle, to listen to events, set background fields, record events. */
  onReady?: (handle: FormHandle) => void;
  /** The form build or the program could not load; the form stays a plain form. Default: console.error. */
  onError?: (error: Error) => void;
  children?: ReactNode;
}

/** A `<form>` driven by the form controller: attached after mounting, detached on unmount; a plain `<form>` on
 * the server. Its ref is the `<form>` element. */
export declare const LeadscoreForm: ForwardRefExoticComponent<LeadscoreFormProps & RefAttributes<HTMLFormElement>>;

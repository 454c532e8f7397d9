import type { FormHTMLAttributes, ForwardRefExoticComponent, ReactNode, RefAttributes } from "react";
import type { LeadscoreComponentProps } from "./component.js";

export type { LeadscoreProgram, LeadscoreOptions } from "./component.js";

export interface LeadscoreFormProps
  extends Omit<FormHTMLAttributes<HTMLFormElement>, "onSubmit" | "onError">,
    LeadscoreComponentProps {
  children?: ReactNode;
}

/** A `<form>` driven by the form controller: attached after mounting, detached on unmount; a plain `<form>` on
 * the server. Its ref is the `<form>` element. */
export declare const LeadscoreForm: ForwardRefExoticComponent<LeadscoreFormProps & RefAttributes<HTMLFormElement>>;

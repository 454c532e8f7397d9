//! The form controller: drives an existing HTML `<form>` from a compiled program. One step at a time, the
//! model's conditions re-evaluated on every input, the live score written into the page, unwanted visitors
//! stopped before anything is sent, qualified leads submitted with their score.
//!
//! The page's markup stays the source of truth for what the visitor typed: answers are read from the
//! controls the way the browser submits them, so that what is scored is exactly what is sent. A field the
//! model hides, or makes read-only, is disabled: the browser neither validates nor submits it, and the
//! session does not count it. Its value stays in the control (and in `sessionStorage`), so nothing typed is
//! lost when it comes back.
//!
//! Every entry point from the page (listeners, handle methods) borrows the controller's state with
//! `try_borrow_mut` and does nothing when it is busy, and JS callbacks run only after the borrow ends, so a
//! callback that calls back into the handle cannot panic.

mod analytics;
mod attribution;
mod dom;
mod events;
mod flow;
mod options;
mod page;
mod persist;
mod submit;
mod texts;
mod view;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    CustomEvent, CustomEventInit, Document, Element, Event, EventTarget, HtmlElement, HtmlFormElement,
    HtmlInputElement, Storage,
};

use self::attribution::{Touch, ATTRIBUTION_KEY};
use self::dom::{describe, html, make, visually_hidden, Control};
use self::events::parse_token;
use self::flow::set_values;
use self::submit::random_key;
use self::texts::{fill, Texts};
use super::{json_js, walk};
use crate::form::{FormState, Leave};
use crate::model::{FieldType, Text};
use crate::Program;

#[wasm_bindgen(typescript_custom_section)]
const FORM_TYPES: &'static str = r#"
/** Options of `attach()`; each can also be given as an attribute of the `<form>` (in brackets). */
export interface FormOptions {
  /** Language of the controller's texts and of the model's texts [`data-leadscore-lang`]; default: the page's `lang`. */
  locale?: string;
  /** Replacements of the controller's texts: `next`, `back`, `progress` ("Step {n} of {total}"), `step`
   * ("Step {n} of {total}: {title}", announced), `required`, `invalid`, `errors` ("... ({count})"), `sending`,
   * `failed`, `edit`, `sent` (the thanks when the model has no ending). */
  texts?: Partial<Record<"next" | "back" | "progress" | "step" | "required" | "invalid" | "errors" | "sending" | "failed" | "edit" | "sent", string>>;
  /** How a qualified lead is sent [`data-leadscore-submit`]: `"native"` (default) submits the form normally;
   * `"fetch"` posts it to the form's action and shows the stage's ending in the page. */
  submit?: "native" | "fetch";
  /** Sends the lead instead (no request is made by the controller): called with the outcome and the form's data,
   * hidden score inputs included. A returned promise that rejects keeps the form as it is. */
  onSubmit?: (outcome: FormOutcome, data: FormData) => unknown;
  /** Called with the outcome each time the form shows an ending (a stage's after sending, a knockout's), as
   * `on("ending")`: `outcome.ending` has its action link with the answers filled in, for an inline booking embed. */
  onEnding?: (outcome: FormOutcome) => void;
  /** Skip the remaining steps whose answers cannot change the stage or the disqualification [`data-leadscore-early-finish`]. */
  earlyFinish?: boolean;
  /** Whether the visitor agreed to behaviour tracking; default: their answer to the page's consent banner,
   * kept in localStorage. Events are stored and counted only with consent. */
  consent?: boolean;
  /** Push GA4-style events to the page's data layer [`data-leadscore-datalayer`, its value a layer's name]: `true`
   * for `window.dataLayer`, or another layer's name. `leadscore_step`, `generate_lead` (`value`: the score,
   * `currency`, `stage`), `leadscore_disqualified` (`reason`: the knockout's id) and `leadscore_sent`, each with an
   * `event_id` to deduplicate; never an answer. */
  dataLayer?: boolean | string;
  /** The currency of `generate_lead`'s value (`EUR`) [`data-leadscore-currency`]. */
  currency?: string;
  /** Keep answers in sessionStorage across reloads until the form is sent (default true) [`data-leadscore-persist="false"`]. */
  persist?: boolean;
  /** Prefix of the hidden inputs added on submit (default `leadscore_`): `score`, `groups` (JSON), `stage`, `grade`,
   * `rules` (comma-separated), `hash`, `at` (ms since 1970), `events` (JSON `[{type, at, token?}]`, `token` for an
   * event the site vouched for with `data-leadscore-event-token` or `record(event, token)`), `key` (a random
   * idempotency key: the same for every attempt to send this fill, across reloads, retries and double clicks; a
   * new one after a successful send), `started` (ms since 1970 when this fill started, kept across reloads: for
   * a minimum fill time), `consent` (`yes` or `no`, the visitor's answer to the consent banner; empty when not
   * asked), and `issues` (JSON
   * `[{field, code, message}]`: background values cut to their field's `max_length` (code `truncated`) or dropped
   * because the engine refused them (its code), which never block the lead). */
  fieldPrefix?: string;
}

/** Where the form is and what the answers give so far: the detail of every event. */
export interface FormOutcome {
  /** The step shown, or null (no steps, or the form ended). */
  step: string | null;
  /** The steps on the visitor's path now. */
  steps: string[];
  /** 1-based position of the step on the path. */
  stepNumber: number;
  score: number;
  groups: { [group: string]: number };
  /** Stage id, or `disqualified`. */
  stage: string;
  stageLabel: string | null;
  /** The grade (`cell` when the model has a matrix), or null when the model has none: as `Evaluation.grade`. */
  grade: { letter: string; cell?: string } | null;
  /** Rules that gave points. */
  fired: string[];
  /** The knockout that holds, if any, and its reason. */
  knockout: string | null;
  reason: string | null;
  /** The form ended (sent, or stopped by a knockout). */
  ended: boolean;
  /** The ending shown, or null: its key (`stage:<id>`, `knockout:<reason>`), texts in the form's locale, and its
   * action, whose `url` has the placeholders (`{email}`) filled with the answers, URL-encoded. */
  ending: { key: string; title: string | null; message: string | null; action: { label: string; url: string } | null } | null;
  rulesHash: string;
  /** When the outcome was computed, in milliseconds since 1970. */
  at: number;
}

/** What `FormHandle.on()` listens to; the same events are dispatched on the form as `leadscore:<type>`
 * CustomEvents whose `detail` is a `FormOutcome`. `qualified` is cancelable: cancel it to send the lead yourself.
 * `ending`: the form shows an ending (see `FormOutcome.ending`). */
export type FormEventType = "step" | "score" | "qualified" | "disqualified" | "sent" | "ending";
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "FormOptions")]
    pub type JsFormOptions;
    #[wasm_bindgen(typescript_type = "FormOutcome")]
    pub type JsFormOutcome;
    #[wasm_bindgen(typescript_type = "FormEventType")]
    pub type JsFormEventType;
    #[wasm_bindgen(typescript_type = "(outcome: FormOutcome) => void")]
    pub type JsFormListener;
    #[wasm_bindgen(typescript_type = "() => void")]
    pub type JsUnsubscribe;
    #[wasm_bindgen(typescript_type = "HTMLFormElement")]
    pub type JsForm;
    #[wasm_bindgen(typescript_type = "Uint8Array")]
    pub type JsProgramBytes;
}

thread_local! {
    /// Attached controllers: kept alive by the page's listeners, not by the handle JS may drop.
    static LIVE: RefCell<Vec<Rc<Ctl>>> = const { RefCell::new(Vec::new()) };
}

/// Attaches the controller to `form`, with a program compiled ahead of time.
#[wasm_bindgen]
pub fn attach(form: JsForm, program: JsProgramBytes, options: Option<JsFormOptions>) -> Result<FormHandle, JsValue> {
    let form = form_arg(form)?;
    let Some(program) = program.dyn_ref::<js_sys::Uint8Array>() else {
        return Err(super::args::type_error("program", "a Uint8Array (a compiled program)", &program));
    };
    super::args::opt_object(options.as_deref(), "options")?;
    match Program::from_bytes(&program.to_vec()) {
        Ok(p) => attach_program(form, Rc::new(p), options.map(Into::into).unwrap_or(JsValue::UNDEFINED)),
        Err(e) => Err(js_sys::Error::new(&format!("leadscore: not a compiled program of this version: {e}")).into()),
    }
}

/// The form an `attach` was given, or a `TypeError` naming `form`.
pub(crate) fn form_arg(form: JsForm) -> Result<HtmlFormElement, JsValue> {
    let v: JsValue = form.into();
    v.dyn_into::<HtmlFormElement>().map_err(|v| super::args::type_error("form", "an HTMLFormElement", &v))
}

pub(crate) fn attach_program(form: HtmlFormElement, p: Rc<Program>, options: JsValue) -> Result<FormHandle, JsValue> {
    let ctl = Rc::new(Ctl { st: RefCell::new(None), callbacks: RefCell::new(vec![]), next_id: Default::default() });
    let st = St::new(form, p, &options, Rc::downgrade(&ctl))
        .ok_or_else(|| JsValue::from(js_sys::Error::new("leadscore: the form is not in a document")))?;
    *ctl.st.borrow_mut() = Some(st);
    if let Ok(f) = opt(&options, "onEnding").dyn_into::<Function>() {
        ctl.callbacks.borrow_mut().push((u32::MAX, "ending".into(), f));
    }
    LIVE.with(|l| l.borrow_mut().push(ctl.clone()));
    let emits = ctl.with(|st| st.start()).unwrap_or_default();
    ctl.emit(emits);
    Ok(FormHandle { ctl })
}

/// A form driven by leadscore.
#[wasm_bindgen]
pub struct FormHandle {
    ctl: Rc<Ctl>,
}

#[wasm_bindgen]
impl FormHandle {
    /// Calls `listener` on each event of `type`; returns a function that stops it.
    pub fn on(&self, r#type: JsFormEventType, listener: JsFormListener) -> Result<JsUnsubscribe, JsValue> {
        let kind = super::args::string(&r#type, "type")?;
        if !listener.is_function() {
            return Err(super::args::type_error("listener", "a function", &listener));
        }
        let id = self.ctl.next_id.get();
        self.ctl.next_id.set(id + 1);
        self.ctl.callbacks.borrow_mut().push((id, kind, listener.unchecked_into()));
        let weak = Rc::downgrade(&self.ctl);
        // Removes this registration only; calling it again does nothing.
        let stop = Closure::<dyn FnMut()>::new(move || {
            if let Some(c) = weak.upgrade() {
                if let Ok(mut cbs) = c.callbacks.try_borrow_mut() {
                    cbs.retain(|(i, _, _)| *i != id);
                }
            }
        });
        Ok(stop.into_js_value().unchecked_into())
    }

    /// Sets a background field: one the visitor does not answer (its only controls are hidden inputs, or it has
    /// none in the page), with a value the page knows (CRM data, enrichment, a cookie). `value`: a string, a
    /// number or a boolean; an array of strings for a multi field; `null` or `undefined` clears it. The engine
    /// checks it as a typed answer: a refused value is left out and its issue returned (as `Session.set`);
    /// otherwise `undefined`. Throws for a field of another model or one the visitor answers in the form.
    pub fn set(&self, field: super::JsStr, value: super::JsAnswerValue) -> Result<super::JsIssueOrUndefined, JsValue> {
        let field = super::args::string(&field, "field")?;
        let values: Vec<String> = if value.is_undefined() || value.is_null() {
            vec![]
        } else if let Some(s) = value.as_string() {
            vec![s]
        } else if let Some(n) = value.as_f64() {
            vec![crate::host::Js(n).to_string()]
        } else if let Some(b) = value.as_bool() {
            vec![b.to_string()]
        } else {
            let strings: Option<Vec<String>> =
                value.dyn_ref::<Array>().and_then(|a| a.iter().map(|x| x.as_string()).collect());
            strings
                .ok_or_else(|| super::args::type_error("value", "a string, number, boolean or string array", &value))?
        };
        let mut out = Err("leadscore: the form is busy or detached".to_string());
        self.ctl.run(|st| {
            out = st.set_field(&field, &values);
            match out {
                Ok(_) => st.on_input(),
                Err(_) => (false, vec![]),
            }
        });
        match out {
            Ok(r) => Ok(super::issue_js(r)),
            Err(m) => Err(js_sys::Error::new(&format!("leadscore: set: {m}")).into()),
        }
    }

    /// Goes to the next step as the Next button does (validating the step first); `false` when it did not move.
    pub fn next(&self) -> bool {
        self.ctl.run(|st| st.next())
    }

    /// Goes back one step on the path.
    pub fn back(&self) -> bool {
        self.ctl.run(|st| st.back())
    }

    /// Records a behaviour event (`pricing_view`, `demo_request`...) now; stored and counted only with consent.
    /// With an event token the site handed out (`v1.<event>.<at_ms>.<nonce>.<signature>`, signed by its backend
    /// and verified by its server), the event is recorded at the token's time and the token is sent with it; the
    /// same token counts once, across reloads. Returns `false` for an event the model does not know, or a token
    /// that is not one of `event`.
    pub fn record(&self, event: super::JsStr, token: Option<super::JsStr>) -> Result<bool, JsValue> {
        let event = super::args::string(&event, "event")?;
        let token = super::args::opt_string(token, "token")?;
        Ok(self.ctl.run(|st| st.record(&event, token)))
    }

    /// Gives or withdraws consent to behaviour tracking (withdrawing deletes what was stored).
    pub fn consent(&self, granted: super::JsBool) -> Result<(), JsValue> {
        let granted = super::args::boolean(&granted, "granted")?;
        self.ctl.run(|st| {
            st.set_consent(granted);
            (true, vec![Emit::Score])
        });
        Ok(())
    }

    /// The outcome so far.
    pub fn outcome(&self) -> JsFormOutcome {
        self.ctl.with(|st| st.detail()).unwrap_or(JsValue::NULL).unchecked_into()
    }

    /// Stops driving the form: listeners removed, every step and field shown and enabled again.
    pub fn detach(&self) {
        if let Ok(mut slot) = self.ctl.st.try_borrow_mut() {
            if let Some(st) = slot.take() {
                st.teardown();
            }
        }
        LIVE.with(|l| l.borrow_mut().retain(|c| !Rc::ptr_eq(c, &self.ctl)));
    }
}

/// What to tell the page after a change.
#[derive(Clone, Copy, PartialEq)]
enum Emit {
    Step,
    Score,
    Disqualified,
    Sent,
    Ending,
}

impl Emit {
    fn name(self) -> &'static str {
        match self {
            Emit::Step => "step",
            Emit::Score => "score",
            Emit::Disqualified => "disqualified",
            Emit::Sent => "sent",
            Emit::Ending => "ending",
        }
    }
}

struct Ctl {
    st: RefCell<Option<St>>,
    /// The handle's listeners: registration id, event type, function.
    callbacks: RefCell<Vec<(u32, String, Function)>>,
    next_id: std::cell::Cell<u32>,
}

impl Ctl {
    /// Runs `f` on the state unless it is busy (a re-entrant call from a DOM event) or detached.
    fn with<R>(&self, f: impl FnOnce(&mut St) -> R) -> Option<R> {
        let mut slot = self.st.try_borrow_mut().ok()?;
        slot.as_mut().map(f)
    }

    /// Runs an action that says whether it did something and what to emit, then emits.
    fn run(&self, f: impl FnOnce(&mut St) -> (bool, Vec<Emit>)) -> bool {
        self.with(f).is_some_and(|r| self.ran(r))
    }

    /// What follows each action (out of line: `run` is instantiated for every action).
    #[inline(never)]
    fn ran(&self, (done, emits): (bool, Vec<Emit>)) -> bool {
        self.emit(emits);
        self.after_emit();
        done
    }

    /// A qualified lead is about to be sent: tell the page (which may cancel), then send.
    fn after_emit(&self) {
        let Some(Some(detail)) = self.with(|st| st.qualified.take()) else { return };
        let cancelled = !self.dispatch("qualified", &detail, true);
        let _ = self.with(|st| st.send(cancelled));
    }

    fn emit(&self, emits: Vec<Emit>) {
        let mut seen = vec![];
        for e in emits {
            if seen.contains(&e) {
                continue;
            }
            seen.push(e);
            if e == Emit::Score && self.with(|st| st.score_changed()) != Some(true) {
                continue;
            }
            if let Some(detail) = self.with(|st| st.detail()) {
                self.dispatch(e.name(), &detail, false);
            }
        }
    }

    /// Pushes the analytics event of `name` to the page's data layer, when asked for (see `analytics.rs`).
    fn push_analytics(&self, name: &str, detail: &JsValue) {
        if let Some(Some((layer, event))) = self.with(|st| st.analytics(name, detail)) {
            analytics::push(&layer, &event);
        }
    }

    /// Dispatches `leadscore:<name>` on the form and calls the handle's listeners; `false` if cancelled.
    fn dispatch(&self, name: &str, detail: &JsValue, cancelable: bool) -> bool {
        self.push_analytics(name, detail);
        let form = self.with(|st| st.form.clone());
        let mut go_on = true;
        if let Some(form) = form {
            let init = CustomEventInit::new();
            init.set_detail(detail);
            init.set_bubbles(true);
            init.set_cancelable(cancelable);
            if let Ok(ev) = CustomEvent::new_with_event_init_dict(&format!("leadscore:{name}"), &init) {
                go_on = form.dispatch_event(&ev).unwrap_or(true);
            }
        }
        let cbs: Vec<Function> = match self.callbacks.try_borrow() {
            Ok(c) => c.iter().filter(|(_, k, _)| k == name).map(|(_, _, f)| f.clone()).collect(),
            Err(_) => vec![],
        };
        for f in cbs {
            // A listener that throws does not stop the form.
            let _ = f.call1(&JsValue::UNDEFINED, detail);
        }
        go_on
    }
}

/// One field's controls and where they sit.
struct FieldDom {
    controls: Vec<Control>,
    /// The element shown or hidden with the field (`[data-field]`), if the page marks one.
    wrapper: Option<HtmlElement>,
    /// The error message under the field, created on the first error.
    error: Option<HtmlElement>,
    /// Its only controls are hidden inputs: a background value the page sets (from the URL, say), which the
    /// visitor can neither see nor correct.
    background: bool,
}

enum SubmitMode {
    Native,
    Fetch,
}

/// Where the form is. Every transition is a method of `St`: `disqualify` (Asking -> Disqualified), `reopen`
/// (Disqualified -> Asking), `send` (Asking -> Sending, or Sent for a native submission) and `sent` (Sending ->
/// Asking on failure, Sent on success).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// The visitor answers the step `cur`.
    Asking,
    /// A qualified lead is on its way (the `onSubmit` or `fetch` promise is pending): nothing moves.
    Sending,
    /// A knockout holds: its ending is shown, nothing was sent; "Change my answers" reopens the form.
    Disqualified,
    /// The lead was sent: the stage's ending is shown.
    Sent,
}

struct St {
    p: Rc<Program>,
    session: crate::Session<Rc<Program>>,
    doc: Document,
    form: HtmlFormElement,
    me: Weak<Ctl>,
    fields: Vec<FieldDom>,
    /// The container of each step (`[data-step]`), by step index.
    steps: Vec<Option<HtmlElement>>,
    submits: Vec<HtmlElement>,
    back: Option<HtmlElement>,
    next: Option<HtmlElement>,
    progress: Option<(HtmlElement, HtmlElement)>,
    live: Option<HtmlElement>,
    ending: Option<HtmlElement>,
    /// Elements the controller added, removed on detach.
    created: Vec<HtmlElement>,
    /// Attributes the controller may change, as the page had them: put back on detach.
    saved: Vec<(Element, &'static str, Option<String>)>,
    /// Per step: skipped by an early finish (its fields were not asked, so they are not checked).
    skipped: Vec<bool>,
    texts: Texts,
    locale: String,
    mode: SubmitMode,
    on_submit: Option<Function>,
    early_finish: bool,
    /// The name of the page's data layer to push analytics events to (`dataLayer`), when asked for.
    data_layer: Option<String>,
    /// The currency of `generate_lead`'s value, when the page gives one.
    currency: Option<String>,
    /// The idempotency key of the lead last sent (the fill's key is a new one by then).
    sent_key: Option<String>,
    persist: bool,
    prefix: String,
    /// sessionStorage key of the answers.
    key: String,
    consent: Option<bool>,
    /// Whether the visit's touches are written into the fields of their names (`data-leadscore-attribution`).
    attribution: bool,
    /// The first and the last touch of the visitor (see `attribution`).
    touches: [Touch; 2],
    /// Events seen before consent, with their token: counted and stored once consent is given.
    pending: Vec<(usize, f64, Option<String>)>,
    /// Event tokens counted in the session: event, time, token (a token counts once).
    tokens: Vec<(usize, f64, String)>,
    /// The idempotency key of this fill (`<prefix>key`): the same for every attempt to send it, across
    /// reloads; a new one after it was sent.
    fill_key: String,
    /// When this fill started, in milliseconds since 1970 (`<prefix>started`).
    started: f64,
    /// Per field: the values the session holds (empty: unanswered).
    applied: Vec<Vec<String>>,
    /// Per field: the engine refused the value (shown as an error on Next).
    refused: Vec<bool>,
    /// Background values changed or dropped (too long, refused): sent with the lead in `<prefix>issues`.
    issues: Vec<crate::Issue>,
    state: FormState,
    /// The step shown, or shown last (by index; `None`: the model asks no step on this path).
    cur: Option<usize>,
    phase: Phase,
    /// The ending shown (`FormOutcome.ending`), or null.
    shown_ending: JsValue,
    /// The "Change my answers" button of a knockout's ending, while it is shown.
    edit: Option<HtmlElement>,
    /// (group score bits, total bits, stage, knockout) last told to the page.
    told: Option<(Vec<u64>, u64, usize, Option<usize>)>,
    /// A qualified lead waiting for the `qualified` event to be dispatched.
    qualified: Option<JsValue>,
    listeners: Vec<Listener>,
}

/// A listener the controller added: removed on detach.
type Listener = (EventTarget, &'static str, Closure<dyn FnMut(Event)>);

fn opt(options: &JsValue, key: &str) -> JsValue {
    if options.is_object() {
        Reflect::get(options, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn storage(local: bool) -> Option<Storage> {
    let w = web_sys::window()?;
    // Storage can be refused (privacy settings): then nothing is kept, and the form works the same.
    if local {
        w.local_storage().ok().flatten()
    } else {
        w.session_storage().ok().flatten()
    }
}

const CONSENT_KEY: &str = "leadscore:consent";
/// Events older than this are dropped from storage (no rule looks back further in practice).
const KEEP_MS: f64 = 400.0 * crate::DAY_MS;
const KEEP_EVENTS: usize = 500;

impl St {
    /// A knockout's ending or the sent lead's is shown.
    fn ended(&self) -> bool {
        match self.phase {
            Phase::Disqualified | Phase::Sent => true,
            Phase::Asking | Phase::Sending => false,
        }
    }

    fn text<'a>(&'a self, t: &'a Option<Text>) -> Option<&'a str> {
        t.as_ref().map(|t| t.get(&self.locale, &self.p.locale))
    }
}

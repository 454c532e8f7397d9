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

mod dom;
mod texts;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    CustomEvent, CustomEventInit, Document, Element, Event, EventTarget, HtmlElement, HtmlFormElement, Storage,
};

use self::dom::{describe, html, make, visually_hidden, Control};
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
  /** Skip the remaining steps whose answers cannot change the stage or the disqualification [`data-leadscore-early-finish`]. */
  earlyFinish?: boolean;
  /** Whether the visitor agreed to behaviour tracking; default: their answer to the page's consent banner,
   * kept in localStorage. Events are stored and counted only with consent. */
  consent?: boolean;
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
  grade: string | null;
  /** Rules that gave points. */
  fired: string[];
  /** The knockout that holds, if any, and its reason. */
  knockout: string | null;
  reason: string | null;
  /** The form ended (sent, or stopped by a knockout). */
  ended: boolean;
  rulesHash: string;
  /** When the outcome was computed, in milliseconds since 1970. */
  at: number;
}

/** What `FormHandle.on()` listens to; the same events are dispatched on the form as `leadscore:<type>`
 * CustomEvents whose `detail` is a `FormOutcome`. `qualified` is cancelable: cancel it to send the lead yourself. */
export type FormEventType = "step" | "score" | "qualified" | "disqualified" | "sent";
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
}

impl Emit {
    fn name(self) -> &'static str {
        match self {
            Emit::Step => "step",
            Emit::Score => "score",
            Emit::Disqualified => "disqualified",
            Emit::Sent => "sent",
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
        match self.with(f) {
            Some((done, emits)) => {
                self.emit(emits);
                self.after_emit();
                done
            }
            None => false,
        }
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

    /// Dispatches `leadscore:<name>` on the form and calls the handle's listeners; `false` if cancelled.
    fn dispatch(&self, name: &str, detail: &JsValue, cancelable: bool) -> bool {
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
    persist: bool,
    prefix: String,
    /// sessionStorage key of the answers.
    key: String,
    consent: Option<bool>,
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
    fn new(form: HtmlFormElement, p: Rc<Program>, options: &JsValue, me: Weak<Ctl>) -> Option<St> {
        let doc = form.owner_document()?;
        let attr = |name: &str| form.get_attribute(name);
        let locale = opt(options, "locale")
            .as_string()
            .or_else(|| attr("data-leadscore-lang"))
            .or_else(|| doc.document_element().and_then(html).map(|e| e.lang()).filter(|l| !l.is_empty()))
            .unwrap_or_else(|| p.locale.clone());
        let locale = locale.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase();
        let texts = Texts::new(&locale, &opt(options, "texts"));
        let mode = match opt(options, "submit").as_string().or_else(|| attr("data-leadscore-submit")).as_deref() {
            Some("fetch") => SubmitMode::Fetch,
            _ => SubmitMode::Native,
        };
        let on_submit = opt(options, "onSubmit").dyn_into::<Function>().ok();
        let early_finish = opt(options, "earlyFinish")
            .as_bool()
            .unwrap_or_else(|| attr("data-leadscore-early-finish").is_some_and(|v| v != "false"));
        let persist = opt(options, "persist")
            .as_bool()
            .unwrap_or_else(|| attr("data-leadscore-persist").as_deref() != Some("false"));
        let prefix = opt(options, "fieldPrefix").as_string().unwrap_or_else(|| "leadscore_".to_string());
        let consent = opt(options, "consent").as_bool().or_else(|| {
            match storage(true).and_then(|s| s.get_item(CONSENT_KEY).ok().flatten()).as_deref() {
                Some("yes") => Some(true),
                Some("no") => Some(false),
                _ => None,
            }
        });
        let form_name = match form.id() {
            id if !id.is_empty() => id,
            _ => form.get_attribute("action").unwrap_or_default(),
        };
        let key = format!("leadscore:form:{}:{}", p.id, form_name);

        // Controls by field, in document order.
        let mut fields: Vec<FieldDom> = p
            .fields
            .iter()
            .map(|_| FieldDom { controls: vec![], wrapper: None, error: None, background: false })
            .collect();
        let elements = form.elements();
        for k in 0..elements.length() {
            let Some(e) = elements.item(k) else { continue };
            let Some(name) = e.get_attribute("name") else { continue };
            if let (Some(i), Some(c)) = (p.field_index(&name), Control::of(&e)) {
                fields[i].controls.push(c);
            }
        }
        for f in fields.iter_mut() {
            f.background = !f.controls.is_empty() && f.controls.iter().all(Control::is_hidden_input);
        }
        for (i, f) in p.fields.iter().enumerate() {
            let sel = format!("[data-field=\"{}\"]", f.id);
            fields[i].wrapper = form.query_selector(&sel).ok().flatten().and_then(html);
        }
        let steps: Vec<Option<HtmlElement>> = p
            .steps
            .iter()
            .map(|s| form.query_selector(&format!("[data-step=\"{}\"]", s.id)).ok().flatten().and_then(html))
            .collect();
        let mut submits = vec![];
        if let Ok(list) = form.query_selector_all("button[type=submit], button:not([type]), input[type=submit]") {
            for k in 0..list.length() {
                if let Some(e) = list.item(k).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    submits.push(e);
                }
            }
        }
        let mut saved = vec![];
        let mut keep = |e: &Element, names: &[&'static str]| {
            for &n in names {
                saved.push((e.clone(), n, e.get_attribute(n)));
            }
        };
        for f in &fields {
            for c in &f.controls {
                keep(c.element(), &["required", "disabled", "aria-required", "aria-invalid", "aria-describedby"]);
            }
            if let Some(w) = &f.wrapper {
                keep(w, &["hidden", "class"]);
            }
        }
        for e in steps.iter().flatten().chain(submits.iter()) {
            keep(e, &["hidden", "tabindex"]);
        }
        keep(&form, &["novalidate", "class", "hidden"]);
        let now = js_sys::Date::now();
        let session = crate::Session::new(p.clone(), now);
        let n = p.fields.len();
        let state = p.form_state(session.answers(), session.events(), now);
        Some(St {
            session,
            doc,
            form,
            me,
            fields,
            steps,
            submits,
            back: None,
            next: None,
            progress: None,
            live: None,
            ending: None,
            created: vec![],
            saved,
            skipped: vec![false; p.steps.len()],
            texts,
            locale,
            mode,
            on_submit,
            early_finish,
            persist,
            prefix,
            key,
            consent,
            pending: vec![],
            tokens: vec![],
            fill_key: random_key(),
            started: now,
            applied: vec![vec![]; n],
            refused: vec![false; n],
            issues: vec![],
            state,
            cur: None,
            phase: Phase::Asking,
            edit: None,
            told: None,
            qualified: None,
            listeners: vec![],
            p,
        })
    }

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

    /// Builds the controller's elements, restores saved answers, loads stored events, listens.
    fn start(&mut self) -> Vec<Emit> {
        // Validation is the controller's, step by step; a hidden step's control must not block the browser.
        self.form.set_no_validate(true);
        let _ = self.form.class_list().add_1("leadscore-active");
        if let Ok(list) = self.doc.query_selector_all("[data-leadscore-show]") {
            for k in 0..list.length() {
                if let Some(e) = list.item(k).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    e.set_hidden(false);
                }
            }
        }
        self.build();
        self.fill_params();
        self.restore();
        self.load_events();
        if let Some(view) = self.form.get_attribute("data-leadscore-view") {
            self.record(&view, None);
        }
        // Events the site vouches for (a webinar's thank-you page, say): recorded at their own time, once.
        if let Ok(list) = self.doc.query_selector_all("[data-leadscore-event-token]") {
            for k in 0..list.length() {
                let Some(e) = list.item(k).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
                let token = e.get_attribute("data-leadscore-event-token").unwrap_or_default();
                match parse_token(&token) {
                    Some((event, _)) => {
                        let event = event.to_string();
                        self.record(&event, Some(token));
                    }
                    None => web_sys::console::warn_1(&format!("leadscore: `{token}` is not an event token").into()),
                }
            }
        }
        self.show_consent_banner();
        self.listen();
        self.sync();
        if self.cur.is_none() {
            self.cur = self.state.path.first().copied();
        }
        self.render(false);
        vec![Emit::Step, Emit::Score]
    }

    fn build(&mut self) {
        let doc = self.doc.clone();
        // Announcements for screen readers.
        if let Some(live) = make(&doc, "div", "leadscore-live", "") {
            let _ = live.set_attribute("aria-live", "polite");
            let _ = live.set_attribute("role", "status");
            visually_hidden(&live);
            let _ = self.form.insert_before(&live, self.form.first_child().as_ref());
            self.created.push(live.clone());
            self.live = Some(live);
        }
        if !self.p.steps.is_empty() {
            if let Some(box_) = self.form.query_selector("[data-leadscore-progress]").ok().flatten().and_then(html) {
                if let (Some(text), Some(bar)) = (
                    make(&doc, "p", "leadscore-progress-text", ""),
                    make(&doc, "progress", "leadscore-progress-bar", ""),
                ) {
                    let _ = bar.set_attribute("aria-hidden", "true");
                    let _ = box_.append_child(&text);
                    let _ = box_.append_child(&bar);
                    self.created.push(text.clone());
                    self.created.push(bar.clone());
                    self.progress = Some((text, bar));
                }
            }
            let nav = self.form.query_selector("[data-leadscore-nav]").ok().flatten().and_then(html);
            let nav = match nav {
                Some(n) => Some(n),
                None => make(&doc, "div", "leadscore-nav", "").inspect(|n| {
                    let _ = self.form.append_child(n);
                    self.created.push(n.clone());
                }),
            };
            if let Some(nav) = nav {
                let back = make(&doc, "button", "leadscore-back", &self.texts.back);
                let next = make(&doc, "button", "leadscore-next", &self.texts.next);
                for b in back.iter().chain(next.iter()) {
                    let _ = b.set_attribute("type", "button");
                }
                if let Some(b) = &back {
                    let _ = nav.insert_before(b, nav.first_child().as_ref());
                    self.created.push(b.clone());
                }
                if let Some(n) = &next {
                    let _ = nav.append_child(n);
                    self.created.push(n.clone());
                }
                self.back = back;
                self.next = next;
            }
        }
        // The ending: the page's `[data-leadscore-ending]` (for this form, or for any), else a new section.
        let id = self.form.id();
        let ending = self
            .doc
            .query_selector(&format!("[data-leadscore-ending=\"{id}\"]"))
            .ok()
            .flatten()
            .filter(|_| !id.is_empty())
            .or_else(|| self.doc.query_selector("[data-leadscore-ending=\"\"]").ok().flatten())
            .and_then(html);
        self.ending = ending.or_else(|| {
            let e = make(&doc, "section", "leadscore-ending", "")?;
            e.set_hidden(true);
            let _ = e.set_attribute("tabindex", "-1");
            let _ = self.form.after_with_node_1(&e);
            self.created.push(e.clone());
            Some(e)
        });
    }

    /// Background inputs filled from the page's URL (`data-leadscore-param="utm_source"`), when empty. A text
    /// longer than its field takes is cut to the field's length (in characters, as the engine counts them).
    fn fill_params(&mut self) {
        let Some(search) = web_sys::window().and_then(|w| w.location().search().ok()) else { return };
        let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else { return };
        let Ok(list) = self.form.query_selector_all("input[data-leadscore-param]") else { return };
        for k in 0..list.length() {
            let Some(input) = list.item(k).and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
                continue;
            };
            let name = input.get_attribute("data-leadscore-param").unwrap_or_default();
            let (true, Some(mut v)) = (input.value().is_empty(), params.get(&name)) else { continue };
            let field = self.p.field_index(&input.name()).map(|i| &self.p.fields[i]);
            if let Some(f) = field.filter(|f| f.kind == FieldType::String) {
                let (len, max) = (v.chars().count(), f.max_length as usize);
                if len > max {
                    v = v.chars().take(max).collect();
                    let message =
                        format!("`{}` takes at most {max} characters; the URL gave {len}, cut to {max}", f.id);
                    self.note(crate::Issue { field: f.id.clone(), code: "truncated", message });
                }
            }
            input.set_value(&v);
        }
    }

    /// Records a problem with a background value, once, and tells the developer.
    fn note(&mut self, issue: crate::Issue) {
        if self.issues.iter().any(|i| i.field == issue.field && i.code == issue.code) {
            return;
        }
        web_sys::console::warn_1(&format!("leadscore: `{}`: {}", issue.field, issue.message).into());
        self.issues.push(issue);
    }

    fn restore(&mut self) {
        if !self.persist {
            return;
        }
        let Some(saved) = storage(false).and_then(|s| s.get_item(&self.key).ok().flatten()) else { return };
        let Ok(v) = js_sys::JSON::parse(&saved) else { return };
        let Ok(serde_json::Value::Object(saved)) = walk(&v, 0) else { return };
        if let Some(serde_json::Value::Object(values)) = saved.get("values") {
            for (i, f) in self.p.fields.iter().enumerate() {
                let Some(serde_json::Value::Array(list)) = values.get(&f.id) else { continue };
                let list: Vec<String> = list.iter().filter_map(|x| x.as_str().map(str::to_string)).collect();
                for c in &self.fields[i].controls {
                    c.restore(&list);
                }
            }
        }
        if let Some(step) = saved.get("step").and_then(|s| s.as_str()) {
            self.cur = self.p.steps.iter().position(|s| s.id == step);
        }
        if let (Some(key), Some(started)) = (saved.get("key").and_then(|k| k.as_str()), saved.get("started")) {
            if let Some(started) = started.as_f64().filter(|t| t.is_finite()) {
                self.fill_key = key.to_string();
                self.started = started;
            }
        }
    }

    fn save(&self) {
        if !self.persist || self.ended() {
            return;
        }
        let Some(store) = storage(false) else { return };
        let values = Object::new();
        let mut buf = vec![];
        for (i, f) in self.p.fields.iter().enumerate() {
            buf.clear();
            for c in &self.fields[i].controls {
                c.values(&mut buf);
            }
            if !buf.is_empty() {
                let list: Array = buf.iter().map(|s| JsValue::from_str(s)).collect();
                let _ = Reflect::set(&values, &JsValue::from_str(&f.id), &list);
            }
        }
        let o = Object::new();
        let _ = Reflect::set(&o, &"values".into(), &values);
        let step = self.cur.and_then(|s| self.p.steps.get(s)).map_or(JsValue::NULL, |s| JsValue::from_str(&s.id));
        let _ = Reflect::set(&o, &"step".into(), &step);
        let _ = Reflect::set(&o, &"key".into(), &JsValue::from_str(&self.fill_key));
        let _ = Reflect::set(&o, &"started".into(), &JsValue::from_f64(self.started));
        if let Ok(text) = js_sys::JSON::stringify(&o) {
            let _ = store.set_item(&self.key, &String::from(text));
        }
    }

    fn forget(&self) {
        if let Some(s) = storage(false) {
            let _ = s.remove_item(&self.key);
        }
    }

    fn events_key(&self) -> String {
        format!("leadscore:events:{}", self.p.id)
    }

    /// Stored events, counted only with consent.
    fn load_events(&mut self) {
        if self.consent != Some(true) {
            return;
        }
        let Some(text) = storage(true).and_then(|s| s.get_item(&self.events_key()).ok().flatten()) else { return };
        let Ok(v) = js_sys::JSON::parse(&text) else { return };
        let Ok(serde_json::Value::Array(list)) = walk(&v, 0) else { return };
        for e in list {
            let (Some(kind), Some(at)) = (e.get("type").and_then(|t| t.as_str()), e.get("at").and_then(|a| a.as_f64()))
            else {
                continue;
            };
            if let Some(i) = self.p.event_index(kind) {
                let _ = self.session.record(i, at);
                if let Some(t) = e.get("token").and_then(|t| t.as_str()) {
                    self.tokens.push((i, at, t.to_string()));
                }
            }
        }
    }

    fn store_events(&self, new: &[(usize, f64, Option<String>)]) {
        let Some(store) = storage(true) else { return };
        let key = self.events_key();
        let mut list: Vec<serde_json::Value> = store
            .get_item(&key)
            .ok()
            .flatten()
            .and_then(|t| js_sys::JSON::parse(&t).ok())
            .and_then(|v| walk(&v, 0).ok())
            .and_then(|v| if let serde_json::Value::Array(a) = v { Some(a) } else { None })
            .unwrap_or_default();
        for (i, at, token) in new {
            let mut e = serde_json::Map::new();
            e.insert("type".into(), self.p.events[*i].0.as_str().into());
            e.insert("at".into(), (*at).into());
            if let Some(t) = token {
                e.insert("token".into(), t.as_str().into());
            }
            list.push(serde_json::Value::Object(e));
        }
        let now = js_sys::Date::now();
        list.retain(|e| e.get("at").and_then(|a| a.as_f64()).is_some_and(|at| now - at <= KEEP_MS));
        let cut = list.len().saturating_sub(KEEP_EVENTS);
        list.drain(..cut);
        if let Ok(text) = js_sys::JSON::stringify(&json_js(&serde_json::Value::Array(list))) {
            let _ = store.set_item(&key, &String::from(text));
        }
    }

    fn record(&mut self, event: &str, token: Option<String>) -> (bool, Vec<Emit>) {
        let Some(i) = self.p.event_index(event) else {
            web_sys::console::warn_1(&format!("leadscore: `{event}` is not an event of model `{}`", self.p.id).into());
            return (false, vec![]);
        };
        let now = js_sys::Date::now();
        let mut at = now;
        if let Some(t) = &token {
            match parse_token(t) {
                Some((e, t_at)) if e == event => at = t_at,
                _ => {
                    web_sys::console::warn_1(&format!("leadscore: `{t}` is not an event token of `{event}`").into());
                    return (false, vec![]);
                }
            }
            if self.counted_token(t) {
                return (true, vec![]);
            }
        }
        match self.consent {
            Some(true) => {
                self.session.set_now(now);
                let _ = self.session.record(i, at);
                if let Some(t) = &token {
                    self.tokens.push((i, at, t.clone()));
                }
                self.store_events(&[(i, at, token)]);
                self.refresh_outputs();
            }
            // Not counted, not stored: kept in memory until the visitor decides.
            None => self.pending.push((i, at, token)),
            Some(false) => {}
        }
        (true, vec![Emit::Score])
    }

    /// Whether event token `t` is already counted (or waiting for consent).
    fn counted_token(&self, t: &str) -> bool {
        self.tokens.iter().any(|(_, _, k)| k == t) || self.pending.iter().any(|(_, _, k)| k.as_deref() == Some(t))
    }

    fn set_consent(&mut self, granted: bool) {
        if let Some(s) = storage(true) {
            let _ = s.set_item(CONSENT_KEY, if granted { "yes" } else { "no" });
            if !granted {
                let _ = s.remove_item(&self.events_key());
            }
        }
        let was = self.consent;
        self.consent = Some(granted);
        let pending = std::mem::take(&mut self.pending);
        if granted {
            if was != Some(true) {
                self.load_events();
            }
            self.session.set_now(js_sys::Date::now());
            let mut fresh = vec![];
            for (i, at, token) in pending {
                if let Some(t) = &token {
                    // Stored by an earlier visit: already counted.
                    if self.tokens.iter().any(|(_, _, k)| k == t) {
                        continue;
                    }
                    self.tokens.push((i, at, t.clone()));
                }
                let _ = self.session.record(i, at);
                fresh.push((i, at, token));
            }
            self.store_events(&fresh);
        } else if was == Some(true) {
            // Withdrawn: the events counted so far no longer count.
            self.tokens.clear();
            let mut fresh = crate::Session::new(self.p.clone(), js_sys::Date::now());
            for (i, v) in self.applied.iter().enumerate() {
                set_values(&mut fresh, i, v);
            }
            self.session = fresh;
        }
        self.show_consent_banner();
        self.refresh_outputs();
    }

    fn show_consent_banner(&self) {
        if let Ok(list) = self.doc.query_selector_all("[data-leadscore-consent=\"\"]") {
            for k in 0..list.length() {
                if let Some(e) = list.item(k).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    e.set_hidden(self.consent.is_some());
                }
            }
        }
    }

    fn listen(&mut self) {
        let me = self.me.clone();
        let on = |st: &mut St, target: EventTarget, kind: &'static str, f: Box<dyn FnMut(Event)>| {
            let c = Closure::wrap(f);
            let _ = target.add_event_listener_with_callback(kind, c.as_ref().unchecked_ref());
            st.listeners.push((target, kind, c));
        };
        let form: EventTarget = self.form.clone().into();
        for kind in ["input", "change"] {
            let me = me.clone();
            on(
                self,
                form.clone(),
                kind,
                Box::new(move |_| {
                    if let Some(c) = me.upgrade() {
                        c.run(|st| st.on_input());
                    }
                }),
            );
        }
        {
            let me = me.clone();
            on(
                self,
                form.clone(),
                "submit",
                Box::new(move |e: Event| {
                    e.prevent_default();
                    if let Some(c) = me.upgrade() {
                        c.run(|st| st.on_submit());
                    }
                }),
            );
        }
        for (button, forward) in [(self.next.clone(), true), (self.back.clone(), false)] {
            if let Some(b) = button {
                let me = me.clone();
                on(
                    self,
                    b.into(),
                    "click",
                    Box::new(move |_| {
                        if let Some(c) = me.upgrade() {
                            c.run(|st| if forward { st.next() } else { st.back() });
                        }
                    }),
                );
            }
        }
        let doc: EventTarget = self.doc.clone().into();
        on(
            self,
            doc,
            "click",
            Box::new(move |e: Event| {
                let Some(el) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
                let Some(c) = me.upgrade() else { return };
                if let Some(hit) = el.closest("[data-leadscore-event]").ok().flatten() {
                    let name = hit.get_attribute("data-leadscore-event").unwrap_or_default();
                    c.run(|st| st.record(&name, None));
                }
                if let Some(hit) = el.closest("[data-leadscore-consent]").ok().flatten() {
                    match hit.get_attribute("data-leadscore-consent").as_deref() {
                        Some("yes") => c.run(|st| {
                            st.set_consent(true);
                            (true, vec![Emit::Score])
                        }),
                        Some("no") => c.run(|st| {
                            st.set_consent(false);
                            (true, vec![Emit::Score])
                        }),
                        _ => false,
                    };
                }
                // The button the controller made, not any element with its class.
                c.run(|st| match &st.edit {
                    Some(b) if b.contains(Some(&el)) => st.reopen(),
                    _ => (false, vec![]),
                });
            }),
        );
    }

    fn teardown(mut self) {
        for (t, kind, c) in self.listeners.drain(..) {
            let _ = t.remove_event_listener_with_callback(kind, c.as_ref().unchecked_ref());
        }
        for e in self.created.drain(..) {
            e.remove();
        }
        for f in &self.fields {
            for c in &f.controls {
                c.set_custom_validity("");
            }
        }
        for (e, name, value) in self.saved.drain(..) {
            let _ = match value {
                Some(v) => e.set_attribute(name, &v),
                None => e.remove_attribute(name),
            };
        }
    }

    fn on_input(&mut self) -> (bool, Vec<Emit>) {
        if self.ended() {
            return (false, vec![]);
        }
        let before = self.state.path.clone();
        self.sync();
        self.clear_fixed_errors();
        self.render(false);
        self.save();
        let mut emits = vec![Emit::Score];
        if before != self.state.path {
            emits.push(Emit::Step);
        }
        (true, emits)
    }

    /// Reads every control into the session, then disables what the model hides or locks, until stable
    /// (conditions read only earlier fields, so this ends after at most one round per field).
    fn sync(&mut self) {
        let now = js_sys::Date::now();
        self.session.set_now(now);
        let n = self.p.fields.len();
        let mut dom: Vec<Vec<String>> = Vec::with_capacity(n);
        for f in &self.fields {
            let mut v = vec![];
            for c in &f.controls {
                c.values(&mut v);
            }
            dom.push(v);
        }
        for _ in 0..=n {
            let mut changed = false;
            for (i, values) in dom.iter_mut().enumerate() {
                let locked = self.state.shown[i] && !self.state.enabled[i];
                let want: &[String] = if locked { &[] } else { values };
                if self.applied[i] == want {
                    continue;
                }
                changed = true;
                self.applied[i] = want.to_vec();
                self.refused[i] = match self.session.set_form_values(i, &self.applied[i]) {
                    Ok(()) => false,
                    // A value the visitor cannot see or correct must not block the lead: dropped, recorded.
                    Err(issue) if self.fields[i].background => {
                        for c in &self.fields[i].controls {
                            c.clear();
                        }
                        values.clear();
                        self.applied[i].clear();
                        self.note(issue);
                        false
                    }
                    Err(_) => true,
                };
            }
            self.state = self.p.form_state(self.session.answers(), self.session.events(), now);
            if !changed {
                break;
            }
        }
        // The DOM follows the state.
        for (i, f) in self.fields.iter().enumerate() {
            let (shown, enabled, required) = (self.state.shown[i], self.state.enabled[i], self.state.required[i]);
            if let Some(w) = &f.wrapper {
                w.set_hidden(!shown);
                let _ = w.class_list().toggle_with_force("leadscore-locked", shown && !enabled);
            }
            let multi = self.p.fields[i].kind == FieldType::Multi;
            for c in &f.controls {
                if c.element().get_attribute("type").as_deref() == Some("hidden") {
                    continue;
                }
                if c.disabled() == (shown && enabled) {
                    c.set_disabled(!(shown && enabled));
                }
                // Checkboxes of a multi field: `required` would require each box; checked in `validate`.
                c.set_required(required && !(multi && c.is_checkbox()));
                let _ = c.element().set_attribute("aria-required", if required { "true" } else { "false" });
            }
        }
        if let Some(cur) = self.cur {
            if !self.state.path.contains(&cur) {
                // The step left the path (an earlier answer changed): go to the last path step before it.
                self.cur = self.state.path.iter().copied().rfind(|&s| s < cur).or(self.state.path.first().copied());
            }
        }
    }

    /// Shows the current step, the buttons, the progress and the score.
    fn render(&mut self, announce: bool) {
        let path = &self.state.path;
        for (s, el) in self.steps.iter().enumerate() {
            if let Some(el) = el {
                el.set_hidden(self.ended() || Some(s) != self.cur);
            }
        }
        let pos = self.cur.and_then(|c| path.iter().position(|&s| s == c));
        let last = pos.is_none_or(|p| p + 1 >= path.len());
        if let Some(b) = &self.back {
            b.set_hidden(pos.is_none_or(|p| p == 0));
        }
        if let Some(b) = &self.next {
            b.set_hidden(last);
        }
        for s in &self.submits {
            s.set_hidden(!last && !self.p.steps.is_empty());
        }
        if let (Some((text, bar)), Some(p)) = (&self.progress, pos) {
            let (n, total) = ((p + 1).to_string(), path.len().to_string());
            text.set_text_content(Some(&fill(&self.texts.progress, &[("n", &n), ("total", &total)])));
            let _ = bar.set_attribute("max", &total);
            let _ = bar.set_attribute("value", &n);
        }
        if announce {
            if let (Some(p), Some(cur)) = (pos, self.cur) {
                let title = self.step_title(cur);
                let (n, total) = ((p + 1).to_string(), path.len().to_string());
                let msg = fill(&self.texts.step, &[("n", &n), ("total", &total), ("title", &title)]);
                self.announce(&msg);
            }
        }
        self.refresh_outputs();
    }

    /// A step's heading as the page shows it (its legend), else the model's title.
    fn step_title(&self, s: usize) -> String {
        let legend = self.steps[s]
            .as_ref()
            .and_then(|el| el.query_selector("legend, h2, h3").ok().flatten())
            .and_then(|l| l.text_content())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        legend.or_else(|| self.text(&self.p.steps[s].title).map(str::to_string)).unwrap_or_default()
    }

    fn announce(&self, msg: &str) {
        if let Some(live) = &self.live {
            // Emptied first, so that the same message twice is read twice.
            live.set_text_content(None);
            live.set_text_content(Some(msg));
        }
    }

    /// `[data-leadscore-output]` elements of the page: score, a group id, stage, grade.
    fn refresh_outputs(&mut self) {
        let Ok(list) = self.doc.query_selector_all("[data-leadscore-output]") else { return };
        let s = self.session.score().clone();
        let grade = self.p.grade_of(&s.groups);
        let form_id = self.form.id();
        for k in 0..list.length() {
            let Some(e) = list.item(k).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
            if e.get_attribute("data-leadscore-for").is_some_and(|f| f != form_id) {
                continue;
            }
            let what = e.get_attribute("data-leadscore-output").unwrap_or_default();
            let text = match what.as_str() {
                "score" => show_number(s.total),
                "stage" => match s.knockout {
                    Some(_) => "-".to_string(),
                    None => self
                        .p
                        .stages
                        .get(s.stage)
                        .map(|st| self.text(&st.label).unwrap_or(&st.id).to_string())
                        .unwrap_or_default(),
                },
                "grade" => grade.clone().unwrap_or_default(),
                g => match self.p.groups.iter().position(|x| x.id == g) {
                    Some(i) => show_number(s.groups.get(i).copied().unwrap_or(0.0)),
                    None => continue,
                },
            };
            e.set_text_content(Some(&text));
        }
    }

    /// Checks the shown, enabled fields of `step` (`None`: the fields that belong to no step); reports the first
    /// problem.
    fn validate(&mut self, step: Option<usize>) -> bool {
        let mut bad: Vec<usize> = vec![];
        for i in 0..self.p.fields.len() {
            let f = &self.p.fields[i];
            if f.step.map(|s| s as usize) != step {
                continue;
            }
            if !(self.state.shown[i] && self.state.enabled[i]) || self.fields[i].controls.is_empty() {
                continue;
            }
            let required = self.state.required[i];
            let missing_multi = required && f.kind == FieldType::Multi && self.applied[i].is_empty();
            let mut msg = None;
            for c in &self.fields[i].controls {
                c.set_custom_validity("");
            }
            if missing_multi {
                msg = Some(self.texts.required.clone());
            } else if let Some(c) = self.fields[i].controls.iter().find(|c| !c.check_validity()) {
                msg = Some(if c.value_missing() { self.texts.required.clone() } else { c.validation_message() });
            } else if self.refused[i] {
                msg = Some(self.texts.invalid.clone());
            }
            if let Some(m) = msg {
                self.show_error(i, &m);
                bad.push(i);
            } else {
                self.show_error(i, "");
            }
        }
        if let Some(&first) = bad.first() {
            let count = bad.len().to_string();
            self.announce(&fill(&self.texts.errors, &[("count", &count)]));
            if let Some(c) = self.fields[first].controls.first() {
                let _ = c.element().focus();
            }
            return false;
        }
        true
    }

    /// Shows (or with `""`, clears) the message under field `i`, tied to its controls for screen readers.
    fn show_error(&mut self, i: usize, msg: &str) {
        let id = format!("leadscore-error-{}", self.p.fields[i].id);
        if self.fields[i].error.is_none() && !msg.is_empty() {
            let host = self.fields[i]
                .wrapper
                .clone()
                .or_else(|| self.fields[i].controls.last().and_then(|c| c.element().parent_element()).and_then(html));
            if let (Some(host), Some(e)) = (host, make(&self.doc, "p", "leadscore-error", "")) {
                e.set_id(&id);
                let _ = host.append_child(&e);
                self.created.push(e.clone());
                self.fields[i].error = Some(e);
            }
        }
        let f = &self.fields[i];
        if let Some(e) = &f.error {
            e.set_text_content(Some(msg));
            e.set_hidden(msg.is_empty());
        }
        for c in &f.controls {
            let el = c.element();
            if msg.is_empty() {
                let _ = el.remove_attribute("aria-invalid");
            } else {
                let _ = el.set_attribute("aria-invalid", "true");
                describe(el, &id);
            }
        }
        if let Some(w) = &f.wrapper {
            let _ = w.class_list().toggle_with_force("leadscore-invalid", !msg.is_empty());
        }
    }

    /// After an input: a field shown with an error loses it once its answer is acceptable.
    fn clear_fixed_errors(&mut self) {
        for i in 0..self.p.fields.len() {
            let has = self.fields[i].error.as_ref().is_some_and(|e| !e.hidden());
            if !has {
                continue;
            }
            let missing = self.state.required[i] && self.applied[i].is_empty();
            let ok = !self.refused[i]
                && !missing
                && self.fields[i].controls.iter().all(|c| {
                    c.set_custom_validity("");
                    c.check_validity()
                });
            if ok || !self.state.shown[i] {
                self.show_error(i, "");
            }
        }
    }

    fn on_submit(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Asking {
            return (false, vec![]);
        }
        self.sync();
        let pos = self.cur.and_then(|c| self.state.path.iter().position(|&s| s == c));
        let last = pos.is_none_or(|p| p + 1 >= self.state.path.len());
        if !last {
            // Enter in a field of an earlier step: the same as Next.
            return self.next();
        }
        self.finish()
    }

    fn go(&mut self, step: usize) -> (bool, Vec<Emit>) {
        self.cur = Some(step);
        self.skipped[step] = false;
        self.render(true);
        self.save();
        // Focus on the first field the visitor can answer.
        let first = self.p.steps[step]
            .fields
            .iter()
            .map(|&f| f as usize)
            .find(|&f| self.state.shown[f] && self.state.enabled[f])
            .and_then(|f| self.fields[f].controls.iter().find(|c| !c.disabled()).cloned());
        match first {
            Some(c) => {
                let _ = c.element().focus();
            }
            None => {
                if let Some(el) = &self.steps[step] {
                    let _ = el.set_attribute("tabindex", "-1");
                    let _ = el.focus();
                }
            }
        }
        (true, vec![Emit::Step, Emit::Score])
    }

    fn next(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Asking {
            return (false, vec![]);
        }
        self.sync();
        let Some(cur) = self.cur else { return self.finish() };
        if !self.validate(Some(cur)) {
            return (false, vec![]);
        }
        let (answers, events, now) = (self.session.answers(), self.session.events(), self.session.now());
        // The decision is the core's (`Program::leave_step`, tested natively); the page follows it.
        match self.p.leave_step(answers, events, now, &self.state, cur, self.early_finish) {
            Leave::Knockout(_) => self.disqualify(),
            Leave::Go { step, skipped } => {
                for s in skipped {
                    self.skipped[s] = true;
                }
                self.go(step)
            }
            Leave::Finish { skipped } => {
                for s in skipped {
                    self.skipped[s] = true;
                }
                self.finish()
            }
        }
    }

    fn back(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Asking {
            return (false, vec![]);
        }
        self.sync();
        let Some(cur) = self.cur else { return (false, vec![]) };
        match self.state.path.iter().copied().rfind(|&s| s < cur) {
            Some(s) => self.go(s),
            None => (false, vec![]),
        }
    }

    /// The end of the path (or an early finish): check everything, then stop or send.
    fn finish(&mut self) -> (bool, Vec<Emit>) {
        // Every step on the path again: an earlier answer may have changed since it was checked.
        for s in self.state.path.clone() {
            if self.skipped[s] {
                continue;
            }
            if !self.validate(Some(s)) {
                if self.cur != Some(s) {
                    self.go(s);
                    self.validate(Some(s));
                }
                return (false, vec![Emit::Step]);
            }
        }
        // Fields outside every step (all of them in a model without steps) are always on the page.
        if !self.validate(None) {
            return (false, vec![]);
        }
        let all = vec![true; self.p.fields.len()];
        let o = self.p.outcome(self.session.answers(), self.session.events(), self.session.now(), &all);
        if o.knockout.is_some() || self.session.score().knockout.is_some() {
            return self.disqualify();
        }
        self.add_hidden_inputs();
        self.qualified = Some(self.detail());
        (true, vec![Emit::Score])
    }

    /// A knockout holds: show its ending, send nothing.
    fn disqualify(&mut self) -> (bool, Vec<Emit>) {
        let s = self.session.score().clone();
        self.phase = Phase::Disqualified;
        self.show_ending(s.knockout, s.stage, true);
        (true, vec![Emit::Disqualified, Emit::Score])
    }

    /// From a knockout's ending back to the form, answers as they were.
    fn reopen(&mut self) -> (bool, Vec<Emit>) {
        if self.phase != Phase::Disqualified {
            return (false, vec![]);
        }
        self.phase = Phase::Asking;
        self.edit = None;
        self.form.set_hidden(false);
        if let Some(e) = &self.ending {
            e.set_hidden(true);
        }
        match self.cur {
            Some(s) => self.go(s),
            None => (true, vec![Emit::Step]),
        }
    }

    fn show_ending(&mut self, knockout: Option<usize>, stage: usize, can_edit: bool) {
        self.form.set_hidden(true);
        let Some(box_) = self.ending.clone() else { return };
        while let Some(c) = box_.first_child() {
            let _ = box_.remove_child(&c);
        }
        let doc = self.doc.clone();
        let ending = self.p.ending_of(knockout, stage);
        let key = match knockout {
            Some(k) => format!("knockout:{}", self.p.knockouts[k].reason),
            None => format!("stage:{}", self.p.stages.get(stage).map_or("", |s| s.id.as_str())),
        };
        let _ = box_.set_attribute("data-ending", &key);
        // A lead sent to a model without an ending still gets a word of thanks.
        let thanks = (ending.is_none() && knockout.is_none() && !can_edit).then_some(self.texts.sent.as_str());
        let title = ending.and_then(|e| self.text(&e.title)).or(thanks);
        let message = ending
            .and_then(|e| self.text(&e.message))
            .or_else(|| knockout.and_then(|k| self.text(&self.p.knockouts[k].message)));
        if let Some(h) = title.and_then(|t| make(&doc, "h2", "leadscore-ending-title", t)) {
            let _ = box_.append_child(&h);
        }
        if let Some(p) = message.and_then(|t| make(&doc, "p", "leadscore-ending-message", t)) {
            let _ = box_.append_child(&p);
        }
        if let Some(a) = ending.and_then(|e| e.action.as_ref()) {
            if crate::valid::link_problem(&a.url).is_none() {
                if let Some(link) = make(&doc, "a", "leadscore-action", a.label.get(&self.locale, &self.p.locale)) {
                    let _ = link.set_attribute("href", &a.url);
                    let _ = box_.append_child(&link);
                }
            }
        }
        let edit = can_edit.then(|| make(&doc, "button", "leadscore-edit", &self.texts.edit)).flatten();
        if let Some(b) = &edit {
            let _ = b.set_attribute("type", "button");
            let _ = box_.append_child(b);
        }
        box_.set_hidden(false);
        let _ = box_.set_attribute("tabindex", "-1");
        let _ = box_.focus();
        let said = title.or(message).unwrap_or("").to_string();
        self.edit = edit;
        self.announce(&said);
    }

    /// Score, groups, stage, grade, fired rules, rules hash, time, counted events and the issues of background
    /// values, as hidden inputs.
    fn add_hidden_inputs(&mut self) {
        let p = self.p.clone();
        let s = self.session.score().clone();
        let fired: Vec<String> = self.session.fired().map(|r| p.rules[r].id.clone()).collect();
        let groups = Object::new();
        for (g, v) in p.groups.iter().zip(&s.groups) {
            let _ = Reflect::set(&groups, &JsValue::from_str(&g.id), &JsValue::from_f64(*v));
        }
        let events = Array::new();
        let mut used = vec![false; self.tokens.len()];
        for (e, (id, _)) in p.events.iter().enumerate() {
            for &at in self.session.events().times(e) {
                let o = Object::new();
                let _ = Reflect::set(&o, &"type".into(), &JsValue::from_str(id));
                let _ = Reflect::set(&o, &"at".into(), &JsValue::from_f64(at));
                let token = self.tokens.iter().enumerate().find(|(k, (te, ta, _))| !used[*k] && *te == e && *ta == at);
                if let Some((k, (_, _, t))) = token {
                    used[k] = true;
                    let _ = Reflect::set(&o, &"token".into(), &JsValue::from_str(t));
                }
                events.push(&o);
            }
        }
        let issues = Array::new();
        for i in &self.issues {
            let o = Object::new();
            for (k, v) in [("field", i.field.as_str()), ("code", i.code), ("message", i.message.as_str())] {
                let _ = Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
            }
            issues.push(&o);
        }
        let json = |v: &JsValue| js_sys::JSON::stringify(v).map(String::from).unwrap_or_default();
        // Consent to behaviour tracking, as the visitor answered the banner (empty: not asked).
        let consent = match self.consent {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        let values: [(&str, String); 12] = [
            ("score", crate::host::js_string(s.total)),
            ("groups", json(&groups)),
            ("stage", super::stage_id(&p, s.stage, s.knockout).to_string()),
            ("grade", p.grade_of(&s.groups).unwrap_or_default()),
            ("rules", fired.join(",")),
            ("hash", p.hash().to_string()),
            ("at", crate::host::js_string(self.session.now())),
            ("events", json(&events)),
            ("issues", json(&issues)),
            ("key", self.fill_key.clone()),
            ("started", crate::host::js_string(self.started)),
            ("consent", consent.to_string()),
        ];
        for (name, value) in values {
            let name = format!("{}{name}", self.prefix);
            let existing = self.form.query_selector(&format!("input[type=hidden][name=\"{name}\"]")).ok().flatten();
            let input = match existing {
                Some(e) => e.dyn_into::<web_sys::HtmlInputElement>().ok(),
                None => self.doc.create_element("input").ok().and_then(|e| e.dyn_into().ok()).inspect(
                    |i: &web_sys::HtmlInputElement| {
                        i.set_type("hidden");
                        i.set_name(&name);
                        let _ = self.form.append_child(i);
                        if let Ok(h) = i.clone().dyn_into::<HtmlElement>() {
                            self.created.push(h);
                        }
                    },
                ),
            };
            if let Some(i) = input {
                i.set_value(&value);
            }
        }
    }

    /// Sends the qualified lead, after the `qualified` event (`cancelled`: the page sends it itself).
    fn send(&mut self, cancelled: bool) {
        if cancelled {
            return;
        }
        let data = web_sys::FormData::new_with_form(&self.form).ok();
        let promise: Option<JsValue> = if let Some(f) = self.on_submit.clone() {
            let detail = self.detail();
            // Settled later in any case (a plain value or a throw too), after this borrow ends.
            let r = f.call2(&JsValue::UNDEFINED, &detail, &data.map(JsValue::from).unwrap_or(JsValue::UNDEFINED));
            let settled = match r {
                Ok(v) => js_sys::Promise::resolve(&v),
                Err(e) => js_sys::Promise::reject(&e),
            };
            Some(settled.into())
        } else {
            match self.mode {
                SubmitMode::Native => {
                    self.forget();
                    self.phase = Phase::Sent;
                    let _ = self.form.submit();
                    return;
                }
                SubmitMode::Fetch => self.fetch(data),
            }
        };
        let Some(promise) = promise else { return };
        self.phase = Phase::Sending;
        self.announce(&self.texts.sending.clone());
        for b in self.submits.iter().chain(self.back.iter()) {
            let _ = b.set_attribute("aria-disabled", "true");
        }
        let (ok_me, err_me) = (self.me.clone(), self.me.clone());
        let ok = Closure::once_into_js(move |_: JsValue| {
            if let Some(c) = ok_me.upgrade() {
                c.run(|st| st.sent(true));
            }
        });
        let err = Closure::once_into_js(move |_: JsValue| {
            if let Some(c) = err_me.upgrade() {
                c.run(|st| st.sent(false));
            }
        });
        then(&promise, &ok, &err);
    }

    /// POSTs the form to its action, urlencoded like a plain form, asking for JSON; rejects on an HTTP error.
    fn fetch(&self, data: Option<web_sys::FormData>) -> Option<JsValue> {
        let window = web_sys::window()?;
        let body = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data?.into()).ok()?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&body.into());
        let headers = web_sys::Headers::new().ok()?;
        let _ = headers.set("Accept", "application/json");
        init.set_headers(&headers.into());
        let action = self.form.action();
        let request: JsValue = window.fetch_with_str_and_init(&action, &init).into();
        let check = Closure::once_into_js(|r: JsValue| -> Result<JsValue, JsValue> {
            match r.dyn_ref::<web_sys::Response>() {
                Some(res) if res.ok() => Ok(r),
                _ => Err(js_sys::Error::new("leadscore: the server refused the lead").into()),
            }
        });
        Some(then(&request, &check, &JsValue::UNDEFINED))
    }

    fn sent(&mut self, ok: bool) -> (bool, Vec<Emit>) {
        self.phase = Phase::Asking;
        for b in self.submits.iter().chain(self.back.iter()) {
            let _ = b.remove_attribute("aria-disabled");
        }
        if !ok {
            // Nothing is lost: the form stays as it is, to send again.
            self.announce(&self.texts.failed.clone());
            if let Some(e) = self.form.query_selector(".leadscore-failed").ok().flatten() {
                e.remove();
            }
            if let Some(p) = make(&self.doc, "p", "leadscore-failed", &self.texts.failed) {
                let _ = p.set_attribute("role", "alert");
                let _ = self.form.append_child(&p);
                self.created.push(p);
            }
            return (false, vec![]);
        }
        self.forget();
        // Sent: whatever is filled in next is another lead.
        self.fill_key = random_key();
        self.started = js_sys::Date::now();
        self.phase = Phase::Sent;
        let s = self.session.score().clone();
        self.show_ending(None, s.stage, false);
        (true, vec![Emit::Sent])
    }

    /// The outcome so far, as the events' detail.
    fn detail(&mut self) -> JsValue {
        let p = self.p.clone();
        let s = self.session.score().clone();
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(k), &v);
        };
        let str_or_null = |v: Option<&str>| v.map_or(JsValue::NULL, JsValue::from_str);
        let shown_step = if self.ended() { None } else { self.cur };
        set("step", str_or_null(shown_step.map(|c| p.steps[c].id.as_str())));
        set("steps", self.state.path.iter().map(|&c| JsValue::from_str(&p.steps[c].id)).collect::<Array>().into());
        let pos = self.cur.and_then(|c| self.state.path.iter().position(|&x| x == c)).map_or(0, |x| x + 1);
        set("stepNumber", JsValue::from_f64(pos as f64));
        set("score", JsValue::from_f64(s.total));
        let groups = Object::new();
        for (g, v) in p.groups.iter().zip(&s.groups) {
            let _ = Reflect::set(&groups, &JsValue::from_str(&g.id), &JsValue::from_f64(*v));
        }
        set("groups", groups.into());
        set("stage", JsValue::from_str(super::stage_id(&p, s.stage, s.knockout)));
        let label = match s.knockout {
            Some(_) => None,
            None => p.stages.get(s.stage).and_then(|st| self.text(&st.label)),
        };
        set("stageLabel", str_or_null(label));
        set("grade", str_or_null(p.grade_of(&s.groups).as_deref()));
        let fired: Array = self.session.fired().map(|r| JsValue::from_str(&p.rules[r].id)).collect();
        set("fired", fired.into());
        let ko = s.knockout.and_then(|k| p.knockouts.get(k));
        set("knockout", str_or_null(ko.map(|k| k.id.as_str())));
        set("reason", str_or_null(ko.map(|k| k.reason.as_str())));
        set("ended", JsValue::from_bool(self.ended()));
        set("rulesHash", JsValue::from_str(p.hash()));
        set("at", JsValue::from_f64(self.session.now()));
        o.into()
    }

    /// Whether score, groups, stage, knockout or grade changed since the page was last told.
    fn score_changed(&mut self) -> bool {
        let s = self.session.score().clone();
        let now = (s.groups.iter().map(|g| g.to_bits()).collect(), s.total.to_bits(), s.stage, s.knockout);
        let changed = self.told.as_ref() != Some(&now);
        self.told = Some(now);
        changed
    }
}

/// Sets field `i` from the values its controls submit; `false` when the engine refuses them (the field is
/// then unanswered).
fn set_values(session: &mut crate::Session<Rc<Program>>, i: usize, values: &[String]) -> bool {
    session.set_form_values(i, values).is_ok()
}

/// `promise.then(ok, err)`.
fn then(promise: &JsValue, ok: &JsValue, err: &JsValue) -> JsValue {
    Reflect::get(promise, &JsValue::from_str("then"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call2(promise, ok, err).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A score as people read it: at most one decimal.
fn show_number(x: f64) -> String {
    crate::host::js_string((x * 10.0).round() / 10.0)
}

/// The event and its time (milliseconds since 1970) of an event token `v1.<event>.<at_ms>.<nonce>.<signature>`.
/// Only its shape is read here: the site's server checks the signature.
fn parse_token(token: &str) -> Option<(&str, f64)> {
    let mut parts = token.split('.');
    let (v, event, at, nonce, sig) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = !at.is_empty() && at.len() <= 15 && at.bytes().all(|b| b.is_ascii_digit());
    if v != "v1" || parts.next().is_some() || event.is_empty() || nonce.is_empty() || sig.is_empty() || !digits {
        return None;
    }
    Some((event, at.parse::<u64>().ok()? as f64))
}

/// A random UUID (version 4): `crypto.randomUUID()`, else from `crypto.getRandomValues`.
fn random_key() -> String {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap_or(JsValue::UNDEFINED);
    let method =
        |name: &str| Reflect::get(&crypto, &JsValue::from_str(name)).ok().and_then(|f| f.dyn_into::<Function>().ok());
    if let Some(uuid) = method("randomUUID").and_then(|f| f.call0(&crypto).ok()).and_then(|v| v.as_string()) {
        return uuid;
    }
    let mut b = [0u8; 16];
    let bytes = js_sys::Uint8Array::new_with_length(16);
    match method("getRandomValues").and_then(|f| f.call1(&crypto, &bytes).ok()) {
        Some(_) => bytes.copy_to(&mut b),
        // No Web Crypto at all: a key need not be secret, only unique.
        None => b.iter_mut().for_each(|x| *x = (js_sys::Math::random() * 256.0) as u8),
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (k, x) in b.iter().enumerate() {
        if matches!(k, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        for d in [x >> 4, x & 15] {
            out.push(char::from_digit(d.into(), 16).unwrap_or('0'));
        }
    }
    out
}

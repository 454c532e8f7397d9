//! Small DOM helpers over web-sys: form controls read the way the browser submits them, elements created
//! with text only. Failures of DOM calls (which only happen on a detached or unusual document) are ignored:
//! the form keeps working as a plain form.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};

/// One form control named after a field.
#[derive(Clone)]
pub(super) enum Control {
    Input(HtmlInputElement),
    Select(HtmlSelectElement),
    Text(HtmlTextAreaElement),
}

impl Control {
    pub fn of(e: &Element) -> Option<Control> {
        if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
            let kind = i.type_();
            // Buttons submit nothing of their own.
            if matches!(kind.as_str(), "submit" | "button" | "reset" | "image" | "file") {
                return None;
            }
            return Some(Control::Input(i.clone()));
        }
        if let Some(s) = e.dyn_ref::<HtmlSelectElement>() {
            return Some(Control::Select(s.clone()));
        }
        e.dyn_ref::<HtmlTextAreaElement>().map(|t| Control::Text(t.clone()))
    }

    pub fn element(&self) -> &HtmlElement {
        match self {
            Control::Input(e) => e,
            Control::Select(e) => e,
            Control::Text(e) => e,
        }
    }

    pub fn is_checkbox(&self) -> bool {
        matches!(self, Control::Input(i) if i.type_() == "checkbox")
    }

    /// The values the browser would submit for this control, disabled or not; empty texts left out.
    pub fn values(&self, out: &mut Vec<String>) {
        match self {
            Control::Input(i) => {
                if matches!(i.type_().as_str(), "radio" | "checkbox") {
                    if i.checked() {
                        out.push(i.value());
                    }
                } else {
                    let v = i.value();
                    if !v.trim().is_empty() {
                        out.push(v);
                    }
                }
            }
            Control::Select(s) => {
                let opts = s.selected_options();
                for k in 0..opts.length() {
                    if let Some(o) = opts.item(k).and_then(|o| o.dyn_into::<web_sys::HtmlOptionElement>().ok()) {
                        let v = o.value();
                        if !v.is_empty() {
                            out.push(v);
                        }
                    }
                }
            }
            Control::Text(t) => {
                let v = t.value();
                if !v.trim().is_empty() {
                    out.push(v);
                }
            }
        }
    }

    /// Puts back values saved earlier (a radio or checkbox is checked when its value is among them).
    pub fn restore(&self, values: &[String]) {
        match self {
            Control::Input(i) => {
                if matches!(i.type_().as_str(), "radio" | "checkbox") {
                    i.set_checked(values.iter().any(|v| *v == i.value()));
                } else if i.type_() != "hidden" || i.value().is_empty() {
                    i.set_value(values.first().map_or("", String::as_str));
                }
            }
            Control::Select(s) => {
                let opts = s.options();
                for k in 0..opts.length() {
                    if let Some(o) = opts.item(k).and_then(|o| o.dyn_into::<web_sys::HtmlOptionElement>().ok()) {
                        o.set_selected(values.iter().any(|v| *v == o.value()));
                    }
                }
            }
            Control::Text(t) => t.set_value(values.first().map_or("", String::as_str)),
        }
    }

    /// Whether the control is an `<input type="hidden">`: a value the page sets, which the visitor cannot see.
    pub fn is_hidden_input(&self) -> bool {
        matches!(self, Control::Input(i) if i.type_() == "hidden")
    }

    /// Empties a text control (a background value dropped).
    pub fn clear(&self) {
        if let Control::Input(i) = self {
            i.set_value("");
        }
    }

    pub fn set_disabled(&self, on: bool) {
        match self {
            Control::Input(e) => e.set_disabled(on),
            Control::Select(e) => e.set_disabled(on),
            Control::Text(e) => e.set_disabled(on),
        }
    }

    pub fn disabled(&self) -> bool {
        match self {
            Control::Input(e) => e.disabled(),
            Control::Select(e) => e.disabled(),
            Control::Text(e) => e.disabled(),
        }
    }

    pub fn set_required(&self, on: bool) {
        match self {
            Control::Input(e) => e.set_required(on),
            Control::Select(e) => e.set_required(on),
            Control::Text(e) => e.set_required(on),
        }
    }

    pub fn set_custom_validity(&self, m: &str) {
        match self {
            Control::Input(e) => e.set_custom_validity(m),
            Control::Select(e) => e.set_custom_validity(m),
            Control::Text(e) => e.set_custom_validity(m),
        }
    }

    pub fn check_validity(&self) -> bool {
        match self {
            Control::Input(e) => e.check_validity(),
            Control::Select(e) => e.check_validity(),
            Control::Text(e) => e.check_validity(),
        }
    }

    /// Whether the control misses a required value (as opposed to holding a bad one).
    pub fn value_missing(&self) -> bool {
        match self {
            Control::Input(e) => e.validity().value_missing(),
            Control::Select(e) => e.validity().value_missing(),
            Control::Text(e) => e.validity().value_missing(),
        }
    }
}

/// A new element with a class and a text (never HTML).
pub(super) fn make(doc: &Document, tag: &str, class: &str, text: &str) -> Option<HtmlElement> {
    let e = doc.create_element(tag).ok()?.dyn_into::<HtmlElement>().ok()?;
    if !class.is_empty() {
        e.set_class_name(class);
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    Some(e)
}

/// Hides an element from the eye but not from screen readers (through the CSS object model, which a strict
/// Content-Security-Policy allows, unlike `style` attributes).
pub(super) fn visually_hidden(e: &HtmlElement) {
    let s = e.style();
    for (k, v) in [
        ("position", "absolute"),
        ("width", "1px"),
        ("height", "1px"),
        ("margin", "-1px"),
        ("padding", "0"),
        ("overflow", "hidden"),
        ("clip", "rect(0 0 0 0)"),
        ("white-space", "nowrap"),
        ("border", "0"),
    ] {
        let _ = s.set_property(k, v);
    }
}

pub(super) fn html(e: Element) -> Option<HtmlElement> {
    e.dyn_into::<HtmlElement>().ok()
}

/// Adds `id` to the element's `aria-describedby` list once.
pub(super) fn describe(e: &Element, id: &str) {
    let cur = e.get_attribute("aria-describedby").unwrap_or_default();
    if !cur.split_whitespace().any(|x| x == id) {
        let v = if cur.trim().is_empty() { id.to_string() } else { format!("{cur} {id}") };
        let _ = e.set_attribute("aria-describedby", &v);
    }
}

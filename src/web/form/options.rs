//! Attaching: the options read, the page's elements found, the state built.

use super::*;

impl St {
    pub(super) fn new(form: HtmlFormElement, p: Rc<Program>, options: &JsValue, me: Weak<Ctl>) -> Option<St> {
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
        // `dataLayer: true` or a layer's name; the attribute's value is a name, empty for `dataLayer`.
        let data_layer = match opt(options, "dataLayer") {
            v if v.as_bool() == Some(true) => Some("dataLayer".to_string()),
            v if v.as_string().is_some_and(|s| !s.is_empty()) => v.as_string(),
            v if v.as_bool() == Some(false) => None,
            _ => attr("data-leadscore-datalayer").map(|v| if v.is_empty() { "dataLayer".to_string() } else { v }),
        };
        let attribution = opt(options, "attribution")
            .as_bool()
            .unwrap_or_else(|| attr("data-leadscore-attribution").is_some_and(|v| v != "false"));
        let currency = opt(options, "currency").as_string().or_else(|| attr("data-leadscore-currency"));
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
            data_layer,
            currency,
            sent_key: None,
            persist,
            prefix,
            key,
            consent,
            attribution,
            touches: Default::default(),
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
            shown_ending: JsValue::NULL,
            edit: None,
            told: None,
            qualified: None,
            listeners: vec![],
            p,
        })
    }
}

//! Attribution (`data-leadscore-attribution`): where the visitor came from, as the first and the last touch, kept
//! across pages and visits in localStorage (with consent, when the page asks for it), written into the model's
//! background fields of the same names, so that they are sent, stored and delivered with the lead.
//!
//! A touch is a visit's campaign parameters, click ids, referrer (another site's page) and landing page. A page
//! opened from a campaign link or another site is a new touch: it becomes the last touch, and the first when
//! none is kept. A page reached from the site itself, or typed in, keeps the touches it finds.

use super::*;

/// What a touch records, in the order it is kept (the model's attribution fields).
pub(super) use crate::model::ATTRIBUTION_FIELDS as TOUCH;
/// The touch's values read from the URL's parameters.
const PARAMS: usize = 8;
/// localStorage key of the kept touches: one for the site, whatever its forms and models.
pub(super) const ATTRIBUTION_KEY: &str = "leadscore:attribution";

/// A touch's values, by [`TOUCH`] index (empty: none).
pub(super) type Touch = Vec<String>;

impl St {
    #[inline(never)]
    /// Reads this page's touch, merges it with the kept ones, keeps them when it may, and fills the fields.
    pub(super) fn attribute(&mut self) {
        if !self.attribution {
            return;
        }
        let Some(loc) = web_sys::window().map(|w| w.location()) else { return };
        let params = web_sys::UrlSearchParams::new_with_str(&loc.search().unwrap_or_default()).ok();
        let mut touch: Touch = vec![String::new(); TOUCH.len()];
        for (k, name) in TOUCH[..PARAMS].iter().enumerate() {
            touch[k] = params.as_ref().and_then(|p| p.get(name)).unwrap_or_default();
        }
        // A page of this site is part of the visit, not where it came from.
        let origin = loc.origin().unwrap_or_default();
        let referrer = self.doc.referrer();
        let on_site =
            referrer.starts_with(&origin) && matches!(referrer.as_bytes().get(origin.len()), None | Some(b'/'));
        let external = !referrer.is_empty() && !on_site;
        if external {
            touch[PARAMS] = referrer;
        }
        let mut href = loc.href().unwrap_or_default();
        if let Some(hash) = href.find('#') {
            href.truncate(hash);
        }
        touch[PARAMS + 1] = href;
        let fresh = external || touch[..PARAMS].iter().any(|v| !v.is_empty());
        let kept = storage(true).and_then(|s| s.get_item(ATTRIBUTION_KEY).ok().flatten());
        let kept = kept.and_then(|text| js_sys::JSON::parse(&text).ok()).and_then(|v| {
            let list = v.dyn_into::<Array>().ok()?;
            Some([touch_of(list.get(0))?, touch_of(list.get(1))?])
        });
        self.touches = match kept {
            Some([first, last]) if !fresh => [first, last],
            Some([first, _]) => [first, touch],
            None => [touch.clone(), touch],
        };
        self.keep_touches();
        let p = self.p.clone();
        for (i, f) in p.fields.iter().enumerate() {
            let id = &f.id;
            let (t, name) = id.strip_prefix("first_").map_or((1, id.as_str()), |name| (0, name));
            let Some(k) = TOUCH.iter().position(|n| *n == name) else { continue };
            let value = self.fit(i, self.touches[t][k].clone(), "the visit");
            // A field the visitor answers in the form is theirs.
            let _ = self.set_field(id, &[value]);
        }
    }

    /// Keeps the touches in localStorage when the visitor consented, or when the page asks no consent.
    pub(super) fn keep_touches(&self) {
        let may = self.consent.unwrap_or_else(|| !self.has_banner());
        let Some(s) = storage(true).filter(|_| may && self.attribution) else { return };
        let list = Array::new();
        for t in &self.touches {
            let a = Array::new();
            for v in t {
                a.push(&JsValue::from_str(v));
            }
            list.push(&a);
        }
        if let Ok(text) = js_sys::JSON::stringify(&list) {
            let _ = s.set_item(ATTRIBUTION_KEY, &String::from(text));
        }
    }
}

/// A kept touch: as many strings as [`TOUCH`] has names.
fn touch_of(v: JsValue) -> Option<Touch> {
    let a = v.dyn_into::<Array>().ok().filter(|a| a.length() == TOUCH.len() as u32)?;
    (0..a.length()).map(|k| a.get(k).as_string()).collect()
}

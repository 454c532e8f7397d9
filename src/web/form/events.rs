//! Behaviour events and consent: recording an event (or a signed token), counting it only with consent.

use super::*;

impl St {
    pub(super) fn record(&mut self, event: &str, token: Option<String>) -> (bool, Vec<Emit>) {
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
            None => {
                if self.pending.is_empty() && self.tokens.is_empty() && !self.has_banner() {
                    // Once: a page without a consent banner would otherwise lose every behaviour rule silently.
                    web_sys::console::warn_1(
                        &"leadscore: events wait for the visitor's consent, and count for nothing until then: add a \
                          [data-leadscore-consent] banner, or pass `consent: true`"
                            .into(),
                    );
                }
                self.pending.push((i, at, token))
            }
            Some(false) => {}
        }
        (true, vec![Emit::Score])
    }

    /// Whether event token `t` is already counted (or waiting for consent).
    pub(super) fn counted_token(&self, t: &str) -> bool {
        self.tokens.iter().any(|(_, _, k)| k == t) || self.pending.iter().any(|(_, _, k)| k.as_deref() == Some(t))
    }

    #[inline(never)]
    pub(super) fn set_consent(&mut self, granted: bool) {
        if let Some(s) = storage(true) {
            let _ = s.set_item(CONSENT_KEY, if granted { "yes" } else { "no" });
            if !granted {
                let _ = s.remove_item(&self.events_key());
                let _ = s.remove_item(ATTRIBUTION_KEY);
            }
        }
        let was = self.consent;
        self.consent = Some(granted);
        self.keep_touches();
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

    pub(super) fn show_consent_banner(&self) {
        if let Ok(list) = self.doc.query_selector_all("[data-leadscore-consent=\"\"]") {
            for k in 0..list.length() {
                if let Some(e) = list.item(k).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                    e.set_hidden(self.consent.is_some());
                }
            }
        }
    }
}

/// The event and its time (milliseconds since 1970) of an event token `v1.<event>.<at_ms>.<nonce>.<signature>`.
/// Only its shape is read here: the site's server checks the signature.
pub(super) fn parse_token(token: &str) -> Option<(&str, f64)> {
    let mut parts = token.split('.');
    let (v, event, at, nonce, sig) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = !at.is_empty() && at.len() <= 15 && at.bytes().all(|b| b.is_ascii_digit());
    if v != "v1" || parts.next().is_some() || event.is_empty() || nonce.is_empty() || sig.is_empty() || !digits {
        return None;
    }
    Some((event, at.parse::<u64>().ok()? as f64))
}

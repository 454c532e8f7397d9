// The declarative start: `<script type="module" src="…/auto.js"></script>` drives every
// `<form data-leadscore="URL of a compiled program">` of the page. The module and the programs load in
// parallel; when a form is ready it gets a `leadscore:ready` event whose `detail` is its `FormHandle`. If
// anything fails to load, the form stays the plain form it was, and the reason goes to the console.
import init, { attach } from "./form.js";

const forms = document.querySelectorAll("form[data-leadscore]");
if (forms.length > 0) {
  const ready = init();
  for (const form of forms) {
    const url = form.getAttribute("data-leadscore");
    const bytes = fetch(url).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`HTTP ${r.status}`))));
    Promise.all([ready, bytes])
      .then(([, buffer]) => {
        const handle = attach(form, new Uint8Array(buffer));
        form.dispatchEvent(new CustomEvent("leadscore:ready", { detail: handle, bubbles: true }));
      })
      .catch((e) => console.error(`leadscore: ${url}: the form stays a plain form: ${e && e.message}`));
  }
}

// <LeadscoreForm> for Vue 3: a <form> driven by the form controller. It attaches after mounting, detaches
// before unmounting (and re-attaches when `program` or the content of `options` changes), and renders a plain
// <form> on the server, where `onMounted` does not run. Other attributes (action, method, id, class...) fall
// through to the <form>. Listeners: @ending, @ready, @error; `onSubmit` is a prop (it returns a promise).
import { defineComponent, h, onBeforeUnmount, onMounted, ref, watch } from "vue";
import { failed, optionsKey, start } from "./component.js";

export const LeadscoreForm = defineComponent({
  name: "LeadscoreForm",
  props: {
    /** The compiled program: its URL (a string or a URL), or its bytes (a Uint8Array or an ArrayBuffer), which
     * start() checks. */
    program: { type: null, required: true },
    /** attach()'s options that JSON can carry (locale, texts, submit, earlyFinish, consent, ...). */
    options: { type: Object, default: undefined },
    onEnding: { type: Function, default: undefined },
    onSubmit: { type: Function, default: undefined },
    onReady: { type: Function, default: undefined },
    onError: { type: Function, default: undefined },
  },
  setup(props, { slots, expose }) {
    const form = ref(null);
    let handle = null;
    let run = 0;
    const attach = () => {
      const mine = ++run;
      start(form.value, props.program, props.options, () => props).then(
        (h) => {
          if (mine !== run) return h.detach();
          handle = h;
          props.onReady?.(h);
        },
        (e) => mine === run && failed(e, props.onError),
      );
    };
    const detach = () => {
      run++;
      handle?.detach();
      handle = null;
    };
    onMounted(attach);
    onBeforeUnmount(detach);
    watch([() => props.program, () => optionsKey(props.options)], () => {
      detach();
      attach();
    });
    expose({ handle: () => handle });
    return () => h("form", { ref: form }, slots.default?.());
  },
});

// <LeadscoreForm> for React 18 and 19: a <form> driven by the form controller. It attaches after mounting,
// detaches on unmount (and re-attaches when `program` or the content of `options` changes), and renders a plain
// <form> on the server, where no effect runs. The form's other props (action, method, id, className...) go to
// the <form>, its ref too.
import { createElement, forwardRef, useCallback, useEffect, useRef } from "react";
import { failed, optionsKey, start } from "./component.js";

export const LeadscoreForm = forwardRef(function LeadscoreForm(props, ref) {
  const { program, options, onEnding, onSubmit, onReady, onError, children, ...form } = props;
  const element = useRef(null);
  const latest = useRef(props);
  latest.current = props;
  const key = optionsKey(options);
  useEffect(() => {
    let handle;
    let gone = false;
    start(element.current, program, options, () => latest.current).then(
      (h) => {
        if (gone) return h.detach();
        handle = h;
        latest.current.onReady?.(h);
      },
      (e) => gone || failed(e, latest.current.onError),
    );
    return () => {
      gone = true;
      handle?.detach();
    };
    // `options` is read through its content's key; the callbacks through `latest`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [program, key]);
  const setRef = useCallback(
    (node) => {
      element.current = node;
      if (typeof ref === "function") ref(node);
      else if (ref) ref.current = node;
    },
    [ref],
  );
  return createElement("form", { ...form, ref: setRef }, children);
});

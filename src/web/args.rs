//! The arguments of every export, checked. The glue wasm-bindgen writes for a `&str`, `f64`, `u32` or `bool`
//! parameter checks nothing: a number where a string is expected reads memory out of bounds (a `RuntimeError`),
//! an object with a `length` of 10^7 makes it allocate 10 MB, and `"5"` or `{}` pass for numbers. So exports
//! take JS values (typed for TypeScript below) and check them here: a wrong type throws a `TypeError` that
//! names the parameter, and nothing is coerced.
// The runtime and form builds export fewer functions, and need only some of these checks.
#![cfg_attr(not(feature = "compiler"), allow(dead_code))]

use js_sys::{Array, TypeError};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "string")]
    pub type JsStr;
    #[wasm_bindgen(typescript_type = "number")]
    pub type JsNum;
    #[wasm_bindgen(typescript_type = "boolean")]
    pub type JsBool;
}

/// `leadscore: `param` must be <expected>, not <what it is>`.
pub(crate) fn type_error(param: &str, expected: &str, got: &JsValue) -> JsValue {
    let got = if got.is_null() {
        "null".to_string()
    } else if Array::is_array(got) {
        "an array".to_string()
    } else {
        got.js_typeof().as_string().unwrap_or_default()
    };
    TypeError::new(&format!("leadscore: `{param}` must be {expected}, not {got}")).into()
}

pub(crate) fn string(v: &JsValue, param: &str) -> Result<String, JsValue> {
    v.as_string().ok_or_else(|| type_error(param, "a string", v))
}

/// A string, or None for `undefined` and `null` (which wasm-bindgen makes `None` already).
pub(crate) fn opt_string(v: Option<JsStr>, param: &str) -> Result<Option<String>, JsValue> {
    v.map(|v| string(&v, param)).transpose()
}

pub(crate) fn number(v: &JsValue, param: &str) -> Result<f64, JsValue> {
    v.as_f64().ok_or_else(|| type_error(param, "a number", v))
}

pub(crate) fn opt_number(v: Option<JsNum>, param: &str) -> Result<Option<f64>, JsValue> {
    v.map(|v| number(&v, param)).transpose()
}

pub(crate) fn boolean(v: &JsValue, param: &str) -> Result<bool, JsValue> {
    v.as_bool().ok_or_else(|| type_error(param, "true or false", v))
}

/// A plain object (not an array, not `null`).
pub(crate) fn object(v: &JsValue, param: &str) -> Result<(), JsValue> {
    if v.is_object() && !Array::is_array(v) {
        Ok(())
    } else {
        Err(type_error(param, "an object", v))
    }
}

/// An optional object: `undefined` and `null` are None.
pub(crate) fn opt_object(v: Option<&JsValue>, param: &str) -> Result<(), JsValue> {
    v.map_or(Ok(()), |v| object(v, param))
}

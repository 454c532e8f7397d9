//! Conversions that the host does in the Wasm build: numbers to and from text, case mapping, URLs (resolving
//! a link, percent-encoding a component).
//!
//! Natively these are Rust's. In the Wasm build they are the JS engine's: number conversions are correctly
//! rounded in both, and case mapping is Unicode's default mapping in both, so the results are identical (the
//! parity test compares them on 100,000 leads), while Rust's conversion and case tables (about 60 KB) stay
//! out of the module. This is the one place outside `src/web/` that calls into JS.

use std::fmt;

/// `s.parse::<f64>()`: Rust's grammar (`[+-]digits[.digits][e[+-]digits]`, digits on at least one side of
/// the point, or `inf`, `infinity`, `nan` in any case), nothing around it.
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    #[cfg(not(target_arch = "wasm32"))]
    return s.parse().ok();
    #[cfg(target_arch = "wasm32")]
    {
        if !s.is_empty() && decimal_prefix(s) == s.len() {
            // The whole text is a decimal number, which parseFloat reads exactly as Rust does.
            return Some(js_sys::parse_float(s));
        }
        // `strip_prefix` rather than `&s[1..]`, whose char-boundary panic would bring formatting into the module.
        let (sign, word) = match s.strip_prefix('-') {
            Some(w) => (-1.0, w),
            None => (1.0, s.strip_prefix('+').unwrap_or(s)),
        };
        if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity") {
            Some(sign * f64::INFINITY)
        } else if word.eq_ignore_ascii_case("nan") {
            Some(f64::NAN)
        } else {
            None
        }
    }
}

/// JavaScript's `Number(s)`: JavaScript's white space trimmed (which has U+FEFF and not U+0085), then a decimal
/// number (digits on at least one side of the point), `Infinity` with an optional sign, or `0x`, `0o` or `0b`
/// digits without one; nothing at all is 0, anything else NaN.
pub(crate) fn js_to_number(s: &str) -> f64 {
    #[cfg(target_arch = "wasm32")]
    // Unary `+`, which is ToNumber: a string never throws.
    return wasm_bindgen::JsValue::from_str(s).unchecked_into_f64();
    #[cfg(not(target_arch = "wasm32"))]
    {
        let t = s.trim_matches(is_js_space);
        if t.is_empty() {
            return 0.0;
        }
        if let Some(d) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            return binary_digits(d, 4);
        }
        if let Some(d) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
            return binary_digits(d, 3);
        }
        if let Some(d) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
            return binary_digits(d, 1);
        }
        match t {
            "Infinity" | "+Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ if decimal_prefix(t) == t.len() => t.parse().unwrap_or(f64::NAN),
            _ => f64::NAN,
        }
    }
}

/// JavaScript's `parseFloat(s)`: after leading white space, the longest prefix that is a decimal number or
/// `Infinity` (with an optional sign); NaN when there is none. No `0x`: `parseFloat("0x10")` is 0.
pub(crate) fn js_parse_float(s: &str) -> f64 {
    #[cfg(target_arch = "wasm32")]
    return js_sys::parse_float(s);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let t = s.trim_start_matches(is_js_space);
        let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
        if unsigned.starts_with("Infinity") {
            return if t.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY };
        }
        t[..decimal_prefix(t)].parse().unwrap_or(f64::NAN)
    }
}

/// A URL resolved as browsers resolve links (the WHATWG URL standard), against `base` or, without one, as an
/// absolute URL: its scheme with the colon (`https:`) and its origin (`null` for schemes without one), or
/// None when it does not parse. Natively the `url` crate; in the Wasm build the JS `URL` constructor.
pub(crate) fn resolve_url(input: &str, base: Option<&str>) -> Option<(String, String)> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let base = match base {
            Some(b) => Some(url::Url::parse(b).ok()?),
            None => None,
        };
        let u = url::Url::options().base_url(base.as_ref()).parse(input).ok()?;
        Some((format!("{}:", u.scheme()), u.origin().ascii_serialization()))
    }
    #[cfg(target_arch = "wasm32")]
    {
        let u = js_url::Url::new(input, base).ok()?;
        Some((u.protocol(), u.origin()))
    }
}

/// `s` percent-encoded as a URL component: every byte of its UTF-8 but ASCII letters, digits, `-`, `.`, `_` and
/// `~`, as `%XX` in upper case. Natively the `percent-encoding` crate; in the Wasm build JS's
/// `encodeURIComponent`, which leaves `!'()*` as they are, so those five are encoded after it.
pub(crate) fn encode_component(s: &str) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        const COMPONENT: &percent_encoding::AsciiSet =
            &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
        utf8_percent_encode(s, COMPONENT).to_string()
    }
    #[cfg(target_arch = "wasm32")]
    {
        let js = String::from(js_sys::encode_uri_component(s));
        let mut out = String::with_capacity(js.len());
        for c in js.chars() {
            match c {
                '!' => out.push_str("%21"),
                '\'' => out.push_str("%27"),
                '(' => out.push_str("%28"),
                ')' => out.push_str("%29"),
                '*' => out.push_str("%2A"),
                c => out.push(c),
            }
        }
        out
    }
}

#[cfg(target_arch = "wasm32")]
mod js_url {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// The global `URL` class (browsers, Node).
        #[wasm_bindgen(js_name = URL)]
        pub type Url;
        #[wasm_bindgen(constructor, js_class = "URL", catch)]
        pub fn new(url: &str, base: Option<&str>) -> Result<Url, JsValue>;
        #[wasm_bindgen(method, getter)]
        pub fn protocol(this: &Url) -> String;
        #[wasm_bindgen(method, getter)]
        pub fn origin(this: &Url) -> String;
    }
}

/// JavaScript's white space and line terminators, which `Number` and `parseFloat` skip.
#[cfg(not(target_arch = "wasm32"))]
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// The value of `bits`-bit digits (hexadecimal 4, octal 3, binary 1), correctly rounded as JavaScript does;
/// NaN when there are none or one is not a digit.
#[cfg(not(target_arch = "wasm32"))]
fn binary_digits(digits: &str, bits: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    // The leading 57 or more bits, exactly; below them only whether any bit is set (sticky), which is all
    // rounding to 53 bits needs.
    let (mut v, mut scale, mut sticky) = (0u64, 0i32, false);
    for c in digits.chars() {
        let Some(d) = c.to_digit(1 << bits) else { return f64::NAN };
        if v >> (64 - bits) == 0 {
            v = v << bits | u64::from(d);
        } else {
            scale = scale.saturating_add(bits as i32);
            sticky |= d != 0;
        }
    }
    libm::scalbn((v | u64::from(sticky)) as f64, scale)
}

/// The length of the longest prefix of `s` in Rust's decimal grammar (no words); 0 when none.
pub(crate) fn decimal_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut i = digits(start);
    let mut any = i > start;
    if b.get(i) == Some(&b'.') {
        let j = digits(i + 1);
        any |= j > i + 1;
        i = j;
    }
    if !any {
        return 0;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let k = i + 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        let j = digits(k);
        if j > k {
            i = j;
        }
    }
    i
}

/// A number as JavaScript's `String(n)` writes it: `20`, `0.5`, `1e+21`, `1e-7`, `NaN`, `-Infinity`.
pub(crate) fn js_string(n: f64) -> String {
    #[cfg(target_arch = "wasm32")]
    return js_sys::Number::from(n).to_string_with_radix(10).map(String::from).unwrap_or_default();
    #[cfg(not(target_arch = "wasm32"))]
    {
        if n.is_nan() {
            return "NaN".into();
        }
        if n == 0.0 {
            return "0".into();
        }
        if n.is_infinite() {
            return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
        }
        // Rust's `{:e}` gives the shortest digits that read back as `n`: `d[.ddd]e[-]x`.
        let sci = format!("{:e}", n.abs());
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let k = digits.len() as i32;
        let e: i32 = exp.parse().unwrap_or(0);
        let point = e + 1; // the decimal point falls after `point` digits
        let mut out = String::from(if n < 0.0 { "-" } else { "" });
        if k <= point && point <= 21 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (point - k) as usize));
        } else if 0 < point && point <= 21 {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        } else if -6 < point && point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else {
            out.push_str(&digits[..1]);
            if k > 1 {
                out.push('.');
                out.push_str(&digits[1..]);
            }
            out.push('e');
            out.push(if e < 0 { '-' } else { '+' });
            out.push_str(&e.unsigned_abs().to_string());
        }
        out
    }
}

/// `s` in lower case (Unicode's default mapping, as JS `toLowerCase`); `None` when that changes nothing.
pub(crate) fn lower(s: &str) -> Option<String> {
    map_case(s, false)
}

/// `s` in upper case (as JS `toUpperCase`); `None` when that changes nothing.
pub(crate) fn upper(s: &str) -> Option<String> {
    map_case(s, true)
}

/// `s` without accents: decomposed (Unicode NFD, JS `normalize("NFD")` in Wasm), then without the combining
/// diacritical marks (U+0300 to U+036F and their supplements). "Société" is "Societe".
#[cfg(feature = "leads")]
pub(crate) fn strip_accents(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    #[cfg(target_arch = "wasm32")]
    let decomposed: String = js_sys::JsString::from(s).normalize("NFD").into();
    #[cfg(not(target_arch = "wasm32"))]
    let decomposed: String = unicode_normalization::UnicodeNormalization::nfd(s).collect();
    let mark = |c: &char| matches!(*c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F);
    decomposed.chars().filter(|c| !mark(c)).collect()
}

/// [`lower`] or [`upper`] of `s`, written at the end of `out`: for an ASCII string, without allocating.
#[cfg(any(feature = "compiler", not(target_arch = "wasm32")))]
pub(crate) fn case_into(s: &str, up: bool, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(if up { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() })));
    } else {
        out.push_str(map_case(s, up).as_deref().unwrap_or(s));
    }
}

fn map_case(s: &str, up: bool) -> Option<String> {
    if s.is_ascii() {
        // The common case (a text answer set in a session): nothing to change, nothing allocated.
        let changes = |b: &u8| if up { b.is_ascii_lowercase() } else { b.is_ascii_uppercase() };
        return s
            .as_bytes()
            .iter()
            .any(changes)
            .then(|| if up { s.to_ascii_uppercase() } else { s.to_ascii_lowercase() });
    }
    #[cfg(target_arch = "wasm32")]
    let mapped = {
        let js = js_sys::JsString::from(s);
        String::from(if up { js.to_upper_case() } else { js.to_lower_case() })
    };
    #[cfg(not(target_arch = "wasm32"))]
    let mapped = if up { s.to_uppercase() } else { s.to_lowercase() };
    (mapped != s).then_some(mapped)
}

/// `Display` of a number as JavaScript writes it, for messages.
#[derive(Clone, Copy)]
pub(crate) struct Js(pub f64);

impl fmt::Display for Js {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&js_string(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_javascript_writes_them() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (20.0, "20"),
            (-2.5, "-2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (1e-6, "0.000001"),
            (1.25e-7, "1.25e-7"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (n, want) in cases {
            assert_eq!(js_string(n), want, "{n:e}");
        }
    }

    #[test]
    fn case_mapping_changes_only_what_it_must() {
        assert_eq!(lower("already lower"), None);
        assert_eq!(lower("VP Marketing").as_deref(), Some("vp marketing"));
        assert_eq!(upper("IT"), None);
        assert_eq!(upper("straße").as_deref(), Some("STRASSE"));
        assert_eq!(lower("ÀÉ").as_deref(), Some("àé"));
        assert_eq!(lower("àé"), None);
    }

    #[test]
    fn decimal_prefixes_follow_rusts_grammar() {
        let cases = [
            ("12", 2),
            ("-1.5e3x", 6),
            (".5", 2),
            ("5.", 2),
            ("e5", 0),
            ("1e", 1),
            ("+", 0),
            ("1e+", 1),
            ("1.e5", 4),
            (".e5", 0),
            ("1e5.5", 3),
            ("1.2.3", 3),
            ("1-2", 1),
            ("-.5x", 3),
        ];
        for (s, n) in cases {
            assert_eq!(decimal_prefix(s), n, "{s}");
            if n == s.len() {
                assert!(s.parse::<f64>().is_ok(), "{s}");
            }
        }
    }
}

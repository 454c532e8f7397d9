//! What makes a name, an id, an option value and a link valid: one definition, which the compiler applies to a
//! document (each problem a diagnostic at its JSON pointer) and the decoder to a program read from bytes
//! (`Program::from_bytes`), so that a program the compiler would refuse never loads, however it was made.

use crate::host::resolve_url;

/// The columns a history of past leads (the backtest's input, the receiver's export) has besides its fields
/// and events: no field or event may be called so.
pub(crate) const HISTORY_COLUMNS: [&str; 3] = ["id", "scored_at", "outcome"];

/// The words of the expression language.
pub(crate) const KEYWORDS: [&str; 10] = ["and", "or", "not", "in", "between", "if", "then", "else", "true", "false"];

/// A name an expression can use (a field, list, event or group): a letter or `_`, then letters, digits, `_`.
pub(crate) fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A word no name may be: the language's keywords, `score`, and `end` (a step jump's target).
pub(crate) fn is_reserved(s: &str) -> bool {
    KEYWORDS.contains(&s) || s == "score" || s == "end"
}

/// An id of a rule, knockout, stage or step, or a knockout's reason: 1 to 100 letters, digits, `_`, `-`, `.`.
pub(crate) fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// An option value: not empty, no `;`, no space at either end. A multi answer in a CSV cell (a history, an
/// export, a text input) is its values joined by `;`, each read trimmed.
pub(crate) fn is_option_value(v: &str) -> bool {
    !v.is_empty() && v.trim() == v && !v.contains(';')
}

/// The page a relative link is checked against. Any `http:` or `https:` page resolves a link that stays on its
/// site to its own origin, and one that leaves it to another, so one made-up page stands for every page.
const PAGE: &str = "https://page.leadscore.invalid/a/b";
const PAGE_ORIGIN: &str = "https://page.leadscore.invalid";

/// Why a link an ending offers is not allowed, or None when it is. Allowed: an absolute `https:`, `http:` or
/// `mailto:` URL, or a relative one that stays on the page's site (`/pricing`, `thanks.html`, `?q=1`, `#top`).
/// Links are resolved as browsers resolve them (WHATWG), so `/\evil.example` and `//evil.example`, which a
/// browser reads as another host, are refused. Control characters (which browsers remove, tab and new line
/// among them) are refused outright.
pub(crate) fn link_problem(url: &str) -> Option<&'static str> {
    if url.trim().is_empty() {
        return Some("it is empty");
    }
    if url.chars().any(char::is_control) {
        return Some("it has a control character");
    }
    if let Some((scheme, _)) = resolve_url(url, None) {
        return match scheme.as_str() {
            "https:" | "http:" | "mailto:" => None,
            _ => Some("its scheme is not https:, http: or mailto:"),
        };
    }
    match resolve_url(url, Some(PAGE)) {
        Some((_, origin)) if origin == PAGE_ORIGIN => None,
        Some(_) => Some("a browser would open it on another site"),
        None => Some("it is not a URL"),
    }
}

/// The fields a link's placeholders name (`{email}` in `https://cal.example.com/demo?email={email}`), in order;
/// `Err` when a brace is not part of a placeholder of a name.
pub(crate) fn placeholders(url: &str) -> Result<Vec<&str>, &'static str> {
    const BRACES: &str = "a `{` or `}` is not part of a placeholder such as `{email}`";
    // Splits and no slicing: a slice's panic would bring char formatting into the Wasm builds.
    let mut parts = url.split('{');
    if parts.next().is_some_and(|head| head.contains('}')) {
        return Err(BRACES);
    }
    let mut names = vec![];
    for part in parts {
        match part.split_once('}') {
            Some((name, rest)) if is_ident(name) && !rest.contains('}') => names.push(name),
            _ => return Err(BRACES),
        }
    }
    Ok(names)
}

/// `url` with each placeholder replaced by `value(name)`, percent-encoded as a URL component (every byte but
/// letters, digits, `-`, `.`, `_` and `~`), so that an answer never adds a `/`, `?`, `&` or `#` to the link.
/// A link [`placeholders`] refuses comes back as it is.
pub(crate) fn fill_link(url: &str, mut value: impl FnMut(&str) -> String) -> String {
    fill(url, |name, out| out.push_str(&crate::host::encode_component(&value(name))))
}

/// `template` with each placeholder replaced by what `write(name, out)` appends; a template [`placeholders`]
/// refuses comes back as it is. Links (above) and the receiver's messages are filled by it.
pub(crate) fn fill(template: &str, mut write: impl FnMut(&str, &mut String)) -> String {
    if placeholders(template).is_err() {
        return template.to_string();
    }
    let mut parts = template.split('{');
    let mut out = parts.next().unwrap_or("").to_string();
    for part in parts {
        let (name, rest) = part.split_once('}').unwrap_or((part, ""));
        write(name, &mut out);
        out.push_str(rest);
    }
    out
}

/// Why an ending's action link is not allowed, or None. Its placeholders must name fields (`is_field`) and may
/// fill only its path, query or fragment: filled with two different answers it must be an allowed link
/// ([`link_problem`]) on the same site both times.
pub(crate) fn action_problem(url: &str, is_field: impl Fn(&str) -> bool) -> Option<&'static str> {
    let names = match placeholders(url) {
        Ok(names) => names,
        Err(problem) => return Some(problem),
    };
    if !names.iter().all(|n| is_field(n)) {
        return Some("a placeholder names no field of the model");
    }
    if names.is_empty() {
        return link_problem(url);
    }
    let (a, b) = (fill_link(url, |_| "a".into()), fill_link(url, |_| "b".into()));
    if let Some(problem) = link_problem(&a).or_else(|| link_problem(&b)) {
        return Some(problem);
    }
    // Before the first placeholder, the scheme and the host (a mailto: link's address) are complete.
    let head = url.split('{').next().unwrap_or("").trim_start().to_ascii_lowercase();
    let after_authority = match head.as_bytes().windows(3).position(|w| w == b"://") {
        Some(at) => head.get(at + 3..).is_some_and(|rest| rest.contains(['/', '?', '#'])),
        None => !head.starts_with("mailto:") || head.contains('?'),
    };
    let site = |u: &str| resolve_url(u, Some(PAGE)).map(|(scheme, origin)| scheme + &origin);
    if !after_authority || site(&a) != site(&b) {
        return Some(
            "a placeholder is in its scheme, host or address: answers may fill only its path, query or fragment",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_resolved_as_browsers_resolve_them() {
        for ok in [
            "https://cal.example.com/tidewater/discovery",
            "HTTP://example.com",
            "mailto:partners@tidewater.example.com",
            "/work/saas-lead-generation",
            "thanks.html",
            "../pricing",
            "?plan=pro",
            "#contact",
            " /padded ",
        ] {
            assert_eq!(link_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("/\\evil.example/x", "a browser would open it on another site"),
            ("\\\\evil.example", "a browser would open it on another site"),
            ("//evil.example", "a browser would open it on another site"),
            ("/\t/evil.example", "it has a control character"),
            ("/\n/evil.example", "it has a control character"),
            ("javascript:alert(1)", "its scheme is not https:, http: or mailto:"),
            (" JavaScript:alert(1)", "its scheme is not https:, http: or mailto:"),
            ("data:text/html,<script>alert(1)</script>", "its scheme is not https:, http: or mailto:"),
            ("file:///etc/passwd", "its scheme is not https:, http: or mailto:"),
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("https://[::1", "it is not a URL"),
        ] {
            assert_eq!(link_problem(bad), Some(why), "{bad:?}");
        }
    }

    #[test]
    fn placeholders_fill_only_the_path_query_or_fragment_and_are_encoded() {
        let field = |n: &str| ["email", "first_name", "company"].contains(&n);
        let ok = "https://cal.example.com/team/demo?email={email}&name={first_name}";
        assert_eq!(placeholders(ok), Ok(vec!["email", "first_name"]));
        assert_eq!(action_problem(ok, field), None);
        for ok in
            ["/book/{company}", "mailto:sales@example.com?subject=Demo%20for%20{company}", "https://x.example/#{email}"]
        {
            assert_eq!(action_problem(ok, field), None, "{ok}");
        }
        let filled = fill_link(ok, |n| if n == "email" { "ann+1@acme.example".into() } else { "Ann & Bo/#?".into() });
        assert_eq!(
            filled,
            "https://cal.example.com/team/demo?email=ann%2B1%40acme.example&name=Ann%20%26%20Bo%2F%23%3F"
        );
        assert_eq!(fill_link("/x?q={email}", |_| "é ü".into()), "/x?q=%C3%A9%20%C3%BC");
        // The same string as the Wasm build's (tests/node/runtime.test.mjs), which encodes with JS.
        assert_eq!(
            fill_link("?c={c}", |_| "A!'()* é/&#+~-._Z".into()),
            "?c=A%21%27%28%29%2A%20%C3%A9%2F%26%23%2B~-._Z"
        );
        const HOST: &str =
            "a placeholder is in its scheme, host or address: answers may fill only its path, query or fragment";
        const BRACES: &str = "a `{` or `}` is not part of a placeholder such as `{email}`";
        for (bad, why) in [
            ("https://{company}.cal.example.com/demo", HOST),
            ("https://cal.example.com{company}/demo", HOST),
            ("https://user{email}@cal.example.com/", HOST),
            ("//{company}.example/", "a browser would open it on another site"),
            ("/\\{company}.example/", "a browser would open it on another site"),
            ("mailto:{email}", HOST),
            ("https://cal.example.com/?e={nope}", "a placeholder names no field of the model"),
            ("https://cal.example.com/?e={email", BRACES),
            ("https://cal.example.com/?e=email}", BRACES),
            ("https://cal.example.com/?e={e-mail}", BRACES),
            ("https://cal.example.com/?e={}", BRACES),
            ("javascript:alert('{email}')", "its scheme is not https:, http: or mailto:"),
        ] {
            assert_eq!(action_problem(bad, field), Some(why), "{bad}");
        }
    }

    #[test]
    fn names_ids_and_option_values() {
        assert!(is_ident("_x1") && !is_ident("1x") && !is_ident("a-b") && !is_ident(""));
        assert!(is_reserved("score") && is_reserved("end") && is_reserved("between") && !is_reserved("scores"));
        assert!(is_id("a-1.b_c") && !is_id("") && !is_id(&"x".repeat(101)) && !is_id("a b"));
        assert!(is_option_value("51-200") && !is_option_value("") && !is_option_value(" a") && !is_option_value("a;b"));
    }
}

//! The landing page's static files, as `www/serve.mjs` serves them: a fixed set of types, no hidden files,
//! nothing outside the root (links included), `index.html` for a directory.

use std::path::{Component, Path};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::App;

/// Content types by extension; a file with any other extension is not served.
const TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("wasm", "application/wasm"),
    ("lsp", "application/octet-stream"),
    ("svg", "image/svg+xml"),
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
];

/// What a path segment keeps unencoded: what `encodeURIComponent` keeps (as `www/serve.mjs` does).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

pub fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body.into()).into_response()
}

pub async fn serve(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")], "405 method not allowed\n")
            .into_response();
    }
    let Some(root) = &app.config.root else { return text(StatusCode::NOT_FOUND, "404 not found\n") };
    let not_found = || text(StatusCode::NOT_FOUND, "404 not found\n");
    let Ok(path) = percent_encoding::percent_decode_str(uri.path()).decode_utf8() else { return not_found() };
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if path.contains('\0') || path.contains('\\') || parts.iter().any(|p| p.starts_with('.')) {
        return not_found();
    }
    let Ok(root) = tokio::fs::canonicalize(root).await else { return not_found() };
    let mut file = root.clone();
    for p in &parts {
        if Path::new(p).components().any(|c| !matches!(c, Component::Normal(_))) {
            return not_found();
        }
        file.push(p);
    }
    let mut meta = tokio::fs::metadata(&file).await.ok();
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        if !uri.path().ends_with('/') {
            // From the normalised path, never the raw one: `//name` would send the browser to the host `name`.
            let q = uri.query().map_or(String::new(), |q| format!("?{q}"));
            let mut to = String::from("/");
            for p in &parts {
                to.extend(percent_encoding::utf8_percent_encode(p, SEGMENT));
                to.push('/');
            }
            to.push_str(&q);
            return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)], "moved\n").into_response();
        }
        file.push("index.html");
        meta = tokio::fs::metadata(&file).await.ok();
    }
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    let Some(&(_, kind)) = TYPES.iter().find(|(e, _)| *e == ext) else { return not_found() };
    if !meta.is_some_and(|m| m.is_file()) {
        return not_found();
    }
    // A link inside the root must not lead outside it.
    match tokio::fs::canonicalize(&file).await {
        Ok(real) if real.starts_with(&root) => {}
        _ => return not_found(),
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let body = if method == Method::HEAD { Body::empty() } else { Body::from(bytes.clone()) };
            let mut res = (StatusCode::OK, [(header::CONTENT_TYPE, kind)], body).into_response();
            res.headers_mut().insert(header::CONTENT_LENGTH, bytes.len().into());
            if let Ok(policy) = header::HeaderValue::from_str(&app.site_csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
            }
            res
        }
        Err(_) => not_found(),
    }
}

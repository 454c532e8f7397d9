//! The lead receiver (`leadscore serve`): serves a landing page's files, receives its form, re-scores each
//! lead with the same engine, keeps it durably, delivers it to the sales tools, and shows it to sales.
//! Native only (feature `serve`); docs/serve.md is the reference and the threat model.
//!
//! ```text
//! POST /submit -> rate limit -> body (urlencoded or JSON, limited) -> honeypot, fill time, CAPTCHA
//!              -> Answers::from_form_entries + trusted events -> verdict -> store (lead + outbox, one
//!                 transaction) -> 2xx
//! outbox worker -> webhook / HubSpot / Salesforce, retried with backoff, at least once
//! /inbox       -> leads newest first, won/lost, history export (what `leadscore backtest` reads)
//! ```

pub mod config;
mod deliver;
mod files;
mod inbox;
mod limit;
mod page;
mod people;
mod receive;
pub mod store;
pub mod trust;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;

pub use config::Config;
pub use inbox::{history, history_csv};
pub use store::Store;

use crate::Program;
use config::TargetConfig;

/// The Content-Security-Policy of every response: no inline code, WebAssembly allowed, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' \
     data:; connect-src 'self'; worker-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Milliseconds since 1970 by the system clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Why the receiver cannot start or stopped.
#[derive(Debug)]
pub struct ServeError(pub String);

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServeError {}

/// The programs a submission may have been scored with, by rules hash.
pub struct Programs {
    pub current: Arc<Program>,
    by_hash: HashMap<String, Arc<Program>>,
}

impl Programs {
    /// The accepted program with this hash.
    pub fn get(&self, hash: &str) -> Option<&Arc<Program>> {
        self.by_hash.get(hash)
    }

    /// Every accepted hash, the current one first.
    pub fn hashes(&self) -> Vec<&str> {
        let mut h: Vec<&str> = self.by_hash.keys().map(String::as_str).filter(|h| *h != self.current.hash()).collect();
        h.sort_unstable();
        h.insert(0, self.current.hash());
        h
    }
}

/// A rules document (compiled here, errors rendered with their line and column) or a compiled program.
pub fn load_program(path: &Path) -> Result<Program, String> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    if bytes.starts_with(Program::MAGIC) {
        return Program::from_bytes(&bytes).map_err(|e| format!("{name}: not a compiled program: {e}"));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
    let compiled = crate::compile_str(&text);
    match compiled.program {
        Some(p) if !compiled.has_errors() => Ok(p),
        _ => Err(format!(
            "{name} has errors:\n{}",
            crate::diagnostic::render_at_most(&compiled.diagnostics, &text, &name, 50)
        )),
    }
}

/// Everything a request handler needs.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub programs: Programs,
    pub keys: trust::Keys,
    limiter: limit::Limiter,
    http: reqwest::Client,
    /// Wakes the delivery worker when a lead is stored.
    wake: tokio::sync::Notify,
    users: inbox::Users,
    /// The static pages' Content-Security-Policy: the strict one with `[csp]`'s sources.
    pub site_csp: String,
}

impl App {
    /// Opens the store and loads the programs: the current one (published in the store), the configured
    /// others, and the newest `model.keep` published ones of the same model.
    pub async fn new(config: Config) -> Result<Arc<App>, ServeError> {
        let current = load_program(&config.model.path).map_err(ServeError)?;
        let store = Store::open(&config.database)
            .await
            .map_err(|e| ServeError(format!("cannot open the database {}: {e}", redact(&config.database))))?;
        let now = now_ms();
        store
            .publish(current.hash(), &current.id, &current.to_bytes(), now)
            .await
            .map_err(|e| ServeError(e.to_string()))?;
        let current = Arc::new(current);
        let mut by_hash = HashMap::new();
        by_hash.insert(current.hash().to_string(), current.clone());
        for path in &config.model.accept {
            let p = load_program(path).map_err(ServeError)?;
            store.publish(p.hash(), &p.id, &p.to_bytes(), now).await.map_err(|e| ServeError(e.to_string()))?;
            by_hash.insert(p.hash().to_string(), Arc::new(p));
        }
        let keep = i64::try_from(config.model.keep).unwrap_or(i64::MAX);
        for (hash, bytes) in store.published(&current.id, keep).await.map_err(|e| ServeError(e.to_string()))? {
            if by_hash.len() >= config.model.keep.max(1 + config.model.accept.len()) {
                break;
            }
            if let Ok(p) = Program::from_bytes(&bytes) {
                by_hash.entry(hash).or_insert_with(|| Arc::new(p));
            }
        }
        let honeypot = &config.receive.honeypot;
        if let Some(p) = by_hash.values().find(|p| p.field_index(honeypot).is_some()) {
            return Err(ServeError(format!(
                "receive.honeypot: `{honeypot}` is a field of the model `{}`, which visitors fill in, so their \
                 leads would be refused as bots'; name the hidden field otherwise (the default is \
                 `leadscore_website`)",
                p.id
            )));
        }
        check_targets(&config.targets, &by_hash).map_err(ServeError)?;
        check_assign(&config.assign, &by_hash).map_err(ServeError)?;
        keep_facts(&store, &current, &by_hash).await.map_err(|e| ServeError(e.to_string()))?;
        check_redirects(&config.page.redirects, &by_hash).map_err(ServeError)?;
        let secret = match &config.secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                tracing::warn!(
                    "no `secret` in the configuration: a random one is used, so event tokens are never vouched for \
                     and IP hashes change at each start"
                );
                let mut s = [0u8; 32];
                getrandom::fill(&mut s).map_err(|e| ServeError(format!("no random numbers: {e}")))?;
                s.to_vec()
            }
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(config.delivery.timeout_ms))
            .user_agent(concat!("leadscore/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ServeError(format!("cannot make an HTTP client: {e}")))?;
        let users = inbox::Users::new(&config.users);
        let limiter = limit::Limiter::new(config.receive.rate_per_minute, config.receive.rate_burst);
        Ok(Arc::new(App {
            keys: trust::Keys::new(&secret),
            programs: Programs { current, by_hash },
            store,
            limiter,
            http,
            wake: tokio::sync::Notify::new(),
            users,
            site_csp: config.csp.policy(),
            config,
        }))
    }

    /// Whether tokens can be vouched for: only with a configured secret.
    fn vouches(&self) -> bool {
        self.config.secret.is_some()
    }
}

/// Each target's routing and mapping names what the accepted models have: its `stages` are stages (or
/// `disqualified`), its `knockouts` knockout reasons, the keys of its `fields` fields; else a lead would silently
/// never reach it, or reach it without a value.
fn check_targets(targets: &[TargetConfig], programs: &HashMap<String, Arc<Program>>) -> Result<(), String> {
    use std::collections::BTreeSet;
    let mut models: Vec<&Program> = programs.values().map(|p| &**p).collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    let mut stages = BTreeSet::from(["disqualified"]);
    let (mut reasons, mut fields) = (BTreeSet::new(), BTreeSet::new());
    for p in &models {
        stages.extend(p.stages.iter().map(|s| s.id.as_str()));
        reasons.extend(p.knockouts.iter().map(|k| k.reason.as_str()));
        fields.extend(p.fields.iter().map(|f| f.id.as_str()));
    }
    let model = models.iter().map(|p| format!("`{}`", p.id)).collect::<Vec<_>>().join(", ");
    for (i, t) in targets.iter().enumerate() {
        for (key, template) in t.templates() {
            let names = crate::valid::placeholders(template).map_err(|m| format!("targets[{i}].{key}: {m}"))?;
            if let Some(n) = names.iter().find(|n| !deliver::MESSAGE_VALUES.contains(n) && !fields.contains(*n)) {
                return Err(format!(
                    "targets[{i}].{key}: `{{{n}}}` is neither a field of the model {model} nor one of {}",
                    deliver::MESSAGE_VALUES.join(", ")
                ));
            }
        }
        let checks: [(&str, Vec<&String>, &BTreeSet<&str>, &str); 3] = [
            ("stages", t.stages.iter().collect(), &stages, "stage"),
            ("knockouts", t.knockouts.iter().collect(), &reasons, "knockout reason"),
            ("fields", t.fields.keys().collect(), &fields, "field"),
        ];
        for (key, names, known, what) in checks {
            if let Some(name) = names.into_iter().find(|n| !known.contains(n.as_str())) {
                let list = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.iter().copied().collect::<Vec<_>>().join(", ")
                };
                return Err(format!(
                    "targets[{i}].{key}: `{name}` is not a {what} of the model {model} (its {what}s: {list})"
                ));
            }
        }
    }
    Ok(())
}

/// The stages the assignment rules name are the accepted models'.
fn check_assign(rules: &[config::AssignRule], programs: &HashMap<String, Arc<Program>>) -> Result<(), String> {
    let mut stages: Vec<&str> = programs.values().flat_map(|p| p.stages.iter().map(|s| s.id.as_str())).collect();
    stages.push("disqualified");
    stages.sort_unstable();
    stages.dedup();
    for (i, r) in rules.iter().enumerate() {
        if let Some(s) = r.stages.iter().find(|s| !stages.contains(&s.as_str())) {
            return Err(format!(
                "assign[{i}].stages: `{s}` is not a stage of the model (its stages: {})",
                stages.join(", ")
            ));
        }
    }
    Ok(())
}

/// Leads stored by a receiver older than the inbox's search get their facts, read by the program that scored
/// them (else the current one), so that the search and the filters find them too.
async fn keep_facts(
    store: &Store,
    current: &Program,
    programs: &HashMap<String, Arc<Program>>,
) -> Result<(), store::StoreError> {
    let mut n = 0;
    loop {
        let batch = store.without_facts(500).await?;
        if batch.is_empty() {
            break;
        }
        for lead in batch {
            let p = programs.get(&lead.rules_hash).map_or(current, |p| &**p);
            store.set_facts(&lead.id, people::facts(p, &lead.record)).await?;
            n += 1;
        }
    }
    if n > 0 {
        tracing::info!(leads = n, "kept the facts of leads stored before the inbox's search");
    }
    Ok(())
}

/// The stages and knockout reasons the page's redirects name are the accepted models'.
fn check_redirects(r: &config::RedirectConfig, programs: &HashMap<String, Arc<Program>>) -> Result<(), String> {
    let stages: Vec<&str> = programs.values().flat_map(|p| p.stages.iter().map(|s| s.id.as_str())).collect();
    let reasons: Vec<&str> = programs.values().flat_map(|p| p.knockouts.iter().map(|k| k.reason.as_str())).collect();
    if let Some(s) = r.stages.keys().find(|s| !stages.contains(&s.as_str())) {
        return Err(format!(
            "page.redirects.stages: `{s}` is not a stage of the model (its stages: {})",
            stages.join(", ")
        ));
    }
    if let Some(k) = r.knockouts.keys().find(|k| !reasons.contains(&k.as_str())) {
        return Err(format!(
            "page.redirects.knockouts: `{k}` is not a knockout reason of the model (its reasons: {})",
            if reasons.is_empty() { "none".to_string() } else { reasons.join(", ") }
        ));
    }
    Ok(())
}

/// The `Origin` of a request from another site's page: present, not `null` (a browser that hides the origin:
/// a sandboxed frame, a `file:` page) and not the receiver's own host.
pub(crate) fn foreign_origin(headers: &axum::http::HeaderMap) -> Option<&str> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())?;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let bare = origin.split_once("://").map_or(origin, |(_, h)| h);
    (origin != "null" && bare != host).then_some(origin)
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The receiver's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/submit",
            post(receive::submit)
                .options(receive::preflight)
                .layer(axum::middleware::from_fn_with_state(app.clone(), receive::cors)),
        )
        .route("/healthz", get(healthz))
        .merge(inbox::routes())
        .fallback(files::serve)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

async fn security_headers(mut res: axum::response::Response) -> axum::response::Response {
    let h = res.headers_mut();
    // The static files set the site's own policy (`[csp]`); everything else gets the strict one.
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-cache"));
    res
}

async fn healthz(axum::extract::State(app): axum::extract::State<Arc<App>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match app.store.ping().await {
        Ok(()) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"ok": true, "rulesHash": app.programs.current.hash(), "accepted": app.programs.hashes()})
                .to_string(),
        )
            .into_response(),
        Err(e) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"ok": false, "error": e.to_string()}).to_string(),
        )
            .into_response(),
    }
}

/// A running receiver.
pub struct Running {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops taking connections, lets requests in flight finish, then stops the delivery worker after its
    /// current attempts (the outbox keeps the rest).
    pub async fn stop(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.wait().await
    }

    /// Runs until stopped.
    pub async fn wait(self) -> Result<(), ServeError> {
        let r = self.server.await;
        let _ = self.stop.send(true);
        let _ = self.worker.await;
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError(format!("the server stopped: {e}"))),
            Err(e) => Err(ServeError(format!("the server stopped: {e}"))),
        }
    }

    /// A handle that stops the receiver (from a signal handler).
    pub fn stopper(&self) -> tokio::sync::watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Binds `config.listen` (port 0: any free port) and starts serving and delivering.
pub async fn start(app: Arc<App>) -> Result<Running, ServeError> {
    let listen = app.config.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| ServeError(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| ServeError(e.to_string()))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(deliver::worker(app.clone(), stopped.clone()));
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    let mut until = stopped;
    let server = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = until.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running { addr, stop, server, worker })
}

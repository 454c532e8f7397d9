//! `leadscore serve` (the lead receiver, `leadscore::serve`), `leadscore token` and
//! `leadscore hash-password`, and reading a receiver's store for `backtest --db`.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use leadscore::serve::{self, Config};

#[derive(Args)]
pub struct ServeArgs {
    /// The receiver's configuration (TOML; docs/serve.md). Without it: the example model, SQLite in
    /// ./leadscore.db, no static files, no delivery targets, no inbox users.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen on this address instead (such as 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long)]
    listen: Option<String>,
    /// The database instead: sqlite:PATH or postgres://user@host:port/database.
    #[arg(long)]
    database: Option<String>,
    /// The model instead (a rules document or a compiled program).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Serve this directory's files instead.
    #[arg(long)]
    root: Option<PathBuf>,
    /// Log lines as JSON (default when standard error is not a terminal) or as text.
    #[arg(long, value_enum)]
    log: Option<LogFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| format!("cannot start: {e}"))
}

fn config(path: &Option<PathBuf>) -> Result<Config, String> {
    match path {
        Some(p) => Config::load(p).map_err(|e| e.to_string()),
        None => Ok(Config::default()),
    }
}

pub fn serve(a: ServeArgs) -> Result<ExitCode, String> {
    let mut c = config(&a.config)?;
    if let Some(l) = a.listen {
        c.listen = l;
    }
    if let Some(d) = a.database {
        c.database = d;
    }
    if let Some(m) = a.model {
        c.model.path = m;
    }
    if let Some(r) = a.root {
        c.root = Some(r);
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADSCORE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = a.log.map_or(!io::stderr().is_terminal(), |f| f == LogFormat::Json);
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr);
    if json {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
    runtime()?.block_on(async move {
        let app = serve::App::new(c).await.map_err(|e| e.to_string())?;
        let running = serve::start(app.clone()).await.map_err(|e| e.to_string())?;
        tracing::info!(
            address = %running.addr,
            database = %app.config.database.split('@').next_back().unwrap_or(""),
            rules_hash = %app.programs.current.hash(),
            accepted = app.programs.hashes().len(),
            "listening"
        );
        // The address, for people and for scripts that start the receiver on port 0.
        println!("http://{}/", running.addr);
        let _ = io::stdout().flush();
        let stop = running.stopper();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("stopping: finishing the requests and deliveries in flight");
            let _ = stop.send(true);
        });
        running.wait().await.map_err(|e| e.to_string())?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[derive(Args)]
pub struct TokenArgs {
    /// The event the site saw (an event id of the model).
    #[arg(long)]
    event: String,
    /// When it happened (RFC 3339); default: now.
    #[arg(long)]
    at: Option<String>,
    /// The receiver's configuration, for its `secret`; default: the environment variable LEADSCORE_SECRET.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Prints an event token signed with the site's secret.
pub fn token(a: TokenArgs) -> Result<ExitCode, String> {
    let secret = match &a.config {
        Some(_) => config(&a.config)?.secret.ok_or("the configuration has no `secret`")?,
        None => {
            std::env::var("LEADSCORE_SECRET").map_err(|_| "no --config and no LEADSCORE_SECRET in the environment")?
        }
    };
    let at = match &a.at {
        Some(s) => crate::input::parse_time(s).ok_or_else(|| format!("--at: `{s}` is not an RFC 3339 time"))? as i64,
        None => serve::now_ms(),
    };
    if a.event.is_empty() || a.event.contains(['.', ' ']) {
        return Err(format!("--event: `{}` is not an event id", a.event));
    }
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| format!("no random numbers: {e}"))?;
    let keys = serve::trust::Keys::new(secret.as_bytes());
    println!("{}", keys.mint(&a.event, at, &serve::trust::hex(&nonce)));
    Ok(ExitCode::SUCCESS)
}

/// Reads a password from standard input and prints its argon2id hash, for `[[users]] password_hash`.
pub fn hash_password() -> Result<ExitCode, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if io::stdin().is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random numbers: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let hash = argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| e.to_string())?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}

/// The history of a receiver's store as `leadscore backtest` reads it (the inbox's export).
pub fn history(database: &str, program: &leadscore::Program) -> Result<Vec<u8>, String> {
    runtime()?.block_on(async {
        let store = serve::Store::open(database).await.map_err(|e| format!("cannot open the database: {e}"))?;
        let csv = serve::history(&store, program).await.map_err(|e| e.to_string())?;
        Ok(csv.into_bytes())
    })
}

//! Benchmark of the lead receiver: verified, stored and queued submissions per second over loopback, with
//! latency percentiles, on SQLite and (with `LEADSCORE_TEST_POSTGRES`) on PostgreSQL. Each submission is an
//! SQL with the browser's claim (verified by the receiver) and one delivery queued to a webhook, which a local
//! stub answers, so the outbox worker runs during the measurement too. Client, receiver and stub share the
//! machine's cores.
//!
//!   cargo bench --bench receiver [-- --leads N --concurrency C]

use std::sync::Arc;
use std::time::{Duration, Instant};

use leadscore::serve::{self, Config};
use leadscore::{Answers, Events, Options};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn entries(p: &leadscore::Program, now: f64) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = [
        ("email", "ana.rossi@shop.example"),
        ("first_name", "Ana"),
        ("job_title", "Head of Data"),
        ("seniority", "vp"),
        ("use_case", "own_company"),
        ("company", "Shop Srl"),
        ("country", "IT"),
        ("industry", "ecommerce"),
        ("employees", "400"),
        ("annual_revenue", "30"),
        ("data_sources", "snowflake"),
        ("data_sources", "hubspot"),
        ("current_tool", "in_house"),
        ("budget_monthly", "3000"),
        ("timeline", "now"),
        ("decision_maker", "true"),
        ("sso_required", "true"),
        ("phone", "+39 02 1234 5678"),
        ("callback_time", "morning"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (a, _) = Answers::from_form_entries(p, form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let r = p.evaluate(&a, &Events::new(p), now, &Options { complete: true, locale: None });
    let groups: serde_json::Map<String, serde_json::Value> =
        r.groups.iter().map(|g| (g.id.clone(), serde_json::json!(g.score))).collect();
    let rules: Vec<&str> = r.ledger.iter().map(|l| l.rule.as_str()).collect();
    let grade = r.grade.as_ref().map(|g| g.cell.clone().unwrap_or(g.letter.clone())).unwrap_or_default();
    for (k, v) in [
        ("score", r.score.to_string()),
        ("groups", serde_json::Value::Object(groups).to_string()),
        ("stage", r.stage.id.clone()),
        ("grade", grade),
        ("rules", rules.join(",")),
        ("hash", p.hash().to_string()),
        ("at", now.to_string()),
        ("events", "[]".into()),
    ] {
        form.push((format!("leadscore_{k}"), v));
    }
    form
}

async fn run(database: &str, leads: usize, concurrency: usize, hook: &str) {
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"{database}\"\nsecret = \"benchmark-secret-0123456789\"\n\
         [receive]\nmin_fill_ms = 0\nrate_per_minute = 0\n\
         [[targets]]\nid = \"sales\"\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret = \"whsec_YmVuY2htYXJrLWtleQ==\"\nstages = [\"sql\"]\n"
    );
    let mut c = Config::parse(&text, "bench.toml").unwrap();
    c.model.path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/b2b-saas.json").into();
    let app = serve::App::new(c).await.unwrap();
    let running = serve::start(app.clone()).await.unwrap();
    let url = format!("http://{}/submit", running.addr);
    let form = Arc::new(entries(&app.programs.current, serve::now_ms() as f64));
    let http = reqwest::Client::new();
    let run_id = serve::now_ms();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, url, form, next) = (http.clone(), url.clone(), form.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = vec![];
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= leads {
                    return latencies;
                }
                let mut body = (*form).clone();
                body.push(("leadscore_key".into(), format!("{run_id}-{i}")));
                let t = Instant::now();
                let r = http.post(&url).header("accept", "application/json").form(&body).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                let text = r.text().await.unwrap();
                assert!(text.contains("\"claim\":\"verified\""), "{text}");
                latencies.push(t.elapsed());
            }
        });
    }
    let mut all: Vec<Duration> = vec![];
    while let Some(l) = tasks.join_next().await {
        all.extend(l.unwrap());
    }
    let took = started.elapsed();
    all.sort();
    let pct = |q: f64| all[((all.len() as f64 * q).ceil() as usize).clamp(1, all.len()) - 1];
    let kind = database.split(':').next().unwrap_or("");
    println!(
        "{kind:<10} {leads} submissions, {concurrency} at once: {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        leads as f64 / took.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all[all.len() - 1].as_secs_f64() * 1e3,
    );
    running.stop().await.unwrap();
}

fn main() {
    // `cargo test --benches` runs benchmarks once as tests: too long for that, and nothing to check.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let leads = arg("--leads", 20_000);
    let concurrency = arg("--concurrency", 32);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let stub = axum::Router::new().fallback(|| async { "{}" });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });
        let dir = std::env::temp_dir().join(format!("leadscore-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        run(&format!("sqlite:{}", dir.join("leads.db").display()), leads, concurrency, &hook).await;
        if let Ok(pg) = std::env::var("LEADSCORE_TEST_POSTGRES") {
            run(&pg, leads, concurrency, &hook).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

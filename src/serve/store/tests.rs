//! The same checks on both stores: SQLite in a temporary file, and PostgreSQL at `LEADSCORE_TEST_POSTGRES`
//! (scripts/test.sh starts one; under CI the variable must be set, so the PostgreSQL half cannot be skipped).

use serde_json::json;

use super::*;

fn lead(id: &str, key: Option<&str>, at: i64, stage: &str) -> Lead {
    Lead {
        id: id.into(),
        idempotency_key: key.map(String::from),
        received_at: at,
        rules_hash: "h1".into(),
        model_id: "m".into(),
        stage: stage.into(),
        knockout: None,
        score: 42.5,
        grade: Some("A1".into()),
        claim_status: "verified".into(),
        consent: Some(true),
        ip_hash: Some("ab".into()),
        outcome: None,
        outcome_at: None,
        outcome_by: None,
        facts: Facts { email: Some("ada@example.com".into()), ..Facts::default() },
        work: Work::default(),
        record: json!({"answers": {"email": "ada@example.com"}}),
    }
}

async fn check(store: Store) {
    assert_eq!(store.schema_version().await.unwrap(), 3);
    let tag = format!("{:x}", crate::serve::now_ms());
    let id = |n: u32| format!("{tag}-{n}");
    let key = |n: u32| format!("{tag}-key-{n}");
    let base = crate::serve::now_ms() + 1_000_000;
    // Targets of this run only: a shared database holds other receivers' deliveries too.
    let (ta, tb) = (format!("{tag}-a"), format!("{tag}-b"));
    let targets = [ta.clone(), tb.clone()];
    // A lead and its deliveries; a resubmission with its key is the same lead, with no new deliveries.
    assert_eq!(
        store.insert_lead(lead(&id(1), Some(&key(1)), base, "sql"), targets.to_vec(), vec![]).await.unwrap(),
        Stored::New
    );
    let again =
        store.insert_lead(lead(&id(2), Some(&key(1)), base + 1, "sql"), vec![ta.clone()], vec![]).await.unwrap();
    match again {
        Stored::Duplicate(old) => assert_eq!(old.id, id(1)),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert!(store.lead(&id(2)).await.unwrap().is_none());
    let back = store.lead(&id(1)).await.unwrap().unwrap();
    assert_eq!(back, lead(&id(1), Some(&key(1)), base, "sql"), "a lead reads back as written");
    // Leads without a key never collide.
    store.insert_lead(lead(&id(3), None, base + 2, "mql"), vec![], vec![]).await.unwrap();
    store.insert_lead(lead(&id(4), None, base + 3, "mql"), vec![], vec![]).await.unwrap();
    let newest = store.leads(&Filter::page(3, 0)).await.unwrap();
    assert_eq!(newest.iter().map(|l| l.id.clone()).collect::<Vec<_>>(), [id(4), id(3), id(1)]);
    let mqls = store.leads(&Filter { stage: Some("mql".into()), ..Filter::page(10, 0) }).await.unwrap();
    assert!(mqls.iter().all(|l| l.stage == "mql") && mqls.len() >= 2);

    // The outbox: due deliveries are leased once until the lease ends.
    let ds = store.deliveries(&[id(1)]).await.unwrap();
    assert_eq!(
        ds.iter().map(|d| (d.target.clone(), d.status.as_str())).collect::<Vec<_>>(),
        [(ta.clone(), "pending"), (tb.clone(), "pending")]
    );
    let others = store.lease_due(&["another-target".into()], base + 10, 1000, 100).await.unwrap();
    assert!(others.iter().all(|(d, _)| d.lead_id != id(1)), "only the worker's own targets");
    let now = base + 10;
    let leased = store.lease_due(&targets, now, 1000, 100).await.unwrap();
    let mut mine: Vec<_> = leased.iter().filter(|(d, _)| d.lead_id == id(1)).collect();
    // Leased in no particular order (PostgreSQL's depends on the table's history): by id, as `deliveries` lists them.
    mine.sort_by_key(|(d, _)| d.id);
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].1.id, id(1));
    assert!(
        store.lease_due(&targets, now, 1000, 100).await.unwrap().iter().all(|(d, _)| d.lead_id != id(1)),
        "leased: not again"
    );
    let (a, b) = (mine[0].0.id, mine[1].0.id);
    store.attempted(a, now, Ok(()), None).await.unwrap();
    store.attempted(b, now, Err("HTTP 500".into()), Some(now + 5000)).await.unwrap();
    assert!(
        store.lease_due(&targets, now + 2000, 1000, 100).await.unwrap().iter().all(|(d, _)| d.id != b),
        "not due before its time"
    );
    let again = store.lease_due(&targets, now + 6000, 1000, 100).await.unwrap();
    assert!(again.iter().any(|(d, _)| d.id == b && d.attempts == 1));
    store.attempted(b, now + 6000, Err("HTTP 500".into()), None).await.unwrap();
    let ds = store.deliveries(&[id(1)]).await.unwrap();
    assert_eq!(ds.iter().map(|d| d.status.as_str()).collect::<Vec<_>>(), ["delivered", "failed"]);
    assert_eq!(ds[1].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(ds[1].attempts, 2);
    assert!(store.retry(b, now + 7000).await.unwrap());
    assert!(!store.retry(b, now + 7000).await.unwrap(), "only a failed delivery is retried");
    // A lease that runs out (a worker killed mid-attempt) makes the delivery due again.
    let l1 = store.lease_due(&targets, now + 7000, 500, 100).await.unwrap();
    assert!(l1.iter().any(|(d, _)| d.id == b));
    let l2 = store.lease_due(&targets, now + 7600, 500, 100).await.unwrap();
    assert!(l2.iter().any(|(d, _)| d.id == b), "the lease ran out");
    store.attempted(b, now + 7600, Ok(()), None).await.unwrap();

    // Outcomes follow the status; rejections, programs.
    let status = |s: &str, reason: Option<&str>, at: i64| Change {
        at,
        by: "sam".into(),
        what: Changed::Status { status: s.into(), reason: reason.map(String::from) },
    };
    assert!(store.change(&id(1), status("won", None, now)).await.unwrap());
    let won = store.lead(&id(1)).await.unwrap().unwrap();
    assert_eq!(
        (won.outcome.as_deref(), won.outcome_by.as_deref(), won.outcome_at),
        (Some("won"), Some("sam"), Some(now))
    );
    assert_eq!((won.work.status.as_str(), won.work.status_at), ("won", Some(now)));
    assert!(!store.change("no-such-lead", status("won", None, now)).await.unwrap());
    assert!(store.changes("no-such-lead").await.unwrap().is_empty(), "nothing logged for a missing lead");
    let before = store.count_rejections().await.unwrap();
    store
        .reject(Rejection {
            at: base,
            reason: "honeypot".into(),
            detail: "d".into(),
            ip_hash: None,
            body: Some("email=x".into()),
        })
        .await
        .unwrap();
    assert_eq!(store.count_rejections().await.unwrap(), before + 1);
    let model = format!("model-{tag}");
    store.publish("h-old", &model, b"old", 1).await.unwrap_or(());
    store.publish(&format!("{tag}-h1"), &model, b"one", 10).await.unwrap();
    store.publish(&format!("{tag}-h2"), &model, b"two", 20).await.unwrap();
    store.publish(&format!("{tag}-h2"), &model, b"two again", 30).await.unwrap();
    let published = store.published(&model, 2).await.unwrap();
    assert_eq!(published, [(format!("{tag}-h2"), b"two".to_vec()), (format!("{tag}-h1"), b"one".to_vec())]);
    store.ping().await.unwrap();

    // An event token counts for one lead: a lead with a token another lead counted is not stored, and the store
    // says which of its tokens are taken; without them it is.
    let (nonce, other) = (format!("{tag}-nonce"), format!("{tag}-other"));
    let first = store.insert_lead(lead(&id(5), Some(&key(5)), base + 4, "sql"), vec![], vec![nonce.clone()]).await;
    assert_eq!(first.unwrap(), Stored::New);
    let copied = lead(&id(6), Some(&key(6)), base + 5, "sql");
    let second = store.insert_lead(copied.clone(), vec![ta.clone()], vec![other.clone(), nonce.clone()]).await;
    assert_eq!(second.unwrap(), Stored::TokensTaken(vec![nonce.clone()]));
    assert!(store.lead(&id(6)).await.unwrap().is_none(), "nothing of it was written");
    assert!(store.deliveries(&[id(6)]).await.unwrap().is_empty());
    assert_eq!(store.insert_lead(copied, vec![], vec![other]).await.unwrap(), Stored::New);
    // Its resubmission is the same lead, whatever tokens it carries.
    let again = store.insert_lead(lead(&id(7), Some(&key(5)), base + 6, "sql"), vec![], vec![nonce]).await;
    assert!(matches!(again.unwrap(), Stored::Duplicate(old) if old.id == id(5)));

    inbox(&store, &tag).await;
}

/// A lead of the inbox checks: who, and where from.
#[allow(clippy::too_many_arguments)]
fn person(
    tag: &str,
    n: u32,
    at: i64,
    stage: &str,
    score: f64,
    name: &str,
    email: &str,
    company: &str,
    country: &str,
    source: &str,
) -> Lead {
    let mut l = lead(&format!("{tag}-p{n}"), None, at, stage);
    l.score = score;
    let some = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    let domain = email.rsplit_once('@').map(|(_, d)| d.to_string()).filter(|d| d != "gmail.com");
    l.facts = Facts {
        name: some(name),
        email: some(email),
        company: some(company),
        domain,
        country: some(country),
        source: some(source),
    };
    l
}

/// Search, filters, sorts, counts, facets, duplicates, changes and their history, round robin turns. A shared
/// PostgreSQL database holds other runs' leads: every filter here includes this run's tag, a word of each name.
async fn inbox(store: &Store, tag: &str) {
    let t0 = 1_700_000_000_000;
    let day = 86_400_000;
    // Each company's domain and name carry the tag, so that a search for it finds only this run's leads.
    let leads = [
        person(
            tag,
            1,
            t0,
            "sql",
            90.0,
            &format!("Ana Rossi {tag}"),
            &format!("ana@shop{tag}.example"),
            "Shop Srl",
            "IT",
            "google",
        ),
        person(
            tag,
            2,
            t0 + day,
            "mql",
            55.5,
            &format!("Bo Müller {tag}"),
            &format!("bo@kunde{tag}.example"),
            "Kunde GmbH",
            "DE",
            "newsletter",
        ),
        person(
            tag,
            3,
            t0 + 2 * day,
            "sql",
            70.0,
            &format!("Ana Rossi {tag}"),
            &format!("a.rossi{tag}@gmail.com"),
            "",
            "IT",
            "",
        ),
        person(
            tag,
            4,
            t0 + 3 * day,
            "lead",
            12.0,
            &format!("Cy {tag}"),
            &format!("cy@shop{tag}.example"),
            "Shop Srl",
            "",
            "google",
        ),
        person(
            tag,
            5,
            t0 + 4 * day,
            "disqualified",
            0.0,
            &format!("Dee {tag}"),
            &format!("ana@shop{tag}.example"),
            "",
            "FR",
            "",
        ),
    ];
    for l in &leads {
        assert_eq!(store.insert_lead(l.clone(), vec![], vec![]).await.unwrap(), Stored::New);
    }
    let ids = |f: Filter| async move {
        let found = store.leads(&Filter { limit: 100, ..f.clone() }).await.unwrap();
        let n = store.count_matching(&f).await.unwrap();
        assert_eq!(n as usize, found.len(), "the count follows the filter {f:?}");
        found.iter().map(|l| l.id.rsplit('-').next().unwrap().to_string()).collect::<Vec<_>>()
    };
    let mine = || Filter { search: vec![tag.to_string()], ..Filter::default() };
    assert_eq!(ids(mine()).await, ["p5", "p4", "p3", "p2", "p1"], "newest first");
    // Search: words of the name, email, company and domain, each as a word's beginning, accents aside.
    let search = |q: &str| Filter { search: vec![format!("{tag} {q}")], ..Filter::default() };
    assert_eq!(ids(search("ross")).await, ["p3", "p1"]);
    assert_eq!(ids(search("MULLER")).await, ["p2"], "accents and case aside");
    assert_eq!(ids(search("kunde gmbh")).await, ["p2"], "every word must match");
    assert_eq!(ids(search("ana rossi nobody")).await, Vec::<String>::new());
    assert_eq!(
        ids(Filter { search: vec![format!("ana@shop{tag}.example")], ..Filter::default() }).await,
        ["p5", "p1"],
        "a whole email"
    );
    assert_eq!(
        ids(Filter { search: vec![format!("shop{tag}")], ..Filter::default() }).await,
        ["p5", "p4", "p1"],
        "a domain"
    );
    assert_eq!(ids(search("\"*) -( NEAR")).await, Vec::<String>::new(), "the search's own syntax is words");
    assert_eq!(ids(search("\"*) -(:* &")).await, ids(mine()).await, "and its signs are nothing");
    // Filters combine.
    assert_eq!(ids(Filter { stage: Some("sql".into()), ..mine() }).await, ["p3", "p1"]);
    assert_eq!(ids(Filter { country: Some("IT".into()), stage: Some("sql".into()), ..mine() }).await, ["p3", "p1"]);
    assert_eq!(ids(Filter { source: Some("google".into()), ..mine() }).await, ["p4", "p1"]);
    assert_eq!(ids(Filter { min_score: Some(55.5), max_score: Some(80.0), ..mine() }).await, ["p3", "p2"]);
    assert_eq!(ids(Filter { from: Some(t0 + day), until: Some(t0 + 3 * day), ..mine() }).await, ["p3", "p2"]);
    // Sorts.
    assert_eq!(ids(Filter { sort: Sort::ScoreHigh, ..mine() }).await, ["p1", "p3", "p2", "p4", "p5"]);
    assert_eq!(ids(Filter { sort: Sort::ScoreLow, ..mine() }).await, ["p5", "p4", "p2", "p3", "p1"]);
    assert_eq!(ids(Filter { sort: Sort::Oldest, ..mine() }).await, ["p1", "p2", "p3", "p4", "p5"]);
    assert_eq!(ids(Filter { sort: Sort::Name, ..mine() }).await, ["p3", "p1", "p2", "p4", "p5"]);
    assert_eq!(ids(Filter { sort: Sort::Company, ..mine() }).await[..3], ["p2", "p4", "p1"], "without a company last");
    // Pages.
    let page2 = store.leads(&Filter { limit: 2, offset: 2, ..mine() }).await.unwrap();
    assert_eq!(page2.iter().map(|l| l.id.rsplit('-').next().unwrap()).collect::<Vec<_>>(), ["p3", "p2"]);
    // Facets: the values leads have.
    let facets = store.facets().await.unwrap();
    assert!(["DE", "FR", "IT"].iter().all(|c| facets.countries.contains(&c.to_string())), "{facets:?}");
    assert!(facets.sources.contains(&"newsletter".to_string()));
    // Possible duplicates: the same email, else the same company domain (never a free mail provider's).
    let twins = store.twins(&leads[..1]).await.unwrap();
    let mut found: Vec<(String, &str)> =
        twins.iter().map(|t| (t.lead_id.rsplit('-').next().unwrap().to_string(), t.by)).collect();
    found.sort();
    assert_eq!(found, [("p4".to_string(), "domain"), ("p5".to_string(), "email")]);
    assert!(store.twins(&leads[2..3]).await.unwrap().is_empty(), "gmail.com is not a company");

    // Work: status with its outcome and reason, owner, notes; each change in the history, oldest first.
    let p2 = format!("{tag}-p2");
    let change = |what: Changed, at: i64| Change { at, by: "ana".into(), what };
    let lost = Changed::Status { status: "lost".into(), reason: Some("No budget".into()) };
    assert!(store
        .change(&p2, change(Changed::Status { status: "contacted".into(), reason: None }, t0 + 10))
        .await
        .unwrap());
    assert!(store.change(&p2, change(Changed::Owner { owner: Some("bo".into()) }, t0 + 11)).await.unwrap());
    assert!(store
        .change(&p2, change(Changed::Note { text: "Called, \"call back\" in May".into() }, t0 + 12))
        .await
        .unwrap());
    assert!(store.change(&p2, change(lost.clone(), t0 + 13)).await.unwrap());
    assert!(!store.change(&format!("{tag}-none"), change(Changed::Note { text: "x".into() }, t0)).await.unwrap());
    let l = store.lead(&p2).await.unwrap().unwrap();
    assert_eq!(
        (
            l.work.status.as_str(),
            l.work.lost_reason.as_deref(),
            l.work.owner.as_deref(),
            l.outcome.as_deref(),
            l.outcome_at
        ),
        ("lost", Some("No budget"), Some("bo"), Some("lost"), Some(t0 + 13))
    );
    let history: Vec<Changed> = store.changes(&p2).await.unwrap().into_iter().map(|c| c.what).collect();
    assert_eq!(
        history,
        [
            Changed::Status { status: "contacted".into(), reason: None },
            Changed::Owner { owner: Some("bo".into()) },
            Changed::Note { text: "Called, \"call back\" in May".into() },
            lost
        ]
    );
    assert_eq!(ids(Filter { owner: Some(Some("bo".into())), ..mine() }).await, ["p2"]);
    assert_eq!(ids(Filter { owner: Some(None), ..mine() }).await, ["p5", "p4", "p3", "p1"]);
    assert_eq!(ids(Filter { status: Some(StatusFilter::Is(Status::Lost)), ..mine() }).await, ["p2"]);
    assert_eq!(ids(Filter { status: Some(StatusFilter::Open), ..mine() }).await, ["p5", "p4", "p3", "p1"]);
    // Reopened: no outcome, and the lost reason goes.
    store.change(&p2, change(Changed::Status { status: "contacted".into(), reason: None }, t0 + 14)).await.unwrap();
    let l = store.lead(&p2).await.unwrap().unwrap();
    assert_eq!((l.outcome, l.outcome_at, l.work.lost_reason), (None, None, None));
    // An unknown status is refused by the schema.
    assert!(store.change(&p2, change(Changed::Status { status: "maybe".into(), reason: None }, t0)).await.is_err());

    // Round robin turns count up, per rule.
    let rule = format!("{tag}-rule");
    let turns: Vec<i64> = [store.next_turn(&rule).await.unwrap(), store.next_turn(&rule).await.unwrap()].to_vec();
    assert_eq!(turns, [0, 1]);
    assert_eq!(store.next_turn(&format!("{tag}-other")).await.unwrap(), 0);
}

/// A database written by a receiver before the inbox's search (schema 2) is brought up to date: its leads keep
/// their outcome as their status, and get their facts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_sqlite_database_gets_facts() {
    let dir =
        std::env::temp_dir().join(format!("leadscore-store-old-{}-{}", std::process::id(), crate::serve::now_ms()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("leads.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);")
            .unwrap();
        c.execute_batch(include_str!("migrations/sqlite-0001.sql")).unwrap();
        c.execute_batch(include_str!("migrations/sqlite-0002.sql")).unwrap();
        c.execute_batch(
            "INSERT INTO schema_migrations VALUES (1, 0), (2, 0);
             INSERT INTO leads (id, received_at, rules_hash, model_id, stage, score, claim_status, outcome, outcome_at,
               outcome_by, record) VALUES ('old-1', 5, 'h', 'm', 'sql', 80, 'none', 'won', 9, 'sam',
               '{\"answers\": {\"email\": \"Old@Firm.example\", \"first_name\": \"Olga\"}}');",
        )
        .unwrap();
    }
    let store = Store::open(&format!("sqlite:{}", path.display())).await.unwrap();
    let old = store.lead("old-1").await.unwrap().unwrap();
    assert_eq!(
        (old.work.status.as_str(), old.work.status_at, old.work.status_by.as_deref()),
        ("won", Some(9), Some("sam"))
    );
    let without: Vec<String> = store.without_facts(10).await.unwrap().into_iter().map(|l| l.id).collect();
    assert_eq!(without, ["old-1"]);
    let search = Filter { search: vec!["olga".into()], limit: 10, ..Filter::default() };
    assert!(store.leads(&search).await.unwrap().is_empty(), "not found before its facts are kept");
    let facts = Facts { name: Some("Olga".into()), email: Some("old@firm.example".into()), ..Facts::default() };
    store.set_facts("old-1", facts.clone()).await.unwrap();
    store.set_facts("old-1", facts).await.unwrap();
    assert!(store.without_facts(10).await.unwrap().is_empty());
    assert_eq!(store.leads(&search).await.unwrap().len(), 1, "found once, though its facts were set twice");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let dir = std::env::temp_dir().join(format!("leadscore-store-{}-{}", std::process::id(), crate::serve::now_ms()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("leads.db").display());
    check(Store::open(&url).await.unwrap()).await;
    // Opening again finds the schema in place.
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 3);
    assert_eq!(again.count_leads().await.unwrap(), 5 + 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Ok(url) = std::env::var("LEADSCORE_TEST_POSTGRES") else {
        assert!(std::env::var("CI").is_err(), "under CI, LEADSCORE_TEST_POSTGRES must name the test database");
        eprintln!("LEADSCORE_TEST_POSTGRES is not set: the PostgreSQL store is not tested (scripts/test.sh sets it)");
        return;
    };
    check(Store::open(&url).await.unwrap()).await;
    // A second receiver's migrations find the schema in place.
    assert_eq!(Store::open(&url).await.unwrap().schema_version().await.unwrap(), 3);
}

#[tokio::test]
async fn unreachable_database_is_a_clear_error() {
    let e = match Store::open("postgres://nobody@127.0.0.1:1/none?connect_timeout=2").await {
        Err(e) => e,
        Ok(_) => panic!("a closed port opened"),
    };
    assert!(e.0.starts_with("postgres: cannot connect"), "{e}");
    let e = match Store::open("sqlite:/nonexistent-dir/x/leads.db").await {
        Err(e) => e,
        Ok(_) => panic!("a missing directory opened"),
    };
    assert!(e.0.contains("cannot open /nonexistent-dir/x/leads.db"), "{e}");
}

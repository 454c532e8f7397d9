//! Finding leads: the list with its search, filters and sort (all in the URL, all answered by the database
//! through its indexes), the count that follows the filter, the active filter marked, and the sales export of
//! the filtered list.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value as Json;

use super::super::page::{esc, show};
use super::super::people;
use super::super::store::{Delivery, Facets, Filter, Lead, Sort, Status, StatusFilter, Twin, SORTS, STATUSES};
use super::super::App;
use super::{html, program_of, shell, stage_label, store_error, time_html, user, verdict_badge};

/// The list's parameters as the URL has them: every one optional, empty meaning unset.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub stage: String,
    pub status: String,
    pub owner: String,
    pub from: String,
    pub to: String,
    pub min: String,
    pub max: String,
    pub country: String,
    pub source: String,
    pub sort: String,
    pub page: String,
    /// A lead just changed from the list, to confirm.
    pub saved: String,
}

/// Each filter parameter with its label, in the order the page shows them.
const PARAMS: [(&str, &str); 11] = [
    ("q", "Search"),
    ("stage", "Stage"),
    ("status", "Status"),
    ("owner", "Owner"),
    ("from", "Received from"),
    ("to", "Received until"),
    ("min", "Score at least"),
    ("max", "Score at most"),
    ("country", "Country"),
    ("source", "Source"),
    ("sort", "Sort"),
];

/// The owner filter's value for leads nobody owns.
pub const NOBODY: &str = "-";

impl ListQuery {
    fn get(&self, name: &str) -> &str {
        match name {
            "q" => &self.q,
            "stage" => &self.stage,
            "status" => &self.status,
            "owner" => &self.owner,
            "from" => &self.from,
            "to" => &self.to,
            "min" => &self.min,
            "max" => &self.max,
            "country" => &self.country,
            "source" => &self.source,
            "sort" => &self.sort,
            "page" => &self.page,
            _ => "",
        }
    }

    /// The set parameters (trimmed), in [`PARAMS`] order.
    fn set(&self) -> Vec<(&'static str, &str)> {
        PARAMS.iter().map(|(n, _)| (*n, self.get(n).trim())).filter(|(_, v)| !v.is_empty()).collect()
    }

    /// The filter these parameters ask for, and what is wrong with any of them (by parameter name; a wrong one
    /// is left out of the filter).
    pub fn filter(&self, limit: i64) -> (Filter, Vec<String>) {
        let mut f = Filter { limit, ..Filter::default() };
        let mut problems = vec![];
        for (name, v) in self.set() {
            let mut bad = |m: &str| problems.push(format!("{name}: {m}"));
            match name {
                "q" => f.search = vec![v.to_string()],
                "stage" => f.stage = Some(v.to_string()),
                "status" => match (v, Status::parse(v)) {
                    ("open", _) => f.status = Some(StatusFilter::Open),
                    (_, Some(s)) => f.status = Some(StatusFilter::Is(s)),
                    _ => bad(&format!("`{v}` is not a status (open, {})", status_ids())),
                },
                "owner" => f.owner = Some(if v == NOBODY { None } else { Some(v.to_string()) }),
                "from" | "to" => match jiff::civil::Date::strptime("%Y-%m-%d", v) {
                    Ok(d) => {
                        // Whole days in UTC: `to` includes its day.
                        let d = if name == "to" { d.tomorrow().unwrap_or(d) } else { d };
                        let ms = d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp().as_millisecond());
                        match (name, ms) {
                            ("from", Ok(ms)) => f.from = Some(ms),
                            (_, Ok(ms)) => f.until = Some(ms),
                            (_, Err(_)) => bad("a date out of range"),
                        }
                    }
                    Err(_) => bad(&format!("`{v}` is not a date (YYYY-MM-DD)")),
                },
                "min" | "max" => match v.parse::<f64>() {
                    Ok(x) if x.is_finite() => {
                        if name == "min" {
                            f.min_score = Some(x)
                        } else {
                            f.max_score = Some(x)
                        }
                    }
                    _ => bad(&format!("`{v}` is not a number")),
                },
                "country" => f.country = Some(v.to_ascii_uppercase()),
                "source" => f.source = Some(v.to_lowercase()),
                "sort" => match Sort::parse(v) {
                    Some(s) => f.sort = s,
                    None => bad(&format!(
                        "`{v}` is not an order ({})",
                        SORTS.iter().map(|(_, id, _, _)| *id).collect::<Vec<_>>().join(", ")
                    )),
                },
                _ => {}
            }
        }
        let page = match self.page.trim() {
            "" => 1,
            p => p.parse::<i64>().ok().filter(|p| *p >= 1).unwrap_or_else(|| {
                problems.push(format!("page: `{p}` is not a page number"));
                1
            }),
        };
        f.offset = (page - 1).saturating_mul(limit);
        (f, problems)
    }

    /// The list's URL with these parameters, `changes` applied (an empty value removes one); without the page.
    pub fn url(&self, changes: &[(&str, &str)]) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (name, v) in self.set() {
            let v = changes.iter().find(|(n, _)| *n == name).map_or(v, |(_, c)| *c);
            if !v.is_empty() {
                s.append_pair(name, v);
            }
        }
        for (name, v) in changes {
            if !v.is_empty() && self.get(name).trim().is_empty() {
                s.append_pair(name, v);
            }
        }
        let q = s.finish();
        if q.is_empty() {
            "/inbox".into()
        } else {
            format!("/inbox?{q}")
        }
    }

    fn page(&self) -> i64 {
        self.page.trim().parse::<i64>().ok().filter(|p| *p >= 1).unwrap_or(1)
    }
}

fn status_ids() -> String {
    STATUSES.iter().map(|(_, id, _)| *id).collect::<Vec<_>>().join(", ")
}

fn status_label(id: &str) -> &str {
    Status::label_of(id)
}

pub const PAGE: i64 = 50;

fn option(value: &str, label: &str, current: &str) -> String {
    format!(
        "<option value=\"{}\"{}>{}</option>",
        esc(value),
        if value == current { " selected" } else { "" },
        esc(label)
    )
}

/// The filter form: every parameter, with its current value.
fn filter_form(app: &App, q: &ListQuery, facets: &Facets) -> String {
    let p = &app.programs.current;
    let mut stages = option("", "Any stage", q.stage.trim());
    for id in p.stages.iter().map(|s| s.id.as_str()).chain(["disqualified"]) {
        stages.push_str(&option(id, &stage_label(p, id), q.stage.trim()));
    }
    let mut statuses =
        option("", "Any status", q.status.trim()) + &option("open", "Open (not won or lost)", q.status.trim());
    for (_, id, label) in STATUSES {
        statuses.push_str(&option(id, label, q.status.trim()));
    }
    let mut owners = option("", "Anyone", q.owner.trim()) + &option(NOBODY, "Nobody", q.owner.trim());
    let mut names: Vec<&str> = app.config.users.iter().map(|u| u.name.as_str()).collect();
    names.extend(facets.owners.iter().map(String::as_str));
    names.sort_unstable();
    names.dedup();
    for n in names {
        owners.push_str(&option(n, n, q.owner.trim()));
    }
    let list = |values: &[String], any: &str, current: &str| {
        let mut out = option("", any, current);
        for v in values {
            out.push_str(&option(v, v, current));
        }
        // A value in the URL that no lead has any more stays selectable.
        if !current.is_empty() && !values.iter().any(|v| v.eq_ignore_ascii_case(current)) {
            out.push_str(&option(current, current, current));
        }
        out
    };
    let mut sorts = String::new();
    for (_, id, label, _) in SORTS {
        sorts.push_str(&option(id, label, if q.sort.trim().is_empty() { "newest" } else { q.sort.trim() }));
    }
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/inbox\" role=\"search\">\
         <div class=\"search\"><label>Search <input type=\"search\" name=\"q\" value=\"{q}\" placeholder=\"Name, email, company or domain\"></label>\
         <button type=\"submit\">Search</button></div>\
         <details class=\"more\"{open}><summary>Filters and sort</summary><div class=\"grid\">\
         <label>Stage <select name=\"stage\">{stages}</select></label>\
         <label>Status <select name=\"status\">{statuses}</select></label>\
         <label>Owner <select name=\"owner\">{owners}</select></label>\
         <label>Received from <input type=\"date\" name=\"from\" value=\"{from}\"></label>\
         <label>until <input type=\"date\" name=\"to\" value=\"{to}\"></label>\
         <label>Score from <input type=\"number\" step=\"any\" name=\"min\" value=\"{min}\" inputmode=\"decimal\"></label>\
         <label>to <input type=\"number\" step=\"any\" name=\"max\" value=\"{max}\" inputmode=\"decimal\"></label>\
         <label>Country <select name=\"country\">{countries}</select></label>\
         <label>Source <select name=\"source\">{sources}</select></label>\
         <label>Sort <select name=\"sort\">{sorts}</select></label>\
         <p class=\"actions\"><button type=\"submit\">Apply</button> <a href=\"/inbox\">Clear all</a></p></div></details></form>",
        // Closed on a phone's first look; open while any of its parts is in use.
        open = if q.set().iter().any(|(n, _)| *n != "q") { " open" } else { "" },
        q = esc(q.q.trim()),
        from = esc(q.from.trim()),
        to = esc(q.to.trim()),
        min = esc(q.min.trim()),
        max = esc(q.max.trim()),
        countries = list(&facets.countries, "Any country", &q.country.trim().to_ascii_uppercase()),
        sources = list(&facets.sources, "Any source", &q.source.trim().to_lowercase()),
    )
}

/// The active filter, each part with a link that removes it.
fn active(app: &App, q: &ListQuery) -> String {
    let p = &app.programs.current;
    let chips: Vec<String> = q
        .set()
        .into_iter()
        .filter(|(name, _)| *name != "sort")
        .map(|(name, v)| {
            let label = PARAMS.iter().find(|(n, _)| *n == name).map_or(name, |(_, l)| l);
            let shown = match name {
                "stage" => stage_label(p, v),
                "status" if v == "open" => "Open".into(),
                "status" => status_label(v).to_string(),
                "owner" if v == NOBODY => "Nobody".into(),
                _ => v.to_string(),
            };
            format!(
                "<li data-filter=\"{name}\">{label}: <strong>{}</strong> <a href=\"{}\" aria-label=\"Remove {label}\">×</a></li>",
                esc(&shown),
                esc(&q.url(&[(name, "")])),
                label = esc(label),
            )
        })
        .collect();
    if chips.is_empty() {
        return String::new();
    }
    format!("<ul class=\"active\" aria-label=\"Active filter\">{}</ul>", chips.join(""))
}

/// The possible duplicates of a lead, as a short mark with links.
pub fn twin_mark(lead: &Lead, twins: &[Twin]) -> String {
    let mine: Vec<&Twin> = twins.iter().filter(|t| t.of == lead.id).collect();
    if mine.is_empty() {
        return String::new();
    }
    let by_email = mine.iter().any(|t| t.by == "email");
    let (text, by) = if by_email {
        ("Possible duplicate: same email", "email")
    } else {
        ("Same company domain as another lead", "domain")
    };
    let first = mine.iter().find(|t| t.by == by).map_or("", |t| t.lead_id.as_str());
    format!(
        " <a class=\"twin\" data-twin=\"{by}\" href=\"/inbox/lead/{}#twins\" title=\"{} other lead(s)\">{text}</a>",
        esc(first),
        mine.len()
    )
}

fn delivery_summary(ds: &[&Delivery]) -> String {
    if ds.is_empty() {
        return "–".into();
    }
    ds.iter()
        .map(|d| {
            let class = match d.status.as_str() {
                "delivered" => "ok",
                "failed" => "bad",
                _ => "",
            };
            format!(
                "<span class=\"{class}\" data-delivery=\"{}\">{}: {}</span>",
                esc(&d.status),
                esc(&d.target),
                esc(&d.status)
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    let user = match user(&app, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (filter, problems) = q.filter(PAGE + 1);
    let page = q.page();
    let store = &app.store;
    let (leads, matching, total, facets) = match tokio::try_join!(
        store.leads(&filter),
        store.count_matching(&filter),
        store.count_leads(),
        store.facets()
    ) {
        Ok(x) => x,
        Err(e) => return store_error(e),
    };
    let mut leads = leads;
    let more = leads.len() as i64 > PAGE;
    leads.truncate(PAGE as usize);
    let ids: Vec<String> = leads.iter().map(|l| l.id.clone()).collect();
    let (deliveries, twins) = match tokio::try_join!(store.deliveries(&ids), store.twins(&leads)) {
        Ok(x) => x,
        Err(e) => return store_error(e),
    };
    let csrf = app.keys.csrf(&user);
    let p = &app.programs.current;
    // The stage tabs keep the rest of the filter.
    let mut nav = format!(
        "<nav class=\"stages\" aria-label=\"Stages\"><a href=\"{}\"{}>All</a>",
        esc(&q.url(&[("stage", "")])),
        if q.stage.trim().is_empty() { " aria-current=\"page\"" } else { "" }
    );
    for id in p.stages.iter().map(|s| s.id.as_str()).chain(["disqualified"]) {
        let current = if q.stage.trim() == id { " aria-current=\"page\"" } else { "" };
        nav.push_str(&format!(
            "<a href=\"{}\"{current}>{}</a>",
            esc(&q.url(&[("stage", id)])),
            esc(&stage_label(p, id))
        ));
    }
    nav.push_str("</nav>");
    let here = {
        let u = q.url(&[]);
        if page > 1 {
            format!("{u}{}page={page}", if u.contains('?') { "&" } else { "?" })
        } else {
            u
        }
    };
    let rows: Vec<String> = leads
        .iter()
        .map(|l| {
            let lp = program_of(&app, l);
            let who = people::who(lp, l.record.get("answers").unwrap_or(&Json::Null));
            let ds: Vec<&Delivery> = deliveries.iter().filter(|d| d.lead_id == l.id).collect();
            let email = if who.email.is_empty() || who.email == who.name {
                String::new()
            } else {
                format!("<br><small>{}</small>", esc(&who.email))
            };
            let saved = if q.saved == l.id { " class=\"saved\"" } else { "" };
            format!(
                "<tr data-lead=\"{id}\" data-claim=\"{claim}\"{saved}><td>{time}</td><td data-who><a href=\"/inbox/lead/{id}\">{name}</a>{email} {badge}{twin}</td>\
                 <td data-company>{company}</td><td data-role>{role}</td><td data-stage=\"{stage}\">{stage_label}</td>\
                 <td class=\"num\" data-score>{score}</td><td data-owner>{owner}</td>\
                 <td data-status=\"{status}\">{status_label}{quick}</td><td>{deliveries}</td></tr>",
                id = esc(&l.id),
                time = time_html(l.received_at),
                name = esc(if who.name.is_empty() { &l.id } else { &who.name }),
                company = esc(&who.company),
                role = esc(&who.role),
                badge = verdict_badge(l, &format!("/inbox/lead/{}#technical", l.id)),
                twin = twin_mark(l, &twins),
                stage = esc(&l.stage),
                stage_label = esc(&stage_label(lp, &l.stage)),
                score = esc(&show(l.score)),
                owner = esc(l.work.owner.as_deref().unwrap_or("–")),
                claim = esc(&l.claim_status),
                status = esc(&l.work.status),
                status_label = esc(status_label(&l.work.status)),
                quick = super::work::quick_actions(&csrf, l, &here),
                deliveries = delivery_summary(&ds),
            )
        })
        .collect();
    let pager = {
        let base = q.url(&[]);
        let sep = if base.contains('?') { "&amp;" } else { "?" };
        let link = |n: i64, label: &str| format!("<a href=\"{}{sep}page={n}\">{label}</a>", esc(&base));
        let mut out = String::new();
        if page > 1 {
            out.push_str(&link(page - 1, "Previous"));
            out.push(' ');
        }
        if more {
            out.push_str(&link(page + 1, "Next"));
        }
        out
    };
    let problems = if problems.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"problems\" role=\"alert\"><p>Left out of the filter:</p><ul>{}</ul></div>",
            problems.iter().map(|p| format!("<li>{}</li>", esc(p))).collect::<String>()
        )
    };
    let saved = leads.iter().find(|l| l.id == q.saved).map_or(String::new(), |l| {
        let lp = program_of(&app, l);
        let who = people::who(lp, l.record.get("answers").unwrap_or(&Json::Null));
        format!(
            "<p class=\"saved\" role=\"status\">Saved: {} is now {}.</p>",
            esc(if who.name.is_empty() { &l.id } else { &who.name }),
            esc(status_label(&l.work.status))
        )
    });
    let filtered = !q.set().iter().all(|(n, _)| *n == "sort");
    let count = if filtered {
        format!("<strong data-count=\"{matching}\">{matching}</strong> of {total} lead(s) match")
    } else {
        format!("<strong data-count=\"{matching}\">{matching}</strong> lead(s)")
    };
    let export = {
        let u = q.url(&[]);
        let query = u.split_once('?').map_or(String::new(), |(_, q)| format!("?{q}"));
        format!("<a href=\"/inbox/leads.csv{}\" data-export>Export these {matching} (CSV)</a>", esc(&query))
    };
    let first = filter.offset + 1;
    let last = filter.offset + leads.len() as i64;
    let shown = if leads.is_empty() { String::new() } else { format!("; {first}–{last} shown") };
    let body = format!(
        "<h1>Leads</h1>\n{saved}{filter_form}\n{problems}{nav}\n{active}<p class=\"count\">{count}{shown}. {export}</p>\n\
         <div class=\"scroll\"><table class=\"leads\">\n<thead><tr><th scope=\"col\">Received</th>\
         <th scope=\"col\">Who</th><th scope=\"col\">Company</th><th scope=\"col\">Role</th><th scope=\"col\">Stage</th><th scope=\"col\">Score</th>\
         <th scope=\"col\">Owner</th><th scope=\"col\">Status</th><th scope=\"col\">Deliveries</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>\n<p>{pager}</p>",
        filter_form = filter_form(&app, &q, &facets),
        active = active(&app, &q),
        rows = rows.join("\n"),
    );
    html(shell("Leads", &user, &body))
}

pub async fn api_leads(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = user(&app, &headers).await {
        return r;
    }
    let (filter, problems) = q.filter(PAGE);
    if !problems.is_empty() {
        let body = serde_json::json!({"error": "bad_filter", "problems": problems});
        return (axum::http::StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], body.to_string())
            .into_response();
    }
    let (leads, matching) = match tokio::try_join!(app.store.leads(&filter), app.store.count_matching(&filter)) {
        Ok(x) => x,
        Err(e) => return store_error(e),
    };
    let ids: Vec<String> = leads.iter().map(|l| l.id.clone()).collect();
    let deliveries = app.store.deliveries(&ids).await.unwrap_or_default();
    let body = serde_json::json!({"matching": matching, "leads": leads, "deliveries": deliveries});
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The filtered list as CSV for sales: who, the stage by its label, score, grade, owner, status and its dates,
/// attribution, then every answer by its field's label.
pub async fn export(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = user(&app, &headers).await {
        return r;
    }
    let (mut filter, problems) = q.filter(1000);
    if !problems.is_empty() {
        return (axum::http::StatusCode::BAD_REQUEST, format!("400 {}\n", problems.join("; "))).into_response();
    }
    filter.offset = 0;
    let mut all = vec![];
    loop {
        let batch = match app.store.leads(&filter).await {
            Ok(b) => b,
            Err(e) => return store_error(e),
        };
        let n = batch.len() as i64;
        all.extend(batch);
        if n < filter.limit {
            break;
        }
        filter.offset += filter.limit;
    }
    let csv = sales_csv(&app, &all);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"leadscore-leads.csv\""),
        ],
        csv,
    )
        .into_response()
}

fn iso(ms: Option<i64>) -> String {
    ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()).map(|t| t.to_string()).unwrap_or_default()
}

/// The sales CSV of these leads (in the given order).
pub fn sales_csv(app: &App, leads: &[Lead]) -> String {
    let p = &app.programs.current;
    let mut w = csv::Writer::from_writer(vec![]);
    let mut header: Vec<String> = [
        "id",
        "received_at",
        "name",
        "email",
        "company",
        "role",
        "country",
        "stage",
        "stage_id",
        "score",
        "grade",
        "owner",
        "status",
        "status_at",
        "status_by",
        "lost_reason",
        "outcome",
        "outcome_at",
        "source",
    ]
    .map(String::from)
    .to_vec();
    // Attribution entries (last touch, then first) that are not fields of the model (those come with the answers).
    let attribution: Vec<String> = crate::model::ATTRIBUTION_FIELDS
        .iter()
        .map(|a| a.to_string())
        .chain(crate::model::ATTRIBUTION_FIELDS.iter().map(|a| format!("first_{a}")))
        .filter(|a| p.field_index(a).is_none())
        .collect();
    header.extend(attribution.iter().cloned());
    let fields: Vec<(String, String)> = p
        .fields
        .iter()
        .map(|f| {
            let label = f.label.as_ref().map(|t| t.get(&p.locale, &p.locale).to_string()).filter(|l| !l.is_empty());
            (f.id.clone(), label.unwrap_or_else(|| f.id.clone()))
        })
        .collect();
    header.extend(fields.iter().map(|(_, label)| label.clone()));
    let _ = w.write_record(&header);
    for l in leads {
        let lp = program_of(app, l);
        let answers = l.record.get("answers").unwrap_or(&Json::Null);
        let who = people::who(lp, answers);
        let mut row: Vec<String> = vec![
            l.id.clone(),
            iso(Some(l.received_at)),
            l.facts.name.clone().unwrap_or_default(),
            l.facts.email.clone().unwrap_or_default(),
            who.company,
            who.role,
            l.facts.country.clone().unwrap_or_default(),
            stage_label(lp, &l.stage),
            l.stage.clone(),
            show(l.score),
            l.grade.clone().unwrap_or_default(),
            l.work.owner.clone().unwrap_or_default(),
            status_label(&l.work.status).to_string(),
            iso(l.work.status_at),
            l.work.status_by.clone().unwrap_or_default(),
            l.work.lost_reason.clone().unwrap_or_default(),
            l.outcome.clone().unwrap_or_default(),
            iso(l.outcome_at),
            l.facts.source.clone().unwrap_or_default(),
        ];
        let entries = l.record.get("entries").and_then(Json::as_array);
        for a in &attribution {
            let v = entries.into_iter().flatten().find_map(|e| {
                (e.get(0)?.as_str()? == a.as_str()).then(|| e.get(1).and_then(Json::as_str).unwrap_or("").to_string())
            });
            row.push(v.unwrap_or_default());
        }
        for (id, _) in &fields {
            row.push(
                answers.get(id).filter(|v| !v.is_null()).map_or(String::new(), |v| people::answer_text(lp, id, v)),
            );
        }
        let _ = w.write_record(row.into_iter().map(cell));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A value a spreadsheet shows as text, never runs as a formula: one that starts as a formula does (`=`, `@`,
/// a tab or a return, or `+`/`-` before anything but a digit or a space) gets a leading apostrophe.
fn cell(v: String) -> String {
    let mut chars = v.chars();
    let formula = match (chars.next(), chars.next()) {
        (Some('=' | '@' | '\t' | '\r'), _) => true,
        (Some('+' | '-'), Some(c)) => !(c.is_ascii_digit() || c == ' ' || c == '.'),
        _ => false,
    };
    if formula {
        format!("'{v}")
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_never_a_formula() {
        for (v, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+cmd", "'+cmd"),
            ("-x", "'-x"),
            ("+39 02 1234", "+39 02 1234"),
            ("-12.5", "-12.5"),
            ("Ana", "Ana"),
            ("", ""),
        ] {
            assert_eq!(cell(v.to_string()), want, "{v}");
        }
    }

    #[test]
    fn the_filter_in_the_url() {
        let q = ListQuery {
            q: " ana ".into(),
            min: "60".into(),
            max: "lots".into(),
            owner: NOBODY.into(),
            ..ListQuery::default()
        };
        let (f, problems) = q.filter(50);
        assert_eq!(f.search, ["ana"]);
        assert_eq!((f.min_score, f.max_score, f.owner), (Some(60.0), None, Some(None)));
        assert_eq!(problems, ["max: `lots` is not a number"]);
        assert_eq!(q.url(&[]), "/inbox?q=ana&owner=-&min=60&max=lots");
        assert_eq!(q.url(&[("min", ""), ("stage", "sql")]), "/inbox?q=ana&owner=-&max=lots&stage=sql");
        let q =
            ListQuery { from: "2026-12-01".into(), to: "2026-12-01".into(), page: "3".into(), ..ListQuery::default() };
        let (f, problems) = q.filter(50);
        assert!(problems.is_empty());
        assert_eq!(f.until.unwrap() - f.from.unwrap(), 86_400_000, "`to` includes its day");
        assert_eq!(f.offset, 100);
        let (_, problems) = ListQuery { page: "0".into(), sort: "random".into(), ..ListQuery::default() }.filter(50);
        assert_eq!(
            problems,
            [
                "sort: `random` is not an order (newest, oldest, score, score_low, name, company)",
                "page: `0` is not a page number"
            ]
        );
        assert_eq!(ListQuery::default().url(&[]), "/inbox");
    }
}

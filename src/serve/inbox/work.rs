//! Working leads: status (new, contacted, meeting booked, no-show, won, lost with a reason), owner and notes,
//! each change kept with its time and user; only the changes that apply are offered, and each one is confirmed
//! on the page it returns to, as the database has it.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::super::page::esc;
use super::super::store::{Change, Changed, Lead, Status, STATUSES};
use super::super::{now_ms, App};
use super::{back_to, change_by, store_error, time_html};

/// The statuses a lead at `s` can move to, with the button's words: forward along the usual way, or closed;
/// a closed lead reopened (as contacted) or closed the other way.
fn next(s: Status) -> &'static [(Status, &'static str)] {
    use Status::*;
    match s {
        New => &[(Contacted, "Contacted"), (MeetingBooked, "Meeting booked"), (Won, "Won"), (Lost, "Lost…")],
        Contacted => &[(MeetingBooked, "Meeting booked"), (Won, "Won"), (Lost, "Lost…")],
        MeetingBooked => &[(NoShow, "No-show"), (Won, "Won"), (Lost, "Lost…")],
        NoShow => &[(MeetingBooked, "Meeting booked again"), (Contacted, "Contacted"), (Won, "Won"), (Lost, "Lost…")],
        Won => &[(Contacted, "Reopen"), (Lost, "Lost…")],
        Lost => &[(Contacted, "Reopen"), (Won, "Won")],
    }
}

fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", esc(value))
}

fn button_form(action: &str, csrf: &str, back: &str, fields: &[(&str, &str)], label: &str) -> String {
    let fields: String = fields.iter().map(|(n, v)| hidden(n, v)).collect();
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{}{}{fields}<button type=\"submit\">{}</button></form>",
        esc(action),
        hidden("csrf", csrf),
        hidden("back", back),
        esc(label)
    )
}

/// The list's one-click action: an open lead can be marked won there (lost asks for a reason, on its page).
pub fn quick_actions(csrf: &str, lead: &Lead, back: &str) -> String {
    let status = Status::parse(&lead.work.status).unwrap_or(Status::New);
    if status.outcome().is_some() {
        return String::new();
    }
    let back = format!("{back}{}saved={}", if back.contains('?') { "&" } else { "?" }, lead.id);
    format!(
        " {} <a href=\"/inbox/lead/{}#work\">Lost…</a>",
        button_form(&format!("/inbox/lead/{}/status", lead.id), csrf, &back, &[("status", "won")], "Won"),
        esc(&lead.id)
    )
}

/// The lead page's "Work" section: status, owner, note forms, and the history of changes.
pub fn section(app: &App, csrf: &str, user: &str, lead: &Lead, changes: &[Change], saved: &str) -> String {
    let id = &lead.id;
    let back = format!("/inbox/lead/{id}");
    let status = Status::parse(&lead.work.status).unwrap_or(Status::New);
    let action = format!("/inbox/lead/{id}/status");
    let mut buttons = String::new();
    let mut lost = String::new();
    for (s, label) in next(status) {
        if *s == Status::Lost {
            let reasons: String = app
                .config
                .inbox
                .lost_reasons
                .iter()
                .map(|r| format!("<option value=\"{0}\">{0}</option>", esc(r)))
                .collect();
            let select = if reasons.is_empty() {
                String::new()
            } else {
                format!(
                    "<label>Why <select name=\"reason\" required><option value=\"\">Choose a reason</option>{reasons}</select></label> "
                )
            };
            lost = format!(
                "<form class=\"lost\" method=\"post\" action=\"{}\">{}{}{}{select}<button type=\"submit\">Mark lost</button></form>",
                esc(&action),
                hidden("csrf", csrf),
                hidden("back", &format!("{back}?saved=status#work")),
                hidden("status", "lost"),
            );
        } else {
            buttons.push_str(&button_form(
                &action,
                csrf,
                &format!("{back}?saved=status#work"),
                &[("status", s.id())],
                label,
            ));
            buttons.push(' ');
        }
    }
    let owner = lead.work.owner.as_deref();
    let mut owners = format!("<option value=\"\"{}>Nobody</option>", if owner.is_none() { " selected" } else { "" });
    for u in &app.config.users {
        let sel = if owner == Some(u.name.as_str()) { " selected" } else { "" };
        owners.push_str(&format!("<option value=\"{0}\"{sel}>{0}</option>", esc(&u.name)));
    }
    if let Some(o) = owner.filter(|o| !app.config.users.iter().any(|u| u.name == *o)) {
        owners.push_str(&format!("<option value=\"{0}\" selected>{0}</option>", esc(o)));
    }
    let take = if owner == Some(user) {
        String::new()
    } else {
        button_form(
            &format!("/inbox/lead/{id}/owner"),
            csrf,
            &format!("{back}?saved=owner#work"),
            &[("owner", user)],
            "Assign to me",
        )
    };
    let since = match (lead.work.status_at, &lead.work.status_by) {
        (Some(at), Some(by)) => format!(" since {} by {}", time_html(at), esc(by)),
        _ => String::new(),
    };
    let reason = lead.work.lost_reason.as_deref().map_or(String::new(), |r| format!(" ({})", esc(r)));
    let history: Vec<String> = changes
        .iter()
        .rev()
        .map(|c| {
            let what = match &c.what {
                Changed::Status { status, reason } => format!(
                    "Status: <strong>{}</strong>{}",
                    esc(Status::label_of(status)),
                    reason.as_deref().map_or(String::new(), |r| format!(" ({})", esc(r)))
                ),
                Changed::Owner { owner } => {
                    format!("Owner: <strong>{}</strong>", esc(owner.as_deref().unwrap_or("nobody")))
                }
                Changed::Note { text } => format!("Note: <span class=\"note\">{}</span>", esc(text)),
            };
            format!("<li>{} · {} · {what}</li>", time_html(c.at), esc(&c.by))
        })
        .collect();
    let confirm = confirmation(changes, saved);
    format!(
        "<section id=\"work\" aria-labelledby=\"work-h\"><h2 id=\"work-h\">Work</h2>{confirm}\
         <dl class=\"facts\"><dt>Status</dt><dd data-status=\"{status_id}\">{status_label}{reason}{since}</dd>\
         <dt>Owner</dt><dd data-owner>{owner_text}</dd></dl>\
         <div class=\"actions\">{buttons}</div>{lost}\
         <form class=\"owner\" method=\"post\" action=\"/inbox/lead/{id_e}/owner\">{csrf_h}{back_owner}<label>Owner <select name=\"owner\">{owners}</select></label> \
         <button type=\"submit\">Assign</button></form> {take}\
         <form class=\"note\" method=\"post\" action=\"/inbox/lead/{id_e}/note\">{csrf_h}{back_note}<label>Note <textarea name=\"text\" rows=\"2\" maxlength=\"{max_note}\" required></textarea></label> \
         <button type=\"submit\">Add note</button></form>\
         <h3>History</h3><ul class=\"history\">{history}</ul></section>",
        status_id = esc(status.id()),
        status_label = esc(status.label()),
        owner_text = esc(owner.unwrap_or("nobody")),
        id_e = esc(id),
        csrf_h = hidden("csrf", csrf),
        back_owner = hidden("back", &format!("{back}?saved=owner#work")),
        back_note = hidden("back", &format!("{back}?saved=note#work")),
        max_note = MAX_NOTE,
        history = if history.is_empty() { "<li>No changes yet.</li>".to_string() } else { history.join("") },
    )
}

/// What the last change of kind `saved` was, as stored: the confirmation of a change just made.
fn confirmation(changes: &[Change], saved: &str) -> String {
    let last = changes.iter().rev().find(|c| {
        matches!(
            (&c.what, saved),
            (Changed::Status { .. }, "status") | (Changed::Owner { .. }, "owner") | (Changed::Note { .. }, "note")
        )
    });
    let Some(c) = last else { return String::new() };
    let what = match &c.what {
        Changed::Status { status, .. } => {
            format!("status set to {}", Status::label_of(status))
        }
        Changed::Owner { owner: Some(o) } => format!("assigned to {o}"),
        Changed::Owner { owner: None } => "owner removed".to_string(),
        Changed::Note { .. } => "note added".to_string(),
    };
    format!("<p class=\"saved\" role=\"status\">Saved: {} by {} at {}.</p>", esc(&what), esc(&c.by), time_html(c.at))
}

/// The longest note, in characters.
const MAX_NOTE: usize = 5000;

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

fn bad_request(m: String) -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("400 {m}\n"))
        .into_response()
}

async fn apply(app: &App, id: &str, change: Change, back: &str) -> Response {
    let by = change.by.clone();
    match app.store.change(id, change).await {
        Ok(true) => {
            tracing::info!(lead = %id, by = %by, "lead changed");
            (StatusCode::SEE_OTHER, [(header::LOCATION, back_to(back))]).into_response()
        }
        Ok(false) => (StatusCode::NOT_FOUND, "404 no such lead\n").into_response(),
        Err(e) => store_error(e),
    }
}

pub async fn set_status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> Response {
    let user = match change_by(&app, &headers, &f.csrf).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(status) = Status::parse(f.status.trim()) else {
        let ids: Vec<&str> = STATUSES.iter().map(|(_, id, _)| *id).collect();
        return bad_request(format!("status: `{}` is not one of {}", f.status, ids.join(", ")));
    };
    let reasons = &app.config.inbox.lost_reasons;
    let reason = match (status, f.reason.trim()) {
        (Status::Lost, "") if !reasons.is_empty() => {
            return bad_request(format!("reason: say why the lead was lost ({})", reasons.join(", ")))
        }
        (Status::Lost, r) if !reasons.is_empty() && !reasons.iter().any(|x| x == r) => {
            return bad_request(format!("reason: `{r}` is not one of the reasons ({})", reasons.join(", ")))
        }
        (Status::Lost, r) => Some(r.to_string()).filter(|r| !r.is_empty()),
        (_, "") => None,
        (_, _) => return bad_request("reason: only a lost lead has a reason".into()),
    };
    let change = Change { at: now_ms(), by: user, what: Changed::Status { status: status.id().into(), reason } };
    apply(&app, &id, change, &f.back).await
}

/// The old form's `outcome` (`won`, `lost` or `open`) as a status: open again is contacted.
#[derive(Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

pub async fn set_outcome(
    state: State<Arc<App>>,
    headers: HeaderMap,
    id: Path<String>,
    Form(f): Form<OutcomeForm>,
) -> Response {
    let status = match f.outcome.as_str() {
        "won" | "lost" => f.outcome.clone(),
        "open" => "contacted".into(),
        other => return bad_request(format!("outcome: `{other}` is not won, lost or open")),
    };
    set_status(state, headers, id, Form(StatusForm { csrf: f.csrf, status, reason: f.reason, back: f.back })).await
}

#[derive(Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    back: String,
}

pub async fn set_owner(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<OwnerForm>,
) -> Response {
    let user = match change_by(&app, &headers, &f.csrf).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let owner = f.owner.trim();
    if !owner.is_empty() && !app.config.users.iter().any(|u| u.name == owner) {
        return bad_request(format!("owner: `{owner}` is not a user of the inbox"));
    }
    let owner = Some(owner.to_string()).filter(|o| !o.is_empty());
    apply(&app, &id, Change { at: now_ms(), by: user, what: Changed::Owner { owner } }, &f.back).await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    back: String,
}

pub async fn add_note(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    let user = match change_by(&app, &headers, &f.csrf).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let text = f.text.trim();
    if text.is_empty() {
        return bad_request("text: the note is empty".into());
    }
    if text.chars().count() > MAX_NOTE {
        return bad_request(format!("text: a note has at most {MAX_NOTE} characters"));
    }
    apply(&app, &id, Change { at: now_ms(), by: user, what: Changed::Note { text: text.to_string() } }, &f.back).await
}

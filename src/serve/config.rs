//! The receiver's configuration: a TOML file, every key optional but the ones a feature needs. A bad file is
//! an error naming the file, the line and column, and the key (`receive.min_fill_ms`). Secrets may be given
//! as `"env:NAME"`, read from the environment when the file is loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on; loopback by default.
    pub listen: String,
    /// Directory of the landing page's static files (`None`: serve no files, only the API and the inbox).
    pub root: Option<PathBuf>,
    /// `sqlite:PATH` (the default: `sqlite:leadscore.db`) or `postgres://user@host:port/db`.
    pub database: String,
    /// The site's secret: signs event tokens and CSRF tokens, salts the IP hashes. At least 16 bytes.
    pub secret: Option<String>,
    pub model: ModelConfig,
    pub receive: ReceiveConfig,
    pub page: PageConfig,
    /// Sources the site's pages may load from besides their own (Google Tag Manager, a booking embed, a chat
    /// widget), added to the strict default policy of the static files; the inbox and the receiver's own
    /// pages keep the strict policy.
    pub csp: CspConfig,
    pub captcha: Option<CaptchaConfig>,
    pub events: EventsConfig,
    pub delivery: DeliveryConfig,
    /// The delivery targets as written; checked into `targets` when the file is read.
    #[serde(rename = "targets")]
    pub target_specs: Vec<TargetSpec>,
    #[serde(skip)]
    pub targets: Vec<TargetConfig>,
    #[serde(rename = "users")]
    pub users: Vec<UserConfig>,
    pub inbox: InboxConfig,
    /// Who owns a new lead: the first rule that matches it assigns it (none: nobody until someone takes it).
    pub assign: Vec<AssignRule>,
}

/// How the inbox is worked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InboxConfig {
    /// The reasons a lead can be lost for; marking it lost asks for one.
    pub lost_reasons: Vec<String>,
    /// The receiver's public address (`https://leads.example.com`): notifications link to a lead's page in the
    /// inbox with it; without it they give the page's path.
    pub url: Option<String>,
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            lost_reasons: ["No budget", "Chose a competitor", "No answer", "Not a fit", "Bad timing", "Other"]
                .map(String::from)
                .to_vec(),
            url: None,
        }
    }
}

/// An assignment rule: leads at these stages from these countries go to `owner`, or to each of `round_robin`
/// in turn.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRule {
    /// Stage ids (`disqualified` too); empty: any.
    #[serde(default)]
    pub stages: Vec<String>,
    /// ISO 3166-1 alpha-2 codes; empty: any (a lead without a country matches only an empty list).
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub round_robin: Vec<String>,
}

impl AssignRule {
    pub fn matches(&self, stage: &str, country: Option<&str>) -> bool {
        (self.stages.is_empty() || self.stages.iter().any(|s| s == stage))
            && (self.countries.is_empty()
                || country.is_some_and(|c| self.countries.iter().any(|x| x.eq_ignore_ascii_case(c))))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            root: None,
            database: "sqlite:leadscore.db".into(),
            secret: None,
            model: ModelConfig::default(),
            receive: ReceiveConfig::default(),
            page: PageConfig::default(),
            csp: CspConfig::default(),
            captcha: None,
            events: EventsConfig::default(),
            delivery: DeliveryConfig::default(),
            target_specs: vec![],
            targets: vec![],
            users: vec![],
            inbox: InboxConfig::default(),
            assign: vec![],
        }
    }
}

/// The model that scores leads, and how many earlier versions are still accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// A rules document (`.json`) or a compiled program (`.lsp`): the current model.
    pub path: PathBuf,
    /// Other programs still accepted (`.json` or `.lsp`), e.g. the previous release's `.lsp` during a rollout.
    pub accept: Vec<PathBuf>,
    /// How many published programs are accepted: the current one and the newest others the store has seen.
    pub keep: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig { path: PathBuf::from("examples/b2b-saas.json"), accept: vec![], keep: 5 }
    }
}

/// What a submission must pass.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiveConfig {
    /// The largest body accepted, in bytes.
    pub body_limit: usize,
    /// A submission sooner than this after the form started (`leadscore_started`) is a bot's.
    pub min_fill_ms: u64,
    /// Refuse a submission that does not say when its form started (a page without the controller cannot).
    pub require_started: bool,
    /// A form field hidden from people: a submission that fills it is a bot's (`""`: no honeypot). It must not
    /// be a field of any accepted model (the receiver refuses to start): visitors fill those.
    pub honeypot: String,
    /// How far the browser's clock may be from the server's.
    pub max_skew_ms: u64,
    /// Submissions per minute from one IP address (per receiver); 0: no limit.
    pub rate_per_minute: u32,
    /// Submissions one IP address may send at once above the rate.
    pub rate_burst: u32,
    /// Trust `X-Forwarded-For`'s last hop for the client address (behind a load balancer only).
    pub trust_forwarded: bool,
    /// The prefix of the controller's hidden inputs.
    pub field_prefix: String,
    /// Origins of pages on other sites that send leads here (`https://www.example.com`): they get CORS
    /// headers, and their preflight is answered. With any listed, a submission from another site's page is
    /// refused; with none, every origin may post (without reading the answer), as before.
    pub allowed_origins: Vec<String>,
}

impl Default for ReceiveConfig {
    fn default() -> Self {
        ReceiveConfig {
            body_limit: 64 * 1024,
            min_fill_ms: 3000,
            require_started: false,
            // Under the controller's prefix, which no model field takes.
            honeypot: "leadscore_website".into(),
            max_skew_ms: 24 * 3600 * 1000,
            rate_per_minute: 30,
            rate_burst: 10,
            trust_forwarded: false,
            field_prefix: "leadscore_".into(),
            allowed_origins: vec![],
        }
    }
}

/// The thank-you page of a form sent without JavaScript (or asking for HTML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PageConfig {
    /// The site's name, in the page's header and title (none: no header).
    pub brand: Option<String>,
    /// The style sheet the page links to.
    pub stylesheet: String,
    /// Show the visitor the receiver's verdict: the stage, score and grade, whether the browser's claim held,
    /// and every value sent. For a demo; off, the page is a plain thank-you in the model's texts.
    pub details: bool,
    /// Instead of the page, send the visitor to the site's own page of their stage or knockout.
    pub redirects: RedirectConfig,
}

impl Default for PageConfig {
    fn default() -> Self {
        PageConfig {
            brand: None,
            stylesheet: "/style.css".into(),
            details: false,
            redirects: RedirectConfig::default(),
        }
    }
}

/// Where a form sent without JavaScript takes the visitor, by outcome: an `https:`/`http:` URL or a path on the
/// site (checked as endings' links are).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedirectConfig {
    /// By stage id.
    pub stages: std::collections::BTreeMap<String, String>,
    /// By knockout reason.
    pub knockouts: std::collections::BTreeMap<String, String>,
    /// For any other outcome (none: the thank-you page).
    pub default: Option<String>,
}

impl RedirectConfig {
    /// The page for a lead of `stage`, or disqualified for `reason`.
    pub fn target(&self, stage: &str, reason: Option<&str>) -> Option<&str> {
        let by = match reason {
            Some(r) => self.knockouts.get(r),
            None => self.stages.get(stage),
        };
        by.or(self.default.as_ref()).map(String::as_str)
    }

    fn check(&self) -> Result<(), (String, String)> {
        let all = self.stages.iter().map(|(k, v)| (format!("page.redirects.stages.{k}"), v));
        let all = all.chain(self.knockouts.iter().map(|(k, v)| (format!("page.redirects.knockouts.{k}"), v)));
        for (key, url) in all.chain(self.default.iter().map(|v| ("page.redirects.default".to_string(), v))) {
            let problem = crate::valid::link_problem(url)
                .or_else(|| url.trim().to_ascii_lowercase().starts_with("mailto:").then_some("it is a mailto: link"));
            if let Some(p) = problem {
                return Err((
                    key,
                    format!(
                        "`{url}` is not a page to send the visitor to: {p}; use an https: URL or a path on the site"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Extra sources of the static pages' Content-Security-Policy, by directive: CSP source expressions such as
/// `https://www.googletagmanager.com`, `https://*.hubspot.com`, `https:` or `'sha256-…'`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CspConfig {
    pub script_src: Vec<String>,
    pub connect_src: Vec<String>,
    pub frame_src: Vec<String>,
    pub img_src: Vec<String>,
    pub style_src: Vec<String>,
}

impl CspConfig {
    /// The directives, with the strict policy's own sources first.
    fn directives(&self) -> [(&'static str, &'static str, &[String]); 5] {
        [
            ("script_src", "script-src 'self' 'wasm-unsafe-eval'", &self.script_src),
            ("style_src", "style-src 'self'", &self.style_src),
            ("img_src", "img-src 'self' data:", &self.img_src),
            ("connect_src", "connect-src 'self'", &self.connect_src),
            ("frame_src", "frame-src", &self.frame_src),
        ]
    }

    /// The policy of the site's static pages: the strict one (`super::CSP`) with these sources added.
    pub fn policy(&self) -> String {
        let mut out = vec!["default-src 'none'".to_string()];
        for (_, base, extra) in self.directives() {
            if base == "frame-src" && extra.is_empty() {
                continue;
            }
            out.push(std::iter::once(base.to_string()).chain(extra.iter().cloned()).collect::<Vec<_>>().join(" "));
        }
        out.push("worker-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'".into());
        out.join("; ")
    }

    /// Each source one CSP source expression: no space, `;` or `,`, which would end it or start another
    /// directive; a quoted keyword or hash is closed.
    fn check(&self) -> Result<(), (String, String)> {
        for (key, _, sources) in self.directives() {
            for (i, s) in sources.iter().enumerate() {
                let quoted = s.starts_with('\'');
                let ok = !s.is_empty()
                    && !s.contains(|c: char| c.is_whitespace() || c == ';' || c == ',' || c.is_control())
                    && (!quoted || (s.len() > 2 && s.ends_with('\'')));
                if !ok {
                    return Err((
                        format!("csp.{key}[{i}]"),
                        "one source, such as https://www.googletagmanager.com, https://*.example.com, https: or \
                         'sha256-…' (no space, `;` or `,`)"
                            .into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A CAPTCHA token check (Cloudflare Turnstile or Google reCAPTCHA: both answer `{"success": bool}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaConfig {
    pub provider: CaptchaProvider,
    pub secret: String,
    /// The provider's verify endpoint (default: the provider's own).
    pub verify_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptchaProvider {
    Turnstile,
    Recaptcha,
}

impl CaptchaProvider {
    /// The form field the provider's widget fills.
    pub fn field(self) -> &'static str {
        match self {
            CaptchaProvider::Turnstile => "cf-turnstile-response",
            CaptchaProvider::Recaptcha => "g-recaptcha-response",
        }
    }

    pub fn default_url(self) -> &'static str {
        match self {
            CaptchaProvider::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            CaptchaProvider::Recaptcha => "https://www.google.com/recaptcha/api/siteverify",
        }
    }
}

/// Which behaviour events the receiver can vouch for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// The oldest event token accepted, in days after the event it vouches for.
    pub token_max_age_days: u32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        // A visitor fills the form within days of a webinar or a demo, not within a year.
        EventsConfig { token_max_age_days: 30 }
    }
}

/// The outbox worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts before a delivery is marked failed (it stays in the outbox, to retry from the inbox).
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each one.
    pub backoff_ms: u64,
    /// The longest wait between attempts.
    pub backoff_max_ms: u64,
    /// How often the worker looks for due deliveries when it has not been woken.
    pub poll_ms: u64,
    /// The time a target has to answer.
    pub timeout_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_attempts: 10,
            backoff_ms: 2000,
            backoff_max_ms: 3_600_000,
            poll_ms: 1000,
            timeout_ms: 10_000,
        }
    }
}

/// One place leads are delivered to, as written in the file (`kind` says which keys it takes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub id: String,
    pub kind: TargetKindName,
    /// webhook: where to POST; hubspot: the API's base URL; salesforce: the Web-to-Lead endpoint.
    pub url: Option<String>,
    /// webhook: `whsec_` followed by the base64 key, as the Standard Webhooks spec writes it.
    pub secret: Option<String>,
    /// hubspot
    pub portal_id: Option<String>,
    /// hubspot
    pub form_guid: Option<String>,
    /// hubspot: the consent text shown to visitors, for `legalConsentOptions`.
    pub consent_text: Option<String>,
    /// salesforce: the organisation id.
    pub oid: Option<String>,
    /// slack, email: the message, with placeholders (`{name}`, `{stage}`, `{link}`, a field's id, ...).
    pub template: Option<String>,
    /// email: the subject, with placeholders.
    pub subject: Option<String>,
    /// email: the sender's address (`Leads <leads@example.com>`).
    pub from: Option<String>,
    /// email: the recipients' addresses.
    #[serde(default)]
    pub to: Vec<String>,
    /// email: also to the lead's owner (the `email` of their [[users]] entry).
    #[serde(default)]
    pub to_owner: bool,
    /// Leads at these stages go here (`disqualified` for knockouts); empty: every stage.
    #[serde(default)]
    pub stages: Vec<String>,
    /// Disqualified leads whose knockout has one of these reasons go here (with `stages` empty: only these).
    #[serde(default)]
    pub knockouts: Vec<String>,
    /// Target field name for each field id (`{email = "Email"}`); a field without an entry keeps its id.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Send only the mapped fields.
    #[serde(default)]
    pub only_mapped: bool,
    /// Only leads these users own go here; empty: whoever owns it, or nobody.
    #[serde(default)]
    pub owners: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKindName {
    Webhook,
    Hubspot,
    Salesforce,
    Slack,
    Email,
}

/// One place leads are delivered to, checked.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub id: String,
    pub kind: TargetKind,
    pub stages: Vec<String>,
    pub knockouts: Vec<String>,
    pub fields: BTreeMap<String, String>,
    pub only_mapped: bool,
    pub owners: Vec<String>,
}

impl TargetConfig {
    /// The message templates of the target, by key: what placeholders must name.
    pub fn templates(&self) -> Vec<(&'static str, &str)> {
        match &self.kind {
            TargetKind::Slack { template, .. } => vec![("template", template)],
            TargetKind::Email { subject, template, .. } => vec![("subject", subject), ("template", template)],
            TargetKind::Webhook { .. } | TargetKind::Hubspot { .. } | TargetKind::Salesforce { .. } => vec![],
        }
    }
}

/// A Slack message when the target gives none.
pub const SLACK_TEMPLATE: &str =
    "New {stage}: {name}, {role} at {company} ({email}), score {score}, owner {owner}. {link}";
/// An email's subject and body when the target gives none.
pub const EMAIL_SUBJECT: &str = "New {stage}: {name}, {company}";
pub const EMAIL_TEMPLATE: &str =
    "{name} ({email}), {role} at {company}\nStage: {stage}, score {score}, grade {grade}\nOwner: {owner}\n\n{link}\n";

#[derive(Debug, Clone)]
pub enum TargetKind {
    /// A JSON POST signed per the Standard Webhooks spec.
    Webhook { url: String, secret: String },
    /// HubSpot's Forms API v3 (`/submissions/v3/integration/submit/{portal}/{form}`).
    Hubspot { portal_id: String, form_guid: String, url: Option<String>, consent_text: Option<String> },
    /// Salesforce Web-to-Lead.
    Salesforce { oid: String, url: Option<String> },
    /// A Slack incoming webhook (or any service that takes Slack's `{"text": ...}`).
    Slack { url: String, template: String },
    /// An email over SMTP (`url`: `smtps://user:password@host:465`, `smtp://...:587?tls=required`).
    Email { url: String, from: String, to: Vec<String>, to_owner: bool, subject: String, template: String },
}

impl TargetSpec {
    /// The target, or the key that is missing or does not belong.
    fn resolve(&self) -> Result<TargetConfig, (Option<&'static str>, String)> {
        let name = match self.kind {
            TargetKindName::Webhook => "webhook",
            TargetKindName::Hubspot => "hubspot",
            TargetKindName::Salesforce => "salesforce",
            TargetKindName::Slack => "slack",
            TargetKindName::Email => "email",
        };
        let need =
            |v: &Option<String>, key: &'static str| v.clone().ok_or((None, format!("a {name} target needs `{key}`")));
        let allowed: &[&str] = match self.kind {
            TargetKindName::Webhook => &["url", "secret"],
            TargetKindName::Hubspot => &["url", "portal_id", "form_guid", "consent_text"],
            TargetKindName::Salesforce => &["url", "oid"],
            TargetKindName::Slack => &["url", "template"],
            TargetKindName::Email => &["url", "template", "subject", "from", "to", "to_owner"],
        };
        let given = [
            ("url", self.url.is_some()),
            ("secret", self.secret.is_some()),
            ("portal_id", self.portal_id.is_some()),
            ("form_guid", self.form_guid.is_some()),
            ("consent_text", self.consent_text.is_some()),
            ("oid", self.oid.is_some()),
            ("template", self.template.is_some()),
            ("subject", self.subject.is_some()),
            ("from", self.from.is_some()),
            ("to", !self.to.is_empty()),
            ("to_owner", self.to_owner),
        ];
        if let Some((k, _)) = given.iter().find(|(k, given)| *given && !allowed.contains(k)) {
            return Err((Some(k), format!("not a key of a {name} target")));
        }
        let kind = match self.kind {
            TargetKindName::Webhook => {
                TargetKind::Webhook { url: need(&self.url, "url")?, secret: need(&self.secret, "secret")? }
            }
            TargetKindName::Hubspot => TargetKind::Hubspot {
                portal_id: need(&self.portal_id, "portal_id")?,
                form_guid: need(&self.form_guid, "form_guid")?,
                url: self.url.clone(),
                consent_text: self.consent_text.clone(),
            },
            TargetKindName::Salesforce => {
                TargetKind::Salesforce { oid: need(&self.oid, "oid")?, url: self.url.clone() }
            }
            TargetKindName::Slack => TargetKind::Slack {
                url: need(&self.url, "url")?,
                template: self.template.clone().unwrap_or_else(|| SLACK_TEMPLATE.into()),
            },
            TargetKindName::Email => {
                if self.to.is_empty() && !self.to_owner {
                    return Err((None, "an email target needs `to`, `to_owner = true`, or both".into()));
                }
                TargetKind::Email {
                    url: need(&self.url, "url")?,
                    from: need(&self.from, "from")?,
                    to: self.to.clone(),
                    to_owner: self.to_owner,
                    subject: self.subject.clone().unwrap_or_else(|| EMAIL_SUBJECT.into()),
                    template: self.template.clone().unwrap_or_else(|| EMAIL_TEMPLATE.into()),
                }
            }
        };
        Ok(TargetConfig {
            id: self.id.clone(),
            kind,
            stages: self.stages.clone(),
            knockouts: self.knockouts.clone(),
            fields: self.fields.clone(),
            only_mapped: self.only_mapped,
            owners: self.owners.clone(),
        })
    }
}

/// One person who may open the inbox: a password (its argon2 hash) or a token (its SHA-256, hex).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// Where an email target with `to_owner` writes to about the user's leads.
    #[serde(default)]
    pub email: Option<String>,
}

/// A configuration error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key, dotted (`targets[0].url`).
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            column: None,
            key: String::new(),
            message: format!("cannot read it: {e}"),
        })?;
        Config::parse(&text, &file)
    }

    /// Parses a configuration's text; `file` names it in errors. Relative paths stay relative to the
    /// working directory.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let at = |offset: Option<usize>| -> (Option<usize>, Option<usize>) {
            let Some(o) = offset else { return (None, None) };
            let before = &text[..o.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (Some(line), Some(column))
        };
        let de = toml::Deserializer::parse(text).map_err(|e| {
            let (line, column) = at(e.span().map(|s| s.start));
            ConfigError { file: file.into(), line, column, key: String::new(), message: first_line(e.message()) }
        })?;
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = at(inner.span().map(|s| s.start));
            let key = if key == "." { String::new() } else { key };
            ConfigError { file: file.into(), line, column, key, message: first_line(inner.message()) }
        })?;
        config.resolve_env().map_err(|(key, message)| {
            let (line, column) = at(find_key(text, &key));
            ConfigError { file: file.into(), line, column, key, message }
        })?;
        config.targets = config
            .target_specs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.resolve().map_err(|(k, message)| {
                    let key = match k {
                        Some(k) => format!("targets[{i}].{k}"),
                        None => format!("targets[{i}]"),
                    };
                    let (line, column) = at(find_key(text, &key).or_else(|| nth_table(text, "targets", i)));
                    ConfigError { file: file.into(), line, column, key, message }
                })
            })
            .collect::<Result<_, _>>()?;
        config.check().map_err(|(key, message)| {
            // A key, else the table a key like `assign[0]` names.
            let table = || {
                let (name, n) = key.strip_suffix(']')?.split_once('[')?;
                nth_table(text, name, n.parse().ok()?)
            };
            let (line, column) = at(find_key(text, &key).or_else(table));
            ConfigError { file: file.into(), line, column, key, message }
        })?;
        Ok(config)
    }

    /// `env:NAME` values replaced by the environment's.
    fn resolve_env(&mut self) -> Result<(), (String, String)> {
        fn get(key: &str, v: &mut String) -> Result<(), (String, String)> {
            if let Some(name) = v.strip_prefix("env:") {
                *v = std::env::var(name)
                    .map_err(|_| (key.to_string(), format!("the environment variable {name} is not set")))?;
            }
            Ok(())
        }
        if let Some(s) = &mut self.secret {
            get("secret", s)?;
        }
        get("database", &mut self.database)?;
        if let Some(c) = &mut self.captcha {
            get("captcha.secret", &mut c.secret)?;
        }
        for (i, t) in self.target_specs.iter_mut().enumerate() {
            if let Some(secret) = &mut t.secret {
                get(&format!("targets[{i}].secret"), secret)?;
            }
            // An SMTP URL holds a password.
            if let Some(url) = &mut t.url {
                get(&format!("targets[{i}].url"), url)?;
            }
        }
        Ok(())
    }

    /// What the types cannot say.
    fn check(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, m: &str| Err((k.to_string(), m.to_string()));
        if let Some(s) = &self.secret {
            if s.len() < 16 {
                return bad("secret", "the secret needs at least 16 bytes");
            }
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("listen", "an address and port, such as 127.0.0.1:8080");
        }
        if !(self.database.starts_with("sqlite:")
            || self.database.starts_with("postgres://")
            || self.database.starts_with("postgresql://"))
        {
            return bad("database", "sqlite:PATH or postgres://user@host:port/database");
        }
        if self.model.keep == 0 {
            return bad("model.keep", "at least 1: the current program");
        }
        if self.receive.body_limit < 1024 {
            return bad("receive.body_limit", "at least 1024 bytes");
        }
        if self.delivery.max_attempts == 0 {
            return bad("delivery.max_attempts", "at least 1");
        }
        self.csp.check()?;
        self.page.redirects.check()?;
        for (i, o) in self.receive.allowed_origins.iter().enumerate() {
            // An origin as browsers send it: scheme, host and port only, nothing after.
            let parsed = url::Url::parse(o).ok().map(|u| (u.scheme().to_string(), u.origin().ascii_serialization()));
            match parsed {
                Some((scheme, origin)) if (scheme == "https" || scheme == "http") && origin == *o => {}
                _ => {
                    return bad(
                        &format!("receive.allowed_origins[{i}]"),
                        "an origin as a browser sends it: https://host or https://host:port, without a path or a \
                         trailing slash",
                    )
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            if !seen.insert(t.id.as_str()) {
                return bad(&format!("targets[{i}].id"), "another target has this id");
            }
            let url = match &t.kind {
                TargetKind::Webhook { url, secret } => {
                    let key = secret.strip_prefix("whsec_").unwrap_or(secret);
                    use base64::Engine as _;
                    if base64::engine::general_purpose::STANDARD.decode(key).map_or(true, |k| k.is_empty()) {
                        return bad(&format!("targets[{i}].secret"), "`whsec_` followed by a base64 key");
                    }
                    Some(url)
                }
                TargetKind::Hubspot { url, .. } | TargetKind::Salesforce { url, .. } => url.as_ref(),
                TargetKind::Slack { url, .. } => Some(url),
                TargetKind::Email { url, from, to, to_owner, .. } => {
                    use lettre::message::Mailbox;
                    if let Err(e) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url) {
                        return bad(
                            &format!("targets[{i}].url"),
                            &format!(
                                "not an SMTP server's URL (smtps://user:password@host:465, \
                                 smtp://user:password@host:587?tls=required): {e}"
                            ),
                        );
                    }
                    if let Err(e) = from.parse::<Mailbox>() {
                        return bad(&format!("targets[{i}].from"), &format!("not an email address: {e}"));
                    }
                    if let Some((j, e)) =
                        to.iter().enumerate().find_map(|(j, a)| a.parse::<Mailbox>().err().map(|e| (j, e)))
                    {
                        return bad(&format!("targets[{i}].to[{j}]"), &format!("not an email address: {e}"));
                    }
                    if *to_owner {
                        let owners: Vec<&UserConfig> =
                            self.users.iter().filter(|u| t.owners.is_empty() || t.owners.contains(&u.name)).collect();
                        if let Some(u) = owners.iter().find(|u| u.email.is_none()) {
                            return bad(
                                &format!("targets[{i}].to_owner"),
                                &format!("the user `{}` may own a lead but has no `email`", u.name),
                            );
                        }
                    }
                    None
                }
            };
            if let Some((j, o)) = t.owners.iter().enumerate().find(|(_, o)| !self.users.iter().any(|u| u.name == **o)) {
                return bad(&format!("targets[{i}].owners[{j}]"), &format!("`{o}` is not one of the [[users]]"));
            }
            if let Some(u) = url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return bad(&format!("targets[{i}].url"), "an http:// or https:// URL");
                }
            }
        }
        for (i, r) in self.assign.iter().enumerate() {
            let key = |k: &str| format!("assign[{i}].{k}");
            match (&r.owner, r.round_robin.is_empty()) {
                (None, true) => return bad(&format!("assign[{i}]"), "a rule needs `owner` or `round_robin`"),
                (Some(_), false) => return bad(&key("round_robin"), "a rule has `owner` or `round_robin`, not both"),
                _ => {}
            }
            for (j, name) in r.owner.iter().chain(&r.round_robin).enumerate() {
                if !self.users.iter().any(|u| u.name == *name) {
                    let k = if r.owner.is_some() { key("owner") } else { format!("{}[{j}]", key("round_robin")) };
                    return bad(&k, &format!("`{name}` is not one of the [[users]]"));
                }
            }
            if let Some(c) = r.countries.iter().find(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic())) {
                return bad(&key("countries"), &format!("`{c}` is not a two-letter country code (ISO 3166-1)"));
            }
        }
        if let Some(u) = &self.inbox.url {
            if !(u.starts_with("https://") || u.starts_with("http://")) || url::Url::parse(u).is_err() {
                return bad("inbox.url", "the receiver's address, such as https://leads.example.com");
            }
        }
        for (i, u) in self.users.iter().enumerate() {
            if let Some(e) = &u.email {
                if let Err(e) = e.parse::<lettre::Address>() {
                    return bad(&format!("users[{i}].email"), &format!("not an email address: {e}"));
                }
            }
        }
        if self.inbox.lost_reasons.iter().any(|r| r.trim().is_empty()) {
            return bad("inbox.lost_reasons", "a reason cannot be empty");
        }
        for (i, u) in self.users.iter().enumerate() {
            match (&u.password_hash, &u.token_sha256) {
                (None, None) => return bad(&format!("users[{i}]"), "a user needs `password_hash` or `token_sha256`"),
                (Some(h), _) if argon2::PasswordHash::new(h).is_err() => {
                    return bad(
                        &format!("users[{i}].password_hash"),
                        "not an argon2 hash (`leadscore hash-password` makes one)",
                    )
                }
                (_, Some(t)) if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    return bad(&format!("users[{i}].token_sha256"), "64 hex digits: the SHA-256 of the token")
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Where a dotted key (`targets[1].url`, `receive.min_fill_ms`) is written, roughly: its last part at the
/// start of a line, after the `[[table]]` that holds it. Good enough to point at the line.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let last = key.rsplit('.').next()?.split('[').next()?;
    // Inside the n-th `[[name]]` table, when the key says so.
    let from = key
        .split('.')
        .find_map(|part| {
            let (name, rest) = part.split_once('[')?;
            let n: usize = rest.strip_suffix(']')?.parse().ok()?;
            nth_table(text, name, n)
        })
        .unwrap_or(0);
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with(last) && t[last.len()..].trim_start().starts_with('=') {
            return Some(offset + (line.len() - t.len()));
        }
        offset += line.len();
    }
    None
}

/// Where the `n`th `[[name]]` table starts.
fn nth_table(text: &str, name: &str, n: usize) -> Option<usize> {
    let head = format!("[[{name}]]");
    let mut offset = 0;
    let mut seen = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == head {
            if seen == n {
                return Some(offset);
            }
            seen += 1;
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text, "leadscore.toml").unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let c = Config::parse("", "x.toml").unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database, "sqlite:leadscore.db");
        assert_eq!(c.receive.min_fill_ms, 3000);
    }

    #[test]
    fn the_site_policy_adds_sources_to_the_strict_one() {
        let c = Config::parse("", "x.toml").unwrap();
        assert_eq!(c.csp.policy(), crate::serve::CSP, "the default is the strict policy, word for word");
        let c = Config::parse(
            "[csp]\nscript_src = [\"https://www.googletagmanager.com\"]\nframe_src = [\"https://calendly.com\"]\n\
             connect_src = [\"https://*.google-analytics.com\", \"https://api.hubapi.com\"]\n",
            "x.toml",
        )
        .unwrap();
        let p = c.csp.policy();
        assert!(p.contains("script-src 'self' 'wasm-unsafe-eval' https://www.googletagmanager.com;"), "{p}");
        assert!(p.contains("connect-src 'self' https://*.google-analytics.com https://api.hubapi.com;"), "{p}");
        assert!(p.contains("frame-src https://calendly.com;"), "{p}");
        assert!(p.ends_with("frame-ancestors 'none'"), "{p}");
        for bad in ["\"https://a.example; script-src *\"", "\"a b\"", "\"'unsafe-inline\"", "\"\""] {
            let e = err(&format!("[csp]\nscript_src = [{bad}]\n"));
            assert!(e.contains("csp.script_src[0]"), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_name_file_line_and_key() {
        assert_eq!(
            err("listen = \"127.0.0.1:9\"\n[receive]\nmin_fill_ms = \"soon\"\n"),
            "leadscore.toml:3:15: `receive.min_fill_ms`: invalid type: string \"soon\", expected u64"
        );
        assert!(err("[receive]\nminfill = 1\n")
            .starts_with("leadscore.toml:2:1: `receive.minfill`: unknown field `minfill`, expected one of"));
        assert_eq!(
            err("listen = 8080\n"),
            "leadscore.toml:1:10: `listen`: invalid type: integer `8080`, expected a string"
        );
        assert_eq!(
            err("listen = \"8080\"\n"),
            "leadscore.toml:1:1: `listen`: an address and port, such as 127.0.0.1:8080"
        );
        assert_eq!(err("secret = \"short\"\n"), "leadscore.toml:1:1: `secret`: the secret needs at least 16 bytes");
        assert!(err("[model\n").starts_with("leadscore.toml:1:"));
        let t = "[[targets]]\nid = \"a\"\nkind = \"webhook\"\nurl = \"ftp://x\"\nsecret = \"whsec_c2VjcmV0\"\n";
        assert_eq!(err(t), "leadscore.toml:4:1: `targets[0].url`: an http:// or https:// URL");
        let t = "[[targets]]\nid = \"a\"\nkind = \"fax\"\n";
        assert_eq!(err(t), "leadscore.toml:3:8: `targets[0].kind`: unknown variant `fax`, expected one of `webhook`, `hubspot`, `salesforce`, `slack`, `email`");
        let t = "[[targets]]\nid = \"a\"\nkind = \"webhook\"\nurl = \"https://x\"\n";
        assert_eq!(err(t), "leadscore.toml:1:1: `targets[0]`: a webhook target needs `secret`");
        let t = "[[targets]]\nid = \"a\"\nkind = \"salesforce\"\noid = \"x\"\nportal_id = \"1\"\n";
        assert_eq!(err(t), "leadscore.toml:5:1: `targets[0].portal_id`: not a key of a salesforce target");
        assert_eq!(
            err("secret = \"env:LEADSCORE_TEST_UNSET_VARIABLE\"\n"),
            "leadscore.toml:1:1: `secret`: the environment variable LEADSCORE_TEST_UNSET_VARIABLE is not set"
        );
    }

    #[test]
    fn targets_and_users() {
        let t = r#"
[[targets]]
id = "sales"
kind = "webhook"
url = "https://hooks.example/sales"
secret = "whsec_c2VjcmV0LXNlY3JldA=="
stages = ["sql"]
fields = { email = "Email" }

[[targets]]
id = "nurture"
kind = "hubspot"
portal_id = "123"
form_guid = "abc"
stages = ["mql"]

[[users]]
name = "sam"
token_sha256 = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
"#;
        let c = Config::parse(t, "x.toml").unwrap();
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.targets[0].fields["email"], "Email");
        assert!(matches!(c.targets[1].kind, TargetKind::Hubspot { .. }));
        assert_eq!(c.users[0].name, "sam");
    }

    #[test]
    fn notification_targets() {
        let users = "[[users]]\nname = \"ana\"\ntoken_sha256 = \"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"\n";
        let email = |rest: &str| {
            format!("{users}[[targets]]\nid = \"m\"\nkind = \"email\"\nurl = \"smtps://u:p@smtp.example.com\"\n{rest}")
        };
        let c =
            Config::parse(&email("from = \"Leads <l@example.com>\"\nto = [\"t@example.com\"]\n"), "x.toml").unwrap();
        match &c.targets[0].kind {
            TargetKind::Email { subject, template, to_owner: false, .. } => {
                assert_eq!(
                    (subject.as_str(), template.as_str()),
                    (EMAIL_SUBJECT, EMAIL_TEMPLATE),
                    "the default message"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err(&email("from = \"l@example.com\"\n")),
            "leadscore.toml:4:1: `targets[0]`: an email target needs `to`, `to_owner = true`, or both"
        );
        assert_eq!(
            err(&email("from = \"leads\"\nto = [\"t@example.com\"]\n")),
            "leadscore.toml:8:1: `targets[0].from`: not an email address: Invalid input"
        );
        assert!(err(&email("from = \"l@example.com\"\nto = [\"t@example.com\", \"nobody\"]\n"))
            .starts_with("leadscore.toml:9:1: `targets[0].to[1]`: not an email address"));
        assert_eq!(
            err(&email("from = \"l@example.com\"\nto_owner = true\n")),
            "leadscore.toml:9:1: `targets[0].to_owner`: the user `ana` may own a lead but has no `email`"
        );
        assert!(err(&email("from = \"l@example.com\"\nto_owner = true\nowners = [\"bo\"]\n"))
            .contains("`targets[0].owners[0]`: `bo` is not one of the [[users]]"));
        let bad_url = email("from = \"l@example.com\"\nto = [\"t@example.com\"]\n").replace("smtps://u:p@", "imap://");
        assert!(
            err(&bad_url).starts_with("leadscore.toml:7:1: `targets[0].url`: not an SMTP server's URL"),
            "{}",
            err(&bad_url)
        );
        let slack = "[[targets]]\nid = \"s\"\nkind = \"slack\"\n";
        assert_eq!(err(slack), "leadscore.toml:1:1: `targets[0]`: a slack target needs `url`");
        assert_eq!(
            err(&format!("{slack}url = \"https://hooks.slack.com/x\"\nfrom = \"a@b.c\"\n")),
            "leadscore.toml:5:1: `targets[0].from`: not a key of a slack target"
        );
        assert_eq!(
            err("[inbox]\nurl = \"leads.example\"\n"),
            "leadscore.toml:2:1: `inbox.url`: the receiver's address, such as https://leads.example.com"
        );
        assert!(err("[[users]]\nname = \"a\"\ntoken_sha256 = \"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"\nemail = \"a\"\n")
            .starts_with("leadscore.toml:4:1: `users[0].email`: not an email address"));
    }

    #[test]
    fn assignment_rules_and_lost_reasons() {
        let users = "[[users]]\nname = \"ana\"\ntoken_sha256 = \"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"\n";
        let c = Config::parse(
            &format!("{users}[[assign]]\nstages = [\"sql\"]\ncountries = [\"it\"]\nowner = \"ana\"\n"),
            "x.toml",
        )
        .unwrap();
        assert!(c.assign[0].matches("sql", Some("IT")));
        assert!(!c.assign[0].matches("sql", None) && !c.assign[0].matches("mql", Some("IT")));
        assert_eq!(c.inbox.lost_reasons.len(), 6, "a default list of reasons");
        assert_eq!(
            err(&format!("{users}[[assign]]\nstages = [\"sql\"]\n")),
            "leadscore.toml:4:1: `assign[0]`: a rule needs `owner` or `round_robin`"
        );
        assert_eq!(
            err(&format!("{users}[[assign]]\nowner = \"ana\"\nround_robin = [\"ana\"]\n")),
            "leadscore.toml:6:1: `assign[0].round_robin`: a rule has `owner` or `round_robin`, not both"
        );
        assert_eq!(
            err(&format!("{users}[[assign]]\nround_robin = [\"ana\", \"eve\"]\n")),
            "leadscore.toml:5:1: `assign[0].round_robin[1]`: `eve` is not one of the [[users]]"
        );
        assert_eq!(
            err(&format!("{users}[[assign]]\nowner = \"ana\"\ncountries = [\"Italy\"]\n")),
            "leadscore.toml:6:1: `assign[0].countries`: `Italy` is not a two-letter country code (ISO 3166-1)"
        );
        assert_eq!(
            err("[inbox]\nlost_reasons = [\"No budget\", \" \"]\n"),
            "leadscore.toml:2:1: `inbox.lost_reasons`: a reason cannot be empty"
        );
    }
}

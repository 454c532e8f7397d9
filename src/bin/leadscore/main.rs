//! The leadscore command-line tool: check a rules document, score leads in bulk, explain one lead, print
//! the JSON Schema of the document format.

// Reading and scoring leads makes and frees several small strings a lead on every thread: mimalloc's
// thread-local free lists cut the time of `score` and `backtest` on a million leads by about a tenth.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod batches;
mod input;
mod output;
mod report;
#[cfg(feature = "serve")]
mod serve;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use leadscore::leads::Lead;
use leadscore::{diagnostic, Options, Program};

#[derive(Parser)]
#[command(name = "leadscore", version, about = "Lead scoring rules: check them, score leads, explain a score")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiagFormat {
    /// Messages with the source line and carets.
    Text,
    /// One JSON array of diagnostics.
    Json,
}

/// How `backtest` and `compare` read a history.
#[derive(clap::Args)]
pub(crate) struct HistoryArgs {
    /// Input format; by default from the file extension.
    #[arg(long, value_enum)]
    input: Option<InputFormat>,
    /// How to read the file: a mapping document (JSON; `leadscore map` proposes one, `leadscore schema
    /// mapping` is its schema). Default: the preset of the CRM whose export the header is, and the columns
    /// matched to fields by name and label.
    #[arg(long)]
    map: Option<PathBuf>,
    /// The column (NDJSON: key) holding what became of each lead; empty cells are open leads. Default: the
    /// mapping's, else `outcome`.
    #[arg(long)]
    outcome: Option<String>,
    /// Outcome values that count as won, comma-separated (default: the mapping's, else won, closed won,
    /// customer, yes, true, 1).
    #[arg(long, value_delimiter = ',')]
    won: Vec<String>,
    /// Outcome values that count as lost, comma-separated; with any, a value in no list is open.
    #[arg(long, value_delimiter = ',')]
    lost: Vec<String>,
    /// Outcome values of leads still open (not counted as lost), comma-separated.
    #[arg(long, value_delimiter = ',')]
    open: Vec<String>,
    /// The column with the time each lead was handed over, to score it as it was then (decay). Default: the
    /// mapping's, else `scored_at`.
    #[arg(long)]
    scored_at: Option<String>,
    /// The time to score leads without a `scored_at` at (RFC 3339); default: now.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemaDoc {
    /// The rules document.
    Rules,
    /// The mapping of a history file's columns and values (`backtest --map`).
    Mapping,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// One JSON object per lead.
    Ndjson,
    /// One CSV row per lead.
    Csv,
    /// An aligned table for people.
    Table,
}

#[derive(Subcommand)]
enum Command {
    /// Check a rules document and print its diagnostics (exit 1 when it has errors).
    Check {
        /// The rules document (JSON).
        model: PathBuf,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
        /// Also print the compiled program.
        #[arg(long)]
        disassemble: bool,
        /// Also print the static analysis: reachable bounds per group, and per stage whether it can be reached
        /// and its total-score threshold. With `--format json`, print the analysis object (its `warnings` are
        /// the diagnostics) instead of the diagnostics, when the document compiles.
        #[arg(long)]
        analysis: bool,
    },
    /// Score leads from a CSV or NDJSON file (or - for standard input).
    Score {
        /// The rules document (JSON).
        model: PathBuf,
        /// The leads: CSV with a header row, or NDJSON.
        leads: PathBuf,
        /// Input format; by default from the file extension.
        #[arg(long, value_enum)]
        input: Option<InputFormat>,
        /// Output format.
        #[arg(long, value_enum, default_value = "ndjson")]
        output: OutputFormat,
        /// The time to score at (RFC 3339, such as 2026-11-23T00:00:00Z); default: now.
        #[arg(long)]
        now: Option<String>,
        /// Treat leads as forms in progress: print score ranges and what is undecided.
        #[arg(long)]
        partial: bool,
        /// Print the whole evaluation of each lead (NDJSON only).
        #[arg(long)]
        full: bool,
        /// Locale of the texts in the output.
        #[arg(long)]
        locale: Option<String>,
    },
    /// Explain one lead's score: every rule that gave points, caps, stage and grade.
    Explain {
        /// The rules document (JSON).
        model: PathBuf,
        /// The leads file.
        leads: PathBuf,
        /// The lead's `id` (default: the first lead).
        #[arg(long)]
        id: Option<String>,
        /// Input format; by default from the file extension.
        #[arg(long, value_enum)]
        input: Option<InputFormat>,
        /// The time to score at (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        /// Treat the lead as a form in progress.
        #[arg(long)]
        partial: bool,
        /// Locale of the texts.
        #[arg(long)]
        locale: Option<String>,
    },
    /// Compile a rules document into the binary program that the runtime Wasm build loads.
    Build {
        /// The rules document (JSON).
        model: PathBuf,
        /// Where to write the program; default: the model's path with the extension `.lsp`.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the JSON Schema of the rules document, or of a history's mapping document (`schema mapping`).
    Schema {
        #[arg(value_enum, default_value = "rules")]
        document: SchemaDoc,
    },
    /// Propose a mapping document for a history file (a CRM's export): its preset when the header is a known
    /// CRM's, and the columns matched to the model's fields by name and label; edit it, then pass it to
    /// `backtest --map`.
    Map {
        /// The rules document (JSON) or a compiled program.
        model: PathBuf,
        /// The history file (CSV with a header row).
        leads: PathBuf,
    },
    /// Print a CSV template of a history for the model: `id`, `scored_at`, its fields and events, `outcome`.
    Template {
        /// The rules document (JSON) or a compiled program.
        model: PathBuf,
    },
    /// Run the lead receiver: serve the landing page, receive and verify leads, store them, deliver them to
    /// the sales tools, and show them to sales in /inbox (docs/serve.md).
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Print an event token signed with the site's secret, for a page to hand out when the site itself saw the
    /// event (the receiver counts only vouched events in its verdict).
    #[cfg(feature = "serve")]
    Token(serve::TokenArgs),
    /// Read a password from standard input and print its argon2 hash, for the receiver's [[users]].
    #[cfg(feature = "serve")]
    HashPassword,
    /// Backtest a model on past leads: score each one and compare with its outcome (close rate per stage,
    /// precision and recall of the stage thresholds, lift per rule, suggested thresholds).
    Backtest {
        /// The rules document (JSON) or a compiled program.
        model: PathBuf,
        /// Past leads: CSV with a header row, or NDJSON; with an outcome column.
        #[arg(required_unless_present = "db")]
        leads: Option<PathBuf>,
        /// Read the leads and their outcomes from a receiver's database instead (sqlite:PATH or
        /// postgres://...): the history its inbox exports.
        #[cfg(feature = "serve")]
        #[arg(long, conflicts_with = "leads")]
        db: Option<String>,
        #[command(flatten)]
        read: HistoryArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
        /// Locale of the stage names.
        #[arg(long)]
        locale: Option<String>,
    },
    /// Compare two models on the same history (champion and challenger): each one's backtest, and the leads
    /// whose stage changes, with the rules that moved them.
    Compare {
        /// The champion: a rules document (JSON) or a compiled program.
        champion: PathBuf,
        /// The challenger.
        challenger: PathBuf,
        /// Past leads, read as for `backtest`.
        leads: PathBuf,
        #[command(flatten)]
        read: HistoryArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
        /// Locale of the stage names.
        #[arg(long)]
        locale: Option<String>,
        /// How many changed leads the text lists.
        #[arg(long, default_value_t = 20)]
        show: usize,
    },
    /// Plan the funnel: the deals, SQLs, MQLs, leads and visitors a revenue goal needs, per month and per
    /// working day; with --mqls instead of --goal, what a number of MQLs yields.
    Plan {
        /// The revenue goal of the year.
        #[arg(long, required_unless_present = "mqls", conflicts_with = "mqls")]
        goal: Option<f64>,
        /// MQLs of the year (the inverse plan).
        #[arg(long)]
        mqls: Option<f64>,
        /// Average revenue of a won deal.
        #[arg(long)]
        deal_size: f64,
        /// SQL to won deal, in percent.
        #[arg(long)]
        sql_to_won: f64,
        /// MQL to SQL, in percent.
        #[arg(long)]
        mql_to_sql: f64,
        /// Lead to MQL, in percent; without it the plan stops at MQLs.
        #[arg(long)]
        lead_to_mql: Option<f64>,
        /// Visitor to lead, in percent (with --lead-to-mql); without it the plan stops at leads.
        #[arg(long, requires = "lead_to_mql")]
        visitor_to_lead: Option<f64>,
        /// The year whose working days spread the plan over its months; default: this year.
        #[arg(long)]
        year: Option<i32>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// A rules document, or a program compiled by `leadscore build` (`score` and `explain` take either).
fn load(model: &Path) -> Result<(Program, String), String> {
    let bytes = std::fs::read(model).map_err(|e| format!("cannot read {}: {e}", model.display()))?;
    if bytes.starts_with(Program::MAGIC) {
        let p = Program::from_bytes(&bytes).map_err(|e| format!("{}: not a compiled program: {e}", model.display()))?;
        return Ok((p, String::new()));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", model.display()))?;
    let compiled = leadscore::compile_str(&text);
    let name = model.display().to_string();
    if compiled.has_errors() {
        let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
        eprint!("{}", diagnostic::render_at_most(&compiled.diagnostics, &text, &name, diagnostic::SHOWN));
        return Err(format!("{name} has {errors} error(s); run `leadscore check {name}`"));
    }
    let program = compiled.program.ok_or_else(|| format!("{name} did not compile"))?;
    Ok((program, text))
}

fn now_ms(now: &Option<String>) -> Result<f64, String> {
    match now {
        None => Ok(jiff::Timestamp::now().as_millisecond() as f64),
        Some(s) => input::parse_time(s)
            .ok_or_else(|| format!("--now: `{s}` is not an RFC 3339 time such as 2026-11-23T00:00:00Z")),
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Check { model, format, disassemble, analysis } => {
            let text = std::fs::read_to_string(&model).map_err(|e| format!("cannot read {}: {e}", model.display()))?;
            let start = std::time::Instant::now();
            let compiled = leadscore::compile_str(&text);
            let took = start.elapsed();
            let name = model.display().to_string();
            match format {
                DiagFormat::Text => {
                    print!("{}", diagnostic::render_at_most(&compiled.diagnostics, &text, &name, diagnostic::SHOWN));
                    let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
                    let warnings = compiled.diagnostics.len() - errors;
                    if let Some(p) = &compiled.program {
                        let b = leadscore::analyze::bounds(p);
                        let show = |r: &leadscore::Range| {
                            format!(
                                "{}..{}",
                                r.min.map_or("-inf".into(), |x| x.to_string()),
                                r.max.map_or("inf".into(), |x| x.to_string())
                            )
                        };
                        let groups: Vec<String> = b.groups.iter().map(|(g, r)| format!("{g} {}", show(r))).collect();
                        println!(
                            "{name}: ok, {} fields, {} steps, {} rules, {} knockouts, {} stages; rules hash {}",
                            p.fields.len(),
                            p.steps.len(),
                            p.rules.len(),
                            p.knockouts.len(),
                            p.stages.len(),
                            p.hash()
                        );
                        println!("reachable scores: total {}, {}", show(&b.total), groups.join(", "));
                        if analysis {
                            print!("{}", output::analysis(&leadscore::analyze::analysis(p, vec![], None)));
                        }
                    }
                    println!(
                        "{errors} error(s), {warnings} warning(s); compiled in {:.2} ms",
                        took.as_secs_f64() * 1000.0
                    );
                }
                DiagFormat::Json => {
                    let json = match &compiled.program {
                        Some(p) if analysis => {
                            let a = leadscore::analyze::analysis(p, compiled.diagnostics.clone(), None);
                            serde_json::to_string_pretty(&a)
                        }
                        _ => serde_json::to_string_pretty(&compiled.diagnostics),
                    };
                    println!("{}", json.map_err(|e| e.to_string())?);
                }
            }
            if disassemble {
                if let Some(p) = &compiled.program {
                    print!("{p}");
                }
            }
            Ok(if compiled.has_errors() { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Score { model, leads, input, output, now, partial, full, locale } => {
            let (program, _) = load(&model)?;
            let now = now_ms(&now)?;
            let opts = Options { complete: !partial, locale };
            let format = input.unwrap_or_else(|| input::guess(&leads));
            let reader = input::Reader::open(&leads, format, &program, &[])?;
            let progress = progress_bar(reader.size());
            let stdout = io::stdout();
            let out = output::Writer::new(BufWriter::with_capacity(1 << 20, stdout.lock()), output, full, &program);
            let (scored, bad) = score_all(reader, out, &program, now, &opts, full, progress.as_ref())?;
            if let Some(pb) = progress {
                pb.finish_and_clear();
            }
            eprintln!("scored {scored} lead(s); {bad} bad row(s) skipped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { model, leads, id, input, now, partial, locale } => {
            let (program, _) = load(&model)?;
            let now = now_ms(&now)?;
            let format = input.unwrap_or_else(|| input::guess(&leads));
            let reader = input::Reader::open(&leads, format, &program, &[])?;
            for item in reader {
                let Ok(lead) = item else { continue };
                if id.as_ref().is_some_and(|want| *want != lead.id) {
                    continue;
                }
                let opts = Options { complete: !partial, locale };
                let mut eval = program.evaluate(&lead.answers, &lead.events, now, &opts);
                eval.issues = lead.issues;
                let hints = program.hints(&lead.answers, &lead.events, now);
                let mut stdout = io::stdout().lock();
                output::explain(&mut stdout, &lead.id, &eval, &hints).map_err(|e| e.to_string())?;
                stdout.flush().map_err(|e| e.to_string())?;
                return Ok(ExitCode::SUCCESS);
            }
            Err(match id {
                Some(id) => format!("no lead with id `{id}` in {}", leads.display()),
                None => format!("no lead in {}", leads.display()),
            })
        }
        Command::Build { model, output } => {
            let (program, text) = load(&model)?;
            let bytes = program.to_bytes();
            let out = output.unwrap_or_else(|| model.with_extension("lsp"));
            std::fs::write(&out, &bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            eprintln!(
                "wrote {}: {} bytes (the document: {} bytes); rules hash {}",
                out.display(),
                bytes.len(),
                text.len(),
                program.hash()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backtest {
            model,
            leads,
            #[cfg(feature = "serve")]
            db,
            read,
            format,
            locale,
        } => {
            let (program, _) = load(&model)?;
            let now = now_ms(&read.now)?;
            #[cfg(feature = "serve")]
            let from_db = match &db {
                Some(url) => {
                    Some((input::Reader::from_bytes(serve::history(url, &program)?, &program)?, "the database"))
                }
                None => None,
            };
            #[cfg(not(feature = "serve"))]
            let from_db: Option<(input::Reader, &str)> = None;
            let (mut reader, name) = match (from_db, &leads) {
                (Some(r), _) => (r.0, r.1.to_string()),
                (None, Some(leads)) => {
                    let input_format = read.input.unwrap_or_else(|| input::guess(leads));
                    (input::Reader::open_unmapped(leads, input_format, &program)?, leads.display().to_string())
                }
                (None, None) => return Err("name the leads file (or --db)".into()),
            };
            let mapping = history_mapping(&read, &mut reader, &program, &name)?;
            let progress = progress_bar(reader.size());
            let mut bt = backtest_all(&mut reader, &program, &mapping, now, progress.as_ref())?;
            if let Some(pb) = progress {
                pb.finish_and_clear();
            }
            bt.set_input(reader.input_summary(&mapping));
            let r = bt.report(&program, locale.as_deref());
            let mut stdout = io::stdout().lock();
            match format {
                DiagFormat::Text => report::backtest(&mut stdout, &r),
                DiagFormat::Json => {
                    writeln!(stdout, "{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?)
                }
            }
            .map_err(|e| format!("cannot write: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::serve(a),
        #[cfg(feature = "serve")]
        Command::Token(a) => serve::token(a),
        #[cfg(feature = "serve")]
        Command::HashPassword => serve::hash_password(),
        Command::Plan { goal, mqls, deal_size, sql_to_won, mql_to_sql, lead_to_mql, visitor_to_lead, year, format } => {
            let year = match year {
                Some(y) => y,
                None => i32::from(jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year()),
            };
            let input = leadscore::plan::PlanInput {
                goal,
                mqls,
                deal_size,
                sql_to_won,
                mql_to_sql,
                lead_to_mql,
                visitor_to_lead,
                year,
            };
            let plan = leadscore::plan::plan(&input).map_err(|errors| {
                let flag = |f: &str| {
                    f.chars().fold(String::from("--"), |mut s, c| {
                        if c.is_ascii_uppercase() {
                            s.push('-');
                        }
                        s.push(c.to_ascii_lowercase());
                        s
                    })
                };
                errors.iter().map(|e| format!("{}: {}", flag(e.field), e.message)).collect::<Vec<_>>().join("; ")
            })?;
            let mut stdout = io::stdout().lock();
            match format {
                DiagFormat::Text => report::plan(&mut stdout, &input, &plan),
                DiagFormat::Json => {
                    writeln!(stdout, "{}", serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?)
                }
            }
            .map_err(|e| format!("cannot write: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare { champion, challenger, leads, read, format, locale, show } => {
            let (pa, _) = load(&champion)?;
            let (pb, _) = load(&challenger)?;
            let now = now_ms(&read.now)?;
            let input_format = read.input.unwrap_or_else(|| input::guess(&leads));
            let name = leads.display().to_string();
            // The file is read once per model: each reads the columns it has fields for.
            let mut ra = input::Reader::open_unmapped(&leads, input_format, &pa)?;
            let mut rb = input::Reader::open_unmapped(&leads, input_format, &pb)?;
            let ma = history_mapping(&read, &mut ra, &pa, &name)?;
            let mb = history_mapping(&read, &mut rb, &pb, &name)?;
            let mut c = leadscore::compare::Compare::new(
                &pa,
                leadscore::backtest::Backtest::with_outcome(&pa, &ma.outcome),
                &pb,
                leadscore::backtest::Backtest::with_outcome(&pb, &mb.outcome),
            );
            while let (Some(x), Some(y)) = (ra.next(), rb.next()) {
                c.add(x, y, now);
            }
            c.a.set_input(ra.input_summary(&ma));
            c.b.set_input(rb.input_summary(&mb));
            let r = c.report(locale.as_deref());
            let mut stdout = io::stdout().lock();
            match format {
                DiagFormat::Text => report::compare(&mut stdout, &r, show),
                DiagFormat::Json => {
                    writeln!(stdout, "{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?)
                }
            }
            .map_err(|e| format!("cannot write: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { document } => {
            let schema = match document {
                SchemaDoc::Rules => schemars::schema_for!(leadscore::model::Document),
                SchemaDoc::Mapping => schemars::schema_for!(leadscore::mapping::Mapping),
            };
            println!("{}", serde_json::to_string_pretty(&schema).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Map { model, leads } => {
            let (program, _) = load(&model)?;
            let reader = input::Reader::open_unmapped(&leads, input::guess(&leads), &program)?;
            let mapping = reader.propose(&program);
            println!("{}", serde_json::to_string_pretty(&mapping).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Template { model } => {
            let (program, _) = load(&model)?;
            let mut w = csv::Writer::from_writer(io::stdout().lock());
            let header = ["id", "scored_at"]
                .into_iter()
                .chain(program.fields.iter().map(|f| f.id.as_str()))
                .chain(program.events.iter().map(|e| e.0.as_str()))
                .chain(["outcome"]);
            w.write_record(header).and_then(|()| Ok(w.flush()?)).map_err(|e| format!("cannot write: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The mapping that reads a history: `--map`, else the one its header suggests, with the outcome options over
/// it; applied to `reader`. An error when the file has no outcome column.
fn history_mapping(
    read: &HistoryArgs,
    reader: &mut input::Reader,
    program: &leadscore::Program,
    name: &str,
) -> Result<leadscore::mapping::Mapping, String> {
    let mut mapping = match &read.map {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            leadscore::mapping::Mapping::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => reader.propose(program),
    };
    if let Some(o) = &read.outcome {
        mapping.outcome.column = o.clone();
    }
    if let Some(t) = &read.scored_at {
        mapping.scored_at = t.clone();
    }
    for (given, list) in [
        (&read.won, &mut mapping.outcome.won),
        (&read.lost, &mut mapping.outcome.lost),
        (&read.open, &mut mapping.outcome.open),
    ] {
        if !given.is_empty() {
            list.clone_from(given);
        }
    }
    reader.apply(program, &mapping);
    if !reader.has_extra(0) {
        let column = &mapping.outcome.column;
        return Err(format!("{name}: no `{column}` column (choose one with --outcome or a mapping)"));
    }
    Ok(mapping)
}

/// One batch's output: its rows, written; its bad rows; the offset after its last lead.
struct Scored {
    /// The rows written, or why they could not be.
    out: io::Result<Vec<u8>>,
    rows: u64,
    bad: Vec<leadscore::leads::RowError>,
    offset: u64,
}

/// Scores every lead of `reader` into `out`, in input order (`batches::run`: one thread reads the input, as
/// many as the machine has make and score the leads of each batch, and this one writes the batches in order).
/// Returns the leads scored and the bad rows.
fn score_all<W: Write>(
    mut reader: input::Reader,
    mut out: output::Writer<W>,
    program: &Program,
    now: f64,
    opts: &Options,
    full: bool,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(u64, u64), String> {
    let (format, partial) = (out.format(), !opts.complete);
    // Submitted leads without the whole evaluation need only the score: the scorer gives it faster.
    // Each worker reads every lead into the same `Lead`, whose buffers are kept.
    let init = |maker| (maker, (!partial && !full).then(|| program.scorer()), Lead::empty(program, 0));
    type State<'p> = (leadscore::leads::Maker, Option<leadscore::Scorer<'p>>, Lead);
    let work = |(maker, scorer, lead): &mut State, raws: batches::Batch| {
        let mut w = output::Writer::new(Vec::with_capacity(raws.len() * 256), format, full, program).rows_only();
        let (mut rows, mut bad, mut offset) = (0, vec![], 0);
        for raw in raws {
            if let Err(e) = raw.and_then(|r| maker.lead_into(program, r, lead)) {
                bad.push(e);
                continue;
            }
            let written = match scorer {
                Some(scorer) => {
                    scorer.score(&lead.answers, &lead.events, now);
                    let (score, fired) = (scorer.last(), scorer.fired());
                    let row = output::Row::of_score(program, &lead.id, lead.line, score, fired, &lead.issues);
                    w.write_row(&row)
                }
                None => {
                    let mut eval = program.evaluate(&lead.answers, &lead.events, now, opts);
                    eval.issues = std::mem::take(&mut lead.issues);
                    w.write(&lead.id, lead.line, &eval)
                }
            };
            if let Err(e) = written {
                return Scored { out: Err(e), rows, bad, offset };
            }
            rows += 1;
            offset = lead.offset;
        }
        Scored { out: Ok(w.into_inner()), rows, bad, offset }
    };
    let (mut scored, mut bad) = (0u64, 0u64);
    let take = |b: Scored| {
        if b.rows > 0 {
            out.header().map_err(|e| format!("cannot write: {e}"))?;
        }
        let rows = b.out.map_err(|e| format!("cannot write: {e}"))?;
        out.write_raw(&rows).map_err(|e| format!("cannot write: {e}"))?;
        scored += b.rows;
        bad += b.bad.len() as u64;
        for e in &b.bad {
            match progress {
                Some(pb) => pb.suspend(|| eprintln!("{e}")),
                None => eprintln!("{e}"),
            }
        }
        if let Some(pb) = progress {
            pb.set_position(b.offset.max(pb.position()));
        }
        Ok::<_, String>(())
    };
    if !batches::run(&mut reader, init, work, take)? {
        return Err(format!("the leads after lead {} were not scored: a scoring thread stopped", scored + bad));
    }
    out.finish().map_err(|e| format!("cannot write: {e}"))?;
    Ok((scored, bad))
}

/// Backtests `program` on every lead of `reader` (read as `mapping` says) on every core (`batches::run`): each
/// batch is recorded by a part of the backtest, merged in input order, so the report is the one reading the
/// leads one after another gives.
fn backtest_all(
    reader: &mut input::Reader,
    program: &Program,
    mapping: &leadscore::mapping::Mapping,
    now: f64,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<leadscore::backtest::Backtest, String> {
    use leadscore::backtest::Backtest;
    let mut bt = Backtest::with_outcome(program, &mapping.outcome);
    let template = bt.part();
    // Each worker reads every lead into the same `Lead`, whose buffers are kept.
    let init = |maker| (maker, template.part(), Lead::empty(program, 2));
    let work = |(maker, part, lead): &mut (leadscore::leads::Maker, Backtest, Lead), raws: batches::Batch| {
        let mut offset = 0;
        for raw in raws {
            match raw.and_then(|r| maker.lead_into(program, r, lead)) {
                Ok(()) => {
                    offset = lead.offset;
                    part.add_lead(program, lead, now);
                }
                Err(e) => part.error(e),
            }
        }
        let done = std::mem::replace(part, template.part());
        (done, maker.take_values(), offset)
    };
    let mut values = vec![];
    let take = |(part, v, offset): (Backtest, leadscore::mapping::Values, u64)| {
        bt.merge(&part);
        values.push(v);
        if let Some(pb) = progress {
            pb.set_position(offset.max(pb.position()));
        }
        Ok::<_, String>(())
    };
    let complete = batches::run(reader, init, work, take)?;
    if !complete {
        return Err(format!("the leads after lead {} were not read: a thread stopped", bt.len()));
    }
    for v in &values {
        reader.merge_values(v);
    }
    Ok(bt)
}

fn progress_bar(size: Option<u64>) -> Option<indicatif::ProgressBar> {
    let size = size?;
    if !io::stderr().is_terminal() || size < 1 << 20 {
        return None;
    }
    let pb = indicatif::ProgressBar::new(size);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(pb)
}

//! Organisation policies on the command line: loading `--policy` files (the embedded default
//! when none is given), their `[levels]` under the command's own `-A/-W/-D`, today's date for
//! waivers, and `explain-request`, the offline decision query.

use std::path::{Path, PathBuf};

use airssys_wasm::diagnostics::{Levels, Sources};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, EffectiveDecision, OwnedRequest, PolicySet, RuleRef, parse_request};
use airssys_wasm::policy::{Env, GrantRef};
use airssys_wasm::report::{escape_control, human};
use airssys_wasm::{Error, ErrorKind};

use super::{Cli, ListingFormat, Outcome, ReportArgs, print_out, style};

/// Loads the policy set into `sources`; an invalid policy is printed and ends the run (exit 2):
/// a gate must not pass because its policy could not be read.
pub(super) fn load(cli: &Cli, sources: &mut Sources, paths: &[PathBuf]) -> Result<PolicySet, Error> {
    PolicySet::load_or_default(sources, paths).map_err(|e| {
        let n = e.diagnostics.len();
        eprint!("{}", human::render(&e.diagnostics, sources, style(cli)));
        Error::from(ErrorKind::InvalidPolicy { count: n })
    })
}

/// The policies' `[levels]`, then the command line's `-A/-W/-D`, which win.
pub(super) fn levels(policies: &PolicySet, report: &ReportArgs) -> Result<Levels, Error> {
    let mut levels = Levels::default();
    policies.apply_levels(&mut levels);
    report.apply(&mut levels)?;
    Ok(levels)
}

/// Today in UTC, from the system clock (the library takes the date as a parameter).
pub(super) fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days_since_epoch((secs / 86_400) as i64)
}

/// The document `explain-request --format json` prints (documented in docs/json-output.md).
#[derive(serde::Serialize)]
struct Answers {
    version: u32,
    tool: airssys_wasm::report::json::Tool,
    answers: Vec<Answer>,
    summary: Summary,
}

/// The answer to one request, in the shape `--format json` promises.
#[derive(serde::Serialize)]
struct Answer {
    request: String,
    /// Where the request was written.
    from: Origin,
    /// Absent when the request is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    normalized: Option<String>,
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant: Option<GrantJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    denied_by: Option<RuleRef>,
    /// Why the request does not follow the grammar (an invalid request is never allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// A request's place: its position among the command line's requests, or a line of the
/// `--requests` file.
#[derive(Clone, serde::Serialize)]
struct Origin {
    #[serde(skip_serializing_if = "Option::is_none")]
    argument: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line, self.argument) {
            (Some(file), Some(line), _) => write!(f, "{file}:{line}"),
            (_, _, Some(n)) => write!(f, "argument {n}"),
            _ => f.write_str("?"),
        }
    }
}

#[derive(Default, serde::Serialize)]
struct Summary {
    requests: usize,
    allowed: usize,
    denied: usize,
    invalid: usize,
}

#[derive(serde::Serialize)]
struct GrantJson {
    domain: &'static str,
    /// 1-based position in the manifest's array for the domain.
    number: usize,
    line: usize,
    text: String,
}

pub(super) fn explain_request(
    cli: &Cli,
    manifest: &Path,
    policy: &[PathBuf],
    requests: &[String],
    requests_file: Option<&Path>,
    format: ListingFormat,
) -> Result<Outcome, Error> {
    let mut sources = Sources::new();
    let set = load(cli, &mut sources, policy)?;
    let parsed = Manifest::load(&mut sources, manifest)?;
    let m = parsed.into_valid().map_err(|diagnostics| {
        eprint!("{}", human::render(&diagnostics, &sources, style(cli)));
        Error::from(ErrorKind::InvalidManifest {
            path: manifest.to_path_buf(),
        })
    })?;
    let lines = request_lines(requests, requests_file)?;
    let effective = set.effective(&m, &Env::default());
    let answers: Vec<Answer> = lines
        .into_iter()
        .map(|(from, line)| match parse_request(&line) {
            Ok(req) => answer(line, from, &req, &effective.decide(&req.as_request()), &m, &sources),
            Err(e) => invalid(line, from, e.message),
        })
        .collect();
    let summary = summarise(&answers);
    let clean = summary.allowed == summary.requests;
    match format {
        ListingFormat::Json => print_out(&airssys_wasm::report::json::to_string(&Answers {
            version: airssys_wasm::report::json::SCHEMA_VERSION,
            tool: airssys_wasm::report::json::Tool::this(),
            answers,
            summary,
        })),
        ListingFormat::Human => {
            let mut out: String = answers.iter().map(human_line).collect();
            out.push_str(&summary_line(&summary));
            print_out(&out);
        }
    }
    Ok(if clean { Outcome::Clean } else { Outcome::Findings })
}

fn summarise(answers: &[Answer]) -> Summary {
    let mut s = Summary {
        requests: answers.len(),
        ..Summary::default()
    };
    for a in answers {
        match (a.error.is_some(), a.allowed) {
            (true, _) => s.invalid += 1,
            (false, true) => s.allowed += 1,
            (false, false) => s.denied += 1,
        }
    }
    s
}

/// `3 requests: 1 allowed, 1 denied, 1 invalid`.
fn summary_line(s: &Summary) -> String {
    let plural = if s.requests == 1 { "" } else { "s" };
    format!(
        "{} request{plural}: {} allowed, {} denied, {} invalid\n",
        s.requests, s.allowed, s.denied, s.invalid
    )
}

/// A `--requests` file above this size is refused unread.
const MAX_REQUESTS_BYTES: usize = 1 << 20;

/// Requests from the command line, then from `--requests FILE` (blank and `#` lines skipped),
/// each with where it was written.
fn request_lines(requests: &[String], file: Option<&Path>) -> Result<Vec<(Origin, String)>, Error> {
    let mut lines: Vec<(Origin, String)> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let from = Origin {
                argument: Some(i + 1),
                file: None,
                line: None,
            };
            (from, r.clone())
        })
        .collect();
    if let Some(f) = file {
        let text = airssys_wasm::bounded::read_text(f, MAX_REQUESTS_BYTES).map_err(|e| Error::read(f, e))?;
        let name = f.display().to_string();
        lines.extend(
            text.lines()
                .enumerate()
                .map(|(i, l)| (i + 1, l.trim()))
                .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
                .map(|(n, l)| {
                    let from = Origin {
                        argument: None,
                        file: Some(name.clone()),
                        line: Some(n),
                    };
                    (from, l.to_string())
                }),
        );
    }
    if lines.is_empty() {
        return Err(Error::usage(
            "no request given: pass one as an argument or use --requests FILE",
        ));
    }
    Ok(lines)
}

fn answer(
    line: String,
    from: Origin,
    req: &OwnedRequest,
    d: &EffectiveDecision,
    m: &Manifest,
    sources: &Sources,
) -> Answer {
    Answer {
        request: line,
        from,
        normalized: Some(req.normalized()),
        allowed: d.allowed,
        grant: d.grant.map(|g| grant_json(g, m, sources)),
        denied_by: d.denied_by.clone(),
        error: None,
    }
}

/// A request that does not follow the grammar: refused (fail closed), with the reason.
fn invalid(line: String, from: Origin, message: String) -> Answer {
    Answer {
        request: line,
        from,
        normalized: None,
        allowed: false,
        grant: None,
        denied_by: None,
        error: Some(message),
    }
}

fn grant_json(g: GrantRef, m: &Manifest, sources: &Sources) -> GrantJson {
    let file = sources.get(m.source);
    let span = m.span_of(g).unwrap_or(0..0);
    let text = file.text.as_deref().and_then(|t| t.get(span.clone())).unwrap_or("");
    GrantJson {
        domain: g.domain.as_str(),
        number: g.index + 1,
        line: file.line_col(span.start).map_or(0, |(l, _)| l),
        text: text.lines().next().unwrap_or("").trim().to_string(),
    }
}

/// One answer as a line; text from the request, manifest and policy is escaped, so that a
/// control character cannot rewrite the terminal or a newline forge another answer.
fn human_line(a: &Answer) -> String {
    if let Some(error) = &a.error {
        return format!(
            "invalid {}  {}: {}\n",
            escape_control(&a.request),
            escape_control(&a.from.to_string()),
            escape_control(error)
        );
    }
    let verdict = if a.allowed { "allowed" } else { "denied " };
    let grant = a.grant.as_ref().map(|g| {
        format!(
            "{} grant #{} (line {}: `{}`)",
            g.domain,
            g.number,
            g.line,
            escape_control(&g.text)
        )
    });
    let why = match (grant, &a.denied_by) {
        (Some(g), None) => format!("by {g}"),
        (Some(g), Some(r)) => format!(
            "granted by {g}, but denied by policy rule ({})",
            escape_control(&r.to_string())
        ),
        (None, None) => "no manifest grant allows it".to_string(),
        (None, Some(r)) => format!(
            "no manifest grant allows it; also denied by policy rule ({})",
            escape_control(&r.to_string())
        ),
    };
    let normalized = a.normalized.as_deref().unwrap_or_default();
    format!("{verdict} {}  {why}\n", escape_control(normalized))
}

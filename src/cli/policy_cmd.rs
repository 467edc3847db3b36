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

/// The answer to one request, in the shape `--format json` promises.
#[derive(serde::Serialize)]
struct Answer {
    request: String,
    normalized: String,
    allowed: bool,
    grant: Option<GrantJson>,
    denied_by: Option<RuleRef>,
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
    let parsed: Vec<OwnedRequest> = lines
        .iter()
        .map(|l| parse_request(l).map_err(|e| Error::usage(e.to_string())))
        .collect::<Result<_, _>>()?;
    let effective = set.effective(&m, &Env::default());
    let answers: Vec<Answer> = lines
        .iter()
        .zip(&parsed)
        .map(|(line, req)| answer(line, req, &effective.decide(&req.as_request()), &m, &sources))
        .collect();
    match format {
        ListingFormat::Json => print_out(&(serde_json::to_string_pretty(&answers).expect("serialisable") + "\n")),
        ListingFormat::Human => print_out(&answers.iter().map(human_line).collect::<String>()),
    }
    Ok(if answers.iter().all(|a| a.allowed) {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// A `--requests` file above this size is refused unread.
const MAX_REQUESTS_BYTES: usize = 1 << 20;

/// Requests from the command line, then from `--requests FILE` (blank and `#` lines skipped).
fn request_lines(requests: &[String], file: Option<&Path>) -> Result<Vec<String>, Error> {
    let mut lines = requests.to_vec();
    if let Some(f) = file {
        let text = airssys_wasm::bounded::read_text(f, MAX_REQUESTS_BYTES).map_err(|e| Error::read(f, e))?;
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    if lines.is_empty() {
        return Err(Error::usage(
            "no request given: pass one as an argument or use --requests FILE",
        ));
    }
    Ok(lines)
}

fn answer(line: &str, req: &OwnedRequest, d: &EffectiveDecision, m: &Manifest, sources: &Sources) -> Answer {
    Answer {
        request: line.to_string(),
        normalized: req.normalized(),
        allowed: d.allowed,
        grant: d.grant.map(|g| grant_json(g, m, sources)),
        denied_by: d.denied_by.clone(),
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
    format!("{verdict} {}  {why}\n", escape_control(&a.normalized))
}

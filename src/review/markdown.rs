//! The Markdown report, for a pull-request comment: the capability matrix as a table, the
//! riskiest grants, each component's findings folded in a `<details>` block, and what the
//! findings' codes mean. It stays under GitHub's comment limit ([`LIMIT`]): long cells and
//! finding lists are cut with a count of what was left out, and the HTML or JSON report has
//! everything.
//!
//! Text from the inputs is escaped ([`text`], [`code`]) so that a name cannot end a table
//! cell, start a link or emphasis, or write HTML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{ComponentDoc, Document, FindingDoc, HostReach, NamedReach, PathReach, Risk, Verdict};
use crate::report::escape_control;

/// GitHub refuses comments longer than 65,536 characters; the report keeps a margin.
pub const LIMIT: usize = 60_000;
/// Entries shown per matrix cell.
const CELL_ITEMS: usize = 8;
/// Findings shown per component.
const FINDINGS: usize = 20;

/// The comment.
pub fn render(doc: &Document<'_>) -> String {
    let mut out = String::from("## airssys-wasm report\n\n");
    summary(&mut out, doc);
    matrix(&mut out, doc);
    riskiest(&mut out, doc);
    let mut rest = String::new();
    let mut left_out = 0;
    for c in doc.components.iter().filter(|c| !c.findings.is_empty()) {
        let section = component(c);
        if out.len() + rest.len() + section.len() > LIMIT {
            left_out += 1;
        } else {
            rest.push_str(&section);
        }
    }
    if !rest.is_empty() || left_out > 0 {
        out.push_str("### Findings\n\n");
        out.push_str(&rest);
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "The findings of {left_out} more component{} do not fit in a comment: see the HTML or JSON report.\n",
            plural(left_out)
        );
    }
    if !doc.batch.is_empty() {
        out.push_str("### Findings about the batch\n\n");
        for f in &doc.batch {
            finding(&mut out, f);
        }
        out.push('\n');
    }
    meanings(&mut out, doc);
    out
}

/// `s` as Markdown text, always placed inside a line: the characters that could start
/// emphasis, a link, a code span, HTML, an entity, math or a mention, or end a table cell, are
/// backslash-escaped (CommonMark allows a backslash before any ASCII punctuation).
pub fn text(s: &str) -> String {
    let s = escape_control(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text whose `` `code` `` spans (messages and grants mark names that way) stay code spans,
/// everything escaped by [`text`] or [`code`]; with an odd number of backticks, all [`text`].
pub fn inline(s: &str) -> String {
    if s.matches('`').count() % 2 == 1 {
        return text(s);
    }
    s.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { text(part) })
        .collect()
}

/// `s` as a code span: fenced by one backtick more than its longest run of backticks, with
/// `|` escaped (GitHub reads `\|` as a pipe inside a table cell, code spans included; outside
/// a table the backslash shows, which is the price of one escaping for both places).
pub fn code(s: &str) -> String {
    let s = escape_control(s).replace('|', "\\|");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || s.starts_with(' ') || s.ends_with(' ') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Fail => "❌ fail",
        Verdict::Warn => "⚠️ warn",
        Verdict::Pass => "✅ pass",
    }
}

fn summary(out: &mut String, doc: &Document<'_>) {
    let s = doc.summary;
    let f = s.findings;
    let _ = write!(
        out,
        "**{} component{}**: {} fail, {} pass with warnings, {} pass · {} error{}, {} warning{}, {} note{}",
        s.components,
        plural(s.components),
        s.failing,
        s.warning,
        s.passing,
        f.errors,
        plural(f.errors),
        f.warnings,
        plural(f.warnings),
        f.notes,
        plural(f.notes),
    );
    if f.waived > 0 {
        let _ = write!(out, " ({} waived)", f.waived);
    }
    let policies: Vec<String> = doc.policies.iter().map(|p| code(p)).collect();
    let _ = writeln!(
        out,
        " · {} high-risk and {} medium-risk grant{} · policies: {}\n",
        s.grants.high,
        s.grants.medium,
        plural(s.grants.medium),
        policies.join(", ")
    );
}

fn matrix(out: &mut String, doc: &Document<'_>) {
    out.push_str(
        "| component | kind | version | size | digest | paths | hosts and ports | executables | signals | verdict |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in &doc.components {
        let r = c.component;
        let reach = &r.reach;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            code(&r.name),
            r.kind.map_or("—", |k| k.as_str()),
            r.version.as_deref().map_or_else(|| "—".to_string(), text),
            r.size.map_or_else(|| "—".to_string(), super::html::human_size),
            r.digest
                .as_deref()
                .map_or_else(|| "—".to_string(), |d| code(d.get(..19).unwrap_or(d))),
            items(reach.paths.iter().map(path_item)),
            items(reach.hosts.iter().map(host_item)),
            items(reach.executables.iter().map(named_item)),
            items(reach.signals.iter().map(named_item)),
            verdict(r.verdict),
        );
    }
    out.push_str("\nRisk: **bold** high, *italic* medium; ~~struck through~~: a policy denies it.\n\n");
}

/// A cell's entries, one per line, at most [`CELL_ITEMS`].
fn items(list: impl ExactSizeIterator<Item = String>) -> String {
    let n = list.len();
    if n == 0 {
        return "—".to_string();
    }
    let mut shown: Vec<String> = list.take(CELL_ITEMS).collect();
    if n > CELL_ITEMS {
        shown.push(format!("… {} more", n - CELL_ITEMS));
    }
    shown.join("<br>")
}

fn mark(super::Mark { risk, denied }: super::Mark, body: String) -> String {
    let body = match risk {
        Risk::High => format!("**{body}**"),
        Risk::Medium => format!("*{body}*"),
        Risk::Low => body,
    };
    if denied { format!("~~{body}~~") } else { body }
}

fn path_item(p: &PathReach) -> String {
    mark(p.mark, format!("{} {}", code(&p.path), p.actions.join(", ")))
}

fn host_item(h: &HostReach) -> String {
    let host = h.host.as_deref().map_or_else(|| "any address".to_string(), code);
    mark(h.mark, format!("{host} {}", text(&h.access.join(", "))))
}

fn named_item(n: &NamedReach) -> String {
    mark(n.mark, code(&n.name))
}

fn riskiest(out: &mut String, doc: &Document<'_>) {
    let r = &doc.summary.riskiest;
    if r.is_empty() {
        return;
    }
    out.push_str("### Riskiest grants\n\n| risk | component | grant | why |\n|---|---|---|---|\n");
    for g in r {
        let why: Vec<String> = g.why.iter().map(|w| inline(w)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            if g.risk == Risk::High { "**high**" } else { "medium" },
            code(&g.name),
            inline(&g.grant),
            why.join("<br>")
        );
    }
    out.push('\n');
}

fn component(c: &ComponentDoc<'_>) -> String {
    let r = c.component;
    let counts = r.counts;
    let mut parts = Vec::new();
    for (n, what) in [
        (counts.errors, "error"),
        (counts.warnings, "warning"),
        (counts.notes, "note"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}{}", plural(n)));
        }
    }
    if counts.waived > 0 {
        parts.push(format!("{} waived", counts.waived));
    }
    // A <summary> is HTML: its text is escaped as HTML, not as Markdown.
    let mut out = format!(
        "<details><summary><code>{}</code>: {} — {}</summary>\n\n",
        super::html::escape(&r.name),
        verdict(r.verdict),
        parts.join(", ")
    );
    for f in c.findings.iter().take(FINDINGS) {
        finding(&mut out, f);
    }
    if c.findings.len() > FINDINGS {
        let _ = writeln!(out, "- … and {} more", c.findings.len() - FINDINGS);
    }
    out.push_str("\n</details>\n\n");
    out
}

fn finding(out: &mut String, f: &FindingDoc<'_>) {
    let d = &f.diagnostic;
    let severity = if d.waiver.is_some() {
        "waived"
    } else {
        d.severity.as_str()
    };
    let place = d
        .primary
        .as_ref()
        .map(|p| format!(" ({})", code(&super::place(p))))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "- **{severity}** `{}` {}: {}{place}",
        d.code,
        d.name,
        inline(d.message)
    );
    if let Some(help) = d.help {
        let _ = writeln!(out, "  - help: {}", inline(help));
    }
    if let Some(w) = &d.waiver {
        let _ = writeln!(
            out,
            "  - waived until {} by {}: {}",
            text(w.expires),
            code(&format!("{}:{}", w.file, w.line)),
            inline(w.reason)
        );
    }
}

/// What each code that occurs means: the rule's first paragraph.
fn meanings(out: &mut String, doc: &Document<'_>) {
    let mut rules = BTreeMap::new();
    for f in doc.components.iter().flat_map(|c| &c.findings).chain(&doc.batch) {
        rules.entry(f.diagnostic.code).or_insert(f);
    }
    if rules.is_empty() {
        return;
    }
    out.push_str("<details><summary>What the findings mean</summary>\n\n");
    for (code, f) in rules {
        let first = f
            .explanation
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .replace('\n', " ");
        let _ = writeln!(out, "- `{code}` {}: {first}", f.diagnostic.name);
    }
    out.push_str("\n`airssys-wasm explain CODE` prints the whole explanation.\n\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_make_links_emphasis_cells_or_html() {
        assert_eq!(text("[x](y) *a* | <b> @me"), "\\[x\\](y) \\*a\\* \\| \\<b\\> \\@me");
        assert_eq!(inline("grant `/a|b` <i>"), "grant `/a\\|b` \\<i\\>");
        assert_eq!(inline("odd ` tick"), "odd \\` tick");
        assert_eq!(text("a\nb"), "a\\\\nb");
    }

    #[test]
    fn code_spans_hold_any_backticks_and_pipes() {
        assert_eq!(code("/data/**"), "`/data/**`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}

//! `airssys-wasm explain`: the long documentation of a code, the list of codes, or the whole
//! reference as Markdown (which is `docs/rules.md`).

use airssys_wasm::Error;
use airssys_wasm::diagnostics::RULES;
use airssys_wasm::diagnostics::registry::{lookup, reference_markdown, unknown_rule_message};

use super::{Outcome, print_out};

pub(super) fn run(code: Option<&str>, list: bool, markdown: bool, color: bool) -> Result<Outcome, Error> {
    if markdown {
        print_out(&reference_markdown());
    } else if list {
        let mut out = String::new();
        for r in RULES {
            out.push_str(&format!(
                "{}  {:<32} {:<8} {}\n",
                r.code,
                r.name,
                r.severity.as_str(),
                r.summary
            ));
        }
        print_out(&out);
    } else {
        let code = code.unwrap_or_default();
        let rule = lookup(code).ok_or_else(|| Error::usage(unknown_rule_message(code)))?;
        print_out(&format!(
            "{} ({}), default severity: {}\n\n{}.\n\n{}\n",
            rule.code,
            rule.name,
            rule.severity,
            rule.summary,
            for_terminal(rule.doc, color)
        ));
    }
    Ok(Outcome::Clean)
}

/// A rule's Markdown documentation for a terminal: `## Heading` lines become the heading
/// underlined (bold too, in colour), code fences are dropped and their lines indented by four
/// spaces, as a man page shows examples. Inline Markdown (backticks) reads well as it is.
pub(super) fn for_terminal(doc: &str, color: bool) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str("    ");
            out.push_str(line);
        } else if let Some(heading) = line.strip_prefix("## ") {
            let rule = "─".repeat(heading.chars().count());
            if color {
                out.push_str(&format!("\x1b[1m{heading}\x1b[0m\n{rule}"));
            } else {
                out.push_str(&format!("{heading}\n{rule}"));
            }
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn headings_and_code_blocks_are_rendered_for_a_terminal() {
        let doc = "Text.\n\n## Example\n```toml\nx = 1\n```\n\n## How to fix\nDo `this`.";
        assert_eq!(
            for_terminal(doc, false),
            "Text.\n\nExample\n───────\n    x = 1\n\nHow to fix\n──────────\nDo `this`."
        );
        assert!(for_terminal(doc, true).contains("\x1b[1mHow to fix\x1b[0m\n──────────"));
        assert!(!for_terminal(doc, false).contains("##"));
    }
}

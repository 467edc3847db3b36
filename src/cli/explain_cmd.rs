//! `airssys-wasm explain`: the long documentation of a code, the list of codes, or the whole
//! reference as Markdown (which is `docs/rules.md`).

use airssys_wasm::Error;
use airssys_wasm::diagnostics::RULES;
use airssys_wasm::diagnostics::registry::{lookup, reference_markdown, unknown_rule_message};

use super::{Outcome, print_out};

pub(super) fn run(code: Option<&str>, list: bool, markdown: bool) -> Result<Outcome, Error> {
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
            rule.code, rule.name, rule.severity, rule.summary, rule.doc
        ));
    }
    Ok(Outcome::Clean)
}

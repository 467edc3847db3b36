//! Reading a TOML document with every value's span, shared by the manifest and policy walks:
//! the nesting bound checked before anything recursive is built, recoverable parsing with every
//! syntax error reported, and the small lookups both walks use.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::{Diagnostic, Rule, SourceId};

/// A value with its span.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// How a kind of document is read: the rules its problems are reported under, and its bound.
pub(crate) struct ReadRules {
    pub syntax: &'static Rule,
    pub too_deep: &'static Rule,
    pub max_nesting: usize,
    /// For messages: "a manifest", "a policy".
    pub what: &'static str,
}

/// Parses `text`, or returns the findings that stop it from being read: nesting beyond the
/// bound (counted by a non-recursive scan, so hostile nesting never reaches the recursive TOML
/// structures), or every syntax error the parser recovered from.
pub(crate) fn read<'i>(
    source: SourceId,
    text: &'i str,
    rules: &ReadRules,
) -> Result<Spanned<DeTable<'i>>, Vec<Diagnostic>> {
    let (depth, at) = max_nesting(text);
    if depth > rules.max_nesting {
        let d = Diagnostic::new(
            rules.too_deep,
            format!(
                "arrays and tables are nested {depth} deep, over the limit of {}",
                rules.max_nesting
            ),
        )
        .at(source, at..at + 1, "too deep here")
        .help(format!("{} needs at most three levels of nesting", rules.what));
        return Err(vec![d]);
    }
    let (root, errors) = match crate::guard::catch(|| DeTable::parse_recoverable(text)) {
        Ok(parsed) => parsed,
        Err(panic) => {
            let d = Diagnostic::new(rules.syntax, format!("the TOML parser failed on {}", rules.what))
                .at(source, 0..0, "in this file")
                .note(format!("the TOML parser panicked: {panic}"));
            return Err(vec![d]);
        }
    };
    if errors.is_empty() {
        return Ok(root);
    }
    let mut errors: Vec<(Range<usize>, &str)> =
        errors.iter().map(|e| (e.span().unwrap_or(0..0), e.message())).collect();
    errors.sort_by_key(|(span, _)| (span.start, span.end));
    let more = errors.len().saturating_sub(MAX_SYNTAX_ERRORS);
    let mut diagnostics: Vec<Diagnostic> = errors
        .into_iter()
        .take(MAX_SYNTAX_ERRORS)
        .map(|(span, message)| {
            Diagnostic::new(rules.syntax, message.trim_end_matches('.').to_string()).at(source, span, "here")
        })
        .collect();
    if more > 0
        && let Some(last) = diagnostics.pop()
    {
        diagnostics.push(last.note(format!(
            "{more} more syntax error{} after this one {} not reported: past {MAX_SYNTAX_ERRORS}, \
             the parser's recovery is guesswork; fix these first",
            if more == 1 { "" } else { "s" },
            if more == 1 { "is" } else { "are" },
        )));
    }
    Err(diagnostics)
}

/// Syntax errors reported per file; a note on the last one counts the rest.
pub(crate) const MAX_SYNTAX_ERRORS: usize = 20;

pub(crate) fn get<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a Value<'i>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

pub(crate) fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The deepest nesting of `[`/`{` outside strings and comments, and where it is reached.
/// Table headers (`[a]`, `[[a]]`) count too, harmlessly: they are at most two deep.
fn max_nesting(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut depth, mut max, mut at, mut i) = (0usize, 0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => i = b[i..].iter().position(|c| *c == b'\n').map_or(b.len(), |p| i + p),
            q @ (b'"' | b'\'') => i = skip_string(b, i, q),
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    (max, at) = (depth, i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    (max, at)
}

/// Returns the index of the closing quote (or the end) of the string starting at `i`.
fn skip_string(b: &[u8], i: usize, q: u8) -> usize {
    let triple = b.len() >= i + 3 && b[i + 1] == q && b[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        if b[j] == b'\\' && q == b'"' {
            j += 2;
            continue;
        }
        if b[j] == q && (!triple || (b.len() >= j + 3 && b[j + 1] == q && b[j + 2] == q)) {
            return if triple { j + 2 } else { j };
        }
        if b[j] == b'\n' && !triple {
            return j;
        }
        j += 1;
    }
    b.len()
}

/// A key of a table that the format does not define.
pub(crate) struct UnknownKey {
    pub key: String,
    pub span: Range<usize>,
    /// "did you mean `x`?", or the list of known keys.
    pub help: String,
}

/// The keys of `t` that are not in `known`, in document order.
pub(crate) fn unknown_keys(t: &DeTable<'_>, known: &[&str]) -> Vec<UnknownKey> {
    t.keys()
        .filter(|k| !known.contains(&k.get_ref().as_ref()))
        .map(|k| {
            let key = k.get_ref().to_string();
            let help = match crate::diagnostics::did_you_mean(&key, known.iter().copied()) {
                Some(g) => format!("did you mean `{g}`?"),
                None => format!(
                    "known keys here: {}",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            UnknownKey {
                key,
                span: k.span(),
                help,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(max_nesting("a = \"[[[[\" # {{{{\nb = '[[['").0, 0);
        assert_eq!(max_nesting("a = [[1], {x = [2]}]").0, 3);
        assert_eq!(max_nesting("a = \"\"\"\n[[[\"\"\"\nb = [1]").0, 1);
        assert_eq!(max_nesting("a = \"\\\"[\"").0, 0);
    }
}

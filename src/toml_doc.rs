//! Reading a TOML document with every value's span, shared by the manifest and policy walks:
//! the nesting bound checked before anything recursive is built, recoverable parsing with every
//! syntax error reported, and the typed table reader both walks use ([`Reader`], [`Table`]), so
//! that each parser keeps only its schema.
//!
//! The reader follows cargo-deny's table helper (`required`, `optional`, then the keys nobody
//! asked for): a [`Table`] is opened with the keys its schema defines, and every shape problem
//! (an unknown key, a missing field, a value of the wrong type) is reported under the rule the
//! document's [`Format`] names and the walk moves on. Unknown keys are reported when the table
//! is opened rather than at a final `finalize`, so that they come before the table's other
//! findings, in document order.

use std::cell::RefCell;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::diagnostics::{Diagnostic, Rule, SourceId};

/// A value with its span.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// How a kind of document is read: its bound, and the rules its problems are reported under.
pub(crate) struct Format {
    /// For messages: "a manifest", "a policy".
    pub what: &'static str,
    pub max_nesting: usize,
    pub syntax: &'static Rule,
    pub too_deep: &'static Rule,
    pub unknown_key: &'static Rule,
    pub missing_field: &'static Rule,
    pub wrong_type: &'static Rule,
    /// The value a missing field's help suggests: `...` (manifest) or `"..."` (policy).
    pub placeholder: &'static str,
}

/// Parses `text`, or returns the findings that stop it from being read: nesting beyond the
/// bound (counted by a non-recursive scan, so hostile nesting never reaches the recursive TOML
/// structures), or every syntax error the parser recovered from.
pub(crate) fn read<'i>(
    source: SourceId,
    text: &'i str,
    format: &Format,
) -> Result<Spanned<DeTable<'i>>, Vec<Diagnostic>> {
    let (depth, at) = max_nesting(text);
    if depth > format.max_nesting {
        let d = Diagnostic::new(
            format.too_deep,
            format!(
                "arrays and tables are nested {depth} deep, over the limit of {}",
                format.max_nesting
            ),
        )
        .at(source, at..at + 1, "too deep here")
        .help(format!("{} needs at most three levels of nesting", format.what));
        return Err(vec![d]);
    }
    let (root, errors) = match crate::guard::catch(|| DeTable::parse_recoverable(text)) {
        Ok(parsed) => parsed,
        Err(panic) => {
            let d = Diagnostic::new(format.syntax, format!("the TOML parser failed on {}", format.what))
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
            Diagnostic::new(format.syntax, message.trim_end_matches('.').to_string()).at(source, span, "here")
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

/// Reads `text` and, when it could be read, walks its root table with `walk`: what `walk`
/// builds (`None` when the document could not be read) and every finding, in the order made.
pub(crate) fn walk<'f, T>(
    source: SourceId,
    text: &str,
    format: &'f Format,
    walk: impl FnOnce(&Reader<'f>, &DeTable<'_>, Range<usize>) -> T,
) -> (Option<T>, Vec<Diagnostic>) {
    match read(source, text, format) {
        Ok(root) => {
            let reader = Reader::new(source, format);
            let built = walk(&reader, root.get_ref(), root.span());
            (Some(built), reader.finish())
        }
        Err(diagnostics) => (None, diagnostics),
    }
}

/// Syntax errors reported per file; a note on the last one counts the rest.
pub(crate) const MAX_SYNTAX_ERRORS: usize = 20;

fn type_name(v: &DeValue<'_>) -> &'static str {
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

/// One document being read: where its findings point, the rules they are reported under, and
/// the findings so far. Every method takes `&self` (the findings are behind a `RefCell`) so that
/// a walk can hold several [`Table`]s and its own helpers at once.
pub(crate) struct Reader<'f> {
    pub source: SourceId,
    format: &'f Format,
    found: RefCell<Vec<Diagnostic>>,
}

impl<'f> Reader<'f> {
    pub fn new(source: SourceId, format: &'f Format) -> Self {
        Self {
            source,
            format,
            found: RefCell::new(Vec::new()),
        }
    }

    /// Adds a finding.
    pub fn push(&self, d: Diagnostic) {
        self.found.borrow_mut().push(d);
    }

    /// The findings, in the order they were made.
    pub fn finish(self) -> Vec<Diagnostic> {
        self.found.into_inner()
    }

    /// Opens `t` (spanning `span`) as the table called `name` in messages ("component",
    /// "a waiver"; empty for the document itself), whose schema defines the keys `known`;
    /// every other key is reported now, with "did you mean" when one is close.
    pub fn table<'a, 'i>(
        &'a self,
        t: &'a DeTable<'i>,
        span: Range<usize>,
        name: &str,
        known: &'static [&'static str],
    ) -> Table<'a, 'f, 'i> {
        let place = if name.is_empty() {
            String::new()
        } else {
            format!(" in {name}")
        };
        for k in t.keys().filter(|k| !known.contains(&k.get_ref().as_ref())) {
            let key = k.get_ref();
            let help = match crate::diagnostics::did_you_mean(key, known.iter().copied()) {
                Some(g) => format!("did you mean `{g}`?"),
                None => format!("known keys here: {}", quoted(known)),
            };
            let d = Diagnostic::new(self.format.unknown_key, format!("unknown key `{key}`{place}"))
                .at(self.source, k.span(), "unknown key")
                .help(help);
            self.push(d);
        }
        Table {
            reader: self,
            table: t,
            span,
            name: name.to_string(),
        }
    }

    /// `v` as a table, or a wrong-type finding naming `what`.
    pub fn as_table<'a, 'i>(&self, v: &'a Value<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(v, what, "a table");
                None
            }
        }
    }

    /// `v` as an array, or a wrong-type finding saying what was `expected`.
    pub fn array<'a, 'i>(&self, v: &'a Value<'i>, what: &str, expected: &str) -> Option<&'a DeArray<'i>> {
        match v.get_ref() {
            DeValue::Array(items) => Some(items),
            _ => {
                self.wrong_type(v, what, expected);
                None
            }
        }
    }

    /// `v` as a string with its span.
    pub fn string(&self, v: &Value<'_>, what: &str) -> Option<(String, Range<usize>)> {
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => {
                self.wrong_type(v, what, "a string");
                None
            }
        }
    }

    pub fn boolean(&self, v: &Value<'_>, what: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(v, what, "a boolean");
                None
            }
        }
    }

    /// `v` as an integer (any TOML radix); one too large for `i128` is a wrong type too.
    pub fn integer(&self, v: &Value<'_>, what: &str) -> Option<i128> {
        if let DeValue::Integer(i) = v.get_ref()
            && let Ok(n) = i128::from_str_radix(i.as_str(), i.radix())
        {
            return Some(n);
        }
        self.wrong_type(v, what, "an integer");
        None
    }

    /// An array of strings with their spans; other items are reported and skipped.
    pub fn strings(&self, v: &Value<'_>, what: &str) -> Vec<(String, Range<usize>)> {
        let Some(items) = self.array(v, what, "an array of strings") else {
            return Vec::new();
        };
        items.iter().filter_map(|item| self.string(item, what)).collect()
    }

    /// An array of tables, each read by `one` with its span; a bad entry is reported and
    /// skipped. `expected` says what the array and an entry must be.
    pub fn tables<'a, 'i, T>(
        &self,
        v: &'a Value<'i>,
        what: &str,
        expected: [&str; 2],
        mut one: impl FnMut(&'a DeTable<'i>, Range<usize>) -> Option<T>,
    ) -> Vec<T> {
        let Some(items) = self.array(v, what, expected[0]) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => out.extend(one(t, item.span())),
                _ => self.wrong_type(item, &format!("an entry of {what}"), expected[1]),
            }
        }
        out
    }

    /// "`what` must be `expected`, found ...".
    pub fn wrong_type(&self, v: &Value<'_>, what: &str, expected: &str) {
        let found = type_name(v.get_ref());
        let what = what.trim_matches('`');
        let d = Diagnostic::new(
            self.format.wrong_type,
            format!("`{what}` must be {expected}, found {found}"),
        )
        .at(self.source, v.span(), format!("this is {found}"));
        self.push(d);
    }

    /// "`what` is missing `key`", pointing at `span`; the help suggests `example` or, without
    /// one, `key = <placeholder>`.
    pub fn missing(&self, span: Range<usize>, key: &str, what: &str, example: Option<&str>) {
        let help = match example {
            Some(example) => format!("add {example}"),
            None => format!("add `{key} = {}`", self.format.placeholder),
        };
        let d = Diagnostic::new(self.format.missing_field, format!("{what} is missing `{key}`"))
            .at(self.source, span, format!("needs `{key}`"))
            .help(help);
        self.push(d);
    }
}

/// A table of a document, opened by [`Reader::table`] with the keys its schema defines.
pub(crate) struct Table<'a, 'f, 'i> {
    reader: &'a Reader<'f>,
    table: &'a DeTable<'i>,
    span: Range<usize>,
    name: String,
}

impl<'a, 'i> Table<'a, '_, 'i> {
    /// The span of the whole table.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The same table, called `name` in the findings about its missing fields (a `spawn` grant
    /// is a "process grant" among unknown keys but a "`spawn` grant" when it lacks `executable`).
    pub fn called(&self, name: impl Into<String>) -> Self {
        Self {
            reader: self.reader,
            table: self.table,
            span: self.span.clone(),
            name: name.into(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        get(self.table, key)
    }

    /// The value of `key`, or a missing-field finding at the table.
    pub fn required(&self, key: &str) -> Option<&'a Value<'i>> {
        let v = self.get(key);
        if v.is_none() {
            self.reader.missing(self.span(), key, &self.name, None);
        }
        v
    }

    /// Reports `key` missing from this table, with `example` as the help's suggestion.
    pub fn missing(&self, key: &str, example: &str) {
        self.reader.missing(self.span(), key, &self.name, Some(example));
    }

    /// The string value of `key`, or a missing-field or wrong-type finding.
    pub fn required_str(&self, key: &str) -> Option<(String, Range<usize>)> {
        self.required(key).and_then(|v| self.reader.string(v, key))
    }

    /// The string value of `key` when present; a wrong type is reported.
    pub fn optional_str(&self, key: &str) -> Option<(String, Range<usize>)> {
        self.get(key).and_then(|v| self.reader.string(v, key))
    }

    /// The table under `key` when present; a wrong type is reported.
    pub fn optional_table(&self, key: &str) -> Option<(&'a DeTable<'i>, Range<usize>)> {
        let v = self.get(key)?;
        self.reader.as_table(v, key).map(|t| (t, v.span()))
    }
}

fn get<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a Value<'i>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
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

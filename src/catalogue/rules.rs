//! The rules of the operation catalogue (`CAT…`) with their documentation, and the
//! constructors of the findings that refuse a catalogue.

use std::fmt::Display;
use std::ops::Range;

use crate::diagnostics::{Diagnostic, SourceId, rules};

rules! {
    /// The catalogue (the embedded `wit/` or the directory given with `--catalogue`) must be valid WIT
    /// that wit-parser can resolve: four packages, every `use` and include resolvable.
    ///
    /// ## Example
    /// ```wit
    /// package airssys:core@1.0.0;
    ///
    /// interface types {
    ///     record config { name: string
    /// }
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// package airssys:core@1.0.0;
    ///
    /// interface types {
    ///     record config { name: string }
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Fix the WIT at the span shown, or point `--catalogue` at a complete catalogue.
    CATALOGUE_WIT_ERROR = "CAT001" "catalogue-wit-error" Error "the operation catalogue's WIT does not parse or resolve";

    /// Every catalogue function must carry exactly one machine-readable permission requirement in its
    /// doc comment, such as `/// @requires filesystem:read(path)` or `/// @requires none`. Without it the
    /// engine could not tell what the operation needs, so the catalogue is refused (fail closed).
    ///
    /// ## Example
    /// ```wit
    /// /// Reads a whole file.
    /// read-file: func(path: string) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// /// Reads a whole file.
    /// /// @requires filesystem:read(path)
    /// read-file: func(path: string) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## How to fix
    /// Add the `@requires` line to the function's doc comment.
    MISSING_REQUIREMENT = "CAT002" "missing-requirement" Error "a catalogue operation has no `@requires` line";

    /// The requirement grammar is `none` or terms joined by ` + `, each `domain:action(args)` where
    /// `action` may be `a|b` (either is enough) and each arg is a parameter path (`path`,
    /// `options.executable`) or a quoted literal (`"SIGKILL"`). Domains and actions are those of
    /// Component.toml.
    ///
    /// ## Example
    /// ```wit
    /// /// @requires filesystem:reed(path)
    /// read-file: func(path: string) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// /// @requires filesystem:read(path)
    /// read-file: func(path: string) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## How to fix
    /// Correct the line as the message says.
    MALFORMED_REQUIREMENT = "CAT003" "malformed-requirement" Error "a `@requires` line does not follow the grammar";

    /// A requirement names the argument the permission check reads, so the name must be one of the
    /// function's parameters (and a `.field` path must name a field of that parameter's record type).
    ///
    /// ## Example
    /// ```wit
    /// /// @requires filesystem:read(file)
    /// read-file: func(path: string) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// /// @requires filesystem:read(path)
    /// read-file: func(path: string) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## How to fix
    /// Rename the argument in the `@requires` line or in the signature so that they agree.
    REQUIREMENT_UNKNOWN_PARAMETER = "CAT004" "requirement-unknown-parameter" Error "a `@requires` line names a parameter the function does not have";

    /// Exactly one requirement per operation keeps the meaning unambiguous: with two lines, a reader
    /// could take either one for the whole requirement, and the engine would have to guess whether
    /// both apply or either is enough.
    ///
    /// ## Example
    /// ```wit
    /// /// @requires filesystem:read(src)
    /// /// @requires filesystem:write(dst)
    /// copy: func(src: string, dst: string) -> result<_, fs-error>;
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// /// @requires filesystem:read(src) + filesystem:write(dst)
    /// copy: func(src: string, dst: string) -> result<_, fs-error>;
    /// ```
    ///
    /// ## How to fix
    /// Merge the lines into one with ` + `.
    DUPLICATE_REQUIREMENT = "CAT005" "duplicate-requirement" Error "a catalogue operation has more than one `@requires` line";
}

/// Where a catalogue finding points, when the source map knows.
pub(super) type Place = Option<(SourceId, Range<usize>)>;

fn placed(d: Diagnostic, at: Place, label: &str) -> Diagnostic {
    match at {
        Some((source, span)) => d.at(source, span, label),
        None => d,
    }
}

pub(super) fn no_wit_files() -> Diagnostic {
    Diagnostic::new(&CATALOGUE_WIT_ERROR, "the catalogue has no WIT files")
        .help("point `--catalogue` at a directory with one subdirectory of .wit files per package")
}

/// wit-parser panicked on the catalogue (a bug of wit-parser, reported as a finding).
pub(super) fn parser_failed(panic: &str) -> Diagnostic {
    Diagnostic::new(&CATALOGUE_WIT_ERROR, "wit-parser failed on the catalogue")
        .help("rewrite the construct the note names; doc comments written as `/**/` are one such case")
        .note(format!("wit-parser panicked: {panic}"))
}

/// Operation `op` (at `at`, its `@requires` line or the function) has no requirement.
pub(super) fn missing_requirement(at: Place, op: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &MISSING_REQUIREMENT,
        format!("operation `{op}` has no `@requires` line"),
    )
    .help("add `/// @requires <domain>:<action>(<param>)` or `/// @requires none` to its doc comment");
    placed(d, at, "no requirement")
}

/// Operation `op` has `n` requirement lines.
pub(super) fn duplicate_requirement(at: Place, op: &str, n: usize) -> Diagnostic {
    let d = Diagnostic::new(
        &DUPLICATE_REQUIREMENT,
        format!("operation `{op}` has {n} `@requires` lines"),
    )
    .help("merge them into one line with ` + `");
    placed(d, at, "one of several")
}

/// The requirement of `op` does not follow the grammar (`e` says where).
pub(super) fn malformed_requirement(at: Place, op: &str, e: &dyn Display) -> Diagnostic {
    let d = Diagnostic::new(&MALFORMED_REQUIREMENT, format!("malformed requirement of `{op}`: {e}"))
        .help("see `airssys-wasm explain CAT003` for the grammar");
    placed(d, at, "malformed")
}

/// A literal of `op`'s requirement is not a value the decision core accepts.
pub(super) fn invalid_requirement_literal(at: Place, op: &str, e: &dyn Display) -> Diagnostic {
    let d = Diagnostic::new(&MALFORMED_REQUIREMENT, format!("malformed requirement of `{op}`: {e}"))
        .help("a spawn literal is an absolute executable path, a signal literal a POSIX signal name");
    placed(d, at, "malformed")
}

/// The requirement of `op` names `what` (a parameter or field that does not exist).
pub(super) fn requirement_unknown_parameter(at: Place, op: &str, what: &dyn Display) -> Diagnostic {
    let d = Diagnostic::new(
        &REQUIREMENT_UNKNOWN_PARAMETER,
        format!("requirement of `{op}` names {what}"),
    )
    .help("name one of the function's parameters");
    placed(d, at, "unknown parameter")
}

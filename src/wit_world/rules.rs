//! The rules about WIT (`WIT…`) with their documentation, and the constructors of their
//! findings. `airssys-wasm wit` reports them about an author's package; the analysis of a
//! component reports the same mismatches (an import outside the catalogue, a signature or
//! version mismatch, a missing lifecycle export) about its binary.

use std::ops::Range;

use wit_parser::PackageName;

use crate::diagnostics::{Diagnostic, SourceId, did_you_mean, rules};

rules! {
    /// The WIT given to `airssys-wasm wit` has a syntax or resolution error. The catalogue packages
    /// (`airssys:core`, `airssys:ext-*`) are supplied automatically when the package has no `deps/` copy
    /// of them.
    ///
    /// ## Example
    /// ```wit
    /// package example:app@0.1.0;
    ///
    /// world app {
    ///     import airssys:core/host-services@1.0.0
    /// }
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// package example:app@0.1.0;
    ///
    /// world app {
    ///     import airssys:core/host-services@1.0.0;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Fix the WIT at the span shown.
    WIT_ERROR = "WIT001" "wit-error" Error "the WIT package does not parse or resolve";

    /// The world (of a WIT package, or decoded from a compiled component) imports an interface or
    /// function that the host catalogue does not offer: an unknown package, interface or function, or
    /// a bare function import. The host would refuse to link such a component, and an
    /// unrecognised import cannot be mapped onto a permission, so it fails closed.
    ///
    /// ## Example
    /// ```wit
    /// world app {
    ///     include airssys:core/component@1.0.0;
    ///     import airssys:ext-filesystem/filesystem-admin@1.0.0;
    /// }
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// world app {
    ///     include airssys:core/component@1.0.0;
    ///     import airssys:ext-filesystem/filesystem@1.0.0;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Import only the catalogue's interfaces (`airssys-wasm catalogue` lists them).
    IMPORT_OUTSIDE_CATALOGUE = "WIT002" "import-outside-catalogue" Error "an import is not an operation of the catalogue";

    /// An imported (or the exported lifecycle) function, in WIT or in a compiled component, has the
    /// catalogue's name but a different type:
    /// other parameters, results, or differently shaped records, variants, enums or flags. The
    /// component would fail to link, or worse, link against an operation with a different meaning.
    ///
    /// ## Example
    /// A local copy of the catalogue's WIT with a changed signature:
    ///
    /// ```wit
    /// read-file: func(path: string, limit: u32) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## Fixed
    /// The catalogue's own WIT, unchanged:
    ///
    /// ```wit
    /// read-file: func(path: string) -> result<list<u8>, fs-error>;
    /// ```
    ///
    /// ## How to fix
    /// Use the catalogue's WIT (`airssys-wasm catalogue` or the `wit/` folder) instead of a local copy.
    SIGNATURE_MISMATCH = "WIT003" "signature-mismatch" Error "a function's type differs from the catalogue's";

    /// Interfaces link by semver compatibility, as in Wasmtime's linker: `1.0.1` and `1.2.0` are the
    /// same interface as the catalogue's `1.0.0`; `2.0.0` or `0.9.0` are not, and the component would not
    /// link.
    ///
    /// ## Example
    /// ```wit
    /// world app {
    ///     include airssys:core/component@1.0.0;
    ///     import airssys:ext-network/socket@2.0.0;
    /// }
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// world app {
    ///     include airssys:core/component@1.0.0;
    ///     import airssys:ext-network/socket@1.0.0;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Depend on the catalogue's major version (`@1.x`).
    INCOMPATIBLE_VERSION = "WIT004" "incompatible-version" Error "an imported package version is not semver-compatible with the catalogue's";

    /// Every airssys component exports `airssys:core/component-lifecycle` so that the host can
    /// initialise it, run it and shut it down. `airssys-wasm wit` reports a world without it. `check`
    /// reports a compiled component without it only when an airssys component is required: by an
    /// organisation policy (`[components] kinds = ["airssys"]`) or by `check --kind airssys`; a WASI
    /// command, HTTP handler or library is otherwise checked as what it is.
    ///
    /// ## Example
    /// ```wit
    /// world app {
    ///     import airssys:ext-filesystem/filesystem@1.0.0;
    /// }
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// world app {
    ///     include airssys:core/component@1.0.0;
    ///     import airssys:ext-filesystem/filesystem@1.0.0;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Add `export airssys:core/component-lifecycle@1.0.0;` or `include airssys:core/component@1.0.0;`.
    MISSING_LIFECYCLE_EXPORT = "WIT005" "missing-lifecycle-export" Error "the world does not export `component-lifecycle`";

    /// `airssys-wasm wit` checks a component's world; the package has none (or `--world` names one
    /// that does not exist).
    ///
    /// ## Example
    /// ```wit
    /// package example:types@0.1.0;
    ///
    /// interface types {
    ///     type id = u64;
    /// }
    /// ```
    ///
    /// ## Fixed
    /// ```wit
    /// package example:types@0.1.0;
    ///
    /// interface types {
    ///     type id = u64;
    /// }
    ///
    /// world app {
    ///     include airssys:core/component@1.0.0;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Define a world, or name an existing one with `--world`.
    NO_WORLD = "WIT006" "no-world" Error "the WIT package defines no world to check";
}

/// Where a finding points, when its place is known: a file and range of WIT text, or the
/// binary and the byte range of an import or export name.
pub(crate) type Place = Option<(SourceId, Range<usize>)>;

fn placed(d: Diagnostic, at: Place, label: &str) -> Diagnostic {
    match at {
        Some((source, span)) => d.at(source, span, label),
        None => d,
    }
}

// About an author's WIT package (`airssys-wasm wit`).

/// The package has no world (named `world`, when one was asked for); `worlds` are its worlds.
pub(super) fn no_world(world: Option<&str>, worlds: &[String]) -> Diagnostic {
    let msg = match world {
        Some(w) => format!("the package has no world named `{w}`"),
        None => "the package defines no world".to_string(),
    };
    let known: Vec<String> = worlds.iter().map(|n| format!("`{n}`")).collect();
    let help = if known.is_empty() {
        "define a world, e.g. `world my-component { include airssys:core/component@1.0.0; }`".to_string()
    } else {
        format!("worlds in this package: {}", known.join(", "))
    };
    Diagnostic::new(&NO_WORLD, msg).help(help)
}

/// wit-parser panicked on the package (a bug of wit-parser, reported as a finding).
pub(super) fn parser_failed(at: Place, panic: &str) -> Diagnostic {
    let d = Diagnostic::new(&WIT_ERROR, "wit-parser failed on this package")
        .help("rewrite the construct the note names; doc comments written as `/**/` are one such case")
        .note(format!("wit-parser panicked: {panic}"));
    placed(d, at, "in this package")
}

/// The package asks for `requested`, which does not link with the catalogue's `provided`
/// (at version `have`).
pub(super) fn requested_version_incompatible(
    at: Place,
    requested: &PackageName,
    provided: &PackageName,
    have: &str,
) -> Diagnostic {
    let d = Diagnostic::new(
        &INCOMPATIBLE_VERSION,
        format!("`{requested}` is not semver-compatible with the catalogue's `{provided}`"),
    )
    .help(format!("import version {have} or a semver-compatible one"));
    placed(d, at, "here")
}

/// `requested` is neither vendored nor the catalogue's `provided` (at version `have`), though
/// the two link.
pub(super) fn package_not_available(
    at: Place,
    requested: &PackageName,
    provided: &PackageName,
    have: &str,
) -> Diagnostic {
    let d = Diagnostic::new(
        &WIT_ERROR,
        format!("package `{requested}` is not available to resolve against"),
    )
    .help(format!(
        "the catalogue provides `{provided}`, which links with it; import @{have} or vendor the package into deps/"
    ));
    placed(d, at, "here")
}

/// Catalogue package `package` has no interface `iface`; `interfaces` are its interfaces.
pub(super) fn no_such_interface(
    at: Place,
    label: &str,
    package: &PackageName,
    iface: &str,
    interfaces: &[&str],
) -> Diagnostic {
    let help = match did_you_mean(iface, interfaces.iter().copied()) {
        Some(g) => format!("did you mean `{g}`?"),
        None => format!("its interfaces are {}", interfaces.join(", ")),
    };
    let d = Diagnostic::new(
        &IMPORT_OUTSIDE_CATALOGUE,
        format!("package `{package}` has no interface `{iface}`"),
    )
    .help(help);
    placed(d, at, label)
}

/// A world imports a bare function or an interface defined in the world, named `name`.
pub(super) fn import_not_an_interface(at: Place, name: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &IMPORT_OUTSIDE_CATALOGUE,
        format!("import `{name}` is not a catalogue interface"),
    )
    .help("the host links only catalogue interfaces; import e.g. `airssys:ext-filesystem/filesystem@1.0.0`");
    placed(d, at, "not in the catalogue")
}

/// A world imports an interface without a name or package.
pub(super) fn anonymous_interface_import(at: Place, name: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &IMPORT_OUTSIDE_CATALOGUE,
        format!("import `{name}` is not a catalogue interface"),
    );
    placed(d, at, "not in the catalogue")
}

/// Import `name` does not link with the catalogue's package `provided`.
pub(super) fn import_version_incompatible(at: Place, name: &str, provided: &PackageName) -> Diagnostic {
    let d = Diagnostic::new(
        &INCOMPATIBLE_VERSION,
        format!("import `{name}` is not semver-compatible with the catalogue's `{provided}`"),
    )
    .help(format!("depend on `{provided}` or a compatible version"));
    placed(d, at, "incompatible version")
}

/// Import `name` is from `package`, which the catalogue does not have.
pub(super) fn unknown_package(at: Place, name: &str, package: &PackageName) -> Diagnostic {
    let d = Diagnostic::new(
        &IMPORT_OUTSIDE_CATALOGUE,
        format!("import `{name}` is from package `{package}`, which is not in the catalogue"),
    )
    .help("catalogue packages are airssys:core, airssys:ext-filesystem, airssys:ext-network and airssys:ext-process");
    placed(d, at, "unknown package")
}

/// Function `function` of catalogue interface `iface` is not an operation.
pub(super) fn not_an_operation(at: Place, iface: &str, function: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &IMPORT_OUTSIDE_CATALOGUE,
        format!("`{iface}.{function}` is not a catalogue operation"),
    )
    .help("remove it, or use the catalogue's operations only");
    placed(d, at, "unknown operation")
}

/// `iface.function` has another type than the catalogue's; `why` says where they differ.
pub(super) fn signature_mismatch(at: Place, iface: &str, function: &str, why: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &SIGNATURE_MISMATCH,
        format!("`{iface}.{function}` differs from the catalogue: {why}"),
    )
    .help("use the catalogue's WIT for this interface");
    placed(d, at, "differs from the catalogue")
}

/// World `world` does not export the lifecycle.
pub(super) fn missing_lifecycle_export(at: Place, world: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &MISSING_LIFECYCLE_EXPORT,
        format!("world `{world}` does not export `airssys:core/component-lifecycle`"),
    )
    .help("add `export airssys:core/component-lifecycle@1.0.0;` or `include airssys:core/component@1.0.0;`");
    placed(d, at, "no lifecycle export")
}

/// The exported lifecycle `exported` (an interface or package name) does not link with the
/// catalogue's, in a world or in a component.
pub(crate) fn exported_lifecycle_incompatible(at: Place, exported: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &INCOMPATIBLE_VERSION,
        format!("the exported `{exported}` is not semver-compatible with the catalogue's"),
    );
    placed(d, at, "incompatible version")
}

/// The world's exported lifecycle lacks `function`.
pub(super) fn lifecycle_lacks(at: Place, function: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &SIGNATURE_MISMATCH,
        format!("the exported `component-lifecycle` lacks `{function}`"),
    )
    .help("use the catalogue's `component-lifecycle` interface unchanged");
    placed(d, at, "incomplete lifecycle")
}

// About a component's binary (`check`): the same mismatches, pointing at the import or export
// name.

/// Import `name` (of a package with a version or without) does not link with the catalogue's
/// `have`.
pub(crate) fn component_import_incompatible(at: Place, name: &str, versioned: bool, have: &str) -> Diagnostic {
    let message = if versioned {
        format!("import `{name}` is not semver-compatible with the catalogue's `{have}`")
    } else {
        format!("import `{name}` has no version; the catalogue's is `{have}`")
    };
    let d =
        Diagnostic::new(&INCOMPATIBLE_VERSION, message).help(format!("build against `{have}` or a compatible version"));
    placed(d, at, "incompatible version")
}

/// The imported `iface.function` has another type than the catalogue's.
pub(crate) fn component_signature_mismatch(at: Place, iface: &str, function: &str, why: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &SIGNATURE_MISMATCH,
        format!("`{iface}.{function}` differs from the catalogue: {why}"),
    )
    .help("rebuild against the catalogue's WIT");
    placed(d, at, "differs from the catalogue")
}

/// `what` (an import, or a function of one) is outside the catalogue; `why` says how.
pub(crate) fn component_import_outside(at: Place, what: &str, why: &str) -> Diagnostic {
    let d = Diagnostic::new(
        &IMPORT_OUTSIDE_CATALOGUE,
        format!("{what} is not a catalogue operation: {why}"),
    )
    .help("import only catalogue operations (`airssys-wasm catalogue` lists them) or mapped WASI interfaces");
    placed(d, at, "outside the catalogue")
}

/// The component's exported lifecycle differs from the catalogue's (`problem` says how).
pub(crate) fn component_lifecycle_mismatch(at: Place, problem: String) -> Diagnostic {
    let d =
        Diagnostic::new(&SIGNATURE_MISMATCH, problem).help("export the catalogue's `component-lifecycle` unchanged");
    placed(d, at, "lifecycle export")
}

/// The component (`described`, e.g. "a library") is not an airssys component and `who` accepts
/// only those; `note` says what it exports.
pub(crate) fn not_an_airssys_component(binary: SourceId, described: &str, who: &str, note: &str) -> Diagnostic {
    Diagnostic::new(
        &MISSING_LIFECYCLE_EXPORT,
        format!(
            "the component does not export `airssys:core/component-lifecycle`: it is {described}, and {who} accepts only airssys components"
        ),
    )
    .at(binary, 0..0, "no lifecycle export")
    .note(note)
    .help("export the catalogue's `component-lifecycle` (include the world `airssys:core/component@1.0.0`)")
}

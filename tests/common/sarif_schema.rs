//! The SARIF 2.1.0 schema, vendored as `tests/fixtures/sarif-schema-2.1.0.json` (its provenance
//! is in tests/sarif.rs), compiled for the tests that validate SARIF logs.

use serde_json::Value;

/// The pattern of `language` (in `run` and `toolComponent`) in the published schema: the `]`
/// before `?` is a stray literal.
const STRAY_BRACKET_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

/// The vendored schema, compiled with format checks on (so `uri`, `uri-reference` are
/// checked too). Checking formats makes the validator also check the schema's own `pattern`
/// values as regular expressions, which the stray `]` fails; escaping it keeps its meaning (a
/// literal `]`) and lets the rest of the schema be enforced unchanged.
pub fn schema_validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(STRAY_BRACKET_PATTERN).count(),
        2,
        "the vendored schema changed"
    );
    let text = text.replace(STRAY_BRACKET_PATTERN, r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the vendored schema compiles")
}

/// The schema violations of a document, one line each (empty when it conforms).
pub fn violations(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    validator
        .iter_errors(log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

//! Every registered rule is produced by at least one fixture file: the `check` fixtures, the
//! manifests, the policy cases and invalid policies, the WIT packages, the `--from-list` lists
//! and the refused catalogues under tests/fixtures. A rule no fixture produces is documented but untested as
//! seen by a user; add a fixture that produces it.

mod common;

use std::collections::BTreeSet;

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::diagnostics::{RULES, Sources};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::PolicySet;
use common::{codes, fixtures};

#[test]
fn every_registered_rule_is_produced_by_a_fixture() {
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut produced: BTreeSet<&'static str> = BTreeSet::new();
    for fx in fixtures::check_fixtures() {
        produced.extend(codes(&fx.check(&catalogue, dir.path()).diagnostics));
    }
    for kind in ["good", "bad"] {
        for path in fixtures::files(&format!("manifests/{kind}"), &["toml"]) {
            let bytes = std::fs::read(&path).unwrap();
            produced.extend(codes(
                &Manifest::from_bytes(&mut Sources::new(), "Component.toml", &bytes).diagnostics,
            ));
        }
    }
    for case in fixtures::policy_cases() {
        produced.extend(case.run().0);
    }
    for path in fixtures::files("policies/invalid", &["toml"]) {
        produced.extend(codes(
            &PolicySet::load(&mut Sources::new(), &[path]).unwrap_err().diagnostics,
        ));
    }
    for path in fixtures::dirs("wit") {
        let found = airssys_wasm::wit_world::check_path(&catalogue, &path, None, &mut Sources::new()).unwrap();
        produced.extend(codes(&found));
    }
    for path in fixtures::files("lists", &["txt"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        produced.extend(codes(
            &airssys_wasm::list::parse(&mut Sources::new(), "list", text).diagnostics,
        ));
    }
    for fx in fixtures::catalogue_fixtures() {
        produced.extend(codes(&fx.load().unwrap_err().diagnostics));
    }
    let missing: Vec<&str> = RULES.iter().map(|r| r.code).filter(|c| !produced.contains(c)).collect();
    assert!(
        missing.is_empty(),
        "no fixture produces {missing:?}: add one under tests/fixtures"
    );
}

/// The sections of a rule's documentation, in order: what and why (the text before the first
/// heading), a bad example, the fixed example, and how to fix it.
fn sections(doc: &str) -> Vec<(&str, &str)> {
    let mut out = vec![("", doc.split("\n## ").next().unwrap_or_default())];
    for part in doc.split("\n## ").skip(1) {
        let (title, body) = part.split_once('\n').unwrap_or((part, ""));
        out.push((title.trim(), body));
    }
    out
}

#[test]
fn every_rule_documents_what_why_a_bad_and_a_fixed_example_and_the_fix() {
    let mut wrong = Vec::new();
    for rule in RULES {
        let sections = sections(rule.doc);
        let titles: Vec<&str> = sections.iter().map(|(t, _)| *t).collect();
        if titles != ["", "Example", "Fixed", "How to fix"] {
            wrong.push(format!("{}: sections {titles:?}", rule.code));
            continue;
        }
        if let Some((title, _)) = sections.iter().find(|(_, body)| body.trim().is_empty()) {
            wrong.push(format!("{}: empty section {title:?}", rule.code));
        }
        if sections[0].1.split_whitespace().count() < 12 {
            wrong.push(format!("{}: say what the rule finds and why it matters", rule.code));
        }
        if sections[1].1.trim() == sections[2].1.trim() {
            wrong.push(format!("{}: the fixed example is the bad one", rule.code));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A manifest rule's examples are real: the bad one (completed into a manifest) produces the
/// rule, the fixed one does not.
#[test]
fn manifest_rule_examples_produce_their_rule_and_the_fixes_do_not() {
    const HEAD: &str = "[component]\nname = \"exporter\"\nversion = \"1.0.0\"\n\n";
    let manifest = |block: &str| -> Option<String> {
        let toml = block.trim().strip_prefix("```toml\n")?.strip_suffix("```")?;
        Some(if toml.starts_with("[component]") {
            toml.to_string()
        } else if toml.starts_with('[') {
            format!("{HEAD}{toml}")
        } else if toml.starts_with("repository") {
            format!("[component]\nname = \"exporter\"\nversion = \"1.0.0\"\n{toml}")
        } else {
            format!("{HEAD}[permissions]\n{toml}")
        })
    };
    let mut checked = 0;
    let mut wrong = Vec::new();
    for rule in RULES.iter().filter(|r| r.code.starts_with("MAN")) {
        let sections = sections(rule.doc);
        let (Some(bad), Some(fixed)) = (manifest(sections[1].1), manifest(sections[2].1)) else {
            continue;
        };
        let found = |text: &str| codes(&Manifest::parse_in(&mut Sources::new(), "Component.toml", text).diagnostics);
        if !found(&bad).contains(&rule.code) {
            wrong.push(format!("{}: the example gives {:?}:\n{bad}", rule.code, found(&bad)));
        }
        if found(&fixed).contains(&rule.code) {
            wrong.push(format!("{}: the fix still gives it:\n{fixed}", rule.code));
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 15, "{checked} manifest rules have TOML examples");
}

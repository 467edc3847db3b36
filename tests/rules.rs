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

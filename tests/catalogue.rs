//! The catalogue in `wit/`: exactly the 115 operations of shared/catalogue.md with the
//! requirement its table gives each, and a loader that refuses an incomplete catalogue (the
//! refused packages are files in tests/fixtures/catalogue).

mod common;

use std::collections::BTreeMap;

use airssys_wasm::catalogue::Catalogue;

/// `(package, interface, operation) -> requirement`, from tests/fixtures/catalogue-expected.tsv.
fn expected() -> BTreeMap<(String, String, String), String> {
    include_str!("fixtures/catalogue-expected.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            ((f[0].into(), f[1].into(), f[2].into()), f[3].into())
        })
        .collect()
}

fn loaded() -> BTreeMap<(String, String, String), String> {
    let c = Catalogue::embedded().expect("the embedded catalogue loads");
    c.operations
        .iter()
        .map(|o| {
            (
                (o.package.to_string(), o.interface.clone(), o.name.clone()),
                o.requirement.to_string(),
            )
        })
        .collect()
}

#[test]
fn has_exactly_115_operations_with_the_catalogue_names() {
    let c = Catalogue::embedded().unwrap();
    assert_eq!(c.operations.len(), 115);
    let names: Vec<_> = loaded().into_keys().collect();
    let want: Vec<_> = expected().into_keys().collect();
    assert_eq!(names, want);
}

#[test]
fn split_per_package_and_interface() {
    let mut per_package: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_interface: BTreeMap<String, usize> = BTreeMap::new();
    for o in &Catalogue::embedded().unwrap().operations {
        *per_package.entry(o.package.to_string()).or_default() += 1;
        *per_interface.entry(o.interface.clone()).or_default() += 1;
    }
    let pkg: Vec<(&str, usize)> = per_package.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        pkg,
        [
            ("airssys:core@1.0.0", 15),
            ("airssys:ext-filesystem@1.0.0", 36),
            ("airssys:ext-network@1.0.0", 32),
            ("airssys:ext-process@1.0.0", 32)
        ]
    );
    for (iface, n) in [
        ("component-lifecycle", 7),
        ("host-services", 8),
        ("filesystem", 22),
        ("metadata", 14),
        ("socket", 20),
        ("connection", 12),
        ("lifecycle", 18),
        ("signals", 14),
    ] {
        assert_eq!(per_interface[iface], n, "{iface}");
    }
}

/// Data-driven over all 115 rows: each requirement equals catalogue.md's table.
#[test]
fn every_requirement_equals_the_table() {
    let (want, got) = (expected(), loaded());
    let wrong: Vec<String> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .map(|(k, v)| format!("{}/{}.{}: want `{v}`, got `{:?}`", k.0, k.1, k.2, got.get(k)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(want.len(), 115);
}

#[test]
fn the_embedded_files_are_exactly_the_wit_folder() {
    let c = Catalogue::embedded().unwrap();
    let on_disk =
        airssys_wasm::catalogue::read_package_dirs(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/wit")))
            .unwrap();
    assert_eq!(
        c.files.len(),
        on_disk.len(),
        "a file was added to wit/ but not to src/catalogue/embedded.rs"
    );
    for ((en, et), (dn, dt)) in c.files.iter().zip(&on_disk) {
        assert!(dn.ends_with(en.as_str()), "{en} vs {dn}");
        assert_eq!(et, dt, "{en} differs from the file on disk");
    }
}

#[test]
fn loads_from_a_directory_the_same_as_embedded() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/wit"));
    let c = Catalogue::from_dir(dir).unwrap().unwrap();
    assert_eq!(c.operations.len(), 115);
    assert_eq!(c.packages.len(), 4);
}

/// Every file of tests/fixtures/catalogue: a package whose catalogue is refused, with the code
/// its header expects.
#[test]
fn refuses_operations_without_or_with_bad_requirements() {
    common::with_snapshots(|| {
        for fx in common::fixtures::catalogue_fixtures() {
            let name = &fx.name;
            let err = fx.load().expect_err(name);
            assert_eq!(common::codes(&err.diagnostics), fx.expect, "{name}");
            insta::assert_snapshot!(
                format!("refused-{name}"),
                common::render(&err.diagnostics, &err.sources)
            );
        }
    });
}

#[test]
fn refuses_a_catalogue_that_does_not_parse() {
    let fx = common::fixtures::catalogue_fixtures()
        .into_iter()
        .find(|f| f.name == "does-not-parse")
        .unwrap();
    let err = fx.load().expect_err("parse error");
    assert_eq!(common::codes(&err.diagnostics), ["CAT001"]);
    assert!(err.diagnostics[0].primary.is_some(), "the parse error has a span");
}

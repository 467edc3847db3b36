//! `airssys-wasm catalogue`: every package and interface of the loaded catalogue with its
//! operation count and each operation's requirement, computed from the parsed WIT.

use serde::Serialize;

use airssys_wasm::Error;
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::report::json;

use super::{Outcome, print_out};

#[derive(Serialize)]
struct Listing {
    version: u32,
    packages: Vec<PackageListing>,
    totals: Totals,
}

#[derive(Serialize)]
struct PackageListing {
    name: String,
    files: Vec<String>,
    interfaces: Vec<InterfaceListing>,
}

#[derive(Serialize)]
struct InterfaceListing {
    name: String,
    operations: Vec<OperationListing>,
}

#[derive(Serialize)]
struct OperationListing {
    name: String,
    requires: String,
}

#[derive(Serialize)]
struct Totals {
    packages: usize,
    files: usize,
    types: usize,
    operations: usize,
}

fn listing(c: &Catalogue) -> Listing {
    let packages = c
        .packages
        .iter()
        .map(|p| PackageListing {
            name: p.name.to_string(),
            files: p.files.clone(),
            interfaces: c.resolve.packages[p.id]
                .interfaces
                .keys()
                .map(|iname| InterfaceListing {
                    name: iname.clone(),
                    operations: c
                        .operations
                        .iter()
                        .filter(|o| o.package == p.name && o.interface == *iname)
                        .map(|o| OperationListing {
                            name: o.name.clone(),
                            requires: o.requirement.to_string(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Listing {
        version: json::SCHEMA_VERSION,
        packages,
        totals: Totals {
            packages: c.packages.len(),
            files: c.files.len(),
            types: c.type_count(),
            operations: c.operations.len(),
        },
    }
}

pub(super) fn run(c: &Catalogue, json_out: bool) -> Result<Outcome, Error> {
    let l = listing(c);
    if json_out {
        print_out(&json::to_string(&l));
    } else {
        print_out(&human(&l));
    }
    Ok(Outcome::Clean)
}

fn human(l: &Listing) -> String {
    let mut out = String::new();
    for p in &l.packages {
        let n: usize = p.interfaces.iter().map(|i| i.operations.len()).sum();
        out.push_str(&format!("{} ({} operations, {} files)\n", p.name, n, p.files.len()));
        for i in &p.interfaces {
            out.push_str(&format!("  {} ({} operations)\n", i.name, i.operations.len()));
            for o in &i.operations {
                out.push_str(&format!("    {:<24} {}\n", o.name, o.requires));
            }
        }
        out.push('\n');
    }
    let t = &l.totals;
    out.push_str(&format!(
        "{} packages, {} files, {} types, {} operations\n",
        t.packages, t.files, t.types, t.operations
    ));
    out
}

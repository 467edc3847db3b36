//! A manifest written out as text from its parts, for the commands that write one:
//! `inspect --suggest-manifest` (what the imports need, with placeholders) and `run --learn`
//! (what a run did). One grant per line, each with a comment naming what needs it; values are
//! TOML strings written by the `toml` crate, and comments are escaped, so that no name from a
//! binary or a path can start a TOML line of its own.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::policy::{Action, Domain, FsGrant, NetGrant, ProcGrant};
use crate::report::escape_control;

/// The parts of a manifest, rendered by [`Draft::render`] in the format's order: comments,
/// `[component]`, `[permissions]`, `[acknowledged]`, further tables, closing comments.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    /// Comment lines at the top (without `# `).
    pub header: Vec<String>,
    /// `[component]`'s keys with their values as TOML text, in order.
    pub component: Vec<(&'static str, String)>,
    /// Each grant as a TOML inline table, by domain, with what needs it (the comment after
    /// it: sorted, without repeats, joined by `, `).
    pub grants: BTreeMap<(Domain, String), Vec<String>>,
    pub acknowledged: Option<Acknowledged>,
    /// Tables after those (`[limits]`, `[config]`), already TOML text.
    pub tables: String,
    /// Comment lines at the end (without `# `).
    pub footer: Vec<String>,
}

/// `[acknowledged]`: its reason, a comment above it, and each action with what needs it.
#[derive(Clone, Debug, Default)]
pub struct Acknowledged {
    pub comment: Vec<String>,
    pub reason: String,
    pub actions: BTreeMap<Action, Vec<String>>,
}

impl Draft {
    /// The manifest's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        comments(&mut out, &self.header);
        if !self.header.is_empty() {
            out.push('\n');
        }
        out.push_str("[component]\n");
        for (key, value) in &self.component {
            let _ = writeln!(out, "{key} = {value}");
        }
        let mut last = None;
        for ((domain, grant), needs) in &self.grants {
            if last != Some(*domain) {
                out.push_str(if last.is_none() { "\n[permissions]\n" } else { "]\n" });
                let _ = writeln!(out, "{} = [", domain.as_str());
                last = Some(*domain);
            }
            let _ = writeln!(out, "  {grant},  # {}", joined(needs));
        }
        if last.is_some() {
            out.push_str("]\n");
        }
        if let Some(ack) = &self.acknowledged {
            out.push_str("\n[acknowledged]\n");
            comments(&mut out, &ack.comment);
            let _ = writeln!(out, "reason = {}", toml_string(&ack.reason));
            for domain in Domain::ALL {
                let actions: Vec<_> = ack.actions.iter().filter(|(a, _)| a.domain() == domain).collect();
                if actions.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{} = [", domain.as_str());
                for (action, needs) in actions {
                    let _ = writeln!(out, "  \"{}\",  # {}", action.as_str(), joined(needs));
                }
                out.push_str("]\n");
            }
        }
        if !self.tables.is_empty() {
            out.push('\n');
            out.push_str(&self.tables);
        }
        if !self.footer.is_empty() {
            out.push('\n');
            comments(&mut out, &self.footer);
        }
        out
    }
}

fn comments(out: &mut String, lines: &[String]) {
    for line in lines {
        let _ = writeln!(out, "# {}", escape_control(line));
    }
}

/// What needs a grant, for its comment: sorted, without repeats, escaped.
fn joined(needs: &[String]) -> String {
    let mut needs = needs.to_vec();
    needs.sort();
    needs.dedup();
    escape_control(&needs.join(", ")).into_owned()
}

/// `text` as a TOML string (quoted and escaped as TOML requires).
pub fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A filesystem grant as the manifest writes it: `{ action = "read", path = "/data/**" }`.
pub fn fs_grant(grant: &FsGrant) -> String {
    format!(
        "{{ action = \"{}\", path = {} }}",
        grant.action.as_str(),
        toml_string(grant.pattern.as_str())
    )
}

/// A network grant: `{ action = "connect", domain = "example.com", port = 443 }` (a grant
/// without a host or a port leaves the key out).
pub fn net_grant(grant: &NetGrant) -> String {
    let mut out = format!("{{ action = \"{}\"", grant.action.as_str());
    if let Some(host) = &grant.host {
        let _ = write!(out, ", domain = {}", toml_string(&host.to_string()));
    }
    if let Some(port) = grant.port {
        let _ = write!(out, ", port = {port}");
    }
    out.push_str(" }");
    out
}

/// A process grant: `{ action = "spawn", executable = "/usr/bin/gzip" }` or
/// `{ action = "signal", signal = "SIGTERM" }`.
pub fn proc_grant(grant: &ProcGrant) -> String {
    match grant {
        ProcGrant::Spawn { executable } => {
            format!("{{ action = \"spawn\", executable = {} }}", toml_string(executable))
        }
        ProcGrant::Signal { signal } => format!("{{ action = \"signal\", signal = \"{}\" }}", signal.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use crate::policy::{FsAction, HostPattern, NetAction, PathPattern, Signal};

    #[test]
    fn a_draft_is_a_manifest_with_every_grant_it_was_given() {
        let mut draft = Draft {
            header: vec!["made by a test\nwith a newline".into()],
            component: vec![("name", toml_string("drafted")), ("version", toml_string("0.1.0"))],
            ..Draft::default()
        };
        let fs = FsGrant {
            action: FsAction::Read,
            pattern: PathPattern::parse("/data/it's \"quoted\"/x").unwrap(),
        };
        let net = NetGrant {
            action: NetAction::Connect,
            host: Some(HostPattern::parse("::1").unwrap()),
            port: Some(8080),
        };
        let bind = NetGrant {
            action: NetAction::Bind,
            host: None,
            port: Some(9000),
        };
        let signal = ProcGrant::Signal { signal: Signal::Term };
        for (domain, text) in [
            (Domain::Filesystem, fs_grant(&fs)),
            (Domain::Network, net_grant(&net)),
            (Domain::Network, net_grant(&bind)),
            (Domain::Process, proc_grant(&signal)),
        ] {
            draft.grants.insert((domain, text), vec!["an op\n[evil]".into()]);
        }
        draft.acknowledged = Some(Acknowledged {
            comment: vec!["not used".into()],
            reason: "a \"reason\"".into(),
            actions: [(Action::Fs(FsAction::Delete), vec!["unlink".into()])].into(),
        });
        let text = draft.render();
        assert!(!text.contains("\n[evil]"), "{text}");
        let parsed = Manifest::parse("Component.toml", &text);
        let m = parsed
            .manifest
            .as_ref()
            .unwrap_or_else(|| panic!("{text}\n{:?}", parsed.diagnostics));
        assert!(
            parsed
                .diagnostics
                .iter()
                .all(|d| d.severity != crate::diagnostics::Severity::Error),
            "{text}\n{:?}",
            parsed.diagnostics
        );
        assert_eq!(m.filesystem[0].grant, fs);
        assert_eq!(
            m.network.iter().map(|e| e.grant.clone()).collect::<Vec<_>>(),
            [bind, net]
        );
        assert_eq!(m.process[0].grant, signal);
        let ack = m.acknowledged.as_ref().unwrap();
        assert_eq!(ack.reason, "a \"reason\"");
        assert!(ack.covers(Action::Fs(FsAction::Delete)));
    }
}

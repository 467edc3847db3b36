//! `run --learn`: the options, the empty manifest a component without one starts from, and,
//! after the run, the learned manifest written out (`airssys_wasm::learn` makes it from what
//! the guard's collector saw).

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Loaded};
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::learn::{Learning, learn};
use airssys_wasm::runtime::{Collector, Host};
use airssys_wasm::{Error, ErrorKind, component};

use super::run_args::RunArgs;

/// What `--learn` asked for, and the collector the guard shows every decision to.
pub(super) struct Learn {
    pub(super) collector: Arc<Collector>,
    depth: Option<NonZeroUsize>,
    out: Option<PathBuf>,
}

impl Learn {
    /// The learning `args` ask for (`None` without `--learn`), checked before anything runs.
    pub(super) fn from_args(args: &RunArgs) -> Result<Option<Learn>, Error> {
        if !args.learn {
            return Ok(None);
        }
        let depth = match args.learn_depth {
            None => None,
            Some(n) => Some(NonZeroUsize::new(n).ok_or_else(|| {
                Error::usage(
                    "--learn-depth must be at least 1: at 0 every path would become `/**`, which grants everything; leave it out for exact paths",
                )
            })?),
        };
        if let Some(out) = &args.learn_out {
            let dir = out
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !dir.is_dir() || out.is_dir() {
                return Err(Error::usage(format!(
                    "--learn-out {}: {} is not a directory to write the manifest in; name a file in an existing directory",
                    out.display(),
                    if out.is_dir() { out } else { dir }.display()
                )));
            }
        }
        Ok(Some(Learn {
            collector: Arc::default(),
            depth,
            out: args.learn_out.clone(),
        }))
    }

    /// The manifest a component without one runs under while it is learned: its name (from the
    /// file name), version 0.1.0, and no grant. `None` when `manifest` exists.
    pub(super) fn starter(component: &Path, manifest: &Path) -> Option<String> {
        if manifest.exists() {
            return None;
        }
        let stem = component.file_stem().and_then(|s| s.to_str()).unwrap_or("component");
        Some(format!(
            "[component]\nname = \"{}\"\nversion = \"0.1.0\"\n",
            airssys_wasm::manifest::component_name_from(stem)
        ))
    }

    /// After the run: the learned manifest of the first component (`loaded`, at `path`),
    /// written to `--learn-out` or standard output, with a warning for each thing it does not
    /// grant. `failed`: the run did not end well, so the manifest covers only what it did.
    pub(super) fn finish(
        &self,
        catalogue: &Catalogue,
        host: &Host,
        path: &Path,
        loaded: &Loaded,
        failed: bool,
    ) -> Result<(), Error> {
        let (Some(manifest), Some(binary)) = (&loaded.manifest, &loaded.binary) else {
            // Not reached: a component runs only with both loaded.
            eprintln!(
                "warning: learn: {} was not loaded with its manifest, so there is nothing to learn from; no manifest was written",
                path.display()
            );
            return Ok(());
        };
        let artifact = component::read(binary).map_err(|e| {
            Error::from(ErrorKind::InvalidComponent {
                path: path.to_path_buf(),
                message: e.message,
                offset: e.offset,
            })
        })?;
        let mut sources = Sources::new();
        let binary_id = sources.add_binary(path.display().to_string());
        let classified = check::classify(catalogue, &artifact, binary_id);
        let observations = self.collector.observations(&manifest.component.name);
        let learned = learn(&Learning {
            component: &path.display().to_string(),
            run: host.runtime().run_id(),
            manifest,
            functions: &classified.functions,
            observations: &observations,
            depth: self.depth,
            policies: &host.runtime().config().policies,
        });
        let left_out = self.collector.left_out();
        if left_out > 0 {
            eprintln!(
                "warning: learning kept the first {} distinct requests and left out {left_out}: the manifest does not allow them",
                Collector::MAX
            );
        }
        if failed {
            eprintln!(
                "warning: the run did not end well (see above): the learned manifest allows only what it did until then"
            );
        }
        for warning in &learned.warnings {
            eprintln!("warning: learn: {}", super::escape_control(warning));
        }
        self.write(&learned.manifest)
    }

    /// Writes the manifest: to `--learn-out` through a temporary file renamed into place (so
    /// that a failed write never leaves half a manifest), else to standard output.
    fn write(&self, text: &str) -> Result<(), Error> {
        let Some(out) = &self.out else {
            let mut stdout = std::io::stdout().lock();
            return stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| Error::write("standard output", e));
        };
        let name = out.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let tmp = out.with_file_name(format!(".{name}.learning-{}", std::process::id()));
        // A new file (never one found there, nor what a link there points at), renamed over
        // the destination once it is complete; removed if that fails.
        let mut file = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::write(&tmp, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, out))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::write(out, e)
            })?;
        eprintln!("learned manifest written to {}", out.display());
        Ok(())
    }
}

//! `agx-triage fix inspect|add|list`: the fix-version registry.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use agx_triage::fixes;

use super::{open_store, open_store_read, table, Cli, Exit};

#[derive(clap::Subcommand, Debug)]
pub enum FixCmd {
    /// Show a dylib's slices (arch, UUID, versions), install name, checksums and metadata.
    Inspect {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Register a fix build under a version name; links reports that loaded it.
    Add {
        path: PathBuf,
        /// Version name, e.g. v2.4.
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List registered fix versions.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// The fix's build metadata (a JSON object) as `key: value` fields, in the file's order of
/// keys as serde reads them: nested objects give dotted keys (`build.compiler`), arrays are
/// joined with `, `, strings are shown without quotes, null as `(none)`.
fn metadata_fields(v: &serde_json::Value) -> Vec<(String, String)> {
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "(none)".to_string(),
            serde_json::Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, x, out);
                }
            }
            other => out.push((
                if prefix.is_empty() {
                    "value".to_string()
                } else {
                    prefix.to_string()
                },
                scalar(other),
            )),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

pub fn run(cli: &Cli, cmd: &FixCmd) -> Result<Exit> {
    let json = match cmd {
        FixCmd::Inspect { json, .. } | FixCmd::Add { json, .. } | FixCmd::List { json } => *json,
    };
    let mut out = super::term::stdout(json);
    match cmd {
        FixCmd::Inspect { path, json } => {
            let info = fixes::inspect(path)?;
            if *json {
                super::term::print_json(&mut out, &info)?;
            } else {
                writeln!(out, "path:         {}", info.path)?;
                writeln!(out, "size:         {} bytes", info.size)?;
                writeln!(out, "sha256:       {}", info.sha256)?;
                writeln!(out, "md5:          {}", info.md5)?;
                writeln!(
                    out,
                    "install name: {}",
                    info.install_name.as_deref().unwrap_or("(none)")
                )?;
                let mut t = table();
                t.set_header(vec![
                    "arch",
                    "uuid",
                    "current version",
                    "compatibility version",
                ]);
                for s in &info.slices {
                    t.add_row(vec![
                        s.arch.clone(),
                        s.uuid.clone().unwrap_or_default(),
                        s.current_version.clone().unwrap_or_default(),
                        s.compatibility_version.clone().unwrap_or_default(),
                    ]);
                }
                writeln!(out, "{t}")?;
                match &info.metadata {
                    Some(m) => {
                        writeln!(out, "metadata:")?;
                        let fields = metadata_fields(m);
                        let width = fields.iter().map(|(k, _)| k.chars().count()).max();
                        for (k, v) in &fields {
                            let pad = width.unwrap_or(0).saturating_sub(k.chars().count());
                            writeln!(out, "  {k}:{} {v}", " ".repeat(pad))?;
                        }
                    }
                    None => writeln!(out, "metadata:     (none)")?,
                }
            }
            for w in &info.warnings {
                let _ = writeln!(super::term::stderr(), "agx-triage: warning: {w}");
            }
            Ok(Exit::Ok)
        }
        FixCmd::Add { path, name, json } => {
            let mut store = open_store(cli)?;
            let (record, o) = agx_triage::ops::fixes::register(&mut store, path, name)
                .with_context(|| format!("registering {name}"))?;
            if *json {
                super::term::print_json(&mut out, &o)?;
            } else {
                writeln!(
                    out,
                    "registered {name}{} ({} slice(s)); {} report(s) linked, {} round(s) recorded with this name",
                    if o.replaced { " (replaced)" } else { "" },
                    record.slices.len(),
                    o.linked_reports,
                    o.joined_rounds
                )?;
            }
            if !o.other_builds.is_empty() {
                // Image names and incident ids come from crash reports: through the escaping
                // stderr, like every other piece of report data.
                let mut err = super::term::stderr();
                let _ = writeln!(
                    err,
                    "agx-triage: warning: {} report(s) loaded a different build under this \
                     file name (other UUIDs); they are not {name}, and its checksums and UUIDs \
                     do not describe them:",
                    o.other_builds.len()
                );
                for b in &o.other_builds {
                    let _ = writeln!(
                        err,
                        "  report {} ({}): {} UUID {}",
                        b.report_id,
                        b.incident_id,
                        b.image,
                        b.uuid.as_deref().unwrap_or("(none)")
                    );
                }
            }
            Ok(Exit::Ok)
        }
        FixCmd::List { json } => {
            let store = open_store_read(cli)?;
            let list = store.list_fixes()?;
            if *json {
                super::term::print_json(&mut out, &list)?;
            } else {
                let mut t = table();
                t.set_header(vec![
                    "name", "version", "slices", "sha256", "reports", "rounds", "path",
                ]);
                for f in &list {
                    t.add_row(vec![
                        f.name.clone(),
                        f.slices
                            .first()
                            .and_then(|s| s.current_version.clone())
                            .unwrap_or_default(),
                        f.slices
                            .iter()
                            .map(|s| format!("{} {}", s.arch.as_deref().unwrap_or("?"), s.uuid))
                            .collect::<Vec<_>>()
                            .join("\n"),
                        f.sha256
                            .as_deref()
                            .map(|s| s.get(..16).unwrap_or(s))
                            .unwrap_or("")
                            .to_string(),
                        f.reports.to_string(),
                        f.rounds.to_string(),
                        f.path.clone().unwrap_or_default(),
                    ]);
                }
                writeln!(out, "{t}")?;
            }
            Ok(Exit::Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: `fix inspect` printed the metadata as raw pretty JSON.
    #[test]
    fn metadata_is_printed_as_fields() {
        let v = serde_json::json!({
            "version": "2.4",
            "mode": "per-encoder",
            "build": {"compiler": "clang 17", "flags": ["-O2", "-g"]},
            "commit": null,
            "patches": 3
        });
        let f = metadata_fields(&v);
        let get = |k: &str| f.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
        assert_eq!(get("version"), Some("2.4"));
        assert_eq!(get("build.compiler"), Some("clang 17"));
        assert_eq!(get("build.flags"), Some("-O2, -g"));
        assert_eq!(get("commit"), Some("(none)"));
        assert_eq!(get("patches"), Some("3"));
        assert!(f.iter().all(|(_, v)| !v.contains('{') && !v.contains('"')));
        assert_eq!(
            metadata_fields(&serde_json::json!("x")),
            [("value".into(), "x".into())]
        );
    }
}

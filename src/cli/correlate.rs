//! `agx-triage correlate --pattern ID | --signature SIG`: which attribute values set a bucket's
//! crashes apart from the other crashes (counts from the store, Fisher's exact p and a
//! Benjamini-Hochberg q from `agx_triage::stats::correlate`).

use std::io::Write;

use anyhow::{bail, Result};

use agx_triage::ops::correlate::correlate_bucket;
use agx_triage::store::BucketRef;
use agx_triage::writeup::wording::p_value as p_text;

use super::{ellipsize, open_store_read, table, Cli, Exit};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("bucket").required(true).args(["pattern", "signature"])))]
pub struct Args {
    /// The bucket: a known-pattern rule id (see `agx-triage buckets`).
    #[arg(long, value_name = "ID")]
    pattern: Option<String>,
    /// The bucket: a signature, exactly as `agx-triage buckets` shows it.
    #[arg(long, value_name = "SIG")]
    signature: Option<String>,
    /// Show at most this many rows (JSON lists all).
    #[arg(long, default_value_t = 30, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    limit: u64,
    /// Print a JSON list.
    #[arg(long)]
    json: bool,
}

fn share(k: u64, n: u64) -> String {
    if n == 0 {
        "-".into()
    } else {
        format!("{k}/{n} ({:.0}%)", 100.0 * k as f64 / n as f64)
    }
}

pub fn run(cli: &Cli, a: &Args) -> Result<Exit> {
    let bucket = match (&a.pattern, &a.signature) {
        (Some(p), _) => BucketRef::Pattern(p.clone()),
        (None, Some(s)) => BucketRef::Signature(s.clone()),
        (None, None) => bail!("give --pattern ID or --signature SIG"),
    };
    let store = open_store_read(cli)?;
    let rows = correlate_bucket(&store, &bucket)?;
    let mut out = super::term::stdout(a.json);
    if a.json {
        super::term::print_json(&mut out, &rows)?;
        return Ok(Exit::Ok);
    }
    let mut t = table();
    t.set_header(vec![
        "attribute",
        "value",
        "in bucket",
        "elsewhere",
        "p",
        "q (BH)",
    ]);
    for r in rows
        .iter()
        .take(usize::try_from(a.limit).unwrap_or(usize::MAX))
    {
        t.add_row(vec![
            ellipsize(&r.attribute, 40),
            ellipsize(&r.value, 40),
            share(r.in_bucket, r.bucket_total),
            share(r.elsewhere, r.elsewhere_total),
            p_text(r.p_value),
            p_text(r.q_value),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "{} attribute value(s) tested{}; Fisher's exact test (two-sided), q: Benjamini-Hochberg \
         over all of them. A small q is a correlation, not a cause.",
        rows.len(),
        if rows.len() as u64 > a.limit {
            format!(", {} shown (--limit)", a.limit)
        } else {
            String::new()
        }
    )?;
    Ok(Exit::Ok)
}

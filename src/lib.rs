//! agx-triage: triage macOS crash reports from AGX (Apple GPU driver) races.
//!
//! The pipeline (docs/ARCHITECTURE.md): [`crash`] parses `.ips` and `.crash` files into one model,
//! [`symbols`] fills in missing frame names by Mach-O UUID, [`bucket`] computes signatures and
//! names known patterns, [`store`] keeps everything in SQLite, [`rounds`] records verification
//! rounds ([`host`] says which machine ran them), [`fixes`] registers fix dylib builds,
//! [`stats`] provides the statistics and [`writeup`] renders markdown writeups; [`ops`] is the glue a command runs, between the
//! binary and these modules. The library never prints; the `agx-triage` binary
//! (`src/cli/`) is the only place that does.

pub mod bucket;
pub mod crash;
pub mod fixes;
pub mod host;
pub mod ingest;
pub mod ops;
pub mod rounds;
pub mod stats;
pub mod store;
pub mod symbols;
pub mod writeup;

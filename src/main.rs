//! The `agx-triage` binary: parses arguments, calls the library, maps errors to exit codes.
//!
//! Exit codes: 0 success; 1 some inputs failed (the rest was done); 2 fatal (bad arguments,
//! database unusable, nothing could be done). A closed stdout (`agx-triage reports | head`) is
//! not an error.

mod cli;

// mimalloc: parsing allocates and frees a few thousand small strings per report, in several
// threads. Measured on the bench reports, the `.ips` parse runs ~15% faster than with glibc's
// allocator. Its version 2 (Cargo.toml says why).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::main());
}

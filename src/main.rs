//! The `agx-triage` binary: parses arguments, calls the library, maps errors to exit codes.
//!
//! Exit codes: 0 success; 1 some inputs failed (the rest was done); 2 fatal (bad arguments,
//! database unusable, nothing could be done). A closed stdout (`agx-triage reports | head`) is
//! not an error.

mod cli;

fn main() {
    std::process::exit(cli::main());
}

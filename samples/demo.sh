#!/usr/bin/env bash
# The README demo: build agx-triage and run the whole loop on the project's own samples:
# ingest the sample crash reports, show the buckets, import the sample verification rounds,
# compare two blocks and write the verification writeup with its charts.
#
# The demo keeps a database of its own (agx-triage/demo/agx-triage-demo.db in the platform data
# folder), so its fictitious reports and rounds never mix with yours; your database (default,
# $AGX_TRIAGE_DB or --db) is not touched. Running it again is harmless: what is stored already
# stays as it is. AGX_TRIAGE_BIN runs an agx-triage built elsewhere instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${AGX_TRIAGE_BIN:-}" ]; then
    bin=$AGX_TRIAGE_BIN
else
    cargo build --release --quiet
    bin=target/release/agx-triage
fi

# The platform data folder, as agx-triage finds it (directories crate rules).
if [ "$(uname -s)" = Darwin ]; then
    data="$HOME/Library/Application Support/agx-triage"
else
    data="${XDG_DATA_HOME:-$HOME/.local/share}/agx-triage"
fi
demo="$data/demo"
db="$demo/agx-triage-demo.db"
out="$demo/writeup"
mkdir -p "$demo"
# Every command names the demo database, whatever AGX_TRIAGE_DB says.
t() { "$bin" --db "$db" "$@"; }

# Bold headings on a terminal only; a log file or pipe gets plain text.
if [ -t 1 ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi

printf 'The demo database is %s\n' "$db"

step "agx-triage ingest samples/reports"
# Exit 1 means some files failed (each is listed); the rest is ingested.
t ingest samples/reports || [ $? -eq 1 ]

step "agx-triage buckets"
t buckets

step "agx-triage round import samples/rounds.jsonl"
t round import samples/rounds.jsonl

step "agx-triage compare --a rounds:1790-1819 --b rounds:1820-1849"
t compare --a rounds:1790-1819 --b rounds:1820-1849

step "agx-triage report --rounds 1820-1849 --against 1790-1819 --out $out"
t report --rounds 1820-1849 --against 1790-1819 --out "$out"

printf '\nThe writeup is %s/report.md (charts beside it).\n' "$out"
printf 'Explore the demo database with --db, e.g.:\n'
printf '  agx-triage --db "%s" reports\n' "$db"
printf '  agx-triage --db "%s" rounds --select rounds:1820-1849\n' "$db"
printf '  agx-triage --db "%s" show 1\n' "$db"
printf 'Delete the folder %s to remove the demo.\n' "$demo"

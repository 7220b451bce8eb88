#!/usr/bin/env bash
# The README demo: build agx-triage and run the whole loop on the project's own samples with
# the default database (the platform data folder, or $AGX_TRIAGE_DB / --db if you set one):
# ingest the sample crash reports, show the buckets, import the sample verification rounds,
# compare two blocks and write the verification writeup with its charts.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=target/release/agx-triage
out=target/demo-writeup

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "agx-triage ingest samples/reports"
# Exit 1 means some files failed (each is listed); the rest is ingested.
"$bin" ingest samples/reports || [ $? -eq 1 ]

step "agx-triage buckets"
"$bin" buckets

step "agx-triage round import samples/rounds.jsonl"
"$bin" round import samples/rounds.jsonl

step "agx-triage compare --a rounds:1790-1819 --b rounds:1820-1849"
"$bin" compare --a rounds:1790-1819 --b rounds:1820-1849

step "agx-triage report --rounds 1820-1849 --against 1790-1819 --out $out"
"$bin" report --rounds 1820-1849 --against 1790-1819 --out "$out"

printf '\nThe writeup is %s/report.md (charts beside it).\n' "$out"

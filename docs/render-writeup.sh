#!/usr/bin/env bash
# Render a writeup folder's report.md to HTML (SVG charts beside it) and screenshot it with
# headless Chromium, to look at a writeup the way a reader will.
#
#   docs/render-writeup.sh DIR [OUT.png]            # DIR holds report.md and its *.svg
#   docs/render-writeup.sh --sample DIR [OUT.png]   # first write the test writeup into DIR
#
# Needs: cargo (for the md2html example), chromium (apt-get install -y chromium).
# The PNG is for looking at, not for committing.
set -euo pipefail
cd "$(dirname "$0")/.."

sample=0
if [[ "${1:-}" == "--sample" ]]; then
    sample=1
    shift
fi
dir=${1:?usage: docs/render-writeup.sh [--sample] DIR [OUT.png]}
out=${2:-$dir/report.png}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

if [[ $sample == 1 ]]; then
    # The integration test builds the realistic writeup and keeps it when told where.
    AGX_TRIAGE_WRITEUP_OUT="$dir" cargo test --quiet --test writeup_render writes_a_folder \
        >/dev/null
fi
[[ -f "$dir/report.md" ]] || { echo "no report.md in $dir" >&2; exit 1; }

cargo run --quiet --example md2html -- "$dir/report.md" "$dir/report.html"

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n "$browser" ]] || { echo "chromium not found (apt-get install -y chromium)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --screenshot="$out" \
    --window-size="${WINDOW_SIZE:-1200,3000}" "file://$dir/report.html" 2>/dev/null
echo "$out"

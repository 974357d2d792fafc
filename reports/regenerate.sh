#!/usr/bin/env bash
# Regenerates the committed examples in reports/demo from the bundled sample:
#   report.md, report.html, report.json  the incident report (`retrace report`, latest breach)
#   digest.md, digest.html, digest.json  the weekly digest of the incident's week
#   report.png                           a screenshot of report.html (headless Chromium)
# tests/demo.rs fails when the text files differ from what the code produces; the PNG is
# a preview only (browser rendering varies by version and is not compared).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -- -q demo --out reports/demo >/dev/null
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
    echo "chromium not found: reports/demo/report.png not refreshed (apt-get install chromium)" >&2
    exit 0
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2200 \
    --screenshot="$PWD/reports/demo/report.png" "file://$PWD/reports/demo/report.html" 2>/dev/null
echo "reports/demo regenerated"

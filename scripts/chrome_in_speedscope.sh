#!/usr/bin/env bash
# Load a `--format chrome` trace (or a `--format folded` file) in a real viewer and take its
# picture: speedscope (npm) in
# Debian's Chromium, headless. Not part of the tests (it needs Chromium: apt-get install
# chromium). Usage: bash scripts/chrome_in_speedscope.sh TRACE.trace.json OUT.png
set -euo pipefail
trace=$(realpath "$1"); out=$(realpath -m "$2")
work=$(mktemp -d); trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
(cd "$work" && npm pack -q speedscope@1.25.0 >/dev/null && tar xzf speedscope-*.tgz)
site="$work/package/dist/release"
cp "$trace" "$site/trace.json"
python3 -m http.server 18556 --bind 127.0.0.1 --directory "$site" >/dev/null 2>&1 &
server=$!
sleep 1
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,560 \
  --virtual-time-budget=8000 --screenshot="$out" \
  "http://127.0.0.1:18556/index.html#profileURL=http://127.0.0.1:18556/trace.json" 2>/dev/null
echo "$out"

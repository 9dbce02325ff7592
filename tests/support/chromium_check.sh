#!/usr/bin/env bash
# Opens an HTML file in headless Chromium (Debian's chromium package): writes a screenshot and a
# PDF print of it, and fails when the page logged anything to the console (an error, an uncaught
# exception, a script where the report has none) or when either file was not written.
#   usage: chromium_check.sh PAGE.html SCREENSHOT.png PRINT.pdf
set -uo pipefail
page=$(realpath "$1")
png=$2
pdf=$3
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$browser" ]] || { echo "chromium_check: chromium is not installed (scripts/install-deps)"; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
common=(--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$profile" --enable-logging=stderr --v=0
        --virtual-time-budget=3000)
log=$(timeout 120 "$browser" "${common[@]}" --window-size=1280,2400 --screenshot="$png" "file://$page" 2>&1)
rc=$?
log+=$'\n'$(timeout 120 "$browser" "${common[@]}" --no-pdf-header-footer --print-to-pdf="$pdf" "file://$page" 2>&1)
status=0
if [[ $rc -ne 0 || ! -s "$png" ]]; then echo "chromium_check: no screenshot (exit $rc)"; status=1; fi
if [[ ! -s "$pdf" ]] || [[ "$(head -c 4 "$pdf")" != "%PDF" ]]; then echo "chromium_check: no PDF"; status=1; fi
console=$(grep -E ":CONSOLE[:(]" <<<"$log" || true)
if [[ -n "$console" ]]; then
  echo "chromium_check: the page logged to the console:"
  echo "$console"
  status=1
fi
exit $status

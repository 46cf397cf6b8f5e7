#!/usr/bin/env bash
# Renders an HTML report in headless Chromium and checks its charts made it into the DOM:
# at least one <svg class="chart">, every chart with at least one <path data-series=...>, and every such
# path with a non-empty d attribute. Also writes a PNG screenshot of the page (window SCREENSHOT_SIZE) to look at.
#
# usage: scripts/check-report.sh REPORT.html [SCREENSHOT.png]   (default screenshot: REPORT.png)
# CHROMIUM overrides the browser binary, SCREENSHOT_SIZE the window (default 1200,3000).
# Exit status: 0 charts rendered, 1 check failed, 2 usage error or no browser.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 REPORT.html [SCREENSHOT.png]" >&2
    exit 2
fi
report=$1
screenshot=${2:-${report%.html}.png}
if [[ ! -f $report ]]; then
    echo "check-report: no such report: $report" >&2
    exit 2
fi

browser=${CHROMIUM:-}
if [[ -z $browser ]]; then
    for candidate in chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then browser=$(command -v "$candidate"); break; fi
    done
fi
if [[ -z $browser || ! -x $browser ]]; then
    echo "check-report: chromium not found${browser:+ at $browser}; install it (Debian: apt-get install -y chromium) or set CHROMIUM=/path/to/chromium" >&2
    exit 2
fi

profile=$(mktemp -d)
dom=$(mktemp)
trap 'rm -rf "$profile" "$dom"' EXIT
# Offline, throwaway profile: the report must not need the network, and a shared profile would lock.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars "--user-data-dir=$profile")
url="file://$(realpath "$report")"

if ! timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$dom" 2>/dev/null; then
    echo "check-report: $browser failed to load $url" >&2
    exit 1
fi

# One record per chart: split the DOM at </svg> and look at the <svg class="chart"...> each record opens.
summary=$(awk 'BEGIN { RS = "</svg>"; charts = 0; bad = 0 }
    match($0, /<svg[^>]*class="chart"[^>]*>/) {
        svg = substr($0, RSTART, RLENGTH); chart = svg
        sub(/.*data-chart="/, "", chart); sub(/".*/, "", chart)
        if (chart == svg) chart = "(no data-chart)"
        charts++; rest = substr($0, RSTART + RLENGTH); series = 0
        while (match(rest, /<path[^>]*>/)) {
            tag = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
            if (tag !~ /data-series="/) continue
            series++
            if (tag !~ / d="[^"]+"/) { print "chart " chart ": a series path has an empty or missing d attribute"; bad++ }
        }
        if (series == 0) { print "chart " chart ": no <path data-series> lines"; bad++ }
        names = names " " chart
    }
    END { print "charts=" charts " bad=" bad " kinds:" names }' "$dom")

status_line=$(tail -n 1 <<<"$summary")
problems=$(head -n -1 <<<"$summary")
if [[ $status_line == charts=0\ * ]]; then
    echo "check-report: no <svg class=\"chart\"> in the rendered DOM of $report" >&2
    exit 1
fi
if [[ $status_line != *" bad=0 "* ]]; then
    echo "check-report: charts in $report did not render correctly:" >&2
    echo "$problems" >&2
    exit 1
fi

if ! timeout 120 "$browser" "${flags[@]}" "--window-size=${SCREENSHOT_SIZE:-1200,3000}" "--screenshot=$(realpath -m "$screenshot")" "$url" >/dev/null 2>&1 \
    || [[ ! -s $screenshot ]]; then
    echo "check-report: $browser did not write the screenshot $screenshot" >&2
    exit 1
fi
echo "check-report: ok, $status_line; screenshot $screenshot"

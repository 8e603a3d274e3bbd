#!/usr/bin/env bash
# The app's resident size (issue 12, item 4): VmRSS from /proc of the release app in a real
# window under Xvfb, on the login form (the empty app) and 10 s after logging in to a
# separate `tb-monitor demo-server` (60 devices at 1 Hz, the default), so that the server's
# memory is not counted. Helpers and method: scripts/perf/idle_cpu.sh.
#   scripts/perf/rss.sh [SECS]   (default 10: the wait after the logged-in view is drawn)
# Prints `RESULT name value unit` lines (KiB).
set -euo pipefail
# shellcheck source=scripts/perf/idle_cpu.sh
PERF_LIB=1 source "$(dirname "$0")/idle_cpu.sh"

secs=${1:-10}
perf_xvfb "$@"

vm() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

start_server 60 1
"$perf_bin" --server "$server_url" --user tenant@thingsboard.org >"$PERF_TMP/empty.log" 2>&1 &
empty_pid=$!
perf_pids+=("$empty_pid")
wait_window "$empty_pid"
wait_colours "$empty_pid" 32
sleep "$secs"
echo "RESULT rss_login_form $(vm "$empty_pid" VmRSS) KiB"
kill "$empty_pid"
wait "$empty_pid" 2>/dev/null || true

start_logged_in "$server_url"
sleep "$secs"
echo "RESULT rss_logged_in $(vm "$app_pid" VmRSS) KiB"
echo "RESULT rss_logged_in_peak $(vm "$app_pid" VmHWM) KiB"

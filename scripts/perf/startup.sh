#!/usr/bin/env bash
# Start-up time of the release app (issue 12, item 6): `tb-monitor --demo` in a real window
# under Xvfb, from the process start to
#   window: a tb-monitor window exists (xdotool, polled every 20 ms);
#   frame:  the first painted frame, more than 32 colours on screen (as .ci/smoke.sh);
#   live:   live data from the (embedded) demo server painted: the logged-in entity table
#           with its values, more than 300 colours (as .ci/smoke.sh). No log line marks the
#           socket going live (nothing is logged at info or debug; tungstenite's trace lines
#           are filtered out as secret-bearing by src/logging.rs), so the screen tells.
# The screenshots that detect frames cost CPU too and take ~0.1 s each, so frame and live are
# upper bounds by about that much. Median of RUNS runs (default 5), each a fresh process.
#   scripts/perf/startup.sh [RUNS]
# Prints `RESULT name value unit` lines. Helpers: scripts/perf/idle_cpu.sh.
set -euo pipefail
# shellcheck source=scripts/perf/idle_cpu.sh
PERF_LIB=1 source "$(dirname "$0")/idle_cpu.sh"

runs=${1:-5}
perf_xvfb "$@"

declare -a window_ms frame_ms live_ms
for ((run = 0; run < runs; run++)); do
  log=$PERF_TMP/startup.$run.log
  t0=$(now_ms)
  "$perf_bin" --demo >"$log" 2>&1 &
  pid=$!
  perf_pids+=("$pid")
  wait_window "$pid"
  window_ms+=($(($(now_ms) - t0)))
  xdotool mousemove 1279 799
  wait_colours "$pid" 32
  frame_ms+=($(($(now_ms) - t0)))
  wait_colours "$pid" 300
  live_ms+=($(($(now_ms) - t0)))
  echo "startup run $((run + 1)): window ${window_ms[-1]} ms, frame ${frame_ms[-1]} ms," \
    "live data ${live_ms[-1]} ms" >&2
  perf_cleanup
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "RESULT startup_window $(median "${window_ms[@]}") ms"
echo "RESULT startup_frame $(median "${frame_ms[@]}") ms"
echo "RESULT startup_live $(median "${live_ms[@]}") ms"

#!/usr/bin/env bash
# Idle CPU of the release app in a real window under Xvfb (issue 12, item 5).
#   scripts/perf/idle_cpu.sh [SECS]      (default 30; TB_MONITOR_BIN overrides target/release/tb-monitor)
# Two runs, each against its own `tb-monitor demo-server` on a free loopback port, the app logged
# in to it through its login form (typed with xdotool: `--demo` always simulates 60 devices at
# 1 Hz and has no switch to stop, and `--server` has no password option):
#   quiet:  60 devices at 0.0001 Hz (the server refuses a rate of 0): about one point a minute
#           in all, so nothing but the app's own timers wakes it.
#   loaded: 1,000 devices at 10 Hz; the app's default query pages 100 devices, so about
#           1,000 update messages/s reach it. `watch` with the app's own query counts them.
# CPU is utime+stime from /proc/PID/stat over SECS of wall time, pointer off the window, after
# the logged-in view is drawn and 3 s of settling. Prints `RESULT name value unit` lines.
#
# Sourced with PERF_LIB=1 (by rss.sh and startup.sh), it only defines the helpers below.
set -euo pipefail

perf_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
perf_bin=${TB_MONITOR_BIN:-$perf_root/target/release/tb-monitor}
# Deadline (s) for each wait: window, frame, login, server start.
perf_deadline=${PERF_DEADLINE_S:-60}

# Milliseconds since the epoch.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
fail() {
  echo "perf: FAILED: $*" >&2
  if [[ -n ${PERF_TMP:-} ]]; then
    import -window root "$perf_root/target/perf-failed.png" 2>/dev/null || true
    tail -n 5 "$PERF_TMP"/*.log >&2 2>/dev/null || true
  fi
  exit 1
}

# Re-runs the calling script inside a fresh Xvfb with a throwaway HOME (never real settings,
# logs or keyrings) and a session bus address that leads nowhere. Call as `perf_xvfb "$@"`.
perf_xvfb() {
  [[ -n ${PERF_INSIDE:-} ]] && return 0
  for tool in xvfb-run xauth import convert xdotool; do
    command -v "$tool" >/dev/null || fail "$tool missing: apt-get install xvfb xauth imagemagick xdotool"
  done
  if [[ ! -x $perf_bin ]]; then
    (cd "$perf_root" && cargo build --release --bin tb-monitor) || fail "cannot build tb-monitor"
  fi
  local tmp status=0
  tmp=$(mktemp -d)
  export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share \
    XDG_CACHE_HOME=$tmp/home/.cache XDG_STATE_HOME=$tmp/home/.local/state \
    DBUS_SESSION_BUS_ADDRESS=unix:path=$tmp/no-session-bus PERF_INSIDE=1 PERF_TMP=$tmp
  mkdir -p "$HOME"
  timeout "${PERF_TIMEOUT_S:-900}" xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$@" || status=$?
  rm -rf "$tmp"
  exit "$status"
}

# Kills what the script started (by pid) on exit.
perf_pids=()
perf_cleanup() {
  local p
  for p in "${perf_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${perf_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  perf_pids=()
}
trap perf_cleanup EXIT

# start_server DEVICES RATE: a demo server on a free port; sets server_pid and server_url.
start_server() {
  local out=$PERF_TMP/server.$RANDOM.out deadline=$((SECONDS + perf_deadline))
  "$perf_bin" --log-level warn demo-server --bind 127.0.0.1:0 --devices "$1" --rate "$2" >"$out" 2>&1 &
  server_pid=$!
  perf_pids+=("$server_pid")
  server_url=
  until [[ -n $server_url ]]; do
    kill -0 "$server_pid" 2>/dev/null || fail "demo-server exited: $(cat "$out")"
    ((SECONDS < deadline)) || fail "demo-server not up within ${perf_deadline} s"
    sleep 0.1
    server_url=$(sed -n 's/^tb-monitor demo server: \(http[^ ]*\).*/\1/p' "$out")
  done
}

# Colours in a screenshot of the whole screen (a blank window has one or two).
colours() {
  import -window root "$PERF_TMP/shot.png" && convert "$PERF_TMP/shot.png" -format %k info:
}

# wait_window PID: until a tb-monitor window exists; sets window.
wait_window() {
  local deadline=$((SECONDS + perf_deadline))
  until window=$(xdotool search --name '^tb-monitor' 2>/dev/null | head -n 1) && [[ -n $window ]]; do
    kill -0 "$1" 2>/dev/null || fail "the app exited before opening its window"
    ((SECONDS < deadline)) || fail "no window within ${perf_deadline} s"
    sleep 0.05
  done
}

# wait_colours PID MIN: until the screen shows more than MIN colours (32: a drawn frame;
# 300: the logged-in entity table, as in .ci/smoke.sh).
wait_colours() {
  local deadline=$((SECONDS + perf_deadline)) n
  while :; do
    kill -0 "$1" 2>/dev/null || fail "the app exited while waiting for $2 colours"
    n=$(colours)
    ((n > $2)) && return 0
    ((SECONDS < deadline)) || fail "only $n colours after ${perf_deadline} s (wanted > $2)"
    sleep 0.1
  done
}

# start_logged_in URL: the app opened on URL's login form, the demo tenant's password typed
# into it, waited until the entity table is drawn; sets app_pid. The password field's place
# is the login form's layout with the keychain notice (no session bus): the window's centre
# + 35 px, 262 px from its top.
start_logged_in() {
  "$perf_bin" --server "$1" --user tenant@thingsboard.org >"$PERF_TMP/app.log" 2>&1 &
  app_pid=$!
  perf_pids+=("$app_pid")
  wait_window "$app_pid"
  wait_colours "$app_pid" 32
  local x y w h
  eval "$(xdotool getwindowgeometry --shell "$window" | grep -E '^(X|Y|WIDTH|HEIGHT)=')"
  x=$((X + WIDTH / 2 + 35)) y=$((Y + 262)) w=$WIDTH h=$HEIGHT
  ((w > 0 && h > 0)) || fail "window geometry unknown"
  # No window manager: give the window keyboard focus, and let each event land in its own frame.
  xdotool windowfocus --sync "$window"
  xdotool mousemove "$x" "$y"
  sleep 0.3
  xdotool click 1
  sleep 0.5
  xdotool type --delay 30 tenant
  sleep 0.2
  xdotool key Return
  xdotool mousemove 1279 799
  wait_colours "$app_pid" 300
}

# cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15, counted after the comm).
cpu_ticks() {
  local stat rest
  stat=$(<"/proc/$1/stat")
  rest=${stat##*) }
  read -ra f <<<"$rest"
  echo $((f[11] + f[12]))
}

# cpu_percent PID SECS: % of one core used over SECS of wall time.
cpu_percent() {
  local hz t0 c0 t1 c1
  hz=$(getconf CLK_TCK)
  t0=$(now_ms) c0=$(cpu_ticks "$1")
  sleep "$2"
  t1=$(now_ms) c1=$(cpu_ticks "$1")
  awk -v c="$((c1 - c0))" -v hz="$hz" -v ms="$((t1 - t0))" 'BEGIN { printf "%.2f", 100 * c / hz / (ms / 1000) }'
}

[[ -n ${PERF_LIB:-} ]] && return 0

secs=${1:-30}
perf_xvfb "$@"

# measure NAME DEVICES RATE
measure() {
  start_server "$2" "$3"
  start_logged_in "$server_url"
  sleep 3
  echo "RESULT idle_cpu_$1 $(cpu_percent "$app_pid" "$secs") %core"
  # What the app's own query brings per second (watch prints one line per message; the
  # first lines are the initial data pages, not updates).
  local n
  n=$(printf 'tenant\n' | timeout 30 "$perf_bin" --log-level warn watch --server "$server_url" \
    --user tenant@thingsboard.org --password-stdin \
    --query "$perf_root/assets/queries/app_default.json" --seconds 5 2>/dev/null | wc -l) || true
  echo "RESULT idle_msgs_$1 $(awk -v n="$n" 'BEGIN { printf "%.1f", n / 5 }') msgs/s"
  perf_cleanup
}
measure quiet 60 0.0001
measure loaded 1000 10

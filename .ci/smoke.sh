#!/usr/bin/env bash
# Smoke test: the real binary `tb-monitor --demo` opens a window under Xvfb, draws something
# and stays alive. Saves the screenshot as target/smoke.png.
#   .ci/smoke.sh                 (TB_MONITOR_BIN=path overrides $CARGO_TARGET_DIR/debug/tb-monitor)
# Needs Debian packages: xvfb xauth (xvfb-run), imagemagick (import, convert), xdotool, and the
# GL/X11 runtime libraries listed in .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Seconds for the window and a drawn frame (SMOKE_DEADLINE_S overrides, e.g. to test a failure).
deadline_s=${SMOKE_DEADLINE_S:-60}
export SMOKE_DEADLINE_S=$deadline_s
# Milliseconds since the epoch, for timings finer than $SECONDS.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# Second stage, inside xvfb-run: start the app, wait for its window and a drawn frame.
if [[ ${1:-} == --inside ]]; then
  bin=$2 log=$3 shot=$4
  t0=$(now_ms)
  "$bin" --demo >"$log" 2>&1 &
  pid=$!
  fail() {
    echo "smoke: FAILED: $*" >&2
    import -window root "$shot" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "---- tb-monitor output ----" >&2
    cat "$log" >&2
    echo "---------------------------" >&2
    exit 1
  }
  deadline=$((SECONDS + deadline_s))
  # The window: polled so that an app that dies early fails at once, not after the deadline.
  until xdotool search --name '^tb-monitor' >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "the app exited before opening its window"
    ((SECONDS < deadline)) || fail "no tb-monitor window within ${deadline_s} s"
    sleep 0.2
  done
  echo "smoke: window up after $(($(now_ms) - t0)) ms"
  # Keep the pointer off the UI so no hover state is drawn.
  xdotool mousemove 1279 799
  # A drawn frame: a blank or cleared window has one or two colours, text and widgets many.
  colours=0
  while :; do
    kill -0 "$pid" 2>/dev/null || fail "the app exited after opening its window"
    import -window root "$shot"
    colours=$(convert "$shot" -format %k info:)
    ((colours > 32)) && break
    ((SECONDS < deadline)) || fail "the window shows only $colours colours after ${deadline_s} s"
    sleep 0.2
  done
  echo "smoke: drawn after $(($(now_ms) - t0)) ms ($colours colours)"
  # Then, for a screenshot of the logged-in view (`--demo` logs in by itself): wait up to 15 s
  # for a much richer frame (the login screen has ~150 colours, the entity table ~600). Only a
  # heuristic, so not reaching it is a warning; the app dying meanwhile is a failure.
  settle=$((SECONDS + 15))
  while ((colours < 300 && SECONDS < settle)); do
    sleep 0.2
    kill -0 "$pid" 2>/dev/null || fail "the app exited after drawing"
    import -window root "$shot"
    colours=$(convert "$shot" -format %k info:)
  done
  if ((colours < 300)); then
    echo "smoke: WARNING: still a sparse frame ($colours colours) after 15 s: not logged in yet?"
  else
    echo "smoke: main view after $(($(now_ms) - t0)) ms ($colours colours)"
  fi
  kill -0 "$pid" 2>/dev/null || fail "the app exited after drawing"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  exit 0
fi

bin=${TB_MONITOR_BIN:-${CARGO_TARGET_DIR:-target}/debug/tb-monitor}
if [[ ! -x $bin ]]; then
  echo "smoke: $bin missing, building it"
  cargo build --bin tb-monitor
fi
for tool in xvfb-run xauth import convert xdotool; do
  command -v "$tool" >/dev/null || {
    echo "smoke: $tool is missing: apt-get install xvfb xauth imagemagick xdotool" >&2
    exit 2
  }
done

# Never touch real settings, logs or keyrings: a fresh HOME and XDG dirs, and a session bus
# address that leads nowhere (the keychain then fails fast; the app still runs).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share \
  XDG_CACHE_HOME=$tmp/home/.cache XDG_STATE_HOME=$tmp/home/.local/state
export DBUS_SESSION_BUS_ADDRESS=unix:path=$tmp/no-session-bus
mkdir -p "$HOME"
mkdir -p target
shot=$PWD/target/smoke.png
log=$tmp/tb-monitor.log

started=$(now_ms)
# xvfb-run waits for the server itself; our own deadlines bound the rest (plus a hard cap).
timeout $((deadline_s + 30)) xvfb-run -a -s "-screen 0 1280x800x24" \
  "$0" --inside "$(realpath "$bin")" "$log" "$shot"
echo "smoke: passed in $(($(now_ms) - started)) ms (Xvfb start included), screenshot $shot"

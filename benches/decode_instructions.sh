#!/usr/bin/env bash
# Instruction counts of decoding the benchmark corpus once, typed vs serde_json::Value,
# measured with callgrind (exact and repeatable, unlike wall-clock time on a shared machine).
# Usage: benches/decode_instructions.sh        (needs valgrind; builds the bench in release)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
cargo bench --bench decode --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/decode-* | grep -v '\.d$' | head -n 1)
count() {
  local out; out=$(mktemp)
  TB_DECODE_ONCE=$1 valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"; rm -f "$out"
}
none=$(count none); typed=$(count typed); value=$(count value)
python3 - "$none" "$typed" "$value" <<'PY'
import sys
none, typed, value = (int(x) for x in sys.argv[1:])
t, v = typed - none, value - none
print(f"| decoder | instructions per message | ratio |")
print(f"|---|---|---|")
print(f"| serde_json::Value | {v/10000:,.0f} | 1.00 |")
print(f"| typed ServerMessage::from_json | {t/10000:,.0f} | {v/t:.2f}x fewer |")
PY

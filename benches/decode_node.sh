#!/usr/bin/env bash
# Decode of the mixed message corpus (issue 12, item 1): typed ServerMessage::from_json and
# serde_json::Value (criterion, `cargo bench --bench decode -- decode_mixed`) against Node's
# JSON.parse of exactly the same bytes (benches/node_parse.js), as markdown table rows.
# Usage: benches/decode_node.sh [criterion args, e.g. --warm-up-time 1 --measurement-time 3]
# Set TB_DECODE_REUSE=1 to skip criterion and read its last results; NODE=path picks the node
# binary. Without node the Node row is skipped with a note (exit status 0).
# MB/s are 10^6 bytes a second; msgs/s and MB/s are from criterion's median time per corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=target/decode_corpus.jsonl
bin=$(cargo bench --bench decode --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p')
[ -x "$bin" ] || { echo "could not build the decode bench" >&2; exit 2; }
TB_DECODE_CORPUS_OUT=$corpus "$bin"
if [ "${TB_DECODE_REUSE:-0}" != 1 ]; then
  cargo bench --bench decode -- decode_mixed "$@" >&2
fi
node_json=""
node=${NODE:-node}
if command -v "$node" >/dev/null; then
  node_json=$("$node" benches/node_parse.js "$corpus")
fi
echo "machine: $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
python3 - "$corpus" "$node_json" <<'PY'
import json, sys
corpus, node_json = sys.argv[1], sys.argv[2]
with open(corpus, "rb") as f:
    lines = [l for l in f.read().split(b"\n") if l]
msgs, size = len(lines), sum(len(l) for l in lines)
def criterion(name):
    with open(f"target/criterion/decode_mixed/{name}/new/estimates.json") as f:
        return json.load(f)["median"]["point_estimate"] / 1e9  # seconds per corpus
rows = [("typed `ServerMessage::from_json`", criterion("typed_ServerMessage")),
        ("`serde_json::Value`", criterion("serde_json_Value"))]
if node_json:
    node = json.loads(node_json)
    assert node["msgs"] == msgs and node["bytes"] == size, "node parsed other bytes"
    rows.append((f"Node {node['node']} `JSON.parse`", node["median_ms"] / 1e3))
anchor = rows[-1][1] if node_json else None
print(f"corpus: {msgs} messages, {size} bytes ({size / msgs:.0f} B/message)")
print()
print("| decoder | msgs/s | MB/s | time per corpus | typed / this |")
print("|---|---|---|---|---|")
typed = rows[0][1]
for name, secs in rows:
    print(f"| {name} | {msgs / secs / 1e3:,.0f} k | {size / secs / 1e6:,.0f} | {secs * 1e3:.1f} ms | {secs / typed:.2f}x |")
if anchor is None:
    print()
    print("node not found: skipped")
else:
    ratio = anchor / typed
    print()
    print(f"typed / Node: **{ratio:.2f}x** (goal: at least 2x) — {'met' if ratio >= 2 else 'missed'}")
PY

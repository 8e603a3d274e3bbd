#!/usr/bin/env bash
# Demo server load: runs `tb-monitor demo-server --devices N --rate HZ` (release build) for
# SECS seconds with one loopback client subscribed to the latest values of PAGE devices, then
# prints the server's own simulation report (points/s, tick time), its CPU time and RSS.
# Usage: benches/demo_load.sh [DEVICES=10000] [RATE=1] [PAGE=500] [SECS=62]
# Needs python3 with the `websockets` package (pip install websockets). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-10000} rate=${2:-1} page=${3:-500} secs=${4:-62}
python3 -c "import websockets" 2>/dev/null || { echo "needs: pip install websockets" >&2; exit 2; }
cargo build --release --bin tb-monitor >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
RUST_LOG=info target/release/tb-monitor demo-server --bind "127.0.0.1:$port" --devices "$devices" --rate "$rate" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "Press Ctrl-C" "$log" && break; sleep 0.1; done
t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
python3 - "http://127.0.0.1:$port" "$secs" "$page" <<'PY'
import asyncio, json, sys, time, urllib.request
import websockets
base, secs, page = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
req = urllib.request.Request(base + "/api/auth/login", headers={"Content-Type": "application/json"},
    data=json.dumps({"username": "tenant@thingsboard.org", "password": "tenant"}).encode())
token = json.load(urllib.request.urlopen(req))["token"]
keys = [{"type": "TIME_SERIES", "key": k} for k in
        ["temperature", "humidity", "pressure", "power", "energy", "rssi", "vibration", "voltage"]]
async def main():
    async with websockets.connect(base.replace("http", "ws") + "/api/ws", max_size=None) as ws:
        cmd = {"type": "ENTITY_DATA", "cmdId": 1, "latestCmd": {"keys": keys},
               "query": {"entityFilter": {"type": "entityType", "entityType": "DEVICE"},
                         "pageLink": {"pageSize": page, "page": 0}, "latestValues": keys,
                         "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}]}}
        await ws.send(json.dumps({"authCmd": {"cmdId": 0, "token": token}, "cmds": [cmd]}))
        first = json.loads(await ws.recv())
        t0, n, b = time.time(), 0, 0
        while time.time() - t0 < secs:
            m = await asyncio.wait_for(ws.recv(), timeout=30)
            n += 1; b += len(m)
        dt = time.time() - t0
        print(f"client: {len(first['data']['data'])} rows, {n / dt:.0f} msgs/s, {b / dt / 1e6:.2f} MB/s")
asyncio.run(main())
PY
t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
echo "server: $(( (t1 - t0) )) CPU ticks (1/100 s) over ${secs}s; $(grep VmRSS "/proc/$pid/status")"
grep -o 'simulation: .*' "$log" || echo "(no simulation report: run for more than 30 s)"

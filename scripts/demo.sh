#!/usr/bin/env bash
# Installs the dependencies, builds dualguard and runs it on the bundled demo plant: mosquitto,
# the plant simulator publishing the tank-farm sensors, a local webhook receiver that prints
# every notification, and the daemon with its API on http://127.0.0.1:8080. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

work=${DG_DEMO_DIR:-/tmp/dualguard-demo}
mkdir -p "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A broker on 1883: use the one already running (Debian starts mosquitto.service), else our own.
if ! port_open 1883; then
  printf 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 200000\n' >"$work/mosquitto.conf"
  /usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do port_open 1883 && break; sleep 0.1; done
fi

/usr/bin/python3 tools/webhook_sink.py --port 8090 --log "$work/webhooks.jsonl" &
pids+=($!)
build/plantsim --scenario examples/demo-scenario.yaml --mqtt tcp://127.0.0.1:1883 \
  ${DG_DEMO_SPEED:+--speed "$DG_DEMO_SPEED"} >"$work/plantsim.log" 2>&1 &
pids+=($!)

cat <<MSG
dualguard demo: 1#液氨储罐 gas detector GT101 drifts above 25 %LEL about a minute after start.
  Dashboard: http://127.0.0.1:8080/
  curl http://127.0.0.1:8080/api/v1/alarms
  curl http://127.0.0.1:8080/api/v1/hazards
  curl http://127.0.0.1:8080/api/v1/points
Webhook notifications are printed below and kept in $work/webhooks.jsonl; database: $work/dualguard-demo.db
MSG
build/dualguardd -c examples/demo-plant.yaml --db "$work/dualguard-demo.db" --dashboard "$root/dashboards" &
pids+=($!)
wait "${pids[-1]}"

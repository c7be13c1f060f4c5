#!/usr/bin/env bash
# Edge capacity of both engines on the embedded default model (issue 15): `ue-client scale-bench`
# (N = 1, 2, 4, 8, 16 UEs at split 0, 32 new tokens, 3 runs per N) against an edge with one engine
# thread, decode batching on (2 ms window, up to 16) and off, for --engine onnx and vector.
# Usage: scripts/scale-engines.sh [OUT_DIR=results/scale-bench/default-engines]
# Writes OUT_DIR/scale.csv, scale.md and the PNGs (labels ENGINE-batch-on / ENGINE-batch-off).
set -euo pipefail
out=${1:-results/scale-bench/default-engines}
root=$(cd "$(dirname "$0")/.." && pwd)
jvm=(--add-modules jdk.incubator.vector)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for engine in onnx vector; do
  for batch in on off; do
    if [[ $batch == on ]]; then flags=(--batch-decode --batch-window-us 2000 --batch-max 16); else flags=(--no-batch-decode); fi
    java "${jvm[@]}" -jar "$root/edge-server/target/edge-server.jar" --plaintext --listen "127.0.0.1:$port" \
      --metrics-port -1 --idle-ttl-s 600 --engine "$engine" --threads 1 "${flags[@]}" > "/tmp/scale-edge-$engine-$batch.log" 2>&1 &
    edge=$!
    for _ in $(seq 1 120); do grep -q "listening" "/tmp/scale-edge-$engine-$batch.log" 2>/dev/null && break; sleep 0.5; done
    java "${jvm[@]}" -jar "$root/ue-client/target/ue-client.jar" scale-bench --plaintext --edge "127.0.0.1:$port" \
      --engine "$engine" --threads 1 --label "$engine-batch-$batch" --out "$out"
    kill "$edge"; wait "$edge" 2>/dev/null || true
  done
done

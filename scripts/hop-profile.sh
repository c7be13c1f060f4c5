#!/usr/bin/env bash
# Where a split decode step's time goes, hop by hop (issue 15): runs an edge and `ue-client bench`
# over loopback with the splitinfer.StepMark JFR event on in both JVMs, then `ue-client
# hop-profile` over both recordings. Needs the jars (`mvn -B -o -DskipTests package`).
#   scripts/hop-profile.sh OUT_DIR [SPLIT] [BENCH FLAGS...]
# PIN=1 pins the UE to CPU 0 and the edge to CPU 1 (taskset), one core per side as on two devices.
# ENGINE=vector runs both sides on the Java Vector API engine (default: onnx).
set -euo pipefail
out=${1:?usage: scripts/hop-profile.sh OUT_DIR [SPLIT] [BENCH FLAGS...]}
split=${2:-6}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd "$(dirname "$0")/.." && pwd)
jfc="$root/scripts/stepmarks.jfc"
mkdir -p "$out"
out=$(cd "$out" && pwd)
ue_pin=(); edge_pin=()
engine=${ENGINE:-onnx}
jvm=(); [[ "$engine" == vector ]] && jvm=(--add-modules jdk.incubator.vector)
if [[ "${PIN:-0}" == 1 ]]; then ue_pin=(taskset -c 0); edge_pin=(taskset -c 1); fi
# shellcheck source=scripts/loopback-lib.sh
. "$root/scripts/loopback-lib.sh"
port=$(free_port)
"${edge_pin[@]}" java "${jvm[@]}" -Xlog:jfr+startup=off -XX:StartFlightRecording=settings="$jfc",filename="$out/edge.jfr" \
  -jar "$root/edge-server/target/edge-server.jar" --plaintext --listen "127.0.0.1:$port" \
  --metrics-port -1 --threads 1 --engine "$engine" > "$out/edge.log" 2>&1 &
edge=$!
trap 'kill $edge 2>/dev/null || true' EXIT
wait_for_edge "$out/edge.log"
"${ue_pin[@]}" java "${jvm[@]}" -Xlog:jfr+startup=off -XX:StartFlightRecording=settings="$jfc",filename="$out/ue.jfr" \
  -jar "$root/ue-client/target/ue-client.jar" bench --plaintext --edge "127.0.0.1:$port" \
  --splits "$split" --threads 1 --engine "$engine" --out "$out" "$@"
kill -TERM $edge
wait $edge || true
java -jar "$root/ue-client/target/ue-client.jar" hop-profile --recordings "$out/ue.jfr,$out/edge.jfr" --out "$out"

#!/usr/bin/env bash
# Split decode speed over loopback in the issue's units (issue 15): one edge, then `ue-client
# spec-bench` straight to it (no channel-sim, no delay) on 4 held-out prompts of 128 tokens, 64 new
# tokens each, greedy, interleaving one plain split, speculation with the n-gram drafter (fixed k,
# and rounds cut short by the table's shares: 6c0.3), and speculation with each next round sent
# ahead (HiddenState.if_token). Tokens/s is the median of
# --repeats runs (each run: every prompt once per configuration, in turn). Both sides on the Java
# Vector API engine, 1 thread each. Needs the jars (`mvn -B -o -DskipTests package`).
#   scripts/split-speed.sh OUT_DIR [SPLIT] [SPEC-BENCH FLAGS...]
# ENGINE=onnx|vector (default vector), THREADS per side (default 1), KS (default
# 2,3,6c0.3,2-ahead,3-ahead,6c0.3-ahead), REPEATS (default 5).
set -euo pipefail
out=${1:?usage: scripts/split-speed.sh OUT_DIR [SPLIT] [SPEC-BENCH FLAGS...]}
split=${2:-6}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/loopback-lib.sh
. "$root/scripts/loopback-lib.sh"
engine=${ENGINE:-vector}
threads=${THREADS:-1}
jvm=(); [[ "$engine" == vector ]] && jvm=(--add-modules jdk.incubator.vector)
mkdir -p "$out"
start_edge "$out" "$engine" "$threads"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt"
java "${jvm[@]}" -jar "$root/ue-client/target/ue-client.jar" spec-bench --plaintext \
  --edge "127.0.0.1:$port" --delays "" --split "$split" --threads "$threads" --engine "$engine" \
  --drafters ngram --ks "${KS:-2,3,6c0.3,2-ahead,3-ahead,6c0.3-ahead}" --prompts 4 \
  --repeats "${REPEATS:-5}" --out "$out" "$@" 2> "$out/spec-bench.log"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"

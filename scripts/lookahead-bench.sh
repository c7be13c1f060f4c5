#!/usr/bin/env bash
# Split over loopback against one process (issue 15): one edge, then `ue-client bench --lookahead
# ngram --spec 3,6c0.3,2-ahead,6c0.3-ahead` twice, on the random-id prompt (OUT_DIR/random) and on 4 held-out prompts
# (OUT_DIR/held-out); every round runs monolithic, the plain split, the split with lookahead (rows
# armed until their token arrives, and sent ahead) and with speculation (k 3; up to 6 drafts cut
# short where the table's shares fall below 0.3; k 2 and 6c0.3 with each next round sent ahead).
# Needs the jars (`mvn -B -o -DskipTests package`).
#   scripts/lookahead-bench.sh OUT_DIR [SPLIT] [BENCH FLAGS...]
# ENGINE=onnx|vector (default vector), THREADS per side (default 1), DRAFTER (default ngram), SPEC
# (the speculative rows, default 3,6c0.3,2-ahead,6c0.3-ahead).
set -euo pipefail
out=${1:?usage: scripts/lookahead-bench.sh OUT_DIR [SPLIT] [BENCH FLAGS...]}
split=${2:-6}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd "$(dirname "$0")/.." && pwd)
engine=${ENGINE:-vector}
threads=${THREADS:-1}
jvm=(); [[ "$engine" == vector ]] && jvm=(--add-modules jdk.incubator.vector)
mkdir -p "$out"
# shellcheck source=scripts/loopback-lib.sh
. "$root/scripts/loopback-lib.sh"
start_edge "$out" "$engine" "$threads"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt"
for prompts in random held-out; do
  flags=(); [[ "$prompts" == held-out ]] && flags=(--held-out 4)
  java "${jvm[@]}" -jar "$root/ue-client/target/ue-client.jar" bench --plaintext \
    --edge "127.0.0.1:$port" --splits "$split" --threads "$threads" --engine "$engine" \
    --lookahead "${DRAFTER:-ngram}" --spec "${SPEC:-3,6c0.3,2-ahead,6c0.3-ahead}" --spec-drafter "${DRAFTER:-ngram}" \
    "${flags[@]}" --out "$out/$prompts" "$@"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"

#!/usr/bin/env bash
# UE-only memory of both engines on the embedded default model, under the ue-client image's heap
# settings (-Xms64m -Xmx64m -XX:+UseSerialGC): `model memory --split P --prompt-tokens 128
# --engine E`, ROUNDS runs per (engine, p), alternating engines; prints a markdown table of the
# medians (and min, max) of heap used and peak RSS. Needs model/target/model.jar.
# Usage: model/scripts/memory-engines.sh [ROUNDS=3] [SPLITS="6 11"]
set -euo pipefail
rounds=${1:-3}
splits=${2:-"6 11"}
jar=$(cd "$(dirname "$0")/.." && pwd)/target/model.jar
out=$(mktemp)
for p in $splits; do
  for r in $(seq 1 "$rounds"); do
    for e in vector onnx; do
      line=$(java -Xms64m -Xmx64m -XX:+UseSerialGC --add-modules jdk.incubator.vector \
        -jar "$jar" memory --engine "$e" --split "$p" --prompt-tokens 128 2>/dev/null | grep '^{')
      echo "$line" >> "$out"
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| engine | p | parts MB | heap used MB, median [min, max] | peak RSS MB, median [min, max] | runs |")
print("|---|---|---|---|---|---|")
keys = []
for r in rows:
    k = (r["split"], r["engine"])
    if k not in keys:
        keys.append(k)
for p, e in keys:
    g = [r for r in rows if r["split"] == p and r["engine"] == e]
    h = [r["heap_used_mb"] for r in g]
    s = [r["peak_rss_mb"] for r in g]
    print(f"| {e} | {p} | {g[0]['part_bytes'] / 1e6:.1f} | {statistics.median(h):.1f} [{min(h):.1f}, {max(h):.1f}]"
          f" | {statistics.median(s):.1f} [{min(s):.1f}, {max(s):.1f}] | {len(g)} |")
PY
rm -f "$out"

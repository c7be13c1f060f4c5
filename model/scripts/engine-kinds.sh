#!/usr/bin/env bash
# Decode speed of the two engines side by side on the embedded default model (f32, monolithic:
# split = all layers), alternating the engines round by round so that both see the same load.
# Usage: model/scripts/engine-kinds.sh [ROUNDS=5] [THREADS="1 2"] [CONTEXTS=128] [JAR=model/target/model.jar]
# Each invocation: `bench --engine E --context CTX --steps 64 --runs 3 --threads N --split 12
# --no-reference` (decode steps after a CTX-token prompt, median of 64 steps per run, median of 3).
# Prints one CSV line per (round, engine, threads, context):
#   round,engine,threads,context,ms_per_token,cpu_ms_per_token,load1
# then per engine/threads/context: median over rounds, min, max, tokens/s = 1000 / median.
set -euo pipefail
rounds=${1:-5}
threads=${2:-"1 2"}
contexts=${3:-128}
jar=${4:-model/target/model.jar}
out=$(mktemp)
echo "round,engine,threads,context,ms_per_token,cpu_ms_per_token,load1"
for r in $(seq 1 "$rounds"); do
  for t in $threads; do
    for engine in onnx vector; do
      rows=$(java --add-modules jdk.incubator.vector -jar "$jar" bench --engine "$engine" \
        --context "$contexts" --steps 64 --runs 3 --threads "$t" --split 12 --no-reference \
        2>/dev/null | grep '^| f32' || true)
      load=$(cut -d' ' -f1 /proc/loadavg)
      while IFS= read -r row; do
        ctx=$(echo "$row" | awk -F'|' '{gsub(/ /,"",$5); print $5}')
        ms=$(echo "$row" | awk -F'|' '{split($6,a," "); print a[1]}')
        cpu=$(echo "$row" | awk -F'|' '{gsub(/ /,"",$7); print $7}')
        line="$r,$engine,$t,$ctx,$ms,$cpu,$load"
        echo "$line"
        echo "$line" >>"$out"
      done <<<"$rows"
    done
  done
done
echo
echo "engine,threads,context,median_ms_per_token,min,max,tokens_per_s,median_cpu_ms_per_token"
python3 - "$out" <<'PY'
import sys, statistics, collections
g = collections.defaultdict(list)
c = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r, engine, t, ctx, ms, cpu, load = line.strip().split(",")
    g[(engine, int(t), int(ctx))].append(float(ms))
    c[(engine, int(t), int(ctx))].append(float(cpu))
for (engine, t, ctx), v in sorted(g.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    m = statistics.median(v)
    print(f"{engine},{t},{ctx},{m:.2f},{min(v):.2f},{max(v):.2f},{1000 / m:.0f},"
          f"{statistics.median(c[(engine, t, ctx)]):.2f}")
PY
rm -f "$out"

#!/usr/bin/env bash
# Side-by-side decode benchmark of two variants on the embedded default model (f32, monolithic:
# split = all layers), alternating them round by round so that both see the same machine load.
# A variant is a model jar, or JAR@ENGINE for its --engine (onnx, vector): two jars (before and
# after a change) or one jar's two engines.
# Usage: model/scripts/engine-ab.sh BEFORE AFTER [ROUNDS=5] [THREADS="1 2"] [CONTEXTS=128]
# Each invocation: `bench [--engine E] --context CTX --steps 64 --runs 3 --threads N --split 12
# --no-reference` (decode steps after a CTX-token prompt, median of 64 steps per run, median of 3).
# Prints one CSV line per (round, variant, threads, context):
#   round,jar,threads,context,ms_per_token,cpu_ms_per_token,load1
# (cpu: the calling thread's CPU time, printed by jars that have the column, else empty) and a
# summary: per jar/threads/context the median over rounds, min, max, tokens/s = 1000 / median.
set -euo pipefail
before=$1
after=$2
rounds=${3:-5}
threads=${4:-"1 2"}
contexts=${5:-128}
out=$(mktemp)
echo "round,jar,threads,context,ms_per_token,cpu_ms_per_token,load1"
for r in $(seq 1 "$rounds"); do
  for t in $threads; do
    for variant in "$before" "$after"; do
      jar=${variant%@*}
      engine=(); jvm=()
      if [[ "$variant" == *@* ]]; then
        engine=(--engine "${variant##*@}"); jvm=(--add-modules jdk.incubator.vector)
      fi
      rows=$(java "${jvm[@]}" -jar "$jar" bench "${engine[@]}" --context "$contexts" --steps 64 \
        --runs 3 --threads "$t" --split 12 --no-reference 2>/dev/null | grep '^| f32' || true)
      load=$(cut -d' ' -f1 /proc/loadavg)
      while IFS= read -r row; do
        ctx=$(echo "$row" | awk -F'|' '{gsub(/ /,"",$5); print $5}')
        ms=$(echo "$row" | awk -F'|' '{split($6,a," "); print a[1]}')
        cpu=$(echo "$row" | awk -F'|' 'NF == 10 {gsub(/ /,"",$7); print $7}')
        line="$r,$(basename "$variant"),$t,$ctx,$ms,$cpu,$load"
        echo "$line"
        echo "$line" >>"$out"
      done <<<"$rows"
    done
  done
done
echo
echo "jar,threads,context,median_ms_per_token,min,max,tokens_per_s,median_cpu_ms_per_token"
python3 - "$out" <<'PY'
import sys, statistics, collections
g = collections.defaultdict(list)
c = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r, jar, t, ctx, ms, cpu, load = line.strip().split(",")
    g[(jar, int(t), int(ctx))].append(float(ms))
    if cpu:
        c[(jar, int(t), int(ctx))].append(float(cpu))
for (jar, t, ctx), v in sorted(g.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    m = statistics.median(v)
    cm = f"{statistics.median(c[(jar, t, ctx)]):.2f}" if c[(jar, t, ctx)] else ""
    print(f"{jar},{t},{ctx},{m:.2f},{min(v):.2f},{max(v):.2f},{1000 / m:.0f},{cm}")
PY
rm -f "$out"

#!/usr/bin/env bash
# The paper's Fig. 3 on a real link: perplexity of the held-out text measured by `ue-client
# eval-ppl` through channel-sim (AWGN at increasing sigma, then Rayleigh fading at increasing
# loss with a raw and an equalizing receiver), for several split points and several channel
# seeds. Starts an edge-server and a channel-sim on localhost, changes the channel at run time
# through channel-sim's control API (`channel-sim set`, reseeding it for every point), and writes
# the per-seed CSV, a summary CSV (mean and 95 % t-interval over the seeds) and a Markdown table.
#
# Usage: scripts/fig3-sweep.sh [OUT_DIR]   (default runs/fig3)
# Environment: TOKENS (held-out tokens per point, default 2048), SPLITS ("1 3 6 9 11"),
#              SIGMAS ("0 1 2 4 8 16"), LOSSES ("0.05 0.1 0.2 0.3"), RECEIVERS ("raw equalized"),
#              SEEDS ("1 2 3 4 5"; sigma = 0 is deterministic and runs once), EDGE_PORT,
#              CHANNEL_PORT. An empty SIGMAS, LOSSES or RECEIVERS skips those rows.
# The channel seed of a point is seed * 100003 + the point's index in the sweep, so every point
# can be re-run alone and gets the same draws.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/fig3}
tokens=${TOKENS:-2048}
splits=${SPLITS-"1 3 6 9 11"}
sigmas=${SIGMAS-"0 1 2 4 8 16"}
losses=${LOSSES-"0.05 0.1 0.2 0.3"}
receivers=${RECEIVERS-"raw equalized"}
seeds=${SEEDS:-"1 2 3 4 5"}
edge_port=${EDGE_PORT:-51051}
chan_port=${CHANNEL_PORT:-51052}
corpus=model/src/main/resources/splitinfer/default-model/heldout.txt
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# loopback only: plaintext by explicit opt-in (--plaintext)
java -Xmx1g -jar edge-server/target/edge-server.jar --listen "127.0.0.1:$edge_port" --plaintext \
  --metrics-port -1 >"$out/edge.log" 2>&1 &
pids+=($!)
java -Xmx1g -jar channel-sim/target/channel-sim.jar serve --listen "127.0.0.1:$chan_port" \
  --edge "127.0.0.1:$edge_port" --seed 3 --metrics-port -1 --plaintext >"$out/channel-sim.log" 2>&1 &
pids+=($!)
for port in "$edge_port" "$chan_port"; do
  for _ in $(seq 1 240); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.5; done
done

chan() { java -Xmx256m -jar channel-sim/target/channel-sim.jar set --target "127.0.0.1:$chan_port" --plaintext "$@" >/dev/null; }
ppl() { # split -> prints PPL
  java -Xmx1g -jar ue-client/target/ue-client.jar eval-ppl --corpus "$corpus" --max-tokens "$tokens" \
    --split "$1" --edge "127.0.0.1:$chan_port" --plaintext 2>>"$out/ue.log" | tee -a "$out/ue.out" \
    | grep -oiE 'ppl[ =:]+[0-9.eE+]+' | head -n 1 | grep -oE '[0-9.eE+]+$'
}

nw() { set -- $1; echo $#; }
n_seeds=$(nw "$seeds")
first_seed=${seeds%% *}
total=0
for s in $sigmas; do
  if [ "$s" = 0 ]; then k=1; else k=$n_seeds; fi
  total=$((total + k * $(nw "$splits")))
done
total=$((total + $(nw "$losses") * $(nw "$receivers") * $(nw "$splits") * n_seeds))
t0=$(date +%s)
done_n=0
point=0
csv="$out/fig3-seeds.csv"
echo "channel,sigma,loss,receiver,split,seed,channel_seed,ppl" >"$csv"
measure() { # channel sigma loss receiver split seed, channel already set
  local v
  v=$(ppl "$5")
  echo "$1,$2,$3,$4,$5,$6,$7,$v" >>"$csv"
  done_n=$((done_n + 1))
  local el=$(($(date +%s) - t0))
  printf '[%d/%d] %3ds  %s sigma=%s loss=%s rx=%s p=%s seed=%s  PPL %s\n' \
    "$done_n" "$total" "$el" "$1" "$2" "$3" "$4" "$5" "$6" "$v" >&2
}
for s in $sigmas; do
  for p in $splits; do
    point=$((point + 1))
    for seed in $seeds; do
      [ "$s" = 0 ] && [ "$seed" != "$first_seed" ] && continue
      cs=$((seed * 100003 + point))
      chan --sigma "$s" --fading none --h-threshold 0 --receiver raw --seed "$cs"
      measure awgn "$s" 0 raw "$p" "$seed" "$cs"
    done
  done
done
for rx in $receivers; do
  for l in $losses; do
    for p in $splits; do
      point=$((point + 1))
      for seed in $seeds; do
        cs=$((seed * 100003 + point))
        chan --sigma 0 --fading rayleigh --loss "$l" --receiver "$rx" --seed "$cs"
        measure rayleigh 0 "$l" "$rx" "$p" "$seed" "$cs"
      done
    done
  done
done

# Mean and 95 % Student-t half-width over the seeds of each (channel, sigma, loss, receiver, split).
summary="$out/fig3.csv"
awk -F, 'NR > 1 {
    k = $1 FS $2 FS $3 FS $4 FS $5
    if (!(k in n)) order[++m] = k
    n[k]++; s[k] += $8; q[k] += $8 * $8
  }
  END {
    split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262", t, " ")
    print "channel,sigma,loss,receiver,split,seeds,ppl_mean,ppl_ci95,ppl_sd"
    for (i = 1; i <= m; i++) {
      k = order[i]; mean = s[k] / n[k]; sd = 0; half = 0
      if (n[k] > 1) {
        v = (q[k] - n[k] * mean * mean) / (n[k] - 1); sd = v > 0 ? sqrt(v) : 0
        half = (n[k] - 1 <= 9 ? t[n[k] - 1] : 1.96) * sd / sqrt(n[k])
      }
      printf "%s,%d,%.4f,%.4f,%.4f\n", k, n[k], mean, half, sd
    }
  }' "$csv" >"$summary"

# Markdown: one row per channel, one column per split, mean ± 95 % CI over the seeds.
cell() { awk -F, -v c="$1" -v s="$2" -v l="$3" -v r="$4" -v p="$5" \
  '$1==c && $2==s && $3==l && $4==r && $5==p {printf "%.2f ± %.2f", $7, $8}' "$summary"; }
{
  printf '| channel |'; for p in $splits; do printf ' p=%s |' "$p"; done; echo
  printf '|---|'; for _ in $splits; do printf -- '---:|'; done; echo
  for s in $sigmas; do
    printf '| AWGN σ=%s |' "$s"
    for p in $splits; do printf ' %s |' "$(cell awgn "$s" 0 raw "$p")"; done; echo
  done
  for rx in $receivers; do
    for l in $losses; do
      printf '| Rayleigh, loss %s, %s receiver (zero-fill) |' "$l" "$rx"
      for p in $splits; do printf ' %s |' "$(cell rayleigh 0 "$l" "$rx" "$p")"; done; echo
    done
  done
} >"$out/fig3.md"
cat "$out/fig3.md"
echo "wrote $csv, $summary and $out/fig3.md ($done_n points, $(($(date +%s) - t0)) s; load average $(cut -d' ' -f1-3 /proc/loadavg))"

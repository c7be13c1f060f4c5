#!/usr/bin/env bash
# The paper's Fig. 3 on a real link: perplexity of the held-out text measured by `ue-client
# eval-ppl` through channel-sim (AWGN at increasing sigma, then Rayleigh fading at increasing
# loss), for several split points. Starts an edge-server and a channel-sim on localhost, changes
# the channel at run time through channel-sim's control API, and writes a CSV and a Markdown
# table.
#
# Usage: scripts/fig3-sweep.sh [OUT_DIR]   (default runs/fig3)
# Environment: TOKENS (tokens of held-out text per point, default 2048), SPLITS ("1 3 6 9 11"),
#              SIGMAS ("0 0.5 1 2 4"), LOSSES ("0.05 0.1 0.2 0.3"), EDGE_PORT, CHANNEL_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/fig3}
tokens=${TOKENS:-2048}
splits=${SPLITS:-"1 3 6 9 11"}
sigmas=${SIGMAS:-"0 0.5 1 2 4"}
losses=${LOSSES:-"0.05 0.1 0.2 0.3"}
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

csv="$out/fig3.csv"
echo "channel,sigma,loss,split,ppl" >"$csv"
for s in $sigmas; do
  chan --sigma "$s" --fading none --h-threshold 0
  for p in $splits; do
    v=$(ppl "$p"); echo "awgn,$s,0,$p,$v" | tee -a "$csv"
  done
done
for l in $losses; do
  chan --sigma 0 --fading rayleigh --loss "$l"
  for p in $splits; do
    v=$(ppl "$p"); echo "rayleigh,0,$l,$p,$v" | tee -a "$csv"
  done
done

# Markdown: one row per channel, one column per split.
{
  printf '| channel |'; for p in $splits; do printf ' p=%s |' "$p"; done; echo
  printf '|---|'; for _ in $splits; do printf -- '---:|'; done; echo
  for s in $sigmas; do
    printf '| AWGN σ=%s |' "$s"
    for p in $splits; do printf ' %s |' "$(awk -F, -v s="$s" -v p="$p" '$1=="awgn" && $2==s && $4==p {printf "%.2f", $5}' "$csv")"; done; echo
  done
  for l in $losses; do
    printf '| Rayleigh, loss %s (zero-fill) |' "$l"
    for p in $splits; do printf ' %s |' "$(awk -F, -v l="$l" -v p="$p" '$1=="rayleigh" && $3==l && $4==p {printf "%.2f", $5}' "$csv")"; done; echo
  done
} >"$out/fig3.md"
cat "$out/fig3.md"
echo "wrote $csv and $out/fig3.md"

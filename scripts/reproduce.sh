#!/usr/bin/env bash
# The paper's evaluation in one command (issue 18): everything in docs/RESULTS.md, regenerated
# from measurements on the embedded default model.
#
#   1. `controller experiments`: records through the in-process split pipeline (controller
#      measure), the surrogate and its cross-validated error (fit-surrogate + parity plot), Fig. 3
#      in process (equal σ, equal SNR, Rayleigh raw vs equalized, σ × loss heat map, 5 channel
#      seeds per cell), Fig. 5 (PPO/A2C/DQN, 3 seeds), Fig. 8 (PPO sweeps), Fig. 6 and Table IV,
#      Fig. 7 (plot-decisions). Its own progress bar.
#   2. `scripts/fig3-sweep.sh`: Fig. 3 through the real processes (ue-client → channel-sim →
#      edge-server on loopback), 5 channel seeds per cell: the table in channel-sim/README.md.
#   3. with --live: `controller live-eval` (the online experiment, ~8 min on an idle machine).
#
# Usage: scripts/reproduce.sh [--quick] [--live] [--no-link] [OUT_DIR]
#   OUT_DIR defaults to results/experiments (results/experiments-quick with --quick). The full run
#   also copies its PNGs to docs/figures/ (the figures docs/RESULTS.md shows); --quick never does.
#   --no-link skips step 2. Builds the jars first when they are missing (not counted in the time).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0 live=0 link=1 out=""
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --live) live=1 ;;
    --no-link) link=0 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) echo "unknown option $a" >&2; exit 2 ;;
    *) out=$a ;;
  esac
done
if [ -z "$out" ]; then
  if [ "$quick" = 1 ]; then out=results/experiments-quick; else out=results/experiments; fi
fi
for j in controller channel-sim edge-server ue-client; do
  if [ ! -f "$j/target/$j.jar" ]; then
    echo "== building the jars (mvn -B -q -DskipTests package)" >&2
    mvn -B -q -DskipTests package
    break
  fi
done
mkdir -p "$out"
steps=$((1 + link + live))
t0=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
n=0
banner() { n=$((n + 1)); echo "== [$n/$steps] $* ($(($(date +%s) - t0)) s so far)" >&2; }

banner "controller experiments$([ "$quick" = 1 ] && echo ' --quick') --out $out"
java -jar controller/target/controller.jar experiments $([ "$quick" = 1 ] && echo --quick) \
  --out "$out" | tee "$out/experiments.log"

if [ "$link" = 1 ]; then
  banner "Fig. 3 through the real link: scripts/fig3-sweep.sh $out/fig3-link"
  if [ "$quick" = 1 ]; then
    TOKENS=512 SPLITS="1 11" SIGMAS="0 8" LOSSES="" RECEIVERS="" SEEDS="1 2" \
      scripts/fig3-sweep.sh "$out/fig3-link"
  else
    # the AWGN rows through the link (55 points, about 10 min): a cross-check of the in-process
    # Fig. 3 of step 1, which has the whole grid; the whole grid through the link is
    # scripts/fig3-sweep.sh alone (330 points, 55-75 min on this machine)
    SIGMAS="0 8 16" LOSSES="" RECEIVERS="" scripts/fig3-sweep.sh "$out/fig3-link"
  fi
fi

if [ "$live" = 1 ]; then
  banner "the online experiment: controller live-eval"
  java -jar controller/target/controller.jar live-eval $([ "$quick" = 1 ] && echo --quick) \
    --out "$out/live-eval"
fi

if [ "$quick" = 0 ]; then
  mkdir -p docs/figures
  cp "$out"/*.png docs/figures/
  echo "copied $(ls "$out"/*.png | wc -l) PNGs to docs/figures/" >&2
fi
el=$(($(date +%s) - t0))
echo "reproduce: done in ${el} s ($((el / 60)) min $((el % 60)) s); load average at start $load0," \
  "at end $(cut -d' ' -f1-3 /proc/loadavg); results in $out" | tee "$out/reproduce-time.txt"

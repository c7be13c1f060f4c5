#!/usr/bin/env bash
# End-to-end demo on the embedded default model, all on localhost:
#   ue-client -- hidden states + pilots --> channel-sim (fading uplink) -- forwards --> edge-server
#   edge-server -- channel evidence (σ from pilots, loss from every packet) --> controller (PPO)
#   controller -- split decisions --> ue-client and edge-server
# The controller acts on the edge's ESTIMATE of the channel (--channel-source estimate, the
# default); it also watches channel-sim, but only to log the ground truth beside the estimate.
# It builds what it needs, starts the three services, generates on a clean channel, makes the
# channel noisy and lossy at the proxy, generates on it (the edge's estimate moves the split
# later, and it stays there while the channel stays bad), measures perplexity through the link
# on both channels, and stops everything it started. Exits 0 when every step worked.
#
# Every gRPC link runs mutual TLS: scripts/gen-certs.sh makes a throwaway CA and per-service
# certificates in a temporary directory (the UE's CN is demo-ue, its ue_id); the operator commands
# use the operator certificate. DEMO_PLAINTEXT=1 runs plaintext instead (loopback only).
#
# Environment: EDGE_PORT (50051), CHANNEL_PORT (50052), CONTROLLER_PORT (50053), EDGE_/CHANNEL_/
# CONTROLLER_METRICS_PORT (9091/9092/9093),
# MAX_TOKENS (40), PROMPT, DEMO_REBUILD=1 to force a rebuild, DEMO_LOGS (runs/demo),
# DEMO_PLAINTEXT=1 (no TLS).
set -euo pipefail
cd "$(dirname "$0")"

edge_port=${EDGE_PORT:-50051}
chan_port=${CHANNEL_PORT:-50052}
ctrl_port=${CONTROLLER_PORT:-50053}
edge_metrics=${EDGE_METRICS_PORT:-9091}
chan_metrics=${CHANNEL_METRICS_PORT:-9092}
ctrl_metrics=${CONTROLLER_METRICS_PORT:-9093}
max_tokens=${MAX_TOKENS:-40}
prompt=${PROMPT:-"Fellow-Citizens of the Senate and House of Representatives: The state of the Union is"}
logs=${DEMO_LOGS:-runs/demo}
corpus=model/src/main/resources/splitinfer/default-model/heldout.txt

jars=(edge-server ue-client channel-sim controller)
need_build=${DEMO_REBUILD:-0}
for m in "${jars[@]}"; do [ -f "$m/target/$m.jar" ] || need_build=1; done
if [ "$need_build" = 1 ]; then
  echo "== building (mvn -B -q -DskipTests -DskipUnitTests package)"
  mvn -B -q -DskipTests -DskipUnitTests package
fi

mkdir -p "$logs"
rm -f "$logs/controller-records.mv.db" # the controller keeps its state there; each demo starts fresh
pids=()
certs=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$certs" ]; then rm -rf "$certs"; fi
}
trap cleanup EXIT

# tls ROLE: the TLS flags of a process holding the certificate of ROLE (servers also demand
# client certificates: --tls-client-auth is passed to them separately)
if [ "${DEMO_PLAINTEXT:-0}" = 1 ]; then
  echo "== plaintext on loopback (DEMO_PLAINTEXT=1)"
  tls() { echo --plaintext; }
  mtls=()
else
  certs=$(mktemp -d)
  UE_ID=demo-ue bash scripts/gen-certs.sh "$certs" >/dev/null
  echo "== mutual TLS on every link (throwaway CA in $certs)"
  tls() { echo --tls-cert "$certs/$1.pem" --tls-key "$certs/$1.key" --tls-ca "$certs/ca.pem"; }
  mtls=(--tls-client-auth)
fi

java_opts=(-Xmx1g -XX:+UseSerialGC)
start() { # name jar args...
  local name=$1 jar=$2; shift 2
  java "${java_opts[@]}" -jar "$jar" "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
  pids+=($!)
}
wait_port() { # port name
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "$2 did not start; its log:" >&2
  tail -n 30 "$logs/$2.err" "$logs/$2.out" >&2
  exit 1
}
# shellcheck disable=SC2046 # tls prints flags meant to be split
ue() { java "${java_opts[@]}" -jar ue-client/target/ue-client.jar "$@" $(tls ue); }
# shellcheck disable=SC2046
ctl() { java -Xmx256m -jar controller/target/controller.jar cli "$@" --target "127.0.0.1:$ctrl_port" $(tls operator); }
# shellcheck disable=SC2046
chan() { java -Xmx256m -jar channel-sim/target/channel-sim.jar "$@" --target "127.0.0.1:$chan_port" $(tls operator); }
chan_set() { chan set "$@" >/dev/null && echo "channel-sim now: $*"; }

echo "== preparing the embedded default model (converted once into a cache)"
java -jar model/target/model.jar info | head -n 12

echo "== starting controller :$ctrl_port, edge-server :$edge_port, channel-sim :$chan_port (logs in $logs/)"
start controller controller/target/controller.jar serve --listen "127.0.0.1:$ctrl_port" \
  --channel-source estimate --channel-sim "127.0.0.1:$chan_port" \
  --decision-interval 300 --min-dwell-ms 300 \
  --db "$logs/controller-records" --metrics-port "$ctrl_metrics" $(tls controller) "${mtls[@]}"
start edge edge-server/target/edge-server.jar --listen "127.0.0.1:$edge_port" \
  --controller "127.0.0.1:$ctrl_port" --metrics-port "$edge_metrics" $(tls edge) "${mtls[@]}"
wait_port "$edge_port" edge
start channel-sim channel-sim/target/channel-sim.jar serve --listen "127.0.0.1:$chan_port" \
  --edge "127.0.0.1:$edge_port" --seed 7 --metrics-port "$chan_metrics" $(tls channel-sim) "${mtls[@]}"
wait_port "$chan_port" channel-sim
wait_port "$ctrl_port" controller

echo
echo "== 1. clean channel: generate through channel-sim, split chosen by the controller"
ue generate --prompt "$prompt" --max-tokens "$max_tokens" --edge "127.0.0.1:$chan_port" \
  --controller "127.0.0.1:$ctrl_port" --ue-id demo-ue --pilot-every 8
ctl get --ue demo-ue

echo
echo "== 2. the channel gets worse at the proxy: noise sigma 6, Rayleigh fading, 5% packet loss"
chan_set --sigma 6 --fading rayleigh --loss 0.05
split_now() { ctl get --ue demo-ue | sed -n 's/^split[: ]*\([0-9]*\).*/\1/p' | head -n 1; }
echo "-- nothing carries evidence yet, so the controller holds split $(split_now)"
echo "-- generating on the bad channel: the edge estimates sigma from the pilots and the loss from"
echo "   every packet it receives, and reports to the controller, which moves the split"
ue generate --prompt "$prompt" --max-tokens "$max_tokens" --edge "127.0.0.1:$chan_port" \
  --controller "127.0.0.1:$ctrl_port" --ue-id demo-ue --pilot-every 8
bad_splits=()
echo "-- the controller keeps moving the split one layer per decision on the state in force:"
for _ in 1 2 3 4 5 6 7 8; do sleep 1; bad_splits+=("$(split_now)"); done
echo "   split over 8 s: ${bad_splits[*]}"
echo "-- generating again while the channel stays bad (the split must not come back down):"
ue generate --prompt "$prompt" --max-tokens "$max_tokens" --edge "127.0.0.1:$chan_port" \
  --controller "127.0.0.1:$ctrl_port" --ue-id demo-ue --pilot-every 8
for _ in 1 2 3; do sleep 1; bad_splits+=("$(split_now)"); done
echo "   split on the bad channel, sampled every second: ${bad_splits[*]}"
ctl get --ue demo-ue
echo "-- the controller's log: the state in force (estimate, with the truth beside it) and each move"
grep -hE "channel state in force|split [0-9]+ -> [0-9]+" "$logs/controller.out" "$logs/controller.err" \
  | sed -E 's/^.*(UE demo-ue)/\1/' | tail -n 24 || true
prev=0
for p in "${bad_splits[@]}"; do
  if [ -n "$p" ] && [ "$p" -lt "$prev" ]; then
    echo "FAIL: the split moved back down ($prev -> $p) while the channel stayed bad" >&2
    exit 1
  fi
  [ -n "$p" ] && prev=$p
done

echo
echo "== 3. perplexity (eq. 6) through the link, first 1024 held-out tokens"
echo "-- bad channel, early split p=1:"
ue eval-ppl --corpus "$corpus" --max-tokens 1024 --split 1 --edge "127.0.0.1:$chan_port"
echo "-- bad channel, late split p=10:"
ue eval-ppl --corpus "$corpus" --max-tokens 1024 --split 10 --edge "127.0.0.1:$chan_port"
echo "-- channel-sim statistics on the bad channel:"
chan stats
chan_set --sigma 0 --fading none --h-threshold 0
echo "-- clean channel, p=1:"
ue eval-ppl --corpus "$corpus" --max-tokens 1024 --split 1 --edge "127.0.0.1:$chan_port"

echo
echo "== 4. what the edge counted"
(exec 3<>/dev/tcp/127.0.0.1/$edge_metrics && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3) \
  | grep -E '^edge_(sessions_opened|tokens_generated|split_switches)' | head -n 8 || true
echo
echo "demo finished OK"

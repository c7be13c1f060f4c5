#!/usr/bin/env bash
# Runs UE, channel-sim, edge and controller as four "machines": four Linux network namespaces
# joined by veth pairs to a bridge, each with its own IP and no shared loopback. The bridge lives
# in a fifth namespace (the "switch"), so the host's firewall (e.g. Docker's FORWARD DROP) and
# interfaces are never touched. Generates text
# through them, prints it, and removes everything it created. Needs root and iproute2.
# Traffic goes only to the addresses of the namespaces this script creates.
#
# Usage: scripts/netns-e2e.sh [--max-tokens N] [--prompt TEXT]
# Exit codes: 0 ok, 77 cannot run here (not root / no ip), anything else a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
max_tokens=24
prompt="The state of the Union is"
while [ $# -gt 0 ]; do
  case "$1" in
    --max-tokens) max_tokens=$2; shift 2 ;;
    --prompt) prompt=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then echo "netns-e2e: skipped, needs root" >&2; exit 77; fi
if ! command -v ip >/dev/null; then echo "netns-e2e: skipped, no 'ip' (iproute2)" >&2; exit 77; fi
for m in edge-server ue-client channel-sim controller; do
  [ -f "$m/target/$m.jar" ] || { echo "netns-e2e: $m/target/$m.jar missing; run mvn -B -DskipTests package" >&2; exit 2; }
done

tag=$(( $$ % 10000 ))
br="sib$tag"
subnet_octet=$(( 100 + $$ % 100 ))
net="10.231.$subnet_octet"
declare -A ip_of=([edge]="$net.11" [chan]="$net.12" [ctrl]="$net.13" [ue]="$net.14")
nodes=(edge chan ctrl ue)
logdir=$(mktemp -d /tmp/splitinfer-netns.XXXXXX)
pids=()

pfx="si$tag"
name=netns-e2e
# shellcheck source=scripts/netns-lib.sh
. scripts/netns-lib.sh

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
export SPLITINFER_HOME="${SPLITINFER_HOME:-$HOME/.cache/splitinfer}"
run_in() { # node logname args...
  local n=$1 log=$2; shift 2
  ip netns exec "si$tag-$n" "$java_bin" -Xmx1g -jar "$@" >"$logdir/$log.out" 2>"$logdir/$log.err" &
  pids+=($!)
}

model_args=()
if [ -n "${MODEL:-}" ]; then model_args=(--model "$MODEL"); fi
# mutual TLS on every link (the addresses are not loopback, so plaintext is refused)
certs="$logdir/certs"
UE_ID=netns-ue bash scripts/gen-certs.sh "$certs" "${ip_of[edge]}" "${ip_of[chan]}" "${ip_of[ctrl]}" >/dev/null
tls() { echo --tls-cert "$certs/$1.pem" --tls-key "$certs/$1.key" --tls-ca "$certs/ca.pem"; }
# shellcheck disable=SC2046 # tls prints flags meant to be split
run_in ctrl controller controller/target/controller.jar serve \
  --listen "${ip_of[ctrl]}:50053" --advertise "${ip_of[ctrl]}:50053" \
  --channel-sim "${ip_of[chan]}:50052" --metrics-port 9093 $(tls controller) --tls-client-auth \
  --db "$logdir/controller-records"
wait_port edge "${ip_of[ctrl]}" 50053
# shellcheck disable=SC2046
run_in edge edge edge-server/target/edge-server.jar \
  --listen "${ip_of[edge]}:50051" --advertise "${ip_of[edge]}:50051" \
  --controller "${ip_of[ctrl]}:50053" --metrics-port 9091 "${model_args[@]}" \
  $(tls edge) --tls-client-auth
wait_port chan "${ip_of[edge]}" 50051
# shellcheck disable=SC2046
run_in chan channel-sim channel-sim/target/channel-sim.jar serve \
  --listen "${ip_of[chan]}:50052" --edge "${ip_of[edge]}:50051" --metrics-port 9092 \
  $(tls channel-sim) --tls-client-auth
wait_port ue "${ip_of[chan]}" 50052
wait_port ue "${ip_of[ctrl]}" 50053

echo "netns-e2e: generating from namespace si$tag-ue via ${ip_of[chan]} (channel-sim) to ${ip_of[edge]} (edge)"
set +e
ip netns exec "si$tag-ue" "$java_bin" -Xmx1g -jar ue-client/target/ue-client.jar generate \
  --prompt "$prompt" --max-tokens "$max_tokens" \
  --edge "${ip_of[chan]}:50052" --controller "${ip_of[ctrl]}:50053" --ue-id netns-ue "${model_args[@]}" \
  $(tls ue) \
  >"$logdir/ue.out" 2>"$logdir/ue.err"
rc=$?
set -e
cat "$logdir/ue.out"
if [ $rc -ne 0 ]; then
  echo "netns-e2e: ue-client failed with $rc" >&2
  tail -n 40 "$logdir"/* >&2
  exit 1
fi
echo "netns-e2e: OK (logs in $logdir)"

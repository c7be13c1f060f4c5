#!/usr/bin/env bash
# The pool of edges across machines: a controller, EDGES edge-servers (default 3) and 8 UEs, each
# role in its own Linux network namespace on a bridge (distinct IPs, no shared loopback, mutual TLS
# on every link), as scripts/netns-e2e.sh. Every UE asks the controller for an edge
# (`generate --assign-edge`), connects there and generates greedily; the script checks that
#   1. the placement is balanced: `controller cli pool` shows the 8 UEs spread 3/3/2 (EDGES=3) or
#      4/4 (EDGES=2), and each edge's /metrics counted the sessions placed on it;
#   2. every UE's text equals a reference generation of the same prompt on one edge without the
#      pool (greedy output unchanged);
#   3. an edge killed with SIGKILL while a UE generates on it leaves the pool (`cli pool`), and
#      that UE resumes on another edge with the same text as a reference run.
# Removes everything it created. Needs root and iproute2.
#
# Usage: scripts/netns-pool-e2e.sh [--max-tokens N]   (EDGES=2|3 in the environment)
# Exit codes: 0 ok, 77 cannot run here (not root / no ip / no namespaces), anything else a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
max_tokens=16
while [ $# -gt 0 ]; do
  case "$1" in
    --max-tokens) max_tokens=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
edges=${EDGES:-3}
ues=8

if [ "$(id -u)" != 0 ]; then echo "netns-pool-e2e: skipped, needs root" >&2; exit 77; fi
if ! command -v ip >/dev/null; then echo "netns-pool-e2e: skipped, no 'ip' (iproute2)" >&2; exit 77; fi
for m in edge-server ue-client controller; do
  [ -f "$m/target/$m.jar" ] || { echo "netns-pool-e2e: $m/target/$m.jar missing; run mvn -B -DskipTests package" >&2; exit 2; }
done

tag=$(( $$ % 10000 ))
br="spb$tag"
net="10.232.$(( 100 + $$ % 100 ))"
declare -A ip_of=([ctrl]="$net.10" [ue]="$net.20")
nodes=(ctrl ue)
for i in $(seq 1 "$edges"); do ip_of[e$i]="$net.$(( 10 + i ))"; nodes+=("e$i"); done
logdir=$(mktemp -d /tmp/splitinfer-netns-pool.XXXXXX)
pids=()
declare -A pid_of=()

pfx="sp$tag"
name=netns-pool-e2e
# shellcheck source=scripts/netns-lib.sh
. scripts/netns-lib.sh

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
export SPLITINFER_HOME="${SPLITINFER_HOME:-$HOME/.cache/splitinfer}"
run_in() { # node logname args...
  local n=$1 log=$2; shift 2
  ip netns exec "sp$tag-$n" "$java_bin" -Xmx512m -XX:TieredStopAtLevel=1 -jar "$@" \
    >"$logdir/$log.out" 2>"$logdir/$log.err" &
  pids+=($!)
  pid_of[$log]=$!
}
metric() { # node ip port name: the value of a Prometheus counter
  ip netns exec "sp$tag-$1" bash -c \
    "exec 3<>/dev/tcp/$2/$3; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3" |
    awk -v n="$4" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d", s }'
}

certs="$logdir/certs"
addrs=()
for n in "${nodes[@]}"; do addrs+=("${ip_of[$n]}"); done
UE_ID=pool-ue bash scripts/gen-certs.sh "$certs" "${addrs[@]}" >/dev/null
tls() { echo --tls-cert "$certs/$1.pem" --tls-key "$certs/$1.key" --tls-ca "$certs/ca.pem"; }
ue_cert() { # a UE certificate of CN $1 from the same CA (a UE acts only on its own id)
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$certs/$1.key" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n' >"$certs/$1.ext"
  openssl req -new -key "$certs/$1.key" -subj "/O=splitinfer/OU=ue/CN=$1" -out "$certs/$1.csr"
  openssl x509 -req -in "$certs/$1.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$certs/$1.ext" -out "$certs/$1.pem" 2>/dev/null
}
for u in $(seq 0 $(( ues - 1 ))); do ue_cert "pool-ue-$u"; done
ctl="${ip_of[ctrl]}:50053"
# shellcheck disable=SC2046 # tls prints flags meant to be split
run_in ctrl controller controller/target/controller.jar serve \
  --listen "$ctl" --advertise "$ctl" --metrics-port -1 $(tls controller) --tls-client-auth \
  --db none --edge-ttl-ms 3000
wait_port ue "${ip_of[ctrl]}" 50053
for i in $(seq 1 "$edges"); do
  # shellcheck disable=SC2046
  run_in "e$i" "edge-$i" edge-server/target/edge-server.jar \
    --listen "${ip_of[e$i]}:50051" --advertise "${ip_of[e$i]}:50051" --edge-id "edge-$i" \
    --controller "$ctl" --metrics-port 9091 --load-report-ms 200 $(tls edge) --tls-client-auth
done
for i in $(seq 1 "$edges"); do wait_port ue "${ip_of[e$i]}" 50051; done

cli() { # controller cli as the operator, from the UE's namespace
  # shellcheck disable=SC2046
  ip netns exec "sp$tag-ue" "$java_bin" -XX:TieredStopAtLevel=1 -jar controller/target/controller.jar \
    cli "$@" --target "$ctl" $(tls operator)
}
for _ in $(seq 1 60); do
  [ "$(cli pool | grep -c '^edge-')" = "$edges" ] && break
  sleep 0.5
done
cli pool
prompts=("The state of the Union is" "My fellow citizens")
echo "netns-pool-e2e: $ues UEs ask $ctl for an edge and generate $max_tokens tokens"
ue_pids=()
for u in $(seq 0 $(( ues - 1 ))); do
  # shellcheck disable=SC2046
  ip netns exec "sp$tag-ue" "$java_bin" -Xmx384m -XX:TieredStopAtLevel=1 -jar ue-client/target/ue-client.jar generate \
    --prompt "${prompts[$(( u % 2 ))]}" --max-tokens "$max_tokens" --assign-edge \
    --controller "$ctl" --ue-id "pool-ue-$u" $(tls "pool-ue-$u") \
    >"$logdir/ue-$u.out" 2>"$logdir/ue-$u.err" &
  ue_pids+=($!)
done
fail=0
for u in $(seq 0 $(( ues - 1 ))); do
  wait "${ue_pids[$u]}" || { echo "netns-pool-e2e: UE $u failed" >&2; tail -n 20 "$logdir/ue-$u.err" >&2; fail=1; }
done
[ $fail = 0 ] || exit 1
grep -h "placed on edge" "$logdir"/ue-*.err | sed 's/^/  /'

echo "netns-pool-e2e: reference generations on edge-1 without the pool"
for k in 0 1; do
  # shellcheck disable=SC2046
  ip netns exec "sp$tag-ue" "$java_bin" -Xmx384m -XX:TieredStopAtLevel=1 -jar ue-client/target/ue-client.jar generate \
    --prompt "${prompts[$k]}" --max-tokens "$max_tokens" --edge "${ip_of[e1]}:50051" \
    --ue-id "pool-ue" $(tls ue) >"$logdir/ref-$k.out" 2>"$logdir/ref-$k.err"
done
text() { sed -n '1,/^--$/p' "$1" | sed '$d'; } # the generated text, before the summary
for u in $(seq 0 $(( ues - 1 ))); do
  if [ "$(text "$logdir/ue-$u.out")" != "$(text "$logdir/ref-$(( u % 2 )).out")" ]; then
    echo "netns-pool-e2e: UE $u's text differs from the reference" >&2
    diff <(text "$logdir/ue-$u.out") <(text "$logdir/ref-$(( u % 2 )).out") >&2 || true
    exit 1
  fi
done
echo "netns-pool-e2e: all $ues texts equal the references"

pool=$(cli pool)
echo "$pool"
counts=$(echo "$pool" | grep '^edge-' | sed 's/.*UEs \[\(.*\)\]$/\1/' | awk -F', ' '{ print ($0 == "" ? 0 : NF) }' | sort -n | tr '\n' ' ')
want=$([ "$edges" = 3 ] && echo "2 3 3 " || echo "4 4 ")
if [ "$counts" != "$want" ]; then
  echo "netns-pool-e2e: UEs per edge '$counts', want '$want'" >&2; exit 1
fi
sessions=()
for i in $(seq 1 "$edges"); do
  placed=$(echo "$pool" | grep "^edge-$i " | sed 's/.*UEs \[\(.*\)\]$/\1/' | awk -F', ' '{ print ($0 == "" ? 0 : NF) }')
  opened=$(metric ue "${ip_of[e$i]}" 9091 edge_sessions_opened_total)
  sessions+=("edge-$i: $placed placed, $opened sessions")
  # edge-1 also served the two reference generations
  extra=$([ "$i" = 1 ] && echo 2 || echo 0)
  if [ "$opened" != $(( placed + extra )) ]; then
    echo "netns-pool-e2e: edge-$i opened $opened sessions, $placed UEs were placed on it (+$extra)" >&2; exit 1
  fi
done
echo "netns-pool-e2e: balanced: ${sessions[*]}"

victim="edge-$edges"
long_tokens=$(( max_tokens * 8 ))
echo "netns-pool-e2e: a UE placed on $victim generates $long_tokens tokens; $victim is killed mid-run"
# shellcheck disable=SC2046
ip netns exec "sp$tag-ue" "$java_bin" -Xmx384m -XX:TieredStopAtLevel=1 -jar ue-client/target/ue-client.jar generate \
  --prompt "${prompts[0]}" --max-tokens "$long_tokens" --assign-edge --pool-edge "$victim" \
  --controller "$ctl" --ue-id pool-ue-0 $(tls pool-ue-0) --stall-timeout-ms 5000 \
  >"$logdir/victim-ue.out" 2>"$logdir/victim-ue.err" &
victim_ue=$!
before=$(metric ue "${ip_of[e$edges]}" 9091 edge_tokens_generated_total)
for _ in $(seq 1 400); do # until the UE's session produced tokens on the victim
  now=$(metric ue "${ip_of[e$edges]}" 9091 edge_tokens_generated_total || echo "$before")
  [ "$now" -gt $(( before + 4 )) ] && break
  sleep 0.05
done
echo "netns-pool-e2e: kill -9 $victim at $(date +%T.%3N), $(( now - before )) tokens into the UE's run"
kill -9 "${pid_of[$victim]}"
start=$(date +%s%N)
wait "$victim_ue" || { echo "netns-pool-e2e: the UE on the killed edge failed" >&2; tail -n 20 "$logdir/victim-ue.err" >&2; exit 1; }
grep -h "resumed after" "$logdir/victim-ue.out" | sed 's/^/  /'
grep -q "resumed after" "$logdir/victim-ue.out" || { echo "netns-pool-e2e: the UE did not fail over" >&2; exit 1; }
# shellcheck disable=SC2046
ip netns exec "sp$tag-ue" "$java_bin" -Xmx384m -XX:TieredStopAtLevel=1 -jar ue-client/target/ue-client.jar generate \
  --prompt "${prompts[0]}" --max-tokens "$long_tokens" --edge "${ip_of[e1]}:50051" \
  --ue-id pool-ue $(tls ue) >"$logdir/ref-long.out" 2>"$logdir/ref-long.err"
if [ "$(text "$logdir/victim-ue.out")" != "$(text "$logdir/ref-long.out")" ]; then
  echo "netns-pool-e2e: the text of the UE whose edge was killed differs from the reference" >&2
  diff <(text "$logdir/victim-ue.out") <(text "$logdir/ref-long.out") >&2 || true
  exit 1
fi
echo "netns-pool-e2e: the UE whose edge was killed resumed on another and its text equals the reference"
for _ in $(seq 1 40); do
  if ! cli pool | grep -q "^$victim "; then
    echo "netns-pool-e2e: $victim gone from the pool; controller: $(grep -h "edge $victim left the pool" "$logdir/controller.out" "$logdir/controller.err" | cut -c1-120)"
    echo "netns-pool-e2e: OK (logs in $logdir)"
    exit 0
  fi
  sleep 0.25
done
echo "netns-pool-e2e: $victim is still in the pool after SIGKILL" >&2
cli pool >&2
exit 1

# shellcheck shell=bash
# The network-namespace topology shared by scripts/netns-e2e.sh and scripts/netns-pool-e2e.sh:
# one namespace per node, each with an eth0 veth on a bridge that lives in a switch namespace.
# Source it after setting:
#   name   the script's name, for messages
#   pfx    the namespace prefix (namespaces are "$pfx-<node>", the switch "$pfx-sw")
#   br     the bridge's name
#   net    the /24 the nodes live in (for the message)
#   nodes  array of node names;  ip_of  associative array node -> address in $net.0/24
#   logdir the log directory;    pids   array of the processes started (killed on exit)
# It installs the cleanup trap, exits 77 where namespaces cannot be created, and defines
# wait_port.

netns_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in "${nodes[@]}" sw; do ip netns del "$pfx-$n" 2>/dev/null || true; done
}
trap netns_cleanup EXIT

if ! ip netns add "$pfx-probe" 2>/dev/null; then
  echo "$name: skipped, cannot create network namespaces here" >&2; exit 77
fi
ip netns del "$pfx-probe"

sw="$pfx-sw"
ip netns add "$sw"
ip -n "$sw" link add "$br" type bridge
ip -n "$sw" link set "$br" up
for n in "${nodes[@]}"; do
  ns="$pfx-$n"
  ip netns add "$ns"
  ip -n "$sw" link add "v$n" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "v$n" master "$br" up
  ip -n "$ns" addr add "${ip_of[$n]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done
echo "$name: namespaces ${nodes[*]/#/$pfx-} on bridge $br in $sw ($net.0/24)"

wait_port() { # from-node ip port
  for _ in $(seq 1 240); do
    if ip netns exec "$pfx-$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "$name: $2:$3 did not come up" >&2
  tail -n 30 "$logdir"/*.out "$logdir"/*.err >&2 || true
  return 1
}

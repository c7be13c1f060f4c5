# Shared by the loopback benchmarks (lookahead-bench.sh, split-speed.sh, hop-profile.sh): a free
# TCP port, waiting for an edge's "listening" log line, and starting an edge (needs $root, the
# repository). Source it; it defines functions only.

# Prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 60 s for LOG to say the edge is listening; fails (with the log) otherwise.
wait_for_edge() {
  local log=$1
  for _ in $(seq 1 120); do
    grep -q "listening" "$log" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "the edge did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

# Starts an edge on a free loopback port with ENGINE (onnx|vector) and THREADS, logging to
# OUT/edge.log; sets `port` and `edge` (its pid), kills it on exit, and waits until it listens.
start_edge() {
  local out=$1 engine=$2 threads=$3
  local jvm=(); [[ "$engine" == vector ]] && jvm=(--add-modules jdk.incubator.vector)
  port=$(free_port)
  java "${jvm[@]}" -jar "$root/edge-server/target/edge-server.jar" --plaintext \
    --listen "127.0.0.1:$port" --metrics-port -1 --threads "$threads" --engine "$engine" \
    > "$out/edge.log" 2>&1 &
  edge=$!
  trap 'kill $edge 2>/dev/null || true' EXIT
  wait_for_edge "$out/edge.log"
}

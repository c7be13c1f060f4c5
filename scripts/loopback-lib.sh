# Shared by the loopback benchmarks (lookahead-bench.sh, split-speed.sh, hop-profile.sh): a free
# TCP port, and waiting for an edge's "listening" log line. Source it; it defines functions only.

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

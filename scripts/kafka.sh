# Sourced by scripts/test: a Kafka-protocol broker on loopback for the Kafka tests (tansu, an
# Apache-Kafka-compatible broker written in Rust, installed once per machine when missing).

ensure_kafka_broker() {
  if [ -n "${OMNISTREAM_TEST_KAFKA_BROKERS:-}" ]; then
    say "using the Kafka broker at $OMNISTREAM_TEST_KAFKA_BROKERS"
    return
  fi
  export PATH="$PATH:$HOME/.cargo/bin"
  if ! command -v tansu >/dev/null 2>&1; then
    say "installing tansu 0.6.0 (a Kafka-protocol broker for the Kafka tests; about 15 minutes, once per machine)"
    cargo install tansu@0.6.0 --locked --features dynostore
  fi
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  say "starting a tansu broker on 127.0.0.1:$port (in memory)"
  tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"${TMPDIR:-/tmp}/omnistream-tansu-$port.log" 2>&1 &
  KAFKA_BROKER_PID=$!
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export OMNISTREAM_TEST_KAFKA_BROKERS="127.0.0.1:$port"
      return
    fi
    sleep 0.2
  done
  say "the tansu broker did not start; its log: ${TMPDIR:-/tmp}/omnistream-tansu-$port.log"
  exit 1
}

stop_kafka_broker() {
  if [ -n "${KAFKA_BROKER_PID:-}" ]; then
    kill "$KAFKA_BROKER_PID" 2>/dev/null || true
  fi
}

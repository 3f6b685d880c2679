#!/usr/bin/env bash
# One command for BENCHMARKS.md: the criterion benches (core decisions, parsing, signing, and
# the peers oauth-as and oxide-auth side by side), then the load runs over HTTP on loopback —
# Tollgate on each adapter (hyper, actix-web) and store (memory, SQLite), and oidc-provider
# (npm) configured with equivalent clients — then tools/report.py writes BENCHMARKS.md and
# benchmarks.svg from the results.
#
#   tools/bench.sh                  everything (~15 min on the 2-core machine once built)
#   tools/bench.sh --seconds 5      shorter load runs (default 10 s each, after a 2 s warm-up)
#   tools/bench.sh --skip-criterion load runs only (the report reuses target/criterion)
#   tools/bench.sh --skip-load      criterion only (the report reuses target/bench-results)
#   tools/bench.sh --only hyper-memory   one server configuration (repeatable)
#
# Each server runs pinned to CPU 0 (`taskset -c 0`), the load generator to CPU 1: one core
# each. Every server listens on 127.0.0.1 and loadgen refuses any other target; each run is
# bounded by --seconds and a request ceiling. Nothing is left running: servers are stopped
# by pid when their runs end (and on exit).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_PER_RUN=10
WARMUP=2
REQUESTS=5000000
CONCURRENCY=${CONCURRENCY:-64}
RUN_CRITERION=1
RUN_LOAD=1
ONLY=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    --skip-criterion) RUN_CRITERION=0; shift ;;
    --skip-load) RUN_LOAD=0; shift ;;
    --only) ONLY+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
RESULTS="$TARGET/bench-results"
WORK="$(mktemp -d /tmp/tollgate-bench.XXXXXX)"
PORT=18080
OP_PORT=18090
SERVER_PID=""
mkdir -p "$RESULTS"

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

# Pinning: the server to CPU 0, the load to CPU 1 (when there are two CPUs and taskset).
# Used as a command prefix, so `$PIN0 server &` leaves the server's own pid in $!.
PIN0=(); PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN0=(taskset -c 0); PIN1=(taskset -c 1)
fi

wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench.sh: nothing listening on 127.0.0.1:$1" >&2
  return 1
}

wanted() { # wanted NAME: whether --only allows it
  [ ${#ONLY[@]} -eq 0 ] && return 0
  local o; for o in "${ONLY[@]}"; do [ "$o" = "$1" ] && return 0; done
  return 1
}

# ---------------------------------------------------------------------------- the machine
{
  echo "{"
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\","
  echo "  \"cpus\": $(nproc),"
  echo "  \"memory\": \"$(free -h | awk '/^Mem:/{print $2}')\","
  echo "  \"kernel\": \"$(uname -r)\","
  echo "  \"rustc\": \"$(rustc -V)\","
  echo "  \"node\": \"$(node -v 2>/dev/null || echo none)\","
  echo "  \"commit\": \"$(git rev-parse --short HEAD)\","
  echo "  \"dirty\": \"$(git status --porcelain --untracked-files=no | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')\","
  echo "  \"load_before\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"seconds_per_run\": $SECONDS_PER_RUN, \"warmup\": $WARMUP, \"concurrency\": $CONCURRENCY"
  echo "}"
} > "$RESULTS/machine.json"

# ------------------------------------------------------------------------------ criterion
if [ "$RUN_CRITERION" = 1 ]; then
  echo "== criterion: cargo bench -p tollgate-benches"
  # Only the lines naming a bench and its time on the terminal; everything in the log.
  if ! cargo bench -p tollgate-benches > "$RESULTS/criterion.log" 2>&1; then
    tail -30 "$RESULTS/criterion.log" >&2
    echo "bench.sh: cargo bench failed (log: $RESULTS/criterion.log)" >&2
    exit 1
  fi
  grep -E '^[a-z_]+/[^ ]+|^ +time:' "$RESULTS/criterion.log" || true
fi

# ---------------------------------------------------------------------------- load runs
if [ "$RUN_LOAD" = 1 ]; then
  echo "== building the release binaries"
  cargo build --release -q -p tollgate-server -p tollgate-bench-host -p tollgate-loadgen
  LOADGEN="$TARGET/release/loadgen"
  SERVICE_SECRET="bench-service-secret-0123456789abcdefghijklmnop"
  WEB_SECRET="bench-web-secret-0123456789abcdefghijklmnopqrs"
  PASSWORD="bench-password"
  # The bench user's PBKDF2 hash with 1 000 iterations: its password is checked once per
  # refresh chain and per browser sign-in, never in a measured request.
  HASH="$(python3 -c '
import hashlib, base64, os
salt = os.urandom(16)
e = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
print("pbkdf2-sha256$1000$%s$%s" % (e(salt), e(hashlib.pbkdf2_hmac("sha256", b"'"$PASSWORD"'", salt, 1000))))')"

  write_config() { # write_config STORE FILE
    cat > "$2" <<EOF
issuer = "http://127.0.0.1:$PORT"
listen = "127.0.0.1:$PORT"
data_dir = "data"
store = "$1"

[[clients]]
id = "bench-service"
type = "confidential"
kind = "service"
auth_method = "client_secret_basic"
secret = "$SERVICE_SECRET"
grant_types = ["client_credentials"]
scopes = "api:read api:write"
default_scopes = "api:read"

[[clients]]
id = "bench-web"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "$WEB_SECRET"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = "openid api:read offline_access"

[[clients]]
id = "bench-web-jwt"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "$WEB_SECRET"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = "openid api:read offline_access"
access_token_format = "jwt"

[[users]]
username = "bench"
password_hash = "$HASH"
EOF
  }

  load() { # load LABEL MODE ARGS...
    local label="$1" mode="$2"; shift 2
    echo "-- $label"
    "${PIN1[@]}" "$LOADGEN" --target "http://127.0.0.1:$PORT" --mode "$mode" \
      --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
      --requests "$REQUESTS" --busy-poll on --label "$label" --json "$RESULTS/load-$label.json" \
      --server-pid "$SERVER_PID" "$@" \
      || echo "bench.sh: $label reported errors (see $RESULTS/load-$label.json)" >&2
  }

  # Every workload gets a server of its own, started on an empty store: a workload never
  # measures the tokens an earlier one left (a memory store grown by a million records pays
  # cache misses on every insert), and oidc-provider is treated the same way below.
  start_tollgate() { # start_tollgate ADAPTER STORE DIR
    local adapter="$1" store="$2" dir="$3"
    rm -rf "$dir/data"
    case "$store" in
      memory) write_config memory "$dir/tollgate.toml" ;;
      sqlite) write_config "sqlite:data/bench.db" "$dir/tollgate.toml" ;;
    esac
    if [ "$adapter" = hyper ]; then
      # The real binary, with per-request logging at warn (info writes a line per request).
      RUST_LOG=warn "${PIN0[@]}" "$TARGET/release/tollgate-server" --config "$dir/tollgate.toml" \
        >> "$dir/server.log" 2>&1 &
    else
      "${PIN0[@]}" "$TARGET/release/tollgate-bench-host" --adapter actix \
        --config "$dir/tollgate.toml" >> "$dir/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    wait_port "$PORT"
  }

  tollgate_load() { # tollgate_load ADAPTER STORE DIR LABEL MODE ARGS...
    local adapter="$1" store="$2" dir="$3"; shift 3
    start_tollgate "$adapter" "$store" "$dir"
    load "$@"
    stop_server
  }

  for adapter in hyper actix; do
    for store in memory sqlite; do
      name="$adapter-$store"
      wanted "$name" || continue
      echo "== $name"
      dir="$WORK/$name"; mkdir -p "$dir"
      on=("$adapter" "$store" "$dir")
      tollgate_load "${on[@]}" "$name-client_credentials" client_credentials \
        --client-id bench-service --client-secret "$SERVICE_SECRET" --scope api:read
      tollgate_load "${on[@]}" "$name-refresh" refresh --client-id bench-web \
        --client-secret "$WEB_SECRET" --username bench --password "$PASSWORD" \
        --scope "api:read offline_access"
      tollgate_load "${on[@]}" "$name-refresh_jwt" refresh --client-id bench-web-jwt \
        --client-secret "$WEB_SECRET" --username bench --password "$PASSWORD" \
        --scope "api:read offline_access"
      tollgate_load "${on[@]}" "$name-code" code --client-id bench-web \
        --client-secret "$WEB_SECRET" --username bench --password "$PASSWORD" --scope "api:read" \
        --redirect-uri "http://127.0.0.1:9/cb"
    done
  done

  if wanted oidc-provider; then
    echo "== oidc-provider"
    OP_DIR="$ROOT/tools/oidc-provider"
    if [ ! -d "$OP_DIR/node_modules/oidc-provider" ]; then
      (cd "$OP_DIR" && npm install --no-audit --no-fund --silent)
    fi
    # NODE_ENV=production, as a deployment would run it (measured: no difference in
    # throughput on client_credentials, 13.3-13.7k req/s either way).
    # One server per workload, like Tollgate's: opaque tokens for client_credentials and
    # refresh, JWT access tokens for refresh_jwt; each mints its refresh chains at start.
    for run in opaque:client_credentials opaque:refresh jwt:refresh_jwt; do
      format="${run%%:*}"; workload="${run#*:}"
      tokens="$WORK/op-tokens-$workload.txt"
      (cd "$OP_DIR" && PORT=$OP_PORT FORMAT=$format REFRESH_OUT="$tokens" \
        REFRESH_COUNT="$((2 * CONCURRENCY))" SERVICE_SECRET="$SERVICE_SECRET" WEB_SECRET="$WEB_SECRET" \
        NODE_ENV=production exec "${PIN0[@]}" node server.mjs) > "$WORK/op-$workload.log" 2>&1 &
      SERVER_PID=$!
      wait_port "$OP_PORT"
      for _ in $(seq 1 100); do [ -s "$tokens" ] && break; sleep 0.1; done
      saved_port=$PORT; PORT=$OP_PORT
      case "$workload" in
        client_credentials)
          load "oidc-provider-client_credentials" client_credentials \
            --client-id bench-service --client-secret "$SERVICE_SECRET" --scope api:read ;;
        *)
          load "oidc-provider-$workload" refresh --client-id bench-web \
            --client-secret "$WEB_SECRET" --refresh-tokens "$tokens" ;;
      esac
      PORT=$saved_port
      stop_server
    done
  fi
fi

echo "== report"
python3 "$ROOT/tools/report.py"

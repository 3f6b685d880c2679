#!/usr/bin/env bash
# Soak: mixed load against one Tollgate server on loopback for a while, with ~1 % invalid
# requests, a signing-key rotation every minute, and revocation checks; checks that no
# request got a 5xx (or failed in transport), that resident memory stays flat within 10 %,
# and that no token was accepted after its revocation.
#
#   tools/soak.sh [SECONDS]       default 600 (10 minutes)
#
# Environment: ADAPTER=hyper|actix (default hyper), STORE=memory|sqlite (default memory),
# RATE=requests per second (default 2000), ROTATE=seconds between key rotations (default 60),
# CONCURRENCY (default 16). Results go to target/soak/: the loadgen summary (summary.json),
# the RSS samples (rss.csv) and the server log. Exit status 0 only when every check passes.
#
# The server is tools/bench-host (the tollgate-server application; it adds the runtime key
# rotation the tollgate-server binary has no hook for), pinned to CPU 0; the load to CPU 1.
# Token lifetimes are short (access 15 s, refresh idle 30 s, absolute 60 s, grace 10 s) and
# expired records are purged every 5 s, so the store reaches its steady size within the
# first minute: "flat" compares the mean RSS of the last quarter of the run with the mean of
# its second quarter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-600}"
ADAPTER="${ADAPTER:-hyper}"
STORE="${STORE:-memory}"
RATE="${RATE:-2000}"
ROTATE="${ROTATE:-60}"
CONCURRENCY="${CONCURRENCY:-16}"
PORT=18180
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/soak"
WORK="$(mktemp -d /tmp/tollgate-soak.XXXXXX)"
SERVER_PID=""
SAMPLER_PID=""
mkdir -p "$OUT"

cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PIN0=(); PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN0=(taskset -c 0); PIN1=(taskset -c 1)
fi

cargo build --release -q -p tollgate-bench-host -p tollgate-loadgen

SERVICE_SECRET="soak-service-secret-0123456789abcdefghijklmnopq"
WEB_SECRET="soak-web-secret-0123456789abcdefghijklmnopqrstu"
PASSWORD="soak-password"
HASH="$(python3 -c '
import hashlib, base64, os
salt = os.urandom(16)
e = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
print("pbkdf2-sha256$1000$%s$%s" % (e(salt), e(hashlib.pbkdf2_hmac("sha256", b"'"$PASSWORD"'", salt, 1000))))')"
case "$STORE" in
  memory) STORE_SETTING="memory" ;;
  sqlite) STORE_SETTING="sqlite:data/soak.db" ;;
  *) echo "soak.sh: STORE must be memory or sqlite" >&2; exit 2 ;;
esac
cat > "$WORK/tollgate.toml" <<EOF
issuer = "http://127.0.0.1:$PORT"
listen = "127.0.0.1:$PORT"
data_dir = "data"
store = "$STORE_SETTING"
id_token_ttl = 60

[database]
purge_interval = 5

[policies.fallback]
access_token_ttl = 15
refresh_idle = 30
refresh_absolute = 60
grace = 10

[[clients]]
id = "soak-service"
type = "confidential"
kind = "service"
auth_method = "client_secret_basic"
secret = "$SERVICE_SECRET"
grant_types = ["client_credentials"]
scopes = "api:read"
default_scopes = "api:read"

# Confidential (so it may introspect its own tokens); openid, so every refresh signs an ID
# token with whichever key is active at that moment; RFC 9068 JWT access tokens, so the
# revocation checks introspect tokens whose lookup first verifies their signature against
# the rotating key set.
[[clients]]
id = "soak-web"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "$WEB_SECRET"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = "openid api:read offline_access"
access_token_format = "jwt"

[[users]]
username = "soak"
password_hash = "$HASH"
EOF

echo "soak: $DURATION s, $ADAPTER/$STORE, $RATE req/s, key rotation every $ROTATE s, 1 % invalid"
"${PIN0[@]}" "$TARGET/release/tollgate-bench-host" --adapter "$ADAPTER" \
  --config "$WORK/tollgate.toml" --rotate-keys "$ROTATE" > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

# RSS every 5 s: seconds since start, VmRSS in KiB, signing keys in the JWKS.
(
  start=$(date +%s)
  echo "t,rss_kib,jwks_keys" > "$OUT/rss.csv"
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    keys=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/jwks" | python3 -c \
      'import json,sys
try: print(len(json.load(sys.stdin)["keys"]))
except Exception: print(0)' 2>/dev/null || echo 0)
    echo "$(( $(date +%s) - start )),$rss,$keys" >> "$OUT/rss.csv"
    sleep 5
  done
) &
SAMPLER_PID=$!

set +e
"${PIN1[@]}" "$TARGET/release/loadgen" --target "http://127.0.0.1:$PORT" --mode mixed \
  --client-id soak-web --client-secret "$WEB_SECRET" \
  --service-id soak-service --service-secret "$SERVICE_SECRET" \
  --username soak --password "$PASSWORD" --scope "openid api:read offline_access" \
  --concurrency "$CONCURRENCY" --rate "$RATE" --seconds "$DURATION" --warmup 0 \
  --requests 50000000 --invalid-percent 1 --revoke-every 200 \
  --server-pid "$SERVER_PID" --label "soak-$ADAPTER-$STORE" --json "$OUT/summary.json"
LOAD_STATUS=$?
set -e
# Only samples taken under load count.
kill "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

python3 - "$OUT" "$LOAD_STATUS" "$ROTATE" <<'EOF'
import csv, json, sys
out, load_status, rotate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = json.load(open(f"{out}/summary.json"))
rows = [(int(r["t"]), int(r["rss_kib"]), int(r["jwks_keys"])) for r in csv.DictReader(open(f"{out}/rss.csv"))]
rows = [r for r in rows if r[1] > 0]
n = len(rows)
q2 = rows[n // 4: n // 2] or rows
q4 = rows[3 * n // 4:] or rows
mean = lambda rs: sum(r[1] for r in rs) / len(rs)
base, last = mean(q2), mean(q4)
growth = (last - base) / base
rotations = sum(1 for line in open(f"{out}/server.log") if "rotated the signing key" in line)
checks = {
    "no 5xx": s["status_5xx"] == 0,
    "no transport errors": s["transport_errors"] == 0,
    "every valid request succeeded": s["unexpected_4xx"] == 0,
    "no token accepted after its revocation": s["revocation_violations"] == 0 and s["revocation_checks"] > 0,
    "RSS flat within 10 %": abs(growth) <= 0.10,
    "keys rotated": rotations >= max(0, s["seconds"] // rotate - 1),
}
print(f"requests {s['requests']:,} ({s['throughput']:,.0f}/s): ok {s['ok']:,}, "
      f"expected 4xx {s['expected_4xx']:,}, unexpected 4xx {s['unexpected_4xx']}, 5xx {s['status_5xx']}, "
      f"transport errors {s['transport_errors']}")
print(f"revocation checks {s['revocation_checks']:,}, violations {s['revocation_violations']}")
print(f"p50 {s['p50_us'] / 1000:.2f} ms, p99 {s['p99_us'] / 1000:.2f} ms, max {s['max_us'] / 1000:.1f} ms")
print(f"RSS: first sample {rows[0][1] / 1024:.1f} MiB, 2nd-quarter mean {base / 1024:.1f} MiB, "
      f"last-quarter mean {last / 1024:.1f} MiB ({growth:+.1%}), max {max(r[1] for r in rows) / 1024:.1f} MiB")
print(f"key rotations {rotations}; JWKS size over the run: {sorted(set(r[2] for r in rows))}")
if s.get("first_error"):
    print(f"first error: {s['first_error']}")
for name, ok in checks.items():
    print(f"  {'PASS' if ok else 'FAIL'}  {name}")
sys.exit(0 if all(checks.values()) and load_status == 0 else 1)
EOF

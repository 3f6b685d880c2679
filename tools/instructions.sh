#!/usr/bin/env bash
# Instructions per token request inside `Server::token`, counted by valgrind's callgrind:
# repeatable to about 1 % on this shared VM, where timings drift by tens of percent, so a
# change to the hot path can be judged before an interleaved bench confirms it in time.
#
#   tools/instructions.sh                 # refresh (grace 30 s, opaque) and refresh_jwt
#   tools/instructions.sh refresh code    # any scenarios of benches/examples/profile.rs
#
# Each scenario runs twice (N and 3N requests after the same warm-up) and the difference is
# divided by 2N, so warm-up and set-up cancel out. Two figures per scenario:
#   * all instructions under `Server::token`;
#   * without sha2's compression function: under valgrind the sha2 crate cannot see SHA-NI
#     and runs its software rounds (~10x the instructions of the hardware path), which would
#     otherwise swamp everything else;
# and for refresh_jwt also without `jose::jws::sign_compact` (the ES256 signature and its
# JWS framing, which issue 4's ratio divides by).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(refresh refresh_jwt)
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p tollgate-benches --example profile
bin="$target/release/examples/profile"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# The largest Ir figure among lines matching $2 in callgrind file $1 (inclusive with $3=yes;
# the largest, so a wrapper and the function it calls are not counted twice).
ir() {
  callgrind_annotate --inclusive="${3:-no}" "$1" 2>/dev/null |
    awk -v pat="$2" 'index($0, pat) { gsub(",", "", $1); if ($1 + 0 > m) m = $1 + 0 } END { printf "%d\n", m }'
}

for s in "${scenarios[@]}"; do
  case "$s" in refresh_jwt | code) n=2000 ;; *) n=5000 ;; esac
  for k in 1 3; do
    valgrind --tool=callgrind --callgrind-out-file="$out/$s.$k" \
      --toggle-collect='tollgate::server::Server::token' "$bin" "$s" $((k * n)) >/dev/null 2>&1
  done
  total=$(( $(ir "$out/$s.3" "PROGRAM TOTALS") - $(ir "$out/$s.1" "PROGRAM TOTALS") ))
  sha=$(( $(ir "$out/$s.3" "sha2::sha256::compress256") - $(ir "$out/$s.1" "sha2::sha256::compress256") ))
  line="$s: $((total / (2 * n))) instructions per request, $(((total - sha) / (2 * n))) without SHA-256 compression"
  if [ "$s" = refresh_jwt ]; then
    sign=$(( $(ir "$out/$s.3" "jose::jws::sign_compact" yes) - $(ir "$out/$s.1" "jose::jws::sign_compact" yes) ))
    line="$line, $(((total - sha - sign) / (2 * n))) also without sign_compact"
  fi
  echo "$line"
done

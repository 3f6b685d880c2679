#!/usr/bin/env bash
# Fuzz smoke test for CI: builds every cargo-fuzz target once, then runs each for a fixed
# time (default 30 s) starting from its seeds (fuzz/seeds/<target>) with the OAuth
# dictionary, and fails if any target crashes, leaks, times out or runs out of memory.
#
#   fuzz/smoke.sh            # 30 s per target
#   fuzz/smoke.sh 300        # 5 minutes per target
#   FUZZ_SECONDS=10 fuzz/smoke.sh
#
# New interesting inputs go to fuzz/corpus/<target> (git-ignored), so repeated runs on one
# machine build on each other; the seeds are only read. A crash leaves its input in
# fuzz/artifacts/<target>/ and the exact reproduction command in the log.
set -euo pipefail

secs="${1:-${FUZZ_SECONDS:-30}}"
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;; esac

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$fuzz_dir/.."

# cargo-fuzz needs nightly-only flags (-Zsanitizer, …); this lets a stable toolchain accept them.
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    if [ "${FUZZ_NO_INSTALL:-0}" = 1 ]; then
        echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
        exit 2
    fi
    echo "installing cargo-fuzz (a few minutes)…"
    cargo install cargo-fuzz --locked
fi

targets="$(cargo fuzz list)"
echo "building fuzz targets: $(echo $targets)"
cargo fuzz build

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for t in $targets; do
    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus"
    seeds=()
    [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
    echo "=== $t: ${secs}s"
    status=0
    cargo fuzz run "$t" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$secs" -dict=fuzz/oauth.dict -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$logs/$t.log" 2>&1 || status=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)"
    cov="$(grep -Eo 'cov: [0-9]+' "$logs/$t.log" | tail -n 1 || true)"
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        summary+=("$t: FAILED (exit $status) after ${execs:-?} execs")
        echo "--- $t failed; last 60 log lines:"
        tail -n 60 "$logs/$t.log"
    else
        summary+=("$t: ok, ${execs:-?} execs in ${secs}s, ${cov:-cov: ?}")
    fi
done

echo "=== fuzz smoke summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "crashing targets: ${failed[*]}" >&2
    exit 1
fi

#!/usr/bin/env bash
# Fuzz smoke test for CI: builds every cargo-fuzz target once, then runs each for a fixed
# time (default 30 s), one after the other in a single process each, starting from its seeds
# (fuzz/seeds/<target>) with the OAuth dictionary (fuzz/oauth.dict, plus
# fuzz/dicts/<target>.dict when there is one), and fails if any target crashes, leaks, times
# out or runs out of memory.
#
#   fuzz/smoke.sh            # 30 s per target (CI)
#   fuzz/smoke.sh 600        # 10 minutes per target (the long runs in README.md)
#   FUZZ_SECONDS=10 fuzz/smoke.sh
#   FUZZ_TARGETS="jws_parse config_load" fuzz/smoke.sh 60   # only these targets
#   FUZZ_LOG_DIR=/tmp/fuzz-logs fuzz/smoke.sh 600           # keep each log as <dir>/<target>.log
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

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
echo "building fuzz targets: $(echo $targets)"
cargo fuzz build

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
logs="${FUZZ_LOG_DIR:-$tmp}"
mkdir -p "$logs"
failed=()
summary=()
for t in $targets; do
    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus"
    seeds=()
    [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
    # libFuzzer takes one -dict: the OAuth dictionary, plus the target's own when it has one.
    dict="fuzz/oauth.dict"
    if [ -f "fuzz/dicts/$t.dict" ]; then
        dict="$tmp/$t.dict"
        cat fuzz/oauth.dict "fuzz/dicts/$t.dict" >"$dict"
    fi
    echo "=== $t: ${secs}s (dictionary: ${dict#"$tmp/"})"
    status=0
    cargo fuzz run "$t" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$secs" -dict="$dict" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$logs/$t.log" 2>&1 || status=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -n 1)"
    last="$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -n 1 || true)"
    cov="$(echo "$last" | grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)"
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        summary+=("$t: FAILED (exit $status) after ${execs:-?} execs")
        echo "--- $t failed; last 60 log lines:"
        tail -n 60 "$logs/$t.log"
    else
        summary+=("$t: ok, ${execs:-?} execs in ${secs}s (${rate:-?}/s), ${cov:-cov: ?}")
    fi
done

echo "=== fuzz smoke summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "crashing targets: ${failed[*]}" >&2
    exit 1
fi

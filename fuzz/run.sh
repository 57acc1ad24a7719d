#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (first argument, default 30) and prints
# how many inputs each one executed. Needs cargo-fuzz and a nightly toolchain:
#   cargo install cargo-fuzz && rustup toolchain install nightly
#
# New inputs go to corpus/<target>/ (not committed); the hand-written seeds in
# seeds/<target>/ are read as a second corpus. A crash stops the script and leaves
# its input in artifacts/<target>/.
set -euo pipefail

secs="${1:-30}"
cd "$(dirname "$0")"

for target in $(cargo +nightly fuzz list); do
    corpora=("corpus/$target")
    mkdir -p "corpus/$target"
    if [[ -d "seeds/$target" ]]; then
        corpora+=("seeds/$target")
    fi
    args=(-max_total_time="$secs" -print_final_stats=1)
    if [[ "$target" == socketio_* ]]; then
        args+=(-dict=socketio.dict)
    elif [[ -f "$target.dict" ]]; then
        args+=(-dict="$target.dict")
    fi
    log="$(mktemp)"
    if ! cargo +nightly fuzz run "$target" "${corpora[@]}" -- "${args[@]}" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "$target: FAILED (log: $log)" >&2
        exit 1
    fi
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    printf '%-16s %12s executions in %ss\n' "$target" "${execs:-?}" "$secs"
    rm -f "$log"
done

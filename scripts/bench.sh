#!/usr/bin/env bash
# Measures auction-tui beside the JavaScript anchors, interleaved, so both see the same machine.
# Usage: scripts/bench.sh [ROUNDS] [OUT_DIR]     (default 3 rounds, output in bench-out/)
# Needs node and npm for the anchors (../shared/anchors/js is copied to a scratch folder and
# installed with npm ci there). Raw outputs are kept; BENCHMARKS.md quotes their medians.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=${2:-bench-out}
mkdir -p "$out"
anchors=${ANCHORS:-../shared/anchors/js}
scratch=${ANCHOR_SCRATCH:-/tmp/anchors-js}
if [ ! -d "$scratch/node_modules" ]; then
  rm -rf "$scratch" && cp -r "$anchors" "$scratch" && chmod -R u+w "$scratch"
  (cd "$scratch" && npm ci --no-audit --no-fund >/dev/null)
fi
for r in $(seq 1 "$rounds"); do
  echo "== round $r: storage"
  go test -run '^$' -bench . -benchtime 1x ./storage >"$out/storage-$r.txt" 2>&1 || true
  (cd "$scratch" && node hypercore-bench.js) >"$out/hypercore-$r.jsonl" 2>&1 || true
  echo "== round $r: rpc"
  go test -run '^$' -bench . ./peer/rpc >"$out/rpc-$r.txt" 2>&1 || true
  (cd "$scratch" && node rpc-bench.js) >"$out/rpc-anchor-$r.jsonl" 2>&1 || true
  echo "== round $r: dht"
  go test -run '^$' -bench . -benchtime 200x ./peer/dht >"$out/dht-$r.txt" 2>&1 || true
  (cd "$scratch" && node dht-bench.js) >"$out/dht-anchor-$r.jsonl" 2>&1 || true
  echo "== round $r: engine"
  go test -run '^$' -bench . -benchtime 1x -timeout 20m ./peer >"$out/peer-$r.txt" 2>&1 || true
  (cd "$scratch" && node propagation-bench.js --procs 2) >"$out/propagation-anchor-$r.jsonl" 2>&1 || true
  echo "== round $r: tui"
  go test -run '^$' -bench . ./tui >"$out/tui-$r.txt" 2>&1 || true
done
echo "raw results in $out/"

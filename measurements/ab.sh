#!/bin/bash
# Interleaved A/B of chaos seeds forced to 32 peers (AB_PEERS=n: n peers), one market at a time.
#
#   measurements/ab.sh OUT FROM TO 'ENV_A' 'ENV_B' [BIN_A [BIN_B]]
#
# For each seed FROM..TO runs arm A and arm B one after the other (A first on odd seeds, B first
# on even ones, so that both see the same machine), each as
#   env ENV_x CHAOS_PEERS=32 CHAOS_SEED=n BIN_x -test.run 'TestChaos$' -test.v
# under /usr/bin/time, and appends the seed's summary lines and a "cpu SEED ARM user sys wall"
# line to OUT/A.txt and OUT/B.txt. BIN_A defaults to ./chaos.test (go test -c ./peer/chaos),
# BIN_B to BIN_A. Summarise with: python3 measurements/chaossum.py OUT/A.txt (and B.txt).
# AB_PEERS=n forces another market size (default 32).
# Example (the ninth session's lookup A/B):
#   measurements/ab.sh /tmp/ab 71 100 CHAOS_LOOKUP_MS=250 CHAOS_LOOKUP_MS=1500 /tmp/chaos.test
set -euo pipefail
out=$1 from=$2 to=$3 envA=$4 envB=$5
binA=$(realpath "${6:-./chaos.test}")
binB=$(realpath "${7:-$binA}")
peers=${AB_PEERS:-32}
mkdir -p "$out"
for s in $(seq "$from" "$to"); do
  if (( s % 2 )); then arms="A B"; else arms="B A"; fi
  for arm in $arms; do
    if [ "$arm" = A ]; then e=$envA b=$binA; else e=$envB b=$binB; fi
    d=$(mktemp -d)
    (cd "$d" && env $e CHAOS_PEERS="$peers" CHAOS_SEED="$s" /usr/bin/time -f "cpu $s $arm %U %S %e" \
      "$b" -test.run 'TestChaos$' -test.v 2>&1 | grep -E "seed $s:|^cpu $s|FAIL|invariant" >> "$out/$arm.txt" || true)
    rm -rf "$d"
  done
done

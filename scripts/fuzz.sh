#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default 3s), one after another.
# Usage: scripts/fuzz.sh [DURATION]    e.g. scripts/fuzz.sh 5m
# A crash leaves its input under the package's testdata/fuzz/<Target>/ and fails the script:
# fix the bug and commit the input as a seed.
set -euo pipefail
cd "$(dirname "$0")/.."
time_each=${1:-3s}
status=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== fuzz $pkg $target ($time_each)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time_each" "$pkg" >/tmp/fuzz-$$.log 2>&1; then
      cat /tmp/fuzz-$$.log
      status=1
    else
      tail -n 2 /tmp/fuzz-$$.log
    fi
  done
done
rm -f /tmp/fuzz-$$.log
exit $status

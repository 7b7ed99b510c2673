#!/usr/bin/env bash
# A bounded fuzz run of every Fuzz target: FUZZTIME each (default 50000x, a
# count of executions, a few seconds to ~15 s per target here).
#
# A count rather than a duration: with a duration, Go 1.26's fuzz coordinator
# can report "context deadline exceeded" as a failure when -fuzztime expires
# while a starved worker is mid-call (golang/go#75804, fixed in Go 1.27) — a
# flake on a loaded 2-core machine, with no failing input written. A real
# finding always writes testdata/fuzz/<target>/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-50000x}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz: $pkg $f ($t)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
  done
done

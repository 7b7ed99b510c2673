#!/usr/bin/env bash
# bench/timings.sh FILE — where a `tailab up` or `down` went, phase by phase,
# from the spans the libvirt provider wrote to TAILAB_TIMINGS=FILE
# (provision/libvirt/timing.go: PHASE SUBJECT START_MS DURATION_MS per line).
#
# Per phase: how many spans, their mean and max length, their sum, and their
# wall time (the union of the spans: how long at least one was running) with
# the first start and last end, in ms from the provider's creation.
set -euo pipefail
f=${1:?usage: timings.sh FILE}
printf '%-16s %5s %8s %8s %9s %8s %8s %8s\n' phase n mean max sum wall first last
sort -t$'\t' -k1,1 -k3,3n "$f" | awk -F'\t' '
function flush() {
  if (ph == "") return
  wall += cur_e - cur_s
  printf "%-16s %5d %8.1f %8.1f %9.1f %8.1f %8.1f %8.1f\n", ph, n, sum / n, mx, sum, wall, first, last
}
$1 != ph {
  flush()
  ph = $1; n = 0; sum = 0; mx = 0; wall = 0; first = $3; last = 0; cur_s = $3; cur_e = $3
}
{
  s = $3 + 0; e = $3 + $4
  n++; sum += $4; if ($4 > mx) mx = $4
  if (e > last) last = e
  if (s > cur_e) { wall += cur_e - cur_s; cur_s = s; cur_e = e } else if (e > cur_e) cur_e = e
}
END { flush() }' | sort -k7,7n

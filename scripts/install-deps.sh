#!/usr/bin/env bash
# The install step: every Debian package tailab needs to build, run local labs
# and run its whole test suite (scripts/debian-packages.txt), then what the
# tests need from other registries (scripts/install-tools.sh: Go modules,
# staticcheck, Terraform, the tiny VM guest). Every download of the suite
# happens here, retried, never inside a test. Idempotent; needs root.
#
#   install-deps.sh               everything (scripts/test.sh, CI)
#   install-deps.sh --no-tools    Debian packages and the containers' root file
#                                 system only: enough to build tailab and run labs
#                                 (scripts/demo.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tools=1
case ${1:-} in
--no-tools) tools=0 ;;
"") ;;
*) echo "usage: $0 [--no-tools]" >&2; exit 2 ;;
esac
source "$here/retry.sh"
mapfile -t pkgs < <(grep -v '^\s*#' "$here/debian-packages.txt" | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  mirror="the Debian mirror ($(apt-get indextargets --format '$(SITE)' 2>/dev/null | sort -u | paste -sd' ' || true))"
  # apt-get update exits 0 when a mirror does not answer; --error-on=any makes that a failure to retry.
  retry "install-deps: apt-get update" "$mirror" apt-get update -qq --error-on=any
  retry "install-deps: apt-get install" "$mirror" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts no daemon for us here (no systemd as PID 1), and the tests start
# their own in private namespaces: make sure no packaged default runs on the host.
command -v go >/dev/null || { echo "install-deps: Go is required (go1.22+ on PATH)" >&2; exit 1; }
# The lab containers' root file system (Debian packages, cached by the hash of
# templates/rootfs/packages.txt: built once, ~1-5 min; see scripts/build-rootfs.sh).
bash "$here/build-rootfs.sh" >/dev/null
((tools == 0)) || bash "$here/install-tools.sh"

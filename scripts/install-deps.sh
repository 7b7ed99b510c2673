#!/usr/bin/env bash
# Installs every Debian package tailab needs to build, run local labs and run its
# whole test suite (scripts/debian-packages.txt). Idempotent; needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t pkgs < <(grep -v '^\s*#' "$here/debian-packages.txt" | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts no daemon for us here (no systemd as PID 1), and the tests start
# their own in private namespaces: make sure no packaged default runs on the host.
command -v go >/dev/null || { echo "install-deps: Go is required (go1.22+ on PATH)" >&2; exit 1; }
# The lab containers' root file system (Debian packages, cached by the hash of
# templates/rootfs/packages.txt: built once, ~1-5 min; see scripts/build-rootfs.sh).
bash "$here/build-rootfs.sh" >/dev/null

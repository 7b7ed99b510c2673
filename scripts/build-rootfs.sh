#!/usr/bin/env bash
# build-rootfs.sh [--print] [ROOT]
#
# Builds the root filesystem of tailab's lab containers once, from Debian
# packages (mmdebstrap, variant minbase), never from the host's own /: the list
# is templates/rootfs/packages.txt (what the catalog's local labs run: sshd,
# busybox, iproute2, dnsmasq, nftables, Samba AD...). The tree lands in
# ROOT/HASH (ROOT defaults to /var/cache/tailab/rootfs, HASH is the first 12 hex
# digits of the list's SHA-256: tailab computes the same path from the list it
# embeds, so a changed list asks for a new build). An existing build is kept
# (the script prints its path and exits). Containers mount it read-only through
# an idmapped mount: it stays owned by host root, unshifted.
#
#   --print   print the path the build would have, build nothing
#
# The packages come from the host's own apt sources (same suites, so the
# rootfs's Samba is the host's version: Samba AD templates are shared).
# Needs root and mmdebstrap. Retries a failed download 3 times.
set -euo pipefail

die() { echo "build-rootfs: $*" >&2; exit 1; }
log() { echo "build-rootfs: $*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
list=$here/../templates/rootfs/packages.txt
print=0
if [[ ${1:-} == --print ]]; then print=1; shift; fi
root=${1:-${TAILAB_ROOTFS_ROOT:-/var/cache/tailab/rootfs}}
[[ -f $list ]] || die "missing $list"
hash=$(sha256sum "$list" | cut -c1-12)
target=$root/$hash
if ((print)); then echo "$target"; exit 0; fi
if [[ -f $target/.tailab-rootfs ]]; then
  echo "$target"
  exit 0
fi
[[ $(id -u) == 0 ]] || die "needs root"
command -v mmdebstrap >/dev/null || die "missing mmdebstrap (apt-get install mmdebstrap; it is in scripts/debian-packages.txt)"

mapfile -t pkgs < <(grep -v '^\s*#' "$list" | grep -v '^\s*$')
include=$(IFS=,; echo "${pkgs[*]}")
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
# The host's apt sources (one-line and deb822 files), as apt reads them.
sources=()
[[ -s /etc/apt/sources.list ]] && grep -q '^\s*deb ' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] && sources+=("$f")
done
((${#sources[@]})) || die "no apt sources on this host (/etc/apt/sources.list, /etc/apt/sources.list.d)"

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if [[ -f $target/.tailab-rootfs ]]; then echo "$target"; exit 0; fi
tmp=$root/.build-$hash
t0=$SECONDS
for attempt in 1 2 3; do
  rm -rf "$tmp"
  log "building $target from ${#pkgs[@]} packages ($suite, attempt $attempt)"
  if mmdebstrap --quiet --variant=minbase --mode=root --include="$include" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    "$suite" "$tmp" "${sources[@]}" >"$root/.build.log" 2>&1; then
    break
  fi
  if ((attempt == 3)); then
    tail -15 "$root/.build.log" >&2
    rm -rf "$tmp"
    die "mmdebstrap failed 3 times: is the Debian mirror of ${sources[*]} reachable? (log $root/.build.log)"
  fi
  sleep $((attempt * 5))
done
# What is the build host's and must not be every machine's: ssh host keys
# (each container has its own in /srv), the resolver, the name, the machine id.
rm -f "$tmp"/etc/ssh/ssh_host_*
: >"$tmp/etc/resolv.conf"
: >"$tmp/etc/hostname"
: >"$tmp/etc/machine-id"
rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
# libvirt creates ROOT/.oldroot at every start: on a read-only root it must exist.
# Mount points: the Samba AD templates a samba-dc machine copies (init.sh).
mkdir -p "$tmp/.oldroot" "$tmp/var/cache/tailab/samba-dc"
printf 'packages=%s\nbuilt=%s\n' "$hash" "$(date -u +%FT%TZ)" >"$tmp/.tailab-rootfs"
rm -rf "$target"
mv "$tmp" "$target"
log "built $target in $((SECONDS - t0)) s ($(du -sm "$target" | cut -f1) MiB)"
echo "$target"

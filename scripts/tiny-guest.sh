#!/usr/bin/env bash
# tiny-guest.sh [--fetch] OUTDIR: builds a tiny VM guest that boots in ~3 s under QEMU/TCG.
#
#   OUTDIR/vmlinuz     Debian's cloud kernel (linux-image-6.1.0-*-cloud-amd64, newest)
#   OUTDIR/initrd.gz   busybox-static + /init + the virtio and ACPI button modules
#   OUTDIR/base.qcow2  64 MiB ext2 disk (label tailab-base, marker file /tailab-disk),
#                      the backing file of thin clones (qemu-img create -b ... -F qcow2)
#   OUTDIR/manifest    versions and sha256 of everything above
#
# The guest's /init reads its settings from the kernel command line:
#   tailab.hostname=NAME        hostname (default tailab-guest)
#   tailab.ip=SPEC[,SPEC...]    one SPEC per NIC in order (eth0, eth1, ...):
#                               A.B.C.D/PREFIX (static), dhcp (udhcpc) or off;
#                               NICs without a SPEC use DHCP
#   tailab.gw=A.B.C.D           default gateway
#   tailab.dns=A.B.C.D          nameserver written to /etc/resolv.conf
#   tailab.banner=PORT[,PORT]   TCP ports answering one banner line (default 22)
# It mounts /dev/vda (ext2/ext4) on /mnt/disk when present, serves
# http://ADDR/ (hostname, addresses, disk marker) with busybox httpd on port 80,
# answers "SSH-2.0-TailabTinyGuest <hostname>" on the banner ports (a TCP/banner
# readiness check, NOT an SSH server), prints "TAILAB-GUEST-READY hostname=...
# addrs=..." on the console (ttyS0) and powers off on an ACPI power button event
# (virsh shutdown) or SIGTERM/SIGUSR2/SIGPWR to PID 1.
#
# Only --fetch touches the network: it downloads the newest Debian cloud kernel
# package (or TAILAB_GUEST_KERNEL_PKG) from the Debian mirror into OUTDIR/src,
# with retries, and drops the older one. The install step runs it
# (scripts/install-tools.sh); tests build from OUTDIR/src and never download.
# Cached: re-running with the same inputs (kernel package, busybox, this script)
# does nothing. Concurrent runs on one OUTDIR are serialised (flock).
set -euo pipefail

usage() { echo "usage: $0 [--fetch] OUTDIR" >&2; exit 2; }
fetch=0
if [[ ${1:-} == --fetch ]]; then
  fetch=1
  shift
fi
[[ $# -eq 1 ]] || usage
case $1 in -h|--help|-*) usage ;; esac
source "$(dirname "$0")/retry.sh"

out=$(realpath -m "$1")
script="$(realpath "$0")"
mkdir -p "$out/src"
exec 9>"$out/.lock"
flock 9

log() { echo "tiny-guest: $*" >&2; }
for b in busybox cpio gzip dpkg-deb mke2fs qemu-img sha256sum; do
  command -v "$b" >/dev/null || { log "missing $b (apt-get install busybox-static cpio e2fsprogs qemu-utils)"; exit 1; }
done
bb=$(command -v busybox)
# Must be the static build: the initramfs has no libc.
if ldd "$bb" >/dev/null 2>&1; then log "$bb is dynamic: install busybox-static"; exit 1; fi

# --- inputs ---------------------------------------------------------------
kernels=linux-image-6.1.0-*-cloud-amd64
# newest_deb: the newest kernel package in OUTDIR/src (of TAILAB_GUEST_KERNEL_PKG if set).
newest_deb() { ls "$out"/src/${TAILAB_GUEST_KERNEL_PKG:-$kernels}_*_amd64.deb 2>/dev/null | sort -V | tail -1 || true; }
if ((fetch)); then
  mirror="the Debian mirror ($(apt-get indextargets --format '$(SITE)' 2>/dev/null | sort -u | paste -sd' ' || true))"
  newest_pkg() { apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' 2>/dev/null | awk '{print $1}' | sort -V | tail -1 || true; }
  pkg=${TAILAB_GUEST_KERNEL_PKG:-$(newest_pkg)}
  if [[ -z $pkg ]]; then # no apt lists yet (a fresh machine)
    retry "tiny-guest: apt-get update" "$mirror" apt-get update -qq --error-on=any
    pkg=$(newest_pkg)
    [[ -n $pkg ]] || { log "no $kernels package in the apt lists of $mirror"; exit 1; }
  fi
  ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  deb=$(ls "$out/src/${pkg}_${ver/:/%3a}_amd64.deb" 2>/dev/null || true)
  if [[ -z $deb ]]; then
    log "downloading $pkg $ver"
    (cd "$out/src" && retry "tiny-guest: apt-get download $pkg" "$mirror" apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
    deb=$(ls -t "$out/src/${pkg}"_*_amd64.deb | head -1)
  fi
  # Keep only the package in use.
  for f in "$out"/src/*.deb; do [[ $f == "$deb" ]] || rm -f "$f"; done
else
  deb=$(newest_deb)
  [[ -n $deb ]] || {
    log "no kernel package (${TAILAB_GUEST_KERNEL_PKG:-$kernels}) in $out/src: the install step fetches it; run: sudo bash scripts/install-deps.sh (or: bash scripts/tiny-guest.sh --fetch $out)"
    exit 1
  }
fi

disk_mib=64
inputs=$( { basename "$deb"; sha256sum "$bb" | cut -d' ' -f1; sha256sum "$script" | cut -d' ' -f1; echo "$disk_mib"; } | sha256sum | cut -c1-16)
if [[ -f $out/manifest && -f $out/vmlinuz && -f $out/initrd.gz && -f $out/base.qcow2 ]] &&
  grep -qx "inputs=$inputs" "$out/manifest"; then
  log "up to date: $out"
  exit 0
fi

# --- build ----------------------------------------------------------------
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building in $out (kernel $(basename "$deb"))"
dpkg-deb -x "$deb" "$work/k"
kver=$(ls "$work/k/lib/modules")
root=$work/root
mkdir -p "$root"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,run,tmp,mnt/disk,www,var/log,lib/modules/"$kver"}
cp "$bb" "$root/bin/busybox"
for a in $("$bb" --list); do
  [[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"
done
ln -sf ../bin/busybox "$root/sbin/init"

# Modules (and what modules.dep says they need): virtio PCI transport, disk,
# network, and the ACPI power button (+ evdev, read by acpid) that `virsh shutdown` presses.
mods="virtio_pci virtio_blk virtio_net button evdev"
kmods=$work/k/lib/modules/$kver
"$bb" depmod -b "$work/k" "$kver"
want=""
for m in $mods; do
  line=$(grep -E "(^|/)$m\.ko:" "$kmods/modules.dep") || { log "module $m not in $kver"; exit 1; }
  want="$want ${line%%:*} ${line#*:}"
done
for f in $(echo "$want" | tr ' ' '\n' | sort -u); do
  mkdir -p "$root/lib/modules/$kver/$(dirname "$f")"
  cp "$kmods/$f" "$root/lib/modules/$kver/$f"
done
"$bb" depmod -b "$root" "$kver"
echo "$mods" >"$root/etc/modules"

cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
exec /sbin/tailab-poweroff
EOF
cat >"$root/sbin/tailab-poweroff" <<'EOF'
#!/bin/sh
# Clean power off: stop services, unmount the disk, tell the console, power off.
echo "TAILAB-GUEST-POWEROFF" >/dev/console
killall httpd nc udhcpc acpid 2>/dev/null
sync
umount /mnt/disk 2>/dev/null
poweroff -f
EOF
cat >"$root/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc event handler: configure the lease on $interface.
case $1 in
deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
  ip -4 addr flush dev "$interface"
  ip addr add "$ip/${mask:-24}" dev "$interface"
  if [ -n "$router" ]; then
    ip route replace default via "${router%% *}" dev "$interface"
  fi
  if [ -n "$dns" ]; then
    : >/etc/resolv.conf
    for s in $dns; do echo "nameserver $s" >>/etc/resolv.conf; done
  fi
  [ -n "$hostname" ] && [ ! -f /run/hostname.set ] && hostname "$hostname"
  echo "tailab-guest: $interface $1 $ip/${mask:-24}" >/dev/console
  ;;
esac
exit 0
EOF
cat >"$root/bin/tailab-banner" <<'EOF'
#!/bin/sh
echo "SSH-2.0-TailabTinyGuest $(hostname)"
EOF
cat >"$root/init" <<'EOF'
#!/bin/sh
# tailab tiny guest init (PID 1). Settings: tailab.* on the kernel command line.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
ip link set lo up
trap '/sbin/tailab-poweroff' TERM USR2 PWR

arg() { # arg NAME DEFAULT: value of NAME= on the kernel command line
  v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -1)
  echo "${v:-$2}"
}
name=$(arg tailab.hostname tailab-guest)
hostname "$name"
touch /run/hostname.set

modprobe -a $(cat /etc/modules) 2>/dev/null
mdev -s 2>/dev/null
acpid -c /etc/acpi -l /run/acpid.log

# Network: one spec per NIC, in name order.
specs=$(arg tailab.ip "")
i=0
for dev in $(ls /sys/class/net | grep -v '^lo$' | sort); do
  i=$((i + 1))
  spec=$(echo "$specs" | awk -F, -v n=$i '{print $n}')
  spec=${spec:-dhcp}
  ip link set "$dev" up
  case $spec in
  off) ;;
  dhcp) udhcpc -i "$dev" -s /etc/udhcpc.script -t 10 -T 1 -A 3 -b -q -p "/run/udhcpc.$dev.pid" >/dev/null 2>&1 ;;
  *) ip addr add "$spec" dev "$dev" ;;
  esac
done
gw=$(arg tailab.gw "")
[ -n "$gw" ] && ip route replace default via "$gw"
dns=$(arg tailab.dns "")
[ -n "$dns" ] && echo "nameserver $dns" >/etc/resolv.conf

# Disk: /dev/vda holds an ext2/ext4 file system (the base image has a marker).
disk=none
if [ -b /dev/vda ]; then
  if mount -t ext4 /dev/vda /mnt/disk 2>/dev/null; then
    disk=$(cat /mnt/disk/tailab-disk 2>/dev/null || echo mounted)
  else
    disk=raw
  fi
fi

addrs=$(ip -4 -o addr show scope global | awk '{print $4}' | tr '\n' ',' | sed 's/,$//')
{
  echo "hostname=$name"
  echo "addrs=$addrs"
  echo "disk=$disk"
  echo "kernel=$(uname -r)"
} >/www/index.html
cp /www/index.html /www/info.txt

httpd -h /www -p 80
ports=$(arg tailab.banner 22 | tr ',' ' ')
for p in $ports; do
  nc -ll -p "$p" -e /bin/tailab-banner &
done
# Ready means listening: wait (up to 2 s per port) for the sockets.
for p in 80 $ports; do
  n=0
  while [ $n -lt 100 ] && ! netstat -ltn 2>/dev/null | grep -q ":$p "; do
    usleep 20000
    n=$((n + 1))
  done
done

echo "TAILAB-GUEST-READY hostname=$name addrs=$addrs disk=$disk" >/dev/console
while :; do
  sleep 3600 &
  wait $!
done
EOF
chmod 755 "$root/init" "$root/sbin/tailab-poweroff" "$root/etc/acpi/PWRF/00000080" \
  "$root/etc/udhcpc.script" "$root/bin/tailab-banner"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$work/initrd.gz"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"

# Base disk: ext2 with a marker, filled from a directory (no loop mount needed).
mkdir -p "$work/disk"
echo "tailab-base" >"$work/disk/tailab-disk"
mke2fs -q -F -t ext2 -L tailab-base -d "$work/disk" "$work/base.raw" "${disk_mib}M" >/dev/null
qemu-img convert -f raw -O qcow2 "$work/base.raw" "$work/base.qcow2"

{
  echo "inputs=$inputs"
  echo "kernel_package=$(basename "$deb")"
  echo "kernel_release=$kver"
  echo "busybox=$("$bb" 2>&1 | head -1 | awk '{print $2}')"
  echo "modules=$mods"
  echo "disk=base.qcow2 ext2 ${disk_mib}MiB label=tailab-base marker=/tailab-disk"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for f in vmlinuz initrd.gz base.qcow2; do
    echo "sha256 $(sha256sum "$work/$f" | cut -d' ' -f1) $f"
  done
} >"$work/manifest"
for f in vmlinuz initrd.gz base.qcow2; do mv -f "$work/$f" "$out/$f"; done
mv -f "$work/manifest" "$out/manifest"
log "done: $out"
cat "$out/manifest"

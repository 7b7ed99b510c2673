#!/usr/bin/env bash
# libvirtd-netns.sh start|stop|status|env [DIR]
#
# A private libvirtd (QEMU/TCG and LXC drivers) in its own network namespace and
# its own mount namespace, with all its state under DIR: nothing is created in the
# root network namespace (bridges, dnsmasq, guests all live in the namespace) and
# the host's /etc/libvirt, /run and /var are left alone. See docs/private-libvirtd.md.
#
#   start   start it (idempotent), wait until it answers, print DIR/env
#   stop    destroy running guests and networks, stop the daemon (by its PID),
#           clean LXC leftovers, delete the network namespace; DIR is kept
#   status  "running ..." (exit 0) or "stopped" (exit 3)
#   env     print DIR/env (exit 3 when stopped): TAILAB_NETNS, TAILAB_QEMU_URI, ...
#
# DIR defaults to ${TAILAB_DATA_DIR:-$HOME/.local/share/tailab}/libvirtd. It must
# not be under /var or /run (they are replaced inside the daemon's namespace).
# TAILAB_LIBVIRT_CAPS_CACHE (default /var/tmp/tailab-libvirt-caps, empty: off)
# shares libvirt's QEMU capabilities cache between DIRs (first start 10 s -> <1 s).
# Needs root, iproute2, util-linux, libvirt-daemon(-driver-qemu/-lxc),
# libvirt-clients, qemu-system-x86, dnsmasq and iptables.
set -euo pipefail

die() { echo "libvirtd-netns: $*" >&2; exit 1; }
log() { echo "libvirtd-netns: $*" >&2; }
usage() { echo "usage: $0 start|stop|status|env [DIR]" >&2; exit 2; }

[[ $# -ge 1 && $# -le 2 ]] || usage
cmd=$1
dir=${2:-${TAILAB_DATA_DIR:-$HOME/.local/share/tailab}/libvirtd}
dir=$(realpath -m "$dir")
case $dir in
/var | /var/* | /run | /run/* | /etc/libvirt*) die "DIR $dir must not be under /var, /run or /etc/libvirt" ;;
*[[:space:]]*) die "DIR must not contain white space: $dir" ;;
esac
ns=tailab-$(printf %s "$dir" | sha256sum | cut -c1-8)
sock=$dir/sock/libvirt-sock
pidfile=$dir/run/libvirtd.pid
hostvar=$dir/hostvar
caps_cache=${TAILAB_LIBVIRT_CAPS_CACHE-/var/tmp/tailab-libvirt-caps}
qemu_uri="qemu:///system?socket=$sock"
lxc_uri="lxc:///system?socket=$sock"
((${#sock} < 100)) || die "socket path too long for a unix socket: $sock"

# daemon_pid prints the PID of the libvirtd this script started for DIR, if it
# still runs in the namespace: a stale or recycled PID is not ours.
daemon_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]] || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */libvirtd ]] || return 1
  [[ -e /run/netns/$ns ]] || return 1
  [[ $(readlink "/proc/$pid/ns/net") == "net:[$(stat -L -c %i "/run/netns/$ns")]" ]] || return 1
  echo "$pid"
}

env_lines() {
  cat <<EOF
TAILAB_LIBVIRTD_DIR=$dir
TAILAB_LIBVIRTD_PID=$1
TAILAB_NETNS=$ns
TAILAB_LIBVIRT_SOCKET=$sock
TAILAB_QEMU_URI=$qemu_uri
TAILAB_LXC_URI=$lxc_uri
TAILAB_HOSTVAR=$hostvar
TAILAB_LIBVIRTD_LOG=$dir/log/libvirtd.log
EOF
}

# prepare writes the private root: configuration, passwd/group, state dirs.
prepare() {
  mkdir -p "$dir"/{etc,run/lock,sock,log,hostvar} \
    "$dir"/var/{lib/libvirt/dnsmasq,log/libvirt,cache/libvirt,tmp}
  ln -sfn /run "$dir/var/run"
  ln -sfn /run/lock "$dir/var/lock"
  # /etc/libvirt as shipped (libvirt.conf...) plus our daemon and driver settings.
  # Only the top-level client/admin settings: never the host's domains or networks.
  for f in /etc/libvirt/libvirt.conf /etc/libvirt/libvirt-admin.conf; do
    [[ -f $f ]] && cp "$f" "$dir/etc/"
  done
  cat >"$dir/etc/libvirtd.conf" <<EOF
# written by libvirtd-netns.sh
unix_sock_dir = "$dir/sock"
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$dir/log/libvirtd.log"
EOF
  cat >"$dir/etc/qemu.conf" <<'EOF'
# written by libvirtd-netns.sh: run QEMU as root, console/serial logs without virtlogd
user = "root"
group = "root"
dynamic_ownership = 0
stdio_handler = "file"
EOF
  # libvirt refuses to start QEMU without a libvirt-qemu user and group, even as root.
  cp /etc/passwd "$dir/passwd"
  cp /etc/group "$dir/group"
  grep -q '^libvirt-qemu:' "$dir/passwd" ||
    echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >>"$dir/passwd"
  grep -q '^libvirt-qemu:' "$dir/group" || echo 'libvirt-qemu:x:64055:' >>"$dir/group"
  grep -q '^libvirt:' "$dir/group" || echo 'libvirt:x:64056:' >>"$dir/group"

  # Runs inside `ip netns exec`, which gives it a private mount namespace.
  cat >"$dir/start-inner.sh" <<EOF
#!/bin/sh
# written by libvirtd-netns.sh: mounts of the daemon's private mount namespace
set -e
mount --make-rslave /
mount --bind '$dir/etc' /etc/libvirt
umount -l /run/netns 2>/dev/null || true    # LXC system containers fail otherwise
mount --bind '$dir/run' /run
mount --bind /var '$hostvar'                 # the real /var, for containers
mount --bind '$dir/var' /var
mount --bind '$hostvar/tmp' /var/tmp         # shared: guest images in /var/tmp
mount --bind '$dir/passwd' /etc/passwd
mount --bind '$dir/group' /etc/group
# ip netns exec remounted /sys: cgroups are gone; LXC needs the v1 hierarchies.
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
n=0
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
  mkdir -p /sys/fs/cgroup/\$c
  if mount -t cgroup -o \$c cgroup /sys/fs/cgroup/\$c 2>/dev/null; then n=\$((n+1)); else rmdir /sys/fs/cgroup/\$c; fi
done
mkdir -p /sys/fs/cgroup/systemd
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd 2>/dev/null || rmdir /sys/fs/cgroup/systemd
# (a cgroup2 mount at /sys/fs/cgroup/unified makes LXC start fail: not mounted)
if [ \$n = 0 ]; then
  umount /sys/fs/cgroup
  mount -t cgroup2 cgroup2 /sys/fs/cgroup || true
fi
ip link set lo up
exec /usr/sbin/libvirtd -d --pid-file '$pidfile' </dev/null >>'$dir/log/libvirtd.stdio' 2>&1
EOF
  chmod 755 "$dir/start-inner.sh"
}

start() {
  local pid
  if pid=$(daemon_pid); then
    log "already running (pid $pid, netns $ns)"
    env_lines "$pid" | tee "$dir/env"
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "needs root"
  for b in ip virsh /usr/sbin/libvirtd iptables dnsmasq; do
    command -v "$b" >/dev/null || die "missing $b (see scripts/debian-packages.txt)"
  done
  # libvirtd looks for iptables once, at start: it must be installed before.
  prepare
  rm -f "$pidfile" "$dir/env" "$sock" "$sock"-ro "$dir/sock/libvirt-admin-sock"
  [[ -e /run/netns/$ns ]] || ip netns add "$ns"
  # QEMU capabilities: libvirt probes them on the first connection (~8 s under
  # TCG) and caches them; a cache shared between DIRs makes that ~0.3 s. libvirt
  # re-probes by itself when QEMU, libvirtd or the kernel changed.
  local caps=$dir/var/cache/libvirt/qemu/capabilities f
  if [[ -n $caps_cache && -d $caps_cache ]] && ! compgen -G "$caps/*.xml" >/dev/null; then
    mkdir -p "$caps"
    cp "$caps_cache"/*.xml "$caps/" 2>/dev/null || true
  fi
  local t0=$SECONDS
  # 9>&-: the daemon must not inherit the lock on DIR/.lock (stop would wait forever).
  ip netns exec "$ns" "$dir/start-inner.sh" 9>&- || die "libvirtd failed to start: see $dir/log/libvirtd.log"
  # The first connection probes QEMU's capabilities (~8 s under TCG).
  local deadline=$((SECONDS + ${TAILAB_LIBVIRTD_START_TIMEOUT:-90}))
  until [[ -S $sock ]] && timeout 60 virsh -q -c "$qemu_uri" version >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      tail -20 "$dir/log/libvirtd.log" >&2 2>/dev/null || true
      die "libvirtd did not answer on $sock"
    fi
    sleep 0.2
  done
  timeout 60 virsh -q -c "$lxc_uri" version >/dev/null 2>&1 || die "the LXC driver does not answer: see $dir/log/libvirtd.log"
  pid=$(daemon_pid) || die "libvirtd is not running (pid file $pidfile)"
  if [[ -n $caps_cache ]] && mkdir -p "$caps_cache" 2>/dev/null; then
    for f in "$caps"/*.xml; do
      [[ -f $f ]] && cp "$f" "$caps_cache/.$$.tmp" && mv -f "$caps_cache/.$$.tmp" "$caps_cache/${f##*/}"
    done
  fi
  log "started pid $pid in netns $ns in $((SECONDS - t0)) s"
  env_lines "$pid" >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  cat "$dir/env"
}

# cleanup_cgroups removes the empty cgroups libvirt leaves under machine/ in
# each v1 hierarchy (LXC). Non-empty ones (someone's running guest) stay.
cleanup_cgroups() {
  unshare -m sh -c '
    t=$(mktemp -d)
    mount -t tmpfs none "$t" || exit 0
    for c in cpu cpuacct cpuset memory devices freezer blkio pids systemd; do
      o=$c; [ $c = systemd ] && o=none,name=systemd
      mkdir -p "$t/$c"
      mount -t cgroup -o $o cgroup "$t/$c" 2>/dev/null || continue
      if [ -d "$t/$c/machine" ]; then
        find "$t/$c/machine" -depth -type d -exec rmdir {} \; 2>/dev/null
      fi
      umount "$t/$c"
    done
    umount "$t"; rmdir "$t"' || true
}

stop() {
  local pid
  if pid=$(daemon_pid); then
    # Guests and dnsmasq outlive libvirtd: stop them through it first.
    local uri d n
    for uri in "$qemu_uri" "$lxc_uri"; do
      for d in $(timeout 30 virsh -q -c "$uri" list --name 2>/dev/null); do
        timeout 60 virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || log "destroy $d failed"
      done
    done
    for n in $(timeout 30 virsh -q -c "$qemu_uri" net-list --name 2>/dev/null); do
      timeout 60 virsh -q -c "$qemu_uri" net-destroy "$n" >/dev/null 2>&1 || log "net-destroy $n failed"
    done
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
      log "libvirtd (pid $pid) ignored SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped pid $pid"
  else
    log "not running"
  fi
  rm -f "$pidfile" "$dir/env"
  if [[ -e /run/netns/$ns ]]; then
    # What libvirtd started and left behind (QEMU, LXC controllers, dnsmasq) is
    # ours; anything else in the namespace is reported, not killed.
    local p comm others=""
    for p in $(ip netns pids "$ns" 2>/dev/null); do
      comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
      case $comm in
      qemu-system-* | libvirt_lxc | dnsmasq) kill -KILL "$p" 2>/dev/null && log "killed leftover $comm (pid $p)" ;;
      libvirtd)
        # Ours (started with our pid file) even if DIR/run was removed under it.
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "--pid-file $pidfile"; then
          kill -TERM "$p" 2>/dev/null && log "stopped libvirtd without pid file (pid $p)"
        else
          others="$others $p($comm)"
        fi
        ;;
      *) others="$others $p($comm)" ;;
      esac
    done
    [[ -z $others ]] || log "processes still in netns $ns (not ours, left alone):$others"
    ip netns del "$ns" || log "ip netns del $ns failed"
  fi
  # LXC leftovers: /.oldroot (the containers' root is the host's /) and empty
  # cgroups, only when no LXC container of any daemon runs (one may be starting).
  local c lxc=0
  for c in /proc/[0-9]*/comm; do
    [[ $(cat "$c" 2>/dev/null) == libvirt_lxc ]] && { lxc=1; break; }
  done
  if ((lxc == 0)); then
    if [[ -d /.oldroot ]] && ! mountpoint -q /.oldroot; then rmdir /.oldroot 2>/dev/null || true; fi
    cleanup_cgroups
  fi
}

status() {
  local pid
  if pid=$(daemon_pid); then
    echo "running pid=$pid netns=$ns uri=$qemu_uri"
  else
    echo "stopped"
    exit 3
  fi
}

case $cmd in
start | stop | status)
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  if ! flock -w 1 9; then
    # A daemon started by an early version of this script inherited the lock.
    if pid=$(daemon_pid) && [[ $(readlink "/proc/$pid/fd/9" 2>/dev/null) == "$dir/.lock" ]]; then
      log "libvirtd (pid $pid) holds $dir/.lock: going on without it"
    else
      flock -w "${TAILAB_LIBVIRTD_LOCK_TIMEOUT:-300}" 9 || die "$dir/.lock is held by another process"
    fi
  fi
  "$cmd"
  ;;
env)
  daemon_pid >/dev/null || { echo "libvirtd-netns: not running for $dir" >&2; exit 3; }
  cat "$dir/env"
  ;;
*) usage ;;
esac

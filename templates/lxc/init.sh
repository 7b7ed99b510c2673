#!/bin/sh
# tailab container init, shared by the session's containers (/srv/lib/init.sh).
# PID 1 of an LXC system container: brings the NICs up, starts the machine's
# services, and exits on SIGTERM so that `virsh destroy` takes 0.2 s, not 1.8 s.
# What is the machine's own comes from the domain's <initenv>: TAILAB_MACHINE,
# TAILAB_CANDIDATE, TAILAB_SESSION, TAILAB_HOSTNAME, TAILAB_NICS (devices to
# bring up), TAILAB_DHCP (those configured by DHCP), TAILAB_ANNOUNCE (the
# management NIC and address), TAILAB_SERVICES, and TAILAB_KEYS (the grader's
# authorized SSH keys, one per '|').
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
pids=""
stop() { [ -n "$pids" ] && kill $pids 2>/dev/null; exit 0; }
trap stop TERM INT PWR HUP
# Shell builtins where they do: a container start is mostly process starts.
# A contained machine cannot (no sys_admin): the host sets its name right
# after the start; services wait for it (at most 5 s) rather than start under
# libvirt's (the domain's name, tl-SESSION.CANDIDATE.MACHINE, dots dropped).
t0=$(date +%s.%N)
if [ -n "$TAILAB_HOSTNAME" ] && ! echo "$TAILAB_HOSTNAME" 2>/dev/null >/proc/sys/kernel/hostname; then
  n=0
  while [ $n -lt 100 ]; do
    read -r h </proc/sys/kernel/hostname
    case $h in tl-*) ;; *) break ;; esac
    sleep 0.05; n=$((n + 1))
  done
fi
echo "$t0 init $(date +%s.%N) named" >/run/init.times
links="link set lo up"
for dev in $TAILAB_NICS; do links="$links
link set $dev up"; done
printf '%s\n' "$links" | ip -batch -
# Unsolicited ARP on the management NIC (TAILAB_ANNOUNCE: DEV=ADDR...): a
# readiness probe sent before the NIC had its address left the host's
# neighbour entry unresolved, and the host asks again only after a second.
for a in $TAILAB_ANNOUNCE; do
  busybox arping -q -U -c 1 -w 1 -I "${a%%=*}" -s "${a#*=}" "${a#*=}" >/dev/null 2>&1 &
done
for dev in $TAILAB_DHCP; do
  busybox udhcpc -i "$dev" -b -q -s /srv/lib/udhcpc.sh >"/run/udhcpc-$dev.log" 2>&1 &
done
(umask 077; IFS='|'; printf '%s\n' $TAILAB_KEYS >/run/authorized_keys)
for svc in $TAILAB_SERVICES; do
  case $svc in
  sshd)
    mkdir -p -m 0755 /run/sshd
    [ -s /srv/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /srv/ssh_host_ed25519_key
    /usr/sbin/sshd -D -e -f /srv/lib/sshd_config >/run/sshd.log 2>&1 &
    pids="$pids $!"
    ;;
  dnsmasq)
    dnsmasq -k --conf-file=/etc/dnsmasq.conf --pid-file=/run/dnsmasq.pid --dhcp-leasefile=/run/dnsmasq.leases --log-facility=/run/dnsmasq.log &
    pids="$pids $!"
    ;;
  httpd)
    mkdir -p /srv/www
    busybox httpd -f -p 80 -h /srv/www &
    pids="$pids $!"
    ;;
  smbd)
    mkdir -p /run/samba /srv/samba/private /srv/samba/lock /srv/samba/cache /srv/samba/state
    smbd -F --no-process-group -s /etc/samba/smb.conf >/run/smbd.log 2>&1 &
    pids="$pids $!"
    ;;
  samba-dc)
    mkdir -p /run/samba
    if [ -f /srv/samba-dc.env ]; then
      # A domain of its own in the private /srv/samba-dc, made at first start from
      # the host's template (/var/cache/tailab/samba-dc/KEY, ~0.2 s) or, without
      # one, provisioned here (~10 s; needs ~256 MiB). samba-dc.env sets REALM,
      # DOMAIN, DC_HOST, DC_IP and ADMINPASS (the Administrator's password).
      . /srv/samba-dc.env
      D=/srv/samba-dc
      if [ ! -f "$D/.tailab-ready" ]; then
        echo "$(date +%s.%N) start" >/run/samba-dc.times # where a first start goes
        rm -rf "$D" "$D.new"
        K=$(printf '%s_%s_%s_%s_%s_ntacl-user' "$REALM" "$DOMAIN" "$DC_HOST" "$DC_IP" "$(samba --version)" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9._\n-' '_')
        T=/var/cache/tailab/samba-dc/$K
        if [ -f "$T/.tailab-ready" ]; then
          cp -a "$T" "$D.new" && sed -i "s|$T|$D|g" "$D.new/etc/smb.conf" && rm -f "$D.new"/run/*.pid
          echo "$(date +%s.%N) copied" >>/run/samba-dc.times
        else
          mkdir -p "$D.new/run/ntp_signd" "$D.new/log" && chmod 750 "$D.new/run/ntp_signd" && : >/tmp/empty.conf &&
          samba-tool domain provision -s /tmp/empty.conf --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
            --dns-backend=SAMBA_INTERNAL --adminpass="$ADMINPASS" --host-name="$DC_HOST" --host-ip="$DC_IP" --targetdir="$D.new" \
            --option="pid directory=$D.new/run" --option="ntp signd socket directory=$D.new/run/ntp_signd" \
            --option="ncalrpc dir=$D.new/run/ncalrpc" --option="log file=$D.new/log/samba.log" \
            --option="acl_xattr:security_acl_name=user.NTACL" >/run/samba-provision.log 2>&1 &&
          sed -i "s|$D.new|$D|g" "$D.new/etc/smb.conf"
        fi
        # Secrets of its own (a template's are every copy's): the TLS key the
        # host made for this machine, random krbtgt and machine account
        # passwords, and the Administrator's from samba-dc.env, in one run.
        mv "$D.new" "$D" &&
        if [ -s /srv/samba-dc-tls/key.pem ]; then
          cp /srv/samba-dc-tls/key.pem /srv/samba-dc-tls/cert.pem "$D/private/tls/" &&
          cp /srv/samba-dc-tls/cert.pem "$D/private/tls/ca.pem" && chmod 600 "$D/private/tls/key.pem"
        fi &&
        ADMINPASS="$ADMINPASS" python3 /srv/lib/samba-dc-secrets.py "$D/etc/smb.conf" >/run/samba-provision.log 2>&1 &&
        date -u +%FT%TZ >"$D/.tailab-ready"
        echo "$(date +%s.%N) secrets" >>/run/samba-dc.times
      fi
      if [ -f "$D/.tailab-ready" ]; then
        samba -F --no-process-group -M single -s "$D/etc/smb.conf" >/run/samba.log 2>&1 &
        pids="$pids $!"
      else
        echo "samba-dc: the domain is not ready (/run/samba-provision.log): not started" >/run/samba.log
      fi
    else
      samba -F --no-process-group -M single -s /etc/samba/smb.conf >/run/samba.log 2>&1 &
      pids="$pids $!"
    fi
    ;;
  esac
done
# The saved network settings (net.*, the machine's own namespace), as a Linux
# system applies them at boot: a router whose forwarding was saved in
# /etc/sysctl.d still routes after a restart, one only set at run time does not.
# The saved firewall too (/etc/nftables.conf, as nftables.service loads it).
cat /etc/sysctl.d/*.conf /etc/sysctl.conf 2>/dev/null | grep -E '^[[:space:]]*net[./]' | sysctl -q -e -p - >/dev/null 2>&1
[ -f /etc/nftables.conf ] && nft -f /etc/nftables.conf >/run/nftables.log 2>&1
if [ -x /srv/start.sh ]; then /srv/start.sh >/run/start.log 2>&1
elif [ -f /srv/start.sh ]; then sh /srv/start.sh >/run/start.log 2>&1; fi # `files:` are written 0644
echo tailab-ready >/run/tailab-ready
# The host watches /srv (its dir): this write tells it to probe readiness now.
: >/srv/.tailab-started 2>/dev/null
while :; do sleep 3600 & wait $!; done

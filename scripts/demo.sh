#!/usr/bin/env bash
# The main job on the embedded default, on a fresh Debian 12 machine (as root):
# installs what is needed, builds tailab, starts a private libvirtd in its own
# network namespace and runs `tailab demo`: a 3-candidate session of the built-in
# lab ccp2-infra-local (Samba AD DC, TPE server, router, client: LXC containers),
# the reference solution applied fully, half and not at all, graded, with the
# session report and each candidate's jury record written (HTML).
#
# It ends with the candidates' gateway running for the demo session (Ctrl-C
# stops it) and prints c01's login and password and where to log in.
#
#   bash scripts/demo.sh            # the demo, then the gateway
#   bash scripts/demo.sh gateway    # the gateway again
#   bash scripts/demo.sh serve      # the dashboard on http://127.0.0.1:8080
#   bash scripts/demo.sh down       # remove the demo session and stop the daemon
set -euo pipefail
cd "$(dirname "$0")/.."
export TAILAB_DATA_DIR=${TAILAB_DATA_DIR:-$HOME/.local/share/tailab}
daemon_dir=$TAILAB_DATA_DIR/libvirtd
session=${TAILAB_DEMO_SESSION:-demo}
ssh_port=${TAILAB_DEMO_SSH_PORT:-2222} web_port=${TAILAB_DEMO_WEB_PORT:-8443} # the gateway's, on the host's 127.0.0.1

bash scripts/install-deps.sh --no-tools
mkdir -p bin
go build -ldflags "-X main.version=$(bash scripts/version.sh)" -o bin/tailab ./cmd/tailab
bash scripts/libvirtd-netns.sh start "$daemon_dir" >/dev/null
set -a; . "$daemon_dir/env"; set +a
export TAILAB_VIRT_TYPE=qemu # this machine has no working KVM; a lab host would use kvm
# Contained containers (own user namespace, the rootfs install-deps built): the
# gateway opens candidates' shells only there.
export TAILAB_ROOTFS=${TAILAB_ROOTFS:-built}
# The daemon's bridges live in its namespace: tailab runs there to reach the machines.
run() { ip netns exec "$TAILAB_NETNS" bin/tailab "$@"; }

case ${1:-} in
down)
  run down --session "$session" --force || true # the gateway opened the exam window
  bash scripts/libvirtd-netns.sh stop "$daemon_dir"
  exit 0
  ;;
serve)
  exec ip netns exec "$TAILAB_NETNS" bin/tailab serve --session "$session"
  ;;
esac
gateway() {
  run session open --session "$session" >/dev/null
  pw=$(run access --session "$session" --candidate c01 -o json --show-passwords | tr -d ' \n' |
    sed -n 's/.*"gateway":{"login":"c01","password":"\([^"]*\)".*/\1/p')
  echo "Gateway of session $session, from this host: login c01, password $pw"
  echo "  ssh -p $ssh_port c01@127.0.0.1        (a menu of c01's machines; c01+srv@127.0.0.1 for srv directly)"
  echo "  browser: https://127.0.0.1:$web_port/ (check the certificate's SHA-256 printed below)"
  # The gateway runs in the daemon's namespace, beside the machines, and
  # listens in this shell's (fd 9): the host's own loopback, no bridge.
  exec 9</proc/$$/ns/net
  exec ip netns exec "$TAILAB_NETNS" bin/tailab gateway --session "$session" --listen-netns /proc/self/fd/9 \
    --ssh-listen 127.0.0.1:$ssh_port --web-listen 127.0.0.1:$web_port
}
if [[ ${1:-} == gateway ]]; then gateway; fi
run demo --session "$session"
run status --session "$session"
echo "Dashboard: bash scripts/demo.sh serve   — remove everything: bash scripts/demo.sh down"
gateway

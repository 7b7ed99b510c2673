#!/usr/bin/env bash
# Prints the packages whose tests need no daemon, the ones scripts/test.sh runs
# under the race detector. The rule: a package's test binary links none of the
# test harnesses that start a daemon (internal/testenv/{sshd,dnsmasq,sambadc,
# libvirtd,guest}) nor chromedp (a browser), and the package is not one of the
# few below that start daemons another way. New packages follow the rule by
# themselves; a package that starts a daemon without those harnesses must be
# added to `starts_daemons`.
set -euo pipefail
cd "$(dirname "$0")/.."
harnesses='github.com/tailab/tailab/internal/testenv/(sshd|dnsmasq|sambadc|libvirtd|guest)|github.com/chromedp/chromedp'
starts_daemons=(
  github.com/tailab/tailab/provision/libvirt/multihost # two libvirtd through scripts/libvirtd-netns.sh
)
go list -test -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
  awk -v re="^($harnesses)\$" -v skip="${starts_daemons[*]}" '
    BEGIN { n = split(skip, s, " "); for (i = 1; i <= n; i++) excluded[s[i]] = 1 }
    $1 ~ /\.test$/ {
      pkg = substr($1, 1, length($1) - 5)
      for (i = 2; i <= NF; i++) if ($i ~ re) next
      if (!(pkg in excluded)) print pkg
    }'

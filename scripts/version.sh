#!/usr/bin/env bash
# Prints tailab's version, for the scripts that build it:
#   go build -ldflags "-X main.version=$(bash scripts/version.sh)" ./cmd/tailab
# From git: the nearest tag, the commits since and the commit (12 hex digits),
# "-dirty" when the tree has changes (e.g. v1.2.0-3-g0123456789ab-dirty, or the
# commit alone before the first tag); "dev" outside a git checkout.
cd "$(dirname "$0")/.." || exit 1
git describe --tags --always --dirty --abbrev=12 2>/dev/null || echo dev

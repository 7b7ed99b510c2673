#!/usr/bin/env bash
# The install step's downloads outside Debian packages (scripts/install-deps.sh
# calls it; it needs no root). Everything the test suite needs from the network
# is fetched here, with retries and the registry named when it does not answer,
# so that no test downloads anything:
#   - the Go toolchain go.mod asks for, when the Go on PATH is older and
#     GOTOOLCHAIN lets it switch, from the Go module proxy;
#   - the modules of go.mod (go mod download), and those `go mod tidy -diff`
#     (the gate) reads beyond them: the tests of dependencies, other systems'
#     files (a tidy into a scratch copy of go.mod), from the Go module proxy;
#   - staticcheck $STATICCHECK_VERSION, the gate's linter, into GOBIN (kept when
#     the installed one is that version);
#   - Terraform 1.5.7 (scripts/install-terraform.sh), from the Go module proxy;
#   - the tiny VM guest's kernel package, from the Debian mirror, and the guest
#     built from it into its cache (scripts/tiny-guest.sh --fetch).
# Idempotent: what is there at the right version is not fetched again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/retry.sh"
cd "$here/.."

STATICCHECK_VERSION=v0.8.2

command -v go >/dev/null || { echo "install-tools: Go is required (the version in go.mod, on PATH)" >&2; exit 1; }
# The first go command in the module fetches go.mod's toolchain if it must.
retry "install-tools: the Go toolchain of go.mod" "the Go module proxy" go version >/dev/null
gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}

retry "install-tools: go mod download" "$(goproxy)" go mod download
# go mod tidy loads more than the build: every dependency's tests and every
# system's files (measured: go-ldap's tests need alexbrainman/sspi, Windows
# only). A tidy into a scratch copy fetches exactly those and changes nothing.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp go.mod go.sum "$scratch/"
retry "install-tools: go mod tidy's modules" "$(goproxy)" go mod tidy -modfile="$scratch/go.mod"

# modversion BIN MODULE: the version of MODULE that BIN was built from.
modversion() { go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m {print $3}'; }
if [[ $(modversion "$gobin/staticcheck" honnef.co/go/tools) != "$STATICCHECK_VERSION" ]]; then
  echo "install-tools: installing staticcheck $STATICCHECK_VERSION into $gobin" >&2
  GOBIN=$gobin retry "install-tools: staticcheck" "$(goproxy)" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

bash "$here/install-terraform.sh" >/dev/null

# The cache internal/testenv/guest reads (TAILAB_GUEST_CACHE, same default).
bash "$here/tiny-guest.sh" --fetch "${TAILAB_GUEST_CACHE:-/var/tmp/tailab-guest-cache}" >/dev/null

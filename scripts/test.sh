#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs every Go test (unit and
# integration: the integration tests start their own daemons in private network
# namespaces) and a bounded fuzz run of the loaders.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[[ -z $unformatted ]] || { echo "gofmt: not formatted: $unformatted" >&2; exit 1; }
# The grading-only build: no cgo, no libvirt.
CGO_ENABLED=0 go build -tags nolibvirt -o /dev/null ./cmd/tailab
bash scripts/install-terraform.sh >/dev/null   # Terraform 1.5.7 for the `terraform fmt -check` test
go test -count=1 -timeout 30m ./... 2>&1 | tee /tmp/tailab-test.log
bash scripts/fuzz.sh

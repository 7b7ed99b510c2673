#!/usr/bin/env bash
# Installs Terraform 1.5.7 (the last MPL release; the version tailab's generated
# modules are checked against with `terraform fmt -check`) by building it from the
# Go module proxy (~3 minutes once; cached afterwards). Installs into
# $TAILAB_TOOLS/terraform-1.5.7/terraform (default ~/go/bin/terraform-1.5.7/) and
# prints the path. Idempotent: an existing binary of the right version is kept.
# Part of the install step (scripts/install-tools.sh); downloads are retried.
set -euo pipefail
source "$(dirname "$0")/retry.sh"
version=1.5.7
tools=${TAILAB_TOOLS:-$HOME/go/bin}
dir="$tools/terraform-$version"
bin="$dir/terraform"
# tfversion: the first line of `terraform version`, read whole (a `| head -1`
# under pipefail failed on terraform's SIGPIPE and rebuilt it every run), with
# no update check (CHECKPOINT_DISABLE: that one asks HashiCorp's server).
tfversion() { local out; out=$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$bin" version 2>/dev/null) && echo "${out%%$'\n'*}"; }
if [[ -x "$bin" && $(tfversion) == "Terraform v$version" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "install-terraform: Go is required" >&2; exit 1; }
mkdir -p "$dir"
echo "install-terraform: building Terraform v$version (a few minutes, once)" >&2
GOBIN="$dir" GOFLAGS=-mod=mod retry install-terraform "$(goproxy)" go install "github.com/hashicorp/terraform@v$version"
tfversion >&2
echo "$bin"

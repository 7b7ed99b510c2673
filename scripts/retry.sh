# retry.sh, sourced by the install scripts: every download of the install step
# goes through retry, so that a registry that does not answer for a minute (a
# mirror's name that does not resolve, a proxy that times out) costs a retry,
# not a failed install, and a registry that stays down is named.

# retry WHAT REGISTRY CMD...: runs CMD up to TAILAB_FETCH_TRIES times (default
# 4: 5, 15 and 45 s apart). When every try fails it says which registry did
# not answer and returns 1.
retry() {
  local what=$1 registry=$2
  shift 2
  local tries=${TAILAB_FETCH_TRIES:-4} delay=5 i
  for ((i = 1; ; i++)); do
    "$@" && return 0
    if ((i >= tries)); then
      echo "$what: FAILED after $tries tries: $registry did not answer (or refused); check the network or the proxy settings, then run the install step again" >&2
      return 1
    fi
    echo "$what: try $i of $tries failed ($registry); trying again in $delay s" >&2
    sleep "$delay"
    delay=$((delay * 3))
  done
}

# goproxy names the Go module proxy (GOPROXY) for retry's message.
goproxy() { echo "the Go module proxy ($(go env GOPROXY))"; }

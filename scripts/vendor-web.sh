#!/usr/bin/env bash
# Refreshes the browser libraries tailab embeds (go:embed) from npm, at the
# pinned versions below: the exam room is offline, so nothing is loaded from a
# CDN. Run it after changing a version, then commit the result.
#
#   gateway/static/vendor/xterm          @xterm/xterm        (MIT)  terminals
#   gateway/static/vendor/xterm-addon-fit @xterm/addon-fit   (MIT)  terminal size
#   gateway/static/vendor/novnc          @novnc/novnc        (MPL-2.0) VM consoles
#   web/static/vendor/asciinema-player   asciinema-player    (Apache-2.0) recordings
set -euo pipefail

XTERM=6.0.0
XTERM_FIT=0.11.0
NOVNC=1.7.0
ASCIINEMA=3.18.0

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package version → unpacked in $tmp/NAME/package
	local pkg=$1 ver=$2 dir=$tmp/${1//[@\/]/_}
	mkdir -p "$dir"
	for i in 1 2 3; do
		if (cd "$dir" && npm pack --silent "$pkg@$ver" >/dev/null); then
			tar xzf "$dir"/*.tgz -C "$dir"
			echo "$dir/package"
			return
		fi
		echo "npm pack $pkg@$ver failed (try $i), retrying" >&2
		sleep $((i * 5))
	done
	echo "cannot fetch $pkg@$ver from npm" >&2
	exit 1
}

gw=$root/gateway/static/vendor
rm -rf "$gw" "$root/web/static/vendor/asciinema-player"
mkdir -p "$gw/xterm" "$gw/xterm-addon-fit" "$gw/novnc" "$root/web/static/vendor/asciinema-player"

p=$(fetch @xterm/xterm $XTERM)
cp "$p/lib/xterm.js" "$p/css/xterm.css" "$p/LICENSE" "$gw/xterm/"
p=$(fetch @xterm/addon-fit $XTERM_FIT)
cp "$p/lib/addon-fit.js" "$p/LICENSE" "$gw/xterm-addon-fit/"
p=$(fetch @novnc/novnc $NOVNC)
cp -r "$p/core" "$p/vendor" "$p/LICENSE.txt" "$gw/novnc/"
p=$(fetch asciinema-player $ASCIINEMA)
cp "$p/dist/bundle/asciinema-player.min.js" "$p/dist/bundle/asciinema-player.css" "$p/LICENSE" "$root/web/static/vendor/asciinema-player/"

cat >"$gw/VERSIONS" <<V
@xterm/xterm $XTERM
@xterm/addon-fit $XTERM_FIT
@novnc/novnc $NOVNC
V
echo "asciinema-player $ASCIINEMA" >"$root/web/static/vendor/asciinema-player/VERSION"
echo "vendored: xterm $XTERM, addon-fit $XTERM_FIT, noVNC $NOVNC, asciinema-player $ASCIINEMA"

#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, only when missing.
# Safe to run repeatedly; needs root (as on CI) or sudo.
set -euo pipefail
want=()
need() { dpkg -s "$1" >/dev/null 2>&1 || want+=("$1"); }
for p in "$@"; do need "$p"; done
if [ "${#want[@]}" -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-system-deps: installing ${want[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null

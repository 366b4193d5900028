#!/usr/bin/env bash
# Installs the Debian packages the test suite uses (scripts/system-deps.txt,
# or the packages named as arguments), only those missing. The root `test`
# script runs it first, so the README's test command sets up a fresh machine.
#
# Idempotent and quick when everything is there (one dpkg-query). Where it
# cannot install (no apt-get, not root and no password-less sudo, or apt
# fails), it says so and exits 0: the tests that need a missing tool are then
# skipped with the reason (scripts/system-tools.ts). Under CI (CI=true) a
# failed install is an error instead, so CI never passes by skipping.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$#" -gt 0 ]; then
  wanted=("$@")
else
  wanted=()
  while read -r p; do wanted+=("$p"); done < <(grep -v '^[[:space:]]*#' system-deps.txt | grep -v '^[[:space:]]*$')
fi

cannot() {
  if [ -n "${CI:-}" ]; then
    echo "install-system-deps: error: $1; missing: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-system-deps: $1; the tests that need ${missing[*]} will be skipped" >&2
  exit 0
}

missing=("${wanted[@]}")
if command -v dpkg-query >/dev/null 2>&1; then
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${wanted[@]}" 2>/dev/null | awk '$2 == "ii" { print $1 }' || true)
  missing=()
  for p in "${wanted[@]}"; do
    grep -qx "$p" <<<"$installed" || missing+=("$p")
  done
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

command -v apt-get >/dev/null 2>&1 || cannot "no apt-get on this machine"
SUDO=()
if [ "$(id -u)" != 0 ]; then
  sudo -n true 2>/dev/null || cannot "not root, and no password-less sudo"
  SUDO=(sudo -n)
fi

echo "install-system-deps: installing ${missing[*]}" >&2
install() { DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
# A fresh machine has no package lists yet: update once, then install.
if ! install 2>/dev/null; then
  "${SUDO[@]}" apt-get update -qq || cannot "apt-get update failed"
  install || cannot "apt-get install failed"
fi

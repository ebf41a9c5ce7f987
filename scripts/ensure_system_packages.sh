#!/usr/bin/env bash
# Debian packages the project needs beyond Python wheels, installed when missing and we are root.
#   run  : the PDF font (IPAex, embedded in every print; docs/printing.md)
#   test : the above, plus Debian's Chromium and Noto CJK for the browser tests (no browser download
#          from the internet works here) and poppler-utils (pdftoppm) to render PDFs in the tests
# Not root (or no apt): under CI=true a missing package fails the run; otherwise a warning.
set -euo pipefail

usage() { echo "usage: $0 run|test" >&2; exit 2; }
[ $# -eq 1 ] || usage

run_packages=(fonts-ipaexfont-gothic fonts-ipaexfont-mincho)
case "$1" in
  run) wanted=("${run_packages[@]}") ;;
  test) wanted=("${run_packages[@]}" chromium fonts-noto-cjk poppler-utils) ;;
  *) usage ;;
esac

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for package in "${wanted[@]}"; do
  installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[ensure_system_packages] installing from Debian: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "[ensure_system_packages] missing and cannot be installed (not root or no apt): ${missing[*]}" >&2
  exit 1
fi
echo "[ensure_system_packages] missing: ${missing[*]} (install them with apt-get as root)." >&2
echo "[ensure_system_packages] without the IPAex font printing answers 503; without chromium/poppler-utils" \
  "the browser and PDF rendering tests are skipped." >&2

#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (no browser download from the internet works here).
# Installs it (and Japanese fonts for readable screenshots) when missing and we are root.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[ensure_browser] installing chromium and fonts-noto-cjk from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "[ensure_browser] chromium is missing and cannot be installed (not root): browser tests would fail" >&2
  exit 1
fi
echo "[ensure_browser] chromium is missing; browser tests will be skipped (install Debian's chromium)" >&2

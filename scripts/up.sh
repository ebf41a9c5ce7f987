#!/usr/bin/env bash
# `make up`: run web, worker and beat under honcho; Ctrl-C stops all of them and the
# private PostgreSQL and Redis (the data stays in var/ for the next `make up`).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

WEB_PORT=${WEB_PORT:-$($PY scripts/free_port.py 8000)}
export WEB_PORT
# The national mock (docs/national-mock.md): mTLS listener, and the development-only test listener.
NATIONAL_PORT=${NATIONAL_PORT:-$($PY scripts/free_port.py 8443)}
NATIONAL_TEST_PORT=${NATIONAL_TEST_PORT:-$($PY scripts/free_port.py $((NATIONAL_PORT + 1)))}
export NATIONAL_PORT NATIONAL_TEST_PORT
export JUKINET_NATIONAL_URL=${JUKINET_NATIONAL_URL:-https://localhost:${NATIONAL_PORT}}
export JUKINET_NATIONAL_TEST_URL=${JUKINET_NATIONAL_TEST_URL:-http://127.0.0.1:${NATIONAL_TEST_PORT}}
cleanup() { $PY scripts/devservices.py stop; }
trap cleanup EXIT

echo
echo "  jukinet web      : http://127.0.0.1:${WEB_PORT}/"
echo "  national (mTLS)  : ${JUKINET_NATIONAL_URL}/national/v1/  (client certificate: var/pki/prefecture-client.crt)"
echo "  national test API: ${JUKINET_NATIONAL_TEST_URL}/national/v1/_faults  (development only, loopback)"
$PY manage.py seed_demo --print-login --base-url "http://127.0.0.1:${WEB_PORT}"
echo "  Ctrl-C stops everything; data stays in var/."
echo
.venv/bin/honcho start -f Procfile

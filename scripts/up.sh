#!/usr/bin/env bash
# `make up`: run web, worker and beat under honcho; Ctrl-C stops all of them and the
# private PostgreSQL and Redis (the data stays in var/ for the next `make up`).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

WEB_PORT=${WEB_PORT:-$($PY scripts/free_port.py 8000)}
export WEB_PORT
cleanup() { $PY scripts/devservices.py stop; }
trap cleanup EXIT

echo
echo "  jukinet web      : http://127.0.0.1:${WEB_PORT}/"
$PY manage.py seed_demo --print-login --base-url "http://127.0.0.1:${WEB_PORT}"
echo "  Ctrl-C stops everything; data stays in var/."
echo
.venv/bin/honcho start -f Procfile

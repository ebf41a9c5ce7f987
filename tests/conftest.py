"""Shared fixtures: real PostgreSQL (pytest-django's test database), real Redis, a real
Celery worker process, and a throwaway keyring so tests never touch var/keys."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jukinet import crypto

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _test_keyring(tmp_path_factory, monkeypatch, settings):
    """Every test runs with its own development keyring in a throwaway directory."""
    path = tmp_path_factory.mktemp("keys") / "field-keys.json"
    crypto.write_keyring_file(path, crypto.Keyring.generate("t1"))
    settings.FIELD_KEYS_FILE = str(path)
    monkeypatch.delenv("JUKINET_FIELD_KEYS", raising=False)
    crypto.get_keyring.cache_clear()
    yield path
    crypto.get_keyring.cache_clear()


@pytest.fixture(scope="session")
def celery_worker_process():
    """A real `celery worker` subprocess on the test broker; stopped at the end."""
    from jukinet.celery import app

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jukinet.settings_test"}
    log = open(ROOT / "var" / "test-celery-worker.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "jukinet",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("celery worker exited at start: see var/test-celery-worker.log")
            if app.control.ping(timeout=1.0):
                break
        else:
            raise RuntimeError("celery worker did not answer a ping within 60 s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

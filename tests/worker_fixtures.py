"""A real Celery worker on pytest-django's test database, on a private queue.

For tests whose behaviour depends on the worker (a task claims rows, commits, records what it
did). The worker is a `celery worker --pool solo` subprocess that consumes only this queue;
the tasks named by ``routes`` are routed to it for the duration, then the routes go back.
Tests using it need ``@pytest.mark.django_db(transaction=True)`` so the worker sees their rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.celery_connections import drop_celery_connections
from tests.national_fixtures import subprocess_database_url

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**extra: str) -> dict:
    """The worker's environment: the test database and settings; keys only as ``extra`` gives them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "JUKINET_FIELD_KEYS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="jukinet.settings_test",
        DATABASE_URL=subprocess_database_url(),
        DATABASE_CONN_MAX_AGE="0",  # no idle connection may hold the test database at teardown
        **extra,
    )
    return env


def _reroute(app) -> None:
    # The router is a cached property holding the routes of its time (tests/test_batch_provision.py).
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@contextmanager
def private_worker(name: str, routes: list[str], log_dir: Path, env: dict | None = None):
    """Run a worker consuming queue ``<name>-<pid>``; route the task name patterns to it."""
    from jukinet.celery import app

    queue = f"{name}-{os.getpid()}"
    hostname = f"{queue}@%h"
    saved_routes = app.conf.task_routes
    app.conf.task_routes = {pattern: {"queue": queue} for pattern in routes}
    _reroute(app)
    log_path = log_dir / f"{name}-worker.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "jukinet", "worker", "--pool", "solo", "-Q", queue),
            *("--loglevel", "INFO", "--hostname", hostname),
        ],
        cwd=ROOT,
        env=env if env is not None else worker_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the {name} worker exited at start: see {log_path}")
            replies = app.control.ping(timeout=1.0)
            if any(host.startswith(f"{queue}@") for reply in replies for host in reply):
                break
        else:
            raise RuntimeError(f"the {name} worker did not answer a ping within 60 s")
        yield proc
    finally:
        app.conf.task_routes = saved_routes
        _reroute(app)
        drop_celery_connections(app)  # no channel of ours may be inherited by a later fork
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

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
# The national mock's fixtures (tests/national_fixtures.py), for every test file; tests/ is on
# sys.path (rootdir-relative "tests." is not importable under a bare `pytest` entry point).
pytest_plugins = ["national_fixtures"]


@pytest.fixture(autouse=True)
def _test_keyring(tmp_path_factory, monkeypatch, settings):
    """Every test runs with its own development keyring in a throwaway directory."""
    path = tmp_path_factory.mktemp("keys") / "field-keys.json"
    crypto.write_keyring_file(path, crypto.Keyring.generate("t1"))
    settings.FIELD_KEYS_FILE = str(path)
    settings.AUDIT_HEAD_KEY_FILE = str(path.parent / "audit-head.key")
    settings.AUDIT_HEADS_FILE = str(path.parent / "audit-heads.jsonl")
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


# --- Staff fixtures: operators, an enrolled terminal, a logged-in and verified session -----


@pytest.fixture
def make_operator(db):
    from audit.models import IdentityState, Operator

    counter = iter(range(1, 10_000))

    def make(*roles: str, login_id: str | None = None, password: str = "Test-Passw0rd!x", **fields) -> Operator:
        n = next(counter)
        operator = Operator(
            login_id=login_id or f"op{n:03d}{roles[0] if roles else 'x'}",
            staff_number=fields.pop("staff_number", f"S{n:05d}-{roles[0] if roles else 'x'}"),
            full_name=fields.pop("full_name", f"試験 操作者{n}"),
            department=fields.pop("department", "市町村課"),
            roles=list(roles),
            duties=fields.pop("duties", ["honnin", "fuhyo"]),
            state=fields.pop("state", IdentityState.ACTIVE),
            must_change_password=fields.pop("must_change_password", False),
            **fields,
        )
        operator.set_password(password)
        operator.save()
        return operator

    return make


@pytest.fixture
def enrolled_terminal(db):
    from audit.services import terminal_enrol, terminal_register_direct

    issued = terminal_register_direct(name="試験端末", place="本庁舎3階")
    terminal, credential = terminal_enrol(code=issued.enrolment_code)
    return terminal, credential


@pytest.fixture
def terminal_client(client, enrolled_terminal, settings):
    """A browser on an enrolled terminal, not logged in."""
    client.cookies[settings.TERMINAL_COOKIE_NAME] = enrolled_terminal[1]
    return client


def verify_session(client, operator) -> None:
    """Log in as a password + TOTP session would end up (the login flow has its own tests)."""
    import django_otp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=operator).first() or TOTPDevice.objects.create(
        user=operator, name="test", confirmed=True
    )
    client.force_login(operator)
    session = client.session
    session[django_otp.DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def staff_client(terminal_client, make_operator):
    """``staff_client(*roles)`` → a client logged in (password + TOTP) on an enrolled terminal."""

    def login(*roles: str, **fields):
        operator = make_operator(*roles, **fields)
        verify_session(terminal_client, operator)
        terminal_client.operator = operator
        return terminal_client

    return login

"""Fixtures of the national mock as a real process (docs/national-mock.md), for every test file.

``national_server`` (session) starts gunicorn with mutual TLS on one free port and the
development-only test listener on another, both against pytest-django's test database;
``national`` (function, ``transactional_db``) points this process's client and keyring at it.
Registered for the whole suite through ``pytest_plugins`` in tests/conftest.py.
"""

import io
import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.core.management import call_command
from gunicorn.config import KNOWN_SETTINGS

from jukinet import crypto, national_client

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"

__all__ = [
    "NationalServer",
    "national",
    "national_keys",
    "national_server",
    "pki_dir",
    "subprocess_database_url",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_database_url() -> str:
    """A DATABASE_URL for pytest-django's test database, for processes started by the tests."""
    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{quote(db['HOST'] or '', safe='')}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class NationalServer:
    url: str
    test_url: str
    pki: Path
    keys: Path

    def context(self, stem: str | None = "prefecture-client", ca: str = "ca") -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / f"{ca}.crt"))
        if stem:
            context.load_cert_chain(str(self.pki / f"{stem}.crt"), str(self.pki / f"{stem}.key"))
        return context

    def client(self, stem: str | None = "prefecture-client") -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.context(stem), timeout=20)

    def prefecture_env(self) -> dict[str, str]:
        """The environment of another prefecture-side process (a worker) that talks to the mock."""
        return {
            "JUKINET_NATIONAL_URL": self.url,
            "JUKINET_NATIONAL_TEST_URL": self.test_url,
            "JUKINET_NATIONAL_CA_FILE": str(self.pki / "ca.crt"),
            "JUKINET_NATIONAL_CLIENT_CERT_FILE": str(self.pki / "prefecture-client.crt"),
            "JUKINET_NATIONAL_CLIENT_KEY_FILE": str(self.pki / "prefecture-client.key"),
            "JUKINET_FIELD_KEYS_FILE": str(self.keys),
        }


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    call_command("make_dev_pki", directory=str(directory), stdout=io.StringIO())
    return directory


@pytest.fixture(scope="session")
def national_keys(tmp_path_factory):
    """One keyring shared by the mock process and the tests that seed its residents."""
    path = tmp_path_factory.mktemp("national-keys") / "field-keys.json"
    crypto.write_keyring_file(path, crypto.Keyring.generate("n1"))
    return path


def _wait_until_up(procs, check, what: str) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"the national mock exited at start: see var/test-national-{what}.log")
        try:
            if check():
                return
        except (httpx.TransportError, ssl.SSLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the national mock ({what}) did not answer within 40 s")


@pytest.fixture(scope="session")
def national_server(django_db_setup, django_db_blocker, pki_dir, national_keys):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JUKINET_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="jukinet.settings_national",
        DATABASE_URL=subprocess_database_url(),
        DATABASE_CONN_MAX_AGE="0",  # no idle connection may hold the test database at teardown
        JUKINET_FIELD_KEYS_FILE=str(national_keys),
        JUKINET_MODE="development",
    )
    port, test_port = _free_port(), _free_port()
    common = [str(GUNICORN), "jukinet.national.wsgi", "--timeout", "60", "--graceful-timeout", "5"]
    if "control_socket_disable" in {s.name for s in KNOWN_SETTINGS}:
        common.append("--no-control-socket")  # newer gunicorn shares ~/.gunicorn/gunicorn.ctl with `make up`
    mtls = [
        *common,
        *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "4"),
        *("--certfile", str(pki_dir / "national.crt"), "--keyfile", str(pki_dir / "national.key")),
        *("--ca-certs", str(pki_dir / "ca.crt"), "--cert-reqs", "2"),
        *("--env", "JUKINET_NATIONAL_LISTENER=mtls"),
    ]
    testonly = [*common, "--bind", f"127.0.0.1:{test_port}", "--workers", "1"]
    testonly += ["--env", "JUKINET_NATIONAL_LISTENER=testonly"]
    logs = [open(ROOT / "var" / f"test-national-{name}.log", "w") for name in ("mtls", "testonly")]  # noqa: SIM115
    procs = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        for argv, log in zip((mtls, testonly), logs, strict=True)
    ]
    server = NationalServer(f"https://localhost:{port}", f"http://127.0.0.1:{test_port}", pki_dir, national_keys)
    try:
        with server.client() as client:
            _wait_until_up(procs, lambda: client.get("/national/v1/healthz").status_code == 200, "mtls")
        _wait_until_up(
            procs, lambda: httpx.get(f"{server.test_url}/national/v1/honnin/received").status_code == 200, "testonly"
        )
        yield server
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


@pytest.fixture
def national(national_server, transactional_db, settings):
    """Point this process's client and keyring at the mock; data committed so the mock sees it."""
    settings.FIELD_KEYS_FILE = str(national_server.keys)
    settings.NATIONAL_URL = national_server.url
    settings.NATIONAL_TEST_URL = national_server.test_url
    settings.NATIONAL_CA_FILE = str(national_server.pki / "ca.crt")
    settings.NATIONAL_CLIENT_CERT_FILE = str(national_server.pki / "prefecture-client.crt")
    settings.NATIONAL_CLIENT_KEY_FILE = str(national_server.pki / "prefecture-client.key")
    settings.NATIONAL_TIMEOUT_SECONDS = 10
    crypto.get_keyring.cache_clear()
    national_client.reset()
    yield national_server
    national_client.reset()
    crypto.get_keyring.cache_clear()

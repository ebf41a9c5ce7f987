"""The one place that talks to the national server (全国サーバ / 附票全国サーバ).

Mutual TLS: the server must present a certificate from ``NATIONAL_CA_FILE`` and the
prefecture presents ``NATIONAL_CLIENT_CERT_FILE``. One pooled HTTP client per process and
configuration keeps connections alive between batches (the forwarder sends many).

Errors never carry a payload: a notice holds names, addresses and possibly a 個人番号, and
exception texts end up in logs and in the outbox's ``last_error``.

* :class:`NationalUnavailable` — worth retrying: timeouts, refused connections, TLS
  failures, 5xx answers (including the mock's injected faults).
* :class:`NationalRejected` — the national side refused the request itself (4xx): sending
  it again unchanged will not help.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from typing import Any

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

FILES = ("honnin", "fuhyo")


class NationalError(Exception):
    """Base class; ``str()`` is a short reason without any personal data."""


class NationalUnavailable(NationalError):
    def __init__(self, reason: str, *, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class NationalRejected(NationalError):
    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(f"national server refused the request: HTTP {status} {code}")
        self.status = status
        self.code = code
        self.message = message  # the server's Japanese message: generic, never the payload


_lock = threading.Lock()
_clients: dict[tuple, httpx.Client] = {}


def _config() -> tuple:
    return (
        os.getpid(),  # a forked worker must not share the parent's sockets
        settings.NATIONAL_URL,
        settings.NATIONAL_CA_FILE,
        settings.NATIONAL_CLIENT_CERT_FILE,
        settings.NATIONAL_CLIENT_KEY_FILE,
        settings.NATIONAL_TIMEOUT_SECONDS,
    )


def _ssl_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def _client() -> httpx.Client:
    key = _config()
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            _, url, ca_file, cert_file, key_file, timeout = key
            try:
                context = _ssl_context(ca_file, cert_file, key_file)
            except (OSError, ssl.SSLError) as exc:
                raise NationalUnavailable(f"client TLS setup failed ({type(exc).__name__})") from None
            client = httpx.Client(
                base_url=url,
                verify=context,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 10)),
                limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
                headers={"User-Agent": "jukinet-prefecture"},
            )
            _clients[key] = client
    return client


def reset() -> None:
    """Close every pooled connection (tests, and after the certificates were replaced)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _check_file(file: str) -> None:
    if file not in FILES:
        raise ValueError("file must be 'honnin' or 'fuhyo'")


def _answer(response: httpx.Response) -> dict:
    if response.status_code >= 500:
        raise NationalUnavailable(f"HTTP {response.status_code}", status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise NationalRejected(response.status_code, str(error.get("code", "E_UNKNOWN")), str(error.get("message", "")))
    if not isinstance(body, dict):
        raise NationalUnavailable("malformed answer (not a JSON object)", status=response.status_code)
    return body


def _post(client: httpx.Client, path: str, payload: Any) -> dict:
    content = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
    try:
        response = client.post(path, content=content, headers={"Content-Type": "application/json"})
    except httpx.TimeoutException:
        raise NationalUnavailable("timeout") from None
    except httpx.TransportError as exc:
        # Connection refused, TLS handshake refused (wrong CA, no certificate), reset …
        raise NationalUnavailable(f"transport error ({type(exc).__name__})") from None
    return _answer(response)


def send_notices(file: str, notices: list[dict]) -> list[str]:
    """Forward applied notices (at most 1,000); returns the ids the national side acknowledged.

    An id missing from the answer was not recorded (the national side refused that notice):
    keep it and try again later. A failure of the whole request raises.
    """
    _check_file(file)
    if not notices:
        return []
    body = _post(_client(), f"/national/v1/{file}/notices", {"notices": notices})
    acked = body.get("acked")
    if not isinstance(acked, list):
        raise NationalUnavailable("malformed answer (no acked list)")
    sent = {n.get("notice_id") for n in notices}
    return [i for i in acked if isinstance(i, str) and i in sent]


def query(file: str, payload: dict) -> dict:
    """A national query (API.md §4): ``{"by": …, …}`` → ``{"results": [...], "truncated": bool}``."""
    _check_file(file)
    return _post(_client(), f"/national/v1/{file}/queries", payload)


# --- Test-only endpoints (development mock on loopback; absent in production) -----------


def _test_request(method: str, path: str, **kwargs) -> dict:
    try:
        response = httpx.request(method, settings.NATIONAL_TEST_URL.rstrip("/") + path, timeout=10, **kwargs)
    except httpx.TransportError as exc:
        raise NationalUnavailable(f"test listener unreachable ({type(exc).__name__})") from None
    return _answer(response)


def set_faults(mode: str, rate: float = 0, delay_ms: int = 0, seconds: float | None = None) -> dict:
    """Tell the mock to inject a fault: ``down``, ``slow`` (delay_ms), ``flaky`` (rate) or ``ok``."""
    body: dict[str, Any] = {"mode": mode, "rate": rate, "delay_ms": delay_ms}
    if seconds is not None:
        body["seconds"] = seconds
    return _test_request("POST", "/national/v1/_faults", json=body)


def received(file: str, since: int | str | None = None, limit: int | None = None) -> dict:
    """What the mock has received, in arrival order (``next_since`` pages on)."""
    _check_file(file)
    params = {k: str(v) for k, v in (("since", since), ("limit", limit)) if v is not None}
    return _test_request("GET", f"/national/v1/{file}/received", params=params)

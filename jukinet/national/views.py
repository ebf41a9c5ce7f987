"""HTTP endpoints of the national mock (API.md §4). Machine endpoints: JSON in, JSON out.

Every error is API.md's shape ``{"error": {"code", "message", "field"?}}`` with a 4xx (or the
injected 503); bad input never produces a 500. Faults apply to the real endpoints only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from jukinet.errors import DomainError, InvalidInput
from jukinet.national import selectors, services
from jukinet.national.models import FaultMode

logger = logging.getLogger(__name__)

JSON_DUMPS = {"ensure_ascii": False}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return JsonResponse({"error": error}, status=status, json_dumps_params=JSON_DUMPS)


class Unavailable(DomainError):
    code = "E_NATIONAL_UNAVAILABLE"
    status = 503
    message = "全国サーバは現在応答できません（障害注入中）。時間をおいて再送してください。"


class BodyTooLarge(DomainError):
    code = "E_TOO_LARGE"
    status = 413
    message = "リクエストが大きすぎます。"


def _max_body_bytes() -> int:
    return getattr(settings, "NATIONAL_MAX_REQUEST_BYTES", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def _json_body(request: HttpRequest):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidInput("Content-Lengthが正しくありません。", code="E_BAD_REQUEST") from None
    if length > _max_body_bytes():
        raise BodyTooLarge()
    content_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise InvalidInput("Content-Typeは application/json を指定してください。", code="E_CONTENT_TYPE")
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("リクエスト本文が正しいUTF-8のJSONではありません。", code="E_BAD_JSON") from None


class _FailAfter(Exception):
    """A flaky failure that happens after the work was done (the answer is lost on the way back)."""


def machine_endpoint(method: str, *, faults: bool) -> Callable:
    """Method check, domain errors → API.md's error shape, and (for real endpoints) fault injection."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method != method:
                response = error_response(405, "E_METHOD_NOT_ALLOWED", f"このURLは{method}のみ受け付けます。")
                response["Allow"] = method
                return response
            fail_after = False
            try:
                if faults:
                    fail_after = _inject_fault_before()
                result = view(request, *args, **kwargs)
                if fail_after:
                    raise _FailAfter()
            except DomainError as exc:
                response = JsonResponse(exc.as_dict(), status=exc.status, json_dumps_params=JSON_DUMPS)
                if exc.status == 503:
                    response["Retry-After"] = "1"
                return response
            except _FailAfter:
                response = error_response(503, Unavailable.code, Unavailable.message)
                response["Retry-After"] = "1"
                return response
            return JsonResponse(result, json_dumps_params=JSON_DUMPS)

        return wrapper

    return decorate


def _inject_fault_before() -> bool:
    """Apply the current fault; returns True when this request is to fail after doing its work."""
    fault = selectors.fault_current()
    if fault.mode == FaultMode.DOWN:
        raise Unavailable()
    if fault.mode == FaultMode.SLOW:
        time.sleep(fault.delay_ms / 1000)
    elif fault.mode == FaultMode.FLAKY:
        draw = random.random()  # noqa: S311 - fault injection, not security
        if draw < fault.rate / 2:
            raise Unavailable()
        # The other half fail after the notices were recorded: the forwarder sees a failure for
        # something the national side already has, and must rely on the dedup by notice_id.
        return draw < fault.rate
    return False


def _loopback_only(request: HttpRequest) -> None:
    """Test-only endpoints answer loopback callers only (the listener also binds 127.0.0.1)."""
    try:
        loopback = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise DomainError(code="E_NOT_FOUND", message="対象が見つかりません。") from None


# --- Real endpoints (mTLS listener) -----------------------------------------------------


@machine_endpoint("POST", faults=True)
def notices(request: HttpRequest, file: str) -> dict:
    services.check_file(file)
    rows, rejected = services.parse_notices(file, _json_body(request))
    result = services.NoticeResult(acked=services.notices_record(file=file, rows=rows), rejected=rejected)
    if rejected:
        logger.warning("national mock refused %d notices (%s)", len(rejected), file)
    return result.as_dict()


@machine_endpoint("POST", faults=True)
def queries(request: HttpRequest, file: str) -> dict:
    services.check_file(file)
    return selectors.residents_query(file=file, body=_json_body(request))


@machine_endpoint("GET", faults=False)
def healthz(request: HttpRequest) -> dict:
    return {"status": "ok"}


# --- Test-only endpoints (development, loopback listener) -------------------------------


@machine_endpoint("POST", faults=False)
def set_faults(request: HttpRequest) -> dict:
    _loopback_only(request)
    setting = services.faults_set(body=_json_body(request))
    return {
        "mode": setting.mode,
        "rate": setting.rate,
        "delay_ms": setting.delay_ms,
        "until": setting.until.isoformat() if setting.until else None,
    }


@machine_endpoint("GET", faults=False)
def received(request: HttpRequest, file: str) -> dict:
    _loopback_only(request)
    services.check_file(file)
    return selectors.notices_received(file=file, since=request.GET.get("since"), limit=request.GET.get("limit"))


# --- Handlers for what no view answers ----------------------------------------------------


def not_found(request: HttpRequest, exception=None) -> JsonResponse:
    return error_response(404, "E_NOT_FOUND", "対象が見つかりません。")


def bad_request(request: HttpRequest, exception=None) -> JsonResponse:
    return error_response(400, "E_BAD_REQUEST", "リクエストが正しくありません。")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "E_INTERNAL", "全国サーバ（模擬）で内部エラーが発生しました。")

"""Machine API plumbing: bearer-token clients, the one error shape of API.md, and limits.

Every error is ``{"error": {"code": "E_…", "message": "日本語", "field": …}}`` with a 4xx
status; never a stack trace, never a 500 for bad input.
"""

from dataclasses import replace

from django.conf import settings
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.views import exception_handler as drf_exception_handler

from audit import access_log, context
from audit.models import ClientKind
from audit.services import client_authenticate
from jukinet.errors import DomainError


class ClientTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` → the active MachineClient (only hashes are stored)."""

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword or len(header) != 2:
            raise exceptions.AuthenticationFailed()
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed() from None
        client = client_authenticate(token)
        if client is None:
            access_log.log_refusal(action="api.auth", detail=f"不明または失効したクライアント {request.path[:120]}")
            raise exceptions.AuthenticationFailed()
        context.set_for_request(replace(context.current(), actor_kind="client", actor=client.client_id))
        return (client, None)

    def authenticate_header(self, request):
        return 'Bearer realm="jukinet"'


class IsClient(BasePermission):
    def has_permission(self, request, view):
        return getattr(request.user, "client_id", None) is not None


class IsCSClient(IsClient):
    """Only a 市町村CS may send notices and consistency sets."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.kind != ClientKind.CS:
            access_log.log_refusal(action="api.forbidden", detail=f"CS以外のクライアント {request.path[:120]}")
            return False
        return True


_DRF_CODES = {
    exceptions.NotAuthenticated: ("E_UNAUTHENTICATED", "認証情報（Bearerトークン）が必要です。"),
    exceptions.AuthenticationFailed: ("E_UNAUTHENTICATED", "認証に失敗しました。トークンが不明か失効しています。"),
    exceptions.PermissionDenied: ("E_FORBIDDEN", "このクライアントにはこの操作が許可されていません。"),
    exceptions.NotFound: ("E_NOT_FOUND", "対象が見つかりません。"),
    exceptions.MethodNotAllowed: ("E_METHOD_NOT_ALLOWED", "このメソッドは使えません。"),
    exceptions.UnsupportedMediaType: ("E_UNSUPPORTED_MEDIA_TYPE", "Content-Type が正しくありません。"),
    exceptions.ParseError: ("E_MALFORMED_JSON", "JSONとして読み取れません（UTF-8のJSONで送ってください）。"),
    exceptions.NotAcceptable: ("E_NOT_ACCEPTABLE", "応答形式が受け入れられません。"),
    exceptions.Throttled: ("E_THROTTLED", "要求が多すぎます。しばらく待ってから再送してください。"),
}


def json_response(data, status: int = 200) -> JsonResponse:
    """A machine answer: Japanese unescaped, never cached (it may carry personal data)."""
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def error_response(code: str, message: str, status_code: int, field: str | None = None) -> JsonResponse:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return JsonResponse({"error": error}, status=status_code, json_dumps_params={"ensure_ascii": False})


def exception_handler(exc, context_):
    if isinstance(exc, DomainError):
        return error_response(exc.code, exc.message, exc.status, exc.field)
    response = drf_exception_handler(exc, context_)
    if response is None:
        return None  # a real bug: Django's 500 handler, logged with the redaction filter
    default = ("E_INVALID", "要求が正しくありません。")
    code, message = next(((c, m) for cls, (c, m) in _DRF_CODES.items() if isinstance(exc, cls)), default)
    if isinstance(exc, exceptions.ValidationError):
        code, message = "E_INVALID", "要求の形式が正しくありません。"
    result = error_response(code, message, response.status_code)
    for header in ("WWW-Authenticate", "Allow", "Retry-After"):
        if header in response:
            result[header] = response[header]
    return result


def body_too_large(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE


STATUS_TOO_LARGE = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

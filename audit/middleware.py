"""Who acts from where, and the gate in front of every staff page.

``ActorContextMiddleware`` puts the operator, the terminal and a request id into the audit
context for the services. ``StaffAccessMiddleware`` lets a staff page answer only on an
enrolled terminal, to an operator who passed password and TOTP, whose screen is not locked
and who has changed their first password. Machine endpoints (/api/) authenticate clients
by token and never by a staff session.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from audit import access_log, context
from audit.models import AccessLogEntry
from audit.services import terminal_authenticate

EXEMPT_PREFIXES = ("/static/", "/healthz", "/api/", "/national/")
ENROL_PATH = "/terminal/enroll"
PRE_LOGIN_PATHS = ("/login", "/login/otp", "/logout")
LOCKED_OK_PATHS = ("/unlock", "/logout", "/lock")


def is_staff_path(path: str) -> bool:
    return not path.startswith(EXEMPT_PREFIXES)


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:45]


class ActorContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = context.new_request_id()
        request.terminal = None
        if is_staff_path(request.path):
            request.terminal = terminal_authenticate(request.COOKIES.get(settings.TERMINAL_COOKIE_NAME))
        user = getattr(request, "user", None)
        authenticated = bool(user and user.is_authenticated)
        ctx = context.ActorContext(
            actor_kind="operator" if authenticated else "anonymous",
            actor=user.login_id if authenticated else "",
            terminal=request.terminal.terminal_id if request.terminal else "",
            request_id=request.request_id,
            remote_addr=_client_ip(request),
        )
        token = context.set_for_request(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class StaffAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if not is_staff_path(path) or path == ENROL_PATH:
            return self.get_response(request)
        with context.acting(
            actor_kind="operator" if request.user.is_authenticated else "anonymous",
            actor=request.user.login_id if request.user.is_authenticated else "",
            terminal=request.terminal.terminal_id if request.terminal else "",
            request_id=request.request_id,
            remote_addr=_client_ip(request),
        ):
            refusal = self._gate(request, path)
            if refusal is not None:
                return refusal
            response = self.get_response(request)
            if response.status_code >= 400 and request.user.is_authenticated and not _refusal_logged(request):
                # 端末操作のエラー記録: errors an operator's terminal hits are part of the log.
                access_log.log_event(
                    action="terminal.error",
                    outcome="refused" if response.status_code in (401, 403) else "error",
                    detail=f"HTTP {response.status_code} {request.method} {path[:200]}",
                )
            return response

    def _gate(self, request: HttpRequest, path: str) -> HttpResponse | None:
        if request.terminal is None:
            access_log.log_refusal(action="terminal.unregistered", detail=f"{request.method} {path[:200]}")
            return render(request, "auth/unregistered_terminal.html", status=403)
        if path in PRE_LOGIN_PATHS:
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('login')}?next={_safe_next(request)}")
        if not user.is_verified():
            return redirect("login_otp")
        if request.session.get("screen_locked") and path not in LOCKED_OK_PATHS:
            if request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse(
                    {"error": {"code": "E_SCREEN_LOCKED", "message": "画面がロックされています。"}}, status=423
                )
            return render(request, "auth/locked_screen.html", status=423)
        if user.must_change_password and path not in ("/password/change", "/logout"):
            return redirect("password_change")
        return None


def _refusal_logged(request: HttpRequest) -> bool:
    """Whoever refused (a staff view, a service) has logged it already under this request id."""
    return AccessLogEntry.objects.filter(request_id=request.request_id, outcome="refused").exists()


def _safe_next(request: HttpRequest) -> str:
    from urllib.parse import quote

    target = request.get_full_path()
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return quote(target, safe="/")

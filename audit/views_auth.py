"""Login (password, then TOTP), logout, password change, screen lock, terminal enrolment.

Thin: forms validate, services act and log.
"""

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token

from audit import access_log, context
from audit.forms import EnrolmentForm, LoginForm, OtpForm, PasswordChangeForm, UnlockForm
from audit.services import operator_change_password, terminal_enrol
from audit.views_support import staff_view
from jukinet.errors import DomainError

MAX_OTP_FAILURES = 5


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return "/"
    return target


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login_id = form.cleaned_data["login_id"]
        user = auth.authenticate(request, login_id=login_id, password=form.cleaned_data["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                access_log.log_refusal(action="login.locked_out", target_code=login_id[:40])
                return render(request, "auth/locked_out.html", status=403)
            access_log.log_event(action="login.failed", outcome="failed", target_code=login_id[:40])
            form.add_error(None, "ログインIDまたはパスワードが正しくありません。")
        else:
            auth.login(request, user)
            request.session["otp_failures"] = 0
            with context.acting(actor_kind="operator", actor=user.login_id):
                access_log.log_event(action="login.password", target_code=user.login_id)
            response = redirect("login_otp")
            if request.POST.get("next"):
                request.session["after_login"] = _next_url(request)
            return response
    return render(request, "auth/login.html", {"form": form, "next": request.GET.get("next", "")})


@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if user.is_verified():
        return redirect("/")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            request.session.cycle_key()
            access_log.log_event(action="login", target_code=user.login_id)
            return redirect(request.session.pop("after_login", "/"))
        failures = request.session.get("otp_failures", 0) + 1
        request.session["otp_failures"] = failures
        access_log.log_event(action="login.otp_failed", outcome="failed", target_code=user.login_id)
        # Count toward the same lockout as wrong passwords.
        user_login_failed.send(sender=__name__, credentials={"login_id": user.login_id}, request=request)
        if failures >= MAX_OTP_FAILURES:
            auth.logout(request)
            messages.error(request, "確認コードの誤りが続いたため、ログインをやり直してください。")
            return redirect("login")
        form.add_error("token", "確認コードが正しくありません。時刻のずれがないか確認してください。")
    return render(request, "auth/otp.html", {"form": form})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        access_log.log_event(action="logout", target_code=request.user.login_id)
    auth.logout(request)
    messages.info(request, "ログアウトしました。")
    return redirect("login")


@require_http_methods(["GET", "POST"])
@staff_view("self.session")
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            operator_change_password(
                operator=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            auth.update_session_auth_hash(request, request.user)
            messages.success(request, "パスワードを変更しました。")
            return redirect("/")
    return render(request, "auth/password_change.html", {"form": form, "first": request.user.must_change_password})


@require_POST
def lock_view(request: HttpRequest) -> JsonResponse:
    """The page's idle timer asks the server to lock, so a reload cannot bypass the blank screen."""
    if not request.session.get("screen_locked"):
        request.session["screen_locked"] = True
        access_log.log_event(action="screen.lock")
    return JsonResponse({"locked": True})


@require_http_methods(["GET", "POST"])
def unlock_view(request: HttpRequest) -> HttpResponse:
    form = UnlockForm(request.POST or None)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    if request.method == "POST" and form.is_valid():
        if request.user.check_password(form.cleaned_data["password"]):
            request.session["screen_locked"] = False
            access_log.log_event(action="screen.unlock")
            if wants_json:
                return JsonResponse({"locked": False})
            return redirect(_next_url(request))
        access_log.log_event(action="screen.unlock_failed", outcome="failed")
        user_login_failed.send(sender=__name__, credentials={"login_id": request.user.login_id}, request=request)
        if wants_json:
            return JsonResponse(
                {"error": {"code": "E_UNLOCK_PASSWORD", "message": "パスワードが正しくありません。"}}, status=400
            )
        form.add_error("password", "パスワードが正しくありません。")
    elif request.method == "POST" and wants_json:
        return JsonResponse(
            {"error": {"code": "E_UNLOCK_PASSWORD", "message": "パスワードを入力してください。"}}, status=400
        )
    return render(
        request, "auth/locked_screen.html", {"form": form}, status=423 if request.session.get("screen_locked") else 200
    )


@require_http_methods(["GET", "POST"])
def enrol_terminal_view(request: HttpRequest) -> HttpResponse:
    """A new terminal's browser exchanges the one-time code for its signed credential."""
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            operator = request.user if request.user.is_authenticated else None
            terminal, credential = terminal_enrol(code=form.cleaned_data["code"], enrolled_by=operator)
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            response = render(request, "auth/enrolled.html", {"terminal": terminal})
            response.set_cookie(
                settings.TERMINAL_COOKIE_NAME,
                credential,
                max_age=settings.TERMINAL_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Strict",
                secure=getattr(settings, "TERMINAL_COOKIE_SECURE", False),
            )
            return response
    return render(request, "auth/enrol.html", {"form": form})

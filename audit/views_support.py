"""Small helpers shared by the staff pages: the permission gate and domain errors on forms."""

import unicodedata
from collections.abc import Callable
from functools import wraps

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit import access_log
from audit.permissions import MATRIX, permitted
from jukinet.errors import DomainError


def _printable(path: str) -> str:
    """A path as it may go into the log: PostgreSQL refuses NUL, and no control character belongs there."""
    return "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in path[:200])


def forbidden(request: HttpRequest, message: str | None = None) -> HttpResponse:
    return render(request, "errors/403.html", {"message": message}, status=403)


def staff_view(action: str) -> Callable:
    """Let the view answer only an operator whose roles permit ``action`` (audit.permissions).

    The services check again; this gate keeps pages (and what they show) from people who could
    not act on them anyway, and logs the refusal.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not permitted(request.user, action):
                access_log.log_refusal(action=action, detail=f"権限なし: {request.method} {_printable(request.path)}")
                return forbidden(request)
            return view(request, *args, **kwargs)

        wrapper.staff_action = action  # the permission-matrix test reads it
        return wrapper

    return decorator


def permissions_for(user) -> dict[str, bool]:
    """What the templates may offer: ``can.identity_suspend`` and so on (dots become underscores)."""
    return {action.replace(".", "_"): permitted(user, action) for action in MATRIX}


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal next to the field it names, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)

"""Content-Security-Policy for every page: the staff pages load nothing but the project's own
static files, so anything else — an injected inline script, a foreign image, a frame — is
refused by the browser as a second line behind template escaping.

PDF answers are left without it: the browser's built-in PDF viewer runs inside the response's
document, and a policy written for HTML pages would stop it from drawing the form.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("application/pdf"):
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response

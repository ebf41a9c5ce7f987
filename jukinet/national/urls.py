"""URLs of the national mock, per listener (docs/national-mock.md).

* ``mtls`` (the real listener, client certificate required by the TLS layer): notices,
  queries, healthz.
* ``testonly`` (development only, plain HTTP bound to 127.0.0.1): ``_faults`` and
  ``received``. In production these URLs are not registered at all, and the mTLS listener
  never registers them either, so a client certificate cannot reach them.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, path

from jukinet.national import views

LISTENERS = ("mtls", "testonly")


def build_urlpatterns(*, listener: str, production: bool) -> list[URLPattern]:
    if listener not in LISTENERS:
        raise ImproperlyConfigured("JUKINET_NATIONAL_LISTENER must be 'mtls' or 'testonly'")
    if listener == "mtls":
        return [
            path("national/v1/<str:file>/notices", views.notices, name="national-notices"),
            path("national/v1/<str:file>/queries", views.queries, name="national-queries"),
            path("national/v1/healthz", views.healthz, name="national-healthz"),
        ]
    if production:
        raise ImproperlyConfigured("the national mock's test-only listener does not exist in production mode")
    return [
        path("national/v1/_faults", views.set_faults, name="national-faults"),
        path("national/v1/<str:file>/received", views.received, name="national-received"),
    ]


urlpatterns = build_urlpatterns(listener=getattr(settings, "NATIONAL_LISTENER", "mtls"), production=settings.PRODUCTION)

handler400 = views.bad_request
handler404 = views.not_found
handler500 = views.server_error

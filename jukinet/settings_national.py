"""Settings of the national mock process (全国サーバ / 附票全国サーバ; docs/national-mock.md).

The same database, keys and logging as the prefecture; its own URLs and no browser
machinery (no sessions, CSRF or staff gate: these are machine endpoints). Each gunicorn
listener says which one it is in ``JUKINET_NATIONAL_LISTENER``, and that is required: a
listener that forgot to say would otherwise serve the wrong set of URLs.
"""

from django.core.exceptions import ImproperlyConfigured

from jukinet.env import env_int, env_list, env_str
from jukinet.settings import *  # noqa: F403
from jukinet.settings import PRODUCTION, SILENCED_SYSTEM_CHECKS

NATIONAL_LISTENER = env_str("JUKINET_NATIONAL_LISTENER")
if NATIONAL_LISTENER not in {"mtls", "testonly"}:
    raise ImproperlyConfigured("JUKINET_NATIONAL_LISTENER must be 'mtls' or 'testonly'")
if PRODUCTION and NATIONAL_LISTENER == "testonly":
    raise ImproperlyConfigured("the national mock's test-only listener does not exist in production mode")

ROOT_URLCONF = "jukinet.national.urls"
WSGI_APPLICATION = "jukinet.national.wsgi.application"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Nobody logs in here and no cookie is ever set (machine clients with certificates): neither
# the lockout middleware nor CSRF protection has anything to guard.
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "axes.W002", "security.W003"]
ALLOWED_HOSTS = env_list("JUKINET_NATIONAL_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "national"])
# TLS ends in gunicorn itself; only the development test-only listener speaks plain HTTP (loopback).
SECURE_SSL_REDIRECT = PRODUCTION
SECURE_PROXY_SSL_HEADER = None

# 1,000 notices with their full record items fit comfortably.
NATIONAL_MAX_REQUEST_BYTES = env_int("JUKINET_NATIONAL_MAX_REQUEST_BYTES", 16 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = NATIONAL_MAX_REQUEST_BYTES

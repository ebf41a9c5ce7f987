"""Test settings: the real services, kept apart from a running `make up`.

The test run talks to the same private PostgreSQL (pytest-django creates its own
``test_…`` database) and Redis, but on another Redis database number so that a
development worker never consumes a test task.
"""

from urllib.parse import urlsplit, urlunsplit

from jukinet.settings import *  # noqa: F403
from jukinet.settings import REDIS_URL

TEST_REDIS_DB = 15


def _other_redis_db(url: str, db: int) -> str:
    if url.startswith("redis+socket://"):
        # urlunsplit would drop the empty authority ("redis+socket:///path" → "redis+socket:/path").
        return f"{url.split('?', 1)[0]}?virtual_host={db}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


CELERY_BROKER_URL = _other_redis_db(REDIS_URL, TEST_REDIS_DB)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; never outside tests

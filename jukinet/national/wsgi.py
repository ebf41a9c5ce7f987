"""WSGI entry of the national mock: run it with DJANGO_SETTINGS_MODULE=jukinet.settings_national
and JUKINET_NATIONAL_LISTENER=mtls|testonly (gunicorn ``--env``; see the Procfile)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings_national")
application = get_wsgi_application()

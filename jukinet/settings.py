"""Settings for jukinet, all from the environment (see docs/configuration.md).

One file with sections rather than a base/test/production split: the differences are
few and each is driven by ``JUKINET_MODE`` (``development`` or ``production``).
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from jukinet.env import env_bool, env_int, env_list, env_str, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("JUKINET_VAR_DIR", str(BASE_DIR / "var")))

# The embedded runtime (scripts/devservices.py) records where its PostgreSQL and Redis
# listen; real environment variables always win over it.
load_env_file(VAR_DIR / "dev.env")

# --- Mode and core -------------------------------------------------------------------
MODE = env_str("JUKINET_MODE", "development")
if MODE not in {"development", "production"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("JUKINET_MODE must be 'development' or 'production'")
PRODUCTION = MODE == "production"

SECRET_KEY = env_str("DJANGO_SECRET_KEY", default="" if PRODUCTION else "dev-only-not-secret")
if PRODUCTION and len(SECRET_KEY) < 50:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set (at least 50 characters) in production")
DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",  # the OpenAPI schema at /api/schema/ and `manage.py spectacular`
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "auditlog",
    "jukinet",
    "audit",
    "honnin",
    "fuhyo",
    "provision",
    "disclosure",
    "jukinet.national",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "jukinet.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.ActorContextMiddleware",
    "audit.middleware.StaffAccessMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jukinet.urls"
WSGI_APPLICATION = "jukinet.wsgi.application"
AUTH_USER_MODEL = "audit.Operator"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "audit.context_processors.staff",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://jukinet@localhost:5432/jukinet"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# The password may come from a secrets file (DATABASE_PASSWORD_FILE) rather than the URL.
DATABASES["default"]["PASSWORD"] = env_str("DATABASE_PASSWORD", DATABASES["default"].get("PASSWORD", ""))

# --- Language and time ---------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語")]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static files (served by the app itself; pages load nothing from the internet) ---
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "jukinet" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Authentication: password + TOTP, lockout, password rules ------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses while an ID is locked out
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/login"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("login_id", "full_name", "staff_number")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "audit.password_rules.CharacterClassValidator"},
]
AXES_FAILURE_LIMIT = env_int("JUKINET_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("JUKINET_LOGIN_LOCKOUT_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = ["username"]
# Terminals are enrolled and shared by a desk: locking by IP would let one colleague's typing
# lock the whole desk out, and unregistered IPs never reach the login page at all.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_FORM_FIELD = "login_id"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "auth/locked_out.html"
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "jukinet"
# The page blanks itself after this idle time and needs the password to come back; the
# server session ends after JUKINET_SESSION_IDLE_SECONDS.
SCREEN_BLANK_SECONDS = env_int("JUKINET_SCREEN_BLANK_SECONDS", 5 * 60)
TERMINAL_COOKIE_NAME = "jukinet_terminal"
TERMINAL_COOKIE_MAX_AGE = 5 * 365 * 24 * 60 * 60

# --- Sessions and browser security ---------------------------------------------------
SESSION_COOKIE_AGE = env_int("JUKINET_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # the age above becomes an idle timeout
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    TERMINAL_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Requests and uploads: bounded so a hostile client cannot exhaust memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("JUKINET_MAX_REQUEST_BYTES", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- REST framework ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["jukinet.api_parsers.SafeJSONParser"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "jukinet.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- OpenAPI schema of the machine APIs (docs/openapi.md) -----------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "住基ネット 都道府県サーバ 機械インタフェース",
    "DESCRIPTION": (
        "市町村CS（更新通知）と執行機関・部署（提供・移転）のためのAPI。契約は API.md、説明は docs/ にあります。"
        "すべてのエラーは `Error` の形で4xxを返します。"
    ),
    "VERSION": "1",
    # Tags and operation ids from the segment after /api/ (cs, provision, schema).
    "SCHEMA_PATH_PREFIX": "/api/",
    # The schema is served to registered machine clients only (any active bearer token).
    "SERVE_AUTHENTICATION": ["jukinet.api.ClientTokenAuthentication"],
    "SERVE_PERMISSIONS": ["jukinet.api.IsClient"],
    "SERVE_INCLUDE_SCHEMA": True,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several bodies have a "state": name each enum after what it is the state of.
    "ENUM_NAME_OVERRIDES": {
        "NoticeStateEnum": "jukinet.models.InboxState",
        "BatchStateEnum": "provision.models.BatchState",
        "FileEnum": "provision.models.FILES",
        "ProvisionItemEnum": "provision.models.ProvisionItem",
    },
    "PREPROCESSING_HOOKS": ["jukinet.openapi.only_machine_endpoints"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "jukinet.openapi.add_error_responses",
    ],
}

# --- Celery (DESIGN.md §9: the database is the queue, Celery only wakes workers) ------
REDIS_URL = env_str("REDIS_URL", "redis://localhost:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# Above the longest task, so a long task is not redelivered to a second worker mid-run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60, "socket_connect_timeout": 2}
# Work is tracked in PostgreSQL, so tasks keep no results unless they say so (and a web
# request queueing a wake-up never waits on the result backend).
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Chain new access-log entries within seconds; expire so a stopped worker's backlog does not pile up.
    "audit-seal-log": {"task": "audit.seal_log", "schedule": 2.0, "options": {"expires": 10}},
    # Re-queue notices left behind and raise alerts for long-held ones (DESIGN.md §9).
    "notices-sweep": {"task": "notices.sweep", "schedule": 10.0, "options": {"expires": 30}},
    # Publish the signed chain head daily (docs/audit-log.md).
    "audit-publish-head": {"task": "audit.publish_chain_head", "schedule": crontab(hour=0, minute=5)},
    # Erase the fuhyo 個人番号 temporary rows whose redelivery window has closed (docs/provision.md).
    "fuhyo-my-number-erase": {"task": "provision.fuhyo_my_number_erase", "schedule": 60.0, "options": {"expires": 50}},
    # Wake batch provisions left behind: approved but not started, or running with no worker.
    "provision-batches-sweep": {"task": "provision.batches_sweep", "schedule": 30.0, "options": {"expires": 25}},
    # Resume consistency checks left behind and erase finished ones past their keep time.
    "consistency-sweep": {"task": "consistency.sweep", "schedule": 30.0, "options": {"expires": 25}},
    # Erase history and 消除者 whose retention (住基法施行令第30条の6) has ended (docs/retention.md).
    "retention-erase": {"task": "retention.erase_expired", "schedule": crontab(hour=2, minute=30)},
    # Produce approved large outputs left behind and erase expired ones (docs/approvals.md).
    "exports-sweep": {"task": "exports.sweep", "schedule": 60.0, "options": {"expires": 50}},
}
# Task modules that are not an app's tasks.py (autodiscover_tasks finds only those).
CELERY_IMPORTS = ["provision.tasks_batches", "jukinet.tasks_retention", "jukinet.tasks_consistency"]

# --- 個人番号 encryption keys (never in the repo; see docs/keys.md) --------------------
# A JSON key file {"active": id, "keys": {id: base64 256-bit}, "index_key": base64}.
FIELD_KEYS_FILE = env_str("JUKINET_FIELD_KEYS_FILE", str(VAR_DIR / "keys" / "field-keys.json"))

# Chain heads of the access log are signed with a key the database never holds.
AUDIT_HEAD_KEY_FILE = Path(env_str("JUKINET_AUDIT_HEAD_KEY_FILE", str(VAR_DIR / "keys" / "audit-head.key")))
AUDIT_HEADS_FILE = Path(env_str("JUKINET_AUDIT_HEADS_FILE", str(VAR_DIR / "audit-heads.jsonl")))

# Update notices: a notice held for a missing 更新順番号 raises an alert after this time.
NOTICE_HOLD_ALERT_SECONDS = env_int("JUKINET_NOTICE_HOLD_ALERT_SECONDS", 30 * 60)
# The forwarder alerts when the oldest unacknowledged outbox row is older than this.
OUTBOX_BACKLOG_ALERT_SECONDS = env_int("JUKINET_OUTBOX_BACKLOG_ALERT_SECONDS", 10 * 60)

# --- Provision (docs/provision.md) ----------------------------------------------------
# How long a 個人番号 handed over with a fuhyo lookup stays in the temporary area for a
# redelivery; the beat task erases it within a minute after.
FUHYO_MY_NUMBER_WINDOW_SECONDS = env_int("JUKINET_FUHYO_MY_NUMBER_WINDOW_SECONDS", 10 * 60)
if not 1 <= FUHYO_MY_NUMBER_WINDOW_SECONDS <= 24 * 60 * 60:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("JUKINET_FUHYO_MY_NUMBER_WINDOW_SECONDS must be between 1 and 86400")

# --- Records -------------------------------------------------------------------------
# 住基法施行令第30条の6: history and 消除者 are kept for this many years (docs/data-model.md).
HISTORY_RETENTION_YEARS = env_int("JUKINET_HISTORY_RETENTION_YEARS", 150)
PREFECTURE_NAME = env_str("JUKINET_PREFECTURE_NAME", "埼玉県")
PREFECTURE_CODE = env_str("JUKINET_PREFECTURE_CODE", "110001")
# The governor's name after 「{PREFECTURE_NAME}知事」 on issued forms; empty prints the title alone.
PREFECTURE_GOVERNOR = env_str("JUKINET_PREFECTURE_GOVERNOR", "")
MUNICIPALITIES_CSV = Path(
    env_str("JUKINET_MUNICIPALITIES_CSV", str(BASE_DIR / "jukinet" / "data" / "saitama_municipalities.csv"))
)

# --- Operations (issue 8, docs/operations.md) -------------------------------------------
# 整合性確認 (docs/consistency.md): the largest CSV body a CS may send, and how long a finished
# check's staged rows and differences are kept before the sweep erases them.
CONSISTENCY_MAX_BYTES = env_int("JUKINET_CONSISTENCY_MAX_BYTES", 4 * 1024 * 1024 * 1024)
CONSISTENCY_KEEP_DAYS = env_int("JUKINET_CONSISTENCY_KEEP_DAYS", 30)
# Backups and contractor files (docs/backups.md) are sealed with this public key; its private
# half is kept off this machine in production (make up writes a development pair under var/keys/).
BACKUP_PUBLIC_KEY_FILE = env_str("JUKINET_BACKUP_PUBLIC_KEY_FILE", str(VAR_DIR / "keys" / "backup-public.pem"))
BACKUP_DIR = Path(env_str("JUKINET_BACKUP_DIR", str(VAR_DIR / "backups")))
CONTRACTOR_FILE_DIR = Path(env_str("JUKINET_CONTRACTOR_FILE_DIR", str(VAR_DIR / "contractor-files")))
# Large data outputs from staff pages (docs/approvals.md): more rows than this need a system
# administrator's prior approval; a produced file is erased this many hours after it is ready.
LARGE_OUTPUT_ROWS = env_int("JUKINET_LARGE_OUTPUT_ROWS", 1000)
EXPORT_DIR = Path(env_str("JUKINET_EXPORT_DIR", str(VAR_DIR / "exports")))
EXPORT_KEEP_HOURS = env_int("JUKINET_EXPORT_KEEP_HOURS", 72)
# Update notices keep their copy of the record items this many days after they were applied,
# rejected or acknowledged; then the retention run clears it (the notice's state stays).
NOTICE_PAYLOAD_KEEP_DAYS = env_int("JUKINET_NOTICE_PAYLOAD_KEEP_DAYS", 90)
# Log review (docs/log-review.md): the prefecture's working hours on working days.
WORKING_HOURS_START = env_str("JUKINET_WORKING_HOURS_START", "08:30")
WORKING_HOURS_END = env_str("JUKINET_WORKING_HOURS_END", "18:15")

# --- Printing (docs/printing.md) -------------------------------------------------------
# The font embedded in every PDF: IPAex Gothic from Debian's fonts-ipaexfont-gothic.
PDF_FONT_FILE = env_str("JUKINET_PDF_FONT_FILE", "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")

# --- National server (全国サーバ; in development the mock of docs/national-mock.md) -----
# Mutual TLS: the prefecture presents its client certificate and trusts only NATIONAL_CA_FILE.
PKI_DIR = Path(env_str("JUKINET_PKI_DIR", str(VAR_DIR / "pki")))
NATIONAL_URL = env_str("JUKINET_NATIONAL_URL", "https://localhost:8443")
NATIONAL_TEST_URL = env_str("JUKINET_NATIONAL_TEST_URL", "http://127.0.0.1:8444")  # development only
NATIONAL_CA_FILE = env_str("JUKINET_NATIONAL_CA_FILE", str(PKI_DIR / "ca.crt"))
NATIONAL_CLIENT_CERT_FILE = env_str("JUKINET_NATIONAL_CLIENT_CERT_FILE", str(PKI_DIR / "prefecture-client.crt"))
NATIONAL_CLIENT_KEY_FILE = env_str("JUKINET_NATIONAL_CLIENT_KEY_FILE", str(PKI_DIR / "prefecture-client.key"))
NATIONAL_TIMEOUT_SECONDS = env_int("JUKINET_NATIONAL_TIMEOUT_SECONDS", 30)

# --- Logging: 個人番号-shaped digits are scrubbed from every record --------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "jukinet.log_redaction.RedactPersonalNumbersFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env_str("JUKINET_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

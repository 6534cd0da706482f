"""privacyops settings: every value comes from the environment (see .env.example).

With no environment set, the project runs on the embedded default: a SQLite file and a
filesystem Celery transport under var/. DATABASE_URL and CELERY_BROKER_URL switch it to
PostgreSQL and Redis with no code change.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from celery.schedules import crontab  # noqa: F401  (used by CELERY_BEAT_SCHEDULE entries)
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

# Development-only values: the project refuses to start with DEBUG off while either is in use.
DEVELOPMENT_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
DEVELOPMENT_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtITE="
DEVELOPMENT_ACCESS_LOG_CHAIN_KEY = "dev-only-access-log-chain-key-do-not-use-in-production"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    # A developer's local overrides; real environment variables win.
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _unset_if_empty(name: str) -> None:
    # An empty variable, as in a copy of .env.example, means "not set": its default applies.
    if os.environ.get(name) == "":
        del os.environ[name]


def _env(parse, name: str, **kwargs):
    """Read one variable strictly: a value that does not parse stops start-up with its name."""
    _unset_if_empty(name)
    try:
        return parse(name, **kwargs)
    except (ValueError, TypeError, KeyError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} has an invalid value: {exc}") from exc


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _bool(name: str, default: bool) -> bool:
    """django-environ reads any unknown word as False; a typo must stop start-up instead."""
    _unset_if_empty(name)
    raw = env.str(name, default=str(default)).strip().lower()
    if raw not in _TRUE | _FALSE:
        raise ImproperlyConfigured(
            f"Environment variable {name} has an invalid value: {raw!r} (use true/false, 1/0, yes/no, on/off)."
        )
    return raw in _TRUE


DEBUG = _bool("DEBUG", default=True)
SECRET_KEY = _env(env.str, "SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("DEBUG is off but SECRET_KEY is the development key: set SECRET_KEY.")


def _field_encryption_keys() -> list[str]:
    """The keys of the encrypted columns, newest first: FIELD_ENCRYPTION_KEYS, or the one-key
    shorthand FIELD_ENCRYPTION_KEY. When both are set, FIELD_ENCRYPTION_KEYS is the list and
    FIELD_ENCRYPTION_KEY must be one of its keys (as in the first step of a rotation); anything
    else stops start-up. Errors name the variable and the key's position, never the key."""
    many = env.str("FIELD_ENCRYPTION_KEYS", default="").strip()
    one = env.str("FIELD_ENCRYPTION_KEY", default="").strip()
    name = "FIELD_ENCRYPTION_KEYS" if many else "FIELD_ENCRYPTION_KEY"
    keys = [key.strip() for key in many.split(",")] if many else [one or DEVELOPMENT_FIELD_ENCRYPTION_KEY]
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            which = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
            raise ImproperlyConfigured(
                f"Environment variable {name} has an invalid value: {which} is not a url-safe base64 "
                "encoding of 32 bytes."
            ) from None
    if len(set(keys)) < len(keys):
        raise ImproperlyConfigured(f"Environment variable {name} has an invalid value: a key is listed twice.")
    if many and one and one not in keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is set to a key that FIELD_ENCRYPTION_KEYS does not list: unset "
            "FIELD_ENCRYPTION_KEY (FIELD_ENCRYPTION_KEYS, newest first, is the list of keys in use)."
        )
    if not DEBUG and DEVELOPMENT_FIELD_ENCRYPTION_KEY in keys:
        if not many:
            raise ImproperlyConfigured(
                "DEBUG is off but FIELD_ENCRYPTION_KEY is the development key: set FIELD_ENCRYPTION_KEY."
            )
        position = keys.index(DEVELOPMENT_FIELD_ENCRYPTION_KEY) + 1
        raise ImproperlyConfigured(
            f"DEBUG is off but FIELD_ENCRYPTION_KEYS lists the development key (key {position}): remove it."
        )
    return keys


# Encrypt with the first key, decrypt with any (privacyops.lib.crypto, MultiFernet).
FIELD_ENCRYPTION_KEYS = _field_encryption_keys()

ALLOWED_HOSTS = _env(env.list, "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = _env(env.list, "CSRF_TRUSTED_ORIGINS", default=[])
# Where gunicorn listens (gunicorn.conf.py); read here only for SITE_URL's default.
PORT = _env(env.int, "PORT", default=8000) if env.str("PORT", default="") else 8000
# The public address of the site, used in links sent by email (verification, preferences, notices);
# by default the address `make run` serves on. Pages build their own links from the request.
SITE_URL = (_env(env.url, "SITE_URL", default="").geturl() or f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    # The admin site (privacyops/admin_site.py): TOTP second factor (django-otp) and access logging.
    "privacyops.adminconfig.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "ninja",
    # Bottom layer: nothing here imports the apps above it.
    "audit",
    "subjects",
    # Middle layer.
    "consent",
    "thirdparty",
    "retention",
    # The company's other databases (the data map): composes subjects and retention.
    "datastores",
    # Top layer: composes the others; nothing imports these.
    "incidents",
    "dsar",
    "policy",
    # audit (policy 5): second factor and lockout.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "audit.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Right after authentication: they need request.user.
    "django_otp.middleware.OTPMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Late in the list, so it sees a view's exception early: a lost database connection becomes a 503.
    "privacyops.lib.middleware.DatabaseUnavailableMiddleware",
    # django-axes must be last: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "privacyops.urls"
WSGI_APPLICATION = "privacyops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "privacyops.desk.officer_desk",
            ],
            # {% load korean %}: Korean particles chosen by the final consonant (privacyops/lib/korean.py).
            "libraries": {"korean": "privacyops.lib.korean"},
        },
    },
]

DATABASES = {
    "default": _env(env.db_url, "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'privacyops.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured("Environment variable DATABASE_URL has an invalid value: use sqlite:/// or postgres://.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker purges in batches; the timeout makes a writer
    # wait for the file lock instead of failing at once; IMMEDIATE transactions take that lock at
    # BEGIN, so a transaction that reads and then writes cannot fail mid-way with "database is
    # locked" when the worker (or beat) wrote in between, which no timeout would help.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory: integration tests start a real Celery worker that must see the test data.
    _db_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_db_file.with_name(f"test_{_db_file.name}"))}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", _env(env.int, "DATABASE_CONN_MAX_AGE_SECONDS", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Korean first, English second; the browser or the switch on public pages chooses.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Stored in UTC, shown and scheduled in Seoul time.
USE_TZ = True
TIME_ZONE = "Asia/Seoul"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The project's own static files (the favicon); apps keep theirs in <app>/static/.
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = _env(env.path, "MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_CONFIG = _env(env.email_url, "EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = _env(env.str, "DEFAULT_FROM_EMAIL", default="Palette Inc. <privacy@pltt.xyz>")

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = _env(env.str, "CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # filesystem:///some/folder picks the folder; plain filesystem:// uses var/celery.
    CELERY_BROKER_DIR = Path(CELERY_BROKER_URL.removeprefix("filesystem://") or VAR_DIR / "celery")
    CELERY_BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "store_processed": False,
        # Exchange tables; the transport's default is a "control" folder in the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
else:
    # Tasks are acked late, so a task must finish (or time out) well inside the visibility timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3 * 3600}
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 2 * 3600
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that enqueues while the broker is down waits about a second, then goes on;
# the periodic sweeps re-send what was never enqueued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic jobs; each is also a management command of the same name. Beat copies these into
# django-celery-beat's tables at start, where staff can switch them off in the admin.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Policy 3 / PV-10: send due vendor erasure jobs (new ones are also enqueued on commit); retries
    # wait for their backoff, so a run every 5 minutes only picks what is due.
    "send_vendor_erasure_jobs": {
        "task": "thirdparty.tasks.send_vendor_erasure_jobs",
        "schedule": crontab(minute="*/5"),
        "options": {"expire_seconds": 240},
    },
    # A disconnected YouTube grant's token is revoked at Google again until Google confirms.
    "retry_youtube_revocations": {
        "task": "thirdparty.tasks.retry_youtube_revocations",
        "schedule": crontab(minute="*/10"),
        "options": {"expire_seconds": 540},
    },
    # Policy 3.1.2.2 / PV-08: refresh YouTube statistics or delete them at 30 days, daily at 04:10.
    "refresh_youtube_data": {
        "task": "thirdparty.tasks.refresh_youtube_data",
        "schedule": crontab(hour=4, minute=10),
        "options": {"expire_seconds": 6 * 3600},
    },
    # Policy 4 / RD-01: destroy what expired, daily at 03:30 Seoul time (quiet hours); a run not
    # started within 6 hours is dropped, the next day's run catches up.
    "destroy_expired": {
        "task": "retention.tasks.destroy_expired",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expire_seconds": 6 * 3600},
    },
    # Issue 20: the visit log's monthly partitions (PostgreSQL) exist three months ahead, daily at
    # 03:10 Seoul time, before the destruction run; a stray visit goes to the default partition.
    "ensure_visit_partitions": {
        "task": "subjects.tasks.ensure_visit_partitions",
        "schedule": crontab(hour=3, minute=10),
        "options": {"expire_seconds": 6 * 3600},
    },
    # audit: SA-06(c) monthly access-log review of the previous month, on the 1st at 06:00 Seoul time.
    "create_access_review": {
        "task": "audit.tasks.create_access_review",
        "schedule": crontab(day_of_month=1, hour=6, minute=0),
        "options": {"expire_seconds": 23 * 3600},
    },
    # audit: the access log's signed anchor (head seq and MAC), filed and mailed to the officer daily.
    "anchor_access_log": {
        "task": "audit.tasks.anchor_access_log",
        "schedule": crontab(hour=0, minute=5),
        "options": {"expire_seconds": 12 * 3600},
    },
    # incidents: SA-08 reminders to the officer at 24, 48 and 66 hours of each open 72-hour clock; every
    # 15 minutes, so a reminder is at most a quarter of an hour late; a missed run is caught by the next.
    "send_incident_reminders": {
        "task": "incidents.tasks.send_incident_reminders",
        "schedule": crontab(minute="*/15"),
        "options": {"expire_seconds": 14 * 60},
    },
    # consent: CM-05 re-confirmation notices, daily at 10:00 Seoul time (a notice is not an ad, but
    # daytime is kinder); the 30-day window means a skipped day is caught the next.
    "reconfirm_marketing_consent": {
        "task": "consent.tasks.reconfirm_marketing_consent",
        "schedule": crontab(hour=10, minute=0),
        "options": {"expire_seconds": 12 * 3600},
    },
    # consent: CM-04 result notices go out on commit; this hourly sweep sends any that were missed.
    "send_result_notices": {
        "task": "consent.tasks.send_result_notices",
        "schedule": crontab(minute=17),
        "options": {"expire_seconds": 3600},
    },
    # consent: cookie-banner records past the cookie's life plus the proof period.
    "purge_cookie_consent_records": {
        "task": "consent.tasks.purge_cookie_consent_records",
        "schedule": crontab(hour=4, minute=10),
        "options": {"expire_seconds": 6 * 3600},
    },
    # Policy 7: queue the notices of newly announced versions and send due ones (pending, and failed
    # ones whose backoff has passed). Every 10 minutes; a run not started within 9 is dropped.
    "send_policy_notices": {
        "task": "policy.tasks.send_policy_notices",
        "schedule": crontab(minute="*/10"),
        "options": {"expire_seconds": 9 * 60},
    },
    # PIPA art. 34: send due breach notices (queued by the officer) and retry failed ones; every
    # 5 minutes, as the 72 hours run. A run not started within 4 minutes is dropped.
    "send_incident_notices": {
        "task": "incidents.tasks.send_incident_notices",
        "schedule": crontab(minute="*/5"),
        "options": {"expire_seconds": 4 * 60},
    },
    # dsar: DSAR-03 day-7 reminders to the assignee and daily overdue digests to privacy officers,
    # 09:00 Seoul time (the start of the working day); a skipped day is caught the next.
    "send_dsar_reminders": {
        "task": "dsar.tasks.send_dsar_reminders",
        "schedule": crontab(hour=9, minute=0),
        "options": {"expire_seconds": 6 * 3600},
    },
    # dsar: verification emails that never went out (broker down at submit time), every 10 minutes.
    "resend_dsar_verifications": {
        "task": "dsar.tasks.resend_dsar_verifications",
        "schedule": crontab(minute="*/10"),
        "options": {"expire_seconds": 9 * 60},
    },
    # dsar: destroy unverified requests past DSAR_UNVERIFIED_TTL_HOURS, expired packages, orphan files.
    "expire_dsar_requests": {
        "task": "dsar.tasks.expire_dsar_requests",
        "schedule": crontab(minute=40),
        "options": {"expire_seconds": 3000},
    },
    # dsar: DSAR-12 close requests whose processor jobs are all done, every 15 minutes.
    "close_dsar_requests": {
        "task": "dsar.tasks.close_dsar_requests",
        "schedule": crontab(minute="*/15"),
        "options": {"expire_seconds": 14 * 60},
    },
    # "verb_noun": {"task": "app.tasks.verb_noun", "schedule": crontab(...), "options": {"expire_seconds": N}},
}
# One queue per kind of work, so a slow purge never delays a verification email. A worker
# started without -Q consumes all of them (see Procfile).
CELERY_TASK_QUEUES_BY_APP = {"retention": "retention", "dsar": "dsar", "thirdparty": "vendors", "policy": "notices"}
CELERY_TASK_ROUTES = {f"{app}.tasks.*": {"queue": queue} for app, queue in CELERY_TASK_QUEUES_BY_APP.items()}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", *CELERY_TASK_QUEUES_BY_APP.values())]

# --- retention ------------------------------------------------------------------------------
# Rows per destruction batch (a primary-key range of this many ids): each batch is one short
# transaction. PostgreSQL: 100,000 (a batch of visit logs took 58-107 ms; against 50,000, a run
# of 2,000,000 due rows took 1.6-1.9 s instead of 2.0-2.2 s: each batch costs about 5 ms besides
# its DELETE, and fewer, larger batches average out the DELETEs' spread); SQLite: 10,000 (each
# batch write-locks the whole file). See docs/BENCHMARKS.md "Purge (retention engine)", "A whole
# destroy_expired run" and "#20: a run's fixed cost cut".
_BATCH_ROWS_DEFAULT = 100_000 if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" else 10_000
RETENTION_BATCH_ROWS = _env(env.int, "RETENTION_BATCH_ROWS", default=_BATCH_ROWS_DEFAULT)
# PostgreSQL: how long dropping a due month of visit logs waits for its lock on the visit log
# (every reader and writer of the table queues behind a waiting ACCESS EXCLUSIVE lock); a month
# not locked in time is destroyed by the batches of the same run instead.
RETENTION_PARTITION_LOCK_TIMEOUT_MS = _env(env.int, "RETENTION_PARTITION_LOCK_TIMEOUT_MS", default=2_000)
# SQLite only: a destruction run's claim on its rule is taken over after this long without a
# heartbeat (PostgreSQL uses advisory locks, released when the connection dies).
RETENTION_LOCK_STALE_SECONDS = _env(env.int, "RETENTION_LOCK_STALE_SECONDS", default=300)
# RD-01: data must be gone within this many days after it became due (the admin's overdue KPI).
RETENTION_OVERDUE_GRACE_DAYS = 5
# Largest certificate file (scan of a shredding certificate) accepted in the admin.
RETENTION_CERTIFICATE_MAX_BYTES = 10 * 1024 * 1024

# --- policy: published policy and change notices (policy 6, 7) ------------------------------
# Notices per batch: one mail connection and one bulk UPDATE per batch.
POLICY_NOTICE_BATCH_SIZE = _env(env.int, "POLICY_NOTICE_BATCH_SIZE", default=200)
# A failed notice is retried after base * 2**(attempts-1) seconds (capped at a day), up to this many attempts.
POLICY_NOTICE_MAX_ATTEMPTS = _env(env.int, "POLICY_NOTICE_MAX_ATTEMPTS", default=5)
POLICY_NOTICE_RETRY_BASE_SECONDS = _env(env.int, "POLICY_NOTICE_RETRY_BASE_SECONDS", default=600)
# A claimed batch not finished within this long (a worker died) is due again.
POLICY_NOTICE_LEASE_SECONDS = 15 * 60

# --- incidents: notices to the people a breach affects (PIPA art. 34, Decree art. 39) --------------
# Same batching, backoff and lease as the policy notices, with a shorter first retry: the 72 hours run.
INCIDENT_NOTICE_BATCH_SIZE = _env(env.int, "INCIDENT_NOTICE_BATCH_SIZE", default=200)
INCIDENT_NOTICE_MAX_ATTEMPTS = _env(env.int, "INCIDENT_NOTICE_MAX_ATTEMPTS", default=6)
INCIDENT_NOTICE_RETRY_BASE_SECONDS = _env(env.int, "INCIDENT_NOTICE_RETRY_BASE_SECONDS", default=120)
INCIDENT_NOTICE_LEASE_SECONDS = 15 * 60
# A website posting (Decree art. 39(3)/40) stays up at least this many days.
INCIDENT_POSTING_MIN_DAYS = 30
# SMS for people with no email (incidents/sms.py): a generic JSON gateway, not confirmed against a vendor.
SMS_GATEWAY_URL = _env(env.str, "SMS_GATEWAY_URL", default="")
SMS_GATEWAY_API_KEY = _env(env.str, "SMS_GATEWAY_API_KEY", default="")
SMS_SENDER_NUMBER = _env(env.str, "SMS_SENDER_NUMBER", default="")
SMS_GATEWAY_TIMEOUT_SECONDS = _env(env.float, "SMS_GATEWAY_TIMEOUT_SECONDS", default=10.0)

# Proxies in front of the app that append to X-Forwarded-For (0: the socket address is the client).
# Used for the access log, rate limits, lockout and consent evidence alike.
TRUSTED_PROXY_COUNT = _env(env.int, "TRUSTED_PROXY_COUNT", default=0)

# --- API ------------------------------------------------------------------------------------
# Bodies above this size are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = _env(env.int, "DATA_UPLOAD_MAX_MEMORY_BYTES", default=1024 * 1024)
NINJA_PAGINATION_PER_PAGE = 50

# --- thirdparty: processors and vendor APIs (policy 3) -------------------------------------
# Every base URL is configurable so tests (and a staging proxy) can point a vendor elsewhere.
VENDOR_HTTP_TIMEOUT_SECONDS = _env(env.float, "VENDOR_HTTP_TIMEOUT_SECONDS", default=10.0)
# Vendor erasure jobs: retried with exponential backoff (base * 2**attempts, capped), then left
# failed for staff after VENDOR_JOB_MAX_ATTEMPTS.
VENDOR_JOB_BACKOFF_BASE_SECONDS = _env(env.int, "VENDOR_JOB_BACKOFF_BASE_SECONDS", default=60)
VENDOR_JOB_BACKOFF_MAX_SECONDS = _env(env.int, "VENDOR_JOB_BACKOFF_MAX_SECONDS", default=6 * 3600)
VENDOR_JOB_MAX_ATTEMPTS = _env(env.int, "VENDOR_JOB_MAX_ATTEMPTS", default=10)
GA_API_BASE_URL = _env(env.str, "GA_API_BASE_URL", default="https://analytics.googleapis.com").rstrip("/")
GA_PROPERTY_ID = _env(env.str, "GA_PROPERTY_ID", default="")
GOOGLE_SERVICE_ACCOUNT_FILE = _env(env.str, "GOOGLE_SERVICE_ACCOUNT_FILE", default="")
# Google's quotas: 1.5 requests/s per property and 500/day (per property and per project).
GA_REQUESTS_PER_SECOND = _env(env.float, "GA_REQUESTS_PER_SECOND", default=1.0)
GA_REQUESTS_PER_DAY = _env(env.int, "GA_REQUESTS_PER_DAY", default=500)
if not 0 < GA_REQUESTS_PER_SECOND <= 1.5 or not 0 < GA_REQUESTS_PER_DAY <= 500:
    raise ImproperlyConfigured("GA_REQUESTS_PER_SECOND must be in (0, 1.5] and GA_REQUESTS_PER_DAY in 1..500.")
# How long a worker may wait in-process for the next GA slot before it reschedules the job instead.
GA_MAX_INLINE_WAIT_SECONDS = _env(env.float, "GA_MAX_INLINE_WAIT_SECONDS", default=3.0)
META_GRAPH_BASE_URL = _env(env.str, "META_GRAPH_BASE_URL", default="https://graph.facebook.com").rstrip("/")
META_API_VERSION = _env(env.str, "META_API_VERSION", default="v26.0")
META_ACCESS_TOKEN = _env(env.str, "META_ACCESS_TOKEN", default="")
META_APP_SECRET = _env(env.str, "META_APP_SECRET", default="")
META_CUSTOM_AUDIENCE_IDS = _env(env.list, "META_CUSTOM_AUDIENCE_IDS", default=[])
STIBEE_API_BASE_URL = _env(env.str, "STIBEE_API_BASE_URL", default="https://api.stibee.com/v2").rstrip("/")
STIBEE_API_KEY = _env(env.str, "STIBEE_API_KEY", default="")
STIBEE_LIST_ID = _env(env.str, "STIBEE_LIST_ID", default="")
STIBEE_WEBHOOK_SECRET = _env(env.str, "STIBEE_WEBHOOK_SECRET", default="")
GOOGLE_OAUTH_REVOKE_URL = _env(env.str, "GOOGLE_OAUTH_REVOKE_URL", default="https://oauth2.googleapis.com/revoke")
GOOGLE_OAUTH_TOKEN_URL = _env(env.str, "GOOGLE_OAUTH_TOKEN_URL", default="https://oauth2.googleapis.com/token")
GOOGLE_OAUTH_AUTH_URL = _env(env.str, "GOOGLE_OAUTH_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_OAUTH_CLIENT_ID = _env(env.str, "GOOGLE_OAUTH_CLIENT_ID", default="")
GOOGLE_OAUTH_CLIENT_SECRET = _env(env.str, "GOOGLE_OAUTH_CLIENT_SECRET", default="")
YOUTUBE_API_BASE_URL = _env(env.str, "YOUTUBE_API_BASE_URL", default="https://www.googleapis.com").rstrip("/")
# YouTube Developer Policies III.E.4: stored API data is refreshed or deleted within 30 days.
YOUTUBE_DATA_MAX_AGE_DAYS = 30
YOUTUBE_REFRESH_AFTER_DAYS = _env(env.int, "YOUTUBE_REFRESH_AFTER_DAYS", default=25)

# --- dsar: data subject requests -----------------------------------------------------------
# PIPA Decree art. 41(4): answer within 10 calendar days of receipt (Seoul time).
DSAR_DUE_DAYS = _env(env.int, "DSAR_DUE_DAYS", default=10)
# Day 7 of 10: the assignee is reminded this many days before the due date.
DSAR_REMINDER_DAYS_BEFORE_DUE = _env(env.int, "DSAR_REMINDER_DAYS_BEFORE_DUE", default=3)
# The emailed verification link works this long; unverified requests are destroyed after the TTL.
DSAR_VERIFY_TTL_HOURS = _env(env.int, "DSAR_VERIFY_TTL_HOURS", default=24)
DSAR_UNVERIFIED_TTL_HOURS = _env(env.int, "DSAR_UNVERIFIED_TTL_HOURS", default=72)
# How long the subject's download link to a released access package works.
DSAR_DOWNLOAD_TTL_DAYS = _env(env.int, "DSAR_DOWNLOAD_TTL_DAYS", default=7)
# Downloads one released package allows, each access-logged; then the link is spent.
DSAR_DOWNLOADS_MAX = _env(env.int, "DSAR_DOWNLOADS_MAX", default=3)
DSAR_UPLOAD_MAX_BYTES = _env(env.int, "DSAR_UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)
DSAR_RATE_LIMIT_PER_IP_PER_HOUR = _env(env.int, "DSAR_RATE_LIMIT_PER_IP_PER_HOUR", default=10)
DSAR_RATE_LIMIT_PER_EMAIL_PER_HOUR = _env(env.int, "DSAR_RATE_LIMIT_PER_EMAIL_PER_HOUR", default=3)
# DSAR-09: portability and automated-decision requests bind only larger controllers; off by default.
DSAR_OPTIONAL_REQUEST_TYPES = _env(env.list, "DSAR_OPTIONAL_REQUEST_TYPES", default=[])
# Uploads and export packages; outside any URL the web server serves.
DSAR_PRIVATE_ROOT = Path(MEDIA_ROOT) / "private" / "dsar"
# Processors' breach notices (incidents, PIPA art. 26); outside any URL the web server serves.
INCIDENTS_PRIVATE_ROOT = Path(MEDIA_ROOT) / "private" / "incidents"

# --- consent: purposes, cookie banner, marketing consent (policy 1.3, 2) --------------------
# Tags the banner loads only after consent; the script URLs are settings so tests serve them locally.
GA_MEASUREMENT_ID = _env(env.str, "GA_MEASUREMENT_ID", default="")
META_PIXEL_ID = _env(env.str, "META_PIXEL_ID", default="")
CONSENT_GA_SCRIPT_URL = _env(env.str, "CONSENT_GA_SCRIPT_URL", default="https://www.googletagmanager.com/gtag/js")
CONSENT_META_SCRIPT_URL = _env(
    env.str, "CONSENT_META_SCRIPT_URL", default="https://connect.facebook.net/en_US/fbevents.js"
)


def _origins(name: str, values: list[str]) -> list[str]:
    """A list of web origins, as a browser sends them in its Origin header (scheme://host[:port],
    lower case, no path or slash), so that "https://www.pltt.xyz/" is not silently never matched."""
    origins = []
    for raw in values:
        value = raw.strip().rstrip("/").lower()
        if not value:
            continue
        scheme, _sep, host = value.partition("://")
        if scheme not in ("http", "https") or not host or any(c in host for c in "/?#*@ "):
            raise ImproperlyConfigured(
                f"Environment variable {name} has an invalid value: {raw.strip()!r} is not a web origin "
                "(write scheme://host[:port], e.g. https://www.pltt.xyz)."
            )
        origins.append(value)
    return origins


# Origins (https://www.pltt.xyz) whose pages may post cookie choices to /api/consent/cookies:
# the company website that embeds /consent/banner.js. A choice from any other is refused (and
# counted on the officer's desk), so leaving the website out loses its visitors' records.
CONSENT_ALLOWED_ORIGINS = _origins("CONSENT_ALLOWED_ORIGINS", _env(env.list, "CONSENT_ALLOWED_ORIGINS", default=[]))
# Cookie choices accepted per client IP per minute (a banner posts once per choice).
CONSENT_COOKIE_RATE_LIMIT_PER_MINUTE = _env(env.int, "CONSENT_COOKIE_RATE_LIMIT_PER_MINUTE", default=30)
# The banner's choice cookie lives this long; then the visitor is asked again.
CONSENT_COOKIE_MAX_AGE_DAYS = 180
# Proof period after a consent ends (set by the company: 3 years); cookie records are purged
# after the cookie's life plus this.
CONSENT_PROOF_PERIOD_DAYS = 3 * 365
# The signed preference link in emails works this long (it must outlive a re-confirmation notice).
CONSENT_PREFERENCE_LINK_MAX_AGE_DAYS = _env(env.int, "CONSENT_PREFERENCE_LINK_MAX_AGE_DAYS", default=90)
# CM-04: result notice within 14 days; CM-05: re-confirm every 2 years, notice 30 days ahead.
CONSENT_RESULT_NOTICE_DAYS = 14
CONSENT_RECONFIRM_YEARS = 2
CONSENT_RECONFIRM_NOTICE_DAYS = 30
# The sender named in marketing notices (Network Act art. 50(4), (7)).
MARKETING_SENDER_NAME = _env(env.str, "MARKETING_SENDER_NAME", default="Palette Inc.")
# The rate limiters' store (request form, cookie choices). By default a table in the database,
# which every web process and machine shares and which counts atomically (privacyops.lib.cache);
# CACHE_URL=redis://host:6379/1 moves it to Redis. A per-process cache (locmemcache://) is a
# `check --deploy` warning: N workers would accept N times each limit.
CACHES = {
    "default": _env(env.cache_url, "CACHE_URL")
    if env.str("CACHE_URL", default="")
    else {
        "BACKEND": "privacyops.lib.cache.DatabaseCache",
        "LOCATION": "privacyops_cache",
        # Counters live an hour at most and `add` deletes expired rows once a minute; only Django's
        # `set` (a rare fallback of the limiter) culls, past this many rows.
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
}

# --- Security (production) ------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = _env(env.int, "SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # /healthz is probed over plain HTTP by the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/live)?$"]

# One handler, on the root logger, and every record passes through it once. Its filter cuts link
# secrets out of each line (Django logs the path of every 4xx and CSRF failure, and emailed links
# carry their token in the path: privacyops.lib.logs). Django's own handlers are dropped: its
# console handler (while DEBUG) printed each warning a second time, runserver's bypassed the filter,
# and mail to ADMINS (none set) would carry the full request.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "privacyops.lib.logs.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": _env(env.str, "LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- audit: staff roles, access log, second factor, lockout, sessions (policy 5) ------------
# Tests that commit get the migrated rows back by Django's serialized rollback, which writes each
# row over itself; the audit logs refuse that at the database (PostgreSQL triggers, and the JSON
# copy rounds their timestamps to milliseconds), and no test needs audit's rows restored.
TEST_NON_SERIALIZED_APPS = ["audit"]
# INSTALLED_APPS and MIDDLEWARE (above) list django-otp, axes and audit's middleware.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# SA-02(f): sign-in for an account from an address is blocked after this many failures, for AXES_COOLOFF_MINUTES
# (or until the officer resets it); a success resets the count.
AXES_FAILURE_LIMIT = _env(env.int, "AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = _env(env.int, "AXES_COOLOFF_MINUTES", default=30) / 60  # hours
# Per account and address together, and an address spraying many accounts (audit/lockout.py).
AXES_LOCKOUT_PARAMETERS = "audit.lockout.lockout_parameters"
AXES_ADDRESS_FAILURE_LIMIT = _env(env.int, "AXES_ADDRESS_FAILURE_LIMIT", default=20)
# Axes' own log lines carry usernames and IPs; the access attempts table keeps what staff need.
AXES_VERBOSE = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "audit.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "privacyops.lib.http.client_ip"
# An API key is looked up at most once per this many seconds in each server process: a key revoked
# in the admin stops working at once in the process that saved it, and in all others within this.
API_KEY_CACHE_SECONDS = _env(env.int, "API_KEY_CACHE_SECONDS", default=10)
OTP_TOTP_ISSUER = "privacyops"
# SA-03: 8+ characters of two kinds or 10+ of one; no guessable strings.
AUTH_PASSWORD_VALIDATORS += [
    {"NAME": "audit.validators.CompositionValidator"},
    {"NAME": "audit.validators.GuessableValidator"},
]
# SA-04: a session ends after this long without a request (each request pushes the end back).
SESSION_COOKIE_AGE = _env(env.int, "SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# SA-06(b): access log 2 years (the system holds unique identifiers / may pass 50,000 subjects);
# SA-02(c): rights log 3 years. Younger rows cannot be deleted; the retention engine leaves both alone.
AUDIT_ACCESS_LOG_RETENTION_DAYS = 731
AUDIT_RIGHTS_LOG_RETENTION_DAYS = 1096
# The key of the access log's HMAC chain and of its daily anchors. From the environment only, never
# in the database: whoever can write the database but not read this cannot re-chain the log.
ACCESS_LOG_CHAIN_KEY = _env(env.str, "ACCESS_LOG_CHAIN_KEY", default=DEVELOPMENT_ACCESS_LOG_CHAIN_KEY)
if not DEBUG and ACCESS_LOG_CHAIN_KEY == DEVELOPMENT_ACCESS_LOG_CHAIN_KEY:
    raise ImproperlyConfigured(
        "DEBUG is off but ACCESS_LOG_CHAIN_KEY is the development key: set ACCESS_LOG_CHAIN_KEY."
    )
if len(ACCESS_LOG_CHAIN_KEY) < 32:
    raise ImproperlyConfigured(
        "Environment variable ACCESS_LOG_CHAIN_KEY has an invalid value: use 32+ random characters."
    )
# Where the daily signed anchors of the access log are written (outside the database, by design).
ACCESS_LOG_ANCHOR_DIR = Path(_env(env.path, "ACCESS_LOG_ANCHOR_DIR", default=str(VAR_DIR / "anchors")))
# Monthly review: an export of at least this many subjects is a bulk export; an account that read
# at least AUDIT_MANY_SUBJECTS_PER_MONTH distinct subjects in the month is listed; working hours (Seoul).
AUDIT_BULK_EXPORT_SUBJECTS = _env(env.int, "AUDIT_BULK_EXPORT_SUBJECTS", default=100)
AUDIT_MANY_SUBJECTS_PER_MONTH = _env(env.int, "AUDIT_MANY_SUBJECTS_PER_MONTH", default=500)
AUDIT_WORKDAY_START_HOUR = 8
AUDIT_WORKDAY_END_HOUR = 20
# Production only: the admin and the public pages run no inline script; the analytics origins are
# those of the consent banner's tags (loaded after consent).
AUDIT_DEFAULT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' https://www.googletagmanager.com https://connect.facebook.net; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: https://www.google-analytics.com https://www.facebook.com; "
    "connect-src 'self' https://*.google-analytics.com https://*.analytics.google.com; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)
CONTENT_SECURITY_POLICY = (
    "" if DEBUG else (_env(env.str, "CONTENT_SECURITY_POLICY", default="") or AUDIT_DEFAULT_CONTENT_SECURITY_POLICY)
)

"""Careline settings: one module, everything optional and read from the environment.

Defaults run a plain checkout: SQLite under var/, DEBUG on, background tasks in-process.
The README lists every variable and what production needs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from config.env import envbool, envcache, envfloat, envint, envlist, envrate, envstorage, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in every command

DEBUG = envbool("DJANGO_DEBUG", True)
SECRET_KEY = envstr("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "careline-insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "accounts.apps.CarelineAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # API tokens, stored hashed
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "accounts",
    "axes",  # login lockouts
    "kb",
    "suggestions",
    "insights",
    "console",
    "webhooks",
    "connectors",
    "django_htmx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.QueryStringMiddleware",
    "config.middleware.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out sign-in
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'careline.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web process, worker and commands share one file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            # Write-ahead log: readers never wait for the writer, and a commit costs no fsync.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# API rate counts live here: with several web processes use a shared cache (redis://...).
CACHES = {"default": envcache("CARELINE_CACHE_URL", "locmem://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves static files straight from the apps, so a plain checkout needs no
# collectstatic; production may still run it (compressed copies land in STATIC_ROOT).
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# Sign-in lockouts (django-axes, counted in the database so every process agrees): after
# CARELINE_LOGIN_FAILURES wrong passwords for one username from one address, signing in as that
# username from there is refused for CARELINE_LOGIN_COOLOFF_MINUTES, on /login/ and /admin/login/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = envbool("CARELINE_LOGIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = envint("CARELINE_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("CARELINE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
# Its start-up banner would open the output of every management command.
AXES_VERBOSE = False

# API tokens (`manage.py drf_create_token USERNAME`): only a SHA-512 hash is stored. An
# integration's token lasts until replaced, unless CARELINE_TOKEN_TTL_HOURS sets a lifetime.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=envint("CARELINE_TOKEN_TTL_HOURS", 0)) or None,
    "AUTH_HEADER_PREFIX": "Token",
}

# HTTPS. With DEBUG off, cookies are sent over HTTPS only and HSTS is on (browsers ignore it
# on plain HTTP). Redirecting HTTP to HTTPS is asked for with DJANGO_SECURE_SSL_REDIRECT=1 (or
# left to the proxy), so a DJANGO_DEBUG=0 run on http://127.0.0.1 still answers.
SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", False)
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.TokenAuthentication",  # Authorization: Token KEY (knox tokens, one query)
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.LimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "config.parsers.FormParser",
        "config.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # Per token (or session) and scope; anonymous callers per address. A throttled call gets 429
    # with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttles.PerRequesterThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": envrate("CARELINE_API_RATE", "600/min"),
        "anon": envrate("CARELINE_API_ANON_RATE", "60/min"),
        "suggestions": envrate("CARELINE_SUGGESTION_RATE", "3000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Careline API",
    "DESCRIPTION": "Reply suggestions from a curated troubleshooting library.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets come from the project's own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets named for their model in the schema: two models' "status", the webhook events.
    "ENUM_NAME_OVERRIDES": {
        "ResponseStatusEnum": "kb.models.Response.Status",
        "GapClusterStatusEnum": "insights.models.GapCluster.Status",
        "WebhookEventEnum": "webhooks.models.Event",
    },
}

# Celery: without a broker every task runs in-process, synchronously, as soon as it is queued.
CELERY_TASK_ALWAYS_EAGER = not envstr("CELERY_BROKER_URL", "")
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 900)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Full index builds take minutes at a million phrasings: they have a queue of their own, so the
# patches that serve an edit at once never wait behind one (`make worker` consumes both).
CELERY_TASK_ROUTES = {
    "suggestions.tasks.index_sync_task": {"queue": "index-build"},
    "suggestions.tasks.index_rebuild_task": {"queue": "index-build"},
}
# A periodic sync catches up on anything missed (an edit saved while the broker was down, a
# reply whose validity window ended). Run beat with the worker: `celery -A config worker -B`.
CELERY_BEAT_SCHEDULE = {
    "index-sync": {
        "task": "suggestions.tasks.index_sync_task",
        "schedule": envint("CARELINE_INDEX_SYNC_SECONDS", 60),
    },
    # Rebuilds asked for but lost (with a killed worker, or on the way); versions nobody needs.
    "index-maintain": {
        "task": "suggestions.tasks.index_maintain_task",
        "schedule": envint("CARELINE_INDEX_SYNC_SECONDS", 60),
    },
    "content-gaps": {
        "task": "insights.tasks.gaps_find_task",
        "schedule": envint("CARELINE_GAP_RUN_SECONDS", 24 * 60 * 60),
        "kwargs": {"trigger": "schedule"},
    },
    # Pushed mentions whose suggestions task was lost (broker down when they arrived).
    "inbox-missed-suggestions": {"task": "console.tasks.mentions_suggest_missed_task", "schedule": 60},
    # Webhook deliveries due: retries after their backoff, and any whose task was lost.
    "webhook-deliveries": {
        "task": "webhooks.tasks.deliveries_send_due_task",
        "schedule": envint("CARELINE_WEBHOOK_SWEEP_SECONDS", 15),
    },
    # Each connected X account's new mentions (connectors/).
    "x-mentions": {
        "task": "connectors.tasks.connections_poll_due_task",
        "schedule": envint("CARELINE_X_POLL_SECONDS", 60),
    },
    # Confidence refitted on agents' verdicts (suggestions.recalibration).
    "confidence-recalibration": {
        "task": "suggestions.tasks.recalibration_fit_task",
        "schedule": envint("CARELINE_RECALIBRATION_SECONDS", 60 * 60),
    },
    # Each department's weekly digest (insights.digest); a second run in the week sends nothing.
    "department-digest": {
        "task": "insights.tasks.digest_send_task",
        "schedule": crontab(
            day_of_week=envstr("CARELINE_DIGEST_DAY", "mon"), hour=envint("CARELINE_DIGEST_HOUR", 7), minute=0
        ),
    },
}

# Retrieval
CARELINE_INDEX_DIR = Path(envstr("CARELINE_INDEX_DIR", str(VAR_DIR / "index")))
# Index versions in shared object storage (s3://bucket/prefix, see config.env.envstorage) for a
# fleet: every machine keeps the versions it serves in CARELINE_INDEX_DIR as a checked local
# cache. Empty: versions live in CARELINE_INDEX_DIR alone (one machine).
CARELINE_INDEX_STORAGE = envstorage("CARELINE_INDEX_STORAGE", "")
if CARELINE_INDEX_STORAGE:
    STORAGES["careline-index"] = CARELINE_INDEX_STORAGE
CARELINE_EMBEDDING_MODEL = envstr("CARELINE_EMBEDDING_MODEL", "")
# From this many vectors the index is approximate (faiss IVF, recall@10 >= 0.99 measured by
# bench.scale); below it every vector is compared. Takes effect at the next rebuild or growth.
CARELINE_ANN_MIN_VECTORS = envint("CARELINE_ANN_MIN_VECTORS", 20_000)
# An edit is served at once as a patch on the active version; the version that refits the
# ranking over it is built this long after the first patch (suggestions.patching).
CARELINE_INDEX_COMPACT_SECONDS = envint("CARELINE_INDEX_COMPACT_SECONDS", 30)
# Web workers on PostgreSQL write the request log after the response (suggestions.request_log):
# faster under load, but a worker killed outright loses the few answers of the write under way.
CARELINE_REQUEST_LOG_DEFERRED = envbool("CARELINE_REQUEST_LOG_DEFERRED", False)
# Below this confidence the engine answers "nothing fits" instead of a weak suggestion.
CARELINE_ABSTAIN_THRESHOLD = envfloat("CARELINE_ABSTAIN_THRESHOLD", 0.5)
# Confidence = logistic(steepness * (cosine similarity - centre)).
CARELINE_CONFIDENCE_CENTRE = envfloat("CARELINE_CONFIDENCE_CENTRE", 0.45)
CARELINE_CONFIDENCE_STEEPNESS = envfloat("CARELINE_CONFIDENCE_STEEPNESS", 12.0)
# The calibration replay also plays this many of the library's phrasings rewritten as noisy
# mentions (suggestions.perturbation), encoded at rebuild time; 0: clean phrasings only.
CARELINE_CALIBRATION_PERTURBED = envint("CARELINE_CALIBRATION_PERTURBED", 0)
# Confidences are recalibrated on agents' verdicts once this many are recorded (0: never).
CARELINE_RECALIBRATION_MIN_FEEDBACK = envint("CARELINE_RECALIBRATION_MIN_FEEDBACK", 200)
# Threads torch may use per process (0: torch's default, one per core). One thread keeps a
# mention's latency steady when web workers and the Celery worker share the cores.
CARELINE_TORCH_THREADS = envint("CARELINE_TORCH_THREADS", 1)
# BLAS threads for fitting the ranking (suggestions.ranking): one is fastest on a machine whose
# cores are busy with other work; more only pay on a quiet machine with a very large library.
CARELINE_FIT_THREADS = envint("CARELINE_FIT_THREADS", 1)
# Single mentions through ONNX Runtime (the same weights, exported once into CARELINE_ONNX_DIR
# and checked against torch); off: torch only.
CARELINE_ONNX = envbool("CARELINE_ONNX", True)
CARELINE_ONNX_DIR = Path(envstr("CARELINE_ONNX_DIR", str(VAR_DIR / "models")))
CARELINE_DEFAULT_CHANNEL = envstr("CARELINE_DEFAULT_CHANNEL", "twitter")
# The console's clock: a mention older than this is overdue.
CARELINE_RESPONSE_TARGET_MINUTES = envint("CARELINE_RESPONSE_TARGET_MINUTES", 60)
# How far ahead of this server's clock a sender's received_at or sent_at may be (seconds).
CARELINE_CLOCK_SKEW_SECONDS = envint("CARELINE_CLOCK_SKEW_SECONDS", 300)
# A mention whose suggestions failed this many times (for a reason other than a missing index) is
# left to the agents: the sweep stops retrying it and the console says why.
CARELINE_SUGGEST_ATTEMPTS = envint("CARELINE_SUGGEST_ATTEMPTS", 3)
# How often (seconds) the console's inbox and an open mention's page refresh themselves.
CARELINE_CONSOLE_REFRESH_SECONDS = envint("CARELINE_CONSOLE_REFRESH_SECONDS", 15)
CARELINE_MAX_SUGGESTIONS = envint("CARELINE_MAX_SUGGESTIONS", 10)

# Outbound webhooks (webhooks/): each delivery waits CARELINE_WEBHOOK_TIMEOUT_SECONDS for an answer
# and is tried CARELINE_WEBHOOK_ATTEMPTS times, CARELINE_WEBHOOK_BACKOFF_SECONDS apart at first,
# doubling up to CARELINE_WEBHOOK_BACKOFF_MAX_SECONDS (with jitter: about 2.5 to 5 hours in all by
# default). Receivers on loopback, private or reserved addresses are refused unless allowed.
CARELINE_WEBHOOK_TIMEOUT_SECONDS = envint("CARELINE_WEBHOOK_TIMEOUT_SECONDS", 10)
CARELINE_WEBHOOK_ATTEMPTS = envint("CARELINE_WEBHOOK_ATTEMPTS", 12)
CARELINE_WEBHOOK_BACKOFF_SECONDS = envint("CARELINE_WEBHOOK_BACKOFF_SECONDS", 30)
CARELINE_WEBHOOK_BACKOFF_MAX_SECONDS = envint("CARELINE_WEBHOOK_BACKOFF_MAX_SECONDS", 60 * 60)
CARELINE_WEBHOOK_ALLOW_PRIVATE = envbool("CARELINE_WEBHOOK_ALLOW_PRIVATE", False)
# The X connector (connectors/): the API's base URL (a local server implementing the X API v2
# contract works too), how often each connected account's mentions are read (the beat's
# "x-mentions"), and how long a call waits for X.
CARELINE_X_API_BASE_URL = envstr("CARELINE_X_API_BASE_URL", "https://api.x.com")
CARELINE_X_POLL_SECONDS = envint("CARELINE_X_POLL_SECONDS", 60)
CARELINE_X_TIMEOUT_SECONDS = envint("CARELINE_X_TIMEOUT_SECONDS", 10)
# The X app's OAuth 2.0 client, for renewing accounts' access tokens with their refresh tokens
# (the secret only for a confidential client).
CARELINE_X_CLIENT_ID = envstr("CARELINE_X_CLIENT_ID", "")
CARELINE_X_CLIENT_SECRET = envstr("CARELINE_X_CLIENT_SECRET", "")
# Secrets kept encrypted at rest (config.crypto): the first key encrypts, all decrypt.
CARELINE_ENCRYPTION_KEYS = envlist("CARELINE_ENCRYPTION_KEYS", []) or [SECRET_KEY]

# Content gaps: mentions of the last CARELINE_GAP_WINDOW_DAYS that the engine abstained on, whose
# first suggestion was below CARELINE_GAP_CONFIDENCE, or whose suggestions were all rejected,
# clustered (HDBSCAN after PCA to CARELINE_GAP_DIMENSIONS; 0: no reduction) into groups of at
# least CARELINE_GAP_MIN_CLUSTER_SIZE, each showing its CARELINE_GAP_EXAMPLES most central mentions.
CARELINE_GAP_WINDOW_DAYS = envint("CARELINE_GAP_WINDOW_DAYS", 30)
CARELINE_GAP_CONFIDENCE = envfloat("CARELINE_GAP_CONFIDENCE", 0.6)
CARELINE_GAP_MIN_CLUSTER_SIZE = envint("CARELINE_GAP_MIN_CLUSTER_SIZE", 5)
CARELINE_GAP_DIMENSIONS = envint("CARELINE_GAP_DIMENSIONS", 50)
CARELINE_GAP_EXAMPLES = envint("CARELINE_GAP_EXAMPLES", 5)

# E-mail (the departments' digests): the console backend prints messages while DEBUG is on; SMTP
# otherwise, with the host and account below.
EMAIL_BACKEND = envstr(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("DJANGO_EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = envstr("DJANGO_DEFAULT_FROM_EMAIL", "careline@localhost")
# The weekly digest each department gets (insights.digest): sent by the beat's "department-digest"
# on CARELINE_DIGEST_DAY (mon..sun) at CARELINE_DIGEST_HOUR (Celery's time zone, UTC unless set),
# from CARELINE_DIGEST_FROM, with up to CARELINE_DIGEST_EXAMPLES example mentions per issue and
# CARELINE_DIGEST_GAPS content gaps; links point at CARELINE_DIGEST_SITE_URL (empty: no links).
CARELINE_DIGEST_FROM = envstr("CARELINE_DIGEST_FROM", DEFAULT_FROM_EMAIL)
CARELINE_DIGEST_EXAMPLES = envint("CARELINE_DIGEST_EXAMPLES", 3)
CARELINE_DIGEST_GAPS = envint("CARELINE_DIGEST_GAPS", 3)
CARELINE_DIGEST_SITE_URL = envstr("CARELINE_DIGEST_SITE_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("CARELINE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "faiss.loader": {"level": "WARNING"},
        "sentence_transformers": {"level": "WARNING"},
    },
}

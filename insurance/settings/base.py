"""Settings shared by every environment, read from the environment with django-environ.

A newcomer's first run needs nothing configured: the database defaults to a SQLite file and, with no
`CELERY_BROKER_URL`, Celery tasks run eagerly in the calling process.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-only-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

PROJECT_APPS = ["accounts", "policies", "claims", "etl", "fraud", "reports"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "guardian",
    "simple_history",
    "django_celery_beat",
    "axes",
    # The shared core: the task outbox (insurance.core.outbox) and the `__any_of` lookup.
    "insurance.core",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A request id per request (X-Request-ID), put into every log line written while it is served.
    "insurance.core.logging.RequestContextMiddleware",
    # A database that cannot be reached while a page's view runs: the 503 page with Retry-After, not a 500.
    "insurance.core.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Deny by default: every non-API page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Analytics readers (BI service accounts) reach only the analytics API: 403 on every other page and route.
    "insurance.core.confinement.ConfinementMiddleware",
    # Makes the request's user the actor of history rows written during a web request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page (AXES_LOCKOUT_TEMPLATE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "insurance.urls"
WSGI_APPLICATION = "insurance.wsgi.application"

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
                "accounts.navigation.portal_nav",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A persistent connection that died between requests (PostgreSQL restarted) is replaced before use, not a 503.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and IP before any password is checked (django-axes).
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)  # a reset link works for a day

# Lockout (django-axes): five failed logins for one username from one IP address lock that pair out for 15 minutes;
# a successful login before the limit starts the count again. Attempts are kept in the database (axes' models).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# One answer on every login path: that page, or the API's JSON error body (429) for the token login.
AXES_LOCKOUT_CALLABLE = "accounts.backends.lockout_response"

# History is for reading: reverting a row from its history would bypass the services (locks, checks, timeline).
SIMPLE_HISTORY_REVERT_DISABLED = True

# Per-object grants (a covering underwriter, an auditor) live in our own guardian model, which adds an expiry.
GUARDIAN_USER_OBJ_PERMS_MODEL = "accounts.ObjectAccessGrant"
# No guardian "AnonymousUser" row: anonymous requests are denied, never given object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = True
OBJECT_GRANT_MAX_DAYS = env.int("OBJECT_GRANT_MAX_DAYS", default=90)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files live outside the web root and are served only through permission-checked views.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = None

# Imports (etl): mapping files by name, and the share of rejected rows above which a run counts as failed.
IMPORT_MAPPINGS_DIR = BASE_DIR / "fixtures" / "mappings"
IMPORT_REJECT_THRESHOLD = env.float("IMPORT_REJECT_THRESHOLD", default=0.05)
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=2000)
# Warehouse extracts re-read this many seconds before the last watermark: rows committed late are not missed.
EXTRACT_OVERLAP_SECONDS = env.int("EXTRACT_OVERLAP_SECONDS", default=300)

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="no-reply@insurance.localhost")

REST_FRAMEWORK = {
    # Credentials in a query string are refused first; then the expiring analytics tokens (reports), DRF's tokens
    # and sessions. Token classes come first, so an anonymous API request is answered 401 with WWW-Authenticate.
    # The token classes hold analytics accounts to the analytics API (insurance.core.confinement).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "insurance.core.api.authentication.RefuseQueryStringCredentials",
        "reports.api.authentication.AnalyticsTokenAuthentication",
        "insurance.core.api.authentication.ConfinedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: authenticated, model permission for the action, object scope from the queryset.
    "DEFAULT_PERMISSION_CLASSES": ["insurance.core.api.permissions.ScopedModelPermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "insurance.core.api.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "insurance.core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "insurance.core.api.exceptions.api_exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Insurance platform API",
    "DESCRIPTION": (
        "Policies, claims, fraud scores and analytics of one insurer's book. Authenticate with "
        "`Authorization: Token <key>` or a session. Every list and detail is scoped to what the caller may see: "
        "objects out of scope answer 404, forbidden actions 403. Errors share one body: "
        '`{"error": {"status", "code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The enum hook is drf-spectacular's default; ours gives every operation its error responses.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "insurance.core.api.schema.document_error_responses",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ClaimDecisionOutcomeEnum": "claims.choices.DecisionOutcome",
        "InvestigationOutcomeEnum": "claims.choices.InvestigationOutcome",
        "ClaimStatusEnum": "claims.choices.ClaimStatus",
        "PolicyStatusEnum": "policies.choices.PolicyStatus",
        "InstalmentStatusEnum": "policies.choices.InstalmentStatus",
    },
}

# Claim documents: what an upload may be, and how OCR runs (see claims/ocr/).
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
DOCUMENT_MAX_PAGES = env.int("DOCUMENT_MAX_PAGES", default=20)
DOCUMENT_MAX_PIXELS = env.int("DOCUMENT_MAX_PIXELS", default=60_000_000)  # per page or image
OCR_PAGE_TIMEOUT_SECONDS = env.int("OCR_PAGE_TIMEOUT_SECONDS", default=30)
# Documents are inspected and read in a child process capped at this much memory and killed after the deadline.
DOCUMENT_MEMORY_LIMIT_MB = env.int("DOCUMENT_MEMORY_LIMIT_MB", default=768)
DOCUMENT_INSPECT_TIMEOUT_SECONDS = env.int("DOCUMENT_INSPECT_TIMEOUT_SECONDS", default=20)
OCR_REVIEW_CONFIDENCE = env.float("OCR_REVIEW_CONFIDENCE", default=0.6)  # fields below are flagged for a person
TESSERACT_CMD = env("TESSERACT_CMD", default="tesseract")
# Claims decision engine: where fraud scores come from (a dotted path to a callable; see claims/fraud.py), and how
# far above comparable past claims an amount may be before a person must look at it. The default is the fraud
# app's score of the claim's current features (the rule-based score until a model is promoted); "" turns the
# fraud check off, and every decision then says FRAUD_NOT_CHECKED.
CLAIMS_FRAUD_ASSESSOR = env("CLAIMS_FRAUD_ASSESSOR", default="fraud.assessor.latest_assessment")
# What handlers' pages show: stored scores, read in one query, never computed or queued on a GET (claims.fraud).
CLAIMS_FRAUD_SCORE_READER = env("CLAIMS_FRAUD_SCORE_READER", default="fraud.assessor.stored_assessments")
# Without a fraud assessor, may a claim be approved automatically? No in production; `local` says yes for demos.
CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK = env.bool("CLAIMS_AUTO_APPROVE_WITHOUT_FRAUD_CHECK", default=False)
CLAIMS_COMPARABLE_FACTOR = env.float("CLAIMS_COMPARABLE_FACTOR", default=2.0)
CLAIMS_COMPARABLE_MIN_COUNT = env.int("CLAIMS_COMPARABLE_MIN_COUNT", default=5)
# Fraud: the share of claims the fraud team can review. Training sets a model's referral threshold so that about
# this share of claims scores at or above it (a budget the team can keep up with, not a probability cut-off).
FRAUD_REVIEW_BUDGET = env.float("FRAUD_REVIEW_BUDGET", default=0.10)

# Celery: no broker configured means tasks run eagerly, in process, so a first run needs no services.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# A task is acknowledged after it ran, and re-queued if its worker dies, so tasks must be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged message (its worker died) to another worker after this many seconds; keep it above
# CELERY_TASK_TIME_LIMIT, or a long task would run twice at once. The worker fault tests set it to a few seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),
    # A Redis broker that accepts connections but never answers (half-open, firewalled) must not hang a request
    # sending its outbox rows, nor a sweep holding their locks: without these a publish waits forever.
    "socket_connect_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5),
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5),
}
# The same bound for RabbitMQ (amqp) connections.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5)
# The queue tasks are sent to and workers read by default (a test worker gets a queue of its own).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # The task outbox (insurance.core.outbox): sends what was not sent at commit (the broker was down).
    "core-outbox-sweep": {"task": "insurance.core.tasks.sweep_outbox", "schedule": timedelta(minutes=1)},
    "revoke-expired-object-grants": {
        "task": "accounts.tasks.revoke_expired_object_grants",
        "schedule": timedelta(minutes=15),
    },
    # Policy housekeeping: each task is idempotent, so running it again (or late) is harmless.
    "expire-stale-quotes": {"task": "policies.tasks.expire_stale_quotes", "schedule": timedelta(hours=1)},
    "lapse-unpaid-policies": {"task": "policies.tasks.lapse_unpaid_policies", "schedule": timedelta(hours=6)},
    "offer-renewals": {"task": "policies.tasks.offer_renewals", "schedule": timedelta(hours=6)},
    "expire-ended-policies": {"task": "policies.tasks.expire_ended_policies", "schedule": timedelta(hours=1)},
    # Fraud: retrain on Monday nights (skipped when no new labels arrived), a drift snapshot every night.
    "fraud-weekly-retrain": {
        "task": "fraud.periodic.weekly_retrain",
        "schedule": crontab(minute=0, hour=3, day_of_week=1),
    },
    "fraud-daily-monitoring": {"task": "fraud.periodic.daily_monitoring", "schedule": crontab(minute=0, hour=4)},
    # Book-wide KPIs (dashboard, KPI API for staff and BI readers) read this rollup; figures say when it was made.
    "reports-kpi-rollup": {"task": "reports.tasks.refresh_kpi_rollup", "schedule": crontab(minute=10)},
}

# History rows written outside a request (Celery, commands) name one of these system accounts.
SYSTEM_ACCOUNTS = {"celery": "system-celery", "command": "system-command"}

# Analytics for BI tools (reports): the URL namespace analytics readers are held to, the few other routes they may
# reach, their expiring tokens, and the feeds' page sizes.
ANALYTICS_API_NAMESPACE = "analytics-api"
ANALYTICS_READER_ALLOWED_URL_NAMES = ["login", "logout", "health"]
ANALYTICS_TOKEN_DEFAULT_DAYS = env.int("ANALYTICS_TOKEN_DEFAULT_DAYS", default=90)
ANALYTICS_TOKEN_MAX_DAYS = env.int("ANALYTICS_TOKEN_MAX_DAYS", default=365)
ANALYTICS_PAGE_SIZE = env.int("ANALYTICS_PAGE_SIZE", default=1000)
ANALYTICS_MAX_PAGE_SIZE = env.int("ANALYTICS_MAX_PAGE_SIZE", default=5000)

# Routes that answer anonymous requests; every other route denies them (tests/core/test_anonymous.py holds this).
ANONYMOUS_ALLOWED_URL_NAMES = [
    "health",
    "schema",
    "swagger-ui",
    "redoc",
    "login",
    "admin:login",
    "accounts-api:token",  # the API's login (POST username and password)
    # Forgotten passwords: asked for, and the emailed link followed, before signing in.
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
]

# LOG_FORMAT: "plain" (readable text, the default here) or "json" (one object per line with time, level, logger,
# message, request id and user id: the production default). Messages carry ids, never secrets or personal data.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "insurance.core.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # axes: lockouts are warnings; each successful login's info line is noise (the access log keeps it).
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

"""Settings per environment: embedded defaults for a first run, and production refusing to start without secrets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 64 + "-a-long-random-production-secret-0123456789",
    "DATABASE_URL": "postgres://insurer@db.example.com:5432/insurance",
    "ALLOWED_HOSTS": "insurance.example.com",
}
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE, s.USE_TZ)"
)


def run(args: list[str], settings_module: str, **extra_env: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    env.update(DJANGO_SETTINGS_MODULE=settings_module, **extra_env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_first_run_needs_nothing_configured():
    result = run(["-c", PRINT_SETTINGS], "insurance.settings.local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "UTC", "True"]


def test_a_broker_turns_eager_mode_off():
    result = run(["-c", PRINT_SETTINGS], "insurance.settings.local", CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert result.stdout.split()[1] == "False"


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV))
def test_production_refuses_to_start_without(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = run(["-c", PRINT_SETTINGS], "insurance.settings.production", **env)
    assert result.returncode != 0
    assert f"need the environment variable {missing}" in result.stderr


def test_production_passes_the_deployment_checklist():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], "insurance.settings.production", **PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("settings_module", ["insurance.settings.production", "insurance.settings.local"])
def test_passwords_are_hashed_with_argon2(settings_module):
    """Argon2 first (new and changed passwords), PBKDF2 after it (older hashes still verify, and are upgraded at the
    next login). The test settings use a fast hasher instead, so this asks the real environments."""
    show_hashing = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from django.contrib.auth.hashers import make_password, check_password; "
        "encoded = make_password('a-long-passphrase'); "
        "print(s.PASSWORD_HASHERS[0], encoded.split('$')[0], check_password('a-long-passphrase', encoded))"
    )
    result = run(["-c", show_hashing], settings_module, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.contrib.auth.hashers.Argon2PasswordHasher", "argon2", "True"]


def test_production_logs_one_json_object_per_line():
    log_a_line = (
        "import django, logging; django.setup(); logging.getLogger('claims.services').warning('claim %s held', 42)"
    )
    result = run(["-c", log_a_line], "insurance.settings.production", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert {key: entry[key] for key in ("level", "logger", "message")} == {
        "level": "WARNING",
        "logger": "claims.services",
        "message": "claim 42 held",
    }
    assert "time" in entry


def test_local_logs_stay_readable_text():
    log_a_line = "import django, logging; django.setup(); logging.getLogger('claims.services').warning('claim 42 held')"
    result = run(["-c", log_a_line], "insurance.settings.local")
    assert result.stderr.strip().endswith("WARNING claims.services claim 42 held"), result.stderr

"""The suite-wide log canary: no log record written while the whole test suite runs holds a planted secret.

`tests/core/test_log_canary.py` plants values in chosen flows and searches what they log. This plugin widens the net
to every test: it watches every log record of the run (a handler on the root logger and on each logger that does not
propagate) for the secrets every test uses: the personas' password (`TEST_PASSWORD`), the demo users' passwords, and
every DRF API token created during the run, by fixtures, the token login or anything else (`watch()`, and a
`post_save` receiver on `Token`). Records are checked as written, with their arguments
and any traceback, at the levels the suite's settings log. A hit fails the run at the end, naming the test, the
logger and the secret's kind, never the secret.
"""

import logging
import re
import traceback

import pytest
from django.http import HttpRequest

_watched: dict[str, str] = {}
_tokens: set[str] = set()  # DRF token keys (40 hex digits): thousands in a run, so found by pattern, then looked up
TOKEN_SHAPE = re.compile(r"[0-9a-f]{40}")


def watch(value: str, kind: str) -> None:
    """Add a secret to look for in every later log record (short values would match by chance, so they are not)."""
    if value and len(value) >= 12:
        _watched[value] = kind


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write of `record`: the message, its raw arguments and its traceback."""
    parts = [str(record.msg), repr(record.args)]
    try:
        parts.append(record.getMessage())
    except Exception:  # a record whose arguments do not fit its message still has its parts searched
        parts.append("<unformattable>")
    if record.exc_info:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    # Extra fields as a formatter would write them; the request Django attaches is not written by ours (its repr
    # holds the query string, which is why a credential there is refused with 401 and never used).
    parts += [
        repr(value)
        for key, value in vars(record).items()
        if key not in _STANDARD and not isinstance(value, HttpRequest)
    ]
    return "\n".join(parts)


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _token_saved(sender, instance, **kwargs) -> None:
    _tokens.add(instance.key)


class Leak(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.current_test = "(outside a test)"
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record_text(record)
        kinds = [kind for value, kind in _watched.items() if value in text]
        if _tokens.intersection(TOKEN_SHAPE.findall(text)):
            kinds.append("an API token")
        for kind in kinds:
            self.leaks.append(f"{self.current_test}: {kind} in a {record.levelname} record of {record.name!r}")


class LogWatch:
    def __init__(self) -> None:
        self.handler = Leak()
        self.loggers: list[logging.Logger] = []

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from django.db.models.signals import post_save
        from rest_framework.authtoken.models import Token

        from accounts.demo import DEMO_USERS
        from tests.accounts.factories import TEST_PASSWORD

        post_save.connect(_token_saved, sender=Token, dispatch_uid="tests.log_watch.token")
        watch(TEST_PASSWORD, "the personas' password")
        for demo in DEMO_USERS:
            watch(demo.password, "a demo user's password")
        self._attach()

    def _attach(self) -> None:
        loggers = [logging.root]
        loggers += [
            logger
            for logger in logging.root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger) and not logger.propagate
        ]
        for logger in loggers:
            if self.handler not in logger.handlers:
                logger.addHandler(self.handler)
                self.loggers.append(logger)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem):
        self.handler.current_test = item.nodeid
        self._attach()  # loggers configured later (a non-propagating one) are watched from the next test on
        try:
            return (yield)
        finally:
            self.handler.current_test = "(outside a test)"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for logger in self.loggers:
            logger.removeHandler(self.handler)
        if self.handler.leaks:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.handler.leaks:
            terminalreporter.section("log canary: secrets written to the logs", red=True)
            for line in dict.fromkeys(self.handler.leaks):
                terminalreporter.line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LogWatch(), "tests.log_watch.LogWatch")
